"""Parametric pose families of the synthetic dataset (a stand-in for BEDLAM's pose variety).

Each family is a generator ``rng -> (22, 3)`` axis-angle pose (SMPL-X convention, no heading:
the sampler adds a random one). Parameters are drawn uniformly from the ranges written in each
generator (degrees; directions via :func:`~pose_search.data.pose_builder.sph` ``(elev, azim)`` and
:func:`~pose_search.data.pose_builder.down_dir` ``(flex, abd, side)``). Families are written for
one side and, when registered with ``mirror=True`` (the default), mirrored left/right with
probability 1/2.
"""

from pose_search.data.families import active, upright  # noqa: F401  (registers the families)
from pose_search.data.families.registry import FAMILIES, FAMILY_DOCS, family, list_families

__all__ = ["FAMILIES", "FAMILY_DOCS", "family", "list_families"]

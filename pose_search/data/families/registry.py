"""Parametric pose families of the synthetic dataset (a stand-in for BEDLAM's pose variety).

Each family is a generator ``rng -> (22, 3)`` axis-angle pose (SMPL-X convention, no heading:
the sampler adds a random one). Parameters are drawn uniformly from the ranges written in each
generator (degrees; directions via :func:`~pose_search.data.pose_builder.sph` ``(elev, azim)`` and
:func:`~pose_search.data.pose_builder.down_dir` ``(flex, abd, side)``). Families are written for
one side and, when registered with ``mirror=True`` (the default), mirrored left/right with
probability 1/2.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pose_search.data.pose_builder import PoseBuilder, down_dir, mirror_pose

FamilyFn = Callable[[np.random.Generator], np.ndarray]
FAMILIES: dict[str, FamilyFn] = {}
FAMILY_DOCS: dict[str, str] = {}
SIDES = (1, -1)


def family(name: str, mirror: bool = True) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``fn(b: PoseBuilder, u: uniform)`` as family ``name`` in :data:`FAMILIES`."""

    def deco(fn: Callable[..., None]) -> Callable[..., None]:
        def gen(rng: np.random.Generator) -> np.ndarray:
            b = PoseBuilder()
            fn(b, lambda lo, hi: float(rng.uniform(lo, hi)), rng)
            pose = b.rotvec()
            if mirror and rng.random() < 0.5:
                pose = mirror_pose(pose)
            return pose

        gen.__name__ = gen.__qualname__ = name
        gen.__doc__ = fn.__doc__
        FAMILIES[name] = gen
        FAMILY_DOCS[name] = (fn.__doc__ or "").strip()
        return fn

    return deco


def list_families() -> list[str]:
    """Names of all registered families, in registration order."""
    return list(FAMILIES)


# ---------------------------------------------------------------- shared body parts
def relaxed_arm(b: PoseBuilder, u, s: int) -> None:
    """Arm hanging: down, 5..20 deg out, -10..15 deg forward, elbow 5..30."""
    b.arm(s, down_dir(u(-10, 15), u(5, 20), s), u(5, 30), frame="world")


def standing_legs(b: PoseBuilder, u, knee: float = 10.0) -> None:
    """Both legs vertical in the world, 0..8 deg apart, knees 0..``knee``."""
    for s in SIDES:
        b.leg(s, down_dir(u(-4, 4), u(0, 8), s), u(0, knee), frame="world", ankle=u(-5, 5))


def calm_head(b: PoseBuilder, u) -> None:
    """Head nod -10..20, turn -25..25, tilt -8..8."""
    b.head(u(-10, 20), u(-25, 25), u(-8, 8))

"""Automatic pose captioning ("posecodes", after PoseScript / PoseEmbroider).

Pipeline per caption run: working joints -> noisy elementary posecode categories -> super-posecodes
-> eligibility with support resolution -> random skip -> records -> aggregation -> ordered text.

Three captions per pose, as in BEDLAM-Script: #0 default (random skip, no ripple effects),
#1 simplified (no entity / symmetry / interpretation-focus aggregation, plainer flow),
#2 with both ripple effects. More captions cycle through these settings. Each run draws its own
noise, so runs disagree near thresholds. The head-rotation codes are used only when joint rotations
are passed; the self-contact ("touch") codes only when posed anny vertices are passed
(:mod:`.contact`): they are computed once per pose, added after the random skip (never skipped)
and replace the equivalent "close" distance codes.

After the PoseScript-style captions come ``everyday`` captions in plain words (:mod:`.everyday`,
from the posture predicates of :mod:`.postures`): a sentence ("The person is kneeling on the
right knee with both arms raised.") then a search-box query ("right knee down, arms up"),
alternating. Caption ``k`` of every pose has kind :func:`caption_kinds` ``[k]``.

Public API: :func:`caption_poses`, :func:`describe_poses` (captions with their kinds),
:func:`caption_kinds`, :func:`posecode_signature` and :func:`contact_pairs`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from pose_search.data.schema import EVERYDAY_CAPTIONS

from .aggregation import aggregate
from .categories import compute_categories
from .contact import contact_pairs, merge_touch_records, touch_records
from .everyday import everyday_captions, everyday_kinds
from .operators import validate_joints, working_joints
from .posecodes import ELEMENTARY_CODES
from .selection import Record, eligibility, pose_records, random_skip
from .superposecodes import SUPER_POSECODES, evaluate_superposecodes
from .text import generate_caption

__all__ = [
    "CaptionConfig",
    "CAPTION_CONFIGS",
    "EVERYDAY_CAPTIONS",
    "PoseCaptions",
    "caption_kinds",
    "caption_poses",
    "describe_poses",
    "everyday_captions",
    "contact_pairs",
    "posecode_signature",
    "signature_names",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaptionConfig:
    """Switches of one caption run."""

    simplified: bool = False
    ripple: bool = False
    skip: bool = True


CAPTION_CONFIGS: tuple[CaptionConfig, ...] = (
    CaptionConfig(),
    CaptionConfig(simplified=True),
    CaptionConfig(ripple=True),
)


def _validate(
    joints: np.ndarray, rotations: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    j = validate_joints(joints)
    if rotations is None:
        return j, None
    r = np.asarray(rotations, dtype=np.float64)
    if r.ndim == 2:
        r = r[None]
    if r.ndim != 3 or r.shape[1] not in (22, 52) or r.shape[2] != 3:
        raise ValueError(
            f"rotations: expected shape (N, 22, 3) axis-angle (global orientation first), "
            f"got {tuple(np.shape(rotations))}"
        )
    if r.shape[0] != j.shape[0]:
        raise ValueError(f"rotations: {r.shape[0]} poses but joints has {j.shape[0]}")
    if not np.isfinite(r).all():
        raise ValueError("rotations: contains NaN or inf values")
    return j, r


def caption_run(
    W: np.ndarray,
    rotations: np.ndarray | None,
    config: CaptionConfig,
    rng: np.random.Generator,
    touches: list[list[Record]] | None = None,
) -> list[str]:
    """One caption per pose for working joints ``W`` ``(N, 35, 3)`` under ``config``.

    ``touches``: per pose, touch records (:func:`.contact.touch_records`) added after the skip.
    """
    cats, available = compute_categories(W, rotations, rng)
    fired = evaluate_superposecodes(cats)
    elig = eligibility(cats, available, fired)
    keep = random_skip(elig, rng, p=0.15 if config.skip else 0.0)
    out = []
    for i in range(W.shape[0]):
        records = pose_records(cats[i], keep[i])
        if touches is not None:
            records = merge_touch_records(records, touches[i])
        statements = aggregate(records, rng, simplified=config.simplified, ripple=config.ripple)
        out.append(generate_caption(statements, rng, simplified=config.simplified))
    empty = sum(1 for t in out if not t)
    if empty:
        logger.warning("%d of %d poses got an empty caption", empty, len(out))
    return out


POSESCRIPT_KIND = "posescript"


@dataclass(frozen=True)
class PoseCaptions:
    """The captions of one pose and, parallel to them, their kinds ("posescript", "everyday",
    "query"; loaders add "human" for captions a dataset ships)."""

    texts: list[str]
    kinds: list[str]


def caption_kinds(n_captions: int = 3, everyday: int = EVERYDAY_CAPTIONS) -> list[str]:
    """Kind of each caption :func:`caption_poses` writes per pose, in order: ``n_captions``
    "posescript", then ``everyday`` alternating "everyday" (a sentence) and "query"."""
    return [POSESCRIPT_KIND] * int(n_captions) + everyday_kinds(int(everyday))


def caption_poses(
    joints: np.ndarray,
    rotations: np.ndarray | None = None,
    *,
    n_captions: int = 3,
    rng: np.random.Generator,
    vertices: np.ndarray | None = None,
    topology: str | None = None,
    everyday: int = EVERYDAY_CAPTIONS,
) -> list[list[str]]:
    """Caption poses: joints ``(N, 22|52, 3)`` (canonical frame, metres) -> N lists of
    ``n_captions + everyday`` strings: the PoseScript-style captions first, then the everyday
    ones (kinds: :func:`caption_kinds`).

    ``rotations`` ``(N, 22|52, 3)`` axis-angle enables the head-rotation codes. ``vertices``
    ``(N, V, 3)``: the posed anny meshes of the same poses (same frame), which enable the
    self-contact codes; ``topology`` names their anny topology (inferred from ``V`` when
    ``None``). Deterministic given ``rng``; the PoseScript-style captions are the same whatever
    ``everyday`` is (their seeds are drawn first). Raises ``ValueError`` for bad shapes,
    non-finite values, ``n_captions < 1`` or ``everyday < 0``.
    """
    if n_captions < 1:
        raise ValueError(f"n_captions must be >= 1, got {n_captions}")
    if int(everyday) != everyday or everyday < 0:
        raise ValueError(f"everyday must be a non-negative integer, got {everyday}")
    j, r = _validate(joints, rotations)
    touches = None
    if vertices is not None:
        touches = touch_records(vertices, topology)
        if len(touches) != j.shape[0]:
            raise ValueError(f"vertices: {len(touches)} poses but joints has {j.shape[0]}")
    W = working_joints(j)
    seeds = rng.integers(0, 2**63 - 1, size=n_captions)
    runs = [
        caption_run(
            W, r, CAPTION_CONFIGS[c % len(CAPTION_CONFIGS)], np.random.default_rng(s), touches
        )
        for c, s in enumerate(seeds)
    ]
    out = [[run[i] for run in runs] for i in range(W.shape[0])]
    if everyday:
        extra = everyday_captions(j, np.random.default_rng(rng.integers(0, 2**63 - 1)), everyday)
        out = [caps + more for caps, more in zip(out, extra, strict=True)]
    return out


def describe_poses(
    joints: np.ndarray,
    rotations: np.ndarray | None = None,
    *,
    n_captions: int = 3,
    everyday: int = EVERYDAY_CAPTIONS,
    rng: np.random.Generator,
    vertices: np.ndarray | None = None,
    topology: str | None = None,
) -> list[PoseCaptions]:
    """:func:`caption_poses` with each pose's caption kinds attached (same arguments, same
    texts for the same ``rng`` state)."""
    texts = caption_poses(joints, rotations, n_captions=n_captions, rng=rng, vertices=vertices,
                          topology=topology, everyday=everyday)
    kinds = caption_kinds(n_captions, everyday)
    return [PoseCaptions(t, list(kinds)) for t in texts]


def posecode_signature(
    joints: np.ndarray, rotations: np.ndarray | None = None, *, rng: np.random.Generator | None
) -> np.ndarray:
    """Posecode signature for pair mining: ``(N, K + S)`` int.

    The (noisy, unless ``rng`` is ``None``) category of each of the K elementary codes followed
    by the presence (0/1) of each of the S super-posecodes; D(A, B) = number of differing entries.
    """
    j, r = _validate(joints, rotations)
    cats, _ = compute_categories(working_joints(j), r, rng)
    fired = evaluate_superposecodes(cats)
    return np.concatenate([cats, fired.astype(np.int64)], axis=1)


def signature_names() -> tuple[str, ...]:
    """Column names of :func:`posecode_signature`."""
    elem = tuple(f"{c.kind}:{'-'.join(c.joints)}" for c in ELEMENTARY_CODES)
    return elem + tuple(f"super:{s.id}" for s in SUPER_POSECODES)

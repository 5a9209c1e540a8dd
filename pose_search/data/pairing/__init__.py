"""PoseFix pipeline: pair mining and automatic corrective instructions for pose pairs.

* :func:`instruct_pairs` -- for each pair (A -> B), ``n_texts`` instructions telling how to go
  from pose A to pose B ("bend your left knee more while raising your right hand").
* :func:`mine_pairs` / :func:`pose_feature` -- select "related but clearly different" pairs
  (``in15_out20_t05_sim0709``), see :mod:`pose_search.data.pairing.mining`.

Pipeline per text: paircodes with fresh noise (:mod:`.paircodes`) -> super-paircodes and support
(:mod:`.superpaircodes`) -> random skip (p = 0.15, rare codes kept, everything restored if all
were skipped) -> static facts about B on the changed limbs (:mod:`.absolute`) -> aggregation
(:mod:`.aggregation`) -> text (:mod:`.text`), with the global-turn sentence prepended for
in-sequence pairs, and before it an everyday sentence when the main posture changes ("Kneel down
on your left knee.", :mod:`.posture_change`).
"""

from __future__ import annotations

import logging

import numpy as np

from pose_search.data.captioning.operators import validate_joints, working_joints
from pose_search.data.pairing.absolute import fact_clauses, pose_categories
from pose_search.data.pairing.aggregation import aggregate
from pose_search.data.pairing.mining import mine_pairs, pose_feature
from pose_search.data.pairing.paircodes import Clause, categorize_pairs, measure_pairs
from pose_search.data.pairing.posture_change import posture_change_sentence, posture_labels
from pose_search.data.pairing.superpaircodes import resolve_pair
from pose_search.data.pairing.text import (
    NO_CHANGE,
    kinematic_order,
    no_change_text,
    render_statements,
    rotation_sentence,
)

__all__ = ["instruct_pairs", "mine_pairs", "pose_feature", "NO_CHANGE", "SIMPLIFIED_TEXT_INDEX"]

log = logging.getLogger(__name__)

SIMPLIFIED_TEXT_INDEX = 1  # text #1 (0-based) of each pair is the "simplified" variant
SKIP_PROBABILITY = 0.15


def _check_rotations(rot: np.ndarray, n: int, what: str) -> np.ndarray:
    r = np.asarray(rot, dtype=np.float64)
    if r.ndim == 2:
        r = r[None]
    if r.ndim != 3 or r.shape[0] != n or r.shape[1] not in (22, 52) or r.shape[2] != 3:
        raise ValueError(f"{what}: expected axis-angle rotations of shape ({n}, 22, 3), "
                         f"got {np.shape(rot)}")
    if not np.isfinite(r).all():
        raise ValueError(f"{what}: contains NaN or inf values")
    return r


def _skip(clauses: list[Clause], rng: np.random.Generator, p: float) -> list[Clause]:
    """Randomly drop non-rare clauses with probability p; restore all if nothing is left."""
    kept = [c for c in clauses if c.rare or rng.random() >= p]
    return kept if kept else list(clauses)


def _changed_parts(clauses: list[Clause]) -> set[tuple[str, str]]:
    parts = {(c.side, c.part) for c in clauses}
    parts |= {(c.side2, c.part2) for c in clauses if c.part2 and c.part2 != "torso"}
    return parts


def instruct_pairs(
    joints_a: np.ndarray,
    joints_b: np.ndarray,
    rotations_a: np.ndarray | None = None,
    rotations_b: np.ndarray | None = None,
    *,
    turn_deg: np.ndarray | None = None,
    n_texts: int = 3,
    rng: np.random.Generator,
    with_facts: bool = True,
    skip_probability: float = SKIP_PROBABILITY,
) -> list[list[str]]:
    """Corrective instructions for pose pairs A -> B.

    Args:
        joints_a, joints_b: ``(N, 22|52, 3)`` joints in metres, canonical frame (+y up, facing
            +z, +x = the body's left), each pose heading-normalised independently.
        rotations_a, rotations_b: optional ``(N, 22|52, 3)`` local axis-angle rotations (root
            heading removed); they enable the head codes (chin, head turn). Give both or none.
        turn_deg: optional ``(N,)`` global yaw change from A to B in degrees (``+`` = a turn to
            the subject's left), for in-sequence pairs; a turn sentence is prepended when
            ``|turn|`` (with +-10 deg noise) exceeds 20 deg. NaN entries mean "no turn known".
        n_texts: texts per pair (>= 1). Text ``SIMPLIFIED_TEXT_INDEX`` (= 1, 0-based, when
            ``n_texts >= 2``) is the "simplified" variant: no entity/symmetry/focus aggregation.
        rng: the only source of randomness; the output is deterministic given its state.
        with_facts: add static facts about pose B on the changed limbs ("your left knee should
            be straight"), as in PoseFix; PoseEmbroider's BEDLAM-Fix run switches them off.
        skip_probability: chance to drop each non-rare code (0.15 in the spec; 0 disables).

    Returns:
        ``N`` lists of ``n_texts`` non-empty strings. When the main posture of A differs from
        B's (:func:`~pose_search.data.captioning.postures.main_posture`), each text opens with
        an everyday sentence ("Kneel down on your left knee.", :mod:`.posture_change`). When A and B do not differ noticeably
        (every paircode in its ignored band and no turn), every text is an explicit "no change"
        sentence from :data:`NO_CHANGE` (e.g. "Keep the same pose; nothing needs to change.").
        Callers building training data should drop such pairs; :func:`mine_pairs` never
        produces them since it requires many posecode differences.

    Raises:
        ValueError: wrong shapes, mismatched ``N``, NaN/inf inputs or ``n_texts < 1``.
    """
    ja = validate_joints(joints_a, "joints_a")
    jb = validate_joints(joints_b, "joints_b")
    n = ja.shape[0]
    if jb.shape[0] != n:
        raise ValueError(f"joints_a and joints_b must hold the same number of poses, got "
                         f"{n} and {jb.shape[0]}")
    if (rotations_a is None) != (rotations_b is None):
        raise ValueError("give both rotations_a and rotations_b, or neither")
    rot_a = rot_b = None
    if rotations_a is not None and rotations_b is not None:
        rot_a = _check_rotations(rotations_a, n, "rotations_a")
        rot_b = _check_rotations(rotations_b, n, "rotations_b")
    turns = None
    if turn_deg is not None:
        turns = np.asarray(turn_deg, dtype=np.float64).reshape(-1)
        if turns.shape != (n,):
            raise ValueError(f"turn_deg: expected shape ({n},), got {np.shape(turn_deg)}")
        if np.isinf(turns).any():
            raise ValueError("turn_deg: contains inf values")
    if int(n_texts) != n_texts or n_texts < 1:
        raise ValueError(f"n_texts must be a positive integer, got {n_texts}")
    if not 0.0 <= skip_probability < 1.0:
        raise ValueError(f"skip_probability must be in [0, 1), got {skip_probability}")

    wa, wb = working_joints(ja), working_joints(jb)
    values = measure_pairs(wa, wb, rot_a, rot_b)
    postures_a, postures_b = posture_labels(ja[:, :22]), posture_labels(jb[:, :22])
    out: list[list[str]] = [[] for _ in range(n)]
    n_empty = 0
    for t in range(int(n_texts)):
        simplified = t == SIMPLIFIED_TEXT_INDEX
        pair_cats = categorize_pairs(values, rng)
        cats_a, cats_b = pose_categories(wa, rng), pose_categories(wb, rng)
        for i in range(n):
            st = resolve_pair(pair_cats[i], cats_a[i], cats_b[i])
            clauses = _skip(st.clauses, rng, skip_probability)
            if with_facts and st.clauses:
                facts = fact_clauses(cats_b[i], _changed_parts(st.clauses), st.hidden_facts)
                clauses = clauses + [f for f in facts if f.rare or rng.random() >= skip_probability]
            statements = aggregate(clauses, rng, simplified=simplified)
            text = render_statements(statements, kinematic_order(rng), rng)
            if turns is not None and np.isfinite(turns[i]):
                turn = rotation_sentence(turns[i], rng)
                text = f"{turn} {text}".strip() if turn else text
            posture = posture_change_sentence(postures_a[i], postures_b[i], rng)
            text = f"{posture} {text}".strip() if posture else text
            if not text:
                text = no_change_text(rng)
                n_empty += 1
            out[i].append(text)
    if n_empty:
        log.info("%d of %d texts had nothing to say (explicit no-change text used)",
                 n_empty, n * int(n_texts))
    return out

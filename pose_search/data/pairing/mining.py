"""PoseFix pair mining (spec: PoseScript notes 10.1, PoseEmbroider 6.2 step 6).

Given one feature vector and one posecode signature per pose, :func:`mine_pairs` returns pairs
``(a, b, kind)`` -- "go from pose A to pose B" -- of two kinds:

* ``"in"`` (in-sequence): A and B come from the same sequence, A strictly earlier than B and
  less than ``max_dt`` seconds before it;
* ``"out"`` (out-of-sequence): A and B come from different sequences (a pose with sequence id
  ``-1`` belongs to no sequence, so it is "different" from every other pose).

Both kinds require A to be among the ``top_k`` most similar poses to B (cosine of the L2-normalised
features, the pose itself excluded), the similarity to lie strictly inside ``sim_band`` and the
number of posecode categories that differ, ``D(A, B)``, to be larger than ``min_diff_in`` /
``min_diff_out``. The defaults are the ``in15_out20_t05_sim0709`` setting.

Until a learned PoseText embedding exists, :func:`pose_feature` gives a hand-made feature whose
cosine similarity behaves sensibly (see its docstring for the calibration); once one is trained,
:mod:`.features` gives its pose embeddings instead (``--pair-feature RUN``).

Memory: the similarity matrix is never materialised; rows (poses B) are processed in float32
blocks of ``block`` rows, so peak memory is about ``block * N * 4`` bytes plus the candidates.
"""

from __future__ import annotations

import logging

import numpy as np

from pose_search.body.convention import NUM_BODY_JOINTS, PARENTS

__all__ = ["pose_feature", "mine_pairs", "FEATURE_DIM", "POSITION_SCALE", "CENTRE_WEIGHT"]

log = logging.getLogger(__name__)

POSITION_SCALE = 0.35  # metres; pelvis-relative positions are divided by this
DIRECTION_WEIGHT = 1.0  # weight of each unit bone direction
CENTRE_WEIGHT = 0.3  # fraction of the reference feature subtracted before L2 normalisation
FEATURE_DIM = 2 * 3 * (NUM_BODY_JOINTS - 1)

# Reference "neutral standing, arms hanging" skeleton in the canonical frame (+y up, faces +z,
# +x = the body's left), metres, pelvis at the origin. Only used to centre the feature.
_REFERENCE_JOINTS = np.array(
    [
        [0.00, 0.00, 0.00], [0.10, -0.05, 0.00], [-0.10, -0.05, 0.00],  # pelvis, hips
        [0.00, 0.10, 0.00], [0.11, -0.45, 0.01], [-0.11, -0.45, 0.01],  # spine1, knees
        [0.00, 0.22, 0.00], [0.12, -0.85, -0.02], [-0.12, -0.85, -0.02],  # spine2, ankles
        [0.00, 0.28, 0.00], [0.13, -0.90, 0.10], [-0.13, -0.90, 0.10],  # spine3, feet
        [0.00, 0.48, 0.00], [0.07, 0.40, 0.00], [-0.07, 0.40, 0.00],  # neck, collars
        [0.00, 0.61, 0.02], [0.17, 0.43, 0.00], [-0.17, 0.43, 0.00],  # head, shoulders
        [0.20, 0.17, -0.02], [-0.20, 0.17, -0.02],  # elbows
        [0.22, -0.07, 0.02], [-0.22, -0.07, 0.02],  # wrists
    ],
    dtype=np.float64,
)


def _check_joints(joints: np.ndarray) -> np.ndarray:
    arr = np.asarray(joints, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1] < NUM_BODY_JOINTS or arr.shape[2] != 3:
        raise ValueError(
            f"joints: expected shape (N, 22, 3) (or (N, 52, 3)) in metres, got {np.shape(joints)}"
        )
    if not np.isfinite(arr).all():
        raise ValueError("joints: contains NaN or inf values")
    return arr[:, :NUM_BODY_JOINTS]


def _raw_feature(j: np.ndarray) -> np.ndarray:
    """Un-normalised feature ``(N, 22, 3) -> (N, FEATURE_DIM)``."""
    rel = (j[:, 1:] - j[:, :1]) / POSITION_SCALE
    parents = np.asarray(PARENTS[1:])
    bones = j[:, 1:] - j[:, parents]
    dirs = bones / np.maximum(np.linalg.norm(bones, axis=-1, keepdims=True), 1e-8)
    n = j.shape[0]
    return np.concatenate([rel.reshape(n, -1), DIRECTION_WEIGHT * dirs.reshape(n, -1)], axis=1)


_REFERENCE_FEATURE = _raw_feature(_REFERENCE_JOINTS[None])[0]


def pose_feature(joints: np.ndarray) -> np.ndarray:
    """A pose-distance feature for mining: ``(N, 22|52, 3)`` joints -> ``(N, 126)`` float32, unit norm.

    Layout: the 21 pelvis-relative joint positions divided by ``POSITION_SCALE`` (0.35 m), then
    the 21 unit bone directions (child minus parent, ``convention.PARENTS``), flattened. A fixed
    fraction ``CENTRE_WEIGHT`` (0.3) of the same feature of a constant "neutral standing, arms
    hanging" skeleton is subtracted, then the vector is L2-normalised, so that the dot product of
    two features is their cosine similarity. Only the first 22 joints are used.

    Why partial centring: without it every upright pose shares a large common component (legs
    down, head up) and a whole-arm change still scores ~0.88; full centring makes near-neutral
    poses point in arbitrary directions. Calibration (hand-made T-pose skeleton, random Gaussian
    axis-angle perturbations with per-joint std sigma, 500 draws; MPJE = mean per-joint error)::

        sigma 0.05 rad -> cos 0.99  (MPJE  4 cm: near duplicate, above the band)
        sigma 0.15 rad -> cos 0.93  (MPJE 11 cm)
        sigma 0.25 rad -> cos 0.81  (MPJE 18 cm: "related but clearly different", in the band)
        sigma 0.35 rad -> cos 0.67  (MPJE 24 cm: below the band)

    From a standing pose with hanging arms: raising one arm above the head gives 0.78, bending
    one knee by 90 degrees 0.85, both changes together 0.65. So the default band 0.7-0.9 of
    :func:`mine_pairs` selects poses that differ by one or two clear limb changes (MPJE roughly
    12-22 cm). The band is a parameter of :func:`mine_pairs`; a learned embedding should be
    re-calibrated the same way.
    """
    j = _check_joints(joints)
    f = _raw_feature(j) - CENTRE_WEIGHT * _REFERENCE_FEATURE[None]
    f /= np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-8)
    return f.astype(np.float32)


def _validate_mining_inputs(
    features: np.ndarray, signatures: np.ndarray, sequence_ids: np.ndarray, times: np.ndarray,
    sim_band: tuple[float, float], top_k: int, max_a_per_b: int, max_dt: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    f = np.asarray(features)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"features: expected shape (N, D) with N >= 2, got {f.shape}")
    if not np.issubdtype(f.dtype, np.number) or not np.isfinite(f).all():
        raise ValueError("features: must be finite numbers (NaN or inf found)")
    n = f.shape[0]
    norms = np.linalg.norm(f.astype(np.float64), axis=1)
    if np.any(np.abs(norms - 1.0) > 1e-3):
        raise ValueError("features: rows must be L2-normalised (use pose_feature or normalise them)")
    s = np.asarray(signatures)
    if s.ndim != 2 or s.shape[0] != n or not np.issubdtype(s.dtype, np.integer):
        raise ValueError(f"signatures: expected an integer array of shape ({n}, K), got "
                         f"{s.dtype} {s.shape}")
    q = np.asarray(sequence_ids)
    if q.shape != (n,) or not np.issubdtype(q.dtype, np.integer):
        raise ValueError(f"sequence_ids: expected an integer array of shape ({n},), got {q.shape}")
    t = np.asarray(times, dtype=np.float64)
    if t.shape != (n,) or not np.isfinite(t).all():
        raise ValueError(f"times: expected finite seconds of shape ({n},), got {np.shape(times)}")
    lo, hi = sim_band
    if not (-1.0 <= lo < hi <= 1.0):
        raise ValueError(f"sim_band: expected -1 <= low < high <= 1, got {sim_band}")
    if top_k < 1 or max_a_per_b < 1 or max_dt <= 0:
        raise ValueError("top_k and max_a_per_b must be >= 1 and max_dt > 0")
    small = s.size == 0 or (s.min() >= -32768 and s.max() <= 32767)
    sig = s.astype(np.int16) if small else s.astype(np.int64)
    return f.astype(np.float32), sig, q.astype(np.int64), t


def _candidates(
    f: np.ndarray, sig: np.ndarray, seq: np.ndarray, t: np.ndarray, *, max_dt: float,
    sim_band: tuple[float, float], min_diff_in: int, min_diff_out: int, top_k: int, block: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All (b, a) pairs passing every per-pair constraint, as flat arrays.

    Returns ``(b, a, sim, kind_in)`` with shapes ``(M,)``; ``kind_in`` is True for an
    in-sequence candidate.
    """
    n = f.shape[0]
    k = min(top_k, n - 1)
    lo, hi = sim_band
    out_b, out_a, out_s, out_in = [], [], [], []
    for start in range(0, n, block):
        stop = min(start + block, n)
        sims = f[start:stop] @ f.T  # (block, N) float32
        rows = np.arange(stop - start)
        sims[rows, rows + start] = -np.inf  # a pose is never paired with itself
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]  # (block, k) indices of A
        top_s = np.take_along_axis(sims, top, axis=1)
        b_idx = np.broadcast_to(np.arange(start, stop)[:, None], top.shape)
        keep = (top_s > lo) & (top_s < hi)
        b, a, sv = b_idx[keep], top[keep], top_s[keep]
        same_seq = (seq[b] == seq[a]) & (seq[b] >= 0)
        dt = t[b] - t[a]
        is_in = same_seq & (dt > 0) & (dt < max_dt)
        is_out = ~same_seq
        ok = is_in | is_out
        b, a, sv, is_in = b[ok], a[ok], sv[ok], is_in[ok]
        diff = np.zeros(len(b), dtype=np.int64)
        for c in range(0, len(b), 65536):  # bounded temporary (chunk, K)
            diff[c:c + 65536] = (sig[b[c:c + 65536]] != sig[a[c:c + 65536]]).sum(axis=1)
        ok = np.where(is_in, diff > min_diff_in, diff > min_diff_out)
        out_b.append(b[ok]), out_a.append(a[ok]), out_s.append(sv[ok]), out_in.append(is_in[ok])
    return (np.concatenate(out_b), np.concatenate(out_a), np.concatenate(out_s),
            np.concatenate(out_in))


def _select_in(b: np.ndarray, a: np.ndarray, dt: np.ndarray) -> list[tuple[int, int, str]]:
    """In-sequence: per B (index order) the A with the smallest gap not yet used as a start."""
    order = np.lexsort((a, dt, b))  # by b, then gap, then a (deterministic tie-break)
    used_a: set[int] = set()
    pairs: list[tuple[int, int, str]] = []
    done_b = -1
    for i in order:
        bi, ai = int(b[i]), int(a[i])
        if bi == done_b or ai in used_a:
            continue
        pairs.append((ai, bi, "in"))
        used_a.add(ai)
        done_b = bi
    return pairs


def _select_out(
    b: np.ndarray, a: np.ndarray, s: np.ndarray, max_a_per_b: int, rng: np.random.Generator
) -> list[tuple[int, int, str]]:
    """Out-of-sequence: top-``max_a_per_b`` A per B, one weighted draw per B, two-way pairs."""
    order = np.lexsort((a, -s, b))  # by b, then decreasing similarity
    cands: dict[int, list[int]] = {}
    for i in order:
        lst = cands.setdefault(int(b[i]), [])
        if len(lst) < max_a_per_b:
            lst.append(int(a[i]))
    count: dict[int, int] = {}
    for lst in cands.values():
        for ai in lst:
            count[ai] = count.get(ai, 0) + 1
    processed: set[int] = set()
    pairs: list[tuple[int, int, str]] = []
    for bi in sorted(cands):
        if bi in processed:
            continue
        processed.add(bi)
        lst = cands[bi]
        two_way = [ai for ai in lst if ai not in processed and bi in cands.get(ai, ())]
        pool = two_way if two_way else lst
        w = np.array([1.0 / count[ai] for ai in pool])
        ai = pool[int(rng.choice(len(pool), p=w / w.sum()))]
        pairs.append((ai, bi, "out"))
        if two_way:
            pairs.append((bi, ai, "out"))
            processed.add(ai)  # A is retired as a target: it already has its pair
    return pairs


def mine_pairs(
    features: np.ndarray,
    signatures: np.ndarray,
    sequence_ids: np.ndarray,
    times: np.ndarray,
    *,
    rng: np.random.Generator,
    max_dt: float = 0.5,
    sim_band: tuple[float, float] = (0.7, 0.9),
    min_diff_in: int = 15,
    min_diff_out: int = 20,
    top_k: int = 100,
    max_a_per_b: int = 3,
    block: int = 512,
) -> list[tuple[int, int, str]]:
    """Mine PoseFix pairs ``(a_index, b_index, kind)``, kind ``"in"`` or ``"out"``.

    Args:
        features: ``(N, D)`` L2-normalised pose features (e.g. :func:`pose_feature`); the
            index order is the visiting order (farthest-point-sampling order: lower = earlier).
        signatures: ``(N, K)`` int posecode categories (``posecode_signature``); ``D(A, B)`` is
            the number of differing columns.
        sequence_ids: ``(N,)`` int sequence of each pose, ``-1`` for none.
        times: ``(N,)`` float seconds within the sequence (ignored for ``-1``).
        rng: drives the weighted out-of-sequence draw; the result is a deterministic function
            of the inputs and the generator state.
        max_dt, sim_band, min_diff_in, min_diff_out, top_k, max_a_per_b: the constraints of the
            module docstring (``sim_band`` is exclusive on both ends).
        block: rows of B per similarity block (memory ``block * N * 4`` bytes).

    Selection:
        * in-sequence: B visited in index order keeps the candidate A with the smallest time
          gap among those not yet used as a start (each A starts at most one pair);
        * out-of-sequence: each B keeps its ``max_a_per_b`` most similar candidates; B visited
          in index order (skipping poses already retired) draws one A with weight
          ``1 / (number of B lists that contain A)``, preferring an A that is not processed yet
          and has B among its own candidates; then the reverse pair ``B -> A`` is added too
          and A is retired. So every pose is the target of at most one "out" pair.

    Pairs of identical poses are never produced when ``min_diff_* >= 0`` (D must exceed it).
    """
    f, sig, seq, t = _validate_mining_inputs(
        features, signatures, sequence_ids, times, sim_band, top_k, max_a_per_b, max_dt
    )
    if min_diff_in < 0 or min_diff_out < 0:
        raise ValueError("min_diff_in and min_diff_out must be >= 0")
    b, a, s, is_in = _candidates(
        f, sig, seq, t, max_dt=max_dt, sim_band=sim_band, min_diff_in=min_diff_in,
        min_diff_out=min_diff_out, top_k=top_k, block=max(1, int(block)),
    )
    pairs_in = _select_in(b[is_in], a[is_in], t[b[is_in]] - t[a[is_in]])
    pairs_out = _select_out(b[~is_in], a[~is_in], s[~is_in], max_a_per_b, rng)
    log.info("mined %d in-sequence and %d out-of-sequence pairs from %d poses (%d candidates)",
             len(pairs_in), len(pairs_out), f.shape[0], len(b))
    return pairs_in + pairs_out

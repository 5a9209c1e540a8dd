"""Self-contact ("touch") posecodes on the anny body (spec section 6).

Two vertices are in contact when they are within the topology's Euclidean threshold of each
other on the posed mesh AND at least :data:`GEODESIC_THRESHOLD` (0.3 m) apart along the surface of
the neutral T-pose mesh. Two of the 41 parts (:mod:`.contact_parts`) touch when any of their
vertices are in contact. Pairs come out in the spec's priority order after *inclusion pruning*:
side parts rank by their place in the spec's list (index, hand, wrist, ..., hip; the left one
before the right one, so "the right hand touches the left shoulder", not the reverse), central
parts last; the first member of a pair has the higher priority. Pruning: a pair
is dropped when a pair with the same other member and the enclosing part of the same side also
touches (``hand`` contains ``index`` and ``wrist``, ``foot`` contains ``toes`` and ``ankle``,
``head`` contains ``face`` and ``crown``).

**Euclidean threshold.** The spec's 2 cm assumes SMPL-X's ~1 cm vertex spacing. anny's full mesh
(median edge 6 mm) uses 2 cm; the collapsed ``notoes_collapse10pc`` mesh (median edge 3.4 cm) has
so few vertices that two touching surfaces can have no vertex pair within 2 cm, so the threshold
is ``max(2 cm, median edge length)`` (3.4 cm there). On the neutral T-pose the closest
geodesically-far vertex pair of the collapsed mesh is 5.8 cm apart (mouth), so the T-pose stays
contact-free.

**Geodesics.** Shortest paths over the mesh edges (edge length = rest-pose distance) with
``scipy.sparse.csgraph.dijkstra``, once per topology and process. The collapsed mesh gets exact
all-pairs distances (1,229^2); the full mesh is represented by :data:`MAX_GEODESIC_NODES`
farthest-point samples, each vertex mapped to its geodesically nearest sample (error of a few
centimetres against the 0.3 m threshold). Only the boolean "far apart" matrix is kept.

**Cost.** Contacts are found with a KD-tree (``scipy.spatial.cKDTree.query_pairs``) per posed
mesh: about 0.6 ms per pose on the collapsed mesh. The full mesh's face, hands and feet are so
dense that it would find ~700k vertex pairs per pose, so a mesh finer than half the threshold is
tested on one vertex per rest-pose voxel of half the threshold (1 cm: 6k of 13.7k vertices;
every dropped vertex has a kept one within 1.7 cm), about 5 ms per pose.

Public API: :func:`contact_pairs`, :func:`touch_records`, :func:`merge_touch_records`,
:func:`contact_model`, :func:`infer_topology`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from .contact_parts import (
    CENTRE_PARTS,
    CONTACT_PART_INDEX,
    CONTACT_PARTS,
    REPORTED,
    SIDE_PARTS,
    contact_part_name,
    segment_contact_parts,
)
from .selection import Record

__all__ = [
    "EUCLIDEAN_THRESHOLD",
    "GEODESIC_THRESHOLD",
    "TOPOLOGY_VERTICES",
    "ContactModel",
    "contact_model",
    "infer_topology",
    "contact_pairs",
    "touch_records",
    "merge_touch_records",
]

logger = logging.getLogger(__name__)

EUCLIDEAN_THRESHOLD = 0.02  # metres, the spec's value for a ~1 cm mesh
GEODESIC_THRESHOLD = 0.3  # metres
MAX_GEODESIC_NODES = 2000
TOPOLOGY_VERTICES: dict[str, int] = {"notoes_collapse10pc": 1229, "anny": 13718}

# "is part of": child part -> enclosing part (same side).
PART_OF: dict[str, str] = {
    "index": "hand",
    "wrist": "hand",
    "toes": "foot",
    "ankle": "foot",
    "face": "head",
    "crown": "head",
}
# Touch part -> the part name of the distance posecodes it makes redundant ("close" codes).
_CLOSE_EQUIVALENT: dict[str, str] = {
    "index": "hand",
    "wrist": "hand",
    "toes": "foot",
    "chest": "torso",
    "belly": "torso",
    "upperback": "torso",
    "lowerback": "torso",
}
_NUM = len(CONTACT_PARTS)


@dataclass(frozen=True)
class ContactModel:
    """Per-topology contact data.

    Attributes:
        topology: anny topology name.
        labels: ``(V,)`` int64 contact part per vertex (``-1``: never in contact).
        active: ``(A,)`` int64 vertices tested for contact (reported parts; on a mesh finer
            than half the threshold, one per rest-pose voxel of half the threshold).
        rep: ``(V,)`` int64 row of each vertex in ``far``.
        far: ``(S, S)`` bool, geodesic distance >= :data:`GEODESIC_THRESHOLD`.
        threshold: Euclidean contact threshold (metres) for this topology.
        parent: ``(41,)`` int64 enclosing part of each part (itself when none).
    """

    topology: str
    labels: np.ndarray
    active: np.ndarray
    rep: np.ndarray
    far: np.ndarray
    threshold: float
    parent: np.ndarray


_MODELS: dict[str, ContactModel] = {}
_LOCK = threading.Lock()


def infer_topology(n_vertices: int) -> str:
    """The anny topology with ``n_vertices`` vertices; ``ValueError`` when there is none."""
    for name, n in TOPOLOGY_VERTICES.items():
        if n == n_vertices:
            return name
    raise ValueError(
        f"vertices: {n_vertices} vertices match no anny topology "
        f"({', '.join(f'{k}: {v}' for k, v in TOPOLOGY_VERTICES.items())})"
    )


def _edges(faces: np.ndarray) -> np.ndarray:
    f = np.asarray(faces, dtype=np.int64)
    e = np.concatenate([f[:, [i, (i + 1) % f.shape[1]]] for i in range(f.shape[1])])
    return np.unique(np.sort(e, axis=1), axis=0)


def _farthest_points(points: np.ndarray, k: int) -> np.ndarray:
    """Indices ``(k,)`` of a farthest-point sample of ``points`` ``(P, 3)`` seeded at 0."""
    chosen = np.zeros(k, dtype=np.int64)
    dist = np.linalg.norm(points - points[0], axis=1)
    for i in range(1, k):
        chosen[i] = int(dist.argmax())
        dist = np.minimum(dist, np.linalg.norm(points - points[chosen[i]], axis=1))
    return chosen


def _geodesic_far(
    rest: np.ndarray, edges: np.ndarray, main: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``rep (V,)`` and ``far (S, S)`` bool from the rest mesh (see module docstring)."""
    n = len(rest)
    length = np.linalg.norm(rest[edges[:, 0]] - rest[edges[:, 1]], axis=1)
    graph = coo_matrix((length, (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()
    main_idx = np.flatnonzero(main)
    if len(main_idx) <= MAX_GEODESIC_NODES:
        nodes = main_idx
    else:
        nodes = main_idx[_farthest_points(rest[main_idx], MAX_GEODESIC_NODES)]
    dist = dijkstra(graph, directed=False, indices=nodes)[:, nodes]
    rep = np.zeros(n, dtype=np.int64)
    if len(nodes) == len(main_idx):
        rep[nodes] = np.arange(len(nodes))
    else:
        _, _, src = dijkstra(
            graph, directed=False, indices=nodes, min_only=True, return_predecessors=True
        )
        where = {int(v): i for i, v in enumerate(nodes)}
        rep[main_idx] = [where[int(s)] for s in src[main_idx]]
    return rep, dist >= GEODESIC_THRESHOLD


def _build(topology: str, body: Any | None) -> ContactModel:
    start = time.perf_counter()
    if body is None:
        from pose_search.body.anny_backend import AnnyBody

        body = AnnyBody(topology=topology)
    if getattr(body, "topology", topology) != topology:
        raise ValueError(f"body has topology {body.topology!r}, expected {topology!r}")
    with torch.no_grad():
        out = body(torch.zeros(1, 22, 3))
    rest = out.vertices[0].double().numpy()
    joints = out.joints[0].double().numpy()
    edges = _edges(body.faces.cpu().numpy())
    n = len(rest)
    adj = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, comp = connected_components(adj, directed=False)
    main = comp == np.bincount(comp).argmax()
    labels = segment_contact_parts(body.model, rest, joints, main)
    rep, far = _geodesic_far(rest, edges, main)
    in_main = main[edges[:, 0]]
    median_edge = float(
        np.median(np.linalg.norm(rest[edges[in_main, 0]] - rest[edges[in_main, 1]], axis=1))
    )
    threshold = max(EUCLIDEAN_THRESHOLD, median_edge)
    active = np.flatnonzero((labels >= 0) & REPORTED[np.maximum(labels, 0)])
    if median_edge < threshold / 2:  # fine mesh: one vertex per voxel of half the threshold
        key = np.floor(rest[active] / (threshold / 2)).astype(np.int64)
        active = active[np.sort(np.unique(key, axis=0, return_index=True)[1])]
    parent = np.arange(_NUM, dtype=np.int64)
    for i, (side, part) in enumerate(CONTACT_PARTS):
        if part in PART_OF:
            parent[i] = CONTACT_PART_INDEX[(side, PART_OF[part])]
    logger.info(
        "contact model %s: %d vertices, %d geodesic nodes, threshold %.3f m, built in %.1f s",
        topology,
        n,
        far.shape[0],
        threshold,
        time.perf_counter() - start,
    )
    return ContactModel(topology, labels, active, rep, far, threshold, parent)


def contact_model(topology: str, body: Any | None = None) -> ContactModel:
    """The (cached) :class:`ContactModel` of an anny topology.

    ``body``: an already built ``AnnyBody`` of that topology to reuse (otherwise one is built).
    """
    if topology not in TOPOLOGY_VERTICES:
        raise ValueError(
            f"unknown anny topology {topology!r}; expected one of {list(TOPOLOGY_VERTICES)}"
        )
    with _LOCK:
        if topology not in _MODELS:
            _MODELS[topology] = _build(topology, body)
        return _MODELS[topology]


def _validate(vertices: np.ndarray, topology: str | None) -> tuple[np.ndarray, ContactModel]:
    v = vertices.detach().cpu().numpy() if torch.is_tensor(vertices) else np.asarray(vertices)
    if v.ndim == 2:
        v = v[None]
    if v.ndim != 3 or v.shape[2] != 3:
        raise ValueError(f"vertices: expected shape (N, V, 3), got {tuple(v.shape)}")
    topo = infer_topology(v.shape[1]) if topology is None else topology
    if topo not in TOPOLOGY_VERTICES:
        raise ValueError(
            f"unknown anny topology {topo!r}; expected one of {list(TOPOLOGY_VERTICES)}"
        )
    if v.shape[1] != TOPOLOGY_VERTICES[topo]:
        raise ValueError(
            f"vertices: topology {topo!r} has {TOPOLOGY_VERTICES[topo]} vertices, got {v.shape[1]}"
        )
    if not np.isfinite(v).all():
        raise ValueError("vertices: contains NaN or inf values")
    return v.astype(np.float64, copy=False), contact_model(topo)


def _raw_pairs(verts: np.ndarray, m: ContactModel) -> set[tuple[int, int]]:
    """Touching part pairs ``(a, b)``, ``a < b``, of one posed mesh ``(V, 3)`` before pruning."""
    pts = verts[m.active]
    pairs = cKDTree(pts).query_pairs(m.threshold, output_type="ndarray")
    if len(pairs) == 0:
        return set()
    i, j = m.active[pairs[:, 0]], m.active[pairs[:, 1]]
    keep = m.far[m.rep[i], m.rep[j]]
    la, lb = m.labels[i[keep]], m.labels[j[keep]]
    lo, hi = np.minimum(la, lb), np.maximum(la, lb)
    codes = np.unique(lo[lo != hi] * _NUM + hi[lo != hi])
    return {(int(c) // _NUM, int(c) % _NUM) for c in codes}


def _priority(index: int) -> int:
    """Rank of a part: side parts by their place in the spec's list (left before right), then
    the central parts."""
    side, part = CONTACT_PARTS[index]
    if side is None:
        return 2 * len(SIDE_PARTS) + CENTRE_PARTS.index(part)
    return 2 * SIDE_PARTS.index(part) + (side == "right")


_PRIORITY = np.array([_priority(i) for i in range(_NUM)], dtype=np.int64)


def _prune(pairs: set[tuple[int, int]], parent: np.ndarray) -> list[tuple[int, int]]:
    """Inclusion pruning, then the priority order (higher-priority member first)."""

    def key(a: int, b: int) -> tuple[int, int]:
        return (a, b) if a < b else (b, a)

    kept = set()
    for a, b in pairs:
        pa, pb = int(parent[a]), int(parent[b])
        if (pb != b and pb != a and key(a, pb) in pairs) or (
            pa != a and pa != b and key(pa, b) in pairs
        ):
            continue
        kept.add((a, b) if _PRIORITY[a] < _PRIORITY[b] else (b, a))
    return sorted(kept, key=lambda ab: (_PRIORITY[ab[0]], _PRIORITY[ab[1]]))


def _pose_pairs(vertices: np.ndarray, topology: str | None) -> list[list[tuple[int, int]]]:
    v, m = _validate(vertices, topology)
    return [_prune(_raw_pairs(v[n], m), m.parent) for n in range(v.shape[0])]


def contact_pairs(vertices: np.ndarray, topology: str | None = None) -> list[list[tuple[str, str]]]:
    """Touching part pairs of posed anny meshes.

    Args:
        vertices: ``(N, V, 3)`` (or ``(V, 3)``) posed vertices, canonical frame, metres.
        topology: anny topology; inferred from ``V`` when ``None``.

    Returns:
        Per pose, pairs of part names (``"left_hand"``, ``"face"``) in priority order, the
        higher-priority part first. ``ValueError`` for a wrong shape or vertex count.
    """
    return [
        [(contact_part_name(a), contact_part_name(b)) for a, b in pose]
        for pose in _pose_pairs(vertices, topology)
    ]


def touch_records(vertices: np.ndarray, topology: str | None = None) -> list[list[Record]]:
    """Touch posecodes ``Record(side1, part1, "touch", side2, part2)`` per pose (see above)."""
    out = []
    for pose in _pose_pairs(vertices, topology):
        recs = []
        for a, b in pose:
            (s1, p1), (s2, p2) = CONTACT_PARTS[a], CONTACT_PARTS[b]
            recs.append(Record(s1, p1, "touch", s2, p2))
        out.append(recs)
    return out


def _close_key(side: str | None, part: str) -> tuple[str | None, str]:
    part = _CLOSE_EQUIVALENT.get(part, part)
    return (None if part == "torso" else side, part)


def merge_touch_records(records: list[Record], touches: list[Record]) -> list[Record]:
    """Append ``touches`` to ``records`` and drop the "close" codes they make redundant.

    A "close" code is redundant when a touch code links the same two parts, in either order,
    counting index/wrist as hand, toes as foot and chest/belly/back parts as torso.
    """
    if not touches:
        return list(records)
    covered = set()
    for t in touches:
        a, b = _close_key(t.side1, t.part1), _close_key(t.side2, t.part2)
        covered.update({(a, b), (b, a)})
    kept = [
        r
        for r in records
        if not (
            r.interp == "close"
            and r.part2 is not None
            and ((r.side1, r.part1), (r.side2, r.part2)) in covered
        )
    ]
    return kept + [t for t in touches if t not in kept]

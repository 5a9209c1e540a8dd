"""``pose-search eval retrieval``: the paper's 9 query types, exact and through an ANN index.

Exact numbers follow PoseEmbroider: every row of the split is a query, its own row the one match,
the gallery all rows of the split, text = caption 0 (:mod:`pose_search.metrics.retrieval`).
With ``--index`` the same query types run through the index: queries are made from the index's
stored reference vectors of the split's rows, the gallery is every row of the index, and ranks
come once from exact search over those vectors and once from the ANN index (top 10), so their
difference is the ANN's loss alone (an index built with ``--split val`` gives the paper setting).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pose_search.metrics.retrieval import (
    KS,
    QUERY_TYPES,
    query_name,
    ranks_of_matches,
    retrieval_metrics,
)

log = logging.getLogger(__name__)

PLOT_KS = (1, 2, 3, 5, 10, 20, 50, 100)
NOT_FOUND = 10**9


@torch.no_grad()
def split_references(model: Any, data: str | Path, split: str, caption: int = 0,
                     progress: bool = True) -> tuple[list[str], dict[str, torch.Tensor]]:
    """(ids, ``{m: (N, D)}`` reference embeddings) of a split; text = caption ``caption``."""
    from pose_search.models.features import dataset_features

    feats = dataset_features(data, dict(model.encoders), split, progress=progress)
    ids = [str(x) for x in feats.pop("ids")]
    t = {m: torch.from_numpy(np.asarray(v, dtype=np.float32)) for m, v in feats.items()}
    if "text" in t:
        t["text"] = t["text"][:, min(caption, t["text"].shape[1] - 1)]
    refs: dict[str, list[torch.Tensor]] = {}
    for s in range(0, len(ids), 512):
        for m, v in model.core.reference_embeddings({k: x[s : s + 512] for k, x in t.items()}).items():
            refs.setdefault(m, []).append(v)
    return ids, {m: torch.cat(v) for m, v in refs.items()}


def _exact_ranks(gallery: torch.Tensor, match: torch.Tensor):
    def ranks(q: torch.Tensor, _target: str | None = None) -> torch.Tensor:
        out = torch.empty(len(q), dtype=torch.long)
        for s in range(0, len(q), 1024):
            scores = q[s : s + 1024] @ gallery.T
            true = scores.gather(1, match[s : s + 1024, None])
            out[s : s + 1024] = (scores > true).sum(-1)
        return out
    return ranks


def evaluate_retrieval(model_run: str | Path, data: str | Path, split: str = "val", index: str | Path | None = None,
                       plot: str | Path | None = None, progress: bool = True) -> dict[str, Any]:
    """Metrics ``{"exact": {...}, "index": {"exact": {...}, "ann": {...}, "mRecall_difference": x}}``."""
    from pose_search.models.search_model import PoseSearchModel
    from pose_search.runs import load_model

    model = load_model(model_run)
    if not isinstance(model, PoseSearchModel):
        raise ValueError(f"{str(model_run)!r} is not a core run (eval retrieval needs encoders + core)")
    ids, refs = split_references(model, data, split, progress=progress)
    core = model.core
    report: dict[str, Any] = {"model": str(model_run), "data": str(data), "split": split, "rows": len(ids),
                              "caption": 0, "exact": retrieval_metrics(refs, core.query_embedding)}
    curves = {"exact": _curves(refs, core.query_embedding, {m: _exact_ranks(refs[m], torch.arange(len(ids)))
                                                            for m in refs})}
    if index is not None:
        from indexing.table import INFO_FILE, read_info
        from pose_search import storage
        from pose_search.runs import model_files, model_fingerprint

        local_index = storage.local_copy(index, exclude=("staging",), pointer=INFO_FILE)  # a URI: a mirror
        own_model = (str(model_run).rstrip("/") == storage.join(index, "model")) if storage.is_uri(index) else \
            Path(model_run).resolve() == (Path(index) / "model").resolve()
        if not own_model and \
                read_info(local_index)["model_fingerprint"] != model_fingerprint(model_files(model_run)):
            raise ValueError(f"index {str(index)!r} was built with another model than {str(model_run)!r}")
        report["index"], curves["ann"] = _through_index(local_index, ids, core)
    if plot is not None:
        report["plot"] = str(plot_recall(curves, plot, title=f"{str(model_run).rstrip('/').rsplit('/', 1)[-1]} on {str(data).rstrip('/').rsplit('/', 1)[-1]}/{split}"))
    return report


def _through_index(index_dir: Path, ids: list[str], core: Any) -> tuple[dict[str, Any], dict[str, list[float]]]:
    from indexing.service import SearchService

    service = SearchService(index_dir)
    stored = service.table.to_table(columns=["id"]).column("id").to_pylist()
    position = {x: i for i, x in enumerate(stored)}
    missing = [x for x in ids if x not in position]
    if missing:
        raise ValueError(f"index {str(index_dir)!r} lacks {len(missing)} rows of the split (e.g. {missing[0]!r}); "
                         "build it from the same dataset")
    match = torch.tensor([position[x] for x in ids])
    gallery = {m: torch.from_numpy(np.ascontiguousarray(service._column_vectors(m))) for m in service.modalities}
    refs = {m: g[match] for m, g in gallery.items()}
    exact = {m: _exact_ranks(g, match) for m, g in gallery.items()}

    def ann_ranks(q: torch.Tensor, target: str) -> torch.Tensor:
        _, rows = service.indexes[target].search(q.float().numpy(), max(KS))
        hit = rows == match.numpy()[:, None]
        return torch.from_numpy(np.where(hit.any(1), hit.argmax(1), NOT_FOUND))

    m_exact = retrieval_metrics(refs, core.query_embedding, search_fn=lambda q, t: exact[t](q))
    m_ann = retrieval_metrics(refs, core.query_embedding, search_fn=ann_ranks)
    result = {"dir": str(index_dir), "gallery_rows": len(stored), "exact": m_exact, "ann": m_ann,
              "mRecall_difference": m_ann.get("mRecall", 0.0) - m_exact.get("mRecall", 0.0),
              "ann_kinds": {m: service.indexes[m].info.get("kind") for m in service.modalities}}
    curve = {}
    for subset, target in QUERY_TYPES:
        key = f"{query_name(subset, target)}/R@"
        if f"{key}1" in m_ann:
            curve[query_name(subset, target)] = [m_ann[f"{key}{k}"] for k in KS]
    return result, curve


def _curves(refs, query_fn, rankers) -> dict[str, list[float]]:
    out = {}
    for subset, target in QUERY_TYPES:
        if all(m in refs for m in (*subset, target)):
            with torch.no_grad():
                r = rankers[target](query_fn(refs, subset, target))
            out[query_name(subset, target)] = [100.0 * float((r < k).double().mean()) for k in PLOT_KS]
    return out


def plot_recall(curves: dict[str, dict[str, list[float]]], path: str | Path, title: str = "") -> Path:
    """Recall@K per query type (exact: lines over K up to 100; ANN: markers at 1/5/10)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(8, 5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (name, values) in enumerate(curves["exact"].items()):
        c = colours[i % len(colours)]
        ax.plot(PLOT_KS, values, marker="o", ms=3, color=c, label=name, ls="--" if "+" in name else "-")
        if name in curves.get("ann", {}):
            ax.plot(KS, curves["ann"][name], "x", ms=8, color=c)
    ax.set_xscale("log")
    ax.set_xticks(PLOT_KS, [str(k) for k in PLOT_KS])
    ax.set_xlabel("K")
    ax.set_ylabel("recall@K (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.set_title(title + ("  (x: through the ANN index)" if curves.get("ann") else ""))
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


__all__ = ["evaluate_retrieval", "plot_recall", "split_references", "ranks_of_matches"]

"""Search by real photos: do the top retrieved poses have what a person sees in the photo?

The photos and their hand labels are :mod:`benchmarks.real_photos_set` (frames of Pose2Sim's demo
videos in ``benchmarks/data/real_photos/`` and the three photos of ``tests/data/photos/``): for
each photo and pose property (upright, knees bent, one foot off the ground, stride, arms up, ...)
present, absent or unknown. For every index given: each photo is the query of
``SearchService.search(image=..., target="pose", k=10)`` (what ``pose-search search --image``
does), each hit's joints come from ``hit.pose`` by forward kinematics, and each labelled property
is checked on them (the predicates of :mod:`benchmarks.real_photos_set`).

Scores, at top-5 and top-10 (a "pair" is one photo and one of its known labels):

* **present**: for the pairs labelled present, the share of hits that have the property;
* **absent**: for the pairs labelled absent, the share of hits that do not have it;
* **balanced**: the mean of the two (a search that ignores the photo and returns the commonest
  poses cannot score well on both);
* each with its **chance**: the share of ALL the index's poses with (present) / without (absent)
  the property, averaged over the same pairs (what random poses would score).

Overall (all pairs), per group of properties (legs, trunk, arms), per property and per photo.
Photos tagged ``upper_body_only`` are scored on the trunk and arm properties only; photos tagged
``no_person`` are not scored: what the search does with them is recorded (the hits it returns, or
the message of the ``ValueError`` it raises, e.g. ``PersonNotFound``); so is a photo with a person
that the search refuses (then it is left out of the scores, and counted in ``refused``).
Writes ``benchmarks/results/real_photos.json`` (one entry per index name, the entries of other
names already in the file kept) and ``docs/real_photos.png`` (every photo with its top-3 poses,
for the first index given or ``--picture-index``).

    .venv/bin/python benchmarks/real_photos.py --index demo_small=$POSE_SEARCH_CACHE/demo/small/index

This replaces the former per-core mode (an index built per core run of the reference experiment,
3 photos, top-5 only): to compare image encoders now, build one index per core with
``pose-search index build`` and give each with ``--index NAME=PATH``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.human_queries import index_specs, joints_of, read_entries  # noqa: E402
from benchmarks.real_photos_set import (  # noqa: E402
    ARM_PROPERTIES,
    LEG_PROPERTIES,
    PHOTOS,
    PROPERTIES,
    TRUNK_PROPERTIES,
    Photo,
)

K = 10
KS = (5, 10)
SHOWN = 3  # poses per photo in the picture
OUT = ROOT / "benchmarks" / "results" / "real_photos.json"
PICTURE = ROOT / "docs" / "real_photos.png"
CHANCE_BATCH_ROWS = 65_536
GROUPS = {"legs": LEG_PROPERTIES, "trunk": TRUNK_PROPERTIES, "arms": ARM_PROPERTIES}


def chance_rates(service: Any, batch_rows: int = CHANCE_BATCH_ROWS) -> tuple[dict[str, float], int]:
    """Share of all the index's poses with each property, and the number of poses (the table's
    ``pose`` column, read in batches)."""
    counts = dict.fromkeys(PROPERTIES, 0)
    total = 0
    for batch in service.table.to_batches(columns=["pose"], batch_size=batch_rows):
        col = batch.column(0)
        if len(col) == 0:
            continue
        joints = joints_of(col.flatten().to_numpy(zero_copy_only=False).reshape(len(col), 22, 3))
        for name, pred in PROPERTIES.items():
            counts[name] += int(pred(joints).sum())
        total += len(col)
    return {n: c / max(total, 1) for n, c in counts.items()}, total


QUERIES = ("image", "pose", "image+pose")


def query(service: Any, photo: Photo, k: int, mode: str = "image") -> dict[str, Any]:
    """One photo through the search: the hits (ids, poses) or the refusal (a ``ValueError``:
    ``PersonNotFound`` when the image encoder finds nobody), and the seconds it took. ``mode``:
    the photo as an image query, as the pose fitted to the image encoder's skeleton
    (``SearchService.photo_pose``), or both fused by the core."""
    start = time.perf_counter()
    try:
        if mode == "image":
            hits = service.search(image=str(photo.path), target="pose", k=k)
        else:
            pose = service.photo_pose(str(photo.path))
            if pose is None:
                raise ValueError("this index's image encoder gives no skeleton: no pose from a photo")
            hits = service.search(image=str(photo.path) if mode == "image+pose" else None, pose=pose,
                                  target="pose", k=k)
    except ValueError as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "hits": [], "seconds": time.perf_counter() - start,
                "notes": []}
    seconds = time.perf_counter() - start
    notes = service.photo_notes(str(photo.path)) if hasattr(service, "photo_notes") else []
    return {"error": None, "hits": hits, "seconds": seconds, "notes": notes}


def _mean(values: Sequence[float]) -> float | None:
    return round(float(np.mean(values)), 4) if len(values) else None


def summarise(pairs: Sequence[dict[str, Any]], ks: Sequence[int] = KS) -> dict[str, Any]:
    """Present / absent / balanced agreement at each k and their chance, over ``pairs`` (each
    ``{"label": bool, "has": (k,) bool of the hits, best first, "chance": share of the index}``)."""
    pres = [p for p in pairs if p["label"]]
    abs_ = [p for p in pairs if not p["label"]]
    out: dict[str, Any] = {"present_labels": len(pres), "absent_labels": len(abs_)}
    chance_p = _mean([p["chance"] for p in pres])
    chance_a = _mean([1.0 - p["chance"] for p in abs_])
    out["chance"] = {"present": chance_p, "absent": chance_a,
                     "balanced": _mean([chance_p, chance_a]) if pres and abs_ else None}
    for k in ks:
        a_p = _mean([float(np.mean(p["has"][:k])) for p in pres])
        a_a = _mean([float(np.mean(~np.asarray(p["has"][:k]))) for p in abs_])
        out[f"top{k}"] = {"present": a_p, "absent": a_a, "balanced": _mean([a_p, a_a]) if pres and abs_ else None}
    return out


def macro(by_property: dict[str, dict[str, Any]], names: Sequence[str], ks: Sequence[int] = KS) -> dict[str, Any]:
    """The mean over ``names`` of each property's balanced agreement (and its chance), over the
    properties with both present and absent labels: every property weighs the same, however many
    labels it has."""
    both = [n for n in names if by_property[n]["present_labels"] and by_property[n]["absent_labels"]]
    out: dict[str, Any] = {"properties": both,
                           "chance": _mean([by_property[n]["chance"]["balanced"] for n in both])}
    for k in ks:
        out[f"top{k}"] = _mean([by_property[n][f"top{k}"]["balanced"] for n in both])
    return out


def evaluate(service: Any, photos: Sequence[Photo] = PHOTOS, k: int = K,
             ks: Sequence[int] = KS, mode: str = "image") -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Every photo through ``service`` (a :class:`indexing.service.SearchService`); the result (per
    photo, per property, per group, overall) and the hit poses per photo name (for the picture)."""
    ks = tuple(x for x in ks if x <= k)
    chance, rows_total = chance_rates(service)
    if rows_total == 0:
        raise ValueError("the index holds no poses")
    pairs: list[dict[str, Any]] = []
    per_photo, poses, seconds = {}, {}, []
    for photo in photos:
        got = query(service, photo, k, mode)
        entry: dict[str, Any] = {"file": photo.file, "tags": list(photo.tags), "error": got["error"],
                                 "ids": [h.id for h in got["hits"]], "seconds": round(got["seconds"], 3),
                                 "notes": got["notes"]}
        if got["hits"]:
            hit_poses = np.stack([np.asarray(h.pose, np.float32).reshape(22, 3) for h in got["hits"]])
            poses[photo.name] = hit_poses
            hit_joints = joints_of(hit_poses)
            has = {n: pred(hit_joints) for n, pred in PROPERTIES.items()}
        else:
            has = {}
        if photo.has_person:
            seconds.append(got["seconds"])
        if has and photo.scored:
            mine = [{"photo": photo.name, "property": p, "label": v, "has": has[p], "chance": chance[p]}
                    for p, v in photo.scored.items()]
            pairs += mine
            entry["summary"] = summarise(mine, ks)
            # per label: which hits (best first) have the property
            entry["labels"] = {p["property"]: {"label": p["label"],
                                               "top": "".join("1" if x else "0" for x in p["has"])} for p in mine}
        if not photo.has_person:
            entry["returned"] = len(got["hits"])
            entry["hit_properties"] = {n: int(v.sum()) for n, v in has.items()}  # what came back anyway
        per_photo[photo.name] = entry
    by_property = {n: summarise([p for p in pairs if p["property"] == n], ks) for n in PROPERTIES}
    with_person = [p for p in photos if p.has_person]
    result = {
        "query": mode, "rows": rows_total, "k": k, "ks": list(ks),
        "photos": len(photos), "scored_photos": len({p["photo"] for p in pairs}),
        "refused": sorted(p.name for p in with_person if per_photo[p.name]["error"]),
        "no_person": {p.name: {"error": per_photo[p.name]["error"], "returned": per_photo[p.name]["returned"]}
                      for p in photos if not p.has_person},
        "chance_per_property": {n: round(c, 4) for n, c in chance.items()},
        "overall": {**summarise(pairs, ks), "per_property_mean": macro(by_property, tuple(PROPERTIES), ks)},
        "by_group": {g: {**summarise([p for p in pairs if p["property"] in names], ks),
                         "per_property_mean": macro(by_property, names, ks)} for g, names in GROUPS.items()},
        "by_property": by_property,
        "per_photo": per_photo,
        "query_seconds": {"mean": _mean(seconds), "max": round(max(seconds), 3) if seconds else None},
        # the "legs are not visible" note (SearchService.photo_notes) on the photos searched
        "legs_note": {kind: {"photos": len(group), "with_note": sum(
            any("legs are not visible" in n for n in per_photo[p.name]["notes"]) for p in group)}
            for kind, group in (("upper_body_only", [p for p in with_person if "upper_body_only" in p.tags
                                                     and not per_photo[p.name]["error"]]),
                                ("full_body", [p for p in with_person if "upper_body_only" not in p.tags
                                               and not per_photo[p.name]["error"]]))},
    }
    return result, poses


def machine() -> dict[str, Any]:
    import torch

    return {"cpus": os.cpu_count(), "platform": platform.platform(), "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def run(indexes: dict[str, str | Path], out: str | Path = OUT, device: str = "cpu", k: int = K,
        photos: Sequence[Photo] = PHOTOS, mode: str = "image"
        ) -> tuple[dict[str, Any], dict[str, dict[str, np.ndarray]]]:
    """Evaluate each ``{name: index_dir}`` and merge the results into the JSON file ``out`` (the
    entries of other index names already there are kept); the whole file's content and the hit
    poses per index name and photo name."""
    from indexing.service import SearchService

    out = Path(out)
    data = read_entries(out)  # (the former per-core file had no "indexes": replaced)
    poses = {}
    for name, path in indexes.items():
        start = time.perf_counter()
        service = SearchService(path, device=device)
        result, poses[name] = evaluate(service, photos, k, mode=mode)
        data["indexes"][name] = {
            "index": str(path), "image_encoder": _image_encoder(service), **result,
            "seconds": round(time.perf_counter() - start, 1), "machine": machine(),
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
    labels = [(p, v) for ph in photos for p, v in ph.scored.items()]
    data.update({
        "benchmark": "real_photos", "k": k, "ks": [x for x in KS if x <= k],
        "photos": {ph.name: {"file": ph.file, "tags": list(ph.tags),
                             "labels": {p: v for p, v in ph.labels.items()}} for ph in photos},
        "label_counts": {n: {"present": sum(1 for p, v in labels if p == n and v),
                             "absent": sum(1 for p, v in labels if p == n and not v)} for n in PROPERTIES},
        "groups": {g: list(names) for g, names in GROUPS.items()},
        "method": "benchmarks/real_photos.py: photo -> pose top-k (SearchService.search(image=..., target='pose')); "
                  "per hand label (benchmarks/real_photos_set.py) the share of hits agreeing with it "
                  "(present: with the property, absent: without), balanced = their mean; chance = share of all "
                  "indexed poses with / without the property",
    })
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2) + "\n")
    return data, poses


def _image_encoder(service: Any) -> str | None:
    """The class name of the index model's image encoder (None without one)."""
    encoders = getattr(service.model, "encoders", {})
    return type(encoders["image"]).__name__ if "image" in encoders else None


def _fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:5.2f}"


def table(result: dict[str, Any]) -> str:
    """A short text table of one index's result: overall, per group, per property (top-5 and top-10
    present / absent / balanced beside chance)."""
    ks = result["ks"]
    head = f"{'':22s} {'n+':>3s} {'n-':>3s} " + " ".join(
        f"{'P@' + str(k):>5s} {'A@' + str(k):>5s} {'B@' + str(k):>5s}" for k in ks) + "  chance P / A / B"
    lines = [head]

    def row(label: str, s: dict[str, Any]) -> str:
        c = s["chance"]
        return (f"{label[:22]:22s} {s['present_labels']:3d} {s['absent_labels']:3d} "
                + " ".join(f"{_fmt(s[f'top{k}']['present'])} {_fmt(s[f'top{k}']['absent'])} "
                           f"{_fmt(s[f'top{k}']['balanced'])}" for k in ks)
                + f"  {_fmt(c['present'])} / {_fmt(c['absent'])} / {_fmt(c['balanced'])}")

    lines.append(row("overall", result["overall"]))
    for g, s in result["by_group"].items():
        lines.append(row(f"[{g}]", s))
    for label, s in [("overall", result["overall"])] + [(f"[{g}]", v) for g, v in result["by_group"].items()]:
        m = s["per_property_mean"]
        lines.append(f"{label}: mean over {len(m['properties'])} properties of the balanced agreement: "
                     + ", ".join(f"top-{k} {_fmt(m[f'top{k}'])}" for k in ks) + f" (chance {_fmt(m['chance'])})")
    for n, s in result["by_property"].items():
        if s["present_labels"] or s["absent_labels"]:
            lines.append(row(n, s))
    lines.append(f"scored photos {result['scored_photos']} of {result['photos']}; refused (person not found): "
                 f"{', '.join(result['refused']) or 'none'}")
    for name, v in result["no_person"].items():
        lines.append(f"no-person photo {name}: " + (v["error"] or f"returned {v['returned']} poses"))
    return "\n".join(lines)


def picture(poses: dict[str, np.ndarray], out: str | Path = PICTURE, photos: Sequence[Photo] = PHOTOS,
            shown: int = SHOWN, per_row: int = 3, title: str = "") -> Path:
    """Every photo beside its top ``shown`` poses (``poses[photo name]``, best first; drawn from
    one fixed camera), ``per_row`` photos to a row; each pose's title says how many of the
    photo's scored labels it agrees with."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from benchmarks.pictures import Drawer

    draw = Drawer()
    cols = per_row * (1 + shown)
    rows = -(-len(photos) // per_row)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.25, rows * 1.75), dpi=110, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for i, photo in enumerate(photos):
        r, c0 = divmod(i, per_row)
        c0 *= 1 + shown
        with Image.open(photo.path) as im:
            axes[r, c0].imshow(im.convert("RGB"))
        axes[r, c0].set_title(photo.name, fontsize=5)
        got = poses.get(photo.name)
        scored = photo.scored
        if got is None:
            axes[r, c0 + 1].text(0.0, 0.5, "no result" if photo.has_person else "(no person)", fontsize=6)
            continue
        joints = joints_of(got[:shown])
        agree = np.zeros(len(joints), int)
        for p, v in scored.items():
            agree += PROPERTIES[p](joints) == v
        for j, pose in enumerate(got[:shown]):
            ax = axes[r, c0 + 1 + j]
            ax.imshow(draw(pose))
            ax.set_title(f"#{j + 1}" + (f"  {agree[j]}/{len(scored)}" if scored else ""), fontsize=5)
    top = 1.0 - 0.3 / fig.get_figheight()  # 0.3 inch for the title
    fig.suptitle(title or "Real photos as queries: the top-3 poses (one fixed camera); n/m = labels the pose agrees "
                          "with", fontsize=7, y=1.0 - 0.08 / fig.get_figheight(), va="top")
    fig.tight_layout(pad=0.3, h_pad=0.2, w_pad=0.1, rect=(0.0, 0.0, 1.0, top))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    # 256 colours (no dithering): a third of the size, the renders' shading barely changes
    Image.open(buf).convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE,
                                            dither=Image.Dither.NONE).save(out, optimize=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", action="append", required=True,
                   help="NAME=PATH: an index directory built by `pose-search index build` or `pose-search demo` "
                        "(repeatable)")
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--picture", default=str(PICTURE))
    p.add_argument("--picture-index", default=None, help="the index NAME whose poses the picture shows (the first)")
    p.add_argument("--no-picture", action="store_true")
    p.add_argument("--k", type=int, default=K)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--query", choices=QUERIES, default="image",
                   help="the photo as an image query (what `pose-search search --image` does), as the pose "
                        "fitted to BlazePose's skeleton, or both")
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    indexes = index_specs(p, args.index)
    shown = args.picture_index or next(iter(indexes))
    if shown not in indexes:
        p.error(f"--picture-index {shown!r}: not one of the --index names")
    data, poses = run(indexes, args.out, args.device, k=args.k, mode=args.query)
    for name in indexes:
        print(f"== {name} ({indexes[name]})")
        print(table(data["indexes"][name]))
    print(args.out)
    if not args.no_picture:
        print(picture(poses[shown], args.picture, title=f"Real photos as queries ({shown}): the top-3 poses, one "
                                                         f"fixed camera; n/m = the photo's labels the pose agrees with"))


if __name__ == "__main__":
    main()

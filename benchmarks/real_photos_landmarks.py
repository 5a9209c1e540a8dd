"""Where do the legs of the real photos get lost? BlazePose, the pose fit, or the gallery (issue 18).

The real-photo search gets the arms right and the legs mostly wrong (``real_photos.json``). This
separates the places it can go wrong, for each labelled photo of ``real_photos_set.py`` (the
same any-size photo the search sends to the BlazePose encoder the demo uses):

1. ``landmarks``: BlazePose's 33 world landmarks mapped onto the 22 canonical joints
   (:func:`pose_search.models.encoders.blazepose.landmark_joints`), the photo's property
   predicates evaluated on that skeleton: what BlazePose itself sees;
2. ``fitted``: the same on the forward kinematics of the pose fitted to those joints
   (:func:`pose_search.body.fit_joints.fit_pose_to_joints`, what ``SearchService.photo_pose``
   returns): what a pose query carries;
3. per ``--index NAME=DIR``: ``gallery_nearest``, the 5 gallery poses nearest to the fitted pose
   by mean joint distance (brute force over the index's ``pose`` column): what a perfect pose ->
   pose search could return from that gallery, with the distances (how close the gallery comes).

Agreement with the hand labels as in ``real_photos.py`` (present / absent, and for 3. the share of
the 5 poses); set beside the search's own top-5 (``real_photos.json``) it says how much is lost
in BlazePose, in the fit, in the gallery and in the learned search.

``--model-complexity 1 2`` compares BlazePose's full model (1, in the wheel) with the heavy one (2,
installed by ``make blazepose-env`` where npm is available) on the same photos in one process, the
models taking turns photo by photo (so a change of machine load hits both alike); the result then
has one run per model under ``runs`` and a side-by-side ``comparison``. ``--only-skeleton`` keeps
only 1. (no pose fit, no gallery); ``--no-cache`` runs BlazePose on every photo (for the timing:
``blazepose_seconds_per_photo``: wall-clock time of the encoder per photo, the worker started,
and the worker's CPU time per photo, which a busy machine does not inflate).

    .venv/bin/python benchmarks/real_photos_landmarks.py --index demo_small=DEMO/index
    .venv/bin/python benchmarks/real_photos_landmarks.py --model-complexity 1 2 --no-cache \\
        --out benchmarks/results/real_photos_landmarks_heavy.json   # + --only-skeleton: BlazePose only
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results" / "real_photos_landmarks.json"
NEAREST = 5


def _gallery_joints(index: str) -> np.ndarray:
    """``(N, 22, 3)`` joints (pelvis at 0) of every pose of an index."""
    from benchmarks.human_queries import joints_of
    from indexing.service import SearchService

    service = SearchService(index)
    cols = [b.column(0) for b in service.table.to_batches(columns=["pose"]) if len(b)]
    poses = np.concatenate([c.flatten().to_numpy(zero_copy_only=False).reshape(len(c), 22, 3) for c in cols])
    joints = joints_of(poses)
    return joints - joints[:, :1]


def _agreement(rows: list[tuple[bool, float]]) -> dict[str, float | int | None]:
    present = [x for label, x in rows if label]
    absent = [x for label, x in rows if not label]
    return {"present": round(float(np.mean(present)), 3) if present else None,
            "absent": round(float(np.mean(absent)), 3) if absent else None,
            "n_present": len(present), "n_absent": len(absent)}


def _cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far; NaN where /proc cannot tell."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def _summary(rows: dict[str, dict[str, list[tuple[bool, float]]]], properties) -> dict:
    return {way: {"overall": _agreement([r for n in properties for r in by[n]]),
                  "by_property": {n: _agreement(by[n]) for n in properties}} for way, by in rows.items()}


def _pick(summary: dict, name: str) -> dict:
    return summary["overall"] if name == "overall" else summary["by_property"][name]


def _side_by_side(by_model: dict[str, dict]) -> dict:
    """``{model: agreement}`` -> ``{MODEL_present, ..., MODEL_absent, ..., n_present, n_absent}``."""
    first = next(iter(by_model.values()))
    return ({f"{m}_{k}": a[k] for k in ("present", "absent") for m, a in by_model.items()}
            | {"n_present": first["n_present"], "n_absent": first["n_absent"]})


def _print(ways: dict, title: str = "") -> None:
    if title:
        print(title)
    for way, s in ways.items():
        print(f"{way:20s} overall present {s['overall']['present']}  absent {s['overall']['absent']}")
        for n, a in s["by_property"].items():
            if a["n_present"]:
                print(f"    {n:22s} present {a['present']} ({a['n_present']})  absent {a['absent']} ({a['n_absent']})")


def main(argv: list[str] | None = None) -> int:
    from benchmarks.human_queries import index_specs

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", action="append", default=[], help="NAME=PATH: a gallery for the nearest poses")
    p.add_argument("--model-complexity", type=int, nargs="+", default=[1], choices=(1, 2),
                   help="BlazePose model(s): 1 full (default), 2 heavy; several: compared photo by photo")
    p.add_argument("--only-skeleton", action="store_true",
                   help="only BlazePose's skeleton (no pose fit, no gallery)")
    p.add_argument("--no-cache", action="store_true", help="run BlazePose on every photo (no result cache)")
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args(argv)
    if args.only_skeleton and args.index:
        p.error("--index needs the fitted pose: leave out --only-skeleton")
    complexities = list(dict.fromkeys(args.model_complexity))
    indexes = index_specs(p, args.index) if args.index else {}

    from benchmarks.real_photos_set import PHOTOS, PROPERTIES, satisfied
    from pose_search.models.encoders.blazepose import BlazePoseEncoder, landmark_joints
    from pose_search.models.encoders.image_files import load_query_image

    start = time.perf_counter()
    galleries = {name: _gallery_joints(path) for name, path in indexes.items()}
    ways = ("landmarks",) if args.only_skeleton else ("landmarks", "fitted", *galleries)
    encoders = {c: BlazePoseEncoder(model_complexity=c, cache=not args.no_cache) for c in complexities}
    rows = {c: {way: {n: [] for n in PROPERTIES} for way in ways} for c in complexities}
    per_photo: dict[int, list[dict]] = {c: [] for c in complexities}
    detect_s: dict[int, list[float]] = {c: [] for c in complexities}
    worker_cpu_s: dict[int, float] = {c: 0.0 for c in complexities}
    try:
        for encoder in encoders.values():  # start the workers before the clock runs
            encoder.worker.request({"op": "ping"}, timeout_s=encoder.startup_timeout_s)
        for photo in PHOTOS:
            if not photo.scored:
                continue
            image = load_query_image(str(photo.path), fit=False).unsqueeze(0)
            for c, encoder in encoders.items():
                pid = encoder.worker.pid
                cpu0, t0 = _cpu_s(pid), time.perf_counter()
                lm = encoder.detect(image)
                detect_s[c].append(time.perf_counter() - t0)
                worker_cpu_s[c] += _cpu_s(pid) - cpu0
                if not lm.found[0]:
                    per_photo[c].append({"photo": photo.name, "found": False})
                    continue
                joints, confidence = landmark_joints(lm)
                got = {"landmarks": satisfied(joints)}
                entry: dict = {"photo": photo.name, "found": True}
                if not args.only_skeleton:
                    from pose_search.body.fit_joints import fit_pose_to_joints
                    from pose_search.body.skeleton import forward_kinematics

                    fitted = forward_kinematics(fit_pose_to_joints(joints, confidence)).numpy()
                    got["fitted"] = satisfied(fitted)
                    for name, gallery in galleries.items():
                        dist = np.linalg.norm(gallery - fitted, axis=-1).mean(-1)
                        nearest = np.argsort(dist)[:NEAREST]
                        got[name] = satisfied(gallery[nearest])
                        entry[f"{name}_nearest_mean_joint_distance_m"] = round(float(dist[nearest].mean()), 3)
                for way, has in got.items():
                    for n, label in photo.scored.items():
                        rows[c][way][n].append((label, float((has[n] == label).mean())))
                for way in ("landmarks", "fitted"):
                    if way in got:
                        entry[f"{way}_wrong"] = sorted(n for n, label in photo.scored.items()
                                                       if bool(got[way][n][0]) != label)
                per_photo[c].append(entry)
    finally:
        for encoder in encoders.values():
            encoder.close()

    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    runs = {}
    for c, encoder in encoders.items():
        times = detect_s[c]
        runs[c] = {
            "benchmark": "real_photos_landmarks", "photos": len(per_photo[c]), "blazepose": encoder.config(),
            "indexes": {name: str(path) for name, path in indexes.items()}, "nearest": NEAREST,
            "ways": _summary(rows[c], PROPERTIES),
            "blazepose_seconds_per_photo": {"mean": round(float(np.mean(times)), 3),
                                            "median": round(float(np.median(times)), 3),
                                            "worker_cpu_mean": round(worker_cpu_s[c] / len(times), 3),
                                            "cached": not args.no_cache} if times else None,
            "per_photo": per_photo[c], "seconds": round(time.perf_counter() - start, 1), "time": now,
        }
    if len(runs) == 1:
        result = next(iter(runs.values()))
    else:  # several models: side by side, present (and absent) agreement per way and property
        model = {1: "full", 2: "heavy"}
        result = {
            "benchmark": "real_photos_landmarks", "photos": len(next(iter(per_photo.values()))),
            "model_complexities": complexities, "only_skeleton": args.only_skeleton,
            "comparison": {way: {n: _side_by_side({model[c]: _pick(runs[c]["ways"][way], n) for c in complexities})
                                 for n in ("overall", *PROPERTIES)} for way in ways},
            "seconds_per_photo": {model[c]: runs[c]["blazepose_seconds_per_photo"] for c in complexities},
            "runs": {model[c]: runs[c] for c in complexities},
            "seconds": round(time.perf_counter() - start, 1), "time": now,
        }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    for c in complexities:
        _print(runs[c]["ways"], f"== model_complexity {c}: {runs[c]['blazepose_seconds_per_photo']} s/photo")
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

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

    .venv/bin/python benchmarks/real_photos_landmarks.py --index demo_small=DEMO/index
"""

from __future__ import annotations

import argparse
import json
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


def main(argv: list[str] | None = None) -> int:
    from benchmarks.human_queries import index_specs

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", action="append", default=[], help="NAME=PATH: a gallery for the nearest poses")
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args(argv)
    indexes = index_specs(p, args.index) if args.index else {}

    from benchmarks.real_photos_set import PHOTOS, PROPERTIES, satisfied
    from pose_search.body.fit_joints import fit_pose_to_joints
    from pose_search.body.skeleton import forward_kinematics
    from pose_search.models.encoders.blazepose import BlazePoseEncoder, landmark_joints
    from pose_search.models.encoders.image import load_query_image

    start = time.perf_counter()
    galleries = {name: _gallery_joints(path) for name, path in indexes.items()}
    encoder = BlazePoseEncoder()
    rows: dict[str, dict[str, list[tuple[bool, float]]]] = {
        way: {n: [] for n in PROPERTIES} for way in ("landmarks", "fitted", *galleries)}
    per_photo = []
    try:
        for photo in PHOTOS:
            if not photo.scored:
                continue
            lm = encoder.detect(load_query_image(str(photo.path), fit=False).unsqueeze(0))
            if not lm.found[0]:
                per_photo.append({"photo": photo.name, "found": False})
                continue
            joints, confidence = landmark_joints(lm)
            fitted = forward_kinematics(fit_pose_to_joints(joints, confidence)).numpy()
            got = {"landmarks": satisfied(joints), "fitted": satisfied(fitted)}
            entry: dict = {"photo": photo.name, "found": True}
            for name, gallery in galleries.items():
                dist = np.linalg.norm(gallery - fitted, axis=-1).mean(-1)
                nearest = np.argsort(dist)[:NEAREST]
                got[name] = satisfied(gallery[nearest])
                entry[f"{name}_nearest_mean_joint_distance_m"] = round(float(dist[nearest].mean()), 3)
            for way, has in got.items():
                for n, label in photo.scored.items():
                    rows[way][n].append((label, float((has[n] == label).mean())))
            entry["fitted_wrong"] = sorted(n for n, label in photo.scored.items() if bool(got["fitted"][n][0]) != label)
            per_photo.append(entry)
    finally:
        encoder.close()

    result = {
        "benchmark": "real_photos_landmarks", "photos": len(per_photo), "blazepose": encoder.config(),
        "indexes": {name: str(path) for name, path in indexes.items()}, "nearest": NEAREST,
        "ways": {way: {"overall": _agreement([r for n in PROPERTIES for r in by[n]]),
                       "by_property": {n: _agreement(by[n]) for n in PROPERTIES}} for way, by in rows.items()},
        "per_photo": per_photo, "seconds": round(time.perf_counter() - start, 1),
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    for way, s in result["ways"].items():
        print(f"{way:20s} overall present {s['overall']['present']}  absent {s['overall']['absent']}")
        for n, a in s["by_property"].items():
            if a["n_present"]:
                print(f"    {n:22s} present {a['present']} ({a['n_present']})  absent {a['absent']} ({a['n_absent']})")
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

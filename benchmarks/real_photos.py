"""Search by real photos: how often the top-5 retrieved poses have what the photo shows, per image
encoder of the core (our CNN trained on renders vs BlazePose, pretrained on real photos).

The photos are the redistributable ones in ``tests/data/photos/`` (licences in its README), each
with hand-written expected pose properties (:mod:`pose_search.metrics.properties`; those that
survive heading removal). For each core: an index of the reference experiment's poses (pose
vectors only), the photo as the query (target pose: what ``pose-search search --image`` does),
and the share of top-5 poses with each property, beside the share among all indexed poses
(chance). Also each core's retrieval on the validation renders, as in the reference experiment.
Writes benchmarks/results/real_photos.json and docs/real_photos.png.

    .venv/bin/python benchmarks/real_photos.py --root experiments/synthetic \\
        --core cnn=poseembroider --core blazepose=poseembroider_blazepose
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PHOTOS = ROOT / "tests" / "data" / "photos"
# what each photo shows (tests/data/photos/README.md), as properties of a canonical pose
PHOTO_PROPERTIES = {
    "astronaut.jpg": ("upright", "shoulders_level", "arms_down"),
    "camera.png": ("hands_raised_in_front",),
    "grace_hopper.jpg": ("upright", "shoulders_level"),
}
K = 5


def render_metrics(run: Path) -> dict[str, float]:
    """The 9 query types on the validation renders (the reference experiment's protocol:
    ``benchmarks/retrieval_synthetic.py``, best core, caption 0, gallery = the 2,000 val items)."""
    from benchmarks.retrieval_synthetic import evaluate as retrieval

    return {k: round(float(v), 2) for k, v in retrieval(run).items()}


def person_found_rate(run: Path) -> float | None:
    """Share of the run's cached render features where BlazePose found a person (its last
    feature); None for other image encoders."""
    from pose_search.checkpoint import read_config
    from pose_search.models.features import load_features

    if read_config(run / "encoders" / "image")["name"] != "blazepose":
        return None
    found = np.concatenate([load_features(run / "features" / f"{split}.safetensors")["image"][:, -1]
                            for split in ("train", "val")])
    return round(float((found > 0.5).mean()), 4)


def evaluate(service, joints_of) -> dict[str, dict]:
    """Per photo: the top-5 ids and, per property, how many of them have it."""
    from pose_search.metrics.properties import check_property

    out = {}
    for photo, props in PHOTO_PROPERTIES.items():
        hits = service.search(image=str(PHOTOS / photo), target="pose", k=K)
        joints = joints_of(np.stack([h.pose for h in hits]))
        found = None
        if service.model.image_any_size:  # BlazePose: did it find the person? (its last feature)
            from pose_search.models.encoders.image import load_query_image

            found = bool(service.model.features(images=[load_query_image(PHOTOS / photo, fit=False)])["image"][0, -1])
        out[photo] = {"top": [h.id for h in hits], "person_found": found,
                      "properties": {p: int(check_property(p, joints).sum()) for p in props},
                      "poses": [h.pose for h in hits]}  # (for the picture; not written to the JSON)
    return out


def main() -> None:
    from indexing.build import BuildConfig, build
    from indexing.service import SearchService
    from pose_search.body.skeleton import forward_kinematics
    from pose_search.data.schema import POSES_TABLE
    from pose_search.data.store import open_table
    from pose_search.metrics.properties import check_property

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default="experiments/synthetic")
    p.add_argument("--core", action="append", required=True, help="NAME=RUN (a core run under ROOT/runs)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "real_photos.json"))
    p.add_argument("--picture", default=str(ROOT / "docs" / "real_photos.png"))
    args = p.parse_args()
    root = Path(args.root)
    cores = dict(c.split("=", 1) for c in args.core)

    def joints_of(poses: np.ndarray) -> np.ndarray:
        return forward_kinematics(torch.from_numpy(poses.astype(np.float32))).numpy()

    all_joints = joints_of(np.asarray(open_table(root / "data", POSES_TABLE).to_table(columns=["pose"])
                                      .column("pose").to_pylist(), np.float32).reshape(-1, 22, 3))
    chance = {name: round(float(check_property(name, all_joints).mean()), 4)
              for name in sorted({q for ps in PHOTO_PROPERTIES.values() for q in ps})}
    results, seconds, poses = {}, {}, {}
    for name, run in cores.items():
        index = root / f"index_photos_{name}"
        start = time.perf_counter()
        build(BuildConfig(model=str(root / "runs" / run), data=str(root / "data"), out=str(index),
                          modalities=("pose",)), progress=True)
        seconds[f"index_{name}"] = round(time.perf_counter() - start, 1)
        start = time.perf_counter()
        photos = evaluate(SearchService(index), joints_of)
        seconds[f"queries_{name}"] = round(time.perf_counter() - start, 1)
        counts = [ph["properties"] for ph in photos.values()]
        satisfied, total = sum(sum(c.values()) for c in counts), K * sum(len(c) for c in counts)
        expected = sum(K * chance[q] for props in PHOTO_PROPERTIES.values() for q in props)
        poses[name] = {ph: v.pop("poses") for ph, v in photos.items()}
        results[name] = {"run": run, "photos": photos, "top5_property_rate": round(satisfied / total, 4),
                         "renders_with_person_found": person_found_rate(root / "runs" / run),
                         "chance_rate": round(expected / total, 4), "renders": render_metrics(root / "runs" / run)}
        print(name, json.dumps({k: v for k, v in results[name].items() if k != "photos"}), flush=True)
    out = {"benchmark": "real_photos", "k": K, "photos": {ph: list(ps) for ph, ps in PHOTO_PROPERTIES.items()},
           "indexed_poses": int(len(all_joints)), "chance_per_property": chance, "results": results,
           "seconds": seconds, "machine": {"cpus": os.cpu_count(), "platform": platform.platform()}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    picture(poses, Path(args.picture))


def picture(poses: dict[str, dict[str, list[np.ndarray]]], out: Path, shown: int = 3) -> Path:
    """Each photo beside the top ``shown`` poses (``poses[core][photo]``, best first) of each core
    (one fixed camera)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from benchmarks.pictures import Drawer

    draw = Drawer()
    names = list(poses)
    cols = 1 + shown * len(names)
    fig, axes = plt.subplots(len(PHOTO_PROPERTIES), cols, figsize=(cols * 1.9, len(PHOTO_PROPERTIES) * 2.6),
                             dpi=110, squeeze=False)
    for r, photo in enumerate(PHOTO_PROPERTIES):
        with Image.open(PHOTOS / photo) as im:
            axes[r, 0].imshow(im.convert("RGB"))
        axes[r, 0].set_title(photo, fontsize=7)
        for c, name in enumerate(names):
            for j, pose in enumerate(poses[name][photo][:shown]):
                ax = axes[r, 1 + c * shown + j]
                ax.imshow(draw(pose))
                ax.set_title(f"{name} #{j + 1}", fontsize=7)
        for ax in axes[r]:
            ax.set_axis_off()
    fig.suptitle("Real photos as queries: the top retrieved poses per image encoder (poses drawn from one camera)",
                 fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    print(out)
    return out


if __name__ == "__main__":
    main()

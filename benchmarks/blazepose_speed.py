"""BlazePose throughput on renders: one worker process vs two, same images, same process.

    .venv/bin/python benchmarks/blazepose_speed.py --data experiments/synthetic/data --n 200

Writes benchmarks/results/blazepose_speed.json (images/s for each, the ratio, whether the
features are identical). The result cache is off: MediaPipe runs on every image.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch


def main() -> None:
    from pose_search.models.encoders.blazepose import BlazePoseEncoder
    from training.tasks.data import load_split

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="experiments/synthetic/data")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "blazepose_speed.json"))
    args = p.parse_args()
    images = load_split(args.data, "val", ("image",))["image"][: args.n]
    out, feats = {}, {}
    for processes in (1, 2):
        enc = BlazePoseEncoder(cache=False, processes=processes).freeze()
        enc(images[:2 * enc.batch_size])  # start the workers and warm MediaPipe up
        start = time.perf_counter()
        feats[processes] = enc(images)
        seconds = time.perf_counter() - start
        enc.close()
        out[f"processes_{processes}"] = {"seconds": round(seconds, 2), "images_per_s": round(len(images) / seconds, 2)}
        print(processes, out[f"processes_{processes}"], flush=True)
    out["speedup"] = round(out["processes_2"]["images_per_s"] / out["processes_1"]["images_per_s"], 2)
    out["identical_features"] = bool(torch.equal(feats[1], feats[2]))
    result = {"benchmark": "blazepose_speed", "images": len(images), "size": list(images.shape[2:]), **out,
              "machine": {"cpus": os.cpu_count(), "platform": platform.platform()}}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

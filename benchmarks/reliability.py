"""Reliability: generated bad inputs against every public entry, and SIGKILL in the middle of the
two commands that write data; writes benchmarks/results/reliability.json.

The bad inputs are the reliability tests' own generators (``tests/reliability/*_cases.py``, same
seed), run over tiny artefacts built here (``tests/tiny.py``): CLI arguments (in-process, plus a
handful through real processes), ``SearchService``, the served UI's endpoints, the dataset
loaders and store, checkpoint loading, hostile pose / SMPL-X parameter files (bombs, broken
zips, lying headers, deep JSON, FIFOs, long paths, bad batch sizes, NaN), hostile JSON configs
and paths, and resource requests no cluster can give. Every input must end in a clear error (the
documented kind, its message naming the problem, at most 1,000 characters); anything else is
counted (crashes, vague errors, bad inputs accepted) and listed. After each entry a good request
must still be answered. Every in-process request records its peak Python / numpy allocation
(``tracemalloc``; torch's own tensors are not traced); a decompression bomb uploaded to the
served UI records the server's resident-memory growth too. Then the kill scenarios of
``tests/reliability/kill.py``: rows lost / duplicated and recoveries.

    .venv/bin/python benchmarks/reliability.py            # ~4 min on 2 cores
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ANNY_CACHE_DIR", str(ROOT / ".cache" / "anny"))  # as tests/conftest.py
os.environ.setdefault("WARP_CACHE_PATH", str(ROOT / ".cache" / "warp"))

from tests import tiny  # noqa: E402
from tests.reliability.harness import SEED, Report, run_cases  # noqa: E402

VERSIONS = ("torch", "numpy", "pyarrow", "pylance", "ray", "gradio", "gradio_client", "safetensors", "tokenizers")


def rng() -> np.random.Generator:
    return np.random.default_rng(SEED)


def build_artefacts(work: Path) -> dict[str, Any]:
    """The tiny dataset, encoders, core run, index and head runs the cases run against."""
    data = tiny.make_dataset(work / "dataset")
    encoders = tiny.make_encoders(work / "encoders", data)
    core = tiny.make_core_run(work / "core_run", encoders)
    return {"dataset": data, "encoders": encoders, "core_run": core, "index": tiny.make_index(work / "index", core, data),
            "hps_run": tiny.make_hps_run(work / "hps_run", core, data),
            "instructions_run": tiny.make_instructions_run(work / "instructions_run", core)}


def service_entry(a: dict[str, Any], work: Path) -> tuple[Report, bool]:
    from indexing.service import SearchService
    from tests.reliability.service_cases import service_cases

    service = SearchService(a["index"])
    report = run_cases("SearchService", service_cases(service, work, rng()), measure_memory=True)
    return report, len(service.search(text="the person kneels with both arms raised", k=5)) == 5


def ui_entry(a: dict[str, Any], work: Path) -> tuple[Report, bool]:
    from gradio_client import Client

    from tests.reliability.ui_cases import bomb_upload_memory, ui_cases
    from ui.backend import BackendConfig, UIBackend

    backend = UIBackend(a["index"], hps_run=a["hps_run"], instructions_run=a["instructions_run"], data_dir=a["dataset"],
                        config=BackendConfig(batching=True))
    url, app = tiny.serve_app(backend)
    try:
        client = Client(url, verbose=False, download_files=False)
        ids = [r["id"] for r in backend.index.take([0, 1], ["id"])]
        report = run_cases("UI endpoints", ui_cases(client, url, ids, work, rng()), measure_memory=True)
        BOMB_UPLOADS.extend(bomb_upload_memory(client, work / f"bomb{mib}", mib) for mib in (256, 900))
        _, table = client.predict("the arms are raised", None, None, None, "pose", 3, "any", "", api_name="/search")
        return report, len(table) == 3
    finally:
        app.close()
        backend.close()


def cli_entry(a: dict[str, Any], work: Path) -> tuple[Report, bool]:
    from tests.reliability.cli_cases import Places, cli_cases, subprocess_cases
    from tests.reliability.cli_run import tripwires

    places = Places(a["dataset"], a["core_run"], a["index"], a["hps_run"], a["instructions_run"], work)
    with tripwires():
        report = run_cases("CLI arguments", cli_cases(places, rng()))
    report.outcomes += run_cases("CLI", subprocess_cases(places, rng())).outcomes
    return report, True  # in-process: this very process is the one that stayed up


def loaders_entry(a: dict[str, Any], work: Path) -> tuple[Report, bool]:
    from tests.reliability.file_cases import file_cases

    return run_cases("dataset loaders", file_cases(work, rng()), measure_memory=True), True


def pose_files_entry(a: dict[str, Any], work: Path) -> tuple[Report, bool]:
    from pose_search.body.io import load_pose_file
    from tests.reliability.pose_file_cases import good_pose_files, pose_file_cases

    report = run_cases("pose files", pose_file_cases(work, rng()), measure_memory=True)
    good = good_pose_files(work / "good", rng())
    return report, all(np.allclose(load_pose_file(path), expect, atol=1e-3) for _, path, expect in good)


def config_paths_entry(a: dict[str, Any], work: Path) -> tuple[Report, bool]:
    from pose_search.checkpoint import read_config
    from tests.reliability.config_path_cases import config_path_cases

    report = run_cases("config files and paths", config_path_cases(work, rng()), measure_memory=True)
    return report, isinstance(read_config(a["encoders"]["pose"]), dict)


def resources_entry(a: dict[str, Any], work: Path) -> tuple[Report, bool]:
    from pose_search.resources import check_fits
    from tests.reliability.cli_run import tripwires
    from tests.reliability.resource_cases import driver_cases, placement_cases

    with tripwires():  # a request that starts Ray before it is refused is a crash
        report = run_cases("resource requests", driver_cases(work, rng()), measure_memory=True)
    refused, fitting = placement_cases(rng(), n=80)
    report.outcomes += run_cases("placement", refused).outcomes
    for request, nodes in fitting:
        check_fits(request, nodes)  # documented successes: raises if one is refused
    return report, True


def checkpoint_entry(a: dict[str, Any], work: Path) -> tuple[Report, bool]:
    from tests.reliability.checkpoint_cases import MARKER_ENV, checkpoint_cases

    marker = work / "UNPICKLED"
    os.environ[MARKER_ENV] = str(marker)
    report = run_cases("checkpoint loading", checkpoint_cases(work / "cases", a["encoders"], a["core_run"], rng()),
                       measure_memory=True)
    return report, not marker.exists()


ENTRIES = {"cli": cli_entry, "service": service_entry, "ui": ui_entry, "loaders": loaders_entry,
           "checkpoint": checkpoint_entry, "pose_files": pose_files_entry, "config_paths": config_paths_entry,
           "resources": resources_entry}
BOMB_UPLOADS: list[dict[str, Any]] = []  # filled by ui_entry


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in VERSIONS:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def run_all(work: Path, skip_kill: bool) -> dict[str, Any]:
    """Every entry's cases, then the kill scenarios; the content of reliability.json."""
    start = time.perf_counter()
    artefacts = build_artefacts(work / "artefacts")
    setup_s = time.perf_counter() - start
    entries: dict[str, Any] = {}
    for name, run in ENTRIES.items():
        t = time.perf_counter()
        report, up = run(artefacts, work / name)
        entries[name] = {**report.summary(), "still_answers_after": up, "wall_seconds": round(time.perf_counter() - t, 1)}
        print(f"{name}: {report.tried} inputs, {report.count('clear')} clear errors, "
              f"{report.tried - report.count('clear')} not clear", flush=True)
    kills = []
    if not skip_kill:
        from tests.reliability.kill import data_generate_scenario, index_build_scenario

        kills = [index_build_scenario(artefacts["core_run"], artefacts["dataset"], work / "kill_index").as_dict(),
                 data_generate_scenario(work / "kill_generate").as_dict()]
        for k in kills:
            print(f"kill {k['scenario']}: lost {k['rows_lost']}, duplicated {k['rows_duplicated']}, "
                  f"recovered {k['recovered']}", flush=True)
    total = {key: sum(e[key] for e in entries.values())
             for key in ("inputs_tried", "clear_errors", "vague_errors", "accepted", "crashes")}
    peaks = {k: e["peak_memory_mib"]["max"] for k, e in entries.items() if "peak_memory_mib" in e}
    return {
        "benchmark": "reliability",
        "seed": SEED,
        "inputs_tried": {**{k: e["inputs_tried"] for k, e in entries.items()}, "total": total["inputs_tried"]},
        "clear_errors": total["clear_errors"],
        "crashes": total["crashes"],
        "not_clear": {"vague_errors": total["vague_errors"], "bad_inputs_accepted": total["accepted"]},
        "still_answering": all(e["still_answers_after"] for e in entries.values()),
        "peak_memory_per_request_mib": {"max_by_entry": peaks, "max": max(peaks.values(), default=None),
                                        "how": "tracemalloc peak of Python + numpy allocations per request "
                                               "(torch tensors not traced)"},
        "bomb_uploads_to_served_ui": BOMB_UPLOADS,
        "process_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rows_lost": sum(k["rows_lost"] for k in kills),
        "rows_duplicated": sum(k["rows_duplicated"] for k in kills),
        "recoveries": sum(k["recovered"] for k in kills),
        "kill_scenarios": kills,
        "entries": entries,
        "seconds": {"setup": round(setup_s, 1), "total": round(time.perf_counter() - start, 1)},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "versions": versions()},
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "reliability.json"))
    parser.add_argument("--work", help="scratch folder (default: a temporary one)")
    parser.add_argument("--skip-kill", action="store_true", help="bad inputs only")
    args = parser.parse_args()
    import logging

    import torch

    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)  # before the in-process CLI runs (its basicConfig is then a no-op)
    work = Path(args.work or tempfile.mkdtemp(prefix="reliability-"))
    try:
        result = run_all(work, skip_kill=args.skip_kill)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("inputs_tried", "clear_errors", "crashes", "rows_lost",
                                             "rows_duplicated", "recoveries", "peak_memory_per_request_mib",
                                             "bomb_uploads_to_served_ui")}, indent=2))


if __name__ == "__main__":
    main()

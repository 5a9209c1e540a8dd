"""End to end: the synthetic generator writes complete, deterministic, resumable datasets."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from pose_search.data.generate import GenerateConfig, run
from pose_search.data.schema import GENERATOR_VERSION, PAIRS_TABLE, POSES_TABLE
from pose_search.data.store import DatasetError, read_manifest, read_table
from tests.processes import run_together

CFG = GenerateConfig(kind="script", size=24, seed=3, chunk_size=8, val_fraction=0.25)


@pytest.fixture(scope="module")
def script_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("script")
    run(out, CFG, workers=1)
    return out


def test_script_dataset_is_complete(script_dir):
    t = read_table(script_dir, POSES_TABLE)
    assert t.num_rows == 24
    assert len(set(t.column("id").to_pylist())) == 24
    kinds = t.column("caption_kinds").to_pylist()
    for caps, ks in zip(t.column("captions").to_pylist(), kinds, strict=True):
        # 3 PoseScript-style captions, then everyday sentences and search-box queries, alternating
        assert ks == ["posescript"] * 3 + ["everyday", "query"] * 2 and len(caps) == len(ks)
        assert all(len(c.split()) >= (2 if k == "query" else 3) for c, k in zip(caps, ks))
    img = Image.open(io.BytesIO(t.column("image")[0].as_py()))
    assert img.size == (192, 256)
    assert set(t.column("split").to_pylist()) == {"train", "val"}
    assert len(set(t.column("family").to_pylist())) >= 5
    manifest = read_manifest(script_dir)
    assert manifest["status"] == "complete" and manifest["counts"]["poses"] == 24
    assert manifest["caption_statistics"]["captions_per_item_min"] >= 5
    assert manifest["counts"]["caption_kinds"] == {"everyday": 48, "posescript": 72, "query": 48}
    assert manifest["seed"] == 3 and manifest["generator_version"] == GENERATOR_VERSION


def test_stored_joints_are_the_neutral_skeleton_of_the_pose(script_dir):
    from pose_search.body.skeleton import neutral_joints

    t = read_table(script_dir, POSES_TABLE, ["pose", "joints"])
    poses = np.asarray(t.column("pose").to_pylist(), dtype=np.float32).reshape(-1, 22, 3)
    joints = np.asarray(t.column("joints").to_pylist(), dtype=np.float32).reshape(-1, 22, 3)
    assert np.allclose(neutral_joints(poses), joints, atol=1e-5)


def test_interrupted_run_resumes_to_the_same_dataset(tmp_path, script_dir):
    class Stop(Exception):
        pass

    def stop_after_first_chunk(done: int, total: int) -> None:
        if done >= 8:
            raise Stop

    with pytest.raises(Stop):
        run(tmp_path, CFG, workers=1, progress=stop_after_first_chunk)
    partial = read_table(tmp_path, POSES_TABLE)
    assert partial.num_rows == 8  # the committed chunk is readable
    assert read_manifest(tmp_path)["status"] == "incomplete"
    run(tmp_path, CFG, workers=1)
    run(tmp_path, CFG, workers=1)  # a third run changes nothing
    resumed = read_table(tmp_path, POSES_TABLE).sort_by("id")
    reference = read_table(script_dir, POSES_TABLE).sort_by("id")
    assert resumed.column("id").to_pylist() == reference.column("id").to_pylist()
    assert resumed.column("captions").to_pylist() == reference.column("captions").to_pylist()
    assert resumed.column("pose").to_pylist() == reference.column("pose").to_pylist()
    assert resumed.column("image").to_pylist() == reference.column("image").to_pylist()


def test_other_config_in_the_same_dir_is_refused(script_dir):
    with pytest.raises(DatasetError, match="another configuration"):
        run(script_dir, GenerateConfig(kind="script", size=24, seed=4, chunk_size=8), workers=1)
    with pytest.raises(DatasetError, match="another configuration"):
        run(script_dir, GenerateConfig(kind="script", size=24, seed=3, chunk_size=8, val_fraction=0.25,
                                       everyday_captions=0), workers=1)


def test_a_dataset_of_an_older_generator_is_not_resumed(tmp_path):
    from dataclasses import asdict

    old = {"kind": "script", "generator_version": "synthetic-v1", "config": asdict(CFG)}
    (tmp_path / "manifest.json").write_text(json.dumps(old))
    with pytest.raises(DatasetError, match="synthetic-v1"):
        run(tmp_path, CFG, workers=1)


def test_fix_dataset_has_pairs_over_its_poses(tmp_path):
    cfg = GenerateConfig(kind="fix", size=96, seed=1, chunk_size=32, val_fraction=0.0)
    manifest = run(tmp_path, cfg, workers=1)
    poses = set(read_table(tmp_path, POSES_TABLE, ["id"]).column("id").to_pylist())
    pairs = read_table(tmp_path, PAIRS_TABLE).to_pylist()
    assert len(pairs) > 0 and manifest["counts"]["pairs"] == len(pairs)
    for p in pairs:
        assert p["a_id"] in poses and p["b_id"] in poses and p["a_id"] != p["b_id"]
        assert p["kind"] in ("in", "out") and len(p["instructions"]) >= 1
    assert {p["kind"] for p in pairs} == {"in", "out"}
    from pose_search.data.show import contact_sheet

    sheet = contact_sheet(tmp_path, tmp_path / "pairs.png", n=3)
    assert Image.open(sheet).size[0] > 800


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pose_search_app", *args], capture_output=True, text=True, timeout=600)


def test_cli_generate_with_workers_and_show(tmp_path):
    out = tmp_path / "ds"
    r = _cli("data", "generate", "--kind", "script", "--size", "12", "--out", str(out), "--workers", "2")
    assert r.returncode == 0, r.stderr
    assert read_manifest(out)["counts"]["poses"] == 12
    cli = [sys.executable, "-m", "pose_search_app", "data"]
    # `show` and `info` only read the dataset: run together (their start-ups overlap)
    r, info = run_together([[*cli, "show", str(out), "--out", str(tmp_path / "sheet.png"), "-n", "4"],
                            [*cli, "info", str(out)]], timeout=600)
    assert r.returncode == 0, r.stderr
    assert Image.open(tmp_path / "sheet.png").size[0] > 400
    assert json.loads(info.stdout)["kind"] == "script"


BAD_INPUT = [
    (["data", "generate", "--size", "0", "--out", "X"], "size 0"),
    (["data", "show", "/nonexistent/ds", "--out", "x.png"], "does not exist"),
    (["data", "info", "/nonexistent/ds"], "does not exist"),
]


@pytest.fixture(scope="module")
def bad_input_runs() -> dict[tuple[str, ...], subprocess.CompletedProcess]:
    """Each command line of BAD_INPUT run once, all together (independent processes whose
    start-ups overlap); by the arguments."""
    runs = run_together([[sys.executable, "-m", "pose_search_app", *args] for args, _ in BAD_INPUT], timeout=600)
    return {tuple(args): r for (args, _), r in zip(BAD_INPUT, runs)}


@pytest.mark.parametrize("args, message", BAD_INPUT)
def test_cli_bad_input_is_one_clear_line(args, message, bad_input_runs):
    r = bad_input_runs[tuple(args)]
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr

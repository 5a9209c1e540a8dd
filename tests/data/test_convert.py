"""`pose-search data convert`: a real-layout AMASS folder becomes a complete dataset, or nothing."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from pose_search.data.convert import convert
from pose_search.data.schema import POSES_TABLE
from pose_search.data.store import DatasetError, read_manifest, read_table


def _write_amass(root, frames: int = 3) -> None:
    seq = root / "CMU" / "01"
    seq.mkdir(parents=True)
    poses = np.zeros((frames, 156), dtype=np.float64)
    poses[:, 0] = np.pi / 2  # standing up in AMASS's z-up world
    poses[:, 3 * 16 + 2] = np.linspace(0.0, 1.2, frames)  # left shoulder raising the arm
    np.savez(seq / "01_01_poses.npz", poses=poses, trans=np.zeros((frames, 3)), betas=np.zeros(16),
             mocap_framerate=np.array(120.0), gender=np.array("neutral"))


def test_amass_folder_converts_with_captions_and_renders(tmp_path):
    _write_amass(tmp_path / "amass")
    manifest = convert("amass", tmp_path / "amass", tmp_path / "ds", stride=1)
    t = read_table(tmp_path / "ds", POSES_TABLE)
    assert t.num_rows == 3 and manifest["counts"]["poses"] == 3
    kinds = ["posescript"] * 3 + ["everyday", "query"] * 2  # 3 PoseScript-style + 4 everyday captions
    assert all(len(c) == 7 for c in t.column("captions").to_pylist())
    assert t.column("caption_kinds").to_pylist() == [kinds] * 3
    assert all(len(b) > 1000 for b in t.column("image").to_pylist())
    assert read_manifest(tmp_path / "ds")["source"] == "amass"
    joints = np.asarray(t.column("joints").to_pylist()).reshape(-1, 22, 3)
    assert (joints[:, 15, 1] > 0.4).all()  # upright: head above the pelvis


def test_a_corrupt_file_leaves_nothing_behind(tmp_path):
    _write_amass(tmp_path / "amass")
    (tmp_path / "amass" / "CMU" / "01" / "01_02_poses.npz").write_bytes(b"broken")
    with pytest.raises(ValueError, match="01_02_poses.npz"):
        convert("amass", tmp_path / "amass", tmp_path / "ds", stride=1)
    assert not (tmp_path / "ds").exists() and not (tmp_path / "ds.partial").exists()


def test_existing_output_is_refused(tmp_path):
    (tmp_path / "ds").mkdir()
    with pytest.raises(DatasetError, match="already exists"):
        convert("amass", tmp_path, tmp_path / "ds")


def test_cli_convert_needs_amass_root_for_posefix(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pose_search_app", "data", "convert", "posefix", str(tmp_path),
                        "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "--amass-root is required" in r.stderr


def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    from pose_search_app.cli import main

    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_amass_mixed_tree_counts_skipped_files_and_warns_on_flat_bodies(tmp_path, capsys):
    from tests.data.loader_files import write_amass_mixed, write_scene

    write_amass_mixed(tmp_path / "amass")
    code, out, _ = _cli(["data", "convert", "amass", str(tmp_path / "amass"), "--out", str(tmp_path / "ds"),
                         "--stride", "4"], capsys)
    manifest = read_manifest(tmp_path / "ds")
    assert code == 0 and manifest["counts"]["poses"] == 3 and "warning" not in out
    assert sum(manifest["skipped"].values()) == 2 and manifest["warnings"] == []
    _, gt, _ = write_scene(tmp_path / "bedlam")  # BEDLAM motions given to `convert amass` by mistake
    code, out, _ = _cli(["data", "convert", "amass", str(gt), "--out", str(tmp_path / "flat"), "--stride", "12"],
                        capsys)
    assert code == 0 and "warning:" in out and "lie flat" in out
    assert "bedlam-raw" in read_manifest(tmp_path / "flat")["warnings"][0]


def test_cli_posefix_release_needs_and_takes_the_posescript_release(tmp_path, capsys):
    from tests.data.loader_files import write_posefix, write_posescript

    ps, amass = write_posescript(tmp_path)
    pf = write_posefix(ps)
    code, _, err = _cli(["data", "convert", "posefix", str(pf), "--amass-root", str(amass),
                         "--out", str(tmp_path / "fix")], capsys)
    assert code == 2 and "--posescript-root" in err and "Traceback" not in err
    assert not (tmp_path / "fix").exists()
    code, _, err = _cli(["data", "convert", "posefix", str(pf), "--amass-root", str(amass), "--posescript-root",
                         str(ps), "--split", "train", "--out", str(tmp_path / "fix")], capsys)
    manifest = read_manifest(tmp_path / "fix")
    assert code == 0 and manifest["kind"] == "fix" and manifest["counts"]["pairs"] == 2
    assert manifest["counts"]["pairs_per_split_kind"] == {"train/in": 1, "train/out": 1}


def test_cli_bedlam_raw_splits_and_append_by_id(tmp_path, capsys):
    from tests.data.loader_files import write_scene

    images = tmp_path / "images"
    train_root, gt, _ = write_scene(tmp_path, images=images)
    write_scene(tmp_path, scene="20221011_1_250_batch01hand_6fps", split="validation", images=images)
    root, out = train_root.parent, tmp_path / "ds"
    base = ["data", "convert", "bedlam-raw", str(root), "--gt-root", str(gt), "--image-root", str(images),
            "--out", str(out)]
    assert _cli(base + ["--split", "val"], capsys)[0] == 0
    val = read_manifest(out)["counts"]
    assert set(val["poses_per_split"]) == {"val"}
    code, _, err = _cli(base + ["--split", "train"], capsys)
    assert code == 2 and "already exists" in err and "--append" in err
    assert _cli(base + ["--split", "train", "--append", "--stride", "5"], capsys)[0] == 0  # 5: the default
    both = read_manifest(out)
    assert both["counts"]["poses"] == val["poses"] + 2 and set(both["counts"]["poses_per_split"]) == {"train", "val"}
    assert _cli(base + ["--append"], capsys)[0] == 0  # every split again: every id is stored already
    again = read_manifest(out)
    assert again["counts"] == both["counts"] and again["config"]["sources"][-1]["added"] == {"poses": 0}
    assert [s["options"].get("split") for s in again["config"]["sources"]] == [["val"], ["train"], None]
    ids = read_table(out, POSES_TABLE, ["id"]).column("id").to_pylist()
    assert len(ids) == len(set(ids)) == both["counts"]["poses"]
    code, _, err = _cli(["data", "convert", "posefix", str(tmp_path), "--amass-root", str(tmp_path),
                         "--posescript-root", str(tmp_path), "--out", str(out), "--append"], capsys)
    assert code == 2 and "same kind" in err


def test_an_option_for_another_source_is_a_clear_error(tmp_path, capsys):
    for argv, flag in [(["amass", str(tmp_path), "--image-root", str(tmp_path)], "--image-root"),
                       (["posescript", str(tmp_path), "--amass-root", "a", "--stride", "3"], "--stride"),
                       (["3dpw", str(tmp_path), "--amass-root", str(tmp_path)], "--amass-root"),
                       (["amass", str(tmp_path), "--split", "val"], "--split")]:
        code, _, err = _cli(["data", "convert", *argv, "--out", str(tmp_path / "o")], capsys)
        assert code == 2 and f"{flag} does not apply to {argv[0]}" in err and "Traceback" not in err
    code, _, err = _cli(["data", "convert", "3dpw", str(tmp_path), "--split", "dev", "--out", str(tmp_path / "o")],
                        capsys)
    assert code == 2 and "--split dev" in err


def test_cli_3dpw_release_every_split_by_default(tmp_path, capsys):
    from tests.data.loader_files import write_3dpw

    write_3dpw(tmp_path / "3DPW", [0.0, 0.5, 1.0], split="train", name="courtyard_arguing_00", no_2d=(1,))
    write_3dpw(tmp_path / "3DPW", [0.3, 0.1], split="val", name="courtyard_drinking_00")
    write_3dpw(tmp_path / "3DPW", [1.0], split="test", name="downtown_bar_00")
    code, out, _ = _cli(["data", "convert", "3dpw", str(tmp_path / "3DPW"), "--out", str(tmp_path / "all")], capsys)
    manifest = read_manifest(tmp_path / "all")
    assert code == 0 and manifest["counts"]["poses_per_split"] == {"train": 2, "val": 2, "test": 1}
    assert manifest["skipped"]["3DPW people-frames: no 2D keypoints"] == 1
    code, _, _ = _cli(["data", "convert", "3dpw", str(tmp_path / "3DPW"), "--split", "val,test", "--stride", "2",
                       "--out", str(tmp_path / "some")], capsys)
    assert code == 0 and read_manifest(tmp_path / "some")["counts"]["poses_per_split"] == {"val": 1, "test": 1}

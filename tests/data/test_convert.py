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
    r = subprocess.run([sys.executable, "-m", "pose_search", "data", "convert", "posefix", str(tmp_path),
                        "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "--amass-root is required" in r.stderr

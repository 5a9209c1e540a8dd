"""The raw BEDLAM layout (be_seq.csv + camera CSVs + PNGs + motion_seq.npz), on a tiny scene."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pose_search.body.skeleton import forward_kinematics
from pose_search.data.loaders import LoaderError, crops, load_dataset
from pose_search.data.loaders.bedlam_raw import (
    body_to_unreal,
    project_unreal,
    rotate_cw,
    unreal_axes,
)
from pose_search.data.schema import pose_rows_to_table
from tests.data.loader_files import (
    CLOSEUP,
    F_PX,
    SCENE,
    captions,
    keypoints,
    motion,
    root_mat,
    rot,
    write_scene,
)

torch.set_num_threads(1)

def test_projection_axes_are_unreal() -> None:
    cam = np.array([0.0, 0.0, 1.0])
    fwd = unreal_axes(0.0, 0.0, 0.0)
    uv, z = project_unreal(np.array([[3.5, 1.0, 1.0], [3.5, 0.0, 2.0]]), cam, fwd, (F_PX, F_PX), (1280, 720))
    np.testing.assert_allclose(uv[0], [640 + F_PX / 3.5, 360])  # +y (right) -> right of centre
    np.testing.assert_allclose(uv[1], [640, 360 - F_PX / 3.5])  # +z (up) -> above centre
    np.testing.assert_allclose(z, [3.5, 3.5])
    uv, _ = project_unreal(np.array([[0.0, 3.5, 1.0]]), cam, unreal_axes(0.0, 90.0, 0.0), (F_PX, F_PX), (1280, 720))
    np.testing.assert_allclose(uv[0], [640, 360], atol=1e-9)  # yaw 90 looks along +y
    uv, _ = project_unreal(np.array([[3.5, 0.0, 1.0]]), cam, unreal_axes(-10.0, 0.0, 0.0), (F_PX, F_PX), (1280, 720))
    assert uv[0, 1] < 360  # camera pitched down: a point at eye level rises in the image
    uv, _ = project_unreal(np.array([[3.5, 1.0, 1.0]]), cam, unreal_axes(0.0, 0.0, 90.0), (F_PX, F_PX), (1280, 720))
    assert uv[0, 1] < 360 - 100 and abs(uv[0, 0] - 640) < 1e-6  # clockwise roll: right goes up
    uv, _ = project_unreal(np.array([[-3.5, 0.0, 1.0]]), cam, fwd, (F_PX, F_PX), (1280, 720))
    assert np.isnan(uv).all()  # behind the camera
    # Yaw 90 faces a yaw-0 camera: the body's left (+x) appears on the image right
    assert np.allclose(body_to_unreal(90.0) @ [0, 0, 1], [-1, 0, 0]) and np.allclose(body_to_unreal(90.0) @ [1, 0, 0], [0, 1, 0])
    np.testing.assert_allclose(rotate_cw(np.array([[0.0, 0.0], [1280.0, 720.0]]), 720), [[720, 0], [0, 1280]])


def test_raw_scene_rows_filters_and_crops(tmp_path: Path) -> None:
    root, gt, bodies = write_scene(tmp_path)
    rows = list(load_dataset("bedlam-raw", root, gt, caption_fn=captions))
    # B is behind A (overlap30), C is off-frame (j16); frame 3 is not a 6 fps frame
    assert [r["id"] for r in rows] == [f"bedlam:{SCENE}:seq_000000_0000:1", f"bedlam:{SCENE}:seq_000000_0005:1"]
    table = pose_rows_to_table(rows)
    assert set(table.column("split").to_pylist()) == {"train"} and set(table.column("source").to_pylist()) == {"bedlam"}
    for r in rows:
        # canonical: heading (0.2 / 0.7 rad of motion yaw, + the placement) removed, the 0.3 rad lean kept
        np.testing.assert_allclose(root_mat(r), rot("x", 0.3), atol=1e-4)
        joints = np.asarray(r["joints"]).reshape(22, 3)
        assert joints[15, 1] > joints[0, 1] + 0.4 and abs(joints[0]).max() < 1e-6
        meta = json.loads(r["meta"])
        assert meta["body"] == "rp_alice_posed_001_0001" and meta["extra_betas"] == [pytest.approx(0.2)]
        assert meta["motion_frame"] == meta["frame"] + 2 and meta["gender"] == "female"
        crop = Image.open(io.BytesIO(r["image"]))
        assert crop.size == (192, 256) and crop.getpixel((96, 128)) == (255, 0, 0)
        tight = crops.tight_box(keypoints(bodies[0], meta["motion_frame"]), 1280, 720)
        box = np.asarray(meta["box"])
        np.testing.assert_allclose((box[:2] + box[2:]) / 2, (tight[:2] + tight[2:]) / 2, atol=1.0)
        assert len(r["shape"]) == 10
    # independent check of the placement: A's pelvis is 3.5 m ahead, 0.1 m below the camera
    assert abs(json.loads(rows[0]["meta"])["box"][0] + json.loads(rows[0]["meta"])["box"][2] - 1280) < 60
    # filters off: B and C come back (C needs >= 2 in-frame points, so only B)
    rows = list(load_dataset("bedlam-raw", root, gt, caption_fn=captions, max_overlap=None))
    assert sorted({r["id"].rsplit(":", 1)[1] for r in rows}) == ["1", "2"]
    # one scene folder as the root: its split is still the folder it sits in (training)
    rows = list(load_dataset("bedlam-raw", root / SCENE, gt, caption_fn=captions, frame_step=1, splits=["train"]))
    assert len(rows) == 3 and {r["split"] for r in rows} == {"train"}  # frames 0, 3, 5
    assert not list(load_dataset("bedlam-raw", root / SCENE, gt, caption_fn=captions, splits=["val"]))


def test_raw_closeup_is_rotated(tmp_path: Path) -> None:
    bodies = [{"name": "rp_dana_posed_004_0004", "pos": (250.0, 0.0, 0.0), "yaw": 90.0, "start": 0,
               "motion": motion([0.0] * 8), "color": (255, 0, 0)}]
    root, gt, _ = write_scene(tmp_path, CLOSEUP, bodies)
    rows = list(load_dataset("bedlam-raw", root, gt, caption_fn=captions))
    assert len(rows) == 2
    for r in rows:
        meta = json.loads(r["meta"])
        box = np.asarray(meta["box"])
        assert meta["closeup"] and box[2] <= 720 and box[3] <= 1280
        crop = Image.open(io.BytesIO(r["image"]))
        assert crop.getpixel((96, 128)) == (255, 0, 0)
        np.testing.assert_allclose(root_mat(r), np.eye(3), atol=1e-4)


def test_raw_bad_inputs(tmp_path: Path) -> None:
    root, gt, bodies = write_scene(tmp_path)
    cam = root / SCENE / "ground_truth" / "camera" / "seq_000000_camera.csv"
    text = cam.read_text()
    cam.unlink()
    with pytest.raises(LoaderError, match=r"seq_000000_camera\.csv.*camera CSV.*not found"):
        list(load_dataset("bedlam-raw", root, gt, caption_fn=captions))
    cam.write_text(text.replace("24.0", "nan", 1))
    with pytest.raises(LoaderError, match=r"seq_000000_camera\.csv: row 0.*'focal_length'.*NaN"):
        list(load_dataset("bedlam-raw", root, gt, caption_fn=captions))
    cam.write_text(text)
    motion_path = gt / "rp_bob_posed_002" / "0002" / "motion_seq.npz"
    good = dict(np.load(motion_path))
    np.savez(motion_path, **{**good, "poses": good["poses"][:, :100]})
    with pytest.raises(LoaderError, match=r"0002/motion_seq\.npz.*'poses'.*\(12, 100\)"):
        list(load_dataset("bedlam-raw", root, gt, caption_fn=captions))
    trans = good["trans"].copy()
    trans[3, 1] = np.nan
    np.savez(motion_path, **{**good, "trans": trans})
    with pytest.raises(LoaderError, match=r"0002/motion_seq\.npz.*'trans'.*NaN"):
        list(load_dataset("bedlam-raw", root, gt, caption_fn=captions))
    motion_path.unlink()
    with pytest.raises(LoaderError, match=r"0002/motion_seq\.npz.*not found"):
        list(load_dataset("bedlam-raw", root, gt, caption_fn=captions))
    root2, gt2, _ = write_scene(tmp_path / "c", comment="start_frame:abc")
    with pytest.raises(LoaderError, match=r"be_seq\.csv: row 1.*'Comment'.*start_frame:abc"):
        list(load_dataset("bedlam-raw", root2, gt2, caption_fn=captions))
    root3, gt3, _ = write_scene(tmp_path / "d", comment="start_frame=x2")
    with pytest.raises(LoaderError, match=r"be_seq\.csv: row 1.*'Comment'.*start_frame=<int>"):
        list(load_dataset("bedlam-raw", root3, gt3, caption_fn=captions))
    with pytest.raises(LoaderError, match=r"no BEDLAM scene folders"):
        list(load_dataset("bedlam-raw", tmp_path / "gt", gt, caption_fn=captions))


class _FakeSmplx:
    """Stands in for SmplxBody: joints = the neutral skeleton scaled by (1 + betas[0]); has ``model``."""

    shape_dim = 10

    class model:  # noqa: N801 (mimics the attribute of SmplxBody)
        v_template = np.array([[0.0, -0.5, 0.0], [0.0, -0.2, 0.0]])
        shapedirs = np.zeros((2, 3, 10))
        J_regressor = np.array([[0.5, 0.5], [1.0, 0.0]])

    def __call__(self, pose: np.ndarray, shape: np.ndarray):  # noqa: ANN204
        j = forward_kinematics(torch.as_tensor(pose)) * (1.0 + torch.as_tensor(shape[:, :1]))[:, :, None]
        return type("Out", (), {"joints": j + 5.0})()  # pelvis anywhere: the loader subtracts it


def test_raw_body_model_and_convert_options(tmp_path: Path) -> None:
    root, gt, _ = write_scene(tmp_path)
    plain = list(load_dataset("bedlam-raw", root, gt, caption_fn=captions, max_overlap=None))
    fat = list(load_dataset("bedlam-raw", root, gt, caption_fn=captions, max_overlap=None, body=_FakeSmplx()))
    assert [r["id"] for r in plain] == [r["id"] for r in fat]
    for a, b in zip(plain, fat):
        np.testing.assert_allclose(a["joints"], b["joints"])  # the row keeps the neutral joints
        box_a, box_b = np.asarray(json.loads(a["meta"])["box"]), np.asarray(json.loads(b["meta"])["box"])
        # betas[0] = 0.2 -> 20% larger skeleton; rest pelvis (0, -0.35, 0) -> about the default one
        assert (box_b[3] - box_b[1]) > 1.1 * (box_a[3] - box_a[1])
    from pose_search.data.convert import convert

    with pytest.raises(ValueError, match="--gt-root is required"):
        convert("bedlam-raw", root, tmp_path / "out")
    manifest = convert("bedlam-raw", root, tmp_path / "out", gt_root=gt, image_root=root)
    assert manifest["counts"]["poses"] == 2

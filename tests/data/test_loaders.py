"""Loaders of real datasets, tested on tiny files written in the real on-disk layouts."""

from __future__ import annotations

import io
import json
import math
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pose_search.data.loaders import (
    LoaderError,
    UnsafePickleError,
    crops,
    load_dataset,
    safe_load_pickle,
    split_rows,
)
from pose_search.data.schema import pair_rows_to_table, pose_rows_to_table
from tests.data.loader_files import (
    amass_poses,
    captions,
    fk,
    png_bytes,
    root_mat,
    rot,
    write_3dpw,
    write_amass,
    write_bedlam,
    write_pe_3dpw,
    write_posefix,
    write_posescript,
)

torch.set_num_threads(1)

# ----------------------------------------------------------------------------- AMASS / PoseScript / PoseFix
@pytest.fixture
def posescript(tmp_path: Path) -> tuple[Path, Path]:
    return write_posescript(tmp_path)


def test_posescript_rows_canonical_and_captioned(posescript: tuple[Path, Path]) -> None:
    ps, amass = posescript
    rows = list(load_dataset("posescript", ps, amass, render_fn=png_bytes, joints_fn=fk))
    table = pose_rows_to_table(rows)
    # every split of the release: train 0-2, val 3, test 5 (4 has no caption: skipped)
    assert table.column("id").to_pylist() == ["posescript:0", "posescript:1", "posescript:2", "posescript:3",
                                              "posescript:5"]
    by_id = {r["id"]: r for r in rows}
    assert by_id["posescript:0"]["captions"] == ["human text zero", "auto 0a", "auto 0b"]
    # shipped captions: the human file's are "human", PoseScript's automatic ones "posescript"
    assert by_id["posescript:0"]["caption_kinds"] == ["human", "posescript", "posescript"]
    assert table.column("caption_kinds").to_pylist()[0] == ["human", "posescript", "posescript"]
    assert by_id["posescript:3"]["split"] == "val" and by_id["posescript:3"]["captions"][0] == "human three"
    assert by_id["posescript:5"]["split"] == "test" and by_id["posescript:5"]["captions"] == ["auto 5"]
    for r in rows:  # upright, heading removed
        joints = np.asarray(r["joints"]).reshape(22, 3)
        assert joints[15, 1] > joints[0, 1] + 0.4 and abs(joints[0]).max() < 1e-6
        assert abs(math.atan2(root_mat(r)[0, 2], root_mat(r)[2, 2])) < 1e-4
    for pid in ("posescript:0", "posescript:1"):  # different AMASS headings, same canonical root
        np.testing.assert_allclose(root_mat(by_id[pid]), np.eye(3), atol=1e-4)
    lean = root_mat(by_id["posescript:2"])  # forward lean about x survives
    np.testing.assert_allclose(lean, rot("x", 0.3), atol=1e-4)
    meta = json.loads(by_id["posescript:2"]["meta"])
    assert meta["model"] == "smplx" and meta["frame"] == 0


def test_posefix_pairs_and_in_sequence_yaw(posescript: tuple[Path, Path]) -> None:
    ps, amass = posescript
    pf = write_posefix(ps)
    rows = list(load_dataset("posefix", pf, amass, render_fn=png_bytes, posescript_dir=ps, joints_fn=fk))
    pose_rows, pair_rows = split_rows(rows)
    poses_t, pairs_t = pose_rows_to_table(pose_rows), pair_rows_to_table(pair_rows)
    ids = set(poses_t.column("id").to_pylist())
    # pair 3 uses pose 4, which has no caption -> skipped; the others reference existing rows
    assert pairs_t.column("pair_id").to_pylist() == ["posefix:0", "posefix:2", "posefix:1", "posefix:4"]
    assert next(r for r in pair_rows if r["pair_id"] == "posefix:4")["split"] == "test"
    for r in pair_rows:
        assert r["a_id"] in ids and r["b_id"] in ids
    p0 = next(r for r in pair_rows if r["pair_id"] == "posefix:0")
    assert p0["b_id"] == "posefix:1~yaw-of:0" and p0["instructions"][0] == "turn right and bend"
    by_id = {r["id"]: r for r in pose_rows}
    # B (AMASS yaw 0.8) keeps its turn relative to A (yaw 0.3); standalone B has none
    np.testing.assert_allclose(root_mat(by_id["posefix:1~yaw-of:0"]), rot("y", 0.5), atol=1e-4)
    np.testing.assert_allclose(root_mat(by_id["posefix:1"]), np.eye(3), atol=1e-4)
    assert by_id["posefix:3~yaw-of:2"]["split"] == "val"
    # with a placeholder caption pose 4 gets a row and pair 3 is kept
    rows = list(load_dataset("posefix", pf, amass, render_fn=png_bytes, posescript_dir=ps, joints_fn=fk,
                             missing_caption="unknown pose"))
    assert "posefix:3" in [r.get("pair_id") for r in rows]
    kinds = {r["id"]: (r["captions"], r["caption_kinds"]) for r in rows if "pair_id" not in r}
    # the placeholder caption has no known kind
    assert [k for k, (c, _) in kinds.items() if c == ["unknown pose"]]
    assert all(ks is None for c, ks in kinds.values() if c == ["unknown pose"])
    assert kinds["posefix:0"][1] == ["human", "posescript", "posescript"]
    pose_rows_to_table(split_rows(rows)[0])


def test_amass_walk_and_bad_inputs(tmp_path: Path) -> None:
    root = tmp_path / "amass"
    write_amass(root, "CMU/01/a_poses.npz", amass_poses([0.1] * 7))
    np.savez(root / "CMU" / "shape.npz", betas=np.zeros(16))
    rows = list(load_dataset("amass", root, caption_fn=captions, render_fn=png_bytes, stride=3, joints_fn=fk))
    assert [r["id"] for r in rows] == ["amass:CMU/01/a_poses.npz:0", "amass:CMU/01/a_poses.npz:3",
                                       "amass:CMU/01/a_poses.npz:6"]
    assert all(r["caption_kinds"] is None for r in rows)  # a plain list of captions: kinds unknown
    pose_rows_to_table(rows)
    # a caption_fn giving texts with kinds (the annotator's): empty texts go, with their kinds
    from pose_search.data.captioning import PoseCaptions

    def kinded(pose: np.ndarray) -> PoseCaptions:
        return PoseCaptions(["a caption", " ", "kneeling, arms up"], ["posescript", "everyday", "query"])

    rows = list(load_dataset("amass", root, caption_fn=kinded, render_fn=png_bytes, stride=3, joints_fn=fk))
    assert rows[0]["captions"] == ["a caption", "kneeling, arms up"]
    assert rows[0]["caption_kinds"] == ["posescript", "query"]
    pose_rows_to_table(rows)
    with pytest.raises(LoaderError, match="2 captions but 1 kinds"):
        list(load_dataset("amass", root, caption_fn=lambda p: PoseCaptions(["a", "b"], ["human"]),
                          render_fn=png_bytes, joints_fn=fk))
    # corrupt npz
    (root / "CMU" / "b_poses.npz").write_bytes(b"not a zip at all")
    with pytest.raises(LoaderError, match=r"b_poses\.npz.*corrupt"):
        list(load_dataset("amass", root, caption_fn=captions, render_fn=png_bytes, joints_fn=fk))
    (root / "CMU" / "b_poses.npz").unlink()
    # wrong-shape poses
    write_amass(root, "CMU/c_poses.npz", np.zeros((4, 60)))
    with pytest.raises(LoaderError, match=r"c_poses\.npz.*'poses'.*\(4, 60\)"):
        list(load_dataset("amass", root, caption_fn=captions, render_fn=png_bytes, joints_fn=fk))
    # NaN
    bad = amass_poses([0.0, 0.0])
    bad[1, 5] = np.nan
    write_amass(root, "CMU/c_poses.npz", bad)
    with pytest.raises(LoaderError, match=r"c_poses\.npz.*'poses'.*NaN"):
        list(load_dataset("amass", root, caption_fn=captions, render_fn=png_bytes, joints_fn=fk))


def test_posescript_missing_sequence_and_files(posescript: tuple[Path, Path]) -> None:
    ps, amass = posescript
    (amass / "CMU" / "01" / "01_01_poses.npz").unlink()
    with pytest.raises(LoaderError, match=r"ids_2_dataset.*pose 0.*01_01_poses\.npz"):
        list(load_dataset("posescript", ps, amass, render_fn=png_bytes, joints_fn=fk))
    with pytest.raises(LoaderError, match=r"ids_2_dataset_sequence_and_frame_index_20k\.json.*not found"):
        list(load_dataset("posescript", ps, amass, render_fn=png_bytes, version="20k"))
    with pytest.raises(ValueError, match="unknown dataset kind"):
        load_dataset("h36m", ps)


# ----------------------------------------------------------------------------- crops
def test_crop_math() -> None:
    box = crops.enlarge_box(np.array([100.0, 100.0, 130.0, 140.0]), 1.1, 1280, 720)
    np.testing.assert_allclose(box, [97.5, 97.5, 132.5, 142.5])  # diag 50 -> 2.5 px per side
    np.testing.assert_allclose(crops.enlarge_box(np.array([0, 0, 30, 40]), 1.1, 1280, 720)[:2], [0, 0])
    assert crops.overlap_ratio(np.array([0, 0, 10, 10]), np.array([5, 0, 20, 10])) == pytest.approx(0.5)
    wide = crops.pad_to_aspect(Image.new("RGB", (300, 100), (255, 0, 0)))
    assert wide.size == (300, 400) and wide.getpixel((150, 10)) == (0, 0, 0)
    img = Image.new("RGB", (640, 480), (0, 0, 255))
    img.paste((255, 0, 0), (200, 100, 300, 400))
    out = crops.crop_person(img, np.array([200, 100, 300, 400]))
    assert out.size == (192, 256)
    assert out.getpixel((96, 128))[0] > 200 and out.getpixel((2, 128)) == (0, 0, 0)


# ----------------------------------------------------------------------------- BEDLAM
def test_bedlam_filters_and_crops(tmp_path: Path) -> None:
    people = [((300, 100, 500, 600), 3.0, 0),   # kept
              ((350, 150, 520, 650), 5.0, 0),   # behind person 0, mostly covered -> overlap30
              ((900, 300, 960, 400), 8.0, 0),   # small -> res224
              ((700, 100, 1000, 650), 4.0, 12),  # 12 body joints off-frame -> j16
              ((1000, 50, 1250, 700), 2.0, 0)]  # in front, no overlap -> kept
    labels, images = write_bedlam(tmp_path, "20221010_3_1000_batch01hand_6fps", people, (1280, 720),
                                  [0.0, 0.5, 1.0, 1.5, 2.0])
    rows = list(load_dataset("bedlam", labels, images, caption_fn=captions, joints_fn=fk))
    assert [r["id"] for r in rows] == ["bedlam:20221010_3_1000_batch01hand_6fps:0",
                                       "bedlam:20221010_3_1000_batch01hand_6fps:4"]
    table = pose_rows_to_table(rows)
    assert set(table.column("split").to_pylist()) == {"train"}
    crop = Image.open(io.BytesIO(rows[0]["image"]))
    assert crop.size == (192, 256) and crop.getpixel((96, 128))[0] > 200
    np.testing.assert_allclose(root_mat(rows[1]), np.eye(3), atol=1e-4)  # yaw 2.0 removed
    assert len(rows[0]["shape"]) == 10 and json.loads(rows[0]["meta"])["extra_betas"] == [0.5]
    # filters off: everybody with >= 2 in-frame points is kept
    rows = list(load_dataset("bedlam", labels, images, caption_fn=captions, joints_fn=fk, max_overlap=None,
                             min_joints_in_frame=0, min_box_size=0))
    assert len(rows) == 5


def test_bedlam_closeup_and_bad_labels(tmp_path: Path) -> None:
    labels, images = write_bedlam(tmp_path, "20221019_3-8_250_highbmihand_closeup_6fps",
                                  [((100, 200, 600, 1200), 2.0, 0)], (720, 1280), [0.3])
    rows = list(load_dataset("bedlam", labels, images, caption_fn=captions, joints_fn=fk))
    crop = Image.open(io.BytesIO(rows[0]["image"]))
    assert crop.size == (192, 256) and crop.getpixel((96, 128))[0] > 200
    path = labels / "20221019_3-8_250_highbmihand_closeup_6fps.npz"
    data = dict(np.load(path))
    data["pose_world"] = data["pose_world"][:, :100]
    np.savez(path, **data)
    with pytest.raises(LoaderError, match=r"closeup_6fps\.npz.*'pose_world'"):
        list(load_dataset("bedlam", labels, images, caption_fn=captions, joints_fn=fk))


# ----------------------------------------------------------------------------- 3DPW
def test_3dpw_rows(tmp_path: Path) -> None:
    write_3dpw(tmp_path, [0.0, 0.4, -1.0], valid_last=True)
    rows = list(load_dataset("3dpw", tmp_path, caption_fn=captions, joints_fn=fk))
    # person 1 is off-frame (j16), frame 2 of person 0 has an invalid camera pose
    assert [r["id"] for r in rows] == ["3dpw:courtyard_basketball_00:0:0", "3dpw:courtyard_basketball_00:0:1"]
    pose_rows_to_table(rows)
    for r in rows:
        np.testing.assert_allclose(root_mat(r), np.eye(3), atol=1e-4)
        joints = np.asarray(r["joints"]).reshape(22, 3)
        assert joints[15, 1] > joints[0, 1] + 0.4
        assert Image.open(io.BytesIO(r["image"])).size == (192, 256)
        assert r["split"] == "test"
    (tmp_path / "imageFiles" / "courtyard_basketball_00" / "image_00001.jpg").unlink()
    with pytest.raises(LoaderError, match=r"image_00001\.jpg.*not found"):
        list(load_dataset("3dpw", tmp_path, caption_fn=captions, joints_fn=fk))


class _Evil:
    def __reduce__(self):  # noqa: ANN204
        return (os.system, ("echo pwned",))


def test_safe_pickle_refuses_code(tmp_path: Path) -> None:
    path = write_3dpw(tmp_path, [0.0, 0.0, 0.0])
    data = safe_load_pickle(path)
    assert data["sequence"] == "courtyard_basketball_00" and data["poses"][0].shape == (3, 72)
    evil = tmp_path / "sequenceFiles" / "test" / "evil.pkl"
    evil.write_bytes(pickle.dumps({"poses": _Evil()}))
    with pytest.raises(UnsafePickleError, match=r"evil\.pkl.*refusing.*system"):
        safe_load_pickle(evil)
    with pytest.raises(UnsafePickleError, match=r"evil\.pkl"):
        list(load_dataset("3dpw", tmp_path, caption_fn=captions, joints_fn=fk))
    with pytest.raises(FileNotFoundError, match=r"nope\.pkl"):
        safe_load_pickle(tmp_path / "nope.pkl")
    evil.unlink()
    seq = safe_load_pickle(path)
    del seq["jointPositions"]
    path.write_bytes(pickle.dumps(seq, protocol=5))  # protocol 5 numpy pickles load too
    with pytest.raises(LoaderError, match=r"courtyard_basketball_00\.pkl.*'jointPositions'"):
        list(load_dataset("3dpw", tmp_path, caption_fn=captions, joints_fn=fk))


def test_bedlam_select_people_reasons() -> None:
    from pose_search.data.loaders.bedlam import select_people

    boxes = [np.array([300.0, 100, 500, 600]), np.array([350.0, 150, 520, 650]),
             np.array([900.0, 300, 960, 400]), None, np.array([310.0, 110, 490, 590])]
    out = select_people(boxes, np.array([3.0, 5.0, 8.0, 4.0, 2.5]), np.array([22, 22, 22, 3, 22]),
                        (1280, 720))
    # person 0 is behind person 4 (which covers > 30% of it), 1 behind 0, 2 small, 3 off-frame
    assert [r for _, r in out] == ["overlap30", "overlap30", "res224", "j16", None]
    with pytest.raises(LoaderError, match="trans_cam"):
        select_people(boxes, None, np.full(5, 22), (1280, 720))


def test_default_joints_fn_is_the_skeleton(posescript: tuple[Path, Path]) -> None:
    pytest.importorskip("pose_search.body.skeleton")
    ps, amass = posescript
    rows = list(load_dataset("posescript", ps, amass, render_fn=png_bytes, splits=("val",)))
    joints = np.asarray(rows[0]["joints"]).reshape(22, 3)
    assert joints[15, 1] > joints[0, 1] + 0.3 and abs(joints[0]).max() < 1e-6


# ----------------------------------------------------------------------------- 3DPW: overlap30, PoseEmbroider pickle
def test_3dpw_overlap30_drops_the_person_behind(tmp_path: Path) -> None:
    path = write_3dpw(tmp_path, [0.0, 0.4, -1.0])
    seq = safe_load_pickle(path)
    joints = np.zeros((2, 3, 24, 3))
    joints[..., 0] = np.linspace(-0.3, 0.3, 24)
    joints[..., 1] = np.linspace(-0.9, 0.8, 24)
    joints[0, ..., 2] = 4.0  # in front
    joints[1, ..., 0] += 0.1  # behind, fully inside person 0's box
    joints[1, ..., 2] = 6.0
    seq["jointPositions"] = list(joints.reshape(2, 3, 72))
    path.write_bytes(pickle.dumps(seq, protocol=2))
    rows = list(load_dataset("3dpw", tmp_path, caption_fn=captions, joints_fn=fk))
    assert [r["id"].rsplit(":", 2)[1] for r in rows] == ["0", "0", "0"]
    rows = list(load_dataset("3dpw", tmp_path, caption_fn=captions, joints_fn=fk, max_overlap=None))
    assert sorted(r["id"].rsplit(":", 2)[1] for r in rows) == ["0", "0", "0", "1", "1", "1"]
    assert json.loads(rows[0]["meta"])["max_overlap"] is None


def test_3dpw_poseembroider_pickle(tmp_path: Path) -> None:
    path = write_pe_3dpw(tmp_path)
    rows = list(load_dataset("3dpw", tmp_path, caption_fn=captions, joints_fn=fk))
    # image 1: human 1 is behind human 0 (overlap30), human 2 is off-frame (j16)
    assert [r["id"] for r in rows] == ["3dpw:imageFiles/courtyard_dancing_00/image_00000.jpg:0",
                                       "3dpw:imageFiles/courtyard_dancing_00/image_00001.jpg:0"]
    pose_rows_to_table(rows)
    np.testing.assert_allclose(root_mat(rows[0]), rot("x", 0.25), atol=1e-4)  # yaw removed, lean kept
    np.testing.assert_allclose(root_mat(rows[1]), np.eye(3), atol=1e-4)
    for r in rows:
        joints = np.asarray(r["joints"]).reshape(22, 3)
        assert joints[15, 1] > joints[0, 1] + 0.4
        crop = Image.open(io.BytesIO(r["image"]))
        red = crop.getpixel((96, 128))
        assert crop.size == (192, 256) and red[0] > 200 and red[1] < 50  # JPEG source
        meta = json.loads(r["meta"])
        assert meta["layout"] == "poseembroider" and meta["focal"] == [1500.0, 1500.0]
        assert r["split"] == "test" and len(r["shape"]) == 10 and meta["extra_betas"] == [pytest.approx(0.1)]
    box = np.asarray(json.loads(rows[0]["meta"])["box"])  # tight box x1.3 (clipped at the image)
    margin = 0.3 * math.hypot(400, 1100) / 2
    np.testing.assert_allclose(box, [300 - margin, 400 - margin, 700 + margin, 1500 + margin], atol=1e-6)
    # the file itself as root; filters off
    rows = list(load_dataset("3dpw", path, caption_fn=captions, joints_fn=fk, max_overlap=None,
                             min_joints_in_frame=0))
    assert len(rows) == 3
    with pytest.raises(LoaderError, match=r"3dpw_train\.pkl.*not found"):
        list(load_dataset("3dpw", tmp_path, caption_fn=captions, splits=("train",), layout="poseembroider"))


def test_3dpw_poseembroider_bad_inputs(tmp_path: Path) -> None:
    path = write_pe_3dpw(tmp_path)
    data = safe_load_pickle(path)
    img = "imageFiles/courtyard_dancing_00/image_00001.jpg"
    data[img]["humans"][1]["smplx_body_pose"] = np.zeros(60)
    path.write_bytes(pickle.dumps(data))
    with pytest.raises(LoaderError, match=r"3dpw_test\.pkl: image .*image_00001\.jpg.*human 1.*'smplx_body_pose'"):
        list(load_dataset("3dpw", tmp_path, caption_fn=captions, joints_fn=fk))
    data[img]["humans"][1]["smplx_body_pose"] = np.zeros(63)
    data[img]["humans"][0]["smplx_root_pose"] = np.array([0.0, np.nan, 0.0])
    path.write_bytes(pickle.dumps(data))
    with pytest.raises(LoaderError, match=r"image_00001\.jpg.*human 0.*'smplx_root_pose'.*NaN"):
        list(load_dataset("3dpw", tmp_path, caption_fn=captions, joints_fn=fk))
    data[img] = {"focal": 1.0, "humans": "nobody"}
    path.write_bytes(pickle.dumps(data))
    with pytest.raises(LoaderError, match=r"image_00001\.jpg.*'humans' must be a list"):
        list(load_dataset("3dpw", tmp_path, caption_fn=captions, joints_fn=fk))
    path.write_bytes(pickle.dumps({"x": _Evil()}))
    with pytest.raises(UnsafePickleError, match=r"3dpw_test\.pkl.*refusing"):
        list(load_dataset("3dpw", tmp_path, caption_fn=captions, joints_fn=fk))

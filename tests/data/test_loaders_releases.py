"""Each source converted from a tree laid out as its owners ship it (the release's names, members,
dtypes and quirks), every split, rows counted and checked against the source values."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pose_search.data.loaders import LoaderError, load_dataset, safe_load_pickle, split_rows
from pose_search.data.loaders.common import LoadReport
from pose_search.data.schema import pair_rows_to_table, pose_rows_to_table
from tests.data.loader_files import (
    SCENE,
    captions,
    fk,
    png_bytes,
    root_mat,
    rot,
    write_3dpw,
    write_amass,
    write_amass_mixed,
    write_bedlam,
    write_posefix,
    write_posescript,
    write_scene,
)

torch.set_num_threads(1)


def _red_centre(image: bytes) -> bool:
    crop = Image.open(io.BytesIO(image))
    r, g, b = crop.convert("RGB").getpixel((96, 128))
    return crop.size == (192, 256) and r > 200 and g < 60 and b < 60


# ----------------------------------------------------------------------------- AMASS SMPL-X G + SMPL+H
def test_amass_mixed_smplx_g_and_smplh_tree(tmp_path: Path) -> None:
    root = tmp_path / "amass"
    source = write_amass_mixed(root)
    report = LoadReport()
    rows = list(load_dataset("amass", root, caption_fn=captions, render_fn=png_bytes, stride=1, joints_fn=fk,
                             report=report))
    # 4 + 2 SMPL-X G stage-ii frames + 3 SMPL+H frames; the stage-i file and shape.npz skipped, counted
    assert len(rows) == 9 and not report.warnings
    assert report.skipped == {"SMPL-X stage-i file (*_stagei.npz: body shape, no frames)": 1,
                              "body shape file (shape.npz)": 1}
    pose_rows_to_table(rows)
    for r in rows:
        _, rel, frame = r["id"].rsplit(":", 2)
        raw = source[rel][int(frame)]
        # body joints are the source's to float precision; the root is the lean once the heading is gone
        np.testing.assert_allclose(np.asarray(r["pose"])[3:], raw[3:66], atol=1e-6)
        lean = 0.2 if "Sway" in rel else 0.0 if "Stand" in rel else 0.1
        np.testing.assert_allclose(root_mat(r), rot("x", lean), atol=1e-5)
        meta = json.loads(r["meta"])
        smplx = rel.endswith("_stageii.npz")
        assert meta["model"] == ("smplx" if smplx else "smplh") and meta["fps"] == 120.0
        assert meta["gender"] == ("male" if smplx else "female")  # 0-d str and 0-d bytes genders
        assert meta["source_betas"][0] == pytest.approx(0.3 if smplx else 0.1)
        assert r["shape"] == [0.0] * 10
    assert "amass:ACCAD/Female1General_c3d/A2 - Sway_stageii.npz:3" in {r["id"] for r in rows}


def test_amass_needed_member_pickled_is_refused_by_name(tmp_path: Path) -> None:
    root = tmp_path / "amass"
    path = write_amass(root, "ACCAD/S1/a_stageii.npz", np.zeros((2, 165)), smplx=True)
    members = dict(np.load(path, allow_pickle=True))
    members["poses"] = np.array([{"frame": 0}], dtype=object)
    np.savez(path, **members)
    with pytest.raises(LoaderError, match=r"a_stageii\.npz.*'poses'.*pickled"):
        list(load_dataset("amass", root, caption_fn=captions, render_fn=png_bytes, joints_fn=fk))


def test_amass_given_bedlam_motions_warns_they_lie_flat(tmp_path: Path) -> None:
    _, gt, _ = write_scene(tmp_path)  # BEDLAM's y-up motion_seq.npz files, not AMASS
    report = LoadReport()
    rows = list(load_dataset("amass", gt, caption_fn=captions, render_fn=png_bytes, stride=4, joints_fn=fk,
                             report=report))
    assert rows and len(report.warnings) == 1
    assert "lie flat" in report.warnings[0] and "bedlam-raw" in report.warnings[0]
    joints = np.asarray(rows[0]["joints"]).reshape(22, 3)
    assert abs(joints[15, 1] - joints[0, 1]) < 0.2  # the head is level with the pelvis: lying


# ----------------------------------------------------------------------------- 3DPW
def _write_3dpw_release(root: Path) -> dict[str, Path]:
    return {"train": write_3dpw(root, [0.0, 0.5, 1.0, -0.4], split="train", name="courtyard_arguing_00",
                                lean=0.25, no_2d=(1,)),
            "val": write_3dpw(root, [0.3, 0.1, 0.2], split="val", name="courtyard_drinking_00", lean=0.25,
                              valid_last=True),
            "test": write_3dpw(root, [1.0, 2.0], split="test", name="downtown_bar_00", lean=0.25)}


def test_3dpw_release_every_split(tmp_path: Path) -> None:
    files = _write_3dpw_release(tmp_path)
    report = LoadReport()
    rows = list(load_dataset("3dpw", tmp_path, caption_fn=captions, joints_fn=fk, report=report))
    # person 1 is off-frame everywhere; train frame 1 has no 2D keypoints; val frame 2 an invalid camera
    assert report.skipped == {"3DPW people-frames: no 2D keypoints": 1, "3DPW people-frames: invalid camera": 1,
                              "3DPW people-frames: j16": 9}
    assert [r["id"] for r in rows] == [
        "3dpw:courtyard_arguing_00:0:0", "3dpw:courtyard_arguing_00:0:2", "3dpw:courtyard_arguing_00:0:3",
        "3dpw:courtyard_drinking_00:0:0", "3dpw:courtyard_drinking_00:0:1",
        "3dpw:downtown_bar_00:0:0", "3dpw:downtown_bar_00:0:1"]
    assert [r["split"] for r in rows] == ["train"] * 3 + ["val"] * 2 + ["test"] * 2
    pose_rows_to_table(rows)
    for r in rows:
        name, _, frame = r["id"].split(":")[1:]
        split = r["split"]
        seq = safe_load_pickle(files[split])
        assert seq["sequence"] == name
        t = int(frame)
        np.testing.assert_allclose(np.asarray(r["pose"])[3:], seq["poses"][0][t, 3:66], atol=1e-6)
        np.testing.assert_allclose(root_mat(r), rot("x", 0.25), atol=1e-5)  # camera frame, heading removed
        meta = json.loads(r["meta"])
        assert meta["img_frame_id"] == 10 + 2 * t and meta["frame"] == t  # image_{t:05d}.jpg, not the 60 Hz id
        assert meta["source_betas"] == [0.5] * 10 and meta["gender"] == "m"
        assert _red_centre(r["image"])
    rows = list(load_dataset("3dpw", tmp_path, caption_fn=captions, joints_fn=fk, splits=["val", "test"]))
    assert {r["split"] for r in rows} == {"val", "test"} and len(rows) == 4
    # images kept elsewhere: image_root is the folder holding imageFiles/
    shutil.move(tmp_path / "imageFiles", tmp_path / "elsewhere" / "imageFiles")
    with pytest.raises(LoaderError, match=r"image_00000\.jpg.*not found"):
        list(load_dataset("3dpw", tmp_path, caption_fn=captions, joints_fn=fk, splits=["test"]))
    moved = list(load_dataset("3dpw", tmp_path, caption_fn=captions, joints_fn=fk, splits=["test"],
                              image_root=tmp_path / "elsewhere"))
    assert [r["image"] for r in moved] == [r["image"] for r in rows if r["split"] == "test"]


def test_3dpw_wrong_roots(tmp_path: Path) -> None:
    files = _write_3dpw_release(tmp_path)
    with pytest.raises(LoaderError, match=r"downtown_bar_00\.pkl: this is one 3DPW sequence file.*sequenceFiles/"):
        list(load_dataset("3dpw", files["test"], caption_fn=captions, joints_fn=fk))
    with pytest.raises(LoaderError, match=r"no 3DPW split found"):
        list(load_dataset("3dpw", tmp_path / "imageFiles", caption_fn=captions, joints_fn=fk))
    shutil.rmtree(tmp_path / "sequenceFiles" / "train")
    with pytest.raises(LoaderError, match=r"sequenceFiles/train: 3DPW sequence folder not found"):
        list(load_dataset("3dpw", tmp_path, caption_fn=captions, joints_fn=fk, splits=["train"]))


# ----------------------------------------------------------------------------- PoseFix
def test_posefix_release_takes_pose_captions_from_posescript(tmp_path: Path) -> None:
    ps, amass = write_posescript(tmp_path)
    pf = write_posefix(ps)
    with pytest.raises(LoaderError, match=r"posefix: no PoseScript caption files.*PoseScript release.*--posescript-root"):
        list(load_dataset("posefix", pf, amass, render_fn=png_bytes, joints_fn=fk))
    report = LoadReport()
    rows = list(load_dataset("posefix", pf, amass, render_fn=png_bytes, joints_fn=fk, posescript_dir=ps,
                             report=report))
    poses, pairs = split_rows(rows)
    pose_rows_to_table(poses), pair_rows_to_table(pairs)
    assert sorted(p["split"] for p in pairs) == ["test", "train", "train", "val"]  # every split
    assert report.skipped == {"PoseFix pairs: no pose caption": 1}
    ids = json.loads((ps / "ids_2_dataset_sequence_and_frame_index_100k.json").read_text())
    by_id = {r["id"]: r for r in poses}
    for pid in ("0", "2"):  # values against the AMASS source frame the id names
        dataset, seq, frame = ids[pid]
        path = amass / (seq if seq.startswith(dataset) else f"{dataset}/{seq}")
        raw = np.load(path)["poses"][frame]
        np.testing.assert_allclose(np.asarray(by_id[f"posefix:{pid}"]["pose"])[3:], raw[3:66], atol=1e-6)
    assert by_id["posefix:0"]["captions"][0] == "human text zero"


# ----------------------------------------------------------------------------- raw BEDLAM
def test_bedlam_raw_training_and_validation_with_one_image_root(tmp_path: Path) -> None:
    images = tmp_path / "bedlam images"  # a space in the path, as users have them
    train_root, gt, bodies = write_scene(tmp_path, images=images)
    write_scene(tmp_path, scene="20221011_1_250_batch01hand_6fps", split="validation",
                images=images)
    root = train_root.parent  # bedlam/{training,validation}
    rows = list(load_dataset("bedlam-raw", root, gt, caption_fn=captions, image_root=images))
    assert [r["split"] for r in rows].count("train") == 2 and len(rows) > 2
    assert {r["split"] for r in rows} == {"train", "val"}
    pose_rows_to_table(rows)
    motion = bodies[0]["motion"]
    for r in (r for r in rows if r["split"] == "train"):
        meta = json.loads(r["meta"])
        np.testing.assert_allclose(np.asarray(r["pose"])[3:], motion["poses"][meta["motion_frame"], 3:66], atol=1e-6)
        np.testing.assert_allclose(r["shape"], motion["betas"][:10])
        assert r["image"] and Image.open(io.BytesIO(r["image"])).getpixel((96, 128)) == (255, 0, 0)
    val = list(load_dataset("bedlam-raw", root, gt, caption_fn=captions, image_root=images, splits=["validation"]))
    assert val and {r["split"] for r in val} == {"val"} and [r["id"] for r in val] == [
        r["id"] for r in rows if r["split"] == "val"]
    # the scene folders alone (no split folders above them): the split comes from the images' folder
    flat = tmp_path / "csv"
    for scene in root.glob("*/*"):
        shutil.copytree(scene, flat / scene.name)
    again = list(load_dataset("bedlam-raw", flat, gt, caption_fn=captions, image_root=images))
    assert [(r["id"], r["split"]) for r in again] == [(r["id"], r["split"]) for r in rows]
    # only the training images downloaded: --split train still works, everything else names the folder
    shutil.rmtree(images / "validation")
    train = list(load_dataset("bedlam-raw", flat, gt, caption_fn=captions, image_root=images, splits=["train"]))
    assert [r["id"] for r in train] == [r["id"] for r in rows if r["split"] == "train"]
    with pytest.raises(LoaderError, match=r"20221011_1_250_batch01hand_6fps/png/seq_000000: image folder.*not found"):
        list(load_dataset("bedlam-raw", flat, gt, caption_fn=captions, image_root=images))


def test_bedlam_processed_splits_from_folders_and_raw_tree_hint(tmp_path: Path) -> None:
    labels, images = write_bedlam(tmp_path, "20221010_3_1000_batch01hand_6fps", [((300, 100, 500, 600), 3.0, 0)],
                                  (1280, 720), [0.4])
    rows = list(load_dataset("bedlam", labels.parent, images, caption_fn=captions, joints_fn=fk))
    assert [r["split"] for r in rows] == ["train"]  # bedlam_labels/training/<scene>.npz
    assert not list(load_dataset("bedlam", labels.parent, images, caption_fn=captions, joints_fn=fk, splits=["val"]))
    root, _, _ = write_scene(tmp_path)
    with pytest.raises(LoaderError, match=r"raw layout \(be_seq\.csv\).*bedlam-raw"):
        list(load_dataset("bedlam", root.parent, root.parent, caption_fn=captions))
    assert SCENE in {p.name for p in root.iterdir()}

"""Small files in the real on-disk layouts of the datasets the loaders read (AMASS, PoseScript,
PoseFix, BEDLAM processed labels, raw BEDLAM scenes, 3DPW sequence files and PoseEmbroider's 3DPW
pickle), written by the tests themselves. Shared by the loader tests and the reliability suite,
which breaks these files in generated ways."""

from __future__ import annotations

import csv
import io
import json
import math
import pickle
import struct
from pathlib import Path

import numpy as np
import roma
import torch
from PIL import Image

from pose_search.body.convention import global_rotations
from pose_search.body.skeleton import forward_kinematics
from pose_search.data.loaders import crops
from pose_search.data.loaders.bedlam_raw import (
    SMPLX_PELVIS_REST,
    body_to_unreal,
    project_unreal,
    rotate_cw,
    unreal_axes,
)

# rest joints of a rough neutral body in the canonical frame (+y up, faces +z, +x = body's left)
REST = np.array([
    [0, 0, 0], [0.06, -0.09, 0], [-0.06, -0.09, 0], [0, 0.1, 0], [0.1, -0.45, 0], [-0.1, -0.45, 0],
    [0, 0.25, 0], [0.1, -0.85, 0], [-0.1, -0.85, 0], [0, 0.3, 0], [0.1, -0.9, 0.1], [-0.1, -0.9, 0.1],
    [0, 0.5, 0], [0.07, 0.45, 0], [-0.07, 0.45, 0], [0, 0.6, 0.02], [0.17, 0.45, 0], [-0.17, 0.45, 0],
    [0.45, 0.45, 0], [-0.45, 0.45, 0], [0.7, 0.45, 0], [-0.7, 0.45, 0]], dtype=np.float32)
PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)


def fk(poses: np.ndarray) -> np.ndarray:
    """Test skeleton: (B, 22, 3) axis-angle -> (B, 22, 3) joints, pelvis at the origin."""
    rots = global_rotations(torch.as_tensor(poses, dtype=torch.float32)).numpy()
    out = np.zeros(poses.shape, np.float32)
    for j in range(1, 22):
        p = PARENTS[j]
        out[:, j] = out[:, p] + np.einsum("bij,j->bi", rots[:, p], REST[j] - REST[p])
    return out


def rotvec(m: np.ndarray) -> np.ndarray:
    return roma.rotmat_to_rotvec(torch.as_tensor(m, dtype=torch.float64)).numpy()


def rot(axis: str, a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return {"x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
            "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
            "z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])}[axis]


def png_bytes(pose: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (192, 256), (int(abs(pose[0, 0]) * 50) % 255, 0, 0)).save(buf, "PNG")
    return buf.getvalue()


def captions(pose: np.ndarray) -> list[str]:
    return ["a person standing"]


def root_mat(row: dict) -> np.ndarray:
    return roma.rotvec_to_rotmat(torch.as_tensor(np.asarray(row["pose"][:3], dtype=np.float64))).numpy()


def amass_poses(yaws: list[float], lean: float = 0.0, dim: int = 156) -> np.ndarray:
    """Standing z-up AMASS frames (heading ``yaws``), body leaning ``lean`` rad forward."""
    out = np.zeros((len(yaws), dim))
    for t, yaw in enumerate(yaws):
        out[t, :3] = rotvec(rot("z", yaw) @ rot("x", math.pi / 2) @ rot("x", lean))
        out[t, 3 * 4] = 0.2  # bend the left knee a bit
    return out


def write_amass(root: Path, rel: str, poses: np.ndarray, smplx: bool = False) -> Path:
    """An AMASS motion file: SMPL+H (``*_poses.npz``, bytes gender as some subsets have it) or the
    members of an SMPL-X G stage-ii file (``*_stageii.npz``), object members included."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if smplx:
        np.savez(path, **stageii_members(poses))
    else:
        np.savez(path, poses=poses, trans=np.zeros((len(poses), 3)), betas=np.ones(16) * 0.1,
                 mocap_framerate=np.array(120.0), gender=np.array(b"female"), dmpls=np.zeros((len(poses), 8)))
    return path


MARKERS = ["C7", "CLAV", "LFHD", "RFHD"]


def stageii_members(poses: np.ndarray) -> dict[str, np.ndarray]:
    """The members of an AMASS SMPL-X G ``*_stageii.npz`` (MoSh++ output), in their dtypes:
    ``markers_latent_vids`` is a pickled dict (an object array), ``gender`` a 0-d str array."""
    t = len(poses)
    return {"gender": np.array("male"), "surface_model_type": np.array("smplx"),
            "mocap_frame_rate": np.array(120.0), "mocap_time_length": np.array(t / 120.0),
            "markers_latent": np.zeros((len(MARKERS), 3)), "latent_labels": np.array(MARKERS),
            "markers_latent_vids": np.array({m: i * 100 for i, m in enumerate(MARKERS)}, dtype=object),
            "trans": np.zeros((t, 3)), "poses": poses, "betas": np.full(16, 0.3), "num_betas": np.array(16),
            "root_orient": poses[:, :3], "pose_body": poses[:, 3:66], "pose_hand": poses[:, 75:165],
            "pose_jaw": poses[:, 66:69], "pose_eye": poses[:, 69:75]}


def write_amass_stagei(root: Path, rel: str) -> Path:
    """A per-subject SMPL-X G ``*_stagei.npz``: body shape and markers, no frames, object members."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, gender=np.array("female"), surface_model_type=np.array("smplx"), betas=np.full(16, 0.3),
             num_betas=np.array(16), markers_latent=np.zeros((len(MARKERS), 3)), latent_labels=np.array(MARKERS),
             markers_latent_vids=np.array({m: i for i, m in enumerate(MARKERS)}, dtype=object),
             stagei_debug_details=np.array({"stagei_errs": {"data": 1.0}}, dtype=object))
    return path


def write_amass_mixed(root: Path) -> dict[str, np.ndarray]:
    """A tree mixing AMASS SMPL+H and SMPL-X G downloads (names with spaces, as ACCAD has them),
    a stage-i file per SMPL-X subject and a ``shape.npz``; returns rel path -> z-up poses."""
    files = {"ACCAD/Female1General_c3d/A2 - Sway_stageii.npz": (amass_poses([0.2, 0.6, 1.0, 1.4], 0.2, 165), True),
             "ACCAD/Female1General_c3d/A1 - Stand_stageii.npz": (amass_poses([-1.0, -0.5], 0.0, 165), True),
             "CMU/01/01_01_poses.npz": (amass_poses([0.0, 0.3, 0.8], 0.1), False)}
    for rel, (poses, smplx) in files.items():
        write_amass(root, rel, poses, smplx=smplx)
    write_amass_stagei(root, "ACCAD/Female1General_c3d/female_stagei.npz")
    np.savez(root / "CMU" / "01" / "shape.npz", betas=np.zeros(16), gender=np.array(b"male"))
    return {rel: poses for rel, (poses, _) in files.items()}

# ----------------------------------------------------------------------------- AMASS / PoseScript / PoseFix
def write_posescript(tmp_path: Path) -> tuple[Path, Path]:
    """A PoseScript release folder (6 pose ids in train / val / test; id 4 has no caption) over 2
    AMASS sequences; (posescript, amass)."""
    amass = tmp_path / "amass"
    write_amass(amass, "CMU/01/01_01_poses.npz", amass_poses([0.0, 0.3, 0.8, 1.5, 2.5]))
    write_amass(amass, "BMLmovi/S1/S1_poses.npz", amass_poses([-2.0, 1.0], lean=0.3, dim=165), smplx=True)
    ps = tmp_path / "posescript"
    ps.mkdir()
    ids = {"0": ["CMU", "01/01_01_poses.npz", 1], "1": ["CMU", "CMU/01/01_01_poses.npz", 2],
           "2": ["BMLmovi", "BMLmovi/S1/S1_poses.npz", 0], "3": ["BMLmovi", "S1/S1_poses.npz", 1],
           "4": ["CMU", "CMU/01/01_01_poses.npz", 4], "5": ["CMU", "CMU/01/01_01_poses.npz", 3]}
    (ps / "ids_2_dataset_sequence_and_frame_index_100k.json").write_text(json.dumps(ids))
    (ps / "train_ids_100k.json").write_text(json.dumps([0, 1, 2]))
    (ps / "val_ids_100k.json").write_text(json.dumps([3]))
    (ps / "test_ids_100k.json").write_text(json.dumps([4, 5]))
    (ps / "posescript_human_6293.json").write_text(json.dumps({"0": "human text zero", "3": "human three"}))
    (ps / "posescript_auto_100k.json").write_text(json.dumps(
        {"0": ["auto 0a", "auto 0b"], "1": ["auto 1"], "2": ["auto 2"], "3": ["auto 3"], "5": ["auto 5"]}))
    return ps, amass


def write_posefix(ps: Path) -> Path:
    """A PoseFix release folder beside ``ps`` (the PoseScript folder of :func:`write_posescript`):
    pair index, split files, instructions and the pose id file, but no pose captions (those ship
    with the PoseScript release)."""
    pf = ps.parent / "posefix"
    pf.mkdir()
    ids = "ids_2_dataset_sequence_and_frame_index_100k.json"  # the PoseFix release ships it too
    (pf / ids).write_text((ps / ids).read_text())
    (pf / "pair_id_2_pose_ids.json").write_text(json.dumps([[0, 1], [2, 3], [1, 2], [3, 4], [5, 0]]))
    (pf / "train_out_sequence_pair_ids.json").write_text(json.dumps([2]))
    (pf / "val_in_sequence_pair_ids.json").write_text(json.dumps([1]))
    for name in ("val_out", "test_in"):
        (pf / f"{name}_sequence_pair_ids.json").write_text("[]")
    (pf / "test_out_sequence_pair_ids.json").write_text(json.dumps([4]))
    (pf / "train_in_sequence_pair_ids.json").write_text(json.dumps([0, 3]))
    (pf / "posefix_human_6157.json").write_text(json.dumps({"0": "turn right and bend"}))
    (pf / "posefix_auto_135305.json").write_text(json.dumps({"0": ["a0"], "1": ["a1"], "2": ["a2"], "3": ["a3"],
                                                             "4": ["a4"]}))
    return pf


# ----------------------------------------------------------------------------- BEDLAM
def kps_in_box(box: tuple[float, float, float, float], n_out: int = 0) -> np.ndarray:
    """127 keypoints (x, y, conf) spread over ``box``; the first ``n_out`` pushed off-frame."""
    rng = np.random.default_rng(0)
    x0, y0, x1, y1 = box
    k = np.stack([rng.uniform(x0, x1, 127), rng.uniform(y0, y1, 127), np.ones(127)], 1)
    k[:4, :2] = [[x0, y0], [x1, y1], [x0, y1], [x1, y0]]
    k[:n_out, 0] = -50.0
    return k


def write_bedlam(tmp_path: Path, scene: str, people: list[tuple[tuple, float, int]], size: tuple[int, int],
                 yaws: list[float]) -> tuple[Path, Path]:
    labels, images = tmp_path / "bedlam_labels" / "training", tmp_path / "bedlam_images" / "training"
    labels.mkdir(parents=True, exist_ok=True)
    n = len(people)
    pose = np.zeros((n, 165))
    for i, yaw in enumerate(yaws):
        pose[i, :3] = rotvec(rot("y", yaw))
    np.savez(labels / f"{scene}.npz", imgname=np.array(["seq_000000/seq_000000_0000.png"] * n),
             center=np.zeros((n, 2)), scale=np.ones(n), pose_world=pose, shape=np.ones((n, 11)) * 0.5,
             trans_cam=np.array([[0, 0, z] for _, z, _ in people], float), cam_int=np.tile(np.eye(3), (n, 1, 1)),
             gtkps=np.stack([kps_in_box(b, k) for b, _, k in people]))
    img_dir = images / scene / "png" / "seq_000000"
    img_dir.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", size, (0, 0, 255))
    b = people[0][0]
    img.paste((255, 0, 0), tuple(int(v) for v in b))
    if "closeup" in scene:  # stored rotated (landscape): rotate back 90° counter-clockwise
        img = img.transpose(Image.Transpose.ROTATE_90)
    img.save(img_dir / "seq_000000_0000.png")
    return labels, images


# ----------------------------------------------------------------------------- 3DPW
class Py2Pickler(pickle._Pickler):  # noqa: SLF001 (the pure-Python pickler lets us pick opcodes)
    """Writes bytes and text as Python 2 ``str`` (BINSTRING opcodes), as 3DPW's pickles were made:
    they load only with ``encoding="latin1"``, numpy's array data included."""

    dispatch = pickle._Pickler.dispatch.copy()  # noqa: SLF001

    def save_py2_str(self, obj: str | bytes) -> None:
        data = obj if isinstance(obj, bytes) else obj.encode("latin1")
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str
    dispatch[str] = save_py2_str


def py2_pickle(obj: object, path: Path) -> None:
    with path.open("wb") as fh:
        Py2Pickler(fh, protocol=2).dump(obj)


def write_3dpw(root: Path, yaws: list[float], valid_last: bool = False, split: str = "test",
               name: str = "courtyard_basketball_00", no_2d: tuple[int, ...] = (), lean: float = 0.0) -> Path:
    """A 3DPW sequence file (Python-2 pickle) and its images, as in the release: ``img_frame_ids``
    index the 60 Hz arrays (not the image names), ``poses_60Hz``/``trans_60Hz`` have twice the
    frames, ``poses2d`` is ``(T, 3, 18)`` and all zero at the frames ``no_2d`` of person 0. Bodies
    lean ``lean`` rad forward and bend a knee by 0.1 t rad at frame t."""
    t_len = len(yaws)
    poses = np.zeros((2, t_len, 72))
    for t in range(t_len):
        for p in range(2):  # OpenCV camera frame: upright person facing the camera = Rx(pi)
            poses[p, t, :3] = rotvec(rot("x", math.pi) @ rot("y", yaws[t]) @ rot("x", lean))
            poses[p, t, 3 * 4] = 0.1 * t
    joints = np.zeros((2, t_len, 24, 3))
    ys = np.linspace(-0.9, 0.8, 24)
    joints[0, :, :, 1], joints[0, :, :, 2] = ys, 4.0
    joints[1, :, :, 0], joints[1, :, :, 1], joints[1, :, :, 2] = 5.0, ys, 4.0  # far right: off-frame
    poses2d = np.ones((2, t_len, 3, 18)) * 500.0
    for t in no_2d:
        poses2d[0, t] = 0.0
    valid = [np.array([1] * (t_len - 1) + [0 if valid_last else 1]), np.ones(t_len)]
    seq = {"sequence": name, "genders": ["m", "f"], "img_frame_ids": np.arange(t_len) * 2 + 10,
           "cam_poses": np.tile(np.eye(4), (t_len, 1, 1)),
           "cam_intrinsics": np.array([[1000.0, 0, 540], [0, 1000.0, 960], [0, 0, 1]]),
           "poses": list(poses), "trans": list(np.zeros((2, t_len, 3))), "betas": list(np.full((2, 10), 0.5)),
           "poses_60Hz": list(np.zeros((2, 2 * t_len + 10, 72))), "trans_60Hz": list(np.zeros((2, 2 * t_len + 10, 3))),
           "betas_clothed": list(np.zeros((2, 10))), "v_template_clothed": list(np.zeros((2, 5, 3))),
           "texture_maps": list(np.zeros((2, 2, 2, 3), np.uint8)),
           "jointPositions": list(joints.reshape(2, t_len, 72)), "poses2d": list(poses2d),
           "campose_valid": valid}
    folder = root / "sequenceFiles" / {"val": "validation"}.get(split, split)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.pkl"
    py2_pickle(seq, path)
    img_dir = root / "imageFiles" / name
    img_dir.mkdir(parents=True, exist_ok=True)
    for t in range(t_len):  # named by the frame index t, as the public preprocessing reads them
        img = Image.new("RGB", (1080, 1920), (0, 255, 0))
        img.paste((255, 0, 0), (440, 600, 640, 1300))  # about person 0's projected joints
        img.save(img_dir / f"image_{t:05d}.jpg")
    return path


def pe_human(box: tuple[float, float, float, float], depth: float, yaw: float = 0.0, lean: float = 0.0) -> dict:
    """A PoseEmbroider 3DPW human: upright in the OpenCV camera frame, 127 keypoints over ``box``."""
    return {"smplx_root_pose": rotvec(rot("x", math.pi) @ rot("y", yaw) @ rot("x", lean)).astype(np.float32),
            "smplx_body_pose": np.zeros(63, np.float32), "smplx_shape": np.full(11, 0.1, np.float32),
            "smplx_pose2d": kps_in_box(box)[:, :2], "smplx_transl": np.array([0.0, 0.0, depth]),
            "smplx_jaw_pose": np.zeros(3), "pve_smpl2smplx": 0.01}


def write_pe_3dpw(root: Path) -> Path:
    images = {"imageFiles/courtyard_dancing_00/image_00000.jpg": [pe_human((300, 400, 700, 1500), 4.0, 0.7, 0.25)],
              "imageFiles/courtyard_dancing_00/image_00001.jpg": [
                  pe_human((300, 400, 700, 1500), 4.0, -1.2), pe_human((350, 500, 650, 1400), 6.0),
                  pe_human((2000, 400, 2300, 1500), 5.0)]}
    data = {}
    for rel, humans in images.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        img = Image.new("RGB", (1080, 1920), (0, 255, 0))
        img.paste((255, 0, 0), (300, 400, 700, 1500))
        img.save(root / rel)
        data[rel] = {"focal": np.array([1500.0, 1500.0]), "princpt": np.array([540.0, 960.0]), "humans": humans}
    path = root / "3dpw_test.pkl"
    path.write_bytes(pickle.dumps(data, protocol=4))
    return path


# ----------------------------------------------------------------------------- raw BEDLAM
SCENE = "20221010_3_1000_batch01hand_6fps"
CLOSEUP = "20221019_3-8_250_highbmihand_closeup_6fps"
FOCAL_MM = 24.0
F_PX = FOCAL_MM / 36.0 * 1280  # 853.3 px
CAM = {"x": 0.0, "y": 0.0, "z": 100.0, "pitch": 0.0, "yaw": 0.0, "roll": 0.0}
FRAMES = (0, 3, 5)  # 3 is not a 6 fps frame


def motion(yaws: list[float], lean: float = 0.0) -> dict[str, np.ndarray]:
    """Standing SMPL-X frames (y up) turned by ``yaws`` about y, leaning ``lean`` forward; pelvis 0.9 m up."""
    poses = np.zeros((len(yaws), 165))
    for t, y in enumerate(yaws):
        poses[t, :3] = rotvec(rot("y", y) @ rot("x", lean))
        poses[t, 3 * 4] = 0.3  # left knee
    trans = np.tile([0.0, 0.9 - SMPLX_PELVIS_REST[1], 0.0], (len(yaws), 1))
    return {"poses": poses, "trans": trans, "betas": np.full(11, 0.2), "gender_sub": np.array("female")}


def keypoints(body: dict, t: int, closeup: bool = False) -> np.ndarray:
    """Pixels ``(22, 2)`` of a body at motion frame ``t``, computed like the loader (stored frame)."""
    pose = torch.as_tensor(body["motion"]["poses"][t, :66].reshape(1, 22, 3), dtype=torch.float32)
    rel = forward_kinematics(pose)[0].numpy().astype(np.float64)
    world = np.array(body["pos"]) / 100 + (rel + SMPLX_PELVIS_REST + body["motion"]["trans"][t]) @ body_to_unreal(
        body["yaw"]).T
    axes = unreal_axes(CAM["pitch"], CAM["yaw"], CAM["roll"])
    uv, _ = project_unreal(world, np.array([CAM["x"], CAM["y"], CAM["z"]]) / 100, axes, (F_PX, F_PX), (1280, 720))
    return rotate_cw(uv, 720) if closeup else uv


def write_scene(tmp: Path, scene: str = SCENE, bodies: list[dict] | None = None,
                comment: str | None = None, split: str = "training",
                images: Path | None = None) -> tuple[Path, Path, list[dict]]:
    """A raw scene with sequence seq_000000: person A (kept), B behind A, C off to the right.

    Laid out as BEDLAM's archives unpack: ``<tmp>/bedlam/<split>/<scene>/be_seq.csv`` (CRLF line
    ends, as ``csv`` writes them) and ``ground_truth/camera/``; the PNGs in the scene folder, or
    under ``<images>/<split>/<scene>/png`` when ``images`` is given. Returns (the folder of split
    folders' ``split`` folder, the motions folder, the bodies)."""
    if bodies is None:
        bodies = [{"name": "rp_alice_posed_001_0001", "pos": (350.0, 0.0, 0.0), "yaw": 90.0, "start": 2,
                   "motion": motion([0.1 * t for t in range(12)], lean=0.3), "color": (255, 0, 0)},
                  {"name": "rp_bob_posed_002_0002", "pos": (450.0, 10.0, 0.0), "yaw": 60.0, "start": 0,
                   "motion": motion([0.0] * 12), "color": (0, 255, 0)},
                  {"name": "rp_carl_posed_003_0003", "pos": (350.0, 600.0, 0.0), "yaw": 0.0, "start": 0,
                   "motion": motion([0.0] * 12), "color": (255, 255, 0)}]
    root, gt = tmp / "bedlam" / split, tmp / "gt"
    scene_dir = root / scene
    (scene_dir / "ground_truth" / "camera").mkdir(parents=True, exist_ok=True)
    with (scene_dir / "be_seq.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Index", "Type", "Body", "X", "Y", "Z", "Yaw", "Pitch", "Roll", "Comment"])
        w.writerow([0, "Group", "", 0, 0, 0, 0, 0, 0, "sequence_name=seq_000000;seq_len=10"])
        for i, b in enumerate(bodies):
            w.writerow([i + 1, "Body", b["name"], *b["pos"], b["yaw"], 0, 0,
                        comment if comment and i == 0 else f"start_frame={b['start']};texture_body=x"])
    with (scene_dir / "ground_truth" / "camera" / "seq_000000_camera.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", *CAM, "focal_length", "sensor_width", "sensor_height"])
        for f in range(10):
            w.writerow([f"seq_000000_{f:04d}", *CAM.values(), FOCAL_MM, 36.0, 20.25])
    for b in bodies:
        person, _, seq = b["name"].rpartition("_")
        (gt / person / seq).mkdir(parents=True, exist_ok=True)
        np.savez(gt / person / seq / "motion_seq.npz", **b["motion"])
    img_dir = (scene_dir if images is None else images / split / scene) / "png" / "seq_000000"
    img_dir.mkdir(parents=True, exist_ok=True)
    closeup = "closeup" in scene
    for f in FRAMES:
        img = Image.new("RGB", (720, 1280) if closeup else (1280, 720), (0, 0, 255))
        for b in reversed(bodies):  # far first, so A (index 0) is painted over B
            box = crops.tight_box(keypoints(b, b["start"] + f, closeup), *img.size)
            if box is not None:
                img.paste(b["color"], tuple(int(v) for v in box))
        if closeup:  # stored rotated: turn the portrait view back 90° counter-clockwise
            img = img.transpose(Image.Transpose.ROTATE_90)
        img.save(img_dir / f"seq_000000_{f:04d}.png")
    return root, gt, bodies

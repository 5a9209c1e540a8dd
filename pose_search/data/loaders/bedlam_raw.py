"""BEDLAM -> pose rows with person crops, from BEDLAM's RAW release (CSV + motion files + PNGs).

Layout (``root`` = one scene folder, a folder of scene folders, or a folder of split folders
``training/``, ``validation/``, ``test/`` of scene folders, as the scene archives unpack)::

    <root>/[training|validation/]<scene>/be_seq.csv
    <root>/[training|validation/]<scene>/ground_truth/camera/seq_XXXXXX_camera.csv   (or seq_XXXXXX.csv)
    <image_root>/[training|validation/]<scene>/png/seq_XXXXXX/seq_XXXXXX_NNNN.png   (default: the scene folder)
    <gt_root>/<person_id>/<seq_id>/motion_seq.npz

A scene's split is the split folder it sits in (``training`` -> train, ``validation`` -> val),
else the one its images sit in, else train; ``splits`` keeps only those named. One
``image_root`` serves every split (a scene's images are looked up with and without the split
folder, and under the ``_6fps`` / ``_30fps`` scene names).

``be_seq.csv``: a ``Group`` row (``Comment`` = ``sequence_name=seq_XXXXXX;...``) opens a
sequence; each following ``Body`` row (``Comment`` = ``start_frame=N;...``) places the motion
``Body`` = ``<person_id>_<seq_id>`` at ``X, Y, Z`` (cm) with ``Yaw`` (deg) in the Unreal world.
Motion frame ``start_frame + NNNN`` is shown in image ``NNNN`` (30 fps numbering, also in the
6 fps folders). ``motion_seq.npz``: ``poses`` ``(T, 165)`` SMPL-X axis-angle, ``trans`` ``(T, 3)``,
``betas`` ``(11,)``, ``gender_sub``. Camera CSV, one row per 30 fps frame (``name`` ending in
``_NNNN`` maps rows to frames; else row ``NNNN``): ``x, y, z`` (cm), ``pitch, yaw, roll`` (deg),
``focal_length`` (mm), optional ``sensor_width``/``sensor_height`` (mm; default 36 x 20.25).

Axes (all our own derivation, checked by the tests on independent geometric facts):

* **Unreal world**: x forward, y right, z up, left-handed, centimetres. A camera with
  ``(pitch, yaw, roll)`` has, in world coordinates, forward ``f = (cp cy, cp sy, sp)``, right
  ``r = (sr sp cy - cr sy, sr sp sy + cr cy, -sr cp)`` and up ``u = (-(cr sp cy + sr sy),
  cy sr - cr sp sy, cr cp)`` (Unreal's rotator: roll about x, then pitch about y, then yaw about z;
  positive yaw turns forward toward +y, positive pitch looks up, positive roll is clockwise seen
  from behind). A point ``p`` (metres) has OpenCV camera coordinates ``(d.r, -d.u, d.f)`` with
  ``d = p - camera``; dot products need no handedness, so no mirroring can creep in.
* **Intrinsics**: ``fx = focal_mm / sensor_width * W``, ``fy = focal_mm / sensor_height * H``,
  principal point at the image centre, ``W x H`` = 1280 x 720 (the stored frame).
* **Body placement**: the SMPL-X model frame (y up, faces +z, +x = body's left) is mapped to the
  Unreal axes by ``A: (x, y, z) -> (-z, x, y)`` then turned by the Unreal yaw ``Yaw - 90°``
  (BEDLAM's bodies are imported turned by 90°): joint ``j`` is at
  ``X,Y,Z / 100 + Yaw(Yaw - 90°) A (J_j + pelvis_rest + trans)`` with ``J`` the pelvis-relative
  joints of the pose. So ``Yaw = 90`` faces -x, a body looking back at a yaw-0 camera.
* **closeup** scenes are stored rotated: we project into the stored 1280 x 720 frame and turn
  the points 90° clockwise, ``(u, v) -> (720 - v, u)``, like the image (:func:`crops.open_image`).

Joints: ``joints_fn`` (default: the neutral skeleton FK) on the canonical pose, rotated back by the
removed heading, plus the pelvis at ``pelvis_rest + trans``; ``pelvis_rest`` defaults to the
approximate rest pelvis of the neutral zero-shape SMPL-X. ``betas`` are ignored for the skeleton
unless ``body`` (a :class:`pose_search.body.model.BodyModel`, e.g. SMPL-X) is given: then its
joints for ``(pose, betas)`` are projected, and a real SMPL-X model's rest pelvis is used. Only
22 joints are projected: the tight box is smaller than BEDLAM's 437-vertex box (raise
``scale_factor`` to compensate). Pose: the motion's orientation is y-up already, the heading is
removed. Selection and crops: :func:`.bedlam.select_people` (j16, sf11, res224, overlap30 with the
pelvis' camera depth); frames ``NNNN % frame_step == 0`` are used (5: BEDLAM's 6 fps).
"""

from __future__ import annotations

import csv
import functools
import logging
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pose_search.body.convention import NUM_BODY_JOINTS
from pose_search.data.loaders import crops
from pose_search.data.loaders.bedlam import FRAME_SIZE, select_people
from pose_search.data.loaders.common import (
    CaptionFn,
    JointsFn,
    LoaderError,
    canonicalize,
    caption_fields,
    compute_joints,
    get_array,
    get_text,
    normalize_split,
    read_npz,
    split_from_path,
    to_meta,
)

log = logging.getLogger(__name__)

SENSOR_MM = (36.0, 20.25)  # BEDLAM's default sensor (width, height)
SMPLX_PELVIS_REST = np.array([0.0031, -0.3514, 0.0120])  # neutral zero-shape SMPL-X, approx. (m)
SMPLX_TO_UNREAL = np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # A above
CAMERA_FIELDS = ("x", "y", "z", "pitch", "yaw", "roll", "focal_length")


@dataclass
class RawBody:
    """One ``Body`` row of ``be_seq.csv``: motion ``name`` placed at ``position`` (cm), ``yaw`` (deg)."""
    row: int
    name: str
    position: np.ndarray
    yaw: float
    start_frame: int


@dataclass
class RawSequence:
    """A ``Group`` row and its bodies."""
    name: str
    row: int
    bodies: list[RawBody] = field(default_factory=list)


def parse_comment(text: str, where: str) -> dict[str, str]:
    """``"k1=v1;k2=v2"`` -> dict; a :class:`LoaderError` naming ``where`` for a malformed entry."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in str(text).split(";")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise LoaderError(f"{where}: field 'Comment' entry {part!r} is not key=value")
        out[key.strip()] = value.strip()
    return out


def _float(row: dict[str, Any], name: str, where: str) -> float:
    try:
        value = float(row[name])
    except (KeyError, TypeError):
        raise LoaderError(f"{where}: missing field {name!r}") from None
    except ValueError:
        raise LoaderError(f"{where}: field {name!r} is not a number ({row[name]!r})") from None
    if not math.isfinite(value):
        raise LoaderError(f"{where}: field {name!r} contains NaN or inf")
    return value


BE_SEQ_COLUMNS = ("Body", "X", "Y", "Z", "Yaw", "Comment")  # "Type" is optional (older scenes)


def read_csv_rows(path: Path, what: str, columns: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """The rows of a CSV file as dicts; LoaderError naming the file when it is not UTF-8 text or
    lacks one of ``columns``."""
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            header = list(reader.fieldnames or [])
    except (UnicodeDecodeError, csv.Error) as exc:
        raise LoaderError(f"{path}: {what} is not a readable CSV file ({exc})") from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise LoaderError(f"{path}: {what} lacks the columns {missing} (header: {header})")
    return rows


def read_be_seq(path: Path) -> list[RawSequence]:
    """Parse ``be_seq.csv`` into sequences with their bodies; errors name the file, row and field."""
    if not path.is_file():
        raise LoaderError(f"{path}: BEDLAM be_seq.csv not found")
    rows = read_csv_rows(path, "BEDLAM be_seq.csv", BE_SEQ_COLUMNS)
    seqs: list[RawSequence] = []
    for i, row in enumerate(rows):
        where = f"{path}: row {i}"
        kind = (row.get("Type") or "").strip()
        comment = parse_comment(row.get("Comment") or "", where)
        if kind == "Group" or (not kind and "sequence_name" in comment):
            if not comment.get("sequence_name"):
                raise LoaderError(f"{where}: field 'Comment' has no sequence_name=... for a Group row")
            seqs.append(RawSequence(comment["sequence_name"], i))
        elif kind == "Body" or (not kind and "start_frame" in comment):
            try:
                start = int(comment["start_frame"])
            except (KeyError, ValueError):
                raise LoaderError(f"{where}: field 'Comment' needs start_frame=<int> for a Body row, "
                                  f"got {row.get('Comment')!r}") from None
            if not seqs:
                raise LoaderError(f"{where}: Body row before any Group (sequence_name) row")
            name = (row.get("Body") or "").strip()
            if "_" not in name:
                raise LoaderError(f"{where}: field 'Body' {name!r} is not <person_id>_<seq_id>")
            pos = np.array([_float(row, k, where) for k in ("X", "Y", "Z")])
            seqs[-1].bodies.append(RawBody(i, name, pos, _float(row, "Yaw", where), start))
    if not any(s.bodies for s in seqs):
        raise LoaderError(f"{path}: no Body rows (a scene places at least one person)")
    return seqs


def camera_csv_path(scene_dir: Path, seq: str) -> Path:
    """The camera CSV of sequence ``seq`` (``seq_XXXXXX_camera.csv`` or ``seq_XXXXXX.csv``)."""
    base = scene_dir / "ground_truth" / "camera"
    for cand in (base / f"{seq}_camera.csv", base / f"{seq}.csv"):
        if cand.is_file():
            return cand
    raise LoaderError(f"{base / (seq + '_camera.csv')}: camera CSV of sequence {seq!r} not found")


def read_camera(path: Path) -> tuple[dict[str, np.ndarray], dict[int, int]]:
    """Camera CSV -> per-row arrays ``(F,)`` of every field and the ``frame -> row`` map."""
    rows = read_csv_rows(path, "camera CSV", CAMERA_FIELDS)
    if not rows:
        raise LoaderError(f"{path}: camera CSV has no rows")
    fields = CAMERA_FIELDS + tuple(f for f in ("sensor_width", "sensor_height") if rows[0].get(f))
    cam = {f: np.array([_float(r, f, f"{path}: row {i}") for i, r in enumerate(rows)]) for f in fields}
    names = [re.search(r"(\d+)$", (r.get("name") or "").strip()) for r in rows]
    return cam, {int(m.group(1)) if m else i: i for i, m in enumerate(names)}


def read_motion(path: Path) -> dict[str, Any]:
    """Read one ``motion_seq.npz``: ``poses`` ``(T, 165)``, ``trans`` ``(T, 3)``, ``betas`` ``(K,)``."""
    data, _ = read_npz(path, "BEDLAM motion_seq.npz", ("poses", "trans", "betas", "gender_sub"))
    where = str(path)
    poses = get_array(data, "poses", where, ndim=2, last=165)
    trans = get_array(data, "trans", where, ndim=2, last=3)
    if len(trans) != len(poses):
        raise LoaderError(f"{where}: field 'trans' has {len(trans)} frames, 'poses' has {len(poses)}")
    betas = get_array(data, "betas", where).reshape(-1)
    return {"poses": poses, "trans": trans, "betas": betas, "gender": get_text(data, "gender_sub", "neutral")}


def unreal_axes(pitch: np.ndarray, yaw: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Camera axes in the Unreal world: degrees ``(N,)`` -> ``(N, 3, 3)`` rows = forward, right, up."""
    p, y, r = (np.radians(np.asarray(a, dtype=np.float64)) for a in (pitch, yaw, roll))
    cp, sp, cy, sy, cr, sr = np.cos(p), np.sin(p), np.cos(y), np.sin(y), np.cos(r), np.sin(r)
    fwd = np.stack([cp * cy, cp * sy, sp], -1)
    right = np.stack([sr * sp * cy - cr * sy, sr * sp * sy + cr * cy, -sr * cp], -1)
    up = np.stack([-(cr * sp * cy + sr * sy), cy * sr - cr * sp * sy, cr * cp], -1)
    return np.stack([fwd, right, up], -2)


def project_unreal(points: np.ndarray, cam_pos: np.ndarray, axes: np.ndarray, focal: tuple[float, float],
                   size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Unreal points ``(N, 3)`` (m) -> pixels ``(N, 2)`` and depths ``(N,)``; camera at ``cam_pos``
    (m), ``axes`` ``(3, 3)`` from :func:`unreal_axes`, ``focal`` ``(fx, fy)`` px, ``size`` (W, H).
    Points behind the camera get NaN pixels."""
    d = np.asarray(points, dtype=np.float64) - cam_pos
    x, y, z = d @ axes[1], -(d @ axes[2]), d @ axes[0]
    zs = np.where(z > 1e-6, z, np.nan)
    uv = np.stack([focal[0] * x / zs + size[0] / 2.0, focal[1] * y / zs + size[1] / 2.0], -1)
    return uv, z


def body_to_unreal(yaw_deg: float) -> np.ndarray:
    """``(3, 3)``: SMPL-X model axes -> Unreal axes of a body placed with ``Yaw`` = ``yaw_deg``."""
    a = math.radians(yaw_deg - 90.0)
    turn = np.array([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0], [0.0, 0.0, 1.0]])
    return turn @ SMPLX_TO_UNREAL


def rotate_cw(uv: np.ndarray, height: int) -> np.ndarray:
    """Pixels ``(N, 2)`` of a ``W x height`` image -> pixels after turning it 90° clockwise."""
    return np.stack([height - uv[:, 1], uv[:, 0]], -1)


def rest_pelvis(body: Any, betas: np.ndarray, default: np.ndarray) -> np.ndarray:
    """Rest pelvis ``(3,)`` of a real SMPL-X ``body`` (``body.model`` with ``J_regressor``,
    ``v_template``, ``shapedirs``) for ``betas``; ``default`` otherwise."""
    model = getattr(body, "model", None)
    if model is None or not all(hasattr(model, k) for k in ("J_regressor", "v_template", "shapedirs")):
        return default
    sd = np.asarray(model.shapedirs, dtype=np.float64)
    k = min(sd.shape[-1], len(betas))
    verts = np.asarray(model.v_template, dtype=np.float64) + sd[..., :k] @ betas[:k]
    return np.asarray(model.J_regressor, dtype=np.float64)[0] @ verts


SPLIT_FOLDERS = ("training", "validation", "test")
SCENE_SUFFIXES = ("", "_6fps", "_30fps")


def _scene_dirs(root: Path) -> list[Path]:
    """Scene folders (with ``be_seq.csv``) at ``root`` or up to two levels below it, in name order."""
    if (root / "be_seq.csv").is_file():
        return [root]
    scenes = sorted({p.parent for pattern in ("*/be_seq.csv", "*/*/be_seq.csv") for p in root.glob(pattern)}
                    if root.is_dir() else [])
    if not scenes:
        raise LoaderError(f"{root}: no BEDLAM scene folders (with be_seq.csv) found")
    return scenes


def _image_dir(image_root: Path | None, scene_dir: Path, seq: str) -> Path:
    """The PNG folder of sequence ``seq`` of a scene: in the scene folder, or under ``image_root``
    (with or without a split folder, under the scene's name or its ``_6fps``/``_30fps`` variant)."""
    if image_root is None:
        cands = [scene_dir / "png" / seq]
    else:
        base = scene_dir.name
        for suffix in SCENE_SUFFIXES[1:]:
            base = base.removesuffix(suffix)
        names = [scene_dir.name] + [base + s for s in SCENE_SUFFIXES if base + s != scene_dir.name]
        cands = [image_root / sub / name / "png" / seq for sub in ("", *SPLIT_FOLDERS) for name in names]
    for cand in cands:
        if cand.is_dir():
            return cand
    raise LoaderError(f"{cands[0]}: image folder of sequence {seq!r} not found"
                      + (f" (looked under {image_root} and its {'/'.join(SPLIT_FOLDERS)} folders)" if image_root else ""))


def _parts_from(path: Path, base: Path) -> tuple[str, ...]:
    """``base``'s own name and the folders from ``base`` down to ``path`` (not the folders above
    ``base``: a user's ``/data/test/...`` says nothing about the split)."""
    try:
        return (base.name, *path.relative_to(base).parts)
    except ValueError:
        return (path.name,)


def scene_split(scene_dir: Path, root: Path, images: Callable[[], Path | None] | None = None,
                image_root: Path | None = None) -> str:
    """A scene's split: the split folder at or below ``root`` that holds ``scene_dir``, else the
    one at or below ``image_root`` that holds its images (``images()``: their folder, asked for
    only then), else ``train``."""
    found = split_from_path(_parts_from(scene_dir, root))
    image_dir = images() if found is None and images is not None else None
    if image_dir is not None:
        found = split_from_path(_parts_from(image_dir, image_root or image_dir))
    return found or "train"


def load_bedlam_raw(root: str | Path, gt_root: str | Path, *, caption_fn: CaptionFn,
                    image_root: str | Path | None = None, splits: Sequence[str] | None = None,
                    frame_step: int = 5, scale_factor: float = 1.1, min_joints_in_frame: int = 16,
                    min_box_size: float = 224.0, max_overlap: float | None = 0.30, image_format: str = "PNG",
                    joints_fn: JointsFn | None = None, body: Any = None,
                    pelvis_rest: np.ndarray | None = None) -> Iterator[dict[str, Any]]:
    """Pose rows ``bedlam:<scene>:<seq>_<NNNN>:<csv row>`` with 256x192 crops from raw BEDLAM.

    Every scene under ``root`` is read (:func:`_scene_dirs`), its split from its folder
    (:func:`scene_split`); ``splits`` keeps the scenes of those splits only.
    """
    root, gt_root = Path(root), Path(gt_root)
    if frame_step < 1:
        raise ValueError(f"frame_step must be >= 1, got {frame_step}")
    wanted = None if splits is None else {normalize_split(s, "load_bedlam_raw(splits)") for s in splits}
    opts = dict(caption_fn=caption_fn, frame_step=frame_step, scale_factor=scale_factor,
                min_joints=min_joints_in_frame, min_box=min_box_size, max_overlap=max_overlap,
                image_format=image_format, joints_fn=joints_fn, body=body,
                pelvis=SMPLX_PELVIS_REST if pelvis_rest is None else np.asarray(pelvis_rest, np.float64))
    images = None if image_root is None else Path(image_root)
    base = root.parent if (root / "be_seq.csv").is_file() else root  # one scene: its folder's name counts
    for scene_dir in _scene_dirs(root):
        seqs = read_be_seq(scene_dir / "be_seq.csv")
        first = next((s for s in seqs if s.bodies), None)
        try:  # the images' folder is looked at only when the scene's own folder names no split
            where_images = functools.partial(_image_dir, images, scene_dir, first.name) if first else None
            sp = scene_split(scene_dir, base, where_images, images)
        except LoaderError:
            if wanted is None:
                raise
            log.warning("%s: no images found, so no split known: skipped (only %s asked for)", scene_dir, sorted(wanted))
            continue
        if wanted is not None and sp not in wanted:
            log.info("%s: split %s not asked for, skipped", scene_dir, sp)
            continue
        for seq in seqs:  # motions are read per sequence (memory)
            yield from _load_sequence(scene_dir, images, gt_root, seq, sp, {}, **opts)


def _load_sequence(scene_dir: Path, image_root: Path | None, gt_root: Path, seq: RawSequence, split: str,
                   motions: dict[str, dict[str, Any]], *, caption_fn: CaptionFn, frame_step: int,
                   scale_factor: float, min_joints: int, min_box: float, max_overlap: float | None,
                   image_format: str, joints_fn: JointsFn | None, body: Any,
                   pelvis: np.ndarray) -> Iterator[dict[str, Any]]:
    scene = scene_dir.name
    if not seq.bodies:
        return
    cam_path = camera_csv_path(scene_dir, seq.name)
    cam, cam_row = read_camera(cam_path)
    img_dir = _image_dir(image_root, scene_dir, seq.name)
    frames: dict[int, Path] = {}
    for p in img_dir.glob(f"{seq.name}_*.png"):
        m = re.fullmatch(rf"{re.escape(seq.name)}_(\d+)\.png", p.name)
        if m and int(m.group(1)) % frame_step == 0:
            frames[int(m.group(1))] = p
    items: list[tuple[int, RawBody]] = []  # (frame, body)
    skipped = 0
    for b in seq.bodies:
        person, _, motion_id = b.name.rpartition("_")
        path = gt_root / person / motion_id / "motion_seq.npz"
        if b.name not in motions:
            motions[b.name] = read_motion(path)
            motions[b.name]["path"] = str(path)
        for f in sorted(frames):
            if f not in cam_row:
                raise LoaderError(f"{cam_path}: no camera row for frame {f} of {frames[f]}")
            ok = 0 <= b.start_frame + f < len(motions[b.name]["poses"])
            skipped += not ok
            if ok:
                items.append((f, b))
    if skipped:
        log.info("%s %s: %d (frame, body) pairs past the end of their motion skipped", scene, seq.name, skipped)
    if not items:
        return
    mots = [motions[b.name] for _, b in items]
    raw = np.stack([m["poses"][b.start_frame + f, : 3 * NUM_BODY_JOINTS] for (f, b), m in zip(items, mots)])
    raw = raw.reshape(-1, NUM_BODY_JOINTS, 3)
    canon, yaws = canonicalize(raw)
    joints = compute_joints(joints_fn, canon)
    if body is None:  # pelvis-relative joints in the SMPL-X frame: undo the heading removal
        c, s = np.cos(yaws), np.sin(yaws)
        ry = np.zeros((len(yaws), 3, 3))
        ry[:, 0, 0], ry[:, 0, 2], ry[:, 1, 1], ry[:, 2, 0], ry[:, 2, 2] = c, s, 1.0, -s, c
        rel = np.einsum("bij,bkj->bki", ry, joints.astype(np.float64))
    else:
        rel = _body_joints(body, raw, np.stack([m["betas"] for m in mots]))
    closeup = "closeup" in scene.lower()
    w, h = FRAME_SIZE
    size = (h, w) if closeup else FRAME_SIZE
    by_frame: dict[int, list[int]] = defaultdict(list)
    uvs, depths = [], []
    for k, ((f, b), m) in enumerate(zip(items, mots)):
        r = cam_row[f]
        if "pelvis" not in m:  # once per motion
            m["pelvis"] = rest_pelvis(body, m["betas"], pelvis) if body is not None else pelvis
        world = b.position / 100.0 + (rel[k] + m["pelvis"] + m["trans"][b.start_frame + f]) @ body_to_unreal(b.yaw).T
        fx = cam["focal_length"][r] / (cam["sensor_width"][r] if "sensor_width" in cam else SENSOR_MM[0]) * w
        fy = cam["focal_length"][r] / (cam["sensor_height"][r] if "sensor_height" in cam else SENSOR_MM[1]) * h
        axes = unreal_axes(cam["pitch"][r], cam["yaw"][r], cam["roll"][r])
        pos = np.array([cam["x"][r], cam["y"][r], cam["z"][r]]) / 100.0
        uv, z = project_unreal(world, pos, axes, (fx, fy), FRAME_SIZE)
        uvs.append(rotate_cw(uv, h) if closeup else uv)
        depths.append(z[0])
        by_frame[f].append(k)
    kept: list[tuple[int, np.ndarray]] = []
    reasons: dict[str, int] = defaultdict(int)
    for ks in by_frame.values():
        boxes = [crops.tight_box(uvs[k], *size) for k in ks]
        n_in = np.array([int(crops.in_frame(uvs[k], *size).sum()) for k in ks])
        for k, (box, reason) in zip(ks, select_people(
                boxes, np.array([depths[k] for k in ks]), n_in, size, scale_factor=scale_factor,
                min_joints_in_frame=min_joints, min_box_size=min_box, max_overlap=max_overlap)):
            if reason is None:
                kept.append((k, box))
            else:
                reasons[reason] += 1
    log.info("%s %s: kept %d of %d people, dropped %s", scene, seq.name, len(kept), len(items), dict(reasons))
    current: tuple[int, Any] | None = None
    for k, box in sorted(kept, key=lambda kb: (items[kb[0]][0], items[kb[0]][1].row)):
        f, b = items[k]
        if current is None or current[0] != f:
            current = (f, crops.load_image(str(frames[f]), "BEDLAM image", closeup=closeup))
            if current[1].size != size:
                raise LoaderError(f"{frames[f]}: image is {current[1].size}, expected {size} (width, height)")
        where = f"{scene_dir / 'be_seq.csv'}: row {b.row} frame {f}"
        texts = caption_fields(caption_fn(canon[k]), f"{where}: caption_fn")
        betas = mots[k]["betas"]
        shape = np.zeros(10)
        shape[: min(10, len(betas))] = betas[:10]
        meta = {"scene": scene, "sequence": seq.name, "frame": f, "body": b.name, "csv_row": b.row,
                "motion_frame": b.start_frame + f, "image": str(frames[f].relative_to(img_dir.parent.parent)),
                "box": box.tolist(), "yaw_removed": float(yaws[k]), "extra_betas": betas[10:].tolist(),
                "gender": mots[k]["gender"], "closeup": closeup, "layout": "raw",
                "selection": f"overlap{max_overlap}_res{min_box}_j{min_joints}_sf{scale_factor}"}
        yield {"id": f"bedlam:{scene}:{seq.name}_{f:04d}:{b.row}", "pose": canon[k].reshape(-1),
               "shape": shape, "shape_space": "smplx-betas", "joints": joints[k].reshape(-1),
               "image": crops.encode_image(crops.crop_person(current[1], box), image_format),
               "image_path": None, **texts, "family": "", "split": split, "source": "bedlam",
               "meta": to_meta(meta)}


def _body_joints(body: Any, raw: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """Pelvis-relative ``(B, 22, 3)`` joints of ``body`` for SMPL-X-frame poses and their betas."""
    n = int(getattr(body, "shape_dim", betas.shape[1]))
    shape = np.zeros((len(betas), n))
    shape[:, : min(n, betas.shape[1])] = betas[:, :n]
    out = body(raw.astype(np.float32), shape=shape.astype(np.float32))
    j = np.asarray(out.joints.detach().cpu().numpy() if hasattr(out.joints, "detach") else out.joints, np.float64)
    if j.shape != raw.shape:
        raise LoaderError(f"body model returned joints of shape {j.shape}, expected {raw.shape}")
    return j - j[:, :1]

"""AMASS sequences, PoseScript (poses + captions) and PoseFix (pose pairs + instructions).

AMASS ``.npz`` files (z-up world):

* SMPL-H: ``poses`` ``(T, 156)``, ``trans`` ``(T, 3)``, ``betas`` ``(16,)``, ``mocap_framerate``,
  ``gender``;
* SMPL-X G / N (``*_stageii.npz``): ``poses`` ``(T, 165)``, ``mocap_frame_rate``,
  ``surface_model_type``, ``gender`` (a 0-d str or bytes array) and members we do not need, some
  of them pickled objects (``markers_latent_vids``): only the members listed in
  :data:`AMASS_FIELDS` are read, so those are never unpickled;
* files that are not motions are skipped and counted: the per-subject ``*_stagei.npz`` (body
  shape and markers, no frames) and ``shape.npz`` of SMPL-X G / SMPL+H, and any npz with none of
  ``poses``, ``trans``, ``mocap_frame_rate(s)``. A tree may mix SMPL+H and SMPL-X files.

Only the first 66 values (global orientation + 21 body joints, shared by SMPL-H and SMPL-X) are
used. Each frame is converted with :func:`~pose_search.body.convention.zup_to_yup` and then its
heading is removed (:func:`~pose_search.body.convention.normalize_heading`).

Shape: AMASS betas belong to gendered SMPL-H/SMPL-X models, not to the neutral SMPL-X model of our
``smplx-betas`` space, so rows store the neutral zero shape (10 zeros, as PoseScript does) and keep
the original betas and gender in ``meta``.

Images: AMASS has none. The caller passes ``render_fn(pose (22, 3)) -> PNG bytes`` (e.g. a render
of the neutral body); it is required because the schema needs an image per row.

PoseScript (``root`` = the PoseScript release folder):

* ``ids_2_dataset_sequence_and_frame_index_{version}.json``: pose id -> [dataset, sequence path
  (relative to the AMASS root, with or without the dataset folder), frame index];
* ``{train|val|test}_ids_{version}.json``: pose ids of each split;
* captions ``posescript_human_*.json`` (id -> text) and ``posescript_auto_*.json`` (id -> [texts]).

PoseFix (``root`` = the PoseFix release folder): ``pair_id_2_pose_ids.json`` (list or dict of
[A id, B id]), ``{split}_{in|out}_sequence_pair_ids.json``, ``posefix_human_*.json``,
``posefix_auto_*.json`` and optional ``posefix_paraphrases_*.json``; the pose ids are PoseScript
ids (the ids json may be in the PoseFix or the PoseScript folder).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pose_search.body.convention import NUM_BODY_JOINTS, zup_to_yup
from pose_search.body.rotations import roma
from pose_search.data.loaders.common import (
    CaptionFn,
    JointsFn,
    LoaderError,
    LoadReport,
    RenderFn,
    canonicalize,
    caption_fields,
    check_render,
    clean_texts,
    compute_joints,
    get_array,
    get_text,
    normalize_split,
    read_json,
    read_npz,
    to_meta,
)

log = logging.getLogger(__name__)

AMASS_POSE_DIMS = (156, 165)  # SMPL-H (52 joints), SMPL-X (55 joints)
NEUTRAL_SHAPE = [0.0] * 10


@dataclass(frozen=True)
class AmassSequence:
    """One AMASS motion file: ``poses`` ``(T, 22, 3)`` z-up axis-angle, plus metadata."""

    path: Path
    poses: np.ndarray
    fps: float
    gender: str
    betas: np.ndarray
    model: str  # "smplh" or "smplx"


AMASS_FIELDS = ("poses", "mocap_framerate", "mocap_frame_rate", "betas", "gender", "surface_model_type")
MOTION_MARKERS = ("poses", "trans", "mocap_framerate", "mocap_frame_rate")  # any one: a motion file
NOT_MOTION_NAMES = {"shape.npz": "body shape file (shape.npz)"}
# mean "uprightness" (y of the body's up axis, 1 = standing) below which a tree lies flat
FLAT_THRESHOLD = 0.5


def not_a_motion(path: Path, members: frozenset[str] | None = None) -> str | None:
    """Why an AMASS ``.npz`` is not a motion (a skip reason), or ``None`` for a motion file;
    ``members`` (the npz's member names) ``None``: judge by the file name alone."""
    if path.name in NOT_MOTION_NAMES:
        return NOT_MOTION_NAMES[path.name]
    if path.name.endswith("_stagei.npz"):
        return "SMPL-X stage-i file (*_stagei.npz: body shape, no frames)"
    if members is not None and not members & set(MOTION_MARKERS):
        return "npz without motion members (poses, trans, mocap_frame_rate)"
    return None


def read_amass_sequence(path: str | Path) -> AmassSequence:
    """Read and check an AMASS ``.npz`` (only :data:`AMASS_FIELDS`); errors name the file and field."""
    path = Path(path)
    data, _ = read_npz(path, "AMASS sequence", AMASS_FIELDS)
    return _sequence(path, data)


def _sequence(path: Path, data: Mapping[str, np.ndarray]) -> AmassSequence:
    poses = get_array(data, "poses", str(path), ndim=2, last=AMASS_POSE_DIMS)
    if len(poses) == 0:
        raise LoaderError(f"{path}: field 'poses' has no frames")
    fps_key = "mocap_framerate" if "mocap_framerate" in data else "mocap_frame_rate"
    fps = float(get_array(data, fps_key, str(path)).reshape(-1)[0]) if fps_key in data else float("nan")
    betas = get_array(data, "betas", str(path)).reshape(-1) if "betas" in data else np.zeros(0)
    model = get_text(data, "surface_model_type", "smplx" if poses.shape[1] == 165 else "smplh")
    return AmassSequence(path, poses[:, : 3 * NUM_BODY_JOINTS].reshape(-1, NUM_BODY_JOINTS, 3), fps,
                         get_text(data, "gender", "unknown"), betas, model)


def uprightness(canon: np.ndarray) -> np.ndarray:
    """``(B, 22, 3)`` canonical poses -> ``(B,)`` y component of the body's up axis (1: upright,
    0: lying flat, -1: upside down); heading-free, so the removed yaw does not matter."""
    root = roma.rotvec_to_rotmat(torch.as_tensor(np.asarray(canon[:, 0], dtype=np.float64)))
    return root[:, 1, 1].numpy()


def up_axis_warning(root: Path, upright: float, frames: int, y_up_files: int) -> str | None:
    """A warning when the converted bodies lie flat on average (``upright`` < FLAT_THRESHOLD)."""
    if frames == 0 or upright >= FLAT_THRESHOLD:
        return None
    hint = (f"; {y_up_files} files are BEDLAM motion_seq.npz, which are y-up: convert them with "
            "`convert bedlam-raw SCENES --gt-root` instead") if y_up_files else ""
    return (f"{root}: the converted bodies lie flat on average (mean uprightness {upright:.2f} over "
            f"{frames} frames, 1 = standing) after AMASS's z-up -> y-up turn; the files are likely "
            f"y-up already, not AMASS{hint}")


def amass_to_canonical(poses: np.ndarray, yaw: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """z-up AMASS ``(B, 22, 3)`` -> canonical heading-free ``(B, 22, 3)`` poses and ``(B,)`` yaws."""
    yup = zup_to_yup(torch.as_tensor(np.asarray(poses, dtype=np.float32))).numpy()
    return canonicalize(yup, yaw=yaw)


def _pose_row(rid: str, pose: np.ndarray, joints: np.ndarray, image: bytes, captions: list[str],
              split: str, source: str, meta: Mapping[str, Any],
              caption_kinds: list[str] | None = None) -> dict[str, Any]:
    return {"id": rid, "pose": pose.reshape(-1), "shape": NEUTRAL_SHAPE, "shape_space": "smplx-betas",
            "joints": joints.reshape(-1), "image": image, "image_path": None, "captions": captions,
            "caption_kinds": caption_kinds, "family": "", "split": split, "source": source,
            "meta": to_meta(meta)}


def _seq_meta(seq: AmassSequence, frame: int) -> dict[str, Any]:
    return {"frame": frame, "fps": seq.fps, "gender": seq.gender, "model": seq.model,
            "source_betas": seq.betas.tolist()}


def load_amass(root: str | Path, *, caption_fn: CaptionFn, render_fn: RenderFn, stride: int = 30,
               split: str = "train", joints_fn: JointsFn | None = None,
               report: LoadReport | None = None) -> Iterator[dict[str, Any]]:
    """Every ``stride``-th frame of every AMASS motion ``.npz`` under ``root`` as a pose row.

    Ids are ``amass:<path relative to root>:<frame>``. ``caption_fn`` supplies the captions
    (AMASS has none) and ``render_fn`` the image. Files that are not motions (:func:`not_a_motion`)
    are skipped and counted in ``report``; when the bodies lie flat on average a warning goes to
    the log and ``report`` (:func:`up_axis_warning`).
    """
    root = Path(root)
    if not root.is_dir():
        raise LoaderError(f"{root}: AMASS root directory not found")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    split = normalize_split(split, "load_amass(split)")
    report = report if report is not None else LoadReport()
    upright_sum, frames_seen, y_up_files = 0.0, 0, 0
    for path in sorted(root.rglob("*.npz")):
        reason = not_a_motion(path)  # by name first: such a file is not even opened
        if reason is None:
            data, members = read_npz(path, "AMASS sequence", AMASS_FIELDS)
            reason = not_a_motion(path, members)
        if reason is not None:
            log.info("%s: skipped, %s", path, reason)
            report.skip(reason)
            continue
        seq = _sequence(path, data)
        y_up_files += path.name == "motion_seq.npz"
        frames = np.arange(0, len(seq.poses), stride)
        canon, yaws = amass_to_canonical(seq.poses[frames])
        upright_sum += float(uprightness(canon).sum())
        frames_seen += len(frames)
        joints = compute_joints(joints_fn, canon)
        rel = path.relative_to(root).as_posix()
        for k, frame in enumerate(frames.tolist()):
            where = f"{path}: frame {frame}"
            texts = caption_fields(caption_fn(canon[k]), f"{where}: caption_fn")
            image = check_render(render_fn(canon[k]), where)
            meta = _seq_meta(seq, frame) | {"sequence": rel, "yaw_removed": float(yaws[k])}
            yield _pose_row(f"amass:{rel}:{frame}", canon[k], joints[k], image, texts["captions"], split,
                            "amass", meta, texts["caption_kinds"])
    for reason, n in report.skipped.items():
        log.info("%s: %d files skipped (%s)", root, n, reason)
    warning = up_axis_warning(root, upright_sum / max(frames_seen, 1), frames_seen, y_up_files)
    if warning:
        report.warn(warning)


class PoseLookup:
    """Resolve PoseScript pose ids to AMASS frames, loading each sequence file once."""

    def __init__(self, ids_file: Path, amass_root: Path,
                 dataset_roots: Mapping[str, str | Path] | None = None) -> None:
        raw = read_json(ids_file, "pose id -> (dataset, sequence, frame) file")
        if not isinstance(raw, Mapping):
            raise LoaderError(f"{ids_file}: expected a JSON object mapping pose ids to [dataset, sequence, frame]")
        self.ids_file, self.amass_root = ids_file, Path(amass_root)
        self.dataset_roots = {k: Path(v) for k, v in (dataset_roots or {}).items()}
        self.entries: dict[str, tuple[str, str, int]] = {}
        for key, value in raw.items():
            if (not isinstance(value, (list, tuple)) or len(value) != 3 or not isinstance(value[1], str)
                    or not isinstance(value[2], int) or isinstance(value[2], bool)):
                raise LoaderError(f"{ids_file}: entry {key!r} must be [dataset, sequence path, frame index], got {value!r}")
            self.entries[str(key)] = (str(value[0]), value[1], value[2])
        self._cache: dict[Path, AmassSequence] = {}

    def _resolve(self, dataset: str, seq: str, pid: str) -> Path:
        base = self.dataset_roots.get(dataset, self.amass_root)
        for cand in (base / seq, base / dataset / seq):
            if cand.is_file():
                return cand
        raise LoaderError(f"{self.ids_file}: pose {pid}: AMASS sequence {seq!r} (dataset {dataset!r}) "
                          f"not found under {base}")

    def sequence_key(self, pid: str) -> str:
        """``dataset/sequence`` of a pose id (used to check in-sequence pairs)."""
        dataset, seq, _ = self.get_entry(pid)
        return f"{dataset}/{seq}"

    def get_entry(self, pid: str) -> tuple[str, str, int]:
        try:
            return self.entries[pid]
        except KeyError:
            raise LoaderError(f"{self.ids_file}: no entry for pose id {pid!r}") from None

    def raw_poses(self, pids: Sequence[str]) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """z-up ``(B, 22, 3)`` poses of the ids, and per-pose meta dicts."""
        out = np.zeros((len(pids), NUM_BODY_JOINTS, 3))
        metas: list[dict[str, Any]] = []
        for i, pid in enumerate(pids):
            dataset, seq_name, frame = self.get_entry(pid)
            path = self._resolve(dataset, seq_name, pid)
            if path not in self._cache:
                self._cache[path] = read_amass_sequence(path)
            seq = self._cache[path]
            if not 0 <= frame < len(seq.poses):
                raise LoaderError(f"{self.ids_file}: pose {pid}: frame {frame} out of range for {path} "
                                  f"(field 'poses' has {len(seq.poses)} frames)")
            out[i] = seq.poses[frame]
            metas.append(_seq_meta(seq, frame) | {"dataset": dataset, "sequence": seq_name, "pose_id": pid})
        return out, metas


def _find_ids_file(dirs: Sequence[Path], version: str) -> Path:
    name = f"ids_2_dataset_sequence_and_frame_index_{version}.json"
    for d in dirs:
        if (d / name).is_file():
            return d / name
    raise LoaderError(f"{dirs[0] / name}: pose id -> (dataset, sequence, frame) file not found "
                      f"(looked in {', '.join(map(str, dirs))})")


def read_text_files(files: Sequence[Path], what: str) -> dict[str, list[str]]:
    """Merge id -> text / [texts] JSON files, in order (earlier files' texts come first)."""
    merged: dict[str, list[str]] = {}
    for path in files:
        raw = read_json(path, what)
        if not isinstance(raw, Mapping):
            raise LoaderError(f"{path}: {what} must be a JSON object mapping ids to texts")
        for key, value in raw.items():
            texts = clean_texts(value, f"{path}: entry {key!r}")
            if texts:
                merged.setdefault(str(key), []).extend(texts)
    return merged


def caption_file_kind(path: Path) -> str:
    """Kind of the captions of a PoseScript caption file: "posescript" for the automatic ones
    (``posescript_auto_*.json``: PoseScript's own captioner), "human" otherwise."""
    return "posescript" if "auto" in Path(path).name.lower() else "human"


def read_caption_files(files: Sequence[Path], what: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """:func:`read_text_files` for caption files, with each text's kind
    (:func:`caption_file_kind`): ``(id -> texts, id -> kinds)``, parallel lists."""
    texts: dict[str, list[str]] = {}
    kinds: dict[str, list[str]] = {}
    for path in files:
        for key, values in read_text_files([path], what).items():
            texts.setdefault(key, []).extend(values)
            kinds.setdefault(key, []).extend([caption_file_kind(path)] * len(values))
    return texts, kinds


def _glob(root: Path, patterns: Sequence[str]) -> list[Path]:
    return [p for pat in patterns for p in sorted(root.glob(pat))]


def load_posescript(root: str | Path, amass_root: str | Path, *, render_fn: RenderFn,
                    version: str = "100k", caption_files: Sequence[str | Path] | None = None,
                    splits: Sequence[str] = ("train", "val", "test"),
                    dataset_roots: Mapping[str, str | Path] | None = None,
                    joints_fn: JointsFn | None = None) -> Iterator[dict[str, Any]]:
    """PoseScript poses with their captions, as pose rows with ids ``posescript:<pose id>``.

    ``caption_files`` defaults to ``posescript_human_*.json`` then ``posescript_auto_*.json`` in
    ``root``; poses without any caption are skipped (logged). Rows come in split then id order.
    """
    root = Path(root)
    lookup = PoseLookup(_find_ids_file([root], version), Path(amass_root), dataset_roots)
    files = [Path(f) for f in caption_files] if caption_files is not None else _glob(
        root, ["posescript_human_*.json", "posescript_auto_*.json"])
    if not files:
        raise LoaderError(f"{root}: no PoseScript caption files (posescript_human_*.json / posescript_auto_*.json)")
    captions, kinds = read_caption_files(files, "PoseScript captions")
    for split_name in splits:
        split = normalize_split(split_name, "load_posescript(splits)")
        split_file = root / f"{split}_ids_{version}.json"
        ids = read_json(split_file, "PoseScript split file")
        if not isinstance(ids, list):
            raise LoaderError(f"{split_file}: expected a JSON list of pose ids")
        unknown = [i for i in ids if not isinstance(i, (int, str)) or isinstance(i, bool) or str(i) not in lookup.entries]
        if unknown:
            raise LoaderError(f"{split_file}: {len(unknown)} pose ids not in {lookup.ids_file.name} "
                              f"(e.g. {unknown[:3]})")
        pids = sorted({str(i) for i in ids}, key=lambda s: (len(s), s))
        kept = [p for p in pids if p in captions]
        if len(kept) < len(pids):
            log.warning("%s: %d of %d poses have no caption and are skipped", split_file,
                        len(pids) - len(kept), len(pids))
        if not kept:
            continue
        raw, metas = lookup.raw_poses(kept)
        canon, yaws = amass_to_canonical(raw)
        joints = compute_joints(joints_fn, canon)
        for k, pid in enumerate(kept):
            image = check_render(render_fn(canon[k]), f"posescript pose {pid}")
            yield _pose_row(f"posescript:{pid}", canon[k], joints[k], image, captions[pid], split,
                            "posescript", metas[k] | {"yaw_removed": float(yaws[k])}, kinds[pid])


def _read_pair_index(path: Path) -> dict[str, tuple[str, str]]:
    raw = read_json(path, "PoseFix pair index")
    items = raw.items() if isinstance(raw, Mapping) else enumerate(raw) if isinstance(raw, list) else None
    if items is None:
        raise LoaderError(f"{path}: expected a JSON list or object of [pose A id, pose B id]")
    out: dict[str, tuple[str, str]] = {}
    for key, value in items:
        if (not isinstance(value, (list, tuple)) or len(value) != 2
                or not all(isinstance(v, (int, str)) and not isinstance(v, bool) for v in value)):
            raise LoaderError(f"{path}: pair {key!r} must be [pose A id, pose B id], got {value!r}")
        out[str(key)] = (str(value[0]), str(value[1]))
    return out


def load_posefix(root: str | Path, amass_root: str | Path, *, render_fn: RenderFn,
                 posescript_dir: str | Path | None = None, version: str = "100k",
                 splits: Sequence[str] = ("train", "val", "test"), kinds: Sequence[str] = ("in", "out"),
                 missing_caption: str | None = None,
                 dataset_roots: Mapping[str, str | Path] | None = None,
                 joints_fn: JointsFn | None = None, report: LoadReport | None = None) -> Iterator[dict[str, Any]]:
    """PoseFix pairs: yields the pose rows first, then the pair rows (see :func:`split_rows`).

    Pose rows: ``posefix:<id>`` (own heading removed) and, for the B pose of an in-sequence pair,
    ``posefix:<B id>~yaw-of:<A id>`` (B rotated by A's normalising yaw, so the relative turn
    survives). Pose captions come from the PoseScript caption files in ``posescript_dir`` (the
    PoseScript release; default ``root``, which in the PoseFix release has none: an error says
    so); a pose without one gets ``missing_caption`` or, when that is ``None``, its pairs are
    skipped (logged, counted in ``report``). Pairs without instructions are skipped too.
    """
    root = Path(root)
    ps_dir = Path(posescript_dir) if posescript_dir is not None else root
    lookup = PoseLookup(_find_ids_file([root, ps_dir], version), Path(amass_root), dataset_roots)
    pair_index = _read_pair_index(root / "pair_id_2_pose_ids.json")
    unknown = {k: v for k, v in pair_index.items() if v[0] not in lookup.entries or v[1] not in lookup.entries}
    if unknown:
        raise LoaderError(f"{root / 'pair_id_2_pose_ids.json'}: {len(unknown)} pairs name pose ids not in "
                          f"{lookup.ids_file.name} (e.g. {dict(list(unknown.items())[:3])})")
    instr_files = _glob(root, ["posefix_human_*.json", "posefix_auto_*.json", "posefix_paraphrases_*.json"])
    if not instr_files:
        raise LoaderError(f"{root}: no PoseFix instruction files (posefix_human_*.json / posefix_auto_*.json)")
    instructions = read_text_files(instr_files, "PoseFix instructions")
    caption_files = _glob(ps_dir, ["posescript_human_*.json", "posescript_auto_*.json"])
    if not caption_files and missing_caption is None:
        raise LoaderError(f"{ps_dir}: no PoseScript caption files (posescript_human_*.json / "
                          f"posescript_auto_*.json); PoseFix's pose captions ship with the PoseScript "
                          f"release: give its folder (--posescript-root DIR, posescript_dir=)")
    pose_caps, pose_kinds = read_caption_files(caption_files, "PoseScript captions")

    def caption_of(pid: str) -> list[str] | None:
        return pose_caps.get(pid) or ([missing_caption] if missing_caption else None)

    pairs: list[dict[str, Any]] = []
    poses_needed: dict[str, tuple[str, str | None, str]] = {}  # row id -> (pose id, yaw source, split)
    skipped = {"no instructions": 0, "no pose caption": 0}
    for split_name in splits:
        split = normalize_split(split_name, "load_posefix(splits)")
        for kind in kinds:
            if kind not in ("in", "out"):
                raise ValueError(f"kinds must be 'in' or 'out', got {kind!r}")
            path = root / f"{split}_{kind}_sequence_pair_ids.json"
            ids = read_json(path, "PoseFix split file")
            if not isinstance(ids, list):
                raise LoaderError(f"{path}: expected a JSON list of pair ids")
            for raw_pid in sorted({str(i) for i in ids}, key=lambda s: (len(s), s)):
                if raw_pid not in pair_index:
                    raise LoaderError(f"{path}: pair id {raw_pid} is missing from pair_id_2_pose_ids.json")
                a, b = pair_index[raw_pid]
                if raw_pid not in instructions:
                    skipped["no instructions"] += 1
                    continue
                if caption_of(a) is None or caption_of(b) is None:
                    skipped["no pose caption"] += 1
                    continue
                a_row = f"posefix:{a}"
                poses_needed[a_row] = (a, None, split)
                if kind == "in":
                    if lookup.sequence_key(a) != lookup.sequence_key(b):
                        log.warning("%s: in-sequence pair %s joins poses of different sequences", path, raw_pid)
                    b_row = f"posefix:{b}~yaw-of:{a}"
                    poses_needed[b_row] = (b, a, split)
                else:
                    b_row = f"posefix:{b}"
                    poses_needed[b_row] = (b, None, split)
                pairs.append({"pair_id": f"posefix:{raw_pid}", "a_id": a_row, "b_id": b_row, "kind": kind,
                              "instructions": instructions[raw_pid], "split": split, "source": "posefix",
                              "meta": to_meta({"pair_id": raw_pid, "pose_a": a, "pose_b": b})})
    for why, n in skipped.items():
        if n:
            log.warning("%s: %d PoseFix pairs skipped (%s)", root, n, why)
        if report is not None:
            report.skip(f"PoseFix pairs: {why}", n)
    if skipped["no pose caption"] and not pairs:
        raise LoaderError(f"{root}: every PoseFix pair lacks a pose caption in {ps_dir}; the pose captions "
                          f"are the PoseScript release's: give its folder (--posescript-root DIR)")
    row_ids = list(poses_needed)
    pids = [poses_needed[r][0] for r in row_ids]
    raw, metas = lookup.raw_poses(pids)
    _, own_yaws = amass_to_canonical(raw)
    yaw_of_id = {pid: own_yaws[i] for i, pid in enumerate(pids)}
    # an in-sequence B row takes its A's yaw; A poses are always rows themselves
    yaws = np.array([yaw_of_id[poses_needed[r][1] or poses_needed[r][0]] for r in row_ids])
    canon, _ = amass_to_canonical(raw, yaw=yaws) if row_ids else (np.zeros((0, 22, 3), np.float32), None)
    joints = compute_joints(joints_fn, canon)
    for k, rid in enumerate(row_ids):
        pid, yaw_src, split = poses_needed[rid]
        image = check_render(render_fn(canon[k]), f"posefix pose {rid}")
        meta = metas[k] | {"yaw_removed": float(yaws[k]), "yaw_of": yaw_src or pid}
        # a placeholder caption (missing_caption) has no known kind
        yield _pose_row(rid, canon[k], joints[k], image, caption_of(pid) or [], split, "posefix", meta,
                        pose_kinds.get(pid) if pid in pose_caps else None)
    yield from pairs

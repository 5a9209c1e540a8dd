"""Corrupt, truncated, empty and wrong-schema files for the dataset loaders and the dataset store.

Each format gets one valid tree written by :mod:`tests.data.loader_files` (the real on-disk
layouts); every case copies that tree, breaks one file in a generated way and runs the loader.
Breakages that always leave a bad file: a cut (any strict prefix of a zip, JSON document, pickle
or image is invalid), a flipped bit where a checksum or a parser guards it (zip members carry a
CRC-32, PNG headers too), dropped required keys, values of the wrong type, shape or with NaN.
The documented errors are ``ValueError`` (``LoaderError``, ``DatasetError``, ...) and
``FileNotFoundError``; the message must name the broken file.
"""

from __future__ import annotations

import functools
import json
import pickle
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.reliability.harness import Case

ERRORS = (ValueError, FileNotFoundError)
Mutate = Callable[[Path], None]


# ----------------------------------------------------------------------------------- breakages
def cut_at(offset: int) -> Mutate:
    def apply(path: Path) -> None:
        data = path.read_bytes()
        path.write_bytes(data[: offset % max(len(data), 1)])
    return apply


def flip(offset: int, bit: int) -> Mutate:
    def apply(path: Path) -> None:
        data = bytearray(path.read_bytes())
        data[offset % len(data)] ^= 1 << bit
        path.write_bytes(bytes(data))
    return apply


def replace_bytes(data: bytes) -> Mutate:
    return lambda path: path.write_bytes(data)


def each_file(pattern: str, data: bytes) -> Mutate:
    """Overwrite every file matching ``pattern`` in a folder with ``data``."""
    def apply(folder: Path) -> None:
        for path in folder.glob(pattern):
            path.write_bytes(data)
    return apply


def delete(path: Path) -> None:
    path.unlink()


def edit_npz(change: Callable[[dict[str, Any]], dict[str, Any]]) -> Mutate:
    def apply(path: Path) -> None:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        np.savez(path, **change(arrays))
    return apply


def edit_json(change: Callable[[Any], Any]) -> Mutate:
    return lambda path: path.write_text(json.dumps(change(json.loads(path.read_text()))))


def edit_pickle(change: Callable[[Any], Any]) -> Mutate:
    from pose_search.data.loaders import safe_load_pickle

    return lambda path: path.write_bytes(pickle.dumps(change(safe_load_pickle(path)), protocol=2))


def _set(key: str, value: Any) -> Callable[[dict], dict]:
    return lambda d: {**d, key: value}


def _drop(key: str) -> Callable[[dict], dict]:
    return lambda d: {k: v for k, v in d.items() if k != key}


# ----------------------------------------------------------------------------------- cases
def _run(template: Path, work: Path, target: str, mutate: Mutate, load: Callable[[Path], Any]) -> int:
    """Copy ``template`` to ``work``, break ``work/target``, run the loader over ``work``."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(template, work)
    mutate(work / target)
    return len(list(load(work)))


class Format:
    """One file format: a valid template tree, the loader call, and a counter for case folders."""

    def __init__(self, name: str, template: Path, load: Callable[[Path], Any], work: Path) -> None:
        self.name, self.template, self.load, self.work = name, template, load, work
        self.n = 0

    def case(self, target: str, label: str, mutate: Mutate, mentions: str | None = None) -> Case:
        self.n += 1
        call = functools.partial(_run, self.template, self.work / f"{self.name}{self.n:03d}", target, mutate, self.load)
        return Case(f"{self.name}: {target} {label}", call, mentions or re.escape(Path(target).name), ERRORS)

    def byte_cases(self, target: str, rng: np.random.Generator, cuts: int, flips: int = 0,
                   flip_span: tuple[int, int] | None = None) -> list[Case]:
        """Cuts at random offsets, bit flips in ``flip_span`` (default: anywhere), empty, junk."""
        size = (self.template / target).stat().st_size
        out = [self.case(target, "emptied", replace_bytes(b"")),
               self.case(target, "junk bytes", replace_bytes(rng.integers(0, 256, 64, dtype=np.uint8).tobytes()))]
        for off in rng.integers(1, size - 1, size=cuts):
            out.append(self.case(target, f"cut at {off}/{size}", cut_at(int(off))))
        lo, hi = flip_span or (0, size)
        for off, bit in zip(rng.integers(lo, hi, size=flips), rng.integers(0, 8, size=flips)):
            out.append(self.case(target, f"bit {bit} of byte {off} flipped", flip(int(off), int(bit))))
        return out


def _npz_member_span(path: Path) -> tuple[int, int]:
    """Byte span of the first member's data in an uncompressed ``.npz`` (guarded by its CRC)."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        info = z.infolist()[0]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    return start, start + info.compress_size


def amass_cases(root: Path, rng: np.random.Generator) -> list[Case]:
    from pose_search.data.loaders import load_dataset
    from tests.data.loader_files import amass_poses, captions, fk, png_bytes, write_amass

    template = root / "template"
    rel = "CMU/01/a_poses.npz"
    write_amass(template, rel, amass_poses([0.1, 0.5, 0.9]))
    fmt = Format("amass", template, lambda r: load_dataset("amass", r, caption_fn=captions, render_fn=png_bytes,
                                                         joints_fn=fk, stride=1), root)
    cases = fmt.byte_cases(rel, rng, cuts=15, flips=15, flip_span=_npz_member_span(template / rel))
    good = amass_poses([0.1, 0.5, 0.9])
    for label, value in [("2-D wrong width", good[:, :60]), ("1-D", good[0]), ("3-D", good[:, :, None]),
                         ("no frames", good[:0]), ("strings", np.full(good.shape, "a")), ("complex", good + 1j),
                         ("bool", good > 0), ("NaN", np.where(np.arange(good.size).reshape(good.shape) == 7, np.nan, good)),
                         ("inf", np.where(np.arange(good.size).reshape(good.shape) == 3, np.inf, good)),
                         ("scalar", np.array(1.0))]:
        cases.append(fmt.case(rel, f"'poses' {label}", edit_npz(_set("poses", value))))
    cases.append(fmt.case(rel, "without 'poses'", edit_npz(_drop("poses"))))
    cases.append(fmt.case(rel, "'mocap_framerate' strings", edit_npz(_set("mocap_framerate", np.array(["x"])))))
    cases.append(fmt.case(rel, "'betas' NaN", edit_npz(_set("betas", np.full(16, np.nan)))))
    cases.append(fmt.case(rel, "pickled object", lambda p: np.savez(p, poses=np.array([{"a": 1}], dtype=object))))
    return cases


def posescript_cases(root: Path, rng: np.random.Generator) -> list[Case]:
    from pose_search.data.loaders import load_dataset
    from tests.data.loader_files import fk, png_bytes, write_posefix, write_posescript

    template = root / "template"
    template.mkdir(parents=True, exist_ok=True)
    write_posescript(template)
    write_posefix(template / "posescript")

    def load_ps(r: Path) -> Any:
        return load_dataset("posescript", r / "posescript", r / "amass", render_fn=png_bytes, joints_fn=fk)

    def load_pf(r: Path) -> Any:
        return load_dataset("posefix", r / "posefix", r / "amass", render_fn=png_bytes, joints_fn=fk,
                            posescript_dir=r / "posescript")

    ps = Format("posescript", template, load_ps, root)
    pf = Format("posefix", template, load_pf, root)
    cases = []
    ids = "posescript/ids_2_dataset_sequence_and_frame_index_100k.json"
    for target in (ids, "posescript/train_ids_100k.json", "posescript/posescript_auto_100k.json",
                   "posescript/posescript_human_6293.json"):
        cases += ps.byte_cases(target, rng, cuts=5)
    for label, change in [("a list", lambda d: list(d.values())), ("a string", lambda d: "ids"),
                          ("entry without frame", lambda d: {**d, "0": d["0"][:2]}),
                          ("frame a string", lambda d: {**d, "0": [d["0"][0], d["0"][1], "one"]}),
                          ("frame out of range", lambda d: {**d, "0": [d["0"][0], d["0"][1], 999]}),
                          ("negative frame", lambda d: {**d, "0": [d["0"][0], d["0"][1], -40]}),
                          ("entry a number", lambda d: {**d, "0": 5}),
                          ("unknown sequence", lambda d: {**d, "0": ["CMU", "CMU/99/none_poses.npz", 0]}),
                          ("path escaping the root", lambda d: {**d, "0": ["CMU", "../../../etc/passwd", 0]})]:
        cases.append(ps.case(ids, label, edit_json(change), mentions=r"ids_2_dataset|none_poses|passwd|pose 0"))
    for label, change in [("ids strings", lambda d: ["a", "b"]), ("a dict", lambda d: {"x": 1}),
                          ("nested lists", lambda d: [[0], [1]]), ("null", lambda d: None)]:
        cases.append(ps.case("posescript/train_ids_100k.json", label, edit_json(change)))
    for label, change in [("texts numbers", lambda d: {k: 5 for k in d}), ("a list", lambda d: [1, 2])]:
        cases.append(ps.case("posescript/posescript_auto_100k.json", label, edit_json(change)))
    cases.append(ps.case(ids, "deleted", delete))
    pairs = "posefix/pair_id_2_pose_ids.json"
    for target in (pairs, "posefix/train_in_sequence_pair_ids.json", "posefix/posefix_auto_135305.json"):
        cases += pf.byte_cases(target, rng, cuts=5)
    for label, change in [("pairs of 3", lambda d: [p + [0] for p in d]), ("pairs strings", lambda d: ["ab"] * len(d)),
                          ("unknown pose ids", lambda d: [[100, 101]] * len(d)), ("a number", lambda d: 7),
                          ("pose id a list", lambda d: [[[0], 1]] + d[1:])]:
        cases.append(pf.case(pairs, label, edit_json(change), mentions=r"pair_id_2_pose_ids|pair|pose id"))
    for label, change in [("unknown pair ids", lambda d: [99]), ("strings", lambda d: ["x"]), ("a dict", lambda d: {})]:
        cases.append(pf.case("posefix/train_in_sequence_pair_ids.json", label, edit_json(change),
                             mentions=r"train_in_sequence_pair_ids|pair"))
    cases.append(pf.case(pairs, "deleted", delete))
    return cases


def bedlam_cases(root: Path, rng: np.random.Generator) -> list[Case]:
    from pose_search.data.loaders import load_dataset
    from tests.data.loader_files import captions, fk, write_bedlam

    template = root / "template"
    scene = "20221010_3_1000_batch01hand_6fps"
    write_bedlam(template, scene, [((300, 100, 500, 600), 3.0, 0), ((1000, 50, 1250, 700), 2.0, 0)],
                 (1280, 720), [0.0, 0.5])
    fmt = Format("bedlam", template, lambda r: load_dataset(
        "bedlam", r / "bedlam_labels" / "training", r / "bedlam_images" / "training", caption_fn=captions,
        joints_fn=fk), root)
    rel = f"bedlam_labels/training/{scene}.npz"
    image = f"bedlam_images/training/{scene}/png/seq_000000/seq_000000_0000.png"
    cases = fmt.byte_cases(rel, rng, cuts=10, flips=10, flip_span=_npz_member_span(template / rel))
    cases += fmt.byte_cases(image, rng, cuts=6, flips=6, flip_span=(0, 33))
    cases.append(fmt.case(image, "deleted", delete))
    with np.load(template / rel) as data:
        good = {k: data[k] for k in data.files}
    for key in ("imgname", "pose_world", "gtkps", "shape", "trans_cam"):
        cases.append(fmt.case(rel, f"without {key!r}", edit_npz(_drop(key)),
                              mentions=rf"{re.escape(scene)}|{key}"))
    for key in ("pose_world", "gtkps", "shape", "trans_cam"):
        for label, value in [("one row short", good[key][:1]), ("strings", np.full(good[key].shape, "x")),
                             ("wrong last size", good[key][..., :1]), ("scalar", np.array(0.0))]:
            cases.append(fmt.case(rel, f"{key!r} {label}", edit_npz(_set(key, value))))
    cases.append(fmt.case(rel, "'pose_world' NaN", edit_npz(_set("pose_world", good["pose_world"] * np.nan))))
    cases.append(fmt.case(rel, "'imgname' of a missing image", edit_npz(_set("imgname", np.array(["x/none.png"] * 2))),
                          mentions="none.png"))
    return cases


def bedlam_raw_cases(root: Path, rng: np.random.Generator) -> list[Case]:
    from pose_search.data.loaders import load_dataset
    from tests.data.loader_files import SCENE, captions, write_scene

    template = root / "template"
    write_scene(template)
    fmt = Format("bedlam-raw", template, lambda r: load_dataset(
        "bedlam-raw", r / "bedlam" / "training", r / "gt", caption_fn=captions), root)
    seq = f"bedlam/training/{SCENE}/be_seq.csv"
    cam = f"bedlam/training/{SCENE}/ground_truth/camera/seq_000000_camera.csv"
    motion = "gt/rp_alice_posed_001/0001/motion_seq.npz"
    frame = f"bedlam/training/{SCENE}/png/seq_000000/seq_000000_0000.png"
    cases = fmt.byte_cases(motion, rng, cuts=8, flips=8, flip_span=_npz_member_span(template / motion))
    cases += fmt.byte_cases(frame, rng, cuts=4, flips=4, flip_span=(0, 33))
    for target in (seq, cam, motion):  # (a missing frame is a frame not rendered: skipped by design)
        cases.append(fmt.case(target, "deleted", delete))
    text = (template / seq).read_text()
    for label, new in [("no header", "\n".join(text.splitlines()[1:])), ("NUL byte", text.replace("350.0", "35\x000.0", 1)),
                       ("binary", "\x89PNG\x00\x01"), ("start frame not a number", text.replace("start_frame=2", "start_frame=x")),
                       ("X not a number", text.replace("350.0", "far", 1)), ("only a header", text.splitlines()[0]),
                       ("columns renamed", text.replace("Body", "Bodi", 1))]:
        cases.append(fmt.case(seq, label, replace_bytes(new.encode())))
    ctext = (template / cam).read_text()
    for label, new in [("focal nan", ctext.replace("24.0", "nan", 1)), ("pitch text", ctext.replace("0.0", "up", 1)),
                       ("NUL byte", ctext.replace("24.0", "2\x004.0", 1)), ("no rows", ctext.splitlines()[0])]:
        cases.append(fmt.case(cam, label, replace_bytes(new.encode())))
    cases.append(fmt.case(cam, "not UTF-8", replace_bytes(ctext.encode().replace(b"24.0", b"\xff\xfe", 1))))
    with np.load(template / motion) as data:
        good = {k: data[k] for k in data.files}
    for key in ("poses", "trans"):
        cases.append(fmt.case(motion, f"without {key!r}", edit_npz(_drop(key))))
        for label, value in [("NaN", good[key] * np.nan), ("1-D", good[key][0]), ("strings", np.full(good[key].shape, "x")),
                             ("too few frames", good[key][:1])]:
            cases.append(fmt.case(motion, f"{key!r} {label}", edit_npz(_set(key, value))))
    return cases


def threedpw_cases(root: Path, rng: np.random.Generator) -> list[Case]:
    from pose_search.data.loaders import load_dataset
    from tests.data.loader_files import captions, fk, write_3dpw, write_pe_3dpw

    template = root / "template"
    write_3dpw(template, [0.0, 0.4, -1.0])
    fmt = Format("3dpw", template, lambda r: load_dataset("3dpw", r, caption_fn=captions, joints_fn=fk), root)
    rel = "sequenceFiles/test/courtyard_basketball_00.pkl"
    cases = fmt.byte_cases(rel, rng, cuts=15)
    cases.append(fmt.case("imageFiles/courtyard_basketball_00/image_00001.jpg", "cut", cut_at(200)))
    for key in ("poses", "jointPositions", "cam_poses", "cam_intrinsics"):
        cases.append(fmt.case(rel, f"without {key!r}", edit_pickle(_drop(key))))
    for key, label, value in [("poses", "one person short of frames", lambda s: [s["poses"][0][:1], s["poses"][1]]),
                              ("poses", "wrong width", lambda s: [p[:, :50] for p in s["poses"]]),
                              ("poses", "a string", lambda s: "poses"), ("poses", "NaN", lambda s: [p * np.nan for p in s["poses"]]),
                              ("jointPositions", "one person", lambda s: s["jointPositions"][:1]),
                              ("cam_poses", "3x3", lambda s: s["cam_poses"][:, :3, :3]),
                              ("cam_intrinsics", "strings", lambda s: np.full((3, 3), "k")),
                              ("img_frame_ids", "too short", lambda s: s["img_frame_ids"][:1]),
                              ("campose_valid", "a number", lambda s: 3)]:
        cases.append(fmt.case(rel, f"{key!r} {label}", edit_pickle(lambda s, k=key, v=value: {**s, k: v(s)})))
    cases.append(fmt.case(rel, "a list instead of a dict", edit_pickle(lambda s: [s])))
    cases.append(fmt.case(rel, "a pickled function", replace_bytes(pickle.dumps(print))))
    pe_template = root / "pe_template"
    write_pe_3dpw(pe_template)
    pe = Format("3dpw-pe", pe_template, lambda r: load_dataset("3dpw", r, caption_fn=captions, joints_fn=fk), root)
    cases += pe.byte_cases("3dpw_test.pkl", rng, cuts=10)
    img = "imageFiles/courtyard_dancing_00/image_00001.jpg"

    def human(key: str, value: Any) -> Callable[[Any], Any]:
        def change(d: dict) -> dict:
            rec = dict(d[img])
            rec["humans"] = [{**rec["humans"][0], key: value}, *rec["humans"][1:]]
            return {**d, img: rec}
        return change

    for key, value in [("smplx_root_pose", np.zeros(2)), ("smplx_body_pose", "pose"), ("smplx_pose2d", np.zeros((5, 2))),
                       ("smplx_transl", np.zeros(7)), ("smplx_shape", np.array([np.nan] * 11)),
                       ("smplx_root_pose", None)]:
        cases.append(pe.case("3dpw_test.pkl", f"human 0 {key!r} = {type(value).__name__}", edit_pickle(human(key, value))))
    for label, change in [("record a list", lambda d: {**d, img: [1]}), ("humans a dict", lambda d: {**d, img: {"humans": {}}}),
                          ("a list", lambda d: list(d)), ("image path of a missing file", lambda d: {"imageFiles/x/none.jpg": d[img]})]:
        cases.append(pe.case("3dpw_test.pkl", label, edit_pickle(change), mentions=r"3dpw_test\.pkl|none\.jpg"))
    return cases


def write_dataset(root: Path) -> Path:
    """A small dataset directory (two commits of AMASS rows, a manifest) to break."""
    from pose_search.data.loaders import load_dataset
    from pose_search.data.manifest import build_manifest
    from pose_search.data.schema import POSES_TABLE, pose_rows_to_table
    from pose_search.data.store import append_rows, write_json_atomic
    from tests.data.loader_files import amass_poses, captions, fk, png_bytes, write_amass

    write_amass(root / "amass", "CMU/a_poses.npz", amass_poses([0.1 * t for t in range(8)]))
    rows = list(load_dataset("amass", root / "amass", caption_fn=captions, render_fn=png_bytes, joints_fn=fk, stride=1))
    data = root / "dataset"
    for part in (rows[:4], rows[4:]):
        append_rows(data, POSES_TABLE, pose_rows_to_table(part))
    write_json_atomic(data / "manifest.json", build_manifest(data, {"kind": "script"}, status="complete", source="amass"))
    return data


def store_cases(root: Path, rng: np.random.Generator) -> list[Case]:
    """``read_manifest`` / ``read_table`` of a dataset with a broken manifest or table."""
    from pose_search.data.schema import POSES_TABLE
    from pose_search.data.store import read_manifest, read_table

    dataset = write_dataset(root / "template")
    fmt = Format("store", dataset, lambda r: (read_manifest(r), read_table(r, POSES_TABLE).to_pylist())[1], root)
    cases = fmt.byte_cases("manifest.json", rng, cuts=10)
    for label, change in [("a list", lambda m: [m]), ("a string", lambda m: "manifest"), ("no kind", _drop("kind")),
                          ("null", lambda m: None)]:
        cases.append(fmt.case("manifest.json", label, edit_json(change)))
    table = dataset / POSES_TABLE
    data_files = sorted(p.relative_to(dataset).as_posix() for p in (table / "data").glob("*.lance"))
    for rel in data_files[:2]:
        size = (dataset / rel).stat().st_size
        for off in rng.integers(1, size - 1, size=4):
            cases.append(fmt.case(rel, f"cut at {off}/{size}", cut_at(int(off)), mentions=re.escape(POSES_TABLE)))
        cases.append(fmt.case(rel, "deleted", delete, mentions=re.escape(POSES_TABLE)))
    for label, data in [("emptied", b""), ("junk", b"\x00junk" * 10)]:
        cases.append(fmt.case(POSES_TABLE + "/_versions", f"every manifest {label}", each_file("*.manifest", data),
                              mentions=re.escape(POSES_TABLE)))
    cases.append(fmt.case(POSES_TABLE, "removed", shutil.rmtree, mentions=re.escape(POSES_TABLE)))
    cases.append(fmt.case(POSES_TABLE + "/_versions", "removed", shutil.rmtree, mentions=re.escape(POSES_TABLE)))
    return cases


def file_cases(folder: Path, rng: np.random.Generator) -> list[Case]:
    """Every broken-file case, written under ``folder``."""
    return (amass_cases(folder / "amass", rng) + posescript_cases(folder / "posescript", rng)
            + bedlam_cases(folder / "bedlam", rng) + bedlam_raw_cases(folder / "bedlam_raw", rng)
            + threedpw_cases(folder / "3dpw", rng) + store_cases(folder / "store", rng))

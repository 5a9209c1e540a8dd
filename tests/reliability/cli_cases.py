"""Bad command lines for every ``pose-search`` subcommand (run by :mod:`tests.reliability.cli_run`:
in-process, under tripwires, and a handful as real processes).

Each case breaks one argument of an otherwise good command line (real dataset, runs and index);
commands that write get a fresh output path per case.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.reliability import junk
from tests.reliability.cli_run import CliError, Processes, run_cli
from tests.reliability.harness import Case
from tests.reliability.service_cases import bad_pose_files


@dataclass
class Places:
    """Real inputs (the good half of each command line) and a scratch folder for bad files."""

    dataset: Path
    core_run: Path
    index: Path
    hps_run: Path
    instructions_run: Path
    work: Path
    made: int = 0

    def fresh(self, prefix: str) -> str:
        """A new output path per case: a command line that got further than it should must not
        leave state (a manifest, a run.json) that changes what the next case sees."""
        self.made += 1
        return str(self.work / f"{prefix}{self.made:03d}")


def _case(argv: list[str], mentions: str) -> Case:
    shown = " ".join(a if len(a) < 40 else a[:37] + "..." for a in argv)
    return Case(f"pose-search {shown}", functools.partial(run_cli, argv), mentions, (CliError,))


def _swap(base: list[str], flag: str, value: str | None) -> list[str]:
    """``base`` with ``flag``'s value replaced by ``value`` (appended when absent; removed when None)."""
    argv = list(base)
    if flag in argv:
        i = argv.index(flag)
        del argv[i : i + 2]
    return argv + ([flag, value] if value is not None else [])


def bad_paths(work: Path, dataset: Path, index: Path) -> dict[str, Path]:
    """Paths that are not what a command wants: missing, a file, an empty folder, garbage."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "a_file.txt").write_text("just text")
    (work / "empty").mkdir(exist_ok=True)
    garbage = work / "garbage"
    garbage.mkdir(exist_ok=True)
    for name in ("manifest.json", "index.json", "config.json", "bundle.json"):
        (garbage / name).write_text("{not json")
    wrong = work / "wrong_json"
    wrong.mkdir(exist_ok=True)
    for name in ("manifest.json", "index.json", "config.json", "bundle.json"):
        (wrong / name).write_text(json.dumps([1, 2, 3]))
    foreign = work / "foreign"  # a folder of something else (an output must not go there)
    foreign.mkdir(exist_ok=True)
    (foreign / "notes.txt").write_text("not ours")
    return {"missing": work / "nope", "file": work / "a_file.txt", "empty dir": work / "empty",
            "garbage json": garbage, "json list": wrong, "foreign": foreign, "dataset": dataset, "index": index}


NUMBERS_INT = ["abc", "1.5", "", "1e3", "0x10", "--", "\u2163"]  # argparse refuses these for type=int (IV)
NUMBERS_FLOAT = ["abc", "", "1,5", "one"]
HUGE_COUNTS = ["1025", "1000000", "99999999999999999999"]  # workers no cluster has (the cap: 1,024)


def _number_cases(base: list[str], flag: str, bad: list[str], mentions: str) -> list[Case]:
    return [_case(_swap(base, flag, v), mentions) for v in bad]


def data_cases(p: Places, paths: dict[str, Path], rng: np.random.Generator) -> list[Case]:
    def gen(flag: str, value: str | None) -> list[str]:
        base = ["data", "generate", "--kind", "script", "--size", "4", "--out", p.fresh("gen"), "--workers", "1"]
        return _swap(base, flag, value)

    cases = [_case(gen("--size", v), "size") for v in NUMBERS_INT + ["0", "1", "-5", "1000000000000"]]
    cases += [_case(gen("--seed", v), "seed") for v in NUMBERS_INT + ["-1"]]
    cases += [_case(gen("--workers", v), "workers") for v in NUMBERS_INT + ["0", "-2", "100000"]]
    cases += [_case(gen("--val-fraction", v), "val.fraction") for v in NUMBERS_FLOAT + ["1", "1.5", "-0.1", "nan", "inf"]]
    cases += [_case(gen("--kind", v), "kind") for v in ("scripts", "FIX", "", "pose")]
    cases += [_case(gen("--image-format", v), "image.format") for v in ("gif", "JPG", "")]
    cases.append(_case(gen("--pair-feature", str(paths["missing"])), "pair.feature"))
    for label in ("missing", "file", "empty dir", "garbage json", "dataset"):
        cases.append(_case(_swap(gen("--kind", "fix"), "--pair-feature", str(paths[label])), r"pair.feature|config"))
    for label in ("file", "garbage json", "json list", "foreign"):  # (never a shared fixture: it might be written)
        cases.append(_case(gen("--out", str(paths[label])), r"out|manifest|dataset|exists|directory"))
    cases.append(_case(gen("--out", str(paths["file"] / "sub")), r"out|directory"))
    cases.append(_case(gen("--out", ""), r"out"))
    cases.append(_case(gen("--out", str(p.dataset)), r"configuration|dataset"))
    cases.append(_case(["data", "generate", "--size", "4"], "out"))
    cases.append(_case(["data", "generate", "--out", p.fresh("gen")], "size"))
    show = ["data", "show", str(p.dataset), "--out", str(p.work / "sheet.png")]
    for label in ("missing", "file", "empty dir", "garbage json", "json list", "index"):
        cases.append(_case(["data", "show", str(paths[label]), "--out", str(p.work / "s.png")], r"dataset|manifest|json|kind"))
    cases += _number_cases(show, "-n", NUMBERS_INT + ["0", "-3"], r"\bn\b|-n")
    cases += [_case(_swap(show, "--out", str(p.work / name)), "out|format|png") for name in ("sheet.txt", "sheet", "")]
    for label in ("missing", "file", "empty dir", "garbage json", "json list", "index"):
        cases.append(_case(["data", "info", str(paths[label])], r"dataset|manifest|json|kind"))
    new = p.fresh("converted")  # never created: every conversion below fails
    for source in ("bedlam", "bedlam-raw", "amass", "posescript", "posefix", "3dpw"):
        extra = {"bedlam-raw": ["--gt-root", str(paths["empty dir"])],
                 "posescript": ["--amass-root", str(paths["empty dir"])],
                 "posefix": ["--amass-root", str(paths["empty dir"])]}.get(source, [])
        for label in ("missing", "file", "empty dir", "garbage json"):
            cases.append(_case(["data", "convert", source, str(paths[label]), "--out", new, *extra],
                               r"not found|no usable|missing|exist|directory|json|nope|a_file|empty|garbage"))
        cases.append(_case(["data", "convert", source, str(paths["empty dir"]), "--out", str(p.dataset), *extra],
                           r"exists|out"))
    cases += [_case(["data", "convert", s, str(paths["empty dir"]), "--out", new], r"amass.root|gt.root")
              for s in ("posescript", "posefix", "bedlam-raw")]
    cases += [_case(["data", "convert", "amass", str(paths["empty dir"]), "--out", new, "--stride", v], "stride")
              for v in ("0", "-1", "x")]
    cases += [_case(["data", "convert", s, str(paths["empty dir"]), "--out", new], "source|choice")
              for s in ("h36m", "AMASS", "")]
    cases += [_case(["data", verb], r"invalid choice|required|argument") for verb in ("nope", "generat", "")]
    cases.append(_case(["data"], "required|ACTION"))
    return cases


def body_cases(p: Places, pose_files: list[tuple[str, Path]], rng: np.random.Generator) -> list[Case]:
    from tests.reliability.pose_file_cases import hostile_paths

    good = p.work / "good_pose.npy"
    np.save(good, np.zeros((22, 3), np.float32))
    cases = [_case(["body", "mesh", str(path), "--out", str(p.work / "b.glb")], r"pose")
             for _, path in pose_files]
    cases += [_case(["body", "mesh", str(path), "--out", str(p.work / "b.glb")], r"pose file")
              for label, path in hostile_paths(p.work / "pose_paths", rng) if label != "NUL in the path"]
    cases += [_case(["body", "mesh", str(good), "--out", str(p.work / name)], r"mesh file|out|\.glb")
              for name in ("b.txt", "b", "")]
    cases += [_case(["body", "mesh", str(good), "--out", str(p.work / "b.glb"), "--backend", v], "backend|body model")
              for v in ("nope", "SMPLX", "")]
    cases += [_case(["body", "mesh", str(good), "--out", str(p.work / "b.glb"), "--topology", v], "topology")
              for v in ("nope", "smplx", "")]
    cases += [_case(["body", "build-cache", "extra"], "unrecognized|argument"), _case(["body"], "required|ACTION")]
    return cases


def train_cases(p: Places, paths: dict[str, Path]) -> list[Case]:
    def train(flag: str, value: str | None, task: str = "posevae") -> list[str]:
        return _swap(["train", task, "--run", p.fresh("run"), "--data", str(p.dataset)], flag, value)

    cases = [_case(train("--epochs", v), "epochs") for v in NUMBERS_INT + ["0", "-1"]]
    cases += [_case(train("--batch-size", v), "batch.size") for v in NUMBERS_INT + ["0", "-8", "65537", "10" * 10]]
    cases += [_case(train("--workers", v), "workers") for v in NUMBERS_INT + ["0", "-1"] + HUGE_COUNTS]
    cases += [_case(train("--epochs", v), "epochs") for v in ("100001", "10" * 12)]
    cases += [_case(train("--val-every", v), "val.every") for v in ("0", "-1", "x")]
    cases += [_case(train("--lr", v), r"\blr\b") for v in NUMBERS_FLOAT + ["0", "-1e-3", "nan", "inf"]]
    cases += [_case(train("--weight-decay", v), "weight.decay") for v in ("-1", "nan", "inf", "x")]
    cases += [_case(train("--cpus-per-worker", v), "cpus.per.worker") for v in ("0", "-1", "nan", "x", "1e9")]
    cases += [_case(train("--max-failures", v), "max.failures") for v in ("-5", "x", "1.5")]
    cases += [_case(train("--seed", v), "seed") for v in ("x", "1.5")]
    cases += [_case(train("--set", v), r"--set|option|KEY=VALUE|modle") for v in ("noequals", "modle=x", "=x")]
    cases += [_case(train("--seed", "1", task=task), "task") for task in ("nonsense", "CORE", "")]
    for label in ("missing", "file", "empty dir", "garbage json", "json list"):
        cases.append(_case(train("--data", str(paths[label])), r"data|manifest|dataset|json"))
    cases.append(_case(_swap(train("--seed", "1"), "--run", str(paths["file"])), r"run|directory|file|exists"))
    for flag in ("--pose-encoder", "--text-encoder", "--image-encoder"):
        for label in ("missing", "file", "empty dir", "garbage json"):
            cases.append(_case(train(flag, str(paths[label]), task="core"), r"encoder|checkpoint|run directory|json"))
    cases.append(_case(["train", "posevae"], "run"))
    return cases


def index_cases(p: Places, paths: dict[str, Path]) -> list[Case]:
    def build(flag: str, value: str | None) -> list[str]:
        base = ["index", "build", "--model", str(p.core_run), "--data", str(p.dataset), "--out", p.fresh("index")]
        return _swap(base, flag, value)

    cases = []
    for label in ("missing", "file", "empty dir", "garbage json", "dataset"):
        cases.append(_case(build("--model", str(paths[label])), r"core run|model|checkpoint|run"))
    for label in ("missing", "file", "empty dir", "garbage json", "json list", "index"):
        cases.append(_case(build("--data", str(paths[label])), r"dataset|manifest|json|kind"))
    for label in ("file", "garbage json", "json list", "foreign"):
        cases.append(_case(build("--out", str(paths[label])), r"index|out|corrupt|exists|json"))
    cases.append(_case(build("--out", str(paths["file"] / "x")), r"out|index|directory|a_file"))
    cases += [_case(build("--workers", v), "workers") for v in NUMBERS_INT + ["0", "-1"] + HUGE_COUNTS]
    cases += [_case(build("--batch-size", v), "batch.size") for v in NUMBERS_INT + ["0", "-64", "65537", "10" * 10]]
    cases += [_case(build("--ann", v), "ann") for v in ("nope", "FLAT", "")]
    cases += [_case(build("--recall-target", v), "recall.target") for v in NUMBERS_FLOAT + ["0", "-0.5", "1.5", "nan"]]
    cases += [_case(build("--split", v), "split") for v in ("nope", "VAL", "")]
    for label in ("missing", "file", "empty dir", "garbage json", "json list", "dataset"):
        cases.append(_case(["index", "info", str(paths[label])], r"index"))
    cases += [_case(["index"], "required|ACTION"), _case(["index", "build"], "required")]
    return cases


def search_cases(p: Places, paths: dict[str, Path], pose_files: list[tuple[str, Path]],
                 rng: np.random.Generator) -> list[Case]:
    base = ["search", "--index", str(p.index), "--text", "the person kneels"]
    cases = []
    for label in ("missing", "file", "empty dir", "garbage json", "json list", "dataset"):
        cases.append(_case(_swap(base, "--index", str(paths[label])), r"index"))
    cases += [_case(_swap(base, "-k", v), r"\bk\b|-k|k=") for v in NUMBERS_INT + ["0", "-1", "1001", "99999999999"]]
    cases += [_case(_swap(base, "--target", v), "target") for v in ("shoe", "", "POSE", "images")]
    cases += [_case(base + ["--filter", v], "filter") for v in ("noequals", "color=red", "=val", "caption=", "caption=  ")]
    cases.append(_case(["search", "--index", str(p.index)], "empty query"))
    for _, text in junk.junk_texts(rng, 8):
        if "\x00" not in text and not re.search(r"[\ud800-\udfff]", text):  # argv cannot carry these
            cases.append(_case(_swap(base, "--text", text), "text|empty"))
    cases.append(_case(_swap(base, "--text", ""), "empty|text"))
    cases.append(_case(_swap(base, "--text", "kneel " * 2000), "text"))
    for label in ("missing", "file", "empty dir"):
        cases.append(_case(base + ["--image", str(paths[label])], "image"))
    cases += [_case(_swap(base, "--pose", str(path)), "pose") for _, path in pose_files[:8]]
    cases.append(_case(["search", "--text", "a"], "index"))
    return cases


def eval_cases(p: Places, paths: dict[str, Path]) -> list[Case]:
    cases = []
    for what, model in (("retrieval", p.core_run), ("hps", p.hps_run), ("instructions", p.instructions_run)):
        base = ["eval", what, "--model", str(model), "--data", str(p.dataset)]
        for label in ("missing", "file", "empty dir", "garbage json"):
            cases.append(_case(_swap(base, "--model", str(paths[label])), r"model|run|checkpoint|json"))
        for label in ("missing", "file", "empty dir", "garbage json"):
            cases.append(_case(_swap(base, "--data", str(paths[label])), r"dataset|data|manifest|json|table"))
        cases.append(_case(_swap(base, "--split", "nope"), r"split|pairs"))
        if what != "retrieval":
            cases += [_case(_swap(base, "--limit", v), "limit") for v in ("0", "-1", "x")]
    cases.append(_case(["eval", "hps", "--model", str(p.core_run), "--data", str(p.dataset)], "HPS"))
    cases.append(_case(["eval", "instructions", "--model", str(p.hps_run), "--data", str(p.dataset)], "instructions"))
    cases.append(_case(["eval", "instructions", "--model", str(p.instructions_run), "--data", str(p.dataset),
                        "--kinds", "pose-shoe"], "kinds"))
    cases.append(_case(["eval", "retrieval", "--model", str(p.core_run), "--data", str(p.dataset),
                        "--plot", str(p.work / "recall.txt")], "plot"))
    cases.append(_case(["eval", "retrieval", "--model", str(p.core_run), "--data", str(p.dataset),
                        "--index", str(paths["missing"])], "index"))
    cases += [_case(["eval", w], r"invalid choice|required") for w in ("nope", "")]
    return cases


def head_cli_cases(p: Places, paths: dict[str, Path], pose_files: list[tuple[str, Path]]) -> list[Case]:
    """``mesh`` and ``instruct``."""
    png = p.work / "person.png"
    png.write_bytes(junk.png_bytes(np.random.default_rng(0)))
    mesh = ["mesh", "--model", str(p.hps_run), "--image", str(png), "--out", str(p.work / "m.glb")]
    cases = [_case(_swap(mesh, "--image", str(paths[label])), "image") for label in ("missing", "file", "empty dir")]
    cases += [_case(_swap(mesh, "--model", str(paths[label])), r"model|run|checkpoint|json|HPS")
              for label in ("missing", "file", "empty dir", "garbage json")]
    cases.append(_case(_swap(mesh, "--model", str(p.core_run)), "HPS"))
    cases += [_case(_swap(mesh, "--out", str(p.work / name)), r"mesh file|out|\.glb") for name in ("m.txt", "m")]
    cases.append(_case(["mesh", "--model", str(p.hps_run), "--out", str(p.work / "m.glb")], "image"))
    cases.append(_case(_swap(mesh, "--text", "\u2500\u2500\u2500"), "text"))
    from pose_search.data.schema import POSES_TABLE
    from pose_search.data.store import read_table

    a, b = read_table(p.dataset, POSES_TABLE, ["id"]).column("id").to_pylist()[:2]
    ins = ["instruct", "--model", str(p.instructions_run), "--from", a, "--to", b, "--data", str(p.dataset)]
    cases += [_case(_swap(ins, "--from", str(path)), "pose") for _, path in pose_files[:6]]
    cases += [_case(_swap(ins, "--to", str(paths[label]) + ".png"), "image") for label in ("missing", "file")]
    cases.append(_case(_swap(ins, "--data", None), r"data|id"))
    cases.append(_case(_swap(ins, "--from", "no-such-id"), r"no pose with id"))
    cases += [_case(_swap(ins, "--model", str(paths[label])), r"model|run|checkpoint|json|instructions")
              for label in ("missing", "file", "empty dir")]
    cases += [_case(ins + ["--sample", "-n", v], r"\bn\b|-n") for v in ("0", "-1", "x")]
    return cases


def ui_cli_cases(p: Places, paths: dict[str, Path]) -> list[Case]:
    """``ui`` and ``demo``: every bad flag refused before a model, a build or a server starts."""
    ui = ["ui", "--index", str(p.index)]
    cases = [_case(_swap(ui, "--index", str(paths[label])), "index") for label in
             ("missing", "file", "empty dir", "garbage json", "json list", "dataset")]
    cases.append(_case(["ui"], "index"))
    cases += [_case(["ui", "--bundle", str(paths[label])], r"bundle|json|index") for label in
              ("missing", "file", "empty dir", "garbage json", "json list")]
    cases += [_case(_swap(ui, "--port", v), "port") for v in ("-1", "70000", "x", "")]
    cases += [_case(_swap(ui, "--threads", v), "threads") for v in ("0", "-1", "x", "100000", "10" * 12)]
    cases += [_case(_swap(ui, "--auth", v), "auth") for v in ("nocolon", ":pw", "user:", "")]
    cases += [_case(_swap(ui, "--batching", v), "batching") for v in ("yes", "")]
    cases += [_case(_swap(ui, "--max-file-size", v), "max.file.size") for v in ("abc", "-1mb", "10 parsecs")]
    for flag in ("--hps", "--instructions"):
        cases += [_case(_swap(ui, flag, str(paths[label])), r"run|checkpoint|model|json|directory")
                  for label in ("missing", "file", "empty dir")]
    cases += [_case(_swap(ui, "--data", str(paths[label])), r"dataset|manifest|json") for label in
              ("missing", "file", "empty dir", "garbage json")]
    def demo(flag: str, value: str | None) -> list[str]:
        return _swap(["demo", "--out", p.fresh("demo"), "--build-only"], flag, value)

    cases += [_case(demo("--size", v), "size") for v in ("huge", "", "SMALL")]
    cases += [_case(demo("--poses", v), "poses") for v in ("0", "-1", "39", "x")]
    cases += [_case(demo("--workers", v), "workers") for v in ("0", "-1", "x", "100000", "10" * 12)]
    cases += [_case(demo("--port", v), "port") for v in ("-1", "70000", "x")]
    cases += [_case(demo("--auth", v), "auth") for v in ("nocolon", ":pw", "user:")]
    cases.append(_case(demo("--out", str(paths["file"])), r"out|directory|demo|a_file"))
    return cases


def top_cases() -> list[Case]:
    """No or unknown commands; ``cluster`` with what argparse (or the address check) refuses."""
    return [_case([], r"required|COMMAND"), _case(["nope"], "invalid choice"), _case(["--verbose"], "required"),
            _case(["--nope", "data"], r"unrecognized|argument"), _case(["Search"], "invalid choice"),
            _case([""], "invalid choice"), _case(["cluster"], r"required|ACTION"),
            _case(["cluster", "nope"], "invalid choice"), _case(["cluster", "up"], "required"),
            _case(["cluster", "status", "--address", "ftp://head:8265"], "address")] + [
        # --dry-run: were a bound missing, nothing would start (the tripwires do not cover `ray start`)
        _case(["cluster", "up", "--local", "--dry-run", flag, value], flag.lstrip("-").replace("-", "."))
        for flag in ("--workers", "--num-cpus", "--worker-cpus") for value in ("100000", "10" * 12)]


def subprocess_cases(p: Places, rng: np.random.Generator) -> list[Case]:
    """A handful of bad command lines, one per kind of failure path, through real processes."""
    paths = bad_paths(p.work / "paths", p.dataset, p.index)
    bad_pose = bad_pose_files(p.work / "poses", rng, hostile=False)[2][1]  # an empty .npy
    pkl = p.work / "3dpw" / "sequenceFiles" / "test" / "cut.pkl"
    pkl.parent.mkdir(parents=True, exist_ok=True)
    pkl.write_bytes(b"\x80\x02}q\x00(X")  # a pickle cut short
    table = [(["nope"], "invalid choice"), (["data", "info", str(paths["missing"])], "nope"),
             (["data", "convert", "3dpw", str(p.work / "3dpw"), "--out", p.fresh("conv")], r"cut\.pkl"),
             (["index", "build", "--model", str(p.core_run), "--data", str(p.dataset), "--out", p.fresh("index"),
               "--workers", "0"], "workers"),
             (["search", "--index", str(p.index), "--text", "kneeling", "-k", "0"], r"\bk\b|-k|k="),
             (["train", "posevae", "--run", str(paths["file"]), "--data", str(p.dataset)], r"a_file"),
             (["body", "mesh", str(bad_pose), "--out", str(p.work / "b.glb")], "pose file"),
             (["ui", "--index", str(p.index), "--port", "70000"], "port")]
    procs = Processes([argv for argv, _ in table])
    return [Case(f"python -m pose_search_app {' '.join(argv)[:80]}", functools.partial(procs.result, i), mentions,
                 (CliError,)) for i, (argv, mentions) in enumerate(table)]


def cli_cases(p: Places, rng: np.random.Generator) -> list[Case]:
    """Every bad command line."""
    paths = bad_paths(p.work / "paths", p.dataset, p.index)
    pose_files = bad_pose_files(p.work / "poses", rng)
    return (top_cases() + data_cases(p, paths, rng) + body_cases(p, pose_files, rng) + train_cases(p, paths)
            + index_cases(p, paths) + search_cases(p, paths, pose_files, rng) + eval_cases(p, paths)
            + head_cli_cases(p, paths, pose_files) + ui_cli_cases(p, paths))

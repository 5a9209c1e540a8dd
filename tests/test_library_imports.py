"""The library never imports ray, gradio, faiss or lancedb (DESIGN.md section 2)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import pose_search

FORBIDDEN = ("ray", "gradio", "faiss", "lancedb")


def _python(code: str) -> str:
    """What a fresh interpreter running ``code`` prints (it must succeed)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_library_does_not_import_the_application_stack():
    modules = [m.name for m in pkgutil.walk_packages(pose_search.__path__, "pose_search.")
               if not m.name.endswith("__main__")]
    assert len(modules) > 10
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    imported = _python(code).strip()
    assert imported == "", f"library imported {imported}"


def test_cli_help_runs():
    out = subprocess.run([sys.executable, "-m", "pose_search_app", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "data" in out.stdout


def test_every_command_parser_builds_and_a_command_imports_only_its_own(capsys):
    from pose_search_app.cli import COMMANDS, build_parser, chosen_command

    parser = build_parser()  # every command's arguments, as `--help` of each shows them
    for name in COMMANDS:
        with pytest.raises(SystemExit) as exit_:
            parser.parse_args([name, "--help"])
        assert exit_.value.code == 0 and f"pose-search {name}" in capsys.readouterr().out
    assert chosen_command(["-v", "search", "--text", "data"]) == "search"
    assert chosen_command(["--verbose"]) is None and chosen_command(["nope"]) is None
    # building `data`'s parser (its choices) and `--help` of any command load neither torch nor roma:
    # they cost seconds in every process
    code = (
        "import sys\n"
        "from pose_search_app.cli import COMMANDS, build_parser\n"
        "for name in COMMANDS:\n"
        "    build_parser(name)\n"
        "print(','.join(m for m in ('torch', 'roma') if m in sys.modules))\n"
    )
    imported = _python(code).strip()
    assert imported == "", f"building the parsers imported {imported}"


def test_roma_loads_on_first_use():
    code = (
        "import sys\n"
        "import pose_search.models.catalog, pose_search.data.schema\n"
        "print('torch._dynamo' in sys.modules)\n"
        "from pose_search.body.rotations import roma\n"
        "import torch\n"
        "print(roma.rotvec_to_rotmat(torch.zeros(3)).trace().item())\n"
    )
    assert _python(code).split() == ["False", "3.0"]


def test_cluster_depends_only_on_the_config():
    """cluster -> pose_search.config (DESIGN.md section 2): submitting a job loads no model code."""
    code = (
        "import sys, cluster.cli, cluster.jobs, cluster.local\n"
        "mine = [m for m in sys.modules if m.split('.')[0] in ('pose_search', 'training', 'indexing', 'ui')]\n"
        "print(','.join(sorted(mine)))\n"
    )
    assert set(_python(code).strip().split(",")) <= {"pose_search", "pose_search.config"}

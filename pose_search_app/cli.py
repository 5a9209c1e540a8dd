"""The `pose-search` command: one entry point dispatching to subcommands.

Each subcommand lives in the package that owns it and exposes ``add_arguments(parser)`` and
``run(args) -> int``; the module is imported only when its command runs, so ``pose-search data``
never imports Ray or Gradio.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

# command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("pose_search.commands.data", "generate, inspect and convert datasets"),
    "body": ("pose_search.commands.body", "body models: build the anny cache, export a mesh"),
    "train": ("training.cli", "train an encoder, the core or the Aligner with Ray Train"),
    "index": ("indexing.cli", "embed a dataset into a LanceDB + ANN index (Ray Data)"),
    "search": ("indexing.search_cli", "search an index by text, image, pose or any mix"),
    "eval": ("indexing.eval_cli", "evaluate: retrieval recall (exact and via an index), mesh recovery, instructions"),
    "mesh": ("pose_search.commands.mesh", "recover a 3D body (mesh + parameters) from an image"),
    "instruct": ("pose_search.commands.instruct", "a corrective instruction from pose A to pose B"),
    "demo": ("pose_search_app.demo", "build the embedded default (data, encoders, core, heads, index) and serve the UI"),
    "ui": ("ui.cli", "serve the search UI (Gradio) over an index, with mesh recovery and instructions"),
    "cluster": ("cluster.cli", "start a Ray cluster (local, cloud launcher, KubeRay) and submit commands to it"),
}


MAX_ERROR_CHARS = 600


def error_line(exc: BaseException) -> str:
    """One short line for a user: an OSError as its reason and path (shortened), not its repr."""
    from pose_search.files import short_path

    if isinstance(exc, RecursionError):
        text = "the input is nested too deeply to read"
    elif isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror + (f": {short_path(exc.filename)!r}" if isinstance(exc.filename, str) else "")
    else:
        text = str(exc)
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command's parser. Only ``command``'s module is imported to add its arguments (all
    modules when ``None``): a command's options can import torch, which costs seconds per process,
    and ``pose-search search`` has no reason to pay for ``data convert``'s choices."""
    parser = argparse.ArgumentParser(prog="pose-search", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if command is None or name == command:
            importlib.import_module(module).add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names (its first word that is not an option), or ``None``."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(chosen_command(argv) or "")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except (ValueError, OSError, RecursionError) as exc:
        # Bad input of any kind (a value: every error type of the library's own is a ValueError;
        # a path that is missing or in the way; a file nested too deeply for a parser): one clear
        # line, no stack trace. Anything else is a bug and prints its traceback.
        print(f"pose-search {args.command}: error: {error_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

"""``pose-search ui``: serve the search UI over an index (and the heads, when given).

    pose-search ui --index indexes/script --hps runs/hps --instructions runs/instructions
    pose-search ui --bundle demo/                    # DIR/bundle.json names the parts

Safe by default: binds 127.0.0.1, caps uploads, and warns when it is reachable from elsewhere
without ``--auth``. Gradio is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from pose_search.files import check_path, read_json_file
from pose_search.resources import check_local_count

BUNDLE_FILE = "bundle.json"
BUNDLE_KEYS = ("index", "hps", "instructions", "data")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", help="index directory (pose-search index build)")
    parser.add_argument("--hps", help="an HPS run (pose-search train hps): enables Mesh recovery")
    parser.add_argument("--instructions", help="an instructions run: enables Instruction")
    parser.add_argument("--data", help="dataset for the Dataset tab and body shapes "
                        "(default: the dataset the index was built from, if it is still there)")
    parser.add_argument("--bundle", help=f"a folder whose {BUNDLE_FILE} names index/hps/instructions/data "
                        "(paths relative to it); the flags above override its entries")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: this machine only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--share", action="store_true", help="also open a public Gradio share link")
    parser.add_argument("--auth", metavar="USER:PASS", help="require this login")
    parser.add_argument("--max-file-size", default="10mb", help="upload cap (e.g. 10mb)")
    parser.add_argument("--batching", choices=("auto", "on", "off"), default="auto",
                        help="micro-batch concurrent text queries (auto: on a GPU only; on CPU concurrent "
                        "single queries are faster)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per request (default 1: "
                        "concurrent requests use the cores, and a busy machine does not stall each one)")


def read_bundle(directory: str | Path) -> dict[str, Path]:
    """``{"index": Path, ...}`` from ``DIR/bundle.json`` (paths relative to ``DIR``; only
    ``index`` is required)."""
    root = check_path(directory, "bundle")  # FileError for a path no file system takes
    file = root / BUNDLE_FILE
    if not file.is_file():
        raise FileNotFoundError(f"bundle {str(root)!r} has no {BUNDLE_FILE}")
    spec = read_json_file(file, "bundle description")  # FileError (a ValueError) names the file
    if not isinstance(spec, dict) or not isinstance(spec.get("index"), str):
        raise ValueError(f"{str(file)!r}: expected an object with at least \"index\": \"PATH\"")
    bad = [key for key in BUNDLE_KEYS if key in spec and not (isinstance(spec[key], str) and spec[key])]
    if bad:
        raise ValueError(f"{str(file)!r}: {', '.join(bad)} must be a path (a non-empty string)")
    # other keys (what the demo builder records about itself) are not the UI's business
    return {key: root / spec[key] for key in BUNDLE_KEYS if key in spec}


def parse_auth(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ValueError("--auth: expected USER:PASS")
    return user, password


def resolve(args: argparse.Namespace) -> dict[str, Path | str | None]:
    """The parts to serve: the bundle's entries overridden by the flags."""
    parts: dict[str, Path | str | None] = dict.fromkeys(BUNDLE_KEYS)
    if args.bundle:
        parts.update(read_bundle(args.bundle))
    from pose_search import storage

    for key in BUNDLE_KEYS:
        value = getattr(args, key)
        if value:  # a URI (s3://...) stays a string: Path() would fold its "//"
            parts[key] = value if storage.is_uri(value) else Path(value)
    if parts["index"] is None:
        raise ValueError("give --index INDEX (or --bundle DIR)")
    return parts


def check_port(port: int) -> int:
    """``port`` if a TCP port (0: any free one); ValueError otherwise (before anything loads)."""
    if not 0 <= port <= 65535:
        raise ValueError(f"--port {port}: expected a TCP port from 0 to 65535")
    return port


def check_file_size(size: str) -> str:
    """``size`` if Gradio reads it as an upload cap (``10mb``, ``500 KB``); ValueError otherwise."""
    if not re.fullmatch(r"\s*\d+\s*(b|kb|mb|gb|tb)\s*", size, re.IGNORECASE):
        raise ValueError(f"--max-file-size {size!r}: expected a size like 10mb or 500kb")
    return size


def exposure_warning(host: str, auth: tuple[str, str] | None, share: bool) -> str | None:
    """A warning when the UI is reachable beyond this machine without a login."""
    if auth is not None:
        return None
    if share:
        return "warning: --share makes the UI public on the internet and there is no --auth; anyone with the link can use it"
    if host not in LOCAL_HOSTS:
        return (f"warning: binding {host} makes the UI reachable from other machines and there is no --auth; "
                "add --auth USER:PASS or bind 127.0.0.1")
    return None


def serve(parts: dict[str, Path | str | None], host: str = "127.0.0.1", port: int = 7860, share: bool = False,
          auth: str | None = None, batching: str = "auto", threads: int = 1, max_file_size: str = "10mb") -> int:
    """Serve the UI over ``parts`` (index, hps, instructions, data) until interrupted."""
    import torch

    from ui.app import build_app, launch
    from ui.backend import BackendConfig, UIBackend

    if parts.get("index") is None:
        raise ValueError("give --index INDEX (or --bundle DIR)")
    login = parse_auth(auth)
    check_local_count("--threads", threads)
    check_port(port)
    check_file_size(max_file_size)
    warning = exposure_warning(host, login, share)
    if warning:
        print(warning, file=sys.stderr)
    torch.set_num_threads(threads)
    config = BackendConfig(batching={"auto": None, "on": True, "off": False}[batching])
    backend = UIBackend(parts["index"], hps_run=parts.get("hps"), instructions_run=parts.get("instructions"),
                        data_dir=parts.get("data"), config=config)
    try:
        log.info("loading the body model")
        backend.bodies.model()
        launch(build_app(backend), host=host, port=port, share=share, auth=login, max_file_size=max_file_size)
    finally:
        backend.close()
    return 0


def serve_bundle(bundle: str | Path, **options: object) -> int:
    """Serve a bundle folder (``bundle.json``); ``options`` as for :func:`serve`."""
    return serve(read_bundle(bundle), **options)  # type: ignore[arg-type]


def run(args: argparse.Namespace) -> int:
    return serve(resolve(args), host=args.host, port=args.port, share=args.share, auth=args.auth,
                 batching=args.batching, threads=args.threads, max_file_size=args.max_file_size)

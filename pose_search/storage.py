"""Local paths and object-storage URIs, one rule for every command.

Every path a command takes (a dataset, a run, a model, an index) may be a local path or a URI
that pyarrow's filesystems understand (``s3://bucket/key``, ``gs://...``, ``abfs://...``,
``hdfs://...``; ``file:///abs/path`` too). Nothing assumes a disk shared between the nodes of a
cluster:

* **reading**: :func:`local_copy` returns a local directory: the path itself, or a node-local
  mirror of the URI under ``$POSE_SEARCH_CACHE/remote/`` kept in sync file by file (only files
  whose size or modification time changed are downloaded again);
* **writing**: a command writes into a node-local working directory (:func:`working_dir`) and
  :func:`push` uploads the files that changed. Each object is written whole, so a reader sees an
  old or a new file, never half of one; directories whose files must change together publish a
  small pointer file last (e.g. ``index.json``) and readers go through it.

S3-compatible endpoints (MinIO, Ceph, a test server) are chosen with the standard AWS variables
(``AWS_ENDPOINT_URL``, ``AWS_ALLOW_HTTP``, credentials), which pyarrow and Lance both read.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pose_search.config import cache_dir

SYNC_STATE = ".pose_search_sync.json"  # in a local mirror: what was downloaded (path -> size, mtime)


def is_uri(path: str | os.PathLike[str]) -> bool:
    """True for ``scheme://...`` (object storage, HDFS, ``file://``); False for plain paths."""
    text = str(path)
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.isidentifier()


def join(base: str | os.PathLike[str], *parts: str) -> str:
    """``base/part/...`` for a URI or a local path (a string either way)."""
    if is_uri(base):
        return "/".join([str(base).rstrip("/"), *(p.strip("/") for p in parts)])
    return str(Path(base, *parts))


def filesystem(uri: str) -> tuple[Any, str]:
    """``(pyarrow FileSystem, path inside it)`` for a URI; a clear error for an unknown scheme."""
    import pyarrow.fs as pafs

    try:
        return pafs.FileSystem.from_uri(uri)
    except (ValueError, OSError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise ValueError(f"cannot open {uri!r}: {exc}") from exc


def exists(path: str | os.PathLike[str]) -> bool:
    """Whether a file or directory exists at a local path or URI."""
    if not is_uri(path):
        return Path(path).exists()
    import pyarrow.fs as pafs

    fs, inner = filesystem(str(path))
    return fs.get_file_info(inner).type != pafs.FileType.NotFound


def _remote_files(fs: Any, root: str) -> dict[str, tuple[int, int]]:
    """Every file under ``root``: relative path -> (size, mtime ns); empty if ``root`` is absent."""
    import pyarrow.fs as pafs

    info = fs.get_file_info(root)
    if info.type == pafs.FileType.NotFound:
        return {}
    if info.type == pafs.FileType.File:
        raise ValueError(f"{root!r} is a file; a directory was expected")
    out: dict[str, tuple[int, int]] = {}
    for item in fs.get_file_info(pafs.FileSelector(root, recursive=True)):
        if item.type == pafs.FileType.File:
            rel = item.path[len(root.rstrip("/")) + 1:]
            out[rel] = (int(item.size or 0), int(item.mtime_ns or 0))
    return out


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock between processes of one node (two workers mirroring the same URI)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def mirror_dir(uri: str, kind: str = "remote") -> Path:
    """The node-local directory that mirrors ``uri`` (stable per URI)."""
    digest = hashlib.sha1(uri.rstrip("/").encode()).hexdigest()[:16]
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in uri.rstrip("/").rsplit("/", 1)[-1])[:40]
    return cache_dir() / kind / f"{name}-{digest}"


# The sync state of a mirror: relative path -> [remote size, remote mtime, local size, local mtime]
# as of the last transfer. A file is transferred again only when one side no longer matches, so
# no clock is ever compared across machines. (Object stores keep mtimes to the second: an object
# rewritten with the same size within the same second as the last pull is not seen as changed.)
def _read_state(mirror: Path) -> dict[str, list[int]]:
    path = mirror / SYNC_STATE
    return json.loads(path.read_text()) if path.exists() else {}


def _write_state(mirror: Path, state: dict[str, list[int]]) -> None:
    tmp = mirror / (SYNC_STATE + ".tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(mirror / SYNC_STATE)


def _local_stat(path: Path) -> list[int]:
    st = path.stat()
    return [int(st.st_size), int(st.st_mtime_ns)]


def _is_bookkeeping(rel: str) -> bool:
    return rel.startswith(SYNC_STATE) or rel.endswith(".lock") or "/.pull-" in f"/{rel}"


def pull(uri: str, dest: Path, exclude: Iterable[str] = (), pointer: str | None = None) -> Path:
    """Make ``dest`` a copy of the directory ``uri`` (skipping top-level names in ``exclude``).

    Downloads only files that are new or changed on either side since the last transfer; removes
    local files that came from the source and that it no longer has. ``pointer``: a file that
    writers upload last (e.g. ``index.json``); it is downloaded first, so every file it refers to
    is in the listing taken after it. Raises ``FileNotFoundError`` when ``uri`` does not exist.
    """
    import pyarrow.fs as pafs

    fs, root = filesystem(uri)
    root = root.rstrip("/")
    skip = set(exclude)
    first = _remote_files(fs, root) if pointer else {}
    if pointer and pointer in first:
        dest.mkdir(parents=True, exist_ok=True)
        with _locked(dest.with_name(dest.name + ".lock")):
            state = _read_state(dest)
            _download(fs, f"{root}/{pointer}", dest / pointer)
            state[pointer] = [*first[pointer], *_local_stat(dest / pointer)]
            _write_state(dest, state)
    remote = {k: v for k, v in _remote_files(fs, root).items() if k.split("/", 1)[0] not in skip}
    if pointer in first:
        remote[pointer] = first[pointer]  # keep the pointer fetched first even if it changed since
    if not remote and fs.get_file_info(root).type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"{uri!r} does not exist")
    dest.mkdir(parents=True, exist_ok=True)
    with _locked(dest.with_name(dest.name + ".lock")):
        state = _read_state(dest)
        for rel, (size, mtime) in remote.items():
            local = dest / rel
            known = state.get(rel)
            if known and known[:2] == [size, mtime] and local.exists() and _local_stat(local) == known[2:]:
                continue
            _download(fs, f"{root}/{rel}", local)
            state[rel] = [size, mtime, *_local_stat(local)]
        for rel in [r for r in state if r not in remote and r.split("/", 1)[0] not in skip]:
            (dest / rel).unlink(missing_ok=True)
            del state[rel]
        _write_state(dest, state)
    return dest


def _download(fs: Any, remote: str, local: Path) -> None:
    """One file, through a temporary name: a reader never sees half of it."""
    local.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=local.parent, prefix=".pull-")
    with os.fdopen(fd, "wb") as out, fs.open_input_stream(remote) as src:
        shutil.copyfileobj(src, out, 1 << 20)
    os.replace(tmp, local)


def _remote_entries(fs: Any, root: str, name: str) -> dict[str, tuple[int, int]]:
    """:func:`_remote_files` of one top-level file or directory ``name`` under ``root``."""
    import pyarrow.fs as pafs

    info = fs.get_file_info(f"{root}/{name}")
    if info.type == pafs.FileType.File:
        return {name: (int(info.size or 0), int(info.mtime_ns or 0))}
    if info.type == pafs.FileType.Directory:
        return {f"{name}/{k}": v for k, v in _remote_files(fs, f"{root}/{name}").items()}
    return {}


def push(src: Path, uri: str, names: Iterable[str] | None = None) -> None:
    """Upload the files under the mirror ``src`` (or only its top-level ``names``) to ``uri``.

    A file is uploaded when it changed locally or remotely since its last transfer (large
    feature caches go up once); each is written whole, one object per file.
    """
    fs, root = filesystem(uri)
    root = root.rstrip("/")
    # list only what is being pushed: a run's big features/ and Ray's checkpoints stay unlisted
    remote = _remote_files(fs, root) if names is None else {
        k: v for n in names for k, v in _remote_entries(fs, root, n).items()}
    tops = [src / n for n in names] if names is not None else [src]
    with _locked(src.with_name(src.name + ".lock")):
        state = _read_state(src)
        for top in tops:
            files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file()) if top.exists() else []
            for path in files:
                rel = path.relative_to(src).as_posix()
                if _is_bookkeeping(rel):
                    continue
                known = state.get(rel)
                if known and remote.get(rel) == tuple(known[:2]) and _local_stat(path) == known[2:]:
                    continue
                fs.create_dir(f"{root}/{rel}".rsplit("/", 1)[0], recursive=True)
                with open(path, "rb") as data, fs.open_output_stream(f"{root}/{rel}") as out:
                    shutil.copyfileobj(data, out, 1 << 20)
                info = fs.get_file_info(f"{root}/{rel}")
                state[rel] = [int(info.size or 0), int(info.mtime_ns or 0), *_local_stat(path)]
        _write_state(src, state)


def local_copy(path: str | os.PathLike[str], exclude: Iterable[str] = (), pointer: str | None = None) -> Path:
    """A local directory with the content of ``path``: itself when local, else a synced mirror
    (see :func:`pull` for ``exclude`` and ``pointer``)."""
    if not is_uri(path):
        return Path(path)
    if str(path).startswith("file://"):
        return Path(filesystem(str(path))[1])
    return pull(str(path), mirror_dir(str(path)), exclude, pointer)


def working_dir(path: str | os.PathLike[str], exclude: Iterable[str] = ()) -> Path:
    """Where a command writes output meant for ``path``: itself when local, else a local mirror
    (pulled, but for ``exclude``, if the URI already holds earlier output, e.g. a run being
    resumed)."""
    if not is_uri(path):
        return Path(path)
    if str(path).startswith("file://"):
        return Path(filesystem(str(path))[1])
    dest = mirror_dir(str(path), "work")
    if exists(path):
        pull(str(path), dest, exclude)
    dest.mkdir(parents=True, exist_ok=True)
    return dest


def publish(local: Path, path: str | os.PathLike[str], names: Iterable[str] | None = None) -> None:
    """Upload ``local`` (or its ``names``) to ``path`` when it is a remote URI; no-op otherwise."""
    if is_uri(path) and not str(path).startswith("file://"):
        push(local, str(path), names)


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The content of one file at a local path or URI (``FileNotFoundError`` when absent)."""
    if not is_uri(path):
        return Path(path).read_bytes()
    import pyarrow.fs as pafs

    fs, inner = filesystem(str(path))
    if fs.get_file_info(inner).type != pafs.FileType.File:
        raise FileNotFoundError(f"{str(path)!r} does not exist or is not a file")
    with fs.open_input_stream(inner) as src:
        return src.read()


def remove_tree(path: str | os.PathLike[str]) -> None:
    """Delete a directory (local or at a URI) if it exists."""
    if not is_uri(path) or str(path).startswith("file://"):
        shutil.rmtree(Path(filesystem(str(path))[1]) if is_uri(path) else Path(path), ignore_errors=True)
        return
    if exists(path):
        fs, inner = filesystem(str(path))
        fs.delete_dir(inner)

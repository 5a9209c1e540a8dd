"""Convert a real dataset (BEDLAM, AMASS, PoseScript, PoseFix, 3DPW) into a pose-search dataset.

Sources without captions get our automatic captions (3 PoseScript-style + 4 everyday per pose,
with their kinds); sources without images get
renders of the anny body in the pose, with a random look drawn from a seed. Rows are written to
``OUT.partial`` and the directory is renamed to ``OUT`` only when every input file was read, so a
bad input file leaves nothing behind that looks like a dataset.

``append=True`` adds the rows of another source (or more scenes, splits, ...) to an existing
dataset ``OUT`` of the same kind: rows are staged in ``OUT.append-partial`` and, once every input
file was read, appended by id (a row whose id is stored already is dropped, so appending the same
input twice adds nothing; a failure while appending leaves the rows added so far, and a re-run adds
the rest); the manifest lists every conversion in ``config.sources``.
Per-source options are checked by :func:`pose_search.data.convert_options.check_options`.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pose_search.data.convert_options import SOURCES, check_options
from pose_search.data.manifest import build_manifest
from pose_search.data.schema import (
    EVERYDAY_CAPTIONS,
    PAIRS_TABLE,
    POSES_TABLE,
    pair_rows_to_table,
    pose_rows_to_table,
)
from pose_search.data.store import (
    DatasetError,
    append_rows,
    read_manifest,
    read_table,
    write_json_atomic,
)

if TYPE_CHECKING:
    from pose_search.data.captioning import PoseCaptions
    from pose_search.data.loaders.common import LoadReport

log = logging.getLogger(__name__)

REPORTING = ("amass", "posefix", "3dpw")  # loaders that count what they skip in a LoadReport


class Annotator:
    """Captions and renders for sources that lack them; deterministic given ``seed``."""

    def __init__(self, seed: int = 0, n_captions: int = 3, everyday: int = EVERYDAY_CAPTIONS) -> None:
        self.rng = np.random.default_rng(seed)
        self.n_captions = n_captions
        self.everyday = everyday
        self._render_state: tuple[Any, Any, Any] | None = None

    def caption(self, pose: np.ndarray) -> PoseCaptions:
        """``(22, 3)`` pose -> ``n_captions`` PoseScript-style + ``everyday`` automatic captions
        (on the neutral skeleton) with their kinds."""
        from pose_search.body.skeleton import neutral_joints
        from pose_search.data.captioning import describe_poses

        return describe_poses(neutral_joints(pose[None]), pose[None], n_captions=self.n_captions,
                              everyday=self.everyday, rng=self.rng)[0]

    def render(self, pose: np.ndarray) -> bytes:
        """``(22, 3)`` pose -> JPEG bytes of a random-looking anny person in that pose."""
        from pose_search.data.generate import encode_image, sample_phenotypes
        from pose_search.data.render import render_person, sample_render_settings

        if self._render_state is None:
            from pose_search.body.anny_backend import AnnyBody
            from pose_search.body.parts import anny_part_borders

            body = AnnyBody()
            self._render_state = (body, body.vertex_parts(), anny_part_borders(body.model))
        body, parts, borders = self._render_state
        out = body(pose[None], shape=sample_phenotypes(self.rng, 1))
        image = render_person(out.vertices[0].numpy(), body.faces.numpy(), parts,
                              sample_render_settings(self.rng), borders)
        return encode_image(image, "jpeg")


def _loader_call(source: str, root: Path, annotator: Annotator, options: dict[str, Any],
                 report: LoadReport) -> Iterable[dict[str, Any]]:
    """Call ``source``'s loader with the (checked, mapped) loader keyword ``options``."""
    from pose_search.data import loaders

    cap, ren = annotator.caption, annotator.render
    if source in REPORTING:
        options["report"] = report
    if source == "bedlam":
        return loaders.load_bedlam(root, options.pop("image_root", None) or root, caption_fn=cap, **options)
    if source == "bedlam-raw":
        return loaders.load_bedlam_raw(root, options.pop("gt_root"), caption_fn=cap, **options)
    if source == "amass":
        return loaders.load_amass(root, caption_fn=cap, render_fn=ren, **options)
    if source in ("posescript", "posefix"):
        fn = loaders.load_posescript if source == "posescript" else loaders.load_posefix
        return fn(root, options.pop("amass_root"), render_fn=ren, **options)
    return loaders.load_3dpw(root, caption_fn=cap, **options)


def _stage(source: str, root: Path, staging: Path, seed: int, batch: int, loader_kwargs: dict[str, Any],
           report: LoadReport) -> None:
    """Write every row of ``source`` at ``root`` into the tables of ``staging``."""
    annotator = Annotator(seed)
    poses: list[dict[str, Any]] = []
    pairs: list[dict[str, Any]] = []
    for row in _loader_call(source, root, annotator, dict(loader_kwargs), report):
        (pairs if "pair_id" in row else poses).append(row)
        if len(poses) >= batch:
            append_rows(staging, POSES_TABLE, pose_rows_to_table(poses))
            poses = []
    if poses:
        append_rows(staging, POSES_TABLE, pose_rows_to_table(poses))
    if pairs:
        append_rows(staging, PAIRS_TABLE, pair_rows_to_table(pairs))
    if not (staging / POSES_TABLE).exists():
        raise DatasetError(f"{source} at {str(root)!r}: no usable rows found"
                           + (f" (skipped: {report.skipped})" if report.skipped else ""))


def convert(source: str, root: str | Path, out: str | Path, *, seed: int = 0, batch: int = 512,
            append: bool = False, **options: Any) -> dict[str, Any]:
    """Read ``root`` with the ``source`` loader and write a dataset directory ``out``.

    ``options`` are the per-source options of :data:`~pose_search.data.convert_options.OPTIONS`
    (``amass_root``, ``posescript_root``, ``gt_root``, ``image_root``, ``stride``, ``split``);
    one that does not apply to ``source`` is a ``ValueError``. ``append``: add to an existing
    dataset (see the module docstring). Returns the manifest.
    """
    from pose_search.data.loaders.common import LoadReport

    checked = check_options(source, options)
    out, root = Path(out), Path(root)
    kind = "fix" if source == "posefix" else "script"
    previous = None
    if out.exists():
        if not append:
            raise DatasetError(f"output {str(out)!r} already exists; choose a new directory "
                               "(or --append to add to it)")
        previous = read_manifest(out)
        if previous.get("kind") != kind:
            raise DatasetError(f"{str(out)!r} is a {previous.get('kind')!r} dataset; {source} makes {kind!r} "
                               "rows: append to a dataset of the same kind")
    staging = out.with_name(out.name + (".append-partial" if previous else ".partial"))
    shutil.rmtree(staging, ignore_errors=True)
    report = LoadReport()
    entry = {"source": source, "root": str(root), "seed": seed,
             "options": json.loads(json.dumps(checked.given, default=str))}
    try:
        _stage(source, root, staging, seed, batch, checked.loader_kwargs, report)
        entry |= {"skipped": report.skipped, "warnings": report.warnings}
        if previous is None:
            config = {"kind": kind, **entry, "sources": [entry]}
            manifest = _finish(staging, config, source)
            staging.rename(out)
        else:
            entry["added"] = _merge(staging, out)
            shutil.rmtree(staging, ignore_errors=True)
            sources = [*_sources_of(previous), entry]
            names = sorted({str(e.get("source") or "synthetic") for e in sources})
            manifest = _finish(out, {**previous.get("config", {}), "kind": kind, "sources": sources}, "+".join(names))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _sources_of(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversions recorded in a dataset's manifest (a dataset made before ``sources`` were
    recorded, or by the generator, counts as one)."""
    config = manifest.get("config") or {}
    if isinstance(config.get("sources"), list):
        return list(config["sources"])
    return [{"source": manifest.get("source"), "root": config.get("root"), "seed": manifest.get("seed"),
             "options": config.get("options")}]


def _merge(staging: Path, out: Path) -> dict[str, int]:
    """Append the staged tables to ``out`` by id; returns the rows added per table."""
    added = {}
    for table in (POSES_TABLE, PAIRS_TABLE):
        if (staging / table).exists():
            added[table.removesuffix(".lance")] = append_rows(out, table, read_table(staging, table))
    return added


def _finish(root: Path, config: dict[str, Any], source: str) -> dict[str, Any]:
    """Write ``root``'s manifest (counts from its tables, warnings of every conversion)."""
    manifest = build_manifest(root, config, status="complete", source=source)
    warnings = [w for e in config.get("sources", []) for w in e.get("warnings", [])]
    skipped: dict[str, int] = {}
    for e in config.get("sources", []):
        for reason, n in (e.get("skipped") or {}).items():
            skipped[reason] = skipped.get(reason, 0) + n
    manifest["warnings"], manifest["skipped"] = warnings, skipped
    write_json_atomic(root / "manifest.json", manifest)
    return manifest


__all__ = ["SOURCES", "Annotator", "convert"]

"""Image (and optional text) -> 3D body: the frozen representation model + the HPS head.

    pipe = load_model("runs/hps")                      # an HPS run dir -> HPSPipeline
    out = pipe.predict(images=imgs, texts=["kneeling"]) # HPSOutput: rotmats, pose (B, 22, 3), shape
    bodies = pipe.bodies(out)                           # BodyOutput: joints, vertices, faces

:func:`evaluate_hps` gives MPJPE / PA-MPJPE / V2V / rotation error for the input sets image, text
and image+text (text ones zero-shot: the head only saw image-derived representations).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from pose_search.models.heads.hps import HPSHead, HPSOutput

INPUT_SETS = (("image",), ("text",), ("image", "text"))


class HPSPipeline(nn.Module):
    """A :class:`~pose_search.models.search_model.PoseSearchModel` (frozen) + a trained :class:`HPSHead`."""

    def __init__(self, representation: nn.Module, head: HPSHead) -> None:
        super().__init__()
        self.representation_model = representation.eval()
        self.head = head.eval()

    @torch.no_grad()
    def predict(self, images: torch.Tensor | None = None, texts: list[str] | None = None,
                require_person: bool = True) -> HPSOutput:
        """Bodies for images ``(B, 3, 256, 192)`` in [0, 1] and/or texts (B strings).
        :class:`~pose_search.models.encoders.base.PersonNotFound` for images without a person when
        the image encoder can tell (BlazePose); ``require_person=False`` (datasets) predicts anyway."""
        if images is None and texts is None:
            raise ValueError("give images and/or texts")
        x = self.representation_model.representation(images=images, texts=texts, require_person=require_person)
        return self.head(x)

    def body_model(self) -> Any:
        from pose_search.body.backends import create_body_model

        space = self.head.cfg.shape_space
        return create_body_model("smplx" if space.startswith("smplx") else "anny")

    @torch.no_grad()
    def bodies(self, out: HPSOutput, body: Any = None) -> Any:
        body = body or self.body_model()
        return body(out.pose, out.shape)


@dataclass
class RecoveredBody:
    """One recovered body: pose ``(22, 3)``, shape ``(S,)`` in ``shape_space``, joints ``(22, 3)``,
    mesh ``vertices (V, 3)`` / ``faces (F, 3)``. Without an image the shape is the neutral one."""

    pose: np.ndarray
    shape: np.ndarray
    shape_space: str
    joints: np.ndarray
    vertices: np.ndarray
    faces: np.ndarray

    def save(self, mesh_path: str | Path) -> tuple[Path, Path]:
        """Write the mesh (.glb/.obj/.ply by suffix) and the parameters beside it as ``.npz``
        (``pose``, ``shape``, ``shape_space``, ``joints``; ``pose`` loads back as a query pose)."""
        from pose_search.body.io import save_mesh

        mesh = save_mesh(mesh_path, self.vertices, self.faces)
        params = mesh.with_suffix(".npz")
        np.savez(params, pose=self.pose, shape=self.shape, shape_space=np.asarray(self.shape_space),
                 joints=self.joints)
        return mesh, params


@torch.no_grad()
def recover_body(pipe: HPSPipeline, image: torch.Tensor | None = None, text: str | None = None,
                 body: Any = None, require_person: bool = True) -> RecoveredBody:
    """The body of one person from an image ``(3, 256, 192)`` in [0, 1] and/or a text. The shape
    is predicted only when an image is given (a text says nothing reliable about it). An image
    without a person raises :class:`~pose_search.models.encoders.base.PersonNotFound` (with an
    image encoder that can tell; ``require_person=False``: a body anyway)."""
    if image is None and not (text and text.strip()):
        raise ValueError("give an image and/or a text")
    out = pipe.predict(images=image[None] if image is not None else None, texts=[text.strip()] if text else None,
                       require_person=require_person)
    body = body or pipe.body_model()  # after the image check: building a body takes seconds
    shape = out.shape if image is not None and out.shape is not None else body.neutral_shape(1)
    mesh = body(out.pose, shape)
    return RecoveredBody(pose=out.pose[0].numpy(), shape=shape[0].numpy(), shape_space=body.shape_space,
                         joints=mesh.joints[0].numpy(), vertices=mesh.vertices[0].numpy(),
                         faces=np.asarray(mesh.faces))


@torch.no_grad()
def evaluate_hps(pipe: HPSPipeline, data: str | Path, split: str = "val", batch: int = 64,
                 body: Any = None, input_sets: tuple[tuple[str, ...], ...] = INPUT_SETS,
                 limit: int | None = None, progress: bool = True) -> dict[str, Any]:
    """``{"image": {...}, "text": {...}, "image+text": {...}}`` of body errors on a split.

    Shapes go to the bodies only when images are among the inputs (neutral bodies otherwise),
    as in the paper. Sets needing a modality the data lacks (e.g. 3DPW has no text) are skipped.
    """
    import pyarrow.compute as pc
    from tqdm import tqdm

    from pose_search.data.schema import POSES_TABLE
    from pose_search.data.store import open_table
    from pose_search.metrics.hps import body_errors
    from pose_search.models.encoders.image_files import decode_images, load_image_file

    if limit is not None and limit < 1:
        raise ValueError(f"limit {limit}: expected at least 1 row")
    table = open_table(data, POSES_TABLE).to_table(
        columns=["id", "pose", "shape", "shape_space", "image", "image_path", "captions"],
        filter=pc.field("split") == split)
    if table.num_rows == 0:
        raise ValueError(f"dataset {str(data)!r} has no rows in split {split!r}")
    if limit:
        table = table.slice(0, limit)
    body = body or pipe.body_model()  # after the data checks: building a body takes seconds
    has_text = all(c for c in table.column("captions").to_pylist())
    sets = [s for s in input_sets if "text" not in s or has_text]
    gt_pose = torch.tensor(np.asarray(table.column("pose").to_pylist(), np.float32).reshape(-1, 22, 3))
    spaces = set(table.column("shape_space").to_pylist())
    gt_shape = None
    if spaces == {body.shape_space}:
        gt_shape = torch.tensor(np.asarray(table.column("shape").to_pylist(), np.float32))
    preds: dict[str, list[HPSOutput]] = {"+".join(s): [] for s in sets}
    blobs, paths, caps = (table.column(c).to_pylist() for c in ("image", "image_path", "captions"))
    for s in tqdm(range(0, table.num_rows, batch), desc=f"eval hps {split}", disable=not progress):
        imgs = torch.stack([decode_images([b])[0] if b is not None else load_image_file(p)
                            for b, p in zip(blobs[s : s + batch], paths[s : s + batch])])
        texts = [c[0] for c in caps[s : s + batch]] if has_text else None
        for subset in sets:
            preds["+".join(subset)].append(pipe.predict(images=imgs if "image" in subset else None,
                                                        texts=texts if "text" in subset else None,
                                                        require_person=False))  # every row, as embedded
    report: dict[str, Any] = {"data": str(data), "split": split, "rows": table.num_rows, "body": body.name,
                              "shape_space": body.shape_space, "gt_shape": gt_shape is not None}
    for name, outs in preds.items():
        pose = torch.cat([o.pose for o in outs])
        with_image = "image" in name and outs[0].shape is not None and gt_shape is not None
        shape = torch.cat([o.shape for o in outs]) if with_image else None
        report[name] = body_errors(body, pose, gt_pose, shape, gt_shape if with_image else None)
    return report

"""Train the HPS head (mesh recovery) on cached image-derived representations (spec 5.1-5.2).

``prepare`` (driver side) copies the frozen representation model (a core run's encoders + best
core) into ``RUN/representation`` and caches, per split, the representation x̄ of each row's
*image* alone with its ground-truth pose and shape in ``RUN/representations/<split>.safetensors``
(image features are reused from the core run's cache when it was trained on the same data).
Training regresses the pose (6D iterative head, geodesic + joint losses) and the shape; the best
checkpoint is the one with the lowest validation loss. Text and image+text inputs are evaluated
zero-shot (`pose-search eval hps`), as in the paper.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pose_search.run_layout import HEAD, REPRESENTATION
from training.tasks.base import Batch, Task
from training.tasks.options import HPSOptions

log = logging.getLogger(__name__)



class HPSTask(Task):
    options_type = HPSOptions
    score_name = "loss"
    higher_is_better = False


    def _cache(self, split: str) -> Path:
        return self.run_dir / "representations" / f"{split}.safetensors"

    def prepare(self) -> None:
        from pose_search.models.features import save_features
        from pose_search.models.search_model import PoseSearchModel
        from pose_search.runs import copy_model, load_model, model_files

        if not self.cfg.data:
            raise ValueError("hps training needs --data (a dataset with images, poses and shapes)")
        if not self.options.core:
            raise ValueError("hps training needs --set core=RUN (a trained core or aligner run)")
        files = model_files(self.options.core)
        rep_dir = copy_model(files, self.run_dir / REPRESENTATION)
        model = None
        for split in ("train", self.options.val_split):
            if self._cache(split).exists():
                continue
            if model is None:
                model = load_model(rep_dir)
                if not isinstance(model, PoseSearchModel) or "image" not in model.modalities:
                    raise ValueError(f"{self.options.core!r}: the representation model needs an image encoder")
            save_features(self._cache(split), representation_cache(model, self.cfg.data, split,
                                                                   Path(self.options.core),
                                                                   int(self.options.feature_batch)))

    def _load(self, split: str) -> Batch:
        import roma

        from pose_search.models.features import load_features

        f = load_features(self._cache(split))
        pose = torch.from_numpy(f["pose"].astype(np.float32))
        return {"rep": torch.from_numpy(f["rep"].astype(np.float32)), "rotmats": roma.rotvec_to_rotmat(pose),
                "shape": torch.from_numpy(f["shape"].astype(np.float32))}

    def datasets(self) -> tuple[Batch, Batch]:
        return self._load("train"), self._load(self.options.val_split)

    def build_model(self) -> torch.nn.Module:
        from pose_search.models.catalog import create_model

        train = self._load("train")
        model = create_model(self.options.model, **{"rep_dim": int(train["rep"].shape[1]),
                                                       "shape_dim": int(train["shape"].shape[1]),
                                                       **self.options.model_config})
        model.set_mean_pose(train["rotmats"])
        return model

    def loss(self, model: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        from pose_search.models.heads.hps import hps_loss

        terms = hps_loss(model(batch["rep"]), batch["rotmats"], batch["shape"], float(self.options.joint_weight))
        return terms["loss"], {k: float(v.detach()) for k, v in terms.items() if k != "loss"}

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, val: Batch, device: torch.device) -> dict[str, float]:
        import roma

        from pose_search.metrics.hps import skeleton_errors
        from pose_search.models.heads.hps import HPSOutput, hps_loss

        model.eval()
        outs = [model(val["rep"][s : s + 1024].to(device)) for s in range(0, len(val["rep"]), 1024)]
        rot = torch.cat([o.rotmats for o in outs]).cpu()
        shape = torch.cat([o.shape for o in outs]).cpu() if outs[0].shape is not None else None
        out = HPSOutput(rot, roma.rotmat_to_rotvec(rot), shape)
        metrics = {k: float(v) for k, v in hps_loss(out, val["rotmats"], val["shape"],
                                                    float(self.options.joint_weight)).items()}
        metrics.update(skeleton_errors(out.pose, roma.rotmat_to_rotvec(val["rotmats"])))
        return metrics

    def export(self, model: torch.nn.Module, directory: Path, metrics: dict[str, Any]) -> None:
        from pose_search.checkpoint import save_module

        scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        save_module(directory / HEAD, self.options.model, model.config(), model, metrics=scalars)


@torch.no_grad()
def representation_cache(model: Any, data: str, split: str, core_run: Path, batch: int = 64) -> dict[str, np.ndarray]:
    """``{"ids", "rep" (N, D), "pose" (N, 22, 3), "shape" (N, S)}`` of a split, x̄ from images."""
    import pyarrow.compute as pc

    from pose_search.data.schema import POSES_TABLE
    from pose_search.data.store import open_table
    from pose_search.models.features import dataset_features, load_features

    cached = core_run / "features" / f"{split}.safetensors"
    same_data = (core_run / "run.json").exists() and \
        Path(json.loads((core_run / "run.json").read_text()).get("data", "")).resolve() == Path(data).resolve()
    if same_data and cached.exists():
        feats = load_features(cached)
        ids, image = feats["ids"], feats["image"]
    else:
        feats = dataset_features(data, {"image": model.encoders["image"]}, split, batch)
        ids, image = feats["ids"], feats["image"]
    reps = []
    for s in range(0, len(ids), 256):
        x = torch.from_numpy(np.asarray(image[s : s + 256], dtype=np.float32))
        refs = model.core.reference_embeddings({"image": x})
        reps.append(model.core.representation(refs, ("image",)).float().numpy())
    table = open_table(data, POSES_TABLE).to_table(columns=["id", "pose", "shape"], filter=pc.field("split") == split)
    order = {x: i for i, x in enumerate(table.column("id").to_pylist())}
    try:
        idx = np.asarray([order[str(x)] for x in ids])
    except KeyError as exc:
        raise ValueError(f"cached image features of {str(core_run)!r} do not match dataset {data!r} ({exc})") from exc
    pose = np.asarray(table.column("pose").to_pylist(), dtype=np.float32).reshape(-1, 22, 3)[idx]
    shapes = table.column("shape").to_pylist()
    if len({len(s) for s in shapes}) != 1:
        raise ValueError(f"dataset {data!r}: rows of split {split!r} have shapes of different sizes")
    shape = np.asarray(shapes, dtype=np.float32)[idx]
    return {"ids": np.asarray(ids), "rep": np.concatenate(reps), "pose": pose, "shape": shape}

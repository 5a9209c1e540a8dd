"""PoseText: a pose <-> text retrieval model trained with symBBC.

It is trained before the PoseEmbroider core for two reasons: its text tower becomes the frozen
text encoder of the core (:meth:`PoseText.text_encoder`), and its pose embeddings measure pose
similarity when mining pose pairs (:meth:`PoseText.pose_embedding`).

    pose tower: (B, J, 3) -> VPoser trunk (B, H) -> Linear H->K -> ReLU -> Linear K->E -> L2
    text tower: ids, mask (B, L) -> text encoder (B, E) -> L2; ``text_model`` picks it:
                "pretrained" (frozen MiniLM + topping, the default of training) or "scratch"
    loss:       symbbc(pose, text, gamma), gamma a learnable logit scale initialised at 10
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from pose_search.losses import symbbc
from pose_search.models.encoders.base import ModalityEncoder
from pose_search.models.encoders.pose_vae import PoseEncoder, PoseTrunk, PoseVAEConfig
from pose_search.models.encoders.pretrained_text import PretrainedTextConfig, PretrainedTextEncoder
from pose_search.models.encoders.text import TextEncoder, TextEncoderConfig, with_text_preset
from pose_search.models.encoders.tokenizer import TextTokenizer
from pose_search.models.registry import register_model


class PoseTower(nn.Module):
    """Poses ``(B, J, 3)`` -> L2-normalised embeddings ``(B, E)`` through a K-d bottleneck."""

    def __init__(
        self, num_joints: int, hidden: int, bottleneck: int, embed_dim: int, dropout: float
    ) -> None:
        super().__init__()
        self.trunk = PoseTrunk(num_joints, hidden, dropout)
        self.head = nn.Sequential(
            nn.Linear(hidden, bottleneck), nn.ReLU(), nn.Linear(bottleneck, embed_dim)
        )

    def forward(self, pose: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.head(self.trunk(pose)), dim=-1)


TEXT_MODELS = ("pretrained", "scratch")


def text_tower(text_model: str, config: dict[str, Any], tokenizer: TextTokenizer | str | Path | None = None,
               pretrained_dir: str | Path | None = None) -> ModalityEncoder:
    """The text encoder of a two-tower model: ``pretrained`` (:class:`PretrainedTextEncoder`,
    its backbone's own tokenizer) or ``scratch`` (:class:`TextEncoder`, a tokenizer we trained)."""
    if text_model == "pretrained":
        if tokenizer is not None or pretrained_dir is not None:
            raise ValueError("the pretrained text encoder uses its backbone's tokenizer and weights; "
                             "name another backbone folder with text={'backbone': DIR}")
        return PretrainedTextEncoder(**config)
    if text_model == "scratch":
        return TextEncoder(tokenizer=tokenizer, pretrained_dir=pretrained_dir, **config)
    raise ValueError(f"text_model {text_model!r}: expected one of {', '.join(TEXT_MODELS)}")


def copy_text_encoder(text: ModalityEncoder) -> ModalityEncoder:
    """A standalone copy of a text tower (same class, config and weights)."""
    if isinstance(text, PretrainedTextEncoder):
        enc: ModalityEncoder = PretrainedTextEncoder(**text.config())
    else:
        enc = TextEncoder(tokenizer=text.tokenizer, **text.config())
    enc.load_state_dict(text.state_dict())
    return enc


def text_registry_name(text: ModalityEncoder) -> str:
    """The registry name a text tower is saved under."""
    return PretrainedTextEncoder.registry_name if isinstance(text, PretrainedTextEncoder) else "posetext-text"


class PoseText(nn.Module):
    """The two-tower retrieval model; ``text`` holds the text encoder's config fields.

    ``text_model`` picks the text encoder (:func:`text_tower`; checkpoints written before the
    choice existed hold a ``scratch`` one). ``tokenizer`` / ``text_pretrained_dir`` are passed to a
    scratch text tower (see :class:`TextEncoder`); they are not part of :meth:`config` (the
    tokenizer is saved as a checkpoint extra, the pretrained weights are in the checkpoint's weights).
    """

    def __init__(
        self,
        num_joints: int = 22,
        pose_hidden: int = 512,
        bottleneck: int = 32,
        dropout: float = 0.1,
        logit_scale_init: float = 10.0,
        text: dict[str, Any] | None = None,
        tokenizer: TextTokenizer | str | Path | None = None,
        text_pretrained_dir: str | Path | None = None,
        text_model: str = "scratch",
    ) -> None:
        super().__init__()
        self.text = text_tower(text_model, text or {}, tokenizer, text_pretrained_dir)
        self.text_model = text_model
        embed_dim = self.text.output_dim
        self.pose = PoseTower(num_joints, pose_hidden, bottleneck, embed_dim, dropout)
        # gamma multiplies the cosines directly (not exp of a log-scale) and is not clamped.
        self.logit_scale = nn.Parameter(torch.tensor(float(logit_scale_init)))
        self._config = {
            "num_joints": num_joints,
            "pose_hidden": pose_hidden,
            "bottleneck": bottleneck,
            "dropout": dropout,
            "logit_scale_init": logit_scale_init,
        }
        self.embed_dim = embed_dim

    def config(self) -> dict[str, Any]:
        return {**self._config, "text_model": self.text_model, "text": self.text.config()}

    def pose_embedding(self, pose: torch.Tensor) -> torch.Tensor:
        """L2-normalised pose embeddings ``(B, E)`` of poses ``(B, J, 3)``."""
        return self.pose(pose)

    def text_embedding(self, text: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """L2-normalised text embeddings ``(B, E)`` of token ids and mask ``(B, L)`` (a pretrained
        tower also takes its backbone's cached token outputs ``(B, L, H)`` as ``text``)."""
        return F.normalize(self.text(text, attention_mask), dim=-1)

    def forward(
        self, pose: torch.Tensor, text: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (pose embeddings ``(B, E)``, text embeddings ``(B, E)``), both L2-normalised."""
        return self.pose_embedding(pose), self.text_embedding(text, attention_mask)

    def loss(
        self, pose_emb: torch.Tensor, text_emb: torch.Tensor, gather: bool = False
    ) -> torch.Tensor:
        """symBBC of the batch (of the global batch across workers with ``gather``)."""
        return symbbc(pose_emb, text_emb, self.logit_scale, gather=gather)

    def tokenize(
        self, texts: str | list[str], max_length: int = 256
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.text.tokenize(texts, max_length=max_length)

    def text_encoder(self) -> ModalityEncoder:
        """A standalone copy of the text tower (without the L2), ready to be frozen for the core."""
        return copy_text_encoder(self.text).to(self.logit_scale.device)

    def pose_encoder(self) -> PoseEncoder:
        """A standalone copy of the pose tower's trunk (``(B, J, 3)`` -> ``(B, H)``, before the
        bottleneck head), ready to be frozen as the core's pose encoder: its features already
        carry what the text tower is aligned with, where a PoseVAE's carry only the pose's shape."""
        trunk = self.pose.trunk
        enc = PoseEncoder(trunk.num_joints, self._config["pose_hidden"], self._config["dropout"])
        enc.trunk.load_state_dict(trunk.state_dict())
        return enc.to(self.logit_scale.device)

    def save_extra(self, directory: Path) -> None:
        if isinstance(self.text, TextEncoder):  # a pretrained tower's tokenizer is its backbone's
            self.text.save_extra(directory)

    def load_extra(self, directory: Path) -> None:
        if isinstance(self.text, TextEncoder):
            self.text.load_extra(directory)


def _posetext(
    preset: dict[str, Any], text_preset: TextEncoderConfig, config: dict[str, Any],
    pretrained_preset: PretrainedTextConfig | None = None,
) -> PoseText:
    config = {**preset, **config}
    if config.get("text_model", "scratch") != "scratch":  # the pretrained tower's own presets
        text = asdict(pretrained_preset) if pretrained_preset is not None else {}
        return PoseText(**{**config, "text": {**text, **(config.get("text") or {})}})
    text = dict(config.pop("text", None) or {})
    # Let with_text_preset see whether a tokenizer / pretrained model fixes the vocabulary.
    probe = {
        **text,
        "tokenizer": config.get("tokenizer"),
        "pretrained_dir": config.get("text_pretrained_dir"),
    }
    text = {
        k: v
        for k, v in with_text_preset(text_preset, probe).items()
        if k not in ("tokenizer", "pretrained_dir")
    }
    return PoseText(text=text, **config)


@register_model("posetext", kind="trainable.posetext")
def posetext(**config: Any) -> PoseText:
    return _posetext({}, TextEncoderConfig(), config)


@register_model("posetext-tiny", kind="trainable.posetext")
def posetext_tiny(**config: Any) -> PoseText:
    tiny = PoseVAEConfig.tiny()
    return _posetext(
        {"pose_hidden": tiny.hidden, "bottleneck": tiny.latent}, TextEncoderConfig.tiny(), config,
        PretrainedTextConfig.tiny(),
    )

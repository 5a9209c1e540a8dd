"""The PoseEmbroider core, its ablations, and the Aligner baseline.

All of them work on the features of the frozen modality encoders (see
:mod:`pose_search.models.encoders.base`) and share one interface:

* ``reference_embeddings(features) -> {m: (B, 512)}``: the per-modality "filter" projection
  (image: per patch, then mean-pooled) followed by L2 normalisation. These are the retrieval
  gallery and the contrastive targets; they never carry modality encodings.
* ``representation(refs, subset) -> (B, 512)``: the pose representation of the input subset G
  (PoseEmbroider: the core's output x̄_G; Aligner: the normalised mean of the inputs).
* ``query_embedding(refs, subset, target) -> (B, 512)``: the L2-normalised vector of G in the
  space of modality ``target`` (PoseEmbroider: a re-projection head; Aligner: the mean itself).
* ``contrastive_pairs(refs, subsets) -> [(name, query, target)]``: the symBBC terms of training.

Sizes default to the released code (one core layer, width 256, FFN 512); ``CoreConfig.paper()``
gives the wider 4-layer variant the constructor's arguments suggest.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from pose_search.models.registry import register_model

MODALITIES = ("image", "pose", "text")
Subset = tuple[str, ...]
SINGLE: tuple[Subset, ...] = (("image",), ("pose",), ("text",))
DUAL: tuple[Subset, ...] = (("pose", "text"), ("image", "text"), ("image", "pose"))
TRIPLE: tuple[Subset, ...] = (("image", "pose", "text"),)
VARIANTS = ("transformer", "mlp", "aligner")


@dataclass
class CoreConfig:
    """What decides the architecture of a core (stored in its checkpoint)."""

    variant: str = "transformer"  # transformer (PoseEmbroider) | mlp (ablation) | aligner (baseline)
    input_dims: dict[str, int] = field(default_factory=lambda: {"image": 768, "pose": 512, "text": 512})
    latent_dim: int = 512
    core_width: int = 256
    core_layers: int = 1
    core_heads: int = 4
    core_ffn: int = 512
    dropout: float = 0.1
    projection_heads: bool = True  # False: the "no projection heads" ablation
    head_hidden: int | None = None  # the re-projection heads' hidden width (None: latent_dim, as released)
    logit_scale_init: float = 10.0
    train_subsets: str = "single+dual"  # which subsets training feeds: single, single+dual, all

    def check(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"core variant {self.variant!r}: expected one of {VARIANTS}")
        unknown = set(self.input_dims) - set(MODALITIES)
        if unknown or not self.input_dims:
            raise ValueError(f"input_dims: unknown modalities {sorted(unknown)}; use {MODALITIES}")
        if self.train_subsets not in ("single", "single+dual", "all"):
            raise ValueError(f"train_subsets {self.train_subsets!r}: expected single, single+dual or all")
        if self.head_hidden is not None and (isinstance(self.head_hidden, bool) or not isinstance(self.head_hidden, int)
                                             or self.head_hidden < 1):
            raise ValueError(f"head_hidden {self.head_hidden!r}: expected a whole number >= 1 (or null: latent_dim)")
        if self.core_width % self.core_heads:
            raise ValueError("core_width must be divisible by core_heads")

    @classmethod
    def paper(cls, **overrides: object) -> CoreConfig:
        """Four layers of width 512 with FFN 1024 (the constructor's nominal sizes)."""
        return cls(core_width=512, core_layers=4, core_ffn=1024, **overrides)  # type: ignore[arg-type]

    def subsets(self) -> tuple[Subset, ...]:
        mods = [m for m in MODALITIES if m in self.input_dims]
        out = [s for s in SINGLE if s[0] in mods]
        if self.train_subsets != "single":
            out += [s for s in DUAL if all(m in mods for m in s)]
        if self.train_subsets == "all" and len(mods) == 3:
            out += list(TRIPLE)
        return tuple(out)


class MiniMLP(nn.Sequential):
    """Linear -> ReLU -> Linear, truncated-normal (std 0.02) weights, zero biases."""

    def __init__(self, dim_in: int, dim_out: int, hidden: int | None = None) -> None:
        hidden = hidden or dim_out
        super().__init__(nn.Linear(dim_in, hidden), nn.ReLU(), nn.Linear(hidden, dim_out))
        for layer in (self[0], self[2]):
            nn.init.trunc_normal_(layer.weight, std=0.02)
            nn.init.zeros_(layer.bias)


class LayerPlus(nn.Module):
    """The trainable "filter" of one modality: Linear -> ReLU -> Dropout.

    Token inputs ``(B, N, D)`` are projected per token and then mean-pooled, so the projection can
    learn to down-weight useless patches; vector inputs ``(B, D)`` are projected once.
    """

    def __init__(self, dim_in: int, dim_out: int, dropout: float) -> None:
        super().__init__()
        self.proj = nn.Sequential(nn.Linear(dim_in, dim_out), nn.ReLU(), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.proj(x)
        return y.mean(dim=1) if y.ndim == 3 else y


class _Base(nn.Module):
    """Projections, the learnable logit scale and the shared checks."""

    def __init__(self, cfg: CoreConfig) -> None:
        super().__init__()
        cfg.check()
        self.cfg = cfg
        self.modalities: tuple[str, ...] = tuple(m for m in MODALITIES if m in cfg.input_dims)
        self.projections = nn.ModuleDict(
            {m: LayerPlus(cfg.input_dims[m], cfg.latent_dim, cfg.dropout) for m in self.modalities}
        )
        # multiplies cosines (a logit scale), plain parameter as in the original, no clamp
        self.logit_scale = nn.Parameter(torch.tensor(float(cfg.logit_scale_init)))

    def config(self) -> dict:
        return asdict(self.cfg)

    def _check_subset(self, subset: Subset) -> Subset:
        subset = tuple(m for m in MODALITIES if m in subset)
        if not subset:
            raise ValueError("empty query: give at least one of image, pose, text")
        missing = [m for m in subset if m not in self.modalities]
        if missing:
            raise ValueError(f"this model has no {', '.join(missing)} input (it has {', '.join(self.modalities)})")
        return subset

    def _external(self, m: str, x: torch.Tensor) -> torch.Tensor:
        return x

    def reference_embeddings(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Encoder features ``{m: (B, D_m) or (B, N, D_m)}`` -> ``{m: (B, latent)}`` unit vectors."""
        out = {}
        for m, x in features.items():
            if m not in self.projections:
                raise ValueError(f"features for unknown modality {m!r}; model has {self.modalities}")
            out[m] = F.normalize(self._external(m, self.projections[m](x)), dim=-1)
        return out

    def contrastive_pairs(
        self, refs: dict[str, torch.Tensor], subsets: tuple[Subset, ...] | None = None
    ) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
        raise NotImplementedError

    def forward(self, features: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training forward (what DDP wraps): queries ``(T, B, D)``, targets ``(T, B, D)`` of the
        T contrastive terms (names: :meth:`term_names`), and the logit scale."""
        pairs = self.contrastive_pairs(self.reference_embeddings(features))
        return torch.stack([q for _, q, _ in pairs]), torch.stack([z for _, _, z in pairs]), self.logit_scale

    def term_names(self) -> list[str]:
        d = self.cfg.latent_dim
        dummy = {m: torch.zeros(2, d) for m in self.modalities}
        return [name for name, _, _ in self.contrastive_pairs(dummy)]


class PoseEmbroider(_Base):
    """Intermodality token + modality encodings + a small transformer + re-projection heads.

    With ``variant="mlp"`` the core is the MLP ablation (sum of the tokens, no intermodality
    token); with ``projection_heads=False`` the heads are the identity (one shared space).
    """

    def __init__(self, cfg: CoreConfig) -> None:
        super().__init__(cfg)
        d = cfg.latent_dim
        self.modality_encodings = nn.ParameterDict({m: nn.Parameter(torch.zeros(1, d)) for m in self.modalities})
        if cfg.variant == "transformer":
            self.intermodality_token = nn.Parameter(torch.randn(1, 1, d) * 1e-6)
            self.core_in = nn.Linear(d, cfg.core_width)
            layer = nn.TransformerEncoderLayer(
                cfg.core_width, cfg.core_heads, cfg.core_ffn, cfg.dropout, activation="gelu", batch_first=True
            )
            self.core = nn.TransformerEncoder(layer, cfg.core_layers, enable_nested_tensor=False)
            self.core_out = nn.Sequential(nn.Linear(cfg.core_width, d), nn.LayerNorm(d, eps=1e-6))
        else:
            self.core_mlp = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))
        self.heads = nn.ModuleDict(
            {m: MiniMLP(d, d, cfg.head_hidden) if cfg.projection_heads else nn.Identity() for m in self.modalities}
        )

    def representation(self, refs: dict[str, torch.Tensor], subset: Subset) -> torch.Tensor:
        """x̄_G ``(B, latent)`` from the reference embeddings of the modalities in ``subset``."""
        subset = self._check_subset(subset)
        # modality encodings go on copies: the targets stay clean
        tokens = [refs[m] + self.modality_encodings[m] for m in subset]
        if self.cfg.variant == "mlp":
            return F.normalize(self.core_mlp(torch.stack(tokens).sum(0)), dim=-1)
        b = tokens[0].shape[0]
        seq = torch.cat([self.intermodality_token.expand(b, -1, -1), torch.stack(tokens, dim=1)], dim=1)
        return self.core_out(self.core(self.core_in(seq)))[:, 0]

    def reproject(self, x: torch.Tensor, target: str) -> torch.Tensor:
        if target not in self.heads:
            raise ValueError(f"unknown target {target!r}; expected one of {self.modalities}")
        return F.normalize(self.heads[target](x), dim=-1)

    def query_embedding(self, refs: dict[str, torch.Tensor], subset: Subset, target: str) -> torch.Tensor:
        return self.reproject(self.representation(refs, subset), target)

    def contrastive_pairs(self, refs, subsets=None):
        out = []
        for subset in subsets or self.cfg.subsets():
            x = self.representation(refs, subset)
            for m in self.modalities:  # every target, including the inputs' own modalities
                out.append((f"{'+'.join(subset)}->{m}", self.reproject(x, m), refs[m]))
        return out


class Aligner(_Base):
    """ImageBind-style baseline: one joint space; a multi-modal query is the normalised mean."""

    def __init__(self, cfg: CoreConfig) -> None:
        super().__init__(cfg)
        d = cfg.latent_dim
        self.external = nn.ModuleDict(
            {m: nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d), nn.ReLU(), nn.Dropout(cfg.dropout),
                              nn.Linear(d, d)) for m in self.modalities}
        )

    def _external(self, m: str, x: torch.Tensor) -> torch.Tensor:
        return self.external[m](x)

    def representation(self, refs: dict[str, torch.Tensor], subset: Subset) -> torch.Tensor:
        subset = self._check_subset(subset)
        return F.normalize(torch.stack([refs[m] for m in subset]).mean(0), dim=-1)

    def query_embedding(self, refs: dict[str, torch.Tensor], subset: Subset, target: str) -> torch.Tensor:
        if target not in self.modalities:
            raise ValueError(f"unknown target {target!r}; expected one of {self.modalities}")
        return self.representation(refs, subset)

    def contrastive_pairs(self, refs, subsets=None):
        subsets = subsets or self.cfg.subsets()
        out = []
        if any(len(s) == 1 for s in subsets):
            for a, b in itertools.combinations(self.modalities, 2):
                out.append((f"{a}<->{b}", refs[a], refs[b]))
        for s in subsets:
            if len(s) > 1:
                for m in (x for x in self.modalities if x not in s or len(s) == 3):
                    out.append((f"{'+'.join(s)}->{m}", self.representation(refs, s), refs[m]))
        return out


def build_core(**config: object) -> PoseEmbroider | Aligner:
    """Factory behind the registry names (``config`` = :class:`CoreConfig` fields)."""
    cfg = CoreConfig(**config)  # type: ignore[arg-type]
    cfg.check()
    return Aligner(cfg) if cfg.variant == "aligner" else PoseEmbroider(cfg)


register_model("core", "core")(build_core)


def _preset(**fixed: object):
    def factory(**config: object) -> PoseEmbroider | Aligner:
        return build_core(**{**fixed, **config})

    return factory


register_model("poseembroider", "core")(_preset(variant="transformer"))
register_model("poseembroider-paper", "core")(_preset(variant="transformer", core_width=512, core_layers=4, core_ffn=1024))
register_model("poseembroider-mlp", "core")(_preset(variant="mlp"))
register_model("poseembroider-noheads", "core")(_preset(variant="transformer", projection_heads=False))
register_model("aligner", "core")(_preset(variant="aligner"))
register_model("core-tiny", "core")(_preset(latent_dim=32, core_width=16, core_heads=2, core_ffn=32,
                                            input_dims={"image": 16, "pose": 16, "text": 16}))


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def chance_recall(n: int, k: int) -> float:
    """R@K (in %) of a random ranking over ``n`` items."""
    return 100.0 * min(k, n) / n if n else math.nan

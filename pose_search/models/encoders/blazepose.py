"""BlazePose (MediaPipe Pose, full model): a frozen image encoder that works on real photos.

MediaPipe's BlazePose (GHUM 3D, ``pose_landmark_full.tflite`` + ``pose_detection.tflite``) ships
inside the ``mediapipe==0.10.21`` wheel, the last release with ``mediapipe.solutions.pose`` and
bundled models (model complexity 1 only: 0 and 2 are downloaded at run time, which we never do;
``make blazepose-heavy`` adds the heavy model, complexity 2, from the npm package ``@mediapipe/pose``
for ``BlazePoseEncoder(model_complexity=2)``; the default stays 1: heavy measured worse on our
labelled photos, benchmarks/README.md).
That wheel needs numpy<2 and protobuf<5, so it lives in its own environment, ``.venv-blazepose``
(``make blazepose-env``), and runs in a long-lived worker subprocess
(:mod:`~pose_search.models.encoders.blazepose_worker`, driven by
:class:`~pose_search.models.encoders.blazepose_process.WorkerProcess`). This module imports fine
without that environment; using the encoder without it raises :class:`BlazePoseEnvError` saying
how to build it.

Per image, BlazePose gives 33 landmarks (:data:`LANDMARK_NAMES`). The encoder's feature vector
``(B, 265)`` (:func:`landmark_features`, layout :data:`FEATURE_SLICES`) is:

* ``world``      ``33 x 3``: metric 3D coordinates (metres), origin between the hips, axes
                 roughly the camera's (x to the image's right, y down, z away from the camera);
* ``image``      ``33 x 3``: x, y normalised to the input image ([0, 1] inside it), z relative
                 depth at the scale of x;
* ``visibility`` ``33``, ``presence`` ``33``: BlazePose's per-landmark probabilities;
* ``found``      ``1``: 1 when a person was found. No person -> the whole vector is 0.

The batch path (:meth:`BlazePoseEncoder.forward`, what index building and training use) gives
those zeros for an image without a person; queries refuse it instead:
:class:`~pose_search.models.search_model.PoseSearchModel` checks :meth:`BlazePoseEncoder.person_found`
and raises
:class:`PersonNotFound` ("no person found in the image: use a photo of one person ..."), as
:meth:`BlazePoseEncoder.landmarks` does for one image.

Nothing is trainable; images are processed one by one in MediaPipe's static-image mode (no
tracking between images), so results do not depend on batch order.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from pose_search.models.encoders import blazepose_worker as protocol
from pose_search.models.encoders.base import ModalityEncoder, PersonNotFound  # noqa: F401 (re-exported)
from pose_search.models.encoders.blazepose_cache import ResultCache
from pose_search.models.encoders.blazepose_process import (
    WorkerError,
    WorkerProcess,
    WorkerStartError,
)
from pose_search.models.registry import register_model

log = logging.getLogger(__name__)

ENV_VAR = "POSE_SEARCH_BLAZEPOSE_ENV"
DEFAULT_ENV_NAME = ".venv-blazepose"
MEDIAPIPE_VERSION = "0.10.21"
BUILD_HINT = ("\nBuild the BlazePose environment with `make blazepose-env` (a separate venv with "
              f"mediapipe=={MEDIAPIPE_VERSION}, which needs numpy<2 and protobuf<5), or point "
              f"{ENV_VAR} (or the encoder's env_dir) at one.")

LANDMARK_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)
NUM_LANDMARKS = len(LANDMARK_NAMES)  # 33
_L = NUM_LANDMARKS
FEATURE_SLICES: dict[str, slice] = {
    "world": slice(0, 3 * _L), "image": slice(3 * _L, 6 * _L), "visibility": slice(6 * _L, 7 * _L),
    "presence": slice(7 * _L, 8 * _L), "found": slice(8 * _L, 8 * _L + 1),
}
FEATURE_DIM = 8 * _L + 1  # 265
MIN_SIDE, MAX_SIDE = 16, 4096  # image sides accepted (pixels)


class BlazePoseError(RuntimeError):
    """BlazePose could not run (worker failure, time-out, ...)."""


class BlazePoseEnvError(BlazePoseError):
    """The separate BlazePose environment is missing or broken."""


@dataclass
class BlazePoseLandmarks:
    """BlazePose's output for a batch of B images (numpy, float32; zeros where not ``found``).

    ``found (B,) bool``; ``image (B, 33, 3)``; ``world (B, 33, 3)`` metres, hip-centred;
    ``visibility (B, 33)``; ``presence (B, 33)``. Landmark order: :data:`LANDMARK_NAMES`.
    """

    found: np.ndarray
    image: np.ndarray
    world: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray

    def __len__(self) -> int:
        return len(self.found)

    def features(self) -> np.ndarray:
        return landmark_features(self)

    def point(self, name: str, space: str = "world") -> np.ndarray:
        """``(B, 3)`` coordinates of landmark ``name`` in ``space`` ("world" or "image")."""
        return getattr(self, space)[:, LANDMARK_NAMES.index(name)]


# BlazePose's (knee, ankle) landmarks of the left and the right leg
LEG_LANDMARKS = ((25, 27), (26, 28))
# A leg is in view when its knee and ankle both reach this visibility. On the real-photo benchmark
# (benchmarks/data/real_photos) every full-body frame has a leg with both >= 0.77, and the five
# photos cut at the waist or the thighs have none with both >= 0.6 (the cameraman's: 0.68 / 0.50).
LEG_SEEN_VISIBILITY = 0.6


# canonical joint (convention.JOINT_NAMES order) -> the BlazePose landmarks it is the mean of; the
# hips, knees, ankles, shoulders, elbows and wrists are landmarks of the same name (BlazePose's left
# is the person's left, as SMPL's), the feet are the foot tips; pelvis = mid-hips, neck =
# mid-shoulders, head = mid-ears, the spine and the collars lie between them (see landmark_joints)
_JOINT_LANDMARKS: dict[int, tuple[int, ...]] = {
    0: (23, 24), 1: (23,), 2: (24,), 4: (25,), 5: (26,), 7: (27,), 8: (28,), 10: (31,), 11: (32,),
    12: (11, 12), 15: (7, 8), 16: (11,), 17: (12,), 18: (13,), 19: (14,), 20: (15,), 21: (16,)}


def landmark_joints(lm: BlazePoseLandmarks) -> tuple[np.ndarray, np.ndarray]:
    """The 22 canonical joints of BlazePose's world landmarks: ``(B, 22, 3)`` float32 metres, y
    up (BlazePose's world is hip-centred with y down and z away from the camera: turned 180
    degrees about x), and their confidences ``(B, 22)`` (the landmarks' visibility; the least of
    those a joint is made from). Spine 1-3 lie at 1/4, 1/2, 3/4 from the pelvis to the neck, the
    collars halfway from the neck to each shoulder."""
    world = np.asarray(lm.world, dtype=np.float32) * np.array([1.0, -1.0, -1.0], np.float32)
    vis = np.asarray(lm.visibility, dtype=np.float32)
    joints = np.zeros((len(world), 22, 3), np.float32)
    conf = np.zeros((len(world), 22), np.float32)
    for j, marks in _JOINT_LANDMARKS.items():
        joints[:, j] = world[:, list(marks)].mean(1)
        conf[:, j] = vis[:, list(marks)].min(1)
    for j, t in ((3, 0.25), (6, 0.5), (9, 0.75)):
        joints[:, j] = joints[:, 0] + t * (joints[:, 12] - joints[:, 0])
        conf[:, j] = np.minimum(conf[:, 0], conf[:, 12])
    for j, shoulder in ((13, 16), (14, 17)):
        joints[:, j] = (joints[:, 12] + joints[:, shoulder]) / 2
        conf[:, j] = np.minimum(conf[:, 12], conf[:, shoulder])
    return joints, conf


def landmark_features(lm: BlazePoseLandmarks) -> np.ndarray:
    """Landmarks of B images -> ``(B, 265)`` float32 features (layout :data:`FEATURE_SLICES`)."""
    b = len(lm)
    feats = np.concatenate([lm.world.reshape(b, 3 * _L), lm.image.reshape(b, 3 * _L), lm.visibility,
                            lm.presence, lm.found.reshape(b, 1)], axis=1).astype(np.float32)
    feats[~lm.found.astype(bool)] = 0.0
    return feats


def landmarks_from_features(feats: np.ndarray) -> BlazePoseLandmarks:
    """The inverse of :func:`landmark_features`: ``(B, 265)`` -> landmarks (zeros where not found)."""
    f = np.asarray(feats, dtype=np.float32).reshape(-1, FEATURE_DIM)
    b = len(f)
    return BlazePoseLandmarks(found=f[:, FEATURE_SLICES["found"]][:, 0] > 0.5,
                              image=f[:, FEATURE_SLICES["image"]].reshape(b, _L, 3).copy(),
                              world=f[:, FEATURE_SLICES["world"]].reshape(b, _L, 3).copy(),
                              visibility=f[:, FEATURE_SLICES["visibility"]].copy(),
                              presence=f[:, FEATURE_SLICES["presence"]].copy())


def images_to_uint8(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """``(B, 3, H, W)`` float in [0, 1] or uint8 -> uint8 RGB ``(B, H, W, 3)``; ValueError if not."""
    x = torch.as_tensor(images)
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected images (B, 3, H, W) (RGB, e.g. 256x192 crops), got shape {tuple(x.shape)}")
    h, w = x.shape[2:]
    if not (MIN_SIDE <= min(h, w) and max(h, w) <= MAX_SIDE):
        raise ValueError(f"image size {h}x{w} outside [{MIN_SIDE}, {MAX_SIDE}] pixels per side")
    if x.dtype == torch.uint8:
        pass
    elif x.is_floating_point():
        x = x.detach().float()
        if x.numel() and (not torch.isfinite(x).all() or x.min() < -1e-3 or x.max() > 1 + 1e-3):
            raise ValueError("float images must be finite and in [0, 1] (uint8 images: 0..255); "
                             f"got values in [{x.min().item():.3g}, {x.max().item():.3g}]")
        x = (x * 255.0).round().clamp(0, 255).to(torch.uint8)
    else:
        raise ValueError(f"images must be float in [0, 1] or uint8, got {x.dtype}")
    return x.permute(0, 2, 3, 1).contiguous().cpu().numpy()


def default_env_dir() -> Path:
    """``$POSE_SEARCH_BLAZEPOSE_ENV``, else ``.venv-blazepose`` at the repository root."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    return Path(__file__).resolve().parents[3] / DEFAULT_ENV_NAME


def env_python(env_dir: str | Path | None = None) -> Path:
    """The interpreter of the BlazePose environment; :class:`BlazePoseEnvError` when missing."""
    env = Path(env_dir).expanduser() if env_dir else default_env_dir()
    for rel in ("bin/python", "Scripts/python.exe"):
        if (env / rel).is_file():
            return env / rel
    raise BlazePoseEnvError(f"the BlazePose environment {str(env)!r} does not exist "
                            f"(no bin/python in it).{BUILD_HINT}")


class BlazePoseEncoder(ModalityEncoder):
    """Frozen BlazePose landmarks as image features: ``(B, 3, H, W)`` -> ``(B, 265)``."""

    modality: ClassVar[str] = "image"
    token_output: ClassVar[bool] = False
    any_size: ClassVar[bool] = True  # its detector finds people better in the whole photo than in our crop fit

    def __init__(self, env_dir: str | None = None, model_complexity: int = 1,
                 min_detection_confidence: float = 0.5, batch_size: int = 16,
                 timeout_s: float = 60.0, startup_timeout_s: float = 180.0, cache: bool = True,
                 processes: int | None = None) -> None:
        super().__init__()
        if model_complexity not in (1, 2):
            raise ValueError(f"model_complexity={model_complexity}: only 1 (the full model, in the "
                             f"mediapipe=={MEDIAPIPE_VERSION} wheel) and 2 (the heavy model, installed by "
                             "`make blazepose-heavy`) are supported; 0 would be downloaded")
        if not 0.0 < min_detection_confidence < 1.0:
            raise ValueError(f"min_detection_confidence must be in (0, 1), got {min_detection_confidence}")
        if batch_size < 1 or timeout_s <= 0 or startup_timeout_s <= 0 or (processes is not None and processes < 1):
            raise ValueError("batch_size, timeout_s, startup_timeout_s and processes must be positive")
        self.env_dir = env_dir
        self.model_complexity = model_complexity
        self.min_detection_confidence = min_detection_confidence
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        self.startup_timeout_s = startup_timeout_s
        self.cache = bool(cache)
        self.processes = processes
        self.output_dim = FEATURE_DIM
        self._workers: list[WorkerProcess] = []
        self._results: ResultCache | None = None

    def config(self) -> dict[str, Any]:
        """Constructor arguments (``env_dir=None``: resolved on use, so checkpoints stay portable)."""
        return {"env_dir": self.env_dir, "model_complexity": self.model_complexity,
                "min_detection_confidence": self.min_detection_confidence,
                "batch_size": self.batch_size, "timeout_s": self.timeout_s,
                "startup_timeout_s": self.startup_timeout_s, "cache": self.cache, "processes": self.processes}

    @property
    def results(self) -> ResultCache | None:
        """The on-disk result cache (``$POSE_SEARCH_CACHE/blazepose/results.sqlite``; None when
        ``cache`` is off): BlazePose is deterministic per image, so an image met again is a lookup."""
        if self.cache and self._results is None:
            from pose_search.config import cache_dir

            namespace = f"mediapipe{MEDIAPIPE_VERSION}-c{self.model_complexity}-d{self.min_detection_confidence}"
            self._results = ResultCache(cache_dir() / "blazepose" / "results.sqlite", namespace)
        return self._results

    # ---- the workers
    @property
    def n_processes(self) -> int:
        """Worker processes used for a batch: ``processes``, else 2 where there are 2+ cores (MediaPipe
        runs each image on one core, so a second process nearly halves a batch's time)."""
        return self.processes or max(1, min(2, os.cpu_count() or 1))

    def _worker_at(self, i: int) -> WorkerProcess:
        """Worker ``i`` (created lazily; its process starts on its first request)."""
        while len(self._workers) <= i:
            command = [str(env_python(self.env_dir)), "-I", protocol.__file__,
                       "--model-complexity", str(self.model_complexity),
                       "--min-detection-confidence", str(self.min_detection_confidence)]
            self._workers.append(WorkerProcess(command, name="BlazePose worker", hint=BUILD_HINT,
                                               startup_timeout_s=self.startup_timeout_s))
        return self._workers[i]

    @property
    def worker(self) -> WorkerProcess:
        """The first worker (the one single images go to)."""
        return self._worker_at(0)

    def close(self) -> None:
        """Stop the worker processes (the next call starts new ones)."""
        for worker in self._workers:
            worker.close()

    def __getstate__(self) -> dict[str, Any]:
        # Pickled copies (Ray tasks, spawned DataLoader workers) start their own workers.
        state = self.__dict__.copy()
        state["_workers"] = []
        return state

    # ---- API
    def detect(self, images: torch.Tensor | np.ndarray) -> BlazePoseLandmarks:
        """Landmarks of ``(B, 3, H, W)`` images (float [0, 1] or uint8), person found or not
        (images met before come from the result cache)."""
        pixels = images_to_uint8(images)
        results = self.results
        if results is None:
            return self._run(pixels)
        keys = [results.key(px) for px in pixels]
        known = results.get(keys)
        todo = [i for i, k in enumerate(keys) if k not in known]
        feats = np.zeros((len(pixels), FEATURE_DIM), np.float32)
        for i, k in enumerate(keys):
            if k in known:
                feats[i] = known[k]
        if todo:
            feats[todo] = landmark_features(self._run(pixels[todo]))
            results.put({keys[i]: feats[i] for i in todo})
        return landmarks_from_features(feats)

    def _run(self, pixels: np.ndarray) -> BlazePoseLandmarks:
        """MediaPipe through the worker on uint8 ``(B, H, W, 3)``, in batches of ``batch_size``."""
        chunks = [pixels[s : s + self.batch_size] for s in range(0, len(pixels), self.batch_size)]
        n = min(self.n_processes, len(chunks))
        if n <= 1:
            parts = [self._request(0, c) for c in chunks]
        else:  # chunk j goes to worker j mod n; each worker's chunks in order, in its own thread
            from concurrent.futures import ThreadPoolExecutor

            self._worker_at(n - 1)  # all created here, not from the threads

            def lane(k: int) -> list[tuple[int, dict[str, np.ndarray]]]:
                return [(j, self._request(k, chunks[j])) for j in range(k, len(chunks), n)]

            with ThreadPoolExecutor(n, thread_name_prefix="blazepose") as pool:
                done = [item for items in pool.map(lane, range(n)) for item in items]
            parts = [part for _, part in sorted(done, key=lambda t: t[0])]
        parts = [protocol.empty_result(0), *parts]
        arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        if len(arrays["found"]) != len(pixels):
            raise BlazePoseError(f"worker answered {len(arrays['found'])} results for {len(pixels)} images")
        return BlazePoseLandmarks(**arrays)

    def _request(self, i: int, chunk: np.ndarray) -> dict[str, np.ndarray]:
        try:
            _, payload = self._worker_at(i).request({"op": "detect"}, protocol.to_npy(chunk), self.timeout_s)
        except WorkerStartError as exc:
            raise BlazePoseEnvError(str(exc)) from None
        except WorkerError as exc:
            raise BlazePoseError(str(exc)) from None
        return protocol.from_npz(payload)

    def landmarks(self, image: torch.Tensor | np.ndarray) -> BlazePoseLandmarks:
        """One image ``(3, H, W)`` (or ``(1, 3, H, W)``) -> its landmarks (batch of 1), or
        :class:`PersonNotFound` with a message a user can act on."""
        x = torch.as_tensor(image)
        if x.ndim == 3:
            x = x.unsqueeze(0)
        if x.ndim != 4 or x.shape[0] != 1:
            raise ValueError(f"expected one image (3, H, W), got shape {tuple(x.shape)}")
        result = self.detect(x)
        if not result.found[0]:
            raise PersonNotFound.in_images([0], 1)
        return result

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` float in [0, 1] or uint8 (256x192 crops) -> ``(B, 265)`` float32; all
        zeros for an image without a person (see :meth:`person_found`), never an error."""
        feats = torch.from_numpy(landmark_features(self.detect(images)))
        return feats.to(images.device if isinstance(images, torch.Tensor) else "cpu")

    def person_found(self, features: torch.Tensor) -> torch.Tensor:
        """``(B,)`` bool from features ``(B, 265)``: the ``found`` flag."""
        return torch.as_tensor(features)[:, FEATURE_SLICES["found"].start] > 0.5

    def legs_visible(self, features: torch.Tensor) -> torch.Tensor:
        """``(B,)`` bool from features ``(B, 265)``: a person was found and at least one leg is in
        view, its knee and ankle both with visibility >= :data:`LEG_SEEN_VISIBILITY`."""
        f = torch.as_tensor(features)
        vis = f[:, FEATURE_SLICES["visibility"]]
        seen = [(vis[:, knee] >= LEG_SEEN_VISIBILITY) & (vis[:, ankle] >= LEG_SEEN_VISIBILITY)
                for knee, ankle in LEG_LANDMARKS]
        return (f[:, FEATURE_SLICES["found"].start] > 0.5) & (seen[0] | seen[1])

    def body_joints(self, features: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Features ``(B, 265)`` -> the world landmarks as the 22 canonical joints ``(B, 22, 3)``
        and their confidences ``(B, 22)`` (:func:`landmark_joints`)."""
        return landmark_joints(landmarks_from_features(torch.as_tensor(features).cpu().numpy()))

    def extra_repr(self) -> str:
        env = self.env_dir or f"{default_env_dir()} (default)"
        pids = [w.pid for w in self._workers]
        return f"env={env}, model_complexity={self.model_complexity}, worker_pids={pids}"


@register_model("blazepose", "encoder.image")
def blazepose(**fields: Any) -> BlazePoseEncoder:
    return BlazePoseEncoder(**fields)


"""The BlazePose worker: MediaPipe's pose solution behind a length-prefixed stdin/stdout protocol.

This file runs **inside the separate BlazePose environment** (``.venv-blazepose``, built by
``make blazepose-env``: ``mediapipe==0.10.21``, which needs numpy<2 and protobuf<5 and so cannot
share our main environment). It is started as a script (``python -I blazepose_worker.py``), never
imported from there as part of ``pose_search``; in the main environment only the framing
functions below are used (by :mod:`pose_search.models.encoders.blazepose`), so this module imports
nothing but the standard library and numpy at the top.

Protocol (binary-safe, one request at a time, replies in order):

* a *frame* is a 4-byte big-endian length ``N`` followed by ``N`` bytes;
* a *message* is two frames: a UTF-8 JSON header, then a payload (possibly empty);
* on start the worker sends ``{"ok": true, "ready": true, "mediapipe": VERSION}`` (or
  ``{"ok": false, "error": ...}`` and exits when MediaPipe cannot be loaded);
* request ``{"op": "detect"}`` + an ``.npy`` of uint8 RGB images ``(B, H, W, 3)`` ->
  ``{"ok": true}`` + an ``.npz`` with ``found (B,) bool``, ``image (B, 33, 3)`` (x, y normalised
  to the image, z relative depth at the scale of x), ``world (B, 33, 3)`` (metres, origin between
  the hips, y down), ``visibility (B, 33)``, ``presence (B, 33)`` (float32; zeros where no person);
* request ``{"op": "ping"}`` -> ``{"ok": true}``; ``{"op": "exit"}`` or end of input: exit 0;
* a failing request answers ``{"ok": false, "error": ...}`` and the worker keeps serving.

Arrays cross as ``.npy`` / ``.npz`` read with ``allow_pickle=False``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import struct
import sys
from typing import Any, BinaryIO

import numpy as np

NUM_LANDMARKS = 33
MAX_FRAME = 1 << 30  # a corrupt length must not make a reader allocate without bound
_LEN = struct.Struct(">I")


def encode_message(header: dict[str, Any], payload: bytes = b"") -> bytes:
    """One message (JSON header frame + payload frame) as bytes."""
    head = json.dumps(header).encode("utf-8")
    return _LEN.pack(len(head)) + head + _LEN.pack(len(payload)) + payload


def frame_length(prefix: bytes) -> int:
    """The length announced by a 4-byte frame prefix; ValueError past :data:`MAX_FRAME`."""
    (n,) = _LEN.unpack(prefix)
    if n > MAX_FRAME:
        raise ValueError(f"frame of {n} bytes announced (limit {MAX_FRAME}): the stream is corrupt")
    return n


def _read_exact(stream: BinaryIO, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_message(stream: BinaryIO) -> tuple[dict[str, Any], bytes] | None:
    """Blocking read of one message from ``stream``; None at end of input."""
    parts = []
    for _ in range(2):
        prefix = _read_exact(stream, _LEN.size)
        body = None if prefix is None else _read_exact(stream, frame_length(prefix))
        if body is None:
            return None
        parts.append(body)
    return json.loads(parts[0].decode("utf-8")), parts[1]


def to_npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def from_npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def to_npz(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def from_npz(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def empty_result(batch: int) -> dict[str, np.ndarray]:
    """The arrays of ``batch`` images with no person found (the shapes :func:`run_pose` returns)."""
    return {"found": np.zeros(batch, bool),
            "image": np.zeros((batch, NUM_LANDMARKS, 3), np.float32),
            "world": np.zeros((batch, NUM_LANDMARKS, 3), np.float32),
            "visibility": np.zeros((batch, NUM_LANDMARKS), np.float32),
            "presence": np.zeros((batch, NUM_LANDMARKS), np.float32)}


# model_complexity -> the landmark model's file under mediapipe's package dir. Only the full model
# is in the wheel; the heavy one is installed by `make blazepose-heavy` (from the npm package
# @mediapipe/pose). MediaPipe downloads a missing one at run time: never here.
LANDMARK_MODELS = {0: "pose_landmark_lite.tflite", 1: "pose_landmark_full.tflite",
                   2: "pose_landmark_heavy.tflite"}


def landmark_model_path(mediapipe_dir: str, model_complexity: int) -> str:
    """The landmark model file of ``model_complexity``; FileNotFoundError when it is not installed
    (rather than letting MediaPipe download it)."""
    if model_complexity not in LANDMARK_MODELS:
        raise ValueError(f"model_complexity must be 0, 1 or 2, got {model_complexity}")
    path = os.path.join(mediapipe_dir, "modules", "pose_landmark", LANDMARK_MODELS[model_complexity])
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} is not installed (model_complexity={model_complexity}; "
                                "the heavy model (2) is installed by `make blazepose-heavy`), and it "
                                "is never downloaded at run time")
    return path


def run_pose(estimator: Any, images: np.ndarray) -> dict[str, np.ndarray]:
    """MediaPipe ``Pose`` (static-image mode) on uint8 RGB ``(B, H, W, 3)`` -> result arrays."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected uint8 (B, H, W, 3) images, got {images.dtype} {images.shape}")
    out = empty_result(len(images))
    for i, image in enumerate(images):
        res = estimator.process(np.ascontiguousarray(image))
        if res.pose_landmarks is None or res.pose_world_landmarks is None:
            continue
        lms, world = res.pose_landmarks.landmark, res.pose_world_landmarks.landmark
        out["found"][i] = True
        out["image"][i] = [(p.x, p.y, p.z) for p in lms]
        out["world"][i] = [(p.x, p.y, p.z) for p in world]
        # visibility/presence are only filled on the image landmarks (world ones carry zeros)
        out["visibility"][i] = [p.visibility for p in lms]
        out["presence"][i] = [p.presence for p in lms]
    return out


def _serve(estimator: Any, inp: BinaryIO, out: BinaryIO, version: str) -> int:
    out.write(encode_message({"ok": True, "ready": True, "mediapipe": version, "pid": os.getpid()}))
    out.flush()
    while True:
        message = read_message(inp)
        if message is None:
            return 0
        header, payload = message
        op = header.get("op")
        if op == "exit":
            return 0
        try:
            if op == "ping":
                reply = encode_message({"ok": True})
            elif op == "detect":
                reply = encode_message({"ok": True}, to_npz(run_pose(estimator, from_npy(payload))))
            else:
                raise ValueError(f"unknown op {op!r}")
        except Exception as exc:  # one bad request must not end the worker
            reply = encode_message({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        out.write(reply)
        out.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-complexity", type=int, default=1)
    parser.add_argument("--min-detection-confidence", type=float, default=0.5)
    parser.add_argument("--self-test", action="store_true",
                        help="load the model, run it on one blank image, report on stderr, exit")
    args = parser.parse_args(argv)
    # Replies go to a private copy of stdout; fd 1 then points at stderr, so anything a library
    # prints (C++ logging included) cannot corrupt the protocol stream.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    try:
        import mediapipe
        from mediapipe.python.solutions import pose as mp_pose

        landmark_model_path(os.path.dirname(mediapipe.__file__), args.model_complexity)
        estimator = mp_pose.Pose(static_image_mode=True, model_complexity=args.model_complexity,
                                 enable_segmentation=False,
                                 min_detection_confidence=args.min_detection_confidence)
    except Exception as exc:
        out.write(encode_message({"ok": False, "error": f"cannot load MediaPipe pose: "
                                                        f"{type(exc).__name__}: {exc}"}))
        out.flush()
        return 2
    version = getattr(mediapipe, "__version__", "?")
    with estimator:
        if args.self_test:
            found = run_pose(estimator, np.zeros((1, 256, 192, 3), np.uint8))["found"]
            print(f"BlazePose worker self-test: mediapipe {version}, numpy {np.__version__}, "
                  f"model_complexity {args.model_complexity}, blank image -> person found: {bool(found[0])}", file=sys.stderr)
            return 0 if not found[0] else 1
        return _serve(estimator, inp, out, version)


if __name__ == "__main__":
    sys.exit(main())

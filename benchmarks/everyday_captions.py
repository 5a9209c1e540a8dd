"""Everyday captions: do the posture predicates agree with the pose family a pose was drawn
from, and how many captions use everyday words?

For every family of :mod:`pose_search.data.families`, draws ``--per-family`` poses with the
sampler (:func:`~pose_search.data.sampler.sample_poses` weighted to that family alone: noise,
limits, self-intersection rejection, FPS, as ``pose-search data generate`` does; no rendering),
removes the heading, takes the neutral skeleton's joints and runs
:func:`pose_search.data.captioning.postures.detect`. Per family it reports how often

* the fact the family stands for holds (:data:`EXPECTED`, e.g. ``kneeling_one`` -> a variant
  ``kneeling:one:<side>``), and
* the main posture is the family's (:data:`EXPECTED_MAIN`),

with the most frequent posture variants. On the first ``--captioned`` poses of each family it
also captions (3 PoseScript-style + 2 everyday) and counts the poses with at least one everyday
word (:data:`EVERYDAY_WORDS`) in the PoseScript captions alone and in all five.
Writes benchmarks/results/everyday_captions.json.

    .venv/bin/python benchmarks/everyday_captions.py
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

Flags = dict[str, np.ndarray]


def _any(flags: Flags, name: str) -> np.ndarray:
    return flags[f"{name}:left"] | flags[f"{name}:right"]


def _variant(flags: Flags, prefix: str) -> np.ndarray:
    return np.char.startswith(flags["variant"].astype(str), prefix)


# family -> (what is expected, test on the detect() output)
EXPECTED: dict[str, tuple[str, Callable[[Flags], np.ndarray]]] = {
    "standing": ("standing", lambda f: f["main"] == "standing"),
    "t_pose": ("T-pose", lambda f: f["t_pose"]),
    "a_pose": ("A-pose", lambda f: f["a_pose"]),
    "walking": ("walking stride", lambda f: _variant(f, "standing:walk")),
    "running": ("running stride", lambda f: _variant(f, "standing:run")),
    "reaching_up": ("a hand raised", lambda f: _any(f, "arm_raised")),
    "reaching_forward": ("an arm reaching forward or pointing",
                         lambda f: _any(f, "reaching_forward") | _any(f, "pointing")),
    "pointing": ("an arm pointing or reaching", lambda f: _any(f, "pointing") | _any(f, "reaching_forward")),
    "waving": ("waving", lambda f: _any(f, "waving")),
    "arms_crossed": ("arms crossed", lambda f: f["arms_crossed"]),
    "hands_on_hips": ("both hands on the hips", lambda f: f["hands_on_hips"]),
    "stretching": ("arms raised or out to the sides",
                   lambda f: _any(f, "arm_raised") | _any(f, "arm_out_to_side")),
    "throwing": ("throwing (hand cocked back)", lambda f: _any(f, "throwing")),
    "boxing_guard": ("boxing guard", lambda f: f["boxing_guard"]),
    "kicking_front": ("kicking", lambda f: _any(f, "kicking")),
    "kicking_side": ("kicking", lambda f: _any(f, "kicking")),
    "jumping_tuck": ("tuck jump", lambda f: _variant(f, "jumping:tuck")),
    "jumping_star": ("star jump", lambda f: _variant(f, "jumping:star")),
    "balance_one_leg": ("standing on one leg", lambda f: _variant(f, "standing:one_leg")),
    "dancing": ("standing (free pose)", lambda f: f["main"] == "standing"),
    "lying_back": ("lying on the back", lambda f: _variant(f, "lying:back")),
    "lying_front": ("lying face down", lambda f: _variant(f, "lying:front")),
    "lying_side": ("lying on a side", lambda f: _variant(f, "lying:side")),
    "sitting_chair": ("sitting on a chair", lambda f: _variant(f, "sitting:chair")),
    "sitting_floor_legs_forward": ("sitting on the floor", lambda f: _variant(f, "sitting:floor")),
    "sitting_cross_legged": ("sitting cross-legged", lambda f: _variant(f, "sitting:cross_legged")),
    "kneeling_both": ("kneeling on both knees", lambda f: _variant(f, "kneeling:both")),
    "kneeling_one": ("kneeling on one knee", lambda f: _variant(f, "kneeling:one")),
    "squatting": ("squatting", lambda f: f["main"] == "squatting"),
    "crouching": ("crouching", lambda f: _variant(f, "squatting:crouch")),
    "lunging_forward": ("forward lunge", lambda f: _variant(f, "lunging:forward")),
    "lunging_side": ("side lunge", lambda f: _variant(f, "lunging:side")),
    "bending_forward": ("bending forward", lambda f: f["bending_forward"]),
    "bending_sideways": ("bending sideways", lambda f: _any(f, "bending_sideways")),
}
_MAIN_OF_PREFIX = (("lying", "lying"), ("sitting", "sitting"), ("kneeling", "kneeling"),
                   ("squatting", "squatting"), ("crouching", "squatting"), ("lunging", "lunging"),
                   ("jumping", "jumping"))
# family -> the main posture it should get (every other family stands)
EXPECTED_MAIN: dict[str, str] = {
    name: next((m for p, m in _MAIN_OF_PREFIX if name.startswith(p)), "standing") for name in EXPECTED
}
# words a person would use for a whole posture or action (stems)
EVERYDAY_WORDS = re.compile(
    r"\b(stand\w*|sit|sits|sitting|seated|lying|lies|lie|prone|face (?:up|down)|kneel\w*|"
    r"on (?:one|both|their) knees?|knee down|squat\w*|crouch\w*|lung\w*|jump\w*|walk\w*|"
    r"mid-stride|taking a step|running|jogging|wav\w*|crossed|t[ -]pose|a[ -]pose|push-up|"
    r"plank\w*|kick\w*|punch\w*|throw\w*|all fours|hands and knees|bent over|balanc\w*|"
    r"on their feet|on (?:the|their) (?:left|right) side|on one leg|off the ground|down low|"
    r"low to the ground)\b", re.IGNORECASE)


def family_joints(name: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` poses ``(n, 22, 3)`` of one family from the sampler, heading removed, and their
    neutral-skeleton joints ``(n, 22, 3)``."""
    from pose_search.body.convention import normalize_heading
    from pose_search.body.skeleton import neutral_joints
    from pose_search.data.sampler import SamplerConfig, sample_poses

    poses, _ = sample_poses(n, seed=seed, config=SamplerConfig(family_weights={name: 1.0}))
    canon = normalize_heading(torch.from_numpy(poses)).numpy()
    return canon, neutral_joints(canon)


def word_shares(joints: np.ndarray, poses: np.ndarray, seed: int) -> dict[str, float]:
    """Share of poses with >= 1 everyday word in the PoseScript captions and in all captions."""
    from pose_search.data.captioning import describe_poses

    caps = describe_poses(joints, poses, rng=np.random.default_rng(seed))
    hit = lambda texts: any(EVERYDAY_WORDS.search(t) for t in texts)  # noqa: E731
    ps = [hit([t for t, k in zip(c.texts, c.kinds) if k == "posescript"]) for c in caps]
    return {"posescript": float(np.mean(ps)), "all": float(np.mean([hit(c.texts) for c in caps]))}


def main() -> None:
    from pose_search.data.captioning.postures import detect
    from pose_search.data.families import list_families

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-family", type=int, default=200)
    p.add_argument("--captioned", type=int, default=30, help="poses per family to caption")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "everyday_captions.json"))
    args = p.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    families, words_ps, words_all = {}, [], []
    for k, name in enumerate(list_families()):
        poses, joints = family_joints(name, args.per_family, args.seed * 1000 + k)
        flags = detect(joints)
        what, test = EXPECTED[name]
        variants = collections.Counter(flags["variant"].tolist())
        shares = word_shares(joints[: args.captioned], poses[: args.captioned], args.seed + k)
        words_ps.append(shares["posescript"])
        words_all.append(shares["all"])
        families[name] = {
            "expected": what, "agreement": round(float(np.mean(test(flags))), 3),
            "expected_main": EXPECTED_MAIN[name],
            "main_agreement": round(float(np.mean(flags["main"] == EXPECTED_MAIN[name])), 3),
            "top_variants": {v: round(c / len(joints), 3) for v, c in variants.most_common(4)},
            "everyday_word_share": {k2: round(v, 3) for k2, v in shares.items()},
        }
        print(f"{name:28s} {what:38s} {families[name]['agreement']:.3f} "
              f"main {families[name]['main_agreement']:.3f}", flush=True)
    agree = [f["agreement"] for f in families.values()]
    result = {
        "benchmark": "everyday_captions",
        "command": f"benchmarks/everyday_captions.py --per-family {args.per_family} "
                   f"--captioned {args.captioned} --seed {args.seed}",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "seconds": round(time.perf_counter() - start, 1),
        "poses_per_family": args.per_family,
        "mean_agreement": round(float(np.mean(agree)), 3),
        "mean_main_agreement": round(float(np.mean([f["main_agreement"] for f in families.values()])), 3),
        "everyday_word_share": {"posescript_captions": round(float(np.mean(words_ps)), 3),
                                "with_everyday_captions": round(float(np.mean(words_all)), 3),
                                "captioned_per_family": args.captioned},
        "families": families,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "families"}, indent=2))


if __name__ == "__main__":
    main()

"""Upright, sitting, kneeling, squatting, lunging and bending families."""

from __future__ import annotations

import numpy as np

from pose_search.data.families.registry import SIDES, calm_head, family, relaxed_arm, standing_legs
from pose_search.data.pose_builder import PoseBuilder, down_dir, rot, sph


# ---------------------------------------------------------------- upright
@family("standing")
def _standing(b: PoseBuilder, u, rng) -> None:
    """Relaxed standing, arms hanging, small spine/head motion."""
    b.spine(u(-5, 8), u(-4, 4), u(-8, 8))
    calm_head(b, u)
    standing_legs(b, u)
    for s in SIDES:
        relaxed_arm(b, u, s)


@family("t_pose", mirror=False)
def _t_pose(b: PoseBuilder, u, rng) -> None:
    """Arms horizontal (elev -5..5, azim 85..95), elbows 0..5, legs straight."""
    standing_legs(b, u, 4)
    for s in SIDES:
        b.arm(s, sph(u(-5, 5), s * u(85, 95)), u(0, 5))


@family("a_pose", mirror=False)
def _a_pose(b: PoseBuilder, u, rng) -> None:
    """Arms 30..50 deg below horizontal, legs straight."""
    standing_legs(b, u, 4)
    for s in SIDES:
        b.arm(s, sph(-u(30, 50), s * u(80, 95)), u(0, 10))


@family("walking")
def _walking(b: PoseBuilder, u, rng) -> None:
    """Gait phase 0..2pi; hip swing amplitude 15..30 deg, swing knee up to 50, arms opposite."""
    p, a = u(0, 2 * np.pi), u(15, 30)
    b.spine(u(0, 8), u(-3, 3), -0.3 * a * np.sin(p))
    calm_head(b, u)
    for s in SIDES:
        ph = np.sin(p) * s
        b.leg(
            s,
            down_dir(a * ph, u(0, 5), s),
            u(0, 10) + 45 * max(0.0, np.cos(p) * s),
            frame="world",
            ankle=u(-10, 15),
        )
        b.arm(s, down_dir(-0.8 * a * ph, u(5, 12), s), u(10, 40), frame="world")


@family("running")
def _running(b: PoseBuilder, u, rng) -> None:
    """Forward lean 5..15; front thigh 40..75 deg, back thigh -10..-30, elbows 70..105."""
    b.root(rot("x", u(5, 15)))
    b.spine(u(0, 10), 0, u(-10, 10))
    b.head(u(-10, 5), u(-10, 10), 0)
    b.leg(1, down_dir(u(40, 75), u(0, 8), 1), u(30, 80), frame="world", ankle=u(-10, 10))
    b.leg(-1, down_dir(-u(10, 30), u(0, 8), -1), u(50, 110), frame="world", ankle=u(10, 40))
    b.arm(-1, down_dir(u(30, 60), u(5, 15), -1), u(70, 105), frame="world")
    b.arm(1, down_dir(-u(20, 45), u(5, 15), 1), u(70, 105), frame="world")


# ---------------------------------------------------------------- sitting / kneeling / low
@family("sitting_chair")
def _sitting_chair(b: PoseBuilder, u, rng) -> None:
    """Thighs 75..95 deg flexed, knees 70..110, lean -5..20, hands on the thighs or forearms on armrests."""
    b.spine(u(-5, 20), u(-5, 5), u(-10, 10))
    calm_head(b, u)
    for s in SIDES:
        b.leg(s, down_dir(u(75, 95), u(3, 20), s), u(70, 110), ankle=u(-10, 15))
        if rng.random() < 0.5:
            b.arm(
                s,
                down_dir(u(-15, 5), u(10, 20), s),
                None,
                lower=np.array([-s * 0.1, -u(0.0, 0.3), 1.0]),
            )
        else:
            b.arm(s, down_dir(u(-10, 5), u(15, 25), s), u(85, 100))


@family("sitting_floor_legs_forward")
def _sitting_floor(b: PoseBuilder, u, rng) -> None:
    """Long sitting: thighs 80..95 flexed, knees 0..40, arms propped behind (-25..-45) or forward."""
    back = rng.random() < 0.5
    b.root(rot("x", -u(0, 20) if back else u(0, 10)))
    b.spine(u(-5, 10) if back else u(10, 30), 0, u(-10, 10))
    calm_head(b, u)
    for s in SIDES:
        b.leg(s, down_dir(u(80, 95), u(3, 12), s), u(0, 40), frame="world", ankle=u(0, 30))
        if back:
            b.arm(s, down_dir(-u(25, 45), u(10, 25), s), u(0, 15), frame="world")
        else:
            b.arm(s, down_dir(u(40, 70), u(5, 15), s), u(10, 40), frame="world")


@family("sitting_cross_legged")
def _cross_legged(b: PoseBuilder, u, rng) -> None:
    """Thighs 60..80 flexed and 35..45 out, shins folded inwards-down (one in front)."""
    b.spine(u(0, 20), u(-5, 5), u(-10, 10))
    calm_head(b, u)
    front = 1 if rng.random() < 0.5 else -1
    for s in SIDES:
        dz = 0.25 if s == front else 0.0
        b.leg(
            s,
            down_dir(u(60, 80), u(35, 45), s),
            None,
            lower=np.array([-s * 1.0, -u(0.45, 0.7), u(0.2, 0.3) + dz]),
            ankle=u(0, 20),
        )
        b.arm(s, down_dir(u(20, 40), u(10, 25), s), u(20, 60))


@family("kneeling_both")
def _kneeling_both(b: PoseBuilder, u, rng) -> None:
    """Upright kneel (thighs vertical, knees 80..100) or on the heels (thighs 62..72, knees 145..154)."""
    heels = rng.random() < 0.4
    b.spine(u(-5, 15), u(-5, 5), u(-10, 10))
    calm_head(b, u)
    for s in SIDES:
        flex = u(62, 72) if heels else u(-10, 15)
        b.leg(
            s,
            down_dir(flex, u(3, 12), s),
            u(145, 154) if heels else u(80, 100),
            frame="world",
            ankle=u(45, 60),
        )
        relaxed_arm(b, u, s) if rng.random() < 0.5 else b.arm(
            s, down_dir(u(0, 20), 15, s), u(60, 90)
        )


@family("kneeling_one")
def _kneeling_one(b: PoseBuilder, u, rng) -> None:
    """Left foot planted (thigh 70..95 flexed, knee 80..100), right knee down (thigh -20..5)."""
    b.spine(u(-5, 15), u(-5, 5), u(-10, 10))
    calm_head(b, u)
    b.leg(1, down_dir(u(70, 95), u(5, 15), 1), u(80, 100), frame="world", ankle=u(-15, 5))
    b.leg(-1, down_dir(-u(0, 20), u(3, 10), -1), u(80, 100), frame="world", ankle=u(20, 50))
    b.arm(1, down_dir(u(0, 20), u(10, 20), 1), u(60, 90))
    relaxed_arm(b, u, -1)


@family("squatting", mirror=False)
def _squatting(b: PoseBuilder, u, rng) -> None:
    """Pelvis tilted 10..30, thighs 75..105 flexed and 15..35 out, knees 110..145, arms forward."""
    b.root(rot("x", u(10, 30)))
    b.spine(u(0, 20), 0, u(-8, 8))
    b.head(u(-25, 0), u(-15, 15), 0)
    for s in SIDES:
        b.leg(s, down_dir(u(75, 105), u(15, 35), s), u(110, 145), frame="world", ankle=-u(10, 30))
        b.arm(s, sph(u(-30, 20), s * u(15, 35)), u(0, 30), frame="world")


@family("crouching")
def _crouching(b: PoseBuilder, u, rng) -> None:
    """Deep crouch: pelvis tilted 20..40, thighs 85..105, knees 130..150, hands towards the ground."""
    b.root(rot("x", u(20, 40)))
    b.spine(u(5, 25), u(-5, 5), u(-10, 10))
    b.head(u(-35, -10), u(-20, 20), 0)
    for s in SIDES:
        b.leg(s, down_dir(u(85, 105), u(8, 25), s), u(130, 150), frame="world", ankle=-u(15, 30))
        b.arm(s, down_dir(u(35, 70), u(20, 35), s), u(0, 30), frame="world")


@family("lunging_forward")
def _lunging_forward(b: PoseBuilder, u, rng) -> None:
    """Left thigh 70..95 forward (knee 70..100), right thigh -20..-40 back (knee 0..30 or 60..90)."""
    b.spine(u(-5, 10), u(-5, 5), u(-10, 10))
    calm_head(b, u)
    b.leg(1, down_dir(u(70, 95), u(3, 10), 1), u(70, 100), frame="world", ankle=u(-15, 0))
    b.leg(
        -1,
        down_dir(-u(20, 40), u(3, 10), -1),
        u(0, 30) if rng.random() < 0.5 else u(60, 90),
        frame="world",
        ankle=u(0, 30),
    )
    for s in SIDES:
        relaxed_arm(b, u, s) if rng.random() < 0.6 else b.arm(
            s, sph(u(-10, 20), s * u(60, 100)), u(0, 20)
        )


@family("lunging_side")
def _lunging_side(b: PoseBuilder, u, rng) -> None:
    """Left knee bent 70..110 (thigh 20..50 flexed, 20..35 out), right leg straight 30..45 out."""
    b.root(rot("x", u(5, 20)))
    b.spine(u(0, 15), u(-10, 5), u(-10, 10))
    calm_head(b, u)
    b.leg(1, down_dir(u(20, 50), u(20, 35), 1), u(70, 110), frame="world", ankle=-u(0, 20))
    b.leg(-1, down_dir(u(0, 10), u(30, 45), -1), u(0, 10), frame="world", ankle=u(0, 10))
    for s in SIDES:
        b.arm(s, down_dir(u(20, 60), u(5, 20), s), u(20, 70), frame="world")


@family("bending_forward", mirror=False)
def _bending_forward(b: PoseBuilder, u, rng) -> None:
    """Pelvis pitched 40..95 forward, legs vertical (knees 0..25), arms hanging in the world."""
    b.root(rot("x", u(40, 95)))
    b.spine(u(0, 25), u(-8, 8), u(-10, 10))
    b.head(u(-30, 10), u(-15, 15), 0)
    standing_legs(b, u, 25)
    for s in SIDES:
        b.arm(s, down_dir(u(-10, 30), u(0, 15), s), u(0, 40), frame="world")


@family("bending_sideways")
def _bending_sideways(b: PoseBuilder, u, rng) -> None:
    """Lean left: pelvis roll 0..15 + spine 15..35; right arm over the head, left arm down."""
    b.root(rot("z", -u(0, 15)))
    b.spine(u(-5, 10), u(15, 35), u(-10, 10))
    b.head(u(-10, 10), u(-15, 15), u(0, 20))
    standing_legs(b, u, 8)
    b.arm(-1, sph(u(55, 85), -u(60, 100)), u(5, 40), frame="chest")
    b.arm(1, down_dir(u(-10, 10), u(0, 10), 1), u(0, 30), frame="world")


# ---------------------------------------------------------------- arms

"""Arm gestures, kicks, jumps, balance, dance and lying families."""

from __future__ import annotations

import numpy as np

from pose_search.data.families.registry import SIDES, calm_head, family, relaxed_arm, standing_legs
from pose_search.data.pose_builder import PoseBuilder, down_dir, rot, sph


@family("reaching_up")
def _reaching_up(b: PoseBuilder, u, rng) -> None:
    """Left arm (and right with p=0.5) up: elev 60..88, azim 10..80, elbow 0..20; tiptoe 0..35."""
    b.spine(u(-15, 3), u(-5, 5), u(-10, 10))
    b.head(u(-35, 0), u(-15, 15), 0)
    toe = u(0, 35)
    for s in SIDES:
        b.leg(s, down_dir(u(-3, 3), u(0, 8), s), u(0, 5), frame="world", ankle=toe)
    both = rng.random() < 0.5
    for s in SIDES:
        if s == 1 or both:
            b.collar(s, u(5, 20))
            b.arm(s, sph(u(60, 88), s * u(10, 80)), u(0, 20), frame="world")
        else:
            relaxed_arm(b, u, s)


@family("reaching_forward")
def _reaching_forward(b: PoseBuilder, u, rng) -> None:
    """Pelvis lean 0..30; left arm forward elev -15..30, azim -15..40, elbow 0..25."""
    b.root(rot("x", u(0, 30)))
    b.spine(u(0, 15), u(-5, 5), u(-20, 5))
    calm_head(b, u)
    standing_legs(b, u, 20)
    b.collar(1, 0, u(5, 20))
    b.arm(1, sph(u(-15, 30), u(-15, 40)), u(0, 25), frame="world")
    if rng.random() < 0.4:
        b.arm(-1, sph(u(-15, 30), -u(-15, 40)), u(0, 25), frame="world")
    else:
        relaxed_arm(b, u, -1)


@family("pointing")
def _pointing(b: PoseBuilder, u, rng) -> None:
    """Left arm straight (elbow 0..10) at elev -10..40, azim -20..80; head turned that way."""
    az = u(-20, 80)
    b.spine(u(-5, 5), u(-5, 5), 0.3 * az)
    b.head(u(-15, 5), 0.5 * az, 0)
    standing_legs(b, u)
    b.arm(1, sph(u(-10, 40), az), u(0, 10), frame="world")
    relaxed_arm(b, u, -1)


@family("waving")
def _waving(b: PoseBuilder, u, rng) -> None:
    """Left upper arm elev -10..30 azim 60..100; forearm up (elev 55..90), other arm relaxed."""
    b.spine(u(-5, 5), u(-5, 5), u(-10, 10))
    calm_head(b, u)
    standing_legs(b, u)
    b.arm(1, sph(u(-10, 30), u(60, 100)), None, lower=sph(u(55, 90), u(20, 90)))
    relaxed_arm(b, u, -1)


@family("arms_crossed", mirror=False)
def _arms_crossed(b: PoseBuilder, u, rng) -> None:
    """Upper arms 25..45 forward, forearms folded (medial, left one higher) across the chest."""
    b.spine(u(-5, 5), u(-5, 5), u(-10, 10))
    calm_head(b, u)
    standing_legs(b, u)
    hi = 1 if rng.random() < 0.5 else -1
    for s in SIDES:
        b.collar(s, 0, u(5, 15))
        b.arm(
            s,
            down_dir(u(25, 45), u(5, 15), s),
            None,
            lower=np.array([-s, u(0.3, 0.45) if s == hi else u(-0.1, 0.05), u(0.2, 0.4)]),
        )


@family("hands_on_hips", mirror=False)
def _hands_on_hips(b: PoseBuilder, u, rng) -> None:
    """Elbows out (40..55) and back (-10..-30); forearms down-inwards to the hips."""
    b.spine(u(-5, 5), u(-5, 5), u(-10, 10))
    calm_head(b, u)
    standing_legs(b, u)
    for s in SIDES:
        b.arm(
            s,
            down_dir(-u(10, 30), u(40, 55), s),
            None,
            lower=np.array([-s * u(0.2, 0.4), -0.8, u(0.2, 0.4)]),
        )


@family("stretching")
def _stretching(b: PoseBuilder, u, rng) -> None:
    """Both arms overhead (elev 65..90, azim 0..35) with a back arch, or arms out-back."""
    b.spine(-u(0, 15), 0, u(-5, 5))
    b.head(-u(0, 30), 0, 0)
    standing_legs(b, u, 5)
    up = rng.random() < 0.7
    for s in SIDES:
        if up:
            b.collar(s, u(10, 25))
            b.arm(s, sph(u(65, 90), s * u(0, 35)), u(0, 30), frame="world")
        else:
            b.arm(s, sph(u(-20, 20), s * u(110, 140)), u(0, 10))


@family("throwing")
def _throwing(b: PoseBuilder, u, rng) -> None:
    """Left arm cocked back (elev 0..30, azim 95..130, forearm up-back), right arm forward; stance."""
    b.spine(u(-10, 5), u(-10, 0), u(10, 30))
    b.head(0, -u(10, 30), 0)
    b.leg(-1, down_dir(u(15, 30), u(3, 10), -1), u(10, 30), frame="world", ankle=-u(0, 10))
    b.leg(1, down_dir(-u(10, 20), u(5, 12), 1), u(5, 20), frame="world", ankle=u(0, 20))
    b.arm(1, sph(u(0, 30), u(95, 130)), None, lower=sph(u(60, 85), u(90, 150)))
    b.arm(-1, sph(u(-10, 25), -u(0, 40)), u(10, 40))


@family("boxing_guard")
def _boxing(b: PoseBuilder, u, rng) -> None:
    """Fists up by the chin: upper arms down-forward 20..45, elbows 110..140; staggered stance."""
    b.spine(u(0, 15), 0, u(-15, 5))
    b.head(u(0, 20), 0, 0)
    b.leg(1, down_dir(u(10, 25), u(3, 10), 1), u(10, 30), frame="world")
    b.leg(-1, down_dir(-u(10, 20), u(3, 10), -1), u(10, 30), frame="world", ankle=u(0, 20))
    for s in SIDES:
        b.arm(
            s,
            down_dir(u(20, 45), u(10, 25), s),
            u(110, 140),
            bend_dir=np.array([-0.4 * s, 1.0, 0.2]),
        )


# ---------------------------------------------------------------- legs / dynamic
@family("kicking_front")
def _kicking_front(b: PoseBuilder, u, rng) -> None:
    """Left thigh 50..95 forward, knee 0..45; lean back 0..15; arms out for balance."""
    b.root(rot("x", -u(0, 15)))
    b.spine(u(0, 10), 0, u(-10, 10))
    calm_head(b, u)
    b.leg(1, down_dir(u(50, 95), u(0, 10), 1), u(0, 45), frame="world", ankle=u(0, 40))
    b.leg(-1, down_dir(u(-3, 5), u(0, 5), -1), u(0, 15), frame="world")
    for s in SIDES:
        b.arm(s, sph(u(-40, 10), s * u(50, 110)), u(10, 60))


@family("kicking_side")
def _kicking_side(b: PoseBuilder, u, rng) -> None:
    """Left thigh 50..85 out (flex 0..20), knee 0..30; body tilted away 10..30; guard arms."""
    b.root(rot("z", u(10, 30)))
    b.spine(u(0, 10), -u(5, 15), u(-10, 10))
    b.head(0, u(20, 50), -u(0, 15))
    b.leg(1, down_dir(u(0, 20), u(50, 85), 1), u(0, 30), ankle=u(0, 20))
    b.leg(-1, down_dir(0, u(0, 5), -1), u(0, 15), frame="world")
    for s in SIDES:
        b.arm(
            s,
            down_dir(u(20, 45), u(10, 25), s),
            u(90, 130),
            bend_dir=np.array([-0.3 * s, 1.0, 0.3]),
        )


@family("jumping_tuck", mirror=False)
def _jumping_tuck(b: PoseBuilder, u, rng) -> None:
    """Thighs 90..125 flexed, knees 100..145, arms forward 40..100 and out 22..35, elbows 10..40."""
    b.spine(u(0, 25), 0, u(-5, 5))
    b.head(u(-10, 20), 0, 0)
    for s in SIDES:
        b.leg(s, down_dir(u(90, 125), u(5, 20), s), u(100, 145), ankle=u(10, 40))
        b.arm(s, down_dir(u(40, 100), u(22, 35), s), u(10, 40))


@family("jumping_star", mirror=False)
def _jumping_star(b: PoseBuilder, u, rng) -> None:
    """Legs 25..45 out, knees 0..15, toes pointed; arms up-out (elev 20..60, azim 80..110)."""
    b.spine(u(-10, 5), u(-5, 5), u(-5, 5))
    b.head(u(-20, 5), 0, 0)
    for s in SIDES:
        b.leg(s, down_dir(u(-5, 10), u(25, 45), s), u(0, 15), ankle=u(20, 45))
        b.arm(s, sph(u(20, 60), s * u(80, 110)), u(0, 20))


@family("balance_one_leg")
def _balance(b: PoseBuilder, u, rng) -> None:
    """Tree pose: right leg straight, left thigh 20..50 flexed, 35..60 out, knee 120..150 folded
    inwards; hands overhead or at the chest."""
    standing = down_dir(u(-3, 3), u(0, 5), -1)
    b.leg(-1, standing, u(0, 5), frame="world")
    b.spine(u(-5, 5), u(-5, 5), u(-5, 5))
    b.head(u(-10, 10), 0, 0)
    b.leg(
        1,
        down_dir(u(20, 50), u(35, 60), 1),
        u(120, 150),
        bend_dir=np.array([-0.7, -1.0, 0.0]),
        frame="world",
        ankle=u(10, 40),
    )
    up = rng.random() < 0.5
    for s in SIDES:
        if up:
            b.arm(s, sph(u(65, 85), s * u(5, 40)), u(10, 40), frame="world")
        else:
            b.arm(s, down_dir(u(10, 30), u(15, 30), s), None, lower=np.array([-s * 0.3, 1.0, 0.5]))


@family("dancing")
def _dancing(b: PoseBuilder, u, rng) -> None:
    """Free expressive pose: arms anywhere (elev -60..80, azim -30..150), one leg lifted 0..60."""
    b.root(rot("z", u(-10, 10)) @ rot("x", u(-10, 15)))
    b.spine(u(-15, 20), u(-20, 20), u(-25, 25))
    b.head(u(-20, 20), u(-30, 30), u(-20, 20))
    b.leg(1, down_dir(u(0, 60), u(0, 35), 1), u(0, 90), frame="world", ankle=u(0, 40))
    b.leg(-1, down_dir(u(-10, 10), u(0, 15), -1), u(0, 30), frame="world", ankle=u(0, 30))
    for s in SIDES:
        b.arm(s, sph(u(-60, 80), s * u(-30, 150)), u(0, 120))


# ---------------------------------------------------------------- lying (root orientation)
@family("lying_back")
def _lying_back(b: PoseBuilder, u, rng) -> None:
    """Pitched back 82..98 deg (face up); legs straight or left knee up; arms at sides or above."""
    b.root(rot("z", u(-8, 8)) @ rot("x", -u(82, 98)))
    b.spine(u(-5, 10), u(-5, 5), u(-5, 5))
    b.head(u(-5, 25), u(-40, 40), 0)
    knee_up = rng.random() < 0.5
    b.leg(
        1,
        down_dir(u(40, 70), u(0, 10), 1) if knee_up else down_dir(u(-5, 5), u(0, 10), 1),
        u(70, 110) if knee_up else u(0, 10),
        ankle=u(0, 30),
    )
    b.leg(-1, down_dir(u(-5, 5), u(0, 10), -1), u(0, 10), ankle=u(0, 30))
    over = rng.random() < 0.3
    for s in SIDES:
        if over:
            b.arm(s, sph(u(60, 90), s * u(60, 110)), u(0, 60))
        else:
            b.arm(s, down_dir(u(-5, 10), u(5, 40), s), u(0, 30))


@family("lying_front")
def _lying_front(b: PoseBuilder, u, rng) -> None:
    """Pitched forward 82..98 deg (face down), head turned 30..60; arms overhead or at the sides."""
    b.root(rot("z", u(-8, 8)) @ rot("x", u(82, 98)))
    b.spine(-u(0, 10), u(-5, 5), u(-5, 5))
    b.head(-u(10, 30), u(30, 60), 0)
    for s in SIDES:
        b.leg(s, down_dir(u(-8, 3), u(3, 15), s), u(0, 20), ankle=u(20, 50))
    over = rng.random() < 0.5
    for s in SIDES:
        if over:
            b.arm(s, sph(u(60, 85), s * u(40, 80)), u(0, 40))
        else:
            b.arm(s, down_dir(u(-5, 5), u(5, 20), s), u(0, 20))


@family("lying_side")
def _lying_side(b: PoseBuilder, u, rng) -> None:
    """Rolled 80..100 deg onto the right side; knees bent (fetal) or straight; lower arm forward."""
    b.root(rot("z", u(80, 100)) @ rot("x", u(-10, 10)))
    b.spine(u(0, 25), u(-5, 5), u(-5, 5))
    b.head(u(0, 20), 0, u(-10, 10))
    fetal = rng.random() < 0.6
    for s, extra in ((1, u(5, 20)), (-1, 0.0)):
        flex = u(30, 80) + extra if fetal else u(-5, 15) + extra
        b.leg(s, down_dir(flex, u(0, 8), s), u(40, 110) if fetal else u(0, 20), ankle=u(0, 30))
        if s == 1:
            b.arm(s, down_dir(u(0, 40), u(5, 20), s), u(0, 40))
        else:
            b.arm(s, down_dir(u(60, 100), u(0, 15), s), u(10, 90))

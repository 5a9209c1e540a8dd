"""Tests of the self-contact ("touch") posecodes on the anny body (captioning.contact)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from pose_search.body.convention import JOINT_INDEX
from pose_search.body.skeleton import forward_kinematics
from pose_search.data.captioning import caption_poses
from pose_search.data.captioning import contact as C
from pose_search.data.captioning.contact_parts import CONTACT_PARTS, contact_part_name
from pose_search.data.captioning.selection import Record
from pose_search.data.pose_builder import mirror_pose

torch.set_num_threads(1)

TOUCH_WORDS = ("touching", "in contact", "brushing")
# Left shoulder swung across the chest and the elbow folded: the left hand lies on the right
# shoulder (found by fitting the FK wrist to a point just in front of the right shoulder).
HAND_ON_SHOULDER = {"left_shoulder": (0.01, -2.09, -0.56), "left_elbow": (0.0, -1.83, 0.0)}
# Both arms swung forward and inwards by 105 degrees: the hands meet in front of the chest.
CLASP = {
    "left_shoulder": (0.0, -np.radians(105), 0.0),
    "right_shoulder": (0.0, np.radians(105), 0.0),
}


def make_pose(**joints: tuple[float, float, float]) -> np.ndarray:
    """One pose ``(1, 22, 3)``: zeros (T-pose) except the given joint rotations."""
    p = np.zeros((1, 22, 3), dtype=np.float32)
    for name, rv in joints.items():
        p[0, JOINT_INDEX[name]] = rv
    return p


@pytest.fixture(scope="module")
def model(anny_body) -> C.ContactModel:
    return C.contact_model(anny_body.topology, anny_body)


def posed(body, pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out = body(torch.as_tensor(pose))
    return out.joints.numpy(), out.vertices.numpy()


def test_segmentation_has_all_parts_symmetric(anny_body, model):
    counts = np.bincount(model.labels[model.labels >= 0], minlength=len(CONTACT_PARTS))
    assert (counts > 0).all(), [contact_part_name(i) for i in np.flatnonzero(counts == 0)]
    assert (model.labels >= 0).all()  # the collapsed mesh is one connected component
    for i, (side, part) in enumerate(CONTACT_PARTS):
        if side == "left":
            assert counts[i] == counts[C.CONTACT_PART_INDEX[("right", part)]], part
    assert model.threshold == pytest.approx(0.034, abs=0.005)
    assert model.far.shape == (1229, 1229) and not model.far.diagonal().any()


def test_t_pose_has_no_contact(anny_body, model):
    _, v = posed(anny_body, make_pose())
    assert C.contact_pairs(v) == [[]]
    assert C.contact_pairs(v, "notoes_collapse10pc") == [[]]


def test_clasped_hands_touch(anny_body, model):
    j, v = posed(anny_body, make_pose(**CLASP))
    gap = np.linalg.norm(j[0, JOINT_INDEX["left_wrist"]] - j[0, JOINT_INDEX["right_wrist"]])
    assert gap < 0.12
    assert C.contact_pairs(v) == [[("left_hand", "right_hand")]]
    assert C.touch_records(v) == [[Record("left", "hand", "touch", "right", "hand")]]


def test_left_hand_on_right_shoulder(anny_body, model):
    pose = make_pose(**HAND_ON_SHOULDER)
    fk = forward_kinematics(pose).numpy()[0]
    wrist, shoulder = fk[JOINT_INDEX["left_wrist"]], fk[JOINT_INDEX["right_shoulder"]]
    assert np.linalg.norm(wrist - shoulder) < 0.12
    _, v = posed(anny_body, pose)
    pairs = C.contact_pairs(v)[0]
    assert ("left_hand", "right_shoulder") in pairs
    assert all("left_" in a or "left_" in b for a, b in pairs)  # only the left arm moved
    # the mirrored pose gives the mirrored contacts (higher-priority part first)
    _, vm = posed(anny_body, mirror_pose(pose))
    assert ("right_hand", "left_shoulder") in C.contact_pairs(vm)[0]


def test_geodesic_threshold_ignores_a_bent_elbow(anny_body, model):
    _, v = posed(anny_body, make_pose(left_elbow=(0.0, -np.radians(135), 0.0)))
    assert C.contact_pairs(v) == [[]]
    # without the geodesic test, the folded skin at the elbow would count as contacts
    near = dataclasses.replace(model, far=np.ones_like(model.far))
    raw = {(contact_part_name(a), contact_part_name(b)) for a, b in C._raw_pairs(v[0], near)}
    assert ("left_forearm", "left_upperarm") in raw


def test_inclusion_pruning_and_order(model):
    idx = C.CONTACT_PART_INDEX
    li, lh, lw = idx[("left", "index")], idx[("left", "hand")], idx[("left", "wrist")]
    rs, rh, face = idx[("right", "shoulder")], idx[("right", "hand")], idx[(None, "face")]
    raw = {(li, rs), (lh, rs), (lw, rs), (li, face)}
    # index and wrist are part of the hand: only the hand-shoulder pair survives with the shoulder
    assert C._prune(raw, model.parent) == [(li, face), (lh, rs)]  # index ranks first
    # the hand ranks above the shoulder whatever the sides, left before right for the same part
    assert C._prune({(idx[("left", "shoulder")], rh)}, model.parent) == [
        (rh, idx[("left", "shoulder")])
    ]
    assert C._prune({(rh, lh)}, model.parent) == [(lh, rh)]


def test_merge_touch_removes_equivalent_close():
    close = Record("left", "hand", "close", "right", "hand")
    close_torso = Record("right", "hand", "close", None, "torso")
    other = Record("left", "knee", "close", "right", "knee")
    touches = [
        Record("left", "hand", "touch", "right", "index"),
        Record("right", "hand", "touch", None, "belly"),
    ]
    merged = C.merge_touch_records([close, close_torso, other], touches)
    assert merged == [other, *touches]
    assert C.merge_touch_records([close], []) == [close]


def test_captions_with_vertices_mention_the_touch(anny_body, model):
    j, v = posed(anny_body, make_pose(**CLASP))
    # the PoseScript-style captions only (the everyday ones name no contacts)
    caps = caption_poses(j, n_captions=6, rng=np.random.default_rng(0), vertices=v, everyday=0)
    assert len(caps) == 1 and len(caps[0]) == 6
    for text in caps[0]:
        low = text.lower()
        assert any(w in low for w in TOUCH_WORDS), text
        assert "hand" in low and "close to" not in low, text
    # the contact codes are optional: without vertices the captions stay as before
    plain = caption_poses(j, n_captions=2, rng=np.random.default_rng(0))
    assert plain == caption_poses(j, n_captions=2, rng=np.random.default_rng(0))


def test_caption_of_hand_on_shoulder_names_both_parts(anny_body, model):
    j, v = posed(anny_body, make_pose(**HAND_ON_SHOULDER))
    caps = caption_poses(j, n_captions=3, rng=np.random.default_rng(1), vertices=v)[0]
    assert any("left hand" in t.lower() and "right shoulder" in t.lower() for t in caps), caps


def test_bad_vertices_raise(anny_body, model):
    j, v = posed(anny_body, make_pose())
    with pytest.raises(ValueError, match="match no anny topology"):
        C.contact_pairs(v[:, :1000])
    with pytest.raises(ValueError, match="has 13718 vertices"):
        C.contact_pairs(v, "anny")
    with pytest.raises(ValueError, match="unknown anny topology"):
        C.contact_pairs(v, "smplx")
    with pytest.raises(ValueError, match="expected shape"):
        C.contact_pairs(v[..., :2])
    bad = v.copy()
    bad[0, 3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        C.contact_pairs(bad)
    with pytest.raises(ValueError, match="poses but joints"):
        caption_poses(np.repeat(j, 2, axis=0), rng=np.random.default_rng(0), vertices=v)
    with pytest.raises(ValueError):
        caption_poses(j, rng=np.random.default_rng(0), vertices=v[:, :-1])


@pytest.mark.slow
def test_full_topology(anny_full_body):
    m = C.contact_model("anny", anny_full_body)
    assert m.threshold == pytest.approx(C.EUCLIDEAN_THRESHOLD)
    assert m.far.shape == (C.MAX_GEODESIC_NODES, C.MAX_GEODESIC_NODES)
    assert (m.labels < 0).sum() > 0  # eyes and mouth interior take no part
    poses = np.concatenate([make_pose(), make_pose(**CLASP)])
    out = anny_full_body(torch.as_tensor(poses))
    pairs = C.contact_pairs(out.vertices.numpy())
    assert pairs[0] == []
    assert ("left_hand", "right_hand") in pairs[1]

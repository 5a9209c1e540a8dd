"""The same pose through the anny body and through a SMPL-X model file gives the same posecodes."""

from __future__ import annotations

import numpy as np

from pose_search.data.captioning import caption_poses, posecode_signature
from pose_search.data.sampler import sample_poses


def test_same_posecodes_and_captions_on_both_backends(anny_full_body, smplx_body):
    poses, _ = sample_poses(12, seed=5)
    ja = anny_full_body(poses).joints.numpy()
    js = smplx_body(poses).joints.numpy()
    sig_a = posecode_signature(ja, poses, rng=None)
    sig_s = posecode_signature(js, poses, rng=None)
    assert sig_a.shape[0] == 12 and sig_a.shape[1] > 200
    assert np.array_equal(sig_a, sig_s)
    caps_a = caption_poses(ja, poses, rng=np.random.default_rng(0))
    caps_s = caption_poses(js, poses, rng=np.random.default_rng(0))
    assert caps_a == caps_s

"""The smplx backend's handling of real model files and their absence."""

from __future__ import annotations

import numpy as np
import pytest

from pose_search.body.smplx_backend import SmplxBody


def test_missing_path_says_how_to_provide_it(monkeypatch):
    monkeypatch.delenv("SMPLX_MODEL_PATH", raising=False)
    with pytest.raises(FileNotFoundError, match="SMPLX_MODEL_PATH"):
        SmplxBody()


def test_path_from_environment(monkeypatch, smplx_model_dir):
    monkeypatch.setenv("SMPLX_MODEL_PATH", str(smplx_model_dir))
    body = SmplxBody()
    assert body(np.zeros((22, 3))).joints.shape == (1, 22, 3)


def test_nonexistent_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        SmplxBody(model_path=tmp_path / "nope")


def test_folder_without_model_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="SMPLX_NEUTRAL.npz"):
        SmplxBody(model_path=tmp_path)


def test_pkl_release_is_refused_with_a_reason(tmp_path):
    f = tmp_path / "SMPLX_NEUTRAL.pkl"
    f.write_bytes(b"not really a pickle")
    with pytest.raises(ValueError, match="only the .npz release"):
        SmplxBody(model_path=f)


def test_too_small_mesh_is_refused(tmp_path):
    f = tmp_path / "SMPLX_NEUTRAL.npz"
    np.savez(f, v_template=np.zeros((100, 3)), f=np.zeros((1, 3)), J_regressor=np.zeros((55, 100)),
             weights=np.zeros((100, 55)), posedirs=np.zeros((100, 3, 486)),
             shapedirs=np.zeros((100, 3, 20)), kintree_table=np.zeros((2, 55)))
    with pytest.raises(ValueError, match="has 100 vertices"):
        SmplxBody(model_path=tmp_path)


def test_corrupt_file(tmp_path):
    f = tmp_path / "SMPLX_NEUTRAL.npz"
    f.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable .npz"):
        SmplxBody(model_path=tmp_path)


def test_missing_fields(tmp_path):
    np.savez(tmp_path / "SMPLX_NEUTRAL.npz", v_template=np.zeros((10000, 3)))
    with pytest.raises(ValueError, match="lacks fields"):
        SmplxBody(model_path=tmp_path)

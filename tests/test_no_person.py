"""A query photo with nobody in it (issue 18): with the BlazePose image encoder, every entry point a
user has (the API, SearchService, ``pose-search search / mesh / instruct``, the UI backend and its
app callbacks) refuses it with ``PersonNotFound`` naming the fix, instead of returning the poses
nearest to nothing; embedding a dataset (index building) still takes such images. The photo of
nobody is a crop of ``tests/data/photos/camera.png``'s background (sky, buildings, grass).

Needs the BlazePose environment (``make blazepose-env``; skipped without it, as in
``tests/models/test_blazepose.py``). Models are the tiny random-init ones of ``tests/tiny.py`` with
BlazePose as the image encoder: whether a person is found depends on BlazePose alone.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from PIL import Image

from pose_search.models.encoders.base import NO_PERSON_HINT, PersonNotFound

PHOTOS = Path(__file__).resolve().parent / "data" / "photos"
ONE = re.escape(f"no person found in the image: {NO_PERSON_HINT}")


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path]:
    """``nobody``: sky, buildings and grass (camera.png right of the man); ``person``: astronaut.jpg."""
    out = tmp_path_factory.mktemp("photos")
    with Image.open(PHOTOS / "camera.png") as im:
        im.convert("RGB").crop((345, 80, 512, 300)).save(out / "buildings.png")
    return {"nobody": out / "buildings.png", "person": PHOTOS / "astronaut.jpg"}


@pytest.fixture(scope="module")
def blaze_core(tmp_path_factory, tiny_encoders) -> Path:
    """A core run whose image encoder is BlazePose (tiny pose/text encoders, random-init core)."""
    from pose_search.checkpoint import save_module
    from pose_search.models.catalog import create_model
    from pose_search.models.encoders.blazepose import BlazePoseEnvError, env_python
    from tests.tiny import make_core_run

    try:
        env_python()
    except BlazePoseEnvError:
        pytest.skip("the BlazePose environment (.venv-blazepose) is not built: run `make blazepose-env` "
                    "(`make test` does)")
    root = tmp_path_factory.mktemp("blaze")
    enc = create_model("blazepose")
    encoders = {"pose": tiny_encoders["pose"], "text": tiny_encoders["text"],
                "image": save_module(root / "encoders" / "image", "blazepose", enc.config(), enc)}
    return make_core_run(root / "core", encoders)


@pytest.fixture(scope="module")
def blaze_runs(tmp_path_factory, blaze_core, tiny_dataset) -> dict[str, Path]:
    """The core and random-init HPS and instructions runs over it."""
    from tests.tiny import make_hps_run, make_instructions_run

    root = tmp_path_factory.mktemp("blaze_heads")
    return {"core": blaze_core, "hps": make_hps_run(root / "hps", blaze_core, tiny_dataset),
            "instructions": make_instructions_run(root / "instructions", blaze_core)}


@pytest.fixture(scope="module")
def blaze_model(blaze_core):
    from pose_search.runs import load_model

    model = load_model(blaze_core)
    yield model
    model.encoders["image"].close()


@pytest.fixture(scope="module")
def blaze_index(tmp_path_factory, blaze_core, tiny_dataset) -> Path:
    """The tiny dataset indexed with the BlazePose core by ``index build`` (Ray Data): BlazePose's
    batch path over the renders, some without a person found (2 of the 36 train renders with
    mediapipe 0.10.21), which are embedded, not refused."""
    import ray

    from indexing.build import BuildConfig, build

    started_here = not ray.is_initialized()
    out = tmp_path_factory.mktemp("blaze_index") / "idx"
    build(BuildConfig(model=str(blaze_core), data=str(tiny_dataset), out=str(out), workers=1,
                      batch_size=16), progress=False)
    if started_here:
        ray.shutdown()
    return out


def _photo(path: Path) -> torch.Tensor:
    from pose_search.models.encoders.image_files import load_query_image

    return load_query_image(path, fit=False)  # BlazePose takes the whole photo


# ---------------------------------------------------------------- API
def test_api_queries_refuse_a_photo_of_nobody(blaze_model, photos):
    model = blaze_model
    assert model.detects_person and model.image_any_size
    person, nobody = _photo(photos["person"]), _photo(photos["nobody"])
    assert model.query("pose", images=[person]).shape == (1, model.core.cfg.latent_dim)
    with pytest.raises(PersonNotFound, match=ONE) as info:
        model.query("pose", images=[nobody])
    assert info.value.indices == (0,) and isinstance(info.value, ValueError)
    with pytest.raises(PersonNotFound, match=ONE):  # a text does not make up for it
        model.query("pose", images=[nobody], texts=["the person kneels"])
    with pytest.raises(PersonNotFound, match=ONE):  # a (B, 3, H, W) batch, as crops
        model.query("pose", images=torch.zeros(1, 3, 256, 192))
    with pytest.raises(PersonNotFound, match=r"in 2 of 3 images \(batch positions 1, 2, counting from 0\)") as info:
        model.query("pose", images=[person, nobody, nobody])
    assert info.value.indices == (1, 2)
    with pytest.raises(PersonNotFound, match=ONE):  # what the heads' query paths use
        model.representation(images=[nobody], require_person=True)
    # embedding data (what an index stores, what a head's evaluation sees): no error, zero features
    assert not model.features(images=[nobody])["image"].any()
    assert model.reference_embeddings(images=[person, nobody])["image"].shape[0] == 2
    assert model.representation(images=[nobody]).shape[0] == 1


def test_index_embedding_keeps_dataset_images_without_a_person(blaze_model, tiny_dataset):
    import io

    import numpy as np
    import pyarrow as pa

    from indexing.embed import READ_COLUMNS, embed_batch
    from pose_search.data.schema import POSES_TABLE
    from pose_search.data.store import open_table

    rows = open_table(tiny_dataset, POSES_TABLE).to_table(columns=READ_COLUMNS).slice(0, 3)
    blank = io.BytesIO()
    Image.new("RGB", (192, 256), (200, 200, 200)).save(blank, format="PNG")
    images = rows.column("image").to_pylist()
    rows = rows.set_column(rows.schema.get_field_index("image"), "image",
                           pa.array([blank.getvalue(), *images[1:]], rows.schema.field("image").type))
    from pose_search.models.encoders.image_files import decode_images

    assert not blaze_model.features(images=decode_images([blank.getvalue()]))["image"].any()  # nobody
    out = embed_batch(blaze_model, rows, str(tiny_dataset), ("image", "pose", "text"))
    assert out.num_rows == 3
    vectors = np.asarray(out.column("vec_image").to_pylist(), np.float32)
    assert np.isfinite(vectors).all() and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)


def test_cnn_image_encoder_cannot_tell(tiny_core_run):
    """Our CNN / ViT (trained on renders) have no person detector: nothing is checked, any image
    gets an embedding (documented; ``detects_person`` says so)."""
    from pose_search.runs import load_model

    model = load_model(tiny_core_run)
    assert not model.detects_person
    assert model.query("pose", images=torch.zeros(1, 3, 256, 192)).shape[0] == 1


# ---------------------------------------------------------------- service and CLIs (an index: Ray Data)
@pytest.mark.ray
@pytest.mark.slow
def test_service_refuses_a_photo_of_nobody(blaze_index, photos):
    from indexing.service import SearchService

    service = SearchService(blaze_index)
    assert service.rows == 48 and "image" in service.modalities  # every render embedded, person or not
    assert len(service.search(image=str(photos["person"]), k=5)) == 5
    for query in (str(photos["nobody"]), photos["nobody"].read_bytes()):
        with pytest.raises(PersonNotFound, match=ONE):
            service.search(image=query, k=5)
    with pytest.raises(PersonNotFound, match=r"in 1 of 2 images \(buildings\.png\): use a photo of one person"):
        service.search(image=[str(photos["person"]), str(photos["nobody"])], text=["kneeling", "sitting"], k=5)
    service.model.encoders["image"].close()


def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    from pose_search_app.cli import main

    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.ray
@pytest.mark.slow
def test_cli_search_mesh_instruct_print_one_line(blaze_index, blaze_runs, photos, tmp_path, capsys):
    nobody, person = str(photos["nobody"]), str(photos["person"])
    cases = {
        "search": ["search", "--index", str(blaze_index), "--image", nobody],
        "mesh": ["mesh", "--model", str(blaze_runs["hps"]), "--image", nobody, "--out", str(tmp_path / "b.glb")],
        "instruct": ["instruct", "--model", str(blaze_runs["instructions"]), "--from", nobody, "--to", person],
    }
    for command, argv in cases.items():
        code, out, err = _cli(argv, capsys)
        prefix = "pose A: " if command == "instruct" else ""
        assert code == 2 and not out, (command, out, err)
        assert re.fullmatch(f"pose-search {command}: error: {prefix}{ONE}\n", err), err  # one line, no traceback
    assert not (tmp_path / "b.glb").exists()
    code, out, err = _cli(["instruct", "--model", str(blaze_runs["instructions"]), "--from", person, "--to", nobody],
                          capsys)
    assert code == 2 and err.startswith("pose-search instruct: error: pose B: no person found in the image")


# ---------------------------------------------------------------- UI
@pytest.mark.ray
@pytest.mark.slow
def test_ui_shows_no_person_instead_of_results(blaze_index, blaze_runs, tiny_dataset, photos, tmp_path,
                                               monkeypatch):
    import shutil

    import gradio as gr

    from ui.app import Callbacks
    from ui.backend import PoseInput, UIBackend

    backend = UIBackend(blaze_index, hps_run=blaze_runs["hps"], instructions_run=blaze_runs["instructions"],
                        data_dir=tiny_dataset)
    hps = backend.hps
    try:
        upload = photos["nobody"].read_bytes()
        with pytest.raises(PersonNotFound, match=ONE):
            backend.search(image=upload, k=5)
        with pytest.raises(PersonNotFound, match=ONE):
            backend.search(image=upload, text="kneeling", k=5)
        with pytest.raises(PersonNotFound, match=ONE):
            backend.recover_mesh(image=upload)
        some_id = backend.service.search(text="a pose", k=1)[0].id
        with pytest.raises(PersonNotFound, match="pose A: " + ONE):
            backend.instruct(PoseInput(image=upload), PoseInput(id=some_id))
        with pytest.raises(PersonNotFound, match="pose B: " + ONE):
            backend.instruct(PoseInput(id=some_id), PoseInput(image=upload))
        backend.hps = None  # without an HPS head, the instruction head's own check says which side
        with pytest.raises(PersonNotFound, match="pose B: " + ONE):
            backend.instruct(PoseInput(id=some_id), PoseInput(image=upload))
        # the app shows it as the error message of the action (gr.Error), as for any bad input
        monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
        (tmp_path / "gradio" / "up").mkdir(parents=True)
        shutil.copy(photos["nobody"], tmp_path / "gradio" / "up" / "buildings.png")
        with pytest.raises(gr.Error, match=ONE):
            Callbacks(backend).search(None, {"path": str(tmp_path / "gradio" / "up" / "buildings.png")},
                                      None, None, "pose", 5, "any", "")
        assert len(backend.search(image=photos["person"].read_bytes(), k=5)) == 5
    finally:
        backend.close()
        for model in (hps.representation_model, backend.instructions.representation_model, backend.service.model):
            model.encoders["image"].close()  # the BlazePose worker processes


# ---------------------------------------------------------------- legs out of view
FULL_BODY = Path(__file__).resolve().parent.parent / "benchmarks" / "data" / "real_photos" / "p2s_single_cam1_f000.jpg"


def test_legs_out_of_view_are_told_from_blazepose_visibility(blaze_model, photos):
    """A waist-up portrait (astronaut.jpg) has no leg in view, a full-body frame of the real-photo
    benchmark has; an encoder without landmarks cannot tell."""
    from pose_search.models.encoders.image_files import load_query_image

    portrait = load_query_image(str(photos["person"]), fit=False)
    full = load_query_image(str(FULL_BODY), fit=False)
    assert blaze_model.legs_visible([portrait, full]) == [False, True]
    from pose_search.models.encoders.blazepose import FEATURE_SLICES, LEG_LANDMARKS

    feats = blaze_model._image_features([full])
    start = FEATURE_SLICES["visibility"].start
    for knee, ankle in LEG_LANDMARKS:  # both legs out of view: no leg seen
        feats[:, start + knee] = 0.0
        feats[:, start + ankle] = 0.3
    assert blaze_model.encoders["image"].legs_visible(feats).tolist() == [False]


def test_cnn_image_encoder_cannot_tell_the_legs(tiny_core_run):
    from pose_search.runs import load_model

    model = load_model(tiny_core_run)
    assert model.legs_visible(torch.rand(1, 3, 256, 192)) is None


@pytest.mark.ray
@pytest.mark.slow
def test_a_portrait_search_says_the_legs_are_not_visible(blaze_index, blaze_runs, tiny_dataset, photos, capsys):
    from indexing.service import LEGS_NOT_VISIBLE, SearchService
    from ui.backend import UIBackend

    service = SearchService(blaze_index)
    try:
        assert service.photo_notes(str(photos["person"])) == [LEGS_NOT_VISIBLE]
        assert service.photo_notes(FULL_BODY.read_bytes()) == []
    finally:
        service.model.encoders["image"].close()
    code, out, err = _cli(["search", "--index", str(blaze_index), "--image", str(photos["person"]), "--json"], capsys)
    assert code == 0 and out.startswith("[") and f"note: {LEGS_NOT_VISIBLE}" in err
    backend = UIBackend(blaze_index, data_dir=tiny_dataset)
    try:
        assert backend.photo_notes(photos["person"].read_bytes()) == [LEGS_NOT_VISIBLE]
        assert backend.photo_notes(None) == []
    finally:
        backend.close()

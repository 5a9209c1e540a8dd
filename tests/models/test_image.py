"""Image encoders: ViT layout, SMPLer-X checkpoint loading, pose regressor, augmentation, decoding."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from pose_search.body.skeleton import forward_kinematics
from pose_search.checkpoint import CheckpointError, save_module
from pose_search.models.catalog import create_model, list_models, load_module
from pose_search.models.encoders.image import (
    ConvImageEncoder,
    RenderImageEncoder,
    SmplerxImageEncoder,
)
from pose_search.models.encoders.image_augment import AugmentConfig, ImageAugment
from pose_search.models.encoders.image_files import ImageDecodeError, decode_images, load_image_file
from pose_search.models.encoders.image_regressor import (
    ImagePoseRegressor,
    image_pose_loss,
    joints_from_rotmats,
)
from pose_search.models.encoders.vit import ViT, ViTConfig, count_parameters

torch.set_num_threads(1)

# A SMPLer-X-shaped ViT small enough for tests: 31 task tokens, padded patch conv.
TINY_SMPLERX = dict(embed_dim=32, depth=2, num_heads=2, num_extra_tokens=31, drop_path=0.3)


def _images(b: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, 3, 256, 192, generator=torch.Generator().manual_seed(seed))


def test_registry_names_and_tiny_shapes():
    assert {"smplerx-vitb16", "vit-small-render", "vit-tiny-test"} <= set(list_models("encoder.image"))
    assert {"image-pose-regressor", "image-pose-regressor-tiny"} <= set(list_models("trainable.image"))
    enc = create_model("vit-tiny-test")
    assert enc.modality == "image" and enc.token_output and enc.output_dim == 32
    out = enc(_images(2))
    assert out.shape == (2, 192, 32) and enc.num_tokens == 192
    # uint8 crops are accepted and scaled to [0, 1]
    u8 = (_images(2) * 255).round().to(torch.uint8)
    torch.testing.assert_close(enc.eval()(u8), enc(u8.float() / 255))
    with pytest.raises(ValueError, match="256, 192"):
        enc(torch.rand(1, 3, 224, 224))


def test_cnn_encoder_shapes_roundtrip_and_config_errors(tmp_path):
    assert {"cnn-small-render", "cnn-tiny-test"} <= set(list_models("encoder.image"))
    default = ConvImageEncoder()
    assert default.eval()(_images(2)).shape == (2, 12, 256) and default.num_tokens == 12
    assert default.output_dim == 256 and count_parameters(default) < 2_000_000
    enc = create_model("cnn-tiny-test").eval()
    out = enc(_images(2))
    assert out.shape == (2, enc.num_tokens, 8) and enc.num_tokens == 16  # 32x32 input, stride 8
    save_module(tmp_path / "enc", "cnn-tiny-test", enc.config(), enc)
    back = load_module(tmp_path / "enc").eval()
    assert isinstance(back, ConvImageEncoder) and back.config() == enc.config()
    torch.testing.assert_close(back(_images(1)), enc(_images(1)))
    u8 = (_images(2) * 255).round().to(torch.uint8)
    torch.testing.assert_close(enc(u8), enc(u8.float() / 255))
    with pytest.raises(ValueError, match="multiples of 8"):
        ConvImageEncoder(input_size=(30, 32), widths=(4, 8, 8))
    with pytest.raises(ValueError, match="backbone 'resnet'"):
        create_model("image-pose-regressor-tiny", backbone="resnet")


def test_full_size_architectures_on_meta_device():
    with torch.device("meta"):
        vitb = SmplerxImageEncoder()
        small = RenderImageEncoder()
        assert vitb(torch.zeros(2, 3, 256, 192)).shape == (2, 192, 768)
        assert small(torch.zeros(2, 3, 256, 192)).shape == (2, 192, 192)
    assert vitb.output_dim == 768 and vitb.vit.task_tokens.shape == (1, 31, 768)
    assert vitb.vit.pos_embed.shape == (1, 193, 768)
    assert count_parameters(vitb) == 85_818_624
    assert count_parameters(small) == 2_854_272


def test_vit_parameter_names_follow_vitpose_layout():
    vit = ViT(ViTConfig(**TINY_SMPLERX))
    expected = {"patch_embed.proj.weight", "patch_embed.proj.bias", "pos_embed", "task_tokens",
                "last_norm.weight", "last_norm.bias"}
    for i in range(2):
        for name in ("norm1", "attn.qkv", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2"):
            expected |= {f"blocks.{i}.{name}.weight", f"blocks.{i}.{name}.bias"}
    assert set(vit.state_dict()) == expected
    assert vit.patch_embed.proj.padding == (2, 2)


def test_class_slot_position_is_added_to_every_patch():
    vit = ViT(ViTConfig(embed_dim=8, depth=0, num_heads=2, num_extra_tokens=3)).eval()
    x = _images(1)
    patches = vit.patch_embed(x)
    expected = vit.last_norm(patches + vit.pos_embed[:, 1:] + vit.pos_embed[:, :1])
    torch.testing.assert_close(vit(x), expected)


def _smplerx_checkpoint(path, state: dict[str, torch.Tensor], prefix: str = "module.backbone.") -> None:
    network = {prefix + k: v for k, v in state.items()}
    network["module.body_regressor.weight"] = torch.zeros(3)  # other SMPLer-X parts are ignored
    torch.save({"network": network, "epoch": 7}, path)


@pytest.mark.parametrize("prefix", ["module.backbone.", "module.encoder."])
def test_smplerx_checkpoint_loads_to_identical_outputs(tmp_path, prefix):
    torch.manual_seed(0)
    source = SmplerxImageEncoder(**TINY_SMPLERX).eval()
    _smplerx_checkpoint(tmp_path / "smpler_x.pth.tar", source.vit.state_dict(), prefix)
    loaded = SmplerxImageEncoder.from_smplerx_checkpoint(tmp_path / "smpler_x.pth.tar", **TINY_SMPLERX)
    loaded.freeze()
    x = _images(2)
    torch.testing.assert_close(loaded.encode(x), source(x), rtol=0, atol=0)


def test_smplerx_checkpoint_errors_name_the_problem(tmp_path):
    state = SmplerxImageEncoder(**TINY_SMPLERX).vit.state_dict()
    missing = dict(state)
    del missing["blocks.1.mlp.fc2.weight"]
    _smplerx_checkpoint(tmp_path / "a.pth", missing)
    with pytest.raises(CheckpointError, match=r"blocks\.1\.mlp\.fc2\.weight"):
        SmplerxImageEncoder.from_smplerx_checkpoint(tmp_path / "a.pth", **TINY_SMPLERX)
    # a checkpoint of another width: shapes differ, the key is named
    _smplerx_checkpoint(tmp_path / "b.pth", state)
    with pytest.raises(CheckpointError, match="other shapes"):
        SmplerxImageEncoder.from_smplerx_checkpoint(tmp_path / "b.pth", **{**TINY_SMPLERX, "embed_dim": 16})
    torch.save({"state_dict": {}}, tmp_path / "c.pth")
    with pytest.raises(CheckpointError, match="'network'"):
        SmplerxImageEncoder.from_smplerx_checkpoint(tmp_path / "c.pth", **TINY_SMPLERX)
    with pytest.raises(CheckpointError, match="does not exist"):
        SmplerxImageEncoder.from_smplerx_checkpoint(tmp_path / "none.pth", **TINY_SMPLERX)


def test_save_and_load_module_roundtrip(tmp_path):
    enc = create_model("vit-tiny-test").eval()
    save_module(tmp_path / "enc", "vit-tiny-test", enc.config(), enc)
    back = load_module(tmp_path / "enc").eval()
    assert isinstance(back, RenderImageEncoder) and back.config() == enc.config()
    x = _images(1)
    torch.testing.assert_close(back(x), enc(x))
    reg = create_model("image-pose-regressor-tiny").eval()
    save_module(tmp_path / "reg", "image-pose-regressor-tiny", reg.config(), reg)
    torch.testing.assert_close(load_module(tmp_path / "reg").eval()(x)["joints"], reg(x)["joints"])


def test_joints_from_rotmats_match_forward_kinematics():
    import roma

    pose = 0.5 * torch.randn(4, 22, 3, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(joints_from_rotmats(roma.rotvec_to_rotmat(pose)),
                               forward_kinematics(pose), atol=1e-5, rtol=0)


@pytest.mark.parametrize("backbone,cls", [("cnn-small-render", ConvImageEncoder),
                                          ("vit-small-render", RenderImageEncoder)])
def test_regressor_starts_at_rest_pose_and_overfits_a_tiny_batch(backbone, cls):
    torch.manual_seed(0)
    model = create_model("image-pose-regressor-tiny", backbone=backbone)
    assert isinstance(model, ImagePoseRegressor) and isinstance(model.encoder, cls)
    # distinguishable images (random noise mean-pools to nearly the same feature)
    images = 0.2 * _images(4) + 0.8 * torch.eye(4)[:, :3, None, None]
    pose = 0.4 * torch.randn(4, 22, 3, generator=torch.Generator().manual_seed(2))
    out = model(images)
    assert out["rotmat"].shape == (4, 22, 3, 3) and out["pose"].shape == (4, 22, 3)
    assert out["joints"].shape == (4, 22, 3)
    assert out["pose"].abs().max() < 0.1  # initialised at (close to) the rest pose
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = image_pose_loss(model(images), pose)
        opt.zero_grad()
        loss["loss"].backward()
        opt.step()
        losses.append(loss["loss"].item())
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.25 * losses[0], losses
    assert set(loss) == {"loss", "rotation", "joints", "angle_deg"}


def test_frozen_encoder_stays_eval_under_parent_train():
    model = create_model("image-pose-regressor-tiny")
    model.encoder.freeze()
    model.train()
    assert not model.encoder.training
    assert not any(m.training for m in model.encoder.modules())
    assert not any(p.requires_grad for p in model.encoder.parameters())
    assert model.head.training and all(p.requires_grad for p in model.head.parameters())


def test_augment_shape_range_and_determinism():
    aug = ImageAugment()
    g = torch.Generator().manual_seed(3)
    src = torch.randint(0, 256, (3, 3, 300, 210), dtype=torch.uint8, generator=g)
    a = aug(src, torch.Generator().manual_seed(5))
    b = aug(src, torch.Generator().manual_seed(5))
    c = aug(src, torch.Generator().manual_seed(6))
    assert a.shape == (3, 3, 256, 192) and a.dtype == torch.float32
    assert a.min() >= 0 and a.max() <= 1
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, c)
    assert aug(src.float() / 255, torch.Generator().manual_seed(5)).shape == (3, 3, 256, 192)


def test_augment_with_everything_off_is_identity():
    cfg = AugmentConfig(crop_scale=(1.0, 1.0), crop_ratio=(0.75, 0.75), jitter_p=0.0, blur_p=0.0,
                        solarize_p=0.0)
    x = _images(2)
    torch.testing.assert_close(ImageAugment(cfg)(x, torch.Generator().manual_seed(0)), x,
                               atol=1e-5, rtol=0)
    # each op alone keeps the range
    for one in (dict(jitter_p=1.0), dict(blur_p=1.0), dict(solarize_p=1.0)):
        y = ImageAugment(AugmentConfig(**{**cfg.__dict__, **one}))(x, torch.Generator().manual_seed(0))
        assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1 and not torch.equal(y, x)


def _png(width: int, height: int, seed: int = 0) -> tuple[bytes, np.ndarray]:
    arr = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue(), arr


def test_decode_images_and_errors(tmp_path):
    exact, arr = _png(192, 256)
    other, _ = _png(100, 50, seed=1)
    batch = decode_images([exact, other])
    assert batch.shape == (2, 3, 256, 192) and batch.dtype == torch.float32
    np.testing.assert_array_equal((batch[0] * 255).round().byte().permute(1, 2, 0).numpy(), arr)
    assert decode_images([exact], uint8=True).dtype == torch.uint8
    assert decode_images([]).shape == (0, 3, 256, 192)
    with pytest.raises(ImageDecodeError, match="image 1 of 3"):
        decode_images([exact, b"definitely not an image", exact])

    path = tmp_path / "photo.png"
    path.write_bytes(other)
    img = load_image_file(path)
    assert img.shape == (3, 256, 192) and 0 <= img.min() and img.max() <= 1
    with pytest.raises(ValueError, match="missing.png"):
        load_image_file(tmp_path / "missing.png")


def test_query_image_fit_or_whole_photo(tmp_path):
    from pose_search.models.encoders.image_files import (
        MAX_PHOTO_SIDE,
        ImageDecodeError,
        load_query_image,
    )

    rng = np.random.default_rng(0)
    wide = rng.integers(0, 256, (300, 2000, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(wide).save(buf, format="PNG")
    path = tmp_path / "wide.png"
    path.write_bytes(buf.getvalue())
    for item in (wide, buf.getvalue(), path, str(path), Image.fromarray(wide)):
        assert load_query_image(item).shape == (3, 256, 192)  # the crop fit
        whole = load_query_image(item, fit=False)  # the whole photo, shrunk to the longest side
        assert whole.shape == (3, round(300 * MAX_PHOTO_SIDE / 2000), MAX_PHOTO_SIDE)
        assert whole.dtype == torch.float32 and 0 <= whole.min() and whole.max() <= 1
    small = wide[:40, :30]
    assert torch.equal(load_query_image(small, fit=False), torch.from_numpy(small).permute(2, 0, 1).float() / 255)
    with pytest.raises(ImageDecodeError, match="cannot be decoded"):
        load_query_image(b"not an image", fit=False)
    with pytest.raises(ImageDecodeError, match="uint8"):
        load_query_image(wide.astype(np.float32), fit=False)
    with pytest.raises(FileNotFoundError, match="missing.png"):
        load_query_image(tmp_path / "missing.png", fit=False)


def test_crop_encoders_refuse_photos_of_different_sizes(tiny_core_run):
    from pose_search.runs import load_model

    model = load_model(tiny_core_run)
    assert not model.image_any_size
    crops = [torch.rand(3, 256, 192), torch.rand(3, 256, 192)]
    assert torch.allclose(model.features(images=crops)["image"], model.features(images=torch.stack(crops))["image"])
    with pytest.raises(ValueError, match="different sizes"):
        model.features(images=[torch.rand(3, 256, 192), torch.rand(3, 100, 80)])
    with pytest.raises(ValueError, match="list of \\(3, H, W\\)"):
        model.features(images=[])

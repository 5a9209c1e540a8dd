"""Tests of the person renderer (pose_search.data.render), its 2-D layers and the part labels."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from pose_search.body.parts import (
    PART_INDEX,
    PART_NAMES,
    anny_part_borders,
    anny_vertex_parts,
    bone_part,
)
from pose_search.data.backgrounds import (
    BACKGROUND_KINDS,
    BackgroundSettings,
    OccluderSettings,
    make_background,
    sample_background,
)
from pose_search.data.render import (
    Light,
    RenderSettings,
    rasterize,
    render,
    render_person,
    sample_render_settings,
)

GREY_BG = BackgroundSettings(
    kind="linear", color_a=(0.5, 0.5, 0.5), color_b=(0.5, 0.5, 0.5), noise_amp=0.0, vignette=0.0
)
FLAT = RenderSettings(lights=(Light((0.0, 0.3, 1.0), (0.8, 0.8, 0.8)),), background=GREY_BG)


@pytest.fixture(scope="module")
def tpose(anny_body):
    """T-pose body: vertices ``(V, 3)``, faces ``(F, 3)``, parts ``(V,)``."""
    out = anny_body(np.zeros((1, 22, 3), dtype=np.float32))
    return out.vertices[0], out.faces, anny_body.vertex_parts()


def _with_camera(settings: RenderSettings, **kw: object) -> RenderSettings:
    return dataclasses.replace(settings, camera=dataclasses.replace(settings.camera, **kw))


def test_shape_and_dtype(tpose):
    v, f, parts = tpose
    img = render_person(v, f, parts, sample_render_settings(np.random.default_rng(0)))
    assert img.shape == (256, 192, 3) and img.dtype == np.uint8
    res = render(v.numpy(), f.numpy(), parts, sample_render_settings(np.random.default_rng(1)))
    assert res.mask.shape == (256, 192) and res.mask.dtype == bool
    assert res.K.shape == (3, 3) and res.R.shape == (3, 3) and res.t.shape == (3,)


def test_deterministic(tpose):
    v, f, parts = tpose
    s1 = sample_render_settings(np.random.default_rng(42))
    s2 = sample_render_settings(np.random.default_rng(42))
    assert s1 == s2
    a, b = render(v, f, parts, s1), render(v, f, parts, s2)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)


def test_person_visible_and_framed(tpose):
    v, f, parts = tpose
    res = render(v, f, parts, FLAT)
    frac = res.mask.mean()
    assert 0.08 < frac < 0.6, frac
    ys, xs = np.nonzero(res.mask)
    # detector-crop framing: the box fills `fill` (0.85) of the binding dimension
    fill = max((ys.max() - ys.min() + 1) / 256, (xs.max() - xs.min() + 1) / 192)
    assert 0.8 < fill < 0.9, fill
    assert abs((ys.min() + ys.max()) / 2 - 128) < 6 and abs((xs.min() + xs.max()) / 2 - 96) < 6
    # person pixels differ from the flat background
    assert np.abs(res.image[res.mask].astype(int) - 128).mean() > 10


def test_left_side_on_image_right(tpose):
    """Camera in front (azimuth 0): the body's left (x > 0) shows on the image's right half."""
    v, f, parts = tpose
    colors = np.where((v[:, 0] > 0).numpy()[:, None], [[0.9, 0.1, 0.1]], [[0.1, 0.1, 0.9]])
    for az, left_on_right in ((0.0, True), (180.0, False)):
        img = render(v, f, parts, _with_camera(FLAT, azimuth_deg=az), vertex_colors=colors).image
        img = img.astype(int)
        red = (img[..., 0] > img[..., 2] + 40).nonzero()[1]
        blue = (img[..., 2] > img[..., 0] + 40).nonzero()[1]
        assert len(red) > 500 and len(blue) > 500
        if left_on_right:
            assert red.mean() > 96 + 8 and blue.mean() < 96 - 8
        else:
            assert red.mean() < 96 - 8 and blue.mean() > 96 + 8
    # a camera at +x (azimuth 90) looks at the body's left side: mostly red
    img = render(v, f, parts, _with_camera(FLAT, azimuth_deg=90.0), vertex_colors=colors).image
    img = img.astype(int)
    assert (img[..., 0] > img[..., 2] + 40).sum() > 3 * (img[..., 2] > img[..., 0] + 40).sum()


def _slab() -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """A thin horizontal box 1 m x 2 cm x 1 m; top vertices red, bottom vertices blue."""
    x, y, z = np.meshgrid([-0.5, 0.5], [-0.01, 0.01], [-0.5, 0.5], indexing="ij")
    verts = np.stack([x.ravel(), y.ravel(), z.ravel()], 1).astype(np.float32)  # index = 4x+2y+z
    quads = [(0, 4, 6, 2), (1, 3, 7, 5), (0, 1, 5, 4), (2, 6, 7, 3), (0, 2, 3, 1), (4, 5, 7, 6)]
    faces = [(a, b, c) for a, b, c, d in quads] + [(a, c, d) for a, b, c, d in quads]
    v = torch.from_numpy(verts)
    fc = torch.tensor(faces)
    # orient every face outwards (CCW seen from outside), as the renderer expects
    n = torch.linalg.cross(v[fc[:, 1]] - v[fc[:, 0]], v[fc[:, 2]] - v[fc[:, 0]])
    flip = (n * v[fc].mean(1)).sum(1) < 0
    fc[flip] = fc[flip][:, [0, 2, 1]]
    colors = np.where(verts[:, 1:2] > 0, [[0.9, 0.1, 0.1]], [[0.1, 0.1, 0.9]])
    return v, fc, colors


@pytest.mark.parametrize("elevation,top_visible", [(40.0, True), (-40.0, False)])
def test_elevation_sees_top_or_bottom(elevation, top_visible):
    v, fc, colors = _slab()
    s = dataclasses.replace(FLAT, sky=(0.5, 0.5, 0.5), ground=(0.5, 0.5, 0.5))
    img = render(v, fc, None, _with_camera(s, elevation_deg=elevation), vertex_colors=colors).image
    img = img.astype(int)
    red = (img[..., 0] > img[..., 2] + 40).sum()
    blue = (img[..., 2] > img[..., 0] + 40).sum()
    # the 2 cm side faces blend both colours: allow a thin strip of the other one
    seen, hidden = (red, blue) if top_visible else (blue, red)
    assert seen > 5000 and hidden < 0.03 * seen, (red, blue)


def test_rasterize_zbuffer_and_coverage():
    # two overlapping screen-space triangles (clockwise on screen = front-facing), near one second
    pix = torch.tensor([[10.0, 10.0], [10.0, 50.0], [50.0, 10.0]] * 2)
    depth = torch.tensor([2.0, 2.0, 2.0, 1.0, 1.0, 1.0])
    faces = torch.tensor([[0, 1, 2], [3, 4, 5]])
    for order in (faces, faces.flip(0)):
        pixel, face, bary = rasterize(pix, depth, order, 64, 64)
        assert abs(pixel.numel() - 800) < 45  # area of the triangle: 40 * 40 / 2
        assert (order[face] == torch.tensor([3, 4, 5])).all()  # the nearer triangle wins
        assert torch.allclose(bary.sum(1), torch.ones(len(bary)))
    # the reversed winding is a back face and is culled
    assert rasterize(pix, depth, faces[:, [0, 2, 1]], 64, 64)[0].numel() == 0


def test_occluder_covers_pixels(tpose):
    v, f, parts = tpose
    occ = OccluderSettings(
        shape="rect", center=(0.5, 0.5), size=(0.5, 0.3), color_a=(0.0, 1.0, 0.0)
    )
    plain = render(v, f, parts, FLAT)
    hidden = render(v, f, parts, dataclasses.replace(FLAT, occluder=occ))
    assert hidden.mask.sum() < plain.mask.sum() - 1000
    box = hidden.image[128 - 30 : 128 + 30, 96 - 40 : 96 + 40].astype(int)
    assert (box[..., 1] > 240).all() and (box[..., 0] < 15).all()


def test_truncation_cuts_at_border(tpose):
    v, f, parts = tpose
    assert not render(v, f, parts, FLAT).mask[-1].any()
    cut = render(v, f, parts, _with_camera(FLAT, truncation_side="bottom", truncation=0.3))
    assert cut.mask[-1].any() and not cut.mask[:3].any()


def test_backgrounds_vary_with_seed():
    imgs = [
        make_background(sample_background(np.random.default_rng(i)), 256, 192) for i in range(6)
    ]
    for i in range(5):
        assert (imgs[i] - imgs[i + 1]).abs().mean() > 0.02
    for kind in BACKGROUND_KINDS:
        bg = make_background(
            BackgroundSettings(kind=kind, color_b=(0.1, 0.2, 0.1), horizon=0.7), 256, 192
        )
        assert bg.shape == (256, 192, 3) and torch.isfinite(bg).all()
        assert 0.0 <= bg.min() and bg.max() <= 1.0 and bg.std() > 0.02, kind
    # and full renders with different seeds differ
    s = [sample_render_settings(np.random.default_rng(i)) for i in (1, 2)]
    assert s[0].background != s[1].background


def test_vertex_parts(anny_body, tpose):
    v, f, parts = tpose
    # the renderer culls back faces: anny's faces must be counter-clockwise seen from outside
    tri = v[f]
    signed_volume = (tri[:, 0] * torch.linalg.cross(tri[:, 1], tri[:, 2])).sum() / 6
    assert signed_volume > 0.03  # m^3, a person is ~0.06
    assert parts.shape == (v.shape[0],) and parts.dtype == np.int64
    present = {PART_NAMES[i] for i in np.unique(parts)}
    assert present >= set(PART_NAMES) - {"eyes"}
    x = v[:, 0].numpy()
    for side, sign in (("left", 1), ("right", -1)):
        for kind in ("upper_arm", "forearm", "hand", "thigh", "shin", "foot"):
            assert (sign * x[parts == PART_INDEX[f"{side}_{kind}"]] > 0).mean() > 0.95, (side, kind)
    y = v[:, 1].numpy()
    heights = {k: y[parts == PART_INDEX[k]].mean() for k in ("hair", "head", "torso", "left_shin")}
    assert heights["hair"] > heights["head"] > heights["torso"] > heights["left_shin"]
    assert PART_NAMES[bone_part("lowerarm02.R")] == "right_forearm"
    with pytest.raises(ValueError):
        bone_part("tail01")


@pytest.mark.slow
def test_vertex_parts_full_mesh(anny_full_body):
    parts = anny_vertex_parts(anny_full_body.model)
    assert parts.shape == (13718,)
    assert {PART_NAMES[i] for i in np.unique(parts)} == set(PART_NAMES)


def test_border_weights_straighten_waist(anny_body, tpose):
    """With border weights the torso/pelvis colour border is the waist plane: one image row."""
    v, f, parts = tpose
    border = anny_part_borders(anny_body.model)
    assert border.shape == parts.shape and (border > 0).all() and border.max() <= 0.05
    app = dataclasses.replace(FLAT.appearance, top=(0.9, 0.1, 0.1), bottom=(0.1, 0.1, 0.9))
    s = dataclasses.replace(FLAT, appearance=app)

    def waist_rows(bw: np.ndarray | None) -> int:
        img = render(v, f, parts, s, border_weights=bw).image.astype(int)
        r, g, b = img[..., 0], img[..., 1], img[..., 2]
        red, blue = (r > g + 40) & (r > b + 40) & (g < 60), (b > r + 40) & (b > g + 40)
        c0, c1 = np.nonzero(blue.any(0))[0][[0, -1]]
        cols = np.arange(c0 + (c1 - c0) // 4, c1 - (c1 - c0) // 4)  # the middle half: the waist
        lowest_red = [np.nonzero(red[:, c])[0].max() for c in cols]
        highest_blue = [np.nonzero(blue[:, c])[0].min() for c in cols]
        return int(np.ptp(lowest_red) + np.ptp(highest_blue))

    assert waist_rows(border) <= 6 < waist_rows(None)


def test_camera_matrices_project_joints_onto_person(anny_body):
    """K, R, t of a render project the body's joints onto person pixels (any camera)."""
    pose = np.zeros((1, 22, 3), dtype=np.float32)
    pose[0, 16, 2], pose[0, 17, 2] = -1.2, 1.2  # arms down-ish
    out = anny_body(pose)
    parts = anny_body.vertex_parts()
    for seed in range(3):
        s = sample_render_settings(np.random.default_rng(seed))
        s = dataclasses.replace(
            s, occluder=None, camera=dataclasses.replace(s.camera, truncation_side=None)
        )
        res = render(out.vertices[0], out.faces, parts, s)
        cam = out.joints[0].numpy() @ res.R.T + res.t
        uv = cam @ res.K.T
        uv = uv[:, :2] / uv[:, 2:]
        u, v = np.floor(uv[:, 0]).astype(int), np.floor(uv[:, 1]).astype(int)
        assert ((u >= 0) & (u < 192) & (v >= 0) & (v < 256)).all()
        # joints are inside the body: most project onto (or right next to) person pixels
        near = [
            res.mask[max(0, b - 2) : b + 3, max(0, a - 2) : a + 3].any()
            for a, b in zip(u, v, strict=True)
        ]
        assert np.mean(near) > 0.9, (seed, np.mean(near))


def test_cloth_pattern_only_on_torso(tpose):
    v, f, parts = tpose
    plain = render(v, f, parts, FLAT)
    app = dataclasses.replace(FLAT.appearance, pattern="stripes", pattern_color=(1.0, 1.0, 0.0))
    striped = render(v, f, parts, dataclasses.replace(FLAT, appearance=app))
    changed = (plain.image != striped.image).any(-1)
    ys = np.nonzero(changed)[0]
    assert changed.sum() > 300
    # the torso spans roughly the upper-middle of the crop; legs and head stay untouched
    assert ys.min() > 256 * 0.2 and ys.max() < 256 * 0.6, (ys.min(), ys.max())

"""Every augment op leaves each line's quad around all of that line's ink (issue 12, #4).

Ink of line k is every pixel that the op, run on a page holding only line k, makes darker
than it makes the same pixel of a page without ink (same params): so paper texture, noise,
stains and the like, which the op puts on both pages, never count, and the threshold is 0
grey levels (any channel, for colour).  A pixel is inside a quad when its centre (integer
x, y) lies in the closed quad, on an edge included; this is tested with exact cross
products rather than ``cv2.fillPoly``, which rounds corners to 1/2^shift px and fills edge
pixels by its own rule (enough to hide a half-pixel miss).  Tolerance: 0 px.

``bleed_through`` is left out: the marks it adds are the page's ink mirrored, standing for
the writing on the back of the sheet, not for the line's text; a line's quad that held its
own mirror image would span the page.  Its front ink is only scaled pixel by pixel.
"""
from __future__ import annotations

import functools
import json

import cv2
import numpy as np
import pytest
from cli_helpers import invoke

import augment
from augment.engine import advance
from augment.quads import inside_canvas
from cli.synthgen import main
from synthtext.dataset.sample import Sample
from synthtext.dataset.shards import iter_samples

PAPER, INK = 228, 40
H, W = 120, 200
NOT_TEXT = {"bleed_through"}  # see the module docstring
CHECKED = sorted(set(augment.OPS) - NOT_TEXT)
STRONG = {"rotate": {"max_degrees": 10.0}, "shear": {"max_shear_x": 0.5, "max_shear_y": 0.2},
          "perspective": {"max_shift": 0.2},
          "scale": {"scale": [0.5, 2.0], "aspect": [0.5, 2.0], "max_shift": 0.3},
          "elastic": {"alpha": [1.0, 20.0], "cell": [8.0, 60.0]},
          "baseline_wobble": {"amplitude": [0.5, 10.0], "wavelength": [10.0, 300.0]},
          "resample": {"factor": [0.3, 2.5]},
          "stroke_width": {"bold_kernel": [2, 7], "bold_amount": [0.0, 1.0], "thin_kernel": 5,
                           "thin_amount": [0.0, 1.0]},
          "gaussian_blur": {"sigma": [0.0, 10.0]}, "motion_blur": {"length": [1.0, 31.0]},
          "defocus_blur": {"radius": [0.0, 15.0]}, "downscale_upscale": {"factor": [0.1, 1.0]},
          "jpeg": {"quality": [1, 100]}, "ink_fade": {"strength": [0.0, 0.8], "cell": [8.0, 100.0]},
          "ink_blotches": {"count": [0, 10], "radius": [0.5, 20.0]},
          "gaussian_noise": {"sigma": [0.0, 40.0]},
          "speckle_noise": {"sigma": [0.0, 0.3], "grain": [1.0, 8.0]},
          "salt_pepper": {"amount": [0.0, 0.05]},
          "paper_texture": {"tone": [0.5, 1.0], "mottle": [0.0, 0.3], "grain": [0.0, 0.2]},
          "stains": {"count": [0, 5], "radius": [0.0, 0.5]}, "fold": {"width": [0.5, 20.0], "max_tilt": 45.0},
          "shadow": {"darkness": [0.0, 0.7]}, "lighting_gradient": {"low": [0.2, 1.0]}}
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;!?"
COLOUR_PAPER, COLOUR_INK = (205, 222, 236), (150, 45, 25)  # BGR: cream paper, blue ink


@functools.cache  # the same pages serve every op; nothing modifies them
def text_lines(seed: int):
    """2-3 lines of antialiased text-like ink on a ``H`` x ``W`` page, as separate images.

    Returns each line alone on the paper (uint8 ``(H, W)``), the page with all of them and
    each line's exact ink box as a quad (corners at the centres of its extreme ink pixels).
    Lines may touch the canvas edge.
    """
    rng = np.random.default_rng(seed)
    lut = (PAPER - ((PAPER - INK) * np.arange(256) + 127) // 255).astype(np.uint8)
    images, quads, y = [], [], int(rng.integers(8, 24))
    while y < H and len(images) < 3:
        cover = np.zeros((H, W), np.uint8)
        text = "".join(rng.choice(list(LETTERS), int(rng.integers(3, 14))))
        scale, thick = float(rng.uniform(0.35, 0.65)), int(rng.integers(1, 3))
        cv2.putText(cover, text, (int(rng.integers(-4, 40)), y), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, 255, thick, cv2.LINE_AA)
        img = cv2.LUT(cover, lut)
        ys, xs = np.nonzero(img < PAPER)
        if len(xs):
            x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
            images.append(img)
            quads.append([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        y += int(rng.integers(22, 40))
    page = np.min(images, axis=0)
    return images, page, np.asarray(quads, dtype=np.float64)


def in_quad(quad, xs, ys) -> np.ndarray:
    """Which pixel centres ``(xs[i], ys[i])`` lie in the closed convex ``quad`` (4 x 2)."""
    q = np.asarray(quad, dtype=np.float64)
    area = sum(q[i, 0] * q[i - 3, 1] - q[i - 3, 0] * q[i, 1] for i in range(4))
    side = 1.0 if area >= 0 else -1.0
    ok = np.ones(len(xs), dtype=bool)
    for i in range(4):
        (ax, ay), (bx, by) = q[i], q[(i + 1) % 4]
        ok &= side * ((bx - ax) * (ys - ay) - (by - ay) * (xs - ax)) >= 0.0
    return ok


def reading_direction(quads) -> np.ndarray:
    """Unit vectors along each quad's top edge, TL -> TR."""
    d = quads[:, 1] - quads[:, 0]
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def coloured(img: np.ndarray) -> np.ndarray:
    """The grey page ``img`` as BGR: paper ``COLOUR_PAPER``, ink fading to it as before."""
    t = np.clip((PAPER - np.arange(256.0)) / (PAPER - INK), 0.0, 1.0)
    luts = [np.round(p + (i - p) * t).astype(np.uint8) for p, i in zip(COLOUR_PAPER, COLOUR_INK)]
    return np.stack([cv2.LUT(img, lut) for lut in luts], axis=-1)


def darker(out: np.ndarray, reference) -> np.ndarray:
    """bool ``(H, W)``: pixels of ``out`` darker than ``reference`` (in any channel)."""
    d = out < reference
    return d.any(axis=-1) if d.ndim == 3 else d


def assert_ink_inside(masks, quads, corners, what):
    """Every ink pixel of line k (bool ``masks[k]``) lies in ``quads[k]``; quads lie in the
    canvas and still read the way their moved ``corners`` do (TL -> TR within 45 deg)."""
    h, w = masks[0].shape[:2]
    assert quads.min() >= 0.0 and quads[..., 0].max() <= w - 1 and quads[..., 1].max() <= h - 1, what
    turn = (reading_direction(quads) * reading_direction(corners)).sum(axis=1)
    assert (turn > np.cos(np.radians(45))).all(), (what, quads.tolist(), corners.tolist())
    for k, mask in enumerate(masks):
        ys, xs = np.nonzero(mask)
        inside = in_quad(quads[k], xs, ys)
        assert inside.all(), (f"{what}: {(~inside).sum()} ink px of line {k} outside its quad, "
                              f"e.g. (x, y) = {xs[~inside][0]}, {ys[~inside][0]}; quad {quads[k].tolist()}")


@functools.cache
def slanted_bars(seed: int):
    """1-3 hard-edged ink bars tilted up to 30 deg, each crossing a canvas edge (a line
    cut off by the border), as separate ``H`` x ``W`` images, and their quads (in the canvas)."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:H, 0:W]
    images, quads = [], []
    for _ in range(int(rng.integers(1, 4))):
        t = np.radians(rng.uniform(-30, 30)) + (np.pi / 2 if rng.random() < 0.3 else 0.0)
        u, v = np.array([np.cos(t), np.sin(t)]), np.array([-np.sin(t), np.cos(t)])
        edge = rng.integers(4)
        c = [np.array([0.0, rng.uniform(0, H - 1)]), np.array([W - 1.0, rng.uniform(0, H - 1)]),
             np.array([rng.uniform(0, W - 1), 0.0]), np.array([rng.uniform(0, W - 1), H - 1.0])][edge]
        a, b, half = rng.uniform(5, 60), rng.uniform(5, 60), rng.uniform(1, 8)
        quad = np.array([c - a * u - half * v, c + b * u - half * v,
                         c + b * u + half * v, c - a * u + half * v])
        img = np.full((H, W), PAPER, np.uint8)
        img[in_quad(quad, xs.ravel(), ys.ravel()).reshape(H, W)] = INK
        images.append(img)
        quads.append(quad)
    return images, inside_canvas(np.asarray(quads), (H, W))


def check_op(op, lines, quads, seed: int, colour: bool):
    """Run ``op`` on each line image alone and on a blank page; assert each line's ink lies
    in its quad.  Even seeds sample with the quads (text-height caps apply), odd without."""
    blank = np.full_like(lines[0], PAPER)
    if colour:
        lines, blank = [coloured(img) for img in lines], coloured(blank)
    given = quads if seed % 2 == 0 else None
    params = op.sample(np.random.default_rng(seed), blank.shape, given)
    reference = op.apply(blank, params)
    masks = [darker(op.apply(img, params), reference) for img in lines]
    moved = op.apply_quads(quads, params, blank.shape)
    assert_ink_inside(masks, moved, op.move_corners(quads, params, blank.shape), (op.name, seed, params))


@pytest.mark.parametrize("strong", [False, True], ids=["default", "strong"])
@pytest.mark.parametrize("name", CHECKED)
def test_every_op_keeps_all_ink_in_the_quads(name, strong):
    op = augment.OPS[name](**(STRONG[name] if strong else {}))
    for seed in range(150):
        lines, _, quads = text_lines(seed)
        check_op(op, lines, quads, seed, colour=False)


@pytest.mark.parametrize("name", CHECKED)
def test_every_op_keeps_all_colour_ink_in_the_quads(name):
    """Colour pages: JPEG codes them in 16 px blocks with subsampled chroma, not 8 px."""
    op = augment.OPS[name](**STRONG[name])
    for seed in range(25):
        lines, _, quads = text_lines(seed)
        check_op(op, lines, quads, seed, colour=True)


@pytest.mark.parametrize("name", CHECKED)
def test_every_op_keeps_slanted_ink_cut_by_the_border_in_its_quad(name):
    """Slanted boxes on the canvas edge: a slanted motion blur reads past the edge as the
    edge pixel (replicated), smearing ink along the border beyond the kernel's own reach."""
    op = augment.OPS[name](**STRONG[name])
    for seed in range(40):
        lines, quads = slanted_bars(seed)
        check_op(op, lines, quads, seed, colour=False)


@pytest.mark.parametrize("chain", [("rotate", "elastic"), ("perspective", "baseline_wobble", "shear"),
                                   ("elastic", "resample", "rotate", "baseline_wobble")])
def test_chained_warps_keep_all_ink_in_the_quads(chain):
    pipe = augment.Pipeline([augment.OPS[n](**STRONG[n]) for n in chain])
    for seed in range(40):
        lines, page, quads = text_lines(seed)
        _, moved, params = pipe(page, np.random.default_rng(seed), quads)
        outs = [augment.replay(img, params)[0] < PAPER for img in lines]
        corners, shape = quads, page.shape
        for rec in params["ops"]:
            op = augment.OPS[rec["op"]]()
            corners = op.move_corners(corners, rec["params"], shape)
            shape = op.output_shape(rec["params"], shape)
        assert_ink_inside(outs, moved, corners, (chain, seed, params))


@pytest.mark.parametrize("chain", [("paper_texture", "stroke_width", "jpeg", "motion_blur"),
                                   ("downscale_upscale", "jpeg", "downscale_upscale", "rotate"),
                                   ("speckle_noise", "defocus_blur", "stroke_width", "gaussian_blur")])
def test_chained_spreads_keep_all_ink_in_the_quads(chain):
    """Spreads after texture, noise or another spread: the boxes hold every pixel the text
    changes, brighter ringing included, so the next op's reach starts from them.

    Kernels stay under 13 x 13 px: from there OpenCV's ``filter2D`` convolves by DFT, whose
    rounding error can move a pixel of a textured page by 1 grey level anywhere.
    """
    direct = {"motion_blur": {"length": [1.0, 11.0]}, "defocus_blur": {"radius": [0.0, 5.0]}}
    pipe = augment.Pipeline([augment.OPS[n](**direct.get(n, STRONG[n])) for n in chain])
    for seed in range(40):
        lines, page, quads = text_lines(seed)
        params = pipe.sample(np.random.default_rng(seed), page.shape, quads if seed % 2 else None)
        reference, moved = augment.replay(np.full_like(page, PAPER), params, quads)
        outs = [darker(augment.replay(img, params)[0], reference) for img in lines]
        corners = advance(params["ops"], page.shape, quads)[1]
        assert_ink_inside(outs, moved, corners, (chain, seed, params))


def test_rendered_lines_hold_their_ink_after_elastic(tmp_path):
    """The issue's case: elastic through ``synthgen render`` (png, so pixels are exact).

    ``--skew 0`` keeps the renderer's own skew rotation out of this test.
    """
    op = tmp_path / "op.json"
    op.write_text(json.dumps({"sequence": [{"op": "elastic", "p": 1.0, "alpha": [1.0, 4.0]}]}))
    out = tmp_path / "el"
    r = invoke(main, "render", "--out", out, "-n", 10, "--layout", "line", "--augment", op,
               "--image-format", "png", "--skew", 0, "--no-progress")
    assert r.exit_code == 0, r.output
    samples = [Sample.from_wds(d) for d in iter_samples(str(out))]
    assert len(samples) == 10
    for s in samples:
        assert s.meta["augment"]["ops"][0]["op"] == "elastic"
        ys, xs = np.nonzero(s.image < s.meta["params"]["paper"])
        lines = [ln for ln in s.lines if ln.quad is not None]
        held = np.any([in_quad(ln.quad, xs, ys) for ln in lines], axis=0)
        assert held.all(), (s.key, int((~held).sum()), "ink px outside the line quads")
        words = [in_quad(w["quad"], xs, ys) for ln in lines for w in ln.words]
        assert np.any(words, axis=0).all(), (s.key, "ink px outside the word quads")


def test_elastic_on_a_large_page_keeps_ink_in_the_quads():
    """Over 32767 coarse field nodes (cv2.remap's row limit): the warp runs, quads hold ink."""
    lines, page, quads = text_lines(7)
    big = np.full((1500, 1500), PAPER, np.uint8)
    big[700:700 + H, 600:600 + W] = page
    placed = quads + (600, 700)
    op = augment.OPS["elastic"](**STRONG["elastic"])
    params = op.sample(np.random.default_rng(0), big.shape, placed)
    moved = op.apply_quads(placed, params, big.shape)
    outs = []
    for img in lines:
        alone = np.full_like(big, PAPER)
        alone[700:700 + H, 600:600 + W] = img
        outs.append(op.apply(alone, params) < PAPER)
    assert_ink_inside(outs, moved, op.move_corners(placed, params, big.shape), params)

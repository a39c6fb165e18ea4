"""Every geometric op leaves each line's quad around all of that line's ink (issue 12, #4).

Ink is any pixel darker than the paper: the warps blend with weights that sum to one and fill
uncovered areas with the paper colour, so paper stays exactly paper and the threshold is 0
grey levels.  A pixel is inside a quad when its centre (integer x, y) lies in the closed
quad, on an edge included; this is tested with exact cross products rather than
``cv2.fillPoly``, which rounds corners to 1/2^shift px and fills edge pixels by its own rule
(enough to hide a half-pixel miss).  Tolerance: 0 px.
"""
from __future__ import annotations

import functools
import json

import cv2
import numpy as np
import pytest
from cli_helpers import invoke

import augment
from cli.synthgen import main
from synthtext.dataset.sample import Sample
from synthtext.dataset.shards import iter_samples

PAPER, INK = 228, 40
H, W = 120, 200
GEOMETRIC = sorted(n for n, c in augment.OPS.items() if c.geometric)
STRONG = {"rotate": {"max_degrees": 10.0}, "shear": {"max_shear_x": 0.5, "max_shear_y": 0.2},
          "perspective": {"max_shift": 0.2},
          "scale": {"scale": [0.5, 2.0], "aspect": [0.5, 2.0], "max_shift": 0.3},
          "elastic": {"alpha": [1.0, 20.0], "cell": [8.0, 60.0]},
          "baseline_wobble": {"amplitude": [0.5, 10.0], "wavelength": [10.0, 300.0]},
          "resample": {"factor": [0.3, 2.5]}}
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;!?"


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


def assert_ink_inside(out_lines, quads, corners, what):
    """Every ink pixel of line k (``out_lines[k]``) lies in ``quads[k]``; quads lie in the
    canvas and still read the way their moved ``corners`` do (TL -> TR within 45 deg)."""
    h, w = out_lines[0].shape[:2]
    assert quads.min() >= 0.0 and quads[..., 0].max() <= w - 1 and quads[..., 1].max() <= h - 1, what
    turn = (reading_direction(quads) * reading_direction(corners)).sum(axis=1)
    assert (turn > np.cos(np.radians(45))).all(), (what, quads.tolist(), corners.tolist())
    for k, img in enumerate(out_lines):
        ys, xs = np.nonzero(img < PAPER)
        inside = in_quad(quads[k], xs, ys)
        assert inside.all(), (f"{what}: {(~inside).sum()} ink px of line {k} outside its quad, "
                              f"e.g. (x, y) = {xs[~inside][0]}, {ys[~inside][0]}; quad {quads[k].tolist()}")


@pytest.mark.parametrize("strong", [False, True], ids=["default", "strong"])
@pytest.mark.parametrize("name", GEOMETRIC)
def test_every_geometric_op_keeps_all_ink_in_the_quads(name, strong):
    op = augment.OPS[name](**(STRONG[name] if strong else {}))
    for seed in range(150):
        lines, page, quads = text_lines(seed)
        params = op.sample(np.random.default_rng(seed), page.shape, quads)
        moved = op.apply_quads(quads, params, page.shape)
        corners = op.move_corners(quads, params, page.shape)
        assert_ink_inside([op.apply(img, params) for img in lines], moved, corners, (name, seed, params))


@pytest.mark.parametrize("chain", [("rotate", "elastic"), ("perspective", "baseline_wobble", "shear"),
                                   ("elastic", "resample", "rotate", "baseline_wobble")])
def test_chained_warps_keep_all_ink_in_the_quads(chain):
    pipe = augment.Pipeline([augment.OPS[n](**STRONG[n]) for n in chain])
    for seed in range(40):
        lines, page, quads = text_lines(seed)
        _, moved, params = pipe(page, np.random.default_rng(seed), quads)
        outs = [augment.replay(img, params)[0] for img in lines]
        corners, shape = quads, page.shape
        for rec in params["ops"]:
            op = augment.OPS[rec["op"]]()
            corners = op.move_corners(corners, rec["params"], shape)
            shape = op.output_shape(rec["params"], shape)
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
        outs.append(op.apply(alone, params))
    assert_ink_inside(outs, moved, op.move_corners(placed, params, big.shape), params)

"""augment: reproducibility, boxes following warps, config validation, labels kept true."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

import augment
from augment import AugmentConfigError, OneOf, Pipeline, RandomOrder, Sequence, WithProbability
from augment.preview import contact_sheet

PAPER = 235
ALL_OPS = sorted(augment.OPS)
GEOMETRIC = sorted(n for n, c in augment.OPS.items() if c.geometric)
# ops that compute a pixel from its neighbours: they grow the quads by that reach
SPREADING = {"stroke_width", "gaussian_blur", "motion_blur", "defocus_blur", "jpeg", "downscale_upscale"}
# ops that act pixel by pixel (bleed_through: its mirrored marks are not the lines' text)
KEEP_QUADS = {"ink_fade", "ink_blotches", "bleed_through", "paper_texture", "stains", "fold",
              "shadow", "lighting_gradient", "gaussian_noise", "speckle_noise", "salt_pepper"}


def text_page(h=256, w=256, margin=30):
    """A page with a few dark text lines well inside the margins, and each line's exact box."""
    img = np.full((h, w), PAPER, np.uint8)
    quads, y = [], margin + 14
    words = ["quick fox", "lazy dog jumps", "HEX 42", "seven wizards"]
    i = 0
    while y < h - margin:
        line = np.full((h, w), 255, np.uint8)
        cv2.putText(line, words[i % len(words)], (margin, y), cv2.FONT_HERSHEY_SIMPLEX, 0.55, 0, 2)
        line[:, w - margin:] = 255
        ys, xs = np.nonzero(line < 128)
        x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
        quads.append([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        img = np.minimum(img, np.where(line < 128, 30, 255).astype(np.uint8))
        y += 26
        i += 1
    return img, np.asarray(quads, dtype=np.float64)


def ink_mask(img: np.ndarray) -> np.ndarray:
    """Pixels clearly darker than the paper around them (< 60% of the local maximum).

    The paper level is taken after a 3x3 median so isolated salt pixels do not count as paper.
    """
    g = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    bg = cv2.dilate(cv2.medianBlur(g, 3), np.ones((15, 15), np.uint8)).astype(np.float32)
    return g.astype(np.float32) < 0.6 * bg


def record(op, params):
    return {"op": op.name, "params": params}


PAGE, QUADS = text_page()


# --- reproducibility ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL_OPS)
def test_op_reproducible_and_replayable(name):
    op = augment.OPS[name]()
    for seed in range(3):
        p1 = op.sample(np.random.default_rng(seed), PAGE.shape, QUADS)
        p2 = op.sample(np.random.default_rng(seed), PAGE.shape, QUADS)
        assert p1 == p2
        text = json.dumps(p1)  # plain JSON types only
        out1, out2 = op.apply(PAGE, p1), op.apply(PAGE, p2)
        assert out1.dtype == np.uint8 and np.array_equal(out1, out2)
        assert out1.shape[:2] == op.output_shape(p1, PAGE.shape)
        if name != "resample":  # the one op documented to change the shape
            assert out1.shape == PAGE.shape
        again, quads = augment.replay(PAGE, record(op, json.loads(text)), QUADS)
        assert np.array_equal(again, out1)
        assert np.allclose(quads, op.apply_quads(QUADS, p1, PAGE.shape))
        if name in KEEP_QUADS:
            assert np.array_equal(quads, QUADS)
        elif name in SPREADING:  # grown in place: same axis-aligned boxes, only larger
            assert (quads.min(axis=1) <= QUADS.min(axis=1)).all()
            assert (quads.max(axis=1) >= QUADS.max(axis=1)).all()
            grew = np.concatenate([QUADS.min(axis=1) - quads.min(axis=1),
                                   quads.max(axis=1) - QUADS.max(axis=1)])
            assert (grew > 0.5).any(), (name, p1)


def test_every_op_says_what_it_does_to_quads():
    """A new op must be sorted into geometric, spreading or pixel-by-pixel (and tested so)."""
    assert set(GEOMETRIC) | SPREADING | KEEP_QUADS == set(ALL_OPS)
    assert not (set(GEOMETRIC) & SPREADING or set(GEOMETRIC) & KEEP_QUADS or SPREADING & KEEP_QUADS)


def test_jpeg_quads_follow_the_colour_blocks_through_combinators():
    """Colour JPEG codes 16 px blocks (4:2:0 chroma), grey 8 px: the channels reach the op."""
    seq = Sequence([augment.OPS["jpeg"]()])
    colour = cv2.cvtColor(PAGE, cv2.COLOR_GRAY2BGR)
    p = seq.sample(np.random.default_rng(0), colour.shape)
    _, q_colour = augment.replay(colour, record(seq, p), QUADS)
    _, q_grey = augment.replay(PAGE, record(seq, p), QUADS)
    assert np.array_equal(q_colour, seq.apply_quads(QUADS, p, colour.shape))
    assert np.array_equal(q_grey, seq.apply_quads(QUADS, p, PAGE.shape))
    assert (q_colour.min(axis=1) <= q_grey.min(axis=1)).all() and not np.array_equal(q_colour, q_grey)


@pytest.mark.parametrize("name", ALL_OPS)
def test_op_takes_colour_images(name):
    op = augment.OPS[name]()
    colour = cv2.cvtColor(PAGE, cv2.COLOR_GRAY2BGR)
    params = op.sample(np.random.default_rng(1), colour.shape, QUADS)
    out = op.apply(colour, params)
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3


@pytest.mark.parametrize("name", augment.PRESETS)
def test_preset_reproducible_and_replayable(name):
    pipe = augment.preset(name)
    for seed in range(5):
        a = pipe.sample(np.random.default_rng(seed), PAGE.shape, QUADS)
        assert a == pipe.sample(np.random.default_rng(seed), PAGE.shape, QUADS)
        out, quads = pipe.apply(PAGE, a, QUADS)
        out2, quads2, b = pipe(PAGE, np.random.default_rng(seed), QUADS)
        assert a == b and np.array_equal(out, out2) and np.array_equal(quads, quads2)
        logged = json.loads(json.dumps(a))
        again, quads3 = augment.replay(PAGE, logged, QUADS)
        assert np.array_equal(again, out) and np.array_equal(quads3, quads)
        assert list(out.shape[:2]) == a["output_shape"] == a["input_shape"]
        assert all(set(r) == {"op", "params"} and r["op"] in augment.OPS for r in a["ops"])


def test_pipeline_records_ops_in_application_order():
    pipe = Pipeline([augment.OPS["jpeg"](), augment.OPS["rotate"](), augment.OPS["gaussian_noise"]()])
    params = pipe.sample(np.random.default_rng(0), PAGE.shape)
    assert [r["op"] for r in params["ops"]] == ["jpeg", "rotate", "gaussian_noise"]


def test_no_global_rng_is_touched():
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    cv2.setRNGSeed(7)
    expected = cv2.randu(np.zeros(4, np.float32), 0, 1).copy()
    cv2.setRNGSeed(7)
    augment.preset("heavy")(PAGE, np.random.default_rng(3), QUADS)
    assert np.array_equal(np.random.get_state()[1], state)
    assert np.array_equal(cv2.randu(np.zeros(4, np.float32), 0, 1), expected)


# --- boxes follow geometric ops ---------------------------------------------------------
def _darkest(img):
    blurred = cv2.GaussianBlur(img, (0, 0), 1.5)
    y, x = np.unravel_index(np.argmin(blurred), blurred.shape)
    return np.array([x, y], dtype=np.float64)


STRONG = {"rotate": {"max_degrees": 8.0}, "perspective": {"max_shift": 0.1},
          "elastic": {"alpha": [4.0, 6.0]}, "baseline_wobble": {"amplitude": [3.0, 4.0]},
          "shear": {"max_shear_x": 0.3, "max_shear_y": 0.1}, "scale": {"scale": [0.7, 0.8]},
          "resample": {"factor": [0.6, 1.4]}}


@pytest.mark.parametrize("strong", [False, True], ids=["default", "strong"])
@pytest.mark.parametrize("name", GEOMETRIC)
def test_dot_follows_its_quad(name, strong):
    op = augment.OPS[name](**(STRONG.get(name, {}) if strong else {}))
    for seed, (x, y) in enumerate([(130, 95), (300, 220), (60, 250), (200, 150)]):
        page = np.full((300, 400), 255, np.uint8)
        cv2.circle(page, (x, y), 2, 0, -1)
        quad = np.full((1, 4, 2), (x, y), dtype=np.float64)
        given = quad if seed % 2 else None  # with and without quads at sampling time
        params = op.sample(np.random.default_rng(seed), page.shape, given)
        out = op.apply(page, params)
        moved = op.apply_quads(quad, params, page.shape)[0, 0]
        assert np.linalg.norm(_darkest(out) - moved) <= 2.0, (params, moved, _darkest(out))


def test_fused_warps_move_dot_with_quad():
    ops = [augment.OPS[n](**STRONG[n]) for n in ("rotate", "elastic", "perspective", "baseline_wobble")]
    pipe = Pipeline(ops)
    for seed in range(4):
        page = np.full((300, 400), 255, np.uint8)
        cv2.circle(page, (250, 120), 2, 0, -1)
        quad = np.full((1, 4, 2), (250, 120), dtype=np.float64)
        out, moved, _ = pipe(page, np.random.default_rng(seed), quad)
        assert np.linalg.norm(_darkest(out) - moved[0, 0]) <= 2.0


def test_rotation_without_quads_keeps_the_whole_canvas():
    op = augment.OPS["rotate"](max_degrees=5.0)
    params = op.sample(np.random.default_rng(0), (300, 400))
    corners = np.array([[[0, 0], [399, 0], [399, 299], [0, 299]]], dtype=np.float64)
    moved = op.apply_quads(corners, params, (300, 400))
    assert params["fit"][0] < 1.0
    assert moved.min() >= -1e-6 and moved[..., 0].max() <= 399 + 1e-6 and moved[..., 1].max() <= 299 + 1e-6


# --- every preset keeps the label true ---------------------------------------------------
@pytest.mark.parametrize("name", augment.PRESETS)
def test_preset_keeps_text_inside_and_legible(name):
    h, w = PAGE.shape
    base_ink = int(ink_mask(PAGE).sum())
    ring = np.zeros((h, w), bool)
    ring[:3], ring[-3:], ring[:, :3], ring[:, -3:] = True, True, True, True
    pipe = augment.preset(name)
    for seed in range(250):
        out, quads, params = pipe(PAGE, np.random.default_rng(seed), QUADS)
        assert out.shape == PAGE.shape and out.dtype == np.uint8
        assert quads.min() >= -1e-3 and quads[..., 0].max() <= w - 1 + 1e-3 \
            and quads[..., 1].max() <= h - 1 + 1e-3, (seed, params)
        ink = ink_mask(out)
        boxes = np.zeros((h, w), np.uint8)
        cv2.fillPoly(boxes, [np.round(q).astype(np.int32) for q in quads], 1)
        boxes = cv2.dilate(boxes, np.ones((7, 7), np.uint8)).astype(bool)
        assert ink[boxes].sum() >= 0.2 * base_ink, (seed, "text erased", params)
        assert ink[ring].mean() <= 0.01, (seed, "ink at the border", params)
        assert ink[~boxes].mean() <= 0.01, (seed, "ink outside the boxes", params)


# --- combinators ---------------------------------------------------------------------------
def test_with_probability_records_what_was_drawn():
    never = WithProbability(augment.OPS["jpeg"](), 0.0)
    assert never.sample(np.random.default_rng(0), PAGE.shape) == {"applied": False}
    always = WithProbability(augment.OPS["jpeg"](), 1.0)
    p = always.sample(np.random.default_rng(0), PAGE.shape)
    assert p["applied"] is True and p["child"]["op"] == "jpeg"
    assert np.array_equal(always.apply(PAGE, p), augment.replay(PAGE, record(always, p))[0])


def test_one_of_uses_weights_and_replays():
    pick = OneOf([(augment.OPS["jpeg"](), 0.0), (augment.OPS["gaussian_blur"](), 1.0)])
    for seed in range(10):
        p = pick.sample(np.random.default_rng(seed), PAGE.shape)
        assert p["index"] == 1 and p["child"]["op"] == "gaussian_blur"
    both = OneOf([augment.OPS["jpeg"](), augment.OPS["rotate"]()])
    seen = {both.sample(np.random.default_rng(s), PAGE.shape)["index"] for s in range(20)}
    assert seen == {0, 1}
    p = both.sample(np.random.default_rng(0), PAGE.shape)
    out, q = augment.replay(PAGE, json.loads(json.dumps(record(both, p))), QUADS)
    assert np.array_equal(out, both.apply(PAGE, p))
    assert np.allclose(q, both.apply_quads(QUADS, p, PAGE.shape))


def test_random_order_draws_and_records_an_order():
    ops = [augment.OPS[n]() for n in ("jpeg", "gaussian_blur", "salt_pepper")]
    orders = set()
    for seed in range(20):
        p = RandomOrder(ops).sample(np.random.default_rng(seed), PAGE.shape)
        orders.add(tuple(p["order"]))
        assert [c["op"] for c in p["children"]] == [ops[i].name for i in p["order"]]
    assert len(orders) > 1
    seq = Sequence(ops).sample(np.random.default_rng(0), PAGE.shape)
    assert [c["op"] for c in seq["children"]] == ["jpeg", "gaussian_blur", "salt_pepper"]


def test_resample_reports_output_shape():
    pipe = Pipeline([augment.OPS["resample"](factor=(0.5, 0.5)), augment.OPS["rotate"]()])
    out, quads, params = pipe(PAGE, np.random.default_rng(0), QUADS)
    assert params["output_shape"] == [128, 128] == list(out.shape)
    assert quads.max() <= 127


# --- config --------------------------------------------------------------------------------
def test_config_builds_pipeline():
    cfg = {"sequence": [
        {"op": "rotate", "p": 0.5, "max_degrees": 2},
        {"one_of": [{"op": "gaussian_blur", "weight": 2, "sigma": [0.3, 0.8]}, {"op": "motion_blur"}], "p": 0.4},
        {"random_order": [{"op": "ink_fade"}, {"op": "stroke_width"}]},
        {"op": "jpeg", "quality": 50},
    ]}
    pipe = augment.load_config(cfg)
    out, _, params = pipe(PAGE, np.random.default_rng(0))
    assert out.shape == PAGE.shape and params["ops"][-1] == {"op": "jpeg", "params": {"quality": 50}}


@pytest.mark.parametrize("name", augment.PRESETS)
def test_to_config_round_trips(name):
    pipe = augment.preset(name)
    rebuilt = augment.load_config(json.loads(json.dumps(pipe.to_config())))
    for seed in range(3):
        rng1, rng2 = np.random.default_rng(seed), np.random.default_rng(seed)
        assert pipe.sample(rng1, PAGE.shape, QUADS)["ops"] == rebuilt.sample(rng2, PAGE.shape, QUADS)["ops"]


@pytest.mark.parametrize("cfg, words", [
    ({"sequence": [{"op": "rotat"}]}, ["sequence[0]", "unknown op 'rotat'", "'rotate'"]),
    ({"sequence": [{"op": "rotate", "max_degree": 2}]}, ["sequence[0]", "rotate", "'max_degree'"]),
    ({"sequence": [{"op": "gaussian_blur", "sigma": "big"}]}, ["gaussian_blur", "'sigma'", "str"]),
    ({"sequence": [{"op": "rotate", "max_degrees": True}]}, ["rotate", "'max_degrees'", "bool"]),
    ({"sequence": [{"op": "gaussian_blur", "sigma": [2, 1]}]}, ["gaussian_blur", "'sigma'", "low <= high"]),
    ({"one_of": [{"op": "jpeg", "quality": [5, 500]}]}, ["one_of[0]", "jpeg", "'quality'"]),
    ({"sequence": [{"op": "jpeg", "p": 2}]}, ["sequence[0]", "'p'"]),
    ({"sequence": [{"op": "jpeg", "weight": 2}]}, ["sequence[0]", "'weight'"]),
    ({"sequence": [{"sequenc": []}]}, ["sequence[0]", "sequenc"]),
    ({"sequence": [{"preset": "extreme"}]}, ["extreme", "heavy"]),
    ({"sequence": {"op": "jpeg"}}, ["sequence", "list"]),
])
def test_config_errors_name_the_culprit(cfg, words):
    with pytest.raises(AugmentConfigError) as err:
        augment.load_config(cfg)
    msg = str(err.value)
    assert "\n" not in msg and isinstance(err.value, ValueError)
    for word in words:
        assert word in msg, msg


def test_config_files(tmp_path):
    good = tmp_path / "aug.json"
    good.write_text(json.dumps({"preset": "light"}))
    assert augment.load_config(good).name == "aug"
    bad = tmp_path / "bad.json"
    bad.write_text('{"sequence": [{"op": "jpeg", "qualty": 3}]}')
    with pytest.raises(AugmentConfigError, match=r"bad\.json.*sequence\[0\].*'qualty'"):
        augment.load_config(bad)
    broken = tmp_path / "broken.json"
    broken.write_text('{"sequence": [')
    with pytest.raises(AugmentConfigError, match=r"broken\.json.*line 1"):
        augment.load_config(broken)
    with pytest.raises(AugmentConfigError, match="not found"):
        augment.load_config(tmp_path / "missing.json")
    yaml = pytest.importorskip("yaml")
    y = tmp_path / "aug.yaml"
    y.write_text(yaml.safe_dump({"sequence": [{"op": "rotate", "p": 0.5}, {"op": "speckle_noise"}]}))
    assert [r["op"] for r in augment.load_config(y).sample(np.random.default_rng(1), PAGE.shape)["ops"]]


def test_unknown_preset_lists_choices():
    with pytest.raises(ValueError, match="none, light, medium, heavy"):
        augment.preset("extreme")


def test_bad_inputs_are_rejected():
    with pytest.raises(TypeError):
        augment.OPS["jpeg"]().apply(PAGE.astype(np.float32), {"quality": 50})
    with pytest.raises(ValueError):
        augment.replay(PAGE[:100], augment.preset("light").sample(np.random.default_rng(0), PAGE.shape))
    with pytest.raises(AugmentConfigError, match="unknown op"):
        augment.replay(PAGE, {"op": "nope", "params": {}})


# --- preview -------------------------------------------------------------------------------
def test_contact_sheet():
    gray = contact_sheet([PAGE, PAGE[:100]], ["one", "two"], columns=2, cell_width=128)
    assert gray.ndim == 2 and gray.dtype == np.uint8 and gray.shape[1] >= 256
    caption_band = gray[-24:, :128]
    assert caption_band.min() < 128  # the caption text was drawn
    rgb = contact_sheet([PAGE, cv2.cvtColor(PAGE, cv2.COLOR_GRAY2RGB)], None, columns=1, cell_width=64)
    assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.shape[0] > 128
    with pytest.raises(ValueError):
        contact_sheet([PAGE], ["a", "b"], columns=1, cell_width=64)

"""Any canvas, margin, font size and skew renders the sample or rejects it, never crashes,
and every line quad holds all its ink (issue 12: skew plus small margins crashed)."""

import os

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.synthgen import main
from synthtext.corpora.corpus import Corpus, CorpusMix, Span
from synthtext.dataset.errors import ConfigError, UserError
from synthtext.fonts.fontset import FontSet, resolve_fonts
from synthtext.render.config import RenderConfig, embedded_corpus_path
from synthtext.render.renderer import Renderer

CAUSES = {"does_not_fit", "no_ink", "missing_glyph", "no_single_font", "stripped_chars"}
# A deeper local search: SYNTHGEN_FIT_EXAMPLES=1000 pytest tests/test_render_fit.py
EXAMPLES = int(os.environ.get("SYNTHGEN_FIT_EXAMPLES", "40"))


@pytest.fixture(scope="module")
def shared():
    """Corpus and fonts opened once: a Renderer per drawn config only samples numbers."""
    corpus = CorpusMix([(Corpus(embedded_corpus_path()), 1.0)])
    return corpus, FontSet(resolve_fonts("embedded"))


def ink_outside_quads(sample) -> int:
    """Ink pixels (darker than the paper by over 60 grey levels) whose centre lies outside
    every line quad (pixel ``(x, y)`` spans ``[x, x + 1] x [y, y + 1]``; 0 px tolerance)."""
    img = sample.image
    ys, xs = np.nonzero(img < sample.meta["params"]["paper"] - 60)
    centres = np.stack([xs + 0.5, ys + 0.5], 1)
    outside = np.ones(len(centres), bool)
    for ln in sample.lines:
        if ln.quad is not None:
            outside &= ~in_convex_quad(np.asarray(ln.quad, float), centres)
    return int(outside.sum())


def in_convex_quad(quad: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Whether each point ``(N, 2)`` lies in the convex quad ``(4, 2)`` (edges included,
    to the 0.01 px the quads are rounded to)."""
    a, b = quad, np.roll(quad, -1, axis=0)
    d = (b - a) / np.maximum(np.linalg.norm(b - a, axis=1, keepdims=True), 1e-9)
    side = (d[None, :, 0] * (pts[:, None, 1] - a[None, :, 1])
            - d[None, :, 1] * (pts[:, None, 0] - a[None, :, 0]))  # signed distance, px
    return (side >= -0.01).all(1) | (side <= 0.01).all(1)


def pair(lo, hi, cast=int):
    """A (low, high) range strategy within [lo, hi]."""
    num = st.integers(lo, hi) if cast is int else st.floats(lo, hi)
    return st.tuples(num, num).map(lambda p: (min(p), max(p)))


@st.composite
def options(draw) -> dict:
    """RenderConfig options, mostly near the edge: small canvases, thin margins, type that
    nearly fills the page, skew up to 45 degrees, every rotation, alignment and unit."""
    layout = draw(st.sampled_from(["page", "line"]))
    width, height = draw(pair(40, 400)), draw(pair(40, 400))
    margin = draw(st.one_of(pair(0.0, 0.02, float), pair(0.0, 0.39, float)))
    usable = min(width[0], height[0]) * (1 - 2 * margin[1]) / 1.6  # what validate allows
    top = max(4, int(usable)) if layout == "page" else 90
    return {
        "layout": layout, "width": width, "height": height, "margin": margin,
        "font_size": draw(pair(4, top)), "line_height": draw(pair(8, 120)),
        "line_spacing": draw(pair(0.5, 2.5, float)),
        "block_width": draw(pair(0.05, 1.0, float)),
        "skew": draw(st.sampled_from([0.0, 0.5, 1.0])),
        "max_skew": draw(st.one_of(st.floats(0.0, 6.0), st.floats(0.0, 45.0))),
        "rotation": draw(st.sampled_from([{0: 1}, {90: 1}, {0: 1, 90: 1, 180: 1, 270: 1}])),
        "align": draw(st.sampled_from([{"left": 1}, {"right": 1}, {"center": 1},
                                       {"justify": 1}])),
        "length_unit": draw(st.sampled_from(["words", "chars", "lines"])),
        "length": draw(pair(1, 60)),
    }


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(opts=options(), index=st.integers(0, 10_000))
def test_any_options_render_or_reject_and_quads_hold_the_ink(shared, opts, index):
    try:
        cfg = RenderConfig(**opts).validate()
    except ConfigError:
        return  # refused up front with a one-line message naming the option
    r = Renderer(cfg, *shared)
    try:
        s = r.sample("train", index)
    except UserError as e:  # nothing fitted in any attempt: the documented one-line error
        assert "no valid sample" in str(e) and "\n" not in str(e)
        return
    assert set(s.meta["rejects"]) <= CAUSES
    assert s.text.strip(), "empty label"
    assert ink_outside_quads(s) == 0, (opts, index, s.meta["params"])


def test_skew_with_no_margin_renders_or_rejects_as_does_not_fit(shared):
    """The reported case: 250 px pages, no margin, always skewed up to 5 degrees (it raised
    a broadcast ValueError): every sample is drawn whole on its page, or its attempt is
    counted as ``does_not_fit``."""
    cfg = RenderConfig(width=(250, 250), height=(250, 250), margin=(0.0, 0.0), skew=1.0,
                       max_skew=5.0)
    r = Renderer(cfg, *shared)
    for i in range(40):
        s = r.sample("train", i)
        assert s.image.shape == (250, 250)
        assert set(s.meta["rejects"]) <= {"does_not_fit"}
        assert ink_outside_quads(s) == 0


def test_nothing_fits_is_one_line_naming_the_cause(tmp_path):
    """Words wider than the page in every attempt: the run stops with one line, no
    traceback, naming the counted cause and the options to change."""
    corpus = tmp_path / "long.txt"
    corpus.write_text("Supercalifragilisticexpialidocious Pneumonoultramicroscopic\n")
    r = invoke(main, "render", "--out", tmp_path / "o", "--corpus", corpus, "--corpus-format",
               "lines", "--width", "40:40", "--height", "40:40", "--margin", "0:0",
               "--font-size", "24:24", "-n", "2", "--no-progress")
    assert_one_line_error(r, "no valid sample", "does_not_fit", "size options")


class Spans:
    """A stand-in corpus that deals the given texts as spans (paragraphs split on "\\n",
    words on " "), so text reaches layout whatever the corpus' text policy removes."""

    def __init__(self, *texts):
        self.spans = [Span(tuple(tuple(p.split(" ")) for p in t.split("\n")), "fake", 0, 1)
                      for t in texts]

    def sample_span(self, rng, max_words, max_chars=None, split=None):
        return self.spans[int(rng.integers(len(self.spans)))]


@pytest.mark.parametrize("layout", ["line", "page"])
def test_text_without_ink_is_rejected_and_counted(shared, layout):
    """A span, or a word of it, that draws nothing (a zero-width space, which the fonts map
    to an empty glyph) is rejected as ``no_ink``: its label would name what is not drawn
    (it once aborted the run with "min() arg is an empty sequence")."""
    spans = Spans("hello world again", "\u200b", "foo \u200b bar", "hello\n\u200b\nworld")
    r = Renderer(RenderConfig(layout=layout, width=(300, 400), height=(300, 400),
                              font_size=(14, 20)), spans, shared[1])
    rejected = 0
    for i in range(20):
        s = r.sample("train", i)
        assert s.text.split() == ["hello", "world", "again"]
        assert ink_outside_quads(s) == 0
        rejected += s.meta["rejects"].get("no_ink", 0)
    assert rejected > 0
    with pytest.raises(UserError, match="no valid sample in 50 attempts.*no_ink"):
        Renderer(RenderConfig(layout=layout), Spans("\u200b", "\u200b \u2060"),
                 shared[1]).sample("train", 0)


def test_issue_corpus_with_a_zero_width_line_renders(tmp_path):
    corpus = tmp_path / "zw.txt"
    corpus.write_text("hello world again\n\u200b\nfoo bar baz\n", encoding="utf-8")
    r = invoke(main, "render", "--corpus", corpus, "--corpus-format", "lines", "--layout",
               "line", "--length", "1:1", "-n", "30", "--no-progress", "--out", tmp_path / "o")
    assert r.exit_code == 0, r.output

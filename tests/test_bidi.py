"""Mixed-direction lines are drawn in visual order (UAX #9) and labelled in logical order
(issue 12: '2024' inside an Arabic line was drawn '4202')."""

import os
import shutil
from itertools import pairwise

import matplotlib
import numpy as np
import pytest

from synthtext.dataset.sample import check_sample
from synthtext.render.config import RenderConfig
from synthtext.render.glyphs import ShapedFont, base_level, visual_runs
from synthtext.render.renderer import Renderer

ARABIC = "\u0639\u0627\u0645 2024 \u062c\u062f\u064a\u062f"  # "year 2024 new"
HEBREW = "\u05e9\u05dc\u05d5\u05dd world 123"  # "shalom world 123"
LATIN_FIRST = "hello \u05e9\u05dc\u05d5\u05dd 42 world"
DEJAVU = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data/fonts/ttf/DejaVuSans.ttf")


@pytest.fixture(scope="module")
def font_dir(tmp_path_factory):
    """A --fonts directory holding only DejaVu Sans (it has Arabic and Hebrew)."""
    d = tmp_path_factory.mktemp("fonts")
    shutil.copy(DEJAVU, d)
    return d


@pytest.fixture(scope="module")
def dejavu():
    return ShapedFont(DEJAVU).at(40)


def glyph_x(run, text):
    """Left x of the glyph(s) of each character index of ``text``, from the shaped run."""
    xs = {}
    for c, x, bm in zip(run.clusters, run.xs, run.bitmaps):
        if bm.size:
            xs[c] = min(xs.get(c, x), x)
    return xs


def x_order(run, text, chars: str, start: int = 0) -> list[float]:
    """x of the glyphs of the characters ``chars``, found in ``text`` from ``start`` on."""
    i = text.index(chars, start)
    xs = glyph_x(run, text)
    return [xs[k] for k in range(i, i + len(chars))]


def increasing(v):
    return all(a < b for a, b in pairwise(v))


def test_digits_in_arabic_read_left_to_right_and_the_line_right_to_left(dejavu):
    run = dejavu.run(ARABIC)
    digits = x_order(run, ARABIC, "2024")
    assert increasing(digits), f"2024 drawn out of order: x = {digits}"
    first, last = x_order(run, ARABIC, "\u0639")[0], x_order(run, ARABIC, "\u062f", 8)[0]
    assert first > max(digits) > min(digits) > last, "Arabic words not set right to left"
    assert run.advance == pytest.approx(dejavu.getlength(ARABIC))


def test_hebrew_first_line_puts_latin_and_digits_left_of_hebrew(dejavu):
    run = dejavu.run(HEBREW)
    world, digits = x_order(run, HEBREW, "world"), x_order(run, HEBREW, "123")
    hebrew = x_order(run, HEBREW, "\u05e9\u05dc\u05d5\u05dd")
    assert increasing(world) and increasing(digits)
    assert increasing(hebrew[::-1]), "Hebrew letters not right to left"
    assert max(world) < min(digits) < max(digits) < min(hebrew)  # "world 123 <shalom>"


def test_latin_first_line_keeps_its_direction_around_the_hebrew(dejavu):
    run = dejavu.run(LATIN_FIRST)
    hello, world = x_order(run, LATIN_FIRST, "hello"), x_order(run, LATIN_FIRST, "world")
    digits = x_order(run, LATIN_FIRST, "42")
    hebrew = x_order(run, LATIN_FIRST, "\u05e9\u05dc\u05d5\u05dd")
    assert increasing(hello) and increasing(digits) and increasing(hebrew[::-1])
    # UAX #9: "hello 42 <shalom> world": the number joins the right-to-left run
    assert max(hello) < min(digits) < max(digits) < min(hebrew) < max(hebrew) < min(world)


def test_latin_prefix_is_shaped_as_before(dejavu):
    """A left-to-right line is one run: adding a Hebrew word at its end moves nothing."""
    latin = "Hello, world 2024 AV Ta"
    alone, mixed = dejavu.run(latin), dejavu.run(latin + " \u05e9\u05dc\u05d5\u05dd")
    n = len(alone.xs)
    assert visual_runs(latin) == [(0, len(latin), 0)]
    assert alone.xs == mixed.xs[:n] and alone.clusters == mixed.clusters[:n]


def test_embedding_and_isolate_controls_do_not_break_shaping(dejavu):
    for text in ("a \u2067\u05e9\u05dc\u05d5\u05dd 12\u2069 b", "\u202eabc\u202c def",
                 "x \u2068\u05d0\u05d1\u2069 y", "\u05d0 (b) \u200f1.5%"):
        run = dejavu.run(text)
        assert run.box() is not None and len(run.xs) >= 4


def _renderer(tmp_path, font_dir, lines, **options):
    corpus = tmp_path / "mixed.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Renderer(RenderConfig(corpora=((str(corpus), 1.0),), corpus_format="lines",
                                 fonts=str(font_dir), rotation={0: 1.0}, **options))


def test_line_images_label_logical_text_and_box_words_where_they_are_drawn(tmp_path,
                                                                           font_dir):
    r = _renderer(tmp_path, font_dir, [ARABIC] * 3, layout="line", length=(3, 3), skew=0.0)
    for i in range(6):
        s = r.sample("train", i)
        assert s.text in f"{ARABIC} {ARABIC}"  # the label stays in logical (reading) order
        words = s.lines[0].words
        assert [w["text"] for w in words] == s.text.split()
        x0 = [min(p[0] for p in w["quad"]) for w in words]
        assert all(a > b for a, b in pairwise(x0)), "word quads not right to left"
        assert check_sample(s.to_wds("png")) == []
        ink = s.image < s.meta["params"]["paper"] - 60
        for w in words:  # every word quad holds ink of its own
            (l, t), (rr, b) = np.floor(w["quad"][0]).astype(int), np.ceil(w["quad"][2]).astype(int)
            assert ink[t:b, l:rr].any(), w["text"]


@pytest.mark.parametrize("align", ["left", "right", "center", "justify"])
def test_pages_of_mixed_text_keep_ink_in_quads_and_labels_logical(tmp_path, font_dir, align):
    hebrew = ("\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd \u05d6\u05d4 "
              "\u05de\u05d1\u05d7\u05df \u05e9\u05dc \u05e9\u05d5\u05e8\u05d4")
    lines = [ARABIC, HEBREW, LATIN_FIRST, hebrew]
    r = _renderer(tmp_path, font_dir, lines * 3, width=(300, 420), height=(300, 420),
                  font_size=(14, 22), align={align: 1.0}, skew=0.5, length=(8, 30))
    words = {w for ln in lines for w in ln.split()}
    for i in range(6):
        s = r.sample("train", i)
        assert set(s.text.split()) <= words
        for ln in s.lines:  # right-to-left lines are never indented
            assert not (ln.text.startswith(" ") and base_level(ln.text)), ln.text
        assert check_sample(s.to_wds("png")) == []
        assert _ink_outside_line_quads(s) == 0


def test_justified_right_to_left_lines_set_words_right_to_left(tmp_path, font_dir):
    hebrew = " ".join(["\u05e9\u05dc\u05d5\u05dd", "\u05e2\u05d5\u05dc\u05dd", "\u05d6\u05d4",
                       "\u05de\u05d1\u05d7\u05df"] * 6)
    r = _renderer(tmp_path, font_dir, [hebrew], width=(300, 300), height=(300, 300),
                  font_size=(16, 16), align={"justify": 1.0}, skew=0.0, length=(20, 24))
    checked = 0
    for i in range(4):
        for ln in r.sample("train", i).lines:
            x0 = [min(p[0] for p in w["quad"]) for w in ln.words]
            assert all(a > b for a, b in pairwise(x0)), ln.text
            checked += len(x0) > 1
    assert checked


def _ink_outside_line_quads(sample) -> int:
    """Ink pixels (darker than paper by 60) outside every line's axis-aligned quad box."""
    ink = sample.image < sample.meta["params"]["paper"] - 60
    inside = np.zeros_like(ink)
    for ln in sample.lines:
        if ln.quad is not None:
            q = np.asarray(ln.quad)
            (l, t), (rr, b) = np.floor(q.min(0)).astype(int), np.ceil(q.max(0)).astype(int)
            inside[max(t, 0):b, max(l, 0):rr] = True
    return int((ink & ~inside).sum())

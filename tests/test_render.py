"""Rendering keeps labels sacred: the label is exactly the ink, in reading order."""

import cv2
import numpy as np
import pytest
import torch

from synthtext.dataset.errors import UserError
from synthtext.dataset.sample import check_sample
from synthtext.render.config import RenderConfig
from synthtext.render.generate import render_sample
from synthtext.render.renderer import Renderer
from synthtext.render.stream import RenderStream

SMALL = dict(width=(360, 560), height=(360, 640), font_size=(14, 26))


def ink_report(sample, tol=2):
    """(lines without ink in their box, ink pixels outside every box)."""
    img = sample.image
    paper = sample.meta["params"]["paper"]
    ink = img < paper - 60
    boxes = np.zeros(img.shape, np.uint8)
    empty = 0
    for line in sample.lines:
        if line.quad is None:
            continue
        q = np.round(np.asarray(line.quad)).astype(np.int32)
        one = np.zeros(img.shape, np.uint8)
        cv2.fillPoly(one, [q], 1)
        empty += int(not (ink & (one > 0)).any())
        boxes |= one
    boxes = cv2.dilate(boxes, np.ones((2 * tol + 1, 2 * tol + 1), np.uint8))
    return empty, int((ink & (boxes == 0)).sum())


@pytest.mark.parametrize("layout,extra", [
    ("page", dict(SMALL, skew=0.0)),
    ("page", dict(SMALL, skew=1.0, max_skew=3.0)),
    ("page", dict(SMALL, rotation={90: 1, 180: 1, 270: 1})),
    ("line", dict(length=(2, 12), font_size=(24, 56), rotation={0: 1.0}, skew=0.5)),
])
def test_label_matches_ink(layout, extra):
    r = Renderer(RenderConfig(layout=layout, **extra))
    for i in range(25):
        s = r.sample("train", i)
        empty, outside = ink_report(s)
        assert empty == 0, f"sample {i}: a labelled line has no ink in its box"
        assert outside == 0, f"sample {i}: {outside} ink pixels outside every box"
        assert s.text.strip(), "empty label"
        assert check_sample(s.to_wds("png")) == []


def test_only_renderable_characters_are_drawn_and_fonts_vary():
    r = Renderer(RenderConfig(**SMALL))
    used = set()
    for i in range(40):
        s = r.sample("train", i)
        idx = [f.id for f in r.fonts.specs].index(s.meta["font"]["id"])
        chars = set(s.text) - {" ", "\n"}
        assert chars <= r.fonts.charset(idx)
        used.add(s.meta["font"]["cursive"])
    assert used == {True, False}


def test_same_index_same_sample_and_split_changes_it():
    cfg = RenderConfig(**SMALL)
    a, b = render_sample(cfg, 7), Renderer(cfg).sample("train", 7)
    assert a.text == b.text and np.array_equal(a.image, b.image)
    # the split is part of the sample's seed: index 7 of another split is another sample,
    # while the split's own index 7 stays the same however often it is drawn
    for split in ("validation", "test"):
        other = render_sample(cfg, 7, split=split)
        assert other.meta["split"] == split
        assert other.text != a.text and other.meta["params"] != a.meta["params"]
        assert render_sample(cfg, 7, split=split).text == other.text


def test_wikitext_markup_never_reaches_a_label(wikitext_file):
    r = Renderer(RenderConfig(corpora=((str(wikitext_file), 1.0),), **SMALL))
    for i in range(40):
        text = r.sample("train", i).text
        for bad in ("@-@", "@,@", "@.@", "<unk>", " ,", " .", " 's", "( ", " )", "= ="):
            assert bad not in text, f"{bad!r} in label {text!r}"


def test_indentation_is_leading_spaces_of_one_space_width():
    cfg = RenderConfig(align={"left": 1}, first_line_indent=1.0, paragraph_break=1.0,
                       blank_line=0.0, skew=0.0, rotation={0: 1}, indent_spaces=(4, 4),
                       length=(60, 120), **SMALL)
    r = Renderer(cfg)
    checked = 0
    for i in range(30):
        s = r.sample("train", i)
        lines = [ln for ln in s.lines if ln.quad]
        plain = [ln.quad[0][0] for ln in lines if not ln.text.startswith(" ")]
        if not plain:
            continue
        size = s.meta["font"]["size_px"]
        for ln in lines:
            n = len(ln.text) - len(ln.text.lstrip(" "))
            if n:
                idx = [f.id for f in r.fonts.specs].index(s.meta["font"]["id"])
                space = r.fonts.font(idx, size).getlength(" ")
                assert abs((ln.quad[0][0] - min(plain)) - n * space) < 0.35 * size
                checked += 1
    assert checked > 0


def test_missing_glyph_policies(tmp_path):
    corpus = tmp_path / "odd.txt"
    corpus.write_text(("Water boils at 100 ℃ under 漢 pressure.\n" * 3 + "plain words here\n") * 30,
                      encoding="utf-8")
    base = dict(corpora=((str(corpus), 1.0),), corpus_format="lines", length=(1, 5), **SMALL)
    r = Renderer(RenderConfig(missing_glyphs="resample", **base))
    texts = [r.sample("train", i) for i in range(10)]
    assert all("漢" not in s.text for s in texts)
    assert sum(s.meta["rejects"].get("missing_glyph", 0) for s in texts) > 0
    r = Renderer(RenderConfig(missing_glyphs="strip", **base))
    s = [r.sample("train", i) for i in range(10)]
    assert all("漢" not in x.text for x in s)
    assert any(x.meta["rejects"].get("stripped_chars", 0) for x in s)
    r = Renderer(RenderConfig(missing_glyphs="error", **base))
    with pytest.raises(UserError, match="U\\+"):
        for i in range(20):
            r.sample("train", i)


def test_nothing_is_clipped_on_tiny_canvases():
    r = Renderer(RenderConfig(width=(200, 240), height=(120, 160), font_size=(20, 40),
                              margin=(0.0, 0.05)))
    for i in range(20):
        s = r.sample("train", i)
        h, w = s.image.shape
        for ln in s.lines:
            if ln.quad:
                q = np.asarray(ln.quad)
                assert q.min() >= -0.5 and q[:, 0].max() <= w + 0.5 and q[:, 1].max() <= h + 0.5
        assert ink_report(s)[1] == 0


def test_render_stream_in_a_dataloader_deals_distinct_indices():
    cfg = RenderConfig(layout="line", length=(2, 5), rotation={0: 1.0})
    stream = RenderStream(cfg, n=12, transform=lambda s: (s.meta["index"], s.text))
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=2)
    got = sorted(loader)
    assert [i for i, _ in got] == list(range(12))
    assert all(text == render_sample(cfg, i).text for i, text in got)


def test_render_time_augmentation_is_recorded_and_deterministic(tmp_path):
    cfg = RenderConfig(augment="medium", **SMALL)
    a, b = render_sample(cfg, 3), Renderer(cfg).sample("train", 3)
    assert np.array_equal(a.image, b.image) and a.text == b.text
    assert a.meta["augment"]["ops"], "no augmentation recorded"
    for i in range(10):
        assert check_sample(render_sample(cfg, i).to_wds("jpg")) == []
    with pytest.raises(UserError, match="--augment"):
        Renderer(RenderConfig(augment="extreme"))


def test_marks_after_spaces_keep_their_ink_boxed(tmp_path):
    """HarfBuzz shapes a combining mark that follows a space into the space's cluster; its
    ink must still be inside a line box (it once fell outside every box and crashed)."""
    corpus = tmp_path / "marks.txt"
    corpus.write_text("pinyin: M\u00edndu\u0304lu\u030c; Pe \u030d and \u0937\u0947\u0932 \u094d\n" * 40,
                      encoding="utf-8")
    for layout in ("line", "page"):
        r = Renderer(RenderConfig(corpora=((str(corpus), 1.0),), corpus_format="lines",
                                  layout=layout, length=(3, 8), rotation={0: 1.0}, **SMALL))
        for i in range(15):
            s = r.sample("train", i)
            assert ink_report(s) == (0, 0), s.text

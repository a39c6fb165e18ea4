"""Render one sample: span -> font given the text -> lines that fit -> drawn, placed page.

``Renderer.sample(split, index)`` depends only on (config, split, index): its random
generator is seeded from ``(seed, split, index, attempt)``, and a rejected attempt (no font
renders the span: ``missing_glyph``/``no_single_font``; a line or word draws no ink:
``no_ink``; its final, skewed and padded, ink block fits no canvas: ``does_not_fit``) moves
to the next attempt with a fresh seed, counted in the sample's ``rejects``.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from synthtext import __version__
from synthtext.augmenting.samples import augment_records, load_augment
from synthtext.corpora.corpus import Corpus, CorpusMix
from synthtext.dataset.errors import UserError
from synthtext.dataset.sample import Line, Sample
from synthtext.dataset.seeds import sample_rng
from synthtext.fonts.fontset import FontSet, resolve_fonts
from synthtext.render.config import RenderConfig
from synthtext.render.draw import (
    Measure,
    block_box,
    draw_skewed,
    drawn_size,
    paper_with_ink,
    place_lines,
    rot90_page,
    transform_lines,
)
from synthtext.render.glyphs import ShapedFont, SizedFont
from synthtext.render.layout import (
    LayoutLine,
    lines_that_fit,
    relative_indents,
    sample_line,
    sample_page,
    sample_paragraphs,
    trim_to_length,
    wrap,
)

MAX_ATTEMPTS = 50
LINE_MAX_WIDTH = 4096  # px: a single-line image never grows wider


class Reject(Exception):
    """This attempt cannot make a valid sample; ``cause`` is counted in the statistics."""

    def __init__(self, cause: str):
        super().__init__(cause)
        self.cause = cause


def open_corpora(cfg: RenderConfig) -> CorpusMix:
    """The config's corpora as one weighted mix, cut into ``cfg.split`` when it has splits;
    their spans are under the label text policy with ``cfg.normalize``.

    Raises:
        CorpusError: a corpus cannot be opened or is too small for a split.
    """
    mix = CorpusMix([(Corpus(path, format=cfg.corpus_format, encoding=cfg.encoding,
                             normalize=cfg.normalize), w) for path, w in cfg.corpus_list()])
    if cfg.split:
        mix.split_regions(dict(cfg.split))
    return mix


class Renderer:
    """Loaded corpora and fonts for one config; make samples by index.

    ``corpus`` and ``fonts`` default to opening what ``cfg`` names (pass them to share one
    copy). Raises ConfigError for an invalid config, CorpusError/FontError for unusable
    corpora or fonts.
    """

    def __init__(self, cfg: RenderConfig, corpus: CorpusMix | None = None,
                 fonts: FontSet | None = None):
        self.cfg = cfg.validate()
        self.corpus = corpus if corpus is not None else open_corpora(cfg)
        self.fonts = fonts if fonts is not None else FontSet(resolve_fonts(cfg.fonts))
        self._shaped: dict[int, ShapedFont] = {}
        self.augment = None
        if cfg.augment != "none":
            self.augment = load_augment(cfg.augment)

    def _font(self, font_idx: int, size: int) -> SizedFont:
        """The shaping/rasterising font for a FontSet index at a pixel size (cached)."""
        shaped = self._shaped.get(font_idx)
        if shaped is None:
            spec = self.fonts.specs[font_idx]
            shaped = self._shaped[font_idx] = ShapedFont(spec.path, spec.index)
        return shaped.at(size)

    def sample(self, split: str, index: int) -> Sample:
        """Sample ``index`` of ``split``: the same pixels and label in every process.

        The image is uint8 ``(H, W)`` grey as drawn (then through ``cfg.augment`` when
        set); quads are 4 ``[x, y]`` points in px (TL, TR, BR, BL). ``meta``
        records the font, corpus bytes, drawn parameters, ``attempt`` and per-cause
        ``rejects`` (and stripped characters under ``--missing-glyphs strip``).

        Raises:
            UserError: no valid sample in MAX_ATTEMPTS attempts, or, under
                ``--missing-glyphs error``, a character no font renders.
        """
        rejects: Counter = Counter()
        for attempt in range(MAX_ATTEMPTS):
            rng = sample_rng(self.cfg.seed, split, index, attempt)
            try:
                sample = self._attempt(rng, split, index)
            except Reject as r:
                rejects[r.cause] += 1
                continue
            rejects.update(sample.meta.pop("_stripped", {}))
            sample.meta["rejects"] = dict(sorted(rejects.items()))
            sample.meta["attempt"] = attempt
            return sample
        raise UserError(f"sample {index} of split {split}: no valid sample in {MAX_ATTEMPTS} "
                        f"attempts (rejects: {dict(rejects)}); check --corpus and --fonts (for "
                        "characters no font has, --missing-glyphs strip) and the size options")

    # -- one attempt ---------------------------------------------------------------------
    def _attempt(self, rng, split: str, index: int) -> Sample:
        cfg = self.cfg
        page = cfg.layout == "page"
        params = sample_page(rng, cfg) if page else sample_line(rng, cfg)
        span = self.corpus.sample_span(rng, *self._span_size(params),
                                       split=split if cfg.split else None)
        font_idx, paragraphs, stripped = self._choose_font(rng, span)
        spec = self.fonts.specs[font_idx]
        if page:
            image, lines = self._draw_page(rng, params, paragraphs, font_idx)
        else:
            image, lines = self._draw_line(params, paragraphs, font_idx)
        meta = {
            "source": "render",
            "generator": {"name": "synthgen", "version": __version__},
            "seed": cfg.seed, "split": split, "index": index,
            "font": {**spec.to_json(), "size_px": params["font_size"]},
            "corpus": {"name": span.corpus, "byte_start": span.byte_start,
                       "byte_end": span.byte_end},
            "params": params,
            "_stripped": {"stripped_chars": stripped} if stripped else {},
        }
        if self.augment is not None:
            image, lines, meta["augment"] = augment_records(self.augment, image, lines, rng)
        return Sample(key=f"{split}-{index:09d}", image=image,
                      lines=[Line(ln["text"], ln["quad"], ln["words"]) for ln in lines],
                      meta=meta)

    def _span_size(self, params: dict) -> tuple[int, int | None]:
        unit, n = params["length_unit"], params["length"]
        if unit == "words":
            return n, None
        if unit == "chars":
            return max(1, n), n
        width = params["canvas"][0] if params["layout"] == "page" else LINE_MAX_WIDTH / 4
        per_line = max(1.0, width / (params["font_size"] * 3.0))  # ~6 chars of 0.5 em
        return int(math.ceil(n * per_line * 1.5)) + 4, None

    def _choose_font(self, rng, span):
        """Pick a font among those that render the whole span; apply --missing-glyphs."""
        chars = {c for c in span.chars() if not c.isspace()}
        idx = self.fonts.choose(rng, chars, self.cfg.cursive_ratio)
        if idx is not None:
            return idx, span.paragraphs, 0
        missing = self.fonts.uncovered(chars)
        policy = self.cfg.missing_glyphs
        if policy == "error" and missing:
            c = sorted(missing)[0]
            raise UserError(f"corpus {span.corpus}: character {c!r} (U+{ord(c):04X}) near byte "
                            f"{span.byte_start} has no glyph in any font; pass "
                            "--missing-glyphs resample|strip or add fonts with --fonts")
        if policy != "strip":
            raise Reject("missing_glyph" if missing else "no_single_font")
        counts = [(len(chars & self.fonts.charset(i)), i) for i in range(len(self.fonts.specs))]
        best = max(n for n, _ in counts)
        choices = [i for n, i in counts if n == best]
        idx = choices[int(rng.integers(len(choices)))]
        keep = self.fonts.charset(idx)
        paragraphs, stripped = [], 0
        for para in span.paragraphs:
            words = ["".join(c for c in w if c in keep) for w in para]
            stripped += sum(len(w) for w in para) - sum(len(w) for w in words)
            if any(words):
                paragraphs.append(tuple(w for w in words if w))
        if not paragraphs:
            raise Reject("missing_glyph")
        return idx, tuple(paragraphs), stripped

    def _draw_page(self, rng, params, paragraphs, font_idx):
        m = Measure(self._font(font_idx, params["font_size"]))
        w, h = params["canvas"]
        left, top, right, bottom = params["margins"]
        avail_w, avail_h = w - left - right, h - top - bottom
        max_width = max(1.0, params["block_width"] * avail_w)
        params["paragraphs"] = sample_paragraphs(rng, self.cfg, len(paragraphs), params["align"])
        lines = wrap(paragraphs, params["paragraphs"], m, m.space, max_width)
        lines = trim_to_length(lines, params["length_unit"], params["length"])
        pitch = (m.ascent + m.descent) * params["line_spacing"]
        n_fit = 1 + int((avail_h - (m.ascent + m.descent)) // pitch)
        placed = place_lines(m, lines_that_fit(n_fit, lines), params["align"], max_width, pitch)
        _check_ink(placed)
        area = (w, avail_h)  # overhangs may use the side margins, never the top or bottom
        try:
            placed = _fit_block(placed, area, params["skew"])
        except Reject:
            if not params["skew"]:
                raise
            params["skew"] = 0.0  # a skewed block that cannot fit is set straight instead
            placed = _fit_block(placed, area, 0.0)
        kept = [p.line for p in placed]
        if min(ln.indent for ln in kept if not ln.blank) > 0:  # the unindented line was cut
            placed = place_lines(m, relative_indents(kept), params["align"], max_width, pitch)
        mask, records = draw_skewed(placed, params["skew"])
        mh, mw = mask.shape
        if mw > area[0] or mh > area[1]:  # the fit check on the final (rotated, padded) mask
            raise Reject("does_not_fit")
        x = min(max(0, left + int(params["placement"][0] * (avail_w - mw))), w - mw)
        y = top + int(params["placement"][1] * (avail_h - mh))
        image = np.full((h, w), params["paper"], dtype=np.uint8)
        image[y:y + mh, x:x + mw] = paper_with_ink(mask, params["paper"], params["ink"])
        records = transform_lines(records, lambda p: p + (x, y))
        params["lines"] = len(records)
        return rot90_page(image, records, params["rotation"])

    def _draw_line(self, params, paragraphs, font_idx):
        words = [w for para in paragraphs for w in para]
        size = params["font_size"]
        while True:
            m = Measure(self._font(font_idx, size))
            line = LayoutLine(list(words))
            while len(line.words) > 1 and m(line.body) > LINE_MAX_WIDTH:
                line.words.pop()
            placed = place_lines(m, [line], "left", LINE_MAX_WIDTH, 0)
            _check_ink(placed)
            _, y0, _, y1 = block_box(placed)
            if y1 - y0 + 2 <= params["height"] or size <= 4:
                break
            size -= 1  # shrink until the ink (swashes included) fits the line height
        params["font_size"] = size
        mask, records = draw_skewed(placed, params["skew"])
        mh, mw = mask.shape
        h = max(params["height"], mh)
        pad_l, pad_r = params["pad"]
        image = np.full((h, mw + pad_l + pad_r), params["paper"], dtype=np.uint8)
        y = int(params["vertical"] * (h - mh))
        image[y:y + mh, pad_l:pad_l + mw] = paper_with_ink(mask, params["paper"], params["ink"])
        records = transform_lines(records, lambda p: p + (pad_l, y))
        return rot90_page(image, records, params["rotation"])


def _check_ink(placed) -> None:
    """Reject lines whose label would name text the image does not show: a line, or a word
    of it, that draws no ink (only blank or zero-width characters)."""
    if any(p.inkless for p in placed):
        raise Reject("no_ink")


def _fit_block(placed, area: tuple[int, int], skew: float):
    """Drop trailing lines until the final ink mask (padded, rotated by ``skew`` degrees)
    fits ``area`` (width, height in px); Reject("does_not_fit") when no line does."""
    placed = list(placed)
    while placed:
        while placed and placed[-1].bbox is None:
            placed.pop()
        if not placed:
            break
        mw, mh = drawn_size(placed, skew)
        if mw <= area[0] and mh <= area[1]:
            return placed
        placed.pop()
    raise Reject("does_not_fit")

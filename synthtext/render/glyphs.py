"""Shaped text with cached glyph bitmaps: HarfBuzz for layout, FreeType for rasterising.

This is the machinery under Pillow's raqm path (raqm shapes with HarfBuzz, Pillow rasterises
with FreeType), minus its cost: Pillow rasterises every glyph of every line again, which
measured 1–3 ms per 60-character line for our handwriting fonts, while a line composed from
cached glyph bitmaps (keyed by glyph id and quarter-pixel phase) takes ~0.2 ms. Shaping
still runs on the whole line, so kerning, ligatures and contextual forms are kept; advance
widths equal Pillow's ``getlength`` with raqm. Glyphs are rasterised unhinted
(``FT_LOAD_NO_HINTING``) in FreeType's 8-bit antialiased mode, once per glyph and
quarter-pixel horizontal phase.

A line holding right-to-left text (Hebrew, Arabic, ...) is laid out in visual order by the
Unicode Bidirectional Algorithm (UAX #9, https://unicode.org/reports/tr9/; levels from
python-bidi's ``bidi.algorithm``), then shaped run by run, each directional run with its
own direction, as raqm does with FriBidi: digits and Latin words inside Arabic read left to
right. A line without right-to-left characters is one left-to-right run, as before.
"""

from __future__ import annotations

import ctypes
from bisect import bisect_right
from dataclasses import dataclass
from unicodedata import bidirectional

import freetype
import numpy as np
import uharfbuzz as hb
from bidi.algorithm import (
    explicit_embed_and_overrides,
    get_base_level,
    get_embedding_levels,
    get_empty_storage,
    resolve_implicit_levels,
    resolve_neutral_types,
    resolve_weak_types,
)

PHASES = 4  # sub-pixel positions per pixel, horizontally
_EMPTY = np.zeros((0, 0), np.uint8)
_LOAD = freetype.FT_LOAD_DEFAULT | freetype.FT_LOAD_NO_HINTING
_IDENTITY = freetype.Matrix(0x10000, 0, 0, 0x10000)

# Bidi classes that can make part of a line right-to-left.
_RTL_CLASSES = frozenset({"R", "AL", "AN", "RLE", "RLO", "RLI", "FSI"})
# python-bidi's Python algorithm predates isolates (UAX #9 6.3) and fails on them: they
# are taken as the embeddings they resemble (FSI by the first strong character after it).
_ISOLATES = {"LRI": "LRE", "RLI": "RLE", "PDI": "PDF"}
# Reset to the paragraph level at the end of a line (UAX #9 rule L1).
_TRAILING = frozenset({"WS", "BN", "LRI", "RLI", "FSI", "PDI"})


def has_rtl(text: str) -> bool:
    """Whether ``text`` holds a right-to-left character, number or override (fast for
    ASCII, which never does)."""
    return not text.isascii() and any(bidirectional(c) in _RTL_CLASSES for c in text)


def base_level(text: str) -> int:
    """The base direction of a line: 1 (right to left) when its first strong character is
    right-to-left, else 0 (UAX #9 rules P2, P3)."""
    return 0 if text.isascii() else get_base_level(text)


def bidi_levels(text: str, base: int | None = None) -> list[int]:
    """Resolved embedding level of every character of one line (UAX #9 rules P2-I2, L1),
    by python-bidi's ``bidi.algorithm``; even = left to right, odd = right to left.

    ``base`` overrides the paragraph level found by P2/P3. Characters that rule X9 removes
    (formatting codes, ZWJ/ZWNJ) take the level of the character before them, so they stay
    in their neighbours' run (UAX #9 section 5.2). That algorithm is UAX #9 before 6.3:
    isolates are read as embeddings, and brackets are not paired (rule N0).
    """
    st = get_empty_storage()
    base = st["base_level"] = base_level(text) if base is None else base
    st["base_dir"] = "LR"[base % 2]
    get_embedding_levels(text, st)
    for i, ch in enumerate(st["chars"]):
        ch["i"] = i
        if ch["type"] == "FSI":
            ch["type"] = "RLE" if get_base_level(text[i + 1:]) else "LRE"
        ch["type"] = _ISOLATES.get(ch["type"], ch["type"])
    explicit_embed_and_overrides(st)
    resolve_weak_types(st)
    resolve_neutral_types(st, False)
    resolve_implicit_levels(st, False)
    levels: list = [None] * len(text)
    for ch in st["chars"]:
        levels[ch["i"]] = ch["level"]
    prev = base
    for i, lv in enumerate(levels):
        levels[i] = prev = prev if lv is None else lv
    trailing = True  # L1: separators, and whitespace before one or at the line end
    for i in range(len(text) - 1, -1, -1):
        cls = bidirectional(text[i])
        trailing = cls in ("S", "B") or (trailing and cls in _TRAILING)
        if trailing:
            levels[i] = base
    return levels


def visual_runs(text: str, base: int | None = None) -> list[tuple[int, int, int]]:
    """The line's directional runs ``(start, stop, level)`` (character indices, stop
    exclusive) in visual order, left to right: maximal runs of one level, reordered by
    UAX #9 rule L2 (from the highest level down to the lowest odd one, reverse every
    sequence of runs at that level or above)."""
    levels = bidi_levels(text, base)
    runs, start = [], 0
    for i in range(1, len(text) + 1):
        if i == len(text) or levels[i] != levels[start]:
            runs.append((start, i, levels[start]))
            start = i
    highest = max(levels, default=0)
    lowest_odd = min((lv for lv in levels if lv % 2), default=highest + 1)
    for level in range(highest, lowest_odd - 1, -1):
        i = 0
        while i < len(runs):
            j = i
            while j < len(runs) and runs[j][2] >= level:
                j += 1
            runs[i:j] = runs[i:j][::-1]
            i = j + 1
    return runs


def visual_positions(text: str, base: int | None = None) -> list[int]:
    """Where each character of the line lands in visual order (0 = leftmost)."""
    pos = [0] * len(text)
    k = 0
    for a, b, level in visual_runs(text, base):
        for i in (range(b - 1, a - 1, -1) if level % 2 else range(a, b)):
            pos[i] = k
            k += 1
    return pos


@dataclass
class Run:
    """A shaped string: glyph bitmaps at integer offsets from the pen origin (x=0, baseline).

    Glyphs are in visual order, left to right. ``bitmaps[k]`` is glyph k's ``(h, w)`` uint8
    coverage (``(0, 0)`` for a glyph without ink, e.g. a space); ``clusters[k]`` is the
    index of the first character that glyph k belongs to (HarfBuzz's cluster), so the ink
    of any character range (a word) can be boxed wherever bidi put it; ``advance`` is the
    pen advance in px (fractional).
    """

    bitmaps: list[np.ndarray]
    xs: list[int]  # bitmap left, relative to the origin
    ys: list[int]  # bitmap top, relative to the baseline (negative = above)
    clusters: list[int]
    advance: float

    def box(self):
        """Ink box (x0, y0, x1, y1) in px from the origin (x1, y1 exclusive), or None when
        nothing has ink."""
        return self.boxes([(0, 1 << 30)])[0]

    def boxes(self, spans: list[tuple[int, int]]) -> list:
        """Ink box of the glyphs of each character range ``[start, stop)`` (one pass).

        Every inked glyph is charged to some range: one whose cluster falls between ranges
        goes to the range before it."""
        out: list = [None] * len(spans)
        starts = [a for a, _ in spans]
        for bm, x, y, c in zip(self.bitmaps, self.xs, self.ys, self.clusters):
            if not bm.size:
                continue
            # A mark after a space is shaped into the space's cluster: its ink goes to the
            # word before it (or the first word), so no ink is ever left out of every box.
            k = max(0, bisect_right(starts, c) - 1)
            x1, y1 = x + bm.shape[1], y + bm.shape[0]
            b = out[k]
            out[k] = (x, y, x1, y1) if b is None else (
                min(b[0], x), min(b[1], y), max(b[2], x1), max(b[3], y1))
        return out

    def blank(self, spans: list[tuple[int, int]]) -> list[bool]:
        """For each character range ``[start, stop)``: True when HarfBuzz gave it glyphs of
        its own and none has ink (a word that draws nothing, e.g. only a zero-width or
        blank character). A range merged into another cluster (a mark after a space) is
        not blank: its ink is boxed with that cluster's range (see :meth:`boxes`)."""
        starts = [a for a, _ in spans]
        shaped, inked = [False] * len(spans), [False] * len(spans)
        for bm, c in zip(self.bitmaps, self.clusters):
            k = bisect_right(starts, c) - 1
            if k >= 0 and c < spans[k][1]:
                shaped[k] = True
                inked[k] = inked[k] or bool(bm.size)
        return [s and not i for s, i in zip(shaped, inked)]

    def draw(self, mask: np.ndarray, x: int, baseline: int) -> None:
        """Blend into ``mask`` (``(H, W)`` uint8 coverage) with the origin at (x, baseline),
        by per-pixel maximum, so overlapping glyphs never add up past full ink. The run
        must fit inside the mask (draw_mask sizes it from the ink boxes)."""
        for bm, gx, gy in zip(self.bitmaps, self.xs, self.ys):
            if bm.size:
                top, left = baseline + gy, x + gx
                region = mask[top:top + bm.shape[0], left:left + bm.shape[1]]
                np.maximum(region, bm, out=region)


class ShapedFont:
    """One font file (face ``index`` of a collection) at any number of pixel sizes, with
    per-size glyph caches; opened once by FreeType (freetype-py) and HarfBuzz (uharfbuzz)."""

    def __init__(self, path: str, index: int = 0):
        self.path, self.index = path, index
        self._ft = freetype.Face(path, index)
        self._hb_face = hb.Face(hb.Blob.from_file_path(path), index)
        self._sizes: dict[int, SizedFont] = {}

    def at(self, size: int) -> "SizedFont":
        """The font at ``size`` px (em size), cached; over 64 sizes the cache starts over."""
        sf = self._sizes.get(size)
        if sf is None:
            if len(self._sizes) >= 64:
                self._sizes.clear()
            sf = self._sizes[size] = SizedFont(self, size)
        return sf


class SizedFont:
    """Shaping, metrics and cached glyphs for one pixel size (``size`` = em in px, as Pillow).

    ``ascent`` and ``descent`` are FreeType's size metrics rounded up to whole px (both
    positive); HarfBuzz positions come in 1/64 px (26.6 fixed point) and are divided here.
    """

    def __init__(self, owner: ShapedFont, size: int):
        self.owner, self.size = owner, size
        self._hb = hb.Font(owner._hb_face)
        self._hb.scale = (size * 64, size * 64)
        ft = self._select()
        self.ascent = int(np.ceil(ft.size.ascender / 64))
        self.descent = int(np.ceil(-ft.size.descender / 64))
        self._glyphs: dict[tuple[int, int], tuple[np.ndarray, int, int]] = {}
        self._widths: dict[str, float] = {}

    def _select(self):
        ft = self.owner._ft
        ft.set_pixel_sizes(0, self.size)
        return ft

    def _shape(self, text: str, start: int = 0, length: int = -1, direction=None):
        """Shape ``text[start:start + length]`` with the rest of ``text`` as context;
        clusters index ``text``. Direction (``"ltr"``/``"rtl"``) and script are guessed
        from the text when not given."""
        buf = hb.Buffer()
        buf.add_str(text, start, length)
        if direction:
            buf.direction = direction
        buf.guess_segment_properties()
        hb.shape(self._hb, buf, {})
        return buf.glyph_infos, buf.glyph_positions

    def _shaped_runs(self, text: str, base: int | None = None) -> list:
        """``(glyph_infos, glyph_positions)`` of each directional run, in visual order: the
        whole text as one run unless it holds right-to-left text or ``base`` is 1."""
        if not base and not has_rtl(text):
            return [self._shape(text)]
        return [self._shape(text, a, b - a, "rtl" if level % 2 else "ltr")
                for a, b, level in visual_runs(text, base)]

    def getlength(self, text: str) -> float:
        """Advance width in px (cached: words repeat within a page)."""
        w = self._widths.get(text)
        if w is None:
            w = self._widths[text] = sum(p.x_advance for _, positions in self._shaped_runs(text)
                                         for p in positions) / 64
        return w

    def run(self, text: str, base: int | None = None) -> Run:
        """Shape ``text`` as one line and place cached glyph bitmaps at its positions: pen
        x rounded down to whole px, the remainder picked among PHASES sub-pixel rasters.

        The directional runs (see :func:`visual_runs`; ``base`` overrides the line's base
        level, 0 or 1) are shaped one by one, each with its direction and script set, and
        set left to right in visual order; clusters stay indices into ``text``."""
        bitmaps, xs, ys, clusters = [], [], [], []
        pen = 0
        for infos, positions in self._shaped_runs(text, base):
            for info, pos in zip(infos, positions):
                px, phase = divmod(pen + pos.x_offset, 64)
                bm, left, top = self._glyph(info.codepoint, phase * PHASES // 64)
                bitmaps.append(bm)
                xs.append(px + left)
                ys.append(-top - (pos.y_offset // 64))
                clusters.append(info.cluster)
                pen += pos.x_advance
        return Run(bitmaps, xs, ys, clusters, pen / 64)

    def _glyph(self, gid: int, phase: int):
        key = (gid, phase)
        g = self._glyphs.get(key)
        if g is None:
            ft = self._select()
            ft.set_transform(_IDENTITY, freetype.Vector(phase * 64 // PHASES, 0))
            ft.load_glyph(gid, _LOAD)
            slot = ft.glyph
            slot.render(freetype.FT_RENDER_MODE_NORMAL)
            bm = slot.bitmap
            rows, width, pitch = bm.rows, bm.width, bm.pitch
            arr = _EMPTY
            if rows and width:
                raw = ctypes.string_at(bm._FT_Bitmap.buffer, rows * pitch)
                arr = np.frombuffer(raw, np.uint8).reshape(rows, pitch)[:, :width].copy()
                arr = arr if arr.any() else _EMPTY  # an outline too thin to cover a pixel
            g = self._glyphs[key] = (arr, slot.bitmap_left, slot.bitmap_top)
        return g

"""Shaped text with cached glyph bitmaps: HarfBuzz for layout, FreeType for rasterising.

This is the machinery under Pillow's raqm path (raqm shapes with HarfBuzz, Pillow rasterises
with FreeType), minus its cost: Pillow rasterises every glyph of every line again, which
measured 1–3 ms per 60-character line for our handwriting fonts, while a line composed from
cached glyph bitmaps (keyed by glyph id and quarter-pixel phase) takes ~0.2 ms. Shaping
still runs on the whole line, so kerning, ligatures and contextual forms are kept; advance
widths equal Pillow's ``getlength`` with raqm. Glyphs are rasterised unhinted
(``FT_LOAD_NO_HINTING``) in FreeType's 8-bit antialiased mode, once per glyph and
quarter-pixel horizontal phase.
"""

from __future__ import annotations

import ctypes
from bisect import bisect_right
from dataclasses import dataclass

import freetype
import numpy as np
import uharfbuzz as hb

PHASES = 4  # sub-pixel positions per pixel, horizontally
_EMPTY = np.zeros((0, 0), np.uint8)
_LOAD = freetype.FT_LOAD_DEFAULT | freetype.FT_LOAD_NO_HINTING
_IDENTITY = freetype.Matrix(0x10000, 0, 0, 0x10000)


@dataclass
class Run:
    """A shaped string: glyph bitmaps at integer offsets from the pen origin (x=0, baseline).

    ``bitmaps[k]`` is glyph k's ``(h, w)`` uint8 coverage (``(0, 0)`` for a glyph without
    ink, e.g. a space); ``clusters[k]`` is the index of the first character that glyph k
    belongs to (HarfBuzz's cluster), so the ink of any character range (a word) can be
    boxed; ``advance`` is the pen advance in px (fractional).
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

    def _shape(self, text: str):
        buf = hb.Buffer()
        buf.add_str(text)
        buf.guess_segment_properties()
        hb.shape(self._hb, buf, {})
        return buf.glyph_infos, buf.glyph_positions

    def getlength(self, text: str) -> float:
        """Advance width in px (cached: words repeat within a page)."""
        w = self._widths.get(text)
        if w is None:
            _, positions = self._shape(text)
            w = self._widths[text] = sum(p.x_advance for p in positions) / 64
        return w

    def run(self, text: str) -> Run:
        """Shape ``text`` as one HarfBuzz run (direction and script guessed from the text)
        and place cached glyph bitmaps at its positions: pen x rounded down to whole px,
        the remainder picked among PHASES sub-pixel rasters."""
        infos, positions = self._shape(text)
        bitmaps, xs, ys, clusters = [], [], [], []
        pen = 0
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
            if rows and width:
                raw = ctypes.string_at(bm._FT_Bitmap.buffer, rows * pitch)
                arr = np.frombuffer(raw, np.uint8).reshape(rows, pitch)[:, :width].copy()
            else:
                arr = _EMPTY
            g = self._glyphs[key] = (arr, slot.bitmap_left, slot.bitmap_top)
        return g

"""Merge the unicode-range subsets of one font (npm @fontsource latin + latin-ext …) into one
.ttf, and prove the merge drew nothing differently.

Why merge: the renderer (glyphs.py: HarfBuzz + FreeType) and FontSet (one charset per file)
take one file per font, and a family split over two entries would be sampled as two fonts
and could not draw a span mixing "e" and "ě". The subsets are cut from the same font, so
fontTools' Merger joins them (glyphs, cmap, metrics, layout tables). Two repairs make the
result draw exactly like the subsets: glyph bboxes are kept as stored (FreeType places an
outline by its bbox and lsb, and some fonts store a bbox that a recompute would move), and
the hint programs Merger drops from all but the first font are put back when the subsets
share fpgm/prep/cvt. check_merged then renders every mapped character from the merged file
and from the subset that provided it, unhinted as glyphs.py draws, and requires identical
bitmaps and advances: a merge that is not exact is refused, never installed.
`head.created/modified` are copied from the first subset, so the output is byte-for-byte
reproducible for a given fontTools version.
"""
from __future__ import annotations

import io
import logging
import unicodedata
import warnings
from pathlib import Path

import freetype
from fontTools.merge import Merger
from fontTools.ttLib import TTFont

CHECK_PX = 32  # px: the size at which check_merged compares rasters


class MergeError(Exception):
    """The subsets cannot be merged into a font that draws exactly like them (fetch reports
    it as that font's failure)."""


def _cmap(path) -> dict[int, str]:
    with TTFont(str(path), lazy=True) as font:
        return dict(font.getBestCmap() or {})


def _drawable(cp: int) -> bool:
    cat = unicodedata.category(chr(cp))
    return cat not in ("Cc", "Cs", "Cf", "Zs", "Zl", "Zp")


def is_web_font(path) -> bool:
    """Whether the file is a WOFF or WOFF2 web font (by its 4-byte signature)."""
    with open(path, "rb") as f:
        return f.read(4) in (b"wOFF", b"wOF2")


def sfnt_bytes(path) -> bytes:
    """A .woff/.woff2 unwrapped to plain .ttf/.otf bytes, glyphs and bboxes untouched and
    deterministic: the renderer's FreeType (freetype-py's wheel) may not read woff2."""
    font = TTFont(str(path), recalcBBoxes=False, recalcTimestamp=False)
    font.flavor = None
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


def _ttf_face(path: Path):
    """A FreeType face of `path` (web fonts unwrapped first)."""
    face = (freetype.Face(io.BytesIO(sfnt_bytes(path))) if is_web_font(path)
            else freetype.Face(str(path)))
    face.set_pixel_sizes(0, CHECK_PX)
    return face


def _raster(face, cp: int):
    """Unhinted bitmap, placement and advance of one character (what glyphs.py draws)."""
    face.load_char(chr(cp), freetype.FT_LOAD_RENDER | freetype.FT_LOAD_NO_HINTING)
    g = face.glyph
    return g.bitmap_left, g.bitmap_top, g.bitmap.width, g.bitmap.rows, \
        bytes(g.bitmap.buffer), g.advance.x


def _restore_hinting(font, paths: list[Path], renamed: list[list[str]]) -> None:
    """Merger drops the instructions of every glyph but the first font's, since it does not
    remap hint functions or CVT values. Subsets of one font share fpgm/prep/cvt byte for
    byte, so the dropped programs are still valid: put them back (else merged latin-ext
    glyphs would draw a pixel off the originals)."""
    srcs = [TTFont(str(p)) for p in paths]
    shared = all(
        (tag in src) == (tag in srcs[0]) and (
            tag not in src or src[tag].compile(src) == srcs[0][tag].compile(srcs[0]))
        for src in srcs[1:] for tag in ("fpgm", "prep", "cvt "))
    if not shared or "glyf" not in font:
        return  # the raster check decides whether the unhinted glyphs are acceptable
    glyf = font["glyf"]
    for src, names in zip(srcs[1:], renamed[1:]):
        for old, new in zip(src.getGlyphOrder(), names):
            program = getattr(src["glyf"][old], "program", None)
            if program is not None and new in glyf:
                glyf[new].program = program


def merged_bytes(paths: list[Path]) -> bytes:
    """The subsets merged by fontTools' Merger, as .ttf bytes (deterministic for a
    fontTools version: stored glyph bboxes kept, hint programs restored, head timestamps
    copied from the first subset).

    Raises:
        MergeError: fontTools cannot merge them (its first error line in the message).
    """
    opened: list[list] = []

    class _Merger(Merger):
        def _openFonts(self, fontfiles):  # the 2nd call's fonts carry the merged names
            fonts = super()._openFonts(fontfiles)
            opened.append(fonts)
            return fonts

    logger = logging.getLogger("fontTools")
    level = logger.level
    logger.setLevel(logging.ERROR)  # Merger's and OS/2's notes (fsSelection bits …)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            font = _Merger().merge([str(p) for p in paths])
            _restore_hinting(font, paths, [f.getGlyphOrder() for f in opened[-1]])
            with TTFont(str(paths[0]), lazy=True) as first:
                font["head"].created = first["head"].created
                font["head"].modified = first["head"].modified
            font.flavor = None
            font.recalcTimestamp = False
            font.recalcBBoxes = False  # keep each glyph's own bbox: FreeType places outlines by it
            buf = io.BytesIO()
            font.save(buf)
    except Exception as e:  # fontTools raises many types
        raise MergeError(f"fontTools cannot merge the subsets ({type(e).__name__}: "
                         f"{(str(e).splitlines() or [''])[0]})") from None
    finally:
        logger.setLevel(level)
    return buf.getvalue()


def check_merged(parts: list[Path], merged: Path) -> int:
    """Raise MergeError unless every character of every part draws identically from the
    merged file: same FreeType bitmap, placement and advance at CHECK_PX px (the first part
    mapping a code point owns it). Returns the number of code points checked.

    Unhinted, as the renderer (glyphs.py) draws: hinted rasters are no oracle, since
    FreeType's auto-hinter tunes itself on the whole font, so a latin-ext subset alone
    (no 'o', 'x', 'H') hints differently from the same glyphs in the full font.
    """
    merged_cmap = _cmap(merged)
    owner: dict[int, int] = {}
    for i, part in enumerate(parts):
        for cp in _cmap(part):
            owner.setdefault(cp, i)
    lost = sorted(set(owner) - set(merged_cmap))
    if lost:
        raise MergeError(f"merged font lost {len(lost)} characters (first U+{lost[0]:04X})")
    out = _ttf_face(merged)
    faces = [_ttf_face(p) for p in parts]
    bad = [cp for cp, i in owner.items()
           if _drawable(cp) and _raster(out, cp) != _raster(faces[i], cp)]
    if bad:
        raise MergeError(f"{len(bad)} characters draw differently after merging (first "
                         f"U+{min(bad):04X}); refusing the merged font")
    return len(owner)


def merge_subsets(parts: list[Path], out: Path) -> None:
    """Write the checked merge of `parts` to `out` (the caller makes `out` atomic).

    Raises:
        MergeError: as merged_bytes and check_merged; `out` is then left with the refused
            bytes for the caller to discard.
    """
    out.write_bytes(merged_bytes(parts))
    check_merged(parts, out)

"""Symbol fonts: faces whose cmap maps Latin characters to glyphs that are something else.

A symbol, dingbat or pi font, or a TeX font such as cmsy10, puts its glyphs at ASCII code
points: the cmap claims "a" but the glyph is ⊢, so an image drawn for the label "abc" shows
other characters. Three kinds of evidence decide, none of them a list of font names:

1. Declared: a Windows symbol cmap subtable (platform 3, encoding 0), which the OpenType
   `cmap` spec reserves for fonts whose codes are not Unicode characters. HarfBuzz and other
   loaders map U+0020–00FF onto its U+F020–F0FF codes, so ASCII text draws its symbols.
2. Shapes: the glyphs of a–z, A–Z and 0–9 (groups of at least MIN_GROUP glyphs that draw a
   shape) are compared with the same group in reference Latin fonts: DejaVu Sans and Serif,
   upright and slanted (shipped with matplotlib), and the embedded fonts. A glyph is drawn
   at 48 px, deskewed by its second moments (the deskewing of the MNIST k-NN baselines,
   LeCun et al. 1998), cropped to its ink, padded square, resized to 16×16, blurred
   (σ = 1 px) and normalised (zero mean, unit norm); similarity is the dot product
   (normalised cross-correlation), best over the reference fonts. Each glyph is ranked
   among the group's characters (letters case-folded, so small-caps and all-caps fonts
   pass): rank / (classes - 1) is 0 when it is nearest its own character, 0.5 on average
   by chance. Lowercase letters (capitals where a face has none) whose mean is CHANCE_RANK
   or more are other shapes: a symbol font. Capitals alone never decide: swash capitals of
   script fonts score up to 0.44 (Monsieur La Doulaise).
3. Glyph names, in faces with real names (a `post` table of format 2, or CFF), read by the
   Adobe Glyph List spec: a group whose glyphs are more often named for other characters
   than for their own (cmsy10: f is `braceleft`, 1 is `infinity`) is a symbol group from
   NAMED_RANK on. In a Latin face, a Latin-1 character named for another character is not
   rendered when its raster is nearer that character (cmr10 draws `exclamdown` ¡ for "<");
   a face with REENCODED or more such names has a non-standard encoding (the TeX fonts),
   and there only glyphs named for their own character, or letters and digits nearest
   their own character, are trusted (cmmi10 draws `arrowlefttophalf` for "(").

Calibration: the 342 fonts of the default manifest (Latin of every style), every font
matplotlib ships and the embedded ones. No Latin font's lowercase scores over 0.32 (Amatic
SC 0.31), nor does one name 3 Latin-1 glyphs for other characters; the symbol fonts'
lowercase scores 0.46 (cmex10) to 0.50.
"""
from __future__ import annotations

import importlib.util
import string
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from fontTools import agl
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from synthtext.fonts.shipped import embedded_files

MIN_GROUP = 5           # glyphs a group needs before its shapes are judged
CHANCE_RANK = 0.4       # mean rank of the letters at which they are other shapes
NAMED_RANK = 0.25       # mean rank of a group at which its names, saying so, are believed
REENCODED = 3           # Latin-1 glyphs named for other characters: a re-encoded font
_PX = 48
_GRID = 16
_BLUR = 1.0
_MAX_SHEAR = 1.0
_GROUPS = (("a-z", string.ascii_lowercase), ("A-Z", string.ascii_uppercase),
           ("0-9", string.digits))
# Latin-1 text characters: printable ASCII and U+00A1–00FF less the soft hyphen.
LATIN1 = tuple(chr(cp) for cp in [*range(0x21, 0x7F), *range(0xA1, 0x100)] if cp != 0xAD)
_DEJAVU = ("DejaVuSans.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSerif.ttf",
           "DejaVuSerif-Italic.ttf")


@dataclass(frozen=True)
class FaceTables:
    """What fontTools read from a face: code point -> glyph name (the best Unicode cmap),
    whether a Windows symbol (3, 0) subtable is present, and whether the glyph names are
    the font's own (post format 2 or CFF) rather than made up by fontTools."""

    cmap: dict[int, str]
    symbol_cmap: bool = False
    named: bool = False


@dataclass(frozen=True)
class GlyphCheck:
    """The verdict on one face: `symbol` says why it is a symbol font ("" when it is not);
    `wrong` holds Latin-1 characters it draws as something else (empty for a symbol font,
    which renders nothing: its cmap cannot be trusted for any code point)."""

    symbol: str = ""
    wrong: frozenset[str] = frozenset()


def _deskew(glyph: Image.Image) -> Image.Image:
    """Shear a cropped glyph so its ink's principal axis is vertical (second moments);
    the canvas widens by the shear so no ink is cut."""
    ink = np.asarray(glyph, np.float64)
    ys, xs = np.nonzero(ink)
    w = ink[ys, xs]
    my, mx = np.average(ys, weights=w), np.average(xs, weights=w)
    var = np.average((ys - my) ** 2, weights=w)
    if var <= 0:
        return glyph
    k = float(np.clip(np.average((xs - mx) * (ys - my), weights=w) / var,
                      -_MAX_SHEAR, _MAX_SHEAR))
    width, height = glyph.size
    pad = int(np.ceil(abs(k) * height))
    # output x' takes input x = x' - pad + k * (y - my)
    return glyph.transform((width + 2 * pad, height), Image.AFFINE,
                           (1, k, -pad - k * my, 0, 1, 0), Image.BILINEAR)


def _feature(font: ImageFont.FreeTypeFont, ch: str) -> np.ndarray | None:
    """The glyph of `ch` as a unit vector of _GRID² float32, or None when it draws no
    shape (no ink, or a solid block)."""
    canvas = Image.new("L", (4 * _PX, 4 * _PX))
    try:
        ImageDraw.Draw(canvas).text((3 * _PX // 2, 5 * _PX // 2), ch, font=font, fill=255,
                                    anchor="ls")
    except (OSError, RuntimeError, ValueError):  # raqm rejects some lone characters
        return None
    box = canvas.getbbox()
    if box is None:
        return None
    img = _deskew(canvas.crop(box))
    glyph = img.crop(img.getbbox())
    w, h = glyph.size
    square = Image.new("L", (max(w, h),) * 2)
    square.paste(glyph, ((max(w, h) - w) // 2, (max(w, h) - h) // 2))
    small = square.resize((_GRID, _GRID), Image.BILINEAR).filter(
        ImageFilter.GaussianBlur(_BLUR))
    v = np.asarray(small, np.float32).ravel()
    v = v - v.mean()
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 1e-6 else None


def _reference_paths() -> list[Path]:
    """DejaVu upright and slanted from matplotlib's data, then the embedded fonts."""
    # find_spec locates matplotlib without importing it (an import costs ~0.3 s)
    spec = importlib.util.find_spec("matplotlib")
    paths = []
    if spec is not None and spec.submodule_search_locations:
        root = Path(list(spec.submodule_search_locations)[0]) / "mpl-data" / "fonts" / "ttf"
        paths = [root / name for name in _DEJAVU if (root / name).is_file()]
    return paths + embedded_files()


@lru_cache(maxsize=1)
def _references() -> tuple[ImageFont.FreeTypeFont, ...]:
    fonts = []
    for path in _reference_paths():
        try:
            fonts.append(ImageFont.truetype(str(path), _PX, layout_engine=ImageFont.Layout.RAQM))
        except OSError:
            continue
    return tuple(fonts)


@lru_cache(maxsize=1024)
def _reference(ch: str) -> np.ndarray:
    """(reference fonts, _GRID²) float32: `ch` in each reference font, zero rows where a
    font does not draw it (so they never match)."""
    rows = [_feature(font, ch) for font in _references()]
    out = np.zeros((len(rows), _GRID * _GRID), np.float32)
    for i, row in enumerate(rows):
        if row is not None:
            out[i] = row
    return out


def _similarity(v: np.ndarray, chars: str) -> float:
    """Best similarity of glyph `v` to any of `chars` in any reference font."""
    return max(float(np.max(_reference(c) @ v)) for c in chars)


def _rank(v: np.ndarray, own: str, classes: list[str]) -> int:
    """How many of `classes` (each a string of equivalent characters) are nearer `v` than
    `own`, itself one of them."""
    sims = np.array([_similarity(v, cls) for cls in classes])
    return int(np.sum(sims > sims[classes.index(own)]))


def _group_ranks(font: ImageFont.FreeTypeFont, cmap: dict[int, str], chars: str
                 ) -> dict[str, float]:
    """Normalised rank in [0, 1] (0 = nearest its own character, 0.5 = chance) of each of
    `chars` that the face maps and draws as a shape."""
    classes = sorted({c.lower() + c.upper() if c.isalpha() else c for c in chars})
    ranks = {}
    for c in chars:
        v = _feature(font, c) if ord(c) in cmap else None
        if v is not None:
            own = next(cls for cls in classes if c in cls)
            ranks[c] = _rank(v, own, classes) / (len(classes) - 1)
    return ranks


def _says(name: str) -> str:
    """The one character the Adobe Glyph List spec gives glyph `name`; "" for none, for
    ligatures and for private-use code points."""
    text = agl.toUnicode(name)
    if len(text) != 1 or 0xE000 <= ord(text) <= 0xF8FF:
        return ""
    return text


def _same(a: str, b: str) -> bool:
    """Whether two characters are one up to compatibility (NFKC): "²" and "2", "µ" and
    "μ" are the same letter or digit drawn differently, not other characters."""
    return unicodedata.normalize("NFKC", a) == unicodedata.normalize("NFKC", b)


class _Names:
    """What a face's real glyph names say about its Latin-1 characters."""

    def __init__(self, cmap: dict[int, str]):
        said = {c: _says(cmap[ord(c)]) for c in LATIN1 if ord(c) in cmap}
        self.own = {c for c, s in said.items() if s and _same(s, c)}
        self.other = {c: s for c, s in said.items() if s and not _same(s, c)}
        self.silent = set(said) - self.own - set(self.other)   # non-AGL or private use
        self.reencoded = len(self.other) >= REENCODED

    def disagree(self, chars: str) -> bool:
        """More of `chars` are named for other characters than for themselves."""
        return sum(c in self.other for c in chars) > sum(c in self.own for c in chars)


def _symbol_reason(ranks: dict[str, dict[str, float]], names: _Names | None,
                   cmap: dict[int, str]) -> str:
    """Why the face is a symbol font by its shapes and names (module docstring), or ""."""
    scores = {label: sum(r.values()) / len(r) for label, r in ranks.items()
              if len(r) >= MIN_GROUP}
    letters = "a-z" if "a-z" in scores else "A-Z"
    chars = dict(_GROUPS)
    failed = [label for label, score in scores.items()
              if (label == letters and score >= CHANCE_RANK)
              or (names is not None and names.disagree(chars[label])
                  and score >= NAMED_RANK)]
    if not failed:
        return ""
    why = (f"its {' and '.join(failed)} do not look like those characters in reference "
           "Latin fonts")
    if names is not None:
        shown = [f"{c} {cmap[ord(c)]}" for label in failed for c in chars[label]
                 if c in names.other or c in names.silent][:3]
        why += f" (glyph names: {', '.join(shown)})" if shown else ""
    return why


def _wrong_by_name(font: ImageFont.FreeTypeFont, names: _Names,
                   ranks: dict[str, dict[str, float]]) -> frozenset[str]:
    """Latin-1 characters a Latin face draws as something else (evidence 3)."""
    nearest_own = {c for r in ranks.values() for c, rank in r.items() if rank == 0}
    wrong = set()
    for c, other in names.other.items():
        if names.reencoded:
            wrong.add(c)
            continue
        v = _feature(font, c)
        if v is not None and _similarity(v, other) > _similarity(v, c):
            wrong.add(c)
    if names.reencoded:
        wrong |= names.silent - nearest_own
    return frozenset(wrong)


def check_glyphs(path, index: int, tables: FaceTables) -> GlyphCheck:
    """Whether face `index` of font file `path` draws the Latin characters its cmap claims.

    Args:
        path: the font file; `index` the face in a collection.
        tables: its cmap and flags, as read by charset.py with fontTools.

    Returns:
        GlyphCheck: `symbol` non-empty for a symbol font, else the Latin-1 characters its
        glyph names give away as other characters. Costs 20–60 ms per face, plus ~0.3 s
        once per process for the reference glyphs. Without reference fonts (matplotlib and
        the embedded fonts both missing) only the symbol cmap and the names count.

    Raises:
        OSError: Pillow cannot open the face (charset.py has opened it already).
    """
    if tables.symbol_cmap:
        return GlyphCheck(symbol="it has a Windows symbol cmap (platform 3, encoding 0): "
                                 "its codes are symbols, not characters")
    font = ImageFont.truetype(str(path), _PX, index=index,
                              layout_engine=ImageFont.Layout.RAQM)
    ranks = ({label: _group_ranks(font, tables.cmap, chars) for label, chars in _GROUPS}
             if _references() else {})
    names = _Names(tables.cmap) if tables.named else None
    symbol = _symbol_reason(ranks, names, tables.cmap)
    if symbol or names is None:
        return GlyphCheck(symbol=symbol)
    return GlyphCheck(wrong=_wrong_by_name(font, names, ranks))

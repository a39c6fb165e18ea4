"""Which characters a font really renders, cached on disk by the font file's sha256.

Being in the cmap is not enough: a font may map a code point to an empty glyph or to a copy
of `.notdef`, and a missing code point still draws the `.notdef` box (tofu), so "draws ink"
alone lets tofu through. Two different missing characters draw byte-identical rasters, which
is how `.notdef` is recognised. Rule: a character is renderable iff it is in the face's cmap
(read with fontTools) AND (it is a space/format character — Unicode Zs, Cf, or "\\t" — OR its
32 px raster, drawn by Pillow with FreeType and raqm, has ink and differs from the `.notdef`
raster). Control characters (Cc) other than "\\t", and surrogates, are never renderable.
A character the face draws as another one is not renderable either (symbols.py): a symbol
font (cmsy10, dingbats, a Windows symbol cmap) renders nothing, since its cmap cannot be
trusted for any code point, and a Latin font none of the Latin-1 characters its glyph names
and shapes give away as other characters (cmr10 draws ¡ for "<").
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

from synthtext.dataset.cache import cache_dir
from synthtext.dataset.errors import FontError
from synthtext.fonts.symbols import FaceTables, check_glyphs

# Bump when the rule or raster parameters change: old cache entries are then ignored.
# 2: symbol fonts and characters drawn as other characters (symbols.py) left out.
CHARSET_VERSION = 2

_RASTER_PX = 32
_CANVAS = 4 * _RASTER_PX            # room for swashes, overhangs and descenders
_ORIGIN = (_RASTER_PX, 5 * _RASTER_PX // 2)
_SPACE_CATEGORIES = frozenset({"Zs", "Cf"})
# Code points that no sane font maps: rendering one gives the face's `.notdef` raster.
_MISSING_PROBES = (0x10FFFD, 0x10FFFC, 0xFFFFD, 0xFFFFC, 0xFFFF)


def default_cache_dir() -> Path:
    """The synthgen cache root (see :func:`synthtext.dataset.cache.cache_dir`)."""
    return cache_dir()


def file_sha256(path) -> str:
    """Hex sha256 (64 lowercase digits) of a file, read in 1 MiB blocks: the identity of a
    font for caches, font manifests and the dataset info."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def brotli_available() -> bool:
    """fontTools needs the `brotli` module to decode .woff2 (Pillow/FreeType does not)."""
    return any(importlib.util.find_spec(m) is not None for m in ("brotli", "brotlicffi"))


@dataclass(frozen=True)
class FaceCharset:
    """What one face renders: `chars` (one-character strings, the rule in the module
    docstring; empty for a symbol font) and `symbol`, why the face is a symbol font (""
    when it is not)."""

    chars: frozenset[str]
    symbol: str = ""


def face_charset(path, index: int = 0, cache_dir=None, *, sha256: str | None = None
                 ) -> FaceCharset:
    """The characters face `index` of font `path` renders, and whether it is a symbol font.

    Args:
        path: a .ttf/.otf/.ttc/.woff/.woff2 file; `index` the face inside a collection.
        cache_dir: the synthgen cache root (default `default_cache_dir()`); results live in
            its `charsets/` subfolder keyed by file sha256 + face index + CHARSET_VERSION, so
            a changed file never reuses a stale set. An unwritable cache only warns.
        sha256: the file's hash when the caller already has it (saves re-hashing).

    Returns:
        FaceCharset; computing costs about 0.05–0.2 ms per cmap entry plus the symbol
        check (symbols.check_glyphs, tens of ms), a cache hit a file read.

    Raises:
        FontError: a .woff2 without the `brotli` module, a cmap fontTools cannot read, or a
            face Pillow cannot load.
    """
    path = Path(path)
    sha = sha256 or file_sha256(path)
    cache_file = Path(cache_dir or default_cache_dir()) / "charsets" / (
        f"{sha}-{index}-v{CHARSET_VERSION}.json")
    cached = _read_cache(cache_file, sha, index)
    if cached is not None:
        return cached
    result = _compute(path, index)
    _write_cache(cache_file, sha, index, result)
    return result


def renderable_charset(path, index: int = 0, cache_dir=None, *, sha256: str | None = None
                       ) -> frozenset[str]:
    """The characters face `index` of font `path` renders: `face_charset(...).chars` (same
    arguments, cache and errors)."""
    return face_charset(path, index, cache_dir, sha256=sha256).chars


def _read_cache(cache_file: Path, sha: str, index: int) -> FaceCharset | None:
    """A valid cache entry, or None (missing or damaged entries are recomputed)."""
    try:
        data = json.loads(cache_file.read_text(encoding="utf-8"))
        if (data.get("version"), data.get("sha256"), data.get("index")) != (
                CHARSET_VERSION, sha, index) or not isinstance(data["symbol"], str):
            return None
        return FaceCharset(frozenset(chr(cp) for cp in data["codepoints"]), data["symbol"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write_cache(cache_file: Path, sha: str, index: int, result: FaceCharset) -> None:
    """Atomic write (temp file + os.replace) so concurrent workers never read half a file."""
    payload = {"version": CHARSET_VERSION, "sha256": sha, "index": index,
               "symbol": result.symbol, "codepoints": sorted(ord(c) for c in result.chars)}
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_file.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(payload, f, separators=(",", ":"))
            os.replace(tmp, cache_file)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as e:
        warnings.warn(f"charset cache {cache_file.parent}: cannot write ({e}); "
                      "set SYNTHGEN_CACHE to a writable directory to avoid recomputing")


def _read_tables(path: Path, index: int) -> FaceTables:
    """The best Unicode cmap (code point -> glyph name) and the flags symbols.py needs,
    via fontTools.

    fontTools leaves out code points mapped explicitly to glyph 0 (`.notdef`), so those
    count as missing, which is what they are.
    """
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == b"wOF2" and not brotli_available():
        raise FontError(f"font {path}: reading a .woff2 cmap needs the 'brotli' package; "
                        "run `pip install brotli` or convert the font to .ttf")
    try:
        font = TTFont(path, fontNumber=index if magic == b"ttcf" else -1, lazy=True)
        try:
            subtables = font["cmap"].tables if "cmap" in font else []
            named = "CFF " in font or ("post" in font and font["post"].formatType == 2)
            return FaceTables(dict(font.getBestCmap() or {}),
                              symbol_cmap=any((t.platformID, t.platEncID) == (3, 0)
                                              for t in subtables),
                              named=named)
        finally:
            font.close()
    except Exception as e:  # fontTools raises many types on malformed input
        first = (str(e).splitlines() or [""])[0]
        raise FontError(f"font {path}: cannot read its cmap ({type(e).__name__}: {first}); "
                        "replace or remove the file") from None


def _raster_key(font: ImageFont.FreeTypeFont, ch: str, canvas: Image.Image):
    """(ink bbox, ink bytes) of `ch` drawn alone, or None when it draws nothing."""
    canvas.paste(0, (0, 0) + canvas.size)
    try:
        ImageDraw.Draw(canvas).text(_ORIGIN, ch, font=font, fill=255, anchor="ls")
    except (OSError, RuntimeError, ValueError):  # raqm rejects e.g. U+2029 alone
        return None
    bbox = canvas.getbbox()
    return None if bbox is None else (bbox, canvas.crop(bbox).tobytes())


def _compute(path: Path, index: int) -> FaceCharset:
    """Apply the rule to every cmap entry of the face (≈0.05–0.2 ms per entry), then the
    symbol check."""
    tables = _read_tables(path, index)
    try:
        font = ImageFont.truetype(str(path), _RASTER_PX, index=index,
                                  layout_engine=ImageFont.Layout.RAQM)
    except OSError as e:
        raise FontError(f"font {path}: Pillow cannot load face {index} ({e}); "
                        "replace or remove the file") from None
    canvas = Image.new("L", (_CANVAS, _CANVAS))
    # The raster of glyph 0: a cmap entry drawing exactly this is a copy of the tofu box.
    probe = next((cp for cp in _MISSING_PROBES if cp not in tables.cmap), None)
    notdef = None if probe is None else _raster_key(font, chr(probe), canvas)
    chars = set()
    for cp in tables.cmap:
        ch = chr(cp)
        category = unicodedata.category(ch)
        if category == "Cs" or (category == "Cc" and ch != "\t"):
            continue
        if ch == "\t" or category in _SPACE_CATEGORIES:
            chars.add(ch)
            continue
        key = _raster_key(font, ch, canvas)
        if key is not None and key != notdef:
            chars.add(ch)
    check = check_glyphs(path, index, tables)
    if check.symbol:
        return FaceCharset(frozenset(), check.symbol)
    return FaceCharset(frozenset(chars - check.wrong))


def _block(lo: int, hi: int, letters_only: bool = False) -> list[str]:
    chars = [chr(cp) for cp in range(lo, hi + 1)]
    if letters_only:
        chars = [c for c in chars if unicodedata.category(c).startswith("L")]
    return chars


_BLOCKS = {
    "basic_latin": _block(0x20, 0x7E),
    "latin1_supplement": _block(0xA0, 0xFF),
    "latin_extended_a": _block(0x100, 0x17F),
    "greek": _block(0x391, 0x3C9, letters_only=True),
}


def coverage_summary(charset) -> dict[str, float]:
    """Fraction in [0, 1] (4 decimals) of each block a charset renders, for the manifests'
    `coverage` field and `synthgen fonts list`.

    Blocks: basic_latin U+0020–007E, latin1_supplement U+00A0–00FF, latin_extended_a
    U+0100–017F, greek the letters of U+0391–03C9.
    """
    charset = frozenset(charset)
    return {name: round(sum(c in charset for c in chars) / len(chars), 4)
            for name, chars in _BLOCKS.items()}

"""Which characters a font really renders, cached on disk by the font file's sha256.

Being in the cmap is not enough: a font may map a code point to an empty glyph or to a copy
of `.notdef`, and a missing code point still draws the `.notdef` box (tofu), so "draws ink"
alone lets tofu through. Two different missing characters draw byte-identical rasters, which
is how `.notdef` is recognised. Rule: a character is renderable iff it is in the face's cmap
(read with fontTools) AND (it is a space/format character — Unicode Zs, Cf, or "\\t" — OR its
32 px raster, drawn by Pillow with FreeType and raqm, has ink and differs from the `.notdef`
raster). Control characters (Cc) other than "\\t", and surrogates, are never renderable.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
import unicodedata
import warnings
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

from synthtext.dataset.cache import cache_dir
from synthtext.dataset.errors import FontError

# Bump when the rule or raster parameters change: old cache entries are then ignored.
CHARSET_VERSION = 1

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


def renderable_charset(path, index: int = 0, cache_dir=None, *, sha256: str | None = None
                       ) -> frozenset[str]:
    """The characters face `index` of font `path` renders (rule in the module docstring).

    Args:
        path: a .ttf/.otf/.ttc/.woff/.woff2 file; `index` the face inside a collection.
        cache_dir: the synthgen cache root (default `default_cache_dir()`); results live in
            its `charsets/` subfolder keyed by file sha256 + face index + CHARSET_VERSION, so
            a changed file never reuses a stale set. An unwritable cache only warns.
        sha256: the file's hash when the caller already has it (saves re-hashing).

    Returns:
        One-character strings; computing costs about 0.05–0.2 ms per cmap entry.

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
    chars = _compute(path, index)
    _write_cache(cache_file, sha, index, chars)
    return chars


def _read_cache(cache_file: Path, sha: str, index: int) -> frozenset[str] | None:
    """A valid cache entry's set, or None (missing or damaged entries are recomputed)."""
    try:
        data = json.loads(cache_file.read_text(encoding="utf-8"))
        if (data.get("version"), data.get("sha256"), data.get("index")) != (
                CHARSET_VERSION, sha, index):
            return None
        return frozenset(chr(cp) for cp in data["codepoints"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write_cache(cache_file: Path, sha: str, index: int, chars: frozenset[str]) -> None:
    """Atomic write (temp file + os.replace) so concurrent workers never read half a file."""
    payload = {"version": CHARSET_VERSION, "sha256": sha, "index": index,
               "codepoints": sorted(ord(c) for c in chars)}
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


def _read_cmap(path: Path, index: int) -> dict[int, str]:
    """Code point -> glyph name for one face, via fontTools.

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
            return dict(font.getBestCmap() or {})
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


def _compute(path: Path, index: int) -> frozenset[str]:
    """Apply the rule to every cmap entry of the face (≈0.05–0.2 ms per entry)."""
    cmap = _read_cmap(path, index)
    try:
        font = ImageFont.truetype(str(path), _RASTER_PX, index=index,
                                  layout_engine=ImageFont.Layout.RAQM)
    except OSError as e:
        raise FontError(f"font {path}: Pillow cannot load face {index} ({e}); "
                        "replace or remove the file") from None
    canvas = Image.new("L", (_CANVAS, _CANVAS))
    # The raster of glyph 0: a cmap entry drawing exactly this is a copy of the tofu box.
    probe = next((cp for cp in _MISSING_PROBES if cp not in cmap), None)
    notdef = None if probe is None else _raster_key(font, chr(probe), canvas)
    chars = set()
    for cp in cmap:
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
    return frozenset(chars)


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

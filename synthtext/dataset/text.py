"""The label text policy: the text a sample draws is its label, character for character.

Every text that becomes a label (corpus spans before layout, stitch transcriptions, PAGE-XML
or ALTO line text) goes through this module, so image and label hold the same characters:

1. Characters that draw nothing are removed from the drawn text and the label alike: format
   characters (Unicode category Cf), controls that are not whitespace (Cc), and
   Default_Ignorable_Code_Point (Unicode DerivedCoreProperties.txt): soft hyphen, zero-width
   space, word joiner, BOM, bidi marks, embeddings and isolates, variation selectors, tags,
   Hangul fillers. Prepended concatenation marks (PropList.txt: U+0600..U+0605 ...) draw
   ink and stay.
2. Except where they change shaping: ZWNJ U+200C and ZWJ U+200D stay when both neighbours
   are letters or marks of one script in which they select joining or conjunct forms
   (Arabic, Syriac, N'Ko, Mandaic, Mongolian, Phags-pa, Adlam ... and the Brahmic scripts
   Devanagari ... Sinhala, Myanmar, Khmer); the Mongolian vowel separator U+180E stays
   between two Mongolian letters, its free variation selectors after one. Anywhere else
   (``join\\u200der``) they draw nothing and go.
3. Unicode normalisation, NFC by default (``--normalize NFC|NFKC|none``); NFKC also folds
   compatibility characters (the ligature U+FB01 becomes ``fi``, full-width forms narrow).
4. Whitespace: any run of Unicode whitespace (line separators included) separates words; a
   line's label is its words joined by single spaces.

Step 1 comes before normalisation, so ``e`` + soft hyphen + U+0301 becomes ``é`` under NFC;
joiners are judged in the normalised text (and again until nothing changes), so applying the
policy twice changes nothing.
The character properties are those of Python's :mod:`unicodedata` (its Unicode version).
Only the standard library is used: the sample contract imports nothing else.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from bisect import bisect_right

from synthtext.dataset.errors import ConfigError

NORMALIZE_FORMS = ("NFC", "NFKC", "none")
ZWNJ, ZWJ = "\u200c", "\u200d"
MONGOLIAN_VOWEL_SEPARATOR = "\u180e"
MONGOLIAN_FVS = "\u180b\u180c\u180d\u180f"
# What the policy may keep although it draws nothing itself (a font need not map them:
# HarfBuzz shapes default ignorables without a glyph).
SHAPING_CONTROLS = frozenset(ZWNJ + ZWJ + MONGOLIAN_VOWEL_SEPARATOR + MONGOLIAN_FVS)

# Default_Ignorable_Code_Point, DerivedCoreProperties.txt (Unicode 15.1), as (first, last).
_DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
# Prepended_Concatenation_Mark, PropList.txt: format characters that DO draw (the Arabic
# number sign spans the digits after it), so they are kept.
_PREPENDED_MARKS = frozenset((*range(0x0600, 0x0606), 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2,
                              0x110BD, 0x110CD))
# Planes that hold format characters and controls (Cf/Cc): BMP, SMP and plane 14 (tags).
_SCAN = ((0x0000, 0x1FFFF), (0xE0000, 0xE0FFF))

# Blocks (Blocks.txt) of the scripts in which ZWJ/ZWNJ change shaping: the cursive joining
# scripts of ArabicShaping.txt and the Brahmic scripts where they pick conjunct, half or
# explicit-virama forms (The Unicode Standard, 23.2 "Layout Controls"; 12.2 for Devanagari).
_SHAPING_BLOCKS = (
    (0x0600, 0x06FF, "Arabic"), (0x0700, 0x074F, "Syriac"), (0x0750, 0x077F, "Arabic"),
    (0x07C0, 0x07FF, "Nko"), (0x0840, 0x085F, "Mandaic"), (0x0860, 0x086F, "Syriac"),
    (0x0870, 0x08FF, "Arabic"), (0x0900, 0x097F, "Devanagari"), (0x0980, 0x09FF, "Bengali"),
    (0x0A00, 0x0A7F, "Gurmukhi"), (0x0A80, 0x0AFF, "Gujarati"), (0x0B00, 0x0B7F, "Oriya"),
    (0x0B80, 0x0BFF, "Tamil"), (0x0C00, 0x0C7F, "Telugu"), (0x0C80, 0x0CFF, "Kannada"),
    (0x0D00, 0x0D7F, "Malayalam"), (0x0D80, 0x0DFF, "Sinhala"), (0x1000, 0x109F, "Myanmar"),
    (0x1780, 0x17FF, "Khmer"), (0x1800, 0x18AF, "Mongolian"), (0xA840, 0xA87F, "Phags_Pa"),
    (0xA8E0, 0xA8FF, "Devanagari"), (0xA9E0, 0xA9FF, "Myanmar"), (0xAA60, 0xAA7F, "Myanmar"),
    (0xFB50, 0xFDFF, "Arabic"), (0xFE70, 0xFEFF, "Arabic"), (0x10AC0, 0x10AFF, "Manichaean"),
    (0x10B80, 0x10BAF, "Psalter_Pahlavi"), (0x10D00, 0x10D3F, "Hanifi_Rohingya"),
    (0x10EC0, 0x10EFF, "Arabic"), (0x10F30, 0x10F6F, "Sogdian"), (0x10F70, 0x10FAF, "Old_Uyghur"),
    (0x10FB0, 0x10FDF, "Chorasmian"), (0x11660, 0x1167F, "Mongolian"),
    (0x1E900, 0x1E95F, "Adlam"),
)
_BLOCK_STARTS = [lo for lo, _, _ in _SHAPING_BLOCKS]

_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")    # Cc that str.split() keeps
_CONTROLS = re.compile(f"[{re.escape(''.join(sorted(SHAPING_CONTROLS)))}]")


def check_normalize(form: str, option: str = "--normalize") -> str:
    """``form`` itself when it is one of :data:`NORMALIZE_FORMS`.

    Raises:
        ConfigError: naming ``option`` and the allowed forms.
    """
    if form not in NORMALIZE_FORMS:
        raise ConfigError(f"{option} {form!r} is not one of {', '.join(NORMALIZE_FORMS)}")
    return form


def normalize_text(text: str, normalize: str = "NFC") -> str:
    """``text`` under the policy's steps 1-3 (module docstring); whitespace left as it is.

    Args:
        text: any text, possibly several lines.
        normalize: ``"NFC"``, ``"NFKC"`` or ``"none"``.

    Returns:
        The text with invisible characters removed (shaping controls kept in context), then
        normalised. Idempotent: applying it twice changes nothing.

    Raises:
        ConfigError: an unknown ``normalize``.
    """
    check_normalize(normalize)
    if text.isascii():                      # ASCII: no format characters, no normal forms
        return _ASCII_CONTROL.sub("", text) if _ASCII_CONTROL.search(text) else text
    text = _invisible().sub("", text)
    if normalize != "none":
        text = unicodedata.normalize(normalize, text)
    while _CONTROLS.search(text):           # joiners are judged in the normalised text
        kept = _keep_shaping_controls(text)
        if kept == text:
            break
        # a removed joiner may let marks reorder or compose: normalise and judge again
        text = kept if normalize == "none" else unicodedata.normalize(normalize, kept)
    return text


def policy_words(text: str, normalize: str = "NFC") -> list[str]:
    """The words of ``text`` under the policy: never an empty word (a word of invisible
    characters only is gone). Raises ConfigError for an unknown ``normalize``."""
    return normalize_text(text, normalize).split()


def apply_text_policy(text: str, normalize: str = "NFC") -> str:
    """One line's label under the whole policy: :func:`policy_words` joined by single spaces
    (``""`` when nothing visible is left). What the PAGE-XML/ALTO reader and stitch
    transcriptions use. Raises ConfigError for an unknown ``normalize``."""
    return " ".join(policy_words(text, normalize))


@functools.cache
def _invisible() -> re.Pattern:
    """One character class of everything step 1 removes, shaping controls excluded (built
    once per process from :mod:`unicodedata`: about 30 ms)."""
    cps = {cp for lo, hi in _DEFAULT_IGNORABLE for cp in range(lo, hi + 1)}
    for lo, hi in _SCAN:
        for cp in range(lo, min(hi, sys.maxunicode) + 1):
            cat = unicodedata.category(chr(cp))
            if cat == "Cf" or (cat == "Cc" and not chr(cp).isspace()):
                cps.add(cp)
    cps -= _PREPENDED_MARKS | {ord(c) for c in SHAPING_CONTROLS}
    ranges, start, prev = [], None, None
    for cp in sorted(cps):
        if start is None or cp != prev + 1:
            if start is not None:
                ranges.append((start, prev))
            start = cp
        prev = cp
    ranges.append((start, prev))
    parts = (re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
             for a, b in ranges)
    return re.compile(f"[{''.join(parts)}]")


def _script(ch: str) -> str | None:
    """The shaping script of a letter or mark (None for anything else, controls included)."""
    if ch in SHAPING_CONTROLS or unicodedata.category(ch)[0] not in "LM":
        return None
    cp = ord(ch)
    k = bisect_right(_BLOCK_STARTS, cp) - 1
    if k < 0 or cp > _SHAPING_BLOCKS[k][1]:
        return None
    return _SHAPING_BLOCKS[k][2]


def _keep_shaping_controls(text: str) -> str:
    """Drop each ZWJ, ZWNJ, MVS and FVS whose neighbours give it no shaping job (rule 2)."""
    out, last = [], 0
    for m in _CONTROLS.finditer(text):
        i, ch = m.start(), m.group()
        before = _script(text[i - 1]) if i > 0 else None
        after = _script(text[i + 1]) if i + 1 < len(text) else None
        if ch in MONGOLIAN_FVS:
            keep = before == "Mongolian"
        elif ch == MONGOLIAN_VOWEL_SEPARATOR:
            keep = before == after == "Mongolian"
        else:
            keep = before is not None and before == after
        if not keep:
            out.append(text[last:i])
            last = i + 1
    out.append(text[last:])
    return "".join(out)

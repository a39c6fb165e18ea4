"""Page layout: sample the page's parameters, then break text into the lines that fit.

Sampling only draws numbers into a JSON-able dict; :func:`wrap` and :func:`lines_that_fit` are
deterministic given those numbers and the font's measurements. Indentation is written into
the label as leading spaces by one rule: a line indented by ``n`` space widths (of its own
font and size) from the text block's left edge starts with ``n`` spaces. Only left-aligned
and justified text is indented; centred and right-aligned lines never get leading spaces,
nor do right-to-left paragraphs (whose leading spaces would stand at the right edge).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from synthtext.render.config import RenderConfig
from synthtext.render.glyphs import base_level

_BREAK_AFTER = re.compile(r"[-,)\]/]")  # where an over-long word may be broken across lines


@dataclass
class LayoutLine:
    """One line on the page: its words, indentation (in spaces) and how it is justified."""

    words: list[str]
    indent: int = 0  # leading spaces in the label
    blank: bool = False  # a paragraph gap: empty label line, no ink
    last_of_paragraph: bool = True  # justified text leaves these lines ragged

    @property
    def body(self) -> str:
        """The words joined by single spaces (what is drawn)."""
        return " ".join(self.words)

    @property
    def label(self) -> str:
        """The line's label: ``indent`` leading spaces, then the body ("" when blank)."""
        return "" if self.blank else " " * self.indent + self.body


def _pick(rng, weights: dict):
    keys = list(weights)
    p = np.array([float(weights[k]) for k in keys])
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def sample_length(rng, cfg: RenderConfig) -> int:
    """Text length in ``cfg.length_unit``, in ``cfg.length`` (both ends included): uniform,
    or log-uniform for more short texts."""
    low, high = cfg.length
    if cfg.length_dist == "uniform":
        return int(rng.integers(low, high + 1))
    return int(min(high, math.floor(math.exp(rng.uniform(math.log(low), math.log(high + 1))))))


def sample_page(rng, cfg: RenderConfig) -> dict:
    """Canvas, margins, type size, spacing, tones, alignment, orientation and length target.

    Returns a JSON-able dict (recorded in the sample's ``params``): ``canvas`` [w, h] px,
    ``margins`` [left, top, right, bottom] px (fractions of the shorter side times it),
    ``font_size`` px, ``line_spacing`` and ``block_width`` (see RenderConfig), ``align``,
    ``ink``/``paper`` grey levels, ``rotation`` degrees (multiple of 90), ``skew`` degrees
    (0 unless drawn), ``placement`` [x, y] fractions of the free space, ``length`` and
    ``length_unit``.
    """
    w = int(rng.integers(cfg.width[0], cfg.width[1] + 1))
    h = int(rng.integers(cfg.height[0], cfg.height[1] + 1))
    short = min(w, h)
    margins = [int(round(rng.uniform(*cfg.margin) * short)) for _ in range(4)]
    align = _pick(rng, cfg.align)
    skew = float(rng.uniform(-cfg.max_skew, cfg.max_skew)) if rng.random() < cfg.skew else 0.0
    return {
        "layout": "page",
        "canvas": [w, h],
        "margins": margins,  # left, top, right, bottom
        "font_size": int(rng.integers(cfg.font_size[0], cfg.font_size[1] + 1)),
        "line_spacing": round(float(rng.uniform(*cfg.line_spacing)), 3),
        "block_width": round(float(rng.uniform(*cfg.block_width)), 3),
        "align": align,
        "ink": int(rng.integers(cfg.ink[0], cfg.ink[1] + 1)),
        "paper": int(rng.integers(cfg.paper[0], cfg.paper[1] + 1)),
        "rotation": int(_pick(rng, cfg.rotation)),
        "skew": round(skew, 3),
        "placement": [round(float(rng.random()), 4), round(float(rng.random()), 4)],
        "length": sample_length(rng, cfg),
        "length_unit": cfg.length_unit,
    }


def sample_line(rng, cfg: RenderConfig) -> dict:
    """A tight single-line image: height, type size within it, padding and tones.

    Returns a JSON-able dict: ``height`` px, ``font_size`` px (at most the height),
    ``pad`` [left, right] px, ``vertical`` fraction of the free height above the ink,
    ``ink``/``paper``, ``rotation``, ``skew`` (degrees), ``length`` and ``length_unit``.
    """
    height = int(rng.integers(cfg.line_height[0], cfg.line_height[1] + 1))
    low = min(cfg.font_size[0], height)
    size = int(rng.integers(low, min(cfg.font_size[1], height) + 1))
    skew = float(rng.uniform(-cfg.max_skew, cfg.max_skew)) if rng.random() < cfg.skew else 0.0
    return {
        "layout": "line",
        "height": height,
        "font_size": size,
        "pad": [int(rng.integers(2, max(3, height // 2))) for _ in range(2)],  # left, right
        "vertical": round(float(rng.random()), 4),
        "ink": int(rng.integers(cfg.ink[0], cfg.ink[1] + 1)),
        "paper": int(rng.integers(cfg.paper[0], cfg.paper[1] + 1)),
        "rotation": int(_pick(rng, cfg.rotation)),
        "skew": round(skew, 3),
        "length": sample_length(rng, cfg),
        "length_unit": cfg.length_unit,
    }


def sample_paragraphs(rng, cfg: RenderConfig, n_paragraphs: int, align: str) -> dict:
    """Which corpus paragraph breaks show on the page, and how paragraphs are set off.

    Returns a JSON-able dict: ``breaks`` (one bool per break between the ``n_paragraphs``),
    ``blank_line``, ``first_line_indent`` and ``paragraph_indent`` (one per paragraph), both
    in spaces and 0 unless ``align`` is left or justify.
    """
    indentable = align in ("left", "justify")
    lo, hi = cfg.indent_spaces
    first = int(rng.integers(lo, hi + 1)) if indentable and rng.random() < cfg.first_line_indent else 0
    block = int(rng.integers(lo, hi + 1)) if indentable else 0
    return {
        "breaks": [bool(rng.random() < cfg.paragraph_break) for _ in range(n_paragraphs - 1)],
        "blank_line": bool(rng.random() < cfg.blank_line),
        "first_line_indent": first,
        "paragraph_indent": [block if indentable and rng.random() < cfg.paragraph_indent else 0
                             for _ in range(n_paragraphs)],
    }


def merge_paragraphs(paragraphs, breaks: list[bool]) -> list[tuple[list[str], int]]:
    """Join corpus paragraphs whose break is not shown (``breaks[i]`` False joins paragraph
    i + 1 to the one before); returns ``(words, index of its first corpus paragraph)``."""
    merged = [(list(paragraphs[0]), 0)]
    for i, (para, brk) in enumerate(zip(paragraphs[1:], breaks), start=1):
        if brk:
            merged.append((list(para), i))
        else:
            merged[-1][0].extend(para)
    return merged


def wrap(paragraphs, style: dict, width_of, space: float, max_width: float) -> list[LayoutLine]:
    """Greedy line breaking by measured widths; stops at a word that cannot fit at all.

    ``paragraphs`` are word tuples; ``style`` is :func:`sample_paragraphs`' dict;
    ``width_of(text)`` is the advance width of ``text`` in px, ``space`` that of one space,
    ``max_width`` the block width in px. A word wider than a line is broken after a hyphen,
    comma, closing bracket or slash when that makes it fit.
    """
    lines: list[LayoutLine] = []
    for words, first_idx in merge_paragraphs(paragraphs, style["breaks"]):
        if lines and style["blank_line"]:
            lines.append(LayoutLine([], blank=True))
        block = style["paragraph_indent"][first_idx]
        indent = block + style["first_line_indent"]
        if base_level(" ".join(words)):  # right to left: leading spaces mean the right edge
            indent = block = 0
        if not _wrap_paragraph(words, lines, indent, block, width_of, space, max_width):
            break
    while lines and lines[-1].blank:
        lines.pop()
    return lines


def _wrap_paragraph(words, lines, indent, block, width_of, space, max_width) -> bool:
    """Append the paragraph's lines; False when a word could not be placed (text cut)."""
    cur = LayoutLine([], indent=indent, last_of_paragraph=False)
    used = indent * space
    queue = list(reversed(words))
    while queue:
        word = queue.pop()
        w = width_of(word)
        gap = space if cur.words else 0.0
        if used + gap + w <= max_width:
            cur.words.append(word)
            used += gap + w
            continue
        if not cur.words and cur.indent > block:  # drop the first-line indent, retry
            cur.indent, used = block, block * space
            queue.append(word)
            continue
        fits_alone = block * space + w <= max_width
        head, tail = ("", word) if fits_alone else _split_long(word, width_of,
                                                                max_width - used - gap)
        if head:
            cur.words.append(head)
            queue.append(tail)
        elif not cur.words:
            return False
        else:
            queue.append(word)
        lines.append(cur)
        cur, used = LayoutLine([], indent=block, last_of_paragraph=False), block * space
    if cur.words:
        cur.last_of_paragraph = True
        lines.append(cur)
    return True


def _split_long(word: str, width_of, room: float) -> tuple[str, str]:
    """Break a word after a hyphen, comma, bracket or slash so the head fits in ``room``."""
    best = ""
    for m in _BREAK_AFTER.finditer(word):
        head = word[: m.end()]
        if m.end() < len(word) and width_of(head) <= room:
            best = head
    return (best, word[len(best):]) if best else ("", word)


def lines_that_fit(n_lines_avail: int, lines: list[LayoutLine]) -> list[LayoutLine]:
    """The first ``n_lines_avail`` lines, trailing blank lines dropped, indents made
    relative (see :func:`relative_indents`)."""
    kept = lines[:max(0, n_lines_avail)]
    while kept and kept[-1].blank:
        kept.pop()
    return relative_indents(kept)


def relative_indents(lines: list[LayoutLine]) -> list[LayoutLine]:
    """Measure indentation from the least indented line: a block indented as a whole looks
    exactly like a block placed further right, so it must not give leading spaces."""
    indents = [ln.indent for ln in lines if not ln.blank]
    base = min(indents, default=0)
    for ln in lines:
        ln.indent = max(0, ln.indent - base)
    return lines


def trim_to_length(lines: list[LayoutLine], unit: str, length: int) -> list[LayoutLine]:
    """Keep whole lines up to ``length`` lines (other units were applied to the span)."""
    if unit != "lines":
        return lines
    out, count = [], 0
    for line in lines:
        if count >= length:
            break
        out.append(line)
        count += 0 if line.blank else 1
    while out and out[-1].blank:
        out.pop()
    return out

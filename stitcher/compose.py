"""Lay normalised lines out on a page: sample every number first, then place and blend.

:func:`sample_page` draws all random choices into a JSON-able dict (SynthTIGER-style);
:func:`place` and :func:`blend` are deterministic given those numbers and the lines' ink.

Vertical: each baseline sits ``line_spacing`` body heights below the previous one, or lower
when the two lines' ink would come closer than ``gap`` body heights. Horizontal: every line
starts at the left margin plus ``indent`` space widths plus a jitter of at most
``jitter`` (< 0.25) space widths, so the label's leading spaces (the indentation rule, see
:mod:`stitcher`) are recovered exactly from the pixels. A heading is centred over the block
and, like the renderer's centred lines, never gets leading spaces.
"""

from __future__ import annotations

import math

import numpy as np

from synthtext.render.draw import box_quad

from .config import StitchConfig
from .normalise import LineInk

SPACE = 0.5  # space width in body heights (see stitcher/__init__.py)
HEADING_SCALE = 1.4  # a heading's body height relative to the handwriting's


def sample_page(rng, cfg: StitchConfig, n_lines: int) -> dict:
    """Every random number of a page of ``n_lines`` lines, drawn from ``rng`` (a numpy
    ``Generator``); crop choice happens separately (:mod:`stitcher.passages`).

    Returns:
        A JSON-able dict (it becomes ``meta["params"]``): ``body_height`` (px),
        ``line_spacing`` and per line ``gap`` (body heights), ``margins`` (left, top, right,
        bottom; body heights), per line ``height_jitter`` (relative), ``indents`` (spaces),
        ``jitter`` (space widths), ``print_lines`` (bools), ``heading`` (bool), ``ink`` and
        ``paper`` (grey levels 0-255), ``rotation`` (always 0).
    """
    u = lambda pair: float(rng.uniform(*pair))
    printed = [bool(rng.random() < cfg.print_lines) for _ in range(n_lines)]
    indents = [int(rng.integers(cfg.indent_spaces[0], cfg.indent_spaces[1] + 1))
               if rng.random() < cfg.indent else 0 for _ in range(n_lines)]
    indents = [0 if p else i for p, i in zip(printed, indents)]  # print starts flush left
    heading = bool(rng.random() < cfg.heading)
    return {
        "body_height": int(rng.integers(cfg.body_height[0], cfg.body_height[1] + 1)),
        "height_jitter": [round(u((-cfg.height_jitter, cfg.height_jitter)), 4)
                          for _ in range(n_lines)],
        "line_spacing": round(u(cfg.line_spacing), 3),
        "gap": [round(u(cfg.min_gap), 3) for _ in range(n_lines)],
        "margins": [round(u(cfg.margin), 3) for _ in range(4)],  # left, top, right, bottom
        "indents": indents,
        "jitter": [round(u((-cfg.jitter, cfg.jitter)), 3) for _ in range(n_lines)],
        "print_lines": printed,
        "heading": heading,
        "ink": int(rng.integers(cfg.ink[0], cfg.ink[1] + 1)),
        "paper": int(rng.integers(cfg.paper[0], cfg.paper[1] + 1)),
        "rotation": 0,
    }


def fit_body_height(params: dict, widths_at_1: list[float], max_width: int) -> float:
    """The body height to draw at, in px: the sampled one, smaller when the widest line
    (plus margins, indents and jitter) would not fit ``max_width`` px.

    Args:
        params: the page's numbers from :func:`sample_page`.
        widths_at_1: each line's width at body height 1 (width / body height).
        max_width: the page width limit in px (2 px are kept free).
    """
    h = float(params["body_height"])
    ml, _, mr, _ = params["margins"]
    span = max((w * (1 + j) + (i + abs(jt)) * SPACE for w, j, i, jt in zip(
        widths_at_1, params["height_jitter"], params["indents"], params["jitter"])), default=1)
    limit = (max_width - 2) / (span + ml + mr)
    return min(h, limit)


def place(params: dict, inks: list[LineInk], body: float, max_height: int,
          heading: LineInk | None = None) -> tuple[list[tuple[int, int]], int, int, int]:
    """Top-left corners of the lines' ink, the page size, and how many lines fit.

    Args:
        params: the page's numbers from :func:`sample_page`.
        inks: the lines' ink at the drawn size, in page order.
        body: the body height actually drawn (px).
        max_height: page height limit (px); lines whose ink (plus the bottom margin) would
            cross it are left off, but at least one line stays.
        heading: a heading's ink, placed above the first line, or None.

    Returns:
        ``(corners, width, height, n)``: ``(x, y)`` px of the first ``n`` lines' ink boxes,
        and the page size in px.
    """
    space = SPACE * body
    ml, mt, mr, mb = (m * body for m in params["margins"])
    least = min(params["indents"])
    xs = [ml + (ind - least + jit) * space for ind, jit in zip(params["indents"], params["jitter"])]
    shift = -min(0.0, min(xs) - ml)  # negative jitter never crosses the left margin
    xs = [int(round(x + shift)) for x in xs]
    corners, y_base, bottom = [], None, mt
    head_h = 0
    if heading is not None:
        head_h = heading.alpha.shape[0] + int(round(params["line_spacing"] * body * 0.5))
    for i, ink in enumerate(inks):
        if y_base is None:
            y_base = mt + head_h + ink.baseline
        else:
            prev = inks[i - 1]
            pitch = params["line_spacing"] * body
            clear = (prev.alpha.shape[0] - prev.baseline) + ink.baseline + params["gap"][i] * body
            y_base += max(pitch, clear)
        top = int(round(y_base - ink.baseline))
        if i and top + ink.alpha.shape[0] + mb > max_height:
            break
        corners.append((xs[i], top))
        bottom = max(bottom, top + ink.alpha.shape[0])
    n = len(corners)
    right = max(x + ink.alpha.shape[1] for (x, _), ink in zip(corners, inks))
    width = int(math.ceil(right + mr))
    if heading is not None:
        width = max(width, int(math.ceil(ml + heading.alpha.shape[1] + mr)))
    height = int(math.ceil(bottom + mb))
    return corners, width, height, n


def heading_corner(params: dict, heading: LineInk, corners, inks, body: float) -> tuple[int, int]:
    """``(x, y)`` px of the heading's ink box: centred over the handwritten block (never
    left of the left margin), its top on the top margin."""
    ml = params["margins"][0] * body
    left = min(x for x, _ in corners)
    right = max(x + ink.alpha.shape[1] for (x, _), ink in zip(corners, inks))
    x = int(round(max(ml, (left + right - heading.alpha.shape[1]) / 2)))
    return x, int(round(params["margins"][1] * body))


def blend(height: int, width: int, paper: int, ink: int, items) -> np.ndarray:
    """A ``(height, width)`` uint8 page: paper of grey level ``paper``, each item
    ``(alpha, x, y)`` (a uint8 ``(h, w)`` alpha mask whose top-left goes to px ``(x, y)``;
    it must fit the page) blended in as ink: ``p - (p - ink) * a / 255``, rounded,
    compounding where lines overlap (darker wins, like real ink)."""
    page = np.full((height, width), paper, np.uint8)
    for alpha, x, y in items:
        h, w = alpha.shape
        region = page[y:y + h, x:x + w]
        a = alpha.astype(np.uint16)
        r = region.astype(np.uint16)
        region[...] = ((r * (255 - a) + ink * a + 127) // 255).astype(np.uint8)
    return page


def leading_spaces(lefts: list[int], space: float) -> list[int]:
    """The indentation rule on pixels: ``n = round((left - least left) / space)`` leading
    spaces per line, for lines' left edges ``lefts`` and a space width ``space`` (both px)."""
    base = min(lefts)
    return [int(round((x - base) / space)) for x in lefts]


def line_record(text: str, x: int, y: int, ink: LineInk) -> dict:
    """A label line: ``text`` with the quad of ``ink``'s box at ``(x, y)`` px (4 ``[x, y]``
    points from the top-left, clockwise, as :func:`synthtext.render.draw.box_quad` makes
    them) and no word quads."""
    h, w = ink.alpha.shape
    return {"text": text, "quad": box_quad(float(x), float(y), float(x + w), float(y + h)),
            "words": []}

"""Draw laid-out lines: measure ink boxes, draw whole lines into an ink mask, compose a page.

Each line is shaped as a whole (kerning and ligatures intact; mixed-direction lines run by
run in visual order) and composed from cached glyph bitmaps (see
:mod:`synthtext.render.glyphs`); only justified lines are shaped word by word, because their
gaps are stretched, and their words are set in the line's visual order. Line and word boxes
are the union of the glyph bitmaps actually drawn, descenders and swashes included, so
nothing is clipped and no ink is unboxed; a word's box covers its own glyphs wherever the
bidi order puts them. Alignment and indentation are visual (from the block's left edge)
for every direction, except that right-to-left lines are never indented (a label's leading
spaces would mean the other edge) and the ragged last line of a justified right-to-left
paragraph is set flush right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from synthtext.render.glyphs import (
    Run,
    SizedFont,
    base_level,
    has_rtl,
    visual_positions,
)
from synthtext.render.layout import LayoutLine

PAD = 2  # px of empty border around the ink mask, so antialiasing is never cut


@dataclass
class Placed:
    """A line's origin, shaped runs and ink box in block coordinates (px, y grows down).

    ``baseline`` is the line's baseline y; boxes are ``(x0, y0, x1, y1)`` with x1, y1
    exclusive; ``bbox`` is None for a line without ink. ``inkless`` is True for a line
    with words that draws no ink, or with a word that draws none (its label would name
    text the image does not show).
    """

    line: LayoutLine
    baseline: int
    xs: list[int]  # x origin of each run: one run for the whole line, or one per word
    runs: list[Run]
    bbox: tuple[float, float, float, float] | None  # ink box (x0, y0, x1, y1)
    word_boxes: list[tuple] = None  # ink box of each word (None for a word with no ink)
    inkless: bool = False


class Measure:
    """Advance widths and metrics of one font at one size (a :class:`SizedFont`).

    Calling it gives the HarfBuzz advance width of a string in px; ``space`` is the width
    of one space, ``ascent``/``descent`` the font's (positive, whole px).
    """

    def __init__(self, font: SizedFont):
        self.font = font
        self.space = font.getlength(" ")
        self.ascent, self.descent = font.ascent, font.descent

    def __call__(self, text: str) -> float:
        return self.font.getlength(text)


def place_lines(measure: Measure, lines: list[LayoutLine], align: str, max_width: float,
                pitch: float) -> list[Placed]:
    """Origins and ink boxes for every line; blank lines take a pitch but have no box.

    Args:
        measure: the font at its size.
        lines: the wrapped lines, in order.
        align: ``left``, ``right``, ``center`` or ``justify`` (the last line of a paragraph
            and one-word lines stay left-aligned).
        max_width: text block width in px.
        pitch: baseline-to-baseline distance in px; line k's baseline is at
            ``ascent + k * pitch``.
    """
    font, placed = measure.font, []
    for k, line in enumerate(lines):
        baseline = int(round(measure.ascent + k * pitch))
        if line.blank:
            placed.append(Placed(line, baseline, [], [], None, []))
            continue
        x0 = line.indent * measure.space
        ragged = line.last_of_paragraph or len(line.words) < 2
        if align == "justify" and not ragged:
            placed.append(_justified(measure, line, baseline, x0, max_width))
            continue
        run = font.run(line.body)
        line_align = align
        if align == "justify" and has_rtl(line.body) and base_level(line.body):
            line_align = "right"  # a right-to-left paragraph's last line ends on the right
        if line_align == "right":
            x0 = max_width - run.advance
        elif line_align == "center":
            x0 = (max_width - run.advance) / 2
        x0 = int(round(x0))
        spans = list(_word_spans(line.words))
        boxes = [_shift(b, x0, baseline) for b in run.boxes(spans)]
        inked = [b for b in boxes if b]  # spaces have no ink: the words' union is the line's
        inkless = not inked or (len(inked) < len(boxes) and any(run.blank(spans)))
        placed.append(Placed(line, baseline, [x0], [run], _union(inked) if inked else None,
                             boxes, inkless))
    return placed


def _justified(measure: Measure, line: LayoutLine, baseline: int, x0: float,
               max_width: float) -> Placed:
    """A justified line: words drawn one by one with the spare width spread over the gaps,
    left to right in the line's visual (bidi) order, each shaped with the line's base
    direction."""
    body, base = line.body, None
    order = list(range(len(line.words)))
    if has_rtl(body):
        base, pos = base_level(body), visual_positions(body)
        spans = list(_word_spans(line.words))
        order.sort(key=lambda i: min(pos[spans[i][0]:spans[i][1]]))
    runs = [measure.font.run(w, base) for w in line.words]
    gap = max((max_width - x0 - sum(r.advance for r in runs)) / (len(runs) - 1), measure.space)
    xs, x = [0] * len(runs), x0
    for i in order:
        xs[i] = int(round(x))
        x += runs[i].advance + gap
    boxes = [_shift(r.box(), x, baseline) for r, x in zip(runs, xs)]
    inked = [b for b in boxes if b]
    return Placed(line, baseline, xs, runs, _union(inked) if inked else None, boxes,
                  len(inked) < len(boxes))


def _word_spans(words: list[str]):
    start = 0
    for w in words:
        yield start, start + len(w)
        start += len(w) + 1


def _shift(box, dx, dy):
    return None if box is None else (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)


def _union(boxes):
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def block_box(placed: list[Placed]) -> tuple[float, float, float, float]:
    """Union ``(x0, y0, x1, y1)`` in px of the ink boxes of the lines that have ink."""
    return _union([p.bbox for p in placed if p.bbox is not None])


def rotated_size(w: float, h: float, degrees: float) -> tuple[float, float]:
    """Width and height of the bounding box of a ``w`` x ``h`` rectangle rotated by
    ``degrees``."""
    a = math.radians(degrees)
    c, s = abs(math.cos(a)), abs(math.sin(a))
    return w * c + h * s, w * s + h * c


def draw_mask(placed: list[Placed]) -> tuple[np.ndarray, list[dict]]:
    """Draw the lines into an ink mask cropped to the block's ink plus PAD px per side.

    Returns:
        The mask, ``(H, W)`` uint8 coverage (0 = paper, 255 = full ink), and per line
        ``{"text", "quad", "words": [{"text", "quad"}]}`` where a quad is 4 ``[x, y]``
        points in px, clockwise from top-left, in mask coordinates (a blank line has
        ``quad`` None and no words; a word without ink gets a zero-width quad).
    """
    x0, y0, x1, y1 = block_box(placed)
    ox, oy = PAD - int(x0), PAD - int(y0)
    mask = np.zeros((int(y1) + oy + PAD, int(x1) + ox + PAD), np.uint8)
    lines = []
    for p in placed:
        if p.bbox is None:
            lines.append({"text": "", "quad": None, "words": []})
            continue
        for x, run in zip(p.xs, p.runs):
            run.draw(mask, x + ox, p.baseline + oy)
        lines.append(_line_record(p, ox, oy))
    return mask, lines


def _line_record(p: Placed, ox: int, oy: int) -> dict:
    l, t, r, b = _shift(p.bbox, ox, oy)
    words = []
    for text, box in zip(p.line.words, p.word_boxes):
        wx0, _, wx1, _ = _shift(box, ox, oy) if box else (l, t, l, b)
        words.append({"text": text, "quad": box_quad(wx0, t, wx1, b)})
    return {"text": p.line.label, "quad": box_quad(l, t, r, b), "words": words}


def box_quad(x0, y0, x1, y1) -> list[list[float]]:
    """The box as a quad: ``[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]`` (clockwise, px)."""
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def drawn_size(placed: list[Placed], degrees: float = 0.0) -> tuple[int, int]:
    """``(width, height)`` in px of the mask :func:`draw_skewed` makes for these lines
    (the ink block plus PAD per side, rotated by ``degrees`` when not 0), without drawing.

    Raises:
        ValueError: no line has ink.
    """
    x0, y0, x1, y1 = block_box(placed)
    w, h = int(x1) - int(x0) + 2 * PAD, int(y1) - int(y0) + 2 * PAD
    return _rotated_canvas(w, h, degrees) if degrees else (w, h)


def _rotated_canvas(w: int, h: int, degrees: float) -> tuple[int, int]:
    nw, nh = rotated_size(w, h, degrees)
    return math.ceil(nw) + 2, math.ceil(nh) + 2


def draw_skewed(placed: list[Placed], degrees: float) -> tuple[np.ndarray, list[dict]]:
    """:func:`draw_mask`, then :func:`rotate_mask` by ``degrees`` (quads moved along) when
    not 0: the final ink mask, ``(H, W)`` uint8, of size :func:`drawn_size`.

    Quads have their corners on pixel edges (pixel ``i`` spans ``[i, i + 1]``). Bilinear
    resampling spreads ink up to 1 px past the inked pixel centres, i.e. 0.5 px past the
    box, so every box grows by 0.5 px per side before it is rotated: the rotated quads then
    hold every pixel centre that got ink.
    """
    mask, records = draw_mask(placed)
    if degrees:
        mask, mat = rotate_mask(mask, degrees)
        move = affine_fn(mat)
        records = transform_lines(records, lambda pts: move(_grow(pts, 0.5)))
    return mask, records


def _grow(pts: np.ndarray, by: float) -> np.ndarray:
    """Corners of axis-aligned box quads (``(4N, 2)``, TL TR BR BL) moved out by ``by`` px."""
    return pts + np.tile([[-by, -by], [by, -by], [by, by], [-by, by]], (len(pts) // 4, 1))


def rotate_mask(mask: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate the ink mask by ``degrees`` (counter-clockwise, OpenCV's convention) about
    its centre into a canvas enlarged to hold it, bilinear.

    Returns:
        The rotated ``(H', W')`` uint8 mask and the 2x3 float64 affine matrix mapping
        mask points ``[x, y]`` to it (for :func:`affine_fn`).
    """
    h, w = mask.shape
    nw, nh = _rotated_canvas(w, h, degrees)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    out = cv2.warpAffine(mask, m, (nw, nh), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out, m


def paper_with_ink(mask: np.ndarray, paper: int, ink: int) -> np.ndarray:
    """Plain paper of tone ``paper`` with ink of tone ``ink`` where the mask says.

    On uniform paper, blending ``p - (p - ink) * a / 255`` is a 256-entry lookup table.
    ``mask`` is ``(H, W)`` uint8 coverage; returns an ``(H, W)`` uint8 grey image.
    """
    a = np.arange(256, dtype=np.int32)
    lut = (paper - ((paper - ink) * a + 127) // 255).astype(np.uint8)
    return cv2.LUT(mask, lut)


def transform_lines(lines: list[dict], fn) -> list[dict]:
    """Apply a point transform ``fn(points (N, 2)) -> (N, 2)`` to every quad at once."""
    quads = [ln["quad"] for ln in lines if ln["quad"] is not None]
    quads += [wd["quad"] for ln in lines for wd in ln["words"]]
    if not quads:
        return lines
    pts = fn(np.asarray(quads, dtype=np.float64).reshape(-1, 2))
    moved = iter(np.round(pts, 2).reshape(-1, 4, 2).tolist())
    out = [{"text": ln["text"], "quad": None if ln["quad"] is None else next(moved),
            "words": []} for ln in lines]
    for o, ln in zip(out, lines):
        o["words"] = [{"text": wd["text"], "quad": next(moved)} for wd in ln["words"]]
    return out


def affine_fn(m: np.ndarray):
    """The point transform, for :func:`transform_lines`, of a 2x3 affine matrix made for
    OpenCV (whose pixel ``i`` is centred on ``i``) applied to points on our pixel grid
    (pixel ``i`` spans ``[i, i + 1]``, centred on ``i + 0.5``)."""
    return lambda pts: (pts - 0.5) @ m[:, :2].T + m[:, 2] + 0.5


def rot90_page(page: np.ndarray, lines: list[dict], degrees: int):
    """Rotate the page counter-clockwise by ``degrees`` (a multiple of 90), quads included.

    ``page`` is ``(H, W)`` uint8; returns the rotated, C-contiguous page and the lines with
    their quads moved onto it.
    """
    k = (degrees // 90) % 4
    for _ in range(k):
        h, w = page.shape[:2]
        page = np.rot90(page)
        lines = transform_lines(lines, lambda p, w=w: np.stack([p[:, 1], w - p[:, 0]], 1))
    return np.ascontiguousarray(page), lines

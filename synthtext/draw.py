"""Draw laid-out lines: measure ink boxes, draw whole lines into an ink mask, compose a page.

Text is drawn as whole lines with raqm layout (kerning and ligatures intact); only justified
lines are drawn word by word, because their gaps are stretched. Boxes come from the font's
real ink bounds (``getbbox``), descenders and swashes included, so nothing is clipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .layout import LayoutLine

PAD = 2  # px of empty border around the ink mask, so antialiasing is never cut


@dataclass
class Placed:
    """A line's origin and ink box in block coordinates (y grows downwards)."""

    line: LayoutLine
    baseline: float
    xs: list[float]  # x origin of each word
    widths: list[float]  # advance width of each word
    bbox: tuple[float, float, float, float] | None  # ink box (x0, y0, x1, y1)
    whole: bool  # drawn as one string (True) or word by word (justified)


class Measure:
    """Advance widths of words in one font, cached for the sample being laid out."""

    def __init__(self, font):
        self.font = font
        self._w: dict[str, float] = {}
        self.space = font.getlength(" ")
        self.ascent, self.descent = font.getmetrics()

    def __call__(self, text: str) -> float:
        w = self._w.get(text)
        if w is None:
            w = self._w[text] = self.font.getlength(text)
        return w


def place_lines(measure: Measure, lines: list[LayoutLine], align: str, max_width: float,
                pitch: float) -> list[Placed]:
    """Origins and ink boxes for every line; blank lines take a pitch but have no box."""
    font, placed = measure.font, []
    for k, line in enumerate(lines):
        baseline = measure.ascent + k * pitch
        if line.blank:
            placed.append(Placed(line, baseline, [], [], None, True))
            continue
        widths = [measure(w) for w in line.words]
        x0 = line.indent * measure.space
        justify = align == "justify" and not line.last_of_paragraph and len(widths) > 1
        if justify:
            gap = (max_width - x0 - sum(widths)) / (len(widths) - 1)
            gap = max(gap, measure.space)
        else:
            gap = measure.space
            body_w = font.getlength(line.body)
            if align == "right":
                x0 = max_width - body_w
            elif align == "center":
                x0 = (max_width - body_w) / 2
        x0 = float(round(x0))
        xs = [x0]
        for w in widths[:-1]:
            xs.append(xs[-1] + w + gap)
        if justify:
            xs = [float(round(x)) for x in xs]
        placed.append(Placed(line, baseline, xs, widths, None, not justify))
        placed[-1].bbox = _ink_box(font, placed[-1])
    return placed


def _ink_box(font, p: Placed) -> tuple[float, float, float, float]:
    if p.whole:
        l, t, r, b = font.getbbox(p.line.body, anchor="ls")
        return (p.xs[0] + l, p.baseline + t, p.xs[0] + r, p.baseline + b)
    boxes = [font.getbbox(w, anchor="ls") for w in p.line.words]
    return (min(x + b[0] for x, b in zip(p.xs, boxes)), p.baseline + min(b[1] for b in boxes),
            max(x + b[2] for x, b in zip(p.xs, boxes)), p.baseline + max(b[3] for b in boxes))


def block_box(placed: list[Placed]) -> tuple[float, float, float, float]:
    boxes = [p.bbox for p in placed if p.bbox is not None]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def rotated_size(w: float, h: float, degrees: float) -> tuple[float, float]:
    a = math.radians(degrees)
    c, s = abs(math.cos(a)), abs(math.sin(a))
    return w * c + h * s, w * s + h * c


def draw_mask(font, placed: list[Placed]) -> tuple[np.ndarray, list[dict]]:
    """Draw the lines into a uint8 ink mask (255 = full ink) cropped to the block's ink.

    Returns the mask and, per line, ``{"text", "quad", "words"}`` in mask coordinates.
    """
    x0, y0, x1, y1 = block_box(placed)
    ox, oy = PAD - math.floor(x0), PAD - math.floor(y0)
    w, h = math.ceil(x1) + ox + PAD, math.ceil(y1) + oy + PAD
    img = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(img)
    lines = []
    for p in placed:
        if p.bbox is None:
            lines.append({"text": "", "quad": None, "words": []})
            continue
        if p.whole:
            draw.text((p.xs[0] + ox, p.baseline + oy), p.line.body, font=font, fill=255,
                      anchor="ls")
        else:
            for x, word in zip(p.xs, p.line.words):
                draw.text((x + ox, p.baseline + oy), word, font=font, fill=255, anchor="ls")
        lines.append(_line_record(p, ox, oy))
    return np.asarray(img), lines


def _line_record(p: Placed, ox: float, oy: float) -> dict:
    l, t, r, b = p.bbox
    l, t, r, b = l + ox, t + oy, r + ox, b + oy
    words = []
    for x, wd, text in zip(p.xs, p.widths, p.line.words):
        wx0, wx1 = max(l, x + ox), min(r, x + ox + wd)
        words.append({"text": text, "quad": box_quad(wx0, t, max(wx0, wx1), b)})
    return {"text": p.line.label, "quad": box_quad(l, t, r, b), "words": words}


def box_quad(x0, y0, x1, y1) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def rotate_mask(mask: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate the ink mask about its centre into an enlarged canvas; returns it and the
    2x3 affine matrix that maps mask points to the rotated canvas."""
    h, w = mask.shape
    nw, nh = rotated_size(w, h, degrees)
    nw, nh = math.ceil(nw) + 2, math.ceil(nh) + 2
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    out = cv2.warpAffine(mask, m, (nw, nh), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out, m


def compose(page: np.ndarray, mask: np.ndarray, x: int, y: int, ink: int) -> None:
    """Blend ink over the page in place where the mask says: ``p - (p - ink) * a``."""
    h, w = mask.shape
    region = page[y:y + h, x:x + w]
    a = mask.astype(np.int32)
    base = region.astype(np.int32)
    region[...] = (base - ((base - ink) * a + 127) // 255).astype(np.uint8)


def transform_lines(lines: list[dict], fn) -> list[dict]:
    """Apply a point transform ``fn(points (N, 2)) -> (N, 2)`` to every quad."""
    def tq(q):
        if q is None:
            return None
        pts = fn(np.asarray(q, dtype=np.float64))
        return [[round(float(x), 2), round(float(y), 2)] for x, y in pts]

    return [{"text": ln["text"], "quad": tq(ln["quad"]),
             "words": [{"text": wd["text"], "quad": tq(wd["quad"])} for wd in ln["words"]]}
            for ln in lines]


def affine_fn(m: np.ndarray):
    return lambda pts: pts @ m[:, :2].T + m[:, 2]


def rot90_page(page: np.ndarray, lines: list[dict], degrees: int):
    """Rotate the page counter-clockwise by a multiple of 90 degrees, quads included."""
    k = (degrees // 90) % 4
    for _ in range(k):
        h, w = page.shape[:2]
        page = np.rot90(page)
        lines = transform_lines(lines, lambda p, w=w: np.stack([p[:, 1], w - p[:, 0]], 1))
    return np.ascontiguousarray(page), lines

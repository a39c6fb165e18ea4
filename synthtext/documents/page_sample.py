"""One real annotated page as a :class:`~synthtext.dataset.sample.Sample`: image, label,
line quads (used by ``synthgen import``).

Rules (also in the README's "Imported pages" section):

- Image: the page decoded as 8-bit grey (like ``render``), EXIF orientation ignored (the
  XML's coordinates refer to the stored pixels), scaled with area averaging so its longer
  side is at most ``max_side`` px; every coordinate is scaled with it.
- Lines: the page's lines in reading order; a line whose text is empty after the label
  text policy is not labelled (its ink stays on the page).
- Quad: the minimum-area rectangle (OpenCV ``minAreaRect``) of the line polygon, as
  4 ``[x, y]`` points TL, TR, BR, BL with TL -> TR the edge pointing most to the right; when
  a corner of that rectangle would leave the image, the polygon's axis-aligned bounding box.
- Indentation (README "Indentation rule" with the stitcher's space width): a space is
  ``SPACE`` x the page's median quad height; a line whose polygon starts ``n`` space widths
  right of the leftmost line of its region gets ``n`` leading spaces.
"""

from __future__ import annotations

import statistics

import cv2
import numpy as np

from synthtext.dataset.sample import Line
from synthtext.documents.model import Document, TextLine

SPACE = 0.5  # space width in median line heights (the stitcher's 0.5 body heights)


def decode_gray(data: bytes) -> np.ndarray | None:
    """Image file bytes as a uint8 ``(H, W)`` grey array (stored orientation), or None when
    OpenCV cannot decode them."""
    buf = np.frombuffer(data, np.uint8)
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION)


def fit_max_side(gray: np.ndarray, max_side: int | None) -> tuple[np.ndarray, tuple[float, float]]:
    """``gray`` shrunk (``cv2.INTER_AREA``) so its longer side is at most ``max_side`` px.

    Returns:
        The image and the (sx, sy) factors from old to new pixel coordinates (new size /
        old size per axis; (1.0, 1.0) when it already fits or ``max_side`` is None).
    """
    h, w = gray.shape
    if not max_side or max(h, w) <= max_side:
        return gray, (1.0, 1.0)
    s = max_side / max(h, w)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    return cv2.resize(gray, (nw, nh), interpolation=cv2.INTER_AREA), (nw / w, nh / h)


def line_quad(polygon: np.ndarray, size: tuple[int, int]) -> list[list[float]]:
    """The quad of a line polygon (module rules) in an image of ``size`` (w, h) px.

    Args:
        polygon: float (N, 2) of (x, y) px, N >= 3, inside the image.

    Returns:
        4 ``[x, y]`` points TL, TR, BR, BL (floats rounded to 0.01 px).
    """
    box = cv2.boxPoints(cv2.minAreaRect(polygon.astype(np.float32))).astype(np.float64)
    w, h = size
    if (box < -0.5).any() or (box[:, 0] > w + 0.5).any() or (box[:, 1] > h + 0.5).any():
        (x0, y0), (x1, y1) = polygon.min(axis=0), polygon.max(axis=0)
        box = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    else:
        box = np.clip(box, 0, [w, h])
        nxt = np.roll(box, -1, axis=0)
        if np.sum(box[:, 0] * nxt[:, 1] - nxt[:, 0] * box[:, 1]) < 0:  # make it clockwise
            box = box[::-1]
        edges = np.roll(box, -1, axis=0) - box
        rightward = edges[:, 0] / np.maximum(np.hypot(edges[:, 0], edges[:, 1]), 1e-9)
        box = np.roll(box, -int(np.argmax(rightward)), axis=0)
    return [[round(float(x), 2), round(float(y), 2)] for x, y in box]


def quad_height(quad: list[list[float]]) -> float:
    """The length of a quad's left edge (TL -> BL) in px."""
    (x0, y0), (x3, y3) = quad[0], quad[3]
    return float(np.hypot(x3 - x0, y3 - y0))


def page_lines(doc: Document, factor: tuple[float, float], size: tuple[int, int]):
    """The labelled lines of ``doc`` scaled by ``factor`` onto an image of ``size`` (w, h).

    Returns:
        ``(lines, info)``: :class:`Line` objects in reading order (indented, module rules)
        and a dict of ``line_ids``, ``line_regions`` (region id per line),
        ``leading_spaces``, ``space_width`` (px, 0.0 without lines) and ``unlabelled``
        (ids of lines left out for empty text).
    """
    f = np.array(factor, dtype=np.float64)
    kept: list[tuple[str, TextLine, np.ndarray]] = []
    unlabelled = []
    for region in doc.regions:
        for line in region.lines:
            if line.text.strip():
                kept.append((region.id, line, line.polygon * f))
            else:
                unlabelled.append(line.id)
    quads = [line_quad(poly, size) for _, _, poly in kept]
    space = SPACE * statistics.median(quad_height(q) for q in quads) if quads else 0.0
    lefts: dict[str, float] = {}
    for rid, _, poly in kept:
        lefts[rid] = min(lefts.get(rid, np.inf), float(poly[:, 0].min()))
    spaces = [round(float(poly[:, 0].min() - lefts[rid]) / space) if space > 0 else 0
              for rid, _, poly in kept]
    lines = [Line(" " * n + line.text.strip(), q, [])
             for n, (_, line, _), q in zip(spaces, kept, quads)]
    info = {"line_ids": [line.id for _, line, _ in kept],
            "line_regions": [rid for rid, _, _ in kept],
            "leading_spaces": spaces, "space_width": round(space, 3),
            "unlabelled": unlabelled}
    return lines, info

"""Turn a real line crop into an ink *alpha* mask at a chosen writing size.

Real crops differ in paper tone, lighting and contrast, and loose crops carry strokes of the
neighbouring lines. Pasting them as rectangles shows seams, so each crop becomes ink
coverage only (0 = paper, 255 = full ink) and is alpha-blended onto one common page.

:func:`prepare` (once per crop; the result is cached):

1. On a small copy, estimate the paper with a max filter (ink is darker than paper, so a
   max over a window wider than a stroke sees paper) and find the *body band* (x-height
   zone): the rows most strokes cross, biased to the crop's centre where its own line is;
   measured again once neighbouring-line strokes are gone.
2. On the small copy too: divide by the paper (flat paper = 0 darkness), map darkness to
   alpha between the paper noise floor and the ink's median darkness (an Otsu split of the
   histogram), keep only connected strokes that somewhere reach real-ink darkness
   (hysteresis: faint bleed-through from the back of the sheet never does), and drop
   strokes of neighbouring lines: ones touching the top (bottom) edge without reaching the
   body band's core, and ones wholly beyond two body heights from it.
3. Scale the crop to a reference size (the config's typical body height), map it to alpha
   the same way, and keep what step 2 kept (its mask, dilated and upscaled). Rows beyond
   1.5 body heights fade out, softening intruders that touch the line's own ink. Crop to
   the ink.

The paper/ink split is Otsu's threshold (N. Otsu, "A Threshold Selection Method from
Gray-Level Histograms", IEEE Trans. SMC 9(1), 1979) and keeping weak pixels only when they
connect to strong ones is hysteresis thresholding as in Canny's edge detector. The other
numbers below (band level, reaches, fade, analysis height) are this project's own choices,
not taken from a paper.

:func:`at_scale` (per page) only resizes that alpha; its bounding box is the line's quad.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SMALL_H = 48  # analysis copy height (px)
BAND_LEVEL = 0.6  # of the peak stroke crossings: rows above it are the body
EDGE_REACH = 0.25  # an edge component must reach this far (in bodies) into the band to stay
FAR = 2.0  # components wholly beyond this many body heights from the band are removed
FADE = 1.5  # rows beyond this many body heights from the band fade out towards FAR
STRONG = 200  # alpha a stroke must reach somewhere to count as ink (hysteresis)
_KERNEL3 = np.ones((3, 3), np.uint8)


@dataclass
class LineInk:
    """A line's ink cropped to the ink (its box is the line's quad), at some scale."""

    alpha: np.ndarray  # uint8 (h, w), 0 = paper, 255 = full ink
    baseline: float  # rows from the top of ``alpha`` to the body band's bottom
    body: float  # body height in ``alpha`` px
    scale: float = 1.0  # alpha px per crop px
    native_width: int = 0  # the crop's width in its own pixels

    def width_per_body(self) -> float:
        """The crop's full width in body heights (an upper bound for the ink's)."""
        return self.native_width * self.scale / self.body


def decode_gray(data: bytes) -> np.ndarray | None:
    """An encoded image (any format OpenCV reads) as a uint8 ``(H, W)`` grey array, or
    None when it does not decode or is smaller than 2 px either way."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None or img.size == 0 or min(img.shape) < 2:
        return None
    return img


PAPER_PERCENTILE = 95  # of a line polygon's pixels: its paper tone (lines are mostly paper)


def cut_polygon(gray: np.ndarray, polygon: np.ndarray) -> np.ndarray | None:
    """The line ``polygon`` cut from a page: its bounding box (clipped to the page) with
    every pixel outside the polygon set to the line's paper tone, so strokes of the
    neighbouring lines are gone before :func:`prepare` sees the crop.

    Args:
        gray: the page, uint8 ``(H, W)``.
        polygon: float (N, 2) of (x, y) page px, N >= 3.

    Returns:
        A uint8 ``(h, w)`` copy, or None when the clipped box is under 2 px either way or
        the polygon covers no pixel. The paper tone is the polygon's
        :data:`PAPER_PERCENTILE` th percentile grey level (a local level follows the
        page's lighting better than one level per page; a fill darker than the paper
        next to it would read as ink).
    """
    h, w = gray.shape
    x0, y0 = np.maximum(np.floor(polygon.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(polygon.max(axis=0)).astype(int) + 1, [w, h])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    crop = gray[y0:y1, x0:x1].copy()
    mask = np.zeros(crop.shape, np.uint8)
    cv2.fillPoly(mask, [np.round(polygon - (x0, y0)).astype(np.int32)], 255)
    outside = mask == 0
    counts = np.cumsum(cv2.calcHist([crop], [0], mask, [256], [0, 256]).ravel())
    if counts[-1] == 0:
        return None
    crop[outside] = np.searchsorted(counts, counts[-1] * PAPER_PERCENTILE / 100)
    return crop


def prepare(gray: np.ndarray, ref_body: float) -> LineInk | str:
    """A crop's ink at body height ``ref_body`` px, or a reject cause (``blank_crop``).

    ``gray`` is the crop, uint8 ``(H, W)``, dark ink on lighter paper. The result's
    ``scale`` is ``ref_body`` px per crop px of body height; ``native_width`` is ``W``.

    Which strokes to keep is decided once, on the small copy; the decision is carried to
    the reference scale as a (dilated, upscaled) mask, so the costly connected-component
    pass never runs on the large image.
    """
    h, w = gray.shape
    k = max(1, h // SMALL_H)
    small = gray if k == 1 else cv2.resize(gray[:h - h % k, :w - w % k], (w // k, h // k),
                                           interpolation=cv2.INTER_AREA)  # exact: fast path
    paper = paper_estimate(small)
    alpha = ink_map(small, paper)
    if alpha is None:
        return "blank_crop"
    top, bottom = body_band(alpha > 0)
    alpha = clean(alpha, top, bottom)  # then measure again without the neighbours
    if not alpha.any():
        return "blank_crop"
    top, bottom = body_band(alpha > 0)
    keep = cv2.dilate((alpha > 0).view(np.uint8) * np.uint8(255), _KERNEL3)
    scale = ref_body * small.shape[0] / ((bottom - top) * h)  # ref px per crop px
    g = resize(gray, scale)
    alpha = ink_map(g, paper)
    if alpha is None:
        return "blank_crop"
    keep = cv2.resize(keep, (g.shape[1], g.shape[0]), interpolation=cv2.INTER_LINEAR)
    alpha = cv2.multiply(alpha, keep, scale=1 / 255)
    f = g.shape[0] / small.shape[0]
    top, bottom = top * f, bottom * f
    _fade_far_rows(alpha, top, bottom)
    ink = _crop(alpha, top, bottom)
    if ink is None:
        return "blank_crop"
    ink.scale, ink.native_width = scale, w
    return ink


def at_scale(ink: LineInk, body: float) -> LineInk | None:
    """The line's ink redrawn at body height ``body`` px, cropped to the ink again (None if
    nothing is left); ``ink`` itself when the size is within 0.1 %."""
    r = body / ink.body
    if abs(r - 1) < 1e-3:
        return ink
    alpha = resize(ink.alpha, r)
    out = _crop(alpha, ink.baseline * r - body, ink.baseline * r)
    if out is not None:
        out.scale, out.native_width = ink.scale * r, ink.native_width
    return out


def resize(img: np.ndarray, scale: float) -> np.ndarray:
    """A uint8 ``(h, w)`` image scaled by ``scale`` (each side rounded, at least 1 px):
    whole factors down are area-averaged first (fast path), the rest is linear."""
    h, w = img.shape
    m = int(1 / scale) if scale < 0.5 else 1
    if m > 1 and h >= m and w >= m:
        img = cv2.resize(img[:h - h % m, :w - w % m], (w // m, h // m),
                         interpolation=cv2.INTER_AREA)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (img.shape[1], img.shape[0]):
        return img
    return cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)


def paper_estimate(small: np.ndarray) -> np.ndarray:
    """Paper tone per pixel of the uint8 ``(h, w)`` copy: a max filter (a square of about
    a quarter of the height, wider than strokes), then a box blur of the same size."""
    size = max(3, (small.shape[0] // 4) | 1)
    bg = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_RECT, (size, size)))
    return cv2.blur(bg, (size, size))


def ink_map(gray: np.ndarray, paper: np.ndarray) -> np.ndarray | None:
    """uint8 alpha (same shape as ``gray``) from darkness relative to ``paper`` (resized
    to ``gray`` if needed): 0 up to the paper noise floor (half the Otsu threshold, at
    least 8), 255 from the ink's median darkness, linear between. None when there is no ink
    contrast (ink side less than 12 levels past the threshold, or lighter than 40)."""
    if paper.shape != gray.shape:
        paper = cv2.resize(paper, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    dark = 255 - cv2.divide(gray, np.maximum(paper, 1), scale=255)
    t, ink = otsu_levels(dark)
    if ink - t < 12 or ink < 40:
        return None
    lo = max(8.0, 0.5 * t)
    hi = max(lo + 8.0, ink)
    lut = np.clip((np.arange(256) - lo) * 255.0 / (hi - lo), 0, 255).astype(np.uint8)
    return cv2.LUT(dark, lut)


def otsu_levels(dark: np.ndarray) -> tuple[float, float]:
    """(Otsu threshold between paper and ink, median darkness of the ink side) of a uint8
    darkness image, in grey levels 0-255 (every other pixel for images over 40,000 px)."""
    sample = dark[::2, ::2] if dark.size > 40000 else dark
    hist = cv2.calcHist([np.ascontiguousarray(sample)], [0], None, [256], [0, 256]).ravel()
    hist = hist.astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    w0 = np.cumsum(hist)
    m0 = np.cumsum(hist * levels)
    total, mean = w0[-1], m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean * w0 / total - m0) ** 2 / (w0 * (total - w0))
    between[~np.isfinite(between)] = 0
    t = int(np.argmax(between))
    c = np.cumsum(hist[t + 1:])
    if c.size == 0 or c[-1] == 0:
        return float(t), float(t)
    return float(t), float(t + 1 + int(np.searchsorted(c, c[-1] / 2)))


def body_band(mask: np.ndarray) -> tuple[float, float]:
    """Rows of the x-height zone: the run of rows around the (centre-biased) peak of the
    stroke-crossing profile that stay above 60% of it. Counting ink/paper transitions per row
    rather than ink pixels is what separates the body from ascenders, descenders and
    horizontal strokes: every body letter crosses a body row, few letters cross the others.
    (On hooker-dev this cut the spread of estimates between lines of one letter by a third.)"""
    h = mask.shape[0]
    prof = np.abs(np.diff(mask.astype(np.int8), axis=1)).sum(axis=1).astype(np.float64)
    win = max(1, h // 24)
    prof = np.convolve(prof, np.ones(win) / win, mode="same")
    centre = 1.0 - 0.4 * np.abs(np.arange(h) - (h - 1) / 2) / max(1.0, h / 2)
    peak = int(np.argmax(prof * centre))
    level = BAND_LEVEL * prof[peak]
    top = peak
    while top > 0 and prof[top - 1] >= level:
        top -= 1
    bottom = peak
    while bottom < h - 1 and prof[bottom + 1] >= level:
        bottom += 1
    top_f, bottom_f = float(top), float(bottom + 1)
    lo, hi = 0.12 * h, 0.7 * h
    if bottom_f - top_f < lo:  # too thin to be the body: widen about its middle
        mid = (top_f + bottom_f) / 2
        top_f, bottom_f = max(0.0, mid - lo / 2), min(float(h), mid + lo / 2)
    elif bottom_f - top_f > hi:
        mid = (top_f + bottom_f) / 2
        top_f, bottom_f = mid - hi / 2, mid + hi / 2
    return top_f, bottom_f


def clean(alpha: np.ndarray, top: float, bottom: float) -> np.ndarray:
    """uint8 ``alpha`` with only the strokes that reach ink darkness (``STRONG``) and
    belong to the line whose body band is rows ``top``-``bottom`` (module docstring)."""
    h = alpha.shape[0]
    body = bottom - top
    ltype = cv2.CV_16U if alpha.size < 65000 else cv2.CV_32S
    n, labels, stats, _ = cv2.connectedComponentsWithStats(
        (alpha > 0).view(np.uint8), connectivity=8, ltype=ltype)
    if n > 1:
        y, hh = stats[:, cv2.CC_STAT_TOP], stats[:, cv2.CC_STAT_HEIGHT]
        yb = y + hh
        core_top, core_bottom = top + EDGE_REACH * body, bottom - EDGE_REACH * body
        keep = np.bincount(labels[alpha >= STRONG], minlength=n) > 0
        keep &= stats[:, cv2.CC_STAT_AREA] > 2
        keep &= ~((y <= 0) & (yb <= core_top))
        keep &= ~((yb >= h) & (y >= core_bottom))
        keep &= ~((yb <= top - FAR * body) | (y >= bottom + FAR * body))
        keep[0] = False
        if not keep[1:].all():
            alpha = alpha * keep[labels]
    return alpha


def _fade_far_rows(alpha: np.ndarray, top: float, bottom: float) -> None:
    """Fade rows from FADE to FAR body heights away from the band; clear rows beyond FAR."""
    h, body = alpha.shape[0], max(bottom - top, 1e-6)
    above_far, above_fade = top - FAR * body, top - FADE * body
    below_fade, below_far = bottom + FADE * body, bottom + FAR * body
    alpha[:max(0, int(np.ceil(above_far - 0.5)))] = 0
    alpha[min(h, max(0, int(np.floor(below_far - 0.5)) + 1)):] = 0
    for y in list(range(max(0, int(above_far)), min(h, int(np.ceil(above_fade))))) + \
            list(range(max(0, int(below_fade)), min(h, int(np.ceil(below_far)) + 1))):
        d = max(top - (y + 0.5), (y + 0.5) - bottom) / body
        if d > FADE:
            f = min(1.0, max(0.0, (FAR - d) / (FAR - FADE)))
            alpha[y] = (alpha[y] * f).astype(np.uint8)


def _crop(alpha: np.ndarray, top: float, bottom: float) -> LineInk | None:
    """Crop to the ink; keep the body band's position relative to the new top."""
    rows = np.flatnonzero(alpha.max(axis=1))
    if rows.size == 0:
        return None
    y0, y1 = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(alpha[y0:y1].max(axis=0))
    x0, x1 = int(cols[0]), int(cols[-1]) + 1
    return LineInk(alpha=np.ascontiguousarray(alpha[y0:y1, x0:x1]), baseline=bottom - y0,
                   body=bottom - top)

"""Ink: stroke weight, fading, blotches and bleed-through from the back of the sheet.

Ink is whatever is darker than the paper colour (:func:`augment.fields.paper_colour`); the
ops change how dark and how wide it is, never where the text is.  ``stroke_width`` reads a
neighbourhood, so it grows the quads by its element; ``ink_fade`` and ``ink_blotches`` act
pixel by pixel, and ``bleed_through`` adds a mirror image of the page that stands for the
writing on the back, not for the lines' text: these three leave the quads alone.
Magnitudes stop short of erasing strokes: thinning is a partial blend, fading keeps at least
half the contrast by default, blotches are a few pixels wide.  Fractions (``amount``,
``strength``, ``darkness``) are of the ink's contrast or of the brightness, 0-1.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from .base import (
    Op,
    as_quads,
    check_image,
    integer,
    legible_uniform,
    new_seed,
    random_shift,
    register,
    shape2,
    uniform,
)
from .fields import multiply_field, paper_colour, pixel_box, smooth_noise
from .spread import grow, kernel_reach


@register
class StrokeWidth(Op):
    """Bolder or thinner strokes (pen width, ink spread): grey erosion/dilation, blended.

    With ``bold_probability`` the ink is eroded (spread) with an elliptic kernel of
    ``bold_kernel`` px (2-7), else dilated (thinned) with ``thin_kernel`` px (2-5); the
    result is blended in by ``amount`` (0-1).  Params: ``{"mode": "bold" | "thin",
    "kernel": px, "amount": float}``.
    """

    name = "stroke_width"
    bold_probability: float = 0.5
    bold_kernel: tuple[int, int] = (2, 3)
    bold_amount: tuple[float, float] = (0.5, 1.0)
    thin_kernel: int = 2
    thin_amount: tuple[float, float] = (0.3, 0.7)

    def validate(self):
        self.check_number("bold_probability", 0.0, 1.0)
        self.check_range("bold_kernel", 2, 7)
        self.check_range("bold_amount", 0.0, 1.0)
        self.check_number("thin_kernel", 2, 5)
        self.check_range("thin_amount", 0.0, 1.0)

    def sample(self, rng, image_shape, quads=None):
        if rng.random() < self.bold_probability:
            return {"mode": "bold", "kernel": integer(rng, self.bold_kernel),
                    "amount": uniform(rng, self.bold_amount)}
        return {"mode": "thin", "kernel": self.thin_kernel, "amount": uniform(rng, self.thin_amount)}

    def apply(self, image, params):
        element = _element(int(params["kernel"]))
        morph = cv2.erode if params["mode"] == "bold" else cv2.dilate  # ink is dark
        changed = morph(check_image(image), element)
        a = float(params["amount"])
        return cv2.addWeighted(image, 1.0 - a, changed, a, 0.0)

    def apply_quads(self, quads, params, image_shape):
        """Boxes grown by the structuring element's reach (up to ``kernel // 2`` px).

        Bold strokes spread ink over it; thin ones can darken a pixel beside a stroke too,
        when the brightest pixel of its neighbourhood was paper now under ink.  OpenCV's
        default morphology border never wins the min/max, so edges need nothing extra.
        """
        if quads is None or float(params["amount"]) == 0.0:
            return super().apply_quads(quads, params, image_shape)
        return grow(quads, kernel_reach(_element(int(params["kernel"]))), image_shape)


def _element(k: int) -> np.ndarray:
    """uint8 ``(k, k)`` elliptic structuring element, anchored at its centre ``k // 2``."""
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))


@register
class InkFade(Op):
    """Uneven ink (drying pen, faded scan): removes up to ``strength`` of the ink's contrast.

    ``strength`` is 0-0.8; the loss varies smoothly over ``cell`` px (>= 8) between
    ``base`` and 1 times ``strength``.  Params: ``{"strength", "cell": px, "base", "seed"}``.
    """

    name = "ink_fade"
    strength: tuple[float, float] = (0.2, 0.5)
    cell: tuple[float, float] = (60.0, 250.0)

    def validate(self):
        self.check_range("strength", 0.0, 0.8)
        self.check_range("cell", 8.0, 10000.0)

    def sample(self, rng, image_shape, quads=None):
        return {"strength": uniform(rng, self.strength), "cell": uniform(rng, self.cell),
                "base": uniform(rng, (0.0, 0.6)), "seed": new_seed(rng)}

    def apply(self, image, params):
        image = check_image(image)
        u = smooth_noise(np.random.default_rng(params["seed"]), image.shape, float(params["cell"]))
        b = float(params["base"])
        lift = float(params["strength"]) * (b + (1.0 - b) * u)
        depth = cv2.subtract(np.full_like(image, paper_colour(image)), image)
        return cv2.add(image, multiply_field(depth, lift))


@register
class InkBlotches(Op):
    """A few small ink drops near the writing; each is 1-3 overlapping soft ellipses.

    ``count`` drops (0-50) of ``radius`` px (0.5-50; with quads capped at 30% of the text
    height) darkening by ``darkness`` (0-1), centred inside a random box when quads are
    given.  Params: ``{"blotches": [{"darkness", "ellipses": [[x, y, rx, ry, deg], ...]}]}``.
    """

    name = "ink_blotches"
    count: tuple[int, int] = (1, 3)
    radius: tuple[float, float] = (1.5, 4.0)
    darkness: tuple[float, float] = (0.5, 0.9)

    def validate(self):
        self.check_range("count", 0, 50)
        self.check_range("radius", 0.5, 50.0)
        self.check_range("darkness", 0.0, 1.0)

    def sample(self, rng, image_shape, quads=None):
        h, w = shape2(image_shape)
        boxes = None if quads is None or not len(as_quads(quads)) else as_quads(quads)
        out = []
        for _ in range(integer(rng, self.count)):
            r = legible_uniform(rng, self.radius, quads, 0.3)
            m = min(8.0 + 3.0 * r, (w - 1) / 2.0, (h - 1) / 2.0)
            if boxes is not None:
                box = boxes[int(rng.integers(len(boxes)))]
                x = uniform(rng, (box[:, 0].min(), box[:, 0].max()))
                y = uniform(rng, (box[:, 1].min(), box[:, 1].max()))
            else:
                x, y = uniform(rng, (m, w - 1 - m)), uniform(rng, (m, h - 1 - m))
            x, y = float(np.clip(x, m, w - 1 - m)), float(np.clip(y, m, h - 1 - m))
            ellipses = []
            for j in range(integer(rng, (1, 3))):
                rr = r if j == 0 else r * uniform(rng, (0.3, 0.6))
                a = uniform(rng, (0.0, 2.0 * math.pi))
                off = 0.0 if j == 0 else r * uniform(rng, (0.8, 1.6))
                ellipses.append([x + off * math.cos(a), y + off * math.sin(a), rr,
                                 rr * uniform(rng, (0.6, 1.0)), uniform(rng, (0.0, 180.0))])
            out.append({"darkness": uniform(rng, self.darkness), "ellipses": ellipses})
        return {"blotches": out}

    def apply(self, image, params):
        out = check_image(image).copy()
        for blot in params["blotches"]:
            e = np.asarray(blot["ellipses"], dtype=np.float64).reshape(-1, 5)
            pad = e[:, 2].max() + 3.0
            box = pixel_box(e[:, 0].min() - pad, e[:, 1].min() - pad,
                            e[:, 0].max() + pad, e[:, 1].max() + pad, out.shape)
            if box is None:
                continue
            x0, y0, x1, y1 = box
            mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
            for cx, cy, rx, ry, ang in e:
                centre = (int(round((cx - x0) * 16)), int(round((cy - y0) * 16)))
                axes = (max(1, int(round(rx * 16))), max(1, int(round(ry * 16))))
                cv2.ellipse(mask, centre, axes, float(ang), 0, 360, 255, -1, cv2.LINE_AA, 4)
            soft = cv2.GaussianBlur(mask, (0, 0), 0.6).astype(np.float32) / 255.0
            factor = 1.0 - float(blot["darkness"]) * soft
            out = multiply_field(out, factor, roi=box)
        return out


@register
class BleedThrough(Op):
    """Writing on the back of the sheet showing through: the page mirrored, blurred, faint.

    The same idea as Augraphy's ``BleedThrough`` (a flipped, blurred, offset copy of the
    page over the front); here the left-right mirror is made at half resolution, blurred
    with std ``blur`` / 2 px (``blur`` 0-20), shifted by up to ``max_shift`` x the page
    side, and darkens the front by ``strength`` (0-0.5) x the mirrored ink's relative depth.  Params:
    ``{"strength", "blur": px, "shift": [dx, dy] px}``.
    """

    name = "bleed_through"
    strength: tuple[float, float] = (0.1, 0.3)
    blur: tuple[float, float] = (1.0, 3.0)
    max_shift: float = 0.02

    def validate(self):
        self.check_range("strength", 0.0, 0.5)
        self.check_range("blur", 0.0, 20.0)
        self.check_number("max_shift", 0.0, 0.5)

    def sample(self, rng, image_shape, quads=None):
        return {"strength": uniform(rng, self.strength), "blur": uniform(rng, self.blur),
                "shift": random_shift(rng, self.max_shift, image_shape)}

    def apply(self, image, params):
        image = check_image(image)
        h, w = image.shape[:2]
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        hh, hw = max(1, h // 2), max(1, w // 2)
        half = cv2.flip(cv2.resize(gray, (hw, hh), interpolation=cv2.INTER_AREA), 1)
        paper = paper_colour(gray)
        dx, dy = params["shift"]
        m = np.array([[1.0, 0.0, dx * hw / w], [0.0, 1.0, dy * hh / h]])
        half = cv2.warpAffine(half, m, (hw, hh), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=paper)
        sigma = float(params["blur"]) / 2.0
        if sigma > 0.05:
            half = cv2.GaussianBlur(half, (0, 0), sigma)
        depth = cv2.subtract(np.full_like(half, paper), half).astype(np.float32)
        factor = 1.0 - float(params["strength"]) * depth / max(paper, 1)
        return multiply_field(image, factor)

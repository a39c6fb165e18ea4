"""Paper: tone and texture, stains, folds — all generated, no image files needed.

Everything here multiplies the page by a factor <= 1 (paper reflects less; ink on it too),
computed at low resolution or inside a small region, then upsampled: shading is smooth, so
this is both cheap and indistinguishable from full-resolution fields.  The models (mottle
plus grain, a ring-edged stain, a Gaussian crease with one-sided shading) are this
package's own; fractions (``tone``, ``darkness``, ``shade``) are of the brightness.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from .base import Op, check_image, integer, new_seed, random_point, register, shape2, uniform
from .fields import multiply_field, normal_noise, pixel_box, smooth_noise

UNIT = 224.0  # paper_texture's factor 1.0 as uint8


@register
class PaperTexture(Op):
    """Paper tone (cream/grey), low-frequency mottling and fine fibre grain.

    ``tone`` (0.5-1) scales the brightness; ``mottle`` (0-0.3) darkens further over blobs
    ``mottle_cell`` px (>= 8) across; ``grain`` (0-0.2) adds noise of that std (as a
    fraction) at half resolution.  Params: ``{"tone", "mottle", "mottle_cell": px,
    "grain", "seed"}``.
    """

    name = "paper_texture"
    tone: tuple[float, float] = (0.85, 1.0)
    mottle: tuple[float, float] = (0.0, 0.06)
    mottle_cell: tuple[float, float] = (60.0, 300.0)
    grain: tuple[float, float] = (0.0, 0.04)

    def validate(self):
        self.check_range("tone", 0.5, 1.0)
        self.check_range("mottle", 0.0, 0.3)
        self.check_range("mottle_cell", 8.0, 10000.0)
        self.check_range("grain", 0.0, 0.2)

    def sample(self, rng, image_shape, quads=None):
        return {"tone": uniform(rng, self.tone), "mottle": uniform(rng, self.mottle),
                "mottle_cell": uniform(rng, self.mottle_cell), "grain": uniform(rng, self.grain),
                "seed": new_seed(rng)}

    def apply(self, image, params):
        image = check_image(image)
        h, w = image.shape[:2]
        rng = np.random.default_rng(params["seed"])
        u = smooth_noise(rng, image.shape, float(params["mottle_cell"]))
        factor = float(params["tone"]) * (1.0 - float(params["mottle"]) * u)
        # factor scaled by UNIT (< 255) leaves head-room for the grain to brighten, too
        f8 = cv2.resize(np.round(factor * UNIT).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)
        grain = float(params["grain"])
        if grain > 0.0:
            half = (max(1, h // 2), max(1, w // 2))
            noise = normal_noise(new_seed(rng), half, grain * UNIT)
            noise = cv2.resize(noise, (w, h), interpolation=cv2.INTER_LINEAR)  # fibre-sized grain
            f8 = cv2.add(f8, noise, dtype=cv2.CV_8U)
        if image.ndim == 3:
            f8 = cv2.merge([f8] * image.shape[2])
        return cv2.multiply(image, f8, scale=1.0 / UNIT)


def _stain_factor(xs, ys, stain) -> np.ndarray:
    """float32 darkening factor of one stain at node coords ``xs``, ``ys`` (px, same shape).

    ``stain`` is ``[x, y, r, darkness, ring, seed]``: a faint blob of radius ``r`` px with a
    wobbly outline (harmonics 2-5) and a darker rim of weight ``ring``, as a dried drop
    leaves (the coffee-ring effect).
    """
    x, y, r, darkness, ring, seed = stain
    rng = np.random.default_rng(int(seed))
    theta = np.arctan2(ys - y, xs - x)
    wobble = np.ones_like(theta)
    for k in range(2, 6):
        wobble += rng.uniform(0.0, 0.12 / k * 2) * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
    rho = np.hypot(xs - x, ys - y) / (r * wobble)
    inside = np.clip((1.0 - rho) / 0.08, 0.0, 1.0)
    rim = np.exp(-(((rho - 1.0) / 0.035) ** 2))
    return (1.0 - darkness * (0.6 * inside + ring * rim)).astype(np.float32)


@register
class Stains(Op):
    """Coffee/water stains: translucent blobs with a darker drying rim; ``radius`` x short side.

    ``count`` stains (0-20) of ``radius`` (0-1 of the short side), ``darkness`` (0-0.4)
    and rim weight ``ring`` (0-1), anywhere on the page.  Params: ``{"stains": [[x, y,
    r_px, darkness, ring, seed], ...]}``.
    """

    name = "stains"
    count: tuple[int, int] = (1, 2)
    radius: tuple[float, float] = (0.04, 0.12)
    darkness: tuple[float, float] = (0.04, 0.15)
    ring: tuple[float, float] = (0.0, 1.0)

    def validate(self):
        self.check_range("count", 0, 20)
        self.check_range("radius", 0.0, 1.0)
        self.check_range("darkness", 0.0, 0.4)
        self.check_range("ring", 0.0, 1.0)

    def sample(self, rng, image_shape, quads=None):
        h, w = shape2(image_shape)
        stains = []
        for _ in range(integer(rng, self.count)):
            stains.append([*random_point(rng, image_shape),
                           uniform(rng, self.radius) * min(h, w), uniform(rng, self.darkness),
                           uniform(rng, self.ring), new_seed(rng)])
        return {"stains": stains}

    def apply(self, image, params):
        out = check_image(image).copy()
        for stain in params["stains"]:
            x, y, r = stain[0], stain[1], stain[2] * 1.3 + 2.0
            box = pixel_box(x - r, y - r, x + r, y + r, out.shape)
            if box is None:
                continue
            x0, y0, x1, y1 = box
            n = max(8, min(96, int(2 * r / 4)))  # ~4 px per node, capped
            xs, ys = np.meshgrid(np.linspace(x0, x1 - 1, n), np.linspace(y0, y1 - 1, n))
            out = multiply_field(out, _stain_factor(xs, ys, stain), roi=box)
        return out


@register
class Fold(Op):
    """A crease across the page (letters folded in thirds): a dark line, one side shaded.

    Mostly horizontal (70%), else vertical, tilted by up to ``max_tilt`` degrees (0-45), at
    20-80% of the page; the crease is a Gaussian line ``width`` px wide (0.5-50) darkening
    by ``darkness`` (0-0.5), one side shaded by up to ``shade`` (0-0.4).  Params:
    ``{"angle": deg, "position", "darkness", "shade", "width": px, "side": 1 | -1}``.
    """

    name = "fold"
    darkness: tuple[float, float] = (0.08, 0.25)
    shade: tuple[float, float] = (0.0, 0.12)
    width: tuple[float, float] = (1.5, 4.0)
    max_tilt: float = 5.0

    def validate(self):
        self.check_range("darkness", 0.0, 0.5)
        self.check_range("shade", 0.0, 0.4)
        self.check_range("width", 0.5, 50.0)
        self.check_number("max_tilt", 0.0, 45.0)

    def sample(self, rng, image_shape, quads=None):
        base = 0.0 if rng.random() < 0.7 else 90.0  # most folds are horizontal
        return {"angle": base + uniform(rng, (-self.max_tilt, self.max_tilt)),
                "position": uniform(rng, (0.2, 0.8)), "darkness": uniform(rng, self.darkness),
                "shade": uniform(rng, self.shade), "width": uniform(rng, self.width),
                "side": 1 if rng.random() < 0.5 else -1}

    def _distance(self, xs, ys, params, shape):
        """Signed distance (px) of points to the crease line."""
        h, w = shape2(shape)
        a = math.radians(params["angle"])
        nx, ny = -math.sin(a), math.cos(a)  # normal of a line running along ``angle``
        horizontal = abs(math.cos(a)) >= abs(math.sin(a))
        px, py = ((w - 1) / 2.0, params["position"] * (h - 1)) if horizontal \
            else (params["position"] * (w - 1), (h - 1) / 2.0)
        return (xs - px) * nx + (ys - py) * ny

    def apply(self, image, params):
        image = check_image(image)
        h, w = image.shape[:2]
        n = (max(2, h // 16), max(2, w // 16))
        xs, ys = np.meshgrid(np.linspace(0, w - 1, n[1]), np.linspace(0, h - 1, n[0]))
        d = self._distance(xs, ys, params, image.shape) * params["side"]
        fall = 0.25 * min(h, w)
        shade = params["shade"] * np.clip(d / 4.0, 0, 1) * np.exp(-np.clip(d, 0, None) / fall)
        out = multiply_field(image, (1.0 - shade).astype(np.float32))
        # the crease itself is sharp: full resolution, but only in the band around the line
        reach = 3.0 * params["width"] + 2.0
        band = self._band(params, image.shape, reach)
        x0, y0, x1, y1 = band
        ys2, xs2 = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        d = self._distance(xs2, ys2, params, image.shape)
        crease = 1.0 - params["darkness"] * np.exp(-((d / params["width"]) ** 2))
        return multiply_field(out, crease.astype(np.float32), roi=band)

    def _band(self, params, shape, reach):
        h, w = shape2(shape)
        a = math.radians(params["angle"])
        if abs(math.cos(a)) >= abs(math.sin(a)):  # near-horizontal: rows around the line
            yc, half = params["position"] * (h - 1), abs(math.tan(a)) * w / 2 + reach / abs(math.cos(a))
            return 0, max(0, int(yc - half)), w, min(h, int(yc + half) + 2)
        xc, half = params["position"] * (w - 1), abs(1 / math.tan(a)) * h / 2 + reach / abs(math.sin(a))
        return max(0, int(xc - half)), 0, min(w, int(xc + half) + 2), h

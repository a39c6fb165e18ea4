"""Optical blur: slightly out of focus (Gaussian, defocus disk) or a moving camera (motion).

Kernels stay small (a few px), and when quads are given their size is also capped by the
text height (sigma <= 6%, motion length <= 25%, disk radius <= 10% of it), so small text
keeps its shape.  The kernels are the textbook ones (Gaussian, line, pillbox); the caps are
this package's own choices, checked by the legibility test in ``tests/test_augment.py``.
Blurring spreads ink by the kernel's radius, so the quads grow by it
(:func:`augment.spread.grow`).
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from .base import Op, check_image, legible_uniform, register, uniform
from .spread import box_reach, grow, kernel_reach


@register
class GaussianBlur(Op):
    """Soft focus: a Gaussian of std ``sigma`` px (range 0-10; below 0.05 px a no-op).

    Params: ``{"sigma": px}``.
    """

    name = "gaussian_blur"
    sigma: tuple[float, float] = (0.4, 1.0)

    def validate(self):
        self.check_range("sigma", 0.0, 10.0)

    def sample(self, rng, image_shape, quads=None):
        return {"sigma": legible_uniform(rng, self.sigma, quads, 0.06)}

    def apply(self, image, params):
        sigma = float(params["sigma"])
        if sigma < 0.05:
            return check_image(image).copy()
        return cv2.GaussianBlur(check_image(image), (0, 0), sigma)

    def apply_quads(self, quads, params, image_shape):
        """Boxes grown by the kernel's radius: ``round(6 sigma + 1) | 1`` is the kernel size
        OpenCV picks for 8-bit images (``cvRound``, made odd), i.e. about 3 sigma each side.

        OpenCV cuts the Gaussian at 3 sigma for 8-bit data because the tail left out is
        0.13% of the weight per side, 0.34 grey levels at full (255) contrast: less than
        the 8-bit step.  Past that cut the kernel is exactly zero, so the cut is the reach.
        The default ``BORDER_REFLECT_101`` only folds a square reach onto itself.
        """
        sigma = float(params["sigma"])
        if quads is None or sigma < 0.05:
            return super().apply_quads(quads, params, image_shape)
        r = float((int(round(6.0 * sigma + 1.0)) | 1) // 2)
        return grow(quads, box_reach(r, r), image_shape)


def motion_kernel(length: float, angle: float) -> np.ndarray:
    """A float32 ``(k, k)`` kernel summing to 1: an anti-aliased line ``length`` px long.

    ``angle`` is in degrees, counter-clockwise from the x axis (image y points down);
    ``k`` is ``ceil(length)`` rounded up to odd.  The line is drawn at 4x and area-averaged.
    """
    size = int(math.ceil(length)) | 1
    k = np.zeros((size * 4, size * 4), np.uint8)
    c = (size * 4 - 1) / 2.0
    dx, dy = math.cos(math.radians(angle)) * length * 2, -math.sin(math.radians(angle)) * length * 2
    p0 = (int(round((c - dx) * 16)), int(round((c - dy) * 16)))
    p1 = (int(round((c + dx) * 16)), int(round((c + dy) * 16)))
    cv2.line(k, p0, p1, 255, 4, cv2.LINE_AA, 4)
    small = cv2.resize(k.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    return small / max(float(small.sum()), 1e-6)


@register
class MotionBlur(Op):
    """Camera shake: a line kernel ``length`` px long (range 1-31) at an angle in [0, 180) deg.

    Params: ``{"length": px, "angle": degrees}``; borders replicate.
    """

    name = "motion_blur"
    length: tuple[float, float] = (3.0, 7.0)

    def validate(self):
        self.check_range("length", 1.0, 31.0)

    def sample(self, rng, image_shape, quads=None):
        length = max(1.0, legible_uniform(rng, self.length, quads, 0.25))
        return {"length": length, "angle": uniform(rng, (0.0, 180.0))}

    def apply(self, image, params):
        kernel = motion_kernel(float(params["length"]), float(params["angle"]))
        return cv2.filter2D(check_image(image), -1, kernel, borderType=cv2.BORDER_REPLICATE)

    def apply_quads(self, quads, params, image_shape):
        """Boxes grown by the line kernel's non-zero entries (half its length along it);
        the replicated border smears ink on the canvas edge along that edge, too."""
        if quads is None:
            return None
        kernel = motion_kernel(float(params["length"]), float(params["angle"]))
        return grow(quads, kernel_reach(kernel), image_shape, replicate=True)


def disk_kernel(radius: float) -> np.ndarray:
    """A float32 ``(2r+1, 2r+1)`` kernel summing to 1, ``r = ceil(radius)``: a disk of
    ``radius`` px with a 1 px linear anti-aliased rim (the pillbox model of lens defocus)."""
    r = int(math.ceil(radius))
    y, x = np.mgrid[-r:r + 1, -r:r + 1]
    k = np.clip(radius + 0.5 - np.hypot(x, y), 0.0, 1.0).astype(np.float32)
    return k / float(k.sum())


@register
class DefocusBlur(Op):
    """Out of focus: a disk kernel of ``radius`` px (range 0-15; below 0.3 px a no-op).

    Params: ``{"radius": px}``; borders replicate.
    """

    name = "defocus_blur"
    radius: tuple[float, float] = (0.8, 2.0)

    def validate(self):
        self.check_range("radius", 0.0, 15.0)

    def sample(self, rng, image_shape, quads=None):
        return {"radius": legible_uniform(rng, self.radius, quads, 0.1)}

    def apply(self, image, params):
        radius = float(params["radius"])
        if radius < 0.3:
            return check_image(image).copy()
        return cv2.filter2D(check_image(image), -1, disk_kernel(radius), borderType=cv2.BORDER_REPLICATE)

    def apply_quads(self, quads, params, image_shape):
        """Boxes grown by the disk kernel's non-zero entries (``radius`` + 1/2 px, rim included)."""
        radius = float(params["radius"])
        if quads is None or radius < 0.3:
            return super().apply_quads(quads, params, image_shape)
        return grow(quads, kernel_reach(disk_kernel(radius)), image_shape, replicate=True)

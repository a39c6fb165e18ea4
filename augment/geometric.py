"""Matrix warps (rotation, shear/slant, perspective, zoom) and resampling to another size.

The matrix warps keep the canvas size and are fitted so content stays inside it (see
:mod:`augment.warp`).  ``resample`` is the one op that changes the image shape: it simulates
another scan resolution, and its params record the new size.  Angles are in degrees,
shears are tangents (x shifted by ``shear_x`` px per px of y), shifts are fractions of the
canvas side; the params of the matrix warps also hold ``fit = [s, tx, ty]``.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from .base import as_quads, check_image, random_shift, register, shape2, uniform
from .quads import REACH, dilate, enclose, inside_canvas
from .warp import GeometricOp, HomographyOp, centred


@register
class Rotate(HomographyOp):
    """Small in-plane rotation of the whole page (scanned or photographed slightly askew).

    Angle uniform in ``±max_degrees`` (0-10 deg), about the canvas centre.  Params:
    ``{"degrees": deg, "fit": [s, tx, ty]}``.
    """

    name = "rotate"
    max_degrees: float = 1.5

    def validate(self):
        super().validate()
        self.check_number("max_degrees", 0.0, 10.0)

    def draw(self, rng, shape):
        return {"degrees": uniform(rng, (-self.max_degrees, self.max_degrees))}

    def shrink(self, raw, t):
        return {"degrees": raw["degrees"] * t}

    def raw_matrix(self, params, shape):
        a = math.radians(params["degrees"])
        c, s = math.cos(a), math.sin(a)
        return centred(np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]]), shape)


@register
class Shear(HomographyOp):
    """Shear: ``shear_x`` slants the writing like a different pen angle, ``shear_y`` skews lines.

    Both are tangents drawn uniformly in ``±max_shear_x`` (0-0.5) and ``±max_shear_y``
    (0-0.2), about the canvas centre.  Params: ``{"shear_x", "shear_y", "fit"}``.
    """

    name = "shear"
    max_shear_x: float = 0.08
    max_shear_y: float = 0.015

    def validate(self):
        super().validate()
        self.check_number("max_shear_x", 0.0, 0.5)
        self.check_number("max_shear_y", 0.0, 0.2)

    def draw(self, rng, shape):
        return {"shear_x": uniform(rng, (-self.max_shear_x, self.max_shear_x)),
                "shear_y": uniform(rng, (-self.max_shear_y, self.max_shear_y))}

    def shrink(self, raw, t):
        return {"shear_x": raw["shear_x"] * t, "shear_y": raw["shear_y"] * t}

    def raw_matrix(self, params, shape):
        kx, ky = params["shear_x"], params["shear_y"]
        return centred(np.array([[1.0, kx, 0.0], [ky, 1.0, 0.0], [0.0, 0.0, 1.0]]), shape)


@register
class Perspective(HomographyOp):
    """Camera not square to the page: each corner moves by up to ``max_shift`` x the short side.

    ``max_shift`` is 0-0.2.  Params: ``{"corners": [[dx, dy] x 4] px (TL, TR, BR, BL), "fit"}``.
    """

    name = "perspective"
    max_shift: float = 0.04

    def validate(self):
        super().validate()
        self.check_number("max_shift", 0.0, 0.2)

    def draw(self, rng, shape):
        d = self.max_shift * min(shape2(shape))
        return {"corners": [[uniform(rng, (-d, d)), uniform(rng, (-d, d))] for _ in range(4)]}

    def shrink(self, raw, t):
        return {"corners": [[dx * t, dy * t] for dx, dy in raw["corners"]]}

    def raw_matrix(self, params, shape):
        h, w = shape2(shape)
        src = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float64)
        dst = src + np.asarray(params["corners"], dtype=np.float64)
        return _homography(src, dst)


def _homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3x3 matrix mapping 4 ``src`` points to ``dst`` (both ``(4, 2)`` px), in float64.

    The standard 8-unknown linear system with ``h33 = 1`` (as OpenCV's
    ``getPerspectiveTransform`` solves it), here in float64 so quads and pixels agree.
    """
    a, b = [], []
    for (x, y), (u, v) in zip(src, dst):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b.extend([u, v])
    h = np.linalg.solve(np.asarray(a), np.asarray(b))
    return np.append(h, 1.0).reshape(3, 3)


@register
class Scale(HomographyOp):
    """Zoom and shift inside the same canvas (text size and position vary between scans).

    ``scale`` (0.5-2) is the mean zoom, ``aspect`` (0.5-2) the x/y zoom ratio, ``max_shift``
    (0-0.3) the largest shift as a fraction of width / height.  Params: ``{"scale",
    "aspect", "shift": [dx, dy] px, "fit"}``.
    """

    name = "scale"
    scale: tuple[float, float] = (0.9, 1.05)
    aspect: tuple[float, float] = (0.95, 1.05)
    max_shift: float = 0.02

    def validate(self):
        super().validate()
        self.check_range("scale", 0.5, 2.0)
        self.check_range("aspect", 0.5, 2.0)
        self.check_number("max_shift", 0.0, 0.3)

    def draw(self, rng, shape):
        return {"scale": uniform(rng, self.scale), "aspect": uniform(rng, self.aspect),
                "shift": random_shift(rng, self.max_shift, shape)}

    def shrink(self, raw, t):
        return {"scale": 1.0 + (raw["scale"] - 1.0) * t, "aspect": 1.0 + (raw["aspect"] - 1.0) * t,
                "shift": [raw["shift"][0] * t, raw["shift"][1] * t]}

    def raw_matrix(self, params, shape):
        r = math.sqrt(params["aspect"])
        sx, sy = params["scale"] * r, params["scale"] / r
        dx, dy = params["shift"]
        return centred(np.array([[sx, 0.0, dx], [0.0, sy, dy], [0.0, 0.0, 1.0]]), shape)


@register
class Resample(GeometricOp):
    """Another scan resolution: the page is resized by ``factor`` (changes the image shape).

    ``factor`` is 0.1-4; shrinking uses area averaging, enlarging bilinear interpolation.
    Params: ``{"factor": float, "size": [H, W]}`` (the new shape, px).  No preset uses it.
    """

    name = "resample"
    fusable = False
    factor: tuple[float, float] = (0.7, 1.0)

    def validate(self):
        self.check_range("factor", 0.1, 4.0)

    def sample(self, rng, image_shape, quads=None):
        h, w = shape2(image_shape)
        f = uniform(rng, self.factor)
        return {"factor": f, "size": [max(1, int(round(h * f))), max(1, int(round(w * f)))]}

    def output_shape(self, params, image_shape):
        return int(params["size"][0]), int(params["size"][1])

    def apply(self, image, params):
        h2, w2 = self.output_shape(params, image.shape)
        if (h2, w2) == image.shape[:2]:
            return check_image(image).copy()
        down = h2 * w2 < image.shape[0] * image.shape[1]
        interp = cv2.INTER_AREA if down else cv2.INTER_LINEAR
        return cv2.resize(check_image(image), (w2, h2), interpolation=interp)

    def move_corners(self, quads, params, image_shape):
        if quads is None:
            return None
        h, w = shape2(image_shape)
        h2, w2 = self.output_shape(params, image_shape)
        q = as_quads(quads).copy()
        q[..., 0] = (q[..., 0] + 0.5) * (w2 / w) - 0.5
        q[..., 1] = (q[..., 1] + 0.5) * (h2 / h) - 0.5
        return q

    def apply_quads(self, quads, params, image_shape):
        """Corners scaled with the pixel grid, edges pushed past the resize's footprint.

        Bilinear enlarging reads source pixels less than :data:`~augment.quads.REACH` px
        away; area shrinking by ``s`` = old/new side averages those less than
        ``(s + 1) / 2`` px from the output pixel's centre (OpenCV's ``INTER_AREA``).
        """
        if quads is None:
            return None
        q, shape = as_quads(quads), shape2(image_shape)
        (h, w), (h2, w2) = shape, self.output_shape(params, image_shape)
        if (h2, w2) == (h, w) or not len(q):
            return q.copy()
        rx, ry = REACH, REACH
        if h2 * w2 < h * w:  # apply() shrinks with INTER_AREA
            rx, ry = (w / w2 + 1.0) / 2.0, (h / h2 + 1.0) / 2.0
        grown = self.move_corners(dilate(q, rx, ry).reshape(-1, 4, 2), params, shape)
        grown = grown.reshape(len(q), 16, 2)
        return inside_canvas(enclose(self.move_corners(q, params, shape), grown), (h2, w2))

"""Light falling on the page: cast shadows and brightness gradients (phone photos, lamps).

Both are smooth darkening fields made on a grid ~16 px apart and upsampled; they only scale
brightness, so ink keeps its contrast ratio and the text stays readable in the shade.
The shapes (a sigmoid-edged straight shadow, a linear or radial fall-off with a gamma) are
this package's own simple models; ``darkness`` and ``low`` are fractions of brightness.
"""
from __future__ import annotations

import math

import numpy as np

from .base import Op, check_image, random_point, register, shape2, uniform
from .fields import multiply_field, node_coords

CELL = 16  # node spacing of the shading fields, px


def _nodes(shape):
    h, w = shape2(shape)
    return node_coords(shape, (max(2, h // CELL + 1), max(2, w // CELL + 1)))


def _projection(xs, ys, angle: float, shape):
    """Position of nodes along direction ``angle`` (radians), scaled to [0, 1] over the page."""
    h, w = shape2(shape)
    nx, ny = math.cos(angle), math.sin(angle)
    p = (xs - (w - 1) / 2.0) * nx + (ys - (h - 1) / 2.0) * ny
    extent = abs(nx) * (w - 1) / 2.0 + abs(ny) * (h - 1) / 2.0
    return (p / max(extent, 1e-6) + 1.0) / 2.0


@register
class Shadow(Op):
    """A straight-edged shadow (hand, phone, book gutter) over ``coverage`` of the page.

    The shadow comes from a direction drawn in [0, 360) degrees, covers ``coverage`` (0-1)
    of the page along it, darkens by ``darkness`` (0-0.7) and has a sigmoid edge
    ``softness`` (0.005-1) of the page across.  Params: ``{"angle": deg, "coverage",
    "darkness", "softness"}``.
    """

    name = "shadow"
    darkness: tuple[float, float] = (0.15, 0.45)
    coverage: tuple[float, float] = (0.05, 0.4)
    softness: tuple[float, float] = (0.02, 0.08)

    def validate(self):
        self.check_range("darkness", 0.0, 0.7)
        self.check_range("coverage", 0.0, 1.0)
        self.check_range("softness", 0.005, 1.0)

    def sample(self, rng, image_shape, quads=None):
        return {"angle": uniform(rng, (0.0, 360.0)), "coverage": uniform(rng, self.coverage),
                "darkness": uniform(rng, self.darkness), "softness": uniform(rng, self.softness)}

    def apply(self, image, params):
        image = check_image(image)
        xs, ys = _nodes(image.shape)
        t = _projection(xs, ys, math.radians(params["angle"]), image.shape)
        edge = 1.0 - float(params["coverage"])
        z = (t - edge) / (float(params["softness"]) / 2.0)
        cover = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        return multiply_field(image, (1.0 - float(params["darkness"]) * cover).astype(np.float32))


@register
class LightingGradient(Op):
    """Uneven illumination: a linear fall-off or a radial spot, down to ``low`` brightness.

    ``low`` is 0.2-1 of full brightness; the fall-off runs along a direction in [0, 360)
    degrees, or (with ``radial_probability``) out from a centre to the farthest corner,
    shaped by a gamma in [0.7, 2].  Params: ``{"low", "gamma", "kind": "linear", "angle":
    deg}`` or ``{"low", "gamma", "kind": "radial", "centre": [x, y] px}``.
    """

    name = "lighting_gradient"
    low: tuple[float, float] = (0.7, 0.95)
    radial_probability: float = 0.5

    def validate(self):
        self.check_range("low", 0.2, 1.0)
        self.check_number("radial_probability", 0.0, 1.0)

    def sample(self, rng, image_shape, quads=None):
        p = {"low": uniform(rng, self.low), "gamma": uniform(rng, (0.7, 2.0))}
        if rng.random() < self.radial_probability:
            p.update(kind="radial", centre=random_point(rng, image_shape))
        else:
            p.update(kind="linear", angle=uniform(rng, (0.0, 360.0)))
        return p

    def apply(self, image, params):
        image = check_image(image)
        h, w = image.shape[:2]
        xs, ys = _nodes(image.shape)
        if params["kind"] == "radial":
            cx, cy = params["centre"]
            d = np.hypot(xs - cx, ys - cy)
            corner = max(math.hypot(x - cx, y - cy) for x in (0, w - 1) for y in (0, h - 1))
            t = d / max(corner, 1e-6)
        else:
            t = _projection(xs, ys, math.radians(params["angle"]), image.shape)
        fall = np.clip(t, 0.0, 1.0) ** float(params["gamma"])
        return multiply_field(image, (1.0 - (1.0 - float(params["low"])) * fall).astype(np.float32))

"""The camera/scanner: sensor noise, JPEG compression, low resolution.

Noise is drawn from a seed stored in params (see :func:`augment.fields.normal_noise`), so a
logged sample replays bit-exactly without storing the noise itself.  The noise models
(additive Gaussian, multiplicative speckle, salt and pepper) and JPEG re-encoding are the
textbook ones; ranges are this package's own choices.  The noises act pixel by pixel and
leave quads alone; JPEG and the resize round trip spread ink, so quads grow by their reach
(:mod:`augment.spread`).
"""
from __future__ import annotations

import cv2
import numpy as np

from .base import (
    Op,
    check_image,
    integer,
    new_seed,
    register,
    shape2,
    text_height,
    uniform,
)
from .fields import normal_noise
from .spread import box_reach, grow, grow_to_blocks


@register
class GaussianNoise(Op):
    """Additive sensor noise with std ``sigma`` grey levels (0-40), saturating at 0 and 255.

    Params: ``{"sigma": grey levels, "seed"}``.
    """

    name = "gaussian_noise"
    sigma: tuple[float, float] = (2.0, 8.0)

    def validate(self):
        self.check_range("sigma", 0.0, 40.0)

    def sample(self, rng, image_shape, quads=None):
        return {"sigma": uniform(rng, self.sigma), "seed": new_seed(rng)}

    def apply(self, image, params):
        image = check_image(image)
        noise = normal_noise(params["seed"], image.shape, float(params["sigma"]))
        return cv2.add(image, noise, dtype=cv2.CV_8U)


@register
class SpeckleNoise(Op):
    """Multiplicative noise, stronger on bright paper; ``grain`` > 1 px makes it blotchier.

    Each pixel becomes ``v * (1 + n)``, ``n`` of std ``sigma`` (0-0.3) drawn on a grid
    ``grain`` px apart (1-8) and upsampled.  Params: ``{"sigma", "grain": px, "seed"}``.
    """

    name = "speckle_noise"
    sigma: tuple[float, float] = (0.02, 0.08)
    grain: tuple[float, float] = (1.0, 2.0)

    def validate(self):
        self.check_range("sigma", 0.0, 0.3)
        self.check_range("grain", 1.0, 8.0)

    def sample(self, rng, image_shape, quads=None):
        return {"sigma": uniform(rng, self.sigma), "grain": uniform(rng, self.grain),
                "seed": new_seed(rng)}

    def apply(self, image, params):
        image = check_image(image)
        h, w = image.shape[:2]
        g = float(params["grain"])
        small = (max(1, int(round(h / g))), max(1, int(round(w / g)))) + image.shape[2:]
        noise = normal_noise(params["seed"], small, float(params["sigma"]) * 256.0)
        if small[:2] != (h, w):
            noise = cv2.resize(noise, (w, h), interpolation=cv2.INTER_LINEAR)
        term = cv2.multiply(image, noise, scale=1.0 / 256.0, dtype=cv2.CV_16S)
        return cv2.add(image, term, dtype=cv2.CV_8U)


@register
class SaltPepper(Op):
    """Isolated white and dark pixels (dust, dead pixels) on ``amount`` of the pixels.

    ``amount`` is a fraction (0-0.05); ``salt_ratio`` of them become 255, the rest a dark
    level in [0, 60).  Params: ``{"amount", "salt_ratio", "seed"}``.
    """

    name = "salt_pepper"
    amount: tuple[float, float] = (0.0005, 0.003)
    salt_ratio: float = 0.5

    def validate(self):
        self.check_range("amount", 0.0, 0.05)
        self.check_number("salt_ratio", 0.0, 1.0)

    def sample(self, rng, image_shape, quads=None):
        return {"amount": uniform(rng, self.amount), "salt_ratio": self.salt_ratio,
                "seed": new_seed(rng)}

    def apply(self, image, params):
        out = check_image(image).copy()
        h, w = out.shape[:2]
        rng = np.random.default_rng(params["seed"])
        n = int(round(float(params["amount"]) * h * w))
        idx = rng.integers(0, h * w, n)
        salt = rng.random(n) < float(params["salt_ratio"])
        flat = out.reshape(h * w, -1)
        flat[idx[salt]] = 255
        flat[idx[~salt]] = rng.integers(0, 60, int((~salt).sum()), dtype=np.uint8)[:, None]
        return out


@register
class Jpeg(Op):
    """JPEG compression artefacts (blocking, ringing) at ``quality`` 1-100 (OpenCV's encoder).

    Params: ``{"quality": int}``.  Raises RuntimeError if OpenCV cannot encode the image.
    """

    name = "jpeg"
    quality: tuple[int, int] = (30, 90)

    def validate(self):
        self.check_range("quality", 1, 100)

    def sample(self, rng, image_shape, quads=None):
        return {"quality": integer(rng, self.quality)}

    def apply(self, image, params):
        quality = [cv2.IMWRITE_JPEG_QUALITY, int(params["quality"])]
        ok, buf = cv2.imencode(".jpg", check_image(image), quality)
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED).reshape(image.shape)

    def apply_quads(self, quads, params, image_shape):
        """Boxes grown over the coding blocks they meet (ringing fills a whole block).

        A grey image is coded in independent 8x8 blocks.  A colour one (``image_shape``
        ``(H, W, 3)``) is coded in 16x16 blocks with OpenCV's default 4:2:0 chroma
        subsampling, whose smooth upsampling on decoding reaches 1 px into the next block.
        """
        if quads is None:
            return None
        colour = len(image_shape) == 3 and image_shape[2] > 1
        return grow_to_blocks(quads, 16 if colour else 8, image_shape, extra=1.0 if colour else 0.0)


@register
class DownscaleUpscale(Op):
    """A low-resolution capture brought back to page size: soft, slightly aliased strokes.

    The page is shrunk by ``factor`` (0.1-1; with quads raised so text stays >= 10 px
    tall) with area or bilinear interpolation and enlarged back with bilinear, bicubic or
    nearest.  Params: ``{"factor", "down": "area" | "linear", "up": "linear" | "cubic" |
    "nearest"}``.
    """

    name = "downscale_upscale"
    factor: tuple[float, float] = (0.5, 0.85)

    def validate(self):
        self.check_range("factor", 0.1, 1.0)

    def sample(self, rng, image_shape, quads=None):
        factor, h = uniform(rng, self.factor), text_height(quads)
        if h is not None:  # keep text at least 10 px tall in the low-resolution copy
            factor = max(factor, min(1.0, 10.0 / h))
        return {"factor": factor,
                "down": "area" if rng.random() < 0.5 else "linear",
                "up": ["linear", "cubic", "nearest"][int(rng.choice(3, p=[0.6, 0.3, 0.1]))]}

    def apply(self, image, params):
        image = check_image(image)
        h, w = shape2(image.shape)
        sw, sh = _small_size(h, w, float(params["factor"]))
        interp = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC,
                  "nearest": cv2.INTER_NEAREST}
        small = cv2.resize(image, (sw, sh), interpolation=interp[params["down"]])
        return cv2.resize(small, (w, h), interpolation=interp[params["up"]])

    def apply_quads(self, quads, params, image_shape):
        """Boxes grown by the round trip's reach along x and y (see :func:`round_trip_reach`)."""
        if quads is None:
            return None
        h, w = shape2(image_shape)
        sw, sh = _small_size(h, w, float(params["factor"]))
        rx = round_trip_reach(w, sw, params["down"], params["up"])
        ry = round_trip_reach(h, sh, params["down"], params["up"])
        if rx == ry == 0.0:
            return super().apply_quads(quads, params, image_shape)
        return grow(quads, box_reach(rx, ry), image_shape)


def _small_size(h: int, w: int, factor: float) -> tuple[int, int]:
    """``(width, height)`` px of the low-resolution copy, each at least 1."""
    return max(1, int(round(w * factor))), max(1, int(round(h * factor)))


def round_trip_reach(n: int, m: int, down: str, up: str) -> float:
    """How far (px) an input pixel reaches along one axis when ``n`` px are resized to ``m``
    (``m <= n``) with ``down`` and back to ``n`` with ``up`` (names as in DownscaleUpscale).

    With ``s = n / m`` and distances in input px between pixel centres, a small pixel reads
    input pixels less than ``(s + 1) / 2`` away (area: those its footprint overlaps) or 1
    (linear: the two around its centre); an output pixel reads small pixels less than
    ``s`` away (linear), ``2 s`` (cubic: four taps) or ``(s + 1) / 2`` (nearest: OpenCV
    picks ``floor(x m / n)``).  The reach is the sum; 0 when ``m == n`` (the axis is copied).
    """
    if m >= n:
        return 0.0
    s = n / m
    return {"area": (s + 1.0) / 2.0, "linear": 1.0}[down] + \
        {"linear": s, "cubic": 2.0 * s, "nearest": (s + 1.0) / 2.0}[up]

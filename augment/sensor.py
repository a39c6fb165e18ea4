"""The camera/scanner: sensor noise, JPEG compression, low resolution.

Noise is drawn from a seed stored in params (see :func:`augment.fields.normal_noise`), so a
logged sample replays bit-exactly without storing the noise itself.  The noise models
(additive Gaussian, multiplicative speckle, salt and pepper) and JPEG re-encoding are the
textbook ones; ranges are this package's own choices.
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
        f = float(params["factor"])
        sw, sh = max(1, int(round(w * f))), max(1, int(round(h * f)))
        interp = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC,
                  "nearest": cv2.INTER_NEAREST}
        small = cv2.resize(image, (sw, sh), interpolation=interp[params["down"]])
        return cv2.resize(small, (w, h), interpolation=interp[params["up"]])

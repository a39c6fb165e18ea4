"""Cheap full-page fields: smooth random fields made at low resolution, LUT-based noise.

Smooth shading (paper mottle, shadows, gradients, folds, ink fade) varies over tens of pixels,
so it is computed on a grid a few pixels to a few tens of pixels apart and upsampled with
``cv2.resize`` as uint8, then applied with one saturating ``cv2.multiply``.  Per-pixel
Gaussian noise is drawn as random bytes mapped through a 256-entry inverse-normal table,
which is ~8x faster than ``Generator.standard_normal`` on a page and indistinguishable in
an image (it is quantised to the 256 quantiles and clipped at about 2.9 sigma).
"""
from __future__ import annotations

import functools
from statistics import NormalDist

import cv2
import numpy as np


def paper_colour(image: np.ndarray):
    """The page's paper colour: the median of a thin ring along the image border.

    Used as the fill for areas a warp uncovers and as the reference for ink ops; the border
    is where paper is most reliably free of text.
    """
    b = max(1, min(4, image.shape[0] // 4, image.shape[1] // 4))
    ring = np.concatenate([
        image[:b, ::3].reshape(-1, *image.shape[2:]), image[-b:, ::3].reshape(-1, *image.shape[2:]),
        image[::3, :b].reshape(-1, *image.shape[2:]), image[::3, -b:].reshape(-1, *image.shape[2:]),
    ])
    med = np.median(ring, axis=0)
    if image.ndim == 2:
        return int(med)
    return tuple(int(v) for v in med)


def grid_shape(shape, cell: float, minimum: int = 2) -> tuple[int, int]:
    """Rows and columns of a grid with about ``cell`` pixels between nodes."""
    h, w = shape[:2]
    return max(minimum, int(round(h / cell)) + 1), max(minimum, int(round(w / cell)) + 1)


def smooth_noise(rng: np.random.Generator, shape, cell: float) -> np.ndarray:
    """A smooth random float32 field in [0, 1] at grid resolution (features ~``cell`` px)."""
    gh, gw = grid_shape(shape, cell, minimum=3)
    coarse = rng.random((gh, gw), dtype=np.float32)
    fine = cv2.resize(coarse, (gw * 4, gh * 4), interpolation=cv2.INTER_CUBIC)
    lo, hi = float(fine.min()), float(fine.max())
    return (fine - lo) / max(hi - lo, 1e-6)


def node_coords(shape, field_shape) -> tuple[np.ndarray, np.ndarray]:
    """Pixel x and y of the nodes of a field stretched corner to corner over an image."""
    h, w = shape[:2]
    fh, fw = field_shape[:2]
    xs = np.linspace(0.0, w - 1.0, fw, dtype=np.float32)
    ys = np.linspace(0.0, h - 1.0, fh, dtype=np.float32)
    return np.meshgrid(xs, ys)


def to_full(field: np.ndarray, shape) -> np.ndarray:
    """Upsample a low-resolution field to ``shape`` (bilinear, centre-aligned)."""
    h, w = shape[:2]
    return cv2.resize(field, (w, h), interpolation=cv2.INTER_LINEAR)


def multiply_field(image: np.ndarray, factor: np.ndarray, roi=None) -> np.ndarray:
    """``image * factor`` with a low-res factor field in [0, 1]; only inside ``roi`` if given.

    ``roi`` is ``(x0, y0, x1, y1)``; the field then spans that rectangle.  Returns a new image.
    """
    f8 = np.clip(factor * 255.0 + 0.5, 0, 255).astype(np.uint8)
    x0, y0, x1, y1 = roi if roi is not None else (0, 0, image.shape[1], image.shape[0])
    if x1 <= x0 or y1 <= y0:
        return image.copy()
    full = cv2.resize(f8, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    if image.ndim == 3:
        full = cv2.merge([full] * image.shape[2])
    if roi is None:
        return cv2.multiply(image, full, scale=1.0 / 255.0)
    out = image.copy()
    view = out[y0:y1, x0:x1]
    view[...] = cv2.multiply(view, full, scale=1.0 / 255.0)
    return out


@functools.lru_cache(maxsize=256)
def _normal_lut(sigma_q: float) -> np.ndarray:
    nd = NormalDist()
    q = np.array([nd.inv_cdf((i + 0.5) / 256.0) for i in range(256)])
    lut = np.round(q * sigma_q).astype(np.int16)
    lut.setflags(write=False)
    return lut


def normal_noise(seed: int, shape, sigma: float) -> np.ndarray:
    """Zero-mean Gaussian-like int16 noise of std ``sigma`` (grey levels) from ``seed``."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    raw = np.frombuffer(rng.bytes(n), dtype=np.uint8).reshape(shape)
    return cv2.LUT(raw, _normal_lut(round(float(sigma), 4)))

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

    ``image`` is uint8 ``(H, W)`` or ``(H, W, 3)``; the ring is up to 4 px wide, every third
    pixel along it.  Returns an int grey level for grayscale, a tuple of 3 ints for colour.
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
    """``(rows, cols)`` of a node grid about ``cell`` px apart spanning ``shape`` (>= ``minimum``)."""
    h, w = shape[:2]
    return max(minimum, int(round(h / cell)) + 1), max(minimum, int(round(w / cell)) + 1)


def smooth_noise(rng: np.random.Generator, shape, cell: float) -> np.ndarray:
    """A smooth random float32 field in [0, 1] with features ~``cell`` px across a page of ``shape``.

    Uniform noise on a node grid ``cell`` px apart, bicubically upsampled 4x and stretched to
    [0, 1]; the result is small (``4 * grid`` nodes), for :func:`multiply_field` to upsample.
    """
    gh, gw = grid_shape(shape, cell, minimum=3)
    coarse = rng.random((gh, gw), dtype=np.float32)
    fine = cv2.resize(coarse, (gw * 4, gh * 4), interpolation=cv2.INTER_CUBIC)
    lo, hi = float(fine.min()), float(fine.max())
    return (fine - lo) / max(hi - lo, 1e-6)


def node_coords(shape, field_shape) -> tuple[np.ndarray, np.ndarray]:
    """float32 ``(xs, ys)``, each ``field_shape[:2]``: pixel x and y of the nodes of a field
    stretched corner to corner over an image of ``shape`` (first node at 0, last at W-1 / H-1)."""
    h, w = shape[:2]
    fh, fw = field_shape[:2]
    xs = np.linspace(0.0, w - 1.0, fw, dtype=np.float32)
    ys = np.linspace(0.0, h - 1.0, fh, dtype=np.float32)
    return np.meshgrid(xs, ys)


def pixel_box(x_lo: float, y_lo: float, x_hi: float, y_hi: float, image_shape):
    """The integer ``(x0, y0, x1, y1)`` pixel box (x1, y1 exclusive) that covers the float
    extent ``[x_lo, x_hi] x [y_lo, y_hi]`` (px), clipped to the image; ``None`` if empty."""
    h, w = image_shape[:2]
    x0, y0 = max(0, int(x_lo)), max(0, int(y_lo))
    x1, y1 = min(w, int(x_hi) + 1), min(h, int(y_hi) + 1)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def multiply_field(image: np.ndarray, factor: np.ndarray, roi=None) -> np.ndarray:
    """``image * factor`` with a low-res factor field in [0, 1]; only inside ``roi`` if given.

    ``image`` is uint8 ``(H, W)`` or ``(H, W, C)``; ``factor`` a float ``(fh, fw)`` field,
    quantised to uint8 and bilinearly stretched over the image, or over ``roi`` =
    ``(x0, y0, x1, y1)`` px (x1, y1 exclusive).  Returns a new uint8 image of the same shape.
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
    """Zero-mean Gaussian-like int16 noise of ``shape`` with std ``sigma`` grey levels, from ``seed``.

    One random byte per value, mapped through the 256 normal quantiles (see the module
    docstring): a pure function of ``(seed, shape, sigma)``.
    """
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    raw = np.frombuffer(rng.bytes(n), dtype=np.uint8).reshape(shape)
    return cv2.LUT(raw, _normal_lut(round(float(sigma), 4)))

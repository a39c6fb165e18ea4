"""Smooth non-rigid warps of a few pixels: elastic distortion and per-line baseline wobble.

Both are displacement fields on a coarse node grid (cheap to make, smooth by construction),
tapered to zero at the canvas edge so nothing crosses it; see :mod:`augment.warp` for how
quads follow them.  Elastic distortion as a training augmentation for handwriting is from
Simard, Steinkraus & Platt, "Best practices for convolutional neural networks applied to
visual document analysis", ICDAR 2003; the field here is made differently (see
:class:`Elastic`).  The baseline wobble is this package's own.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from .base import as_quads, legible_uniform, new_seed, register, shape2, uniform
from .fields import grid_shape, node_coords
from .warp import DisplacementOp, edge_taper

FIELD_CELL = 8.0  # node spacing of the evaluated displacement grids, px


@register
class Elastic(DisplacementOp):
    """Random smooth distortion (paper not flat, hand not steady), at most ``alpha`` px.

    Simard et al. (2003) smooth per-pixel uniform noise with a Gaussian of std sigma and
    scale it by alpha; here uniform noise in ``[-alpha, alpha]`` px on a grid ``cell`` px
    apart is upsampled bicubically instead (same kind of field, far cheaper on a page), so
    ``cell`` plays the part of sigma.  With quads, ``alpha`` is also capped at 20% of the
    text height.  Ranges: ``alpha`` 0-20 px, ``cell`` >= 8 px.  Params: ``{"alpha": px,
    "cell": px, "seed": int}``.
    """

    name = "elastic"
    alpha: tuple[float, float] = (1.0, 3.0)
    cell: tuple[float, float] = (40.0, 100.0)

    def validate(self):
        self.check_range("alpha", 0.0, 20.0)
        self.check_range("cell", 8.0, 10000.0)

    def sample(self, rng, image_shape, quads=None):
        return {"alpha": legible_uniform(rng, self.alpha, quads, 0.2),
                "cell": uniform(rng, self.cell),
                "seed": new_seed(rng)}

    def field(self, params, shape):
        """float32 ``(fh, fw, 2)`` displacements (px) on nodes ~8 px apart, edge-tapered."""
        alpha = float(params["alpha"])
        gh, gw = grid_shape(shape, float(params["cell"]), minimum=3)
        rng = np.random.default_rng(params["seed"])
        coarse = (rng.uniform(-1.0, 1.0, (gh, gw, 2)) * alpha).astype(np.float32)
        fh, fw = grid_shape(shape, FIELD_CELL)
        f = cv2.resize(coarse, (fw, fh), interpolation=cv2.INTER_CUBIC)
        return f * edge_taper(shape, (fh, fw), max(16.0, 4.0 * alpha))[..., None]


def line_bands(quads) -> list[tuple[float, float]]:
    """``[(y_top, y_bottom), ...]`` px of the text lines, top to bottom.

    ``quads`` is float ``(N, 4, 2)``; boxes sorted by centre whose y-ranges overlap by at
    least half the shorter one are merged into one line.
    """
    q = as_quads(quads)
    y0, y1 = q[..., 1].min(axis=1), q[..., 1].max(axis=1)
    bands: list[list[float]] = []
    for i in np.argsort((y0 + y1) / 2.0, kind="stable"):
        lo, hi = float(y0[i]), float(y1[i])
        if bands:
            blo, bhi = bands[-1]
            overlap = min(hi, bhi) - max(lo, blo)
            if overlap >= 0.5 * max(min(hi - lo, bhi - blo), 1.0):
                bands[-1] = [min(lo, blo), max(hi, bhi)]
                continue
        bands.append([lo, hi])
    return [(lo, hi) for lo, hi in bands]


@register
class BaselineWobble(DisplacementOp):
    """Each text line's baseline undulates on its own, as in handwriting on unruled paper.

    With quads, lines are found from them and the amplitude is capped at 12% of the text
    height; without, bands every ``line_spacing`` px are used.  Each band gets a vertical
    sine of ``amplitude`` px (0-10) and ``wavelength`` px, blended linearly between band
    centres.  Params: ``{"bands": [[centre_y, amplitude, wavelength, phase_rad], ...]}``.
    """

    name = "baseline_wobble"
    amplitude: tuple[float, float] = (0.5, 2.0)
    wavelength: tuple[float, float] = (150.0, 500.0)
    line_spacing: float = 40.0

    def validate(self):
        self.check_range("amplitude", 0.0, 10.0)
        self.check_range("wavelength", 10.0, 100000.0)
        self.check_number("line_spacing", 4.0)

    def sample(self, rng, image_shape, quads=None):
        h, _ = shape2(image_shape)
        if quads is not None and len(as_quads(quads)):
            centres = [(lo + hi) / 2.0 for lo, hi in line_bands(quads)]
        else:
            centres = list(np.arange(self.line_spacing / 2.0, h, self.line_spacing))
        bands = [[float(c), legible_uniform(rng, self.amplitude, quads, 0.12),
                  uniform(rng, self.wavelength), uniform(rng, (0.0, 2.0 * math.pi))] for c in centres]
        return {"bands": bands}

    def field(self, params, shape):
        """float32 ``(fh, fw, 2)`` displacements (px, y only) on nodes ~8 px apart, edge-tapered."""
        fh, fw = grid_shape(shape, FIELD_CELL)
        f = np.zeros((fh, fw, 2), dtype=np.float32)
        bands = np.asarray(params["bands"], dtype=np.float64).reshape(-1, 4)
        if len(bands) == 0:
            return f
        xs, ys = node_coords(shape, (fh, fw))
        centre, amp, wavelength, phase = bands.T
        waves = amp[:, None] * np.sin(2.0 * math.pi * xs[0][None, :] / wavelength[:, None]
                                      + phase[:, None])  # (bands, fw)
        order = np.argsort(centre, kind="stable")
        eye = np.eye(len(bands))
        weights = np.stack([np.interp(ys[:, 0], centre[order], eye[order, b])
                            for b in range(len(bands))], axis=1)  # (fh, bands)
        taper = edge_taper(shape, (fh, fw), max(16.0, 4.0 * float(np.abs(amp).max())))
        f[..., 1] = (weights @ waves).astype(np.float32) * taper
        return f

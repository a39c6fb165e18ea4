"""The geometric engine: how warps keep text in the canvas, move quads, and fuse into one pass.

Two kinds of shape-preserving warp exist:

* :class:`HomographyOp` (rotate, shear, perspective, scale) is a 3x3 matrix about the
  canvas centre.  ``sample`` then *fits* it: if the transformed content would leave the
  canvas (less a margin), a uniform zoom-out and shift is composed after it, recorded in
  params as ``fit = [s, tx, ty]``.  Content is the given quads, or, without quads, the whole
  canvas (so any ink anywhere stays inside; areas uncovered by the zoom-out get the paper
  colour).  If the zoom-out would be below ``min_fit_scale`` the magnitude is halved, down
  to the identity.  The canvas shape never changes.
* :class:`DisplacementOp` (elastic, baseline wobble) is a smooth displacement field of a few
  pixels, built on a low-resolution node grid and tapered to zero at the canvas edges so that
  nothing crosses them.  Quads follow by inverting the field at the quad corners (a few
  fixed-point steps); a box is then carried exactly at its corners and approximately along
  its edges (which may bow by up to the field's amplitude).

Consecutive shape-preserving warps in a pipeline are fused: homographies compose into one
``warpAffine``/``warpPerspective``; mixed chains compose their inverse maps on a grid 8 px
apart, upsample it (exact for affine parts) and run one ``cv2.remap``.  One interpolation
per page keeps both speed and sharpness.
"""
from __future__ import annotations

import dataclasses
import functools

import cv2
import numpy as np

from .base import Op, as_quads, check_image, shape2
from .fields import node_coords, paper_colour

STEP = 8  # spacing of the coarse inverse-map grid, px


class GeometricOp(Op):
    """A shape-preserving warp defined by its output->input (``backward``) point map.

    Points are float ``(..., 2)`` arrays of (x, y) px; ``shape`` is the canvas ``(H, W)``.
    ``fusable`` ops may be merged with their neighbours into one resampling.
    """

    geometric = True
    fusable = True

    def backward(self, pts: np.ndarray, params: dict, shape) -> np.ndarray:
        """Where in the input image each output point ``pts`` (px) samples from."""
        raise NotImplementedError

    def forward(self, pts: np.ndarray, params: dict, shape) -> np.ndarray:
        """Where input points ``pts`` (px) land in the output (how quads move)."""
        raise NotImplementedError

    def apply(self, image, params):
        return warp_image(check_image(image), [(self, params)])

    def apply_quads(self, quads, params, image_shape):
        if quads is None:
            return None
        q = as_quads(quads)
        return self.forward(q.reshape(-1, 2), params, shape2(image_shape)).reshape(q.shape)


def canvas_quad(shape) -> np.ndarray:
    """float64 ``(1, 4, 2)``: the canvas corners TL, TR, BR, BL at pixel centres."""
    h, w = shape2(shape)
    return np.array([[[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]]], dtype=np.float64)


def centred(m: np.ndarray, shape) -> np.ndarray:
    """3x3 ``m`` (about the origin) re-expressed about the canvas centre ``((W-1)/2, (H-1)/2)``."""
    h, w = shape2(shape)
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    t = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]], dtype=np.float64)
    ti = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]], dtype=np.float64)
    return t @ m @ ti


def project(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """float64 points ``pts`` (``(..., 2)`` px) mapped by the 3x3 homography ``m``, same shape."""
    p = np.asarray(pts, dtype=np.float64)
    flat = p.reshape(-1, 2)
    hom = flat @ m[:, :2].T + m[:, 2]
    return (hom[:, :2] / hom[:, 2:3]).reshape(p.shape)


def fit_to_canvas(m: np.ndarray, content: np.ndarray, shape, margin: float) -> list[float]:
    """``[s, tx, ty]`` of the zoom-and-shift that brings ``m(content)`` inside the canvas.

    ``content`` is float ``(..., 2)`` points (px); the result keeps them at least ``margin``
    px from the edges, zooming out (``s`` <= 1) about their centre only if they do not fit.
    The margin is capped by the content's own distance to the edge, so the identity always
    fits.  ``[1.0, 0.0, 0.0]`` means no correction.
    """
    h, w = shape2(shape)
    pts = content.reshape(-1, 2)
    gap = min(pts[:, 0].min(), pts[:, 1].min(), w - 1 - pts[:, 0].max(), h - 1 - pts[:, 1].max())
    m_eff = float(np.clip(min(margin, gap), 0.0, None))
    lo_x, hi_x, lo_y, hi_y = m_eff, w - 1 - m_eff, m_eff, h - 1 - m_eff
    out = project(m, pts)
    x0, y0 = out.min(axis=0)
    x1, y1 = out.max(axis=0)
    s = 1.0
    if x1 - x0 > hi_x - lo_x:
        s = min(s, (hi_x - lo_x) / (x1 - x0))
    if y1 - y0 > hi_y - lo_y:
        s = min(s, (hi_y - lo_y) / (y1 - y0))
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    nx0, nx1 = cx + s * (x0 - cx), cx + s * (x1 - cx)
    ny0, ny1 = cy + s * (y0 - cy), cy + s * (y1 - cy)
    dx = max(lo_x - nx0, 0.0) + min(hi_x - nx1, 0.0)
    dy = max(lo_y - ny0, 0.0) + min(hi_y - ny1, 0.0)
    tx, ty = (1.0 - s) * cx + dx, (1.0 - s) * cy + dy
    if s == 1.0 and abs(tx) < 1e-9 and abs(ty) < 1e-9:
        return [1.0, 0.0, 0.0]
    return [float(s), float(tx), float(ty)]


@dataclasses.dataclass
class HomographyOp(GeometricOp):
    """A matrix warp; ``draw`` picks raw params, ``sample`` fits them to the canvas.

    ``margin`` (px, >= 0) is the gap content keeps to the edge; when fitting would zoom out
    below ``min_fit_scale`` (0.1-1), the raw params are shrunk (1, 1/2, 1/4, identity).
    """

    margin: float = 4.0
    min_fit_scale: float = 0.85

    def draw(self, rng, shape) -> dict:
        """Raw (unfitted) JSON-able params drawn from the ranges."""
        raise NotImplementedError

    def shrink(self, raw: dict, t: float) -> dict:
        """Raw params scaled by ``t`` towards the identity (t=0 must give the identity)."""
        raise NotImplementedError

    def raw_matrix(self, params: dict, shape) -> np.ndarray:
        """The 3x3 float64 matrix of the raw params (input px -> output px), without ``fit``."""
        raise NotImplementedError

    def validate(self):
        self.check_number("margin", 0.0)
        self.check_number("min_fit_scale", 0.1, 1.0)

    def sample(self, rng, image_shape, quads=None):
        shape = shape2(image_shape)
        raw = self.draw(rng, shape)
        content = canvas_quad(shape) if quads is None or len(as_quads(quads)) == 0 else as_quads(quads)
        for t in (1.0, 0.5, 0.25, 0.0):
            params = raw if t == 1.0 else self.shrink(raw, t)
            fit = fit_to_canvas(self.raw_matrix(params, shape), content, shape, self.margin)
            if fit[0] >= self.min_fit_scale:
                break
        return {**params, "fit": fit}

    def matrix(self, params, shape) -> np.ndarray:
        """The 3x3 float64 matrix actually applied: the ``fit`` zoom-and-shift after the raw one."""
        s, tx, ty = params["fit"]
        fit = np.array([[s, 0, tx], [0, s, ty], [0, 0, 1]], dtype=np.float64)
        return fit @ self.raw_matrix(params, shape)

    def backward(self, pts, params, shape):
        return project(np.linalg.inv(self.matrix(params, shape)), pts)

    def forward(self, pts, params, shape):
        return project(self.matrix(params, shape), pts)


class DisplacementOp(GeometricOp):
    """A warp given by a displacement field on a node grid: output p samples input p + d(p).

    ``forward`` inverts it by 8 fixed-point steps, exact enough for smooth fields of a few px.
    """

    def field(self, params: dict, shape) -> np.ndarray:
        """float32 ``(fh, fw, 2)`` displacements (dx, dy px) at nodes spread corner to corner."""
        raise NotImplementedError

    @staticmethod
    def _evaluate(f: np.ndarray, pts, shape) -> np.ndarray:
        h, w = shape2(shape)
        fh, fw = f.shape[:2]
        p = np.asarray(pts, dtype=np.float32).reshape(-1, 1, 2)
        u = p[..., 0] * ((fw - 1) / max(w - 1, 1))
        v = p[..., 1] * ((fh - 1) / max(h - 1, 1))
        d = cv2.remap(f, u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return d.reshape(np.shape(pts)).astype(np.float64)

    def backward(self, pts, params, shape):
        f = self.field(params, shape)
        return np.asarray(pts, dtype=np.float64) + self._evaluate(f, pts, shape)

    def forward(self, pts, params, shape):
        f = self.field(params, shape)
        q = np.asarray(pts, dtype=np.float64)
        p = q.copy()
        for _ in range(8):  # solve p + d(p) = q; converges fast for smooth, small fields
            p = q - self._evaluate(f, p, shape)
        return p


def edge_taper(shape, field_shape, width: float) -> np.ndarray:
    """float32 weights in [0, 1] on ``field_shape`` nodes: 0 on the canvas edge, 1 beyond
    ``width`` px inside, with a smoothstep ramp between."""
    h, w = shape2(shape)
    xs, ys = node_coords(shape, field_shape)
    dist = np.minimum(np.minimum(xs, w - 1 - xs), np.minimum(ys, h - 1 - ys))
    t = np.clip(dist / max(width, 1e-6), 0.0, 1.0)
    return (t * t * (3 - 2 * t)).astype(np.float32)  # smoothstep: no kink at the ramp's end


@functools.lru_cache(maxsize=16)
def _coarse_grid(h: int, w: int) -> np.ndarray:
    """Output pixel positions of coarse nodes laid out so cv2.resize interpolates them exactly."""
    nx = int(np.ceil((w + 2 * STEP) / STEP)) + 1
    ny = int(np.ceil((h + 2 * STEP) / STEP)) + 1
    xs = (np.arange(nx) + 0.5) * STEP - 0.5 - STEP
    ys = (np.arange(ny) + 0.5) * STEP - 0.5 - STEP
    grid = np.stack(np.meshgrid(xs, ys), axis=-1)
    grid.setflags(write=False)
    return grid


def _remap(image, steps, shape, fill):
    h, w = shape
    pts = _coarse_grid(h, w)
    for op, params in reversed(steps):
        pts = op.backward(pts, params, shape)
    ny, nx = pts.shape[:2]
    full = cv2.resize(pts.astype(np.float32), (nx * STEP, ny * STEP), interpolation=cv2.INTER_LINEAR)
    maps = full[STEP:STEP + h, STEP:STEP + w]
    return cv2.remap(image, maps, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                     borderValue=fill)


def warp_image(image: np.ndarray, steps) -> np.ndarray:
    """Apply ``[(op, params), ...]`` shape-preserving warps as a single resampling.

    ``image`` is uint8 ``(H, W)`` or ``(H, W, 3)``; returns a new image of the same shape,
    bilinearly interpolated, areas from outside the canvas filled with the paper colour.
    Pure homography chains run as one ``warpAffine``/``warpPerspective``; any displacement
    field makes it a ``remap`` through an inverse map composed on a grid :data:`STEP` px apart.
    """
    shape = shape2(image.shape)
    fill = paper_colour(image)
    if not all(isinstance(op, HomographyOp) for op, _ in steps):
        return _remap(image, steps, shape, fill)
    m = np.eye(3)
    for op, params in steps:
        m = op.matrix(params, shape) @ m
    if np.allclose(m, np.eye(3), atol=1e-9):
        return image.copy()
    h, w = shape
    kw = dict(flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
    if np.allclose(m[2], [0, 0, 1], atol=1e-12):
        return cv2.warpAffine(image, m[:2], (w, h), **kw)
    return cv2.warpPerspective(image, m, (w, h), **kw)

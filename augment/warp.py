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
  nothing crosses them.

Quads keep holding all ink (see :class:`Warp`): a box's corners are moved (inverting a field
by a few fixed-point steps), then its edges are pushed out, keeping their directions, past
every output pixel the resampling can darken from the box: for a matrix warp the image of
the box grown by the bilinear reach, for a field the pixels whose source, read off the very
map ``remap`` uses, falls in that grown box (so bowed edges are covered too).

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
from .quads import (
    REACH,
    assemble,
    dilate,
    edge_normals,
    enclose,
    frame_normals,
    halfplanes,
    inside_canvas,
    support,
)

STEP = 8  # spacing of the coarse inverse-map grid, px
REMAP_ROWS = 32000  # cv2.remap needs maps under SHRT_MAX (32767) rows and columns


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
        return None if quads is None else Warp([(self, params)], image_shape).quads(quads)

    def move_corners(self, quads, params, image_shape):
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
        flat = np.asarray(pts, dtype=np.float32).reshape(-1, 2)
        n = len(flat)
        cols = -(-n // REMAP_ROWS) if n > REMAP_ROWS else 1  # remap takes < 32767 rows
        p = np.zeros((-(-n // cols) * cols, 2), np.float32)
        p[:n] = flat
        p = p.reshape(-1, cols, 2)
        u = p[..., 0] * ((fw - 1) / max(w - 1, 1))
        v = p[..., 1] * ((fh - 1) / max(h - 1, 1))
        d = cv2.remap(f, u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return d.reshape(-1, 2)[:n].reshape(np.shape(pts)).astype(np.float64)

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


class Warp:
    """One bilinear resampling of a canvas by a run of shape-preserving warps.

    ``steps`` is ``[(op, params), ...]`` in application order, ``shape`` the canvas
    ``(H, W)``.  A pure homography chain is one matrix (one ``warpAffine`` or
    ``warpPerspective``); any displacement field makes it a ``cv2.remap`` through an
    inverse map composed on a grid :data:`STEP` px apart and upsampled bilinearly.
    :meth:`image` and :meth:`quads` follow the same map, so the boxes hold every pixel the
    resampling can darken.
    """

    def __init__(self, steps, shape):
        self.steps, self.shape = list(steps), shape2(shape)
        self.matrix = None  # the composed 3x3 matrix of a pure homography chain
        if all(isinstance(op, HomographyOp) for op, _ in self.steps):
            self.matrix = np.eye(3)
            for op, params in self.steps:
                self.matrix = op.matrix(params, self.shape) @ self.matrix
        self._nodes = self._map = None

    @property
    def identity(self) -> bool:
        """True when the chain is a homography equal to the identity (pixels are copied)."""
        return self.matrix is not None and bool(np.allclose(self.matrix, np.eye(3), atol=1e-9))

    def nodes(self) -> np.ndarray:
        """float32 ``(ny, nx, 2)``: the input position each coarse grid node samples (px)."""
        if self._nodes is None:
            pts = _coarse_grid(*self.shape)
            for op, params in reversed(self.steps):
                pts = op.backward(pts, params, self.shape)
            self._nodes = pts.astype(np.float32)
        return self._nodes

    def source_map(self) -> np.ndarray:
        """float32 ``(H, W, 2)``: the input (x, y) px each output pixel samples in ``remap``."""
        if self._map is None:
            ny, nx = self.nodes().shape[:2]
            full = cv2.resize(self.nodes(), (nx * STEP, ny * STEP), interpolation=cv2.INTER_LINEAR)
            h, w = self.shape
            self._map = full[STEP:STEP + h, STEP:STEP + w]
        return self._map

    def image(self, image: np.ndarray) -> np.ndarray:
        """A new uint8 image, warped; areas from outside the canvas get the paper colour."""
        fill = paper_colour(image)
        kw = {"borderMode": cv2.BORDER_CONSTANT, "borderValue": fill}
        if self.matrix is None:
            return cv2.remap(image, self.source_map(), None, cv2.INTER_LINEAR, **kw)
        if self.identity:
            return image.copy()
        h, w = self.shape
        m = self.matrix
        if np.allclose(m[2], [0, 0, 1], atol=1e-12):
            return cv2.warpAffine(image, m[:2], (w, h), flags=cv2.INTER_LINEAR, **kw)
        return cv2.warpPerspective(image, m, (w, h), flags=cv2.INTER_LINEAR, **kw)

    def quads(self, quads) -> np.ndarray:
        """float64 ``(N, 4, 2)`` boxes holding all output ink of the input boxes ``quads``.

        Each box's corners move with the warp; its edges keep those directions and are
        pushed past every output pixel whose source lies within :data:`~augment.quads.REACH`
        px (per axis) of the input box, then kept inside the canvas.  Unchanged (a copy)
        when the pixels are only copied.
        """
        q = as_quads(quads)
        if not len(q) or self.identity:
            return q.copy()
        moved = q.reshape(-1, 2)
        for op, params in self.steps:
            moved = op.forward(moved, params, self.shape)
        moved = moved.reshape(q.shape)
        if self.matrix is not None:  # a matrix maps the grown box's hull onto the new hull
            out = enclose(moved, project(self.matrix, dilate(q, REACH, REACH)))
        else:
            out = self._traced(q, moved)
        return inside_canvas(out, self.shape)

    def _traced(self, q: np.ndarray, moved: np.ndarray) -> np.ndarray:
        """Boxes around the output pixels whose source (read off :meth:`source_map`) falls
        in each input box grown by REACH; a box no pixel samples keeps its moved corners
        (give or take :data:`~augment.quads.SLACK`)."""
        src = self.source_map()
        grown = enclose(q, dilate(q, REACH, REACH))
        g_normals, g_offsets = halfplanes(grown)
        normals, frame = edge_normals(moved), frame_normals(moved)
        reach, frame_reach = support(normals, moved), support(frame, moved)
        for k, (x0, y0, x1, y1) in enumerate(self._windows(grown)):
            sx, sy = src[y0:y1, x0:x1, 0].astype(np.float64), src[y0:y1, x0:x1, 1].astype(np.float64)
            inside = np.ones(sx.shape, dtype=bool)
            for (nx, ny), c in zip(g_normals[k], g_offsets[k]):
                inside &= nx * sx + ny * sy <= c
            rows = np.flatnonzero(inside.any(axis=1))
            if len(rows):  # a row's hits reach farthest (along any normal) at its two ends
                first = inside[rows].argmax(axis=1)
                last = inside.shape[1] - 1 - inside[rows, ::-1].argmax(axis=1)
                ys = np.concatenate([rows, rows]) + y0
                pts = np.stack([np.concatenate([first, last]) + x0, ys], axis=-1).astype(np.float64)
                reach[k], frame_reach[k] = (pts @ normals[k].T).max(axis=0), (pts @ frame[k].T).max(axis=0)
        return assemble(normals, reach, frame, frame_reach)

    def _windows(self, boxes: np.ndarray, chunk: int = 64) -> np.ndarray:
        """int ``(N, 4)`` output pixel windows ``x0, y0, x1, y1`` (exclusive ends) holding
        every pixel whose source may fall in each of ``boxes`` (``(N, 4, 2)`` input px).

        A pixel's source is bilinearly interpolated between the four coarse nodes around
        it, so it stays in those nodes' bounding box; cell ``(i, j)`` (nodes ``i..i+1``,
        ``j..j+1``) spans output pixels ``STEP*j - STEP/2 .. STEP*j + STEP/2 - 1`` (and in y).
        """
        nodes = self.nodes()
        cells = np.stack([nodes[:-1, :-1], nodes[:-1, 1:], nodes[1:, :-1], nodes[1:, 1:]])
        cell_lo, cell_hi = cells.min(axis=0), cells.max(axis=0)
        (lx, ly), (hx, hy) = cell_lo.transpose(2, 0, 1), cell_hi.transpose(2, 0, 1)
        lo, hi = boxes.min(axis=1) - 1e-3, boxes.max(axis=1) + 1e-3
        (h, w), half = self.shape, STEP // 2
        out = np.zeros((len(boxes), 4), dtype=np.int64)
        for c in range(0, len(boxes), chunk):
            sl = slice(c, c + chunk)
            hit = lx[None] <= hi[sl, 0, None, None]
            hit &= hx[None] >= lo[sl, 0, None, None]
            hit &= ly[None] <= hi[sl, 1, None, None]
            hit &= hy[None] >= lo[sl, 1, None, None]
            rows, cols = hit.any(axis=2), hit.any(axis=1)
            any_hit = rows.any(axis=1)
            r0, r1 = rows.argmax(axis=1), rows.shape[1] - 1 - rows[:, ::-1].argmax(axis=1)
            c0, c1 = cols.argmax(axis=1), cols.shape[1] - 1 - cols[:, ::-1].argmax(axis=1)
            out[sl] = np.stack([np.clip(STEP * c0 - half, 0, w), np.clip(STEP * r0 - half, 0, h),
                                np.clip(STEP * c1 + half, 0, w), np.clip(STEP * r1 + half, 0, h)], axis=1)
            out[sl][~any_hit] = 0
        return out


def warp_image(image: np.ndarray, steps) -> np.ndarray:
    """Apply ``[(op, params), ...]`` shape-preserving warps as a single resampling.

    ``image`` is uint8 ``(H, W)`` or ``(H, W, 3)``; returns a new image of the same shape,
    bilinearly interpolated, areas from outside the canvas filled with the paper colour
    (see :class:`Warp`).
    """
    return Warp(steps, image.shape).image(image)

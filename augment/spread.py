"""Quads for ops that spread ink where it lies: filters, morphology, resize round trips, JPEG.

These ops move nothing, but each output pixel is computed from input pixels around it, so
a line's text changes (mostly darkens) pixels just outside its strokes.  Each box grows by
the op's *reach*, the offsets from an input pixel to every output pixel computed from it,
taken from the very kernel, grid or block size the op uses (so the box holds every pixel
the text can change, at any contrast); its edges keep their directions and the corners
their order (:func:`augment.quads.assemble`), and it stays inside the canvas.  All quads
are float64 ``(N, 4, 2)`` arrays of (x, y) px with pixel centres at integers.
"""
from __future__ import annotations

import numpy as np

from .base import as_quads, shape2
from .quads import assemble, edge_normals, frame_normals, halfplanes, inside_canvas, support


def kernel_reach(kernel, anchor=None) -> np.ndarray:
    """float64 ``(K, 2)`` offsets (dx, dy px) from an input pixel to the output pixels that read it.

    For OpenCV's correlation-style neighbourhood ops (``filter2D``, ``erode``, ``dilate``),
    ``dst(p)`` is computed from ``src(p + e - anchor)`` over the non-zero entries ``e`` of
    ``kernel`` (any 2-D array), so ``src(q)`` reaches ``q + anchor - e``.  ``anchor`` is
    ``(ax, ay)``; the default is the centre ``(w // 2, h // 2)``, as OpenCV's ``(-1, -1)``.
    """
    k = np.asarray(kernel)
    ys, xs = np.nonzero(k)
    ax, ay = (k.shape[1] // 2, k.shape[0] // 2) if anchor is None else anchor
    return np.stack([ax - xs, ay - ys], axis=1).astype(np.float64)


def box_reach(rx: float, ry: float) -> np.ndarray:
    """float64 ``(4, 2)``: the corners of the reach ``[-rx, rx] x [-ry, ry]`` px (a separable
    filter or resize reading up to ``rx``, ``ry`` px away along x and y)."""
    return np.array([[-rx, -ry], [rx, -ry], [rx, ry], [-rx, ry]], dtype=np.float64)


def _offset_support(normals, offsets, along_x, along_y) -> np.ndarray:
    """``(N, 4)``: how far ``offsets`` (``(K, 2)``) reach along ``normals`` (``(N, 4, 2)``),
    with the offsets' projections onto the x edges (``(0, dy)``) for boxes ``along_x``,
    onto the y edges (``(dx, 0)``) for boxes ``along_y`` and 0 for boxes at a corner."""
    out = (normals @ offsets.T).max(axis=-1)
    on_x = (normals[..., 1:2] * offsets[:, 1]).max(axis=-1)
    on_y = (normals[..., 0:1] * offsets[:, 0]).max(axis=-1)
    out = np.where(along_x[:, None], np.maximum(out, on_x), out)
    out = np.where(along_y[:, None], np.maximum(out, on_y), out)
    return np.where((along_x & along_y)[:, None], np.maximum(out, 0.0), out)


def grow(quads, reach, shape, replicate: bool = False) -> np.ndarray:
    """Boxes grown to hold every output pixel an input pixel inside them reaches.

    Args:
        quads: float ``(N, 4, 2)`` boxes (px) holding the ink.
        reach: float ``(K, 2)`` offsets (px) from an input pixel to the output pixels computed
            from it, e.g. :func:`kernel_reach` or :func:`box_reach`; their convex hull is used.
        shape: the canvas ``(H, W[, C])``.
        replicate: the op reads past the canvas edge as the edge pixel (OpenCV's
            ``BORDER_REPLICATE``), so ink on the first or last row or column acts as if it
            ran on outward; boxes reaching such a row or column also get the offsets
            projected onto it (this matters only for reaches not mirror-symmetric in x
            and y, such as a slanted motion-blur line).

    Returns:
        float64 ``(N, 4, 2)``: each box's edges (same directions) moved out to hold the box
        plus the reach (a Minkowski sum), plus :data:`~augment.quads.SLACK`, kept inside
        the canvas (:func:`~augment.quads.inside_canvas`).
    """
    q = as_quads(quads)
    if not len(q):
        return q.copy()
    off = np.asarray(reach, dtype=np.float64).reshape(-1, 2)
    h, w = shape2(shape)
    lo, hi = q.min(axis=1), q.max(axis=1)
    no = np.zeros(len(q), dtype=bool)
    along_x = (lo[:, 0] < 0.5) | (hi[:, 0] > w - 1.5) if replicate else no
    along_y = (lo[:, 1] < 0.5) | (hi[:, 1] > h - 1.5) if replicate else no
    normals, frame = edge_normals(q), frame_normals(q)
    reach_n = support(normals, q) + _offset_support(normals, off, along_x, along_y)
    reach_f = support(frame, q) + _offset_support(frame, off, along_x, along_y)
    return inside_canvas(assemble(normals, reach_n, frame, reach_f), shape)


def _blocks_met(normals, offsets, lo, hi, block: int, size) -> np.ndarray:
    """int ``(B, 2)``: first pixels (x, y) of the aligned ``block`` px blocks whose pixel
    centres' box meets the convex quad ``normals @ x <= offsets`` (pixel centres of the
    quad lie between ``lo`` and ``hi``; ``size`` is the canvas ``(W, H)``)."""
    first = np.ceil(np.maximum(lo, 0.0) - 1e-9).astype(np.int64) // block
    last = np.floor(np.minimum(hi, np.asarray(size) - 1.0) + 1e-9).astype(np.int64) // block
    if (last < first).any():
        return np.zeros((0, 2), dtype=np.int64)
    bx, by = np.meshgrid(np.arange(first[0], last[0] + 1), np.arange(first[1], last[1] + 1))
    start = np.stack([bx.ravel(), by.ravel()], axis=1) * block
    end = np.minimum(start + block - 1, np.asarray(size) - 1)
    nearest = np.where(normals[:, None, :] > 0, start[None], end[None])  # (4, B, 2)
    meets = ((nearest * normals[:, None, :]).sum(axis=-1) <= offsets[:, None] + 1e-9).all(axis=0)
    return start[meets]


def grow_to_blocks(quads, block: int, shape, extra: float = 0.0) -> np.ndarray:
    """Boxes grown over every block of an aligned grid that holds one of their pixels.

    For block codecs (JPEG): a block's output depends on all its pixels and on nothing
    outside it, so ink anywhere in a block can change every pixel of it.

    Args:
        quads: float ``(N, 4, 2)`` boxes (px) holding the ink.
        block: block side (px); block ``(i, j)`` holds pixel centres ``block*i ..
            block*i + block - 1`` along x (and j along y), as a codec's grid from the
            top-left corner.
        shape: the canvas ``(H, W[, C])``.
        extra: how far (px) beyond its block a change can also reach (e.g. chroma
            upsampling).

    Returns:
        float64 ``(N, 4, 2)`` boxes (same edge directions) holding their old area and every
        block they meet grown by ``extra``, plus :data:`~augment.quads.SLACK`, inside the canvas.
    """
    q = as_quads(quads)
    if not len(q):
        return q.copy()
    h, w = shape2(shape)
    normals, offsets = halfplanes(q)
    frame = frame_normals(q)
    reach_n, reach_f = support(normals, q), support(frame, q)
    pad = np.array([[-extra, -extra], [block - 1 + extra, -extra],
                    [block - 1 + extra, block - 1 + extra], [-extra, block - 1 + extra]])
    for n in range(len(q)):
        start = _blocks_met(normals[n], offsets[n], q[n].min(axis=0), q[n].max(axis=0), block, (w, h))
        if len(start):
            pts = (start[:, None, :] + pad[None]).reshape(-1, 2)
            reach_n[n] = np.maximum(reach_n[n], (normals[n] @ pts.T).max(axis=1))
            reach_f[n] = np.maximum(reach_f[n], (frame[n] @ pts.T).max(axis=1))
    return inside_canvas(assemble(normals, reach_n, frame, reach_f), shape)

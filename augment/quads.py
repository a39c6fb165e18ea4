"""Quad geometry for keeping boxes around all ink after a warp.

A geometric op moves a box's corners, but the box must also hold everything the op's
resampling spreads around: bilinear interpolation gives an output pixel some ink whenever
its source position lies less than 1 px (per axis) from an ink pixel, and a non-linear warp
bows the box's edges.  The helpers here build the smallest quad with given edge directions
that encloses a set of points: the edges keep the directions of the box's moved corners
(so the quad keeps its shape and its corner order, TL, TR, BR, BL as written) and are
pushed out just past the farthest point.  All quads are float64 ``(N, 4, 2)`` arrays of
(x, y) px with pixel centres at integers.
"""
from __future__ import annotations

import numpy as np

from .base import shape2

# How far (px, per axis) from a source pixel bilinear sampling can still read it: 1 px, plus
# OpenCV's quantisation of source positions to 1/32 px (remap, warpAffine, warpPerspective).
REACH = 1.0 + 1.0 / 16.0
# Extra room (px) past the farthest point, so rounding corners to 0.01 px (as sample records
# do) never moves an edge inside a pixel centre that lies exactly on it.
SLACK = 0.02
MIN_SINE = 0.2  # corners flatter than ~11.5 deg (or sharper than ~168.5) use the frame box


def _orientation(quads: np.ndarray) -> np.ndarray:
    """+1 for corners clockwise on the image (y down, as written text is), -1 if mirrored."""
    x, y = quads[..., 0], quads[..., 1]
    area = (x * np.roll(y, -1, axis=-1) - np.roll(x, -1, axis=-1) * y).sum(axis=-1)
    return np.where(area < 0, -1.0, 1.0)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """z of the cross product of (..., 2) vectors ``a`` and ``b``."""
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12), n[..., 0]


def frame_normals(quads: np.ndarray) -> np.ndarray:
    """``(N, 4, 2)`` outward normals of the rectangle aligned with each quad's reading
    direction (mean of top and bottom edges) and its perpendicular."""
    c0, c1, c2, c3 = (quads[:, i] for i in range(4))
    u, u_len = _unit((c1 - c0) + (c2 - c3))
    v, v_len = _unit((c3 - c0) + (c2 - c1))
    no_u = u_len < 1e-9
    u[no_u] = np.stack([v[no_u, 1], -v[no_u, 0]], axis=-1)  # reading dir from the down dir
    u[no_u & (v_len < 1e-9)] = (1.0, 0.0)  # a point: upright
    side = np.where((v_len >= 1e-9) & (_cross(u, v) < 0), -1.0, 1.0)[:, None]
    down = side * np.stack([-u[:, 1], u[:, 0]], axis=-1)
    return np.stack([-down, u, down, -u], axis=1)


def edge_normals(quads) -> np.ndarray:
    """float64 ``(N, 4, 2)`` outward unit normals of each quad's edges (edge i: corner i to i+1).

    A quad that is not convex, has a zero-length edge or a corner flatter than
    :data:`MIN_SINE` gets the normals of its frame rectangle instead (see
    :func:`frame_normals`), so the quads built from them are always proper.
    """
    q = np.asarray(quads, dtype=np.float64)
    edges = np.roll(q, -1, axis=1) - q
    side = _orientation(q)[:, None]
    t, length = _unit(edges)
    normals = side[..., None] * np.stack([t[..., 1], -t[..., 0]], axis=-1)
    sine = side * _cross(t, np.roll(t, -1, axis=1))
    bad = (length < 1e-6).any(axis=1) | (sine < MIN_SINE).any(axis=1)
    if bad.any():
        normals[bad] = frame_normals(q[bad])
    return normals


def _corners(normals: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Corner i where the lines ``n·x = c`` of edges i-1 and i meet; ``(N, 4, 2)``."""
    a = np.stack([np.roll(normals, 1, axis=1), normals], axis=2)  # (N, 4, 2, 2)
    b = np.stack([np.roll(offsets, 1, axis=1), offsets], axis=2)[..., None]
    return np.linalg.solve(a, b)[..., 0]


def _proper(quads: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """True where every edge of ``quads`` runs the way its normals say (no folded corner).

    Edge i must run along ``normals[i]`` turned by 90 deg towards ``normals[i + 1]`` (the
    way round a convex quad whose next edge faces ahead).
    """
    perp = np.stack([-normals[..., 1], normals[..., 0]], axis=-1)
    ahead = np.sign((perp * np.roll(normals, -1, axis=1)).sum(axis=-1))[..., None]
    edges = np.roll(quads, -1, axis=1) - quads
    return ((edges * perp * ahead).sum(axis=-1) > 0).all(axis=1)


def support(normals, points) -> np.ndarray:
    """float64 ``(N, 4)``: how far ``points`` (``(N, K, 2)`` px) reach along each of ``normals``
    (``(N, 4, 2)``), i.e. the offset an edge with that normal needs to hold them all."""
    return np.einsum("nij,nkj->nik", normals, np.asarray(points, dtype=np.float64)).max(axis=2)


def assemble(normals, reach, frame, frame_reach) -> np.ndarray:
    """float64 ``(N, 4, 2)`` quads whose edge i is the line ``normals[:, i]·x = reach[:, i]``
    moved out by :data:`SLACK`; a quad whose edges would fold uses ``frame`` and
    ``frame_reach`` (the frame rectangle's normals and reach) instead."""
    out = _corners(normals, reach + SLACK)
    folded = ~_proper(out, normals)
    if folded.any():
        out[folded] = _corners(frame[folded], frame_reach[folded] + SLACK)
    return out


def enclose(reference, points) -> np.ndarray:
    """The quads with the edge directions of ``reference`` that just hold ``points``.

    Args:
        reference: float ``(N, 4, 2)`` quads (px) giving edge directions and corner order.
        points: float ``(N, K, 2)`` points (px) each new quad must hold, ``K >= 1``.

    Returns:
        float64 ``(N, 4, 2)``: each edge of reference quad n moved (out or in) to
        :data:`SLACK` px past the farthest of its points; a quad whose edges would fold
        becomes its frame rectangle.
    """
    ref = np.asarray(reference, dtype=np.float64)
    normals, frame = edge_normals(ref), frame_normals(ref)
    return assemble(normals, support(normals, points), frame, support(frame, points))


def halfplanes(quads) -> tuple[np.ndarray, np.ndarray]:
    """``(normals, offsets)``, ``(N, 4, 2)`` and ``(N, 4)``: a convex quad is the set of
    points ``x`` with ``normals[n] @ x <= offsets[n]`` (closed: its edges belong to it)."""
    q = np.asarray(quads, dtype=np.float64)
    normals = edge_normals(q)
    return normals, support(normals, q)


def dilate(quads, rx: float, ry: float) -> np.ndarray:
    """float64 ``(N, 16, 2)``: the corners of each quad moved by ``(±rx, ±ry)`` px.

    Their convex hull is the quad grown by a ``2rx`` x ``2ry`` box (a Minkowski sum), i.e.
    every point that a sampler reaching ``rx``, ``ry`` px from the quad can touch.
    """
    q = np.asarray(quads, dtype=np.float64)
    box = np.array([[-rx, -ry], [rx, -ry], [rx, ry], [-rx, ry]], dtype=np.float64)
    return (q[:, :, None, :] + box[None, None]).reshape(len(q), 16, 2)


def _clip(quad: np.ndarray, bounds: np.ndarray, limits: np.ndarray) -> np.ndarray | None:
    """``quad`` with each edge that leaves the canvas replaced by the canvas side it crosses.

    Each half-plane kept is either the quad's or the canvas's, so the result still holds
    every canvas point of ``quad``; None when that does not give a proper quad inside.
    """
    normals = edge_normals(quad[None])[0]
    offsets = (normals @ quad.T).max(axis=1)
    for _ in range(5):
        if (np.abs(_cross(normals, np.roll(normals, -1, axis=0))) < 1e-6).any():  # parallel
            return None
        corners = _corners(normals[None], offsets[None])[0]
        excess = corners @ bounds.T - limits  # (corner, canvas side) > 0: outside
        if (excess <= 1e-9).all():
            return corners if _proper(corners[None], normals[None])[0] else None
        for i in np.flatnonzero(excess.max(axis=1) > 1e-9):
            side = int(np.argmax(excess[i]))
            edge = max(((i - 1) % 4, i), key=lambda e: float(normals[e] @ bounds[side]))
            normals[edge], offsets[edge] = bounds[side], limits[side]
    return None


def _canvas_box(quad: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The bounding box of ``quad`` (4 x 2) clipped to ``[0, hi]``, in the quad's corner
    order, its first edge the side nearest the quad's reading direction."""
    (x0, y0), (x1, y1) = np.clip(quad.min(axis=0), 0, hi), np.clip(quad.max(axis=0), 0, hi)
    box = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    if _orientation(quad[None])[0] < 0:
        box = box[::-1]
    reading = frame_normals(quad[None])[0, 1]
    shifts = [np.roll(box, -k, axis=0) for k in range(4)]
    return max(shifts, key=lambda b: float((b[1] - b[0]) @ reading))


def _area(quad: np.ndarray) -> float:
    x, y = quad[:, 0], quad[:, 1]
    return abs(float((x * np.roll(y, -1) - np.roll(x, -1) * y).sum())) / 2.0


def inside_canvas(quads, shape) -> np.ndarray:
    """Quads kept within the canvas's pixel centres ``[0, W-1] x [0, H-1]``.

    A quad already inside is returned as is.  In one poking out, each edge that leaves the
    canvas is replaced by the canvas side it crosses (so the quad still holds every pixel it
    held and keeps its corner order).  Where that gives no proper quad, or a larger one
    than the quad's bounding box clipped to the canvas (a sharp corner poking out can make
    an edge swap sweep the page), the box is used instead: its first edge is the side
    nearest the quad's reading direction (see :func:`frame_normals`), so TL -> TR still
    reads along the text.
    """
    q = np.asarray(quads, dtype=np.float64).copy()
    h, w = shape2(shape)
    hi = np.array([w - 1.0, h - 1.0])
    bounds = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, -1.0], [0.0, 1.0]])  # n·x <= limit
    limits = np.array([0.0, w - 1.0, 0.0, h - 1.0])
    out = ((q < -1e-9) | (q > hi + 1e-9)).any(axis=(1, 2))
    for n in np.flatnonzero(out):
        box = _canvas_box(q[n], hi)
        clipped = _clip(q[n], bounds, limits)
        if clipped is not None:
            clipped = np.clip(clipped, 0.0, hi)  # only rounding-level moves remain
        q[n] = box if clipped is None or _area(clipped) > _area(box) else clipped
    return q

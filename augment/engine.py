"""Running recorded ops: flattening combinator records into leaf ops and applying them.

A *record* is ``{"op": name, "params": {...}}``.  Leaf records name an op in :data:`OPS`;
combinator records (``with_probability``, ``one_of``, ...) hold the records of what they
drew.  Applying only needs the records and the registry — never the objects that sampled
them — which is what makes :func:`augment.replay` work from logged metadata.
"""
from __future__ import annotations

import functools

import numpy as np

from .base import COMBINATORS, OPS, as_quads, check_image, shape2
from .errors import AugmentConfigError
from .warp import GeometricOp, Warp


@functools.lru_cache(maxsize=None)
def leaf(name: str):
    """A cached default instance of op ``name`` (its apply depends only on params).

    Raises:
        AugmentConfigError: no op of that name is registered.
    """
    if name not in OPS:
        raise AugmentConfigError(f"unknown op {name!r} in recorded params")
    return OPS[name]()


def flatten(record: dict) -> list[dict]:
    """The leaf records a (possibly combinator) record stands for, in application order.

    Raises:
        AugmentConfigError: the record is not ``{"op": name, "params": {...}}`` or names
            neither an op nor a combinator.
    """
    try:
        name, params = record["op"], record["params"]
    except (TypeError, KeyError):
        raise AugmentConfigError(f"a recorded op must be {{'op': name, 'params': {{...}}}}, "
                                 f"got {record!r}") from None
    if name in OPS:
        return [record]
    if name in COMBINATORS:
        return [r for child in COMBINATORS[name].child_records(params) for r in flatten(child)]
    raise AugmentConfigError(f"unknown op {name!r} in recorded params")


def advance(records: list[dict], shape, quads=None):
    """``((H, W), quads)`` after leaf ``records``, without touching pixels (used while sampling).

    ``quads`` (float ``(N, 4, 2)`` px, or None) have their corners moved by the geometric
    records only (:meth:`~augment.base.Op.move_corners`; not grown as :func:`run` grows them).
    """
    shape = shape2(shape)
    for rec in records:
        op = leaf(rec["op"])
        if quads is not None and op.geometric:
            quads = op.move_corners(quads, rec["params"], shape)
        shape = op.output_shape(rec["params"], shape)
    return shape, quads


def _fusable(op) -> bool:
    return isinstance(op, GeometricOp) and op.fusable


def _passes(records: list[dict]):
    """``[(op, params), ...]`` runs to apply in one go: consecutive fusable warps together
    (one resampling), every other record alone."""
    i = 0
    while i < len(records):
        j = i + 1
        if _fusable(leaf(records[i]["op"])):
            while j < len(records) and _fusable(leaf(records[j]["op"])):
                j += 1
        yield [(leaf(r["op"]), r["params"]) for r in records[i:j]]
        i = j


def _pass_quads(steps, shape, quads, warp: Warp | None = None):
    """``quads`` after one pass of :func:`_passes` on a canvas of ``shape`` (see :func:`run`);
    ``warp`` is the pass's :class:`Warp` when the caller already made it."""
    op, params = steps[0]
    if _fusable(op):
        return (warp or Warp(steps, shape)).quads(quads)
    return op.apply_quads(quads, params, shape)


def move_quads(records: list[dict], shape, quads):
    """The float64 ``(N, 4, 2)`` quads :func:`run` returns for ``quads``, without the pixels.

    ``shape`` is the image's ``(H, W)`` or ``(H, W, C)``: give the channels, as JPEG's
    blocks differ for colour.
    """
    shape, q = tuple(int(v) for v in shape), as_quads(quads)
    for steps in _passes(records):
        q = _pass_quads(steps, shape, q)
        for op, params in steps:
            shape = tuple(op.output_shape(params, shape)) + shape[2:]
    return q


def run(image: np.ndarray, records: list[dict], quads=None):
    """Apply leaf ``records`` to ``image`` (and ``quads``); consecutive warps are fused.

    ``image`` is uint8 ``(H, W)`` or ``(H, W, 3)`` and is never modified; returns a new
    image and the quads (float ``(N, 4, 2)``, the input's float dtype or float64) moved and
    grown so each still holds all its ink (every op's :meth:`~augment.base.Op.apply_quads`),
    or None.
    Raises as :func:`augment.base.check_image` for an unusable image.
    """
    out = check_image(image)
    dtype = np.asarray(quads).dtype if quads is not None else None
    q = None if quads is None else as_quads(quads)
    copied = False
    for steps in _passes(records):
        shape = out.shape
        warp = Warp(steps, shape) if _fusable(steps[0][0]) else None  # one map for both
        out = warp.image(out) if warp else steps[0][0].apply(out, steps[0][1])
        if q is not None:
            q = _pass_quads(steps, shape, q, warp)
        copied = True
    if not copied:
        out = out.copy()
    if q is not None:
        q = q.astype(dtype if np.issubdtype(dtype, np.floating) else np.float64)
    return out, q

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
from .warp import GeometricOp, warp_image


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

    ``quads`` (float ``(N, 4, 2)`` px, or None) are moved by the geometric records only.
    """
    shape = shape2(shape)
    for rec in records:
        op = leaf(rec["op"])
        if quads is not None and op.geometric:
            quads = op.apply_quads(quads, rec["params"], shape)
        shape = op.output_shape(rec["params"], shape)
    return shape, quads


def _fusable(op) -> bool:
    return isinstance(op, GeometricOp) and op.fusable


def run(image: np.ndarray, records: list[dict], quads=None):
    """Apply leaf ``records`` to ``image`` (and ``quads``); consecutive warps are fused.

    ``image`` is uint8 ``(H, W)`` or ``(H, W, 3)`` and is never modified; returns a new
    image and the moved quads (float ``(N, 4, 2)``, the input's float dtype or float64) or
    None.  Raises as :func:`augment.base.check_image` for an unusable image.
    """
    out = check_image(image)
    dtype = np.asarray(quads).dtype if quads is not None else None
    q = None if quads is None else as_quads(quads)
    i, copied = 0, False
    while i < len(records):
        op = leaf(records[i]["op"])
        if _fusable(op):
            j = i
            while j < len(records) and _fusable(leaf(records[j]["op"])):
                j += 1
            steps = [(leaf(r["op"]), r["params"]) for r in records[i:j]]
            out = warp_image(out, steps)
            for step_op, params in steps:
                q = step_op.apply_quads(q, params, out.shape)
            i = j
        else:
            shape = out.shape
            out = op.apply(out, records[i]["params"])
            if op.geometric:
                q = op.apply_quads(q, records[i]["params"], shape)
            i += 1
        copied = True
    if not copied:
        out = out.copy()
    if q is not None:
        q = q.astype(dtype if np.issubdtype(dtype, np.floating) else np.float64)
    return out, q

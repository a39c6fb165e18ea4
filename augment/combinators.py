"""Combinators: apply with a probability, pick one of several, run in sequence or random order.

They are Op-like (``sample``/``apply``/``apply_quads``); their params record what was drawn
(``{"applied": false}``, the chosen index, the order) together with the records of the ops
they ran, so a combinator's params replay without the combinator object.
"""
from __future__ import annotations

import numpy as np

from . import engine
from .base import COMBINATORS, Op, shape2
from .errors import AugmentConfigError


def _register(cls):
    """Class decorator: list a combinator in :data:`COMBINATORS` under ``cls.name``."""
    COMBINATORS[cls.name] = cls
    return cls


def _check_op(op, where: str):
    if not isinstance(op, Op):
        raise AugmentConfigError(f"{where}: expected an augment op, got {type(op).__name__}")
    return op


def sample_chain(ops, rng, shape, quads) -> list[dict]:
    """``[{"op", "params"}, ...]``: ``ops`` sampled in turn from ``rng``, each seeing the
    ``(H, W)`` shape and the float ``(N, 4, 2)`` quads (or None) the previous ones produce."""
    records = []
    for op in ops:
        rec = {"op": op.name, "params": op.sample(rng, shape, quads)}
        if op.geometric:
            shape, quads = engine.advance(engine.flatten(rec), shape, quads)
        records.append(rec)
    return records


class Combinator(Op):
    """An Op made of ops: applying flattens its params to leaf records and runs those.

    Children are op objects, not config values, so combinators are not dataclasses;
    ``child_records`` reads the records of what ran back out of a params dict.
    """

    def __init__(self):  # not a dataclass: children are ops, not config values
        pass

    @property
    def children(self) -> list[Op]:
        """The ops this combinator may run."""
        raise NotImplementedError

    @property
    def geometric(self) -> bool:  # type: ignore[override]
        """True if any child may move pixels (so quads must be carried through)."""
        return any(c.geometric for c in self.children)

    @classmethod
    def child_records(cls, params: dict) -> list[dict]:
        """The ``{"op", "params"}`` records of the children that ran, in order."""
        raise NotImplementedError

    def records(self, params):
        return engine.flatten({"op": self.name, "params": params})

    def apply(self, image, params):
        return engine.run(image, self.records(params))[0]

    def apply_quads(self, quads, params, image_shape):
        if quads is None:
            return None
        return engine.move_quads(self.records(params), image_shape, quads)

    def move_corners(self, quads, params, image_shape):
        if quads is None:
            return None
        return engine.advance(self.records(params), image_shape, quads)[1]

    def output_shape(self, params, image_shape):
        return engine.advance(self.records(params), image_shape)[0]


@_register
class WithProbability(Combinator):
    """Run ``op`` with probability ``p`` (0-1; else raises AugmentConfigError).

    Params: ``{"applied": false}`` or ``{"applied": true, "child": record}``.
    """

    name = "with_probability"

    def __init__(self, op: Op, p: float):
        self.op = _check_op(op, "with_probability")
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise AugmentConfigError(f"probability 'p' must be a number in [0, 1], got {p!r}")
        self.p = float(p)

    @property
    def children(self):
        return [self.op]

    def sample(self, rng, image_shape, quads=None):
        if rng.random() >= self.p:
            return {"applied": False}
        return {"applied": True, "child": sample_chain([self.op], rng, shape2(image_shape), quads)[0]}

    @classmethod
    def child_records(cls, params):
        return [params["child"]] if params.get("applied") else []

    def to_config(self):
        node = self.op.to_config()
        if "p" in node:  # already probabilistic: nest it
            node = {"sequence": [node]}
        return {**node, "p": self.p}


@_register
class OneOf(Combinator):
    """Run exactly one of the ops, drawn per call with the given weights.

    ``choices`` holds ops or ``(op, weight)`` pairs (weight >= 0, default 1, not all 0;
    else raises AugmentConfigError).  Params: ``{"index": i, "child": record}``.
    """

    name = "one_of"

    def __init__(self, choices):
        pairs = [c if isinstance(c, tuple) else (c, 1.0) for c in choices]
        if not pairs:
            raise AugmentConfigError("one_of needs at least one op")
        self.ops = [_check_op(op, "one_of") for op, _ in pairs]
        w = []
        for _, weight in pairs:
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
                raise AugmentConfigError(f"one_of: 'weight' must be a number >= 0, got {weight!r}")
            w.append(float(weight))
        if sum(w) <= 0:
            raise AugmentConfigError("one_of: the weights must not all be 0")
        self.weights = w

    @property
    def children(self):
        return self.ops

    def sample(self, rng, image_shape, quads=None):
        p = np.asarray(self.weights) / sum(self.weights)
        i = int(rng.choice(len(self.ops), p=p))
        return {"index": i, "child": sample_chain([self.ops[i]], rng, shape2(image_shape), quads)[0]}

    @classmethod
    def child_records(cls, params):
        return [params["child"]]

    def to_config(self):
        items = []
        for op, w in zip(self.ops, self.weights):
            node = op.to_config()
            items.append(node if w == 1.0 else {**node, "weight": w})
        return {"one_of": items}


@_register
class Sequence(Combinator):
    """Run the ops one after another, in the given order.  Params: ``{"children": [records]}``."""

    name = "sequence"

    def __init__(self, ops):
        self.ops = [_check_op(op, self.name) for op in ops]

    @property
    def children(self):
        return self.ops

    def sample(self, rng, image_shape, quads=None):
        return {"children": sample_chain(self.ops, rng, shape2(image_shape), quads)}

    @classmethod
    def child_records(cls, params):
        return list(params["children"])

    def to_config(self):
        return {self.name: [op.to_config() for op in self.ops]}


@_register
class RandomOrder(Sequence):
    """Run all the ops, in an order drawn per call.

    Params: ``{"order": [indices], "children": [records in that order]}``.
    """

    name = "random_order"

    def sample(self, rng, image_shape, quads=None):
        order = [int(i) for i in rng.permutation(len(self.ops))]
        chain = sample_chain([self.ops[i] for i in order], rng, shape2(image_shape), quads)
        return {"order": order, "children": chain}

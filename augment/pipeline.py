"""The user-facing pipeline: sample a whole augmentation, apply it, replay it from metadata."""
from __future__ import annotations

import numpy as np

from . import engine
from .base import ConfigError, Op, check_image, shape2
from .combinators import Sequence


class Pipeline:
    """A root op (usually a :class:`Sequence`) plus the flat, loggable params format.

    ``sample`` returns ``{"pipeline", "input_shape", "output_shape", "ops"}`` where ``ops`` is
    the list of ``{"op": name, "params": {...}}`` actually drawn, in application order (ops
    skipped by a probability or not chosen by ``one_of`` are absent).
    """

    def __init__(self, ops, name: str | None = None):
        if isinstance(ops, Pipeline):
            ops = ops.root
        self.root = ops if isinstance(ops, Op) else Sequence(list(ops))
        self.name = name

    def sample(self, rng: np.random.Generator, image_shape, quads=None) -> dict:
        shape = shape2(image_shape)
        record = {"op": self.root.name, "params": self.root.sample(rng, shape, quads)}
        records = engine.flatten(record)
        out_shape, _ = engine.advance(records, shape)
        return {"pipeline": self.name, "input_shape": list(shape), "output_shape": list(out_shape),
                "ops": records}

    def apply(self, image: np.ndarray, params: dict, quads=None):
        return replay(image, params, quads)

    def __call__(self, image: np.ndarray, rng: np.random.Generator, quads=None):
        params = self.sample(rng, check_image(image).shape, quads)
        out, q = self.apply(image, params, quads)
        return out, q, params

    def to_config(self) -> dict:
        """A config (see :mod:`augment.config`) that rebuilds this pipeline."""
        return self.root.to_config()

    def __repr__(self):
        return f"Pipeline(name={self.name!r}, config={self.to_config()!r})"


def replay(image: np.ndarray, params, quads=None):
    """Apply params recorded earlier, by op name, without the Pipeline that drew them.

    ``params`` is what :meth:`Pipeline.sample` returned (also after a JSON round trip), a
    single ``{"op", "params"}`` record (leaf or combinator), or a list of records.
    Returns ``(image, quads)``; quads are ``None`` when not given.
    """
    image = check_image(image)
    if isinstance(params, dict) and "ops" in params:
        expected = params.get("input_shape")
        if expected is not None and list(expected) != list(image.shape[:2]):
            raise ValueError(f"params were sampled for an image of shape {list(expected)}, "
                             f"got {list(image.shape[:2])}")
        records = [r for rec in params["ops"] for r in engine.flatten(rec)]
    elif isinstance(params, dict):
        records = engine.flatten(params)
    elif isinstance(params, (list, tuple)):
        records = [r for rec in params for r in engine.flatten(rec)]
    else:
        raise ConfigError("replay: params must be a dict or a list of records, "
                          f"got {type(params).__name__}")
    return engine.run(image, records, quads)

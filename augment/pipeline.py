"""The user-facing pipeline: sample a whole augmentation, apply it, replay it from metadata."""
from __future__ import annotations

import numpy as np

from . import engine
from .base import Op, check_image, shape2
from .combinators import Sequence
from .errors import AugmentConfigError


class Pipeline:
    """A root op (usually a :class:`Sequence`) plus the flat, loggable params format.

    ``sample`` returns ``{"pipeline", "input_shape", "output_shape", "ops"}`` where ``ops`` is
    the list of ``{"op": name, "params": {...}}`` actually drawn, in application order (ops
    skipped by a probability or not chosen by ``one_of`` are absent).

    Args:
        ops: the root op, another Pipeline (its root is shared), or a list of ops (run as a
            :class:`~augment.combinators.Sequence`).
        name: recorded as ``"pipeline"`` in the params (a preset or config file name).
    """

    def __init__(self, ops, name: str | None = None):
        if isinstance(ops, Pipeline):
            ops = ops.root
        self.root = ops if isinstance(ops, Op) else Sequence(list(ops))
        self.name = name

    def sample(self, rng: np.random.Generator, image_shape, quads=None) -> dict:
        """JSON-able params for one image of ``image_shape`` (``(H, W[, C])``), drawn from ``rng``.

        ``quads`` (float ``(N, 4, 2)`` px, all boxes holding ink) let geometric ops keep the
        text inside and stroke-scale ops cap by the text height.
        """
        shape = shape2(image_shape)
        record = {"op": self.root.name, "params": self.root.sample(rng, shape, quads)}
        records = engine.flatten(record)
        out_shape, _ = engine.advance(records, shape)
        return {"pipeline": self.name, "input_shape": list(shape), "output_shape": list(out_shape),
                "ops": records}

    def apply(self, image: np.ndarray, params: dict, quads=None):
        """``(image, quads)`` with ``params`` from :meth:`sample` applied; see :func:`replay`."""
        return replay(image, params, quads)

    def __call__(self, image: np.ndarray, rng: np.random.Generator, quads=None):
        """Sample and apply in one go: returns ``(new image, moved quads or None, params)``.

        ``image`` is uint8 ``(H, W)`` or ``(H, W, 3)`` (never modified); quads are float
        ``(N, 4, 2)`` px.  Raises TypeError / ValueError for an image the ops cannot take.
        """
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
    Returns ``(image, quads)``: a new uint8 image (the shape ``params["output_shape"]``)
    and float ``(N, 4, 2)`` quads moved with it, ``None`` when not given.

    Raises:
        ValueError: the image's ``(H, W)`` differs from the recorded ``input_shape``.
        AugmentConfigError: a record is malformed or names an unknown op.
        TypeError: the image is not uint8.
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
        raise AugmentConfigError("replay: params must be a dict or a list of records, "
                                 f"got {type(params).__name__}")
    return engine.run(image, records, quads)

"""Augmentation of samples: at render time, over a shard directory, or on the fly in a loader.

:mod:`augment` knows images and quads only; this module carries a sample's line and word
quads through a pipeline and records the drawn parameters in the sample's metadata, so every
augmented sample can be replayed (``augment.replay``) from its ``.json``.  It is also where
augment's own :class:`augment.AugmentConfigError` becomes the project's one-line
:class:`~synthtext.dataset.errors.ConfigError`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np

import augment
from synthtext.dataset.errors import ConfigError
from synthtext.dataset.sample import Line, Sample


def load_augment(spec: str, option: str = "--augment") -> augment.Pipeline:
    """An augmentation pipeline from a preset name (``augment.PRESETS``) or a JSON/YAML config file.

    Args:
        spec: the preset name or config file path.
        option: the option that gave ``spec``, named in the error (``--preset`` for
            ``synthgen augment``).

    Raises:
        ConfigError: ``spec`` is neither a preset nor an existing file, or the file is not a
            valid augment config (one line naming the file, node, op and parameter).
    """
    if spec not in augment.PRESETS and not os.path.isfile(spec):
        raise ConfigError(f"{option} {spec!r} is neither a preset ({', '.join(augment.PRESETS)})"
                          " nor an existing config file")
    try:
        return augment.preset(spec) if spec in augment.PRESETS else augment.load_config(spec)
    except augment.AugmentConfigError as e:
        raise ConfigError(str(e)) from None


def augment_records(pipeline: augment.Pipeline, image: np.ndarray, records: list[dict],
                    rng: np.random.Generator):
    """Run ``pipeline`` on an image whose lines are ``{"text", "quad", "words"}`` dicts.

    Args:
        pipeline: an :class:`augment.Pipeline` (e.g. from :func:`load_augment`).
        image: uint8 ``(H, W)`` grayscale or ``(H, W, 3)``; not modified.
        records: lines as in a sample's ``.json``: ``"quad"`` is 4 ``[x, y]`` px corners
            (TL, TR, BR, BL) or None for a blank line; each word has a ``"quad"`` too.
        rng: the only source of randomness.

    Returns:
        ``(image, records, params)``: the new uint8 image, copies of the records with the
        quads moved or grown by the ops (rounded to 0.01 px), and the JSON-able params
        of :meth:`augment.Pipeline.sample`.
    """
    quads, where = [], []
    for i, ln in enumerate(records):
        if ln["quad"] is not None:
            quads.append(ln["quad"])
            where.append((i, None))
        for j, wd in enumerate(ln["words"]):
            quads.append(wd["quad"])
            where.append((i, j))
    arr = np.asarray(quads, dtype=np.float64).reshape(-1, 4, 2)
    image, arr, params = pipeline(image, rng, arr)
    records = [{**ln, "words": [dict(w) for w in ln["words"]]} for ln in records]
    for (i, j), q in zip(where, np.asarray(arr).tolist()):
        q = [[round(x, 2), round(y, 2)] for x, y in q]
        if j is None:
            records[i]["quad"] = q
        else:
            records[i]["words"][j]["quad"] = q
    return image, records, params


def augment_sample(sample: Sample, pipeline: augment.Pipeline, rng: np.random.Generator) -> Sample:
    """A new Sample: augmented pixels, moved quads, params under ``meta["augment"]``.

    An earlier augmentation (e.g. from render time) stays recorded in
    ``meta["augment_previous"]``, so the chain can be replayed in order.  ``sample`` itself
    is not modified.
    """
    image, records, params = augment_records(
        pipeline, sample.image, [ln.to_json() for ln in sample.lines], rng)
    meta = dict(sample.meta)
    if "augment" in meta:
        meta["augment_previous"] = meta["augment"]
    meta["augment"] = params
    lines = [Line(r["text"], r["quad"], r["words"]) for r in records]
    return replace(sample, image=image, lines=lines, meta=meta)


@dataclass
class AugmentOnTheFly:
    """A picklable map function for loaders: a fresh augmentation every time it is called.

    ``spec`` is a preset name or config file (see :func:`load_augment`, which raises
    ConfigError for a bad one on the first call).  Its one random stream, advanced by every
    call, is seeded from torch's per-worker seed when torch is installed (it changes per
    worker and epoch) together with ``seed``, else from ``seed`` alone.  Pickling keeps
    only ``spec`` and ``seed``.
    """

    spec: str
    seed: int | None = None

    def __post_init__(self):
        self._pipeline, self._rng = None, None

    def __call__(self, sample: Sample) -> Sample:
        """``sample`` augmented with the next draw (unchanged for the ``none`` preset)."""
        if self._pipeline is None:
            self._pipeline = load_augment(self.spec)
            self._rng = np.random.default_rng(self._base_seed())
        if self.spec == "none":
            return sample
        return augment_sample(sample, self._pipeline, self._rng)

    def _base_seed(self):
        try:
            import torch  # heavy and optional: only loaders run by torch have a worker seed

            return [torch.initial_seed() % (1 << 63)] + ([self.seed] if self.seed is not None else [])
        except ImportError:
            return self.seed

    def __getstate__(self):
        return {"spec": self.spec, "seed": self.seed}

    def __setstate__(self, state):
        self.spec, self.seed = state["spec"], state["seed"]
        self._pipeline, self._rng = None, None

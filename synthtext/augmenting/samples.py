"""Augmentation of samples: at render time, over a shard directory, or on the fly in a loader.

:mod:`augment` knows images and quads only; this module carries a sample's line and word
quads through a pipeline and records the drawn parameters in the sample's metadata, so every
augmented sample can be replayed (``augment.replay``) from its ``.json``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np

from synthtext.dataset.errors import ConfigError
from synthtext.dataset.sample import Line, Sample


def load_augment(spec: str):
    """An augmentation pipeline from a preset name or a JSON/YAML config file."""
    import augment

    if spec in augment.PRESETS:
        return augment.preset(spec)
    if not os.path.isfile(spec):
        raise ConfigError(f"--augment {spec!r} is neither a preset ({', '.join(augment.PRESETS)})"
                          " nor an existing config file")
    return augment.load_config(spec)


def augment_records(pipeline, image: np.ndarray, records: list[dict], rng):
    """Run ``pipeline`` on an image whose lines are ``{"text", "quad", "words"}`` dicts.

    Returns the new image, the records with moved quads, and the JSON-able params.
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


def augment_sample(sample: Sample, pipeline, rng) -> Sample:
    """A new Sample: augmented pixels, moved quads, params under ``meta["augment"]``.

    An earlier augmentation (e.g. from render time) stays recorded in
    ``meta["augment_previous"]``, so the chain can be replayed in order.
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

    Its random stream is seeded from torch's per-worker seed when torch runs the loader
    (which changes every epoch) or from ``seed``, plus a call counter.
    """

    spec: str
    seed: int | None = None

    def __post_init__(self):
        self._pipeline, self._rng = None, None

    def __call__(self, sample: Sample) -> Sample:
        if self._pipeline is None:
            self._pipeline = load_augment(self.spec)
            self._rng = np.random.default_rng(self._base_seed())
        if self.spec == "none":
            return sample
        return augment_sample(sample, self._pipeline, self._rng)

    def _base_seed(self):
        try:
            import torch

            return [torch.initial_seed() % (1 << 63)] + ([self.seed] if self.seed is not None else [])
        except ImportError:
            return self.seed

    def __getstate__(self):
        return {"spec": self.spec, "seed": self.seed}

    def __setstate__(self, state):
        self.spec, self.seed = state["spec"], state["seed"]
        self._pipeline, self._rng = None, None

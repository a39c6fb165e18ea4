"""Per-sample random streams and split sizes: why sample *i* depends only on (seed, split, i).

Every producer draws sample ``index`` of ``split`` from its own generator
``sample_rng(seed, split, index, attempt)`` (NumPy's ``SeedSequence`` over the four integers),
never from a stream shared across samples, so the worker count, the backend and the order in
which shards are made cannot change a byte (SynthTIGER derives a seed per task the same way).
"""

from __future__ import annotations

import zlib

import numpy as np

from synthtext.dataset.errors import ConfigError
from synthtext.dataset.names import check_split_name


def split_seed(split: str) -> int:
    """A stable 32-bit integer for a split name (CRC-32 of its UTF-8 bytes)."""
    return zlib.crc32(split.encode("utf-8"))


def sample_rng(seed: int, split: str, index: int, attempt: int = 0) -> np.random.Generator:
    """The random generator of attempt ``attempt`` at sample ``index`` of ``split``.

    Args:
        seed: the run's master seed (``--seed``), a non-negative int.
        split: the split name, e.g. ``"train"``.
        index: the sample's index within its split, ``>= 0``.
        attempt: retry counter for rejected attempts (0 for the first).
    """
    return np.random.default_rng([seed, split_seed(split), index, attempt])


def split_counts(n: int, split: tuple[tuple[str, float], ...]) -> dict[str, int]:
    """Samples per split by largest remainder: ``1000, train=.98,validation=.02`` -> 980/20.

    Args:
        n: total number of samples, ``>= 1``.
        split: ``(name, weight)`` pairs; empty means every sample is ``train``. Names
            follow :func:`~synthtext.dataset.names.check_split_name`.

    Returns:
        ``{split name: sample count}``, summing to ``n``.

    Raises:
        ConfigError: ``n < 1``, or a split name that cannot start shard names and keys
            (``--split``).
    """
    for name, _ in split:
        check_split_name(name, "--split")
    if n < 1:
        raise ConfigError(f"-n {n}: the number of samples must be at least 1")
    if not split:
        return {"train": n}
    total = sum(w for _, w in split)
    raw = [(name, n * w / total) for name, w in split]
    counts = {name: int(x) for name, x in raw}
    order = sorted(raw, key=lambda t: t[1] - int(t[1]), reverse=True)
    for name, _ in order[: n - sum(counts.values())]:
        counts[name] += 1
    return counts

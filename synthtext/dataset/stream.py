"""Samples made on the fly inside torch DataLoader workers, with the indices shards would use.

Kept in its own module so that writing shards never pays torch's import time.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Iterator

from torch.utils.data import IterableDataset, get_worker_info


def worker_share() -> tuple[int, int]:
    """``(worker id, number of workers)`` of the current DataLoader worker; ``(0, 1)`` in
    the main process."""
    info = get_worker_info()
    return (info.id, info.num_workers) if info is not None else (0, 1)


class GeneratorStream(IterableDataset):
    """Samples ``start, start+1, ...`` of ``split`` (endless when ``n`` is None), made by a
    job's generator (anything with ``sample(split, index) -> Sample``).

    Indices are dealt round-robin to DataLoader workers, so no two workers make the same
    sample, and sample ``i`` is the one a shard run with the same config holds at index
    ``i``. ``transform`` maps each :class:`~synthtext.dataset.sample.Sample` to what the
    loader yields. Subclasses give :meth:`generator`, built once per worker process.
    """

    def __init__(self, split: str = "train", n: int | None = None, start: int = 0,
                 transform: Callable[[Any], Any] | None = None):
        super().__init__()
        self.split, self.n, self.start, self.transform = split, n, start, transform

    def generator(self):
        """The object whose ``sample(split, index)`` makes each sample."""
        raise NotImplementedError

    def __iter__(self) -> Iterator[Any]:
        worker, workers = worker_share()
        gen = self.generator()
        first = self.start + worker
        indices = (itertools.count(first, workers) if self.n is None
                   else range(first, self.start + self.n, workers))
        for i in indices:
            sample = gen.sample(self.split, i)
            yield self.transform(sample) if self.transform else sample

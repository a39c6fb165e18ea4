"""On-the-fly rendering for training: a torch ``IterableDataset`` of fresh samples.

Kept apart from the rest of ``synthtext`` so that rendering never pays torch's import time.
"""

from __future__ import annotations

from torch.utils.data import IterableDataset, get_worker_info

from synthtext.render.config import RenderConfig
from synthtext.render.generate import _renderer


class RenderStream(IterableDataset):
    """An iterable of freshly rendered samples, usable as a torch ``IterableDataset``.

    Indices ``start, start+1, ...`` (endless when ``n`` is None) are dealt round-robin to
    DataLoader workers, so no two workers render the same sample. ``transform`` maps each
    :class:`~synthtext.dataset.sample.Sample` to what the loader should yield.
    """

    def __init__(self, cfg: RenderConfig, split: str = "train", n: int | None = None,
                 start: int = 0, transform=None):
        super().__init__()
        self.cfg, self.split, self.n, self.start = cfg.validate(), split, n, start
        self.transform = transform

    def __iter__(self):
        worker, workers = _worker_info()
        renderer = _renderer(self.cfg)
        i = self.start + worker
        while self.n is None or i < self.start + self.n:
            sample = renderer.sample(self.split, i)
            yield self.transform(sample) if self.transform else sample
            i += workers


def _worker_info() -> tuple[int, int]:
    info = get_worker_info()
    return (info.id, info.num_workers) if info is not None else (0, 1)


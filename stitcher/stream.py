"""On-the-fly stitching for training: a torch ``IterableDataset`` of fresh pages.

Kept apart from the rest of ``stitcher`` so that stitching shards never pays torch's import
time. The line index is built once, when the stream is made (in the trainer's main
process); DataLoader workers receive it with the dataset and only decode crops.
"""

from __future__ import annotations

from torch.utils.data import IterableDataset

from synthtext.render.stream import _worker_info

from .config import StitchConfig
from .generate import StitchJob, stitcher_for


class StitchStream(IterableDataset):
    """An iterable of freshly stitched pages, usable as a torch ``IterableDataset``.

    Indices ``start, start+1, ...`` (endless when ``n`` is None) are dealt round-robin to
    DataLoader workers, so no two workers stitch the same page; page ``i`` is identical to
    page ``i`` of ``synthgen stitch`` with the same config. ``transform`` maps each
    :class:`~synthtext.dataset.sample.Sample` to what the loader should yield.
    """

    def __init__(self, config: StitchConfig | StitchJob, split: str = "train",
                 n: int | None = None, start: int = 0, transform=None):
        super().__init__()
        self.job = config if isinstance(config, StitchJob) else StitchJob.create(config)
        self.split, self.n, self.start, self.transform = split, n, start, transform
        if len(self.job.index.pool(split)) == 0:
            from synthtext.dataset.errors import UserError

            raise UserError(f"split {split!r}: the line index has no crops of that split")

    def __iter__(self):
        worker, workers = _worker_info()
        stitcher = stitcher_for(self.job)
        i = self.start + worker
        while self.n is None or i < self.start + self.n:
            sample = stitcher.sample(self.split, i)
            yield self.transform(sample) if self.transform else sample
            i += workers

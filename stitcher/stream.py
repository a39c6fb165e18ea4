"""On-the-fly stitching for training: a torch ``IterableDataset`` of fresh pages.

Kept apart from the rest of ``stitcher`` so that stitching shards never pays torch's import
time. The line index is built once, when the stream is made (in the trainer's main
process); DataLoader workers receive it with the dataset and only decode crops.
"""

from __future__ import annotations

from synthtext.dataset.errors import UserError
from synthtext.dataset.stream import GeneratorStream

from .config import StitchConfig
from .generate import StitchJob, stitcher_for


class StitchStream(GeneratorStream):
    """Freshly stitched pages ``start, start+1, ...`` of ``split`` (endless when ``n`` is
    None) as a torch ``IterableDataset``; page ``i`` is identical to page ``i`` of
    ``synthgen stitch`` with the same config (see :class:`GeneratorStream`).

    ``config`` may be a :class:`StitchJob` to reuse its line index.

    Raises:
        UserError: when the line index has no crops of ``split``; ConfigError and
            UserError as :meth:`StitchJob.create` for a config.
    """

    def __init__(self, config: StitchConfig | StitchJob, split: str = "train",
                 n: int | None = None, start: int = 0, transform=None):
        super().__init__(split, n, start, transform)
        self.job = config if isinstance(config, StitchJob) else StitchJob.create(config)
        if len(self.job.index.pool(split)) == 0:
            raise UserError(f"split {split!r}: the line index has no crops of that split")

    def generator(self):
        """The per-process :class:`~stitcher.generate.Stitcher` of the job."""
        return stitcher_for(self.job)

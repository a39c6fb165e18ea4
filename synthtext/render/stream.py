"""On-the-fly rendering for training: a torch ``IterableDataset`` of fresh samples.

Kept apart from the rest of ``synthtext.render`` so that rendering never pays torch's import
time.
"""

from __future__ import annotations

from synthtext.dataset.stream import GeneratorStream
from synthtext.render.config import RenderConfig
from synthtext.render.generate import _renderer


class RenderStream(GeneratorStream):
    """Freshly rendered samples ``start, start+1, ...`` of ``split`` (endless when ``n`` is
    None) as a torch ``IterableDataset``; sample ``i`` equals sample ``i`` of
    ``synthgen render`` with the same config (see :class:`GeneratorStream`).

    Raises:
        ConfigError: ``cfg`` is invalid.
    """

    def __init__(self, cfg: RenderConfig, split: str = "train", n: int | None = None,
                 start: int = 0, transform=None):
        super().__init__(split, n, start, transform)
        self.cfg = cfg.validate()

    def generator(self):
        """The per-process :class:`~synthtext.render.renderer.Renderer` of the config."""
        return _renderer(self.cfg)

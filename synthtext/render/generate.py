"""The Python API of ``synthgen render``: shards on disk, one sample, or an endless stream.

- :func:`render_shards` writes a shard directory (what the CLI calls).
- :func:`render_sample` gives sample ``index`` of a config, identical to the one in shards.
- :class:`synthtext.render.stream.RenderStream` yields samples on the fly (torch-aware).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from synthtext.dataset.runner import RunResult, run
from synthtext.dataset.seeds import split_counts
from synthtext.fonts.fontset import FontSet, resolve_fonts
from synthtext.render.config import RenderConfig
from synthtext.render.renderer import Renderer, open_corpora


@dataclass(frozen=True)
class RenderJob:
    """What the runner ships to workers: the config plus checksums of its inputs."""

    cfg: RenderConfig
    inputs: dict  # corpus and font checksums, computed once in the parent process

    @classmethod
    def create(cls, cfg: RenderConfig) -> "RenderJob":
        """Validate ``cfg``, open its corpora and fonts once, and record their checksums
        (corpus sha256 and size in bytes, font-set fingerprint and font list).

        Raises:
            ConfigError, CorpusError, FontError: as :meth:`RenderConfig.validate`,
                :func:`~synthtext.render.renderer.open_corpora` and
                :func:`~synthtext.fonts.fontset.resolve_fonts`.
        """
        cfg.validate()
        mix = open_corpora(cfg)
        fonts = FontSet(resolve_fonts(cfg.fonts))
        corpora = [{"name": c.name, "path": str(c.path), "format": c.format,
                    "sha256": c.sha256, "bytes": c.size_bytes, "weight": w}
                   for c, w in mix.corpora]
        font_list = [s.to_json() for s in fonts.specs]
        _remember(cfg, Renderer(cfg, mix, fonts))  # this process reuses what it just opened
        return cls(cfg, {"corpora": corpora, "fonts": {"fingerprint": fonts.fingerprint(),
                                                       "list": font_list}})

    def config(self) -> dict:
        """What the dataset info records: the render config and the input checksums."""
        return {"render": self.cfg.to_json(), **self.inputs}

    def build(self) -> Renderer:
        """The process' Renderer for this config (built once per worker process)."""
        return _renderer(self.cfg)


_RENDERERS: dict[str, Renderer] = {}


def _renderer(cfg: RenderConfig) -> Renderer:
    """One Renderer per config and process: opening corpora and fonts is the costly part
    (and its warnings, e.g. a skipped font, are then printed once per process)."""
    renderer = _RENDERERS.get(_key(cfg))
    return renderer if renderer is not None else _remember(cfg, Renderer(cfg))


def _key(cfg: RenderConfig) -> str:
    return json.dumps(cfg.to_json(), sort_keys=True)


def _remember(cfg: RenderConfig, renderer: Renderer) -> Renderer:
    if len(_RENDERERS) >= 4:
        _RENDERERS.clear()
    _RENDERERS[_key(cfg)] = renderer
    return renderer


def render_shards(cfg: RenderConfig, out: str | Path, n: int, **run_options) -> RunResult:
    """Render ``n`` samples (spread over ``cfg.split``) into WebDataset shards in ``out``.

    ``run_options`` go to :func:`synthtext.dataset.runner.run` (shard_size, image_format, quality,
    workers, backend, scheduler, overwrite, progress).

    Raises:
        UserError: as :meth:`RenderJob.create` (config, corpora, fonts) and the runner (the
            output directory).
    """
    job = RenderJob.create(cfg)
    return run(job, out, split_counts(n, cfg.split), kind="render", **run_options)


def render_sample(cfg: RenderConfig, index: int, split: str = "train"):
    """Sample ``index`` of ``split``: the same pixels and label as in the shards (see
    :meth:`~synthtext.render.renderer.Renderer.sample`)."""
    return _renderer(cfg).sample(split, index)

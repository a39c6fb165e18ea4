"""The Python API of ``synthgen render``: shards on disk, one sample, or an endless stream.

- :func:`render_shards` writes a shard directory (what the CLI calls).
- :func:`render_sample` gives sample ``index`` of a config, identical to the one in shards.
- :class:`synthtext.stream.RenderStream` yields samples on the fly (torch-aware).
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path

from .config import RenderConfig
from .errors import ConfigError
from .render import Renderer, open_corpora
from .runner import RunResult, run


@dataclass(frozen=True)
class RenderRecipe:
    """What the runner ships to workers: the config plus checksums of its inputs."""

    cfg: RenderConfig
    inputs: dict  # corpus and font checksums, computed once in the parent process

    @classmethod
    def create(cls, cfg: RenderConfig) -> "RenderRecipe":
        from .fonts import FontSet, resolve_fonts

        cfg.validate()
        mix = open_corpora(cfg)
        fonts = FontSet(resolve_fonts(cfg.fonts))
        corpora = [{"name": c.name, "path": str(c.path), "format": c.format,
                    "sha256": c.sha256, "bytes": c.size_bytes, "weight": w}
                   for c, w in mix.corpora]
        font_list = [s.to_json() for s in fonts.specs]
        return cls(cfg, {"corpora": corpora, "fonts": {"fingerprint": fonts.fingerprint(),
                                                       "list": font_list}})

    def config(self) -> dict:
        return {"render": self.cfg.to_json(), **self.inputs}

    def build(self) -> Renderer:
        return _renderer(self.cfg)


_RENDERERS: dict[str, Renderer] = {}


def _renderer(cfg: RenderConfig) -> Renderer:
    """One Renderer per config and process: opening corpora and fonts is the costly part."""
    key = json.dumps(cfg.to_json(), sort_keys=True)
    if key not in _RENDERERS:
        if len(_RENDERERS) >= 4:
            _RENDERERS.clear()
        _RENDERERS[key] = Renderer(cfg)
    return _RENDERERS[key]


def split_counts(n: int, split: tuple[tuple[str, float], ...]) -> dict[str, int]:
    """Samples per split by largest remainder: ``1000, train=.98,validation=.02`` -> 980/20."""
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


def render_shards(cfg: RenderConfig, out: str | Path, n: int, **run_options) -> RunResult:
    """Render ``n`` samples (spread over ``cfg.split``) into WebDataset shards in ``out``.

    ``run_options`` go to :func:`synthtext.runner.run` (shard_size, image_format, quality,
    workers, backend, scheduler, overwrite, progress).
    """
    recipe = RenderRecipe.create(cfg)
    return run(recipe, out, split_counts(n, cfg.split), kind="render", **run_options)


def render_sample(cfg: RenderConfig, index: int, split: str = "train"):
    """Sample ``index`` of ``split``: the same pixels and label as in the shards."""
    return _renderer(cfg).sample(split, index)

"""What a training run decides before it builds anything: configs, sources, vocabulary.

Three ways to start, all checked here so that a user mistake stops the run before a model,
a data loader or a process group exists:

- a new run: preset, then ``--config``, then ``KEY=VALUE``; the vocabulary holds the
  characters of every source (train and validation) plus ``extra_chars``;
- ``--init-from CKPT``: a new run from a checkpoint's weights; its architecture stays, its
  vocabulary grows by appending (old ids keep their meaning, :meth:`Vocab.extended`);
- ``--resume``: the run in ``--out`` continues from ``last.pt`` with the checkpoint's
  configs; only keys that change neither the model nor the optimisation path
  (:data:`RESUMABLE`) may be overridden.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from synthtext.dataset.errors import UserError

from . import checkpoint as ckpt
from . import sources
from .config import ModelConfig, TrainConfig, load_config_file, resolve, split_items, to_json
from .vocab import Vocab

# Keys a --resume may change: they do not alter the model or the optimisation path.
RESUMABLE = {"max_steps", "max_time", "log_every", "val_every", "ckpt_every", "num_workers",
             "val_samples", "val_batch_size", "val_examples", "beam"}
# Keys that shape the weights: --init-from keeps its checkpoint's values.
ARCH = {"stem_width", "stem_kernel", "stem_stride", "stem_pool", "widths", "depths", "strides",
        "d_model", "nhead", "num_layers", "dim_ff", "line_embedding", "max_lines"}


@dataclass
class TrainOptions:
    """What ``fphtr train`` was asked for, before any file is read.

    Attributes:
        out: run directory (``last.pt``, ``best.pt``, ``metrics.jsonl``, ...).
        data: training source specs (``[NAME=]TARGET[@W0[:W1]]``), at least one unless
            ``resume``.
        val: validation source specs; may be empty (no validation).
        preset: ``tiny`` or ``base`` (:func:`model.config.preset`).
        config_file: JSON file of config keys, applied after the preset.
        overrides: ``KEY=VALUE`` items (strings), applied last.
        init_from: checkpoint whose weights start a new run.
        resume: continue the run in ``out`` from its ``last.pt``.
        progress: draw a progress bar when stderr is a terminal.
    """

    out: str
    data: list[str] = field(default_factory=list)
    val: list[str] = field(default_factory=list)
    preset: str = "tiny"
    config_file: str | None = None
    overrides: dict = field(default_factory=dict)
    init_from: str | None = None
    resume: bool = False
    progress: bool = True


@dataclass
class RunPlan:
    """Everything decided before the model is built.

    Attributes:
        out: run directory.
        model_config: architecture, preprocessing bounds and decoding guards.
        train_config: optimisation, data pipeline and bookkeeping.
        train_sources: resolved training sources (:func:`model.sources.resolve`).
        val_sources: resolved validation sources (may be empty).
        vocab: the run's vocabulary (the checkpoint's on ``--resume``).
        init: the ``--init-from`` checkpoint (:func:`model.checkpoint.load`), or None.
        resume: the ``last.pt`` checkpoint a ``--resume`` continues, or None.
    """

    out: str
    model_config: ModelConfig
    train_config: TrainConfig
    train_sources: list[sources.SourceSpec]
    val_sources: list[sources.SourceSpec]
    vocab: Vocab
    init: dict | None = None
    resume: dict | None = None

    def run_files(self) -> dict[str, dict]:
        """The JSON files a run directory documents itself with: name -> JSON object."""
        return {"config.json": {"model": to_json(self.model_config),
                                "train": to_json(self.train_config),
                                "data": [s.text for s in self.train_sources],
                                "val": [s.text for s in self.val_sources]},
                "vocab.json": self.vocab.to_json()}


def plan_run(opts: TrainOptions) -> RunPlan:
    """Resolve configs, sources and vocabulary of a new, ``--init-from`` or resumed run.

    Raises:
        UserError: ``out`` already holds a checkpoint without ``--resume``, no ``--data``,
            a config or source problem, an ``--init-from`` that changes the architecture,
            a ``--resume`` with nothing to resume or with keys outside :data:`RESUMABLE`,
            or data a resumed vocabulary cannot encode.
    """
    last = os.path.join(opts.out, "last.pt")
    if opts.resume:
        return _plan_resume(opts, last)
    if os.path.exists(last):
        raise UserError(f"{opts.out} already holds a checkpoint; add --resume to continue it "
                        "or choose another --out")
    if not opts.data:
        raise UserError("--data: give at least one data source")
    mcfg, tcfg = resolve(opts.preset, opts.config_file, opts.overrides)
    specs, val = sources.resolve(opts.data), sources.resolve(opts.val, for_val=True)
    chars = sources.collect_chars(specs + val) | set(tcfg.extra_chars)
    init = None
    if opts.init_from:
        init = ckpt.load(opts.init_from)
        mcfg = _init_model_config(init, opts)
        vocab = Vocab.from_json(init["vocab"]).extended(chars, mcfg.tags)
    else:
        vocab = Vocab.build(chars, mcfg.tags)
    return RunPlan(opts.out, mcfg, tcfg, specs, val, vocab, init=init)


def _init_model_config(init: dict, opts: TrainOptions) -> ModelConfig:
    """--init-from keeps the checkpoint's architecture; other model keys may change."""
    old, _ = ckpt.configs(init)
    items = dict(opts.overrides)
    if opts.config_file:
        items = {**load_config_file(opts.config_file), **items}
    m, _ = split_items(old, resolve(opts.preset, None, {})[1], items)
    clash = sorted(k for k in ARCH if getattr(m, k) != getattr(old, k))
    if clash:
        raise UserError(f"--init-from {opts.init_from}: cannot change {', '.join(clash)} of its "
                        "architecture; drop those overrides")
    return m.validate()


def _plan_resume(opts: TrainOptions, last: str) -> RunPlan:
    if not os.path.isfile(last):
        raise UserError(f"--resume: {last} not found (nothing to resume)")
    if opts.init_from:
        raise UserError("--resume and --init-from exclude each other")
    ck = ckpt.load(last)
    mcfg, tcfg = ckpt.configs(ck)
    bad = sorted(set(opts.overrides) - RESUMABLE)
    if bad:
        raise UserError(f"--resume: cannot change {', '.join(bad)} of a running run; start a "
                        f"new run with --init-from {last}")
    _, tcfg = split_items(mcfg, tcfg, opts.overrides)
    specs = sources.resolve(opts.data or ck["data"])
    val = sources.resolve(opts.val or ck["val"], for_val=True)
    vocab = Vocab.from_json(ck["vocab"])
    ckpt.check_vocab_covers(vocab, sources.collect_chars(specs + val), last)
    return RunPlan(opts.out, mcfg, tcfg.validate(), specs, val, vocab, resume=ck)

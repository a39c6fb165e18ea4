"""What a training run decides before it builds anything: configs, sources, vocabulary.

Three ways to start, all checked here so that a user mistake stops the run before a model,
a data loader or a process group exists:

- a new run: preset, then ``--config``, then ``KEY=VALUE``; the vocabulary holds the
  characters of every source (train and validation) plus ``extra_chars``;
- ``--init-from CKPT``: a new run from a checkpoint's weights; its architecture stays (a
  ``--preset`` of another architecture is an error), its vocabulary grows by appending (old
  ids keep their meaning, :meth:`Vocab.extended`); the training defaults are those of
  ``--preset``, else of the checkpoint's preset;
- ``--resume``: the run in ``--out`` continues from ``last.pt`` with the checkpoint's
  configs. The command that started the run, repeated with ``--resume``, is accepted:
  ``--preset``, ``--config``, ``KEY=VALUE`` and ``--init-from`` may repeat the run's values;
  a value that differs is an error naming it, unless the key changes neither the model nor
  the optimisation path (:data:`RESUMABLE`); ``--data``/``--val`` may repeat the run's
  sources (compared after path resolution), not change them; a ``max_steps`` the run has
  already reached is an error.

The run directory stores its data specs and an ``--augment`` file with absolute local paths
(:mod:`model.paths`), so ``--resume`` without ``--data`` works from any working directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields

from synthtext.augmenting.samples import load_augment
from synthtext.dataset.errors import UserError

from . import checkpoint as ckpt
from . import sources
from .config import ModelConfig, TrainConfig, load_config_file, preset, split_items, to_json
from .paths import absolute, augment_path, check_writable_dir
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
        preset: ``tiny`` or ``base`` (:func:`model.config.preset`); None: ``tiny`` for a new
            run, the checkpoint's with ``init_from`` or ``resume``.
        config_file: JSON file of config keys, applied after the preset.
        overrides: ``KEY=VALUE`` items (strings), applied last.
        init_from: checkpoint whose weights start a new run.
        resume: continue the run in ``out`` from its ``last.pt``.
        progress: draw a progress bar when stderr is a terminal.
    """

    out: str
    data: list[str] = field(default_factory=list)
    val: list[str] = field(default_factory=list)
    preset: str | None = None
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
        init_from: absolute path of the checkpoint the run started from, or None (kept
            across ``--resume``).
    """

    out: str
    model_config: ModelConfig
    train_config: TrainConfig
    train_sources: list[sources.SourceSpec]
    val_sources: list[sources.SourceSpec]
    vocab: Vocab
    init: dict | None = None
    resume: dict | None = None
    init_from: str | None = None

    def stored_sources(self) -> dict:
        """``data``, ``val`` (specs as :func:`model.sources.stored_text` writes them: local
        paths absolute) and ``init_from``: what config.json and checkpoints record."""
        return {"data": [sources.stored_text(s) for s in self.train_sources],
                "val": [sources.stored_text(s) for s in self.val_sources],
                "init_from": self.init_from}

    def run_files(self) -> dict[str, dict]:
        """The JSON files a run directory documents itself with: name -> JSON object."""
        return {"config.json": {"model": to_json(self.model_config),
                                "train": to_json(self.train_config), **self.stored_sources()},
                "vocab.json": self.vocab.to_json()}


def plan_run(opts: TrainOptions) -> RunPlan:
    """Resolve configs, sources and vocabulary of a new, ``--init-from`` or resumed run.

    Nothing is written: ``--out`` is only checked to be a directory this process can create
    or write.

    Raises:
        UserError: ``out`` cannot be written or already holds a checkpoint without
            ``--resume``, no ``--data``, a config or source problem, an ``--init-from`` whose
            architecture ``--preset`` or overrides would change, a ``--resume`` with nothing
            to resume or with changed values outside :data:`RESUMABLE`, or data a resumed
            vocabulary cannot encode.
    """
    check_writable_dir(opts.out, "--out")
    last = os.path.join(opts.out, "last.pt")
    if opts.resume:
        return _plan_resume(opts, last)
    if os.path.exists(last):
        raise UserError(f"{opts.out} already holds a checkpoint; add --resume to continue it "
                        "or choose another --out")
    if not opts.data:
        raise UserError("--data: give at least one data source")
    init = ckpt.load(opts.init_from) if opts.init_from else None
    if init is not None:
        mcfg, tcfg = _init_configs(init, opts)
    else:
        mcfg, tcfg = split_items(*preset(opts.preset or "tiny"), _asked(opts))
        mcfg, tcfg = mcfg.validate(), _checked(tcfg)
    specs, val = sources.resolve(opts.data), sources.resolve(opts.val, for_val=True)
    chars = sources.collect_chars(specs + val) | set(tcfg.extra_chars)
    if init is not None:
        vocab = Vocab.from_json(init["vocab"]).extended(chars, mcfg.tags)
    else:
        vocab = Vocab.build(chars, mcfg.tags)
    return RunPlan(opts.out, mcfg, tcfg, specs, val, vocab, init=init,
                   init_from=absolute(opts.init_from) if opts.init_from else None)


def _asked(opts: TrainOptions) -> dict:
    """The config items the command asks for: ``--config`` file, then ``KEY=VALUE``; an
    ``augment`` config file as an absolute path."""
    items = dict(opts.overrides)
    if opts.config_file:
        items = {**load_config_file(opts.config_file), **items}
    if "augment" in items:
        items["augment"] = augment_path(items["augment"])
    return items


def _checked(tcfg: TrainConfig) -> TrainConfig:
    """``tcfg`` validated, its augmentation loaded once (a bad one fails before training)."""
    tcfg = tcfg.validate()
    if tcfg.augment not in ("", "none"):
        load_augment(tcfg.augment)
    return tcfg


def _init_configs(init: dict, opts: TrainOptions) -> tuple[ModelConfig, TrainConfig]:
    """--init-from keeps the checkpoint's architecture; other model keys may change, and the
    training config starts from ``--preset`` (else the checkpoint's preset)."""
    old, _ = ckpt.configs(init)
    if opts.preset is not None:
        asked = preset(opts.preset)[0]
        differ = [k for k in sorted(ARCH) if getattr(asked, k) != getattr(old, k)]
        if differ:
            raise UserError(f"--init-from {opts.init_from} holds a {old.preset!r} model whose "
                            f"architecture --preset {opts.preset} does not have (differs in "
                            f"{', '.join(differ)}); drop --preset to keep the checkpoint's")
    m, t = split_items(old, preset(opts.preset or old.preset)[1], _asked(opts))
    clash = sorted(k for k in ARCH if getattr(m, k) != getattr(old, k))
    if clash:
        raise UserError(f"--init-from {opts.init_from}: cannot change {', '.join(clash)} of its "
                        "architecture; drop those overrides")
    return m.validate(), _checked(t)


def _changes(old, new) -> dict[str, tuple]:
    """Fields whose value differs between two configs of one class: key -> (old, new)."""
    return {f.name: (getattr(old, f.name), getattr(new, f.name)) for f in fields(old)
            if getattr(old, f.name) != getattr(new, f.name)}


def _check_same_start(opts: TrainOptions, ck: dict, mcfg: ModelConfig) -> None:
    """A resumed command may repeat the run's ``--preset`` and ``--init-from``, not change
    them."""
    if opts.preset is not None and opts.preset != mcfg.preset:
        raise UserError(f"--resume: the run in {opts.out} uses --preset {mcfg.preset}, not "
                        f"{opts.preset}; drop --preset")
    started = ck.get("init_from")
    if opts.init_from and absolute(opts.init_from) != started:
        was = f"--init-from {started}" if started else "scratch (no --init-from recorded)"
        raise UserError(f"--resume: the run in {opts.out} started from {was}, not "
                        f"--init-from {opts.init_from}; drop --init-from")


def _plan_resume(opts: TrainOptions, last: str) -> RunPlan:
    if not os.path.isfile(last):
        raise UserError(f"--resume: {last} not found (nothing to resume)")
    ck = ckpt.load(last)
    mcfg, old_t = ckpt.configs(ck)
    _check_same_start(opts, ck, mcfg)
    m, tcfg = split_items(mcfg, old_t, _asked(opts))
    changed = {**_changes(mcfg, m), **_changes(old_t, tcfg)}
    bad = [f"{k} ({a!r} -> {b!r})" for k, (a, b) in sorted(changed.items())
           if k not in RESUMABLE]
    if bad:
        raise UserError(f"--resume: cannot change {', '.join(bad)} of a running run; repeat "
                        f"its values or start a new run with --init-from {last}")
    specs = _same_sources(opts.data, ck["data"], "--data", last)
    val = _same_sources(opts.val, ck["val"], "--val", last)
    if tcfg.max_steps <= ck["step"]:
        raise UserError(f"--resume: the run in {opts.out} is already at step {ck['step']}; "
                        f"give a --max-steps above {ck['step']}")
    vocab = Vocab.from_json(ck["vocab"])
    ckpt.check_vocab_covers(vocab, sources.collect_chars(specs + val), last)
    return RunPlan(opts.out, mcfg, _checked(tcfg), specs, val, vocab, resume=ck,
                   init_from=ck.get("init_from"))


def _same_sources(asked: list[str], stored: list[str], opt: str, last: str) -> list:
    """The resolved sources of a resumed run: ``stored`` (the run's), after checking that
    ``asked`` (the command's ``opt`` specs, may be empty) resolves to the same.

    Raises:
        UserError: ``asked`` differs from the run's sources after path resolution.
    """
    for_val = opt == "--val"
    specs = sources.resolve(stored, for_val=for_val)
    if asked:
        given = [sources.stored_text(s) for s in sources.resolve(asked, for_val=for_val)]
        if given != [sources.stored_text(s) for s in specs]:
            raise UserError(f"--resume: cannot change {opt} of a running run (it uses "
                            f"{' '.join(stored) or 'none'}); repeat them or drop {opt}, "
                            f"or start a new run with --init-from {last}")
    return specs

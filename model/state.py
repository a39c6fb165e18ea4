"""The live state of a training run, and its round trip through a checkpoint.

:class:`TrainState` holds the objects a step changes (weights, EMA, AdamW, learning-rate
schedule, gradient scaler) and the counters a resumed run must continue (step, sample clock,
best CER, training time). :func:`build_state` makes it from a :class:`RunPlan`;
:func:`checkpoint_payload` and :func:`restore` write and read it with the keys of
``fphtr.checkpoint/1`` (see :mod:`model.checkpoint`), so ``--resume`` continues exactly.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from . import checkpoint as ckpt
from .data import mix_schedule
from .distributed import Dist
from .network import FPHTR, build_model, count_parameters
from .plan import RunPlan
from .schedule import LRSchedule, MixSchedule
from .vocab import Vocab

RANK_SEED_STRIDE = 7919  # a prime: rank r draws dropout masks from seed + 7919 * r


@dataclass
class TrainState:
    """The model and optimiser objects of a run, and its counters.

    Attributes:
        model: the network being trained (on the run's device).
        ema: exponential moving average of ``model``'s weights, or None (``ema_decay=0``).
        optimizer: AdamW over ``model``'s parameters.
        lr_schedule: warm-up + cosine learning rate by optimiser step.
        mix: the mixture schedule of the training sources by sample clock.
        scaler: gradient scaler (active only with float16 autocast).
        amp: autocast dtype (``torch.bfloat16``/``torch.float16``) or None (float32).
        forward_model: what the step calls: ``model`` itself, or its DDP wrapper.
        step: optimiser steps done.
        clock: training samples drawn so far, over all ranks (the mixture's clock).
        best_cer: lowest validation CER so far (a fraction), or None before validation.
        elapsed: seconds spent in training steps (validation and checkpoints excluded).
    """

    model: FPHTR
    ema: FPHTR | None
    optimizer: torch.optim.Optimizer
    lr_schedule: LRSchedule
    mix: MixSchedule
    scaler: torch.amp.GradScaler
    amp: torch.dtype | None
    forward_model: nn.Module
    step: int = 0
    clock: int = 0
    best_cer: float | None = None
    elapsed: float = 0.0

    @property
    def eval_model(self) -> FPHTR:
        """The weights validation uses: the EMA when there is one."""
        return self.ema if self.ema is not None else self.model


def build_state(plan: RunPlan, d: Dist) -> TrainState:
    """Model, EMA, optimiser, schedules and scaler; restored from ``plan.resume`` if any.

    A new run seeds torch with ``seed`` before building, so every rank starts from the same
    weights, then reseeds each rank with ``seed + 7919 * rank`` for its own dropout masks.
    ``--init-from`` loads the checkpoint's EMA weights (else its raw weights) and grows
    embedding and head for appended symbols (:func:`model.checkpoint.extend_vocab`).
    """
    tcfg = plan.train_config
    torch.manual_seed(tcfg.seed)
    model = _initial_model(plan).to(d.device)
    optimizer = torch.optim.AdamW(_param_groups(model, tcfg.weight_decay), lr=tcfg.lr,
                                  betas=tuple(tcfg.betas), fused=True)  # one kernel, CPU and GPU
    amp = _amp_dtype(tcfg.amp, d.device)
    state = TrainState(
        model=model, ema=copy.deepcopy(model).eval() if tcfg.ema_decay > 0 else None,
        optimizer=optimizer,
        lr_schedule=LRSchedule(tcfg.lr, tcfg.warmup_steps, tcfg.max_steps, tcfg.min_lr_ratio),
        mix=mix_schedule(plan.train_sources, tcfg),
        scaler=torch.amp.GradScaler(d.device.type, enabled=amp == torch.float16),
        amp=amp, forward_model=model)
    if plan.resume is not None:
        restore(state, plan.resume, d.rank)
    else:  # ranks share the initial weights, not dropout masks
        torch.manual_seed(tcfg.seed + RANK_SEED_STRIDE * d.rank)
    if d.world > 1:
        state.forward_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[d.device.index] if d.device.type == "cuda" else None)
    return state


def _initial_model(plan: RunPlan) -> FPHTR:
    if plan.init is None:
        return build_model(plan.model_config, plan.vocab)
    old_vocab = Vocab.from_json(plan.init["vocab"])
    base = build_model(plan.model_config, old_vocab)
    base.load_state_dict(plan.init["ema"] or plan.init["model"])
    return ckpt.extend_vocab(base, old_vocab, plan.vocab)


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices and kernels only: not on biases, norms or embeddings."""
    decay, keep = [], []
    for name, p in model.named_parameters():
        (decay if p.ndim >= 2 and "embedding" not in name and "line_emb" not in name
         else keep).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": keep, "weight_decay": 0.0}]


def _amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """``auto``: bfloat16 where the GPU supports it, else float16; never on the CPU."""
    if device.type != "cuda" or amp == "off":
        return None
    if amp == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if amp == "bf16" else torch.float16


def restore(state: TrainState, ck: dict, rank: int) -> None:
    """Load a checkpoint's weights, optimiser, schedules, counters and this rank's RNG.

    A run resumed with more ranks than it was saved with reuses the saved states in turn.
    """
    state.model.load_state_dict(ck["model"])
    state.optimizer.load_state_dict(ck["optimizer"])
    state.lr_schedule.load_state_dict(ck["scheduler"])
    state.scaler.load_state_dict(ck["scaler"])
    if state.ema is not None and ck.get("ema") is not None:
        state.ema.load_state_dict(ck["ema"])
    state.step, state.clock = int(ck["step"]), int(ck["mix"]["clock"])
    state.best_cer, state.elapsed = ck.get("best_cer"), float(ck.get("elapsed", 0.0))
    states = ck["rng"]
    ckpt.set_rng_state(states[rank % len(states)])


def checkpoint_payload(state: TrainState, plan: RunPlan, world: int, rng: list[dict]) -> dict:
    """The checkpoint of a run: weights, configs and vocabulary, then the training state.

    Args:
        state: the run's state after ``state.step`` steps.
        plan: its configs, sources and vocabulary.
        world: number of ranks (stored as ``world_size``).
        rng: one RNG state per rank (:func:`model.distributed.gather_rng`).
    """
    payload = ckpt.model_payload(state.model, plan.vocab, plan.model_config, plan.train_config)
    payload.update({
        "ema": state.ema.state_dict() if state.ema is not None else None,
        "optimizer": state.optimizer.state_dict(), "scheduler": state.lr_schedule.state_dict(),
        "scaler": state.scaler.state_dict(), "step": state.step,
        "mix": state.mix.state_dict(state.clock), "rng": rng,
        "best_cer": state.best_cer, "elapsed": state.elapsed, "world_size": world,
        **plan.stored_sources()})
    return payload


def describe(plan: RunPlan, model: nn.Module) -> str:
    """One line on the model: preset, parameters (millions), vocabulary size, stride, width."""
    m = plan.model_config
    return (f"{m.preset}: {count_parameters(model) / 1e6:.2f} M parameters, vocabulary "
            f"{len(plan.vocab)}, stride {m.stride}, d_model {m.d_model}")

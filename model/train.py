"""The training loop: AdamW, warm-up + cosine, clipping, AMP, EMA, DDP, checkpoints.

The method follows FPHTR (Singh & Karayev, "Full Page Handwriting Recognition via Image to
Sequence Extraction", ICDAR 2021): teacher-forced cross-entropy on the next symbol of
``<bos> text <eos>``. Run under ``torchrun`` it reads ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``
and joins a process group (:mod:`model.distributed`); validation and checkpoint writing
happen on rank 0 while the others wait. ``--resume`` restores weights, optimiser, LR
schedule, scaler, EMA, step, RNG states and the mixture clock (:mod:`model.state`); the data
stream is resampled (``resampled=True``), so a resumed run draws a fresh, seeded stream
rather than replaying the killed one's samples.
"""

from __future__ import annotations

import os
import signal
import time

import torch
import torch.nn.functional as F

from . import checkpoint as ckpt
from .config import TrainConfig, parse_duration
from .data import TrainBatches
from .distributed import (
    Dist,
    any_rank,
    barrier,
    close_distributed,
    gather_rng,
    setup_distributed,
    weights_agree,
)
from .evaluate import evaluate
from .plan import RunPlan, TrainOptions, plan_run
from .runlog import RunLog
from .skips import reasons_line
from .state import TrainState, build_state, checkpoint_payload, describe
from .vocab import PAD_ID

SEED_STRIDE = 1_000_003  # a prime: the data seed of step s is seed * 1_000_003 + s

__all__ = ["TrainOptions", "train", "train_step"]


def train(opts: TrainOptions) -> dict:
    """Train until ``max_steps``, ``max_time`` or SIGTERM/SIGINT; checkpoint, then return.

    Returns:
        The last validation result (:func:`model.evaluate.evaluate`; empty without
        validation sources) with ``step``, ``best_cer`` and ``skipped`` added (training
        samples this process skipped, by source and reason, as one line; empty for none).

    Raises:
        UserError: a problem with the options, configs, sources, checkpoints or data
            (one line, also when it happened inside a DataLoader worker).
    """
    d = setup_distributed()
    try:
        plan = plan_run(opts)
        return _loop(plan, build_state(plan, d), d, opts.progress)
    finally:
        close_distributed(d)


def train_step(state: TrainState, batch: dict, tcfg: TrainConfig,
               device: torch.device) -> float:
    """One optimiser step on ``batch``; returns the mean loss (nats per target token).

    Args:
        state: the run's state; its weights, optimiser, scaler, LR schedule and EMA move on.
        batch: :func:`model.preprocess.collate` output: ``images`` (B, 1, H, W) float32 in
            [0, 1] (ink positive), ``sizes`` (B, 2) int64 valid (h, w) in pixels, ``tgt``
            (B, T) int64 ids ``<bos> ... <eos>`` padded with ``PAD_ID``.
        tcfg: ``label_smoothing``, ``clip_grad`` (global L2 norm) and ``ema_decay``.
        device: where the model lives.
    """
    images, sizes = batch["images"].to(device), batch["sizes"].to(device)
    tgt = batch["tgt"].to(device)
    opt = state.optimizer
    state.lr_schedule.apply(opt)
    with torch.autocast(device.type, dtype=state.amp, enabled=state.amp is not None):
        logits = state.forward_model(images, sizes, tgt[:, :-1])
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]),
                               tgt[:, 1:].reshape(-1), ignore_index=PAD_ID,
                               label_smoothing=tcfg.label_smoothing)
    opt.zero_grad(set_to_none=True)
    state.scaler.scale(loss).backward()
    state.scaler.unscale_(opt)
    torch.nn.utils.clip_grad_norm_(state.model.parameters(), tcfg.clip_grad)
    state.scaler.step(opt)
    state.scaler.update()
    state.lr_schedule.step += 1
    if state.ema is not None:
        _ema_update(state.ema, state.model, tcfg.ema_decay)
    return float(loss.detach())


@torch.no_grad()
def _ema_update(ema, model, decay: float) -> None:
    for e, p in zip(ema.state_dict().values(), model.state_dict().values()):
        if e.dtype.is_floating_point:
            e.lerp_(p, 1 - decay)
        else:
            e.copy_(p)


# -- the loop ------------------------------------------------------------------------------
def _open_log(plan: RunPlan, state: TrainState, d: Dist, progress: bool) -> RunLog:
    tcfg = plan.train_config
    text = (f"{describe(plan, state.model)}; {len(plan.train_sources)} training source(s), "
            f"{len(plan.val_sources)} validation source(s); step {state.step}")
    return RunLog(plan.out, main=d.main, description=text, start_step=state.step,
                  max_steps=tcfg.max_steps, log_every=tcfg.log_every,
                  files=plan.run_files(), progress=progress)


def _loop(plan: RunPlan, state: TrainState, d: Dist, progress: bool) -> dict:
    tcfg = plan.train_config
    if tcfg.threads > 0:  # on 2 shared cores one compute thread beats two fighting threads
        torch.set_num_threads(tcfg.threads)
    log = _open_log(plan, state, d, progress)
    batches = TrainBatches(plan.train_sources, plan.vocab, plan.model_config, tcfg,
                           clock0=state.clock, rank=d.rank, world_size=d.world,
                           seed=tcfg.seed * SEED_STRIDE + state.step)
    deadline = parse_duration(tcfg.max_time) if tcfg.max_time else None
    stop = _StopFlag()
    start, summary = time.time(), {}
    try:
        while state.step < tcfg.max_steps:
            batch = next(batches)
            loss = train_step(state, batch, tcfg, d.device)
            samples = len(batch["texts"]) * d.world
            state.step, state.clock = state.step + 1, state.clock + samples
            state.elapsed += time.time() - start
            log.step(state.step, loss, samples, samples_seen=state.clock,
                     lr=state.lr_schedule.value(state.step - 1),
                     mix=_mix_weights(plan, state), skipped=dict(batches.skips))
            late = deadline is not None and log.wall() >= deadline
            ending = any_rank(stop.requested or late, d) or state.step >= tcfg.max_steps
            summary = _periodic(plan, state, d, log, ending) or summary
            if ending:
                break
            start = time.time()  # validation and checkpoint time is not training time
    finally:
        batches.close()
        stop.restore()
        log.close()
    return {**summary, "step": state.step, "best_cer": state.best_cer,
            "skipped": reasons_line(batches.skip_reasons)}


def _mix_weights(plan: RunPlan, state: TrainState) -> dict[str, float]:
    weights = state.mix.weights(state.clock)
    return {s.name: round(w, 4) for s, w in zip(plan.train_sources, weights)}


def _periodic(plan: RunPlan, state: TrainState, d: Dist, log: RunLog,
              ending: bool) -> dict | None:
    """Validate every ``val_every`` steps and checkpoint every ``ckpt_every``, and at the end."""
    tcfg, step, out = plan.train_config, state.step, None
    if plan.val_sources and (step % tcfg.val_every == 0 or ending):
        if d.main:
            out = _validate(plan, state, d, log)
        barrier(d)
    if step % tcfg.ckpt_every == 0 or ending:
        rng = gather_rng(d)
        agree = weights_agree(state.model, d)
        if d.main:
            ckpt.save(os.path.join(plan.out, "last.pt"),
                      checkpoint_payload(state, plan, d.world, rng))
        log.event({"kind": "checkpoint", "step": step, "world_size": d.world,
                   "ranks_agree": agree})
        barrier(d)
    return out


def _validate(plan: RunPlan, state: TrainState, d: Dist, log: RunLog) -> dict:
    tcfg, amp = plan.train_config, state.amp
    autocast = (lambda: torch.autocast(d.device.type, dtype=amp)) if amp is not None else None
    res = evaluate(state.eval_model, plan.vocab, plan.val_sources,
                   batch_size=tcfg.val_batch_size, limit=tcfg.val_samples,
                   bucket_px=tcfg.bucket_px, beam=tcfg.beam, device=d.device,
                   examples=tcfg.val_examples, autocast=autocast)
    best = res["cer"] is not None and (state.best_cer is None or res["cer"] < state.best_cer)
    if best:
        state.best_cer = res["cer"]
        ckpt.save(os.path.join(plan.out, "best.pt"),
                  checkpoint_payload(state, plan, d.world, [ckpt.rng_state()]))
    log.validation(state.step, res, best)
    return res


class _StopFlag:
    """SIGTERM/SIGINT ask the loop to checkpoint and stop at the end of the step."""

    def __init__(self):
        self.requested = False
        self._old = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass

    def _handle(self, signum, frame):
        self.requested = True

    def restore(self):
        """Put back the handlers that were there before."""
        for sig, old in self._old.items():
            signal.signal(sig, old)

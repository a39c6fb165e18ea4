"""The training loop: AdamW, warm-up + cosine, clipping, AMP, EMA, DDP, checkpoints.

Run under ``torchrun`` it reads ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` and joins a process
group (gloo on CPU, NCCL on GPUs); validation and checkpoint writing happen on rank 0 while
the others wait. ``--resume`` restores weights, optimiser, LR schedule, scaler, EMA, step,
RNG states and the mixture clock; the data stream is resampled (``resampled=True``), so a
resumed run draws a fresh, seeded stream rather than replaying the killed one's samples.
"""

from __future__ import annotations

import copy
import os
import signal
import time
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
import torch.nn.functional as F

from synthtext.dataset.errors import UserError

from . import checkpoint as ckpt
from . import sources
from .config import parse_duration, resolve, split_items
from .data import TrainBatches
from .evaluate import evaluate
from .network import build_model, count_parameters
from .runlog import RunLog
from .schedule import LRSchedule
from .vocab import PAD_ID, Vocab

# Keys a --resume may change: they do not alter the model or the optimisation path.
RESUMABLE = {"max_steps", "max_time", "log_every", "val_every", "ckpt_every", "num_workers",
             "val_samples", "val_batch_size", "val_examples", "beam"}
ARCH = {"stem_width", "stem_kernel", "stem_stride", "stem_pool", "widths", "depths", "strides",
        "d_model", "nhead", "num_layers", "dim_ff", "line_embedding", "max_lines"}


@dataclass
class TrainOptions:
    out: str
    data: list = field(default_factory=list)
    val: list = field(default_factory=list)
    preset: str = "tiny"
    config_file: str | None = None
    overrides: dict = field(default_factory=dict)
    init_from: str | None = None
    resume: bool = False
    progress: bool = True


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed() -> Dist:
    """Join the torchrun process group when its environment is present."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(device=torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return Dist(rank, world, torch.device(f"cuda:{local}" if cuda else "cpu"))


# -- configuration, vocabulary and state -------------------------------------------------
def prepare(opts: TrainOptions, d: Dist) -> dict:
    last = os.path.join(opts.out, "last.pt")
    if opts.resume:
        return _prepare_resume(opts, last)
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
        old = Vocab.from_json(init["vocab"])
        vocab = old.extended(chars, mcfg.tags)
    else:
        vocab = Vocab.build(chars, mcfg.tags)
    return {"mcfg": mcfg, "tcfg": tcfg, "specs": specs, "val": val, "vocab": vocab,
            "init": init, "resume": None}


def _init_model_config(init: dict, opts: TrainOptions):
    """--init-from keeps the checkpoint's architecture; other model keys may change."""
    old, _ = ckpt.configs(init)
    items = dict(opts.overrides)
    if opts.config_file:
        from .config import load_config_file
        items = {**load_config_file(opts.config_file), **items}
    m, _ = split_items(old, resolve(opts.preset, None, {})[1], items)
    clash = sorted(k for k in ARCH if getattr(m, k) != getattr(old, k))
    if clash:
        raise UserError(f"--init-from {opts.init_from}: cannot change {', '.join(clash)} of its "
                        "architecture; drop those overrides")
    return m.validate()


def _prepare_resume(opts: TrainOptions, last: str) -> dict:
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
    return {"mcfg": mcfg, "tcfg": tcfg.validate(), "specs": specs, "val": val, "vocab": vocab,
            "init": None, "resume": ck}


def build(state: dict, d: Dist) -> dict:
    """Model, EMA, optimiser, schedule, scaler; restored from a resume checkpoint if any."""
    mcfg, tcfg, vocab = state["mcfg"], state["tcfg"], state["vocab"]
    torch.manual_seed(tcfg.seed)
    model = build_model(mcfg, vocab)
    if state["init"] is not None:
        old_vocab = Vocab.from_json(state["init"]["vocab"])
        base = build_model(mcfg, old_vocab)
        base.load_state_dict(state["init"]["ema"] or state["init"]["model"])
        model = ckpt.extend_vocab(base, old_vocab, vocab)
    model.to(d.device)
    opt = torch.optim.AdamW(_param_groups(model, tcfg.weight_decay), lr=tcfg.lr,
                            betas=tuple(tcfg.betas), fused=True)  # one kernel, CPU and GPU
    sched = LRSchedule(tcfg.lr, tcfg.warmup_steps, tcfg.max_steps, tcfg.min_lr_ratio)
    amp = _amp_dtype(tcfg.amp, d.device)
    scaler = torch.amp.GradScaler(d.device.type, enabled=amp == torch.float16)
    ema = copy.deepcopy(model).eval() if tcfg.ema_decay > 0 else None
    run = {**state, "model": model, "opt": opt, "sched": sched, "scaler": scaler, "ema": ema,
           "amp": amp, "step": 0, "clock": 0, "best_cer": None, "elapsed": 0.0}
    if state["resume"] is not None:
        _restore(run, state["resume"], d)
    if state["resume"] is None:  # ranks share the initial weights, not dropout masks
        torch.manual_seed(tcfg.seed + 7919 * d.rank)
    if d.world > 1:
        run["ddp"] = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[d.device.index] if d.device.type == "cuda" else None)
    else:
        run["ddp"] = model
    return run


def _param_groups(model, weight_decay: float):
    decay, keep = [], []
    for name, p in model.named_parameters():
        (decay if p.ndim >= 2 and "embedding" not in name and "line_emb" not in name
         else keep).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": keep, "weight_decay": 0.0}]


def _amp_dtype(amp: str, device: torch.device):
    if device.type != "cuda" or amp == "off":
        return None
    if amp == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if amp == "bf16" else torch.float16


def _restore(run: dict, ck: dict, d: Dist) -> None:
    run["model"].load_state_dict(ck["model"])
    run["opt"].load_state_dict(ck["optimizer"])
    run["sched"].load_state_dict(ck["scheduler"])
    run["scaler"].load_state_dict(ck["scaler"])
    if run["ema"] is not None and ck.get("ema") is not None:
        run["ema"].load_state_dict(ck["ema"])
    run["step"], run["clock"] = int(ck["step"]), int(ck["mix"]["clock"])
    run["best_cer"], run["elapsed"] = ck.get("best_cer"), float(ck.get("elapsed", 0.0))
    states = ck["rng"]
    ckpt.set_rng_state(states[d.rank % len(states)])


def _gather_rng(d: Dist) -> list:
    state = ckpt.rng_state()
    if d.world == 1:
        return [state]
    out = [None] * d.world
    dist.all_gather_object(out, state)
    return out


def save_checkpoint(run: dict, d: Dist, path: str, rng: list) -> None:
    if not d.main:
        return
    payload = ckpt.model_payload(run["model"], run["vocab"], run["mcfg"], run["tcfg"])
    payload.update({
        "ema": run["ema"].state_dict() if run["ema"] is not None else None,
        "optimizer": run["opt"].state_dict(), "scheduler": run["sched"].state_dict(),
        "scaler": run["scaler"].state_dict(), "step": run["step"],
        "mix": run["schedule"].state_dict(run["clock"]), "rng": rng,
        "best_cer": run["best_cer"], "elapsed": run["elapsed"], "world_size": d.world,
        "data": [s.text for s in run["specs"]], "val": [s.text for s in run["val"]]})
    ckpt.save(path, payload)


def weights_agree(model, d: Dist) -> bool:
    """After a DDP step every rank must hold the same weights: compare checksums."""
    if d.world == 1:
        return True
    with torch.no_grad():
        s = torch.stack([p.double().sum() for p in model.parameters()]).sum().reshape(1).cpu()
    out = [torch.zeros(1, dtype=torch.float64) for _ in range(d.world)]
    dist.all_gather(out, s)
    return all(torch.equal(out[0], x) for x in out)


# -- one optimisation step ---------------------------------------------------------------
def train_step(run: dict, batch: dict, d: Dist) -> float:
    model, opt, scaler, tcfg = run["ddp"], run["opt"], run["scaler"], run["tcfg"]
    images, sizes = batch["images"].to(d.device), batch["sizes"].to(d.device)
    tgt = batch["tgt"].to(d.device)
    run["sched"].apply(opt)
    with torch.autocast(d.device.type, dtype=run["amp"], enabled=run["amp"] is not None):
        logits = model(images, sizes, tgt[:, :-1])
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]),
                               tgt[:, 1:].reshape(-1), ignore_index=PAD_ID,
                               label_smoothing=tcfg.label_smoothing)
    opt.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    torch.nn.utils.clip_grad_norm_(run["model"].parameters(), tcfg.clip_grad)
    scaler.step(opt)
    scaler.update()
    run["sched"].step += 1
    if run["ema"] is not None:
        _ema_update(run["ema"], run["model"], tcfg.ema_decay)
    return float(loss.detach())


@torch.no_grad()
def _ema_update(ema, model, decay: float) -> None:
    for e, p in zip(ema.state_dict().values(), model.state_dict().values()):
        if e.dtype.is_floating_point:
            e.lerp_(p, 1 - decay)
        else:
            e.copy_(p)


# -- the loop ------------------------------------------------------------------------------
def train(opts: TrainOptions) -> dict:
    """Train until max_steps or max_time; returns the last logged metrics."""
    d = setup_distributed()
    try:
        run = build(prepare(opts, d), d)
        return _loop(run, opts, d)
    finally:
        if d.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def _loop(run: dict, opts: TrainOptions, d: Dist) -> dict:
    tcfg = run["tcfg"]
    if tcfg.threads > 0:  # on 2 shared cores one compute thread beats two fighting threads
        torch.set_num_threads(tcfg.threads)
    log = RunLog(opts.out, run, d.main, opts.progress)
    batches = TrainBatches(run["specs"], run["vocab"], run["mcfg"], tcfg, clock0=run["clock"],
                           rank=d.rank, world_size=d.world,
                           seed=tcfg.seed * 1_000_003 + run["step"])
    run["schedule"] = batches.schedule
    deadline = parse_duration(tcfg.max_time) if tcfg.max_time else None
    stop = _StopFlag()
    start, summary = time.time(), {}
    try:
        while run["step"] < tcfg.max_steps:
            batch = _next_batch(batches)
            loss = train_step(run, batch, d)
            run["step"] += 1
            run["clock"] += len(batch["texts"]) * d.world
            run["elapsed"] += time.time() - start
            start = time.time()
            log.step(loss, len(batch["texts"]) * d.world, batches.skips)
            ending = _should_stop(stop, deadline, log.wall(), d) or run["step"] >= tcfg.max_steps
            summary = _periodic(run, d, log, ending) or summary
            if ending:
                break
            start = time.time()  # validation and checkpoint time is not training time
    finally:
        batches.close()
        stop.restore()
        log.close()
    return {**summary, "step": run["step"], "best_cer": run["best_cer"]}


def _next_batch(batches) -> dict:
    try:
        return next(batches)
    except Exception as e:  # a worker's UserError arrives re-wrapped with its traceback
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        if isinstance(e, UserError) or (lines and "UserError" in lines[-1]):
            last = lines[-1] if lines else type(e).__name__
            raise UserError(last.split("UserError: ", 1)[-1]) from None
        raise


def _periodic(run: dict, d: Dist, log, ending: bool) -> dict | None:
    tcfg, step, out = run["tcfg"], run["step"], None
    if run["val"] and (step % tcfg.val_every == 0 or ending):
        if d.main:
            out = _validate(run, d, log)
        if d.world > 1:
            dist.barrier()
    if step % tcfg.ckpt_every == 0 or ending:
        rng = _gather_rng(d)
        agree = weights_agree(run["model"], d)
        save_checkpoint(run, d, os.path.join(log.out, "last.pt"), rng)
        log.event({"kind": "checkpoint", "step": step, "world_size": d.world,
                   "ranks_agree": agree})
        if d.world > 1:
            dist.barrier()
    return out


def _validate(run: dict, d: Dist, log) -> dict:
    tcfg = run["tcfg"]
    model = run["ema"] if run["ema"] is not None else run["model"]
    amp = run["amp"]
    autocast = (lambda: torch.autocast(d.device.type, dtype=amp)) if amp is not None else None
    res = evaluate(model, run["vocab"], run["val"], batch_size=tcfg.val_batch_size,
                   limit=tcfg.val_samples, bucket_px=tcfg.bucket_px, beam=tcfg.beam,
                   device=d.device, examples=tcfg.val_examples, autocast=autocast)
    best = run["best_cer"] is None or res["cer"] < run["best_cer"]
    if best:
        run["best_cer"] = res["cer"]
        save_checkpoint(run, d, os.path.join(log.out, "best.pt"), [ckpt.rng_state()])
    log.validation(run["step"], res, best)
    return res


def _should_stop(stop, deadline, wall: float, d: Dist) -> bool:
    flag = stop.requested or (deadline is not None and wall >= deadline)
    if d.world > 1:  # every rank must take the same decision
        t = torch.tensor([1.0 if flag else 0.0])
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        flag = bool(t.item() > 0)
    return flag


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
        for sig, old in self._old.items():
            signal.signal(sig, old)


def describe(run: dict) -> str:
    m = run["mcfg"]
    return (f"{m.preset}: {count_parameters(run['model']) / 1e6:.2f} M parameters, vocabulary "
            f"{len(run['vocab'])}, stride {m.stride}, d_model {m.d_model}")


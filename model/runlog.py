"""What a run leaves behind besides checkpoints: metrics.jsonl, progress, TensorBoard.

``metrics.jsonl`` has one JSON object per line: ``kind`` is ``train`` (loss, lr,
samples_per_s over the last interval, sample clock, mixture weights, skipped samples),
``val`` (CER, WER, per-source CER, samples scored and not scored with reasons, decode guard
rates, examples) or ``checkpoint``. On stderr: a tqdm bar on a terminal; in a log (stderr
not a TTY) plain lines, one per ``log_every`` steps with loss and ETA, plus the periodic
lines of :func:`synthtext.dataset.progress.progress_bar`. On
``--resume``, lines past the resumed step (written after the last checkpoint of a killed
run) are dropped, so the curves have one value per step.
"""

from __future__ import annotations

import json
import os
import sys
import time

from synthtext.dataset.errors import UserError
from synthtext.dataset.progress import progress_bar


class RunLog:
    """Where a run reports: ``metrics.jsonl``, stderr (or a progress bar), TensorBoard.

    Only the main process (rank 0) writes; on the other ranks every method is a no-op.

    Args:
        out: run directory; created if missing.
        main: whether this process writes.
        description: one line on the run, echoed once at the start.
        start_step: the step the run starts (or resumes) at; ``metrics.jsonl`` lines past it
            (left by a killed run) are dropped.
        max_steps: the run's last step (progress bar, ETA).
        log_every: write a ``train`` record every this many steps (and at step 1).
        files: JSON files written into ``out`` at the start: file name -> JSON object (the
            run's configs and vocabulary, say).
        progress: show progress (:func:`~synthtext.dataset.progress.progress_bar`: a bar on
            a terminal, plain lines in a log); without it, only the ``log_every`` lines.
    """

    def __init__(self, out: str, *, main: bool, description: str, start_step: int,
                 max_steps: int, log_every: int, files: dict[str, object] | None = None,
                 progress: bool = True):
        self.out, self.main = out, main
        self.max_steps, self.log_every = max_steps, log_every
        self.t_start = time.time()
        self._step0 = start_step
        self._losses, self._samples, self._t = [], 0, time.perf_counter()
        self._bar, self._tb, self._file = progress_bar(0, "", "", enabled=False), None, None
        if not main:
            return
        os.makedirs(out, exist_ok=True)
        path = os.path.join(out, "metrics.jsonl")
        _truncate_after(path, start_step)
        self._file = open(path, "a", encoding="utf-8")
        for name, obj in (files or {}).items():
            with open(os.path.join(out, name), "w", encoding="utf-8") as f:
                json.dump(obj, f, ensure_ascii=False, indent=2)
        self._bar = progress_bar(max_steps, "train", "step", initial=start_step,
                                 enabled=progress)
        self._tb = _tensorboard(out)
        self.echo(description)

    def wall(self) -> float:
        """Seconds since this log was opened (wall clock, validation included)."""
        return time.time() - self.t_start

    def echo(self, text: str) -> None:
        """Print a line to stderr (above the progress bar, if any); main process only."""
        if self.main:
            self._bar.write(text, file=sys.stderr)

    def event(self, record: dict) -> None:
        """Append one JSON record to ``metrics.jsonl`` and flush it."""
        if self._file is not None:
            self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._file.flush()

    def step(self, step: int, loss: float, samples: int, *, samples_seen: int, lr: float,
             mix: dict[str, float], skipped: dict[str, int]) -> None:
        """Count one optimiser step; every ``log_every`` steps write a ``train`` record.

        Args:
            step: the step just done (1-based).
            loss: its mean loss (nats per target token); the record averages the interval's.
            samples: training samples of the step over all ranks.
            samples_seen: the sample clock after it.
            lr: the learning rate it used.
            mix: mixture weight per source name.
            skipped: samples skipped so far per source name.
        """
        self._losses.append(loss)
        self._samples += samples
        self._bar.update(1)
        if step % self.log_every and step != 1:
            return
        dt = time.perf_counter() - self._t
        rec = {"kind": "train", "step": step, "loss": sum(self._losses) / len(self._losses),
               "lr": lr, "samples_per_s": self._samples / dt, "samples_seen": samples_seen,
               "wall_s": round(self.wall(), 1), "mix": mix, "skipped": skipped}
        self._losses, self._samples, self._t = [], 0, time.perf_counter()
        self.event(rec)
        if hasattr(self._bar, "set_postfix"):  # a tqdm bar on a terminal
            self._bar.set_postfix(loss=f"{rec['loss']:.3f}", sps=f"{rec['samples_per_s']:.0f}",
                                  refresh=False)
        elif self.main:
            self.echo(f"step {step}/{self.max_steps} loss {rec['loss']:.4f} "
                      f"{rec['samples_per_s']:.1f} samples/s, ETA {self._eta(step)}")
        self._scalars(step, {"train/loss": rec["loss"], "train/lr": lr,
                             "train/samples_per_s": rec["samples_per_s"]})

    def _eta(self, step: int) -> str:
        done = step - self._step0
        if done <= 0:
            return "?"
        left = (self.max_steps - step) * self.wall() / done
        return time.strftime("%H:%M:%S", time.gmtime(left))

    def validation(self, step: int, res: dict, best: bool) -> None:
        """Write a ``val`` record and print it with its examples.

        Args:
            step: the step validated.
            res: :func:`model.evaluate.evaluate` result (CER/WER as fractions).
            best: whether its CER is the lowest so far.
        """
        rec = {"kind": "val", "step": step, **{k: res[k] for k in (
            "cer", "wer", "n", "scored", "not_scored", "not_scored_why", "cap_rate",
            "repeat_rate", "samples_per_s")},
            "per_source": {k: v["cer"] for k, v in res["per_source"].items()},
            "best": best, "examples": res["examples"]}
        self.event(rec)
        self.echo(_val_line(step, res, best))
        for ex in res["examples"]:
            self.echo(f"    ref: {ex['ref']!r}\n    hyp: {ex['hyp']!r}")
        if res["cer"] is not None:
            self._scalars(step, {"val/cer": res["cer"], "val/wer": res["wer"]})
        self._t = time.perf_counter()  # the next samples/s interval excludes validation

    def _scalars(self, step: int, values: dict) -> None:
        if self._tb is not None:
            for k, v in values.items():
                self._tb.add_scalar(k, v, step)

    def close(self) -> None:
        """Close the progress display, the TensorBoard writer and ``metrics.jsonl``."""
        self._bar.close()
        if self._tb is not None:
            self._tb.close()
        if self._file is not None:
            self._file.close()


def _val_line(step: int, res: dict, best: bool) -> str:
    """One line on a validation: CER/WER, samples scored (and why any were not), guards."""
    per = ", ".join(f"{k} {v['cer']:.2%}" for k, v in res["per_source"].items())
    rates = "no sample scored" if res["cer"] is None else \
        f"CER {res['cer']:.2%} WER {res['wer']:.2%} on {res['scored']} samples ({per})"
    why = "; ".join(f"{src}: {n} {reason}" for src, reasons in res["not_scored_why"].items()
                    for reason, n in reasons.items())
    missed = f"; {res['not_scored']} not scored ({why})" if res["not_scored"] else ""
    return (f"[val step {step}] {rates}{missed}; cap {res['cap_rate']:.1%}, repeat "
            f"{res['repeat_rate']:.1%}{' *best*' if best else ''}")


def _tensorboard(out: str):
    try:  # inside: tensorboard is optional (and pulls in torch)
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(os.path.join(out, "tb"))


def _truncate_after(path: str, step: int) -> None:
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        lines = [ln for ln in f if ln.strip()]
    keep = [ln for ln in lines if _step_of(ln) <= step]
    if len(keep) != len(lines):
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(keep)


def _step_of(line: str) -> float:
    try:
        return json.loads(line).get("step", 0)
    except json.JSONDecodeError:  # a line cut short by a kill
        return float("inf")


def read_metrics(run_dir: str) -> list[dict]:
    """The records of ``RUN/metrics.jsonl``, in order; a line cut short by a kill is dropped.

    Raises:
        UserError: ``run_dir`` has no ``metrics.jsonl``.
    """
    path = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.isfile(path):
        raise UserError(f"{run_dir}: no metrics.jsonl (is it a training run directory?)")
    with open(path, encoding="utf-8") as f:
        lines = [ln for ln in f if ln.strip()]
    return [json.loads(ln) for ln in lines if _step_of(ln) != float("inf")]

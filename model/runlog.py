"""What a run leaves behind besides checkpoints: metrics.jsonl, a progress bar, TensorBoard.

``metrics.jsonl`` has one JSON object per line: ``kind`` is ``train`` (loss, lr,
samples_per_s over the last interval, sample clock, mixture weights, skipped samples),
``val`` (CER, WER, per-source CER, decode guard rates, examples) or ``checkpoint``. On
``--resume``, lines past the resumed step (written after the last checkpoint of a killed
run) are dropped, so the curves have one value per step.
"""

from __future__ import annotations

import json
import os
import sys
import time

from .config import to_json


class RunLog:
    def __init__(self, out: str, run: dict, main: bool, progress: bool = True):
        self.out, self.run, self.main = out, run, main
        self.t_start = time.time()
        self._step0 = run["step"]
        self._losses, self._samples, self._t = [], 0, time.perf_counter()
        self._bar, self._tb, self._file = None, None, None
        if not main:
            return
        os.makedirs(out, exist_ok=True)
        path = os.path.join(out, "metrics.jsonl")
        _truncate_after(path, run["step"])
        self._file = open(path, "a", encoding="utf-8")
        self._write_run_files()
        self._bar = _progress(run, progress)
        self._tb = _tensorboard(out)
        from .train import describe

        self.echo(f"{describe(run)}; {len(run['specs'])} training source(s), "
                  f"{len(run['val'])} validation source(s); step {run['step']}")

    def _write_run_files(self) -> None:
        r = self.run
        with open(os.path.join(self.out, "config.json"), "w", encoding="utf-8") as f:
            json.dump({"model": to_json(r["mcfg"]), "train": to_json(r["tcfg"]),
                       "data": [s.text for s in r["specs"]], "val": [s.text for s in r["val"]]},
                      f, indent=2)
        with open(os.path.join(self.out, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(r["vocab"].to_json(), f, ensure_ascii=False)

    def wall(self) -> float:
        return time.time() - self.t_start

    def echo(self, text: str) -> None:
        if not self.main:
            return
        if self._bar is not None:
            self._bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)

    def event(self, record: dict) -> None:
        if self._file is not None:
            self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._file.flush()

    def step(self, loss: float, samples: int, skips) -> None:
        self._losses.append(loss)
        self._samples += samples
        r, every = self.run, self.run["tcfg"].log_every
        if self._bar is not None:
            self._bar.update(1)
        if r["step"] % every and r["step"] != 1:
            return
        dt = time.perf_counter() - self._t
        rec = {"kind": "train", "step": r["step"], "loss": sum(self._losses) / len(self._losses),
               "lr": r["sched"].value(r["step"] - 1), "samples_per_s": self._samples / dt,
               "samples_seen": r["clock"], "wall_s": round(self.wall(), 1),
               "mix": dict(zip([s.name for s in r["specs"]],
                               [round(w, 4) for w in r["schedule"].weights(r["clock"])])),
               "skipped": dict(skips)}
        self._losses, self._samples, self._t = [], 0, time.perf_counter()
        self.event(rec)
        if self._bar is not None:
            self._bar.set_postfix(loss=f"{rec['loss']:.3f}", sps=f"{rec['samples_per_s']:.0f}",
                                  refresh=False)
        elif self.main:
            self.echo(f"step {rec['step']}/{r['tcfg'].max_steps} loss {rec['loss']:.4f} "
                      f"{rec['samples_per_s']:.1f} samples/s, ETA {self._eta()}")
        self._scalars(rec["step"], {"train/loss": rec["loss"], "train/lr": rec["lr"],
                                    "train/samples_per_s": rec["samples_per_s"]})

    def _eta(self) -> str:
        r = self.run
        done = r["step"] - self._step0
        if done <= 0:
            return "?"
        left = (r["tcfg"].max_steps - r["step"]) * self.wall() / done
        return time.strftime("%H:%M:%S", time.gmtime(left))

    def validation(self, step: int, res: dict, best: bool) -> None:
        rec = {"kind": "val", "step": step, **{k: res[k] for k in (
            "cer", "wer", "n", "cap_rate", "repeat_rate", "samples_per_s", "skipped")},
            "per_source": {k: v["cer"] for k, v in res["per_source"].items()},
            "best": best, "examples": res["examples"]}
        self.event(rec)
        per = ", ".join(f"{k} {v:.2%}" for k, v in rec["per_source"].items())
        self.echo(f"[val step {step}] CER {res['cer']:.2%} WER {res['wer']:.2%} on {res['n']} "
                  f"samples ({per}); cap {res['cap_rate']:.1%}, repeat "
                  f"{res['repeat_rate']:.1%}{' *best*' if best else ''}")
        for ex in res["examples"]:
            self.echo(f"    ref: {ex['ref']!r}\n    hyp: {ex['hyp']!r}")
        self._scalars(step, {"val/cer": res["cer"], "val/wer": res["wer"]})
        self._t = time.perf_counter()  # the next samples/s interval excludes validation

    def _scalars(self, step: int, values: dict) -> None:
        if self._tb is not None:
            for k, v in values.items():
                self._tb.add_scalar(k, v, step)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        if self._tb is not None:
            self._tb.close()
        if self._file is not None:
            self._file.close()


def _progress(run: dict, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    if not sys.stderr.isatty():  # logs get one line per log_every steps instead
        return None
    return tqdm(total=run["tcfg"].max_steps, initial=run["step"], unit="step",
                dynamic_ncols=True, mininterval=0.5, file=sys.stderr)


def _tensorboard(out: str):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
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
    path = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.isfile(path):
        from synthtext.dataset.errors import UserError

        raise UserError(f"{run_dir}: no metrics.jsonl (is it a training run directory?)")
    with open(path, encoding="utf-8") as f:
        lines = [ln for ln in f if ln.strip()]
    return [json.loads(ln) for ln in lines if _step_of(ln) != float("inf")]

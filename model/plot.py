"""``fphtr plot RUN``: training loss and validation CER/WER curves from metrics.jsonl."""

from __future__ import annotations

import os

from .paths import check_writable_file
from .runlog import read_metrics


def plot_run(run_dir: str, out: str | None = None) -> str:
    """Write a two-panel PNG (loss by step; CER/WER by step) and return its path.

    ``out`` defaults to ``RUN/curves.png``; error rates are drawn in percent.

    Raises:
        UserError: ``run_dir`` has no ``metrics.jsonl``, or ``out`` cannot be written
            (checked before drawing).
    """
    rows = read_metrics(run_dir)
    check_writable_file(out or os.path.join(run_dir, "curves.png"), "--out" if out else "plot")
    out = out or os.path.join(run_dir, "curves.png")
    import matplotlib  # inside: heavy, and only this command draws

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [r for r in rows if r.get("kind") == "train"]
    val = [r for r in rows if r.get("kind") == "val" and r.get("cer") is not None]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    if train:
        ax1.plot([r["step"] for r in train], [r["loss"] for r in train], lw=1)
        ax1.set_yscale("log")
    ax1.set(title="training loss", xlabel="step", ylabel="cross-entropy / token")
    ax1.grid(alpha=0.3)
    if val:
        steps = [r["step"] for r in val]
        ax2.plot(steps, [100 * r["cer"] for r in val], marker="o", ms=3, label="CER")
        ax2.plot(steps, [100 * r["wer"] for r in val], marker="o", ms=3, label="WER", alpha=0.6)
        ax2.legend()
        ax2.set_yscale("log")
    ax2.set(title="validation", xlabel="step", ylabel="error rate (%)")
    ax2.grid(alpha=0.3, which="both")
    fig.suptitle(os.path.basename(os.path.abspath(run_dir)))
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out

"""Schedules with a clock that checkpoints carry: learning rate by step, mixture by samples.

DAN's page-model training (Coquenet et al., "DAN: a Segmentation-free Document Attention
Network for Handwritten Document Recognition", TPAMI 2023; its training config) moves the
synthetic share linearly from 0.9 to 0.2 over 200,000 samples and saves that clock; a
resumed run must continue the same curve, not restart it. Both classes are pure functions
of their clock, so their checkpoint state is the clock alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class LRSchedule:
    """Linear warm-up to ``lr``, then cosine to ``lr * min_ratio`` at ``total`` steps.

    Cosine decay after Loshchilov & Hutter, "SGDR" (ICLR 2017), without restarts. ``step``
    is the clock: optimiser steps taken.
    """

    lr: float
    warmup: int
    total: int
    min_ratio: float = 0.05
    step: int = 0

    def value(self, step: int | None = None) -> float:
        """The learning rate of optimiser step ``step`` (0-based; default: the clock)."""
        s = self.step if step is None else step
        if s < self.warmup:
            return self.lr * (s + 1) / self.warmup
        frac = min(1.0, (s - self.warmup) / max(1, self.total - self.warmup))
        cosine = 0.5 * (1 + math.cos(math.pi * frac))
        return self.lr * (self.min_ratio + (1 - self.min_ratio) * cosine)

    def apply(self, optimizer) -> float:
        """Set the learning rate of every parameter group for the current step."""
        lr = self.value()
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    def state_dict(self) -> dict:
        """The clock and, for the record, the schedule's parameters."""
        return {"step": self.step, "lr": self.lr, "warmup": self.warmup, "total": self.total,
                "min_ratio": self.min_ratio}

    def load_state_dict(self, d: dict) -> None:
        """Restore the clock (the parameters come from the run's config)."""
        self.step = int(d["step"])


@dataclass
class MixSchedule:
    """Per-source weights moving from ``start`` to ``end`` over ``span`` samples.

    The clock is the number of training samples drawn so far, over all ranks and workers.
    """

    start: tuple
    end: tuple
    span: int
    curve: str = "linear"

    def progress(self, clock: float) -> float:
        """How far along the curve ``clock`` samples are: 0 at the start, 1 from ``span`` on."""
        f = min(1.0, max(0.0, clock / self.span)) if self.span > 0 else 1.0
        return f if self.curve == "linear" else 0.5 * (1 - math.cos(math.pi * f))

    def weights(self, clock: float) -> list[float]:
        """Normalised weights at ``clock`` samples."""
        f = self.progress(clock)
        w = [a + (b - a) * f for a, b in zip(self.start, self.end)]
        total = sum(w)
        return [x / total for x in w] if total > 0 else [1 / len(w)] * len(w)

    @property
    def constant(self) -> bool:
        """Whether the weights never change."""
        return tuple(self.start) == tuple(self.end)

    def state_dict(self, clock: int) -> dict:
        """The clock (samples drawn) and the schedule, as stored under ``mix``."""
        return {"clock": int(clock), "start": list(self.start), "end": list(self.end),
                "span": self.span, "curve": self.curve}

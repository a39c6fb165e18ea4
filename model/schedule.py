"""Schedules with a clock that checkpoints carry: learning rate by step, mixture by samples.

DAN's page-model recipe moves the synthetic share from 0.9 to 0.2 over 200k samples and
saves that clock; a resumed run must continue the same curve, not restart it. Both classes
are pure functions of their clock, so their checkpoint state is the clock alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class LRSchedule:
    """Linear warm-up to ``lr``, then cosine to ``lr * min_ratio`` at ``total`` steps."""

    lr: float
    warmup: int
    total: int
    min_ratio: float = 0.05
    step: int = 0

    def value(self, step: int | None = None) -> float:
        s = self.step if step is None else step
        if s < self.warmup:
            return self.lr * (s + 1) / self.warmup
        frac = min(1.0, (s - self.warmup) / max(1, self.total - self.warmup))
        return self.lr * (self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * frac)))

    def apply(self, optimizer) -> float:
        """Set the learning rate of every parameter group for the current step."""
        lr = self.value()
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    def state_dict(self) -> dict:
        return {"step": self.step, "lr": self.lr, "warmup": self.warmup, "total": self.total,
                "min_ratio": self.min_ratio}

    def load_state_dict(self, d: dict) -> None:
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
        return tuple(self.start) == tuple(self.end)

    def state_dict(self, clock: int) -> dict:
        return {"clock": int(clock), "start": list(self.start), "end": list(self.end),
                "span": self.span, "curve": self.curve}

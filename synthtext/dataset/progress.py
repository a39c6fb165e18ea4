"""Progress for long commands: a tqdm bar on a terminal, periodic plain lines in a log.

tqdm redraws its bar with carriage returns, which turns the log of a ``nohup`` or batch
job into one unreadable line. When stderr is not a TTY, :func:`progress_bar` returns a
:class:`PlainProgress` instead: one line every ``interval`` seconds and one at the end.
"""

from __future__ import annotations

import sys
import time

from tqdm import tqdm

LOG_INTERVAL = 30.0  # seconds between plain progress lines


class PlainProgress:
    """The part of tqdm's interface synthgen uses (``update``, ``write``, ``close``, ``n``),
    printing ``desc: n/total unit (p%), r unit/s`` lines to stderr."""

    def __init__(self, total: int | None, desc: str, unit: str, initial: int = 0,
                 interval: float = LOG_INTERVAL, stream=None):
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.interval, self.stream = interval, stream or sys.stderr
        self._t0 = self._last = time.monotonic()
        self._n0 = initial

    def update(self, k: int = 1) -> None:
        """Count ``k`` more units; print a line if ``interval`` seconds have passed."""
        self.n += k
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._line(now)

    def write(self, text: str, file=None) -> None:
        """Print a message line (tqdm's ``write``)."""
        print(text, file=file or self.stream, flush=True)

    def close(self) -> None:
        """Print the final line."""
        self._line(time.monotonic())

    def _line(self, now: float) -> None:
        rate = (self.n - self._n0) / max(now - self._t0, 1e-9)
        of = f"/{self.total}" if self.total else ""
        pct = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        units = self.unit if self.n == 1 else self.unit + "s"
        print(f"{self.desc}: {self.n}{of} {units}{pct}, {rate:.1f} {self.unit}/s",
              file=self.stream, flush=True)


class _Off:
    def update(self, k: int = 1) -> None:
        pass

    def write(self, text: str, file=None) -> None:
        print(text, file=file or sys.stderr, flush=True)

    def close(self) -> None:
        pass


def progress_bar(total: int | None, desc: str, unit: str, initial: int = 0,
                 enabled: bool = True):
    """A tqdm bar on a terminal, :class:`PlainProgress` lines otherwise, nothing when not
    ``enabled``. All three have ``update(k)``, ``write(text)`` and ``close()``."""
    if not enabled:
        return _Off()
    if sys.stderr.isatty():
        return tqdm(total=total, initial=initial, unit=unit, desc=desc, dynamic_ncols=True)
    return PlainProgress(total, desc, unit, initial)

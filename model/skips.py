"""Skipped samples and shards: counted per process and source, with their reasons.

Training ships the counts with each batch (:func:`drain_skips`); evaluation reports them by
reason (:func:`drain_reasons`). A source whose samples only fail stops the run.
"""

from __future__ import annotations

import warnings
from collections import Counter

from synthtext.dataset.errors import UserError

MAX_CONSECUTIVE_FAILURES = 500  # a source that only fails is broken, not noisy
_WARN_FIRST = 5  # warnings per source and process before going quiet (counts continue)

_SKIPS: Counter = Counter()
_REASONS: Counter = Counter()  # (source, reason) -> skipped samples or shards
_FAILS: Counter = Counter()  # consecutive failures per source


def count_skip(source: str, exn: BaseException, key: str | None = None) -> None:
    """Count a skipped sample or shard of ``source`` with its reason (the error's first
    line), and warn about the first few.

    Raises:
        UserError: :data:`MAX_CONSECUTIVE_FAILURES` failures of ``source`` in a row (the
            message ends with the last error's first line).
    """
    _SKIPS[source] += 1
    _FAILS[source] += 1
    first = exn.args[0] if exn.args else exn
    msg = (str(first).splitlines() or [type(exn).__name__])[0][:200]
    msg = msg.removeprefix(f"sample {key}: ")
    _REASONS[source, msg or type(exn).__name__] += 1
    if _SKIPS[source] <= _WARN_FIRST:
        what = f"sample {key}" if key else "a sample or shard"
        warnings.warn(f"skipped {what} of {source}: {msg} ({_SKIPS[source]} skipped so far "
                      f"in this process; later ones are only counted)"
                      if _SKIPS[source] == _WARN_FIRST else
                      f"skipped {what} of {source}: {msg}", stacklevel=2)
    if _FAILS[source] >= MAX_CONSECUTIVE_FAILURES:
        raise UserError(f"data source {source}: {MAX_CONSECUTIVE_FAILURES} samples or shards "
                        f"in a row failed; last error: {msg}")


def drain_skips() -> dict:
    """Skips per source counted in this process since the last call; resets the counts."""
    out = dict(_SKIPS)
    _SKIPS.clear()
    _REASONS.clear()
    return out


def drain_reasons() -> dict[str, dict[str, int]]:
    """Skips per source and reason counted in this process since the last call (source ->
    reason -> count); resets the counts."""
    out: dict[str, dict[str, int]] = {}
    for (source, reason), n in sorted(_REASONS.items()):
        out.setdefault(source, {})[reason] = n
    _SKIPS.clear()
    _REASONS.clear()
    return out


def reset_failures(source: str) -> None:
    """A sample of ``source`` succeeded: its run of consecutive failures ends."""
    _FAILS[source] = 0


class SkipHandler:
    """A webdataset ``handler``: count and warn, then continue."""

    def __init__(self, source: str):
        self.source = source

    def __call__(self, exn) -> bool:
        count_skip(self.source, exn)
        return True

"""Skipped samples and shards: counted per process and source, with their reasons.

Training ships the counts with each batch (:func:`drain_skips`); evaluation reports them by
reason (:func:`drain_reasons`). A source whose samples only fail stops the run.
"""

from __future__ import annotations

import warnings
from collections import Counter

from synthtext.dataset.errors import UserError

MAX_CONSECUTIVE_FAILURES = 500  # a source that only fails is broken, not noisy

_SKIPS: Counter = Counter()
_REASONS: Counter = Counter()  # (source, reason) -> skipped samples or shards
_FAILS: Counter = Counter()  # consecutive failures per source
_WARNED: set = set()  # (source, reason) already warned about in this process


def count_skip(source: str, exn: BaseException, key: str | None = None) -> None:
    """Count a skipped sample or shard of ``source`` with its reason (the error's first
    line), and warn about the first of each reason and source in this process.

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
    if (source, msg) not in _WARNED:
        _WARNED.add((source, msg))
        what = f"sample {key}" if key else "a sample or shard"
        warnings.warn(f"skipped {what} of {source}: {msg} (further skips for this reason "
                      "are only counted)", stacklevel=2)
    if _FAILS[source] >= MAX_CONSECUTIVE_FAILURES:
        raise UserError(f"data source {source}: {MAX_CONSECUTIVE_FAILURES} samples or shards "
                        f"in a row failed; last error: {msg}")


def drain_skips() -> dict:
    """Skips per source counted in this process since the last call; resets the counts."""
    out = dict(_SKIPS)
    _SKIPS.clear()
    _REASONS.clear()
    return out


def drain_skip_reasons() -> dict[tuple[str, str], int]:
    """Skips per (source, reason) counted in this process since the last call, for the
    trainer to add up; resets the counts (per source too)."""
    out = dict(_REASONS)
    _SKIPS.clear()
    _REASONS.clear()
    return out


def reasons_line(reasons: dict[tuple[str, str], int]) -> str:
    """``{("pages", "label too long"): 11}`` -> ``"pages: 11 label too long"`` (``; ``
    between entries, most frequent first; empty for none)."""
    ranked = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    return "; ".join(f"{source}: {n} {reason}" for (source, reason), n in ranked)


def drain_reasons() -> dict[str, dict[str, int]]:
    """Skips per source and reason counted in this process since the last call (source ->
    reason -> count); resets the counts."""
    out: dict[str, dict[str, int]] = {}
    for (source, reason), n in sorted(_REASONS.items()):
        out.setdefault(source, {})[reason] = n
    _SKIPS.clear()
    _REASONS.clear()
    return out


def reset_warnings() -> None:
    """A new pipeline starts: warn again about the first skip of each source and reason."""
    _WARNED.clear()


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

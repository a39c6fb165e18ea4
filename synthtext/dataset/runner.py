"""Run orchestration: shard tasks, resume, and local or cluster parallelism.

A *job* is a small picklable object with ``config() -> dict`` (everything that decides
the output bytes) and ``build() -> generator`` where ``generator.sample(split, index)``
returns a :class:`~synthtext.dataset.sample.Sample` that depends only on (seed, split, index).
Each task renders one whole shard, so any worker count or backend gives the same bytes.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from synthtext import __version__
from synthtext.dataset.errors import ConfigError, UserError
from synthtext.dataset.info import (
    INFO_FILE,
    STATE_DIR,
    config_digest,
    finalise_info,
    naming_path,
    new_info,
    read_info,
    shard_stats_path,
    write_json_atomic,
)
from synthtext.dataset.names import check_split_name
from synthtext.dataset.progress import PlainProgress, progress_bar
from synthtext.dataset.sample import normalise_image_format
from synthtext.dataset.shards import AtomicTarWriter, shard_name

_BUILT: dict[str, Any] = {}  # per-process cache: job config digest -> built generator


@dataclass(frozen=True)
class ShardTask:
    """One shard to make: samples ``start`` .. ``stop - 1`` of ``split`` from ``job``,
    written to ``out`` as shard number ``shard`` (images as ``image_format`` at
    ``quality``, 1-100, for JPEG and WebP). Picklable, so any worker or backend can run it."""

    job: Any
    out: str
    split: str
    shard: int
    start: int
    stop: int
    image_format: str = "jpg"
    quality: int = 90

    @property
    def name(self) -> str:
        """The shard's file name, e.g. ``train-000003.tar``."""
        return shard_name(self.split, self.shard)


@dataclass
class RunResult:
    """What :func:`run` did: total samples, shards written now and found already complete
    (resume), wall time in seconds, and the final dataset info."""

    out: Path
    samples: int = 0
    shards_written: int = 0
    shards_skipped: int = 0
    seconds: float = 0.0
    info: dict = field(default_factory=dict)  # the final dataset.json

    @property
    def rejects(self) -> dict:
        """Rejected attempts by cause, summed over the run (from the dataset info)."""
        return self.info.get("stats", {}).get("rejects", {})


def _generator(job, quiet: bool = False):
    """Build the job once per process (fonts and corpus indexes are costly to open);
    ``quiet`` (a worker process) drops the build's warnings, which the parent process
    printed when it created the same job."""
    key = config_digest(job.config())
    if key not in _BUILT:
        _BUILT.clear()
        try:
            import cv2  # heavy and optional here: only to keep OpenCV to one thread a worker

            cv2.setNumThreads(1)
        except ImportError:
            pass
        with warnings.catch_warnings():
            if quiet:
                warnings.simplefilter("ignore")
            _BUILT[key] = job.build()
    return _BUILT[key]


def run_shard(task: ShardTask, progress: Callable[[int], None] | None = None,
              worker: bool = False) -> dict:
    """Render one shard to a temp file, rename it into place, then record its statistics.

    ``worker``: this is a worker process of a parallel run (see :func:`_generator`).

    Raises:
        OSError: the shard cannot be written, naming its path (disk full included).
    """
    gen = _generator(task.job, quiet=worker)
    stats = _new_stats()
    path = Path(task.out) / task.name
    with naming_path(path), AtomicTarWriter(path) as writer:
        for index in range(task.start, task.stop):
            sample = gen.sample(task.split, index)
            writer.write(sample.to_wds(task.image_format, task.quality))
            _count(stats, sample)
            if progress:
                progress(1)
    stats.update(name=task.name, split=task.split, samples=writer.count,
                 sha256=writer.sha256, bytes=path.stat().st_size)
    sp = shard_stats_path(task.out, task.name)
    sp.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(sp, stats, indent=None)
    return stats


def _new_stats() -> dict:
    keys = ("label_chars", "fonts", "font_categories", "rejects", "rotation", "lines",
            "label_length")
    return {k: Counter() for k in keys} | {"characters": 0}


def _count(stats: dict, sample) -> None:
    text = sample.text
    stats["label_chars"].update(text)
    stats["characters"] += len(text)
    stats["lines"][str(len(sample.lines))] += 1
    stats["label_length"][label_length_bin(len(text))] += 1
    meta = sample.meta
    font = meta.get("font") or {}
    if font.get("id"):
        stats["fonts"][font["id"]] += 1
        stats["font_categories"][font.get("category", "unknown")] += 1
    stats["rejects"].update(meta.get("rejects", {}))
    rot = (meta.get("params") or {}).get("rotation")
    if rot is not None:
        stats["rotation"][str(rot)] += 1


def label_length_bin(n: int) -> str:
    """Histogram bins of label length in characters: 0-9, ..., 90-99, then 100-199,
    200-399, 400-799, ... (doubling), zero-padded so the bins sort as text."""
    if n < 100:
        return f"{n // 10 * 10:05d}-{n // 10 * 10 + 9:05d}"
    lo = 100 << ((n // 100).bit_length() - 1)
    return f"{lo:05d}-{2 * lo - 1:05d}"


def plan_tasks(job, out: str, splits: dict[str, int], shard_size: int,
               image_format: str, quality: int,
               shard_layout: dict[str, list[int]] | None = None) -> list[ShardTask]:
    """One task per shard: ``shard_size`` samples each, or the counts in ``shard_layout``."""
    tasks = []
    for split, n in splits.items():
        sizes = (shard_layout or {}).get(split) or [
            min(shard_size, n - start) for start in range(0, n, shard_size)]
        start = 0
        for shard, size in enumerate(sizes):
            tasks.append(ShardTask(job, str(out), split, shard, start, start + size,
                                   image_format, quality))
            start += size
    return tasks


def prepare_out(out: Path, info: dict, overwrite: bool) -> None:
    """Create ``out`` or check that it holds an unfinished run of the same config.

    A run that stopped before its first finished shard (an ``incomplete`` dataset.json, no
    shard) is taken over by any config, without ``overwrite``: nothing of it is worth keeping.

    Raises:
        UserError: ``out`` holds a run with shards made with other parameters, or shards
            without a dataset.json (unless ``overwrite``); nothing is written then.
    """
    old = read_info(out) if out.exists() else None
    if out.exists() and (overwrite or _unstarted(out, old)):
        _clear_ours(out)
        old = None
    if old is not None and old.get("config_sha256") != info["config_sha256"]:
        diff = _config_diff(old.get("config", {}), info["config"])
        raise UserError(f"output directory {out} holds a run made with other parameters "
                        f"(differs in: {diff}); pass --overwrite to replace it or choose "
                        "another --out")
    if old is None and out.exists() and any(out.glob("*.tar")):
        raise UserError(f"output directory {out} already holds shards not made by this "
                        "command; pass --overwrite to replace them or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    for tmp in out.glob("*.tmp"):
        tmp.unlink()
    if old is None or old.get("status") != "complete":
        write_json_atomic(out / INFO_FILE, info)


def _unstarted(out: Path, old: dict | None) -> bool:
    """``out`` holds an incomplete run without one finished shard (tar or statistics)."""
    return (old is not None and old.get("status") == "incomplete"
            and not any(out.glob("*.tar"))
            and not any((out / STATE_DIR / "shards").glob("*.json")))


def _clear_ours(out: Path) -> None:
    for p in list(out.glob("*.tar")) + list(out.glob("*.tmp")) + [out / INFO_FILE]:
        p.unlink(missing_ok=True)
    shutil.rmtree(out / STATE_DIR, ignore_errors=True)


def _config_diff(a: dict, b: dict) -> str:
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return ", ".join(keys[:6]) or "generator version"


def _done(task: ShardTask) -> dict | None:
    """The recorded statistics of a shard that is complete on disk, else None."""
    sp = shard_stats_path(task.out, task.name)
    path = Path(task.out) / task.name
    if not (sp.exists() and path.exists()):
        return None
    try:
        stats = json.loads(sp.read_text(encoding="utf-8"))
    except ValueError:
        return None
    ok = (stats.get("bytes") == path.stat().st_size
          and stats.get("samples") == task.stop - task.start)
    return stats if ok else None


# Lowest JPEG/WebP quality of a shard's encoding: at 10-50, ringing put ink up to 6.5 px
MIN_QUALITY = 75  # outside line quads on rendered pages; at 75 and 90 none was found


def check_run_options(shard_size: int = 1000, image_format: str = "jpg", quality: int = 90,
                      workers: int = 1, backend: str = "joblib",
                      scheduler: str | None = None) -> None:
    """Refuse run options that cannot work, before anything is written.

    Raises:
        ConfigError: ``shard_size`` or ``workers`` below 1, ``quality`` outside
            :data:`MIN_QUALITY`-100, an
            unknown ``image_format`` or ``backend``; ``backend="dask"`` without
            ``scheduler`` or without dask.distributed installed. Each names its option.
    """
    for name, value in (("shard_size", shard_size), ("workers", workers)):
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"--{name.replace('_', '-')} {value}: must be a whole number >= 1")
    if not isinstance(quality, int) or not MIN_QUALITY <= quality <= 100:
        raise ConfigError(f"--quality {quality}: must be a whole number from {MIN_QUALITY} to "
                          "100 (lower JPEG/WebP quality rings ink outside the line quads; "
                          "for low-quality artefacts use the augment op jpeg, whose quads grow)")
    try:
        normalise_image_format(image_format)
    except ValueError as e:
        raise ConfigError(f"--image-format: {e}") from None
    if backend not in ("joblib", "dask"):
        raise ConfigError(f"--backend {backend!r} is not one of joblib, dask")
    if backend == "dask" and importlib.util.find_spec("distributed") is None:
        raise ConfigError("--backend dask needs dask.distributed: pip install 'synthgen[dask]'")
    if backend == "dask" and not scheduler:
        raise ConfigError("--backend dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")


def run(job, out, splits: dict[str, int], *, kind: str = "render", shard_size: int = 1000,
        image_format: str = "jpg", quality: int = 90, workers: int = 1,
        backend: str = "joblib", scheduler: str | None = None, overwrite: bool = False,
        progress: bool = True, shard_layout: dict[str, list[int]] | None = None) -> RunResult:
    """Make (or finish) the shard directory ``out``; returns counts and the final dataset info.

    Args:
        job: what makes the samples (see the module docstring).
        splits: samples per split; ``shard_size`` samples per shard unless ``shard_layout``
            gives the samples of each shard per split. Split names start every shard name
            and key, so they follow :func:`~synthtext.dataset.names.check_split_name`.
        workers: local processes (joblib/loky) for ``backend="joblib"``; ``backend="dask"``
            sends the shards to the scheduler at ``scheduler`` instead.
        overwrite: replace what ``out`` holds instead of refusing a different run.

    A run that stops before its first finished shard (an error, Ctrl-C) removes what it
    wrote, and the directories it created; a later one keeps its finished shards, which
    the same command resumes from.

    Raises:
        ConfigError: as :func:`check_run_options`, or a bad split name (all checked before
            anything is written).
        UserError: ``out`` holds another run or foreign shards (without ``overwrite``).
        OSError: ``out`` or a file in it cannot be made or written, naming the path.
    """
    check_run_options(shard_size, image_format, quality, workers, backend, scheduler)
    for split in splits:
        check_split_name(split, "--split")
    t0 = time.perf_counter()
    out = Path(out)
    config = {**job.config(), "shard_size": shard_size, "image_format": image_format,
              "quality": quality, "splits": splits}
    info = new_info(kind, __version__, config, splits, shard_size)
    made = _missing_dirs(out)
    try:
        prepare_out(out, info, overwrite)
    except BaseException:
        _remove_empty(made)
        raise
    tasks = plan_tasks(job, str(out), splits, shard_size, image_format, quality,
                       shard_layout)
    done = {t.name: s for t in tasks if (s := _done(t)) is not None}
    todo = [t for t in tasks if t.name not in done]
    try:
        _make(todo, done, kind, workers, backend, scheduler, progress)
    except BaseException:
        if not done:  # stopped before its first shard: leave nothing of this run behind
            _undo_start(out, tasks, made)
        raise
    info = finalise_info(info, list(done.values()))
    write_json_atomic(out / INFO_FILE, info)
    return RunResult(out=out, samples=sum(t.stop - t.start for t in tasks),
                     shards_written=len(todo), shards_skipped=len(tasks) - len(todo),
                     seconds=time.perf_counter() - t0, info=info)


def _missing_dirs(out: Path) -> list[Path]:
    """``out`` and those of its parents that do not exist yet, deepest first."""
    missing, p = [], out.absolute()
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    return missing


def _remove_empty(dirs: list[Path]) -> None:
    """Remove the directories a run created (deepest first) while they are empty."""
    for d in dirs:
        try:
            d.rmdir()
        except OSError:
            return


def _undo_start(out: Path, tasks: list[ShardTask], made: list[Path]) -> None:
    """Remove what a run wrote before its first finished shard: its dataset.json, state,
    temp files, any shard it renamed into place without statistics, and the directories
    it created."""
    for p in [out / INFO_FILE, *(out / t.name for t in tasks), *out.glob("*.tmp"),
              *out.glob(".*.tmp")]:
        p.unlink(missing_ok=True)
    shutil.rmtree(out / STATE_DIR, ignore_errors=True)
    _remove_empty(made)


def _make(todo: list[ShardTask], done: dict, kind: str, workers: int, backend: str,
          scheduler: str | None, progress: bool) -> None:
    """Run ``todo`` with a progress display, adding each shard's statistics to ``done``."""
    initial = sum(s["samples"] for s in done.values())
    total = initial + sum(t.stop - t.start for t in todo)
    bar = progress_bar(total, kind, "sample", initial=initial, enabled=progress)
    finished = False
    try:
        for stats in _execute(todo, workers, backend, scheduler, bar):
            done[stats["name"]] = stats
        finished = True
    finally:
        if finished or not isinstance(bar, PlainProgress):
            bar.close()  # a log's closing progress line would follow an error as a 2nd line


def _execute(tasks: list[ShardTask], workers: int, backend: str, scheduler: str | None,
             bar) -> Iterator[dict]:
    if not tasks:
        return
    if backend == "dask":
        yield from _execute_dask(tasks, scheduler, bar)
    elif workers <= 1 or len(tasks) == 1:
        for task in tasks:
            yield run_shard(task, progress=bar.update)
    else:
        from joblib import Parallel, delayed  # ~0.1 s to import; only parallel runs need it

        par = Parallel(n_jobs=workers, backend="loky", return_as="generator_unordered")
        for stats in par(delayed(run_shard)(t, worker=True) for t in tasks):
            bar.update(stats["samples"])
            yield stats


def _execute_dask(tasks: list[ShardTask], scheduler: str, bar) -> Iterator[dict]:
    from dask.distributed import Client, as_completed  # optional: synthgen[dask]

    with Client(scheduler) as client:
        futures = client.map(run_shard, tasks, pure=False, worker=True)
        for fut in as_completed(futures):
            stats = fut.result()
            bar.update(stats["samples"])
            yield stats

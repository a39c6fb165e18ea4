"""``dataset.json``: what a shard directory holds and how it was made.

The dataset info is written as ``incomplete`` before any shard and rewritten as ``complete``
at the end, always atomically. Per-shard statistics live in ``.synthgen/shards/`` (hidden,
so dataset loaders never mistake them for data) until they are folded into it.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from collections import Counter
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Iterator

from synthtext.dataset.errors import ConfigError, UserError

INFO_FILE = "dataset.json"
SCHEMA = "synthgen.dataset/1"
STATE_DIR = ".synthgen"


def config_digest(config: dict) -> str:
    """The sha256 (hex) of ``config`` as canonical JSON (sorted keys, no spaces): two runs
    with the same digest were made with the same parameters."""
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# what a failed write() or fsync() raises, without a file name: disk full, quota, file too
# large, read-only file system, I/O error
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}


@contextmanager
def naming_path(path: str | os.PathLike) -> Iterator[None]:
    """Within: a failed write that names no file (disk full, quota...) is raised again
    naming ``path``, so the CLI can say which file could not be written."""
    try:
        yield
    except OSError as e:
        if e.filename is None and e.errno in _WRITE_ERRNOS:
            raise OSError(e.errno, e.strerror, str(path)) from e
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` through a temp name in the same folder (created if
    missing) and a rename, so ``path`` never holds a partial file; with ``fsync`` the
    bytes reach the disk before the rename (for files a resume trusts).

    Returns:
        ``path`` as a Path.

    Raises:
        OSError: naming the file (see :func:`naming_path`); the temp file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with naming_path(path), open(tmp, "wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> None:
    """Write ``obj`` as sorted, UTF-8 JSON plus a newline, fsynced, atomically
    (:func:`write_bytes_atomic`).

    Raises:
        OSError: naming the file (see :func:`naming_path`); the temp file is removed.
    """
    text = json.dumps(obj, indent=indent, sort_keys=True, ensure_ascii=False) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"), fsync=True)


def read_json_object(path: str | os.PathLike, label: str) -> dict:
    """The JSON object in the UTF-8 file ``path`` (a config or a spec's JSON).

    Args:
        path: the file.
        label: how the user named it, e.g. ``"--config run.json"``; starts each error.

    Raises:
        ConfigError: the file is missing, unreadable, not JSON, or not a JSON object.
    """
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{label}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{label}: not valid JSON ({e})") from None
    except OSError as e:
        raise ConfigError(f"{label}: cannot read it ({e.strerror or e})") from None
    if not isinstance(d, dict):
        raise ConfigError(f"{label}: expected a JSON object")
    return d


def read_info(out: str | os.PathLike) -> dict | None:
    """The dataset info of the local shard directory ``out``; None if it has no dataset.json.

    (:func:`synthtext.dataset.urls.read_dataset_info` reads it from http(s) and ``hf://`` too.)

    Raises:
        UserError: the file exists but is not UTF-8 JSON.
    """
    path = Path(out) / INFO_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not a readable synthgen dataset.json ({e}); "
                        "use --overwrite to replace the directory's contents") from None


def shard_stats_path(out: str | os.PathLike, shard: str) -> Path:
    """Where the statistics of shard ``shard`` (a file name) of ``out`` wait to be folded in."""
    return Path(out) / STATE_DIR / "shards" / f"{shard}.json"


def new_info(kind: str, version: str, config: dict, splits: dict[str, int],
             shard_size: int) -> dict:
    """A dataset info marked ``incomplete``: what a run writes before its first shard.

    Args:
        kind: the command that makes the data (``render``, ``stitch``, ``augment``).
        version: the synthgen version.
        config: everything that determines the bytes (digested into ``config_sha256``).
        splits: samples per split.
        shard_size: samples per shard (the last shard of a split may hold fewer).
    """
    return {
        "schema": SCHEMA,
        "generator": {"name": "synthgen", "version": version, "command": kind},
        "status": "incomplete",
        "config": config,
        "config_sha256": config_digest(config),
        "shard_size": shard_size,
        "splits": {s: {"samples": n} for s, n in splits.items()},
    }


def finalise_info(info: dict, shard_stats: list[dict]) -> dict:
    """Fold per-shard statistics into the dataset info and mark it complete."""
    totals: dict[str, Counter] = {"label_chars": Counter(), "fonts": Counter(),
                                  "font_categories": Counter(), "rejects": Counter(),
                                  "rotation": Counter(), "lines": Counter(),
                                  "label_length": Counter()}
    splits = info["splits"]
    for s in splits.values():
        s["shards"] = []
    n_chars = 0
    for st in sorted(shard_stats, key=lambda st: st["name"]):
        splits[st["split"]]["shards"].append(
            {k: st[k] for k in ("name", "samples", "sha256", "bytes")})
        for k in totals:
            totals[k].update(st.get(k, {}))
        n_chars += st.get("characters", 0)
    stats = {k: dict(sorted(v.items())) for k, v in totals.items()}
    stats["samples"] = sum(s["samples"] for s in splits.values())
    stats["characters"] = n_chars
    info["stats"] = stats
    info["status"] = "complete"
    return info

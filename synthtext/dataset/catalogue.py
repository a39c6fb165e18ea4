"""The local catalogue: names for the shard directories this machine has made or been told of.

Training recipes and every shard-reading command take ``dataset:NAME`` (or
``dataset:NAME/GLOB``, e.g. ``dataset:chem/train-*.tar``) instead of a path, so moving
or re-rendering data means updating one entry, not every recipe. The catalogue is a small
JSON file (``$SYNTHGEN_CACHE/catalogue.json``, else the user cache dir) of name -> absolute
directory; finished runs register themselves under their directory's name. Writes take a
lock and replace the file atomically, so concurrent runs cannot lose each other's entries.
"""

from __future__ import annotations

import json
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from synthtext.dataset.cache import cache_dir
from synthtext.dataset.errors import UserError
from synthtext.dataset.info import read_info, write_json_atomic
from synthtext.dataset.names import MAX_LEN, check_dataset_name, suggest

SCHEMA = "synthgen.catalogue/1"


def catalogue_path() -> Path:
    """The catalogue file: ``catalogue.json`` in the cache root (:func:`cache_dir`)."""
    return cache_dir() / "catalogue.json"


def load() -> dict[str, str]:
    """name -> absolute directory (empty when there is no catalogue yet)."""
    path = catalogue_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {k: v["path"] for k, v in data.get("datasets", {}).items()}
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise UserError(f"{path}: unreadable dataset catalogue ({e}); fix or delete it") from None


@contextmanager
def _editing():
    """Yield the catalogue dict under an exclusive lock, then write it back atomically."""
    path = catalogue_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as lock:
        try:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # Windows: last writer wins, still atomically
            pass
        entries = load()
        yield entries
        write_json_atomic(path, {"schema": SCHEMA, "datasets": {
            k: {"path": v} for k, v in sorted(entries.items())}})


def add(name: str, directory: str | os.PathLike, replace: bool = False) -> Path:
    """Register ``directory`` (which must hold a dataset.json) as ``name``; returns it resolved.

    ``name`` follows :func:`~synthtext.dataset.names.check_dataset_name`: ASCII letters,
    digits, ``_`` and ``-``, starting with a letter or digit. No dot: a name that looks like
    a file (``chem.tar``, ``a.json``) would read as one in data specs and source names.

    Raises:
        UserError: a bad name, no dataset.json, or the name already taken (without
            ``replace``).
    """
    check_dataset_name(name)
    d = Path(directory).resolve()
    if read_info(d) is None:
        raise UserError(f"{d}: no dataset.json; only synthgen shard directories can be added")
    with _editing() as entries:
        old = entries.get(name)
        if old and old != str(d) and not replace:
            raise UserError(f"dataset {name!r} already names {old}; remove it first or pass "
                            "--replace")
        entries[name] = str(d)
    return d


def register_run(out: str | os.PathLike) -> str | None:
    """Record a finished run under its directory's name (``NAME-2``... if that name is taken
    by another directory that still exists); a directory already listed keeps its name.
    Never fails the run: a catalogue that cannot be written only gives a warning."""
    try:
        return _register(Path(out).resolve())
    except (UserError, OSError) as e:
        warnings.warn(f"{out} was not added to the dataset catalogue: {e}")
        return None


def _register(d: Path) -> str:
    base = suggest(d.name)[:MAX_LEN - 4]  # room for a "-2".. suffix
    with _editing() as entries:
        for name, path in entries.items():
            if path == str(d):
                return name
        name, k = base, 1
        while name in entries and Path(entries[name]).exists():
            k += 1
            name = f"{base}-{k}"
        entries[name] = str(d)
    return name


def remove(name: str) -> str:
    """Forget ``name`` (the directory itself is left alone); returns its path.

    Raises:
        UserError: no such name.
    """
    with _editing() as entries:
        if name not in entries:
            raise UserError(f"no dataset named {name!r} in the catalogue ({catalogue_path()})")
        return entries.pop(name)


def resolve_spec(spec: str, label: str | None = None) -> str:
    """``dataset:NAME[/GLOB]`` -> the directory (or ``DIR/GLOB``) it names.

    Args:
        spec: the ``dataset:`` spec.
        label: how the user gave it (e.g. ``"--data dataset:chem@2"``); starts each error.

    Raises:
        UserError: the name is not in the catalogue, or its directory is gone.
    """
    label = label or spec
    name, _, rest = spec.removeprefix("dataset:").partition("/")
    entries = load()
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none; see synthgen datasets add"
        raise UserError(f"{label}: no dataset named {name!r} in the catalogue (known: {known})")
    path = Path(entries[name])
    if not path.is_dir():
        raise UserError(f"{label}: the catalogue names {path}, which no longer exists; "
                        f"synthgen datasets remove {name}, or add it again")
    return str(path / rest) if rest else str(path)


@dataclass
class Entry:
    """One catalogue entry as ``synthgen datasets`` lists it: whether its directory still
    exists, and from its dataset.json the command that made it (``kind``), its ``status``
    and the samples per split."""

    name: str
    path: str
    exists: bool
    kind: str = "?"
    status: str = "missing"
    samples: dict | None = None


def entries() -> list[Entry]:
    """Every catalogue entry with its dataset.json summary (kind, status, samples per split)."""
    out = []
    for name, path in sorted(load().items()):
        e = Entry(name, path, Path(path).is_dir())
        if e.exists:
            try:
                m = read_info(path)
            except UserError:
                m, e.status = None, "unreadable"
            if m is not None:
                e.kind = m.get("generator", {}).get("command", "?")
                e.status = m.get("status", "?")
                e.samples = {s: v.get("samples", 0) for s, v in m.get("splits", {}).items()}
            elif e.status == "missing":
                e.status = "no dataset.json"
        out.append(e)
    return out

"""The local catalogue: names for the shard directories this machine has made or been told of.

Training recipes and every shard-reading command take ``dataset:NAME`` (or
``dataset:NAME/GLOB``, e.g. ``dataset:chem/train-*.tar``) instead of a path, so moving
or re-rendering data means updating one entry, not every recipe. The catalogue is a small
JSON file (``$SYNTHGEN_CATALOGUE``, else ``catalogue.json`` in the cache root) of name ->
absolute directory; finished runs register themselves under their directory's name. Writes
take a lock and replace the file atomically, so concurrent runs cannot lose each other's
entries. A name whose directory no longer exists is dropped when it is listed or resolved.
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
    """The catalogue file: ``$SYNTHGEN_CATALOGUE``, else ``catalogue.json`` in the cache
    root (:func:`cache_dir`)."""
    if os.environ.get("SYNTHGEN_CATALOGUE"):
        return Path(os.environ["SYNTHGEN_CATALOGUE"])
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


def prune() -> dict[str, str]:
    """Drop the entries whose directory no longer exists; returns them (name -> path).
    A catalogue that cannot be written keeps them (nothing fails for it)."""
    gone = {k: v for k, v in load().items() if not Path(v).is_dir()}
    if gone:
        try:
            with _editing() as entries:
                for name in gone:
                    if name in entries and not Path(entries[name]).is_dir():
                        del entries[name]
        except OSError:
            pass
    return gone


def resolve_spec(spec: str, label: str | None = None) -> str:
    """``dataset:NAME[/GLOB]`` -> the directory (or ``DIR/GLOB``) it names.

    Args:
        spec: the ``dataset:`` spec.
        label: how the user gave it (e.g. ``"--data dataset:chem@2"``); starts each error.

    Raises:
        UserError: the name is not in the catalogue, or its directory is gone (the name is
            then dropped from the catalogue, see :func:`prune`).
    """
    label = label or spec
    name, _, rest = spec.removeprefix("dataset:").partition("/")
    entries = load()
    if name in entries and not Path(entries[name]).is_dir():
        prune()
        raise UserError(f"{label}: the catalogue named {entries[name]}, which no longer "
                        f"exists; dropped the name (synthgen datasets add {name} DIR names "
                        "its new place)")
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none; see synthgen datasets add"
        raise UserError(f"{label}: no dataset named {name!r} in the catalogue (known: {known})")
    path = Path(entries[name])
    return str(path / rest) if rest else str(path)


@dataclass
class Entry:
    """One catalogue entry as ``synthgen datasets`` lists it: from its dataset.json the
    command that made it (``kind``), its ``status`` (``no dataset.json``, ``unreadable``
    where there is none to read) and the samples per split."""

    name: str
    path: str
    kind: str = "?"
    status: str = "no dataset.json"
    samples: dict | None = None


def entries() -> list[Entry]:
    """Every catalogue entry whose directory exists, with its dataset.json summary (kind,
    status, samples per split); the others are dropped first (:func:`prune`)."""
    gone = prune()
    out = []
    for name, path in sorted(load().items()):
        if name in gone:
            continue
        e = Entry(name, path)
        try:
            m = read_info(path)
        except (UserError, OSError):
            m, e.status = None, "unreadable"
        if m is not None:
            e.kind = m.get("generator", {}).get("command", "?")
            e.status = m.get("status", "?")
            e.samples = {s: v.get("samples", 0) for s, v in m.get("splits", {}).items()}
        out.append(e)
    return out

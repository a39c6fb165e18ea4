"""WebDataset tar shards: one tar written atomically and reproducibly, and samples read back.

Writing goes through ``webdataset.TarWriter`` with fixed member metadata (mtime
:data:`MTIME`, uid/gid 0, empty owner names, mode :data:`MODE`, POSIX ustar format), so the
same samples give the same bytes on any machine, worker count or backend. Reading goes
through plain ``tarfile`` in stream mode, so any tar made by webdataset tools works and
remote shards (http(s), ``hf://``, see :mod:`synthtext.dataset.urls`) are streamed.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from synthtext.dataset.errors import UserError
from synthtext.dataset.names import check_key
from synthtext.dataset.urls import open_url, shard_urls

MTIME = 946684800  # 2000-01-01T00:00:00Z: a fixed, plausible timestamp for every member
MODE = 0o644  # rw-r--r--, what a user's own file usually has
_ORDER = {"jpg": 0, "png": 0, "webp": 0, "txt": 1, "json": 2}  # image, label, metadata


def shard_name(split: str, index: int) -> str:
    """``train-000003.tar`` for shard 3 of ``train`` (six digits, zero-padded)."""
    return f"{split}-{index:06d}.tar"


class AtomicTarWriter:
    """Write one WebDataset tar at ``path`` atomically: a ``.tmp`` file renamed on ``close()``.

    An exception (or a kill) leaves at most a ``*.tmp`` file, never a half-written shard
    under the final name. The sha256 of the tar is computed while writing (no second pass).
    Use as a context manager: after a clean exit, ``sha256`` holds the digest (hex) and
    ``count`` the number of samples written. (webdataset's ``ShardWriter`` is the other
    thing: it splits a stream of samples over many tars.)
    """

    def __init__(self, path: str | os.PathLike):
        # Heavy: importing webdataset imports torch (~1 s), which rendering otherwise avoids.
        from webdataset.writer import TarWriter

        self.path = Path(path)
        self.tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        self._file = open(self.tmp, "wb")
        self._sink = _HashingSink(self._file)
        self._tar = TarWriter(self._sink, user="", group="", mode=MODE, mtime=MTIME,
                              encoder=False, format="USTAR_FORMAT")
        self.count = 0
        self.sha256: str | None = None

    def write(self, sample: dict[str, Any]) -> None:
        """Add one WebDataset dict (``__key__`` + extension -> bytes or str).

        Members go in a fixed order: the image, ``txt``, ``json``, then any other extension
        by name. ``TarWriter.write`` sorts a dict's members by name, so each member is
        written by its own call. Keys starting with ``_`` (``__url__``...) are not written.

        Raises:
            ValueError: the key breaks :func:`~synthtext.dataset.names.check_key` (a dot
                would make readers merge samples).
        """
        key = check_key(sample["__key__"])
        exts = sorted((k for k in sample if not k.startswith("_")),
                      key=lambda e: (_ORDER.get(e, 9), e))
        for ext in exts:
            data = sample[ext]
            self._tar.write({"__key__": key,
                             ext: data.encode("utf-8") if isinstance(data, str) else data})
        self.count += 1

    def close(self) -> str:
        """Finish the tar, fsync, rename it into place; returns its sha256 (hex)."""
        self._tar.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.tmp, self.path)
        self.sha256 = self._sink.hash.hexdigest()
        return self.sha256

    def abort(self) -> None:
        """Drop the unfinished tar: close and delete the ``.tmp`` file."""
        self._sink.discard = True  # the tar's closing blocks go nowhere
        try:
            self._tar.close()
            self._file.close()
        finally:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> "AtomicTarWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class _HashingSink:
    """A write-only file wrapper that hashes what passes through (or drops it once
    ``discard`` is set, so closing an aborted tar writes nothing)."""

    def __init__(self, f):
        self._f, self.hash, self.discard = f, hashlib.sha256(), False

    def write(self, data) -> int:
        if self.discard:
            return len(data)
        self.hash.update(data)
        return self._f.write(data)

    def tell(self) -> int:
        return self._f.tell()


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """The sha256 (hex) of a local file, read in ``chunk``-byte blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def iter_tar_samples(url: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """The samples of one tar: WebDataset dicts (``__key__``, ``__url__``, extension -> bytes).

    Members are grouped by key (the name before the first dot); ``url`` is a local path,
    an http(s) URL or an ``hf://`` path, read forward only (:func:`~.urls.open_url`).

    Raises:
        UserError: the file is missing, cannot be fetched, is not a readable tar, or its
            stream breaks.
    """
    url = str(url)
    try:
        with open_url(url) as f, tarfile.open(fileobj=f, mode="r|*") as tar:
            yield from _group_members(tar, url)
    except (tarfile.TarError, OSError) as e:  # a broken tar, or a stream cut mid-way
        raise UserError(f"{url}: not a readable tar shard ({e})") from None


def _group_members(tar: tarfile.TarFile, url: str) -> Iterator[dict[str, Any]]:
    """Members in order, grouped by key; works on seekable and streamed (``r|``) tars."""
    current: dict[str, Any] = {}
    for member in tar:
        if not member.isfile():
            continue
        base = os.path.basename(member.name)
        if base.startswith(".") or "." not in base:
            continue
        key, ext = base.split(".", 1)
        key = os.path.join(os.path.dirname(member.name), key)
        if current and current["__key__"] != key:
            yield current
            current = {}
        current.setdefault("__key__", key)
        current["__url__"] = url
        current[ext] = tar.extractfile(member).read()
    if current:
        yield current


def iter_samples(spec: str | os.PathLike | Iterable[str]) -> Iterator[dict[str, Any]]:
    """Every sample of a data spec (see :func:`~.urls.shard_urls`) or of a list of shard
    URLs, in shard order, as WebDataset dicts.

    Raises:
        UserError: the spec names no shards, or a shard cannot be read.
    """
    paths = shard_urls(spec) if isinstance(spec, (str, os.PathLike)) else list(spec)
    for p in paths:
        yield from iter_tar_samples(p)

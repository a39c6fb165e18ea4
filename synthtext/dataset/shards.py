"""Deterministic WebDataset tar shards, written under a temporary name and renamed when whole.

Byte-identical output needs fixed member metadata (mtime, owner, mode) and a fixed member
order; ``webdataset.TarWriter`` stamps the current time, so we write the tar ourselves.
Reading goes through plain ``tarfile`` so that any tar produced by webdataset tools works;
remote shards (http(s), ``hf://``) are streamed, see :mod:`synthtext.dataset.urls`.
"""

from __future__ import annotations

import glob
import hashlib
import io
import os
import tarfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from synthtext.dataset.urls import expand_remote, is_remote, open_stream

MTIME = 946684800  # 2000-01-01T00:00:00Z: a fixed, plausible timestamp for every member
_ORDER = {"jpg": 0, "png": 0, "webp": 0, "txt": 1, "json": 2}
DATASET_PREFIX = "dataset:"  # dataset:NAME names a directory in the local catalogue


def shard_name(split: str, index: int) -> str:
    return f"{split}-{index:06d}.tar"


class ShardWriter:
    """Write samples into ``path`` atomically: a ``.tmp`` file renamed on ``close()``.

    An exception (or a kill) leaves at most a ``*.tmp`` file, never a half-written shard
    under the final name. Use as a context manager.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        self._file = open(self.tmp, "wb")
        self._hash = hashlib.sha256()
        self._tar = tarfile.open(fileobj=_HashingWriter(self._file, self._hash), mode="w",
                                 format=tarfile.USTAR_FORMAT)
        self.count = 0

    def write(self, sample: dict[str, Any]) -> None:
        """Add one WebDataset dict (``__key__`` + ext -> bytes) in a fixed member order."""
        key = sample["__key__"]
        exts = sorted((k for k in sample if not k.startswith("__")),
                      key=lambda e: (_ORDER.get(e, 9), e))
        for ext in exts:
            data = sample[ext]
            if isinstance(data, str):
                data = data.encode("utf-8")
            info = tarfile.TarInfo(f"{key}.{ext}")
            info.size, info.mtime, info.mode = len(data), MTIME, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            self._tar.addfile(info, io.BytesIO(data))
        self.count += 1

    def close(self) -> str:
        """Finish the tar, fsync, rename into place; returns the sha256 of the shard."""
        self._tar.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.tmp, self.path)
        return self._hash.hexdigest()

    def abort(self) -> None:
        try:
            self._file.close()
        finally:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> "ShardWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.sha256 = self.close()
        else:
            self.abort()


class _HashingWriter:
    """A write-only file wrapper that hashes what passes through (no second read pass)."""

    def __init__(self, f, h):
        self._f, self._h = f, h

    def write(self, data) -> int:
        self._h.update(data)
        return self._f.write(data)

    def tell(self) -> int:
        return self._f.tell()


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def iter_tar_samples(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """Group a tar's members into WebDataset dicts (key = name before the first dot).

    ``path`` may also be an http(s) URL or an ``hf://`` path: those are streamed."""
    if is_remote(str(path)):
        with open_stream(str(path)) as f, tarfile.open(fileobj=f, mode="r|*") as tar:
            yield from _group_members(tar, str(path))
        return
    with tarfile.open(path, "r:*") as tar:
        yield from _group_members(tar, str(path))


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


def expand_shards(spec: str | os.PathLike) -> list[str]:
    """Shard list from a directory, a glob or a ``{000..009}`` brace pattern; also
    http(s) URLs, ``hf://datasets/ORG/NAME[@REV][/GLOB]`` and ``dataset:NAME[/GLOB]``
    (a name from the local catalogue, see :mod:`synthtext.dataset.catalogue`)."""
    spec = str(spec)
    if spec.startswith(DATASET_PREFIX):
        from synthtext.dataset.catalogue import resolve_spec

        return expand_shards(resolve_spec(spec))
    if is_remote(spec):
        return expand_remote(spec)
    if os.path.isdir(spec):
        return sorted(glob.glob(os.path.join(spec, "*.tar")))
    if "{" in spec:
        import braceexpand  # a webdataset dependency

        return [p for p in braceexpand.braceexpand(spec)]
    return sorted(glob.glob(spec)) if any(c in spec for c in "*?[") else [spec]


def iter_samples(spec: str | os.PathLike | Iterable[str]) -> Iterator[dict[str, Any]]:
    """All samples of a shard directory, glob, brace pattern or list, in shard order."""
    paths = expand_shards(spec) if isinstance(spec, (str, os.PathLike)) else list(spec)
    for p in paths:
        yield from iter_tar_samples(p)

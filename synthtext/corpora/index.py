"""A corpus's paragraph index: built in one streaming pass, cached on disk, memory-mapped.

The scan reads the file in 16 MiB blocks, hashes it (sha256), validates its encoding with an
incremental decoder and finds paragraph boundaries with numpy, so peak memory stays small
whatever the corpus size (WikiText-103 is 540 MB).

The index is one int64 ``.npy`` of shape ``(4, HEADER + n + 1)`` for ``n`` paragraphs,
written atomically (temp name, then ``os.replace``) and loaded with ``mmap_mode="r"`` so
worker processes share it. Columns ``0..HEADER-1`` hold a header (row 0: magic, version,
n, format code; row 1: the file's sha256 as 4 int64; row 2: file size in bytes, mtime_ns),
then row 0 = paragraph start bytes, row 1 = end bytes (exclusive), row 2 = cumulative byte
lengths (to draw start positions uniformly over the text), row 3 = flags (:data:`HEADING`
for a WikiText heading, :data:`CONTINUES` for a continuation piece of a paragraph over
64 KiB, cut at whitespace). It lives in ``<synthgen cache>/corpus-index`` (see
:func:`synthtext.dataset.cache.cache_dir`), keyed by absolute path, size, mtime_ns,
requested format and codec, so an edited file is rescanned.
"""
from __future__ import annotations

import codecs
import hashlib
import itertools
import mmap
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from synthtext.corpora.formats import detect_format
from synthtext.corpora.wikitext import detokenize, heading_text
from synthtext.dataset.errors import CorpusError
from synthtext.dataset.text import normalize_text

_FORMAT_CODE = {"wikitext": 1, "text": 2, "lines": 3}
_MAGIC, _VERSION = 0x5359_4E43_4F52, 1
HEADER = 4                   # header columns before the per-paragraph columns
_BLOCK = 16 << 20            # scan block (bytes)
_MAX_PAR = 64 << 10          # longer paragraphs are indexed as continued pieces
HEADING, CONTINUES = 1, 2    # values of the flag row


class _Scan:
    """One streaming pass: sha256, encoding check and paragraph boundaries."""

    def __init__(self, fmt: str, codec: str, label: str):
        self.fmt, self.codec, self.label = fmt, codec, label
        self.starts, self.ends, self.flags = [], [], []     # per-block int64 arrays
        self.open_par = None     # (start, end) of a 'text' paragraph running into the next block
        self.sha = hashlib.sha256()

    def run(self, path: Path) -> None:
        with open(path, "rb") as f:
            bom = self.codec == "utf-8" and f.read(3) == codecs.BOM_UTF8
            f.seek(0)
            dec = codecs.getincrementaldecoder(self.codec)()   # a BOM is valid UTF-8
            pending, base, pos = b"", 3 * bom, 0
            while True:
                block = f.read(_BLOCK)
                self.sha.update(block)
                self._decode(dec, block, pos, final=not block)
                pos += len(block)
                data = pending + (block[3:] if bom and pos == len(block) else block)
                cut = data.rfind(b"\n") + 1 if block else len(data)
                piece, pending = data[:cut], data[cut:]
                if piece:
                    self._paragraphs(piece, base)
                    base += len(piece)
                if not block:
                    break
            if self.open_par is not None:
                self._emit(*(np.array([v], np.int64) for v in (*self.open_par, 0)))
            self._split_long(f)

    def _decode(self, dec, block: bytes, pos: int, final: bool) -> None:
        buffered = len(dec.getstate()[0])
        try:
            dec.decode(block, final=final)
        except UnicodeDecodeError as e:
            raise CorpusError(f"corpus {self.label}: byte {pos - buffered + e.start} is not "
                              f"valid {self.codec}; pass --encoding latin-1 or fix the "
                              "file") from None

    def _paragraphs(self, piece: bytes, base: int) -> None:
        """Paragraph bounds of a block made of whole lines (vectorised)."""
        buf = np.frombuffer(piece, np.uint8)
        nl = np.flatnonzero(buf == 10)
        ls = np.concatenate(([0], nl + 1))
        le = np.concatenate((nl, [len(buf)]))
        if piece.endswith(b"\n"):
            ls, le = ls[:-1], le[:-1]
        nonws = (buf != 32) & (np.subtract(buf, 9, dtype=np.uint8) > 4)
        nb = np.logical_or.reduceat(nonws, ls)
        del nonws
        if self.fmt == "text":
            return self._text_paragraphs(ls + base, le + base, nb)
        st, en = ls[nb], le[nb]
        heads = np.zeros(len(st), np.int64)
        if self.fmt == "wikitext":
            nxt = buf[np.minimum(st + 1, len(buf) - 1)]
            for i in np.flatnonzero((buf[st] == 61) | ((buf[st] == 32) & (nxt == 61))):
                line = piece[st[i]:en[i]].decode(self.codec, "replace")
                heads[i] = heading_text(line) is not None
        self._emit(st + base, en + base, heads)

    def _text_paragraphs(self, ls, le, nb) -> None:
        """Blank-line separated paragraphs; one may continue from the previous block."""
        prev = np.concatenate(([False], nb[:-1]))
        nxt = np.concatenate((nb[1:], [False]))
        st, en = ls[nb & ~prev], le[nb & ~nxt]
        if self.open_par is not None:
            if nb[0]:
                st[0] = self.open_par[0]
            else:
                st, en = np.r_[self.open_par[0], st], np.r_[self.open_par[1], en]
            self.open_par = None
        if nb[-1] and len(st):
            self.open_par = (int(st[-1]), int(en[-1]))
            st, en = st[:-1], en[:-1]
        self._emit(st, en, np.zeros(len(st), np.int64))

    def _emit(self, st, en, flags) -> None:
        if len(st):
            self.starts.append(st.astype(np.int64))
            self.ends.append(en.astype(np.int64))
            self.flags.append(flags)

    def _split_long(self, f) -> None:
        """Cut paragraphs over _MAX_PAR bytes at whitespace, so a span never decodes a
        whole giant line; the pieces after the first are flagged as continuations."""
        for k, (st, en, fl) in enumerate(zip(self.starts, self.ends, self.flags)):
            for i in np.flatnonzero(en - st > _MAX_PAR)[::-1]:
                cuts, pos, end = [], int(st[i]) + _MAX_PAR, int(en[i]) - 1
                while pos < end:
                    f.seek(pos)
                    m = re.search(rb"\s", f.read(4096))
                    if m is None:           # a 4 KB "word": look further
                        pos += 4096
                    elif pos + m.start() < end:
                        cuts.append(pos + m.start())
                        pos += m.start() + _MAX_PAR
                    else:
                        break
                st = np.insert(st, i + 1, cuts)
                en = np.insert(en, i, cuts)
                fl = np.insert(fl, i + 1, [CONTINUES] * len(cuts))
            self.starts[k], self.ends[k], self.flags[k] = st, en, fl

    def write(self, f, size: int, mtime_ns: int) -> None:
        """Write the index .npy (layout in the module docstring) to the open file ``f``."""
        n = sum(len(a) for a in self.starts)
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<i8", "fortran_order": False, "shape": (4, HEADER + n + 1)})

        def cumulative():
            total = 0
            for s, e in zip(self.starts, self.ends):
                cum = total + np.cumsum(e - s)
                total = int(cum[-1])
                yield cum

        rows = ([[_MAGIC, _VERSION, n, _FORMAT_CODE[self.fmt]], *self.starts, [size]],
                [np.frombuffer(self.sha.digest(), "<i8"), *self.ends, [size]],
                itertools.chain([[size, mtime_ns, 0, 0, 0]], cumulative()),
                [[0, 0, 0, 0], *self.flags, [0]])
        for row in rows:
            for part in row:
                f.write(np.asarray(part, "<i8").tobytes())

    def check_words(self, path: Path) -> None:
        """Refuse a corpus with no paragraph, or whose body paragraphs hold no words (only
        headings, ``<unk>``, blank lines or characters the label text policy removes):
        CorpusError naming the file."""
        if not self.starts:
            raise CorpusError(f"corpus {self.label}: is empty (whitespace only); "
                              "pass a file with text in it")
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            for st, en, fl in zip(self.starts, self.ends, self.flags):
                for s, e, flag in zip(st.tolist(), en.tolist(), fl.tolist()):
                    raw = mm[s:e].decode(self.codec, "replace")
                    text = detokenize(raw) if self.fmt == "wikitext" else raw
                    if flag != HEADING and normalize_text(text, "none").split():
                        return
        raise CorpusError(f"corpus {self.label}: has no usable words (only headings, <unk>, "
                          f"blank lines or invisible characters as {self.fmt}); pass a file "
                          "with text")


def open_index(path: Path, st: os.stat_result, fmt: str, codec: str, label: str,
               cache_dir: Path) -> np.ndarray:
    """The paragraph index of ``path``: the cached one when valid, else scanned and written.

    Args:
        path: the corpus file; ``st`` its ``os.stat`` result (size and mtime key the cache).
        fmt: the requested format (``"auto"`` is resolved by
            :func:`~synthtext.corpora.formats.detect_format` before scanning).
        codec: a codec accepted by :func:`~synthtext.corpora.formats.scan_codec`.
        label: how error messages name the file.
        cache_dir: the index folder; when it cannot be written, the index goes to a private
            temporary file instead (unlinked at once, still mapped).

    Returns:
        The int64 index of shape ``(4, HEADER + n + 1)``, memory-mapped read-only (layout in
        the module docstring).

    Raises:
        CorpusError: a byte is not valid in ``codec``, or the file has no usable words.
    """
    target = _cache_file(cache_dir, path, st, fmt, codec)
    cached = _load(target, st.st_size)
    if cached is not None:
        return cached
    scan = _Scan(detect_format(path, codec) if fmt == "auto" else fmt, codec, label)
    scan.run(path)
    scan.check_words(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".part",
                                   dir=target.parent)
    except OSError:                 # unwritable cache: a private temp file
        fd, tmp = tempfile.mkstemp(suffix=".npy")
        target = None
    try:
        with os.fdopen(fd, "wb") as f:
            scan.write(f, st.st_size, st.st_mtime_ns)
        if target is not None:
            os.replace(tmp, target)
            return np.load(target, mmap_mode="r")
        return np.load(tmp, mmap_mode="r")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)          # a mapped, unlinked file stays readable


def _cache_file(cache_dir: Path, path: Path, st: os.stat_result, fmt: str, codec: str) -> Path:
    key = f"{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0{fmt}\0{codec}"
    digest = hashlib.sha256(f"{key}\0v{_VERSION}".encode()).hexdigest()[:24]
    stem = re.sub(r"[^\w.-]", "_", path.stem)[:40]
    return Path(cache_dir) / f"{stem}-{digest}.npy"


def _load(file: Path, size: int) -> np.ndarray | None:
    """The cached index memory-mapped, or None if absent or unusable."""
    try:
        arr = np.load(file, mmap_mode="r")
    except (OSError, ValueError):
        return None
    ok = (arr.ndim == 2 and arr.shape[0] == 4 and arr.dtype == np.int64
          and arr[0, 0] == _MAGIC and arr[0, 1] == _VERSION
          and arr.shape[1] == HEADER + int(arr[0, 2]) + 1 and arr[2, 0] == size)
    return arr if ok else None

"""Building a corpus's paragraph index in one streaming pass (see :mod:`synthtext.corpora.corpus`).

The scan hashes the file, validates its encoding with an incremental decoder and finds
paragraph boundaries with numpy, 16 MB at a time, so peak memory stays small whatever the
corpus size. The index layout is described in :mod:`synthtext.corpora.corpus`.
"""
from __future__ import annotations

import codecs
import hashlib
import itertools
import re
from pathlib import Path

import numpy as np

from synthtext.corpora.wikitext import heading_text
from synthtext.dataset.errors import CorpusError

_FORMAT_CODE = {"wikitext": 1, "text": 2, "lines": 3}
_MAGIC, _VERSION, _HDR = 0x5359_4E43_4F52, 1, 4
_BLOCK = 16 << 20            # scan block (bytes)
_MAX_PAR = 64 << 10          # longer paragraphs are indexed as continued pieces
_HEADING, _CONTINUES = 1, 2  # values of the flag row


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
                fl = np.insert(fl, i + 1, [_CONTINUES] * len(cuts))
            self.starts[k], self.ends[k], self.flags[k] = st, en, fl

    def write(self, f, size: int, mtime_ns: int) -> None:
        """Write the index .npy (layout in the module docstring) to the open file ``f``."""
        n = sum(len(a) for a in self.starts)
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<i8", "fortran_order": False, "shape": (4, _HDR + n + 1)})

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

"""Indexed text corpora and random word spans drawn from them.

A corpus may be huge (WikiText-103 is 540 MB), so it is never held as Python
strings: the file is memory-mapped, described by a paragraph index, and
``sample_span`` decodes only the paragraphs a span touches.

The index is built in one streaming pass over 16 MB blocks that also hashes the
file and validates its encoding with an incremental decoder.  It is one int64
``.npy`` of shape ``(4, 4 + n + 1)``, written atomically (temp name, then
``os.replace``) and loaded with ``mmap_mode="r"`` so worker processes share it:
columns 0-3 hold a header (magic, version, n, format | sha256 | size, mtime_ns),
then row 0 = paragraph start bytes, row 1 = end bytes, row 2 = cumulative byte
lengths (to draw start positions uniformly over the text), row 3 = flags
(WikiText heading, or continuation piece of an over-long paragraph).  It lives
in ``$SYNTHGEN_CACHE/corpus-index`` (else ``$XDG_CACHE_HOME/synthgen/...``, else
``~/.cache/synthgen/...``), keyed by absolute path, size, mtime_ns, format and
encoding.  ASCII-compatible encodings whose multi-byte characters never contain
ASCII whitespace bytes (UTF-8, Latin-1, cp1252, Shift_JIS, GB18030...) are
indexed in place; UTF-16/32 and stateful encodings are refused with a hint.
"""
from __future__ import annotations

import codecs
import collections
import hashlib
import itertools
import math
import mmap
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthtext.corpora.index import _CONTINUES, _HDR, _HEADING, _MAGIC, _VERSION, _Scan
from synthtext.corpora.wikitext import detokenize, heading_text
from synthtext.dataset import cache
from synthtext.dataset.errors import ConfigError, CorpusError

FORMATS = ("wikitext", "text", "lines")
_DETECT_BYTES = 1 << 20
_WORD = re.compile(r"\S+")
_HEADING_LINE = re.compile(r"^ = .* = $", re.M)
_MARKUP = ("@-@", "@,@", "@.@", "<unk>")


@dataclass(frozen=True)
class Span:
    """A run of whole words, grouped by paragraph, plus where it came from."""

    paragraphs: tuple[tuple[str, ...], ...]
    corpus: str
    byte_start: int
    byte_end: int

    def text(self, paragraph_sep: str = "\n") -> str:
        """Words joined by single spaces, paragraphs by ``paragraph_sep``."""
        return paragraph_sep.join(" ".join(p) for p in self.paragraphs)

    @property
    def n_words(self) -> int:
        return sum(len(p) for p in self.paragraphs)

    def chars(self) -> set[str]:
        """Characters of the words (whitespace excluded): what a font must cover."""
        return set("".join(itertools.chain.from_iterable(self.paragraphs)))


def _check_file(path: Path, label: str) -> os.stat_result:
    if not path.exists():
        raise CorpusError(f"corpus {label}: file not found; check the path")
    if path.is_dir():
        raise CorpusError(f"corpus {label}: is a directory; pass a text file")
    st = path.stat()
    if st.st_size == 0:
        raise CorpusError(f"corpus {label}: is empty; pass a file with text in it")
    return st


def _codec(encoding: str, label: str) -> str:
    """Normalised codec name; refuse encodings whose bytes the index cannot scan."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise CorpusError(f"corpus {label}: unknown encoding {encoding!r}; "
                          "pass --encoding utf-8 or latin-1") from None
    probe = "a =\n\t\r"
    ok = not name.startswith(("utf-16", "utf-32", "utf-7", "iso2022", "hz"))
    if not ok or probe.encode(name, "replace") != probe.encode("ascii"):
        raise CorpusError(f"corpus {label}: encoding {encoding} is not supported; convert "
                          f"the file to UTF-8 (iconv -f {encoding} -t UTF-8)")
    return "utf-8" if name == "utf-8-sig" else name


def detect_format(path, encoding: str = "utf-8") -> str:
    """Guess 'wikitext', 'text' or 'lines' from the first ~1 MB of the file."""
    p = Path(path)
    _check_file(p, str(path))
    with open(p, "rb") as f:
        head = f.read(_DETECT_BYTES + 1)
    if len(head) > _DETECT_BYTES:          # drop the cut-off last line
        head = head[: head.rfind(b"\n", 0, _DETECT_BYTES) + 1] or head[:_DETECT_BYTES]
    text = head.decode(_codec(encoding, str(path)), "replace").replace("\r", "")
    if _HEADING_LINE.search(text) or any(m in text for m in _MARKUP):
        return "wikitext"
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    blank = sum(1 for ln in lines if not ln.strip())
    return "text" if lines and blank >= 0.05 * len(lines) else "lines"


def parse_corpus_arg(arg: str) -> tuple[str, float]:
    """``"chem.txt:0.3"`` -> ``("chem.txt", 0.3)``; a bare path gets weight 1.0."""
    path, sep, weight = arg.rpartition(":")
    if not sep or os.path.isfile(arg) or "/" in weight or "\\" in weight:
        return arg, 1.0
    try:
        w = float(weight)
    except ValueError:
        w = float("nan")
    if not path or not math.isfinite(w) or w <= 0:
        raise CorpusError(f"corpus argument {arg!r}: weight {weight!r} is not a positive "
                          "number; use FILE or FILE:WEIGHT, e.g. chem.txt:0.3")
    return path, w


class Corpus:
    """A memory-mapped corpus file with a cached paragraph index."""

    def __init__(self, path, format: str = "auto", encoding: str = "utf-8",
                 name: str | None = None, cache_dir=None):
        self.path = Path(path)
        self.name = name or self.path.stem
        label = str(path)
        st = _check_file(self.path, label)
        if format not in ("auto", *FORMATS):
            raise CorpusError(f"corpus {label}: unknown format {format!r}; "
                              "use auto, wikitext, text or lines")
        self.encoding = encoding
        self._codec = _codec(encoding, label)
        self._cache_dir = Path(cache_dir) if cache_dir else cache.cache_dir() / "corpus-index"
        self._requested = (format, encoding)        # what pickling re-opens with
        self._regions: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._split_weights: dict[str, float] | None = None
        with open(self.path, "rb") as f:
            self._mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        index = self._load_index(st, format)
        self._index = index if index is not None else self._build_index(st, format, label)
        hdr = self._index[:, :_HDR]
        n = int(hdr[0, 2])
        self.format = FORMATS[int(hdr[0, 3]) - 1]
        self.sha256 = np.ascontiguousarray(hdr[1]).astype("<i8").tobytes().hex()
        self.size_bytes = st.st_size
        self.n_paragraphs = n
        self._starts, self._ends, self._cum, self._flags = (
            self._index[r, _HDR:_HDR + n + 1] for r in range(4))
        self._whole = (np.array([0]), np.array([n]), np.array([int(self._cum[n])]))

    def __repr__(self) -> str:
        return (f"Corpus({str(self.path)!r}, format={self.format!r}, "
                f"n_paragraphs={self.n_paragraphs})")

    def __getstate__(self):
        """Pickle as arguments (mmaps don't pickle); workers reopen via the cache."""
        return (str(self.path), *self._requested, self.name, str(self._cache_dir),
                self._split_weights)

    def __setstate__(self, state):
        path, fmt, encoding, name, cache_dir, weights = state
        self.__init__(path, fmt, encoding, name, cache_dir)
        if weights:
            self.split_regions(weights)

    def _cache_file(self, st: os.stat_result, fmt: str) -> Path:
        key = f"{self.path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0{fmt}\0{self._codec}"
        digest = hashlib.sha256(f"{key}\0v{_VERSION}".encode()).hexdigest()[:24]
        stem = re.sub(r"[^\w.-]", "_", self.path.stem)[:40]
        return self._cache_dir / f"{stem}-{digest}.npy"

    def _load_index(self, st: os.stat_result, fmt: str):
        """The cached index memory-mapped, or None if absent or unusable."""
        try:
            arr = np.load(self._cache_file(st, fmt), mmap_mode="r")
        except (OSError, ValueError):
            return None
        ok = (arr.ndim == 2 and arr.shape[0] == 4 and arr.dtype == np.int64
              and arr[0, 0] == _MAGIC and arr[0, 1] == _VERSION
              and arr.shape[1] == _HDR + int(arr[0, 2]) + 1 and arr[2, 0] == st.st_size)
        return arr if ok else None

    def _build_index(self, st: os.stat_result, fmt: str, label: str):
        """Scan the file, check it has words, write the index atomically, map it."""
        resolved = detect_format(self.path, self.encoding) if fmt == "auto" else fmt
        scan = _Scan(resolved, self._codec, label)
        scan.run(self.path)
        if not scan.starts:
            raise CorpusError(f"corpus {label}: is empty (whitespace only); "
                              "pass a file with text in it")
        self._check_usable(scan, resolved, label)
        target = self._cache_file(st, fmt)
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

    def _check_usable(self, scan: _Scan, fmt: str, label: str) -> None:
        """Refuse a corpus whose body paragraphs hold no words (only headings/<unk>)."""
        for st, en, fl in zip(scan.starts, scan.ends, scan.flags):
            for s, e, f in zip(st.tolist(), en.tolist(), fl.tolist()):
                if f != _HEADING and self._clean(s, e, False, fmt).split():
                    return
        raise CorpusError(f"corpus {label}: has no usable words (only headings, "
                          f"<unk> or blank lines as {fmt}); pass a file with text")

    def _clean(self, s: int, e: int, head: bool, fmt: str | None = None) -> str:
        raw = self._mm[s:e].decode(self._codec, "replace")
        if (fmt or self.format) != "wikitext":
            return raw
        return (heading_text(raw) or "") if head else detokenize(raw)

    def _words(self, p: int) -> list[str]:
        """Cleaned words of paragraph ``p`` (decoded from the mmap on demand)."""
        return self._clean(int(self._starts[p]), int(self._ends[p]),
                           self._flags[p] == _HEADING).split()

    def _byte_at(self, p: int, words: list[str], i: int, end: bool) -> int:
        """Raw byte offset of word ``i`` of paragraph ``p`` (its start, or just past it).

        Exact for text/lines; for WikiText, whose cleaned words are not verbatim in
        the file, interpolated by character position inside the paragraph.
        """
        s, e = int(self._starts[p]), int(self._ends[p])
        if self.format != "wikitext":
            raw = self._mm[s:e].decode(self._codec, "replace")
            m = next(itertools.islice(_WORD.finditer(raw), i, None))
            return s + len(raw[: m.end() if end else m.start()].encode(self._codec, "replace"))
        pos = sum(len(w) for w in words[:i]) + i + (len(words[i]) if end else 0)
        total = sum(len(w) for w in words) + len(words) - 1
        return s + min(e - s, int((e - s) * pos / max(total, 1)))

    def split_regions(self, weights: dict[str, float]) -> None:
        """Cut the corpus into disjoint splits, each spread over the whole file.

        The paragraphs form K blocks of about equal bytes; inside each block the
        first share (by bytes, judged at paragraph midpoints) goes to the first
        split, the next share to the second, and so on.  K is at most 50 and
        small enough that the smallest split expects >= 2 paragraphs per block.
        """
        names = list(weights)
        w = np.array([weights[k] for k in names], float)
        if not names or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ConfigError(f"split weights must be positive numbers, got {weights!r}")
        w /= w.sum()
        n, cum = self.n_paragraphs, self._cum
        k = max(1, min(50, n // 2, int(n * w.min() / 2)))
        edges = np.searchsorted(cum[: n + 1], cum[n] * np.arange(1, k) / k)
        blocks = np.unique(np.concatenate(([0], edges, [n])))
        ranges = {name: [] for name in names}
        for lo, hi in zip(blocks[:-1].tolist(), blocks[1:].tolist()):
            mids = (cum[lo:hi] + cum[lo + 1:hi + 1]) / 2 - cum[lo]
            cuts = np.searchsorted(mids, np.cumsum(w)[:-1] * (cum[hi] - cum[lo]))
            bounds = [lo, *(lo + cuts).tolist(), hi]
            for j, name in enumerate(names):
                a, b = bounds[j], bounds[j + 1]
                if b <= a:
                    continue
                r = ranges[name]
                if r and r[-1][1] == a:
                    r[-1] = (r[-1][0], b)
                else:
                    r.append((a, b))
        for j, name in enumerate(names):
            if not ranges[name]:
                raise CorpusError(f"corpus {self.name}: too small for split {name!r} "
                                  f"({w[j]:.1%} of {n} paragraphs); use a bigger corpus "
                                  "or a larger share")
        self._regions = {}
        for name, r in ranges.items():
            lo, hi = np.array(r).T
            self._regions[name] = (lo, hi, np.cumsum(cum[hi] - cum[lo]))
        self._split_weights = dict(weights)

    def region_byte_ranges(self, split: str | None = None) -> list[tuple[int, int]]:
        """Raw byte ranges ``[start, end)`` of a split's paragraphs (for audits/tests)."""
        lo, hi, _ = self._region(split)
        return [(int(self._starts[a]), int(self._ends[b - 1])) for a, b in zip(lo, hi)]

    def _region(self, split: str | None):
        if split is None:
            return self._whole
        if split not in self._regions:
            raise ValueError(f"unknown split {split!r}; known: {sorted(self._regions)}")
        return self._regions[split]

    def sample_span(self, rng: np.random.Generator, max_words: int,
                    max_chars: int | None = None, split: str | None = None) -> Span:
        """A random run of whole words starting uniformly over the split's words.

        Reads forward across paragraph breaks until ``max_words`` words, until the
        next word would make ``text()`` longer than ``max_chars``, or until the end
        of the region.  Always at least one word.
        """
        if max_words < 1:
            raise ValueError(f"max_words must be >= 1, got {max_words}")
        p, hi, words = self._pick_paragraph(rng, self._region(split), split)
        i = int(rng.integers(len(words)))
        first, first_words = (p, i), words
        groups, cur, n, length, last = [], [], 0, -1, (p, i, words)
        while True:
            while i < len(words) and n < max_words:
                new = length + 1 + len(words[i])
                if max_chars is not None and n and new > max_chars:
                    max_words = n               # full: stop both loops
                    break
                cur.append(words[i])
                n, length, last = n + 1, new, (p, i, words)
                i += 1
            if n >= max_words or p + 1 >= hi:
                break
            p, i, words = p + 1, 0, self._words(p + 1)
            if cur and self._flags[p] != _CONTINUES:    # a real paragraph break
                groups.append(tuple(cur))
                cur = []
        if cur:
            groups.append(tuple(cur))
        start = self._byte_at(first[0], first_words, first[1], end=False)
        end = self._byte_at(last[0], last[2], last[1], end=True)
        return Span(tuple(groups), self.name, start, max(start, end))

    def _pick_paragraph(self, rng, region, split):
        """A paragraph with words, chosen with probability proportional to its bytes."""
        lo, hi, cum_bytes = region
        cum = self._cum
        for _ in range(32):
            x = int(rng.integers(int(cum_bytes[-1])))
            r = int(np.searchsorted(cum_bytes, x, side="right"))
            target = int(cum[lo[r]]) + x - (int(cum_bytes[r - 1]) if r else 0)
            p = min(max(int(np.searchsorted(cum, target, side="right")) - 1, int(lo[r])),
                    int(hi[r]) - 1)
            words = self._words(p)
            if words:
                return p, int(hi[r]), words
        for r in itertools.chain(range(r, len(lo)), range(r)):   # rare: scan in order
            for q in range(int(lo[r]), int(hi[r])):
                words = self._words(q)
                if words:
                    return q, int(hi[r]), words
        raise CorpusError(f"corpus {self.name}: split {split or 'all'} has no usable "
                          "words; use a larger share or another corpus")

    def char_counts(self, limit_bytes: int | None = None) -> collections.Counter:
        """Histogram of the cleaned text's non-whitespace characters, streamed.

        Stops after the paragraphs starting within the first ``limit_bytes`` bytes.
        """
        counts: collections.Counter = collections.Counter()
        n = self.n_paragraphs
        if limit_bytes is not None:
            n = max(1, int(np.searchsorted(self._starts[:n], limit_bytes)))
        step = 4096
        for a in range(0, n, step):
            b = min(n, a + step)
            if self.format == "wikitext":
                counts.update("".join(self._clean(int(s), int(e), f == _HEADING) for s, e, f
                                      in zip(self._starts[a:b], self._ends[a:b], self._flags[a:b])))
            else:
                s, e = int(self._starts[a]), int(self._ends[b - 1])
                counts.update(self._mm[s:e].decode(self._codec, "replace"))
        for ch in [c for c in counts if c.isspace()]:
            del counts[ch]
        return counts

    def close(self) -> None:
        """Release the memory map (the object is unusable afterwards)."""
        self._index = self._starts = self._ends = self._cum = self._flags = None
        self._mm.close()


class CorpusMix:
    """Several corpora sampled by weight, e.g. prose 0.7 + chemistry 0.3."""

    def __init__(self, corpora: list[tuple[Corpus, float]]):
        if not corpora:
            raise CorpusError("no corpus given; pass --corpus FILE[:WEIGHT]")
        for c, w in corpora:
            if not (isinstance(w, (int, float)) and math.isfinite(w) and w > 0):
                raise CorpusError(f"corpus {c.name}: weight {w!r} must be a positive number")
        self.corpora = list(corpora)
        w = np.array([w for _, w in corpora], float)
        self._cum = np.cumsum(w / w.sum())

    def sample_span(self, rng: np.random.Generator, max_words: int,
                    max_chars: int | None = None, split: str | None = None) -> Span:
        """Pick a corpus by weight (one rng draw unless there is only one), then a span."""
        k = 0
        if len(self.corpora) > 1:
            k = min(int(np.searchsorted(self._cum, rng.random(), side="right")),
                    len(self.corpora) - 1)
        return self.corpora[k][0].sample_span(rng, max_words, max_chars, split)

    def split_regions(self, weights: dict[str, float]) -> None:
        for c, _ in self.corpora:
            c.split_regions(weights)

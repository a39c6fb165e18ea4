"""Indexed text corpora, and random word spans drawn from one corpus or a weighted mix.

A corpus may be huge (WikiText-103 is 540 MB), so it is never held as Python
strings: the file is memory-mapped, described by a paragraph index, and
``sample_span`` decodes only the paragraphs a span touches. Every decoded paragraph goes
through the label text policy (:mod:`synthtext.dataset.text`: invisible characters removed,
Unicode normalised) before it is split into words, so a span's words are exactly what is
drawn and labelled; a word of invisible characters only is dropped, and a paragraph left
without words is never drawn from.

The index (one int64 ``.npy`` per file and format, cached and shared by worker processes
through ``mmap``) is built and loaded by :mod:`synthtext.corpora.index`; which files and
encodings are accepted, and how the format is guessed, is in :mod:`synthtext.corpora.formats`.
"""
from __future__ import annotations

import collections
import itertools
import math
import mmap
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthtext.corpora.formats import FORMATS, check_corpus_file, scan_codec
from synthtext.corpora.formats import parse_corpus_arg  # noqa: F401 (its old home)
from synthtext.corpora.index import CONTINUES, HEADER, HEADING, open_index
from synthtext.corpora.wikitext import detokenize, heading_text
from synthtext.dataset import cache
from synthtext.dataset.errors import ConfigError, CorpusError
from synthtext.dataset.text import SHAPING_CONTROLS, check_normalize, normalize_text, policy_words

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Span:
    """A run of whole words, grouped by paragraph, plus where it came from.

    Attributes:
        paragraphs: the words, one tuple per corpus paragraph the span touches, under the
            label text policy (WikiText detokenized first: see
            :mod:`synthtext.corpora.wikitext`); never an empty word or paragraph.
        corpus: the corpus' name (:attr:`Corpus.name`).
        byte_start, byte_end: raw byte offsets ``[start, end)`` of the span in the corpus
            file; exact for ``text``/``lines``, interpolated inside the paragraph for
            ``wikitext`` (whose cleaned words are not verbatim in the file).
    """

    paragraphs: tuple[tuple[str, ...], ...]
    corpus: str
    byte_start: int
    byte_end: int

    def text(self, paragraph_sep: str = "\n") -> str:
        """Words joined by single spaces, paragraphs by ``paragraph_sep``."""
        return paragraph_sep.join(" ".join(p) for p in self.paragraphs)

    @property
    def n_words(self) -> int:
        """Number of words over all paragraphs."""
        return sum(len(p) for p in self.paragraphs)

    def chars(self) -> set[str]:
        """Characters of the words (whitespace excluded): what a font must cover. Kept
        shaping controls (ZWJ, ZWNJ ...) are left out: they draw nothing, and HarfBuzz shapes
        them whether or not the font maps them."""
        return set("".join(itertools.chain.from_iterable(self.paragraphs))) - SHAPING_CONTROLS


class Corpus:
    """A memory-mapped corpus file with a cached paragraph index (layout: module docstring).

    Args:
        path: the text file.
        format: ``"auto"`` (:func:`~synthtext.corpora.formats.detect_format`), ``"wikitext"``
            (WikiText raw or tokenized: headings and markup cleaned), ``"text"`` (blank-line
            separated paragraphs) or ``"lines"`` (one paragraph per line).
        encoding: a Python codec name the index can scan (see
            :func:`~synthtext.corpora.formats.scan_codec`).
        name: the name spans carry (default: the file stem).
        cache_dir: where the index ``.npy`` goes (default ``<synthgen cache>/corpus-index``;
            an unwritable one falls back to a private temporary file).
        normalize: the policy's Unicode normalisation, ``"NFC"``, ``"NFKC"`` or ``"none"``
            (see :mod:`synthtext.dataset.text`).

    Attributes:
        format: the resolved format; ``sha256``: hex digest of the file; ``size_bytes``;
        ``n_paragraphs``: indexed paragraphs (one over 64 KiB is cut at whitespace into
        pieces of about 64 KiB, each counted).

    Raises:
        CorpusError: the file is missing, empty, a directory, whitespace only, not valid in
            ``encoding`` (naming the first bad byte), in an unscannable encoding, of an
            unknown ``format``, or holds no usable words (only headings, ``<unk>`` or
            invisible characters).
        ConfigError: an unknown ``normalize``.

    The object pickles as its arguments (a worker reopens the file and maps the cached
    index); call :meth:`close` to release the map.
    """

    def __init__(self, path, format: str = "auto", encoding: str = "utf-8",
                 name: str | None = None, cache_dir=None, normalize: str = "NFC"):
        self.path = Path(path)
        self.normalize = check_normalize(normalize)
        self.name = name or self.path.stem
        label = str(path)
        st = check_corpus_file(self.path, label)
        if format not in ("auto", *FORMATS):
            raise CorpusError(f"corpus {label}: unknown format {format!r}; "
                              "use auto, wikitext, text or lines")
        self.encoding = encoding
        self._codec = scan_codec(encoding, label)
        self._cache_dir = Path(cache_dir) if cache_dir else cache.cache_dir() / "corpus-index"
        self._requested = (format, encoding)        # what pickling re-opens with
        self._regions: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._split_weights: dict[str, float] | None = None
        with open(self.path, "rb") as f:
            self._mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self._index = open_index(self.path, st, format, self._codec, label, self._cache_dir)
        hdr = self._index[:, :HEADER]
        n = int(hdr[0, 2])
        self.format = FORMATS[int(hdr[0, 3]) - 1]
        self.sha256 = np.ascontiguousarray(hdr[1]).astype("<i8").tobytes().hex()
        self.size_bytes = st.st_size
        self.n_paragraphs = n
        self._starts, self._ends, self._cum, self._flags = (
            self._index[r, HEADER:HEADER + n + 1] for r in range(4))
        self._whole = (np.array([0]), np.array([n]), np.array([int(self._cum[n])]))

    def __repr__(self) -> str:
        return (f"Corpus({str(self.path)!r}, format={self.format!r}, "
                f"n_paragraphs={self.n_paragraphs})")

    def __getstate__(self):
        """Pickle as arguments (mmaps don't pickle); workers reopen via the cache."""
        return (str(self.path), *self._requested, self.name, str(self._cache_dir),
                self._split_weights, self.normalize)

    def __setstate__(self, state):
        path, fmt, encoding, name, cache_dir, weights, normalize = state
        self.__init__(path, fmt, encoding, name, cache_dir, normalize)
        if weights:
            self.split_regions(weights)

    def _clean(self, s: int, e: int, head: bool) -> str:
        """Bytes ``[s, e)`` decoded, WikiText detokenized (a heading: its title only), under
        the label text policy (whitespace kept)."""
        raw = self._mm[s:e].decode(self._codec, "replace")
        if self.format == "wikitext":
            raw = (heading_text(raw) or "") if head else detokenize(raw)
        return normalize_text(raw, self.normalize)

    def _words(self, p: int) -> list[str]:
        """Cleaned words of paragraph ``p`` (decoded from the mmap on demand)."""
        return self._clean(int(self._starts[p]), int(self._ends[p]),
                           self._flags[p] == HEADING).split()

    def _byte_at(self, p: int, words: list[str], i: int, end: bool) -> int:
        """Raw byte offset of word ``i`` of paragraph ``p`` (its start, or just past it).

        Exact for text/lines (the bounds of the raw word the cleaned word comes from); for
        WikiText, whose cleaned words are not verbatim in the file, interpolated by
        character position inside the paragraph.
        """
        s, e = int(self._starts[p]), int(self._ends[p])
        if self.format != "wikitext":
            raw = self._mm[s:e].decode(self._codec, "replace")
            m = self._raw_word(raw, len(words), i)
            return s + len(raw[: m.end() if end else m.start()].encode(self._codec, "replace"))
        pos = sum(len(w) for w in words[:i]) + i + (len(words[i]) if end else 0)
        total = sum(len(w) for w in words) + len(words) - 1
        return s + min(e - s, int((e - s) * pos / max(total, 1)))

    def _raw_word(self, raw: str, n_words: int, i: int) -> re.Match:
        """The ``\\S+`` match in ``raw`` that cleaned word ``i`` (of ``n_words``) comes from:
        the policy drops words of invisible characters, and NFKC may split one."""
        found = _WORD.finditer(raw)
        splits = self.normalize == "NFKC" and not raw.isascii()
        if not splits and n_words == len(raw.split()):      # nothing dropped: same words
            return next(itertools.islice(found, i, None))
        k = 0
        for m in found:
            k += len(policy_words(m.group(), self.normalize))
            if k > i:
                return m
        raise ValueError(f"paragraph has no cleaned word {i}")   # a caller's mistake

    def split_regions(self, weights: dict[str, float]) -> None:
        """Cut the corpus into disjoint splits, each spread over the whole file.

        The paragraphs form K blocks of about equal bytes; inside each block the
        first share (by bytes, judged at paragraph midpoints) goes to the first
        split, the next share to the second, and so on.  K is at most 50 and
        small enough that the smallest split expects >= 2 paragraphs per block.
        Deterministic: the same file and weights give the same regions in every process.

        Args:
            weights: split name -> weight (> 0; normalised), e.g. ``{"train": 0.98,
                "validation": 0.02}``.

        Raises:
            ConfigError: a weight is not a finite number > 0, or ``weights`` is empty.
            CorpusError: a split would get no paragraph (the corpus is too small).
        """
        names = list(weights)
        w = np.array([weights[k] for k in names], float)
        if not names or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ConfigError(f"--split: weights must be positive numbers, got {weights!r}")
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
        """Raw byte ranges ``[start, end)`` of a split's paragraphs (for audits/tests).

        ``split=None`` is the whole file. Raises ValueError for a split that
        :meth:`split_regions` did not make.
        """
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
        of the region.  Always at least one word (which may exceed ``max_chars``).
        The start paragraph is drawn with probability proportional to its bytes, then a
        word uniformly inside it; only ``rng`` is drawn from, so runs are reproducible.

        Args:
            rng: the sample's generator.
            max_words: word budget, >= 1.
            max_chars: character budget of ``text()`` (None: no limit).
            split: a split made by :meth:`split_regions`, or None for the whole file.

        Raises:
            ValueError: ``max_words < 1`` or an unknown ``split`` (a programming error).
            CorpusError: no paragraph of the region has a word.
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
            if cur and self._flags[p] != CONTINUES:    # a real paragraph break
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

        Counts what spans would contain (under the label text policy; WikiText
        detokenized, headings cleaned), 4096
        paragraphs at a time. With ``limit_bytes``, stops after the paragraphs starting
        within the first ``limit_bytes`` bytes of the file (at least one paragraph).
        """
        counts: collections.Counter = collections.Counter()
        n = self.n_paragraphs
        if limit_bytes is not None:
            n = max(1, int(np.searchsorted(self._starts[:n], limit_bytes)))
        step = 4096
        for a in range(0, n, step):
            b = min(n, a + step)
            if self.format == "wikitext":
                counts.update("".join(self._clean(int(s), int(e), f == HEADING) for s, e, f
                                      in zip(self._starts[a:b], self._ends[a:b], self._flags[a:b])))
            else:
                s, e = int(self._starts[a]), int(self._ends[b - 1])
                counts.update(normalize_text(self._mm[s:e].decode(self._codec, "replace"),
                                             self.normalize))
        for ch in [c for c in counts if c.isspace()]:
            del counts[ch]
        return counts

    def close(self) -> None:
        """Release the memory map (the object is unusable afterwards)."""
        self._index = self._starts = self._ends = self._cum = self._flags = None
        self._mm.close()


class CorpusMix:
    """Several corpora sampled by weight, e.g. prose 0.7 + chemistry 0.3.

    Args:
        corpora: ``(Corpus, weight)`` pairs; weights are normalised.

    Raises:
        CorpusError: the list is empty, or a weight is not a finite number > 0.
    """

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
        """Pick a corpus by weight (one rng draw unless there is only one), then a span.

        Arguments and errors as :meth:`Corpus.sample_span`.
        """
        k = 0
        if len(self.corpora) > 1:
            k = min(int(np.searchsorted(self._cum, rng.random(), side="right")),
                    len(self.corpora) - 1)
        return self.corpora[k][0].sample_span(rng, max_words, max_chars, split)

    def split_regions(self, weights: dict[str, float]) -> None:
        """Cut every corpus into the same splits (see :meth:`Corpus.split_regions`)."""
        for c, _ in self.corpora:
            c.split_regions(weights)

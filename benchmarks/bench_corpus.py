"""Corpus throughput per core: WikiText detokenization and span sampling.

    python benchmarks/bench_corpus.py [--lines 20000] [--spans 20000]

Everything runs in one process (one core). Printed, each with a baseline measured in the
same process and the ratio:

- detokenize: lines/s over the WikiText-2 test set (the shared copy, else the embedded
  sample corpus), and µs for one long line of 12 markup-heavy clauses (target < 2000 µs,
  the limit tests/test_wikitext.py used to assert). Baseline: whitespace
  normalisation alone (``" ".join(line.split())``), the least any cleaner does.
- spans: 12-word spans/s drawn by ``Corpus.sample_span`` from the memory-mapped paragraph
  index. Baseline: 12-word slices of the whole corpus held as an in-memory word list (what
  loading the corpus into RAM, as TRDG and SynthTIGER do, would buy).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from synthtext.corpora.corpus import Corpus
from synthtext.corpora.wikitext import detokenize
from synthtext.render.config import embedded_corpus_path

_WIKI = Path(__file__).resolve().parents[2] / "shared/data/corpora/wikitext-2-raw.test.txt"
CORPUS = _WIKI if _WIKI.exists() else Path(embedded_corpus_path())
LONG_LINE = " ".join(['The " <unk> " of 1 @,@ 000 men ( led by Teddy \'s guest @-@ star ) ,'] * 12)
SPAN_WORDS = 12


def per_second(fn, items: list) -> float:
    """Items/s of ``fn`` applied to every item once (after one warm-up call)."""
    fn(items[0])
    t0 = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - t0)


def detokenize_rates(n: int) -> tuple[float, float, float]:
    """(detokenize lines/s, baseline lines/s, µs for LONG_LINE) over ``n`` corpus lines."""
    lines = [ln for ln in CORPUS.read_text(encoding="utf-8").splitlines() if ln.strip()]
    lines = (lines * (n // len(lines) + 1))[:n]
    ours = per_second(detokenize, lines)
    base = per_second(lambda s: " ".join(s.split()), lines)
    long_us = 1e6 / per_second(detokenize, [LONG_LINE] * 200)
    return ours, base, long_us


def span_rates(n: int) -> tuple[float, float]:
    """(Corpus.sample_span spans/s, in-memory word-list spans/s) for ``n`` 12-word spans."""
    with tempfile.TemporaryDirectory() as cache:
        corpus = Corpus(CORPUS, cache_dir=cache)  # the index is built here, not timed
        rng = np.random.default_rng(0)
        ours = per_second(lambda _: corpus.sample_span(rng, SPAN_WORDS), range(n))
        words = " ".join(detokenize(ln) for ln in
                         CORPUS.read_text(encoding="utf-8").splitlines()).split()
        corpus.close()
    rng = np.random.default_rng(0)

    def in_memory(_):
        i = int(rng.integers(len(words) - SPAN_WORDS))
        return " ".join(words[i:i + SPAN_WORDS])
    return ours, per_second(in_memory, range(n))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=20000)
    ap.add_argument("--spans", type=int, default=20000)
    args = ap.parse_args()
    print(f"corpus: {CORPUS}")
    ours, base, long_us = detokenize_rates(args.lines)
    print(f"detokenize: {ours:,.0f} lines/s per core; baseline whitespace normalisation "
          f"{base:,.0f} lines/s (detokenize costs {base / ours:.1f}x the baseline)")
    print(f"detokenize: {long_us:.0f} µs for a 12-clause markup line  target < 2000")
    spans, mem = span_rates(args.spans)
    print(f"spans: {spans:,.0f} {SPAN_WORDS}-word spans/s per core from the mmap index; "
          f"baseline in-memory word list {mem:,.0f}/s ({mem / spans:.1f}x faster, at the "
          "cost of holding the corpus in RAM)")


if __name__ == "__main__":
    main()

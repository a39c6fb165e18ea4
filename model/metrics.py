"""CER and WER on decoded strings (never on token-index strings), micro-averaged.

Normalisation, decided once and used by validation and ``fphtr eval``:

- **CER**: Levenshtein distance between the exact reference and hypothesis *symbol
  sequences*, summed over samples and divided by the summed reference length. A symbol is one
  character — space, indentation spaces and ``\\n`` included, nothing is collapsed or
  stripped — except that a region tag (e.g. ``<math>``) is one symbol, as in the vocabulary.
- **WER**: the same on word sequences, where words are the text split at any whitespace:
  ``\\n`` separates words like a space does, repeated spaces and indentation do not count,
  and a region tag is a word of its own (it is split off even when glued to a word).

Distances run over lists of strings, so "12"+"3" and "1"+"23" are different sequences (one
public repository joined token indices into strings and got them equal). Note that jiwer's
WER splits on spaces only (``jiwer.wer('a b\\nc', 'a b c') == 1.0``); here it is 0.
"""

from __future__ import annotations

from collections import defaultdict

from rapidfuzz.distance import Levenshtein

from .vocab import split_symbols


def char_symbols(text: str, tags=()) -> list[str]:
    """``text`` as CER symbols: characters, each region tag in ``tags`` one symbol."""
    return split_symbols(text, tags)


def words(text: str, tags=()) -> list[str]:
    """Whitespace-separated words; region tags become words of their own."""
    if tags:
        for tag in tags:
            text = text.replace(tag, f" {tag} ")
    return text.split()


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance (unit costs) between two symbol or word sequences."""
    return Levenshtein.distance(ref, hyp)


def cer(refs, hyps, tags=()) -> float:
    """Micro-averaged character error rate of two lists of strings (a fraction, not %).

    Raises:
        ValueError: ``refs`` and ``hyps`` differ in length.
    """
    return _rates(refs, hyps, tags)["cer"]


def wer(refs, hyps, tags=()) -> float:
    """Micro-averaged word error rate of two lists of strings (a fraction, not %).

    Raises:
        ValueError: ``refs`` and ``hyps`` differ in length.
    """
    return _rates(refs, hyps, tags)["wer"]


def _rates(refs, hyps, tags) -> dict:
    m = Metrics(tags)
    for r, h in zip(refs, hyps, strict=True):
        m.add(r, h)
    return m.result()


class Metrics:
    """Accumulates edit distances overall and per source; ``result()`` gives the rates."""

    def __init__(self, tags=()):
        self.tags = tuple(tags)
        self.sums = defaultdict(lambda: [0, 0, 0, 0, 0])  # char err, chars, word err, words, n

    def add(self, ref: str, hyp: str, source: str = "all") -> None:
        """Add one (reference, hypothesis) pair, overall and to ``source``."""
        rc, hc = char_symbols(ref, self.tags), char_symbols(hyp, self.tags)
        rw, hw = words(ref, self.tags), words(hyp, self.tags)
        row = [edit_distance(rc, hc), len(rc), edit_distance(rw, hw), len(rw), 1]
        for key in {"*", source}:
            acc = self.sums[key]
            for i, v in enumerate(row):
                acc[i] += v

    @staticmethod
    def _rates(acc) -> dict:
        ce, cn, we, wn, n = acc
        return {"cer": ce / cn if cn else float(ce > 0), "wer": we / wn if wn else float(we > 0),
                "n": n, "chars": cn, "words": wn}

    def result(self) -> dict:
        """``cer``, ``wer`` (fractions), ``n`` pairs, ``chars``, ``words``, and the same
        per source under ``per_source``. With an empty reference, a rate is 1.0 if the
        hypothesis has any symbol, else 0.0."""
        out = self._rates(self.sums["*"]) if "*" in self.sums else self._rates([0] * 5)
        out["per_source"] = {k: self._rates(v) for k, v in sorted(self.sums.items())
                             if k != "*"}
        return out

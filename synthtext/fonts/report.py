"""What `synthgen fonts list` and `synthgen fonts check` report: the manifest's fonts with
their install state, and how well the installed fonts render a corpus.

`check` answers before a long render what will be resampled or stripped: per font, the
share of the corpus' characters (by occurrence) and of its distinct characters it renders,
the symbol fonts that render nothing (their glyphs are not the characters their cmap
claims: symbols.py), and the characters that no font renders, with their counts
(renderable = charset.py's rule: in the cmap, drawing something other than `.notdef`, and
not drawn as another character).
"""
from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from synthtext.corpora.corpus import Corpus
from synthtext.fonts.fontset import FontSet, FontSpec
from synthtext.fonts.manifest import COVERAGE_KEYS, Manifest, fonts_cache_dir, locate

COVERAGE_LABELS = {"basic_latin": "ascii", "latin1_supplement": "latin1",
                   "latin_extended_a": "latinA", "greek": "greek"}


def list_rows(manifest: Manifest, only: str | None = None, cache=None) -> list[dict]:
    """One row per entry of selection `only`: id, family, category, cursive, license,
    installed (verified file found), rejected (why a file failed its sha256, or None),
    coverage (block -> fraction) and basic_latin_missing."""
    cache = fonts_cache_dir(cache)
    rows = []
    for e in manifest.select(only):
        found = locate(e, manifest.path.parent, cache)
        rows.append({"id": e["id"], "family": e["family"], "category": e["category"],
                     "cursive": e["cursive"], "license": e.get("license", "unknown"),
                     "installed": found.path is not None,
                     "rejected": found.problem or None,
                     "coverage": e.get("coverage", {}),
                     "basic_latin_missing": e.get("basic_latin_missing", "")})
    return rows


def _table(header: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = lambda r: "  ".join((str(c).rjust(w) if i in right else str(c).ljust(w))
                              for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    return "\n".join([fmt(header), *map(fmt, rows)])


def format_rows(rows: list[dict]) -> str:
    """The `fonts list` table of list_rows' rows; coverage as whole percentages per block,
    `*` after a cursive font's category."""
    header = ["id", "family", "category", "license", "installed",
              *COVERAGE_LABELS.values()]

    def pct(r, k):
        v = r["coverage"].get(k)
        return "-" if v is None else f"{100 * v:.0f}%"
    body = [[r["id"], r["family"], r["category"] + ("*" if r["cursive"] else ""),
             r["license"], "REJECTED" if r["rejected"] else ("yes" if r["installed"] else "no"),
             *(pct(r, k) for k in COVERAGE_KEYS)] for r in rows]
    return _table(header, body, right=set(range(5, 5 + len(COVERAGE_KEYS))))


@dataclass
class CheckReport:
    """What `fonts check` found: per-font coverage of a histogram, and what no font has."""

    total: int                                   # character occurrences (no whitespace)
    counts: Counter
    fonts: list[tuple[FontSpec, float, int]] = field(default_factory=list)
    # (font, share of occurrences rendered, distinct characters rendered)
    missing: list[tuple[str, int]] = field(default_factory=list)
    symbols: list[tuple[FontSpec, str]] = field(default_factory=list)
    # (symbol font, why): skipped, they render nothing


def check_counts(counts: Counter, font_set: FontSet) -> CheckReport:
    """Per-font coverage of a character histogram (whitespace dropped), and what no font
    renders; fonts sorted by share of occurrences (highest first), missing characters by
    count."""
    counts = Counter({c: n for c, n in counts.items() if not c.isspace()})
    total = sum(counts.values())
    report = CheckReport(total, counts, symbols=list(font_set.symbol_fonts))
    for i, spec in enumerate(font_set.specs):
        charset = font_set.charset(i)
        have = [c for c in counts if c in charset]
        share = sum(counts[c] for c in have) / total if total else 1.0
        report.fonts.append((spec, share, len(have)))
    report.fonts.sort(key=lambda t: (-t[1], t[0].id))
    gone = font_set.uncovered(counts)
    report.missing = sorted(((c, counts[c]) for c in gone), key=lambda t: (-t[1], t[0]))
    return report


def _char_name(c: str) -> str:
    return unicodedata.name(c, "unnamed").lower()


def format_report(report: CheckReport, corpus: str, top: int | None = None) -> str:
    """The `fonts check` text: the font table (the first `top` rows, None = all), the
    symbol fonts skipped and why, then the characters nobody renders with code point, count
    and Unicode name."""
    n_fonts, distinct = len(report.fonts), len(report.counts)
    lines = [f"corpus {corpus}: {report.total:,} characters, {distinct:,} distinct "
             f"(whitespace not counted); {n_fonts} fonts"]
    shown = report.fonts if top is None else report.fonts[:top]
    body = [[s.id, s.family, s.category, f"{100 * share:.3f}%", f"{k}/{distinct}"]
            for s, share, k in shown]
    if body:
        lines.append(_table(["font", "family", "category", "chars", "distinct"], body,
                            right={3, 4}))
    if top is not None and n_fonts > top:
        lines.append(f"… {n_fonts - top} more fonts (--top to show more)")
    if report.symbols:
        lines.append(f"symbol fonts, skipped: {len(report.symbols)} (their glyphs are not "
                     "the characters their cmap claims)")
        lines += [f"  {s.id}  {Path(s.path).name}: {why}" for s, why in report.symbols]
    if not report.missing:
        lines.append(f"every character is rendered by at least one of the {n_fonts} fonts")
        return "\n".join(lines)
    occ = sum(n for _, n in report.missing)
    lines.append(f"not rendered by any of the {n_fonts} fonts: {len(report.missing)} "
                 f"distinct characters, {occ:,} occurrences ({100 * occ / report.total:.3f}%"
                 " of the corpus; --missing-glyphs resample|strip decides what happens)")
    lines += [f"  U+{ord(c):04X}  {c}  {n:>9,}  {_char_name(c)}" for c, n in report.missing]
    return "\n".join(lines)


def corpus_counts(path, fmt: str = "auto", encoding: str = "utf-8") -> tuple[Counter, str]:
    """The character histogram of a corpus as render sees it (WikiText cleaned, whitespace
    not counted), and the file name for the report.

    Raises:
        CorpusError: the corpus cannot be opened (see synthtext.corpora.corpus.Corpus).
    """
    corpus = Corpus(path, format=fmt, encoding=encoding)
    try:
        return corpus.char_counts(), Path(path).name
    finally:
        corpus.close()

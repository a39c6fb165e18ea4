"""WikiText lines -> natural text.

The WikiText releases (Merity et al., 2016, "Pointer Sentinel Mixture Models"; raw and
tokenized) split punctuation into its own tokens, write intra-word joiners as
``@-@ @,@ @.@`` and, in the tokenized release, replace rare words by ``<unk>``.
Rendering that verbatim would teach a handwriting model to read spaced commas and
at-signs, so every sampled line goes through :func:`detokenize` first.

Choices:

* ``<unk>`` tokens are DROPPED, not replaced by a placeholder word: any
  placeholder would be a fake word the model learns to "read".  Spacing around
  the hole is repaired, and brackets left empty by the removal (``( <unk> )``)
  go too.  The sentence may read slightly ungrammatically; that is acceptable
  for recognition training, where only the ink has to match the label.
* Straight double quotes alternate open/close within a line.  A standalone
  single quote pairs with the next one when at most six words separate them
  (``' box battery '`` -> ``'box battery'``); otherwise it is an apostrophe,
  attached to the previous word after an ``s`` (``Boys '`` -> ``Boys'``) and to
  the next word elsewhere (``' 90s`` -> ``'90s``).
* Everything is regex/str based: it runs on every paragraph a span touches
  (benchmarks/bench_corpus.py measures it).
"""
from __future__ import annotations

import re

_JOINER = re.compile(r" ?@(\S)@ ?")          # any @x@ left after the three common ones
_UNK_BRACKETS = re.compile(r"[(\[{] ?(?:<unk> ?[,;]? ?)+[)\]}]|(?<!\S)' (?:<unk> )+'(?!\S)")
_UNK = re.compile(r"<unk>(?: '[sS](?= |$))?")
_EMPTY_BRACKETS = re.compile(r"\( ?\)|\[ ?\]|\{ ?\}")
_CLITIC = re.compile(r" (?=(?:'[sSdDmM]|n't|N'T|'re|'RE|'ve|'VE|'ll|'LL)(?:[^\w']|$))")
_SPLIT_S = re.compile(r" ' s(?= |$)")         # "U.S. ' s" in the tokenized release
# Patterns start with a literal so the regex engine can skip ahead (3x faster);
# the text is whitespace-normalised first, so " " is the only separator.
_DQUOTE = re.compile(r'"(?<![^ ].)(?![^ ])')
_SQUOTE = re.compile(r"'(?<![^ ].)(?![^ ])")
_NO_SPACE_BEFORE = re.compile(r" (?=[,;:!?)\]}%]|\.+(?:[^\w]|$))")   # not before .45
_NO_SPACE_AFTER = re.compile(r"([(\[{$£€])(?<![^ \"'].) ")
_MAX_SQUOTE_WORDS = 6
_CLOSERS = ",.;:!?)]}%"


def detokenize(raw_line: str) -> str:
    """One WikiText line (raw or tokenized release) as natural text, stripped and with
    single spaces; the rules are in the module docstring."""
    s = raw_line.strip()
    if "  " in s or "\t" in s or "\r" in s or "\n" in s:
        s = " ".join(s.split())
    if "@" in s:
        s = s.replace(" @-@ ", "-").replace(" @,@ ", ",").replace(" @.@ ", ".")
        if "@" in s:
            s = _JOINER.sub(r"\1", s)
    if "<unk>" in s:
        s = _UNK_BRACKETS.sub("", s)
        s = _UNK.sub("", s)
        s = _EMPTY_BRACKETS.sub("", " ".join(s.split()))
    if "'" in s:
        s = _pair_single_quotes(_CLITIC.sub("", _SPLIT_S.sub("'s", s)))
    if '"' in s:
        s = _pair_double_quotes(s)
    if "  " in s:
        s = " ".join(s.split())
    s = _NO_SPACE_BEFORE.sub("", s)
    s = _NO_SPACE_AFTER.sub(r"\1", s)
    return " ".join(s.split())


def _pair_double_quotes(s: str) -> str:
    """Alternate standalone ``"`` tokens: opening sticks right, closing sticks left."""
    parts = _DQUOTE.split(s)
    if len(parts) == 1:
        return s
    out, k = parts[0], 1
    while k < len(parts):
        inside = parts[k]
        if k + 1 < len(parts):
            if inside.strip():   # a quote pair emptied by <unk> removal vanishes
                out = f'{out} "{inside.strip()}" '
            out += parts[k + 1]
            k += 2
        elif any(c.isalnum() for c in inside):   # unbalanced: opens the rest
            out = f'{out} "{inside.lstrip()}'
            k += 1
        else:                    # unbalanced before punctuation: closes the last word
            out = f'{out.rstrip()}"{inside}'
            k += 1
    return out


def _pair_single_quotes(s: str) -> str:
    """Pair close standalone ``'`` tokens as quotes; treat the rest as apostrophes."""
    parts = _SQUOTE.split(s)
    if len(parts) == 1:
        return s
    out, k = parts[0], 1
    while k < len(parts):
        inside = parts[k]
        words = inside.split()
        prev = out.rstrip()
        if (k + 1 < len(parts) and 0 < len(words) <= _MAX_SQUOTE_WORDS
                and words[0][0] not in _CLOSERS and prev[-1:] != "-"):
            out = f"{out} '{inside.strip()}' {parts[k + 1]}"
            k += 2
            continue
        if not words or words[0][0] in _CLOSERS or prev[-1:] in ("s", "S", "z", "x"):
            out = f"{prev}' {inside}"      # possessive: Boys'
        else:
            out = f"{out} '{inside.lstrip()}"   # elision: '90s
        k += 1
    return out


def heading_text(line: str) -> str | None:
    """Title of a heading line (`` = T = ``, `` = = T = = ``...), detokenized; else None.

    The number of ``=`` on both sides must agree, which keeps ordinary lines
    that merely start and end with ``=`` out.
    """
    t = line.strip()
    if not (t.startswith("=") and t.endswith("=")):
        return None
    body = t.lstrip("= \t")
    if not body:                  # "= = = =": a heading whose title is empty
        return "" if t.count("=") >= 2 else None
    title = body.rstrip("= \t")
    if t[: len(t) - len(body)].count("=") != body[len(title):].count("="):
        return None
    return detokenize(title)

"""Character error rate on domain terms alone (IUPAC-like chemistry tokens).

Overall CER hides what domain retraining is for: a model can read "the" perfectly and still
mangle "(2S,3R)-2-amino-3-hydroxybutanoic". A *domain term* is a whitespace-separated word
of the reference that has a digit, an inner hyphen, a bracket or comma inside it (locants:
``2,3-``, ``(R)-``), or a Greek letter; the edits of a character alignment between reference
and hypothesis that touch a term's characters are charged to that term.
"""

from __future__ import annotations

import re

from rapidfuzz.distance import Levenshtein

_GREEK = "\u0370-\u03ff\u1f00-\u1fff"
_TERM = re.compile(rf"(\d|\w-\w|[\[\](){{}}]|\w,\w|[{_GREEK}])")
_WORD = re.compile(r"\S+")


def is_domain_term(word: str) -> bool:
    """Whether ``word`` (sentence punctuation at its ends ignored) is a domain term."""
    return bool(_TERM.search(word.strip(".;:!?\"'")))


def term_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges ``[start, end)`` of the domain terms in ``text``."""
    return [m.span() for m in _WORD.finditer(text) if is_domain_term(m.group())]


def term_errors(ref: str, hyp: str) -> tuple[int, int]:
    """(edits charged to domain terms, characters in domain terms) for one pair.

    Substitutions and deletions are charged to the reference character they touch; an
    insertion is charged to a term when it falls strictly inside the term or at its end.
    """
    spans = term_spans(ref)
    if not spans:
        return 0, 0
    inside = [False] * (len(ref) + 1)
    for a, b in spans:
        for i in range(a, b):
            inside[i] = True
    edits = 0
    for op in Levenshtein.editops(ref, hyp):
        pos = op.src_pos
        if op.tag in ("replace", "delete"):
            edits += inside[pos]
        else:  # insert before ref[pos]: inside a term, or right after its last character
            edits += inside[pos] or (pos > 0 and inside[pos - 1])
    return edits, sum(b - a for a, b in spans)


def domain_cer(pairs) -> dict:
    """Micro-averaged CER over the domain terms of ``(ref, hyp)`` pairs.

    Returns:
        ``term_cer`` (edits / term characters, a fraction; 0.0 without terms),
        ``term_chars`` and ``terms`` (counts over the references).
    """
    edits = chars = terms = 0
    for ref, hyp in pairs:
        e, c = term_errors(ref, hyp)
        edits, chars = edits + e, chars + c
        terms += len(term_spans(ref))
    return {"term_cer": edits / chars if chars else 0.0, "term_chars": chars, "terms": terms}

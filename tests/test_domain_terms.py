"""CER on domain terms: only the edits inside IUPAC-like words count."""

import pytest

pytest.importorskip("rapidfuzz")

from model.domain_terms import domain_cer, is_domain_term, term_errors, term_spans  # noqa: E402


def test_what_counts_as_a_domain_term():
    for w in ("(2S)-2-amino", "3", "α-helix;", "1,2-diol", "[Fe(CN)6]"):
        assert is_domain_term(w), w
    for w in ("water", "the", "plain", "acid."):
        assert not is_domain_term(w), w


def test_edits_outside_terms_are_not_charged():
    assert term_errors("is a 2-amino acid", "is b 2-amino acld") == (0, 7)
    assert term_errors("is a 2-amino acid", "is a 3-amlno acid") == (2, 7)
    assert term_errors("a 2-amino", "a 2-amino-x") == (2, 7)  # insertion at a term's end
    assert term_spans("no terms here") == []


def test_micro_average_over_pairs():
    r = domain_cer([("is a 2-amino acid", "is a 3-amlno acid"), ("plain", "plan")])
    assert r == {"term_cer": 2 / 7, "term_chars": 7, "terms": 1}

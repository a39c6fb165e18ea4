"""WikiText detokenization: spans must read like natural text, never like markup."""
import random

import pytest

from synthtext.corpora.wikitext import detokenize, heading_text


@pytest.mark.parametrize("raw, expected", [
    # markup, tokenizer spacing, quotes and clitics
    ("He had a guest @-@ starring role", "He had a guest-starring role"),
    ("in 1 @,@ 000 cases and 3 @.@ 5 kg .", "in 1,000 cases and 3.5 kg."),
    ('a role as " Craig " in the episode " Teddy \'s Story " of', 'a role as "Craig" in the episode "Teddy\'s Story" of'),
    ("I do n't know , they 're ( mostly ) right [ sic ] !", "I don't know, they're (mostly) right [sic]!"),
    ("costs $ 5 , or 50 % ; ok ? yes : no", "costs $5, or 50%; ok? yes: no"),
    ("we 've , you 'll , I 'd , I 'm", "we've, you'll, I'd, I'm"),
    ("the Beach Boys ' \" Surfer Girl \" , Elvis", "the Beach Boys' \"Surfer Girl\", Elvis"),
    ("called the ' box @-@ battery ' or ' centre battery '", "called the 'box-battery' or 'centre battery'"),
    ("He said : \" Hello . \" Then left .", 'He said: "Hello." Then left.'),
    ("  spaced   out \r\n", "spaced out"),
    ("", ""),
    # <unk> is dropped (never a placeholder word) and the spacing around it repaired
    ("a species of <unk> lobster , from", "a species of lobster, from"),
    ("a hard <unk> , which", "a hard, which"),
    ("a process called <unk> ( <unk> ) .", "a process called."),
    ("the <unk> 's shell", "the shell"),
    ('the " <unk> " , and', "the, and"),
    ("<unk> <unk>", ""),
])
def test_detokenize_examples(raw, expected):
    assert detokenize(raw) == expected


@pytest.mark.parametrize("line, title", [
    (" = Robert Boulter = \r\n", "Robert Boulter"),
    (" = = Career = = ", "Career"),
    (" = = = 2000 @-@ 2005 = = = ", "2000-2005"),
    (" = = <unk> = = ", ""),
    (" Robert Boulter is an English actor . ", None),
    (" = = unbalanced = ", None),
    (" x = 1 = ", None),
    ("", None),
])
def test_heading_text(line, title):
    assert heading_text(line) == title


def test_no_markup_survives_token_soup():
    """Random mixes of WikiText tokens never leave @x@, <unk> or space-before-comma."""
    tokens = ["word", "Alpha", "@-@", "@,@", "@.@", "<unk>", ",", ".", ";", ":", "(", ")",
              '"', "'", "'s", "n't", "$", "%", "[", "]", "1", "=", "–"]
    rnd = random.Random(0)
    for _ in range(3000):
        line = " " + " ".join(rnd.choice(tokens) for _ in range(rnd.randint(0, 30))) + " \r\n"
        out = detokenize(line)
        assert "<unk>" not in out and " ," not in out and "  " not in out
        assert not any(f"@{c}@" in out for c in "-,.")
        assert out == out.strip()


def test_long_line_is_cleaned_clause_by_clause():
    """A long line of repeated clauses cleans to the clean clause repeated: quote pairing and
    <unk> removal never reach across clauses. (Its speed is in benchmarks/bench_corpus.py.)"""
    clause = 'The " <unk> " of 1 @,@ 000 men ( led by Teddy \'s guest @-@ star ) ,'
    clean = "The of 1,000 men (led by Teddy's guest-star),"
    assert detokenize(" ".join([clause] * 12)) == " ".join([clean] * 12)

"""Corpus indexing and span sampling: whole words, clean text, splits that never mix."""
import pickle
import re
import time
from pathlib import Path

import numpy as np
import pytest

import synthtext.corpora.index as corpus_index
from synthtext.corpora.corpus import Corpus, CorpusMix, Span, parse_corpus_arg
from synthtext.corpora.formats import detect_format
from synthtext.dataset.errors import ConfigError, CorpusError, UserError

# WikiText markup, and tokenizer spacing that natural text never has (" .5" is fine)
MARKUP = re.compile(r"@[-,.]@|<unk>| [,;%)]| \.(?!\d)| 's\b| n't\b|\( ")
RAW_MARKUP = re.compile(r"@[-,.]@|<unk>")
REAL = Path(__file__).resolve().parents[2] / "shared/data/corpora"
PID = re.compile(r"p(\d+)w(\d+)$")

WIKI_PARAS = [
    'He had a guest @-@ starring role in 2000 . In 2004 he played " Craig " in " Teddy \'s Story " ;',
    "The ship weighed 1 @,@ 000 tons and made 3 @.@ 5 knots ( 6 @.@ 5 km / h ) , and cost $ 5 million .",
    "The Beach Boys ' \" Surfer Girl \" was called a ' perfect ' song , 50 % of critics did n't agree .",
]
UNK_PARAS = ["Homarus is a species of <unk> lobster , from the <unk> ( <unk> ) Sea .",
             "Its claws are <unk> 's pride ; the \" <unk> \" is used for crushing prey ."]


def write(path: Path, text: str, encoding="utf-8", newline="\n") -> Path:
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


def wiki_text(n_articles=30, tokenized=False) -> str:
    """A WikiText-like file: blank lines, = headings =, tokenized paragraphs."""
    paras = WIKI_PARAS + (UNK_PARAS if tokenized else [])
    out = [" "]
    for a in range(n_articles):
        out += [f" = Article {a} = ", " "]
        for s in range(3):
            out += [f" = = Section {a} @-@ {s} = = ", " "]
            out += [" " + paras[(a + s + k) % len(paras)] + " " for k in range(2)] + [" "]
    return "\n".join(out) + "\n"


def id_text(n_par=200, sep="\n\n", words=(3, 40), seed=0) -> str:
    """Paragraphs of unique words p<i>w<j>: every word says where it came from."""
    rnd = np.random.default_rng(seed)
    paras = []
    for i in range(n_par):
        ws = [f"p{i}w{j}" for j in range(int(rnd.integers(*words)))]
        if sep == "\n\n":   # single newlines inside a 'text' paragraph are spaces
            ws = [w + ("\n" if j % 7 == 6 else "") for j, w in enumerate(ws)]
        paras.append(" ".join(ws).replace("\n ", "\n"))
    return sep.join(paras) + "\n"


def ids(span: Span) -> list[tuple[int, int]]:
    return [tuple(map(int, PID.match(w).groups())) for p in span.paragraphs for w in p]


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


# -- formats and cleaning --------------------------------------------------------------
def test_detect_format(tmp_path):
    assert detect_format(write(tmp_path / "w.txt", wiki_text())) == "wikitext"
    assert detect_format(write(tmp_path / "t.txt", wiki_text(tokenized=True).replace("=", ""))) \
        == "wikitext"      # <unk> and @-@ alone are enough
    assert detect_format(write(tmp_path / "p.txt", id_text(50, "\n\n"))) == "text"
    assert detect_format(write(tmp_path / "l.txt", id_text(50, "\n"))) == "lines"


@pytest.mark.parametrize("tokenized", [False, True])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_wikitext_spans_have_no_markup(tmp_path, cache, tokenized, newline):
    path = write(tmp_path / "wiki.txt", wiki_text(tokenized=tokenized), newline=newline)
    c = Corpus(path, cache_dir=cache)
    assert c.format == "wikitext"
    rng = np.random.default_rng(1)
    for _ in range(2000):
        span = c.sample_span(rng, int(rng.integers(1, 80)))
        text = span.text()
        assert not MARKUP.search(text), text
        assert "\r" not in text and "=" not in text
        assert all(w and not w.isspace() for p in span.paragraphs for w in p)
        assert all(span.paragraphs)
        assert 0 <= span.byte_start <= span.byte_end <= c.size_bytes


def test_headings_become_their_own_paragraph(tmp_path, cache):
    text = " \n = Big Title = \n \n Body one . \n \n = = Sub @-@ part = = \n Body two .\n"
    c = Corpus(write(tmp_path / "w.txt", text), cache_dir=cache)
    assert c.n_paragraphs == 4
    rng = np.random.default_rng(0)
    seen = {c.sample_span(rng, 50).paragraphs for _ in range(200)}
    assert (("Big", "Title"), ("Body", "one."), ("Sub-part",), ("Body", "two.")) in seen


def test_text_format_joins_lines_and_splits_on_blank_lines(tmp_path, cache):
    text = "first line\nsame paragraph\n\n  \n\tsecond  paragraph\r\n\nthird\n"
    c = Corpus(write(tmp_path / "t.txt", text), format="text", cache_dir=cache)
    assert c.n_paragraphs == 3
    rng = np.random.default_rng(0)
    spans = {c.sample_span(rng, 10).paragraphs for _ in range(100)}
    assert (("first", "line", "same", "paragraph"), ("second", "paragraph"), ("third",)) in spans


def test_block_boundaries_do_not_change_the_index(tmp_path, monkeypatch):
    """Paragraphs that straddle the 16 MB scan blocks are stitched back together."""
    for sep, fmt in (("\n\n", "text"), ("\n", "lines")):
        path = write(tmp_path / f"{fmt}.txt", "\ufeff" + id_text(60, sep))
        ref = Corpus(path, format=fmt, cache_dir=tmp_path / "a")
        monkeypatch.setattr(corpus_index, "_BLOCK", 37)
        small = Corpus(path, format=fmt, cache_dir=tmp_path / "b")
        monkeypatch.undo()
        assert np.array_equal(ref._index, small._index) and ref.n_paragraphs == 60
        assert ref.sha256 == small.sha256


# -- spans -----------------------------------------------------------------------------
@pytest.mark.parametrize("sep", ["\n\n", "\n"])
@pytest.mark.parametrize("max_par", [None, 45])
def test_spans_are_runs_of_whole_words(tmp_path, cache, monkeypatch, sep, max_par):
    """Also with over-long paragraphs indexed as pieces: no break appears between them."""
    path = write(tmp_path / "ids.txt", "\ufeff" + id_text(120, sep))
    raw = path.read_bytes()
    if max_par:
        monkeypatch.setattr(corpus_index, "_MAX_PAR", max_par)
    c = Corpus(path, cache_dir=cache)
    assert (c.n_paragraphs > 120) == bool(max_par)
    rng = np.random.default_rng(2)
    n_par_words = {}
    for line in raw.decode("utf-8-sig").split():
        i, j = map(int, PID.match(line).groups())
        n_par_words[i] = max(n_par_words.get(i, 0), j + 1)
    for _ in range(500):
        span = c.sample_span(rng, int(rng.integers(1, 120)))
        got = ids(span)
        for (i0, j0), (i1, j1) in zip(got, got[1:]):     # consecutive words of the corpus
            assert (i1, j1) == (i0, j0 + 1) or (i1 == i0 + 1 and j1 == 0 and j0 == n_par_words[i0] - 1)
        assert [len(p) for p in span.paragraphs] == [
            sum(1 for i, _ in got if i == k) for k in sorted({i for i, _ in got})]
        assert raw[span.byte_start:span.byte_end].decode().split() == span.text().split()


def test_max_words_and_max_chars(tmp_path, cache):
    c = Corpus(write(tmp_path / "ids.txt", id_text(100)), cache_dir=cache)
    rng = np.random.default_rng(3)
    for _ in range(500):
        mw, mc = int(rng.integers(1, 60)), int(rng.integers(1, 200))
        s = c.sample_span(rng, mw)
        assert 1 <= s.n_words <= mw
        s = c.sample_span(rng, mw, max_chars=mc)
        assert 1 <= s.n_words <= mw
        assert len(s.text()) <= mc or s.n_words == 1
    with pytest.raises(ValueError):
        c.sample_span(rng, 0)


def test_span_helpers():
    s = Span((("a", "bc"), ("d",)), "x", 0, 5)
    assert s.text() == "a bc\nd" and s.text(" | ") == "a bc | d"
    assert s.n_words == 3 and s.chars() == {"a", "b", "c", "d"}


def test_same_seed_same_span_across_reopen(tmp_path, cache):
    path = write(tmp_path / "w.txt", wiki_text(tokenized=True))
    first = Corpus(path, cache_dir=cache)
    assert len(list(cache.glob("*.npy"))) == 1 and not list(cache.glob("*.part"))
    t = time.perf_counter()
    again = Corpus(path, cache_dir=cache)                 # cache hit
    assert time.perf_counter() - t < 0.2
    fresh = Corpus(path, cache_dir=tmp_path / "other")    # cache miss
    clone = pickle.loads(pickle.dumps(first))
    for c in (again, fresh, clone):
        assert c.sha256 == first.sha256 and c.n_paragraphs == first.n_paragraphs
        spans = [c.sample_span(np.random.default_rng(seed), 40, 200) for seed in range(50)]
        assert spans == [first.sample_span(np.random.default_rng(s), 40, 200) for s in range(50)]


def test_cache_changes_with_file(tmp_path, cache):
    path = write(tmp_path / "l.txt", "one line\n")
    assert Corpus(path, cache_dir=cache).n_paragraphs == 1
    write(path, "one line\nand another one\n")
    assert Corpus(path, cache_dir=cache).n_paragraphs == 2


# -- splits ----------------------------------------------------------------------------
def test_split_regions_never_mix(tmp_path, cache):
    c = Corpus(write(tmp_path / "ids.txt", id_text(400)), cache_dir=cache)
    c.split_regions({"train": 0.9, "validation": 0.1})
    rng = np.random.default_rng(4)
    paras, spans = {}, {}
    for split in ("train", "validation"):
        ranges = c.region_byte_ranges(split)
        spans[split] = [c.sample_span(rng, 60, split=split) for _ in range(1000)]
        paras[split] = {i for s in spans[split] for i, _ in ids(s)}
        for s in spans[split]:
            assert any(a <= s.byte_start <= s.byte_end <= b for a, b in ranges)
    assert paras["train"].isdisjoint(paras["validation"])
    assert len(c.region_byte_ranges("validation")) > 10      # spread over the corpus
    assert max(paras["validation"]) > 300 and min(paras["validation"]) < 100
    with pytest.raises(ValueError):
        c.sample_span(rng, 5, split="test")
    assert c.sample_span(rng, 5).n_words >= 1                # split=None: whole corpus


def test_split_errors(tmp_path, cache):
    c = Corpus(write(tmp_path / "l.txt", "a b\nc d\ne f\n"), cache_dir=cache)
    with pytest.raises(CorpusError, match="too small"):
        c.split_regions({"train": 0.99, "validation": 0.01})
    with pytest.raises(ConfigError):
        c.split_regions({"train": 1.0, "validation": 0.0})
    c.split_regions({"train": 2, "validation": 1})           # normalised
    assert c.sample_span(np.random.default_rng(0), 5, split="validation").n_words >= 1


# -- errors ----------------------------------------------------------------------------
def test_open_errors(tmp_path, cache):
    def err(path, **kw):
        with pytest.raises(CorpusError) as e:
            Corpus(path, cache_dir=cache, **kw)
        msg = str(e.value)
        assert "\n" not in msg and isinstance(e.value, UserError)
        return msg

    assert "file not found" in err(tmp_path / "missing.txt")
    assert "directory" in err(tmp_path)
    assert "is empty" in err(write(tmp_path / "e.txt", ""))
    assert "is empty" in err(write(tmp_path / "ws.txt", " \n\t\r\n \n"))
    bad = write(tmp_path / "bad.txt", "")
    bad.write_bytes(b"caf\xc3\xa9 ok\n" * 100 + b"na\xefve\n")
    msg = err(bad)
    assert "byte 902" in msg and "--encoding" in msg and "bad.txt" in msg
    assert "no usable words" in err(write(tmp_path / "h.txt", " = Only = \n = = <unk> = = \n <unk> \n"))
    assert "unknown encoding" in err(write(tmp_path / "u.txt", "x\n"), encoding="nope")
    assert "not supported" in err(tmp_path / "u.txt", encoding="utf-16")
    assert "unknown format" in err(tmp_path / "u.txt", format="yaml")


def test_latin1_with_encoding(tmp_path, cache):
    path = write(tmp_path / "fr.txt", "Un café très noir\nà la fenêtre\n" * 5, encoding="latin-1")
    c = Corpus(path, encoding="latin-1", cache_dir=cache)
    raw = path.read_bytes()
    rng = np.random.default_rng(0)
    for _ in range(50):
        s = c.sample_span(rng, 4)
        assert raw[s.byte_start:s.byte_end].decode("latin-1").split() == s.text().split()
    assert {"é", "è", "à", "ê"} <= set(c.char_counts())


def test_parse_corpus_arg(tmp_path):
    assert parse_corpus_arg("chem.txt") == ("chem.txt", 1.0)
    assert parse_corpus_arg("chem.txt:0.3") == ("chem.txt", 0.3)
    odd = write(tmp_path / "a:b", "x\n")
    assert parse_corpus_arg(str(odd)) == (str(odd), 1.0)
    for bad in ("chem.txt:x", "chem.txt:0", "chem.txt:-1", "chem.txt:nan", ":1"):
        with pytest.raises(CorpusError, match="weight|argument"):
            parse_corpus_arg(bad)


# -- mixes and counts ------------------------------------------------------------------
def test_corpus_mix_weights(tmp_path, cache):
    a = Corpus(write(tmp_path / "a.txt", "alpha beta\ngamma delta\n"), cache_dir=cache)
    b = Corpus(write(tmp_path / "b.txt", "one two\nthree four\n"), cache_dir=cache)
    mix = CorpusMix([(a, 3.0), (b, 1.0)])
    rng = np.random.default_rng(5)
    names = [mix.sample_span(rng, 2).corpus for _ in range(2000)]
    assert 0.7 < names.count("a") / 2000 < 0.8
    solo = CorpusMix([(a, 1.0)])
    assert solo.sample_span(np.random.default_rng(1), 3) == a.sample_span(np.random.default_rng(1), 3)
    mix.split_regions({"train": 0.5, "validation": 0.5})
    assert mix.sample_span(rng, 2, split="validation").n_words >= 1
    with pytest.raises(CorpusError):
        CorpusMix([(a, 0.0)])


def test_char_counts_of_cleaned_text(tmp_path, cache):
    c = Corpus(write(tmp_path / "w.txt", wiki_text(tokenized=True)), cache_dir=cache)
    counts = c.char_counts()
    assert "@" not in counts and "<" not in counts and " " not in counts and "=" not in counts
    assert counts["-"] > 0 and counts["A"] > 0
    assert sum(c.char_counts(limit_bytes=500).values()) < sum(counts.values())


# -- the real corpora, where the shared data folder exists ------------------------------
@pytest.mark.parametrize("name, fmt", [("wikitext-2-raw.test.txt", "wikitext"),
                                       ("wikitext-2-tokens.valid.txt", "wikitext"),
                                       ("chebi20-dev.txt", "lines")])
def test_real_corpora(tmp_path, name, fmt):
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    c = Corpus(path, cache_dir=tmp_path)
    assert c.format == fmt
    rng = np.random.default_rng(6)
    for _ in range(2000):
        s = c.sample_span(rng, int(rng.integers(1, 200)), split=None)
        text = s.text()
        assert not (MARKUP if fmt == "wikitext" else RAW_MARKUP).search(text), text
        assert s.n_words >= 1 and 0 <= s.byte_start <= s.byte_end <= c.size_bytes

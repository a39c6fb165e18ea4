"""The label text policy (synthtext.dataset.text): what is drawn is what is labelled.

Issue 12, failure 1: soft hyphens, zero-width spaces and joiners reached labels while the
image showed nothing of them, and the trained vocabulary left them out (``co<unk>operate``).
"""

from __future__ import annotations

import json
import os
import shutil
import unicodedata

import cv2
import matplotlib
import numpy as np
import pytest
from cli_helpers import invoke
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_stitch_fixtures import crop_image

from cli.synthgen import main
from model import sources
from stitcher.config import StitchConfig
from stitcher.iam import parse_lines_txt_row
from stitcher.index import build_index
from stitcher.inputs import Skips
from stitcher.sources import read_source
from synthtext.corpora.corpus import Corpus
from synthtext.dataset.errors import ConfigError, CorpusError
from synthtext.dataset.sample import decode_metadata
from synthtext.dataset.shards import iter_samples
from synthtext.dataset.text import apply_text_policy, normalize_text, policy_words
from synthtext.render.config import RenderConfig
from synthtext.render.generate import render_sample

INVIS = ("co\xadoperate with the soft\xadhyphen word\njoin\u200der and non\u200cjoiner test "
         "words\nzero\u200bwidth space inside this line\n")
INVISIBLE = "\xad\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202c\u2066\u2069\ufe0f"
FA = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"      # Persian "I want": ZWNJ inside
AR_ZWJ = "\u0628\u200d\u0628"                                 # ZWJ between two Arabic letters
FAST = ["--no-progress", "--image-format", "png", "--shard-size", "100"]


@pytest.fixture(scope="module")
def dejavu(tmp_path_factory):
    """A font folder holding matplotlib's DejaVuSans (Latin, Arabic, combining marks, ﬁ)."""
    folder = tmp_path_factory.mktemp("dejavu")
    ttf = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data/fonts/ttf/DejaVuSans.ttf")
    shutil.copy(ttf, folder / "DejaVuSans.ttf")
    return str(folder)


def line_cfg(path, fonts="embedded", **kw) -> RenderConfig:
    return RenderConfig(corpora=((str(path), 1.0),), corpus_format="lines", layout="line",
                        fonts=fonts, **kw).validate()


# -- the policy itself ---------------------------------------------------------------------
def test_invisible_characters_are_removed_and_whitespace_made_single_spaces():
    assert apply_text_policy(INVIS) == ("cooperate with the softhyphen word joiner and nonjoiner "
                                        "test words zerowidth space inside this line")
    assert apply_text_policy(f"a{INVISIBLE}b \u2028 c\x07d\u3164") == "ab cd"
    assert apply_text_policy("\u200b \xad\ufeff") == "" and policy_words("\u200b x") == ["x"]
    assert apply_text_policy("\u0600\u0661\u0662") == "\u0600\u0661\u0662"   # draws: kept


def test_joiners_stay_only_where_they_change_shaping():
    assert apply_text_policy(f"{FA} {AR_ZWJ}") == f"{FA} {AR_ZWJ}"
    deva = "\u0915\u094d\u200d\u0937"                         # ka virama ZWJ ssa: half form
    assert apply_text_policy(deva) == deva
    mixed = "\u0628\u200d a\u200d\u0628 \u0628\u200c\u0915 join\u200der \U0001f468\u200d\U0001f469"
    assert apply_text_policy(mixed) == "\u0628 a\u0628 \u0628\u0915 joiner \U0001f468\U0001f469"
    mongolian = "\u1820\u180b\u1821 \u1820\u180e\u1821 \u0628\u180b a\u180ea"
    assert apply_text_policy(mongolian) == "\u1820\u180b\u1821 \u1820\u180e\u1821 \u0628 aa"


def test_normal_forms():
    text = "e\u0301te\u0301 \ufb01ne e\xad\u0301"
    assert apply_text_policy(text) == "\xe9t\xe9 \ufb01ne \xe9"
    assert apply_text_policy(text, "NFKC") == "\xe9t\xe9 fine \xe9"
    assert apply_text_policy(text, "none") == "e\u0301te\u0301 \ufb01ne e\u0301"
    with pytest.raises(ConfigError, match="--normalize 'NFD'"):
        apply_text_policy(text, "NFD")
    with pytest.raises(ConfigError, match="--normalize"):
        RenderConfig(normalize="nfd").validate()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(
    "ab e\u0301\xad\u200b\u200c\u200d\u180b\u180e\u1820\u0628\u0915\u094d\ufb01\u00a8 \n\u2028"
    "\ufe0f\u0600\x07"), max_size=30), st.sampled_from(["NFC", "NFKC", "none"]))
@example("\xa8\u094d\u200c\u0915", "NFKC")     # NFKC reorders the marks before the ZWNJ
@example("e\u200d\u0301", "NFC")                 # the removed ZWJ lets e + U+0301 compose
def test_the_policy_is_idempotent_and_leaves_nothing_invisible(text, form):
    once = normalize_text(text, form)
    assert normalize_text(once, form) == once
    assert form == "none" or unicodedata.is_normalized(form, once)
    assert not set(once) & set("\xad\u200b\ufe0f\x07")


# -- render: the corpus hands out only what is drawn -----------------------------------------
def test_render_labels_hold_no_invisible_characters_and_equal_the_span(tmp_path):
    corpus = tmp_path / "invis.txt"
    corpus.write_bytes(INVIS.encode("utf-8"))
    out = tmp_path / "invis"
    r = invoke(main, "render", "--corpus", corpus, "--corpus-format", "lines", "--layout",
               "line", "--length", "3:6", "-n", 16, "--out", out, *FAST)
    assert r.exit_code == 0, r.output
    raw = corpus.read_bytes()
    samples = list(iter_samples(str(out)))
    assert len(samples) == 16
    for s in samples:
        label = s["txt"].decode("utf-8")
        meta = decode_metadata(s["json"])
        assert not set(label) & set(INVISIBLE), repr(label)
        span = raw[meta["corpus"]["byte_start"]:meta["corpus"]["byte_end"]].decode("utf-8")
        assert label == apply_text_policy(span)
        words = [w["text"] for ln in meta["lines"] for w in ln["words"]]
        assert " ".join(words) == label                       # the drawn words
    info = json.loads((out / "dataset.json").read_text())
    assert info["config"]["render"]["normalize"] == "NFC"
    assert not set(info["stats"]["label_chars"]) & set(INVISIBLE)


@pytest.mark.parametrize("visible, invisible", [("cooperate", "co\xadoperate"),
                                                ("joiner", "join\u200der"),
                                                ("zerowidth", "zero\u200bwidth\u2060")])
def test_a_word_with_invisible_characters_is_labelled_and_drawn_as_without(tmp_path, visible,
                                                                           invisible):
    plain, hidden = tmp_path / "plain.txt", tmp_path / "hidden.txt"
    plain.write_text(f"{visible}\n" * 4, encoding="utf-8")
    hidden.write_text(f"{invisible}\n" * 4, encoding="utf-8")
    for i in range(3):
        a = render_sample(line_cfg(plain, length=(1, 3)), i)
        b = render_sample(line_cfg(hidden, length=(1, 3)), i)
        assert b.text == a.text and set(b.text.split()) == {visible}
        assert np.array_equal(a.image, b.image)


def test_a_line_of_invisible_characters_is_never_drawn_from(tmp_path):
    corpus = tmp_path / "zw.txt"
    corpus.write_text("hello world again\n\u200b\nfoo \u200b\xad bar baz\n\u2060 \ufeff\n",
                      encoding="utf-8")
    c = Corpus(corpus, format="lines")
    raw = corpus.read_bytes()
    for seed in range(60):
        span = c.sample_span(np.random.default_rng(seed), max_words=int(1 + seed % 3))
        assert span.paragraphs and all(p and all(p) for p in span.paragraphs), span
        assert apply_text_policy(raw[span.byte_start:span.byte_end].decode()) == span.text(" ")
    wide = tmp_path / "nfkc.txt"                            # NFKC splits a\xa8b into a, \u0308b
    wide.write_text("x \u200b a\xa8b \ufb01 c\n", encoding="utf-8")
    c = Corpus(wide, format="lines", normalize="NFKC")
    for seed in range(20):
        span = c.sample_span(np.random.default_rng(seed), max_words=2)
        raw_text = wide.read_bytes()[span.byte_start:span.byte_end].decode()
        assert raw_text == raw_text.strip()                # whole raw words
        assert span.text(" ") in apply_text_policy(raw_text, "NFKC")
    r = invoke(main, "render", "--corpus", corpus, "--corpus-format", "lines", "--layout",
               "line", "--length", "1:1", "-n", 30, "--out", tmp_path / "zw", *FAST)
    assert r.exit_code == 0, r.output
    (tmp_path / "none.txt").write_text("\u200b\n\xad \ufeff\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="no usable words"):
        Corpus(tmp_path / "none.txt", format="lines")


def test_normalize_option_decides_the_label(tmp_path, dejavu):
    corpus = tmp_path / "nf.txt"
    corpus.write_text("e\u0301te\u0301 \ufb01ne\n" * 3, encoding="utf-8")
    want = {"NFC": "\xe9t\xe9 \ufb01ne", "NFKC": "\xe9t\xe9 fine",
            "none": "e\u0301te\u0301 \ufb01ne"}
    for form, label in want.items():
        s = render_sample(line_cfg(corpus, dejavu, length=(2, 2), normalize=form), 0)
        assert s.text in (label, " ".join(label.split()[::-1])), (form, s.text)
    out = tmp_path / "nfkc"
    r = invoke(main, "render", "--corpus", corpus, "--corpus-format", "lines", "--layout",
               "line", "--fonts", dejavu, "-n", 2, "--normalize", "nfkc", "--out", out, *FAST)
    assert r.exit_code == 0, r.output
    info = json.loads((out / "dataset.json").read_text())
    assert info["config"]["render"]["normalize"] == "NFKC"
    assert "\ufb01" not in info["stats"]["label_chars"] and "f" in info["stats"]["label_chars"]


def test_arabic_joiners_are_kept_in_text_and_label(tmp_path, dejavu):
    corpus = tmp_path / "fa.txt"
    corpus.write_text(f"\u200f{FA}\u200f {AR_ZWJ}\xad\n" * 3, encoding="utf-8")
    no_zwnj = tmp_path / "fa0.txt"
    no_zwnj.write_text(f"{FA.replace(chr(0x200c), '')} {AR_ZWJ}\n" * 3, encoding="utf-8")
    s = render_sample(line_cfg(corpus, dejavu, length=(2, 2)), 0)
    assert sorted(s.text.split()) == sorted([FA, AR_ZWJ])     # RLM and soft hyphen gone
    t = render_sample(line_cfg(no_zwnj, dejavu, length=(2, 2)), 0)
    assert not np.array_equal(s.image, t.image)               # the ZWNJ shows in the ink


# -- the vocabulary holds every label character ----------------------------------------------
def test_render_vocabulary_holds_every_label_character(tmp_path, dejavu):
    corpus = tmp_path / "mix.txt"
    corpus.write_text(INVIS + f"{FA} {AR_ZWJ} e\u0301te\u0301\n" * 2, encoding="utf-8")
    conf = {"corpora": [[str(corpus), 1.0]], "corpus_format": "lines", "fonts": dejavu,
            "length": [2, 5]}
    path = tmp_path / "line.json"
    path.write_text(json.dumps(conf), encoding="utf-8")
    chars = sources.collect_chars(sources.resolve([f"render:{path}"]))
    cfg = sources.render_config(str(path))
    labels = "".join(render_sample(cfg, i).text for i in range(30))
    assert set(labels) <= chars, set(labels) - chars
    assert {"\u200c", "\u200d", "\xe9"} <= chars and not chars & set("\xad\u200b\u0301")


# -- stitch: transcriptions go through the same policy ---------------------------------------
def test_stitch_transcriptions_are_cleaned_and_in_the_vocabulary(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "img").mkdir()
    texts = ["co\xadoperate with us", "zero\u200bwidth\u2060 space", "\u200b\xad"]
    rows = []
    for i, text in enumerate(texts):
        cv2.imwrite(str(tmp_path / f"img/l{i}.png"), crop_image(rng, "some words", 230, 30))
        rows.append(f"img/l{i}.png\t{text}\tw{i % 2}")
    (tmp_path / "lines.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    skips = Skips()
    _, records = read_source(str(tmp_path / "lines.tsv"), "auto", "utf-8", skips)
    assert [r.text for r in records] == ["cooperate with us", "zerowidth space"]
    assert skips.counts["empty_text"] == 1                   # nothing visible left
    row = parse_lines_txt_row("a01-000u-00 ok 154 19 408 746 1661 89 co\xadoperate|n\u200dow")
    assert row[2] == "cooperate now"
    cfg = StitchConfig(lines=str(tmp_path / "lines.tsv")).validate()
    assert {r.text for r in build_index(cfg).records} == {"cooperate with us", "zerowidth space"}
    out = tmp_path / "pages"
    r = invoke(main, "stitch", "--lines", tmp_path / "lines.tsv", "-n", 3, "--page-lines", "2:2",
               "--normalize", "NFKC", "--out", out, *FAST)
    assert r.exit_code == 0, r.output
    labels = [s["txt"].decode("utf-8") for s in iter_samples(str(out))]
    lines = {ln.strip() for t in labels for ln in t.split("\n")}    # indents are spaces
    assert lines == {"cooperate with us", "zerowidth space"}, labels
    info = json.loads((out / "dataset.json").read_text())
    assert info["config"]["stitch"]["normalize"] == "NFKC"
    path = tmp_path / "pages.json"
    path.write_text(json.dumps({"lines": str(tmp_path / "lines.tsv")}), encoding="utf-8")
    chars = sources.collect_chars(sources.resolve([f"stitch:{path}"]))
    assert set("cooperatewithuszerowidthspace \n") <= chars and "\xad" not in chars


def test_stitch_normalize_option_decides_the_transcriptions(tmp_path):
    rng = np.random.default_rng(1)
    (tmp_path / "img").mkdir()
    rows = []
    for i, text in enumerate(["\ufb01ne print", "caf\u0065\u0301 au lait"]):
        cv2.imwrite(str(tmp_path / f"img/l{i}.png"), crop_image(rng, "some words", 230, 30))
        rows.append(f"img/l{i}.png\t{text}\tw{i}")
    (tmp_path / "lines.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    texts = {form: {r.text for r in build_index(StitchConfig(
        lines=str(tmp_path / "lines.tsv"), normalize=form).validate()).records}
        for form in ("NFC", "NFKC", "none")}
    assert texts["NFC"] == {"\ufb01ne print", "caf\u00e9 au lait"}
    assert texts["NFKC"] == {"fine print", "caf\u00e9 au lait"}
    assert texts["none"] == {"\ufb01ne print", "cafe\u0301 au lait"}

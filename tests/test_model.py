"""The recognizer's parts: vocabulary, decoding paths and guards, preprocessing, metrics,
configuration and checkpoint safety. Small random models; no training here."""

import os

import cv2
import numpy as np
import pytest
import torch
from model_helpers import one_torch_thread  # noqa: F401 - autouse fixture

from model import checkpoint as ckpt
from model.config import ModelConfig, TrainConfig, parse_duration, preset, resolve
from model.decode import (
    Cache,
    beam_search,
    greedy,
    incremental_logits,
    is_repeating,
    symbol_caps,
)
from model.metrics import Metrics, cer, wer
from model.network import build_model, position_2d
from model.preprocess import collate, load_image, preprocess
from model.vocab import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Vocab
from synthtext.dataset.errors import UserError
from synthtext.dataset.sample import Sample

TAGS = ("<math>", "</math>")


def small_cfg(**kw) -> ModelConfig:
    m = ModelConfig(stem_width=8, widths=(8, 16, 16, 32), d_model=32, num_layers=2, dim_ff=64,
                    dropout=0.0, line_embedding=True, tags=TAGS)
    for k, v in kw.items():
        setattr(m, k, v)
    return m


def small_model(seed=0, **kw):
    torch.manual_seed(seed)
    vocab = Vocab.build("éß", TAGS)
    return build_model(small_cfg(**kw), vocab).eval(), vocab


def batch_of(texts, vocab, widths=(200, 96, 40)):
    n = len(texts)
    images = torch.rand(n, 1, 32, max(widths))
    sizes = torch.tensor([[32, widths[i % len(widths)]] for i in range(n)])
    ids = [vocab.encode(t) for t in texts]
    tgt = torch.full((n, max(map(len, ids))), PAD_ID)
    for i, x in enumerate(ids):
        tgt[i, :len(x)] = torch.tensor(x)
    return images, sizes, tgt


# -- vocabulary ------------------------------------------------------------------------------
def test_vocab_round_trip_with_newline_tags_and_unknowns():
    v = Vocab.build("éß", TAGS)
    text = "  Indented é\nx = <math>a+b</math>;\n\nend"
    ids = v.encode(text)
    assert ids[0] == BOS_ID and ids[-1] == EOS_ID
    assert v.decode(ids) == text
    assert ids.count(v.symbols.index("<math>")) == 1  # a tag is one token
    assert v.newline_id in ids
    assert v.encode("\u6f22", bos_eos=False) == [UNK_ID]
    assert Vocab.from_json(v.to_json()) == v
    assert v.symbols[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]


def test_vocab_extension_appends_and_keeps_ids():
    v = Vocab.build("a")
    w = v.extended("aæ€")
    assert w.symbols[:len(v)] == v.symbols and w.symbols[len(v):] == ["æ", "€"]
    assert v.missing("aæ") == ["æ"]


# -- decoding -------------------------------------------------------------------------------
def test_incremental_decoding_fed_the_truth_gives_teacher_forced_logits():
    model, vocab = small_model()
    texts = ["ab\ncd <math>x</math>", "line one\n  line two", "é"]
    images, sizes, tgt = batch_of(texts, vocab)
    with torch.no_grad():
        forced = model(images, sizes, tgt[:, :-1])
    stepped = incremental_logits(model, images, sizes, tgt[:, :-1])
    for i, t in enumerate(texts):  # compare where the input is real, not padding
        n = len(vocab.encode(t)) - 1
        assert torch.allclose(forced[i, :n], stepped[i, :n], atol=1e-4), (forced - stepped).abs().max()


def test_greedy_equals_beam_of_width_one():
    model, vocab = small_model(seed=3)
    images, sizes, _ = batch_of(["a", "b", "c", "d"], vocab, widths=(200, 96, 40, 160))
    g, b = greedy(model, images, sizes), beam_search(model, images, sizes, width=1)
    assert g.tokens == b.tokens
    assert g.hit_cap == b.hit_cap and g.hit_repeat == b.hit_repeat
    wide = beam_search(model, images, sizes, width=3)
    assert len(wide.tokens) == 4


def _biased(model, favour: dict):
    """Make the head prefer some tokens regardless of input (for the guard tests)."""
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.fill_(-10.0)
        for tok, value in favour.items():
            model.head.bias[tok] = value
    return model


def test_decoding_stops_when_every_row_has_eos(monkeypatch):
    model, vocab = small_model()
    _biased(model, {EOS_ID: 10.0})
    calls = []
    real = Cache.step
    monkeypatch.setattr(Cache, "step", lambda self, t: calls.append(1) or real(self, t))
    images, sizes, _ = batch_of(["a", "b"], vocab)
    res = greedy(model, images, sizes)
    assert res.tokens == [[], []] and len(calls) == 1
    assert beam_search(model, images, sizes, width=3).tokens == [[], []]


def test_repetition_stop():
    model, vocab = small_model(repeat_span=6)
    a = vocab.symbols.index("a")
    _biased(model, {a: 10.0})
    images, sizes, _ = batch_of(["x"], vocab, widths=(200,))
    res = greedy(model, images, sizes)
    assert res.hit_repeat == [True] and res.hit_cap == [False]
    assert vocab.decode(res.tokens[0]) == "a" * 7  # the unit repeated over 6 more symbols
    assert is_repeating(torch.tensor([[1, 2, 1, 2, 1, 2]]), 4, 2).item()
    assert not is_repeating(torch.tensor([[1, 2, 3, 4, 5, 6]]), 4, 4).item()


def test_length_cap_from_the_image_size():
    model, vocab = small_model(repeat_span=10_000, min_char_area=256)
    a, b = vocab.symbols.index("a"), vocab.symbols.index("b")
    _biased(model, {a: 10.0, b: 9.0})
    images, sizes, _ = batch_of(["x", "y"], vocab, widths=(200, 40))
    caps = symbol_caps(model.cfg, sizes).tolist()
    assert caps == [1 + -(-32 * 200 // 256), 1 + -(-32 * 40 // 256)]
    res = greedy(model, images, sizes)
    assert [len(t) for t in res.tokens] == caps and res.hit_cap == [True, True]
    assert symbol_caps(model.cfg, torch.tensor([[4000, 4000]])).item() == model.cfg.max_len - 1


def test_position_encoding_halves_are_y_and_x():
    pe = position_2d(3, 5, 16)
    assert pe.shape == (16, 3, 5)
    assert torch.equal(pe[:8, 0, 0], pe[:8, 0, 4])  # y half constant along x
    assert torch.equal(pe[8:, 0, 2], pe[8:, 2, 2])  # x half constant along y


# -- preprocessing ----------------------------------------------------------------------------
def test_one_preprocessing_for_train_eval_and_predict(tmp_path):
    rng = np.random.default_rng(0)
    img = (rng.random((45, 300)) * 255).astype(np.uint8)
    s = Sample("k1", img, [], {})
    d = s.to_wds("png")
    cfg = small_cfg()
    from_shard, size1 = preprocess(Sample.from_wds(d).image, cfg)  # train and eval path
    path = tmp_path / "line.png"
    path.write_bytes(d["png"])
    from_file, size2 = preprocess(load_image(str(path)), cfg)  # predict path
    assert torch.equal(from_shard, from_file) and size1 == size2
    assert size1[0] == 32 and from_shard.shape[1] % cfg.stride[0] == 0
    assert from_shard.shape[2] % cfg.stride[1] == 0
    rgb = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    assert torch.allclose(preprocess(rgb, cfg)[0], from_shard, atol=1 / 255)


def test_preprocess_bounds_and_padding():
    cfg = small_cfg(min_height=16, max_height=64, max_width=128)
    t, (h, w) = preprocess(np.full((200, 100), 255, np.uint8), cfg)
    assert (h, w) == (64, 32) and float(t.abs().sum()) == 0.0  # white paper -> zeros
    t, (h, w) = preprocess(np.zeros((20, 1000), np.uint8), cfg)
    assert w == 128 and h == 3 and t.shape[1] == cfg.stride[0]
    batch = collate([{"image": t, "size": (h, w), "tgt": torch.tensor([1, 5, 2]), "text": "x",
                      "source": "s", "key": "k"}])
    assert batch["images"].shape[0] == 1 and batch["tgt"].tolist() == [[1, 5, 2]]


# -- metrics ------------------------------------------------------------------------------------
def test_cer_wer_on_known_pairs():
    assert cer(["abcd"], ["abed"]) == 0.25
    assert cer(["ab", "cdef"], ["ab", "cdxf"]) == pytest.approx(1 / 6)  # micro-averaged
    assert wer(["hello world"], ["hello word"]) == 0.5
    # \n is a character for CER but only a separator for WER (jiwer would say WER 1.0 here)
    assert cer(["hello world\nfoo"], ["hello world foo"]) == pytest.approx(1 / 15)
    assert wer(["hello world\nfoo"], ["hello world foo"]) == 0.0
    assert wer(["a  b"], ["a b"]) == 0.0 and cer(["a  b"], ["a b"]) == 0.25
    # region tags count as one symbol, and as a word of their own
    assert cer(["x<math>y"], ["xy"], tags=TAGS) == pytest.approx(1 / 3)
    assert wer(["x<math>y"], ["x y"], tags=TAGS) == pytest.approx(1 / 3)


def test_cer_is_computed_on_symbols_not_on_joined_token_indices():
    v = Vocab.build("")
    ref_ids, hyp_ids = [12, 3], [1, 23]  # joined, both read "123"
    assert "".join(map(str, ref_ids)) == "".join(map(str, hyp_ids))
    ref, hyp = v.decode(ref_ids), v.decode(hyp_ids)
    assert cer([ref], [hyp]) > 0


def test_metrics_per_source():
    m = Metrics()
    m.add("abcd", "abcd", "synth")
    m.add("abcd", "xxxx", "real")
    r = m.result()
    assert r["cer"] == 0.5 and r["n"] == 2
    assert r["per_source"]["synth"]["cer"] == 0 and r["per_source"]["real"]["cer"] == 1


# -- configuration -----------------------------------------------------------------------------
def test_presets_and_overrides(tmp_path):
    m, t = preset("base")
    assert (m.d_model, m.num_layers, m.nhead, m.dim_ff, m.depths) == (260, 6, 4, 1024, (3, 4, 6, 3))
    assert m.stride == (32, 32)
    f = tmp_path / "c.json"
    f.write_text('{"model": {"d_model": 64}, "train": {"lr": 0.01}}')
    m, t = resolve("tiny", str(f), {"batch_size": "4", "strides": "[[2,2],[2,1],[1,1],[1,1]]"})
    assert (m.d_model, t.lr, t.batch_size) == (64, 0.01, 4)
    assert m.strides == ((2, 2), (2, 1), (1, 1), (1, 1))
    with pytest.raises(UserError, match="unknown config key 'lrr'.*did you mean lr"):
        resolve("tiny", None, {"lrr": "1"})
    with pytest.raises(UserError, match="batch_size"):
        resolve("tiny", None, {"batch_size": "many"})
    assert parse_duration("1h30m") == 5400 and parse_duration("10m") == 600
    with pytest.raises(UserError):
        parse_duration("ten minutes")


# -- checkpoints -----------------------------------------------------------------------------
def _payload(model, vocab):
    return ckpt.model_payload(model, vocab, model.cfg, TrainConfig())


def test_checkpoint_round_trip_with_rng_state(tmp_path):
    model, vocab = small_model()
    path = str(tmp_path / "m.pt")
    ckpt.save(path, {**_payload(model, vocab), "rng": [ckpt.rng_state()], "ema": None})
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    ck = ckpt.load(path)
    again, v2 = ckpt.model_from(ck)
    assert v2 == vocab
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)
    import random
    ckpt.set_rng_state(ck["rng"][0])
    first = (torch.rand(3), np.random.rand(), random.random())
    ckpt.set_rng_state(ck["rng"][0])
    again = (torch.rand(3), np.random.rand(), random.random())
    assert torch.equal(first[0], again[0]) and first[1:] == again[1:]


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch " + os.environ.get("EVIL_MARK", "/tmp/evil-mark"),))


def test_unsafe_checkpoint_is_refused_without_running_it(tmp_path, monkeypatch):
    mark = tmp_path / "ran"
    monkeypatch.setenv("EVIL_MARK", str(mark))
    path = tmp_path / "evil.pt"
    torch.save({"format": ckpt.FORMAT, "payload": _Evil()}, path)
    with pytest.raises(UserError, match="not safe"):
        ckpt.load(str(path))
    assert not mark.exists()
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="cannot be read"):
        ckpt.load(str(tmp_path / "junk.pt"))
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(UserError, match="not an fphtr checkpoint"):
        ckpt.load(str(tmp_path / "other.pt"))
    with pytest.raises(UserError, match="not found"):
        ckpt.load(str(tmp_path / "missing.pt"))


def test_extend_vocab_keeps_old_rows():
    model, vocab = small_model()
    new = vocab.extended("Ωæ")
    old_emb = model.embedding.weight.detach().clone()
    grown = ckpt.extend_vocab(model, vocab, new)
    assert grown.head.out_features == len(new)
    assert torch.equal(grown.embedding.weight[:len(vocab)], old_emb)
    with pytest.raises(UserError, match="another vocabulary"):
        ckpt.check_vocab_covers(vocab, "Ω", "x.pt")

"""The dynamic pipeline: source specs, shards from render_shards, weighted mixing, schedule,
corrupt samples, missing shards, and an http source served from 127.0.0.1."""

import functools
import http.server
import io
import os
import tarfile
import threading
import warnings
from collections import Counter

import pytest
from model_helpers import one_torch_thread  # noqa: F401 - autouse fixture

from model import data as mdata
from model import skips
from model import sources
from model.config import ModelConfig, TrainConfig
from model.evaluate import eval_batches
from model.schedule import LRSchedule, MixSchedule
from model.vocab import Vocab
from synthtext.dataset.errors import UserError
from synthtext.render.config import RenderConfig
from synthtext.render.generate import render_shards

CFG = ModelConfig(stem_width=8, widths=(8, 16, 16, 32), d_model=32, num_layers=1, dim_ff=64,
                  max_width=256)
TCFG = TrainConfig(batch_size=8, num_workers=0, shuffle_buffer=50, rebatch_buffer=16)


def _render(out, n=40, seed=0):
    cfg = RenderConfig(layout="line", length=(1, 3), line_height=(32, 40), font_size=(20, 26),
                       rotation={0: 1.0}, seed=seed)
    render_shards(cfg, out, n=n, shard_size=20, progress=False)
    return str(out)


@pytest.fixture(scope="module")
def shard_dirs(tmp_path_factory):
    base = tmp_path_factory.mktemp("shards")
    return _render(base / "a", seed=1), _render(base / "b", seed=2)


def _vocab(specs):
    return Vocab.build(sources.collect_chars(specs))


def test_spec_syntax():
    s = sources.parse_spec("chem=shards/chem@0.9:0.2")
    assert (s.name, s.kind, s.target, s.w0, s.w1) == ("chem", "shards", "shards/chem", 0.9, 0.2)
    s = sources.parse_spec("http://user@host:8000/d/train-{000000..000009}.tar@2")
    assert s.target == "http://user@host:8000/d/train-{000000..000009}.tar" and s.w0 == 2
    s = sources.parse_spec("hf://datasets/org/name@main/train-*.tar")
    assert s.target == "hf://datasets/org/name@main/train-*.tar" and s.w0 == s.w1 == 1
    s = sources.parse_spec("render:line.json@0.5")
    assert (s.kind, s.target, s.w0, s.name) == ("render", "line.json", 0.5, "render:line")
    assert sources.parse_spec("render:").target == ""
    with pytest.raises(UserError, match="weight"):
        sources.parse_spec("shards/x@0.5:")
    with pytest.raises(UserError, match="unknown stream kind"):
        sources.parse_spec("rendr:x.json")


def test_a_stored_spec_reads_the_same_source_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for text, stored in [
            ("chem=shards/chem@0.9:0.00001", f"chem={tmp_path}/shards/chem@0.9:0.00001"),
            ("render:cfg/a.json", f"render:{tmp_path}/cfg/a.json@1.0"),
            ("w=http://u@h/x-{0..3}.tar", "w=http://u@h/x-{0..3}.tar@1.0"),
            ("dataset:chem/train-*.tar@2", "chem=dataset:chem/train-*.tar@2.0")]:
        spec = sources.parse_spec(text)
        assert sources.stored_text(spec) == stored
        again = sources.parse_spec(stored)
        assert (again.name, again.kind, again.w0, again.w1) == \
            (spec.name, spec.kind, spec.w0, spec.w1)


def test_missing_shards_and_empty_globs_name_the_spec(tmp_path, shard_dirs):
    with pytest.raises(UserError, match=r"--data .*nothing-\*\.tar: no shards match"):
        sources.resolve([str(tmp_path / "nothing-*.tar")])
    brace = os.path.join(shard_dirs[0], "train-{000000..000003}.tar")
    with pytest.raises(UserError, match="2 of 4 shards missing: .*train-000002.tar"):
        sources.resolve([brace])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds no .tar shards"):
        sources.resolve([str(tmp_path / "empty")], for_val=True)
    with pytest.raises(UserError, match="file not found"):
        sources.resolve(["render:" + str(tmp_path / "no.json")])[0]
        sources.render_config(str(tmp_path / "no.json"))


def test_reads_a_shard_dir_made_by_render_shards(shard_dirs):
    specs = sources.resolve([shard_dirs[0]])
    assert len(specs[0].urls) == 2 and specs[0].name == "a"
    vocab = _vocab(specs)
    batches = mdata.TrainBatches(specs, vocab, CFG, TCFG, seed=1)
    b = next(batches)
    assert b["images"].shape[0] == 8 and b["images"].shape[2] == 32
    assert b["images"].shape[3] % CFG.stride[1] == 0
    assert all(vocab.decode(t.tolist()) == x for t, x in zip(b["tgt"], b["texts"]))
    widths = [int(s[1]) for s in b["sizes"]]
    assert max(widths) - min(widths) < 2 * TCFG.bucket_px  # bucketed by padded size
    evals = list(eval_batches(specs, vocab, CFG, batch_size=16, limit=None, bucket_px=64))
    assert sum(len(x["texts"]) for x in evals) == 40  # one full ordered pass


def test_mixes_two_sources_by_weight(shard_dirs):
    specs = sources.resolve([f"A={shard_dirs[0]}@0.8", f"B={shard_dirs[1]}@0.2"])
    batches = mdata.TrainBatches(specs, _vocab(specs), CFG, TCFG, seed=2)
    seen = Counter()
    for _ in range(40):
        seen.update(next(batches)["sources"])
    share = seen["A"] / (seen["A"] + seen["B"])
    assert 0.7 < share < 0.9, seen


def test_mixture_schedule_follows_the_clock(shard_dirs):
    s = MixSchedule((0.9, 0.1), (0.2, 0.8), span=1000)
    assert s.weights(0) == pytest.approx([0.9, 0.1])
    assert s.weights(500) == pytest.approx([0.55, 0.45])
    assert s.weights(5000) == pytest.approx([0.2, 0.8])
    # a pipeline started at clock 10^6 (a resumed run) draws with the end weights
    specs = sources.resolve([f"A={shard_dirs[0]}@0.9:0.0", f"B={shard_dirs[1]}@0.1:1.0"])
    tcfg = TrainConfig(**{**TCFG.__dict__, "mix_samples": 1000})
    batches = mdata.TrainBatches(specs, _vocab(specs), CFG, tcfg, clock0=10 ** 6, seed=3)
    seen = Counter()
    for _ in range(10):
        seen.update(next(batches)["sources"])
    assert seen["A"] == 0 and seen["B"] == 80
    lr = LRSchedule(1e-3, warmup=10, total=100, min_ratio=0.1)
    assert lr.value(0) == pytest.approx(1e-4) and lr.value(9) == pytest.approx(1e-3)
    assert lr.value(100) == pytest.approx(1e-4) and lr.value(55) < lr.value(20)


def _corrupt_copy(src_dir, out_dir):
    """Copy a shard; break one image, drop one label, truncate the last shard."""
    os.makedirs(out_dir)
    names = sorted(n for n in os.listdir(src_dir) if n.endswith(".tar"))
    with tarfile.open(os.path.join(src_dir, names[0])) as tin, \
            tarfile.open(os.path.join(out_dir, names[0]), "w") as tout:
        for m in tin:
            data = tin.extractfile(m).read()
            if m.name.startswith("train-000000003.") and m.name.endswith(".jpg"):
                data = b"garbage, not a jpeg"
            if m.name in ("train-000000005.txt", "train-000000007.jpg"):
                continue  # a sample without its label, another without its image
            m.size = len(data)
            tout.addfile(m, io.BytesIO(data))
    with tarfile.open(os.path.join(src_dir, names[1])) as t:
        members = t.getmembers()
    m = members[len(members) // 2]
    raw = open(os.path.join(src_dir, names[1]), "rb").read()
    with open(os.path.join(out_dir, names[1]), "wb") as f:
        f.write(raw[: m.offset_data + m.size // 2])  # cut inside a member's data


def test_corrupt_samples_and_shards_are_skipped_and_counted(shard_dirs, tmp_path):
    bad = str(tmp_path / "bad")
    _corrupt_copy(shard_dirs[0], bad)
    specs = sources.resolve([f"bad={bad}"], for_val=True)
    vocab = _vocab(sources.resolve([shard_dirs[0]]))
    skipped = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = sum(len(b["texts"]) for b in eval_batches(
            specs, vocab, CFG, batch_size=8, limit=None, bucket_px=64, skipped=skipped))
    why = skipped["bad"]  # bad image, no label, no image, truncated shard: each with its reason
    assert sum(why.values()) >= 4 and why["image bytes do not decode"] >= 1, why
    assert any("unexpected end of data" in reason for reason in why), why
    assert 20 < got < 37
    msgs = [str(w.message) for w in caught]
    assert any("skipped sample train-000000003 of bad: image bytes do not decode" in m
               for m in msgs), msgs
    assert any("skipped a sample or shard of bad: unexpected end of data" in m for m in msgs)
    # the training pipeline skips them too (counts reach the loop)
    batches = mdata.TrainBatches(sources.resolve([f"bad={bad}"]), vocab, CFG, TCFG, seed=4)
    for _ in range(12):
        next(batches)
    assert batches.skips["bad"] >= 2


def test_loader_worker_warnings_reach_the_trainer_once(shard_dirs, tmp_path):
    """Each DataLoader worker is a process of its own; its warnings travel with its batches
    and the trainer prints each once."""
    bad = str(tmp_path / "bad")
    _corrupt_copy(shard_dirs[0], bad)
    vocab = _vocab(sources.resolve([shard_dirs[0]]))
    tcfg = TrainConfig(**{**TCFG.__dict__, "num_workers": 2, "shuffle_buffer": 1})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        batches = mdata.TrainBatches(sources.resolve([f"bad={bad}"]), vocab, CFG, tcfg, seed=4)
        try:
            for _ in range(12):
                next(batches)
        finally:
            batches.close()
    msgs = [str(w.message) for w in caught if "of bad:" in str(w.message)]
    assert any("image bytes do not decode" in m for m in msgs), msgs
    assert len(msgs) == len(set(msgs)), msgs


def test_a_user_error_in_a_loader_worker_arrives_as_its_one_line(tmp_path):
    """A source that only fails stops training inside a DataLoader worker; the trainer gets
    the worker's UserError with its own message, not torch's copy with a traceback in it."""
    bad, n = tmp_path / "bad", skips.MAX_CONSECUTIVE_FAILURES
    bad.mkdir()
    with tarfile.open(bad / "train-000000.tar", "w") as tar:
        for i in range(n):
            for ext, data in (("jpg", b"not an image"), ("txt", b"x"), ("json", b"{}")):
                member = tarfile.TarInfo(f"s{i:06d}.{ext}")
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))
    tcfg = TrainConfig(**{**TCFG.__dict__, "num_workers": 1})
    batches = mdata.TrainBatches(sources.resolve([str(bad)]), Vocab.build(""), CFG, tcfg, seed=8)
    try:
        with pytest.raises(UserError) as caught:
            next(batches)
    finally:
        batches.close()
    assert type(caught.value) is UserError
    assert str(caught.value) == (f"data source bad: {n} samples or shards in a row failed; "
                                 "last error: image bytes do not decode")


def test_an_http_source(shard_dirs):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=shard_dirs[1])
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/train-{{000000..000001}}.tar"
        specs = sources.resolve([f"web={url}"])
        vocab = Vocab.build(sources.collect_chars(specs))  # dataset.json over http
        assert len(vocab) > 96
        n = sum(len(b["texts"]) for b in eval_batches(
            specs, vocab, CFG, batch_size=8, limit=None, bucket_px=64))
        assert n == 40
        b = next(mdata.TrainBatches(specs, vocab, CFG, TCFG, seed=5))
        assert b["sources"][0] == "web"
    finally:
        server.shutdown()


def test_an_hf_source_is_listed_and_read_through_hffilesystem(shard_dirs, monkeypatch):
    """No network in tests: a stand-in HfFileSystem maps hf://datasets/o/n/ to a local dir."""
    import huggingface_hub

    root, prefix = shard_dirs[0], "datasets/o/n/"

    class FakeFS:
        def __init__(self, *a, **k):
            pass

        def _local(self, path):
            return os.path.join(root, path.removeprefix("hf://").removeprefix(prefix))

        def glob(self, pattern):
            import glob as g
            return [prefix + os.path.basename(p) for p in sorted(g.glob(self._local(pattern)))]

        def isdir(self, path):
            return os.path.isdir(self._local(path))

        def exists(self, path):
            return os.path.exists(self._local(path))

        def open(self, path, mode="rb", block_size=None, **kw):
            return open(self._local(path), mode)

    monkeypatch.setattr(huggingface_hub, "HfFileSystem", FakeFS)
    specs = sources.resolve(["hub=hf://datasets/o/n/train-*.tar@2"])
    assert specs[0].urls == ("hf://datasets/o/n/train-000000.tar",
                             "hf://datasets/o/n/train-000001.tar") and specs[0].w0 == 2
    vocab = Vocab.build(sources.collect_chars(specs))  # dataset.json through the fs
    assert len(vocab) > 96
    n = sum(len(b["texts"]) for b in eval_batches(
        specs, vocab, CFG, batch_size=8, limit=None, bucket_px=64))
    assert n == 40
    with pytest.raises(UserError, match="no shards match"):
        sources.resolve(["hf://datasets/o/n/nothing-*.tar"])


def test_render_stream_source(tmp_path):
    cfg = tmp_path / "line.json"
    cfg.write_text('{"length": [1, 2], "line_height": [32, 36], "font_size": [20, 24]}')
    specs = sources.resolve([f"render:{cfg}"])
    vocab = _vocab(specs)
    b = next(mdata.TrainBatches(specs, vocab, CFG, TCFG, seed=6))
    assert b["sources"] == ["render:line"] * 8
    vals = list(eval_batches(specs, vocab, CFG, batch_size=4, limit=6, bucket_px=64))
    assert sum(len(x["texts"]) for x in vals) == 6
    bad = tmp_path / "bad.json"
    bad.write_text('{"lenght": [1, 2]}')
    with pytest.raises(UserError, match="unknown RenderConfig field"):
        sources.render_config(str(bad))


def test_a_stream_survives_a_sample_it_cannot_make():
    """A renderer bug on one index is a counted skip; the stream goes on with the next one."""
    def flaky(arg, split, start, n, transform):
        def gen():
            i = start
            while n is None or i < start + n:
                if i == 3:
                    raise ValueError("operands could not be broadcast")
                yield i
                i += 1
        return gen()

    sources.register_stream("flaky", flaky)
    try:
        spec = sources.parse_spec("flaky:x")
        skips.drain_skips()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = list(mdata.stream_source(spec, None, "train", 0, n=8))
        assert got == [0, 1, 2, 4, 5, 6, 7]
        assert skips.drain_skips() == {"flaky:x": 1}
        assert "skipped sample index 3 of flaky:x" in str(caught[0].message)
    finally:
        sources.STREAM_KINDS.pop("flaky")


def test_a_stitch_stream_source_mixes_with_shards(tmp_path, shard_dirs):
    """``stitch:CONFIG.json`` pages from line crops (the stitcher's own test fixture)."""
    import json

    from test_stitch_fixtures import write_tsv

    path, _ = write_tsv(tmp_path / "crops", 12, writers=3)
    cfg = tmp_path / "pages.json"
    cfg.write_text(json.dumps({"lines": str(path), "page_lines": [1, 2]}))
    specs = sources.resolve([f"hw=stitch:{cfg}@0.5", f"print={shard_dirs[0]}@0.5"])
    assert specs[0].kind == "stitch"
    mcfg = ModelConfig(**{**CFG.__dict__, "max_height": 128, "max_width": 512})
    batches = mdata.TrainBatches(specs, _vocab(specs[1:]), mcfg, TCFG, seed=7)
    seen, texts = Counter(), []
    for _ in range(4):
        b = next(batches)
        seen.update(b["sources"])
        texts += [t for t, src in zip(b["texts"], b["sources"]) if src == "hw"]
    assert seen["hw"] > 0 and seen["print"] > 0
    assert any("\n" in t for t in texts)  # multi-line pages keep their line breaks
    bad = tmp_path / "bad.json"
    bad.write_text('{"page_lines": [1, 2]}')
    with pytest.raises(UserError, match="needs .lines"):
        sources.stitch_config(str(bad))

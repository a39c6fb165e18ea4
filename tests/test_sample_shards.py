"""The sample contract and the shard writer: round trips, determinism, atomicity."""

import gc
import hashlib
import tarfile

import numpy as np
import pytest

from synthtext.dataset.sample import Line, Sample, check_sample, decode_metadata
from synthtext.dataset.shards import MTIME, AtomicTarWriter, iter_samples, iter_tar_samples


def make_sample(key="train-000000001", text_lines=("Hello world", "  indented")):
    img = np.full((40, 120), 250, np.uint8)
    img[10:20, 5:100] = 10
    lines = []
    for i, t in enumerate(text_lines):
        words = [{"text": w, "quad": [[5, 10], [50, 10], [50, 20], [5, 20]]} for w in t.split()]
        lines.append(Line(t, [[5, 10 + i], [100, 10 + i], [100, 20], [5, 20]], words))
    return Sample(key, img, lines, {"source": "test", "params": {"a": 1}})


@pytest.mark.parametrize("fmt", ["png", "jpg", "webp"])
def test_sample_round_trips_through_a_shard(tmp_path, fmt):
    s = make_sample()
    path = tmp_path / "train-000000.tar"
    with AtomicTarWriter(path) as w:
        w.write(s.to_wds(fmt))
    (d,) = list(iter_tar_samples(path))
    assert check_sample(d) == []
    back = Sample.from_wds(d)
    assert back.text == "Hello world\n  indented"
    assert back.meta["params"] == {"a": 1}
    assert back.image.shape == s.image.shape
    if fmt == "png":
        assert np.array_equal(back.image, s.image)
    assert decode_metadata(d["json"])["image"]["format"] == fmt


def test_shards_are_byte_identical_and_hash_matches(tmp_path):
    digests = []
    for name in ("a.tar", "b.tar"):
        with AtomicTarWriter(tmp_path / name) as w:
            for i in range(3):
                w.write(make_sample(f"train-{i:09d}").to_wds("jpg"))
        digests.append(w.sha256)
    a, b = (tmp_path / "a.tar").read_bytes(), (tmp_path / "b.tar").read_bytes()
    assert a == b
    assert digests[0] == hashlib.sha256(a).hexdigest()


def test_members_have_fixed_metadata_and_order(tmp_path):
    with AtomicTarWriter(tmp_path / "a.tar") as w:
        for i in range(2):
            d = make_sample(f"train-{i:09d}").to_wds("png")
            w.write({"json": d["json"], "txt": d["txt"], "__key__": d["__key__"], "png": d["png"],
                     "__url__": "ignored"})  # insertion order must not matter
    with tarfile.open(tmp_path / "a.tar") as t:
        members = t.getmembers()
    assert [m.name for m in members] == [f"train-{i:09d}.{ext}" for i in range(2)
                                         for ext in ("png", "txt", "json")]
    for m in members:
        assert (m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) == (MTIME, 0, 0, "", "", 0o644)
        assert m.isfile()


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_failed_write_leaves_no_shard(tmp_path):
    path = tmp_path / "train-000000.tar"
    with pytest.raises(RuntimeError):
        with AtomicTarWriter(path) as w:
            w.write(make_sample().to_wds("png"))
            raise RuntimeError("killed")
    del w
    gc.collect()  # an unclosed tar stream would write into the closed file here
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_check_sample_catches_label_mismatch_and_dotted_keys(tmp_path):
    d = make_sample().to_wds("png")
    d["txt"] = b"something else"
    assert any("disagrees" in p for p in check_sample(d))
    d = make_sample(key="page.1").to_wds("png")
    assert any("dot" in p for p in check_sample(d))


def test_webdataset_library_reads_our_shards(tmp_path):
    import webdataset as wds

    with AtomicTarWriter(tmp_path / "train-000000.tar") as w:
        for i in range(4):
            w.write(make_sample(f"train-{i:09d}").to_wds("png"))
    ds = wds.WebDataset(str(tmp_path / "train-000000.tar"), shardshuffle=False).decode("l")
    got = list(ds)
    assert [g["__key__"] for g in got] == [f"train-{i:09d}" for i in range(4)]
    assert got[0]["txt"] == "Hello world\n  indented"
    assert got[0]["png"].shape == (40, 120)
    assert len(list(iter_samples(str(tmp_path)))) == 4


@pytest.mark.parametrize("data", [b"", b"\x89PNG\r\n\x1a\n", b"not an image"])
def test_undecodable_image_bytes_raise_value_error(data):
    from synthtext.dataset.sample import decode_image

    with pytest.raises(ValueError, match="image bytes"):
        decode_image(data)

"""One shard I/O layer: specs to shard URLs and back to samples, from local directories,
http(s) URLs, hf:// paths on a (fake) Hub and dataset:NAME, for every reader alike."""

import importlib
from itertools import islice

import pytest
import webdataset as wds
from click.testing import CliRunner
from fake_http import serve_directory
from hub_fixtures import isolate_hub, render_small
from hub_server import FakeHub

from model import sources
from stitcher.inputs import Skips
from stitcher.sources import read_wds
from synthtext.dataset import catalogue, urls
from synthtext.dataset.errors import UserError
from synthtext.dataset.info import read_info
from synthtext.dataset.sample import Sample
from synthtext.dataset.shards import iter_samples
from synthtext.dataset.urls import shard_urls
from synthtext.hub.publish import publish


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    out = tmp_path_factory.mktemp("stream") / "lines"
    render_small(out, n=10, shard_size=3)  # train 7 (3 shards), validation 3 (1 shard)
    return out


def contents(samples):
    return [(d["__key__"], {k: v for k, v in d.items() if not k.startswith("__")})
            for d in samples]


def test_http_brace_pattern_streams_the_same_samples(shards):
    with serve_directory(shards) as (url, seen):
        remote = list(iter_samples(f"{url}/train-{{000000..000002}}.tar"))
    assert contents(remote) == contents(iter_samples(str(shards / "train-*.tar")))
    assert remote[0]["__url__"] == f"{url}/train-000000.tar"
    assert seen == [f"/train-00000{i}.tar" for i in range(3)]


def test_http_reads_lazily(shards):
    with serve_directory(shards) as (url, seen):
        first = list(islice(iter_samples(f"{url}/train-{{000000..000002}}.tar"), 2))
    assert len(first) == 2 and seen == ["/train-000000.tar"]  # later shards never requested


def test_http_directory_url_lists_shards_from_dataset_json(shards):
    with serve_directory(shards.parent) as (url, _):
        urls = shard_urls(f"{url}/lines/")
    assert urls == [f"{url}/lines/{p.name}" for p in sorted(shards.glob("*.tar"))]


def test_http_errors_are_one_line(shards):
    with serve_directory(shards) as (url, _):
        with pytest.raises(UserError, match="globs do not work over http"):
            shard_urls(f"{url}/train-*.tar")
        with pytest.raises(UserError, match="HTTP 404"):
            list(iter_samples(f"{url}/train-000099.tar"))
        with pytest.raises(UserError, match="no readable dataset.json"):
            shard_urls(f"{url}/nowhere")
        with pytest.raises(UserError, match="line shards must be local"):
            read_wds(f"{url}/train-000000.tar", "utf-8", Skips())


def test_preview_over_http(shards, tmp_path):
    from cli.synthgen import main

    with serve_directory(shards) as (url, _):
        out = tmp_path / "sheet.png"
        r = CliRunner().invoke(main, ["preview", f"{url}/train-{{000000..000001}}.tar",
                                      "--out", str(out), "-n", "4"])
    assert r.exit_code == 0, r.output
    assert out.stat().st_size > 0


@pytest.fixture(scope="module")
def hub(shards, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    with FakeHub() as h:
        isolate_hub(mp, tmp_path_factory.mktemp("hf"), h)
        publish(shards, "org/lines", endpoint=h.url, echo=lambda s: None)
        mp.setenv("HF_ENDPOINT", h.url)
        yield h
    mp.undo()


def test_hf_repo_streams_all_shards(shards, hub):
    assert shard_urls("hf://datasets/org/lines") == [
        f"hf://datasets/org/lines/{p.name}" for p in sorted(shards.glob("*.tar"))]
    remote = list(iter_samples("hf://datasets/org/lines"))
    assert contents(remote) == contents(iter_samples(str(shards)))
    assert all(Sample.from_wds(d).text for d in remote)


def test_hf_globs_and_revisions(shards, hub):
    assert shard_urls("hf://datasets/org/lines@main/validation-*.tar") == [
        "hf://datasets/org/lines@main/validation-000000.tar"]
    some = list(iter_samples("hf://datasets/org/lines/train-{000001..000002}.tar"))
    assert [d["__key__"] for d in some] == [f"train-{i:09d}" for i in range(3, 7)]


def test_hf_missing_repo(hub):
    with pytest.raises(UserError, match="no such Hub dataset"):
        shard_urls("hf://datasets/org/nothing")


def test_preview_over_hf(hub, tmp_path):
    from cli.synthgen import main

    out = tmp_path / "sheet.png"
    r = CliRunner().invoke(main, ["preview", "hf://datasets/org/lines", "--out", str(out),
                                  "-n", "3"])
    assert r.exit_code == 0, r.output
    assert out.stat().st_size > 0


def test_dataset_name_resolves_through_the_catalogue(shards, tmp_path, monkeypatch):
    monkeypatch.setattr(catalogue, "catalogue_path", lambda: tmp_path / "catalogue.json")
    catalogue.add("lines", shards)
    assert shard_urls("dataset:lines") == shard_urls(str(shards))
    assert shard_urls("dataset:lines/validation-*.tar") == [str(shards / "validation-000000.tar")]
    with pytest.raises(UserError, match="no dataset named 'nope'.*known: lines"):
        shard_urls("dataset:nope")


@pytest.fixture
def gopen_schemes(monkeypatch):
    """webdataset's opener table, restored after the test."""
    schemes = importlib.import_module("webdataset.gopen").gopen_schemes
    for scheme in ("hf", "http", "https"):
        monkeypatch.setitem(schemes, scheme, schemes[scheme])
    return schemes


def test_webdataset_opens_hf_and_http_urls_through_open_url(shards, hub, gopen_schemes):
    urls.register_webdataset()
    assert all(gopen_schemes[s] is urls._gopen for s in ("hf", "http", "https"))
    local = [d["txt"] for d in iter_samples(str(shards / "train-*.tar"))]
    ds = wds.WebDataset("hf://datasets/org/lines/train-{000000..000002}.tar", shardshuffle=False)
    assert [d["txt"] for d in ds] == local
    with serve_directory(shards, fail_first=1) as (url, seen):  # a 503 first: retried
        ds = wds.WebDataset(f"{url}/train-{{000000..000002}}.tar", shardshuffle=False)
        assert [d["txt"] for d in ds] == local
    assert seen[:2] == ["/train-000000.tar"] * 2


def test_directories_give_the_requested_split_everywhere(shards, hub, tmp_path, monkeypatch):
    names = {s: [p.name for p in sorted(shards.glob(f"{s}-*.tar"))]
             for s in ("train", "validation")}
    assert len(names["train"]) == 3 and len(names["validation"]) == 1
    monkeypatch.setattr(catalogue, "catalogue_path", lambda: tmp_path / "catalogue.json")
    catalogue.add("lines", shards)
    with serve_directory(shards.parent) as (url, _):
        roots = [str(shards), f"{url}/lines", "hf://datasets/org/lines", "dataset:lines"]
        for root in roots:
            base = str(shards) if root == "dataset:lines" else root
            for split, want in names.items():
                got = shard_urls(root, split=split)
                assert [u.rsplit("/", 1)[1] for u in got] == want, (root, split)
                assert all(u.startswith(base) for u in got)
            assert len(shard_urls(root)) == 4  # no split: every shard


def test_a_directory_without_the_split_falls_back_to_every_shard(shards, tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "test-000000.tar").write_bytes((shards / "validation-000000.tar").read_bytes())
    (d / "extra.tar").write_bytes((shards / "train-000000.tar").read_bytes())
    assert shard_urls(d, split="validation") == [str(d / "test-000000.tar")]  # test- counts
    assert shard_urls(d, split="train") == [str(d / "extra.tar"), str(d / "test-000000.tar")]


def test_remote_reads_are_retried_then_fail_in_one_line(shards, hub, monkeypatch):
    monkeypatch.setattr(urls, "BACKOFF", 0.01)
    with serve_directory(shards, fail_first=urls.TRIES - 1) as (url, seen):
        got = list(iter_samples(f"{url}/train-000000.tar"))
    assert len(got) == 3 and len(seen) == urls.TRIES
    with serve_directory(shards, fail_first=urls.TRIES) as (url, seen):
        with pytest.raises(UserError, match=f"HTTP 503 .*tried {urls.TRIES} times"):
            list(iter_samples(f"{url}/train-000000.tar"))
    assert len(seen) == urls.TRIES
    with serve_directory(shards, fail_first=5, status=403) as (url, seen):
        with pytest.raises(UserError, match="HTTP 403"):
            list(iter_samples(f"{url}/train-000000.tar"))
    assert len(seen) == 1  # a refusal is not retried
    hub.fail("GET", r"/resolve/main/train-000001\.tar$", nth=1, mode=503)
    hub.fail("GET", r"/resolve/main/train-000001\.tar$", nth=2, mode="drop")
    remote = list(iter_samples("hf://datasets/org/lines/train-000001.tar"))
    assert contents(remote) == contents(iter_samples(str(shards / "train-000001.tar")))


def test_dataset_name_works_for_train_and_eval_sources(shards, tmp_path, monkeypatch):
    monkeypatch.setattr(catalogue, "catalogue_path", lambda: tmp_path / "catalogue.json")
    catalogue.add("lines", shards)
    (train,) = sources.resolve(["dataset:lines@2"])
    assert (train.name, train.kind, train.w0) == ("lines", "shards", 2.0)
    assert train.urls == tuple(str(p) for p in sorted(shards.glob("train-*.tar")))
    (val,) = sources.resolve(["dataset:lines"], for_val=True)
    assert val.urls == (str(shards / "validation-000000.tar"),)
    assert sources.collect_chars([train]) == set(read_info(shards)["stats"]["label_chars"])
    with pytest.raises(UserError, match="--data dataset:nope: no dataset named 'nope'"):
        sources.resolve(["dataset:nope"])

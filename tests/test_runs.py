"""Runs: deterministic across workers and backends, resumable after kill -9, refuse foreign dirs."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from synthtext.dataset.errors import UserError
from synthtext.dataset.runner import MIN_QUALITY, check_run_options
from synthtext.dataset.sample import Sample, check_sample, decode_metadata
from synthtext.dataset.seeds import split_counts
from synthtext.dataset.shards import iter_samples
from synthtext.render.config import RenderConfig
from synthtext.render.generate import render_shards

LINE = RenderConfig(layout="line", length=(2, 8), font_size=(20, 40), line_height=(40, 60),
                    rotation={0: 1.0})
OPTS = dict(shard_size=6, image_format="jpg", progress=False)


def shard_bytes(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.tar"))}


def test_split_counts():
    assert split_counts(1000, (("train", 0.98), ("validation", 0.02))) == {
        "train": 980, "validation": 20}
    assert sum(split_counts(7, (("a", 1), ("b", 1), ("c", 1))).values()) == 7


def test_identical_shards_with_one_or_two_workers(tmp_path):
    a = render_shards(LINE, tmp_path / "a", 20, workers=1, **OPTS)
    b = render_shards(LINE, tmp_path / "b", 20, workers=2, **OPTS)
    assert shard_bytes(tmp_path / "a") == shard_bytes(tmp_path / "b")
    assert len(shard_bytes(tmp_path / "a")) == 4
    ma, mb = a.info, b.info
    assert ma["status"] == "complete" and ma["splits"] == mb["splits"]
    assert ma["stats"]["samples"] == 20 and sum(ma["stats"]["fonts"].values()) == 20
    assert sum(ma["stats"]["label_chars"].values()) == ma["stats"]["characters"]
    for d in iter_samples(str(tmp_path / "a")):
        assert check_sample(d) == []


def test_dataset_info_records_inputs_and_shard_hashes(tmp_path):
    import hashlib

    render_shards(LINE, tmp_path, 8, **OPTS)
    m = json.loads((tmp_path / "dataset.json").read_text())
    assert m["config"]["corpora"][0]["sha256"]
    assert m["config"]["fonts"]["fingerprint"]
    assert m["config"]["render"]["seed"] == 0
    for s in m["splits"]["train"]["shards"]:
        assert hashlib.sha256((tmp_path / s["name"]).read_bytes()).hexdigest() == s["sha256"]


def test_rerun_with_other_parameters_is_refused(tmp_path):
    render_shards(LINE, tmp_path, 6, **OPTS)
    other = RenderConfig(**{**LINE.__dict__, "seed": 1})
    with pytest.raises(UserError, match="other parameters"):
        render_shards(other, tmp_path, 6, **OPTS)
    render_shards(other, tmp_path, 6, overwrite=True, **OPTS)
    assert json.loads((tmp_path / "dataset.json").read_text())["config"]["render"]["seed"] == 1


def test_foreign_shards_are_refused(tmp_path):
    (tmp_path / "train-000000.tar").write_bytes(b"not ours")
    with pytest.raises(UserError, match="not made by this command"):
        render_shards(LINE, tmp_path, 6, **OPTS)


def test_kill_minus_9_then_resume_gives_the_uninterrupted_result(tmp_path):
    args = [sys.executable, "-m", "cli.synthgen", "render", "--layout", "line",
            "--length", "2:8", "--font-size", "20:40", "--line-height", "40:60",
            "--rotation", "0=1", "-n", "240", "--shard-size", "6", "--no-progress"]
    full, killed = tmp_path / "full", tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(args + ["--out", str(killed)], env=env)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(killed.glob("*.tar"))) < 3 \
            and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_before = len(list(killed.glob("*.tar")))
    assert 3 <= n_before < 40, "the run was not interrupted mid-way"
    subprocess.run(args + ["--out", str(killed)], env=env, check=True)
    subprocess.run(args + ["--out", str(full)], env=env, check=True)
    assert shard_bytes(killed) == shard_bytes(full)
    assert not list(killed.glob("*.tmp"))
    assert json.loads((killed / "dataset.json").read_text())["status"] == "complete"


def test_dask_backend_gives_the_same_bytes(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    render_shards(LINE, tmp_path / "local", 12, **OPTS)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        render_shards(LINE, tmp_path / "dask", 12, backend="dask",
                      scheduler=cluster.scheduler_address, **OPTS)
    assert shard_bytes(tmp_path / "local") == shard_bytes(tmp_path / "dask")


def test_held_out_split_never_shares_text_with_train(tmp_path, wikitext_file):
    cfg = RenderConfig(corpora=((str(wikitext_file), 1.0),), layout="line", length=(3, 8),
                       split=(("train", 0.8), ("validation", 0.2)), rotation={0: 1.0})
    res = render_shards(cfg, tmp_path, 40, **OPTS)
    assert {k: v["samples"] for k, v in res.info["splits"].items()} == {
        "train": 32, "validation": 8}
    ranges = {"train": [], "validation": []}
    for d in iter_samples(str(tmp_path)):
        meta = decode_metadata(d["json"])
        ranges[meta["split"]].append((meta["corpus"]["byte_start"], meta["corpus"]["byte_end"]))
    assert sorted(p.name for p in tmp_path.glob("*.tar"))[0].startswith("train-")
    assert any(p.name.startswith("validation-") for p in tmp_path.glob("*.tar"))
    from synthtext.corpora.corpus import Corpus

    c = Corpus(wikitext_file)
    c.split_regions({"train": 0.8, "validation": 0.2})
    val = c.region_byte_ranges("validation")
    for a, b in ranges["train"]:
        assert not any(a < ve and vs < b for vs, ve in val)


def test_huggingface_datasets_loads_the_directory(tmp_path):
    datasets = pytest.importorskip("datasets")
    render_shards(LINE, tmp_path, 12, **OPTS)
    ds = datasets.load_dataset(str(tmp_path), split="train")
    assert len(ds) == 12
    row = ds[0]
    assert row["txt"].strip() and row["jpg"].size[1] >= 40
    assert json.loads(row["json"])["font"]["id"]


def test_lossy_quality_below_the_floor_is_refused_before_anything_is_written(tmp_path):
    check_run_options(quality=MIN_QUALITY)
    with pytest.raises(UserError, match="--quality 30"):
        render_shards(LINE, tmp_path / "q", 2, quality=30, progress=False)
    assert not (tmp_path / "q").exists()


def test_no_ink_outside_line_quads_at_the_lowest_quality(tmp_path):
    cfg = RenderConfig(width=(300, 420), height=(300, 420), font_size=(14, 22), length=(5, 40),
                       seed=3)
    render_shards(cfg, tmp_path / "q", 12, quality=MIN_QUALITY, progress=False)
    for d in iter_samples(str(tmp_path / "q")):
        s = Sample.from_wds(d)
        inside = np.zeros(s.image.shape[:2], np.uint8)
        for line in s.lines:
            if line.quad is not None:
                cv2.fillPoly(inside, [np.round(np.array(line.quad)).astype(np.int32)], 1)
        inside = cv2.dilate(inside, np.ones((3, 3), np.uint8))  # fillPoly's half-pixel rounding
        paper = np.median(s.image)
        assert not np.any((s.image < paper - 40) & (inside == 0)), s.key

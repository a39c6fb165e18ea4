"""Stitched pages keep the sample contract: labels in crop order, exact indentation, no seams,
no leakage across splits, deterministic shards, and real hooker-dev lines stitch cleanly."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import shared_file
from test_stitch_fixtures import write_iam, write_tsv

from stitcher import (
    StitchConfig,
    StitchJob,
    build_index,
    stitch_sample,
    stitch_shards,
)
from stitcher.compose import SPACE
from stitcher.iam import image_path, parse_lines_txt_row
from synthtext.dataset.sample import Sample, check_sample
from synthtext.dataset.shards import iter_samples

OPTS = dict(shard_size=5, image_format="png", progress=False)


@pytest.fixture(scope="module")
def tsv(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crops")
    return write_tsv(folder, 24, writers=4)


@pytest.fixture(scope="module")
def iam(tmp_path_factory):
    return write_iam(tmp_path_factory.mktemp("iam"))


def quads_top_to_bottom(sample: Sample) -> list[int]:
    tops = [min(p[1] for p in ln.quad) for ln in sample.lines]
    return sorted(range(len(tops)), key=lambda i: tops[i])


# ----------------------------------------------------------------- IAM lines.txt

def test_iam_lines_txt_row_parsing():
    row = parse_lines_txt_row("a01-000u-00 ok 154 19 408 746 1661 89 A|MOVE|to|stop|Mr.|Gaitskell")
    assert row == ("a01-000u-00", "ok", "A MOVE to stop Mr. Gaitskell")
    # punctuation is its own word in IAM: kept exactly, spaced
    assert parse_lines_txt_row("a-b-01 err 1 2 3 4 5 6 tomorrow|.|Mr.|\"|x")[2] == 'tomorrow . Mr. " x'
    assert parse_lines_txt_row("a01-000u-00 ok 154 19 408") is None
    assert parse_lines_txt_row("a01-000u-00 maybe 1 2 3 4 5 6 text") is None


def test_iam_tree_err_lines_writers_and_missing_images(iam):
    assert image_path(iam, "a01-000u-00") == iam / "lines" / "a01" / "a01-000u" / "a01-000u-00.png"
    index = build_index(StitchConfig(lines=str(iam), format="iam"))
    recs = {r.id: r for r in index.records}
    assert "a01-000u-02" not in recs  # err, excluded by default
    assert "a01-003-01" not in recs  # image missing
    assert index.skips["counts"] == {"missing_image": 1, "err_line": 1}
    assert index.skips["examples"]["err_line"] == ["a01-000u-02"]
    r = recs["a01-000u-03"]
    assert r.text == "of Labour M Ps tomorrow . Mr. Michael"
    assert (r.writer, r.document, r.order) == ("000", "a01-000u", 3)
    with_err = build_index(StitchConfig(lines=str(iam / "ascii" / "lines.txt"), include_err=True))
    assert with_err.format == "iam" and "a01-000u-02" in {r.id for r in with_err.records}


def test_iam_split_files_never_leak_test_forms_into_train(iam):
    cfg = StitchConfig(lines=str(iam), split=(("train", 1.0),), page_lines=(2, 4),
                       split_files=(("train", str(iam / "trainset.txt")),
                                    ("test", str(iam / "testset.txt"))))
    job = StitchJob.create(cfg)
    assert job.index.summary()["crops_by_split"] == {"test": 2, "train": 6}
    gen = job.build()
    for i in range(30):
        s = gen.sample("train", i)
        assert not any(c.startswith("c03") for c in s.meta["crops"])
        assert "003" not in s.meta["writers"]
    for i in range(5):
        assert all(c.startswith("c03") for c in gen.sample("test", i).meta["crops"])


# ----------------------------------------------------------------- the page contract

def test_labels_follow_crops_top_to_bottom_with_exact_indents(tsv):
    path, info = tsv
    cfg = StitchConfig(lines=str(path), page_lines=(3, 7), indent=0.5, seed=1)
    job = StitchJob.create(cfg)
    indented = 0
    for i in range(12):
        s = stitch_sample(job, i)
        assert quads_top_to_bottom(s) == list(range(len(s.lines)))
        assert [ln.text.strip() for ln in s.lines] == [info[c]["text"] for c in s.meta["crops"]]
        assert s.meta["writers"] == [info[c]["writer"] for c in s.meta["crops"]]
        assert all(ln.text.strip() and not ln.text.endswith(" ") for ln in s.lines)
        p = s.meta["params"]
        assert p["rotation"] == 0 and p["space_width"] == pytest.approx(SPACE * p["body_height_drawn"], abs=1e-3)
        lefts = [ln.quad[0][0] for ln in s.lines]
        for ln, left in zip(s.lines, lefts):
            n = len(ln.text) - len(ln.text.lstrip(" "))
            offset = (left - min(lefts)) / p["space_width"]
            assert n == round(offset) and abs(offset - n) < 0.35  # unambiguous, as labelled
            indented += n > 0
        assert s.meta["rejects"] == {"blank_crop": 0, "print_line": 0, "unreadable_crop": 0}
    assert indented > 0


def test_quads_enclose_all_ink_and_page_has_no_seams(tsv):
    """Crops on paper from 150 to 245 grey leave no trace: the page is one paper tone."""
    path, _ = tsv
    cfg = StitchConfig(lines=str(path), page_lines=(6, 8), same_document=0.0, seed=2)
    job = StitchJob.create(cfg)
    for i in range(6):
        s = stitch_sample(job, i)
        paper, img = s.meta["params"]["paper"], s.image.astype(int)
        inside = np.zeros(img.shape, bool)
        for ln in s.lines:
            (x0, y0), (x1, y1) = ln.quad[0], ln.quad[2]
            inside[int(y0):int(y1), int(x0):int(x1)] = True
            region = img[int(y0):int(y1), int(x0):int(x1)]
            # inside a line box, the non-ink background is the page's paper too
            assert abs(np.percentile(region, 75) - paper) <= 4
            assert region.min() < paper - 60  # and it holds ink
        assert (img[~inside] == paper).all()  # no ink, seam or crop paper outside the quads


def test_page_geometry_and_params_are_recorded(tsv):
    path, _ = tsv
    cfg = StitchConfig(lines=str(path), page_lines=(4, 4), max_width=400, seed=4)
    s = stitch_sample(StitchJob.create(cfg), 0)
    h, w = s.image.shape
    p = s.meta["params"]
    assert w <= 400 and p["page"] == [w, h] and p["lines"] == len(s.lines) == 4
    assert p["body_height_drawn"] <= p["body_height"]
    json.dumps(s.meta)  # JSON-able
    assert s.meta["source"] == "stitch" and s.key == "train-000000000"


def test_writer_hash_splits_are_disjoint(tmp_path):
    path, info = write_tsv(tmp_path, 24, writers=12)
    cfg = StitchConfig(lines=str(path), split=(("train", 0.5), ("validation", 0.5)),
                       holdout=(("validation", 0.4),), seed=5)
    job = StitchJob.create(cfg)
    by_split = {r.id: r.split for r in job.index.records}
    writers = {}
    for r in job.index.records:
        writers.setdefault(r.writer, set()).add(r.split)
    assert all(len(s) == 1 for s in writers.values())  # a writer lives in one split
    assert set(by_split.values()) == {"train", "validation"}
    # the holdout alone decides: a run making only validation pages draws the same writers
    only_val = StitchJob.create(StitchConfig(lines=str(path), split=(("validation", 1.0),),
                                                holdout=(("validation", 0.4),)))
    assert {r.id: r.split for r in only_val.index.records} == by_split
    gen = job.build()
    for split in ("train", "validation"):
        for i in range(15):
            s = gen.sample(split, i)
            assert {by_split[c] for c in s.meta["crops"]} == {split}


def test_document_mode_takes_consecutive_lines(tsv):
    path, info = tsv
    cfg = StitchConfig(lines=str(path), same_document=1.0, page_lines=(2, 3), seed=6)
    job = StitchJob.create(cfg)
    docs = 0
    for i in range(10):
        s = stitch_sample(job, i)
        if s.meta["params"]["mode"] == "document":
            docs += 1
            crops = s.meta["crops"]
            assert len({info[c]["doc"] for c in crops}) == 1
            assert crops == sorted(crops)  # reading order
    assert docs >= 8


# ----------------------------------------------------------------- runs

def test_identical_shards_with_one_or_two_workers_and_valid_samples(tsv, tmp_path):
    path, _ = tsv
    cfg = StitchConfig(lines=str(path), page_lines=(2, 5))
    a = stitch_shards(cfg, tmp_path / "a", 12, workers=1, **OPTS)
    b = stitch_shards(cfg, tmp_path / "b", 12, workers=2, **OPTS)
    shards = lambda d: {p.name: p.read_bytes() for p in sorted(d.glob("*.tar"))}
    assert shards(tmp_path / "a") == shards(tmp_path / "b") and len(shards(tmp_path / "a")) == 3
    m = a.info
    assert m["generator"]["command"] == "stitch" and m["status"] == "complete"
    assert m["config"]["inputs"]["sha256"] == b.info["config"]["inputs"]["sha256"]
    assert m["stats"]["rejects"] == {"blank_crop": 0, "print_line": 0, "unreadable_crop": 0}
    n = 0
    for d in iter_samples(str(tmp_path / "a")):
        assert check_sample(d) == []
        n += 1
    assert n == 12
    again = stitch_sample(cfg, 7)
    sample7 = [Sample.from_wds(d) for d in iter_samples(str(tmp_path / "a"))][7]
    assert again.text == sample7.text and np.array_equal(again.image, sample7.image)


def test_a_changed_input_is_refused_on_resume(tmp_path):
    path, _ = write_tsv(tmp_path / "in", 6)
    cfg = StitchConfig(lines=str(path), page_lines=(2, 3))
    stitch_shards(cfg, tmp_path / "o", 4, **OPTS)
    rows = path.read_text().splitlines()
    path.write_text("\n".join(rows[:-1]) + "\n")
    from synthtext.dataset.errors import UserError

    with pytest.raises(UserError, match="other parameters"):
        stitch_shards(cfg, tmp_path / "o", 4, **OPTS)


def test_augmented_heading_and_print_lines_are_labelled(tsv):
    path, _ = tsv
    cfg = StitchConfig(lines=str(path), page_lines=(3, 4), heading=1.0, print_lines=0.4,
                       augment="light", seed=8)
    job = StitchJob.create(cfg)
    kinds = set()
    for i in range(4):
        s = stitch_sample(job, i)
        d = s.to_wds("png")
        assert check_sample({k: v for k, v in d.items()}) == []
        kinds.update(s.meta["line_kinds"])
        assert s.meta["line_kinds"][0] == "heading" and len(s.meta["line_kinds"]) == len(s.lines)
        assert not s.lines[0].text.startswith(" ")  # a centred heading is never indented
        assert "augment" in s.meta
    assert {"heading", "crop", "print"} <= kinds


def test_stream_deals_pages_to_dataloader_workers(tsv):
    torch = pytest.importorskip("torch")
    from stitcher.stream import StitchStream  # imports torch: only once it is known to be there

    path, _ = tsv
    cfg = StitchConfig(lines=str(path), page_lines=(2, 3))
    stream = StitchStream(cfg, n=6, transform=lambda s: (s.key, s.text))
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=2)
    got = sorted(loader)
    assert [k for k, _ in got] == [f"train-{i:09d}" for i in range(6)]
    assert got[3][1] == stitch_sample(stream.job, 3).text


# ----------------------------------------------------------------- real data

def test_hooker_dev_pages_keep_the_contract(tmp_path):
    tsv_path = shared_file("handwriting", "hooker-dev.tsv")
    texts = {}
    for row in tsv_path.read_text(encoding="utf-8").splitlines():
        image, text = row.split("\t")[:2]
        texts[image.rsplit(".", 1)[0]] = " ".join(text.split())
    cfg = StitchConfig(lines=str(tsv_path), page_lines=(3, 8))
    result = stitch_shards(cfg, tmp_path / "h", 20, shard_size=10, progress=False)
    assert result.info["config"]["inputs"]["crops"] == 100
    pages = 0
    for d in iter_samples(str(tmp_path / "h")):
        assert check_sample(d) == []
        s = Sample.from_wds(d)
        assert [ln.text.strip() for ln in s.lines] == [texts[c] for c in s.meta["crops"]]
        assert quads_top_to_bottom(s) == list(range(len(s.lines)))
        paper = s.meta["params"]["paper"]
        border = np.concatenate([s.image[:3].ravel(), s.image[-3:].ravel()])
        assert np.abs(border.astype(int) - paper).max() <= 8  # jpeg: paper stays paper
        pages += 1
    assert pages == 20


def test_config_records_local_paths_absolute_and_specs_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert StitchConfig(lines="lines.tsv").to_json()["lines"] == str(tmp_path / "lines.tsv")
    for spec in ("dataset:iam-lines", "hf://datasets/org/name/train-*.tar",
                 "https://example.org/lines/train-{000000..000001}.tar"):
        assert StitchConfig(lines=spec).to_json()["lines"] == spec  # same run from any folder

"""`synthgen stitch` as a user runs it: every input format, bad inputs counted (never fatal),
one-line errors, idempotent reruns."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from cli_helpers import assert_one_line_error, invoke
from test_stitch_fixtures import crop_image, write_iam, write_tsv, write_wds

from cli.stitch_cmd import stitch
from stitcher import StitchConfig, build_index
from synthtext.dataset.sample import check_sample, decode_metadata
from synthtext.dataset.shards import iter_samples

FAST = ["--no-progress", "--shard-size", "4", "--page-lines", "2:4"]


def run(*args):
    return invoke(stitch, *args)


@pytest.fixture
def bad_inputs(tmp_path):
    """A TSV with good crops plus one of each bad input the issue names."""
    path, info = write_tsv(tmp_path, 8)
    rng = np.random.default_rng(9)
    good = cv2.imencode(".png", crop_image(rng, "truncated crop", 200, 30))[1].tobytes()
    (tmp_path / "img" / "trunc.png").write_bytes(good[: len(good) // 2])
    (tmp_path / "img" / "notimage.png").write_bytes(b"this is not an image at all")
    corrupt = bytearray(good)  # right header and trailer, broken inside: fails only on decode
    mid = len(corrupt) // 2
    for i in range(mid - 40, mid + 40):
        corrupt[i] ^= 0x5A
    (tmp_path / "img" / "corrupt.png").write_bytes(bytes(corrupt))
    cv2.imwrite(str(tmp_path / "img" / "latin.png"), crop_image(rng, "cafe deja vu", 190, 20))
    rows = path.read_bytes()
    rows += (b"img/missing.png\tno such file\tw9\n"
             b"img/w0_000.png\t   \tw0\n"  # empty transcription
             b"img/trunc.png\ttruncated crop\tw1\n"
             b"img/notimage.png\tnot an image\tw1\n"
             b"img/corrupt.png\tcorrupt inside\tw1\n"
             b"img/latin.png\tcaf\xe9 d\xe9j\xe0 vu\tw2\n"  # cp1252 in a UTF-8 line list
             b"just-one-field\n")
    path.write_bytes(rows)
    return path


def test_bad_inputs_are_counted_named_and_never_fatal(bad_inputs, tmp_path):
    out = tmp_path / "o"
    r = run("--lines", bad_inputs, "--out", out, "-n", "24", *FAST)
    assert r.exit_code == 0, r.output
    assert "missing_image 1 (img/missing)" in r.output
    assert "empty_text 1" in r.output and "truncated_image 1 (img/trunc)" in r.output
    assert "unreadable_image 1 (img/notimage)" in r.output and "bad_row 1" in r.output
    assert "text_not_utf8 1 (img/latin)" in r.output
    m = json.loads((out / "dataset.json").read_text())
    inputs = m["config"]["inputs"]
    assert inputs["skipped"] == {"missing_image": 1, "unreadable_image": 1, "truncated_image": 1,
                                 "empty_text": 1, "bad_row": 1, "text_not_utf8": 1}
    assert inputs["skipped_examples"]["missing_image"] == ["img/missing"]
    assert inputs["crops"] == 8 + 2  # the corrupt crop passes the cheap check; latin is kept
    index = build_index(StitchConfig(lines=str(bad_inputs)))
    assert {r.id: r.text for r in index.records}["img/latin"] == "café déjà vu"
    # the crop that only fails to decode is skipped at stitch time and counted per page
    used, rejected = set(), 0
    for d in iter_samples(str(out)):
        assert check_sample(d) == []
        meta = decode_metadata(d["json"])
        used.update(meta["crops"])
        rejected += meta["rejects"]["unreadable_crop"]
        assert ("img/corrupt" in meta["skipped_crops"]) == (meta["rejects"]["unreadable_crop"] > 0)
    assert "img/corrupt" not in used
    assert rejected == m["stats"]["rejects"]["unreadable_crop"] > 0
    assert "unreadable_crop" in r.output


def test_rerun_of_a_complete_run_writes_nothing(tmp_path):
    path, _ = write_tsv(tmp_path, 6)
    out = tmp_path / "o"
    assert run("--lines", path, "--out", out, "-n", "8", *FAST).exit_code == 0
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.tar")}
    r = run("--lines", path, "--out", out, "-n", "8", *FAST)
    assert r.exit_code == 0 and "0 written, 2 already complete" in r.output
    assert before == {p.name: p.stat().st_mtime_ns for p in out.glob("*.tar")}
    r = run("--lines", path, "--out", out, "-n", "8", "--seed", "2", *FAST)
    assert_one_line_error(r, "other parameters", "--overwrite")


def test_iam_split_and_include_err_from_the_command_line(tmp_path):
    root = write_iam(tmp_path / "iam")
    out = tmp_path / "o"
    r = run("--lines", root, "--format", "iam", "--out", out, "-n", "6", "--split", "test",
            "--split-file", f"train={root / 'trainset.txt'}",
            "--split-file", f"test={root / 'testset.txt'}", "--include-err", *FAST)
    assert r.exit_code == 0, r.output
    assert "test 6" in r.output and "missing_image 1 (a01-003-01)" in r.output
    for d in iter_samples(str(out)):
        assert all(c.startswith("c03-020") for c in decode_metadata(d["json"])["crops"])
    assert sorted(p.name for p in out.glob("*.tar")) == ["test-000000.tar", "test-000001.tar"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "dir", "wds"])
def test_every_input_format(tmp_path, fmt):
    path, info = write_tsv(tmp_path / "src", 6, header=True)
    rows = [ln.split("\t") for ln in path.read_text().splitlines()[1:]]
    if fmt == "jsonl":
        lines = tmp_path / "src" / "lines.jsonl"
        lines.write_text("".join(json.dumps({"image": i, "text": t, "writer": w, "doc": d}) + "\n"
                                 for i, t, w, d in rows) + "{broken\n")
    elif fmt == "csv":
        lines = tmp_path / "src" / "lines.csv"
        lines.write_text("file,transcription,writer\n" + "".join(
            f'{i},"{t}, quoted",{w}\n' for i, t, w, _ in rows))
        info = {k: {**v, "text": v["text"] + ", quoted"} for k, v in info.items()}
    elif fmt == "dir":
        lines = tmp_path / "src" / "img"
        for i, t, _, _ in rows:
            (tmp_path / "src" / i).with_suffix(".txt").write_text(t + "\n")
        info = {k[len("img/"):]: v for k, v in info.items()}
    else:
        lines = tmp_path / "src" / "lines-000000.tar"
        info = {f"lines-000000/{k}": {"text": t} for k, t in write_wds(lines, 5).items()}
    index = build_index(StitchConfig(lines=str(lines)))
    assert index.format == ("tsv" if fmt == "csv" else fmt)
    assert {r.id: r.text for r in index.records} == {k: v["text"] for k, v in info.items()}
    if fmt == "jsonl":
        assert index.skips["counts"] == {"bad_row": 1}
    out = tmp_path / "o"
    r = run("--lines", lines, "--out", out, "-n", "4", *FAST)
    assert r.exit_code == 0, r.output
    for d in iter_samples(str(out)):
        assert check_sample(d) == []


def test_one_line_errors_for_user_mistakes(tmp_path):
    path, _ = write_tsv(tmp_path, 4)
    out = tmp_path / "o"
    assert_one_line_error(run("--lines", tmp_path / "nope.tsv", "--out", out), "nope.tsv")
    assert_one_line_error(run("--lines", path, "--out", out, "--body-height", "30:10"),
                          "--body-height")
    assert_one_line_error(run("--lines", path, "--out", out, "--jitter", "0.4"), "--jitter")
    assert_one_line_error(run("--lines", path, "--out", out, "--split", "validation"),
                          "--split validation", "--holdout")
    assert_one_line_error(run("--lines", path, "--out", out, "--holdout", "train=0.5"),
                          "--holdout")
    assert_one_line_error(run("--lines", path, "--out", out, "--split-file",
                              f"train={tmp_path / 'none.txt'}"), "--split-file")
    empty = tmp_path / "empty.tsv"
    empty.write_text("img/missing.png\tsome text\n")
    assert_one_line_error(run("--lines", empty, "--out", out), "no usable line crops",
                          "missing_image 1")
    assert not out.exists()

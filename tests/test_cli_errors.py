"""Every synthgen command given bad values, as a user would type them: exit status 2,
exactly one line on stderr, no traceback, and nothing written (issue 13's must-show).

Each case is a command line with placeholders: {out} (a fresh path that must still not
exist afterwards), {tmp} (this test's empty folder), {ds} (a finished render), {bad} (the
same with a truncated shard), {half} (an unfinished run), {lines} (a stitch line list),
{corpus} (a text file) and {file} (a plain file: ``{file}/sub`` cannot be created, which
stands for an unwritable --out even as root). The needle must appear in the error line.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_stitch_fixtures import write_tsv

from cli.synthgen import main

RENDER = "render --layout line --length 2:4 --no-progress --out {out} "
STITCH = "stitch --lines {lines} --no-progress --out {out} "
AUGMENT = "augment {ds} {out} --no-progress "
PREVIEW = "preview {ds} --out {out}.png "
PUBLISH = "publish {ds} --dry-run --repo-id org/name "
CHECK = "fonts check --corpus {corpus} --fonts embedded "

IMPORT = "import {tmp} --no-progress "
EXPORT = "export {ds} --format pagexml "

CASES = [
    # import and export: empty or unwritable output, nothing to read, bad choices
    (IMPORT + "--out ''", "--out"), (IMPORT + "--out {out}", "no *.xml files"),
    (IMPORT + "--out {out} --format docx", "--format"), (IMPORT + "--out {file}/sub -n 0", "-n"),
    (EXPORT + "--out ''", "--out"), (EXPORT + "--out {file}/sub", "sub"),
    ("export {tmp}/nothing --format alto --out {out}", "nothing"),
    # render: counts, ranges, weights, choices, names, files, run options
    (RENDER + "-n 0", "-n"), (RENDER + "-n -1", "-n"),
    (RENDER + "--shard-size 0", "--shard-size"), (RENDER + "--shard-size -1", "--shard-size"),
    (RENDER + "--workers 0", "--workers"), (RENDER + "--workers -1", "--workers"),
    (RENDER + "--quality 0", "--quality"), (RENDER + "--quality 101", "--quality"),
    (RENDER + "--seed -1", "--seed"), (RENDER + "--length 5:2", "--length"),
    (RENDER + "--font-size a:b", "--font-size"), (RENDER + "--margin nan", "--margin"),
    (RENDER + "--align left=x", "--align"), (RENDER + "--rotation 45=1", "--rotation"),
    (RENDER + "--layout spiral", "--layout"), (RENDER + "--normalize NFD", "--normalize"),
    (RENDER + "--corpus {tmp}/nope.txt", "nope.txt"), (RENDER + "--augment extreme", "--augment"),
    (RENDER + "--fonts nope", "--fonts"), (RENDER + "--max-skew -1", "--max-skew"),
    (RENDER + "--skew 2", "--skew"), (RENDER + "--split a.b=1", "--split"),
    (RENDER + "--image-format gif", "--image-format"), (RENDER + "--backend dask", "--backend"),
    (RENDER + "--bogus", "--bogus"),
    ("render --no-progress --out {file}/sub -n 1", "sub"),
    ("render --layout line --no-progress -n 2 --shard-size 1 --seed 5 --out {ds}", "--overwrite"),
    # stitch
    (STITCH + "-n 0", "-n"), (STITCH + "--seed -1", "--seed"), (STITCH + "--workers 0", "--workers"),
    (STITCH + "--page-lines 0:2", "--page-lines"), (STITCH + "--jitter 1", "--jitter"),
    (STITCH + "--split-file x", "--split-file"), (STITCH + "--format xml", "--format"),
    (STITCH + "--holdout train=0.5", "--holdout"), (STITCH + "--augment extreme", "--augment"),
    ("stitch --lines {tmp}/none --out {out}", "--lines"),
    ("stitch --lines {lines} --no-progress --out {file}/sub -n 1", "sub"),
    # augment
    (AUGMENT + "--preset extreme", "extreme"), (AUGMENT + "--shard-size 0", "--shard-size"),
    (AUGMENT + "--quality 101", "--quality"), (AUGMENT + "--seed -1", "--seed"),
    (AUGMENT + "--workers 0", "--workers"), ("augment {tmp}/none {out}", "none"),
    ("augment {ds} {ds}", "OUT must differ"), ("augment {bad} {out} --no-progress", "train-000000"),
    ("augment {half} {out}", "no complete dataset.json"), ("augment {ds} {file}/sub", "sub"),
    # preview
    (PREVIEW + "-n 0", "-n"), (PREVIEW + "-n -1", "-n"), (PREVIEW + "--columns 0", "--columns"),
    (PREVIEW + "--cell-width 0", "--cell-width"), (PREVIEW + "--seed -1", "--seed"),
    (PREVIEW + "--augment extreme", "--augment"), ("preview {tmp}/none --out {out}.png", "none"),
    ("preview {ds} --out {file}/p.png", "p.png"), ("preview {ds} --out {tmp}", "--out"),
    # card
    ("card {tmp}/none", "DIRECTORY"), ("card {ds} --repo-id no-slash", "--repo-id"),
    ("card {ds} --license 'CC BY'", "--license"), ("card {ds} --language english!", "--language"),
    ("card {ds} --pretty-name ''", "--pretty-name"), ("card {half}", "incomplete"),
    ("card {blocked}", "assets"),
    # publish --dry-run (no token, no network)
    ("publish {ds} --dry-run --repo-id no-slash", "--repo-id"),
    (PUBLISH + "--files-per-commit 0", "--files-per-commit"),
    (PUBLISH + "--revision 'bad rev'", "--revision"), (PUBLISH + "--endpoint ftp://x", "--endpoint"),
    ("publish {tmp}/none --dry-run --repo-id org/name", "DIRECTORY"),
    ("publish {half} --dry-run --repo-id org/name", "incomplete"),
    ("publish {bad} --dry-run --repo-id org/name", "refusing to publish"),
    # datasets
    ("datasets add bad.name {ds}", "bad.name"), ("datasets add x {tmp}/none", "DIRECTORY"),
    ("datasets add x {tmp}", "no dataset.json"), ("datasets remove nope", "nope"),
    ("datasets list --bogus", "--bogus"), ("datasets add", "NAME"),
    # fonts (nothing reaches the network: every case fails first)
    ("fonts fetch --workers 0", "--workers"), ("fonts fetch --manifest nope", "--manifest"),
    ("fonts fetch --only cursive", "--only"), ("fonts fetch --manifest embedded --dest {file}/sub", "sub"),
    ("fonts list --manifest nope", "--manifest"), ("fonts list --only cursive", "--only"),
    ("fonts check --corpus {tmp}/none", "none"), (CHECK + "--top 0", "--top"),
    (CHECK + "--top -1", "--top"), ("fonts check --corpus {corpus} --fonts nope", "--fonts"),
    (CHECK + "--encoding nope", "nope"), (CHECK + "--corpus-format xml", "--corpus-format"),
    ("bogus", "bogus"),
    # issue 13 review: sizes past what can be encoded or held, empty names, option names
    (RENDER + "--width 100000:100000", "--width"), (RENDER + "--height 1:99999", "--height"),
    (RENDER + "--line-height 20000", "--line-height"),
    (RENDER + "--line-spacing 0:0", "--line-spacing"),
    (RENDER + "--line-spacing 0.01:0.01", "--line-spacing"),
    (RENDER + "-n 99999999999999999999", "-n"), (RENDER + "--scheduler x", "--scheduler"),
    (RENDER + "--split train=0.5,train=0.5", "--split"),
    (RENDER + "--split TRAIN=0.5,train=0.5", "--split"),
    ("render --out '' -n 2 --no-progress", "--out"),
    (STITCH + "--encoding nope", "--encoding"), (STITCH + "--format wds", "not a tar"),
    (STITCH + "--body-height 10000:10000", "--body-height"),
    (STITCH + "--max-width 100000", "--max-width"), (STITCH + "-n 10000000000", "-n"),
    (STITCH + "--holdout v.1=0.1", "--holdout"), (STITCH + "--split a=1,A=1", "--split"),
    (STITCH + "--split-file v.1={corpus}", "--split-file"),
    ("stitch --lines {lines} --no-progress --out '' -n 1", "--out"),
    (AUGMENT + "--preset heavyy", "--preset"), ("augment {ds} ''", "OUT_DIR"),
    ("preview {ds} --out ''", "--out"), ("preview {ds} --out {out}.gif", "--out"),
    (PREVIEW + "--cell-width 100000", "--cell-width"), (PREVIEW + "-n 5000", "-n"),
    (PREVIEW + "--columns 64 --cell-width 4096", "--columns"),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, str]:
    """The inputs the cases refer to (made once; every test checks they stay unchanged)."""
    root = tmp_path_factory.mktemp("world")
    r = CliRunner().invoke(main, ["render", "--out", str(root / "ds"), "-n", "2", "--layout",
                                  "line", "--no-progress", "--shard-size", "1"])
    assert r.exit_code == 0, r.output
    shutil.copytree(root / "ds", root / "bad")
    (root / "bad" / "train-000000.tar").write_bytes(b"\0" * 100)
    shutil.copytree(root / "ds", root / "blocked")
    (root / "blocked" / "assets").write_text("a file where the card's assets folder goes")
    (root / "half").mkdir()
    (root / "half" / "dataset.json").write_text(json.dumps({"status": "incomplete"}))
    (root / "file").write_text("a plain file")
    (root / "corpus.txt").write_text("plain words for the font check\n" * 5)
    write_tsv(root / "stitch", 8)
    return {"ds": root / "ds", "bad": root / "bad", "blocked": root / "blocked",
            "half": root / "half", "file": root / "file", "corpus": root / "corpus.txt",
            "lines": root / "stitch" / "lines.tsv", "root": root}


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root``: path -> (size, mtime in ns)."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def assert_clean_failure(result, needle: str) -> None:
    """Exit status 2, exactly one line on stderr naming ``needle``, nothing on stdout,
    no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.stderr.endswith("\n") and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("Error: ") and needle in result.stderr, result.stderr
    assert result.stdout == "", result.stdout


@pytest.mark.parametrize("line,needle", CASES, ids=[c[0] for c in CASES])
def test_a_bad_value_is_one_line_and_leaves_nothing(line, needle, world, tmp_path,
                                                    _own_catalogue):
    before = snapshot(world["root"])
    places = {k: str(v) for k, v in world.items()} | {"tmp": str(tmp_path),
                                                      "out": str(tmp_path / "out")}
    result = CliRunner().invoke(main, shlex.split(line.format(**places)))
    assert_clean_failure(result, needle)
    assert list(tmp_path.iterdir()) == []  # no --out, no stub, no temp file
    assert snapshot(world["root"]) == before  # inputs and existing runs untouched
    assert not _own_catalogue.exists()  # nothing was catalogued


@pytest.mark.parametrize("line", ["datasets add x {ds}", "datasets remove x"])
def test_an_unwritable_catalogue_is_one_line(line, world, tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHGEN_CATALOGUE", str(world["file"] / "sub" / "catalogue.json"))
    result = CliRunner().invoke(main, shlex.split(line.format(ds=world["ds"])))
    assert_clean_failure(result, str(world["file"]))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
@pytest.mark.parametrize("line", [RENDER + "-n 1", STITCH + "-n 1", AUGMENT, PREVIEW])
def test_a_read_only_folder_is_one_line_naming_the_path(line, world, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    try:
        places = {k: str(v) for k, v in world.items()} | {"out": str(ro / "out")}
        result = CliRunner().invoke(main, shlex.split(line.format(**places)))
        assert_clean_failure(result, str(ro / "out"))
        assert "Permission denied" in result.stderr and list(ro.iterdir()) == []
    finally:
        ro.chmod(0o700)

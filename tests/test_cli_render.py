"""`synthgen render` as a user runs it: bad input gets one clear line, nothing half-written."""

import json
import shutil

import pytest
from cli_helpers import assert_one_line_error, invoke

from cli.options import render_config
from cli.synthgen import main
from synthtext.dataset.shards import iter_samples
from synthtext.fonts.fontset import embedded_fonts
from synthtext.render.config import RenderConfig

FAST = ["--layout", "line", "--length", "2:6", "--no-progress", "--shard-size", "5"]


def run(*args):
    return invoke(main, *args)


@pytest.mark.parametrize("layout", ["line", "page"])
def test_render_command_defaults_are_the_library_defaults(layout):
    """`synthgen render --layout L` builds exactly RenderConfig(layout=L): the command adds
    no defaults of its own, so a trainer's render:CONFIG source matches the command."""
    ctx = main.commands["render"].make_context("render", ["--out", "o", "--layout", layout])
    assert render_config(ctx.params) == RenderConfig(layout=layout)


def test_render_defaults_work_and_print_a_summary(tmp_path):
    r = run("render", "--out", str(tmp_path / "o"), "-n", "10", *FAST)
    assert r.exit_code == 0, r.output
    assert "10 samples" in r.output and "rejected attempts" in r.output
    m = json.loads((tmp_path / "o" / "dataset.json").read_text())
    assert m["status"] == "complete"
    assert len(list((tmp_path / "o").glob("train-*.tar"))) == 2


def test_missing_corpus(tmp_path):
    r = run("render", "--out", str(tmp_path / "o"), "--corpus", str(tmp_path / "nope.txt"), *FAST)
    assert_one_line_error(r, "nope.txt", "not found")
    assert not (tmp_path / "o").exists()


def test_empty_corpus(tmp_path):
    (tmp_path / "empty.txt").write_text("  \n\n")
    r = run("render", "--out", str(tmp_path / "o"), "--corpus", str(tmp_path / "empty.txt"), *FAST)
    assert_one_line_error(r, "empty.txt", "empty")


def test_corpus_not_utf8_names_the_offset_and_encoding_fixes_it(tmp_path):
    p = tmp_path / "latin.txt"
    p.write_bytes("Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e and more words here\n".encode("latin-1") * 5)
    r = run("render", "--out", str(tmp_path / "o"), "--corpus", str(p), *FAST)
    assert_one_line_error(r, "latin.txt", "3", "--encoding")
    r = run("render", "--out", str(tmp_path / "o"), "--corpus", str(p), "--encoding", "latin-1",
            "-n", "5", *FAST)
    assert r.exit_code == 0, r.output


def test_bad_corpus_weight(tmp_path):
    r = run("render", "--out", str(tmp_path / "o"), "--corpus", "x.txt:heavy", *FAST)
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_corrupt_font_is_skipped_with_a_warning_and_all_corrupt_is_an_error(tmp_path):
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    (fonts / "broken.ttf").write_bytes(b"\x00\x01garbage" * 50)
    r = run("render", "--out", str(tmp_path / "o1"), "--fonts", str(fonts), *FAST)
    assert_one_line_error(r, "font")
    shutil.copy(embedded_fonts()[0].path, fonts / "good.ttf")
    with pytest.warns(UserWarning, match="broken.ttf"):
        r = run("render", "--out", str(tmp_path / "o2"), "--fonts", str(fonts), "-n", "5", *FAST)
    assert r.exit_code == 0, r.output


def test_font_size_that_cannot_fit(tmp_path):
    r = run("render", "--out", str(tmp_path / "o"), "--width", "200", "--height", "200",
            "--font-size", "150:160")
    assert_one_line_error(r, "--font-size", "cannot fit")


def test_output_dir_from_another_run_is_refused_until_overwrite(tmp_path):
    out = str(tmp_path / "o")
    assert run("render", "--out", out, "-n", "5", *FAST).exit_code == 0
    r = run("render", "--out", out, "-n", "5", "--seed", "3", *FAST)
    assert_one_line_error(r, "other parameters", "--overwrite")
    r = run("render", "--out", out, "-n", "5", "--seed", "3", "--overwrite", *FAST)
    assert r.exit_code == 0


def test_rerun_of_a_complete_run_writes_nothing(tmp_path):
    out = str(tmp_path / "o")
    assert run("render", "--out", out, "-n", "10", *FAST).exit_code == 0
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "o").glob("*.tar")}
    r = run("render", "--out", out, "-n", "10", *FAST)
    assert r.exit_code == 0 and "0 written, 2 already complete" in r.output
    assert before == {p.name: p.stat().st_mtime_ns for p in (tmp_path / "o").glob("*.tar")}


def test_shard_size_below_one_is_a_usage_error(tmp_path):
    r = run("render", "--out", str(tmp_path / "o"), "--shard-size", "0", "-n", "3")
    assert r.exit_code == 2 and "--shard-size" in r.output, r.output
    assert not (tmp_path / "o").exists()


def test_bad_option_values(tmp_path):
    r = run("render", "--out", str(tmp_path / "o"), "--font-size", "40:20")
    assert_one_line_error(r, "--font-size")
    r = run("render", "--out", str(tmp_path / "o"), "--cursive-ratio", "1.5")
    assert_one_line_error(r, "--cursive-ratio")
    r = run("render", "--out", str(tmp_path / "o"), "--rotation", "45=1")
    assert_one_line_error(r, "--rotation")


def test_length_dist_option_reaches_the_config_and_the_lengths(tmp_path):
    ctx = main.commands["render"].make_context(
        "render", ["--out", "o", "--layout", "line", "--length-dist", "loguniform"])
    assert render_config(ctx.params).length_dist == "loguniform"
    words = {}
    for dist in ("uniform", "loguniform"):
        out = tmp_path / dist
        r = run("render", *FAST, "--out", str(out), "-n", "60", "--length", "1:40",
                "--length-dist", dist)
        assert r.exit_code == 0, r.output
        words[dist] = sorted(len(d["txt"].split()) for d in iter_samples(str(out)))
    assert sum(words["loguniform"]) < 0.8 * sum(words["uniform"])  # more short texts

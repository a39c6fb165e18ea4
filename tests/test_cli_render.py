"""`synthgen render` as a user runs it: bad input gets one clear line, nothing half-written."""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, invoke

from cli.options import render_config
from cli.synthgen import main
from synthtext.dataset import shards
from synthtext.dataset.shards import iter_samples
from synthtext.fonts.fontset import embedded_fonts
from synthtext.render.config import RenderConfig

FAST = ["--layout", "line", "--length", "2:6", "--no-progress", "--shard-size", "5"]
ROOT = Path(__file__).resolve().parents[1]
SYNTHGEN = [sys.executable, "-m", "cli.synthgen"]


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


def test_a_run_that_fails_before_its_first_shard_leaves_nothing(tmp_path):
    """Issue 13: a failed start used to leave dataset.json, and the corrected rerun was
    refused as 'a run made with other parameters'."""
    cjk = tmp_path / "cjk.txt"
    cjk.write_text("\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\n" * 5, encoding="utf-8")
    out = tmp_path / "w" / "a"
    r = run("render", "--out", out, "--corpus", cjk, "-n", "2", *FAST)
    assert_one_line_error(r, "missing_glyph")
    assert not (tmp_path / "w").exists()  # nor the parent folder it made
    r = run("render", "--out", out, "--augment", "extreme", "-n", "2", *FAST)
    assert_one_line_error(r, "--augment")
    assert not (tmp_path / "w").exists()
    r = run("render", "--out", out, "--augment", "medium", "-n", "2", *FAST)
    assert r.exit_code == 0, r.output


def test_the_stub_of_a_run_killed_before_its_first_shard_is_taken_over(tmp_path):
    out = tmp_path / "o"
    (out / ".synthgen").mkdir(parents=True)
    (out / "dataset.json").write_text(json.dumps(
        {"status": "incomplete", "config_sha256": "0" * 64, "config": {"render": {}}}))
    r = run("render", "--out", out, "-n", "5", *FAST)
    assert r.exit_code == 0, r.output
    assert json.loads((out / "dataset.json").read_text())["status"] == "complete"


def test_disk_full_is_one_line_naming_the_shard_and_the_run_resumes(tmp_path, monkeypatch):
    write = shards._HashingSink.write

    def full_at(name):
        def fake(self, data):
            if not self.discard and name in self._f.name:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return write(self, data)
        return fake

    out = tmp_path / "o"
    with monkeypatch.context() as m:
        m.setattr(shards._HashingSink, "write", full_at("train-000000"))
        r = run("render", "--out", out, "-n", "10", *FAST)
    assert_one_line_error(r, f"{out / 'train-000000.tar'}: No space left on device")
    assert not out.exists()  # the first shard failed: nothing is kept
    with monkeypatch.context() as m:
        m.setattr(shards._HashingSink, "write", full_at("train-000001"))
        r = run("render", "--out", out, "-n", "10", *FAST)
    assert_one_line_error(r, f"{out / 'train-000001.tar'}: No space left on device")
    assert sorted(p.name for p in out.iterdir()) == [".synthgen", "dataset.json",
                                                     "train-000000.tar"]  # no temp file
    r = run("render", "--out", out, "-n", "10", "--seed", "3", *FAST)
    assert_one_line_error(r, "other parameters")  # a finished shard is worth protecting
    r = run("render", "--out", out, "-n", "10", *FAST)
    assert r.exit_code == 0 and "1 written, 1 already complete" in r.output, r.output


def test_ctrl_c_is_one_line_and_exit_status_130(tmp_path):
    out = tmp_path / "o"
    proc = subprocess.Popen(SYNTHGEN + ["render", "--out", str(out), "-n", "1000000",
                                        "--shard-size", "1000000", *FAST[:4], "--no-progress"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / "dataset.json").exists():  # rendering has started
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert (proc.returncode, stderr, stdout) == (130, "interrupted\n", "")
    assert not out.exists()  # stopped before its first shard


def test_a_warning_is_printed_once_even_from_worker_processes(tmp_path):
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    (fonts / "broken.ttf").write_bytes(b"\x00\x01garbage" * 50)
    shutil.copy(embedded_fonts()[0].path, fonts / "good.ttf")
    p = subprocess.run(SYNTHGEN + ["render", "--out", str(tmp_path / "o"), "--fonts", str(fonts),
                                   "-n", "4", "--shard-size", "1", "--workers", "2",
                                   *FAST[:5]], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stderr.count("broken.ttf") == 1 and "UserWarning" not in p.stderr, p.stderr
    assert p.stderr.startswith("warning: font ")


def test_progress_in_a_log_is_plain_lines(tmp_path):
    r = run("render", "--out", tmp_path / "o", "-n", "4", "--shard-size", "2", *FAST[:4])
    assert r.exit_code == 0, r.output
    assert "\r" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("render: 4/4 samples (100%), ")

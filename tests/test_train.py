"""``fphtr`` end to end on shards made in the test: the loss falls, a killed run resumes from
its checkpoint (step, schedule clock), --init-from extends the vocabulary, a checkpoint from
another vocabulary is refused, DDP on 2 gloo processes keeps the ranks in agreement, and
eval / predict / plot work. Everything is tiny so the file runs in well under a minute."""

import io
import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
import warnings

import cv2
import pytest
import torch
from click.testing import CliRunner
from model_helpers import one_torch_thread  # noqa: F401 - autouse fixture

from cli.fphtr import main
from model import checkpoint as ckpt
from model import skips
from model.runlog import RunLog
from synthtext.dataset.sample import Sample
from synthtext.dataset.shards import iter_samples
from synthtext.render.config import RenderConfig
from synthtext.render.generate import render_shards

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = ["stem_width=8", "widths=[8,16,16,32]", "d_model=32", "num_layers=1", "dim_ff=64",
        "max_width=192", "batch_size=8", "num_workers=0", "warmup_steps=5", "val_samples=8",
        "val_batch_size=8", "val_examples=1", "log_every=1", "threads=1", "shuffle_buffer=20",
        "rebatch_buffer=8", "mix_samples=400", "lr=3e-3"]


def _render(out, corpus=None, n=40, seed=0):
    corpora = ((str(corpus), 1.0),) if corpus else ()
    cfg = RenderConfig(corpora=corpora, corpus_format="lines" if corpus else "auto",
                       layout="line", length=(1, 2), line_height=(32, 36), font_size=(20, 24),
                       rotation={0: 1.0}, seed=seed, split=(("train", 0.8), ("validation", 0.2)))
    render_shards(cfg, out, n=n, shard_size=25, progress=False)
    return str(out)


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return _render(tmp_path_factory.mktemp("data") / "lines", n=60)


@pytest.fixture(scope="module")
def trained(shards, tmp_path_factory):
    """A 40-step run shared by the eval, predict, plot and init-from tests."""
    out = str(tmp_path_factory.mktemp("runs") / "smoke")
    r = cli("train", "--data", shards, "--val", shards, "--out", out, "--max-steps", "40",
            "--no-progress", "val_every=20", "ckpt_every=20", *FAST)
    assert r.exit_code == 0, r.output
    return out


def cli(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def one_line_error(r, *needles):
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.output.splitlines() if ln.strip() and not ln.startswith("warning:")]
    assert len(lines) == 1 and "Traceback" not in r.output, r.output
    for n in needles:
        assert n in lines[0], lines[0]


def metrics(run):
    with open(os.path.join(run, "metrics.jsonl")) as f:
        return [json.loads(ln) for ln in f]


def test_smoke_loss_falls(trained):
    losses = [m["loss"] for m in metrics(trained) if m["kind"] == "train"]
    assert len(losses) == 40
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < first - 1.0, (first, last)
    vals = [m for m in metrics(trained) if m["kind"] == "val"]
    assert [v["step"] for v in vals] == [20, 40] and "lines" in vals[0]["per_source"]
    ck = ckpt.load(os.path.join(trained, "last.pt"))
    assert ck["step"] == 40 and ck["mix"]["clock"] == 320
    assert os.path.isfile(os.path.join(trained, "best.pt"))


def test_kill_and_resume_continues_the_step_and_the_schedule(shards, tmp_path):
    out = str(tmp_path / "run")
    cmd = [sys.executable, "-m", "cli.fphtr", "train", "--data", f"A={shards}@1:0",
           "--data", f"B={shards}@0:1", "--out", out, "--max-steps", "100000", "--no-progress",
           "ckpt_every=6", "ema_decay=0.9", *FAST]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    last = os.path.join(out, "last.pt")
    try:
        deadline = time.time() + 60
        while not os.path.exists(last) and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert os.path.exists(last), proc.stderr.read().decode() if proc.poll() else "timeout"
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    saved = ckpt.load(last)
    step, clock = saved["step"], saved["mix"]["clock"]
    assert step % 6 == 0 and step >= 6 and clock == step * 8
    r = cli("train", "--out", out, "--resume", "--max-steps", str(step + 4), "--no-progress")
    assert r.exit_code == 0, r.output
    rows = [m for m in metrics(out) if m["kind"] == "train"]
    assert [m["step"] for m in rows] == list(range(1, step + 5))  # no gap, no repeat
    after = ckpt.load(last)
    assert after["step"] == step + 4 and after["mix"]["clock"] == clock + 32
    assert after["scheduler"]["step"] == step + 4 and after["ema"] is not None
    w = rows[-1]["mix"]  # weights continue the 400-sample curve from the saved clock
    assert w["A"] == pytest.approx(max(0.0, 1 - (clock + 32) / 400), abs=1e-3)
    r = cli("train", "--out", out, "--data", shards, "--no-progress")
    one_line_error(r, "already holds a checkpoint", "--resume")
    r = cli("train", "--out", out, "--resume", "d_model=64")
    one_line_error(r, "cannot change d_model", "--init-from")


def test_sigterm_to_the_process_group_checkpoints_and_exits_cleanly(shards, tmp_path):
    out = str(tmp_path / "run")
    cmd = [sys.executable, "-m", "cli.fphtr", "train", "--data", shards, "--out", out,
           "--max-steps", "100000", "--no-progress", *FAST, "num_workers=1",
           "ckpt_every=100000"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    log = os.path.join(out, "metrics.jsonl")
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None and \
            not (os.path.exists(log) and os.path.getsize(log) > 0):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGTERM)  # trainer and its DataLoader worker alike
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()[-2000:]
    steps = [m["step"] for m in metrics(out) if m["kind"] == "train"]
    assert ckpt.load(os.path.join(out, "last.pt"))["step"] == steps[-1] >= 1


def test_init_from_extends_the_vocabulary_and_other_vocab_is_refused(trained, tmp_path):
    corpus = tmp_path / "greek.txt"
    corpus.write_text("Ωμέγα straße ΩΩ\næther Ωmega strasse\n" * 30, encoding="utf-8")
    new = _render(tmp_path / "greek", corpus=corpus, n=20)
    base = os.path.join(trained, "last.pt")
    out = str(tmp_path / "domain")
    r = cli("train", "--data", new, "--out", out, "--init-from", base, "--max-steps", "3",
            "--augment", "light", "--no-progress", *FAST)
    assert r.exit_code == 0, r.output
    old, grown = ckpt.load(base), ckpt.load(os.path.join(out, "last.pt"))
    n = len(old["vocab"]["symbols"])
    assert grown["vocab"]["symbols"][:n] == old["vocab"]["symbols"]
    assert "Ω" in grown["vocab"]["symbols"][n:]
    assert grown["model"]["head.weight"].shape[0] == len(grown["vocab"]["symbols"])
    # resuming the old run on other data: refused, with the fix
    r = cli("train", "--out", trained, "--resume", "--data", new, "--no-progress")
    one_line_error(r, "cannot change --data of a running run", f"--init-from {base}")
    r = cli("train", "--data", new, "--out", str(tmp_path / "x"), "--init-from", base,
            "d_model=64")
    one_line_error(r, "cannot change d_model")
    for preset in ("tiny", "base"):  # the checkpoint is a shrunk tiny: neither fits it
        r = cli("train", "--data", new, "--out", str(tmp_path / "x"), "--init-from", base,
                "--preset", preset)
        one_line_error(r, f"--init-from {base} holds a 'tiny' model", f"--preset {preset}",
                       "d_model")


def test_resume_takes_the_same_command_again_from_any_folder(shards, tmp_path, monkeypatch):
    """The command that started a run, repeated with --resume, continues it (only changed
    values are refused, by name); the run directory keeps absolute sources, so a bare
    --resume works from another folder."""
    monkeypatch.chdir(os.path.dirname(shards))
    data = os.path.basename(shards)  # a relative path
    run = ["train", "--data", data, "--val", data, "--out", "run", "--preset", "tiny",
           "--no-progress", "val_every=2", *FAST]
    assert cli(*run, "--max-steps", "2").exit_code == 0
    r = cli(*run, "--max-steps", "3", "--resume")
    assert r.exit_code == 0, r.output
    one_line_error(cli(*run, "--resume", "lr=0.01", "threads=2"),
                   "cannot change lr (0.003 -> 0.01), threads (1 -> 2)")
    one_line_error(cli(*run, "--resume", "--preset", "base"), "--preset tiny, not base")
    one_line_error(cli(*run, "--resume", "--init-from", "run/last.pt"),
                   "started from scratch", "drop --init-from")
    config = json.loads(open("run/config.json").read())
    assert config["data"] == [f"{data}={shards}@1.0"] and config["val"] == config["data"]
    moved = ["train", "--data", f"{data}={shards}", "--val", data, "--out", "run",
             "--no-progress", *FAST]
    assert cli(*moved, "--resume", "--max-steps", "4").exit_code == 0  # same after resolving
    other = str(tmp_path / "other")
    os.symlink(shards, other)
    for opt in ("--data", "--val"):
        changed = [other if a == data and run[i - 1] == opt else a for i, a in enumerate(run)]
        one_line_error(cli(*changed, "--resume", "--max-steps", "6"),
                       f"cannot change {opt} of a running run")
    after = json.loads(open("run/config.json").read())
    assert (after["data"], after["val"]) == (config["data"], config["val"])
    one_line_error(cli(*run, "--resume", "--max-steps", "3"),
                   "already at step 4", "--max-steps above 4")
    monkeypatch.chdir(tmp_path)
    out = os.path.join(os.path.dirname(shards), "run")
    r = cli("train", "--out", out, "--resume", "--max-steps", "5", "--no-progress")
    assert r.exit_code == 0, r.output
    assert ckpt.load(os.path.join(out, "last.pt"))["step"] == 5


def _pages(out, corrupt_first=False):
    """Page shards whose labels are far longer than max_len=128 tokens; optionally with the
    first image broken."""
    cfg = RenderConfig(layout="page", length=(30, 40), width=(300, 360), height=(300, 360),
                       font_size=(14, 16), seed=5, split=(("validation", 1.0),))
    render_shards(cfg, out, n=5, shard_size=5, progress=False)
    if corrupt_first:
        tar = os.path.join(out, "validation-000000.tar")
        with tarfile.open(tar) as tin:
            members = [(m, tin.extractfile(m).read()) for m in tin]
        with tarfile.open(tar, "w") as tout:
            for m, data in members:
                data = b"not an image" if m.name == "validation-000000000.jpg" else data
                m.size = len(data)
                tout.addfile(m, io.BytesIO(data))
    return str(out)


def test_eval_and_validation_score_every_sample(trained, shards, tmp_path):
    pages = _pages(tmp_path / "pages", corrupt_first=True)
    labels = [s["txt"].decode("utf-8") for s in iter_samples(pages)][1:]
    assert min(len(t) for t in labels) > 128  # longer than the model's max_len
    r = cli("eval", "--checkpoint", os.path.join(trained, "last.pt"), "--data", pages)
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["scored"] == rep["n"] == 4 and rep["chars"] == sum(map(len, labels))
    assert rep["cer"] > 0.5  # the truncated predictions count their errors
    assert rep["not_scored"] == 1
    assert rep["not_scored_why"] == {"pages": {"image bytes do not decode": 1}}
    out = str(tmp_path / "run")
    r = cli("train", "--data", shards, "--val", pages, "--out", out, "--max-steps", "1",
            "--no-progress", *FAST)
    assert r.exit_code == 0, r.output
    val = [m for m in metrics(out) if m["kind"] == "val"][0]
    assert (val["scored"], val["not_scored"]) == (4, 1)
    assert "4 samples" in r.output and "1 not scored (pages: 1 image bytes do not decode)" \
        in r.output


def test_skipped_samples_warn_once_per_reason_and_sum_up_at_the_end(shards, tmp_path):
    """Pages longer than max_len, drawn again and again from a resampled stream in a loader
    worker (3 of its 5 labels are longer): one warning line for the reason, and the final
    line counts them."""
    pages = os.path.join(_pages(tmp_path / "pages"), "validation-000000.tar")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = cli("train", "--data", shards, "--data", f"pages={pages}@4", "--out",
                str(tmp_path / "run"), "--max-steps", "3", "--no-progress", *FAST,
                "num_workers=1", "max_len=200")
    assert r.exit_code == 0, r.output
    warned = [str(w.message) for w in caught if "longer than max_len" in str(w.message)]
    assert len(warned) == 1 and warned[0].startswith("skipped sample"), warned
    last = r.output.strip().splitlines()[-1]
    n = int(re.search(r"; skipped pages: (\d+) label longer than max_len=200 tokens", last)[1])
    assert n >= 3, last  # each long page, some more than once


def test_progress_in_a_log_is_plain_lines(tmp_path, capsys):
    """stderr is no terminal here: no carriage returns, a plain progress line at the end."""
    log = RunLog(str(tmp_path / "r"), main=True, description="a run", start_step=0,
                 max_steps=3, log_every=1, progress=True)
    for step in (1, 2, 3):
        log.step(step, 1.0, 8, samples_seen=8 * step, lr=1e-3, mix={}, skipped={})
    log.close()
    err = capsys.readouterr().err
    assert "\r" not in err and "train: 3/3 steps (100%)" in err
    assert "step 3/3 loss 1.0000" in err


def test_eval_predict_and_plot(trained, shards, tmp_path):
    best = os.path.join(trained, "best.pt")
    r = cli("eval", "--checkpoint", best, "--data", shards, "--limit", "6", "--examples", "2")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["n"] == 6 and 0 <= rep["cer"] and rep["samples_per_s"] > 0
    assert set(rep["per_source"]) == {"lines"} and len(rep["examples"]) == 2
    sample = Sample.from_wds(next(iter_samples(os.path.join(shards, "validation-000000.tar"))))
    png = str(tmp_path / "line.png")
    cv2.imwrite(png, sample.image)
    r = cli("predict", "--checkpoint", best, png, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["image"] == png
    (tmp_path / "broken.png").write_bytes(b"\x89PNG broken")
    one_line_error(cli("predict", "--checkpoint", best, str(tmp_path / "broken.png")),
                   "broken.png", "not a decodable image")
    r = cli("plot", trained)
    assert r.exit_code == 0, r.output
    with open(os.path.join(trained, "curves.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_bad_inputs_give_one_line_errors(shards, tmp_path):
    out = str(tmp_path / "r")
    one_line_error(cli("train", "--data", str(tmp_path / "none-*.tar"), "--out", out),
                   "none-*.tar", "no shards match")
    one_line_error(cli("train", "--data", shards, "--out", out, "lrr=1"), "unknown config key")
    one_line_error(cli("train", "--out", out, "--resume"), "nothing to resume")
    evil = tmp_path / "evil.pt"
    torch.save({"format": ckpt.FORMAT, "x": _Evil()}, evil)
    one_line_error(cli("eval", "--checkpoint", str(evil), "--data", shards), "not safe to load")


def test_a_source_that_only_fails_stops_with_one_line(shards, tmp_path, monkeypatch):
    bad = tmp_path / "bad"
    bad.mkdir()
    with tarfile.open(os.path.join(shards, "train-000000.tar")) as tin, \
            tarfile.open(bad / "train-000000.tar", "w") as tout:
        for m in tin:
            data = tin.extractfile(m).read()
            data = b"not an image" if m.name.endswith(".jpg") else data
            m.size = len(data)
            tout.addfile(m, io.BytesIO(data))
    monkeypatch.setattr(skips, "MAX_CONSECUTIVE_FAILURES", 5)
    r = cli("train", "--data", str(bad), "--out", str(tmp_path / "r"), "--no-progress", *FAST)
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    errors = [ln for ln in r.output.splitlines() if ln.startswith("Error:")]
    assert errors == ["Error: data source bad: 5 samples or shards in a row failed; last error: "
                      "image bytes do not decode"], r.output


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_ddp_two_gloo_processes_agree(shards, tmp_path):
    out = str(tmp_path / "ddp")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "2", "-m", "cli.fphtr", "train", "--data", shards, "--val", shards, "--out", out,
           "--max-steps", "4", "--no-progress", "ckpt_every=2", "val_every=4", *FAST]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    events = [m for m in metrics(out) if m["kind"] == "checkpoint"]
    assert [e["step"] for e in events] == [2, 4]
    assert all(e["world_size"] == 2 and e["ranks_agree"] for e in events)
    ck = ckpt.load(os.path.join(out, "last.pt"))
    assert ck["world_size"] == 2 and ck["mix"]["clock"] == 4 * 8 * 2 and len(ck["rng"]) == 2

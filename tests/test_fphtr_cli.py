"""Every ``fphtr`` command with invalid values, as a user types them: exit status 2, one
line on stderr, no traceback, and nothing left on disk. Also: paths inside config files
start from the file's folder, and nothing in the repository names a machine's absolute path.
"""

import json
import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from model_helpers import one_torch_thread  # noqa: F401 - autouse fixture

from cli.fphtr import main
from model import checkpoint as ckpt
from model import sources
from model.config import ModelConfig, TrainConfig
from model.network import build_model
from model.vocab import Vocab
from synthtext.dataset.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
SMALL = ModelConfig(stem_width=8, widths=(8, 16, 16, 32), d_model=32, num_layers=1,
                    dim_ff=64, max_width=192)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A small untrained checkpoint, a line image, and a run directory with metrics."""
    d = tmp_path_factory.mktemp("fphtr")
    vocab = Vocab.build("abc")
    payload = ckpt.model_payload(build_model(SMALL, vocab), vocab, SMALL, TrainConfig())
    ckpt.save(str(d / "m.pt"), payload)
    cv2.imwrite(str(d / "line.png"), np.full((32, 96), 255, np.uint8))
    (d / "empty.png").write_bytes(b"")
    (d / "run").mkdir()
    (d / "run" / "metrics.jsonl").write_text(json.dumps(
        {"kind": "train", "step": 1, "loss": 2.0}) + "\n")
    return d


def _tree(root: Path) -> set:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _bad_cases(f: Path) -> list[list[str]]:
    ck, png, run = str(f / "m.pt"), str(f / "line.png"), str(f / "run")
    train = ["train", "--data", "render:", "--out", "out"]
    return [
        train[:-1] + ["afile/sub"],                           # --out inside a file
        train + ["--max-steps", "0"], train + ["--max-steps", "x"],
        train + ["--max-time", "soon"], train + ["--preset", "huge"],
        train + ["--init-from", "missing.pt"], train + ["lrr=1"], train + ["lr"],
        train + ["lr=fast"], train + ["--config", "missing.json"],
        train + ["--augment", "missing.yaml"],
        ["train", "--data", "rendr:x.json", "--out", "out"],
        ["train", "--data", "nothing-*.tar", "--out", "out"],
        ["train", "--out", "out"], ["train", "--out", "out", "--resume"],
        ["eval", "--checkpoint", "missing.pt", "--data", "render:"],
        ["eval", "--checkpoint", ck, "--data", "x@0.5:"],
        ["eval", "--checkpoint", ck, "--data", "render:", "--limit", "0"],
        ["eval", "--checkpoint", ck, "--data", "render:", "--beam", "0"],
        ["eval", "--checkpoint", ck, "--data", "render:", "--batch-size", "-1"],
        ["predict", "--checkpoint", "missing.pt", png],
        ["predict", "--checkpoint", ck, "missing.png"],
        ["predict", "--checkpoint", ck, png, "--beam", "0"],
        ["predict", "--checkpoint", ck, png, "--threads", "-1"],
        ["plot", "no-run"], ["plot", run, "--out", "afile/curves.png"],
        ["plot", run, "--out", str(f)],
        ["predict", "--checkpoint", ck, str(f / "empty.png")],
        ["config", "lrr=1"], ["config", "--preset", "huge"], ["config", "lr=nan"],
        train + ["--max-time", "0"], train + ["--max-time", ""],
        ["train", "--data", "render:@0", "--out", "out"],
        ["train", "--data", "render:@0:0", "--data", "render:", "--out", "out"],
    ] + [train + [kv] for kv in BAD_VALUES]


# Out-of-range training and model values: refused by name before --out is written.
BAD_VALUES = ["lr=nan", "lr=-1", "lr=0", "lr=inf", "d_model=0", "num_workers=-1",
              "label_smoothing=1.5", "threads=-1", "warmup_steps=-1", "dropout=1",
              "batch_size=0", "max_len=2", "ema_decay=1", "min_lr_ratio=2", "clip_grad=0"]


@pytest.mark.parametrize("kv", BAD_VALUES)
def test_an_out_of_range_value_names_its_key(kv):
    r = CliRunner().invoke(main, ["config", kv])
    assert r.exit_code == 2 and r.stderr.startswith(f"Error: {kv.split('=')[0]}="), r.stderr


@pytest.mark.parametrize("case", range(len(_bad_cases(Path("f")))))
def test_invalid_values_are_one_line_and_leave_nothing(case, files, tmp_path, monkeypatch):
    args = _bad_cases(files)[case]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("a file, not a folder\n")
    before, run_before = _tree(tmp_path), _tree(files)
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2, (args, r.output)
    assert "Traceback" not in r.output, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), (args, r.stderr)
    assert _tree(tmp_path) == before and _tree(files) == run_before, args


def test_an_unwritable_out_names_the_path(files, tmp_path):
    (tmp_path / "afile").write_text("x")
    r = CliRunner().invoke(main, ["train", "--data", "render:", "--out",
                                  str(tmp_path / "afile" / "sub"), "--max-steps", "1"])
    assert r.exit_code == 2 and f"{tmp_path / 'afile'} is not a directory" in r.stderr
    r = CliRunner().invoke(main, ["plot", str(files / "run"), "--out",
                                  str(tmp_path / "afile" / "c.png")])
    assert r.exit_code == 2 and "--out" in r.stderr and "is not a directory" in r.stderr


# -- paths in config files start from the file's folder -----------------------------------
def test_render_config_paths_start_from_its_folder(tmp_path, monkeypatch):
    (tmp_path / "recipe" / "data").mkdir(parents=True)
    (tmp_path / "recipe" / "data" / "c.txt").write_text("some words here\n" * 20)
    conf = tmp_path / "recipe" / "lines.json"
    conf.write_text(json.dumps({"corpora": [["data/c.txt", 1.0]], "fonts": "embedded"}))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = sources.render_config(str(conf))
    assert cfg.corpora == ((str(tmp_path / "recipe" / "data" / "c.txt"), 1.0),)
    assert sources.render_charset(str(conf)) >= set("somewrdh")


def test_a_missing_corpus_in_a_config_names_the_file_and_the_field(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("rc.json").write_text(json.dumps({"corpora": [["nope.txt", 1.0]], "layout": "line"}))
    r = CliRunner().invoke(main, ["train", "--data", "render:rc.json", "--out", "w/r",
                                  "--max-steps", "1"])
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert "render:rc.json" in lines[0] and "corpora" in lines[0] and "nope.txt" in lines[0]
    assert not Path("w").exists()


def test_stitch_and_train_config_paths_start_from_their_folder(tmp_path, monkeypatch):
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "lines.tsv").write_text("img/a.png\tsome words\tw1\n")
    (tmp_path / "cfg" / "aug.json").write_text("{}")
    stitch = tmp_path / "cfg" / "pages.json"
    stitch.write_text(json.dumps({"lines": "lines.tsv", "split_files": {"test": "ids.txt"}}))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match=r"stitch:.*pages.json: split_files 'ids.txt' not found"):
        sources.stitch_config(str(stitch))
    (tmp_path / "cfg" / "ids.txt").write_text("w1\n")
    cfg = sources.stitch_config(str(stitch))
    assert cfg.lines == str(tmp_path / "cfg" / "lines.tsv")
    assert cfg.split_files == (("test", str(tmp_path / "cfg" / "ids.txt")),)
    train = tmp_path / "cfg" / "train.json"
    train.write_text(json.dumps({"train": {"augment": "aug.json", "lr": 0.002}}))
    r = CliRunner().invoke(main, ["config", "--config", str(train)])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["train"]["augment"] == str(tmp_path / "cfg" / "aug.json")


def test_the_wikitext_recipe_finds_its_corpus_next_to_it(tmp_path, monkeypatch):
    recipe = json.loads((ROOT / "recipes" / "wikitext-lines.json").read_text())
    (tmp_path / "recipes" / "data").mkdir(parents=True)
    (tmp_path / "recipes" / "wikitext-lines.json").write_text(json.dumps(recipe))
    corpus = tmp_path / "recipes" / recipe["corpora"][0][0]
    corpus.write_text(" = Title = \n A line of text , with words . \n" * 20)
    monkeypatch.chdir(tmp_path / "recipes" / "data")
    cfg = sources.render_config(str(tmp_path / "recipes" / "wikitext-lines.json"))
    assert cfg.corpora[0][0] == str(corpus)


ABSOLUTE = re.compile(r"(?<![\w.@~-])/(?:work|tmp|home|root|Users|mnt)/")


def test_nothing_in_the_repository_names_a_machine_path():
    docs = [ROOT / "README.md", *(ROOT / "recipes").glob("*.json"),
            *(ROOT / "recipes").glob("*.md"), *(ROOT / "benchmarks").glob("*.md")]
    found = [f"{p.name}: {m.group(0)}" for p in docs if p.is_file()
             for m in ABSOLUTE.finditer(p.read_text(encoding="utf-8"))]
    assert not found, found

"""Names that reach keys and file names are checked before anything is written.

A split named ``v1.0`` made keys ``v1.0-000000000``: WebDataset readers and ``datasets`` split
member names at the first dot, so samples merged and every reader broke.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from cli_helpers import assert_one_line_error, invoke
from test_stitch_fixtures import write_tsv

from cli.synthgen import main
from stitcher import StitchConfig
from stitcher.generate import stitch_shards
from synthtext.dataset import catalogue
from synthtext.dataset.errors import ConfigError, UserError
from synthtext.dataset.runner import run
from synthtext.dataset.sample import check_sample
from synthtext.dataset.shards import AtomicTarWriter, iter_samples
from synthtext.render.config import RenderConfig
from synthtext.render.generate import render_shards

BAD_SPLITS = ["v1.0", "a/b", "a b", "val-2", "-x", "_x", "", "café", "x" * 65]
LINE = RenderConfig(layout="line", length=(1, 3), font_size=(16, 20), line_height=(30, 34),
                    rotation={0: 1.0})
OPTS = dict(shard_size=4, progress=False)


def leaves_nothing(out) -> bool:
    return not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("name", BAD_SPLITS)
def test_render_refuses_a_bad_split_name_before_writing(tmp_path, name):
    out = tmp_path / "o"
    with pytest.raises(ConfigError, match="^--split: split name") as e:
        render_shards(replace(LINE, split=((name, 1.0),)), out, 4, **OPTS)
    assert repr(name) in str(e.value) and leaves_nothing(out)


@pytest.mark.parametrize("name", ["a b", "val-2", "v1.0"])
def test_stitch_refuses_a_bad_split_name_before_writing(tmp_path, name):
    tsv, _ = write_tsv(tmp_path, 8, writers=8)
    cfg = StitchConfig(lines=str(tsv), split=((name, 1.0),), holdout=((name, 0.5),),
                       page_lines=(2, 3))
    with pytest.raises(ConfigError, match="--split") as e:
        stitch_shards(cfg, tmp_path / "o", 4, **OPTS)
    assert repr(name) in str(e.value) and leaves_nothing(tmp_path / "o")


def test_the_cli_names_split_and_a_corrected_rerun_works(tmp_path):
    out = tmp_path / "dot"
    common = ["render", "--out", out, "-n", "4", "--layout", "line", "--length", "1:2",
              "--no-progress"]
    r = invoke(main, *common, "--split", "v1.0=0.8,test=0.2")
    assert_one_line_error(r, "--split", "'v1.0'", "'v1_0'")
    assert leaves_nothing(out)
    r = invoke(main, *common, "--split", "v1_0=0.5,test=0.5")
    assert r.exit_code == 0, r.output
    keys = [d["__key__"] for d in iter_samples(str(out))]
    assert len(keys) == 4 and all(check_sample(d) == [] for d in iter_samples(str(out)))
    assert sorted(p.name for p in out.glob("*.tar")) == ["test-000000.tar", "v1_0-000000.tar"]


class _NeverBuilt:
    """A job the runner must refuse before building it."""

    def config(self) -> dict:
        return {}

    def build(self):
        raise AssertionError("the runner built the job of a refused run")


def test_the_runner_refuses_bad_split_names_for_every_producer(tmp_path):
    with pytest.raises(ConfigError, match=r"^--split: split name 'v1\.0'"):
        run(_NeverBuilt(), tmp_path / "o", {"v1.0": 2}, progress=False)
    assert leaves_nothing(tmp_path / "o")


def test_a_shard_refuses_a_key_readers_would_split(tmp_path):
    with pytest.raises(ValueError, match="page.1"):
        with AtomicTarWriter(tmp_path / "train-000000.tar") as w:
            w.write({"__key__": "page.1", "txt": "x"})
    assert leaves_nothing(tmp_path)


@pytest.fixture
def cat(tmp_path, monkeypatch):
    monkeypatch.setattr(catalogue, "catalogue_path", lambda: tmp_path / "cat" / "catalogue.json")
    render_shards(LINE, tmp_path / "d", 2, **OPTS)
    return tmp_path / "d"


@pytest.mark.parametrize("name", ["a.b", "v1.0", "chem.tar", "café", "a b", "x" * 65])
def test_catalogue_refuses_a_bad_dataset_name(cat, name):
    with pytest.raises(UserError, match="letters, digits, '_' and '-'"):
        catalogue.add(name, cat)
    assert catalogue.load() == {}


@pytest.mark.parametrize("name", ["chem-lines", "2024", "a_b", "x" * 64])
def test_catalogue_takes_good_names(cat, name):
    catalogue.add(name, cat)
    assert catalogue.resolve_spec(f"dataset:{name}") == str(cat.resolve())


def test_a_run_is_catalogued_under_a_name_add_would_take(cat, tmp_path):
    d = tmp_path / "demo.v2 é"
    render_shards(LINE, d, 2, **OPTS)
    name = catalogue.register_run(d)
    assert name == "demo_v2__"
    catalogue.add(name, d, replace=True)

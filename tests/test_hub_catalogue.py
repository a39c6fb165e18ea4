"""The local dataset catalogue: runs register themselves, names resolve, `datasets` commands."""

import json
import tempfile

import pytest
from click.testing import CliRunner
from hub_fixtures import render_small

from cli.hub_cmd import datasets
from synthtext.dataset import catalogue
from synthtext.dataset.errors import UserError


@pytest.fixture
def cat(tmp_path, monkeypatch):
    path = tmp_path / "cache" / "catalogue.json"
    monkeypatch.setattr(catalogue, "catalogue_path", lambda: path)
    return path


def test_synthgen_render_names_its_run_in_the_catalogue(cat, tmp_path):
    from cli.synthgen import main

    out = tmp_path / "lines"
    for _ in range(2):  # a rerun keeps its one entry
        r = CliRunner().invoke(main, ["render", "--out", str(out), "-n", "2", "--layout", "line",
                                      "--no-progress"])
        assert r.exit_code == 0, r.output
        assert "catalogued as dataset:lines" in r.output
    assert catalogue.load() == {"lines": str(out)}


def test_the_library_leaves_the_catalogue_alone(cat, tmp_path):
    render_small(tmp_path / "quiet", n=2, register=False)
    assert catalogue.load() == {}


def test_a_finished_run_registers_itself_once(cat, tmp_path):
    render_small(tmp_path / "a" / "demo", n=4)
    render_small(tmp_path / "a" / "demo", n=4)  # resumed / rerun: same entry
    render_small(tmp_path / "b" / "demo", n=4)  # same name, other directory
    assert catalogue.load() == {"demo": str(tmp_path / "a" / "demo"),
                                "demo-2": str(tmp_path / "b" / "demo")}
    assert json.loads(cat.read_text())["schema"] == "synthgen.catalogue/1"


def test_a_broken_catalogue_does_not_fail_a_run(cat, tmp_path):
    cat.parent.mkdir(parents=True)
    cat.write_text("{not json")
    with pytest.warns(UserWarning, match="not added to the dataset catalogue"):
        result = render_small(tmp_path / "demo", n=2)
    assert result.info["status"] == "complete"


def test_list_shows_kind_status_samples_and_drops_vanished_dirs(cat, tmp_path):
    render_small(tmp_path / "lines", n=10)
    render_small(tmp_path / "bare", n=2)
    (tmp_path / "bare" / "dataset.json").unlink()
    render_small(tmp_path / "gone", n=2)
    (tmp_path / "gone").rename(tmp_path / "moved")
    r = CliRunner().invoke(datasets, ["list"])
    assert r.exit_code == 0, r.output
    assert r.stderr == f"dropped dataset:gone: {tmp_path / 'gone'} no longer exists\n"
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "STATUS", "SAMPLES", "PATH"]
    assert lines[1].split() == ["bare", "?", "no", "dataset.json", "-", str(tmp_path / "bare")]
    assert lines[2].split() == ["lines", "render", "complete", "train=7", "validation=3",
                                str(tmp_path / "lines")]
    assert len(lines) == 3 and "gone" not in catalogue.load()  # dropped from the file too
    r = CliRunner().invoke(datasets, ["list", "--json"])
    rows = {e["name"]: e for e in json.loads(r.stdout)}
    assert rows["lines"]["samples"] == {"train": 7, "validation": 3} and set(rows) == {
        "lines", "bare"}


def test_add_and_remove(cat, tmp_path):
    out = tmp_path / "lines"
    render_small(out, n=2)
    runner = CliRunner()
    r = runner.invoke(datasets, ["add", "chem-lines", str(out)])
    assert r.exit_code == 0 and f"dataset:chem-lines -> {out}" in r.output
    other = tmp_path / "other"
    render_small(other, n=2)
    r = runner.invoke(datasets, ["add", "chem-lines", str(other)])
    assert r.exit_code == 2 and "already names" in r.output and r.output.count("\n") == 1
    assert runner.invoke(datasets, ["add", "chem-lines", str(other), "--replace"]).exit_code == 0
    assert catalogue.load()["chem-lines"] == str(other)
    r = runner.invoke(datasets, ["remove", "chem-lines"])
    assert r.exit_code == 0 and "files untouched" in r.output and other.exists()
    assert "chem-lines" not in catalogue.load()
    assert runner.invoke(datasets, ["remove", "chem-lines"]).exit_code == 2


@pytest.mark.parametrize("name", ["a/b", "-x", "", "dataset:x", "a b"])
def test_bad_names(cat, tmp_path, name):
    render_small(tmp_path / "d", n=2)
    with pytest.raises(UserError, match="must start with a letter or digit"):
        catalogue.add(name, tmp_path / "d")


def test_only_shard_directories_can_be_added(cat, tmp_path):
    r = CliRunner().invoke(datasets, ["add", "x", str(tmp_path)])
    assert r.exit_code == 2 and "no dataset.json" in r.output


def test_a_vanished_directory_is_a_clear_error_and_its_name_is_dropped(cat, tmp_path):
    render_small(tmp_path / "d", n=2)
    (tmp_path / "d").rename(tmp_path / "e")
    with pytest.raises(UserError, match="no longer exists; dropped the name.*datasets add d"):
        catalogue.resolve_spec("dataset:d")
    assert catalogue.load() == {}
    with pytest.raises(UserError, match="no dataset named 'd'"):
        catalogue.resolve_spec("dataset:d")


def test_a_new_run_takes_the_name_of_a_vanished_one(cat, tmp_path):
    render_small(tmp_path / "a" / "demo", n=2)
    (tmp_path / "a").rename(tmp_path / "gone")
    render_small(tmp_path / "b" / "demo", n=2)
    assert catalogue.load() == {"demo": str(tmp_path / "b" / "demo")}


def test_tests_never_touch_the_users_catalogue(_own_catalogue):
    """conftest points every test's catalogue at a temporary file of its own."""
    assert catalogue.catalogue_path() == _own_catalogue
    assert str(_own_catalogue).startswith(tempfile.gettempdir())

"""The dataset card: front matter the Hub reads, a body from dataset.json, loadable by datasets."""

import json
import shutil

import cv2
import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from hub_fixtures import render_fixtures, render_small

from cli.hub_cmd import card as card_cmd
from synthtext.dataset.errors import UserError
from synthtext.dataset.info import read_info, write_json_atomic
from synthtext.hub.card import build_card, card_options, size_category, write_card

rendered, shards = render_fixtures("lines-en", shard_size=4)  # train 7 (2 shards), val 3 (1)


def front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_front_matter(shards):
    write_card(shards)
    meta = front_matter((shards / "README.md").read_text())
    assert meta == {
        "license": "other", "task_categories": ["image-to-text"], "language": ["en"],
        "size_categories": ["n<1K"], "pretty_name": "lines-en",
        "tags": ["synthetic", "handwriting", "ocr", "webdataset", "synthgen"],
        "configs": [{"config_name": "default", "data_files": [
            {"split": "train", "path": "train-[0-9]*.tar"},
            {"split": "validation", "path": "validation-[0-9]*.tar"}]}]}


def test_body_comes_from_dataset_json(shards):
    m = read_info(shards)
    text = build_card(shards, pretty_name="Demo lines").readme
    assert "# Demo lines" in text and "`synthgen render`" in text and "synthgen 0.1.0" in text
    assert m["config_sha256"] in text
    for section in ("## How it was made", "### Corpora", "### Fonts", "## Statistics",
                    "### Label length (characters)", "### Font categories", "### Page rotation",
                    "## Loading", "## License", "![The first samples"):
        assert section in text, section
    assert "| train | 7 | 2 |" in text and "| validation | 3 | 1 |" in text
    for font, n in m["stats"]["fonts"].items():
        assert f"| {font} |" in text and f"| {n} | {100 * n / 10:.1f}% |" in text
    assert "| sample_corpus | text |" in text and "Apache-2.0 (synthgen sample text)" in text
    assert "OFL-1.1" in text
    assert "/work/" not in text and str(shards) not in text  # no local paths leak
    assert 'datasets.load_dataset("path/to/lines-en", split="train")' in text
    assert "train-{000000..000001}.tar" in text


def test_card_is_deterministic(shards, tmp_path):
    a = build_card(shards, repo_id="org/x")
    copy = tmp_path / "elsewhere" / "lines-en"
    shutil.copytree(shards, copy)
    b = build_card(copy, repo_id="org/x")
    assert a.readme == b.readme and a.preview_png == b.preview_png


def test_preview_grid(shards):
    write_card(shards)
    img = cv2.imread(str(shards / "assets" / "preview.png"), cv2.IMREAD_UNCHANGED)
    assert img is not None and img.dtype == np.uint8 and 4 * 320 <= img.shape[1] < 5 * 320
    assert "![The first samples with their labels](assets/preview.png)" in (
        shards / "README.md").read_text()


def test_options_are_kept_for_regeneration(shards):
    write_card(shards, license="cc-by-4.0", language="de", pretty_name="X", preview=False)
    assert card_options(shards) == {"license": "cc-by-4.0", "language": "de",
                                    "pretty_name": "X", "repo_id": None, "preview": False}
    meta = front_matter((shards / "README.md").read_text())
    assert meta["license"] == "cc-by-4.0" and meta["language"] == ["de"]
    assert not (shards / "assets" / "preview.png").exists()


def test_wikitext_corpus_means_cc_by_sa(tmp_path, wikitext_file):
    out = tmp_path / "wiki"
    render_small(out, n=3, corpora=((str(wikitext_file), 1.0),), split=())
    text = build_card(out, preview=False).readme
    assert front_matter(text)["license"] == "cc-by-sa-4.0"
    assert "CC BY-SA 4.0 (WikiText)" in text


def test_augmented_copy_lists_its_inputs_corpora_and_fonts(shards, tmp_path):
    from synthtext.augmenting.shards import augment_shards

    aug = tmp_path / "aug"
    augment_shards(shards, aug, "light", progress=False)
    text = build_card(aug, preview=False).readme
    assert "`synthgen augment`" in text and "An augmented copy of a `synthgen render`" in text
    assert "### Corpora" in text and "| caveat-regular | Caveat |" in text


def test_size_categories():
    assert [size_category(n) for n in (0, 999, 1000, 25_000, 3_000_000)] == [
        "n<1K", "n<1K", "1K<n<10K", "10K<n<100K", "1M<n<10M"]


def test_incomplete_run_has_no_card(shards):
    m = read_info(shards)
    m["status"] = "incomplete"
    write_json_atomic(shards / "dataset.json", m)
    with pytest.raises(UserError, match="incomplete"):
        write_card(shards)
    r = CliRunner().invoke(card_cmd, [str(shards)])
    assert r.exit_code == 2 and r.output.startswith("Error: ") and r.output.count("\n") == 1


def test_card_command(shards):
    r = CliRunner().invoke(card_cmd, [str(shards), "--repo-id", "org/lines", "--license", "mit"])
    assert r.exit_code == 0, r.output
    assert "README.md" in r.output and "preview.png" in r.output
    text = (shards / "README.md").read_text()
    assert front_matter(text)["license"] == "mit" and 'load_dataset("org/lines"' in text
    r = CliRunner().invoke(card_cmd, [str(shards), "--repo-id", "not a repo"])
    assert r.exit_code == 2 and "is not ORG/NAME" in r.output


def test_datasets_loads_the_carded_directory(shards, tmp_path):
    datasets = pytest.importorskip("datasets")
    write_card(shards)
    ds = datasets.load_dataset(str(shards), cache_dir=str(tmp_path / "hf"))
    assert set(ds) == {"train", "validation"}
    assert (ds["train"].num_rows, ds["validation"].num_rows) == (7, 3)
    assert {"jpg", "txt", "json"} <= set(ds["train"].column_names)
    row = ds["train"][0]
    assert row["txt"] and row["jpg"].size[0] > 0 and json.loads(row["json"])["split"] == "train"
    files = {"train": str(shards / "train-*.tar"), "validation": str(shards / "validation-*.tar")}
    wds = datasets.load_dataset("webdataset", data_files=files, cache_dir=str(tmp_path / "hf2"))
    assert wds["train"]["txt"] == ds["train"]["txt"]
    assert wds["validation"].num_rows == 3

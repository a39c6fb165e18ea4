"""Hugging Face ``datasets`` loads every field of every sample's metadata, exactly.

``datasets.load_dataset(DIR)`` infers the type of a WebDataset ``.json`` column from the first
five samples; metadata stored as a plain object lost every key that appears only later
(augment parameters, reject counts). Each producer's output is loaded here and compared
field for field with the tar members.
"""

from __future__ import annotations

import json
import tarfile
from dataclasses import replace

import numpy as np
import pytest
from test_stitch_fixtures import write_tsv

import augment
from stitcher import StitchConfig
from stitcher.generate import stitch_shards
from synthtext.augmenting.shards import augment_shards
from synthtext.dataset.sample import Sample
from synthtext.dataset.shards import iter_samples
from synthtext.render.config import RenderConfig
from synthtext.render.generate import render_shards

datasets = pytest.importorskip("datasets")

PAGES = RenderConfig(width=(160, 260), height=(160, 260), font_size=(12, 18), length=(3, 20),
                     augment="heavy")
OPTS = dict(shard_size=8, image_format="png", progress=False)


def member_metadata(out) -> dict[str, dict]:
    """key -> metadata, read from the tars with plain tarfile and json, as any user can."""
    found = {}
    for path in sorted(out.glob("*.tar")):
        with tarfile.open(path) as tar:
            for m in tar:
                if m.name.endswith(".json"):
                    value = json.loads(tar.extractfile(m).read())
                    found[m.name[:-5]] = json.loads(value) if isinstance(value, str) else value
    return found


def key_paths(d, prefix="") -> set[str]:
    """Every key path of a nested metadata dict (``augment.ops.0.params.sigma``...)."""
    items = d.items() if isinstance(d, dict) else enumerate(d) if isinstance(d, list) else ()
    out = set()
    for k, v in items:
        out |= {f"{prefix}{k}"} | key_paths(v, f"{prefix}{k}.")
    return out


def load_rows(out, tmp_path) -> dict:
    ds = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "hf"))
    assert ds.features["json"] == datasets.Value("string"), ds.features
    return {row["__key__"]: row for row in ds}


def assert_lossless(out, tmp_path) -> dict:
    """Every sample of ``out`` loads through ``datasets`` with exactly its tar metadata;
    the samples' key paths differ (so a schema taken from the first rows would lose some)."""
    members = member_metadata(out)
    assert len({frozenset(key_paths(m)) for m in members.values()}) > 1
    rows = load_rows(out, tmp_path)
    assert sorted(rows) == sorted(members)
    for key, row in rows.items():
        assert json.loads(row["json"]) == members[key], key
    return rows


def test_render_with_augmentation_loads_losslessly(tmp_path):
    render_shards(PAGES, tmp_path / "r", 16, **OPTS)
    assert_lossless(tmp_path / "r", tmp_path)


def test_stitched_pages_load_losslessly(tmp_path):
    tsv, _ = write_tsv(tmp_path / "crops", 10)
    cfg = StitchConfig(lines=str(tsv), page_lines=(1, 3), print_lines=0.3, augment="heavy",
                       max_width=600)
    stitch_shards(cfg, tmp_path / "s", 10, **OPTS)
    assert_lossless(tmp_path / "s", tmp_path)


def test_an_augmented_copy_loads_losslessly_and_replays(tmp_path):
    render_shards(replace(PAGES, augment="none"), tmp_path / "in", 12, **OPTS)
    augment_shards(tmp_path / "in", tmp_path / "out", "heavy", seed=3, **OPTS)
    rows = assert_lossless(tmp_path / "out", tmp_path)
    src = {d["__key__"]: Sample.from_wds(d) for d in iter_samples(str(tmp_path / "in"))}
    key = sorted(rows)[-1]  # a late row: its fields were the ones lost before
    meta, orig = json.loads(rows[key]["json"]), src[key]
    quads = np.asarray([ln.quad for ln in orig.lines if ln.quad], float)
    image, _ = augment.replay(orig.image, meta["augment"], quads)
    assert np.array_equal(image, np.asarray(rows[key]["png"]))

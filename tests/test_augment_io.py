"""Augmentation where users run it: over shard directories, in previews, in a loader."""

import json
import pickle

import numpy as np
from click.testing import CliRunner

import augment
from cli.synthgen import main
from synthtext.augmenting.samples import AugmentOnTheFly
from synthtext.dataset.sample import Sample, check_sample
from synthtext.dataset.shards import iter_samples
from synthtext.render.config import RenderConfig
from synthtext.render.generate import render_shards

CFG = RenderConfig(width=(300, 420), height=(300, 420), font_size=(14, 22), length=(5, 40))
OPTS = dict(shard_size=4, progress=False)


def test_augment_command_copies_a_directory_shard_for_shard(tmp_path):
    render_shards(CFG, tmp_path / "in", 10, **OPTS)
    r = CliRunner().invoke(main, ["augment", str(tmp_path / "in"), str(tmp_path / "out"),
                                  "--preset", "heavy", "--no-progress"])
    assert r.exit_code == 0, r.output
    src = {d["__key__"]: Sample.from_wds(d) for d in iter_samples(str(tmp_path / "in"))}
    outs = list(iter_samples(str(tmp_path / "out")))
    assert sorted(p.name for p in (tmp_path / "out").glob("*.tar")) == [
        "train-000000.tar", "train-000001.tar", "train-000002.tar"]
    for d in outs:
        assert check_sample(d) == []
        s = Sample.from_wds(d)
        orig = src[s.key]
        assert s.text == orig.text
        assert s.meta["augment"]["ops"]
        # the recorded params replay the augmentation exactly (from the pristine image)
        quads = np.asarray([ln.quad for ln in orig.lines if ln.quad], float)
        img, _ = augment.replay(orig.image, s.meta["augment"], quads)
        assert np.abs(img.astype(int) - s.image.astype(int)).mean() < 3  # JPEG re-encoding
    r2 = CliRunner().invoke(main, ["augment", str(tmp_path / "in"), str(tmp_path / "out"),
                                   "--preset", "heavy", "--no-progress"])
    assert "0 written, 3 already complete" in r2.output


def test_augment_command_bad_inputs(tmp_path):
    r = CliRunner().invoke(main, ["augment", str(tmp_path / "none"), str(tmp_path / "o")])
    assert r.exit_code == 2 and "dataset.json" in r.output and "Traceback" not in r.output
    render_shards(CFG, tmp_path / "in", 2, **OPTS)
    r = CliRunner().invoke(main, ["augment", str(tmp_path / "in"), str(tmp_path / "o"),
                                  "--preset", "extreme"])
    assert r.exit_code == 2 and "--preset" in r.output
    cfg = tmp_path / "aug.json"
    cfg.write_text(json.dumps({"sequence": [{"op": "rotate", "max_degree": 2}]}))
    r = CliRunner().invoke(main, ["augment", str(tmp_path / "in"), str(tmp_path / "o"),
                                  "--preset", str(cfg)])
    assert r.exit_code == 2 and "max_degree" in r.output


def test_preview_writes_a_contact_sheet(tmp_path):
    render_shards(CFG, tmp_path / "in", 6, **OPTS)
    for extra in ([], ["--augment", "medium"], ["--boxes"]):
        out = tmp_path / f"sheet{len(extra)}.png"
        r = CliRunner().invoke(main, ["preview", str(tmp_path / "in"), "--out", str(out),
                                      "-n", "4", *extra])
        assert r.exit_code == 0, r.output
        import cv2

        sheet = cv2.imread(str(out))
        assert sheet is not None and sheet.shape[0] > 100
    r = CliRunner().invoke(main, ["preview", str(tmp_path / "missing"), "--out", str(out)])
    assert r.exit_code == 2 and "no shards" in r.output


def test_on_the_fly_augmentation_is_fresh_each_call_and_picklable():
    from synthtext.render.generate import render_sample

    s = render_sample(CFG, 0)
    fn = pickle.loads(pickle.dumps(AugmentOnTheFly("medium", seed=1)))
    a, b = fn(s), fn(s)
    assert a.text == b.text == s.text
    assert a.meta["augment"] != b.meta["augment"]
    assert check_sample(a.to_wds("png")) == []

"""Fonts: embedded set, tofu detection, charset cache, text-conditioned choice, loaders."""
import copy
import json
import pickle
import shutil
from importlib.resources import files

import numpy as np
import pytest
from fontTools.ttLib import TTCollection, TTFont
from fontTools.ttLib.tables._g_l_y_f import Glyph

import synthtext.fonts.charset as charset_mod
from synthtext.dataset.errors import FontError, UserError
from synthtext.fonts.charset import (
    brotli_available,
    coverage_summary,
    file_sha256,
    renderable_charset,
)
from synthtext.fonts.fontset import (
    FontSet,
    FontSpec,
    embedded_fonts,
    fonts_from_dir,
    fonts_from_manifest,
    resolve_fonts,
)

ASCII = {chr(c) for c in range(0x20, 0x7F)}
BAHT, SARA_E, SARA_AE = "\u0e3f", "\u0e40", "\u0e41"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def embedded_set(cache):
    return FontSet(embedded_fonts(), cache_dir=cache)


def _spec(fid, path, cursive=False):
    return FontSpec(id=fid, path=str(path), family=fid, category="sans", cursive=cursive)


def _path(font_id):
    return next(s.path for s in embedded_fonts() if s.id == font_id)


def _indie_path():
    return _path("indie-flower-regular")


def _tofu_font(dst):
    """PT Serif (static, inked .notdef box) plus U+0E3F -> empty glyph, U+0E40 -> .notdef
    (fontTools drops such entries when reading, as FreeType treats them as missing) and
    U+0E41 -> a distinct glyph that draws the .notdef box."""
    font = TTFont(_path("pt-serif-regular"))
    glyf = font["glyf"]
    glyf["blank.test"] = Glyph()
    glyf["notdefcopy.test"] = copy.deepcopy(glyf[".notdef"])
    for name in ("blank.test", "notdefcopy.test"):
        font["hmtx"].metrics[name] = font["hmtx"].metrics[".notdef"]
    for table in font["cmap"].tables:
        if table.isUnicode():
            table.cmap.update({0x0E3F: "blank.test", 0x0E40: ".notdef",
                               0x0E41: "notdefcopy.test"})
    font.save(dst)
    return dst


# ---------------------------------------------------------------- embedded set

def test_embedded_fonts_load_and_render_ascii(embedded_set):
    specs = embedded_set.specs
    assert len(specs) == 8 and [s.id for s in specs] == sorted(s.id for s in specs)
    assert sum(not s.cursive for s in specs) >= 4 and sum(s.cursive for s in specs) >= 4
    for i, spec in enumerate(specs):
        assert spec.license == "OFL-1.1" and len(spec.sha256) == 64
        assert not ASCII - embedded_set.charset(i), spec.id
        assert "漢" not in embedded_set.charset(i)
        assert "\n" not in embedded_set.charset(i)
    meta = specs[0].to_json()
    assert "/" not in meta["file"] and "path" not in meta
    json.dumps(meta)


def test_embedded_manifest_has_no_hosts_and_resolves_by_package():
    text = (files("font_manifests") / "embedded.json").read_text(encoding="utf-8")
    assert "http" not in text and "pypi.org" not in text
    data = json.loads(text)
    assert data["schema"] == "synthgen.fonts/1"
    for entry in data["fonts"]:
        assert entry["source"]["kind"] == "pypi" and entry["license"] == "OFL-1.1"


def test_coverage_summary(embedded_set):
    roboto = [s.id for s in embedded_set.specs].index("roboto-regular")
    summary = coverage_summary(embedded_set.charset(roboto))
    assert summary["basic_latin"] == 1.0 and summary["greek"] == 1.0
    assert coverage_summary(set()) == dict.fromkeys(summary, 0.0)


# ---------------------------------------------------------------- tofu

def test_tofu_empty_and_notdef_glyphs_excluded(tmp_path):
    chars = renderable_charset(_tofu_font(tmp_path / "tofu.ttf"), cache_dir=tmp_path)
    assert "A" in chars and " " in chars
    assert BAHT not in chars          # in cmap, draws nothing
    assert SARA_E not in chars        # mapped to .notdef explicitly
    assert SARA_AE not in chars       # draws a copy of the .notdef box
    assert "漢" not in chars


def test_woff_and_woff2(tmp_path):
    font = TTFont(_indie_path())
    font.flavor = "woff"
    font.save(tmp_path / "indie.woff")
    assert not ASCII - renderable_charset(tmp_path / "indie.woff", cache_dir=tmp_path)
    if brotli_available():
        font.flavor = "woff2"
        font.save(tmp_path / "indie.woff2")
        assert not ASCII - renderable_charset(tmp_path / "indie.woff2", cache_dir=tmp_path)
    else:
        (tmp_path / "fake.woff2").write_bytes(b"wOF2" + bytes(60))
        with pytest.raises(FontError, match="brotli"):
            renderable_charset(tmp_path / "fake.woff2", cache_dir=tmp_path)


# ---------------------------------------------------------------- cache

def test_charset_cache_hit_and_key(tmp_path, monkeypatch):
    font = shutil.copy(_indie_path(), tmp_path / "indie.ttf")
    first = renderable_charset(font, cache_dir=tmp_path)
    cached = list((tmp_path / "charsets").glob("*.json"))
    assert len(cached) == 1 and cached[0].name.startswith(file_sha256(font))

    def boom(*args, **kwargs):
        raise AssertionError("raster called despite cache")

    monkeypatch.setattr(charset_mod, "_raster_key", boom)
    assert renderable_charset(font, cache_dir=tmp_path) == first
    edited = TTFont(font)
    edited["name"].setName("Changed", 1, 3, 1, 0x409)
    edited.save(font)
    with pytest.raises(AssertionError, match="despite cache"):
        renderable_charset(font, cache_dir=tmp_path)


def test_default_cache_dir_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHGEN_CACHE", str(tmp_path / "c"))
    renderable_charset(_indie_path())
    assert list((tmp_path / "c" / "charsets").glob("*.json"))


# ---------------------------------------------------------------- choice

def test_candidates_and_uncovered(embedded_set):
    kalam = [s.id for s in embedded_set.specs].index("kalam-regular")
    assert embedded_set.candidates("Hello नमस्ते") == [kalam]
    assert embedded_set.candidates(["Hello", "world"]) == list(range(8))
    assert embedded_set.candidates("Hello 漢") == []
    assert embedded_set.uncovered("Hi 漢\n") == {"漢", "\n"}
    assert embedded_set.choose(np.random.default_rng(0), "漢") is None


def test_choose_cursive_ratio_and_determinism(embedded_set):
    rng = np.random.default_rng(1)
    specs = embedded_set.specs
    assert all(specs[embedded_set.choose(rng, "Hello", 1.0)].cursive for _ in range(200))
    assert not any(specs[embedded_set.choose(rng, "Hello", 0.0)].cursive for _ in range(200))
    # no cursive font renders 'λ': ratio 1.0 falls back to print
    assert not specs[embedded_set.choose(rng, "λx", 1.0)].cursive
    picks = {embedded_set.choose(rng, "Hello", None) for _ in range(300)}
    assert picks == set(range(8))

    def run(seed):
        r = np.random.default_rng(seed)
        return [embedded_set.choose(r, "Hello", 0.5) for _ in range(50)]
    assert run(7) == run(7) and run(7) != run(8)


def test_font_cache_fingerprint_pickle(embedded_set, cache):
    font = embedded_set.font(0, 40)
    assert embedded_set.font(0, 40) is font and font.size == 40
    again = FontSet(list(reversed(embedded_fonts())), cache_dir=cache)
    assert again.fingerprint() == embedded_set.fingerprint()
    fewer = FontSet(embedded_fonts()[:3], cache_dir=cache)
    assert fewer.fingerprint() != embedded_set.fingerprint()
    clone = pickle.loads(pickle.dumps(embedded_set))
    assert clone.candidates("Hi") == embedded_set.candidates("Hi")
    assert clone.font(1, 20).size == 20


# ---------------------------------------------------------------- directories

def test_fonts_from_dir_skips_corrupt(tmp_path, cache):
    sub = tmp_path / "sub"
    sub.mkdir()
    shutil.copy(_indie_path(), sub / "IndieFlower.ttf")
    script = next(s.path for s in embedded_fonts() if s.id == "dancing-script-regular")
    shutil.copy(script, tmp_path / "DancingScript.ttf")
    (tmp_path / "bad.ttf").write_bytes(np.random.default_rng(0).bytes(4000))
    with pytest.warns(UserWarning, match=r"bad\.ttf: cannot be loaded"):
        specs = fonts_from_dir(tmp_path)
    by_id = {s.id: s for s in specs}
    assert set(by_id) == {"IndieFlower", "DancingScript"}
    assert by_id["DancingScript"].cursive and by_id["DancingScript"].category == "handwriting"
    assert by_id["IndieFlower"].family == "Indie Flower" and not by_id["IndieFlower"].cursive
    assert len(FontSet(specs, cache_dir=cache)) == 2


def test_fontset_skips_unloadable(tmp_path, cache):
    good = shutil.copy(_indie_path(), tmp_path / "good.ttf")
    (tmp_path / "bad.ttf").write_bytes(b"\0" * 100)
    with pytest.warns(UserWarning, match=r"bad\.ttf: cannot be loaded .*; skipped"):
        fs = FontSet([_spec("bad", tmp_path / "bad.ttf"), _spec("good", good)], cache)
    assert [s.id for s in fs.specs] == ["good"]
    with pytest.warns(UserWarning), pytest.raises(FontError):
        FontSet([_spec("bad", tmp_path / "bad.ttf")], cache)


def test_fonts_from_dir_errors(tmp_path):
    with pytest.raises(FontError, match="no .* files found"):
        fonts_from_dir(tmp_path)
    (tmp_path / "bad.ttf").write_bytes(b"garbage" * 50)
    (tmp_path / "worse.otf").write_bytes(b"")
    with pytest.warns(UserWarning), pytest.raises(FontError, match="no font could be loaded"):
        fonts_from_dir(tmp_path)


def test_fonts_from_dir_collection_and_override(tmp_path, cache):
    paths = [s.path for s in embedded_fonts() if s.id in ("caveat-regular", "kalam-regular")]
    coll = TTCollection()
    coll.fonts = [TTFont(p) for p in paths]
    coll.save(tmp_path / "pair.ttc")
    specs = fonts_from_dir(tmp_path)
    assert [(s.id, s.index) for s in specs] == [("pair-0", 0), ("pair-1", 1)]
    assert {s.family for s in specs} == {"Caveat", "Kalam"}
    (tmp_path / "fonts.json").write_text(json.dumps({"schema": "synthgen.fonts/1", "fonts": [
        {"id": "kalam-in-ttc", "family": "Kalam", "category": "handwriting", "cursive": True,
         "source": {"kind": "file", "path": "pair.ttc"}, "index": 1, "license": "OFL-1.1"}]}))
    specs = fonts_from_dir(tmp_path)
    assert {(s.id, s.index, s.cursive) for s in specs} == {
        ("pair-0", 0, False), ("kalam-in-ttc", 1, True)}
    fs = FontSet(specs, cache_dir=cache)
    assert fs.candidates("नम") == [[s.id for s in fs.specs].index("kalam-in-ttc")]


# ---------------------------------------------------------------- manifests

def _manifest(tmp_path, entries):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"schema": "synthgen.fonts/1", "name": "t", "fonts": entries}))
    return path


def _entry(**over):
    entry = {"id": "indie", "family": "Indie Flower", "category": "handwriting",
             "cursive": True, "source": {"kind": "file", "path": "fonts/indie.ttf"}}
    entry.update(over)
    return entry


@pytest.mark.parametrize("bad, field", [
    ({"category": "fancy"}, "category"),
    ({"cursive": "yes"}, "cursive"),
    ({"family": None}, "family"),
    ({"source": {"kind": "ftp"}}, "source.kind"),
    ({"source": {"kind": "pypi"}, "file": "x.ttf"}, "source.package"),
    ({"weight": "bold"}, "weight"),
    ({"sha256": "abc"}, "sha256"),
])
def test_manifest_schema_errors_name_entry_and_field(tmp_path, bad, field):
    path = _manifest(tmp_path, [_entry(), _entry(id="second", **bad)])
    with pytest.raises(FontError, match=rf"entry 1 \(id 'second'\): field '{field}'"):
        fonts_from_manifest(path)
    entry = _entry()
    del entry["category"]
    with pytest.raises(UserError, match=r"entry 0 \(id 'indie'\): field 'category' is missing"):
        fonts_from_manifest(_manifest(tmp_path, [entry]))


def test_manifest_file_kind_and_sha_mismatch(tmp_path):
    (tmp_path / "fonts").mkdir()
    font = shutil.copy(_indie_path(), tmp_path / "fonts" / "indie.ttf")
    sha = file_sha256(font)
    specs = fonts_from_manifest(_manifest(tmp_path, [_entry(sha256=sha)]))
    assert specs[0].path == str(font) and specs[0].sha256 == sha
    wrong = "0" * 64
    path = _manifest(tmp_path, [_entry(sha256=wrong), _entry(id="ok")])
    with pytest.warns(UserWarning, match=f"font indie: sha256 mismatch.*{wrong}.*{sha}"):
        specs = fonts_from_manifest(path)
    assert [s.id for s in specs] == ["ok"]
    with pytest.warns(UserWarning, match="mismatch"):
        fs = FontSet([_spec("x", font), FontSpec("y", str(font), "f", "sans", False,
                                                 sha256=wrong)], cache_dir=tmp_path)
    assert [s.id for s in fs.specs] == ["x"]


def test_resolve_fonts(tmp_path):
    assert resolve_fonts(None) == resolve_fonts("embedded") == embedded_fonts()
    shutil.copy(_indie_path(), tmp_path / "a.ttf")
    assert [s.id for s in resolve_fonts(str(tmp_path))] == ["a"]
    with pytest.raises(FontError, match="--fonts"):
        resolve_fonts(str(tmp_path / "missing"))

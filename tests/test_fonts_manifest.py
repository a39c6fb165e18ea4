"""Font manifests, fetch/cache logic and the `synthgen fonts` commands, offline and fast.

Real downloads (one package per source kind) are in test_fonts_fetch.py.
"""
import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from fontTools.subset import Options, Subsetter
from fontTools.ttLib import TTFont

import synthtext.fonts.fetch as fontfetch
import synthtext.fonts.fontset as fonts_mod
from cli.fonts_cmd import fonts
from synthtext.dataset.errors import FontError
from synthtext.fonts.charset import coverage_summary, file_sha256, renderable_charset
from synthtext.fonts.fetch import fetch_fonts
from synthtext.fonts.fontset import (
    FontSet,
    embedded_fonts,
    fonts_from_manifest,
    resolve_fonts,
)
from synthtext.fonts.manifest import (
    CATEGORIES,
    SHIPPED,
    is_handwriting,
    license_allowed,
    load_manifest,
    locate,
    shipped_manifest,
)
from synthtext.fonts.merge import check_merged, merge_subsets
from synthtext.render.glyphs import ShapedFont

HOST_HINTS = ("://", "pypi.org", "npmjs", "debian.org", "registry.", "files.pythonhosted")


def _embedded_path(font_id):
    return next(s.path for s in embedded_fonts() if s.id == font_id)


def _manifest(dir_, entries, name="t"):
    path = Path(dir_) / f"{name}.json"
    path.write_text(json.dumps({"schema": "synthgen.fonts/1", "name": name, "fonts": entries}))
    return path


def _file_entry(fid, path, **over):
    entry = {"id": fid, "family": fid.title(), "category": "sans", "cursive": False,
             "source": {"kind": "file", "path": str(path)}, "license": "OFL-1.1"}
    entry.update(over)
    return entry


@pytest.fixture
def font_cache(tmp_path, monkeypatch):
    cache = tmp_path / "fontcache"
    monkeypatch.setenv("SYNTHGEN_FONTS", str(cache))
    return cache


# ---------------------------------------------------------------- shipped manifests

@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_manifests_are_valid(name):
    m = load_manifest(shipped_manifest(name))
    text = m.path.read_text(encoding="utf-8").lower()
    assert not any(h in text for h in HOST_HINTS), "manifests never name a registry host"
    for e in m.entries:
        assert license_allowed(e["license"]), (e["id"], e["license"])
        assert e.get("license_source") and len(e["sha256"]) == 64, e["id"]
        assert e["source"]["kind"] == "file" or e["source"].get("version"), e["id"]
        assert set(e["coverage"]) == set(coverage_summary(())), e["id"]
        assert (e["coverage"]["basic_latin"] < 1) == bool(e.get("basic_latin_missing")), e["id"]
        assert e["cursive"] == (e["category"] in ("handwriting", "script")), e["id"]


def test_default_manifest_counts_and_subsets():
    default = load_manifest(shipped_manifest("default"))
    families = {e["family"] for e in default.entries}
    hand = {e["family"] for e in default.entries if is_handwriting(e)}
    cats = Counter(e["category"] for e in default.entries)
    assert len(families) == len(default.entries) >= 150
    assert len(hand) >= 60
    assert all(cats[c] >= 10 for c in ("serif", "sans", "mono", "display")), cats
    assert {e["source"]["kind"] for e in default.entries} == {"pypi", "npm", "debian"}
    by_id = {e["id"]: e for e in default.entries}
    for name, want in (("handwriting", True), ("print", False)):
        sub = load_manifest(shipped_manifest(name))
        assert [e["id"] for e in sub.entries] == [
            e["id"] for e in default.entries if is_handwriting(e) == want]
        assert all(by_id[e["id"]] == e for e in sub.entries)
    for e in load_manifest(shipped_manifest("embedded")).entries:  # same ids, same files
        assert by_id[e["id"]]["sha256"] == e["sha256"]


def test_default_manifest_selections_resolve_to_installed_fonts(font_cache):
    """Nothing fetched: `--fonts handwriting` still has the 4 embedded ones (venv packages)."""
    with pytest.warns(UserWarning, match="not installed.*synthgen fonts fetch --only hand"):
        specs = resolve_fonts("handwriting")
    assert {s.id for s in specs} == {s.id for s in embedded_fonts() if s.cursive}
    assert all(s.cursive for s in specs)


# ---------------------------------------------------------------- schema errors

@pytest.mark.parametrize("source, field", [
    ({"kind": "npm", "package": "@fontsource/x", "version": "1", "files": ["a.woff2"]},
     "source.sha256"),
    ({"kind": "debian", "package": "fonts-x", "version": "1", "files": ["a", "b"]},
     "source.files"),
    ({"kind": "debian", "package": "fonts-x", "files": ["a"]}, "source.version"),
    ({"kind": "npm", "version": "1", "files": ["a"], "sha256": ["0" * 64]}, "source.package"),
])
def test_schema_errors_name_entry_and_field(tmp_path, source, field):
    bad = _file_entry("second", "x.ttf", source=source, file="x.ttf")
    path = _manifest(tmp_path, [_file_entry("first", "a.ttf"), bad])
    with pytest.raises(FontError, match=rf"entry 1 \(id 'second'\): field '{field}'"):
        load_manifest(path)


def test_schema_error_on_coverage(tmp_path):
    path = _manifest(tmp_path, [_file_entry("a", "a.ttf", coverage={"basic_latin": 1.5})])
    with pytest.raises(FontError, match=r"entry 0 \(id 'a'\): field 'coverage'"):
        load_manifest(path)


# ---------------------------------------------------------------- coverage

def _drop_chars(src, dst, codepoints):
    font = TTFont(src)
    for table in font["cmap"].tables:
        for cp in codepoints:
            table.cmap.pop(cp, None)
    font.save(dst)
    return dst


def test_coverage_of_font_with_known_missing_glyphs(tmp_path):
    path = _drop_chars(_embedded_path("pt-serif-regular"), tmp_path / "holey.ttf",
                       [ord("q"), ord("é")])
    chars = renderable_charset(path, cache_dir=tmp_path)
    cov = coverage_summary(chars)
    assert "q" not in chars and "é" not in chars and "p" in chars
    assert cov["basic_latin"] == round(94 / 95, 4)
    assert cov["latin1_supplement"] == round(95 / 96, 4)
    full = coverage_summary(renderable_charset(_embedded_path("pt-serif-regular"),
                                               cache_dir=tmp_path))
    assert full["basic_latin"] == 1.0 and full["latin1_supplement"] == 1.0


# ---------------------------------------------------------------- merging subsets

def _subset(src, dst, unicodes):
    font = TTFont(src)
    opts = Options()
    opts.layout_features = ["*"]
    sub = Subsetter(opts)
    sub.populate(unicodes=unicodes)
    sub.subset(font)
    font.flavor = "woff2"
    font.save(dst)
    return dst


@pytest.fixture(scope="module")
def subsets(tmp_path_factory):
    """latin / latin-ext cuts of PT Serif, as @fontsource ships them."""
    d = tmp_path_factory.mktemp("subsets")
    src = _embedded_path("pt-serif-regular")
    return [_subset(src, d / "x-latin-400-normal.woff2", range(0x20, 0x100)),
            _subset(src, d / "x-latin-ext-400-normal.woff2", range(0x100, 0x180))]


def test_merge_subsets_gives_one_font_drawing_like_its_parts(tmp_path, subsets):
    out = tmp_path / "merged.ttf"
    merge_subsets(subsets, out)
    assert check_merged(subsets, out) > 250
    parts = [renderable_charset(p, cache_dir=tmp_path) for p in subsets]
    merged = renderable_charset(out, cache_dir=tmp_path)
    assert merged == parts[0] | parts[1] and "ě" in merged and "é" in merged
    again = tmp_path / "again.ttf"
    merge_subsets(subsets, again)
    assert file_sha256(again) == file_sha256(out), "merging is reproducible"


def _npm_entry(subsets, merged_sha, **over):
    entry = {"id": "x-regular", "family": "X", "category": "serif", "cursive": False,
             "source": {"kind": "npm", "package": "@fontsource/x", "version": "5.3.0",
                        "files": [f"files/{p.name}" for p in subsets],
                        "sha256": [file_sha256(p) for p in subsets]},
             "file": "x-400.ttf", "sha256": merged_sha, "license": "OFL-1.1"}
    entry.update(over)
    return entry


def _fake_unpack(subsets):
    def unpack(entry, work, manifest_dir):
        root = Path(work) / "root" / "package"
        (root / "files").mkdir(parents=True)
        for p in subsets:
            shutil.copy(p, root / "files" / p.name)
        return root
    return unpack


def test_npm_fetch_merges_verifies_and_installs(tmp_path, subsets, monkeypatch):
    monkeypatch.setattr(fontfetch, "unpack", _fake_unpack(subsets))
    merge_subsets(subsets, tmp_path / "ref.ttf")
    entry = _npm_entry(subsets, file_sha256(tmp_path / "ref.ttf"))
    cache = tmp_path / "cache"
    [out] = fetch_fonts([entry], tmp_path, cache, progress=False)
    assert out.status == "installed" and not out.detail
    assert locate(entry, tmp_path, cache).path == cache / "x-regular" / "x-400.ttf"
    ShapedFont(str(cache / "x-regular" / "x-400.ttf"))  # what the renderer opens
    # another fontTools may write other bytes: accepted after the glyph check, sha recorded
    other = _npm_entry(subsets, "0" * 64, id="y-regular")
    [out] = fetch_fonts([other], tmp_path, cache, progress=False)
    assert out.status == "installed" and "recorded" in out.detail
    assert locate(other, tmp_path, cache).path is not None
    (cache / "y-regular" / "x-400.ttf").write_bytes(b"tampered")
    assert "sha256 mismatch" in locate(other, tmp_path, cache).problem
    # a lone subset is unwrapped to .ttf: the renderer's freetype-py may not read woff2
    lone = _npm_entry(subsets[:1], "", id="w-regular")
    del lone["sha256"]
    [out] = fetch_fonts([lone], tmp_path, cache, progress=False)
    installed = cache / "w-regular" / "x-400.ttf"
    assert out.status == "installed" and installed.read_bytes()[:4] == b"\0\1\0\0"
    ShapedFont(str(installed))
    # a downloaded subset that does not match the manifest is rejected before merging
    bad = _npm_entry(subsets, entry["sha256"], id="z-regular")
    bad["source"]["sha256"][1] = "1" * 64
    [out] = fetch_fonts([bad], tmp_path, cache, progress=False)
    assert out.status == "failed" and "sha256 mismatch" in out.detail
    assert not (cache / "z-regular").exists()


# ---------------------------------------------------------------- fetch and cache

def _all_files(root):
    return sorted(p.relative_to(root).as_posix() for p in Path(root).rglob("*") if p.is_file())


def test_fetch_reports_failures_by_id_and_installs_the_rest(tmp_path, font_cache, monkeypatch):
    good = shutil.copy(_embedded_path("kalam-regular"), tmp_path / "kalam.ttf")
    garbage = tmp_path / "garbage.ttf"
    garbage.write_bytes(b"not a font" * 100)
    empty_path = tmp_path / "nobin"
    empty_path.mkdir()
    monkeypatch.setenv("PATH", str(empty_path))  # no npm client: fails fast, offline
    entries = [
        _file_entry("kalam", "kalam.ttf", sha256=file_sha256(good), category="handwriting",
                    cursive=True),
        _file_entry("wrongsha", "kalam.ttf", sha256="0" * 64),
        _file_entry("broken", "garbage.ttf", sha256=file_sha256(garbage)),
        _file_entry("gone", "missing.ttf"),
        {"id": "unknown", "family": "U", "category": "sans", "cursive": False,
         "source": {"kind": "npm", "package": "@fontsource/no-such-font", "version": "1.0.0",
                    "files": ["files/a.woff2"], "sha256": ["0" * 64]}, "file": "u.ttf"},
    ]
    manifest = _manifest(tmp_path, entries)
    res = CliRunner().invoke(fonts, ["fetch", "--manifest", str(manifest), "--no-progress"])
    assert res.exit_code == 1, res.output
    lines = res.output.splitlines()
    assert any(ln.startswith("font wrongsha: sha256 mismatch") for ln in lines)
    assert any(ln.startswith("font broken: the font does not load") for ln in lines)
    assert any(ln.startswith("font gone: ") and "not found" in ln for ln in lines)
    assert any(ln.startswith("font unknown: npm pack") and "not installed" in ln
               for ln in lines)
    assert "5 fonts, 1 installed, 0 already present, 4 failed" in res.output
    assert _all_files(font_cache) == ["kalam/installed.json", "kalam/kalam.ttf"]
    res = CliRunner().invoke(fonts, ["fetch", "--manifest", str(manifest), "--no-progress"])
    assert "1 already present" in res.output and res.exit_code == 1
    assert _all_files(font_cache) == ["kalam/installed.json", "kalam/kalam.ttf"]


def test_interrupted_install_leaves_no_partial_file(tmp_path, font_cache, monkeypatch):
    good = shutil.copy(_embedded_path("kalam-regular"), tmp_path / "kalam.ttf")
    entry = _file_entry("kalam", "kalam.ttf", sha256=file_sha256(good))

    def boom(path):
        raise KeyboardInterrupt  # e.g. ctrl-C while the font is being checked
    monkeypatch.setattr(fontfetch, "_check_loads", boom)
    with pytest.raises(KeyboardInterrupt):
        fontfetch.fetch_one(entry, tmp_path, font_cache)
    assert not font_cache.exists() or _all_files(font_cache) == []
    monkeypatch.undo()
    monkeypatch.setenv("SYNTHGEN_FONTS", str(font_cache))
    assert fontfetch.fetch_one(entry, tmp_path, font_cache).status == "installed"


def test_cached_font_with_wrong_sha_is_rejected_never_used(tmp_path, font_cache):
    good = shutil.copy(_embedded_path("caveat-regular"), tmp_path / "caveat.ttf")
    entry = _file_entry("caveat", "caveat.ttf", sha256=file_sha256(good))
    manifest = _manifest(tmp_path, [entry])
    assert fontfetch.fetch_one(entry, tmp_path, font_cache).status == "installed"
    good.unlink()  # only the cached copy is left
    (font_cache / "caveat" / "caveat.ttf").write_bytes(b"\0" * 64)
    with pytest.warns(UserWarning, match="font caveat: sha256 mismatch"):
        with pytest.raises(FontError, match="none of its fonts is usable"):
            fonts_from_manifest(manifest)


# ---------------------------------------------------------------- list, check, --fonts

def test_fonts_list_shows_install_state_and_coverage(tmp_path, font_cache):
    good = shutil.copy(_embedded_path("kalam-regular"), tmp_path / "kalam.ttf")
    cov = {"basic_latin": 1.0, "latin1_supplement": 0.5, "latin_extended_a": 0.0,
           "greek": 0.0}
    manifest = _manifest(tmp_path, [
        _file_entry("kalam", "kalam.ttf", sha256=file_sha256(good), coverage=cov),
        {"id": "later", "family": "Later", "category": "script", "cursive": True,
         "source": {"kind": "debian", "package": "fonts-later", "version": "1",
                    "files": ["usr/share/fonts/later.ttf"]}, "file": "later.ttf",
         "license": "OFL-1.1"}])
    res = CliRunner().invoke(fonts, ["list", "--manifest", str(manifest)])
    assert res.exit_code == 0, res.output
    rows = {ln.split()[0]: ln.split() for ln in res.output.splitlines()[1:3]}
    assert rows["kalam"][2:] == ["sans", "OFL-1.1", "yes", "100%", "50%", "0%", "0%"]
    assert rows["later"][2:5] == ["script*", "OFL-1.1", "no"]
    assert "2 fonts, 1 installed" in res.output
    res = CliRunner().invoke(fonts, ["list", "--manifest", str(manifest), "--json",
                                     "--only", "handwriting"])
    assert [json.loads(ln)["id"] for ln in res.output.splitlines()] == ["later"]


def test_fonts_check_lists_unrenderable_characters_with_counts(tmp_path, font_cache):
    corpus = tmp_path / "chem.txt"
    corpus.write_text("Water boils at 100 ℃ → steam; α and β.\n\n"
                      "Again 25 ℃ and 漢 twice 漢 and ℃.\n", encoding="utf-8")
    d = tmp_path / "fonts"
    d.mkdir()
    for fid in ("kalam-regular", "pt-serif-regular"):
        shutil.copy(_embedded_path(fid), d / f"{fid}.ttf")
    res = CliRunner().invoke(fonts, ["check", "--corpus", str(corpus), "--fonts", str(d)])
    assert res.exit_code == 0, res.output
    out = res.output
    assert "2 fonts" in out and "kalam-regular" in out
    missing = [ln.split()[:3] for ln in out.splitlines() if ln.startswith("  U+")]
    assert missing == [["U+2103", "℃", "3"], ["U+6F22", "漢", "2"], ["U+03B1", "α", "1"],
                       ["U+03B2", "β", "1"], ["U+2192", "→", "1"]]
    assert "5 distinct characters, 8 occurrences" in out
    row = next(ln for ln in out.splitlines() if ln.startswith("pt-serif-regular")).split()
    letters = sum(not c.isspace() for c in corpus.read_text(encoding="utf-8"))
    assert row[-2] == f"{100 * (letters - 8) / letters:.3f}%"
    # the embedded set draws more of it (EB Garamond has ℃, → and Greek)
    res = CliRunner().invoke(fonts, ["check", "--corpus", str(corpus), "--fonts", "embedded"])
    assert [ln.split()[:3] for ln in res.output.splitlines() if ln.startswith("  U+")] == [
        ["U+6F22", "漢", "2"]]


def test_fonts_handwriting_with_nothing_installed_is_one_line_error(tmp_path, font_cache,
                                                                     monkeypatch):
    entry = {"id": "later", "family": "Later", "category": "handwriting", "cursive": True,
             "source": {"kind": "debian", "package": "fonts-later", "version": "1",
                        "files": ["usr/share/fonts/later.ttf"]}, "file": "later.ttf"}
    manifest = _manifest(tmp_path, [entry])
    monkeypatch.setattr(fonts_mod, "shipped_manifest", lambda name: manifest)
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello world\n")
    res = CliRunner().invoke(fonts, ["check", "--corpus", str(corpus), "--fonts",
                                     "handwriting"])
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and res.output.startswith("Error: --fonts handwriting")
    assert "none of its 1 fonts is installed; run `synthgen fonts fetch" in res.output
    with pytest.raises(FontError, match="fonts fetch --manifest .* first"):
        resolve_fonts(str(manifest))


def test_manifest_fonts_render_after_fetch(tmp_path, font_cache):
    src = shutil.copy(_embedded_path("dancing-script-regular"), tmp_path / "ds.ttf")
    entry = _file_entry("ds", "ds.ttf", sha256=file_sha256(src), category="script",
                        cursive=True, license="OFL-1.1")
    manifest = _manifest(tmp_path, [entry])
    assert fontfetch.fetch_one(entry, tmp_path, font_cache).status == "installed"
    os.unlink(src)  # now only the cache has it
    specs = resolve_fonts(str(manifest))
    assert [(s.id, Path(s.path).parent.name) for s in specs] == [("ds", "ds")]
    assert FontSet(specs, cache_dir=tmp_path).candidates("Hello") == [0]


def test_categories_are_the_schema_and_split_print_from_handwriting(tmp_path):
    """CATEGORIES is the closed list a manifest's `category` may take, all used by the default
    manifest; of them exactly handwriting and script make the handwriting selection."""
    entries = [_file_entry(c, f"{c}.ttf", category=c) for c in CATEGORIES]  # none cursive
    m = load_manifest(_manifest(tmp_path, entries))
    assert [e["id"] for e in m.select("handwriting")] == ["handwriting", "script"]
    assert [e["id"] for e in m.select("print")] == ["serif", "sans", "mono", "display"]
    bad = _manifest(tmp_path, [_file_entry("x", "x.ttf", category="blackletter")], "bad")
    with pytest.raises(FontError, match=r"entry 0 \(id 'x'\): field 'category' must be one "
                       r"of serif, sans, mono, display, handwriting, script"):
        load_manifest(bad)
    shipped = load_manifest(shipped_manifest("default")).entries
    assert {e["category"] for e in shipped} == set(CATEGORIES)

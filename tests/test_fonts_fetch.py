"""Integration: `synthgen fonts fetch` gets one real package per source kind (pypi, npm,
debian) from the package registries, verifies it against the shipped default manifest and
installs it; the fonts then render. CI reaches the registries; where a client is missing or
the network is down the test skips with that reason (decided by the client's own failure,
not by a long timeout). SYNTHGEN_OFFLINE=1 skips them on purpose.
"""
import json
import os
import re
import shutil

import pytest
from click.testing import CliRunner

from cli.fonts_cmd import fonts
from synthtext.fonts.fontset import FontSet, resolve_fonts
from synthtext.fonts.manifest import load_manifest, shipped_manifest
from synthtext.render.glyphs import ShapedFont

# One small font per kind, named by package so a rebuilt manifest keeps the test meaningful.
PACKAGES = {"pypi": "fontpkg-zeyada", "npm": "@fontsource/caveat-brush",
            "debian": "fonts-kristi"}
CLIENTS = {"pypi": None, "npm": "npm", "debian": "apt-get"}
OFFLINE = re.compile(r"resolve|Temporary failure|Name or service|ENOTFOUND|EAI_AGAIN|"
                     r"ECONNREFUSED|ETIMEDOUT|ECONNRESET|unreachable|NewConnectionError|"
                     r"Failed to fetch|Failed to establish|Connection refused|No route|"
                     r"gave no answer|Could not connect|Retrying", re.I)

pytestmark = pytest.mark.skipif(os.environ.get("SYNTHGEN_OFFLINE") == "1",
                                reason="SYNTHGEN_OFFLINE=1: registry tests skipped")


@pytest.fixture
def quick_clients(monkeypatch):
    """Fail fast instead of retrying for minutes when a registry does not answer."""
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    monkeypatch.setenv("npm_config_fetch_timeout", "30000")
    monkeypatch.setenv("PIP_RETRIES", "0")


def _entry(kind):
    m = load_manifest(shipped_manifest("default"))
    return next(e for e in m.entries if e["source"]["package"] == PACKAGES[kind])


def _fetch(tmp_path, entries, dest):
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"schema": "synthgen.fonts/1", "name": "it",
                                    "fonts": entries}))
    res = CliRunner().invoke(fonts, ["fetch", "--manifest", str(manifest), "--dest",
                                     str(dest), "--no-progress"])
    return manifest, res


def _skip_if_offline(kind, output):
    if OFFLINE.search(output):
        pytest.skip(f"{kind} registry unreachable: {output.strip().splitlines()[0][:200]}")


@pytest.mark.parametrize("kind", sorted(PACKAGES))
def test_fetch_real_package(kind, tmp_path, monkeypatch, quick_clients):
    if CLIENTS[kind] and shutil.which(CLIENTS[kind]) is None:
        pytest.skip(f"`{CLIENTS[kind]}` is not installed: cannot fetch {kind} packages")
    entry = _entry(kind)
    dest = tmp_path / "fonts"
    manifest, res = _fetch(tmp_path, [entry], dest)
    if res.exit_code:
        _skip_if_offline(kind, res.output)
    assert res.exit_code == 0, res.output
    assert "1 installed" in res.output
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert files == sorted([f"{entry['id']}/installed.json", f"{entry['id']}/{entry['file']}"])
    monkeypatch.setenv("SYNTHGEN_FONTS", str(dest))
    specs = resolve_fonts(str(manifest))
    assert [(s.id, s.sha256) for s in specs] == [(entry["id"], entry["sha256"])]
    fs = FontSet(specs, cache_dir=tmp_path)
    assert fs.candidates("Hello, world") == [0]
    run = ShapedFont(specs[0].path).at(40).run("Hello, world")  # the renderer's engine
    assert run.advance > 100 and sum(b.size for b in run.bitmaps) > 0
    _, again = _fetch(tmp_path, [entry], dest)
    assert again.exit_code == 0 and "1 already present" in again.output


def test_unknown_npm_package_is_reported_by_id(tmp_path, quick_clients):
    if shutil.which("npm") is None:
        pytest.skip("`npm` is not installed")
    entry = {"id": "no-such-font", "family": "No Such", "category": "sans", "cursive": False,
             "source": {"kind": "npm", "package": "@fontsource/no-such-font-synthgen-test",
                        "version": "5.3.0", "files": ["files/a.woff2"], "sha256": ["0" * 64]},
             "file": "a.ttf"}
    _, res = _fetch(tmp_path, [entry], tmp_path / "fonts")
    _skip_if_offline("npm", res.output)
    assert res.exit_code == 1
    line = next(ln for ln in res.output.splitlines() if ln.startswith("font no-such-font:"))
    assert "npm pack @fontsource/no-such-font-synthgen-test@5.3.0" in line
    assert "://" not in line
    assert not (tmp_path / "fonts").exists() or not any((tmp_path / "fonts").rglob("*.ttf"))

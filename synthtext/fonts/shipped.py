"""What ships with synthgen: the font manifests in `font_manifests/` and font files inside
importable `fontpkg-*` packages (how the embedded set works without a download).

The lowest font module but one (charset.py and symbols.py use it for the reference Latin
fonts of the symbol-font check; manifest.py for locating pypi-kind entries).
"""
from __future__ import annotations

import importlib.resources
import importlib.util
import json
from pathlib import Path


def shipped_manifest(name: str) -> Path:
    """Path of a manifest shipped in font_manifests/ (default, handwriting, print, embedded)."""
    ref = importlib.resources.files("font_manifests") / f"{name}.json"
    return Path(str(ref))


def package_file(package: str, file: str) -> Path | None:
    """`<module>/files/<file>` of the importable fontpkg package `package` (a distribution
    name such as "fontpkg-roboto"), or None when the package is not installed. The file
    itself is not checked."""
    module = package.replace("-", "_").replace(".", "_")
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "files" / file


def embedded_files() -> list[Path]:
    """Font files of the embedded manifest's pypi entries that exist, in manifest order.

    No schema or sha256 check (manifest.py and FontSet do those for rendering): callers use
    these files as known Latin fonts, for which an unverified copy is good enough.
    """
    try:
        data = json.loads(shipped_manifest("embedded").read_text(encoding="utf-8"))
        entries = [e for e in data["fonts"] if e["source"]["kind"] == "pypi"]
        found = [package_file(e["source"]["package"], e["file"]) for e in entries]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [p for p in found if p is not None and p.is_file()]

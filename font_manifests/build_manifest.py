"""Maintainer tool: build font_manifests/default.json, handwriting.json and print.json from
the curated list font_manifests/curation.tsv (one row per family: source kind, package,
version, and optional category / file / family / license overrides).

    python font_manifests/build_manifest.py [--workers 8] [--log build.log] [--limit N]
    python font_manifests/build_manifest.py --embedded-coverage   # fill embedded.json

Every row's package is fetched once with the code `synthgen fonts fetch` uses
(synthtext.fonts.fetch.unpack: pip download / npm pack / apt-get download, never a host name).
Then: the font file is picked (pypi: the upright default face listed in the wheel's
metadata.json; npm: the latin + latin-ext subsets of weight 400, merged and checked glyph by
glyph as fetch does; debian: the curated file); the license is read from the package
(wheel METADATA License-Expression + metadata.json + LICENSE; npm metadata.json + LICENSE;
debian copyright, the DEP-5 stanza matching the file, else its text), mapped to SPDX, and
rows outside synthtext.fonts.manifest.ALLOWED_LICENSES are dropped; sha256s, version, family/style and
the coverage summary of the renderable charset are recorded. Fonts rendering under 90% of
Basic Latin are dropped (not Latin fonts); others with gaps keep `basic_latin_missing`.
A family that appears twice keeps its first row. The summary goes to stdout and the log.
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from fontTools.ttLib import TTFont

from synthtext.fonts.charset import coverage_summary, file_sha256, renderable_charset
from synthtext.fonts.fetch import FetchError, build_font, unpack
from synthtext.fonts.manifest import (
    CATEGORIES,
    HANDWRITING,
    SCHEMA,
    license_allowed,
    load_manifest,
    locate,
    shipped_manifest,
)

HERE = Path(__file__).resolve().parent
MIN_BASIC_LATIN = 0.9
_PYPI_CATEGORY = {"SANS_SERIF": "sans", "SERIF": "serif", "MONOSPACE": "mono",
                  "DISPLAY": "display", "HANDWRITING": "handwriting"}
_NPM_CATEGORY = {"sans-serif": "sans", "serif": "serif", "monospace": "mono",
                 "display": "display", "handwriting": "handwriting"}
# Debian/npm license names (lowercase, no spaces/underscores) -> SPDX
_SPDX = {
    "ofl-1.1": "OFL-1.1", "sil-ofl-1.1": "OFL-1.1", "sil-1.1": "OFL-1.1",
    "ofl-1.1-rfn": "OFL-1.1", "silopenfontlicense1.1": "OFL-1.1", "ofl-1.0": "OFL-1.0",
    "apache-2.0": "Apache-2.0", "apache-2": "Apache-2.0", "ufl-1.0": "Ubuntu-font-1.0",
    "ubuntu-font-1.0": "Ubuntu-font-1.0", "bitstream-vera": "Bitstream-Vera",
    "bitstreamvera": "Bitstream-Vera", "expat": "MIT", "mit": "MIT",
    "bsd-3-clause": "BSD-3-Clause",
    "gpl-2+fe": "GPL-2.0-or-later WITH Font-exception-2.0",
    "gpl-2+withfontexception": "GPL-2.0-or-later WITH Font-exception-2.0",
    "gpl-3+fontexception": "GPL-3.0-or-later WITH Font-exception-2.0",
    "gpl-3+withfontexception": "GPL-3.0-or-later WITH Font-exception-2.0",
    "gpl-3+withspecialfontexception": "GPL-3.0-or-later WITH Font-exception-2.0",
}
_TITLES = [(re.compile(r"Open Font License,?\s+Version 1\.1", re.I), "OFL-1.1"),
           (re.compile(r"Open Font License,?\s+Version 1\.0", re.I), "OFL-1.0"),
           (re.compile(r"Apache License,?\s+Version 2\.0", re.I), "Apache-2.0"),
           (re.compile(r"UBUNTU FONT LICEN[CS]E\s+Version 1\.0", re.I), "Ubuntu-font-1.0")]
_log_lock = threading.Lock()


def spdx(name: str) -> str | None:
    """A Debian/npm license name as SPDX; 'a or b' picks the first allowed alternative."""
    alts = [a for a in re.split(r"\s+or\s+", name.strip(), flags=re.I) if a]
    for alt in alts:
        parts = [_SPDX.get(re.sub(r"[\s_]", "", p).lower()) for p in
                 re.split(r"\s+and\s+", alt, flags=re.I)]
        if all(parts) and license_allowed(" AND ".join(parts)):
            return " AND ".join(parts)
    return None


def title_license(text: str) -> str | None:
    """The license a LICENSE/copyright text announces, from its title line."""
    return next((lic for pat, lic in _TITLES if pat.search(text)), None)


def _dep5_match(name: str, pattern: str) -> bool:
    """Does a DEP-5 `Files:` pattern (source-tree paths) cover the installed font `name`?
    Only the file part can be compared; a bare `*` under a named folder (appstream/*)
    is about other files."""
    head, _, base = pattern.rpartition("/")
    if pattern.startswith("debian/"):
        return False
    if not head or set(head) <= set("*/"):
        return fnmatch.fnmatch(name, base)
    return base != "*" and fnmatch.fnmatch(name, base)


def debian_license(root: Path, package: str, font: Path) -> tuple[str | None, str]:
    """(SPDX, where it was read) from the package's copyright file."""
    path = root / "usr/share/doc" / package / "copyright"
    text = path.read_text(encoding="utf-8", errors="replace")
    where = f"usr/share/doc/{package}/copyright"
    if text.startswith("Format:"):
        found = None
        paras = re.split(r"\n\s*\n", text)
        for para in paras:
            files = re.search(r"^Files:(.*(?:\n[ \t].*)*)", para, re.M)
            lic = re.search(r"^License:[ \t]*(\S.*)$", para, re.M)
            if files and lic and any(_dep5_match(font.name, pat)
                                     for pat in files.group(1).split()):
                found = (lic.group(1).strip(), para)  # DEP-5: the last matching stanza wins
        if found:
            name, para = found
            # a bare name ("SIL Open Font License") is resolved by the text that follows it
            # or by a stand-alone "License: <name>" paragraph
            texts = [para] + [p for p in paras if p.startswith(f"License: {name}")]
            lic = spdx(name) or next(filter(None, map(title_license, texts)), None)
            return lic, f"{where}: DEP-5 stanza for {font.name}: License: {name}"
    lic = title_license(text)
    return lic, f"{where}: text announces {lic}"


def _pick_pypi_file(meta: dict) -> dict:
    files = [f for f in meta["files"] if f.get("style") == "normal"] or meta["files"]
    return min(files, key=lambda f: (not f.get("variable"), abs((f.get("weight") or 400) - 400)))


def _pypi(row: dict, root: Path, entry: dict) -> tuple[list[Path], str, str]:
    """(source files, license, license_source); fills version/file/family/category."""
    meta = json.loads((root / "metadata.json").read_text(encoding="utf-8"))
    dist = next(root.parent.glob("*.dist-info/METADATA")).read_text(encoding="utf-8")
    version = re.search(r"^Version:\s*(\S+)", dist, re.M).group(1)
    expr = (re.search(r"^License-Expression:\s*(.+)$", dist, re.M) or [None, ""])[1].strip()
    title = title_license((root / "LICENSE").read_text(encoding="utf-8", errors="replace"))
    chosen = _pick_pypi_file(meta)
    entry["source"]["version"] = version
    entry["file"] = Path(chosen["path"]).name
    entry.setdefault("family", meta["family"])
    entry.setdefault("category", _PYPI_CATEGORY.get((meta.get("category") or [""])[0]))
    lic = expr if expr == meta.get("license") == title else None
    mod = root.name
    src = (f"{row['package']} {version}: METADATA License-Expression {expr}, {mod}/metadata."
           f"json 'license' {meta.get('license')}, {mod}/LICENSE ({title})")
    return [root / chosen["path"]], lic, src


def _npm(row: dict, root: Path, entry: dict) -> tuple[list[Path], str, str]:
    meta = json.loads((root / "metadata.json").read_text(encoding="utf-8"))
    meta.setdefault("id", meta.get("fontId"))  # fontsource 4.x names
    meta.setdefault("family", meta.get("fontName"))
    weight = min(meta["weights"], key=lambda w: (abs(w - 400), w))
    subsets = [s for s in ("latin", "latin-ext") if s in meta["subsets"]]
    if "latin" not in subsets:
        raise FetchError("no latin subset")
    rel = [f"files/{meta['id']}-{s}-{weight}-normal.woff2" for s in subsets]
    entry["source"].update(files=rel, sha256=[file_sha256(root / r) for r in rel])
    entry["file"] = f"{meta['id']}-{weight}.ttf"
    entry.setdefault("family", meta["family"])
    entry.setdefault("category", _NPM_CATEGORY.get(meta.get("category")))
    entry["weight"] = weight
    kind = meta["license"].get("type", "") if isinstance(meta.get("license"), dict) else ""
    lic_file = root / "LICENSE"
    title = title_license(lic_file.read_text(encoding="utf-8", errors="replace")
                          if lic_file.is_file() else "")
    lic = spdx(kind) if spdx(kind) == title else None
    src = (f"{row['package']} {row['version']}: package/metadata.json license.type {kind}, "
           f"package/LICENSE ({title})")
    return [root / r for r in rel], lic, src


def _debian(row: dict, root: Path, entry: dict) -> tuple[list[Path], str, str]:
    found = sorted(p for p in root.rglob(row["file"]) if p.is_file())
    if len(found) != 1:  # several variants: curate a longer path (Normal/TTF/x.ttf)
        raise FetchError(f"{row['file']}: {len(found)} matches in {row['package']}")
    rel = found[0].relative_to(root).as_posix()
    entry["source"]["files"] = [rel]
    entry["file"] = found[0].name
    lic, src = debian_license(root, row["package"], found[0])
    return found[:1], lic, f"{row['package']} {row['version']}: {src}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _names(path: Path) -> tuple[str, str, int]:
    """(family, subfamily, OS/2 weight class) from the font's name table."""
    with TTFont(str(path), lazy=True) as font:
        name = font["name"]
        weight = font["OS/2"].usWeightClass if "OS/2" in font else 400
        return ((name.getBestFamilyName() or path.stem).strip(),
                (name.getBestSubFamilyName() or "Regular").strip(), weight)


def build_entry(row: dict) -> tuple[dict | None, str]:
    """(manifest entry, log line) for one curated row; entry None when it is left out."""
    src = {"kind": row["kind"], "package": row["package"], "version": row["version"]}
    entry: dict = {"source": src}
    if row["family"]:
        entry["family"] = row["family"]
    if row["category"]:
        entry["category"] = row["category"]
    with tempfile.TemporaryDirectory(prefix="synthgen-build-") as tmp:
        work = Path(tmp)
        root = unpack({"source": src}, work, HERE)
        parts, lic, lic_src = {"pypi": _pypi, "npm": _npm, "debian": _debian}[row["kind"]](
            row, root, entry)
        if row["license"]:
            lic, lic_src = row["license"], f"curated: {row['notes'] or lic_src}"
        if not lic or not license_allowed(lic):
            return None, f"SKIP {row['package']}: license not allowed/unclear ({lic_src})"
        built = work / ("built-" + entry["file"])
        build_font(entry, parts, built)
        family, style, weight = _names(built)
        entry.setdefault("family", family)
        entry.setdefault("weight", weight)
        entry["sha256"] = file_sha256(built)
        chars = renderable_charset(built, sha256=entry["sha256"])
    cov = coverage_summary(chars)
    if cov["basic_latin"] < MIN_BASIC_LATIN:
        return None, f"SKIP {row['package']}: Basic Latin coverage {cov['basic_latin']:.2f}"
    if entry.get("category") not in CATEGORIES:
        return None, f"SKIP {row['package']}: no category (curate one)"
    style = "Regular" if row["kind"] == "npm" and entry["weight"] == 400 else style
    # One upright default face per family: ids say "regular" whatever the font calls it
    # (Book, Medium, Roman …), as the embedded set does; `style` keeps the font's word.
    missing = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in chars)
    out = {"id": f"{_slug(entry['family'])}-regular", "family": entry["family"],
           "style": style, "weight": entry["weight"], "category": entry["category"],
           "cursive": entry["category"] in HANDWRITING, "source": entry["source"],
           "file": entry["file"], "sha256": entry["sha256"], "license": lic,
           "license_source": lic_src, "coverage": cov}
    if missing:
        out["basic_latin_missing"] = missing
    if row["notes"]:
        out["notes"] = row["notes"]
    return out, f"OK   {out['id']}: {lic}, basic_latin {cov['basic_latin']:.3f}"


def read_curation(path: Path) -> list[dict]:
    """The curation TSV as dicts with keys kind, package, version, category, file, family,
    license, notes (missing trailing columns ""); blank and `#` lines skipped."""
    cols = ("kind", "package", "version", "category", "file", "family", "license", "notes")
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(dict(zip(cols, (line.split("\t") + [""] * len(cols))[:len(cols)])))
    return rows


def _log(fh, text: str) -> None:
    with _log_lock:
        print(text, flush=True)
        if fh:
            fh.write(text + "\n")
            fh.flush()


def build_all(rows: list[dict], workers: int, fh) -> tuple[list[dict], list[dict]]:
    """(entries sorted by id, rows left out with the reason); a family seen twice keeps its
    first row."""
    results: dict[int, dict] = {}
    excluded: dict[int, dict] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(build_entry, r): i for i, r in enumerate(rows)}
        for n, fut in enumerate(as_completed(futures), 1):
            i = futures[fut]
            try:
                entry, line = fut.result()
            except Exception as e:  # report and go on: one bad package must not stop it
                entry, line = None, f"FAIL {rows[i]['package']}: {type(e).__name__}: {e}"
            _log(fh, f"[{n}/{len(rows)}] {line}")
            if entry:
                results[i] = entry
            else:
                excluded[i] = {"package": rows[i]["package"], "file": rows[i]["file"],
                               "reason": line.split(": ", 1)[1]}
    entries, families, ids = [], set(), set()
    for i in sorted(results):
        e = results[i]
        if e["family"].lower() in families or e["id"] in ids:
            _log(fh, f"DUP  {e['id']} ({rows[i]['package']}): family already listed")
            excluded[i] = {"package": rows[i]["package"], "file": rows[i]["file"],
                           "reason": f"family {e['family']} already listed"}
            continue
        families.add(e["family"].lower())
        ids.add(e["id"])
        entries.append(e)
    return (sorted(entries, key=lambda e: e["id"]),
            [{k: v for k, v in excluded[i].items() if v} for i in sorted(excluded)])


def write_manifests(entries: list[dict], out_dir: Path, excluded=()) -> None:
    """The three manifests; default.json also lists the curated rows left out, and why."""
    subsets = {"default": (entries, "every verified font: print and handwriting"),
               "handwriting": ([e for e in entries if e["cursive"]],
                               "handwriting and script fonts of the default manifest"),
               "print": ([e for e in entries if not e["cursive"]],
                         "print fonts (serif, sans, mono, display) of the default manifest")}
    for name, (fonts, desc) in subsets.items():
        doc = {"schema": SCHEMA, "name": name, "description": desc, "fonts": fonts}
        if name == "default" and excluded:
            doc["excluded"] = list(excluded)
        (out_dir / f"{name}.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False)
                                              + "\n", encoding="utf-8")
        if fonts:
            load_manifest(out_dir / f"{name}.json")  # the loader's schema check


def summary(entries: list[dict]) -> str:
    """Counts of families, categories, licenses and sources, and the fonts with an
    incomplete Basic Latin, as the few lines printed after a build."""
    fams = {e["family"] for e in entries}
    cats = Counter(e["category"] for e in entries)
    lics = Counter(e["license"] for e in entries)
    kinds = Counter(e["source"]["kind"] for e in entries)
    gaps = [f"{e['id']} (missing {e['basic_latin_missing']!r})" for e in entries
            if e.get("basic_latin_missing")]
    return "\n".join([f"families {len(fams)}, entries {len(entries)}, handwriting/script "
                      f"{sum(e['cursive'] for e in entries)}",
                      f"categories {dict(sorted(cats.items()))}", f"licenses {dict(lics)}",
                      f"sources {dict(kinds)}",
                      f"incomplete Basic Latin ({len(gaps)}): {', '.join(gaps) or 'none'}"])


def embedded_coverage() -> None:
    """Add coverage (and basic_latin_missing) to embedded.json, other fields untouched."""
    path = shipped_manifest("embedded")
    doc = json.loads(path.read_text(encoding="utf-8"))
    for e in doc["fonts"]:
        found = locate(e, path.parent)
        chars = renderable_charset(found.path, sha256=found.sha256)
        e["coverage"] = coverage_summary(chars)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    load_manifest(path)


def main(argv=None) -> int:
    """The command line (see the module docstring); returns the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--curation", type=Path, default=HERE / "curation.tsv")
    ap.add_argument("--out-dir", type=Path, default=HERE)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--limit", type=int, help="only the first N rows (a trial run)")
    ap.add_argument("--log", type=Path)
    ap.add_argument("--embedded-coverage", action="store_true")
    args = ap.parse_args(argv)
    if args.embedded_coverage:
        embedded_coverage()
        return 0
    rows = read_curation(args.curation)[:args.limit]
    t0 = time.perf_counter()
    with open(args.log, "w", encoding="utf-8") if args.log else open(
            "/dev/null", "w") as fh:
        entries, excluded = build_all(rows, args.workers, fh)
        write_manifests(entries, args.out_dir, excluded)
        _log(fh, summary(entries) + f"\nbuilt in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Font manifests (`synthgen.fonts/1`): schema, the shipped manifests, and where an entry's
font file is.

A manifest is {"schema", "name", "fonts": [entry...]}. Entry fields: `id` (stable: it goes
into every sample), `family`, `category` (CATEGORIES), `cursive`, `source`, and optionally
`file`, `style`, `weight`, `index`, `sha256` (of the file the renderer opens), `license`
(SPDX) with `license_source` (where that was read), `coverage` (coverage_summary of the
renderable charset), `basic_latin_missing` and `notes`. `source` by kind:

- pypi   {"package", "version"}; `file` = name inside the wheel's `<module>/files/`.
- npm    {"package", "version", "files": [...], "sha256": [...]}: paths inside the tarball
         (`files/x-latin-400-normal.woff2` ...) and their sha256s; the files are unicode
         subsets of one font, merged into `file` (a .ttf) at fetch time (see fetch.py).
- debian {"package", "version", "files": [path]}: the font's path inside the .deb.
- file   {"path"}: relative to the manifest (`file` may stand in for `path`).

A font is *installed* when its file verifies against the manifest's sha256 in the fonts cache
(`$SYNTHGEN_FONTS`, else `<synthgen cache>/fonts`, written by `synthgen fonts fetch`), in an
importable `fontpkg-*` package (pypi kind: how the embedded set works), or at its local path
(file kind). No registry host is ever named: sources are package names for the usual clients.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from synthtext.dataset.errors import FontError
from synthtext.dataset.info import write_bytes_atomic
from synthtext.fonts.charset import coverage_summary, default_cache_dir, file_sha256
from synthtext.fonts.shipped import package_file, shipped_manifest

SCHEMA = "synthgen.fonts/1"
CATEGORIES = ("serif", "sans", "mono", "display", "handwriting", "script")
HANDWRITING = ("handwriting", "script")
SELECTIONS = ("all", "print", "handwriting")
SHIPPED = ("default", "handwriting", "print", "embedded")
SOURCE_KINDS = ("pypi", "npm", "debian", "file")
COVERAGE_KEYS = tuple(coverage_summary(()))
# Licenses that allow redistributing the fonts and the images made with them (SPDX).
ALLOWED_LICENSES = frozenset({
    "OFL-1.0", "OFL-1.1", "Apache-2.0", "Ubuntu-font-1.0", "Bitstream-Vera", "MIT",
    "BSD-3-Clause", "GPL-2.0-or-later WITH Font-exception-2.0",
    "GPL-3.0-or-later WITH Font-exception-2.0",
})
RECORD = "installed.json"


def license_allowed(expr: str) -> bool:
    """True when some OR alternative of the SPDX expression `expr` has every AND part in
    ALLOWED_LICENSES (no parentheses; `WITH` exceptions must match an allowed id whole)."""
    return any(all(p.strip() in ALLOWED_LICENSES for p in alt.split(" AND "))
               for alt in expr.split(" OR "))


_HEX = re.compile(r"[0-9a-f]{64}")


def _field_error(where: str, entry: str, field: str, problem: str) -> FontError:
    return FontError(f"font manifest {where}: {entry}: field '{field}' {problem}; "
                     "fix that entry")


def _is_coverage(v) -> bool:
    return isinstance(v, dict) and all(
        k in COVERAGE_KEYS and isinstance(x, (int, float)) and not isinstance(x, bool)
        and 0 <= x <= 1 for k, x in v.items())


# field: (type, required, what a valid value is)
_FIELDS = {
    "id": (str, True, "must be a non-empty string"),
    "family": (str, True, "must be a string"),
    "category": (str, True, f"must be one of {', '.join(CATEGORIES)}"),
    "cursive": (bool, True, "must be true or false"),
    "source": (dict, True, f"must be an object with 'kind' one of {', '.join(SOURCE_KINDS)}"),
    **{f: (str, False, "must be a string") for f in ("file", "style", "license_source",
                                                    "basic_latin_missing", "notes")},
    "license": (str, False, "must be a non-empty string (an SPDX id)"),
    "weight": (int, False, "must be an integer"),
    "index": (int, False, "must be a non-negative integer"),
    "sha256": (str, False, "must be 64 lowercase hex digits"),
    "coverage": (dict, False, f"must map {', '.join(COVERAGE_KEYS)} to fractions in [0, 1]"),
}
_VALUE_OK = {"id": bool, "category": CATEGORIES.__contains__, "index": lambda v: v >= 0,
             "sha256": lambda v: not v or _HEX.fullmatch(v), "license": bool,
             "coverage": _is_coverage}


def _check_source(where: str, label: str, e: dict) -> None:
    """The kind-specific fields of `source` (and `file`, which pypi/npm/debian need)."""
    src, kind = e["source"], e["source"].get("kind")
    if kind not in SOURCE_KINDS:
        raise _field_error(where, label, "source.kind", f"must be one of {', '.join(SOURCE_KINDS)}")
    if kind == "file":
        if not isinstance(src.get("path", e.get("file")), str):
            raise _field_error(where, label, "source.path", "must be a path relative to "
                               "the manifest")
        return
    if not isinstance(src.get("package"), str) or not src["package"]:
        raise _field_error(where, label, "source.package", f"must name the {kind} package")
    if "version" in src and (not isinstance(src["version"], str) or not src["version"]):
        raise _field_error(where, label, "source.version", "must be a version string")
    if kind != "pypi" and "version" not in src:
        raise _field_error(where, label, "source.version", "is missing")
    if not e.get("file"):
        raise _field_error(where, label, "file", "is missing (the installed file's name)")
    if kind == "pypi":
        return
    files = src.get("files")
    if (not isinstance(files, list) or not files or not all(isinstance(f, str) and f
                                                           for f in files)
            or (kind == "debian" and len(files) != 1)):
        raise _field_error(where, label, "source.files", "must list the font's path(s) "
                           "inside the package" + (" (exactly one)" if kind == "debian" else ""))
    shas = src.get("sha256")
    if kind == "npm" and not (isinstance(shas, list) and len(shas) == len(files)
                              and all(isinstance(s, str) and _HEX.fullmatch(s) for s in shas)):
        raise _field_error(where, label, "source.sha256", "must give one sha256 (64 lowercase "
                           "hex digits) per source file")


def check_entry(where: str, i: int, e) -> dict:
    """Schema-check entry `i` of the manifest at `where` and return it unchanged.

    Raises:
        FontError: naming the entry's index and id and the field at fault (missing, wrong
            type, `category` outside CATEGORIES, bad sha256/coverage, `source` fields
            missing for its kind).
    """
    if not isinstance(e, dict):
        raise FontError(f"font manifest {where}: entry {i} is not an object; fix that entry")
    label = f"entry {i} (id {e['id']!r})" if isinstance(e.get("id"), str) else f"entry {i}"
    for field, (kind, required, problem) in _FIELDS.items():
        if field not in e:
            if required:
                raise _field_error(where, label, field, "is missing")
            continue
        value = e[field]
        if (not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))
                or not _VALUE_OK.get(field, lambda v: True)(value)):
            raise _field_error(where, label, field, problem)
    _check_source(where, label, e)
    return e


def is_handwriting(entry: dict) -> bool:
    """Whether an entry belongs to the handwriting selection: its category is in
    HANDWRITING (handwriting, script) or it is flagged cursive; the print selection is the
    rest."""
    return entry["category"] in HANDWRITING or bool(entry["cursive"])


@dataclass(frozen=True)
class Manifest:
    """A schema-checked font manifest: its file, name and entries (dicts, file order)."""

    path: Path
    name: str
    entries: tuple[dict, ...]

    def select(self, only: str | None = None) -> list[dict]:
        """Entries for `only` in SELECTIONS (None = all), in file order.

        Raises:
            FontError: `only` is not None nor one of SELECTIONS.
        """
        if only not in (None, *SELECTIONS):
            raise FontError(f"font selection {only!r}: use one of {', '.join(SELECTIONS)}")
        if only in (None, "all"):
            return list(self.entries)
        want = only == "handwriting"
        return [e for e in self.entries if is_handwriting(e) == want]


def load_manifest(path) -> Manifest:
    """Read and schema-check a whole manifest before returning any of it.

    Raises:
        FontError: the file is unreadable or not JSON, `schema` is not SCHEMA, `fonts` is
            empty, an entry fails check_entry, or an id repeats (naming entry and field).
    """
    path = Path(path)
    where = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        first = (str(e).splitlines() or [""])[0]
        raise FontError(f"font manifest {where}: cannot be read ({type(e).__name__}: "
                        f"{first}); fix the JSON or the path") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise FontError(f"font manifest {where}: field 'schema' must be {SCHEMA!r}; "
                        "fix the manifest header")
    if not isinstance(data.get("fonts"), list) or not data["fonts"]:
        raise FontError(f"font manifest {where}: field 'fonts' must be a non-empty list; "
                        "add font entries")
    seen = set()
    for i, raw in enumerate(data["fonts"]):  # whole schema first: no half-loaded manifests
        if check_entry(where, i, raw)["id"] in seen:
            raise _field_error(where, f"entry {i} (id {raw['id']!r})", "id", "is a duplicate")
        seen.add(raw["id"])
    name = data.get("name") if isinstance(data.get("name"), str) else path.stem
    return Manifest(path, name, tuple(data["fonts"]))


def manifest_arg(arg: str | None) -> Path:
    """A `--manifest` value: a shipped manifest's name (None = default) or a path to a
    .json manifest. Raises FontError when it is neither."""
    if arg is None or arg in SHIPPED:
        return shipped_manifest(arg or "default")
    path = Path(arg)
    if not path.is_file():
        raise FontError(f"--manifest {arg}: not one of {', '.join(SHIPPED)} nor an existing "
                        ".json file; fix the name or path")
    return path


def fonts_cache_dir(dest=None) -> Path:
    """Where fetched fonts live: `dest`, else $SYNTHGEN_FONTS, else <synthgen cache>/fonts."""
    if dest:
        return Path(dest)
    if os.environ.get("SYNTHGEN_FONTS"):
        return Path(os.environ["SYNTHGEN_FONTS"])
    return default_cache_dir() / "fonts"


def installed_name(entry: dict) -> str:
    """The font's file name in the cache."""
    src = entry["source"]
    return Path(entry.get("file") or src.get("path")).name


def cache_path(entry: dict, cache: Path) -> Path:
    """Where fetch installs an entry's font: `<cache>/<id>/<installed_name>`."""
    return Path(cache) / entry["id"] / installed_name(entry)


def read_record(entry: dict, cache: Path) -> dict | None:
    """The install record fetch wrote for this entry, if it matches the entry's source."""
    try:
        rec = json.loads((Path(cache) / entry["id"] / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(rec, dict) and rec.get("source") == entry["source"]
    return rec if ok and isinstance(rec.get("sha256"), str) else None


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file in the same directory + rename: readers never see a partial file
    (:func:`synthtext.dataset.info.write_bytes_atomic`)."""
    write_bytes_atomic(path, data)


def write_record(entry: dict, cache: Path, sha256: str) -> None:
    """Write `<cache>/<id>/installed.json` (id, file, sha256 of the installed file, source)
    atomically; fetch writes it last, so a font counts as installed only once complete."""
    record = {"id": entry["id"], "file": installed_name(entry), "sha256": sha256,
              "source": entry["source"]}
    write_atomic(Path(cache) / entry["id"] / RECORD,
                 json.dumps(record, indent=1, sort_keys=True).encode())


def _candidates(entry: dict, manifest_dir: Path, cache: Path, where: tuple[str, ...]
                ) -> list[tuple[Path, set]]:
    """(path, accepted sha256s) in the order tried; an empty set accepts any file.

    The local file (an importable fontpkg package, or a `file` path) comes first, so the
    embedded set never depends on the cache; a cached file counts only with fetch's record.
    """
    want = {entry["sha256"]} if entry.get("sha256") else set()
    kind = entry["source"]["kind"]
    out = []
    local = (package_file(entry["source"]["package"], entry["file"]) if kind == "pypi" else
             manifest_dir / entry["source"].get("path", entry.get("file")) if kind == "file"
             else None)
    if "local" in where and local is not None and local.is_file():
        out.append((local, want))
    if "cache" not in where:
        return out
    cached = cache_path(entry, cache)
    rec = read_record(entry, cache) if cached.is_file() else None
    if rec is not None:
        # A merged font (npm) may be rebuilt byte-differently by another fontTools: fetch
        # verified its sources and recorded the sha it produced.
        out.append((cached, want | {rec["sha256"]} if kind == "npm" or not want else want))
    return out


@dataclass(frozen=True)
class Located:
    """Result of locate: the verified file and its sha256, or why a file was rejected."""

    path: Path | None       # verified font file, or None
    sha256: str = ""
    problem: str = ""       # why a file that exists was rejected


def locate(entry: dict, manifest_dir, cache=None, where=("local", "cache")) -> Located:
    """Find and verify an entry's font file: the local file (importable fontpkg package or
    `file` path) first, then the fonts cache (only with fetch's install record); `where`
    limits the search to "local" and/or "cache". A file failing its sha256 gives
    `Located(None, problem=...)` (never an exception), no file at all `Located(None)`."""
    cache = fonts_cache_dir(cache)
    problem = ""
    for path, accepted in _candidates(entry, Path(manifest_dir), cache, tuple(where)):
        actual = file_sha256(path)
        if not accepted or actual in accepted:
            return Located(path, actual)
        expected = entry.get("sha256") or " or ".join(sorted(accepted))
        problem = problem or (f"font {entry['id']}: sha256 mismatch (manifest "
                              f"{expected}, file {actual}); rejected — update the "
                              f"manifest or restore the file ({path})")
    return Located(None, problem=problem)

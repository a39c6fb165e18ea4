"""Font discovery (embedded set, directory, manifest) and text-conditioned font choice.

Fonts are chosen *given the text*: only fonts rendering every character of a span are
candidates (FIELD-NOTES, "Rendering and fonts"), instead of dropping fonts or resampling text.
Manifest `synthgen.fonts/1` (see font_manifests/embedded.json and _FIELDS): {"schema",
"name", "fonts": [entry...]}; an entry's `source` is {"kind": "pypi", "package", "version"}
(`file` = name inside the package's `files/` dir) or {"kind": "file", "path"} (relative to
the manifest; `file` may stand in for `path`). A declared sha256 mismatch rejects the font.
"""
from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import json
import re
import warnings
from collections import Counter, OrderedDict
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import ImageFont

from synthtext.charset import brotli_available, file_sha256, renderable_charset
from synthtext.errors import FontError

SCHEMA = "synthgen.fonts/1"
CATEGORIES = ("serif", "sans", "mono", "display", "handwriting", "script")
FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc", ".woff", ".woff2")
FONT_CACHE_SIZE = 512
# fonts_from_dir heuristic: a family or file name containing one of these (case-insensitive)
# is taken as handwriting and cursive; everything else as sans, not cursive. Substrings that
# false-match common print names ("pen" in Open Sans, "writ" in Typewriter) are left out.
CURSIVE_HINTS = ("script", "hand", "brush", "cursive", "marker", "calligraph", "scribble",
                 "scrawl", "signature", "chalk", "crayon")
_RAQM = ImageFont.Layout.RAQM


@dataclass(frozen=True)
class FontSpec:
    """One face of one font file, with what sampling and dataset metadata need."""
    id: str
    path: str
    family: str
    category: str
    cursive: bool
    license: str = "unknown"
    index: int = 0      # face index inside .ttc
    sha256: str = ""    # of the file

    def to_json(self) -> dict:
        """Metadata for samples: no absolute path, so datasets do not leak local layout."""
        return {"id": self.id, "family": self.family, "category": self.category,
                "cursive": self.cursive, "license": self.license, "sha256": self.sha256,
                "file": Path(self.path).name, "index": self.index}


def _skip_warning(path, reason) -> None:
    warnings.warn(f"font {path}: cannot be loaded ({reason}); skipped", stacklevel=3)


def _reason(e: BaseException) -> str:
    text = (str(e).splitlines() or [""])[0]
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


# ---------------------------------------------------------------- manifests

def _field_error(where: str, entry: str, field: str, problem: str) -> FontError:
    return FontError(f"font manifest {where}: {entry}: field '{field}' {problem}; "
                     "fix that entry")


# field: (type, required, what a valid value is)
_FIELDS = {
    "id": (str, True, "must be a non-empty string"),
    "family": (str, True, "must be a string"),
    "category": (str, True, f"must be one of {', '.join(CATEGORIES)}"),
    "cursive": (bool, True, "must be true or false"),
    "source": (dict, True, "must be an object with 'kind' 'pypi' or 'file'"),
    **{f: (str, False, "must be a string") for f in ("file", "style", "license",
                                                    "license_source")},
    "weight": (int, False, "must be an integer"),
    "index": (int, False, "must be a non-negative integer"),
    "sha256": (str, False, "must be 64 lowercase hex digits"),
}
_VALUE_OK = {"id": bool, "category": CATEGORIES.__contains__, "index": lambda v: v >= 0,
             "sha256": lambda v: not v or re.fullmatch(r"[0-9a-f]{64}", v)}


def _check_entry(where: str, i: int, e) -> dict:
    """Schema-check one manifest entry, naming its index/id and the field at fault."""
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
    src = e["source"]
    if src.get("kind") == "pypi":
        if not isinstance(src.get("package"), str) or not src["package"]:
            raise _field_error(where, label, "source.package", "must name the PyPI package")
        if not e.get("file"):
            raise _field_error(where, label, "file", "is missing (file name inside files/)")
    elif src.get("kind") == "file":
        if not isinstance(src.get("path", e.get("file")), str):
            raise _field_error(where, label, "source.path", "must be a path relative to "
                               "the manifest")
    else:
        raise _field_error(where, label, "source.kind", "must be 'pypi' or 'file'")
    return e


def _entry_path(manifest_dir: Path, e: dict) -> Path | None:
    """Where an entry's file lives; None (with a warning) when it is not installed."""
    src = e["source"]
    if src["kind"] == "file":
        return manifest_dir / src.get("path", e.get("file"))
    module = src["package"].replace("-", "_").replace(".", "_")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        warnings.warn(f"font {e['id']}: package {src['package']} is not installed "
                      f"(pip install {src['package']}); skipped", stacklevel=4)
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "files" / e["file"]


def _specs_from_manifest(path: Path) -> list[FontSpec]:
    """Entries of a manifest that exist and match their sha256, in file order."""
    where = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise FontError(f"font manifest {where}: cannot be read ({_reason(e)}); "
                        "fix the JSON or the path") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise FontError(f"font manifest {where}: field 'schema' must be {SCHEMA!r}; "
                        "fix the manifest header")
    if not isinstance(data.get("fonts"), list) or not data["fonts"]:
        raise FontError(f"font manifest {where}: field 'fonts' must be a non-empty list; "
                        "add font entries")
    seen = set()
    for i, raw in enumerate(data["fonts"]):  # whole schema first: no half-loaded manifests
        if _check_entry(where, i, raw)["id"] in seen:
            raise _field_error(where, f"entry {i} (id {raw['id']!r})", "id", "is a duplicate")
        seen.add(raw["id"])
    specs = []
    for e in data["fonts"]:
        file = _entry_path(path.parent, e)
        if file is None:
            continue
        if not file.is_file():
            _skip_warning(file, f"manifest entry {e['id']!r}: file not found")
            continue
        actual = file_sha256(file)
        if e.get("sha256") and actual != e["sha256"]:
            warnings.warn(f"font {e['id']}: sha256 mismatch (manifest {e['sha256']}, file "
                          f"{actual}); rejected — update the manifest or restore the file",
                          stacklevel=3)
            continue
        specs.append(FontSpec(id=e["id"], path=str(file), family=e["family"],
                              category=e["category"], cursive=e["cursive"],
                              license=e.get("license", "unknown"), index=e.get("index", 0),
                              sha256=actual))
    return specs


def fonts_from_manifest(path) -> list[FontSpec]:
    """Fonts listed in a `synthgen.fonts/1` JSON manifest (schema errors → FontError)."""
    path = Path(path)
    specs = _specs_from_manifest(path)
    if not specs:
        raise FontError(f"font manifest {path}: none of its fonts is usable (see warnings); "
                        "fix the entries or install the packages")
    return specs


@lru_cache(maxsize=1)
def _embedded() -> tuple[FontSpec, ...]:
    ref = importlib.resources.files("font_manifests") / "embedded.json"
    with importlib.resources.as_file(ref) as manifest:
        return tuple(fonts_from_manifest(manifest))


def embedded_fonts() -> list[FontSpec]:
    """The OFL fonts shipped as `fontpkg-*` dependencies, so a bare install renders."""
    return list(_embedded())


# ---------------------------------------------------------------- directories

def _faces(path: Path) -> list[tuple[int, str]]:
    """(face index, family) for every face; index -1 marks a single-face file. Raises on
    unreadable files."""
    from fontTools.ttLib import TTCollection, TTFont

    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == b"ttcf":
        coll = TTCollection(str(path), lazy=True)
        try:
            return [(i, font["name"].getBestFamilyName() or path.stem)
                    for i, font in enumerate(coll.fonts)]
        finally:
            coll.close()
    if magic == b"wOF2" and not brotli_available():  # FreeType reads woff2 without brotli
        return [(-1, ImageFont.truetype(str(path), 16).getname()[0] or path.stem)]
    with TTFont(str(path), lazy=True) as font:
        return [(-1, font["name"].getBestFamilyName() or path.stem)]


def _guess_style(family: str, file_name: str) -> tuple[str, bool]:
    """(category, cursive) from names: see CURSIVE_HINTS."""
    text = f"{family} {file_name}".lower()
    if any(hint in text for hint in CURSIVE_HINTS):
        return "handwriting", True
    return "sans", False


def _dir_specs(root: Path, files: list[Path], listed: set, taken: set[str]
               ) -> list[FontSpec]:
    """Heuristic specs for faces not in `listed`; ids from the stem, unique-ified."""
    found = []
    for file in files:
        try:
            faces = _faces(file)
        except Exception as e:  # malformed fonts raise many exception types
            _skip_warning(file, _reason(e))
            continue
        faces = [(i, fam) for i, fam in faces if (file.resolve(), max(i, 0)) not in listed]
        sha = file_sha256(file) if faces else ""
        for index, family in faces:
            multi, index = index >= 0, max(index, 0)
            base = f"{file.stem}-{index}" if multi else file.stem
            unique = file.relative_to(root).as_posix() + (f"#{index}" if multi else "")
            category, cursive = _guess_style(family, file.name)
            found.append((base, unique, FontSpec(
                id=base, path=str(file), family=family, category=category,
                cursive=cursive, index=index, sha256=sha)))
    counts = Counter(base for base, _, _ in found)
    return [spec if counts[base] == 1 and base not in taken else replace(spec, id=unique)
            for base, unique, spec in found]


def fonts_from_dir(path) -> list[FontSpec]:
    """Every face of every font file under `path` (recursive).

    Category/cursive come from CURSIVE_HINTS unless a `fonts.json` manifest (same schema,
    `source.kind` "file") at the top of the directory lists the face: its entry wins.
    """
    root = Path(path)
    if not root.is_dir():
        raise FontError(f"font directory {root}: not a directory; pass an existing folder")
    specs: list[FontSpec] = []
    if (root / "fonts.json").is_file():
        specs = _specs_from_manifest(root / "fonts.json")
    files = sorted(p for p in root.rglob("*")
                   if p.suffix.lower() in FONT_SUFFIXES and p.is_file())
    if not files and not specs:
        raise FontError(f"font directory {root}: no {'/'.join(FONT_SUFFIXES)} files found; "
                        "add fonts or use --fonts embedded")
    listed = {(Path(s.path).resolve(), s.index) for s in specs}
    specs += _dir_specs(root, files, listed, {s.id for s in specs})
    if not specs:
        raise FontError(f"font directory {root}: no font could be loaded (see warnings); "
                        "replace the broken files")
    return specs


def resolve_fonts(arg: str | None) -> list[FontSpec]:
    """The `--fonts` option: None/'embedded', a font directory, or a .json manifest."""
    if arg is None or arg == "embedded":
        return embedded_fonts()
    path = Path(arg)
    if path.is_dir():
        return fonts_from_dir(path)
    if path.suffix.lower() == ".json" and path.is_file():
        return fonts_from_manifest(path)
    raise FontError(f"--fonts {arg}: not 'embedded', an existing font directory or a .json "
                    "font manifest; fix the path")


# ---------------------------------------------------------------- font set

class FontSet:
    """Loaded fonts with their renderable charsets, for text-conditioned font choice."""

    def __init__(self, specs: list[FontSpec], cache_dir=None):
        self.specs: list[FontSpec] = []
        self._charsets: list[frozenset[str]] = []
        self._ids: set[str] = set()
        for spec in sorted(specs, key=lambda s: (s.id, s.path, s.index)):
            loaded = self._load(spec, cache_dir)
            if loaded is not None:
                self.specs.append(loaded[0])
                self._charsets.append(loaded[1])
        if not self.specs:
            raise FontError("fonts: none of the given fonts can be loaded (see warnings); "
                            "fix --fonts or use --fonts embedded")
        self._masks: dict[str, int] = {}
        for i, chars in enumerate(self._charsets):
            for ch in chars:
                self._masks[ch] = self._masks.get(ch, 0) | (1 << i)
        self._all = (1 << len(self.specs)) - 1
        self._fonts: OrderedDict[tuple[int, int], ImageFont.FreeTypeFont] = OrderedDict()

    def _load(self, spec: FontSpec, cache_dir):
        """(spec with sha256 filled in, charset), or None after a warning."""
        if spec.id in self._ids:
            warnings.warn(f"font {spec.path}: duplicate id {spec.id!r}; skipped", stacklevel=3)
            return None
        try:
            sha = file_sha256(spec.path)
            if spec.sha256 and sha != spec.sha256:
                warnings.warn(f"font {spec.id}: sha256 mismatch (expected {spec.sha256}, "
                              f"file {sha}); rejected", stacklevel=3)
                return None
            ImageFont.truetype(spec.path, 32, index=spec.index, layout_engine=_RAQM)
            chars = renderable_charset(spec.path, spec.index, cache_dir, sha256=sha)
        except Exception as e:  # unreadable/corrupt fonts fail in many ways
            _skip_warning(spec.path, str(e).removeprefix(f"font {spec.path}: ")
                          if isinstance(e, FontError) else _reason(e))
            return None
        if not chars:
            _skip_warning(spec.path, "it renders no characters")
            return None
        self._ids.add(spec.id)
        return replace(spec, sha256=sha), chars

    def __len__(self) -> int:
        return len(self.specs)

    def __getstate__(self):
        """Pickle without the FreeType objects (workers rebuild them lazily)."""
        state = self.__dict__.copy()
        state["_fonts"] = OrderedDict()
        return state

    def charset(self, i: int) -> frozenset[str]:
        return self._charsets[i]

    @staticmethod
    def _distinct(chars: Iterable[str]) -> set[str]:
        """Distinct characters of a string or of an iterable of strings."""
        return set(chars) if isinstance(chars, str) else set("".join(chars))

    def uncovered(self, chars: Iterable[str]) -> set[str]:
        """Characters that no font renders (the caller decides: drop, replace or report)."""
        return {c for c in self._distinct(chars) if c not in self._masks}

    def candidates(self, chars: Iterable[str]) -> list[int]:
        """Fonts that render ALL the characters: AND of per-character font bitmasks.

        Pass one line's characters: "\\n" and other controls are in no charset.
        """
        mask = self._all
        for ch in self._distinct(chars):
            mask &= self._masks.get(ch, 0)
            if not mask:
                return []
        out = []
        while mask:  # O(popcount), not O(number of fonts)
            out.append((mask & -mask).bit_length() - 1)
            mask &= mask - 1
        return out

    def choose(self, rng: np.random.Generator, chars, cursive_ratio: float | None = None
               ) -> int | None:
        """A font index for `chars`, or None when no font renders them all.

        With `cursive_ratio`, the cursive group is picked with that probability (falling
        back to the other group when it has no candidate), then a font uniformly within it.
        Draws only from `rng` (same input, same draws), so runs are reproducible.
        """
        cands = self.candidates(chars)
        if not cands:
            return None
        if cursive_ratio is not None:
            if not 0.0 <= cursive_ratio <= 1.0:
                raise ValueError(f"cursive_ratio must be in [0, 1], got {cursive_ratio}")
            want = bool(rng.random() < cursive_ratio)
            group = [i for i in cands if self.specs[i].cursive == want]
            cands = group or cands
        return cands[int(rng.integers(len(cands)))]

    def font(self, i: int, size: int) -> ImageFont.FreeTypeFont:
        """Font `i` at `size` px, LRU-cached: truetype() costs ~ms, a hit well under 1 µs."""
        key = (i, size)
        font = self._fonts.get(key)
        if font is not None:
            self._fonts.move_to_end(key)
            return font
        spec = self.specs[i]
        font = ImageFont.truetype(spec.path, size, index=spec.index, layout_engine=_RAQM)
        self._fonts[key] = font
        if len(self._fonts) > FONT_CACHE_SIZE:
            self._fonts.popitem(last=False)
        return font

    def fingerprint(self) -> str:
        """sha256 over sorted (id, sha256) pairs: identifies the font set in dataset manifests."""
        h = hashlib.sha256()
        for fid, sha in sorted((s.id, s.sha256) for s in self.specs):
            h.update(f"{fid}\t{sha}\n".encode())
        return h.hexdigest()

"""Font discovery (embedded set, directory, manifest) and text-conditioned font choice.

Fonts are chosen *given the text*, as SynthTIGER does (`BaseFont._sample_font(text)` in
synthtiger/components/font/base_font.py): only fonts rendering every character of a span are
candidates, uniformly, instead of dropping fonts that lack a character or resampling the text
until one fits. What "rendering" means is charset.py's rule, not the cmap alone: no tofu,
and no glyph that is another character (a symbol font renders nothing at all). FontSpec
and directory scanning live in faces.py. Manifests (`synthgen.fonts/1`: schema, shipped
manifests, where an entry's file is) live in manifest.py; `synthgen fonts fetch`
(fetch.py) installs their fonts into the fonts cache. A declared sha256 mismatch rejects
the font.
"""
from __future__ import annotations

import hashlib
import warnings
from collections import OrderedDict
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import ImageFont

from synthtext.dataset.errors import FontError
from synthtext.fonts.charset import face_charset, file_sha256
from synthtext.fonts.faces import (
    FONT_SUFFIXES,
    FontSpec,
    dir_specs,
    error_reason,
    skip_warning,
)
from synthtext.fonts.manifest import (
    SELECTIONS,
    SHIPPED,
    fonts_cache_dir,
    load_manifest,
    locate,
    shipped_manifest,
)

FONT_CACHE_SIZE = 512
_RAQM = ImageFont.Layout.RAQM


# ---------------------------------------------------------------- manifests

def _specs_from_manifest(path: Path, only: str | None = None
                         ) -> tuple[list[FontSpec], list[str]]:
    """(installed entries that match their sha256, ids not installed), in file order.

    The whole schema is checked first (no half-loaded manifests). A file that exists but
    fails its sha256 is rejected with a warning; it is never used.
    """
    manifest = load_manifest(path)
    cache = fonts_cache_dir()
    specs, missing = [], []
    for e in manifest.select(only):
        found = locate(e, path.parent, cache)
        if found.problem:
            warnings.warn(found.problem, stacklevel=3)
            continue
        if found.path is None:
            if e["source"]["kind"] == "file":
                skip_warning(path.parent / e["source"].get("path", e.get("file")),
                              f"manifest entry {e['id']!r}: file not found")
            else:
                missing.append(e["id"])
            continue
        specs.append(FontSpec(id=e["id"], path=str(found.path), family=e["family"],
                              category=e["category"], cursive=e["cursive"],
                              license=e.get("license", "unknown"), index=e.get("index", 0),
                              sha256=found.sha256))
    return specs, missing


def _fetch_hint(path: Path, only: str | None) -> str:
    shipped = {shipped_manifest(n).resolve(): n for n in SHIPPED}
    name = shipped.get(path.resolve())
    parts = [] if name == "default" else ["--manifest", name or str(path)]
    if only in ("print", "handwriting"):
        parts += ["--only", only]
    return " ".join(["synthgen fonts fetch", *parts])


def fonts_from_manifest(path, only: str | None = None, label: str | None = None
                        ) -> list[FontSpec]:
    """Installed fonts of a `synthgen.fonts/1` manifest, in file order.

    `only` selects all/print/handwriting entries (manifest.SELECTIONS); `label` names the
    manifest in messages. Fonts not installed yet are summed up in one warning naming the
    fetch command; a file failing its sha256 is skipped with a warning. Raises FontError
    when the manifest fails its schema check or none of its selected fonts is usable.
    """
    path = Path(path)
    label = label or f"font manifest {path}"
    specs, missing = _specs_from_manifest(path, only)
    hint = _fetch_hint(path, only)
    if not specs:
        if missing:
            raise FontError(f"{label}: none of its {len(missing)} fonts is installed; run "
                            f"`{hint}` first")
        raise FontError(f"{label}: none of its fonts is usable (see warnings); "
                        "fix the entries or install the packages")
    if missing:
        shown = ", ".join(missing[:3]) + (", …" if len(missing) > 3 else "")
        warnings.warn(f"{label}: {len(missing)} fonts not installed ({shown}), using the "
                      f"{len(specs)} installed; `{hint}` gets the rest", stacklevel=2)
    return specs


@lru_cache(maxsize=1)
def _embedded() -> tuple[FontSpec, ...]:
    return tuple(fonts_from_manifest(shipped_manifest("embedded")))


def embedded_fonts() -> list[FontSpec]:
    """The OFL-1.1 fonts shipped as `fontpkg-*` dependencies (manifest
    `embedded`), so a bare install renders. Raises FontError if none is importable."""
    return list(_embedded())



def fonts_from_dir(path) -> list[FontSpec]:
    """Every face of every font file under `path` (recursive).

    Category/cursive come from CURSIVE_HINTS unless a `fonts.json` manifest (same schema,
    `source.kind` "file") at the top of the directory lists the face: its entry wins. Ids
    are file stems (`stem-N` for face N of a collection), made unique by relative path when
    two collide. Unreadable files are skipped with a warning.

    Raises:
        FontError: `path` is not a directory, holds no font file, or none loads.
    """
    root = Path(path)
    if not root.is_dir():
        raise FontError(f"font directory {root}: not a directory; pass an existing folder")
    specs: list[FontSpec] = []
    if (root / "fonts.json").is_file():
        specs = _specs_from_manifest(root / "fonts.json")[0]
    files = sorted(p for p in root.rglob("*")
                   if p.suffix.lower() in FONT_SUFFIXES and p.is_file())
    if not files and not specs:
        raise FontError(f"font directory {root}: no {'/'.join(FONT_SUFFIXES)} files found; "
                        "add fonts or use --fonts embedded")
    listed = {(Path(s.path).resolve(), s.index) for s in specs}
    specs += dir_specs(root, files, listed, {s.id for s in specs})
    if not specs:
        raise FontError(f"font directory {root}: no font could be loaded (see warnings); "
                        "replace the broken files")
    return specs


def resolve_fonts(arg: str | None) -> list[FontSpec]:
    """The `--fonts` option: None/'embedded'; all/print/handwriting (installed fonts of the
    default manifest); a font directory; or a .json manifest (its installed fonts).

    Raises:
        FontError: `arg` is none of these, or names fonts of which none is usable.
    """
    if arg is None or arg == "embedded":
        return embedded_fonts()
    if arg in SELECTIONS:
        return fonts_from_manifest(shipped_manifest("default"), only=arg,
                                   label=f"--fonts {arg} (default manifest)")
    path = Path(arg)
    if path.is_dir():
        return fonts_from_dir(path)
    if path.suffix.lower() == ".json" and path.is_file():
        return fonts_from_manifest(path)
    raise FontError(f"--fonts {arg}: not embedded, all, print, handwriting, an existing font "
                    "directory or a .json font manifest; fix the value")


# ---------------------------------------------------------------- font set

class FontSet:
    """Loaded fonts with their renderable charsets, for text-conditioned font choice.

    Specs are sorted by (id, path, index), so indices do not depend on discovery order; one
    is skipped with a warning when its id repeats, its file fails the declared sha256,
    Pillow cannot load it or it renders nothing; a symbol font (charset.py, symbols.py)
    renders nothing and is skipped with a warning saying why, and listed in `symbol_fonts`
    ((spec, why) pairs). `cache_dir`: the charset cache root. Raises FontError when no
    spec loads, unless `require_any` is False (`fonts check` reports on fonts that are all
    unusable).
    """

    def __init__(self, specs: list[FontSpec], cache_dir=None, *, require_any: bool = True):
        self.specs: list[FontSpec] = []
        self.symbol_fonts: list[tuple[FontSpec, str]] = []
        self._charsets: list[frozenset[str]] = []
        self._ids: set[str] = set()
        for spec in sorted(specs, key=lambda s: (s.id, s.path, s.index)):
            loaded = self._load(spec, cache_dir)
            if loaded is not None:
                self.specs.append(loaded[0])
                self._charsets.append(loaded[1])
        if not self.specs and require_any:
            symbols = [s.id for s, _ in self.symbol_fonts]
            verb = "is a symbol font" if len(symbols) == 1 else "are symbol fonts"
            why = f"; {', '.join(symbols)} {verb}" if symbols else ""
            raise FontError(f"fonts: none of the given fonts can be used (see warnings{why}); "
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
            face = face_charset(spec.path, spec.index, cache_dir, sha256=sha)
        except Exception as e:  # unreadable/corrupt fonts fail in many ways
            skip_warning(spec.path, str(e).removeprefix(f"font {spec.path}: ")
                         if isinstance(e, FontError) else error_reason(e))
            return None
        if face.symbol:
            self.symbol_fonts.append((replace(spec, sha256=sha), face.symbol))
            warnings.warn(f"font {spec.path}: a symbol font, skipped: its glyphs are not the "
                          f"characters its cmap claims; {face.symbol}", stacklevel=3)
            return None
        if not face.chars:
            skip_warning(spec.path, "it renders no characters")
            return None
        self._ids.add(spec.id)
        return replace(spec, sha256=sha), face.chars

    def __len__(self) -> int:
        return len(self.specs)

    def __getstate__(self):
        """Pickle without the FreeType objects (workers rebuild them lazily)."""
        state = self.__dict__.copy()
        state["_fonts"] = OrderedDict()
        return state

    def charset(self, i: int) -> frozenset[str]:
        """The characters font `i` renders (charset.renderable_charset)."""
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

        Raises:
            ValueError: `cursive_ratio` outside [0, 1] (RenderConfig.validate catches it
                first as a ConfigError).
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
        """Pillow font `i` at `size` px (em size, raqm layout), LRU-cached over
        FONT_CACHE_SIZE entries: truetype() costs ~ms, a hit well under 1 µs."""
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
        """Hex sha256 over the sorted "id<TAB>sha256" lines: identifies the font set in the
        dataset info (same fonts, same fingerprint, whatever their paths)."""
        h = hashlib.sha256()
        for fid, sha in sorted((s.id, s.sha256) for s in self.specs):
            h.update(f"{fid}\t{sha}\n".encode())
        return h.hexdigest()

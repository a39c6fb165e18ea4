"""Font faces: what one face of one font file is (FontSpec), how the faces of the files in a
directory are found and styled, and the warning for a face that is skipped.
"""
from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont
from PIL import ImageFont

from synthtext.fonts.charset import brotli_available, file_sha256

FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc", ".woff", ".woff2")
# fonts_from_dir heuristic: a family or file name containing one of these (case-insensitive)
# is taken as handwriting and cursive; everything else as sans, not cursive. Substrings that
# false-match common print names ("pen" in Open Sans, "writ" in Typewriter) are left out.
CURSIVE_HINTS = ("script", "hand", "brush", "cursive", "marker", "calligraph", "scribble",
                 "scrawl", "signature", "chalk", "crayon")


@dataclass(frozen=True)
class FontSpec:
    """One face of one font file, with what sampling and dataset metadata need.

    `category` is one of manifest.CATEGORIES, `cursive` puts the face in the cursive group
    of FontSet.choose, `license` is an SPDX expression, `sha256` the file's hex digest
    ("" until FontSet fills it in).
    """
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


def skip_warning(path, reason) -> None:
    """Warn (at the caller's caller) that the font at `path` is skipped because `reason`."""
    warnings.warn(f"font {path}: cannot be loaded ({reason}); skipped", stacklevel=3)


def error_reason(e: BaseException) -> str:
    """`Type: first line of the message` of an exception, for skip warnings."""
    text = (str(e).splitlines() or [""])[0]
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _faces(path: Path) -> list[tuple[int, str]]:
    """(face index, family) for every face; index -1 marks a single-face file. Raises on
    unreadable files."""
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


def dir_specs(root: Path, files: list[Path], listed: set, taken: set[str]
              ) -> list[FontSpec]:
    """Specs for the faces of `files` (under `root`) not in `listed` ((resolved path, face
    index) pairs), styled by CURSIVE_HINTS; ids are file stems (`stem-N` for face N of a
    collection), made unique by relative path when two collide or one is in `taken`.
    Unreadable files are skipped with a warning."""
    found = []
    for file in files:
        try:
            faces = _faces(file)
        except Exception as e:  # malformed fonts raise many exception types
            skip_warning(file, error_reason(e))
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

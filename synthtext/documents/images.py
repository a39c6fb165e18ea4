"""Finding the page image an XML file names, and reading its resolution."""

from __future__ import annotations

import os
import re
from pathlib import Path

from PIL import Image

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".jp2", ".webp", ".bmp", ".gif")
# " (1)", " (2)" ...: the copies a browser or file manager makes of a downloaded file.
_COPY_SUFFIX = re.compile(r" \(\d+\)$")
# Below this a "resolution" is JFIF's aspect-ratio-only density, not a scan resolution.
_MIN_DPI = 10.0


def find_image(xml_path: Path, name: str | None) -> Path | None:
    """The image file an XML page names, looked for next to the XML.

    Tried in turn: ``name`` relative to the XML's folder and to its parent (OCR-D
    workspaces keep images in a sibling folder), ``name`` as an absolute path, the file name
    part of ``name`` (a Windows path or a URL) in the XML's folder; then any file in that
    folder whose stem is the stem of ``name`` or of the XML, ignoring case and a
    `` (1)``-style copy suffix on either side, with an extension of
    :data:`IMAGE_EXTENSIONS` (an exact stem first).

    Returns:
        The path, or None when nothing fits (the reader reports it only when asked for the
        image: :meth:`Document.find_image`).
    """
    folder = xml_path.parent
    stems = [xml_path.stem]
    if name:
        base = re.split(r"[\\/]", name.strip())[-1]
        given = Path(name.strip())
        tries = [given] if given.is_absolute() else [folder / given, folder.parent / given]
        for candidate in (*tries, folder / base):
            if base and candidate.is_file():
                return candidate
        stems.insert(0, Path(base).stem)
    return _by_stem(folder, stems)


def _by_stem(folder: Path, stems: list[str]) -> Path | None:
    """The image in ``folder`` whose stem matches one of ``stems`` (module rules)."""
    wanted = [s.casefold() for s in stems if s]
    bare = [_COPY_SUFFIX.sub("", s) for s in wanted]
    try:
        entries = [e for e in os.scandir(folder) if e.is_file()]
    except OSError:
        return None
    best: tuple[int, str] | None = None
    for entry in entries:
        stem, ext = os.path.splitext(entry.name)
        if ext.lower() not in IMAGE_EXTENSIONS:
            continue
        stem = stem.casefold()
        if stem in wanted:
            score = wanted.index(stem)
        elif _COPY_SUFFIX.sub("", stem) in bare:
            score = len(wanted) + bare.index(_COPY_SUFFIX.sub("", stem))
        else:
            continue
        if best is None or (score, entry.name) < best:
            best = (score, entry.name)
    return None if best is None else folder / best[1]


def image_dpi(path: Path) -> tuple[float, float] | None:
    """The (x, y) resolution in dots per inch an image file records (TIFF resolution tags,
    JFIF density, PNG pHYs, as Pillow reads them from the header), or None when it records
    none. Reads the header only. Raises OSError when Pillow cannot open the file."""
    with Image.open(path) as im:
        dpi = im.info.get("dpi")
    if not dpi or min(float(dpi[0]), float(dpi[1])) < _MIN_DPI:
        return None
    return float(dpi[0]), float(dpi[1])

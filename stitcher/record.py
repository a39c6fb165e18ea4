"""One line crop as every reader reports it: where its image is, its text, whose it is."""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

TAR_PREFIX = "tar://"  # ref of a crop stored inside a tar: tar://<path>#<offset>:<size>
# ref of a line cut from a page image by its polygon: page://<path>#x,y x,y ... (px)
PAGE_PREFIX = "page://"
_TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)$")


class CropRecord(NamedTuple):
    """One line crop: where its image is and what it says (images are read lazily)."""

    id: str  # unique name: IAM line id, line-list id, or path without extension
    ref: str  # absolute image path, or tar://<path>#<offset>:<size>
    text: str  # the transcription, whitespace normalised
    writer: str | None
    document: str | None  # lines of one document share it; ``order`` is reading order
    order: int
    split: str | None  # as the input states it (column, json field), before split files
    size: int  # image bytes (part of the index checksum)
    rel: str  # ref relative to the input root (part of the index checksum)


def tar_ref(path: str, offset: int, size: int) -> str:
    """The ref of a crop stored in the tar ``path`` at byte ``offset``, ``size`` bytes."""
    return f"{TAR_PREFIX}{path}#{offset}:{size}"


def page_ref(image: str, polygon: np.ndarray) -> str:
    """The ref of a line cut from the page image ``image`` (absolute path) by ``polygon``,
    float (N, 2) of (x, y) image px (kept to 0.1 px)."""
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in polygon)
    return f"{PAGE_PREFIX}{image}#{points}"


def parse_page_ref(ref: str) -> tuple[str, np.ndarray]:
    """(page image path, float64 (N, 2) polygon in px) of a :func:`page_ref`."""
    path, _, points = ref[len(PAGE_PREFIX):].rpartition("#")
    poly = np.array([[float(v) for v in p.split(",")] for p in points.split()], np.float64)
    return path, poly


def read_crop_bytes(ref: str) -> bytes:
    """The encoded image of a crop (OSError when it vanished since indexing); for a
    :func:`page_ref`, the whole page image."""
    if ref.startswith(TAR_PREFIX):
        path, _, span = ref[len(TAR_PREFIX):].rpartition("#")
        offset, size = (int(x) for x in span.split(":"))
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(size)
    if ref.startswith(PAGE_PREFIX):
        ref = parse_page_ref(ref)[0]
    with open(ref, "rb") as f:
        return f.read()


def infer_document(name: str) -> tuple[str | None, int | None]:
    """``letters/JDH_2_16_162_001_r1l10`` -> (``letters/JDH_2_16_162_001_r1l``, 10).

    Line crops are usually named after their page plus a running line number, which gives
    documents and reading order for free when the input has no document column.
    """
    m = _TRAILING_NUMBER.match(name)
    if not m or not m.group(1):
        return None, None
    return m.group(1), int(m.group(2))

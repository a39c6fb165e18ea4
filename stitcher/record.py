"""One line crop as every reader reports it: where its image is, its text, whose it is."""

from __future__ import annotations

import re
from typing import NamedTuple

TAR_PREFIX = "tar://"  # ref of a crop stored inside a tar: tar://<path>#<offset>:<size>
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


def read_crop_bytes(ref: str) -> bytes:
    """The encoded image of a crop (OSError when it vanished since indexing)."""
    if ref.startswith(TAR_PREFIX):
        path, _, span = ref[len(TAR_PREFIX):].rpartition("#")
        offset, size = (int(x) for x in span.split(":"))
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(size)
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

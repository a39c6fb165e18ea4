"""Bad-input bookkeeping shared by every reader: decode text leniently, vet image files cheaply.

Nothing here raises on bad data: a problem becomes a named count in :class:`Skips`, so one
bad crop or row never stops a run of thousands, and the summary can name what was dropped.
"""

from __future__ import annotations

import codecs
import os
from collections import Counter

from synthtext.dataset.text import apply_text_policy

# Causes an input line can be skipped for (or, for ``text_not_utf8``, only noted).
SKIP_CAUSES = ("missing_image", "unreadable_image", "truncated_image", "empty_text",
               "err_line", "bad_row", "duplicate_id", "unassigned_split", "split_conflict",
               # PAGE-XML/ALTO pages (whole files, then single lines)
               "unreadable_xml", "not_page_xml_or_alto", "image_size_mismatch",
               "empty_page", "line_without_coordinates", "bad_polygon")
# kept but counted: text decoded by fallback; a line polygon clipped to its page image
NOTE_CAUSES = ("text_not_utf8", "clipped_polygon")
MAX_EXAMPLES = 20

_MAGIC = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpg", b"II*\x00": "tif",
          b"MM\x00*": "tif", b"BM": "bmp", b"GIF8": "gif"}
_PNG_END = b"IEND\xaeB`\x82"


class Skips:
    """Counts of skipped (or noted) inputs by cause, with up to 20 example names each."""

    def __init__(self):
        self.counts: Counter = Counter()
        self.examples: dict[str, list[str]] = {}

    def add(self, cause: str, name: str) -> None:
        """Count one input skipped for ``cause`` (a SKIP_CAUSES or NOTE_CAUSES key)."""
        self.counts[cause] += 1
        ex = self.examples.setdefault(cause, [])
        if len(ex) < MAX_EXAMPLES:
            ex.append(str(name))

    def to_json(self) -> dict:
        """``{"counts": {cause: n}, "examples": {cause: [names]}}`` for the causes seen."""
        causes = [c for c in SKIP_CAUSES + NOTE_CAUSES if self.counts[c]]
        return {"counts": {c: self.counts[c] for c in causes},
                "examples": {c: self.examples[c] for c in causes}}


def decode_text(data: bytes, encoding: str = "utf-8") -> tuple[str, bool]:
    """Text from bytes in ``encoding``; BOMs are honoured and undecodable text falls back to
    cp1252 (then latin-1), the usual "other encoding" of Western transcriptions.

    Returns the text and whether the fallback was needed (the caller counts it).
    """
    if data.startswith(codecs.BOM_UTF8):
        data, encoding = data[3:], "utf-8"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), False
        except UnicodeDecodeError:
            pass
    try:
        return data.decode(encoding), False
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), True
    except UnicodeDecodeError:
        return data.decode("latin-1"), True


def clean_text(text: str, normalize: str = "NFC") -> str:
    """A crop's transcription (one line) under the label text policy
    (:func:`synthtext.dataset.text.apply_text_policy`): invisible characters removed,
    Unicode normalised (``"NFC"``, ``"NFKC"`` or ``"none"``), whitespace runs made single
    spaces; ``""`` when nothing visible is left (the caller counts ``empty_text``)."""
    return apply_text_policy(text, normalize)


def image_problem(head: bytes, tail: bytes, size: int) -> str | None:
    """``unreadable_image``/``truncated_image`` from a file's first and last bytes, or None.

    PNG must end with its IEND chunk and JPEG with an EOI marker: that catches the usual
    truncation (an interrupted copy) without decoding every crop at index time.
    """
    if size == 0:
        return "unreadable_image"
    kind = next((k for m, k in _MAGIC.items() if head.startswith(m)), None)
    if kind is None and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        kind = "webp"
    if kind is None:
        return "unreadable_image"
    if kind == "png" and not tail.endswith(_PNG_END):
        return "truncated_image"
    if kind == "jpg" and b"\xff\xd9" not in tail:
        return "truncated_image"
    return None


def check_image_file(path: str) -> tuple[str | None, int]:
    """(problem or None, size in bytes) for an image path: missing, unreadable, truncated."""
    try:
        size = os.stat(path).st_size
        with open(path, "rb") as f:
            head = f.read(16)
            f.seek(max(0, size - 64))
            tail = f.read(64)
    except FileNotFoundError:
        return "missing_image", 0
    except (IsADirectoryError, PermissionError, OSError):
        return "unreadable_image", 0
    return image_problem(head, tail, size), size

"""Real annotated pages: PAGE-XML and ALTO readers (regions, lines, polygons, baselines,
reading order, line text under the label text policy), as Transkribus, eScriptorium/Kraken,
OCR-D, Loghi and ABBYY export them.

``read_pagexml(path)`` and ``read_alto(path, dpi=None)`` return a :class:`Document`
(regions in reading order, each with its lines); coordinates are image pixels. Every
problem with a user's file is a one-line :class:`DocumentError` naming the file.
"""

from __future__ import annotations

from pathlib import Path

from synthtext.dataset.errors import ConfigError
from synthtext.documents.alto import read_alto
from synthtext.documents.model import Document, DocumentError, Region, TextLine, scale_factors
from synthtext.documents.pagexml import read_pagexml

FORMATS = ("pagexml", "alto")

__all__ = ["FORMATS", "Document", "DocumentError", "Region", "TextLine", "read_alto",
           "read_document", "read_pagexml", "scale_factors"]


def read_document(path: Path | str, fmt: str, dpi: float | None = None,
                  normalize: str = "NFC") -> Document:
    """:func:`read_pagexml` or :func:`read_alto` by ``fmt`` (one of :data:`FORMATS`); ``dpi``
    matters for ALTO in physical units only. Raises ConfigError for an unknown ``fmt``,
    DocumentError as the readers do."""
    if fmt == "pagexml":
        return read_pagexml(path, normalize)
    if fmt == "alto":
        return read_alto(path, dpi, normalize)
    raise ConfigError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")

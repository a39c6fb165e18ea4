"""What the PAGE-XML and ALTO readers share: safe parsing with one-line errors, point lists,
reading-order ranks and line assembly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from lxml import etree

from synthtext.dataset.text import apply_text_policy
from synthtext.documents.model import DocumentError, TextLine, clip_points

# No DTD loading, no entity expansion, no network: a user's file cannot reach anything else.
_PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False,
                       remove_comments=True, remove_pis=True, huge_tree=True)


def parse_xml(path: Path) -> etree._Element:
    """The root element of the XML file at ``path``.

    Raises:
        DocumentError: the file cannot be read, or is not well-formed XML (with the line and
            column lxml reports).
    """
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DocumentError(f"{path}: cannot read it ({e.strerror or e})") from None
    try:
        return etree.fromstring(data, etree.XMLParser(**_PARSER_OPTIONS))
    except etree.XMLSyntaxError as e:
        line, col = e.position if e.position else (e.lineno, 0)
        msg = " ".join(str(e.msg or e).split())
        raise DocumentError(f"{path}:{line}:{col}: malformed XML: {msg}") from None


def split_tag(tag: str) -> tuple[str, str]:
    """(namespace, local name) of an lxml tag (``"{ns}Name"`` or ``"Name"``)."""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def qualifier(ns: str):
    """A function that turns a local name into the lxml tag in namespace ``ns``."""
    return (lambda name: f"{{{ns}}}{name}") if ns else (lambda name: name)


def parse_numbers(text: str, path: Path, what: str, el: etree._Element) -> np.ndarray:
    """Points written as ``"x,y x,y ..."`` (PAGE) or ``"x y x y ..."`` (ALTO) as float64
    (N, 2), in the file's units.

    Raises:
        DocumentError: a value is not a number or the numbers do not pair up.
    """
    try:
        values = np.array(text.replace(",", " ").split(), dtype=np.float64)
    except ValueError:
        raise DocumentError(f"{path}:{el.sourceline}: {what} {text[:40]!r} is not a list of "
                            "x,y numbers") from None
    if values.size % 2 or not np.isfinite(values).all():
        raise DocumentError(f"{path}:{el.sourceline}: {what} {text[:40]!r} does not pair up "
                            "into x,y points")
    return values.reshape(-1, 2)


def attr_number(el: etree._Element, name: str, path: Path) -> float | None:
    """``el``'s attribute ``name`` as a float, None when absent.

    Raises:
        DocumentError: the attribute is present but not a finite number.
    """
    value = el.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not np.isfinite(number):
        tag = split_tag(el.tag)[1]
        raise DocumentError(f"{path}:{el.sourceline}: {tag}@{name}={value!r} is not a number")
    return number


def ordered(ranks: list[float | None]) -> list[int]:
    """Positions 0..n-1 sorted by rank; unranked items keep document order after the ranked
    ones (a stable sort, so equal ranks keep document order too)."""
    return sorted(range(len(ranks)),
                  key=lambda i: (ranks[i] is None, ranks[i] or 0, i))


def positions(refs: list[str]) -> dict[str, int]:
    """Each id's first position in the flattened reading order ``refs``."""
    pos: dict[str, int] = {}
    for i, ref in enumerate(refs):
        pos.setdefault(ref, i)
    return pos


def first_rank(keys: list[str], pos: dict[str, int]) -> int | None:
    """The position of the first of ``keys`` (an item's own id, then its ancestors') that
    the reading order names; None when it names none."""
    return next((pos[k] for k in keys if k in pos), None)


def make_line(line_id: str, polygon: np.ndarray, baseline: np.ndarray | None,
              raw_text: str, size: tuple[int, int], normalize: str) -> TextLine:
    """A :class:`TextLine` with its points clipped to the page and its text under the label
    text policy (``normalize``: NFC, NFKC or none)."""
    polygon, clipped = clip_points(polygon, size)
    if baseline is not None:
        baseline, moved = clip_points(baseline, size)
        clipped = clipped or moved
    return TextLine(line_id, polygon, baseline, apply_text_policy(raw_text, normalize),
                    raw_text, clipped)


def count(skipped: dict[str, int], cause: str) -> None:
    """Add one to ``skipped[cause]``."""
    skipped[cause] = skipped.get(cause, 0) + 1

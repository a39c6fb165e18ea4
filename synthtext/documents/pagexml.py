"""PAGE-XML reader: text regions and lines with polygons, baselines, reading order and text.

Sources: the PAGE content schema (PRImA, pagecontent.xsd 2019-07-15 and its predecessors
2009-03-16, 2010-01-12, 2010-03-19, 2013-07-15, 2017-07-15), Transkribus' ``custom``
attribute conventions, and Kraken's PAGE reader (kraken/lib/xml/page.py) for what the
tools write in practice. Choices made here:

- Namespace: any whose last segment is a date (``.../pagecontent/2019-07-15``, http or
  https); that date is ``Document.version``.
- Points: ``Coords@points`` (``"x,y x,y ..."``, 2010-03-19 onwards) or the 2009/2010
  ``<Point x= y=/>`` children.
- Regions: every ``TextRegion`` at any depth (inside tables or other regions too).
- Region order: ``ReadingOrder`` (``OrderedGroup`` children sorted by ``@index``,
  ``UnorderedGroup`` children in document order, nested groups flattened in place); a region
  the order does not name takes the place of its nearest named ancestor, else goes after
  the named ones in document order. Without a usable ``ReadingOrder``: Transkribus'
  ``custom="readingOrder {index:N;}"``, else document order.
- Line order: ``TextLine@index`` (2019), else ``custom`` readingOrder, else document order.
- Line text: the line's own ``TextEquiv`` (never its region's or words'), the one with the
  lowest ``@index`` ("the text content with the lowest index should be interpreted as the
  main text content", pagecontent.xsd); without indices the first. Its ``Unicode`` child.
  Kraken takes the first TextEquiv whatever its index.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from lxml import etree

from synthtext.dataset.text import check_normalize
from synthtext.documents.images import find_image
from synthtext.documents.model import Document, DocumentError, Region, TextLine, clip_points
from synthtext.documents.xmltools import (attr_number, count, first_rank, make_line,
                                          ordered, parse_numbers, parse_xml, positions,
                                          qualifier, split_tag)

_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}")
_NO_COORDS = "line without coordinates"
_FEW_POINTS = "line polygon with fewer than 3 points"


def read_pagexml(path: Path | str, normalize: str = "NFC") -> Document:
    """Read one PAGE-XML file (module docstring: versions, reading order, text choice).

    Args:
        path: the ``.xml`` file; its image is looked for next to it
            (:func:`synthtext.documents.images.find_image`), not opened.
        normalize: Unicode form of the label text policy: ``"NFC"``, ``"NFKC"`` or
            ``"none"``.

    Returns:
        A :class:`Document`; coordinates in image pixels as ``Page@imageWidth/Height`` say,
        clipped to the page. Lines without coordinates or with a polygon of under 3 points
        are left out and counted in ``Document.skipped``.

    Raises:
        DocumentError: unreadable or malformed XML, a root other than a PAGE ``PcGts``, no
            ``Page``, a missing or non-positive image size, or unparsable points.
        ConfigError: an unknown ``normalize``.
    """
    path = Path(path)
    check_normalize(normalize, "normalize")
    root = parse_xml(path)
    ns, local = split_tag(root.tag)
    version = ns.rstrip("/").rsplit("/", 1)[-1]
    if local != "PcGts" or not _VERSION.fullmatch(version):
        raise DocumentError(f"{path}: root element <{local}> in namespace {ns!r} is not "
                            "PAGE-XML (<PcGts> in .../pagecontent/YYYY-MM-DD)")
    q = qualifier(ns)
    page = root.find(q("Page"))
    if page is None:
        raise DocumentError(f"{path}: PAGE-XML without a <Page> element")
    size = (_page_dim(page, "imageWidth", path), _page_dim(page, "imageHeight", path))
    skipped: dict[str, int] = {}
    elements = list(page.iter(q("TextRegion")))
    regions = [_region(elements[i], i, q, path, size, normalize, skipped)
               for i in _region_order(page, elements, q, path)]
    name = page.get("imageFilename")
    return Document(path, "pagexml", version, name, find_image(path, name), size, regions,
                    skipped)


def _page_dim(page: etree._Element, name: str, path: Path) -> int:
    """``Page@imageWidth`` or ``@imageHeight`` as a positive int, or DocumentError."""
    value = attr_number(page, name, path)
    if value is None or value <= 0:
        raise DocumentError(f"{path}:{page.sourceline}: <Page> needs a positive {name} "
                            f"(got {page.get(name)!r})")
    return int(round(value))


def _region_order(page: etree._Element, elements: list, q, path: Path) -> list[int]:
    """Positions of the TextRegion ``elements`` in reading order (module docstring)."""
    refs: list[str] = []
    group = page.find(q("ReadingOrder"))
    if group is not None:
        for child in group:
            _flatten(child, refs, path)
    if refs:
        pos = positions(refs)
        ranks = [first_rank([el.get("id", "")] + [a.get("id", "") for a in el.iterancestors()],
                            pos) for el in elements]
        if any(r is not None for r in ranks):
            return ordered(ranks)
    return ordered([_custom_index(el) for el in elements])


def _flatten(el: etree._Element, refs: list[str], path: Path) -> None:
    """Append the region ids of reading-order group ``el`` (and its nested groups) in order."""
    if el.get("regionRef"):
        refs.append(el.get("regionRef"))
    children = list(el)
    if split_tag(el.tag)[1].startswith("OrderedGroup"):
        ranks = [attr_number(c, "index", path) for c in children]
        children = [children[i] for i in ordered(ranks)]
    for child in children:
        _flatten(child, refs, path)


def _custom_index(el: etree._Element) -> int | None:
    """N of Transkribus' ``custom="readingOrder {index:N;}"``, None when absent."""
    value = _custom(el, "readingOrder", "index")
    return int(value) if value and re.fullmatch(r"-?\d+", value) else None


def _custom(el: etree._Element, key: str, name: str) -> str | None:
    """The value of ``name`` in the ``key {...}`` group of ``el@custom``, or None."""
    custom = el.get("custom")
    group = custom and re.search(rf"\b{key}\s*\{{([^}}]*)\}}", custom)
    found = group and re.search(rf"(?:^|;)\s*{name}\s*:\s*([^;]*)", group.group(1))
    return found.group(1).strip() if found else None


def _region(el: etree._Element, k: int, q, path: Path, size: tuple[int, int],
            normalize: str, skipped: dict[str, int]) -> Region:
    """The :class:`Region` of TextRegion ``el`` (the ``k``-th in the file)."""
    region_id = el.get("id") or f"region{k + 1}"
    coords = el.find(q("Coords"))
    polygon = None if coords is None else _points(coords, q, path)
    polygon = clip_points(polygon, size)[0] if polygon is not None and len(polygon) >= 3 \
        else None
    kind = el.get("type") or _custom(el, "structure", "type") or "TextRegion"
    line_els = el.findall(q("TextLine"))
    ranks = [attr_number(line, "index", path) for line in line_els]
    if all(r is None for r in ranks):
        ranks = [_custom_index(line) for line in line_els]
    lines = []
    for i in ordered(ranks):
        line = _line(line_els[i], f"{region_id}_l{i + 1}", q, path, size, normalize, skipped)
        if line is not None:
            lines.append(line)
    return Region(region_id, kind, polygon, lines)


def _line(el: etree._Element, default_id: str, q, path: Path, size: tuple[int, int],
          normalize: str, skipped: dict[str, int]) -> TextLine | None:
    """The :class:`TextLine` of ``el``, or None (counted in ``skipped``) without a polygon."""
    coords = el.find(q("Coords"))
    polygon = None if coords is None else _points(coords, q, path)
    if polygon is None or len(polygon) == 0:
        count(skipped, _NO_COORDS)
        return None
    if len(polygon) < 3:
        count(skipped, _FEW_POINTS)
        return None
    base_el = el.find(q("Baseline"))
    baseline = None if base_el is None else _points(base_el, q, path)
    if baseline is not None and len(baseline) < 2:
        baseline = None
    return make_line(el.get("id") or default_id, polygon, baseline, _line_text(el, q, path),
                     size, normalize)


def _points(el: etree._Element, q, path: Path) -> np.ndarray:
    """Float64 (N, 2) points of a Coords/Baseline element: ``@points`` or 2009 ``Point``s."""
    text = el.get("points")
    if text is None:
        pts = el.findall(q("Point"))
        text = " ".join(f"{p.get('x', '')},{p.get('y', '')}" for p in pts)
    return parse_numbers(text, path, f"{split_tag(el.tag)[1]} points", el)


def _line_text(el: etree._Element, q, path: Path) -> str:
    """The ``Unicode`` of the line's own TextEquiv with the lowest ``@index`` (first when
    none has one); ``""`` without a TextEquiv."""
    equivs = el.findall(q("TextEquiv"))
    if not equivs:
        return ""
    ranks = [attr_number(e, "index", path) for e in equivs]
    chosen = equivs[ordered(ranks)[0]]
    unicode = chosen.find(q("Unicode"))
    return (unicode.text or "") if unicode is not None else ""

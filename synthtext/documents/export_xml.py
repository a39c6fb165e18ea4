"""PAGE-XML 2019 and ALTO v4 text of one exported page (used by ``synthgen export``).

Sources: the PAGE content schema 2019-07-15 (PRImA, pagecontent.xsd) and ALTO 4.2
(alto-4-2.xsd, the Library of Congress / ALTO board); both are vendored under
``tests/schemas/`` and every export in the tests validates against them.

What is written, for each format:

- PAGE: ``Metadata`` (fixed ``Created``/``LastChange`` so the bytes depend only on the
  sample), ``Page`` with ``imageFilename``/``imageWidth``/``imageHeight``, a
  ``ReadingOrder`` ``OrderedGroup`` naming the regions in order, then one ``TextRegion`` per
  region (``Coords`` = the bounding box of its lines) holding ``TextLine`` elements with
  ``Coords`` (the line quad), ``Baseline`` (the quad's bottom edge BL -> BR), ``Word``
  elements (their quads) where the sample has word quads, and ``TextEquiv/Unicode``.
- ALTO: ``MeasurementUnit`` ``pixel``, ``sourceImageInformation/fileName``, one ``Page``
  with a ``PrintSpace`` holding a ``TextBlock`` per region, each ``TextLine`` with
  ``HPOS/VPOS/WIDTH/HEIGHT`` (the quad's box), ``BASELINE`` (bottom edge as a point list),
  ``Shape/Polygon`` (the quad) and one ``String`` per word (``CONTENT``, its box when the
  sample has word quads) with ``SP`` between words.

Every coordinate is an integer pixel (rounded, clipped to the image: PAGE's ``PointsType``
allows only non-negative integers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from lxml import etree

PAGE_NS = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
PAGE_XSD = PAGE_NS + "/pagecontent.xsd"
ALTO_XSD = "http://www.loc.gov/standards/alto/v4/alto-4-2.xsd"
# No wall clock in the file: the same sample gives the same bytes (PAGE requires both dates).
TIMESTAMP = "1970-01-01T00:00:00"
CREATOR = "synthgen"
# PAGE 2019 TextTypeSimpleType: region types that may go into TextRegion@type.
PAGE_TEXT_TYPES = frozenset((
    "paragraph", "heading", "caption", "header", "footer", "page-number", "drop-capital",
    "credit", "floating", "signature-mark", "catch-word", "marginalia", "footnote",
    "footnote-continued", "endnote", "TOC-entry", "list-label", "other"))


@dataclass
class ExportLine:
    """One line to write: ``text`` without leading spaces, ``quad`` int64 (4, 2) pixels
    TL, TR, BR, BL, and ``words`` as ``(text, quad)`` pairs (quads as ``quad``), empty
    when the sample has no word quads for the line."""

    text: str
    quad: np.ndarray
    words: list[tuple[str, np.ndarray]] = field(default_factory=list)


@dataclass
class ExportRegion:
    """A text region: its type (a PAGE text type or None) and its lines in order."""

    type: str | None
    lines: list[ExportLine]

    def box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) px: the bounding box of the region's line quads."""
        pts = np.concatenate([line.quad for line in self.lines])
        (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
        return int(x0), int(y0), int(x1), int(y1)


def _page_points(points) -> str:
    return " ".join(f"{int(x)},{int(y)}" for x, y in points)


def _box_points(box: tuple[int, int, int, int]) -> list[tuple[int, int]]:
    x0, y0, x1, y1 = box
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _tostring(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def page_xml(image_name: str, size: tuple[int, int], regions: list[ExportRegion]) -> bytes:
    """PAGE-XML 2019-07-15 bytes (UTF-8, module docstring) for one page.

    Args:
        image_name: the image file name written to ``Page@imageFilename``.
        size: (width, height) of the image in px.
        regions: text regions in reading order, each with at least one line.
    """
    def el(parent, name, **attrs):
        return etree.SubElement(parent, f"{{{PAGE_NS}}}{name}", attrs)

    root = etree.Element(f"{{{PAGE_NS}}}PcGts", nsmap={None: PAGE_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{PAGE_NS} {PAGE_XSD}")
    meta = el(root, "Metadata")
    for name, text in (("Creator", CREATOR), ("Created", TIMESTAMP),
                       ("LastChange", TIMESTAMP)):
        el(meta, name).text = text
    page = el(root, "Page", imageFilename=image_name, imageWidth=str(size[0]),
              imageHeight=str(size[1]))
    if regions:
        group = el(el(page, "ReadingOrder"), "OrderedGroup", id="ro1")
        for i in range(len(regions)):
            el(group, "RegionRefIndexed", index=str(i), regionRef=f"r{i + 1}")
    for i, region in enumerate(regions, 1):
        reg = el(page, "TextRegion", id=f"r{i}")
        if region.type in PAGE_TEXT_TYPES:
            reg.set("type", region.type)
        el(reg, "Coords", points=_page_points(_box_points(region.box())))
        for j, line in enumerate(region.lines, 1):
            _page_line(el, reg, f"r{i}l{j}", line)
    return _tostring(root)


def _page_line(el, region: etree._Element, line_id: str, line: ExportLine) -> None:
    node = el(region, "TextLine", id=line_id)
    el(node, "Coords", points=_page_points(line.quad))
    el(node, "Baseline", points=_page_points(line.quad[[3, 2]]))
    for k, (text, quad) in enumerate(line.words, 1):
        word = el(node, "Word", id=f"{line_id}w{k}")
        el(word, "Coords", points=_page_points(quad))
        el(el(word, "TextEquiv"), "Unicode").text = text
    el(el(node, "TextEquiv"), "Unicode").text = line.text


def _hvwh(box: tuple[int, int, int, int]) -> dict[str, str]:
    x0, y0, x1, y1 = box
    return {"HPOS": str(x0), "VPOS": str(y0), "WIDTH": str(x1 - x0), "HEIGHT": str(y1 - y0)}


def _quad_box(quad: np.ndarray) -> tuple[int, int, int, int]:
    (x0, y0), (x1, y1) = quad.min(axis=0), quad.max(axis=0)
    return int(x0), int(y0), int(x1), int(y1)


def alto_xml(image_name: str, size: tuple[int, int], regions: list[ExportRegion]) -> bytes:
    """ALTO v4 (4.2) bytes (UTF-8, module docstring) for one page; arguments as
    :func:`page_xml`. Runs of spaces inside a line become one ``SP``."""
    def el(parent, name, **attrs):
        return etree.SubElement(parent, f"{{{ALTO_NS}}}{name}", attrs)

    root = etree.Element(f"{{{ALTO_NS}}}alto", nsmap={None: ALTO_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{ALTO_NS} {ALTO_XSD}")
    desc = el(root, "Description")
    el(desc, "MeasurementUnit").text = "pixel"
    el(el(desc, "sourceImageInformation"), "fileName").text = image_name
    w, h = size
    page = el(el(root, "Layout"), "Page", ID="p1", PHYSICAL_IMG_NR="1", WIDTH=str(w),
              HEIGHT=str(h))
    space = el(page, "PrintSpace", **_hvwh((0, 0, w, h)))
    for i, region in enumerate(regions, 1):
        block = el(space, "TextBlock", ID=f"r{i}", **_hvwh(region.box()))
        for j, line in enumerate(region.lines, 1):
            _alto_line(el, block, f"r{i}l{j}", line)
    return _tostring(root)


def _alto_line(el, block: etree._Element, line_id: str, line: ExportLine) -> None:
    baseline = " ".join(f"{int(x)},{int(y)}" for x, y in line.quad[[3, 2]])
    node = el(block, "TextLine", ID=line_id, BASELINE=baseline, **_hvwh(_quad_box(line.quad)))
    points = " ".join(f"{int(x)} {int(y)}" for x, y in line.quad)
    el(el(node, "Shape"), "Polygon", POINTS=points)
    words = line.words or [(text, None) for text in line.text.split()]
    for k, (text, quad) in enumerate(words, 1):
        if k > 1:
            el(node, "SP")
        attrs = {} if quad is None else _hvwh(_quad_box(quad))
        el(node, "String", ID=f"{line_id}w{k}", CONTENT=text, **attrs)

"""ALTO reader: text blocks and lines with polygons, baselines, reading order and text.

Sources: the ALTO schema (Library of Congress, alto-4-4.xsd and the v2/v3 schemas; the
namespace-less 1.x of CCS docWorks), eScriptorium's ALTO export (baselines in
``TextLine@BASELINE`` as ``"x1 y1 x2 y2 ..."``, outlines in ``Shape/Polygon@POINTS``) and
Kraken's ALTO reader (kraken/lib/xml/alto.py). Choices made here:

- Version: ``ns-vN#`` in the namespace gives ``"vN"``; no namespace is ``"1.x"``.
- Units: ``Description/MeasurementUnit`` ``pixel`` (also when absent), ``mm10``, ``mm`` or
  ``inch1200``; the last three become pixels with the scan resolution (module function).
- Regions: every ``TextBlock`` at any depth (inside ``ComposedBlock`` or margins too).
- Outline: ``Shape/Polygon@POINTS``, else the ``HPOS/VPOS/WIDTH/HEIGHT`` box.
- Baseline: ``TextLine@BASELINE`` as points (ALTO 4.2+), or one number (older ALTO: the
  baseline's y) drawn across the line's box.
- Text: ``String@CONTENT`` in order, one space per ``SP``, ``HYP@CONTENT`` (``"-"`` when
  empty; a soft hyphen U+00AD becomes ``"-"``, the mark the page shows).
- Order: ``ReadingOrder`` ``ElementRef@REF`` in document order (nested groups flattened);
  a block takes the place of its own reference, else an ancestor's (``ComposedBlock``),
  else its first referenced line's; unnamed blocks and lines follow in document order.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from lxml import etree

from synthtext.dataset.errors import ConfigError
from synthtext.dataset.text import check_normalize
from synthtext.documents.images import find_image, image_dpi
from synthtext.documents.model import Document, DocumentError, Region, TextLine, clip_points
from synthtext.documents.xmltools import (attr_number, count, first_rank, make_line,
                                          ordered, parse_numbers, parse_xml, positions,
                                          qualifier, split_tag)

# Units per inch of each ALTO MeasurementUnit (None: already pixels).
UNITS_PER_INCH = {"pixel": None, "mm10": 254.0, "mm": 25.4, "inch1200": 1200.0}
_NO_COORDS = "line without coordinates"


def read_alto(path: Path | str, dpi: float | None = None,
              normalize: str = "NFC") -> Document:
    """Read one ALTO file (module docstring: versions, units, text, reading order).

    Args:
        path: the ``.xml`` file; its image is looked for next to it
            (:func:`synthtext.documents.images.find_image`).
        dpi: scan resolution for ``mm10``/``mm``/``inch1200`` coordinates; None reads it
            from the image file's metadata. Unused for ``pixel``.
        normalize: Unicode form of the label text policy: ``"NFC"``, ``"NFKC"``, ``"none"``.

    Returns:
        A :class:`Document` with coordinates in image pixels, clipped to
        ``Page@WIDTH/HEIGHT``; lines without coordinates are counted in ``skipped``.

    Raises:
        DocumentError: unreadable or malformed XML, a root other than ``alto``, no
            ``Layout/Page`` or its size, an unknown unit, a unit that needs a resolution
            neither ``dpi`` nor the image gives, or unparsable coordinates.
        ConfigError: ``dpi`` not positive, or an unknown ``normalize``.
    """
    path = Path(path)
    check_normalize(normalize, "normalize")
    if dpi is not None and not dpi > 0:
        raise ConfigError(f"dpi {dpi!r} must be a positive number of dots per inch")
    root = parse_xml(path)
    ns, local = split_tag(root.tag)
    if local != "alto":
        raise DocumentError(f"{path}: root element <{local}> is not ALTO's <alto>")
    q = qualifier(ns)
    version = _version(ns)
    layout = root.find(q("Layout"))
    page = None if layout is None else layout.find(q("Page"))
    if page is None:
        raise DocumentError(f"{path}: ALTO without a <Layout>/<Page> element")
    name = root.findtext(f"{q('Description')}/{q('sourceImageInformation')}/{q('fileName')}")
    name = name.strip() if name and name.strip() else None
    image_path = find_image(path, name)
    unit = (root.findtext(f"{q('Description')}/{q('MeasurementUnit')}") or "pixel").strip().lower()
    reader = _Reader(path, q, _scale(unit, dpi, image_path, name, path), normalize)
    reader.size = (reader.page_dim(page, "WIDTH"), reader.page_dim(page, "HEIGHT"))
    reader.tags = {t.get("ID"): t.get("LABEL") or t.get("TYPE")
                   for t in root.iter(q("LayoutTag"), q("StructureTag"), q("OtherTag"))
                   if t.get("ID")}
    refs = [el.get("REF") for ro in root.iter(q("ReadingOrder"))
            for el in ro.iter(q("ElementRef")) if el.get("REF")]
    regions = reader.regions(list(page.iter(q("TextBlock"))), positions(refs))
    return Document(path, "alto", version, name, image_path, reader.size, regions,
                    reader.skipped)


def _version(ns: str) -> str:
    """``"vN"`` for an ``.../alto/ns-vN#`` namespace, ``"1.x"`` for none, else ``ns``."""
    if not ns:
        return "1.x"
    found = re.search(r"ns-v(\d+)", ns)
    return f"v{found.group(1)}" if found else ns


def _scale(unit: str, dpi: float | None, image: Path | None, name: str | None,
           path: Path) -> np.ndarray:
    """(fx, fy) pixels per ALTO unit.

    Raises:
        DocumentError: an unknown unit, or a physical unit without a resolution (no
            ``dpi``, and the image is missing, unreadable or records no DPI).
    """
    if unit not in UNITS_PER_INCH:
        raise DocumentError(f"{path}: MeasurementUnit {unit!r} is not one of "
                            f"{', '.join(UNITS_PER_INCH)}")
    per_inch = UNITS_PER_INCH[unit]
    if per_inch is None:
        return np.ones(2)
    if dpi is not None:
        return np.full(2, dpi / per_inch)
    need = f"{path}: coordinates in {unit} need the scan resolution, but"
    if image is None:
        raise DocumentError(f"{need} the image ({name or 'unnamed'}) is not next to it: "
                            "give the dpi")
    try:
        found = image_dpi(image)
    except OSError:
        raise DocumentError(f"{need} {image} cannot be opened: give the dpi") from None
    if found is None:
        raise DocumentError(f"{need} {image} records no DPI: give the dpi")
    return np.array(found) / per_inch


class _Reader:
    """State of one ALTO file's read: namespace, unit scale, page size, tag labels."""

    def __init__(self, path: Path, q, scale: np.ndarray, normalize: str):
        self.path, self.q, self.scale, self.normalize = path, q, scale, normalize
        self.size: tuple[int, int] = (0, 0)
        self.tags: dict[str, str | None] = {}
        self.skipped: dict[str, int] = {}
        self.text_tags = {q("String"): "String", q("SP"): "SP", q("HYP"): "HYP"}

    def page_dim(self, page: etree._Element, name: str) -> int:
        """``Page@WIDTH``/``@HEIGHT`` in pixels, or DocumentError when absent or <= 0."""
        value = attr_number(page, name, self.path)
        if value is None or value <= 0:
            raise DocumentError(f"{self.path}:{page.sourceline}: <Page> needs a positive "
                                f"{name} (got {page.get(name)!r})")
        return int(round(value * self.scale[0 if name == "WIDTH" else 1]))

    def regions(self, blocks: list[etree._Element], pos: dict[str, int]) -> list[Region]:
        """The :class:`Region` of each TextBlock, in reading order."""
        line_lists = [block.findall(self.q("TextLine")) for block in blocks]
        ranks = []
        for block, lines in zip(blocks, line_lists):
            keys = [block.get("ID", "")] + [a.get("ID", "") for a in block.iterancestors()]
            rank = first_rank(keys, pos)
            line_ranks = [pos[k] for k in (ln.get("ID") for ln in lines) if k in pos]
            ranks.append(rank if rank is not None else min(line_ranks, default=None))
        return [self.region(blocks[i], line_lists[i], i, pos) for i in ordered(ranks)]

    def region(self, block: etree._Element, lines: list, k: int,
               pos: dict[str, int]) -> Region:
        """The :class:`Region` of TextBlock ``block`` (the ``k``-th in the file)."""
        block_id = block.get("ID") or f"block{k + 1}"
        outline, _ = self.outline(block)
        polygon = None if outline is None else clip_points(outline, self.size)[0]
        labels = [self.tags.get(ref) for ref in (block.get("TAGREFS") or "").split()]
        kind = next((label for label in labels if label), "TextBlock")
        order = ordered([pos.get(ln.get("ID", "")) for ln in lines])
        made = [self.line(lines[i], f"{block_id}_l{i + 1}") for i in order]
        return Region(block_id, kind, polygon, [line for line in made if line is not None])

    def outline(self, el: etree._Element) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(polygon, box) of ``el`` in pixels: ``Shape/Polygon`` else its box (None when
        it has neither); the box (x, y, w, h) px or None."""
        values = [attr_number(el, k, self.path) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT")]
        box = None if None in values else np.array(values) * np.tile(self.scale, 2)
        shape = el.find(self.q("Shape"))
        poly = None if shape is None else shape.find(self.q("Polygon"))
        if poly is not None and poly.get("POINTS"):
            points = parse_numbers(poly.get("POINTS"), self.path, "Polygon@POINTS", poly)
            if len(points) >= 3:
                return points * self.scale, box
        if box is None:
            return None, None
        x, y, w, h = box
        return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]]), box

    def line(self, el: etree._Element, default_id: str) -> TextLine | None:
        """The :class:`TextLine` of ``el``, or None (counted) without coordinates."""
        polygon, box = self.outline(el)
        if polygon is None:
            count(self.skipped, _NO_COORDS)
            return None
        return make_line(el.get("ID") or default_id, polygon, self.baseline(el, box),
                         self.text(el), self.size, self.normalize)

    def baseline(self, el: etree._Element, box: np.ndarray | None) -> np.ndarray | None:
        """``TextLine@BASELINE`` as float64 (M, 2) pixels, or None when absent."""
        text = (el.get("BASELINE") or "").strip()
        if not text:
            return None
        if len(text.replace(",", " ").split()) == 1:
            y = attr_number(el, "BASELINE", self.path) * self.scale[1]
            return None if box is None else np.array([[box[0], y], [box[0] + box[2], y]])
        points = parse_numbers(text, self.path, "TextLine@BASELINE", el) * self.scale
        return points if len(points) >= 2 else None

    def text(self, el: etree._Element) -> str:
        """String contents in order, a space per SP, the HYP mark (module docstring)."""
        parts = []
        for child in el:
            kind = self.text_tags.get(child.tag)
            if kind == "String":
                parts.append(child.get("CONTENT", ""))
            elif kind == "SP":
                parts.append(" ")
            elif kind == "HYP":
                parts.append((child.get("CONTENT") or "-").replace("\u00ad", "-"))
        return "".join(parts)

"""The data model of a real annotated page, whatever XML it came from.

A :class:`Document` holds the text regions of one page in reading order; each
:class:`Region` holds its text lines in reading order. Every coordinate is in pixels of the
page image as the XML describes it (``Document.size``), x to the right and y down, clipped
to ``[0, width] x [0, height]``; :meth:`Document.scale_to` moves them onto an image file of a
different size.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from synthtext.dataset.errors import UserError

# Largest relative difference between the XML's and the image's width/height ratios that
# still counts as the same page scanned or exported at another resolution.
ASPECT_TOLERANCE = 0.01


class DocumentError(UserError):
    """A PAGE-XML or ALTO file (or the image it names) is unusable: the one-line message
    names the file and what is wrong."""


@dataclass(frozen=True, eq=False)
class TextLine:
    """One transcribed line.

    Attributes:
        id: the line's id in the XML (``TextLine@id`` / ``TextLine@ID``; made up from the
            region id and position when the XML has none).
        polygon: float64 array (N, 2), N >= 3, of (x, y) image pixels: the line's outline.
        baseline: float64 array (M, 2), M >= 2, of (x, y) pixels, or None when absent.
        text: the transcription under the label text policy
            (:func:`synthtext.dataset.text.apply_text_policy`); ``""`` for an empty line.
        raw_text: the transcription exactly as the XML holds it.
        clipped: True when a coordinate lay outside the page and was moved onto its edge.
    """

    id: str
    polygon: np.ndarray
    baseline: np.ndarray | None
    text: str
    raw_text: str
    clipped: bool = False


@dataclass(frozen=True, eq=False)
class Region:
    """A text region: a PAGE ``TextRegion`` or an ALTO ``TextBlock``.

    Attributes:
        id: the region's id in the XML (made up from its position when absent).
        type: PAGE's ``TextRegion@type`` (paragraph, heading, marginalia, page-number ...),
            else the Transkribus ``custom="structure {type:...;}"``, else the ALTO tag label
            its ``TAGREFS`` point at, else the element name (``TextRegion``/``TextBlock``).
        polygon: float64 (N, 2) pixels, or None when the region has no coordinates.
        lines: the region's lines in reading order.
    """

    id: str
    type: str
    polygon: np.ndarray | None
    lines: list[TextLine]


@dataclass(frozen=True, eq=False)
class Document:
    """One page read from PAGE-XML or ALTO.

    Attributes:
        path: the XML file.
        format: ``"pagexml"`` or ``"alto"``.
        version: the schema version: PAGE's namespace date (``"2013-07-15"``), ALTO's
            ``"v2"``/``"v3"``/``"v4"``, ``"1.x"`` for namespace-less ALTO.
        image_name: the image file name as the XML writes it (None when it names none).
        image_path: the image file found next to the XML (:func:`find_image`), or None.
        size: (width, height) of the page in pixels as the XML says (ALTO units converted).
        regions: text regions in reading order.
        skipped: lines left out, counted by cause (``{"line without coordinates": 2}``).
    """

    path: Path
    format: str
    version: str
    image_name: str | None
    image_path: Path | None
    size: tuple[int, int]
    regions: list[Region]
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def lines(self) -> list[TextLine]:
        """Every line of the page in reading order (regions in order, lines within each)."""
        return [line for region in self.regions for line in region.lines]

    def find_image(self) -> Path:
        """The page image file.

        Raises:
            DocumentError: no image was found next to the XML under its name, its stem with
                a common image extension, or a `` (1)``-style copy of either.
        """
        if self.image_path is None:
            named = f"{self.image_name!r}" if self.image_name else "no image file"
            raise DocumentError(f"{self.path}: the page image ({named}) is not next to it in "
                                f"{self.path.parent}: put the image there")
        return self.image_path

    def scale_to(self, image_size: tuple[int, int]) -> Document:
        """This page with its coordinates moved onto an image of ``image_size`` (w, h) px.

        Returns ``self`` when the sizes agree, else a copy whose polygons and baselines are
        multiplied by ``image_size / size`` per axis and whose ``size`` is ``image_size``.

        Raises:
            DocumentError: the width/height ratios differ by more than 1 %
                (:data:`ASPECT_TOLERANCE`): the image is not this page.
        """
        sx, sy = scale_factors(self.size, image_size, self.path)
        if (sx, sy) == (1.0, 1.0):
            return self
        factor = np.array([sx, sy])
        regions = [replace(r, polygon=None if r.polygon is None else r.polygon * factor,
                           lines=[_scaled_line(line, factor) for line in r.lines])
                   for r in self.regions]
        return replace(self, size=tuple(image_size), regions=regions)


def scale_factors(page_size: tuple[int, int], image_size: tuple[int, int],
                  path: Path | str) -> tuple[float, float]:
    """(sx, sy) that take XML pixel coordinates onto an image of ``image_size``.

    Args:
        page_size: (width, height) px as the XML says.
        image_size: (width, height) px of the decoded image.
        path: the XML file, for the message.

    Raises:
        DocumentError: a size is not positive, or the aspect ratios differ by more than 1 %.
    """
    (pw, ph), (iw, ih) = page_size, image_size
    if min(pw, ph, iw, ih) <= 0:
        raise DocumentError(f"{path}: page size {pw}x{ph} px or image size {iw}x{ih} px "
                            "is empty")
    sx, sy = iw / pw, ih / ph
    if abs(sx / sy - 1) > ASPECT_TOLERANCE:
        raise DocumentError(f"{path}: the image is {iw}x{ih} px but the XML page is {pw}x{ph} "
                            f"px; their aspect ratios differ by {abs(sx / sy - 1):.1%} (over "
                            f"{ASPECT_TOLERANCE:.0%}): is it the right image?")
    return sx, sy


def _scaled_line(line: TextLine, factor: np.ndarray) -> TextLine:
    baseline = None if line.baseline is None else line.baseline * factor
    return replace(line, polygon=line.polygon * factor, baseline=baseline)


def clip_points(points: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, bool]:
    """``points`` (N, 2) px clipped to ``[0, width] x [0, height]`` and whether any moved."""
    clipped = np.clip(points, 0.0, np.array(size, dtype=np.float64))
    return clipped, bool((clipped != points).any())

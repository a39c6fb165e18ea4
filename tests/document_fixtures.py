"""Small PAGE-XML and ALTO pages written by the tests (no shared data copied in)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

PRIMA = "schema.primaresearch.org/PAGE/gts/pagecontent"
PAGE_VERSIONS = ("2009-03-16", "2010-01-12", "2010-03-19", "2013-07-15", "2017-07-15",
                 "2019-07-15")
ALTO_NAMESPACES = {"1.x": "", "v2": "http://www.loc.gov/standards/alto/ns-v2#",
                   "v3": "http://www.loc.gov/standards/alto/ns-v3#",
                   "v4": "http://www.loc.gov/standards/alto/ns-v4#"}
BOX = "10,20 210,20 210,60 10,60"


def page_ns(version: str = "2019-07-15", scheme: str = "http") -> str:
    """The PAGE content namespace of ``version`` in the ``http`` or ``https`` form."""
    return f"{scheme}://{PRIMA}/{version}"


def page_xml(body: str, ns: str | None = None, size=(1000, 800), image="page.png",
             reading_order: str = "") -> str:
    """A PAGE-XML document whose ``Page`` holds ``reading_order`` and then ``body``."""
    ns = ns or page_ns()
    name = "" if image is None else f' imageFilename="{image}"'
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<PcGts xmlns="{ns}">\n'
            f"<Metadata><Creator>test</Creator></Metadata>\n"
            f'<Page{name} imageWidth="{size[0]}" imageHeight="{size[1]}">\n'
            f"{reading_order}{body}</Page>\n</PcGts>\n")


def coords(points: str, point_children: bool = False) -> str:
    """A ``Coords`` element: ``@points`` or (2009 form) ``Point`` children."""
    if not point_children:
        return f'<Coords points="{points}"/>'
    pts = "".join(f'<Point x="{p.split(",")[0]}" y="{p.split(",")[1]}"/>'
                  for p in points.split())
    return f"<Coords>{pts}</Coords>"


def equiv(text: str, index: int | None = None) -> str:
    """A ``TextEquiv`` with a ``Unicode`` child (and ``@index`` when given)."""
    idx = "" if index is None else f' index="{index}"'
    return f"<TextEquiv{idx}><Unicode>{text}</Unicode></TextEquiv>"


def text_line(line_id: str, text: str | None, points: str = BOX,
              baseline: str | None = "10,55 210,55", attrs: str = "", extra: str = "",
              point_children: bool = False) -> str:
    """A ``TextLine`` with its Coords, Baseline, ``extra`` (Words ...) and one TextEquiv."""
    base = "" if baseline is None else f'<Baseline points="{baseline}"/>'
    text_el = "" if text is None else equiv(text)
    return (f'<TextLine id="{line_id}"{attrs}>{coords(points, point_children)}{base}{extra}'
            f"{text_el}</TextLine>\n")


def text_region(region_id: str, lines: str, attrs: str = "", text: str | None = None,
                points: str = "0,0 1000,0 1000,800 0,800", point_children=False) -> str:
    """A ``TextRegion`` holding ``lines`` (and a region-level TextEquiv when ``text``)."""
    region_text = "" if text is None else equiv(text)
    return (f'<TextRegion id="{region_id}"{attrs}>{coords(points, point_children)}\n'
            f"{lines}{region_text}</TextRegion>\n")


def alto_xml(body: str, version: str = "v4", unit: str | None = "pixel", size=(1000, 800),
             image: str | None = "page.png", reading_order: str = "", tags: str = "") -> str:
    """An ALTO document whose ``PrintSpace`` holds ``body``."""
    ns = ALTO_NAMESPACES[version]
    xmlns = f' xmlns="{ns}"' if ns else ""
    unit_el = "" if unit is None else f"<MeasurementUnit>{unit}</MeasurementUnit>"
    img = "" if image is None else \
        f"<sourceImageInformation><fileName>{image}</fileName></sourceImageInformation>"
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<alto{xmlns}>\n'
            f"<Description>{unit_el}{img}</Description>\n{tags}{reading_order}"
            f'<Layout><Page ID="p1" WIDTH="{size[0]}" HEIGHT="{size[1]}">'
            f'<PrintSpace HPOS="0" VPOS="0" WIDTH="{size[0]}" HEIGHT="{size[1]}">\n'
            f"{body}</PrintSpace></Page></Layout>\n</alto>\n")


def alto_line(line_id: str, words: str, box=(10, 20, 200, 40), attrs: str = "",
              shape: str | None = None) -> str:
    """An ALTO ``TextLine`` with box ``(HPOS, VPOS, WIDTH, HEIGHT)``, an optional
    ``Shape/Polygon@POINTS`` and ``words`` (String/SP/HYP elements)."""
    x, y, w, h = box
    poly = "" if shape is None else f'<Shape><Polygon POINTS="{shape}"/></Shape>'
    return (f'<TextLine ID="{line_id}" HPOS="{x}" VPOS="{y}" WIDTH="{w}" HEIGHT="{h}"'
            f"{attrs}>{poly}{words}</TextLine>\n")


def strings(*words: str) -> str:
    """String elements for ``words`` separated by SP elements."""
    return "<SP/>".join(f'<String CONTENT="{w}"/>' for w in words)


def alto_block(block_id: str, lines: str, box=(0, 0, 1000, 800), attrs: str = "") -> str:
    """An ALTO ``TextBlock`` with box ``(HPOS, VPOS, WIDTH, HEIGHT)`` holding ``lines``."""
    x, y, w, h = box
    return (f'<TextBlock ID="{block_id}" HPOS="{x}" VPOS="{y}" WIDTH="{w}" HEIGHT="{h}"'
            f"{attrs}>\n{lines}</TextBlock>\n")


def write(folder: Path, name: str, text: str) -> Path:
    """``text`` written to ``folder/name`` (UTF-8); the path."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def write_image(path: Path, size=(1000, 800), dpi: int | None = None) -> Path:
    """A white RGB image of ``size`` (w, h) at ``path`` (with DPI metadata when given)."""
    extra = {} if dpi is None else {"dpi": (dpi, dpi)}
    Image.new("RGB", size, "white").save(path, **extra)
    return path

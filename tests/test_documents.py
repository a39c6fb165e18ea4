"""PAGE-XML and ALTO readers: every namespace version, reading orders, text choice, units,
image lookup and scaling, bad input; and the shared Hooker pages where present."""

from __future__ import annotations

import time

import numpy as np
import pytest

from conftest import SHARED
from document_fixtures import (ALTO_NAMESPACES, PAGE_VERSIONS, alto_block, alto_line,
                               alto_xml, equiv, page_ns, page_xml, strings, text_line,
                               text_region, write, write_image)
from synthtext.dataset.errors import ConfigError, UserError
from synthtext.documents import DocumentError, read_alto, read_document, read_pagexml

HOOKER = SHARED / "handwriting" / "hooker-pages"


def one_line_error(excinfo, *parts: str) -> str:
    """The message of a raised DocumentError, checked to be one line naming ``parts``."""
    msg = str(excinfo.value)
    assert isinstance(excinfo.value, UserError) and "\n" not in msg
    for part in parts:
        assert part in msg, msg
    return msg


def texts(doc) -> list[str]:
    return [line.text for line in doc.lines]


# PAGE-XML ----------------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("version", PAGE_VERSIONS)
def test_page_every_namespace_version(tmp_path, version, scheme):
    old = version.startswith(("2009", "2010-01"))          # Point children before 2010-03
    body = text_region("r1", text_line("l1", "Dear Sir", point_children=old)
                       + text_line("l2", "yours truly", points="10,80 210,80 210,120 10,120",
                                   baseline=None, point_children=old), point_children=old)
    doc = read_pagexml(write(tmp_path, "p.xml", page_xml(body, ns=page_ns(version, scheme))))
    assert (doc.format, doc.version, doc.size) == ("pagexml", version, (1000, 800))
    assert texts(doc) == ["Dear Sir", "yours truly"]
    first = doc.lines[0]
    assert first.polygon.dtype == np.float64
    np.testing.assert_array_equal(first.polygon, [[10, 20], [210, 20], [210, 60], [10, 60]])
    np.testing.assert_array_equal(first.baseline, [[10, 55], [210, 55]])
    assert doc.lines[1].baseline is None
    assert doc.regions[0].polygon.shape == (4, 2)


def test_page_line_text_wins_over_region_and_words(tmp_path):
    words = '<Word id="w1"><Coords points="10,20 50,20 50,60"/>' + equiv("Duc/79") + "</Word>"
    body = text_region("r1", text_line("l1", "31st Dec/79", extra=words), text="REGION TEXT")
    doc = read_pagexml(write(tmp_path, "p.xml", page_xml(body)))
    assert texts(doc) == ["31st Dec/79"]


def test_page_textequiv_lowest_index_is_the_main_text(tmp_path):
    line = ('<TextLine id="l1"><Coords points="10,20 210,20 210,60"/>'
            + equiv("unindexed") + equiv("second choice", 2) + equiv("main text", 1)
            + "</TextLine>")
    doc = read_pagexml(write(tmp_path, "p.xml", page_xml(text_region("r1", line))))
    assert texts(doc) == ["main text"]
    no_index = line.replace(' index="2"', "").replace(' index="1"', "")
    doc = read_pagexml(write(tmp_path, "q.xml", page_xml(text_region("r1", no_index))))
    assert texts(doc) == ["unindexed"]


def test_page_text_goes_through_the_label_policy(tmp_path):
    raw = "  ce\u0301le\u00adbre\u200b  fin\u00a0de   ligne "
    doc = read_pagexml(write(tmp_path, "p.xml", page_xml(text_region("r1", text_line("l1", raw)))))
    line = doc.lines[0]
    assert line.raw_text == raw
    assert line.text == "c\u00e9lebre fin de ligne"
    assert read_pagexml(doc.path, normalize="none").lines[0].text == "ce\u0301lebre fin de ligne"


def test_page_reading_order_groups_nested_and_indexed(tmp_path):
    regions = "".join(text_region(r, text_line(f"{r}l", r)) for r in "ABCDE")
    order = ('<ReadingOrder><OrderedGroup id="g0">'
             '<RegionRefIndexed index="3" regionRef="A"/>'
             '<UnorderedGroupIndexed id="g1" index="1"><RegionRef regionRef="D"/>'
             '<RegionRef regionRef="B"/></UnorderedGroupIndexed>'
             '<RegionRefIndexed index="0" regionRef="C"/>'
             "</OrderedGroup></ReadingOrder>\n")
    doc = read_pagexml(write(tmp_path, "p.xml", page_xml(regions, reading_order=order)))
    assert [r.id for r in doc.regions] == ["C", "D", "B", "A", "E"]   # E is unnamed: last


def test_page_reading_order_from_custom_then_document_order(tmp_path):
    lines = (text_line("l1", "second", attrs=' custom="readingOrder {index:1;}"')
             + text_line("l2", "first", attrs=' custom="readingOrder {index:0;} '
                         'textStyle {offset:0; length:3;underlined:true;}"'))
    body = (text_region("r1", lines, attrs=' custom="readingOrder {index:1;}"')
            + text_region("r2", text_line("l3", "top"), attrs=' custom="readingOrder {index:0;}"'))
    doc = read_pagexml(write(tmp_path, "p.xml", page_xml(body)))
    assert texts(doc) == ["top", "first", "second"]
    plain = body.replace("readingOrder", "nothing")
    doc = read_pagexml(write(tmp_path, "q.xml", page_xml(plain)))
    assert texts(doc) == ["second", "first", "top"]                   # document order


def test_page_2019_line_index_orders_lines(tmp_path):
    lines = text_line("l1", "b", attrs=' index="2"') + text_line("l2", "a", attrs=' index="1"')
    doc = read_pagexml(write(tmp_path, "p.xml", page_xml(text_region("r1", lines))))
    assert texts(doc) == ["a", "b"]


def test_page_region_types(tmp_path):
    body = (text_region("r1", "", attrs=' type="heading"')
            + text_region("r2", "", attrs=' custom="structure {type:marginalia;}"')
            + text_region("r3", ""))
    doc = read_pagexml(write(tmp_path, "p.xml", page_xml(body)))
    assert [r.type for r in doc.regions] == ["heading", "marginalia", "TextRegion"]


def test_page_clips_outside_points_and_counts_lines_without_coords(tmp_path):
    lines = (text_line("l1", "over", points="-5,10 1200,10 1200,900 -5,900",
                       baseline="-3,50 1100,50")
             + '<TextLine id="l2">' + equiv("no coords") + "</TextLine>"
             + text_line("l3", "two points", points="1,1 5,5"))
    doc = read_pagexml(write(tmp_path, "p.xml", page_xml(text_region("r1", lines))))
    line, = doc.lines
    assert line.clipped
    np.testing.assert_array_equal(line.polygon, [[0, 10], [1000, 10], [1000, 800], [0, 800]])
    np.testing.assert_array_equal(line.baseline, [[0, 50], [1000, 50]])
    assert doc.skipped == {"line without coordinates": 1,
                           "line polygon with fewer than 3 points": 1}


# Images ------------------------------------------------------------------------------------

@pytest.mark.parametrize("named, on_disk", [
    ("page.png", "page.png"), ("C:\\scans\\box 3\\page.png", "page.png"),
    ("page.tif", "page.jpg"), ("page.png", "page (1).png"), ("page (2).jpg", "page.jpg"),
    ("https://files.example.org/Get?id=XYZ", "p.JPG"), ("img/page.png", "img/page.png")])
def test_image_found_next_to_the_xml(tmp_path, named, on_disk):
    (tmp_path / "img").mkdir()
    write_image(tmp_path / on_disk)
    doc = read_pagexml(write(tmp_path, "p.xml", page_xml("", image=named)))
    assert doc.image_name == named and doc.find_image() == tmp_path / on_disk


def test_missing_image_is_an_error_only_when_asked_for(tmp_path):
    body = text_region("r1", text_line("l1", "x"))
    doc = read_pagexml(write(tmp_path, "p.xml", page_xml(body, image="gone.png")))
    assert doc.image_path is None and texts(doc) == ["x"]
    with pytest.raises(DocumentError) as e:
        doc.find_image()
    one_line_error(e, "p.xml", "gone.png")


def test_scaled_image_scales_coordinates_and_refuses_other_pages(tmp_path):
    doc = read_pagexml(write(tmp_path, "p.xml", page_xml(text_region("r1", text_line("l1", "x")))))
    assert doc.scale_to((1000, 800)) is doc
    half = doc.scale_to((500, 400))
    assert half.size == (500, 400)
    np.testing.assert_allclose(half.lines[0].polygon, doc.lines[0].polygon / 2)
    np.testing.assert_allclose(half.lines[0].baseline, doc.lines[0].baseline / 2)
    np.testing.assert_allclose(half.regions[0].polygon, doc.regions[0].polygon / 2)
    assert doc.scale_to((1003, 800)).size == (1003, 800)             # 0.3 %: same page
    with pytest.raises(DocumentError) as e:
        doc.scale_to((800, 1000))
    one_line_error(e, "p.xml", "800x1000", "1000x800")


# Bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, parts", [
    ("<PcGts><Page>", ["p.xml:1:", "malformed XML"]),
    ("", ["p.xml", "malformed XML"]),
    ("<html><body/></html>", ["<html>", "not PAGE-XML"]),
    (page_xml("").replace("2019-07-15", "latest"), ["not PAGE-XML"]),
    (page_xml("").replace("<Page ", "<Pages ").replace("</Page>", "</Pages>"),
     ["without a <Page>"]),
    (page_xml("").replace(' imageWidth="1000"', ""), ["p.xml:4:", "imageWidth"]),
    (page_xml("").replace('imageHeight="800"', 'imageHeight="tall"'), ["imageHeight", "tall"]),
    (page_xml(text_region("r1", text_line("l1", "x", points="1,2 3"))), ["p.xml:", "points"]),
    (page_xml(text_region("r1", text_line("l1", "x", points="a,b c,d e,f"))), ["not a list"]),
])
def test_page_bad_files_are_one_line_errors(tmp_path, text, parts):
    with pytest.raises(DocumentError) as e:
        read_pagexml(write(tmp_path, "p.xml", text))
    one_line_error(e, *parts)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(DocumentError) as e:
        read_pagexml(tmp_path / "absent.xml")
    one_line_error(e, "absent.xml", "cannot read")
    with pytest.raises(ConfigError):
        read_document(tmp_path / "absent.xml", "hocr")
    with pytest.raises(DocumentError) as e:
        read_alto(write(tmp_path, "a.xml", page_xml("")))
    one_line_error(e, "a.xml", "<PcGts>", "<alto>")


# ALTO --------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", list(ALTO_NAMESPACES))
def test_alto_every_version(tmp_path, version):
    body = alto_block("b1", alto_line("t1", strings("Dear", "Sir")))
    doc = read_alto(write(tmp_path, "a.xml", alto_xml(body, version=version)))
    assert (doc.format, doc.version, doc.size) == ("alto", version, (1000, 800))
    assert texts(doc) == ["Dear Sir"] and doc.regions[0].type == "TextBlock"
    np.testing.assert_array_equal(doc.lines[0].polygon, [[10, 20], [210, 20], [210, 60], [10, 60]])
    assert doc.image_name == "page.png" and doc.image_path is None      # not written


def test_alto_sp_and_hyp(tmp_path):
    lines = (alto_line("t1", strings("a", "long") + '<SP/><String CONTENT="hyphen"/>'
                       '<HYP CONTENT="\u00ac"/>')
             + alto_line("t2", '<String CONTENT="ated"/><SP/><String CONTENT="word"/><HYP/>')
             + alto_line("t3", '<String CONTENT="soft"/><HYP CONTENT="\u00ad"/>')
             + alto_line("t4", '<String CONTENT="no"/><String CONTENT="space"/>'))
    doc = read_alto(write(tmp_path, "a.xml", alto_xml(alto_block("b1", lines))))
    assert texts(doc) == ["a long hyphen\u00ac", "ated word-", "soft-", "nospace"]


def test_alto_escriptorium_shape_and_baseline_points(tmp_path):
    line = alto_line("t1", strings("x"), attrs=' BASELINE="12 50 100 52 208 55"',
                     shape="10 20 210 22 210 60 10 58")
    doc = read_alto(write(tmp_path, "a.xml", alto_xml(alto_block("b1", line))))
    np.testing.assert_array_equal(doc.lines[0].polygon, [[10, 20], [210, 22], [210, 60], [10, 58]])
    np.testing.assert_array_equal(doc.lines[0].baseline, [[12, 50], [100, 52], [208, 55]])
    old = alto_line("t1", strings("x"), attrs=' BASELINE="52"')
    doc = read_alto(write(tmp_path, "b.xml", alto_xml(alto_block("b1", old), version="v2")))
    np.testing.assert_array_equal(doc.lines[0].baseline, [[10, 52], [210, 52]])


@pytest.mark.parametrize("unit, scale", [("mm10", 300 / 254), ("mm", 300 / 25.4),
                                         ("inch1200", 300 / 1200)])
def test_alto_units_with_given_or_recorded_dpi(tmp_path, unit, scale):
    body = alto_block("b1", alto_line("t1", strings("x"), box=(100, 200, 300, 40)))
    xml = alto_xml(body, unit=unit, size=(2000, 2800), image="scan.jpg")
    doc = read_alto(write(tmp_path, "a.xml", xml), dpi=300)
    assert doc.size == (round(2000 * scale), round(2800 * scale))
    np.testing.assert_allclose(doc.lines[0].polygon[0], [100 * scale, 200 * scale])
    with pytest.raises(DocumentError) as e:                         # no dpi, no image
        read_alto(doc.path)
    one_line_error(e, "a.xml", unit, "scan.jpg", "dpi")
    write_image(tmp_path / "scan.jpg", size=(64, 64))               # an image without DPI
    with pytest.raises(DocumentError) as e:
        read_alto(doc.path)
    one_line_error(e, "scan.jpg", "records no DPI")
    write_image(tmp_path / "scan.jpg", size=(64, 64), dpi=300)
    assert read_alto(doc.path).size == doc.size


def test_alto_unknown_unit_bad_dpi_and_default_pixel(tmp_path):
    body = alto_block("b1", alto_line("t1", strings("x")))
    with pytest.raises(DocumentError) as e:
        read_alto(write(tmp_path, "a.xml", alto_xml(body, unit="furlong")))
    one_line_error(e, "a.xml", "furlong", "mm10")
    with pytest.raises(ConfigError):
        read_alto(tmp_path / "a.xml", dpi=0)
    assert read_alto(write(tmp_path, "b.xml", alto_xml(body, unit=None))).size == (1000, 800)


def test_alto_reading_order_blocks_lines_and_fallback(tmp_path):
    body = (alto_block("b1", alto_line("t1", strings("one")) + alto_line("t2", strings("two")))
            + '<ComposedBlock ID="c1">'
            + alto_block("b2", alto_line("t3", strings("three"))) + "</ComposedBlock>"
            + alto_block("b3", alto_line("t4", strings("four"))))
    order = ('<ReadingOrder><OrderedGroup ID="o1"><ElementRef ID="e1" REF="b3"/>'
             '<OrderedGroup ID="o2"><ElementRef ID="e2" REF="c1"/></OrderedGroup>'
             '<ElementRef ID="e3" REF="t2"/><ElementRef ID="e4" REF="t1"/>'
             "</OrderedGroup></ReadingOrder>")
    doc = read_alto(write(tmp_path, "a.xml", alto_xml(body, reading_order=order)))
    assert texts(doc) == ["four", "three", "two", "one"]
    doc = read_alto(write(tmp_path, "b.xml", alto_xml(body)))
    assert texts(doc) == ["one", "two", "three", "four"]


def test_alto_tag_labels_missing_coords_and_bad_files(tmp_path):
    tags = '<Tags><OtherTag ID="BT1" LABEL="Main"/></Tags>'
    body = alto_block("b1", alto_line("t1", strings("x"))
                      + '<TextLine ID="t2"><String CONTENT="y"/></TextLine>',
                      attrs=' TAGREFS="BT1"')
    doc = read_alto(write(tmp_path, "a.xml", alto_xml(body, tags=tags)))
    assert doc.regions[0].type == "Main" and texts(doc) == ["x"]
    assert doc.skipped == {"line without coordinates": 1}
    with pytest.raises(DocumentError) as e:
        read_alto(write(tmp_path, "b.xml", alto_xml(body).replace('WIDTH="1000"', "")))
    one_line_error(e, "b.xml", "WIDTH")
    with pytest.raises(DocumentError) as e:
        read_alto(write(tmp_path, "c.xml", alto_xml(alto_block("b1", alto_line(
            "t1", "", shape="1 2 3 4 5")))))
    one_line_error(e, "c.xml", "POINTS")


# The shared Hooker pages (Transkribus PAGE 2013) --------------------------------------------

def test_hooker_pages_read_completely_and_fast():
    if not HOOKER.is_dir():
        pytest.skip(f"{HOOKER} is not available")
    files = sorted(HOOKER.glob("*.xml"))
    assert len(files) == 134
    start = time.perf_counter()
    docs = [read_pagexml(f) for f in files]
    per_page = (time.perf_counter() - start) / len(files)
    lines = [line for doc in docs for line in doc.lines]
    assert len(lines) == 2792 and not any(doc.skipped for doc in docs)
    assert sum(bool(line.text) for line in lines) > 0.95 * len(lines)
    for doc in docs:
        w, h = doc.size
        assert doc.version == "2013-07-15" and doc.find_image().stem == doc.path.stem
        for line in doc.lines:
            assert len(line.polygon) >= 3
            assert (line.polygon >= 0).all() and (line.polygon <= (w, h)).all()
        ids = [line.id for line in doc.lines]
        xml = doc.path.read_text(encoding="utf-8")
        assert len(set(ids)) == len(ids) == xml.count("<TextLine ")
    assert per_page < 0.05                                   # measured ~1.5 ms per page

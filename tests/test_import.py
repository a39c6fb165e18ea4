"""`synthgen import`: real annotated pages (PAGE-XML / ALTO + image) as sample shards."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from cli_helpers import assert_one_line_error, invoke
from conftest import SHARED
from document_fixtures import (
    alto_block,
    alto_line,
    alto_xml,
    page_xml,
    strings,
    text_line,
    text_region,
    write,
)

from cli.import_cmd import import_cmd
from synthtext.dataset.sample import Sample, check_sample, decode_metadata
from synthtext.dataset.shards import iter_samples
from synthtext.documents.importer import holdout_split

SIZE = (600, 400)
# per page: (region id, line id, text, polygon corners x0, y0, x1, y1); the XML lists them
# in another order than reading order (the ReadingOrder/line index decides)
LINES = [("r1", "l1", "Dear Sir,", (40, 40, 300, 80)),
         ("r1", "l2", "I write to you", (40, 100, 400, 140)),
         ("r1", "l3", "about the plants.", (100, 160, 500, 200)),
         ("r1", "l4", "", (40, 220, 300, 260)),
         ("r2", "l5", "Yours truly", (300, 300, 560, 340))]


def _poly(box, skew=0) -> str:
    x0, y0, x1, y1 = box
    return f"{x0},{y0 + skew} {x1},{y0} {x1},{y1} {x0},{y1 + skew}"


def page_with_ink(folder, stem, lines=LINES, size=SIZE):
    """A PAGE-XML page ``stem.xml`` whose ``stem.png`` has dark blobs inside each line
    polygon; regions and lines are written in reverse, with a ReadingOrder and line
    ``index`` attributes giving the true order."""
    img = np.full((size[1], size[0]), 235, np.uint8)
    regions: dict[str, list[str]] = {}
    for k, (rid, lid, text, box) in enumerate(lines):
        x0, y0, x1, y1 = box
        cv2.rectangle(img, (x0 + 5, y0 + 8), (x1 - 5, y1 - 8), 30, -1)
        regions.setdefault(rid, []).insert(
            0, text_line(lid, text, _poly(box), attrs=f' index="{k}"', baseline=None))
    body = "".join(text_region(rid, "".join(ls)) for rid, ls in reversed(regions.items()))
    order = ('<ReadingOrder><OrderedGroup id="g">' + "".join(
        f'<RegionRefIndexed index="{i}" regionRef="{rid}"/>' for i, rid in enumerate(regions))
        + "</OrderedGroup></ReadingOrder>")
    cv2.imwrite(str(folder / f"{stem}.png"), img)
    return write(folder, f"{stem}.xml", page_xml(body, size=size, image=f"{stem}.png",
                                                 reading_order=order))


def pages(tmp_path, n=4):
    src = tmp_path / "pages"
    src.mkdir()
    for i in range(n):
        page_with_ink(src, f"doc{i}")
    return src


def run_import(src, out, *args):
    return invoke(import_cmd, src, "--out", out, "--no-progress", "--image-format", "png",
                  *args)


def samples(out) -> list[Sample]:
    return [Sample.from_wds(d) for d in iter_samples(str(out))]


def test_pages_become_labelled_samples_in_reading_order(tmp_path):
    out = tmp_path / "out"
    r = run_import(pages(tmp_path, 3), out)
    assert r.exit_code == 0, r.output
    assert "3 pages (train 3)" in r.output and "skipped files: none" in r.output
    got = samples(out)
    assert [s.meta["document"] for s in got] == ["doc0", "doc1", "doc2"]
    for d in iter_samples(str(out)):
        assert check_sample(d) == []
    s = got[0]
    # the empty line l4 is not labelled; l3 starts 60 px right of l1: space = 0.5 x 40 px
    assert s.text.split("\n") == ["Dear Sir,", "I write to you", "   about the plants.",
                                  "Yours truly"]
    assert s.image.shape == (SIZE[1], SIZE[0]) and s.image.ndim == 2
    assert s.meta["source"] == "import" and s.meta["ink_outside_quads_possible"] is True
    assert s.meta["line_regions"] == ["r1", "r1", "r1", "r2"]
    assert s.meta["regions"] == [{"id": "r1", "type": "TextRegion"},
                                 {"id": "r2", "type": "TextRegion"}]
    assert s.meta["unlabelled"] == ["l4"] and s.meta["xml"] == "doc0.xml"
    boxes = [b for _, _, t, b in LINES if t]
    for line, (x0, y0, x1, y1) in zip(s.lines, boxes):
        q = np.array(line.quad)
        assert (q >= 0).all() and (q[:, 0] <= SIZE[0]).all() and (q[:, 1] <= SIZE[1]).all()
        np.testing.assert_allclose(q.min(axis=0), [x0, y0], atol=1)
        np.testing.assert_allclose(q.max(axis=0), [x1, y1], atol=1)


def test_skewed_polygon_gets_a_rotated_quad_around_it(tmp_path):
    src = tmp_path / "pages"
    src.mkdir()
    lines = [("r1", "l1", "slanted", (50, 100, 450, 140))]
    xml = page_with_ink(src, "p", lines)
    xml.write_text(xml.read_text().replace(_poly((50, 100, 450, 140)),
                                           _poly((50, 100, 450, 140), skew=30)))
    assert run_import(src, tmp_path / "out").exit_code == 0
    quad = np.array(samples(tmp_path / "out")[0].lines[0].quad)
    poly = np.array([[50, 130], [450, 100], [450, 140], [50, 170]], np.float32)
    for x, y in poly:  # every polygon point inside (or on) the quad
        assert cv2.pointPolygonTest(quad.astype(np.float32), (float(x), float(y)), True) > -1
    assert quad[1][1] < quad[0][1]  # TL -> TR rises with the line


def test_max_side_scales_image_and_quads(tmp_path):
    src = pages(tmp_path, 1)
    full, half = tmp_path / "full", tmp_path / "half"
    assert run_import(src, full).exit_code == 0
    assert run_import(src, half, "--max-side", 300).exit_code == 0
    a, b = samples(full)[0], samples(half)[0]
    assert b.image.shape == (200, 300) and b.meta["scale"] == [0.5, 0.5]
    assert a.text == b.text
    for la, lb in zip(a.lines, b.lines):
        np.testing.assert_allclose(np.array(lb.quad), np.array(la.quad) / 2, atol=0.6)


def test_split_file_and_holdout_split_by_document(tmp_path):
    src = pages(tmp_path, 4)
    ids = tmp_path / "val.txt"
    ids.write_text("doc1\ndoc3\n")
    train = tmp_path / "train.txt"
    train.write_text("doc0\n")
    out = tmp_path / "files"
    r = run_import(src, out, "--split-file", f"validation={ids}", "--split-file",
                   f"train={train}")
    assert r.exit_code == 0, r.output
    by = {}
    for s in samples(out):
        by.setdefault(s.meta["split"], []).append(s.meta["document"])
    assert by == {"train": ["doc0"], "validation": ["doc1", "doc3"]}
    assert "not in a split file 1 (doc2.xml)" in r.output  # unlisted: skipped, counted

    out2 = tmp_path / "hash"
    (tmp_path / "many").mkdir()
    r = run_import(pages(tmp_path / "many", 12), out2, "--holdout", "test=0.4")
    assert r.exit_code == 0, r.output
    got = {s.meta["document"]: s.meta["split"] for s in samples(out2)}
    assert len(got) == 12  # each document once, in exactly one split
    assert got == {f"doc{i}": holdout_split(f"doc{i}", (("test", 0.4),)) for i in range(12)}
    assert set(got.values()) == {"train", "test"}


def test_workers_give_identical_bytes_and_resume_redoes_a_deleted_shard(tmp_path):
    src = pages(tmp_path, 4)
    one, two = tmp_path / "one", tmp_path / "two"
    assert run_import(src, one, "--shard-size", 1, "--workers", 1).exit_code == 0
    assert run_import(src, two, "--shard-size", 1, "--workers", 2).exit_code == 0
    tars = sorted(p.name for p in one.glob("*.tar"))
    assert len(tars) == 4
    for name in tars:
        assert (one / name).read_bytes() == (two / name).read_bytes()
    before = (one / "train-000002.tar").read_bytes()
    (one / "train-000002.tar").unlink()
    r = run_import(src, one, "--shard-size", 1)
    assert r.exit_code == 0 and "1 written, 3 already complete" in r.output
    assert (one / "train-000002.tar").read_bytes() == before


def test_bad_xml_skipped_and_counted_all_bad_is_one_error(tmp_path):
    src = pages(tmp_path, 2)
    write(src, "broken.xml", "<PcGts><Page")
    out = tmp_path / "out"
    r = run_import(src, out)
    assert r.exit_code == 0, r.output
    assert "unreadable XML 1 (broken.xml:" in r.output
    info = json.loads((out / "dataset.json").read_text())
    assert info["config"]["inputs"]["skipped"] == {"unreadable XML": 1}
    assert info["splits"]["train"]["samples"] == 2

    bad = tmp_path / "bad"
    bad.mkdir()
    write(bad, "a.xml", "<PcGts><Page")
    write(bad, "b.xml", page_xml(text_region("r", text_line("l", "x")), image="gone.png"))
    r = run_import(bad, tmp_path / "none" / "out")
    assert_one_line_error(r, "no usable page", "unreadable XML 1", "missing image 1")
    assert not (tmp_path / "none").exists()
    assert_one_line_error(run_import(tmp_path / "empty_dir_missing", tmp_path / "o2"),
                          "not a folder")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run_import(tmp_path / "empty", tmp_path / "o3"), "no *.xml files")
    assert_one_line_error(run_import(src, tmp_path / "o4", "--format", "hocr"), "--format")


def test_alto_page_is_imported(tmp_path):
    src = tmp_path / "alto"
    src.mkdir()
    img = np.full((400, 600), 240, np.uint8)
    cv2.rectangle(img, (20, 30), (200, 60), 20, -1)
    cv2.imwrite(str(src / "letter.png"), img)
    body = alto_block("b1", alto_line("t1", strings("Hello", "world"), box=(10, 20, 200, 50))
                      + alto_line("t2", strings("again"), box=(60, 100, 150, 50)))
    write(src, "letter.xml", alto_xml(body, size=(600, 400), image="letter.png"))
    r = run_import(src, tmp_path / "out", "--format", "alto")
    assert r.exit_code == 0, r.output
    s = samples(tmp_path / "out")[0]
    assert s.text == "Hello world\n  again"  # 50 px right of t1, space = 0.5 x 50 px
    assert s.meta["format"] == "alto"
    assert s.lines[0].quad == [[10, 20], [210, 20], [210, 70], [10, 70]]


@pytest.mark.skipif(not (SHARED / "handwriting" / "hooker-pages").is_dir(),
                    reason="shared Hooker pages not present")
def test_hooker_pages_import(tmp_path):
    src = SHARED / "handwriting" / "hooker-pages"
    out = tmp_path / "out"
    r = run_import(src, out, "-n", 5, "--max-side", 1200, "--split-file", src / "split.tsv")
    assert r.exit_code == 0, r.output
    got = list(iter_samples(str(out)))
    assert len(got) == 5
    for d in got:
        assert check_sample(d) == []
        meta = decode_metadata(d["json"])
        assert max(meta["image"]["width"], meta["image"]["height"]) <= 1200
        assert len(meta["lines"]) >= 5 and meta["lines"][0]["text"].strip()

"""``synthgen stitch --format pagexml|alto``: line crops cut from real pages by their polygons."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import document_fixtures as fx
import numpy as np
import pytest
from cli_helpers import invoke

from cli.stitch_cmd import stitch
from stitcher import StitchConfig, build_index
from stitcher.generate import Stitcher
from stitcher.normalise import cut_polygon
from stitcher.record import parse_page_ref
from synthtext.dataset.sample import check_sample, decode_metadata
from synthtext.dataset.shards import iter_samples

FAST = ["--no-progress", "--shard-size", "4", "--page-lines", "2:3"]
SIZE = (1000, 800)
DISTRACTOR = 23  # grey level of the stroke just outside the first line's polygon; no text has it
TOPS = (100, 300, 500)  # line tops; each line polygon is 80 px high
HOOKER = Path(__file__).resolve().parents[2] / "shared/data/handwriting/hooker-pages"


def _polygon(top: int, notch: bool) -> str:
    """Line polygon from x 20 to 640; with ``notch`` it runs on to x 700 in a thin strip
    along the top only, so the box holds a gap below that strip (where the distractor is)."""
    if notch:
        return f"20,{top} 700,{top} 700,{top + 12} 640,{top + 12} 640,{top + 80} 20,{top + 80}"
    return f"20,{top} 640,{top} 640,{top + 80} 20,{top + 80}"


def _page_image(path: Path, texts: list[str], seed: int) -> None:
    """A grey page with ``texts`` written in the line boxes and a distractor bar in the
    first line's notch (x 660..672, body rows: kept as ink if it reached the crop)."""
    rng = np.random.default_rng(seed)
    img = np.clip(rng.normal(215, 3, (SIZE[1], SIZE[0])), 200, 230).astype(np.uint8)
    for top, text in zip(TOPS, texts):
        cv2.putText(img, text, (30, top + 55), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 50, 4, cv2.LINE_AA)
    img[TOPS[0] + 20:TOPS[0] + 76, 660:672] = DISTRACTOR
    cv2.imwrite(str(path), img)


def _pagexml_page(folder: Path, name: str, texts: list[str], seed: int) -> None:
    lines = "".join(fx.text_line(f"l{i}", t, _polygon(top, i == 0), baseline=None)
                    for i, (top, t) in enumerate(zip(TOPS, texts)))
    fx.write(folder, f"{name}.xml", fx.page_xml(fx.text_region("r1", lines), size=SIZE,
                                          image=f"{name}.png"))
    _page_image(folder / f"{name}.png", texts, seed)


DOCS = {"p1": ["alpha beta gamma", "delta epsilon", "zeta eta theta"],
        "p2": ["iota kappa lambda", "mu nu xi", "omicron pi rho"],
        "p3": ["sigma tau upsilon", "phi chi psi", "omega and more"]}


@pytest.fixture
def pages(tmp_path) -> Path:
    """Three PAGE-XML pages with their PNGs (3 lines each), plus bad files."""
    folder = tmp_path / "pages"
    folder.mkdir()
    for seed, (name, texts) in enumerate(DOCS.items()):
        _pagexml_page(folder, name, texts, seed)
    broken = fx.page_xml(fx.text_region("r1", fx.text_line("l0", "x")))[:-40]
    fx.write(folder, "broken.xml", broken)
    fx.write(folder, "noimage.xml", fx.page_xml(fx.text_region("r1", fx.text_line("l0", "lost")),
                                          image="gone.png"))
    fx.write(folder, "empty.xml", fx.page_xml("", image="p1.png", size=SIZE))
    return folder


def _samples(out: Path) -> list[tuple[list[str], dict]]:
    got = []
    for d in iter_samples(str(out)):
        assert check_sample(d) == []
        got.append((d["txt"].decode("utf-8").split("\n"), decode_metadata(d["json"])))
    return got


def test_pagexml_lines_stitch_with_their_texts_and_bad_files_counted(pages, tmp_path):
    out = tmp_path / "o"
    r = invoke(stitch, "--lines", pages, "--format", "pagexml", "--out", out, "-n", 4, *FAST)
    assert r.exit_code == 0, r.output
    texts = {t for ts in DOCS.values() for t in ts}
    samples = _samples(out)
    assert len(samples) == 4
    for labels, meta in samples:
        assert {ln.strip() for ln in labels} <= texts
        assert all(c.split("/")[0] in DOCS for c in meta["crops"])
    inputs = json.loads((out / "dataset.json").read_text())["config"]["inputs"]
    assert inputs["crops"] == 9 and inputs["documents"] == 3
    assert inputs["skipped"] == {"unreadable_xml": 1, "missing_image": 1, "empty_page": 1}
    assert "unreadable_xml 1 (broken.xml" in r.output


def test_auto_detects_a_folder_of_pagexml(pages):
    index = build_index(StitchConfig(lines=str(pages)))
    assert index.format == "pagexml"
    assert [r.text for r in index.records[:3]] == DOCS["p1"]


def test_strokes_outside_the_polygon_never_reach_the_crop(pages):
    index = build_index(StitchConfig(lines=str(pages), format="pagexml"))
    first = next(i for i, r in enumerate(index.records) if r.id == "p1/l0")
    path, poly = parse_page_ref(index.records[first].ref)
    page = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    crop = cut_polygon(page, poly)
    assert crop.shape == (81, 681)  # the polygon's box, not the page
    assert not (crop == DISTRACTOR).any()
    assert (page[100:181, 20:701] == DISTRACTOR).any()  # it was in the box
    ink = Stitcher(StitchConfig(lines=str(pages)), index).prepared(first)
    ink_width = ink.alpha.shape[1] / ink.scale  # in page px
    assert ink_width < 640 - 20  # the text only: the bar at x 660..672 would widen it past 640


def test_splits_by_document(pages, tmp_path):
    ids = fx.write(tmp_path, "val.txt", "p2\n")
    rest = fx.write(tmp_path, "train.txt", "p1\np3\n")
    out = tmp_path / "o"
    r = invoke(stitch, "--lines", pages, "--out", out, "-n", 4, "--split-file",
               f"validation={ids}", "--split-file", f"train={rest}",
               "--split", "train=0.5,validation=0.5", *FAST)
    assert r.exit_code == 0, r.output
    for _, meta in _samples(out):
        assert set(meta["documents"]) <= ({"p2"} if meta["split"] == "validation"
                                          else {"p1", "p3"})
    index = build_index(StitchConfig(lines=str(pages), holdout=(("validation", 0.5),)))
    by_doc: dict[str, set] = {}
    for rec in index.records:
        by_doc.setdefault(rec.document, set()).add(rec.split)
    assert all(len(s) == 1 for s in by_doc.values()) and len(by_doc) == 3


def test_alto_pages_stitch(tmp_path):
    folder = tmp_path / "alto"
    folder.mkdir()
    texts = ["one two three", "four five six", "seven eight"]
    lines = "".join(fx.alto_line(f"l{i}", fx.strings(*t.split()), box=(20, top, 620, 80),
                              shape=_polygon(top, i == 0))
                    for i, (top, t) in enumerate(zip(TOPS, texts)))
    fx.write(folder, "a1.xml", fx.alto_xml(fx.alto_block("b1", lines), size=SIZE, image="a1.png"))
    _page_image(folder / "a1.png", texts, 5)
    out = tmp_path / "o"
    r = invoke(stitch, "--lines", folder, "--out", out, "-n", 2, *FAST)
    assert r.exit_code == 0, r.output
    assert "[alto;" in r.output
    for labels, _ in _samples(out):
        assert {ln.strip() for ln in labels} <= set(texts)


@pytest.mark.skipif(not HOOKER.is_dir(), reason="shared Hooker pages not present")
def test_hooker_pages_stitch(tmp_path):
    out = tmp_path / "o"
    r = invoke(stitch, "--lines", HOOKER, "--format", "pagexml", "--out", out, "-n", 5,
               "--no-progress", "--holdout", "validation=0.1")
    assert r.exit_code == 0, r.output
    samples = _samples(out)
    assert len(samples) == 5 and all(meta["rejects"]["unreadable_crop"] == 0
                                     for _, meta in samples)
    inputs = json.loads((out / "dataset.json").read_text())["config"]["inputs"]
    assert inputs["crops"] > 2500 and inputs["documents"] == 134

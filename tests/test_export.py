"""`synthgen export`: shards as images + PAGE-XML / ALTO that validate against the official
schemas and read back (``synthgen import``'s readers) to the same lines and quads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, invoke
from test_import import page_with_ink

from cli.synthgen import main
from synthtext.dataset.sample import decode_metadata
from synthtext.dataset.shards import iter_samples
from synthtext.documents import read_document

SCHEMAS = Path(__file__).parent / "schemas"
XSD = {"pagexml": SCHEMAS / "pagecontent-2019-07-15.xsd", "alto": SCHEMAS / "alto-4-2.xsd"}
XLINK = "http://www.w3.org/1999/xlink"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """A few rendered pages (page layout: word quads, several lines)."""
    out = tmp_path_factory.mktemp("render") / "r"
    r = invoke(main, "render", "--out", out, "-n", "3", "--layout", "page", "--no-progress",
               "--width", "360:560", "--height", "360:640", "--font-size", "14:26")
    assert r.exit_code == 0, r.output
    return out


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """An imported PAGE-XML page: two regions, an indented line, an unlabelled line."""
    src = tmp_path_factory.mktemp("pages")
    page_with_ink(src, "letter")
    out = src.parent / "imported"
    r = invoke(main, "import", src, "--out", out, "--no-progress")
    assert r.exit_code == 0, r.output
    return out


def validate(fmt: str, xml: Path) -> None:
    """Validate ``xml`` against the vendored schema (skip when xmlschema is missing)."""
    xmlschema = pytest.importorskip("xmlschema")
    if not XSD[fmt].exists():
        pytest.skip(f"{XSD[fmt].name} is not vendored under tests/schemas")
    schema = xmlschema.XMLSchema(str(XSD[fmt]), locations={XLINK: str(SCHEMAS / "xlink.xsd")})
    schema.validate(str(xml))


def export(shards: Path, fmt: str, out: Path) -> dict[str, dict]:
    """Run the command; the metadata of every exported sample by key."""
    r = invoke(main, "export", shards, "--format", fmt, "--out", out, "--no-progress")
    assert r.exit_code == 0, r.output
    return {d["__key__"]: decode_metadata(d["json"]) for d in iter_samples(str(shards))}


def assert_round_trip(meta: dict, out: Path, key: str, fmt: str) -> None:
    """The XML reads back to the label lines (leading spaces dropped) and quads (1 px)."""
    doc = read_document(out / f"{key}.xml", fmt)
    want = [d for d in meta["lines"] if d["quad"] is not None and d["text"].strip()]
    assert [line.text for line in doc.lines] == [d["text"].lstrip(" ") for d in want]
    for line, d in zip(doc.lines, want):
        assert np.abs(line.polygon - np.asarray(d["quad"])).max() <= 1.0
        assert np.abs(line.baseline - np.asarray(d["quad"])[[3, 2]]).max() <= 1.0
    assert doc.image_path == out / f"{key}.{meta['image']['format']}"
    assert doc.size == (meta["image"]["width"], meta["image"]["height"])


@pytest.mark.parametrize("fmt", ["pagexml", "alto"])
def test_rendered_pages_export_validate_and_read_back(rendered, tmp_path, fmt):
    metas = export(rendered, fmt, tmp_path / "x")
    assert len(metas) == 3
    for key, meta in metas.items():
        validate(fmt, tmp_path / "x" / f"{key}.xml")
        assert_round_trip(meta, tmp_path / "x", key, fmt)
    # word boxes are written where the sample has them
    key, meta = next(iter(metas.items()))
    text = (tmp_path / "x" / f"{key}.xml").read_text()
    first = meta["lines"][0]["words"][0]
    assert (f"<Unicode>{first['text']}</Unicode>" if fmt == "pagexml"
            else f'CONTENT="{first["text"]}"') in text


@pytest.mark.parametrize("fmt", ["pagexml", "alto"])
def test_imported_page_keeps_regions_and_reimports_to_the_same_label(imported, tmp_path, fmt):
    metas = export(imported, fmt, tmp_path / "x")
    (key, meta), = metas.items()
    validate(fmt, tmp_path / "x" / f"{key}.xml")
    assert_round_trip(meta, tmp_path / "x", key, fmt)
    doc = read_document(tmp_path / "x" / f"{key}.xml", fmt)
    assert [len(r.lines) for r in doc.regions] == [3, 1]  # r1's empty line is not labelled
    again = tmp_path / "again"
    r = invoke(main, "import", tmp_path / "x", "--format", fmt, "--out", again, "--no-progress")
    assert r.exit_code == 0, r.output
    (d,) = list(iter_samples(str(again)))
    assert d["txt"].decode() == "\n".join(x["text"] for x in meta["lines"])
    assert "   about the plants." in d["txt"].decode()  # indentation derived back


def test_export_is_deterministic_and_leaves_no_temporary_files(rendered, tmp_path):
    export(rendered, "pagexml", tmp_path / "a")
    export(rendered, "pagexml", tmp_path / "b")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert not [n for n in names if n.startswith(".")]
    for n in names:
        assert (tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes()


def test_missing_shards_are_one_line_error(tmp_path):
    r = invoke(main, "export", tmp_path / "none", "--format", "alto", "--out", tmp_path / "x")
    assert_one_line_error(r, "none")

"""Symbol fonts (issue 12, failure 7): a font whose cmap maps Latin characters to glyphs that
are other things is refused for text, named in a warning and listed by `fonts check`;
Latin fonts of every style still render Latin."""
import json
import os
import shutil
import string

import matplotlib
import pytest
from cli_helpers import assert_one_line_error, invoke
from fontTools.ttLib import TTFont
from fontTools.ttLib.tables._c_m_a_p import cmap_format_4

import synthtext.fonts.charset as charset_mod
from cli.synthgen import main
from synthtext.dataset.errors import FontError
from synthtext.dataset.shards import iter_samples
from synthtext.fonts.charset import CHARSET_VERSION, face_charset
from synthtext.fonts.faces import FontSpec
from synthtext.fonts.fontset import FontSet, embedded_fonts

MPL_FONTS = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data/fonts/ttf")
ALNUM = set(string.ascii_letters + string.digits)
ASCII_TEXT = "abc def 4-48 hello world\nquick brown fox jumps\n"


def _mpl(name):
    return os.path.join(MPL_FONTS, name)


def _font_dir(tmp_path, *names):
    d = tmp_path / "fonts"
    d.mkdir()
    for name in names:
        shutil.copy(_mpl(name), d / name)
    return d


def _corpus(tmp_path):
    path = tmp_path / "ascii.txt"
    path.write_text(ASCII_TEXT, encoding="utf-8")
    return path


def _arrow_font(dst, subtables):
    """DejaVu Sans whose cmap puts its arrows and math operators (U+2190…) at the given
    (platform, encoding, first code) subtables: a dingbat font made by hand."""
    font = TTFont(_mpl("DejaVuSans.ttf"))
    best = font.getBestCmap()
    glyphs = [best[cp] for cp in range(0x2190, 0x2190 + 95)]
    tables = []
    for platform, encoding, first in subtables:
        table = cmap_format_4(4)
        table.platformID, table.platEncID, table.language = platform, encoding, 0
        table.cmap = {first + i: g for i, g in enumerate(glyphs)}
        tables.append(table)
    font["cmap"].tables = tables
    font.save(dst)
    return dst


def _spec(path):
    return FontSpec(id=os.path.basename(path).rsplit(".", 1)[0], path=str(path),
                    family="x", category="sans", cursive=False)


def test_render_with_only_a_symbol_font_is_one_line_error_naming_it(tmp_path):
    fonts = _font_dir(tmp_path, "cmsy10.ttf")
    with pytest.warns(UserWarning, match=r"cmsy10\.ttf: a symbol font"):
        r = invoke(main, "render", "--corpus", _corpus(tmp_path), "--corpus-format", "lines",
                   "--fonts", fonts, "--layout", "line", "--length", "2:4", "-n", "6",
                   "--out", tmp_path / "w", "--no-progress")
    assert_one_line_error(r, "cmsy10 is a symbol font", "--fonts")


def test_render_never_draws_with_the_symbol_font(tmp_path):
    fonts = _font_dir(tmp_path, "cmsy10.ttf", "cmr10.ttf", "DejaVuSans.ttf")
    with pytest.warns(UserWarning, match=r"cmsy10\.ttf: a symbol font, skipped: .*its a-z"):
        r = invoke(main, "render", "--corpus", _corpus(tmp_path), "--corpus-format", "lines",
                   "--fonts", fonts, "--layout", "line", "--length", "2:4", "-n", "12",
                   "--out", tmp_path / "w", "--no-progress")
    assert r.exit_code == 0, r.output
    samples = list(iter_samples(str(tmp_path / "w")))
    assert len(samples) == 12
    assert not any(b"cmsy10" in s["json"] for s in samples)
    assert all(b"cmr10" in s["json"] or b"DejaVuSans" in s["json"] for s in samples)


def test_fonts_check_lists_the_symbol_font_and_why(tmp_path):
    fonts = _font_dir(tmp_path, "cmsy10.ttf", "DejaVuSans.ttf")
    with pytest.warns(UserWarning, match="cmsy10"):
        r = invoke(main, "fonts", "check", "--fonts", fonts, "--corpus", _corpus(tmp_path))
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].endswith("; 1 fonts")
    at = lines.index("symbol fonts, skipped: 1 (their glyphs are not the characters their "
                     "cmap claims)")
    assert lines[at + 1].startswith("  cmsy10  cmsy10.ttf: its a-z")
    assert "braceleft" in lines[at + 1] or "turnstileright" in lines[at + 1]
    assert "every character is rendered by at least one of the 1 fonts" in r.output


def test_fonts_check_with_only_symbol_fonts_still_reports(tmp_path):
    fonts = _font_dir(tmp_path, "cmsy10.ttf", "cmex10.ttf")
    with pytest.warns(UserWarning):
        r = invoke(main, "fonts", "check", "--fonts", fonts, "--corpus", _corpus(tmp_path))
    assert r.exit_code == 0, r.output
    assert "symbol fonts, skipped: 2" in r.output
    assert "not rendered by any of the 0 fonts: 24 distinct characters" in r.output


@pytest.mark.parametrize("name", ["cmsy10.ttf", "cmex10.ttf"])
def test_tex_symbol_fonts_render_nothing(name, tmp_path):
    face = face_charset(_mpl(name), cache_dir=tmp_path)
    assert face.symbol and not face.chars


def test_detection_needs_no_glyph_names(tmp_path):
    """Shapes alone catch a symbol font: cmsy10 without its post glyph names, and a
    Unicode-cmap dingbat font mapping ASCII to arrows."""
    font = TTFont(_mpl("cmsy10.ttf"))
    font["post"].formatType = 3.0
    font.save(tmp_path / "nameless.ttf")
    _arrow_font(tmp_path / "arrows.ttf", [(3, 1, 0x20)])
    for path in (tmp_path / "nameless.ttf", tmp_path / "arrows.ttf"):
        face = face_charset(path, cache_dir=tmp_path)
        assert "do not look like those characters" in face.symbol, path
        assert not face.chars & ALNUM


def test_windows_symbol_cmap_is_refused_with_its_reason(tmp_path):
    only = _arrow_font(tmp_path / "wingish.ttf", [(3, 0, 0xF020)])
    both = _arrow_font(tmp_path / "wingish2.ttf", [(3, 0, 0xF020), (3, 1, 0x20)])
    with pytest.warns(UserWarning, match=r"wingish2?\.ttf: a symbol font.*Windows symbol cmap"):
        with pytest.raises(FontError, match="wingish, wingish2 are symbol fonts"):
            FontSet([_spec(only), _spec(both)], cache_dir=tmp_path)


def test_font_set_keeps_latin_fonts_and_names_the_symbol_font(tmp_path):
    specs = [_spec(_mpl("cmsy10.ttf")), _spec(_mpl("DejaVuSans.ttf"))]
    with pytest.warns(UserWarning, match="cmsy10"):
        fonts = FontSet(specs, cache_dir=tmp_path)
    assert [s.id for s in fonts.specs] == ["DejaVuSans"]
    assert [s.id for s, _ in fonts.symbol_fonts] == ["cmsy10"]
    assert fonts.candidates("abc") == [0]


@pytest.mark.parametrize("path", [s.path for s in embedded_fonts()]
                         + [_mpl(n) for n in ("DejaVuSans.ttf", "DejaVuSerif-Italic.ttf",
                                              "cmr10.ttf", "cmmi10.ttf", "STIXGeneral.ttf")],
                         ids=os.path.basename)
def test_latin_fonts_of_every_style_still_render_latin(path, tmp_path):
    face = face_charset(path, cache_dir=tmp_path)
    assert face.symbol == ""
    assert ALNUM <= face.chars


def test_tex_text_fonts_drop_the_punctuation_they_draw_as_other_characters(tmp_path):
    """cmr10 draws ¡ at "<" and ” at '"'; cmmi10 draws Greek and arrows at ASCII
    punctuation. Their letters and digits stay (cmmi10's are italic letters and old-style
    figures)."""
    cmr = face_charset(_mpl("cmr10.ttf"), cache_dir=tmp_path).chars
    assert not {"<", ">", '"', "\\", "{", "|", "}"} & cmr
    assert {".", ",", "(", ")", "-", "!", "?"} <= cmr
    cmmi = face_charset(_mpl("cmmi10.ttf"), cache_dir=tmp_path).chars
    assert ALNUM <= cmmi
    assert not {"!", "(", ")", "-", ".", "@", "[", "`"} & cmmi


def test_symbol_verdict_is_cached_by_sha256(tmp_path, monkeypatch):
    first = face_charset(_mpl("cmsy10.ttf"), cache_dir=tmp_path)
    entry = next((tmp_path / "charsets").glob(f"*-0-v{CHARSET_VERSION}.json"))
    assert json.loads(entry.read_text())["symbol"] == first.symbol

    def boom(*args):
        raise AssertionError("recomputed")
    monkeypatch.setattr(charset_mod, "check_glyphs", boom)
    assert face_charset(_mpl("cmsy10.ttf"), cache_dir=tmp_path) == first

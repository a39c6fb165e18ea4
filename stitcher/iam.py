"""IAM's own layout: ``lines.txt`` + ``lines/a01/a01-000u/a01-000u-00.png`` (+ ``forms.txt``).

A ``lines.txt`` row is ``id status graylevel components x y w h text`` where ``text`` joins
words with ``|`` (punctuation is its own word, so IAM's spaced punctuation is kept as is);
``status`` is ``ok`` or ``err`` (the line's word segmentation was flagged). The document is
the form (``a01-000u``), reading order the line number; writers come from ``forms.txt``
(``a01-000u 000 ...``: form, writer) when it is there.
"""

from __future__ import annotations

import os
from pathlib import Path

from synthtext.dataset.errors import UserError

from .inputs import Skips, check_image_file, clean_text, decode_text
from .record import CropRecord


def find_lines_txt(path: str) -> Path:
    """``path`` itself when it is a file, else its ``lines.txt`` or ``ascii/lines.txt``.

    Raises:
        UserError: naming ``--lines`` when neither is there.
    """
    p = Path(path)
    if p.is_file():
        return p
    for cand in (p / "lines.txt", p / "ascii" / "lines.txt"):
        if cand.is_file():
            return cand
    raise UserError(f"--lines {path}: no IAM lines.txt there (looked for lines.txt and "
                    "ascii/lines.txt); pass the IAM root or the lines.txt file")


def iam_root(lines_txt: Path) -> Path:
    """The IAM root of a ``lines.txt``: the folder above ``ascii/``, else its own folder."""
    return lines_txt.parent.parent if lines_txt.parent.name == "ascii" else lines_txt.parent


def image_path(root: Path, line_id: str) -> Path:
    """``a01-000u-00`` -> ``<root>/lines/a01/a01-000u/a01-000u-00.png`` (without the
    ``lines/`` step when ``root`` has no such folder)."""
    parts = line_id.split("-")
    form = "-".join(parts[:2])
    base = root / "lines" if (root / "lines").is_dir() else root
    return base / parts[0] / form / f"{line_id}.png"


def read_forms(root: Path, encoding: str) -> dict[str, str]:
    """form id -> writer id from ``forms.txt`` (empty when the file is absent)."""
    for cand in (root / "forms.txt", root / "ascii" / "forms.txt"):
        if cand.is_file():
            out = {}
            for raw in cand.read_bytes().splitlines():
                line, _ = decode_text(raw, encoding)
                if line.startswith("#") or not line.strip():
                    continue
                fields = line.split()
                if len(fields) >= 2:
                    out[fields[0]] = fields[1]
            return out
    return {}


def parse_lines_txt_row(line: str, normalize: str = "NFC") -> tuple[str, str, str] | None:
    """(id, status, text with spaces between words, under the label text policy with
    ``normalize``: :func:`stitcher.inputs.clean_text`), or None for a malformed row."""
    fields = line.rstrip("\r\n").split(" ", 8)
    if len(fields) < 9 or fields[1] not in ("ok", "err") or fields[0].count("-") < 2:
        return None
    return fields[0], fields[1], clean_text(fields[8].replace("|", " "), normalize)


def read_iam(path: str, encoding: str, skips: Skips, include_err: bool = False,
             normalize: str = "NFC") -> list[CropRecord]:
    """The usable lines of an IAM tree (root or ``lines.txt`` at ``path``), in file order.

    Malformed rows, ``err`` lines (unless ``include_err``), empty texts and missing or
    broken images are left out and counted in ``skips``; text that is not ``encoding``
    falls back (:func:`stitcher.inputs.decode_text`) and is counted too. Documents are
    forms, ``order`` the line number, writers from ``forms.txt`` when present. Texts are
    under the label text policy with ``normalize``; one left empty by it is ``empty_text``.

    Raises:
        UserError: when no ``lines.txt`` is found (:func:`find_lines_txt`).
    """
    lines_txt = find_lines_txt(path)
    root = iam_root(lines_txt)
    writers = read_forms(root, encoding)
    records = []
    for n, raw in enumerate(lines_txt.read_bytes().splitlines(), start=1):
        line, fallback = decode_text(raw, encoding)
        if line.startswith("#") or not line.strip():
            continue
        row = parse_lines_txt_row(line, normalize)
        if row is None:
            skips.add("bad_row", f"{lines_txt.name}:{n}")
            continue
        line_id, status, text = row
        if fallback:
            skips.add("text_not_utf8", line_id)
        if status == "err" and not include_err:
            skips.add("err_line", line_id)
            continue
        if not text:
            skips.add("empty_text", line_id)
            continue
        img = image_path(root, line_id)
        problem, size = check_image_file(str(img))
        if problem:
            skips.add(problem, line_id)
            continue
        form = "-".join(line_id.split("-")[:2])
        order = int(line_id.rsplit("-", 1)[1]) if line_id.rsplit("-", 1)[1].isdigit() else n
        records.append(CropRecord(id=line_id, ref=str(img), text=text,
                                  writer=writers.get(form), document=form, order=order,
                                  split=None, size=size,
                                  rel=os.path.relpath(img, root)))
    return records

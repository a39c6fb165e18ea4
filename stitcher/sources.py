"""Readers for line-crop inputs: IAM, TSV/CSV/JSONL line lists, name.png+name.txt folders,
WebDataset line shards, and folders of PAGE-XML or ALTO pages with their images. Each
returns :class:`CropRecord` s and counts what it skipped.

Line-list columns (header row optional for TSV/CSV; JSONL keys): ``image`` (or path, file),
``text`` (or transcription, label), optional ``writer``, ``document`` (or doc, form, page),
``split``, ``id``. Without a header the columns are image, text[, writer[, document]].
Relative image paths are relative to the line list's folder. Every transcription goes
through the label text policy (:func:`stitcher.inputs.clean_text`) with the reader's
``normalize`` (``"NFC"``, ``"NFKC"`` or ``"none"``); one left empty by it is ``empty_text``.
"""

from __future__ import annotations

import csv
import json
import os
import tarfile
from pathlib import Path

from PIL import Image

from synthtext.dataset.errors import UserError
from synthtext.dataset.sample import decode_metadata
from synthtext.dataset.urls import DATASET_PREFIX, is_remote, shard_urls
from synthtext.documents import DocumentError, read_document
from synthtext.documents.importer import sniff_format

from .iam import read_iam
from .inputs import Skips, check_image_file, clean_text, decode_text, image_problem
from .record import CropRecord, infer_document, page_ref, tar_ref

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
_ALIASES = {"image": ("image", "path", "file", "image_path", "filename", "img"),
            "text": ("text", "transcription", "label", "gt", "txt"),
            "writer": ("writer", "writer_id", "author", "hand"),
            "document": ("document", "doc", "form", "page", "document_id"),
            "split": ("split", "set", "subset"),
            "id": ("id", "line_id", "key", "name")}
_SPLIT_ALIASES = {"val": "validation", "valid": "validation", "dev": "validation"}


def detect_format(path: str) -> str:
    """The input format of ``--lines PATH``: ``iam``, ``tsv``, ``jsonl``, ``dir``, ``wds``,
    ``pagexml`` or ``alto``.

    A folder with IAM's ``lines.txt`` is ``iam``, one holding ``*.tar`` is ``wds``, one
    holding ``*.xml`` (at any depth) is ``pagexml`` or ``alto`` by the root element of its
    first XML file in path order, another is ``dir``; files go by suffix; globs, brace
    patterns, URLs and ``dataset:NAME`` are ``wds``.

    Raises:
        UserError: the path does not exist or its format cannot be told.
    """
    if path.startswith(DATASET_PREFIX) or is_remote(path):
        return "wds"
    p = Path(path)
    if not p.exists() and not any(c in path for c in "*?[{"):
        raise UserError(f"--lines {path}: no such file or directory")
    if p.is_dir():
        if (p / "lines.txt").is_file() or (p / "ascii" / "lines.txt").is_file():
            return "iam"
        if any(p.glob("*.tar")):
            return "wds"
        first = min(p.rglob("*.xml"), key=lambda f: f.relative_to(p).as_posix(), default=None)
        return (first and sniff_format(first)) or "dir"
    suffix = p.suffix.lower()
    if p.name == "lines.txt":
        return "iam"
    if suffix in (".tsv", ".csv", ".txt"):
        return "tsv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".tar" or any(c in path for c in "*?[{"):
        return "wds"
    raise UserError(f"--lines {path}: cannot tell its format; pass --format "
                    "iam|tsv|jsonl|dir|wds|pagexml|alto")


def read_source(path: str, fmt: str, encoding: str, skips: Skips,
                include_err: bool = False, normalize: str = "NFC"
                ) -> tuple[str, list[CropRecord]]:
    """(format, records) for an input of format ``fmt`` (``auto`` detects it), texts under
    the label text policy with ``normalize``.

    Raises:
        UserError: the input does not exist or its format cannot be told.
    """
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt != "wds" and not os.path.exists(path):
        raise UserError(f"--lines {path}: no such file or directory")
    readers = {"iam": lambda: read_iam(path, encoding, skips, include_err, normalize),
               "tsv": lambda: read_table(path, encoding, skips, normalize),
               "jsonl": lambda: read_jsonl(path, encoding, skips, normalize),
               "dir": lambda: read_dir(path, encoding, skips, normalize),
               "wds": lambda: read_wds(path, encoding, skips, normalize),
               "pagexml": lambda: read_pages(path, "pagexml", skips, normalize),
               "alto": lambda: read_pages(path, "alto", skips, normalize)}
    return fmt, readers[fmt]()


def _make_record(root: Path, fields: dict, name: str, n: int, skips: Skips,
                 fallback: bool, normalize: str) -> CropRecord | None:
    """A record from one line-list row's fields, or None (counted) when it cannot be used."""
    image = (fields.get("image") or "").strip()
    if not image:
        skips.add("bad_row", name)
        return None
    path = image if os.path.isabs(image) else str(root / image)
    crop_id = (fields.get("id") or "").strip() or os.path.splitext(image)[0]
    if fallback:
        skips.add("text_not_utf8", crop_id)
    text = clean_text(fields.get("text") or "", normalize)
    if not text:
        skips.add("empty_text", crop_id)
        return None
    problem, size = check_image_file(path)
    if problem:
        skips.add(problem, crop_id)
        return None
    doc, order = (fields.get("document") or "").strip() or None, n
    if doc is None:
        doc, num = infer_document(crop_id)
        order = num if num is not None else n
    split = (fields.get("split") or "").strip().lower() or None
    return CropRecord(id=crop_id, ref=os.path.abspath(path), text=text,
                      writer=(fields.get("writer") or "").strip() or None, document=doc,
                      order=order, split=_SPLIT_ALIASES.get(split, split), size=size,
                      rel=os.path.relpath(path, root))


def _header(row: list[str]) -> dict[str, int] | None:
    names = [c.strip().lower() for c in row]
    cols = {k: next((i for i, c in enumerate(names) if c in al), None)
            for k, al in _ALIASES.items()}
    if cols["image"] is None or cols["text"] is None:
        return None
    return {k: i for k, i in cols.items() if i is not None}


def read_table(path: str, encoding: str, skips: Skips, normalize: str = "NFC"
               ) -> list[CropRecord]:
    """TSV (tab, no quoting: transcriptions keep their quotes) or CSV (``.csv``, quoted)."""
    root = Path(path).parent
    is_csv = path.lower().endswith(".csv")
    raw_lines = Path(path).read_bytes().splitlines()
    decoded = [decode_text(b, encoding) for b in raw_lines]
    texts = [t for t, _ in decoded]
    reader = (csv.reader(texts) if is_csv else
              csv.reader(texts, delimiter="\t", quoting=csv.QUOTE_NONE))
    rows = list(reader)
    cols = _header(rows[0]) if rows else None
    positional = {"image": 0, "text": 1, "writer": 2, "document": 3}
    records = []
    for n, (row, (_, fallback)) in enumerate(zip(rows, decoded), start=1):
        if n == 1 and cols is not None or not any(c.strip() for c in row):
            continue
        use = cols or positional
        if len(row) < 2:
            skips.add("bad_row", f"{Path(path).name}:{n}")
            continue
        fields = {k: row[i] for k, i in use.items() if i < len(row)}
        rec = _make_record(root, fields, f"{Path(path).name}:{n}", n, skips, fallback,
                           normalize)
        if rec is not None:
            records.append(rec)
    return records


def read_jsonl(path: str, encoding: str, skips: Skips, normalize: str = "NFC"
               ) -> list[CropRecord]:
    """Records of a JSON Lines line list (one object per line, keys as the module says);
    unusable lines are counted in ``skips``, never raised."""
    root = Path(path).parent
    records = []
    for n, raw in enumerate(Path(path).read_bytes().splitlines(), start=1):
        line, fallback = decode_text(raw, encoding)
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):  # not JSON, or JSON that is not an object
            skips.add("bad_row", f"{Path(path).name}:{n}")
            continue
        fields = {k: next((str(obj[a]) for a in al if obj.get(a) is not None), None)
                  for k, al in _ALIASES.items()}
        rec = _make_record(root, fields, f"{Path(path).name}:{n}", n, skips, fallback,
                           normalize)
        if rec is not None:
            records.append(rec)
    return records


def read_dir(path: str, encoding: str, skips: Skips, normalize: str = "NFC"
             ) -> list[CropRecord]:
    """``name.png`` + ``name.txt`` pairs anywhere below ``path``."""
    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    images = {p.with_suffix(""): p for p in files if p.suffix.lower() in IMAGE_SUFFIXES}
    texts = {p.with_suffix(""): p for p in files if p.suffix.lower() == ".txt"}
    records = []
    for n, stem in enumerate(sorted(set(images) | set(texts)), start=1):
        name = str(stem.relative_to(root))
        if stem not in images:
            skips.add("missing_image", name)
            continue
        if stem not in texts:
            skips.add("empty_text", name)
            continue
        text, fallback = decode_text(texts[stem].read_bytes(), encoding)
        fields = {"image": str(images[stem].relative_to(root)), "text": text, "id": name}
        rec = _make_record(root, fields, name, n, skips, fallback, normalize)
        if rec is not None:
            records.append(rec)
    return records


def read_wds(spec: str, encoding: str, skips: Skips, normalize: str = "NFC"
             ) -> list[CropRecord]:
    """Line samples in WebDataset tars: an image member, ``.txt``, optional ``.json``
    (writer, document, split, id). ``spec`` is a data spec (see
    :func:`synthtext.dataset.urls.shard_urls`) that names local shards.

    Raises:
        UserError: the spec names no shards, or remote ones: crops are read later by their
            byte offset in the tar, so the tars must be local files.
    """
    paths = shard_urls(spec, label=f"--lines {spec}")
    remote = [p for p in paths if is_remote(p)]
    if remote:
        raise UserError(f"--lines {spec}: stitching reads line crops by their offset in the "
                        "tar, so line shards must be local; download them first (e.g. "
                        "hf download --repo-type dataset ORG/NAME --local-dir DIR)")
    records, n = [], 0
    for path in paths:
        for key, members in _tar_groups(path):
            n += 1
            rec = _wds_record(path, key, members, n, encoding, skips, normalize)
            if rec is not None:
                records.append(rec)
    return records


def _tar_groups(path: str):
    """(key, {ext: (offset, size, bytes or None)}) per sample; image bytes read for vetting."""
    groups: dict[str, dict] = {}
    with open(path, "rb") as f, tarfile.open(fileobj=f, mode="r:") as tar:
        for m in tar:
            base = os.path.basename(m.name)
            if not m.isfile() or "." not in base or base.startswith("."):
                continue
            key, ext = base.split(".", 1)
            key = os.path.join(os.path.dirname(m.name), key)
            data = tar.extractfile(m).read()
            groups.setdefault(key, {})[ext.lower()] = (m.offset_data, m.size, data)
    return groups.items()


def _wds_record(path, key, members, n, encoding, skips, normalize) -> CropRecord | None:
    crop_id = f"{Path(path).stem}/{key}"
    ext = next((e for e in ("png", "jpg", "jpeg", "webp", "tif", "tiff") if e in members), None)
    if ext is None:
        skips.add("missing_image", crop_id)
        return None
    offset, size, data = members[ext]
    problem = image_problem(data[:16], data[-64:], size)
    if problem:
        skips.add(problem, crop_id)
        return None
    meta = {}
    if "json" in members:
        try:
            meta = decode_metadata(members["json"][2])
        except ValueError:  # also JSONDecodeError, UnicodeDecodeError, a non-object
            meta = {}
    raw = members.get("txt", (0, 0, b""))[2]
    text, fallback = decode_text(raw, encoding)
    if fallback:
        skips.add("text_not_utf8", crop_id)
    text = clean_text(text, normalize)
    if not text:
        skips.add("empty_text", crop_id)
        return None
    def get(k: str) -> str | None:
        return next((str(meta[a]) for a in _ALIASES[k] if meta.get(a) is not None), None)

    doc, order = get("document"), n
    if doc is None:
        doc, num = infer_document(crop_id)
        order = num if num is not None else n
    split = (get("split") or "").lower() or None
    return CropRecord(id=crop_id, ref=tar_ref(os.path.abspath(path), offset, size), text=text,
                      writer=get("writer"), document=doc, order=order,
                      split=_SPLIT_ALIASES.get(split, split), size=size,
                      rel=f"{Path(path).name}/{key}.{ext}")


def read_pages(path: str, fmt: str, skips: Skips, normalize: str = "NFC") -> list[CropRecord]:
    """One record per labelled line of the PAGE-XML (``fmt`` ``"pagexml"``) or ALTO
    (``"alto"``) pages in the folder ``path`` (``*.xml`` at any depth, in path order).

    A line's ref is a :func:`~stitcher.record.page_ref` (its page image and polygon, in
    image px after :meth:`~synthtext.documents.Document.scale_to`); the crop is cut when
    the stitcher first needs a line of that page (every line of the page at once). Its
    document and writer are the XML file's stem, its order the reading order. Files and
    lines that cannot be used are counted in ``skips`` (unreadable_xml,
    not_page_xml_or_alto, missing/unreadable/truncated_image, image_size_mismatch,
    empty_page, line_without_coordinates, bad_polygon, empty_text; clipped_polygon is
    only noted).

    Raises:
        UserError: ``path`` is not a folder.
    """
    root = Path(path)
    if not root.is_dir():
        raise UserError(f"--lines {path}: --format {fmt} needs a folder of XML files and "
                        "their page images")
    records = []
    for xml in sorted(root.rglob("*.xml"), key=lambda f: f.relative_to(root).as_posix()):
        records += _page_records(xml, root, fmt, skips, normalize)
    return records


def _page_records(xml: Path, root: Path, fmt: str, skips: Skips, normalize: str
                  ) -> list[CropRecord]:
    """The records of one XML page (module rules of :func:`read_pages`)."""
    rel = xml.relative_to(root).as_posix()
    if sniff_format(xml) != fmt:
        skips.add("not_page_xml_or_alto", rel)
        return []
    try:
        doc = read_document(xml, fmt, normalize=normalize)
        image = doc.find_image()
    except DocumentError as e:
        missing = "not next to it" in str(e)
        skips.add("missing_image" if missing else "unreadable_xml",
                  str(e).replace(str(xml), rel))
        return []
    problem, size = check_image_file(str(image))
    if problem:
        skips.add(problem, rel)
        return []
    try:
        with Image.open(image) as im:
            doc = doc.scale_to(im.size)
    except DocumentError as e:
        skips.add("image_size_mismatch", str(e).replace(str(xml), rel))
        return []
    except OSError:
        skips.add("unreadable_image", rel)
        return []
    for cause, count in doc.skipped.items():
        for _ in range(count):
            skips.add("line_without_coordinates" if "coordinates" in cause else "bad_polygon",
                      rel)
    return _line_records(doc, rel, str(image.absolute()), size, skips)


def _line_records(doc, rel: str, image: str, size: int, skips: Skips) -> list[CropRecord]:
    """The labelled lines of ``doc`` (a Document on its image) as records."""
    document, records = Path(rel).stem, []
    w, h = doc.size
    for n, line in enumerate(doc.lines):
        name = f"{document}/{line.id}"
        if not line.text:
            skips.add("empty_text", name)
            continue
        (x0, y0), (x1, y1) = line.polygon.min(axis=0), line.polygon.max(axis=0)
        if min(x1, w) - max(x0, 0) < 2 or min(y1, h) - max(y0, 0) < 2:
            skips.add("bad_polygon", name)
            continue
        if line.clipped:
            skips.add("clipped_polygon", name)
        ref = page_ref(image, line.polygon)
        records.append(CropRecord(id=name, ref=ref, text=line.text, writer=document,
                                  document=document, order=n, split=None, size=size,
                                  rel=f"{rel}#{ref.rpartition('#')[2]}"))
    if not records:
        skips.add("empty_page", rel)
    return records

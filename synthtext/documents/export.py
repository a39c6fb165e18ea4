"""``synthgen export``: any synthgen shard directory as page images + PAGE-XML or ALTO.

Every sample of the data spec (anything :func:`synthtext.dataset.urls.shard_urls` resolves:
rendered, stitched, imported or augmented shards) becomes ``OUT/<key>.<ext>`` (the image
member's bytes unchanged, so no re-encoding loss) and ``OUT/<key>.xml``
(:mod:`synthtext.documents.export_xml`). Rules (also in the README's "Exporting" section):

- Lines: the label lines in order; a blank line (no quad: a paragraph gap) is skipped.
- Leading spaces (indentation) cannot be stored as text in PAGE or ALTO: they are dropped
  from the text; the line's geometry still shows the indent and ``synthgen import`` derives
  the spaces back from it.
- Regions: an imported page's regions (``meta["regions"]`` with ``meta["line_regions"]``)
  in their reading order; every other sample gets one ``paragraph`` region with all lines.
- Words: written where every word of the line has a quad.

Files are written under a temporary name and renamed, so a file in OUT is whole; the bytes
depend only on the sample.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthtext.dataset.errors import UserError
from synthtext.dataset.info import write_bytes_atomic
from synthtext.dataset.progress import progress_bar
from synthtext.dataset.sample import IMAGE_EXTS, decode_metadata
from synthtext.dataset.shards import iter_samples
from synthtext.dataset.urls import shard_urls
from synthtext.documents.export_xml import ExportLine, ExportRegion, alto_xml, page_xml

EXPORT_FORMATS = ("pagexml", "alto")
_WRITERS = {"pagexml": page_xml, "alto": alto_xml}


@dataclass
class ExportSummary:
    """What an export wrote: pages (image + XML pairs), lines, words, and the blank label
    lines skipped."""

    pages: int = 0
    lines: int = 0
    words: int = 0
    blank_lines: int = 0


def _int_quad(quad, size: tuple[int, int]) -> np.ndarray:
    """``quad`` (4 [x, y] floats) rounded to int64 (4, 2) pixels inside the image."""
    q = np.rint(np.asarray(quad, dtype=np.float64))
    return np.clip(q, 0, np.array(size) - 1).astype(np.int64)


def page_regions(meta: dict, size: tuple[int, int]) -> tuple[list[ExportRegion], int]:
    """The regions to write for a sample's metadata (module rules).

    Args:
        meta: the decoded ``.json`` member (``lines`` as the sample contract stores them).
        size: (width, height) of the image in px.

    Returns:
        ``(regions, blank)``: non-empty regions in reading order and the number of blank
        lines skipped.
    """
    lines, owners, blank = [], [], 0
    line_regions = meta.get("line_regions") or []
    paired = len(line_regions) == len(meta.get("lines", []))
    for i, d in enumerate(meta.get("lines", [])):
        if d.get("quad") is None or not d.get("text", "").strip():
            blank += 1
            continue
        words = d.get("words") or []
        word_quads = all(w.get("quad") is not None for w in words)
        lines.append(ExportLine(
            d["text"].lstrip(" "), _int_quad(d["quad"], size),
            [(w["text"], _int_quad(w["quad"], size)) for w in words] if word_quads else []))
        owners.append(line_regions[i] if paired else None)
    if not any(owners):
        return ([ExportRegion("paragraph", lines)] if lines else []), blank
    types = {r.get("id"): r.get("type") for r in meta.get("regions") or []}
    order = list(types) + [o for o in dict.fromkeys(owners) if o not in types]
    return [ExportRegion(types.get(rid), [ln for ln, o in zip(lines, owners) if o == rid])
            for rid in order if rid in owners], blank


def export_sample(d: dict, fmt: str, out: Path) -> ExportSummary:
    """Write one WebDataset sample dict (raw bytes, as from a tar) to ``out``.

    Raises:
        UserError: the sample has no image member or unreadable metadata.
    """
    key = d["__key__"]
    where = f"{d.get('__url__', '?')}: sample {key}"
    ext = next((e for e in IMAGE_EXTS if e in d), None)
    if ext is None or "json" not in d:
        raise UserError(f"{where}: no image or .json member: is this a synthgen shard?")
    try:
        meta = decode_metadata(d["json"])
        size = (int(meta["image"]["width"]), int(meta["image"]["height"]))
        regions, blank = page_regions(meta, size)
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(f"{where}: unreadable metadata ({e}); re-create the shards with "
                        "this synthgen") from None
    name = f"{key}.{ext}"
    write_bytes_atomic(out / name, d[ext])
    write_bytes_atomic(out / f"{key}.xml", _WRITERS[fmt](name, size, regions))
    lines = [line for r in regions for line in r.lines]
    return ExportSummary(1, len(lines), sum(len(line.words) for line in lines), blank)


def export_shards(spec: str, fmt: str, out: str | os.PathLike,
                  progress: bool = True) -> ExportSummary:
    """Export every sample of the data spec ``spec`` to ``out`` in format ``fmt``.

    Args:
        spec: a shard directory, ``.tar``, glob, brace pattern, URL or ``dataset:NAME``.
        fmt: ``"pagexml"`` or ``"alto"``.
        out: the folder to write (created; files of the same names are replaced).
        progress: show a progress line per page on stderr.

    Raises:
        UserError: unknown ``fmt``, no shards, an unreadable sample, or two samples with the
            same key (their files would overwrite each other).
    """
    if fmt not in EXPORT_FORMATS:
        raise UserError(f"--format {fmt!r} is not one of {', '.join(EXPORT_FORMATS)}")
    urls = shard_urls(spec)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    total, seen = ExportSummary(), set()
    bar = progress_bar(None, "export", "page", enabled=progress)
    try:
        for d in iter_samples(urls):
            if d["__key__"] in seen:
                raise UserError(f"{spec}: two samples have the key {d['__key__']}; export "
                                "one split or dataset at a time")
            seen.add(d["__key__"])
            one = export_sample(d, fmt, out)
            for k in ("pages", "lines", "words", "blank_lines"):
                setattr(total, k, getattr(total, k) + getattr(one, k))
            bar.update(1)
    finally:
        bar.close()
    return total

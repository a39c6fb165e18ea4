"""``synthgen import``: real annotated pages (PAGE-XML or ALTO + images) as sample shards.

The parent process scans the folder once (:func:`scan_pages`): every ``*.xml`` below it,
sorted by relative path, is read, its image found and its header checked; a file that
cannot be used is skipped and counted by cause. Each usable page gets a split by its
document id (the XML file stem): ``--split-file`` lists, else a ``--holdout`` hash, else
train. Page ``i`` of split ``s`` is the ``i``-th page of ``s`` in that sorted order, so the
output depends only on the files, never on workers or order (no randomness at all).
Imported pages are exempt from the contract's "no ink outside its quad": stamps,
letterheads and unlabelled lines stay on the page (``meta["ink_outside_quads_possible"]``).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from synthtext import __version__
from synthtext.dataset.errors import ConfigError, UserError
from synthtext.dataset.names import check_split_name
from synthtext.dataset.runner import RunResult, run
from synthtext.dataset.sample import Sample
from synthtext.documents import FORMATS, DocumentError, read_document
from synthtext.documents.page_sample import decode_gray, fit_max_side, page_lines

_ROOTS = {"pagexml": re.compile(rb"<(\w+:)?PcGts\b"), "alto": re.compile(rb"<(\w+:)?alto\b")}
MAX_EXAMPLES = 3  # example files kept per skip cause


@dataclass(frozen=True)
class ImportConfig:
    """What ``synthgen import`` reads and how.

    Attributes:
        source: the folder searched (recursively) for ``*.xml``.
        format: ``"pagexml"``, ``"alto"`` or ``"auto"`` (by each file's root element).
        max_side: longest image side in px after scaling, or None (keep the size).
        split_files: ``(split, path)`` pairs of id lists; ``split`` ``""`` means a table of
            ``ID SPLIT`` rows (tab, comma or spaces).
        holdout: ``(split, share)`` pairs hashed out of the documents (rest train).
        normalize: the label text policy's Unicode form (NFC, NFKC, none).
        limit: import at most this many pages: the first ones in sorted order.
    """

    source: str
    format: str = "auto"
    max_side: int | None = None
    split_files: tuple = ()
    holdout: tuple = ()
    normalize: str = "NFC"
    limit: int | None = None

    def validate(self) -> ImportConfig:
        """Refuse values that cannot work; returns self.

        Raises:
            ConfigError: unknown format, ``max_side`` or ``limit`` below 1, holdout shares
                not in (0, 1) or summing to 1 or more, a bad split name, split files mixed
                with ``holdout``.
        """
        if self.format not in (*FORMATS, "auto"):
            raise ConfigError(f"--format {self.format!r} is not one of auto, "
                              f"{', '.join(FORMATS)}")
        for opt, v in (("--max-side", self.max_side), ("-n", self.limit)):
            if v is not None and v < 1:
                raise ConfigError(f"{opt} {v}: must be at least 1")
        if self.split_files and self.holdout:
            raise ConfigError("--split-file and --holdout both given: use one of them")
        shares = [w for _, w in self.holdout]
        if any(not 0 < w < 1 for w in shares) or sum(shares) >= 1:
            raise ConfigError(f"--holdout {dict(self.holdout)}: shares must be in (0, 1) "
                              "and sum to less than 1 (the rest is train)")
        for name, _ in (*self.split_files, *self.holdout):
            if name:
                check_split_name(name, "--split-file/--holdout")
        return self

    def to_json(self) -> dict:
        """The config as a JSON-able dict (for ``dataset.json``)."""
        return {k: list(map(list, v)) if isinstance(v, tuple) else v
                for k, v in asdict(self).items()}


@dataclass(frozen=True)
class PageRecord:
    """One usable page: its XML (absolute and relative to the source), format, document
    id, image file and the sha256 (hex) of the XML and image bytes."""

    xml: str
    rel: str
    format: str
    document: str
    image: str
    image_rel: str
    xml_sha256: str
    image_sha256: str


@dataclass
class PageIndex:
    """The scan's result: usable pages per split (sorted by relative XML path) and the
    skipped files by cause, with up to :data:`MAX_EXAMPLES` ``"path: reason"`` each."""

    pages: dict[str, list[PageRecord]] = field(default_factory=dict)
    skipped: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def skip(self, cause: str, rel: str, reason: str = "") -> None:
        """Count a skipped file under ``cause``."""
        self.skipped[cause] += 1
        ex = self.examples.setdefault(cause, [])
        if len(ex) < MAX_EXAMPLES:
            ex.append(f"{rel}: {reason}" if reason else rel)

    def summary(self, cfg: ImportConfig) -> dict:
        """``dataset.json``'s ``config.inputs``: pages per split, skipped files by cause
        with examples, and a checksum of every page's XML and image bytes."""
        blob = "\n".join(f"{r.rel} {r.xml_sha256} {r.image_sha256}"
                         for pages in self.pages.values() for r in pages)
        return {"source": str(cfg.source), "format": cfg.format,
                "pages": sum(len(p) for p in self.pages.values()),
                "pages_by_split": {k: len(v) for k, v in self.pages.items()},
                "split_rule": "files" if cfg.split_files else
                              "hash" if cfg.holdout else "none",
                "skipped": dict(sorted(self.skipped.items())),
                "skipped_examples": dict(sorted(self.examples.items())),
                "checksum": hashlib.sha256(blob.encode("utf-8")).hexdigest()}


def sniff_format(path: Path) -> str | None:
    """``"pagexml"`` or ``"alto"`` by the root element found in the first 64 KiB of
    ``path``, or None when neither appears."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    hits = [(m.start(), fmt) for fmt, rx in _ROOTS.items() if (m := rx.search(head))]
    return min(hits)[1] if hits else None


def _read_split_files(cfg: ImportConfig) -> dict[str, set[str]]:
    """Document id -> the splits that list it (see :class:`ImportConfig`)."""
    where: dict[str, set[str]] = {}
    for name, path in cfg.split_files:
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as e:
            raise UserError(f"--split-file {path}: cannot read it ({e})") from None
        for ln in text.splitlines():
            parts = re.split(r"[\t,]|\s+", ln.strip())
            if not ln.strip() or ln.startswith("#"):
                continue
            if name:
                split = name
            elif len(parts) >= 2 and parts[1]:
                split = parts[1]
                check_split_name(split, f"--split-file {path}")
            else:
                raise UserError(f"--split-file {path}: line {ln!r} is not 'ID SPLIT' (or "
                                "give SPLIT=FILE for a list of ids)")
            where.setdefault(Path(parts[0]).stem, set()).add(split)
    return where


def holdout_split(document: str, holdout: tuple) -> str:
    """The split of ``document`` under ``holdout`` ((split, share) pairs): the first 8
    bytes of sha256(document id) as a number in [0, 1), placed on the cumulative shares
    in the given order; past them, ``"train"``."""
    u = int.from_bytes(hashlib.sha256(document.encode("utf-8")).digest()[:8], "big") / 2**64
    total = 0.0
    for name, share in holdout:
        total += share
        if u < total:
            return name
    return "train"


def scan_pages(cfg: ImportConfig) -> PageIndex:
    """Find, read and split the pages of ``cfg.source`` (module docstring).

    Raises:
        UserError: the folder does not exist or holds no ``*.xml``, a split file cannot be
            read, or no page is usable (the message gives the skip counts and an example).
    """
    src = Path(cfg.source)
    if not src.is_dir():
        raise UserError(f"{src}: not a folder; give the folder of PAGE-XML/ALTO files "
                        "and their images")
    files = sorted(src.rglob("*.xml"), key=lambda p: p.relative_to(src).as_posix())
    if not files:
        raise UserError(f"{src}: no *.xml files found; give the folder of PAGE-XML/ALTO "
                        "files and their images")
    lists = _read_split_files(cfg) if cfg.split_files else None
    index = PageIndex()
    used = 0
    for path in files:
        if cfg.limit is not None and used >= cfg.limit:
            break
        rec = _page_record(path, src, cfg, index)
        if rec is None:
            continue
        if lists is not None:
            hits = lists.get(rec.document, set())
            if len(hits) != 1:
                index.skip("in two split files" if hits else "not in a split file", rec.rel)
                continue
            split = next(iter(hits))
        else:
            split = holdout_split(rec.document, cfg.holdout)
        index.pages.setdefault(split, []).append(rec)
        used += 1
    if not index.pages:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(index.skipped.items()))
        first = next(iter(index.examples.values()))[0]
        raise UserError(f"{src}: no usable page ({len(files)} XML files; skipped: {counts}; "
                        f"e.g. {first})")
    index.pages = dict(sorted(index.pages.items()))
    return index


def _page_record(path: Path, src: Path, cfg: ImportConfig, index: PageIndex):
    """The :class:`PageRecord` of one XML file, or None after counting why it is skipped."""
    rel = path.relative_to(src).as_posix()
    fmt = sniff_format(path) if cfg.format == "auto" else cfg.format
    if fmt is None:
        index.skip("not PAGE-XML or ALTO", rel)
        return None
    try:
        doc = read_document(path, fmt, normalize=cfg.normalize)
    except DocumentError as e:
        index.skip("unreadable XML", rel, str(e).replace(f"{path}: ", ""))
        return None
    if not any(line.text.strip() for line in doc.lines):
        index.skip("page without text lines", rel)
        return None
    try:
        image = doc.find_image()
        data = image.read_bytes()
        with Image.open(image) as im:
            size = im.size
        doc.scale_to(size)
    except DocumentError as e:
        cause = "missing image" if "not next to it" in str(e) else "image size mismatch"
        index.skip(cause, rel, str(e).replace(f"{path}: ", ""))
        return None
    except OSError as e:
        index.skip("unreadable image", rel, str(e))
        return None
    return PageRecord(str(path), rel, fmt, path.stem, str(image),
                      image.relative_to(src).as_posix() if image.is_relative_to(src)
                      else str(image),
                      hashlib.sha256(path.read_bytes()).hexdigest(),
                      hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class ImportJob:
    """The runner's job for ``synthgen import``: the config and its scanned pages."""

    cfg: ImportConfig
    index: PageIndex

    @classmethod
    def create(cls, cfg: ImportConfig) -> ImportJob:
        """Validate ``cfg`` and scan its folder. Raises as :meth:`ImportConfig.validate`
        and :func:`scan_pages`."""
        return cls(cfg.validate(), scan_pages(cfg))

    def config(self) -> dict:
        """``dataset.json``'s ``config``: the import config and the input summary."""
        return {"import": self.cfg.to_json(), "inputs": self.index.summary(self.cfg)}

    def build(self) -> PageImporter:
        """This process's :class:`PageImporter`."""
        return PageImporter(self.cfg, self.index)

    def splits(self) -> dict[str, int]:
        """Pages per split (the runner's split counts)."""
        return {k: len(v) for k, v in self.index.pages.items()}


class PageImporter:
    """Samples by index: ``sample(split, index)`` is the ``index``-th page of ``split``."""

    def __init__(self, cfg: ImportConfig, index: PageIndex):
        self.cfg, self.index = cfg, index

    def sample(self, split: str, index: int) -> Sample:
        """Page ``index`` of ``split`` as a Sample: uint8 ``(H, W)`` grey image, one label
        line per labelled text line (see :mod:`synthtext.documents.page_sample`).

        Raises:
            UserError: the XML or image changed since the scan, or the image does not
                decode.
        """
        rec = self.index.pages[split][index]
        data = Path(rec.image).read_bytes()
        if hashlib.sha256(data).hexdigest() != rec.image_sha256:
            raise UserError(f"{rec.image}: changed while importing; run the import again")
        gray = decode_gray(data)
        if gray is None:
            raise UserError(f"{rec.image}: OpenCV cannot decode this image; convert it to "
                            "PNG or JPEG")
        doc = read_document(rec.xml, rec.format, normalize=self.cfg.normalize)
        doc = doc.scale_to((gray.shape[1], gray.shape[0]))
        image, factor = fit_max_side(gray, self.cfg.max_side)
        lines, info = page_lines(doc, factor, (image.shape[1], image.shape[0]))
        meta = {
            "source": "import",
            "generator": {"name": "synthgen", "version": __version__},
            "split": split, "index": index,
            "document": rec.document, "xml": rec.rel, "format": rec.format,
            "version": doc.version,
            "page_image": {"file": rec.image_rel, "sha256": rec.image_sha256,
                      "size": [int(gray.shape[1]), int(gray.shape[0])]},
            "scale": [round(factor[0], 6), round(factor[1], 6)],
            "regions": [{"id": r.id, "type": r.type} for r in doc.regions],
            **info,
            "skipped_lines": dict(doc.skipped),
            "clipped_lines": sum(line.clipped for line in doc.lines),
            "ink_outside_quads_possible": True,
        }
        return Sample(key=f"{split}-{index:09d}", image=np.ascontiguousarray(image),
                      lines=lines, meta=meta)


def import_shards(cfg: ImportConfig, out: str | Path, **run_options) -> RunResult:
    """Import the pages of ``cfg.source`` into WebDataset shards in ``out``.

    ``run_options`` go to :func:`synthtext.dataset.runner.run`. The dataset info holds the
    input summary (pages per split, skipped files by cause) under ``config.inputs``.

    Raises:
        ConfigError, UserError: as :meth:`ImportJob.create` (before anything is written)
            and :func:`~synthtext.dataset.runner.run`.
    """
    job = ImportJob.create(cfg)
    return run(job, out, job.splits(), kind="import", **run_options)

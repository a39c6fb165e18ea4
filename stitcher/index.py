"""The line index: every usable crop with its split, documents in reading order, a checksum.

Splits (leakage control) come from, in order of precedence:

1. split files (``--split-file validation=ids.txt``): lists of line, form/document or writer
   ids, one per line (IAM's task files work as they are). A crop belongs to the split whose
   list names its id, document or writer; crops named by no list, or by two, are left out.
2. a ``split`` column/field in the input;
3. otherwise a stable hash of the crop's writer (else document, else id) into the
   ``--holdout`` shares (e.g. ``validation=0.05,test=0.05``; the rest is ``train``), so all
   lines of one writer land in one split. The shares, not ``--split``, decide it: runs that
   make different output splits from the same input and holdout never share a writer.
   Without a holdout every crop is ``train``.

A page of split S only ever draws crops whose split is S. The index (and its checksum,
which goes into ``dataset.json``) is built once in the parent process and shipped to
workers; image pixels are read lazily.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from synthtext.dataset.errors import UserError

from .config import StitchConfig
from .inputs import Skips, decode_text
from .record import CropRecord
from .sources import read_source


@dataclass
class LineIndex:
    """Every usable crop of an input, each with its split, plus what was skipped and why.

    ``format`` is the input format read, ``source`` the absolute input path, ``skips`` the
    counts and example ids by cause (:meth:`stitcher.inputs.Skips.to_json`), ``split_rule``
    where splits came from (``files``, ``column``, ``hash`` or ``none``) and ``sha256`` the
    :func:`checksum` of the records. Records are addressed by their number in ``records``.
    """

    format: str
    source: str
    records: tuple[CropRecord, ...]
    skips: dict  # Skips.to_json()
    split_rule: str  # "files", "column" or "hash"
    sha256: str = ""
    _views: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        if not self.sha256:
            self.sha256 = checksum(self.records)

    def __getstate__(self):  # derived views are rebuilt where they are used
        return {k: v for k, v in self.__dict__.items() if k != "_views"} | {"_views": {}}

    def summary(self) -> dict:
        """JSON-able description for ``dataset.json``: counts, skipped inputs, checksum."""
        by_split = Counter(r.split for r in self.records)
        return {"format": self.format, "source": self.source, "sha256": self.sha256,
                "crops": len(self.records), "split_rule": self.split_rule,
                "crops_by_split": {k: by_split[k] for k in sorted(by_split)},
                "writers": len({r.writer for r in self.records if r.writer}),
                "documents": len({r.document for r in self.records if r.document}),
                "skipped": self.skips["counts"], "skipped_examples": self.skips["examples"]}

    def pool(self, split: str) -> np.ndarray:
        """Record numbers (int64, ascending) of the crops a page of ``split`` may use."""
        v = self._views.get(("pool", split))
        if v is None:
            v = np.array([i for i, r in enumerate(self.records) if r.split == split], np.int64)
            self._views[("pool", split)] = v
        return v

    def document(self, i: int) -> list[int]:
        """Record numbers of crop ``i``'s document, same split, in reading order."""
        docs = self._views.get("docs")
        if docs is None:
            groups = defaultdict(list)
            for j, r in enumerate(self.records):
                if r.document is not None:
                    groups[(r.split, r.document)].append(j)
            docs = {k: sorted(v, key=lambda j: (self.records[j].order, self.records[j].id))
                    for k, v in groups.items()}
            self._views["docs"] = docs
        r = self.records[i]
        return docs.get((r.split, r.document), [i]) if r.document is not None else [i]

    def writer_documents(self, i: int) -> list[int]:
        """Crop ``i``'s writer's other documents' crops (same split), documents in name order."""
        wd = self._views.get("writers")
        if wd is None:
            wd = defaultdict(list)
            for j in sorted(range(len(self.records)), key=lambda j: (
                    self.records[j].document or "", self.records[j].order, self.records[j].id)):
                r = self.records[j]
                if r.writer is not None:
                    wd[(r.split, r.writer)].append(j)
            self._views["writers"] = wd
        r = self.records[i]
        return wd.get((r.split, r.writer), []) if r.writer is not None else []


def checksum(records) -> str:
    """sha256 over what decides pixels and labels: ids, texts, splits, relative paths, sizes."""
    h = hashlib.sha256()
    for r in records:
        row = [r.id, r.rel, r.size, r.text, r.writer, r.document, r.order, r.split]
        h.update(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
    return h.hexdigest()


def build_index(cfg: StitchConfig) -> LineIndex:
    """Read the input named by ``cfg.lines``, drop what cannot be used (duplicate ids
    included), assign splits (module docstring).

    Raises:
        UserError: for an unreadable input or split file, an input without usable crops,
            or an output split of positive weight without crops.
    """
    skips = Skips()
    fmt, records = read_source(cfg.lines, cfg.format, cfg.encoding, skips, cfg.include_err,
                               normalize=cfg.normalize)
    records = _dedupe(records, skips)
    if cfg.split_files:
        rule, records = "files", _by_files(records, cfg, skips)
    elif any(r.split for r in records):
        rule = "column"
        for r in records:
            if r.split is None:
                skips.add("unassigned_split", r.id)
        records = [r for r in records if r.split is not None]
    elif cfg.holdout:
        rule, records = "hash", _by_hash(records, cfg.holdout)
    else:
        rule, records = "none", [r._replace(split="train") for r in records]
    index = LineIndex(fmt, str(Path(cfg.lines).absolute()), tuple(records), skips.to_json(),
                      rule)
    _check_pools(index, cfg)
    return index


def _dedupe(records: list[CropRecord], skips: Skips) -> list[CropRecord]:
    seen, out = set(), []
    for r in records:
        if r.id in seen:
            skips.add("duplicate_id", r.id)
            continue
        seen.add(r.id)
        out.append(r)
    return out


def read_id_list(path: str, encoding: str) -> set[str]:
    """Ids from a split file: the first whitespace-separated field of each non-comment line.

    Raises:
        UserError: naming ``--split-file`` when the file cannot be read.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise UserError(f"--split-file {path}: cannot read it ({e.strerror})") from None
    text, _ = decode_text(raw, encoding)
    return {ln.split()[0] for ln in text.splitlines() if ln.strip() and not ln.startswith("#")}


def _by_files(records, cfg: StitchConfig, skips: Skips) -> list[CropRecord]:
    lists: dict[str, set[str]] = defaultdict(set)
    for name, path in cfg.split_files:
        lists[name] |= read_id_list(path, cfg.encoding)
    out = []
    for r in records:
        names = {r.id, r.document, r.writer} - {None}
        hits = [s for s, ids in lists.items() if names & ids]
        if len(hits) == 1:
            out.append(r._replace(split=hits[0]))
        else:
            skips.add("split_conflict" if hits else "unassigned_split", r.id)
    return out


def _by_hash(records, holdout) -> list[CropRecord]:
    names = [n for n, _ in holdout] + ["train"]
    cum = np.cumsum([w for _, w in holdout] + [1.0 - sum(w for _, w in holdout)], dtype=float)
    cum /= cum[-1]
    out = []
    for r in records:
        key = r.writer or r.document or r.id
        u = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2.0**64
        out.append(r._replace(split=names[min(int(np.searchsorted(cum, u, "right")),
                                              len(names) - 1)]))
    return out


def _check_pools(index: LineIndex, cfg: StitchConfig) -> None:
    if not index.records:
        counts = ", ".join(f"{k} {v}" for k, v in index.skips["counts"].items()) or "none"
        raise UserError(f"--lines {cfg.lines}: no usable line crops (skipped: {counts})")
    for name, weight in cfg.split:
        if weight > 0 and len(index.pool(name)) == 0:
            have = sorted({r.split for r in index.records})
            raise UserError(f"--split {name}: the input has no crops of that split (it has: "
                            f"{', '.join(have)}); give --split-file, a split column, or "
                            "--holdout")

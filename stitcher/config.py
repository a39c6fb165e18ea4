"""Stitch configuration: every knob of ``synthgen stitch`` as one JSON-able frozen dataclass.

Ranges are ``(low, high)`` pairs drawn per page; lengths are in *body heights* (the
normalised x-height of the handwriting, ``body_height`` px) so a page looks the same at any
resolution. The config plus the line index's checksum decide the output bytes.
"""

from __future__ import annotations

import codecs
import dataclasses
import os
import tarfile
from dataclasses import dataclass

from synthtext.dataset.errors import ConfigError
from synthtext.dataset.names import check_split_name
from synthtext.dataset.text import check_normalize
from synthtext.dataset.urls import DATASET_PREFIX, is_remote

FORMATS = ("auto", "iam", "tsv", "jsonl", "dir", "wds", "pagexml", "alto")
MIN_BODY = 10  # px: below this a space (0.5 body) is too few pixels for exact indents
MAX_BODY = 256  # px: a larger x-height makes pages of tens of thousands of px per side
MAX_PAGE = 16384  # px: largest --max-width/--max-height (JPEG/WebP stop at 65500 px)


@dataclass(frozen=True)
class StitchConfig:
    """Every knob of ``synthgen stitch`` (one field per option; ``--page-lines`` is
    ``page_lines``). Build it, then call :meth:`validate`; the defaults are the command's.
    Transcriptions go through the label text policy (:mod:`synthtext.dataset.text`) with
    ``normalize``.
    """

    lines: str  # IAM root or lines.txt, a TSV/CSV/JSONL line list, a folder, or shards
    format: str = "auto"
    encoding: str = "utf-8"  # of transcriptions; other encodings fall back (and are counted)
    normalize: str = "NFC"  # label text policy for transcriptions: NFC, NFKC or none
    include_err: bool = False  # IAM lines whose segmentation status is "err"
    split_files: tuple[tuple[str, str], ...] = ()  # (split, file listing line/form/writer ids)
    split: tuple[tuple[str, float], ...] = (("train", 1.0),)  # output splits and weights
    # without split files or a split column: writers hashed into these held-out shares,
    # the rest is "train" (independent of ``split``, so separate runs never share writers)
    holdout: tuple[tuple[str, float], ...] = ()
    seed: int = 0
    page_lines: tuple[int, int] = (3, 10)  # handwritten lines per page
    same_document: float = 0.8  # P(consecutive lines of one document/writer, when known)
    body_height: tuple[int, int] = (16, 28)  # px: normalised x-height, per page
    height_jitter: float = 0.03  # per-line relative variation of the body height
    line_spacing: tuple[float, float] = (2.4, 3.4)  # baseline pitch / body height
    min_gap: tuple[float, float] = (-0.1, 0.5)  # body heights between adjacent lines' ink
    margin: tuple[float, float] = (1.0, 6.0)  # body heights, per side
    indent: float = 0.25  # P(a line is indented)
    indent_spaces: tuple[int, int] = (1, 6)
    jitter: float = 0.15  # max per-line horizontal jitter, space widths (<= 0.2; exact if < 0.25)
    ink: tuple[int, int] = (0, 70)
    paper: tuple[int, int] = (200, 255)
    heading: float = 0.0  # P(a rendered print heading above the handwriting)
    print_lines: float = 0.0  # P(a line slot is a rendered print line instead of a crop)
    max_width: int = 2480  # px; wider passages are written smaller
    max_height: int = 3508  # px; lines that do not fit are left off
    augment: str = "none"

    def to_json(self) -> dict:
        """The config as ``dataset.json`` records it: local paths made absolute (a URL or
        ``dataset:NAME`` kept as given), ``split`` and ``holdout`` as ``{name: weight}``."""
        d = dataclasses.asdict(self)
        local = not (is_remote(self.lines) or self.lines.startswith(DATASET_PREFIX))
        d["lines"] = os.path.abspath(self.lines) if local else self.lines
        d["split_files"] = [[s, os.path.abspath(p)] for s, p in self.split_files]
        d["split"] = dict(self.split)
        d["holdout"] = dict(self.holdout)
        return d

    @property
    def split_names(self) -> list[str]:
        """The output splits' names, in ``split`` order."""
        return [name for name, _ in self.split]

    def validate(self) -> "StitchConfig":
        """Return the config itself when every value can work.

        Raises:
            ConfigError: naming the option (``--jitter`` ...) and what it must be, e.g. a
                ``--body-height`` over ``MAX_BODY`` px or a bad split name.
        """
        if self.format not in FORMATS:
            raise ConfigError(f"--format {self.format!r} is not one of {', '.join(FORMATS)}")
        check_normalize(self.normalize)
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ConfigError(f"--encoding {self.encoding!r} is not a known encoding; pass "
                              "e.g. utf-8 or latin-1") from None
        if self.format == "wds" and os.path.isfile(self.lines) and \
                not tarfile.is_tarfile(self.lines):
            raise ConfigError(f"--lines {self.lines}: not a tar of line shards (--format wds); "
                              "pass the shards or another --format")
        _range("--page-lines", self.page_lines, 1)
        _range("--body-height", self.body_height, MIN_BODY)
        if self.body_height[1] > MAX_BODY:
            raise ConfigError(f"--body-height {self.body_height[1]} px: the x-height may be at "
                              f"most {MAX_BODY} px")
        _range("--indent-spaces", self.indent_spaces, 1)
        for opt, pair in (("--line-spacing", self.line_spacing), ("--margin", self.margin),
                          ("--ink", self.ink), ("--paper", self.paper)):
            _range(opt, pair, 0)
        if self.min_gap[0] > self.min_gap[1] or self.min_gap[0] < -0.5:
            raise ConfigError("--min-gap must be LOW:HIGH with -0.5 <= LOW <= HIGH")
        for opt, p in (("--same-document", self.same_document), ("--indent", self.indent),
                       ("--heading", self.heading), ("--print-lines", self.print_lines)):
            if not 0 <= p <= 1:
                raise ConfigError(f"{opt} must be a probability in [0, 1]")
        if not 0 <= self.jitter <= 0.2:
            raise ConfigError("--jitter must be in [0, 0.2] space widths, or indentation "
                              "would become ambiguous")
        if not 0 <= self.height_jitter <= 0.2:
            raise ConfigError("--height-jitter must be in [0, 0.2]")
        if self.ink[1] >= self.paper[0]:
            raise ConfigError("--ink must be darker than --paper")
        if not (64 <= self.max_width <= MAX_PAGE and 64 <= self.max_height <= MAX_PAGE):
            raise ConfigError(f"--max-width and --max-height must be 64-{MAX_PAGE} px")
        if not self.split or any(w < 0 for _, w in self.split) or \
                sum(w for _, w in self.split) <= 0:
            raise ConfigError("--split needs names with non-negative weights and a positive sum")
        if any(not 0 < w < 1 for _, w in self.holdout) or sum(w for _, w in self.holdout) >= 1 \
                or any(n == "train" for n, _ in self.holdout):
            raise ConfigError("--holdout needs splits other than train with shares in (0, 1) "
                              "summing below 1, e.g. validation=0.05,test=0.05")
        for opt, pairs in (("--split", self.split), ("--holdout", self.holdout),
                           ("--split-file", self.split_files)):
            for name, _ in pairs:
                check_split_name(name, opt)
        return self


def _range(opt: str, pair, minimum: float) -> None:
    if len(pair) != 2 or pair[0] > pair[1] or pair[0] < minimum:
        raise ConfigError(f"{opt} {pair[0]}:{pair[1]} must be LOW:HIGH with "
                          f"{minimum} <= LOW <= HIGH")

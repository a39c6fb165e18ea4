"""The runner job and the per-process page generator of ``synthgen stitch``.

:class:`StitchJob` is what :func:`synthtext.dataset.runner.run` ships to workers: the config plus
the line index (built once in the parent; its checksum and skip counts go into
``dataset.json`` through :meth:`StitchJob.config`). :class:`Stitcher` makes page
``(split, index)`` from its own random stream ``(seed, split, index, attempt)``; a crop
that fails to decode rejects the attempt (counted in ``rejects``) and is passed over by the
next one, so the output never depends on which worker saw what before.
"""

from __future__ import annotations

import dataclasses
import statistics
import zlib
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthtext import __version__
from synthtext.augmenting.samples import augment_records, load_augment
from synthtext.dataset.errors import UserError
from synthtext.dataset.info import config_digest
from synthtext.dataset.runner import RunResult, run
from synthtext.dataset.sample import Line, Sample
from synthtext.dataset.seeds import sample_rng, split_counts
from synthtext.documents.page_sample import decode_gray as decode_page  # stored orientation

from .compose import (
    HEADING_SCALE,
    SPACE,
    blend,
    fit_body_height,
    heading_corner,
    leading_spaces,
    line_record,
    place,
    sample_page,
)
from .config import StitchConfig
from .index import LineIndex, build_index
from .normalise import LineInk, at_scale, cut_polygon, decode_gray, prepare
from .passages import pick_crops
from .printed import PrintedLines
from .record import PAGE_PREFIX, parse_page_ref, read_crop_bytes

REJECT_CAUSES = ("blank_crop", "print_line", "unreadable_crop")  # every sample has all keys
MAX_ATTEMPTS = 50
CACHE_BYTES = 256 << 20  # prepared crops kept per process, zlib-compressed (~10-15 KB each)


def _pack(item):
    if isinstance(item, str):
        return item
    return (zlib.compress(item.alpha.tobytes(), 1), item.alpha.shape,
            dataclasses.replace(item, alpha=None))


def _unpack(packed) -> LineInk | str:
    if isinstance(packed, str):
        return packed
    data, shape, ink = packed
    alpha = np.frombuffer(zlib.decompress(data), np.uint8).reshape(shape)
    return dataclasses.replace(ink, alpha=alpha)


def _nbytes(packed) -> int:
    return 100 if isinstance(packed, str) else len(packed[0]) + 300


class _CropFailed(Exception):
    def __init__(self, cause: str, crop: int | None = None):
        super().__init__(cause)
        self.cause, self.crop = cause, crop


@dataclass(frozen=True)
class StitchJob:
    """The runner's job for ``synthgen stitch``: a validated config and its line index
    (built once, in the parent process, and pickled to the workers)."""

    cfg: StitchConfig
    index: LineIndex

    @classmethod
    def create(cls, cfg: StitchConfig) -> "StitchJob":
        """Validate ``cfg`` and index its input (:func:`stitcher.index.build_index`).

        Raises:
            ConfigError: for a config value that cannot work.
            UserError: for an unreadable input, no usable crops, or a split without crops.
        """
        cfg.validate()
        return cls(cfg, build_index(cfg))

    def config(self) -> dict:
        """``dataset.json``'s ``config``: the stitch config and the input summary (its
        checksum decides, with the config, whether existing shards can be kept)."""
        return {"stitch": self.cfg.to_json(), "inputs": self.index.summary()}

    def build(self) -> "Stitcher":
        """This process's :class:`Stitcher` for the job (see :func:`stitcher_for`)."""
        return stitcher_for(self)


_STITCHERS: dict[str, "Stitcher"] = {}


def stitcher_for(job: StitchJob) -> "Stitcher":
    """One Stitcher per job and process (its crop cache is worth keeping); at most two
    jobs' stitchers are kept."""
    key = config_digest(job.config())
    if key not in _STITCHERS:
        if len(_STITCHERS) >= 2:
            _STITCHERS.clear()
        _STITCHERS[key] = Stitcher(job.cfg, job.index)
    return _STITCHERS[key]


class Stitcher:
    """Pages by index from one line index: ``sample(split, index) -> Sample``.

    Crops are analysed at ``ref_body`` px body height (the middle of ``cfg.body_height``)
    and kept in an LRU of ``cache_bytes`` (bytes of compressed alpha); pages rescale them.
    """

    def __init__(self, cfg: StitchConfig, index: LineIndex, cache_bytes: int = CACHE_BYTES):
        self.cfg, self.index = cfg, index
        self._cache: OrderedDict[int, LineInk | str] = OrderedDict()
        self._cache_bytes, self._cached = cache_bytes, 0
        self._views: dict = {}  # derived lookups, built on first use
        # crops are analysed once, at a typical page's body height (pages rescale that)
        self.ref_body = (cfg.body_height[0] + cfg.body_height[1]) / 2
        self.augment = load_augment(cfg.augment) if cfg.augment != "none" else None
        self.printed = None
        if cfg.heading or cfg.print_lines:
            self.printed = PrintedLines(cfg.seed, self.ref_body * HEADING_SCALE)

    def prepared(self, i: int) -> LineInk | str:
        """Crop ``i`` decoded and analysed, or a reject cause.

        Analysed crops are kept in an LRU cache with their alpha zlib-compressed, so a
        worker holds some 20,000 of them (all of IAM) in ``CACHE_BYTES`` and a long run
        decodes and analyses each crop about once.
        """
        hit = self._cache.get(i)
        if hit is not None:
            self._cache.move_to_end(i)
            return _unpack(hit)
        ref = self.index.records[i].ref
        if ref.startswith(PAGE_PREFIX):
            return self._prepare_page(i)
        try:
            gray = decode_gray(read_crop_bytes(ref))
        except OSError:
            gray = None
        out = "unreadable_crop" if gray is None else prepare(gray, self.ref_body)
        self._remember(i, out)
        return out

    def _remember(self, i: int, out: LineInk | str) -> None:
        packed = self._cache[i] = _pack(out)
        self._cached += _nbytes(packed)
        while self._cached > self._cache_bytes and self._cache:
            self._cached -= _nbytes(self._cache.popitem(last=False)[1])

    def _prepare_page(self, i: int) -> LineInk | str:
        """Crop ``i`` of a PAGE-XML/ALTO page: the page image is decoded once and every
        line of it cut by its polygon, analysed and cached (the cold path's cost is one
        decode per page, not per line)."""
        pages = self._views.get("pages")
        if pages is None:
            pages = self._views["pages"] = defaultdict(list)
            for j, r in enumerate(self.index.records):
                if r.ref.startswith(PAGE_PREFIX):
                    pages[parse_page_ref(r.ref)[0]].append(j)
        path, _ = parse_page_ref(self.index.records[i].ref)
        try:
            page = decode_page(read_crop_bytes(self.index.records[i].ref))
        except OSError:
            page = None
        out = "unreadable_crop"
        for j in pages[path]:
            crop = None if page is None else cut_polygon(
                page, parse_page_ref(self.index.records[j].ref)[1])
            got = "unreadable_crop" if crop is None else prepare(crop, self.ref_body)
            self._remember(j, got)
            out = got if j == i else out
        return out

    def sample(self, split: str, index: int) -> Sample:
        """Page ``index`` of ``split``: a grey uint8 ``(H, W)`` image (or what the
        augmentation makes of it) with one label line per text line, top to bottom.

        Each attempt draws from its own stream ``(seed, split, index, attempt)``; an attempt
        that meets a blank or unreadable crop or a failed print line is counted in
        ``meta["rejects"]`` and the next one passes that crop over.

        Raises:
            UserError: when ``MAX_ATTEMPTS`` attempts all fail, or no crop of ``split``
                decodes.
        """
        rejects = Counter({c: 0 for c in REJECT_CAUSES})
        exclude: set[int] = set()
        for attempt in range(MAX_ATTEMPTS):
            rng = sample_rng(self.cfg.seed, split, index, attempt)
            try:
                sample = self._attempt(rng, split, index, frozenset(exclude))
            except _CropFailed as e:
                rejects[e.cause] += 1
                if e.crop is not None:
                    exclude.add(e.crop)
                continue
            sample.meta["rejects"] = dict(sorted(rejects.items()))
            sample.meta["skipped_crops"] = sorted(self.index.records[i].id for i in exclude)
            sample.meta["attempt"] = attempt
            return sample
        raise UserError(f"page {index} of split {split}: no valid page in {MAX_ATTEMPTS} "
                        f"attempts (rejects: {dict(rejects)}); check the crops in --lines")

    def _attempt(self, rng, split: str, index: int, exclude: frozenset) -> Sample:
        cfg = self.cfg
        k = int(rng.integers(cfg.page_lines[0], cfg.page_lines[1] + 1))
        params = sample_page(rng, cfg, k)
        mode, picks = pick_crops(rng, self.index, split, k, cfg.same_document, exclude)
        if not picks:
            raise UserError(f"split {split}: every crop failed to decode")
        k = len(picks)
        for key in ("height_jitter", "gap", "indents", "jitter", "print_lines"):
            params[key] = params[key][:k]
        params["print_index"] = [int(rng.integers(2**31)) if p else None
                                 for p in params["print_lines"]]
        params["heading_index"] = int(rng.integers(2**31)) if params["heading"] else None
        params["mode"] = mode
        slots = self._slots(params, picks)
        inks, heading, body = self._inks(params, slots)
        return self._page(params, slots, inks, heading, body, split, index, rng)

    def _slots(self, params: dict, picks: list[int]) -> list[dict]:
        """Per line: its ink, text, native body height (per document) and provenance."""
        slots = []
        for i, (crop, printed) in enumerate(zip(picks, params["print_lines"])):
            if printed and self.printed is not None:
                got = self.printed.line("line", params["print_index"][i])
                if got is None:
                    raise _CropFailed("print_line")
                ink, text, font = got
                slots.append({"kind": "print", "ink": ink, "text": text, "font": font,
                              "doc": None})
                continue
            ink = self.prepared(crop)
            if isinstance(ink, str):
                raise _CropFailed(ink, crop)
            rec = self.index.records[crop]
            slots.append({"kind": "crop", "ink": ink, "text": rec.text, "crop": crop,
                          "doc": rec.document})
        by_doc: dict = {}
        for s in slots:
            s["own"] = s["ink"].body / s["ink"].scale  # body height in crop pixels
            if s["doc"] is not None:
                by_doc.setdefault(s["doc"], []).append(s["own"])
        for s in slots:  # lines of one document share one scale: same hand, same size
            s["ref"] = statistics.median(by_doc[s["doc"]]) if s["doc"] else s["own"]
        return slots

    def _inks(self, params: dict, slots: list[dict]):
        """The lines' ink at the page's drawn body height (and the heading's, if any)."""
        widths = [s["ink"].native_width / s["ref"] for s in slots]
        body = fit_body_height(params, widths, self.cfg.max_width)
        inks = []
        for s, jit in zip(slots, params["height_jitter"]):
            ink = at_scale(s["ink"], body * (1 + jit) * s["own"] / s["ref"])
            if ink is None:
                raise _CropFailed("blank_crop", s.get("crop"))
            inks.append(ink)
        heading = None
        if params["heading"] and self.printed is not None:
            got = self.printed.line("heading", params["heading_index"])
            if got is None:
                raise _CropFailed("print_line")
            ink, text, font = got
            room = self.cfg.max_width - 2 - (params["margins"][0] + params["margins"][2]) * body
            size = min(HEADING_SCALE * body, room / max(1e-6, ink.width_per_body()))
            heading = (at_scale(ink, size), text, font)
            if heading[0] is None:
                raise _CropFailed("print_line")
        return inks, heading, body

    def _page(self, params, slots, inks, heading, body, split, index, rng) -> Sample:
        cfg = self.cfg
        head_ink = heading[0] if heading else None
        corners, width, height, n = place(params, inks, body, cfg.max_height, head_ink)
        slots, inks = slots[:n], inks[:n]
        for key in ("height_jitter", "gap", "indents", "jitter", "print_lines", "print_index"):
            params[key] = params[key][:n]
        items = [(ink.alpha, x, y) for ink, (x, y) in zip(inks, corners)]
        records = []
        if heading:
            hx, hy = heading_corner(params, head_ink, corners, inks, body)
            items.insert(0, (head_ink.alpha, hx, hy))
            records.append(line_record(heading[1], hx, hy, head_ink))
        spaces = leading_spaces([x for x, _ in corners], SPACE * body)
        for s, ink, (x, y), nsp in zip(slots, inks, corners, spaces):
            records.append(line_record(" " * nsp + s["text"], x, y, ink))
        image = blend(height, width, params["paper"], params["ink"], items)
        params.update(lines=n, body_height_drawn=round(body, 3),
                      space_width=round(SPACE * body, 3), page=[width, height],
                      leading_spaces=spaces)
        crops = [self.index.records[s["crop"]] for s in slots if s["kind"] == "crop"]
        meta = {
            "source": "stitch",
            "generator": {"name": "synthgen", "version": __version__},
            "seed": cfg.seed, "split": split, "index": index,
            "params": params,
            "crops": [r.id for r in crops],
            "writers": [r.writer for r in crops],
            "documents": [r.document for r in crops],
            "line_kinds": (["heading"] if heading else []) + [s["kind"] for s in slots],
            "printed": ([{"line": 0, "font": heading[2]}] if heading else []) + [
                {"line": i + bool(heading), "font": s["font"]}
                for i, s in enumerate(slots) if s["kind"] == "print"],
        }
        if self.augment is not None:
            image, records, meta["augment"] = augment_records(self.augment, image, records, rng)
        return Sample(key=f"{split}-{index:09d}", image=image,
                      lines=[Line(r["text"], r["quad"], r["words"]) for r in records], meta=meta)


def stitch_shards(cfg: StitchConfig, out: str | Path, n: int, **run_options) -> RunResult:
    """Stitch ``n`` pages (spread over ``cfg.split``) into WebDataset shards in ``out``.

    ``run_options`` go to :func:`synthtext.dataset.runner.run` (shard_size, image_format, quality,
    workers, backend, scheduler, overwrite, progress). The result's dataset info holds the
    input summary (checksum, skipped inputs by cause) under ``config.inputs``.

    Raises:
        ConfigError, UserError: as :meth:`StitchJob.create`; UserError also when ``out``
            holds shards made with other parameters and ``overwrite`` is not set.
    """
    job = StitchJob.create(cfg)
    return run(job, out, split_counts(n, cfg.split), kind="stitch", **run_options)


def stitch_sample(cfg: StitchConfig | StitchJob, index: int, split: str = "train") -> Sample:
    """Page ``index`` of ``split``: the same pixels and label as in the shards.

    ``cfg`` may be a :class:`StitchJob` to reuse its line index. Raises as
    :meth:`StitchJob.create` and :meth:`Stitcher.sample`.
    """
    job = cfg if isinstance(cfg, StitchJob) else StitchJob.create(cfg)
    return stitcher_for(job).sample(split, index)

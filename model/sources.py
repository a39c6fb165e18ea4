"""Data source specs: ``[NAME=]TARGET[@WEIGHT | @W0:W1]``, resolved before training starts.

TARGET is one of

- a shard spec, listed and opened by :mod:`synthtext.dataset.urls` (the one shard I/O layer
  every command uses): a local directory, ``.tar``, glob or brace pattern, an http(s) URL,
  ``hf://datasets/ORG/NAME[@REV][/GLOB]`` or ``dataset:NAME[/GLOB]``. A directory given to
  ``--data`` reads its ``train-*`` shards and to ``--val`` its ``validation-*`` (or
  ``val-*``, ``test-*``) shards when present, otherwise every ``*.tar``;
- ``KIND:ARG`` for an on-the-fly stream made inside the DataLoader workers:
  ``render:line.json`` (a JSON object of RenderConfig fields; ``render:`` alone = line-image
  defaults) or ``stitch:pages.json`` (StitchConfig fields; ``lines`` required). Either JSON
  may hold ``"stream": {"split": .., "start": ..}`` to pick the split and first index.
  Paths inside the JSON (corpora, fonts, lines, split files, an augment config) start from
  the JSON file's folder and are checked when the spec is resolved (:mod:`model.paths`).

The weight follows the *last* ``@`` and must be a number or ``START:END`` (the weight moves
from START to END over ``mix_samples`` samples); anything else after an ``@`` stays part of
the target, so ``http://user@host/...`` and ``hf://datasets/o/n@rev/...`` are safe.
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Callable

from stitcher.config import StitchConfig
from stitcher.index import build_index
from stitcher.stream import StitchStream
from synthtext.corpora.formats import check_corpus_file, scan_codec
from synthtext.dataset.errors import UserError
from synthtext.dataset.info import read_json_object
from synthtext.dataset.text import SHAPING_CONTROLS, normalize_text
from synthtext.dataset.urls import DATASET_PREFIX, read_dataset_info, shard_dir, shard_urls
from synthtext.render.config import RenderConfig
from synthtext.render.stream import RenderStream

from .paths import FileFields, absolute

_WEIGHT = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)(?::(\d+(?:\.\d*)?|\.\d+))?$")
_NAME = re.compile(r"^([A-Za-z_][\w.-]*)=(.+)$")


@dataclass
class StreamKind:
    """An on-the-fly source kind: ``open(arg, split, start, n, transform)`` -> iterable of
    transformed Samples; ``charset(arg)`` -> characters it can produce (for the vocabulary)."""

    open: Callable
    charset: Callable | None = None
    check: Callable | None = None  # check(arg) raises UserError for a bad argument


STREAM_KINDS: dict[str, StreamKind] = {}


def register_stream(kind: str, open_fn: Callable, charset: Callable | None = None,
                    check: Callable | None = None) -> None:
    """Add an on-the-fly source kind; ``stitch:`` is one line, e.g.
    ``register_stream("stitch", lambda arg, **kw: StitchStream(load(arg), **kw))``;
    ``check(arg)``, when given, runs as the spec is resolved (before training starts)."""
    STREAM_KINDS[kind] = StreamKind(open_fn, charset, check)


@dataclass
class SourceSpec:
    """One parsed data source: ``kind`` is ``"shards"`` (``urls`` lists them once
    resolved) or a :data:`STREAM_KINDS` key; the weight moves from ``w0`` to ``w1``."""

    text: str  # as given
    name: str
    kind: str  # "shards" or a STREAM_KINDS key
    target: str  # shard pattern/URL, or the stream argument
    w0: float = 1.0
    w1: float = 1.0
    urls: tuple = ()  # resolved shard list (kind == "shards")


def parse_spec(text: str) -> SourceSpec:
    """Split a spec into name, kind, target and weights (no file system access).

    Raises:
        UserError: a weight that is no number, no target, or an unknown ``KIND:``.
    """
    body, w0, w1 = text, 1.0, 1.0
    if "@" in text:
        head, _, tail = text.rpartition("@")
        m = _WEIGHT.match(tail)
        if m:
            body, w0 = head, float(m.group(1))
            w1 = float(m.group(2)) if m.group(2) is not None else w0
        elif re.fullmatch(r"[\d.:eE+-]+", tail):
            raise UserError(f"data source {text!r}: weight {tail!r} is not W or START:END")
    name = None
    m = _NAME.match(body)
    if m and "/" not in m.group(1) and ":" not in m.group(1):
        name, body = m.group(1), m.group(2)
    if not body:
        raise UserError(f"data source {text!r} has no path, URL or stream")
    kind, target = "shards", body
    prefix, sep, rest = body.partition(":")
    if sep and prefix in STREAM_KINDS:
        kind, target = prefix, rest
    elif sep and re.fullmatch(r"[a-z][a-z0-9+]*", prefix) and \
            prefix not in ("http", "https", "hf", "file", "dataset") and \
            not rest.startswith("//"):
        known = ", ".join(sorted(STREAM_KINDS))
        raise UserError(f"data source {text!r}: unknown stream kind {prefix!r} (known: {known})")
    return SourceSpec(text, name or _default_name(kind, target), kind, target, w0, w1)


def _default_name(kind: str, target: str) -> str:
    """``shards/chem``, ``shards/chem/train-{0..9}.tar`` and ``dataset:chem`` -> chem;
    ``render:a.json`` -> render:a."""
    if kind != "shards":
        return f"{kind}:{os.path.splitext(os.path.basename(target))[0]}" if target else kind
    t = target.removeprefix(DATASET_PREFIX).rstrip("/")
    base = os.path.basename(t)
    if base.endswith(".tar") or any(c in base for c in "*?[{"):
        return os.path.basename(os.path.dirname(t)) or base
    return base or t


def resolve(specs, for_val: bool = False) -> list[SourceSpec]:
    """Parse specs and list their shards (through :func:`synthtext.dataset.urls.shard_urls`).

    Args:
        specs: spec strings as given to ``--data`` (or ``--val`` with ``for_val``).
        for_val: a directory gives its validation shards instead of its train shards.

    Returns:
        One :class:`SourceSpec` per spec, names made unique (``a``, ``a#2``...), ``urls``
        filled for shard sources.

    Raises:
        UserError: a bad spec, missing files, an empty glob or directory, an unknown
            ``dataset:NAME``, a training source whose weight is 0 throughout, or weights
            that sum to 0.
    """
    opt = "--val" if for_val else "--data"
    out, names = [], set()
    for text in specs:
        s = parse_spec(text)
        if not for_val and s.w0 <= 0 and s.w1 <= 0:
            raise UserError(f"{opt} {text}: weight 0 throughout, so no sample is ever drawn "
                            "from it; drop it or give it a weight above 0")
        if s.kind == "shards":
            s.urls = tuple(shard_urls(s.target, split="validation" if for_val else "train",
                                      label=f"{opt} {text}"))
        elif STREAM_KINDS[s.kind].check is not None:
            STREAM_KINDS[s.kind].check(s.target)
        base, i = s.name, 2
        while s.name in names:
            s.name, i = f"{base}#{i}", i + 1
        names.add(s.name)
        out.append(s)
    if out and sum(s.w0 for s in out) <= 0 and sum(s.w1 for s in out) <= 0:
        raise UserError(f"{opt}: the weights of the data sources sum to 0")
    return out


def stored_text(spec: SourceSpec) -> str:
    """The spec as a run directory stores it (``config.json``, checkpoints): a local target
    made absolute (:mod:`model.paths`), URLs, ``hf://`` and ``dataset:NAME`` as given, the
    name and weights kept; :func:`resolve` of it gives the same source from any folder."""
    target = absolute(spec.target)
    body = target if spec.kind == "shards" else f"{spec.kind}:{target}"
    name = f"{spec.name}=" if _NAME.match(f"{spec.name}=x") and "#" not in spec.name else ""
    weights = _number(spec.w0) + ("" if spec.w1 == spec.w0 else ":" + _number(spec.w1))
    return f"{name}{body}@{weights}"


def _number(w: float) -> str:
    """A weight without an exponent (``1e-05`` -> ``0.00001``), as the spec syntax wants."""
    return format(Decimal(repr(float(w))), "f")


# -- characters for the vocabulary ---------------------------------------------------------
def charset(spec: SourceSpec) -> set[str] | None:
    """Characters a source's labels can hold, from its dataset.json or stream; None = unknown
    (a dataset.json that cannot be read only gives a warning)."""
    if spec.kind != "shards":
        kind = STREAM_KINDS[spec.kind]
        return set(kind.charset(spec.target)) if kind.charset else None
    if not spec.urls:
        return None
    try:
        info = read_dataset_info(shard_dir(spec.urls[0]))
    except UserError as e:
        warnings.warn(f"{e}; its label characters are not added to the vocabulary")
        return None
    return None if info is None else set(info.get("stats", {}).get("label_chars", {}))


def collect_chars(specs: list[SourceSpec]) -> set[str]:
    """Union of the known charsets; a source without one gets a warning (extra_chars helps)."""
    chars: set[str] = set()
    for s in specs:
        cs = charset(s)
        if cs is None:
            warnings.warn(f"{s.text}: no dataset.json or charset; characters beyond printable "
                          "ASCII need extra_chars=...")
        else:
            chars |= cs
    return chars


# -- on-the-fly streams: render and stitch ---------------------------------------------------
def _read_json(kind: str, arg: str) -> dict:
    """The JSON object of a ``KIND:CONFIG.json`` spec, minus its ``"stream"`` options, with
    its paths resolved from the file's folder and checked (:class:`model.paths.FileFields`)."""
    if not arg:
        return {}
    d = read_json_object(arg, f"{kind}:{arg}")
    d.pop("stream", None)
    fields = FileFields(f"{kind}:{arg}", arg)
    return fields.render(d) if kind == "render" else fields.stitch(d)


def _dataclass_kw(cls, d: dict, kind: str, arg: str, pairs=()) -> dict:
    """JSON values to dataclass fields: lists -> tuples, ``pairs`` fields from dicts too."""
    bad = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})
    if bad:
        raise UserError(f"{kind}:{arg}: unknown {cls.__name__} field(s) {', '.join(bad)}")
    kw = {}
    for k, v in d.items():
        if k in pairs:
            v = tuple(tuple(x) for x in (v.items() if isinstance(v, dict) else v))
        elif isinstance(v, list):
            v = tuple(tuple(x) if isinstance(x, list) else x for x in v)
        kw[k] = v
    return kw


def render_config(arg: str):
    """RenderConfig from a JSON file (``render:`` alone = defaults for line images); its
    paths start from the file's folder.

    Raises:
        UserError: the file is missing or not a JSON object, holds unknown or bad fields, or
            names a corpus, fonts or augment file that does not exist (one line naming the
            file and the field).
    """
    d = _read_json("render", arg)
    d.setdefault("layout", "line")
    if "rotation" in d:
        try:
            d["rotation"] = {int(a): b for a, b in d["rotation"].items()}
        except (AttributeError, ValueError):
            raise UserError(f"render:{arg}: rotation must map degrees to weights, e.g. "
                            "{\"0\": 0.9, \"90\": 0.1}") from None
    kw = _dataclass_kw(RenderConfig, d, "render", arg, pairs=("corpora", "split"))
    return _build(RenderConfig, kw, f"render:{arg}")


def stitch_config(arg: str):
    """StitchConfig from a JSON file of its fields (``lines`` is required); its paths start
    from the file's folder.

    Raises:
        UserError: the file is missing or not a JSON object, lacks ``lines``, holds unknown
            or bad fields, or names lines, split files or an augment file that do not exist.
    """
    d = _read_json("stitch", arg)
    if "lines" not in d:
        raise UserError(f"stitch:{arg}: the config needs \"lines\" (the handwritten line crops)")
    kw = _dataclass_kw(StitchConfig, d, "stitch", arg, pairs=("split", "holdout", "split_files"))
    return _build(StitchConfig, kw, f"stitch:{arg}")


def _build(cls, kw: dict, label: str):
    """``cls(**kw).validate()``; a value of the wrong type is a one-line error naming
    ``label`` (the spec), not a traceback."""
    try:
        return cls(**kw).validate()
    except (TypeError, ValueError, IndexError) as e:
        raise UserError(f"{label}: a field has a value of the wrong type ({e})") from None


def _stream_options(arg: str) -> dict:
    """The ``"stream"`` object of a stream's JSON config (``{}`` without one)."""
    return read_json_object(arg, arg).get("stream", {}) if arg else {}


def _pick_split(names: list[str], split: str, arg: str) -> tuple[str, int]:
    """The split a stream reads (validation reads a non-train one when the config has one),
    and the start offset; a ``"stream": {"split": .., "start": ..}`` key in the JSON wins."""
    if names and split not in names:
        others = [s for s in names if s != "train"]
        split = others[0] if split != "train" and others else names[0]
    opts = _stream_options(arg)
    return opts.get("split", split), int(opts.get("start", 0))


def open_render(arg: str, split: str, start: int, n: int | None, transform):
    """A :class:`RenderStream` for ``render:ARG``: ``n`` samples (None = endless) of
    ``split`` from index ``start``, each passed through ``transform``."""
    cfg = render_config(arg)
    split, offset = _pick_split([s for s, _ in cfg.split], split, arg)
    return RenderStream(cfg, split=split, n=n, start=start + offset, transform=transform)


def corpus_chars(path: str, encoding: str, normalize: str) -> set[str]:
    """Characters of a corpus file under the label text policy (what its spans can hold),
    whitespace left out; read in 16 MiB blocks cut at line ends, so no character or
    combining sequence is split. A superset for WikiText (read before detokenizing); ZWJ and
    ZWNJ count wherever they occur, so a joiner the policy keeps is never missing.

    Raises:
        CorpusError: the file is missing or empty, or ``encoding`` cannot be read in place;
        ConfigError: an unknown ``normalize``.
    """
    check_corpus_file(Path(path), path)
    encoding = scan_codec(encoding, path)
    chars: set[str] = set()
    with open(path, "rb") as f:
        rest = b""
        while True:
            block = f.read(1 << 24)
            data = rest + block
            cut = data.rfind(b"\n") + 1 if block else len(data)
            if cut:
                text = data[:cut].decode(encoding, errors="replace")
                chars |= set(normalize_text(text, normalize)) | (set(text) & SHAPING_CONTROLS)
            rest = data[cut:]
            if not block:
                break
    return {c for c in chars if not c.isspace()}


def render_charset(arg: str) -> set[str]:
    """Every character the labels of ``render:ARG`` can hold: its corpora's characters under
    the label text policy with the config's ``normalize`` (:func:`corpus_chars`), plus
    ``" "`` and ``"\\n"``."""
    cfg = render_config(arg)
    chars = {" ", "\n"}
    for path, _ in cfg.corpus_list():
        chars |= corpus_chars(path, cfg.encoding, cfg.normalize)
    return chars


def open_stitch(arg: str, split: str, start: int, n: int | None, transform):
    """A :class:`StitchStream` for ``stitch:ARG``; arguments as :func:`open_render`."""
    cfg = stitch_config(arg)
    split, offset = _pick_split(cfg.split_names, split, arg)
    return StitchStream(cfg, split=split, n=n, start=start + offset, transform=transform)


def stitch_charset(arg: str) -> set[str]:
    """Every character the labels of ``stitch:ARG`` can hold: the transcriptions of its line
    index (under the label text policy: :func:`stitcher.index.build_index`), ``" "`` and
    ``"\\n"``, and the embedded corpus' characters when pages mix in print lines or headings.

    Raises:
        UserError: as :func:`stitch_config` and :func:`stitcher.index.build_index`.
    """
    cfg = stitch_config(arg)
    chars = {" ", "\n"} | set("".join(r.text for r in build_index(cfg).records))
    if cfg.heading or cfg.print_lines:
        chars |= render_charset("")      # print lines come from the embedded corpus
    return chars


register_stream("render", open_render, render_charset, check=render_config)
register_stream("stitch", open_stitch, stitch_charset, check=stitch_config)

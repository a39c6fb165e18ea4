"""Data source specs: ``[NAME=]TARGET[@WEIGHT | @W0:W1]``, resolved before training starts.

TARGET is one of

- a local shard directory, ``.tar`` file, glob (``shards/*/train-*.tar``) or brace pattern
  (``shards/chem/train-{000000..000009}.tar``);
- an ``http://`` / ``https://`` URL (brace patterns allowed), read through curl;
- an ``hf://datasets/ORG/NAME/...`` path (globs and braces allowed), listed with
  ``huggingface_hub.HfFileSystem`` and read through curl;
- ``KIND:ARG`` for an on-the-fly stream made inside the DataLoader workers:
  ``render:line.json`` (a JSON object of RenderConfig fields; ``render:`` alone = line-image
  defaults) or ``stitch:pages.json`` (StitchConfig fields; ``lines`` required). Either JSON
  may hold ``"stream": {"split": .., "start": ..}`` to pick the split and first index.

The weight follows the *last* ``@`` and must be a number or ``START:END`` (the weight moves
from START to END over ``mix_samples`` samples); anything else after an ``@`` stays part of
the target, so ``http://user@host/...`` and ``hf://datasets/o/n@rev/...`` are safe. A
directory given to ``--data`` reads its ``train-*`` shards and to ``--val`` its
``validation-*`` (or ``val-*``, ``test-*``) shards when present, otherwise every ``*.tar``.
"""

from __future__ import annotations

import glob
import json
import os
import re
import warnings
from dataclasses import dataclass
from typing import Callable

from synthtext.dataset.errors import UserError

_WEIGHT = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)(?::(\d+(?:\.\d*)?|\.\d+))?$")
_NAME = re.compile(r"^([A-Za-z_][\w.-]*)=(.+)$")
VAL_SPLITS = ("validation", "val", "test")


@dataclass
class StreamKind:
    """An on-the-fly source kind: ``open(arg, split, start, n, transform)`` -> iterable of
    transformed Samples; ``charset(arg)`` -> characters it can produce (for the vocabulary)."""

    open: Callable
    charset: Callable | None = None


STREAM_KINDS: dict[str, StreamKind] = {}


def register_stream(kind: str, open_fn: Callable, charset: Callable | None = None) -> None:
    """Add an on-the-fly source kind; ``stitch:`` is one line, e.g.
    ``register_stream("stitch", lambda arg, **kw: StitchStream(load(arg), **kw))``."""
    STREAM_KINDS[kind] = StreamKind(open_fn, charset)


@dataclass
class SourceSpec:
    text: str  # as given
    name: str
    kind: str  # "shards" or a STREAM_KINDS key
    target: str  # shard pattern/URL, or the stream argument
    w0: float = 1.0
    w1: float = 1.0
    urls: tuple = ()  # resolved shard list (kind == "shards")


def parse_spec(text: str) -> SourceSpec:
    """Split a spec into name, kind, target and weights (no file system access)."""
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
            prefix not in ("http", "https", "hf", "file") and not rest.startswith("//"):
        known = ", ".join(sorted(STREAM_KINDS))
        raise UserError(f"data source {text!r}: unknown stream kind {prefix!r} (known: {known})")
    return SourceSpec(text, name or _default_name(kind, target), kind, target, w0, w1)


def _default_name(kind: str, target: str) -> str:
    """``shards/chem`` -> chem; ``shards/chem/train-{0..9}.tar`` -> chem; render:a.json -> render:a."""
    if kind != "shards":
        return f"{kind}:{os.path.splitext(os.path.basename(target))[0]}" if target else kind
    t = target.rstrip("/")
    base = os.path.basename(t)
    if base.endswith(".tar") or any(c in base for c in "*?[{"):
        return os.path.basename(os.path.dirname(t)) or base
    return base or t


def resolve(specs, for_val: bool = False) -> list[SourceSpec]:
    """Parse specs and list their shards; missing files or empty globs raise UserError."""
    opt = "--val" if for_val else "--data"
    out, names = [], set()
    for text in specs:
        s = parse_spec(text)
        if s.kind == "shards":
            s.urls = tuple(shard_urls(s.target, opt, text, for_val))
        base, i = s.name, 2
        while s.name in names:
            s.name, i = f"{base}#{i}", i + 1
        names.add(s.name)
        out.append(s)
    if out and sum(s.w0 for s in out) <= 0 and sum(s.w1 for s in out) <= 0:
        raise UserError(f"{opt}: the weights of the data sources sum to 0")
    return out


def shard_urls(target: str, opt: str, text: str, for_val: bool) -> list[str]:
    if target.startswith(("http://", "https://")):
        import braceexpand

        return list(braceexpand.braceexpand(target))
    if target.startswith("hf://"):
        return _hf_urls(target, opt, text, for_val)
    return _local_paths(target, opt, text, for_val)


def _local_paths(target: str, opt: str, text: str, for_val: bool) -> list[str]:
    from synthtext.dataset.shards import expand_shards

    if os.path.isdir(target):
        paths = _split_shards(sorted(glob.glob(os.path.join(target, "*.tar"))), for_val)
        if not paths:
            raise UserError(f"{opt} {text}: directory {target} holds no .tar shards")
        return paths
    paths = expand_shards(target)
    if not paths:
        raise UserError(f"{opt} {text}: no shards match {target}")
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise UserError(f"{opt} {text}: {len(missing)} of {len(paths)} shards missing: {shown}")
    return paths


def _split_shards(paths: list[str], for_val: bool) -> list[str]:
    """Prefer a directory's validation shards for --val and its train shards for --data."""
    def named(split):
        return [p for p in paths if os.path.basename(p).startswith(split + "-")]

    for split in (VAL_SPLITS if for_val else ("train",)):
        if named(split):
            return named(split)
    return paths


def _hf_urls(target: str, opt: str, text: str, for_val: bool) -> list[str]:
    import braceexpand
    from huggingface_hub import HfFileSystem

    fs = HfFileSystem()
    try:
        paths = []
        for pattern in braceexpand.braceexpand(target):
            if any(c in pattern for c in "*?["):
                paths += sorted(fs.glob(pattern))
            elif fs.isdir(pattern):
                paths += _split_shards(sorted(fs.glob(pattern.rstrip("/") + "/*.tar")), for_val)
            elif fs.exists(pattern):
                paths.append(pattern)
    except Exception as e:  # network, auth, bad repo id: all user-facing
        raise UserError(f"{opt} {text}: cannot list {target} ({type(e).__name__}: {e})") from None
    if not paths:
        raise UserError(f"{opt} {text}: no shards match {target}")
    return [p if p.startswith("hf://") else "hf://" + p for p in paths]


# -- characters for the vocabulary ---------------------------------------------------------
def charset(spec: SourceSpec) -> set[str] | None:
    """Characters a source's labels can hold, from its dataset.json or stream; None = unknown."""
    if spec.kind != "shards":
        kind = STREAM_KINDS[spec.kind]
        return set(kind.charset(spec.target)) if kind.charset else None
    manifest = _read_info(spec.urls[0]) if spec.urls else None
    if manifest is None:
        return None
    chars = manifest.get("stats", {}).get("label_chars", {})
    return set(chars)


def open_hf(url: str, mode: str = "rb", bufsize: int = 8192, **kw):
    """webdataset opener for ``hf://`` shards: read through ``huggingface_hub.HfFileSystem``
    (the token from ``huggingface-cli login`` or ``HF_TOKEN``; no curl subprocess)."""
    from huggingface_hub import HfFileSystem

    return HfFileSystem().open(url, mode, block_size=max(bufsize, 1 << 20))


def install_hf_opener() -> None:
    import importlib

    gopen = importlib.import_module("webdataset.gopen")  # the package re-exports a function
    gopen.gopen_schemes["hf"] = open_hf


def _read_info(url: str) -> dict | None:
    where = url.rsplit("/", 1)[0] + "/dataset.json" if "/" in url else "dataset.json"
    try:
        if url.startswith(("http://", "https://")):
            import urllib.request

            with urllib.request.urlopen(where, timeout=10) as r:
                return json.loads(r.read().decode("utf-8"))
        if url.startswith("hf://"):
            from huggingface_hub import HfFileSystem

            with HfFileSystem().open(where, "r") as f:
                return json.load(f)
        if os.path.isfile(where):
            with open(where, encoding="utf-8") as f:
                return json.load(f)
    except Exception as e:
        warnings.warn(f"{where}: cannot read the manifest ({type(e).__name__}); its label "
                      "characters are not added to the vocabulary")
    return None


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
    """The JSON object of a ``KIND:CONFIG.json`` spec, minus its ``"stream"`` options."""
    if not arg:
        return {}
    if not os.path.isfile(arg):
        raise UserError(f"{kind}:{arg}: config file not found")
    try:
        with open(arg, encoding="utf-8") as f:
            d = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{kind}:{arg}: not valid JSON ({e})") from None
    if not isinstance(d, dict):
        raise UserError(f"{kind}:{arg}: expected a JSON object of config fields")
    d.pop("stream", None)
    return d


def _dataclass_kw(cls, d: dict, kind: str, arg: str, pairs=()) -> dict:
    """JSON values to dataclass fields: lists -> tuples, ``pairs`` fields from dicts too."""
    import dataclasses

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
    """RenderConfig from a JSON file (``render:`` alone = defaults for line images)."""
    from synthtext.render.config import RenderConfig

    d = _read_json("render", arg)
    d.setdefault("layout", "line")
    if "rotation" in d:
        d["rotation"] = {int(a): b for a, b in d["rotation"].items()}
    kw = _dataclass_kw(RenderConfig, d, "render", arg, pairs=("corpora", "split"))
    try:
        return RenderConfig(**kw).validate()
    except TypeError as e:
        raise UserError(f"render:{arg}: {e}") from None


def stitch_config(arg: str):
    """StitchConfig from a JSON file of its fields (``lines`` is required)."""
    from stitcher.config import StitchConfig

    d = _read_json("stitch", arg)
    if "lines" not in d:
        raise UserError(f"stitch:{arg}: the config needs \"lines\" (the handwritten line crops)")
    kw = _dataclass_kw(StitchConfig, d, "stitch", arg, pairs=("split", "holdout", "split_files"))
    return StitchConfig(**kw).validate()


def _stream_options(arg: str) -> dict:
    if not arg:
        return {}
    with open(arg, encoding="utf-8") as f:
        return json.load(f).get("stream", {})


def _pick_split(names: list[str], split: str, arg: str) -> tuple[str, int]:
    """The split a stream reads (validation reads a non-train one when the config has one),
    and the start offset; a ``"stream": {"split": .., "start": ..}`` key in the JSON wins."""
    if names and split not in names:
        others = [s for s in names if s != "train"]
        split = others[0] if split != "train" and others else names[0]
    opts = _stream_options(arg)
    return opts.get("split", split), int(opts.get("start", 0))


def open_render(arg: str, split: str, start: int, n: int | None, transform):
    from synthtext.render.stream import RenderStream

    cfg = render_config(arg)
    split, offset = _pick_split([s for s, _ in cfg.split], split, arg)
    return RenderStream(cfg, split=split, n=n, start=start + offset, transform=transform)


def render_charset(arg: str) -> set[str]:
    cfg = render_config(arg)
    chars: set[str] = set()
    for path, _ in cfg.corpus_list():
        with open(path, "rb") as f:
            while block := f.read(1 << 24):
                chars |= set(block.decode(cfg.encoding, errors="ignore"))
    return {c for c in chars if c.isprintable() or c == "\n"} - {"\r", "\t"}


def open_stitch(arg: str, split: str, start: int, n: int | None, transform):
    from stitcher.stream import StitchStream

    cfg = stitch_config(arg)
    split, offset = _pick_split(cfg.split_names, split, arg)
    return StitchStream(cfg, split=split, n=n, start=start + offset, transform=transform)


register_stream("render", open_render, render_charset)
register_stream("stitch", open_stitch)  # labels' characters: pass extra_chars=... if non-ASCII

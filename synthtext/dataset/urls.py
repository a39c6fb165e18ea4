"""Shards that are not local files: ``http(s)://`` URLs and ``hf://`` Hub paths.

Both are read as forward-only streams (tar's ``r|`` mode), so a trainer or ``synthgen
preview`` reads exactly the bytes it uses and never downloads a whole dataset first.
``hf://`` goes through ``huggingface_hub.HfFileSystem`` (token from ``HF_TOKEN`` or the
login; endpoint from ``HF_ENDPOINT``, read at call time so tests and mirrors can set it).
Listing: an ``hf://`` repo or folder lists its ``*.tar`` files, a glob is expanded by the
Hub's tree API; plain HTTP cannot list, so an http(s) URL must name ``.tar`` files, a
``{000000..000009}`` brace pattern, or a shard directory that serves its ``dataset.json``.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import BinaryIO

from synthtext.dataset.errors import UserError

HTTP_TIMEOUT = 60  # seconds without data before a stalled HTTP read fails


def is_remote(spec: str) -> bool:
    return str(spec).startswith(("http://", "https://", "hf://"))


def _braces(spec: str) -> list[str]:
    if "{" not in spec:
        return [spec]
    import braceexpand  # a webdataset dependency

    return list(braceexpand.braceexpand(spec))


def expand_remote(spec: str) -> list[str]:
    """Shard URLs named by a remote ``spec`` (see the module docstring for the forms)."""
    out: list[str] = []
    for s in _braces(spec):
        out.extend(_expand_hf(s) if s.startswith("hf://") else _expand_http(s))
    return out


def hf_filesystem():
    """An ``HfFileSystem`` for the current ``HF_ENDPOINT`` (fsspec caches the instance)."""
    from huggingface_hub import HfFileSystem

    return HfFileSystem(endpoint=os.environ.get("HF_ENDPOINT") or None)


def _expand_hf(spec: str) -> list[str]:
    fs = hf_filesystem()
    try:
        if any(c in spec for c in "*?["):
            paths = fs.glob(spec)
        elif spec.endswith(".tar"):
            return [spec]
        else:
            root = spec.rstrip("/")
            paths = fs.glob(root + "/*.tar") or fs.glob(root + "/**/*.tar")
    except (FileNotFoundError, ValueError, NotImplementedError) as e:
        raise UserError(f"{spec}: no such Hub dataset, revision or folder ({_first_line(e)}); "
                        "use hf://datasets/ORG/NAME[@REVISION][/GLOB]") from None
    except OSError as e:
        raise UserError(f"{spec}: cannot list the Hub repository ({_first_line(e)})") from None
    return sorted("hf://" + p.removeprefix("hf://") for p in paths)


def _expand_http(spec: str) -> list[str]:
    path = spec.split("?", 1)[0]
    if any(c in path for c in "*["):
        raise UserError(f"{spec}: HTTP cannot list files, so globs do not work over http(s); "
                        "give a {000000..000009} brace pattern instead")
    if path.endswith(".tar"):
        return [spec]
    url = spec.rstrip("/") + "/dataset.json"
    try:
        with open_stream(url) as f:
            info = json.load(f)
    except (UserError, ValueError) as e:
        raise UserError(f"{spec}: not a shard URL and no readable dataset.json there ({e}); "
                        "give .tar URLs or a {000000..000009} brace pattern") from None
    names = [sh["name"] for split in info.get("splits", {}).values()
             for sh in split.get("shards", [])]
    return [spec.rstrip("/") + "/" + n for n in sorted(names)]


def open_stream(url: str) -> BinaryIO:
    """A binary, forward-only stream of a remote file (close it when done)."""
    if url.startswith("hf://"):
        try:
            return hf_filesystem().open(url, "rb", block_size=0)
        except FileNotFoundError as e:
            raise UserError(f"{url}: not found on the Hub ({_first_line(e)})") from None
    req = urllib.request.Request(url, headers={"User-Agent": "synthgen"})
    try:
        return urllib.request.urlopen(req, timeout=HTTP_TIMEOUT)
    except urllib.error.HTTPError as e:
        raise UserError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise UserError(f"{url}: cannot connect ({getattr(e, 'reason', e)})") from None


def register_webdataset() -> None:
    """Make ``webdataset.WebDataset`` open ``hf://`` URLs with :func:`open_stream`: in
    process, honouring ``HF_ENDPOINT`` and the token (its own handler shells out to curl)."""
    import importlib

    gopen = importlib.import_module("webdataset.gopen")  # the package exports a function too
    gopen.gopen_schemes["hf"] = lambda url, mode="rb", bufsize=8192, **kw: open_stream(url)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__

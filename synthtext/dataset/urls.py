"""One shard I/O layer: a data spec becomes shard URLs, and every shard URL opens the same way.

Every command that reads shards (preview, stitch's line shards, augment, ``fphtr train`` and
``fphtr eval``) goes through :func:`shard_urls` and :func:`open_url`. A spec is

- a local directory, ``.tar`` file, glob (``shards/*/train-*.tar``) or brace pattern
  (``shards/chem/train-{000000..000009}.tar``);
- an ``http(s)://`` URL: ``.tar`` files, a brace pattern, or a shard directory that serves
  its ``dataset.json`` (plain HTTP cannot list a directory, so globs do not work there);
- ``hf://datasets/ORG/NAME[@REVISION][/GLOB]`` on the Hugging Face Hub, listed and read
  through ``huggingface_hub.HfFileSystem`` (an fsspec filesystem; token from ``HF_TOKEN`` or
  the login, endpoint from ``HF_ENDPOINT`` read at call time so tests and mirrors can set it);
- ``dataset:NAME[/GLOB]``, a name from the local catalogue (:mod:`.catalogue`).

A *directory* (local, http or ``hf://``, and ``dataset:NAME``) can be narrowed to a split:
``split="train"`` keeps its ``train-*`` shards and ``split="validation"`` its
``validation-*`` (else ``val-*``, else ``test-*``) shards; when it has none of those, every
``*.tar`` is used. Globs, brace patterns and ``.tar`` names are taken as given.

Remote files are read as forward-only streams, so a reader fetches exactly the bytes it uses.
Opening an http(s) file is tried :data:`TRIES` times, waiting :data:`BACKOFF` seconds and
then twice as long before each further try, when the connection fails or the server answers
429 or 5xx; a stream that breaks after it started is not resumed. ``hf://`` needs no retry
loop of ours: huggingface_hub retries its own requests (``http_backoff``: 5 retries on 429,
5xx and connection errors, 1-8 s apart) and resumes a broken download once with a Range
request. fsspec's ``HTTPFileSystem`` is not used for http(s) because it needs aiohttp, which
synthgen does not depend on; urllib does the job.
"""

from __future__ import annotations

import glob
import importlib
import json
import os
import time
import urllib.error
import urllib.request
from typing import BinaryIO, Callable, TypeVar

import braceexpand  # a webdataset dependency, small

from synthtext.dataset.catalogue import resolve_spec
from synthtext.dataset.errors import MissingFileError, UserError
from synthtext.dataset.info import INFO_FILE, read_info

REMOTE_PREFIXES = ("http://", "https://", "hf://")
DATASET_PREFIX = "dataset:"  # dataset:NAME names a directory in the local catalogue
VAL_SPLITS = ("validation", "val", "test")  # what split="validation" accepts, in this order
HTTP_TIMEOUT = 60  # seconds without data before a stalled HTTP read fails
TRIES = 4  # attempts to open an http(s) file (so 3 retries) ...
BACKOFF = 0.5  # ... waiting 0.5, 1 and 2 s before them
T = TypeVar("T")


def is_remote(spec: str | os.PathLike) -> bool:
    """Whether ``spec`` is an ``http://``, ``https://`` or ``hf://`` location."""
    return str(spec).startswith(REMOTE_PREFIXES)


def shard_urls(spec: str | os.PathLike, split: str | None = None,
               label: str | None = None) -> list[str]:
    """The shard URLs (or local paths) a data spec names, in order.

    Args:
        spec: any form listed in the module docstring.
        split: for a directory, the split to prefer (``"train"``, ``"validation"``, ...);
            None keeps every ``*.tar``.
        label: how the user gave the spec (e.g. ``"--data chem=shards/chem@2"``); starts
            each error message. Defaults to ``spec``.

    Returns:
        Local paths or ``http(s)://`` / ``hf://`` URLs, never empty. Local files are checked
        to exist; remote ``.tar`` names are not (opening them reports a missing one).

    Raises:
        UserError: nothing matches, local shards are missing, a directory holds no shards,
            a Hub repository or catalogue name does not exist, or the network fails.
    """
    spec = str(spec)
    label = label or spec
    target = resolve_dataset(spec, label)
    urls: list[str] = []
    for one in braceexpand.braceexpand(target):
        if one.startswith("hf://"):
            urls += _list_hf(one, split, label)
        elif is_remote(one):
            urls += _list_http(one, split, label)
        else:
            urls += _list_local(one, split, label)
    if not urls:
        raise UserError(f"{label}: no shards match {target}")
    missing = [u for u in urls if not is_remote(u) and not os.path.isfile(u)]
    if missing == urls == [target]:
        raise UserError(f"{label}: no shards at {target}: no such file or directory")
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise UserError(f"{label}: {len(missing)} of {len(urls)} shards missing: {shown}")
    return urls


def resolve_dataset(spec: str | os.PathLike, label: str | None = None) -> str:
    """``spec`` with a leading ``dataset:NAME`` replaced by the directory it names (see
    :func:`~.catalogue.resolve_spec`; ``label`` starts its errors); any other spec unchanged.

    Raises:
        UserError: the name is not in the catalogue, or its directory is gone.
    """
    spec = str(spec)
    return resolve_spec(spec, label) if spec.startswith(DATASET_PREFIX) else spec


def child_url(location: str | os.PathLike, name: str) -> str:
    """The file ``name`` inside the directory ``location`` (a local path or a URL)."""
    location = str(location)
    return location.rstrip("/") + "/" + name if is_remote(location) else \
        os.path.join(location, name)


def prefer_split(urls: list[str], split: str | None) -> list[str]:
    """The shards of ``split`` among a directory's ``urls`` (by name, ``SPLIT-*``); every
    one when ``split`` is None or none is named so. ``"validation"`` also accepts
    ``val-*`` and then ``test-*``."""
    if split is None:
        return urls
    for name in VAL_SPLITS if split == "validation" else (split,):
        named = [u for u in urls if os.path.basename(u).startswith(name + "-")]
        if named:
            return named
    return urls


def _list_local(path: str, split: str | None, label: str) -> list[str]:
    if os.path.isdir(path):
        found = sorted(glob.glob(os.path.join(path, "*.tar")))
        if not found:
            raise UserError(f"{label}: directory {path} holds no .tar shards")
        return prefer_split(found, split)
    return sorted(glob.glob(path)) if any(c in path for c in "*?[") else [path]


def _list_http(url: str, split: str | None, label: str) -> list[str]:
    path = url.split("?", 1)[0]
    if any(c in path for c in "*["):
        raise UserError(f"{label}: HTTP cannot list files, so globs do not work over http(s); "
                        "give a {000000..000009} brace pattern instead")
    if path.endswith(".tar"):
        return [url]
    info = read_dataset_info(url)
    if info is None:
        raise UserError(f"{label}: {url} is not a shard URL and has no readable dataset.json; "
                        "give .tar URLs or a {000000..000009} brace pattern")
    names = sorted(sh["name"] for s in info.get("splits", {}).values()
                   for sh in s.get("shards", []))
    return prefer_split([url.rstrip("/") + "/" + n for n in names], split)


def hf_filesystem():
    """An ``huggingface_hub.HfFileSystem`` for the current ``HF_ENDPOINT`` (fsspec caches
    instances, so repeated calls are cheap)."""
    import huggingface_hub  # heavy (httpx and friends); only hf:// needs it

    return huggingface_hub.HfFileSystem(endpoint=os.environ.get("HF_ENDPOINT") or None)


def _list_hf(spec: str, split: str | None, label: str) -> list[str]:
    if spec.endswith(".tar") and not any(c in spec for c in "*?["):
        return [spec]
    fs = hf_filesystem()

    def listing() -> list[str]:
        if any(c in spec for c in "*?["):
            return sorted(fs.glob(spec))
        root = spec.rstrip("/")
        return prefer_split(sorted(fs.glob(root + "/*.tar") or fs.glob(root + "/**/*.tar")),
                            split)

    try:
        paths = listing()
    except (FileNotFoundError, ValueError, NotImplementedError) as e:
        raise UserError(f"{label}: no such Hub dataset, revision or folder ({_first_line(e)}); "
                        "use hf://datasets/ORG/NAME[@REVISION][/GLOB]") from None
    except Exception as e:  # the Hub client's HTTP errors, and its transport errors (not OSError)
        raise UserError(f"{label}: cannot list the Hub repository ({_describe(e)})") from None
    return ["hf://" + p.removeprefix("hf://") for p in paths]


def open_url(url: str | os.PathLike) -> BinaryIO:
    """A binary stream of a shard or file: a local path, ``http(s)://`` URL or ``hf://`` path.

    Remote streams are forward-only and fetched as read; close the stream when done.

    Raises:
        MissingFileError: the file does not exist, or the server answers 404 or 410.
        UserError: it cannot be read (http(s): after :data:`TRIES` tries); the status or
            reason is named.
    """
    url = str(url)
    if url.startswith("hf://"):
        return _open_hf(url)
    if is_remote(url):
        return _open_http(url)
    try:
        return open(url, "rb")
    except FileNotFoundError:
        raise MissingFileError(f"{url}: no such file") from None
    except OSError as e:
        raise UserError(f"{url}: cannot read it ({e.strerror or e})") from None


def _open_hf(url: str) -> BinaryIO:
    try:
        return hf_filesystem().open(url, "rb", block_size=0)  # 0: stream, no read-ahead
    except FileNotFoundError as e:
        raise MissingFileError(f"{url}: not found on the Hub ({_first_line(e)})") from None
    except Exception as e:  # the Hub client's HTTP errors, and its transport errors (not OSError)
        raise UserError(f"{url}: cannot read it from the Hub ({_describe(e)})") from None


def _open_http(url: str) -> BinaryIO:
    req = urllib.request.Request(url, headers={"User-Agent": "synthgen"})
    try:
        return _retrying(lambda: urllib.request.urlopen(req, timeout=HTTP_TIMEOUT))
    except OSError as e:
        error = MissingFileError if _status(e) in (404, 410) else UserError
        tried = f", tried {TRIES} times" if _transient(e) else ""
        raise error(f"{url}: {_describe(e)}{tried}") from None


def read_dataset_info(location: str | os.PathLike) -> dict | None:
    """The dataset info (``dataset.json``) of a shard directory, local or remote.

    Args:
        location: a local directory, or the ``http(s)://`` / ``hf://`` URL of a directory
            (use :func:`shard_dir` to get it from a shard URL).

    Returns:
        The parsed JSON object, or None when the directory has no ``dataset.json``.

    Raises:
        UserError: it exists but is not valid JSON, or cannot be fetched.
    """
    if not is_remote(location):
        return read_info(location)
    url = child_url(location, INFO_FILE)
    try:
        with open_url(url) as f:
            data = f.read()
    except MissingFileError:
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise UserError(f"{url}: not a readable synthgen dataset.json ({e})") from None


def shard_dir(url: str) -> str:
    """The directory (local path or URL) that holds the shard ``url``."""
    return url.rsplit("/", 1)[0] if is_remote(url) else os.path.dirname(url) or "."


def register_webdataset() -> None:
    """Make ``webdataset`` open ``hf://`` and ``http(s)://`` URLs with :func:`open_url`:
    in process, with its retries, ``HF_ENDPOINT`` and the Hub token (webdataset's own
    handlers shell out to curl). Local paths stay with webdataset. Calling it again is
    harmless."""
    # webdataset re-exports a function named gopen, so `import webdataset.gopen` would not
    # give the module; importing webdataset is also heavy (it imports torch).
    gopen = importlib.import_module("webdataset.gopen")
    for scheme in ("hf", "http", "https"):
        gopen.gopen_schemes[scheme] = _gopen


def _gopen(url: str, mode: str = "rb", bufsize: int = 8192, **kw) -> BinaryIO:
    """webdataset's opener signature over :func:`open_url` (reading only)."""
    if mode != "rb":
        raise UserError(f"{url}: remote shards are read-only; write to a local directory "
                        "and publish it (synthgen publish)")
    return open_url(url)


def _retrying(fn: Callable[[], T]) -> T:
    """``fn()``, tried up to :data:`TRIES` times while it fails transiently."""
    for attempt in range(TRIES - 1):
        try:
            return fn()
        except OSError as e:
            if not _transient(e):
                raise
        time.sleep(BACKOFF * 2 ** attempt)
    return fn()


def _status(e: BaseException) -> int | None:
    """The HTTP status of a urllib or huggingface_hub error, else None."""
    if isinstance(e, urllib.error.HTTPError):
        return e.code
    response = getattr(e, "response", None)
    return getattr(response, "status_code", None)


def _transient(e: OSError) -> bool:
    """Worth another try: 429 or 5xx, or a connection that failed without a status."""
    status = _status(e)
    if status is not None:
        return status == 429 or status >= 500
    return not isinstance(e, (FileNotFoundError, PermissionError, IsADirectoryError,
                              NotADirectoryError))


def _describe(e: BaseException) -> str:
    """``HTTP 503 Service Unavailable``, or the error's type and first line."""
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}"
    if (status := _status(e)) is not None:
        return f"HTTP {status}: {_first_line(e)}"
    reason = getattr(e, "reason", None)  # a URLError's underlying socket error
    return f"{type(e).__name__}: {reason}" if reason else f"{type(e).__name__}: {_first_line(e)}"


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__

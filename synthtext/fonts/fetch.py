"""`synthgen fonts fetch`: get a manifest's fonts with the ordinary package clients, verify
them, and install them into the fonts cache.

Sources (never a registry host: package names only, resolved by the user's configured
clients): pypi — `pip download --no-deps` of a `fontpkg-*` wheel, unzipped (nothing is
installed into the environment); npm — `npm pack`, untarred; debian — `apt-get download` +
`dpkg -x` (no root needed; `apt-get update` once when root and the package is unknown);
file — a local path. A pypi font whose package is already importable (the embedded set) is
copied from there without a download.

Every downloaded font file is checked against the manifest's sha256 before use. npm
@fontsource packages ship a font cut into unicode subsets (latin, latin-ext) as .woff2:
they are merged into one .ttf (merge.py; one font per entry, which the renderer and
FontSet need), a lone subset is unwrapped to .ttf (the renderer's freetype-py may not read
woff2), and the result is checked against the manifest's `sha256` too. Another fontTools
version may write other bytes for the same glyphs: the font is then accepted after
merge.py's glyph-by-glyph check, and the install record keeps the sha it produced
(manifest.locate honours that). Every installed font must open in freetype-py and
Pillow and draw Latin letters.

Cache: `<dest>/<font id>/<file>` plus `installed.json` (the record, written last). Both go
to a temp name in the same directory and are renamed, so an interrupted fetch leaves no
partial file and a rerun fetches only what is missing. Fonts are fetched by a thread pool
(downloads are I/O bound); one that fails is reported with its cause, the rest go on.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import freetype
from PIL import ImageFont

from synthtext.dataset.progress import progress_bar
from synthtext.fonts.charset import file_sha256
from synthtext.fonts.manifest import (
    cache_path,
    installed_name,
    locate,
    write_atomic,
    write_record,
)
from synthtext.fonts.merge import MergeError, is_web_font, merge_subsets, sfnt_bytes

CLIENT_TIMEOUT_S = 300
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+|(?<=resolving )'[^']+'|(?<=host=)'[^']+'"
                  r"|(?<=host )[\w.-]+\.[a-z]{2,}\b", re.I)
_apt_lock = threading.Lock()
_apt_updated = False


class FetchError(Exception):
    """One font could not be fetched; the message is the cause, one line."""


@dataclass(frozen=True)
class Outcome:
    """What fetching one manifest entry did (one row of `synthgen fonts fetch`'s report)."""

    id: str
    status: str          # "installed", "present" or "failed"
    detail: str = ""     # the cause of a failure, or a note
    seconds: float = 0.0  # wall time of the fetch


_BOILERPLATE = re.compile(r"complete log|Note that you can|tarball, folder|In most cases|"
                          r"^code E|^404$|A new (major|minor)|notice|^W: |"
                          r"^WARNING(?!.*(Retrying|Connection|resolve))", re.I)


def _one_line(text: str) -> str:
    """A client's error output as one short line, without addresses (no registry hosts)."""
    keep = []
    for line in text.splitlines():
        line = re.sub(r"^(npm (error|ERR!)|ERROR:|E:)\s*", "", line.strip())
        line = re.sub(r"^(notarget|404)\s+", "", _URL.sub("<registry>", line)).strip()
        if line and not _BOILERPLATE.search(line) and line not in keep:
            keep.append(line)
    return "; ".join(keep[:2])[:300] or "the client failed without a message"


def _run(cmd: list[str], cwd: Path, what: str) -> None:
    """Run a package client; FetchError with its own words when it fails."""
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                              timeout=CLIENT_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise FetchError(f"{what}: `{cmd[0]}` is not installed; install it or fetch from "
                         "another machine") from None
    except subprocess.TimeoutExpired:
        raise FetchError(f"{what}: `{cmd[0]}` gave no answer in {CLIENT_TIMEOUT_S} s "
                         "(network?); run fetch again") from None
    if proc.returncode:
        raise FetchError(f"{what}: {_one_line(proc.stderr or proc.stdout)}")


def _only(folder: Path, pattern: str, what: str) -> Path:
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise FetchError(f"{what}: expected one {pattern} download, got {len(found)}")
    return found[0]


def _unpack_pypi(src: dict, work: Path) -> Path:
    """pip download the wheel (no deps, no install), unzip; root = the package's module."""
    what = f"pip download {src['package']}=={src['version']}"
    dl = work / "dl"
    dl.mkdir()
    _run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
          "--disable-pip-version-check", "--no-input", "--retries", "1", "--timeout", "30",
          "-q", "--dest", str(dl), f"{src['package']}=={src['version']}"], work, what)
    wheel = _only(dl, "*.whl", what)
    with zipfile.ZipFile(wheel) as z:
        z.extractall(work / "root")
    return work / "root" / src["package"].replace("-", "_").replace(".", "_")


def _unpack_npm(src: dict, work: Path) -> Path:
    what = f"npm pack {src['package']}@{src['version']}"
    dl = work / "dl"
    dl.mkdir()
    _run(["npm", "pack", "--loglevel", "error", "--ignore-scripts", "--pack-destination", str(dl),
          f"{src['package']}@{src['version']}"], work, what)
    with tarfile.open(_only(dl, "*.tgz", what)) as t:
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # py < 3.10.12
        t.extractall(work / "root", **safe)
    return work / "root" / "package"


def _apt_download(spec: str, dl: Path) -> None:
    """apt-get download; when root and the package is unknown, apt-get update once."""
    global _apt_updated
    what = f"apt-get download {spec}"
    sandbox = ["-o", "APT::Sandbox::User=root"] if os.geteuid() == 0 else []
    with _apt_lock:  # apt's own locks make parallel downloads fail spuriously
        try:
            _run(["apt-get", "download", "-q", *sandbox, spec], dl, what)
        except FetchError as e:
            unknown = "Unable to locate" in str(e) or "no installation candidate" in str(e)
            if not (unknown and os.geteuid() == 0 and not _apt_updated):
                raise
            _apt_updated = True
            _run(["apt-get", "update", "-q"], dl, "apt-get update")
            _run(["apt-get", "download", "-q", *sandbox, spec], dl, what)


def _unpack_debian(src: dict, work: Path) -> Path:
    """The pinned version; if the archive no longer has it, its current one (the font
    file's sha256 then decides)."""
    dl = work / "dl"
    dl.mkdir()
    try:
        _apt_download(f"{src['package']}={src['version']}", dl)
    except FetchError as e:
        if "was not found" not in str(e):
            raise
        _apt_download(src["package"], dl)
    deb = _only(dl, "*.deb", f"apt-get download {src['package']}")
    _run(["dpkg", "-x", str(deb), str(work / "root")], work, f"dpkg -x {deb.name}")
    return work / "root"


def unpack(entry: dict, work: Path, manifest_dir: Path) -> Path:
    """Download and unpack an entry's package into `work`; returns the package root.

    pypi: `pip download --no-deps` + unzip; npm: `npm pack` + untar; debian:
    `apt-get download` + `dpkg -x`; file: `manifest_dir` itself (nothing downloaded).

    Raises:
        FetchError: the client is missing, fails, times out after CLIENT_TIMEOUT_S, or gives
            not exactly one package file.
    """
    src = entry["source"]
    kind = src["kind"]
    if kind == "file":
        return Path(manifest_dir)
    return {"pypi": _unpack_pypi, "npm": _unpack_npm, "debian": _unpack_debian}[kind](
        src, work)


def source_files(entry: dict) -> list[str]:
    """The font file(s) inside the package root, as the manifest names them (relative
    paths; several only for npm unicode-range subsets)."""
    src = entry["source"]
    if src["kind"] == "pypi":
        return [f"files/{entry['file']}"]
    if src["kind"] == "file":
        return [src.get("path", entry.get("file"))]
    return list(src["files"])


def _expected_source_shas(entry: dict) -> list[str | None]:
    src = entry["source"]
    if src["kind"] == "npm":
        return list(src["sha256"])
    return [entry.get("sha256")]


def _verified_sources(entry: dict, root: Path) -> list[Path]:
    """The source files, each matching its manifest sha256 (FetchError otherwise)."""
    paths = []
    for rel, want in zip(source_files(entry), _expected_source_shas(entry)):
        path = root / rel
        if not path.is_file():
            raise FetchError(f"{path}: file not found" if entry["source"]["kind"] == "file"
                             else f"{rel} is not in the package (manifest out of date?)")
        got = file_sha256(path)
        if want and got != want:
            raise FetchError(f"sha256 mismatch for {rel} (manifest {want}, downloaded {got});"
                             " rejected, nothing installed")
        paths.append(path)
    return paths


def build_font(entry: dict, parts: list[Path], out: Path) -> str:
    """Write the installed font to `out`: a copy, a web font unwrapped to .ttf, or the
    merge of subsets (see merge.py).

    Returns:
        A note for the report: "" or, when fontTools rebuilt the font with a sha256 other
        than the manifest's, that sha.

    Raises:
        FetchError: the subsets cannot be merged into a font drawing exactly like them.
    """
    if len(parts) == 1 and not is_web_font(parts[0]):
        shutil.copyfile(parts[0], out)
        return ""
    try:
        if len(parts) == 1:
            out.write_bytes(sfnt_bytes(parts[0]))
        else:
            merge_subsets(parts, out)
    except MergeError as e:
        raise FetchError(str(e)) from None
    want, got = entry.get("sha256"), file_sha256(out)
    if want and got != want:
        return f"rebuilt by another fontTools: sha256 {got} recorded"
    return ""


def _check_loads(path: Path) -> None:
    """Refuse a font the renderer (freetype-py, and Pillow for charsets) could not open or
    that draws nothing."""
    try:
        freetype.Face(str(path))
        font = ImageFont.truetype(str(path), 32)
        box = font.getbbox("Hamburgefonts")
    except Exception as e:  # Pillow raises OSError, ValueError …
        raise FetchError(f"the font does not load ({type(e).__name__}: {e})") from None
    if box[2] <= box[0]:
        raise FetchError("the font loads but draws nothing for Latin letters")


def _install(entry: dict, manifest_dir: Path, dest: Path) -> str:
    """Fetch, verify, build and atomically install one font; returns a note."""
    final = cache_path(entry, dest)
    with tempfile.TemporaryDirectory(prefix="synthgen-font-") as tmp:
        work = Path(tmp)
        local = (locate(entry, manifest_dir, where=("local",)).path
                 if entry["source"]["kind"] == "pypi" else None)  # an importable fontpkg
        if local is not None:
            parts = [local]
        else:
            parts = _verified_sources(entry, unpack(entry, work, manifest_dir))
        built = work / ("built-" + installed_name(entry))
        note = build_font(entry, parts, built)
        _check_loads(built)
        sha = file_sha256(built)
        write_atomic(final, built.read_bytes())
    write_record(entry, dest, sha)
    return note


def fetch_one(entry: dict, manifest_dir, dest) -> Outcome:
    """Install one font unless it is already installed in `dest`; never raises.

    Returns:
        Outcome with status "present" (already verified in the cache), "installed", or
        "failed" with the cause in `detail` (any exception, so one font never stops others).
    """
    t0 = time.perf_counter()
    dest = Path(dest)
    if locate(entry, manifest_dir, dest, where=("cache",)).path is not None:
        return Outcome(entry["id"], "present")
    try:
        note = _install(entry, Path(manifest_dir), dest)
    except FetchError as e:
        return Outcome(entry["id"], "failed", str(e), time.perf_counter() - t0)
    except Exception as e:  # a bug or an OS error must not stop the other fonts
        return Outcome(entry["id"], "failed", f"{type(e).__name__}: {e}",
                       time.perf_counter() - t0)
    return Outcome(entry["id"], "installed", note, time.perf_counter() - t0)


def fetch_fonts(entries: list[dict], manifest_dir, dest, workers: int = 8,
                progress: bool = True) -> list[Outcome]:
    """fetch_one for every entry on a thread pool, with a progress display on stderr
    (:func:`~synthtext.dataset.progress.progress_bar`: a bar on a terminal, lines in a log).

    Args:
        entries: checked manifest entries; `manifest_dir` resolves `file` sources.
        dest: the fonts cache (see manifest.fonts_cache_dir).
        workers: threads (at least 1); `apt-get` downloads still run one at a time.

    Returns:
        One Outcome per entry, in entry order; failures are reported, never raised.
    """
    order = {e["id"]: i for i, e in enumerate(entries)}
    outcomes = []
    bar = progress_bar(len(entries), "fonts", "font", enabled=progress)
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [pool.submit(fetch_one, e, manifest_dir, dest) for e in entries]
            for fut in as_completed(futures):
                outcomes.append(fut.result())
                bar.update(1)
    finally:
        bar.close()
    return sorted(outcomes, key=lambda o: order[o.id])

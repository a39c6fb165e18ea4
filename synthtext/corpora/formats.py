"""What a corpus file is: present and non-empty, in an encoding the index can scan, and in
which of the three formats (``wikitext``, ``text``, ``lines``); and what a ``--corpus
FILE[:WEIGHT]`` argument names.

The paragraph index (:mod:`synthtext.corpora.index`) finds line and paragraph breaks by
looking for the ASCII bytes ``\\n``, ``\\t``, ``\\r`` and space, so only encodings in which
those bytes never occur inside a multi-byte character can be scanned in place: UTF-8,
Latin-1, cp1252, Shift_JIS, GB18030... UTF-16/32 and stateful encodings (UTF-7, ISO-2022,
HZ) are refused with a conversion hint.
"""
from __future__ import annotations

import codecs
import math
import os
import re
from pathlib import Path

from synthtext.dataset.errors import CorpusError

FORMATS = ("wikitext", "text", "lines")
_DETECT_BYTES = 1 << 20
_HEADING_LINE = re.compile(r"^ = .* = $", re.M)
_MARKUP = ("@-@", "@,@", "@.@", "<unk>")


def check_corpus_file(path: Path, label: str) -> os.stat_result:
    """The file's ``os.stat`` result, after checking it is a non-empty regular file.

    Args:
        path: the corpus file.
        label: how error messages name it (the path as the user wrote it).

    Raises:
        CorpusError: the file is missing, is a directory, or has 0 bytes.
    """
    if not path.exists():
        raise CorpusError(f"corpus {label}: file not found; check the path")
    if path.is_dir():
        raise CorpusError(f"corpus {label}: is a directory; pass a text file")
    st = path.stat()
    if st.st_size == 0:
        raise CorpusError(f"corpus {label}: is empty; pass a file with text in it")
    return st


def scan_codec(encoding: str, label: str) -> str:
    """The normalised codec name of ``encoding`` (``utf-8-sig`` -> ``utf-8``).

    Raises:
        CorpusError: the encoding is unknown to Python's :mod:`codecs`, or the index cannot
            scan its bytes (UTF-16/32, UTF-7, ISO-2022, HZ, or any codec that does not
            encode ``"a =\\n\\t\\r"`` as the same bytes as ASCII).
    """
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise CorpusError(f"corpus {label}: unknown encoding {encoding!r}; "
                          "pass --encoding utf-8 or latin-1") from None
    probe = "a =\n\t\r"
    ok = not name.startswith(("utf-16", "utf-32", "utf-7", "iso2022", "hz"))
    if not ok or probe.encode(name, "replace") != probe.encode("ascii"):
        raise CorpusError(f"corpus {label}: encoding {encoding} is not supported; convert "
                          f"the file to UTF-8 (iconv -f {encoding} -t UTF-8)")
    return "utf-8" if name == "utf-8-sig" else name


def detect_format(path, encoding: str = "utf-8") -> str:
    """Guess the corpus format from the first 1 MiB of the file (cut at the last newline).

    Returns:
        ``"wikitext"`` when a `` = Title = `` heading line or WikiText markup (``@-@``,
        ``@,@``, ``@.@``, ``<unk>``) appears; else ``"text"`` (paragraphs separated by blank
        lines) when at least 5 % of the lines are blank; else ``"lines"`` (one paragraph
        per line).

    Raises:
        CorpusError: as :func:`check_corpus_file` and :func:`scan_codec`.
    """
    p = Path(path)
    check_corpus_file(p, str(path))
    with open(p, "rb") as f:
        head = f.read(_DETECT_BYTES + 1)
    if len(head) > _DETECT_BYTES:          # drop the cut-off last line
        head = head[: head.rfind(b"\n", 0, _DETECT_BYTES) + 1] or head[:_DETECT_BYTES]
    text = head.decode(scan_codec(encoding, str(path)), "replace").replace("\r", "")
    if _HEADING_LINE.search(text) or any(m in text for m in _MARKUP):
        return "wikitext"
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    blank = sum(1 for ln in lines if not ln.strip())
    return "text" if lines and blank >= 0.05 * len(lines) else "lines"


def parse_corpus_arg(arg: str) -> tuple[str, float]:
    """Split a ``--corpus FILE[:WEIGHT]`` value: ``"chem.txt:0.3"`` -> ``("chem.txt", 0.3)``.

    A bare path, an existing file whose name contains ``:``, or a suffix holding a path
    separator (``C:\\corpora\\x.txt``) gets weight 1.0.

    Raises:
        CorpusError: the weight is not a finite number > 0, or the path before it is empty.
    """
    path, sep, weight = arg.rpartition(":")
    if not sep or os.path.isfile(arg) or "/" in weight or "\\" in weight:
        return arg, 1.0
    try:
        w = float(weight)
    except ValueError:
        w = float("nan")
    if not path or not math.isfinite(w) or w <= 0:
        raise CorpusError(f"corpus argument {arg!r}: weight {weight!r} is not a positive "
                          "number; use FILE or FILE:WEIGHT, e.g. chem.txt:0.3")
    return path, w

"""The sample contract: the one format every producer writes and every consumer reads.

A sample is an image, its label (the exact visible text, lines joined by ``\\n``) and a
JSON-able metadata dict (all sampled parameters plus line and word quads). In a WebDataset
shard it is three members sharing one key: ``<key>.<jpg|png|webp>``, ``<key>.txt``,
``<key>.json``. Keys follow :mod:`~synthtext.dataset.names` (no dot: WebDataset and Hugging
Face ``datasets`` split member names at the first dot), so ``train-000000042``, never
``page.42``.

The ``.json`` member holds the metadata object *encoded as one JSON string*
(``"{\\"augment\\":...}"``, :func:`encode_metadata`). Hugging Face ``datasets`` decodes a
``.json`` member and infers the column's type from the first five samples: an object becomes
a struct of the keys seen there, so keys that appear later (augment parameters, reject
counts) are silently dropped and absent ones come back as ``None``. A string column cannot
be inferred wrongly, so ``json.loads(row["json"])`` returns the metadata exactly; with
webdataset's ``.decode()`` it is ``json.loads(sample["json"])`` too. :func:`decode_metadata`
reads either layout (also schema 1's plain object) from bytes, text or a decoded value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from synthtext.dataset.names import check_key

SCHEMA = "synthgen.sample/2"  # 2: the .json member is the metadata as a JSON string
IMAGE_EXTS = ("jpg", "png", "webp")
_EXT_ALIASES = {"jpeg": "jpg"}


@dataclass
class Line:
    """One label line: its text (leading spaces = indentation), ink quad and word quads.

    ``quad`` is None only for a blank line (a paragraph gap), which has no ink.
    Quads are 4 (x, y) points: top-left, top-right, bottom-right, bottom-left, in the
    coordinates of the final image.
    """

    text: str
    quad: list[list[float]] | None = None
    words: list[dict] = field(default_factory=list)  # {"text": str, "quad": [[x, y] * 4]}

    def to_json(self) -> dict:
        """``{"text", "quad", "words"}`` as stored in a sample's ``.json`` member."""
        return {"text": self.text, "quad": self.quad, "words": self.words}

    @classmethod
    def from_json(cls, d: dict) -> "Line":
        """The inverse of :meth:`to_json` (``quad`` and ``words`` may be absent).

        Raises:
            KeyError: ``d`` has no ``"text"``.
        """
        return cls(text=d["text"], quad=d.get("quad"), words=list(d.get("words", [])))


@dataclass
class Sample:
    """An image with its exact label and metadata; ``meta`` must be JSON-serialisable."""

    key: str
    image: np.ndarray  # uint8, H x W (grayscale) or H x W x 3 (RGB)
    lines: list[Line]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The label: the lines' texts joined by ``\\n``."""
        return "\n".join(line.text for line in self.lines)

    def metadata(self) -> dict:
        """The ``.json`` member: meta plus schema, key, image size and lines."""
        h, w = self.image.shape[:2]
        out = {"schema": SCHEMA, "key": self.key}
        out.update(self.meta)
        out["image"] = {**out.get("image", {}), "width": int(w), "height": int(h),
                        "mode": "L" if self.image.ndim == 2 else "RGB"}
        out["lines"] = [line.to_json() for line in self.lines]
        return out

    def to_wds(self, image_format: str = "jpg", quality: int = 90) -> dict[str, Any]:
        """Encode as a WebDataset dict: ``__key__`` plus bytes for each member (``json``
        as :func:`encode_metadata`). The key is checked where it becomes a member name
        (:class:`~synthtext.dataset.shards.AtomicTarWriter`) and by :func:`check_sample`.

        Raises:
            ValueError: the image format is unknown.
        """
        ext = normalise_image_format(image_format)
        meta = self.metadata()
        meta["image"]["format"] = ext
        return {
            "__key__": self.key,
            ext: encode_image(self.image, ext, quality),
            "txt": self.text.encode("utf-8"),
            "json": encode_metadata(meta),
        }

    @classmethod
    def from_wds(cls, d: dict[str, Any]) -> "Sample":
        """Decode a WebDataset dict of raw bytes (as read from a tar) into a Sample.

        Raises:
            ValueError: a member is missing, the image does not decode, the metadata is not
                a JSON object (see :func:`decode_metadata`) or disagrees with the label.
        """
        key = d["__key__"]
        ext = next((e for e in IMAGE_EXTS if e in d), None)
        if ext is None:
            raise ValueError(f"sample {key}: no image member (expected one of {IMAGE_EXTS})")
        if "txt" not in d or "json" not in d:
            raise ValueError(f"sample {key}: missing .txt or .json member")
        meta = decode_metadata(d["json"])
        mode = meta.get("image", {}).get("mode")
        image = decode_image(d[ext], grayscale=None if mode is None else mode == "L")
        lines = [Line.from_json(x) for x in meta.pop("lines", [])]
        text = _as_text(d["txt"])
        if "\n".join(line.text for line in lines) != text:
            raise ValueError(f"sample {key}: .txt label disagrees with the lines in .json")
        for k in ("schema", "key"):
            meta.pop(k, None)
        return cls(key=key, image=image, lines=lines, meta=meta)


def _as_text(value) -> str:
    return value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else str(value)


def encode_metadata(meta: dict) -> bytes:
    """The ``.json`` member for the metadata ``meta``: UTF-8 JSON of one string, which is
    ``meta`` as compact JSON with sorted keys (see the module docstring for why).

    Floats keep every bit (Python's shortest round-trip repr), so decoding gives ``meta``
    back exactly.
    """
    inner = json.dumps(meta, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return json.dumps(inner, ensure_ascii=False).encode("utf-8")


def decode_metadata(value: bytes | str | dict) -> dict:
    """The metadata dict from a ``.json`` member however it was read: raw bytes (tar,
    :func:`~synthtext.dataset.shards.iter_samples`), text (webdataset's ``.decode()``, a
    Hugging Face ``datasets`` row) or a dict (schema 1 decoded by a loader). Both layouts
    are read: schema 2's JSON string and schema 1's plain JSON object.

    Raises:
        ValueError: not JSON (``json.JSONDecodeError`` is one), or not a JSON object.
    """
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8")
    if isinstance(value, str):
        value = json.loads(value)
    if isinstance(value, str):  # schema 2: the object encoded as a JSON string
        value = json.loads(value)
    if not isinstance(value, dict):
        raise ValueError(f"metadata is a JSON {type(value).__name__}, not an object")
    return value


def normalise_image_format(fmt: str) -> str:
    """The member extension for an image format name: ``"JPEG"``, ``".jpeg"`` -> ``"jpg"``.

    Raises:
        ValueError: not one of the image formats a sample can hold.
    """
    ext = _EXT_ALIASES.get(fmt.lower().lstrip("."), fmt.lower().lstrip("."))
    if ext not in IMAGE_EXTS:
        raise ValueError(f"image format {fmt!r} is not one of {', '.join(IMAGE_EXTS)}")
    return ext


def encode_image(image: np.ndarray, ext: str, quality: int = 90) -> bytes:
    """Encode with OpenCV: JPEG/WebP at ``quality``, PNG at level 1 (fast, lossless)."""
    if ext == "jpg":
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    elif ext == "webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, int(quality)]
    else:
        params = [cv2.IMWRITE_PNG_COMPRESSION, 1]
    img = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode("." + ext, img, params)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode a {image.shape} image as {ext}")
    return buf.tobytes()


def decode_image(data: bytes, grayscale: bool | None = None) -> np.ndarray:
    """Decode image bytes to uint8 (H x W for grayscale files, H x W x 3 RGB otherwise).

    Raises:
        ValueError: the bytes are empty or do not decode as an image.
    """
    if not data:
        raise ValueError("image bytes are empty")
    arr = np.frombuffer(data, dtype=np.uint8)
    flag = cv2.IMREAD_UNCHANGED if grayscale is None else (
        cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_COLOR)
    img = cv2.imdecode(arr, flag)
    if img is None:
        raise ValueError("image bytes do not decode")
    if img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return img


def check_sample(d: dict[str, Any]) -> list[str]:
    """Problems with a decoded-from-tar sample dict against the contract (empty = valid).

    Every producer's tests call this on what it wrote, and consumers rely on it holding.
    """
    problems = []
    key = d.get("__key__", "")
    try:
        check_key(key)
    except ValueError as e:
        problems.append(str(e))
    exts = [e for e in IMAGE_EXTS if e in d]
    if len(exts) != 1:
        problems.append(f"{key}: expected exactly one image member, found {exts}")
    try:
        s = Sample.from_wds(d)
    except (ValueError, KeyError, json.JSONDecodeError) as e:
        return problems + [str(e)]
    meta = decode_metadata(d["json"])
    if not isinstance(json.loads(_as_text(d["json"])), str):
        problems.append(f"{key}: the .json member is a plain object, not the metadata as a "
                        "JSON string (Hugging Face datasets would drop fields)")
    if meta.get("schema") != SCHEMA:
        problems.append(f"{key}: schema {meta.get('schema')!r} != {SCHEMA!r}")
    h, w = s.image.shape[:2]
    if (meta["image"]["width"], meta["image"]["height"]) != (w, h):
        problems.append(f"{key}: image size in .json differs from the decoded image")
    for i, line in enumerate(s.lines):
        if line.quad is None and line.text.strip():
            problems.append(f"{key}: line {i} has text but no quad")
        for q in [line.quad] + [wd["quad"] for wd in line.words]:
            if q is None:
                continue
            a = np.asarray(q, dtype=float)
            if a.shape != (4, 2) or a[:, 0].min() < -1 or a[:, 1].min() < -1 \
                    or a[:, 0].max() > w + 1 or a[:, 1].max() > h + 1:
                problems.append(f"{key}: line {i} has a quad outside the image: {q}")
        words = " ".join(wd["text"] for wd in line.words)
        if line.words and words != " ".join(line.text.split()):
            problems.append(f"{key}: line {i} words {words!r} do not spell {line.text!r}")
    return problems

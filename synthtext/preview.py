"""Contact sheets of samples, so people look at the data instead of reading about it."""

from __future__ import annotations

from contextlib import suppress
from itertools import islice
from pathlib import Path

import cv2
import numpy as np

from augment.preview import contact_sheet
from synthtext.augmenting.samples import augment_sample, load_augment
from synthtext.dataset.errors import UserError
from synthtext.dataset.sample import Sample
from synthtext.dataset.shards import iter_samples

MAX_SHEET_WIDTH = 16384  # px: --columns x --cell-width beyond this is refused (memory, viewers)


def load_samples(source: str, n: int) -> list[Sample]:
    """The first ``n`` samples (fewer if it holds fewer) of a data spec: a shard directory,
    tar file, glob, brace pattern, http(s) URL, ``hf://`` path or ``dataset:NAME``.

    Raises:
        UserError: the spec names no shards or no samples, a shard cannot be read, or a
            sample is not in the synthgen sample format.
    """
    out = []
    for d in islice(iter_samples(source), n):
        try:
            out.append(Sample.from_wds(d))
        except (ValueError, KeyError) as e:
            raise UserError(f"{d.get('__url__')}: sample {d.get('__key__')} is not in the "
                            f"synthgen sample format ({e})") from None
    if not out:
        raise UserError(f"{source}: holds no samples")
    return out


def draw_boxes(sample: Sample, words: bool = False) -> np.ndarray:
    """An RGB copy (uint8, H x W x 3) of the sample's image with its line quads drawn in red
    and, with ``words``, its word quads in blue (line width ~1/500 of the larger side)."""
    img = sample.image if sample.image.ndim == 3 else cv2.cvtColor(sample.image, cv2.COLOR_GRAY2RGB)
    img = img.copy()
    thick = max(1, round(max(img.shape[:2]) / 500))
    for line in sample.lines:
        if words:
            for w in line.words:
                cv2.polylines(img, [np.round(w["quad"]).astype(np.int32)], True, (40, 80, 255), 1)
        if line.quad is not None:
            cv2.polylines(img, [np.round(line.quad).astype(np.int32)], True, (230, 30, 30), thick)
    return img


def preview_sheet(source: str, n: int = 24, augment: str | None = None, columns: int = 6,
                  cell_width: int = 320, seed: int = 0, boxes: bool = False) -> np.ndarray:
    """A grid of the first ``n`` samples captioned with their labels, or, with ``augment``,
    of ``n`` augmentations of the first sample captioned with the operations drawn.

    Args:
        source: a data spec (see :func:`load_samples`).
        augment: an augmentation preset name or config file, or None.
        cell_width: the width of each cell in pixels; ``columns`` cells a row.
        seed: seeds augmentation ``k`` as ``default_rng([seed, k])``.
        boxes: draw the line quads (:func:`draw_boxes`).

    Returns:
        The sheet, uint8, H x W (all grayscale) or H x W x 3 (RGB).

    Raises:
        UserError: ``n`` or ``columns`` below 1, ``cell_width`` below 8, a sheet wider
            than ``MAX_SHEET_WIDTH`` px (``min(columns, n) * cell_width``), as
            :func:`load_samples`, or a bad augmentation spec.
    """
    for opt, value, least in (("-n", n, 1), ("--columns", columns, 1),
                              ("--cell-width", cell_width, 8)):
        if value < least:
            raise UserError(f"{opt} {value}: must be at least {least}")
    if min(columns, n) * cell_width > MAX_SHEET_WIDTH:
        raise UserError(f"--columns {columns} x --cell-width {cell_width} px is wider than "
                        f"{MAX_SHEET_WIDTH} px; use fewer columns or narrower cells")
    if augment:
        pipeline = load_augment(augment)
        first = load_samples(source, 1)[0]
        samples = [augment_sample(first, pipeline, np.random.default_rng([seed, k]))
                   for k in range(n)]
        captions = [", ".join(op["op"] for op in s.meta["augment"]["ops"]) or "(none)"
                    for s in samples]
    else:
        samples = load_samples(source, n)
        captions = [s.text for s in samples]
    images = [draw_boxes(s) if boxes else s.image for s in samples]
    if boxes or any(im.ndim == 3 for im in images):
        images = [im if im.ndim == 3 else cv2.cvtColor(im, cv2.COLOR_GRAY2RGB) for im in images]
    return contact_sheet(images, captions, min(columns, len(images)), cell_width)


def write_png(path: str | Path, image: np.ndarray) -> None:
    """Write ``image`` (uint8, H x W gray or H x W x 3 RGB) as a PNG, atomically (temp
    name, then rename); creates the parent folder.

    Raises:
        UserError: OpenCV cannot encode it.
        OSError: the file cannot be written, naming ``path`` (not its temp name).
    """
    path = Path(path)
    bgr = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise UserError(f"{path}: could not encode the contact sheet as PNG")
    if not path.parent.exists():
        path.parent.mkdir(parents=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(buf.tobytes())
        tmp.replace(path)
    except OSError as e:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise OSError(e.errno, e.strerror, str(path)) from None

"""Contact sheets: many augmented samples side by side, so a person can judge readability."""
from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

PAD = 6  # gap around cells, px
CAPTION_H = 20  # height of the caption band under each cell, px


def _fit_width(image: np.ndarray, width: int) -> np.ndarray:
    h, w = image.shape[:2]
    height = max(1, int(round(h * width / max(w, 1))))
    interp = cv2.INTER_AREA if width < w else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interp)


def _ellipsize(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def contact_sheet(images: list[np.ndarray], captions: list[str] | None = None, columns: int = 4,
                  cell_width: int = 256) -> np.ndarray:
    """A grid of ``images`` scaled to ``cell_width`` px wide, each with its caption underneath.

    Args:
        images: uint8 arrays, grayscale ``(H, W)`` or colour ``(H, W, 3)``, any sizes.
        captions: one line of text per image (newlines shown as `` / ``), or None.
        columns: cells per row (>= 1).
        cell_width: width of each cell in px (>= 8); heights keep each image's aspect.

    Returns:
        uint8 ``(H, W)`` when every image is grayscale, else ``(H, W, 3)`` (colour images
        kept in their channel order, gray ones expanded), on white with 6 px gaps.  Cells
        are as tall as the tallest scaled image; captions (20 px band, PIL's default font)
        too wide for a cell are cut with an ellipsis.

    Raises:
        ValueError: no images, a caption count that differs from the image count, or
            ``columns`` / ``cell_width`` out of range.
    """
    if not images:
        raise ValueError("contact_sheet needs at least one image")
    if captions is not None and len(captions) != len(images):
        raise ValueError(f"got {len(captions)} captions for {len(images)} images")
    if columns < 1 or cell_width < 8:
        raise ValueError("columns must be >= 1 and cell_width >= 8")
    colour = any(im.ndim == 3 for im in images)
    cells = [_fit_width(im, cell_width) for im in images]
    if colour:
        cells = [c if c.ndim == 3 else cv2.cvtColor(c, cv2.COLOR_GRAY2RGB) for c in cells]
    cell_h = max(c.shape[0] for c in cells)
    cap_h = CAPTION_H if captions is not None else 0
    rows = (len(cells) + columns - 1) // columns
    cols = min(columns, len(cells))
    sheet_w = PAD + cols * (cell_width + PAD)
    sheet_h = PAD + rows * (cell_h + cap_h + PAD)
    sheet = np.full((sheet_h, sheet_w) + ((3,) if colour else ()), 255, np.uint8)
    for i, cell in enumerate(cells):
        r, c = divmod(i, columns)
        y, x = PAD + r * (cell_h + cap_h + PAD), PAD + c * (cell_width + PAD)
        sheet[y:y + cell.shape[0], x:x + cell_width] = cell
    if captions is None:
        return sheet
    pil = Image.fromarray(sheet)
    draw = ImageDraw.Draw(pil)
    font = ImageFont.load_default(size=14)
    ink = (0, 0, 0) if colour else 0
    for i, text in enumerate(captions):
        r, c = divmod(i, columns)
        y, x = PAD + r * (cell_h + cap_h + PAD) + cell_h + 2, PAD + c * (cell_width + PAD)
        draw.text((x, y), _ellipsize(draw, str(text).replace("\n", " / "), font, cell_width), fill=ink, font=font)
    return np.asarray(pil)

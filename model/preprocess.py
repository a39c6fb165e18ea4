"""The one image preprocessing function used by training, evaluation and prediction.

A public FPHTR repository normalised images during training but not at inference; here every
path (shard samples, on-the-fly samples, image files given to ``fphtr predict``) goes
through :func:`preprocess`, and :func:`collate` pads a batch the same way.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch

from synthtext.dataset.sample import decode_image

from .vocab import PAD_ID

# Sequential OpenCV in this process: parallelism comes from DataLoader workers, and a worker
# forked after OpenCV started its thread pool deadlocks in its first cv2 call (seen here in
# pthread_cond_destroy under cv2.setNumThreads).
cv2.setNumThreads(1)


def scale_for(h: int, w: int, cfg) -> float:
    """Scale that brings the height into [min_height, max_height] and the width <= max_width.

    The width bound wins: a very wide line may end up below ``min_height``.
    """
    s = 1.0
    if h < cfg.min_height:
        s = cfg.min_height / h
    elif h > cfg.max_height:
        s = cfg.max_height / h
    if w * s > cfg.max_width:
        s = cfg.max_width / w
    return s


def preprocess(image: np.ndarray, cfg) -> tuple[torch.Tensor, tuple[int, int]]:
    """uint8 image (H0, W0) grey or (H0, W0, 3) RGB -> ((1, H, W) float32, valid (h, w)).

    Grey, scaled (area interpolation when shrinking), inverted so ink is positive and padding
    (0) is blank paper: values ``(255 - v) / 255`` in [0, 1]; padded on the right/bottom to
    multiples of the encoder stride. (h, w) are the scaled image's pixels inside the pad.
    """
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    h, w = image.shape[:2]
    s = scale_for(h, w, cfg)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    if (nh, nw) != (h, w):
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        image = cv2.resize(image, (nw, nh), interpolation=interp)
    sh, sw = cfg.stride
    ph, pw = math.ceil(nh / sh) * sh, math.ceil(nw / sw) * sw
    out = np.zeros((1, ph, pw), dtype=np.float32)
    out[0, :nh, :nw] = (255.0 - image.astype(np.float32)) / 255.0
    return torch.from_numpy(out), (nh, nw)


def load_image(path: str) -> np.ndarray:
    """An image file as uint8 (grey or RGB), decoded the way shard members are.

    Raises:
        OSError: the file cannot be read.
        ValueError: its bytes do not decode as an image.
    """
    with open(path, "rb") as f:
        data = f.read()
    return decode_image(data, grayscale=None)


def collate(items: list[dict]) -> dict:
    """Pad items (``image``, ``size``, ``tgt``, ``text``, ``source``, ``key``) into a batch.

    Returns:
        ``images`` (B, 1, H, W) float32 zero-padded to the largest item, ``sizes`` (B, 2)
        int64 valid (h, w), ``tgt`` (B, T) int64 padded with ``PAD_ID``, and the lists
        ``texts``, ``sources``, ``keys``.
    """
    hmax = max(it["image"].shape[1] for it in items)
    wmax = max(it["image"].shape[2] for it in items)
    images = torch.zeros(len(items), 1, hmax, wmax)
    for i, it in enumerate(items):
        _, h, w = it["image"].shape
        images[i, :, :h, :w] = it["image"]
    tmax = max(len(it["tgt"]) for it in items)
    tgt = torch.full((len(items), tmax), PAD_ID, dtype=torch.long)
    for i, it in enumerate(items):
        tgt[i, :len(it["tgt"])] = it["tgt"]
    return {"images": images, "sizes": torch.tensor([it["size"] for it in items]),
            "tgt": tgt, "texts": [it["text"] for it in items],
            "sources": [it["source"] for it in items], "keys": [it["key"] for it in items]}

"""Rendered print lines and headings to mix into stitched pages (``--heading``, ``--print-lines``).

Real pages mix handwriting with print (letterheads, forms, headings). These lines come from
the renderer's single-line layout with print fonts and the embedded corpus, so they are
labelled by the same machinery as ``synthgen render``. The renderer (fonts, corpus) is
opened only when a page first asks for one.
"""

from __future__ import annotations

import numpy as np

from synthtext.render.config import RenderConfig
from synthtext.render.renderer import Renderer

from .normalise import LineInk, prepare


class PrintedLines:
    """Rendered lines by index: ``(ink, text, font id)``; same index, same line.

    Lines come from ``RenderConfig(layout="line")`` with the embedded corpus and fonts,
    40-48 px fonts on 64-72 px images, no rotation, skew or cursive fonts; headings are
    1-5 words, print lines 3-8. ``ref_body`` is the body height (px) their ink is made at.
    """

    def __init__(self, seed: int, ref_body: float):
        self.seed, self.ref_body = seed, ref_body
        self._renderers = {}

    def _renderer(self, kind: str):
        r = self._renderers.get(kind)
        if r is None:
            length = (1, 5) if kind == "heading" else (3, 8)
            cfg = RenderConfig(layout="line", length=length, font_size=(40, 48),
                               line_height=(64, 72), rotation={0: 1.0}, skew=0.0,
                               cursive_ratio=0.0, seed=self.seed)
            r = self._renderers[kind] = Renderer(cfg)
        return r

    def line(self, kind: str, index: int) -> tuple[LineInk, str, str] | None:
        """Line ``index`` of ``kind`` (``"heading"`` or ``"line"``): its ink at
        ``ref_body`` px, its text (whitespace normalised) and font id; None when the
        rendered line yields no ink."""
        sample = self._renderer(kind).sample("train", index)
        image = sample.image if sample.image.ndim == 2 else sample.image.mean(axis=2)
        prep = prepare(np.ascontiguousarray(image, dtype=np.uint8), self.ref_body)
        if isinstance(prep, str) or not sample.lines:
            return None
        text = " ".join(sample.lines[0].text.split())
        return prep, text, (sample.meta.get("font") or {}).get("id", "")

"""Render throughput per core, JPEG encoding and shard writing included.

    python benchmarks/bench_render.py [--pages 100] [--lines 1000]

Prints pages/s for ~1024x1024 pages of ~20 lines and lines/s for 10-word, 64-px single-line
images, each rendered into a real shard in one process (one core). As a baseline measured
in the same process, the line task is also drawn character by character (how TRDG,
SynthTIGER and SynthDoG draw), and the ratio is printed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from synthtext.dataset.runner import ShardTask, run_shard
from synthtext.render.config import RenderConfig
from synthtext.render.generate import RenderJob

_WIKI = Path(__file__).resolve().parents[2] / "shared/data/corpora/wikitext-2-raw.test.txt"
CORPUS = ((str(_WIKI), 1.0),) if _WIKI.exists() else ()  # else the small embedded corpus
PAGE = RenderConfig(corpora=CORPUS, width=(1024, 1024), height=(1024, 1024), margin=(0.04, 0.05),
                    font_size=(28, 31), line_spacing=(1.1, 1.2), block_width=(1.0, 1.0),
                    length_unit="lines", length=(20, 20), paragraph_break=0.0, skew=0.3)
LINE = RenderConfig(corpora=CORPUS, layout="line", length=(10, 10), line_height=(64, 64), font_size=(36, 44),
                    rotation={0: 1.0}, skew=0.0)


def shard_rate(cfg: RenderConfig, n: int) -> tuple[float, float]:
    """Samples/s and mean lines per sample for rendering ``n`` samples into one shard."""
    job = RenderJob.create(cfg)
    job.build().sample("train", 0)  # warm-up: fonts, charsets, corpus index
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        stats = run_shard(ShardTask(job, out, "train", 0, 0, n, "jpg", 90))
        dt = time.perf_counter() - t0
    lines = sum(int(k) * v for k, v in stats["lines"].items()) / n
    return n / dt, lines


def char_by_char_rate(n: int) -> float:
    """Baseline: the same 10-word lines drawn one character at a time, as TRDG does."""
    renderer = RenderJob.create(LINE).build()
    samples = [renderer.sample("train", i) for i in range(min(n, 200))]
    jobs = [(renderer.fonts.font(_font_index(renderer, s), s.meta["params"]["font_size"]),
             s.text) for s in samples]  # Pillow fonts, drawn one character at a time
    t0 = time.perf_counter()
    for k in range(n):
        font, text = jobs[k % len(jobs)]
        widths = [font.getlength(c) for c in text]
        w = int(sum(widths)) + 20
        img = Image.new("L", (w, 64), 255)
        draw = ImageDraw.Draw(img)
        x = 10.0
        for c, cw in zip(text, widths):
            draw.text((x, 50), c, font=font, fill=0, anchor="ls")
            x += cw
        ok, buf = cv2.imencode(".jpg", np.asarray(img), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return n / (time.perf_counter() - t0)


def _font_index(renderer, sample) -> int:
    ids = [s.id for s in renderer.fonts.specs]
    return ids.index(sample.meta["font"]["id"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=100)
    ap.add_argument("--lines", type=int, default=1000)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    print(f"corpus: {CORPUS[0][0] if CORPUS else 'embedded sample corpus'}")
    pages, page_lines = shard_rate(PAGE, args.pages)
    print(f"pages: {pages:.1f} pages/s per core (1024x1024, {page_lines:.1f} lines/page, "
          f"JPEG q90 + shard)  target >= 25")
    lines, _ = shard_rate(LINE, args.lines)
    print(f"lines: {lines:.0f} lines/s per core (10 words, 64 px, JPEG q90 + shard)  "
          "target >= 400")
    base = char_by_char_rate(max(100, args.lines // 4))
    print(f"baseline char-by-char drawing (no shard writing): {base:.0f} lines/s; "
          f"whole-line rendering is {lines / base:.1f}x faster")


if __name__ == "__main__":
    main()

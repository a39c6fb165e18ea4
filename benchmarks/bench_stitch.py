"""Stitching throughput per core: 8-line pages from 2000-px-wide crops, JPEG + shards included.

    python benchmarks/bench_stitch.py [--pages 300] [--crops 600] [--crop-format png|jpg]

Makes ``--crops`` synthetic 2000 x ~150 px line crops (script text on grey paper of varying
tone with scanner noise, a stray stroke at the top edge) in a temporary folder, then
stitches ``--pages`` 8-line pages into a real shard in one process (one core): decoding,
crop analysis, scaling, blending, JPEG encoding and tar writing all included. Reported
twice: *cold*, every crop decoded and analysed again (the crop cache disabled: the first
pass over a large set such as IAM's ~6,000 training lines), and *warm*, crops analysed
once and kept (the steady state of a long run: a prepared crop's alpha is ~40-60 KB, kept
zlib-compressed at ~10-15 KB, and the cache holds up to ``CACHE_BYTES``). Rates are pages per CPU-second of this process (per core,
robust to other load on the machine) and per wall-clock second.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from stitcher.config import StitchConfig
from stitcher.generate import _STITCHERS, StitchJob
from synthtext.dataset import runner
from synthtext.dataset.runner import ShardTask, run_shard

WORDS = ("the quick brown fox jumps over a lazy dog while seven wizards quietly hex "
         "jolly botanical gardens in distant valleys of amber and fern").split()


def make_crops(folder: Path, n: int, width: int = 2000, seed: int = 0, fmt: str = "png") -> Path:
    """``n`` synthetic handwriting-like crops and a TSV line list naming them."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        h = int(rng.integers(130, 170))
        paper = int(rng.integers(170, 235))
        img = np.full((h, width), paper, np.uint8)
        img = cv2.add(img, rng.normal(0, 3, img.shape).astype(np.int8), dtype=cv2.CV_8U)
        text, x = [], 10
        while True:
            w = str(rng.choice(WORDS))
            (tw, _), _ = cv2.getTextSize(w, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 2.2, 3)
            if x + tw > width - 10:
                break
            text.append(w)
            cv2.putText(img, w, (x, h // 2 + 25), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 2.2,
                        int(rng.integers(20, 80)), 3, cv2.LINE_AA)
            x += tw + int(rng.integers(25, 45))
        cv2.line(img, (int(rng.integers(0, width - 200)), 0),
                 (int(rng.integers(0, width - 200)), 12), 60, 3)  # a neighbour's descender
        name = f"crop{i:05d}.{fmt}"
        cv2.imwrite(str(folder / name), img, [cv2.IMWRITE_JPEG_QUALITY, 90] if fmt == "jpg" else [])
        rows.append(f"{name}\t{' '.join(text)}\tw{i % 40}")
    lines = folder / "lines.tsv"
    lines.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return lines


def pages_per_second(lines: Path, pages: int, cached: bool) -> tuple[float, float]:
    """(pages per CPU second, pages per wall second) for one shard of ``pages`` pages."""
    cfg = StitchConfig(lines=str(lines), page_lines=(8, 8), same_document=0.0)
    job = StitchJob.create(cfg)
    _STITCHERS.clear()
    runner._BUILT.clear()  # the runner's per-process generator cache
    gen = job.build()
    if cached:
        for i in range(len(job.index.records)):
            gen.prepared(i)
    else:
        gen._cache_bytes = 0
    gen.sample("train", 10**6)  # warm-up: imports, first allocations
    with tempfile.TemporaryDirectory() as out:
        c0, t0 = time.process_time(), time.perf_counter()
        run_shard(ShardTask(job, out, "train", 0, 0, pages, "jpg", 90))
        return pages / (time.process_time() - c0), pages / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--crops", type=int, default=400)
    ap.add_argument("--crop-format", choices=["png", "jpg"], default="png")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        lines = make_crops(Path(tmp), args.crops, fmt=args.crop_format)
        print(f"made {args.crops} {args.crop_format} crops, 2000 px wide, in "
              f"{time.perf_counter() - t0:.1f} s")
        cold = pages_per_second(lines, args.pages, cached=False)
        warm = pages_per_second(lines, args.pages, cached=True)
    print(f"8-line pages from 2000-px {args.crop_format} crops, JPEG q90 + shard, one process:")
    print(f"  cold (every crop decoded + analysed): {cold[0]:6.1f} pages/CPU-s "
          f"({cold[1]:.1f} pages/wall-s)")
    print(f"  warm (crops analysed once, cached):   {warm[0]:6.1f} pages/CPU-s "
          f"({warm[1]:.1f} pages/wall-s)")
    print(f"  target >= 40 pages/s per core: cold {'met' if cold[0] >= 40 else 'NOT met'}, "
          f"warm {'met' if warm[0] >= 40 else 'NOT met'}")


if __name__ == "__main__":
    main()

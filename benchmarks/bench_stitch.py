"""Stitching throughput per core: 8-line pages from 2000-px-wide crops, JPEG + shards included.

    python benchmarks/bench_stitch.py [--pages 300] [--crops 600] [--crop-format png|jpg]
    python benchmarks/bench_stitch.py --format pagexml [--pages 300] [--source-pages 40]

Makes ``--crops`` synthetic 2000 x ~150 px line crops (script text on grey paper of varying
tone with scanner noise, a stray stroke at the top edge) in a temporary folder, then
stitches ``--pages`` 8-line pages into a real shard in one process (one core): decoding,
crop analysis, scaling, blending, JPEG encoding and tar writing all included. Reported
twice: *cold*, every crop decoded and analysed again (the crop cache disabled: the first
pass over a large set such as IAM's ~6,000 training lines), and *warm*, crops analysed
once and kept (the steady state of a long run: a prepared crop's alpha is ~40-60 KB, kept
zlib-compressed at ~10-15 KB, and the cache holds up to ``CACHE_BYTES``). Rates are pages per CPU-second of this process (per core,
robust to other load on the machine) and per wall-clock second.

``--format pagexml`` stitches from ``--source-pages`` synthetic 2000 x 2800 px JPEG pages
with PAGE-XML (20 lines each, polygons a little wider than the ink) instead, and from the
shared Hooker pages (``../shared/data/handwriting/hooker-pages``) when present. There a
crop is cut from its page, so *cold* is the first pass: a fresh stitcher makes as many
pages as it takes to use each line once on average (lines / 8), decoding every page image
once and analysing every line it cuts; *warm* is as above.
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

HOOKER = Path(__file__).resolve().parents[2] / "shared/data/handwriting/hooker-pages"
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


def make_pages(folder: Path, n: int, lines: int = 20, seed: int = 0) -> Path:
    """``n`` synthetic 2000 x 2800 px JPEG pages of ``lines`` lines with PAGE-XML 2019."""
    rng = np.random.default_rng(seed)
    ns = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
    for p in range(n):
        img = np.full((2800, 2000), int(rng.integers(180, 230)), np.uint8)
        img = cv2.add(img, rng.normal(0, 3, img.shape).astype(np.int8), dtype=cv2.CV_8U)
        xml = []
        for k in range(lines):
            y, text, x = 150 + 125 * k, [], 60
            while True:
                w = str(rng.choice(WORDS))
                (tw, _), _ = cv2.getTextSize(w, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 2.2, 3)
                if x + tw > 1940:
                    break
                cv2.putText(img, w, (x, y), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 2.2,
                            int(rng.integers(20, 80)), 3, cv2.LINE_AA)
                text.append(w)
                x += tw + int(rng.integers(25, 45))
            top, bottom = y - 75 + int(rng.integers(-8, 8)), y + 45 + int(rng.integers(-8, 8))
            pts = (f"40,{top} 1000,{top - 5} 1960,{top} 1960,{bottom} 1000,{bottom + 5} "
                   f"40,{bottom}")
            xml.append(f'<TextLine id="l{k}"><Coords points="{pts}"/><TextEquiv><Unicode>'
                       f"{' '.join(text)}</Unicode></TextEquiv></TextLine>")
        name = f"page{p:04d}"
        cv2.imwrite(str(folder / f"{name}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        (folder / f"{name}.xml").write_text(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<PcGts xmlns="{ns}"><Page imageFilename='
            f'"{name}.jpg" imageWidth="2000" imageHeight="2800"><TextRegion id="r1">'
            f'<Coords points="0,0 2000,0 2000,2800 0,2800"/>{"".join(xml)}</TextRegion>'
            "</Page></PcGts>\n", encoding="utf-8")
    return folder


def pages_per_second(lines: Path, pages: int, cached: bool | None,
                     fmt: str = "auto") -> tuple[float, float]:
    """(pages per CPU second, pages per wall second) for one shard of ``pages`` pages;
    ``cached`` True: crops analysed beforehand, False: cache off, None: an empty cache
    (first pass)."""
    cfg = StitchConfig(lines=str(lines), format=fmt, page_lines=(8, 8), same_document=0.0)
    job = StitchJob.create(cfg)
    _STITCHERS.clear()
    runner._BUILT.clear()  # the runner's per-process generator cache
    gen = job.build()
    if cached:
        for i in range(len(job.index.records)):
            gen.prepared(i)
    elif cached is not None:
        gen._cache_bytes = 0
    gen.sample("train", 10**6)  # warm-up: imports, first allocations
    if cached is None:  # first pass: forget the warm-up's crops
        gen._cache.clear()
        gen._cached = 0
    with tempfile.TemporaryDirectory() as out:
        c0, t0 = time.process_time(), time.perf_counter()
        run_shard(ShardTask(job, out, "train", 0, 0, pages, "jpg", 90))
        return pages / (time.process_time() - c0), pages / (time.perf_counter() - t0)


def bench_pages(folder: Path, pages: int, label: str) -> None:
    """Print cold (first pass) and warm rates for the PAGE-XML pages in ``folder``."""
    n_lines = len(StitchJob.create(StitchConfig(lines=str(folder), format="pagexml"))
                  .index.records)
    first = max(1, n_lines // 8)
    cold = pages_per_second(folder, first, None, "pagexml")
    warm = pages_per_second(folder, pages, True, "pagexml")
    print(f"8-line pages from {label} ({n_lines} lines), JPEG q90 + shard, one process:")
    print(f"  cold (first pass, {first} pages; each page image decoded once): "
          f"{cold[0]:6.1f} pages/CPU-s ({cold[1]:.1f} pages/wall-s)")
    print(f"  warm (crops analysed once, cached): {warm[0]:6.1f} pages/CPU-s "
          f"({warm[1]:.1f} pages/wall-s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--crops", type=int, default=400)
    ap.add_argument("--crop-format", choices=["png", "jpg"], default="png")
    ap.add_argument("--format", choices=["crops", "pagexml"], default="crops")
    ap.add_argument("--source-pages", type=int, default=40)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    if args.format == "pagexml":
        with tempfile.TemporaryDirectory() as tmp:
            bench_pages(make_pages(Path(tmp), args.source_pages), args.pages,
                        f"{args.source_pages} synthetic PAGE-XML pages")
        if HOOKER.is_dir():
            bench_pages(HOOKER, args.pages, "the Hooker pages")
        return
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

"""Pages per second per core of each augment preset on a 1024x1024 grayscale page.

    python benchmarks/bench_augment.py [--pages 100] [--size 1024] [--op-reps 20]

Prints, single-threaded (cv2.setNumThreads(1), as the data workers run): pages/s of each
preset after a warm-up, both per CPU-second ("per core", unaffected by other processes on a
shared machine) and per wall-clock second; the mean ms of every op when applied; and, when
``augraphy`` is importable, its default pipeline's pages per CPU-second on the same pages
and our ratio to it.
Targets: medium >= 60 pages/s, heavy >= 25 pages/s.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time

import cv2
import numpy as np

import augment

WORDS = ("the quick brown fox jumps over a lazy dog while seven wizards hex many "
         "jolly boxing frogs quietly under grey autumn skies").split()


def synthetic_page(size: int = 1024, seed: int = 0):
    """A light page with lines of dark Hershey text, and each line's quad."""
    rng = np.random.default_rng(seed)
    img = np.full((size, size), 245, np.uint8)
    quads = []
    scale, line_h, margin = size / 1024.0, int(34 * size / 1024), int(60 * size / 1024)
    y = margin + line_h
    while y < size - margin:
        text = " ".join(rng.choice(WORDS, 8))
        font = cv2.FONT_HERSHEY_SCRIPT_SIMPLEX if rng.random() < 0.5 else cv2.FONT_HERSHEY_SIMPLEX
        (tw, th), base = cv2.getTextSize(text, font, 0.9 * scale, 2)
        tw = min(tw, size - 2 * margin)
        cv2.putText(img, text, (margin, y), font, 0.9 * scale, 25, 2, cv2.LINE_AA)
        x0, y0, x1, y1 = margin, y - th - 2, margin + tw, y + base + 2
        quads.append([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        y += line_h
    img[:, size - margin:] = 245  # text cut at the right margin, like a real page
    return img, np.asarray(quads, dtype=np.float64)


def bench_preset(name: str, pages, quads, n: int) -> tuple[float, float]:
    """(wall-clock pages/s, pages per CPU-second) of preset ``name`` over ``n`` pages."""
    pipe = augment.preset(name)
    for i in range(5):  # warm-up: caches, lazy imports
        pipe(pages[i % len(pages)], np.random.default_rng(10_000 + i), quads)
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(n):
        pipe(pages[i % len(pages)], np.random.default_rng(i), quads)
    return n / (time.perf_counter() - t0), n / (time.process_time() - c0)


def bench_ops(page, quads, reps: int) -> list[tuple[str, float]]:
    """Mean CPU ms of each op's ``apply`` over ``reps`` sampled params."""
    rows = []
    for name, cls in sorted(augment.OPS.items()):
        op = cls()
        params = [op.sample(np.random.default_rng(i), page.shape, quads) for i in range(reps)]
        op.apply(page, params[0])
        c0 = time.process_time()
        for p in params:
            op.apply(page, p)
        rows.append((name, (time.process_time() - c0) / reps * 1000.0))
    return rows


def bench_augraphy(pages, n: int):
    """(pages/s, failed pages, last error) of augraphy's default pipeline, or None if absent.

    Some of its effects fetch fonts from the internet and fail offline; those pages are
    not timed but counted, so the comparison still runs.
    """
    try:  # optional third-party comparison, imported only when this benchmark runs
        from augraphy import default_augraphy_pipeline
    except Exception:  # not installed (it is optional): skip the comparison
        return None
    random.seed(0)  # augraphy draws from the global RNGs
    np.random.seed(0)
    spent, done, failed, error = 0.0, 0, 0, ""  # spent: CPU seconds of the timed pages
    home = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)  # it writes an ./augraphy_cache of pages; keep that out of the repo
        try:
            pipe = default_augraphy_pipeline()
            for i in range(n + 1):
                t0 = time.process_time()
                try:
                    pipe(pages[i % len(pages)])
                except Exception as e:  # noqa: BLE001 - report and go on
                    failed, error = failed + 1, f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
                    continue
                if i > 0:  # the first page is a warm-up
                    spent, done = spent + time.process_time() - t0, done + 1
        finally:
            os.chdir(home)
    return (done / spent if done else 0.0), failed, error


def main(argv=None) -> int:
    """Run the benchmark with the command-line options above and print the table; returns 0."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=100, help="timed pages per preset (>= 50)")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--op-reps", type=int, default=20)
    ap.add_argument("--augraphy-pages", type=int, default=10, help="timed augraphy pages (it is slow)")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    pages = [synthetic_page(args.size, s)[0] for s in range(4)]
    quads = synthetic_page(args.size, 0)[1]
    print(f"augment benchmark: {args.size}x{args.size} grayscale, 1 thread, {args.pages} pages/preset")
    print("  (per core = pages per CPU-second, robust to other load; wall = pages per elapsed second)")
    rates = {}
    for name in augment.PRESETS:
        wall, rates[name] = bench_preset(name, pages, quads, args.pages)
        target = {"medium": 60, "heavy": 25}.get(name)
        note = f"  target >= {target}: {'ok' if rates[name] >= target else 'MISSED'}" if target else ""
        print(f"  preset {name:7s} {rates[name]:8.1f} pages/s per core ({1000 / rates[name]:6.2f} ms)"
              f"   wall {wall:8.1f} pages/s{note}")
    print("per-op apply CPU time (ms, mean over sampled params):")
    for name, ms in bench_ops(pages[0], quads, args.op_reps):
        print(f"  {name:18s} {ms:6.2f}")
    result = bench_augraphy(pages, args.augraphy_pages)
    if result is None:
        print("augraphy: not importable, comparison skipped")
        return 0
    aug, failed, error = result
    if failed:
        print(f"augraphy: {failed} page(s) failed and were not timed ({error})")
    if aug > 0:
        print(f"augraphy default pipeline: {aug:.2f} pages/s; medium is {rates['medium'] / aug:.0f}x, "
              f"heavy {rates['heavy'] / aug:.0f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())

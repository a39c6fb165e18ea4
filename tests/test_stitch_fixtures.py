"""Synthetic handwriting-like line crops and IAM/line-list layouts for the stitcher tests.

Crops are script text drawn with OpenCV on paper of varying tone, with scanner noise and a
stray stroke at the top edge (a neighbouring line's descender), as real crops have.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from synthtext.dataset.shards import AtomicTarWriter

WORDS = ("move stop gaitskell from nominating any more labour life peers is to be made "
         "at meeting of tomorrow the claims botanical candidates").split()


def crop_image(rng, text: str, paper: int, ink: int, stray: bool = True) -> np.ndarray:
    """A grey line crop of ``text`` (a little taller than the writing, like a real crop)."""
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.1, 2)
    h, w = th + base + 34, tw + int(rng.integers(16, 40))
    img = np.full((h, w), paper, np.uint8)
    noise = rng.normal(0, 2.0, img.shape)
    img = np.clip(img + noise, 0, 255).astype(np.uint8)
    x0 = int(rng.integers(4, 14))
    cv2.putText(img, text, (x0, 17 + th), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.1, ink, 2,
                cv2.LINE_AA)
    if stray:
        x = int(rng.integers(0, max(1, w - 30)))
        cv2.line(img, (x, 0), (x + 18, 5), ink, 2)
    return img


def random_text(rng, n_words=(2, 5)) -> str:
    k = int(rng.integers(n_words[0], n_words[1] + 1))
    return " ".join(str(w) for w in rng.choice(WORDS, size=k))


def write_tsv(folder: Path, n: int, writers: int = 4, seed: int = 0, header: bool = False,
              ext: str = "png") -> tuple[Path, dict]:
    """``n`` crops + ``lines.tsv`` (image, text, writer, document); returns id -> row."""
    rng = np.random.default_rng(seed)
    (folder / "img").mkdir(parents=True, exist_ok=True)
    rows, info = [], {}
    for i in range(n):
        writer = f"w{i % writers}"
        doc = f"{writer}-d{(i // writers) % 2}"
        text = random_text(rng)
        img = crop_image(rng, text, paper=int(rng.integers(150, 245)),
                         ink=int(rng.integers(10, 70)))
        name = f"img/{writer}_{i:03d}.{ext}"
        cv2.imwrite(str(folder / name), img)
        rows.append(f"{name}\t{text}\t{writer}\t{doc}")
        info[name.rsplit(".", 1)[0]] = {"text": text, "writer": writer, "doc": doc}
    lines = (["image\ttext\twriter\tdocument"] if header else []) + rows
    path = folder / "lines.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, info


IAM_ROWS = [
    # id, status, text as in lines.txt, writer
    ("a01-000u-00", "ok", "A|MOVE|to|stop|Mr.|Gaitskell|from", "000"),
    ("a01-000u-01", "ok", "nominating|any|more|Labour|life|Peers", "000"),
    ("a01-000u-02", "err", "is|to|be|made|at|a|meeting", "000"),
    ("a01-000u-03", "ok", "of|Labour|M|Ps|tomorrow|.|Mr.|Michael", "000"),
    ("a01-003-00", "ok", "Though|they|may|gather|some", "001"),
    ("a01-003-01", "ok", "Left-wing|support|,|a|large", "001"),
    ("b02-010-00", "ok", "The|claims|of|the|botanical", "002"),
    ("b02-010-01", "ok", "candidates|for|F.R.S.|&|I|gave", "002"),
    ("c03-020-00", "ok", "days|ago|,|asking|my|opinion", "003"),
    ("c03-020-01", "ok", "of|them|\"|said|he|\"", "003"),
]


def write_iam(root: Path, seed: int = 0, skip_image: str | None = "a01-003-01") -> Path:
    """An IAM-shaped tree: ascii/lines.txt, ascii/forms.txt, lines/a01/a01-000u/*.png,
    and split files by form (train: a01, b02; test: c03)."""
    rng = np.random.default_rng(seed)
    (root / "ascii").mkdir(parents=True, exist_ok=True)
    out = ["#--- lines.txt ---", "# format: a01-000u-00 ok 154 19 408 746 1661 89 A|MOVE|..."]
    forms = {}
    for line_id, status, text, writer in IAM_ROWS:
        out.append(f"{line_id} {status} 154 19 408 746 1661 89 {text}")
        form = "-".join(line_id.split("-")[:2])
        forms[form] = writer
        if line_id == skip_image:
            continue  # a line whose image is missing
        path = root / "lines" / line_id[:3] / form / f"{line_id}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), crop_image(rng, text.replace("|", " ")[:30],
                                          paper=int(rng.integers(170, 240)), ink=30))
    (root / "ascii" / "lines.txt").write_text("\n".join(out) + "\n", encoding="ascii")
    (root / "ascii" / "forms.txt").write_text(
        "#--- forms.txt ---\n" + "".join(f"{f} {w} 2 prt 7 5 52 36\n" for f, w in forms.items()),
        encoding="ascii")
    (root / "trainset.txt").write_text("a01-000u\na01-003\nb02-010\n", encoding="ascii")
    (root / "testset.txt").write_text("c03-020\n", encoding="ascii")
    return root


def write_wds(path: Path, n: int, seed: int = 0) -> dict:
    """A WebDataset tar of line samples (png + txt + json with writer)."""
    rng = np.random.default_rng(seed)
    info = {}
    with AtomicTarWriter(path) as w:
        for i in range(n):
            text = random_text(rng)
            img = crop_image(rng, text, paper=200, ink=30)
            key = f"line-{i:04d}"
            w.write({"__key__": key, "png": cv2.imencode(".png", img)[1].tobytes(),
                     "txt": text.encode(), "json": json.dumps({"writer": f"w{i % 2}"}).encode()})
            info[key] = text
    return info

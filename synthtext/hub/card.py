"""The dataset card (``README.md``) that makes a shard directory a Hugging Face dataset repo.

Everything in it comes from ``dataset.json``, so the same dataset info and options always give
the same bytes (no dates): YAML front matter the Hub and ``datasets`` read (license, task,
size, and ``configs`` whose ``data_files`` name exactly the shards of each split, so
``README.md``, ``dataset.json`` and ``assets/preview.png`` are never taken for data), then
how the data was made, its statistics, a preview grid and how to load it. The options used
are kept in a comment so ``synthgen publish`` can regenerate the card the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import yaml

from synthtext.dataset.errors import UserError
from synthtext.dataset.info import INFO_FILE, read_info, write_bytes_atomic
from synthtext.dataset.names import check_split_name
from synthtext.preview import preview_sheet
from synthtext.render.config import embedded_corpus_path

README = "README.md"
PREVIEW = "assets/preview.png"
TAGS = ["synthetic", "handwriting", "ocr", "webdataset", "synthgen"]
_MARKER = re.compile(r"<!-- synthgen-card (\{.*?\}) -->")
LICENSE_ID = re.compile(r"^[a-z0-9][a-z0-9.+-]*$")  # the Hub's license ids: cc-by-4.0, other
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")  # ISO 639-1/3 + BCP 47 subtags
_SIZES = [(10 ** 3, "n<1K"), (10 ** 4, "1K<n<10K"), (10 ** 5, "10K<n<100K"),
          (10 ** 6, "100K<n<1M"), (10 ** 7, "1M<n<10M"), (10 ** 8, "10M<n<100M"),
          (10 ** 9, "100M<n<1B"), (10 ** 10, "1B<n<10B"), (10 ** 11, "10B<n<100B"),
          (10 ** 12, "100B<n<1T")]


@dataclass
class Card:
    """A dataset card: the ``README.md`` text and the preview grid as PNG bytes (or None)."""

    readme: str
    preview_png: bytes | None


def size_category(n: int) -> str:
    """The Hub's ``size_categories`` label for ``n`` samples, e.g. 5000 -> ``1K<n<10K``."""
    return next((label for limit, label in _SIZES if n < limit), "n>1T")


def complete_info(out: str | os.PathLike) -> dict:
    """The dataset info of the shard directory ``out``, which must be a finished run.

    Raises:
        UserError: no dataset.json, its status is not ``complete``, or a split name that
            Hugging Face cannot load (made before split names were checked, e.g. ``v1.0``).
    """
    m = read_info(out)
    if m is None:
        raise UserError(f"{out}: no {INFO_FILE}; a card is made from a synthgen shard directory")
    if m.get("status") != "complete":
        raise UserError(f"{out}: {INFO_FILE} says the run is {m.get('status')!r}; finish it "
                        "(rerun the same command) before making a card or publishing")
    for split in m.get("splits", {}):
        check_split_name(split, f"{out}: made with --split")
    return m


def card_options(out: str | os.PathLike) -> dict | None:
    """The options an existing synthgen card was made with; None if README.md is absent or
    was not written by synthgen."""
    path = Path(out) / README
    if not path.exists():
        return None
    match = _MARKER.search(path.read_text(encoding="utf-8", errors="replace"))
    return json.loads(match.group(1)) if match else None


def check_card_options(license: str | None = None, language: str = "en",
                       pretty_name: str | None = None) -> None:
    """Refuse card options the Hub's YAML cannot hold: a license id other than lowercase
    letters, digits, ``.``, ``+`` and ``-`` (``cc-by-sa-4.0``), a language that is not an
    ISO 639 code with optional subtags (``en``, ``pt-BR``), an empty or multi-line title.

    Raises:
        UserError: naming the option (``--license``, ``--language``, ``--pretty-name``).
    """
    if license is not None and not LICENSE_ID.match(license):
        raise UserError(f"--license {license!r} is not a Hub license id (lowercase letters, "
                        "digits, '.', '+', '-'; e.g. cc-by-4.0, apache-2.0, other)")
    if not LANGUAGE.match(language or ""):
        raise UserError(f"--language {language!r} is not a language code (e.g. en, de, pt-BR)")
    if pretty_name is not None and (not pretty_name.strip() or not pretty_name.isprintable()):
        raise UserError(f"--pretty-name {pretty_name!r}: give a non-empty title on one line")


def build_card(out: str | os.PathLike, *, license: str | None = None, language: str = "en",
               pretty_name: str | None = None, repo_id: str | None = None,
               preview: bool = True) -> Card:
    """The card text and preview PNG for the shard directory ``out`` (nothing is written).

    Raises:
        UserError: as :func:`check_card_options` and :func:`complete_info`.
    """
    check_card_options(license, language, pretty_name)
    m = complete_info(out)
    src = _source_info(m)
    lic, why = default_license(src) if license is None else (license, "Chosen by the publisher.")
    opts = {"license": license, "language": language, "pretty_name": pretty_name,
            "repo_id": repo_id, "preview": preview}
    name = pretty_name or Path(out).resolve().name
    png = _preview_png(out, m) if preview else None
    front = _front_matter(m, lic, language, name)
    body = _body(m, src, name, lic, why, repo_id, Path(out).resolve().name, png is not None)
    marker = f"<!-- synthgen-card {json.dumps(opts, sort_keys=True)} -->"
    return Card(f"---\n{front}---\n\n{marker}\n\n{body}", png)


def write_card(out: str | os.PathLike, **options) -> list[Path]:
    """Write ``README.md`` (and ``assets/preview.png``) atomically; returns the paths."""
    card = build_card(out, **options)
    written = []
    if card.preview_png is not None:
        written.append(write_bytes_atomic(Path(out) / PREVIEW, card.preview_png))
    written.append(write_bytes_atomic(Path(out) / README, card.readme.encode("utf-8")))
    return written


def _source_info(m: dict) -> dict:
    """The dataset info that lists corpora and fonts: this one, or for an augmented copy the
    input it was made from (when that directory is still here and unchanged)."""
    for _ in range(8):
        inp = m.get("config", {}).get("input") or {}
        if m.get("config", {}).get("corpora") or not inp.get("dir"):
            return m
        parent = read_info(inp["dir"]) if Path(inp["dir"]).is_dir() else None
        if parent is None or parent.get("config_sha256") != inp.get("config_sha256"):
            return m
        m = parent
    return m


def default_license(src: dict) -> tuple[str, str]:
    """(Hub license id, one-paragraph reason) for data made from the dataset info ``src``:
    CC BY-SA 4.0 when a corpus is WikiText (share-alike), else ``other``."""
    corpora = src.get("config", {}).get("corpora", [])
    if any(c.get("format") == "wikitext" for c in corpora):
        return "cc-by-sa-4.0", ("The labels (and the text drawn in the images) come from "
                                "WikiText, which is CC BY-SA 4.0; derived data shares it.")
    return "other", ("The images are synthetic. Their text comes from the corpora listed "
                     "above and is under those corpora's terms; the fonts are under the "
                     "licenses listed above. Check both before redistributing.")


def _front_matter(m: dict, lic: str, language: str, name: str) -> str:
    files = [{"split": s, "path": f"{s}-[0-9]*.tar"} for s in m["splits"]]
    meta = {"license": lic, "task_categories": ["image-to-text"], "language": [language],
            "size_categories": [size_category(m["stats"]["samples"])], "pretty_name": name,
            "tags": TAGS, "configs": [{"config_name": "default", "data_files": files}]}
    return yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)


def _preview_png(out, m: dict) -> bytes | None:
    n = min(12, m["stats"]["samples"])
    if n == 0:
        return None
    sheet = preview_sheet(str(out), n=n, columns=4, cell_width=320)
    bgr = sheet if sheet.ndim == 2 else cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    return buf.tobytes() if ok else None


def _body(m, src, name, lic, why, repo_id, dirname, has_preview) -> str:
    st, kind = m["stats"], m.get("generator", {}).get("command", "render")
    splits = ", ".join(f"{s} {v['samples']:,}" for s, v in m["splits"].items())
    n_shards = sum(len(v.get("shards", [])) for v in m["splits"].values())
    parts = [f"# {name}\n",
             f"Synthetic text images with exact transcriptions for handwriting and OCR models, "
             f"made by synthgen `{kind}`: {st['samples']:,} samples "
             f"({splits}) in {n_shards} WebDataset shards. Each label is exactly the text "
             "visible in its image, line breaks and indentation included.\n"]
    if has_preview:
        parts.append(f"![The first samples with their labels]({PREVIEW})\n")
    parts += _made(m, src) + _stats(m, src) + _loading(m, repo_id, dirname)
    parts += ["## License\n", f"`{lic}`. {why}\n"]
    return "\n".join(parts)


def _made(m: dict, src: dict) -> list[str]:
    cfg, gen = m.get("config", {}), m.get("generator", {})
    seed = (cfg.get("render") or {}).get("seed", cfg.get("seed"))
    rows = [("command", f"`synthgen {gen.get('command', '?')}`"),
            ("generator", f"{gen.get('name', 'synthgen')} {gen.get('version', '?')}"),
            ("seed", seed), ("image format", cfg.get("image_format")),
            ("layout", (cfg.get("render") or {}).get("layout")),
            ("augmentation", (cfg.get("render") or {}).get("augment", cfg.get("augment"))),
            ("config sha256", f"`{m.get('config_sha256', '')}`")]
    out = ["## How it was made\n", _table(["", ""], [r for r in rows if r[1] is not None])]
    if src is not m:
        out.append(f"An augmented copy of a `synthgen {src['generator'].get('command')}` "
                   f"dataset (config sha256 `{src.get('config_sha256')}`); the corpora and "
                   "fonts below are that dataset's.\n")
    corpora = src.get("config", {}).get("corpora", [])
    if corpora:
        out += ["### Corpora\n", _table(["name", "format", "bytes", "weight", "license", "sha256"],
                [(c.get("name"), c.get("format"), f"{c.get('bytes', 0):,}", c.get("weight"),
                  _corpus_license(c), f"`{c.get('sha256')}`") for c in corpora])]
    fonts = (src.get("config", {}).get("fonts") or {}).get("list", [])
    if fonts:
        out += ["### Fonts\n", _table(["id", "family", "category", "license", "sha256"],
                [(f.get("id"), f.get("family"), f.get("category"), f.get("license"),
                  f"`{(f.get('sha256') or '')[:16]}…`") for f in fonts])]
    out += ["<details><summary>Full configuration</summary>\n", "```json",
            json.dumps(_public(cfg), indent=1, sort_keys=True, ensure_ascii=False), "```",
            "</details>\n"]
    return out


def _corpus_license(c: dict) -> str:
    if c.get("format") == "wikitext":
        return "CC BY-SA 4.0 (WikiText)"
    embedded = hashlib.sha256(Path(embedded_corpus_path()).read_bytes()).hexdigest()
    return "Apache-2.0 (synthgen sample text)" if c.get("sha256") == embedded else "see source"


def _public(obj):
    """The config without this machine's directories: absolute paths become file names."""
    if isinstance(obj, dict):
        return {k: _public(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_public(v) for v in obj]
    if isinstance(obj, str) and os.path.isabs(obj):
        return os.path.basename(obj.rstrip("/\\"))
    return obj


def _stats(m: dict, src: dict) -> list[str]:
    st = m["stats"]
    n = max(st["samples"], 1)
    rows = [(s, f"{v['samples']:,}", len(v.get("shards", [])),
             f"{sum(sh.get('bytes', 0) for sh in v.get('shards', [])):,}")
            for s, v in m["splits"].items()]
    chars = "".join(sorted(st.get("label_chars", {})))
    out = ["## Statistics\n", _table(["split", "samples", "shards", "bytes"], rows),
           f"{st.get('characters', 0):,} label characters, {len(chars)} distinct, "
           f"{st.get('characters', 0) / n:.1f} per sample on average.\n",
           "<details><summary>Character set</summary>\n", "```json",
           json.dumps(chars, ensure_ascii=False), "```", "</details>\n",
           "### Label length (characters)\n", _shares(st.get("label_length", {}), n, "length",
                                                      _bin_label)]
    families = {f.get("id"): f for f in (src.get("config", {}).get("fonts") or {}).get("list", [])}
    font_rows = _share_rows(st.get("fonts", {}), n)
    if font_rows:
        out += ["### Fonts\n", _table(["font", "family", "category", "samples", "share"],
                [(k, families.get(k, {}).get("family", ""), families.get(k, {}).get(
                    "category", ""), c, p) for k, c, p, _ in font_rows])]
    for title, key, col in (("Font categories", "font_categories", "category"),
                            ("Page rotation", "rotation", "degrees"),
                            ("Lines per sample", "lines", "lines"),
                            ("Rejected draws", "rejects", "cause")):
        if st.get(key):
            out += [f"### {title}\n", _shares(st[key], n, col)]
    return out


def _bin_label(b: str) -> str:
    lo, hi = (int(x) for x in b.split("-"))
    return f"{lo}–{hi}"


def _share_rows(counts: dict, n: int) -> list[tuple]:
    """(key, count, share) sorted by key, numerically where keys are numbers."""
    keyed = sorted(counts.items(), key=lambda kv: (int(kv[0]) if kv[0].isdigit() else 0, kv[0]))
    return [(k, f"{c:,}", f"{100 * c / n:.1f}%", c) for k, c in keyed]


def _shares(counts: dict, n: int, col: str, label=str) -> str:
    rows = [(label(k), c, p, "█" * round(20 * raw / n)) for k, c, p, raw in _share_rows(counts, n)]
    return _table([col, "samples", "share", ""], rows)


def _table(headers: list[str], rows: list[tuple]) -> str:
    def cell(v) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _loading(m: dict, repo_id: str | None, dirname: str) -> list[str]:
    ext = m.get("config", {}).get("image_format", "jpg")
    first = next(iter(m["splits"]))
    n = len(m["splits"][first].get("shards", []))
    braces = f"{first}-{{000000..{max(n - 1, 0):06d}}}.tar"
    if repo_id:
        ref, base = repo_id, f"https://huggingface.co/datasets/{repo_id}/resolve/main"
        ours = f"hf://datasets/{repo_id}/{first}-*.tar"
    else:
        ref = base = f"path/to/{dirname}"
        ours = f"path/to/{dirname}/{first}-*.tar"
    return ["## Loading\n",
            f"Each sample is a `{ext}` image, a `txt` label (UTF-8, lines joined by `\\n`) and "
            "a `json` record with the font, layout parameters and a quad for every line and "
            "word (the synthgen sample format). The record is stored as one JSON string, so "
            "every loader keeps every field: `json.loads` it.\n",
            "```python", "import json", "", "import datasets", "",
            f'ds = datasets.load_dataset("{ref}", split="{first}")  # columns {ext}, txt, json',
            'meta = json.loads(ds[0]["json"])  # the full record, a dict', "```\n",
            "With webdataset (streaming):\n", "```python", "import webdataset as wds", "",
            f'ds = wds.WebDataset("{base}/{braces}", shardshuffle=False).decode("l")',
            'meta = json.loads(next(iter(ds))["json"])', "```\n",
            "With synthgen (streams `hf://`, http(s) and local shards):\n",
            "```python", "from synthtext.dataset.sample import Sample",
            "from synthtext.dataset.shards import iter_samples", "",
            f'for d in iter_samples("{ours}"):',
            "    s = Sample.from_wds(d)  # s.image, s.text, s.lines (quads), s.meta", "```\n"]

"""Domain-targeted retraining, end to end: chemistry without chemistry handwriting.

    python recipes/domain_retraining.py --out runs/chem \\
        --general wikitext-2-raw.test.txt --domain chebi20-dev.txt [--handwriting lines.tsv]

1. Split the fonts into training fonts and held-out test fonts (one print, one cursive).
2. Render fixed test sets from the held-out region (``split`` ``test``) of each corpus in
   the held-out fonts: general text and domain text; optionally real handwriting lines
   (held-out half of a line-crop TSV, made into shards with ``synthgen stitch``).
3. Train a base model on general text rendered on the fly (plus stitched real lines).
4. Retrain it with the domain text mixed in (``--init-from``, general 0.5 + domain 0.5).
5. Evaluate both models on every test set; CER/WER, and CER on domain terms alone.
6. Write ``report.md``, ``report.png`` and ``report.json`` into ``--out``.

Every step is an ordinary ``synthgen``/``fphtr`` command or library call, printed as it
runs; the commands are recorded in the report. Steps whose output exists are skipped, so
an interrupted recipe resumes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

from model.domain_terms import domain_cer
from synthtext.dataset.info import read_info
from synthtext.dataset.runner import run
from synthtext.render.config import RenderConfig
from synthtext.render.generate import RenderJob

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data"
TEST_FONTS = ("pt-serif-regular", "kalam-regular")  # held out of training
LINE = {"layout": "line", "length": [1, 4], "line_height": [36, 44], "font_size": [22, 30],
        "cursive_ratio": 0.3, "rotation": {"0": 1.0}}
SPLIT = {"train": 0.85, "validation": 0.05, "test": 0.1}


def log(msg: str) -> None:
    print(f"[recipe {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def font_manifests(out: Path) -> tuple[str, str]:
    """Training and held-out manifests carved from the embedded font manifest."""
    embedded = json.loads((resources.files("font_manifests") / "embedded.json").read_text())
    paths = []
    for name, keep in (("train", lambda f: f["id"] not in TEST_FONTS),
                       ("test", lambda f: f["id"] in TEST_FONTS)):
        m = {**embedded, "name": f"domain-recipe-{name}",
             "fonts": [f for f in embedded["fonts"] if keep(f)]}
        p = out / "fonts" / f"{name}.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(m, indent=1))
        paths.append(str(p))
    return paths[0], paths[1]


def render_config(corpus: str, fonts: str, seed: int) -> dict:
    """A render config whose paths are absolute (configs resolve relative paths from their
    own folder, and these are written under --out)."""
    return {**LINE, "corpora": [[str(Path(corpus).resolve()), 1.0]],
            "fonts": str(Path(fonts).resolve()), "split": SPLIT, "seed": seed}


def write_config(out: Path, name: str, cfg: dict) -> str:
    p = out / "configs" / f"{name}.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(cfg, indent=1))
    return str(p)


def render_set(out: Path, name: str, cfg: dict, n: int, split: str = "test") -> str:
    """Shards of one held-out region of the corpus (``test`` or ``validation``)."""
    d = out / "data" / name
    if (read_info(d) or {}).get("status") != "complete":
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}
        kw["corpora"] = tuple(tuple(c) for c in cfg["corpora"])
        kw["split"] = tuple(cfg["split"].items())
        kw["rotation"] = {int(k): v for k, v in cfg["rotation"].items()}
        log(f"render {split} set {name}: {n} lines")
        run(RenderJob.create(RenderConfig(**kw)), d, {split: n}, shard_size=1000,
            progress=False)
    return str(d / f"{split}-*.tar")


def real_lines(out: Path, tsv: str, n: int) -> tuple[str, str]:
    """Real line crops as single-line pages; ``--holdout`` keeps test crops out of train."""
    specs = []
    for split in ("train", "test"):
        d = out / "data" / f"real-{split}"
        if not list(d.glob(f"{split}-*.tar")):
            sh([sys.executable, "-m", "cli.synthgen", "stitch", "--lines", tsv, "--format",
                "tsv", "--out", str(d), "-n", str(n), "--page-lines", "1:1", "--holdout",
                "test=0.5", "--split", split, "--no-progress"])
        specs.append(str(d / f"{split}-*.tar"))
    return specs[0], specs[1]


def real_test_lines(out: Path, tsv: str, n: int) -> str:
    """Every real line crop as a single-line page, for evaluation only (never trained on)."""
    d = out / "data" / "real-lines"
    if not list(d.glob("train-*.tar")):
        sh([sys.executable, "-m", "cli.synthgen", "stitch", "--lines", tsv, "--format", "tsv",
            "--out", str(d), "-n", str(n), "--page-lines", "1:1", "--print-lines", "0",
            "--heading", "0", "--no-progress", "--overwrite"])
    return str(d / "train-*.tar")


def sh(cmd: list[str], record: list | None = None) -> None:
    log(" ".join(cmd))
    if record is not None:
        record.append(" ".join(cmd))
    subprocess.run(cmd, check=True)


def train(out: Path, name: str, data: list[str], val: list[str], steps: int,
          init: str | None, commands: list) -> str:
    run_dir = out / name
    ckpt = run_dir / "best.pt"
    if ckpt.exists() and (run_dir / "done").exists():
        return str(ckpt)
    cmd = [sys.executable, "-m", "cli.fphtr", "train", "--out", str(run_dir), "--preset", "tiny",
           "--max-steps", str(steps), "--no-progress"]
    for d in data:
        cmd += ["--data", d]
    for v in val:
        cmd += ["--val", v]
    if init:
        cmd += ["--init-from", init]
    if (run_dir / "last.pt").exists():
        cmd += ["--resume"]
    sh(cmd, commands)
    (run_dir / "done").write_text("ok\n")
    return str(ckpt)


def evaluate(ckpt: str, spec: str, limit: int) -> dict:
    """``fphtr eval`` with every prediction, plus CER on domain terms."""
    cmd = [sys.executable, "-m", "cli.fphtr", "eval", "--checkpoint", ckpt, "--data", spec,
           "--limit", str(limit), "--examples", str(limit)]
    log(" ".join(cmd))
    rep = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    pairs = [(e["ref"], e["hyp"]) for e in rep.get("examples", [])]
    rep.update(domain_cer(pairs))
    rep["examples"] = rep.get("examples", [])[:8]
    return rep


def chart(results: dict, path: Path) -> None:
    """Grouped bars: CER of each model on each test set (and on its domain terms)."""
    import matplotlib  # heavy; only the chart at the end needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(next(iter(results.values())))
    labels, bars = [], {m: [] for m in models}
    for name, r in results.items():
        for key, label in (("cer", "CER"), ("term_cer", "term CER")):
            if key == "term_cer" and not r["base"]["terms"]:
                continue
            labels.append(f"{name}\n{label}")
            for m in models:
                bars[m].append(100 * r[m][key])
    width = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(1.5 * len(labels) + 2, 4))
    for k, m in enumerate(models):
        ax.bar([i + (k - (len(models) - 1) / 2) * width for i in range(len(labels))], bars[m],
               width, label=m)
    ax.set_xticks(list(range(len(labels))), labels)
    ax.set_ylabel("character error rate (%)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(out: Path, results: dict, commands: list[str], seconds: float, args) -> str:
    rows = []
    for name, r in results.items():
        b, t = r["base"], r["retrained"]
        rel = (t["cer"] - b["cer"]) / b["cer"] if b["cer"] else 0.0
        term = (f"{100 * b['term_cer']:.2f}% → {100 * t['term_cer']:.2f}%"
                if b["terms"] else "–")
        c = r.get("control")
        ctl = f"{100 * c['cer']:.2f}%" if c else "–"
        rows.append(f"| {name} | {100 * b['cer']:.2f}% | {ctl} | {100 * t['cer']:.2f}% "
                    f"| {100 * rel:+.1f}% | {100 * b['wer']:.2f}% → {100 * t['wer']:.2f}% "
                    f"| {term} |")
    text = "\n".join([
        "# Domain-targeted retraining: results", "",
        f"Base model: tiny preset, {args.base_steps} steps on general text; retrained: "
        f"{args.retrain_steps} more steps from it with domain text mixed in (0.5/0.5). "
        f"Test sets: {args.test_n} lines each from held-out corpus regions, in fonts held out "
        f"of training ({', '.join(TEST_FONTS)}). Wall time {seconds / 60:.0f} min.", "",
        "Control: the base model trained the same extra steps on general text only.", "",
        "| test set | base CER | control CER | retrained CER | retrained vs base | WER base → "
        "retrained | domain-term CER base → retrained |",
        "|---|---|---|---|---|---|---|", *rows, "",
        "![CER of base and retrained models](report.png)", "",
        "Commands:", "", "```", *commands, "```", ""])
    (out / "report.md").write_text(text)
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--general", default=str(SHARED / "corpora/wikitext-2-raw.test.txt"))
    ap.add_argument("--domain", default=str(SHARED / "corpora/chebi20-dev.txt"))
    ap.add_argument("--handwriting", help="TSV of real line crops (image<TAB>text) to train on "
                    "(half) and test on (other half), optional")
    ap.add_argument("--real-lines", help="TSV of real line crops used only as a test set")
    ap.add_argument("--control", action="store_true", help="also train the base model for "
                    "--retrain-steps more steps on general text only, to separate the effect "
                    "of the domain text from that of the extra steps")
    ap.add_argument("--base-steps", type=int, default=3000)
    ap.add_argument("--retrain-steps", type=int, default=1500)
    ap.add_argument("--test-n", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    t0, out, commands = time.time(), args.out, []
    out.mkdir(parents=True, exist_ok=True)
    train_fonts, test_fonts = font_manifests(out)
    gen_train = write_config(out, "general", render_config(args.general, train_fonts, args.seed))
    dom_train = write_config(out, "domain", render_config(args.domain, train_fonts, args.seed))
    tests = {name: render_set(out, f"{name}-test", render_config(corpus, test_fonts,
                                                                  args.seed + 100), args.test_n)
             for name, corpus in (("general", args.general), ("domain", args.domain))}
    vals = {name: render_set(out, f"{name}-val", render_config(corpus, train_fonts,
                                                               args.seed + 200), 200,
                             "validation")
            for name, corpus in (("general", args.general), ("domain", args.domain))}
    if args.real_lines:
        tests["real lines"] = real_test_lines(out, args.real_lines, 100)
    base_data = [f"general=render:{gen_train}"]
    if args.handwriting:
        real_train, tests["real lines"] = real_lines(out, args.handwriting, 200)
        base_data.append(f"real={real_train}@0.1")
    base = train(out, "base", base_data, [f"general={vals['general']}"], args.base_steps,
                 None, commands)
    retrained = train(out, "retrained", [f"general=render:{gen_train}@0.5",
                                         f"domain=render:{dom_train}@0.5"] + base_data[1:],
                      [f"{k}={v}" for k, v in vals.items()], args.retrain_steps, base,
                      commands)
    models = {"base": base, "retrained": retrained}
    if args.control:
        models["control"] = train(out, "control", base_data, [f"general={vals['general']}"],
                                  args.retrain_steps, base, commands)
    results = {name: {m: evaluate(ckpt, spec, args.test_n) for m, ckpt in models.items()}
               for name, spec in tests.items()}
    (out / "report.json").write_text(json.dumps(results, indent=1))
    chart(results, out / "report.png")
    print(report(out, results, commands, time.time() - t0, args))


if __name__ == "__main__":
    main()

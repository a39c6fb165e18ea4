"""``fphtr``: train, evaluate and run the full-page recognizer (thin: it calls ``model``)."""

from __future__ import annotations

import os

# Before torch loads OpenMP: spinning threads wait for each other on a busy machine, which
# made two-thread decoding ~50x slower here (3 vs 165 lines/s) when another process ran.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import json  # noqa: E402

import click  # noqa: E402
import torch  # noqa: E402

from model import checkpoint as ckpt  # noqa: E402
from model import sources  # noqa: E402
from model.config import parse_overrides, resolve, to_json  # noqa: E402
from model.evaluate import evaluate, predict_images  # noqa: E402
from model.plot import plot_run  # noqa: E402
from model.train import TrainOptions  # noqa: E402
from model.train import train as run_training  # noqa: E402
from synthtext.dataset.errors import UserError  # noqa: E402
from synthtext.dataset.sample import decode_image  # noqa: E402

from .common import Group  # noqa: E402

SPEC_HELP = ("[NAME=]PATH|GLOB|{a..b}|URL|hf://...|dataset:NAME|render:CONFIG.json|"
             "stitch:CONFIG.json[@W or @START:END], repeatable")


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="synthgen")
def main():
    """Full-page handwriting recognizer (ResNet encoder + Transformer decoder)."""


@main.command(context_settings={"ignore_unknown_options": False})
@click.option("--data", "data", multiple=True, metavar="SPEC", help="Training source: " + SPEC_HELP)
@click.option("--val", "val", multiple=True, metavar="SPEC", help="Validation source (same syntax).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option("--preset", type=click.Choice(["tiny", "base"]),
              help="Model and training defaults [default: tiny; with --init-from or --resume, "
                   "the checkpoint's].")
@click.option("--max-steps", type=click.IntRange(1),
              help="Stop after this many steps (cosine horizon).")
@click.option("--max-time", help="Stop (and checkpoint) after this wall time, e.g. 25m.")
@click.option("--init-from", type=click.Path(dir_okay=False),
              help="Start a new run from this checkpoint's model (vocabulary extended).")
@click.option("--resume", is_flag=True,
              help="Continue the run in --out from its last.pt (the same command again, plus "
                   "--resume; only changed values are refused).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="JSON file of config keys (flat, or {\"model\": .., \"train\": ..}); "
                   "paths in it start from its folder.")
@click.option("--augment", help="Augmentation preset or config, drawn fresh per sample.")
@click.option("--progress/--no-progress", default=True, show_default=True)
@click.argument("overrides", nargs=-1, metavar="[KEY=VALUE]...")
def train(data, val, out, preset, max_steps, max_time, init_from, resume, config_file, augment,
          progress, overrides):
    """Train on weighted, mixed, on-the-fly augmented sources; checkpoints in --out.

    KEY=VALUE overrides any model or training config key (``fphtr config`` lists them),
    e.g. lr=3e-4 batch_size=16 ema_decay=0.999 threads=1. A shard directory gives --data
    its train split and --val its validation split. Everything is checked before --out is
    written; best.pt is kept only with --val.
    """
    items = parse_overrides(overrides)
    if max_time is not None and not max_time.strip():
        raise UserError("--max-time: give a duration above 0, e.g. 25m (omit it for no limit)")
    for key, value in (("max_steps", max_steps), ("max_time", max_time), ("augment", augment)):
        if value is not None:
            items[key] = value
    opts = TrainOptions(out=out, data=list(data), val=list(val), preset=preset,
                        config_file=config_file, overrides=items, init_from=init_from,
                        resume=resume, progress=progress)
    result = run_training(opts)
    if int(os.environ.get("RANK", "0")) == 0:
        best = result.get("best_cer")
        click.echo(f"{out}: step {result['step']}"
                   + (f", best validation CER {best:.2%}" if best is not None else "")
                   + (f"; skipped {result['skipped']}" if result["skipped"] else ""))


@main.command("eval")
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False))
@click.option("--data", "data", multiple=True, required=True, metavar="SPEC", help=SPEC_HELP)
@click.option("--limit", type=click.IntRange(1), help="At most this many samples per source.")
@click.option("--batch-size", type=click.IntRange(1), default=32, show_default=True)
@click.option("--beam", type=click.IntRange(1), default=1, show_default=True,
              help="Beam width (1 = greedy).")
@click.option("--ema/--no-ema", default=True, show_default=True,
              help="Use the EMA weights when the checkpoint has them.")
@click.option("--examples", type=click.IntRange(0), default=0, show_default=True,
              help="Include this many predictions next to their labels.")
@click.option("--threads", type=click.IntRange(0), default=0,
              help="torch threads (default: torch's).")
def eval_cmd(checkpoint, data, limit, batch_size, beam, ema, examples, threads):
    """Print a JSON report: CER, WER, per source, samples/s, decode guard rates.

    Every sample is scored, labels longer than the model's max_len too (their decoding
    stops at the model's guards); "scored" and "not_scored" count them, "not_scored_why"
    gives the reason per source (e.g. an image that does not decode). A shard directory
    gives its validation split.
    """
    _threads(threads)
    model, vocab, ck = ckpt.load_model(checkpoint, ema=ema)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    specs = sources.resolve(data, for_val=True)
    tcfg = ckpt.configs(ck)[1]
    report = evaluate(model.to(device), vocab, specs, batch_size=batch_size, limit=limit,
                      bucket_px=tcfg.bucket_px, beam=beam, device=device, examples=examples)
    if not report["scored"]:
        why = "; ".join(f"{src}: {n} {reason}" for src, r in report["not_scored_why"].items()
                        for reason, n in r.items()) or "the sources hold no sample"
        raise UserError(f"--data: no sample could be scored ({why})")
    report.update({"checkpoint": checkpoint, "step": ck.get("step"), "beam": beam,
                   "device": str(device), "threads": torch.get_num_threads()})
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))


@main.command()
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False))
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--beam", type=click.IntRange(1), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per image.")
@click.option("--ema/--no-ema", default=True, show_default=True)
@click.option("--threads", type=click.IntRange(0), default=0,
              help="torch threads (default: torch's).")
def predict(checkpoint, images, beam, as_json, ema, threads):
    """Print the transcription of each IMAGE (line breaks and indentation included)."""
    for p in images:
        if not os.path.isfile(p):
            raise UserError(f"{p}: image not found")
        with open(p, "rb") as f:
            data = f.read()
        if not data:  # cv2.imdecode raises its own error on an empty buffer
            raise UserError(f"{p}: empty file, not an image")
        try:
            decode_image(data)
        except ValueError:
            raise UserError(f"{p}: not a decodable image") from None
    _threads(threads)
    model, vocab, _ = ckpt.load_model(checkpoint, ema=ema)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    for r in predict_images(model.to(device), vocab, list(images), beam=beam, device=device):
        if as_json:
            click.echo(json.dumps(r, ensure_ascii=False))
        elif len(images) == 1:
            click.echo(r["text"])
        else:
            click.echo(f"==> {r['image']} <==\n{r['text']}")


@main.command("config")
@click.option("--preset", type=click.Choice(["tiny", "base"]), default="tiny", show_default=True)
@click.option("--config", "config_file", type=click.Path(dir_okay=False))
@click.argument("overrides", nargs=-1, metavar="[KEY=VALUE]...")
def config_cmd(preset, config_file, overrides):
    """Print the resolved model and training config (every KEY train accepts) as JSON."""
    m, t = resolve(preset, config_file, parse_overrides(overrides))
    click.echo(json.dumps({"model": to_json(m), "train": to_json(t)}, indent=2))


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), help="PNG path (default RUN/curves.png).")
def plot(run_dir, out):
    """Draw the loss and validation CER/WER curves of a run to a PNG."""
    click.echo(plot_run(run_dir, out))


def _threads(n: int) -> None:
    if n > 0:
        torch.set_num_threads(n)


if __name__ == "__main__":
    main()

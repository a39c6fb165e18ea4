"""Training samples/s and greedy-decode lines/s of the recognizer.

    python benchmarks/bench_train.py [--preset tiny] [--threads 1] [--checkpoint RUN/best.pt]

Renders a fixed set of WikiText line images (pages for ``--preset base``) once, preprocesses
them with the training function, then times

1. ``train step``: forward + backward + AdamW on length-bucketed batches (model compute only);
2. ``pipeline``: the same steps fed by the real loader (``render:`` on-the-fly source, one
   DataLoader worker), i.e. what ``fphtr train`` sustains end to end;
3. ``greedy decode``: batched incremental decoding with the KV cache (lines/s), and the same
   one line at a time (latency). Decode speed depends on output length: pass a trained
   checkpoint, otherwise an untrained model decodes to the repetition/length guards.

``torch.get_num_threads()`` is printed; the CPU is shared on the build machines, so rerun
and report what else was running. On a GPU, ``--preset base`` uses bf16 autocast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the fphtr CLI does (see there)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model import checkpoint as ckpt  # noqa: E402
from model.config import preset  # noqa: E402
from model.data import TrainBatches, bucket_batches  # noqa: E402
from model.decode import greedy  # noqa: E402
from model.network import build_model, count_parameters  # noqa: E402
from model.preprocess import collate, preprocess  # noqa: E402
from model.sources import resolve  # noqa: E402
from model.vocab import PAD_ID, Vocab  # noqa: E402
from synthtext.render.config import RenderConfig  # noqa: E402
from synthtext.render.generate import render_sample  # noqa: E402

_WIKI = Path(__file__).resolve().parents[2] / "shared/data/corpora/wikitext-2-raw.test.txt"
CORPUS = ((str(_WIKI), 1.0),) if _WIKI.exists() else ()
LINES = dict(corpora=CORPUS, layout="line", length=(1, 4), line_height=(36, 44),
             font_size=(22, 30), rotation={0: 1.0}, max_skew=1.0, cursive_ratio=0.3, seed=7)
PAGES = dict(corpora=CORPUS, layout="page", length_unit="lines", length=(5, 15), seed=7,
             rotation={0: 1.0})


def items_for(mcfg, vocab, n: int, cfg: RenderConfig) -> list[dict]:
    """``n`` rendered samples as training items (preprocessed image, ids cut to max_len)."""
    out = []
    for i in range(n):
        s = render_sample(cfg, i)
        image, size = preprocess(s.image, mcfg)
        ids = vocab.encode(s.text)[: mcfg.max_len]
        out.append({"image": image, "size": size, "tgt": torch.tensor(ids), "text": s.text,
                    "source": "bench", "key": s.key})
    return out


def time_train(model, batches, device, amp, steps: int, warmup: int) -> float:
    """Samples/s over ``steps`` steps after ``warmup`` untimed ones (new shapes cost once)."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    model.train()
    n, t0 = 0, None
    for k in range(warmup + steps):
        b = batches[k % len(batches)]
        if k == warmup:
            _sync(device)
            t0, n = time.perf_counter(), 0
        images, sizes, tgt = (b["images"].to(device), b["sizes"].to(device),
                              b["tgt"].to(device))
        with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            logits = model(images, sizes, tgt[:, :-1])
            loss = F.cross_entropy(logits.float().flatten(0, 1), tgt[:, 1:].flatten(),
                                   ignore_index=PAD_ID)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        n += images.shape[0]
    _sync(device)
    return n / (time.perf_counter() - t0)


def time_pipeline(mcfg, tcfg, vocab, render_json: str, steps: int, device) -> float:
    """Steps fed by the real loader: render inside one worker, bucket, re-batch, collate."""
    specs = resolve([f"render:{render_json}"])
    batches = TrainBatches(specs, vocab, mcfg, tcfg, seed=1)
    model = build_model(mcfg, vocab).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    n, t0 = 0, None
    for k in range(steps + 10):
        if k == 10:
            t0, n = time.perf_counter(), 0
        b = next(batches)
        logits = model(b["images"].to(device), b["sizes"].to(device), b["tgt"][:, :-1].to(device))
        loss = F.cross_entropy(logits.flatten(0, 1), b["tgt"][:, 1:].flatten().to(device),
                               ignore_index=PAD_ID)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        n += len(b["texts"])
    _sync(device)
    return n / (time.perf_counter() - t0)


def time_decode(model, batches, device, amp) -> tuple[float, float, float]:
    """Greedy decoding of ``batches``: (images/s, mean output symbols per image, 0.0)."""
    model.eval()
    n, symbols, t0 = 0, 0, time.perf_counter()
    for b in batches:
        with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            res = greedy(model, b["images"].to(device), b["sizes"].to(device))
        n += len(res.tokens)
        symbols += sum(len(t) for t in res.tokens)
    _sync(device)
    return n / (time.perf_counter() - t0), symbols / max(n, 1), 0.0


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    """Parse the options, time each part and print a JSON report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="tiny", choices=["tiny", "base"])
    ap.add_argument("--checkpoint", help="decode with a trained model (its config and vocab)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--no-pipeline", action="store_true")
    ap.add_argument("--no-decode", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    amp = torch.bfloat16 if device.type == "cuda" else None
    if args.checkpoint:
        model, vocab, ck = ckpt.load_model(args.checkpoint)
        mcfg, tcfg = ckpt.configs(ck)
    else:
        mcfg, tcfg = preset(args.preset)
        vocab = Vocab.build("")
        model = build_model(mcfg, vocab)
    model.to(device)
    bs = args.batch_size or tcfg.batch_size
    cfg = RenderConfig(**(LINES if mcfg.preset == "tiny" else PAGES))
    items = items_for(mcfg, vocab, args.samples, cfg)
    batches = [collate(b) for b in bucket_batches(items, bs, tcfg.bucket_px)]
    report = {"preset": mcfg.preset, "device": str(device), "threads": torch.get_num_threads(),
              "parameters_M": round(count_parameters(model) / 1e6, 2), "batch_size": bs,
              "mean_image_px": [round(sum(it["size"][k] for it in items) / len(items))
                                for k in (0, 1)],
              "mean_label_chars": round(sum(len(it["text"]) for it in items) / len(items), 1)}
    report["train_samples_per_s"] = round(time_train(
        build_model(mcfg, vocab).to(device), batches, device, amp, args.steps,
        warmup=len(batches)), 1)
    if not args.no_pipeline and mcfg.preset == "tiny":
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "lines.json")
            with open(path, "w") as f:
                json.dump({k: v for k, v in LINES.items() if k != "rotation"}, f)
            report["pipeline_samples_per_s"] = round(
                time_pipeline(mcfg, tcfg, vocab, path, args.steps, device), 1)
    if args.no_decode:
        print(json.dumps(report, indent=2))
        return
    lps, mean_len, _ = time_decode(model, batches, device, amp)
    report["greedy_lines_per_s_batched"] = round(lps, 1)
    report["greedy_mean_output_symbols"] = round(mean_len, 1)
    singles = [collate([it]) for it in items[:32]]
    report["greedy_lines_per_s_one_by_one"] = round(time_decode(model, singles, device, amp)[0], 1)
    report["decode_model"] = args.checkpoint or "untrained (outputs run to the guards)"
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

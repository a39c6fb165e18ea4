"""Decode batches and score them: validation during training, ``fphtr eval`` and ``predict``.

Evaluation reads each source once, in order and unaugmented (:func:`eval_batches`).
Everything goes through :func:`model.preprocess.preprocess` and
:func:`model.decode.decode_batch`, so the numbers of ``eval`` are those a user of
``predict`` gets. Every sample that decodes as an image with a label is scored: a label
longer than the model's ``max_len`` is decoded under the usual guards (a length cap from the
image area, the repetition stop) and its truncated prediction counts its errors. Samples that
cannot be read are counted by source and reason in the report (``not_scored``).
"""

from __future__ import annotations

import time
from collections import Counter

import torch

from .data import bucket_batches, source_dataset
from .decode import decode_batch
from .metrics import Metrics
from .preprocess import collate, load_image, preprocess
from .skips import drain_reasons, reset_warnings

STREAM_EVAL_DEFAULT = 1000  # an on-the-fly source has no end: evaluate this many by default


def eval_batches(specs, vocab, mcfg, *, batch_size: int, limit: int | None,
                 bucket_px: int, skipped: dict | None = None):
    """Finite, ordered, unaugmented batches: up to ``limit`` samples of each source
    (all of a shard source, STREAM_EVAL_DEFAULT of a stream when ``limit`` is None).

    Batches are :func:`model.preprocess.collate` output, one source at a time; ``skipped``
    (when given) receives the samples that could not be read: source -> reason -> count.
    """
    drain_reasons()
    reset_warnings()
    for spec in specs:
        n = limit if limit is not None or spec.kind == "shards" else STREAM_EVAL_DEFAULT
        ds = source_dataset(spec, vocab, mcfg, train=False, seed=0, n=n)
        items = _take(ds, n)
        for batch in bucket_batches(items, batch_size, bucket_px):
            yield collate(batch)
        reasons = drain_reasons()
        if skipped is not None:
            for source, why in reasons.items():
                skipped.setdefault(source, Counter()).update(why)


def _take(ds, limit):
    n = 0
    for item in ds:
        if item is None:
            continue
        yield item
        n += 1
        if limit is not None and n >= limit:
            return


def evaluate(model, vocab, specs, *, batch_size: int, limit: int | None, bucket_px: int,
             beam: int = 1, device="cpu", examples: int = 0, autocast=None) -> dict:
    """CER/WER overall and per source, decode guard rates, samples/s, a few examples.

    Args:
        model: an :class:`model.network.FPHTR`; put in eval mode, then back as it was.
        vocab: its vocabulary.
        specs: resolved sources (:func:`model.sources.resolve`).
        batch_size: images per decoded batch.
        limit: samples per source (None: all of a shard source, STREAM_EVAL_DEFAULT of a
            stream).
        bucket_px: bucket size in pixels for grouping images of similar padded size.
        beam: beam width (1 = greedy).
        device: where the model lives.
        examples: how many (ref, hyp) pairs to return.
        autocast: a callable returning an autocast context for decoding, or None.

    Returns:
        :meth:`model.metrics.Metrics.result` (``cer``, ``wer`` as fractions, ``n``,
        ``chars``, ``words``, ``per_source``) plus ``scored`` (= ``n``, every sample
        decoded), ``not_scored`` (samples that could not be read, e.g. an image that does
        not decode), ``not_scored_why`` (source -> reason -> count), ``samples_per_s``,
        ``seconds``, ``cap_rate`` and ``repeat_rate`` (fractions of images stopped by each
        decode guard) and ``examples``. With nothing scored, ``cer`` and ``wer`` are None.
    """
    was_training = model.training
    model.eval()
    metrics, skipped = Metrics(vocab.tags), {}
    shown, n, caps, reps = [], 0, 0, 0
    t0 = time.perf_counter()
    for batch in eval_batches(specs, vocab, model.cfg, batch_size=batch_size, limit=limit,
                              bucket_px=bucket_px, skipped=skipped):
        res = _decode(model, batch, beam, device, autocast)
        for i, ids in enumerate(res.tokens):
            hyp, ref = vocab.decode(ids), batch["texts"][i]
            metrics.add(ref, hyp, batch["sources"][i])
            if len(shown) < examples:
                shown.append({"source": batch["sources"][i], "key": batch["keys"][i],
                              "ref": ref, "hyp": hyp})
        n += len(res.tokens)
        caps += sum(res.hit_cap)
        reps += sum(res.hit_repeat)
    seconds = time.perf_counter() - t0
    model.train(was_training)
    out = metrics.result()
    if not n:
        out.update({"cer": None, "wer": None})
    why = {src: dict(reasons) for src, reasons in skipped.items()}
    out.update({"scored": n, "not_scored": sum(sum(r.values()) for r in why.values()),
                "not_scored_why": why, "samples_per_s": n / seconds if seconds else 0.0,
                "seconds": seconds, "cap_rate": caps / n if n else 0.0,
                "repeat_rate": reps / n if n else 0.0, "examples": shown})
    return out


def _decode(model, batch, beam, device, autocast):
    images = batch["images"].to(device)
    sizes = batch["sizes"].to(device)
    if autocast is None:
        return decode_batch(model, images, sizes, beam)
    with autocast():
        return decode_batch(model, images, sizes, beam)


def predict_images(model, vocab, paths, *, beam: int = 1, batch_size: int = 16,
                   device="cpu") -> list[dict]:
    """Transcribe image files (same preprocessing as training); keeps the input order.

    Returns:
        One dict per path: ``image`` (the path), ``text``, ``hit_cap`` and ``hit_repeat``
        (whether a decode guard stopped it).

    Raises:
        ValueError: a file does not decode as an image (the CLI checks first).
    """
    model.eval()
    out = []
    for i in range(0, len(paths), batch_size):
        chunk = paths[i:i + batch_size]
        items = []
        for p in chunk:
            image, size = preprocess(load_image(p), model.cfg)
            items.append({"image": image, "size": size, "tgt": torch.zeros(1, dtype=torch.long),
                          "text": "", "source": "predict", "key": p})
        batch = collate(items)
        res = _decode(model, batch, beam, device, None)
        for p, ids, cap, rep in zip(chunk, res.tokens, res.hit_cap, res.hit_repeat):
            out.append({"image": p, "text": vocab.decode(ids), "hit_cap": cap,
                        "hit_repeat": rep})
    return out

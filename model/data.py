"""The dynamic training pipeline: weighted sources mixed on the fly, bucketed into batches.

Inside each DataLoader worker: every shard source is a webdataset pipeline (resampled shards,
explicit node and worker splitting, a sample shuffle buffer) and every stream source renders
samples itself; a :class:`ScheduledMix` (webdataset's ``RandomMix`` with weights that follow
the mixture schedule) picks a source per sample; each sample is decoded, augmented with a
fresh draw, preprocessed and tokenised; a length-aware bucketer groups samples of similar
padded size into batches. After the loader the batches are unbatched, shuffled across
workers and re-batched the same way, so a batch of short lines never pads to a page.

A sample or shard that fails (no image, no text, an image that does not decode, a truncated
tar; in training also a label longer than ``max_len``) is skipped with a one-line warning and
counted, with its reason; the counts travel with the batches to the training loop.
Evaluation keeps over-long labels: the decoder's guards bound what it outputs, and the
truncated prediction is scored against the whole label.
"""

from __future__ import annotations

import random
import signal
import warnings
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import webdataset as wds
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from synthtext.augmenting.samples import AugmentOnTheFly
from synthtext.dataset.errors import UserError
from synthtext.dataset.sample import Sample
from synthtext.dataset.urls import register_webdataset

from .preprocess import collate, preprocess
from .schedule import MixSchedule
from .skips import (
    SkipHandler,
    count_skip,
    drain_skip_reasons,
    reset_failures,
    reset_warnings,
)
from .sources import STREAM_KINDS, SourceSpec

register_webdataset()  # webdataset opens hf:// and http(s) shards through synthtext.dataset.urls

# -- one sample -> one training item -----------------------------------------------------
class ToItem:
    """Sample (or raw shard dict) -> item dict; failures are counted and give None.

    An item is ``{"image": (1, H, W) float32 in [0, 1], ink positive, "size": (h, w) valid
    pixels, "tgt": (T,) int64 ids <bos> ... <eos>, "text", "source", "key"}``; ``augment``
    names an augmentation preset or config drawn fresh per sample (``none``: no
    augmentation); ``train`` refuses labels longer than ``max_len`` (evaluation keeps them).
    """

    def __init__(self, source: str, vocab, mcfg, augment: str = "none", seed: int = 0,
                 train: bool = True):
        self.source, self.vocab, self.mcfg, self.train = source, vocab, mcfg, train
        self.augment = AugmentOnTheFly(augment, seed) if augment not in ("", "none") else None

    def __call__(self, sample):
        try:
            if isinstance(sample, dict):
                sample = Sample.from_wds(sample)
            item = self.convert(sample)
        except Exception as e:  # noqa: BLE001 - any bad sample is skipped, never fatal
            key = sample.get("__key__") if isinstance(sample, dict) else getattr(sample, "key", None)
            count_skip(self.source, e, key)
            return None
        reset_failures(self.source)
        return item

    def convert(self, sample: Sample) -> dict:
        """Augment, preprocess and tokenise one sample.

        Raises:
            ValueError: in training, the label has more than ``max_len`` tokens.
        """
        if self.augment is not None:
            sample = self.augment(sample)
        image, size = preprocess(sample.image, self.mcfg)
        ids = self.vocab.encode(sample.text)
        if self.train and len(ids) > self.mcfg.max_len:
            raise ValueError(f"label longer than max_len={self.mcfg.max_len} tokens")
        return {"image": image, "size": size, "tgt": torch.tensor(ids), "text": sample.text,
                "source": self.source, "key": sample.key}


# -- per-source pipelines --------------------------------------------------------------------
def _all_nodes(src):
    """Explicit node splitter for validation, which runs on rank 0 only."""
    yield from src


def shard_pipeline(spec: SourceSpec, to_item: ToItem, train: bool, seed: int,
                   shuffle: int) -> wds.DataPipeline:
    """Resampled, node- and worker-split, shuffled shards (train) or one ordered pass (val)."""
    handler = SkipHandler(spec.name)
    if train:
        stages = [wds.ResampledShards(list(spec.urls), seed=seed, deterministic=True),
                  wds.split_by_node, wds.split_by_worker]
    else:
        stages = [wds.SimpleShardList(list(spec.urls)), _all_nodes, wds.split_by_worker]
    stages.append(wds.tarfile_to_samples(handler=handler))
    if train and shuffle > 1:
        stages.append(wds.shuffle(shuffle, initial=min(shuffle, 100), seed=seed))
    stages.append(wds.map(to_item))
    return wds.DataPipeline(*stages)


def stream_source(spec: SourceSpec, to_item: ToItem, split: str, start: int, n=None):
    """An on-the-fly source (render, stitch, ...) whose transform makes items."""
    def make(first: int, count):
        return STREAM_KINDS[spec.kind].open(spec.target, split=split, start=first, n=count,
                                            transform=to_item)
    return ResilientStream(spec.name, make, start, n)


class ResilientStream(IterableDataset):
    """A stream that survives a sample it cannot make: the failure is counted and the stream
    restarts at the next index (streams deal indices ``start + worker + k * workers``)."""

    def __init__(self, name: str, make, start: int, n=None):
        super().__init__()
        self.name, self.make, self.start, self.n = name, make, start, n

    def __iter__(self):
        info = get_worker_info()
        workers = info.num_workers if info else 1
        start, left = self.start, self.n
        while left is None or left > 0:
            done = 0
            try:
                for item in self.make(start, left):
                    done += 1
                    yield item
                return
            except UserError:
                raise  # a configuration problem, not a bad sample
            except Exception as e:  # noqa: BLE001 - skip the sample, keep the stream
                count_skip(self.name, e, f"index {start + (info.id if info else 0) + done * workers}")
                start += (done + 1) * workers
                left = None if left is None else left - (done + 1) * workers


def source_dataset(spec, vocab, mcfg, *, train: bool, seed: int, augment: str = "none",
                   start: int = 0, n=None, shuffle: int = 1000):
    """The items of one source: a shard pipeline or an on-the-fly stream.

    Training streams are endless and augmented; validation reads shards once in order and
    streams from index ``start`` for ``n`` samples, unaugmented. ``shuffle`` is the sample
    shuffle buffer of a training shard source.
    """
    to_item = ToItem(spec.name, vocab, mcfg, augment if train else "none", seed, train=train)
    if spec.kind == "shards":
        return shard_pipeline(spec, to_item, train, seed, shuffle)
    return stream_source(spec, to_item, "train" if train else "validation", start, n)


# -- mixing ------------------------------------------------------------------------------------
class ScheduledMix(wds.RandomMix):
    """``RandomMix`` whose weights follow a :class:`MixSchedule` of the global sample clock.

    Each worker estimates the clock as ``clock0 + drawn * workers * world_size``: no messages
    between processes, and a resumed run (``clock0`` from the checkpoint) continues the curve.
    """

    def __init__(self, datasets, schedule: MixSchedule, clock0: int = 0, world_size: int = 1,
                 seed: int = 0):
        super().__init__(datasets, probs=schedule.weights(clock0))
        self.schedule, self.clock0, self.world, self.seed = schedule, clock0, world_size, seed

    def __iter__(self):
        info = get_worker_info()
        workers = info.num_workers if info else 1
        rng = random.Random(self.seed * 7919 + (info.id if info else 0))
        sources = [iter(d) for d in self.datasets]
        drawn = 0
        while True:
            if drawn % 64 == 0:
                probs = self.schedule.weights(self.clock0 + drawn * workers * self.world)
            i = rng.choices(range(len(sources)), weights=probs)[0]
            try:
                item = next(sources[i])
            except StopIteration:
                return
            drawn += 1
            if item is not None:
                yield item


# -- length-aware batching -------------------------------------------------------------------
def bucket_key(item: dict, bucket_px: int) -> tuple[int, int]:
    """(height, width) of the item's padded image in units of ``bucket_px`` pixels, rounded up."""
    _, h, w = item["image"].shape
    return -(-h // bucket_px), -(-w // bucket_px)


def bucket_batches(items, batch_size: int, bucket_px: int, max_pending: int | None = None):
    """Group items whose padded size falls in one bucket; yields lists of items.

    When more than ``max_pending`` items wait, the fullest bucket leaves early; at the end of
    a finite stream every bucket is flushed.
    """
    buckets: dict[tuple, list] = {}
    pending, limit = 0, max_pending or batch_size * 8
    for item in items:
        if item is None:
            continue
        key = bucket_key(item, bucket_px)
        buckets.setdefault(key, []).append(item)
        pending += 1
        if len(buckets[key]) < batch_size:
            if pending <= limit:
                continue
            key = max(buckets, key=lambda k: len(buckets[k]))  # too much waiting: fullest
        batch = buckets.pop(key)
        pending -= len(batch)
        yield batch
    for batch in buckets.values():
        if batch:
            yield batch


@dataclass(frozen=True)
class WorkerUserError:
    """A :class:`UserError` raised in a DataLoader worker, carried to the trainer as a value.

    torch re-raises a worker's exception in the main process with the worker's traceback
    pasted into its message; a user mistake must reach the command line as its own one
    line. :class:`TrainStream` yields this record instead, and :class:`TrainBatches` raises
    ``kind(message)`` in the main process (the same class, the same message).
    """

    kind: type[UserError]
    message: str

    def error(self) -> UserError:
        """The exception to raise in the main process."""
        return self.kind(self.message)


class TrainStream(IterableDataset):
    """What each DataLoader worker runs: sources -> mix -> bucketed worker batches.

    Yields ``{"items": [item, ...], "skips": {(source, reason): count},
    "warnings": [message, ...]}``
    (items as :class:`ToItem` makes them; in a worker, the warnings it raised since the last
    batch, which the trainer prints: :func:`_worker_warnings`), or one
    :class:`WorkerUserError` and then stops.
    """

    def __init__(self, specs, vocab, mcfg, tcfg, schedule: MixSchedule, *, clock0: int,
                 rank: int, world_size: int, seed: int):
        super().__init__()
        self.specs, self.vocab, self.mcfg, self.tcfg = specs, vocab, mcfg, tcfg
        self.schedule, self.clock0, self.rank, self.world = schedule, clock0, rank, world_size
        self.seed = seed

    def __iter__(self):
        start = self.rank * 10 ** 12 + self.clock0 // self.world  # render indices: fresh, no overlap
        reset_warnings()
        datasets = [source_dataset(s, self.vocab, self.mcfg, train=True, seed=self.seed,
                                   augment=self.tcfg.augment, start=start,
                                   shuffle=self.tcfg.shuffle_buffer) for s in self.specs]
        mix = ScheduledMix(datasets, self.schedule, self.clock0, self.world,
                           seed=self.seed + self.rank * 1000)
        with _worker_warnings() as caught:
            try:
                for batch in bucket_batches(mix, self.tcfg.batch_size, self.tcfg.bucket_px):
                    yield {"items": batch, "skips": drain_skip_reasons(),
                           "warnings": [str(w.message) for w in caught]}
                    caught.clear()
            except UserError as e:  # a user mistake: its one line, not a worker traceback
                yield WorkerUserError(type(e), str(e))


@contextmanager
def _worker_warnings():
    """In a DataLoader worker, record the warnings raised (each once) instead of printing
    them: every worker is a process of its own and would print each one again; the trainer
    prints them once (:func:`_unbatch`). In the main process, nothing changes."""
    if get_worker_info() is None:
        yield []
        return
    with warnings.catch_warnings(record=True) as caught:  # the filters stay as they were
        yield caught


def _ignore_stop_signals(worker_id: int) -> None:
    """SIGTERM/SIGINT sent to the whole process group are for the trainer, which checkpoints
    and then ends its workers through the loader (TrainBatches.close); a worker dying first
    would turn a clean stop into a crash. A worker whose trainer is gone still exits (the
    DataLoader watchdog)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _unbatch(src, skips: Counter, warned: set):
    """The items of worker batches; adds up their skips and warns each distinct warning once
    (``warned`` holds those already shown)."""
    for batch in src:
        if isinstance(batch, WorkerUserError):
            raise batch.error()
        skips.update(batch["skips"])
        for message in batch["warnings"]:
            if message not in warned:
                warned.add(message)
                warnings.warn(message, stacklevel=2)
        yield from batch["items"]


def _shuffled(src, size: int, seed: int):
    rng, buf = random.Random(seed), []
    for item in src:
        buf.append(item)
        if len(buf) >= size:
            i = rng.randrange(len(buf))
            buf[i], buf[-1] = buf[-1], buf[i]
            yield buf.pop()
    rng.shuffle(buf)
    yield from buf


class TrainBatches:
    """Endless collated training batches; ``skip_reasons`` counts skipped samples per
    (source, reason), ``skips`` per source.

    Each batch is :func:`model.preprocess.collate` output (``images`` (B, 1, H, W) float32,
    ``sizes`` (B, 2) int64, ``tgt`` (B, T) int64, ``texts``, ``sources``, ``keys``), at most
    ``tcfg.batch_size`` samples of similar padded size.

    Raises:
        UserError: from ``next()``, when a source keeps failing (see :func:`count_skip`),
            also from inside a DataLoader worker (:class:`WorkerUserError`).
    """

    def __init__(self, specs, vocab, mcfg, tcfg, *, clock0=0, rank=0, world_size=1, seed=0):
        self.skip_reasons: Counter = Counter()
        self.schedule = mix_schedule(specs, tcfg)
        stream = TrainStream(specs, vocab, mcfg, tcfg, self.schedule, clock0=clock0, rank=rank,
                             world_size=world_size, seed=seed)
        # A plain DataLoader (what wds.WebLoader wraps): its iterator is kept so that close()
        # can end the workers cleanly; the re-batching stages below are generators.
        self.loader = DataLoader(stream, batch_size=None, num_workers=tcfg.num_workers,
                                 persistent_workers=tcfg.num_workers > 0,
                                 worker_init_fn=_ignore_stop_signals)
        self._it = iter(self.loader)
        items = _shuffled(_unbatch(self._it, self.skip_reasons, set()), tcfg.rebatch_buffer,
                          seed + rank)
        self._batches = bucket_batches(items, tcfg.batch_size, tcfg.bucket_px)

    def close(self) -> None:
        """End the workers now (they ignore SIGTERM, see _ignore_stop_signals)."""
        self._batches.close()
        shutdown = getattr(self._it, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        batch = collate(next(self._batches))
        self.skip_reasons.update(drain_skip_reasons())  # num_workers=0: counted here
        return batch

    @property
    def skips(self) -> dict[str, int]:
        """Samples skipped so far per source."""
        out: Counter = Counter()
        for (source, _), n in self.skip_reasons.items():
            out[source] += n
        return dict(out)


def mix_schedule(specs, tcfg) -> MixSchedule:
    """The mixture schedule of ``specs``: each source's W0 to W1 over ``mix_samples``."""
    return MixSchedule(tuple(s.w0 for s in specs), tuple(s.w1 for s in specs),
                       tcfg.mix_samples, tcfg.mix_curve)

"""``synthgen augment IN OUT``: an augmented copy of a shard directory, shard for shard.

Output shard k of a split holds the augmented samples of input shard k, in order, so the
runner's resume and determinism rules apply unchanged: sample i's augmentation is drawn
from ``(seed, split, i)`` only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from synthtext.augmenting.samples import augment_sample, load_augment
from synthtext.dataset.errors import UserError
from synthtext.dataset.names import check_split_name
from synthtext.dataset.runner import RunResult, run
from synthtext.dataset.sample import Sample
from synthtext.dataset.seeds import sample_rng
from synthtext.dataset.shards import iter_tar_samples, shard_name
from synthtext.dataset.urls import child_url, is_remote, read_dataset_info, resolve_dataset


@dataclass(frozen=True)
class AugmentJob:
    """The runner's job for ``synthgen augment``: augment the shards of ``in_dir`` (a local
    directory or an http(s)/``hf://`` shard directory) with the preset or config ``spec``.

    ``layout`` gives, per split, the samples of each input shard (the output keeps it);
    ``source`` identifies the input (its config digest and shard hashes) and the spec.
    """

    in_dir: str
    spec: str
    seed: int
    layout: dict  # split -> samples per input shard
    source: dict  # what identifies the input: its config digest and shard hashes

    @classmethod
    def create(cls, in_dir: str | Path, spec: str, seed: int = 0) -> "AugmentJob":
        """The job for the finished shard directory ``in_dir`` (also ``dataset:NAME``).

        Raises:
            UserError: ``in_dir`` has no complete dataset.json, a split name that cannot
                start shard names and keys (made before names were checked, e.g. ``v1.0``),
                or ``spec`` is not a preset or a valid augmentation config.
        """
        in_dir = resolve_dataset(in_dir)
        m = read_dataset_info(in_dir)
        if m is None or m.get("status") != "complete":
            raise UserError(f"{in_dir}: no complete dataset.json; synthgen augment needs a "
                            "finished shard directory made by synthgen render or stitch")
        for split in m["splits"]:
            check_split_name(split, f"{in_dir}: made with --split")
        layout = {s: [sh["samples"] for sh in v["shards"]] for s, v in m["splits"].items()}
        hashes = [sh["sha256"] for v in m["splits"].values() for sh in v["shards"]]
        load_augment(spec, "--preset")  # fail early on a bad preset or config file
        spec_id = spec if not Path(spec).is_file() else hashlib.sha256(
            Path(spec).read_bytes()).hexdigest()
        where = in_dir if is_remote(in_dir) else str(Path(in_dir).resolve())
        source = {"dir": where, "config_sha256": m.get("config_sha256"),
                  "shards_sha256": hashlib.sha256("".join(hashes).encode()).hexdigest()}
        return cls(str(in_dir), spec, seed, layout, {**source, "augment": spec_id})

    def config(self) -> dict:
        """What decides the output bytes: the spec, the seed and the input's identity."""
        return {"augment": self.spec, "seed": self.seed, "input": self.source}

    def build(self) -> "_Augmenter":
        """The per-process sample source (loads the augmentation pipeline)."""
        return _Augmenter(self)


class _Augmenter:
    """Reads input shards sequentially and augments sample ``index`` of ``split``."""

    def __init__(self, job: AugmentJob):
        self.r = job
        self.pipeline = load_augment(job.spec)
        self._open: tuple[str, int] | None = None  # (split, shard) being read
        self._iter = None
        self._next = 0  # index of the next sample the open iterator yields

    def _locate(self, split: str, index: int) -> tuple[int, int]:
        start = 0
        for shard, n in enumerate(self.r.layout[split]):
            if index < start + n:
                return shard, start
            start += n
        raise IndexError(f"sample {index} is beyond split {split}")

    def _read(self, split: str, index: int) -> dict:
        shard, start = self._locate(split, index)
        if self._open != (split, shard) or index < self._next:
            path = child_url(self.r.in_dir, shard_name(split, shard))
            self._iter, self._open, self._next = iter_tar_samples(path), (split, shard), start
        while True:
            d = next(self._iter)
            self._next += 1
            if self._next - 1 == index:
                return d

    def sample(self, split: str, index: int) -> Sample:
        d = self._read(split, index)
        try:
            sample = Sample.from_wds(d)
        except (ValueError, KeyError) as e:
            raise UserError(f"{d.get('__url__')}: sample {d.get('__key__')} is not in the "
                            f"synthgen sample format ({e})") from None
        rng = sample_rng(self.r.seed, split, index, 1 << 20)
        return augment_sample(sample, self.pipeline, rng)


def augment_shards(in_dir, out_dir, spec: str, seed: int = 0, **run_options) -> RunResult:
    """Write an augmented copy of ``in_dir`` into ``out_dir`` (resumable, deterministic).

    ``in_dir`` is a finished shard directory: local, http(s), ``hf://`` or ``dataset:NAME``;
    ``run_options`` are :func:`~synthtext.dataset.runner.run`'s. Sample ``i`` of a split is
    augmented with ``sample_rng(seed, split, i, 2**20)``.

    Raises:
        UserError: ``out_dir`` is ``in_dir``, or as :meth:`AugmentJob.create` and ``run``.
    """
    if Path(in_dir).resolve() == Path(out_dir).resolve():
        raise UserError("synthgen augment: OUT must differ from IN (shards are never "
                        "rewritten in place)")
    job = AugmentJob.create(in_dir, spec, seed)
    splits = {s: sum(v) for s, v in job.layout.items()}
    return run(job, out_dir, splits, kind="augment", shard_layout=job.layout,
               **run_options)

"""Model and training configuration: two flat dataclasses, presets, files and overrides.

Flat so that every knob is one ``key=value`` on the command line; both dataclasses are stored
as JSON inside every checkpoint, so a checkpoint alone rebuilds its model and its run.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
from dataclasses import dataclass

from synthtext.dataset.errors import ConfigError
from synthtext.dataset.info import read_json_object

from .paths import FileFields

PRESETS = ("tiny", "base")


@dataclass
class ModelConfig:
    """Architecture, preprocessing bounds and decoding guards (they travel with the weights).

    Sizes are pixels of the preprocessed image, counts are tokens; the defaults are the
    ``tiny`` preset (about 1 M parameters, 32-px lines).
    """

    preset: str = "tiny"
    # Encoder: ResNet of BasicBlocks. Strides are (height, width) per stage.
    stem_width: int = 16
    stem_kernel: int = 3
    stem_stride: tuple = (2, 2)
    stem_pool: bool = False  # a 3x3 stride-2 max-pool after the stem (ResNet-34 does)
    widths: tuple = (16, 32, 64, 128)
    depths: tuple = (1, 1, 1, 1)
    strides: tuple = ((1, 1), (2, 2), (2, 1), (2, 1))
    # Decoder
    d_model: int = 128
    nhead: int = 4
    num_layers: int = 3
    dim_ff: int = 512
    dropout: float = 0.1
    line_embedding: bool = False  # add an embedding of the line index (count of "\n" so far)
    max_lines: int = 128
    tags: tuple = ()  # region tags, each one token, e.g. ("<math>", "</math>")
    # Preprocessing: scale so the height lies in [min_height, max_height], width <= max_width
    min_height: int = 32
    max_height: int = 32
    max_width: int = 512
    # Decoding guards
    max_len: int = 128  # tokens, <bos> and <eos> included; longer training labels are skipped
    min_char_area: int = 128  # px^2 of the preprocessed image per output symbol, at most
    repeat_span: int = 16  # stop a row once a unit of <= 4 symbols repeats over this many
    max_period: int = 4

    @property
    def stride(self) -> tuple[int, int]:
        """Total (height, width) down-sampling of the encoder: images are padded to it."""
        sh, sw = self.stem_stride
        if self.stem_pool:
            sh, sw = sh * 2, sw * 2
        for h, w in self.strides:
            sh, sw = sh * h, sw * w
        return sh, sw

    def validate(self) -> "ModelConfig":
        """Return ``self`` if consistent.

        Raises:
            ConfigError: a size or count below 1 (``max_len`` below 3, ``repeat_span``
                below 2), ``dropout`` outside [0, 1), ``d_model`` not a multiple of 4 and
                of ``nhead``, stage lists of different lengths or heights out of order.
        """
        _at_least(self, 1, "stem_width", "stem_kernel", "d_model", "nhead", "num_layers",
                  "dim_ff", "max_lines", "max_width", "min_char_area", "max_period")
        _at_least(self, 3, "max_len")
        _at_least(self, 2, "repeat_span")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout={self.dropout} must be in [0, 1)")
        if self.d_model % 4 or self.d_model % self.nhead:
            raise ConfigError(f"d_model={self.d_model} must be a multiple of 4 and of "
                              f"nhead={self.nhead} (2D position encoding: half y, half x)")
        if not (len(self.widths) == len(self.depths) == len(self.strides)):
            raise ConfigError("widths, depths and strides need one entry per encoder stage")
        if not 1 <= self.min_height <= self.max_height:
            raise ConfigError(f"min_height={self.min_height} must be in 1..max_height="
                              f"{self.max_height}")
        return self


@dataclass
class TrainConfig:
    """Optimisation, data pipeline and bookkeeping of one training run."""

    batch_size: int = 32
    lr: float = 1e-3
    min_lr_ratio: float = 0.05  # cosine ends at lr * min_lr_ratio
    weight_decay: float = 0.01
    betas: tuple = (0.9, 0.98)
    warmup_steps: int = 300
    max_steps: int = 6000  # also the horizon of the cosine schedule
    max_time: str = ""  # e.g. "25m": stop (and checkpoint) after this wall time
    clip_grad: float = 1.0
    label_smoothing: float = 0.0
    amp: str = "auto"  # auto (bf16 on CUDA when supported, else fp16; off on CPU), bf16, fp16, off
    ema_decay: float = 0.0  # 0 = no EMA weights
    seed: int = 0
    augment: str = "none"  # augmentation preset or config file, drawn fresh per sample
    num_workers: int = 1
    threads: int = 0  # torch threads of each training process; 0 = torch's default
    shuffle_buffer: int = 1000  # samples, per shard source and worker
    rebatch_buffer: int = 256  # samples shuffled after the loader, before re-batching
    bucket_px: int = 64  # images whose padded size falls in the same bucket share a batch
    # Weights W0:W1 move from W0 to W1 over this many samples; 200k as DAN's synthetic-data
    # schedule (Coquenet et al. 2023, 0.9 -> 0.2 over 200,000 samples, linear).
    mix_samples: int = 200_000
    mix_curve: str = "linear"  # or cosine
    log_every: int = 50
    val_every: int = 500
    ckpt_every: int = 500
    val_samples: int = 1000
    val_batch_size: int = 64
    val_examples: int = 4  # predictions printed next to their labels at each validation
    beam: int = 1  # decoding width for validation (1 = greedy)
    extra_chars: str = ""  # characters added to the vocabulary besides those found

    def validate(self) -> "TrainConfig":
        """Return ``self`` if consistent.

        Raises:
            ConfigError: an unknown ``amp`` or ``mix_curve``, a count below 1 (below 0 for
                ``warmup_steps``, ``num_workers``, ``val_examples``, ``seed``; ``threads`` 0
                means torch's default), ``lr`` or ``clip_grad`` not finite and above 0,
                ``ema_decay``/``label_smoothing`` outside [0, 1), ``min_lr_ratio`` outside
                [0, 1], ``betas`` not two values in [0, 1), or a ``max_time`` that is no
                duration above 0.
        """
        if self.amp not in ("auto", "bf16", "fp16", "off"):
            raise ConfigError(f"amp={self.amp!r} is not one of auto, bf16, fp16, off")
        if self.mix_curve not in ("linear", "cosine"):
            raise ConfigError(f"mix_curve={self.mix_curve!r} is not linear or cosine")
        _at_least(self, 1, "batch_size", "max_steps", "log_every", "val_every", "ckpt_every",
                  "val_batch_size", "beam", "bucket_px", "shuffle_buffer", "rebatch_buffer",
                  "mix_samples", "val_samples")
        _at_least(self, 0, "warmup_steps", "num_workers", "val_examples", "seed")
        if self.threads < 0:
            raise ConfigError(f"threads={self.threads} must be at least 1 (0: torch's default)")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"lr={self.lr} must be a finite number above 0")
        for name, low, high in (("ema_decay", 0, 1), ("label_smoothing", 0, 1),
                                ("weight_decay", 0, math.inf)):
            value = getattr(self, name)
            if not low <= value < high:
                raise ConfigError(f"{name}={value} must be in [{low}, {high:g})")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ConfigError(f"min_lr_ratio={self.min_lr_ratio} must be in [0, 1]")
        if not (math.isfinite(self.clip_grad) and self.clip_grad > 0):
            raise ConfigError(f"clip_grad={self.clip_grad} must be a finite number above 0")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"betas={list(self.betas)} must be two numbers in [0, 1)")
        if self.max_time and parse_duration(self.max_time) <= 0:
            raise ConfigError(f"max_time={self.max_time!r} must be a duration above 0")
        return self


def _at_least(cfg, low: int, *names: str) -> None:
    """Raise ConfigError naming the first of ``names`` whose value in ``cfg`` is below ``low``."""
    for name in names:
        if getattr(cfg, name) < low:
            raise ConfigError(f"{name}={getattr(cfg, name)} must be at least {low}")


def preset(name: str) -> tuple[ModelConfig, TrainConfig]:
    """The model and training configs of a preset.

    ``tiny``: about 1 M parameters, 32-px lines, trains on 2 CPU cores. ``base``: the shape
    of FPHTR (Singh & Karayev, ICDAR 2021): a ResNet-34 encoder (stages of 3, 4, 6, 3
    blocks, He et al. 2016) and a 6-layer, 4-head Transformer decoder with d_model 260 and
    feed-forward 1024 (the defaults of the tobiasvanderwerff/full-page-handwriting-recognition
    reimplementation); pages up to 1600 px.

    Raises:
        ConfigError: ``name`` is not one of :data:`PRESETS`.
    """
    if name == "tiny":
        return ModelConfig(), TrainConfig()
    if name == "base":
        m = ModelConfig(preset="base", stem_width=64, stem_kernel=7, stem_stride=(2, 2),
                        stem_pool=True, widths=(64, 128, 256, 512), depths=(3, 4, 6, 3),
                        strides=((1, 1), (2, 2), (2, 2), (2, 2)), d_model=260, nhead=4,
                        num_layers=6, dim_ff=1024, dropout=0.1, line_embedding=True,
                        min_height=64, max_height=1600, max_width=1600, max_len=1024,
                        min_char_area=256, repeat_span=32)
        t = TrainConfig(batch_size=16, lr=3e-4, warmup_steps=2000, max_steps=200_000,
                        bucket_px=256, ema_decay=0.999, val_every=2000, ckpt_every=2000,
                        val_batch_size=16, num_workers=4)
        return m, t
    raise ConfigError(f"--preset {name!r} is not one of {', '.join(PRESETS)}")


def to_json(cfg) -> dict:
    """A config dataclass as a JSON-ready dict (tuples become lists when dumped)."""
    return dataclasses.asdict(cfg)


def from_json(cls, d: dict):
    """Rebuild a ``cls`` config from JSON (lists back to tuples).

    Raises:
        ConfigError: an unknown key or a value of the wrong type.
    """
    return apply_overrides(cls(), d, strict=True, what=cls.__name__)


def _fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def _coerce(key: str, value, default):
    """Cast a JSON value or a ``key=value`` string to the type of the field's default."""
    if isinstance(default, bool):
        if isinstance(value, str):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ConfigError(f"{key}={value!r} is not a boolean")
        return bool(value)
    if isinstance(default, tuple):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                value = [v for v in value.split(",") if v]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}={value!r} is not a list (use JSON, e.g. [1,2])")
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    try:
        return type(default)(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}={value!r} is not a {type(default).__name__}") from None


def apply_overrides(cfg, items: dict, strict: bool = True, what: str = "config"):
    """A copy of ``cfg`` with ``items`` applied, each cast to its field's type.

    Raises:
        ConfigError: an unknown key (when ``strict``; else it is ignored) or a value that
            does not cast (``what`` names the config in the message).
    """
    fields = _fields(type(cfg))
    out = {}
    for key, value in items.items():
        if key not in fields:
            if strict:
                raise unknown_key(key, fields, what)
            continue
        out[key] = _coerce(key, value, getattr(cfg, key))
    return dataclasses.replace(cfg, **out)


def unknown_key(key: str, known, what: str) -> ConfigError:
    """The error for an unknown ``key`` of ``what``, with the closest known key as a hint."""
    near = difflib.get_close_matches(key, list(known), n=1)
    hint = f" (did you mean {near[0]}?)" if near else ""
    return ConfigError(f"unknown {what} key {key!r}{hint}")


def parse_overrides(pairs) -> dict:
    """``["lr=3e-4", "d_model=192"]`` -> ``{"lr": "3e-4", "d_model": "192"}`` (strings).

    Raises:
        ConfigError: an item without ``=`` or with an empty key.
    """
    out = {}
    for p in pairs:
        key, sep, value = p.partition("=")
        if not sep or not key:
            raise ConfigError(f"{p!r} is not KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def resolve(preset_name: str, config_file: str | None, overrides: dict
            ) -> tuple[ModelConfig, TrainConfig]:
    """Preset, then a JSON config file (flat or {"model":..,"train":..}), then key=value.

    Raises:
        ConfigError: an unknown preset or key, a bad value, or an unreadable config file.
    """
    m, t = preset(preset_name)
    items = {}
    if config_file:
        items.update(load_config_file(config_file))
    items.update(overrides)
    m, t = split_items(m, t, items)
    return m.validate(), t.validate()


def split_items(m: ModelConfig, t: TrainConfig, items: dict):
    """Apply flat items to whichever dataclass owns the key.

    Raises:
        ConfigError: a key neither config has, or a value that does not cast.
    """
    mf, tf = _fields(ModelConfig), _fields(TrainConfig)
    for key in items:
        if key not in mf and key not in tf:
            raise unknown_key(key, list(mf) + list(tf), "config")
    m = apply_overrides(m, {k: v for k, v in items.items() if k in mf})
    t = apply_overrides(t, {k: v for k, v in items.items() if k in tf})
    return m, t


def load_config_file(path: str) -> dict:
    """The flat ``key -> value`` items of a ``--config`` JSON file.

    The file is either flat (``{"lr": 3e-4, "d_model": 192}``) or split
    (``{"model": {...}, "train": {...}}``); keys are checked later, by :func:`split_items`.
    An ``augment`` config file it names starts from the file's folder (:mod:`model.paths`).

    Raises:
        ConfigError: the file is missing, unreadable, not JSON or not a JSON object.
        UserError: it names an augment config file that does not exist.
    """
    d = read_json_object(path, f"--config {path}")
    if set(d) <= {"model", "train"} and d:
        d = {**d.get("model", {}), **d.get("train", {})}
    if "augment" in d:
        d["augment"] = FileFields(f"--config {path}", path).augment(d["augment"])
    return d


def parse_duration(text: str) -> float:
    """``"90"``/``"90s"``/``"10m"``/``"1.5h"``/``"1h30m"`` -> seconds.

    Raises:
        ConfigError: ``text`` is not such a duration.
    """
    s = str(text).strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return float(s)
    parts = re.findall(r"(\d+(?:\.\d+)?)([smh])", s)
    if not parts or "".join(a + b for a, b in parts) != s:
        raise ConfigError(f"--max-time {text!r} is not a duration like 90s, 10m or 1h30m")
    return sum(float(a) * {"s": 1, "m": 60, "h": 3600}[u] for a, u in parts)


__all__ = ["ModelConfig", "TrainConfig", "PRESETS", "preset", "resolve", "to_json",
           "from_json", "apply_overrides", "parse_overrides", "parse_duration"]

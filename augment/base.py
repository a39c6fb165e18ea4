"""The Op contract, the op registry and the parameter checks shared by every op.

An op is a dataclass whose fields are the *ranges* it samples from (its constructor kwargs,
which are also its config keys); ``sample`` turns them into one concrete, JSON-able params
dict and ``apply`` uses only that dict.  Keeping ``apply`` independent of the constructor is
what lets :func:`augment.replay` reproduce any logged sample from its metadata alone.
"""
from __future__ import annotations

import dataclasses
import typing
from typing import Any, ClassVar

import numpy as np

from synthtext.dataset.errors import ConfigError as _UserConfigError

OPS: dict[str, type] = {}
COMBINATORS: dict[str, type] = {}


class ConfigError(_UserConfigError, ValueError):
    """An augmentation op, parameter or config file is invalid; the message is one line naming it."""


def register(cls):
    """Class decorator: make ``cls`` a dataclass op and list it in :data:`OPS` under ``cls.name``."""
    cls = dataclasses.dataclass(cls)
    if cls.name in OPS:
        raise RuntimeError(f"duplicate op name {cls.name!r}")
    OPS[cls.name] = cls
    return cls


class Op:
    """One augmentation: ``sample`` draws params from the ranges, ``apply`` renders them.

    Subclasses are dataclasses (see :func:`register`); ``CHOICES`` maps a str field to its
    allowed values.  Photometric ops leave quads and shape alone; geometric ops override
    ``apply_quads`` (and ``output_shape`` when they resize).
    """

    name: ClassVar[str] = ""
    geometric: ClassVar[bool] = False
    CHOICES: ClassVar[dict[str, tuple]] = {}

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            setattr(self, f.name, coerce(getattr(self, f.name), hints[f.name], self.name, f.name))
            if f.name in self.CHOICES and getattr(self, f.name) not in self.CHOICES[f.name]:
                self.fail(f.name, f"must be one of {list(self.CHOICES[f.name])}")
        self.validate()

    # --- the contract -------------------------------------------------------------------
    def sample(self, rng: np.random.Generator, image_shape, quads=None) -> dict:
        raise NotImplementedError

    def apply(self, image: np.ndarray, params: dict) -> np.ndarray:
        raise NotImplementedError

    def apply_quads(self, quads, params: dict, image_shape) -> np.ndarray | None:
        return None if quads is None else as_quads(quads).copy()

    def output_shape(self, params: dict, image_shape) -> tuple[int, int]:
        return tuple(int(v) for v in image_shape[:2])

    def records(self, params: dict) -> list[dict]:
        """The leaf ``{"op", "params"}`` records this op's params stand for (itself, for a leaf)."""
        return [{"op": self.name, "params": params}]

    def to_config(self) -> dict:
        """The config node that rebuilds this op (see :mod:`augment.config`)."""
        out = {"op": self.name}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    # --- validation helpers -------------------------------------------------------------
    def validate(self) -> None:
        """Check value bounds; subclasses call :meth:`check_range` / :meth:`check_number`."""

    def fail(self, field: str, message: str):
        raise ConfigError(f"op {self.name!r}: parameter {field!r} {message}")

    def check_number(self, field: str, lo=None, hi=None) -> None:
        v = getattr(self, field)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            self.fail(field, f"must be in [{lo}, {hi}], got {v}")

    def check_range(self, field: str, lo=None, hi=None) -> None:
        a, b = getattr(self, field)
        if a > b:
            self.fail(field, f"must be [low, high] with low <= high, got [{a}, {b}]")
        if (lo is not None and a < lo) or (hi is not None and b > hi):
            self.fail(field, f"must lie within [{lo}, {hi}], got [{a}, {b}]")


def _type_name(hint) -> str:
    if typing.get_origin(hint) is tuple:
        inner = {float: "numbers", int: "integers"}[typing.get_args(hint)[0]]
        return f"a [low, high] pair of {inner} (or one number)"
    return {float: "a number", int: "an integer", bool: "true or false", str: "a string"}[hint]


def coerce(value: Any, hint, op: str, field: str):
    """Convert a config value to the field's type, or raise ConfigError naming op and parameter."""
    def bad():
        return ConfigError(f"op {op!r}: parameter {field!r} must be {_type_name(hint)}, "
                           f"got {type(value).__name__} {value!r}")

    if typing.get_origin(hint) is tuple:
        inner = typing.get_args(hint)[0]
        items = [value, value] if isinstance(value, (int, float)) and not isinstance(value, bool) \
            else value
        if not isinstance(items, (list, tuple)) or len(items) != 2:
            raise bad()
        try:
            return tuple(coerce(v, inner, op, field) for v in items)
        except ConfigError:
            raise bad() from None
    if hint is bool:
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise bad()
    if isinstance(value, (bool, np.bool_)) or hint is str and not isinstance(value, str):
        raise bad()
    if hint is float and isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if hint is int and isinstance(value, (int, np.integer)):
        return int(value)
    if hint is int and isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    if hint is str:
        return value
    raise bad()


# --- small shared helpers -------------------------------------------------------------------
def uniform(rng: np.random.Generator, bounds) -> float:
    """A plain float drawn uniformly from ``(low, high)``."""
    return float(rng.uniform(bounds[0], bounds[1]))


def integer(rng: np.random.Generator, bounds) -> int:
    """A plain int drawn uniformly from the inclusive ``(low, high)``."""
    return int(rng.integers(bounds[0], bounds[1] + 1))


def new_seed(rng: np.random.Generator) -> int:
    """A seed for a noise field, so params stay small yet reproduce the field exactly."""
    return int(rng.integers(0, 2**31 - 1))


def as_quads(quads) -> np.ndarray:
    """Quads as a float64 ``(N, 4, 2)`` array (TL, TR, BR, BL per box)."""
    q = np.asarray(quads, dtype=np.float64)
    if q.size == 0:
        return q.reshape(0, 4, 2)
    if q.ndim == 2 and q.shape == (4, 2):
        q = q[None]
    if q.ndim != 3 or q.shape[1:] != (4, 2):
        raise ValueError(f"quads must have shape (N, 4, 2), got {q.shape}")
    return q


def check_image(image: np.ndarray) -> np.ndarray:
    """Reject what the ops cannot take: they work on uint8 gray (H, W) or colour (H, W, 3)."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        got = getattr(image, "dtype", type(image).__name__)
        raise TypeError(f"augment ops take uint8 numpy images, got {got}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"augment ops take (H, W) or (H, W, 3) images, got shape {image.shape}")
    return image


def shape2(image_shape) -> tuple[int, int]:
    return int(image_shape[0]), int(image_shape[1])


def text_height(quads) -> float | None:
    """Median height of the given boxes (px), or None without usable quads.

    Stroke-scale ops (blur, downscaling, elastic, blotches) cap their magnitude by it, so
    small text is never blurred or warped beyond recognition.
    """
    if quads is None:
        return None
    q = as_quads(quads)
    if not len(q):
        return None
    heights = (np.linalg.norm(q[:, 3] - q[:, 0], axis=1) + np.linalg.norm(q[:, 2] - q[:, 1], axis=1)) / 2
    heights = heights[heights >= 2.0]
    return float(np.median(heights)) if len(heights) else None


def legible(value: float, high: float, quads, fraction: float) -> float:
    """``value`` drawn from a range topping at ``high``, shrunk so ``high`` <= fraction x text height."""
    h = text_height(quads)
    if h is None or high <= 0 or high <= fraction * h:
        return value
    return float(value * fraction * h / high)

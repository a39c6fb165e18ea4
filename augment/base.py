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

from .errors import AugmentConfigError

OPS: dict[str, type] = {}  # op name -> Op subclass, filled by @register
COMBINATORS: dict[str, type] = {}  # combinator name -> class, filled by augment.combinators


def register(cls):
    """Class decorator: make ``cls`` a dataclass op and list it in :data:`OPS` under ``cls.name``.

    Raises:
        RuntimeError: another op already has that name (a programming error, not a user's).
    """
    cls = dataclasses.dataclass(cls)
    if cls.name in OPS:
        raise RuntimeError(f"duplicate op name {cls.name!r}")
    OPS[cls.name] = cls
    return cls


class Op:
    """One augmentation: ``sample`` draws params from the ranges, ``apply`` renders them.

    Subclasses are dataclasses (see :func:`register`) whose fields are the ranges they draw
    from; a ``[low, high]`` field is a closed range, a plain number a fixed setting.  The
    constructor coerces config values to the field types and validates them, raising
    :class:`~augment.errors.AugmentConfigError` naming the op and parameter.  ``CHOICES``
    maps a str field to its allowed values.  Geometric ops override ``apply_quads`` and
    ``move_corners`` (and ``output_shape`` when they resize); ops that compute a pixel from
    its neighbours (blurs, stroke width, JPEG, resize round trips) override ``apply_quads``
    to grow the boxes by their reach; pixel-by-pixel ops keep the defaults.

    Images are uint8 numpy arrays, grayscale ``(H, W)`` or colour ``(H, W, 3)``; quads are
    float ``(N, 4, 2)`` arrays of (x, y) pixel coordinates, corners TL, TR, BR, BL.
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
        """Draw one concrete, JSON-able params dict from this op's ranges.

        Args:
            rng: the only source of randomness; noise fields get a seed drawn from it.
            image_shape: ``(H, W)`` or ``(H, W, C)`` of the image the params are for.
            quads: optional float ``(N, 4, 2)`` boxes of all ink on the page (px); geometric
                ops keep them inside the canvas, stroke-scale ops cap by their text height.
        """
        raise NotImplementedError

    def apply(self, image: np.ndarray, params: dict) -> np.ndarray:
        """A new uint8 image (same shape unless the op resizes) with ``params`` applied.

        Depends only on ``image`` and ``params`` (never on the constructor's ranges).

        Raises:
            TypeError: ``image`` is not a uint8 numpy array.
            ValueError: ``image`` is not ``(H, W)`` or ``(H, W, 3)``.
        """
        raise NotImplementedError

    def apply_quads(self, quads, params: dict, image_shape) -> np.ndarray | None:
        """``quads`` (float ``(N, 4, 2)``, px) after :meth:`apply`: still holding all their ink.

        A geometric op moves the corners and grows each box over every pixel its
        resampling darkens from the box (see :mod:`augment.quads`); an op that reads a
        neighbourhood grows it by that reach (see :mod:`augment.spread`); boxes stay inside
        the canvas.  ``image_shape`` is the image's full shape *before* the op (``(H, W)``
        or ``(H, W, C)``); ``None`` quads give ``None``.  This default (for ops that act
        pixel by pixel) returns an unchanged float64 copy.
        """
        return None if quads is None else as_quads(quads).copy()

    def move_corners(self, quads, params: dict, image_shape) -> np.ndarray | None:
        """``quads`` (float ``(N, 4, 2)``, px) with only their corners moved as the op moves points.

        Cheaper than :meth:`apply_quads` and not grown; used while sampling, where later
        ops fit and cap their params to the text.  Same arguments; this default returns a copy.
        """
        return None if quads is None else as_quads(quads).copy()

    def output_shape(self, params: dict, image_shape) -> tuple[int, int]:
        """``(H, W)`` of the image after :meth:`apply`; the input's, unless the op resizes."""
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
        """Raise :class:`AugmentConfigError` ``op 'name': parameter 'field' <message>``."""
        raise AugmentConfigError(f"op {self.name!r}: parameter {field!r} {message}")

    def check_number(self, field: str, lo=None, hi=None) -> None:
        """Fail unless the number ``field`` lies in ``[lo, hi]`` (``None``: unbounded)."""
        v = getattr(self, field)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            self.fail(field, f"must be in [{lo}, {hi}], got {v}")

    def check_range(self, field: str, lo=None, hi=None) -> None:
        """Fail unless the ``[low, high]`` pair ``field`` has low <= high, both in ``[lo, hi]``."""
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
    """Convert a config value to the field's type hint (float, int, bool, str or a pair).

    A single number is accepted for a ``tuple[float, float]`` range and means a fixed value;
    integral floats are accepted for ints; bools are never numbers.

    Raises:
        AugmentConfigError: the value does not fit; the message names ``op`` and ``field``.
    """
    def bad():
        return AugmentConfigError(f"op {op!r}: parameter {field!r} must be {_type_name(hint)}, "
                                  f"got {type(value).__name__} {value!r}")

    if typing.get_origin(hint) is tuple:
        inner = typing.get_args(hint)[0]
        items = [value, value] if isinstance(value, (int, float)) and not isinstance(value, bool) \
            else value
        if not isinstance(items, (list, tuple)) or len(items) != 2:
            raise bad()
        try:
            return tuple(coerce(v, inner, op, field) for v in items)
        except AugmentConfigError:
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
    """A plain float drawn uniformly from ``(low, high)`` (one ``rng.uniform`` draw)."""
    return float(rng.uniform(bounds[0], bounds[1]))


def integer(rng: np.random.Generator, bounds) -> int:
    """A plain int drawn uniformly from the inclusive ``(low, high)`` (one ``rng.integers`` draw)."""
    return int(rng.integers(bounds[0], bounds[1] + 1))


def new_seed(rng: np.random.Generator) -> int:
    """A seed in ``[0, 2**31 - 1)`` for a noise field, so params stay small yet reproduce it."""
    return int(rng.integers(0, 2**31 - 1))


def random_shift(rng: np.random.Generator, max_shift: float, image_shape) -> list[float]:
    """``[dx, dy]`` in px, each uniform in ``±max_shift`` x the image width / height."""
    h, w = shape2(image_shape)
    return [uniform(rng, (-max_shift, max_shift)) * w, uniform(rng, (-max_shift, max_shift)) * h]


def random_point(rng: np.random.Generator, image_shape) -> list[float]:
    """``[x, y]`` in px, uniform over the canvas (pixel centres ``0 .. W-1``, ``0 .. H-1``)."""
    h, w = shape2(image_shape)
    return [uniform(rng, (0.0, w - 1.0)), uniform(rng, (0.0, h - 1.0))]


def as_quads(quads) -> np.ndarray:
    """Quads as a float64 ``(N, 4, 2)`` array (TL, TR, BR, BL per box; one ``(4, 2)`` box is N=1).

    Raises:
        ValueError: the array cannot be read as ``(N, 4, 2)``.
    """
    q = np.asarray(quads, dtype=np.float64)
    if q.size == 0:
        return q.reshape(0, 4, 2)
    if q.ndim == 2 and q.shape == (4, 2):
        q = q[None]
    if q.ndim != 3 or q.shape[1:] != (4, 2):
        raise ValueError(f"quads must have shape (N, 4, 2), got {q.shape}")
    return q


def check_image(image: np.ndarray) -> np.ndarray:
    """``image`` itself if the ops can take it: uint8 gray ``(H, W)`` or colour ``(H, W, 3)``.

    Raises:
        TypeError: not a uint8 numpy array.
        ValueError: any other shape.
    """
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        got = getattr(image, "dtype", type(image).__name__)
        raise TypeError(f"augment ops take uint8 numpy images, got {got}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"augment ops take (H, W) or (H, W, 3) images, got shape {image.shape}")
    return image


def shape2(image_shape) -> tuple[int, int]:
    """``(H, W)`` as plain ints from any image shape ``(H, W, ...)``."""
    return int(image_shape[0]), int(image_shape[1])


def text_height(quads) -> float | None:
    """Median height of the given boxes (px), or None without usable quads.

    A box's height is the mean length of its left and right edges; boxes under 2 px are
    ignored.  Stroke-scale ops (blur, downscaling, elastic, blotches) cap their magnitude
    by it, so small text is never blurred or warped beyond recognition.
    """
    if quads is None:
        return None
    q = as_quads(quads)
    if not len(q):
        return None
    heights = (np.linalg.norm(q[:, 3] - q[:, 0], axis=1) + np.linalg.norm(q[:, 2] - q[:, 1], axis=1)) / 2
    heights = heights[heights >= 2.0]
    return float(np.median(heights)) if len(heights) else None


def legible_uniform(rng: np.random.Generator, bounds, quads, fraction: float) -> float:
    """A uniform draw from ``bounds``, scaled down so ``bounds[1]`` <= ``fraction`` x text height.

    The whole range shrinks proportionally (a draw at the top of the range lands on the
    cap); without quads (no text height) the draw is returned as is.
    """
    value, high = uniform(rng, bounds), bounds[1]
    h = text_height(quads)
    if h is None or high <= 0 or high <= fraction * h:
        return value
    return float(value * fraction * h / high)

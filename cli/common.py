"""Shared Click plumbing: one-line errors for user mistakes, and option value parsers."""

from __future__ import annotations

import warnings

import click

from synthtext.errors import UserError


class Group(click.Group):
    """A click group that turns :class:`UserError` into ``Error: <one line>`` (exit 2)."""

    def invoke(self, ctx):
        warnings.formatwarning = _one_line_warning
        try:
            return super().invoke(ctx)
        except UserError as e:
            raise UsageFailure(str(e)) from None


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"warning: {message}\n"


class UsageFailure(click.ClickException):
    exit_code = 2


def parse_range(opt: str, value: str | None, cast=int):
    """``"20:44"`` -> (20, 44); ``"32"`` -> (32, 32)."""
    if value is None:
        return None
    try:
        parts = [cast(p) for p in value.split(":")]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not LOW:HIGH", param_hint=opt) from None
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2:
        raise click.BadParameter(f"{value!r} is not LOW:HIGH", param_hint=opt)
    return tuple(parts)


def parse_weights(opt: str, value: str | None, key=str) -> dict | None:
    """``"left=0.5,center=0.2"`` -> {"left": 0.5, "center": 0.2}."""
    if value is None:
        return None
    out = {}
    for item in value.split(","):
        name, sep, weight = item.partition("=")
        try:
            out[key(name.strip())] = float(weight) if sep else 1.0
        except ValueError:
            raise click.BadParameter(f"{item!r} is not NAME=WEIGHT", param_hint=opt) from None
    return out

"""Shared Click plumbing: one-line errors for user mistakes, and option value parsers."""

from __future__ import annotations

import warnings

import click

from synthtext.dataset.errors import UserError


def _invoke_with_one_line_errors(invoke, ctx):
    warnings.formatwarning = _one_line_warning
    try:
        return invoke(ctx)
    except UserError as e:
        raise UsageFailure(str(e)) from None


class Group(click.Group):
    """A click group that turns :class:`UserError` into ``Error: <one line>`` (exit 2)."""

    def invoke(self, ctx):
        return _invoke_with_one_line_errors(super().invoke, ctx)


class Command(click.Command):
    """The same one-line errors for a command invoked outside a :class:`Group`."""

    def invoke(self, ctx):
        return _invoke_with_one_line_errors(super().invoke, ctx)


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


def run_options(f):
    """Options shared by every command that writes shards."""
    for opt in reversed([
        click.option("--workers", type=int, default=1, show_default=True),
        click.option("--shard-size", type=int, default=1000, show_default=True),
        click.option("--image-format", type=click.Choice(["jpg", "png", "webp"]),
                     default="jpg", show_default=True),
        click.option("--quality", type=int, default=90, show_default=True,
                     help="JPEG/WebP quality."),
        click.option("--backend", type=click.Choice(["joblib", "dask"]), default="joblib",
                     show_default=True),
        click.option("--scheduler", help="Dask scheduler address for --backend dask."),
        click.option("--overwrite", is_flag=True,
                     help="Replace shards made with other parameters."),
        click.option("--progress/--no-progress", default=True, show_default=True),
    ]):
        f = opt(f)
    return f


def run_kwargs(opts: dict) -> dict:
    keys = ("shard_size", "image_format", "quality", "workers", "backend", "scheduler",
            "overwrite", "progress")
    return {k: opts[k] for k in keys}

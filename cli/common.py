"""Shared Click plumbing: one-line errors for user mistakes, option value parsers, the
options every shard-writing command takes, and the summary printed after a run."""

from __future__ import annotations

import warnings

import click

from synthtext.dataset.catalogue import register_run
from synthtext.dataset.errors import UserError
from synthtext.dataset.text import NORMALIZE_FORMS


def _invoke_with_one_line_errors(invoke, ctx):
    warnings.formatwarning = _one_line_warning
    try:
        return invoke(ctx)
    except UserError as e:
        raise UsageFailure(str(e)) from None


class Group(click.Group):
    """A click group that turns :class:`UserError` into ``Error: <one line>`` (exit 2) and
    prints warnings as ``warning: <message>``."""

    def invoke(self, ctx):
        """click's ``invoke``, with user mistakes as one line (see the class)."""
        return _invoke_with_one_line_errors(super().invoke, ctx)


class Command(click.Command):
    """The same one-line errors for a command invoked outside a :class:`Group`."""

    def invoke(self, ctx):
        """click's ``invoke``, with user mistakes as one line (see the class)."""
        return _invoke_with_one_line_errors(super().invoke, ctx)


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"warning: {message}\n"


class UsageFailure(click.ClickException):
    """A user mistake reported as ``Error: <message>`` with exit status 2 (click's status
    for usage errors), without a traceback."""

    exit_code = 2


def parse_range(opt: str, value: str | None, cast=int):
    """``"20:44"`` -> (20, 44); ``"32"`` -> (32, 32); None -> None.

    Raises:
        click.BadParameter: naming ``opt`` when ``value`` is not ``LOW[:HIGH]`` of ``cast``.
    """
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
    """``"left=0.5,center=0.2"`` -> {"left": 0.5, "center": 0.2}; a bare name weighs 1.0.

    Raises:
        click.BadParameter: naming ``opt`` when a weight is not a number or ``key`` rejects
            a name.
    """
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


def given_options(opts: dict, ranges: dict, scalars) -> dict:
    """Config keyword arguments for the options the user gave (others keep the config's
    defaults): ``ranges`` maps a field to the type of its ``LOW:HIGH`` option (``font_size``
    is ``--font-size``), ``scalars`` names fields taken as click parsed them.

    Raises:
        click.BadParameter: for a range that is not ``LOW:HIGH`` (see :func:`parse_range`).
    """
    kw = {}
    for name, cast in ranges.items():
        value = parse_range("--" + name.replace("_", "-"), opts.get(name), cast)
        if value is not None:
            kw[name] = value
    for name in scalars:
        if opts.get(name) is not None:
            kw[name] = opts[name]
    return kw


augment_option = click.option(
    "--augment", default="none", show_default=True,
    help="Augmentation preset (none, light, medium, heavy) or a config file.")


normalize_option = click.option(
    "--normalize", type=click.Choice(NORMALIZE_FORMS, case_sensitive=False), default="NFC",
    show_default=True, metavar="[NFC|NFKC|none]",
    help="Unicode normalisation of the label text (NFKC also folds ligatures and full-width "
         "forms). Either way, characters that draw nothing (soft hyphen, zero-width space, "
         "bidi marks...) are removed from text and label; ZWJ/ZWNJ stay inside joining "
         "scripts.")


def run_options(f):
    """Options shared by every command that writes shards (see :func:`run_kwargs`)."""
    for opt in reversed([
        click.option("--workers", type=int, default=1, show_default=True),
        click.option("--shard-size", type=click.IntRange(1), default=1000, show_default=True,
                     help="Samples per shard."),
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
    """The :func:`run_options` values as keyword arguments of
    :func:`synthtext.dataset.runner.run`."""
    keys = ("shard_size", "image_format", "quality", "workers", "backend", "scheduler",
            "overwrite", "progress")
    return {k: opts[k] for k in keys}


def write_shards(write, cfg, opts: dict):
    """Run a shard writer (``render_shards`` or ``stitch_shards``) on ``cfg`` with the
    command's ``--out``, ``-n`` and :func:`run_options`, then :func:`finish_run`; returns
    the writer's :class:`~synthtext.dataset.runner.RunResult`."""
    result = write(cfg, opts["out"], opts["n"], **run_kwargs(opts))
    finish_run(result)
    return result


def finish_run(result) -> None:
    """Name a finished run (a :class:`synthtext.dataset.runner.RunResult`) in the local
    catalogue (``dataset:NAME``) and print its summary: samples per split, shards written
    and skipped, samples/s, rejected attempts by cause."""
    name = register_run(result.out)
    m = result.info
    stats = m.get("stats", {})
    rate = result.samples / result.seconds if result.seconds else 0.0
    shards = sum(len(s.get("shards", [])) for s in m["splits"].values())
    rejects = ", ".join(f"{k} {v}" for k, v in stats.get("rejects", {}).items()) or "none"
    splits = ", ".join(f"{k} {v['samples']}" for k, v in m["splits"].items())
    click.echo(f"{result.out}: {result.samples} samples ({splits}) in {shards} shards; "
               f"{result.shards_written} written, {result.shards_skipped} already complete; "
               f"{result.seconds:.1f} s ({rate:.1f} samples/s)")
    click.echo(f"rejected attempts: {rejects}")
    if name:
        click.echo(f"catalogued as dataset:{name}")

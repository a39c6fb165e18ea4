"""Shared Click plumbing: every failure as one line, the option types every command checks
its values with, the options every shard-writing command takes, and the run summary.

Every ``synthgen`` and ``fphtr`` command runs under :class:`Group`/:class:`Command`, which
print what goes wrong as one line on stderr, never a traceback:

- a user mistake (:class:`~synthtext.dataset.errors.UserError`) or a bad option value
  (click's usage errors) -> ``Error: <message>``, exit status 2;
- an OS error (permission, not a directory, disk full...) -> ``Error: PATH: reason``,
  exit status 2 (the fix is the user's: another path, more space);
- Ctrl-C -> ``interrupted``, exit status 130 (128 + SIGINT, the shell's convention);
- each warning -> ``warning: <message>``, once per process however often it is raised.
"""

from __future__ import annotations

import errno
import math
import sys
import warnings
from contextlib import contextmanager

import click
from click.exceptions import NoArgsIsHelpError

from synthtext.dataset.catalogue import register_run
from synthtext.dataset.errors import UserError
from synthtext.dataset.text import NORMALIZE_FORMS


class UsageFailure(click.ClickException):
    """A user mistake reported as ``Error: <message>`` (one line: line breaks in the
    message become ``; ``) with exit status 2 (click's status for usage errors)."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__("; ".join(p.strip() for p in str(message).splitlines() if p.strip()))


class Interrupted(click.ClickException):
    """Ctrl-C: ``interrupted`` on stderr, exit status 130."""

    exit_code = 130

    def __init__(self):
        super().__init__("interrupted")

    def show(self, file=None) -> None:
        """Print ``interrupted`` on a line of its own (after the terminal's ``^C``)."""
        lead = "\n" if sys.stderr.isatty() else ""
        click.echo(f"{lead}interrupted", err=True)


def usage_line(e: click.UsageError, ctx: click.Context | None = None) -> str:
    """Click's usage error as one line naming the option, and where its help is:
    ``--shard-size: 0 is not in the range x>=1 (see 'synthgen render --help')``."""
    msg = e.format_message()
    if isinstance(e, click.BadParameter) and not isinstance(e, click.MissingParameter):
        name = e.param_hint if isinstance(e.param_hint, str) else _param_name(e.param)
        if name:
            msg = f"{name}: {e.message}"
    ctx = e.ctx or ctx
    where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return msg.rstrip(".") + where


def _param_name(param) -> str | None:
    if isinstance(param, click.Option):
        return " / ".join(param.opts)
    return param.human_readable_name if param is not None else None


def os_error_line(e: OSError) -> str:
    """``PATH: reason`` (``SRC -> DST: reason`` for a rename) of an OS error; its text
    alone when it names no file (a network error)."""
    paths = " -> ".join(str(p) for p in (e.filename, e.filename2) if p is not None)
    why = e.strerror or str(e)
    return f"{paths}: {why}" if paths else why


def _invoke_one_line(invoke, ctx: click.Context):
    try:
        return invoke(ctx)
    except UserError as e:
        raise UsageFailure(str(e)) from None
    except NoArgsIsHelpError:
        raise  # a bare group prints its help
    except click.UsageError as e:
        raise UsageFailure(usage_line(e, ctx)) from None
    except KeyboardInterrupt:
        raise Interrupted() from None
    except OSError as e:
        if e.errno == errno.EPIPE:
            raise  # click quiets a closed pipe (`synthgen ... | head`)
        raise UsageFailure(os_error_line(e)) from None


@contextmanager
def warnings_once():
    """Within: each warning prints as ``warning: <message>`` (one line) on stderr, and a
    message already printed is not printed again. (Only the format changes, so a test's
    ``pytest.warns`` still records every warning.)"""
    seen: set[str] = set()

    def one_line(message, category, filename, lineno, line=None) -> str:
        text = " ".join(str(message).split())
        if text in seen:
            return ""  # what is written for a repeat: nothing
        seen.add(text)
        return f"warning: {text}\n"

    saved = warnings.formatwarning
    warnings.formatwarning = one_line
    try:
        yield
    finally:
        warnings.formatwarning = saved


class _OneLine:
    """What :class:`Group` and :class:`Command` share (see the module docstring)."""

    def make_context(self, info_name, args, parent=None, **extra):
        """click's ``make_context``, with a bad option or argument reported as one line."""
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except NoArgsIsHelpError:
            raise
        except click.UsageError as e:
            raise UsageFailure(usage_line(e)) from None

    def invoke(self, ctx):
        """click's ``invoke``, with every failure as one line (see the module docstring)."""
        if ctx.parent is not None:
            return _invoke_one_line(super().invoke, ctx)
        with warnings_once():
            return _invoke_one_line(super().invoke, ctx)


class Command(_OneLine, click.Command):
    """A click command whose failures are one line (see the module docstring), also when
    it is invoked outside a :class:`Group`."""


class Group(_OneLine, click.Group):
    """A click group whose failures are one line (see the module docstring); the commands
    and groups declared on it are :class:`Command` and :class:`Group` too."""

    command_class = Command
    group_class = type  # groups declared on a Group are of its own class


# option value types: every count, seed and quality is checked by click before a command runs
COUNT = click.IntRange(min=1)
MAX_SAMPLES = 10**9  # -n of a shard-writing command: a billion samples is beyond any run here
NUM = click.IntRange(1, MAX_SAMPLES)
SEED = click.IntRange(min=0)
QUALITY = click.IntRange(75, 100)  # see synthtext.dataset.runner.MIN_QUALITY


class OutPath(click.Path):
    """A ``click.Path`` for what a command writes, refusing an empty or blank name (which
    would write into the current folder)."""

    def convert(self, value, param, ctx):
        """The path, after click's checks.

        Raises:
            click.BadParameter: ``value`` is empty or only blanks.
        """
        if isinstance(value, str) and not value.strip():
            self.fail("an empty name is not a path; name the output", param, ctx)
        return super().convert(value, param, ctx)


def parse_range(opt: str, value: str | None, cast=int):
    """``"20:44"`` -> (20, 44); ``"32"`` -> (32, 32); None -> None.

    Raises:
        click.BadParameter: naming ``opt`` when ``value`` is not ``LOW[:HIGH]`` of finite
            ``cast`` numbers (whether LOW <= HIGH is the config's to check).
    """
    if value is None:
        return None
    try:
        parts = [cast(p) for p in value.split(":")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not all(math.isfinite(p) for p in parts):
        raise click.BadParameter(f"{value!r} is not LOW:HIGH (e.g. 20:40)", param_hint=opt)
    return tuple(parts)


def parse_weights(opt: str, value: str | None, key=str) -> dict | None:
    """``"left=0.5,center=0.2"`` -> {"left": 0.5, "center": 0.2}; a bare name weighs 1.0.

    Raises:
        click.BadParameter: naming ``opt`` when a weight is not a finite number, ``key``
            rejects a name, or a name is given twice (also when only its case differs).
    """
    if value is None:
        return None
    out = {}
    for item in value.split(","):
        name, sep, weight = item.partition("=")
        try:
            k, w = key(name.strip()), float(weight) if sep else 1.0
        except ValueError:
            k, w = None, math.nan
        if not math.isfinite(w):
            raise click.BadParameter(f"{item!r} is not NAME=WEIGHT", param_hint=opt)
        if str(k).casefold() in {str(o).casefold() for o in out}:
            raise click.BadParameter(f"{name.strip()!r} is given twice (names may not differ "
                                     "only in case: they collide on case-insensitive file "
                                     "systems)", param_hint=opt)
        out[k] = w
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
        click.option("--workers", type=COUNT, default=1, show_default=True,
                     help="Local worker processes (--backend joblib)."),
        click.option("--shard-size", type=COUNT, default=1000, show_default=True,
                     help="Samples per shard."),
        click.option("--image-format", type=click.Choice(["jpg", "png", "webp"]),
                     default="jpg", show_default=True),
        click.option("--quality", type=QUALITY, default=90, show_default=True,
                     help="JPEG/WebP quality, 1-100."),
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
    :func:`synthtext.dataset.runner.run`.

    Raises:
        click.BadParameter: ``--scheduler`` without ``--backend dask`` (it would be ignored).
    """
    if opts.get("scheduler") and opts["backend"] != "dask":
        raise click.BadParameter("only --backend dask uses a scheduler; add --backend dask "
                                 "or leave --scheduler out", param_hint="--scheduler")
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

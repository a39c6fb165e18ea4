"""``synthgen fonts``: fetch the manifest fonts, list them, check a corpus against them."""

from __future__ import annotations

import errno
import json
import os
import time

import click

from .common import COUNT, Group

_MANIFEST = click.option("--manifest", default="default", show_default=True,
                         help="default, handwriting, print, embedded, or a manifest .json.")
_DEST = click.option("--dest", type=click.Path(file_okay=False),
                     help="Font cache directory (default: $SYNTHGEN_FONTS or the user cache).")
_ONLY = click.option("--only", type=click.Choice(["all", "print", "handwriting"]),
                     default="all", show_default=True, help="Which fonts of the manifest.")


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
def fonts():
    """Fonts: fetch the manifest fonts into the cache, list them, check a corpus."""


@fonts.command()
@_MANIFEST
@_DEST
@_ONLY
@click.option("--workers", type=COUNT, default=8, show_default=True,
              help="Fonts fetched at once.")
@click.option("--progress/--no-progress", default=True, show_default=True)
@click.pass_context
def fetch(ctx, manifest, dest, only, workers, progress):
    """Get every font of a manifest, verify its sha256, install it into the cache.

    Idempotent and resumable: installed fonts are skipped. A font that fails is reported
    as `font <id>: <cause>` while the rest install; the exit status is 1 if any failed.
    """
    # the font modules import Pillow (~20 ms): kept off the startup path of `synthgen --help`
    from synthtext.fonts.fetch import fetch_fonts
    from synthtext.fonts.manifest import fonts_cache_dir, load_manifest, manifest_arg

    m = load_manifest(manifest_arg(manifest))
    cache = fonts_cache_dir(dest)
    entries = m.select(only)
    _writable_dir(cache)
    t0 = time.perf_counter()
    outcomes = fetch_fonts(entries, m.path.parent, cache, workers=workers, progress=progress)
    failed = [o for o in outcomes if o.status == "failed"]
    for o in outcomes:
        if o.status == "failed" or o.detail:
            click.echo(f"font {o.id}: {o.detail}", err=True)
    new = sum(o.status == "installed" for o in outcomes)
    click.echo(f"{m.name}: {len(entries)} fonts, {new} installed, "
               f"{len(outcomes) - new - len(failed)} already present, {len(failed)} failed "
               f"({time.perf_counter() - t0:.1f} s) in {cache}")
    ctx.exit(1 if failed else 0)


def _writable_dir(path) -> None:
    """Create the font cache ``path``, so that an unusable ``--dest`` is one error rather
    than one a font.

    Raises:
        OSError: it cannot be created, or is not writable (naming it).
    """
    path.mkdir(parents=True, exist_ok=True)
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))


@fonts.command(name="list")
@_MANIFEST
@_DEST
@_ONLY
@click.option("--installed", "installed_only", is_flag=True, help="Only installed fonts.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
def list_(manifest, dest, only, installed_only, as_json):
    """Fonts of a manifest: id, family, category (* = cursive), license, installed?,
    coverage of Basic Latin / Latin-1 / Latin Extended-A / Greek."""
    # Pillow and numpy (font modules): kept off the startup path
    from synthtext.fonts.manifest import load_manifest, manifest_arg
    from synthtext.fonts.report import format_rows, list_rows

    m = load_manifest(manifest_arg(manifest))
    rows = list_rows(m, only, dest)
    if installed_only:
        rows = [r for r in rows if r["installed"]]
    if as_json:
        for r in rows:
            click.echo(json.dumps(r, ensure_ascii=False))
        return
    click.echo(format_rows(rows))
    n = sum(r["installed"] for r in rows)
    click.echo(f"{m.name}: {len(rows)} fonts, {n} installed"
               + ("" if n == len(rows) else " (`synthgen fonts fetch` gets the rest)"))


@fonts.command()
@click.option("--corpus", required=True, type=click.Path(dir_okay=False),
              help="Text corpus to check.")
@click.option("--corpus-format", type=click.Choice(["auto", "wikitext", "text", "lines"]),
              default="auto", show_default=True)
@click.option("--encoding", default="utf-8", show_default=True)
@click.option("--fonts", "fonts_arg", default="all", show_default=True,
              help="all, print, handwriting, embedded, a font directory or a manifest.")
@click.option("--top", type=COUNT, help="Show only the N best-covering fonts.")
def check(corpus, corpus_format, encoding, fonts_arg, top):
    """Per font, the share of the corpus characters it renders; the symbol fonts, which are
    skipped (their glyphs are not the characters their cmap claims); then the characters
    that no font renders, with counts (what render will resample or strip)."""
    # Pillow and numpy (font modules): kept off the startup path
    from synthtext.fonts.fontset import FontSet, resolve_fonts
    from synthtext.fonts.report import check_counts, corpus_counts, format_report

    counts, name = corpus_counts(corpus, corpus_format, encoding)
    report = check_counts(counts, FontSet(resolve_fonts(fonts_arg), require_any=False))
    click.echo(format_report(report, name, top))

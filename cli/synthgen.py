"""``synthgen``: make training data (render, and the commands that inspect it)."""

from __future__ import annotations

import click

from .common import (
    COUNT,
    NUM,
    SEED,
    Group,
    OutPath,
    augment_option,
    finish_run,
    normalize_option,
    run_kwargs,
    run_options,
    write_shards,
)
from .export_cmd import export_cmd
from .fonts_cmd import fonts
from .hub_cmd import card, datasets, publish
from .import_cmd import import_cmd
from .options import render_config
from .stitch_cmd import stitch

MIN_CELL = 8  # px: the narrowest cell augment.preview.contact_sheet draws
MAX_CELL = 4096  # px: the widest cell preview draws (the sheet's width is capped too)
MAX_CELLS = 1000  # preview -n: more cells than this are no longer looked at
SHEET_SUFFIXES = (".png",)  # preview always writes PNG bytes


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="synthgen")
def main():
    """Synthetic training data for full-page handwriting recognition."""


@main.command()
@click.option("--corpus", "corpora", multiple=True, metavar="FILE[:WEIGHT]",
              help="Text corpus (repeatable, optional weight). Default: a small embedded corpus.")
@click.option("--corpus-format", type=click.Choice(["auto", "wikitext", "text", "lines"]),
              default="auto", show_default=True)
@click.option("--encoding", default="utf-8", show_default=True, help="Corpus encoding.")
@normalize_option
@click.option("--fonts", default="embedded", show_default=True,
              help="embedded, all, print, handwriting (fetched manifest fonts), a font "
                   "directory, or a font manifest (.json).")
@click.option("--out", required=True, type=OutPath(file_okay=False), help="Shard directory.")
@click.option("-n", "--num", "n", type=NUM, default=1000, show_default=True,
              help="Number of samples (over all splits), at most 10^9.")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--layout", type=click.Choice(["page", "line"]), default="page", show_default=True)
@click.option("--length-unit", type=click.Choice(["chars", "words", "lines"]), default="words",
              show_default=True)
@click.option("--length", help="LOW:HIGH text length in --length-unit.")
@click.option("--length-dist", type=click.Choice(["uniform", "loguniform"]), default="uniform",
              show_default=True, help="How --length is drawn (loguniform: more short texts).")
@click.option("--width", help="LOW:HIGH canvas width in px (page layout).")
@click.option("--height", help="LOW:HIGH canvas height in px (page layout).")
@click.option("--margin", help="LOW:HIGH margin as a fraction of the shorter side.")
@click.option("--font-size", help="LOW:HIGH font size in px.")
@click.option("--line-height", help="LOW:HIGH image height in px (line layout).")
@click.option("--line-spacing", help="LOW:HIGH line pitch / font height.")
@click.option("--align", help="Alignment weights, e.g. left=0.6,justify=0.2,center=0.1,right=0.1")
@click.option("--rotation", help="Page rotation weights, e.g. 0=0.94,90=0.02,180=0.02,270=0.02")
@click.option("--skew", type=float, help="Probability of a small skew.")
@click.option("--max-skew", type=click.FloatRange(0, 45), help="Largest skew in degrees (0-45).")
@click.option("--cursive-ratio", type=float, help="Share of cursive/handwriting fonts.")
@click.option("--missing-glyphs", type=click.Choice(["resample", "strip", "error"]),
              default="resample", show_default=True,
              help="What to do with characters no font renders.")
@click.option("--split", "split", help="Held-out splits by corpus region, e.g. train=0.98,validation=0.02")
@augment_option
@run_options
def render(**opts):
    """Render corpus spans in many fonts into WebDataset shards."""
    # the renderer imports numpy, OpenCV and FreeType: kept off the startup path
    from synthtext.render.generate import render_shards

    write_shards(render_shards, render_config(opts), opts)


@main.command("augment")
@click.argument("in_dir", type=click.Path(file_okay=False))
@click.argument("out_dir", type=OutPath(file_okay=False))
@click.option("--preset", default="medium", show_default=True,
              help="none, light, medium, heavy, or a JSON/YAML config file.")
@click.option("--seed", type=SEED, default=0, show_default=True)
@run_options
def augment_cmd(in_dir, out_dir, preset, seed, **opts):
    """Write an augmented copy of a shard directory (parameters stored per sample)."""
    # augmenting imports numpy and OpenCV: kept off the startup path
    from synthtext.augmenting.shards import augment_shards

    finish_run(augment_shards(in_dir, out_dir, preset, seed, **run_kwargs(opts)))


@main.command()
@click.argument("source")
@click.option("--out", required=True, type=OutPath(dir_okay=False),
              help="PNG to write (name ending in .png).")
@click.option("-n", "n", type=click.IntRange(1, MAX_CELLS), default=24, show_default=True,
              help=f"Number of cells (at most {MAX_CELLS}).")
@click.option("--augment", help="Show one sample under N draws of this preset or config.")
@click.option("--columns", type=COUNT, default=6, show_default=True)
@click.option("--cell-width", type=click.IntRange(MIN_CELL, MAX_CELL), default=320,
              show_default=True, help=f"Cell width in px ({MIN_CELL}-{MAX_CELL}).")
@click.option("--boxes", is_flag=True, help="Draw the line quads.")
@click.option("--seed", type=SEED, default=0, show_default=True)
def preview(source, out, n, augment, columns, cell_width, boxes, seed):
    """Contact sheet of the samples in SOURCE (shard dir, .tar, glob or {a..b} pattern)."""
    # preview imports numpy and OpenCV: kept off the startup path
    from synthtext.preview import preview_sheet, write_png

    if not out.lower().endswith(SHEET_SUFFIXES):
        raise click.BadParameter(f"{out!r}: preview writes a PNG; name it NAME.png",
                                 param_hint="--out")
    sheet = preview_sheet(source, n, augment, columns, cell_width, seed, boxes)
    write_png(out, sheet)
    click.echo(f"{out}: {sheet.shape[1]}x{sheet.shape[0]} contact sheet")


# commands that live in their own modules (one module per room)
for _command in (stitch, fonts, card, publish, datasets, import_cmd, export_cmd):
    main.add_command(_command)

if __name__ == "__main__":
    main()

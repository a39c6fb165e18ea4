"""``synthgen``: make training data (render, and the commands that inspect it)."""

from __future__ import annotations

import click

from .common import Group, parse_range, parse_weights


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
@click.option("--fonts", default="embedded", show_default=True,
              help="embedded, a font directory, or a font manifest (.json).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Shard directory.")
@click.option("-n", "--num", "n", type=int, default=1000, show_default=True,
              help="Number of samples (over all splits).")
@click.option("--workers", type=int, default=1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--layout", type=click.Choice(["page", "line"]), default="page", show_default=True)
@click.option("--length-unit", type=click.Choice(["chars", "words", "lines"]), default="words",
              show_default=True)
@click.option("--length", help="LOW:HIGH text length in --length-unit (log-uniform).")
@click.option("--width", help="LOW:HIGH canvas width in px (page layout).")
@click.option("--height", help="LOW:HIGH canvas height in px (page layout).")
@click.option("--margin", help="LOW:HIGH margin as a fraction of the shorter side.")
@click.option("--font-size", help="LOW:HIGH font size in px.")
@click.option("--line-height", help="LOW:HIGH image height in px (line layout).")
@click.option("--line-spacing", help="LOW:HIGH line pitch / font height.")
@click.option("--align", help="Alignment weights, e.g. left=0.6,justify=0.2,center=0.1,right=0.1")
@click.option("--rotation", help="Page rotation weights, e.g. 0=0.94,90=0.02,180=0.02,270=0.02")
@click.option("--skew", type=float, help="Probability of a small skew.")
@click.option("--max-skew", type=float, help="Largest skew in degrees.")
@click.option("--cursive-ratio", type=float, help="Share of cursive/handwriting fonts.")
@click.option("--missing-glyphs", type=click.Choice(["resample", "strip", "error"]),
              default="resample", show_default=True,
              help="What to do with characters no font renders.")
@click.option("--split", "split", help="Held-out splits by corpus region, e.g. train=0.98,validation=0.02")
@click.option("--augment", default="none", show_default=True,
              help="Augmentation preset (none, light, medium, heavy) or a config file.")
@click.option("--shard-size", type=int, default=1000, show_default=True)
@click.option("--image-format", type=click.Choice(["jpg", "png", "webp"]), default="jpg",
              show_default=True)
@click.option("--quality", type=int, default=90, show_default=True, help="JPEG/WebP quality.")
@click.option("--backend", type=click.Choice(["joblib", "dask"]), default="joblib",
              show_default=True)
@click.option("--scheduler", help="Dask scheduler address for --backend dask.")
@click.option("--overwrite", is_flag=True, help="Replace shards made with other parameters.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def render(**opts):
    """Render corpus spans in many fonts into WebDataset shards."""
    from synthtext.generate import render_shards

    from .options import print_summary, render_config

    cfg = render_config(opts)
    result = render_shards(cfg, opts["out"], opts["n"], shard_size=opts["shard_size"],
                           image_format=opts["image_format"], quality=opts["quality"],
                           workers=opts["workers"], backend=opts["backend"],
                           scheduler=opts["scheduler"], overwrite=opts["overwrite"],
                           progress=opts["progress"])
    print_summary(result)


if __name__ == "__main__":
    main()

"""``synthgen stitch``: real handwriting line crops stitched into pages, as WebDataset shards.

Registered by ``cli/synthgen.py`` (``main.add_command(stitch)``); also usable on its own.
"""

from __future__ import annotations

import click

from .common import (
    NUM,
    SEED,
    Command,
    OutPath,
    augment_option,
    given_options,
    normalize_option,
    parse_weights,
    run_options,
    write_shards,
)

_RANGES = {"page_lines": int, "body_height": int, "line_spacing": float, "min_gap": float,
           "margin": float, "indent_spaces": int, "ink": int, "paper": int}
_RULES = {"files": "--split-file", "column": "the split column", "hash": "writer hash (--holdout)",
          "none": "nothing: all train"}
_SCALARS = ("same_document", "height_jitter", "indent", "jitter", "heading", "print_lines",
            "max_width", "max_height")


@click.command(cls=Command)
@click.option("--lines", "lines", required=True, metavar="DIR|LIST",
              help="IAM root (or its lines.txt), a TSV/CSV/JSONL line list, a folder of "
                   "name.png + name.txt, WebDataset line shards, or a folder of PAGE-XML or "
                   "ALTO pages with their images (lines cut by their polygons).")
@click.option("--format", "fmt", default="auto", show_default=True,
              type=click.Choice(["auto", "iam", "tsv", "jsonl", "dir", "wds", "pagexml",
                                 "alto"]))
@click.option("--encoding", default="utf-8", show_default=True,
              help="Transcription encoding (undecodable text falls back to cp1252, counted).")
@normalize_option
@click.option("--include-err", is_flag=True, help="Use IAM lines whose status is err.")
@click.option("--split", "split", default="train", show_default=True,
              help="Output split(s) and weights, e.g. train or train=0.9,validation=0.1; "
                   "a page only draws crops of its own split.")
@click.option("--split-file", "split_files", multiple=True, metavar="SPLIT=FILE",
              help="Ids (line, form/document or writer) of a split, one per line; repeatable.")
@click.option("--holdout", help="Without split files or a split column: writers hashed into "
                                "held-out splits, e.g. validation=0.05,test=0.05 (rest: train).")
@click.option("--out", required=True, type=OutPath(file_okay=False), help="Shard directory.")
@click.option("-n", "--num", "n", type=NUM, default=1000, show_default=True,
              help="Number of pages (over all splits), at most 10^9.")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--page-lines", help="LOW:HIGH handwritten lines per page (default 3:10).")
@click.option("--same-document", type=float,
              help="P(consecutive lines of one document/writer) where the input knows them.")
@click.option("--body-height", help="LOW:HIGH normalised x-height in px, 10-256 (default 16:28).")
@click.option("--height-jitter", type=float, help="Per-line relative body height variation.")
@click.option("--line-spacing", help="LOW:HIGH baseline pitch / body height (default 2.4:3.4).")
@click.option("--min-gap", help="LOW:HIGH body heights between adjacent lines' ink.")
@click.option("--margin", help="LOW:HIGH margins in body heights (default 1:6).")
@click.option("--indent", type=float, help="P(a line is indented).")
@click.option("--indent-spaces", help="LOW:HIGH indentation in spaces.")
@click.option("--jitter", type=float, help="Max horizontal jitter in space widths (<= 0.2).")
@click.option("--ink", help="LOW:HIGH ink grey level.")
@click.option("--paper", help="LOW:HIGH paper grey level.")
@click.option("--heading", type=float, help="P(a rendered print heading on a page).")
@click.option("--print-lines", type=float, help="P(a line is rendered print instead of a crop).")
@click.option("--max-width", type=int, help="Page width limit in px (default 2480).")
@click.option("--max-height", type=int, help="Page height limit in px (default 3508).")
@augment_option
@run_options
def stitch(**opts):
    """Stitch handwriting line crops into labelled pages (WebDataset shards)."""
    # stitcher imports numpy and OpenCV: kept off the startup path of `synthgen --help`
    from stitcher.generate import stitch_shards

    result = write_shards(stitch_shards, stitch_config(opts), opts)
    print_inputs(result.info["config"]["inputs"])


def stitch_config(opts: dict):
    """The validated :class:`~stitcher.config.StitchConfig` of ``synthgen stitch``'s parsed
    options (click's ``params``); options left out keep the config's defaults.

    Raises:
        click.BadParameter: for a malformed range, weight list or ``--split-file``.
        synthtext.dataset.errors.ConfigError: for values that cannot work (see
            :meth:`StitchConfig.validate`).
    """
    # the stitcher package imports numpy and OpenCV: kept off the startup path
    from stitcher.config import StitchConfig

    kw = given_options(opts, _RANGES, _SCALARS)
    split = parse_weights("--split", opts["split"])
    holdout = parse_weights("--holdout", opts.get("holdout")) or {}
    files = []
    for item in opts.get("split_files") or ():
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path:
            raise click.BadParameter(f"{item!r} is not SPLIT=FILE", param_hint="--split-file")
        files.append((name.strip(), path))
    return StitchConfig(lines=opts["lines"], format=opts["fmt"], encoding=opts["encoding"],
                        normalize=opts["normalize"], include_err=opts["include_err"],
                        split_files=tuple(files), split=tuple(split.items()),
                        holdout=tuple(holdout.items()),
                        seed=opts["seed"], augment=opts["augment"],
                        **kw).validate()


def print_inputs(inputs: dict) -> None:
    """Print the input summary (``dataset.json``'s ``config.inputs``, from
    :meth:`stitcher.index.LineIndex.summary`): usable crops per split, where the splits came
    from, and every skipped input by cause with up to three example ids."""
    by_split = ", ".join(f"{k} {v}" for k, v in inputs["crops_by_split"].items())
    rule = _RULES.get(inputs["split_rule"], inputs["split_rule"])
    click.echo(f"inputs: {inputs['crops']} line crops ({by_split}) from {inputs['source']} "
               f"[{inputs['format']}; splits from {rule}]")
    skipped = inputs.get("skipped") or {}
    if not skipped:
        click.echo("skipped inputs: none")
        return
    parts = []
    for cause, count in skipped.items():
        ex = inputs["skipped_examples"].get(cause, [])
        more = ", ..." if count > len(ex[:3]) else ""
        parts.append(f"{cause} {count} ({', '.join(ex[:3])}{more})")
    click.echo("skipped inputs: " + "; ".join(parts))

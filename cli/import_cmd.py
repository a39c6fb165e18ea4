"""``synthgen import``: real annotated pages (PAGE-XML or ALTO + images) as WebDataset shards.

Registered by ``cli/synthgen.py`` (``main.add_command(import_cmd)``).
"""

from __future__ import annotations

import click

from .common import (
    COUNT,
    Command,
    OutPath,
    finish_run,
    normalize_option,
    parse_weights,
    run_kwargs,
    run_options,
)

_RULES = {"files": "--split-file", "hash": "document hash (--holdout)", "none": "nothing: all train"}


@click.command("import", cls=Command)
@click.argument("source", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["auto", "pagexml", "alto"]), default="auto",
              show_default=True, help="XML format (auto: by each file's root element).")
@click.option("--out", required=True, type=OutPath(file_okay=False), help="Shard directory.")
@click.option("-n", "--num", "n", type=COUNT,
              help="Import at most N pages (the first in sorted path order).")
@click.option("--max-side", type=COUNT, help="Scale pages down so the longer side is <= PX.")
@click.option("--split-file", "split_files", multiple=True, metavar="SPLIT=FILE|FILE",
              help="Document ids (XML stems) of a split, one per line; or a FILE of "
                   "'ID SPLIT' rows. Repeatable; unlisted documents are skipped.")
@click.option("--holdout", help="Documents hashed into held-out splits, e.g. "
                                "validation=0.05,test=0.05 (rest: train).")
@normalize_option
@run_options
def import_cmd(source, fmt, out, n, max_side, split_files, holdout, normalize, **opts):
    """Import annotated pages (PAGE-XML or ALTO + images in SOURCE) as labelled samples."""
    # the importer imports numpy, lxml and OpenCV: kept off the startup path
    from synthtext.documents.importer import ImportConfig, import_shards

    files = []
    for item in split_files:
        name, sep, path = item.partition("=")
        if sep and (not name.strip() or not path):
            raise click.BadParameter(f"{item!r} is not SPLIT=FILE", param_hint="--split-file")
        files.append((name.strip(), path) if sep else ("", item))
    cfg = ImportConfig(source=source, format=fmt, max_side=max_side, split_files=tuple(files),
                       holdout=tuple((parse_weights("--holdout", holdout) or {}).items()),
                       normalize=normalize, limit=n)
    result = import_shards(cfg, out, **run_kwargs(opts))
    finish_run(result)
    print_import_inputs(result.info["config"]["inputs"])


def print_import_inputs(inputs: dict) -> None:
    """Print the input summary (``dataset.json``'s ``config.inputs``): pages per split, where
    the splits came from, and every skipped XML file by cause with up to three examples."""
    by_split = ", ".join(f"{k} {v}" for k, v in inputs["pages_by_split"].items())
    rule = _RULES.get(inputs["split_rule"], inputs["split_rule"])
    click.echo(f"inputs: {inputs['pages']} pages ({by_split}) from {inputs['source']} "
               f"[{inputs['format']}; splits from {rule}]")
    skipped = inputs.get("skipped") or {}
    parts = [f"{cause} {count} ({'; '.join(inputs['skipped_examples'].get(cause, []))})"
             for cause, count in skipped.items()]
    click.echo("skipped files: " + ("; ".join(parts) if parts else "none"))

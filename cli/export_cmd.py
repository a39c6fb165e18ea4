"""``synthgen export``: shards as page images + PAGE-XML or ALTO for Kraken, Loghi, PyLaia,
Transkribus.

Registered by ``cli/synthgen.py`` (``main.add_command(export_cmd)``).
"""

from __future__ import annotations

import click

from .common import Command, OutPath


@click.command("export", cls=Command)
@click.argument("shards")
@click.option("--format", "fmt", type=click.Choice(["pagexml", "alto"]), required=True,
              help="PAGE-XML 2019-07-15 or ALTO v4.")
@click.option("--out", required=True, type=OutPath(file_okay=False),
              help="Folder for <key>.<image ext> + <key>.xml.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def export_cmd(shards, fmt, out, progress):
    """Write every sample of SHARDS (dir, .tar, glob, URL, dataset:NAME) as image + XML."""
    # the exporter imports numpy, lxml and OpenCV: kept off the startup path
    from synthtext.documents.export import export_shards

    s = export_shards(shards, fmt, out, progress)
    click.echo(f"{out}: {s.pages} pages, {s.lines} lines, {s.words} word boxes as {fmt} "
               f"({s.blank_lines} blank label lines skipped)")

"""``synthgen card``, ``synthgen publish`` and ``synthgen datasets``: sharing and naming data.

Register with ``main.add_command(card)``, ``main.add_command(publish)`` and
``main.add_command(datasets)``. Each command also turns user mistakes into one-line errors
on its own (:class:`~cli.common.Command`), so it behaves the same when invoked outside the
``synthgen`` group.
"""

from __future__ import annotations

import json

import click

from synthtext.dataset.catalogue import add, catalogue_path, entries, prune, remove

from .common import Command, Group


@click.command(cls=Command)
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
@click.option("--license", "license_", metavar="ID",
              help="License id for the YAML (default: cc-by-sa-4.0 for WikiText corpora, "
                   "else other).")
@click.option("--language", default="en", show_default=True, help="Language code of the text.")
@click.option("--pretty-name", help="Title of the card (default: the directory name).")
@click.option("--repo-id", help="ORG/NAME the loading examples should use.")
@click.option("--preview/--no-preview", default=True, show_default=True,
              help="Include a grid of the first samples (assets/preview.png).")
def card(directory, license_, language, pretty_name, repo_id, preview):
    """(Re)write DIRECTORY/README.md, the Hugging Face dataset card, from dataset.json."""
    # the hub modules import numpy, OpenCV and PyYAML (the card's preview) and urllib's
    # http stack: kept off the startup path of `synthgen --help`
    from synthtext.hub.card import write_card
    from synthtext.hub.publish import check_repo_id

    if repo_id:
        check_repo_id(repo_id)
    for path in write_card(directory, license=license_, language=language,
                           pretty_name=pretty_name, repo_id=repo_id, preview=preview):
        click.echo(f"wrote {path}")


@click.command(cls=Command)
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
@click.option("--repo-id", required=True, help="Dataset repository ORG/NAME.")
@click.option("--private", is_flag=True, help="Create the repository as private.")
@click.option("--revision", help="Branch to publish to (created if needed; default main).")
@click.option("--endpoint", help="Hub URL (default: HF_ENDPOINT or huggingface.co).")
@click.option("--dry-run", is_flag=True, help="List what would be uploaded; no token needed, "
                                              "nothing is sent.")
@click.option("--files-per-commit", type=click.IntRange(1), default=50, show_default=True,
              help="Shards per commit.")
def publish(directory, repo_id, private, revision, endpoint, dry_run, files_per_commit):
    """Upload a finished shard DIRECTORY to the Hub as a dataset: shards first, then the
    card and dataset.json (rerun after an interruption to upload only what is missing)."""
    # numpy, OpenCV, urllib's http stack and, inside, huggingface_hub: see card
    from synthtext.hub.publish import publish as do_publish

    result = do_publish(directory, repo_id, private=private, revision=revision,
                        endpoint=endpoint, dry_run=dry_run, echo=click.echo,
                        files_per_commit=files_per_commit)
    if not dry_run:
        click.echo(f"published {repo_id}@{result.revision}: {len(result.uploaded)} file(s) "
                   f"uploaded in {len(result.commits)} commit(s), {len(result.skipped)} shard(s) "
                   "already there")


@click.group(cls=Group)
def datasets():
    """The local catalogue of shard directories, named for dataset:NAME sources."""


@datasets.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_cmd(as_json):
    """Known datasets: name, kind, status, samples per split, directory (names whose
    directory no longer exists are dropped, and said so on stderr)."""
    for name, path in prune().items():
        click.echo(f"dropped dataset:{name}: {path} no longer exists", err=True)
    rows = entries()
    if as_json:
        click.echo(json.dumps([vars(e) for e in rows], indent=1))
        return
    if not rows:
        click.echo(f"no datasets in {catalogue_path()} (runs add themselves; or "
                   "synthgen datasets add NAME DIR)")
        return
    table = [("NAME", "KIND", "STATUS", "SAMPLES", "PATH")]
    for e in rows:
        samples = " ".join(f"{s}={n:,}" for s, n in (e.samples or {}).items()) or "-"
        table.append((e.name, e.kind, e.status, samples, e.path))
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    for r in table:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[4])


@datasets.command("add")
@click.argument("name")
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
@click.option("--replace", is_flag=True, help="Point an existing name at this directory.")
def add_cmd(name, directory, replace):
    """Name DIRECTORY (a shard directory with dataset.json) NAME in the catalogue."""
    path = add(name, directory, replace=replace)
    click.echo(f"dataset:{name} -> {path}")


@datasets.command("remove")
@click.argument("name")
def remove_cmd(name):
    """Forget NAME (the directory and its files are left alone)."""
    click.echo(f"removed dataset:{name} (was {remove(name)}; files untouched)")

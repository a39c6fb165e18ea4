"""Turn ``synthgen render`` options into a RenderConfig, and print a run's summary."""

from __future__ import annotations

import click

from synthtext.corpora.corpus import parse_corpus_arg
from synthtext.dataset.catalogue import register_run
from synthtext.render.config import RenderConfig

from .common import parse_range, parse_weights

_RANGES = {"length": int, "width": int, "height": int, "margin": float, "font_size": int,
           "line_height": int, "line_spacing": float}
_SCALARS = ("skew", "max_skew", "cursive_ratio")


def render_config(opts: dict) -> RenderConfig:
    kw = {}
    for name, cast in _RANGES.items():
        value = parse_range("--" + name.replace("_", "-"), opts.get(name), cast)
        if value is not None:
            kw[name] = value
    for name in _SCALARS:
        if opts.get(name) is not None:
            kw[name] = opts[name]
    if opts.get("align"):
        kw["align"] = parse_weights("--align", opts["align"])
    if opts.get("rotation"):
        kw["rotation"] = parse_weights("--rotation", opts["rotation"], key=_int("--rotation"))
    if opts.get("split"):
        kw["split"] = tuple(parse_weights("--split", opts["split"]).items())
    corpora = tuple(parse_corpus_arg(c) for c in opts.get("corpora") or ())
    return RenderConfig(corpora=corpora, corpus_format=opts["corpus_format"],
                        encoding=opts["encoding"], fonts=opts["fonts"], seed=opts["seed"],
                        layout=opts["layout"], length_unit=opts["length_unit"],
                        missing_glyphs=opts["missing_glyphs"], augment=opts["augment"],
                        **kw).validate()


def _int(opt):
    def cast(s):
        try:
            return int(s)
        except ValueError:
            raise click.BadParameter(f"{s!r} is not a number of degrees", param_hint=opt)
    return cast


def finish_run(result) -> None:
    """Name a finished run in the local catalogue (``dataset:NAME``) and print its summary."""
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

"""Turn ``synthgen render`` options into a :class:`~synthtext.render.config.RenderConfig`.

Only the options the user gave are passed on; every default, including the ones that
differ by layout (``LAYOUT_DEFAULTS``), is the library's, so ``synthgen render --layout
line`` and ``RenderConfig(layout="line")`` are the same config.
"""

from __future__ import annotations

import click

from synthtext.corpora.formats import parse_corpus_arg
from synthtext.render.config import RenderConfig

from .common import given_options, parse_weights

_RANGES = {"length": int, "width": int, "height": int, "margin": float, "font_size": int,
           "line_height": int, "line_spacing": float}
_SCALARS = ("skew", "max_skew", "cursive_ratio")


def render_config(opts: dict) -> RenderConfig:
    """The validated config of ``synthgen render``'s parsed options (click's ``params``).

    Raises:
        click.BadParameter: for a malformed range or weight list.
        synthtext.dataset.errors.ConfigError: for values that cannot work (see
            :meth:`RenderConfig.validate`); CorpusError for a bad ``FILE:WEIGHT``.
    """
    kw = given_options(opts, _RANGES, _SCALARS)
    if opts.get("align"):
        kw["align"] = parse_weights("--align", opts["align"])
    if opts.get("rotation"):
        kw["rotation"] = parse_weights("--rotation", opts["rotation"], key=_int("--rotation"))
    if opts.get("split") is not None:
        kw["split"] = tuple(parse_weights("--split", opts["split"]).items())
    corpora = tuple(parse_corpus_arg(c) for c in opts.get("corpora") or ())
    return RenderConfig(corpora=corpora, corpus_format=opts["corpus_format"],
                        encoding=opts["encoding"], normalize=opts["normalize"],
                        fonts=opts["fonts"], seed=opts["seed"],
                        layout=opts["layout"], length_unit=opts["length_unit"],
                        length_dist=opts.get("length_dist", "uniform"),
                        missing_glyphs=opts["missing_glyphs"], augment=opts["augment"],
                        **kw).validate()


def _int(opt):
    def cast(s):
        try:
            return int(s)
        except ValueError:
            raise click.BadParameter(f"{s!r} is not a number of degrees", param_hint=opt)
    return cast

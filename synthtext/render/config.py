"""Render configuration: every knob of ``synthgen render`` as one JSON-able dataclass.

Ranges are ``(low, high)`` pairs sampled per sample; probabilities are per sample. The
config (not the worker count) decides the output bytes, so it is hashed into dataset.json.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources

from synthtext.dataset.errors import ConfigError
from synthtext.dataset.text import check_normalize

LAYOUTS = ("page", "line")
UNITS = ("chars", "words", "lines")
MISSING = ("resample", "strip", "error")
ALIGNS = ("left", "center", "right", "justify")
MAX_SIDE = 16384  # px: largest --width/--height/--line-height (JPEG/WebP stop at 65500 px)
MIN_LINE_SPACING = 0.5  # below half a line pitch, lines would overlap most of their height

# Defaults that differ by layout: tight line images want short texts and no page rotation.
# A field left at None takes its layout's default, so ``RenderConfig(layout="line")`` is
# exactly ``synthgen render --layout line``.
LAYOUT_DEFAULTS = {
    "page": {"length": (1, 250), "font_size": (20, 44),
             "rotation": {0: 0.94, 90: 0.02, 180: 0.02, 270: 0.02}, "max_skew": 2.0},
    "line": {"length": (2, 12), "font_size": (24, 56), "rotation": {0: 1.0}, "max_skew": 1.0},
}


def embedded_corpus_path() -> str:
    """Path of the small sample corpus shipped in ``synthtext/data`` (used when no
    ``--corpus`` is given)."""
    return str(resources.files("synthtext") / "data" / "sample_corpus.txt")


@dataclass(frozen=True)
class RenderConfig:
    """Every knob of ``synthgen render`` (each field is the option of the same name).

    Units: ``width``, ``height``, ``font_size`` (the em size, as Pillow's), ``line_height``
    and the line layout's image height are px; ``margin`` is a fraction of the canvas'
    shorter side, per side; ``block_width`` a fraction of the width inside the margins;
    ``line_spacing`` the line pitch over ascent + descent; ``ink``/``paper`` grey levels
    0–255; ``rotation`` maps degrees (0, 90, 180, 270, counter-clockwise) to weights;
    ``max_skew`` is degrees; ``length`` counts ``length_unit``. ``(low, high)`` ranges are
    drawn per sample (integers inclusive); probabilities apply per sample. Fields left at
    None take the layout's default (LAYOUT_DEFAULTS). ``normalize`` is the Unicode
    normalisation of the label text policy (:mod:`synthtext.dataset.text`) applied to every
    corpus span before layout. Build one, then call :meth:`validate`.
    """

    corpora: tuple[tuple[str, float], ...] = ()  # (path, weight); empty = embedded corpus
    corpus_format: str = "auto"
    encoding: str = "utf-8"
    normalize: str = "NFC"  # label text policy: NFC, NFKC or none (synthtext.dataset.text)
    fonts: str = "embedded"
    seed: int = 0
    layout: str = "page"
    length_unit: str = "words"
    length: tuple[int, int] | None = None  # in length_unit; None = the layout's default
    length_dist: str = "uniform"  # or "loguniform" (more short texts)
    width: tuple[int, int] = (768, 1280)
    height: tuple[int, int] = (768, 1400)
    margin: tuple[float, float] = (0.02, 0.10)  # fraction of the shorter side, per side
    font_size: tuple[int, int] | None = None  # px; None = the layout's default
    line_height: tuple[int, int] = (48, 80)  # line layout: image height in px
    line_spacing: tuple[float, float] = (1.0, 1.5)  # pitch / (ascent + descent)
    block_width: tuple[float, float] = (0.5, 1.0)  # text block width / available width
    ink: tuple[int, int] = (0, 80)  # grey level of the ink
    paper: tuple[int, int] = (200, 255)  # grey level of the plain paper
    align: dict = field(default_factory=lambda: {"left": 0.55, "justify": 0.15,
                                                 "center": 0.15, "right": 0.15})
    paragraph_break: float = 0.8  # P(a corpus paragraph break becomes a break on the page)
    blank_line: float = 0.3  # P(paragraphs are separated by a blank line)
    first_line_indent: float = 0.4  # P(first lines of paragraphs are indented)
    paragraph_indent: float = 0.1  # P(a paragraph is indented as a whole)
    indent_spaces: tuple[int, int] = (2, 6)
    rotation: dict | None = None  # degrees -> weight; None = the layout's default
    skew: float = 0.3  # P(small skew)
    max_skew: float | None = None  # degrees; None = the layout's default
    cursive_ratio: float = 0.5
    missing_glyphs: str = "resample"
    split: tuple[tuple[str, float], ...] = ()  # e.g. (("train", 0.98), ("validation", 0.02))
    augment: str = "none"

    def __post_init__(self) -> None:
        """Fill the fields left at None with the defaults of ``layout`` (unknown layouts
        are reported by :meth:`validate`)."""
        for name, value in LAYOUT_DEFAULTS.get(self.layout, LAYOUT_DEFAULTS["page"]).items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)

    def to_json(self) -> dict:
        """The config as JSON-able dict (tuples as lists, rotation keys as strings): what the
        dataset info records and hashes."""
        d = dataclasses.asdict(self)
        d["rotation"] = {str(k): v for k, v in self.rotation.items()}
        d["corpora"] = [list(c) for c in self.corpora]
        d["split"] = dict(self.split)
        return d

    def corpus_list(self) -> list[tuple[str, float]]:
        """``(path, weight)`` pairs to open: ``corpora``, or the embedded corpus with 1.0."""
        return list(self.corpora) or [(embedded_corpus_path(), 1.0)]

    def validate(self) -> "RenderConfig":
        """Return self after checking every value; raise ConfigError naming the option
        (``--layout``, ``--margin`` ...) and the allowed values for any that cannot work,
        including a side over ``MAX_SIDE`` px, a ``line_spacing`` below
        ``MIN_LINE_SPACING``, a duplicate split name and a smallest font that cannot fit
        the smallest canvas."""
        _choice("--layout", self.layout, LAYOUTS)
        _choice("--length-unit", self.length_unit, UNITS)
        _choice("--missing-glyphs", self.missing_glyphs, MISSING)
        _choice("--length-dist", self.length_dist, ("uniform", "loguniform"))
        check_normalize(self.normalize)
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"--seed {self.seed}: must be a whole number >= 0")
        if not 0 <= self.max_skew <= 45:
            raise ConfigError(f"--max-skew {self.max_skew}: must be between 0 and 45 degrees")
        for name in ("length", "width", "height", "font_size", "line_height", "indent_spaces"):
            _range(name, getattr(self, name), minimum=1)
        for name in ("width", "height", "line_height"):
            if getattr(self, name)[1] > MAX_SIDE:
                raise ConfigError(f"--{name.replace('_', '-')} {getattr(self, name)[1]} px: "
                                  f"images may be at most {MAX_SIDE} px on a side")
        _range("line_spacing", self.line_spacing, minimum=MIN_LINE_SPACING)
        for name in ("margin", "block_width", "ink", "paper"):
            _range(name, getattr(self, name), minimum=0)
        if self.margin[1] >= 0.4:
            raise ConfigError("--margin: the largest margin must be below 0.4 of the page")
        if not 0 <= self.cursive_ratio <= 1:
            raise ConfigError("--cursive-ratio must be between 0 and 1")
        for name in ("paragraph_break", "blank_line", "first_line_indent", "paragraph_indent",
                     "skew"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be a probability in [0, 1]")
        names = [name.casefold() for name, _ in self.split]
        if len(set(names)) < len(names):
            raise ConfigError(f"--split {dict(self.split)}: a split is named twice (names may "
                              "not differ only in case: they collide on case-insensitive file "
                              "systems)")
        _weights("--align", self.align, ALIGNS)
        _weights("--rotation", self.rotation, (0, 90, 180, 270))
        self._check_fit()
        return self

    def _check_fit(self) -> None:
        """The smallest font must fit the smallest canvas, or no sample can be made."""
        if self.layout == "line":
            if self.font_size[0] > self.line_height[1]:
                raise ConfigError(f"--font-size {self.font_size[0]} px cannot fit a line image "
                                  f"of --line-height {self.line_height[1]} px; lower the font "
                                  "size or raise the line height")
            return
        short = min(self.width[0], self.height[0])
        usable = short * (1 - 2 * self.margin[1])
        if self.font_size[0] * 1.6 > usable:
            raise ConfigError(f"--font-size {self.font_size[0]} px cannot fit a "
                              f"{self.width[0]}x{self.height[0]} canvas with margins up to "
                              f"{self.margin[1]}; use a smaller --font-size or larger "
                              "--width/--height")


def _choice(opt: str, value, choices) -> None:
    if value not in choices:
        raise ConfigError(f"{opt} {value!r} is not one of {', '.join(map(str, choices))}")


def _range(name: str, pair, minimum: float) -> None:
    opt = "--" + name.replace("_", "-")
    if len(pair) != 2 or pair[0] > pair[1] or pair[0] < minimum:
        raise ConfigError(f"{opt} {pair[0]}:{pair[1]} must be LOW:HIGH with "
                          f"{minimum} <= LOW <= HIGH")


def _weights(opt: str, weights: dict, allowed) -> None:
    bad = [k for k in weights if k not in allowed]
    if bad or not weights or any(v < 0 for v in weights.values()) or sum(weights.values()) <= 0:
        raise ConfigError(f"{opt} needs non-negative weights over {', '.join(map(str, allowed))}"
                          f" with a positive sum (got {weights})")

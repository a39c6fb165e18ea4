"""Pipelines from JSON/YAML configs, validated when loaded so typos fail before training.

Format — a *node* is one of::

    {"op": "<op name>", <op parameter>: <value>, ..., "p": 0.5}
    {"sequence":     [<node>, ...], "p": ...}   # in the given order
    {"random_order": [<node>, ...], "p": ...}   # all of them, order drawn per sample
    {"one_of":       [<node>, ...], "p": ...}   # one of them, drawn per sample by "weight"
    {"preset": "light" | "medium" | "heavy" | "none", "p": ...}

and the whole config is a node, or a list of nodes (a sequence).  ``"p"`` (optional, default
1) runs the node with that probability; ``"weight"`` (optional, default 1) is allowed only
on the direct children of ``one_of``.  An op's parameters are its constructor kwargs (see
``augment.OPS[name]``): a ``[low, high]`` pair is a range to draw from (a single number
means a fixed value), other numbers/booleans/strings are plain settings.  Example::

    {"sequence": [
        {"op": "rotate", "p": 0.5, "max_degrees": 2},
        {"one_of": [{"op": "gaussian_blur", "weight": 2, "sigma": [0.3, 0.8]},
                    {"op": "motion_blur"}], "p": 0.4},
        {"op": "jpeg", "quality": [40, 90]}
    ]}

Unknown ops, unknown parameters and values of the wrong type or out of bounds raise
:class:`~augment.errors.AugmentConfigError` with a one-line message naming the file, the
node's path (e.g. ``sequence[1].one_of[0]``), the op and the parameter.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import os
from pathlib import Path

from .base import OPS
from .combinators import OneOf, RandomOrder, Sequence, WithProbability
from .errors import AugmentConfigError
from .pipeline import Pipeline
from .presets import PRESETS, preset_config

_GROUPS = {"sequence": Sequence, "random_order": RandomOrder, "one_of": OneOf}
_COMMON = ("p", "weight")
_KINDS = ("op", "preset", *_GROUPS)


def _suggest(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _build_op(node: dict, where: str):
    name = node["op"]
    if not isinstance(name, str) or name not in OPS:
        raise AugmentConfigError(f"{where}: unknown op {name!r}{_suggest(str(name), OPS)}; "
                                 f"known ops: {', '.join(sorted(OPS))}")
    cls = OPS[name]
    known = [f.name for f in dataclasses.fields(cls)]
    kwargs = {k: v for k, v in node.items() if k not in ("op",) + _COMMON}
    for key in kwargs:
        if key not in known:
            raise AugmentConfigError(f"{where}: op {name!r} has no parameter {key!r}"
                                     f"{_suggest(key, known)}; "
                                     f"parameters: {', '.join(known + list(_COMMON))}")
    try:
        return cls(**kwargs)
    except AugmentConfigError as e:
        raise AugmentConfigError(f"{where}: {e}") from None


def _kind(node, where: str) -> str:
    """Which of op / preset / sequence / random_order / one_of a node is (exactly one)."""
    if not isinstance(node, dict):
        raise AugmentConfigError(f"{where}: expected an object like {{\"op\": ...}}, "
                                 f"got {type(node).__name__} {node!r}")
    kinds = [k for k in _KINDS if k in node]
    if len(kinds) != 1:
        found = ", ".join(repr(k) for k in kinds) or "none"
        hint = "" if kinds else "".join(_suggest(str(k), _KINDS) for k in node)[:60]
        raise AugmentConfigError(f"{where}: a node needs exactly one of {', '.join(map(repr, _KINDS))} "
                                 f"(found {found}; keys: {sorted(node)}){hint}")
    return kinds[0]


def _number(node: dict, key: str, where: str) -> float:
    value = node.get(key, 1.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AugmentConfigError(f"{where}: {key!r} must be a number, "
                                 f"got {type(value).__name__} {value!r}")
    return float(value)


def _build(node, where: str, in_one_of: bool = False):
    """(op, weight) for one config node; ``where`` is its path for error messages."""
    if isinstance(node, list):
        node = {"sequence": node}
    label = where or "top level"
    kind = _kind(node, label)
    if kind == "op":
        op = _build_op(node, label)
    else:
        here = f"{where}.{kind}" if where else kind
        extra = [k for k in node if k not in (kind,) + _COMMON]
        if extra:
            raise AugmentConfigError(f"{here}: unknown key {extra[0]!r}{_suggest(extra[0], _COMMON)}; "
                                     f"a {kind!r} node takes only {kind!r}, 'p' and 'weight'")
        op = _build_group(kind, node[kind], here)
    p, weight = _number(node, "p", label), _number(node, "weight", label)
    if "weight" in node and not in_one_of:
        raise AugmentConfigError(f"{label}: 'weight' is only allowed on the items of a 'one_of'")
    if not 0.0 <= p <= 1.0:
        raise AugmentConfigError(f"{label}: 'p' must be in [0, 1], got {p}")
    return (WithProbability(op, p) if p < 1.0 else op), weight


def _build_group(kind: str, items, where: str):
    if kind == "preset":
        if items not in PRESETS:
            raise AugmentConfigError(f"{where}: unknown preset {items!r}; "
                                     f"choose one of {', '.join(PRESETS)}")
        return _build(preset_config(items), where)[0]
    if not isinstance(items, list):
        raise AugmentConfigError(f"{where}: expected a list of nodes, got {type(items).__name__}")
    built = [_build(item, f"{where}[{i}]", in_one_of=kind == "one_of")
             for i, item in enumerate(items)]
    if kind == "one_of":
        try:
            return OneOf(built)
        except AugmentConfigError as e:
            raise AugmentConfigError(f"{where}: {e}") from None
    return _GROUPS[kind]([op for op, _ in built])


def build(config, name: str | None = None) -> Pipeline:
    """A :class:`Pipeline` from an already parsed config (dict or list; see the module doc).

    ``name`` is recorded in the params; a bare ``{"preset": NAME}`` config is named NAME.

    Raises:
        AugmentConfigError: the config is invalid; the message gives the node's path.
    """
    if name is None and isinstance(config, dict) and set(config) == {"preset"}:
        name = str(config["preset"])
    return Pipeline(_build(config, "")[0], name=name)


def _read(path: Path):
    if not path.is_file():
        raise AugmentConfigError(f"augment config {path}: file not found")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml  # optional dependency: only YAML configs need PyYAML
        except ImportError:
            raise AugmentConfigError(f"augment config {path}: YAML needs PyYAML (pip install pyyaml), "
                                     "or write the config as JSON") from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as e:
            msg = " ".join(str(e).split())
            raise AugmentConfigError(f"augment config {path}: invalid YAML: {msg}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise AugmentConfigError(f"augment config {path}: invalid JSON at line {e.lineno} "
                                 f"column {e.colno}: {e.msg}") from None


def load_config(path_or_dict) -> Pipeline:
    """A validated :class:`Pipeline` from a JSON/YAML file path or a parsed dict/list.

    A file's pipeline is named after the file's stem; YAML (``.yaml``/``.yml``) needs PyYAML.

    Raises:
        AugmentConfigError: the file is missing or unparsable, or the config is invalid; the
            one-line message starts ``augment config [PATH]:`` and names the node.
    """
    if isinstance(path_or_dict, (str, os.PathLike)):
        path = Path(path_or_dict)
        try:
            return build(_read(path), name=path.stem)
        except AugmentConfigError as e:
            msg = str(e) if str(e).startswith("augment config") else f"augment config {path}: {e}"
            raise AugmentConfigError(msg) from None
    if isinstance(path_or_dict, (dict, list)):
        try:
            return build(path_or_dict)
        except AugmentConfigError as e:
            raise AugmentConfigError(f"augment config: {e}") from None
    raise AugmentConfigError(f"augment config: expected a file path, dict or list, "
                             f"got {type(path_or_dict).__name__}")


def preset(name: str) -> Pipeline:
    """A fresh :class:`Pipeline` for preset ``name`` (one of :data:`augment.presets.PRESETS`).

    Raises:
        AugmentConfigError: unknown name (a ValueError; the message lists the presets).
    """
    return build(preset_config(name), name=name)

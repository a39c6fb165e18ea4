"""Names that become sample keys, file names or references: one rule, checked up front.

A split name starts every shard name (``val-000003.tar``) and sample key (``val-000000042``);
a dataset name is what ``dataset:NAME[/GLOB]`` refers to; a key names a sample's tar members.
WebDataset readers and Hugging Face ``datasets`` split a member name at its *first* dot
(``v1.0-000000042.jpg`` -> key ``v1``, extension ``0-000000042.jpg``), so a dot merges
samples; a ``/`` makes a folder; spaces and other characters break globs, shells and URLs.
The rules:

- **split names**: ASCII letters, digits and ``_``. No ``-``: Hugging Face split names may
  not hold one (``datasets.naming._split_re`` is ``^\\w+(\\.\\w+)*$``), and the card's shard
  pattern of split ``val`` (``val-[0-9]*.tar``) would also match split ``val-2``'s shards.
- **dataset names and sample keys**: ASCII letters, digits, ``_`` and ``-``.
- every name starts with a letter or digit (a leading ``-`` reads as a command-line option,
  a leading ``.`` hides a file, a leading ``_`` marks WebDataset's own fields such as
  ``__key__``); a leading digit is fine (``2024``).
- at most :data:`MAX_LEN` characters: a member name (key + extension) must fit the 100-byte
  name field of a ustar tar.

Each check runs before anything is written, so a refused start leaves nothing behind.
"""

from __future__ import annotations

import re

from synthtext.dataset.errors import ConfigError, UserError

MAX_LEN = 64
SPLIT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")  # dataset names and sample keys


def suggest(name: str, hyphen: bool = True) -> str:
    """A name the rule accepts, made from ``name``: other characters become ``_``, leading
    ``_``/``-`` go, cut to :data:`MAX_LEN` (``"v1.0"`` -> ``"v1_0"``; ``"data"`` if nothing
    is left). ``hyphen=False`` also turns ``-`` into ``_`` (the split-name rule)."""
    keep = "A-Za-z0-9_-" if hyphen else "A-Za-z0-9_"
    out = re.sub(f"[^{keep}]", "_", name).lstrip("_-")[:MAX_LEN]
    return out or "data"


def _problem(name, rule: re.Pattern) -> bool:
    return not isinstance(name, str) or len(name) > MAX_LEN or not rule.fullmatch(name)


def check_split_name(name: str, option: str = "--split") -> str:
    """``name`` if it may name a split (module rules: ``[A-Za-z0-9][A-Za-z0-9_]*``, at most
    64 characters).

    Args:
        name: the split name as the user gave it.
        option: the option that gave it, named first in the error.

    Raises:
        ConfigError: it may not, with the reason and a name that would do.
    """
    if _problem(name, SPLIT_NAME):
        raise ConfigError(
            f"{option}: split name {name!r} may use only ASCII letters, digits and '_', "
            f"starting with a letter or digit, at most {MAX_LEN} characters (it starts every "
            f"shard name and sample key); rename it, e.g. {suggest(str(name), False)!r}")
    return name


def check_dataset_name(name: str, label: str = "dataset name") -> str:
    """``name`` if it may name a dataset in the catalogue (module rules:
    ``[A-Za-z0-9][A-Za-z0-9_-]*``, at most 64 characters).

    Args:
        name: the name as the user gave it.
        label: how the user gave it (e.g. ``"synthgen datasets add NAME"``); starts the error.

    Raises:
        UserError: it may not, with the reason and a name that would do.
    """
    if _problem(name, NAME):
        raise UserError(
            f"{label} {name!r} must start with a letter or digit and use only ASCII letters, "
            f"digits, '_' and '-', at most {MAX_LEN} characters; e.g. {suggest(str(name))!r}")
    return name


def check_key(key: str) -> str:
    """``key`` if it may key a sample's tar members (``[A-Za-z0-9][A-Za-z0-9_-]*``, at most
    64 + 10 characters: a 64-character split name, ``-`` and a nine-digit index).

    Raises:
        ValueError: it may not (a producer bug: producers build keys from checked names).
    """
    if not isinstance(key, str) or len(key) > MAX_LEN + 10 or not NAME.fullmatch(key):
        raise ValueError(f"sample key {key!r} must match {NAME.pattern} (no dot, slash or "
                         f"space) and be at most {MAX_LEN + 10} characters")
    return key

"""Paths in config files and run directories: where they start from, and what is stored.

- A path written inside a config file (``render:CONFIG.json``, ``stitch:CONFIG.json``,
  ``fphtr train --config FILE``) starts from that file's folder, so a recipe and its data
  can move together and a command works from any working directory. Absolute paths, URLs,
  ``hf://`` and ``dataset:NAME`` are kept as written.
- A path given on the command line starts from the working directory, as usual.
- What a run directory stores (its data specs in ``config.json`` and the checkpoints, an
  ``--augment`` config file, the ``--init-from`` checkpoint) holds local paths made
  *absolute*, so ``fphtr train --resume`` works from any working directory. (Relative to the
  run directory would survive moving data and run together, but not moving the run alone,
  which is the common case: copying a run to another disk next to the same data.)
"""

from __future__ import annotations

import os

from augment import PRESETS as AUGMENT_PRESETS
from synthtext.dataset.errors import UserError
from synthtext.dataset.urls import DATASET_PREFIX, is_remote
from synthtext.fonts.manifest import SELECTIONS

FONT_NAMES = ("embedded", *SELECTIONS)  # --fonts values that are names, not paths


def is_local(value: str) -> bool:
    """Whether ``value`` names a local file or folder (not a URL, ``hf://`` or
    ``dataset:NAME``, and not empty)."""
    return bool(value) and not is_remote(value) and not value.startswith(DATASET_PREFIX)


def absolute(value: str) -> str:
    """``value`` as an absolute path when it is local (:func:`is_local`), else unchanged."""
    return os.path.abspath(os.path.expanduser(value)) if is_local(value) else value


def from_folder(value: str, folder: str) -> str:
    """A local ``value`` written in a file of ``folder``, as an absolute path; others
    unchanged."""
    if not is_local(value):
        return value
    return os.path.abspath(os.path.join(folder, os.path.expanduser(value)))


def augment_path(value: str, folder: str | None = None) -> str:
    """An ``augment`` value: a preset name stays, a config file becomes an absolute path
    (from ``folder`` when the value was written in a file there, else from the working
    directory)."""
    if not isinstance(value, str) or value in AUGMENT_PRESETS or value == "":
        return value
    return from_folder(value, folder) if folder is not None else absolute(value)


class FileFields:
    """Resolves the path fields of one config file against the file's folder.

    Args:
        label: how errors name the file, e.g. ``"render:recipes/lines.json"``.
        path: the config file as given.
    """

    def __init__(self, label: str, path: str):
        self.label = label
        self.folder = os.path.dirname(os.path.abspath(path))

    def existing(self, field: str, value: str) -> str:
        """The path ``value`` of ``field`` from the file's folder, checked to exist.

        Raises:
            UserError: the path does not exist; names the file, the field and the path.
        """
        if not isinstance(value, str):
            raise UserError(f"{self.label}: {field} must be a path, not {value!r}")
        resolved = from_folder(value, self.folder)
        if is_local(resolved) and not os.path.exists(resolved):
            where = "" if resolved == value else f" (paths in the file start from its " \
                                                  f"folder: {resolved})"
            raise UserError(f"{self.label}: {field} {value!r} not found{where}")
        return resolved

    def augment(self, value):
        """An ``augment`` field: a preset stays, a config file is resolved and checked."""
        if not isinstance(value, str) or value in AUGMENT_PRESETS or value == "":
            return value
        return self.existing("augment", value)

    def render(self, d: dict) -> dict:
        """A render config's fields with ``corpora``, ``fonts`` and ``augment`` resolved."""
        d = dict(d)
        if isinstance(d.get("corpora"), list):
            d["corpora"] = [[self.existing("corpora", c[0]), *c[1:]]
                            if isinstance(c, list) and c else c for c in d["corpora"]]
        if d.get("fonts") not in (None, *FONT_NAMES):
            d["fonts"] = self.existing("fonts", d["fonts"])
        if "augment" in d:
            d["augment"] = self.augment(d["augment"])
        return d

    def stitch(self, d: dict) -> dict:
        """A stitch config's fields with ``lines``, ``split_files`` and ``augment`` resolved."""
        d = dict(d)
        if "lines" in d:
            d["lines"] = self.existing("lines", d["lines"])
        files = d.get("split_files")
        if isinstance(files, dict):
            d["split_files"] = {s: self.existing("split_files", p) for s, p in files.items()}
        elif isinstance(files, list):
            d["split_files"] = [[p[0], self.existing("split_files", p[1])]
                                if isinstance(p, list) and len(p) == 2 else p for p in files]
        if "augment" in d:
            d["augment"] = self.augment(d["augment"])
        return d


def _nearest_existing(path: str) -> str:
    """``path`` itself or its closest existing ancestor (absolute)."""
    p = os.path.abspath(path)
    while not os.path.lexists(p) and os.path.dirname(p) != p:
        p = os.path.dirname(p)
    return p


def check_writable_dir(path: str, opt: str) -> None:
    """Check, writing nothing, that directory ``path`` exists or can be made, and written.

    Raises:
        UserError: ``path`` or one of its ancestors is a file, or the nearest existing
            folder is not writable; one line naming ``opt``, ``path`` and the culprit.
    """
    _check_folder(path, f"{opt} {path}")


def check_writable_file(path: str, opt: str) -> None:
    """Check, writing nothing, that file ``path`` can be written (its folder exists or can
    be made, and it is not a directory).

    Raises:
        UserError: as :func:`check_writable_dir` for its folder, or ``path`` is a directory
            or a file this process may not write.
    """
    if os.path.isdir(path):
        raise UserError(f"{opt} {path}: is a directory; give a file name")
    _check_folder(os.path.dirname(os.path.abspath(path)), f"{opt} {path}")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise UserError(f"{opt} {path}: cannot write it (permission denied)")


def _check_folder(folder: str, label: str) -> None:
    found = _nearest_existing(folder)
    if not os.path.isdir(found):
        raise UserError(f"{label}: {found} is not a directory")
    if not os.access(found, os.W_OK | os.X_OK):
        raise UserError(f"{label}: cannot write in {found} (permission denied)")

"""Where synthgen keeps what it can recompute: corpus indexes, charsets, fonts, the catalogue."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The cache root: ``$SYNTHGEN_CACHE``, else ``$XDG_CACHE_HOME/synthgen``, else
    ``~/.cache/synthgen`` (the XDG base-directory rule). Not created here."""
    if os.environ.get("SYNTHGEN_CACHE"):
        return Path(os.environ["SYNTHGEN_CACHE"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "synthgen"
    return Path.home() / ".cache" / "synthgen"

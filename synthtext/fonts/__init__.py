"""Fonts: manifests (``font_manifests/``), fetching, renderable character sets, font choice."""

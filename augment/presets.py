"""Named pipelines ``none | light | medium | heavy``, written in the config format.

Order follows the physics of a page being made and captured: geometry of the sheet first
(so warps never fill with a texture they would have to invent), then ink, then paper and
light, then the camera (blur before noise before compression).  Every op's range is chosen
so that a person can still read every sample of ``heavy``; shapes are always preserved.
The probabilities and ranges are this package's own choices, checked by the legibility
test in ``tests/test_augment.py``.

This module is data only; :func:`augment.config.preset` builds a pipeline from it.
"""
from __future__ import annotations

import copy

from .errors import AugmentConfigError

PRESETS: tuple[str, ...] = ("none", "light", "medium", "heavy")  # mildest to strongest

_BLURS = [{"op": "gaussian_blur", "weight": 3}, {"op": "motion_blur", "length": [3, 5]},
          {"op": "defocus_blur", "radius": [0.8, 1.5]}]
_NOISES = [{"op": "gaussian_noise", "weight": 3}, {"op": "speckle_noise", "weight": 2},
           {"op": "salt_pepper"}]

_CONFIGS = {
    "none": {"sequence": []},
    "light": {"sequence": [
        {"op": "rotate", "p": 0.3, "max_degrees": 1.0},
        {"op": "scale", "p": 0.2, "scale": [0.95, 1.02], "aspect": [0.98, 1.02], "max_shift": 0.01},
        {"op": "paper_texture", "p": 0.5, "tone": [0.92, 1.0], "mottle": [0.0, 0.03],
         "grain": [0.0, 0.02]},
        {"op": "gaussian_blur", "p": 0.2, "sigma": [0.3, 0.7]},
        {"op": "gaussian_noise", "p": 0.3, "sigma": [1.0, 4.0]},
        {"op": "jpeg", "p": 0.2, "quality": [60, 95]},
    ]},
    "medium": {"sequence": [
        {"op": "rotate", "p": 0.5, "max_degrees": 1.5},
        {"op": "shear", "p": 0.3, "max_shear_x": 0.06, "max_shear_y": 0.01},
        {"op": "perspective", "p": 0.2, "max_shift": 0.025},
        {"op": "scale", "p": 0.3, "scale": [0.92, 1.03]},
        {"op": "elastic", "p": 0.2, "alpha": [1.0, 2.5]},
        {"op": "baseline_wobble", "p": 0.2, "amplitude": [0.5, 1.5]},
        {"random_order": [
            {"op": "stroke_width", "p": 0.3},
            {"op": "ink_fade", "p": 0.3, "strength": [0.15, 0.4]},
            {"op": "ink_blotches", "p": 0.1, "count": [1, 2]},
            {"op": "bleed_through", "p": 0.15, "strength": [0.08, 0.2]},
        ]},
        {"op": "paper_texture", "p": 0.7},
        {"op": "stains", "p": 0.15, "darkness": [0.03, 0.1]},
        {"op": "fold", "p": 0.1},
        {"one_of": [{"op": "shadow", "darkness": [0.1, 0.35]},
                    {"op": "lighting_gradient", "low": [0.75, 0.95]}], "p": 0.4},
        {"one_of": copy.deepcopy(_BLURS), "p": 0.4},
        {"op": "downscale_upscale", "p": 0.2, "factor": [0.6, 0.9]},
        {"one_of": copy.deepcopy(_NOISES), "p": 0.5},
        {"op": "jpeg", "p": 0.3, "quality": [40, 90]},
    ]},
    "heavy": {"sequence": [
        {"op": "rotate", "p": 0.7, "max_degrees": 3.0},
        {"op": "shear", "p": 0.5, "max_shear_x": 0.12, "max_shear_y": 0.02},
        {"op": "perspective", "p": 0.4, "max_shift": 0.05},
        {"op": "scale", "p": 0.5, "scale": [0.85, 1.05]},
        {"op": "elastic", "p": 0.5, "alpha": [1.0, 4.0]},
        {"op": "baseline_wobble", "p": 0.5, "amplitude": [0.5, 2.5]},
        {"random_order": [
            {"op": "stroke_width", "p": 0.5},
            {"op": "ink_fade", "p": 0.5},
            {"op": "ink_blotches", "p": 0.3},
            {"op": "bleed_through", "p": 0.3},
        ]},
        {"op": "paper_texture", "p": 0.9},
        {"op": "stains", "p": 0.3, "count": [1, 3]},
        {"op": "fold", "p": 0.25},
        {"one_of": [{"op": "shadow"}, {"op": "lighting_gradient"}], "p": 0.6},
        {"one_of": [{"op": "gaussian_blur", "weight": 3}, {"op": "motion_blur"}, {"op": "defocus_blur"}],
         "p": 0.6},
        {"op": "downscale_upscale", "p": 0.3},
        {"one_of": copy.deepcopy(_NOISES), "p": 0.7},
        {"op": "jpeg", "p": 0.5, "quality": [30, 90]},
    ]},
}


def preset_config(name: str) -> dict:
    """The config dict of preset ``name`` (a copy: edit it to make your own).

    Raises:
        AugmentConfigError: ``name`` is not one of :data:`PRESETS` (the message lists them).
    """
    if name not in _CONFIGS:
        raise AugmentConfigError(f"unknown augmentation preset {name!r}; "
                                 f"choose one of {', '.join(PRESETS)}")
    return copy.deepcopy(_CONFIGS[name])

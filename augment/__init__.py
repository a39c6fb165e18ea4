"""augment: page augmentations for handwriting recognition — pure image + quad operations.

Knows nothing about fonts, shards or files; the renderer, the stitcher and the trainer's
data pipeline all use it the same way::

    import augment, numpy as np
    pipe = augment.preset("medium")                  # or augment.load_config("aug.json")
    img2, quads2, params = pipe(img, np.random.default_rng(seed), quads)
    # params is JSON-able: log it with the sample, later
    img3, quads3 = augment.replay(img, params, quads)   # identical pixels and quads

Conventions
    * image: uint8, grayscale (H, W) (main path) or colour (H, W, 3); light paper, dark ink.
    * quads: float (N, 4, 2) array of (x, y) pixel coordinates (pixel centres at integers),
      corners TL, TR, BR, BL of each line or word box.  Geometric ops return them moved
      and grown to hold all of their ink; ops that spread ink in place (stroke_width, the
      blurs, jpeg, downscale_upscale) grow them by their reach; the others, which act pixel
      by pixel, return them unchanged.  Pass *all* boxes that hold ink: they are what
      geometric ops keep inside the canvas.
    * randomness: only the ``numpy.random.Generator`` passed in.  Noise fields are drawn from
      seeds stored in params, so ``apply`` is a pure function of (image, params).

Ops (``OPS``; each a dataclass whose fields are its ranges, i.e. its config parameters)
    geometric  rotate, shear, perspective, scale, elastic, baseline_wobble, resample
    ink        stroke_width, ink_fade, ink_blotches, bleed_through
    paper      paper_texture, stains, fold, shadow, lighting_gradient
    sensor     gaussian_noise, speckle_noise, salt_pepper, gaussian_blur, motion_blur,
               defocus_blur, jpeg, downscale_upscale
Each op has ``sample(rng, image_shape, quads=None) -> params`` and
``apply(image, params) -> image``; ``apply_quads(quads, params, image_shape)`` moves boxes.
(``move_corners`` moves only their corners: what sampling uses, so params stay as drawn.)

Keeping the label true
    * Matrix warps (rotate, shear, perspective, scale) keep the canvas size and, when the
      transformed content would cross the border (less ``margin`` px), add a zoom-out+shift
      that brings it back (recorded as ``fit``); content is the quads, or the whole canvas
      when no quads are given.  Uncovered areas get the paper colour (border median).
    * elastic and baseline_wobble displace by a few px, tapered to 0 at the canvas edge.
    * After every op each box still holds all of its ink: a warp moves its corners, then
      its edges (same directions, same corner order) are pushed past every pixel the
      resampling can darken from it, bilinear spread and bowed edges included
      (:mod:`augment.quads`); an op that reads a neighbourhood pushes them out by its
      reach: bold/thin element, blur kernel, JPEG block, resize taps (:mod:`augment.spread`);
      boxes stay inside the canvas.
    * resample is the only op that changes the shape (another scan resolution; params and
      ``Pipeline.sample()["output_shape"]`` record it); no preset uses it.
    * Photometric ranges never remove more than about half of the ink's contrast.
    * Stroke-scale ops (blurs, downscale_upscale, elastic, baseline_wobble, ink_blotches)
      also cap their magnitude by the text height measured from the quads, when given, so
      small text is never blurred or warped beyond recognition.

Combinators: ``WithProbability(op, p)``, ``OneOf([(op, weight), ...])``,
``RandomOrder([ops])``, ``Sequence([ops])``; ``Pipeline(root_or_list)``.
Presets: ``preset(name)`` for ``PRESETS`` = none, light, medium, heavy.
Config files (JSON, or YAML with PyYAML): see :mod:`augment.config` for the format.
Errors: a bad config, preset name, op parameter or params record raises
``AugmentConfigError`` (a ``ValueError``) with a one-line message naming it.
Params format of ``Pipeline.sample``: ``{"pipeline": name, "input_shape": [h, w],
"output_shape": [h, w], "ops": [{"op": name, "params": {...}}, ...]}`` (ops actually drawn,
in application order).
"""
from . import blur, distort, geometric, ink, lighting, paper, sensor  # noqa: F401  (register ops)
from .base import COMBINATORS, OPS, Op
from .combinators import OneOf, RandomOrder, Sequence, WithProbability
from .config import load_config, preset
from .errors import AugmentConfigError
from .pipeline import Pipeline, replay
from .presets import PRESETS, preset_config

__all__ = [
    "COMBINATORS", "OPS", "PRESETS", "AugmentConfigError", "OneOf", "Op", "Pipeline",
    "RandomOrder", "Sequence", "WithProbability", "load_config", "preset", "preset_config",
    "replay",
]

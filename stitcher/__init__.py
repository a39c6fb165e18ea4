"""stitcher: pages of real handwriting made by stitching line crops into passages.

Handwriting pages are scarce; line crops with transcriptions are not. ``synthgen stitch``
stacks crops into pages with the renderer's sample format (see the README), its shard
writer, dataset.json, determinism and resume (:func:`synthtext.dataset.runner.run`), so a trainer can
mix stitched and rendered pages freely::

    from stitcher import StitchConfig, stitch_shards, stitch_sample
    cfg = StitchConfig(lines="iam/", format="iam", split_files=(("train", "trainset.txt"),
                                                                ("test", "testset.txt")))
    stitch_shards(cfg, "shards/iam-pages", n=50_000, workers=8)
    page = stitch_sample(cfg, 42)                   # page 42, as in the shards
    from stitcher.stream import StitchStream        # torch IterableDataset, on the fly

Modules, one idea each: ``sources`` / ``iam`` read inputs into :class:`CropRecord` s
(``inputs`` counts what is skipped and why), ``index`` assigns splits and checksums the
index, ``normalise`` turns a crop into ink alpha at a scale, ``passages`` picks the crops of
a page, ``compose`` samples the layout and blends, ``generate`` ties it to the runner,
``printed`` renders optional print lines, ``stream`` is the DataLoader iterable.

Label contract, as for rendered pages
    * The label is the crops' transcriptions (whitespace normalised; IAM's ``|`` word
      separators become spaces, nothing else changes), one per line, top to bottom.
    * Each line quad is the bounding box of that line's ink on the page; the page is only
      paper plus the blended ink of the labelled lines (crops are turned into ink alpha,
      so their own paper, and strokes of neighbouring lines that could be told apart, are
      not pasted).
    * Indentation rule: a line starting *n* space widths right of the least indented line
      has *n* leading spaces. For handwriting the **space width is 0.5 x the page's
      body height** (the normalised x-height, ``params.body_height_drawn``), about the
      space advance of a print font whose x-height is that body height, so print and
      handwriting indents mean the same thing. Lines are placed at whole multiples of it
      plus a jitter of at most 0.2 space widths, and the label's count is
      ``round((left - least left) / space)`` on the final pixels, so label and pixels
      agree exactly. A heading is centred and, like the renderer's centred lines, never
      indented nor counted as the least indented line.
    * ``meta``: ``source="stitch"``, ``params`` (every sampled number, ``rotation=0``),
      ``crops`` / ``writers`` / ``documents`` of the handwritten lines in page order,
      ``line_kinds`` per label line (``crop``, ``print``, ``heading``), ``rejects``
      (always the keys ``blank_crop``, ``print_line``, ``unreadable_crop``) and
      ``skipped_crops``.
    * Line records carry no word quads (``words == []``): crops are not segmented.

Leakage control (:mod:`stitcher.index`): a crop's split comes from split files (IAM's lists
of line, form or writer ids), else a split column, else a hash of its writer into
``holdout`` shares (the rest is train); a page of split S only ever draws crops of split S.

Speed: a crop is decoded and analysed once per process and kept (alpha zlib-compressed,
~10-15 KB) in an LRU of ``generate.CACHE_BYTES``; pages then only rescale and blend.
``benchmarks/bench_stitch.py`` measures both the cold and the cached path.
"""

from .config import StitchConfig
from .generate import Stitcher, StitchJob, stitch_sample, stitch_shards
from .index import LineIndex, build_index
from .record import CropRecord

__all__ = ["CropRecord", "LineIndex", "StitchConfig", "StitchJob", "Stitcher",
           "build_index", "stitch_sample", "stitch_shards"]

"""synthtext: the sample contract and the producers of synthetic text images.

Sub-packages, one job each (lower ones never import higher ones; see ``pyproject.toml``'s
import-linter contracts):

- :mod:`synthtext.dataset`: the sample contract at the base: :class:`Sample`, shard writing and
  reading, shard URLs (local, http(s), ``hf://``, ``dataset:NAME``), ``dataset.json``, seeds,
  the run orchestration, errors. Imports no other project package.
- :mod:`synthtext.corpora`: text corpora (indexed, WikiText cleaning) and the spans drawn from them.
- :mod:`synthtext.fonts`: font manifests, fetching, renderable character sets, font choice.
- :mod:`synthtext.augmenting`: :mod:`augment` operations applied to samples and shard directories.
- :mod:`synthtext.render`: ``synthgen render``: layout, shaping, drawing, the render API and stream.
- :mod:`synthtext.preview`: contact sheets of samples.
- :mod:`synthtext.hub`: dataset cards and publishing to the Hugging Face Hub.
"""

__version__ = "0.1.0"

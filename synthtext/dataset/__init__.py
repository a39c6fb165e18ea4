"""The sample contract at the base of the house: every producer and consumer speaks it.

:mod:`~synthtext.dataset.sample` (one sample: image, label, line quads, metadata),
:mod:`~synthtext.dataset.shards` (WebDataset tar shards, written atomically),
:mod:`~synthtext.dataset.urls` (a data spec -> shard URLs, and opening them),
:mod:`~synthtext.dataset.catalogue` (``dataset:NAME``), :mod:`~synthtext.dataset.info`
(``dataset.json``), :mod:`~synthtext.dataset.seeds` (per-sample random streams),
:mod:`~synthtext.dataset.runner` (sharded, resumable, parallel runs),
:mod:`~synthtext.dataset.stream` (samples made on the fly in DataLoader workers),
:mod:`~synthtext.dataset.text` (the label text policy), :mod:`~synthtext.dataset.names`
(names that reach keys and file names), :mod:`~synthtext.dataset.cache` (the cache root)
and :mod:`~synthtext.dataset.errors`. This package imports no other package of the project.
"""

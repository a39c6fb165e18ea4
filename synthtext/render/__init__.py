"""``synthgen render``: corpus spans laid out, shaped with HarfBuzz and drawn with FreeType.

Public API: :class:`~synthtext.render.config.RenderConfig`,
:func:`~synthtext.render.generate.render_shards`,
:func:`~synthtext.render.generate.render_sample` and
:class:`~synthtext.render.stream.RenderStream` (a torch ``IterableDataset``).
"""

"""The FPHTR recognizer (Singh & Karayev, ICDAR 2021): train, evaluate, predict.

Modules, bottom to top: ``config`` (ModelConfig, TrainConfig, presets), ``vocab``,
``preprocess`` (image -> tensor, collate), ``network`` (FPHTR), ``decode`` (greedy and beam
search), ``metrics`` (CER/WER), ``domain_terms``, ``schedule`` (LR and mixture clocks),
``sources`` (``NAME=TARGET@W`` specs), ``data`` (the mixed, bucketed training stream),
``checkpoint`` (file format, RNG states), ``evaluate``, ``plan`` (what a run decides before
it builds), ``distributed`` (torchrun process group), ``state`` (the live TrainState and its
checkpoint round trip), ``runlog`` (metrics.jsonl, progress, TensorBoard), ``train`` (the
loop), ``plot``.
"""

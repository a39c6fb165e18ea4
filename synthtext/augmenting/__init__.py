"""The :mod:`augment` operations applied to samples: at render time, on the fly, to shards."""

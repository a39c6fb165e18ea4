"""synthtext: corpus spans drawn in many fonts, plus the sample contract, shard writer and runner."""
__version__ = "0.1.0"

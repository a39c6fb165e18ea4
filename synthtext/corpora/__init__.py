"""Text corpora: memory-mapped paragraph indexes, WikiText cleaning, random spans."""

"""Command-line entry points (``synthgen``, ``fphtr``): a thin click layer that parses options and calls the library."""

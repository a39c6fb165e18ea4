"""Which crops make a page: a natural passage when the input knows documents, else random.

``document`` mode starts at a random crop of the split and takes the following lines of its
document in reading order (moving the start back when the document ends first), then the
writer's other documents, then random crops; ``random`` mode draws distinct crops from the
whole split. Only crops of the page's own split are ever candidates (leakage control), and
crops that failed to decode in an earlier attempt of the same sample are passed over.
"""

from __future__ import annotations

import numpy as np

from .index import LineIndex


def pick_crops(rng, index: LineIndex, split: str, k: int, same_document: float,
               exclude: frozenset[int] = frozenset()) -> tuple[str, list[int]]:
    """(mode, record numbers in page order) for a page of ``k`` lines of ``split``."""
    pool = index.pool(split)
    if exclude:
        pool = pool[~np.isin(pool, list(exclude))]
    if len(pool) == 0:
        return "random", []
    k = min(k, len(pool))
    start = int(pool[int(rng.integers(len(pool)))])
    want_doc = bool(rng.random() < same_document)
    fill_seed = int(rng.integers(2**31))
    doc = [j for j in index.document(start) if j not in exclude]
    if want_doc and len(doc) > 1:
        pos = doc.index(start)
        first = min(pos, max(0, len(doc) - k))
        chosen = doc[first:first + k]
        mode = "document"
        if len(chosen) < k:
            taken = set(chosen)
            more = [j for j in index.writer_documents(start) if j not in taken
                    and j not in exclude]
            if more:
                mode = "writer"
            chosen += more[:k - len(chosen)]
        if len(chosen) < k:
            chosen += _random(np.random.default_rng(fill_seed), pool, k - len(chosen),
                              set(chosen))
        return mode, chosen
    rest = _random(np.random.default_rng(fill_seed), pool, k - 1, {start})
    return "random", [start] + rest


def _random(rng, pool: np.ndarray, n: int, taken: set[int]) -> list[int]:
    """``n`` distinct crops from ``pool`` not in ``taken`` (fewer if the pool runs out)."""
    if n <= 0:
        return []
    free = pool[~np.isin(pool, list(taken))] if taken else pool
    n = min(n, len(free))
    return [int(x) for x in rng.choice(free, size=n, replace=False)]

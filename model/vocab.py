"""Character vocabulary: specials, region tags as single tokens, ``\\n`` as a character.

Ids are positions in one symbol list, so extending a vocabulary (``--init-from``) appends and
never renumbers: old weights keep their meaning.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)
PAD_ID, BOS_ID, EOS_ID, UNK_ID = range(4)
# Always present, so a run on text with few characters still reads ordinary text later.
BASE_CHARS = "\n" + string.printable[:95]  # space .. ~ and the line break


def split_symbols(text: str, tags=()) -> list[str]:
    """Text as vocabulary symbols: each region tag is one symbol, anything else one char.

    The metrics use the same split, so a tag counts as one edit, not as its characters.
    """
    if not tags:
        return list(text)
    ordered = sorted(tags, key=len, reverse=True)
    out, i = [], 0
    while i < len(text):
        if text[i] == "<":
            tag = next((t for t in ordered if text.startswith(t, i)), None)
            if tag is not None:
                out.append(tag)
                i += len(tag)
                continue
        out.append(text[i])
        i += 1
    return out


@dataclass
class Vocab:
    """Symbols ``<pad> <bos> <eos> <unk>``, then region tags, then characters.

    Raises:
        ValueError: the list does not start with the specials or has duplicates.
    """

    symbols: list[str]
    tags: tuple = ()
    _index: dict = field(init=False, repr=False)

    def __post_init__(self):
        self.tags = tuple(self.tags)
        if tuple(self.symbols[:4]) != SPECIALS:
            raise ValueError(f"a vocabulary starts with {SPECIALS}")
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError("a vocabulary has no duplicate symbols")
        self._index = {s: i for i, s in enumerate(self.symbols)}

    @classmethod
    def build(cls, chars, tags=()) -> "Vocab":
        """A vocabulary of BASE_CHARS plus ``chars`` (sorted) plus ``tags``."""
        tags = tuple(dict.fromkeys(tags))
        cs = sorted(set(BASE_CHARS) | set(chars))
        return cls(list(SPECIALS) + list(tags) + cs, tags)

    def __len__(self) -> int:
        return len(self.symbols)

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocab) and self.symbols == other.symbols

    @property
    def newline_id(self) -> int:
        """The id of ``\\n`` (always in the vocabulary)."""
        return self._index["\n"]

    def encode(self, text: str, bos_eos: bool = True) -> list[int]:
        """Ids of ``text``'s symbols (unknown ones ``UNK_ID``), framed by <bos>/<eos>."""
        ids = [self._index.get(s, UNK_ID) for s in split_symbols(text, self.tags)]
        return [BOS_ID] + ids + [EOS_ID] if bos_eos else ids

    def decode(self, ids) -> str:
        """Ids to text: stops at ``<eos>``; ``<pad>``/``<bos>`` dropped, ``<unk>`` kept as-is."""
        out = []
        for i in ids:
            i = int(i)
            if i == EOS_ID:
                break
            if i in (PAD_ID, BOS_ID):
                continue
            out.append(self.symbols[i])
        return "".join(out)

    def missing(self, chars) -> list[str]:
        """Characters of ``chars`` this vocabulary cannot encode (sorted)."""
        return sorted(c for c in set(chars) if c not in self._index)

    def extended(self, chars, tags=()) -> "Vocab":
        """This vocabulary with missing ``chars`` and ``tags`` appended (old ids kept)."""
        new_tags = [t for t in dict.fromkeys(tags) if t not in self._index]
        return Vocab(self.symbols + new_tags + self.missing(chars), self.tags + tuple(new_tags))

    def to_json(self) -> dict:
        """``{"symbols": [...], "tags": [...]}``, as stored in checkpoints."""
        return {"symbols": list(self.symbols), "tags": list(self.tags)}

    @classmethod
    def from_json(cls, d: dict) -> "Vocab":
        """The inverse of :meth:`to_json`; ValueError on a malformed symbol list."""
        return cls(list(d["symbols"]), tuple(d.get("tags", ())))

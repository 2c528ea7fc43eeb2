"""Word tokens with added tokens: text -> word token ids, the way LUKE's tokenizer reads it.

Some tokens are matched whole in the text before BPE runs: the special tokens (``<s>``,
``</s>``, ``<mask>``...) and LUKE's entity markers ``<ent>`` and ``<ent2>``. So

    "Paris is the <mask> of France."  ->  "Paris is the" | <mask> | " of France."

and each piece between added tokens goes through byte-level BPE (``bpe.py``). An added token
may swallow the white space next to it: ``<mask>`` strips the space on its left ("lstrip"),
so "the <mask>" reads as "the" + <mask>, and the model predicts " word" with its space.

Token ids: an added token's id first, then ``vocab.json``'s, else the ``<unk>`` id (only a
hand-made vocabulary can miss a byte-level token): the BPE is built with that table.
"""

from __future__ import annotations

import regex

from .bpe import ByteLevelBPE


def split_added_tokens(text: str, pattern: regex.Pattern, lstrip: set[str],
                       rstrip: set[str]) -> list[tuple[str, bool]]:
    """Cut ``text`` around added tokens: [(piece, is_added_token), ...], empty pieces left out.

    ``pattern`` matches any added token (longest first); a token in ``lstrip`` removes the
    white space before it, one in ``rstrip`` the white space after it.
    """
    parts = pattern.split(text)  # text, token, text, token, ..., text
    if len(parts) == 1:
        return [(text, False)] if text else []
    for k in range(1, len(parts), 2):
        if parts[k] in rstrip and parts[k + 1]:
            parts[k + 1] = parts[k + 1].lstrip()
        if parts[k] in lstrip and parts[k - 1]:
            parts[k - 1] = parts[k - 1].rstrip()
    return [(part, k % 2 == 1) for k, part in enumerate(parts) if part]


class WordTokenizer:
    """Byte-level BPE plus added tokens: text -> token strings or ids.

    ``bpe`` encodes with the added tokens' ids on top of its vocabulary (``token_ids``);
    ``added``: added token -> id; ``lstrip`` / ``rstrip``: the added tokens that swallow the
    white space on their left / right.
    """

    def __init__(self, bpe: ByteLevelBPE, added: dict[str, int], lstrip: set[str],
                 rstrip: set[str]):
        self.bpe = bpe
        self.added = added
        self.lstrip, self.rstrip = set(lstrip), set(rstrip)
        self.pattern = regex.compile(
            "(" + "|".join(regex.escape(t) for t in sorted(added, key=len, reverse=True)) + ")")

    def split(self, text: str) -> list[tuple[str, bool]]:
        return split_added_tokens(text, self.pattern, self.lstrip, self.rstrip)

    def tokenize(self, text: str) -> list[str]:
        """Text -> token strings, added tokens kept whole: "a <mask>" -> ["a", "<mask>"]."""
        tokens: list[str] = []
        for piece, is_added in self.split(text):
            tokens.extend([piece] if is_added else self.bpe.tokenize(piece))
        return tokens

    def encode(self, text: str) -> list[int]:
        """Text -> token ids; the hot path of the tokenizer (BPE's word cache does the work)."""
        ids: list[int] = []
        for piece, is_added in self.split(text):
            ids.extend([self.added[piece]] if is_added else self.bpe.encode(piece))
        return ids

"""Byte-level byte-pair encoding (BPE): how LUKE turns text into word tokens.

LUKE reads words with RoBERTa's vocabulary, which is GPT-2's byte-level BPE. It works in
three steps.

1. Bytes as characters. Text is encoded as UTF-8 and every byte (0..255) is given a
   printable stand-in character, so that any text, in any script, becomes a string over an
   alphabet of exactly 256 symbols and nothing is ever "unknown". Printable Latin-1 bytes
   stand for themselves; the 68 others (control characters, space, ...) are shifted to
   U+0100 and up. A space therefore shows up as "Ġ" (U+0120) in tokens: "Ġworld" is
   " world".

2. Pre-tokenisation. A regular expression cuts the text into pieces that BPE never merges
   across: English contractions ('s 't 're 've 'm 'll 'd), runs of letters, runs of digits
   and runs of other symbols, each optionally led by one space, and runs of white space.

3. Merges. ``merges.txt`` is a ranked list of symbol pairs learned from a corpus. Each piece
   starts as single byte-characters; repeatedly, the adjacent pair with the best (lowest)
   rank is fused everywhere in the piece, until no adjacent pair has a rank. The resulting
   symbols are the tokens, looked up in ``vocab.json``. Pieces repeat a lot in real text,
   so each piece's result is cached.

Decoding reverses step 1: join the tokens, map each character back to its byte, and decode
UTF-8, replacing invalid sequences with U+FFFD (``errors="replace"``).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache

import regex

from .errors import TokenizerFileError

# Step 2: GPT-2's pre-tokenisation pattern. \p{L} letters, \p{N} numbers; "\s+(?!\S)" keeps
# the last space of a run of spaces for the word that follows it.
PRETOKENIZE_PATTERN = regex.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """Step 1: the table byte (0..255) -> printable character.

    Bytes that are printable Latin-1 characters ('!'..'~', '¡'..'¬', '®'..'ÿ') map to
    themselves; the remaining 68 bytes map, in byte order, to chr(256), chr(257), ...
    """
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table = {b: chr(b) for b in printable}
    others = [b for b in range(256) if b not in table]
    table.update({b: chr(256 + i) for i, b in enumerate(others)})
    return dict(sorted(table.items()))


def pretokenize(text: str) -> list[str]:
    """Step 2: cut text into the pieces BPE works on, e.g. "Hello world!" ->
    ["Hello", " world", "!"]."""
    return PRETOKENIZE_PATTERN.findall(text)


def get_pairs(symbols: tuple[str, ...]) -> set[tuple[str, str]]:
    """All adjacent pairs in a sequence of symbols: (a, b, c) -> {(a, b), (b, c)}."""
    return set(zip(symbols, symbols[1:], strict=False))


def merge_pair(symbols: tuple[str, ...], pair: tuple[str, str]) -> tuple[str, ...]:
    """Fuse every non-overlapping occurrence of ``pair``, left to right:
    ("l", "o", "l", "o") with ("l", "o") -> ("lo", "lo")."""
    first, second = pair
    merged: list[str] = []
    i = 0
    while i < len(symbols):
        if i + 1 < len(symbols) and symbols[i] == first and symbols[i + 1] == second:
            merged.append(first + second)
            i += 2
        else:
            merged.append(symbols[i])
            i += 1
    return tuple(merged)


class ByteLevelBPE:
    """A byte-level BPE vocabulary: ``vocab.json`` (token -> id) and ``merges.txt``.

    >>> bpe = ByteLevelBPE.from_files("vocab.json", "merges.txt")  # doctest: +SKIP
    >>> bpe.tokenize(" Hello world")                                 # doctest: +SKIP
    ['ĠHello', 'Ġworld']
    """

    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]]):
        self.vocab = vocab  # token -> id
        self.ids_to_tokens = {i: token for token, i in vocab.items()}
        self.merge_ranks = {pair: rank for rank, pair in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()  # byte -> character
        self.byte_decoder = {c: b for b, c in self.byte_encoder.items()}
        self._cache: dict[str, tuple[str, ...]] = {}

    @classmethod
    def from_files(cls, vocab_file: str | os.PathLike, merges_file: str | os.PathLike):
        return cls(read_vocab(vocab_file), read_merges(merges_file))

    def __len__(self) -> int:
        return len(self.vocab)

    def bpe(self, piece: str) -> tuple[str, ...]:
        """Step 3 on one pre-tokenised piece, already written in byte-characters."""
        cached = self._cache.get(piece)
        if cached is not None:
            return cached
        symbols = tuple(piece)
        while len(symbols) > 1:
            ranked = [(self.merge_ranks.get(p, float("inf")), p) for p in get_pairs(symbols)]
            rank, best = min(ranked)
            if rank == float("inf"):
                break
            symbols = merge_pair(symbols, best)
        self._cache[piece] = symbols
        return symbols

    def tokenize(self, text: str) -> list[str]:
        """Steps 1-3: text -> BPE tokens (strings in the byte alphabet, e.g. "Ġworld")."""
        tokens: list[str] = []
        for piece in pretokenize(text):
            as_chars = "".join(self.byte_encoder[b] for b in piece.encode("utf-8"))
            tokens.extend(self.bpe(as_chars))
        return tokens

    def encode(self, text: str) -> list[int]:
        """Text -> token ids. Every byte is in a byte-level vocabulary, so no id is unknown."""
        return [self.vocab[token] for token in self.tokenize(text)]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        """Undo step 1: byte-characters -> bytes -> text (invalid UTF-8 becomes U+FFFD)."""
        return chars_to_bytes("".join(tokens), self.byte_decoder).decode("utf-8", "replace")

    def decode(self, ids: list[int]) -> str:
        return self.convert_tokens_to_string([self.ids_to_tokens[i] for i in ids])


def chars_to_bytes(chars: str, byte_decoder: dict[str, int]) -> bytes:
    """Undo step 1: each byte-character becomes its byte. A character outside the 256 (only
    in hand-written tokens, e.g. a special token " ") stands for its own UTF-8 bytes."""
    try:
        return bytes(byte_decoder[c] for c in chars)
    except KeyError:
        return b"".join(bytes((byte_decoder[c],)) if c in byte_decoder
                        else c.encode("utf-8", "surrogatepass") for c in chars)


def read_vocab(path: str | os.PathLike) -> dict[str, int]:
    """Read ``vocab.json``: a JSON object {token: id} with distinct non-negative int ids."""
    name = os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as f:
            vocab = json.load(f)
    except (ValueError, RecursionError) as error:  # RecursionError: absurdly deep nesting
        raise TokenizerFileError(f"{name}: not valid JSON ({error})") from None
    if not isinstance(vocab, dict):
        raise TokenizerFileError(f"{name}: expected a JSON object {{token: id}}")
    for token, i in vocab.items():
        if type(i) is not int or not 0 <= i < 2**63:  # ids become int64 arrays
            raise TokenizerFileError(f"{name}: id of {token!r} is {i!r}, not an int >= 0 "
                                     "and < 2**63")
    if len(set(vocab.values())) != len(vocab):
        raise TokenizerFileError(f"{name}: two tokens share an id")
    return vocab


def read_merges(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Read ``merges.txt``: an optional "#version" header, then one "left right" pair a line,
    best (most frequent) first."""
    name = os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except UnicodeDecodeError as error:
        raise TokenizerFileError(f"{name}: not UTF-8 text ({error})") from None
    first = 1  # the number of the first line read as a pair
    if lines and lines[0].startswith("#version"):
        lines, first = lines[1:], 2
    merges = []
    for number, line in enumerate(lines, start=first):
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise TokenizerFileError(f"{name}: line {number} is not a pair of symbols: {line!r}")
        merges.append((parts[0], parts[1]))
    return merges

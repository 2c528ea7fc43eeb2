"""Byte-level byte-pair encoding (BPE): how LUKE turns text into word tokens.

LUKE reads words with RoBERTa's vocabulary, which is GPT-2's byte-level BPE. It works in
three steps.

1. Bytes as characters. Text is encoded as UTF-8 and every byte (0..255) is given a
   printable stand-in character, so that any text, in any script, becomes a string over an
   alphabet of exactly 256 symbols and nothing is ever "unknown". Printable Latin-1 bytes
   stand for themselves; the 68 others (control characters, space, ...) are shifted to
   U+0100 and up. A space therefore shows up as "Ġ" (U+0120) in tokens: "Ġworld" is
   " world".

2. Pre-tokenisation. A regular expression cuts the text into words that BPE never merges
   across: English contractions ('s 't 're 've 'm 'll 'd), runs of letters, runs of digits
   and runs of other symbols, each optionally led by one space, and runs of white space.

3. Merges. ``merges.txt`` is a ranked list of symbol pairs learned from a corpus. Each word
   starts as single byte-characters; repeatedly, the adjacent pair with the best (lowest)
   rank is fused everywhere in the word, until no adjacent pair has a rank. The resulting
   symbols are the tokens, looked up in ``vocab.json``.

Words repeat a lot in real text, so each word's token ids are cached, in a cache of bounded
size (as in Hugging Face's Rust ``tokenizers``): once it holds ``CACHE_SIZE`` words, new
words are tokenised but not stored, so memory stays bounded on an endless stream of text.

Decoding reverses step 1: join the tokens, map each character back to its byte, and decode
UTF-8, replacing invalid sequences with U+FFFD (``errors="replace"``).

Reading ``vocab.json`` and ``merges.txt`` (and checking them) is the shell's job:
``numpy_luke/tokenizer_files.py``.
"""

from __future__ import annotations

from functools import lru_cache

import regex

# Step 2: GPT-2's pre-tokenisation pattern. \p{L} letters, \p{N} numbers; "\s+(?!\S)" keeps
# the last space of a run of spaces for the word that follows it.
PRETOKENIZE_PATTERN = regex.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)

# Words cached per BPE vocabulary (about 570 bytes each: at most ~6 MB), and the longest word
# cached; the figures of Hugging Face's Rust tokenizers.
CACHE_SIZE = 10_000
MAX_CACHED_WORD = 256


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
    """Step 2: cut text into the words BPE works on, e.g. "Hello world!" ->
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


def merge(symbols: tuple[str, ...], ranks: dict[tuple[str, str], int]) -> tuple[str, ...]:
    """Step 3: fuse the best-ranked adjacent pair until no adjacent pair has a rank."""
    while len(symbols) > 1:
        rank, best = min((ranks.get(pair, float("inf")), pair) for pair in get_pairs(symbols))
        if rank == float("inf"):
            break
        symbols = merge_pair(symbols, best)
    return symbols


def chars_to_bytes(chars: str, byte_decoder: dict[str, int]) -> bytes:
    """Undo step 1: each byte-character becomes its byte. A character outside the 256 (only
    in hand-written tokens, e.g. a special token " ") stands for its own UTF-8 bytes."""
    try:
        return bytes(byte_decoder[c] for c in chars)
    except KeyError:
        return b"".join(bytes((byte_decoder[c],)) if c in byte_decoder
                        else c.encode("utf-8", "surrogatepass") for c in chars)


class ByteLevelBPE:
    """A byte-level BPE vocabulary: token -> id (``vocab.json``) and ranked merges.

    ``token_ids``: the token -> id table ``encode`` uses (default ``vocab``; a tokenizer
    passes ``vocab`` with its added tokens' ids on top), ``unk_id`` for a token it lacks
    (only a hand-made vocabulary can lack a byte-level token).

    >>> bpe = ByteLevelBPE({"a": 0, "b": 1, "ab": 2, "Ġ": 3}, [("a", "b")])
    >>> bpe.tokenize("ab a"), bpe.encode("ab a")
    (['ab', 'Ġ', 'a'], [2, 3, 0])
    """

    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]],
                 token_ids: dict[str, int] | None = None, unk_id: int | None = None,
                 cache_size: int = CACHE_SIZE):
        self.vocab = vocab  # token -> id
        self.ids_to_tokens = {i: token for token, i in vocab.items()}
        self.merge_ranks = {pair: rank for rank, pair in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()  # byte -> character
        self.byte_decoder = {c: b for b, c in self.byte_encoder.items()}
        self.token_ids = vocab if token_ids is None else token_ids
        self.unk_id = unk_id
        self.cache: dict[str, tuple[int, ...]] = {}  # word -> its token ids, bounded
        self.cache_size = cache_size

    def __len__(self) -> int:
        return len(self.vocab)

    def bpe(self, chars: str) -> tuple[str, ...]:
        """Step 3 on one word already written in byte-characters: "Ġlower" -> ("Ġlow", "er")."""
        return merge(tuple(chars), self.merge_ranks)

    def word_tokens(self, word: str) -> tuple[str, ...]:
        """Steps 1 and 3 on one pre-tokenised word: " world" -> ("Ġworld",)."""
        return self.bpe("".join([self.byte_encoder[b] for b in word.encode("utf-8")]))

    def tokenize(self, text: str) -> list[str]:
        """Steps 1-3: text -> BPE tokens (strings in the byte alphabet, e.g. "Ġworld")."""
        return [token for word in pretokenize(text) for token in self.word_tokens(word)]

    def encode(self, text: str) -> list[int]:
        """Text -> token ids, each word's ids cached (the tokenizer's hot path)."""
        ids: list[int] = []
        for word in pretokenize(text):
            word_ids = self.cache.get(word)
            if word_ids is None:
                word_ids = self._encode_word(word)
            ids.extend(word_ids)
        return ids

    def _encode_word(self, word: str) -> tuple[int, ...]:
        token_ids, unk = self.token_ids, self.unk_id
        word_ids = tuple([token_ids.get(token, unk) for token in self.word_tokens(word)])
        if len(self.cache) < self.cache_size and len(word) <= MAX_CACHED_WORD:
            self.cache[word] = word_ids
        return word_ids

    def convert_tokens_to_string(self, tokens: list[str], errors: str = "replace") -> str:
        """Undo step 1: byte-characters -> bytes -> text (invalid UTF-8 becomes U+FFFD)."""
        return chars_to_bytes("".join(tokens), self.byte_decoder).decode("utf-8", errors)

    def decode(self, ids: list[int]) -> str:
        return self.convert_tokens_to_string([self.ids_to_tokens[i] for i in ids])

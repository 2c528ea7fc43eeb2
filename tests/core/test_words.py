"""Word tokens with added tokens (numpy_luke/core/words.py) on a four-token BPE, so every
piece and id can be checked by eye: added tokens cut out whole (longest first), their strip
flags, BPE for the rest."""

import regex

from numpy_luke.core.bpe import ByteLevelBPE
from numpy_luke.core.words import WordTokenizer, split_added_tokens

MASK = regex.compile("(<mask>)")


def toy_tokenizer(**flags):
    bpe = ByteLevelBPE({"a": 0, "b": 1, "ab": 2, "Ġ": 3}, [("a", "b")])
    added = {"<mask>": 4, "<ent>": 5, "<ent2>": 6}
    return WordTokenizer(bpe, added, flags.get("lstrip", {"<mask>"}), flags.get("rstrip", set()))


def test_split_cuts_around_added_tokens_and_leaves_out_empty_pieces():
    assert split_added_tokens("x <mask> y", MASK, set(), set()) == [
        ("x ", False),
        ("<mask>", True),
        (" y", False),
    ]
    assert split_added_tokens("<mask>", MASK, set(), set()) == [("<mask>", True)]
    assert split_added_tokens("no token", MASK, set(), set()) == [("no token", False)]
    assert split_added_tokens("", MASK, set(), set()) == []


def test_strip_flags_swallow_the_white_space_on_their_side_only():
    assert split_added_tokens("x  <mask>  y", MASK, {"<mask>"}, set()) == [
        ("x", False),
        ("<mask>", True),
        ("  y", False),
    ]
    assert split_added_tokens("x  <mask>  y", MASK, set(), {"<mask>"}) == [
        ("x  ", False),
        ("<mask>", True),
        ("y", False),
    ]
    # a piece left empty by stripping is left out
    assert split_added_tokens(" <mask> ", MASK, {"<mask>"}, {"<mask>"}) == [("<mask>", True)]


def test_tokenize_and_encode_keep_added_tokens_whole():
    words = toy_tokenizer()
    # "<mask>" strips the space on its left, so only " a" keeps its "Ġ"
    assert words.tokenize("ab <mask> a") == ["ab", "<mask>", "Ġ", "a"]
    assert words.encode("ab <mask> a") == [2, 4, 3, 0]


def test_the_longest_added_token_wins():
    words = toy_tokenizer(lstrip=set())
    assert words.tokenize("<ent2>ab<ent>") == ["<ent2>", "ab", "<ent>"]
    assert words.encode("<ent2>ab<ent>") == [6, 2, 5]

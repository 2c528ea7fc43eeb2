"""Byte-level BPE (numpy_luke/core/bpe.py; files: tokenizer_files.py): the byte table, the
merge loop, the bounded cache, file reading."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from numpy_luke.core.bpe import (
    ByteLevelBPE,
    bytes_to_unicode,
    get_pairs,
    merge_pair,
    pretokenize,
)
from numpy_luke.errors import TokenizerFileError
from numpy_luke.tokenizer_files import read_bpe, read_merges, read_vocab


@pytest.fixture(scope="module")
def tiny_bpe(tiny_luke_dir):
    return read_bpe(tiny_luke_dir / "vocab.json", tiny_luke_dir / "merges.txt")


def test_byte_table_is_256_distinct_printable_characters():
    table = bytes_to_unicode()
    assert sorted(table) == list(range(256))
    chars = list(table.values())
    assert len(set(chars)) == 256
    assert all(c.isprintable() and not c.isspace() for c in chars)
    # printable Latin-1 bytes stand for themselves; space is shifted to "Ġ"
    assert table[ord("A")] == "A" and table[ord("é".encode("latin-1"))] == "é"
    assert table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ"


def test_pretokenize_pattern():
    assert pretokenize("Hello world!") == ["Hello", " world", "!"]
    assert pretokenize("it's  2020") == ["it", "'s", " ", " 2020"]
    # "\s+(?!\S)" leaves the last white-space character to the next match
    assert pretokenize("a\n\nb") == ["a", "\n", "\n", "b"]
    assert "".join(pretokenize("  odd\u3000white\u00a0space\t")) == "  odd\u3000white\u00a0space\t"


def test_pairs_and_merge():
    assert get_pairs(("a", "b", "c")) == {("a", "b"), ("b", "c")}
    assert merge_pair(("l", "o", "l", "o", "l"), ("l", "o")) == ("lo", "lo", "l")
    assert merge_pair(("a", "a", "a"), ("a", "a")) == ("aa", "a")  # left to right


def test_merges_are_applied_best_rank_first():
    vocab = {c: i for i, c in enumerate(["l", "o", "w", "e", "r", "lo", "low", "er", "ow"])}
    bpe = ByteLevelBPE(vocab, [("l", "o"), ("lo", "w"), ("e", "r"), ("o", "w")])
    # ("l","o") outranks ("o","w"), so "low" is l+o then lo+w, never o+w
    assert bpe.bpe("lower") == ("low", "er")
    assert bpe.bpe("owl") == ("ow", "l")
    assert bpe.bpe("x") == ("x",)


def test_known_tokenization_on_the_tiny_fixture(tiny_bpe, tiny_luke_dir):
    """The fixture's merges were learned from a corpus where these words are frequent, so
    each is one token; rarer or unseen words fall apart into smaller pieces."""
    merges = read_merges(tiny_luke_dir / "merges.txt")
    for word in (" energy", " capital", " played", " Paris"):
        (token,) = tiny_bpe.tokenize(word)
        assert token == "Ġ" + word[1:] and token in tiny_bpe.vocab
    assert tiny_bpe.tokenize(" Plants") == ["ĠP", "lants"]
    assert tiny_bpe.tokenize(" xylophone") == ["Ġ", "x", "y", "l", "o", "p", "h", "on", "e"]
    # the first merge learned is applied wherever its pair occurs
    first = merges[0]
    text = tiny_bpe.convert_tokens_to_string([first[0] + first[1]])
    assert first[0] + first[1] in tiny_bpe.tokenize(text)


@given(st.text(max_size=60))
def test_encode_decode_round_trip(text):
    bpe = ByteLevelBPE({c: i for i, c in enumerate(bytes_to_unicode().values())}, [])
    assert bpe.decode(bpe.encode(text)) == text


def test_decode_replaces_invalid_utf8(tiny_bpe):
    table = bytes_to_unicode()
    half_of_e_acute = [tiny_bpe.vocab[table["é".encode()[0]]]]
    assert tiny_bpe.decode(half_of_e_acute) == "\ufffd"


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ('["a", "b"]', "expected a JSON object"),
        ('{"a": -1}', "not an int >= 0"),
        ('{"a": 1.5}', "not an int >= 0"),
        ('{"a": 0, "b": 0}', "share an id"),
    ],
)
def test_read_vocab_errors(tmp_path, content, message):
    path = tmp_path / "vocab.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TokenizerFileError, match=message):
        read_vocab(path)


def test_read_merges(tmp_path):
    path = tmp_path / "merges.txt"
    path.write_text("#version: 0.2\nĠ t\nh e\n\n", encoding="utf-8")
    assert read_merges(path) == [("Ġ", "t"), ("h", "e")]
    path.write_text("#version: 0.2\nĠ t\nthree parts here\n", encoding="utf-8")
    with pytest.raises(TokenizerFileError, match="line 3 is not a pair"):
        read_merges(path)
    path.write_bytes(b"\xff\xfe bad")
    with pytest.raises(TokenizerFileError, match="not UTF-8"):
        read_merges(path)


def test_vocab_round_trip(tmp_path):
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps({"<s>": 0, "Ġworld": 1}), encoding="utf-8")
    assert read_vocab(path) == {"<s>": 0, "Ġworld": 1}


def test_the_word_cache_stays_bounded(tiny_bpe):
    """Each distinct word's ids are cached until the cache is full; after that, new words are
    encoded (correctly) but not stored, so memory stays bounded on endless text."""
    bpe = ByteLevelBPE(
        tiny_bpe.vocab, sorted(tiny_bpe.merge_ranks, key=tiny_bpe.merge_ranks.get), cache_size=100
    )
    words = [" " + "".join(chr(ord("a") + int(d)) for d in str(n)) for n in range(1000, 2000)]
    for word in words:
        bpe.encode(word)
    assert len(bpe.cache) == 100
    assert list(bpe.cache) == words[:100]  # the first words stay; later ones are not stored
    assert bpe.encode(words[-1]) == [bpe.vocab[t] for t in tiny_bpe.tokenize(words[-1])]
    assert len(bpe.cache) == 100


def test_the_default_cache_bound():
    from numpy_luke.core.bpe import CACHE_SIZE

    bpe = ByteLevelBPE({c: i for i, c in enumerate(bytes_to_unicode().values())}, [])
    for n in range(CACHE_SIZE + 5000):
        bpe.encode(f" {n}")
    assert len(bpe.cache) == CACHE_SIZE


def test_the_tokenizer_word_path_runs_the_core_bpe(tiny_luke_dir):
    """One implementation and one cache: LukeTokenizer's ids come from the core BPE's
    word cache (no second cache in the tokenizer)."""
    from numpy_luke import LukeTokenizer

    tok = LukeTokenizer.from_pretrained(tiny_luke_dir)
    assert tok.words.bpe is tok.bpe and not tok.bpe.cache
    ids = tok("Paris played energy", add_special_tokens=False)["input_ids"]
    assert set(tok.bpe.cache) == {"Paris", " played", " energy"}
    assert ids == [i for word in ("Paris", " played", " energy") for i in tok.bpe.cache[word]]
    assert ids == tok.convert_tokens_to_ids(tok.tokenize("Paris played energy"))

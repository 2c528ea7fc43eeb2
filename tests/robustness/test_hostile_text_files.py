"""Hostile or broken text files in a checkpoint folder: config.json and the tokenizer files.

A folder downloaded from the internet is untrusted. For every text file numpy_luke reads
(config.json, vocab.json, merges.txt, entity_vocab.json, tokenizer_config.json,
special_tokens_map.json, added_tokens.json) a broken or hostile copy must raise the
package's named exception (``ConfigError`` for config.json, ``TokenizerFileError`` for the
tokenizer files) whose message names the file and says what is wrong; no other exception
type, no allocation the file does not justify, and a later load of a valid folder still
gives the same encoding as before.

Each test copies the tiny fixture folder and spoils one file.
"""

from __future__ import annotations

import json
import shutil
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from helpers import TINY_LUKE

from numpy_luke import (
    ConfigError,
    LukeConfig,
    LukeForMaskedLM,
    LukeTokenizer,
    NumpyLukeError,
    TokenizerFileError,
)
from numpy_luke.tokenizer_files import read_entity_vocab, read_merges, read_vocab

TOKENIZER_JSON_FILES = (
    "vocab.json",
    "entity_vocab.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
)
TEXT = "Lionel Messi plays for Inter Miami CF."
SPANS = [(0, 12), (23, 37)]


@pytest.fixture(scope="module")
def reference():
    """The encoding of the valid fixture, to check that later loads are unharmed."""
    return LukeTokenizer.from_pretrained(TINY_LUKE)(TEXT, entity_spans=SPANS)


@pytest.fixture
def folder(tmp_path) -> Path:
    """A private copy of the tiny fixture folder, to spoil one file of."""
    copy = tmp_path / "checkpoint"
    shutil.copytree(TINY_LUKE, copy)
    return copy


def read_json(folder: Path, name: str):
    return json.loads((folder / name).read_text(encoding="utf-8"))


def write(folder: Path, name: str, content) -> None:
    """Write bytes as they are, a str as UTF-8 text, anything else as JSON."""
    if not isinstance(content, (bytes, str)):
        content = json.dumps(content)
    if isinstance(content, str):
        content = content.encode("utf-8")
    (folder / name).write_bytes(content)


def load_tokenizer_fails(folder: Path, name: str, *words: str) -> str:
    """Loading the folder's tokenizer raises TokenizerFileError naming ``name`` and every
    one of ``words``; a valid load afterwards still works. Returns the message."""
    with pytest.raises(TokenizerFileError) as caught:
        LukeTokenizer.from_pretrained(folder)
    message = str(caught.value)
    assert name in message, message
    for word in words:
        assert word in message, message
    return message


@pytest.fixture(autouse=True)
def valid_load_still_works(reference):
    """After every test, loading the valid fixture gives the same encoding as before."""
    yield
    assert LukeTokenizer.from_pretrained(TINY_LUKE)(TEXT, entity_spans=SPANS) == reference


# ---------------------------------------------------------------------------- any JSON file

BROKEN_JSON = {
    "invalid JSON": b'{"a": 1,',
    "not UTF-8": b'{"\xff\xfe": 1}',
    "empty file": b"",
    "NUL bytes": b"\x00" * 64,
    "nested 100,000 deep": b"[" * 100_000,
}


@pytest.mark.parametrize("name", TOKENIZER_JSON_FILES)
@pytest.mark.parametrize("case", BROKEN_JSON)
def test_broken_tokenizer_json_files_are_refused_by_name(folder, name, case):
    write(folder, name, BROKEN_JSON[case])
    load_tokenizer_fails(folder, name)


@pytest.mark.parametrize("case", BROKEN_JSON)
def test_broken_config_json_is_refused_by_name(folder, case):
    write(folder, "config.json", BROKEN_JSON[case])
    for load in (LukeConfig.from_pretrained, LukeForMaskedLM.from_pretrained):
        with pytest.raises(ConfigError, match="config.json"):
            load(folder)


@pytest.mark.parametrize("name", TOKENIZER_JSON_FILES)
@pytest.mark.parametrize("value", [[1, 2], "text", 3, None])
def test_tokenizer_json_of_the_wrong_top_level_type(folder, name, value):
    write(folder, name, json.dumps(value))
    load_tokenizer_fails(folder, name)


# ---------------------------------------------------------------------------- vocab.json


@pytest.mark.parametrize(
    "bad_id, what",
    [(-1, "-1"), (1.5, "1.5"), ("7", "'7'"), (None, "None"), (True, "True"), ([3], "[3]")],
)
def test_vocab_json_ids_must_be_non_negative_ints(folder, bad_id, what):
    vocab = read_json(folder, "vocab.json")
    vocab["Ġplays"] = bad_id
    write(folder, "vocab.json", vocab)
    load_tokenizer_fails(folder, "vocab.json", what, "Ġplays")


def test_vocab_json_duplicate_ids(folder):
    vocab = read_json(folder, "vocab.json")
    vocab["Ġplays"] = vocab["Ġfor"]
    write(folder, "vocab.json", vocab)
    load_tokenizer_fails(folder, "vocab.json", "share an id")


def test_vocab_json_without_special_tokens_gives_ids_the_model_refuses(folder):
    """As transformers: special tokens missing from vocab.json get the next free ids. Those
    lie beyond the model's vocabulary, so the model refuses them by name, not silently."""
    vocab = read_json(folder, "vocab.json")
    for token in ("<s>", "</s>", "<pad>", "<unk>", "<mask>"):
        del vocab[token]
    write(folder, "vocab.json", vocab)
    tokenizer = LukeTokenizer.from_pretrained(folder)
    assert tokenizer.cls_token_id >= 419  # beyond the fixture model's vocab_size
    model = LukeForMaskedLM.from_pretrained(TINY_LUKE)
    with pytest.raises(ValueError, match="input_ids holds values in .* another checkpoint"):
        model(**tokenizer(TEXT, return_tensors="np"))


def test_vocab_json_absurd_id_allocates_nothing_and_the_model_refuses_it(folder):
    vocab = read_json(folder, "vocab.json")
    vocab[LukeTokenizer.from_pretrained(TINY_LUKE).tokenize(TEXT)[0]] = 10**15
    write(folder, "vocab.json", vocab)
    tracemalloc.start()
    tokenizer = LukeTokenizer.from_pretrained(folder)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5_000_000
    encoding = tokenizer(TEXT, return_tensors="np")
    assert encoding["input_ids"][0, 1] == 10**15
    with pytest.raises(ValueError, match="input_ids holds values in .*1000000000000000"):
        LukeForMaskedLM.from_pretrained(TINY_LUKE)(**encoding)


@pytest.mark.parametrize("name", ["vocab.json", "entity_vocab.json", "added_tokens.json"])
def test_ids_beyond_int64_are_refused(folder, name):
    """Ids become int64 arrays: 2**63 used to pass the reader and crash encoding with an
    OverflowError."""
    vocab = read_json(folder, name)
    vocab[next(iter(vocab))] = 2**63
    write(folder, name, vocab)
    load_tokenizer_fails(folder, name, "not an int >= 0 and < 2**63")


# ---------------------------------------------------------------------------- merges.txt


@pytest.mark.parametrize(
    "content, line",
    [
        ("#version: 0.2\nĠ p\nthree symbols here\n", "line 3"),
        ("Ġ p\nlonely\n", "line 2"),  # no #version header: the first line is line 1
    ],
)
def test_merges_txt_lines_must_be_pairs(folder, content, line):
    write(folder, "merges.txt", content)
    load_tokenizer_fails(folder, "merges.txt", line)


def test_merges_txt_not_utf8(folder):
    write(folder, "merges.txt", b"#version: 0.2\n\xff \xfe\n")
    load_tokenizer_fails(folder, "merges.txt", "UTF-8")


def test_merges_txt_with_symbols_outside_the_vocabulary_still_encodes(folder):
    """Merges may produce tokens vocab.json lacks: they become <unk>, as in transformers,
    never an exception."""
    write(folder, "merges.txt", "#version: 0.2\nL i\nLi o\n")
    tokenizer = LukeTokenizer.from_pretrained(folder)
    ids = tokenizer("Lio")["input_ids"]
    assert ids == [tokenizer.cls_token_id, tokenizer.unk_token_id, tokenizer.sep_token_id]


def test_readers_name_the_file_they_read(folder):
    write(folder, "vocab.json", "[]")
    with pytest.raises(TokenizerFileError, match="^vocab.json: "):
        read_vocab(folder / "vocab.json")
    write(folder, "merges.txt", "a b c\n")
    with pytest.raises(TokenizerFileError, match="^merges.txt: line 1 "):
        read_merges(folder / "merges.txt")


# ---------------------------------------------------------------------------- entity_vocab.json


def test_entity_vocab_json_missing_special_entities(folder):
    vocab = read_json(folder, "entity_vocab.json")
    del vocab["[MASK2]"]
    write(folder, "entity_vocab.json", vocab)
    load_tokenizer_fails(folder, "entity_vocab.json", "[MASK2]", "missing")


def test_entity_vocab_json_special_entities_must_not_share_ids(folder):
    vocab = read_json(folder, "entity_vocab.json")
    vocab["[MASK]"] = vocab["[PAD]"]  # masking would silently read as padding
    write(folder, "entity_vocab.json", vocab)
    load_tokenizer_fails(folder, "entity_vocab.json", "distinct ids")


@pytest.mark.parametrize("bad_id", [-5, 2.0, "3", None, False])
def test_entity_vocab_json_ids_must_be_non_negative_ints(folder, bad_id):
    vocab = read_json(folder, "entity_vocab.json")
    vocab["Lionel Messi"] = bad_id
    write(folder, "entity_vocab.json", vocab)
    load_tokenizer_fails(folder, "entity_vocab.json", "Lionel Messi")


@pytest.mark.parametrize(
    "records",
    [
        [1, 2],
        [{"id": 0}],
        [{"id": 0, "entities": "[PAD]"}],
        [{"id": 0, "entities": [["[PAD]"]]}],
        [{"id": "0", "entities": [["[PAD]", "en"]]}],
        [{"id": 0, "entities": [[["not", "hashable"], "en"]]}],
    ],
)
def test_entity_vocab_json_malformed_multilingual_records(folder, records):
    write(folder, "entity_vocab.json", records)
    load_tokenizer_fails(folder, "entity_vocab.json")


def test_entity_vocab_json_lines_with_a_broken_line(folder):
    good = json.dumps({"id": 0, "entities": [["[PAD]", "en"]]})
    write(folder, "entity_vocab.json", good + "\n" + good[:-3] + "\n")
    load_tokenizer_fails(folder, "entity_vocab.json", "line 2")


def test_entity_ids_beyond_the_model_are_refused_by_the_model(folder):
    """A tokenizer+model pair whose entity vocabulary is larger than the model's: the
    tokenizer loads, the model refuses the out-of-range entity id by name."""
    vocab = read_json(folder, "entity_vocab.json")
    vocab["Lionel Messi"] = 10_000  # the fixture model has 33 entities
    write(folder, "entity_vocab.json", vocab)
    tokenizer = LukeTokenizer.from_pretrained(folder)
    encoding = tokenizer(
        TEXT, entity_spans=SPANS, entities=["Lionel Messi", "Inter Miami CF"], return_tensors="np"
    )
    assert encoding["entity_ids"][0, 0] == 10_000
    with pytest.raises(ValueError, match=r"entity_ids holds values in \[4, 10000\]"):
        LukeForMaskedLM.from_pretrained(TINY_LUKE)(**encoding)


def test_entity_vocab_from_file_directly(folder):
    write(folder, "entity_vocab.json", '{"[PAD]": 0}')
    with pytest.raises(TokenizerFileError, match="^entity_vocab.json: .*missing"):
        read_entity_vocab(folder / "entity_vocab.json")


# ---------------------------------------------------------------------------- tokenizer_config.json


@pytest.mark.parametrize(
    "key, value",
    [
        ("add_prefix_space", "false"),  # a string: would read as True
        ("max_entity_length", -3),
        ("max_entity_length", "32"),
        ("max_entity_length", 10**9),  # absurd: padding would allocate it per text
        ("max_mention_length", 0),
        ("max_mention_length", 10**9),
        ("max_mention_length", 2.5),
        ("model_max_length", None),
        ("model_max_length", "512"),
        ("model_max_length", -1),
        ("task", "summarization"),
        ("errors", 5),
        ("errors", "no-such-handler"),
        ("mask_token", 50264),
        ("mask_token", {"lstrip": True}),
        ("entity_token_1", ["<ent>"]),
        ("additional_special_tokens", "<ent>"),  # a string: would be split into characters
        ("additional_special_tokens", [None]),
        ("added_tokens_decoder", ["<s>"]),
        ("added_tokens_decoder", {"-1": "<s>"}),
        ("added_tokens_decoder", {"zero": "<s>"}),
        ("added_tokens_decoder", {"417": 5}),
        ("padding_side", "middle"),
        ("truncation_side", None),
        ("extra_special_tokens", "<x>"),
        ("extra_special_tokens", [5]),
    ],
)
def test_tokenizer_config_json_bad_values_are_refused_by_file_and_key(folder, key, value):
    config = read_json(folder, "tokenizer_config.json")
    config[key] = value
    write(folder, "tokenizer_config.json", config)
    message = load_tokenizer_fails(folder, "tokenizer_config.json")
    assert key in message or "added_tokens_decoder" in message, message


def test_tokenizer_config_absurd_sizes_are_refused_before_allocating(folder):
    config = read_json(folder, "tokenizer_config.json")
    config["max_mention_length"] = 2**40
    write(folder, "tokenizer_config.json", config)
    tracemalloc.start()
    load_tokenizer_fails(folder, "tokenizer_config.json", "max_mention_length")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5_000_000


def test_unknown_tokenizer_config_keys_are_ignored(folder):
    config = read_json(folder, "tokenizer_config.json")
    config.update({"some_future_option": {"nested": [1, 2]}, "name_or_path": "x"})
    write(folder, "tokenizer_config.json", config)
    assert LukeTokenizer.from_pretrained(folder)(TEXT)["input_ids"][0] == 0


# ---------------------------------------------------------------------------- special tokens


@pytest.mark.parametrize(
    "key, value",
    [
        ("additional_special_tokens", "<ent><ent2>"),
        ("additional_special_tokens", {"content": "<ent>"}),
        ("pad_token", 1),
        ("cls_token", {"content": None}),
    ],
)
def test_special_tokens_map_json_bad_values(folder, key, value):
    special = read_json(folder, "special_tokens_map.json")
    special[key] = value
    write(folder, "special_tokens_map.json", special)
    load_tokenizer_fails(folder, "special_tokens_map.json", key)


@pytest.mark.parametrize(
    "added, words",
    [
        ({"<ent>": -1, "<ent2>": 418}, ["-1"]),
        ({"<ent>": "417", "<ent2>": 418}, ["'417'"]),
        ({"<ent>": 417.0, "<ent2>": 418}, ["417.0"]),
        ({"<ent>": 5, "<ent2>": 418}, ["'<ent>'", "id 5", "already belongs to vocab.json's"]),
        ({"<ent>": 417, "<ent2>": 417}, ["id 417", "already belongs to the added token '<ent>'"]),
    ],
)
def test_added_tokens_json_bad_or_duplicate_ids(folder, added, words):
    write(folder, "added_tokens.json", added)
    load_tokenizer_fails(folder, "added_tokens.json", *words)


def test_vocab_json_token_taking_an_added_tokens_id_names_vocab_json(folder):
    """Found by test_fuzz.py: the clash was reported against added_tokens.json only."""
    vocab = read_json(folder, "vocab.json")
    vocab["!"] = 417  # the id added_tokens.json gives <ent>
    write(folder, "vocab.json", vocab)
    load_tokenizer_fails(folder, "vocab.json", "'<ent>'", "vocab.json's '!'")


@pytest.mark.parametrize("token", [" ", "😀", "<日本>", "\t"])
def test_special_tokens_outside_the_byte_alphabet_decode(folder, token):
    """Found by test_fuzz.py: a special token with characters outside BPE's byte alphabet
    (a space, an emoji) made decode() fail with KeyError (transformers fails alike)."""
    special = read_json(folder, "special_tokens_map.json")
    special["bos_token"] = special["cls_token"] = token
    write(folder, "special_tokens_map.json", special)
    tokenizer = LukeTokenizer.from_pretrained(folder)
    ids = tokenizer("Messi plays")["input_ids"]
    assert tokenizer.decode(ids) == token + "Messi plays</s>"


# ---------------------------------------------------------------------------- config.json


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("hidden_size", -32, "positive"),
        ("hidden_size", "32", "integer"),
        ("hidden_size", 30, "divisible"),  # 4 heads
        ("vocab_size", 0, "positive"),
        ("num_hidden_layers", 2.0, "integer"),
        ("max_position_embeddings", None, "integer"),
        ("layer_norm_eps", -1, "positive"),
        ("hidden_act", "eval", "hidden_act"),
        ("use_entity_aware_attention", "yes", "true or false"),
        ("id2label", {"zero": "A"}, "integer keys"),
        ("id2label", ["A", "B"], "id2label"),
        ("num_labels", -2, "num_labels"),
        ("num_labels", 10**12, "num_labels"),  # absurd: used to build a label table of 10**12
        ("problem_type", "guess", "problem_type"),
        ("pad_token_id", "1", "pad_token_id"),
    ],
)
def test_config_json_bad_values_are_refused_by_file_and_key(folder, key, value, words):
    config = read_json(folder, "config.json")
    config[key] = value
    write(folder, "config.json", config)
    started = time.process_time()
    for load in (LukeConfig.from_pretrained, LukeForMaskedLM.from_pretrained):
        with pytest.raises(ConfigError) as caught:
            load(folder)
        assert "config.json" in str(caught.value) and words in str(caught.value)
    assert time.process_time() - started < 2


@pytest.mark.parametrize(
    "key, value",
    [
        ("num_hidden_layers", 10**12),
        ("vocab_size", 10**12),
        ("hidden_size", 2**40),
        ("entity_vocab_size", 7),
    ],
)
def test_config_json_sizes_the_weights_do_not_have(folder, key, value):
    """Sizes the weights contradict: a CheckpointError naming the problem, quickly, with no
    allocation of the absurd size (10**12 layers used to loop over every one)."""
    config = read_json(folder, "config.json")
    config[key] = value
    if key == "hidden_size":
        config["num_attention_heads"] = 1
    write(folder, "config.json", config)
    started = time.process_time()
    with pytest.raises(NumpyLukeError) as caught:
        LukeForMaskedLM.from_pretrained(folder)
    assert time.process_time() - started < 2
    assert type(caught.value).__name__ == "CheckpointError"
    assert key.replace("num_hidden_layers", "layers") in str(caught.value) or str(value) in str(
        caught.value
    )


def test_config_json_pad_token_id_that_cannot_number_positions(folder):
    """transformers would index an embedding with a negative position; numpy_luke says so."""
    config = read_json(folder, "config.json")
    config["pad_token_id"] = -5
    write(folder, "config.json", config)
    model = LukeForMaskedLM.from_pretrained(folder)
    with pytest.raises(ValueError, match="pad_token_id"):
        model(input_ids=np.array([[0, 5, 2]]))


# ---------------------------------------------------------------------------- shard index


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000,
        b"{}",
        b'{"weight_map": [1]}',
        b'{"weight_map": {"a": ["x"]}}',
        b"\xff",
        b'{"weight_map": {"a": "../model.safetensors"}}',
    ],
)
def test_broken_shard_index_json(folder, content):
    (folder / "model.safetensors").unlink()
    write(folder, "model.safetensors.index.json", content)
    with pytest.raises(NumpyLukeError) as caught:
        LukeForMaskedLM.from_pretrained(folder)
    assert type(caught.value).__name__ == "CheckpointError"
    assert "model.safetensors.index.json" in str(caught.value)


# ---------------------------------------------------------------------------- huge files


@pytest.mark.parametrize(
    "name", ["vocab.json", "entity_vocab.json", "tokenizer_config.json", "config.json"]
)
def test_big_json_files_cost_memory_in_proportion_to_their_size(folder, name):
    """A big file may cost memory, but only in proportion to its size (Python's JSON
    objects are at most a few dozen times bigger than their text): 1 MB of small JSON
    objects stays under 16 MB + 64x the file size."""
    content = b"[" + b",".join([b"{}"] * 350_000) + b"]"  # ~1 MB
    write(folder, name, content)
    tracemalloc.start()
    with pytest.raises(NumpyLukeError):
        if name == "config.json":
            LukeConfig.from_pretrained(folder)
        else:
            LukeTokenizer.from_pretrained(folder)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 16_000_000 + 64 * len(content)

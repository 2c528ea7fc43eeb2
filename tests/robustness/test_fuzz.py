"""Fuzzing the text-file readers and the tokenizer with hypothesis.

Readers (vocab.json, merges.txt, entity_vocab.json, config.json, tokenizer_config.json,
special_tokens_map.json, added_tokens.json) get random bytes, byte-level mutations of the
valid fixture files and JSON-aware mutations (values replaced by random JSON, keys dropped
or added, extreme numbers). Each must either load, or raise the package's named exception
(``TokenizerFileError`` / ``ConfigError`` / ``CheckpointError``), never another exception
type. What loads must then work: the tokenizer encodes and decodes a sentence with entity
spans; a config builds the fixture model or is refused with a named error, and the model
either runs or refuses its input with a ValueError raised by numpy_luke itself.

The tokenizer gets random unicode, random spans and random tasks: the result is a valid
encoding whose invariants hold, or a ValueError / TypeError.

The example budget per test is ``NUMPY_LUKE_FUZZ_EXAMPLES`` (default 40: the whole file
runs in well under 30 s). The long run recorded in docs/testing.md ("Fuzzing"):

    NUMPY_LUKE_FUZZ_EXAMPLES=5000 pytest tests/robustness/test_fuzz.py -p no:randomly \
        --hypothesis-show-statistics
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import traceback
from pathlib import Path

import numpy as np
import pytest
from helpers import TINY_LUKE
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from numpy_luke import (
    LukeConfig,
    LukeForMaskedLM,
    LukeTokenizer,
    NumpyLukeError,
    TokenizerFileError,
)
from numpy_luke.tokenizer_files import read_entity_vocab, read_merges, read_vocab
from numpy_luke.weights import load_state_dict

EXAMPLES = int(os.environ.get("NUMPY_LUKE_FUZZ_EXAMPLES", 40))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TEXT = "Lionel Messi plays for Inter Miami CF."
SPANS = [(0, 12), (23, 37)]
JSON_FILES = (
    "vocab.json",
    "entity_vocab.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "config.json",
)
TEXT_FILES = (*JSON_FILES, "merges.txt")
ORIGINAL = {name: (TINY_LUKE / name).read_bytes() for name in TEXT_FILES}
STATE = load_state_dict([TINY_LUKE / "model.safetensors"])


# ---------------------------------------------------------------------------- strategies

EXTREME_NUMBERS = st.sampled_from(
    [
        -1,
        0,
        1,
        2**31,
        2**63 - 1,
        2**63,
        -(2**63),
        10**30,
        1e308,
        float("inf"),
        float("nan"),
        -0.0,
        0.5,
    ]
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | EXTREME_NUMBERS
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


@st.composite
def mutated_bytes(draw, original: bytes) -> bytes:
    """A few random edits of a valid file: flipped, inserted, deleted or repeated bytes,
    truncation."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 6))):
        edit = draw(st.sampled_from(["flip", "insert", "delete", "repeat", "truncate"]))
        at = draw(st.integers(0, len(data)))
        if edit == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif edit == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif edit == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 64))] * draw(st.integers(1, 4))
        elif edit == "truncate":
            del data[at:]
    return bytes(data)


@st.composite
def mutated_json(draw, original: bytes) -> bytes:
    """The valid JSON file with a few values replaced by random JSON, keys dropped or added
    (for list layouts: items replaced)."""
    data = json.loads(original)
    for _ in range(draw(st.integers(1, 4))):
        edit = draw(st.sampled_from(["replace", "drop", "add"]))
        if isinstance(data, dict):
            keys = sorted(data)
            if edit == "add" or not keys:
                data[draw(st.text(max_size=10))] = draw(JSON_VALUES)
            elif edit == "drop":
                del data[draw(st.sampled_from(keys))]
            else:  # mostly small ints: keeps many files loadable, so the loaded path is hit
                data[draw(st.sampled_from(keys))] = draw(st.integers(-2, 600) | JSON_VALUES)
        else:
            data = draw(JSON_VALUES)
    return json.dumps(data).encode("utf-8")


def file_contents(name: str):
    """Random bytes, or a byte mutation, or (JSON files) a JSON mutation of the fixture's."""
    choices = [st.binary(max_size=256), mutated_bytes(ORIGINAL[name])]
    if name in JSON_FILES:
        choices.append(mutated_json(ORIGINAL[name]))
    return st.one_of(choices)


# ---------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def folder():
    """One private copy of the fixture folder; each example spoils one file, then puts it
    back."""
    path = Path(tempfile.mkdtemp(prefix="numpy_luke_fuzz_")) / "checkpoint"
    shutil.copytree(TINY_LUKE, path)
    yield path
    shutil.rmtree(path.parent)


class spoiled:
    """``with spoiled(folder, name, content):`` the file holds ``content``, then the original."""

    def __init__(self, folder: Path, name: str, content: bytes):
        self.path, self.content = folder / name, content

    def __enter__(self):
        self.path.write_bytes(self.content)
        return self.path

    def __exit__(self, *exc):
        self.path.write_bytes(ORIGINAL[self.path.name])


def raised_by_numpy_luke(error: BaseException) -> bool:
    """True when the innermost frame that raised ``error`` is numpy_luke's own code (a check
    with a message), not NumPy or the standard library failing underneath it."""
    frames = traceback.extract_tb(error.__traceback__)
    return (
        bool(frames)
        and f"{os.sep}numpy_luke{os.sep}" in frames[-1].filename
        and f"{os.sep}tests{os.sep}" not in frames[-1].filename
    )


def check_tokenizer_works(tokenizer: LukeTokenizer) -> None:
    """A tokenizer that loaded must encode, decode and batch without any exception."""
    encoding = tokenizer(TEXT, entity_spans=SPANS, return_tensors="np")
    assert encoding["entity_ids"].shape == (1, 2)
    ids = encoding["input_ids"][0].tolist()
    assert isinstance(tokenizer.decode(ids), str)
    tokenizer([TEXT, "Messi"], entity_spans=[SPANS, [(0, 5)]], padding=True, return_tensors="np")
    tokenizer.convert_ids_to_tokens(ids)
    with tempfile.TemporaryDirectory() as saved:  # what it saves loads back the same
        tokenizer.save_pretrained(saved)
        again = LukeTokenizer.from_pretrained(saved)(TEXT, entity_spans=SPANS, return_tensors="np")
    assert all(np.array_equal(again[key], encoding[key]) for key in encoding)


# ---------------------------------------------------------------------------- readers


@pytest.mark.parametrize("name", ["vocab.json", "merges.txt", "entity_vocab.json"])
@FUZZ
@given(data=st.data())
def test_fuzz_single_file_readers(folder, name, data):
    read = {
        "vocab.json": read_vocab,
        "merges.txt": read_merges,
        "entity_vocab.json": read_entity_vocab,
    }[name]
    with spoiled(folder, name, data.draw(file_contents(name), label=name)) as path:
        try:
            result = read(path)
        except TokenizerFileError as error:
            assert name in str(error)
            event("refused with TokenizerFileError")
            return
    event("loaded")
    if name == "vocab.json":
        assert all(type(i) is int and i >= 0 for i in result.values())
        assert len(set(result.values())) == len(result)
    elif name == "merges.txt":
        assert all(len(pair) == 2 and all(pair) for pair in result)
    else:
        assert len({result.pad_id, result.unk_id, result.mask_id, result.mask2_id}) == 4
        assert all(result.title_to_id(t) == i for t, i in list(result.vocab.items())[:50])


@pytest.mark.parametrize("name", [n for n in TEXT_FILES if n != "config.json"])
@FUZZ
@given(data=st.data())
def test_fuzz_tokenizer_folder(folder, name, data):
    """One spoiled tokenizer file: TokenizerFileError naming it, or a working tokenizer."""
    with spoiled(folder, name, data.draw(file_contents(name), label=name)):
        try:
            tokenizer = LukeTokenizer.from_pretrained(folder)
        except TokenizerFileError as error:
            assert name in str(error), error
            event("refused with TokenizerFileError")
            return
        check_tokenizer_works(tokenizer)
        event("loaded, and encodes")


@FUZZ
@given(content=file_contents("config.json"))
def test_fuzz_config_json(folder, content):
    """A spoiled config.json: ConfigError naming it, or a config that builds the fixture
    model (or is refused by CheckpointError), and a model that runs or refuses its input
    with a ValueError of numpy_luke's own."""
    with spoiled(folder, "config.json", content) as path:
        try:
            config = LukeConfig.from_json_file(path)
        except NumpyLukeError as error:
            assert type(error).__name__ == "ConfigError" and "config.json" in str(error)
            event("refused with ConfigError")
            return
    assert LukeConfig.from_dict(json.loads(config.to_json_string())) == config
    try:
        model = LukeForMaskedLM.from_state_dict(STATE, config)
    except NumpyLukeError as error:
        assert type(error).__name__ in ("CheckpointError", "ConfigError"), error
        event(f"config read; model refused with {type(error).__name__}")
        return
    try:
        outputs = model(
            input_ids=[[0, 80, 372, 2]], entity_ids=[[2]], entity_position_ids=[[[1, 2]]]
        )
    except ValueError as error:
        assert raised_by_numpy_luke(error), traceback.format_exc()
        event("model built; input refused with ValueError")
        return
    event("model built and ran")
    assert outputs.logits.shape == (1, 4, config.vocab_size)


# ---------------------------------------------------------------------------- the tokenizer

TOKENIZER = LukeTokenizer.from_pretrained(TINY_LUKE)
ADDED = tuple(TOKENIZER.get_vocab())[-8:]  # "<s>", "<mask>", "<ent>", ... sometimes in text


@st.composite
def text_and_spans(draw):
    pieces = draw(
        st.lists(
            st.text(max_size=12)
            | st.sampled_from(
                [" ", "  ", "\ud800", "\x00", "<mask>", "<ent>", "</s>", "😀", "e\u0301", "\u3000"]
            ),
            max_size=8,
        )
    )
    text = "".join(pieces)
    offsets = st.integers(-2, len(text) + 2)
    inside = st.lists(st.integers(0, len(text)), min_size=2, max_size=2).map(sorted)
    spans = draw(
        st.lists(
            inside.map(tuple)
            | inside.map(tuple)
            | st.tuples(offsets, offsets)
            | st.sampled_from([(0.0, 1), (True, 1), (np.int64(0), np.int32(1)), (1, 2, 3), "ab"]),
            max_size=5,
        )
    )
    return text, spans


@FUZZ
@given(
    case=text_and_spans(),
    task=st.sampled_from(
        [
            None,
            None,
            "entity_classification",
            "entity_pair_classification",
            "entity_span_classification",
        ]
    ),
    pair=st.booleans(),
)
def test_fuzz_tokenizer_input(case, task, pair):
    """Random unicode and spans: a valid encoding, or ValueError / TypeError."""
    text, spans = case
    text_pair = "Messi plays." if pair else None
    try:
        encoding = TOKENIZER(text, text_pair, entity_spans=spans, task=task)
    except (ValueError, TypeError) as error:
        assert raised_by_numpy_luke(error), traceback.format_exc()
        event(f"refused with {type(error).__name__}")
        return
    event(f"encoded (task={task})")
    ids = encoding["input_ids"]
    assert ids[0] == TOKENIZER.cls_token_id and ids[-1] == TOKENIZER.sep_token_id
    assert encoding["attention_mask"] == [1] * len(ids)
    assert all(0 <= i < len(TOKENIZER) for i in ids)
    n_entities = {"entity_classification": 1, "entity_pair_classification": 2}.get(task, len(spans))
    assert len(encoding["entity_ids"]) == len(encoding["entity_position_ids"]) == n_entities
    for row in encoding["entity_position_ids"]:
        used = [p for p in row if p != -1]
        assert row == used + [-1] * (len(row) - len(used))  # padding only at the end
        assert used == list(range(used[0], used[0] + len(used))) if used else True
        assert all(0 < p < len(ids) - 1 for p in used)  # never a special token's position
    if task is None and "<" not in text:
        for (start, end), row in zip(spans, encoding["entity_position_ids"], strict=True):
            used = [p for p in row if p != -1]
            if len(used) < len(row):  # the mention was not cut to max_mention_length
                mention = TOKENIZER.decode([ids[p] for p in used])
                assert mention.strip(" ") == text[start:end].strip(" ")
    if "<" not in text and task is None:
        words = ids[1 : ids.index(TOKENIZER.sep_token_id)]
        assert TOKENIZER.decode(words) == text


@FUZZ
@given(texts=st.lists(st.text(max_size=30), min_size=1, max_size=4))
def test_fuzz_tokenizer_to_model(texts):
    """Any valid text, padded in a batch, runs through the model to finite numbers."""
    assume(not any(0xD800 <= ord(c) <= 0xDFFF for t in texts for c in t))
    model = _model()
    encoding = TOKENIZER(texts, padding=True, truncation=True, max_length=64, return_tensors="np")
    logits = model(**encoding).logits
    assert logits.shape == (len(texts), encoding["input_ids"].shape[1], model.config.vocab_size)
    assert np.all(np.isfinite(logits))


_MODEL: list = []


def _model() -> LukeForMaskedLM:
    if not _MODEL:
        _MODEL.append(LukeForMaskedLM.from_pretrained(TINY_LUKE))
    return _MODEL[0]


# ---------------------------------------------------------------------------- the model's inputs


@st.composite
def model_inputs(draw):
    """Arrays of random shapes, dtypes and values, often almost right (the tokenizer's
    shapes with a value or a dimension off)."""
    batch, words, entities, mention = (
        draw(st.integers(0, 3)),
        draw(st.integers(0, 6)),
        draw(st.integers(0, 3)),
        draw(st.integers(1, 4)),
    )
    ids = st.integers(-2, 421) | st.sampled_from([0, 2, 5, 2**40])

    def array(shape, values):
        shape = draw(st.sampled_from([shape, shape, shape, shape[:-1], (*shape[:-1], 1)]))
        flat = draw(st.lists(values, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
        dtype = draw(st.sampled_from([np.int64, np.int32, np.float64, object]))
        if dtype is object:  # a nested list, sometimes ragged
            nested = np.array(flat, dtype=np.int64).reshape(shape).tolist()
            if nested and isinstance(nested[0], list) and nested[0] and draw(st.booleans()):
                nested[0] = nested[0][:-1]
            return nested
        return np.array(flat, dtype=np.int64).reshape(shape).astype(dtype)

    inputs = {"input_ids": array((batch, words), ids)}
    if draw(st.booleans()):
        inputs["attention_mask"] = array((batch, words), st.integers(0, 1))
    if draw(st.booleans()):
        inputs["entity_ids"] = array((batch, entities), st.integers(-1, 34))
        inputs["entity_position_ids"] = array((batch, entities, mention), st.integers(-2, 515))
        if draw(st.booleans()):
            inputs["entity_attention_mask"] = array((batch, entities), st.integers(0, 1))
    if draw(st.booleans()):
        inputs["token_type_ids"] = array((batch, words), st.integers(0, 2))
    return inputs


@FUZZ
@given(inputs=model_inputs())
def test_fuzz_model_inputs(inputs):
    """Random arrays into the model: finite outputs of the right shape, or a ValueError /
    TypeError raised by numpy_luke's own input checks."""
    model = _model()
    try:
        outputs = model(**inputs)
    except (ValueError, TypeError) as error:
        assert raised_by_numpy_luke(error), traceback.format_exc()
        event(f"refused with {type(error).__name__}")
        return
    event("ran")
    batch, words = (
        np.asarray(inputs["input_ids"]).reshape(-1, np.shape(inputs["input_ids"])[-1]).shape
    )
    assert outputs.logits.shape == (batch, words, model.config.vocab_size)
    assert np.all(np.isfinite(outputs.logits))

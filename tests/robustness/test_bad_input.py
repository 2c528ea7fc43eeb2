"""Bad input from users, through LukeTokenizer and the model classes (the Python API).

Every case gets a clear error (ValueError / TypeError, or numpy_luke's InputError, which is
a ValueError) or the documented behaviour of docs/bad-input.md, never a wrong result and
never an exception from deep inside (IndexError, UnicodeEncodeError, OverflowError).
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from helpers import TINY_LUKE

from numpy_luke import LukeForMaskedLM, LukeModel, LukeTokenizer
from numpy_luke.errors import InputError

TEXT = "Lionel Messi plays for Inter Miami CF."
MESSI, MIAMI = (0, 12), (23, 37)


@pytest.fixture(scope="module")
def tokenizer():
    return LukeTokenizer.from_pretrained(TINY_LUKE)


@pytest.fixture(scope="module")
def model():
    return LukeForMaskedLM.from_pretrained(TINY_LUKE)


def mention_text(tokenizer, encoding, row):
    """The text of the word tokens an entity row points at."""
    positions = [p for p in encoding["entity_position_ids"][row] if p != -1]
    return tokenizer.decode([encoding["input_ids"][p] for p in positions])


# ---------------------------------------------------------------------------- spans


@pytest.mark.parametrize(
    "span, words",
    [
        ((0, 100), "out of range"),
        ((-1, 5), "out of range"),
        ((39, 39), "out of range"),  # len(TEXT) == 38
        ((12, 0), "reversed"),
        ((0, 5, 9), r"not a \(start, end\) pair"),
        ((3,), r"not a \(start, end\) pair"),
        ("0:5", r"not a \(start, end\) pair"),
    ],
)
def test_spans_out_of_range_reversed_or_not_pairs(tokenizer, span, words):
    with pytest.raises(ValueError, match=words):
        tokenizer(TEXT, entity_spans=[MESSI, span])


@pytest.mark.parametrize(
    "span", [(0.0, 12), (0, 12.0), (True, 12), (0, "12"), (None, 12), (np.float64(0), 12)]
)
def test_span_offsets_must_be_integers(tokenizer, span):
    with pytest.raises(TypeError, match="must be ints"):
        tokenizer(TEXT, entity_spans=[span])


@pytest.mark.parametrize("kind", [np.int64, np.int32, np.uint16, np.int8])
def test_numpy_integer_offsets_are_ints(tokenizer, kind):
    as_numpy = [(kind(0), kind(12)), (kind(23), kind(37))]
    assert tokenizer(TEXT, entity_spans=as_numpy) == tokenizer(TEXT, entity_spans=[MESSI, MIAMI])


@pytest.mark.parametrize("spans", [(MESSI,), np.array([MESSI]), MESSI, "0,12"])
def test_spans_must_come_as_a_list(tokenizer, spans):
    with pytest.raises((TypeError, ValueError), match="list"):
        tokenizer(TEXT, entity_spans=spans)


def test_overlapping_and_nested_spans_are_legitimate(tokenizer, model):
    """Nested mentions ("Lionel Messi" and "Messi") are allowed, as in transformers: each
    entity points at the word tokens of its own span."""
    spans = [MESSI, (7, 12), (0, 6), (23, 37), (30, 37)]
    encoding = tokenizer(TEXT, entity_spans=spans)
    assert len(encoding["entity_ids"]) == len(spans)
    for row, (start, end) in enumerate(spans):
        assert mention_text(tokenizer, encoding, row).strip() == TEXT[start:end]
    outputs = model(**tokenizer(TEXT, entity_spans=spans, return_tensors="np"))
    assert outputs.entity_logits.shape == (1, len(spans), model.config.entity_vocab_size)
    assert np.all(np.isfinite(outputs.entity_logits))


def test_the_same_span_twice_gives_two_equal_entities(tokenizer, model):
    encoding = tokenizer(TEXT, entity_spans=[MESSI, MESSI], return_tensors="np")
    logits = model(**encoding).entity_logits[0]  # (2, entity_vocab)
    np.testing.assert_array_equal(
        encoding["entity_position_ids"][0, 0], encoding["entity_position_ids"][0, 1]
    )
    np.testing.assert_allclose(logits[0], logits[1], rtol=1e-6, atol=1e-6)


def test_an_empty_span_is_an_entity_without_positions(tokenizer, model):
    """(s, s) is accepted, as transformers does: its position row is all -1, so the entity
    gets no position vector. The model runs."""
    encoding = tokenizer(TEXT, entity_spans=[(7, 7)], return_tensors="np")
    assert np.all(encoding["entity_position_ids"] == -1)
    assert np.all(np.isfinite(model(**encoding).entity_logits))


# ---------------------------------------------------------------------------- entities


def test_entities_and_spans_of_different_lengths(tokenizer):
    with pytest.raises(ValueError, match="2 titles but entity_spans has 1 spans"):
        tokenizer(TEXT, entity_spans=[MESSI], entities=["Lionel Messi", "Inter Miami CF"])
    with pytest.raises(ValueError, match="entities_pair has 1 titles"):
        tokenizer(TEXT, "Messi", entity_spans_pair=[(0, 5), (0, 2)], entities_pair=["x"])


@pytest.mark.parametrize("entities", ["Lionel Messi", [3], [None], ("Lionel Messi",)])
def test_entities_must_be_a_list_of_titles(tokenizer, entities):
    with pytest.raises(ValueError, match="list of entity titles"):
        tokenizer(TEXT, entity_spans=[MESSI], entities=entities)


def test_entities_without_spans_are_an_error_not_silently_dropped(tokenizer):
    """transformers 4.57 silently ignores titles given without spans; numpy_luke says so."""
    with pytest.raises(ValueError, match="without entity_spans"):
        tokenizer(TEXT, entities=["Lionel Messi"])
    with pytest.raises(ValueError, match="without entity_spans_pair"):
        tokenizer(TEXT, "Messi", entities_pair=["Lionel Messi"])


def test_unknown_titles_become_unk(tokenizer):
    encoding = tokenizer(TEXT, entity_spans=[MESSI], entities=["No Such Title"])
    assert encoding["entity_ids"] == [tokenizer.entity_unk_token_id]


@pytest.mark.parametrize(
    "task, spans",
    [
        ("entity_classification", [MESSI, MIAMI]),
        ("entity_classification", []),
        ("entity_pair_classification", [MESSI]),
        ("entity_span_classification", []),
        ("entity_span_classification", None),
    ],
)
def test_tasks_need_their_number_of_spans(tokenizer, task, spans):
    with pytest.raises(ValueError, match=f"task='{task}' needs entity_spans"):
        tokenizer(TEXT, entity_spans=spans, task=task)


# ------------------------------------------------- more spans than max_entity_length


def test_more_spans_than_max_entity_length(tokenizer, model):
    """As transformers 4.57: without truncation every entity is kept (the model reads any
    number); with truncation the entity sequence is cut to max_entity_length."""
    spans = [MESSI, MIAMI] * 20  # 40 > max_entity_length == 32
    assert len(tokenizer(TEXT, entity_spans=spans)["entity_ids"]) == 40
    truncated = tokenizer(TEXT, entity_spans=spans, truncation=True)
    assert len(truncated["entity_ids"]) == tokenizer.max_entity_length == 32
    assert (
        truncated["entity_position_ids"]
        == tokenizer(TEXT, entity_spans=spans)["entity_position_ids"][:32]
    )
    three = tokenizer(TEXT, entity_spans=spans, truncation=True, max_entity_length=3)
    assert len(three["entity_ids"]) == 3
    outputs = model(**tokenizer(TEXT, entity_spans=spans, return_tensors="np"))
    assert outputs.entity_logits.shape[1] == 40


@pytest.mark.parametrize("name", ["max_length", "max_entity_length", "max_mention_length"])
@pytest.mark.parametrize("value", [0, -1, 2.5, "3", True])
def test_length_arguments_must_be_positive_ints(tokenizer, name, value):
    """0 or -1 used to mean "the default" silently, and max_mention_length=-5 gave entities
    without any position."""
    with pytest.raises(ValueError, match=f"{name} must be a positive int"):
        tokenizer(TEXT, entity_spans=[MESSI], truncation=True, **{name: value})


# ---------------------------------------------------------------------------- long texts

LONG = "Messi " * 600  # 600 words: beyond model_max_length (512)


def test_long_text_without_truncation_warns_and_the_model_refuses_it(tokenizer, model, caplog):
    fresh = LukeTokenizer.from_pretrained(TINY_LUKE)  # the warning is given once per tokenizer
    with caplog.at_level(logging.WARNING, logger="numpy_luke.tokenizer"):
        encoding = fresh(LONG, return_tensors="np")
        fresh(LONG)
    warnings = [r for r in caplog.records if "model_max_length=512" in r.getMessage()]
    assert len(warnings) == 1
    assert encoding["input_ids"].shape[1] > 512
    with pytest.raises(ValueError, match=r"reads at most 512 .* truncat"):
        model(**encoding)
    with pytest.raises(ValueError, match="reads at most 512"):
        model(**tokenizer(LONG, entity_spans=[(0, 5)], return_tensors="np"))


def test_long_text_with_truncation_runs(tokenizer, model):
    encoding = tokenizer(
        LONG, entity_spans=[(0, 5), (3000, 3005)], truncation=True, return_tensors="np"
    )
    assert encoding["input_ids"].shape == (1, 512)
    assert encoding["entity_ids"].shape == (1, 1)  # the mention cut away is dropped
    assert model(**encoding).logits.shape == (1, 512, model.config.vocab_size)
    short = tokenizer(LONG, max_length=20, return_tensors="np")  # max_length alone truncates
    assert short["input_ids"].shape == (1, 20)


def test_model_refuses_more_positions_than_its_table(model):
    """Never an IndexError and never a silently wrapped index: 513 real tokens need
    positions 2..514, one beyond the table of 514 rows."""
    table = model.config.max_position_embeddings
    fits = np.full((1, table - 2), 5)
    assert model(input_ids=fits).logits.shape[1] == table - 2
    with pytest.raises(ValueError, match="reads at most 512"):
        model(input_ids=np.full((1, table - 1), 5))
    # padding does not count: a padded batch whose longest text fits is fine
    padded = np.full((2, table + 50), model.config.pad_token_id)
    padded[0, : table - 2] = 5
    assert model(input_ids=padded).logits.shape[1] == table + 50
    with pytest.raises(ValueError, match="position_ids holds values"):
        model(input_ids=np.full((1, 3), 5), position_ids=np.array([[2, 3, table]]))


# ---------------------------------------------------------------------------- odd texts


@pytest.mark.parametrize("text", ["", " ", "   \n\t  ", "\u3000", "\n"])
def test_empty_and_whitespace_only_texts(tokenizer, model, text):
    encoding = tokenizer(text, return_tensors="np")
    ids = encoding["input_ids"][0].tolist()
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    assert tokenizer.decode(ids, skip_special_tokens=True) == text
    assert np.all(np.isfinite(model(**encoding).logits))


def test_no_tokens_at_all_is_a_clear_model_error(tokenizer, model):
    encoding = tokenizer("", add_special_tokens=False, return_tensors="np")
    assert encoding["input_ids"].shape == (1, 0)
    with pytest.raises(ValueError, match="no examples or no tokens"):
        model(**encoding)
    with pytest.raises(ValueError, match="no examples or no tokens"):
        model(input_ids=np.zeros((0, 4), dtype=np.int64))


@pytest.mark.parametrize("text", ["\ud800", "abc\udfff", "Messi \udc80 plays"])
def test_lone_surrogates_are_a_clear_value_error(tokenizer, text):
    """A lone surrogate has no UTF-8 encoding. transformers lets the UnicodeEncodeError of
    BPE escape; numpy_luke raises InputError (a ValueError) naming where it is."""
    position = next(k for k, c in enumerate(text) if 0xD800 <= ord(c) <= 0xDFFF)
    for call in (
        lambda: tokenizer(text),
        lambda: tokenizer.tokenize(text),
        lambda: tokenizer(text, entity_spans=[(0, 1)]),
    ):
        with pytest.raises(InputError, match=f"lone surrogate .* at character {position}"):
            call()
    with pytest.raises(ValueError, match=r"text_pair holds a lone surrogate"):
        tokenizer("fine", text)
    with pytest.raises(ValueError, match=r"text\[1\] holds a lone surrogate"):
        tokenizer(["fine", text])


def test_surrogate_pairs_and_control_characters_round_trip(tokenizer, model):
    text = "Messi 😀\x00\x07\x1b[31m\x7f\u200b\ufeff plays\r\n"
    encoding = tokenizer(text, entity_spans=[(0, 5)], return_tensors="np")
    assert tokenizer.decode(encoding["input_ids"][0], skip_special_tokens=True) == text
    assert np.all(np.isfinite(model(**encoding).logits))


# ------------------------------------------------------------- batches into the model


def test_ragged_batches(tokenizer, model):
    ragged = tokenizer(["Messi", "Lionel Messi plays"])  # lists of different lengths
    with pytest.raises(ValueError, match="ragged"):
        model(**ragged)
    with pytest.raises(ValueError, match="padding=True"):
        tokenizer(["Messi", "Lionel Messi plays"], return_tensors="np")
    padded = tokenizer(["Messi", "Lionel Messi plays"], padding=True, return_tensors="np")
    assert model(**padded).logits.shape[0] == 2


def test_mismatched_shapes_between_inputs(tokenizer, model):
    one = dict(tokenizer(TEXT, entity_spans=[MESSI], return_tensors="np"))
    two = dict(tokenizer([TEXT, TEXT], entity_spans=[[MESSI], [MESSI]], return_tensors="np"))
    cases = {
        "entity_ids has shape": {**one, "entity_ids": two["entity_ids"]},
        "entity_position_ids has shape": {**one, "entity_position_ids": two["entity_position_ids"]},
        "attention_mask has shape": {**one, "attention_mask": one["attention_mask"][:, :-1]},
        "entity_attention_mask has shape": {
            **two,
            "entity_attention_mask": one["entity_attention_mask"],
        },
        "entity_position_ids is required": {**one, "entity_position_ids": None},
    }
    for message, inputs in cases.items():
        with pytest.raises(ValueError, match=message):
            model(**inputs)


def test_three_dimensional_attention_masks(model):
    """A (batch, words, words) mask is allowed without entities (as in transformers); any
    other 3-D shape used to reach the softmax and fail there (found by test_fuzz.py)."""
    full = np.ones((1, 3, 3))
    assert model(input_ids=[[0, 5, 2]], attention_mask=full).logits.shape == (1, 3, 419)
    with pytest.raises(ValueError, match=r"attention_mask has shape \(1, 1, 0\)"):
        model(input_ids=[0], attention_mask=np.ones((1, 0)))
    with pytest.raises(ValueError, match="without entities only"):
        model(
            input_ids=[[0, 5, 2]],
            attention_mask=full,
            entity_ids=[[2]],
            entity_position_ids=[[[1]]],
        )


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("input_ids", [[0, 419, 2]], r"input_ids holds values in \[0, 419\] .* \[0, 418\]"),
        ("input_ids", [[0, -1, 2]], r"input_ids holds values in \[-1, 2\]"),
        ("input_ids", np.array([[0, 2**64 - 1]], dtype=np.uint64), "int64 range"),
        ("input_ids", [[0, 1.5, 2]], "must hold integers"),
        ("input_ids", [[0, np.inf, 2]], "must hold integers"),
        ("input_ids", [[0, np.nan, 2]], "must hold integers"),
        ("input_ids", np.zeros((1, 2, 3), dtype=np.int64), r"shape \(batch, words\)"),
        ("token_type_ids", [[0, 2, 0]], "token_type_ids holds values"),
    ],
)
def test_out_of_range_or_malformed_word_inputs(model, name, value, message):
    inputs = {"input_ids": [[0, 5, 2]], name: value}
    with pytest.raises(ValueError, match=message):
        model(**inputs)


@pytest.mark.parametrize("value", [0.5, 2, -1, np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("name", ["attention_mask", "entity_attention_mask"])
def test_masks_other_than_0_and_1_are_refused(model, tokenizer, name, value):
    """Issue 18: 0.5, 2, -1 moved outputs by up to 4.7 (transformers 4.57 scales the scores
    by them; 5.x reads any non-zero as 1) and NaN made every output NaN. Refused, naming the
    mask; float, int and bool masks holding only 0 and 1 answer as the int64 ones."""
    encoding = dict(tokenizer(TEXT, entity_spans=[MESSI, MIAMI], return_tensors="np"))
    reference = model(**encoding).logits
    for convert in (lambda a: a.astype(np.float32), lambda a: a.astype(bool)):
        np.testing.assert_array_equal(
            model(**{**encoding, name: convert(encoding[name])}).logits, reference
        )
    bad = encoding[name].astype(np.float64)
    bad[0, -1] = value
    with pytest.raises(ValueError, match=f"{name} must hold only 0 .padding. and 1"):
        model(**{**encoding, name: bad})
    with pytest.raises(ValueError, match="attention_mask must hold"):  # a 3-D word mask too
        model(input_ids=[[0, 5, 2]], attention_mask=np.full((1, 3, 3), value))


@pytest.mark.parametrize(
    "name, value, error",
    [
        ("input_ids", [[True, False]], TypeError),
        ("input_ids", [["0", "5"]], TypeError),
        ("attention_mask", [["1", "1", "1"]], TypeError),
    ],
)
def test_inputs_of_the_wrong_type(model, name, value, error):
    inputs = {"input_ids": [[0, 5, 2]], name: value}
    with pytest.raises(error, match=name):
        model(**inputs)


@pytest.mark.parametrize(
    "entity_ids, positions, message",
    [
        ([[33]], [[[1]]], r"entity_ids holds values in \[33, 33\] .* \[0, 32\]"),
        ([[-1]], [[[1]]], r"entity_ids holds values in \[-1, -1\]"),
        ([[2]], [[[514]]], r"entity_position_ids holds values in \[514, 514\] .* \[-1, 513\]"),
        ([[2]], [[[-2]]], r"entity_position_ids holds values in \[-2, -2\]"),
        ([[2], [2]], [[[1]], [[1]]], r"entity_ids has shape \(2, 1\); expected \(1, entities\)"),
    ],
)
def test_out_of_range_or_mismatched_entity_inputs(model, entity_ids, positions, message):
    with pytest.raises(ValueError, match=message):
        model(input_ids=[[0, 5, 2]], entity_ids=entity_ids, entity_position_ids=positions)


def test_numpy_integer_types_and_lists_give_the_same_outputs(tokenizer):
    base = LukeModel.from_pretrained(TINY_LUKE)
    encoding = tokenizer(TEXT, entity_spans=[MESSI, MIAMI], return_tensors="np")
    reference = base(**encoding).last_hidden_state
    for convert in (
        lambda a: a.astype(np.int32),
        lambda a: a.astype(np.int16),
        lambda a: a.tolist(),
        lambda a: a.astype(np.float64),
    ):
        same = {k: convert(v) for k, v in encoding.items()}
        np.testing.assert_array_equal(base(**same).last_hidden_state, reference)
    unbatched = {k: v[0] for k, v in encoding.items()}  # one example without a batch axis
    np.testing.assert_array_equal(base(**unbatched).last_hidden_state, reference)

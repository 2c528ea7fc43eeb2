"""Properties of LukeTokenizer that hold for any input, checked without an oracle.

1. Decoding undoes encoding: decode(encode(t)) == t for any text t that does not itself
   contain an added-token string ("<mask>", "<s>", ...; those are read as special tokens and
   "<mask>" even swallows the white space before it). Byte-level BPE loses nothing, and
   cutting the text at entity-span boundaries loses nothing either.
2. Each entity's position ids are exactly the word tokens covering its span: contiguous, and
   they decode to the span's text (with the space before it, when there is one, because
   BPE keeps a space with the word after it).
3. Padding only appends: a padded row is the unpadded row plus pad values.
4. Encoding a batch gives the same rows as encoding its texts one by one.
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from numpy_luke import LukeTokenizer

ADDED = ("<s>", "</s>", "<pad>", "<unk>", "<mask>", "<ent>", "<ent2>")

# Any Unicode except lone surrogates (which cannot be UTF-8 encoded), mixed with words of
# the fixture's corpus so that merges fire and spans fall on real words.
characters = st.characters(blacklist_categories=("Cs",))
words = st.sampled_from(
    [
        "Plants",
        " energy",
        " the",
        " capital",
        " of",
        " Paris",
        " Lionel",
        " Messi",
        "'s",
        " 2020",
        " ",
        "  ",
        "\n",
        "\t",
        "\u3000",
        "é",
        "東京",
        "👍🏽",
        "e\u0301",
    ]
)
texts = st.lists(st.one_of(st.text(characters, max_size=6), words), max_size=10).map("".join)


@st.composite
def text_and_spans(draw, min_spans=0, max_spans=4):
    text = draw(texts)
    assume(not any(token in text for token in ADDED))
    spans = []
    for _ in range(draw(st.integers(min_spans, max_spans))):
        start = draw(st.integers(0, len(text)))
        spans.append((start, draw(st.integers(start, len(text)))))
    return text, spans


@pytest.fixture(scope="module")
def tok(tiny_luke_dir):
    return LukeTokenizer.from_pretrained(tiny_luke_dir)


def cut(text: str, boundary: int) -> int:
    """Where the tokenizer cuts for a span boundary: before the space preceding it."""
    return boundary - 1 if boundary > 0 and text[boundary - 1] == " " else boundary


@given(text_and_spans())
def test_decode_undoes_encode(tok, example):
    text, spans = example
    plain = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(plain) == text
    with_spans = tok(text, entity_spans=spans)["input_ids"]
    assert tok.decode(with_spans, skip_special_tokens=True) == text
    assert tok.decode(with_spans) == f"<s>{text}</s>"


@given(text_and_spans(min_spans=1))
def test_entity_positions_are_the_tokens_of_the_span(tok, example):
    text, spans = example
    enc = tok(text, entity_spans=spans, max_mention_length=512)
    ids = enc["input_ids"]
    assert len(enc["entity_position_ids"]) == len(spans)
    for (start, end), row in zip(spans, enc["entity_position_ids"], strict=True):
        positions = [p for p in row if p != -1]
        assert row == positions + [-1] * (len(row) - len(positions))
        first = positions[0] if positions else None
        if positions:
            assert positions == list(range(first, first + len(positions)))
            assert (
                tok.decode(ids[first : first + len(positions)])
                == text[cut(text, start) : cut(text, end)]
            )
            assert tok.decode(ids[1:first]) == text[: cut(text, start)]
        else:
            assert cut(text, start) == cut(text, end)


@given(text_and_spans(min_spans=1, max_spans=1))
def test_entity_markers_surround_the_mention(tok, example):
    text, spans = example
    enc = tok(text, entity_spans=spans, task="entity_classification", max_mention_length=512)
    ent = tok.convert_tokens_to_ids("<ent>")
    row = [p for p in enc["entity_position_ids"][0] if p != -1]
    ids = enc["input_ids"]
    assert ids[row[0]] == ids[row[-1]] == ent and ids.count(ent) == 2
    start, end = spans[0]
    assert tok.decode(ids[row[0] + 1 : row[-1]]) == text[cut(text, start) : cut(text, end)]


@given(st.lists(text_and_spans(), min_size=1, max_size=4), st.sampled_from([True, "max_length"]))
@settings(max_examples=60)
def test_padding_only_appends(tok, batch, padding):
    texts_, spans = [t for t, _ in batch], [s for _, s in batch]
    plain = tok(texts_, entity_spans=spans)
    padded = tok(texts_, entity_spans=spans, padding=padding, max_length=128, return_tensors="np")
    pad_values = {
        "input_ids": tok.pad_token_id,
        "attention_mask": 0,
        "entity_ids": tok.entity_pad_token_id,
        "entity_attention_mask": 0,
        "entity_position_ids": -1,
    }
    assert set(padded) == set(plain) == set(pad_values)
    for key, pad in pad_values.items():
        for row, full in zip(plain[key], padded[key], strict=True):
            n = len(row)
            assert full[:n].tolist() == row
            assert np.all(full[n:] == pad)
    assert all(len(row) <= padded["input_ids"].shape[1] for row in plain["input_ids"])
    if padding == "max_length":
        assert padded["input_ids"].shape[1] >= 128
        assert padded["entity_ids"].shape[1] >= tok.max_entity_length


@given(
    st.lists(text_and_spans(), min_size=1, max_size=4),
    st.sampled_from([None, "entity_span_classification"]),
    st.sampled_from([None, 12]),
)
@settings(max_examples=60)
def test_batch_equals_one_by_one(tok, batch, task, max_length):
    if task is not None:
        batch = [(t, s) for t, s in batch if s] or [("Paris", [(0, 5)])]
    texts_, spans = [t for t, _ in batch], [s for _, s in batch]
    options = dict(task=task, max_length=max_length)
    together = tok(texts_, entity_spans=spans, **options)
    alone = [tok(t, entity_spans=s, **options) for t, s in batch]
    assert set(together) == set(alone[0])
    for key, rows in together.items():
        assert rows == [one[key] for one in alone]

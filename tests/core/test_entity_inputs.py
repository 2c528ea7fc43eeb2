"""The core entity-input algorithm (numpy_luke/core/entity_inputs.py) on its own, with a
character-level "tokeniser", so every position can be checked by eye."""

import json

import pytest
from helpers import TINY_LUKE

from numpy_luke import LukeTokenizer
from numpy_luke.core.entity_inputs import (
    Segment,
    entity_segment,
    position_row,
    task_segment,
    tokenize_with_spans,
)
from numpy_luke.errors import TokenizerFileError


def chars(text: str) -> list[int]:
    """One "token" per character, its code point: positions are character offsets."""
    return [ord(c) for c in text]


def test_a_cut_moves_before_the_preceding_space():
    text = "ab cd ef"
    words, spans = tokenize_with_spans(text, [(3, 5)], chars)
    assert words == chars(text)
    assert spans == [(2, 5)]  # the space before "cd" belongs to the mention


def test_entity_segment_and_position_rows():
    segment = entity_segment("ab cd", [(3, 5), (0, 2)], [7, 8], chars)
    assert segment == Segment(chars("ab cd"), [7, 8], [(2, 5), (0, 2)])
    assert position_row((2, 5), 1, 6) == [3, 4, 5, -1, -1, -1]
    assert position_row((2, 5), 1, 2) == [3, 4]  # cut to max_mention_length


@pytest.mark.parametrize("head, tail", [((0, 2), (3, 5)), ((3, 5), (0, 2))])
def test_the_pair_layout_puts_markers_around_head_and_tail(head, tail):
    segment = task_segment(
        "entity_pair_classification",
        "ab cd",
        [head, tail],
        chars,
        markers=(-1, -2),
        masks=(100, 101),
    )
    assert segment.entity_ids == [100, 101]
    for (start, end), marker in zip(segment.token_spans, (-1, -2), strict=True):
        assert segment.word_ids[start] == segment.word_ids[end - 1] == marker
    assert [w for w in segment.word_ids if w >= 0] == chars("ab cd")


def test_the_classification_and_span_layouts():
    one = task_segment("entity_classification", "ab cd", [(3, 5)], chars, (-1, -2), (100, 101))
    assert one == Segment([97, 98, -1, 32, 99, 100, -1], [100], [(2, 7)])
    spans = task_segment(
        "entity_span_classification", "ab cd", [(0, 2), (3, 5)], chars, (-1, -2), (100, 101)
    )
    assert spans == Segment(chars("ab cd"), [100, 100], [(0, 2), (2, 5)])


def test_unimplemented_options_are_refused_not_ignored(tmp_path):
    # padding_side / truncation_side "left" are implemented (issue 14 A3); other values
    # are refused, at loading and at a call
    with pytest.raises(ValueError, match="padding_side must be 'right' or 'left'"):
        LukeTokenizer.from_pretrained(TINY_LUKE, padding_side="middle")
    with pytest.raises(ValueError, match="truncation_side must be 'right' or 'left'"):
        LukeTokenizer.from_pretrained(TINY_LUKE, truncation_side="top")
    tok = LukeTokenizer.from_pretrained(TINY_LUKE)
    tok.padding_side = "middle"
    with pytest.raises(ValueError, match="padding_side must be 'right' or 'left'"):
        tok("some text")
    for file in TINY_LUKE.iterdir():
        (tmp_path / file.name).write_bytes(file.read_bytes())
    config = json.loads((tmp_path / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["mask_token"] = {"content": "<mask>", "lstrip": True, "single_word": True}
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(TokenizerFileError, match="tokenizer_config.json.*single_word"):
        LukeTokenizer.from_pretrained(tmp_path)

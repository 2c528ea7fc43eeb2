"""The core's model-input path (numpy_luke/core/model_inputs.py) on its own: truncation by
every strategy and side, entities dropped with their mention, special tokens shifting the
positions, and padding on either side, on small lists checked by eye."""

import pytest

from numpy_luke.core.entity_inputs import Segment
from numpy_luke.core.model_inputs import (
    InputSettings,
    kept_entities,
    model_input,
    pad,
    special_tokens_mask,
    truncate,
    with_special_tokens,
)

CLS, SEP, PAD, ENTITY_PAD = 0, 2, 1, 0


@pytest.mark.parametrize(
    "strategy, side, remove, expected",
    [
        ("longest_first", "right", 3, ([1, 2, 3], [7, 8])),  # 5 vs 3: even out, then alternate
        ("longest_first", "left", 3, ([3, 4, 5], [8, 9])),
        ("only_first", "right", 3, ([1, 2], [7, 8, 9])),
        ("only_second", "left", 2, ([1, 2, 3, 4, 5], [9])),
    ],
)
def test_truncate_by_strategy_and_side(strategy, side, remove, expected):
    assert truncate([1, 2, 3, 4, 5], [7, 8, 9], remove, strategy, side) == expected


def test_truncate_leaves_a_too_short_text_as_it_was():
    first, second = [1, 2], [7]
    kept = truncate(first, second, 2, "only_first", "right")
    assert kept[0] is first and kept[1] is second  # the same lists: nothing removed


def test_special_tokens_and_their_mask():
    assert with_special_tokens([5, 6], None, CLS, SEP) == [0, 5, 6, 2]
    assert with_special_tokens([5], [7], CLS, SEP) == [0, 5, 2, 2, 7, 2]
    assert special_tokens_mask(1, 1) == [1, 0, 1, 1, 0, 1]


def test_kept_entities_after_a_cut_from_the_start():
    segment = Segment([10, 11, 12, 13, 14], [100, 101, 102], [(0, 2), (2, 4), (4, 5)])
    assert kept_entities(segment, 0, 4) == [(100, (0, 2)), (101, (2, 4))]
    assert kept_entities(segment, 2, 3) == [(101, (0, 2)), (102, (2, 3))]


def test_model_input_shifts_positions_and_drops_cut_mentions():
    segment = Segment([10, 11, 12, 13, 14], [100, 101], [(1, 3), (3, 5)])
    settings = InputSettings(
        max_length=6,
        truncation="longest_first",
        max_mention_length=3,
        task="entity_span_classification",
    )
    out, notes = model_input(segment, None, (CLS, SEP), settings)
    assert out["input_ids"] == [0, 10, 11, 12, 13, 2]  # 4 words + <s>, </s>
    assert out["entity_ids"] == [100]  # the second mention lost its last token
    assert out["entity_position_ids"] == [[2, 3, -1]]  # shifted by <s>
    assert (out["entity_start_positions"], out["entity_end_positions"]) == ([2], [3])
    assert notes == [
        ("warning", "1 entities are ignored because truncation removed their mentions")
    ]
    left = InputSettings(
        max_length=6, truncation="longest_first", truncation_side="left", max_mention_length=3
    )
    out, _ = model_input(segment, None, (CLS, SEP), left)
    assert out["input_ids"] == [0, 11, 12, 13, 14, 2]
    assert out["entity_position_ids"] == [[1, 2, -1], [3, 4, -1]]  # counted after the cut


def test_the_pair_text_starts_after_its_special_tokens():
    first = Segment([10, 11], [100], [(0, 1)])
    second = Segment([20], [101], [(0, 1)])
    out, _ = model_input(first, second, (CLS, SEP), InputSettings(max_mention_length=2))
    assert out["input_ids"] == [0, 10, 11, 2, 2, 20, 2]
    assert out["entity_position_ids"] == [[1, -1], [5, -1]]  # len(A) + 3


@pytest.mark.parametrize("side", ["right", "left"])
def test_padding_moves_start_positions_but_not_position_rows(side):
    long = {
        "input_ids": [0, 5, 6, 2],
        "entity_ids": [100, 101],
        "entity_position_ids": [[1], [2]],
        "entity_start_positions": [1, 2],
    }
    short = {
        "input_ids": [0, 5, 2],
        "entity_ids": [100],
        "entity_position_ids": [[1]],
        "entity_start_positions": [1],
    }
    settings = InputSettings(padding="longest", padding_side=side, max_mention_length=1)
    batch = pad([long, short], settings, None, (PAD, ENTITY_PAD))
    if side == "right":
        assert batch["input_ids"][1] == [0, 5, 2, 1]
        assert batch["attention_mask"][1] == [1, 1, 1, 0]
        assert batch["entity_start_positions"][1] == [1, 0]
    else:
        assert batch["input_ids"][1] == [1, 0, 5, 2]
        assert batch["attention_mask"][1] == [0, 1, 1, 1]
        assert batch["entity_start_positions"][1] == [0, 2]  # moved with its word
    row = [[1], [-1]] if side == "right" else [[-1], [1]]
    assert batch["entity_position_ids"][1] == row  # never shifted
    assert batch["entity_attention_mask"][1] == ([1, 0] if side == "right" else [0, 1])


def test_pad_to_a_multiple():
    settings = InputSettings(padding="longest", pad_to_multiple_of=4)
    batch = pad([{"input_ids": [0, 5, 6, 7, 2]}], settings, None, (PAD, ENTITY_PAD))
    assert batch["input_ids"] == [[0, 5, 6, 7, 2, 1, 1, 1]]

"""The pipelines' pure helpers: mention markers, spans, word spans, greedy span selection,
top-k and the fill-mask answer. No model or tokenizer needed."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from numpy_luke.errors import InputError
from numpy_luke.mentions import check_spans, parse_mentions, parse_span
from numpy_luke.pipelines import (
    enumerate_spans,
    fill_mask_predictions,
    find_words,
    probabilities,
    select_spans,
    top_k_indices,
)

# ---- mention markers ------------------------------------------------------------------


def test_parse_mentions_example():
    plain, spans = parse_mentions("[[Lionel Messi]] plays for [[Inter Miami]].")
    assert plain == "Lionel Messi plays for Inter Miami."
    assert spans == [(0, 12), (23, 34)]
    assert [plain[s:e] for s, e in spans] == ["Lionel Messi", "Inter Miami"]


def test_parse_mentions_without_markers_is_identity():
    assert parse_mentions("Plants create <mask>.") == ("Plants create <mask>.", [])


def test_parse_mentions_trims_white_space_inside_the_brackets():
    plain, spans = parse_mentions("x [[ Paris  ]] y")
    assert plain == "x  Paris   y"
    assert [plain[s:e] for s, e in spans] == ["Paris"]


_plain_piece = st.text(alphabet=st.characters(blacklist_characters="[]"), max_size=8)
_mention = st.text(alphabet=st.characters(blacklist_characters="[]"), min_size=1, max_size=8)


@given(st.lists(st.tuples(_plain_piece, _mention), max_size=5), _plain_piece)
def test_parse_mentions_recovers_every_marked_mention(parts, tail):
    marked = "".join(f"{before}[[{mention}]]" for before, mention in parts) + tail
    expected_plain = "".join(before + mention for before, mention in parts) + tail
    if any(not mention.strip() for _, mention in parts):
        with pytest.raises(InputError, match="empty mention"):
            parse_mentions(marked)
        return
    plain, spans = parse_mentions(marked)
    assert plain == expected_plain
    assert [plain[s:e] for s, e in spans] == [mention.strip() for _, mention in parts]


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[Lionel Messi plays", "never closed"),
        ("Lionel Messi]] plays", "closes no mention"),
        ("[[Lionel [[Messi]]]] plays", "cannot nest"),
        ("[[]] plays", "empty mention"),
        ("[[   ]] plays", "empty mention"),
    ],
)
def test_parse_mentions_rejects_malformed_markers(text, message):
    with pytest.raises(InputError, match=message):
        parse_mentions(text)


# ---- spans ----------------------------------------------------------------------------


def test_parse_span():
    assert parse_span("0:12") == (0, 12)
    assert parse_span(" 3 : 8 ") == (3, 8)


@pytest.mark.parametrize("spec", ["", "12", "0-12", "a:b", "1:2:3", "1.5:3", ":4"])
def test_parse_span_rejects_malformed(spec):
    with pytest.raises(InputError, match="malformed span .*START:END"):
        parse_span(spec)


def test_check_spans_accepts_valid_and_numpy_integers():
    assert check_spans("Lionel Messi", [(0, 6), (np.int64(7), np.int64(12))]) == [(0, 6), (7, 12)]


@pytest.mark.parametrize(
    "span, message",
    [
        ((0, 13), "outside the text, which has 12 characters"),
        ((-1, 3), "outside the text"),
        ((5, 5), "empty or reversed"),
        ((6, 2), "empty or reversed"),
        ((6, 7), "only white space"),
        ((0, 1.5), "pair of integers"),
        ((True, 3), "pair of integers"),
        ((1, 2, 3), "pair of integers"),
        ("0:3", "pair of integers"),
    ],
)
def test_check_spans_rejects_bad_spans(span, message):
    with pytest.raises(InputError, match=message):
        check_spans("Lionel Messi", [span])


# ---- words and candidate spans --------------------------------------------------------


def test_find_words_splits_letters_digits_and_punctuation():
    text = "Messi's team won 2-1."
    assert [text[s:e] for s, e in find_words(text)] == [
        "Messi", "'", "s", "team", "won", "2", "-", "1", ".",
    ]  # fmt: skip


@given(st.text(max_size=30))
def test_words_cover_exactly_the_non_space_characters(text):
    words = find_words(text)
    covered = "".join(text[s:e] for s, e in words)
    assert covered == "".join(text.split())
    assert all(s < e for s, e in words)
    assert all(a[1] <= b[0] for a, b in zip(words, words[1:], strict=False))


@given(st.integers(0, 12), st.integers(1, 6))
def test_enumerate_spans_counts_and_bounds(n_words, max_length):
    words = [(2 * i, 2 * i + 1) for i in range(n_words)]  # "a b c ..."
    spans = enumerate_spans(words, max_length)
    expected = sum(min(max_length, n_words - i) for i in range(n_words))
    assert len(spans) == expected == len(set(spans))
    for start, end in spans:
        first = start // 2
        last = (end - 1) // 2
        assert 0 <= last - first < max_length


def test_enumerate_spans_example():
    text = "Beyoncé lives in Los Angeles"
    spans = enumerate_spans(find_words(text), 2)
    assert [text[s:e] for s, e in spans] == [
        "Beyoncé", "Beyoncé lives", "lives", "lives in", "in", "in Los", "Los", "Los Angeles",
        "Angeles",
    ]  # fmt: skip


def _candidate(start, end, score):
    return {"start": start, "end": end, "score": score}


def test_select_spans_keeps_best_non_overlapping():
    candidates = [
        _candidate(0, 12, 0.9),  # "Lionel Messi"
        _candidate(0, 6, 0.95),  # "Lionel": better, kept first, then blocks 0:12
        _candidate(7, 12, 0.5),
        _candidate(20, 30, 0.4),
        _candidate(25, 35, 0.3),  # overlaps 20:30, which is better
    ]
    kept = select_spans(candidates)
    assert [(c["start"], c["end"]) for c in kept] == [(0, 6), (7, 12), (20, 30)]


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(1, 6), st.floats(0, 1)), max_size=15))
def test_select_spans_result_never_overlaps_and_is_maximal(raw):
    candidates = [_candidate(s, s + n, p) for s, n, p in raw]
    kept = select_spans(candidates)
    for a, b in zip(kept, kept[1:], strict=False):
        assert a["end"] <= b["start"]
    for c in candidates:  # every dropped candidate overlaps a kept one at least as good
        if c not in kept:
            assert any(
                k["start"] < c["end"] and c["start"] < k["end"] and k["score"] >= c["score"]
                for k in kept
            )


# ---- scores ---------------------------------------------------------------------------


def test_softmax_and_sigmoid():
    # the pipelines' scores: the core's softmax and sigmoid, computed in float64
    probs = probabilities(np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, -1000.0]], dtype=np.float32))
    assert probs.dtype == np.float64
    np.testing.assert_allclose(probs.sum(-1), 1.0)
    total = math.exp(1) + math.exp(2) + math.exp(3)
    np.testing.assert_allclose(probs[0], [math.exp(i) / total for i in (1, 2, 3)], rtol=1e-12)
    np.testing.assert_allclose(probs[1], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(
        probabilities(np.array([0.0, 2.0]), multi_label=True), [0.5, 1 / (1 + math.exp(-2))]
    )


@given(
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=40),
    st.integers(1, 50),
    st.sets(st.integers(0, 39), max_size=5),
)
def test_top_k_equals_a_full_stable_sort(values, k, exclude):
    scores = np.array(values)
    exclude = [i for i in exclude if i < len(values)]
    expected = [
        i for i in sorted(range(len(values)), key=lambda i: (-values[i], i)) if i not in exclude
    ][:k]
    assert top_k_indices(scores, k, exclude=exclude).tolist() == expected


def _decode(ids, skip_special_tokens=False):
    """A stand-in tokenizer: id 0 <s>, 1 <pad>, 2 </s>, 9 <mask>, others w<id>."""
    names = {0: "<s>", 1: "<pad>", 2: "</s>", 9: "<mask>"}
    if skip_special_tokens:
        ids = [i for i in ids if i not in names]
    return " ".join(names.get(i, f"w{i}") for i in ids)


def test_fill_mask_predictions_one_mask_is_a_flat_list():
    ids = np.array([0, 5, 9, 6, 2])
    logits = np.zeros((5, 12), dtype=np.float32)
    logits[2, 7], logits[2, 4] = 3.0, 2.0
    out = fill_mask_predictions(
        ids, logits, mask_token_id=9, pad_token_id=1, top_k=2, decode=_decode
    )
    total = math.exp(3) + math.exp(2) + 10
    assert [p["token"] for p in out] == [7, 4]
    assert out[0]["score"] == pytest.approx(math.exp(3) / total)
    assert out[0]["token_str"] == "w7"
    assert out[0]["sequence"] == "w5 w7 w6"  # special tokens skipped with a single mask


def test_fill_mask_predictions_several_masks_give_a_list_per_mask():
    ids = np.array([0, 9, 5, 9, 2])
    logits = np.random.default_rng(0).normal(size=(5, 12)).astype(np.float32)
    out = fill_mask_predictions(
        ids, logits, mask_token_id=9, pad_token_id=1, top_k=3, decode=_decode
    )
    assert len(out) == 2 and all(len(row) == 3 for row in out)
    for position, row in zip([1, 3], out, strict=True):
        probs = probabilities(logits[position])
        assert [p["token"] for p in row] == np.argsort(-probs)[:3].tolist()
        other = 4 - position  # the other mask stays, special tokens too
        for p in row:
            tokens = p["sequence"].split()
            assert tokens[0] == "<s>" and tokens[-1] == "</s>"
            assert tokens[position] == _decode([p["token"]]) and tokens[other] == "<mask>"

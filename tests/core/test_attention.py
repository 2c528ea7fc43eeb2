"""Entity-aware self-attention (numpy_luke/core/attention.py) against the paper's formula
written block by block for one head, and the properties a reader can check on a small case:
the additive mask, the head split, which query matrix each quadrant uses."""

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal

from numpy_luke.core import functional
from numpy_luke.core.attention import (
    entity_aware_self_attention,
    extended_attention_mask,
    merge_heads,
    split_heads,
)

RNG = np.random.default_rng(1)
HIDDEN, WORDS, ENTITIES = 4, 3, 2
QUERIES = ("query", "w2e_query", "e2w_query", "e2e_query")


def random_params():
    return {
        f"{name}.{part}": RNG.normal(size=(HIDDEN, HIDDEN) if part == "weight" else HIDDEN)
        for name in (*QUERIES, "key", "value")
        for part in ("weight", "bias")
    }


def test_the_mask_joins_words_and_entities_and_is_additive():
    mask = extended_attention_mask(np.array([[1, 1, 0]]), np.array([[1, 0]]), np.float64)
    assert mask.shape == (1, 1, 1, 5)
    lowest = np.finfo(np.float64).min
    assert_array_equal(mask[0, 0, 0], [0, 0, lowest, 0, lowest])


def test_split_heads_gives_each_head_its_own_columns_and_merge_undoes_it():
    x = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)
    heads = split_heads(x, 2)  # (batch, heads, n, head_size)
    assert heads.shape == (2, 2, 3, 2)
    assert_array_equal(heads[:, 0], x[..., :2])
    assert_array_equal(heads[:, 1], x[..., 2:])
    assert_array_equal(merge_heads(heads), x)


def test_one_head_equals_the_four_block_formula():
    params = random_params()
    words = RNG.normal(size=(1, WORDS, HIDDEN))
    entities = RNG.normal(size=(1, ENTITIES, HIDDEN))
    word_out, entity_out, probs = entity_aware_self_attention(
        params, words, entities, None, num_heads=1
    )

    def lin(name, x):
        return functional.linear(x[0], params[f"{name}.weight"], params[f"{name}.bias"])

    both = np.concatenate([words, entities], axis=1)
    k, v = lin("key", both), lin("value", both)
    kw, ke = k[:WORDS], k[WORDS:]
    scores = np.block(
        [
            [lin("query", words) @ kw.T, lin("w2e_query", words) @ ke.T],
            [lin("e2w_query", entities) @ kw.T, lin("e2e_query", entities) @ ke.T],
        ]
    )
    expected_probs = functional.softmax(scores / np.sqrt(HIDDEN))
    assert_allclose(probs[0, 0], expected_probs, atol=1e-12)
    assert_allclose(word_out[0], (expected_probs @ v)[:WORDS], atol=1e-12)
    assert_allclose(entity_out[0], (expected_probs @ v)[WORDS:], atol=1e-12)


def test_entity_queries_change_only_the_entity_rows():
    params = random_params()
    words = RNG.normal(size=(2, WORDS, HIDDEN))
    entities = RNG.normal(size=(2, ENTITIES, HIDDEN))
    before = entity_aware_self_attention(params, words, entities, None, num_heads=2)
    params["e2e_query.weight"] = params["e2e_query.weight"] + 1.0
    after = entity_aware_self_attention(params, words, entities, None, num_heads=2)
    assert_array_equal(before[0], after[0])  # words' context: query and w2e_query only
    assert not np.allclose(before[1], after[1])


def test_padded_keys_get_no_attention_and_rows_sum_to_one():
    params = random_params()
    mask = extended_attention_mask(np.array([[1, 1, 0]]), np.array([[1, 0]]), np.float64)
    _, _, probs = entity_aware_self_attention(
        params,
        RNG.normal(size=(1, WORDS, HIDDEN)),
        RNG.normal(size=(1, ENTITIES, HIDDEN)),
        mask,
        num_heads=2,
    )
    assert_array_equal(probs[..., [2, 4]], 0)
    assert_allclose(probs.sum(axis=-1), 1, atol=1e-12)


def test_without_entities_it_is_plain_attention_over_words():
    params = random_params()
    words = RNG.normal(size=(1, WORDS, HIDDEN))
    word_out, entity_out, probs = entity_aware_self_attention(
        params, words, None, None, num_heads=1
    )
    assert entity_out is None and probs.shape == (1, 1, WORDS, WORDS)
    q = functional.linear(words[0], params["query.weight"], params["query.bias"])
    k = functional.linear(words[0], params["key.weight"], params["key.bias"])
    assert_allclose(probs[0, 0], functional.softmax(q @ k.T / 2), atol=1e-12)  # sqrt(4) = 2

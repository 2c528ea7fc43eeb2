"""Word and entity embeddings (numpy_luke/core/embeddings.py) against their formulas on
tables small enough to follow: RoBERTa's position ids, LayerNorm(token + position + type),
and an entity's position as the mean of its mention's position vectors (-1 left out)."""

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal

from numpy_luke.core import functional
from numpy_luke.core.embeddings import (
    create_position_ids_from_input_ids,
    entity_embeddings,
    word_embeddings,
)

RNG = np.random.default_rng(0)
HIDDEN = 4
NORM = {"LayerNorm.weight": RNG.normal(size=HIDDEN), "LayerNorm.bias": RNG.normal(size=HIDDEN)}


def norm(x):
    return functional.layer_norm(x, NORM["LayerNorm.weight"], NORM["LayerNorm.bias"], 1e-12)


def test_position_ids_count_real_tokens_from_pad_plus_one():
    ids = np.array([[0, 7, 8, 2, 1, 1], [0, 1, 9, 2, 1, 1]])  # pad_token_id 1
    assert_array_equal(
        create_position_ids_from_input_ids(ids, pad_token_id=1),
        [[2, 3, 4, 5, 1, 1], [2, 1, 3, 4, 1, 1]],
    )  # a pad inside shifts nothing


def test_word_vectors_are_layer_norm_of_token_plus_position_plus_type():
    params = {
        "word_embeddings.weight": RNG.normal(size=(10, HIDDEN)),
        "position_embeddings.weight": RNG.normal(size=(12, HIDDEN)),
        "token_type_embeddings.weight": RNG.normal(size=(2, HIDDEN)),
        **NORM,
    }
    ids = np.array([[0, 5, 2, 1]])
    expected = norm(
        params["word_embeddings.weight"][[0, 5, 2, 1]]
        + params["position_embeddings.weight"][[2, 3, 4, 1]]
        + params["token_type_embeddings.weight"][0]
    )
    assert_allclose(word_embeddings(params, ids, pad_token_id=1)[0], expected, atol=1e-12)
    types = np.array([[0, 1, 1, 0]])
    expected_typed = norm(
        params["word_embeddings.weight"][[0, 5, 2, 1]]
        + params["position_embeddings.weight"][[2, 3, 4, 1]]
        + params["token_type_embeddings.weight"][[0, 1, 1, 0]]
    )
    assert_allclose(
        word_embeddings(params, ids, types, pad_token_id=1)[0], expected_typed, atol=1e-12
    )


def test_entity_vector_is_projection_plus_mean_mention_position_plus_type():
    params = {
        "entity_embeddings.weight": RNG.normal(size=(5, 3)),
        "entity_embedding_dense.weight": RNG.normal(size=(HIDDEN, 3)),
        "position_embeddings.weight": RNG.normal(size=(12, HIDDEN)),
        "token_type_embeddings.weight": RNG.normal(size=(1, HIDDEN)),
        **NORM,
    }
    entity_ids = np.array([[3, 4]])
    positions = np.array([[[3, 5, -1], [-1, -1, -1]]])  # a mention of tokens 3, 5; an empty one
    got = entity_embeddings(params, entity_ids, positions)[0]
    table, dense = params["position_embeddings.weight"], params["entity_embedding_dense.weight"]
    typ = params["token_type_embeddings.weight"][0]
    projected = params["entity_embeddings.weight"][[3, 4]] @ dense.T  # (2, hidden)
    assert_allclose(got[0], norm(projected[0] + (table[3] + table[5]) / 2 + typ), atol=1e-12)
    assert_allclose(got[1], norm(projected[1] + typ), atol=1e-12)  # no position vector at all


def test_without_the_dense_matrix_the_entity_table_is_used_as_it_is():
    params = {
        "entity_embeddings.weight": RNG.normal(size=(5, HIDDEN)),
        "position_embeddings.weight": RNG.normal(size=(12, HIDDEN)),
        "token_type_embeddings.weight": np.zeros((1, HIDDEN)),
        **NORM,
    }
    got = entity_embeddings(params, np.array([[2]]), np.array([[[4, -1]]]))[0, 0]
    expected = norm(params["entity_embeddings.weight"][2] + params["position_embeddings.weight"][4])
    assert_allclose(got, expected, atol=1e-12)

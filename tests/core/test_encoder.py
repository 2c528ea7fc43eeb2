"""The encoder (numpy_luke/core/encoder.py): one layer against its two-line formula written
with the reference primitives, the pooler's first attended token, and ``luke_model`` as the
composition of embeddings, layers and pooler, on a random one-layer model."""

from types import SimpleNamespace

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal

from numpy_luke.core import functional
from numpy_luke.core.attention import entity_aware_self_attention, extended_attention_mask
from numpy_luke.core.embeddings import entity_embeddings, word_embeddings
from numpy_luke.core.encoder import encoder, encoder_layer, luke_model, pooler, scope

RNG = np.random.default_rng(3)
HIDDEN, INNER = 4, 6
CONFIG = SimpleNamespace(
    num_attention_heads=2,
    use_entity_aware_attention=True,
    layer_norm_eps=1e-12,
    hidden_act="gelu",
    num_hidden_layers=1,
    pad_token_id=1,
)


def dense(shape_out, shape_in):
    return {"weight": RNG.normal(size=(shape_out, shape_in)), "bias": RNG.normal(size=shape_out)}


def layer_params(prefix=""):
    parts = {
        f"attention.self.{q}": dense(HIDDEN, HIDDEN)
        for q in ("query", "key", "value", "w2e_query", "e2w_query", "e2e_query")
    }
    parts |= {
        "attention.output.dense": dense(HIDDEN, HIDDEN),
        "intermediate.dense": dense(INNER, HIDDEN),
        "output.dense": dense(HIDDEN, INNER),
        "attention.output.LayerNorm": dense(HIDDEN, HIDDEN),
        "output.LayerNorm": dense(HIDDEN, HIDDEN),
    }
    params = {f"{prefix}{name}.{k}": v for name, d in parts.items() for k, v in d.items()}
    for norm in ("attention.output.LayerNorm", "output.LayerNorm"):  # (hidden,) scales
        params[f"{prefix}{norm}.weight"] = RNG.normal(size=HIDDEN)
    return params


def test_scope_takes_the_tensors_under_a_prefix_without_it():
    assert scope({"a.x": 1, "a.y.z": 2, "b.x": 3}, "a.") == {"x": 1, "y.z": 2}


def test_one_layer_is_attention_then_feed_forward_each_with_residual_and_norm():
    params = layer_params()
    words, entities = RNG.normal(size=(1, 3, HIDDEN)), RNG.normal(size=(1, 2, HIDDEN))
    word_out, entity_out, probs = encoder_layer(params, words, entities, None, CONFIG)

    def lin(name, x):
        return functional.linear(x, params[f"{name}.weight"], params[f"{name}.bias"])

    def norm(name, x):
        return functional.layer_norm(x, params[f"{name}.weight"], params[f"{name}.bias"])

    w_ctx, e_ctx, expected_probs = entity_aware_self_attention(
        scope(params, "attention.self."), words, entities, None, num_heads=2
    )
    x = np.concatenate([words, entities], axis=1)
    x = norm(
        "attention.output.LayerNorm",
        lin("attention.output.dense", np.concatenate([w_ctx, e_ctx], axis=1)) + x,
    )
    x = norm(
        "output.LayerNorm", lin("output.dense", functional.gelu(lin("intermediate.dense", x))) + x
    )
    assert_allclose(word_out, x[:, :3], atol=1e-10)
    assert_allclose(entity_out, x[:, 3:], atol=1e-10)
    assert_allclose(probs, expected_probs, atol=1e-12)


def test_the_pooler_reads_each_rows_first_attended_word():
    params = {
        "pooler.dense.weight": RNG.normal(size=(HIDDEN, HIDDEN)),
        "pooler.dense.bias": RNG.normal(size=HIDDEN),
    }
    states = RNG.normal(size=(2, 3, HIDDEN))
    mask = np.array([[1, 1, 0], [0, 1, 1]])  # right-padded, left-padded: word 0, word 1

    def expected(h):
        return np.tanh(
            functional.linear(h, params["pooler.dense.weight"], params["pooler.dense.bias"])
        )

    got = pooler(params, states, mask)
    assert_allclose(got[0], expected(states[0, 0]), atol=1e-12)
    assert_allclose(got[1], expected(states[1, 1]), atol=1e-12)


def test_zero_layers_return_the_inputs():
    words = RNG.normal(size=(1, 2, HIDDEN))
    config = SimpleNamespace(**{**vars(CONFIG), "num_hidden_layers": 0})
    all_words, all_entities, attentions = encoder({}, words, None, None, config)
    assert all_words == [words] and all_entities == [None] and attentions == []


def test_luke_model_is_embeddings_then_layers_then_pooler():
    norm = {"LayerNorm.weight": RNG.normal(size=HIDDEN), "LayerNorm.bias": RNG.normal(size=HIDDEN)}
    embed = {
        "word_embeddings.weight": RNG.normal(size=(8, HIDDEN)),
        "position_embeddings.weight": RNG.normal(size=(10, HIDDEN)),
        "token_type_embeddings.weight": RNG.normal(size=(1, HIDDEN)),
        **norm,
    }
    entity = {
        "entity_embeddings.weight": RNG.normal(size=(5, HIDDEN)),
        "position_embeddings.weight": embed["position_embeddings.weight"],
        "token_type_embeddings.weight": RNG.normal(size=(1, HIDDEN)),
        **norm,
    }
    params = {
        **{f"embeddings.{k}": v for k, v in embed.items()},
        **{f"entity_embeddings.{k}": v for k, v in entity.items()},
        **layer_params("encoder.layer.0."),
        "pooler.dense.weight": RNG.normal(size=(HIDDEN, HIDDEN)),
        "pooler.dense.bias": RNG.normal(size=HIDDEN),
    }
    ids, mask = np.array([[0, 5, 6, 1]]), np.array([[1, 1, 1, 0]])
    entity_ids, entity_positions = np.array([[3]]), np.array([[[1, 2]]])
    out = luke_model(
        params,
        CONFIG,
        ids,
        mask,
        entity_ids=entity_ids,
        entity_position_ids=entity_positions,
        output_hidden_states=True,
        output_attentions=True,
    )

    words = word_embeddings(embed, ids, pad_token_id=1)
    entities = entity_embeddings(entity, entity_ids, entity_positions)
    additive = extended_attention_mask(mask, np.ones((1, 1)), np.float64)
    word_out, entity_out, probs = encoder_layer(
        scope(params, "encoder.layer.0."), words, entities, additive, CONFIG
    )
    assert_array_equal(out.hidden_states[0], words)
    assert_array_equal(out.entity_hidden_states[0], entities)
    assert_allclose(out.last_hidden_state, word_out, atol=1e-12)
    assert_allclose(out.entity_last_hidden_state, entity_out, atol=1e-12)
    assert_allclose(out.attentions[0], probs, atol=1e-12)
    assert_allclose(out.pooler_output, pooler(params, word_out, mask), atol=1e-12)
    assert_array_equal(out.attentions[0][..., 3], 0)  # the padded word is never attended to

"""The hand-derived backward pass (numpy_luke.training, issue 22) against central finite
differences, in float64 on tiny random configs (entity-aware attention on, entity_emb_size <
hidden, padding in the batch). No torch needed: tests/oracle/test_parity_backward.py compares with
autograd.

Each check: a random projection L = sum(w * f(inputs)) of the function's output makes a
scalar; its analytic gradient (the backward given dy = w) must match
(L(x + h e_i) - L(x - h e_i)) / 2h on sampled entries i.
"""

from __future__ import annotations

import numpy as np
import pytest

from numpy_luke import (
    LukeConfig,
    LukeForEntityClassification,
    LukeForEntityPairClassification,
    LukeForEntitySpanClassification,
    LukeForMaskedLM,
    LukeForMultipleChoice,
    LukeForQuestionAnswering,
    LukeForSequenceClassification,
    LukeForTokenClassification,
)
from numpy_luke.core.attention import entity_aware_self_attention, extended_attention_mask
from numpy_luke.core.encoder import luke_model, scope
from numpy_luke.core.functional import gelu, layer_norm, linear, softmax
from numpy_luke.training import backward as B
from numpy_luke.training import encoder as E

H = 1e-6


def numeric_gradient(f, x, entries, h=H):
    """Central differences of the scalar f() wrt x at the flat indices ``entries``
    (x is changed in place and restored)."""
    flat = x.reshape(-1)
    out = []
    for i in entries:
        old = flat[i]
        flat[i] = old + h
        up = f()
        flat[i] = old - h
        down = f()
        flat[i] = old
        out.append((up - down) / (2 * h))
    return np.array(out)


def check(f, x, analytic, rng, samples=12, tol=1e-6, skip_row=None):
    """``skip_row``: a table row left out (an ``nn.Embedding`` padding row, which PyTorch
    and so numpy_luke never train, though the loss does depend on it)."""
    allowed = np.arange(x.size)
    if skip_row is not None:
        allowed = allowed[np.arange(x.size) // x.shape[-1] != skip_row]
    entries = rng.choice(allowed, size=min(samples, allowed.size), replace=False)
    numeric = numeric_gradient(f, x, entries)
    scale = max(1.0, np.abs(analytic).max())
    np.testing.assert_allclose(analytic.reshape(-1)[entries], numeric, atol=tol * scale, rtol=0)


# ----------------------------------------------------------------------------- primitives


def test_linear_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 3, 5)), rng.normal(size=(4, 5)), rng.normal(size=4)
    dy = rng.normal(size=(2, 3, 4))
    dx, dw, db = B.linear_backward(dy, x, w)
    for array, grad in ((x, dx), (w, dw), (b, db)):
        check(lambda: np.sum(dy * linear(x, w, b)), array, grad, rng)


def test_layer_norm_backward_matches_finite_differences():
    rng = np.random.default_rng(1)
    x, g, b = rng.normal(size=(2, 3, 6)) * 3 + 1, rng.normal(size=6), rng.normal(size=6)
    dy = rng.normal(size=x.shape)
    dx, dg, db = B.layer_norm_backward(dy, x, g, 1e-12)
    for array, grad in ((x, dx), (g, dg), (b, db)):
        check(lambda: np.sum(dy * layer_norm(x, g, b, 1e-12)), array, grad, rng)


def test_gelu_backward_matches_finite_differences():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.normal(size=40) * 3, [0.0, -6.0, 6.0]])
    dy = rng.normal(size=x.shape)
    check(lambda: np.sum(dy * gelu(x)), x, B.gelu_backward(dy, x), rng, samples=43)


def test_float32_gelu_backward_is_within_1e_6_of_the_float64_formula():
    """The float32 form (its own erfc, in blocks) against the float64 one at the same
    float32 inputs: over the whole line, at 0 and -0, across block edges, and at the clamp."""
    rng = np.random.default_rng(3)
    x = np.concatenate(
        [
            rng.normal(size=200_000) * 3,
            np.linspace(-20, 20, 100_001),
            [0.0, -0.0, 15.0, -15.0, 40.0, -40.0],
        ]
    ).astype(np.float32)
    dy = rng.normal(size=x.shape).astype(np.float32)
    ours = B.gelu_backward(dy, x)
    reference = B.gelu_backward(dy.astype(np.float64), x.astype(np.float64))
    assert ours.dtype == np.float32
    assert np.max(np.abs(ours - reference) / np.maximum(np.abs(dy), 1e-30)) < 1e-6
    slope = B.gelu_backward(np.ones(4, np.float32), np.array([0, -0.0, 40, -40], np.float32))
    assert slope.tolist() == [0.5, 0.5, 1.0, 0.0]  # Phi(0) = 1/2; the tails
    shaped = rng.normal(size=(3, 70_001)).astype(np.float32)  # not a multiple of a block
    np.testing.assert_allclose(
        B.gelu_backward(np.ones_like(shaped), shaped),
        B.gelu_backward(np.ones(shaped.shape), shaped.astype(float)),
        atol=1e-6,
        rtol=0,
    )


def test_masked_softmax_backward_matches_finite_differences_and_passes_none_to_masked():
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(2, 2, 4, 5))
    mask = extended_attention_mask(np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]), None, np.float64)
    dp = rng.normal(size=scores.shape)
    p = softmax(scores + mask)
    ds = B.softmax_backward(dp, p)
    check(lambda: np.sum(dp * softmax(scores + mask)), scores, ds, rng, samples=30)
    assert np.all(ds[0, ..., 3:] == 0)  # masked keys: probability 0, gradient 0


def test_lookup_backward_adds_up_repeated_ids_and_skips_the_padding_row():
    rng = np.random.default_rng(4)
    table, ids = rng.normal(size=(6, 3)), np.array([[1, 4, 1], [1, 0, 5]])
    dy = rng.normal(size=(2, 3, 3))
    dtable = B.lookup_backward(dy, ids, 6)
    check(lambda: np.sum(dy * table[ids]), table, dtable, rng, samples=18)
    np.testing.assert_allclose(dtable[1], dy[0, 0] + dy[0, 2] + dy[1, 0])
    assert np.all(B.lookup_backward(dy, ids, 6, padding_idx=1)[1] == 0)


# ----------------------------------------------------------------------------- LUKE blocks


def tiny_config(**overrides):
    values = dict(
        vocab_size=40,
        entity_vocab_size=15,
        hidden_size=12,
        entity_emb_size=8,
        num_hidden_layers=2,
        num_attention_heads=3,
        intermediate_size=20,
        max_position_embeddings=24,
        type_vocab_size=2,
        num_labels=3,
        use_entity_aware_attention=True,
    )
    values.update(overrides)
    return LukeConfig(**values)


def float64_model(cls, config, seed=0):
    """A random model in float64, with biases and layer norms random too (not 0 and 1), so
    that no gradient vanishes by the initialisation."""
    model = cls(config, seed=seed)
    rng = np.random.default_rng(seed + 100)
    params = {}
    for name, value in model.params.items():
        if name not in params:
            params[name] = value.astype(np.float64) + rng.normal(0, 0.1, value.shape)
    model.params = params
    for tied, owner in (
        ("lm_head.decoder.weight", "embeddings.word_embeddings.weight"),
        ("entity_predictions.decoder.weight", "entity_embeddings.entity_embeddings.weight"),
    ):
        if tied in params and (tied != "lm_head.decoder.weight" or config.tie_word_embeddings):
            params[tied] = params[owner]
    return model


def batch_inputs(rng, config, batch=2, words=6, entities=3, mention=3):
    """Right-padded words and entities, repeated ids, one empty mention."""
    input_ids = rng.integers(3, config.vocab_size, (batch, words))
    input_ids[:, 1] = input_ids[:, 2]  # a repeated id
    attention_mask = np.ones((batch, words), np.int64)
    input_ids[1, words - 2 :] = config.pad_token_id
    attention_mask[1, words - 2 :] = 0
    entity_ids = rng.integers(1, config.entity_vocab_size, (batch, entities))
    entity_ids[1, -1] = 0  # [PAD]
    entity_attention_mask = np.ones((batch, entities), np.int64)
    entity_attention_mask[1, -1] = 0
    positions = np.full((batch, entities, mention), -1)
    positions[:, 0, :2] = [1, 2]
    positions[:, 1, :3] = [2, 3, 4]
    positions[0, 2, 0] = 3
    # entity (1, 2) is padding with an empty mention
    token_types = rng.integers(0, 2, (batch, words))
    return dict(
        input_ids=input_ids,
        attention_mask=attention_mask,
        token_type_ids=token_types,
        entity_ids=entity_ids,
        entity_attention_mask=entity_attention_mask,
        entity_position_ids=positions,
    )


def test_the_recording_forward_gives_the_core_forward_numbers():
    rng = np.random.default_rng(5)
    config = tiny_config()
    model = float64_model(LukeForSequenceClassification, config)
    inputs = batch_inputs(rng, config)
    core = luke_model(model.params, config, **inputs)
    (words, entities, pooled), _ = E.model_forward(model.params, config, **inputs)
    np.testing.assert_allclose(words, core.last_hidden_state, rtol=0, atol=1e-13)
    np.testing.assert_allclose(entities, core.entity_last_hidden_state, rtol=0, atol=1e-13)
    np.testing.assert_allclose(pooled, core.pooler_output, rtol=0, atol=1e-13)
    # float32, the dtype training runs in: both run fast.py's primitives, the same bits
    params32 = {name: value.astype(np.float32) for name, value in model.params.items()}
    core = luke_model(params32, config, **inputs)
    (words, entities, pooled), _ = E.model_forward(params32, config, **inputs)
    assert words.dtype == np.float32
    assert np.array_equal(words, core.last_hidden_state)
    assert np.array_equal(entities, core.entity_last_hidden_state)
    assert np.array_equal(pooled, core.pooler_output)


def test_entity_embeddings_backward_matches_finite_differences():
    """Dense projection (entity_emb_size < hidden), mention averaging with -1 padding and
    an empty mention, [PAD] entity row."""
    rng = np.random.default_rng(6)
    config = tiny_config()
    params = scope(float64_model(LukeForEntityClassification, config).params, "entity_embeddings.")
    inputs = batch_inputs(rng, config)
    ids, positions = inputs["entity_ids"], inputs["entity_position_ids"]
    types = rng.integers(0, 2, ids.shape)
    out, cache = E.entity_embeddings_forward(params, ids, positions, types, 1e-12)
    dout = rng.normal(size=out.shape)
    grads = E.entity_embeddings_backward(params, dout, cache)

    def loss():
        return np.sum(dout * E.entity_embeddings_forward(params, ids, positions, types, 1e-12)[0])

    for name, grad in grads.items():
        check(
            loss,
            params[name],
            grad,
            rng,
            samples=20,
            skip_row=0 if name == "entity_embeddings.weight" else None,
        )
    assert np.all(grads["entity_embeddings.weight"][0] == 0)  # padding_idx=0


def test_word_embeddings_backward_matches_finite_differences():
    rng = np.random.default_rng(7)
    config = tiny_config()
    params = scope(float64_model(LukeForEntityClassification, config).params, "embeddings.")
    inputs = batch_inputs(rng, config)
    args = (inputs["input_ids"], inputs["token_type_ids"], None, config.pad_token_id, 1e-12)
    out, cache = E.word_embeddings_forward(params, *args)
    dout = rng.normal(size=out.shape)
    grads = E.word_embeddings_backward(params, dout, cache)
    for name, grad in grads.items():
        check(
            lambda: np.sum(dout * E.word_embeddings_forward(params, *args)[0]),
            params[name],
            grad,
            rng,
            samples=20,
            skip_row=config.pad_token_id if "type" not in name else None,
        )
    assert np.all(grads["word_embeddings.weight"][config.pad_token_id] == 0)


@pytest.mark.parametrize("entity_aware", [True, False])
def test_attention_backward_matches_finite_differences(entity_aware):
    rng = np.random.default_rng(8)
    config = tiny_config(use_entity_aware_attention=entity_aware)
    params = scope(
        float64_model(LukeForEntityClassification, config).params, "encoder.layer.0.attention.self."
    )
    x = rng.normal(size=(2, 9, 12))  # 6 words + 3 entities
    mask = extended_attention_mask(
        np.array([[1] * 6, [1] * 4 + [0] * 2]), np.array([[1, 1, 1], [1, 1, 0]]), np.float64
    )
    context, cache = E.attention_forward(params, x, 6, mask, 3, entity_aware)
    word_context, entity_context, _ = entity_aware_self_attention(
        params, x[:, :6], x[:, 6:], mask, num_heads=3, use_entity_aware_attention=entity_aware
    )
    np.testing.assert_allclose(
        context, np.concatenate([word_context, entity_context], 1), rtol=0, atol=1e-13
    )
    dcontext = rng.normal(size=context.shape)
    dx, grads = E.attention_backward(params, dcontext, cache)

    def loss():
        return np.sum(dcontext * E.attention_forward(params, x, 6, mask, 3, entity_aware)[0])

    check(loss, x, dx, rng, samples=30)
    for name, grad in grads.items():
        check(loss, params[name], grad, rng)
    if entity_aware:
        assert {"w2e_query.weight", "e2w_query.weight", "e2e_query.weight"} <= set(grads)


def test_layer_and_pooler_backward_match_finite_differences():
    rng = np.random.default_rng(9)
    config = tiny_config()
    all_params = float64_model(LukeForSequenceClassification, config).params
    params = scope(all_params, "encoder.layer.1.")
    x = rng.normal(size=(2, 9, 12))
    mask = extended_attention_mask(
        np.array([[1] * 6, [1] * 4 + [0] * 2]), np.array([[1, 1, 1], [1, 1, 0]]), np.float64
    )
    y, cache = E.layer_forward(params, x, 6, mask, config)
    dy = rng.normal(size=y.shape)
    dx, grads = E.layer_backward(params, dy, cache)

    def loss():
        return np.sum(dy * E.layer_forward(params, x, 6, mask, config)[0])

    check(loss, x, dx, rng, samples=30)
    for name, grad in grads.items():
        check(loss, params[name], grad, rng)

    words = rng.normal(size=(2, 6, 12))
    word_mask = np.array([[0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])  # left- and right-padded
    pooled, cache = E.pooler_forward(all_params, words, word_mask)
    dpooled = rng.normal(size=pooled.shape)
    dwords, grads = E.pooler_backward(all_params, dpooled, cache, words.shape)

    def pool_loss():
        return np.sum(dpooled * E.pooler_forward(all_params, words, word_mask)[0])

    check(pool_loss, words, dwords, rng, samples=30)
    for name, grad in grads.items():
        check(pool_loss, all_params[name], grad, rng)


# ----------------------------------------------------------------------------- heads


def head_cases(rng, config):
    """(class, labels and head inputs) for every head implemented."""
    b, entities = 2, 3
    return [
        (LukeForEntityClassification, dict(labels=np.array([0, 2]))),
        (LukeForEntityClassification, dict(labels=rng.integers(0, 2, (b, 3)))),  # BCE
        (LukeForEntityPairClassification, dict(labels=np.array([1, 2]))),
        (
            LukeForEntitySpanClassification,
            dict(
                labels=np.array([[0, 2, 1], [1, -100, -100]]),
                entity_start_positions=np.array([[1, 2, 2], [1, 1, 0]]),
                entity_end_positions=np.array([[2, 4, 3], [3, 1, 0]]),
            ),
        ),
        (
            LukeForEntitySpanClassification,
            dict(
                labels=rng.integers(0, 2, (b, entities, 3)),
                entity_start_positions=np.array([[1, 2, 2], [1, 1, 0]]),
                entity_end_positions=np.array([[2, 4, 3], [3, 1, 0]]),
            ),
        ),
        (LukeForSequenceClassification, dict(labels=np.array([2, 0]))),
        (
            LukeForTokenClassification,
            dict(labels=np.array([[0, 1, 2, -100, 1, 0], [2, 2, 1, 0, -100, -100]])),
        ),
        (
            LukeForQuestionAnswering,
            dict(start_positions=np.array([1, 9]), end_positions=np.array([3, -100])),
        ),
        (
            LukeForMaskedLM,
            dict(
                labels=np.where(rng.random((b, 6)) < 0.5, 7, -100),
                entity_labels=np.array([[3, -100, 4], [-100, 5, -100]]),
            ),
        ),
    ]


def check_every_gradient(loss, model, grads, rng, config, samples):
    """``check`` each gradient of ``grads`` (state_dict names) against finite differences of
    ``loss()`` on ``samples`` entries, the padding rows left out."""
    state = model.state_dict()
    for name, grad in grads.items():
        skip = padding_row(name, config)
        check(loss, state[name], grad, rng, samples=samples, skip_row=skip)


def padding_row(name, config):
    """The untrained padding row of a table (None for other tensors). With tied decoders
    the row does get the decoder's gradient, so it is skipped there too (its finite
    difference also moves the lookup)."""
    if name in (
        "luke.embeddings.word_embeddings.weight",
        "luke.embeddings.position_embeddings.weight",
    ):
        return config.pad_token_id
    if name.endswith("entity_embeddings.entity_embeddings.weight"):
        return 0
    return None


def _configure(cls, config):
    if cls is LukeForQuestionAnswering:
        return tiny_config(num_labels=2)
    return config


@pytest.mark.parametrize("case", range(9))
def test_every_head_gradient_matches_finite_differences(case):
    rng = np.random.default_rng(10 + case)
    config = tiny_config()
    cls, labels = head_cases(rng, config)[case]
    config = _configure(cls, config)
    model = float64_model(cls, config)
    inputs = batch_inputs(rng, config)
    loss, grads = model.loss_and_gradients(**inputs, **labels)
    forward_loss = model(**inputs, **labels).loss
    assert abs(loss - forward_loss) <= 1e-12 * max(1, abs(forward_loss))
    state = model.state_dict()
    assert set(grads) <= set(state)
    for name, grad in grads.items():
        assert grad.shape == state[name].shape, name
    check_every_gradient(
        lambda: float(model(**inputs, **labels).loss), model, grads, rng, config, samples=4
    )


def test_multiple_choice_gradient_matches_finite_differences():
    rng = np.random.default_rng(20)
    config = tiny_config()
    model = float64_model(LukeForMultipleChoice, config)
    one = batch_inputs(rng, config, batch=4)
    inputs = {k: v.reshape(2, 2, *v.shape[1:]) for k, v in one.items()}
    labels = np.array([1, 0])
    loss, grads = model.loss_and_gradients(**inputs, labels=labels)
    assert abs(loss - model(**inputs, labels=labels).loss) <= 1e-12
    check_every_gradient(
        lambda: float(model(**inputs, labels=labels).loss), model, grads, rng, config, samples=4
    )


def test_tied_decoders_get_one_summed_gradient_under_the_table_name():
    rng = np.random.default_rng(21)
    config = tiny_config()
    model = float64_model(LukeForMaskedLM, config)
    inputs = batch_inputs(rng, config)
    labels = dict(labels=np.full((2, 6), 7), entity_labels=np.array([[3, 4, 5], [6, 7, -100]]))
    _, grads = model.loss_and_gradients(**inputs, **labels)
    assert "lm_head.decoder.weight" not in grads and "lm_head.decoder.bias" not in grads
    assert "entity_predictions.decoder.weight" not in grads
    # the table's gradient holds the decoder's: the decoder row of label 7 moves
    table = grads["luke.embeddings.word_embeddings.weight"]
    assert np.abs(table[7]).max() > 0 and np.abs(table[config.vocab_size - 1]).max() > 0


def test_loss_and_gradients_refuses_what_it_cannot_differentiate():
    config = tiny_config()
    rng = np.random.default_rng(22)
    inputs = batch_inputs(rng, config)
    model = float64_model(LukeForEntityClassification, config)
    with pytest.raises(ValueError, match="needs labels"):
        model.loss_and_gradients(**inputs)
    with pytest.raises(TypeError, match="unexpected"):
        model.loss_and_gradients(**inputs, labels=np.array([0, 1]), head_mask=None)
    relu_model = float64_model(LukeForEntityClassification, tiny_config(hidden_act="relu"))
    with pytest.raises(NotImplementedError, match="gelu"):
        relu_model.loss_and_gradients(**inputs, labels=np.array([0, 1]))


# ----------------------------------------------------------------------------- dropout


class RecordingGenerator:
    """A numpy Generator that keeps every uniform array it hands out (for the parity test,
    which gives transformers the same dropout masks)."""

    def __init__(self, seed):
        self.rng, self.draws = np.random.default_rng(seed), []

    def random(self, shape):
        self.draws.append(self.rng.random(shape))
        return self.draws[-1]


def dropout_config(**overrides):
    return tiny_config(hidden_dropout_prob=0.2, attention_probs_dropout_prob=0.2, **overrides)


@pytest.mark.parametrize("case", range(9))
def test_gradients_with_dropout_match_finite_differences(case):
    """Dropout on (fixed masks: the same seed for every evaluation), every head."""
    rng = np.random.default_rng(70 + case)
    cls, labels = head_cases(rng, tiny_config())[case]
    config = dropout_config(num_labels=2 if cls is LukeForQuestionAnswering else 3)
    model = float64_model(cls, config)
    inputs = batch_inputs(rng, config)

    def loss():
        return float(
            model.loss_and_gradients(**inputs, **labels, dropout_rng=np.random.default_rng(5))[0]
        )

    value, grads = model.loss_and_gradients(
        **inputs, **labels, dropout_rng=np.random.default_rng(5)
    )
    assert abs(value - model(**inputs, **labels).loss) > 1e-6  # the masks changed the loss
    check_every_gradient(loss, model, grads, rng, config, samples=3)


def test_dropout_draws_masks_only_when_asked():
    config = dropout_config()
    model = float64_model(LukeForEntityClassification, config)
    inputs = batch_inputs(np.random.default_rng(0), config)
    labels = np.array([0, 2])
    off = model.loss_and_gradients(**inputs, labels=labels)[0]
    assert abs(off - model(**inputs, labels=labels).loss) <= 1e-12
    recorder = RecordingGenerator(0)
    model.loss_and_gradients(**inputs, labels=labels, dropout_rng=recorder)  # duck-typed
    # word and entity embeddings, 3 per layer, the classifier's input
    assert len(recorder.draws) == 2 + 3 * config.num_hidden_layers + 1
    with pytest.raises(TypeError, match="Generator"):
        model.loss_and_gradients(**inputs, labels=labels, dropout_rng=5)


def test_every_label_ignored_gives_nan_loss_and_gradient_as_torch():
    config = tiny_config()
    model = float64_model(LukeForTokenClassification, config)
    inputs = batch_inputs(np.random.default_rng(23), config)
    loss, grads = model.loss_and_gradients(**inputs, labels=np.full((2, 6), -100))
    assert np.isnan(loss) and np.isnan(grads["classifier.weight"]).all()


def test_float32_models_get_float32_gradients():
    """Every gradient in the parameters' dtype (the core's erf computes in float64: its
    result must not widen the backward)."""
    config = tiny_config()
    model = float64_model(LukeForMaskedLM, config)
    model.params = {k: v.astype(np.float32) for k, v in model.params.items()}
    inputs = batch_inputs(np.random.default_rng(24), config)
    loss, grads = model.loss_and_gradients(
        **inputs, labels=np.full((2, 6), 7), entity_labels=np.array([[3, 4, 5], [6, 7, -100]])
    )
    assert loss.dtype == np.float32
    assert {str(g.dtype) for g in grads.values()} == {"float32"}


@pytest.mark.parametrize("problem", ["regression", "multi_label_classification"])
def test_sequence_regression_and_multi_label_gradients_match_finite_differences(problem):
    rng = np.random.default_rng(25)
    if problem == "regression":
        config, labels = tiny_config(num_labels=1), np.array([0.5, -1.2])
    else:
        config = tiny_config(problem_type=problem)
        labels = (rng.random((2, 3)) < 0.5).astype(np.float64)
    model = float64_model(LukeForSequenceClassification, config)
    inputs = batch_inputs(rng, config)
    loss, grads = model.loss_and_gradients(**inputs, labels=labels)
    assert abs(loss - model(**inputs, labels=labels).loss) <= 1e-12
    check_every_gradient(
        lambda: float(model(**inputs, labels=labels).loss), model, grads, rng, config, samples=3
    )

"""The heads' math and losses (numpy_luke/core/heads.py) on numbers small enough to check by
hand, and each head against its formula written with the reference primitives."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from numpy_luke.core import functional, heads

RNG = np.random.default_rng(2)


def test_cross_entropy_by_hand_and_ignored_rows():
    logits = np.array([[0.0, math.log(3.0)], [5.0, -5.0]])  # softmax of row 0: (1/4, 3/4)
    assert heads.cross_entropy(logits, np.array([1, -100])) == pytest.approx(-math.log(0.75))
    assert heads.cross_entropy(logits, np.array([0, 1])) == pytest.approx(
        (-math.log(0.25) - functional.log_softmax(logits[1])[1]) / 2
    )
    with np.errstate(invalid="ignore"):
        assert np.isnan(heads.cross_entropy(logits, np.array([-100, -100])))  # as PyTorch


def test_binary_cross_entropy_and_mse_by_hand():
    assert heads.binary_cross_entropy_with_logits(np.array([0.0]), np.array([1])) == pytest.approx(
        math.log(2)
    )
    big = heads.binary_cross_entropy_with_logits(np.array([1000.0, -1000.0]), np.array([0, 1]))
    assert big == pytest.approx(1000.0)  # the stable form: no overflow
    assert heads.mse_loss(np.array([1.0, 2.0]), np.array([0, 0])) == pytest.approx(2.5)


def test_span_loss_ignores_positions_outside_the_input():
    start, end = RNG.normal(size=(2, 4)), RNG.normal(size=(2, 4))
    loss = heads.span_loss(start, end, np.array([1, 99]), np.array([2, -1]))
    expected = (
        heads.cross_entropy(start[:1], np.array([1])) + heads.cross_entropy(end, np.array([2, 0]))
    ) / 2
    assert loss == pytest.approx(expected)


def test_lm_head_is_decoder_of_layer_norm_of_gelu_of_dense():
    hidden, vocab = 4, 6
    p = {
        "lm_head.dense.weight": RNG.normal(size=(hidden, hidden)),
        "lm_head.dense.bias": RNG.normal(size=hidden),
        "lm_head.layer_norm.weight": RNG.normal(size=hidden),
        "lm_head.layer_norm.bias": RNG.normal(size=hidden),
        "lm_head.decoder.weight": RNG.normal(size=(vocab, hidden)),
        "lm_head.bias": RNG.normal(size=vocab),
    }
    h = RNG.normal(size=(1, 3, hidden))
    x = functional.gelu(functional.linear(h, p["lm_head.dense.weight"], p["lm_head.dense.bias"]))
    x = functional.layer_norm(x, p["lm_head.layer_norm.weight"], p["lm_head.layer_norm.bias"])
    expected = x @ p["lm_head.decoder.weight"].T + p["lm_head.bias"]
    assert_allclose(heads.lm_head(p, h, 1e-12), expected, atol=1e-12)


def test_classifier_without_a_bias():
    features, weight = RNG.normal(size=(2, 3)), RNG.normal(size=(5, 3))
    assert_allclose(heads.classifier({"classifier.weight": weight}, features), features @ weight.T)


def test_the_features_each_classifier_reads():
    words = np.arange(2 * 4 * 1, dtype=float).reshape(2, 4, 1)  # word k of row b: 4 b + k
    entities = 100 + np.arange(2 * 3 * 1, dtype=float).reshape(2, 3, 1)
    assert_array_equal(heads.entity_pair_features(entities), [[100, 101], [103, 104]])
    spans = heads.span_features(
        words, entities[:, :2], np.array([[0, 1], [2, 3]]), np.array([[2, 3], [3, 3]])
    )
    assert_array_equal(spans[..., 0], [[0, 1], [6, 7]])  # start words
    assert_array_equal(spans[..., 1], [[2, 3], [7, 7]])  # end words
    assert_array_equal(spans[..., 2], [[100, 101], [103, 104]])  # the entities


def test_first_entities_skip_left_padding():
    entities = np.arange(2 * 3, dtype=float).reshape(2, 3, 1)
    mask = np.array([[1, 1, 0], [0, 1, 1]])  # right-padded, left-padded
    assert_array_equal(heads.first_entities(entities, mask, 2)[..., 0], [[0, 1], [4, 5]])
    assert_array_equal(heads.first_entities(entities, None, 2)[..., 0], [[0, 1], [3, 4]])


def test_sequence_classification_loss_by_problem_type():
    logits = np.array([[0.5], [1.5]])
    assert heads.sequence_classification_loss(
        logits, np.array([0.0, 1.0]), "regression"
    ) == pytest.approx(0.25)
    two = np.array([[0.0, math.log(3.0)]])
    assert heads.sequence_classification_loss(
        two, np.array([1]), "single_label_classification"
    ) == pytest.approx(-math.log(0.75))
    assert heads.sequence_classification_loss(
        np.zeros((1, 2)), np.array([[1, 0]]), "multi_label_classification"
    ) == pytest.approx(math.log(2))

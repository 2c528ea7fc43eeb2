"""The reference primitives (core/functional.py, core/erf.py): erf against math.erf, exact
GELU, softmax stability, layer norm, linear. The forms the layers run (core/fast.py) are
tested against these in tests/core/test_fast_primitives.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from numpy_luke.core.erf import ERFC_CHEBYSHEV, erf
from numpy_luke.core.functional import (
    ACTIVATIONS,
    gelu,
    gelu_tanh,
    get_activation,
    layer_norm,
    linear,
    log_softmax,
    softmax,
)

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=500, deadline=None)
@given(st.lists(finite, min_size=1, max_size=50))
def test_erf_matches_math_erf_to_1e_7(values):
    x = np.array(values, dtype=np.float64)
    expected = np.array([math.erf(v) for v in values])
    assert np.abs(erf(x) - expected).max() <= 1e-7


@settings(max_examples=300, deadline=None)
@given(st.floats(-7, 7, allow_nan=False))
def test_erf_in_the_region_where_it_bends(value):
    assert abs(float(erf(np.array([value]))[0]) - math.erf(value)) <= 1e-7


def test_erf_on_a_dense_grid_is_far_better_than_required():
    x = np.linspace(-10, 10, 100_001)
    expected = np.array([math.erf(v) for v in x])
    assert np.abs(erf(x) - expected).max() < 1e-10


def test_erf_is_odd_and_saturates():
    x = np.linspace(0, 30, 1001)
    np.testing.assert_array_equal(erf(-x), -erf(x))
    assert erf(np.array([np.inf]))[0] == 1.0 and erf(np.array([-np.inf]))[0] == -1.0
    assert np.isnan(erf(np.array([np.nan]))[0])


def test_erf_is_the_float64_erf_for_any_input():
    x = np.linspace(-6, 6, 10_001).astype(np.float32)
    got = erf(x)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, erf(x.astype(np.float64)))
    assert erf(np.array([1, 2])).dtype == np.float64


def test_the_erfc_coefficients_are_reproduced_by_their_fit():
    np.testing.assert_allclose(
        fit_erfc_coefficients(len(ERFC_CHEBYSHEV) - 1), ERFC_CHEBYSHEV, rtol=0, atol=1e-13
    )


@settings(max_examples=200, deadline=None)
@given(st.floats(-20, 20, allow_nan=False))
def test_gelu_is_exact_erf_gelu(value):
    expected = 0.5 * value * (1 + math.erf(value / math.sqrt(2)))
    assert abs(float(gelu(np.array([value]))[0]) - expected) <= 1e-7 * max(1, abs(value))


def test_gelu_keeps_a_float_dtype_and_computes_in_float64():
    x = np.linspace(-10, 10, 2001)
    got = gelu(x.astype(np.float32))
    assert got.dtype == np.float32 and gelu(np.array([1, 2])).dtype == np.float64
    np.testing.assert_array_equal(
        got, gelu(x.astype(np.float32).astype(np.float64)).astype(np.float32)
    )


def test_gelu_is_not_the_tanh_approximation():
    x = np.array([-1.5, 1.0, 2.5])
    assert np.abs(gelu(x) - gelu_tanh(x)).max() > 1e-5


def test_activation_lookup():
    assert get_activation("gelu") is gelu
    assert set(ACTIVATIONS) >= {"gelu", "relu", "gelu_new", "silu", "tanh"}
    np.testing.assert_array_equal(get_activation("relu")(np.array([-1.0, 2.0])), [0.0, 2.0])
    with pytest.raises(ValueError, match="unknown activation"):
        get_activation("nope")


@settings(max_examples=200, deadline=None)
@given(
    arrays(
        np.float64, st.tuples(st.integers(1, 4), st.integers(1, 9)), elements=st.floats(-1e4, 1e4)
    )
)
def test_softmax_is_a_distribution_and_shift_invariant(x):
    p = softmax(x)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)
    assert (p >= 0).all()
    np.testing.assert_allclose(softmax(x + 123.0), p, atol=1e-12)
    np.testing.assert_allclose(np.exp(log_softmax(x)), p, atol=1e-12)


def test_softmax_survives_huge_and_masked_scores():
    x = np.array([[1000.0, 1001.0, np.finfo(np.float64).min], [-1e307, 0.0, 1e307]])
    p = softmax(x)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p[0], [1 / (1 + math.e), math.e / (1 + math.e), 0.0])
    np.testing.assert_allclose(p[1], [0.0, 0.0, 1.0])
    x32 = np.array([[3.0, 2.0 + np.finfo(np.float32).min]], dtype=np.float32)
    np.testing.assert_array_equal(softmax(x32), [[1.0, 0.0]])


@settings(max_examples=100, deadline=None)
@given(
    arrays(
        np.float64, st.tuples(st.integers(1, 3), st.integers(2, 16)), elements=st.floats(-100, 100)
    )
)
def test_layer_norm_normalises_then_scales(x):
    d = x.shape[-1]
    weight = np.linspace(0.5, 2.0, d)
    bias = np.linspace(-1.0, 1.0, d)
    y = layer_norm(x, np.ones(d), np.zeros(d), eps=1e-12)
    spread = x.std(axis=-1)
    ok = spread > 1e-3  # a constant row normalises to 0, not to variance 1
    np.testing.assert_allclose(y[ok].mean(axis=-1), 0.0, atol=1e-9)
    np.testing.assert_allclose(y[ok].var(axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(layer_norm(x, weight, bias), y * weight + bias, atol=1e-9)


def test_layer_norm_uses_the_biased_variance_and_eps():
    x = np.array([1.0, 3.0])
    # mean 2, biased variance 1: ((x - 2) / sqrt(1 + 0.25)) exactly
    np.testing.assert_allclose(
        layer_norm(x, np.ones(2), np.zeros(2), eps=0.25),
        [-1 / math.sqrt(1.25), 1 / math.sqrt(1.25)],
    )


def test_linear_uses_pytorch_weight_layout():
    x = np.array([[1.0, 2.0, 3.0]])
    weight = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])  # (out=2, in=3)
    np.testing.assert_array_equal(linear(x, weight), [[1.0, 5.0]])
    np.testing.assert_array_equal(linear(x, weight, np.array([10.0, 20.0])), [[11.0, 25.0]])


# ---- where the constants of core/erf.py come from


def fit_erfc_coefficients(degree: int = 16) -> np.ndarray:
    """Refit ``ERFC_CHEBYSHEV``: Chebyshev interpolation of log(erfc(z)/t) + z**2 in t.

    For z >= 25, where ``math.erfc`` underflows, the asymptotic series
    erfc(z) ~ exp(-z**2) / (z sqrt(pi)) * (1 - 1/(2z^2) + 3/(4z^4) - 15/(8z^6) + 105/(16z^8))
    stands in for it. (This shows where the core's constants come from.)
    """

    def target(t: float) -> float:
        z = 2 / t - 2
        if z < 25:
            return math.log(math.erfc(z) / t) + z * z
        series = 1 - 1 / (2 * z**2) + 3 / (4 * z**4) - 15 / (8 * z**6) + 105 / (16 * z**8)
        return math.log(series / (z * math.sqrt(math.pi) * t))

    fit = np.polynomial.Chebyshev.interpolate(np.vectorize(target), degree, domain=[0, 1])
    return fit.coef

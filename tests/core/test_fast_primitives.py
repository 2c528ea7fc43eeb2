"""The primitives the layers run (core/fast.py) equal the reference forms of
core/functional.py, each within the tolerance its docstring states (or bit for bit), over
shapes and values from hypothesis, extremes included; and float32 GELU's own erfc is within
float32 rounding of the exact GELU on the whole line."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from numpy_luke.core import erf, fast, functional
from numpy_luke.core.functional import ACTIVATIONS

FLOATS = st.sampled_from([np.float32, np.float64])


def _values(dtype, bound):
    """Finite values up to ``bound`` in magnitude, denormals and signed zeros included."""
    bound = float(dtype(bound))  # representable in dtype
    return st.floats(
        -bound,
        bound,
        allow_nan=False,
        allow_infinity=False,
        allow_subnormal=True,
        width=32 if dtype == np.float32 else 64,
    )


@st.composite
def _array(draw, dtype, shape, bound):
    return draw(arrays(dtype, shape, elements=_values(dtype, bound)))


# ---------------------------------------------------------------------------- linear


@settings(max_examples=150, deadline=None)
@given(
    st.data(),
    FLOATS,
    st.integers(1, 3),
    st.integers(1, 90),
    st.integers(1, 40),
    st.integers(1, 40),
    st.booleans(),
)
def test_linear_is_the_reference_within_the_summation_bound(
    data, dtype, batch, rows, inputs, outputs, with_bias
):
    # rows * batch spans both sides of the 64-row switch to (W x^T)^T
    x = data.draw(_array(dtype, (batch, rows, inputs), 1e4))
    weight = data.draw(_array(dtype, (outputs, inputs), 1e4))
    bias = data.draw(_array(dtype, (outputs,), 1e4)) if with_bias else None
    got, expected = fast.linear(x, weight, bias), functional.linear(x, weight, bias)
    assert got.shape == expected.shape == (batch, rows, outputs) and got.dtype == dtype
    size = np.abs(x) @ np.abs(weight).T + (0 if bias is None else np.abs(bias))
    bound = 2 * inputs * np.finfo(dtype).eps * size.astype(np.float64)
    assert (np.abs(got.astype(np.float64) - expected) <= bound).all()


@pytest.mark.parametrize("rows", [1, 8, 64, 65, 300])
def test_linear_gives_the_references_bits_on_layer_shapes(rows):
    # Measured: OpenBLAS sums in the same order either way, so the bound above is not used
    rng = np.random.default_rng(rows)
    x = rng.standard_normal((rows, 768), dtype=np.float32)
    weight = rng.standard_normal((256, 768), dtype=np.float32)
    bias = rng.standard_normal(256, dtype=np.float32)
    np.testing.assert_array_equal(fast.linear(x, weight, bias), functional.linear(x, weight, bias))


# ---------------------------------------------------------------------------- layer norm


@settings(max_examples=200, deadline=None)
@given(
    st.data(),
    FLOATS,
    array_shapes(min_dims=1, max_dims=3, max_side=40),
    st.sampled_from([1e-12, 1e-5, 0.25]),
    st.sampled_from([1.0, 1e-20, 1e15]),
)
def test_layer_norm_is_the_reference_within_d_eps(data, dtype, shape, eps, scale):
    d = shape[-1]
    x = data.draw(_array(dtype, shape, 1.0)) * dtype(scale)  # tiny, unit and huge rows
    weight = data.draw(_array(dtype, (d,), 10.0))
    bias = data.draw(_array(dtype, (d,), 10.0))
    before = x.copy()
    got, expected = (
        fast.layer_norm(x, weight, bias, eps),
        functional.layer_norm(x, weight, bias, eps),
    )
    np.testing.assert_array_equal(x, before)  # x is left unchanged
    assert got.dtype == expected.dtype == dtype
    # the variance within d eps relative moves (x - mean) / sqrt(var + eps) by at most half
    # of that; then the scale and the shift round once each
    unit = np.finfo(dtype).eps
    normalised = np.abs((expected - bias).astype(np.float64))
    bound = (d * unit) * normalised + 2 * unit * (normalised + np.abs(bias))
    assert (np.abs(got.astype(np.float64) - expected) <= bound + np.finfo(dtype).tiny).all()


# ---------------------------------------------------------------------------- softmax


@settings(max_examples=200, deadline=None)
@given(st.data(), FLOATS, array_shapes(min_dims=1, max_dims=4, max_side=12))
def test_softmax_in_place_gives_the_references_bits(data, dtype, shape):
    x = data.draw(_array(dtype, shape, float(np.finfo(dtype).max) / 4))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    expected = functional.softmax(x, axis=axis)
    scores = x.copy()
    assert fast.softmax_(scores, axis=axis) is scores
    np.testing.assert_array_equal(scores, expected)


def test_softmax_in_place_on_masked_scores_gives_the_references_bits():
    x = np.array([[3.0, 2.0 + np.finfo(np.float32).min, 1e30]], dtype=np.float32)
    np.testing.assert_array_equal(fast.softmax_(x.copy()), functional.softmax(x))


# ---------------------------------------------------------------------------- GELU


def _gelu_bound(x: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The tolerance gelu_'s docstring states, per element (float64 values)."""
    x64, magnitude = x.astype(np.float64), np.abs(x.astype(np.float64))
    # float64's bound; for float32, the reference's own error
    own_error = (4 * 2.0**-52 + np.where(magnitude < 1e-10, 1e-11, 0)) * magnitude
    if x.dtype == np.float64:
        return own_error + np.finfo(np.float64).smallest_subnormal
    slope = np.abs(
        0.5 * (1 + erf.erf(x64 / math.sqrt(2)))
        + x64 * np.exp(-x64 * x64 / 2) / math.sqrt(2 * math.pi)
    )
    ulp = np.spacing(np.abs(reference.astype(np.float32))).astype(np.float64)
    return 6 * ulp + slope * np.spacing(np.abs(x)).astype(np.float64) + own_error


@settings(max_examples=200, deadline=None)
@given(
    st.data(),
    FLOATS,
    array_shapes(min_dims=1, max_dims=3, max_side=30),
    st.sampled_from([1.0, 10.0, 40.0, 1e30]),
)
def test_gelu_in_place_is_the_reference_within_its_bound(data, dtype, shape, bound):
    x = data.draw(_array(dtype, shape, bound))
    expected64 = functional.gelu(x.astype(np.float64))  # before rounding to x's dtype
    got = fast.gelu_(x.copy())
    assert got.dtype == dtype
    error = np.abs(got.astype(np.float64) - expected64)
    assert (error <= _gelu_bound(x, expected64)).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_in_place_is_the_reference_on_a_dense_grid(dtype):
    x = np.linspace(-30, 30, 600_001).astype(dtype)
    expected64 = functional.gelu(x.astype(np.float64))
    error = np.abs(fast.gelu_(x.copy()).astype(np.float64) - expected64)
    assert (error <= _gelu_bound(x, expected64)).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_in_blocks_gives_the_same_bits_as_one_block(dtype, monkeypatch):
    # 3 x 50,000 values: several 256 kB blocks and a partial last one; against one block
    # covering the whole array, and on a non-contiguous view (a copy written back)
    x = np.random.default_rng(0).normal(0, 3, (3, 50_000)).astype(dtype)
    blocked = fast.gelu_(x.copy())
    monkeypatch.setattr(fast, "ERF_BLOCK_BYTES", x.nbytes)
    monkeypatch.setattr(
        fast, "GELU_FLOAT32_MAX_BLOCK", np.full(x.size, fast.GELU_FLOAT32_MAX, np.float32)
    )
    np.testing.assert_array_equal(fast.gelu_(x.copy()), blocked)
    monkeypatch.undo()
    transposed = np.asfortranarray(x)
    assert fast.gelu_(transposed) is transposed
    np.testing.assert_array_equal(transposed, blocked)


def test_in_blocks_applies_the_function_to_every_block_once():
    def add_one(block):
        block += 1

    for x in (np.zeros((5, 70_001)), np.zeros((70_001, 3)).T, np.zeros(()), np.zeros((0, 3))):
        assert fast.in_blocks(add_one, x) is x
        np.testing.assert_array_equal(x, np.ones_like(x))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_activation_in_place_is_its_reference(name, dtype):
    # the encoder applies config.hidden_act in place; gelu within its bound (above), the
    # others bit for bit
    x = np.random.default_rng(0).normal(0, 3, (3, 50_000)).astype(dtype)
    expected = ACTIVATIONS[name](x.copy())
    got = x.copy()
    assert fast.activation_(name)(got) is got
    if name == "gelu":
        assert (np.abs(got - expected.astype(np.float64)) <= _gelu_bound(x, expected)).all()
    else:
        np.testing.assert_array_equal(got, expected)
    assert not np.array_equal(got, x) or name == "linear"


# ---------------------------------------------------------------------------- float32 GELU


@settings(max_examples=200, deadline=None)
@given(
    arrays(
        np.float32, st.integers(1, 200), elements=st.floats(0, 14, width=32, allow_subnormal=True)
    )
)
def test_float32_gelu_series_gives_the_float64_erfc_within_4_units(m):
    # exp(Q - m**2 / 2) / (m + K), computed in float64 from the float32 Q and m + K
    q, m_plus_k, _ = fast.gelu_float32_series(m.copy())
    m64 = m.astype(np.float64)
    got = np.exp(q.astype(np.float64) - m64**2 / 2) / m_plus_k.astype(np.float64)
    expected = 0.5 * erf.erfc_nonnegative(m64 / math.sqrt(2))
    assert (np.abs(got - expected) <= 4 * 2.0**-24 * expected).all()


@given(
    arrays(
        np.float32, st.integers(1, 200), elements=st.floats(0, 20, width=32, allow_subnormal=True)
    )
)
def test_float32_erfc_is_the_float64_erfc_within_float32_rounding(m):
    # 0.5 m erfc(m / sqrt 2) against erf.py's float64 erfc: 6 (1 + m**2 / 2) units in the
    # last place (measured: 5.6) above float32's smallest normal
    m64 = m.astype(np.float64)
    expected = 0.5 * m64 * erf.erfc_nonnegative(m64 / math.sqrt(2))
    got = fast.half_x_erfc_float32(m.copy()).astype(np.float64)
    assert got.dtype == np.float64
    normal = expected > np.finfo(np.float32).tiny
    units = 6 * (1 + m64**2 / 2) * 2.0**-24
    assert (np.abs(got - expected)[normal] <= (units * expected)[normal]).all()
    assert (np.abs(got - expected)[~normal] <= 1e-38).all()


@settings(max_examples=100, deadline=None)
@given(
    arrays(
        np.float32, st.integers(1, 100), elements=st.floats(0, float(np.float32(3e38)), width=32)
    )
)
def test_the_clamp_array_gives_the_bits_of_a_scalar_clamp(m):
    clamped = np.minimum(m, fast.GELU_FLOAT32_MAX_BLOCK[: m.size])
    np.testing.assert_array_equal(clamped, np.minimum(m, np.float32(fast.GELU_FLOAT32_MAX)))


def _exact_gelu_and_slope(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GELU(x) and GELU'(x) in float64 from math.erfc, written without cancellation."""
    x = x.astype(np.float64)
    erfc = np.frompyfunc(math.erfc, 1, 1)
    tail = 0.5 * np.abs(x) * erfc(np.abs(x) / math.sqrt(2)).astype(np.float64)
    value = np.where(x < 0, -tail, x - tail)  # x Phi(x) = x - 0.5 x erfc(x / sqrt 2) for x >= 0
    slope = 0.5 * erfc(-x / math.sqrt(2)).astype(np.float64) + x * np.exp(-x * x / 2) / math.sqrt(
        2 * math.pi
    )
    return value, slope


def test_gelu_float32_is_within_float32_rounding_on_the_whole_line():
    # Every x of a dense grid over [-16, 16], and of geometric grids from 1e-38 (and
    # denormals) up, both signs: within 5 units in the last place (ulps) of the exact GELU
    # of some point within one ulp of x, i.e. |error| <= 5 ulp(GELU(x)) + |GELU'(x)| ulp(x).
    magnitudes = np.concatenate(
        [
            np.geomspace(1e-45, 1e-38, 2_001),
            np.geomspace(1e-38, 16, 100_001),
            [0.5, 1, 2, 3, 5, 8, 13],
        ]
    )
    x = np.concatenate([np.linspace(-16, 16, 400_001), magnitudes, -magnitudes])
    x = x.astype(np.float32)
    got = fast.gelu_(x.copy())
    assert got.dtype == np.float32
    exact, slope = _exact_gelu_and_slope(x)
    ulp_out = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    ulp_in = np.spacing(np.abs(x)).astype(np.float64)
    error = np.abs(got.astype(np.float64) - exact)
    assert (error <= 5 * ulp_out + np.abs(slope) * ulp_in).all()
    # where GELU is not steep relative to its size (x >= -2), within 6 ulps outright
    # (measured: 5.5; PyTorch's float32 GELU is 38 ulps off there)
    near = x >= -2
    assert (error[near] <= 6 * ulp_out[near]).all()
    # and for x < 0 the tiny results keep their sign and relative accuracy: no cancellation
    negative = (x < -1) & (exact < -1e-30)
    assert (np.abs(error[negative] / exact[negative]) < 2e-5).all()


def test_gelu_float32_special_values_are_as_before():
    x = np.array(
        [
            np.inf,
            -np.inf,
            np.nan,
            0.0,
            -0.0,
            1e-45,
            -1e-45,
            30.0,
            -30.0,
            1e30,
            -1e30,
            np.finfo(np.float32).max,
            np.finfo(np.float32).min,
        ],
        dtype=np.float32,
    )
    with np.errstate(invalid="ignore", over="ignore"):
        got = fast.gelu_(x.copy())
    assert got.dtype == np.float32
    assert got[0] == np.inf and np.isnan(got[1]) and np.isnan(got[2])
    # (the largest float32 overflows to inf in x + |x|, as it did in x + x erf(x / sqrt 2))
    np.testing.assert_array_equal(
        got[3:], np.array([0, 0, 1e-45, 0, 30, 0, 1e30, 0, np.inf, 0], dtype=np.float32)
    )


def test_the_gelu_float32_coefficients_are_reproduced_by_their_fit():
    np.testing.assert_allclose(
        fit_gelu_float32_coefficients(len(fast.GELU_FLOAT32_CHEBYSHEV) - 1),
        fast.GELU_FLOAT32_CHEBYSHEV,
        rtol=0,
        atol=1e-13,
    )


def fit_gelu_float32_coefficients(degree: int = 9) -> np.ndarray:
    """Refit ``GELU_FLOAT32_CHEBYSHEV``: Chebyshev interpolation in v of
    Q = log(0.5 (m + K) erfc(m / sqrt 2)) + m**2 / 2, with m = K (1 + v) / (1 - v)."""
    k = fast.GELU_FLOAT32_K

    def target(v: float) -> float:
        m = k * (1 + v) / (1 - v)
        return math.log((m + k) * 0.5 * math.erfc(m / math.sqrt(2))) + m * m / 2

    fit = np.polynomial.Chebyshev.interpolate(
        np.vectorize(target), degree, domain=list(fast.GELU_FLOAT32_DOMAIN)
    )
    return fit.coef

"""The primitives the layers run: ``functional.py``'s formulas, rearranged for speed.

Each function here opens with the reference it equals (in ``functional.py``) and how
closely: the same bits, or within a stated tolerance; tests/core/test_fast_primitives.py
asserts each one. The devices, and why they help (measured figures: docs/performance.md):

- products on one 2-D view, and for a few rows the weight as BLAS's left operand (``linear``);
- layer norm's variance as each row's dot product with itself (``layer_norm``);
- results written over their input (``softmax_``, ``gelu_``; the trailing ``_`` says so):
  no second array of the input's size to allocate and fault in;
- GELU in cache-sized blocks (``in_blocks``), and in float32 an erfc of its own, made for
  GELU (``half_x_erfc_float32`` on ``gelu_float32_series``, with its clamp array; the
  float32 GELU backward of numpy_luke.training runs the same series).

A reader who came for LUKE can read ``functional.py`` instead of this module.
"""

from __future__ import annotations

import math

import numpy as np

from .erf import erfc_nonnegative
from .functional import get_activation

# ---------------------------------------------------------------------------- products


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """``functional.linear``, y = x W^T + b: the same products, so the same numbers up to
    the order of BLAS's sums, within 2 k eps (|x| |W|^T + |b|) for k inputs (the bound for
    any order of summation; on the layers' shapes measured the same bits).
    (..., in) -> (..., out)
    """
    # One 2-D product over all leading axes: a 3-D x @ W.T would run one BLAS call per
    # batch row instead.
    rows = x.reshape(-1, x.shape[-1])  # (rows, in)
    if len(rows) <= 64:
        # Few rows (entity vectors, the pooler, the entity decoder): OpenBLAS runs them
        # faster with the weight as the left operand, y = (W x^T)^T, even with the copy.
        y = np.ascontiguousarray((weight @ rows.T).T)  # (rows, out)
    else:
        y = rows @ weight.T  # (rows, out)
    if bias is not None:
        y += bias
    return y.reshape(*x.shape[:-1], weight.shape[0])


def layer_norm(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = 1e-12
) -> np.ndarray:
    """``functional.layer_norm``, within (d + 2) eps |y - bias| + 2 eps |bias| for
    d = x.shape[-1]: the variance is summed in another order (within d eps relative), which
    moves the normalised value by half of that; scale and shift round once each. x is left
    unchanged. (..., d) -> (..., d)
    """
    mean = x.mean(axis=-1, keepdims=True)
    y = x - mean  # a new array; then in place: no more temporaries of x's size
    # mean(y**2) as each row's dot product with itself: one pass, no y * y array
    variance = np.einsum("...i,...i->...", y, y)[..., None]
    variance /= x.shape[-1]
    y /= np.sqrt(variance + eps)
    y *= weight
    y += bias
    return y


def softmax_(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``functional.softmax`` written over x (attention's own score array), the same bits:
    the same operations in the same order, in place. Returns x."""
    np.subtract(x, x.max(axis=axis, keepdims=True), out=x)
    np.exp(x, out=x)
    x /= x.sum(axis=axis, keepdims=True)
    return x


# ---------------------------------------------------------------------------- GELU


def activation_(name: str):
    """``functional.get_activation(name)`` as a function that writes over its float array
    and returns it: ``gelu_`` for "gelu", else the reference's own result copied back (the
    same bits)."""
    if name == "gelu":
        return gelu_
    reference = get_activation(name)

    def in_place(x: np.ndarray) -> np.ndarray:
        x[...] = reference(x)
        return x

    return in_place


def gelu_(x: np.ndarray) -> np.ndarray:
    """``functional.gelu`` written over x (a float32 or float64 array), in blocks. Returns x.

    float64: within 4 eps |x| (eps = 2**-52) of the reference, and for |x| < 1e-10 within
    1e-11 |x| (erf's error at 0, 9.2e-12, signed otherwise by the two forms). erf is odd, so
    x erf(x / sqrt 2) = |x| (1 - erfc(|x| / sqrt 2)): GELU needs erfc of |x| only and
    skips erf's sign step (a slow NumPy operation).
    float32: within 6 units in float32's last place of the reference's float64 value,
    plus |GELU'(x)| units of x (GELU's condition), plus the float64 bound (the reference's
    own cancellation in 1 + erf for x << 0, where this form keeps its relative accuracy).
    """
    return in_blocks(_gelu_float32 if x.dtype == np.float32 else _gelu_float64, x)


def _gelu_float64(x: np.ndarray) -> None:
    """x = 0.5 (x + |x| (1 - erfc(|x| / sqrt 2))) for one block."""
    magnitude = np.abs(x)
    y = erfc_nonnegative(magnitude * (1 / math.sqrt(2)))
    np.subtract(1, y, out=y)  # erf(|x| / sqrt(2))
    y *= magnitude  # = x erf(x / sqrt(2))
    y += x
    np.multiply(y, 0.5, out=x)  # 0.5 (x + x erf(x / sqrt(2)))


def _gelu_float32(x: np.ndarray) -> None:
    """x = GELU(x) = 0.5 (x + |x|) - 0.5 |x| erfc(|x| / sqrt(2)) for one float32 block. For
    x < 0 the first term is exactly 0: no cancellation, where 0.5 (x + x erf(x / sqrt 2))
    loses every digit of GELU(x) in float32 below x = -4 (as PyTorch's float32 GELU does)."""
    magnitude = np.abs(x)
    np.add(x, magnitude, out=x)  # x + |x|: 2x or exactly 0 (inf -> inf, -inf -> nan)
    tail = half_x_erfc_float32(magnitude)  # 0.5 |x| erfc(|x| / sqrt(2))
    x *= 0.5
    x -= tail


# erf and GELU make about 35 passes over their array, one per NumPy operation. On blocks
# of 256 kB the temporaries stay in the CPU's cache; on a whole (1088, 3072) GELU input
# they would stream from memory on every pass (smaller blocks: more NumPy calls).
ERF_BLOCK_BYTES = 262_144


def in_blocks(function, x: np.ndarray) -> np.ndarray:
    """An elementwise ``function(block)`` that writes each block over itself, applied to x
    block by block (see ERF_BLOCK_BYTES): the same bits as ``function(x)`` on the whole
    array, elementwise operations being independent of the blocks. Returns x."""
    flat = x.reshape(-1)  # a view of a contiguous x (as the layers' arrays are), else a copy
    block = ERF_BLOCK_BYTES // x.itemsize
    for start in range(0, x.size, block):
        function(flat[start:start + block])
    if not np.may_share_memory(flat, x):
        x[...] = flat.reshape(x.shape)
    return x


# ---------------------------------------------------------------------------- float32 GELU

# GELU in float32 has its own erfc, of lower degree, in the form gelu_ needs:
#
#     GELU(x) = 0.5 (x + |x|) - 0.5 m erfc(m / sqrt 2),   m = |x|
#     0.5 m erfc(m / sqrt 2) = m / (m + K) * exp(Q(v) - m**2 / 2),   v = (m - K) / (m + K)
#
# As in erf.py, exp(-m**2 / 2) carries the decay and Q is smooth: a polynomial in v, which
# runs over [-1, 2/3] as m runs over [0, GELU_FLOAT32_MAX] (beyond, m is clamped: the
# result is below float32's smallest number anyway). Q (GELU_FLOAT32_CHEBYSHEV, reproduced
# by tests/core/test_fast_primitives.py) has degree 9 where a float32 cut of erf.py's series
# needs 11 (fewer passes), and is within 3.4e-8 (0.6 units in float32's last place) of the
# exact function. Against the exact GELU on the whole line, float32 gelu_ is within 5
# units in the last place (measured: 4) of GELU(x') for some x' within one unit of x, and
# within 6 (measured: 5.5) of GELU(x) for x >= -2; below, rounding m**2 / 2 moves exp by
# up to m**2 / 2 units, as much as rounding x does (GELU's condition number is ~x**2).
GELU_FLOAT32_K, GELU_FLOAT32_MAX = 3.0, 15.0
GELU_FLOAT32_CHEBYSHEV = (
    -0.18233344572015447, -0.5792982786338892, 0.014979939586168722, 0.006226494714446562,
    -0.000430550657092732, -0.00017366812226590338, 1.0136621838080507e-05,
    6.614633457635577e-06, -5.549607069443852e-08, -2.8020452008670205e-07,
)
GELU_FLOAT32_DOMAIN = (-1.0, (GELU_FLOAT32_MAX - GELU_FLOAT32_K)  # v's range, [-1, 2/3]
                        / (GELU_FLOAT32_MAX + GELU_FLOAT32_K))
# The same Q in powers of v (well conditioned: they sum to 1.16 in absolute value).
GELU_FLOAT32_POWERS = tuple(float(a) for a in np.polynomial.Chebyshev(
    GELU_FLOAT32_CHEBYSHEV, domain=GELU_FLOAT32_DOMAIN).convert(
    kind=np.polynomial.Polynomial).coef)
# GELU_FLOAT32_MAX as a block-sized array: np.minimum with a scalar is not vectorised (as
# slow as np.exp); with an array, as fast as an addition. The same bits as the scalar.
GELU_FLOAT32_MAX_BLOCK = np.full(ERF_BLOCK_BYTES // 4, GELU_FLOAT32_MAX, np.float32)


def gelu_float32_series(m: np.ndarray):
    """Q(v) of the formula above for a float32 block of m >= 0, m clamped in place at
    GELU_FLOAT32_MAX (m is overwritten; one block of in_blocks at most): with them,
    exp(Q - m**2 / 2) / (m + K) is 0.5 ``erf.erfc_nonnegative``(m / sqrt 2) within 4 units
    in float32's last place (measured: 2.7).
    -> (Q, m + K, v), new arrays of m's shape (v is free for the caller to overwrite)"""
    k, powers = GELU_FLOAT32_K, GELU_FLOAT32_POWERS
    np.minimum(m, GELU_FLOAT32_MAX_BLOCK[:m.size].reshape(m.shape), out=m)
    m_plus_k = m + k
    v = m - k
    v /= m_plus_k  # v = (m - K) / (m + K)
    q = v * powers[-1]  # Horner's rule, in place: Q = a_0 + v (a_1 + v (a_2 + ...))
    q += powers[-2]
    for a in powers[-3::-1]:
        q *= v
        q += a
    return q, m_plus_k, v


def half_x_erfc_float32(m: np.ndarray) -> np.ndarray:
    """0.5 m erfc(m / sqrt 2) for a float32 block of m >= 0, by the formula above, every
    step in place: within 6 (1 + m**2 / 2) units in float32's last place of
    0.5 m ``erf.erfc_nonnegative``(m / sqrt 2) (rounding m**2 / 2 moves exp by up to
    m**2 / 2 units). Overwrites m (one block of in_blocks at most); returns a new array."""
    q, m_plus_k, v = gelu_float32_series(m)
    np.multiply(m, m, out=v)
    v *= 0.5
    q -= v  # Q - m**2 / 2
    tail = np.exp(q, out=q)
    tail *= np.divide(m, m_plus_k, out=m_plus_k)  # m / (m + K) exp(Q - m**2 / 2)
    return tail

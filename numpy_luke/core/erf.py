"""The error function, erf, for the exact GELU: NumPy has none, so it is written here.

LUKE's GELU is the exact one, x * Phi(x) = 0.5 x (1 + erf(x / sqrt(2))), not the tanh
approximation. This module computes erfc in the form of Numerical Recipes (3rd ed., section
6.2.2): for z = |x|,

    t = 2 / (2 + z)                              t runs over (0, 1] as z runs over [inf, 0)
    erfc(z) = t * exp(-z**2 + P(t))              P: a degree-16 Chebyshev series in t
    erf(x)  = sign(x) * (1 - erfc(|x|))

``exp(-z**2)`` carries the fast decay of erfc, so what is left for P,
``log(erfc(z) / t) + z**2``, is smooth and bounded on the whole line. Its coefficients
``ERFC_CHEBYSHEV`` were fitted by Chebyshev interpolation of that function, computed from
Python's ``math.erfc`` (tests/test_functional.py refits them). In float64 the result is
within 9.2e-12 of ``math.erf`` on the grids measured (walkthrough chapter 5);
tests/test_functional.py asserts 1e-10 on 100,001 points of [-10, 10] and 1e-7 anywhere.
In float32 (the series cut after c_11) within 1e-6, as that test file asserts.

float32 GELU has an erfc of its own (``half_x_erfc_float32``, at the end of this module):
of lower degree, in a form made for GELU, and within float32 rounding on the whole line.

A reader who came for LUKE can stop at the formula above: ``functional.gelu`` calls
``erfc_nonnegative`` or ``half_x_erfc_float32``, and nothing else from here.
"""

from __future__ import annotations

import numpy as np

# P(t) = sum_k c_k T_k(2t - 1), the Chebyshev coefficients of log(erfc(z) / t) + z**2 with
# z = 2/t - 2 on t in [0, 1]; refitted by tests/test_functional.py.
ERFC_CHEBYSHEV = (
    -0.6513268598908537,
    0.6419697923564888,
    0.01947647320418699,
    -0.009561514786808946,
    -0.0009465953444827781,
    0.00036683949785434525,
    4.252332480515098e-05,
    -2.0278578111640473e-05,
    -1.624290004403961e-06,
    1.3036558340685396e-06,
    1.562644555400241e-08,
    -8.523810548756889e-08,
    6.529056397795099e-09,
    5.05945422567175e-09,
    -9.916761168083124e-10,
    -2.2826030053891573e-10,
    1.0335458239790005e-10,
)

# The same P in powers of u = 2t - 1, for Horner's rule: two passes over the array per term,
# where Clenshaw's recurrence on the Chebyshev form takes three. The change of basis is well
# conditioned here (the power coefficients sum to 1.46 in absolute value). For float32 the
# Chebyshev terms from c_12 on, all below 1e-8 and so below its resolution, are left out.
ERFC_POWERS = tuple(float(a) for a in np.polynomial.chebyshev.cheb2poly(ERFC_CHEBYSHEV))
ERFC_POWERS_FLOAT32 = tuple(
    float(a) for a in np.polynomial.chebyshev.cheb2poly(ERFC_CHEBYSHEV[:12])
)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, erf(x) = 2/sqrt(pi) * integral_0^x exp(-s**2) ds, elementwise.

    erf(x) = sign(x) * (1 - t * exp(-x**2 + P(t))) with t = 2 / (2 + |x|) (see the module
    docstring); P is evaluated by Horner's rule on its power form ``ERFC_POWERS``.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)

    def erf_block(x, out):
        erfc = erfc_nonnegative(np.abs(x))
        np.copysign(np.subtract(1, erfc, out=erfc), x, out=out)

    return in_blocks(erf_block, x)


def erfc_nonnegative(z: np.ndarray) -> np.ndarray:
    """erfc(z) = t exp(P(t) - z**2) for z >= 0, as a new array (see the module docstring)."""
    powers = ERFC_POWERS_FLOAT32 if z.dtype == np.float32 else ERFC_POWERS
    t = 2 / (2 + z)
    u = 2 * t
    u -= 1  # u = 2t - 1 maps t in [0, 1] to [-1, 1], where the Chebyshev series was fitted
    # Horner's rule, in place: P = a_0 + u (a_1 + u (a_2 + ...)); no new arrays in the loop,
    # which is most of GELU's time (NumPy's time here goes to passes over memory).
    p = np.full_like(u, powers[-1])
    for a in powers[-2::-1]:
        p *= u
        p += a
    p -= z * z
    erfc = np.exp(p, out=p)
    erfc *= t
    return erfc


# erf and GELU make about 35 passes over their array, one per NumPy operation. On blocks
# of 256 kB the temporaries stay in the CPU's cache; on a whole (1088, 3072) GELU input
# they would stream from memory on every pass: twice as slow. (float32 blocks of 128 kB:
# twice the NumPy calls, GELU on (1088, 3072) 8.23 ms against 7.73; 512 kB no faster.)
ERF_BLOCK_BYTES = 262_144


def in_blocks(function, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """An elementwise ``function(x, out)`` over x, block by block (see ERF_BLOCK_BYTES);
    ``function`` writes each block of the result straight into ``out`` (a new array unless
    given; ``out=x`` works in place), with no copy."""
    out = np.empty(x.shape, x.dtype) if out is None else out
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    block = ERF_BLOCK_BYTES // x.itemsize
    for start in range(0, x.size, block):
        function(flat_x[start:start + block], flat_out[start:start + block])
    return out


# ---------------------------------------------------------------------------- float32 GELU

# GELU in float32 has its own erfc, of lower degree, in the form functional.gelu needs:
#
#     GELU(x) = 0.5 (x + |x|) - 0.5 m erfc(m / sqrt 2),   m = |x|
#     0.5 m erfc(m / sqrt 2) = m / (m + K) * exp(Q(v) - m**2 / 2),   v = (m - K) / (m + K)
#
# As above, exp(-m**2 / 2) carries the decay and Q is smooth: a polynomial in v, which
# runs over [-1, 2/3] as m runs over [0, GELU_FLOAT32_MAX] (beyond, m is clamped: the
# result is below float32's smallest number anyway). Q (GELU_FLOAT32_CHEBYSHEV, reproduced
# by tests/test_functional.py) has degree 9 where the float32 erfc above has 11, and
# is within 3.4e-8 (0.6 units in float32's last place) of the exact function. Against a
# float64 reference on the whole line (tests/test_functional.py), float32 GELU is within 5
# units in the last place (measured: 4) of GELU(x') for some x' within one unit of x, and
# within 6 (measured: 5.5) of GELU(x) for x >= -2; below, rounding m**2 / 2 moves exp by
# up to m**2 / 2 units, as much as rounding x does (GELU's condition number is ~x**2).
# 32 passes instead of 37: GELU on (1088, 3072) 10.2 -> 8.7 ms (1 thread, medians).
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
# slow as np.exp); with an array, as fast as an addition. GELU 18.3 -> 16.4 ms, same bits.
_GELU_FLOAT32_MAX_BLOCK = np.full(ERF_BLOCK_BYTES // 4, GELU_FLOAT32_MAX, np.float32)


def half_x_erfc_float32(m: np.ndarray) -> np.ndarray:
    """0.5 m erfc(m / sqrt 2) for a float32 block of m >= 0, by the formula above; every
    step in place. Overwrites m (one block of in_blocks at most); returns a new array."""
    k, powers = GELU_FLOAT32_K, GELU_FLOAT32_POWERS
    np.minimum(m, _GELU_FLOAT32_MAX_BLOCK[:m.size].reshape(m.shape), out=m)
    m_plus_k = m + k
    v = m - k
    v /= m_plus_k  # v = (m - K) / (m + K)
    q = v * powers[-1]  # Horner's rule, in place: Q = a_0 + v (a_1 + v (a_2 + ...))
    q += powers[-2]
    for a in powers[-3::-1]:
        q *= v
        q += a
    np.multiply(m, m, out=v)
    v *= 0.5
    q -= v  # Q - m**2 / 2
    tail = np.exp(q, out=q)
    tail *= np.divide(m, m_plus_k, out=m_plus_k)  # m / (m + K) exp(Q - m**2 / 2)
    return tail

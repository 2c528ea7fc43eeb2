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
Python's ``math.erfc`` (tests/test_functional.py refits them). The result is within
9.2e-12 of ``math.erf`` on the grids measured (walkthrough chapter 5);
tests/test_functional.py asserts 1e-10 on 100,001 points of [-10, 10] and 1e-7 anywhere.

This is the one erf, in float64: ``functional.gelu`` is built on it. The model's GELU,
``fast.gelu_``, runs ``erfc_nonnegative`` in cache-sized blocks (float64), or an erfc of
its own made for float32 GELU; both say there how close they are to ``functional.gelu``.
A reader who came for LUKE can stop at the formula above.
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
# conditioned here (the power coefficients sum to 1.46 in absolute value).
ERFC_POWERS = tuple(float(a) for a in np.polynomial.chebyshev.cheb2poly(ERFC_CHEBYSHEV))


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, erf(x) = 2/sqrt(pi) * integral_0^x exp(-s**2) ds, elementwise,
    in float64 (any input is converted): sign(x) * (1 - erfc(|x|)), with erfc below."""
    x = np.asarray(x, dtype=np.float64)
    return np.copysign(1 - erfc_nonnegative(np.abs(x)), x)


def erfc_nonnegative(z: np.ndarray) -> np.ndarray:
    """erfc(z) = t exp(P(t) - z**2) with t = 2 / (2 + z), for float64 z >= 0, as a new array.

    P is evaluated by Horner's rule on its power form ``ERFC_POWERS``, in place (no new
    arrays in the loop: ``fast.gelu_`` runs this function, and its time goes to passes over
    memory).
    """
    t = 2 / (2 + z)
    u = 2 * t
    u -= 1  # u = 2t - 1 maps t in [0, 1] to [-1, 1], where the Chebyshev series was fitted
    p = np.full_like(u, ERFC_POWERS[-1])  # P = a_0 + u (a_1 + u (a_2 + ...))
    for a in ERFC_POWERS[-2::-1]:
        p *= u
        p += a
    p -= z * z
    erfc = np.exp(p, out=p)
    erfc *= t
    return erfc

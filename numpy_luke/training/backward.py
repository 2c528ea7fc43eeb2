"""The backward functions of the core's primitives (``core/functional.py``), one per forward.

Notation: for a scalar loss L and an array y, ``dy`` is dL/dy, an array of y's shape. A
backward function takes the output gradient and what the forward saw, and returns the
input gradient (and the parameter gradients). Each docstring derives its formula.
"""

from __future__ import annotations

import math

import numpy as np

from ..core import fast
from ..core.erf import erf


def linear_backward(dy: np.ndarray, x: np.ndarray, weight: np.ndarray, has_bias: bool = True):
    """Backward of y = x W^T + b (``core.functional.linear``), W stored (out, in).

    y_ro = sum_i x_ri W_oi + b_o, so dL/dx_ri = sum_o dy_ro W_oi  (dx = dy W),
    dL/dW_oi = sum_r dy_ro x_ri (dW = dy^T x, summed over every leading axis), and
    dL/db_o = sum_r dy_ro.
    dy (..., out), x (..., in), W (out, in) -> dx (..., in), dW (out, in), db (out,) or None
    """
    rows_dy = dy.reshape(-1, dy.shape[-1])  # (rows, out)
    rows_x = x.reshape(-1, x.shape[-1])  # (rows, in)
    dx = (rows_dy @ weight).reshape(x.shape)  # (..., in)
    dweight = rows_dy.T @ rows_x  # (out, in)
    dbias = rows_dy.sum(axis=0) if has_bias else None  # (out,)
    return dx, dweight, dbias


def layer_norm_backward(dy: np.ndarray, x: np.ndarray, weight: np.ndarray, eps: float):
    """Backward of y = xhat * g + b, xhat = (x - mean) / sqrt(var + eps) over the last axis.

    With r = 1 / sqrt(var + eps) and d the axis length: dxhat = dy * g, and since
    d xhat_j / d x_i = r (delta_ij - 1/d - xhat_i xhat_j / d),
    dx = r (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).
    dg = sum over rows of dy * xhat; db = sum over rows of dy.
    dy, x (..., d), g (d,) -> dx (..., d), dg (d,), db (d,)
    """
    centred = x - x.mean(axis=-1, keepdims=True)  # (..., d)
    rstd = 1 / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + eps)  # (..., 1)
    xhat = centred * rstd  # (..., d)
    dxhat = dy * weight  # (..., d)
    dx = rstd * (dxhat - dxhat.mean(axis=-1, keepdims=True)
                 - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True))  # (..., d)
    leading = tuple(range(dy.ndim - 1))
    return dx, (dy * xhat).sum(axis=leading), dy.sum(axis=leading)


def gelu_backward(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Backward of the exact GELU(x) = x Phi(x), Phi the standard normal CDF.

    d/dx [x Phi(x)] = Phi(x) + x phi(x), with Phi(x) = (1 + erf(x / sqrt 2)) / 2 and the
    density phi(x) = exp(-x**2 / 2) / sqrt(2 pi). In float32 the same formula runs on
    float32 GELU's own erfc (``gelu_backward_float32``); erf is float64 only, and
    converting every activation there and back took most of a training step.
    dy, x (...) -> dx (...)
    """
    if x.dtype == np.float32:
        return gelu_backward_float32(dy, x)
    cdf = 0.5 * (1 + erf(x * (1 / math.sqrt(2))))  # (...)
    density = np.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))  # (...)
    return dy * (cdf + x * density)


def gelu_backward_float32(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``gelu_backward`` for float32, in cache-sized blocks, within 1e-6 of the float64
    formula (tests/training/test_backward.py measures it).

    With m = |x| and the tail T = Phi(-m) = erfc(m / sqrt 2) / 2, Phi(x) = 1 - T for x >= 0
    and T for x < 0, and x phi(x) = +-m phi(m); so with g = m phi(m) - T,
    GELU'(x) = 1 + g for x >= 0 and -g for x < 0, that is 1/2 + copysign(g + 1/2, x).
    T comes from float32 GELU's erfc (``core/fast.py``): there
    m T = m / (m + K) exp(Q(v) - m**2 / 2), so T = exp(Q(v)) exp(-m**2 / 2) / (m + K),
    exp(-m**2 / 2) being phi's own factor. m is clamped at 15, where both terms are 0 in
    float32. dy, x (...) -> dx (...), a new array
    """
    dx = np.empty(x.shape, x.dtype)  # (...), C order, so that its flat view is written
    flat_dx, flat_x, flat_dy = dx.reshape(-1), x.reshape(-1), np.ascontiguousarray(dy).reshape(-1)
    block = fast.ERF_BLOCK_BYTES // 4
    for start in range(0, x.size, block):  # blocks of the flat arrays (see fast.in_blocks)
        part = slice(start, start + block)
        m = np.abs(flat_x[part])
        q, m_plus_k, v = fast.gelu_float32_series(m)  # m clamped at 15
        gauss = np.multiply(m, m, out=v)
        gauss *= -0.5
        np.exp(gauss, out=gauss)  # exp(-m**2 / 2)
        tail = np.exp(q, out=q)
        tail *= gauss
        tail /= m_plus_k  # T
        slope = np.multiply(m, gauss, out=gauss)
        slope *= 1 / math.sqrt(2 * math.pi)  # m phi(m)
        slope -= tail  # g = m phi(m) - T
        slope += 0.5
        np.copysign(slope, flat_x[part], out=slope)
        slope += 0.5  # GELU'(x) = 1/2 + copysign(g + 1/2, x)
        np.multiply(flat_dy[part], slope, out=flat_dx[part])
    return dx


def tanh_backward(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Backward of y = tanh(x), from the output: dtanh/dx = 1 - tanh(x)**2 = 1 - y**2."""
    return dy * (1 - y * y)


def softmax_backward(dp: np.ndarray, p: np.ndarray, axis: int = -1) -> np.ndarray:
    """Backward of p = softmax(s) along ``axis``, from the output p.

    d p_j / d s_i = p_j (delta_ij - p_i), so ds_i = sum_j dp_j p_j (delta_ij - p_i)
    = p_i (dp_i - sum_j dp_j p_j). A masked score (s + finfo.min) has p_i = 0 and so gets
    ds_i = 0: the additive mask is a constant and passes no gradient.
    dp, p (..., n) -> ds (..., n)
    """
    return p * (dp - (dp * p).sum(axis=axis, keepdims=True))


def lookup_backward(dy: np.ndarray, ids: np.ndarray, rows: int,
                    padding_idx: int | None = None) -> np.ndarray:
    """Backward of y = table[ids] (an embedding lookup), table (rows, width).

    Each output vector is one table row, so the row's gradient is the sum of dy over every
    place its id appears: ``np.add.at`` adds repeated ids up (a plain ``dtable[ids] = dy``
    would keep only the last). ``padding_idx`` gets no gradient, as PyTorch's
    ``nn.Embedding(padding_idx=...)``, whose padding row never trains.
    dy (..., width), ids (...) -> dtable (rows, width)
    """
    dtable = np.zeros((rows, dy.shape[-1]), dtype=dy.dtype)  # (rows, width)
    np.add.at(dtable, ids.reshape(-1), dy.reshape(-1, dy.shape[-1]))
    if padding_idx is not None:
        dtable[padding_idx] = 0
    return dtable


def dropout_mask(rng, shape: tuple, p: float, dtype) -> np.ndarray | None:
    """Inverted dropout's mask, as PyTorch's ``nn.Dropout`` in training: each entry kept
    with probability 1 - p and then scaled by 1 / (1 - p), so the expected output equals the
    input; None (no dropout) without a generator or with p = 0. The forward is
    y = x * mask, so the backward is dx = dy * mask. -> shape, or None"""
    if rng is None or not p:
        return None
    return (rng.random(shape) >= p).astype(dtype) / (1 - p)


def dropped(x: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """x * mask, or x itself when dropout is off (mask None); also the backward of both."""
    return x if mask is None else x * mask

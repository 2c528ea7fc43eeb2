"""The math primitives every layer is built from: GELU, layer norm, softmax, linear.

Each function is a few lines of NumPy on arrays of any leading shape, with its formula in
the docstring. They compute in the dtype of their input (float32 or float64). GELU is the
exact one, x * Phi(x), built on the error function of ``erf.py``.
"""

from __future__ import annotations

import math

import numpy as np

from .erf import erfc_nonnegative, half_x_erfc_float32, in_blocks

# ---------------------------------------------------------------------------- activations


def gelu(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Exact GELU: x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2))).

    erf is odd, so x * erf(x / sqrt(2)) = |x| * (1 - erfc(|x| / sqrt(2))): computed in that
    form, GELU needs erfc of |x| only and skips erf's sign step (a slow NumPy operation).
    float32 arrays take 0.5 (x + |x|) - 0.5 |x| erfc(|x| / sqrt(2)), with erf.py's float32 erfc.
    ``out=x`` overwrites x with the result, as the encoder does with its own feed-forward
    array: no second (tokens, 3072) array to allocate and fault in (8x128+8 forward, 2
    threads, side by side: 3% to 5% less time; 1.6% at 1 thread; same bits).
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if x.dtype == np.float32:
        return in_blocks(_gelu_float32_block, x, out)

    def gelu_block(x, out):
        magnitude = np.abs(x)
        y = erfc_nonnegative(magnitude * (1 / math.sqrt(2)))
        np.subtract(1, y, out=y)  # erf(|x| / sqrt(2))
        y *= magnitude  # = x erf(x / sqrt(2))
        y += x  # the last read of x: out may be x itself
        np.multiply(y, 0.5, out=out)  # 0.5 (x + x erf(x / sqrt(2)))

    return in_blocks(gelu_block, x, out)


def _gelu_float32_block(x: np.ndarray, out: np.ndarray) -> None:
    """out = GELU(x) = 0.5 (x + |x|) - 0.5 |x| erfc(|x| / sqrt(2)) for a float32 block. For
    x < 0 the first term is exactly 0: no cancellation, where 0.5 (x + x erf(x / sqrt 2))
    loses every digit of GELU(x) in float32 below x = -4 (as PyTorch's float32 GELU does)."""
    magnitude = np.abs(x)  # before out is written: out may be x itself
    np.add(x, magnitude, out=out)  # x + |x|: 2x or exactly 0 (inf -> inf, -inf -> nan)
    tail = half_x_erfc_float32(magnitude)  # 0.5 |x| erfc(|x| / sqrt(2))
    out *= 0.5
    out -= tail


def gelu_tanh(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """GELU's tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3)))."""
    return np.multiply(0.5 * x, 1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)),
                       out=out)


def quick_gelu(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """x * sigmoid(1.702 x)."""
    return np.multiply(x, sigmoid(1.702 * x), out=out)


def relu(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """max(x, 0)."""
    return np.maximum(x, 0, out=out)


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 / (1 + exp(-x)), written as 0.5 (1 + tanh(x / 2)) so that it never overflows."""
    return np.multiply(0.5, 1 + np.tanh(0.5 * x), out=out)


def silu(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """x * sigmoid(x) (also called swish)."""
    return np.multiply(x, sigmoid(x), out=out)


def identity(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """x."""
    if out is None or out is x:
        return x
    np.copyto(out, x)
    return out


# config.hidden_act name -> function (the names transformers' ACT2FN uses); each takes an
# optional ``out=`` array, as NumPy's ufuncs (np.tanh here) do
ACTIVATIONS = {
    "gelu": gelu,
    "gelu_new": gelu_tanh,
    "gelu_pytorch_tanh": gelu_tanh,
    "gelu_fast": gelu_tanh,
    "quick_gelu": quick_gelu,
    "relu": relu,
    "silu": silu,
    "swish": silu,
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "linear": identity,
}


def get_activation(name: str):
    """The activation function named by ``config.hidden_act``."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; known: {', '.join(sorted(ACTIVATIONS))}"
        ) from None


# ---------------------------------------------------------------------------- layers


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """y = x W^T + b, with ``weight`` stored (out_features, in_features) as in PyTorch.

    (..., in) -> (..., out)
    """
    # One 2-D product over all leading axes: (rows, in) @ (in, out). A 3-D x @ W.T would
    # run one BLAS call per batch row instead, measurably slower for batches > 1.
    rows = x.reshape(-1, x.shape[-1])  # (rows, in)
    if len(rows) <= 64:
        # Few rows (entity vectors, the pooler, the entity decoder): OpenBLAS is up to 2x
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
    """Normalise the last axis to mean 0 and variance 1, then scale and shift.

    y = (x - mean(x)) / sqrt(var(x) + eps) * weight + bias, where var is the biased
    variance mean((x - mean(x))**2), as PyTorch's LayerNorm computes it. (..., d) -> (..., d)
    """
    mean = x.mean(axis=-1, keepdims=True)
    y = x - mean  # a new array; x itself is left unchanged
    # mean(y**2) as each row's dot product with itself: one pass, no y * y (1.08 -> 0.90 ms)
    variance = np.einsum("...i,...i->...", y, y)[..., None]
    variance /= x.shape[-1]
    y /= np.sqrt(variance + eps)  # then in place: no more temporaries of x's size
    y *= weight
    y += bias
    return y


def softmax(x: np.ndarray, axis: int = -1, out: np.ndarray | None = None) -> np.ndarray:
    """exp(x_i) / sum_j exp(x_j) along ``axis``.

    The maximum is subtracted first: softmax(x) = softmax(x - max(x)), and then every
    exponent is <= 0, so exp never overflows, and the largest term is exp(0) = 1, so the sum
    never underflows to 0. ``out=x`` overwrites x with the result instead of allocating a
    new array (attention does so with its own score array; same numbers, less time).
    """
    exps = np.subtract(x, x.max(axis=axis, keepdims=True), out=out)  # new array unless out
    np.exp(exps, out=exps)  # in place, like the division below: no more (n, n) temporaries
    exps /= exps.sum(axis=axis, keepdims=True)
    return exps


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(softmax(x)) = (x - max) - log(sum(exp(x - max))), computed without exp overflow."""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

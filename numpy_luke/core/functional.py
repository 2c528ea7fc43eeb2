"""The math primitives every layer is built from: GELU, layer norm, softmax, linear.

Each function is its formula, in a few lines of NumPy on arrays of any leading shape, and
computes in the dtype of its input (float32 or float64). GELU is the exact one,
x * Phi(x), built on the error function of ``erf.py``.

These are the reference forms, the ones the walkthrough teaches. The layers run the forms
of ``fast.py`` where one exists (``fast.linear``, ``fast.layer_norm``, ``fast.softmax_``,
``fast.gelu_``): the same functions, rearranged for speed, each saying which function here
it equals and how closely, and tests/test_fast_primitives.py asserts it.
"""

from __future__ import annotations

import math

import numpy as np

from .erf import erf

# ---------------------------------------------------------------------------- activations


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU: x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2))).

    Computed in float64, as erf is; the result has x's float dtype.
    """
    x = np.asarray(x)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
    x64 = x.astype(np.float64)
    return (0.5 * x64 * (1 + erf(x64 / math.sqrt(2)))).astype(dtype)


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """GELU's tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3)))."""
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def quick_gelu(x: np.ndarray) -> np.ndarray:
    """x * sigmoid(1.702 x)."""
    return x * sigmoid(1.702 * x)


def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0)."""
    return np.maximum(x, 0)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), written as 0.5 (1 + tanh(x / 2)) so that it never overflows."""
    return 0.5 * (1 + np.tanh(0.5 * x))


def silu(x: np.ndarray) -> np.ndarray:
    """x * sigmoid(x) (also called swish)."""
    return x * sigmoid(x)


def identity(x: np.ndarray) -> np.ndarray:
    """x."""
    return x


# config.hidden_act name -> function (the names transformers' ACT2FN uses)
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
    y = x @ weight.T
    return y if bias is None else y + bias


def layer_norm(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = 1e-12
) -> np.ndarray:
    """Normalise the last axis to mean 0 and variance 1, then scale and shift.

    y = (x - mean(x)) / sqrt(var(x) + eps) * weight + bias, where var is the biased
    variance mean((x - mean(x))**2), as PyTorch's LayerNorm computes it. (..., d) -> (..., d)
    """
    centred = x - x.mean(axis=-1, keepdims=True)
    variance = (centred**2).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(variance + eps) * weight + bias


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(x_i) / sum_j exp(x_j) along ``axis``.

    The maximum is subtracted first: softmax(x) = softmax(x - max(x)), and then every
    exponent is <= 0, so exp never overflows, and the largest term is exp(0) = 1, so the sum
    never underflows to 0.
    """
    exps = np.exp(x - x.max(axis=axis, keepdims=True))
    return exps / exps.sum(axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(softmax(x)) = (x - max) - log(sum(exp(x - max))), computed without exp overflow."""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

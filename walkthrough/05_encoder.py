# %% [markdown]
# # Chapter 5 — The encoder
#
# A LUKE encoder layer is a RoBERTa layer whose self-attention is entity-aware (chapter 4).
# Words and entities go through it as one sequence:
#
#     x = LayerNorm(x + dense(attention(x)))            attention sub-layer
#     x = LayerNorm(x + dense(gelu(dense(x))))          feed-forward sub-layer
#
# Every step is applied to each position separately except attention, the only place where
# tokens exchange information. We compute layer 0 in full by hand, follow the shapes through
# all layers, and end with the pooler. The code is `numpy_luke/core/encoder.py`.

# %%
import math

import _common
import numpy as np
from _common import show, table, title

from numpy_luke import LukeModel, LukeTokenizer
from numpy_luke.core import fast
from numpy_luke.core.attention import entity_aware_self_attention
from numpy_luke.core.encoder import encoder_layer, scope
from numpy_luke.core.erf import erf
from numpy_luke.core.functional import gelu, gelu_tanh, layer_norm, softmax

model_name = _common.model_name()
tokenizer = LukeTokenizer.from_pretrained(model_name)
model = LukeModel.from_pretrained(model_name)
config = model.config
print(model)

text = "Lionel Messi plays for Inter Miami CF."
spans = [(0, 12), (23, 37)]
encoding = tokenizer(text, entity_spans=spans, entities=["Lionel Messi", "Inter Miami CF"],
                     return_tensors="np")
out = model(**encoding, output_attentions=True, output_hidden_states=True)
words_in, entities_in = out.hidden_states[0], out.entity_hidden_states[0]
W = words_in.shape[1]

# %% [markdown]
# ## GELU, exactly
#
# The feed-forward network uses GELU, x·Φ(x) with Φ the normal distribution function,
# Φ(x) = (1 + erf(x/√2)) / 2. NumPy has no `erf`, so `core/erf.py` has one (next section).
# The popular tanh approximation is close but not the same function, and LUKE was trained
# with the exact one (`hidden_act` "gelu", transformers' exact erf GELU).
#
# **The formula.** LUKE adds no equation here: its layers are the transformer's (Vaswani et
# al. 2017), as in BERT and RoBERTa. The feed-forward network is the transformer's Eq. 2,
# FFN(x) = max(0, x W1 + b1) W2 + b2, with BERT's GELU in place of max(0, .)
# (Hendrycks and Gimpel 2016):
#
#     GELU(x) = x * Phi(x) = x * (1 + erf(x / sqrt(2))) / 2
#
# `gelu` below (`core/functional.py`) is that line; `gelu_tanh` is the approximation
# 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). The model runs `fast.gelu_`, the same
# function rearranged for speed (`core/fast.py`; the last section of this chapter).
#
# In the table, our erf(0) prints as `+0.000000000009` where `math.erf` gives exactly 0:
# that is the fitted polynomial's own error in float64 (the fit gives erfc(0) = 1 + 9.2e-12,
# and erf takes the sign of x, here +0, next section; the closing checks assert it is under
# 1e-11), not a rounding of the printout. For GELU it changes
# nothing: x * erf(...) is 0 at x = 0 anyway, and 1e-11 is far below float32's 1e-7.
#
# **What is checked, and where.** This chapter measures the largest gap to `math.erf` on
# 2,001 points of [-6, 6] (printed below: 9.2e-12) and asserts it is under 1e-10.
# `tests/core/test_functional.py` asserts the same 1e-10 on 100,001 points of [-10, 10] and 1e-7
# for any float64 in [-1e6, 1e6] (hypothesis); `tests/core/test_fast_primitives.py` asserts
# float32 GELU within 5 units in the last place (next section).

# %%
xs = np.linspace(-4, 4, 9)
table([(f"{x:+.1f}", f"{erf(np.float64(x)):+.12f}", f"{math.erf(x):+.12f}",
        f"{gelu(np.float64(x)):+.6f}", f"{gelu_tanh(np.float64(x)):+.6f}") for x in xs],
      header=("x", "our erf", "math.erf", "gelu", "tanh approx."))
grid = np.linspace(-6, 6, 2001)
erf_error = float(np.max(np.abs(erf(grid) - np.array([math.erf(x) for x in grid]))))
tanh_gap = float(np.max(np.abs(gelu(grid) - gelu_tanh(grid))))
show("max |erf - math.erf| on [-6, 6]", erf_error)
show("max |gelu - tanh approximation| on [-6, 6]", tanh_gap)

# %% [markdown]
# ## How `erf` is computed (`core/erf.py`)
#
# **float64: one formula on the whole line.** For z = |x| (erf is odd), following the
# form of Numerical Recipes (3rd ed., section 6.2.2):
#
#     t = 2 / (2 + z)                  z in [0, inf) becomes t in (0, 1]
#     erfc(z) = t * exp(-z**2 + P(t))   P: a polynomial of degree 16
#     erf(x)  = sign(x) * (1 - erfc(|x|))
#
# Why this form: erfc falls like exp(-z**2), far too fast for a polynomial to follow, so
# `exp(-z**2)` is written out and the polynomial fits only what is left,
# `log(erfc(z) / t) + z**2`, which is smooth and bounded for every z. The change of variable
# t squeezes the infinite half-line into (0, 1], so there are no intervals to switch between:
# one polynomial serves every x, and erfc of a large z keeps its relative precision (no
# 1 - erf cancellation). The 17 coefficients `ERFC_CHEBYSHEV` are the Chebyshev series of
# that function in u = 2t - 1, fitted by Chebyshev interpolation to values of
# Python's `math.erfc` (`tests/core/test_functional.py` refits them and compares to 1e-13);
# Chebyshev because its truncation error is spread evenly over the interval. The code runs
# the same polynomial in plain powers of u (`ERFC_POWERS`, converted once with
# `np.polynomial.chebyshev.cheb2poly`) by Horner's rule: two NumPy passes per coefficient
# instead of the three of Clenshaw's recurrence on the Chebyshev form, with the same
# accuracy (the power coefficients sum to 1.46 in absolute value, `ERFC_POWERS` in `core/erf.py`,
# so the conversion loses nothing). `fast.gelu_` computes GELU in float64 as
# 0.5 (x + |x| (1 - erfc(|x| / sqrt 2))), which is 0.5 x (1 + erf(x / sqrt 2)) without erf's
# sign step.
#
# **One erf, in float64**: a float32 input is computed in float64. (A float32 erf could cut
# the series after c_11: the terms from c_12 on are below 1e-8, under float32's resolution.
# float32 GELU does better still, next.)
#
# **float32 GELU has an erfc of its own** (`fast.half_x_erfc_float32`), because in float32 the
# form above fails for negative x: 0.5 (x + x erf(x / sqrt 2)) subtracts two nearly equal
# numbers and loses every digit below x = -4. It computes
#
#     GELU(x) = 0.5 (x + |x|) - 0.5 m erfc(m / sqrt 2),          m = |x|
#     0.5 m erfc(m / sqrt 2) = m / (m + K) * exp(Q(v) - m**2 / 2),  v = (m - K) / (m + K)
#
# with K = 3, so for x < 0 the first term is exactly 0 and nothing cancels. Again the
# exponential carries the decay and Q, a polynomial of degree 9 (`GELU_FLOAT32_CHEBYSHEV`,
# 10 coefficients, run as powers by Horner's rule), fits the smooth rest; v runs over
# [-1, 2/3] as m runs over [0, 15], and m is clamped at 15 (beyond it the result is below
# float32's smallest number). Q is within 3.4e-8 of the exact function (0.6 units in
# float32's last place; `core/fast.py`, refitted by `tests/core/test_fast_primitives.py`);
# float32 GELU is within 5 units in the last place of GELU at a point within one unit of x,
# on the whole line (`tests/core/test_fast_primitives.py`). It is there for speed as well:
# 32 NumPy passes instead of 37 (docs/performance.md).
#
# Below, both run from their coefficients by hand, in their Chebyshev form, and agree with
# the library.

# %%
from numpy_luke.core import erf as erf_module  # noqa: E402

z = np.linspace(0, 6, 601)
t = 2 / (2 + z)
P = np.polynomial.chebyshev.chebval(2 * t - 1, erf_module.ERFC_CHEBYSHEV)
erfc_by_hand = t * np.exp(-z**2 + P)
erf_by_hand = np.copysign(1 - erfc_by_hand, z)  # sign(x) (1 - erfc(|x|)), as erf() does
erf_by_hand_gap = float(np.abs(erf_by_hand - erf(z)).max())

m = np.linspace(0, 8, 801)
Q = np.polynomial.Chebyshev(fast.GELU_FLOAT32_CHEBYSHEV, domain=fast.GELU_FLOAT32_DOMAIN)
K = fast.GELU_FLOAT32_K
tail_by_hand = m / (m + K) * np.exp(Q((m - K) / (m + K)) - m**2 / 2)  # in float64
gelu32_by_hand = 0.5 * (-m + m) - tail_by_hand  # GELU(-m): the first term is exactly 0
gelu32 = fast.gelu_(-m.astype(np.float32)).astype(np.float64)
gelu32_gap = float(np.abs(gelu32 - gelu32_by_hand).max())
show("float64: max |sign(z) (1 - t exp(-z^2 + P(t))) - erf(z)| on [0, 6], P Chebyshev",
     erf_by_hand_gap)
show("float32 GELU(-m) on [0, 8]: max |library - m/(m+K) exp(Q(v) - m^2/2) by hand|",
     gelu32_gap)
show("float32 GELU(-6): library, exact",
     f"{float(fast.gelu_(np.array([-6.0], np.float32))[0]):.6e}, "
     f"{-6 * 0.5 * math.erfc(6 / math.sqrt(2)):.6e}")

# %% [markdown]
# ## Layer 0 in full, by hand
#
# **The formulas** (Vaswani et al. 2017, section 3.1: each sub-layer's output is
# LayerNorm(x + Sublayer(x)); layer norm of Ba et al. 2016, with RoBERTa's eps):
#
#     h   = LayerNorm(x + Dense(Attention(x)))      `after_attention` below
#     out = LayerNorm(h + W2 GELU(W1 h + b1) + b2)  `layer_out` below
#     LayerNorm(v) = (v - mean(v)) / sqrt(var(v) + eps) * gamma + beta   per vector
#
# Attention(x) is chapter 4's entity-aware attention (`context`), the only step that
# mixes positions.

# %%
p = scope(model.params, "encoder.layer.0.")
for key in sorted(p):
    if not key.startswith("attention.self."):
        print(f"  encoder.layer.0.{key:34s} {p[key].shape}")

word_context, entity_context, _ = entity_aware_self_attention(
    scope(p, "attention.self."), words_in, entities_in, None,
    num_heads=config.num_attention_heads)
x = np.concatenate([words_in, entities_in], axis=1)  # (batch, n, hidden)
context = np.concatenate([word_context, entity_context], axis=1)  # (batch, n, hidden)


def dense(name, inputs):
    return inputs @ p[name + ".dense.weight"].T + p[name + ".dense.bias"]


def norm(name, inputs):
    return layer_norm(inputs, p[name + ".LayerNorm.weight"], p[name + ".LayerNorm.bias"],
                      config.layer_norm_eps)


title("layer 0, step by step (batch, n = words + entities, features)")
after_attention = norm("attention.output", x + dense("attention.output", context))
print(f"  attention + dense + residual + LayerNorm   {after_attention.shape}")
inner = gelu(dense("intermediate", after_attention))  # encoder_layer: fast.gelu_(h)
print(f"  intermediate dense + GELU                  {inner.shape}")
layer_out = norm("output", after_attention + dense("output", inner))
print(f"  output dense + residual + LayerNorm        {layer_out.shape}")

library_words, library_entities, _ = encoder_layer(p, words_in, entities_in, None, config)
show("max |by hand - encoder_layer| (words)",
     float(np.abs(layer_out[:, :W] - library_words).max()))
show("max |by hand - model's hidden_states[1]|",
     float(np.abs(layer_out[:, :W] - out.hidden_states[1]).max()))
show("max |by hand - model's entity_hidden_states[1]|",
     float(np.abs(layer_out[:, W:] - out.entity_hidden_states[1]).max()))

# %% [markdown]
# Layer norm makes every output vector have mean 0 and variance 1 before its learned scale
# and shift; with the scale and shift undone, we can see it:

# %%
undone = (layer_out - p["output.LayerNorm.bias"]) / p["output.LayerNorm.weight"]
show("mean of each vector (first 5)", undone[0, :5].mean(axis=-1))
show("variance of each vector (first 5)", undone[0, :5].var(axis=-1))

# %% [markdown]
# ## All layers
#
# The output of a layer is the input of the next. `output_hidden_states=True` returns the
# embeddings and every layer's output (layers + 1 arrays); `output_attentions=True` returns
# each layer's attention probabilities.

# %%
title(f"{config.num_hidden_layers} layers")
rows = []
for i in range(config.num_hidden_layers + 1):
    name = "embeddings" if i == 0 else f"layer {i - 1}"
    attention = out.attentions[i - 1].shape if i else ""
    rows.append((name, out.hidden_states[i].shape, out.entity_hidden_states[i].shape,
                 attention))
table(rows, header=("after", "hidden_states", "entity_hidden_states", "attentions"))
show("last_hidden_state", out.last_hidden_state.shape)
show("entity_last_hidden_state", out.entity_last_hidden_state.shape)

# %% [markdown]
# Since words and entities attend to each other, entities now change the word outputs
# (in chapter 3 they did not change the word *embeddings*):

# %%
without = model(**tokenizer(text, return_tensors="np"))
entity_effect = float(np.abs(without.last_hidden_state - out.last_hidden_state).max())
show("max |word outputs with entities - without|", entity_effect)

# %% [markdown]
# ## The pooler
#
# Sentence-level heads (sequence classification, multiple choice) read one vector per text:
# the final vector of the first token `<s>`, through a dense layer and tanh. Our batch is
# padded on the right, so `<s>` is at index 0 in every row; in a left-padded row it comes
# after the padding, and `core/encoder.py`'s pooler reads it there (the first attended word),
# so the row answers as its text alone.

# %%
pooled = np.tanh(out.last_hidden_state[:, 0] @ model.params["pooler.dense.weight"].T
                 + model.params["pooler.dense.bias"])  # (batch, hidden)
show("pooler_output (batch, hidden)", out.pooler_output.shape)
show("first 6 numbers", out.pooler_output[0, :6])
show("max |by hand - pooler_output|", float(np.abs(pooled - out.pooler_output).max()))

# %% [markdown]
# ## What the layers run: `core/fast.py`
#
# This chapter computed with the formulas of `core/functional.py`. The layers call the
# forms of `core/fast.py` instead, as llm.c keeps `matmul_forward_naive` beside
# `matmul_forward`: the same functions, rearranged for speed, each saying which reference it
# equals and how closely (`tests/core/test_fast_primitives.py` asserts each one). `encoder_layer`
# names them: `fast.linear` (one 2-D product; the weight as BLAS's left operand for a few
# rows), `fast.layer_norm` (the variance as each row's dot product with itself), `fast.gelu_`
# (in cache-sized blocks, written over its input; in float32 with its own erfc) and, in
# attention, `fast.softmax_` (written over the score array). Here they are, against the
# formulas, on this chapter's own arrays:

# %%
h = dense("intermediate", after_attention)  # (batch, n, intermediate)
d = after_attention.shape[-1]
unit = np.finfo(h.dtype).eps
gelu_gap = float(np.abs(fast.gelu_(h.copy()) - gelu(h)).max())
norm_args = (p["output.LayerNorm.weight"], p["output.LayerNorm.bias"], config.layer_norm_eps)
norm_gap = float(np.abs(fast.layer_norm(layer_out, *norm_args)
                        - layer_norm(layer_out, *norm_args)).max())
dense_weight, dense_bias = p["intermediate.dense.weight"], p["intermediate.dense.bias"]
linear_gap = float(np.abs(fast.linear(after_attention, dense_weight, dense_bias) - h).max())
scores = np.random.default_rng(0).normal(0, 3, (1, 2, 5, 5)).astype(h.dtype)
softmax_same = np.array_equal(fast.softmax_(scores.copy()), softmax(scores))
x64 = np.linspace(-30, 30, 60_001)
gelu64_gap = float((np.abs(fast.gelu_(x64.copy()) - gelu(x64)) / np.maximum(np.abs(x64), 1))
                   .max())
show(f"max |fast.gelu_ - gelu| on the feed-forward array {h.shape}", gelu_gap)
show("max |fast.gelu_ - gelu| / max(|x|, 1), float64 on [-30, 30]", gelu64_gap)
show("max |fast.layer_norm - layer_norm| on layer 0's output", norm_gap)
show("max |fast.linear - x W^T - b| on the intermediate dense", linear_gap)
show("fast.softmax_ is the formula bit for bit", softmax_same)

# %% [markdown]
# ## Exercises
#
# Fill in a stub and run the chapter again: the last cell checks your answer (until then it
# checks the reference answer in `walkthrough/answers.py`).
#
# 1. `exercise_1(x)`: exact GELU for an array, using `math.erf` (hint: `np.vectorize`).
# 2. `exercise_2(p, x, eps)`: the feed-forward sub-layer of a layer, from its parameters
#    `p` (keys `intermediate.dense.weight`, `output.LayerNorm.bias`, ...):
#    LayerNorm(x + W2 GELU(W1 x + b1) + b2). Applied to `after_attention` it must give
#    the layer's output.

# %%


def exercise_1(x: np.ndarray) -> np.ndarray:
    raise NotImplementedError


def exercise_2(p: dict, x: np.ndarray, eps: float) -> np.ndarray:
    raise NotImplementedError


def check_exercise_1(answer):
    assert np.abs(answer(grid) - gelu(grid)).max() < 1e-9
    assert answer(np.array([0.0]))[0] == 0.0 and abs(answer(np.array([1.0]))[0] - 0.8413) < 1e-4


def check_exercise_2(answer):
    mine = answer(p, after_attention, config.layer_norm_eps)
    assert mine.shape == layer_out.shape
    assert np.abs(mine - layer_out).max() < (1e-4 if model.dtype == np.float32 else 1e-10)


# %% [markdown]
# ## What this chapter claimed, checked

# %%
tolerance = 1e-5 if model.dtype == np.float32 else 1e-12
# Our erf is math.erf within 1e-10 on [-6, 6] (as tests/core/test_functional.py asserts on
# [-10, 10]); exact GELU is not the tanh approximation.
assert erf_error < 1e-10
# erf(0) is not exactly 0: the fit's float64 error, under 1e-11 (see the GELU section).
assert 0 <= abs(float(erf(np.float64(0.0)))) < 1e-11
# The two forms, run by hand from their Chebyshev coefficients, are the library's: float64
# to rounding; float32 GELU within 1e-7 (a few float32 units in the last place of values
# up to 0.17, plus Q's own 3.4e-8 relative error).
assert erf_by_hand_gap < 1e-14
assert gelu32_gap < 1e-7
assert tanh_gap > 1e-4
# The forms the layers run equal the formulas: GELU within a few float32 units in the last
# place of values up to ~10 (float64: 4 eps |x|), layer norm within d eps, the product to
# its sum's rounding, softmax bit for bit.
assert gelu_gap < 8 * unit * max(1.0, float(np.abs(h).max()))
assert gelu64_gap <= 4 * 2.0**-52
assert norm_gap < d * unit * float(np.abs(layer_out).max() + 1)
assert linear_gap <= 2 * d * unit * float((np.abs(after_attention) @ np.abs(dense_weight).T
                                           + np.abs(dense_bias)).max())
assert softmax_same
# Layer 0 by hand equals the library's layer and the model's hidden states.
assert np.abs(layer_out[:, :W] - library_words).max() < tolerance
assert np.abs(layer_out[:, W:] - library_entities).max() < tolerance
assert np.abs(layer_out[:, :W] - out.hidden_states[1]).max() < tolerance
assert np.abs(layer_out[:, W:] - out.entity_hidden_states[1]).max() < tolerance
# Layer norm: mean 0, variance 1 before scale and shift.
assert np.abs(undone.mean(axis=-1)).max() < 1e-3
assert np.abs(undone.var(axis=-1) - 1).max() < 1e-2
# Shapes: layers + 1 hidden states, one attention map per layer, shapes kept throughout.
n = W + encoding["entity_ids"].shape[1]
assert len(out.hidden_states) == len(out.entity_hidden_states) == config.num_hidden_layers + 1
assert len(out.attentions) == config.num_hidden_layers
assert all(a.shape == (1, config.num_attention_heads, n, n) for a in out.attentions)
assert all(h.shape == (1, W, config.hidden_size) for h in out.hidden_states)
assert np.array_equal(out.hidden_states[-1], out.last_hidden_state)
assert np.array_equal(out.entity_hidden_states[-1], out.entity_last_hidden_state)
# Entities influence the word outputs through attention.
assert entity_effect > 100 * tolerance
# The pooler is tanh(dense(<s>)).
assert np.abs(pooled - out.pooler_output).max() < tolerance
assert np.all(np.abs(out.pooler_output) <= 1)
# The exercises: your answers when written, else the reference answers.
_common.check_exercises(globals(), chapter=5)
print("\nchapter 5: all checks passed")

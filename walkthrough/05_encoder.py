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
from numpy_luke.core.attention import entity_aware_self_attention
from numpy_luke.core.encoder import encoder_layer, scope
from numpy_luke.core.erf import erf
from numpy_luke.core.functional import gelu, gelu_tanh, layer_norm

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
# Φ(x) = (1 + erf(x/√2)) / 2. NumPy has no `erf`, so `core/erf.py` has one (a Chebyshev
# fit, within 1e-11 of `math.erf`). The popular tanh approximation is close but not the same
# function, and LUKE was trained with the exact one.
#
# **The formula.** LUKE adds no equation here: its layers are the transformer's (Vaswani et
# al. 2017), as in BERT and RoBERTa. The feed-forward network is the transformer's Eq. 2,
# FFN(x) = max(0, x W1 + b1) W2 + b2, with BERT's GELU in place of max(0, .)
# (Hendrycks and Gimpel 2016):
#
#     GELU(x) = x * Phi(x) = x * (1 + erf(x / sqrt(2))) / 2
#
# `gelu` below is that line; `gelu_tanh` is the approximation
# 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
#
# In the table, our erf(0) prints as `+0.000000000009` where `math.erf` gives exactly 0:
# that is the Chebyshev fit's own error in float64 (about 9e-12, inside the 1e-11 bound;
# the closing checks assert it), not a rounding of the printout. For GELU it changes
# nothing: x * erf(...) is 0 at x = 0 anyway, and 1e-11 is far below float32's 1e-7.

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
inner = gelu(dense("intermediate", after_attention))  # encoder_layer: gelu(h, out=h)
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
# ## Exercises
#
# Fill in a stub and run the chapter again: the last cell checks your answer (until then it
# checks the reference answer in `answers_01_08.py`).
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
# Our erf is math.erf; exact GELU is not the tanh approximation.
assert erf_error < 1e-9
# erf(0) is not exactly 0: the fit's float64 error, under 1e-11 (see the GELU section).
assert 0 <= abs(float(erf(np.float64(0.0)))) < 1e-11
assert tanh_gap > 1e-4
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

# %% [markdown]
# # Chapter 11 — Training the whole model in NumPy
#
# Chapter 10 trained one linear head on a frozen encoder, then, taking `loss_and_gradients`
# and AdamW as given, every parameter for 20 steps. Real fine-tuning updates every
# parameter: the embeddings, the four query matrices of each layer (chapter 4; `query`,
# `w2e_query`, `e2w_query`, `e2e_query` in transformers' `LukeSelfAttention`), the
# feed-forward layers, the head. That needs the gradient of the loss with respect to all of
# them, which PyTorch gets from autograd. numpy_luke derives each one by hand, in
# `numpy_luke/training/`, a mirror of the core's forward:
#
# * `training/backward.py`: the primitives' backward, one per forward in
#   `core/functional.py` (linear, layer norm, exact GELU, softmax, table lookups);
# * `training/encoder.py`: a *recording* forward of the embeddings, the entity-aware
#   attention, the layer and the pooler, each returning its output and a cache of what its
#   backward needs, and the backward functions that read those caches;
# * `training/heads.py`: each head's loss and its gradient, and `loss_and_gradients`.
#
# The inference path (`model(...)`, the pipelines) never enters these modules, so it keeps
# nothing and stays as fast as before. `tests/oracle/test_parity_backward.py` compares every
# gradient with torch autograd on transformers' own classes. Here we check one derivation
# ourselves, then fine-tune the tiny model end to end on a small entity-typing task.
#
# This chapter always uses the tiny fixture checkpoint (training the 12-layer luke-base,
# `num_hidden_layers` in its config.json, for a few dozen steps would take minutes on a
# CPU, an estimate unverified here; the code is the same).

# %%
import math
import warnings

import _common
import numpy as np
from _common import show, table

from numpy_luke import LukeForEntityClassification, LukeTokenizer
from numpy_luke.core.functional import layer_norm, softmax
from numpy_luke.training import AdamW, linear_warmup_decay
from numpy_luke.training.backward import layer_norm_backward, lookup_backward, softmax_backward

fixture = str(_common.FIXTURE)
tokenizer = LukeTokenizer.from_pretrained(fixture)

# %% [markdown]
# ## One derivation: layer norm
#
# Every layer ends with `y = xhat * g + b`, `xhat = (x - mean(x)) / sqrt(var(x) + eps)`
# over the hidden axis (chapter 5). Write `r = 1 / sqrt(var + eps)` and `d` for the axis
# length. `xhat_j` depends on every `x_i` of its row, through the mean and the variance:
#
#     d xhat_j / d x_i = r (delta_ij - 1/d - xhat_i xhat_j / d)
#
# so, with `dxhat = dy * g`, the chain rule sums to
#
#     dx = r (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
#
# and `dg = sum over rows of dy * xhat`, `db = sum over rows of dy`. We compare
# `layer_norm_backward` with central finite differences of `L = sum(dy * y)` in float64.

# %%
rng = np.random.default_rng(0)
x, g, b = rng.normal(size=(3, 8)) * 2 + 1, rng.normal(size=8), rng.normal(size=8)
dy = rng.normal(size=x.shape)
dx, dg, db = layer_norm_backward(dy, x, g, 1e-12)


def numeric(f, array, eps=1e-6):
    """Central differences of the scalar f() at every entry of ``array`` (in place)."""
    out = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        old = array[index]
        array[index] = old + eps
        up = f()
        array[index] = old - eps
        down = f()
        array[index] = old
        out[index] = (up - down) / (2 * eps)
    return out


def probe():
    return float(np.sum(dy * layer_norm(x, g, b, 1e-12)))


layer_norm_error = max(float(np.abs(dx - numeric(probe, x)).max()),
                       float(np.abs(dg - numeric(probe, g)).max()),
                       float(np.abs(db - numeric(probe, b)).max()))
show("max |hand - finite differences| (dx, dg, db)", layer_norm_error)
show("each row of dx sums to 0 (the mean is removed)", dx.sum(axis=-1))

# %% [markdown]
# ## A small typing dataset
#
# Sentences from two templates per type; the mention is the entity to type. The tokenizer's
# `task="entity_classification"` puts `<ent>` markers around the mention and one `[MASK]`
# entity at it (chapter 2). A second draw of the same templates is the dev set.

# %%
TYPES = ["person", "city", "club"]
NAMES = {"person": ["Lionel Messi", "Beyoncé", "Albert Einstein", "Marie Curie"],
         "city": ["Rosario", "Tokyo", "Paris", "Lagos"],
         "club": ["Inter Miami CF", "Real Madrid CF", "FC Barcelona", "Ajax"]}
TEMPLATES = {"person": ["{e} was born in spring.", "Yesterday {e} gave a talk."],
             "city": ["We flew to {e} last week.", "{e} has a busy harbour."],
             "club": ["{e} won the cup again.", "Fans of {e} sang all night."]}


def make_dataset(per_type=6, seed=0):
    """A tokenized batch and its label ids (examples,)."""
    r = np.random.default_rng(seed)
    texts, spans, labels = [], [], []
    for label, kind in enumerate(TYPES):
        for _ in range(per_type):
            name = NAMES[kind][r.integers(len(NAMES[kind]))]
            text = TEMPLATES[kind][r.integers(2)].format(e=name)
            start = text.index(name)
            texts.append(text)
            spans.append([(start, start + len(name))])
            labels.append(label)
    batch = tokenizer(texts, entity_spans=spans, task="entity_classification",
                      padding=True, return_tensors="np")
    return texts, batch, np.array(labels)


texts, train, y = make_dataset(seed=0)
_, dev, y_dev = make_dataset(seed=1)
table([(t, TYPES[label]) for t, label in zip(texts[::6], y[::6], strict=True)],
      header=("example sentence", "type"))
show("train batch input_ids (examples, words)", train["input_ids"].shape)

# %% [markdown]
# ## The whole model's gradient, checked
#
# `loss_and_gradients` returns the loss and one gradient per parameter, under the names of
# `model.state_dict()`. A few sampled entries of a few tensors, against finite differences
# of the model's own loss (float64; the head starts random, so the seed fixes it):

# %%
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the classifier starts random: a NewWeightsWarning
    model64 = LukeForEntityClassification.from_pretrained(
        fixture, num_labels=3, dtype=np.float64, seed=0)
loss64, gradients64 = model64.loss_and_gradients(**train, labels=y)
show("parameters with a gradient", len(gradients64))
rows = []
state = model64.state_dict()
for name in ("classifier.weight", "luke.encoder.layer.1.attention.self.e2w_query.weight",
             "luke.encoder.layer.0.intermediate.dense.bias",
             "luke.entity_embeddings.entity_embedding_dense.weight"):
    index = np.unravel_index(int(np.abs(gradients64[name]).argmax()), state[name].shape)
    array, old, eps = state[name], state[name][index], 1e-6
    array[index] = old + eps
    up = float(model64(**train, labels=y).loss)
    array[index] = old - eps
    down = float(model64(**train, labels=y).loss)
    array[index] = old
    rows.append((name, float(gradients64[name][index]), (up - down) / (2 * eps)))
table(rows, header=("parameter (largest entry)", "hand gradient", "finite difference"))
model_gradient_error = max(abs(hand - fd) for _, hand, fd in rows)

# %% [markdown]
# ## Fine-tuning, end to end
#
# AdamW, as `torch.optim.AdamW` computes it, with the schedule LUKE's fine-tuning used
# (linear warmup, then linear decay to 0: `get_linear_schedule_with_warmup` in
# studio-ousia/luke's `examples/legacy/utils/trainer.py`, `custom_linear_with_warmup` in the
# newer `examples/*/configs`; the rates 3e-3 and 0.01 and the 40 steps are this chapter's),
# and dropout on (a NumPy generator draws the masks; `model(...)` itself never drops
# anything). Full-batch steps in float32.

# %%
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    model = LukeForEntityClassification.from_pretrained(fixture, num_labels=3, seed=0)
dev_before = float(model(**dev, labels=y_dev).loss)
optimizer = AdamW(model, lr=3e-3, weight_decay=0.01)
dropout = np.random.default_rng(0)
steps, history = 40, []
for step in range(steps):
    loss, gradients = model.loss_and_gradients(**train, labels=y, dropout_rng=dropout)
    optimizer.lr = 3e-3 * linear_warmup_decay(step + 1, warmup_steps=4, total_steps=steps)
    optimizer.step(gradients)
    history.append(float(loss))
table([(step, history[step]) for step in range(0, steps, 5)], header=("step", "train loss"))
dev_after = float(model(**dev, labels=y_dev).loss)
accuracy = float((model(**dev).logits.argmax(-1) == y_dev).mean())
show("dev loss before -> after", (round(dev_before, 4), round(dev_after, 4)))
show("dev accuracy", accuracy)

# %% [markdown]
# ## Exercises
#
# 1. `exercise_1(p, dp)`: the backward of `p = softmax(s)` over the last axis: given the
#    probabilities `p` and the gradient `dp`, return `ds`.
# 2. `exercise_2(dy, ids, rows)`: the gradient of an embedding table (rows, width) from
#    `y = table[ids]` and `dy`; ids may repeat.


# %%
def exercise_1(p, dp):
    """ds, the shape of p."""
    raise NotImplementedError  # your answer here


def exercise_2(dy, ids, rows):
    """dtable (rows, width)."""
    raise NotImplementedError  # your answer here


def check_exercise_1(solve):
    r = np.random.default_rng(5)
    s, dp = r.normal(size=(2, 3, 5)), r.normal(size=(2, 3, 5))
    p = softmax(s.copy())
    assert np.allclose(solve(p, dp), softmax_backward(dp, p), atol=1e-12)


def check_exercise_2(solve):
    r = np.random.default_rng(6)
    ids, dy = np.array([[2, 0, 2], [4, 2, 1]]), r.normal(size=(2, 3, 4))
    assert np.allclose(solve(dy, ids, 5), lookup_backward(dy, ids, 5), atol=1e-12)


# %% [markdown]
# ## What this chapter claimed, checked

# %%
# The layer-norm derivation equals finite differences (float64), and removes the mean.
assert layer_norm_error < 1e-6 and np.abs(dx.sum(axis=-1)).max() < 1e-10
# The whole model's gradient: one per parameter read by the loss (the pooler, unused by
# the entity head, has none), equal to finite differences on the sampled entries.
assert "luke.pooler.dense.weight" not in gradients64
assert len(gradients64) == len(state) - 2
assert model_gradient_error < 1e-6 * max(1.0, max(abs(h) for _, h, _ in rows))
assert math.isclose(loss64, float(model64(**train, labels=y).loss), rel_tol=1e-12)
# Training lowers the training loss and the dev loss.
assert history[-1] < 0.25 * history[0], (history[0], history[-1])
assert dev_after < 0.5 * dev_before, (dev_before, dev_after)
print()
_common.check_exercises(globals(), chapter=11)
print("\nchapter 11: all checks passed")

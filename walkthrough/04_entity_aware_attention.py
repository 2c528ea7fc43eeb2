# %% [markdown]
# # Chapter 4 — Entity-aware self-attention
#
# Words and entities enter the encoder as **one** sequence of n = words + entities vectors.
# Self-attention lets every token look at every other. LUKE changes one thing: the *query*
# projection depends on which kinds of tokens meet. There are four query matrices,
#
# |                | keys of words | keys of entities |
# | --- | --- | --- |
# | word queries   | `query` (w2w) | `w2e_query` |
# | entity queries | `e2w_query`   | `e2e_query` |
#
# while keys and values are shared by all tokens. So each head's (n, n) score matrix is made
# of four blocks. The code is `numpy_luke/core/attention.py`; the equations with all shapes are in
# `docs/entity-aware-attention.md`.

# %%
import dataclasses
import math

import _common
import numpy as np
from _common import show, title

from numpy_luke import LukeModel, LukeTokenizer
from numpy_luke.core import fast
from numpy_luke.core.attention import (
    entity_aware_self_attention,
    extended_attention_mask,
    merge_heads,
    split_heads,
)
from numpy_luke.core.encoder import scope

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

# The input of layer 0 is the embeddings of chapter 3.
words_in = out.hidden_states[0]  # (batch, words, hidden)
entities_in = out.entity_hidden_states[0]  # (batch, entities, hidden)
W, E = words_in.shape[1], entities_in.shape[1]
heads = config.num_attention_heads
head_size = config.hidden_size // heads
show("words, entities, heads, head size", (W, E, heads, head_size))

# %% [markdown]
# ## The projections of layer 0
#
# Six linear maps of size (hidden, hidden): key, value, and the four queries.

# %%
p = scope(model.params, "encoder.layer.0.attention.self.")
for name in ("query", "w2e_query", "e2w_query", "e2e_query", "key", "value"):
    print(f"  {name:10s} weight {p[name + '.weight'].shape}  bias {p[name + '.bias'].shape}")


def project(x, name):
    """(batch, m, hidden) -> (batch, heads, m, head_size): a linear map, then split heads."""
    return split_heads(x @ p[name + ".weight"].T + p[name + ".bias"], heads)


# %% [markdown]
# ## The four blocks of the score matrix, by hand
#
# Keys are computed once for all n tokens and then split into word keys and entity keys.
# Each block multiplies one kind of query with one kind of key.

# %%
both = np.concatenate([words_in, entities_in], axis=1)  # (batch, n, hidden)
keys = project(both, "key")  # (batch, heads, n, head_size)
values = project(both, "value")  # (batch, heads, n, head_size)
word_keys, entity_keys = keys[:, :, :W], keys[:, :, W:]

w2w = project(words_in, "query") @ word_keys.swapaxes(-1, -2)
w2e = project(words_in, "w2e_query") @ entity_keys.swapaxes(-1, -2)
e2w = project(entities_in, "e2w_query") @ word_keys.swapaxes(-1, -2)
e2e = project(entities_in, "e2e_query") @ entity_keys.swapaxes(-1, -2)
title("blocks (batch, heads, queries, keys)")
for name, block in [("w2w", w2w), ("w2e", w2e), ("e2w", e2w), ("e2e", e2e)]:
    print(f"  {name}: {block.shape}")

scores = np.block([[w2w, w2e], [e2w, e2e]]) / math.sqrt(head_size)  # (batch, heads, n, n)
show("scores of head 0, rows of the two entities, first 6 keys", scores[0, 0, W:, :6])

# %% [markdown]
# ## Softmax and the weighted sum of values
#
# Each row of scores becomes probabilities with a softmax *over all n keys at once*: a word
# spreads its attention over words and entities together. The context vectors are the
# probability-weighted sums of the shared values; heads are joined again.

# %%
probs = np.exp(scores - scores.max(axis=-1, keepdims=True))
probs /= probs.sum(axis=-1, keepdims=True)  # (batch, heads, n, n)
context = merge_heads(probs @ values)  # (batch, n, hidden)
show("row sums of the probabilities (head 0)", probs[0, 0].sum(axis=-1)[:5])
# The library runs `fast.softmax_` (core/fast.py): these same operations, written over its
# own score array instead of new ones, so the same bits.
softmax_same = np.array_equal(fast.softmax_(scores.copy()), probs)
show("fast.softmax_(scores) equals this softmax bit for bit", softmax_same)
show("attention that word 1 gives to the entities, per head", probs[0, :, 1, W:])

library_words, library_entities, library_probs = entity_aware_self_attention(
    p, words_in, entities_in, None, num_heads=heads)
show("max |by hand - library| (probabilities)", float(np.abs(probs - library_probs).max()))
show("max |by hand - model's attentions[0]|", float(np.abs(probs - out.attentions[0]).max()))
show("max |by hand - library| (context)",
     float(np.abs(context - np.concatenate([library_words, library_entities], 1)).max()))

# %% [markdown]
# ![attention maps](../docs/figures/attention_blocks.png)
#
# The picture (`docs/figures/attention_blocks.png`) shows head 0 of layer 0 of the fixture
# model with the four blocks marked; its right half is the padded example below.
#
# The command line draws the same four blocks for any text, layer and head:
# `python -m numpy_luke attention "[[Lionel Messi]] plays for [[Inter Miami CF]]." --layer 1
# --output attention.png` (or `--json` for the numbers). Layer 1, mean of the heads:
#
# ![the attention command](../docs/figures/attention_command.png)

# %%
plt = _common.try_matplotlib()
if plt is not None:
    import make_figures

    fig, ax = plt.subplots(figsize=(7.5, 7.5))
    word_labels = tokenizer.convert_ids_to_tokens(encoding["input_ids"][0].tolist())
    make_figures.draw_attention(ax, probs[0, 0], word_labels, ["[Lionel Messi]",
                                "[Inter Miami CF]"], "layer 0, head 0")
    print("drew the attention map:", _common.save_figure(fig, "attention_layer0_head0"))

# %% [markdown]
# ## The mask
#
# In a batch, shorter texts are padded. The attention mask (1 = real, 0 = padding) of words
# and of entities is joined into one mask over the n keys and turned into an *additive*
# mask: 0 for real keys, the most negative float for padding. After the softmax, padded keys
# get probability exactly 0, so padding cannot change what real tokens compute.

# %%
batch = tokenizer(["Messi plays in Miami.", text], entity_spans=[[(0, 5)], spans],
                  entities=[["Lionel Messi"], ["Lionel Messi", "Inter Miami CF"]],
                  padding=True, return_tensors="np")
mask = extended_attention_mask(batch["attention_mask"], batch["entity_attention_mask"])
show("attention_mask of the short text", batch["attention_mask"][0])
show("entity_attention_mask of the short text", batch["entity_attention_mask"][0])
show("additive mask shape (batch, 1, 1, n)", mask.shape)
print("  the short text's row, with min = finfo(float32).min =", np.finfo(mask.dtype).min)
print("  " + " ".join("0" if value == 0 else "min" for value in mask[0, 0, 0]))
padded_out = model(**batch, output_attentions=True)
padded_probs = padded_out.attentions[0][0]  # (heads, n, n) of the short text
keep = np.concatenate([batch["attention_mask"][0], batch["entity_attention_mask"][0]]) == 1
show("largest probability on a padded key", float(padded_probs[..., ~keep].max()))
alone = model(**tokenizer("Messi plays in Miami.", entity_spans=[(0, 5)],
                          entities=["Lionel Messi"], return_tensors="np"))
words_short = int(batch["attention_mask"][0].sum())
difference = np.abs(padded_out.last_hidden_state[0, :words_short]
                    - alone.last_hidden_state[0]).max()
show("max |padded - alone| of the short text's word outputs", float(difference))

# %% [markdown]
# ## Face one: equal queries give ordinary attention (the pretrained checkpoints)
#
# If the four query matrices are the same, every block uses the same queries, and the score
# matrix is the plain `Q K^T` of ordinary self-attention over the joint sequence, cut into
# four pieces. This is the state of the published pretrained checkpoints
# (`studio-ousia/luke-base`, `luke-large`): LUKE was *pre-trained with ordinary
# self-attention* (one `query` matrix), and transformers' conversion script
# (`convert_luke_original_pytorch_checkpoint_to_pytorch.py`) copies `query.weight` and
# `query.bias` into `w2e_query`, `e2w_query` and `e2e_query` of every layer when it writes
# the checkpoint, so that fine-tuning with entity-aware attention starts from the
# pre-trained query. On these checkpoints entity-aware attention gives exactly the numbers
# of plain attention.
#
# We check it twice: on this checkpoint's own queries (equal on luke-base and on the
# stand-in with its layout; different on the tiny fixture, whose queries were drawn at
# random independently), and on a copy of layer 0 with `query` copied into the other three,
# compared with the plain path (`use_entity_aware_attention=False`, `query` for every
# token).

# %%
QUERIES = ("w2e_query", "e2w_query", "e2e_query")


def queries_equal(params, layer):
    """True when layer ``layer``'s three entity queries are exact copies of ``query``."""
    s = f"encoder.layer.{layer}.attention.self."
    return all(np.array_equal(params[f"{s}{name}.{part}"], params[f"{s}query.{part}"])
               for name in QUERIES for part in ("weight", "bias"))


own_equal = all(queries_equal(model.params, layer) for layer in range(config.num_hidden_layers))
show("this checkpoint's three queries are copies of `query` in every layer", own_equal)

equal = dict(p)
for name in QUERIES:
    equal[name + ".weight"], equal[name + ".bias"] = p["query.weight"], p["query.bias"]
aware = entity_aware_self_attention(equal, words_in, entities_in, None, num_heads=heads)
plain = entity_aware_self_attention(equal, words_in, entities_in, None, num_heads=heads,
                                    use_entity_aware_attention=False)
gap_equal = max(float(np.abs(a - b).max()) for a, b in zip(aware, plain, strict=True))
real_plain = entity_aware_self_attention(p, words_in, entities_in, None, num_heads=heads,
                                         use_entity_aware_attention=False)
gap_real = float(np.abs(real_plain[2] - library_probs).max())
show("queries made equal: max |entity-aware - plain|", gap_equal)
show("the checkpoint's own queries: max |entity-aware - plain| (probabilities)", gap_real)

# %% [markdown]
# ## Face two: a fine-tuned checkpoint has learned, different queries
#
# Fine-tuning with entity-aware attention (the Open Entity, TACRED and CoNLL-2003
# checkpoints) trains the three matrices, and they move apart from `query`. We imitate that
# in memory: every layer's `w2e`, `e2w` and `e2e` query becomes `query` plus noise of half
# its own spread (`benchmarks/make_lukebase_standin.py` has the same function,
# `fine_tuned_queries`). Then we look at layer 0 block by block. The word-to-word block
# still uses `query`, so its scores do not move at all; the three other blocks do. The
# probabilities of *every* row move, word rows included, because one softmax runs over
# words and entities together: a word's w2e scores change, so its share for the words
# changes too. Through the later layers the change reaches every output vector.

# %%
def fine_tune_style(params, seed=1, scale=0.5):
    """A copy of ``params`` whose entity queries moved away from ``query`` (new arrays for
    those; every other parameter is shared)."""
    rng = np.random.default_rng(seed)
    out = dict(params)
    for layer in range(config.num_hidden_layers):
        s = f"encoder.layer.{layer}.attention.self."
        for name in QUERIES:
            for part in ("weight", "bias"):
                base = params[f"{s}query.{part}"]
                noise = rng.standard_normal(base.shape) * float(np.std(base)) * scale
                out[f"{s}{name}.{part}"] = (base + noise).astype(base.dtype)
    return out


tuned_model = LukeModel.from_state_dict(fine_tune_style(model.params), config,
                                        dtype=model.dtype)
plain_params = {key: value for key, value in model.params.items()
                if not key.endswith(tuple(f"{name}.{part}" for name in QUERIES
                                          for part in ("weight", "bias")))}
plain_model = LukeModel.from_state_dict(
    plain_params, dataclasses.replace(config, use_entity_aware_attention=False),
    dtype=model.dtype)
tuned_out = tuned_model(**encoding, output_attentions=True)
plain_out = plain_model(**encoding, output_attentions=True)
pt = scope(tuned_model.params, "encoder.layer.0.attention.self.")


def blocks(params):
    """Layer 0's four score blocks for this input, with the given projections."""
    def proj(x, name):
        return split_heads(x @ params[name + ".weight"].T + params[name + ".bias"], heads)
    k = proj(both, "key")
    wk, ek = k[:, :, :W], k[:, :, W:]
    return {"w2w": proj(words_in, "query") @ wk.swapaxes(-1, -2),
            "w2e": proj(words_in, "w2e_query") @ ek.swapaxes(-1, -2),
            "e2w": proj(entities_in, "e2w_query") @ wk.swapaxes(-1, -2),
            "e2e": proj(entities_in, "e2e_query") @ ek.swapaxes(-1, -2)}


plain_blocks, tuned_blocks = blocks(equal), blocks(pt)
block_change = {name: float(np.abs(tuned_blocks[name] - plain_blocks[name]).max())
                for name in plain_blocks}
title("fine-tuned-style queries against plain attention, layer 0")
for name, change in block_change.items():
    print(f"  max |score change| in the {name} block: {change:.6f}")
gap_tuned = float(np.abs(tuned_out.attentions[0] - plain_out.attentions[0]).max())
word_rows_moved = float(np.abs(tuned_out.attentions[0][:, :, :W]
                               - plain_out.attentions[0][:, :, :W]).max())
output_moved = float(np.abs(tuned_out.last_hidden_state - plain_out.last_hidden_state).max())
show("max |probability change| over all rows", gap_tuned)
show("... over the word rows only", word_rows_moved)
show("max |change| of the last layer's word vectors", output_moved)
plain_matches_pretrained = float(np.abs(plain_out.last_hidden_state
                                        - out.last_hidden_state).max())
show("plain model vs this checkpoint (entity-aware), last word vectors",
     plain_matches_pretrained)

# %% [markdown]
# ## What this chapter claimed, checked

# %%
tolerance = 1e-5 if model.dtype == np.float32 else 1e-12
# The score matrix has the 2x2 block structure, n = words + entities.
assert w2w.shape[-2:] == (W, W) and w2e.shape[-2:] == (W, E)
assert e2w.shape[-2:] == (E, W) and e2e.shape[-2:] == (E, E)
assert scores.shape == (1, heads, W + E, W + E)
# The hand computation is the library's and the model's layer 0.
assert np.abs(probs - library_probs).max() < tolerance
assert softmax_same  # the in-place softmax the library runs is the formula, bit for bit
assert np.abs(probs - out.attentions[0]).max() < tolerance
assert np.abs(context[:, :W] - library_words).max() < tolerance
assert np.abs(context[:, W:] - library_entities).max() < tolerance
# One softmax over words and entities together: each row sums to 1 over all n keys.
assert np.allclose(probs.sum(axis=-1), 1, atol=1e-6)
# Padded keys get probability 0; padding does not change the real tokens' outputs.
assert float(padded_probs[..., ~keep].max()) == 0.0
assert mask[0, 0, 0, keep].max() == 0 and mask[0, 0, 0, ~keep].max() < -1e30
assert difference < 1e-4
# Face one: equal queries make entity-aware attention plain attention. A checkpoint with
# the pretrained layout (luke-base, its stand-in) has them equal, and then the whole model
# computes what the plain model computes; the fixture's queries differ.
assert gap_equal < tolerance
if own_equal:
    assert gap_real < tolerance and plain_matches_pretrained < 100 * tolerance
else:
    assert gap_real > 100 * tolerance
# Face two: learned, different queries change the w2e, e2w and e2e blocks (w2w stays: it
# uses `query`), every row's probabilities, and the outputs.
assert block_change["w2w"] == 0.0
assert min(block_change[name] for name in ("w2e", "e2w", "e2e")) > 100 * tolerance
assert gap_tuned > 100 * tolerance and word_rows_moved > 100 * tolerance
assert output_moved > 100 * tolerance
print("\nchapter 4: all checks passed")

# %% [markdown]
# ## The paper's equations, in this chapter's names
#
# The LUKE paper (Yamada et al. 2020, section "Entity-aware Self-attention") first writes
# the transformer's self-attention over the input vectors x_1, ..., x_n (the section's
# first display; here in our notation):
#
#     e_ij = (K x_j)^T (Q x_i) / sqrt(L)        L: the head size (`head_size` above)
#     a_ij = softmax over j of e_ij              one softmax per row, over all n tokens
#     y_i  = sum over j of a_ij V x_j
#
# and then makes the query depend on the two tokens' kinds (the section's second display):
#
#     e_ij = (K x_j)^T (Q     x_i) / sqrt(L)   if x_i and x_j are words        (w2w)
#            (K x_j)^T (Q_w2e x_i) / sqrt(L)   if x_i is a word, x_j an entity (w2e)
#            (K x_j)^T (Q_e2w x_i) / sqrt(L)   if x_i is an entity, x_j a word (e2w)
#            (K x_j)^T (Q_e2e x_i) / sqrt(L)   if both are entities            (e2e)
#
# In the code above: `w2w`, `w2e`, `e2w`, `e2e` are the four cases (for every head at once),
# `scores` is e, `probs` is a (the softmax runs over the joined rows), and `context` is y
# before the heads are merged. K and V (`key`, `value`) are shared by all four cases.
#
# ## Exercises
#
# Fill in a stub and run the chapter again: the last cell checks your answer (until then it
# checks the reference answer in `walkthrough/answers.py`).
#
# 1. `exercise_1(p, words, entities, heads)`: the four cases and the softmax, from scratch: the
#    attention probabilities (batch, heads, n, n) of one layer without a mask, from its
#    parameters `p` (keys `query.weight`, `w2e_query.bias`, ...).
# 2. `exercise_2(probs, words)`: how much attention words give to entities: the sum of
#    each word row over the entity columns (the w2e block), averaged over heads and words.

# %%

from numpy_luke.core.encoder import scope as _scope  # noqa: E402


def exercise_1(p: dict, words: np.ndarray, entities: np.ndarray, heads: int) -> np.ndarray:
    raise NotImplementedError


def exercise_2(probs: np.ndarray, words: int) -> float:
    raise NotImplementedError


_encoding = tokenizer("Lionel Messi plays for Inter Miami CF.", entity_spans=[(0, 12), (23, 37)],
                      return_tensors="np")
_out = model(**_encoding, output_attentions=True, output_hidden_states=True)
_W = _encoding["input_ids"].shape[1]


def check_exercise_1(answer):
    for layer in range(model.config.num_hidden_layers):
        params = _scope(model.params, f"encoder.layer.{layer}.attention.self.")
        mine = answer(params, _out.hidden_states[layer], _out.entity_hidden_states[layer],
                      model.config.num_attention_heads)
        assert np.abs(mine - _out.attentions[layer]).max() < 1e-5, layer


def check_exercise_2(answer):
    for probs in _out.attentions:
        share = float(probs[0, :, :_W, _W:].sum(axis=-1).mean())
        assert abs(answer(probs, _W) - share) < 1e-9 and 0 < share < 1
    uniform = np.full((1, 2, 5, 5), 0.2)
    assert abs(answer(uniform, 3) - 0.4) < 1e-12  # 3 words, 2 entities: 2/5 to entities


_common.check_exercises(globals(), chapter=4)
print("\nchapter 4: exercises checked; all checks passed")

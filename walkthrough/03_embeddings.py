# %% [markdown]
# # Chapter 3 — Embeddings
#
# The encoder reads vectors, not ids. Words and entities each have their own embedding
# (`numpy_luke/core/embeddings.py`); both end in a layer norm, and then the two sequences meet
# in the encoder (chapter 4).
#
# * word vector = LayerNorm(word table[id] + position table[position] + type table[type])
# * entity vector = LayerNorm(project(entity table[id]) + mean of position table[positions]
#   + type table[type])
#
# We recompute both by hand from the checkpoint's parameter arrays and check that the
# library gives the same numbers.

# %%
import _common
import numpy as np
from _common import show

from numpy_luke import LukeModel, LukeTokenizer
from numpy_luke.core.embeddings import (
    create_position_ids_from_input_ids,
    entity_embeddings,
    word_embeddings,
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
input_ids = encoding["input_ids"]  # (batch, words)
entity_ids = encoding["entity_ids"]  # (batch, entities)
entity_position_ids = encoding["entity_position_ids"]  # (batch, entities, mention)

# %% [markdown]
# ## The parameters
#
# `model.params` is a plain dict from checkpoint key names to arrays. The embedding tables:

# %%
for key, array in model.params.items():
    if key.startswith(("embeddings.", "entity_embeddings.")):
        print(f"  {key:50s} {array.shape}")

# %% [markdown]
# ## Words: token + position + token type, then layer norm
#
# RoBERTa (and so LUKE) counts positions from `pad_token_id + 1` = 2: the first token has
# position 2, and padding tokens get position 1 (`pad_token_id`), whose vector is never
# really used. The numbering is fairseq's, in which RoBERTa was trained (transformers
# reproduces it in `create_position_ids_from_input_ids`, `modeling_luke.py`); it is why
# roberta-base's and luke-base's `max_position_embeddings` is 514 (their `config.json`): 512 usable
# positions plus rows 0 and 1. LUKE keeps it because its word side *is* RoBERTa's: the word,
# position and type tables are copied from roberta-base before pretraining (chapter 9). Token types
# are all 0 for one text: roberta-base, and so luke-base, has one token type
# (`type_vocab_size` 1 in both `config.json` files), a single learned vector added to every word.
#
# **The formula** (LUKE paper, section "Input Representation", which states it in words;
# the sum is BERT's, Devlin et al. 2019): for word i with id w_i, position p_i and type 0,
#
#     x_i = LayerNorm(A[w_i] + C[p_i] + T[0])          A, C, T: the three tables below
#
# with RoBERTa's positions p_i = pad + (number of non-pad tokens up to and including i).
# In the code: `summed` is the sum, `layer_norm_by_hand` the LayerNorm.

# %%
positions = create_position_ids_from_input_ids(input_ids, config.pad_token_id)
show("input_ids", input_ids)
show("position ids", positions)
padded = np.array([[0, 250, 251, 2, 1, 1]])
show("position ids of a padded row [<s> a b </s> <pad> <pad>]",
     create_position_ids_from_input_ids(padded, config.pad_token_id))


def layer_norm_by_hand(x, weight, bias, eps):
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + eps) * weight + bias


p = model.params
summed = (
    p["embeddings.word_embeddings.weight"][input_ids]  # (batch, words, hidden)
    + p["embeddings.position_embeddings.weight"][positions]
    + p["embeddings.token_type_embeddings.weight"][np.zeros_like(input_ids)]
)
words_by_hand = layer_norm_by_hand(summed, p["embeddings.LayerNorm.weight"],
                                   p["embeddings.LayerNorm.bias"], config.layer_norm_eps)
words_library = word_embeddings(scope(p, "embeddings."), input_ids,
                                pad_token_id=config.pad_token_id,
                                layer_norm_eps=config.layer_norm_eps)
show("word vectors (batch, words, hidden)", words_by_hand.shape)
show("first 6 numbers of the <s> vector", words_by_hand[0, 0, :6])
# (`word_embeddings` runs `fast.layer_norm`: this formula, with the variance summed in one
# pass; core/fast.py says how closely the two agree, within d eps, and why.)
show("max |by hand - library|", float(np.abs(words_by_hand - words_library).max()))

# %% [markdown]
# ## Entities: a small vector, projected up
#
# An entity's own vector has `entity_emb_size` numbers (256 in luke-base's `config.json`, 16 in the
# fixture's): with 500,000 entities, a full 768-wide table would cost three times the memory.
# A matrix without bias, `entity_embedding_dense`, lifts it to `hidden_size`.
#
# **The formula** (paper, "Input Representation": the entity token embedding is decomposed
# into two small matrices): the table B (entity vocabulary x entity_emb_size) and the
# projection U (hidden x entity_emb_size) give entity k's token embedding `U B[e_k]`.
# In the code, `small` is B[e_k] and `projected` is `small @ dense.T`.

# %%
small = p["entity_embeddings.entity_embeddings.weight"][entity_ids]  # (batch, entities, emb)
show("entity table rows (batch, entities, entity_emb_size)", small.shape)
if "entity_embeddings.entity_embedding_dense.weight" in p:
    dense = p["entity_embeddings.entity_embedding_dense.weight"]  # (hidden, emb)
    projected = small @ dense.T  # (batch, entities, hidden)
    show(f"projected with entity_embedding_dense {dense.shape}", projected.shape)
else:
    projected = small  # entity_emb_size == hidden_size: no projection
    print("entity_emb_size == hidden_size: no projection")

# %% [markdown]
# ## Entities: the position is the mention's average position
#
# An entity has no position of its own: it sits where its mention sits. Its position vector
# is the **mean** of the position vectors of the word tokens its mention covers (from the
# entity's own position table, `entity_embeddings.position_embeddings`). The -1 entries of
# `entity_position_ids` are padding and are left out of the mean.
#
# Note the numbering: `entity_position_ids` are plain token indices (`<s>` is 0), used
# directly as rows of the entity position table — not RoBERTa's word positions, which start
# at 2. The two tables are separate parameters, learned each with its own numbering. Where
# the entity numbering comes from (studio-ousia/luke's pretraining code): the dataset stores
# each link's token range within the text (`luke/pretraining/dataset.py`, 0 = first word
# token), and the batch generator adds 1 for the leading `<s>`
# (`entity_position_ids += entity_position_ids != -1  # +1 for [CLS]` in
# `batch_generator.py`), so position k is token k. The entity position table
# (`EntityEmbeddings.position_embeddings` in `luke/model.py`, as many rows as
# `max_position_embeddings`) is LUKE's own: RoBERTa's checkpoint has no such table, so it
# starts random (normal, standard deviation `initializer_range` 0.02 from roberta-base's config,
# `init_weights` in `luke/model.py`) and is learned in
# pretraining's first stage with the rest of the entity side (chapter 9). Nothing ties it
# to RoBERTa's offset, and nothing needed to: the two tables never share rows. (The same
# in studio-ousia/luke's code of March 2020, commit 13910a3; transformers' tokenizer makes
# the same token indices.) The last two rows of a 514-row entity table are never used by
# a 512-token text.
#
# The entity token type vector (`entity_embeddings.token_type_embeddings`, one row in
# luke-base) is added to every entity, whatever its id: a learned offset for "this is an
# entity" before the layer norm, trained in stage 1 with the entity table. With one type it
# cannot tell entities apart; a task that wanted two kinds of entity (or two segments)
# would need a second row, which the published checkpoints do not have. (The word side's
# single row comes from roberta-base.)
#
# **The formula** (paper, "Input Representation"): for entity k whose mention covers the
# word positions P_k (the row of `entity_position_ids` without its -1s), with D the entity
# position table and T_e the entity type table,
#
#     y_k = LayerNorm(U B[e_k] + (1/|P_k|) * sum over i in P_k of D[i] + T_e[0])
#
# In the code: `mean` is the average of D, `entities_by_hand` the whole y_k.

# %%
table_e = p["entity_embeddings.position_embeddings.weight"]
by_hand_positions = []
for k, row in enumerate(entity_position_ids[0]):
    used = row[row != -1]
    mean = table_e[used].mean(axis=0)  # (hidden,)
    by_hand_positions.append(mean)
    print(f"  entity {k}: mean of {len(used)} position vectors (positions {used.tolist()})")
    print(f"    first 6 numbers: {mean[:6]}")
position_vectors = np.stack(by_hand_positions)[None]  # (batch, entities, hidden)

entities_by_hand = layer_norm_by_hand(
    projected + position_vectors
    + p["entity_embeddings.token_type_embeddings.weight"][np.zeros_like(entity_ids)],
    p["entity_embeddings.LayerNorm.weight"], p["entity_embeddings.LayerNorm.bias"],
    config.layer_norm_eps,
)
entities_library = entity_embeddings(scope(p, "entity_embeddings."), entity_ids,
                                     entity_position_ids, layer_norm_eps=config.layer_norm_eps)
show("entity vectors (batch, entities, hidden)", entities_by_hand.shape)
show("max |by hand - library|", float(np.abs(entities_by_hand - entities_library).max()))

# %% [markdown]
# The picture `docs/figures/mention_averaging.png` shows the same thing: the position ids of
# the two mentions, and the position vectors of "Inter Miami CF"'s tokens with their mean.
#
# ![mention averaging](../docs/figures/mention_averaging.png)

# %%
plt = _common.try_matplotlib()
if plt is not None:
    import make_figures

    tokens = tokenizer.convert_ids_to_tokens(input_ids[0].tolist())
    figure = make_figures.draw_mention_averaging(
        plt, tokens, ["Lionel Messi", "Inter Miami CF"], entity_position_ids[0], table_e)
    print("drew the mention-averaging figure:", _common.save_figure(figure, "mention_averaging"))

# %% [markdown]
# ## Same words, same embedding — entities do not change word vectors
#
# The embeddings of words and entities are computed independently; they first meet inside
# attention. So the word vectors are the same with or without entities, and the model's
# `hidden_states[0]` / `entity_hidden_states[0]` are exactly these embeddings.

# %%
out = model(**encoding, output_hidden_states=True)
plain = tokenizer(text, return_tensors="np")
out_plain = model(**plain, output_hidden_states=True)
show("hidden_states[0] == our word vectors",
     bool(np.array_equal(out.hidden_states[0], words_library)))
show("entity_hidden_states[0] == our entity vectors",
     bool(np.array_equal(out.entity_hidden_states[0], entities_library)))

# %% [markdown]
# ## Exercises
#
# Fill in a stub and run the chapter again: the last cell checks your answer (until then it
# checks the reference answer in `walkthrough/answers.py`).
#
# 1. `exercise_1(input_ids, pad_token_id)`: RoBERTa's position ids for a (batch, words)
#    array, padding included, with NumPy only (hint: a cumulative sum of a mask).
# 2. `exercise_2(position_table, row)`: an entity's position vector from one row of
#    `entity_position_ids` (the mean of the table's rows at its positions, -1s left out).

# %%


def exercise_1(input_ids: np.ndarray, pad_token_id: int) -> np.ndarray:
    raise NotImplementedError


def exercise_2(position_table: np.ndarray, row: np.ndarray) -> np.ndarray:
    raise NotImplementedError


def check_exercise_1(answer):
    pad = config.pad_token_id
    for ids in [input_ids, padded, np.array([[0, 7, 2, pad], [0, 7, 8, 2]])]:
        expected = create_position_ids_from_input_ids(ids, pad)
        assert np.array_equal(answer(ids, pad), expected), (ids, answer(ids, pad))


def check_exercise_2(answer):
    for k, row in enumerate(entity_position_ids[0]):
        assert np.allclose(answer(table_e, row), by_hand_positions[k], atol=1e-6)
    single = np.array([4] + [-1] * 5)
    assert np.array_equal(answer(table_e, single), table_e[4])


# %% [markdown]
# ## What this chapter claimed, checked

# %%
tolerance = 1e-5 if model.dtype == np.float32 else 1e-12
# RoBERTa positions: 2, 3, ... for tokens, pad_token_id for padding.
assert positions[0].tolist() == list(range(2, 2 + input_ids.shape[1]))
assert create_position_ids_from_input_ids(padded, 1).tolist() == [[2, 3, 4, 5, 1, 1]]
# The hand computations equal the library's functions.
assert np.abs(words_by_hand - words_library).max() < tolerance
assert np.abs(entities_by_hand - entities_library).max() < tolerance
# The projection exists exactly when the sizes differ, and lifts to hidden_size.
has_dense = "entity_embeddings.entity_embedding_dense.weight" in p
assert has_dense == (config.entity_emb_size != config.hidden_size)
assert small.shape[-1] == config.entity_emb_size and projected.shape[-1] == config.hidden_size
# The -1 padding does not count: adding more -1s to a row changes nothing.
longer = np.concatenate([entity_position_ids, -np.ones_like(entity_position_ids)], axis=-1)
again = entity_embeddings(scope(p, "entity_embeddings."), entity_ids, longer,
                          layer_norm_eps=config.layer_norm_eps)
assert np.abs(again - entities_library).max() < tolerance
# A one-token mention's position vector is just that token's position vector.
single = np.full((1, 1, entity_position_ids.shape[-1]), -1)
single[0, 0, 0] = 5
one = entity_embeddings({**scope(p, "entity_embeddings."), "LayerNorm.weight":
                         np.ones(config.hidden_size, dtype=model.dtype), "LayerNorm.bias":
                         np.zeros(config.hidden_size, dtype=model.dtype)},
                        entity_ids[:, :1], single, layer_norm_eps=config.layer_norm_eps)
direct = projected[:, :1] + table_e[5] + p["entity_embeddings.token_type_embeddings.weight"][0]
assert np.abs(one - layer_norm_by_hand(direct, 1.0, 0.0, config.layer_norm_eps)).max() < 1e-4
# The encoder starts from exactly these vectors; entities do not change the word embedding.
assert np.array_equal(out.hidden_states[0], words_library)
assert np.array_equal(out.entity_hidden_states[0], entities_library)
assert np.array_equal(out_plain.hidden_states[0], out.hidden_states[0])
# Entity positions are token indices: the first mention starts right after <s>.
assert entity_position_ids[0, 0, 0] == 1
# The exercises: your answers when written, else the reference answers.
_common.check_exercises(globals(), chapter=3)
print("\nchapter 3: all checks passed")

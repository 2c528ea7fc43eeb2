# %% [markdown]
# # Chapter 6 — The heads
#
# The encoder gives one vector per word and one per entity. A *head* is a small layer that
# reads some of those vectors and turns them into scores. LUKE was pre-trained with two
# heads (masked words, masked entities), and fine-tuned with others. The code is
# `numpy_luke/core/heads.py` (the math) and `numpy_luke/modeling.py` (a class per head,
# with transformers' name).
#
# | head | reads | scores |
# | --- | --- | --- |
# | `LukeForMaskedLM` | every word and entity vector | (b, words, V), (b, entities, V_e) |
# | `LukeForEntityClassification` | the first entity | (b, labels) |
# | `LukeForEntityPairClassification` | the first two entities, side by side | (b, labels) |
# | `LukeForEntitySpanClassification` | span start and end words, entity | (b, entities, labels) |
# | `LukeForSequenceClassification` | the pooled `<s>` vector | (b, labels) |
# | `LukeForTokenClassification` | every word | (b, words, labels) |
# | `LukeForQuestionAnswering` | every word | start and end (b, words) |
# | `LukeForMultipleChoice` | the pooled `<s>` vector of each choice | (b, choices) |
#
# (V and V_e: the word and entity vocabulary sizes.) We take each one apart and recompute
# its scores from the encoder's outputs.

# %%
import _common
import numpy as np
from _common import show, table, title

from numpy_luke import (
    LukeConfig,
    LukeForEntityClassification,
    LukeForEntityPairClassification,
    LukeForEntitySpanClassification,
    LukeForMaskedLM,
    LukeForQuestionAnswering,
    LukeForSequenceClassification,
    LukeForTokenClassification,
    LukeTokenizer,
)
from numpy_luke.core.functional import gelu, get_activation, layer_norm

model_name = _common.model_name()
tokenizer = LukeTokenizer.from_pretrained(model_name)
mlm = LukeForMaskedLM.from_pretrained(model_name)
config = mlm.config
print(mlm)
fixture = _common.is_fixture(model_name)
if fixture:
    print("(the fixture's weights are random: its predictions show the mechanics, not meaning)")

# %% [markdown]
# ## Masked word prediction
#
# A `<mask>` token's final vector goes through dense → GELU → layer norm, and then a dot
# product with **every row of the word embedding table** (plus a bias): the decoder matrix
# *is* the input embedding table ("tied weights"), so the score of a word is how well the
# transformed vector matches that word's own embedding.
#
# **The formula.** LUKE keeps BERT's masked language model head (Devlin et al. 2019, as
# RoBERTa has it); the paper adds no equation for it. For the final vector h of a `<mask>`,
# with A the word embedding table:
#
#     m = LayerNorm(GELU(W h + b))          `lm_head.dense`, `lm_head.layer_norm`
#     p(word | context) = softmax(A m + c)  c = `lm_head.bias`; `word_scores` is A m + c

# %%
text = "Lionel Messi plays for <mask>."
encoding = tokenizer(text, entity_spans=[(0, 12)], return_tensors="np")  # entity = [MASK]
out = mlm(**encoding)
ids = encoding["input_ids"][0]
mask_position = int(np.flatnonzero(ids == tokenizer.mask_token_id)[0])
show("tokens", tokenizer.convert_ids_to_tokens(ids.tolist()))
show("<mask> is at position", mask_position)
show("logits (batch, words, vocab)", out.logits.shape)

p = mlm.params
encoder_out = mlm(**encoding, output_hidden_states=True)
last = encoder_out.hidden_states[-1]  # (batch, words, hidden)
x = gelu(last[0, mask_position] @ p["lm_head.dense.weight"].T + p["lm_head.dense.bias"])
x = layer_norm(x, p["lm_head.layer_norm.weight"], p["lm_head.layer_norm.bias"],
               config.layer_norm_eps)
word_scores = x @ p["embeddings.word_embeddings.weight"].T + p["lm_head.bias"]  # (vocab,)
show("tied: lm_head.decoder.weight is the word embedding table",
     bool(np.array_equal(p["lm_head.decoder.weight"], p["embeddings.word_embeddings.weight"])))
show("max |by hand - logits at <mask>|",
     float(np.abs(word_scores - out.logits[0, mask_position]).max()))

best = np.argsort(-word_scores, kind="stable")[:5]
probabilities = np.exp(word_scores - word_scores.max())
probabilities /= probabilities.sum()
title("top 5 words for <mask>")
table([(int(i), tokenizer.convert_ids_to_tokens(int(i)), f"{probabilities[i]:.4f}") for i in best],
      header=("id", "token", "probability"))

# %% [markdown]
# ## Masked entity prediction
#
# The same idea for entities: the `[MASK]` entity's final vector goes through dense (down to
# `entity_emb_size`) → activation → layer norm, then a dot product with every row of the
# entity embedding table (tied again) plus a bias. This is LUKE's second pre-training task:
# guess which Wikipedia entity a mention refers to.
#
# **The formula** (LUKE paper, section "Pretraining Task", masked entity prediction; our
# notation): for the final vector h_e of a `[MASK]` entity, with B the entity embedding
# table (entity vocabulary x entity_emb_size),
#
#     m = LayerNorm(GELU(W_h h_e + b_h))      `entity_predictions.transform`
#     y = softmax(B m + b_e)                  b_e = `entity_predictions.bias`
#
# That is the checkpoints' form. The paper keeps m at the hidden size and brings it down to
# the entity embedding size with a separate matrix (the paper's T) before multiplying with
# B; the checkpoints have no such matrix: the transform's dense layer maps straight from
# hidden to entity_emb_size (its weight is (entity_emb_size, hidden)), and the GELU and
# layer norm work at that size (transformers' `EntityPredictionHeadTransform`, which
# studio-ousia/luke's pretraining model `luke/pretraining/model.py` imports and uses).
# `entity_scores` below is B m + b_e; the softmax comes in chapter 8. (The code uses the
# config's `hidden_act`, `gelu` in every published checkpoint.)

# %%
entity_vector = encoder_out.entity_hidden_states[-1][0, 0]  # (hidden,)
e = entity_vector @ p["entity_predictions.transform.dense.weight"].T
e = get_activation(config.hidden_act)(e + p["entity_predictions.transform.dense.bias"])
e = layer_norm(e, p["entity_predictions.transform.LayerNorm.weight"],
               p["entity_predictions.transform.LayerNorm.bias"], config.layer_norm_eps)
entity_scores = (e @ p["entity_embeddings.entity_embeddings.weight"].T
                 + p["entity_predictions.bias"])  # (entity_vocab,)
show("entity_logits (batch, entities, entity vocab)", out.entity_logits.shape)
show("max |by hand - entity_logits|", float(np.abs(entity_scores - out.entity_logits[0, 0]).max()))
titles = {i: t for t, i in tokenizer.entity_vocab.items()}
special = [tokenizer.entity_vocab[t] for t in ("[PAD]", "[UNK]", "[MASK]", "[MASK2]")]
ranked = [int(i) for i in np.argsort(-entity_scores, kind="stable") if i not in special][:5]
title("top 5 entities for the mention 'Lionel Messi' (special entities left out)")
table([(i, titles[i], f"{entity_scores[i]:+.4f}") for i in ranked],
      header=("id", "title", "score"))

# %% [markdown]
# ## The fine-tuned heads
#
# Entity typing, relation classification and NER need fine-tuned checkpoints
# (`studio-ousia/luke-large-finetuned-open-entity`, `...-tacred`, `...-conll-2003`). Here we
# use tiny random stand-ins with the same layout and labels from `tests/fixtures/`; the
# code is the same for the real ones. Each is one linear layer, `classifier`, on a
# different choice of encoder vectors.
#
# **The formulas** (LUKE paper, section "Experiments", one per task; the paper writes them
# in words): with h_e the final vector of an entity, h_i that of word i, and [a; b] the
# concatenation,
#
#     entity typing:            logits = W h_e + b          (each type: sigmoid, multi-label)
#     relation classification:  logits = W [h_head; h_tail]     (no bias)
#     span classification (NER): logits = W [h_start; h_end; h_e] + b   for every candidate span
#
# The relation head alone has no bias: transformers' `LukeForEntityPairClassification`
# makes its classifier with `nn.Linear(2 * hidden_size, num_labels, False)`
# (`modeling_luke.py`), and its checkpoints hold no `classifier.bias`; `relation_by_hand`
# below follows it.

# %%
fixtures = _common.ROOT / "tests" / "fixtures"
sentence = "Beyoncé lives in the United States."

# Entity typing: the first entity, with <ent> markers around the mention; multi-label, so
# each type gets its own sigmoid.
typing_dir = fixtures / "tiny-luke-typing"
typing = LukeForEntityClassification.from_pretrained(typing_dir)
typing_tok = LukeTokenizer.from_pretrained(typing_dir)
enc_typing = typing_tok(sentence, entity_spans=[(0, 7)], task="entity_classification",
                        return_tensors="np")
out_typing = typing(**enc_typing, output_hidden_states=True)
first_entity = out_typing.entity_hidden_states[-1][:, 0]  # (batch, hidden)
typing_by_hand = first_entity @ typing.params["classifier.weight"].T + typing.params[
    "classifier.bias"]
title("entity typing: classifier on the first entity's vector")
show("logits (batch, labels)", out_typing.logits.shape)
show("max |by hand - logits|", float(np.abs(typing_by_hand - out_typing.logits).max()))
sigmoid = 1 / (1 + np.exp(-out_typing.logits[0]))
show("types with sigmoid > 0.5", [typing.config.id2label[i] for i in
                                  np.flatnonzero(sigmoid > 0.5)])

# Relation classification: head and tail entity vectors side by side, [e1; e2].
relation_dir = fixtures / "tiny-luke-tacred"
relation = LukeForEntityPairClassification.from_pretrained(relation_dir)
enc_relation = LukeTokenizer.from_pretrained(relation_dir)(
    sentence, entity_spans=[(0, 7), (21, 34)], task="entity_pair_classification",
    return_tensors="np")
out_relation = relation(**enc_relation, output_hidden_states=True)
pair = out_relation.entity_hidden_states[-1]  # (batch, 2, hidden)
features = np.concatenate([pair[:, 0], pair[:, 1]], axis=-1)  # (batch, 2 hidden)
relation_by_hand = features @ relation.params["classifier.weight"].T
title("relation classification: classifier on [head; tail]")
show("features (batch, 2 * hidden)", features.shape)
show("max |by hand - logits|", float(np.abs(relation_by_hand - out_relation.logits).max()))
show("best relation", relation.config.id2label[int(out_relation.logits[0].argmax())])

# NER: every candidate span is a [MASK] entity; its features are the word vectors at the
# span's start and end, and its entity vector: [start; end; entity].
ner_dir = fixtures / "tiny-luke-ner"
ner = LukeForEntitySpanClassification.from_pretrained(ner_dir)
candidates = [(0, 7), (8, 13), (21, 34), (28, 34)]
enc_ner = LukeTokenizer.from_pretrained(ner_dir)(
    sentence, entity_spans=candidates, task="entity_span_classification", return_tensors="np")
out_ner = ner(**enc_ner, output_hidden_states=True)
words_out = out_ner.hidden_states[-1][0]  # (words, hidden)
entities_out = out_ner.entity_hidden_states[-1][0]  # (entities, hidden)
span_features = np.concatenate([words_out[enc_ner["entity_start_positions"][0]],
                                words_out[enc_ner["entity_end_positions"][0]],
                                entities_out], axis=-1)  # (entities, 3 hidden)
ner_by_hand = span_features @ ner.params["classifier.weight"].T + ner.params["classifier.bias"]
title("span classification (NER): classifier on [start word; end word; entity]")
show("features (entities, 3 * hidden)", span_features.shape)
show("max |by hand - logits|", float(np.abs(ner_by_hand - out_ner.logits[0]).max()))
table([(repr(sentence[s:t]), ner.config.id2label[int(k)]) for (s, t), k in
       zip(candidates, out_ner.logits[0].argmax(-1), strict=True)], header=("span", "label"))

# %% [markdown]
# ## The heads that read only words
#
# Sequence classification reads the pooled `<s>` vector (chapter 5), token classification
# and question answering read every word vector. To see them we attach a random classifier
# to the encoder above (a checkpoint with only the encoder loads into any head class; the
# head's own tensors must then be supplied — here, random ones).

# %%
rng = np.random.default_rng(0)
hidden = config.hidden_size
base = {k: v for k, v in config.to_dict().items() if k not in ("id2label", "label2id")}
three = LukeConfig.from_dict({**base, "num_labels": 3})
two = LukeConfig.from_dict({**base, "num_labels": 2})
state = dict(mlm.params)
state["classifier.weight"] = rng.normal(0, 0.1, (3, hidden)).astype(mlm.dtype)
state["classifier.bias"] = np.zeros(3, dtype=mlm.dtype)
state["qa_outputs.weight"] = rng.normal(0, 0.1, (2, hidden)).astype(mlm.dtype)
state["qa_outputs.bias"] = np.zeros(2, dtype=mlm.dtype)
plain = tokenizer("Lionel Messi plays for Inter Miami CF.", return_tensors="np")
encoder_plain = mlm(**plain, output_hidden_states=True).hidden_states[-1]  # (b, words, h)

sequence = LukeForSequenceClassification.from_state_dict(state, three)(**plain)
token = LukeForTokenClassification.from_state_dict(state, three)(**plain)
qa = LukeForQuestionAnswering.from_state_dict(state, two)(**plain)
pooled = np.tanh(encoder_plain[:, 0] @ p["pooler.dense.weight"].T + p["pooler.dense.bias"])
title("word-only heads")
show("sequence classification logits (batch, labels)", sequence.logits.shape)
show("token classification logits (batch, words, labels)", token.logits.shape)
show("question answering start_logits, end_logits", (qa.start_logits.shape,
                                                     qa.end_logits.shape))

# %% [markdown]
# ## Exercises
#
# Fill in a stub and run the chapter again: the last cell checks your answer (until then it
# checks the reference answer in `walkthrough/answers.py`).
#
# 1. `exercise_1(scores, special, k)`: the ids of the `k` best-scored entities, best first
#    (lower id first on a tie), leaving out the ids in `special`.
# 2. `exercise_2(words_out, entities_out, starts, ends, weight, bias)`: the span
#    classification logits (entities, labels) of the NER head, from the encoder's outputs.

# %%


def exercise_1(scores: np.ndarray, special: list[int], k: int) -> list[int]:
    raise NotImplementedError


def exercise_2(words_out, entities_out, starts, ends, weight, bias) -> np.ndarray:
    raise NotImplementedError


def check_exercise_1(answer):
    assert answer(entity_scores, special, 5) == ranked
    assert answer(np.array([1.0, 3.0, 3.0, 2.0]), [1], 2) == [2, 3]


def check_exercise_2(answer):
    mine = answer(words_out, entities_out, enc_ner["entity_start_positions"][0],
                  enc_ner["entity_end_positions"][0], ner.params["classifier.weight"],
                  ner.params["classifier.bias"])
    assert mine.shape == out_ner.logits[0].shape
    assert np.abs(mine - out_ner.logits[0]).max() < 1e-5


# %% [markdown]
# ## What this chapter claimed, checked

# %%
tolerance = 1e-5 if mlm.dtype == np.float32 else 1e-12
# Word and entity prediction heads, by hand; both decoders are the embedding tables.
assert np.abs(word_scores - out.logits[0, mask_position]).max() < tolerance
assert np.abs(entity_scores - out.entity_logits[0, 0]).max() < tolerance
assert np.array_equal(p["lm_head.decoder.weight"], p["embeddings.word_embeddings.weight"])
assert np.array_equal(p["entity_predictions.decoder.weight"],
                      p["entity_embeddings.entity_embeddings.weight"])
assert out.logits.shape == (1, len(ids), config.vocab_size)
assert out.entity_logits.shape == (1, 1, config.entity_vocab_size)
# Typing, relation and span heads read what the table says.
assert np.abs(typing_by_hand - out_typing.logits).max() < tolerance
assert np.abs(relation_by_hand - out_relation.logits).max() < tolerance
assert np.abs(ner_by_hand - out_ner.logits[0]).max() < tolerance
assert out_ner.logits.shape == (1, len(candidates), ner.config.num_labels)
assert features.shape[-1] == 2 * relation.config.hidden_size
# Word-only heads: pooled <s>, every word, start/end per word.
assert np.abs(sequence.logits - (pooled @ state["classifier.weight"].T)).max() < tolerance
assert np.abs(token.logits - encoder_plain @ state["classifier.weight"].T).max() < tolerance
qa_by_hand = encoder_plain @ state["qa_outputs.weight"].T
assert np.abs(qa.start_logits - qa_by_hand[..., 0]).max() < tolerance
assert np.abs(qa.end_logits - qa_by_hand[..., 1]).max() < tolerance
# The exercises: your answers when written, else the reference answers.
_common.check_exercises(globals(), chapter=6)
print("\nchapter 6: all checks passed")

# %% [markdown]
# # Chapter 8 — End to end: `fill`
#
# `python -m numpy_luke fill` is the main job: given a text with a `<mask>` word and/or a
# marked mention `[[...]]`, it predicts the missing word and the entity the mention refers
# to. This chapter runs it, then rebuilds its answer step by step with the pieces of the
# earlier chapters — BPE (1), entity inputs (2), embeddings (3), entity-aware attention and
# the encoder (4, 5), the prediction heads (6), from weights read without torch (7) — and
# checks that both give the same numbers.
#
# ![data flow](../docs/figures/data_flow.png)

# %%
import json
import subprocess
import sys

import _common
import numpy as np
from _common import show, table, title

import numpy_luke
from numpy_luke import LukeForMaskedLM, LukeTokenizer
from numpy_luke.core.attention import extended_attention_mask
from numpy_luke.core.embeddings import entity_embeddings, word_embeddings
from numpy_luke.core.encoder import encoder_layer, scope
from numpy_luke.core.entity_inputs import Segment, tokenize_with_spans
from numpy_luke.core.heads import entity_prediction_head, lm_head
from numpy_luke.core.model_inputs import InputSettings, model_input, pad
from numpy_luke.hub import resolve_file
from numpy_luke.tokenizer_files import read_bpe

model_name = _common.model_name()
show("checkpoint", model_name)
if _common.is_fixture(model_name):
    print("(the fixture's weights are random: the answers are nonsense, but exactly computed)")
marked = "[[Lionel Messi]] plays for <mask>."
top_k = 3

# %% [markdown]
# ## The answer: the pipeline and the command line
#
# `numpy_luke.pipeline("fill-mask-and-entities", model=...)` is what the command line
# calls; the two give the same JSON. (`pipeline("fill-mask")` answers as
# transformers' fill-mask does: only the `masks` list below.)

# %%
fill = numpy_luke.pipeline("fill-mask-and-entities", model=model_name, top_k=top_k)
answer = fill(marked)
title("pipeline answer")
print("  text:", answer["text"])
table([(m["token"], repr(m["token_str"]), f"{m['score']:.6f}", repr(m["sequence"]))
       for m in answer["masks"]], header=("token", "token_str", "score", "sequence"))
for entity in answer["entities"]:
    print(f"  mention {entity['mention']!r} ({entity['start']}, {entity['end']}):")
    table([(p["entity_id"], p["entity"], f"{p['score']:.6f}") for p in entity["predictions"]],
          header=("entity_id", "entity", "score"))

command = [sys.executable, "-m", "numpy_luke", "fill", marked, "--model", model_name,
           "--top-k", str(top_k), "--json"]
run = subprocess.run(command, capture_output=True, text=True, cwd=_common.ROOT)
print("\n$ python -m numpy_luke fill", repr(marked), "--model ... --top-k", top_k, "--json")
print("  " + run.stdout.strip()[:300] + " ...")
from_cli = json.loads(run.stdout)

# %% [markdown]
# ## Step by step
#
# **Chapter 2: the input.** The `[[...]]` markers are removed and become a character span;
# with no title given, the mention's entity is `[MASK]`: "which entity is this?".

# %%
text = marked.replace("[[", "").replace("]]", "")
span = (marked.index("[["), marked.index("]]") - 2)  # the markers removed
tokenizer = LukeTokenizer.from_pretrained(model_name)
encoding = tokenizer(text, entity_spans=[span], return_tensors="np")
input_ids = encoding["input_ids"]  # (1, words)
show("text and span", (text, span, text[span[0]:span[1]]))
show("tokens", tokenizer.convert_ids_to_tokens(input_ids[0].tolist()))
show("entity_ids ([MASK])", encoding["entity_ids"])

# %% [markdown]
# **Chapter 1: the words are byte-level BPE.** Outside the special tokens, the tokenizer's
# word tokens are exactly what BPE makes of the text (with `<mask>` taking the space before
# it, as its `lstrip` flag says).

# %%
bpe = read_bpe(resolve_file(model_name, "vocab.json"), resolve_file(model_name, "merges.txt"))
before, after = text.split("<mask>")
by_bpe = bpe.encode(before.rstrip()) + [tokenizer.mask_token_id] + bpe.encode(after)
show("BPE pieces", by_bpe)

# %% [markdown]
# **Chapter 2 again: the whole input from the core.** The tokenizer checks the user's text,
# spans and options, then runs plain functions of the core. `core/entity_inputs.py` cuts
# the text at the span's boundaries and tokenises the pieces (`tokenize_with_spans`, with
# BPE and `<mask>` as above): one `Segment` per text. `core/model_inputs.py` makes the
# model's input of it (`model_input`: truncation, `<s> ... </s>` shifting the positions by
# 1, one row of word positions per entity) and pads a batch (`pad`: `<pad>` words, [PAD]
# entities with rows of -1, the attention masks). `InputSettings` holds the call's options
# under transformers' names. We rebuild every array of the encoding with them and compare;
# then a batch of two texts padded on the left (the entity position rows do not move: they
# index position embeddings, which skip padding).

# %%
def to_ids(piece):
    """BPE ids of a piece of text, with <mask> as one token that takes the spaces before it
    (its lstrip flag)."""
    ids, parts = [], piece.split("<mask>")
    for k, part in enumerate(parts):
        last = k == len(parts) - 1
        part = part if last else part.rstrip()
        ids += bpe.encode(part) if part else []
        ids += [] if last else [tokenizer.mask_token_id]
    return ids


def core_encoding(texts_and_spans, settings):
    """The model's input for (text, spans) pairs, from the core alone."""
    examples = []
    for one_text, spans in texts_and_spans:
        words_of_text, token_spans = tokenize_with_spans(one_text, spans, to_ids)
        segment = Segment(words_of_text, [tokenizer.entity_mask_token_id] * len(spans),
                          token_spans)
        special = (tokenizer.cls_token_id, tokenizer.sep_token_id)  # <s>, </s>
        examples.append(model_input(segment, None, special, settings)[0])
    pad_ids = (tokenizer.pad_token_id, tokenizer.entity_pad_token_id)
    return {key: np.array(value) for key, value in
            pad(examples, settings, settings.max_entity_length, pad_ids).items()}


settings = InputSettings(max_mention_length=tokenizer.max_mention_length)
core_inputs = core_encoding([(text, [span])], settings)
show("entity position row, from the core", core_inputs["entity_position_ids"][0, 0, :8])
same = sorted(core_inputs) == sorted(encoding) and all(
    np.array_equal(core_inputs[key], encoding[key]) for key in encoding)
show("every array the same as the tokenizer's", same)

batch = [(text, [span]), ("Messi, Rosario.", [(0, 5), (7, 14)])]
left = InputSettings(max_mention_length=tokenizer.max_mention_length, padding="longest",
                     padding_side="left")
core_batch = core_encoding(batch, left)
tokenizer_batch = tokenizer([t for t, _ in batch], entity_spans=[s for _, s in batch],
                            padding=True, padding_side="left", return_tensors="np")
show("left-padded batch: input_ids", core_batch["input_ids"])
show("entity_position_ids (first 4 columns)", core_batch["entity_position_ids"][:, :, :4])
same_batch = sorted(core_batch) == sorted(tokenizer_batch) and all(
    np.array_equal(core_batch[key], tokenizer_batch[key]) for key in tokenizer_batch)
show("the same as the tokenizer's", same_batch)

# %% [markdown]
# **Chapters 3-5: the encoder, with the pure functions.** Embeddings, the additive mask,
# and every layer in turn.

# %%
model = LukeForMaskedLM.from_pretrained(model_name)  # chapter 7: weights, keys, ties
params, config = model.params, model.config
words = word_embeddings(scope(params, "embeddings."), input_ids,
                        pad_token_id=config.pad_token_id, layer_norm_eps=config.layer_norm_eps)
entities = entity_embeddings(scope(params, "entity_embeddings."), encoding["entity_ids"],
                             encoding["entity_position_ids"],
                             layer_norm_eps=config.layer_norm_eps)
mask = extended_attention_mask(encoding["attention_mask"], encoding["entity_attention_mask"],
                               words.dtype)
show("embeddings: words, entities", (words.shape, entities.shape))
for i in range(config.num_hidden_layers):
    words, entities, _ = encoder_layer(scope(params, f"encoder.layer.{i}."), words, entities,
                                       mask, config)
    print(f"  after layer {i}: words {words.shape}, entities {entities.shape}")

# %% [markdown]
# **Chapter 6: the heads.** Word scores at the `<mask>` position, entity scores for the
# mention, softmax, and the best k (special entities left out).
#
# **The formulas.** The word probabilities are the masked language model's (BERT, Devlin
# et al. 2019), the entity probabilities LUKE's masked entity prediction (paper, section
# "Pretraining Task"; chapter 6 has both heads):
#
#     p(word w at the mask) = exp(s_w) / sum over all words v of exp(s_v)      s = A m + c
#     p(entity e for the mention) = exp(t_e) / sum over all entities f of exp(t_f)   t = B m + b_e
#
# Both sums run over the whole vocabulary, special entities included; `fill` only leaves
# `[PAD]`, `[UNK]`, `[MASK]` and `[MASK2]` out of the list it prints, so the printed
# probabilities need not sum to 1.

# %%
word_logits = lm_head(params, words, config.layer_norm_eps)[0]  # (words, vocab)
entity_logits = entity_prediction_head(params, entities, config.hidden_act,
                                       config.layer_norm_eps)[0, 0]  # (entity vocab,)


def softmax(x):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max())
    return e / e.sum()


position = int(np.flatnonzero(input_ids[0] == tokenizer.mask_token_id)[0])
word_probs = softmax(word_logits[position])
best_words = np.argsort(-word_probs, kind="stable")[:top_k]
entity_probs = softmax(entity_logits)
special = [tokenizer.entity_vocab[t] for t in ("[PAD]", "[UNK]", "[MASK]", "[MASK2]")]
best_entities = [int(e) for e in np.argsort(-entity_probs, kind="stable")
                 if e not in special][:top_k]
titles = {i: t for t, i in tokenizer.entity_vocab.items()}

title("by hand")
for token in best_words:
    ids = input_ids[0].copy()
    ids[position] = token
    print(f"  word   {int(token):6d} {word_probs[token]:.6f} "
          f"{tokenizer.decode(ids, skip_special_tokens=True)!r}")
for e in best_entities:
    print(f"  entity {e:6d} {entity_probs[e]:.6f} {titles[e]}")

# %% [markdown]
# ## The seed example
#
# The README's first command, on the same checkpoint (on the fixture the words are
# nonsense; run the chapter with `--model studio-ousia/luke-base` for real ones).

# %%
seed = "Plants create <mask> through a process known as photosynthesis."
seed_answer = fill(seed)
table([(repr(m["token_str"]), f"{m['score']:.4f}") for m in seed_answer["masks"]],
      header=("token_str", "score"))

# %% [markdown]
# ## Exercises
#
# Fill in a stub and run the chapter again: the last cell checks your answer (until then it
# checks the reference answer in `walkthrough/answers.py`).
#
# 1. `exercise_1(marked)`: a text with one mention marked `[[...]]` -> (the text without
#    the markers, the mention's (start, end) in that text).
# 2. `exercise_2(logits, k, exclude)`: the `k` most probable ids under the softmax of
#    `logits`, leaving out the ids in `exclude` (which still count in the softmax), as
#    `(id, probability)` pairs, best first. With the entity logits it must give `fill`'s
#    entity predictions.

# %%


def exercise_1(marked: str) -> tuple[str, tuple[int, int]]:
    raise NotImplementedError


def exercise_2(logits: np.ndarray, k: int, exclude=()) -> list[tuple[int, float]]:
    raise NotImplementedError


def check_exercise_1(function):
    assert function(marked) == (text, span)
    assert function("Born in [[Rosario]], Messi...") == ("Born in Rosario, Messi...", (8, 15))


fill_entities, fill_masks = answer["entities"][0]["predictions"], answer["masks"]


def check_exercise_2(function):
    mine = function(entity_logits, top_k, special)
    assert [i for i, _ in mine] == [p["entity_id"] for p in fill_entities]
    assert all(abs(q - p["score"]) < 1e-6 for (_, q), p in zip(mine, fill_entities, strict=True))
    words = function(word_logits[position], top_k)
    assert [i for i, _ in words] == [m["token"] for m in fill_masks]


# %% [markdown]
# ## What this chapter claimed, checked

# %%
# The command line prints exactly the pipeline's answer.
assert run.returncode == 0, run.stderr
assert from_cli == answer
# Chapter 1 and 2: the tokenizer's words are BPE's; the mention is a [MASK] entity.
assert input_ids[0, 1:-1].tolist() == by_bpe
# The core's input functions rebuild every array of the tokenizer's encoding, one text
# and a left-padded batch alike.
assert sorted(core_inputs) == sorted(encoding)
for key in encoding:
    assert np.array_equal(core_inputs[key], encoding[key]), key
assert sorted(core_batch) == sorted(tokenizer_batch)
for key in tokenizer_batch:
    assert np.array_equal(core_batch[key], tokenizer_batch[key]), key
assert encoding["entity_ids"].tolist() == [[tokenizer.entity_mask_token_id]]
assert answer["text"] == text and answer["entities"][0]["mention"] == "Lionel Messi"
# Chapters 3-6: the step-by-step forward pass is the model's.
tolerance = 1e-5 if model.dtype == np.float32 else 1e-12
out = model(**encoding)
assert np.abs(word_logits - out.logits[0]).max() < tolerance
assert np.abs(entity_logits - out.entity_logits[0, 0]).max() < tolerance
# And fill's answer is the step-by-step answer: same tokens, entities, order and scores.
assert [m["token"] for m in answer["masks"]] == [int(t) for t in best_words]
assert [p["entity_id"] for p in answer["entities"][0]["predictions"]] == best_entities
for m, t in zip(answer["masks"], best_words, strict=True):
    assert abs(m["score"] - word_probs[t]) < 1e-6
    ids = input_ids[0].copy()
    ids[position] = t
    assert m["sequence"] == tokenizer.decode(ids, skip_special_tokens=True)
for p, e in zip(answer["entities"][0]["predictions"], best_entities, strict=True):
    assert abs(p["score"] - entity_probs[e]) < 1e-6 and p["entity"] == titles[e]
assert len(seed_answer["masks"]) == top_k and seed_answer["entities"] == []
# The exercises: your answers when written, else the reference answers.
_common.check_exercises(globals(), chapter=8)
print("\nchapter 8: all checks passed")

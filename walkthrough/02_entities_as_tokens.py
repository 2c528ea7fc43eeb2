# %% [markdown]
# # Chapter 2 — Entities as tokens
#
# LUKE's idea is to give *entities* — things with a Wikipedia page — their own tokens, read
# side by side with the words. "Lionel Messi" is then both a few word tokens (BPE pieces:
# four with RoBERTa's real vocabulary at the start of a text, `L ion el ĠMessi`; six with the
# fixture's small one) and one entity token, whose vector the model learned for that person.
#
# The user says where entities are with **character spans** into the text. The tokenizer
# (`numpy_luke/tokenizer.py`) turns them into three arrays next to `input_ids`:
#
# | array | shape | meaning |
# | --- | --- | --- |
# | `entity_ids` | (batch, entities) | the entity's id in the entity vocabulary |
# | `entity_position_ids` | (batch, entities, mention) | word positions of the mention, then -1s |
# | `entity_attention_mask` | (batch, entities) | 1 for real entities, 0 for padding |
#
# In the shapes, `mention` is the tokenizer's `max_mention_length` (30 by default, as in
# transformers' `LukeTokenizer.__init__`): the most word tokens one mention can cover.

# %%
import _common
import numpy as np
from _common import show, table, title

from numpy_luke import LukeTokenizer
from numpy_luke.hub import resolve_file
from numpy_luke.tokenizer_files import read_entity_vocab

model = _common.model_name()
tokenizer = LukeTokenizer.from_pretrained(model)
show("checkpoint", model)

# %% [markdown]
# ## The entity vocabulary
#
# `entity_vocab.json` maps titles to ids: 500,000 of them in `luke-base` (`entity_vocab_size` in
# its `config.json`), 33 in the fixture (printed below).
# Four ids are special: `[PAD]` (padding), `[UNK]` (a title the model does not know),
# `[MASK]` ("some entity: predict which") and `[MASK2]` (the second entity of a pair).

# %%
vocab = read_entity_vocab(resolve_file(model, "entity_vocab.json"))  # an EntityVocab
show("entities in the vocabulary", len(vocab))
table([(t, vocab.title_to_id(t)) for t in ("[PAD]", "[UNK]", "[MASK]", "[MASK2]")],
      header=("special entity", "id"))
for name in ("Lionel Messi", "Atlantis (a made-up title)"):
    show(f"title_to_id({name!r})", vocab.title_to_id(name))
show("id_to_title(3)", vocab.id_to_title(3))

# %% [markdown]
# ## From character spans to entity inputs
#
# Two mentions in one sentence, given as (start, end) character offsets, with their titles.

# %%
text = "Lionel Messi plays for Inter Miami CF."
spans = [(0, 12), (23, 37)]
titles = ["Lionel Messi", "Inter Miami CF"]
for (start, end), name in zip(spans, titles, strict=True):
    print(f"  span ({start:2d}, {end:2d}) = {text[start:end]!r} -> entity {name!r}")

encoding = tokenizer(text, entity_spans=spans, entities=titles, return_tensors="np")
for key, value in encoding.items():
    print(f"  {key:22s} shape {value.shape}")

# %% [markdown]
# The words are tokenised as usual, with `<s>` first and `</s>` last. The tokenizer cuts the
# text at every span boundary before BPE (moving a cut in front of the space before a word,
# because BPE writes the space together with the word), so each mention covers whole
# tokens. Each entity's row of `entity_position_ids` lists the positions of its tokens.
#
# **The definition.** The paper gives no equation here (its section "Input Representation"
# says it in words: an entity token sits at the positions of the words of its mention).
# What the tokenizer computes, for a mention (start, end) and word tokens t_0, ..., t_{W-1}
# whose characters are [a_i, b_i) of the text:
#
#     positions(start, end) = [ i : start <= a_i and b_i <= end ]   (a contiguous run)
#     entity_position_ids[k] = positions(span_k) + [-1] * (mention - len(positions(span_k)))

# %%
tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"][0].tolist())
title("word tokens and their positions")
print("  " + " ".join(f"{i}:{t}" for i, t in enumerate(tokens)))

title("entities")
rows = []
for k in range(encoding["entity_ids"].shape[1]):
    entity_id = int(encoding["entity_ids"][0, k])
    positions = encoding["entity_position_ids"][0, k]
    used = positions[positions != -1]
    rows.append((entity_id, vocab.id_to_title(entity_id), used.tolist(),
                 repr(tokenizer.decode(encoding["input_ids"][0, used]))))
table(rows, header=("entity_id", "title", "positions (without the -1s)", "decoded tokens"))
show("one full row of entity_position_ids", encoding["entity_position_ids"][0, 0])

# %% [markdown]
# Without titles, every mention gets the `[MASK]` entity — the input of masked entity
# prediction (chapter 6 and 8). A title that is not in the vocabulary becomes `[UNK]`.

# %%
masked = tokenizer(text, entity_spans=spans, return_tensors="np")
unknown = tokenizer(text, entity_spans=spans[:1], entities=["Atlantis"], return_tensors="np")
show("entity_ids without titles", masked["entity_ids"])
show("entity_ids for an unknown title", unknown["entity_ids"])

# %% [markdown]
# ## The three tasks
#
# The fine-tuned LUKE models read their entities in set ways, chosen with `task=`:
#
# * `entity_classification` (entity typing): one span; `<ent>` is put before and after the
#   mention, and the single entity, `[MASK]`, covers the markers too.
# * `entity_pair_classification` (relation classification): two spans, head and tail;
#   `<ent>` marks the head, `<ent2>` the tail; the entities are `[MASK]` and `[MASK2]`, and
#   each entity's positions cover its markers too (chapter 9 shows the rows and why).
# * `entity_span_classification` (named entity recognition): many candidate spans, no
#   markers; every span is a `[MASK]` entity, and `entity_start_positions` /
#   `entity_end_positions` give its first and last word token.

# %%
by_task = {}
for task, task_spans in [
    ("entity_classification", [(0, 12)]),
    ("entity_pair_classification", [(0, 12), (23, 37)]),
    ("entity_span_classification", [(0, 6), (0, 12), (7, 12), (23, 37)]),
]:
    enc = tokenizer(text, entity_spans=task_spans, task=task, return_tensors="np")
    by_task[task] = enc
    title(task)
    print("  tokens:", " ".join(tokenizer.convert_ids_to_tokens(enc["input_ids"][0].tolist())))
    show("  entity_ids", enc["entity_ids"])
    for k, row in enumerate(enc["entity_position_ids"][0]):
        print(f"  entity {k} covers {tokenizer.decode(enc['input_ids'][0, row[row != -1]])!r}")
    for key in ("entity_start_positions", "entity_end_positions"):
        if key in enc:
            show("  " + key, enc[key])

# %% [markdown]
# ## Batches and padding
#
# Texts of a batch have different numbers of words and entities. `padding=True` appends
# `<pad>` words and `[PAD]` entities (whose position rows are all -1), and the two attention
# masks say which entries are real.

# %%
batch = tokenizer(
    [text, "Messi was born in Rosario."],
    entity_spans=[spans, [(0, 5)]],
    entities=[titles, ["Lionel Messi"]],
    padding=True,
    return_tensors="np",
)
show("input_ids", batch["input_ids"])
show("attention_mask", batch["attention_mask"])
show("entity_ids", batch["entity_ids"])
show("entity_attention_mask", batch["entity_attention_mask"])
show("entity_position_ids[1, :, :8]", batch["entity_position_ids"][1, :, :8])

# %% [markdown]
# ## Exercises
#
# Fill in a stub and run the chapter again: the last cell checks your answer (until then it
# checks the reference answer in `walkthrough/answers.py`).
#
# 1. `exercise_1(tokenizer, encoding, k)`: the text that entity `k` of `encoding` covers,
#    read back from its row of `entity_position_ids` (decode those word tokens).
# 2. `exercise_2(tokenizer, text, span)`: encode `text` for entity typing
#    (`task="entity_classification"`) and return the word positions of the two `<ent>`
#    markers. Are they inside or outside the entity's positions?

# %%


def exercise_1(tokenizer, encoding, k: int) -> str:
    raise NotImplementedError


def exercise_2(tokenizer, text: str, span: tuple[int, int]) -> list[int]:
    raise NotImplementedError


def check_exercise_1(answer):
    for k, (start, end) in enumerate(spans):
        assert answer(tokenizer, encoding, k) == text[start:end]
    assert answer(tokenizer, batch, 1) == "Inter Miami CF"


def check_exercise_2(answer):
    for span in [(0, 12), (23, 37), (7, 12)]:
        markers = answer(tokenizer, text, span)
        enc = tokenizer(text, entity_spans=[span], task="entity_classification")
        row = [i for i in enc["entity_position_ids"][0] if i != -1]
        assert len(markers) == 2 and markers == [row[0], row[-1]], (span, markers, row)


# %% [markdown]
# ## What this chapter claimed, checked

# %%
ids = encoding["input_ids"][0]
assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
# Every entity's positions are exactly the word tokens that spell its mention.
for k, (start, end) in enumerate(spans):
    row = encoding["entity_position_ids"][0, k]
    used = row[row != -1]
    assert np.array_equal(used, np.arange(used[0], used[0] + len(used))), "one contiguous run"
    assert np.all(row[len(used):] == -1), "padded with -1 after the positions"
    assert tokenizer.decode(ids[used]).strip() == text[start:end]
assert encoding["entity_position_ids"].shape[-1] == tokenizer.max_mention_length
# Titles -> ids with [UNK] for unknown titles; no titles -> [MASK].
assert encoding["entity_ids"][0].tolist() == [vocab.title_to_id(t) for t in titles]
assert unknown["entity_ids"][0].tolist() == [tokenizer.entity_unk_token_id]
assert masked["entity_ids"][0].tolist() == [tokenizer.entity_mask_token_id] * 2
assert vocab.id_to_title(vocab.title_to_id("Lionel Messi")) == "Lionel Messi"
# The tasks: markers and [MASK]/[MASK2] entities.
ent, ent2 = tokenizer.convert_tokens_to_ids(["<ent>", "<ent2>"])
one = by_task["entity_classification"]
assert one["entity_ids"][0].tolist() == [tokenizer.entity_mask_token_id]
assert (one["input_ids"][0] == ent).sum() == 2
row = one["entity_position_ids"][0, 0]
covered = one["input_ids"][0, row[row != -1]]
assert covered[0] == ent and covered[-1] == ent, "the entity covers the markers too"
pair = by_task["entity_pair_classification"]
assert pair["entity_ids"][0].tolist() == [tokenizer.entity_mask_token_id,
                                         tokenizer.entity_mask2_token_id]
assert (pair["input_ids"][0] == ent).sum() == 2 and (pair["input_ids"][0] == ent2).sum() == 2
span_enc = by_task["entity_span_classification"]
first = span_enc["entity_position_ids"][0, :, 0]
last = np.array([row[row != -1][-1] for row in span_enc["entity_position_ids"][0]])
assert np.array_equal(span_enc["entity_start_positions"][0], first)
assert np.array_equal(span_enc["entity_end_positions"][0], last)
assert not np.isin([ent, ent2], span_enc["input_ids"]).any(), "no markers for spans"
# Padding only appends: the first text's row is its unpadded encoding, then pads.
n, e = ids.shape[0], encoding["entity_ids"].shape[1]
assert np.array_equal(batch["input_ids"][0, :n], ids)
assert np.all(batch["input_ids"][1, batch["attention_mask"][1] == 0] == tokenizer.pad_token_id)
assert batch["entity_attention_mask"].tolist() == [[1, 1], [1, 0]]
assert batch["entity_ids"][1, 1] == tokenizer.entity_pad_token_id
assert np.all(batch["entity_position_ids"][1, 1] == -1)
assert np.array_equal(batch["entity_position_ids"][0], encoding["entity_position_ids"][0])
# The exercises: your answers when written, else the reference answers.
_common.check_exercises(globals(), chapter=2)
print("\nchapter 2: all checks passed")

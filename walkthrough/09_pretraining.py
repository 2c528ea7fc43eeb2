# %% [markdown]
# # Chapter 9 — Pretraining: masked words and masked entities
#
# LUKE is three ideas: entities as tokens (chapters 2-3), entity-aware attention (chapter 4),
# and the pretraining task this chapter is about. Like BERT, LUKE learns by filling in
# blanks; unlike BERT, some blanks are *entities*. The model reads Wikipedia text in which
# words and entities have been hidden behind masks and is trained to name what was hidden:
# the word from RoBERTa's 50,265 tokens, the entity from 500,000 Wikipedia articles.
#
# This chapter builds one training example the way the pretraining data is made, masks it,
# and computes the two losses by hand: the masked-word loss and the masked-entity loss,
# checked against `LukeForMaskedLM(..., labels=..., entity_labels=...)`.
#
# Sources, so you can check each number: the paper (Yamada et al., EMNLP 2020, section 3:
# the pretraining task and its details; we cite its equations by what they compute, in our
# own notation); studio-ousia/luke's
# `pretraining.md` and the defaults of its `luke/pretraining/train.py`; transformers'
# conversion script `convert_luke_original_pytorch_checkpoint_to_pytorch.py`.

# %%
import math
import re

import _common
import numpy as np
from _common import show, table, title

from numpy_luke import LukeForMaskedLM, LukeModel, LukeTokenizer

model_name = _common.model_name()
tokenizer = LukeTokenizer.from_pretrained(model_name)
mlm = LukeForMaskedLM.from_pretrained(model_name)
config = mlm.config
print(mlm)
if _common.is_fixture(model_name):
    print("(the fixture's weights are random: the losses show the mechanics, not meaning)")

# %% [markdown]
# ## Training data: Wikipedia's hyperlinks are the entity annotations
#
# Nobody labels Wikipedia's billions of words with entities by hand; its links are labels:
# every hyperlink `[[Target article|anchor text]]` says "these words mention the entity
# `Target article`". The pretraining data is the text of Wikipedia articles with each link
# turned into an entity annotation: a character span (the anchor) and a title (the target).
# The entity vocabulary is the most frequent link targets; the published models keep
# 500,000 (`build-entity-vocab --vocab-size=500000` in `pretraining.md`). We parse one
# made-up sentence in wiki markup the same way.

# %%
WIKITEXT = ("[[Lionel Messi]] plays for [[Inter Miami CF]] and captains the "
            "[[Argentina national football team|national team]] of [[Argentina]].")
LINK = re.compile(r"\[\[([^\]|]+)(?:\|([^\]]+))?\]\]")  # [[title]] or [[title|anchor]]


def parse_links(wikitext):
    """Plain text, the anchors' character spans, and the link targets (entity titles)."""
    text, spans, titles, at = "", [], [], 0
    for link in LINK.finditer(wikitext):
        text += wikitext[at:link.start()]
        title_, anchor = link.group(1), link.group(2) or link.group(1)
        spans.append((len(text), len(text) + len(anchor)))
        titles.append(title_)
        text += anchor
        at = link.end()
    return text + wikitext[at:], spans, titles


text, spans, titles = parse_links(WIKITEXT)
show("text", text)
table([(f"{s}:{e}", repr(text[s:e]), t, tokenizer.entity_vocab.get(t, "[UNK]"))
       for (s, e), t in zip(spans, titles, strict=True)],
      header=("span", "anchor", "entity title", "entity id"))

encoding = tokenizer(text, entity_spans=spans, entities=titles, return_tensors="np")
input_ids, entity_ids = encoding["input_ids"][0], encoding["entity_ids"][0]
tokens = tokenizer.convert_ids_to_tokens(input_ids.tolist())
show("word tokens", tokens)
show("entity ids", entity_ids)

# %% [markdown]
# ## Masking: 15% of the words, 15% of the entities
#
# The paper masks 15% of all words and 15% of all entities at random (section 3); the
# defaults of `luke/pretraining/train.py` say the same (`--masked-lm-prob 0.15`,
# `--masked-entity-prob 0.15`). The details there:
#
# * **Words** as in BERT: whole words are chosen (`--whole-word-masking` is the default: all
#   BPE pieces of a chosen word together); of the chosen ones 80% become `<mask>`, 10% a
#   random word, 10% stay as they are (`--random-word-prob 0.1`, `--unmasked-word-prob 0.1`).
#   The model must predict the original token at every chosen position.
# * **Entities**: every chosen entity becomes the special `[MASK]` entity (id 2); there is no
#   random or unchanged share (`--random-entity-prob 0`, `--unmasked-entity-prob 0`). The
#   `[MASK]` entity keeps its mention's position ids, so the model knows *where* the hidden
#   entity is mentioned, and must say *which* entity it is.
#
# Labels mark what is to be predicted: the original id at a masked position, -100 (ignored
# by the loss) everywhere else. We choose at least one of each so the example has both losses.

# %%
rng = np.random.default_rng(0)
WORD_RATE = ENTITY_RATE = 0.15
special_ids = set(tokenizer.all_special_ids)


def whole_words(tokens):
    """Positions of each word: a word starts at a token with the space marker "Ġ" (or after
    a special token) and goes on over the pieces that follow it."""
    words = []
    for i, token in enumerate(tokens):
        if tokenizer.convert_tokens_to_ids(token) in special_ids:
            continue
        if not words or token.startswith("Ġ") or words[-1][-1] != i - 1:
            words.append([i])
        else:
            words[-1].append(i)
    return words


words = whole_words(tokens)
chosen_words = rng.choice(len(words), size=max(1, round(WORD_RATE * len(words))),
                          replace=False)
masked_ids = input_ids.copy()
labels = np.full_like(input_ids, -100)
for w in sorted(chosen_words):
    positions = words[w]
    labels[positions] = input_ids[positions]
    roll = rng.random()
    if roll < 0.8:
        masked_ids[positions] = tokenizer.mask_token_id
    elif roll < 0.9:
        masked_ids[positions] = rng.integers(0, len(tokenizer.encoder), len(positions))
    # else: unchanged, but still to be predicted

MASK, MASK2 = tokenizer.entity_vocab["[MASK]"], tokenizer.entity_vocab["[MASK2]"]
chosen_entities = rng.choice(len(entity_ids), size=max(1, round(ENTITY_RATE * len(entity_ids))),
                             replace=False)
masked_entity_ids = entity_ids.copy()
entity_labels = np.full_like(entity_ids, -100)
entity_labels[chosen_entities] = entity_ids[chosen_entities]
masked_entity_ids[chosen_entities] = MASK

title("the masked example")
show("words: 15% of", f"{len(words)} words -> {len(chosen_words)} chosen")
show("masked tokens", tokenizer.convert_ids_to_tokens(masked_ids.tolist()))
show("labels", labels)
show("masked entity ids", masked_entity_ids)
show("entity_labels", entity_labels)

# %% [markdown]
# ## The two losses, by hand
#
# The masked-word head is chapter 6's: `dense -> gelu -> layer norm -> dot product with every
# word embedding + bias`. The masked-entity head is its twin over the entity vocabulary; in
# the paper's terms (section 3, its masked-entity-prediction equation), for the final
# vector `h_e` of a `[MASK]` entity,
#
#     m = layer_norm(gelu(W_h h_e + b_h))        (hidden -> entity_emb_size)
#     y = softmax(B m + b_o)                     B: the entity embedding matrix (tied)
#
# and the masked-word prediction is the same with the word embedding matrix. Each loss is the
# cross-entropy of the true id under that softmax, averaged over the masked positions
# (labels -100 are skipped):
#
#     loss_words    = mean over masked words    of  -log softmax(word logits)[true word]
#     loss_entities = mean over masked entities of  -log softmax(entity logits)[true entity]
#     loss          = loss_words + loss_entities
#
# transformers calls them `mlm_loss`, `mep_loss` and `loss`. The model sees the masked ids;
# the labels only enter the loss.

# %%
inputs = dict(encoding)
inputs["input_ids"] = masked_ids[None]
inputs["entity_ids"] = masked_entity_ids[None]
out = mlm(**inputs, labels=labels[None], entity_labels=entity_labels[None])


def cross_entropy_by_hand(logits, labels):
    """Mean of -log softmax(logits)[label] over the positions whose label is not -100.
    logits (positions, classes), labels (positions,); computed in float64."""
    keep = labels != -100
    z = logits[keep].astype(np.float64)  # (kept, classes)
    z = z - z.max(axis=-1, keepdims=True)  # the same softmax, without overflow
    log_probs = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return float(-log_probs[np.arange(len(z)), labels[keep]].mean())


mlm_by_hand = cross_entropy_by_hand(out.logits[0], labels)
mep_by_hand = cross_entropy_by_hand(out.entity_logits[0], entity_labels)
table([("masked words", f"{mlm_by_hand:.6f}", f"{float(out.mlm_loss):.6f}"),
       ("masked entities", f"{mep_by_hand:.6f}", f"{float(out.mep_loss):.6f}"),
       ("sum", f"{mlm_by_hand + mep_by_hand:.6f}", f"{float(out.loss):.6f}")],
      header=("loss", "by hand", "LukeForMaskedLM"))
print(f"  chance level: log({config.vocab_size}) = {math.log(config.vocab_size):.3f} for "
      f"words, log({config.entity_vocab_size}) = {math.log(config.entity_vocab_size):.3f} "
      "for entities")

# %% [markdown]
# ## Two stages
#
# LUKE starts from RoBERTa: the word embeddings and every transformer layer are initialised
# from `roberta-base` (or `roberta-large`), while the entity embeddings (and the entity
# head) start random. Training everything at once would let the random entity side disturb
# what RoBERTa knows, so pretraining runs in two stages (studio-ousia/luke's
# `pretraining.md`): stage 1 updates only the entity embeddings, with a large learning rate
# (`--fix-bert-weights` keeps the RoBERTa part fixed), and stage 2 trains the entire model
# with a small learning rate, starting from stage 1's checkpoint. During pretraining the
# attention is ordinary self-attention with one `query` matrix; the three entity-aware query
# matrices are added afterwards as copies of `query` (chapter 4).

# %% [markdown]
# ## `[MASK]` at pretraining, and at fine-tuning
#
# At pretraining `[MASK]` means "an entity is mentioned here; which?" and the model learns
# to build that entity's vector from the mention's words and the context. That is exactly
# what a fine-tuning task needs: an entity typing, relation or NER dataset gives a *span*,
# not a Wikipedia title, and most of its mentions are not among the 500,000 entities. So
# the fine-tuned models feed the `[MASK]` entity at each span (the tokenizer's `task=`
# settings do it) instead of a title: the representation comes from context, as it did in
# pretraining, and needs no entity linking.
#
# Relation classification has two entities, the head and the tail, and the relation has a
# direction (X *works for* Y is not Y *works for* X). Two `[MASK]` inputs are the same
# vector; the encoder treats its inputs as a set tied to positions, so swapping which span is
# the head and which the tail only swaps the two output vectors, and every word comes out
# the same: nothing inside the encoder knows which mention is the head. The second mask
# entity `[MASK2]` marks the tail. transformers' conversion starts it as a copy of `[MASK]`'s
# embedding (so on the published base checkpoints the two are still equal), and fine-tuning
# on relations moves it apart. We check the symmetry with the encoder.

# %%
model = LukeModel.from_state_dict(mlm.params, config)
head_span, tail_span = spans[0], spans[1]
pair_text = text


def run_pair(first, second, ids):
    """Encoder outputs with entity ids ``ids`` at the spans ``first`` and ``second``."""
    enc = tokenizer(pair_text, entity_spans=[first, second], return_tensors="np")
    enc["entity_ids"] = np.array([ids])
    return model(**enc)


same_a = run_pair(head_span, tail_span, [MASK, MASK])
same_b = run_pair(tail_span, head_span, [MASK, MASK])  # the roles swapped
two_a = run_pair(head_span, tail_span, [MASK, MASK2])
two_b = run_pair(tail_span, head_span, [MASK, MASK2])
gap_same_words = float(np.abs(same_a.last_hidden_state - same_b.last_hidden_state).max())
gap_same_entities = float(np.abs(same_a.entity_last_hidden_state
                                 - same_b.entity_last_hidden_state[:, ::-1]).max())
gap_two_words = float(np.abs(two_a.last_hidden_state - two_b.last_hidden_state).max())
entity_table = mlm.params["entity_embeddings.entity_embeddings.weight"]
mask2_is_mask_copy = bool(np.array_equal(entity_table[MASK2], entity_table[MASK]))
show("[MASK], [MASK]: max |word outputs, roles swapped - not swapped|", gap_same_words)
show("[MASK], [MASK]: entity outputs swapped with the roles, max gap", gap_same_entities)
show("[MASK2]'s embedding is a copy of [MASK]'s (as converted, before fine-tuning)",
     mask2_is_mask_copy)
show("[MASK], [MASK2]: max |word outputs, roles swapped - not swapped|", gap_two_words)

# %% [markdown]
# ## Exercises
#
# Fill in a function and run the chapter again: the last cell checks your answer (and
# otherwise the reference answer in `walkthrough/answers.py`).
#
# 1. `exercise_1(logits, label)`: the cross-entropy `-log softmax(logits)[label]` of one
#    row, without overflow for logits like `[1000, 0]`.
# 2. `exercise_2(entity_ids, chosen, mask_id)`: mask the chosen entities; return the new
#    ids and the labels (the original id where chosen, -100 elsewhere).
# 3. `exercise_3(logits, labels)`: the masked-LM loss of a batch, logits (batch, n, V) and
#    labels (batch, n) with -100 for positions to skip.


# %%
def exercise_1(logits, label):
    """-log softmax(logits)[label] for one row of logits (a float)."""
    raise NotImplementedError  # your answer here


def exercise_2(entity_ids, chosen, mask_id):
    """(masked ids, labels) for integer entity_ids and a boolean array ``chosen``."""
    raise NotImplementedError  # your answer here


def exercise_3(logits, labels):
    """Mean cross-entropy over the positions whose label is not -100 (a float)."""
    raise NotImplementedError  # your answer here


def check_exercise_1(solve):
    assert abs(solve(np.array([0.0, 0.0]), 1) - math.log(2)) < 1e-12
    assert abs(solve(np.array([1.0, 2.0, 3.0]), 2)
               - (math.log(math.exp(1) + math.exp(2) + math.exp(3)) - 3)) < 1e-12
    assert abs(solve(np.array([1000.0, 0.0]), 0)) < 1e-12  # no overflow


def check_exercise_2(solve):
    ids, chosen = np.array([5, 7, 9, 11]), np.array([False, True, False, True])
    new_ids, new_labels = solve(ids, chosen, 2)
    assert new_ids.tolist() == [5, 2, 9, 2] and new_labels.tolist() == [-100, 7, -100, 11]
    assert ids.tolist() == [5, 7, 9, 11], "the input ids must not change"


def check_exercise_3(solve):
    from numpy_luke.core.heads import cross_entropy

    r = np.random.default_rng(3)
    logits, labels = r.normal(size=(2, 5, 11)), r.integers(0, 11, (2, 5))
    labels[0, 1] = labels[1, 4] = -100
    assert abs(solve(logits, labels) - float(cross_entropy(logits, labels))) < 1e-12
    assert abs(solve(out.logits.astype(np.float64), labels_batch) - mlm_by_hand) < 1e-9


labels_batch = labels[None]

# %% [markdown]
# ## What this chapter claimed, checked

# %%
relative = 1e-5 if mlm.dtype == np.float32 else 1e-12
# Links became entity annotations: each anchor's span and its target title.
assert text == ("Lionel Messi plays for Inter Miami CF and captains the national team of "
                "Argentina.")
assert [text[s:e] for s, e in spans] == ["Lionel Messi", "Inter Miami CF", "national team",
                                         "Argentina"]
assert titles[2] == "Argentina national football team"
assert (entity_ids == [tokenizer.entity_vocab.get(t, 1) for t in titles]).all()
# Masking: at least one word and one entity chosen; masked entities are [MASK] (id 2), and
# labels hold the original ids exactly where something was chosen.
assert MASK == 2 and (masked_entity_ids[chosen_entities] == MASK).all()
assert (entity_labels[chosen_entities] == entity_ids[chosen_entities]).all()
assert ((entity_labels == -100) | (entity_labels == entity_ids)).all()
assert ((labels == -100) | (labels == input_ids)).all() and (labels != -100).sum() >= 1
assert all(labels[p] != -100 for w in chosen_words for p in words[w])  # whole words
# The losses by hand are LukeForMaskedLM's, and the total is their sum.
assert abs(mlm_by_hand - float(out.mlm_loss)) <= relative * abs(mlm_by_hand)
assert abs(mep_by_hand - float(out.mep_loss)) <= relative * abs(mep_by_hand)
assert abs(float(out.loss) - float(out.mlm_loss) - float(out.mep_loss)) <= relative * abs(
    float(out.loss))
# Two [MASK] entities: swapping head and tail swaps the entity outputs and leaves every word
# output as it was (up to float rounding); [MASK2] breaks the tie once it differs from
# [MASK].
tolerance = 1e-4 if mlm.dtype == np.float32 else 1e-10
assert gap_same_words < tolerance and gap_same_entities < tolerance
if mask2_is_mask_copy:
    assert gap_two_words < tolerance
else:
    assert gap_two_words > 10 * tolerance
print()
_common.check_exercises(globals(), chapter=9)
print("\nchapter 9: all checks passed")

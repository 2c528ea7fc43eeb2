# %% [markdown]
# # Chapter 9 — Pretraining: masked words and masked entities
#
# LUKE is three ideas: entities as tokens (chapters 2-3), entity-aware attention (chapter 4),
# and the pretraining task this chapter is about. Like BERT, LUKE learns by filling in
# blanks; unlike BERT, some blanks are *entities*. The model reads Wikipedia text in which
# words and entities have been hidden behind masks and is trained to name what was hidden:
# the word from RoBERTa's 50,265 tokens (roberta-base's `vocab.json`; the published
# checkpoints have 50,267 word rows:
# the conversion to transformers added `<ent>` and `<ent2>` for the fine-tuning tasks, so
# pretraining never saw them), the entity from an entity vocabulary of 500,000 entries, 4 of
# them special (`[PAD]`, `[UNK]`, `[MASK]`, `[MASK2]`) and 499,996 Wikipedia titles.
#
# This chapter builds one training example the way studio-ousia/luke's code makes the
# pretraining data, masks it as that code does, and computes the two losses by hand: the
# masked-word loss and the masked-entity loss, checked against
# `LukeForMaskedLM(..., labels=..., entity_labels=...)`. Then it takes one pretraining step
# on that example: both losses' gradients (what weight tying does to them; the
# masked-entity gradient derived by hand and checked by finite differences) and one AdamW
# update, after which the loss is lower.
#
# Sources, so you can check each number. The paper (Yamada et al., EMNLP 2020; its section
# "Pretraining Task" and the pretraining details after it; we cite it by section name and
# describe its equations by what they compute, in our own notation; the paper itself was not
# at hand when this chapter was checked, so every number below is taken from code, and the
# text says where the paper has to be read to confirm it). studio-ousia/luke, the authors'
# code (https://github.com/studio-ousia/luke): `pretraining.md`, `pretraining_config/`,
# `luke/pretraining/train.py`, `batch_generator.py` and `dataset.py`,
# `luke/utils/entity_vocab.py`, `luke/model.py`. transformers: `modeling_luke.py`,
# `tokenization_luke.py`, and its conversion script
# `convert_luke_original_pytorch_checkpoint_to_pytorch.py` (in transformers' repository
# under `src/transformers/models/luke/`; not shipped in the installed package).
#
# The counts: `entity_vocab_size` 500,000 and `vocab_size` 50,267 are luke-base's
# `config.json`. The four special entities are the ones transformers' `LukeTokenizer` names
# (`entity_pad_token` ... `entity_mask2_token`). To check on the real files:
# `len(tokenizer.entity_vocab)` and the titles that start with `[`.

# %%
import math
import re
import unicodedata

import _common
import numpy as np
from _common import show, table, title

from numpy_luke import LukeForMaskedLM, LukeModel, LukeTokenizer
from numpy_luke.core.functional import gelu, layer_norm, linear, softmax
from numpy_luke.training import AdamW

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
# The entity vocabulary is the most frequent link targets: `build-entity-vocab
# --vocab-size=500000` in `pretraining.md`; `EntityVocab.build` in
# `luke/utils/entity_vocab.py` puts `[PAD]`, `[UNK]`, `[MASK]` first and counts them in the
# 500,000. `[MASK2]` is the fourth special entity of the published vocabularies, used only
# by relation fine-tuning (the last section).
#
# Links to a title outside the vocabulary are not dropped: `pretraining.md` builds the
# dataset with `--include-unk-entities`, which keeps them as the `[UNK]` entity (id 1) at
# their mention (`luke/pretraining/dataset.py`). In the masking below they can be chosen
# like any other entity, and their label is then `[UNK]`: nothing in `batch_generator.py`
# or in the loss (`luke/pretraining/model.py`, which ignores only label -1) leaves them
# out, so the model is also trained to answer `[UNK]` for a mention of an entity it has no
# row for. That is what the code does; whether the paper says so is to be read in its
# pretraining details. We parse one made-up sentence in wiki markup the same way. Its four
# link targets are all in the tiny fixture's 33-entity vocabulary (with luke-base some may
# not be); a title that is not would get `[UNK]`, id 1, as in chapter 2.

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
# ## Masking: 15% of the word tokens, 15% of the entities
#
# The rates are the defaults of `luke/pretraining/train.py` (`--masked-lm-prob 0.15`,
# `--masked-entity-prob 0.15`), which `pretraining.md` does not change; the paper's section
# "Pretraining Task" describes masking 15% of words and entities. How the code applies them
# (`LukePretrainingBatchWorker` in `luke/pretraining/batch_generator.py`):
#
# * **Entities first**: `max(1, round(0.15 x number of entities))` of them, chosen at
#   random, each replaced by the special `[MASK]` entity (id 2); there is no random or
#   unchanged share (`--random-entity-prob 0`, `--unmasked-entity-prob 0`). The `[MASK]`
#   entity keeps its mention's position ids, so the model knows *where* the hidden entity is
#   mentioned, and must say *which* entity it is. (`--mask-words-in-entity-span`, off unless
#   given and not given in `pretraining.md`, would also mask the mention's words.)
# * **Words: a budget of subword tokens, filled with whole words.** The budget is
#   `max(1, round(0.15 x number of word tokens))`, counting BPE tokens between `<s>` and
#   `</s>`. The candidates are whole words (`--whole-word-masking`, the default): a token
#   continues the word before it unless it starts with a space or with a punctuation
#   character (`_is_subword`), so the `.` after "Argentina" is a word of its own. The
#   candidates are visited in random order, and a word is taken only if all its pieces fit
#   in what is left of the budget; the walk stops when the budget is exactly used. So the
#   masked share is 15% of the tokens (or a little less when no remaining word fits), not
#   15% of the words: choosing 15% of the words would mask more tokens, since long words
#   have several pieces.
# * **80/10/10 per chosen word**: one draw per word, for all its pieces: 80% `<mask>`, 10% a
#   random token id (from `pad_token_id + 1` up to the tokenizer's `vocab_size - 1`), 10%
#   unchanged (`--random-word-prob 0.1`, `--unmasked-word-prob 0.1`: `perform_masking`).
#   The model must predict the original token at every chosen position. This split is in
#   the code's defaults; it is BERT's (Devlin et al. 2019), and whether LUKE's paper states
#   it is to be checked in its pretraining details.
#
# Labels mark what is to be predicted: the original id at a masked position, -100 (ignored
# by the loss) everywhere else (the original code uses -1; transformers uses -100).

# %%
rng = np.random.default_rng(0)
WORD_RATE = ENTITY_RATE = 0.15
MASK, MASK2 = tokenizer.entity_vocab["[MASK]"], tokenizer.entity_vocab["[MASK2]"]

# Entities first: a fixed number, chosen at random, all become [MASK].
n_entities_to_mask = max(1, int(round(ENTITY_RATE * len(entity_ids))))
chosen_entities = rng.permutation(len(entity_ids))[:n_entities_to_mask]
masked_entity_ids = entity_ids.copy()
entity_labels = np.full_like(entity_ids, -100)
entity_labels[chosen_entities] = entity_ids[chosen_entities]
masked_entity_ids[chosen_entities] = MASK


def is_punctuation(char):
    """ASCII symbols and Unicode punctuation: batch_generator.py's _is_punctuation."""
    code = ord(char)
    return (33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126
            or unicodedata.category(char).startswith("P"))


def candidate_words(tokens):
    """Token positions of each whole word between <s> and </s> (positions 1 .. n-2): a
    token continues the word before it unless it starts with a space ("Ġ") or with a
    punctuation character."""
    words = []
    for i, token in enumerate(tokens[1:-1], start=1):
        continues = not token.startswith("Ġ") and not is_punctuation(token[0])
        if continues and words:
            words[-1].append(i)
        else:
            words.append([i])
    return words


words = candidate_words(tokens)
n_word_tokens = len(tokens) - 2  # between <s> and </s>
budget = max(1, int(round(WORD_RATE * n_word_tokens)))
masked_ids = input_ids.copy()
labels = np.full_like(input_ids, -100)
chosen_words, used = [], 0
for w in rng.permutation(len(words)):  # visit the words in random order
    positions = words[w]
    if len(positions) > budget - used:
        continue  # does not fit in what is left of the budget
    chosen_words.append(int(w))
    used += len(positions)
    labels[positions] = input_ids[positions]
    roll = rng.random()  # one draw for all pieces of the word
    if roll < 0.8:
        masked_ids[positions] = tokenizer.mask_token_id
    elif roll < 0.9:
        masked_ids[positions] = rng.integers(tokenizer.pad_token_id + 1, tokenizer.vocab_size,
                                             len(positions))
    # else: unchanged, but still to be predicted
    if used == budget:
        break
if used == 0:  # no word fitted: one random token instead, as batch_generator.py does
    at = int(rng.integers(1, n_word_tokens + 1))
    labels[at], masked_ids[at] = input_ids[at], tokenizer.mask_token_id
    used = 1

title("the masked example")
show("candidate words", [[tokens[i] for i in w] for w in words])
show("word tokens: 15% of", f"{n_word_tokens} tokens -> a budget of {budget}; "
     f"masked {used} ({used / n_word_tokens:.0%}) in {len(chosen_words)} whole words")
show("entities: 15% of", f"{len(entity_ids)} entities -> {n_entities_to_mask} masked")
show("masked tokens", tokenizer.convert_ids_to_tokens(masked_ids.tolist()))
show("labels", labels)
show("masked entity ids", masked_entity_ids)
show("entity_labels", entity_labels)

# %% [markdown]
# ## The two losses, by hand
#
# The masked-word head is chapter 6's: `dense -> gelu -> layer norm -> dot product with every
# word embedding + bias`. The masked-entity head is its twin over the entity vocabulary. In
# the checkpoints' form (transformers' `EntityPredictionHead`, which studio-ousia/luke's
# pretraining model uses), for the final vector `h_e` of a `[MASK]` entity,
#
#     m = layer_norm(gelu(W_h h_e + b_h))        W_h: hidden -> entity_emb_size
#     y = softmax(B m + b_o)                     B: the entity embedding matrix (tied)
#
# The paper's masked-entity-prediction equation (section "Pretraining Task") is not quite
# this: it keeps m at the hidden size and multiplies by a further matrix (the paper's T)
# to reach the entity embeddings' size, as chapter 6 explains; the checkpoints have no T,
# their dense layer maps straight to `entity_emb_size`. The masked-word prediction is the
# same with the word embedding matrix (at the hidden size, no T). Each loss is the
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
# ## One pretraining step: both losses' gradients, one update
#
# Training moves every parameter against its gradient, the derivative of the loss with
# respect to it. PyTorch gets the gradients from autograd; numpy_luke derives each one by
# hand, beside the forward it differentiates (`numpy_luke/training/`, chapter 11), and
# `loss_and_gradients` returns the loss and `{name: dloss/dparameter}` under the names of
# `model.state_dict()` (transformers' parameter names). For `LukeForMaskedLM` it takes the
# same labels as the call above: `labels=` for the words, `entity_labels=` for the entities.
#
# This section always runs on the tiny fixture, in float64 (`from_pretrained(...,
# dtype=np.float64)`), as chapter 11 does: in float64 central finite differences check a
# gradient to about 1e-8, and luke-base's 253M parameters would take 2 GB in float64 before
# the first gradient. On the fixture it is the example above; with another `--model` it is
# the same text, the same entities and the same whole words masked, tokenized by the
# fixture's tokenizer.
#
# **The total loss is a plain sum.** transformers' `LukeForMaskedLM.forward` computes
# `mlm_loss` and `mep_loss`, each with `nn.CrossEntropyLoss` (a mean over its own labelled
# positions, -100 skipped), and returns `loss = mlm_loss + mep_loss` (only one of them when
# only one kind of label is given); studio-ousia/luke's `LukePretrainingModel`
# (`luke/pretraining/model.py`) adds its masked-entity and masked-word losses the same way.
# There is no weight between them, but each is a mean over its own count: the M_e masked
# entities of a batch weigh as much, together, as its M_w masked words, so one masked
# entity's gradient is divided by M_e and one masked word's by M_w.

# %%
if _common.is_fixture(model_name):
    step_inputs, step_labels, step_entity_labels = inputs, labels, entity_labels
else:  # the same example on the fixture: same text and entities, same whole words masked
    fixture_tokenizer = LukeTokenizer.from_pretrained(_common.FIXTURE)
    step_inputs = dict(fixture_tokenizer(text, entity_spans=spans, entities=titles,
                                         return_tensors="np"))
    step_ids = step_inputs["input_ids"][0]  # (words,)
    step_words = candidate_words(fixture_tokenizer.convert_ids_to_tokens(step_ids.tolist()))
    assert len(step_words) == len(words)  # whole words start at spaces and punctuation
    step_labels = np.full_like(step_ids, -100)
    for w in chosen_words:
        step_labels[step_words[w]] = step_ids[step_words[w]]
    step_inputs["input_ids"] = np.where(step_labels != -100, fixture_tokenizer.mask_token_id,
                                        step_ids)[None]  # (1, words)
    step_entity_labels = np.where(entity_labels != -100, step_inputs["entity_ids"][0], -100)
    step_inputs["entity_ids"] = np.where(entity_labels != -100,
                                         fixture_tokenizer.entity_vocab["[MASK]"],
                                         step_inputs["entity_ids"])  # (1, entities)

mlm64 = LukeForMaskedLM.from_pretrained(_common.FIXTURE, dtype=np.float64)
step_targets = dict(labels=step_labels[None], entity_labels=step_entity_labels[None])
step_loss, gradients = mlm64.loss_and_gradients(**step_inputs, **step_targets)
out64 = mlm64(**step_inputs, **step_targets, output_hidden_states=True)
state = mlm64.state_dict()  # the model's own arrays, under transformers' names
title("one step's gradients (the tiny fixture, float64)")
show("loss = mlm_loss + mep_loss", f"{float(step_loss):.6f} = {float(out64.mlm_loss):.6f} "
     f"+ {float(out64.mep_loss):.6f}")
show("names in state_dict() / with a gradient", f"{len(state)} / {len(gradients)}")
show("names without a gradient", sorted(set(state) - set(gradients)))

# %% [markdown]
# ## Tied decoders: one table, two uses, one summed gradient
#
# The word decoder *is* the word embedding table, and the entity decoder *is* the entity
# embedding table (chapter 6): transformers' `LukeForMaskedLM` ties them (`tie_weights`),
# studio-ousia/luke's pretraining model assigns one to the other. `state_dict()` lists
# `lm_head.decoder.weight` and `entity_predictions.decoder.weight` (and
# `lm_head.decoder.bias`, which is `lm_head.bias`), but they are the very arrays of their
# owners. An array used twice has one gradient, the sum of both uses' (the chain rule adds
# the paths), and `loss_and_gradients` gives it once, under the owner's name (the embedding
# table), as torch's `named_parameters()` lists a tied tensor once. The two parts differ:
#
# * **the decoder's part is dense.** With m_r the head's vector at a masked position r
#   (`LayerNorm(gelu(dense(h_r)))`, chapter 6), the logits are z_r = E m_r + b, and, as
#   chapter 10 derives, dL/dz_r = (softmax(z_r) - onehot(y_r)) / M. So the decoder adds
#   sum_r dL/dz_r m_r^T to dL/dE: *every* row v gets p_rv m_r / M (a descent step pushes it
#   away from m_r), and the true id's row gets (p_ry - 1) m_r / M (pulled towards m_r, much
#   harder while p is small: those rows have the largest norms). The softmax reaches the
#   whole vocabulary.
# * **the lookup's part is sparse**: rows of the ids in the *input* only (the masked input
#   holds `<mask>` or `[MASK]`, not the true id), each the sum over every place its id
#   appears (chapter 11's `lookup_backward`).
#
# We compute the decoder's part by hand from the last hidden states, with the core's
# functions, and take it away from the library's gradient: what is left must sit on the
# rows of the input ids and nowhere else.

# %%
def head_vectors(hidden, dense, norm):
    """m = LayerNorm(gelu(dense(h))): a prediction head's vector before its decoder."""
    activated = gelu(linear(hidden, state[f"{dense}.weight"], state[f"{dense}.bias"]))
    return layer_norm(activated, state[f"{norm}.weight"], state[f"{norm}.bias"],
                      mlm64.config.layer_norm_eps)


def logit_gradient(logits, labels):
    """dL/dz of the mean cross-entropy: (softmax(z) - onehot(y)) / M on the M labelled
    rows, 0 on the others. (rows, classes), (rows,) -> (rows, classes)"""
    keep = labels != -100  # (rows,)
    d = softmax(logits, axis=-1)  # (rows, classes)
    d[np.flatnonzero(keep), labels[keep]] -= 1
    return d * keep[:, None] / keep.sum()


WORD_TABLE = "luke.embeddings.word_embeddings.weight"
ENTITY_TABLE = "luke.entity_embeddings.entity_embeddings.weight"
sides = {
    "words": (WORD_TABLE, "lm_head.decoder.weight", "lm_head.bias",
              head_vectors(out64.hidden_states[-1][0], "lm_head.dense", "lm_head.layer_norm"),
              step_labels, step_inputs["input_ids"][0], mlm64.config.pad_token_id),
    "entities": (ENTITY_TABLE, "entity_predictions.decoder.weight", "entity_predictions.bias",
                 head_vectors(out64.entity_hidden_states[-1][0],
                              "entity_predictions.transform.dense",
                              "entity_predictions.transform.LayerNorm"),
                 step_entity_labels, step_inputs["entity_ids"][0], 0),  # [PAD] is entity 0
}
tied = {}
for side, (table_name, decoder_name, bias_name, m, side_labels, ids, pad) in sides.items():
    z = m @ state[decoder_name].T + state[bias_name]  # (positions, vocab): the head's logits
    library_logits = (out64.logits if side == "words" else out64.entity_logits)[0]
    dz = logit_gradient(z, side_labels)  # (positions, vocab)
    decoder_part = dz.T @ m  # (vocab, width): every row
    lookup_part = gradients[table_name] - decoder_part  # (vocab, width)
    scale = float(np.abs(gradients[table_name]).max())
    norms = np.linalg.norm(decoder_part, axis=1)  # (vocab,)
    targets = np.unique(side_labels[side_labels != -100])
    tied[side] = dict(
        same_array=state[decoder_name] is state[table_name],
        logit_gap=float(np.abs(z - library_logits).max()), dz=dz,
        decoder_rows=int(np.count_nonzero(norms)), vocab=len(norms), targets=targets,
        strongest=np.sort(np.argsort(-norms)[:len(targets)]),
        lookup_rows=np.flatnonzero(np.abs(lookup_part).max(axis=1) > 1e-12 * scale),
        input_rows=np.setdiff1d(ids, [pad]))  # the ids the lookup read, padding excluded
title("the tied tables' gradients: decoder part + lookup part")
for side, t in tied.items():
    show(f"{side}: `{sides[side][1]}` is `{sides[side][0]}`", t["same_array"])
    show("  rows of the decoder's part that are not zero", f"{t['decoder_rows']} of {t['vocab']}")
    show("  the true ids (labels)", t["targets"].tolist())
    show("  the decoder part's largest rows", t["strongest"].tolist())
    show("  rows left after taking the decoder part away", t["lookup_rows"].tolist())
    show("  the input ids (padding excluded)", t["input_rows"].tolist())

# %% [markdown]
# ## The masked-entity gradient by hand, and by finite differences
#
# The bias `entity_predictions.bias` (b_e, one entry per entity) is read only by the
# masked-entity loss, and only through z_r = B m_r + b_e, so its gradient is the logit
# gradient above summed over the entity rows:
#
#     dL/db_e = sum over masked entities r of (softmax(z_r) - onehot(y_r)) / M_e
#
# over the masked positions only (the others have no label, so no term), divided by their
# count. It sums to 0 (each softmax sums to 1, each one-hot too): the true entity's entry
# is negative (a descent step raises its score), every other entry is positive. The word
# bias `lm_head.bias` is the same with the M_w masked words. We check both against
# `loss_and_gradients`, and sampled entries against central finite differences of the
# model's own loss, `(L(w + eps) - L(w - eps)) / (2 eps)` with eps = 1e-6, as chapter 11
# does: nudging an entry of a tied table moves both of its uses at once, so for the tables
# this checks the sum. The entries: in each table, the row of a true id that the masked
# input does not hold (the decoder's part only) and a row that the input holds, `[MASK]`'s
# and `<s>`'s (both parts); the biases at the true ids.

# %%
hand_biases = {"entity_predictions.bias": tied["entities"]["dz"].sum(axis=0),
               "lm_head.bias": tied["words"]["dz"].sum(axis=0)}
bias_gaps = {name: float(np.abs(hand - gradients[name]).max())
             for name, hand in hand_biases.items()}


def finite_difference(name, index, eps=1e-6):
    """Central difference of the model's loss in one entry of state_dict()[name]."""
    array = state[name]
    old = array[index]
    array[index] = old + eps
    up = float(mlm64(**step_inputs, **step_targets).loss)
    array[index] = old - eps
    down = float(mlm64(**step_inputs, **step_targets).loss)
    array[index] = old
    return (up - down) / (2 * eps)


def largest_in_row(name, row):
    return row, int(np.abs(gradients[name][row]).argmax())


def decoder_only_row(side):
    """A true id that the masked input does not hold: its row has the decoder's part only."""
    rows = np.setdiff1d(tied[side]["targets"], tied[side]["input_rows"])
    return int(rows[0] if len(rows) else tied[side]["targets"][0])


true_entity, true_word = decoder_only_row("entities"), decoder_only_row("words")
mask_entity = int(step_inputs["entity_ids"][0][step_entity_labels != -100][0])
samples = [
    ("entity_predictions.bias", (true_entity,)),
    ("entity_predictions.bias", (int(np.abs(hand_biases["entity_predictions.bias"]
                                             ).argsort()[-2]),)),
    ("lm_head.bias", (true_word,)),
    (ENTITY_TABLE, largest_in_row(ENTITY_TABLE, true_entity)),
    (ENTITY_TABLE, largest_in_row(ENTITY_TABLE, mask_entity)),
    (WORD_TABLE, largest_in_row(WORD_TABLE, true_word)),
    (WORD_TABLE, largest_in_row(WORD_TABLE, int(step_inputs["input_ids"][0][0]))),
]
fd_rows = []
for name, index in samples:
    hand = hand_biases[name][index] if name in hand_biases else None
    fd_rows.append((name, index, "" if hand is None else f"{hand:.10f}",
                    f"{gradients[name][index]:.10f}", f"{finite_difference(name, index):.10f}"))
title("gradients: by hand, loss_and_gradients, finite differences")
table(fd_rows, header=("parameter", "entry", "by hand", "loss_and_gradients",
                       "finite difference"))
show("max |hand - library| for the two biases", max(bias_gaps.values()))
fd_error = max(abs(float(library) - float(fd)) for *_, library, fd in fd_rows)
show("max |library - finite difference| on these entries", fd_error)

# %% [markdown]
# ## One AdamW update
#
# AdamW (`numpy_luke/training/optim.py`, as `torch.optim.AdamW`; chapter 11) updates every
# parameter from its gradient g. At the first step its running means are m = (1 - beta1) g
# and v = (1 - beta2) g**2, and the bias corrections divide them back to g and g**2, so
# after the decay p <- p (1 - lr weight_decay) the step is
#
#     p <- p - lr g / (|g| + eps)
#
# about lr for *every* entry with a gradient, whatever its size, against the sign of g: a
# sign step. The pretraining runs used betas (0.9, 0.999), eps 1e-6 and weight decay 0.01
# (the table in the next section); the rate 1e-3 is ours, larger than both stages' peaks
# (5e-4 and 1e-5) so that one step on one example shows. We step every parameter, as stage
# 2 does (stage 1 would pass AdamW only the entity side's gradients: a parameter without a
# gradient is left alone, as chapter 10 uses), and compute the losses again on the same
# example.

# %%
LR, DECAY, ADAM_EPS = 1e-3, 0.01, 1e-6
before = {name: state[name].copy() for name in gradients}
optimizer = AdamW(mlm64, lr=LR, betas=(0.9, 0.999), eps=ADAM_EPS, weight_decay=DECAY)
optimizer.step(gradients)
state = mlm64.state_dict()
after = mlm64(**step_inputs, **step_targets)
sign_step_error = max(
    float(np.abs(state[name] - (before[name] * (1 - LR * DECAY)
                                - LR * g / (np.abs(g) + ADAM_EPS))).max())
    for name, g in gradients.items())
title("one AdamW step (lr 1e-3) on the same example")
table([("masked words", f"{float(out64.mlm_loss):.6f}", f"{float(after.mlm_loss):.6f}"),
       ("masked entities", f"{float(out64.mep_loss):.6f}", f"{float(after.mep_loss):.6f}"),
       ("sum", f"{float(step_loss):.6f}", f"{float(after.loss):.6f}")],
      header=("loss", "before", "after one step"))
show("max |AdamW - (p (1 - lr wd) - lr g / (|g| + eps))| over every parameter",
     sign_step_error)


# %% [markdown]
# ## Two stages
#
# LUKE starts from RoBERTa: the word embeddings and every transformer layer are initialised
# from `roberta-base` (or `roberta-large`), while everything on the entity side starts
# random (`init_weights` in `luke/model.py`: normal, standard deviation 0.02): the entity
# table, its projection to the hidden size, the entity position and token-type tables,
# their layer norm and the entity prediction head. Training everything at once would let
# the random entity side disturb what RoBERTa knows, so pretraining runs in two stages
# (`pretraining.md`):
#
# * **Stage 1** trains only the entity side: `--fix-bert-weights` freezes every parameter,
#   then unfreezes `entity_embeddings` (all the entity tables above) and
#   `entity_predictions` (the entity head), in `create_model_and_config` of
#   `luke/pretraining/train.py`. So stage 1 trains the entity embeddings *and* the head
#   that predicts entities; the word side, the encoder and the word head stay RoBERTa's.
# * **Stage 2** trains the entire model, starting from stage 1's last checkpoint
#   (`--resume-checkpoint-id`, with `--reset-optimization-states`).
#
# The numbers, from the DeepSpeed files `pretraining_config/luke_base_stage1.json`,
# `luke_base_stage2.json` (and the `luke_large_*` pair, identical):
#
# | | stage 1 | stage 2 |
# | --- | --- | --- |
# | learning rate (peak) | 5e-4 | 1e-5 |
# | batch size | 2,048 | 2,048 |
# | schedule | 2,500 steps of linear warm-up, then linear decay (`WarmupDecayLR`) | the same |
# | `total_num_steps` in the file | 98,168 | 98,168 |
# | optimizer | AdamW, betas (0.9, 0.999), eps 1e-6, weight decay 0.01 | the same |
#
# `pretraining.md` computes `total_num_steps` as `ceil(examples / 2,048 x 20 epochs)`
# (`compute-total-training-steps --train-batch-size=2048 --num-epochs=20`) and says to set
# it in the file. These files were added to studio-ousia/luke in 2022 ("the configuration
# files corresponding to our publicized models", `pretraining.md`); the paper's
# pretraining details give the 2020 run's own figures, which were not at hand here: read
# them there before quoting a step count for the paper.
#
# **luke-large** is the same recipe on `roberta-large`: 24 layers, hidden 1,024 (the size
# the conversion script checks, (1, 42, 1024)), intermediate 4,096, 16 heads (RoBERTa-large's
# configuration, which `create_model_and_config` copies), entity embeddings 256
# (`--entity-emb-size` default), 500,000 entities: 484.2M parameters counted from these
# shapes (embeddings, layers and pooler; our count, 2026-12-05), the "484 M" of
# studio-ousia/luke's `README.md` (luke-base: 253.2M, "253 M").
#
# **Entity-aware attention was not used in pretraining.** The pretraining model
# (`LukeModel` in `luke/model.py`) stacks transformers' plain `BertLayer`s, one `query`
# matrix; ikuyamada confirms it in studio-ousia/luke issue #76 (pretraining with the vanilla
# self-attention, the entity-aware queries introduced only at fine-tuning, initialised from
# `query`). The three entity-aware query matrices are added afterwards as copies of `query`
# (chapter 4). So the pretrained checkpoints compute ordinary attention, and what
# entity-aware attention adds is learned in fine-tuning: the fine-tuning recipes of
# studio-ousia/luke's `examples/` train LUKE with the
# `transformers_luke_with_entity_aware_attention.jsonnet` configs (each task also has a
# `transformers_luke.jsonnet` without it). Which of the paper's results use it, and by how
# much it changes them, is in the paper's experiments and its ablation of the mechanism:
# check there; this chapter does not quote those numbers.

# %% [markdown]
# ## `[MASK]` at pretraining, and at fine-tuning
#
# At pretraining `[MASK]` means "an entity is mentioned here; which?" and the model learns
# to build that entity's vector from the mention's words and the context. That is what a
# fine-tuning task needs: an entity typing, relation or NER dataset gives a *span*, not a
# Wikipedia title, and linking each span to a title first would be a task of its own (with
# errors of its own). So the fine-tuned models feed the `[MASK]` entity at each span (the
# tokenizer's `task=` settings do it) instead of a title: the representation comes from
# context, as it did in pretraining, and needs no entity linking. (The original fine-tuning
# code does the same: `examples/legacy/*/main.py` in studio-ousia/luke starts the task's
# entity rows as copies of `[MASK]`'s embedding.)
#
# ## Head and tail: the markers, the order, and `[MASK2]`
#
# Relation classification has two entities, the head and the tail, and the relation has a
# direction (X *works for* Y is not Y *works for* X). Three things in the input and the head
# tell them apart (`task="entity_pair_classification"`, chapter 2):
#
# 1. **Markers in the words.** The tokenizer puts `<ent>` before and after the head mention
#    and `<ent2>` around the tail. They are different word vectors (the conversion started
#    them as copies of `@` and `#`), so the encoder's word side sees which mention is which.
#    The entity position rows *include* the markers: the head entity's positions run from
#    its first `<ent>` to its second, as in the typing task (transformers'
#    `tokenization_luke.py` widens each token span by the two markers; the original code,
#    `examples/legacy/relation_classification/utils.py`, does the same with its
#    `[HEAD]`/`[TAIL]` tokens).
# 2. **Order at the head.** The classifier reads `[h_head; h_tail]`: entity row 0 is the
#    head, row 1 the tail, whatever the text order, so even identical entity inputs leave
#    the classifier able to tell the direction.
# 3. **`[MASK2]`, the tail's entity input.** The head gets `[MASK]`, the tail `[MASK2]`.
#    As converted, `[MASK2]`'s embedding is a copy of `[MASK]`'s (transformers' conversion
#    script), so at the start of fine-tuning it adds nothing to 1 and 2. What it adds is a
#    second entity vector that fine-tuning may move apart from `[MASK]`, so the role can be
#    marked on the entity side too, at the input of every layer, not only through the
#    markers' words. The original code names them for what they are, `[HEAD]` and `[TAIL]`
#    entities, both initialised from `[MASK]` (ikuyamada in studio-ousia/luke issue #38).
#    How much this second vector helps beyond the markers is not measured in any source
#    used here; to find out, fine-tune once with `[MASK]`, `[MASK2]` and once with
#    `[MASK]`, `[MASK]` and compare.
#
# We check each on the encoder, with the task's real input. First without markers (plain
# spans, `[MASK]` twice): nothing inside the encoder knows which mention is the head, so
# swapping the roles only swaps the two entity outputs and leaves every word output the
# same. Then with the task's markers: swapping the roles changes the words' outputs. Then
# `[MASK2]` against `[MASK]` for the tail, markers in place: no change while `[MASK2]` is
# still a copy of `[MASK]` (luke-base and its stand-in), a change once they differ (the
# tiny fixture's random rows, or a fine-tuned checkpoint).

# %%
model = LukeModel.from_state_dict(mlm.params, config)
pair_tokenizer = LukeTokenizer.from_pretrained(model_name, task="entity_pair_classification")
head_span, tail_span = spans[0], spans[1]
pair_text = text


def run_plain(first, second):
    """Encoder outputs, no markers, [MASK] at both spans."""
    enc = tokenizer(pair_text, entity_spans=[first, second], return_tensors="np")
    enc["entity_ids"] = np.array([[MASK, MASK]])
    return model(**enc)


def run_task(head, tail, tail_entity):
    """Encoder outputs with the relation task's input: markers, [MASK] for the head and
    ``tail_entity`` for the tail."""
    enc = pair_tokenizer(pair_text, entity_spans=[head, tail], return_tensors="np")
    enc["entity_ids"] = np.array([[MASK, tail_entity]])
    return model(**enc)


plain_a, plain_b = run_plain(head_span, tail_span), run_plain(tail_span, head_span)
gap_plain_words = float(np.abs(plain_a.last_hidden_state - plain_b.last_hidden_state).max())
gap_plain_entities = float(np.abs(plain_a.entity_last_hidden_state
                                  - plain_b.entity_last_hidden_state[:, ::-1]).max())
pair_enc = pair_tokenizer(pair_text, entity_spans=[head_span, tail_span], return_tensors="np")
marked_a = run_task(head_span, tail_span, MASK)
marked_b = run_task(tail_span, head_span, MASK)
same_shape = marked_a.last_hidden_state.shape == marked_b.last_hidden_state.shape
gap_marked_words = float(np.abs(marked_a.last_hidden_state - marked_b.last_hidden_state).max())
with_mask2 = run_task(head_span, tail_span, MASK2)
gap_mask2 = float(np.abs(with_mask2.last_hidden_state - marked_a.last_hidden_state).max())
pair_tokens = pair_tokenizer.convert_ids_to_tokens(pair_enc["input_ids"][0].tolist())
entity_table = mlm.params["entity_embeddings.entity_embeddings.weight"]
mask2_is_mask_copy = bool(np.array_equal(entity_table[MASK2], entity_table[MASK]))

title("the relation task's input")
show("tokens", pair_tokens)
show("entity ids (head, tail): [MASK], [MASK2]", pair_enc["entity_ids"][0])
for name, row in zip(("head", "tail"), pair_enc["entity_position_ids"][0], strict=True):
    kept = row[row != -1]
    show(f"{name} positions", f"{kept.tolist()}: {[pair_tokens[i] for i in kept]}")
title("what tells head from tail")
show("no markers, [MASK] twice: max |word outputs, roles swapped - not|", gap_plain_words)
show("no markers, [MASK] twice: entity outputs swapped with the roles, max gap",
     gap_plain_entities)
show("markers, [MASK] twice: max |word outputs, roles swapped - not|", gap_marked_words)
show("[MASK2]'s embedding is a copy of [MASK]'s (as converted, before fine-tuning)",
     mask2_is_mask_copy)
show("markers: max |word outputs with [MASK2] - with [MASK] for the tail|", gap_mask2)

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
# The word budget is 15% of the word tokens, and it is never exceeded: exactly what was
# labelled (on this example every token of the budget found a word that fits).
assert budget == max(1, int(round(0.15 * n_word_tokens)))
assert (labels != -100).sum() == used <= budget
assert n_entities_to_mask == max(1, int(round(0.15 * len(entity_ids))))
# Words start at a space or at punctuation: "Argentina." is two words, and every token
# between <s> and </s> is in exactly one word.
assert [tokens[i] for i in words[-1]] == ["."]
assert sorted(i for w in words for i in w) == list(range(1, len(tokens) - 1))
# The losses by hand are LukeForMaskedLM's, and the total is their sum.
assert abs(mlm_by_hand - float(out.mlm_loss)) <= relative * abs(mlm_by_hand)
assert abs(mep_by_hand - float(out.mep_loss)) <= relative * abs(mep_by_hand)
assert abs(float(out.loss) - float(out.mlm_loss) - float(out.mep_loss)) <= relative * abs(
    float(out.loss))
# One pretraining step (the fixture, float64). loss_and_gradients' loss is the model's, the
# plain sum of the two means; every parameter has a gradient except the tied names and the
# pooler (no pretraining loss reads it).
assert abs(float(step_loss) - float(out64.loss)) < 1e-12
assert abs(float(out64.loss) - float(out64.mlm_loss) - float(out64.mep_loss)) < 1e-12
assert set(state) - set(gradients) == {"lm_head.decoder.weight", "lm_head.decoder.bias",
                                       "entity_predictions.decoder.weight",
                                       "luke.pooler.dense.weight", "luke.pooler.dense.bias"}
# Each tied decoder is its table; the table's one gradient is the decoder's part, dense over
# every row and strongest at the true ids, plus the lookup's part on the input ids' rows only.
for t in tied.values():
    assert t["same_array"] and t["logit_gap"] < 1e-12
    assert t["decoder_rows"] == t["vocab"]
    assert t["strongest"].tolist() == t["targets"].tolist()
    assert t["lookup_rows"].tolist() == t["input_rows"].tolist()
# The biases' gradients by hand: softmax minus one-hot over the masked positions, divided by
# their count; each sums to 0, negative at the true ids only. Finite differences agree.
assert max(bias_gaps.values()) < 1e-12
for name, side in (("entity_predictions.bias", "entities"), ("lm_head.bias", "words")):
    assert abs(hand_biases[name].sum()) < 1e-12
    assert np.flatnonzero(hand_biases[name] < 0).tolist() == tied[side]["targets"].tolist()
assert fd_error < 1e-6 * max(1.0, max(abs(float(row[3])) for row in fd_rows))
# One AdamW step is the sign step p (1 - lr wd) - lr g / (|g| + eps), and the loss falls.
assert sign_step_error < 1e-12
assert float(after.loss) < float(step_loss), (float(step_loss), float(after.loss))
# No markers, [MASK] twice: swapping head and tail swaps the entity outputs and leaves every
# word output as it was (up to float rounding). With the task's markers the words see the
# roles. [MASK2] changes nothing while it is a copy of [MASK], and something once it is not.
tolerance = 1e-4 if mlm.dtype == np.float32 else 1e-10
assert gap_plain_words < tolerance and gap_plain_entities < tolerance
assert same_shape and gap_marked_words > 10 * tolerance
if mask2_is_mask_copy:
    assert gap_mask2 < tolerance
else:
    assert gap_mask2 > 10 * tolerance
# The pair task's entity position rows include the markers: each row runs from a marker to
# the same marker, <ent> for the head and <ent2> for the tail.
for row, marker in zip(pair_enc["entity_position_ids"][0], ("<ent>", "<ent2>"), strict=True):
    kept = row[row != -1]
    assert pair_tokens[kept[0]] == pair_tokens[kept[-1]] == marker
    assert list(kept) == list(range(kept[0], kept[-1] + 1))
assert pair_enc["entity_ids"][0].tolist() == [MASK, MASK2]
print()
_common.check_exercises(globals(), chapter=9)
print("\nchapter 9: all checks passed")

# %% [markdown]
# # Chapter 10 — Fine-tuning, done in NumPy
#
# A pretrained LUKE (chapter 9) knows words and entities; a *task* needs a head: one linear
# layer, `classifier`, on a task-specific choice of the encoder's output vectors (chapter 6
# ran the heads forward). Fine-tuning trains the head together with the whole encoder. First
# we keep the encoder frozen and train the head alone, which is the same mathematics at the
# last layer and needs nothing but NumPy: we derive the gradient by hand, check it against
# finite differences, and run gradient descent until the training loss falls. Then we
# fine-tune the full model on the same task with numpy_luke's hand-derived gradients and
# AdamW, compare the two runs, and watch the four query matrices train apart.
#
# ## How each task was fine-tuned
#
# The paper's experiments (Yamada et al. 2020, its section "Experiments") fine-tune one head
# per task (studio-ousia/luke's recipes for these tasks switch entity-aware attention on,
# which pretraining did not use: chapter 9); the tokenizer's `task=` builds the input layout
# of each (chapter 2; the head sizes below are the `classifier` layers of transformers'
# `LukeForEntityClassification`, `LukeForEntityPairClassification` and
# `LukeForEntitySpanClassification` in `modeling_luke.py`):
#
# * **Entity typing** (Open Entity). Input: `<ent>` before and after the mention, one
#   `[MASK]` entity at it. The classifier reads the entity's final vector `h_e` (hidden).
#   Loss: binary cross-entropy per type, since several types may hold at once.
# * **Relation classification** (TACRED). Input: `<ent>` around the head mention, `<ent2>`
#   around the tail; entities `[MASK]` (head) and `[MASK2]` (tail). The classifier reads
#   `[h_head; h_tail]` (2 x hidden). Loss: cross-entropy over the relations, one of which is
#   "no relation".
# * **Named entity recognition** (CoNLL-2003). Input: every candidate span as a `[MASK]`
#   entity. The classifier reads `[h_first word; h_last word; h_e]` per span (3 x hidden).
#   Loss: cross-entropy per span over the entity types plus "not an entity".
#
# In symbols, for a relation example with head and tail vectors `h1`, `h2` and `R`
# relations, the head computes (our notation; the paper writes the same linear classifier
# on the concatenated entity representations)
#
#     z = W [h1; h2]                 W: (R, 2 hidden), no bias in transformers' head
#                                    (`nn.Linear(hidden_size * 2, num_labels, False)`)
#     p = softmax(z)
#     loss = mean over examples of -log p[true relation]
#
# The real fine-tuning also updates the encoder (and with it the three entity-aware query
# matrices, chapter 4) and applies dropout. The frozen encoder keeps the first part exact
# and fast; the last sections update the encoder too (on the tiny fixture, without dropout,
# so that the comparison is exact), and chapter 11 adds dropout and the learning-rate
# schedule. Fine-tuned checkpoints also ship their own tokenizer settings (the CoNLL-2003 one
# sets `task`, `max_entity_length`, `max_mention_length` and `add_prefix_space` in its
# tokenizer_config.json), which `from_pretrained` picks up.

# %%
import warnings

import _common
import numpy as np
from _common import show, table, title

from numpy_luke import LukeConfig, LukeForEntityPairClassification, LukeModel, LukeTokenizer
from numpy_luke.core.heads import binary_cross_entropy_with_logits, cross_entropy, span_features
from numpy_luke.training import AdamW

model_name = _common.model_name()
tokenizer = LukeTokenizer.from_pretrained(model_name)
encoder = LukeModel.from_pretrained(model_name)
config = encoder.config
print(encoder)

# %% [markdown]
# ## A small relation dataset, made here
#
# Sentences from three templates, one per relation, with the head and tail spans found in
# the text. The labels are the template's relation. (On the tiny random fixture or the
# random stand-in the encoder knows nothing, so the head can only learn the templates'
# surface; the mechanics are the same as with a trained encoder.)

# %%
RELATIONS = ["born_in", "plays_for", "no_relation"]
TEMPLATES = {
    "born_in": "{head} was born in {tail}.",
    "plays_for": "{head} plays for {tail}.",
    "no_relation": "{head} once met {tail} at a party.",
}
PEOPLE = ["Lionel Messi", "Cristiano Ronaldo", "Beyoncé", "Albert Einstein"]
TAILS = {
    "born_in": ["Rosario", "Tokyo", "Paris", "Los Angeles"],
    "plays_for": ["Inter Miami CF", "Real Madrid CF", "FC Barcelona", "Manchester United F.C."],
    "no_relation": PEOPLE,
}


def make_dataset(per_relation=8, seed=0):
    """(texts, [(head span, tail span)], label ids), balanced over the relations."""
    rng = np.random.default_rng(seed)
    texts, pairs, labels = [], [], []
    for label, relation in enumerate(RELATIONS):
        for _ in range(per_relation):
            head = PEOPLE[rng.integers(len(PEOPLE))]
            tail = [t for t in TAILS[relation] if t != head][rng.integers(3)]
            text = TEMPLATES[relation].format(head=head, tail=tail)
            start_head, start_tail = text.index(head), text.rindex(tail)
            texts.append(text)
            pairs.append([(start_head, start_head + len(head)),
                          (start_tail, start_tail + len(tail))])
            labels.append(label)
    return texts, pairs, np.array(labels)


texts, pairs, y = make_dataset()
table([(t, RELATIONS[label]) for t, label in zip(texts[::8], y[::8], strict=True)],
      header=("example sentence", "relation"))
show("examples", len(texts))

# %% [markdown]
# ## Frozen features: `[h_head; h_tail]`
#
# One batched forward pass of the encoder with the relation layout (`<ent>`/`<ent2>` markers,
# `[MASK]` and `[MASK2]` entities). The head's input for example i is `x_i = [h1; h2]`; we
# keep the features in float64 for the gradient check.

# %%
batch = tokenizer(texts, entity_spans=pairs, task="entity_pair_classification",
                  padding=True, return_tensors="np")
show("entity ids of the first example ([MASK], [MASK2])", batch["entity_ids"][0])
states = encoder(**batch).entity_last_hidden_state  # (examples, 2, hidden)
X = np.concatenate([states[:, 0], states[:, 1]], axis=-1).astype(np.float64)  # (N, 2 hidden)
N, D = X.shape
R = len(RELATIONS)
show("features X (examples, 2 hidden)", X.shape)

# %% [markdown]
# ## The gradient, by hand
#
# With `Z = X W^T` (N, R), `P = softmax(Z)` row by row and `Y` the one-hot labels, the mean
# cross-entropy is `L = -(1/N) sum_i log P[i, y_i]`. Its derivative with respect to the
# logits is the well-known `dL/dZ = (P - Y) / N`: the softmax's derivative and the log's
# cancel to "predicted minus true". The chain rule through `Z = X W^T` gives
#
#     dL/dW = (P - Y)^T X / N            (R, 2 hidden), the shape of W
#
# We check every entry against central finite differences,
# `(L(W + eps E_rc) - L(W - eps E_rc)) / (2 eps)`, in float64 at a random W.

# %%
def softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def loss_of(W):
    """Mean cross-entropy of the head with weights W (R, D) on the dataset."""
    Z = X @ W.T  # (N, R)
    top = Z.max(axis=-1, keepdims=True)
    log_p = Z - top - np.log(np.exp(Z - top).sum(axis=-1, keepdims=True))
    return float(-log_p[np.arange(N), y].mean())


def gradient_of(W):
    """dL/dW by hand: (P - Y)^T X / N."""
    P = softmax(X @ W.T)  # (N, R)
    Y = np.eye(R)[y]  # (N, R)
    return (P - Y).T @ X / N  # (R, D)


rng = np.random.default_rng(1)
W_check = rng.normal(0, 0.02, (R, D))
by_hand = gradient_of(W_check)
eps = 1e-5
numeric = np.zeros_like(W_check)
for index in np.ndindex(W_check.shape):
    step = np.zeros_like(W_check)
    step[index] = eps
    numeric[index] = (loss_of(W_check + step) - loss_of(W_check - step)) / (2 * eps)
gradient_error = float(np.abs(by_hand - numeric).max() / np.abs(by_hand).max())
show("entries checked", by_hand.size)
show("max |hand - finite differences| / max |hand|", gradient_error)
show("library loss at W_check (numpy_luke.core.heads.cross_entropy)",
     float(cross_entropy(X @ W_check.T, y)))

# %% [markdown]
# ## Gradient descent
#
# Start from W = 0 (every relation equally likely: the loss is exactly log R) and step
# against the gradient. The step size comes from the loss's curvature: the softmax
# cross-entropy's second derivative with respect to the logits is at most 1/2, so the loss is
# smooth with constant `S = lambda_max(X^T X / N) / 2` and a step of `1/S` never overshoots.

# %%
W = np.zeros((R, D))
curvature = float(np.linalg.eigvalsh(X.T @ X / N).max()) / 2
learning_rate = 1 / curvature
history = [loss_of(W)]
STEPS = 1000
for _ in range(STEPS):
    W -= learning_rate * gradient_of(W)
    history.append(loss_of(W))
accuracy = float((np.argmax(X @ W.T, axis=-1) == y).mean())
title("training loss")
table([(step, f"{history[step]:.4f}") for step in (0, 1, 10, 100, 300, STEPS)],
      header=("step", "loss"))
show("training accuracy", accuracy)

# %% [markdown]
# ## The trained head in the library's class
#
# `LukeForEntityPairClassification` is this head: `classifier.weight` of shape
# (R, 2 hidden) and no bias. We put our W in (as float32, like a checkpoint) and compare its
# logits with ours.

# %%
head_config = LukeConfig.from_dict({**config.to_dict(), "num_labels": R,
                                    "id2label": dict(enumerate(RELATIONS))})
trained = LukeForEntityPairClassification.from_state_dict(
    {**encoder.params, "classifier.weight": W.astype(np.float32)}, head_config)
library_logits = trained(**batch).logits  # (N, R)
logit_gap = float(np.abs(library_logits - X @ W.T).max())
show("max |library logits - X W^T|", logit_gap)
show("predicted for the first example", trained.config.id2label[int(library_logits[0].argmax())])

# %% [markdown]
# ## From the frozen head to the full model
#
# Above, the encoder was frozen and only W learned. Fine-tuning as LUKE's recipes do it
# trains every parameter together: the embeddings, each layer's four query matrices, keys,
# values and feed-forward layers, and the classifier, so the features themselves move to
# suit the task. `loss_and_gradients` gives the gradient of every parameter of
# `LukeForEntityPairClassification` (derived by hand in `numpy_luke/training/`; chapter 11
# shows how) and `numpy_luke.training.AdamW` updates them in place, as
# `torch.optim.AdamW` does.
#
# To compare like with like we run AdamW twice from the same start, on the same 24
# examples, for the same 20 full-batch steps at the same rate (3e-3, constant, no dropout):
#
# * **frozen features**: AdamW gets the classifier's gradient only. A parameter without a
#   gradient is left alone (no update, no decay), so the encoder stays as it was: this is
#   the head-only training above, on this start's features, with AdamW's steps instead of
#   steps of 1/S;
# * **the full model**: AdamW gets every gradient.
#
# The start is the tiny fixture, in float64 (as chapter 11: training luke-base's 253M
# parameters for 40 steps here would take minutes on a CPU, an estimate not measured; with
# another `--model` the same sentences are tokenized by the fixture's tokenizer), with the
# classifier at W = 0 as above, and in every layer `w2e_query`, `e2w_query` and `e2e_query`
# (weights and biases) set to copies of `query`. That is how the published luke-base starts
# fine-tuning: LUKE was pretrained with one `query` (chapter 9), and transformers'
# conversion script copies it into the three (chapter 4). The fixture's three were drawn at
# random, independently of `query` (their largest gap from it is printed below; its query
# biases are all zero), so without the copies there would be nothing to see.

# %%
QUERIES = ("w2e_query", "e2w_query", "e2e_query")
fixture = str(_common.FIXTURE)
if _common.is_fixture(model_name):
    train_batch = batch
else:
    train_batch = LukeTokenizer.from_pretrained(fixture)(
        texts, entity_spans=pairs, task="entity_pair_classification", padding=True,
        return_tensors="np")


def query_name(layer, name, part="weight"):
    return f"luke.encoder.layer.{layer}.attention.self.{name}.{part}"


def fixture_model():
    """The fixture as LukeForEntityPairClassification with R labels, in float64."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the classifier is not in the checkpoint: a warning
        return LukeForEntityPairClassification.from_pretrained(
            fixture, num_labels=R, dtype=np.float64, seed=0)


def starting_model():
    """The fixture with W = 0 and every layer's three entity-aware queries copies of
    `query`, as in luke-base."""
    model = fixture_model()
    state = model.state_dict()  # the model's own arrays: writing into them changes it
    state["classifier.weight"][:] = 0
    for layer in range(model.config.num_hidden_layers):
        for name in QUERIES:
            for part in ("weight", "bias"):
                state[query_name(layer, name, part)][:] = state[query_name(layer, "query", part)]
    return model


own = fixture_model()
fixture_query_gap = max(
    float(np.abs(own.state_dict()[query_name(layer, name)]
                 - own.state_dict()[query_name(layer, "query")]).max())
    for layer in range(own.config.num_hidden_layers) for name in QUERIES)
fixture_query_biases_zero = all(
    not own.state_dict()[query_name(layer, name, "bias")].any()
    for layer in range(own.config.num_hidden_layers) for name in ("query", *QUERIES))
show("the fixture's own queries: max |w2e/e2w/e2e_query - query| over its layers",
     fixture_query_gap)
show("the fixture's four query biases all zero", fixture_query_biases_zero)

FULL_STEPS, FULL_LR = 20, 3e-3
runs = {}
for run in ("frozen features", "full model"):
    model = starting_model()
    optimizer = AdamW(model, lr=FULL_LR, weight_decay=0.01)
    curve, first = [], []
    for step in range(FULL_STEPS):
        loss, gradients = model.loss_and_gradients(**train_batch, labels=y)
        curve.append(float(loss))
        if step < 2:
            first.append(gradients)  # the first two steps' gradients, looked at below
        if run == "frozen features":
            gradients = {"classifier.weight": gradients["classifier.weight"]}
        optimizer.step(gradients)
    curve.append(float(model(**train_batch, labels=y).loss))
    accuracy = float((model(**train_batch).logits.argmax(-1) == y).mean())
    runs[run] = dict(model=model, curve=curve, first=first, accuracy=accuracy)

frozen, full = runs["frozen features"], runs["full model"]
title(f"training loss, AdamW lr {FULL_LR}, the same start")
table([(step, f"{frozen['curve'][step]:.4f}", f"{full['curve'][step]:.4f}")
       for step in (0, 1, 2, 5, 10, 15, FULL_STEPS)],
      header=("step", "frozen features", "full model"))
show("training accuracy (frozen, full)", (frozen["accuracy"], full["accuracy"]))

# %% [markdown]
# What the numbers show. At step 0 the full model's encoder has a gradient of exactly zero:
# with W = 0 the classifier passes nothing back (dL/dfeatures = dL/dz W = 0), so the first
# step moves W alike in both runs, and the full model's encoder only by the weight decay
# (every weight times 1 - lr x 0.01: a zero gradient is still a gradient); after it the two
# losses agree to within 1e-6. From the second step on, the full model's encoder moves with
# its gradient too, and on the fixture its loss falls far below the frozen run's in the
# same 20 steps: it can change the two entity vectors themselves to separate the
# templates, where the frozen run can only reweigh fixed ones. A lower *training* loss on
# 24 sentences from three templates is fitting, not generalising; chapter 11 trains with
# warm-up, decay and dropout and watches a dev set.
#
# ## The four queries, trained apart
#
# With entity-aware attention each query matrix serves its own block (chapter 4): `query`
# the words attending to words, `w2e_query` words to entities, `e2w_query` entities to
# words, `e2e_query` entities to entities. Equal weights, but each gets the gradient of its
# own block only, so AdamW moves them apart from the first step with an encoder gradient.
# One exception is exact: in the last layer the word rows' outputs go nowhere (the head
# reads only the two entity vectors, and no layer follows), so that layer's `query` and
# `w2e_query` get gradients of exactly zero, and, equal at the start and decayed alike,
# they stay equal. Keys, values and the feed-forward layers are shared by words and
# entities, so they train in every layer.

# %%
layers = full["model"].config.num_hidden_layers
trained = full["model"].state_dict()
second = full["first"][1]  # the gradients at the second step (the first with an encoder part)
query_rows = []
for layer in range(layers):
    norms = [float(np.linalg.norm(second[query_name(layer, name)]))
             for name in ("query", *QUERIES)]
    gaps = [float(np.abs(trained[query_name(layer, name)]
                         - trained[query_name(layer, "query")]).max()) for name in QUERIES]
    query_rows.append((layer, *(f"{n:.2e}" for n in norms), *(f"{g:.4f}" for g in gaps)))
title("gradient norms at step 2, and max |q - query| after 20 steps")
table(query_rows, header=("layer", "|dquery|", "|dw2e|", "|de2w|", "|de2e|",
                          "w2e - query", "e2w - query", "e2e - query"))
encoder_names = [name for name in full["first"][0] if name != "classifier.weight"]
first_encoder_gradient = max(float(np.abs(full["first"][0][name]).max())
                             for name in encoder_names)
show("step 0: max |gradient| over the encoder's parameters", first_encoder_gradient)
untouched = starting_model().state_dict()
frozen_state = frozen["model"].state_dict()
frozen_encoder_kept = all(np.array_equal(frozen_state[name], untouched[name])
                          for name in encoder_names)
show("frozen run: every encoder parameter as it started", frozen_encoder_kept)

# %% [markdown]
# ## One gradient of the full model, checked
#
# The largest entry of layer 0's `e2e_query.weight` gradient at the trained weights, against
# central finite differences of the model's own loss (float64, eps = 1e-6), as chapter 11
# checks its sampled entries. Chapter 11 then trains the whole model the way LUKE's
# fine-tuning does: warm-up and decay, dropout, a dev set.

# %%
full_model = full["model"]
_, trained_gradients = full_model.loss_and_gradients(**train_batch, labels=y)
e2e_name = query_name(0, "e2e_query")
e2e_index = tuple(int(i) for i in np.unravel_index(
    int(np.abs(trained_gradients[e2e_name]).argmax()), trained[e2e_name].shape))
array, old, eps_fd = trained[e2e_name], trained[e2e_name][e2e_index], 1e-6
array[e2e_index] = old + eps_fd
up = float(full_model(**train_batch, labels=y).loss)
array[e2e_index] = old - eps_fd
down = float(full_model(**train_batch, labels=y).loss)
array[e2e_index] = old
e2e_hand, e2e_numeric = float(trained_gradients[e2e_name][e2e_index]), (up - down) / (2 * eps_fd)
e2e_error = abs(e2e_hand - e2e_numeric) / abs(e2e_hand)
table([(f"{e2e_name}{list(e2e_index)}", f"{e2e_hand:.10e}", f"{e2e_numeric:.10e}")],
      header=("parameter entry", "loss_and_gradients", "finite difference"))
show("relative gap", e2e_error)

# %% [markdown]
# ## The other two heads' features and losses
#
# Entity typing trains the same way on `h_e` with a sigmoid per type; NER on
# `[h_first; h_last; h_e]` per span (`span_features`). Chapter 6 ran both heads forward;
# the exercises below derive the pieces their training needs.
#
# ## Exercises
#
# 1. `exercise_1(logits, labels)`: the gradient of the mean softmax cross-entropy with
#    respect to the logits (N, R), labels (N,) integer.
# 2. `exercise_2(logits, targets)`: the gradient of entity typing's loss, the mean binary
#    cross-entropy with logits over every (example, type) entry, with respect to the logits.
# 3. `exercise_3(words, entities, starts, ends)`: NER's span features `[h_start; h_end; h_e]`
#    for one text: words (W, H), entities (E, H), starts and ends (E,) -> (E, 3H).


# %%
def exercise_1(logits, labels):
    """dL/dlogits of mean cross-entropy; same shape as logits."""
    raise NotImplementedError  # your answer here


def exercise_2(logits, targets):
    """dL/dlogits of mean binary cross-entropy with logits; same shape as logits."""
    raise NotImplementedError  # your answer here


def exercise_3(words, entities, starts, ends):
    """(E, 3H): word at the span start, word at the span end, entity vector."""
    raise NotImplementedError  # your answer here


def finite_differences(f, z, eps=1e-6):
    """Central differences of the scalar function f at every entry of z."""
    out = np.zeros_like(z)
    for index in np.ndindex(z.shape):
        step = np.zeros_like(z)
        step[index] = eps
        out[index] = (f(z + step) - f(z - step)) / (2 * eps)
    return out


def check_exercise_1(solve):
    r = np.random.default_rng(5)
    z, labels = r.normal(size=(4, 3)), np.array([0, 2, 1, 2])
    numeric = finite_differences(lambda v: float(cross_entropy(v, labels)), z)
    assert np.abs(solve(z, labels) - numeric).max() < 1e-8


def check_exercise_2(solve):
    r = np.random.default_rng(6)
    z, targets = r.normal(size=(3, 4)), (r.random((3, 4)) < 0.5).astype(np.float64)
    numeric = finite_differences(
        lambda v: float(binary_cross_entropy_with_logits(v, targets)), z)
    assert np.abs(solve(z, targets) - numeric).max() < 1e-8


def check_exercise_3(solve):
    r = np.random.default_rng(7)
    words, entities = r.normal(size=(6, 4)), r.normal(size=(3, 4))
    starts, ends = np.array([1, 2, 0]), np.array([3, 2, 5])
    expected = span_features(words[None], entities[None], starts[None], ends[None])[0]
    assert np.array_equal(solve(words, entities, starts, ends), expected)


# %% [markdown]
# ## What this chapter claimed, checked

# %%
# The relation layout: [MASK] and [MASK2] entities, features [h_head; h_tail].
assert batch["entity_ids"][:, 0].tolist() == [tokenizer.entity_vocab["[MASK]"]] * N
assert batch["entity_ids"][:, 1].tolist() == [tokenizer.entity_vocab["[MASK2]"]] * N
assert X.shape == (3 * 8, 2 * config.hidden_size)
# The hand gradient is the finite-difference gradient, to 1e-6 relative, in float64.
assert X.dtype == np.float64 and gradient_error < 1e-6
# Our loss is the library's cross-entropy.
assert abs(loss_of(W_check) - float(cross_entropy(X @ W_check.T, y))) < 1e-12
# Gradient descent: the loss starts at log R (W = 0), never rises, and falls measurably.
assert abs(history[0] - np.log(R)) < 1e-12
assert all(b <= a + 1e-12 for a, b in zip(history, history[1:], strict=False))
assert history[-1] < 0.5 * history[0], (history[0], history[-1])
# The library's head with our weights gives our logits (float32 weights and features).
assert logit_gap < 1e-3 * max(1.0, float(np.abs(X @ W.T).max()))
# From the frozen head to the full model (the fixture, float64, AdamW, the same start):
# both start at log R; at step 0 the encoder's gradient is exactly zero (W = 0), so after
# one step the runs differ only by the encoder's weight decay; the frozen run's encoder
# never moves; both losses fall at every step, the full model's to far below the frozen one.
assert abs(frozen["curve"][0] - np.log(R)) < 1e-12 and full["curve"][0] == frozen["curve"][0]
assert first_encoder_gradient == 0.0 and frozen_encoder_kept
# The fixture's own entity-aware queries are not copies of `query` (hence the copies); its
# query biases are all zero.
assert fixture_query_gap > 0.1 and fixture_query_biases_zero
assert 0 < abs(full["curve"][1] - frozen["curve"][1]) < 1e-6
for curve in (frozen["curve"], full["curve"]):
    assert all(b < a for a, b in zip(curve, curve[1:], strict=False)), curve
assert full["curve"][-1] < 0.25 * frozen["curve"][-1], (full["curve"][-1], frozen["curve"][-1])
# The queries started equal and trained apart, except the last layer's query and w2e_query,
# whose gradients are exactly zero (the word rows' outputs of the last layer are unused).
last = layers - 1
for layer in range(layers):
    for name in QUERIES:
        gap = float(np.abs(trained[query_name(layer, name)]
                           - trained[query_name(layer, "query")]).max())
        if layer == last and name == "w2e_query":
            assert gap == 0.0
        else:
            assert gap > 1e-3, (layer, name, gap)
assert not second[query_name(last, "query")].any()
assert not second[query_name(last, "w2e_query")].any()
# One gradient of the trained full model equals central finite differences.
assert e2e_error < 1e-5, e2e_error
print()
_common.check_exercises(globals(), chapter=10)
print("\nchapter 10: all checks passed")

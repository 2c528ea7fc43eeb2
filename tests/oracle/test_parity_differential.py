"""Differential tests: transformers writes random tiny LUKE checkpoints and tokenizers with
``save_pretrained``; numpy_luke reads them with ``from_pretrained``; both must then agree.

Unlike ``test_parity_model.py`` (which hands the state dict over in memory), everything here
goes through the files transformers writes: safetensors and ``.bin``, one file or shards,
config.json with its labels, and the tokenizer layouts of transformers 4.57.

Two parts:

* **Models.** Hypothesis draws a configuration (1 to 3 layers, 1 to 4 heads, entity-aware
  attention on or off, ``entity_emb_size`` equal to ``hidden_size`` or not), random weights
  (the four query matrices of entity-aware attention all different), a file layout, inputs
  padded on the right or on the left, labels or not, and the two output flags. Every class is
  compared, every output, hidden state, attention map and loss, in float32 (1e-5) and in
  float64 (1e-8).
* **Tokenizers.** An option grid (``GRID``) over fixed example calls (``EXAMPLES``): padding x
  truncation x max_length x pairs x entity spans x tasks, on the tiny fixture tokenizer and on
  the real RoBERTa vocabulary when available, and transformers' other options (sides,
  ``pad_to_multiple_of``, the extra returns, the generic methods) over parts of the grid.

To extend: add an axis value to ``GRID``, an example to ``EXAMPLES``, or a check over part of
the grid; the model part takes new classes from ``CLASSES``.
"""

from __future__ import annotations

import copy
import itertools
import json
import warnings

import helpers
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = [
    pytest.mark.parity,
    # transformers warns about option combinations it ignores (e.g. max_length without
    # truncation); the comparison covers what it does with them.
    pytest.mark.filterwarnings("ignore::UserWarning"),
]
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from test_parity_model import (  # noqa: E402
    CLASSES,
    assert_outputs_agree,
    random_labels,
    randomize,
)

import numpy_luke  # noqa: E402
from numpy_luke import LukeTokenizer  # noqa: E402

MODEL_EXAMPLES = 5  # hypothesis examples per class (the module must stay under ~60 s)

# How transformers writes the weights: keyword arguments of save_pretrained.
FORMATS = {
    "safetensors": dict(safe_serialization=True),
    "bin": dict(safe_serialization=False),
    "safetensors-shards": dict(safe_serialization=True, max_shard_size=4000),
    "bin-shards": dict(safe_serialization=False, max_shard_size=4000),
}


# ---------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------


@st.composite
def configs(draw, class_name):
    heads = draw(st.integers(1, 4))
    hidden = heads * draw(st.sampled_from([2, 4, 8]))
    if class_name == "LukeForQuestionAnswering":
        num_labels = 2
    elif class_name == "LukeForSequenceClassification":
        num_labels = draw(st.integers(1, 4))  # 1 label: regression
    else:
        num_labels = draw(st.integers(2, 5))
    return dict(
        vocab_size=draw(st.integers(8, 40)),
        entity_vocab_size=draw(st.integers(3, 12)),
        hidden_size=hidden,
        entity_emb_size=draw(st.sampled_from([hidden, 4, 6, hidden + 2])),
        num_hidden_layers=draw(st.integers(1, 3)),
        num_attention_heads=heads,
        intermediate_size=draw(st.integers(2, 24)),
        max_position_embeddings=draw(st.integers(16, 24)),
        type_vocab_size=draw(st.integers(1, 2)),
        use_entity_aware_attention=draw(st.booleans()),
        hidden_act=draw(st.sampled_from(["gelu", "relu", "gelu_new", "tanh"])),
        num_labels=num_labels,
    )


# Entities each head class reads (the first one, or the first two).
MIN_ENTITIES = {
    "LukeForEntityClassification": 1,
    "LukeForEntityPairClassification": 2,
    "LukeForEntitySpanClassification": 1,
    "LukeForMaskedLM": 1,
}


def padded_inputs(rng, config, batch, words, entities, mention, side):
    """Words and entities of random lengths, padded on ``side`` ('right' or 'left'), with
    their masks, token types and the word positions of each entity's mention."""
    lengths = rng.integers(2, words + 1, size=batch)
    lengths[0] = words
    real = np.arange(words)[None] < lengths[:, None]  # (batch, words)
    offsets = np.zeros(batch, dtype=np.int64)
    if side == "left":
        real = real[:, ::-1]
        offsets = words - lengths
    ids = np.where(real, rng.integers(3, config["vocab_size"], (batch, words)), 1)
    ids[np.arange(batch), offsets] = 0  # <s> on the first real token
    mask = real.astype(np.int64)
    out = {
        "input_ids": ids,
        "attention_mask": mask,
        "token_type_ids": rng.integers(0, config["type_vocab_size"], (batch, words)) * mask,
    }
    if entities:
        counts = rng.integers(1, entities + 1, size=batch)
        entity_real = np.arange(entities)[None] < counts[:, None]
        if side == "left":
            entity_real = entity_real[:, ::-1]
        entity_mask = entity_real.astype(np.int64)
        positions = np.full((batch, entities, mention), -1)
        for b, e in zip(*np.nonzero(entity_real), strict=True):
            start = int(rng.integers(0, lengths[b]))
            span = np.arange(start, min(start + int(rng.integers(1, mention + 1)), lengths[b]))
            positions[b, e, : len(span)] = span + offsets[b]
        out.update(
            entity_ids=rng.integers(1, config["entity_vocab_size"], (batch, entities))
            * entity_mask,
            entity_attention_mask=entity_mask,
            entity_token_type_ids=rng.integers(0, config["type_vocab_size"], (batch, entities))
            * entity_mask,
            entity_position_ids=positions,
        )
    return out


def model_inputs(rng, config, class_name, shape, side):
    batch, words, entities, mention = shape
    entities = max(entities, MIN_ENTITIES.get(class_name, 0))
    if class_name == "LukeForMultipleChoice":
        choices = int(rng.integers(2, 4))
        parts = [
            padded_inputs(rng, config, batch, words, entities, mention, side)
            for _ in range(choices)
        ]
        return {key: np.stack([part[key] for part in parts], axis=1) for key in parts[0]}
    inputs = padded_inputs(rng, config, batch, words, entities, mention, side)
    if class_name == "LukeForEntitySpanClassification":
        starts = rng.integers(0, words, (batch, entities))
        inputs["entity_start_positions"] = starts
        inputs["entity_end_positions"] = np.minimum(
            starts + rng.integers(0, 3, starts.shape), words - 1
        )
    return inputs


def compare_saved_model(
    class_name, config_values, seed, shape, side, layout, with_labels, multi, flags, folder
):
    rng = np.random.default_rng(seed)
    config = transformers.LukeConfig(**config_values)
    torch.manual_seed(seed)
    theirs = getattr(transformers, class_name)(config).eval()
    randomize(theirs, seed)  # every parameter drawn on its own: w2e, e2w, e2e queries differ
    if config.use_entity_aware_attention:
        attention = (
            theirs.luke.encoder.layer[0].attention.self
            if hasattr(theirs, "luke")
            else theirs.encoder.layer[0].attention.self
        )
        queries = [
            attention.query.weight,
            attention.w2e_query.weight,
            attention.e2w_query.weight,
            attention.e2e_query.weight,
        ]
        assert all(not torch.equal(a, b) for a, b in itertools.combinations(queries, 2))
    theirs.save_pretrained(folder, **FORMATS[layout])

    model_class = getattr(numpy_luke, class_name)
    ours = model_class.from_pretrained(folder)
    ours64 = model_class.from_pretrained(folder, dtype=np.float64)
    theirs64 = copy.deepcopy(theirs).double()

    inputs = model_inputs(rng, config_values, class_name, shape, side)
    if with_labels:
        inputs.update(random_labels(rng, config_values, class_name, inputs, multi))

    def run_theirs(model, dtype):
        tensors = {
            k: torch.tensor(v.astype(dtype) if v.dtype.kind == "f" else v)
            for k, v in inputs.items()
        }
        with torch.no_grad():
            return model(**tensors, **flags)

    # Left-padded rows: transformers pools index 0 (a padding word) and classifies entities
    # 0 and 1 (padding entities), so those answers differ from the text's alone; numpy_luke
    # reads each row's first attended word and entities (docs/python-api.md). Those outputs
    # are checked against transformers' answers for each text alone in test_invariance.py.
    skip = READS_FIRST_POSITIONS.get(class_name, ()) if side == "left" else ()
    assert_outputs_agree(
        class_name,
        run_theirs(theirs, np.float32),
        run_theirs(theirs64, np.float64),
        ours(**inputs, **flags),
        ours64(**inputs, **flags),
        skip,
    )


# The outputs transformers computes from the first word (the pooler) or the first entities.
READS_FIRST_POSITIONS = {
    "LukeModel": ("pooler_output",),
    **dict.fromkeys(
        [
            "LukeForSequenceClassification",
            "LukeForMultipleChoice",
            "LukeForEntityClassification",
            "LukeForEntityPairClassification",
        ],
        ("logits", "loss"),
    ),
}


@pytest.mark.parametrize("class_name", CLASSES)
def test_saved_models_match_transformers(class_name, tmp_path_factory):
    @settings(
        max_examples=MODEL_EXAMPLES,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )
    @given(
        config=configs(class_name),
        seed=st.integers(0, 2**31 - 1),
        shape=st.tuples(st.integers(1, 3), st.integers(2, 9), st.integers(0, 4), st.integers(1, 3)),
        side=st.sampled_from(["right", "left"]),
        layout=st.sampled_from(sorted(FORMATS)),
        with_labels=st.booleans(),
        multi=st.booleans(),
        flags=st.fixed_dictionaries(
            {"output_hidden_states": st.booleans(), "output_attentions": st.booleans()}
        ),
    )
    def check(config, seed, shape, side, layout, with_labels, multi, flags):
        folder = tmp_path_factory.mktemp(class_name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compare_saved_model(
                class_name, config, seed, shape, side, layout, with_labels, multi, flags, folder
            )

    check()


# ---------------------------------------------------------------------------------------
# Tokenizers
# ---------------------------------------------------------------------------------------

TASKS = [None, "entity_classification", "entity_pair_classification", "entity_span_classification"]

# Fixed example calls, per task: single texts, pairs, batches of unequal lengths, with and
# without entity spans (and titles, which tasks ignore). Texts use words of both vocabularies.
_LONG = "Tokyo is the capital of Japan and the largest city of the country."
_SHORT = "Paris is in France."
_PAIR = "Japan is an island country."


def _at(text, word):
    """The character span of ``word`` in ``text``."""
    start = text.index(word)
    return (start, start + len(word))


START = (0, 5)  # the first word of every text here: Tokyo, Paris, Japan
CAPITAL, JAPAN, COUNTRY = (_at(_LONG, w) for w in ("capital", "Japan", "country"))
FRANCE = _at(_SHORT, "France")
EXAMPLES = {
    None: [
        {"text": _LONG},
        {"text": _LONG, "text_pair": _PAIR},
        {"text": _LONG, "entity_spans": [START, JAPAN], "entities": ["Tokyo", "Japan"]},
        {
            "text": _LONG,
            "entity_spans": [START, COUNTRY],
            "text_pair": _PAIR,
            "entity_spans_pair": [START],
        },
        {"text": [_LONG, _SHORT]},
        {"text": [_LONG, _SHORT], "text_pair": [_PAIR, _PAIR]},
        {"text": [_LONG, _SHORT], "entity_spans": [[START, COUNTRY], [START, FRANCE]]},
    ],
    "entity_classification": [
        {"text": _LONG, "entity_spans": [JAPAN]},
        {"text": [_LONG, _SHORT], "entity_spans": [[COUNTRY], [FRANCE]]},
    ],
    "entity_pair_classification": [
        {"text": _LONG, "entity_spans": [START, COUNTRY]},
        {"text": [_LONG, _SHORT], "entity_spans": [[START, JAPAN], [START, FRANCE]]},
    ],
    "entity_span_classification": [
        {"text": _LONG, "entity_spans": [START, CAPITAL, COUNTRY]},
        {"text": [_LONG, _SHORT], "entity_spans": [[START, COUNTRY], [START]]},
    ],
}

# The options numpy_luke has, every combination of which is compared.
GRID = {
    "padding": [False, True, "longest", "max_length"],
    "truncation": [False, True, "longest_first", "only_first", "only_second"],
    "max_length": [None, 7, 12],
}


def grid(**axes):
    """Every combination of ``axes`` (name -> list of values) as a list of option dicts."""
    names = list(axes)
    return [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*(axes[name] for name in names))
    ]


def examples(task=None, *, spans=None, pairs=None, batches=None):
    """The examples of ``task``, filtered: ``spans``/``pairs``/``batches`` True keeps only
    those with entity spans / a text pair / a batch, False only those without."""
    chosen = []
    for example in EXAMPLES[task]:
        has = {
            "spans": "entity_spans" in example,
            "pairs": "text_pair" in example,
            "batches": isinstance(example["text"], list),
        }
        wanted = {"spans": spans, "pairs": pairs, "batches": batches}
        if all(wanted[k] is None or wanted[k] == has[k] for k in has):
            chosen.append(example)
    return chosen


def outcome(function, **arguments):
    """``function(**arguments)`` as a plain dict, or the name of the exception it raised."""
    try:
        return dict(function(**arguments))
    except (ValueError, TypeError, IndexError, KeyError, NotImplementedError) as error:
        return type(error).__name__


def mismatches(ours, theirs, calls):
    """Calls (task, example, options) on which the two tokenizers disagree, as readable
    strings. ``theirs`` maps task -> transformers tokenizer built with that task."""
    found = []
    for task, example, options in calls:
        expected = outcome(theirs[task], **example, **options)
        actual = outcome(ours, **example, **options, task=task)
        if actual != expected:
            found.append(
                f"task={task} {json.dumps({**example, **options})}: "
                f"ours {str(actual)[:300]} != transformers {str(expected)[:300]}"
            )
    return found


def assert_agree(ours, theirs, calls):
    found = mismatches(ours, theirs, calls)
    assert not found, f"{len(found)} of {len(calls)} calls differ, e.g.\n" + "\n".join(found[:3])


def all_calls(options_list, **filters):
    return [
        (task, example, options)
        for task in TASKS
        for example in examples(task, **filters)
        for options in options_list
    ]


def load_pair(folder):
    transformers.utils.logging.set_verbosity_error()
    theirs = {task: transformers.LukeTokenizer.from_pretrained(folder, task=task) for task in TASKS}
    return LukeTokenizer.from_pretrained(folder), theirs


@pytest.fixture(scope="module", params=["tiny", "tiny-saved", "real"])
def tokenizers(request, tmp_path_factory):
    """(ours, {task: transformers'}, folder) on the tiny fixture tokenizer, on the folder
    numpy_luke's save_pretrained writes from it (read by both), and on the real RoBERTa
    vocabulary (skipped without it)."""
    if request.param == "tiny":
        folder = helpers.TINY_LUKE
    elif request.param == "tiny-saved":
        folder = tmp_path_factory.mktemp("tiny-saved")
        LukeTokenizer.from_pretrained(helpers.TINY_LUKE).save_pretrained(folder)
    else:
        folder = helpers.real_vocab_luke_dir(tmp_path_factory.mktemp("luke-base"))
        if folder is None:
            pytest.skip(f"{helpers.MISSING_VOCAB}: {helpers.HOW_TO_GET_VOCAB}")
    ours, theirs = load_pair(folder)
    return ours, theirs, folder


@pytest.mark.parametrize("padding", GRID["padding"])
@pytest.mark.parametrize("truncation", GRID["truncation"])
def test_option_grid_matches_transformers(tokenizers, padding, truncation):
    ours, theirs, _ = tokenizers
    options = grid(padding=[padding], truncation=[truncation], max_length=GRID["max_length"])
    assert_agree(ours, theirs, all_calls(options))


def test_documented_differences(tokenizers):
    """Where numpy_luke refuses on purpose (docs/bad-input.md), it raises; transformers
    answers something for the same call."""
    ours, theirs, _ = tokenizers
    text = _SHORT
    for spans, words in (
        ([(12, 100)], "out of range"),
        ([(12, 5)], "reversed"),
        ([(-1, 5)], "out of range"),
    ):
        with pytest.raises(ValueError, match=words):
            ours(text, entity_spans=spans)
    with pytest.raises(ValueError, match="entities"):
        ours(text, entities=["Paris"])
    assert "entity_ids" not in theirs[None](text, entities=["Paris"])  # silently ignored


# Features of transformers' tokenizer beyond the grid's axes (issue 14 B and A3, all
# implemented): each check compares over part of the grid.
PADDED = grid(padding=[True, "max_length"], truncation=[False], max_length=[12])
TRUNCATED = grid(
    padding=[False, True], truncation=[True, "only_first", "only_second"], max_length=[7]
)


def test_padding_side_left_call_time(tokenizers):
    ours, theirs, _ = tokenizers
    calls = all_calls([{**o, "padding_side": "left"} for o in PADDED], spans=False)
    assert_agree(ours, theirs, calls)


def shifted_like_numpy_luke(encoding):
    """transformers' left-padded encoding, with the span classification's word indices
    (entity_start_positions / entity_end_positions) moved right by the padding before the
    words, as numpy_luke does (docs/tokenizer.md): transformers 4.57 leaves them counted
    from the unpadded start, so they gather the wrong word states. entity_position_ids stay
    unshifted in both: they index the position embeddings, and word positions skip padding."""
    if not isinstance(encoding, dict) or "entity_position_ids" not in encoding:
        return encoding
    single = not isinstance(encoding["input_ids"][0], list)
    rows = (
        [encoding]
        if single
        else [{k: v[b] for k, v in encoding.items()} for b in range(len(encoding["input_ids"]))]
    )
    for row in rows:
        pad = row["attention_mask"].index(1) if 1 in row["attention_mask"] else 0
        real = row["entity_attention_mask"]
        for key in ("entity_start_positions", "entity_end_positions"):
            if key in row:
                row[key] = [p + pad if m else p for p, m in zip(row[key], real, strict=True)]
    if single:
        return rows[0]
    return {k: [row[k] for row in rows] for k in encoding}


def assert_agree_left_padded(ours, theirs, calls):
    found = []
    for task, example, options in calls:
        expected = shifted_like_numpy_luke(outcome(theirs[task], **example, **options))
        actual = outcome(ours, **example, **options, task=task)
        if actual != expected:
            found.append(
                f"task={task} {json.dumps({**example, **options})}: "
                f"ours {str(actual)[:300]} != expected {str(expected)[:300]}"
            )
    assert not found, f"{len(found)} of {len(calls)} calls differ, e.g.\n" + "\n".join(found[:3])


def test_padding_side_left_with_entities(tokenizers):
    """numpy_luke differs from transformers on purpose: left padding moves the span
    classification's word indices with the words (documented in docs/tokenizer.md)."""
    ours, theirs, _ = tokenizers
    calls = all_calls([{**o, "padding_side": "left"} for o in PADDED], spans=True)
    assert_agree_left_padded(ours, theirs, calls)
    # and the positions, counted after the padding, point at the mention's tokens
    for task, example, options in calls:
        if isinstance(example["text"], list):
            continue
        padded = ours(**example, **options, task=task)
        pad = padded["attention_mask"].index(1) if 1 in padded["attention_mask"] else 0
        real = [
            e
            for e, m in zip(
                mention_tokens(padded, pad), padded["entity_attention_mask"], strict=True
            )
            if m
        ]
        assert real == mention_tokens(ours(**example, task=task))


def test_padding_side_left_from_pretrained(tokenizers):
    _, _, folder = tokenizers
    ours = LukeTokenizer.from_pretrained(folder, padding_side="left")
    theirs = {
        task: transformers.LukeTokenizer.from_pretrained(folder, task=task, padding_side="left")
        for task in TASKS
    }
    assert_agree_left_padded(ours, theirs, all_calls(PADDED))


def load_theirs(folder, **settings):
    return {
        task: transformers.LukeTokenizer.from_pretrained(folder, task=task, **settings)
        for task in TASKS
    }


def test_truncation_side_left_call_time(tokenizers):
    """transformers 4.57's __call__ ignores truncation_side= (it logs "not recognized");
    numpy_luke honours it as if the tokenizer had been loaded with it (docs/tokenizer.md)."""
    ours, _, folder = tokenizers
    theirs = load_theirs(folder, truncation_side="left")
    calls = all_calls(TRUNCATED, spans=False)
    found = []
    for task, example, options in calls:
        expected = outcome(theirs[task], **example, **options)
        actual = outcome(ours, **example, **options, task=task, truncation_side="left")
        if actual != expected:
            found.append(
                f"task={task} {json.dumps({**example, **options})}: "
                f"ours {str(actual)[:300]} != transformers {str(expected)[:300]}"
            )
    assert not found, f"{len(found)} of {len(calls)} calls differ, e.g.\n" + "\n".join(found[:3])


def mention_tokens(encoding, pad=0):
    """(entity id, the word tokens its positions point at) for each entity of one text,
    whose words start after ``pad`` padding tokens."""
    return [
        (i, tuple(encoding["input_ids"][p + pad] for p in row if p >= 0))
        for i, row in zip(encoding["entity_ids"], encoding["entity_position_ids"], strict=True)
    ]


def test_truncation_side_left_with_entities(tokenizers):
    """numpy_luke differs from transformers on purpose (docs/tokenizer.md): after left
    truncation, the word tokens are transformers', and each kept entity's positions point at
    the same mention tokens as without truncation (transformers 4.57 keeps them counted from
    the original start, so they point elsewhere)."""
    ours, _, folder = tokenizers
    theirs = load_theirs(folder, truncation_side="left")
    checked = 0
    for task, example, options in all_calls(TRUNCATED, spans=True):
        if isinstance(example["text"], list):
            continue
        cut = ours(**example, **options, task=task, truncation_side="left")
        expected = theirs[task](**example, **options)
        assert cut["input_ids"] == expected["input_ids"]
        full = mention_tokens(ours(**example, task=task))
        for entity in mention_tokens(cut):
            assert entity in full, (task, example, options, entity)
            checked += 1
    assert checked


@pytest.mark.parametrize("multiple", [8, 5])
def test_pad_to_multiple_of(tokenizers, multiple):
    ours, theirs, _ = tokenizers
    options = grid(
        padding=[True, "longest"],
        truncation=[False, True],
        max_length=[None, 12],
        pad_to_multiple_of=[multiple],
    )
    assert_agree(ours, theirs, all_calls(options))


@pytest.mark.parametrize("flag", ["return_special_tokens_mask", "return_length"])
def test_return_flags(tokenizers, flag):
    ours, theirs, _ = tokenizers
    options = grid(
        padding=[False, True], truncation=[False, True], max_length=[None, 7], **{flag: [True]}
    )
    assert_agree(ours, theirs, all_calls(options))


# The tokenizer methods a transformers user calls, each as (name, call on a tokenizer).
_IDS = [0, 101, 307, 2]
METHOD_CALLS = {
    "encode_plus": lambda t: dict(t.encode_plus(_LONG, _PAIR, truncation=True, max_length=9)),
    "batch_encode_plus": lambda t: dict(
        t.batch_encode_plus(
            [_LONG, _SHORT],
            padding=True,
            batch_entity_spans_or_entity_spans_pairs=[[START], [START]],
        )
    ),
    "pad": lambda t: dict(t.pad([{"input_ids": [0, 5, 2]}, {"input_ids": [0, 5, 6, 7, 2]}])),
    "pad_entities": lambda t: dict(
        t.pad(
            [t(_LONG, entity_spans=[START]), t(_SHORT, entity_spans=[START, FRANCE])],
            pad_to_multiple_of=4,
        )
    ),
    "pad_max_length": lambda t: dict(
        t.pad(
            {"input_ids": [[0, 5, 2], [0, 5, 6, 2]]},
            padding="max_length",
            max_length=6,
            padding_side="left",
        )
    ),
    "prepare_for_model": lambda t: dict(t.prepare_for_model([5, 6, 7], [8, 9])),
    "prepare_for_model_entities": lambda t: dict(
        t.prepare_for_model(
            [5, 6, 7, 8],
            [9, 10],
            entity_ids=[2, 1],
            entity_token_spans=[(0, 2), (1, 4)],
            pair_entity_ids=[3],
            pair_entity_token_spans=[(0, 1)],
            truncation=True,
            max_length=8,
            padding="max_length",
            max_entity_length=4,
            return_token_type_ids=True,
        )
    ),
    "build_inputs_with_special_tokens": lambda t: (
        t.build_inputs_with_special_tokens([5, 6]),
        t.build_inputs_with_special_tokens([5, 6], [7]),
    ),
    "get_special_tokens_mask": lambda t: (
        t.get_special_tokens_mask([5, 6]),
        t.get_special_tokens_mask([5, 6], [7]),
        t.get_special_tokens_mask(_IDS, already_has_special_tokens=True),
    ),
    "num_special_tokens_to_add": lambda t: (
        t.num_special_tokens_to_add(),
        t.num_special_tokens_to_add(pair=True),
    ),
    "create_token_type_ids_from_sequences": lambda t: t.create_token_type_ids_from_sequences(
        [5, 6], [7]
    ),
    "pad_token_type_id": lambda t: t.pad_token_type_id,
    "is_fast": lambda t: t.is_fast,
}


@pytest.mark.parametrize("method", sorted(METHOD_CALLS))
def test_tokenizer_methods(tokenizers, method):
    ours, theirs, _ = tokenizers
    call = METHOD_CALLS[method]
    assert call(ours) == call(theirs[None])


def test_added_tokens_saved_and_reloaded(tokenizers, tmp_path):
    _, _, folder = tokenizers
    ours, theirs = load_pair(folder)
    assert ours.add_tokens(["newword", "<new>"]) == theirs[None].add_tokens(["newword", "<new>"])
    assert ours.add_special_tokens({"additional_special_tokens": ["<sep2>"]}) == theirs[
        None
    ].add_special_tokens({"additional_special_tokens": ["<sep2>"]})
    text = "a newword and <new> then <sep2> end"
    assert ours(text)["input_ids"] == theirs[None](text)["input_ids"]
    ours.save_pretrained(tmp_path)
    again = LukeTokenizer.from_pretrained(tmp_path)
    assert again(text)["input_ids"] == theirs[None](text)["input_ids"]
    assert len(again) == len(theirs[None])


def test_folder_saved_by_transformers_reads_the_same(tokenizers, tmp_path):
    """transformers' save_pretrained (added_tokens_decoder, mask_token as a plain string)."""
    _, theirs, _ = tokenizers
    theirs[None].save_pretrained(tmp_path)
    ours = LukeTokenizer.from_pretrained(tmp_path)
    options = grid(padding=[False, True], truncation=[False, True], max_length=[None, 12])
    mask_example = {"text": "Tokyo is the <mask> of Japan.", "entity_spans": [START]}
    calls = all_calls(options) + [(None, mask_example, o) for o in options]
    assert_agree(ours, theirs, calls)


def test_built_directly_with_transformers_added_tokens(tokenizers):
    """issue 14 A12/A2: LukeTokenizer(vocab, merges, entity_vocab) built as transformers'
    documentation does, with transformers' own AddedToken objects and an empty additional
    special token (ignored by both)."""
    _, _, folder = tokenizers
    files = [str(folder / name) for name in ("vocab.json", "merges.txt", "entity_vocab.json")]
    texts = ["Tokyo is the <mask> of Japan.", "a <mask>b <ent> c  <x> d<x>e"]
    for options in (
        {},
        {"mask_token": transformers.AddedToken("<mask>", lstrip=True)},
        {
            "mask_token": transformers.AddedToken("<mask>", lstrip=False),
            "additional_special_tokens": [transformers.AddedToken("<x>", rstrip=True), ""],
        },
    ):
        ours = LukeTokenizer(*files, **options)
        theirs = transformers.LukeTokenizer(*files, **options)
        for text in texts:
            assert ours(text)["input_ids"] == theirs(text)["input_ids"], (options, text)
        # transformers lists the ignored "" among its special tokens; numpy_luke leaves it out
        assert ours.all_special_tokens == [t for t in theirs.all_special_tokens if t]


def test_add_tokens_as_transformers_common_tests_do(tokenizers):
    """The steps of transformers' common tokenizer test ``test_add_tokens_tokenizer``: added
    words and added special tokens replacing eos/pad, on both tokenizers."""

    def steps(tok):
        size = tok.vocab_size
        out = [
            tok.add_tokens(["aaaaa bbbbbb", "cccccccccdddddddd"]),
            tok.vocab_size == size,
            len(tok),
            tok.encode("aaaaa bbbbbb low cccccccccdddddddd l", add_special_tokens=False),
        ]
        out.append(
            tok.add_special_tokens(
                {"eos_token": ">>>>|||<||<<|<<", "pad_token": "<<<<<|||>|>>>>|>"}
            )
        )
        out += [
            tok.encode(
                ">>>>|||<||<<|<< aaaaa bbbbbb low cccccccccdddddddd <<<<<|||>|>>>>|> l",
                add_special_tokens=False,
            ),
            tok.eos_token_id,
            tok.pad_token_id,
            len(tok),
            tok(["a", "aaaaa bbbbbb"], padding=True)["input_ids"],
            list(dict.fromkeys(tok.all_special_tokens)),
        ]  # transformers lists some twice
        return out

    _, _, folder = tokenizers
    ours, theirs = load_pair(folder)
    assert steps(ours) == steps(theirs[None])

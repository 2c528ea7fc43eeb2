"""End to end, tokenizer + model: an example's answers do not depend on its batch.

The property (issue 18): for any batch of texts with entity spans, any ``padding_side``,
``padding=True`` or ``"max_length"``, any ``pad_to_multiple_of`` and any batch composition,
the non-padding outputs of every example -- word states, entity states and each head's
logits, span classification included -- equal those of the example encoded alone (float32,
within 1e-5). A tokenizer difference from transformers is right only if this holds.

Left truncation the same way: the kept words' and entities' outputs equal those of *the
truncated text encoded alone*. That text is defined in tokens, not characters (cutting the
characters of a text and tokenizing again need not give the same BPE tokens): it is the word
tokens truncation kept, framed by ``<s> ... </s>`` as if they were the whole text -- word
positions restart at the first kept token -- with every entity whose mention survived
pointing at the same tokens. The test builds those inputs by hand from the untruncated
encoding, so it does not trust the tokenizer's truncation code to check itself.

Runs on the tiny fixtures (one per head class; the heads without a fixture are built from
tiny-luke's config with random weights) and on the real RoBERTa vocabulary (skipped without
it). A few examples by default; many more under ``pytest -m parity``.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import FIXTURES, HOW_TO_GET_VOCAB, MISSING_VOCAB, TINY_LUKE, real_vocab_luke_dir
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from numpy_luke import (
    LukeConfig,
    LukeForEntityClassification,
    LukeForEntityPairClassification,
    LukeForEntitySpanClassification,
    LukeForMaskedLM,
    LukeForQuestionAnswering,
    LukeForSequenceClassification,
    LukeForTokenClassification,
    LukeModel,
    LukeTokenizer,
)

ATOL = 1e-5
WORDS = [
    "Beyoncé",
    "lives",
    "in",
    "Los",
    "Angeles",
    "the",
    "cat",
    "sat",
    "on",
    "a",
    "mat",
    "Tokyo",
    "Japan",
    "Paris",
    "ran",
    "quickly",
    "!",
    "<mask>",
    "2020",
    "Zoë",
]
# examples per hypothesis run: default suite, then under -m parity
FEW, MANY = 3, 60


# ------------------------------------------------------------------ what runs and compares


class Subject:
    """A tokenizer, its task and the models whose answers are compared. ``outputs`` maps
    one encoding to named arrays with the kind of their leading axes: "word" (batch, words,
    ...), "entity" (batch, entities, ...) or "example" (batch, ...)."""

    def __init__(self, tokenizer, task, models, spans_per_text):
        self.tokenizer, self.task, self.models = tokenizer, task, models
        self.spans_per_text = spans_per_text  # (fewest, most)

    def outputs(self, enc) -> dict[str, tuple[str, np.ndarray]]:
        out = {}
        inputs = {
            k: v
            for k, v in enc.items()
            if k not in ("entity_start_positions", "entity_end_positions")
        }
        for name, model in self.models.items():
            kwargs = dict(inputs)
            if isinstance(model, LukeForEntitySpanClassification):
                kwargs["entity_start_positions"] = enc["entity_start_positions"]
                kwargs["entity_end_positions"] = enc["entity_end_positions"]
            result = model(**kwargs, output_hidden_states=True)
            out[f"{name}.words"] = "word", result.hidden_states[-1]
            out[f"{name}.entities"] = "entity", result.entity_hidden_states[-1]
            if isinstance(model, LukeModel):
                out[f"{name}.pooled"] = "example", result.pooler_output
            elif isinstance(model, LukeForMaskedLM):
                out[f"{name}.logits"] = "word", result.logits
                out[f"{name}.entity_logits"] = "entity", result.entity_logits
            elif isinstance(model, LukeForQuestionAnswering):
                out[f"{name}.start"] = "word", result.start_logits
                out[f"{name}.end"] = "word", result.end_logits
            elif isinstance(model, (LukeForTokenClassification,)):
                out[f"{name}.logits"] = "word", result.logits
            elif isinstance(model, LukeForEntitySpanClassification):
                out[f"{name}.logits"] = "entity", result.logits
            else:  # entity, entity pair and sequence classification
                out[f"{name}.logits"] = "example", result.logits
        return {k: v for k, v in out.items() if v[1] is not None}  # no entities: no states


def _tiny(folder, model_class, task, spans):
    tokenizer = LukeTokenizer.from_pretrained(folder)
    return Subject(
        tokenizer, task, {model_class.__name__: model_class.from_pretrained(folder)}, spans
    )


def _tiny_luke():
    """tiny-luke (masked LM), its bare encoder, and the word/example heads with no fixture
    of their own (random heads on tiny-luke's config)."""
    tokenizer = LukeTokenizer.from_pretrained(TINY_LUKE)
    config = LukeConfig.from_pretrained(TINY_LUKE)
    models = {
        "LukeModel": LukeModel.from_pretrained(TINY_LUKE),
        "LukeForMaskedLM": LukeForMaskedLM.from_pretrained(TINY_LUKE),
    }
    for seed, cls in enumerate(
        (LukeForSequenceClassification, LukeForTokenClassification, LukeForQuestionAnswering)
    ):
        models[cls.__name__] = cls.from_config(config, seed=seed)
    return Subject(tokenizer, None, models, (0, 3))


def _real_vocab(tmp_path_factory):
    folder = real_vocab_luke_dir(tmp_path_factory.mktemp("real-vocab"))
    if folder is None:
        pytest.skip(f"{MISSING_VOCAB}: {HOW_TO_GET_VOCAB}")
    tokenizer = LukeTokenizer.from_pretrained(folder)
    config = LukeConfig(
        vocab_size=len(tokenizer),
        entity_vocab_size=len(tokenizer.entity_vocab),
        hidden_size=16,
        entity_emb_size=8,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=3,
    )
    return tokenizer, config


SUBJECTS = [
    "tiny-luke",
    "tiny-luke-typing",
    "tiny-luke-tacred",
    "tiny-luke-ner",
    "real-vocab",
    "real-vocab-ner",
]


@pytest.fixture(scope="module", params=SUBJECTS)
def subject(request, tmp_path_factory):
    name = request.param
    if name == "tiny-luke":
        return _tiny_luke()
    if name == "tiny-luke-typing":
        return _tiny(FIXTURES / name, LukeForEntityClassification, "entity_classification", (1, 1))
    if name == "tiny-luke-tacred":
        return _tiny(
            FIXTURES / name, LukeForEntityPairClassification, "entity_pair_classification", (2, 2)
        )
    if name == "tiny-luke-ner":
        return _tiny(
            FIXTURES / name, LukeForEntitySpanClassification, "entity_span_classification", (1, 3)
        )
    tokenizer, config = _real_vocab(tmp_path_factory)
    if name == "real-vocab":
        return Subject(
            tokenizer,
            None,
            {"LukeForMaskedLM": LukeForMaskedLM.from_config(config, seed=0)},
            (0, 3),
        )
    return Subject(
        tokenizer,
        "entity_span_classification",
        {
            "LukeForEntitySpanClassification": LukeForEntitySpanClassification.from_config(
                config, seed=1
            )
        },
        (1, 3),
    )


# ------------------------------------------------------------------ examples


@st.composite
def texts(draw, spans_per_text):
    """A text of pool words and entity spans over whole words: (text, spans)."""
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=8))
    starts, position = [], 0
    for word in words:
        starts.append(position)
        position += len(word) + 1
    fewest, most = spans_per_text
    n = draw(st.integers(fewest, most))
    spans = []
    for _ in range(n):
        first = draw(st.integers(0, len(words) - 1))
        last = draw(st.integers(first, min(first + 2, len(words) - 1)))
        spans.append((starts[first], starts[last] + len(words[last])))
    return " ".join(words), spans


def _encode(subject, texts_and_spans, **options):
    texts_, spans = zip(*texts_and_spans, strict=True)
    if subject.spans_per_text[1] == 0 or not any(spans):
        spans = None
    else:
        spans = list(spans)
    # a batch where some texts have no span: every text needs entity_spans, so give each [];
    # the task tokenizers always have spans
    return subject.tokenizer(
        list(texts_), entity_spans=spans, task=subject.task, return_tensors="np", **options
    )


def _row(kind, array, row, n_words, n_entities, side):
    """Row ``row``'s non-padding part of an output of ``kind``."""
    if kind == "example":
        return array[row]
    n = n_words if kind == "word" else n_entities
    total = array.shape[1]
    return array[row, total - n :] if side == "left" else array[row, :n]


def _check_equal(got: dict, want: dict, row, n_words, n_entities, side, what):
    for name, (kind, array) in want.items():
        expected = _row(kind, array, 0, n_words, n_entities, "right")
        actual = _row(kind, got[name][1], row, n_words, n_entities, side)
        np.testing.assert_allclose(
            actual, expected, atol=ATOL, rtol=0, err_msg=f"{what}: {name} of example {row}"
        )


# ------------------------------------------------------------------ the properties


def _batches_property(subject, examples, side, max_length_extra, multiple, order):
    alone = []
    for example in examples:
        enc = _encode(subject, [example])
        alone.append(
            (
                enc["input_ids"].shape[1],
                enc["entity_ids"].shape[1] if "entity_ids" in enc else 0,
                subject.outputs(enc),
            )
        )
    batch = [examples[k] for k in order]
    options = dict(padding=True, padding_side=side, pad_to_multiple_of=multiple)
    if max_length_extra is not None:
        longest = max(alone[k][0] for k in order)
        options.update(padding="max_length", max_length=longest + max_length_extra)
    enc = _encode(subject, batch, **options)
    got = subject.outputs(enc)
    for row, k in enumerate(order):
        n_words, n_entities, want = alone[k]
        _check_equal(got, want, row, n_words, n_entities, side, f"padding_side={side}, {options}")


def _spans(enc, row=0):
    """(start, end) token spans of one encoding's entities, from entity_position_ids."""
    spans = []
    for positions in enc["entity_position_ids"][row]:
        valid = positions[positions >= 0]
        if len(valid):
            spans.append((int(valid[0]), int(valid[-1]) + 1))
    return spans


def _truncated_alone(subject, full, keep):
    """The model inputs of the truncated text encoded alone (see the module docstring):
    the last ``keep`` word tokens of ``full`` (an untruncated encoding), framed by <s>
    and </s>, and the entities whose mention lies inside them."""
    ids = full["input_ids"][0]
    cut = len(ids) - 2 - keep  # word tokens removed from the start
    input_ids = np.concatenate([ids[:1], ids[1 + cut :]])[None]
    enc = {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids)}
    if "entity_ids" not in full:
        return enc, []
    mention = full["entity_position_ids"].shape[2]
    kept = [(k, (s - cut, e - cut)) for k, (s, e) in enumerate(_spans(full)) if s - cut >= 1]
    rows = np.full((1, len(kept), mention), -1, dtype=np.int64)
    for j, (_, (s, e)) in enumerate(kept):
        rows[0, j, : e - s] = np.arange(s, e)
    enc.update(
        entity_ids=full["entity_ids"][:, [k for k, _ in kept]],
        entity_attention_mask=np.ones((1, len(kept)), dtype=np.int64),
        entity_position_ids=rows,
    )
    if "entity_start_positions" in full:
        enc["entity_start_positions"] = np.array([[s for _, (s, _) in kept]])
        enc["entity_end_positions"] = np.array([[e - 1 for _, (_, e) in kept]])
    return enc, kept


def _left_truncation_property(subject, example, data):
    full = _encode(subject, [example])
    words = full["input_ids"].shape[1] - 2
    fewest = 1
    if subject.task is not None:  # the task heads need all their entities: keep them
        fewest = max(1, words - min(s for s, _ in _spans(full)) + 1)
    assume(fewest < words)
    keep = data.draw(st.integers(fewest, words - 1), label="keep")
    manual, kept = _truncated_alone(subject, full, keep)
    assume("entity_ids" not in full or kept)  # every entity cut: nothing to compare
    truncated = _encode(
        subject, [example], truncation=True, max_length=keep + 2, truncation_side="left"
    )
    assert truncated["input_ids"].shape[1] == keep + 2
    for key, value in manual.items():  # the tokenizer gives the hand-made inputs ...
        np.testing.assert_array_equal(truncated[key], value, err_msg=key)
    want = subject.outputs(manual)  # ... so the answers agree; checked all the same
    _check_equal(
        subject.outputs(truncated), want, 0, keep + 2, len(kept), "right", "left truncation"
    )


def _batches(max_examples):
    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        data=st.data(),
        side=st.sampled_from(["right", "left"]),
        max_length_extra=st.one_of(st.none(), st.integers(0, 5)),
        multiple=st.one_of(st.none(), st.integers(1, 8)),
    )
    def run(subject, data, side, max_length_extra, multiple):
        examples = data.draw(st.lists(texts(subject.spans_per_text), min_size=1, max_size=4))
        order = data.draw(st.permutations(range(len(examples))))
        _batches_property(subject, examples, side, max_length_extra, multiple, order)

    return run


def _truncation(max_examples):
    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def run(subject, data):
        _left_truncation_property(subject, data.draw(texts(subject.spans_per_text)), data)

    return run


test_each_example_answers_as_if_alone = _batches(FEW)
test_left_truncation_answers_as_the_truncated_text_alone = _truncation(FEW)
test_each_example_answers_as_if_alone_many = pytest.mark.parity(_batches(MANY))
test_left_truncation_answers_as_the_truncated_text_alone_many = pytest.mark.parity(
    _truncation(MANY)
)


def test_left_padding_keeps_entity_positions_and_moves_span_indices(subject):
    """The regression of issue 18, shown directly: left padding must not shift
    entity_position_ids (they index the position embeddings, like the word positions,
    which skip padding); the word-gathering indices of span classification must follow
    the words."""
    examples = [
        ("Beyoncé lives in Los Angeles", [(0, 7)] * max(1, subject.spans_per_text[0])),
        ("the cat sat on a mat in Tokyo Japan Paris", [(0, 3)] * max(1, subject.spans_per_text[0])),
    ]
    if subject.spans_per_text[1] == 0:
        pytest.skip("no entities")
    if subject.task == "entity_pair_classification":
        examples = [(t, [spans[0], spans[0]]) for t, spans in examples]
    short = _encode(subject, examples[:1])
    batch = _encode(subject, examples, padding=True, padding_side="left")
    shift = batch["input_ids"].shape[1] - short["input_ids"].shape[1]
    assert shift > 0
    np.testing.assert_array_equal(batch["entity_position_ids"][0], short["entity_position_ids"][0])
    if "entity_start_positions" in short:
        np.testing.assert_array_equal(
            batch["entity_start_positions"][0], short["entity_start_positions"][0] + shift
        )
        np.testing.assert_array_equal(
            batch["entity_end_positions"][0], short["entity_end_positions"][0] + shift
        )


def test_a_left_padded_batch_answers_as_its_examples_alone(subject):
    """One fixed case of the property, so the default run always covers left padding of
    both axes: the pooled <s> vector (sequence classification) and the first entities (entity
    and entity-pair classification) must be read from each row's own tokens, not padding."""
    fewest = max(1, subject.spans_per_text[0])
    examples = [
        ("Beyoncé lives in Los Angeles", [(0, 7), (17, 28), (8, 13)][:fewest]),
        ("the cat sat on a mat in Tokyo", [(4, 7), (0, 3), (8, 11)][:fewest]),
    ]
    if subject.spans_per_text[1] == 0:
        examples = [(text, []) for text, _ in examples]
    _batches_property(subject, examples, "left", None, 4, [1, 0])


@pytest.mark.parity
@pytest.mark.parametrize(
    "name,class_name,spans",
    [
        ("tiny-luke", "LukeForMaskedLM", [[(0, 7)], [(4, 7), (24, 29)]]),
        ("tiny-luke-typing", "LukeForEntityClassification", [[(0, 7)], [(24, 29)]]),
        (
            "tiny-luke-tacred",
            "LukeForEntityPairClassification",
            [[(0, 7), (17, 28)], [(4, 7), (24, 29)]],
        ),
        (
            "tiny-luke-ner",
            "LukeForEntitySpanClassification",
            [[(0, 7)], [(4, 7), (24, 29), (0, 3)]],
        ),
    ],
)
def test_left_padded_rows_answer_as_transformers_does_for_the_text_alone(name, class_name, spans):
    """The oracle for the property: transformers 4.57's answers for each text alone (where
    its tokenizer and model are right) equal numpy_luke's rows of a left-padded batch."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    import numpy_luke

    folder = FIXTURES / name
    texts_ = ["Beyoncé lives in Los Angeles", "the cat sat on a mat in Tokyo"]
    ours_tok = LukeTokenizer.from_pretrained(folder)
    ours = getattr(numpy_luke, class_name).from_pretrained(folder)
    theirs_tok = transformers.LukeTokenizer.from_pretrained(folder)
    theirs = getattr(transformers, class_name).from_pretrained(folder).eval()
    batch = ours_tok(
        texts_,
        entity_spans=spans,
        padding=True,
        padding_side="left",
        pad_to_multiple_of=4,
        return_tensors="np",
    )
    got = ours(**batch, output_hidden_states=True)
    for row, (text, row_spans) in enumerate(zip(texts_, spans, strict=True)):
        alone = theirs_tok(text, entity_spans=row_spans, return_tensors="pt")
        with torch.no_grad():
            want = theirs(**alone, output_hidden_states=True)
        n, m = alone["input_ids"].shape[1], alone["entity_ids"].shape[1]
        pairs = [
            (got.hidden_states[-1][row, -n:], want.hidden_states[-1][0]),
            (got.entity_hidden_states[-1][row, -m:], want.entity_hidden_states[-1][0]),
        ]
        if class_name == "LukeForMaskedLM":
            pairs += [
                (got.logits[row, -n:], want.logits[0]),
                (got.entity_logits[row, -m:], want.entity_logits[0]),
            ]
        elif class_name == "LukeForEntitySpanClassification":
            pairs.append((got.logits[row, -m:], want.logits[0]))
        else:
            pairs.append((got.logits[row], want.logits[0]))
        for k, (actual, expected) in enumerate(pairs):
            np.testing.assert_allclose(
                actual, expected.numpy(), atol=ATOL, rtol=0, err_msg=f"{name} row {row} output {k}"
            )


@pytest.mark.parametrize(
    "name, class_name, spans",
    [
        ("tiny-luke-typing", "LukeForEntityClassification", [(0, 5)]),
        ("tiny-luke-tacred", "LukeForEntityPairClassification", [(0, 5), (9, 12)]),
    ],
)
def test_entity_heads_read_unbatched_lists_as_a_batch_of_one(name, class_name, spans):
    """The heads that read the first attended entities take the entity mask as given: a
    list, or one example without a batch axis, as every model input."""
    import numpy_luke

    tok = LukeTokenizer.from_pretrained(FIXTURES / name)
    model = getattr(numpy_luke, class_name).from_pretrained(FIXTURES / name)
    want = model(**tok("Tokyo is big", entity_spans=spans, return_tensors="np")).logits
    got = model(**tok("Tokyo is big", entity_spans=spans)).logits  # lists, no batch axis
    np.testing.assert_array_equal(got, want)


def test_the_pooler_with_a_three_dimensional_mask_reads_the_first_word():
    """A (batch, words, words) mask names no padding: the pooler reads index 0, as
    transformers (the left-padding rule must not turn the output into (batch, words, h))."""
    model = LukeModel.from_pretrained(TINY_LUKE)
    flat = model(input_ids=[[0, 5, 6, 2]]).pooler_output
    square = model(input_ids=[[0, 5, 6, 2]], attention_mask=np.ones((1, 4, 4))).pooler_output
    assert square.shape == flat.shape == (1, model.config.hidden_size)
    np.testing.assert_allclose(square, flat, atol=1e-6)

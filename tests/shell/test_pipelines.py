"""numpy_luke.pipeline in Python: calling conventions, batching, options and errors, on the
tiny fixture checkpoints (the outputs themselves are checked against transformers in
tests/oracle/test_parity_fill.py and tests/oracle/test_parity_pipelines.py)."""

import helpers
import numpy as np
import pytest

import numpy_luke
from numpy_luke import LukeForMaskedLM, LukeTokenizer
from numpy_luke.errors import InputError
from numpy_luke.pipelines import FillMaskPipeline, pipeline

TYPING = helpers.FIXTURES / "tiny-luke-typing"
TACRED = helpers.FIXTURES / "tiny-luke-tacred"
NER = helpers.FIXTURES / "tiny-luke-ner"

TEXTS = [
    "Plants create <mask> through a process known as photosynthesis.",
    "[[Lionel Messi]] plays for <mask>.",
    "<mask>",
    "[[Tokyo]] is the capital of [[Japan]], and Paris is the <mask> of France.",
    "The model reads words and <mask>. Each entity is a title in Wikipedia, and each word "
    "is a token. The numbers 1, 2, 3, 10, 100 and 2020 appear in the <mask> too.",
]


@pytest.fixture(scope="module")
def fill():
    return pipeline("fill-mask-and-entities", model=helpers.TINY_LUKE)  # words and entities


def scores_of(answer):
    masks = answer["masks"]
    rows = masks if masks and isinstance(masks[0], list) else [masks]
    words = [p["score"] for row in rows for p in row]
    entities = [p["score"] for e in answer["entities"] for p in e["predictions"]]
    return np.array(words + entities)


def ids_of(answer):
    masks = answer["masks"]
    rows = masks if masks and isinstance(masks[0], list) else [masks]
    return ([p["token"] for row in rows for p in row],
            [p["entity_id"] for e in answer["entities"] for p in e["predictions"]])  # fmt: skip


def test_pipeline_is_exported_lazily():
    assert numpy_luke.pipeline is pipeline


def test_one_text_gives_one_answer_and_a_list_gives_a_list(fill):
    one = fill(TEXTS[0])
    many = fill(TEXTS)
    assert isinstance(one, dict) and isinstance(many, list) and len(many) == len(TEXTS)
    assert ids_of(many[0]) == ids_of(one)
    np.testing.assert_allclose(scores_of(many[0]), scores_of(one), atol=1e-6)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 16])
def test_batching_does_not_change_answers(fill, batch_size):
    alone = [fill(text) for text in TEXTS]
    batched = pipeline("fill-mask-and-entities", model=helpers.TINY_LUKE, batch_size=batch_size)(
        TEXTS
    )
    for a, b in zip(alone, batched, strict=True):
        assert a["text"] == b["text"] and ids_of(a) == ids_of(b)
        np.testing.assert_allclose(scores_of(a), scores_of(b), atol=1e-6)


def test_batches_are_cut_by_count_and_by_padded_size(fill):
    from numpy_luke.pipelines import MAX_BATCH_CHARACTERS as LIMIT

    def sizes(lengths):
        batches = fill.cut(list(range(len(lengths))), lengths)
        assert sum(batches, []) == list(range(len(lengths)))  # all, in order
        return [len(b) for b in batches]

    assert sizes([10] * 20) == [8, 8, 4]  # batch_size 8
    assert sizes([LIMIT // 2 + 1] * 3) == [1, 1, 1]  # two would pass the limit
    assert sizes([LIMIT // 4] * 6) == [4, 2]
    assert sizes([10] * 3 + [LIMIT] * 2) == [3, 1, 1]


def test_entity_spans_per_text_equal_markers(fill):
    marked = fill(TEXTS[:2])
    plain = [answer["text"] for answer in marked]
    spanned = fill(plain, entity_spans=[None, [(0, 12)]])
    assert [ids_of(a) for a in spanned] == [ids_of(a) for a in marked]
    with pytest.raises(InputError, match="2 texts but 1 lists of entity spans"):
        fill(plain, entity_spans=[[(0, 12)]])


def test_top_k_in_the_call_overrides_the_pipeline(fill):
    answer = fill(TEXTS[1], top_k=3)
    assert len(answer["masks"]) == 3 and len(answer["entities"][0]["predictions"]) == 3
    assert len(fill(TEXTS[1])["masks"]) == 5


def test_scores_are_probabilities(fill):
    answer = fill(TEXTS[1], top_k=10_000)  # everything: the whole vocabularies
    vocab = LukeTokenizer.from_pretrained(helpers.TINY_LUKE).entity_vocab
    assert sum(p["score"] for p in answer["masks"]) == pytest.approx(1.0, abs=1e-6)
    entity_scores = [p["score"] for p in answer["entities"][0]["predictions"]]
    assert len(entity_scores) == len(vocab) - 4  # all but the four special entities
    assert 0 < sum(entity_scores) < 1  # the specials keep their share of the softmax


def test_a_loaded_model_and_tokenizer(fill):
    model = LukeForMaskedLM.from_pretrained(helpers.TINY_LUKE)
    tokenizer = LukeTokenizer.from_pretrained(helpers.TINY_LUKE)
    loaded = pipeline("fill-mask-and-entities", model=model, tokenizer=tokenizer)
    assert isinstance(loaded, FillMaskPipeline)
    assert ids_of(loaded(TEXTS[1])) == ids_of(fill(TEXTS[1]))
    with pytest.raises(InputError, match="pass tokenizer="):
        pipeline("fill-mask", model=model)
    with pytest.raises(InputError, match="the ner pipeline needs a LukeForEntitySpanClassif"):
        pipeline("ner", model=model, tokenizer=tokenizer)
    by_path = pipeline("fill-mask-and-entities", model=model, tokenizer=str(helpers.TINY_LUKE))
    assert ids_of(by_path(TEXTS[1])) == ids_of(fill(TEXTS[1]))
    named = pipeline("fill-mask-and-entities", model=helpers.TINY_LUKE, tokenizer=helpers.TINY_LUKE)
    assert ids_of(named(TEXTS[1])) == ids_of(fill(TEXTS[1]))


def test_float64_agrees_with_float32(fill):
    double = pipeline("fill-mask-and-entities", model=helpers.TINY_LUKE, dtype=np.float64)
    for text in TEXTS[:2]:
        assert ids_of(double(text)) == ids_of(fill(text))
        np.testing.assert_allclose(scores_of(double(text)), scores_of(fill(text)), atol=1e-6)


def test_answers_are_plain_json_values(fill):
    import json

    answers = fill(TEXTS)
    assert json.loads(json.dumps(answers)) == answers


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: pipeline("summarization"), "unknown task 'summarization'"),
        (lambda: pipeline("fill-mask", model=helpers.TINY_LUKE, top_k=0), "top_k must be"),
        (lambda: pipeline("fill-mask", model=helpers.TINY_LUKE, batch_size=0), "batch_size"),
        (lambda: pipeline("ner", model=NER, max_span_length=0), "max_span_length must be"),
    ],
)
def test_bad_pipeline_arguments(call, message):
    with pytest.raises(InputError, match=message):
        call()


def test_bad_texts(fill):
    with pytest.raises(TypeError, match="expected a text"):
        fill(["fine <mask>", 42])
    with pytest.raises(InputError, match="text 2: the text is empty"):
        fill(["fine <mask>", "   "])
    with pytest.raises(InputError, match="^nothing to predict"):
        fill("no mask")
    with pytest.raises(InputError, match="span 0:3 covers only white space"):
        fill("   x", entity_spans=[(0, 3)])


def test_typing_threshold_and_label_order():
    typing = pipeline("entity-typing", model=TYPING, threshold=0.0)
    answer = typing("[[Beyoncé]] lives in New Orleans.")
    scores = [p["score"] for p in answer["labels"]]
    assert len(scores) == 9 and scores == sorted(scores, reverse=True)
    middle = scores[4]
    kept = typing("[[Beyoncé]] lives in New Orleans.", threshold=middle)["labels"]
    assert kept == answer["labels"][:5]
    assert typing("[[Beyoncé]] lives.", threshold=1.0)["labels"] == []  # above 1: refused


def test_relation_answers_and_batches():
    relation = pipeline("relation-classification", model=TACRED, top_k=42)
    texts = ["[[Beyoncé]] lives in [[New Orleans]].", "[[Paris]] is in [[France]]."]
    answers = relation(texts)
    for answer in answers:
        assert sum(p["score"] for p in answer["labels"]) == pytest.approx(1.0, abs=1e-6)
        assert len({p["label"] for p in answer["labels"]}) == 42
    alone = relation(texts[1])
    assert [p["label"] for p in alone["labels"]] == [p["label"] for p in answers[1]["labels"]]


def test_ner_spans_are_words_and_respect_the_length_limit():
    ner = pipeline("ner", model=NER)
    text = "Lionel Messi plays for Inter Miami, and Beyoncé lives in New Orleans."
    for limit in (1, 2, 4, 16):
        entities = ner(text, max_span_length=limit)["entities"]
        for e in entities:
            assert text[e["start"] : e["end"]] == e["mention"]
            assert len(e["mention"].replace(",", " , ").split()) <= limit
            assert e["label"] != "NIL" and 0 < e["score"] <= 1
        for a, b in zip(entities, entities[1:], strict=False):
            assert a["end"] <= b["start"]
    long_text = " ".join(["Paris"] * 40)  # 40 words: hundreds of candidates, many chunks
    assert all(e["mention"].startswith("Paris") for e in ner(long_text)["entities"])


# ---- fuzzing: any text, any spans -> an answer or an InputError, nothing else ----------

from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_pieces = st.sampled_from(
    ["<mask>"] * 3
    + ["[[Messi]]", "[[", "]]"]
    + [" ", " ", "Messi", "é", "\u200b", "\x07", "😀", "\n", ".", "<s>", "<ent>", "[MASK]"]
)
_texts = st.lists(st.one_of(_pieces, st.text(max_size=5)), min_size=1, max_size=12).map(
    "".join)  # fmt: skip
_spans = st.none() | st.lists(st.tuples(st.integers(-1, 20), st.integers(0, 24)), max_size=3)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_texts, spans=_spans)
def test_fill_fuzz_answers_or_raises_input_error(fill, text, spans):
    try:
        answer = fill(text, entity_spans=spans, top_k=2)
    except InputError as error:
        event(f"InputError: {str(error).split(':')[0][:30]}")
        return
    event("answered")
    if spans is None:
        assert answer["text"] == text.replace("[[", "").replace("]]", "")
    else:
        assert answer["text"] == text and len(answer["entities"]) == len(spans)
    assert answer["masks"] or answer["entities"]
    for entity in answer["entities"]:
        assert answer["text"][entity["start"] : entity["end"]] == entity["mention"]
        assert entity["mention"].strip() == entity["mention"] or spans is not None


@pytest.fixture(scope="module")
def ner_pipeline():
    return pipeline("ner", model=NER, max_span_length=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=40))
def test_ner_fuzz_answers_or_raises_input_error(ner_pipeline, text):
    try:
        answer = ner_pipeline(text)
    except InputError:
        event("InputError")
        return
    event("answered")
    for a, b in zip(answer["entities"], answer["entities"][1:], strict=False):
        assert a["end"] <= b["start"]
    for e in answer["entities"]:
        assert answer["text"][e["start"] : e["end"]] == e["mention"] and e["mention"].strip()


def test_a_shared_fill_pipeline_gives_titles_from_several_threads():
    """Issue 14: the first calls of a shared pipeline from several threads used to read the
    id -> title table while it was being built, and returned None titles."""
    from concurrent.futures import ThreadPoolExecutor

    text = "[[Lionel Messi]] plays football for <mask>."
    expected = pipeline("fill-mask-and-entities", model=helpers.TINY_LUKE)(text)
    for _ in range(3):
        shared = pipeline("fill-mask-and-entities", model=helpers.TINY_LUKE)
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(shared, [text] * 8))
        assert all(answer == expected for answer in answers)
        titles = [p["entity"] for a in answers for e in a["entities"] for p in e["predictions"]]
        assert titles and None not in titles


def test_a_mask_token_outside_the_vocabulary_is_no_mask():
    """Issue 18: tokenizer.mask_token = "[NEWMASK]" (not in the vocabulary) made fill-mask
    answer []; transformers raises that no mask token was found, and so do we."""
    fill = pipeline("fill-mask", model=helpers.TINY_LUKE)
    fill.tokenizer.mask_token = "[NEWMASK]"
    with pytest.raises(InputError, match=r"no mask token \(\[NEWMASK\]\) found"):
        fill("Paris is the [NEWMASK] of France.")
    with pytest.raises(InputError, match="nothing to predict"):
        fill("Paris is the <mask> of France.")

"""The entity-typing, relation-classification and ner pipelines against transformers.

The tiny random head checkpoints of tests/fixtures/make_tiny_heads.py are read by both;
each pipeline's answer must be what transformers' logits give under the pipeline's
documented rules (sigmoid >= threshold; softmax top-k; span argmax, NIL dropped, greedy
non-overlapping selection), labels exact and scores within 1e-6.
"""

import helpers
import numpy as np
import pytest

from numpy_luke.mentions import parse_mentions
from numpy_luke.pipelines import (
    enumerate_spans,
    find_words,
    pipeline,
    select_spans,
)

pytestmark = pytest.mark.parity
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

TOLERANCE = 1e-6
FIXTURES = helpers.FIXTURES


def load(folder, cls):
    tokenizer = transformers.LukeTokenizer.from_pretrained(FIXTURES / folder)
    return tokenizer, getattr(transformers, cls).from_pretrained(FIXTURES / folder).eval()


def logits_of(model, encoding):
    with torch.no_grad():
        return model(**encoding).logits.double().numpy()


def assert_labels_equal(ours, theirs):
    assert [p["label"] for p in ours] == [label for label, _ in theirs]
    for p, (_, score) in zip(ours, theirs, strict=True):
        assert abs(p["score"] - score) <= TOLERANCE


TYPING_TEXTS = [
    "[[Beyoncé]] lives in New Orleans.",
    "Lionel Messi plays for [[Inter Miami]] and Argentina.",
    "The capital of Japan is [[Tokyo]]",
]


def test_entity_typing_equals_transformers():
    tokenizer, model = load("tiny-luke-typing", "LukeForEntityClassification")
    assert tokenizer.task == "entity_classification"
    typing = pipeline("entity-typing", model=FIXTURES / "tiny-luke-typing", threshold=0.3)
    answers = typing(TYPING_TEXTS)  # one batch
    for text, answer in zip(TYPING_TEXTS, answers, strict=True):
        plain, spans = parse_mentions(text)
        probs = 1 / (
            1
            + np.exp(
                -logits_of(model, tokenizer(plain, entity_spans=spans, return_tensors="pt"))[0]
            )
        )
        theirs = [(model.config.id2label[i], probs[i]) for i in np.argsort(-probs)
                  if probs[i] >= 0.3]  # fmt: skip
        assert_labels_equal(answer["labels"], theirs)


RELATION_TEXTS = [
    "[[Beyoncé]] lives in [[New Orleans]].",
    "[[Lionel Messi]] was born in [[Rosario, Argentina]], and played for Barcelona.",
    "[[Paris]] is the capital of [[France]]",
]


def test_relation_classification_equals_transformers():
    tokenizer, model = load("tiny-luke-tacred", "LukeForEntityPairClassification")
    assert tokenizer.task == "entity_pair_classification"
    relation = pipeline("relation-classification", model=FIXTURES / "tiny-luke-tacred")
    answers = relation(RELATION_TEXTS, top_k=7)
    for text, answer in zip(RELATION_TEXTS, answers, strict=True):
        plain, spans = parse_mentions(text)
        logits = logits_of(model, tokenizer(plain, entity_spans=spans, return_tensors="pt"))[0]
        probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
        theirs = [(model.config.id2label[i], probs[i]) for i in np.argsort(-probs)[:7]]
        assert_labels_equal(answer["labels"], theirs)


NER_TEXTS = [
    "Beyoncé lives in New Orleans.",
    "Top seed Ana Ivanovic said on Thursday she could hardly believe her luck at Wimbledon.",
]


@pytest.mark.parametrize("max_span_length", [1, 3, 16])
def test_ner_equals_transformers(max_span_length):
    tokenizer, model = load("tiny-luke-ner", "LukeForEntitySpanClassification")
    assert tokenizer.task == "entity_span_classification"
    ner = pipeline("ner", model=FIXTURES / "tiny-luke-ner", max_span_length=max_span_length)
    for text in NER_TEXTS:
        spans = enumerate_spans(find_words(text), max_span_length)
        found = []
        for start in range(0, len(spans), 32):  # the tokenizer's max_entity_length
            chunk = spans[start : start + 32]
            logits = logits_of(model, tokenizer(text, entity_spans=chunk, return_tensors="pt"))
            probs = np.exp(logits[0] - logits[0].max(-1, keepdims=True))
            probs /= probs.sum(-1, keepdims=True)
            for (s, e), p in zip(chunk, probs, strict=True):
                label = int(np.argmax(p))
                if label != 0:  # NIL
                    found.append(
                        {
                            "mention": text[s:e],
                            "start": s,
                            "end": e,
                            "label": model.config.id2label[label],
                            "score": p[label],
                        }
                    )
        theirs = select_spans(found)
        ours = ner(text)["entities"]
        assert [(e["start"], e["end"], e["label"]) for e in ours] == [
            (e["start"], e["end"], e["label"]) for e in theirs
        ]
        np.testing.assert_allclose([e["score"] for e in ours], [e["score"] for e in theirs],
                                   atol=TOLERANCE)  # fmt: skip

"""Tokenizers, models and pipelines survive pickling and ``copy.deepcopy`` (issue 18).

multiprocessing, DataLoader workers, ``datasets.map(num_proc=...)`` and distributed engines
pickle them; transformers' own tokenizer tests deep-copy tokenizers. A copy must give the
same answers as the original, and a copy made after the id -> title table was built (the
lazily built table once guarded by a lock, which cannot be pickled) as well.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from helpers import FIXTURES, MODEL_CLASS_NAMES, TINY_LUKE

import numpy_luke
from numpy_luke import LukeConfig, LukeTokenizer, pipeline

COPIES = {"pickle": lambda obj: pickle.loads(pickle.dumps(obj)), "deepcopy": copy.deepcopy}
TEXTS = ["Beyoncé lives in Los Angeles.", "Tokyo is in Japan."]
SPANS = [[(0, 7), (17, 28)], [(0, 5), (12, 17)]]


@pytest.mark.parametrize("how", COPIES)
def test_tokenizer_copy_encodes_and_decodes_the_same(how):
    tok = LukeTokenizer.from_pretrained(TINY_LUKE)
    tok.add_tokens(["newword"])
    tok.entity_vocabulary.id_to_title(3)  # builds the id -> title table before copying
    twin = COPIES[how](tok)
    kwargs = dict(entity_spans=SPANS, padding=True, padding_side="left", return_tensors="np")
    want, got = tok(TEXTS, **kwargs), twin(TEXTS, **kwargs)
    assert want.keys() == got.keys()
    for key in want:
        np.testing.assert_array_equal(got[key], want[key])
    ids = tok.encode("a newword <mask>")
    assert twin.encode("a newword <mask>") == ids
    assert twin.decode(ids) == tok.decode(ids)
    assert twin.entity_vocabulary.id_to_title(3) == tok.entity_vocabulary.id_to_title(3)
    assert COPIES[how](LukeTokenizer.from_pretrained(TINY_LUKE)).entity_vocabulary.id_to_title(
        3
    ) == tok.entity_vocabulary.id_to_title(3)  # a table never built


MODEL_CLASSES = MODEL_CLASS_NAMES


@pytest.mark.parametrize("how", COPIES)
@pytest.mark.parametrize("class_name", MODEL_CLASSES)
def test_model_copy_answers_the_same(class_name, how):
    model = getattr(numpy_luke, class_name).from_config(
        LukeConfig.from_pretrained(TINY_LUKE), seed=0
    )
    tok = LukeTokenizer.from_pretrained(TINY_LUKE)
    enc = dict(tok(TEXTS, entity_spans=SPANS, padding=True, return_tensors="np"))
    if class_name == "LukeForEntitySpanClassification":
        enc["entity_start_positions"] = np.array([[1, 3], [1, 4]])
        enc["entity_end_positions"] = np.array([[2, 5], [2, 5]])
    if class_name == "LukeForMultipleChoice":
        enc = {key: np.stack([value, value[::-1]], axis=1) for key, value in enc.items()}
    twin = COPIES[how](model)
    want, got = model(**enc).to_tuple(), twin(**enc).to_tuple()
    assert len(want) == len(got)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)


def token_classifier() -> dict:
    """An in-memory token-classification model (random weights: no such fixture is
    committed) with the fixture's tokenizer."""
    config = LukeConfig.from_pretrained(TINY_LUKE, id2label={0: "O", 1: "B-PER", 2: "I-PER"})
    model = numpy_luke.LukeForTokenClassification.from_config(config, seed=4)
    return dict(model=model, tokenizer=LukeTokenizer.from_pretrained(TINY_LUKE))


PIPELINES = {
    "token-classification": (token_classifier, "Beyoncé lives in New Orleans."),
    "fill-mask": (dict(model=TINY_LUKE), "Beyoncé lives in <mask>."),
    "fill-mask-and-entities": (dict(model=TINY_LUKE), "[[Beyoncé]] lives in <mask>."),
    "entity-prediction": (dict(model=TINY_LUKE), "[[Beyoncé]] lives in [[Los Angeles]]."),
    "entity-typing": (
        dict(model=FIXTURES / "tiny-luke-typing", threshold=0.0),
        "[[Beyoncé]] lives in New Orleans.",
    ),
    "relation-classification": (
        dict(model=FIXTURES / "tiny-luke-tacred"),
        "[[Beyoncé]] lives in [[New Orleans]].",
    ),
    "ner": (dict(model=FIXTURES / "tiny-luke-ner"), "Beyoncé lives in New Orleans."),
}


def test_every_pipeline_task_is_covered():
    from numpy_luke.pipelines import PIPELINES as TASKS

    assert set(PIPELINES) == set(TASKS)


@pytest.mark.parametrize("how", COPIES)
@pytest.mark.parametrize("task", PIPELINES)
def test_pipeline_copy_answers_the_same(task, how):
    kwargs, text = PIPELINES[task]
    pipe = pipeline(task, **(kwargs() if callable(kwargs) else kwargs))
    want = pipe(text)  # answered once first: caches and tables are built before the copy
    twin = COPIES[how](pipe)
    assert twin(text) == want
    assert twin([text, text]) == pipe([text, text])

"""``fill`` against the oracle: transformers' fill-mask pipeline and LukeForMaskedLM.

On the same checkpoint (the tiny fixture by default; set NUMPY_LUKE_FILL_CHECKPOINT to a
folder such as a downloaded studio-ousia/luke-base to check a real one):
- ``pipeline("fill-mask")`` answers as transformers' fill-mask pipeline: the same
  tokens, token strings and sequences in the same order, scores within 1e-6, for one
  text, a list of texts, ``top_k`` and ``targets``; so does ``python -m numpy_luke fill
  --json`` in its ``masks``;
- masked entity prediction gives the entities of an argsort of transformers'
  ``entity_logits`` (special entities left out), scores within 1e-6, with word masks in
  the same call predicted as transformers' own logits say.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import helpers
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from numpy_luke.core.entity_vocab import SPECIAL_ENTITIES
from numpy_luke.mentions import parse_mentions
from numpy_luke.pipelines import pipeline

pytestmark = pytest.mark.parity
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

CHECKPOINT = Path(os.environ.get("NUMPY_LUKE_FILL_CHECKPOINT", helpers.TINY_LUKE))
TOLERANCE = 1e-6

TEXTS = [
    "Plants create <mask> through a process known as photosynthesis.",
    "<mask> create energy through a process known as photosynthesis.",
    "Tokyo is the capital of <mask>",
    "Lionel Messi plays for <mask> and <mask>.",
    "The model reads <mask> and entities, and each <mask> is a <mask> in Wikipedia.",
    "Beyoncé sang at the Super Bowl in New Orleans<mask>",
    "  Marie Curie was a physicist who worked in <mask>, France.  ",
    "Top seed Ana Ivanovic said on Thursday she could hardly believe her <mask>.",
    "Numbers: 1, 2, 3, <mask> and 2020 😀 appear in the text too.",
]


@pytest.fixture(scope="module")
def oracle():
    tokenizer = transformers.LukeTokenizer.from_pretrained(CHECKPOINT)
    model = transformers.LukeForMaskedLM.from_pretrained(CHECKPOINT).eval()
    fill = transformers.pipeline("fill-mask", model=model, tokenizer=tokenizer)
    return tokenizer, model, fill


@pytest.fixture(scope="module")
def ours():
    return pipeline("fill-mask", model=CHECKPOINT)


@pytest.fixture(scope="module")
def combined():
    """Words and entities in one answer: what the command line prints."""
    return pipeline("fill-mask-and-entities", model=CHECKPOINT)


def assert_fill_equal(ours_answer, theirs):
    """Our ``masks`` against transformers' answer: exact ids, strings and order; scores
    within TOLERANCE. One mask: flat lists; several: a list per mask."""
    assert type(ours_answer) is type(theirs) is list
    assert len(ours_answer) == len(theirs)
    for a, b in zip(ours_answer, theirs, strict=True):
        if isinstance(b, list):
            assert_fill_equal(a, b)
            continue
        assert (a["token"], a["token_str"], a["sequence"]) == (
            b["token"], b["token_str"], b["sequence"]
        )  # fmt: skip
        assert abs(a["score"] - b["score"]) <= TOLERANCE


def test_cli_json_equals_the_transformers_pipeline(oracle):
    _, _, fill = oracle
    result = subprocess.run(
        [sys.executable, "-m", "numpy_luke", "fill", *TEXTS, "--json", "--model", CHECKPOINT],
        capture_output=True, text=True, encoding="utf-8", cwd=helpers.ROOT, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["text"] for a in answers] == TEXTS
    for text, answer in zip(TEXTS, answers, strict=True):
        assert_fill_equal(answer["masks"], fill(text, top_k=5))


WORDS = (
    "Plants create energy through a process known as photosynthesis . Lionel Messi plays "
    "for Inter Miami and Argentina , Tokyo is the capital of Japan ; the model reads words "
    "and entities 2020 Beyoncé café"
).split()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=14),
    mask_places=st.lists(st.integers(0, 14), min_size=1, max_size=3),
    top_k=st.integers(1, 12),
)
def test_random_texts_equal_the_transformers_pipeline(oracle, ours, words, mask_places, top_k):
    _, _, fill = oracle
    for place in mask_places:
        words.insert(min(place, len(words)), "<mask>")
    text = " ".join(words)
    assert_fill_equal(ours(text, top_k=top_k), fill(text, top_k=top_k))


def test_the_python_pipeline_equals_transformers_on_lists_and_options(oracle, ours):
    _, _, fill = oracle
    assert_fill_equal(ours(TEXTS), fill(TEXTS))  # a list of texts: a list of answers
    assert_fill_equal(ours(TEXTS[0], top_k=2), fill(TEXTS[0], top_k=2))
    auto = pipeline(task="fill-mask", model=CHECKPOINT, dtype="auto", device="cpu")
    theirs = transformers.pipeline(task="fill-mask", model=str(CHECKPOINT), dtype="auto",
                                   device="cpu")  # fmt: skip
    assert_fill_equal(auto(TEXTS[0]), theirs(TEXTS[0]))


TARGETS = [
    ["Ġenergy", "Ġthrough", "energy"],  # vocabulary entries
    ["Ġenergy", "photosynthesis", "Paris"],  # not entries: replaced by their first token
    "Ġenergy",  # one target, as a string
    ["Ġenergy", "Ġenergy", "Ġa"],  # repeated
]


@pytest.mark.parametrize("targets", TARGETS)
@pytest.mark.parametrize("text", [TEXTS[0], TEXTS[3]])
def test_targets_equal_transformers(oracle, ours, targets, text):
    _, _, fill = oracle
    for top_k in (1, 2, 5):
        theirs = fill(text, targets=targets, top_k=top_k)
        assert_fill_equal(ours(text, targets=targets, top_k=top_k), theirs)
    built = pipeline("fill-mask", model=CHECKPOINT, targets=targets, top_k=2)
    assert_fill_equal(built(text), fill(text, targets=targets, top_k=2))


ENTITY_TEXTS = [
    "[[Lionel Messi]] plays for [[Inter Miami CF]] and <mask>.",
    "[[Tokyo]] is the capital of <mask>.",
    "[[Marie Curie]] was a physicist who worked in [[Paris]], [[France]].",
    "The <mask> of [[Germany]] is [[Berlin]] <mask>",
]


def oracle_entity_predictions(oracle, text, top_k):
    """Word and entity predictions computed straight from transformers' model outputs."""
    tokenizer, model, _ = oracle
    plain, spans = parse_mentions(text)
    encoding = tokenizer(plain, entity_spans=spans, return_tensors="pt")  # [MASK] entities
    assert encoding["entity_ids"][0].tolist() == [tokenizer.entity_vocab["[MASK]"]] * len(spans)
    with torch.no_grad():
        output = model(**encoding)
    specials = [tokenizer.entity_vocab[t] for t in SPECIAL_ENTITIES if t in tokenizer.entity_vocab]
    titles = {i: t for t, i in tokenizer.entity_vocab.items()}
    entities = []
    for j in range(len(spans)):
        probs = torch.softmax(output.entity_logits[0, j].double(), -1).numpy()
        order = [i for i in np.argsort(-output.entity_logits[0, j].numpy(), kind="stable")
                 if i not in specials][:top_k]  # fmt: skip
        entities.append([(int(i), titles[int(i)], float(probs[i])) for i in order])
    ids = encoding["input_ids"][0]
    positions = torch.nonzero(ids == tokenizer.mask_token_id).flatten().tolist()
    masks = []
    for position in positions:
        probs = torch.softmax(output.logits[0, position].double(), -1)
        values, tokens = probs.topk(top_k)
        row = []
        for value, token in zip(values.tolist(), tokens.tolist(), strict=True):
            filled = ids.clone()
            filled[position] = token
            sequence = tokenizer.decode(filled, skip_special_tokens=len(positions) == 1)
            row.append((token, tokenizer.decode([token]), sequence, value))
        masks.append(row)
    return masks, entities


@pytest.mark.parametrize("text", ENTITY_TEXTS)
def test_entity_predictions_equal_an_argsort_of_transformers_entity_logits(oracle, combined, text):
    top_k = 6
    masks, entities = oracle_entity_predictions(oracle, text, top_k)
    answer = combined(text, top_k=top_k)
    assert len(answer["entities"]) == len(entities)
    for ours_entity, theirs in zip(answer["entities"], entities, strict=True):
        got = ours_entity["predictions"]
        assert [(p["entity_id"], p["entity"]) for p in got] == [(i, t) for i, t, _ in theirs]
        for p, (_, _, score) in zip(got, theirs, strict=True):
            assert abs(p["score"] - score) <= TOLERANCE
    ours_masks = answer["masks"]
    if len(masks) == 1:
        ours_masks = [ours_masks]
    assert len(ours_masks) == len(masks)
    for ours_row, row in zip(ours_masks, masks, strict=True):
        assert [(p["token"], p["token_str"], p["sequence"]) for p in ours_row] == [
            r[:3] for r in row
        ]
        for p, r in zip(ours_row, row, strict=True):
            assert abs(p["score"] - r[3]) <= TOLERANCE


def test_cli_entity_json_equals_the_pipeline(combined):
    """The command prints the pipeline's answer (checked against transformers above)."""
    result = subprocess.run(
        [sys.executable, "-m", "numpy_luke", "fill", *ENTITY_TEXTS, "--json", "--top-k", "6",
         "--model", CHECKPOINT],
        capture_output=True, text=True, encoding="utf-8", cwd=helpers.ROOT, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    for text, answer in zip(ENTITY_TEXTS, answers, strict=True):
        alone = combined(text, top_k=6)
        assert [e["predictions"][0]["entity_id"] for e in answer["entities"]] == [
            e["predictions"][0]["entity_id"] for e in alone["entities"]
        ]
        for a, b in zip(answer["entities"], alone["entities"], strict=True):
            np.testing.assert_allclose(
                [p["score"] for p in a["predictions"]],
                [p["score"] for p in b["predictions"]],
                atol=TOLERANCE,
            )

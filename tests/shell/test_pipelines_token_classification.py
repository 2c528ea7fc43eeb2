"""Task names as transformers means them (issue 20, section 4).

``pipeline("token-classification")`` runs LukeForTokenClassification and answers as
transformers' pipeline does (the live comparison is test_parity_token_classification.py);
``ner`` keeps its meaning here (LUKE's span NER), and a token-classification checkpoint
given to it is refused with a message saying what ``ner`` means and what to use.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from helpers import FIXTURES, TINY_LUKE

import numpy_luke
from numpy_luke.errors import InputError

LABELS = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC"}
TEXTS = ["Lionel Messi plays for Inter Miami.", "Tokyo is big."]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A tiny token-classification checkpoint (random head), with the fixture's tokenizer."""
    folder = tmp_path_factory.mktemp("token") / "tiny-luke-token"
    shutil.copytree(TINY_LUKE, folder)
    config = numpy_luke.LukeConfig.from_pretrained(TINY_LUKE, id2label=LABELS)
    model = numpy_luke.LukeForTokenClassification.from_config(config, seed=4)
    base = numpy_luke.LukeModel.from_pretrained(TINY_LUKE)
    model.params.update({k: v for k, v in base.params.items() if k in model.params})
    (folder / "model.safetensors").unlink()
    model.save_pretrained(folder)
    return folder


def expected(folder, text, ignore=("O",)):
    """The answer worked out by hand from the model's logits."""
    tokenizer = numpy_luke.LukeTokenizer.from_pretrained(folder)
    model = numpy_luke.LukeForTokenClassification.from_pretrained(folder)
    ids = tokenizer(text)["input_ids"]
    logits = model(input_ids=np.array([ids])).logits[0].astype(np.float64)
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    answer = []
    for index in range(1, len(ids) - 1):
        label = int(probs[index].argmax())
        if LABELS[label] not in ignore:
            answer.append(
                {
                    "entity": LABELS[label],
                    "score": probs[index, label],
                    "index": index,
                    "word": tokenizer.convert_ids_to_tokens(ids[index]),
                    "start": None,
                    "end": None,
                }
            )
    return answer


def same(answer, reference):
    assert len(answer) == len(reference)
    for a, b in zip(answer, reference, strict=True):
        assert {k: v for k, v in a.items() if k != "score"} == {
            k: v for k, v in b.items() if k != "score"
        }
        assert abs(a["score"] - b["score"]) < 1e-6


def test_token_classification_labels_every_token(folder):
    classify = numpy_luke.pipeline("token-classification", model=folder)
    assert type(classify.model) is numpy_luke.LukeForTokenClassification
    answers = classify(TEXTS)
    for text, answer in zip(TEXTS, answers, strict=True):
        same(answer, expected(folder, text))
    same(classify(TEXTS[0]), answers[0])  # batching changes nothing (to float32 rounding)
    everything = classify(TEXTS[0], ignore_labels=[])
    same(everything, expected(folder, TEXTS[0], ignore=()))
    assert (
        len(everything)
        == len(numpy_luke.LukeTokenizer.from_pretrained(folder)(TEXTS[0])["input_ids"]) - 2
    )


def test_the_task_is_read_from_the_checkpoint(folder):
    assert numpy_luke.pipeline(model=folder).task == "token-classification"


def test_simple_aggregation_groups_b_and_i_runs(folder):
    classify = numpy_luke.pipeline(
        "token-classification", model=folder, aggregation_strategy="simple"
    )
    tokens = expected(folder, TEXTS[0], ignore=())
    groups = classify(TEXTS[0])
    assert all(set(g) == {"entity_group", "score", "word", "start", "end"} for g in groups)
    assert all(g["entity_group"] in ("PER", "LOC") for g in groups)
    # every non-O token lands in exactly one group, in order
    words = "".join(g["word"] for g in groups).replace(" ", "")
    tokenizer = numpy_luke.LukeTokenizer.from_pretrained(folder)
    kept = [t["word"] for t in tokens if t["entity"] != "O"]
    assert words == tokenizer.convert_tokens_to_string(kept).replace(" ", "")


@pytest.mark.parametrize(
    "options, words",
    [
        ({"aggregation_strategy": "first"}, "'first'"),
        ({"aggregation_strategy": 3}, "aggregation_strategy"),
        ({"ignore_labels": "O"}, "ignore_labels"),
    ],
)
def test_bad_options_are_refused(folder, options, words):
    with pytest.raises(InputError, match=words):
        numpy_luke.pipeline("token-classification", model=folder, **options)
    classify = numpy_luke.pipeline("token-classification", model=folder)
    with pytest.raises(InputError, match=words):
        classify(TEXTS[0], **options)


def test_mentions_are_refused(folder):
    classify = numpy_luke.pipeline("token-classification", model=folder)
    with pytest.raises(InputError, match="reads no mentions"):
        classify("[[Lionel Messi]] plays.")


def test_no_default_checkpoint():
    with pytest.raises(InputError, match="no default checkpoint"):
        numpy_luke.pipeline("token-classification")


def test_ner_keeps_its_meaning_and_says_so(folder):
    with pytest.raises(
        InputError,
        match=r"LukeForTokenClassification checkpoint.*span NER"
        r".*pipeline\('token-classification'",
    ):
        numpy_luke.pipeline("ner", model=folder)
    model = numpy_luke.LukeForTokenClassification.from_pretrained(folder)
    tokenizer = numpy_luke.LukeTokenizer.from_pretrained(folder)
    with pytest.raises(InputError, match="token-classification"):
        numpy_luke.pipeline("ner", model=model, tokenizer=tokenizer)
    ner = numpy_luke.pipeline("ner", model=FIXTURES / "tiny-luke-ner")  # span NER as before
    assert ner.task == "ner" and type(ner.model) is numpy_luke.LukeForEntitySpanClassification


def test_ner_checkpoint_config_without_architectures_still_loads(tmp_path):
    folder = tmp_path / "ner"
    shutil.copytree(FIXTURES / "tiny-luke-ner", folder)
    config = json.loads((folder / "config.json").read_text())
    config.pop("architectures", None)
    (folder / "config.json").write_text(json.dumps(config))
    assert numpy_luke.pipeline("ner", model=folder)("Tokyo is big.")["entities"] is not None

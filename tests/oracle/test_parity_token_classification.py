"""Live parity: ``pipeline("token-classification")`` answers as transformers' pipeline does
on the same LukeForTokenClassification checkpoint (issue 20, section 4)."""

from __future__ import annotations

import pytest
from test_pipelines_token_classification import TEXTS, folder  # noqa: F401  (fixture)

pytestmark = pytest.mark.parity
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import numpy_luke  # noqa: E402

MORE = [*TEXTS, "Beyoncé lives in Los Angeles <mask>.", "a"]


@pytest.mark.parametrize("strategy", ["none", "simple"])
def test_answers_equal_transformers(folder, strategy):  # noqa: F811
    theirs = transformers.pipeline(
        "token-classification",
        model=transformers.LukeForTokenClassification.from_pretrained(folder),
        tokenizer=transformers.LukeTokenizer.from_pretrained(folder),
        aggregation_strategy=strategy,
    )
    ours = numpy_luke.pipeline("token-classification", model=folder, aggregation_strategy=strategy)
    for text in MORE:
        expected, answer = theirs(text), ours(text)
        assert len(answer) == len(expected), text
        for a, b in zip(answer, expected, strict=True):
            assert {k: v for k, v in a.items() if k != "score"} == {
                k: (v if k != "index" else int(v)) for k, v in b.items() if k != "score"
            }
            assert abs(a["score"] - float(b["score"])) < 1e-6

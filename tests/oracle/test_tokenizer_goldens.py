"""Our LukeTokenizer against transformers 4.57's, recorded on a broad corpus.

tests/goldens/tokenizer_goldens.json (made by tests/goldens/make_tokenizer_goldens.py) holds
about a thousand calls of transformers' pure-Python LukeTokenizer on the real RoBERTa
vocabulary: every task, pairs, batches, padding, truncation with entities, special tokens in
the text, decode options, and malformed input (where only the exception type is compared).
"""

import json
from collections import Counter

import helpers
import pytest
from goldens.make_tokenizer_goldens import call_from_json

from numpy_luke import LukeTokenizer

GOLDENS = json.loads((helpers.GOLDENS / "tokenizer_goldens.json").read_text(encoding="utf-8"))
CASES = GOLDENS["cases"]


def case_id(case) -> str:
    kind = next(k for k in ("tokenize", "decode", "call") if k in case)
    return f"{kind}-{CASES.index(case)}"


@pytest.fixture(scope="module")
def real_folder(roberta_dir, tmp_path_factory):
    return helpers.real_vocab_luke_dir(tmp_path_factory.mktemp("luke-base"))


@pytest.fixture(scope="module")
def tokenizers(real_folder):
    cache = {}

    def get(init):
        key = json.dumps(init, sort_keys=True)
        if key not in cache:
            cache[key] = LukeTokenizer.from_pretrained(real_folder, **init)
        return cache[key]

    return get


def run_case(tokenizer, case):
    if "tokenize" in case:
        return tokenizer.tokenize(case["tokenize"])
    if "decode" in case:
        return tokenizer.decode(case["decode"], **case["options"])
    return dict(tokenizer(**call_from_json(case["call"])))


def test_goldens_cover_the_corpus():
    """The recorded corpus really spans what the goldens claim to cover."""
    calls = [case["call"] for case in CASES if "call" in case]
    tasks = Counter(case["init"].get("task") for case in CASES if "call" in case)
    assert set(tasks) == {
        None,
        "entity_classification",
        "entity_pair_classification",
        "entity_span_classification",
    }
    assert sum("text_pair" in c for c in calls) >= 40
    assert sum(isinstance(c["text"], list) for c in calls) >= 20
    assert sum(bool(c.get("truncation")) and "entity_spans" in c for c in calls) >= 50
    assert sum(c.get("padding") == "max_length" for c in calls) >= 20
    texts = " ".join(c["text"] for c in calls if isinstance(c["text"], str))
    for sample in (
        "東京",
        "القاهرة",
        "👨\u200d👩",
        "e\u0301",
        "\u3000",
        "\u00a0",
        "https://",
        "<mask>",
        "<s>",
        "def f(x)",
    ):
        assert sample in texts
    assert "" in [c["text"] for c in calls]
    assert sum("error" in case for case in CASES) >= 5


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_transformers(case, tokenizers):
    tokenizer = tokenizers(case["init"])
    if "error" in case:
        expected = {"ValueError": ValueError, "TypeError": TypeError}[case["error"]]
        with pytest.raises(expected):
            run_case(tokenizer, case)
    else:
        assert run_case(tokenizer, case) == case["output"]

"""Record transformers 4.57's LukeTokenizer on a broad corpus: tests/goldens/tokenizer_goldens.json.

The oracle is transformers' pure-Python ``LukeTokenizer`` (the behaviour the published LUKE
models were trained with), loaded from a folder laid out like ``studio-ousia/luke-base``:
the real RoBERTa ``vocab.json`` / ``merges.txt`` (from $NUMPY_LUKE_TEST_DATA, never copied
into the repository) plus ``tests/fixtures/real-vocab-luke`` (luke-base's tokenizer config
and a small entity vocabulary written for these tests).

Every case is a call and its recorded result:

    {"init": {...from_pretrained keywords...}, "call": {...__call__ keywords...},
     "output": {...}}                      or   "error": "ValueError"
    {"init": {...}, "tokenize": text, "output": [tokens]}
    {"init": {...}, "decode": ids, "options": {...}, "output": text}

Spans are stored as JSON lists; ``spans_to_tuples`` turns them back into tuples (what
transformers expects). Run from the repository root with NUMPY_LUKE_TEST_DATA set:

    NUMPY_LUKE_TEST_DATA=/path/to/data python tests/goldens/make_tokenizer_goldens.py
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
from pathlib import Path

import regex

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import helpers  # noqa: E402

OUT = Path(__file__).parent / "tokenizer_goldens.json"
SEED = 20260601

# A corpus that stresses every step: bytes (accents, CJK, RTL scripts, emoji sequences,
# combining marks), pre-tokenisation (contractions, numbers, symbols, odd white space) and
# added-token splitting (special tokens written inside the text).
TEXTS = [
    "Top seed Ana Ivanovic said on Thursday she could hardly believe her luck.",
    "Beyoncé lives in Los Angeles.",
    "Café déjà vu — naïve résumé in São Paulo; Zoë Saldaña measured 3 Ångström.",
    "東京は日本の首都です。北京是中国的首都。",
    "서울은 한국의 수도이다.",
    "القاهرة هي عاصمة مصر، وبها ٢٠ مليون نسمة.",
    "שלום עולם, זה מבחן.",
    "Привет, мир! Москва — столица России.",
    "Family 👨\u200d👩\u200d👧\u200d👦, flags 🇯🇵🇺🇸, thumbs 👍🏽, keycap 1️⃣ and 😊.",
    "Combining marks: e\u0301 a\u0308 n\u0303, Zalgo z\u0351\u0352a\u0353l\u0354g\u0355o.",
    "tabs\tand\nnew lines\r\nand\u00a0no-break and\u3000ideographic  double  spaces   end",
    "  leading and trailing spaces  ",
    "Numbers 3.14159, 1,000,000, 2020-01-01, ٣٤٥, ½ and ⅔, 10^6 or 1e-9.",
    "Visit https://example.com/a/b?q=1&x=y#frag or mail first.last@example.org today.",
    "def f(x):\n    return x ** 2  # square\nprint(f(3), [i for i in range(10)])",
    "Special <mask> tokens <s> inside </s> text <pad> and <unk> and <ent> <ent2> <mask>",
    "<mask>",
    "A, <mask> AllenNLP sentence.",
    "Plants create <mask> through a process known as photosynthesis.",
    "x <mask>  y\u3000<mask> z<mask>.<mask>",
    "",
    " ",
    "I'm sure it's what they've said we'll do, isn't it? They'd know. WE'RE SURE'S",
    "ALL CAPS, lower case and MiXeD cAsE words",
    "Hello world",
    " Hello world",
    "zero\u200bwidth\u200d joiner \ufeffBOM and soft\u00adhyphen",
    "Ünïcödé ßtraße, ﬁ ligature, roman Ⅻ, math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛",
    "Japan's Tokyo hosted the 2020 Summer Olympics in 2021.",
    "Lionel Messi (born 24 June 1987) is an Argentine footballer.",
    "Albert Einstein's theory; Paris, Germany and the United States!!!",
    "ภาษาไทย ไม่มีช่องว่าง ระหว่างคำ",
    "हिन्दी भाषा में परीक्षण",
    "Ελληνικά και Ἀρχαῖα",
    "emoji only 🤖🧠💡🎉",
    "...!!!???---",
    "Python (programming language) is on Wikipedia.",
]

TITLES = [
    "Ana Ivanovic",
    "Thursday",
    "Beyoncé",
    "Los Angeles",
    "Japan",
    "Tokyo",
    "東京",
    "Paris",
    "Germany",
    "Emoji",
    "Not In The Vocabulary",
    "[MASK]",
    "[UNK]",
]

TASKS = [None, "entity_classification", "entity_pair_classification", "entity_span_classification"]


def spans_to_tuples(value):
    """JSON spans back to tuples: [[0, 3], ...] -> [(0, 3), ...], also one level deeper for
    batches. Anything else is returned unchanged."""
    if isinstance(value, list) and value and all(_is_pair(v) for v in value):
        return [tuple(v) for v in value]
    if isinstance(value, list) and all(isinstance(v, list) for v in value):
        return [spans_to_tuples(v) if v else v for v in value]
    return value


def _is_pair(value) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)


def call_from_json(call: dict) -> dict:
    """A stored call's keywords with spans as tuples."""
    return {
        key: spans_to_tuples(value) if key.startswith("entity_spans") else value
        for key, value in call.items()
    }


def word_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in regex.finditer(r"\S+", text)]


def random_spans(rng: random.Random, text: str, count: int) -> list[tuple[int, int]]:
    """A mix of whole-word spans and arbitrary character spans (possibly inside words,
    overlapping, or empty), all valid: 0 <= start <= end <= len(text)."""
    words = word_spans(text)
    spans = []
    for _ in range(count):
        if words and rng.random() < 0.6:
            first = rng.randrange(len(words))
            last = min(len(words) - 1, first + rng.choice([0, 0, 1, 2]))
            spans.append((words[first][0], words[last][1]))
        else:
            start = rng.randint(0, len(text))
            spans.append((start, rng.randint(start, min(len(text), start + 12))))
    return spans


def build_cases(rng: random.Random) -> list[dict]:
    cases: list[dict] = []

    def call(init=None, **kwargs):
        cases.append({"init": init or {}, "call": kwargs})

    texts = [t for t in TEXTS if t.strip()]
    for text in TEXTS:
        cases.append({"init": {}, "tokenize": text})
        call(text=text)
        call(text=text, add_prefix_space=True)
        call(text=text, add_special_tokens=False)
        call(text=text, return_token_type_ids=True, return_attention_mask=False)
        if not text.strip():
            call(text=text, entity_spans=[(0, len(text))])
            continue
        spans = random_spans(rng, text, rng.randint(1, 4))
        call(text=text, entity_spans=spans)
        call(text=text, entity_spans=spans, entities=[rng.choice(TITLES) for _ in spans])
        call(text=text, entity_spans=spans, add_prefix_space=True)
        call(text=text, entity_spans=word_spans(text)[:40])
        call(text=text, entity_spans=spans, add_special_tokens=False)
        # tasks
        one, two = random_spans(rng, text, 1), random_spans(rng, text, 2)
        call(
            {"task": "entity_classification"},
            text=text,
            entity_spans=one,
            return_token_type_ids=True,
        )
        call({"task": "entity_pair_classification"}, text=text, entity_spans=two)
        call({"task": "entity_pair_classification"}, text=text, entity_spans=two[::-1])
        call(
            {"task": "entity_span_classification"},
            text=text,
            entity_spans=random_spans(rng, text, rng.randint(1, 6)),
        )
        # truncation with entities, and entity-count truncation
        many = random_spans(rng, text, 6)
        for max_length in (4, 8, 12):
            call(text=text, entity_spans=many, truncation=True, max_length=max_length)
        call(text=text, entity_spans=many, max_entity_length=2, truncation=True)
        call(text=text, entity_spans=many, max_length=10)  # max_length alone truncates
        call(
            {"task": "entity_span_classification"},
            text=text,
            entity_spans=many,
            truncation=True,
            max_length=9,
            max_entity_length=3,
            padding="max_length",
        )
        # padding to a length
        call(
            text=text, entity_spans=spans, padding="max_length", max_length=40, max_entity_length=6
        )
        call(
            {"max_mention_length": 3},
            text=text,
            entity_spans=spans,
            padding="max_length",
            max_length=60,
        )

    # pairs
    for _ in range(40):
        a, b = rng.choice(texts), rng.choice(texts)
        spans_a, spans_b = random_spans(rng, a, 2), random_spans(rng, b, 2)
        strategy = rng.choice([True, "longest_first", "only_first", "only_second"])
        call(text=a, text_pair=b)
        call(
            text=a,
            text_pair=b,
            entity_spans=spans_a,
            entity_spans_pair=spans_b,
            entities=[rng.choice(TITLES) for _ in spans_a],
            entities_pair=[rng.choice(TITLES) for _ in spans_b],
            return_token_type_ids=True,
        )
        call(
            text=a,
            text_pair=b,
            entity_spans=spans_a,
            entity_spans_pair=spans_b,
            truncation=strategy,
            max_length=rng.randint(6, 30),
            max_entity_length=rng.randint(1, 4),
        )
        call(text=a, text_pair=b, entity_spans_pair=spans_b)  # pair entities alone: ignored
        call(
            {"task": "entity_classification"},
            text=a,
            text_pair=b,
            entity_spans=random_spans(rng, a, 1),
        )  # tasks ignore text_pair
    # batches: padding, truncation, per-task
    for task in TASKS:
        for _ in range(6):
            batch = rng.sample(texts, rng.randint(2, 5))
            count = {"entity_classification": 1, "entity_pair_classification": 2}.get(
                task, rng.randint(1, 4)
            )
            spans = [random_spans(rng, t, count) for t in batch]
            if task is None and rng.random() < 0.5:
                spans[0] = []
            padding = rng.choice([True, "longest", "max_length", False])
            kwargs = dict(text=batch, entity_spans=spans, padding=padding)
            if padding == "max_length":
                kwargs["max_length"] = 48
            if rng.random() < 0.4:
                kwargs.update(truncation=True, max_length=rng.randint(6, 20))
            if rng.random() < 0.3:
                kwargs["max_entity_length"] = rng.randint(1, 4)
                kwargs["truncation"] = True
            call({"task": task} if task else {}, **kwargs)
    batch = rng.sample(texts, 3)
    call(
        text=batch,
        text_pair=rng.sample(texts, 3),
        entity_spans=[random_spans(rng, t, 2) for t in batch],
        padding=True,
        entities=[["Japan", "Tokyo"], [], ["Paris", "Nowhere"]],
    )
    call(
        text=batch, padding="max_length", max_length=32, truncation=True, return_token_type_ids=True
    )
    # malformed input: transformers' exception type is recorded
    text = TEXTS[0]
    call(text=text, entity_spans=[0])
    call(text=text, entity_spans=[(0, 3)], entities=["A", "B"])
    call(text=text, entity_spans=[(0, 3)], entities=[0])
    call({"task": "entity_classification"}, text=text, entity_spans=[])
    call({"task": "entity_classification"}, text=text, entity_spans=[(0, 3), (4, 8)])
    call({"task": "entity_pair_classification"}, text=text, entity_spans=[(0, 3)])
    call({"task": "entity_span_classification"}, text=text, entity_spans=[])
    call(text=text, return_token_type_ids=True, add_special_tokens=False)
    call(text=123)
    return cases


def decode_cases(rng: random.Random, tokenizer) -> list[dict]:
    cases = []
    for text in TEXTS:
        ids = tokenizer(text, entity_spans=None)["input_ids"]
        for options in (
            {},
            {"skip_special_tokens": True},
            {"spaces_between_special_tokens": False},
            {"clean_up_tokenization_spaces": True},
        ):
            cases.append({"init": {}, "decode": ids, "options": options})
    for task in ("entity_classification", "entity_pair_classification"):
        text = TEXTS[0]
        cases.append(
            {
                "init": {"task": task},
                "decode_of_call": {
                    "text": text,
                    "entity_spans": [(9, 21), (39, 42)][: 1 if "pair" not in task else 2],
                },
            }
        )
    cases += [
        {"init": {}, "decode": [rng.randrange(50267) for _ in range(12)], "options": {}}
        for _ in range(10)
    ]
    return cases


def run(cases: list[dict], folder: Path) -> list[dict]:
    from transformers import LukeTokenizer
    from transformers.utils import logging

    logging.set_verbosity_error()
    tokenizers = {}

    def tokenizer_for(init):
        key = json.dumps(init, sort_keys=True)
        if key not in tokenizers:
            tokenizers[key] = LukeTokenizer.from_pretrained(folder, **init)
        return tokenizers[key]

    for case in cases:
        tokenizer = tokenizer_for(case["init"])
        try:
            if "tokenize" in case:
                case["output"] = tokenizer.tokenize(case["tokenize"])
            elif "decode" in case:
                case["output"] = tokenizer.decode(case["decode"], **case["options"])
            elif "decode_of_call" in case:
                ids = tokenizer(**call_from_json(case["decode_of_call"]))["input_ids"]
                case["decode"], case["options"] = ids, {"spaces_between_special_tokens": False}
                del case["decode_of_call"]
                case["output"] = tokenizer.decode(ids, **case["options"])
            else:
                case["output"] = dict(tokenizer(**call_from_json(case["call"])))
        except Exception as error:  # the oracle's exception type is part of the record
            case["error"] = type(error).__name__
    return cases


def main() -> None:
    import transformers

    if not transformers.__version__.startswith("4.57"):
        sys.exit(f"the goldens are made with transformers 4.57.x, not {transformers.__version__}")
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        folder = helpers.real_vocab_luke_dir(Path(tmp) / "luke-base")
        if folder is None:
            sys.exit("set NUMPY_LUKE_TEST_DATA to the folder holding roberta-base/")
        from transformers import LukeTokenizer

        cases = build_cases(rng) + decode_cases(rng, LukeTokenizer.from_pretrained(folder))
        cases = run(cases, folder)
    document = {"transformers": transformers.__version__, "seed": SEED, "cases": cases}
    OUT.write_text(
        json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    errors = sum("error" in case for case in cases)
    print(f"{OUT}: {len(cases)} cases ({errors} errors), {OUT.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()

"""Issue 18, the streaming and saving items: a source that raises midway, stopping at the
first bad input (not a later one) with every answer before it, ``on_error`` for lists and
single inputs, a dict as one record, field names quoted in messages, config.json written
atomically with dtypes as strings, and overlapping tokenizer saves. Each test failed before
its fix (see the commit messages)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time

import helpers
import numpy as np
import pytest

from numpy_luke import LukeConfig, LukeTokenizer, pipeline, tokenizer_files
from numpy_luke.errors import InputError, InputTypeError
from numpy_luke.streaming import from_record, read_items, stream

TINY = helpers.TINY_LUKE
SHORT = "Tokyo is the <mask> of Japan."
MENTION = "[[Lionel Messi]] plays for <mask>."
# Passes the up-front length bound but is refused once tokenized (604 tokens > 512): an
# error found only when its batch runs.
TOO_LONG = "a " * 600 + "<mask>."
TOO_LONG_MENTION = "[[Messi]] " + TOO_LONG


@pytest.fixture(scope="module")
def fill():
    return pipeline("fill-mask-and-entities", model=TINY, batch_size=2)


# ---- a source that raises midway ---------------------------------------------------------


class SourceBroke(RuntimeError):
    pass


def breaking_source(texts, error=SourceBroke):
    yield from texts
    raise error("the disk went away")


@pytest.mark.parametrize("on_error", ["raise", "record"])
def test_a_source_raising_midway_keeps_the_answers_already_read(fill, on_error):
    texts = [SHORT, MENTION, SHORT]
    answers = []
    with pytest.raises(SourceBroke, match="disk went away"):
        for answer in fill(breaking_source(texts), on_error=on_error):
            answers.append(answer)
    assert [a["text"] for a in answers] == [t.replace("[[", "").replace("]]", "") for t in texts]
    assert answers == fill(texts)  # the same answers as without the failure


def test_a_source_raising_after_a_bad_input_raises_the_bad_input_first(fill):
    answers = []
    with pytest.raises(InputError, match="input 2: nothing to predict") as raised:
        for answer in fill(breaking_source([SHORT, "no mask here", SHORT])):
            answers.append(answer)
    assert len(answers) == 1  # input order: the bad input 2 comes before the source's error
    assert isinstance(raised.value.__context__, SourceBroke)


def test_a_source_raising_midway_in_the_corpus_helper():
    items = read_items(breaking_source(["a <mask>", "b <mask>"]), "text")
    seen = []
    with pytest.raises(SourceBroke):
        for item, answer in stream(FakePipeline(), items):
            seen.append((item.number, answer))
    assert seen == [(1, "A <MASK>"), (2, "B <MASK>")]


# ---- stopping at the first bad input, with every answer before it ------------------------


class FakePipeline:
    """What streaming.stream uses of a pipeline: a bad text is refused when read
    ("bad-read...") or only when its batch runs ("bad-run..."); runs are recorded."""

    batch_size = 2

    def __init__(self):
        self.runs = []

    def read(self, text, spans, number):
        if text.startswith("bad-read"):
            raise InputError("refused when read")
        return text, spans or []

    def cut(self, indices, lengths):
        return [indices[i : i + self.batch_size] for i in range(0, len(indices), self.batch_size)]

    def run(self, items):
        self.runs.append([text for text, _ in items])
        bad = [text for text, _ in items if text.startswith("bad-run")]
        if bad:
            raise InputError(f"{bad[0]} refused when run")
        return [text.upper() for text, _ in items]


def test_stop_on_error_names_the_first_bad_input_not_the_first_one_run(fill):
    # batches by length: [SHORT, TOO_LONG] runs first (it holds input 1) and fails on input
    # 3; input 2 (in the mention batch) is bad too and comes first in the input.
    answers = []
    with pytest.raises(InputError, match="^input 2: "):
        for answer in fill(iter([SHORT, TOO_LONG_MENTION, TOO_LONG])):
            answers.append(answer)
    assert [a["text"] for a in answers] == [SHORT]


def test_stop_on_error_keeps_every_answer_before_the_bad_input(fill):
    answers = []
    with pytest.raises(InputError, match="^input 3: .*604 tokens long"):
        for answer in fill(iter([SHORT, MENTION, TOO_LONG])):
            answers.append(answer)
    assert [a["text"] for a in answers] == [SHORT, "Lionel Messi plays for <mask>."]


def test_failed_batches_are_retried_in_input_order():
    # one batch [bad-run-3, bad-run-2-longer] (sorted by length) fails, and its inputs are
    # retried one by one in input order
    items = read_items(["ok-1", "bad-run-2-longer", "bad-run-3", "ok-4"], "text")
    fake = FakePipeline()
    seen = []
    with pytest.raises(InputError, match="^line 2: bad-run-2-longer refused"):
        for item, _ in stream(fake, items, stop_on_error=True):
            seen.append(item.number)
    assert seen == [1]


@pytest.mark.parametrize("order", [["bad-run-3long", "bad-run-2"], ["bad-run-2", "bad-run-3long"]])
def test_stop_on_error_is_the_first_bad_input_whatever_the_batches(order):
    # every arrangement of two inputs failing at run time and one at reading: the first in
    # input order is raised, after every answer before it
    texts = ["ok-1", *order, "bad-read-4", "ok-5"]
    fake = FakePipeline()
    seen = []
    with pytest.raises(InputError, match=f"^line 2: {order[0]} refused"):
        for item, answer in stream(fake, read_items(texts, "text"), stop_on_error=True):
            seen.append((item.number, answer))
    assert seen == [(1, "OK-1")]
    assert not any("ok-5" in run for run in fake.runs)  # after the bad read: never run


def test_cli_stop_on_error_stops_at_the_first_bad_line_with_the_answers_before_it(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("\n".join([SHORT, MENTION, TOO_LONG]) + "\n", encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "numpy_luke",
            "fill",
            "--model",
            str(TINY),
            "--input",
            str(path),
            "--batch-size",
            "2",
            "--stop-on-error",
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        cwd=helpers.ROOT,
        env={k: v for k, v in os.environ.items() if k != "NUMPY_LUKE_DEBUG"},
    )
    assert result.returncode == 1
    assert [json.loads(line)["line"] for line in result.stdout.splitlines()] == [1, 2]
    assert "line 3: " in result.stderr and "604 tokens long" in result.stderr


# ---- on_error for lists and single inputs; a dict is one record --------------------------


@pytest.mark.parametrize("inputs", [SHORT, [SHORT], iter([SHORT]), {"text": SHORT}])
@pytest.mark.parametrize("value", ["bogus", "ignore", None, 1])
def test_unknown_on_error_values_are_refused_for_every_input(fill, inputs, value):
    with pytest.raises(InputError, match="on_error=.*use 'raise'.*or 'record'"):
        fill(inputs, on_error=value)


def test_on_error_record_is_honoured_for_lists(fill):
    answers = fill([SHORT, "no mask here", TOO_LONG, MENTION], on_error="record")
    assert isinstance(answers, list) and len(answers) == 4
    assert answers[0] == fill(SHORT)
    assert set(answers[1]) == {"error"} and "nothing to predict" in answers[1]["error"]
    assert set(answers[2]) == {"error"} and "604 tokens long" in answers[2]["error"]
    assert answers[3] == fill(MENTION)


def test_on_error_raise_for_a_list_names_the_first_bad_text(fill):
    with pytest.raises(InputError, match="^text 2: .*tokens long"):
        fill([SHORT, TOO_LONG_MENTION, TOO_LONG])
    with pytest.raises(InputError, match="^text 3: nothing to predict"):
        fill([SHORT, MENTION, "no mask", TOO_LONG])
    with pytest.raises(InputTypeError, match="^text 2: text must be a string"):
        fill([SHORT, 5])


def test_on_error_record_for_one_input(fill):
    answer = fill("no mask", on_error="record")
    assert set(answer) == {"error"} and answer["error"].startswith("nothing to predict")
    assert fill(SHORT, on_error="record") == fill(SHORT)


def test_a_list_answers_as_before(fill):
    # a list runs in the same batches as the list path of before (the whole list read,
    # then run by the pipeline's own batching): the same numbers to the bit
    texts = [
        SHORT,
        MENTION,
        "The <mask> reads words.",
        "[[Tokyo]] is <mask>.",
        SHORT * 3,
        "A <mask>.",
        "[[Lionel Messi]] and [[Tokyo]] <mask>.",
    ]
    assert fill(texts) == fill.run([fill.read(text, None, None) for text in texts])
    with pytest.raises(InputError, match="^nothing to predict"):  # a list of one: no number
        fill(["no mask"])


def test_a_dict_is_one_record(fill):
    assert fill({"text": SHORT}) == fill(SHORT)
    spans = fill({"text": "Lionel Messi plays for <mask>.", "entity_spans": [[0, 12]]})
    assert spans == fill("Lionel Messi plays for <mask>.", entity_spans=[(0, 12)])
    relation = pipeline("relation-classification", model=helpers.FIXTURES / "tiny-luke-tacred")
    text = "Beyoncé lives in New Orleans."
    assert relation({"text": text, "head": [0, 7], "tail": [17, 28]}) == relation(
        text, entity_spans=[(0, 7), (17, 28)]
    )
    with pytest.raises(InputError, match="^unknown field\\(s\\) 'entity_span';"):
        fill({"text": SHORT, "entity_span": [[0, 5]]})  # a typo: refused, never ignored
    with pytest.raises(InputError, match='^expected a text, or an object with a "text"'):
        fill({"txt": SHORT})
    with pytest.raises(InputError, match="record"):
        fill({"text": SHORT}, entity_spans=[(0, 5)])


def test_a_list_may_hold_records(fill):
    answers = fill([{"text": SHORT}, MENTION])
    assert answers == [fill(SHORT), fill(MENTION)]


# ---- field names in messages -------------------------------------------------------------


@pytest.mark.parametrize("key", ["\udcff\udcfe", "\x1b[31mred\x1b[0m", "caf\u00e9", "a\nb", 7])
def test_field_names_are_quoted_encodable_and_escaped(key):
    from numpy_luke.checks import quoted

    item = from_record(1, {"text": "a <mask>", key: 1})
    assert item.error is not None
    item.error.encode("ascii")  # never a lone surrogate, never a raw escape sequence
    assert "\x1b" not in item.error and "\n" not in item.error
    assert quoted(key) in item.error


def test_quoted_is_bounded_and_ascii():
    from numpy_luke.checks import quoted

    assert quoted("text") == "'text'"
    assert quoted("\udcff") == "'\\udcff'"
    assert quoted("\x1b[2J") == "'\\x1b[2J'"
    assert quoted("é") == "'\\xe9'"
    assert len(quoted("k" * 10_000)) < 100


def test_a_key_of_invalid_utf8_costs_only_its_line(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b'{"text": "a <mask>."}\n{"text": "b <mask>.", "\xff\\u001b[2J": 1}\n'
        b'{"text": "c <mask>."}\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "numpy_luke", "fill", "--model", str(TINY), "--input", str(path)],
        capture_output=True,
        timeout=120,
        cwd=helpers.ROOT,
        env={k: v for k, v in os.environ.items() if k != "NUMPY_LUKE_DEBUG"},
    )
    assert result.returncode == 1, result.stderr
    answers = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert [a["line"] for a in answers] == [1, 2, 3]
    assert "\\udcff\\x1b[2J" in answers[1]["error"] and b"\x1b" not in result.stdout


def test_python_record_with_a_bad_key_is_answered_with_an_encodable_error(fill):
    (answer,) = fill(iter([{"text": SHORT, "\ud800": 1}]), on_error="record")
    answer["error"].encode("utf-8")


# ---- config.json: serialised first, written atomically, dtypes as strings ----------------


def test_config_dtypes_are_saved_as_strings(tmp_path):
    for value, name in [
        (np.float16, "float16"),
        (np.dtype("float32"), "float32"),
        ("bfloat16", "bfloat16"),
    ]:
        LukeConfig(torch_dtype=value, dtype=value).save_pretrained(tmp_path)
        saved = json.loads((tmp_path / "config.json").read_text(encoding="utf-8"))
        assert saved["torch_dtype"] == saved["dtype"] == name
        assert LukeConfig.from_pretrained(tmp_path).extra["torch_dtype"] == name


def test_a_torch_dtype_is_saved_as_transformers_writes_it(tmp_path):
    torch = pytest.importorskip("torch")
    LukeConfig(torch_dtype=torch.float16).save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text(encoding="utf-8"))
    assert saved["torch_dtype"] == "float16"


def test_a_config_that_cannot_be_serialised_leaves_the_old_file(tmp_path):
    LukeConfig(hidden_size=64, num_attention_heads=4).save_pretrained(tmp_path)
    before = (tmp_path / "config.json").read_bytes()
    with pytest.raises(TypeError, match="unsaveable is not JSON.*config.json was not written"):
        LukeConfig(unsaveable=object()).save_pretrained(tmp_path)
    assert (tmp_path / "config.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]  # no temporary left


# ---- overlapping tokenizer saves ---------------------------------------------------------


def test_overlapping_tokenizer_saves_never_mix_two_tokenizers(tmp_path, monkeypatch):
    if not hasattr(tokenizer_files, "fcntl") or tokenizer_files.fcntl is None:
        pytest.skip("saves are serialised with fcntl.flock, which this platform lacks")
    first = LukeTokenizer.from_pretrained(TINY, model_max_length=100)
    second = LukeTokenizer.from_pretrained(TINY, model_max_length=200)
    second.add_tokens(["newtoken"])
    reference = {}
    for name, tokenizer in (("first", first), ("second", second)):
        tokenizer.save_pretrained(tmp_path / name)
        reference[name] = {p.name: p.read_bytes() for p in (tmp_path / name).iterdir()}
    assert reference["first"] != reference["second"]

    replace, delays = os.replace, random.Random(0)

    def slow_replace(source, target):  # widens the window between two files' renames
        replace(source, target)
        time.sleep(delays.random() * 0.004)

    monkeypatch.setattr(tokenizer_files.os, "replace", slow_replace)
    folder = tmp_path / "shared"
    for _ in range(5):
        threads = [
            threading.Thread(target=t.save_pretrained, args=(folder,))
            for t in (first, second, first, second)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        saved = {p.name: p.read_bytes() for p in folder.iterdir()}
        assert saved in (reference["first"], reference["second"])


def test_call_targets_are_resolved_once_per_call(fill, caplog):
    # a target outside the vocabulary: one warning per call, not one per batch; none left:
    # one error for the call, raised before any input runs, never an error per input
    texts = [SHORT, "A <mask>.", "[[Tokyo]] is the <mask>.", "The <mask> of the city " * 20]
    with caplog.at_level("WARNING", logger="numpy_luke.pipelines"):
        fill(texts, targets=["zzzzunknownword"])
    assert sum("not in the vocabulary" in r.getMessage() for r in caplog.records) == 1
    fill_words = pipeline("fill-mask", model=TINY, batch_size=1)
    with pytest.raises(InputError, match="^no target is left"):
        fill_words(texts[:2], targets=[""], on_error="record")
    with pytest.raises(InputError, match="^no target is left"):
        next(fill_words(iter(texts[:2]), targets=[""], on_error="record"))
    assert fill_words(SHORT, targets="Ġenergy")[0]["token_str"] == " energy"


@pytest.mark.parity
def test_transformers_reads_the_saved_dtype(tmp_path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    LukeConfig(torch_dtype=torch.float16).save_pretrained(tmp_path)
    theirs = transformers.LukeConfig.from_pretrained(tmp_path)
    assert theirs.dtype == torch.float16
    # and what transformers writes for the same config, numpy_luke reads by the same name
    transformers.LukeConfig(dtype=torch.bfloat16).save_pretrained(tmp_path / "theirs")
    assert LukeConfig.from_pretrained(tmp_path / "theirs").extra["dtype"] == "bfloat16"

"""Corpora (issue 12): a file of texts in, JSON Lines out, streamed, one bad line costing only
its own answer. The real command runs as a subprocess on the tiny fixtures; the Python
side (a pipeline over a generator) is tested in-process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import helpers
import pytest

from numpy_luke import pipeline
from numpy_luke.errors import InputError
from numpy_luke.streaming import WINDOW_BATCHES, read_items

FILL = helpers.TINY_LUKE
TYPING = helpers.FIXTURES / "tiny-luke-typing"
RELATION = helpers.FIXTURES / "tiny-luke-tacred"
NER = helpers.FIXTURES / "tiny-luke-ner"
TEXTS = [
    "Plants create <mask> through a process known as photosynthesis.",
    "[[Lionel Messi]] plays for <mask>.",
    "Tokyo is the <mask> of Japan.",
    "The <mask> reads words and entities, and then it reads <mask> again.",
    "A <mask>.",
]


def command(*args, **options):
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_LUKE_DEBUG"}
    return [sys.executable, "-m", "numpy_luke", *map(str, args)], dict(
        env=env, cwd=helpers.ROOT, **options
    )


def run(*args, stdin=None):
    argv, options = command(*args)
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, encoding="utf-8", timeout=120, **options
    )


def lines_of(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def write(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_a_bad_line_in_the_middle_costs_only_its_own_answer(tmp_path):
    records = [
        json.dumps({"text": TEXTS[0]}),
        json.dumps({"text": TEXTS[1]}),
        json.dumps({"text": "no mask here"}),  # line 3: nothing to predict
        "",
        json.dumps({"text": TEXTS[2], "entity_spans": [[0, 5]]}),
    ]
    result = run("fill", "--model", FILL, "--input", write(tmp_path / "in.jsonl", records))
    assert result.returncode == 1
    answers = lines_of(result.stdout)
    assert [a["line"] for a in answers] == [1, 2, 3, 5]  # blank line 4 skipped, still counted
    assert set(answers[2]) == {"line", "error"} and "nothing to predict" in answers[2]["error"]
    assert all("masks" in a for a in answers[:2] + answers[3:])
    assert answers[3]["entities"][0]["mention"] == "Tokyo"
    assert result.stderr.splitlines() == [
        f"numpy_luke fill: --format auto reads {tmp_path / 'in.jsonl'} as JSON Lines: its first "
        "line starts with '{'",
        "numpy_luke fill: 1 of 4 lines failed (their errors are in the output)",
    ]


def test_stop_on_error_keeps_todays_behaviour(tmp_path):
    path = write(tmp_path / "in.txt", [TEXTS[0], "no mask here", TEXTS[2]])
    result = run("fill", "--model", FILL, "--input", path, "--stop-on-error", "--format", "text")
    assert result.returncode == 1
    assert [a["line"] for a in lines_of(result.stdout)] == [1]  # what came before the error
    assert result.stderr.startswith("numpy_luke fill: error: line 2: nothing to predict")


def test_plain_text_and_json_lines_give_the_same_answers(tmp_path):
    plain = write(tmp_path / "in.txt", TEXTS)
    records = write(tmp_path / "in.jsonl", [json.dumps({"text": t}) for t in TEXTS])
    a = run("fill", "--model", FILL, "--input", plain)
    b = run("fill", "--model", FILL, "--input", records)
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    assert a.stdout == b.stdout and len(lines_of(a.stdout)) == len(TEXTS)


def test_output_order_is_input_order_with_length_bucketing(tmp_path):
    # lengths alternate, so sorting by length within a window reorders the batches
    texts = [("word " * (1 + 7 * (k % 4))).strip() + f" <mask> {k}." for k in range(40)]
    path = write(tmp_path / "in.txt", texts)
    result = run(
        "fill",
        "--model",
        FILL,
        "--input",
        path,
        "--batch-size",
        "3",
        "--output",
        tmp_path / "out.jsonl",
    )
    assert result.returncode == 0 and result.stdout == "", result.stderr
    answers = lines_of((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    assert [a["line"] for a in answers] == list(range(1, 41))
    assert [a["text"] for a in answers] == texts
    alone = pipeline("fill-mask-and-entities", model=str(FILL), batch_size=1)
    for text, answer in zip(texts[:6], answers, strict=False):
        expected = alone(text)
        assert [p["token"] for p in answer["masks"]] == [p["token"] for p in expected["masks"]]


def test_every_task_command_reads_a_file(tmp_path):
    typing = run(
        "typing",
        "--model",
        TYPING,
        "--input",
        write(
            tmp_path / "t.jsonl",
            [json.dumps({"text": "Beyoncé lives here.", "entity_spans": [[0, 7]]})],
        ),
    )
    relation = run(
        "relation",
        "--model",
        RELATION,
        "--input",
        write(
            tmp_path / "r.jsonl",
            [json.dumps({"text": "Beyoncé lives in Paris.", "head": [0, 7], "tail": [17, 22]})],
        ),
    )
    ner = run("ner", "--model", NER, "--input", write(tmp_path / "n.txt", ["Messi in Paris."]))
    tokenize = run(
        "tokenize",
        "--model",
        FILL,
        "--input",
        write(tmp_path / "k.txt", ["[[Plants]] grow.", "bad [[ marker"]),
    )
    for result in (typing, relation, ner):
        assert result.returncode == 0, result.stderr
        assert lines_of(result.stdout)[0]["line"] == 1
    assert lines_of(relation.stdout)[0]["head"]["mention"] == "Beyoncé"
    assert tokenize.returncode == 1
    first, second = lines_of(tokenize.stdout)
    assert first["entities"][0]["mention"] == "Plants" and "error" in second


def test_head_ends_cleanly(tmp_path):
    path = write(tmp_path / "in.txt", [TEXTS[k % len(TEXTS)] for k in range(300)])
    argv, options = command(
        "fill", "--model", FILL, "--input", path, "--batch-size", "4", "--format", "text"
    )
    shell = " ".join(f"'{a}'" for a in argv) + " | head -n 3"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", shell],
        capture_output=True,
        text=True,
        timeout=120,
        **options,
    )
    assert len(done.stdout.splitlines()) == 3
    assert done.stderr == "" and done.returncode == 0  # no traceback, no error status


def test_an_interrupted_run_keeps_the_finished_lines(tmp_path):
    path = write(tmp_path / "in.txt", [TEXTS[k % len(TEXTS)] for k in range(3000)])
    argv, options = command("fill", "--model", FILL, "--input", path, "--batch-size", "2")
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8", **options
    )
    first = process.stdout.readline()  # the first batch is done and flushed
    assert json.loads(first)["line"] == 1
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    rest, errors = process.stdout.read(), process.stderr.read()  # (the same buffered reader)
    assert process.wait(timeout=60) == 130 and "interrupted" in errors
    answers = lines_of(first + rest)
    assert [a["line"] for a in answers] == list(range(1, len(answers) + 1))
    assert 1 <= len(answers) < 3000


def test_progress_goes_to_stderr_only(tmp_path):
    path = write(tmp_path / "in.txt", TEXTS)
    result = run("fill", "--model", FILL, "--input", path, "--progress")
    assert result.returncode == 0
    assert len(lines_of(result.stdout)) == len(TEXTS)  # stdout: JSON Lines only
    assert "text" in result.stderr and "5/" not in result.stdout


def test_usage_of_input(tmp_path):
    both = run("fill", TEXTS[0], "--model", FILL, "--input", write(tmp_path / "a", TEXTS))
    assert both.returncode == 1 and "either TEXT arguments or --input" in both.stderr
    empty = run("fill", "--model", FILL, "--input", write(tmp_path / "e", ["", "  "]))
    assert empty.returncode == 1 and "was empty" in empty.stderr
    none = run("fill", "--model", FILL)
    assert none.returncode == 2 and "TEXT (or --input FILE)" in none.stderr


# ---- the Python side -------------------------------------------------------------------


def test_a_pipeline_over_a_generator_is_an_iterator_in_input_order():
    fill = pipeline("fill-mask-and-entities", model=str(FILL), batch_size=2)
    inputs = [TEXTS[k % len(TEXTS)] for k in range(12)]
    streamed = fill(text for text in inputs)
    assert iter(streamed) is streamed
    answers = list(streamed)
    assert [a["text"] for a in answers] == [t.replace("[[", "").replace("]]", "") for t in inputs]
    for streamed_answer, listed in zip(answers, fill(inputs), strict=True):  # as a list call
        mine, theirs = flat(streamed_answer["masks"]), flat(listed["masks"])
        assert [p["token"] for p in mine] == [p["token"] for p in theirs]
        for a, b in zip(mine, theirs, strict=True):
            assert a["score"] == pytest.approx(b["score"], abs=1e-6)


def flat(masks: list) -> list[dict]:
    """Predictions of one mask (a flat list) or of several (a list per mask), flattened."""
    return [p for row in masks for p in (row if isinstance(row, list) else [row])]


def test_per_item_errors_from_python():
    fill = pipeline("fill-mask-and-entities", model=str(FILL))
    inputs = [TEXTS[0], {"text": "no mask"}, {"text": TEXTS[2], "entity_spans": [[0, 5]]}]
    answers = list(fill(iter(inputs), on_error="record"))
    assert "masks" in answers[0] and "masks" in answers[2]
    assert set(answers[1]) == {"error"}
    with pytest.raises(InputError, match="input 2: nothing to predict"):
        list(fill(iter(inputs)))


def test_the_input_is_read_lazily():
    fill = pipeline("fill-mask-and-entities", model=str(FILL), batch_size=2)
    consumed = []

    def endless():
        k = 0
        while True:
            consumed.append(k)
            yield TEXTS[k % len(TEXTS)]
            k += 1

    first = next(fill(endless()))
    assert "masks" in first
    assert len(consumed) <= WINDOW_BATCHES * 2 + 1  # one window read ahead, not the input


def test_json_lines_records_are_checked():
    items = list(
        read_items(
            ['{"text": "a <mask>"}', '{"txt": 1}', "not json", '{"text": "b", "head": [0, 1]}'],
            "jsonl",
        )
    )
    assert items[0].error is None and items[0].text == "a <mask>"
    assert "text" in items[1].error
    assert "not a JSON object" in items[2].error
    assert "both" in items[3].error

"""``python -m numpy_luke finetune`` (issue 22): the three tasks train and write a checkpoint
that loads back; the dev loss falls on a small synthetic typing set; bad lines are named;
an interruption keeps the last complete checkpoint."""

from __future__ import annotations

import json

import numpy as np
from helpers import TINY_LUKE

from numpy_luke import LukeForEntityClassification, cli
from numpy_luke.training import AdamW

TYPES = ["person", "city", "club"]
NAMES = {
    "person": ["Lionel Messi", "Beyoncé", "Albert Einstein", "Marie Curie"],
    "city": ["Rosario", "Tokyo", "Paris", "Lagos"],
    "club": ["Inter Miami CF", "Real Madrid CF", "FC Barcelona", "Ajax"],
}
TEMPLATES = {
    "person": ["{e} was born in spring.", "Yesterday {e} gave a talk."],
    "city": ["We flew to {e} last week.", "{e} has a busy harbour."],
    "club": ["{e} won the cup again.", "Fans of {e} sang all night."],
}


def typing_lines(seed, per_type):
    r = np.random.default_rng(seed)
    for kind in TYPES:
        for _ in range(per_type):
            name = NAMES[kind][r.integers(4)]
            text = TEMPLATES[kind][r.integers(2)].format(e=name)
            start = text.index(name)
            yield {"text": text, "span": [start, start + len(name)], "label": kind}


def write(path, lines):
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return str(path)


def finetune(tmp_path, capsys, task, train, dev=None, epochs=3, extra=()):
    args = [
        "finetune",
        "--task",
        task,
        "--train",
        write(tmp_path / "train.jsonl", train),
        "--model",
        str(TINY_LUKE),
        "--output",
        str(tmp_path / "out"),
        "--epochs",
        str(epochs),
        "--learning-rate",
        "3e-3",
        "--batch-size",
        "6",
        *extra,
    ]
    if dev is not None:
        args += ["--dev", write(tmp_path / "dev.jsonl", dev)]
    status = cli.main(args)
    captured = capsys.readouterr()
    return status, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_entity_typing_lowers_the_dev_loss_and_the_checkpoint_loads(tmp_path, capsys):
    status, reports, _ = finetune(
        tmp_path,
        capsys,
        "entity-classification",
        list(typing_lines(0, 8)),
        list(typing_lines(1, 4)),
        epochs=4,
    )
    assert status == 0
    assert [r["epoch"] for r in reports] == [0, 1, 2, 3, 4]
    assert reports[-1]["dev_loss"] < reports[0]["dev_loss"] - 0.05, reports
    model = LukeForEntityClassification.from_pretrained(tmp_path / "out")
    assert model.config.id2label == dict(enumerate(sorted(TYPES)))
    assert (tmp_path / "out" / "vocab.json").is_file()
    assert not (tmp_path / "out.partial").exists()


def test_pair_and_span_tasks_train(tmp_path, capsys):
    pair = [
        {"text": "Messi plays for Ajax.", "head": [0, 5], "tail": [16, 20], "label": "plays_for"},
        {
            "text": "Messi was born in Rosario.",
            "head": [0, 5],
            "tail": [18, 25],
            "label": "born_in",
        },
    ] * 3
    status, reports, _ = finetune(
        tmp_path, capsys, "entity-pair-classification", pair, pair, epochs=1
    )
    assert status == 0 and reports[-1]["epoch"] == 1
    span = [
        {
            "text": "Messi plays in Paris.",
            "spans": [[0, 5], [15, 20], [6, 11]],
            "labels": ["PER", "LOC", "O"],
        },
        {"text": "Ajax won.", "spans": [[0, 4]], "labels": ["ORG"]},
    ] * 3
    (tmp_path / "span").mkdir()
    status, reports, _ = finetune(
        tmp_path / "span", capsys, "entity-span-classification", span, span, epochs=1
    )
    assert status == 0 and 0 <= reports[-1]["dev_accuracy"] <= 1


def test_a_bad_line_is_named(tmp_path, capsys):
    lines = list(typing_lines(0, 1))
    del lines[1]["label"]
    status, _, err = finetune(tmp_path, capsys, "entity-classification", lines)
    assert status == 1 and "train.jsonl line 2" in err and "'label'" in err


def test_an_interruption_keeps_the_last_complete_checkpoint(tmp_path, capsys, monkeypatch):
    step = AdamW.step
    calls = []

    def interrupted(self, gradients):
        calls.append(1)
        if len(calls) == 6:  # in epoch 2 (4 steps an epoch)
            raise KeyboardInterrupt
        step(self, gradients)

    monkeypatch.setattr(AdamW, "step", interrupted)
    status, reports, err = finetune(
        tmp_path, capsys, "entity-classification", list(typing_lines(0, 8)), epochs=3
    )
    assert status == 130 and "interrupted" in err
    assert [r["epoch"] for r in reports] == [1]
    LukeForEntityClassification.from_pretrained(tmp_path / "out")  # epoch 1's, complete

"""``python -m numpy_luke finetune`` (issue 22): on small synthetic sets (typing, relations,
spans) each of the three tasks lowers the dev loss and writes a checkpoint that loads back,
with a tokenizer that names its task; each epoch's line is what docs/cli.md says; bad lines
are named; an interruption keeps the last complete checkpoint."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from helpers import TINY_LUKE

from numpy_luke import (
    LukeForEntityClassification,
    LukeForEntityPairClassification,
    LukeForEntitySpanClassification,
    LukeTokenizer,
    cli,
)
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


PAIR_TEMPLATES = {  # relation -> (text, head's kind, tail's kind)
    "plays_for": ("{head} plays for {tail}.", "person", "club"),
    "born_in": ("{head} was born in {tail}.", "person", "city"),
    "based_in": ("{head} is based in {tail}.", "club", "city"),
}
SPAN_TEMPLATES = [  # the non-entity span "O" is the word "fans"
    "{person} met fans of {club} in {city}.",
    "In {city}, fans saw {person} join {club}.",
]
SPAN_LABELS = {"person": "PER", "city": "LOC", "club": "ORG"}


def pair_lines(seed, per_relation):
    """Relation classification: the relation is the sentence's verb, the pair's kinds."""
    r = np.random.default_rng(seed)
    for relation, (template, head_kind, tail_kind) in PAIR_TEMPLATES.items():
        for _ in range(per_relation):
            head, tail = NAMES[head_kind][r.integers(4)], NAMES[tail_kind][r.integers(4)]
            text = template.format(head=head, tail=tail)
            h, t = text.index(head), text.rindex(tail)
            yield {
                "text": text,
                "head": [h, h + len(head)],
                "tail": [t, t + len(tail)],
                "label": relation,
            }


def span_lines(seed, count):
    """Span classification: every name labelled by its kind, and "fans" labelled O, the
    spans in a random order."""
    r = np.random.default_rng(seed)
    for number in range(count):
        names = {kind: NAMES[kind][r.integers(4)] for kind in TYPES}
        text = SPAN_TEMPLATES[number % 2].format(**names)
        items = [(text.index(name), len(name), SPAN_LABELS[kind]) for kind, name in names.items()]
        items.append((text.index("fans"), 4, "O"))
        order = r.permutation(len(items))
        yield {
            "text": text,
            "spans": [[items[i][0], items[i][0] + items[i][1]] for i in order],
            "labels": [items[i][2] for i in order],
        }


def write(path, lines):
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return str(path)


MODELS = {
    "entity-classification": LukeForEntityClassification,
    "entity-pair-classification": LukeForEntityPairClassification,
    "entity-span-classification": LukeForEntitySpanClassification,
}
SETS = {  # task -> (training set, dev set): small synthetic sets the tiny model learns
    "entity-classification": (list(typing_lines(0, 8)), list(typing_lines(1, 4))),
    "entity-pair-classification": (list(pair_lines(0, 8)), list(pair_lines(1, 4))),
    "entity-span-classification": (list(span_lines(0, 24)), list(span_lines(1, 12))),
}


def finetune(tmp_path, capsys, task, train, dev=None, epochs=3, extra=()):
    tmp_path.mkdir(exist_ok=True)
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


@pytest.mark.parametrize("task", ["entity-pair-classification", "entity-span-classification"])
def test_pair_and_span_tasks_lower_the_dev_loss(tmp_path, capsys, task):
    """Measured (seed 0, 4 epochs): pair 1.41 -> 0.97, spans 1.70 -> 0.28."""
    status, reports, _ = finetune(tmp_path, capsys, task, *SETS[task], epochs=4)
    assert status == 0
    assert [r["epoch"] for r in reports] == [0, 1, 2, 3, 4]
    assert reports[-1]["dev_loss"] < reports[0]["dev_loss"] - 0.2, reports


def spans_of(example):
    """An example's entity spans, in the order its task's tokenizer takes them."""
    if "spans" in example:
        return [tuple(span) for span in example["spans"]]
    if "head" in example:
        return [tuple(example["head"]), tuple(example["tail"])]
    return [tuple(example["span"])]


def dev_figures(folder, task, dev):
    """The dev loss (mean over labelled entities) and accuracy of the checkpoint in
    ``folder``, one example at a time: what docs/cli.md says ``finetune`` reports."""
    model = MODELS[task].from_pretrained(folder)
    tokenizer = LukeTokenizer.from_pretrained(folder)
    losses, hits = [], []
    for example in dev:
        labels = example.get("labels", [example.get("label")])
        batch = tokenizer(
            example["text"],
            entity_spans=spans_of(example),
            task=task.replace("-", "_"),
            return_tensors="np",
        )
        logits = np.asarray(model(**batch).logits, dtype=np.float64).reshape(len(labels), -1)
        log_p = logits - logits.max(-1, keepdims=True)
        log_p -= np.log(np.exp(log_p).sum(-1, keepdims=True))
        ids = np.array([model.config.label2id[x] for x in labels])
        losses += list(-log_p[np.arange(len(ids)), ids])
        hits += list(logits.argmax(-1) == ids)
    return float(np.mean(losses)), float(np.mean(hits))


@pytest.mark.parametrize("task", sorted(MODELS))
def test_each_epoch_reports_what_the_docs_say(tmp_path, capsys, task):
    """docs/cli.md: each epoch prints {"epoch", "train_loss"}, plus "dev_loss" and
    "dev_accuracy" (per span for spans) with --dev, and --dev adds an epoch-0 line for the
    untrained model; the last line's dev figures are the saved checkpoint's."""
    train, dev = SETS[task]
    status, reports, _ = finetune(tmp_path / "a", capsys, task, train, epochs=2)
    assert status == 0 and reports == [
        {"epoch": 1, "train_loss": reports[0]["train_loss"]},
        {"epoch": 2, "train_loss": reports[1]["train_loss"]},
    ]
    status, reports, _ = finetune(tmp_path / "b", capsys, task, train, dev, epochs=2)
    assert status == 0
    assert [sorted(r) for r in reports] == [
        ["dev_accuracy", "dev_loss", "epoch"],
        ["dev_accuracy", "dev_loss", "epoch", "train_loss"],
        ["dev_accuracy", "dev_loss", "epoch", "train_loss"],
    ]
    assert [r["epoch"] for r in reports] == [0, 1, 2]
    loss, accuracy = dev_figures(tmp_path / "b" / "out", task, dev)
    assert reports[-1]["dev_loss"] == pytest.approx(loss, rel=1e-5)
    assert reports[-1]["dev_accuracy"] == pytest.approx(accuracy, abs=1e-12)


@pytest.mark.parametrize("task", sorted(MODELS))
def test_the_saved_tokenizer_encodes_for_the_task_without_being_told(tmp_path, capsys, task):
    """The checkpoint's tokenizer_config.json names the task, so a tokenizer loaded from it
    (numpy_luke's, or transformers', which takes the task only there) encodes as in
    training: <ent> markers for entity and pair classification, span positions for spans.
    Before this, ``"task": null`` was saved and such a tokenizer encoded without them."""
    train = SETS[task][0][:6]
    assert finetune(tmp_path, capsys, task, train, epochs=1)[0] == 0
    saved = json.loads((tmp_path / "out" / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert saved["task"] == task.replace("-", "_")
    texts = [e["text"] for e in train[:2]]
    spans = [spans_of(e) for e in train[:2]]
    tokenizer = LukeTokenizer.from_pretrained(tmp_path / "out")
    told = tokenizer(
        texts, entity_spans=spans, task=saved["task"], padding=True, return_tensors="np"
    )
    untold = tokenizer(texts, entity_spans=spans, padding=True, return_tensors="np")
    assert sorted(told) == sorted(untold)
    for key in told:
        np.testing.assert_array_equal(told[key], untold[key], err_msg=key)


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


def test_the_progress_bar_shows_the_loss_and_examples_per_second(tmp_path, capsys):
    pytest.importorskip("tqdm")
    train = list(typing_lines(0, 2))  # 6 examples, batches of 6: one step per epoch
    status, reports, err = finetune(
        tmp_path, capsys, "entity-classification", train, epochs=2, extra=("--progress",)
    )
    assert status == 0 and len(reports) == 2
    assert "examples/s" in err  # the bar's rate, in examples per second
    shown = re.findall(r"loss=([0-9.]+)", err)
    assert shown and abs(float(shown[-1]) - reports[-1]["train_loss"]) < 1e-4  # last batch
    assert "12/12" in err  # epochs x examples

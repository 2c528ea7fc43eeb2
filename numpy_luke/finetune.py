"""``python -m numpy_luke finetune``: fine-tune a checkpoint on a JSON Lines training set.

One example a line, by task (character offsets, end exclusive; labels are strings):

    entity-classification        {"text": ..., "span": [start, end], "label": "person"}
    entity-pair-classification   {"text": ..., "head": [s, e], "tail": [s, e], "label": "born_in"}
    entity-span-classification   {"text": ..., "spans": [[s, e], ...], "labels": ["PER", ...]}

The whole model is trained (``loss_and_gradients``, numpy_luke.training): AdamW with
LUKE's fine-tuning settings (no decay on biases and layer norms, linear warmup over the
first ``--warmup-ratio`` of the steps then linear decay, gradients clipped to norm 1), dropout
on. After every epoch the checkpoint (config.json with the label names, model.safetensors,
the tokenizer files, whose tokenizer_config.json names the task) is written to a new folder
that then replaces ``--output``, so an interrupted run (Ctrl-C) leaves the last complete
checkpoint. Each epoch prints one JSON line with its mean training loss and, with ``--dev``,
the dev loss and accuracy (per span for spans); with ``--dev`` an "epoch 0" line gives the
untrained model's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import warnings
from pathlib import Path

import numpy as np

from .diagnostics import progress_bar
from .errors import NumpyLukeError
from .modeling import (
    LukeForEntityClassification,
    LukeForEntityPairClassification,
    LukeForEntitySpanClassification,
)
from .tokenizer import LukeTokenizer
from .training import AdamW, clip_by_global_norm, linear_warmup_decay

HELP = "fine-tune a checkpoint's whole model on a JSON Lines training set"
EXAMPLES = """examples:
  python -m numpy_luke finetune --task entity-classification --train train.jsonl \\
      --dev dev.jsonl --model studio-ousia/luke-base --output typing-model --epochs 3
"""
# task -> (model class, the tokenizer's task, the fields of a line)
TASKS = {
    "entity-classification": (LukeForEntityClassification, "entity_classification",
                              ("span", "label")),
    "entity-pair-classification": (LukeForEntityPairClassification,
                                   "entity_pair_classification", ("head", "tail", "label")),
    "entity-span-classification": (LukeForEntitySpanClassification,
                                   "entity_span_classification", ("spans", "labels")),
}


class TrainingDataError(NumpyLukeError, ValueError):
    """A training or dev file line that does not fit the task's format."""


def add_parser(commands) -> None:
    sub = commands.add_parser("finetune", help=HELP, description=HELP, epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.add_argument("--task", required=True, choices=sorted(TASKS))
    sub.add_argument("--train", required=True, metavar="FILE.jsonl")
    sub.add_argument("--dev", metavar="FILE.jsonl")
    sub.add_argument("--model", required=True, metavar="ID_OR_FOLDER")
    sub.add_argument("--output", required=True, metavar="DIR")
    sub.add_argument("--epochs", type=int, default=3)
    sub.add_argument("--learning-rate", type=float, default=1e-5)
    sub.add_argument("--batch-size", type=int, default=8)
    sub.add_argument("--seed", type=int, default=0)
    sub.add_argument("--warmup-ratio", type=float, default=0.06)
    sub.add_argument("--weight-decay", type=float, default=0.01)
    sub.add_argument("--progress", action="store_true", help="a progress bar on standard error")
    sub.set_defaults(run=run)


def read_examples(path: str, task: str) -> list[dict]:
    """The lines of ``path`` as dicts with the task's fields (blank lines skipped)."""
    fields = TASKS[task][2]
    examples = []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                example = json.loads(line)
            except json.JSONDecodeError as error:
                raise TrainingDataError(f"{path} line {number}: not JSON ({error})") from None
            if not isinstance(example, dict) or not isinstance(example.get("text"), str) or \
                    any(name not in example for name in fields):
                raise TrainingDataError(f"{path} line {number}: {task} needs an object with "
                                        f"\"text\" and {', '.join(map(repr, fields))}")
            if task == "entity-span-classification" and \
                    len(example["spans"]) != len(example["labels"]):
                raise TrainingDataError(f"{path} line {number}: one label per span")
            examples.append(example)
    if not examples:
        raise TrainingDataError(f"{path}: no examples")
    return examples


def labels_of(example: dict, task: str) -> list[str]:
    return example["labels"] if task == "entity-span-classification" else [example["label"]]


def encode_batch(tokenizer, examples: list[dict], task: str, label2id: dict) -> tuple[dict, dict]:
    """A padded batch and its labels (``labels``; -100 for padded spans)."""
    if task == "entity-classification":
        spans = [[tuple(e["span"])] for e in examples]
    elif task == "entity-pair-classification":
        spans = [[tuple(e["head"]), tuple(e["tail"])] for e in examples]
    else:
        spans = [[tuple(s) for s in e["spans"]] for e in examples]
    batch = tokenizer([e["text"] for e in examples], entity_spans=spans, task=TASKS[task][1],
                      padding=True, return_tensors="np")
    if task == "entity-span-classification":
        labels = np.full(batch["entity_ids"].shape, -100, dtype=np.int64)
        for row, example in enumerate(examples):
            labels[row, :len(example["labels"])] = [label2id[x] for x in example["labels"]]
    else:
        labels = np.array([label2id[e["label"]] for e in examples], dtype=np.int64)
    return dict(batch), {"labels": labels}


def evaluate(model, tokenizer, examples, task, label2id, batch_size) -> dict:
    """Dev loss (mean over labelled items) and accuracy."""
    total_loss, correct, count = 0.0, 0, 0
    for start in range(0, len(examples), batch_size):
        batch, labels = encode_batch(tokenizer, examples[start:start + batch_size], task, label2id)
        output = model(**batch, **labels)
        kept = labels["labels"] != -100
        total_loss += float(output.loss) * int(kept.sum())
        correct += int((output.logits.argmax(-1) == labels["labels"])[kept].sum())
        count += int(kept.sum())
    return {"dev_loss": total_loss / count, "dev_accuracy": correct / count}


def save(model, tokenizer, output: Path) -> None:
    """Write the checkpoint to a new folder, then put it in place of ``output``: an
    interruption leaves either the previous checkpoint or the new one, never half of one."""
    partial = output.with_name(output.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    previous = output.with_name(output.name + ".previous")
    if output.exists():
        shutil.rmtree(previous, ignore_errors=True)
        output.rename(previous)
    partial.rename(output)
    shutil.rmtree(previous, ignore_errors=True)


def run(args) -> int:
    for name in ("epochs", "batch_size"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
    task, output = args.task, Path(args.output)
    train = read_examples(args.train, task)
    dev = read_examples(args.dev, task) if args.dev else None
    names = sorted({x for e in train for x in labels_of(e, task)})
    unknown = sorted({x for e in dev or [] for x in labels_of(e, task)} - set(names))
    if unknown:
        raise TrainingDataError(f"{args.dev} has labels the training set lacks: {unknown}")
    label2id = {name: i for i, name in enumerate(names)}
    # the saved tokenizer_config.json names the task, so that a tokenizer loaded from the
    # checkpoint (numpy_luke's or transformers') encodes as in training without task=
    tokenizer = LukeTokenizer.from_pretrained(args.model, task=TASKS[task][1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the new head starts random, as it must
        model = TASKS[task][0].from_pretrained(
            args.model, num_labels=len(names), id2label=dict(enumerate(names)),
            label2id=label2id, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    steps = args.epochs * -(-len(train) // args.batch_size)
    optimizer = AdamW(model, args.learning_rate, weight_decay=args.weight_decay,
                      no_decay=("bias", "LayerNorm.weight", "layer_norm.weight"))
    warmup = int(args.warmup_ratio * steps)
    if dev is not None:  # the starting point the epochs' dev figures compare with
        print(json.dumps({"epoch": 0, **evaluate(model, tokenizer, dev, task, label2id,
                                                  args.batch_size)}), flush=True)
    with progress_bar(args.progress, args.epochs * len(train), "finetune",
                      unit="examples") as bar:
        for epoch in range(1, args.epochs + 1):
            losses = train_epoch(model, tokenizer, optimizer, train, args, label2id, rng,
                                 (warmup, steps, epoch), bar)
            save(model, tokenizer, output)
            report = {"epoch": epoch, "train_loss": float(np.mean(losses))}
            if dev is not None:
                report.update(evaluate(model, tokenizer, dev, task, label2id, args.batch_size))
            print(json.dumps(report), flush=True)
    return 0


def train_epoch(model, tokenizer, optimizer, train, args, label2id, rng, schedule, bar):  # noqa: PLR0913  one epoch's whole state
    """One pass over the shuffled training set; the bar counts examples (its rate is the
    examples per second) and shows the last batch's loss. -> the batches' losses"""
    warmup, steps, epoch = schedule
    batches = -(-len(train) // args.batch_size)
    order, losses = rng.permutation(len(train)), []
    for number, start in enumerate(range(0, len(train), args.batch_size)):
        examples = [train[i] for i in order[start:start + args.batch_size]]
        batch, labels = encode_batch(tokenizer, examples, args.task, label2id)
        loss, gradients = model.loss_and_gradients(**batch, **labels, dropout_rng=rng)
        gradients, _ = clip_by_global_norm(gradients, 1.0)
        step = (epoch - 1) * batches + number + 1
        optimizer.lr = args.learning_rate * linear_warmup_decay(step, warmup, steps)
        optimizer.step(gradients)
        losses.append(float(loss))
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{losses[-1]:.4f}", epoch=epoch)
        bar.update(len(examples))
    return losses

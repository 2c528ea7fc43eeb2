"""A ``finetune`` checkpoint loads in transformers with the same outputs, for each of the
three tasks (issue 22): the same logits within 1e-5, the same label names, and transformers'
LukeTokenizer reads the saved tokenizer files and encodes as numpy_luke's does."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import TINY_LUKE
from test_finetune import MODELS, SETS, write

from numpy_luke import LukeTokenizer, cli

pytestmark = pytest.mark.parity
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

# task -> (two texts of different lengths, their entity spans): padding in the batch, of
# words and (for spans) of entities
BATCHES = {
    "entity-classification": (
        ["We flew to Tokyo last week.", "Ajax won the cup again."],
        [[(11, 16)], [(0, 4)]],
    ),
    "entity-pair-classification": (
        ["Lionel Messi was born in Rosario.", "Ajax is based in Paris."],
        [[(0, 12), (25, 32)], [(0, 4), (17, 22)]],
    ),
    "entity-span-classification": (
        ["Marie Curie met fans of Ajax in Paris.", "Tokyo won."],
        [[(0, 11), (24, 28), (32, 37), (16, 20)], [(0, 5)]],
    ),
}


def finetuned(tmp_path, task):
    """The folder ``finetune`` wrote: the tiny checkpoint, one epoch on the task's set."""
    train = write(tmp_path / "train.jsonl", SETS[task][0])
    args = ["finetune", "--task", task, "--train", train, "--model", str(TINY_LUKE)]
    args += ["--output", str(tmp_path / "out"), "--epochs", "1", "--learning-rate", "3e-3"]
    assert cli.main(args) == 0
    return tmp_path / "out"


@pytest.mark.parametrize("task", sorted(MODELS))
def test_a_finetuned_checkpoint_loads_in_transformers_with_the_same_outputs(tmp_path, task):
    folder = finetuned(tmp_path, task)
    texts, spans = BATCHES[task]
    batch = LukeTokenizer.from_pretrained(folder)(
        texts,
        entity_spans=spans,
        task=task.replace("-", "_"),
        padding=True,
        return_tensors="np",
    )
    assert len(set(map(len, batch["input_ids"]))) == 1 and 0 in batch["attention_mask"]
    ours = MODELS[task].from_pretrained(folder)(**batch).logits
    theirs_class = getattr(transformers, MODELS[task].__name__)
    theirs_model, info = theirs_class.from_pretrained(folder, output_loading_info=True)
    assert not any(info.values()), info
    with torch.no_grad():
        theirs = theirs_model.eval()(**{k: torch.tensor(v) for k, v in batch.items()}).logits
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-5, rtol=0)
    names = sorted({x for e in SETS[task][0] for x in e.get("labels", [e.get("label")])})
    assert theirs_model.config.id2label == dict(enumerate(names))
    assert theirs_model.config.label2id == {name: i for i, name in enumerate(names)}


@pytest.mark.parametrize("task", sorted(MODELS))
def test_transformers_reads_the_saved_tokenizer_and_encodes_alike(tmp_path, task):
    """transformers' LukeTokenizer, loaded from the folder as its users would (the task
    is the saved tokenizer's own), encodes the batch as numpy_luke's does with the task."""
    folder = finetuned(tmp_path, task)
    texts, spans = BATCHES[task]
    ours = LukeTokenizer.from_pretrained(folder)(
        texts, entity_spans=spans, task=task.replace("-", "_"), padding=True, return_tensors="np"
    )
    theirs_tokenizer = transformers.LukeTokenizer.from_pretrained(folder)
    assert theirs_tokenizer.task == task.replace("-", "_")
    theirs = theirs_tokenizer(texts, entity_spans=spans, padding=True, return_tensors="np")
    assert sorted(ours) == sorted(theirs)
    for key in ours:
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)

"""A ``finetune`` checkpoint loads in transformers with the same outputs (issue 22)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import TINY_LUKE
from test_finetune import typing_lines, write

from numpy_luke import LukeForEntityClassification, LukeTokenizer, cli

pytestmark = pytest.mark.parity
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def test_a_finetuned_checkpoint_loads_in_transformers_with_the_same_outputs(tmp_path):
    train = write(tmp_path / "train.jsonl", typing_lines(0, 4))
    assert (
        cli.main(
            [
                "finetune",
                "--task",
                "entity-classification",
                "--train",
                train,
                "--model",
                str(TINY_LUKE),
                "--output",
                str(tmp_path / "out"),
                "--epochs",
                "1",
                "--learning-rate",
                "3e-3",
            ]
        )
        == 0
    )
    folder = tmp_path / "out"
    tokenizer = LukeTokenizer.from_pretrained(folder)
    batch = tokenizer(
        ["We flew to Tokyo last week.", "Ajax won the cup again."],
        entity_spans=[[(11, 16)], [(0, 4)]],
        task="entity_classification",
        padding=True,
        return_tensors="np",
    )
    ours = LukeForEntityClassification.from_pretrained(folder)(**batch).logits
    theirs_model, info = transformers.LukeForEntityClassification.from_pretrained(
        folder, output_loading_info=True
    )
    assert not any(info.values()), info
    with torch.no_grad():
        theirs = theirs_model.eval()(**{k: torch.tensor(v) for k, v in batch.items()}).logits
    np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-5, rtol=0)
    assert theirs_model.config.id2label == {0: "city", 1: "club", 2: "person"}

"""The numbers transformers' integration tests print for the released LUKE checkpoints.

These need the real ``studio-ousia/luke-base`` / ``luke-large`` files. They run when the
checkpoint is already in the local Hugging Face cache, or when downloads are allowed with
``NUMPY_LUKE_ALLOW_DOWNLOAD=1``; otherwise they skip and say why.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from numpy_luke import CheckpointNotFoundError, LukeModel, LukeTokenizer

pytestmark = pytest.mark.published

TEXT = (
    "Top seed Ana Ivanovic said on Thursday she could hardly believe her luck as a fortuitous "
    "netcord helped the new world number one avoid a humiliating second- round exit at "
    "Wimbledon ."
)
SPAN = (39, 42)

FIGURES = {
    "studio-ousia/luke-base": (
        768,
        [[0.0037, 0.1368, -0.0091], [0.1099, 0.3329, -0.1095], [0.0765, 0.5335, 0.1179]],
        [[0.1457, 0.1044, 0.0174]],
    ),
    "studio-ousia/luke-large": (
        1024,
        [[0.0133, 0.0865, 0.0095], [0.3093, -0.2576, -0.7418], [-0.1720, -0.2117, -0.2869]],
        [[0.0466, -0.0106, -0.0179]],
    ),
}


def load(repo_id):
    """Tokenizer and model from the local cache (or the Hub when downloads are allowed)."""
    download = os.environ.get("NUMPY_LUKE_ALLOW_DOWNLOAD") == "1"
    try:
        tokenizer = LukeTokenizer.from_pretrained(
            repo_id, task="entity_classification", local_files_only=not download
        )
        model = LukeModel.from_pretrained(repo_id, local_files_only=not download)
    except CheckpointNotFoundError as error:
        how = (
            "the download failed"
            if download
            else "it is not in the local Hugging Face cache; set NUMPY_LUKE_ALLOW_DOWNLOAD=1 "
            "to download it"
        )
        pytest.skip(f"{repo_id} unavailable: {how} ({str(error)[:120]})")
    return tokenizer, model


@pytest.mark.parametrize("repo_id", sorted(FIGURES))
def test_published_hidden_state_figures(repo_id):
    hidden, word_slice, entity_slice = FIGURES[repo_id]
    tokenizer, model = load(repo_id)
    encoding = tokenizer(TEXT, entity_spans=[SPAN], add_prefix_space=True, return_tensors="np")
    outputs = model(**encoding)
    assert outputs.last_hidden_state.shape == (1, 42, hidden)
    np.testing.assert_allclose(
        outputs.last_hidden_state[0, :3, :3], word_slice, rtol=1e-4, atol=1e-4
    )
    assert outputs.entity_last_hidden_state.shape == (1, 1, hidden)
    np.testing.assert_allclose(
        outputs.entity_last_hidden_state[0, :1, :3], entity_slice, rtol=1e-4, atol=1e-4
    )


def test_the_figure_input_has_the_published_shape(tmp_path):
    """Without the checkpoint: the tokenizer, fed as in transformers' test, gives the
    (1, 42) words and 1 entity the published shapes imply (needs the real RoBERTa vocab)."""
    from helpers import real_vocab_luke_dir

    folder = real_vocab_luke_dir(tmp_path / "luke-base-tokenizer")
    if folder is None:
        pytest.skip("real RoBERTa vocabulary not available: set NUMPY_LUKE_TEST_DATA")
    tokenizer = LukeTokenizer.from_pretrained(folder, task="entity_classification")
    encoding = tokenizer(TEXT, entity_spans=[SPAN], add_prefix_space=True, return_tensors="np")
    assert encoding["input_ids"].shape == (1, 42)
    assert encoding["entity_ids"].shape == (1, 1)

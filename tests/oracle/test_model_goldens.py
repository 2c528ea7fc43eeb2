"""numpy_luke against transformers' own outputs, stored by tests/goldens/make_model_goldens.py.

Every case is a tiny random checkpoint in one of the two file formats; every output,
hidden state, attention map and loss must be within 1e-5 of transformers'. No torch needed.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import GOLDENS, MODEL_CLASS_NAMES

import numpy_luke

MODEL_GOLDENS = GOLDENS / "model"
CASES = sorted(p.name for p in MODEL_GOLDENS.iterdir() if (p / "case.json").is_file())
TOLERANCE = 1e-5


def load_case(name):
    folder = MODEL_GOLDENS / name
    meta = json.loads((folder / "case.json").read_text())
    with np.load(folder / "goldens.npz") as data:
        arrays = dict(data)
    runs = []
    for k, run in enumerate(meta["runs"]):
        inputs = {
            key.split(".", 2)[2]: value
            for key, value in arrays.items()
            if key.startswith(f"run{k}.in.")
        }
        expected = {
            key.split(".", 2)[2]: value
            for key, value in arrays.items()
            if key.startswith(f"run{k}.out.")
        }
        runs.append((inputs, run["flags"], run["outputs"], expected))
    return folder, meta, runs


def flatten(outputs) -> dict[str, np.ndarray]:
    flat = {}
    for key, value in outputs.items():
        if isinstance(value, tuple):
            for i, item in enumerate(value):
                if item is not None:
                    flat[f"{key}.{i}"] = item
        else:
            flat[key] = value
    return flat


def test_the_goldens_cover_what_the_issue_asks():
    metas = [json.loads((MODEL_GOLDENS / c / "case.json").read_text()) for c in CASES]
    configs = [json.loads((MODEL_GOLDENS / c / "config.json").read_text()) for c in CASES]
    classes = {m["class"] for m in metas}
    assert classes == set(MODEL_CLASS_NAMES)  # all nine
    assert {m["format"] for m in metas} == {"safetensors", "bin"}
    assert {c["use_entity_aware_attention"] for c in configs} == {True, False}
    assert {c["entity_emb_size"] == c["hidden_size"] for c in configs} == {True, False}
    assert {c["type_vocab_size"] for c in configs} == {1, 2}
    total = sum(f.stat().st_size for f in MODEL_GOLDENS.rglob("*") if f.is_file())
    assert total < 3_000_000


@pytest.mark.parametrize("name", CASES)
def test_outputs_match_transformers(name):
    folder, meta, runs = load_case(name)
    model = getattr(numpy_luke, meta["class"]).from_pretrained(folder)
    for inputs, flags, output_names, expected in runs:
        # padded inputs really are padded, so the cases test masking
        assert (inputs["input_ids"] == 1).any()
        outputs = model(**inputs, **flags)
        assert list(outputs.keys()) == output_names
        got = flatten(outputs)
        assert sorted(got) == sorted(expected)
        for key, want in expected.items():
            assert got[key].shape == want.shape, key
            if np.isnan(want).all():
                assert np.isnan(got[key]).all(), key
                continue
            diff = np.abs(got[key] - want).max()
            assert diff <= TOLERANCE, f"{name} {key}: max |diff| {diff:.2e}"


def test_hidden_state_and_attention_tuples_have_transformers_lengths():
    folder, meta, runs = load_case("base_aware_proj")
    model = numpy_luke.LukeModel.from_pretrained(folder)
    inputs, flags, _, _ = runs[0]
    out = model(**inputs, **flags)
    layers = model.config.num_hidden_layers
    words, entities = inputs["input_ids"].shape[1], inputs["entity_ids"].shape[1]
    assert len(out.hidden_states) == len(out.entity_hidden_states) == layers + 1
    assert len(out.attentions) == layers
    assert out.attentions[0].shape == (2, 4, words + entities, words + entities)


def test_float64_matches_the_goldens_too():
    folder, meta, runs = load_case("masked_lm")
    model = numpy_luke.LukeForMaskedLM.from_pretrained(folder, dtype=np.float64)
    inputs, flags, _, expected = runs[0]
    out = model(**inputs, **flags)
    assert out.logits.dtype == np.float64
    assert np.abs(out.logits - expected["logits"]).max() <= TOLERANCE

"""Live parity with transformers for saving and inspecting models (issue 20, section 2).

A folder written by numpy_luke's ``save_pretrained`` loads in transformers with nothing
missing or unexpected and outputs within 1e-5; ``num_parameters`` and the ``state_dict``
names equal transformers' for every class; a head started from random values is
initialised as transformers initialises it (same distribution, same zero biases).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import TINY_LUKE
from test_save_pretrained import CLASSES, inputs_for, random_model

pytestmark = pytest.mark.parity
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import numpy_luke  # noqa: E402

TOLERANCE = 1e-5


def torch_inputs(name):
    return {k: torch.tensor(v) for k, v in inputs_for(name).items()}


def load_in_transformers(name, folder):
    model, info = getattr(transformers, name).from_pretrained(folder, output_loading_info=True)
    assert not any(info.values()), info  # nothing missing, unexpected or mismatched
    return model.eval()


@pytest.mark.parametrize("name", CLASSES)
@pytest.mark.parametrize("shard", [None, "20KB"])
def test_a_saved_folder_loads_in_transformers_with_the_same_outputs(tmp_path, name, shard):
    model = random_model(name, seed=3)
    model.save_pretrained(tmp_path, **({} if shard is None else {"max_shard_size": shard}))
    theirs = load_in_transformers(name, tmp_path)
    with torch.no_grad():
        expected = theirs(**torch_inputs(name)).to_tuple()
    ours = model(**inputs_for(name)).to_tuple()
    assert len(ours) == len(expected)
    for a, b in zip(ours, expected, strict=True):
        np.testing.assert_allclose(a, b.numpy(), atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("name", CLASSES)
def test_num_parameters_and_state_dict_names_equal_transformers(name):
    model = random_model(name)
    theirs = getattr(transformers, name)(transformers.LukeConfig(**model.config.to_dict()))
    for options in ({}, {"exclude_embeddings": True}, {"only_trainable": True}):
        assert model.num_parameters(**options) == theirs.num_parameters(**options), options
    assert set(model.state_dict()) == {
        k for k in theirs.state_dict() if not k.endswith("position_ids")
    }
    np.testing.assert_array_equal(
        model.get_input_embeddings().shape, tuple(theirs.get_input_embeddings().weight.shape)
    )
    out = theirs.get_output_embeddings()
    assert (model.get_output_embeddings() is None) == (out is None)


def test_transformers_saved_folder_and_ours_hold_the_same_tensors(tmp_path):
    theirs = transformers.LukeForMaskedLM.from_pretrained(TINY_LUKE)
    theirs.save_pretrained(tmp_path / "theirs")
    numpy_luke.LukeForMaskedLM.from_pretrained(TINY_LUKE).save_pretrained(tmp_path / "ours")
    from safetensors.numpy import load_file

    a, b = (
        load_file(tmp_path / "theirs" / "model.safetensors"),
        load_file(tmp_path / "ours" / "model.safetensors"),
    )
    assert set(a) == set(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_a_random_head_is_initialised_as_transformers_initialises_it():
    with pytest.warns(UserWarning, match="classifier"):
        ours = numpy_luke.LukeForEntityClassification.from_pretrained(TINY_LUKE, num_labels=9)
    theirs = transformers.LukeForEntityClassification.from_pretrained(TINY_LUKE, num_labels=9)
    weight, reference = ours.params["classifier.weight"], theirs.classifier.weight.detach()
    assert weight.shape == tuple(reference.shape)
    assert not ours.params["classifier.bias"].any() and not theirs.classifier.bias.any()
    # both N(0, initializer_range = 0.1): 288 draws each, std within 30% of 0.1
    assert abs(weight.std() - 0.1) < 0.03 and abs(float(reference.std()) - 0.1) < 0.03

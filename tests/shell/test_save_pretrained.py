"""Models that can be saved and inspected (issue 20, section 2).

``save_pretrained`` writes config.json and safetensors as transformers does (tied tensors
left out, sharded with an index past ``max_shard_size``, all files or none); the folder
loads back with identical outputs. ``num_parameters``, ``state_dict`` and the embedding
accessors answer as transformers' do; the output switches are settable on the config; a
head class built from a checkpoint without that head starts from random values with a
warning. The comparisons with transformers itself are in test_parity_save.py.
"""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
from helpers import FIXTURES, MODEL_CLASS_NAMES, TINY_LUKE

import numpy_luke
from numpy_luke import ConfigError, LukeForEntityClassification, LukeForMaskedLM, LukeModel, saving
from numpy_luke.weights import load_state_dict

CLASSES = MODEL_CLASS_NAMES
IDS = np.array([[0, 36, 101, 416, 95, 2]])
ENTITIES = dict(
    entity_ids=np.array([[2, 5]]),
    entity_position_ids=np.array([[[1, 2, -1], [3, -1, -1]]]),
    entity_attention_mask=np.ones((1, 2), int),
)
# transformers 4.57.6's num_parameters() for tiny-luke (measured: LukeForMaskedLM 74,212,
# 27,252 without the embedding tables; LukeModel 72,080)
TINY_MLM_PARAMETERS, TINY_MLM_NON_EMBEDDING, TINY_BASE_PARAMETERS = 74212, 27252, 72080


def inputs_for(name):
    if name == "LukeForMultipleChoice":
        return dict(
            input_ids=np.stack([IDS, IDS], axis=1),
            **{k: np.stack([v, v], axis=1) for k, v in ENTITIES.items()},
        )
    if name == "LukeForEntitySpanClassification":
        return dict(
            input_ids=IDS,
            **ENTITIES,
            entity_start_positions=np.array([[1, 3]]),
            entity_end_positions=np.array([[2, 3]]),
        )
    return dict(input_ids=IDS, **ENTITIES)


def random_model(name, seed=0, **config):
    values = json.loads((TINY_LUKE / "config.json").read_text())
    values.update(config)
    if name == "LukeForQuestionAnswering":
        values["num_labels"] = 2
    return getattr(numpy_luke, name).from_config(numpy_luke.LukeConfig(**values), seed=seed)


def outputs(model, name):
    return model(**inputs_for(name)).to_tuple()


@pytest.mark.parametrize("name", CLASSES)
@pytest.mark.parametrize("shard", [None, "20KB"])
def test_saved_folder_loads_back_with_identical_outputs(tmp_path, name, shard):
    model = random_model(name)
    options = {} if shard is None else {"max_shard_size": shard}
    written = model.save_pretrained(tmp_path, **options)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert sorted(map(lambda p: p.rsplit("/", 1)[-1], written)) == files
    if shard is None:
        assert files == ["config.json", "model.safetensors"]
    else:
        assert "model.safetensors.index.json" in files and len(files) > 3
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architectures"] == [name] and config["model_type"] == "luke"
    reloaded = getattr(numpy_luke, name).from_pretrained(tmp_path)
    for ours, theirs in zip(outputs(model, name), outputs(reloaded, name), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_tied_tensors_are_left_out_as_transformers_leaves_them(tmp_path):
    """transformers 4.57 saves LukeForMaskedLM without lm_head.decoder.weight,
    lm_head.decoder.bias and entity_predictions.decoder.weight (measured), and the encoder
    under ``luke.``; a bare LukeModel without the prefix."""
    model = LukeForMaskedLM.from_pretrained(TINY_LUKE)
    model.save_pretrained(tmp_path / "mlm")
    saved = load_state_dict(tmp_path / "mlm" / "model.safetensors")
    original = load_state_dict(TINY_LUKE / "model.safetensors")
    assert set(saved) == set(original)  # the fixture was saved by transformers 4.57
    for key in (
        "lm_head.decoder.weight",
        "lm_head.decoder.bias",
        "entity_predictions.decoder.weight",
    ):
        assert key not in saved and key in model.state_dict()
    for key, value in original.items():
        np.testing.assert_array_equal(saved[key], value)
    LukeModel.from_pretrained(TINY_LUKE).save_pretrained(tmp_path / "base")
    base = load_state_dict(tmp_path / "base" / "model.safetensors")
    assert "embeddings.word_embeddings.weight" in base and not any(
        k.startswith(("luke.", "lm_head", "entity_predictions")) for k in base
    )


def test_an_untied_word_decoder_is_saved(tmp_path):
    model = random_model("LukeForMaskedLM", tie_word_embeddings=False)
    model.save_pretrained(tmp_path)
    saved = load_state_dict(tmp_path / "model.safetensors")
    assert "lm_head.decoder.weight" in saved and "entity_predictions.decoder.weight" not in saved
    assert model.num_parameters() == TINY_MLM_PARAMETERS + 419 * 32


def test_shards_and_index_are_laid_out_as_transformers_lays_them(tmp_path):
    model = LukeForMaskedLM.from_pretrained(TINY_LUKE)
    model.save_pretrained(tmp_path, max_shard_size="100KB")
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert shards == [f"model-0000{i}-of-00004.safetensors" for i in range(1, 5)]
    assert index["metadata"] == {
        "total_parameters": TINY_MLM_PARAMETERS,
        "total_size": 4 * TINY_MLM_PARAMETERS,
    }
    assert list(index["weight_map"]) == sorted(index["weight_map"])
    for shard in shards:
        assert (tmp_path / shard).stat().st_size <= 100_000 + 4096  # + its header
    assert set(index["weight_map"]) == set(load_state_dict(TINY_LUKE / "model.safetensors"))


def test_a_new_save_removes_the_weights_of_an_old_one(tmp_path):
    model = LukeForMaskedLM.from_pretrained(TINY_LUKE)
    model.save_pretrained(tmp_path)
    model.save_pretrained(tmp_path, max_shard_size="100KB")
    assert not (tmp_path / "model.safetensors").exists()  # it would shadow the index
    model.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]


def test_saving_into_the_folder_it_was_loaded_from(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(TINY_LUKE, folder)
    model = LukeForMaskedLM.from_pretrained(folder)  # memory-mapped from that folder
    before = model(input_ids=IDS).logits
    model.save_pretrained(folder)
    np.testing.assert_array_equal(
        LukeForMaskedLM.from_pretrained(folder)(input_ids=IDS).logits, before
    )
    np.testing.assert_array_equal(model(input_ids=IDS).logits, before)


def test_a_failed_save_leaves_the_old_files_whole(tmp_path, monkeypatch):
    model = LukeForMaskedLM.from_pretrained(TINY_LUKE)
    model.save_pretrained(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    calls = []

    def fail_on_second(file, tensors):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        write(file, tensors)

    write = saving.write_safetensors
    monkeypatch.setattr(saving, "write_safetensors", fail_on_second)
    other = random_model("LukeForMaskedLM", seed=5)
    with pytest.raises(OSError, match="disk full"):
        other.save_pretrained(tmp_path, max_shard_size="100KB")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no temp files


@pytest.mark.parametrize(
    "size, expected", [(1000, 1000), ("5GB", 5 * 10**9), ("10MiB", 10 * 2**20), ("100kb", 100_000)]
)
def test_max_shard_size_units(size, expected):
    assert saving.parse_size(size) == expected


@pytest.mark.parametrize("size", ["5 gigabytes", -1, 0, "GB", True, 1.5])
def test_bad_max_shard_size_is_refused(size):
    with pytest.raises(ValueError, match="max_shard_size"):
        saving.parse_size(size)


def test_safe_serialization_false_is_refused(tmp_path):
    with pytest.raises(NotImplementedError, match="safetensors"):
        random_model("LukeModel").save_pretrained(tmp_path, safe_serialization=False)


def test_float64_models_save_float64(tmp_path):
    model = LukeForMaskedLM.from_pretrained(TINY_LUKE, dtype=np.float64)
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["dtype"] == "float64"
    reloaded = LukeForMaskedLM.from_pretrained(tmp_path, dtype="auto")
    assert reloaded.dtype == np.float64
    np.testing.assert_array_equal(reloaded(input_ids=IDS).logits, model(input_ids=IDS).logits)


# ---------------------------------------------------------------------------- inspecting


def test_num_parameters_counts_as_transformers():
    model = LukeForMaskedLM.from_pretrained(TINY_LUKE)
    assert model.num_parameters() == TINY_MLM_PARAMETERS
    assert model.num_parameters(only_trainable=True) == TINY_MLM_PARAMETERS
    assert model.num_parameters(exclude_embeddings=True) == TINY_MLM_NON_EMBEDDING
    assert LukeModel.from_pretrained(TINY_LUKE).num_parameters() == TINY_BASE_PARAMETERS


def test_state_dict_and_embedding_accessors():
    model = LukeForMaskedLM.from_pretrained(TINY_LUKE)
    state = model.state_dict()
    assert set(state) == set(load_state_dict(TINY_LUKE / "model.safetensors")) | {
        "lm_head.decoder.weight",
        "lm_head.decoder.bias",
        "entity_predictions.decoder.weight",
    }
    words = model.get_input_embeddings()
    assert isinstance(words, np.ndarray) and words.shape == (419, 32)
    assert words is state["luke.embeddings.word_embeddings.weight"]
    np.testing.assert_array_equal(model.get_output_embeddings(), words)
    base = LukeModel.from_pretrained(TINY_LUKE)
    assert base.get_output_embeddings() is None
    assert "embeddings.word_embeddings.weight" in base.state_dict()


@pytest.mark.parametrize(
    "switch, field",
    [("output_hidden_states", "hidden_states"), ("output_attentions", "attentions")],
)
def test_output_switches_are_settable_on_the_config(switch, field):
    model = LukeModel.from_pretrained(TINY_LUKE)
    assert getattr(model(input_ids=IDS), field) is None
    setattr(model.config, switch, True)
    assert len(getattr(model(input_ids=IDS), field)) == (3 if field == "hidden_states" else 2)
    assert getattr(model(input_ids=IDS, **{switch: False}), field) is None  # the call wins
    setattr(model.config, switch, False)
    assert getattr(model(input_ids=IDS), field) is None
    with pytest.raises(ConfigError, match=switch):
        setattr(model.config, switch, "yes")


def test_return_dict_is_settable_on_the_config():
    model = LukeModel.from_pretrained(TINY_LUKE)
    model.config.return_dict = False
    assert isinstance(model(input_ids=IDS), tuple) and not model.config.use_return_dict


# ---------------------------------------------------------------------------- new heads


def test_a_head_from_a_checkpoint_without_it_starts_random_with_a_warning():
    """As transformers: LukeForEntityClassification from the (masked-LM) base checkpoint."""
    with pytest.warns(UserWarning, match=r"random values.*classifier\.weight, classifier\.bias"):
        model = LukeForEntityClassification.from_pretrained(TINY_LUKE, num_labels=9, seed=0)
    weight = model.params["classifier.weight"]
    assert weight.shape == (9, 32)
    assert abs(weight.std() - 0.1) < 0.03  # N(0, initializer_range = 0.1)
    assert not model.params["classifier.bias"].any()
    base = LukeModel.from_pretrained(TINY_LUKE)
    np.testing.assert_array_equal(
        model.params["embeddings.word_embeddings.weight"],
        base.params["embeddings.word_embeddings.weight"],
    )
    with pytest.warns(UserWarning):
        again = LukeForEntityClassification.from_pretrained(TINY_LUKE, num_labels=9, seed=0)
        other = LukeForEntityClassification.from_pretrained(TINY_LUKE, num_labels=9, seed=1)
    np.testing.assert_array_equal(again.params["classifier.weight"], weight)
    assert not np.array_equal(other.params["classifier.weight"], weight)


def test_masked_lm_from_a_bare_encoder_checkpoint(tmp_path):
    """A base-checkpoint stand-in saved as a bare LukeModel: the MLM head starts random,
    its decoders tied to the embedding tables."""
    LukeModel.from_pretrained(TINY_LUKE).save_pretrained(tmp_path)
    with pytest.warns(UserWarning, match="lm_head.dense.weight") as caught:
        model = LukeForMaskedLM.from_pretrained(tmp_path, seed=0)
    assert "decoder" not in str(caught[0].message)
    assert model.get_output_embeddings() is model.get_input_embeddings()
    assert not model.params["lm_head.bias"].any()
    np.testing.assert_array_equal(model.params["lm_head.layer_norm.weight"], 1)


def test_a_checkpoint_holding_the_head_loads_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LukeForEntityClassification.from_pretrained(FIXTURES / "tiny-luke-typing")


def test_missing_encoder_tensors_are_still_an_error(tmp_path):
    state = load_state_dict(TINY_LUKE / "model.safetensors")
    del state["luke.encoder.layer.0.output.dense.weight"]
    config = numpy_luke.LukeConfig.from_pretrained(TINY_LUKE)
    with pytest.raises(numpy_luke.CheckpointError, match="missing tensors"):
        LukeForEntityClassification.from_state_dict(state, config)


def test_a_head_of_the_wrong_shape_is_still_an_error():
    """tiny-luke-ner's classifier reads 3 x hidden features: not an entity classifier."""
    with pytest.raises(numpy_luke.CheckpointError, match="wrong shape"):
        LukeForEntityClassification.from_pretrained(FIXTURES / "tiny-luke-ner")


@pytest.mark.parametrize(
    "task, folder", [("fill-mask", FIXTURES / "tiny-luke-typing"), ("entity-typing", TINY_LUKE)]
)
def test_a_pipeline_refuses_a_head_that_would_start_random(task, folder):
    """A pipeline answers with trained weights or not at all (transformers' pipeline only
    warns): the random head is fine for fine-tuning, never for answers."""
    with pytest.raises(numpy_luke.CheckpointError, match=f"the {task} pipeline needs a trained"):
        numpy_luke.pipeline(task, model=folder)


def test_the_warning_has_its_own_class():
    with pytest.warns(numpy_luke.NewWeightsWarning):
        LukeForEntityClassification.from_pretrained(TINY_LUKE)

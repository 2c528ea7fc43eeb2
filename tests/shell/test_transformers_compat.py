"""Code written for transformers' LUKE classes runs unchanged (issue 14, part B: models).

Each test is a call a transformers user makes: ``model.eval()``, ``return_dict=False``,
positional arguments in transformers' order, ``from_pretrained`` keywords and config
overrides, ``dtype="auto"``, ``LukeConfig(...)`` with transformers' keys, and
``LukeModel(config)`` / ``from_config`` for a randomly initialised model.
"""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
from helpers import TINY_LUKE

from numpy_luke import (
    LukeConfig,
    LukeForEntityClassification,
    LukeForEntitySpanClassification,
    LukeForMaskedLM,
    LukeModel,
    LukeTokenizer,
)


@pytest.fixture(scope="module")
def tokenizer():
    return LukeTokenizer.from_pretrained(TINY_LUKE)


@pytest.fixture(scope="module")
def mlm():
    return LukeForMaskedLM.from_pretrained(TINY_LUKE)


def encoding(tokenizer, **options):
    text = "Plants create <mask> through photosynthesis."
    start = text.index("photosynthesis")
    return tokenizer(
        text, entity_spans=[(start, start + len("photosynthesis"))], return_tensors="np", **options
    )


def test_eval_returns_the_model(mlm):
    assert mlm.eval() is mlm


def test_return_dict_false_gives_the_tuple(tokenizer, mlm):
    enc = encoding(tokenizer)
    as_object = mlm(**enc, output_hidden_states=True)
    as_tuple = mlm(**enc, output_hidden_states=True, return_dict=False)
    assert isinstance(as_tuple, tuple)
    assert len(as_tuple) == len(as_object.to_tuple())
    for a, b in zip(as_tuple, as_object.to_tuple(), strict=True):
        if isinstance(a, tuple):
            for x, y in zip(a, b, strict=True):
                np.testing.assert_array_equal(x, y)
        else:
            np.testing.assert_array_equal(a, b)


def test_positional_arguments_follow_transformers_order(tokenizer, mlm):
    enc = encoding(tokenizer)
    names = (
        "input_ids",
        "attention_mask",
        "token_type_ids",
        "position_ids",
        "entity_ids",
        "entity_attention_mask",
        "entity_token_type_ids",
        "entity_position_ids",
    )
    labels = np.full(enc["input_ids"].shape, -100)
    labels[0, 3] = 5
    by_name = mlm(**enc, labels=labels)
    by_position = mlm(*[enc.get(n) for n in names], labels)  # labels come 9th for MaskedLM
    np.testing.assert_array_equal(by_position.logits, by_name.logits)
    np.testing.assert_allclose(by_position.loss, by_name.loss)


def test_span_classification_positions_positionally():
    tokenizer = LukeTokenizer.from_pretrained(TINY_LUKE, task="entity_span_classification")
    model = LukeForEntitySpanClassification(
        LukeConfig.from_pretrained(TINY_LUKE, num_labels=3), seed=0
    )
    enc = tokenizer("Plants create sugar.", entity_spans=[(0, 6), (14, 19)], return_tensors="np")
    names = (
        "input_ids",
        "attention_mask",
        "token_type_ids",
        "position_ids",
        "entity_ids",
        "entity_attention_mask",
        "entity_token_type_ids",
        "entity_position_ids",
        "entity_start_positions",
        "entity_end_positions",
    )
    by_position = model(*[enc.get(n) for n in names])
    np.testing.assert_array_equal(by_position.logits, model(**enc).logits)


def test_bad_calls_are_refused(tokenizer, mlm):
    enc = encoding(tokenizer)
    with pytest.raises(TypeError, match="two values"):
        mlm(enc["input_ids"], input_ids=enc["input_ids"])
    with pytest.raises(TypeError, match="positional"):
        mlm(*range(20))
    with pytest.raises(TypeError, match="unexpected input"):
        mlm(**enc, lables=None)
    with pytest.raises(ValueError, match="head_mask"):
        mlm(**enc, head_mask=np.ones((2, 2)))
    with pytest.raises(ValueError, match="inputs_embeds"):
        mlm(inputs_embeds=np.ones((1, 3, 8)))


def test_from_pretrained_keywords_and_config_overrides(tokenizer):
    names = {i: f"type{i}" for i in range(9)}  # the typing fixture has 9 labels
    model = LukeForEntityClassification.from_pretrained(
        pretrained_model_name_or_path=TINY_LUKE.parent / "tiny-luke-typing",
        num_labels=9,
        output_attentions=True,
        id2label=names,
    )
    assert model.config.num_labels == 9 and model.config.id2label[8] == "type8"
    assert model.config.label2id["type2"] == 2
    out = model(
        **tokenizer(
            "Plants create sugar.",
            entity_spans=[(0, 6)],
            task="entity_classification",
            return_tensors="np",
        )
    )
    assert out.logits.shape == (1, 9)
    assert out.attentions is not None  # the override took effect
    with pytest.raises(TypeError, match="num_lables"):
        LukeModel.from_pretrained(TINY_LUKE, num_lables=3)
    # a head the checkpoint does not hold starts random, with a warning, as in transformers
    with pytest.warns(UserWarning, match="classifier.weight"):
        LukeForEntityClassification.from_pretrained(TINY_LUKE, num_labels=3)


def test_config_json_switches_take_effect(tmp_path, tokenizer):
    folder = tmp_path / "model"
    shutil.copytree(TINY_LUKE, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(output_hidden_states=True, return_dict=False)
    (folder / "config.json").write_text(json.dumps(config))
    out = LukeModel.from_pretrained(folder)(**encoding(tokenizer))
    assert isinstance(out, tuple)  # return_dict false in config.json
    layers = LukeConfig.from_pretrained(folder).num_hidden_layers
    assert any(isinstance(x, tuple) and len(x) == layers + 1 for x in out)


def test_dtype_auto_and_torch_dtype(tokenizer):
    assert LukeModel.from_pretrained(TINY_LUKE, dtype="auto").dtype == np.float32
    assert LukeModel.from_pretrained(TINY_LUKE, torch_dtype="float64").dtype == np.float64
    with pytest.raises(ValueError, match="float32 or float64"):
        LukeModel.from_pretrained(TINY_LUKE, dtype=np.float16)


def test_token_and_force_download_reach_the_hub(monkeypatch, tmp_path):
    import huggingface_hub

    seen = []

    def fake_download(repo_id, filename, **options):
        seen.append((filename, options["token"], options["force_download"]))
        path = TINY_LUKE / filename
        if not path.exists():
            from huggingface_hub.errors import EntryNotFoundError

            raise EntryNotFoundError(filename)
        return str(path)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    LukeModel.from_pretrained("someone/tiny-luke", token="hf_x", force_download=True)
    assert ("config.json", "hf_x", True) in seen
    assert ("model.safetensors", "hf_x", True) in seen


def test_luke_config_accepts_transformers_keys():
    config = LukeConfig(
        hidden_size=16,
        num_attention_heads=2,
        output_attentions=True,
        architectures=["LukeForMaskedLM"],
        torch_dtype="float32",
    )
    assert config.output_attentions and config.use_return_dict
    assert config.extra["architectures"] == ["LukeForMaskedLM"]
    again = LukeConfig.from_dict(config.to_dict())
    assert again == config


def test_a_misspelt_config_key_is_kept_with_a_warning():
    with pytest.warns(UserWarning, match="did you mean 'hidden_size'"):
        config = LukeConfig(hiden_size=16)
    assert config.extra["hiden_size"] == 16 and config.hidden_size == 768
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # transformers' own keys and unrelated ones: no warning
        LukeConfig(output_attentions=True, bert_model_name="roberta-base")


def test_random_model_from_config():
    config = LukeConfig(
        vocab_size=30,
        entity_vocab_size=10,
        hidden_size=16,
        entity_emb_size=8,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=40,
        type_vocab_size=1,
    )
    model = LukeForMaskedLM(config, seed=0)
    again = LukeForMaskedLM.from_config(config, seed=0)
    p = model.params
    np.testing.assert_array_equal(
        p["embeddings.word_embeddings.weight"], again.params["embeddings.word_embeddings.weight"]
    )
    assert abs(p["encoder.layer.0.attention.self.query.weight"].std() - 0.02) < 0.005
    assert not p["encoder.layer.0.attention.self.query.bias"].any()
    assert (p["embeddings.LayerNorm.weight"] == 1).all()
    assert not p["embeddings.word_embeddings.weight"][config.pad_token_id].any()
    assert not p["entity_embeddings.entity_embeddings.weight"][0].any()
    # both decoders are the embedding tables themselves (tied)
    assert p["lm_head.decoder.weight"] is p["embeddings.word_embeddings.weight"]
    assert p["entity_predictions.decoder.weight"] is p["entity_embeddings.entity_embeddings.weight"]
    out = model(
        input_ids=np.array([[0, 5, 6, 2]]),
        entity_ids=np.array([[3]]),
        entity_position_ids=np.array([[[1, 2]]]),
    )
    assert out.logits.shape == (1, 4, 30) and out.entity_logits.shape == (1, 1, 10)
    assert np.isfinite(out.logits).all()
    with pytest.raises(TypeError, match="LukeConfig"):
        LukeModel({"hidden_size": 16})


def test_dtype_auto_without_a_config_dtype_follows_the_weights(tmp_path, tokenizer):
    """Issue 18: a float64 checkpoint whose config names no dtype computed in float32 under
    dtype="auto"; transformers falls back to the weights' dtype (its first float tensor)."""
    from safetensors.numpy import save_file

    from numpy_luke.weights import load_state_dict

    state = load_state_dict([TINY_LUKE / "model.safetensors"], dtype=np.float64)
    folder = tmp_path / "f64"
    folder.mkdir()
    save_file(
        {k: np.ascontiguousarray(v) for k, v in state.items()}, str(folder / "model.safetensors")
    )
    config = json.loads((TINY_LUKE / "config.json").read_text())
    config.pop("dtype", None)
    config.pop("torch_dtype", None)
    (folder / "config.json").write_text(json.dumps(config))
    auto = LukeModel.from_pretrained(folder, dtype="auto")
    assert auto.dtype == np.float64
    assert LukeModel.from_pretrained(folder, torch_dtype="auto").dtype == np.float64
    np.testing.assert_array_equal(
        auto(**encoding(tokenizer)).last_hidden_state,
        LukeModel.from_pretrained(folder, dtype=np.float64)(
            **encoding(tokenizer)
        ).last_hidden_state,
    )
    # a config that names a dtype wins over the weights, as in transformers
    (folder / "config.json").write_text(json.dumps({**config, "dtype": "float32"}))
    assert LukeModel.from_pretrained(folder, dtype="auto").dtype == np.float32


def test_positional_arguments_follow_transformers_457(tokenizer):
    """docs/python-api.md: after the eight input arrays comes head_mask (4.57's forward; 5.x
    removed it), so model(*inputs, None, None, True) means output_attentions=True."""
    enc = encoding(tokenizer)
    names = (
        "input_ids",
        "attention_mask",
        "token_type_ids",
        "position_ids",
        "entity_ids",
        "entity_attention_mask",
        "entity_token_type_ids",
        "entity_position_ids",
    )
    args = [enc.get(name) for name in names]
    model = LukeModel.from_pretrained(TINY_LUKE)
    out = model(*args, None, None, True)
    assert out.attentions is not None and out.hidden_states is None
    with pytest.raises(ValueError, match="inputs_embeds is not implemented"):
        model(*args, None, True)  # a 5.x-style output_attentions lands on inputs_embeds

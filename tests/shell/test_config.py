"""LukeConfig: defaults, reading config.json, round trips, and clear errors."""

from __future__ import annotations

import json

import pytest
from helpers import GOLDENS, TINY_LUKE

from numpy_luke import ConfigError, LukeConfig


def test_defaults_are_luke_base():
    c = LukeConfig()
    assert (c.vocab_size, c.entity_vocab_size, c.hidden_size, c.entity_emb_size) == (
        50267,
        500000,
        768,
        256,
    )
    assert (c.num_hidden_layers, c.num_attention_heads, c.intermediate_size) == (12, 12, 3072)
    assert (c.hidden_act, c.type_vocab_size, c.layer_norm_eps) == ("gelu", 2, 1e-12)
    assert (c.pad_token_id, c.bos_token_id, c.eos_token_id) == (1, 0, 2)
    assert c.use_entity_aware_attention is True and c.tie_word_embeddings is True
    assert c.max_position_embeddings == 512  # transformers' default (luke-base's file: 514)
    assert c.num_labels == 2 and c.id2label == {0: "LABEL_0", 1: "LABEL_1"}
    assert c.head_size == 64


def test_defaults_are_transformers_defaults():
    """Issue 18: max_position_embeddings defaulted to 514 where transformers' is 512, so a
    config.json without the key meant two different models. Every field's default must be
    transformers 4.57's."""
    transformers = pytest.importorskip("transformers")
    theirs, ours = transformers.LukeConfig(), LukeConfig()
    for name, value in ours.to_dict().items():
        if name in ("extra", "id2label", "label2id") or not hasattr(theirs, name):
            continue
        assert getattr(theirs, name) == value, name
    assert theirs.num_labels == ours.num_labels


def test_reads_the_tiny_fixture_config():
    c = LukeConfig.from_pretrained(TINY_LUKE)
    raw = json.loads((TINY_LUKE / "config.json").read_text())
    assert c.vocab_size == raw["vocab_size"] == 419
    assert c.entity_vocab_size == 33 and c.entity_emb_size == 16
    assert c.extra["architectures"] == ["LukeForMaskedLM"]  # unknown keys are kept


def test_id2label_keys_become_ints_and_label2id_follows():
    c = LukeConfig.from_dict({"id2label": {"0": "O", "1": "PER", "2": "LOC"}})
    assert c.id2label == {0: "O", 1: "PER", 2: "LOC"}
    assert c.label2id == {"O": 0, "PER": 1, "LOC": 2}
    assert c.num_labels == 3
    assert LukeConfig(num_labels=4).id2label[3] == "LABEL_3"


def test_round_trip_through_json(tmp_path):
    c = LukeConfig.from_dict(
        {
            "hidden_size": 64,
            "num_attention_heads": 8,
            "id2label": {"0": "a", "1": "b"},
            "custom_key": [1, 2],
            "problem_type": "multi_label_classification",
        }
    )
    c.save_pretrained(tmp_path)
    raw = json.loads((tmp_path / "config.json").read_text())
    assert raw["custom_key"] == [1, 2] and raw["id2label"] == {"0": "a", "1": "b"}
    back = LukeConfig.from_pretrained(tmp_path)
    assert back == c


def test_transformers_config_files_load():
    for path in (GOLDENS / "model").glob("*/config.json"):
        c = LukeConfig.from_json_file(path)
        assert c.hidden_size == 32
        assert "transformers_version" in c.extra


@pytest.mark.parametrize(
    "values, key",
    [
        ({"hidden_size": 30, "num_attention_heads": 4}, "hidden_size"),
        ({"num_hidden_layers": 0}, "num_hidden_layers"),
        ({"vocab_size": -5}, "vocab_size"),
        ({"vocab_size": "50267"}, "vocab_size"),
        ({"hidden_size": 768.0}, "hidden_size"),
        ({"num_attention_heads": True}, "num_attention_heads"),
        ({"layer_norm_eps": 0}, "layer_norm_eps"),
        ({"use_entity_aware_attention": "yes"}, "use_entity_aware_attention"),
        ({"hidden_act": "mystery"}, "hidden_act"),
        ({"problem_type": "ranking"}, "problem_type"),
        ({"id2label": {"zero": "a"}}, "id2label"),
        ({"num_labels": 3, "id2label": {"0": "a"}}, "num_labels"),
        ({"pad_token_id": "1"}, "pad_token_id"),
    ],
)
def test_impossible_values_raise_config_error_naming_the_key(values, key):
    with pytest.raises(ConfigError, match=key):
        LukeConfig.from_dict(values)


def test_config_error_is_a_value_error():
    with pytest.raises(ValueError):
        LukeConfig(hidden_size=10, num_attention_heads=3)


def test_broken_json_file(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="config.json"):
        LukeConfig.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="JSON object"):
        LukeConfig.from_pretrained(tmp_path)


def test_every_accepted_activation_has_a_function():
    from numpy_luke.config import KNOWN_ACTIVATIONS
    from numpy_luke.core.functional import ACTIVATIONS

    assert set(KNOWN_ACTIVATIONS) == set(ACTIVATIONS)


# ---------------------------------------------------------------------------- pad_token_id
# (issue 14, item 7) RoBERTa and LUKE number word positions from pad_token_id + 1.


def test_pad_token_id_null_is_refused_by_name():
    """It used to load and fail at the first call with a raw TypeError."""
    with pytest.raises(ConfigError, match="'pad_token_id' is null.*pad_token_id \\+ 1"):
        LukeConfig(pad_token_id=None)


@pytest.mark.parametrize("pad", [513, 514, 1000])
def test_pad_token_id_beyond_the_position_table_is_refused(pad):
    """It used to load and then say the model reads "at most -487" tokens."""
    with pytest.raises(ConfigError, match=f"'pad_token_id' is {pad}.*below 513"):
        LukeConfig(pad_token_id=pad, max_position_embeddings=514)


def test_pad_token_id_just_inside_the_table_loads():
    assert LukeConfig(pad_token_id=512, max_position_embeddings=514).pad_token_id == 512


def test_pad_token_id_null_in_config_json_names_the_file(tmp_path):
    raw = json.loads((TINY_LUKE / "config.json").read_text())
    raw["pad_token_id"] = None
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match="config.json.*'pad_token_id' is null"):
        LukeConfig.from_json_file(path)


# ------------------------------------------------- ids of a tokenizer against the model


def test_check_entity_ids_fit_names_a_special_entity_beyond_the_table():
    """A [MASK2] beyond the entity embedding table ended in `internal error (IndexError)`
    in the fill pipeline; a pipeline pairing tokenizer and model calls this first."""
    from numpy_luke import LukeTokenizer
    from numpy_luke.config import check_entity_ids_fit

    tokenizer = LukeTokenizer.from_pretrained(TINY_LUKE)
    config = LukeConfig.from_pretrained(TINY_LUKE)
    ids = {"[MASK]": tokenizer.entity_mask_token_id, "[MASK2]": tokenizer.entity_mask2_token_id}
    check_entity_ids_fit(config, ids)  # the fixture's tokenizer and model belong together
    small = LukeConfig.from_dict({**config.to_dict(), "entity_vocab_size": ids["[MASK2]"]})
    with pytest.raises(ConfigError) as error:
        check_entity_ids_fit(small, ids)
    message = str(error.value)
    assert "'[MASK2]'" in message and f"id {ids['[MASK2]']}" in message
    assert "'entity_vocab_size'" in message


@pytest.mark.parametrize("value", [-1, 33, 2**63, None, 1.0, True])
def test_check_entity_ids_fit_refuses_every_id_outside_the_table(value):
    from numpy_luke.config import check_entity_ids_fit

    config = LukeConfig(entity_vocab_size=33)
    with pytest.raises(ConfigError, match="'\\[MASK\\]'"):
        check_entity_ids_fit(config, {"[PAD]": 0, "[MASK]": value})


def test_check_token_ids_fit_and_numpy_ids():
    import numpy as np

    from numpy_luke.config import check_entity_ids_fit, check_token_ids_fit

    config = LukeConfig(vocab_size=419, entity_vocab_size=33)
    check_token_ids_fit(config, {"<mask>": np.int64(418), "<pad>": 1})
    check_entity_ids_fit(config, {"[MASK2]": np.int32(32)})
    with pytest.raises(ConfigError, match="'<mask>'.*'vocab_size' is 419"):
        check_token_ids_fit(config, {"<mask>": 419})

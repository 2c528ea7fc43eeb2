"""The luke-base stand-in (benchmarks/make_lukebase_standin.py) has the properties that
transformers' conversion gives the published studio-ousia/luke-base (issue 11): its layout,
sizes and configuration, the copied queries, [MASK2] and <ent>/<ent2> embeddings, tied
decoders, the real RoBERTa BPE files and a 500,000-entity vocabulary.

Slow (the file is 1.1 GB; built once into benchmarks/_work/, about 10 s):
``pytest -m slow tests/oracle/test_lukebase_standin.py``. Needs NUMPY_LUKE_TEST_DATA; no torch.
"""

from __future__ import annotations

import importlib.util
import json
import re

import numpy as np
import pytest
from helpers import ROOT, lukebase_standin_dir

from numpy_luke import LukeForMaskedLM, LukeModel, LukeTokenizer
from numpy_luke.weights import load_safetensors

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def standin():
    folder = lukebase_standin_dir()
    if folder is None:
        pytest.skip("the stand-in links RoBERTa's real BPE files: set NUMPY_LUKE_TEST_DATA")
    return folder


@pytest.fixture(scope="module")
def stored(standin):
    return load_safetensors(standin / "model.safetensors")


def test_config_is_luke_base(standin):
    config = json.loads((standin / "config.json").read_text())
    assert config["architectures"] == ["LukeForMaskedLM"]
    expected = {
        "vocab_size": 50267,
        "entity_vocab_size": 500_000,
        "hidden_size": 768,
        "entity_emb_size": 256,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "max_position_embeddings": 514,
        "type_vocab_size": 1,
        "layer_norm_eps": 1e-5,
        "use_entity_aware_attention": True,
    }
    assert {key: config[key] for key in expected} == expected


def test_keys_are_the_masked_lm_layout_with_tied_decoders_left_out(stored):
    prefixes = {key.split(".", 1)[0] for key in stored}
    assert prefixes == {"luke", "lm_head", "entity_predictions"}
    layers = {int(m.group(1)) for key in stored if (m := re.search(r"layer\.(\d+)\.", key))}
    assert layers == set(range(12))
    for tied in (
        "lm_head.decoder.weight",
        "lm_head.decoder.bias",
        "entity_predictions.decoder.weight",
    ):
        assert tied not in stored
    assert stored["luke.embeddings.word_embeddings.weight"].shape == (50267, 768)
    assert stored["luke.entity_embeddings.entity_embeddings.weight"].shape == (500_000, 256)
    assert stored["luke.embeddings.token_type_embeddings.weight"].shape == (1, 768)


def test_entity_queries_are_copies_of_query_in_every_layer(stored):
    for layer in range(12):
        p = f"luke.encoder.layer.{layer}.attention.self."
        for name in ("w2e_query", "e2w_query", "e2e_query"):
            for part in ("weight", "bias"):
                assert np.array_equal(stored[f"{p}{name}.{part}"], stored[f"{p}query.{part}"])
        # ... and not a degenerate copy of key or value.
        assert not np.array_equal(stored[p + "query.weight"], stored[p + "key.weight"])


def test_entity_vocabulary_and_the_mask2_embedding(standin, stored):
    vocab = json.loads((standin / "entity_vocab.json").read_text(encoding="utf-8"))
    assert len(vocab) == 500_000 and sorted(vocab.values()) == list(range(500_000))
    assert (vocab["[PAD]"], vocab["[UNK]"], vocab["[MASK]"], vocab["[MASK2]"]) == (0, 1, 2, 499_999)
    assert "Lionel Messi" in vocab
    entities = stored["luke.entity_embeddings.entity_embeddings.weight"]
    assert np.array_equal(entities[vocab["[MASK2]"]], entities[vocab["[MASK]"]])
    assert not np.array_equal(entities[vocab["[MASK]"]], entities[vocab["[UNK]"]])


def test_ent_markers_copy_at_and_hash(standin, stored):
    words = json.loads((standin / "vocab.json").read_text(encoding="utf-8"))
    assert len(words) == 50265  # RoBERTa's real vocabulary
    added = json.loads((standin / "added_tokens.json").read_text())
    assert added == {"<ent>": 50265, "<ent2>": 50266}
    table = stored["luke.embeddings.word_embeddings.weight"]
    assert np.array_equal(table[50265], table[words["@"]])
    assert np.array_equal(table[50266], table[words["#"]])


def test_loads_with_both_decoders_tied(standin):
    mlm = LukeForMaskedLM.from_pretrained(standin)
    p = mlm.params
    assert np.array_equal(p["lm_head.decoder.weight"], p["embeddings.word_embeddings.weight"])
    assert np.array_equal(
        p["entity_predictions.decoder.weight"], p["entity_embeddings.entity_embeddings.weight"]
    )
    assert mlm.config.layer_norm_eps == 1e-5 and mlm.config.type_vocab_size == 1


def test_tokenizer_uses_the_real_vocabulary(standin):
    tokenizer = LukeTokenizer.from_pretrained(standin)
    encoding = tokenizer("Lionel Messi plays.", entity_spans=[(0, 12)], entities=["Lionel Messi"])
    tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"])
    assert tokens[1:5] == ["L", "ion", "el", "ĠMessi"]  # four tokens for "Lionel Messi"
    assert encoding["entity_ids"] == [tokenizer.entity_vocab["Lionel Messi"]]


def test_fine_tuned_variant_moves_only_the_three_queries(standin):
    spec = importlib.util.spec_from_file_location(
        "make_lukebase_standin", ROOT / "benchmarks" / "make_lukebase_standin.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = LukeModel.from_pretrained(standin)
    tuned = module.fine_tuned_queries(model.params)
    changed = {key for key in model.params if tuned[key] is not model.params[key]}
    assert changed == {
        f"encoder.layer.{layer}.attention.self.{name}.{part}"
        for layer in range(12)
        for name in ("w2e_query", "e2w_query", "e2e_query")
        for part in ("weight", "bias")
    }
    for key in changed:
        assert not np.array_equal(tuned[key], model.params[key])
        assert tuned[key].dtype == model.params[key].dtype

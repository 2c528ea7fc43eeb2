"""Properties of the model that need no oracle, and the checkpoint key handling.

Padding and batching must not change results; equal query matrices reduce entity-aware
attention to plain attention; float64 and float32 agree; checkpoints with or without the
``luke.`` prefix, with or without tied copies, with or without entity-aware queries load,
and broken ones fail with errors naming the tensor.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import GOLDENS, TINY_LUKE
from hypothesis import given, settings
from hypothesis import strategies as st

import numpy_luke
from numpy_luke import CheckpointError, LukeConfig, LukeForMaskedLM, LukeModel
from numpy_luke.core.attention import entity_aware_self_attention, extended_attention_mask
from numpy_luke.core.embeddings import create_position_ids_from_input_ids
from numpy_luke.core.heads import binary_cross_entropy_with_logits, cross_entropy
from numpy_luke.input_checks import check_class_labels
from numpy_luke.weights import load_state_dict

MLM = GOLDENS / "model" / "masked_lm"  # entity-aware, entity_emb_size 16 != hidden 32
ATOL = 2e-5


@pytest.fixture(scope="module")
def mlm_state():
    return load_state_dict([MLM / "model.safetensors"])


@pytest.fixture(scope="module")
def mlm_config():
    return LukeConfig.from_pretrained(MLM)


@pytest.fixture(scope="module")
def mlm(mlm_state, mlm_config):
    return LukeForMaskedLM.from_state_dict(mlm_state, mlm_config)


def random_example(rng, words, entities, vocab=64, entity_vocab=16, mention=3):
    """One unpadded example: (input_ids (words,), entity ids, entity positions)."""
    ids = rng.integers(3, vocab, size=words)
    ids[0], ids[-1] = 0, 2
    entity_ids = rng.integers(1, entity_vocab, size=entities)
    positions = np.full((entities, mention), -1)
    for e in range(entities):
        start = int(rng.integers(1, words))
        length = int(rng.integers(1, mention + 1))
        span = np.arange(start, min(start + length, words))
        positions[e, : len(span)] = span
    return ids, entity_ids, positions


def pad_batch(examples, words=None, entities=None, mention=3):
    """Right-pad examples into one batch as the tokenizer does."""
    words = words or max(len(e[0]) for e in examples)
    entities = entities or max(len(e[1]) for e in examples)
    batch = len(examples)
    out = {
        "input_ids": np.ones((batch, words), dtype=np.int64),
        "attention_mask": np.zeros((batch, words), dtype=np.int64),
        "entity_ids": np.zeros((batch, entities), dtype=np.int64),
        "entity_attention_mask": np.zeros((batch, entities), dtype=np.int64),
        "entity_position_ids": np.full((batch, entities, mention), -1, dtype=np.int64),
    }
    for row, (ids, entity_ids, positions) in enumerate(examples):
        out["input_ids"][row, : len(ids)] = ids
        out["attention_mask"][row, : len(ids)] = 1
        out["entity_ids"][row, : len(entity_ids)] = entity_ids
        out["entity_attention_mask"][row, : len(entity_ids)] = 1
        out["entity_position_ids"][row, : len(entity_ids)] = positions
    return out


# ------------------------------------------------------------------ padding and batching


@settings(max_examples=15, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(3, 9),
    st.integers(1, 3),
    st.integers(1, 5),
    st.integers(1, 3),
)
def test_padding_words_and_entities_changes_nothing(
    mlm, seed, words, entities, extra_words, extra_entities
):
    example = random_example(np.random.default_rng(seed), words, entities)
    alone = mlm(**pad_batch([example]))
    padded = mlm(**pad_batch([example], words + extra_words, entities + extra_entities))
    np.testing.assert_allclose(padded.logits[:, :words], alone.logits, atol=ATOL)
    np.testing.assert_allclose(padded.entity_logits[:, :entities], alone.entity_logits, atol=ATOL)


@settings(max_examples=10, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.lists(st.tuples(st.integers(3, 9), st.integers(1, 3)), min_size=2, max_size=4),
)
def test_a_batch_equals_its_rows_run_alone(mlm, seed, shapes):
    rng = np.random.default_rng(seed)
    examples = [random_example(rng, w, e) for w, e in shapes]
    batch = mlm(**pad_batch(examples))
    for row, example in enumerate(examples):
        alone = mlm(**pad_batch([example]))
        words, entities = len(example[0]), len(example[1])
        np.testing.assert_allclose(batch.logits[row, :words], alone.logits[0], atol=ATOL)
        np.testing.assert_allclose(
            batch.entity_logits[row, :entities], alone.entity_logits[0], atol=ATOL
        )


def test_position_ids_skip_padding():
    ids = np.array([[0, 5, 6, 2, 1, 1], [0, 1, 7, 2, 1, 1]])
    np.testing.assert_array_equal(
        create_position_ids_from_input_ids(ids, 1), [[2, 3, 4, 5, 1, 1], [2, 1, 3, 4, 1, 1]]
    )


# ------------------------------------------------------------------ entity-aware attention


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 3),
    st.integers(1, 6),
    st.integers(0, 4),
    st.sampled_from([(8, 2), (12, 3), (16, 4)]),
)
def test_equal_queries_make_entity_aware_attention_plain(seed, batch, words, entities, dims):
    hidden, heads = dims
    rng = np.random.default_rng(seed)
    query_w, query_b = rng.normal(size=(hidden, hidden)), rng.normal(size=hidden)
    params = {"query.weight": query_w, "query.bias": query_b}
    for name in ("key", "value"):
        params[f"{name}.weight"] = rng.normal(size=(hidden, hidden))
        params[f"{name}.bias"] = rng.normal(size=hidden)
    for name in ("w2e_query", "e2w_query", "e2e_query"):
        params[f"{name}.weight"], params[f"{name}.bias"] = query_w, query_b
    word_states = rng.normal(size=(batch, words, hidden))
    entity_states = rng.normal(size=(batch, entities, hidden))
    mask = extended_attention_mask(
        rng.integers(0, 2, (batch, words)) | (np.arange(words) == 0),
        np.ones((batch, entities)),
        np.float64,
    )
    aware = entity_aware_self_attention(
        params, word_states, entity_states, mask, num_heads=heads, use_entity_aware_attention=True
    )
    plain = entity_aware_self_attention(
        params, word_states, entity_states, mask, num_heads=heads, use_entity_aware_attention=False
    )
    for a, b in zip(aware, plain, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-10)
    assert aware[2].shape == (batch, heads, words + entities, words + entities)
    np.testing.assert_allclose(aware[2].sum(-1), 1.0)


def test_equal_queries_make_the_whole_model_plain(mlm_state, mlm_config):
    state = dict(mlm_state)
    for key in list(state):
        if key.endswith(("w2e_query.weight", "w2e_query.bias")):
            for name in ("w2e_query", "e2w_query", "e2e_query"):
                state[key.replace("w2e_query", name)] = state[key.replace("w2e_query", "query")]
    aware = LukeForMaskedLM.from_state_dict(state, mlm_config)
    plain_config = LukeConfig.from_dict(
        {**mlm_config.to_dict(), "use_entity_aware_attention": False}
    )
    plain_state = {k: v for k, v in state.items() if "2e_query" not in k and "e2w" not in k}
    plain = LukeForMaskedLM.from_state_dict(plain_state, plain_config)
    inputs = pad_batch([random_example(np.random.default_rng(3), 8, 2)])
    np.testing.assert_allclose(aware(**inputs).logits, plain(**inputs).logits, atol=ATOL)
    # ... and the real (different) queries do change the result
    original = LukeForMaskedLM.from_state_dict(mlm_state, mlm_config)
    assert np.abs(original(**inputs).logits - plain(**inputs).logits).max() > 1e-3


def test_attention_is_zero_on_padded_keys(mlm):
    inputs = pad_batch([random_example(np.random.default_rng(0), 5, 1)], words=8, entities=3)
    att = mlm(**inputs, output_attentions=True).attentions
    for layer in att:
        assert layer.shape == (1, 4, 11, 11)
        keys_mask = np.concatenate([inputs["attention_mask"], inputs["entity_attention_mask"]], 1)
        assert np.all(layer[..., keys_mask[0] == 0] == 0)


# ------------------------------------------------------------------ precision


def test_float64_and_float32_agree_to_float32_precision(mlm_state, mlm_config):
    inputs = pad_batch([random_example(np.random.default_rng(s), 9 - s, 2) for s in range(3)])
    single = LukeForMaskedLM.from_state_dict(mlm_state, mlm_config, dtype=np.float32)
    double = LukeForMaskedLM.from_state_dict(mlm_state, mlm_config, dtype=np.float64)
    a = single(**inputs, output_hidden_states=True)
    b = double(**inputs, output_hidden_states=True)
    assert a.logits.dtype == np.float32 and b.logits.dtype == np.float64
    assert b.hidden_states[-1].dtype == np.float64
    for x, y in zip(
        a.hidden_states + a.entity_hidden_states,
        b.hidden_states + b.entity_hidden_states,
        strict=True,
    ):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(a.logits, b.logits, rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------ key handling


def outputs_of(model, seed=1):
    return model(**pad_batch([random_example(np.random.default_rng(seed), 7, 2)]))


def test_keys_with_and_without_the_luke_prefix(mlm_state, mlm_config, mlm):
    assert any(k.startswith("luke.") for k in mlm_state)
    stripped = {k.removeprefix("luke."): v for k, v in mlm_state.items()}
    model = LukeForMaskedLM.from_state_dict(stripped, mlm_config)
    np.testing.assert_array_equal(outputs_of(model).logits, outputs_of(mlm).logits)
    base = LukeModel.from_state_dict(stripped, mlm_config)  # head tensors are ignored
    np.testing.assert_array_equal(
        outputs_of(base).last_hidden_state,
        mlm(
            **pad_batch([random_example(np.random.default_rng(1), 7, 2)]), output_hidden_states=True
        ).hidden_states[-1],
    )


def test_both_prefixed_and_bare_copies_of_a_key_is_an_error(mlm_state, mlm_config):
    state = dict(mlm_state)
    state["embeddings.LayerNorm.bias"] = state["luke.embeddings.LayerNorm.bias"]
    with pytest.raises(CheckpointError, match="embeddings.LayerNorm.bias appears twice"):
        LukeForMaskedLM.from_state_dict(state, mlm_config)


def test_decoders_are_tied_to_the_embedding_tables(mlm_state, mlm_config, mlm):
    assert "lm_head.decoder.weight" not in mlm_state  # safetensors leaves tied copies out
    assert "entity_predictions.decoder.weight" not in mlm_state
    p = mlm.params
    assert p["lm_head.decoder.weight"] is p["embeddings.word_embeddings.weight"]
    assert p["entity_predictions.decoder.weight"] is p["entity_embeddings.entity_embeddings.weight"]
    state = dict(mlm_state)  # a .bin file stores the copies; they load the same
    state["lm_head.decoder.weight"] = state["luke.embeddings.word_embeddings.weight"].copy()
    state["lm_head.decoder.bias"] = state.pop("lm_head.bias")
    model = LukeForMaskedLM.from_state_dict(state, mlm_config)
    np.testing.assert_array_equal(outputs_of(model).logits, outputs_of(mlm).logits)


def test_untied_word_decoder_must_be_present(mlm_state, mlm_config):
    config = LukeConfig.from_dict({**mlm_config.to_dict(), "tie_word_embeddings": False})
    with pytest.raises(CheckpointError, match=r"lm_head.decoder.weight \(64, 32\)"):
        LukeForMaskedLM.from_state_dict(mlm_state, config)


def test_absent_entity_queries_start_as_copies_of_query_with_one_warning(mlm_state, mlm_config):
    state = {
        k: v
        for k, v in mlm_state.items()
        if not any(q in k for q in ("w2e_query", "e2w_query", "e2e_query"))
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = LukeForMaskedLM.from_state_dict(state, mlm_config)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "copies of `query`" in messages[0]
    assert "in 2 layer(s)" in messages[0]
    p = model.params
    for layer in range(2):
        prefix = f"encoder.layer.{layer}.attention.self."
        for name in ("w2e_query", "e2w_query", "e2e_query"):
            np.testing.assert_array_equal(p[prefix + name + ".weight"], p[prefix + "query.weight"])


def test_missing_tensor_is_named_with_its_shape(mlm_state, mlm_config):
    state = dict(mlm_state)
    del state["luke.encoder.layer.1.intermediate.dense.weight"]
    with pytest.raises(
        CheckpointError,
        match=r"missing tensors:\n  encoder.layer.1.intermediate.dense.weight "
        r"\(64, 32\)",
    ):
        LukeForMaskedLM.from_state_dict(state, mlm_config)


def test_unexpected_tensor_is_named(mlm_state, mlm_config):
    state = dict(mlm_state)
    state["luke.encoder.layer.0.attention.self.mystery.weight"] = np.zeros((2, 2), np.float32)
    with pytest.raises(
        CheckpointError,
        match=r"unexpected tensors:\n  luke.encoder.layer.0."
        r"attention.self.mystery.weight \(2, 2\)",
    ):
        LukeForMaskedLM.from_state_dict(state, mlm_config)


def test_shape_mismatch_names_both_shapes(mlm_state, mlm_config):
    config = LukeConfig.from_dict({**mlm_config.to_dict(), "entity_vocab_size": 20})
    with pytest.raises(CheckpointError) as info:
        LukeForMaskedLM.from_state_dict(mlm_state, config)
    message = str(info.value)
    assert (
        "entity_embeddings.entity_embeddings.weight: expected (20, 16), found (16, 16)" in message
    )
    assert "entity_predictions.bias: expected (20,), found (16,)" in message


def test_harmless_extras_are_ignored(mlm_state, mlm_config, mlm):
    state = dict(mlm_state)
    state["luke.embeddings.position_ids"] = np.arange(40)[None]
    state["classifier.weight"] = np.zeros((3, 32), np.float32)  # another head's tensor
    model = LukeForMaskedLM.from_state_dict(state, mlm_config)
    np.testing.assert_array_equal(outputs_of(model).logits, outputs_of(mlm).logits)


def test_a_head_model_without_its_head_starts_random_with_a_warning(mlm_config):
    """As transformers (issue 20); more in test_save_pretrained.py."""
    with pytest.warns(UserWarning, match=r"classifier.weight, classifier.bias"):
        numpy_luke.LukeForEntityClassification.from_pretrained(MLM)


def test_a_head_held_in_part_is_an_error(mlm_state, mlm_config):
    state = {k: v for k, v in mlm_state.items() if k != "lm_head.dense.weight"}
    with pytest.raises(CheckpointError, match=r"missing tensors:\n  lm_head.dense.weight"):
        LukeForMaskedLM.from_state_dict(state, mlm_config)


def test_token_classification_ignores_an_unused_pooler():
    folder = GOLDENS / "model" / "sequence_classification"  # has a pooler
    state = load_state_dict([folder / "model.safetensors"])
    config = LukeConfig.from_pretrained(folder)
    model = numpy_luke.LukeForTokenClassification.from_state_dict(state, config)
    assert "pooler.dense.weight" not in model.params


def test_dtype_conversion_and_no_copy(mlm_state, mlm_config):
    model = LukeForMaskedLM.from_state_dict(mlm_state, mlm_config, dtype=np.float32)
    key = "embeddings.word_embeddings.weight"
    assert model.params[key] is mlm_state["luke." + key]  # float32 in, float32 out: no copy
    half = {k: v.astype(np.float16) for k, v in mlm_state.items()}
    model = LukeForMaskedLM.from_state_dict(half, mlm_config, dtype=np.float64)
    assert model.params[key].dtype == np.float64


# ------------------------------------------------------------------ calling convention


def test_call_accepts_tokenizer_output_lists_and_unbatched(mlm):
    example = random_example(np.random.default_rng(2), 6, 2)
    batched = pad_batch([example])
    as_lists = {k: v.tolist() for k, v in batched.items()}
    unbatched = {k: v[0].tolist() for k, v in batched.items()}
    want = mlm(**batched).logits
    np.testing.assert_array_equal(mlm(**as_lists).logits, want)
    np.testing.assert_array_equal(mlm(**unbatched).logits, want)


def test_outputs_read_by_attribute_key_and_position(mlm):
    out = outputs_of(mlm)
    assert out.keys() == ["logits", "entity_logits"]  # None fields are skipped
    assert out["logits"] is out.logits and out[0] is out.logits and out[1] is out.entity_logits
    assert "loss" not in out and out.loss is None
    with pytest.raises(KeyError):
        out["loss"]
    assert dict(out.items()).keys() == {"logits", "entity_logits"}


def test_words_only_input(mlm):
    ids = np.array([[0, 5, 6, 7, 2]])
    out = mlm(input_ids=ids, output_hidden_states=True)
    assert out.entity_logits is None and out.logits.shape == (1, 5, 64)
    assert len(out.hidden_states) == 3


@pytest.mark.parametrize(
    "change, error, match",
    [
        ({"input_ids": [[0, 99, 2]]}, ValueError, "input_ids holds values in"),
        ({"entity_position_ids": None}, ValueError, "entity_position_ids is required"),
        ({"entity_ids": [[40]]}, ValueError, "entity_ids holds values"),
        ({"attention_mask": [[1, 1]]}, ValueError, "attention_mask has shape"),
        ({"token_type_ids": [[0, 0, 5]]}, ValueError, "token_type_ids holds values"),
        ({"entity_start_positions": [[1]]}, TypeError, "unexpected input"),
    ],
)
def test_bad_inputs_raise_clear_errors(mlm, change, error, match):
    inputs = {
        "input_ids": [[0, 5, 2]],
        "entity_ids": [[3]],
        "entity_position_ids": [[[1, -1]]],
        **change,
    }
    with pytest.raises(error, match=match):
        mlm(**inputs)


# ------------------------------------------------------------------ losses


def test_cross_entropy_ignores_minus_100_and_matches_the_definition():
    logits = np.array([[2.0, 0.5, -1.0], [0.0, 0.0, 0.0], [1.0, 3.0, 0.0]])
    labels = np.array([0, -100, 1])
    rows = [np.log(np.exp(logits[i]).sum()) - logits[i, labels[i]] for i in (0, 2)]
    np.testing.assert_allclose(cross_entropy(logits, labels), np.mean(rows))
    assert np.isnan(cross_entropy(logits, np.full(3, -100)))
    # the range rule is checked once, at the boundary (checks.py), before the core loss runs
    with pytest.raises(ValueError, match="labels must lie in"):
        check_class_labels(np.array([0, 3, 1]), classes=3)


def test_binary_cross_entropy_is_stable():
    logits = np.array([1000.0, -1000.0, 0.0])
    targets = np.array([1.0, 0.0, 1.0])
    np.testing.assert_allclose(binary_cross_entropy_with_logits(logits, targets), np.log(2) / 3)


def test_masked_lm_loss_is_the_sum_of_both_losses(mlm):
    inputs = pad_batch([random_example(np.random.default_rng(4), 6, 2)])
    labels = np.full((1, 6), -100)
    labels[0, 2] = 7
    out = mlm(**inputs, labels=labels, entity_labels=np.array([[3, -100]]))
    np.testing.assert_allclose(out.loss, out.mlm_loss + out.mep_loss, rtol=1e-6)
    np.testing.assert_allclose(
        out.mlm_loss,
        -np.log(np.exp(out.logits[0, 2]).sum() ** -1 * np.exp(out.logits[0, 2, 7])),
        rtol=1e-5,
    )


def test_tiny_fixture_model_loads_and_fits_its_tokenizer():
    model = LukeForMaskedLM.from_pretrained(TINY_LUKE)
    assert model.config.vocab_size == 419 and model.config.entity_vocab_size == 33
    tokenizer = numpy_luke.LukeTokenizer.from_pretrained(TINY_LUKE)
    encoding = tokenizer("Lionel Messi plays.", entity_spans=[(0, 12)], return_tensors="np")
    out = model(**encoding)
    assert out.logits.shape == (1, encoding["input_ids"].shape[1], 419)
    assert out.entity_logits.shape == (1, 1, 33)


def test_empty_entity_lists_mean_no_entities(mlm):
    ids = [0, 5, 6, 7, 2]
    out = mlm(input_ids=ids, entity_ids=[], entity_position_ids=[], entity_attention_mask=[])
    assert out.entity_logits.shape == (1, 0, 16)
    np.testing.assert_allclose(out.logits, mlm(input_ids=[ids]).logits, atol=1e-6)


def test_span_head_takes_the_tokenizer_output_with_its_extra_keys():
    folder = TINY_LUKE.parent / "tiny-luke-ner"
    tokenizer = numpy_luke.LukeTokenizer.from_pretrained(folder)
    model = numpy_luke.LukeForEntitySpanClassification.from_pretrained(folder)
    text = "Lionel Messi plays for Inter Miami CF."
    spans = [(0, 6), (0, 12), (23, 37)]
    encoding = tokenizer(
        [text, "Hi there"], entity_spans=[spans, [(0, 2)]], padding=True, return_tensors="np"
    )
    assert "entity_start_positions" in encoding
    batch = model(**encoding)
    alone = model(**tokenizer(text, entity_spans=spans))  # lists, one example
    assert batch.logits.shape == (2, 3, model.config.num_labels)
    np.testing.assert_allclose(batch.logits[0], alone.logits[0], atol=ATOL)
    with pytest.raises(TypeError, match="entity_start_positions"):
        LukeModel.from_pretrained(folder)(**encoding)  # the bare encoder takes no spans


def test_from_pretrained_reads_a_hub_repository_from_the_cache_offline(tmp_path):
    from helpers import place_in_hf_cache

    cache = tmp_path / "hub"
    place_in_hf_cache(TINY_LUKE, cache, "studio-ousia/luke-tiny")
    model = LukeForMaskedLM.from_pretrained(
        "studio-ousia/luke-tiny", cache_dir=cache, local_files_only=True, dtype=np.float64
    )
    assert model.config.vocab_size == 419 and model.dtype == np.float64
    with pytest.raises(numpy_luke.CheckpointNotFoundError, match="not in the Hugging Face cache"):
        LukeModel.from_pretrained("studio-ousia/not-there", cache_dir=cache, local_files_only=True)

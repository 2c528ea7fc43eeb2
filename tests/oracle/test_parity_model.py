"""Live parity with transformers: random configs and inputs, every class, every output.

Hypothesis draws a configuration (sizes, entity-aware attention on or off, entity_emb_size
equal to hidden_size or not, one or two token types, the activation), builds the model in
transformers with random weights, loads the same state dict into numpy_luke and compares
every output, hidden state, attention map and loss on random padded inputs.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
from helpers import MODEL_CLASS_NAMES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.parity
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import numpy_luke  # noqa: E402

TOLERANCE = 1e-5  # float32 outputs
TOLERANCE_64 = 1e-8  # float64 outputs (rounding amplified by at most 1/sqrt(eps))
CLASSES = MODEL_CLASS_NAMES
ACTIVATIONS = ["gelu", "relu", "gelu_new", "gelu_fast", "quick_gelu", "silu", "tanh"]


@st.composite
def configs(draw, class_name):
    heads = draw(st.integers(1, 4))
    hidden = heads * draw(st.sampled_from([2, 4, 8]))
    num_labels = 2 if class_name == "LukeForQuestionAnswering" else draw(st.integers(1, 5))
    if class_name in ("LukeForSequenceClassification",):
        num_labels = draw(st.integers(1, 4))
    elif class_name != "LukeForQuestionAnswering":
        num_labels = max(num_labels, 2)
    return dict(
        vocab_size=draw(st.integers(8, 40)),
        entity_vocab_size=draw(st.integers(3, 12)),
        hidden_size=hidden,
        entity_emb_size=draw(st.sampled_from([hidden, 4, 6, hidden + 2])),
        num_hidden_layers=draw(st.integers(1, 2)),
        num_attention_heads=heads,
        intermediate_size=draw(st.integers(2, 24)),
        max_position_embeddings=draw(st.integers(16, 24)),
        type_vocab_size=draw(st.integers(1, 2)),
        use_entity_aware_attention=draw(st.booleans()),
        hidden_act=draw(st.sampled_from(ACTIVATIONS)),
        layer_norm_eps=draw(st.sampled_from([1e-12, 1e-5])),
        num_labels=num_labels,
    )


def random_inputs(rng, config, class_name, batch, words, entities, mention):
    """Right-padded words and entities with masks, token types and mention positions."""
    pad = 1
    lengths = rng.integers(2, words + 1, size=batch)
    lengths[0] = words
    ids = rng.integers(3, config["vocab_size"], size=(batch, words))
    mask = (np.arange(words)[None] < lengths[:, None]).astype(np.int64)
    ids = np.where(mask == 1, ids, pad)
    ids[:, 0] = 0
    out = {
        "input_ids": ids,
        "attention_mask": mask,
        "token_type_ids": rng.integers(0, config["type_vocab_size"], (batch, words)) * mask,
    }
    if entities:
        counts = rng.integers(1, entities + 1, size=batch)
        entity_mask = (np.arange(entities)[None] < counts[:, None]).astype(np.int64)
        positions = np.full((batch, entities, mention), -1)
        for b in range(batch):
            for e in range(counts[b]):
                start = int(rng.integers(0, lengths[b]))
                length = int(rng.integers(1, mention + 1))
                span = np.arange(start, min(start + length, lengths[b]))
                positions[b, e, : len(span)] = span
        out.update(
            entity_ids=rng.integers(1, config["entity_vocab_size"], (batch, entities))
            * entity_mask,
            entity_attention_mask=entity_mask,
            entity_token_type_ids=rng.integers(0, config["type_vocab_size"], (batch, entities))
            * entity_mask,
            entity_position_ids=positions,
        )
    # Optional inputs: sometimes left to their defaults, sometimes given explicitly.
    for name in (
        "attention_mask",
        "token_type_ids",
        "entity_attention_mask",
        "entity_token_type_ids",
    ):
        if name in out and rng.random() < 0.25:
            del out[name]
    if rng.random() < 0.25:
        out["position_ids"] = rng.integers(0, config["max_position_embeddings"], (batch, words))
    if class_name == "LukeForEntitySpanClassification":
        starts = rng.integers(0, words, (batch, entities))
        out["entity_start_positions"] = starts
        out["entity_end_positions"] = np.minimum(
            starts + rng.integers(0, 3, starts.shape), words - 1
        )
    return out


def random_labels(rng, config, class_name, inputs, multi):
    batch, words = inputs["input_ids"].shape[:2]
    n = config["num_labels"]
    if class_name == "LukeForMaskedLM":
        labels = rng.integers(0, config["vocab_size"], (batch, words))
        labels[rng.random((batch, words)) < 0.5] = -100
        entity_labels = rng.integers(0, config["entity_vocab_size"], inputs["entity_ids"].shape)
        return {"labels": labels, "entity_labels": entity_labels}
    if class_name in ("LukeForEntityClassification", "LukeForEntityPairClassification"):
        if multi:
            return {"labels": rng.integers(0, 2, (batch, n))}
        return {"labels": rng.integers(0, n, batch)}
    if class_name == "LukeForEntitySpanClassification":
        shape = inputs["entity_ids"].shape
        if multi:
            return {"labels": rng.integers(0, 2, (*shape, n))}
        return {"labels": rng.integers(0, n, shape)}
    if class_name == "LukeForSequenceClassification":
        if n == 1:
            return {"labels": rng.normal(size=batch).astype(np.float32)}
        if multi:
            return {"labels": rng.integers(0, 2, (batch, n)).astype(np.float32)}
        return {"labels": rng.integers(0, n, batch)}
    if class_name == "LukeForTokenClassification":
        labels = rng.integers(0, n, (batch, words))
        labels[inputs["input_ids"] == 1] = -100  # padding
        return {"labels": labels}
    if class_name == "LukeForQuestionAnswering":
        return {
            "start_positions": rng.integers(0, words + 3, batch),
            "end_positions": rng.integers(0, words + 3, batch),
        }
    if class_name == "LukeForMultipleChoice":
        return {"labels": rng.integers(0, inputs["input_ids"].shape[1], batch)}
    return {}


def randomize(model, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator)
            if "LayerNorm" in name or "layer_norm" in name:
                param.copy_((1.0 if name.endswith("weight") else 0.0) + 0.2 * noise)
            else:
                param.copy_((0.2 if name.endswith("bias") else 0.4) * noise)


def flatten(outputs, to_numpy):
    flat = {}
    for key, value in outputs.items():
        if isinstance(value, tuple):
            for i, item in enumerate(value):
                if item is not None:
                    flat[f"{key}.{i}"] = to_numpy(item)
        elif value is not None:
            flat[key] = to_numpy(value)
    return flat


def compare(class_name, config_values, seed, shape, with_labels, multi, flags):
    rng = np.random.default_rng(seed)
    batch, words, entities, mention = shape
    needs = {
        "LukeForEntityClassification": 1,
        "LukeForEntityPairClassification": 2,
        "LukeForEntitySpanClassification": 1,
        "LukeForMaskedLM": 0,
    }
    entities = max(entities, needs.get(class_name, 0))
    if class_name == "LukeForMaskedLM" and with_labels:
        entities = max(entities, 1)

    config = transformers.LukeConfig(**config_values)
    torch.manual_seed(seed)
    torch_model = getattr(transformers, class_name)(config).eval()
    randomize(torch_model, seed)
    state = {k: v.detach().numpy().copy() for k, v in torch_model.state_dict().items()}
    ours = getattr(numpy_luke, class_name).from_state_dict(
        state, numpy_luke.LukeConfig.from_dict(config.to_dict())
    )

    if class_name == "LukeForMultipleChoice":
        choices = int(rng.integers(2, 4))
        parts = [
            random_inputs(rng, config_values, class_name, batch, words, entities, mention)
            for _ in range(choices)
        ]
        common = set.intersection(*(set(p) for p in parts))
        inputs = {k: np.stack([p[k] for p in parts], axis=1) for k in sorted(common)}
    else:
        inputs = random_inputs(rng, config_values, class_name, batch, words, entities, mention)
    if entities == 0 and class_name == "LukeForMaskedLM":
        with_labels = False
    if with_labels:
        inputs.update(random_labels(rng, config_values, class_name, inputs, multi))

    # The same weights in double precision, for transformers and for us.
    torch_model64 = copy.deepcopy(torch_model).double()
    ours64 = getattr(numpy_luke, class_name).from_state_dict(
        state, numpy_luke.LukeConfig.from_dict(config.to_dict()), dtype=np.float64
    )

    def run_torch(model, dtype):
        tensors = {
            k: torch.tensor(v.astype(dtype) if v.dtype.kind == "f" else v)
            for k, v in inputs.items()
        }
        with torch.no_grad():
            return model(**tensors, **flags)

    expected = run_torch(torch_model, np.float32)
    expected64 = run_torch(torch_model64, np.float64)
    got = ours(**inputs, **flags)
    got64 = ours64(**inputs, **flags)
    assert_outputs_agree(class_name, expected, expected64, got, got64)


@pytest.mark.parametrize("class_name", CLASSES)
def test_parity_with_transformers(class_name):
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        config=configs(class_name),
        seed=st.integers(0, 2**31 - 1),
        shape=st.tuples(st.integers(1, 3), st.integers(2, 9), st.integers(0, 4), st.integers(1, 3)),
        with_labels=st.booleans(),
        multi=st.booleans(),
        flags=st.fixed_dictionaries(
            {"output_hidden_states": st.booleans(), "output_attentions": st.booleans()}
        ),
    )
    def check(config, seed, shape, with_labels, multi, flags):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compare(class_name, config, seed, shape, with_labels, multi, flags)

    check()


def assert_outputs_agree(class_name, expected, expected64, got, got64, skip=()):
    """Every output of ours equals transformers': float64 to 1e-8, float32 to 1e-5 (or, where
    the draw is ill-conditioned, 4x transformers' own float32 error against float64).
    Outputs named in ``skip`` are only checked for shape and dtype."""
    assert list(got.keys()) == list(expected.keys())
    assert list(got64.keys()) == list(expected.keys())
    want = flatten(expected, lambda t: t.numpy())
    want64 = flatten(expected64, lambda t: t.numpy())
    have = flatten(got, np.asarray)
    have64 = flatten(got64, np.asarray)
    assert sorted(have) == sorted(want) == sorted(have64)
    for key, value in want.items():
        assert have[key].shape == value.shape, key
        assert have[key].dtype == np.float32 and have64[key].dtype == np.float64, key
        if key in skip:
            continue
        if np.isnan(value).any():
            np.testing.assert_array_equal(np.isnan(have[key]), np.isnan(value))
            continue
        scale = max(1.0, float(np.abs(value).max()))
        # Double precision: the same computation, so agreement to rounding error.
        diff64 = float(np.abs(have64[key] - want64[key]).max())
        assert diff64 <= TOLERANCE_64 * scale, f"{class_name} {key} (float64): {diff64:.2e}"
        # Single precision: within TOLERANCE, or, where the inputs make the computation
        # ill-conditioned (a layer norm over two nearly equal numbers), within a small
        # multiple of transformers' own float32 error measured against float64.
        oracle_error = float(np.abs(value - want64[key]).max())
        diff = float(np.abs(have[key] - value).max())
        bound = TOLERANCE * scale + 4 * oracle_error
        assert diff <= bound, f"{class_name} {key}: max |diff| {diff:.2e} > {bound:.2e}"

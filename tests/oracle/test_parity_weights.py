"""Live: random state dicts written by torch (every dtype, views, shared storages, pickle
protocols) read back by numpy_luke without torch must equal torch's own tensors."""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from numpy_luke.weights import load_state_dict

pytestmark = pytest.mark.parity
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
safetensors_torch = pytest.importorskip("safetensors.torch")

DTYPES = [
    torch.float32,
    torch.float16,
    torch.bfloat16,
    torch.float64,
    torch.int64,
    torch.int32,
    torch.int16,
    torch.int8,
    torch.uint8,
    torch.bool,
]
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_counter = itertools.count()


def expected(tensor) -> np.ndarray:
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.float()  # numpy_luke widens bfloat16 to float32, exactly
    return tensor.detach().contiguous().numpy()


@st.composite
def tensors(draw):
    """A tensor of any dtype, possibly a strided view into a larger storage."""
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(st.lists(st.integers(0, 5), max_size=3))
    pad = draw(st.lists(st.integers(0, 3), min_size=len(shape), max_size=len(shape)))
    base_shape = [n + p for n, p in zip(shape, pad, strict=True)]
    seed = draw(st.integers(0, 2**31 - 1))
    generator = torch.Generator().manual_seed(seed)
    base = (torch.randn(base_shape or [1], generator=generator) * 100).to(dtype)
    if not base_shape:
        base = base.reshape(())
    view = base
    for axis, (n, p) in enumerate(zip(shape, pad, strict=True)):  # crop: storage offsets
        start = draw(st.integers(0, p))
        view = view.narrow(axis, start, n)
    if len(shape) >= 2 and draw(st.booleans()):
        order = draw(st.permutations(range(len(shape))))
        view = view.permute(*order)
    if draw(st.booleans()) and view.dim() >= 1 and view.shape[0] > 1:
        view = view[:: draw(st.integers(1, 2))]
    return view


@st.composite
def state_dicts(draw):
    names = draw(
        st.lists(
            st.from_regex(r"[a-z]{1,6}(\.[a-z]{1,6}){0,2}", fullmatch=True),
            min_size=1,
            max_size=5,
            unique=True,
        )
    )
    state = {}
    for name in names:
        if state and draw(st.booleans()):  # tie to an earlier tensor: one shared storage
            state[name] = state[draw(st.sampled_from(sorted(state)))]
        else:
            state[name] = draw(tensors())
    return state


def check(state, got, ordered=True):
    if ordered:  # a pickle keeps the dict's order; safetensors sorts its header
        assert list(got) == list(state)
    assert sorted(got) == sorted(state)
    for name, tensor in state.items():
        want = expected(tensor)
        assert got[name].dtype == want.dtype, name
        assert got[name].shape == want.shape, name
        np.testing.assert_array_equal(got[name], want, err_msg=name)


@SETTINGS
@given(state=state_dicts(), protocol=st.sampled_from([2, 4, pickle.HIGHEST_PROTOCOL]))
def test_torch_save_round_trip(tmp_path, state, protocol):
    path = tmp_path / f"state-{next(_counter)}.bin"
    torch.save(state, path, pickle_protocol=protocol)
    check(state, load_state_dict([path], dtype=None))


@SETTINGS
@given(state=state_dicts())
def test_legacy_format_round_trip(tmp_path, state):
    path = tmp_path / f"legacy-{next(_counter)}.bin"
    torch.save(state, path, _use_new_zipfile_serialization=False)
    check(state, load_state_dict([path], dtype=None))


@SETTINGS
@given(state=state_dicts())
def test_parameters_and_no_byteorder_record(tmp_path, state):
    params = {
        k: torch.nn.Parameter(v, requires_grad=v.is_floating_point()) for k, v in state.items()
    }
    path = tmp_path / f"params-{next(_counter)}.bin"
    torch.save(params, path, _disable_byteorder_record=True)
    check(state, load_state_dict([path], dtype=None))


@SETTINGS
@given(state=state_dicts())
def test_safetensors_round_trip(tmp_path, state):
    contiguous = {k: v.contiguous().clone() for k, v in state.items()}
    path = tmp_path / f"state-{next(_counter)}.safetensors"
    safetensors_torch.save_file(contiguous, path)
    check(state, load_state_dict([path], dtype=None), ordered=False)


@SETTINGS
@given(state=state_dicts(), dtype=st.sampled_from([np.float32, np.float64, np.float16]))
def test_cast_equals_torch_cast(tmp_path, state, dtype):
    path = tmp_path / f"state-{next(_counter)}.bin"
    torch.save(state, path)
    got = load_state_dict([path], dtype=dtype)
    torch_dtype = {np.float32: torch.float32, np.float64: torch.float64, np.float16: torch.float16}
    for name, tensor in state.items():
        if tensor.is_floating_point():
            want = tensor.to(torch_dtype[dtype]).contiguous().numpy()
        else:
            want = expected(tensor)
        assert got[name].dtype == want.dtype, name
        np.testing.assert_array_equal(got[name], want, err_msg=name)


def test_a_transformers_luke_state_dict(tmp_path):
    """A real LukeForMaskedLM state dict (tied decoders share storages) via both formats."""
    config = transformers.LukeConfig(
        vocab_size=50,
        entity_vocab_size=20,
        hidden_size=16,
        entity_emb_size=8,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=40,
    )
    torch.manual_seed(0)
    model = transformers.LukeForMaskedLM(config).eval()
    state = model.state_dict()
    torch.save(state, tmp_path / "pytorch_model.bin")
    got = load_state_dict([tmp_path / "pytorch_model.bin"])
    check(state, got)
    assert np.shares_memory(
        got["lm_head.decoder.weight"], got["luke.embeddings.word_embeddings.weight"]
    )
    model.save_pretrained(tmp_path / "st", safe_serialization=True)
    from_safetensors = load_state_dict([tmp_path / "st" / "model.safetensors"])
    assert set(from_safetensors) <= set(state)
    for name, array in from_safetensors.items():
        np.testing.assert_array_equal(array, expected(state[name]), err_msg=name)

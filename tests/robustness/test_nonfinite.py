"""NaN or infinite weights (issue 14, item 8): ``find_nonfinite`` names the first array that
is not finite, and ``check_finite_outputs`` turns a non-finite output into a CheckpointError
naming the output and the weight to blame, instead of predictions made from NaN scores."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import TINY_LUKE

from numpy_luke import LukeForMaskedLM, LukeTokenizer
from numpy_luke.errors import CheckpointError
from numpy_luke.state_dict import FINITE_CHUNK, check_finite_outputs, find_nonfinite


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.complex64])
def test_find_nonfinite_names_the_first_bad_array(bad, dtype):
    arrays = {"a": np.ones(3, dtype), "b": np.zeros((2, 2), dtype), "c": np.ones(4, dtype)}
    assert find_nonfinite(arrays) is None
    arrays["b"][1, 1] = bad
    arrays["c"][0] = bad
    assert find_nonfinite(arrays) == "b"


def test_find_nonfinite_in_the_last_element_of_a_large_array_and_in_views():
    big = np.zeros((3 * FINITE_CHUNK // 64 + 1, 64), np.float32)  # tested in slices of rows
    big[-1, -1] = np.nan
    assert find_nonfinite({"big": big}) == "big"
    assert find_nonfinite({"transposed": big.T}) == "transposed"
    assert find_nonfinite({"strided": big[::2]}) == "strided"  # the last row is even
    assert find_nonfinite({"crop": big[:-1]}) is None
    assert find_nonfinite({"scalar": np.float32(np.inf)}) == "scalar"


def test_integer_boolean_and_absent_arrays_are_finite():
    ints = {"i": np.arange(5), "b": np.ones(3, bool), "none": None, "list": [1.0, 2.0]}
    assert find_nonfinite(ints) is None
    assert find_nonfinite({"list": [1.0, float("nan")]}) == "list"


@pytest.fixture(scope="module")
def broken_model():
    tokenizer = LukeTokenizer.from_pretrained(TINY_LUKE)
    model = LukeForMaskedLM.from_pretrained(TINY_LUKE)
    name = "encoder.layer.0.output.dense.weight"
    model.params[name] = model.params[name].copy()
    model.params[name][0, 0] = np.nan
    inputs = tokenizer("Lionel Messi plays <mask>.", entity_spans=[(0, 12)], return_tensors="np")
    return model, model(**inputs), name


def test_a_nan_weight_is_named_through_the_outputs(broken_model):
    model, out, name = broken_model
    outputs = {"logits": out.logits, "entity_logits": out.entity_logits}
    assert find_nonfinite(outputs) == "logits"
    with pytest.raises(CheckpointError) as error:
        check_finite_outputs(outputs, model.params, source="tiny-luke")
    message = str(error.value)
    assert "tiny-luke" in message and "'logits'" in message and f"'{name}'" in message


def test_an_overflow_with_finite_weights_says_so():
    outputs = {"logits": np.array([1.0, np.inf])}
    with pytest.raises(CheckpointError, match="every weight is finite.*overflowed"):
        check_finite_outputs(outputs, {"w": np.ones(3)})
    with pytest.raises(CheckpointError, match="'logits' holds NaN or infinite"):
        check_finite_outputs(outputs)
    check_finite_outputs({"logits": np.ones(3)}, {"w": np.full(3, np.nan)})  # outputs decide

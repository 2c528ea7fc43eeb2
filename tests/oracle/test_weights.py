"""numpy_luke.weights against tensors torch wrote (tests/fixtures/weights, made by
tests/goldens/make_weight_fixtures.py), without torch: every dtype, tied storages, strided
views, shards, both formats, memory mapping and dtype casting."""

from __future__ import annotations

import mmap
import zipfile

import numpy as np
import pytest
from helpers import FIXTURES, read_zip, write_zip
from safetensors import safe_open
from safetensors.numpy import load_file

from numpy_luke.errors import CheckpointError
from numpy_luke.hub import resolve_weight_files
from numpy_luke.weights import load_state_dict

WEIGHTS = FIXTURES / "weights"
SINGLE_FILES = ["dtypes.bin", "dtypes.safetensors", "tied.bin", "strided.bin", "legacy.bin"]
SHARDED = {
    "sharded-bin": ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"],
    "sharded-safetensors": [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    ],
}


@pytest.fixture(scope="module")
def expected() -> dict[str, np.ndarray]:
    with np.load(WEIGHTS / "expected.npz") as npz:
        return {key: npz[key] for key in npz.files}


def expected_for(expected, filename):
    prefix = filename + ":"
    return {k[len(prefix) :]: v for k, v in expected.items() if k.startswith(prefix)}


def is_memory_mapped(array: np.ndarray) -> bool:
    """True when the array's memory belongs to an mmap of the file (no copy was made)."""
    base = array
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview):  # np.frombuffer(mapping) keeps a memoryview of it
        base = base.obj
    return isinstance(base, mmap.mmap)


@pytest.mark.parametrize("filename", SINGLE_FILES)
def test_stored_dtypes_and_values(expected, filename):
    want = expected_for(expected, filename)
    got = load_state_dict([WEIGHTS / filename], dtype=None)
    assert sorted(got) == sorted(want)
    for name, array in got.items():
        assert array.dtype == want[name].dtype, name
        assert array.shape == want[name].shape, name
        np.testing.assert_array_equal(array, want[name], err_msg=name)


@pytest.mark.parametrize("filename", ["dtypes.bin", "dtypes.safetensors", "legacy.bin"])
def test_default_casts_floats_to_float32_and_keeps_integers(expected, filename):
    want = expected_for(expected, filename)
    got = load_state_dict([WEIGHTS / filename])
    for name, array in got.items():
        if want[name].dtype.kind == "f":
            assert array.dtype == np.float32, name
            np.testing.assert_array_equal(array, want[name].astype(np.float32), err_msg=name)
        else:
            assert array.dtype == want[name].dtype, name
            np.testing.assert_array_equal(array, want[name], err_msg=name)


def test_float64_request_widens_every_float(expected):
    got = load_state_dict([WEIGHTS / "dtypes.bin"], dtype=np.float64)
    assert got["float16"].dtype == np.float64 and got["bfloat16"].dtype == np.float64
    assert got["int64"].dtype == np.int64
    np.testing.assert_array_equal(got["float16"], expected["dtypes.bin:float16"])


@pytest.mark.parametrize("filename", ["dtypes.bin", "dtypes.safetensors", "legacy.bin"])
def test_float32_tensors_are_read_only_views_of_the_file(filename):
    got = load_state_dict([WEIGHTS / filename])
    assert is_memory_mapped(got["float32"])
    assert not got["float32"].flags.writeable
    assert is_memory_mapped(got["int64"])
    # A cast is a new array: float16 -> float32 cannot be a view.
    assert not is_memory_mapped(got["float16"])


@pytest.mark.parametrize("filename", ["tied.bin", "legacy.bin"])
def test_tied_weights_share_one_buffer(filename):
    got = load_state_dict([WEIGHTS / filename])
    assert np.shares_memory(got["embeddings.weight"], got["decoder.weight"])
    assert not np.shares_memory(got["embeddings.weight"], got["decoder.bias"])


@pytest.mark.parametrize("filename", ["strided.bin", "legacy.bin"])
def test_strided_views_alias_their_base(filename):
    got = load_state_dict([WEIGHTS / filename])
    base = got["base"]
    np.testing.assert_array_equal(got["transposed"], base.T)
    np.testing.assert_array_equal(got["offset"], base[2:, 3:])
    np.testing.assert_array_equal(got["stepped"], base[::2, 1::3])
    for name in ["transposed", "offset", "offset_transposed", "stepped", "row"]:
        assert np.shares_memory(got[name], base), name


@pytest.mark.parametrize("folder", sorted(SHARDED))
def test_sharded_checkpoints_resolve_and_merge(expected, folder):
    files = resolve_weight_files(WEIGHTS / folder)
    assert [f.name for f in files] == SHARDED[folder]
    got = load_state_dict(files)
    want = {}
    for filename in SHARDED[folder]:
        want.update(expected_for(expected, f"{folder}/{filename}"))
    assert sorted(got) == sorted(want) == ["a.bias", "a.weight", "b.weight"]
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


@pytest.mark.parametrize("folder", sorted(SHARDED))
def test_a_name_in_two_shards_is_refused(folder):
    first = WEIGHTS / folder / SHARDED[folder][0]
    with pytest.raises(CheckpointError, match=r"appears in both .*00001.* and .*00001"):
        load_state_dict([first, first])


def test_safetensors_reader_agrees_with_the_safetensors_library():
    path = WEIGHTS / "dtypes.safetensors"
    ours = load_state_dict([path], dtype=None)
    with safe_open(path, framework="numpy") as file:
        names = list(file.keys())
        theirs = {n: file.get_tensor(n) for n in names if n != "bfloat16"}  # no NumPy bf16
    assert sorted(ours) == sorted(names)
    for name, array in theirs.items():
        assert ours[name].dtype == array.dtype, name
        np.testing.assert_array_equal(ours[name], array, err_msg=name)
    for path in resolve_weight_files(WEIGHTS / "sharded-safetensors"):
        ours, theirs = load_state_dict([path]), load_file(path)
        assert ours.keys() == theirs.keys()
        for name in ours:
            np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)


def test_compressed_archive_is_read_without_mapping(tmp_path, expected):
    members = read_zip(WEIGHTS / "dtypes.bin")
    path = write_zip(tmp_path / "deflated.bin", members, compression=zipfile.ZIP_DEFLATED)
    got = load_state_dict([path], dtype=None)
    for name, want in expected_for(expected, "dtypes.bin").items():
        np.testing.assert_array_equal(got[name], want, err_msg=name)
    assert not is_memory_mapped(got["float32"])


def test_big_endian_archive(tmp_path, expected):
    """An archive written on a big-endian machine: byteorder "big", swapped storages."""
    members = read_zip(WEIGHTS / "tied.bin")
    for name in [name for name in members if "/data/" in name]:  # float32 storages
        members[name] = np.frombuffer(members[name], "<f4").astype(">f4").tobytes()
    (order,) = [name for name in members if name.endswith("/byteorder")]
    members[order] = b"big"
    got = load_state_dict([write_zip(tmp_path / "big.bin", members)])
    np.testing.assert_array_equal(got["decoder.weight"], expected["tied.bin:decoder.weight"])
    assert got["decoder.weight"].dtype == np.dtype("=f4")


def test_archive_without_byteorder_record_is_little_endian(tmp_path, expected):
    members = {k: v for k, v in read_zip(WEIGHTS / "tied.bin").items() if "byteorder" not in k}
    got = load_state_dict([write_zip(tmp_path / "old.bin", members)])
    np.testing.assert_array_equal(got["decoder.bias"], expected["tied.bin:decoder.bias"])


def test_any_top_folder_name(tmp_path, expected):
    members = read_zip(WEIGHTS / "tied.bin")
    renamed = {"pytorch_model/" + name.split("/", 1)[1]: data for name, data in members.items()}
    got = load_state_dict([write_zip(tmp_path / "renamed.bin", renamed)])
    np.testing.assert_array_equal(got["decoder.bias"], expected["tied.bin:decoder.bias"])


def test_unknown_file_type_is_refused(tmp_path):
    path = tmp_path / "weights.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))
    with pytest.raises(CheckpointError, match=r"weights\.h5.*not a weights file"):
        load_state_dict([path])


def test_missing_file_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="cannot read"):
        load_state_dict([tmp_path / "absent.safetensors"])


@pytest.mark.parametrize("dtype", [np.int32, np.bool_, "U5"])
def test_non_float_dtype_is_a_type_error(dtype):
    with pytest.raises(TypeError, match="floating"):
        load_state_dict([WEIGHTS / "tied.bin"], dtype=dtype)


def test_a_single_path_is_one_file():
    as_list = load_state_dict([WEIGHTS / "tied.bin"])
    for single in (WEIGHTS / "tied.bin", str(WEIGHTS / "tied.bin")):
        assert load_state_dict(single).keys() == as_list.keys()


def test_no_files_give_an_empty_dict():
    assert load_state_dict([]) == {}

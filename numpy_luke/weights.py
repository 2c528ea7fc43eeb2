"""Checkpoint files to a parameter dict: ``{"luke.embeddings...weight": array, ...}``.

``load_state_dict(files)`` reads the weight files of one checkpoint (one file, or all
shards) and returns every tensor as a NumPy array under its name in the file. Two formats
are read, told apart by their first bytes, not by their file names:

* safetensors (``model.safetensors``): 8 bytes giving the header length N (little-endian),
  N bytes of JSON ``{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
  ...}``, then the raw little-endian tensor bytes, offsets counted from the end of the
  header. We parse and check the header ourselves and memory-map the file: every array is
  a read-only view of the file, nothing is copied, and pages are read from disk only when
  used. (``safetensors.safe_open(..., framework="numpy")`` maps the file too but hands back
  copies: each ``get_tensor`` copies its bytes into new memory, so the weights are held
  twice, as copies and as the mapped pages read to make them: a peak of 2.03x the weight
  bytes against our 1.03x, measured by ``benchmarks/bench_load.py``, docs/performance.md.)
* PyTorch's ``pytorch_model.bin`` (the zip archive of torch >= 1.6, or the legacy stream of
  older versions), read without torch by ``torch_checkpoint``.

Floating tensors are cast to ``dtype`` (float32 by default; ``None`` keeps what the file
stores, with bfloat16 widened to float32 since NumPy has no bfloat16). A tensor already of
the requested dtype is returned as the memory-mapped view itself, so loading a float32
checkpoint costs address space, not memory. Integer and boolean tensors keep their dtype.

Every check runs before any array is made: a malformed or hostile file raises
``CheckpointError`` naming the file and the problem, and never allocates more than its own
size justifies.
"""

from __future__ import annotations

import itertools
import json
import math
import mmap
import os
import struct
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .checks import short
from .errors import CheckpointError
from .torch_checkpoint import (
    LEGACY_MAGIC,
    MAX_DIMS,
    bfloat16_to_float32,
    is_legacy_torch_file,
    load_torch_checkpoint,
)

# safetensors dtype names -> NumPy element types (all little-endian). "BF16" is widened.
SAFETENSORS_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "BF16": "<u2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U64": "<u8",
    "U32": "<u4",
    "U16": "<u2",
    "U8": "u1",
    "BOOL": "b1",
}

# safetensors itself refuses headers above 100 MB; a luke-large header is about 60 kB.
MAX_HEADER_BYTES = 100_000_000
ZIP_MAGIC = b"PK\x03\x04"


def load_state_dict(
    files: Iterable[str | os.PathLike] | str | os.PathLike,
    dtype: np.dtype | type | None = np.float32,
) -> dict[str, np.ndarray]:
    """Read every tensor of the given weight files (the shards of one checkpoint, or one
    file).

    Returns ``{name: array}`` in file order. A name found in two files is an error.
    Arrays that view the file (no cast needed) are read-only; copy one to change it.
    """
    if isinstance(files, (str, os.PathLike)):  # one file given on its own
        files = [files]
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"dtype must be a floating type such as np.float32, got {dtype}")
    state: dict[str, np.ndarray] = {}
    origin: dict[str, Path] = {}
    for file in files:
        path = Path(file)
        for name, array in read_weight_file(path).items():
            if name in state:
                raise CheckpointError(
                    f"tensor {short(name)} appears in both {origin[name]} and {path}; "
                    "the shards "
                    "of a checkpoint must not overlap"
                )
            state[name] = _cast(array, dtype)
            origin[name] = path
    return state


def read_weight_file(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The tensors of one file, in their stored dtypes (bfloat16 widened to float32)."""
    path = Path(path)
    try:
        with open(path, "rb") as file:
            head = file.read(max(len(LEGACY_MAGIC), 9))
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read the file ({error})") from None
    if head.startswith(ZIP_MAGIC) or is_legacy_torch_file(head):
        return load_torch_checkpoint(path)
    if len(head) >= 9 and head[8:9] == b"{":
        return load_safetensors(path)
    raise CheckpointError(
        f"{path}: not a weights file numpy_luke reads (expected safetensors, whose header "
        "starts with '{' at byte 8, or a PyTorch checkpoint: a zip archive or the legacy "
        f"stream); it starts with {head[:9]!r}"
    )


def _cast(array: np.ndarray, dtype: np.dtype | None) -> np.ndarray:
    """Floating arrays to ``dtype`` (no copy when already so); others to native byte order."""
    if array.dtype.kind == "f":
        target = dtype if dtype is not None else array.dtype.newbyteorder("=")
    else:
        target = array.dtype.newbyteorder("=")
    return array.astype(target, copy=False)


# ---------------------------------------------------------------------------------------
# safetensors


def load_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a safetensors file as read-only, memory-mapped arrays (no copies).

    The header is checked completely first: its length against the file size, valid JSON
    without duplicate names, known dtypes, non-negative integer shapes, byte ranges inside
    the data region that match ``prod(shape) * itemsize`` and do not overlap.
    """
    path = Path(path)
    header, data_start, file_size = _read_safetensors_header(path)
    entries = _check_safetensors_entries(path, header, file_size - data_start)
    if not entries:
        return {}
    try:
        with open(path, "rb") as file:
            mapping = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as error:  # e.g. a file system that cannot map files
        raise CheckpointError(f"{path}: cannot memory-map the file ({error})") from None
    data = np.frombuffer(mapping, dtype=np.uint8)  # (file bytes,) read-only
    arrays = {}
    for name, (dtype_name, shape, begin, end) in entries.items():
        raw = data[data_start + begin : data_start + end]
        try:
            array = raw.view(SAFETENSORS_DTYPES[dtype_name]).reshape(shape)
        except ValueError as error:  # a shape NumPy cannot represent, e.g. (0, 2**61, 2**61)
            raise CheckpointError(
                f"{path}: tensor {short(name)}: shape {short(shape)} "
                f"({str(error)[:200]})"
            ) from None
        arrays[name] = bfloat16_to_float32(array) if dtype_name == "BF16" else array
    return arrays


def _read_safetensors_header(path: Path) -> tuple[dict, int, int]:
    """The parsed JSON header, where the data region starts, and the file size."""
    with open(path, "rb") as file:
        file_size = os.fstat(file.fileno()).st_size
        prefix = file.read(8)
        if len(prefix) < 8:
            raise CheckpointError(f"{path}: too short for a safetensors file ({file_size} bytes)")
        (length,) = struct.unpack("<Q", prefix)
        if length > min(MAX_HEADER_BYTES, file_size - 8):
            raise CheckpointError(
                f"{path}: safetensors header length {length} exceeds the file "
                f"({file_size} bytes) or the 100 MB limit; the file is truncated or corrupt"
            )
        text = file.read(length)
    try:
        header = json.loads(text.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise CheckpointError(
            f"{path}: safetensors header is not valid JSON ({str(error)[:200]})"
        ) from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: safetensors header is not a JSON object")
    return header, 8 + length, file_size


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:  # one pass: a header of 100,000 names costs 100,000 steps
        if key in result:
            raise ValueError(f"the name {short(key)} appears twice")
        result[key] = value
    return result


def _check_safetensors_entries(path: Path, header: dict, data_size: int) -> dict:
    """Validate every header entry; returns name -> (dtype name, shape, begin, end)."""
    entries = {}
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                raise CheckpointError(f"{path}: __metadata__ must map strings to strings")
            continue

        def bad(problem, name=name):
            return CheckpointError(f"{path}: tensor {short(name)}: {problem}")

        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise bad("expected exactly the fields dtype, shape, data_offsets")
        dtype_name, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not isinstance(dtype_name, str) or dtype_name not in SAFETENSORS_DTYPES:
            raise bad(f"unsupported dtype {short(dtype_name)}")
        if isinstance(shape, list) and len(shape) > MAX_DIMS:  # before any arithmetic on it
            raise bad(f"shape has {len(shape)} dimensions; at most {MAX_DIMS} are allowed "
                      "(NumPy's limit)")
        if not isinstance(shape, list) or not all(_is_size(n) for n in shape):
            raise bad(f"shape must be a list of non-negative integers, got {short(shape)}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_size, offsets))):
            raise bad(f"data_offsets must be two non-negative integers, got "
                      f"{short(offsets)}")
        begin, end = offsets
        if not begin <= end <= data_size:
            raise bad(f"data_offsets {offsets} lie outside the {data_size}-byte data region")
        itemsize = np.dtype(SAFETENSORS_DTYPES[dtype_name]).itemsize
        nbytes = math.prod(shape) * itemsize  # at most 64 factors below 2**62: cheap
        if end - begin != nbytes:
            raise bad(
                f"{end - begin} bytes cannot hold shape {short(shape)} of {dtype_name} "
                f"({short(nbytes)} bytes)"
            )
        entries[name] = (dtype_name, tuple(shape), begin, end)
    ranges = sorted((begin, end, name) for name, (_, _, begin, end) in entries.items())
    for (_, end, first), (begin, _, second) in itertools.pairwise(ranges):
        if begin < end:
            raise CheckpointError(
                f"{path}: the bytes of {short(first)} and {short(second)} overlap"
            )
    return entries


def _is_size(value) -> bool:
    return type(value) is int and 0 <= value < 2**62

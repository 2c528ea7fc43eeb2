"""Writing a model folder: ``config.json`` and the weights as safetensors, as transformers does.

``model.save_pretrained(folder)`` ends here. The folder it writes loads in numpy_luke and in
transformers alike:

    config.json                     the config, ``architectures`` naming the model's class
    model.safetensors               every tensor, when they fit in ``max_shard_size``
    model-00001-of-00003.safetensors ... and model.safetensors.index.json, when they do not:
                                    the index maps each tensor name to its shard

The safetensors format is small enough to write by hand (``weights.py`` reads it): 8 bytes
giving the header length N, N bytes of JSON (``{"name": {"dtype", "shape",
"data_offsets"}}``, padded with spaces to a multiple of 8), then the raw little-endian
bytes of every tensor, back to back. Tensors are written straight from their arrays (no
copy of the whole model in memory).

Shards are cut as transformers cuts them: tensors in order, a new shard whenever the next
tensor would take the current one past ``max_shard_size`` (a tensor bigger than that gets
a shard of its own). Every file is first written under a temporary name in the folder and
renamed into place only when all are complete, so a failure leaves the folder's old files
whole; weight files of an earlier save that the new one does not use are then removed
(an old ``model.safetensors`` would otherwise shadow a new shard index).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import struct
from pathlib import Path

import numpy as np

SAFETENSORS_NAMES = {"float64": "F64", "float32": "F32", "float16": "F16"}
SIZE_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
              "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
DEFAULT_MAX_SHARD_SIZE = "5GB"  # transformers 4.x's default
WEIGHTS_NAME = "model.safetensors"
INDEX_NAME = "model.safetensors.index.json"
SHARD_PATTERN = re.compile(r"model-\d{5}-of-\d{5}\.safetensors")


def parse_size(size: int | str) -> int:
    """``max_shard_size`` in bytes: an int, or a string such as "5GB", "200MB", "10MiB"."""
    if isinstance(size, int) and not isinstance(size, bool):
        number = size
    elif isinstance(size, str) and (match := re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*",
                                                          size)) \
            and match.group(2).upper() in {**SIZE_UNITS, "": 1}:
        number = int(float(match.group(1)) * SIZE_UNITS.get(match.group(2).upper(), 1))
    else:
        raise ValueError(f"max_shard_size must be a number of bytes or a size such as '5GB', "
                         f"'200MB' or '10MiB'; got {size!r}")
    if number <= 0:
        raise ValueError(f"max_shard_size must be positive, got {size!r}")
    return number


def shard(tensors: dict[str, np.ndarray], max_bytes: int) -> list[dict[str, np.ndarray]]:
    """Split ``tensors`` (in order) into groups of at most ``max_bytes`` (one bigger tensor
    makes a group of its own)."""
    shards: list[dict[str, np.ndarray]] = [{}]
    size = 0
    for name, array in tensors.items():
        if shards[-1] and size + array.nbytes > max_bytes:
            shards.append({})
            size = 0
        shards[-1][name] = array
        size += array.nbytes
    return shards


def safetensors_header(tensors: dict[str, np.ndarray]) -> bytes:
    """The 8-byte length and the JSON header describing ``tensors`` laid out back to back."""
    header: dict = {"__metadata__": {"format": "pt"}}  # transformers' loaders ask for it
    offset = 0
    for name, array in tensors.items():
        header[name] = {"dtype": SAFETENSORS_NAMES[array.dtype.name], "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text


def write_safetensors(file, tensors: dict[str, np.ndarray]) -> None:
    file.write(safetensors_header(tensors))
    for array in tensors.values():
        little = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        file.write(little.reshape(-1).view(np.uint8).data)


def save_model_folder(folder: str | os.PathLike, config: dict,
                      tensors: dict[str, np.ndarray], max_shard_size: int | str
                      ) -> tuple[str, ...]:
    """Write ``config.json`` and the weights (one file or shards + index) into ``folder``,
    all or none; return the paths written."""
    for name, array in tensors.items():
        if array.dtype.name not in SAFETENSORS_NAMES:
            raise TypeError(f"cannot save the tensor {name} of dtype {array.dtype}; "
                            f"numpy_luke saves {', '.join(SAFETENSORS_NAMES)}")
    groups = shard(tensors, parse_size(max_shard_size))
    if len(groups) == 1:
        weight_files = {WEIGHTS_NAME: groups[0]}
    else:
        weight_files = {f"model-{i:05d}-of-{len(groups):05d}.safetensors": group
                        for i, group in enumerate(groups, start=1)}
    texts = {"config.json": json.dumps(config, indent=2, sort_keys=True) + "\n"}
    if len(groups) > 1:
        index = {
            "metadata": {"total_parameters": int(sum(a.size for a in tensors.values())),
                         "total_size": int(sum(a.nbytes for a in tensors.values()))},
            "weight_map": {name: file for file, group in weight_files.items()
                           for name in sorted(group)},
        }
        index["weight_map"] = dict(sorted(index["weight_map"].items()))
        texts[INDEX_NAME] = json.dumps(index, indent=2) + "\n"

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}.{secrets.token_hex(4)}"
    written: list[tuple[Path, Path]] = []
    try:
        for name, contents in [*weight_files.items(), *texts.items()]:
            temporary = folder / f".{name}.{tag}.tmp"
            with open(temporary, "xb") as file:  # "x": never follow or reuse a file
                written.append((temporary, folder / name))
                if isinstance(contents, str):
                    file.write(contents.encode("utf-8"))
                else:
                    write_safetensors(file, contents)
        for temporary, final in written:
            os.replace(temporary, final)
    finally:
        for temporary, _ in written:
            if temporary.exists():
                temporary.unlink()
    kept = {final.name for _, final in written}
    for old in folder.iterdir():  # weight files of an earlier save, now stale
        if old.name not in kept and (old.name in (WEIGHTS_NAME, INDEX_NAME)
                                     or SHARD_PATTERN.fullmatch(old.name)):
            old.unlink()
    return tuple(str(final) for _, final in written)

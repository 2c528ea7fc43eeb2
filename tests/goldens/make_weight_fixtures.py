"""Write the small weight-file fixtures of tests/oracle/test_weights.py (needs torch + safetensors).

    python tests/goldens/make_weight_fixtures.py

Writes tests/fixtures/weights/: PyTorch zip archives (as torch.save writes them) and
safetensors files covering every dtype LUKE checkpoints use, a storage shared by two names
(tied weights), strided views with storage offsets, a parameter, sharded checkpoints of
both formats with their index files, a legacy (pre-zip) torch file, and expected.npz with
the true values of every tensor (key "<file>:<name>"; bfloat16 values widened to float32).
The default tests compare numpy_luke's readers against expected.npz without torch.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "weights"


def as_numpy(tensor: torch.Tensor) -> np.ndarray:
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.float()  # exact: bfloat16 -> float32 only appends zero bits
    return tensor.detach().contiguous().numpy().copy()


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    generator = torch.Generator().manual_seed(1234)

    def randn(*shape, dtype=torch.float32):
        return torch.randn(*shape, generator=generator).to(dtype)

    expected: dict[str, np.ndarray] = {}

    def record(filename: str, state: dict) -> None:
        for name, tensor in state.items():
            expected[f"{filename}:{name}"] = as_numpy(tensor)

    # 1. One tensor per dtype (the published LUKE files hold float32 and int64).
    dtypes = {
        "float32": randn(3, 4),
        "float16": randn(2, 5, dtype=torch.float16),
        "bfloat16": randn(7, dtype=torch.bfloat16),
        "float64": randn(2, 2, dtype=torch.float64),
        "int64": torch.arange(-3, 6, dtype=torch.int64).reshape(3, 3),
        "int32": torch.tensor([1, -2, 3], dtype=torch.int32),
        "bool": torch.tensor([True, False, True]),
        "uint8": torch.tensor([0, 7, 255], dtype=torch.uint8),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 4),
    }
    torch.save(dtypes, OUT / "dtypes.bin")
    record("dtypes.bin", dtypes)
    save_file(dtypes, OUT / "dtypes.safetensors", metadata={"format": "pt"})
    record("dtypes.safetensors", dtypes)

    # 2. Tied weights: two names, one storage (as LUKE's decoder and word embeddings).
    shared = randn(5, 3)
    tied = {"embeddings.weight": shared, "decoder.weight": shared, "decoder.bias": randn(5)}
    torch.save(tied, OUT / "tied.bin")
    record("tied.bin", tied)

    # 3. Views: transposed, offset into the storage, sliced with a step, and a Parameter;
    #    saved to a buffer so the archive's top folder is "archive/", not the file stem.
    base = randn(6, 8)
    strided = {
        "base": base,
        "transposed": base.t(),
        "offset": base[2:, 3:],
        "offset_transposed": base[1:4, 2:7].t(),
        "stepped": base[::2, 1::3],
        "row": base[4],
        "parameter": torch.nn.Parameter(randn(2, 3), requires_grad=False),
        "half_view": randn(4, 6, dtype=torch.float16)[1:, ::2],
    }
    buffer = io.BytesIO()
    torch.save(strided, buffer)
    (OUT / "strided.bin").write_bytes(buffer.getvalue())
    record("strided.bin", strided)

    # 4. Sharded checkpoints of both formats, with the index files transformers writes.
    shards = [{"a.weight": randn(4, 2), "a.bias": randn(4)}, {"b.weight": randn(3, 3)}]
    for kind, pattern, index_name in [
        ("bin", "pytorch_model-{:05d}-of-00002.bin", "pytorch_model.bin.index.json"),
        ("safetensors", "model-{:05d}-of-00002.safetensors", "model.safetensors.index.json"),
    ]:
        folder = OUT / f"sharded-{kind}"
        folder.mkdir()
        weight_map = {}
        for number, shard in enumerate(shards, start=1):
            filename = pattern.format(number)
            if kind == "bin":
                torch.save(shard, folder / filename)
            else:
                save_file(shard, folder / filename)
            record(f"sharded-{kind}/{filename}", shard)
            weight_map.update(dict.fromkeys(shard, filename))
        index = {"metadata": {"total_size": 0}, "weight_map": weight_map}
        (folder / index_name).write_text(json.dumps(index, indent=2) + "\n")

    # 5. The legacy format (torch < 1.6): every dtype, tied weights and views in one stream.
    legacy = {**dtypes, **tied, **strided}
    torch.save(legacy, OUT / "legacy.bin", _use_new_zipfile_serialization=False)
    record("legacy.bin", legacy)

    np.savez_compressed(OUT / "expected.npz", **expected)
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"wrote {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()

"""Write a checkpoint of luke-base size with random weights (needs torch + transformers).

    python benchmarks/make_lukebase_checkpoint.py [WORK_DIR]   # default benchmarks/_work

The shapes and key names are those of ``LukeForMaskedLM`` with luke-base's configuration
(50,267 words, 500,000 entities, hidden 768, entity embeddings 256, 12 layers of 12 heads,
intermediate 3,072, 514 positions, 2 token types), so the files look like the published
``studio-ousia/luke-base``:

    WORK_DIR/luke-base-bin/          config.json + pytorch_model.bin (torch.save of the
                                     state dict: the published layout, tied weights share
                                     one storage)
    WORK_DIR/luke-base-safetensors/  config.json + model.safetensors (save_pretrained)
    WORK_DIR/luke-base-legacy/       config.json + pytorch_model.bin in torch's legacy
                                     (pre-1.6, non-zip) format

About 1.1 GB each. Nothing here is committed; benchmarks/_work/ is git-ignored.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
from transformers import LukeConfig, LukeForMaskedLM

HERE = Path(__file__).resolve().parent


def lukebase_config() -> LukeConfig:
    return LukeConfig(
        vocab_size=50267,
        entity_vocab_size=500000,
        hidden_size=768,
        entity_emb_size=256,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=514,
        type_vocab_size=2,
        use_entity_aware_attention=True,
    )


def make(work: Path) -> list[Path]:
    bin_dir, st_dir = work / "luke-base-bin", work / "luke-base-safetensors"
    legacy_dir = work / "luke-base-legacy"
    files = [
        bin_dir / "pytorch_model.bin",
        st_dir / "model.safetensors",
        legacy_dir / "pytorch_model.bin",
    ]
    if all(file.is_file() for file in files):
        print(f"already there: {', '.join(str(file) for file in files)}")
        return [file.parent for file in files]
    start = time.perf_counter()
    torch.manual_seed(0)
    model = LukeForMaskedLM(lukebase_config()).eval()
    st_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(st_dir, safe_serialization=True)  # config.json + model.safetensors
    bin_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), bin_dir / "pytorch_model.bin")
    legacy_dir.mkdir(parents=True, exist_ok=True)
    torch.save(
        model.state_dict(),
        legacy_dir / "pytorch_model.bin",
        _use_new_zipfile_serialization=False,
    )
    config = json.loads((st_dir / "config.json").read_text())
    for folder in (bin_dir, legacy_dir):
        (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    elapsed = time.perf_counter() - start
    for path in files:
        print(f"{path}: {path.stat().st_size / 1e6:.1f} MB")
    print(f"made in {elapsed:.0f} s")
    return [file.parent for file in files]


if __name__ == "__main__":
    make(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "_work")

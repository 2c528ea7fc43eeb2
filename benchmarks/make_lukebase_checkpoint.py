"""Write a checkpoint of luke-base size with random weights (needs torch + transformers).

    python benchmarks/make_lukebase_checkpoint.py [WORK_DIR]   # default benchmarks/_work

The weights are those of the luke-base stand-in (``make_lukebase_standin.py``: the shapes,
key names and configuration of the published ``studio-ousia/luke-base`` as a
``LukeForMaskedLM``, 500,000 entities, 1 token type, the entity-aware queries copied from
``query`` as the conversion does; random values otherwise), put into transformers'
``LukeForMaskedLM`` and saved three ways:

    WORK_DIR/luke-base-bin/          config.json + pytorch_model.bin (torch.save of the
                                     state dict: the published layout, tied weights share
                                     one storage)
    WORK_DIR/luke-base-safetensors/  config.json + model.safetensors (save_pretrained)
    WORK_DIR/luke-base-legacy/       config.json + pytorch_model.bin in torch's legacy
                                     (pre-1.6, non-zip) format

About 1.1 GB each. Nothing here is committed; benchmarks/_work/ is git-ignored.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import torch
from transformers import LukeConfig, LukeForMaskedLM

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location(
    "make_lukebase_standin", HERE / "make_lukebase_standin.py"
)
standin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(standin)
# Tied or derived: what load_state_dict may report missing.
TIED = {
    "lm_head.decoder.weight",
    "lm_head.decoder.bias",
    "entity_predictions.decoder.weight",
    "luke.embeddings.position_ids",
}


def lukebase_config() -> LukeConfig:
    skip = {"architectures", "model_type", "bert_model_name"}
    return LukeConfig(**{k: v for k, v in standin.CONFIG.items() if k not in skip})


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
    model = LukeForMaskedLM(lukebase_config()).eval()
    state = {
        key: torch.from_numpy(value)
        for key, value in standin.random_state_dict(standin.entity_vocab()).items()
    }
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and set(missing) <= TIED, (missing, unexpected)
    model.tie_weights()
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

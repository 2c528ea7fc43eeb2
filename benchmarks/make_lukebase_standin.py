"""Write a stand-in for ``studio-ousia/luke-base``: its layout and properties, random values.

    python benchmarks/make_lukebase_standin.py [FOLDER]

FOLDER defaults to benchmarks/_work/luke-base-standin (git-ignored).

NumPy + safetensors only (no torch), about 7 s and 1.1 GB. The folder holds what
``from_pretrained("studio-ousia/luke-base")`` reads, with the properties transformers'
conversion script (``convert_luke_original_pytorch_checkpoint_to_pytorch.py``) gives the
published checkpoint:

* ``LukeForMaskedLM`` layout: encoder keys under ``luke.``, the heads under ``lm_head.`` and
  ``entity_predictions.`` (luke-base's layout; luke-large's is not verified, see
  docs/checkpoints.md).
* luke-base's sizes: 12 layers of 12 heads, hidden 768, intermediate 3,072, entity embeddings
  of 256 projected up to 768, 514 positions, 50,267 words (RoBERTa's 50,265 plus ``<ent>``
  and ``<ent2>``), 500,000 entities. ``type_vocab_size`` 1 and ``layer_norm_eps`` 1e-5: the
  conversion builds its config from the original checkpoint's metadata, which copies
  roberta-base's configuration (one token type, eps 1e-5); configs on the Hub of models
  fine-tuned from studio-ousia/luke-base carry the same values, with
  ``"bert_model_name": "roberta-base"``.
* ``w2e_query``, ``e2w_query`` and ``e2e_query`` equal to ``query`` in every layer (LUKE was
  pre-trained with ordinary attention; the conversion copies ``query`` into the three so
  that fine-tuning with entity-aware attention starts from it).
* The ``[MASK2]`` entity's embedding a copy of ``[MASK]``'s; the word embeddings of
  ``<ent>`` (50265) and ``<ent2>`` (50266) copies of those of ``@`` and ``#``.
* Both decoders tied: ``lm_head.decoder.weight`` is the word embedding matrix and
  ``entity_predictions.decoder.weight`` the entity embedding matrix. As in files written by
  ``save_pretrained(..., safe_serialization=True)`` the tied copies are left out of
  ``model.safetensors`` and filled in at load time.
* Tokenizer files: RoBERTa's real ``vocab.json``/``merges.txt`` (symlinked from
  $NUMPY_LUKE_TEST_DATA/roberta-base, never committed), the tokenizer_config,
  special_tokens_map and added_tokens of ``tests/fixtures/real-vocab-luke``, and an
  ``entity_vocab.json`` of 500,000 titles: ``[PAD]`` 0, ``[UNK]`` 1, ``[MASK]`` 2, real titles
  the walkthrough and tests use, made-up titles, and ``[MASK2]`` last (499,999).

Everything else is random (seeded): weights N(0, 0.02) as transformers initialises them,
biases N(0, 0.02), layer norm gains near 1. So predictions are meaningless; the layout, the
shapes, the ties and the copies are what the published file has.

``fine_tuned_queries(params, seed)`` gives a fine-tuned-style variant in memory: the same
parameters with learned-looking, different ``w2e``/``e2w``/``e2e`` queries (chapter 4).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REAL_VOCAB_LUKE = ROOT / "tests" / "fixtures" / "real-vocab-luke"
TINY_LUKE = ROOT / "tests" / "fixtures" / "tiny-luke"

ENTITY_VOCAB_SIZE = 500_000
ENT_ID, ENT2_ID = 50265, 50266  # <ent>, <ent2>: appended after RoBERTa's 50,265 tokens
AT_ID, HASH_ID = 1039, 10431  # "@" and "#" in RoBERTa's vocab.json (checked in make())
QUERIES = ("w2e_query", "e2w_query", "e2e_query")

# luke-base's configuration as the conversion writes it (see the module docstring).
CONFIG = {
    "architectures": ["LukeForMaskedLM"],
    "model_type": "luke",
    "vocab_size": 50267,
    "entity_vocab_size": ENTITY_VOCAB_SIZE,
    "hidden_size": 768,
    "entity_emb_size": 256,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "max_position_embeddings": 514,
    "type_vocab_size": 1,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-05,
    "use_entity_aware_attention": True,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "pad_token_id": 1,
    "bert_model_name": "roberta-base",
}


def roberta_dir() -> Path:
    """$NUMPY_LUKE_TEST_DATA/roberta-base, which must hold the real vocab.json and merges.txt."""
    data = os.environ.get("NUMPY_LUKE_TEST_DATA")
    folder = Path(data) / "roberta-base" if data else None
    if (
        folder is None
        or not (folder / "vocab.json").is_file()
        or not (folder / "merges.txt").is_file()
    ):
        raise SystemExit(
            "set NUMPY_LUKE_TEST_DATA to a folder holding roberta-base/vocab.json "
            "and roberta-base/merges.txt (RoBERTa's real BPE files)"
        )
    return folder


def entity_vocab() -> dict[str, int]:
    """500,000 titles: the special entities, real titles the tests and chapters use, made-up
    titles, and ``[MASK2]`` as the last id."""
    titles = ["[PAD]", "[UNK]", "[MASK]"]
    for source in (TINY_LUKE, REAL_VOCAB_LUKE):
        known = json.loads((source / "entity_vocab.json").read_text(encoding="utf-8"))
        titles += [t for t in known if t not in titles and not t.startswith("[")]
    made_up = ENTITY_VOCAB_SIZE - 1 - len(titles)
    titles += [f"Stand-in entity {n:06d}" for n in range(made_up)]
    titles.append("[MASK2]")
    return {title: index for index, title in enumerate(titles)}


def shapes(config: dict = CONFIG) -> dict[str, tuple]:
    """Key -> shape of every tensor of LukeForMaskedLM as stored (tied decoders left out):
    numpy_luke's own tables of the encoder's tensors (stored under ``luke.``) and the
    masked-LM head's."""
    from numpy_luke import LukeConfig, LukeForMaskedLM
    from numpy_luke.state_dict import encoder_shapes

    luke = LukeConfig.from_dict(config)
    out = {f"luke.{key}": shape for key, shape in encoder_shapes(luke).items()}
    out.update(LukeForMaskedLM.head_shapes(luke))
    for tied in ("lm_head.decoder.weight", "entity_predictions.decoder.weight"):
        del out[tied]  # the embedding tables themselves (tied), so not stored
    return out


def random_state_dict(vocab: dict[str, int], seed: int = 0) -> dict[str, np.ndarray]:
    """Random float32 tensors of luke-base's layout, with the conversion's copies made."""
    rng = np.random.default_rng(seed)
    std = CONFIG["initializer_range"]
    state = {}
    for key, shape in shapes().items():
        if "LayerNorm.weight" in key or "layer_norm.weight" in key:
            array = 1 + rng.standard_normal(shape, dtype=np.float32) * np.float32(std)
        else:
            array = rng.standard_normal(shape, dtype=np.float32)
            array *= np.float32(std)
        state[key] = array
    # The conversion's copies.
    words = state["luke.embeddings.word_embeddings.weight"]
    words[ENT_ID] = words[AT_ID]
    words[ENT2_ID] = words[HASH_ID]
    entities = state["luke.entity_embeddings.entity_embeddings.weight"]
    entities[vocab["[MASK2]"]] = entities[vocab["[MASK]"]]
    for layer in range(CONFIG["num_hidden_layers"]):
        p = f"luke.encoder.layer.{layer}.attention.self."
        for name in QUERIES:
            for part in ("weight", "bias"):
                state[f"{p}{name}.{part}"] = state[f"{p}query.{part}"].copy()
    return state


def fine_tuned_queries(
    params: dict[str, np.ndarray], seed: int = 1, scale: float = 0.5
) -> dict[str, np.ndarray]:
    """A copy of ``params`` (keys with or without ``luke.``) in which every layer's
    ``w2e``/``e2w``/``e2e`` queries have moved away from ``query``, as fine-tuning with
    entity-aware attention moves them: ``query + scale * N(0, std(query))`` (a new array per
    matrix; the other parameters are shared, not copied)."""
    rng = np.random.default_rng(seed)
    out = dict(params)
    for key in params:
        name = key.rsplit(".", 2)
        if len(name) == 3 and name[1] in QUERIES:
            base = params[f"{name[0]}.query.{name[2]}"]
            noise = rng.standard_normal(base.shape) * float(np.std(base)) * scale
            out[key] = (base + noise).astype(base.dtype)
    return out


def make(folder: Path) -> Path:
    """Write the stand-in into ``folder`` (skipped when it is already complete)."""
    from safetensors.numpy import save_file

    folder = Path(folder)
    done = folder / "model.safetensors"
    if done.is_file() and (folder / "entity_vocab.json").is_file():
        print(f"already there: {folder}")
        return folder
    start = time.perf_counter()
    roberta = roberta_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("vocab.json", "merges.txt"):
        target = folder / name
        if target.is_symlink() or target.exists():
            target.unlink()
        target.symlink_to(roberta / name)
    for name in ("tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"):
        shutil.copyfile(REAL_VOCAB_LUKE / name, folder / name)
    vocab = entity_vocab()
    (folder / "entity_vocab.json").write_text(
        json.dumps(vocab, ensure_ascii=False), encoding="utf-8"
    )
    (folder / "config.json").write_text(json.dumps(CONFIG, indent=2) + "\n")
    word_ids = json.loads((roberta / "vocab.json").read_text(encoding="utf-8"))
    assert (word_ids["@"], word_ids["#"]) == (AT_ID, HASH_ID), "not RoBERTa's vocab.json"
    state = random_state_dict(vocab)
    partial = folder / "model.safetensors.partial"
    save_file(state, str(partial), metadata={"format": "pt"})
    partial.replace(done)
    print(
        f"{done}: {done.stat().st_size / 1e6:.1f} MB, "
        f"{sum(a.size for a in state.values()):,} stored parameters, "
        f"made in {time.perf_counter() - start:.1f} s"
    )
    return folder


if __name__ == "__main__":
    make(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "_work" / "luke-base-standin")

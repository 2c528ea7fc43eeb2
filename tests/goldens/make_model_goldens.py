"""Make the model goldens: transformers' own LUKE outputs on small random checkpoints.

For every case below this script builds a tiny random checkpoint with transformers (the
oracle), saves it in one of the two file formats, runs transformers on fixed inputs with
``output_hidden_states`` and ``output_attentions``, and writes into
``tests/goldens/model/<case>/``:

    config.json                          the checkpoint's config
    model.safetensors | pytorch_model.bin   its weights (safetensors: save_pretrained, tied
                                         copies left out; .bin: torch.save of the state dict)
    goldens.npz                          run<k>.in.<input>, run<k>.out.<output>[.<layer>]
    case.json                            class name and, per run, the flags it used

``tests/oracle/test_model_goldens.py`` then compares numpy_luke against these files without torch.

The cases cover: every class; entity-aware attention on and off; entity_emb_size equal to
and different from hidden_size; padded words and padded entities; one and two token
types; both file formats; runs without entities; losses (including -100 labels,
multi-label targets and regression).

It also writes the tiny fixture model ``tests/fixtures/tiny-luke/{config.json,
model.safetensors}``: a LukeForMaskedLM sized from that folder's tokenizer files.

Run: ``python tests/goldens/make_model_goldens.py`` (needs torch and transformers; the
output is deterministic: fixed seeds).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch
import transformers

HERE = Path(__file__).parent
OUT = HERE / "model"
TINY = HERE.parent / "fixtures" / "tiny-luke"

SMALL = dict(
    vocab_size=64,
    entity_vocab_size=16,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=64,
    max_position_embeddings=40,
)


def randomize(model: torch.nn.Module, seed: int) -> None:
    """Give every parameter clearly non-trivial random values (init's tiny std hides bugs)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator)
            if "LayerNorm" in name or "layer_norm" in name:
                param.copy_((1.0 if name.endswith("weight") else 0.0) + 0.2 * noise)
            elif name.endswith("bias"):
                param.copy_(0.2 * noise)
            else:
                param.copy_(0.3 * noise)


def words_inputs(batch=2, words=7, vocab=64, seed=0, pad=1, two_types=True):
    """input_ids with <s> ... </s> and trailing padding on the last row."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(3, vocab, size=(batch, words))
    ids[:, 0] = 0
    lengths = [words] + [words - 2 - i for i in range(batch - 1)]
    for row, length in enumerate(lengths):
        ids[row, length - 1] = 2
        ids[row, length:] = pad
    mask = (ids != pad).astype(np.int64)
    inputs = {"input_ids": ids, "attention_mask": mask}
    if two_types:
        types = np.zeros_like(ids)
        types[:, 3:] = 1
        inputs["token_type_ids"] = types * mask
    return inputs


def entity_inputs(batch=2, entities=3, mention=3, entity_vocab=16, seed=1, two_types=True):
    """entity ids, masks and mention positions; the last row has one padded entity."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, entity_vocab, size=(batch, entities))
    mask = np.ones((batch, entities), dtype=np.int64)
    positions = np.full((batch, entities, mention), -1, dtype=np.int64)
    for row in range(batch):
        for entity in range(entities):
            start = 1 + entity
            length = 1 + (row + entity) % mention
            positions[row, entity, :length] = np.arange(start, start + length)
    ids[-1, -1] = 0
    mask[-1, -1] = 0
    positions[-1, -1] = -1
    inputs = {"entity_ids": ids, "entity_attention_mask": mask, "entity_position_ids": positions}
    if two_types:
        types = np.zeros_like(ids)
        types[:, -1] = 1
        inputs["entity_token_type_ids"] = types * mask
    return inputs


def both(two_types=True, **kw):
    return {**words_inputs(two_types=two_types), **entity_inputs(two_types=two_types), **kw}


# name: (class, format, config overrides, list of runs: (inputs, flags))
FLAGS = {"output_hidden_states": True, "output_attentions": True}


def cases():
    span = {
        "entity_start_positions": np.array([[1, 2, 3], [1, 2, 1]]),
        "entity_end_positions": np.array([[2, 4, 3], [3, 2, 1]]),
    }
    return {
        "base_aware_proj": (
            "LukeModel",
            "safetensors",
            dict(entity_emb_size=16, use_entity_aware_attention=True),
            [(both(), FLAGS), (words_inputs(), FLAGS), (both(), {})],
        ),
        "base_plain_one_type": (
            "LukeModel",
            "bin",
            dict(entity_emb_size=32, use_entity_aware_attention=False, type_vocab_size=1),
            [(both(two_types=False), FLAGS)],
        ),
        "base_aware_same_bin": (
            "LukeModel",
            "bin",
            dict(entity_emb_size=32, use_entity_aware_attention=True),
            [(both(), FLAGS)],
        ),
        "masked_lm": (
            "LukeForMaskedLM",
            "safetensors",
            dict(entity_emb_size=16),
            [
                (
                    both(
                        labels=np.where(
                            words_inputs()["attention_mask"] == 1,
                            np.arange(14).reshape(2, 7) + 3,
                            -100,
                        ),
                        entity_labels=np.array([[2, -100, 5], [7, 1, -100]]),
                    ),
                    FLAGS,
                ),
                (words_inputs(), {}),
            ],
        ),
        "masked_lm_bin_plain": (
            "LukeForMaskedLM",
            "bin",
            dict(entity_emb_size=24, use_entity_aware_attention=False),
            [(both(labels=np.full((2, 7), -100)), FLAGS)],
        ),
        "entity_classification": (
            "LukeForEntityClassification",
            "bin",
            dict(entity_emb_size=16, num_labels=3),
            [
                (both(labels=np.array([2, 0])), FLAGS),
                (both(labels=np.array([[1, 0, 1], [0, 0, 1]])), {}),
            ],
        ),
        "entity_pair_classification": (
            "LukeForEntityPairClassification",
            "safetensors",
            dict(entity_emb_size=32, num_labels=4, use_entity_aware_attention=False),
            [(both(labels=np.array([3, 1])), FLAGS)],
        ),
        "entity_span_classification": (
            "LukeForEntitySpanClassification",
            "bin",
            dict(entity_emb_size=16, num_labels=5),
            [
                (both(**span, labels=np.array([[0, 4, -100], [2, 1, -100]])), FLAGS),
                (both(**span, labels=np.random.default_rng(5).integers(0, 2, (2, 3, 5))), {}),
            ],
        ),
        "sequence_classification": (
            "LukeForSequenceClassification",
            "safetensors",
            dict(entity_emb_size=16, num_labels=3),
            [
                (both(labels=np.array([2, 1])), FLAGS),
                (both(labels=np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], dtype=np.float32)), {}),
                ({**words_inputs(), "labels": np.array([0, 2])}, {}),
            ],
        ),
        "sequence_regression": (
            "LukeForSequenceClassification",
            "bin",
            dict(entity_emb_size=16, num_labels=1),
            [(both(labels=np.array([0.5, -1.25], dtype=np.float32)), {})],
        ),
        "token_classification": (
            "LukeForTokenClassification",
            "bin",
            dict(entity_emb_size=16, num_labels=4),
            [
                (
                    both(
                        labels=np.where(
                            words_inputs()["attention_mask"] == 1,
                            np.arange(14).reshape(2, 7) % 4,
                            -100,
                        )
                    ),
                    FLAGS,
                ),
            ],
        ),
        "question_answering": (
            "LukeForQuestionAnswering",
            "safetensors",
            dict(entity_emb_size=16, num_labels=2),
            [
                (both(start_positions=np.array([1, 3]), end_positions=np.array([4, 30])), FLAGS),
                (words_inputs(), {}),
            ],
        ),
        "multiple_choice": (
            "LukeForMultipleChoice",
            "bin",
            dict(entity_emb_size=16),
            [
                (choices(labels=np.array([1, 0])), FLAGS),
            ],
        ),
    }


def choices(labels):
    """Multiple-choice inputs: (batch=2, choices=3, ...) built from the other inputs."""
    first = {**words_inputs(batch=3, seed=7), **entity_inputs(batch=3, seed=8)}
    second = {**words_inputs(batch=3, seed=9), **entity_inputs(batch=3, seed=10)}
    out = {name: np.stack([first[name], second[name]]) for name in first}
    out["labels"] = labels
    return out


def build(class_name, overrides, seed):
    config = transformers.LukeConfig(**{**SMALL, **overrides})
    torch.manual_seed(seed)
    model = getattr(transformers, class_name)(config).eval()
    randomize(model, seed)
    return model


def save(model, folder: Path, file_format: str) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    if file_format == "safetensors":
        model.save_pretrained(folder, safe_serialization=True)
    else:
        model.config.to_json_file(folder / "config.json")
        torch.save(model.state_dict(), folder / "pytorch_model.bin")


def flatten_outputs(outputs) -> dict[str, np.ndarray]:
    flat = {}
    for key, value in outputs.items():
        if isinstance(value, tuple):
            for i, item in enumerate(value):
                if item is not None:
                    flat[f"{key}.{i}"] = item.detach().numpy()
        elif value is not None:
            flat[key] = value.detach().numpy()
    return flat


def make_case(name, class_name, file_format, overrides, runs, seed):
    folder = OUT / name
    model = build(class_name, overrides, seed)
    save(model, folder, file_format)
    arrays, meta = {}, {"class": class_name, "format": file_format, "runs": []}
    for k, (inputs, flags) in enumerate(runs):
        tensors = {key: torch.tensor(value) for key, value in inputs.items()}
        # transformers writes its guess of problem_type into the config on the first call
        # with labels; every run here starts fresh, as numpy_luke guesses per call.
        model.config.problem_type = None
        with torch.no_grad():
            outputs = model(**tensors, **flags)
        for key, value in inputs.items():
            arrays[f"run{k}.in.{key}"] = np.asarray(value)
        for key, value in flatten_outputs(outputs).items():
            arrays[f"run{k}.out.{key}"] = value
        meta["runs"].append({"flags": flags, "outputs": list(outputs.keys())})
    np.savez_compressed(folder / "goldens.npz", **arrays)
    (folder / "case.json").write_text(json.dumps(meta, indent=1) + "\n")


def make_tiny_fixture():
    """tests/fixtures/tiny-luke: a LukeForMaskedLM sized from the tokenizer files there."""
    vocab = json.loads((TINY / "vocab.json").read_text(encoding="utf-8"))
    added = json.loads((TINY / "added_tokens.json").read_text(encoding="utf-8"))
    entities = json.loads((TINY / "entity_vocab.json").read_text(encoding="utf-8"))
    config = transformers.LukeConfig(
        vocab_size=len(vocab) + len(added),
        entity_vocab_size=len(entities),
        hidden_size=32,
        entity_emb_size=16,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=514,
        initializer_range=0.1,
    )
    torch.manual_seed(20201116)
    model = transformers.LukeForMaskedLM(config).eval()
    for name in ("config.json", "model.safetensors"):
        (TINY / name).unlink(missing_ok=True)
    model.save_pretrained(TINY, safe_serialization=True)


def main():
    for seed, (name, (class_name, file_format, overrides, runs)) in enumerate(cases().items()):
        make_case(name, class_name, file_format, overrides, runs, seed)
        print(f"{name}: {class_name} ({file_format})")
    make_tiny_fixture()
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"goldens: {total / 1e6:.2f} MB in {OUT}")


if __name__ == "__main__":
    main()

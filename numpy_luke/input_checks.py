"""Model inputs, checked at the models' door: the arrays a tokenizer makes (shapes, dtypes,
id ranges, masks), labels, transformers' call conventions (positional arguments,
unsupported ones refused) and the compute dtype. ``modeling.py`` calls these before the
core, which trusts its inputs.

Messages say what was wrong and what to do; errors are the built-in exceptions
transformers raises in the same place.
"""

from __future__ import annotations

import numpy as np

from .checks import short

INPUT_NAMES = (
    "input_ids", "attention_mask", "token_type_ids", "position_ids", "entity_ids",
    "entity_attention_mask", "entity_token_type_ids", "entity_position_ids",
)


def prepare_inputs(config, **inputs) -> dict[str, np.ndarray | None]:
    """Turn a tokenizer's output (arrays or nested lists) into checked integer arrays.

    A single unbatched example (1-D ``input_ids``) gets a batch axis of 1. Ragged lists,
    shapes that do not fit together, ids outside the vocabularies and more words than the
    position table numbers raise ``ValueError`` naming the input (``TypeError`` for ids that
    are not numbers), never an index error deep inside or a silently wrapped index.
    """
    arrays = {name: None if inputs.get(name) is None else _number_array(name, inputs[name])
              for name in INPUT_NAMES}

    input_ids = arrays["input_ids"]
    if input_ids is None:
        raise ValueError("input_ids is required")
    if input_ids.ndim == 1:  # one example without a batch axis
        for name, array in arrays.items():
            if array is not None:
                arrays[name] = array[None]
        input_ids = arrays["input_ids"]
    if input_ids.ndim != 2:
        raise ValueError(f"input_ids must have shape (batch, words); got {input_ids.shape}")
    batch, words = input_ids.shape
    if batch == 0 or words == 0:
        raise ValueError(f"input_ids has shape {input_ids.shape}: no examples or no tokens; "
                         "give at least one example of at least one token (the tokenizer "
                         "adds <s> and </s>)")
    if arrays["position_ids"] is None:
        _check_text_fits(input_ids, config)

    for name in ("attention_mask", "token_type_ids", "position_ids"):
        array = arrays[name]
        if array is not None and array.shape != (batch, words) and not (
            name == "attention_mask" and array.shape == (batch, words, words)  # query x key
        ):
            raise ValueError(f"{name} has shape {array.shape}; expected {(batch, words)}")
    if arrays["attention_mask"] is not None and arrays["attention_mask"].ndim == 3 and \
            arrays["entity_ids"] is not None:
        raise ValueError("a 3-D (batch, words, words) attention_mask works without entities "
                         "only (as in transformers); give a (batch, words) mask")
    _check_range(arrays, "input_ids", config.vocab_size)
    _check_range(arrays, "token_type_ids", config.type_vocab_size)
    _check_range(arrays, "position_ids", config.max_position_embeddings)
    if arrays["entity_ids"] is not None:
        _check_entity_inputs(arrays, batch, config)
    else:
        arrays["entity_attention_mask"] = None
        arrays["entity_token_type_ids"] = None
        arrays["entity_position_ids"] = None
    return arrays


def _check_range(arrays: dict, name: str, high: int, low: int = 0) -> None:
    array = arrays[name]
    if array is not None and array.size and (array.min() < low or array.max() >= high):
        raise ValueError(
            f"{name} holds values in [{array.min()}, {array.max()}] but must lie in "
            f"[{low}, {high - 1}] for this model; was the input made for another checkpoint?"
        )


def _check_entity_inputs(arrays: dict, batch: int, config) -> None:
    """The entity inputs: shapes that fit ``entity_ids`` (batch, entities), ids and
    positions in range; empty position lists get their mention axis."""
    entity_ids = arrays["entity_ids"]
    if entity_ids.ndim != 2 or entity_ids.shape[0] != batch:
        raise ValueError(f"entity_ids has shape {entity_ids.shape}; expected "
                         f"({batch}, entities)")
    positions = arrays["entity_position_ids"]
    if positions is None:
        raise ValueError("entity_position_ids is required with entity_ids: it says where "
                         "each entity's mention is (the tokenizer makes it)")
    if positions.size == 0 and positions.ndim == 2:  # no entities, as empty lists
        positions = arrays["entity_position_ids"] = positions.reshape(*positions.shape, 1)
    if positions.ndim != 3 or positions.shape[:2] != entity_ids.shape:
        raise ValueError(f"entity_position_ids has shape {positions.shape}; expected "
                         f"{entity_ids.shape + ('max_mention_length',)}")
    _check_range(arrays, "entity_ids", config.entity_vocab_size)
    _check_range(arrays, "entity_token_type_ids", config.type_vocab_size)
    _check_range(arrays, "entity_position_ids", config.max_position_embeddings, low=-1)
    for name in ("entity_attention_mask", "entity_token_type_ids"):
        if arrays[name] is not None and arrays[name].shape != entity_ids.shape:
            raise ValueError(f"{name} has shape {arrays[name].shape}; expected "
                             f"{entity_ids.shape}")


def _number_array(name: str, value) -> np.ndarray:
    """One input as an array: masks keep their dtype, ids become int64 (exactly)."""
    try:
        array = np.asarray(value)
    except ValueError:  # NumPy refuses nested lists of different lengths
        array = np.empty(0, dtype=object)
    if array.dtype == object:
        raise ValueError(f"{name} is ragged (rows of different lengths) or holds non-numbers; "
                         "pad the batch, e.g. tokenizer(..., padding=True)")
    is_number = np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    if "mask" in name:
        if not (is_number or array.dtype == bool):
            raise TypeError(f"{name} must hold numbers (1 = attend, 0 = padding); "
                            f"got dtype {array.dtype}")
        # Only 0 and 1 mean something: transformers 4.57 adds (1 - mask) * min to the scores
        # (0.5 or 2 silently reweight, NaN poisons every output), 5.x reads any non-zero as
        # 1. Refused rather than guessed (docs/bad-input.md).
        if array.dtype != bool and array.size and not ((array == 0) | (array == 1)).all():
            odd = array[(array != 0) & (array != 1)]
            raise ValueError(f"{name} must hold only 0 (padding) and 1 (attend); got "
                             f"{short(odd.ravel()[:3].tolist())}"
                             f"{' ...' if odd.size > 3 else ''}")
        return array
    if not is_number:  # bool ids would silently read as the tokens 0 and 1
        raise TypeError(f"{name} must hold integer ids; got dtype {array.dtype}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not np.all(np.isfinite(array) & (array == np.round(array))):
            raise ValueError(f"{name} must hold integers; got non-integral or non-finite values")
    if array.size and (array.max() >= 2**63 or array.min() < -(2**63)):
        raise ValueError(f"{name} holds values beyond the int64 range ({array.max()}); "
                         "these are no ids of any vocabulary")
    return array.astype(np.int64, copy=False)


def _check_text_fits(input_ids: np.ndarray, config) -> None:
    """The word positions RoBERTa counts (pad_token_id + 1, + 2, ...) must fit the
    position table; a longer text would index past its end."""
    pad, table = config.pad_token_id, config.max_position_embeddings
    if pad is None or not 0 <= pad < table:
        raise ValueError(f"the config's pad_token_id ({pad}) cannot number word positions "
                         f"(it must lie in 0..{table - 1}); pass position_ids explicitly")
    longest = int((input_ids != pad).sum(axis=1).max())  # tokens of the longest example
    if pad + longest >= table:
        raise ValueError(
            f"input_ids has {longest} tokens (besides padding) in one example, but this model "
            f"reads at most {table - pad - 1} (max_position_embeddings={table}); truncate "
            "the text, e.g. tokenizer(..., truncation=True, max_length=...)"
        )


def check_model_inputs(cls_name: str, inputs: dict, head_inputs: tuple[str, ...] = ()) -> None:
    """Refuse keyword inputs a model does not take (a typo must not be silently ignored)."""
    unknown = sorted(set(inputs) - set(INPUT_NAMES) - set(head_inputs))
    if unknown:
        raise TypeError(
            f"{cls_name} got unexpected input(s) {', '.join(unknown)}; it accepts "
            f"{', '.join(INPUT_NAMES + tuple(head_inputs))}, output_attentions and "
            "output_hidden_states"
        )


def check_entities(cls_name: str, entity_states: np.ndarray | None, count: int = 1):
    """A head that reads entity vectors needs at least ``count`` entities per example."""
    if entity_states is None or entity_states.shape[1] < count:
        raise ValueError(f"{cls_name} needs at least {count} entit{'y' if count == 1 else 'ies'} "
                         "per example: pass entity_ids and entity_position_ids (tokenize with "
                         "entity_spans)")
    return entity_states


def check_class_labels(labels, classes: int, ignore_index: int = -100) -> np.ndarray:
    """Class labels: integers in [0, classes) or ``ignore_index`` (rows left out)."""
    labels = np.asarray(labels).astype(np.int64)
    kept = labels[labels != ignore_index]
    if kept.size and (kept.min() < 0 or kept.max() >= classes):
        raise ValueError(f"labels must lie in [0, {classes - 1}] or be "
                         f"{ignore_index} (ignored); got values in [{kept.min()}, {kept.max()}]")
    return labels


def check_label_count(labels, logits: np.ndarray) -> np.ndarray:
    """Multi-label 0/1 targets: one per logit."""
    labels = np.asarray(labels)
    if labels.size != logits.size:
        raise ValueError(f"labels have {labels.size} values; expected {logits.size} "
                         "(one per logit)")
    return labels


def check_span_positions(value, entity_shape: tuple, words: int, name: str) -> np.ndarray:
    """entity_start_positions / entity_end_positions: (batch, entities) word indices."""
    positions = np.asarray(value).astype(np.int64)
    if positions.ndim == 1:
        positions = positions[None]
    if positions.shape != entity_shape[:2]:
        raise ValueError(f"{name} has shape {positions.shape}; expected {entity_shape[:2]}")
    if positions.size and (positions.min() < 0 or positions.max() >= words):
        raise ValueError(f"{name} must lie in [0, {words - 1}]")
    return positions


# Arguments of transformers' forward() that numpy_luke does not implement: refused when set.
UNSUPPORTED_ARGUMENTS = {
    "head_mask": "head_mask (masking attention heads) is not implemented",
    "inputs_embeds": "inputs_embeds is not implemented: pass input_ids",
}


def call_arguments(cls_name: str, names: tuple[str, ...], args: tuple, kwargs: dict) -> dict:
    """Match a call's positional and keyword arguments to ``names`` (transformers' order of
    ``forward``'s parameters); refuse extra, repeated, unknown and unsupported ones."""
    if len(args) > len(names):
        raise TypeError(f"{cls_name} takes at most {len(names)} positional arguments "
                        f"({', '.join(names)}); got {len(args)}")
    named = dict(zip(names, args, strict=False))
    for key, value in kwargs.items():
        if key in named:
            raise TypeError(f"{cls_name} got two values for {key!r} (by position and by name)")
        named[key] = value
    check_model_inputs(cls_name, named, tuple(n for n in names if n not in INPUT_NAMES))
    for key, message in UNSUPPORTED_ARGUMENTS.items():
        if named.pop(key, None) is not None:
            raise ValueError(f"{cls_name}: {message}; leave it None")
    return named


def model_dtype(dtype, config) -> np.dtype | None:
    """The float type a model computes in: float32 or float64. ``"auto"`` takes float64
    for a float64 checkpoint (its config's ``torch_dtype``/``dtype``), float32 otherwise
    (half-precision files are widened: NumPy computes float16 slowly and inexactly). None:
    "auto" with a config naming no dtype, so the weights decide (``weights_dtype``)."""
    if isinstance(dtype, str) and dtype == "auto":
        stored = str(config.extra.get("dtype") or config.extra.get("torch_dtype") or "")
        if not stored or stored == "None":
            return None
        return np.dtype(np.float64 if stored.endswith("float64") else np.float32)
    if str(dtype).startswith("torch."):  # torch.float32, given by a transformers user
        dtype = str(dtype).removeprefix("torch.")
    try:
        resolved = None if dtype is None else np.dtype(dtype)  # (np.dtype(None) is float64)
    except TypeError:
        resolved = None
    if resolved is None or resolved.name not in ("float32", "float64"):
        raise ValueError(f"dtype={dtype!r}: numpy_luke computes in float32 or float64 (or "
                         "'auto'); half-precision checkpoints are read and widened to float32")
    return resolved


def weights_dtype(state_dict: dict[str, np.ndarray]) -> np.dtype:
    """``dtype="auto"`` when the config names no dtype: as transformers, the dtype of the
    first floating-point tensor; float64 computes in float64, every other in float32."""
    for array in state_dict.values():
        if np.issubdtype(array.dtype, np.floating):
            return np.dtype(np.float64 if array.dtype == np.float64 else np.float32)
    return np.dtype(np.float32)


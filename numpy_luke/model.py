"""The LUKE encoder: embeddings, a stack of entity-aware transformer layers, a pooler.

One forward pass, top to bottom:

1. ``word_embeddings`` and ``entity_embeddings`` (embeddings.py) turn ids into vectors,
   (batch, words, hidden) and (batch, entities, hidden).
2. Each of the ``num_hidden_layers`` layers (``encoder_layer``) reads words and entities as
   one sequence: entity-aware self-attention (attention.py), then a position-wise
   feed-forward network, each followed by a residual connection and layer norm
   (post-norm, as in BERT and RoBERTa).
3. The pooler maps the first word's final vector (the ``<s>`` token) through a dense layer
   and tanh, for sentence-level heads.

``luke_model`` is the pure function of arrays; ``LukeModel`` is the thin class around it
that holds the config and the parameters and offers ``from_pretrained`` and ``__call__``.
The task heads (heads.py) build on both.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .attention import entity_aware_self_attention, extended_attention_mask
from .config import LukeConfig
from .embeddings import entity_embeddings, word_embeddings
from .functional import get_activation, layer_norm, linear
from .outputs import BaseLukeModelOutputWithPooling
from .state_dict import prepare_state_dict, scope


def encoder_layer(
    params: dict[str, np.ndarray],
    word_hidden_states: np.ndarray,
    entity_hidden_states: np.ndarray | None,
    attention_mask: np.ndarray | None,
    config: LukeConfig,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """One transformer layer over words + entities.

    x = LayerNorm(x + dense(attention(x)));  x = LayerNorm(x + dense(act(dense(x))))

    ``params`` holds one ``encoder.layer.{i}.*`` subtree without that prefix.
    (batch, words, hidden), (batch, entities, hidden) or None -> the same shapes, plus the
    attention probabilities (batch, heads, n, n).
    """
    words = word_hidden_states.shape[1]
    word_context, entity_context, probs = entity_aware_self_attention(
        scope(params, "attention.self."),
        word_hidden_states,
        entity_hidden_states,
        attention_mask,
        num_heads=config.num_attention_heads,
        use_entity_aware_attention=config.use_entity_aware_attention,
    )
    if entity_hidden_states is None:
        x, context = word_hidden_states, word_context  # (batch, words, hidden)
    else:
        x = np.concatenate([word_hidden_states, entity_hidden_states], axis=1)  # (b, n, hidden)
        context = np.concatenate([word_context, entity_context], axis=1)

    def dense(name, inputs):
        return linear(inputs, params[f"{name}.dense.weight"], params[f"{name}.dense.bias"])

    def norm(name, inputs):
        return layer_norm(inputs, params[f"{name}.LayerNorm.weight"],
                          params[f"{name}.LayerNorm.bias"], config.layer_norm_eps)

    x = norm("attention.output", dense("attention.output", context) + x)  # (b, n, hidden)
    inner = get_activation(config.hidden_act)(dense("intermediate", x))  # (b, n, intermediate)
    x = norm("output", dense("output", inner) + x)  # (batch, n, hidden)

    entity_out = None if entity_hidden_states is None else x[:, words:]
    return x[:, :words], entity_out, probs


def pooler(params: dict[str, np.ndarray], last_hidden_state: np.ndarray) -> np.ndarray:
    """tanh(dense(first token's vector)). (batch, words, hidden) -> (batch, hidden)"""
    return np.tanh(linear(last_hidden_state[:, 0], params["pooler.dense.weight"],
                          params["pooler.dense.bias"]))


def luke_model(
    params: dict[str, np.ndarray],
    config: LukeConfig,
    input_ids: np.ndarray,
    attention_mask: np.ndarray | None = None,
    token_type_ids: np.ndarray | None = None,
    position_ids: np.ndarray | None = None,
    entity_ids: np.ndarray | None = None,
    entity_attention_mask: np.ndarray | None = None,
    entity_token_type_ids: np.ndarray | None = None,
    entity_position_ids: np.ndarray | None = None,
    output_attentions: bool = False,
    output_hidden_states: bool = False,
    add_pooling_layer: bool = True,
) -> BaseLukeModelOutputWithPooling:
    """The LUKE encoder as a function of arrays (keys of ``params`` without ``luke.``).

    input_ids (batch, words); entity_ids (batch, entities) with entity_position_ids
    (batch, entities, max_mention_length). The float dtype of ``params`` is the dtype of
    the whole computation.
    """
    dtype = params["embeddings.word_embeddings.weight"].dtype
    batch, words = input_ids.shape
    if attention_mask is None:
        attention_mask = np.ones((batch, words), dtype=dtype)
    if entity_ids is not None and entity_attention_mask is None:
        entity_attention_mask = np.ones(entity_ids.shape, dtype=dtype)

    word_states = word_embeddings(  # (batch, words, hidden)
        scope(params, "embeddings."), input_ids, token_type_ids, position_ids,
        pad_token_id=config.pad_token_id, layer_norm_eps=config.layer_norm_eps,
    )
    entity_states = None
    if entity_ids is not None:
        entity_states = entity_embeddings(  # (batch, entities, hidden)
            scope(params, "entity_embeddings."), entity_ids, entity_position_ids,
            entity_token_type_ids, layer_norm_eps=config.layer_norm_eps,
        )
    mask = extended_attention_mask(  # (batch, 1, 1, words + entities)
        attention_mask, entity_attention_mask if entity_ids is not None else None, dtype
    )

    all_word_states, all_entity_states, all_attentions = [], [], []
    for layer in range(config.num_hidden_layers):
        all_word_states.append(word_states)
        all_entity_states.append(entity_states)
        word_states, entity_states, probs = encoder_layer(
            scope(params, f"encoder.layer.{layer}."), word_states, entity_states, mask, config
        )
        all_attentions.append(probs)
    all_word_states.append(word_states)
    all_entity_states.append(entity_states)

    return BaseLukeModelOutputWithPooling(
        last_hidden_state=word_states,
        pooler_output=pooler(params, word_states) if add_pooling_layer else None,
        hidden_states=tuple(all_word_states) if output_hidden_states else None,
        attentions=tuple(all_attentions) if output_attentions else None,
        entity_last_hidden_state=entity_states,
        entity_hidden_states=tuple(all_entity_states) if output_hidden_states else None,
    )


# ------------------------------------------------------------------------- input handling

INPUT_NAMES = (
    "input_ids", "attention_mask", "token_type_ids", "position_ids", "entity_ids",
    "entity_attention_mask", "entity_token_type_ids", "entity_position_ids",
)


def prepare_inputs(config: LukeConfig, **inputs) -> dict[str, np.ndarray | None]:
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

    def check_range(name, high, low=0):
        array = arrays[name]
        if array is not None and array.size and (array.min() < low or array.max() >= high):
            raise ValueError(
                f"{name} holds values in [{array.min()}, {array.max()}] but must lie in "
                f"[{low}, {high - 1}] for this model; was the input made for another checkpoint?"
            )

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
    check_range("input_ids", config.vocab_size)
    check_range("token_type_ids", config.type_vocab_size)
    check_range("position_ids", config.max_position_embeddings)

    entity_ids = arrays["entity_ids"]
    if entity_ids is not None:
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
        check_range("entity_ids", config.entity_vocab_size)
        check_range("entity_token_type_ids", config.type_vocab_size)
        check_range("entity_position_ids", config.max_position_embeddings, low=-1)
        for name in ("entity_attention_mask", "entity_token_type_ids"):
            if arrays[name] is not None and arrays[name].shape != entity_ids.shape:
                raise ValueError(f"{name} has shape {arrays[name].shape}; expected "
                                 f"{entity_ids.shape}")
    else:
        arrays["entity_attention_mask"] = None
        arrays["entity_token_type_ids"] = None
        arrays["entity_position_ids"] = None
    return arrays


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


def _check_text_fits(input_ids: np.ndarray, config: LukeConfig) -> None:
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


# ------------------------------------------------------------------------- the classes


class LukePreTrainedModel:
    """Shared shell of ``LukeModel`` and the heads: config, parameters, ``from_pretrained``.

    Subclasses set ``head_shapes(config)`` (their own tensors) and ``uses_pooler``.
    """

    uses_pooler = True

    def __init__(self, config: LukeConfig, params: dict[str, np.ndarray]):
        self.config = config
        self.params = params

    @staticmethod
    def head_shapes(config: LukeConfig) -> dict[str, tuple] | None:
        return None

    @property
    def dtype(self):
        return self.params["embeddings.word_embeddings.weight"].dtype

    @classmethod
    def from_state_dict(
        cls, state_dict: dict[str, np.ndarray], config: LukeConfig, dtype=np.float32,
        source: str = "state dict",
    ):
        """Build the model from a ``{key: array}`` state dict (keys with or without ``luke.``)."""
        params = prepare_state_dict(
            state_dict, config, cls.head_shapes(config), with_pooler=cls.uses_pooler,
            dtype=np.dtype(dtype), source=source,
        )
        return cls(config, params)

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike,
        revision: str | None = None,
        dtype=np.float32,
        local_files_only: bool = False,
        cache_dir: str | os.PathLike | None = None,
        config: LukeConfig | None = None,
    ):
        """Load config.json and the weights of a local folder or a Hub repository.

        ``dtype=np.float64`` runs the whole model in double precision.
        """
        from .hub import resolve_weight_files
        from .weights import load_state_dict

        options = dict(revision=revision, local_files_only=local_files_only, cache_dir=cache_dir)
        if config is None:
            config = LukeConfig.from_pretrained(name_or_path, **options)
        files = resolve_weight_files(name_or_path, **options)
        state_dict = load_state_dict([Path(f) for f in files], dtype=np.dtype(dtype))
        return cls.from_state_dict(state_dict, config, dtype, source=", ".join(
            str(Path(f).name) for f in files) + f" of {name_or_path}")

    def encode(self, output_attentions=False, output_hidden_states=False, **inputs):
        """Run the encoder on checked inputs; returns (outputs, prepared input arrays)."""
        arrays = prepare_inputs(self.config, **inputs)
        outputs = luke_model(
            self.params, self.config, **arrays,
            output_attentions=bool(output_attentions),
            output_hidden_states=bool(output_hidden_states),
            add_pooling_layer=self.uses_pooler,
        )
        return outputs, arrays

    def __repr__(self):
        c = self.config
        return (f"{type(self).__name__}(hidden_size={c.hidden_size}, "
                f"layers={c.num_hidden_layers}, heads={c.num_attention_heads}, "
                f"entity_aware={c.use_entity_aware_attention}, dtype={np.dtype(self.dtype)})")


class LukeModel(LukePreTrainedModel):
    """The bare LUKE encoder: word and entity hidden states and the pooled output."""

    def __call__(
        self,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        entity_ids=None,
        entity_attention_mask=None,
        entity_token_type_ids=None,
        entity_position_ids=None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> BaseLukeModelOutputWithPooling:
        outputs, _ = self.encode(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
            position_ids=position_ids, entity_ids=entity_ids,
            entity_attention_mask=entity_attention_mask,
            entity_token_type_ids=entity_token_type_ids,
            entity_position_ids=entity_position_ids,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states,
        )
        return outputs

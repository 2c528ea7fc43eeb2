"""The LUKE encoder: embeddings, a stack of entity-aware transformer layers, a pooler.

One forward pass, top to bottom:

1. ``word_embeddings`` and ``entity_embeddings`` (embeddings.py) turn ids into vectors,
   (batch, words, hidden) and (batch, entities, hidden).
2. Each of the ``num_hidden_layers`` layers (``encoder_layer``) reads words and entities as
   one sequence: entity-aware self-attention (attention.py), then a position-wise
   feed-forward network, each followed by a residual connection and layer norm
   (post-norm, as in BERT and RoBERTa).
3. The pooler maps the first word's final vector (the ``<s>`` token, the first attended
   one) through a dense layer and tanh, for sentence-level heads.

``luke_model`` is that whole pass as a function of arrays. The shell's ``LukeModel``
(modeling.py) checks its inputs, calls it, and wraps the result in transformers' output
class; the task heads (heads.py here, ``LukeFor...`` there) build on its outputs.

``config`` is any object with the fields named below (``LukeConfig`` in the shell):
num_hidden_layers, num_attention_heads, hidden_act, layer_norm_eps, pad_token_id,
use_entity_aware_attention.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import fast
from .attention import entity_aware_self_attention, extended_attention_mask
from .embeddings import entity_embeddings, word_embeddings


def scope(params: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The tensors under ``prefix``, with the prefix removed: scope(p, "embeddings.")."""
    return {key[len(prefix):]: value for key, value in params.items() if key.startswith(prefix)}


class EncoderOutput(NamedTuple):
    """What ``luke_model`` returns; the per-layer tuples are None unless asked for."""

    last_hidden_state: np.ndarray  # (batch, words, hidden)
    entity_last_hidden_state: np.ndarray | None  # (batch, entities, hidden)
    pooler_output: np.ndarray | None  # (batch, hidden)
    hidden_states: tuple | None  # layers + 1 arrays (batch, words, hidden)
    entity_hidden_states: tuple | None  # layers + 1 arrays (batch, entities, hidden)
    attentions: tuple | None  # layers arrays (batch, heads, n, n)


def encoder_layer(
    params: dict[str, np.ndarray],
    word_hidden_states: np.ndarray,
    entity_hidden_states: np.ndarray | None,
    attention_mask: np.ndarray | None,
    config,
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
        return fast.linear(inputs, params[f"{name}.dense.weight"],
                           params[f"{name}.dense.bias"])

    def norm(name, inputs):
        return fast.layer_norm(inputs, params[f"{name}.LayerNorm.weight"],
                               params[f"{name}.LayerNorm.bias"], config.layer_norm_eps)

    x = norm("attention.output", dense("attention.output", context) + x)  # (b, n, hidden)
    inner = dense("intermediate", x)  # (batch, n, intermediate)
    inner = fast.activation_(config.hidden_act)(inner)  # in place: fast.gelu_ for "gelu"
    x = norm("output", dense("output", inner) + x)  # (batch, n, hidden)

    entity_out = None if entity_hidden_states is None else x[:, words:]
    return x[:, :words], entity_out, probs


def pooler(params: dict[str, np.ndarray], last_hidden_state: np.ndarray,
           attention_mask: np.ndarray) -> np.ndarray:
    """tanh(dense(first token's vector)). (batch, words, hidden) -> (batch, hidden)

    The first token is each row's first attended one: its ``<s>``, which is index 0 unless
    the row is left-padded. (transformers reads index 0 always, so a left-padded row pools
    a padding vector: its sentence-level answers then differ from the text's alone.) A 3-D
    (batch, words, words) mask says which word attends to which, not which is padding:
    index 0, as transformers.
    """
    if attention_mask.ndim == 2:  # (batch, words)
        first = np.argmax(attention_mask != 0, axis=1)  # (batch,): 0 unless left-padded
    else:
        first = np.zeros(len(last_hidden_state), dtype=np.int64)  # (batch,)
    cls = last_hidden_state[np.arange(len(first)), first]  # (batch, hidden)
    return np.tanh(fast.linear(cls, params["pooler.dense.weight"], params["pooler.dense.bias"]))


def encoder(
    params: dict[str, np.ndarray],
    word_states: np.ndarray,
    entity_states: np.ndarray | None,
    mask: np.ndarray,
    config,
) -> tuple[list, list, list]:
    """The stack of ``num_hidden_layers`` encoder layers.

    Returns the word and entity states before the first layer and after each one
    (layers + 1 arrays each, (batch, words, hidden) and (batch, entities, hidden) or None),
    and each layer's attention probabilities (batch, heads, n, n).
    """
    all_word_states, all_entity_states, all_attentions = [word_states], [entity_states], []
    for layer in range(config.num_hidden_layers):
        word_states, entity_states, probs = encoder_layer(
            scope(params, f"encoder.layer.{layer}."), word_states, entity_states, mask, config
        )
        all_word_states.append(word_states)
        all_entity_states.append(entity_states)
        all_attentions.append(probs)
    return all_word_states, all_entity_states, all_attentions


def luke_model(
    params: dict[str, np.ndarray],
    config,
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
) -> EncoderOutput:
    """The LUKE encoder as a function of arrays (keys of ``params`` without ``luke.``).

    input_ids (batch, words); entity_ids (batch, entities) with entity_position_ids
    (batch, entities, max_mention_length). Masks default to all ones. The float dtype of
    ``params`` is the dtype of the whole computation.
    """
    dtype = params["embeddings.word_embeddings.weight"].dtype
    eps = config.layer_norm_eps
    word_states = word_embeddings(  # (batch, words, hidden)
        scope(params, "embeddings."), input_ids, token_type_ids, position_ids,
        pad_token_id=config.pad_token_id, layer_norm_eps=eps)
    entity_states = None if entity_ids is None else entity_embeddings(  # (b, entities, h)
        scope(params, "entity_embeddings."), entity_ids, entity_position_ids,
        entity_token_type_ids, layer_norm_eps=eps)
    if attention_mask is None:
        attention_mask = np.ones(input_ids.shape, dtype=dtype)
    if entity_ids is not None and entity_attention_mask is None:
        entity_attention_mask = np.ones(entity_ids.shape, dtype=dtype)
    mask = extended_attention_mask(  # (batch, 1, 1, words + entities)
        attention_mask, entity_attention_mask if entity_ids is not None else None, dtype)

    words, entities, attentions = encoder(params, word_states, entity_states, mask, config)
    return EncoderOutput(
        last_hidden_state=words[-1],
        entity_last_hidden_state=entities[-1],
        pooler_output=pooler(params, words[-1], attention_mask) if add_pooling_layer else None,
        hidden_states=tuple(words) if output_hidden_states else None,
        entity_hidden_states=tuple(entities) if output_hidden_states else None,
        attentions=tuple(attentions) if output_attentions else None,
    )

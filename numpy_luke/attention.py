"""Entity-aware self-attention: LUKE's one change to the transformer.

Words and entities run through the same encoder as one sequence of n = words + entities
tokens. Keys and values are computed as usual, one projection shared by all tokens. The
queries are not: LUKE has four query matrices, chosen by the *pair* of token kinds that
meet in a score (Yamada et al. 2020, section 3.3):

                       keys of words          keys of entities
    word queries       Q  (query)             Q_w2e (w2e_query)
    entity queries     Q_e2w (e2w_query)      Q_e2e (e2e_query)

So the (n, n) score matrix of each head is built from four blocks,

    scores = [ q_w2w k_w^T   q_w2e k_e^T ]   (words, words)     (words, entities)
             [ q_e2w k_w^T   q_e2e k_e^T ]   (entities, words)  (entities, entities)

divided by sqrt(head_size), plus the additive mask; softmax over each row; the rows then
average the shared values. With ``use_entity_aware_attention`` off, or no entities,
this is plain multi-head attention with ``query`` for every token. If the four query
matrices are equal, both give the same numbers (a property the tests check).

See docs/entity-aware-attention.md for the equations with all shapes.
"""

from __future__ import annotations

import math

import numpy as np

from .functional import linear, softmax


def extended_attention_mask(
    attention_mask: np.ndarray,
    entity_attention_mask: np.ndarray | None = None,
    dtype=np.float32,
) -> np.ndarray:
    """The additive mask over keys: 0 where a token may be attended to, a huge negative else.

    Word and entity masks (1 = real token, 0 = padding) are joined into one mask over the
    n = words + entities keys, then mapped to (1 - mask) * finfo(dtype).min, which the
    attention adds to its scores, so padded keys get probability 0 after softmax.
    (batch, words) [+ (batch, entities)] -> (batch, 1, 1, n); a 3-D (batch, n, n) mask gives
    (batch, 1, n, n).
    """
    mask = np.asarray(attention_mask)
    if entity_attention_mask is not None:
        mask = np.concatenate([mask, np.asarray(entity_attention_mask)], axis=-1)
    if mask.ndim == 2:
        mask = mask[:, None, None, :]
    elif mask.ndim == 3:
        mask = mask[:, None, :, :]
    else:
        raise ValueError(f"attention_mask must have 2 or 3 dimensions, got shape {mask.shape}")
    mask = mask.astype(dtype)
    return (1 - mask) * np.finfo(dtype).min


def split_heads(x: np.ndarray, num_heads: int) -> np.ndarray:
    """(batch, n, heads * head_size) -> (batch, heads, n, head_size)"""
    batch, n, width = x.shape
    return x.reshape(batch, n, num_heads, width // num_heads).transpose(0, 2, 1, 3)


def merge_heads(x: np.ndarray) -> np.ndarray:
    """(batch, heads, n, head_size) -> (batch, n, heads * head_size)"""
    batch, heads, n, head_size = x.shape
    return x.transpose(0, 2, 1, 3).reshape(batch, n, heads * head_size)


def entity_aware_self_attention(
    params: dict[str, np.ndarray],
    word_hidden_states: np.ndarray,
    entity_hidden_states: np.ndarray | None,
    attention_mask: np.ndarray | None,
    *,
    num_heads: int,
    use_entity_aware_attention: bool = True,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Multi-head self-attention over words + entities, with LUKE's four query matrices.

    ``params`` holds one layer's ``attention.self.*`` tensors without that prefix:
    ``query``, ``key``, ``value`` and (entity-aware) ``w2e_query``, ``e2w_query``,
    ``e2e_query``, each ``.weight`` (hidden, hidden) and ``.bias`` (hidden,).
    ``attention_mask`` is the additive mask of ``extended_attention_mask`` (or None).

    word_hidden_states (batch, words, hidden), entity_hidden_states (batch, entities, hidden)
    or None -> (word context (batch, words, hidden), entity context (batch, entities, hidden)
    or None, attention probabilities (batch, heads, n, n)), n = words + entities.
    """
    words = word_hidden_states.shape[1]
    if entity_hidden_states is None:
        hidden = word_hidden_states  # (batch, words, hidden)
    else:
        hidden = np.concatenate([word_hidden_states, entity_hidden_states], axis=1)  # (b, n, h)

    def dense(x, name):  # (batch, m, hidden) -> (batch, m, hidden)
        return linear(x, params[f"{name}.weight"], params[f"{name}.bias"])

    keys = split_heads(dense(hidden, "key"), num_heads)  # (batch, heads, n, head_size)
    values = split_heads(dense(hidden, "value"), num_heads)  # (batch, heads, n, head_size)

    def queries(projected):  # (batch, m, hidden) -> (batch, heads, m, head_size) / sqrt(d)
        # (q / sqrt(d)) k^T = q k^T / sqrt(d): scaling q touches fewer numbers than the
        # (n, n) scores, and for power-of-two head sizes (64 in luke-base) it is exact.
        projected *= 1 / math.sqrt(keys.shape[-1])
        return split_heads(projected, num_heads)

    if use_entity_aware_attention and entity_hidden_states is not None:
        # Facing word keys, word rows use `query` and entity rows `e2w_query`; facing entity
        # keys, `w2e_query` and `e2e_query`. Stacking each pair over all n rows turns the four
        # blocks into two products (half the BLAS calls), written into one array (out=).
        to_word_keys = queries(np.concatenate(  # (batch, heads, n, head_size)
            [dense(word_hidden_states, "query"), dense(entity_hidden_states, "e2w_query")], 1))
        to_entity_keys = queries(np.concatenate(  # (batch, heads, n, head_size)
            [dense(word_hidden_states, "w2e_query"), dense(entity_hidden_states, "e2e_query")], 1))
        batch, heads, n = keys.shape[:3]
        scores = np.empty((batch, heads, n, n), dtype=keys.dtype)  # (batch, heads, n, n)
        np.matmul(to_word_keys, keys[:, :, :words].swapaxes(-1, -2), out=scores[..., :words])
        np.matmul(to_entity_keys, keys[:, :, words:].swapaxes(-1, -2), out=scores[..., words:])
    else:
        scores = queries(dense(hidden, "query")) @ keys.swapaxes(-1, -2)  # (batch, heads, n, n)

    if attention_mask is not None and attention_mask.any():  # all zeros: no padding to mask
        scores += attention_mask  # in place: scores is this function's own new array
    probs = softmax(scores, axis=-1, out=scores)  # (batch, heads, n, n), in scores' memory
    context = merge_heads(probs @ values)  # (batch, n, hidden)

    entity_context = None if entity_hidden_states is None else context[:, words:]
    return context[:, :words], entity_context, probs

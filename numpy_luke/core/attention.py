"""Entity-aware self-attention: LUKE's one change to the transformer.

Words and entities run through the encoder as one sequence of n = words + entities tokens.
Keys and values are computed as usual, one projection shared by all tokens. The queries
are not: LUKE has four query matrices, chosen by the *pair* of token kinds that meet in a
score (Yamada et al. 2020, the section "Entity-aware Self-attention"):

                       keys of words            keys of entities
    word queries       w2w: Q (query)           w2e: Q_w2e (w2e_query)
    entity queries     e2w: Q_e2w (e2w_query)   e2e: Q_e2e (e2e_query)

So the (n, n) score matrix of each head is four blocks,

    scores = [ q_w2w k_w^T   q_w2e k_e^T ]   (words, words)     (words, entities)
             [ q_e2w k_w^T   q_e2e k_e^T ]   (entities, words)  (entities, entities)

divided by sqrt(head_size), plus the additive mask; softmax over each row (a word's row
spans word *and* entity keys); the rows then average the shared values. The code below
computes the four products by those names, each straight into its quadrant of one score
array. With ``use_entity_aware_attention`` off, or no entities, it is plain multi-head
attention with ``query`` for every token. If the four query matrices are equal, as in the
pretrained luke-base and luke-large (LUKE was pretrained with plain attention, and the
conversion copies ``query`` into the other three), both give the same numbers.

See docs/entity-aware-attention.md for the equations with all shapes.
"""

from __future__ import annotations

import math

import numpy as np

from . import fast


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
    mask = mask[:, None, None, :] if mask.ndim == 2 else mask[:, None, :, :]
    return (1 - mask.astype(dtype)) * np.finfo(dtype).min


def split_heads(x: np.ndarray, num_heads: int) -> np.ndarray:
    """(batch, n, heads * head_size) -> (batch, heads, n, head_size)"""
    batch, n, width = x.shape
    return x.reshape(batch, n, num_heads, width // num_heads).transpose(0, 2, 1, 3)


def merge_heads(x: np.ndarray) -> np.ndarray:
    """(batch, heads, n, head_size) -> (batch, n, heads * head_size)"""
    batch, heads, n, head_size = x.shape
    return x.transpose(0, 2, 1, 3).reshape(batch, n, heads * head_size)


def project(params: dict[str, np.ndarray], x: np.ndarray, name: str, num_heads: int,
            scale: float = 1.0) -> np.ndarray:
    """One head-split projection (query, key, value, ...), optionally scaled.
    (batch, m, hidden) -> (batch, heads, m, head_size)"""
    y = fast.linear(x, params[f"{name}.weight"], params[f"{name}.bias"])  # (batch, m, hidden)
    if scale != 1.0:
        y *= scale
    return split_heads(y, num_heads)


def four_block_scores(
    params: dict[str, np.ndarray],
    word_states: np.ndarray,
    entity_states: np.ndarray,
    keys: np.ndarray,
    scale: float,
) -> np.ndarray:
    """The entity-aware scores: four query matrices, one per pair of token kinds, each
    product computed straight into its quadrant of one (n, n) score array.

    (batch, words, hidden), (batch, entities, hidden), keys (batch, heads, n, head_size)
    -> scores (batch, heads, n, n)
    """
    batch, heads, n, _ = keys.shape
    words = word_states.shape[1]
    word_keys = keys[:, :, :words].swapaxes(-1, -2)  # (batch, heads, head_size, words)
    entity_keys = keys[:, :, words:].swapaxes(-1, -2)  # (batch, heads, head_size, entities)

    def query(x, name):  # (batch, m, hidden) -> (batch, heads, m, head_size) / sqrt(d)
        return project(params, x, name, heads, scale)

    scores = np.empty((batch, heads, n, n), dtype=keys.dtype)  # (batch, heads, n, n)
    np.matmul(query(word_states, "query"), word_keys,  # w2w: (batch, heads, words, words)
              out=scores[..., :words, :words])
    np.matmul(query(word_states, "w2e_query"), entity_keys,  # w2e: (.., words, entities)
              out=scores[..., :words, words:])
    np.matmul(query(entity_states, "e2w_query"), word_keys,  # e2w: (.., entities, words)
              out=scores[..., words:, :words])
    np.matmul(query(entity_states, "e2e_query"), entity_keys,  # e2e: (.., entities, entities)
              out=scores[..., words:, words:])
    return scores


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
    keys = project(params, hidden, "key", num_heads)  # (batch, heads, n, head_size)
    values = project(params, hidden, "value", num_heads)  # (batch, heads, n, head_size)
    # (q / sqrt(d)) k^T = q k^T / sqrt(d): scaling q touches fewer numbers than the (n, n)
    # scores, and for power-of-two head sizes (64 in luke-base) it is exact.
    scale = 1 / math.sqrt(keys.shape[-1])

    if use_entity_aware_attention and entity_hidden_states is not None:
        scores = four_block_scores(params, word_hidden_states, entity_hidden_states, keys, scale)
    else:  # plain attention: one query matrix for every token
        queries = project(params, hidden, "query", num_heads, scale)  # (b, heads, n, head_size)
        scores = queries @ keys.swapaxes(-1, -2)  # (batch, heads, n, n)

    if attention_mask is not None and attention_mask.any():  # all zeros: no padding to mask
        scores += attention_mask  # in place: scores is this function's own new array
    probs = fast.softmax_(scores, axis=-1)  # (batch, heads, n, n), in scores' memory
    context = merge_heads(probs @ values)  # (batch, n, hidden)

    entity_context = None if entity_hidden_states is None else context[:, words:]
    return context[:, :words], entity_context, probs

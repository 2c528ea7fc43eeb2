"""Embeddings: turning word ids and entity ids into the vectors the encoder reads.

LUKE's input is two sequences, and each gets its own embedding.

Words (as in RoBERTa). The vector of a word token is the sum of three learned vectors:
its token (``word_embeddings``), its position in the text (``position_embeddings``) and its
token type (``token_type_embeddings``), followed by layer norm. Token types are always 0 in
practice: ``LukeTokenizer``, like RoBERTa's, gives all-zero ``token_type_ids`` even for text
pairs, and luke-base's table has a single row (``type_vocab_size`` 1). RoBERTa counts
positions from ``pad_token_id + 1`` (= 2) and gives every padding token the position
``pad_token_id``, so the first real token has position 2.

Entities. An entity (a Wikipedia title, or the special [MASK] entity) has a vector of
``entity_emb_size`` (256 in luke-base), projected up to ``hidden_size`` by a matrix without
bias (``entity_embedding_dense``) when the two sizes differ. Its position is where its
mention sits in the text: a mention covering word tokens 5, 6 and 7 gets the average of
those three position vectors. ``entity_position_ids`` lists each mention's token positions,
padded with -1 to a fixed ``max_mention_length``; the -1 entries are left out of the
average. Add the token type vector, apply layer norm, done.
"""

from __future__ import annotations

import numpy as np

from . import fast


def create_position_ids_from_input_ids(input_ids: np.ndarray, pad_token_id: int) -> np.ndarray:
    """RoBERTa's position ids: pad_token_id + 1, + 2, ... over non-padding tokens.

    Padding tokens get ``pad_token_id`` itself. The count runs over non-padding tokens only,
    so a padding token in the middle does not shift the positions after it.
    (batch, words) -> (batch, words)
    """
    is_token = (input_ids != pad_token_id).astype(np.int64)  # (batch, words)
    return np.cumsum(is_token, axis=1) * is_token + pad_token_id


def word_embeddings(
    params: dict[str, np.ndarray],
    input_ids: np.ndarray,
    token_type_ids: np.ndarray | None = None,
    position_ids: np.ndarray | None = None,
    *,
    pad_token_id: int = 1,
    layer_norm_eps: float = 1e-12,
) -> np.ndarray:
    """Word token vectors: LayerNorm(token + position + token type).

    ``params`` holds the ``embeddings.*`` tensors of a checkpoint without that prefix:
    ``word_embeddings.weight`` (vocab, hidden), ``position_embeddings.weight``
    (max_positions, hidden), ``token_type_embeddings.weight`` (types, hidden),
    ``LayerNorm.weight`` and ``LayerNorm.bias`` (hidden,).
    (batch, words) ids -> (batch, words, hidden)
    """
    if position_ids is None:
        position_ids = create_position_ids_from_input_ids(input_ids, pad_token_id)
    if token_type_ids is None:
        token_type_ids = np.zeros_like(input_ids)
    embeddings = (
        params["word_embeddings.weight"][input_ids]  # (batch, words, hidden)
        + params["position_embeddings.weight"][position_ids]
        + params["token_type_embeddings.weight"][token_type_ids]
    )
    return fast.layer_norm(embeddings, params["LayerNorm.weight"], params["LayerNorm.bias"],
                           layer_norm_eps)


def entity_embeddings(
    params: dict[str, np.ndarray],
    entity_ids: np.ndarray,
    entity_position_ids: np.ndarray,
    entity_token_type_ids: np.ndarray | None = None,
    *,
    layer_norm_eps: float = 1e-12,
) -> np.ndarray:
    """Entity vectors: LayerNorm(project(entity) + mean mention position + token type).

    ``params`` holds the ``entity_embeddings.*`` tensors without that prefix:
    ``entity_embeddings.weight`` (entity_vocab, entity_emb_size), optionally
    ``entity_embedding_dense.weight`` (hidden, entity_emb_size), ``position_embeddings.weight``,
    ``token_type_embeddings.weight``, ``LayerNorm.weight``, ``LayerNorm.bias``.
    entity_ids (batch, entities), entity_position_ids (batch, entities, max_mention_length)
    with -1 as padding -> (batch, entities, hidden)
    """
    if entity_token_type_ids is None:
        entity_token_type_ids = np.zeros_like(entity_ids)
    vectors = params["entity_embeddings.weight"][entity_ids]  # (batch, entities, emb_size)
    if "entity_embedding_dense.weight" in params:
        vectors = fast.linear(vectors, params["entity_embedding_dense.weight"])  # -> hidden

    # Average the position vectors of each mention's tokens, skipping the -1 padding.
    table = params["position_embeddings.weight"]
    used = (entity_position_ids != -1)[..., None].astype(table.dtype)  # (b, e, m, 1)
    positions = table[np.maximum(entity_position_ids, 0)] * used  # (b, e, m, hidden)
    count = np.maximum(used.sum(axis=-2), 1e-7)  # (b, e, 1); an empty mention divides 0 by 1e-7
    position_vectors = positions.sum(axis=-2) / count  # (batch, entities, hidden)

    embeddings = (
        vectors + position_vectors + params["token_type_embeddings.weight"][entity_token_type_ids]
    )
    return fast.layer_norm(embeddings, params["LayerNorm.weight"], params["LayerNorm.bias"],
                           layer_norm_eps)

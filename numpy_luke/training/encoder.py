"""The encoder's recording forward and its backward: embeddings, entity-aware attention, the
layer, the stack, the pooler.

Why a second forward. The core's forward (``core/embeddings.py``, ``core/attention.py``,
``core/encoder.py``) keeps nothing and overwrites its temporaries in place, which is what
inference wants. A backward pass needs some of those temporaries: each ``*_forward`` here
computes the same function with the primitives inference runs (``core/fast.py``'s forms of
``core/functional.py``'s formulas, equal within the bounds tests/core/test_fast_primitives.py
asserts; ``tests/training/test_backward.py`` checks this forward gives the core's outputs)
and returns ``(output, cache)``, the cache holding exactly what the matching
``*_backward(d_output, cache)`` reads. Inference never enters this module.

Gradients are returned as ``{parameter name: array}`` with the names the core's ``params``
use (``encoder.layer.0.attention.self.query.weight``, ...).
"""

from __future__ import annotations

import math

import numpy as np

from ..core.attention import extended_attention_mask, merge_heads, project, split_heads
from ..core.embeddings import create_position_ids_from_input_ids
from ..core.encoder import scope
from ..core.fast import gelu_, layer_norm, linear, softmax_
from .backward import (
    dropout_mask,
    dropped,
    gelu_backward,
    layer_norm_backward,
    linear_backward,
    lookup_backward,
    softmax_backward,
    tanh_backward,
)


def _prefixed(prefix: str, grads: dict) -> dict:
    return {prefix + name: value for name, value in grads.items()}


def _linear_grads(name: str, dweight, dbias) -> dict:
    grads = {f"{name}.weight": dweight}
    if dbias is not None:
        grads[f"{name}.bias"] = dbias
    return grads


# ----------------------------------------------------------------------------- embeddings


def word_embeddings_forward(params, input_ids, token_type_ids, position_ids, pad_token_id, eps):
    """LayerNorm(word + position + type), as ``core.embeddings.word_embeddings``.
    (batch, words) ids -> (batch, words, hidden), cache"""
    if position_ids is None:
        position_ids = create_position_ids_from_input_ids(input_ids, pad_token_id)
    if token_type_ids is None:
        token_type_ids = np.zeros_like(input_ids)
    summed = (params["word_embeddings.weight"][input_ids]  # (batch, words, hidden)
              + params["position_embeddings.weight"][position_ids]
              + params["token_type_embeddings.weight"][token_type_ids])
    out = layer_norm(summed, params["LayerNorm.weight"], params["LayerNorm.bias"], eps)
    return out, (input_ids, position_ids, token_type_ids, summed, pad_token_id, eps)


def word_embeddings_backward(params, dout, cache) -> dict:
    """The sum's gradient reaches each of the three tables through its lookup (repeated ids
    add up). transformers' word and position tables are ``nn.Embedding(padding_idx=pad)``:
    their padding row gets no gradient. dout (batch, words, hidden) -> {name: gradient}"""
    input_ids, position_ids, token_type_ids, summed, pad, eps = cache
    dsum, dgamma, dbeta = layer_norm_backward(dout, summed, params["LayerNorm.weight"], eps)
    tables = params["word_embeddings.weight"], params["position_embeddings.weight"]
    return {
        "word_embeddings.weight": lookup_backward(dsum, input_ids, len(tables[0]), pad),
        "position_embeddings.weight": lookup_backward(dsum, position_ids, len(tables[1]), pad),
        "token_type_embeddings.weight": lookup_backward(
            dsum, token_type_ids, len(params["token_type_embeddings.weight"])),
        "LayerNorm.weight": dgamma, "LayerNorm.bias": dbeta,
    }


def entity_embeddings_forward(params, entity_ids, entity_position_ids, entity_token_type_ids,
                              eps):
    """LayerNorm(dense(entity) + mean mention position + type), as
    ``core.embeddings.entity_embeddings``. -> (batch, entities, hidden), cache"""
    if entity_token_type_ids is None:
        entity_token_type_ids = np.zeros_like(entity_ids)
    vectors = params["entity_embeddings.weight"][entity_ids]  # (batch, entities, emb_size)
    projected = vectors
    if "entity_embedding_dense.weight" in params:
        projected = linear(vectors, params["entity_embedding_dense.weight"])  # -> hidden
    table = params["position_embeddings.weight"]
    used = (entity_position_ids != -1)[..., None].astype(table.dtype)  # (b, e, m, 1)
    rows = np.maximum(entity_position_ids, 0)  # (b, e, m)
    count = np.maximum(used.sum(axis=-2), 1e-7)  # (b, e, 1)
    position_vectors = (table[rows] * used).sum(axis=-2) / count  # (batch, entities, hidden)
    summed = (projected + position_vectors
              + params["token_type_embeddings.weight"][entity_token_type_ids])
    out = layer_norm(summed, params["LayerNorm.weight"], params["LayerNorm.bias"], eps)
    return out, (entity_ids, vectors, rows, used, count, entity_token_type_ids, summed, eps)


def entity_embeddings_backward(params, dout, cache) -> dict:
    """Backward of the entity embeddings.

    The averaged position p = sum_m used_m T[row_m] / count sends dp * used_m / count to
    table row row_m (0 for the -1 padding slots, whose ``used`` is 0; an empty mention
    sends nothing). The projection h = v D^T gives dD = dh^T v and dv = dh D; dv then goes
    to the entity table by lookup, its [PAD] row 0 excepted (``padding_idx=0``).
    dout (batch, entities, hidden) -> {name: gradient}
    """
    entity_ids, vectors, rows, used, count, types, summed, eps = cache
    dsum, dgamma, dbeta = layer_norm_backward(dout, summed, params["LayerNorm.weight"], eps)
    grads = {"LayerNorm.weight": dgamma, "LayerNorm.bias": dbeta}
    dvectors = dsum  # (batch, entities, hidden or emb_size)
    if "entity_embedding_dense.weight" in params:
        dvectors, grads["entity_embedding_dense.weight"], _ = linear_backward(
            dsum, vectors, params["entity_embedding_dense.weight"], has_bias=False)
    grads["entity_embeddings.weight"] = lookup_backward(
        dvectors, entity_ids, len(params["entity_embeddings.weight"]), padding_idx=0)
    dslots = dsum[:, :, None, :] * (used / count[:, :, None, :])  # (b, e, m, hidden)
    grads["position_embeddings.weight"] = lookup_backward(
        dslots, rows, len(params["position_embeddings.weight"]))
    grads["token_type_embeddings.weight"] = lookup_backward(
        dsum, types, len(params["token_type_embeddings.weight"]))
    return grads


# ----------------------------------------------------------------------------- attention


def query_blocks(words: int, n: int, entity_aware: bool) -> tuple:
    """(query name, query rows, key columns) of each score block: LUKE's four blocks
    w2w, w2e, e2w, e2e, or one block with ``query`` for plain attention."""
    w, e = slice(0, words), slice(words, n)
    if entity_aware and n > words:
        return (("query", w, w), ("w2e_query", w, e), ("e2w_query", e, w), ("e2e_query", e, e))
    return (("query", slice(0, n), slice(0, n)),)


def attention_forward(params, x, words, mask, num_heads, entity_aware, rng=None, p=0.0):  # noqa: PLR0913  the core attention's arguments + dropout
    """``core.attention.entity_aware_self_attention`` on x = [words; entities], keeping
    the queries, keys, values and probabilities; with a generator ``rng``, dropout of rate
    ``p`` on the probabilities (training only). x (batch, n, hidden) -> context
    (batch, n, hidden), cache"""
    keys = project(params, x, "key", num_heads)  # (batch, heads, n, head_size)
    values = project(params, x, "value", num_heads)  # (batch, heads, n, head_size)
    scale = 1 / math.sqrt(keys.shape[-1])
    batch, heads, n, _ = keys.shape
    blocks = query_blocks(words, n, entity_aware)
    scores = np.empty((batch, heads, n, n), dtype=keys.dtype)  # (batch, heads, n, n)
    queries = []
    for name, rows, cols in blocks:  # at most four blocks, each a batched product
        q = project(params, x[:, rows], name, num_heads, scale)  # (b, heads, rows, head_size)
        scores[..., rows, cols] = q @ keys[:, :, cols].swapaxes(-1, -2)  # (b, h, rows, cols)
        queries.append(q)
    if mask is not None:
        scores += mask  # (batch, 1, 1 or n, n): 0 or finfo.min
    probs = softmax_(scores)  # (batch, heads, n, n), over the scores (not kept)
    drop = dropout_mask(rng, probs.shape, p, probs.dtype)  # (batch, heads, n, n) or None
    context = merge_heads(dropped(probs, drop) @ values)  # (batch, n, hidden)
    return context, (x, keys, values, queries, probs, drop, blocks, scale, num_heads)


def attention_backward(params, dcontext, cache):
    """Backward of entity-aware attention, context = merge(P V), P = softmax(S + mask).

    dP = dC V^T and dV = P^T dC (per head; P after dropout, whose mask multiplies dP
    again); dS = softmax_backward(dP, P). Block (q, k) of
    S is (Q_blk / sqrt(d) scaled already) K_cols^T, so dQ_blk = dS_blk K_cols and
    dK_cols += dS_blk^T Q_blk: keys and values are shared, so word keys collect from w2w
    and e2w, entity keys from w2e and e2e. Each projection then backpropagates through its
    linear layer to the rows it read. dcontext (batch, n, hidden) -> dx (batch, n, hidden),
    {name: gradient}
    """
    x, keys, values, queries, probs, drop, blocks, scale, num_heads = cache
    dc = split_heads(dcontext, num_heads)  # (batch, heads, n, head_size)
    dprobs = dropped(dc @ values.swapaxes(-1, -2), drop)  # (batch, heads, n, n)
    dvalues = dropped(probs, drop).swapaxes(-1, -2) @ dc  # (batch, heads, n, head_size)
    dscores = softmax_backward(dprobs, probs)  # (batch, heads, n, n)
    dkeys = np.zeros_like(keys)  # (batch, heads, n, head_size)
    dx = np.zeros_like(x)  # (batch, n, hidden)
    grads = {}
    for (name, rows, cols), q in zip(blocks, queries, strict=True):
        dblock = dscores[..., rows, cols]  # (batch, heads, rows, cols)
        dq = (dblock @ keys[:, :, cols]) * scale  # (batch, heads, rows, head_size), unscaled
        dkeys[:, :, cols] += dblock.swapaxes(-1, -2) @ q  # (batch, heads, cols, head_size)
        drows, dw, db = linear_backward(merge_heads(dq), x[:, rows], params[f"{name}.weight"])
        dx[:, rows] += drows  # (batch, rows, hidden)
        grads.update(_linear_grads(name, dw, db))
    for name, d in (("key", dkeys), ("value", dvalues)):
        dfrom, dw, db = linear_backward(merge_heads(d), x, params[f"{name}.weight"])
        dx += dfrom  # (batch, n, hidden)
        grads.update(_linear_grads(name, dw, db))
    return dx, grads


# ----------------------------------------------------------------------------- the layer


def layer_forward(params, x, words, mask, config, rng=None):
    """``core.encoder.encoder_layer`` on x = [words; entities] (batch, n, hidden):
    y1 = LN1(dense(attention(x)) + x), y2 = LN2(dense(gelu(dense(y1))) + y1); with a
    generator ``rng``, dropout on the attention probabilities and on both dense outputs
    before their residual, as transformers in training. -> y2, cache"""
    eps = config.layer_norm_eps
    context, attention = attention_forward(
        scope(params, "attention.self."), x, words, mask, config.num_attention_heads,
        config.use_entity_aware_attention, rng,
        config.attention_probs_dropout_prob)  # (batch, n, hidden)

    def dense(name, inputs):
        return linear(inputs, params[f"{name}.dense.weight"], params[f"{name}.dense.bias"])

    def norm(name, inputs):
        return layer_norm(inputs, params[f"{name}.LayerNorm.weight"],
                          params[f"{name}.LayerNorm.bias"], eps)

    p = config.hidden_dropout_prob
    drop1 = dropout_mask(rng, x.shape, p, x.dtype)  # (batch, n, hidden) or None
    first = dropped(dense("attention.output", context), drop1) + x  # (batch, n, hidden)
    y1 = norm("attention.output", first)
    inner = dense("intermediate", y1)  # (batch, n, intermediate)
    activated = gelu_(inner.copy())  # (batch, n, intermediate); inner is kept
    drop2 = dropout_mask(rng, x.shape, p, x.dtype)  # (batch, n, hidden) or None
    second = dropped(dense("output", activated), drop2) + y1  # (batch, n, hidden)
    y2 = norm("output", second)
    return y2, (attention, context, first, y1, inner, activated, second, drop1, drop2, eps)


def layer_backward(params, dy2, cache):
    """Backward of one layer. A residual y = f(x) + x passes dy to x unchanged and adds
    f's input gradient: dx = dy + df/dx^T dy. dy2 (batch, n, hidden) -> dx, {name: gradient}
    """
    attention, context, first, y1, inner, activated, second, drop1, drop2, eps = cache
    grads = {}

    def norm_backward(name, dy, x):
        dx, grads[f"{name}.LayerNorm.weight"], grads[f"{name}.LayerNorm.bias"] = \
            layer_norm_backward(dy, x, params[f"{name}.LayerNorm.weight"], eps)
        return dx

    def dense_backward(name, dy, x):
        dx, dw, db = linear_backward(dy, x, params[f"{name}.dense.weight"])
        grads.update(_linear_grads(f"{name}.dense", dw, db))
        return dx

    dsecond = norm_backward("output", dy2, second)  # (batch, n, hidden)
    dactivated = dense_backward("output", dropped(dsecond, drop2), activated)  # (b, n, inter)
    dinner = gelu_backward(dactivated, inner)  # (batch, n, intermediate)
    dy1 = dsecond + dense_backward("intermediate", dinner, y1)  # residual + branch
    dfirst = norm_backward("attention.output", dy1, first)  # (batch, n, hidden)
    dcontext = dense_backward("attention.output", dropped(dfirst, drop1), context)
    dx_attention, attention_grads = attention_backward(
        scope(params, "attention.self."), dcontext, attention)
    grads.update(_prefixed("attention.self.", attention_grads))
    return dfirst + dx_attention, grads


# ----------------------------------------------------------------------------- pooler, model


def pooler_forward(params, last_hidden_state, attention_mask):
    """tanh(dense(first attended word)), as ``core.encoder.pooler``. -> (batch, hidden), cache"""
    if attention_mask.ndim == 2:
        first = np.argmax(attention_mask != 0, axis=1)  # (batch,)
    else:
        first = np.zeros(len(last_hidden_state), dtype=np.int64)  # (batch,)
    cls = last_hidden_state[np.arange(len(first)), first]  # (batch, hidden)
    pooled = np.tanh(linear(cls, params["pooler.dense.weight"], params["pooler.dense.bias"]))
    return pooled, (first, cls, pooled)


def pooler_backward(params, dpooled, cache, words_shape):
    """dtanh = 1 - y**2, then the dense layer; the gradient lands on each row's first word
    only. dpooled (batch, hidden) -> d last_hidden_state (batch, words, hidden), grads"""
    first, cls, pooled = cache
    dcls, dw, db = linear_backward(tanh_backward(dpooled, pooled), cls,
                                   params["pooler.dense.weight"])
    dwords = np.zeros(words_shape, dtype=dpooled.dtype)  # (batch, words, hidden)
    dwords[np.arange(len(first)), first] = dcls  # one (distinct) word per row
    return dwords, {"pooler.dense.weight": dw, "pooler.dense.bias": db}


def model_forward(params, config, input_ids, attention_mask=None, token_type_ids=None,  # noqa: PLR0913  transformers' signature (LukeModel.forward's inputs) + rng
                  position_ids=None, entity_ids=None, entity_attention_mask=None,
                  entity_token_type_ids=None, entity_position_ids=None,
                  add_pooling_layer=True, rng=None):
    """``core.encoder.luke_model``, recording; with a NumPy Generator ``rng``, dropout as
    transformers in training (embeddings, attention probabilities, both residual branches;
    masks drawn in transformers' order of modules). -> (last word states (b, words, h),
    last entity states (b, entities, h) or None, pooled (b, h) or None), cache"""
    dtype = params["embeddings.word_embeddings.weight"].dtype
    eps = config.layer_norm_eps
    words, embed_words = word_embeddings_forward(
        scope(params, "embeddings."), input_ids, token_type_ids, position_ids,
        config.pad_token_id, eps)  # (batch, words, hidden)
    p = config.hidden_dropout_prob
    drops = [dropout_mask(rng, words.shape, p, dtype), None]  # after each embedding
    x, embed_entities = dropped(words, drops[0]), None
    if entity_ids is not None:
        entities, embed_entities = entity_embeddings_forward(
            scope(params, "entity_embeddings."), entity_ids, entity_position_ids,
            entity_token_type_ids, eps)  # (batch, entities, hidden)
        drops[1] = dropout_mask(rng, entities.shape, p, dtype)
        x = np.concatenate([x, dropped(entities, drops[1])], axis=1)  # (batch, n, hidden)
    if attention_mask is None:
        attention_mask = np.ones(input_ids.shape, dtype=dtype)
    if entity_ids is not None and entity_attention_mask is None:
        entity_attention_mask = np.ones(entity_ids.shape, dtype=dtype)
    mask = extended_attention_mask(  # (batch, 1, 1, n)
        attention_mask, entity_attention_mask if entity_ids is not None else None, dtype)
    n_words = input_ids.shape[1]
    layers = []
    for layer in range(config.num_hidden_layers):  # a loop over layers only
        x, cache = layer_forward(scope(params, f"encoder.layer.{layer}."), x, n_words, mask,
                                 config, rng)
        layers.append(cache)
    pooled = pool = None
    if add_pooling_layer:
        pooled, pool = pooler_forward(params, x[:, :n_words], attention_mask)
    entities_out = x[:, n_words:] if entity_ids is not None else None
    cache = (embed_words, embed_entities, drops, layers, pool, x.shape, n_words)
    return (x[:, :n_words], entities_out, pooled), cache


def model_backward(params, d_words, d_entities, d_pooled, cache) -> dict:
    """Backward of ``model_forward``: gradients of the last word and entity states and the
    pooled vector (each may be None: not read by the head) -> {core parameter name: gradient}.
    """
    embed_words, embed_entities, drops, layers, pool, x_shape, n_words = cache
    dx = np.zeros(x_shape, dtype=params["embeddings.word_embeddings.weight"].dtype)  # (b, n, h)
    if d_words is not None:
        dx[:, :n_words] += d_words
    if d_entities is not None:
        dx[:, n_words:] += d_entities
    grads = {}
    if d_pooled is not None:
        dfirst, pooler_grads = pooler_backward(params, d_pooled, pool, dx[:, :n_words].shape)
        dx[:, :n_words] += dfirst
        grads.update(pooler_grads)
    for layer in reversed(range(len(layers))):
        dx, layer_grads = layer_backward(scope(params, f"encoder.layer.{layer}."), dx,
                                         layers[layer])
        grads.update(_prefixed(f"encoder.layer.{layer}.", layer_grads))
    grads.update(_prefixed("embeddings.", word_embeddings_backward(
        scope(params, "embeddings."), dropped(dx[:, :n_words], drops[0]), embed_words)))
    if embed_entities is not None:
        grads.update(_prefixed("entity_embeddings.", entity_embeddings_backward(
            scope(params, "entity_embeddings."), dropped(dx[:, n_words:], drops[1]),
            embed_entities)))
    return grads

"""Task heads: small layers on top of the encoder's word and entity vectors, and their losses.

Each head reads some of the encoder's outputs and maps them to scores:

    head (transformers class)         reads                                  logits
    LukeForMaskedLM                   every word and every entity            (b, words, vocab),
                                                                             (b, entities, entity_vocab)
    LukeForEntityClassification       the first (attended) entity            (b, labels)
    LukeForEntityPairClassification   the first two entities, side by side   (b, labels)
    LukeForEntitySpanClassification   span start word, span end word, entity (b, entities, labels)
    LukeForSequenceClassification     the pooled <s> vector                  (b, labels)
    LukeForTokenClassification        every word                             (b, words, labels)
    LukeForQuestionAnswering          every word                             start, end (b, words)
    LukeForMultipleChoice             the pooled <s> vector of each choice   (b, choices)

The losses are the ones transformers computes: mean cross-entropy over class labels (rows
labelled -100 are left out), binary cross-entropy for multi-label 0/1 targets, mean squared
error for regression. Question answering is the exception to the -100 rule: as in
transformers, it averages the cross-entropy of start and end with positions clamped to
[0, words], and only the clamped value ``words`` is left out, so -100 counts as position 0.
Inference only: there is no dropout.
"""  # noqa: E501

from __future__ import annotations

import numpy as np

from . import fast, functional

# ----------------------------------------------------------------------------- losses


def cross_entropy(logits: np.ndarray, labels: np.ndarray, ignore_index: int = -100) -> np.ndarray:
    """Mean over kept rows of -log softmax(logits)[label]; rows labelled ignore_index skipped.

    (..., classes), (...) -> scalar. All rows ignored gives nan (0 / 0), as PyTorch does.
    """
    labels = np.asarray(labels).astype(np.int64).reshape(-1)  # (N,)
    logits = logits.reshape(labels.shape[0], -1)  # (N, classes)
    keep = labels != ignore_index
    kept = labels[keep]
    picked = functional.log_softmax(logits[keep], axis=-1)[np.arange(kept.size), kept]  # (kept,)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(-picked.sum() / keep.sum(), dtype=logits.dtype)


def binary_cross_entropy_with_logits(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Mean of -[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))], in the stable form
    max(x, 0) - x y + log(1 + exp(-|x|))."""
    x = logits.reshape(-1)
    y = np.asarray(targets).reshape(-1).astype(logits.dtype)
    loss = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    return np.asarray(loss.mean(), dtype=logits.dtype)


def mse_loss(predictions: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Mean of (prediction - target)**2 (shapes broadcast as in PyTorch)."""
    diff = predictions - np.asarray(targets).astype(predictions.dtype)
    return np.asarray(np.mean(diff * diff), dtype=predictions.dtype)


def classification_loss(logits: np.ndarray, labels: np.ndarray, one_label_ndim: int):
    """Cross-entropy for class indices (``one_label_ndim`` dims per batch), else binary
    cross-entropy on 0/1 targets (multi-label, one more dimension)."""
    labels = np.asarray(labels)
    if labels.ndim == one_label_ndim:
        return cross_entropy(logits, labels)
    return binary_cross_entropy_with_logits(logits, labels)


def sequence_classification_loss(logits: np.ndarray, labels: np.ndarray, problem_type: str):
    """The loss of ``problem_type``: regression (MSE; one label squeezed to a vector),
    single_label_classification (cross-entropy) or multi_label_classification (BCE)."""
    if problem_type == "regression":
        if logits.shape[-1] == 1:
            return mse_loss(np.squeeze(logits), np.squeeze(labels))
        return mse_loss(logits, labels)
    if problem_type == "single_label_classification":
        return cross_entropy(logits, labels)
    return binary_cross_entropy_with_logits(logits, labels)


def span_loss(start_logits, end_logits, start_positions, end_positions) -> np.ndarray:
    """Question answering: mean of the start and end cross-entropies. Positions outside the
    input are clamped to ``words``, a class no row has, and so ignored. (b, words) x 2."""
    words = start_logits.shape[1]
    starts = np.clip(np.asarray(start_positions).reshape(-1), 0, words)
    ends = np.clip(np.asarray(end_positions).reshape(-1), 0, words)
    return (cross_entropy(start_logits, starts, ignore_index=words)
            + cross_entropy(end_logits, ends, ignore_index=words)) / 2


# ----------------------------------------------------------------------------- head math


def lm_head(params: dict[str, np.ndarray], hidden: np.ndarray, eps: float) -> np.ndarray:
    """Word prediction: decoder(LayerNorm(gelu(dense(h)))) + bias, over the word vocabulary.

    The decoder matrix is the word embedding table (tied). Always exact GELU, whatever
    ``hidden_act`` says, as in RoBERTa. (batch, words, hidden) -> (batch, words, vocab)
    """
    x = fast.linear(hidden, params["lm_head.dense.weight"], params["lm_head.dense.bias"])
    x = fast.gelu_(x)  # in place
    x = fast.layer_norm(x, params["lm_head.layer_norm.weight"],
                        params["lm_head.layer_norm.bias"], eps)
    return fast.linear(x, params["lm_head.decoder.weight"], params["lm_head.bias"])


def entity_prediction_head(
    params: dict[str, np.ndarray], hidden: np.ndarray, activation: str, eps: float
) -> np.ndarray:
    """Entity prediction: decoder(LayerNorm(act(dense(h)))) + bias, over the entity vocabulary.

    dense maps hidden -> entity_emb_size; the decoder is the entity embedding table (tied).
    (batch, entities, hidden) -> (batch, entities, entity_vocab)
    """
    p = "entity_predictions."
    x = fast.linear(hidden, params[p + "transform.dense.weight"],
                    params[p + "transform.dense.bias"])
    x = fast.activation_(activation)(x)  # in place; (batch, entities, entity_emb_size)
    x = fast.layer_norm(x, params[p + "transform.LayerNorm.weight"],
                        params[p + "transform.LayerNorm.bias"], eps)
    return fast.linear(x, params[p + "decoder.weight"], params[p + "bias"])


def classifier(params: dict[str, np.ndarray], features: np.ndarray, name="classifier"):
    """The linear layer every classification head ends with. (..., in) -> (..., labels)"""
    return fast.linear(features, params[f"{name}.weight"], params.get(f"{name}.bias"))


def first_entities(entity_last_hidden_state: np.ndarray, entity_attention_mask, count: int
                   ) -> np.ndarray:
    """The first ``count`` attended entities of each row, in order: entities 0..count-1
    unless the row's entities are left-padded (transformers reads 0..count-1 always, so a
    left-padded row would be classified from [PAD] entities).
    (batch, entities, hidden), (batch, entities) or None -> (batch, count, hidden)"""
    if entity_attention_mask is None:
        return entity_last_hidden_state[:, :count]
    padding = np.asarray(entity_attention_mask) == 0  # (batch, entities)
    order = np.argsort(padding, axis=1, kind="stable")[:, :count]  # attended ones first
    return np.take_along_axis(entity_last_hidden_state, order[:, :, None], axis=1)


def entity_pair_features(entity_last_hidden_state: np.ndarray) -> np.ndarray:
    """[head entity; tail entity]: the first two entities side by side.
    (batch, entities, hidden) -> (batch, 2 hidden)"""
    return np.concatenate([entity_last_hidden_state[:, 0], entity_last_hidden_state[:, 1]],
                          axis=-1)


def span_features(
    last_hidden_state: np.ndarray,
    entity_last_hidden_state: np.ndarray,
    entity_start_positions: np.ndarray,
    entity_end_positions: np.ndarray,
) -> np.ndarray:
    """[word at span start; word at span end; entity] for every candidate span.

    (b, words, h), (b, entities, h), (b, entities) x 2 -> (b, entities, 3h)
    """
    rows = np.arange(last_hidden_state.shape[0])[:, None]  # (batch, 1)
    start_states = last_hidden_state[rows, entity_start_positions]  # (batch, entities, hidden)
    end_states = last_hidden_state[rows, entity_end_positions]  # (batch, entities, hidden)
    return np.concatenate([start_states, end_states, entity_last_hidden_state], axis=-1)

"""Each head's loss and its gradient, and ``loss_and_gradients`` for a whole model.

A head function takes the encoder's outputs and the labels and returns
``(loss, head gradients, (d word states, d entity states, d pooled))``: the loss as
transformers computes it (``core.heads`` computes the value), the gradients of the head's
own parameters, and the gradients it sends back into the encoder (None where it reads
nothing). ``loss_and_gradients`` runs the recording forward (``encoder.py``), the head, the
encoder's backward, and names the gradients as ``model.state_dict()`` does.

Loss gradients (N rows kept, C classes):
- cross-entropy, L = -(1/N) sum_r log softmax(z_r)[y_r]: dz_r = (softmax(z_r) - onehot(y_r)) / N,
  and 0 for rows labelled ``ignore_index``;
- binary cross-entropy with logits, L = mean(max(x, 0) - x y + log(1 + exp(-|x|))):
  dx = (sigmoid(x) - y) / size;
- mean squared error, L = mean((p - t)**2): dp = 2 (p - t) / size.
"""  # noqa: E501

from __future__ import annotations

import numpy as np

from ..core import heads
from ..core.functional import gelu, layer_norm, linear, sigmoid, softmax
from ..input_checks import (
    INPUT_NAMES,
    check_class_labels,
    check_label_count,
    check_span_positions,
    prepare_inputs,
)
from ..state_dict import tied_keys
from .backward import dropout_mask, dropped, gelu_backward, layer_norm_backward, linear_backward
from .encoder import model_backward, model_forward

# ----------------------------------------------------------------------------- losses


def cross_entropy_gradient(logits, labels, ignore_index=-100):
    """Cross-entropy (``core.heads.cross_entropy``) and its gradient. With every row
    ignored the loss is 0 / 0 = nan and so is the gradient, as in PyTorch (an optimizer
    step on it would spoil the model: the caller sees the nan loss first).
    (..., C), (...) -> scalar, (..., C)"""
    labels = np.asarray(labels).astype(np.int64).reshape(-1)  # (N,)
    rows = logits.reshape(labels.shape[0], -1)  # (N, C)
    keep = labels != ignore_index  # (N,)
    d = softmax(rows, axis=-1)  # (N, C)
    d[np.flatnonzero(keep), labels[keep]] -= 1
    with np.errstate(invalid="ignore", divide="ignore"):  # every row ignored: nan, as torch
        d *= keep[:, None] / keep.sum()
    return heads.cross_entropy(logits, labels, ignore_index), d.reshape(logits.shape)


def bce_gradient(logits, targets):
    """Binary cross-entropy with logits, mean over every entry, and its gradient."""
    y = np.asarray(targets).reshape(logits.shape).astype(logits.dtype)
    d = (sigmoid(logits) - y) / logits.size  # (...)
    return heads.binary_cross_entropy_with_logits(logits, targets), d


def mse_gradient(predictions, targets):
    """Mean squared error and its gradient (targets broadcast to the predictions)."""
    diff = predictions - np.broadcast_to(np.asarray(targets).astype(predictions.dtype),
                                         predictions.shape)
    return heads.mse_loss(predictions, targets), 2 * diff / diff.size


def classification_gradient(logits, labels, one_label_ndim):
    """Cross-entropy for class indices, BCE for 0/1 multi-label targets, as transformers
    chooses by the labels' number of dimensions (checked as the forward checks them)."""
    if np.ndim(labels) == one_label_ndim:
        return cross_entropy_gradient(logits, check_class_labels(labels, logits.shape[-1]))
    return bce_gradient(logits, check_label_count(labels, logits))


def classify(params, features, drop, name="classifier"):
    """The closing linear layer on the features after dropout (``drop``: a mask or None)."""
    return heads.classifier(params, dropped(features, drop), name)


def classifier_backward(params, dlogits, features, drop=None, name="classifier"):
    """Backward of ``classify``. -> d features, {name: gradient}"""
    dfeatures, dw, db = linear_backward(dlogits, dropped(features, drop),
                                        params[f"{name}.weight"],
                                        has_bias=f"{name}.bias" in params)
    grads = {f"{name}.weight": dw}
    if db is not None:
        grads[f"{name}.bias"] = db
    return dropped(dfeatures, drop), grads


def head_dropout(config, rng, shape, dtype, classifier_rate=False):
    """The mask of a head's dropout before its classifier: ``hidden_dropout_prob`` (the
    entity heads), or ``classifier_dropout`` when set (sequence, token, multiple choice)."""
    p = config.hidden_dropout_prob
    if classifier_rate and config.classifier_dropout is not None:
        p = config.classifier_dropout
    return dropout_mask(rng, shape, p, dtype)


# ----------------------------------------------------------------------------- heads


def first_entity_order(entity_states, entity_attention_mask, count):
    """Which entities ``core.heads.first_entities`` reads: (batch, count) indices."""
    batch, entities = entity_states.shape[:2]
    if entity_attention_mask is None:
        return np.broadcast_to(np.arange(count), (batch, count))
    padding = np.asarray(entity_attention_mask).reshape(batch, entities) == 0
    return np.argsort(padding, axis=1, kind="stable")[:, :count]  # (batch, count)


def entity_features_gradient(params, config, states, arrays, labels, count, rng):
    """Entity (count 1) and entity-pair (count 2) classification: a linear layer on the
    first ``count`` attended entities side by side. The indices are distinct, so the
    backward puts each feature gradient back in its entity's row."""
    entities = states[1]
    order = first_entity_order(entities, arrays["entity_attention_mask"], count)  # (b, count)
    picked = np.take_along_axis(entities, order[:, :, None], axis=1)  # (batch, count, hidden)
    features = picked.reshape(len(picked), -1)  # (batch, count * hidden)
    drop = head_dropout(config, rng, features.shape, features.dtype)
    logits = classify(params, features, drop)  # (batch, labels)
    loss, dlogits = classification_gradient(logits, labels, 1)
    dfeatures, grads = classifier_backward(params, dlogits, features, drop)
    dentities = np.zeros_like(entities)  # (batch, entities, hidden)
    np.put_along_axis(dentities, order[:, :, None], dfeatures.reshape(picked.shape), axis=1)
    return loss, grads, (None, dentities, None)


def entity_classification(params, config, states, arrays, labels, rng=None):
    return entity_features_gradient(params, config, states, arrays, labels, 1, rng)


def entity_pair_classification(params, config, states, arrays, labels, rng=None):
    return entity_features_gradient(params, config, states, arrays, labels, 2, rng)


def entity_span_classification(params, config, states, arrays, labels,  # noqa: PLR0913  transformers' signature (the head's inputs)
                               entity_start_positions, entity_end_positions, rng=None):
    """A linear layer on [start word; end word; entity] per span; start and end words may
    repeat across spans, so their gradients are added up with ``np.add.at``."""
    words, entities, _ = states
    starts, ends = (check_span_positions(p, entities.shape, words.shape[1], name)
                    for p, name in ((entity_start_positions, "entity_start_positions"),
                                    (entity_end_positions, "entity_end_positions")))
    features = heads.span_features(words, entities, starts, ends)  # (batch, entities, 3h)
    drop = head_dropout(config, rng, features.shape, features.dtype)
    logits = classify(params, features, drop)  # (batch, entities, labels)
    loss, dlogits = classification_gradient(logits, labels, 2)
    dfeatures, grads = classifier_backward(params, dlogits, features, drop)
    hidden = words.shape[-1]
    dwords = np.zeros_like(words)  # (batch, words, hidden)
    rows = np.broadcast_to(np.arange(len(words))[:, None], starts.shape)  # (batch, entities)
    np.add.at(dwords, (rows, starts), dfeatures[..., :hidden])
    np.add.at(dwords, (rows, ends), dfeatures[..., hidden:2 * hidden])
    return loss, grads, (dwords, dfeatures[..., 2 * hidden:], None)


def sequence_classification(params, config, states, arrays, labels, problem_type, rng=None):
    """A linear layer on the pooled vector; the loss of ``problem_type``."""
    pooled = states[2]
    drop = head_dropout(config, rng, pooled.shape, pooled.dtype, classifier_rate=True)
    logits = classify(params, pooled, drop)  # (batch, labels)
    if problem_type == "regression":
        if logits.shape[-1] == 1:  # transformers squeezes both
            loss, d = mse_gradient(np.squeeze(logits), np.squeeze(labels))
            dlogits = d.reshape(logits.shape)
        else:
            loss, dlogits = mse_gradient(logits, labels)
    elif problem_type == "single_label_classification":
        loss, dlogits = cross_entropy_gradient(
            logits, check_class_labels(labels, logits.shape[-1]))
    else:
        loss, dlogits = bce_gradient(logits, check_label_count(labels, logits))
    dpooled, grads = classifier_backward(params, dlogits, pooled, drop)
    return loss, grads, (None, None, dpooled)


def token_classification(params, config, states, arrays, labels, rng=None):
    words = states[0]
    drop = head_dropout(config, rng, words.shape, words.dtype, classifier_rate=True)
    logits = classify(params, words, drop)  # (batch, words, labels)
    loss, dlogits = cross_entropy_gradient(
        logits, check_class_labels(labels, logits.shape[-1]))
    dwords, grads = classifier_backward(params, dlogits, words, drop)
    return loss, grads, (dwords, None, None)


def question_answering(params, config, states, arrays, start_positions, end_positions,
                       rng=None):
    """(start loss + end loss) / 2, positions clamped to [0, words] and ``words`` ignored
    (``core.heads.span_loss``). No dropout in this head (as transformers)."""
    words = states[0]
    logits = heads.classifier(params, words, "qa_outputs")  # (batch, words, 2)
    n = words.shape[1]
    loss, dlogits = 0.0, np.zeros_like(logits)
    for column, positions in enumerate((start_positions, end_positions)):
        clamped = np.clip(np.asarray(positions).reshape(-1), 0, n)  # (batch,)
        part, d = cross_entropy_gradient(logits[..., column], clamped, ignore_index=n)
        loss, dlogits[..., column] = loss + part / 2, d / 2
    dwords, grads = classifier_backward(params, dlogits, words, name="qa_outputs")
    return np.asarray(loss, dtype=logits.dtype), grads, (dwords, None, None)


def multiple_choice(params, config, states, arrays, labels, choices, rng=None):
    """One score per (example, choice) row's pooled vector, softmax over the choices."""
    pooled = states[2]  # (batch * choices, hidden)
    drop = head_dropout(config, rng, pooled.shape, pooled.dtype, classifier_rate=True)
    logits = classify(params, pooled, drop).reshape(-1, choices)  # (batch, choices)
    loss, dlogits = cross_entropy_gradient(logits, check_class_labels(labels, choices))
    dpooled, grads = classifier_backward(params, dlogits.reshape(-1, 1), pooled, drop)
    return loss, grads, (None, None, dpooled)


def masked_lm(params, config, states, arrays, labels=None, entity_labels=None, rng=None):
    """mlm loss + mep loss (whichever labels are given). Both decoders are tied: their
    gradients are returned under the decoder names and summed into the tables later. No
    dropout in these heads (as transformers)."""
    words, entities, _ = states
    eps = config.layer_norm_eps
    loss, grads, dwords, dentities = 0.0, {}, None, None
    if labels is not None:
        part, grads_lm, dwords = transform_decoder_gradient(
            params, "lm_head.dense", "lm_head.layer_norm", "lm_head.decoder", "lm_head.bias",
            words, check_class_labels(labels, config.vocab_size), eps)
        loss, grads = loss + part, {**grads, **grads_lm}
    if entity_labels is not None and entities is not None:
        p = "entity_predictions."
        part, grads_ep, dentities = transform_decoder_gradient(
            params, p + "transform.dense", p + "transform.LayerNorm", p + "decoder", p + "bias",
            entities, check_class_labels(entity_labels, config.entity_vocab_size), eps)
        loss, grads = loss + part, {**grads, **grads_ep}
    return np.asarray(loss, dtype=words.dtype), grads, (dwords, dentities, None)


def transform_decoder_gradient(params, dense, norm, decoder, bias, hidden, labels, eps):  # noqa: PLR0913  both decoder heads' parameter names
    """decoder(LayerNorm(gelu(dense(h)))) + bias with cross-entropy, and its backward.
    (The lm head always uses exact GELU; the entity head uses hidden_act, which
    ``loss_and_gradients`` requires to be "gelu".) -> loss, grads, d hidden"""
    inner = linear(hidden, params[f"{dense}.weight"], params[f"{dense}.bias"])  # (b, m, d)
    activated = gelu(inner)
    normed = layer_norm(activated, params[f"{norm}.weight"], params[f"{norm}.bias"], eps)
    logits = linear(normed, params[f"{decoder}.weight"], params[bias])  # (b, m, vocab)
    loss, dlogits = cross_entropy_gradient(logits, labels)
    dnormed, ddecoder, dbias = linear_backward(dlogits, normed, params[f"{decoder}.weight"])
    dactivated, dgamma, dbeta = layer_norm_backward(dnormed, activated,
                                                    params[f"{norm}.weight"], eps)
    dhidden, ddense, ddense_bias = linear_backward(gelu_backward(dactivated, inner), hidden,
                                                   params[f"{dense}.weight"])
    grads = {f"{decoder}.weight": ddecoder, bias: dbias, f"{norm}.weight": dgamma,
             f"{norm}.bias": dbeta, f"{dense}.weight": ddense, f"{dense}.bias": ddense_bias}
    return loss, grads, dhidden


# ----------------------------------------------------------------------------- the model

# class name -> (head function, the names of its label / extra inputs)
HEADS = {
    "LukeForMaskedLM": (masked_lm, ("labels", "entity_labels")),
    "LukeForEntityClassification": (entity_classification, ("labels",)),
    "LukeForEntityPairClassification": (entity_pair_classification, ("labels",)),
    "LukeForEntitySpanClassification": (
        entity_span_classification, ("labels", "entity_start_positions", "entity_end_positions")),
    "LukeForSequenceClassification": (sequence_classification, ("labels",)),
    "LukeForTokenClassification": (token_classification, ("labels",)),
    "LukeForQuestionAnswering": (question_answering, ("start_positions", "end_positions")),
    "LukeForMultipleChoice": (multiple_choice, ("labels",)),
}


def loss_and_gradients(model, dropout_rng=None, **kwargs):
    """``(loss, {state_dict name: gradient})`` for ``model`` on one batch.

    Dropout is off unless ``dropout_rng`` (a ``numpy.random.Generator``) is given: then
    it is on at the config's rates, where transformers applies it in training (the
    embeddings, attention probabilities, both residual branches of each layer, the
    classifier's input), and the gradient is that of the loss with those masks.

    Every parameter gets a gradient under its ``model.state_dict()`` name, except tied
    names (``lm_head.decoder.weight`` when tied, ``lm_head.decoder.bias``,
    ``entity_predictions.decoder.weight``): as in torch's ``named_parameters()`` a tied
    tensor is one parameter, whose gradient (both uses summed) is under its owner's name.
    """
    name, config = type(model).__name__, model.config
    if name not in HEADS:
        raise TypeError(f"{name} has no loss: loss_and_gradients needs a LukeFor... head class")
    head, head_names = HEADS[name]
    head_inputs = {k: kwargs.pop(k) for k in head_names if kwargs.get(k) is not None}
    unknown = sorted(set(kwargs) - set(INPUT_NAMES))
    if unknown:
        raise TypeError(f"{name}.loss_and_gradients got unexpected arguments {unknown}")
    required = ("labels", "entity_labels") if name == "LukeForMaskedLM" else head_names
    if not any(k in head_inputs for k in required) or (
            name != "LukeForMaskedLM" and set(head_names) - set(head_inputs)):
        raise ValueError(f"{name}.loss_and_gradients needs {' and '.join(head_names)}"
                         if name != "LukeForMaskedLM" else
                         f"{name}.loss_and_gradients needs labels and/or entity_labels")
    if dropout_rng is not None and not callable(getattr(dropout_rng, "random", None)):
        raise TypeError(f"dropout_rng must be a numpy.random.Generator (np.random."
                        f"default_rng(seed)), got {type(dropout_rng).__name__}")
    if config.hidden_act != "gelu":
        raise NotImplementedError(f"gradients are derived for hidden_act='gelu' only; the "
                                  f"config has {config.hidden_act!r}")
    if name == "LukeForMultipleChoice":
        kwargs, head_inputs["choices"] = _fold_choices(kwargs)
    arrays = prepare_inputs(config, **kwargs)
    if name == "LukeForSequenceClassification":
        head_inputs["problem_type"] = model.problem_type(np.asarray(head_inputs["labels"]))
    if name in ("LukeForEntityClassification", "LukeForEntityPairClassification",
                "LukeForEntitySpanClassification") or "entity_labels" in head_inputs:
        needs = 2 if name == "LukeForEntityPairClassification" else 1
        if arrays["entity_ids"] is None or arrays["entity_ids"].shape[1] < needs:
            raise ValueError(f"{name} needs at least {needs} entities per example")
    states, cache = model_forward(model.params, config, **arrays,
                                  add_pooling_layer=model.uses_pooler, rng=dropout_rng)
    loss, grads, (dwords, dentities, dpooled) = head(model.params, config, states, arrays,
                                                     **head_inputs, rng=dropout_rng)
    grads.update(model_backward(model.params, dwords, dentities, dpooled, cache))
    for tied, owner in tied_keys(config).items():
        if tied in grads:
            grads[owner] = grads[owner] + grads.pop(tied)
    return loss, {model._stored_name(key): value for key, value in grads.items()}


def _fold_choices(inputs):
    """(batch, choices, ...) inputs -> (batch * choices, ...), as ``LukeForMultipleChoice``."""
    input_ids = np.asarray(inputs["input_ids"])
    if input_ids.ndim != 3:
        raise ValueError("LukeForMultipleChoice takes input_ids of shape "
                         f"(batch, choices, words); got {input_ids.shape}")
    batch, choices = input_ids.shape[:2]
    folded = {name: None if value is None else
              np.asarray(value).reshape(batch * choices, *np.shape(value)[2:])
              for name, value in inputs.items()}
    return folded, choices

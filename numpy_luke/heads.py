"""Task heads: small layers on top of the encoder's word and entity vectors.

Each head reads some of the encoder's outputs and maps them to scores:

    head                              reads                                      logits
    LukeForMaskedLM                   every word and entity vector               (b, words, vocab), (b, entities, entity_vocab)
    LukeForEntityClassification       the first entity                           (b, labels)
    LukeForEntityPairClassification   the first two entities, side by side       (b, labels)
    LukeForEntitySpanClassification   span start word, span end word, entity     (b, entities, labels)
    LukeForSequenceClassification     the pooled <s> vector                      (b, labels)
    LukeForTokenClassification        every word                                 (b, words, labels)
    LukeForQuestionAnswering          every word                                 start and end (b, words)
    LukeForMultipleChoice             the pooled <s> vector of each choice       (b, choices)

Given labels, a head also returns the loss transformers computes (mean cross-entropy with
-100 labels ignored; binary cross-entropy for multi-label targets; mean squared error for
regression). Question answering is the exception: as in transformers, its start and end
positions are clamped to [0, words] and the clamped value ``words`` is the one ignored, so
-100 counts as position 0. Inference only: there is no dropout.
"""  # noqa: E501

from __future__ import annotations

import numpy as np

from .functional import gelu, get_activation, layer_norm, linear, log_softmax
from .model import INPUT_NAMES, LukePreTrainedModel
from .outputs import (
    EntityClassificationOutput,
    EntityPairClassificationOutput,
    EntitySpanClassificationOutput,
    LukeMaskedLMOutput,
    LukeMultipleChoiceModelOutput,
    LukeQuestionAnsweringModelOutput,
    LukeSequenceClassifierOutput,
    LukeTokenClassifierOutput,
)

# ----------------------------------------------------------------------------- losses


def cross_entropy(logits: np.ndarray, labels: np.ndarray, ignore_index: int = -100) -> np.ndarray:
    """Mean over kept rows of -log softmax(logits)[label]; rows labelled ignore_index skipped.

    (N, classes), (N,) -> scalar. All rows ignored gives nan (0 / 0), as PyTorch does.
    """
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    logits = logits.reshape(labels.shape[0], -1)
    keep = labels != ignore_index
    kept = labels[keep]
    if kept.size and (kept.min() < 0 or kept.max() >= logits.shape[1]):
        raise ValueError(f"labels must lie in [0, {logits.shape[1] - 1}] or be "
                         f"{ignore_index} (ignored); got values in [{kept.min()}, {kept.max()}]")
    picked = log_softmax(logits[keep], axis=-1)[np.arange(kept.size), kept]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(-picked.sum() / keep.sum(), dtype=logits.dtype)


def binary_cross_entropy_with_logits(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Mean of -[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))], in the stable form
    max(x, 0) - x y + log(1 + exp(-|x|))."""
    x = logits.reshape(-1)
    y = np.asarray(targets).reshape(-1).astype(logits.dtype)
    if x.shape != y.shape:
        raise ValueError(f"labels have {y.size} values; expected {x.size} (one per logit)")
    loss = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    return np.asarray(loss.mean(), dtype=logits.dtype)


def mse_loss(predictions: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Mean of (prediction - target)**2 (shapes broadcast as in PyTorch)."""
    diff = predictions - np.asarray(targets).astype(predictions.dtype)
    return np.asarray(np.mean(diff * diff), dtype=predictions.dtype)


# ----------------------------------------------------------------------------- head math


def lm_head(params: dict[str, np.ndarray], hidden: np.ndarray, eps: float) -> np.ndarray:
    """Word prediction: decoder(LayerNorm(gelu(dense(h)))) + bias, over the word vocabulary.

    The decoder matrix is the word embedding table (tied). Always exact GELU, whatever
    ``hidden_act`` says, as in RoBERTa. (batch, words, hidden) -> (batch, words, vocab)
    """
    x = gelu(linear(hidden, params["lm_head.dense.weight"], params["lm_head.dense.bias"]))
    x = layer_norm(x, params["lm_head.layer_norm.weight"], params["lm_head.layer_norm.bias"], eps)
    return linear(x, params["lm_head.decoder.weight"], params["lm_head.bias"])


def entity_prediction_head(
    params: dict[str, np.ndarray], hidden: np.ndarray, activation: str, eps: float
) -> np.ndarray:
    """Entity prediction: decoder(LayerNorm(act(dense(h)))) + bias, over the entity vocabulary.

    dense maps hidden -> entity_emb_size; the decoder is the entity embedding table (tied).
    (batch, entities, hidden) -> (batch, entities, entity_vocab)
    """
    p = "entity_predictions."
    x = linear(hidden, params[p + "transform.dense.weight"], params[p + "transform.dense.bias"])
    x = get_activation(activation)(x)  # (batch, entities, entity_emb_size)
    x = layer_norm(x, params[p + "transform.LayerNorm.weight"],
                   params[p + "transform.LayerNorm.bias"], eps)
    return linear(x, params[p + "decoder.weight"], params[p + "bias"])


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


# ----------------------------------------------------------------------------- the classes


def _linear_shapes(name: str, out_features: int, in_features: int, bias: bool = True):
    shapes = {f"{name}.weight": (out_features, in_features)}
    if bias:
        shapes[f"{name}.bias"] = (out_features,)
    return shapes


def _check_inputs(cls_name: str, inputs: dict) -> None:
    unknown = sorted(set(inputs) - set(INPUT_NAMES))
    if unknown:
        raise TypeError(
            f"{cls_name} got unexpected input(s) {', '.join(unknown)}; it accepts "
            f"{', '.join(INPUT_NAMES)}, labels, output_attentions and output_hidden_states"
        )


class _Head(LukePreTrainedModel):
    """Shared call plumbing: run the encoder, then ``_head`` maps its outputs to an output.

    ``model(**encoding)`` passes the encoder's inputs (``INPUT_NAMES``) on to the encoder
    and the names in ``head_inputs`` (labels, span positions, ...) to ``_head``.
    """

    head_inputs: tuple[str, ...] = ("labels",)

    def __call__(self, input_ids=None, *, output_attentions=False, output_hidden_states=False,
                 **inputs):
        head_inputs = {k: inputs.pop(k) for k in self.head_inputs if k in inputs}
        _check_inputs(type(self).__name__, inputs)
        encoded, arrays = self.encode(
            input_ids=input_ids, output_attentions=output_attentions,
            output_hidden_states=output_hidden_states, **inputs,
        )
        return self._head(encoded, arrays, **head_inputs)

    def _common(self, encoded):
        return dict(hidden_states=encoded.hidden_states,
                    entity_hidden_states=encoded.entity_hidden_states,
                    attentions=encoded.attentions)

    def _classifier(self, features, name="classifier"):
        return linear(features, self.params[f"{name}.weight"], self.params.get(f"{name}.bias"))


class LukeForMaskedLM(_Head):
    """Masked language modelling plus masked entity prediction (LUKE's pre-training heads)."""

    head_inputs = ("labels", "entity_labels")

    @staticmethod
    def head_shapes(config):
        h, e = config.hidden_size, config.entity_emb_size
        return {
            **_linear_shapes("lm_head.dense", h, h),
            "lm_head.layer_norm.weight": (h,),
            "lm_head.layer_norm.bias": (h,),
            **_linear_shapes("lm_head.decoder", config.vocab_size, h, bias=False),
            "lm_head.bias": (config.vocab_size,),
            **_linear_shapes("entity_predictions.transform.dense", e, h),
            "entity_predictions.transform.LayerNorm.weight": (e,),
            "entity_predictions.transform.LayerNorm.bias": (e,),
            **_linear_shapes("entity_predictions.decoder", config.entity_vocab_size, e,
                             bias=False),
            "entity_predictions.bias": (config.entity_vocab_size,),
        }

    def _head(self, encoded, arrays, labels=None, entity_labels=None):
        c = self.config
        logits = lm_head(self.params, encoded.last_hidden_state, c.layer_norm_eps)
        mlm_loss = mep_loss = entity_logits = None
        if labels is not None:
            mlm_loss = cross_entropy(logits, labels)
        if encoded.entity_last_hidden_state is not None:
            entity_logits = entity_prediction_head(
                self.params, encoded.entity_last_hidden_state, c.hidden_act, c.layer_norm_eps)
            if entity_labels is not None:
                mep_loss = cross_entropy(entity_logits, entity_labels)
        losses = [x for x in (mlm_loss, mep_loss) if x is not None]
        return LukeMaskedLMOutput(
            loss=sum(losses[1:], losses[0]) if losses else None, mlm_loss=mlm_loss,
            mep_loss=mep_loss, logits=logits, entity_logits=entity_logits,
            **self._common(encoded),
        )


def _entity_label_loss(logits, labels, one_label_ndim):
    """Cross-entropy for class indices (``one_label_ndim`` dims), else BCE on 0/1 targets."""
    labels = np.asarray(labels)
    if labels.ndim == one_label_ndim:
        return cross_entropy(logits, labels)
    return binary_cross_entropy_with_logits(logits, labels)


def _require_entities(cls_name, encoded, count=1):
    states = encoded.entity_last_hidden_state
    if states is None or states.shape[1] < count:
        raise ValueError(f"{cls_name} needs at least {count} entit{'y' if count == 1 else 'ies'} "
                         "per example: pass entity_ids and entity_position_ids (tokenize with "
                         "entity_spans)")
    return states


class LukeForEntityClassification(_Head):
    """Classify the first entity (e.g. Open Entity typing): a linear layer on its vector."""

    @staticmethod
    def head_shapes(config):
        return _linear_shapes("classifier", config.num_labels, config.hidden_size)

    def _head(self, encoded, arrays, labels=None):
        states = _require_entities(type(self).__name__, encoded)
        logits = self._classifier(states[:, 0])  # (batch, num_labels)
        loss = None if labels is None else _entity_label_loss(logits, labels, 1)
        return EntityClassificationOutput(loss=loss, logits=logits, **self._common(encoded))


class LukeForEntityPairClassification(_Head):
    """Classify the relation of the first two entities (e.g. TACRED): linear on [e1; e2]."""

    @staticmethod
    def head_shapes(config):
        return _linear_shapes("classifier", config.num_labels, 2 * config.hidden_size,
                              bias=False)

    def _head(self, encoded, arrays, labels=None):
        states = _require_entities(type(self).__name__, encoded, 2)
        features = np.concatenate([states[:, 0], states[:, 1]], axis=-1)  # (batch, 2 hidden)
        logits = self._classifier(features)  # (batch, num_labels)
        loss = None if labels is None else _entity_label_loss(logits, labels, 1)
        return EntityPairClassificationOutput(loss=loss, logits=logits, **self._common(encoded))


class LukeForEntitySpanClassification(_Head):
    """Classify every candidate span (e.g. CoNLL NER): linear on [start word; end word; entity]."""

    head_inputs = ("labels", "entity_start_positions", "entity_end_positions")

    @staticmethod
    def head_shapes(config):
        return _linear_shapes("classifier", config.num_labels, 3 * config.hidden_size)

    def _head(self, encoded, arrays, labels=None, entity_start_positions=None,
              entity_end_positions=None):
        states = _require_entities(type(self).__name__, encoded)
        if entity_start_positions is None or entity_end_positions is None:
            raise ValueError(
                "LukeForEntitySpanClassification needs entity_start_positions and "
                "entity_end_positions (tokenize with task='entity_span_classification')")
        starts, ends = (self._positions(p, states.shape, encoded.last_hidden_state.shape[1], n)
                        for p, n in ((entity_start_positions, "entity_start_positions"),
                                     (entity_end_positions, "entity_end_positions")))
        features = span_features(encoded.last_hidden_state, states, starts, ends)
        logits = self._classifier(features)  # (batch, entities, num_labels)
        loss = None if labels is None else _entity_label_loss(logits, labels, 2)
        return EntitySpanClassificationOutput(loss=loss, logits=logits, **self._common(encoded))

    @staticmethod
    def _positions(value, entity_shape, words, name):
        positions = np.asarray(value).astype(np.int64)
        if positions.ndim == 1:
            positions = positions[None]
        if positions.shape != entity_shape[:2]:
            raise ValueError(f"{name} has shape {positions.shape}; expected {entity_shape[:2]}")
        if positions.size and (positions.min() < 0 or positions.max() >= words):
            raise ValueError(f"{name} must lie in [0, {words - 1}]")
        return positions


class LukeForSequenceClassification(_Head):
    """Classify (or regress on) the whole text: a linear layer on the pooled <s> vector."""

    @staticmethod
    def head_shapes(config):
        return _linear_shapes("classifier", config.num_labels, config.hidden_size)

    def problem_type(self, labels: np.ndarray) -> str:
        """config.problem_type, or as transformers guesses it: 1 label -> regression; integer
        labels -> single-label; otherwise multi-label. (Unlike transformers, the guess is
        not written back into the config.)"""
        if self.config.problem_type is not None:
            return self.config.problem_type
        if self.config.num_labels == 1:
            return "regression"
        if np.issubdtype(labels.dtype, np.integer):
            return "single_label_classification"
        return "multi_label_classification"

    def _head(self, encoded, arrays, labels=None):
        logits = self._classifier(encoded.pooler_output)  # (batch, num_labels)
        loss = None
        if labels is not None:
            labels = np.asarray(labels)
            kind = self.problem_type(labels)
            if kind == "regression":
                if self.config.num_labels == 1:
                    loss = mse_loss(np.squeeze(logits), np.squeeze(labels))
                else:
                    loss = mse_loss(logits, labels)
            elif kind == "single_label_classification":
                loss = cross_entropy(logits, labels)
            else:
                loss = binary_cross_entropy_with_logits(logits, labels)
        return LukeSequenceClassifierOutput(loss=loss, logits=logits, **self._common(encoded))


class LukeForTokenClassification(_Head):
    """Label every word token: a linear layer on each word vector (no pooler)."""

    uses_pooler = False

    @staticmethod
    def head_shapes(config):
        return _linear_shapes("classifier", config.num_labels, config.hidden_size)

    def _head(self, encoded, arrays, labels=None):
        logits = self._classifier(encoded.last_hidden_state)  # (batch, words, num_labels)
        loss = None if labels is None else cross_entropy(logits, labels)
        return LukeTokenClassifierOutput(loss=loss, logits=logits, **self._common(encoded))


class LukeForQuestionAnswering(_Head):
    """Extractive QA: start and end scores for every word (no pooler)."""

    uses_pooler = False
    head_inputs = ("start_positions", "end_positions")

    @staticmethod
    def head_shapes(config):
        return _linear_shapes("qa_outputs", config.num_labels, config.hidden_size)

    def _head(self, encoded, arrays, start_positions=None, end_positions=None):
        if self.config.num_labels != 2:
            raise ValueError(f"LukeForQuestionAnswering needs num_labels == 2 (start, end); "
                             f"the config has {self.config.num_labels}")
        logits = self._classifier(encoded.last_hidden_state, "qa_outputs")  # (b, words, 2)
        start_logits, end_logits = logits[..., 0], logits[..., 1]  # (batch, words) each
        loss = None
        if start_positions is not None and end_positions is not None:
            # Positions outside the input are clamped to `words`, a class no row has: ignored.
            words = start_logits.shape[1]
            starts = np.clip(np.asarray(start_positions).reshape(-1), 0, words)
            ends = np.clip(np.asarray(end_positions).reshape(-1), 0, words)
            loss = (cross_entropy(start_logits, starts, ignore_index=words)
                    + cross_entropy(end_logits, ends, ignore_index=words)) / 2
        return LukeQuestionAnsweringModelOutput(
            loss=loss, start_logits=start_logits, end_logits=end_logits, **self._common(encoded))


class LukeForMultipleChoice(_Head):
    """Pick one of several choices: every (example, choice) pair runs through the encoder as
    its own row; one score per pooled <s> vector; softmax over the choices."""

    @staticmethod
    def head_shapes(config):
        return _linear_shapes("classifier", 1, config.hidden_size)

    def __call__(self, input_ids=None, *, output_attentions=False, output_hidden_states=False,
                 labels=None, **inputs):
        _check_inputs(type(self).__name__, inputs)
        input_ids = np.asarray(input_ids)
        if input_ids.ndim != 3:
            raise ValueError("LukeForMultipleChoice takes input_ids of shape "
                             f"(batch, choices, words); got {input_ids.shape}")
        batch, choices = input_ids.shape[:2]
        flat = {}  # every input with (batch, choices) folded into one axis of rows
        for name, value in inputs.items():
            if value is not None:
                value = np.asarray(value)
                flat[name] = value.reshape(batch * choices, *value.shape[2:])
        encoded, _ = self.encode(
            input_ids=input_ids.reshape(batch * choices, -1), output_attentions=output_attentions,
            output_hidden_states=output_hidden_states, **flat,
        )
        logits = self._classifier(encoded.pooler_output).reshape(batch, choices)
        loss = None if labels is None else cross_entropy(logits, labels)
        return LukeMultipleChoiceModelOutput(loss=loss, logits=logits, **self._common(encoded))

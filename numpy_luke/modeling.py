"""The transformers-style model classes: ``LukeModel`` and the eight ``LukeFor...`` heads.

These are the shell around the core. Each class holds a config and a parameter dict (keys
named as in the checkpoint), loads them with ``from_pretrained``, and on ``__call__``:

1. checks the inputs once (``input_checks.py``: ids in range, shapes that fit, no unknown
   names);
2. runs the encoder, ``core.encoder.luke_model``, a pure function of arrays;
3. runs its head's math from ``core.heads`` and, given labels, the loss;
4. wraps the arrays in transformers' output class (``outputs.py``).

So a reader who wants LUKE reads ``numpy_luke/core``; this module only says which core
function each class calls. Names, arguments and outputs follow transformers' LUKE classes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .config import LukeConfig
from .core import heads
from .core.encoder import luke_model
from .hub import LoadOptions, resolve_weight_files
from .input_checks import (
    INPUT_NAMES,
    call_arguments,
    check_class_labels,
    check_entities,
    check_label_count,
    check_span_positions,
    model_dtype,
    prepare_inputs,
    weights_dtype,
)
from .outputs import (
    BaseLukeModelOutputWithPooling,
    EntityClassificationOutput,
    EntityPairClassificationOutput,
    EntitySpanClassificationOutput,
    LukeMaskedLMOutput,
    LukeMultipleChoiceModelOutput,
    LukeQuestionAnsweringModelOutput,
    LukeSequenceClassifierOutput,
    LukeTokenClassifierOutput,
)
from .saving import save_model_folder
from .state_dict import (
    EMBEDDING_TABLES,
    HEAD_NAMESPACES,
    PREFIX,
    encoder_shapes,
    prepare_state_dict,
    tied_keys,
)
from .training.heads import loss_and_gradients as training_loss_and_gradients
from .weights import load_state_dict


class LukePreTrainedModel:
    """Shared shell of ``LukeModel`` and the heads: config, parameters, ``from_pretrained``.

    Subclasses set ``head_shapes(config)`` (their own tensors) and ``uses_pooler``.
    """

    uses_pooler = True
    # transformers' positional order of the call's arguments (heads add theirs).
    forward_args: tuple[str, ...] = (*INPUT_NAMES, "head_mask", "inputs_embeds")

    def __init__(self, config: LukeConfig, params: dict[str, np.ndarray] | None = None, *,
                 seed: int | None = None):
        """``params`` as ``from_pretrained`` prepares them; without them, a randomly
        initialised model as transformers builds one (``seed`` makes it reproducible)."""
        if not isinstance(config, LukeConfig):
            raise TypeError(f"{type(self).__name__} needs a LukeConfig, got "
                            f"{type(config).__name__}")
        self.config = config
        if params is None:
            params = random_parameters(config, self.head_shapes(config), self.uses_pooler, seed)
        self.params = params

    @classmethod
    def from_config(cls, config: LukeConfig, *, seed: int | None = None):
        """A randomly initialised model of this class (as transformers' ``from_config``)."""
        return cls(config, seed=seed)

    def eval(self):
        """Inference is all numpy_luke does: a no-op that returns the model, as in torch."""
        return self

    @staticmethod
    def head_shapes(config: LukeConfig) -> dict[str, tuple] | None:
        return None

    @property
    def dtype(self):
        return self.params["embeddings.word_embeddings.weight"].dtype

    @classmethod
    def from_state_dict(
        cls, state_dict: dict[str, np.ndarray], config: LukeConfig, dtype=np.float32,
        source: str = "state dict", seed: int | None = None,
    ):
        """Build the model from a ``{key: array}`` state dict (keys with or without ``luke.``).

        A head (or pooler) the state dict lacks starts from random values, with a warning,
        as in transformers: drawn from ``np.random.default_rng(seed)`` (``seed=None``: fresh
        randomness each time; an int: the same head every time)."""
        rng = np.random.default_rng(seed)
        params = prepare_state_dict(
            state_dict, config, cls.head_shapes(config), with_pooler=cls.uses_pooler,
            dtype=np.dtype(dtype), source=source,
            initialise=lambda name, shape: initial_value(name, shape, config, rng),
        )
        return cls(config, params)

    @classmethod
    def from_pretrained(  # noqa: PLR0913  transformers' signature
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        *,
        revision: str | None = None,
        dtype=np.float32,
        local_files_only: bool = False,
        cache_dir: str | os.PathLike | None = None,
        config: LukeConfig | None = None,
        force_download: bool = False,
        token: str | bool | None = None,
        torch_dtype=None,
        seed: int | None = None,
        load: LoadOptions | None = None,
        **config_overrides,
    ):
        """Load config.json and the weights of a local folder or a Hub repository.

        ``dtype=np.float64`` runs the whole model in double precision; ``dtype="auto"``
        (or ``torch_dtype=``, transformers' older name) computes in float64 for float64
        checkpoints and in float32 for every other (float16 and bfloat16 files are widened
        to float32, which NumPy computes much faster); the checkpoint's dtype is the one
        its config names, else (as transformers) that of its first floating-point tensor.
        Other keyword arguments override config values, as in transformers (``num_labels``,
        ``id2label``, ``label2id``, ``output_attentions``, ``output_hidden_states``, ...);
        unknown ones are refused.

        A head the checkpoint does not hold (``LukeForEntityClassification`` from the base
        checkpoint) starts from random values with a warning naming its tensors, as in
        transformers; ``seed`` (numpy_luke's own) makes those values reproducible.
        """
        name = pretrained_model_name_or_path
        load = LoadOptions.of(load, revision=revision, local_files_only=local_files_only,
                              cache_dir=cache_dir, force_download=force_download, token=token)
        if config is None:
            config = LukeConfig.from_pretrained(name, load=load)
        if config_overrides:
            config = config.updated(**config_overrides)
        dtype = model_dtype(dtype if torch_dtype is None else torch_dtype, config)
        files = resolve_weight_files(name, load)
        state_dict = load_state_dict([Path(f) for f in files], dtype=dtype)
        if dtype is None:  # "auto", and the config names no dtype: the weights decide
            dtype = weights_dtype(state_dict)
        return cls.from_state_dict(state_dict, config, dtype, source=", ".join(
            str(Path(f).name) for f in files) + f" of {name}", seed=seed)

    # ------------------------------------------------------------------ inspecting, saving

    def state_dict(self) -> dict[str, np.ndarray]:
        """``{name: array}`` under the names transformers' model of this class uses (the
        encoder under ``luke.`` for a head class), tied tensors included under both names,
        as ``torch``'s ``state_dict()``. The arrays are the model's own (not copies; those
        loaded from a file are read-only views of it)."""
        state = {self._stored_name(name): value for name, value in self.params.items()}
        if "lm_head.bias" in self.params:  # one vector under two names, as in transformers
            state["lm_head.decoder.bias"] = self.params["lm_head.bias"]
        return state

    def _stored_name(self, name: str) -> str:
        """A parameter's name in transformers' files: the encoder under ``luke.`` in the
        head classes, bare in ``LukeModel``."""
        if type(self) is LukeModel or name.startswith(HEAD_NAMESPACES):
            return name
        return PREFIX + name

    def num_parameters(self, only_trainable: bool = False,
                       exclude_embeddings: bool = False) -> int:
        """The number of parameters, as transformers counts them: a tied tensor once;
        ``exclude_embeddings`` leaves out the six embedding tables. Every parameter is
        trainable, so ``only_trainable`` changes nothing (as for a fresh torch model)."""
        tied = tied_keys(self.config)
        return int(sum(
            value.size for name, value in self.params.items()
            if name not in tied and not (exclude_embeddings and name in EMBEDDING_TABLES)
        ))

    def get_input_embeddings(self) -> np.ndarray:
        """The word embedding table, ``(vocab_size, hidden_size)`` (an array here, where
        transformers returns the ``nn.Embedding`` holding it)."""
        return self.params["embeddings.word_embeddings.weight"]

    def get_output_embeddings(self) -> np.ndarray | None:
        """The word decoder matrix of ``LukeForMaskedLM`` (tied to the input embeddings
        unless ``tie_word_embeddings`` is false), None for the other classes."""
        return self.params.get("lm_head.decoder.weight")

    def save_pretrained(self, save_directory: str | os.PathLike, *,
                        max_shard_size: int | str = "5GB",
                        safe_serialization: bool = True) -> tuple[str, ...]:
        """Write ``config.json`` and ``model.safetensors`` (or shards of at most
        ``max_shard_size`` plus ``model.safetensors.index.json``) into ``save_directory``,
        as transformers does: same tensor names, tied tensors left out, ``architectures``
        naming this class. All files are written or none (see ``numpy_luke.saving``).
        The folder loads back in numpy_luke and in transformers."""
        if not safe_serialization:
            raise NotImplementedError("numpy_luke saves safetensors only "
                                      "(safe_serialization=False would write pytorch_model.bin)")
        state = self.state_dict()
        tied = {name: self._stored_name(source) for name, source in
                tied_keys(self.config).items()}
        tensors = {name: np.asarray(value) for name, value in state.items()
                   if not (name in tied and _same(value, state.get(tied[name])))}
        config = self.config.to_dict()
        config.pop("torch_dtype", None)
        config.update(architectures=[type(self).__name__], dtype=np.dtype(self.dtype).name)
        return save_model_folder(save_directory, config, tensors, max_shard_size)

    def _arguments(self, args: tuple, kwargs: dict) -> dict:
        """transformers' call convention: positional arguments in ``forward_args`` order,
        options defaulting to the config, unsupported ones refused (never ignored)."""
        named = call_arguments(type(self).__name__, self.forward_args, args, kwargs)
        for name in ("output_attentions", "output_hidden_states"):
            if named.get(name) is None:
                named[name] = getattr(self.config, name)
        return named

    def loss_and_gradients(self, **inputs_and_labels):
        """``(loss, gradients)`` on one batch, dropout off: the head's loss as ``__call__``
        computes it and ``{name: dloss/dparameter}`` under ``state_dict()``'s names (a tied
        tensor once, under its owner's name). The backward is numpy_luke.training's."""
        return training_loss_and_gradients(self, **inputs_and_labels)

    def encode(self, output_attentions=False, output_hidden_states=False, **inputs):
        """Check the inputs, then run the core encoder: ``core.encoder.EncoderOutput``."""
        arrays = prepare_inputs(self.config, **inputs)
        return luke_model(
            self.params, self.config, **arrays,
            output_attentions=bool(output_attentions),
            output_hidden_states=bool(output_hidden_states),
            add_pooling_layer=self.uses_pooler,
        )

    def _finish(self, output, return_dict):
        """The output object, or its tuple (``return_dict=False``, as transformers)."""
        if return_dict is None:
            return_dict = self.config.use_return_dict
        return output if return_dict else output.to_tuple()

    def __repr__(self):
        c = self.config
        return (f"{type(self).__name__}(hidden_size={c.hidden_size}, "
                f"layers={c.num_hidden_layers}, heads={c.num_attention_heads}, "
                f"entity_aware={c.use_entity_aware_attention}, dtype={np.dtype(self.dtype)})")


class LukeModel(LukePreTrainedModel):
    """The bare LUKE encoder: word and entity hidden states and the pooled output.

    ``model(input_ids, attention_mask, ..., output_attentions=None,
    output_hidden_states=None, return_dict=None)``, as transformers' ``LukeModel``.
    """

    forward_args = (*LukePreTrainedModel.forward_args, "output_attentions",
                    "output_hidden_states", "return_dict")

    def __call__(self, *args, **kwargs) -> BaseLukeModelOutputWithPooling:
        inputs = self._arguments(args, kwargs)
        return_dict = inputs.pop("return_dict", None)
        encoded = self.encode(**inputs)
        return self._finish(BaseLukeModelOutputWithPooling(**encoded._asdict()), return_dict)


# ----------------------------------------------------------------------------- the heads


def _linear_shapes(name: str, out_features: int, in_features: int, bias: bool = True):
    shapes = {f"{name}.weight": (out_features, in_features)}
    if bias:
        shapes[f"{name}.bias"] = (out_features,)
    return shapes


class _Head(LukePreTrainedModel):
    """Shared call plumbing: run the encoder, then ``_head`` maps its outputs to an output.

    ``model(**encoding)`` passes the encoder's inputs (``INPUT_NAMES``) on to the
    encoder and the names in ``head_inputs`` (labels, span positions, ...) to ``_head``.
    """

    head_inputs: tuple[str, ...] = ("labels",)
    reads_first_entities = False  # True: ``_head`` also gets the entity_attention_mask
    forward_args = (*LukePreTrainedModel.forward_args, "labels", "output_attentions",
                    "output_hidden_states", "return_dict")

    def __call__(self, *args, **kwargs):
        inputs = self._arguments(args, kwargs)
        return_dict = inputs.pop("return_dict", None)
        head_inputs = {k: inputs.pop(k) for k in self.head_inputs if k in inputs}
        if self.reads_first_entities:  # which entities come first: see heads.first_entities
            head_inputs["entity_attention_mask"] = inputs.get("entity_attention_mask")
        return self._finish(self._head(self.encode(**inputs), **head_inputs), return_dict)

    @staticmethod
    def _common(encoded):
        return dict(hidden_states=encoded.hidden_states,
                    entity_hidden_states=encoded.entity_hidden_states,
                    attentions=encoded.attentions)

    def _entities(self, encoded, count=1):
        return check_entities(type(self).__name__, encoded.entity_last_hidden_state, count)

    def _first_entities(self, encoded, entity_attention_mask, count):
        """(batch, count, hidden): the first ``count`` attended entities of each row."""
        states = self._entities(encoded, count)  # (batch, entities, hidden)
        if entity_attention_mask is not None:  # checked; maybe lists, or one unbatched row
            entity_attention_mask = np.asarray(entity_attention_mask).reshape(states.shape[:2])
        return heads.first_entities(states, entity_attention_mask, count)


class LukeForMaskedLM(_Head):
    """Masked language modelling plus masked entity prediction (LUKE's pre-training heads)."""

    head_inputs = ("labels", "entity_labels")
    forward_args = (*INPUT_NAMES, "labels", "entity_labels", "head_mask", "inputs_embeds",
                    "output_attentions", "output_hidden_states", "return_dict")

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

    def _head(self, encoded, labels=None, entity_labels=None):
        c = self.config
        logits = heads.lm_head(self.params, encoded.last_hidden_state, c.layer_norm_eps)
        mlm_loss = mep_loss = entity_logits = None
        if labels is not None:
            mlm_loss = heads.cross_entropy(logits, check_class_labels(labels, c.vocab_size))
        if encoded.entity_last_hidden_state is not None:
            entity_logits = heads.entity_prediction_head(
                self.params, encoded.entity_last_hidden_state, c.hidden_act, c.layer_norm_eps)
            if entity_labels is not None:
                entity_labels = check_class_labels(entity_labels, c.entity_vocab_size)
                mep_loss = heads.cross_entropy(entity_logits, entity_labels)
        losses = [x for x in (mlm_loss, mep_loss) if x is not None]
        return LukeMaskedLMOutput(
            loss=sum(losses[1:], losses[0]) if losses else None, mlm_loss=mlm_loss,
            mep_loss=mep_loss, logits=logits, entity_logits=entity_logits,
            **self._common(encoded),
        )


def _classification_loss(logits, labels, one_label_ndim):
    """Class indices (checked against the number of classes) or 0/1 multi-label targets."""
    if labels is None:
        return None
    if np.ndim(labels) == one_label_ndim:
        labels = check_class_labels(labels, logits.shape[-1])
    else:
        labels = check_label_count(labels, logits)
    return heads.classification_loss(logits, labels, one_label_ndim)


class LukeForEntityClassification(_Head):
    """Classify the first entity (e.g. Open Entity typing): a linear layer on its vector."""

    @staticmethod
    def head_shapes(config):
        return _linear_shapes("classifier", config.num_labels, config.hidden_size)

    reads_first_entities = True

    def _head(self, encoded, labels=None, entity_attention_mask=None):
        features = self._first_entities(encoded, entity_attention_mask, 1)[:, 0]  # (b, hidden)
        logits = heads.classifier(self.params, features)  # (batch, num_labels)
        return EntityClassificationOutput(loss=_classification_loss(logits, labels, 1),
                                          logits=logits, **self._common(encoded))


class LukeForEntityPairClassification(_Head):
    """Classify the relation of the first two entities (e.g. TACRED): linear on [e1; e2]."""

    @staticmethod
    def head_shapes(config):
        return _linear_shapes("classifier", config.num_labels, 2 * config.hidden_size,
                              bias=False)

    reads_first_entities = True

    def _head(self, encoded, labels=None, entity_attention_mask=None):
        features = heads.entity_pair_features(  # (batch, 2 hidden)
            self._first_entities(encoded, entity_attention_mask, 2))
        logits = heads.classifier(self.params, features)  # (batch, num_labels)
        return EntityPairClassificationOutput(loss=_classification_loss(logits, labels, 1),
                                              logits=logits, **self._common(encoded))


class LukeForEntitySpanClassification(_Head):
    """Classify every candidate span (e.g. CoNLL NER): linear on [start word; end word; entity]."""

    head_inputs = ("labels", "entity_start_positions", "entity_end_positions")
    forward_args = (*INPUT_NAMES, "entity_start_positions", "entity_end_positions",
                    "head_mask", "inputs_embeds", "labels", "output_attentions",
                    "output_hidden_states", "return_dict")

    @staticmethod
    def head_shapes(config):
        return _linear_shapes("classifier", config.num_labels, 3 * config.hidden_size)

    def _head(self, encoded, labels=None, entity_start_positions=None,
              entity_end_positions=None):
        states = self._entities(encoded)  # (batch, entities, hidden)
        if entity_start_positions is None or entity_end_positions is None:
            raise ValueError(
                "LukeForEntitySpanClassification needs entity_start_positions and "
                "entity_end_positions (tokenize with task='entity_span_classification')")
        words = encoded.last_hidden_state.shape[1]
        starts, ends = (check_span_positions(p, states.shape, words, name)
                        for p, name in ((entity_start_positions, "entity_start_positions"),
                                        (entity_end_positions, "entity_end_positions")))
        features = heads.span_features(encoded.last_hidden_state, states, starts, ends)
        logits = heads.classifier(self.params, features)  # (batch, entities, num_labels)
        return EntitySpanClassificationOutput(loss=_classification_loss(logits, labels, 2),
                                              logits=logits, **self._common(encoded))


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

    def _head(self, encoded, labels=None):
        logits = heads.classifier(self.params, encoded.pooler_output)  # (batch, num_labels)
        loss = None
        if labels is not None:
            labels = np.asarray(labels)
            kind = self.problem_type(labels)
            if kind == "single_label_classification":
                labels = check_class_labels(labels, logits.shape[-1])
            elif kind == "multi_label_classification":
                labels = check_label_count(labels, logits)
            loss = heads.sequence_classification_loss(logits, labels, kind)
        return LukeSequenceClassifierOutput(loss=loss, logits=logits, **self._common(encoded))


class LukeForTokenClassification(_Head):
    """Label every word token: a linear layer on each word vector (no pooler)."""

    uses_pooler = False

    @staticmethod
    def head_shapes(config):
        return _linear_shapes("classifier", config.num_labels, config.hidden_size)

    def _head(self, encoded, labels=None):
        logits = heads.classifier(self.params, encoded.last_hidden_state)  # (b, words, labels)
        loss = None
        if labels is not None:
            loss = heads.cross_entropy(logits, check_class_labels(labels, logits.shape[-1]))
        return LukeTokenClassifierOutput(loss=loss, logits=logits, **self._common(encoded))


class LukeForQuestionAnswering(_Head):
    """Extractive QA: start and end scores for every word (no pooler)."""

    uses_pooler = False
    head_inputs = ("start_positions", "end_positions")
    forward_args = (*LukePreTrainedModel.forward_args, "start_positions", "end_positions",
                    "output_attentions", "output_hidden_states", "return_dict")

    @staticmethod
    def head_shapes(config):
        return _linear_shapes("qa_outputs", config.num_labels, config.hidden_size)

    def _head(self, encoded, start_positions=None, end_positions=None):
        if self.config.num_labels != 2:
            raise ValueError(f"LukeForQuestionAnswering needs num_labels == 2 (start, end); "
                             f"the config has {self.config.num_labels}")
        logits = heads.classifier(self.params, encoded.last_hidden_state, "qa_outputs")
        start_logits, end_logits = logits[..., 0], logits[..., 1]  # (batch, words) each
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = heads.span_loss(start_logits, end_logits, start_positions, end_positions)
        return LukeQuestionAnsweringModelOutput(
            loss=loss, start_logits=start_logits, end_logits=end_logits, **self._common(encoded))


class LukeForMultipleChoice(_Head):
    """Pick one of several choices: every (example, choice) pair runs through the encoder as
    its own row; one score per pooled <s> vector; softmax over the choices."""

    @staticmethod
    def head_shapes(config):
        return _linear_shapes("classifier", 1, config.hidden_size)

    def __call__(self, *args, **kwargs):
        inputs = self._arguments(args, kwargs)
        return_dict, labels = inputs.pop("return_dict", None), inputs.pop("labels", None)
        input_ids = np.asarray(inputs.pop("input_ids"))
        if input_ids.ndim != 3:
            raise ValueError("LukeForMultipleChoice takes input_ids of shape "
                             f"(batch, choices, words); got {input_ids.shape}")
        batch, choices = input_ids.shape[:2]
        flat = {}  # every input with (batch, choices) folded into one axis of rows
        for name, value in inputs.items():
            if value is not None and name in INPUT_NAMES:
                value = np.asarray(value)
                value = value.reshape(batch * choices, *value.shape[2:])
            flat[name] = value
        encoded = self.encode(input_ids=input_ids.reshape(batch * choices, -1), **flat)
        logits = heads.classifier(self.params, encoded.pooler_output).reshape(batch, choices)
        loss = None
        if labels is not None:
            loss = heads.cross_entropy(logits, check_class_labels(labels, choices))
        output = LukeMultipleChoiceModelOutput(loss=loss, logits=logits, **self._common(encoded))
        return self._finish(output, return_dict)


def _same(array: np.ndarray, other: np.ndarray | None) -> bool:
    """True when ``other`` holds the same values (a tied copy that need not be saved)."""
    return other is not None and (array is other or (
        array.shape == other.shape and np.array_equal(array, other)))


def initial_value(name: str, shape: tuple, config: LukeConfig,
                  rng: np.random.Generator) -> np.ndarray:
    """A new parameter as transformers' LUKE initialises it: layer norms 1 (weights) and 0
    (biases), other vectors (biases) 0, matrices and embedding tables from
    N(0, initializer_range)."""
    if "LayerNorm.weight" in name or "layer_norm.weight" in name:
        return np.ones(shape, np.float32)
    if len(shape) == 1:  # biases
        return np.zeros(shape, np.float32)
    return rng.normal(0.0, config.initializer_range, shape).astype(np.float32)


def random_parameters(config: LukeConfig, head_shapes: dict | None, with_pooler: bool,
                      seed: int | None = None) -> dict[str, np.ndarray]:
    """A fresh model's parameters, initialised as transformers does: weight matrices and
    embeddings from N(0, initializer_range), biases 0, layer norms 1 and 0, the padding rows
    (word ``pad_token_id``, entity [PAD] = 0) zero, and both decoders tied to their tables."""
    rng = np.random.default_rng(seed)
    shapes = {**encoder_shapes(config, with_pooler=with_pooler), **(head_shapes or {})}
    params = {name: initial_value(name, shape, config, rng) for name, shape in shapes.items()}
    pad = config.pad_token_id
    if pad is not None and 0 <= pad < config.vocab_size:
        params["embeddings.word_embeddings.weight"][pad] = 0
        params["embeddings.position_embeddings.weight"][pad] = 0
    params["entity_embeddings.entity_embeddings.weight"][0] = 0
    for decoder in tied_keys(config):
        params.pop(decoder, None)  # tied: prepare_state_dict shares the embedding tables
    return prepare_state_dict(params, config, head_shapes, with_pooler=with_pooler)

"""Pipelines: from a raw text to a readable prediction in one call.

    fill = numpy_luke.pipeline("fill-mask", model="tests/fixtures/tiny-luke")
    fill("[[Lionel Messi]] plays football for <mask>.")

A pipeline wraps a tokenizer and a model with the three chores around them:

1. Reading the input. Mentions (the entities LUKE reads) are marked inline,
   ``[[Lionel Messi]] plays for ...``, or given as character spans ``(start, end)`` of the
   text. ``mentions.read_mentions`` strips the markers and returns the plain text and the
   spans (the one reader every caller uses). Everything a user can get wrong (no mask, an
   empty text, a bad span, a text longer than the model reads) is checked there or in the
   task's ``_check`` and raised as an ``InputError`` that says what to do.
2. Running the model on batches: texts of similar length are encoded and run together.
3. Turning scores into answers: probabilities (softmax, or sigmoid for multi-label typing),
   the top k, and label names from the checkpoint's ``id2label``.

The tasks:

    task                      model class                       default checkpoint (studio-ousia/)
    fill-mask                 LukeForMaskedLM                   luke-base
    entity-prediction         LukeForMaskedLM                   luke-base
    entity-typing             LukeForEntityClassification       luke-large-finetuned-open-entity
    relation-classification   LukeForEntityPairClassification   luke-large-finetuned-tacred
    ner                       LukeForEntitySpanClassification   luke-large-finetuned-conll-2003
    token-classification      LukeForTokenClassification        (none published: give model=)

``ner`` keeps its LUKE meaning, span NER (the entity-span classifier LUKE's CoNLL-2003 model
was fine-tuned with); transformers uses the name for ``token-classification`` (a label per
token), which is here under that name, answering as transformers' pipeline does. A
token-classification checkpoint given to ``ner`` is refused with a message saying so.

Outputs are plain dicts, lists, strings, ints and floats. ``fill-mask`` answers exactly as
transformers' ``fill-mask`` pipeline does (a list of ``{score, token, token_str,
sequence}``, a list per mask for several masks); ``entity-prediction`` is LUKE's second
pretraining task, masked entity prediction; ``pipeline("fill-mask-and-entities")`` gives
both in one object, which is what ``python -m numpy_luke fill --json`` prints (the other
commands print their pipeline's answer; docs/cli.md has the schema).

Pipelines, like the models and tokenizers they hold, keep no state that a call changes,
so one pipeline can serve several threads at once.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from . import modeling
from .checks import short
from .config import LukeConfig, check_entity_ids_fit, check_token_ids_fit
from .core.entity_vocab import SPECIAL_ENTITIES
from .core.functional import sigmoid, softmax
from .errors import CheckpointError, InputError, InputTypeError, NewWeightsWarning
from .hub import LoadOptions
from .mentions import (
    Span,
    check_mention_count,
    check_text_length,
    longest_token,
    read_mentions,
)
from .state_dict import check_finite_outputs
from .streaming import Item, from_record, stream
from .tasks import (
    ARCHITECTURE_TASKS,
    BATCH_SIZE,
    DEFAULT_MODELS,
    NER_MEANING,
    PIPELINE_DEFAULTS,
    check_pipeline_option,
    check_span_count,
)
from .tokenizer import LukeTokenizer

logger = logging.getLogger(__name__)

# Batches of texts are cut at about this many characters of padded text (see Pipeline.cut).
MAX_BATCH_CHARACTERS = 4096

# What a call does with a bad input: raise its error, or answer it with {"error": message}.
ON_ERROR = ("raise", "record")

# Span-classification labels meaning "this span is not an entity".
NO_ENTITY_LABELS = ("NIL", "O")

# ---------------------------------------------------------------------------------------
# 1. Reading the input: markers, spans, words
# ---------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+|[^\w\s]")  # a run of letters/digits, or one punctuation mark


def find_words(text: str) -> list[Span]:
    """Character spans of the words of a text: runs of letters and digits, and punctuation
    marks one by one. "Messi's team." -> spans of "Messi", "'", "s", "team", "."."""
    return [match.span() for match in _WORD.finditer(text)]


def enumerate_spans(words: Sequence[Span], max_length: int) -> list[Span]:
    """Every run of 1 to ``max_length`` consecutive words, as a character span, in order of
    start then length. This is how LUKE's CoNLL-2003 model reads a sentence: it classifies
    all candidate spans that start and end on word boundaries."""
    return [
        (words[i][0], words[j][1])
        for i in range(len(words))
        for j in range(i, min(len(words), i + max_length))
    ]


def select_spans(candidates: Sequence[dict]) -> list[dict]:
    """Keep the best non-overlapping spans: go through the candidates by decreasing
    ``score`` and keep each one that overlaps none kept so far. Result sorted by start."""
    kept: list[dict] = []
    for candidate in sorted(candidates, key=lambda c: (-c["score"], c["start"], c["end"])):
        if all(candidate["end"] <= k["start"] or k["end"] <= candidate["start"] for k in kept):
            kept.append(candidate)
    return sorted(kept, key=lambda c: c["start"])


# ---------------------------------------------------------------------------------------
# 3. From scores to answers
# ---------------------------------------------------------------------------------------


def probabilities(logits: np.ndarray, multi_label: bool = False) -> np.ndarray:
    """Scores as probabilities, in float64: softmax over the last axis (one label), or an
    independent sigmoid per label (multi-label). The core's functions, on a float64 copy."""
    logits = np.asarray(logits, dtype=np.float64)  # (..., labels)
    return sigmoid(logits) if multi_label else softmax(logits)


def top_k_indices(scores: np.ndarray, k: int, exclude: Sequence[int] = ()) -> np.ndarray:
    """Indices of the ``k`` highest scores, best first (ties: lower index first),
    never one of ``exclude``. Fast on 500,000 entities: partition, then sort only k."""
    scores = np.array(scores, dtype=np.float64)  # a copy: excluded entries are overwritten
    scores[list(exclude)] = -np.inf
    k = min(k, scores.size - len(set(exclude)))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    kth_best = -np.partition(-scores, k - 1)[k - 1]
    candidates = np.flatnonzero(scores >= kth_best)  # k of them, or more when tied
    return candidates[np.lexsort((candidates, -scores[candidates]))][:k]


def fill_mask_predictions(
    input_ids: np.ndarray,
    logits: np.ndarray,
    *,
    mask_token_id: int,
    pad_token_id: int,
    top_k: int,
    decode: Callable[..., str],
    targets: np.ndarray | None = None,
) -> list:
    """transformers' fill-mask answer for one text, from its ids and the LM logits.

    ``input_ids`` (words,) and ``logits`` (words, vocab). For every mask position: softmax
    over the vocabulary, the ``top_k`` tokens, and the text with the mask replaced by each
    (padding removed, decoded without special tokens when there is a single mask, with them
    when there are several, as transformers does). One mask gives a flat list of
    predictions, several give a list per mask. ``targets`` (token ids): only these are
    candidates, with their probabilities over the whole vocabulary (not renormalised).
    """
    positions = np.flatnonzero(input_ids == mask_token_id)  # (masks,)
    scores = probabilities(logits[positions])  # (masks, vocab)
    single = len(positions) == 1
    per_mask = []
    for position, probs in zip(positions, scores, strict=True):
        row = []
        if targets is None:
            best = top_k_indices(probs, top_k)
        else:
            best = targets[top_k_indices(probs[targets], top_k)]
        for token in best:
            ids = input_ids.copy()
            ids[position] = token
            ids = ids[ids != pad_token_id]
            row.append(
                {
                    "score": float(probs[token]),
                    "token": int(token),
                    "token_str": decode([int(token)]),
                    "sequence": decode(ids.tolist(), skip_special_tokens=single),
                }
            )
        per_mask.append(row)
    return per_mask[0] if single else per_mask


# ---------------------------------------------------------------------------------------
# 2. The pipelines
# ---------------------------------------------------------------------------------------


class Pipeline:
    """What all tasks share: loading, input checks, batching. Subclasses add the task."""

    task: str
    model_class: str  # name of the numpy_luke head class
    tokenizer_task: str | None  # the tokenizer's ``task=`` for this pipeline
    # The task's options with their defaults (given to ``pipeline(...)``), and those a call
    # may override; both checked by tasks.check_pipeline_option.
    defaults: dict = {}
    call_options: tuple[str, ...] = ()

    def __init__(self, model, tokenizer, *, batch_size: int = BATCH_SIZE, **options):
        allowed = ("batch_size", *self.defaults)
        self.batch_size = check_pipeline_option("batch_size", batch_size, self.task, allowed)
        self.options = dict(self.defaults)
        for name, value in options.items():
            self.options[name] = check_pipeline_option(name, value, self.task, allowed)
        for name, value in self.options.items():  # pipeline.top_k, pipeline.threshold, ...
            setattr(self, name, value)
        self.model = model
        self.tokenizer = tokenizer
        config = model.config
        # A tokenizer and a model that do not belong together: one line now, not an
        # IndexError at the first prediction.
        check_token_ids_fit(
            config, dict(zip(tokenizer.all_special_tokens, tokenizer.all_special_ids, strict=True))
        )
        check_entity_ids_fit(
            config, {title: tokenizer.entity_vocab[title] for title in SPECIAL_ENTITIES}
        )
        # RoBERTa counts word positions from pad_token_id + 1, so a model with
        # max_position_embeddings = 514 and pad 1 reads at most 512 tokens.
        self.max_tokens = min(
            int(tokenizer.model_max_length),
            int(config.max_position_embeddings) - int(config.pad_token_id) - 1,
        )
        self.longest_token = longest_token(tokenizer)
        id2label = getattr(config, "id2label", None) or {}
        self.id2label = {int(i): str(label) for i, label in id2label.items()}

    def _options(self, given: dict) -> dict:
        """The options of one call: the pipeline's, overridden by those the call gives
        (None keeps the pipeline's), checked as the constructor checks them."""
        options = dict(self.options)
        for name, value in given.items():
            if value is None and name in self.call_options:
                continue  # None: the pipeline's own value
            if name == "targets" and isinstance(value, np.ndarray):
                options[name] = value  # token ids, resolved by _prepare from checked targets
                continue
            options[name] = check_pipeline_option(name, value, self.task, self.call_options)
        return options

    def _prepare(self, options: dict) -> dict:
        """A call's options, checked, with what is worked out once per call done (fill-mask:
        the targets' token ids), before any input is read."""
        self._options(options)
        return options

    def _forward(self, encoding):
        """The model on one encoded batch; outputs holding NaN or an infinity are an error
        naming them (and the first weight that is not finite), never an answer."""
        output = self.model(**encoding)
        check_finite_outputs(
            {name: getattr(output, name, None) for name in ("logits", "entity_logits")},
            self.model.params,
            source=f"the model ({type(self.model).__name__})",
        )
        return output

    # -- calling -------------------------------------------------------------------------

    def __call__(self, inputs: str | dict | Sequence[str | dict] | Iterable, entity_spans=None,
                 *, on_error: str = "raise", **options):
        """Run on one input (returns one result) or a list of inputs (a list of results, in
        their order).

        An input is a text, or a record ``{"text": ..., "entity_spans": [[start, end], ...]}``
        (``"head"`` and ``"tail"`` instead of ``"entity_spans"`` for relations): a dict is
        one record, never a collection. ``entity_spans``: for one text a list of (start,
        end) pairs; for a list of texts a list of such lists (or None). Mentions may instead
        be marked in the text, [[...]].

        Any other iterable (a generator, a file's lines, ...) is read lazily and answered
        as an iterator, in input order (``streaming.py``); give spans in records there.

        ``on_error="raise"`` (the default) raises the ``InputError`` of the first bad input
        in input order (an iterator first hands out every answer before it).
        ``on_error="record"`` answers a bad input with ``{"error": message}`` and goes on.
        docs/python-api.md has the whole interface.
        """
        options = self._prepare(options)  # a bad option: refused before any input is read
        if not (isinstance(on_error, str) and on_error in ON_ERROR):
            raise InputError(f"on_error={short(on_error)}: use 'raise' (raise the first bad "
                             "input's error) or 'record' (answer it with {'error': message})")
        if isinstance(inputs, (str, dict)):
            return self._answers([inputs], [entity_spans], on_error, options)[0]
        if not isinstance(inputs, (list, tuple)):
            return self._stream(inputs, entity_spans, on_error, options)
        inputs = list(inputs)
        if entity_spans is None:
            spans_per_text = [None] * len(inputs)
        else:
            spans_per_text = list(entity_spans)
            if len(spans_per_text) != len(inputs):
                raise InputError(
                    f"{len(inputs)} texts but {len(spans_per_text)} lists of entity spans"
                )
        return self._answers(inputs, spans_per_text, on_error, options)

    def _answers(self, inputs: list, spans_per_text: list, on_error: str, options: dict
                 ) -> list:
        """The answers to a list of inputs, by the streaming code in one window (so in the
        batches the pipeline makes of the whole list). With "raise", an input refused when
        read is raised before any batch runs: the answers before it would be thrown away."""
        items = [_item(number, value, spans) for number, (value, spans)
                 in enumerate(zip(inputs, spans_per_text, strict=True), start=1)]
        answers = stream(self, items, stop_on_error=on_error == "raise",
                         window=max(len(items), 1), options=options,
                         what="text" if len(items) > 1 else None, answers_before_error=False)
        return [answer for _, answer in answers]

    def _stream(self, inputs: Iterable, entity_spans, on_error: str, options: dict):
        """The iterator ``__call__`` returns for an iterable of inputs."""
        if entity_spans is not None:
            raise InputError("with an iterable of inputs, give each item's spans in its "
                             'record: {"text": ..., "entity_spans": [[start, end], ...]}')
        items = (_item(number, value, None) for number, value in enumerate(inputs, 1))
        answers = stream(self, items, stop_on_error=on_error == "raise", options=options,
                         what="input")
        return (answer for _, answer in answers)

    def read(self, text, spans, number: int | None) -> tuple[str, list[Span]]:
        """One input -> (plain text, mention spans), checked (``mentions.read_mentions``,
        this model's length limit, the task's own rules); errors name the text."""
        where = f"text {number}: " if number is not None else ""
        try:
            # Refused up front, before any tokenization: more text than any tokenization
            # fits in the model, more mentions than the model reads per text.
            plain, spans = read_mentions(text, spans, fits=self._fits)
            self._check(plain, spans)
            check_mention_count(len(spans), self.tokenizer.max_entity_length)
        except InputError as error:
            raise type(error)(where + str(error)) from None  # InputTypeError stays one
        return plain, spans

    def _fits(self, plain: str) -> None:
        check_text_length(plain, self.tokenizer.words.split, self.longest_token,
                          max(self.max_tokens - 2, 0))  # fmt: skip

    def _check(self, text: str, spans: list[Span]) -> None:
        """Task-specific checks of one plain text and its spans (raise InputError)."""

    def run(self, items: list[tuple[str, list[Span]]], **options) -> list:
        """The answers to a batch of read items (``read``'s pairs), in their order."""
        raise NotImplementedError

    # -- batching ------------------------------------------------------------------------

    def _batches(self, items: list[tuple[str, list[Span]]]):
        """Yield (indices, encoding) for batches of texts of similar length.

        Texts with mentions and texts without are never mixed, so a text without mentions
        runs without entity inputs, exactly as it would alone.
        """
        order = sorted(range(len(items)), key=lambda i: (bool(items[i][1]), len(items[i][0])))
        groups: dict[bool, list[int]] = {}
        for i in order:
            groups.setdefault(bool(items[i][1]), []).append(i)
        for has_entities, indices in groups.items():
            for batch in self.cut(indices, [len(items[i][0]) for i in indices]):
                numbers = [i + 1 if len(items) > 1 else None for i in batch]
                yield batch, self._encode([items[i] for i in batch], has_entities, numbers)

    def cut(self, indices: list[int], lengths: list[int]) -> list[list[int]]:
        """Cut texts sorted by length into batches of at most ``batch_size`` texts and
        about MAX_BATCH_CHARACTERS of padded text (rows x the longest row): a masked-LM
        batch holds (batch, words, vocabulary) logits, 200 KB per token for luke-base, so
        a few long texts go together, many short ones."""
        batches: list[list[int]] = []
        for index, length in zip(indices, lengths, strict=True):
            if batches and len(batches[-1]) < self.batch_size and (
                (len(batches[-1]) + 1) * length <= MAX_BATCH_CHARACTERS
            ):
                batches[-1].append(index)
            else:
                batches.append([index])
        return batches

    def _encode(self, items, has_entities: bool, numbers: Sequence[int | None]):
        """Encode texts (and their mentions) as one padded batch; refuse texts too long
        for the model. ``numbers`` name the texts in error messages (None: "the text")."""
        texts = [text for text, _ in items]
        # verbose=False: a text too long for the model is refused just below, in one
        # message, instead of being warned about by the tokenizer first.
        options = dict(task=self.tokenizer_task, padding=True, return_tensors="np", verbose=False)
        if has_entities:
            options["entity_spans"] = [spans for _, spans in items]
        encoding = self.tokenizer(texts, **options)
        lengths = np.asarray(encoding["attention_mask"]).sum(axis=1)  # (batch,)
        for number, length in zip(numbers, lengths, strict=True):
            if length > self.max_tokens:
                prefix = "the text" if number is None else f"text {number}"
                raise InputError(
                    f"{prefix} is {int(length)} tokens long, but the model reads at most "
                    f"{self.max_tokens}; shorten it"
                )
        return encoding

    def _label(self, index: int) -> str:
        return self.id2label.get(int(index), f"LABEL_{int(index)}")


def _item(number: int, value, spans):
    """One input of a call as a streaming item: a dict is a record (its spans inside it), any
    other value a text, checked when read (a number is an InputTypeError)."""
    if not isinstance(value, dict):
        return Item(number, value, spans)
    if spans is not None:
        return Item(number, None, error="a record holds its own spans: give them as its "
                    '"entity_spans" (or "head" and "tail"), not also as entity_spans=')
    return from_record(number, value)


def _mention(text: str, span: Span) -> dict:
    return {"mention": text[span[0] : span[1]], "start": span[0], "end": span[1]}


class FillMaskPipeline(Pipeline):
    """Masked words (``<mask>``) with LukeForMaskedLM, answered as transformers' fill-mask.

    Result per text: transformers' fill-mask answer, a list of ``{"score", "token",
    "token_str", "sequence"}`` (a list per mask when there are several). ``targets``: only
    these tokens are candidates (transformers' rules: a target not in the vocabulary is
    replaced, with a warning, by the first token it encodes to). Mentions marked ``[[...]]``
    (or ``entity_spans``) enter the model as [MASK] entities, context for the words.

    The answer's shape depends on the text only (one mask or several), as in transformers,
    never on an option: both of LUKE's pretraining tasks in one answer are the
    ``fill-mask-and-entities`` task (``FillMaskAndEntitiesPipeline``).
    """

    task = "fill-mask"
    model_class = "LukeForMaskedLM"
    tokenizer_task = None
    defaults = PIPELINE_DEFAULTS[task]
    call_options = ("top_k", "targets")
    words, mentions = True, False  # what is predicted

    def __init__(self, model, tokenizer, **options):
        super().__init__(model, tokenizer, **options)
        # [PAD] [UNK] [MASK] [MASK2] are not entities: never offered as predictions
        self.special_entity_ids = tokenizer.entity_vocabulary.special_ids
        if "targets" in self.options:  # resolved once, not at every call
            self.options["targets"] = self.target_ids(self.options["targets"])

    def _prepare(self, options):
        # targets given in a call: resolved once (one warning, one error), not in each batch
        options = super()._prepare(options)
        if options.get("targets") is not None:
            checked = self._options({"targets": options["targets"]})["targets"]  # a list
            options = {**options, "targets": self.target_ids(checked)}
        return options

    def _check(self, text, spans):
        mask = self.tokenizer.mask_token
        if self.words and self.mentions and not spans and mask not in text:
            raise InputError(
                f"nothing to predict: put {mask} where a word is missing, or mark a mention "
                "as [[Lionel Messi]] to predict its entity"
            )
        if self.words and not self.mentions and mask not in text:
            raise InputError(f"nothing to predict: put {mask} where a word is missing "
                             "(transformers' fill-mask needs one too)")
        tokenizer = self.tokenizer
        if self.words and mask in text and tokenizer.mask_token_id == tokenizer.unk_token_id \
                and mask != tokenizer.unk_token:
            # a mask_token set to a string outside the vocabulary (as transformers, it is not
            # added by setting it): the text holds no mask token, only its pieces
            raise InputError(f"no mask token ({mask}) found in the input: {mask} is not a "
                             "token of the vocabulary; add it (tokenizer.add_special_tokens"
                             "({'mask_token': ...}), with a model that has its embedding) or "
                             "keep the model's own mask token")
        if self.mentions and not self.words and not spans:
            raise InputError("nothing to predict: mark a mention as [[Lionel Messi]] (or give "
                             "entity_spans) to predict its entity")

    def target_ids(self, targets) -> np.ndarray | None:
        """Token ids of ``targets`` as transformers finds them: a vocabulary entry as is,
        else the first token the target encodes to (with a warning); none at all is an
        error. Already resolved ids (an array) are returned as they are."""
        if targets is None or isinstance(targets, np.ndarray):
            return targets
        vocab = self.tokenizer.get_vocab()
        ids = []
        for target in targets:
            token_id = vocab.get(target)
            if token_id is None:
                encoded = self.tokenizer(target, add_special_tokens=False, max_length=1,
                                         truncation=True)["input_ids"]  # fmt: skip
                if not encoded:
                    logger.warning("the target %r is not in the vocabulary and encodes to no "
                                   "token; it is left out", target)
                    continue
                token_id = encoded[0]
                logger.warning("the target %r is not in the vocabulary; it is replaced by %r",
                               target, self.tokenizer.convert_ids_to_tokens(token_id))
            ids.append(int(token_id))
        if not ids:
            raise InputError("no target is left: give targets that are tokens of the vocabulary")
        return np.array(list(dict.fromkeys(ids)), dtype=np.int64)  # (targets,)

    def entity_title(self, entity_id: int) -> str | None:
        """Title of an entity id, None if the vocabulary has none."""
        try:
            return self.tokenizer.entity_vocabulary.id_to_title(int(entity_id))
        except KeyError:
            return None

    def run(self, items, **options):
        options = self._options(options)
        k, targets = options["top_k"], self.target_ids(options.get("targets"))
        results: list = [None] * len(items)
        for batch, encoding in self._batches(items):
            output = self._forward(encoding)
            input_ids = np.asarray(encoding["input_ids"])  # (batch, words)
            attention = np.asarray(encoding["attention_mask"])  # (batch, words)
            for row, i in enumerate(batch):
                text, spans = items[i]
                masks = []
                if self.words:
                    masks = fill_mask_predictions(
                        input_ids[row][attention[row] == 1],
                        np.asarray(output.logits[row])[attention[row] == 1],
                        mask_token_id=self.tokenizer.mask_token_id,
                        pad_token_id=self.tokenizer.pad_token_id,
                        top_k=k,
                        decode=self.tokenizer.decode,
                        targets=targets,
                    )
                entities = []
                for j, span in enumerate(spans if self.mentions else ()):
                    probs = probabilities(output.entity_logits[row, j])  # (entity_vocab,)
                    best = top_k_indices(probs, k, exclude=self.special_entity_ids)
                    predictions = [
                        {
                            "score": float(probs[e]),
                            "entity_id": int(e),
                            "entity": self.entity_title(e),
                        }
                        for e in best
                    ]
                    entities.append({**_mention(text, span), "predictions": predictions})
                if not self.mentions:
                    results[i] = masks
                elif not self.words:
                    results[i] = entities
                else:
                    results[i] = {"text": text, "masks": masks, "entities": entities}
        return results


class FillMaskAndEntitiesPipeline(FillMaskPipeline):
    """Both of LUKE's pretraining tasks in one answer (what ``python -m numpy_luke fill``
    prints): ``{"text", "masks", "entities"}`` for every text, ``masks`` as fill-mask answers
    (``[]`` without a mask), ``entities`` as entity-prediction answers (``[]`` without a
    mention). A text needs a ``<mask>`` or a mention.
    """

    task = "fill-mask-and-entities"
    defaults = PIPELINE_DEFAULTS[task]
    words, mentions = True, True


class EntityPredictionPipeline(FillMaskPipeline):
    """Masked entity prediction with LukeForMaskedLM: the entity of each marked mention.

    Each mention ([[...]] or ``entity_spans``) enters the model as the [MASK] entity; the
    entity head scores every entity of the vocabulary. Result per text: one entry per
    mention, ``{"mention", "start", "end", "predictions"}``, the predictions being the top-k
    ``{"score", "entity_id", "entity"}`` (``score``: softmax over the whole entity
    vocabulary; the special entities [PAD] [UNK] [MASK] [MASK2] are never predicted).
    A ``<mask>`` in the text is context, not predicted.
    """

    task = "entity-prediction"
    defaults = PIPELINE_DEFAULTS[task]
    call_options = ("top_k",)
    words, mentions = False, True


class EntityTypingPipeline(Pipeline):
    """Entity typing with LukeForEntityClassification (e.g. Open Entity's nine types).

    Multi-label: each type gets its own sigmoid probability; the types scoring at least
    ``threshold`` are returned, best first. Result per text:
    ``{"text", "entity": {"mention", "start", "end"}, "labels": [{"label", "score"}]}``.
    """

    task = "entity-typing"
    model_class = "LukeForEntityClassification"
    tokenizer_task = "entity_classification"
    defaults = PIPELINE_DEFAULTS[task]
    call_options = ("threshold",)

    def _check(self, text, spans):
        check_span_count(self.tokenizer_task, len(spans), "entity typing",
                         then=": mark it as [[Lionel Messi]] or give --entity-span START:END")

    def run(self, items, **options):
        threshold = self._options(options)["threshold"]
        results: list = [None] * len(items)
        for batch, encoding in self._batches(items):
            scores = probabilities(self._forward(encoding).logits, multi_label=True)  # (b, labels)
            for row, i in enumerate(batch):
                text, spans = items[i]
                order = np.argsort(-scores[row], kind="stable")
                labels = [
                    {"label": self._label(j), "score": float(scores[row, j])}
                    for j in order
                    if scores[row, j] >= threshold
                ]
                results[i] = {"text": text, "entity": _mention(text, spans[0]), "labels": labels}
        return results


class RelationClassificationPipeline(Pipeline):
    """Relation classification with LukeForEntityPairClassification (e.g. TACRED).

    The first mention is the head, the second the tail. Softmax over the relations; the
    top k are returned. Result per text: ``{"text", "head", "tail", "labels"}``.
    """

    task = "relation-classification"
    model_class = "LukeForEntityPairClassification"
    tokenizer_task = "entity_pair_classification"
    defaults = PIPELINE_DEFAULTS[task]
    call_options = ("top_k",)

    def _check(self, text, spans):
        check_span_count(self.tokenizer_task, len(spans), "relation classification",
                         then=": mark them as [[...]] or give --head S:E --tail S:E")

    def run(self, items, **options):
        k = self._options(options)["top_k"]
        results: list = [None] * len(items)
        for batch, encoding in self._batches(items):
            probs = probabilities(self._forward(encoding).logits)  # (batch, labels)
            for row, i in enumerate(batch):
                text, spans = items[i]
                labels = [
                    {"label": self._label(j), "score": float(probs[row, j])}
                    for j in top_k_indices(probs[row], k)
                ]
                results[i] = {
                    "text": text,
                    "head": _mention(text, spans[0]),
                    "tail": _mention(text, spans[1]),
                    "labels": labels,
                }
        return results


class NerPipeline(Pipeline):
    """Named entity recognition with LukeForEntitySpanClassification (e.g. CoNLL-2003).

    With the span classifier LUKE's CoNLL-2003 model was fine-tuned with: every run of up to
    ``max_span_length`` words is a candidate entity, all candidates are classified (in
    chunks of the tokenizer's ``max_entity_length`` entities per row), each takes its most
    probable label, the "not an entity" label (NIL or O) is dropped, and the best
    non-overlapping spans are kept, greedily by probability. The original evaluation code
    differs: it bounds candidates by subword tokens (16), ranks them by maximum logit, and
    encodes each sentence with its document's surrounding words; here each text is encoded
    alone (docs/cli.md). Result per text: ``{"text", "entities": [{"mention",
    "start", "end", "label", "score"}]}`` sorted by start.
    """

    task = "ner"
    model_class = "LukeForEntitySpanClassification"
    tokenizer_task = "entity_span_classification"
    defaults = PIPELINE_DEFAULTS[task]
    call_options = ("max_span_length",)

    def __init__(self, model, tokenizer, **options):
        super().__init__(model, tokenizer, **options)
        self.chunk = int(getattr(tokenizer, "max_entity_length", None) or 32)
        self.no_entity = {i for i, label in self.id2label.items() if label in NO_ENTITY_LABELS}

    def _check(self, text, spans):
        if spans:
            raise InputError("ner finds the mentions itself; do not mark any")

    def run(self, items, **options):
        limit = self._options(options)["max_span_length"]
        results = []
        for i, (text, _) in enumerate(items):
            number = i + 1 if len(items) > 1 else None
            candidates = enumerate_spans(find_words(text), limit)
            chunks = [
                candidates[start : start + self.chunk]
                for start in range(0, len(candidates), self.chunk)
            ]
            found = []
            for first in range(0, len(chunks), self.batch_size):
                rows = chunks[first : first + self.batch_size]
                encoding = self._encode(
                    [(text, spans) for spans in rows], True, [number] * len(rows)
                )
                probs = probabilities(self._forward(encoding).logits)  # (rows, entities, labels)
                for row, spans in enumerate(rows):
                    for j, span in enumerate(spans):
                        label = int(np.argmax(probs[row, j]))
                        if label in self.no_entity:
                            continue
                        found.append(
                            {
                                **_mention(text, span),
                                "label": self._label(label),
                                "score": float(probs[row, j, label]),
                            }
                        )
            results.append({"text": text, "entities": select_spans(found)})
        return results


class TokenClassificationPipeline(Pipeline):
    """A label for every word token with LukeForTokenClassification, answered as
    transformers' ``token-classification`` pipeline answers with LUKE's tokenizer.

    Result per text, with ``aggregation_strategy="none"`` (the default): a list of
    ``{"entity", "score", "index", "word", "start", "end"}``, one per token (the special
    tokens left out) whose most probable label is not in ``ignore_labels`` (default
    ``["O"]``): ``index`` its position in ``input_ids``, ``word`` the token as the vocabulary
    spells it ("Ġplays"), ``start``/``end`` None (transformers has no character offsets
    from LUKE's tokenizer either). ``"simple"`` merges runs of B-X/I-X tokens into
    ``{"entity_group", "score" (their mean), "word", "start", "end"}``. transformers'
    "first", "average" and "max" are refused. Mentions are not read (this head reads the
    words only): a marked one is refused.

    Not to be confused with ``ner``, which here is LUKE's span NER (``NerPipeline``).
    """

    task = "token-classification"
    model_class = "LukeForTokenClassification"
    tokenizer_task = None
    defaults = PIPELINE_DEFAULTS[task]
    call_options = ("aggregation_strategy", "ignore_labels")

    def _check(self, text, spans):
        if spans:
            raise InputError("token-classification labels the words and reads no mentions "
                             "(as transformers' pipeline); do not mark any")

    def run(self, items, **options):
        chosen = self._options(options)
        strategy, ignore = chosen["aggregation_strategy"], set(chosen["ignore_labels"])
        results: list = [None] * len(items)
        for batch, encoding in self._batches(items):
            scores = probabilities(self._forward(encoding).logits)  # (b, words, labels)
            ids = np.asarray(encoding["input_ids"])
            lengths = np.asarray(encoding["attention_mask"]).sum(axis=1)  # (b,)
            for row, i in enumerate(batch):
                tokens = []
                for index in range(1, int(lengths[row]) - 1):  # not <s>, </s>, padding
                    label = int(np.argmax(scores[row, index]))
                    tokens.append({
                        "entity": self._label(label), "score": float(scores[row, index, label]),
                        "index": index,
                        "word": self.tokenizer.convert_ids_to_tokens(int(ids[row, index])),
                        "start": None, "end": None,
                    })
                if strategy == "simple":
                    groups = self._group(tokens)
                    results[i] = [g for g in groups if g["entity_group"] not in ignore]
                else:
                    results[i] = [t for t in tokens if t["entity"] not in ignore]
        return results

    def _group(self, tokens: list[dict]) -> list[dict]:
        """transformers' "simple" grouping: a token joins the group before it when it has
        the same type (B-X/I-X/X -> X) and is not a B- tag; a group scores the mean."""

        def tag(label: str) -> tuple[str, str]:
            if label.startswith(("B-", "I-")):
                return label[0], label[2:]
            return "I", label

        runs: list[list[dict]] = []
        for token in tokens:
            position, kind = tag(token["entity"])
            if runs and position != "B" and tag(runs[-1][-1]["entity"])[1] == kind:
                runs[-1].append(token)
            else:
                runs.append([token])
        return [{
            "entity_group": tag(run[0]["entity"])[1],
            "score": float(np.mean([t["score"] for t in run])),
            "word": self.tokenizer.convert_tokens_to_string([t["word"] for t in run]),
            "start": None, "end": None,
        } for run in runs]


PIPELINES = {
    cls.task: cls
    for cls in (FillMaskPipeline, FillMaskAndEntitiesPipeline, EntityPredictionPipeline,
                EntityTypingPipeline,
                RelationClassificationPipeline, NerPipeline, TokenClassificationPipeline)
}

# pipeline()'s own keyword arguments, named in the message refusing an unknown one.
PIPELINE_ARGUMENTS = ("task", "model", "tokenizer", "revision", "local_files_only", "cache_dir",
                      "token", "load", "dtype", "torch_dtype", "device")


def pipeline(
    task: str | None = None,
    model: str | os.PathLike | None = None,
    revision: str | None = None,
    top_k: int | None = None,
    *,
    tokenizer=None,
    local_files_only: bool = False,
    cache_dir: str | os.PathLike | None = None,
    token: str | bool | None = None,
    load: LoadOptions | None = None,
    dtype=np.float32,
    torch_dtype=None,
    device=None,
    batch_size: int = BATCH_SIZE,
    **task_options,
) -> Pipeline:
    """Build the pipeline of a task, loading its tokenizer and model.

    ``task`` may be left out when ``model`` names its class (config.json's
    ``architectures``, or a loaded model's class). ``model`` is a Hub repository id, a
    local folder, or an already loaded numpy_luke model (then pass ``tokenizer`` too); it
    defaults to the task's checkpoint in ``DEFAULT_MODELS``. ``dtype`` (or ``torch_dtype``):
    np.float32 (default), np.float64 or "auto". ``device``: None, "cpu" or -1 (numpy_luke
    runs on the CPU). Task options: ``top_k`` (fill-mask, entity-prediction,
    relation-classification), ``targets`` (fill-mask), ``threshold`` (entity-typing),
    ``max_span_length`` (ner); their defaults are ``tasks.PIPELINE_DEFAULTS``. The loading
    options (``revision``, ``local_files_only``, ``cache_dir``, ``token``, or all as one
    ``load=LoadOptions(...)``) go to every file the tokenizer and the model read.
    """
    if device is not None and str(device) not in ("cpu", "-1"):
        raise InputError(f"device={device!r}: numpy_luke computes with NumPy on the CPU; "
                         "leave device out, or give device='cpu' (or -1)")
    load = LoadOptions.of(load, revision=revision, local_files_only=local_files_only,
                          cache_dir=cache_dir, token=token)
    if task is None:
        task = _task_of(model, load)
    if top_k is not None:
        task_options["top_k"] = top_k
    cls = _pipeline_class(task, task_options)
    if model is None and task not in DEFAULT_MODELS:
        raise InputError(f"the {task} task has no default checkpoint (none is published for "
                         "LUKE); give model=FOLDER or a Hub repository id")
    name = DEFAULT_MODELS[task] if model is None else model
    if task == "ner":
        _refuse_token_classification(name, load)
    if tokenizer is None and not isinstance(name, (str, os.PathLike)):
        raise InputError("a loaded model needs its tokenizer: pass tokenizer=...")
    # The tokenizer first: it is quick, and a missing checkpoint is reported at once.
    if tokenizer is None or isinstance(tokenizer, (str, os.PathLike)):
        tokenizer = LukeTokenizer.from_pretrained(name if tokenizer is None else tokenizer,
                                                  load=load)
    model = _model_for(cls, name, dtype if torch_dtype is None else torch_dtype, load)
    return cls(model, tokenizer, batch_size=batch_size, **task_options)


def _pipeline_class(task: str, task_options: dict) -> type[Pipeline]:
    """The pipeline class of ``task``; options it does not take are refused, naming those
    it takes."""
    if task not in PIPELINES:
        raise InputError(f"unknown task {task!r}; choose one of {', '.join(PIPELINES)}")
    cls = PIPELINES[task]
    if task == "fill-mask" and "entities" in task_options:
        raise InputTypeError(
            "pipeline('fill-mask') answers as transformers' fill-mask, whatever its options; "
            "for the entities of marked mentions too (one {'text', 'masks', 'entities'} "
            "object per text) use pipeline('fill-mask-and-entities')")
    unknown = [name for name in task_options if name not in cls.defaults]
    if unknown:
        raise InputTypeError(
            f"pipeline() got an unexpected keyword argument {unknown[0]!r}: the {task} "
            f"pipeline takes {', '.join(('batch_size', *cls.defaults))}, besides "
            f"{', '.join(PIPELINE_ARGUMENTS)}"
        )
    return cls


def _model_for(cls: type[Pipeline], model, dtype, load: LoadOptions):
    """The pipeline's model: loaded from a checkpoint (which must hold the trained head:
    a head started random is no model to answer with), or checked when given loaded."""
    model_class = getattr(modeling, cls.model_class)
    if isinstance(model, (str, os.PathLike)):
        with warnings.catch_warnings():
            warnings.simplefilter("error", NewWeightsWarning)
            try:
                return model_class.from_pretrained(model, dtype=dtype, load=load)
            except NewWeightsWarning as missing:
                raise CheckpointError(
                    f"the {cls.task} pipeline needs a trained {cls.model_class} checkpoint; "
                    f"{missing}") from None
    if not isinstance(model, model_class):
        raise InputError(
            f"the {cls.task} pipeline needs a {cls.model_class}, not a {type(model).__name__}"
        )
    return model


def _refuse_token_classification(model, load: LoadOptions) -> None:
    """``ner`` given a token-classification checkpoint (transformers' meaning of "ner"):
    say what ``ner`` means here, instead of a shape error from the classifier."""
    if isinstance(model, (str, os.PathLike)):
        architectures = LukeConfig.from_pretrained(model, load=load).extra.get("architectures")
        names = architectures if isinstance(architectures, list) else []
    else:
        names = [type(model).__name__]
    if "LukeForTokenClassification" in names:
        raise InputError(f"{str(model) if isinstance(model, (str, os.PathLike)) else 'the model'}"
                         f" is a LukeForTokenClassification checkpoint, but {NER_MEANING}")


def _task_of(model, load: LoadOptions) -> str:
    """The task of a model given without one: from its class (a loaded model) or from its
    config.json's ``architectures`` (transformers' way of naming a checkpoint's class)."""
    if model is None:
        raise InputError(f"give a task ({', '.join(PIPELINES)}) or a model")
    if isinstance(model, (str, os.PathLike)):
        architectures = LukeConfig.from_pretrained(model, load=load).extra.get("architectures")
        names = architectures if isinstance(architectures, list) else []
        where = f"the config.json of {str(model)!r}"
    else:
        names, where = [type(model).__name__], "the model"
    for architecture in names:
        if architecture in ARCHITECTURE_TASKS:
            return ARCHITECTURE_TASKS[architecture]
    raise InputError(
        f"{where} names no class a pipeline runs (architectures: {names or 'none'}); give "
        f"the task: one of {', '.join(PIPELINES)}"
    )

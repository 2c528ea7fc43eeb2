"""LukeTokenizer: text and entity spans -> the arrays LUKE reads, with transformers' API.

The LUKE part lives in the core, and this class calls it:

* ``core/bpe.py`` and ``core/words.py``: word tokens (byte-level BPE, with added tokens such
  as ``<mask>`` and ``<ent>`` kept whole);
* ``core/entity_vocab.py``: entity titles <-> ids;
* ``core/entity_inputs.py``: character spans -> entity inputs, and the three task layouts
  with ``<ent>``/``<ent2>`` markers (read its docstring for the algorithm);
* ``core/model_inputs.py``: truncation (an entity whose mention was cut away is dropped),
  special tokens, the entities' position rows, padding on either side.

Around it, by responsibility: ``token_registry.py`` holds the added and special tokens;
``tokenizer_options.py`` checks and resolves a call's options once (``CallOptions``, for
``__call__``, ``prepare_for_model`` and ``pad`` alike); ``tokenizer_inputs.py`` checks the
texts, spans and titles (with ``mentions.py``'s text and span rules, ``tasks.py``'s task
rules) and shapes the output; ``tokenizer_files.py`` reads and writes the files. This
module is the facade: transformers 4.57's pure-Python ``LukeTokenizer`` interface, argument
for argument and quirks included (noted where they occur), so the published models see
exactly the inputs transformers gives them (they were trained with studio-ousia/luke's own
preprocessing, which it reproduces closely, not exactly).
Deliberate differences (docs/tokenizer.md lists them all): with left padding the span
classification's word indices (``entity_start_positions``/``entity_end_positions``) move
with their words, while ``entity_position_ids`` stay as without padding (they index
position embeddings, and word positions skip padding); with left truncation the entities'
positions are counted after the cut (transformers 4.57 leaves both pointing elsewhere);
unknown keyword arguments of a call warn, and of ``from_pretrained`` are refused.
"""

from __future__ import annotations

import inspect
import logging
import os

import numpy as np

from . import tokenizer_files
from .checks import positive_int, short
from .core import model_inputs
from .core.entity_vocab import EntityVocab
from .hub import LoadOptions
from .mentions import check_text
from .tasks import max_entities
from .token_registry import SpecialTokensMixin, TokenRegistry
from .tokenizer_files import AddedToken, read_bpe, read_entity_vocab
from .tokenizer_inputs import (
    ENTITY_ARGUMENTS,
    BatchEncoding,
    check_texts,
    id_segments,
    segments,
    split_batch,
    to_arrays,
)
from .tokenizer_options import (
    UNIMPLEMENTED_OPTIONS,
    VERY_LARGE_INTEGER,
    CallOptions,
    check_side,
    check_task,
    resolve_options,
)

__all__ = ["BatchEncoding", "CallOptions", "LukeTokenizer", "UNIMPLEMENTED_OPTIONS"]

logger = logging.getLogger(__name__)

# the published models' <mask>: it swallows the space before it
MASK_TOKEN = AddedToken("<mask>", lstrip=True)


class LukeTokenizer(SpecialTokensMixin):
    """LUKE's tokenizer: byte-level BPE for words plus an entity vocabulary.

    Load one with ``LukeTokenizer.from_pretrained(folder_or_repo_id)``; call it like
    transformers' ``LukeTokenizer``::

        enc = tokenizer("Beyoncé lives in Los Angeles.", entity_spans=[(0, 7), (17, 28)],
                        return_tensors="np")
    """

    model_input_names = ["input_ids", "attention_mask"]
    # transformers' names: "right" or "left" (checked at every call: users set them)
    padding_side = "right"
    truncation_side = "right"

    def __init__(
        self,
        vocab_file: str | os.PathLike,
        merges_file: str | os.PathLike,
        entity_vocab_file: str | os.PathLike,
        task: str | None = None,
        max_entity_length: int = 32,
        max_mention_length: int = 30,
        entity_token_1="<ent>",
        entity_token_2="<ent2>",
        errors: str = "replace",
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token=MASK_TOKEN,
        add_prefix_space: bool = False,
        model_max_length: int = VERY_LARGE_INTEGER,
        clean_up_tokenization_spaces: bool = False,
        additional_special_tokens=(),
        extra_special_tokens=None,
        added_tokens: dict[str, int] | None = None,
        added_tokens_decoder: dict | None = None,
        padding_side: str = "right",
        truncation_side: str = "right",
        **unused_config,
    ):
        check_task(task)
        self.padding_side = check_side(padding_side, "padding_side")
        self.truncation_side = check_side(truncation_side, "truncation_side")
        self.bpe = read_bpe(vocab_file, merges_file)
        self._entity_vocab = read_entity_vocab(entity_vocab_file)
        self.task = task
        self._max_entity_length = positive_int(max_entity_length, "max_entity_length")
        self.max_mention_length = positive_int(max_mention_length, "max_mention_length")
        self.errors = errors
        self.add_prefix_space = bool(add_prefix_space)
        self.model_max_length = int(model_max_length)
        self.clean_up_tokenization_spaces = bool(clean_up_tokenization_spaces)
        # transformers 5.x writes the additional special tokens as "extra_special_tokens" (a
        # list); 4.x as "additional_special_tokens", with "extra_special_tokens" a dict of
        # named extra special tokens.
        extra = extra_special_tokens or ()
        if isinstance(extra, dict):
            extra = list(extra.values())
        roles = dict(bos_token=bos_token, eos_token=eos_token, unk_token=unk_token,
                     sep_token=sep_token, pad_token=pad_token, cls_token=cls_token,
                     mask_token=mask_token)
        self.tokens = TokenRegistry(self.bpe, added_tokens, added_tokens_decoder, roles,
                                    [*(additional_special_tokens or ()), *extra],
                                    (entity_token_1, entity_token_2))
        self._warned_too_long = False  # the too-long warning is given once, as transformers

    # ----------------------------------------------------------------------------------
    # Loading and saving

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        task: str | None = None,
        revision: str | None = None,
        local_files_only: bool = False,
        cache_dir: str | os.PathLike | None = None,
        force_download: bool = False,
        token: str | bool | None = None,
        *,
        load: LoadOptions | None = None,
        **overrides,
    ) -> LukeTokenizer:
        """Load from a folder or a Hub repository: vocab.json, merges.txt, entity_vocab.json
        and, where present, tokenizer_config.json, special_tokens_map.json,
        added_tokens.json (see ``tokenizer_files.py``).

        The loading options are the models': ``revision``, ``local_files_only``,
        ``cache_dir``, ``force_download`` and ``token`` (the last two go to the Hub as in
        transformers), or all of them as one ``load=LoadOptions(...)`` (``hub.py``). Other
        keywords are the tokenizer's settings (``task``, ``max_entity_length``,
        ``padding_side``, ``model_max_length``, ``mask_token``..., the constructor's
        arguments) and win over the files'; any other keyword is refused with a
        ``TypeError`` (transformers keeps it silently).
        """
        unknown = sorted(set(overrides) - set(_SETTINGS))
        if unknown:
            raise TypeError(
                f"LukeTokenizer.from_pretrained() got unknown keyword argument(s) "
                f"{', '.join(map(repr, unknown))}: it takes the loading options revision, "
                "local_files_only, cache_dir, force_download and token, and the tokenizer's "
                f"settings: {', '.join(_SETTINGS)}")
        load = LoadOptions.of(load, revision=revision, local_files_only=local_files_only,
                              cache_dir=cache_dir, force_download=force_download, token=token)
        return tokenizer_files.load_pretrained(cls, pretrained_model_name_or_path, task,
                                               overrides, load)

    def save_pretrained(self, save_directory: str | os.PathLike) -> tuple[str, ...]:
        """Write the files ``from_pretrained`` reads (transformers' layout)."""
        return tokenizer_files.save_pretrained(self, save_directory)

    def save_vocabulary(self, save_directory: str | os.PathLike,
                        filename_prefix: str | None = None) -> tuple[str, ...]:
        """Write vocab.json, merges.txt and entity_vocab.json (with ``filename_prefix-``)."""
        return tokenizer_files.save_vocabulary(self, save_directory, filename_prefix)

    def file_settings(self) -> tuple[dict, dict, dict]:
        """What ``save_pretrained`` writes beside the vocabularies: tokenizer_config.json,
        special_tokens_map.json and added_tokens.json's contents."""
        special, entity, decoder, beyond_vocab = self.tokens.file_settings()
        additional = list(self.tokens.additional)
        config = {
            **special,
            "add_prefix_space": self.add_prefix_space, "errors": self.errors, "task": self.task,
            "max_entity_length": self._max_entity_length,
            "max_mention_length": self.max_mention_length, **entity,
            "model_max_length": self.model_max_length,
            "clean_up_tokenization_spaces": self.clean_up_tokenization_spaces,
            "padding_side": self.padding_side, "truncation_side": self.truncation_side,
            "additional_special_tokens": additional, "added_tokens_decoder": decoder,
            "tokenizer_class": "LukeTokenizer",
        }
        return config, {**special, "additional_special_tokens": list(additional)}, beyond_vocab

    # ----------------------------------------------------------------------------------
    # Vocabulary, special tokens and their transformers names

    @property
    def entity_vocab(self) -> dict[str, int]:
        """Entity title -> id (the dict transformers exposes under this name)."""
        return self._entity_vocab.vocab

    @property
    def entity_vocabulary(self) -> EntityVocab:
        """The entity vocabulary itself: ``title_to_id``, ``id_to_title`` (core)."""
        return self._entity_vocab

    @property
    def max_entity_length(self) -> int:
        return self.max_entity_length_for(self.task)

    def max_entity_length_for(self, task: str | None) -> int:
        """The entities a ``task``'s example holds at most (a task fixes it, else the
        tokenizer's ``max_entity_length`` setting)."""
        return max_entities(task, self._max_entity_length)

    entity_token_1 = property(lambda self: self.tokens.entity_tokens[0])
    entity_token_2 = property(lambda self: self.tokens.entity_tokens[1])
    pad_token_type_id = 0
    is_fast = False

    entity_pad_token, entity_unk_token = "[PAD]", "[UNK]"
    entity_mask_token, entity_mask2_token = "[MASK]", "[MASK2]"
    entity_pad_token_id = property(lambda self: self._entity_vocab.pad_id)
    entity_unk_token_id = property(lambda self: self._entity_vocab.unk_id)
    entity_mask_token_id = property(lambda self: self._entity_vocab.mask_id)
    entity_mask2_token_id = property(lambda self: self._entity_vocab.mask2_id)

    # ----------------------------------------------------------------------------------
    # Text -> tokens, ids -> text

    def tokenize(self, text: str, add_prefix_space: bool | None = None) -> list[str]:
        """Text -> token strings, added tokens (``<mask>``, ``<s>``...) kept whole."""
        check_text(text, "text")
        if add_prefix_space is None:
            add_prefix_space = self.add_prefix_space
        if add_prefix_space and text and not text[0].isspace():
            text = " " + text
        return self.words.tokenize(text)

    def encode(self, text: str, text_pair: str | None = None, add_special_tokens: bool = True,
               **kwargs) -> list[int]:
        """Just the ``input_ids`` of ``self(text, text_pair, ...)``."""
        return self(text, text_pair, add_special_tokens=add_special_tokens,
                    **kwargs)["input_ids"]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return self.bpe.convert_tokens_to_string(tokens, self.errors)

    def decode(self, token_ids, skip_special_tokens: bool = False,
               clean_up_tokenization_spaces: bool | None = None,
               spaces_between_special_tokens: bool = True) -> str:
        """Ids -> text. Tokens added beyond vocab.json (``<ent>``, ``<ent2>``) are joined to
        the text around them with single spaces, as transformers does."""
        if isinstance(token_ids, np.ndarray):
            token_ids = token_ids.tolist()
        tokens = self.convert_ids_to_tokens(token_ids, skip_special_tokens)
        if isinstance(tokens, str):
            tokens = [tokens]
        text = self.tokens.join(tokens, self.errors, spaces_between_special_tokens)
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        return clean_up_tokenization(text) if clean_up_tokenization_spaces else text

    def batch_decode(self, sequences, **kwargs) -> list[str]:
        return [self.decode(ids, **kwargs) for ids in sequences]

    # ----------------------------------------------------------------------------------
    # The main call: options resolved once, the core builds and pads the inputs

    def __call__(self, text: str | list[str], text_pair: str | list[str] | None = None,
                 entity_spans=None, entity_spans_pair=None, entities=None, entities_pair=None,
                 **options) -> BatchEncoding:
        """Encode one text (or a batch, or pairs) and its entities; see the module docstring.

        The keyword ``options`` are transformers' (``padding``, ``truncation``,
        ``max_length``, ``return_tensors``...; see ``tokenizer_options.resolve_options``).
        ``task`` defaults to the tokenizer's own (set by ``from_pretrained(..., task=...)``).
        ``return_tensors="np"`` gives int64 arrays shaped (batch, words), (batch, entities)
        and (batch, entities, max_mention_length); ``None`` gives Python lists.
        """
        options = resolve_options(self, **options)
        check_texts(text, "text")
        if text_pair is not None:
            check_texts(text_pair, "text_pair")
        arguments = {"text_pair": text_pair, "entity_spans": entity_spans,
                     "entity_spans_pair": entity_spans_pair, "entities": entities,
                     "entities_pair": entities_pair}
        if isinstance(text, str):
            if text_pair is not None and not isinstance(text_pair, str):
                raise ValueError("text is a single string, so text_pair must be one too")
            return self._finish_one(self._encode(text, arguments, options), options)
        examples = [self._encode(one, item, options)
                    for one, item in zip(text, split_batch(text, arguments), strict=True)]
        # as transformers: a batch padded to max_length pads entities to the tokenizer's
        # max_entity_length, not to the max_entity_length of the call
        encoded = self._pad(examples, options, self.max_entity_length_for(options.task))
        if options.return_length:  # a batch: the lengths before padding, as transformers
            encoded["length"] = [len(e["input_ids"]) for e in examples]
        if options.return_tensors is None:
            return BatchEncoding(encoded)
        return to_arrays(encoded, options.max_mention_length)

    def _encode(self, text: str, arguments: dict, options: CallOptions) -> dict:
        """One example: words (and entities) with special tokens, truncated, not padded."""
        first, second = segments(self, text, options=options, **arguments)
        example, notes = model_inputs.model_input(first, second, self.tokens.cls_sep, options)
        if notes:
            _log(notes)
        input_ids = example["input_ids"]
        # Once per tokenizer, as transformers: an untruncated text longer than the model
        # reads is encoded, with a warning; the model will refuse it.
        if (options.verbose and options.max_length is None and not self._warned_too_long
                and len(input_ids) > self.model_max_length > 0):
            logger.warning(
                "a text has %d tokens, more than this model reads (model_max_length=%d); the "
                "model will refuse it: pass truncation=True to cut it", len(input_ids),
                self.model_max_length)
            self._warned_too_long = True
        return example

    def _pad(self, examples: list[dict], options: CallOptions, entity_length) -> dict:
        has_entities = bool(examples) and "entity_ids" in examples[0]
        if len(examples) > 1 and any(("entity_ids" in e) != has_entities for e in examples):
            raise ValueError("either every text of a batch has entity_spans or none has")
        return model_inputs.pad(examples, options, entity_length,
                                (self.tokens.pad_id, self._entity_vocab.pad_id))

    def _finish_one(self, example: dict, options: CallOptions, batch_axis: bool = True
                    ) -> BatchEncoding:
        """Pad one example and shape the output (lists, or arrays with a batch axis unless
        ``batch_axis`` is False)."""
        if example["input_ids"]:
            encoded = self._pad([example], options, options.max_entity_length)
        else:  # as transformers: no word tokens at all -> no padding, no entity mask
            encoded = {key: [value] for key, value in example.items()}
            if options.return_attention_mask:
                encoded["attention_mask"] = [[]]
        if options.return_length:  # one text: the length after padding, as transformers
            encoded["length"] = [len(encoded["input_ids"][0])]
        if options.return_tensors is None:
            return BatchEncoding({key: value[0] for key, value in encoded.items()})
        return to_arrays(encoded, options.max_mention_length, batch_axis)

    # ----------------------------------------------------------------------------------
    # transformers' generic tokenizer methods (PreTrainedTokenizer's interface)

    def build_inputs_with_special_tokens(self, token_ids_0: list[int],
                                         token_ids_1: list[int] | None = None) -> list[int]:
        """``<s> A </s>`` or ``<s> A </s></s> B </s>``."""
        pair = None if token_ids_1 is None else list(token_ids_1)
        return model_inputs.with_special_tokens(list(token_ids_0), pair, *self.tokens.cls_sep)

    def get_special_tokens_mask(self, token_ids_0: list[int], token_ids_1: list[int] | None = None,
                                already_has_special_tokens: bool = False) -> list[int]:
        """1 for a special token, 0 for a word token: of the ids with special tokens that
        ``build_inputs_with_special_tokens`` would give, or of ids that already have them."""
        if already_has_special_tokens:
            if token_ids_1 is not None:
                raise ValueError("token_ids_1 must be None when the ids already have their "
                                 "special tokens")
            special = set(self.all_special_ids)
            return [1 if i in special else 0 for i in token_ids_0]
        return model_inputs.special_tokens_mask(
            len(token_ids_0), None if token_ids_1 is None else len(token_ids_1))


    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return 4 if pair else 2

    def create_token_type_ids_from_sequences(self, token_ids_0: list[int],
                                             token_ids_1: list[int] | None = None) -> list[int]:
        """All zeros: LUKE, as RoBERTa, does not use token types."""
        return [0] * len(self.build_inputs_with_special_tokens(token_ids_0, token_ids_1))

    def encode_plus(self, text: str, text_pair: str | None = None, entity_spans=None,
                    entity_spans_pair=None, entities=None, entities_pair=None,
                    **kwargs) -> BatchEncoding:
        """One text (or pair): the same as calling the tokenizer."""
        if not isinstance(text, str):
            raise TypeError(f"encode_plus encodes one text; got {short(text)} (use "
                            "batch_encode_plus for a batch)")
        return self(text, text_pair, entity_spans, entity_spans_pair, entities, entities_pair,
                    **kwargs)

    def batch_encode_plus(self, batch_text_or_text_pairs,
                          batch_entity_spans_or_entity_spans_pairs=None,
                          batch_entities_or_entities_pairs=None, **kwargs) -> BatchEncoding:
        """A batch given as transformers does: texts or (text, text_pair) tuples, with entity
        spans and titles given the same way."""
        for name in ENTITY_ARGUMENTS[1:]:
            if name in kwargs:
                raise TypeError(f"batch_encode_plus takes entity spans and titles as "
                                "batch_entity_spans_or_entity_spans_pairs and "
                                f"batch_entities_or_entities_pairs (as transformers), not {name}=")
        texts, pairs = _split_pairs(batch_text_or_text_pairs, None, (tuple, list))
        spans, spans_pair = _split_pairs(batch_entity_spans_or_entity_spans_pairs,
                                         "batch_entity_spans_or_entity_spans_pairs")
        titles, titles_pair = _split_pairs(batch_entities_or_entities_pairs,
                                           "batch_entities_or_entities_pairs")
        return self(texts, pairs, spans, spans_pair, titles, titles_pair, **kwargs)

    def prepare_for_model(self, ids: list[int], pair_ids: list[int] | None = None,
                          entity_ids: list[int] | None = None,
                          pair_entity_ids: list[int] | None = None,
                          entity_token_spans: list[tuple[int, int]] | None = None,
                          pair_entity_token_spans: list[tuple[int, int]] | None = None,
                          **kwargs) -> BatchEncoding:
        """Token ids (and entity ids with their token spans) -> one model input: truncated,
        with special tokens, padded, as a call on the text would give. As transformers,
        ``return_tensors="np"`` gives arrays without a batch axis, (words,), unless
        ``prepend_batch_axis=True``."""
        kwargs.setdefault("task", None)
        prepend_batch_axis = bool(kwargs.pop("prepend_batch_axis", False))
        options = resolve_options(self, **kwargs)
        first, second = id_segments(ids, pair_ids, entity_ids, pair_entity_ids,
                                    entity_token_spans, pair_entity_token_spans)
        example, notes = model_inputs.model_input(first, second, self.tokens.cls_sep, options)
        _log(notes)
        return self._finish_one(example, options, prepend_batch_axis)

    def pad(self, encoded_inputs, padding: bool | str = True, max_length: int | None = None,
            max_entity_length: int | None = None, pad_to_multiple_of: int | None = None,
            padding_side: str | None = None, return_attention_mask: bool | None = None,
            return_tensors: str | None = None, verbose: bool = True) -> BatchEncoding:
        """Pad encodings made without padding: one (a dict of lists), a batch (a dict of
        lists of lists) or a list of them (dicts), as transformers' ``pad``. One encoding
        gives arrays without a batch axis with ``return_tensors="np"``, as transformers."""
        examples, single = _encodings(encoded_inputs)
        options = resolve_options(
            self, padding=padding, truncation=False, max_length=max_length,
            max_entity_length=max_entity_length, pad_to_multiple_of=pad_to_multiple_of,
            padding_side=padding_side, return_attention_mask=return_attention_mask,
            return_tensors=return_tensors, verbose=verbose)
        batch = self._pad(examples, options, options.max_entity_length)
        if return_tensors is None:
            return BatchEncoding({k: v[0] for k, v in batch.items()} if single else batch)
        return to_arrays(batch, self.max_mention_length, batch_axis=not single)


# The settings ``from_pretrained`` takes as keywords: the constructor's, less the files it
# finds itself and the added tokens it reads from them.
_SETTINGS = tuple(
    name for name, parameter in inspect.signature(LukeTokenizer.__init__).parameters.items()
    if parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and name not in (
        "self", "vocab_file", "merges_file", "entity_vocab_file", "added_tokens",
        "added_tokens_decoder"))


def _log(notes: list[tuple[str, str]]) -> None:
    """What the core noted while building an input (entities dropped by truncation, a text
    too short to truncate), logged as transformers logs it."""
    for level, message in notes:
        getattr(logger, level)("%s", message)


def _split_pairs(items, name: str | None, pair_types=(tuple,)):
    """``batch_encode_plus``'s per-text items, or (item, pair item) tuples -> two lists.
    The texts (``name`` None) are taken as they are when not a list (the call checks
    them); (text, text_pair) may also be lists."""
    if name is None:
        if not isinstance(items, (list, tuple)):
            return items, None
    elif items is None:
        return None, None
    elif not isinstance(items, (list, tuple)):
        raise TypeError(f"{name} must be a list, got {short(items)}")
    if all(isinstance(x, pair_types) for x in items) and items:
        return [x[0] for x in items], [x[1] for x in items]
    return list(items), None


def _encodings(encoded_inputs) -> tuple[list[dict], bool]:
    """``pad``'s input -> (examples as dicts of lists, whether it was one encoding)."""
    if isinstance(encoded_inputs, (list, tuple)):
        if not encoded_inputs or not all(isinstance(e, dict) for e in encoded_inputs):
            raise ValueError("pad() takes encodings: a dict of lists, or a list of them")
        return [dict(e) for e in encoded_inputs], False
    if not isinstance(encoded_inputs, dict) or "input_ids" not in encoded_inputs:
        raise ValueError(f"pad() needs encodings with input_ids, got {short(encoded_inputs)}")
    ids = encoded_inputs["input_ids"]
    if isinstance(ids, np.ndarray):
        ids = ids.tolist()
    single = not ids or not isinstance(ids[0], (list, tuple))
    items = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
             for k, v in encoded_inputs.items()}
    if single:
        return [items], True
    return [{k: v[b] for k, v in items.items()} for b in range(len(ids))], False


def clean_up_tokenization(text: str) -> str:
    """transformers' clean-up of English tokenisation spaces (" ." -> ".", " n't" -> ...)."""
    for before, after in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
                          (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"),
                          (" 're", "'re")):
        text = text.replace(before, after)
    return text

"""LukeTokenizer: text and entity spans -> the arrays LUKE reads, with transformers' API.

The LUKE part lives in the core, and this class calls it:

* ``core/bpe.py`` and ``core/words.py``: word tokens (byte-level BPE, with added tokens such
  as ``<mask>`` and ``<ent>`` kept whole);
* ``core/entity_vocab.py``: entity titles <-> ids;
* ``core/entity_inputs.py``: character spans -> entity inputs, and the three task layouts
  with ``<ent>``/``<ent2>`` markers (read its docstring for the algorithm).

What this module adds is transformers 4.57's pure-Python ``LukeTokenizer`` interface,
argument for argument and quirks included (noted where they occur), so the published
models see exactly the inputs transformers gives them (they were trained with
studio-ousia/luke's own preprocessing, which it reproduces closely, not exactly): special
tokens and their ids, ``__call__`` on one text, a pair or a batch, truncation
(``truncation=True`` with ``max_length`` cuts word tokens from the end, or from the start
with ``truncation_side="left"``; an entity whose mention was cut away is dropped, then
entities beyond ``max_entity_length`` are cut too), padding (``<pad>`` words and [PAD]
entities with position rows of -1, on the right or the left), ``decode``, and the generic
methods of transformers' tokenizers (``pad``, ``prepare_for_model``, ``add_tokens``...).
Deliberate differences (docs/tokenizer.md lists them all): with left padding the span
classification's word indices (``entity_start_positions``/``entity_end_positions``) move
with their words, while ``entity_position_ids`` stay as without padding (they index
position embeddings, and word positions skip padding); with left truncation the entities'
positions are counted after the cut (transformers 4.57 leaves both pointing elsewhere);
unknown keyword arguments of a call warn, and of ``from_pretrained`` are refused.
Arguments are checked first (texts and spans: ``mentions.py``; task rules: ``tasks.py``);
files are read and written by ``tokenizer_files.py``.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import numbers
import os
import warnings
from dataclasses import dataclass

import numpy as np

from . import tokenizer_files
from .checks import check_id, is_int, positive_int, short
from .core import entity_inputs
from .core.entity_inputs import Segment
from .core.entity_vocab import EntityVocab
from .core.words import WordTokenizer
from .errors import TokenizerFileError
from .hub import LoadOptions
from .mentions import check_spans, check_text
from .tasks import TASK_SPANS, TASKS, max_entities, spans_fit_task
from .tokenizer_files import AddedToken, check_added_ids, read_bpe, read_entity_vocab

logger = logging.getLogger(__name__)

# transformers' stand-in for "no maximum length"
VERY_LARGE_INTEGER = int(1e30)
LARGE_INTEGER = int(1e20)

# the published models' <mask>: it swallows the space before it
MASK_TOKEN = AddedToken("<mask>", lstrip=True)

_PADDING = {False: "do_not_pad", "do_not_pad": "do_not_pad", True: "longest",
            "longest": "longest", "max_length": "max_length"}
_TRUNCATION = {None: "do_not_truncate", False: "do_not_truncate",
               "do_not_truncate": "do_not_truncate", True: "longest_first",
               "longest_first": "longest_first", "only_first": "only_first",
               "only_second": "only_second"}


class BatchEncoding(dict):
    """The tokenizer's output: a dict (``enc["input_ids"]``) whose keys are also attributes
    (``enc.input_ids``), so ``model(**enc)`` passes every array by its argument name."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"BatchEncoding has no field {name!r}; "
                                 f"it has {', '.join(self)}") from None

    @property
    def data(self) -> dict:
        return dict(self)


def _special_token(role: str) -> property:
    """A special token attribute (``bos_token``, ...): its content, settable."""

    def get(self) -> str:
        return self._special[role].content

    def set(self, value) -> None:
        self._special[role] = _as_special(AddedToken.parse(value, role))
        self._refresh()

    return property(get, set)


_SIDES = ("right", "left")


def _as_special(token: AddedToken) -> AddedToken:
    """The token marked special: a special token's role makes it one, whatever the value
    given says (a plain string, or an AddedToken, whose ``special`` defaults to False)."""
    return token if token.special else dataclasses.replace(token, special=True)


# transformers' call options that numpy_luke does not implement -> why. Given a value that
# would take effect, each is refused (transformers' own LukeTokenizer raises
# NotImplementedError for the first two); ``stride`` alone is accepted, since transformers
# uses it only for the overflowing tokens.
UNIMPLEMENTED_OPTIONS = {
    "is_split_into_words": "give each text as one string (transformers' LukeTokenizer "
                           "does not support pretokenized input either)",
    "return_offsets_mapping": "transformers' Python LukeTokenizer does not return offsets "
                              "either",
    "return_overflowing_tokens": "numpy_luke does not return the tokens cut by truncation",
    "split_special_tokens": "numpy_luke always keeps special tokens in the text whole",
}


def _refuse_unimplemented(options: dict) -> None:
    """Raise NotImplementedError for an unimplemented transformers option that is switched
    on; drop the ones given at their no-effect defaults (False, None, ``stride`` unused)."""
    for name, why in UNIMPLEMENTED_OPTIONS.items():
        value = options.pop(name, None)
        if value:
            raise NotImplementedError(f"LukeTokenizer option {name}={short(value)} is not "
                                      f"implemented: {why}")
    options.pop("stride", None)


def _check_side(value, name: str) -> str:
    if value not in _SIDES:
        raise ValueError(f"{name} must be 'right' or 'left', got {short(value)}")
    return value


class LukeTokenizer:
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
        if task not in TASKS:
            raise ValueError(f"task {task!r} is not supported; choose one of {TASKS[1:]} or None")
        self.padding_side, self.truncation_side = padding_side, truncation_side
        self._check_sides()
        self.bpe = read_bpe(vocab_file, merges_file)
        self._entity_vocab = read_entity_vocab(entity_vocab_file)
        self.task = task
        self._max_entity_length = positive_int(max_entity_length, "max_entity_length")
        self.max_mention_length = positive_int(max_mention_length, "max_mention_length")
        self.errors = errors
        self.add_prefix_space = bool(add_prefix_space)
        self.model_max_length = int(model_max_length)
        self.clean_up_tokenization_spaces = bool(clean_up_tokenization_spaces)

        # Added tokens: content -> id and content -> AddedToken (its strip flags). Ids come
        # from vocab.json, else added_tokens.json / added_tokens_decoder, else the next free
        # id. As in transformers, an empty token is ignored (it would match everywhere).
        self._added_ids: dict[str, int] = {}
        self._added: dict[str, AddedToken] = {}
        for content, i in (added_tokens or {}).items():
            self._add_token(AddedToken(content, special=False), i)
        described = set()  # the tokens added_tokens_decoder describes
        for i, value in (added_tokens_decoder or {}).items():
            token = AddedToken.parse(value, "added_tokens_decoder")
            self._add_token(token, check_id(i, "added_tokens_decoder: token id", json_key=True),
                            override_flags=True)
            described.add(token.content)

        def special_token(value, name: str) -> AddedToken:
            """A special token's flags: added_tokens_decoder's when it describes the token
            (transformers 4.x/5.x save the roles as plain strings beside it), else the
            value's own; a plain "<mask>" strips the space on its left, as transformers'
            LukeTokenizer makes it."""
            token = AddedToken.parse(value, name)
            if token.content in described:
                return self._added[token.content]
            if name == "mask_token" and isinstance(value, str):
                return AddedToken(value, lstrip=True, special=True)
            return _as_special(token)

        # The special tokens, by transformers' attribute names.
        roles = dict(bos_token=bos_token, eos_token=eos_token, unk_token=unk_token,
                     sep_token=sep_token, pad_token=pad_token, cls_token=cls_token,
                     mask_token=mask_token)
        self._special = {role: special_token(value, role) for role, value in roles.items()}
        entity_tokens = [special_token(entity_token_1, "entity_token_1"),
                         special_token(entity_token_2, "entity_token_2")]
        self.entity_token_1, self.entity_token_2 = (t.content for t in entity_tokens)
        # transformers 5.x writes the additional special tokens as "extra_special_tokens" (a
        # list); 4.x as "additional_special_tokens", with "extra_special_tokens" a dict of
        # named extra special tokens.
        extra = extra_special_tokens or ()
        if isinstance(extra, dict):
            extra = list(extra.values())
        additional = [special_token(t, "additional_special_tokens")
                      for t in [*(additional_special_tokens or ()), *extra]]
        additional = [t for t in additional + entity_tokens if t.content]
        self._additional = list(dict.fromkeys(t.content for t in additional))
        for token in [*self._special.values(), *additional]:
            if token.content not in described:
                self._add_token(token, None, override_flags=True)
        self._refresh()
        self._warned_too_long = False  # the too-long warning is given once, as transformers

    def _refresh(self) -> None:
        """Rebuild what derives from the added tokens and the special tokens (after the
        constructor, ``add_tokens`` and setting a special token)."""
        check_added_ids(self._added_ids, self.bpe.ids_to_tokens)
        self._ids_to_added = {i: content for content, i in self._added_ids.items()}
        # The word path: the added tokens cut out first, then the core BPE (one cache),
        # which encodes with the added tokens' ids on top of vocab.json's, as transformers.
        self.bpe.token_ids = {**self.bpe.vocab, **self._added_ids}
        self.bpe.unk_id = self.unk_token_id
        self.bpe.cache.clear()
        self.words = WordTokenizer(
            self.bpe, self._added_ids,
            lstrip={t for t, token in self._added.items() if token.lstrip},
            rstrip={t for t, token in self._added.items() if token.rstrip})
        self._cls_sep = (self.cls_token_id, self.sep_token_id)

    def _check_sides(self) -> None:
        for name in ("padding_side", "truncation_side"):
            _check_side(getattr(self, name), name)

    def _add_token(self, token: AddedToken, i: int | None, override_flags: bool = False):
        if not token.content or (token.content in self._added_ids and not override_flags):
            return
        if i is None:
            i = self._added_ids.get(token.content, self.bpe.vocab.get(token.content))
        if i is None:
            i = max([len(self.bpe.vocab) - 1, *self._added_ids.values()]) + 1
            if i >= 2**63:  # ids become int64 arrays: 2**63 would overflow at encoding
                raise TokenizerFileError(
                    f"no id is left for the added token {token.content!r}: the next id, "
                    f"{i}, is beyond int64, because an added token (added_tokens.json / "
                    "added_tokens_decoder) has the id 2**63 - 1; give the added tokens ids "
                    "that follow the vocabulary")
        self._added_ids[token.content] = i
        self._added[token.content] = token

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

    def _file_settings(self) -> tuple[dict, dict, dict]:
        """tokenizer_config.json, special_tokens_map.json and added_tokens.json's contents."""

        def token_value(token: AddedToken):
            plain = AddedToken(token.content, special=token.special)
            return token.content if token == plain else token.to_json()

        special = {role: token_value(token) for role, token in self._special.items()}
        config = {
            **special,
            "add_prefix_space": self.add_prefix_space, "errors": self.errors, "task": self.task,
            "max_entity_length": self._max_entity_length,
            "max_mention_length": self.max_mention_length,
            "entity_token_1": token_value(self._added.get(self.entity_token_1,
                                                          AddedToken(self.entity_token_1))),
            "entity_token_2": token_value(self._added.get(self.entity_token_2,
                                                          AddedToken(self.entity_token_2))),
            "model_max_length": self.model_max_length,
            "clean_up_tokenization_spaces": self.clean_up_tokenization_spaces,
            "padding_side": self.padding_side, "truncation_side": self.truncation_side,
            "additional_special_tokens": list(self._additional),
            # every added token with its flags, as transformers 4.3x+ writes them (read by
            # both; they keep an added token's lstrip/rstrip through a save)
            "added_tokens_decoder": {
                str(i): {key: value for key, value in self._added[content].to_json().items()
                         if key != "__type"}
                for content, i in sorted(self._added_ids.items(), key=lambda item: item[1])},
            "tokenizer_class": "LukeTokenizer",
        }
        special_map = {**special, "additional_special_tokens": list(self._additional)}
        beyond_vocab = {c: i for c, i in self._added_ids.items() if c not in self.bpe.vocab}
        return config, special_map, beyond_vocab

    # ----------------------------------------------------------------------------------
    # Vocabulary, special tokens and their transformers names

    def __len__(self) -> int:
        return len(self.get_vocab())

    @property
    def vocab_size(self) -> int:
        """Size of vocab.json alone (as transformers), without tokens added after it."""
        return len(self.bpe.vocab)

    def get_vocab(self) -> dict[str, int]:
        return {**self.bpe.vocab, **self._added_ids}

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
        return max_entities(self.task, self._max_entity_length)

    # transformers' settable special tokens: ``tokenizer.bos_token = "<s>"`` (a string or an
    # AddedToken). As in transformers, setting one does not add it to the vocabulary.
    bos_token = _special_token("bos_token")
    eos_token = _special_token("eos_token")
    unk_token = _special_token("unk_token")
    sep_token = _special_token("sep_token")
    pad_token = _special_token("pad_token")
    cls_token = _special_token("cls_token")
    mask_token = _special_token("mask_token")
    bos_token_id = property(lambda self: self._token_to_id(self.bos_token))
    eos_token_id = property(lambda self: self._token_to_id(self.eos_token))
    unk_token_id = property(lambda self: self._added_ids.get(
        self.unk_token, self.bpe.vocab.get(self.unk_token)))
    sep_token_id = property(lambda self: self._token_to_id(self.sep_token))
    pad_token_id = property(lambda self: self._token_to_id(self.pad_token))
    cls_token_id = property(lambda self: self._token_to_id(self.cls_token))
    mask_token_id = property(lambda self: self._token_to_id(self.mask_token))
    pad_token_type_id = 0
    is_fast = False

    entity_pad_token, entity_unk_token = "[PAD]", "[UNK]"
    entity_mask_token, entity_mask2_token = "[MASK]", "[MASK2]"
    entity_pad_token_id = property(lambda self: self._entity_vocab.pad_id)
    entity_unk_token_id = property(lambda self: self._entity_vocab.unk_id)
    entity_mask_token_id = property(lambda self: self._entity_vocab.mask_id)
    entity_mask2_token_id = property(lambda self: self._entity_vocab.mask2_id)

    @property
    def additional_special_tokens(self) -> list[str]:
        return list(self._additional)

    @property
    def additional_special_tokens_ids(self) -> list[int]:
        return [self._token_to_id(t) for t in self._additional]

    @property
    def all_special_tokens(self) -> list[str]:
        tokens = [self._special[role].content for role in
                  ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
                   "cls_token", "mask_token")]
        return list(dict.fromkeys(tokens + self._additional))

    @property
    def all_special_ids(self) -> list[int]:
        return [self._token_to_id(t) for t in self.all_special_tokens]

    def convert_tokens_to_ids(self, tokens: str | list[str]) -> int | list[int]:
        """Token string(s) -> id(s); a token in neither vocabulary gives the <unk> id."""
        if isinstance(tokens, str):
            return self._token_to_id(tokens)
        return [self._token_to_id(token) for token in tokens]

    def _token_to_id(self, token: str) -> int:
        i = self._added_ids.get(token)
        if i is None:
            i = self.bpe.vocab.get(token, self.unk_token_id)
        return i

    def convert_ids_to_tokens(self, ids, skip_special_tokens: bool = False):
        """Id(s) -> token string(s) ("Ġworld" style); special ones dropped if asked."""
        if isinstance(ids, numbers.Integral):
            return self._id_to_token(int(ids))
        skip = set(self.all_special_ids) if skip_special_tokens else ()
        return [self._id_to_token(int(i)) for i in ids if int(i) not in skip]

    def _id_to_token(self, i: int) -> str:
        token = self._ids_to_added.get(i)
        if token is None:
            token = self.bpe.ids_to_tokens.get(i)
        if token is None:
            raise ValueError(f"token id {i} is not in the vocabulary (ids 0..{len(self) - 1})")
        return token

    # ----------------------------------------------------------------------------------
    # Text -> tokens

    def tokenize(self, text: str, add_prefix_space: bool | None = None) -> list[str]:
        """Text -> token strings, added tokens (``<mask>``, ``<s>``...) kept whole."""
        check_text(text, "text")
        return self.words.tokenize(self._with_prefix_space(text, add_prefix_space))

    def _with_prefix_space(self, text: str, add_prefix_space: bool | None) -> str:
        if add_prefix_space is None:
            add_prefix_space = self.add_prefix_space
        return " " + text if add_prefix_space and text and not text[0].isspace() else text

    def encode(self, text: str, text_pair: str | None = None, add_special_tokens: bool = True,
               **kwargs) -> list[int]:
        """Just the ``input_ids`` of ``self(text, text_pair, ...)``."""
        return self(text, text_pair, add_special_tokens=add_special_tokens,
                    **kwargs)["input_ids"]

    # ----------------------------------------------------------------------------------
    # Ids -> text

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
        # as transformers: non-special added tokens, and additional special tokens beyond
        # vocab.json, are decoded on their own
        standalone = {t for t, i in self._added_ids.items() if not self._added[t].special
                      or (t in self._additional and i >= self.vocab_size)}
        texts, run = [], []
        for token in tokens:
            if token in standalone:
                if run:
                    text = self.convert_tokens_to_string(run)
                    if text:
                        texts.append(text)
                    run = []
                texts.append(token)
            else:
                run.append(token)
        if run:
            texts.append(self.convert_tokens_to_string(run))
        text = (" " if spaces_between_special_tokens else "").join(texts)
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        return clean_up_tokenization(text) if clean_up_tokenization_spaces else text

    def batch_decode(self, sequences, **kwargs) -> list[str]:
        return [self.decode(ids, **kwargs) for ids in sequences]

    # ----------------------------------------------------------------------------------
    # The main call

    def __call__(self, text: str | list[str], text_pair: str | list[str] | None = None,
                 entity_spans=None, entity_spans_pair=None, entities=None, entities_pair=None,
                 **options) -> BatchEncoding:
        """Encode one text (or a batch, or pairs) and its entities; see the module docstring.

        The keyword ``options`` are transformers' (``padding``, ``truncation``,
        ``max_length``, ``return_tensors``...; see ``_options``). ``task`` defaults to the
        tokenizer's own (set by ``from_pretrained(..., task=...)``). ``return_tensors="np"``
        gives int64 arrays shaped (batch, words), (batch, entities) and (batch, entities,
        max_mention_length); ``None`` gives Python lists.
        """
        options = self._options(**options)
        _check_texts(text, "text")
        if text_pair is not None:
            _check_texts(text_pair, "text_pair")
        arguments = {"text_pair": text_pair, "entity_spans": entity_spans,
                     "entity_spans_pair": entity_spans_pair, "entities": entities,
                     "entities_pair": entities_pair}
        if isinstance(text, str):
            return self._call_one(text, arguments, options)
        return self._call_batch(text, arguments, options)

    def _options(
        self,
        *,
        task: str | None = "default",
        add_special_tokens: bool = True,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        max_entity_length: int | None = None,
        max_mention_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        truncation_side: str | None = None,
        add_prefix_space: bool | None = None,
        return_tensors: str | None = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        return_special_tokens_mask: bool = False,
        return_length: bool = False,
        verbose: bool = True,
        **unknown,
    ) -> _Options:
        """A call's keyword options, checked and resolved. ``padding_side`` /
        ``truncation_side`` default to the tokenizer's attributes. transformers' options
        that numpy_luke does not implement are refused when they would change the result
        (``_refuse_unimplemented``); keyword arguments numpy_luke does not know are ignored
        with a warning (transformers logs one)."""
        _refuse_unimplemented(unknown)
        if unknown:
            warnings.warn(f"LukeTokenizer ignores the keyword arguments {sorted(unknown)}: "
                          "numpy_luke does not implement them", UserWarning, stacklevel=3)
        task = self.task if task == "default" else task
        if task not in TASKS:
            raise ValueError(f"task {task!r} is not supported; choose one of {TASKS[1:]} or None")
        if padding_side is None:
            padding_side = self.padding_side
        if truncation_side is None:
            truncation_side = self.truncation_side
        if padding_side not in _SIDES or truncation_side not in _SIDES:
            _check_side(padding_side, "padding_side")
            _check_side(truncation_side, "truncation_side")
        if return_tensors not in (None, "np"):
            raise ValueError(
                f"return_tensors={return_tensors!r} is not supported: numpy_luke returns NumPy "
                "arrays (return_tensors='np') or Python lists (return_tensors=None)")
        if return_token_type_ids and not add_special_tokens:
            raise ValueError("return_token_type_ids=True needs add_special_tokens=True "
                             "(as in transformers, the token types are undefined without them)")
        lengths = dict(max_length=max_length, max_entity_length=max_entity_length,
                       max_mention_length=max_mention_length,
                       pad_to_multiple_of=pad_to_multiple_of)
        for name, value in lengths.items():  # 0 or -1 would silently mean "the default"
            if value is not None:
                positive_int(value, name)
        padding, truncation, max_length = self._strategies(padding, truncation, max_length)
        if padding != "do_not_pad" and truncation != "do_not_truncate" and pad_to_multiple_of \
                and max_length is not None and max_length % pad_to_multiple_of:
            raise ValueError(f"truncation and padding are both on, but max_length={max_length} "
                             f"is not a multiple of pad_to_multiple_of={pad_to_multiple_of}: "
                             "padding would make texts longer than max_length")
        options = _Options(
            task=task, add_special_tokens=add_special_tokens, truncation=truncation,
            max_length=max_length,
            max_entity_length=max_entity_length or max_entities(task, self._max_entity_length),
            max_mention_length=max_mention_length or self.max_mention_length,
            add_prefix_space=add_prefix_space,
            return_token_type_ids=bool(return_token_type_ids),
            verbose=bool(verbose), padding=padding,
            # "attention_mask" is in model_input_names
            return_attention_mask=True if return_attention_mask is None
            else bool(return_attention_mask),
            return_tensors=return_tensors,
            padding_side=padding_side, truncation_side=truncation_side,
            pad_to_multiple_of=pad_to_multiple_of,
            return_special_tokens_mask=bool(return_special_tokens_mask),
            return_length=bool(return_length),
        )
        return options

    def _call_one(self, text: str, arguments: dict, options: _Options) -> BatchEncoding:
        if arguments["text_pair"] is not None and not isinstance(arguments["text_pair"], str):
            raise ValueError("text is a single string, so text_pair must be one too")
        example = self._encode_example(text, options=options, **arguments)
        return self._finish_one(example, options, options.max_entity_length)

    def _finish_one(self, example: dict, options: _Options, max_entity_length,
                    batch_axis: bool = True) -> BatchEncoding:
        """Pad one example and shape the output (lists, or arrays with a batch axis unless
        ``batch_axis`` is False)."""
        if example["input_ids"]:
            encoded = self._pad([example], options.padding, options.max_length,
                                max_entity_length, options.padding_side,
                                options.pad_to_multiple_of, options.return_attention_mask,
                                options.max_mention_length)
        else:  # as transformers: no word tokens at all -> no padding, no entity mask
            encoded = {key: [value] for key, value in example.items()}
            if options.return_attention_mask:
                encoded["attention_mask"] = [[]]
        if options.return_length:  # one text: the length after padding, as transformers
            encoded["length"] = [len(encoded["input_ids"][0])]
        if options.return_tensors is None:
            return BatchEncoding({key: value[0] for key, value in encoded.items()})
        return _to_arrays(encoded, options.max_mention_length, batch_axis)

    def _call_batch(self, text: list[str], per_example: dict, options: _Options
                    ) -> BatchEncoding:
        batch = len(text)
        for name, value in per_example.items():
            if value is not None and (not isinstance(value, (list, tuple)) or
                                      len(value) != batch):
                raise ValueError(f"text is a batch of {batch} texts, so {name} must be a list "
                                 f"of {batch} items (one per text), got {short(value)}")
        examples = []
        for k in range(batch):
            item = {name: None if value is None else value[k]
                    for name, value in per_example.items()}
            # as transformers: in a batch, an empty list of entities means "none given"
            for name in ("entities", "entities_pair"):
                if not item[name]:
                    item[name] = None
            examples.append(self._encode_example(text[k], options=options, **item))
        return self._finish_batch(examples, options)

    def _finish_batch(self, examples: list[dict], options: _Options) -> BatchEncoding:
        # as transformers: a batch padded to max_length pads entities to the tokenizer's
        # max_entity_length, not to the max_entity_length of the call
        encoded = self._pad(examples, options.padding, options.max_length,
                            max_entities(options.task, self._max_entity_length),
                            options.padding_side, options.pad_to_multiple_of,
                            options.return_attention_mask, options.max_mention_length)
        if options.return_length:  # a batch: the lengths before padding, as transformers
            encoded["length"] = [len(e["input_ids"]) for e in examples]
        if options.return_tensors is None:
            return BatchEncoding(encoded)
        return _to_arrays(encoded, options.max_mention_length)

    # ----------------------------------------------------------------------------------
    # transformers' generic tokenizer methods (PreTrainedTokenizer's interface)

    def build_inputs_with_special_tokens(self, token_ids_0: list[int],
                                         token_ids_1: list[int] | None = None) -> list[int]:
        """``<s> A </s>`` or ``<s> A </s></s> B </s>``."""
        cls, sep = [self.cls_token_id], [self.sep_token_id]
        if token_ids_1 is None:
            return cls + list(token_ids_0) + sep
        return cls + list(token_ids_0) + sep + sep + list(token_ids_1) + sep

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
        if token_ids_1 is None:
            return [1] + [0] * len(token_ids_0) + [1]
        return [1] + [0] * len(token_ids_0) + [1, 1] + [0] * len(token_ids_1) + [1]

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

        def split(items, name):
            if items is None:
                return None, None
            if not isinstance(items, (list, tuple)):
                raise TypeError(f"{name} must be a list, got {short(items)}")
            if all(isinstance(x, tuple) for x in items) and items:
                return [x[0] for x in items], [x[1] for x in items]
            return list(items), None

        texts = list(batch_text_or_text_pairs) if isinstance(
            batch_text_or_text_pairs, (list, tuple)) else batch_text_or_text_pairs
        pairs = None
        if isinstance(texts, list) and texts and all(isinstance(x, (tuple, list)) for x in texts):
            texts, pairs = [x[0] for x in texts], [x[1] for x in texts]
        for name in ("entity_spans", "entity_spans_pair", "entities", "entities_pair"):
            if name in kwargs:
                raise TypeError(f"batch_encode_plus takes entity spans and titles as "
                                "batch_entity_spans_or_entity_spans_pairs and "
                                f"batch_entities_or_entities_pairs (as transformers), not {name}=")
        spans, spans_pair = split(batch_entity_spans_or_entity_spans_pairs,
                                  "batch_entity_spans_or_entity_spans_pairs")
        titles, titles_pair = split(batch_entities_or_entities_pairs,
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
        options = self._options(**kwargs)
        for name, value in (("ids", ids), ("pair_ids", pair_ids)):
            if value is not None and (not isinstance(value, (list, tuple))
                                      or not all(is_int(i) for i in value)):
                raise TypeError(f"{name} must be a list of token ids, got {short(value)}")
        if (entity_ids is None) != (entity_token_spans is None) or \
                (pair_entity_ids is None) != (pair_entity_token_spans is None):
            raise ValueError("give entity ids together with their token spans")
        first = Segment(list(ids))
        if entity_ids is not None:
            first = Segment(list(ids), list(entity_ids), [tuple(s) for s in entity_token_spans])
        second = None
        if pair_ids is not None:
            second = Segment(list(pair_ids))
            if pair_entity_ids is not None:
                second = Segment(list(pair_ids), list(pair_entity_ids),
                                 [tuple(s) for s in pair_entity_token_spans])
        example = self._prepare(first, second, options)
        return self._finish_one(example, options, options.max_entity_length,
                                prepend_batch_axis)

    def pad(self, encoded_inputs, padding: bool | str = True, max_length: int | None = None,
            max_entity_length: int | None = None, pad_to_multiple_of: int | None = None,
            padding_side: str | None = None, return_attention_mask: bool | None = None,
            return_tensors: str | None = None, verbose: bool = True) -> BatchEncoding:
        """Pad encodings made without padding: one (a dict of lists), a batch (a dict of
        lists of lists) or a list of them (dicts), as transformers' ``pad``. One encoding
        gives arrays without a batch axis with ``return_tensors="np"``, as transformers."""
        if isinstance(encoded_inputs, (list, tuple)):
            if not encoded_inputs or not all(isinstance(e, dict) for e in encoded_inputs):
                raise ValueError("pad() takes encodings: a dict of lists, or a list of them")
            examples, single = [dict(e) for e in encoded_inputs], False
        elif isinstance(encoded_inputs, dict) and "input_ids" in encoded_inputs:
            ids = encoded_inputs["input_ids"]
            if isinstance(ids, np.ndarray):
                ids = ids.tolist()
            single = not ids or not isinstance(ids[0], (list, tuple))
            items = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                     for k, v in encoded_inputs.items()}
            examples = [items] if single else [
                {k: v[b] for k, v in items.items()} for b in range(len(ids))]
        else:
            raise ValueError("pad() needs encodings with input_ids, got "
                             f"{short(encoded_inputs)}")
        if return_tensors not in (None, "np"):
            raise ValueError(f"return_tensors={return_tensors!r} is not supported: use 'np' "
                             "or None")
        for value, name in ((max_length, "max_length"), (max_entity_length, "max_entity_length"),
                            (pad_to_multiple_of, "pad_to_multiple_of")):
            if value is not None:
                positive_int(value, name)
        padding, _, max_length = self._strategies(padding, False, max_length)
        if padding == "max_length" and max_length is None:
            padding = "do_not_pad"
        side = _check_side(self.padding_side if padding_side is None else padding_side,
                           "padding_side")
        if max_entity_length is None and padding == "max_length":
            max_entity_length = self.max_entity_length
        batch = self._pad(examples, padding, max_length, max_entity_length, side,
                          pad_to_multiple_of,
                          True if return_attention_mask is None else bool(return_attention_mask),
                          self.max_mention_length)
        if return_tensors is None:
            return BatchEncoding({k: v[0] for k, v in batch.items()} if single else batch)
        return _to_arrays(batch, self.max_mention_length, batch_axis=not single)

    def add_tokens(self, new_tokens, special_tokens: bool = False) -> int:
        """Add tokens matched whole in the text (strings or AddedTokens); returns how many
        are new to the vocabulary. They are saved by ``save_pretrained``."""
        if isinstance(new_tokens, (str, AddedToken)) or hasattr(new_tokens, "content"):
            new_tokens = [new_tokens]
        added = 0
        for value in new_tokens:
            token = AddedToken.parse(value, "add_tokens")
            if isinstance(value, str):
                if value in self._added_ids:
                    continue
                token = AddedToken(value, special=special_tokens or value in
                                   self.all_special_tokens)
            elif special_tokens:
                token = dataclasses.replace(token, special=True)
            if not token.content:
                continue
            if token.content not in self._added_ids and token.content not in self.bpe.vocab:
                added += 1
            self._add_token(token, None, override_flags=True)
            if token.special and token.content not in self.all_special_tokens:
                self._additional.append(token.content)
        self._refresh()
        return added

    def add_special_tokens(self, special_tokens_dict: dict,
                           replace_additional_special_tokens: bool = True) -> int:
        """Set special tokens (``{"cls_token": "<s>", "additional_special_tokens": [...]}``)
        and add them to the vocabulary; returns how many are new to it."""
        to_add = []
        for key, value in special_tokens_dict.items():
            if key == "additional_special_tokens":
                if not isinstance(value, (list, tuple)):
                    raise ValueError("additional_special_tokens must be a list of tokens")
                contents = [AddedToken.parse(v, key).content for v in value]
                if replace_additional_special_tokens:
                    self._additional = list(dict.fromkeys(c for c in contents if c))
                else:
                    self._additional += [c for c in contents if c and c not in self._additional]
                to_add += list(value)
            elif key in self._special:
                self._special[key] = _as_special(AddedToken.parse(value, key))
                to_add.append(value)
            else:
                raise ValueError(f"{key!r} is not a special token name; use one of "
                                 f"{', '.join(self._special)} or additional_special_tokens")
        return self.add_tokens(to_add, special_tokens=True)

    def save_vocabulary(self, save_directory: str | os.PathLike,
                        filename_prefix: str | None = None) -> tuple[str, ...]:
        """Write vocab.json, merges.txt and entity_vocab.json (with ``filename_prefix-``)."""
        return tokenizer_files.save_vocabulary(self, save_directory, filename_prefix)

    def _strategies(self, padding, truncation, max_length):
        """Resolve padding / truncation / max_length exactly as transformers does."""
        if max_length is not None and padding is False and truncation is None:
            truncation = "longest_first"  # max_length alone switches truncation on
        try:
            padding = _PADDING[padding]
        except (KeyError, TypeError):
            raise ValueError(f"padding={padding!r}: use True/'longest', 'max_length' or "
                             "False/'do_not_pad'") from None
        try:
            truncation = _TRUNCATION[truncation]
        except (KeyError, TypeError):
            raise ValueError(f"truncation={truncation!r}: use True/'longest_first', "
                             "'only_first', 'only_second' or False/'do_not_truncate'") from None
        if max_length is None:
            no_limit = self.model_max_length > LARGE_INTEGER
            if padding == "max_length":
                if no_limit:
                    padding = "do_not_pad"
                else:
                    max_length = self.model_max_length
            if truncation != "do_not_truncate":
                if no_limit:
                    truncation = "do_not_truncate"
                else:
                    max_length = self.model_max_length
        return padding, truncation, max_length

    def _encode_example(self, text, text_pair, entity_spans, entity_spans_pair, entities,
                        entities_pair, options) -> dict:
        """One example: words (and entities) with special tokens, truncated, not padded."""
        first, second = self._segments(text, text_pair, entity_spans, entity_spans_pair,
                                       entities, entities_pair, options)
        example = self._prepare(first, second, options)
        self._warn_if_too_long(example["input_ids"], options)
        return example

    def _warn_if_too_long(self, input_ids: list[int], options: _Options) -> None:
        """Once per tokenizer, as transformers: an untruncated text longer than the model
        reads (``model_max_length``) is encoded, with a warning; the model will refuse it."""
        if (options.verbose and options.max_length is None and not self._warned_too_long
                and len(input_ids) > self.model_max_length > 0):
            logger.warning(
                "a text has %d tokens, more than this model reads (model_max_length=%d); the "
                "model will refuse it: pass truncation=True to cut it", len(input_ids),
                self.model_max_length)
            self._warned_too_long = True

    def _segments(self, text, text_pair, entity_spans, entity_spans_pair, entities,
                  entities_pair, options) -> tuple[Segment, Segment | None]:
        """Check the entity arguments, then run the core: one ``Segment`` per text."""
        task = options.task

        # the word path: added tokens, then the core BPE
        prefix = self.add_prefix_space if options.add_prefix_space is None \
            else options.add_prefix_space
        to_ids = self.words.encode if not prefix else \
            lambda piece: self.words.encode(self._with_prefix_space(piece, True))

        if task is None:
            # transformers ignores titles without spans; we say so rather than drop them
            if entities is not None and entity_spans is None:
                raise ValueError("entities were given without entity_spans; say where each "
                                 "entity is mentioned with entity_spans=[(start, end), ...]")
            if entities_pair is not None and entity_spans_pair is None:
                raise ValueError("entities_pair was given without entity_spans_pair; say where "
                                 "each entity is mentioned with entity_spans_pair")
            first = self._plain_segment(text, entity_spans, entities, "entity_spans",
                                        "entities", to_ids)
            second = None if text_pair is None else self._plain_segment(
                text_pair, entity_spans_pair, entities_pair, "entity_spans_pair",
                "entities_pair", to_ids)
            return first, second

        # The tasks read one text; as transformers, text_pair, entities and the *_pair
        # arguments are ignored.
        if not isinstance(entity_spans, list) or not spans_fit_task(task, len(entity_spans)):
            fewest, most, wanted = TASK_SPANS[task]
            count = f"exactly {most}" if most == fewest else f"at least {fewest}"
            raise ValueError(f"task={task!r} needs entity_spans as a list of {count} (start, "
                             f"end) character span(s) ({wanted}); got {short(entity_spans)}")
        spans = check_spans(text, entity_spans, name="entity_spans", mention=False)
        markers = (self._token_to_id(self.entity_token_1), self._token_to_id(self.entity_token_2))
        masks = (self.entity_mask_token_id, self.entity_mask2_token_id)
        return entity_inputs.task_segment(task, text, spans, to_ids, markers, masks), None

    def _plain_segment(self, text, entity_spans, entities, spans_name, entities_name, to_ids
                       ) -> Segment:
        """Task-free: words only, or entities with ids from titles (or [MASK])."""
        if entity_spans is None:
            return Segment(to_ids(text))
        if not isinstance(entity_spans, list):
            raise TypeError(f"{spans_name} must be a list of (start, end) character "
                                 f"spans, got {short(entity_spans)}")
        spans = check_spans(text, entity_spans, name=spans_name, mention=False)
        if entities is None:
            entity_ids = [self.entity_mask_token_id] * len(spans)
        else:
            if not isinstance(entities, list) or not all(isinstance(e, str) for e in entities):
                raise ValueError(f"{entities_name} must be a list of entity titles (strings), "
                                 f"got {short(entities)}")
            if len(entities) != len(spans):
                raise ValueError(f"{entities_name} has {len(entities)} titles but {spans_name} "
                                 f"has {len(spans)} spans; give one title per span")
            entity_ids = [self._entity_vocab.title_to_id(title) for title in entities]
        return entity_inputs.entity_segment(text, spans, entity_ids, to_ids)

    def _prepare(self, first: Segment, second: Segment | None, options) -> dict:
        """Truncate, add special tokens, and build the entity rows of one example."""
        words, pair_words = first.word_ids, None if second is None else second.word_ids
        pair = pair_words is not None
        n_special = (4 if pair else 2) if options.add_special_tokens else 0
        total = len(words) + (len(pair_words) if pair else 0) + n_special
        cut = (0, 0)  # word tokens truncated from the start of each text
        if options.truncation != "do_not_truncate" and options.max_length and \
                total > options.max_length:
            words, pair_words = _truncate(words, pair_words, total - options.max_length,
                                          options.truncation, "word tokens",
                                          options.truncation_side)
            if options.truncation_side == "left":
                cut = (len(first.word_ids) - len(words),
                       len(second.word_ids) - len(pair_words) if pair else 0)
        if options.add_special_tokens:
            cls, sep = self._cls_sep
            input_ids = [cls, *words, sep] + ([sep, *pair_words, sep] if pair else [])
            offsets = 1, len(words) + 3  # <s> A </s></s> B </s>
        else:
            input_ids = words + (pair_words if pair else [])
            offsets = 0, len(words)
        out = {"input_ids": input_ids}
        if options.return_token_type_ids:
            out["token_type_ids"] = [0] * len(input_ids)  # LUKE, as RoBERTa, uses none
        if options.return_special_tokens_mask:
            out["special_tokens_mask"] = self.get_special_tokens_mask(words, pair_words) \
                if options.add_special_tokens else [0] * len(input_ids)
        if first.entity_ids is not None:
            out.update(self._entity_rows(first, second, len(words), pair_words, offsets, cut,
                                         options))
        return out

    def _entity_rows(self, first: Segment, second: Segment | None, n_words: int, pair_words,
                     offsets: tuple[int, int], cut: tuple[int, int], options) -> dict:
        """The entities of one example, after word truncation: ids and position rows.
        ``cut``: the word tokens truncated from the start of each text (truncation_side
        "left"); the positions are counted after them, so they point at the same tokens."""
        # Entities whose mention was truncated away are dropped ...
        kept = _kept_entities(first, cut[0], n_words)
        pair_kept, dropped = None, len(first.entity_ids) - len(kept)
        if second is not None and second.entity_ids is not None:
            pair_kept = _kept_entities(second, cut[1], len(pair_words))
            dropped += len(second.entity_ids) - len(pair_kept)
        if dropped:
            logger.warning("%d entities are ignored because truncation removed their mentions",
                           dropped)
        # ... then the entity sequence itself is truncated like the words.
        n_entities = len(kept) + (len(pair_kept) if pair_kept is not None else 0)
        if options.truncation != "do_not_truncate" and n_entities > options.max_entity_length:
            kept, pair_kept = _truncate(kept, pair_kept, n_entities - options.max_entity_length,
                                        options.truncation, "entities", options.truncation_side)
        entries = [(i, span, offsets[0]) for i, span in kept]
        entries += [(i, span, offsets[1]) for i, span in pair_kept or []]
        out = {"entity_ids": [i for i, _, _ in entries],
               "entity_position_ids": [entity_inputs.position_row(span, offset,
                                                                  options.max_mention_length)
                                       for _, span, offset in entries]}
        if options.task == "entity_span_classification":
            out["entity_start_positions"] = [span[0] + offset for _, span, offset in entries]
            out["entity_end_positions"] = [span[1] + offset - 1 for _, span, offset in entries]
        if options.return_token_type_ids:
            out["entity_token_type_ids"] = [0] * len(entries)
        return out

    def _pad(self, examples: list[dict], padding: str, max_length, max_entity_length,
             side: str, multiple: int | None, return_attention_mask: bool, mention: int
             ) -> dict[str, list]:
        """Stack examples into lists per key, padding on ``side`` when asked.

        Left padding moves every word right. The indices that gather word states
        (``entity_start_positions``/``entity_end_positions``, read by span classification)
        move with them, so they keep pointing at their mention's tokens (transformers 4.57
        leaves them unshifted). ``entity_position_ids`` do not move: they index the
        position embeddings, and the words' own position ids skip padding, so the entity
        keeps the position vectors of its mention's words.
        """
        has_entities = ["entity_ids" in e for e in examples]
        if any(has_entities) and not all(has_entities):
            raise ValueError("either every text of a batch has entity_spans or none has")
        entities = bool(examples) and has_entities[0]
        if padding == "longest":
            max_length = max((len(e["input_ids"]) for e in examples), default=0)
            if entities:
                max_entity_length = max(len(e["entity_ids"]) for e in examples)
        pad = padding != "do_not_pad"
        if pad and entities and max_entity_length is None:
            max_entity_length = max(len(e["entity_ids"]) for e in examples)
        if pad and multiple:
            max_length = -(-max_length // multiple) * multiple
            if entities:
                max_entity_length = -(-max_entity_length // multiple) * multiple
        left = side == "left"

        def extend(values: list, fill, n: int) -> list:
            if not n:
                return values
            return [fill] * n + values if left else values + [fill] * n

        batch: dict[str, list] = {}
        for example in examples:
            words = len(example["input_ids"])
            n_pad = max(0, max_length - words) if pad else 0
            padded = dict(example)
            if n_pad:
                for key, fill in _WORD_FILL.items():
                    if key in padded:
                        padded[key] = extend(padded[key], self.pad_token_id if fill is None
                                             else fill, n_pad)
            if return_attention_mask and "attention_mask" not in example:
                padded["attention_mask"] = extend([1] * words, 0, n_pad)
            if entities:
                n = len(example["entity_ids"])
                e_pad = max(0, max_entity_length - n) if pad else 0
                shift = n_pad if left else 0
                if e_pad or shift:
                    for key, fill in _ENTITY_FILL.items():
                        if key not in padded:
                            continue
                        value = padded[key]
                        if key == "entity_position_ids":  # never shifted: see above
                            fill = [-1] * (len(value[0]) if value else mention)
                        elif key == "entity_ids":
                            fill = self.entity_pad_token_id
                        elif shift and key in ("entity_start_positions", "entity_end_positions"):
                            value = [p + shift for p in value]
                        padded[key] = extend(value, fill, e_pad)
                if return_attention_mask and "entity_attention_mask" not in example:
                    padded["entity_attention_mask"] = extend([1] * n, 0, e_pad)
            for key, value in padded.items():
                batch.setdefault(key, []).append(value)
        return batch


# The settings ``from_pretrained`` takes as keywords: the constructor's, less the files it
# finds itself and the added tokens it reads from them.
_SETTINGS = tuple(
    name for name, parameter in inspect.signature(LukeTokenizer.__init__).parameters.items()
    if parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and name not in (
        "self", "vocab_file", "merges_file", "entity_vocab_file", "added_tokens",
        "added_tokens_decoder"))


# How each key is padded: word keys (input_ids with the pad token's id), entity keys
# (entity_ids with [PAD]'s id, entity_position_ids with rows of -1).
_WORD_FILL = {"input_ids": None, "token_type_ids": 0, "attention_mask": 0,
              "special_tokens_mask": 1}
_ENTITY_FILL = {"entity_ids": None, "entity_position_ids": None, "entity_attention_mask": 0,
                "entity_token_type_ids": 0, "entity_start_positions": 0,
                "entity_end_positions": 0}


def _kept_entities(segment: Segment, cut: int, n_words: int) -> list[tuple[int, tuple]]:
    """(id, token span) of the entities whose mention survived truncation; ``cut`` tokens
    were removed from the start (their spans move left), and ``n_words`` are left."""
    if not cut:
        return [(i, s) for i, s in zip(segment.entity_ids, segment.token_spans, strict=True)
                if s[1] <= n_words]
    return [(i, (s[0] - cut, s[1] - cut))
            for i, s in zip(segment.entity_ids, segment.token_spans, strict=True)
            if s[0] >= cut and s[1] - cut <= n_words]


@dataclass(slots=True)  # not frozen: a frozen dataclass costs ~1 us per call to build
class _Options:
    """The settings of one ``__call__``, resolved."""

    task: str | None
    add_special_tokens: bool
    truncation: str
    max_length: int | None
    max_entity_length: int
    max_mention_length: int
    add_prefix_space: bool | None
    return_token_type_ids: bool
    verbose: bool
    padding: str
    return_attention_mask: bool
    return_tensors: str | None
    padding_side: str = "right"
    truncation_side: str = "right"
    pad_to_multiple_of: int | None = None
    return_special_tokens_mask: bool = False
    return_length: bool = False


def _truncate(first: list, second: list | None, remove: int, strategy: str, what: str,
              side: str = "right"):
    """Remove ``remove`` items from the end of ``first`` / ``second`` (transformers' rules),
    or from their start when ``side`` is "left".

    longest_first: from the longer of the two (alternating once they are equally long);
    only_first / only_second: from that one only. When the chosen sequence is too short,
    nothing is removed (transformers logs an error and carries on; so do we).
    """

    def cut(items: list, n: int) -> list:
        if n <= 0:
            return items
        return items[n:] if side == "left" else items[:-n]

    if strategy == "only_first" or (strategy == "longest_first" and second is None):
        if len(first) > remove:
            return cut(first, remove), second
        logger.error("cannot truncate: %d %s to remove but the first sequence has %d",
                     remove, what, len(first))
        return first, second
    if strategy == "only_second":
        if second is not None and len(second) > remove:
            return first, cut(second, remove)
        if second is not None:
            logger.error("cannot truncate: %d %s to remove but the second sequence has %d",
                         remove, what, len(second))
        return first, second
    # longest_first with a pair: first even out the lengths, then alternate
    difference = min(abs(len(first) - len(second)), remove)
    rest = remove - difference
    if len(first) > len(second):
        cut_first, cut_second = difference + rest // 2, rest - rest // 2
    else:
        cut_first, cut_second = rest // 2, difference + rest - rest // 2
    return cut(first, cut_first), cut(second, cut_second)


def _to_arrays(encoded: dict[str, list], mention: int, batch_axis: bool = True
               ) -> BatchEncoding:
    """Lists of equal length -> int64 arrays, with the batch axis first (of one example,
    dropped when ``batch_axis`` is False)."""
    arrays = {}
    for key, value in encoded.items():
        if key == "length":  # one int per example
            arrays[key] = np.array(value, dtype=np.int64)
            continue
        lengths = {len(row) for row in value}
        if len(lengths) > 1:
            raise ValueError(
                f"cannot make an array of {key}: the examples have {sorted(lengths)} items; "
                "pass padding=True (or padding='max_length') to make them equally long")
        array = np.array(value, dtype=np.int64)
        if key == "entity_position_ids" and array.ndim == 2:  # no entities at all
            array = array.reshape(len(value), 0, mention)
        arrays[key] = array
    if not batch_axis:
        arrays = {key: np.asarray(array[0]) for key, array in arrays.items()}
    return BatchEncoding(arrays)


def clean_up_tokenization(text: str) -> str:
    """transformers' clean-up of English tokenisation spaces (" ." -> ".", " n't" -> ...)."""
    for before, after in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
                          (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"),
                          (" 're", "'re")):
        text = text.replace(before, after)
    return text


def _check_texts(text, name: str) -> None:
    """One text, or a batch of them (a list or tuple of texts)."""
    if isinstance(text, (list, tuple)):
        for k, one in enumerate(text):
            check_text(one, f"{name}[{k}]")
    else:
        check_text(text, name)

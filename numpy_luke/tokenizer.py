"""LukeTokenizer: text and entity spans -> the arrays LUKE reads.

LUKE reads two sequences side by side: word tokens (RoBERTa's byte-level BPE, ``bpe.py``)
and entities (whole Wikipedia titles, ``entity_vocab.py``). The user marks where entities
are with character spans; this module turns them into entity inputs.

From character spans to entity inputs
-------------------------------------
Take "Top seed Ana Ivanovic said ..." with the span (9, 21) = "Ana Ivanovic".

1. Cut the text at every span boundary (all starts and ends, sorted). When the character
   just before a boundary is a space, cut before that space instead: BPE writes a word
   together with the space in front of it ("ĠAna"), so the space belongs to the mention.
   "Top seed| Ana Ivanovic| said ..."
2. Tokenise each piece on its own and concatenate. A boundary's token position is the
   number of tokens before it, so the span covers whole tokens: with RoBERTa's vocabulary
   [ĠAna, ĠIvan, ovic] are tokens 2..4. (Cutting can change the tokens of a word a span
   starts or ends inside.)
3. Add the special tokens: ``<s> A </s>`` for one text, ``<s> A </s></s> B </s>`` for a pair.
   Every position moves right by 1 (by len(A) + 3 in the second text).
4. Each entity becomes:
   ``entity_ids``             its id in the entity vocabulary ([UNK] when the title is not
                              there, [MASK] when no title is given);
   ``entity_position_ids``    the positions of its word tokens, cut to
                              ``max_mention_length`` and padded with -1: [3, 4, 5, -1, ...];
   ``entity_attention_mask``  1 (0 for padding entities).

Tasks change step 2-4 for the fine-tuned heads:

* ``entity_classification`` (one span): ``<ent>`` is inserted before and after the mention,
  and the entity (id [MASK]) covers the markers too.
* ``entity_pair_classification`` (two spans, head then tail): ``<ent>`` around the head,
  ``<ent2>`` around the tail; entity ids [MASK] and [MASK2].
* ``entity_span_classification`` (any number of candidate spans): no markers; every span is a
  [MASK] entity, and ``entity_start_positions`` / ``entity_end_positions`` give its first and
  last word token.

Truncation (``truncation=True`` with ``max_length``) cuts word tokens from the end; an entity
whose mention was cut away is dropped, and then entities beyond ``max_entity_length`` are
cut too. Padding appends ``<pad>`` words and [PAD] entities (position row all -1).

Everything follows transformers 4.57's pure-Python ``LukeTokenizer``, argument for argument,
including its quirks (noted where they occur), so the published models see exactly the
inputs transformers gives them. (The models themselves were trained and evaluated with
studio-ousia/luke's own preprocessing; ``LukeTokenizer`` came later and reproduces it
closely, not exactly.)
"""

from __future__ import annotations

import codecs
import json
import logging
import math
import numbers
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import regex

from .bpe import ByteLevelBPE, chars_to_bytes, pretokenize, read_merges, read_vocab
from .entity_vocab import EntityVocab
from .errors import InputError, TokenizerFileError
from .hub import resolve_file

logger = logging.getLogger(__name__)

TASKS = (None, "entity_classification", "entity_pair_classification", "entity_span_classification")
# transformers' stand-in for "no maximum length"
VERY_LARGE_INTEGER = int(1e30)
LARGE_INTEGER = int(1e20)
# A tokenizer file asking for more entities per text or tokens per mention than this is
# taken as broken: padding allocates max_entity_length x max_mention_length per text.
MAX_FILE_LENGTH = 4096
# UTF-16 surrogate code points: a str may hold them alone, but they have no UTF-8 encoding.
LONE_SURROGATE = regex.compile("[\ud800-\udfff]")

_PADDING = {False: "do_not_pad", "do_not_pad": "do_not_pad", True: "longest",
            "longest": "longest", "max_length": "max_length"}
_TRUNCATION = {None: "do_not_truncate", False: "do_not_truncate",
               "do_not_truncate": "do_not_truncate", True: "longest_first",
               "longest_first": "longest_first", "only_first": "only_first",
               "only_second": "only_second"}


@dataclass(frozen=True)
class AddedToken:
    """A token matched whole in the text before BPE runs (``<s>``, ``<mask>``, ``<ent>``...).

    ``lstrip``: the token swallows the white space on its left (``<mask>`` does, so that
    "a <mask>" reads like "a" + " word"); ``rstrip``: the same on its right.
    """

    content: str
    lstrip: bool = False
    rstrip: bool = False
    single_word: bool = False
    normalized: bool = True
    special: bool = True

    @classmethod
    def parse(cls, value, name: str) -> AddedToken:
        """A config value: "<mask>" or {"content": "<mask>", "lstrip": true, "__type": ...}."""
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, dict) and isinstance(value.get("content"), str):
            flags = {key: bool(value[key]) for key in
                     ("lstrip", "rstrip", "single_word", "normalized", "special") if key in value}
            return cls(value["content"], **flags)
        raise TokenizerFileError(f"{name}: a token must be a string or an AddedToken "
                                 f"object with a string 'content', got {value!r}")

    def to_json(self) -> dict:
        return {**asdict(self), "__type": "AddedToken"}


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


class LukeTokenizer:
    """LUKE's tokenizer: byte-level BPE for words plus an entity vocabulary.

    Load one with ``LukeTokenizer.from_pretrained(folder_or_repo_id)``; call it like
    transformers' ``LukeTokenizer``::

        enc = tokenizer("Beyoncé lives in Los Angeles.", entity_spans=[(0, 7), (17, 28)],
                        return_tensors="np")
    """

    model_input_names = ["input_ids", "attention_mask"]
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
        mask_token=AddedToken("<mask>", lstrip=True),
        add_prefix_space: bool = False,
        model_max_length: int = VERY_LARGE_INTEGER,
        clean_up_tokenization_spaces: bool = False,
        additional_special_tokens=(),
        added_tokens: dict[str, int] | None = None,
        added_tokens_decoder: dict | None = None,
        **unused_config,
    ):
        if task not in TASKS:
            raise ValueError(f"task {task!r} is not supported; choose one of {TASKS[1:]} or None")
        self.bpe = ByteLevelBPE(read_vocab(vocab_file), read_merges(merges_file))
        self._entity_vocab = EntityVocab.from_file(entity_vocab_file)
        self.task = task
        self._max_entity_length = _positive_int(max_entity_length, "max_entity_length")
        self.max_mention_length = _positive_int(max_mention_length, "max_mention_length")
        self.errors = errors
        self.add_prefix_space = bool(add_prefix_space)
        self.model_max_length = int(model_max_length)
        self.clean_up_tokenization_spaces = bool(clean_up_tokenization_spaces)

        # The special tokens, by transformers' attribute names.
        roles = dict(bos_token=bos_token, eos_token=eos_token, unk_token=unk_token,
                     sep_token=sep_token, pad_token=pad_token, cls_token=cls_token,
                     mask_token=mask_token)
        self._special = {role: AddedToken.parse(value, role) for role, value in roles.items()}
        entity_tokens = [AddedToken.parse(entity_token_1, "entity_token_1"),
                         AddedToken.parse(entity_token_2, "entity_token_2")]
        self.entity_token_1, self.entity_token_2 = (t.content for t in entity_tokens)
        additional = [AddedToken.parse(t, "additional_special_tokens")
                      for t in additional_special_tokens or ()]
        additional += entity_tokens
        self._additional = list(dict.fromkeys(t.content for t in additional))

        # Added tokens: content -> id and content -> AddedToken (its strip flags).
        # Ids come from vocab.json, else added_tokens.json / added_tokens_decoder, else the
        # next free id.
        self._added_ids: dict[str, int] = {}
        self._added: dict[str, AddedToken] = {}
        for content, i in (added_tokens or {}).items():
            self._add_token(AddedToken(content, special=False), i)
        for i, value in (added_tokens_decoder or {}).items():
            token = AddedToken.parse(value, "added_tokens_decoder")
            self._add_token(token, _int_id(i, "added_tokens_decoder"))
        for token in [*self._special.values(), *additional]:
            self._add_token(token, None, override_flags=True)
        _check_added_ids(self._added_ids, self.bpe.ids_to_tokens)
        self._ids_to_added = {i: content for content, i in self._added_ids.items()}
        self._added_pattern = regex.compile(
            "(" + "|".join(regex.escape(content) for content in
                           sorted(self._added_ids, key=len, reverse=True)) + ")"
        )
        self._word_cache: dict[str, tuple[int, ...]] = {}  # pre-tokenised piece -> ids
        self._warned_too_long = False  # the too-long warning is given once, as transformers

    def _add_token(self, token: AddedToken, i: int | None, override_flags: bool = False):
        if token.content in self._added_ids and not override_flags:
            return
        if i is None:
            i = self._added_ids.get(token.content, self.bpe.vocab.get(token.content))
        if i is None:
            i = max([len(self.bpe.vocab) - 1, *self._added_ids.values()]) + 1
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
        **overrides,
    ) -> LukeTokenizer:
        """Load from a folder or a Hub repository: vocab.json, merges.txt, entity_vocab.json
        and, where present, tokenizer_config.json, special_tokens_map.json,
        added_tokens.json. Keyword ``overrides`` win over the files' settings."""

        def resolve(filename, required=True):
            return resolve_file(pretrained_model_name_or_path, filename, revision=revision,
                                local_files_only=local_files_only, cache_dir=cache_dir,
                                required=required)

        files = {name: resolve(name) for name in ("vocab.json", "merges.txt",
                                                  "entity_vocab.json")}
        config = _read_json_object(resolve("tokenizer_config.json", required=False))
        special_map = _read_json_object(resolve("special_tokens_map.json", required=False))
        _check_file_settings(config, "tokenizer_config.json")
        _check_file_settings(special_map, "special_tokens_map.json")
        added_tokens = _read_json_object(resolve("added_tokens.json", required=False))
        for name, i in added_tokens.items():
            if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < 2**63:
                raise TokenizerFileError(f"added_tokens.json: the id of {name!r} is {i!r}, "
                                         "not an int >= 0 and < 2**63")

        settings = dict(config)
        if "added_tokens_decoder" not in config:
            # as transformers: without the newer `added_tokens_decoder`, the special tokens
            # map overrides the config
            for key, value in special_map.items():
                if key == "additional_special_tokens":
                    merged = list(settings.get(key) or [])
                    merged += [v for v in value or [] if v not in merged]
                    value = merged
                settings[key] = value
        if task is not None:
            settings["task"] = task
        settings.update(overrides)
        for key in ("vocab_file", "merges_file", "entity_vocab_file", "added_tokens"):
            settings.pop(key, None)
        return cls(files["vocab.json"], files["merges.txt"], files["entity_vocab.json"],
                   added_tokens=added_tokens, **settings)

    def save_pretrained(self, save_directory: str | os.PathLike) -> tuple[str, ...]:
        """Write the files ``from_pretrained`` reads (transformers' layout)."""
        folder = Path(save_directory)
        folder.mkdir(parents=True, exist_ok=True)

        def write_json(name, obj, **options):
            path = folder / name
            path.write_text(json.dumps(obj, ensure_ascii=False, **options) + "\n",
                            encoding="utf-8")
            return str(path)

        def token_value(token: AddedToken):
            plain = AddedToken(token.content, special=token.special)
            return token.content if token == plain else token.to_json()

        special = {role: token_value(token) for role, token in self._special.items()}
        config = {
            **special,
            "add_prefix_space": self.add_prefix_space, "errors": self.errors, "task": self.task,
            "max_entity_length": self._max_entity_length,
            "max_mention_length": self.max_mention_length,
            "entity_token_1": token_value(self._added[self.entity_token_1]),
            "entity_token_2": token_value(self._added[self.entity_token_2]),
            "model_max_length": self.model_max_length,
            "clean_up_tokenization_spaces": self.clean_up_tokenization_spaces,
            "tokenizer_class": "LukeTokenizer",
        }
        special_map = {**special, "additional_special_tokens": list(self._additional)}
        beyond_vocab = {c: i for c, i in self._added_ids.items() if c not in self.bpe.vocab}
        merges = sorted(self.bpe.merge_ranks, key=self.bpe.merge_ranks.get)
        merges_path = folder / "merges.txt"
        merges_path.write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges),
                               encoding="utf-8")
        return (
            write_json("vocab.json", self.bpe.vocab, indent=2, sort_keys=True),
            str(merges_path),
            self._entity_vocab.save(folder / "entity_vocab.json"),
            write_json("tokenizer_config.json", config, indent=2),
            write_json("special_tokens_map.json", special_map, indent=2),
            write_json("added_tokens.json", beyond_vocab),
        )

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
    def max_entity_length(self) -> int:
        return self._default_max_entity_length(self.task)

    def _default_max_entity_length(self, task: str | None) -> int:
        # the tasks fix the number of entities: one, or a head and a tail
        return {"entity_classification": 1, "entity_pair_classification": 2}.get(
            task, self._max_entity_length)

    bos_token = property(lambda self: self._special["bos_token"].content)
    eos_token = property(lambda self: self._special["eos_token"].content)
    unk_token = property(lambda self: self._special["unk_token"].content)
    sep_token = property(lambda self: self._special["sep_token"].content)
    pad_token = property(lambda self: self._special["pad_token"].content)
    cls_token = property(lambda self: self._special["cls_token"].content)
    mask_token = property(lambda self: self._special["mask_token"].content)
    bos_token_id = property(lambda self: self._added_ids[self.bos_token])
    eos_token_id = property(lambda self: self._added_ids[self.eos_token])
    unk_token_id = property(lambda self: self._added_ids[self.unk_token])
    sep_token_id = property(lambda self: self._added_ids[self.sep_token])
    pad_token_id = property(lambda self: self._added_ids[self.pad_token])
    cls_token_id = property(lambda self: self._added_ids[self.cls_token])
    mask_token_id = property(lambda self: self._added_ids[self.mask_token])

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
        return [self._added_ids[t] for t in self._additional]

    @property
    def all_special_tokens(self) -> list[str]:
        tokens = [self._special[role].content for role in
                  ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
                   "cls_token", "mask_token")]
        return list(dict.fromkeys(tokens + self._additional))

    @property
    def all_special_ids(self) -> list[int]:
        return [self._added_ids[t] for t in self.all_special_tokens]

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
        _check_text(text, "text")
        tokens: list[str] = []
        for piece, is_added in self._split_added_tokens(text, add_prefix_space):
            tokens.extend([piece] if is_added else self.bpe.tokenize(piece))
        return tokens

    def _split_added_tokens(self, text: str, add_prefix_space: bool | None):
        """Cut ``text`` around added tokens: [(piece, is_added_token), ...].

        An added token with ``lstrip`` removes the white space before it (from the piece
        on its left), one with ``rstrip`` the white space after it.
        """
        if add_prefix_space is None:
            add_prefix_space = self.add_prefix_space
        if add_prefix_space and text and not text[0].isspace():
            text = " " + text
        parts = self._added_pattern.split(text)  # text, token, text, token, ..., text
        if len(parts) == 1:
            return [(text, False)] if text else []
        for k in range(1, len(parts), 2):
            token = self._added[parts[k]]
            if token.rstrip and parts[k + 1]:
                parts[k + 1] = parts[k + 1].lstrip()
            if token.lstrip and parts[k - 1]:
                parts[k - 1] = parts[k - 1].rstrip()
        return [(part, k % 2 == 1) for k, part in enumerate(parts) if part]

    def _text_to_ids(self, text: str, add_prefix_space: bool | None) -> list[int]:
        """Text -> token ids; the hot path of ``__call__``, cached per pre-tokenised piece."""
        ids: list[int] = []
        cache, byte_encoder = self._word_cache, self.bpe.byte_encoder
        for piece, is_added in self._split_added_tokens(text, add_prefix_space):
            if is_added:
                ids.append(self._added_ids[piece])
                continue
            for word in pretokenize(piece):
                word_ids = cache.get(word)
                if word_ids is None:
                    as_chars = "".join([byte_encoder[b] for b in word.encode("utf-8")])
                    word_ids = tuple(map(self._token_to_id, self.bpe.bpe(as_chars)))
                    cache[word] = word_ids
                ids.extend(word_ids)
        return ids

    def encode(self, text: str, text_pair: str | None = None, add_special_tokens: bool = True,
               **kwargs) -> list[int]:
        """Just the ``input_ids`` of ``self(text, text_pair, ...)``."""
        return self(text, text_pair, add_special_tokens=add_special_tokens,
                    **kwargs)["input_ids"]

    # ----------------------------------------------------------------------------------
    # Ids -> text

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        data = chars_to_bytes("".join(tokens), self.bpe.byte_decoder)
        return data.decode("utf-8", errors=self.errors)

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

    def __call__(
        self,
        text: str | list[str],
        text_pair: str | list[str] | None = None,
        entity_spans=None,
        entity_spans_pair=None,
        entities=None,
        entities_pair=None,
        *,
        task: str | None = "default",
        add_special_tokens: bool = True,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        max_entity_length: int | None = None,
        max_mention_length: int | None = None,
        add_prefix_space: bool | None = None,
        return_tensors: str | None = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        verbose: bool = True,
    ) -> BatchEncoding:
        """Encode one text (or a batch, or pairs) and its entities; see the module docstring.

        ``task`` defaults to the tokenizer's own (set by ``from_pretrained(..., task=...)``).
        ``return_tensors="np"`` gives int64 arrays shaped (batch, words), (batch, entities)
        and (batch, entities, max_mention_length); ``None`` gives Python lists.
        """
        task = self.task if task == "default" else task
        if task not in TASKS:
            raise ValueError(f"task {task!r} is not supported; choose one of {TASKS[1:]} or None")
        if return_tensors not in (None, "np"):
            raise ValueError(
                f"return_tensors={return_tensors!r} is not supported: numpy_luke returns NumPy "
                "arrays (return_tensors='np') or Python lists (return_tensors=None)")
        if return_token_type_ids and not add_special_tokens:
            raise ValueError("return_token_type_ids=True needs add_special_tokens=True "
                             "(as in transformers, the token types are undefined without them)")
        lengths = dict(max_length=max_length, max_entity_length=max_entity_length,
                       max_mention_length=max_mention_length)
        for name, value in lengths.items():  # 0 or -1 would silently mean "the default"
            if value is not None:
                _positive_int(value, name)
        padding, truncation, max_length = self._strategies(padding, truncation, max_length)
        options = _Options(
            task=task, add_special_tokens=add_special_tokens, truncation=truncation,
            max_length=max_length,
            max_entity_length=max_entity_length or self._default_max_entity_length(task),
            max_mention_length=max_mention_length or self.max_mention_length,
            add_prefix_space=add_prefix_space,
            return_token_type_ids=bool(return_token_type_ids),
            verbose=bool(verbose),
        )
        if return_attention_mask is None:
            return_attention_mask = True  # "attention_mask" is in model_input_names

        _check_text(text, "text")
        if text_pair is not None:
            _check_text(text_pair, "text_pair")
        if isinstance(text, str):
            if text_pair is not None and not isinstance(text_pair, str):
                raise ValueError("text is a single string, so text_pair must be one too")
            example = self._encode_example(text, text_pair, entity_spans, entity_spans_pair,
                                           entities, entities_pair, options)
            if example["input_ids"]:
                encoded = self._pad([example], padding, max_length, options.max_entity_length,
                                    options, return_attention_mask)
            else:  # as transformers: no word tokens at all -> no padding, no entity mask
                encoded = {key: [value] for key, value in example.items()}
                if return_attention_mask:
                    encoded["attention_mask"] = [[]]
            if return_tensors is None:
                return BatchEncoding({key: value[0] for key, value in encoded.items()})
            return _to_arrays(encoded, options.max_mention_length)

        batch = len(text)
        per_example = {"text_pair": text_pair, "entity_spans": entity_spans,
                       "entity_spans_pair": entity_spans_pair, "entities": entities,
                       "entities_pair": entities_pair}
        for name, value in per_example.items():
            if value is not None and (not isinstance(value, (list, tuple)) or
                                      len(value) != batch):
                raise ValueError(f"text is a batch of {batch} texts, so {name} must be a list "
                                 f"of {batch} items (one per text), got {_short(value)}")
        examples = []
        for k in range(batch):
            item = {name: None if value is None else value[k]
                    for name, value in per_example.items()}
            # as transformers: in a batch, an empty list of entities means "none given"
            for name in ("entities", "entities_pair"):
                if not item[name]:
                    item[name] = None
            examples.append(self._encode_example(text[k], options=options, **item))
        # as transformers: a batch padded to max_length pads entities to the tokenizer's
        # max_entity_length, not to the max_entity_length of the call
        encoded = self._pad(examples, padding, max_length, self._default_max_entity_length(task),
                            options, return_attention_mask)
        if return_tensors is None:
            return BatchEncoding(encoded)
        return _to_arrays(encoded, options.max_mention_length)

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
        words, pair_words, entity_ids, pair_entity_ids, spans, pair_spans = (
            self._words_and_entities(text, text_pair, entity_spans, entity_spans_pair,
                                     entities, entities_pair, options))
        example = self._prepare(words, pair_words, entity_ids, pair_entity_ids, spans,
                                pair_spans, options)
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

    def _words_and_entities(self, text, text_pair, entity_spans, entity_spans_pair, entities,
                            entities_pair, options):
        """Token ids of each text, entity ids, and each entity's token span [start, end)."""
        task = options.task
        to_ids = self._text_to_ids
        prefix = options.add_prefix_space
        pair_words = pair_entity_ids = pair_spans = None
        if task is None:
            entity_ids = spans = None
            # transformers ignores titles without spans; we say so rather than drop them
            if entities is not None and entity_spans is None:
                raise ValueError("entities were given without entity_spans; say where each "
                                 "entity is mentioned with entity_spans=[(start, end), ...]")
            if entities_pair is not None and entity_spans_pair is None:
                raise ValueError("entities_pair was given without entity_spans_pair; say where "
                                 "each entity is mentioned with entity_spans_pair")
            if entity_spans is None:
                words = to_ids(text, prefix)
            else:
                words, spans, entity_ids = self._text_with_entities(
                    text, entity_spans, entities, "entity_spans", "entities", prefix)
            if text_pair is not None:
                if entity_spans_pair is None:
                    pair_words = to_ids(text_pair, prefix)
                else:
                    pair_words, pair_spans, pair_entity_ids = self._text_with_entities(
                        text_pair, entity_spans_pair, entities_pair, "entity_spans_pair",
                        "entities_pair", prefix)
            return words, pair_words, entity_ids, pair_entity_ids, spans, pair_spans

        # The tasks read one text; as transformers, text_pair, entities and the *_pair
        # arguments are ignored.
        count = {"entity_classification": 1, "entity_pair_classification": 2}.get(task)
        if not isinstance(entity_spans, list) or (
                len(entity_spans) != count if count else len(entity_spans) == 0):
            wanted = f"exactly {count}" if count else "at least one"
            raise ValueError(f"task={task!r} needs entity_spans as a list of {wanted} "
                             f"(start, end) character span(s); got {_short(entity_spans)}")
        spans = _check_spans(entity_spans, text, "entity_spans")
        words, token_spans = self._text_with_spans(text, spans, prefix)
        mask, mask2 = self.entity_mask_token_id, self.entity_mask2_token_id
        if task == "entity_span_classification":
            return words, None, [mask] * len(spans), None, token_spans, None

        ent1, ent2 = self._added_ids[self.entity_token_1], self._added_ids[self.entity_token_2]
        if task == "entity_classification":
            (start, end), = token_spans
            words = words[:start] + [ent1] + words[start:end] + [ent1] + words[end:]
            return words, None, [mask], None, [(start, end + 2)], None

        # entity_pair_classification: <ent> around the head, <ent2> around the tail; the
        # entity that comes second in the text moves right by the first one's two markers.
        (head_start, head_end), (tail_start, tail_end) = token_spans
        if head_start < tail_start:
            spans = [(head_start, head_end + 2), (tail_start + 2, tail_end + 4)]
            inserts = [(tail_start, tail_end, ent2), (head_start, head_end, ent1)]
        else:
            spans = [(head_start + 2, head_end + 4), (tail_start, tail_end + 2)]
            inserts = [(head_start, head_end, ent1), (tail_start, tail_end, ent2)]
        for start, end, marker in inserts:  # the later mention first, so positions hold
            words = words[:start] + [marker] + words[start:end] + [marker] + words[end:]
        return words, None, [mask, mask2], None, spans, None

    def _text_with_entities(self, text, entity_spans, entities, spans_name, entities_name,
                            prefix):
        """Task-free entities: ids from titles (or [MASK]) and the token span of each."""
        if not isinstance(entity_spans, list):
            raise TypeError(f"{spans_name} must be a list of (start, end) character spans, "
                            f"got {_short(entity_spans)}")
        spans = _check_spans(entity_spans, text, spans_name)
        if entities is None:
            entity_ids = [self.entity_mask_token_id] * len(spans)
        else:
            if not isinstance(entities, list) or not all(isinstance(e, str) for e in entities):
                raise ValueError(f"{entities_name} must be a list of entity titles (strings), "
                                 f"got {_short(entities)}")
            if len(entities) != len(spans):
                raise ValueError(f"{entities_name} has {len(entities)} titles but {spans_name} "
                                 f"has {len(spans)} spans; give one title per span")
            vocab, unk = self.entity_vocab, self.entity_unk_token_id
            entity_ids = [vocab.get(title, unk) for title in entities]
        words, token_spans = self._text_with_spans(text, spans, prefix)
        return words, token_spans, entity_ids

    def _text_with_spans(self, text, spans, prefix):
        """Steps 1-2 of the module docstring: cut the text at span boundaries (moving a cut
        before a preceding space), tokenise the pieces, and map each boundary to the number
        of tokens before it."""
        words: list[int] = []
        position_of: dict[int, int] = {}
        done = 0  # characters tokenised so far
        for boundary in sorted({b for span in spans for b in span}):
            cut = boundary - 1 if boundary > 0 and text[boundary - 1] == " " else boundary
            if cut != done:
                words += self._text_to_ids(text[done:cut], prefix)
                done = cut
            position_of[boundary] = len(words)
        words += self._text_to_ids(text[done:], prefix)
        return words, [(position_of[start], position_of[end]) for start, end in spans]

    def _prepare(self, words, pair_words, entity_ids, pair_entity_ids, spans, pair_spans,
                 options) -> dict:
        """Truncate, add special tokens, and build the entity rows of one example."""
        pair = pair_words is not None
        n_special = (4 if pair else 2) if options.add_special_tokens else 0
        total = len(words) + (len(pair_words) if pair else 0) + n_special
        if options.truncation != "do_not_truncate" and options.max_length and \
                total > options.max_length:
            words, pair_words = _truncate(words, pair_words, total - options.max_length,
                                          options.truncation, "word tokens")
        cls, sep = self.cls_token_id, self.sep_token_id
        if options.add_special_tokens:
            input_ids = [cls, *words, sep] + ([sep, *pair_words, sep] if pair else [])
            offset, pair_offset = 1, len(words) + 3  # <s> A </s></s> B </s>
        else:
            input_ids = words + (pair_words if pair else [])
            offset, pair_offset = 0, len(words)
        out = {"input_ids": input_ids}
        if options.return_token_type_ids:
            out["token_type_ids"] = [0] * len(input_ids)  # LUKE, as RoBERTa, uses none
        if entity_ids is None:
            return out

        # Entities whose mention was truncated away are dropped ...
        kept = [(i, s) for i, s in zip(entity_ids, spans, strict=True) if s[1] <= len(words)]
        pair_kept = None
        if pair_entity_ids is not None:
            pair_kept = [(i, s) for i, s in zip(pair_entity_ids, pair_spans, strict=True)
                         if s[1] <= len(pair_words)]
        dropped = len(entity_ids) - len(kept) + (
            len(pair_entity_ids) - len(pair_kept) if pair_kept is not None else 0)
        if dropped:
            logger.warning("%d entities are ignored because truncation removed their mentions",
                           dropped)
        # ... then the entity sequence itself is truncated like the words.
        n_entities = len(kept) + (len(pair_kept) if pair_kept is not None else 0)
        if options.truncation != "do_not_truncate" and n_entities > options.max_entity_length:
            kept, pair_kept = _truncate(kept, pair_kept, n_entities - options.max_entity_length,
                                        options.truncation, "entities")

        mention = options.max_mention_length
        out["entity_ids"] = []
        out["entity_position_ids"] = []
        starts, ends = [], []
        for entries, shift in ((kept, offset), (pair_kept or [], pair_offset)):
            for entity_id, (start, end) in entries:
                start, end = start + shift, end + shift
                positions = list(range(start, min(end, start + mention)))
                out["entity_ids"].append(entity_id)
                out["entity_position_ids"].append(positions + [-1] * (mention - len(positions)))
                starts.append(start)
                ends.append(end - 1)
        if options.task == "entity_span_classification":
            out["entity_start_positions"] = starts
            out["entity_end_positions"] = ends
        if options.return_token_type_ids:
            out["entity_token_type_ids"] = [0] * len(out["entity_ids"])
        return out

    def _pad(self, examples: list[dict], padding: str, max_length, max_entity_length, options,
             return_attention_mask: bool) -> dict[str, list]:
        """Stack examples into lists per key, padding on the right when asked."""
        has_entities = ["entity_ids" in e for e in examples]
        if any(has_entities) and not all(has_entities):
            raise ValueError("either every text of a batch has entity_spans or none has")
        if padding == "longest":
            max_length = max((len(e["input_ids"]) for e in examples), default=0)
            if examples and has_entities[0]:
                max_entity_length = max(len(e["entity_ids"]) for e in examples)
        pad = padding != "do_not_pad"
        mention = options.max_mention_length
        batch: dict[str, list] = {}
        for example in examples:
            words = len(example["input_ids"])
            n_pad = max(0, max_length - words) if pad else 0
            padded = {"input_ids": example["input_ids"] + [self.pad_token_id] * n_pad}
            if "token_type_ids" in example:
                padded["token_type_ids"] = example["token_type_ids"] + [0] * n_pad
            if return_attention_mask:
                padded["attention_mask"] = [1] * words + [0] * n_pad
            if "entity_ids" in example:
                entities = len(example["entity_ids"])
                e_pad = max(0, max_entity_length - entities) if pad else 0
                padded["entity_ids"] = example["entity_ids"] + [self.entity_pad_token_id] * e_pad
                padded["entity_position_ids"] = (example["entity_position_ids"]
                                                 + [[-1] * mention for _ in range(e_pad)])
                if "entity_token_type_ids" in example:
                    padded["entity_token_type_ids"] = (example["entity_token_type_ids"]
                                                       + [0] * e_pad)
                if return_attention_mask:
                    padded["entity_attention_mask"] = [1] * entities + [0] * e_pad
                for key in ("entity_start_positions", "entity_end_positions"):
                    if key in example:
                        padded[key] = example[key] + [0] * e_pad
            for key, value in padded.items():
                batch.setdefault(key, []).append(value)
        return batch


@dataclass(frozen=True)
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
    verbose: bool = True


def _truncate(first: list, second: list | None, remove: int, strategy: str, what: str):
    """Remove ``remove`` items from the end of ``first`` / ``second`` (transformers' rules).

    longest_first: from the longer of the two (alternating once they are equally long);
    only_first / only_second: from that one only. When the chosen sequence is too short,
    nothing is removed (transformers logs an error and carries on; so do we).
    """
    if strategy == "only_first" or (strategy == "longest_first" and second is None):
        if len(first) > remove:
            return first[:-remove], second
        logger.error("cannot truncate: %d %s to remove but the first sequence has %d",
                     remove, what, len(first))
        return first, second
    if strategy == "only_second":
        if second is not None and len(second) > remove:
            return first, second[:-remove]
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
    return (first[:-cut_first] if cut_first > 0 else first,
            second[:-cut_second] if cut_second > 0 else second)


def _check_text(text, name: str) -> None:
    """A string or a list of strings, each encodable as UTF-8 (byte-level BPE reads bytes)."""
    if isinstance(text, str):
        texts = [text]
    elif isinstance(text, (list, tuple)) and all(isinstance(t, str) for t in text):
        texts = text
    else:
        raise ValueError(f"{name} must be a string (one example) or a list of strings (a "
                         f"batch), got {_short(text)}")
    for k, one in enumerate(texts):
        found = LONE_SURROGATE.search(one)
        if found:
            where = name if isinstance(text, str) else f"{name}[{k}]"
            raise InputError(
                f"{where} holds a lone surrogate {found.group()!r} at character "
                f"{found.start()}, which has no UTF-8 encoding; fix the text (if it was "
                "decoded from bytes with errors='surrogateescape', decode with "
                "errors='replace' instead)")


def _check_spans(spans: list, text: str, name: str) -> list[tuple[int, int]]:
    """Each span an (start, end) pair of ints with 0 <= start <= end <= len(text)."""
    checked = []
    for k, span in enumerate(spans):
        if not isinstance(span, (tuple, list)) or len(span) != 2:
            raise ValueError(f"{name}[{k}] = {span!r} is not a (start, end) pair of character "
                             "offsets; give spans as a list of tuples like [(0, 5), (10, 14)]")
        start, end = span
        for value in span:
            if not isinstance(value, numbers.Integral) or isinstance(value, bool):
                raise TypeError(f"{name}[{k}] = {span!r}: character offsets must be ints, "
                                f"got {type(value).__name__}")
        start, end = int(start), int(end)
        if not 0 <= start <= len(text) or not 0 <= end <= len(text):
            raise ValueError(f"{name}[{k}] = {span!r} is out of range for a text of "
                             f"{len(text)} characters (offsets must be in 0..{len(text)})")
        if start > end:
            raise ValueError(f"{name}[{k}] = {span!r} is reversed: start must be <= end")
        checked.append((start, end))
    return checked


def _to_arrays(encoded: dict[str, list], mention: int) -> BatchEncoding:
    """Lists of equal length -> int64 arrays, with the batch axis first."""
    arrays = {}
    for key, value in encoded.items():
        lengths = {len(row) for row in value}
        if len(lengths) > 1:
            raise ValueError(
                f"cannot make an array of {key}: the examples have {sorted(lengths)} items; "
                "pass padding=True (or padding='max_length') to make them equally long")
        array = np.array(value, dtype=np.int64)
        if key == "entity_position_ids" and array.ndim == 2:  # no entities at all
            array = array.reshape(len(value), 0, mention)
        arrays[key] = array
    return BatchEncoding(arrays)


def clean_up_tokenization(text: str) -> str:
    """transformers' clean-up of English tokenisation spaces (" ." -> ".", " n't" -> ...)."""
    for before, after in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
                          (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"),
                          (" 're", "'re")):
        text = text.replace(before, after)
    return text


def _read_json_object(path) -> dict:
    if path is None:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as error:  # RecursionError: absurdly deep nesting
        raise TokenizerFileError(f"{Path(path).name}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise TokenizerFileError(f"{Path(path).name}: expected a JSON object")
    return data


def _check_file_settings(settings: dict, name: str) -> None:
    """Refuse a value of the wrong type or an absurd size in tokenizer_config.json or
    special_tokens_map.json, naming the file and the key (the constructor's own checks
    cannot tell which file a value came from)."""

    def is_int(value):
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)

    def is_error_handler(value):
        try:
            return isinstance(value, str) and codecs.lookup_error(value) is not None
        except LookupError:
            return False

    checks = {  # key: (test, what the value must be)
        "add_prefix_space": (lambda v: isinstance(v, bool), "true or false"),
        "clean_up_tokenization_spaces": (lambda v: isinstance(v, bool), "true or false"),
        "max_entity_length": (lambda v: is_int(v) and 0 < v <= MAX_FILE_LENGTH,
                              f"an integer in 1..{MAX_FILE_LENGTH}"),
        "max_mention_length": (lambda v: is_int(v) and 0 < v <= MAX_FILE_LENGTH,
                               f"an integer in 1..{MAX_FILE_LENGTH}"),
        "model_max_length": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
                             and math.isfinite(v) and v > 0, "a positive number"),
        "task": (lambda v: v in TASKS, f"one of {', '.join(map(str, TASKS[1:]))} or null"),
        "errors": (is_error_handler, "a Python codec error handler such as \"replace\""),
        "additional_special_tokens": (lambda v: v is None or isinstance(v, list),
                                      "a list of tokens"),
        "added_tokens_decoder": (lambda v: isinstance(v, dict), "an object {id: token}"),
    }
    for key, value in settings.items():
        if key in checks and not checks[key][0](value):
            raise TokenizerFileError(f"{name}: {key!r} must be {checks[key][1]}, "
                                     f"got {_short(value)}")
        if key.endswith("_token") or key in ("entity_token_1", "entity_token_2"):
            AddedToken.parse(value, f"{name}: {key!r}")
        if key == "additional_special_tokens":
            for token in value or ():
                AddedToken.parse(token, f"{name}: {key!r}")
        if key == "added_tokens_decoder":
            for i, token in value.items():
                _int_id(i, f"{name}: {key!r}")
                AddedToken.parse(token, f"{name}: {key!r}")


def _check_added_ids(added: dict[str, int], vocab_tokens: dict[int, str]) -> None:
    """No added token may take the id of another token, in vocab.json or added."""
    owner: dict[int, str] = {}
    for content, i in added.items():
        other = owner.setdefault(i, vocab_tokens.get(i, content))
        if other != content:
            where = "vocab.json's" if vocab_tokens.get(i) == other else "the added token"
            raise TokenizerFileError(
                f"added_tokens.json / tokenizer_config.json (added_tokens_decoder): the token "
                f"{content!r} is given the id {i}, which already belongs to {where} {other!r}"
            )


def _int_id(value, name: str) -> int:
    try:
        i = int(value)
    except (TypeError, ValueError):
        raise TokenizerFileError(f"{name}: token id {value!r} is not an int") from None
    if isinstance(value, (bool, float)) or not 0 <= i < 2**63:  # ids become int64 arrays
        raise TokenizerFileError(f"{name}: token id {value!r} is not an int >= 0 and < 2**63")
    return i


def _positive_int(value, name: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _short(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."

"""The tokenizer's added and special tokens: which strings are matched whole, and their ids.

transformers' tokenizers keep a registry beside the BPE vocabulary: the special tokens by
role (``bos_token``, ``mask_token``...), the additional special tokens (LUKE's ``<ent>`` and
``<ent2>``), and every added token with its flags (``<mask>`` swallows the space on its
left). This module is that registry; ``LukeTokenizer`` (``tokenizer.py``) reads and sets it
through transformers' attribute names, and the core's ``WordTokenizer`` (``core/words.py``)
cuts the added tokens out of the text before BPE.

Ids: an added token takes its id from vocab.json, else from added_tokens.json /
added_tokens_decoder, else the next free id. As in transformers, an empty token is ignored
(it would match everywhere), and setting a special token does not add it to the vocabulary.
"""

from __future__ import annotations

import dataclasses
import numbers

from .checks import check_id
from .core.bpe import ByteLevelBPE
from .core.words import WordTokenizer
from .errors import TokenizerFileError
from .tokenizer_files import AddedToken, check_added_ids

# transformers' special-token roles, in the order of ``all_special_tokens``
ROLES = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
         "mask_token")


def as_special(token: AddedToken) -> AddedToken:
    """The token marked special: a special token's role makes it one, whatever the value
    given says (a plain string, or an AddedToken, whose ``special`` defaults to False)."""
    return token if token.special else dataclasses.replace(token, special=True)


class TokenRegistry:
    """Added tokens (content -> id, content -> AddedToken), special tokens by role, and the
    additional special tokens, over one BPE vocabulary.

    ``added_tokens``: added_tokens.json's {content: id}; ``decoder``: a config's
    ``added_tokens_decoder`` ({id: token}), whose flags win; ``roles``: the special tokens by
    role; ``additional``: the additional special tokens, ``entity_tokens`` among them.
    """

    def __init__(self, bpe: ByteLevelBPE, added_tokens: dict | None, decoder: dict | None,
                 roles: dict, additional: list, entity_tokens: tuple):
        self.bpe = bpe
        self.ids: dict[str, int] = {}
        self.tokens: dict[str, AddedToken] = {}
        for content, i in (added_tokens or {}).items():
            self.add(AddedToken(content, special=False), i)
        self.described = set()  # the tokens added_tokens_decoder describes
        for i, value in (decoder or {}).items():
            token = AddedToken.parse(value, "added_tokens_decoder")
            self.add(token, check_id(i, "added_tokens_decoder: token id", json_key=True),
                     override_flags=True)
            self.described.add(token.content)
        self.special = {role: self.special_token(value, role) for role, value in roles.items()}
        entity = [self.special_token(value, name) for name, value in
                  zip(("entity_token_1", "entity_token_2"), entity_tokens, strict=True)]
        self.entity_tokens = tuple(t.content for t in entity)
        tokens = [self.special_token(t, "additional_special_tokens") for t in additional]
        tokens = [t for t in tokens + entity if t.content]
        self.additional = list(dict.fromkeys(t.content for t in tokens))
        for token in [*self.special.values(), *tokens]:
            if token.content not in self.described:
                self.add(token, None, override_flags=True)
        self.refresh()

    def special_token(self, value, name: str) -> AddedToken:
        """A special token's flags: added_tokens_decoder's when it describes the token
        (transformers 4.x/5.x save the roles as plain strings beside it), else the value's
        own; a plain "<mask>" strips the space on its left, as transformers' LukeTokenizer
        makes it."""
        token = AddedToken.parse(value, name)
        if token.content in self.described:
            return self.tokens[token.content]
        if name == "mask_token" and isinstance(value, str):
            return AddedToken(value, lstrip=True, special=True)
        return as_special(token)

    def add(self, token: AddedToken, i: int | None, override_flags: bool = False) -> None:
        if not token.content or (token.content in self.ids and not override_flags):
            return
        if i is None:
            i = self.ids.get(token.content, self.bpe.vocab.get(token.content))
        if i is None:
            i = max([len(self.bpe.vocab) - 1, *self.ids.values()]) + 1
            if i >= 2**63:  # ids become int64 arrays: 2**63 would overflow at encoding
                raise TokenizerFileError(
                    f"no id is left for the added token {token.content!r}: the next id, "
                    f"{i}, is beyond int64, because an added token (added_tokens.json / "
                    "added_tokens_decoder) has the id 2**63 - 1; give the added tokens ids "
                    "that follow the vocabulary")
        self.ids[token.content] = i
        self.tokens[token.content] = token

    def refresh(self) -> None:
        """Rebuild what derives from the added and special tokens (after construction,
        ``add_tokens`` and setting a special token)."""
        check_added_ids(self.ids, self.bpe.ids_to_tokens)
        self.ids_to_added = {i: content for content, i in self.ids.items()}
        # The word path: the added tokens cut out first, then the core BPE (one cache),
        # which encodes with the added tokens' ids on top of vocab.json's, as transformers.
        self.bpe.token_ids = {**self.bpe.vocab, **self.ids}
        self.bpe.unk_id = self.unk_id
        self.bpe.cache.clear()
        self.words = WordTokenizer(
            self.bpe, self.ids, lstrip={t for t, token in self.tokens.items() if token.lstrip},
            rstrip={t for t, token in self.tokens.items() if token.rstrip})
        self.cls_sep = (self.role_id("cls_token"), self.role_id("sep_token"))
        self.pad_id = self.role_id("pad_token")

    # ----------------------------------------------------------------------------------
    # Lookups

    @property
    def unk_id(self) -> int | None:
        unk = self.special["unk_token"].content
        return self.ids.get(unk, self.bpe.vocab.get(unk))

    def token_to_id(self, token: str) -> int:
        i = self.ids.get(token)
        if i is None:
            i = self.bpe.vocab.get(token, self.unk_id)
        return i

    def role_id(self, role: str) -> int:
        return self.token_to_id(self.special[role].content)

    def id_to_token(self, i: int) -> str:
        token = self.ids_to_added.get(i)
        if token is None:
            token = self.bpe.ids_to_tokens.get(i)
        if token is None:
            size = len({**self.bpe.vocab, **self.ids})
            raise ValueError(f"token id {i} is not in the vocabulary (ids 0..{size - 1})")
        return token

    def all_special_tokens(self) -> list[str]:
        tokens = [self.special[role].content for role in ROLES]
        return list(dict.fromkeys(tokens + self.additional))

    def join(self, tokens: list[str], errors: str, spaces_between_added: bool) -> str:
        """Tokens -> text, as transformers' ``decode``: the non-special added tokens, and
        additional special tokens beyond vocab.json (``<ent>``, ``<ent2>``), stand on their
        own, joined to the text around them with single spaces (or none)."""
        standalone = {t for t, i in self.ids.items() if not self.tokens[t].special
                      or (t in self.additional and i >= len(self.bpe.vocab))}
        texts, run = [], []
        for token in tokens:
            if token in standalone:
                if run:
                    text = self.bpe.convert_tokens_to_string(run, errors)
                    if text:
                        texts.append(text)
                    run = []
                texts.append(token)
            else:
                run.append(token)
        if run:
            texts.append(self.bpe.convert_tokens_to_string(run, errors))
        return (" " if spaces_between_added else "").join(texts)

    # ----------------------------------------------------------------------------------
    # Changes

    def set_special(self, role: str, value) -> None:
        self.special[role] = as_special(AddedToken.parse(value, role))
        self.refresh()

    def add_tokens(self, new_tokens, special_tokens: bool = False) -> int:
        """transformers' ``add_tokens``: returns how many are new to the vocabulary."""
        if isinstance(new_tokens, (str, AddedToken)) or hasattr(new_tokens, "content"):
            new_tokens = [new_tokens]
        added = 0
        for value in new_tokens:
            token = AddedToken.parse(value, "add_tokens")
            if isinstance(value, str):
                if value in self.ids:
                    continue
                token = AddedToken(value, special=special_tokens or value in
                                   self.all_special_tokens())
            elif special_tokens:
                token = dataclasses.replace(token, special=True)
            if not token.content:
                continue
            if token.content not in self.ids and token.content not in self.bpe.vocab:
                added += 1
            self.add(token, None, override_flags=True)
            if token.special and token.content not in self.all_special_tokens():
                self.additional.append(token.content)
        self.refresh()
        return added

    def add_special_tokens(self, special_tokens_dict: dict, replace_additional: bool) -> int:
        """transformers' ``add_special_tokens``: set the roles, add them to the vocabulary."""
        to_add = []
        for key, value in special_tokens_dict.items():
            if key == "additional_special_tokens":
                if not isinstance(value, (list, tuple)):
                    raise ValueError("additional_special_tokens must be a list of tokens")
                contents = [AddedToken.parse(v, key).content for v in value]
                if replace_additional:
                    self.additional = list(dict.fromkeys(c for c in contents if c))
                else:
                    self.additional += [c for c in contents if c and c not in self.additional]
                to_add += list(value)
            elif key in self.special:
                self.special[key] = as_special(AddedToken.parse(value, key))
                to_add.append(value)
            else:
                raise ValueError(f"{key!r} is not a special token name; use one of "
                                 f"{', '.join(self.special)} or additional_special_tokens")
        return self.add_tokens(to_add, special_tokens=True)

    # ----------------------------------------------------------------------------------
    # Saving

    def file_settings(self) -> tuple[dict, dict, dict, dict]:
        """The registry as the files say it: the special tokens by role, the entity tokens,
        added_tokens_decoder, and added_tokens.json's tokens beyond vocab.json."""

        def token_value(token: AddedToken):
            plain = AddedToken(token.content, special=token.special)
            return token.content if token == plain else token.to_json()

        special = {role: token_value(token) for role, token in self.special.items()}
        entity = {name: token_value(self.tokens.get(content, AddedToken(content)))
                  for name, content in zip(("entity_token_1", "entity_token_2"),
                                           self.entity_tokens, strict=True)}
        # every added token with its flags, as transformers 4.3x+ writes them (read by both;
        # they keep an added token's lstrip/rstrip through a save)
        decoder = {str(i): {key: value for key, value in self.tokens[content].to_json().items()
                            if key != "__type"}
                   for content, i in sorted(self.ids.items(), key=lambda item: item[1])}
        beyond_vocab = {c: i for c, i in self.ids.items() if c not in self.bpe.vocab}
        return special, entity, decoder, beyond_vocab


def _special_token(role: str) -> property:
    """A special token attribute (``bos_token``, ...): its content, settable."""

    def get(self) -> str:
        return self.tokens.special[role].content

    def set(self, value) -> None:
        self.tokens.set_special(role, value)

    return property(get, set)


def _special_id(role: str) -> property:
    return property(lambda self: self.tokens.role_id(role))


class SpecialTokensMixin:
    """The registry under transformers' names (as its ``SpecialTokensMixin``): the special
    tokens and their ids, settable, the vocabulary with the added tokens, conversions
    between tokens and ids, ``add_tokens``. A tokenizer using it holds ``tokens`` (a
    ``TokenRegistry``) and ``bpe``."""

    tokens: TokenRegistry
    bpe: ByteLevelBPE

    def __len__(self) -> int:
        return len(self.get_vocab())

    @property
    def vocab_size(self) -> int:
        """Size of vocab.json alone (as transformers), without tokens added after it."""
        return len(self.bpe.vocab)

    def get_vocab(self) -> dict[str, int]:
        return {**self.bpe.vocab, **self.tokens.ids}

    @property
    def words(self):
        """The core's word tokenizer (``core/words.py``): added tokens, then BPE."""
        return self.tokens.words

    # transformers' settable special tokens: ``tokenizer.bos_token = "<s>"`` (a string or an
    # AddedToken). As in transformers, setting one does not add it to the vocabulary.
    bos_token, bos_token_id = _special_token("bos_token"), _special_id("bos_token")
    eos_token, eos_token_id = _special_token("eos_token"), _special_id("eos_token")
    unk_token, unk_token_id = _special_token("unk_token"), _special_id("unk_token")
    sep_token, sep_token_id = _special_token("sep_token"), _special_id("sep_token")
    pad_token, pad_token_id = _special_token("pad_token"), _special_id("pad_token")
    cls_token, cls_token_id = _special_token("cls_token"), _special_id("cls_token")
    mask_token, mask_token_id = _special_token("mask_token"), _special_id("mask_token")

    @property
    def additional_special_tokens(self) -> list[str]:
        return list(self.tokens.additional)

    @property
    def additional_special_tokens_ids(self) -> list[int]:
        return [self.tokens.token_to_id(t) for t in self.tokens.additional]

    @property
    def all_special_tokens(self) -> list[str]:
        return self.tokens.all_special_tokens()

    @property
    def all_special_ids(self) -> list[int]:
        return [self.tokens.token_to_id(t) for t in self.all_special_tokens]

    def convert_tokens_to_ids(self, tokens: str | list[str]) -> int | list[int]:
        """Token string(s) -> id(s); a token in neither vocabulary gives the <unk> id."""
        if isinstance(tokens, str):
            return self.tokens.token_to_id(tokens)
        return [self.tokens.token_to_id(token) for token in tokens]

    def convert_ids_to_tokens(self, ids, skip_special_tokens: bool = False):
        """Id(s) -> token string(s) ("Ġworld" style); special ones dropped if asked."""
        if isinstance(ids, numbers.Integral):
            return self.tokens.id_to_token(int(ids))
        skip = set(self.all_special_ids) if skip_special_tokens else ()
        return [self.tokens.id_to_token(int(i)) for i in ids if int(i) not in skip]

    def add_tokens(self, new_tokens, special_tokens: bool = False) -> int:
        """Add tokens matched whole in the text (strings or AddedTokens); returns how many
        are new to the vocabulary. They are saved by ``save_pretrained``."""
        return self.tokens.add_tokens(new_tokens, special_tokens)

    def add_special_tokens(self, special_tokens_dict: dict,
                           replace_additional_special_tokens: bool = True) -> int:
        """Set special tokens (``{"cls_token": "<s>", "additional_special_tokens": [...]}``)
        and add them to the vocabulary; returns how many are new to it."""
        return self.tokens.add_special_tokens(special_tokens_dict,
                                              replace_additional_special_tokens)

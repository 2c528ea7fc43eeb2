"""The tokenizer's files: finding, reading, checking and writing them.

A LUKE tokenizer is a folder (or a Hub repository) of JSON and text files, in transformers'
layout:

    vocab.json               {token: id}, RoBERTa's byte-level BPE vocabulary
    merges.txt               "#version" header, then one ranked "left right" pair a line
    entity_vocab.json        {title: id}, or mLUKE's records (see ``read_entity_vocab``)
    tokenizer_config.json    settings (task, max_entity_length, special tokens, ...); optional
    special_tokens_map.json  the special tokens again (older files); optional
    added_tokens.json        {token: id} for tokens beyond vocab.json; optional

transformers 5.x writes two files only (its ``save_pretrained``, checked with 5.25):

    tokenizer.json           the `tokenizers` library's file: ``model`` holds the BPE
                             ``vocab`` {token: id} and ``merges`` (pairs), ``added_tokens``
                             the added tokens with their ids and flags
    tokenizer_config.json    the settings as above, plus ``entity_vocab`` {title: id}

and reads the BPE tables and added tokens from tokenizer.json, rebuilding LUKE's BPE
around them (its normaliser, pre-tokeniser and post-processor sections are not used; nor
here). ``load_pretrained`` reads either layout. 5.x also lists the four special entities
([UNK], [PAD], [MASK], [MASK2]) among tokenizer.json's added *word* tokens, with ids past
the word vocabulary (beyond every LUKE model's word embedding table); 4.x never did, and
they are not read as word tokens here, so a 5.x folder encodes exactly as the 4.x folder
it was saved from (tests/test_tokenizer_tf5.py).

Files come from anywhere, so every value is checked before it is used: a malformed or
hostile file raises ``TokenizerFileError`` naming the file and what is wrong, never a
wrong tokenisation. The algorithms that use these tables live in ``numpy_luke/core``.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import math
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

from .checks import check_id, is_int, short
from .core.bpe import ByteLevelBPE
from .core.entity_vocab import MASK2, SPECIAL_ENTITIES, EntityVocab
from .errors import TokenizerFileError
from .hub import LoadOptions, resolve_file
from .tasks import TASKS

# A tokenizer file asking for more entities per text or tokens per mention than this is
# taken as broken: padding allocates max_entity_length x max_mention_length per text.
MAX_FILE_LENGTH = 4096


@dataclass(frozen=True)
class AddedToken:
    """A token matched whole in the text before BPE runs (``<s>``, ``<mask>``, ``<ent>``...).

    ``lstrip``: the token swallows the white space on its left (``<mask>`` does, so that
    "a <mask>" reads like "a" + " word"); ``rstrip``: the same on its right.
    ``single_word`` (match only as a whole word) is not implemented, so it is refused.
    ``normalized`` changes nothing: LUKE's tokenizer has no normaliser (no lower-casing).
    ``special`` (False by default, as transformers'): dropped by
    ``decode(skip_special_tokens=True)``; the tokenizer makes its special tokens (``<s>``,
    ``<mask>``, ``<ent>``...) special whatever the value says.
    """

    content: str
    lstrip: bool = False
    rstrip: bool = False
    single_word: bool = False
    normalized: bool = True
    special: bool = False

    def __post_init__(self):
        if self.single_word:
            raise TokenizerFileError(
                f"the added token {self.content!r} has single_word=True (match only as a whole "
                "word), which numpy_luke does not implement (no LUKE checkpoint uses it); "
                "give it with single_word=False")

    @classmethod
    def parse(cls, value, name: str) -> AddedToken:
        """A token given as "<mask>", as a config's {"content": "<mask>", "lstrip": true,
        "__type": ...}, or as an object with AddedToken's attributes (ours, or transformers' /
        tokenizers' ``AddedToken``, read by duck typing: content, lstrip, rstrip, single_word,
        normalized, special)."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, dict):
            content, flags = value.get("content"), {key: value[key] for key in _FLAGS
                                                    if key in value}
        else:
            content = getattr(value, "content", None)
            flags = {key: getattr(value, key) for key in _FLAGS if hasattr(value, key)}
        if isinstance(content, str):
            try:
                return cls(content, **{key: bool(flag) for key, flag in flags.items()})
            except TokenizerFileError as error:
                raise TokenizerFileError(f"{name}: {error}") from None
        raise TokenizerFileError(f"{name}: a token must be a string or an AddedToken "
                                 f"object with a string 'content', got {short(value)}")

    def to_json(self) -> dict:
        return {**asdict(self), "__type": "AddedToken"}

    def __str__(self) -> str:  # as transformers' AddedToken: str(token) is its content
        return self.content


_FLAGS = ("lstrip", "rstrip", "single_word", "normalized", "special")


# ---------------------------------------------------------------------------------------
# vocab.json, merges.txt, entity_vocab.json
# ---------------------------------------------------------------------------------------


def read_bpe(vocab_file, merges_file) -> ByteLevelBPE:
    """The BPE tables from ``vocab.json`` and ``merges.txt``, or (as transformers 5.x's
    constructor takes them) from a dict {token: id} and a list of pairs, checked alike."""
    vocab = (check_vocab(vocab_file, "vocab") if isinstance(vocab_file, dict)
             else read_vocab(vocab_file))
    merges = (check_merges(merges_file, "merges") if isinstance(merges_file, list)
              else read_merges(merges_file))
    return ByteLevelBPE(vocab, merges)


def read_vocab(path: str | os.PathLike) -> dict[str, int]:
    """Read ``vocab.json``: a JSON object {token: id} with distinct non-negative int ids."""
    name = os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as f:
            vocab = json.load(f)
    except (ValueError, RecursionError) as error:  # RecursionError: absurdly deep nesting
        raise TokenizerFileError(f"{name}: not valid JSON ({error})") from None
    return check_vocab(vocab, name)


def check_vocab(vocab, name: str) -> dict[str, int]:
    """A BPE vocabulary: a dict {token: id} with distinct non-negative int ids."""
    if not isinstance(vocab, dict):
        raise TokenizerFileError(f"{name}: expected a JSON object {{token: id}}")
    for token, i in vocab.items():
        check_id(i, f"{name}: the id of {token!r}")
    if len(set(vocab.values())) != len(vocab):
        raise TokenizerFileError(f"{name}: two tokens share an id")
    return vocab


def check_merges(merges, name: str) -> list[tuple[str, str]]:
    """BPE merges as tokenizer.json (and transformers 5.x) give them: a list, best first, of
    pairs ``["left", "right"]`` or strings ``"left right"`` (older `tokenizers` files)."""
    if not isinstance(merges, list):
        raise TokenizerFileError(f"{name}: expected a list of merges")
    pairs = []
    for number, merge in enumerate(merges):
        pair = merge.split(" ") if isinstance(merge, str) else merge
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2
                and all(isinstance(part, str) and part for part in pair)):
            raise TokenizerFileError(f"{name}: merge {number} is not a pair of symbols: "
                                     f"{short(merge)}")
        pairs.append((pair[0], pair[1]))
    return pairs


def read_merges(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Read ``merges.txt``: an optional "#version" header, then one "left right" pair a line,
    best (most frequent) first."""
    name = os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except UnicodeDecodeError as error:
        raise TokenizerFileError(f"{name}: not UTF-8 text ({error})") from None
    first = 1  # the number of the first line read as a pair
    if lines and lines[0].startswith("#version"):
        lines, first = lines[1:], 2
    merges = []
    for number, line in enumerate(lines, start=first):
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise TokenizerFileError(f"{name}: line {number} is not a pair of symbols: {line!r}")
        merges.append((parts[0], parts[1]))
    return merges


def read_entity_vocab(path: str | os.PathLike) -> EntityVocab:
    """Read ``entity_vocab.json`` in either of its two layouts:

    * the published LUKE layout, a JSON object ``{"title": id, ...}``
      (``studio-ousia/luke-base``: 500,000 entries);
    * the layout of the original multilingual (mLUKE) release, one record per entity id
      ``{"id": 3, "entities": [["Tokyo", "en"], ["東京", "ja"]]}``, as a JSON list or as
      JSON Lines. We flatten it exactly as transformers' mLUKE conversion does: every title
      becomes the key "language:title" ("en:Tokyo"), except the special entities, which
      stay bare ("[MASK]"); a file without ``[MASK2]`` (the original release has none)
      gets it as max id + 1, as the conversion adds it.

    Loading is one ``json.load`` plus a linear check of the ids: the 500,000-entry
    vocabulary loads in about a third of a second (see docs/performance.md). An
    ``EntityVocab``, or a dict {title: id} (transformers 5.x's ``entity_vocab=``), is
    taken as it is, checked alike.
    """
    if isinstance(path, EntityVocab):
        return path
    if isinstance(path, dict):
        return check_entity_vocab(path, "entity_vocab")
    name = os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError as error:
        raise TokenizerFileError(f"{name}: not UTF-8 text ({error})") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise TokenizerFileError(f"{name}: JSON nested too deeply") from None
    except ValueError as error:
        data = _read_json_lines(text, name, error)
    if isinstance(data, list):
        data = _flatten_multilingual(data, name)
        if MASK2 not in data and data and all(type(i) is int for i in data.values()):
            # the original mLUKE files have no [MASK2]; transformers' conversion gives it
            # the next id (and the embedding table one more row, a copy of [MASK]'s)
            data[MASK2] = max(data.values()) + 1
    elif not isinstance(data, dict):
        raise TokenizerFileError(
            f"{name}: expected a JSON object {{title: id}} or a list of "
            f'{{"id": .., "entities": [[title, language], ..]}} records, '
            f"got {type(data).__name__}"
        )
    return check_entity_vocab(data, name)


def check_entity_vocab(vocab: dict, name: str = "entity_vocab.json") -> EntityVocab:
    """Ids valid, the four special entities present with distinct ids -> ``EntityVocab``."""
    for title, i in vocab.items():
        check_id(i, f"{name}: the id of {title!r}")
    missing = [title for title in SPECIAL_ENTITIES if title not in vocab]
    if missing:
        raise TokenizerFileError(
            f"{name}: the special entities {', '.join(missing)} are missing; an entity "
            "vocabulary for LUKE must contain [PAD], [UNK], [MASK] and [MASK2]"
        )
    special_ids = {title: vocab[title] for title in SPECIAL_ENTITIES}
    if len(set(special_ids.values())) < len(special_ids):
        raise TokenizerFileError(
            f"{name}: the special entities must have distinct ids, got "
            + ", ".join(f"{title}={i}" for title, i in special_ids.items())
        )
    return EntityVocab(vocab)


def save_entity_vocab(vocab: EntityVocab, path: str | os.PathLike) -> str:
    """Write the published layout ``{"title": id}`` (as transformers' save_pretrained)."""
    path = Path(path)
    write_files(path.parent, {path.name: _json_bytes(vocab.vocab, path.name, indent=2,
                                                     sort_keys=True)})
    return str(path)


def _read_json_lines(text: str, name: str, first_error: ValueError) -> list:
    """The original mLUKE file: one JSON record a line."""
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except (ValueError, RecursionError):
            raise TokenizerFileError(
                f"{name}: neither JSON nor JSON Lines (line {number} fails; {first_error})"
            ) from None
    return records


def _flatten_multilingual(records: list, name: str) -> dict[str, int]:
    """[{"id": 3, "entities": [["Tokyo", "en"], ...]}, ...] -> {"en:Tokyo": 3, ...}."""
    vocab: dict[str, int] = {}
    for number, record in enumerate(records):
        try:
            entity_id = record["id"]
            entities = record["entities"]
            for title, language in entities:
                if title in SPECIAL_ENTITIES:
                    vocab[title] = entity_id
                    break
                vocab[f"{language}:{title}"] = entity_id
        except (KeyError, TypeError, ValueError):
            raise TokenizerFileError(
                f'{name}: record {number} is not {{"id": int, "entities": [[title, language], '
                f"..]}}: {str(record)[:200]}"
            ) from None
    return vocab


# ---------------------------------------------------------------------------------------
# from_pretrained and save_pretrained
# ---------------------------------------------------------------------------------------


def load_pretrained(cls, name_or_path, task, overrides: dict, load: LoadOptions):
    """``LukeTokenizer.from_pretrained``: find the files (``load``: where and how, see
    ``hub.LoadOptions``), read and check the settings, and call ``cls(vocab_file,
    merges_file, entity_vocab_file, **settings)``."""

    def resolve(filename, required=True):
        return resolve_file(name_or_path, filename, load, required=required)

    config = read_json_object(resolve("tokenizer_config.json", required=False))
    check_file_settings(config, "tokenizer_config.json")
    files, json_added = _vocabulary_sources(resolve, config)
    special_map = read_json_object(resolve("special_tokens_map.json", required=False))
    check_file_settings(special_map, "special_tokens_map.json")
    added_tokens = read_json_object(resolve("added_tokens.json", required=False))
    for token, i in added_tokens.items():
        check_id(i, f"added_tokens.json: the id of {token!r}")

    settings = dict(config)
    settings.pop("entity_vocab", None)  # read above, with the files
    if json_added is not None and "added_tokens_decoder" not in settings:
        settings["added_tokens_decoder"] = json_added
    _rename_tf5_settings(settings)
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
    for key in ("vocab_file", "merges_file", "entity_vocab_file", "added_tokens",
                "tokenizer_file"):
        settings.pop(key, None)
    return cls(*files, added_tokens=added_tokens, **settings)


def _vocabulary_sources(resolve, config: dict) -> tuple[list, dict | None]:
    """The BPE and entity tables to build the tokenizer from, in either layout:
    ``[vocab, merges, entity_vocab]`` (paths, or the tables read from transformers 5.x's
    tokenizer.json and tokenizer_config.json) and tokenizer.json's added tokens as an
    ``added_tokens_decoder`` (None in the 4.x layout)."""
    vocab = resolve("vocab.json", required=False)
    tokenizer_json = None if vocab is not None else resolve("tokenizer.json", required=False)
    if tokenizer_json is None:  # the 4.x layout (the errors name vocab.json, merges.txt)
        vocab, merges, json_added = resolve("vocab.json"), resolve("merges.txt"), None
    else:
        vocab, merges, json_added = read_tokenizer_json(tokenizer_json)
    entity_file = resolve("entity_vocab.json", required=False)
    in_config = config.get("entity_vocab")
    if entity_file is None and in_config is None:
        entity_file = resolve("entity_vocab.json")  # raises, naming the file
    if entity_file is None:
        entities = check_entity_vocab(in_config, "tokenizer_config.json: 'entity_vocab'")
    elif in_config is not None:  # both: they must agree
        entities = read_entity_vocab(entity_file)
        if entities.vocab != in_config:
            raise TokenizerFileError(
                "entity_vocab.json and tokenizer_config.json's 'entity_vocab' hold different "
                "entity vocabularies; remove the one that does not belong to the model")
    else:
        entities = entity_file
    return [vocab, merges, entities], json_added


# transformers 5.x's setting names -> numpy_luke's (transformers 4.x's)
TF5_NAMES = {"entity_1_token": "entity_token_1", "entity_2_token": "entity_token_2"}
# 5.x names the special entities; numpy_luke (like 4.x) knows these four only.
TF5_ENTITY_SPECIALS = {"entity_unk_token": "[UNK]", "entity_pad_token": "[PAD]",
                       "entity_mask_token": "[MASK]", "entity_mask2_token": "[MASK2]"}


def _rename_tf5_settings(settings: dict) -> None:
    """Read transformers 5.x's names for LUKE's settings; refuse what 4.x could not say."""
    for tf5, ours in TF5_NAMES.items():
        if tf5 in settings:
            value = settings.pop(tf5)
            if settings.get(ours, value) != value and str(AddedToken.parse(
                    settings[ours], ours)) != str(AddedToken.parse(value, tf5)):
                raise TokenizerFileError(
                    f"tokenizer_config.json: {tf5!r} and {ours!r} name different tokens")
            settings.setdefault(ours, value)
    for key, default in TF5_ENTITY_SPECIALS.items():
        if settings.pop(key, default) != default:
            raise TokenizerFileError(
                f"tokenizer_config.json: {key!r} must be {default!r} (numpy_luke's entity "
                "vocabulary has the four special entities [UNK], [PAD], [MASK], [MASK2])")


def read_tokenizer_json(path) -> tuple[dict[str, int], list[tuple[str, str]], dict]:
    """The BPE vocabulary, the merges and the added tokens (as ``added_tokens_decoder``:
    {id: token's fields}) of a transformers 5.x ``tokenizer.json``.

    The BPE model must be LUKE's (byte-level, no dropout, no unknown token, no prefixes or
    suffixes): any other option is refused, as it would change the tokens. The four
    special entities 5.x lists as added word tokens are left out (see the module's
    docstring) when the word vocabulary does not hold them."""
    name = "tokenizer.json"
    data = read_json_object(path)
    model = data.get("model")
    if not isinstance(model, dict) or model.get("type") != "BPE":
        kind = model.get("type") if isinstance(model, dict) else model
        raise TokenizerFileError(f"{name}: 'model' must be a BPE model (LUKE's byte-level "
                                 f"BPE), got {short(kind)}")
    luke_bpe = {"dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                "end_of_word_suffix": "", "byte_fallback": False, "ignore_merges": False}
    for option, value in luke_bpe.items():
        found = model.get(option, value)
        if found != value and not (value == "" and found is None):
            raise TokenizerFileError(
                f"{name}: the BPE option {option!r} is {short(found)}; LUKE's BPE has "
                f"{value!r}, and numpy_luke implements no other")
    vocab = check_vocab(model.get("vocab"), f"{name}: model.vocab")
    merges = check_merges(model.get("merges"), f"{name}: model.merges")
    records = data.get("added_tokens", [])
    if not isinstance(records, list):
        raise TokenizerFileError(f"{name}: 'added_tokens' must be a list")
    added = {}
    for number, record in enumerate(records):
        if not isinstance(record, dict):
            raise TokenizerFileError(f"{name}: added token {number} is not an object")
        token = AddedToken.parse({k: v for k, v in record.items() if k != "id"},
                                 f"{name}: added token {number}")
        i = check_id(record.get("id"), f"{name}: the id of the added token {short(token.content)}")
        if token.content in SPECIAL_ENTITIES and token.content not in vocab:
            continue  # 5.x's entity specials among the word tokens (module docstring)
        added[str(i)] = {k: v for k, v in record.items() if k != "id"}
    return vocab, merges, added


def save_pretrained(tokenizer, save_directory: str | os.PathLike) -> tuple[str, ...]:
    """Write the files ``load_pretrained`` reads (transformers' layout), all or none."""
    config, special_map, beyond_vocab = tokenizer.file_settings()
    contents = _vocabulary_files(tokenizer, "")
    contents["tokenizer_config.json"] = _json_bytes(config, "tokenizer_config.json", indent=2)
    contents["special_tokens_map.json"] = _json_bytes(special_map, "special_tokens_map.json",
                                                      indent=2)
    contents["added_tokens.json"] = _json_bytes(beyond_vocab, "added_tokens.json")
    return write_files(save_directory, contents)


def save_vocabulary(tokenizer, save_directory: str | os.PathLike,
                    filename_prefix: str | None = None) -> tuple[str, ...]:
    """transformers' ``save_vocabulary``: vocab.json, merges.txt and entity_vocab.json,
    named ``{filename_prefix}-vocab.json``... when a prefix is given."""
    return write_files(save_directory, _vocabulary_files(
        tokenizer, f"{filename_prefix}-" if filename_prefix else ""))


def _vocabulary_files(tokenizer, prefix: str) -> dict[str, bytes]:
    bpe = tokenizer.bpe
    merges = sorted(bpe.merge_ranks, key=bpe.merge_ranks.get)
    text = "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges)
    try:
        merges_bytes = text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise TokenizerFileError(
            f"merges.txt: cannot be written: a merge holds {short(text[error.start])}, a lone "
            "surrogate with no UTF-8 encoding; nothing was written") from None
    return {
        f"{prefix}vocab.json": _json_bytes(bpe.vocab, "vocab.json", indent=2, sort_keys=True),
        f"{prefix}merges.txt": merges_bytes,
        f"{prefix}entity_vocab.json": _json_bytes(tokenizer.entity_vocab,
                                                  "entity_vocab.json", indent=2,
                                                  sort_keys=True),
    }


def _json_bytes(obj, name: str, **options) -> bytes:
    """``obj`` as UTF-8 JSON (non-ASCII characters as they are, as transformers writes).
    A string holding a lone surrogate (a title read from a "\\ud800" escape) has no UTF-8
    form; that file is written with \\u escapes instead, which read back identically."""
    text = json.dumps(obj, ensure_ascii=False, **options) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(obj, ensure_ascii=True, **options) + "\n").encode("ascii")


def write_files(save_directory: str | os.PathLike, contents: dict[str, bytes]
                ) -> tuple[str, ...]:
    """Write files into a folder, all or none: every file's bytes are ready before this is
    called, each is written to a temporary file in the folder and only then renamed over its
    name (``os.replace``, atomic), so a failure leaves the folder's old files whole (saving
    into the folder a tokenizer was loaded from must not destroy it).

    Renames are atomic one file at a time, not as a set: two saves into one folder at once
    could interleave and leave one tokenizer's vocab.json beside another's merges.txt. So
    the renames happen under an exclusive lock on the folder itself (``flock``, POSIX; no
    lock file is left behind): overlapping saves, from threads or processes, run one after
    the other and the last one's files are all there. A reader is not locked out: loading
    from a folder while a save renames into it can still read a mix (docs/bad-input.md)."""
    folder = Path(save_directory)
    folder.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}.{secrets.token_hex(4)}"
    written: list[tuple[Path, Path]] = []
    try:
        for name, data in contents.items():
            temporary = folder / f".{name}.{tag}.tmp"
            with open(temporary, "xb") as f:  # "x": never follow or reuse an existing file
                written.append((temporary, folder / name))
                f.write(data)
        with _folder_lock(folder):
            for temporary, final in written:
                os.replace(temporary, final)
    finally:
        for temporary, _ in written:
            if temporary.exists():
                temporary.unlink()
    return tuple(str(final) for _, final in written)


@contextlib.contextmanager
def _folder_lock(folder: Path):
    """Hold an exclusive ``flock`` on ``folder`` (released when its descriptor closes, so
    also when the process dies). Where there is no ``fcntl`` (Windows), no lock: overlapping
    saves into one folder are then the caller's to avoid (docs/bad-input.md)."""
    if fcntl is None:
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def read_json_object(path) -> dict:
    if path is None:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as error:  # RecursionError: absurdly deep nesting
        raise TokenizerFileError(f"{Path(path).name}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise TokenizerFileError(f"{Path(path).name}: expected a JSON object")
    return data


def check_file_settings(settings: dict, name: str) -> None:
    """Refuse a value of the wrong type or an absurd size in tokenizer_config.json or
    special_tokens_map.json, naming the file and the key (the constructor's own checks
    cannot tell which file a value came from)."""

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
        "padding_side": (lambda v: v in ("right", "left"), '"right" or "left"'),
        "truncation_side": (lambda v: v in ("right", "left"), '"right" or "left"'),
        "extra_special_tokens": (lambda v: v is None or isinstance(v, (list, dict)),
                                 "a list of tokens or an object {name: token}"),
        "entity_vocab": (lambda v: isinstance(v, dict), "an object {title: id}"),
    }
    for key, value in settings.items():
        if key in checks and not checks[key][0](value):
            raise TokenizerFileError(f"{name}: {key!r} must be {checks[key][1]}, "
                                     f"got {short(value)}")
        if key.endswith("_token") or key in ("entity_token_1", "entity_token_2"):
            AddedToken.parse(value, f"{name}: {key!r}")
        if key in ("additional_special_tokens", "extra_special_tokens"):
            for token in (value.values() if isinstance(value, dict) else value or ()):
                AddedToken.parse(token, f"{name}: {key!r}")
        if key == "added_tokens_decoder":
            for i, token in value.items():
                check_id(i, f"{name}: {key!r}: token id", json_key=True)
                AddedToken.parse(token, f"{name}: {key!r}")


def check_added_ids(added: dict[str, int], vocab_tokens: dict[int, str]) -> None:
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

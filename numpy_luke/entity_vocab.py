"""The entity vocabulary: which Wikipedia titles LUKE knows, and the id of each.

LUKE has two vocabularies. Words go through byte-level BPE (``bpe.py``); entities are looked
up whole: the title "Ana Ivanovic" is one entity with one id and one embedding. A title the
model never saw maps to the ``[UNK]`` entity. Four special entities are always present:

    [PAD]    fills the entity sequence of shorter examples in a batch
    [UNK]    a title that is not in the vocabulary
    [MASK]   "some entity, please predict which" (and the entity of entity-classification tasks)
    [MASK2]  the second (tail) entity of entity-pair classification

``entity_vocab.json`` comes in two layouts:

* the published LUKE layout, a JSON object ``{"title": id, ...}`` (``studio-ousia/luke-base``:
  500,000 entries);
* the layout of the original multilingual (mLUKE) release, one record per entity id
  ``{"id": 3, "entities": [["Tokyo", "en"], ["東京", "ja"]]}``, as a JSON list or as JSON
  Lines (one record a line). Several titles in several languages share one id. We flatten it
  exactly as transformers' mLUKE conversion does: every title becomes the key
  ``"language:title"`` ("en:Tokyo", "ja:東京"), except the special entities, which stay bare
  ("[MASK]"). So look titles up as ``vocab.title_to_id("Tokyo", language="en")`` or
  ``vocab.title_to_id("en:Tokyo")``.

Loading is one ``json.load`` plus a linear check of the ids: the 500,000-entry vocabulary
loads in about a third of a second (see docs/performance.md). The id -> title table is built
only when first asked for.
"""

from __future__ import annotations

import json
import os

from .errors import TokenizerFileError

PAD, UNK, MASK, MASK2 = "[PAD]", "[UNK]", "[MASK]", "[MASK2]"
SPECIAL_ENTITIES = (PAD, UNK, MASK, MASK2)


class EntityVocab:
    """Entity title <-> id, with ``[UNK]`` for unknown titles.

    >>> vocab = EntityVocab({"[PAD]": 0, "[UNK]": 1, "[MASK]": 2, "Tokyo": 3, "[MASK2]": 4})
    >>> vocab.title_to_id("Tokyo"), vocab.title_to_id("Atlantis"), vocab.id_to_title(3)
    (3, 1, 'Tokyo')
    """

    def __init__(self, vocab: dict[str, int], *, name: str = "entity_vocab.json"):
        _check_ids(vocab, name)
        missing = [token for token in SPECIAL_ENTITIES if token not in vocab]
        if missing:
            raise TokenizerFileError(
                f"{name}: the special entities {', '.join(missing)} are missing; an entity "
                "vocabulary for LUKE must contain [PAD], [UNK], [MASK] and [MASK2]"
            )
        special_ids = {token: vocab[token] for token in SPECIAL_ENTITIES}
        if len(set(special_ids.values())) < len(special_ids):
            raise TokenizerFileError(
                f"{name}: the special entities must have distinct ids, got "
                + ", ".join(f"{token}={i}" for token, i in special_ids.items())
            )
        self.vocab = vocab  # title -> id, the same dict transformers calls `entity_vocab`
        self._titles: dict[int, str] | None = None  # id -> title, built on first use
        self.pad_id = vocab[PAD]
        self.unk_id = vocab[UNK]
        self.mask_id = vocab[MASK]
        self.mask2_id = vocab[MASK2]

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> EntityVocab:
        """Read either layout of ``entity_vocab.json`` (see the module docstring)."""
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
        elif not isinstance(data, dict):
            raise TokenizerFileError(
                f"{name}: expected a JSON object {{title: id}} or a list of "
                f'{{"id": .., "entities": [[title, language], ..]}} records, '
                f"got {type(data).__name__}"
            )
        return cls(data, name=name)

    def __len__(self) -> int:
        return len(self.vocab)

    def __contains__(self, title: object) -> bool:
        return title in self.vocab

    def __iter__(self):
        return iter(self.vocab)

    def title_to_id(self, title: str, language: str | None = None) -> int:
        """The id of ``title`` ("lang:title" when ``language`` is given), or the [UNK] id."""
        key = title if language is None or title in SPECIAL_ENTITIES else f"{language}:{title}"
        return self.vocab.get(key, self.unk_id)

    def id_to_title(self, entity_id: int) -> str:
        """The title of ``entity_id`` (for multilingual files, one of its "lang:title" keys)."""
        if self._titles is None:
            titles: dict[int, str] = {}
            for title, i in self.vocab.items():
                titles.setdefault(i, title)  # shared ids: keep the first title
            self._titles = titles
        try:
            return self._titles[entity_id]
        except KeyError:
            message = f"no entity has the id {entity_id} (ids go up to {len(self) - 1})"
            raise KeyError(message) from None

    def save(self, path: str | os.PathLike) -> str:
        """Write the published layout ``{"title": id}`` (as transformers' save_pretrained)."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(json.dumps(self.vocab, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        return str(path)


def _check_ids(vocab: dict, name: str) -> None:
    """Every id an int >= 0 and < 2**63 (one pass, fast enough for 500k entries)."""
    for title, i in vocab.items():
        if type(i) is not int or not 0 <= i < 2**63:  # ids become int64 arrays
            raise TokenizerFileError(f"{name}: id of {title!r} is {i!r}, not an int >= 0 "
                                     "and < 2**63")


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

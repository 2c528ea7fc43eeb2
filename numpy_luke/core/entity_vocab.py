"""The entity vocabulary: which Wikipedia titles LUKE knows, and the id of each.

LUKE has two vocabularies. Words go through byte-level BPE (``bpe.py``); entities are looked
up whole: the title "Ana Ivanovic" is one entity with one id and one embedding. A title the
model never saw maps to the ``[UNK]`` entity. Four special entities are always present:

    [PAD]    fills the entity sequence of shorter examples in a batch
    [UNK]    a title that is not in the vocabulary
    [MASK]   "some entity, please predict which" (and the entity of entity-classification tasks)
    [MASK2]  the second (tail) entity of entity-pair classification

Multilingual (mLUKE) vocabularies key titles as "language:title" ("en:Tokyo", "ja:東京"),
several keys sharing one id; the special entities stay bare. Look them up as
``vocab.title_to_id("Tokyo", language="en")`` or ``vocab.title_to_id("en:Tokyo")``.

Reading ``entity_vocab.json`` (both layouts) and checking it is the shell's job:
``numpy_luke/tokenizer_files.py``.
"""

from __future__ import annotations

PAD, UNK, MASK, MASK2 = "[PAD]", "[UNK]", "[MASK]", "[MASK2]"
SPECIAL_ENTITIES = (PAD, UNK, MASK, MASK2)


class EntityVocab:
    """Entity title <-> id, with ``[UNK]`` for unknown titles.

    >>> vocab = EntityVocab({"[PAD]": 0, "[UNK]": 1, "[MASK]": 2, "Tokyo": 3, "[MASK2]": 4})
    >>> vocab.title_to_id("Tokyo"), vocab.title_to_id("Atlantis"), vocab.id_to_title(3)
    (3, 1, 'Tokyo')
    """

    def __init__(self, vocab: dict[str, int]):
        self.vocab = vocab  # title -> id, the same dict transformers calls `entity_vocab`
        self.pad_id, self.unk_id = vocab[PAD], vocab[UNK]
        self.mask_id, self.mask2_id = vocab[MASK], vocab[MASK2]
        self.special_ids = [vocab[title] for title in SPECIAL_ENTITIES]
        # id -> title, built on first use (500,000 titles take ~0.1 s). No lock: the table is
        # built in a local and published by one assignment, so threads sharing a vocabulary
        # never see a half-built table (two may build it at once: wasted work, same result),
        # and the vocabulary stays picklable and deep-copyable (a lock is neither).
        self._titles: dict[int, str] | None = None

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
        try:
            return self._id_to_title()[entity_id]
        except KeyError:
            message = f"no entity has the id {entity_id} (ids go up to {len(self) - 1})"
            raise KeyError(message) from None

    def _id_to_title(self) -> dict[int, str]:
        titles = self._titles
        if titles is None:
            titles = {}
            for title, i in self.vocab.items():
                titles.setdefault(i, title)  # shared ids: keep the first title
            self._titles = titles  # published only once complete
        return titles

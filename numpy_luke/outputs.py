"""What the models return: dataclasses readable by attribute, by key and by position.

Like transformers' ``ModelOutput``: ``out.logits``, ``out["logits"]`` and ``out[0]`` all
work, and fields that are ``None`` (no loss without labels, no hidden states unless asked)
are left out of ``keys()``, ``items()``, iteration by position and ``to_tuple()``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

Array = np.ndarray


class ModelOutput:
    """Mixin for the output dataclasses: mapping-like access over the non-None fields."""

    def keys(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]

    def values(self) -> list:
        return [getattr(self, key) for key in self.keys()]

    def items(self) -> list[tuple[str, object]]:
        return [(key, getattr(self, key)) for key in self.keys()]

    def to_tuple(self) -> tuple:
        return tuple(self.values())

    def __getitem__(self, key):
        if isinstance(key, (int, slice)):
            return self.to_tuple()[key]
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key) -> bool:
        return key in self.keys()

    def __iter__(self):
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def get(self, key, default=None):
        return getattr(self, key) if key in self.keys() else default


@dataclass
class BaseLukeModelOutputWithPooling(ModelOutput):
    """``LukeModel``'s output.

    last_hidden_state: (batch, words, hidden); pooler_output: (batch, hidden);
    hidden_states: layers + 1 arrays (batch, words, hidden) (embeddings first);
    attentions: layers arrays (batch, heads, words + entities, words + entities);
    entity_last_hidden_state: (batch, entities, hidden);
    entity_hidden_states: layers + 1 arrays (batch, entities, hidden).
    """

    last_hidden_state: Array | None = None
    pooler_output: Array | None = None
    hidden_states: tuple[Array, ...] | None = None
    attentions: tuple[Array, ...] | None = None
    entity_last_hidden_state: Array | None = None
    entity_hidden_states: tuple[Array, ...] | None = None


@dataclass
class LukeMaskedLMOutput(ModelOutput):
    """``LukeForMaskedLM``: logits (batch, words, vocab), entity_logits (batch, entities,
    entity_vocab); loss = mlm_loss + mep_loss over the labels given."""

    loss: Array | None = None
    mlm_loss: Array | None = None
    mep_loss: Array | None = None
    logits: Array | None = None
    entity_logits: Array | None = None
    hidden_states: tuple[Array, ...] | None = None
    entity_hidden_states: tuple[Array, ...] | None = None
    attentions: tuple[Array, ...] | None = None


@dataclass
class _ClassificationOutput(ModelOutput):
    loss: Array | None = None
    logits: Array | None = None
    hidden_states: tuple[Array, ...] | None = None
    entity_hidden_states: tuple[Array, ...] | None = None
    attentions: tuple[Array, ...] | None = None


@dataclass
class EntityClassificationOutput(_ClassificationOutput):
    """``LukeForEntityClassification``: logits (batch, num_labels)."""


@dataclass
class EntityPairClassificationOutput(_ClassificationOutput):
    """``LukeForEntityPairClassification``: logits (batch, num_labels)."""


@dataclass
class EntitySpanClassificationOutput(_ClassificationOutput):
    """``LukeForEntitySpanClassification``: logits (batch, entities, num_labels)."""


@dataclass
class LukeSequenceClassifierOutput(_ClassificationOutput):
    """``LukeForSequenceClassification``: logits (batch, num_labels)."""


@dataclass
class LukeTokenClassifierOutput(_ClassificationOutput):
    """``LukeForTokenClassification``: logits (batch, words, num_labels)."""


@dataclass
class LukeMultipleChoiceModelOutput(_ClassificationOutput):
    """``LukeForMultipleChoice``: logits (batch, num_choices)."""


@dataclass
class LukeQuestionAnsweringModelOutput(ModelOutput):
    """``LukeForQuestionAnswering``: start_logits and end_logits, each (batch, words)."""

    loss: Array | None = None
    start_logits: Array | None = None
    end_logits: Array | None = None
    hidden_states: tuple[Array, ...] | None = None
    entity_hidden_states: tuple[Array, ...] | None = None
    attentions: tuple[Array, ...] | None = None

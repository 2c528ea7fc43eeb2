"""The user's texts, spans and titles -> the core's segments, checked; lists -> BatchEncoding.

``LukeTokenizer`` (``tokenizer.py``) hands each example here: the entity arguments are
checked (spans inside the text, one title per span, the span count a task needs), then the
core makes one ``Segment`` per text (``core/entity_inputs.py``: words, entity ids and token
spans). After the core has built and padded the inputs (``core/model_inputs.py``), the lists
become a ``BatchEncoding``, of Python lists or int64 arrays.
"""

from __future__ import annotations

import numpy as np

from .checks import is_int, short
from .core import entity_inputs
from .core.entity_inputs import Segment
from .mentions import check_spans, check_text
from .tasks import TASK_SPANS, spans_fit_task

ENTITY_ARGUMENTS = ("text_pair", "entity_spans", "entity_spans_pair", "entities",
                    "entities_pair")


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


def check_texts(text, name: str) -> None:
    """One text, or a batch of them (a list or tuple of texts)."""
    if isinstance(text, (list, tuple)):
        for k, one in enumerate(text):
            check_text(one, f"{name}[{k}]")
    else:
        check_text(text, name)


def split_batch(text: list[str], per_example: dict) -> list[dict]:
    """A batch's arguments (each a list with one item per text, or None) -> one dict of
    arguments per text."""
    batch = len(text)
    for name, value in per_example.items():
        if value is not None and (not isinstance(value, (list, tuple)) or len(value) != batch):
            raise ValueError(f"text is a batch of {batch} texts, so {name} must be a list "
                             f"of {batch} items (one per text), got {short(value)}")
    examples = []
    for k in range(batch):
        item = {name: None if value is None else value[k] for name, value in per_example.items()}
        # as transformers: in a batch, an empty list of entities means "none given"
        for name in ("entities", "entities_pair"):
            if not item[name]:
                item[name] = None
        examples.append(item)
    return examples


def segments(tokenizer, text, text_pair, entity_spans, entity_spans_pair, entities,
             entities_pair, options) -> tuple[Segment, Segment | None]:
    """Check one example's entity arguments, then run the core: one ``Segment`` per text."""
    task = options.task
    # the word path: added tokens, then the core BPE
    prefix = tokenizer.add_prefix_space if options.add_prefix_space is None \
        else options.add_prefix_space
    words = tokenizer.tokens.words.encode
    to_ids = words if not prefix else \
        lambda piece: words(" " + piece if piece and not piece[0].isspace() else piece)
    if task is None:
        # transformers ignores titles without spans; we say so rather than drop them
        if entities is not None and entity_spans is None:
            raise ValueError("entities were given without entity_spans; say where each "
                             "entity is mentioned with entity_spans=[(start, end), ...]")
        if entities_pair is not None and entity_spans_pair is None:
            raise ValueError("entities_pair was given without entity_spans_pair; say where "
                             "each entity is mentioned with entity_spans_pair")
        first = _plain_segment(tokenizer, text, entity_spans, entities, "entity_spans",
                               "entities", to_ids)
        second = None if text_pair is None else _plain_segment(
            tokenizer, text_pair, entity_spans_pair, entities_pair, "entity_spans_pair",
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
    markers = tuple(tokenizer.convert_tokens_to_ids([tokenizer.entity_token_1,
                                                      tokenizer.entity_token_2]))
    masks = (tokenizer.entity_mask_token_id, tokenizer.entity_mask2_token_id)
    return entity_inputs.task_segment(task, text, spans, to_ids, markers, masks), None


def _plain_segment(tokenizer, text, entity_spans, entities, spans_name, entities_name,
                   to_ids) -> Segment:
    """Task-free: words only, or entities with ids from titles (or [MASK])."""
    if entity_spans is None:
        return Segment(to_ids(text))
    if not isinstance(entity_spans, list):
        raise TypeError(f"{spans_name} must be a list of (start, end) character "
                        f"spans, got {short(entity_spans)}")
    spans = check_spans(text, entity_spans, name=spans_name, mention=False)
    if entities is None:
        entity_ids = [tokenizer.entity_mask_token_id] * len(spans)
    else:
        if not isinstance(entities, list) or not all(isinstance(e, str) for e in entities):
            raise ValueError(f"{entities_name} must be a list of entity titles (strings), "
                             f"got {short(entities)}")
        if len(entities) != len(spans):
            raise ValueError(f"{entities_name} has {len(entities)} titles but {spans_name} "
                             f"has {len(spans)} spans; give one title per span")
        title_to_id = tokenizer.entity_vocabulary.title_to_id
        entity_ids = [title_to_id(title) for title in entities]
    return entity_inputs.entity_segment(text, spans, entity_ids, to_ids)


def id_segments(ids, pair_ids, entity_ids, pair_entity_ids, token_spans, pair_token_spans
                ) -> tuple[Segment, Segment | None]:
    """``prepare_for_model``'s token ids (and entity ids with their token spans), checked,
    as the core's segments."""
    for name, value in (("ids", ids), ("pair_ids", pair_ids)):
        if value is not None and (not isinstance(value, (list, tuple))
                                  or not all(is_int(i) for i in value)):
            raise TypeError(f"{name} must be a list of token ids, got {short(value)}")
    if (entity_ids is None) != (token_spans is None) or \
            (pair_entity_ids is None) != (pair_token_spans is None):
        raise ValueError("give entity ids together with their token spans")

    def segment(ids, entity_ids, spans) -> Segment:
        if entity_ids is None:
            return Segment(list(ids))
        return Segment(list(ids), list(entity_ids), [tuple(s) for s in spans])

    first = segment(ids, entity_ids, token_spans)
    return first, None if pair_ids is None else segment(pair_ids, pair_entity_ids,
                                                        pair_token_spans)


def to_arrays(encoded: dict[str, list], mention: int, batch_axis: bool = True
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

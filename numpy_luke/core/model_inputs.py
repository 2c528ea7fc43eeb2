"""The model's inputs: an example's segments (``entity_inputs.py``) -> the lists LUKE reads.

1. Truncation to ``max_length``, by transformers' rules: word tokens go from the end (the
   start with ``truncation_side="left"``), of the longer text first (``longest_first``) or
   of one (``only_first``/``only_second``). An entity whose mention lost a token is dropped,
   the others are counted after the cut; then entities beyond ``max_entity_length`` go.
2. Special tokens and entity rows: steps 3-4 of ``entity_inputs.py``.
3. Padding a batch (``<pad>`` words, [PAD] entities with rows of -1), right or left. Left
   padding moves the words, and ``entity_start/end_positions`` with them; not
   ``entity_position_ids``: they index position embeddings, and the words' position ids
   skip padding, so an entity keeps the position vectors of its mention's words.
"""

from __future__ import annotations

from dataclasses import dataclass

from .entity_inputs import Segment, position_row


@dataclass(slots=True)  # not frozen: a frozen dataclass costs ~1 us per call to build
class InputSettings:
    """How a call shapes its inputs, by transformers' names (resolved by the shell)."""

    task: str | None = None  # "entity_span_classification": entity start/end positions
    add_special_tokens: bool = True
    max_length: int | None = None
    max_entity_length: int | None = None
    max_mention_length: int = 30
    truncation: str = "do_not_truncate"  # or "longest_first", "only_first", "only_second"
    truncation_side: str = "right"
    padding: str = "do_not_pad"  # or "longest", "max_length"
    padding_side: str = "right"
    pad_to_multiple_of: int | None = None
    return_attention_mask: bool = True
    return_token_type_ids: bool = False  # all 0: LUKE, as RoBERTa, uses none
    return_special_tokens_mask: bool = False


def truncate(first: list, second: list | None, remove: int, strategy: str, side: str):
    """Remove ``remove`` items from the end of ``first``/``second`` (the start if ``side`` is
    "left"): ``longest_first`` from the longer (alternating once equally long), ``only_*``
    from that one. Too short: both come back as they were, the same lists (as transformers)."""

    def cut(items: list, n: int) -> list:
        return items if n <= 0 else items[n:] if side == "left" else items[:-n]

    if strategy == "only_first" or (strategy == "longest_first" and second is None):
        return (cut(first, remove), second) if len(first) > remove else (first, second)
    if strategy == "only_second":
        too_short = second is None or len(second) <= remove
        return (first, second) if too_short else (first, cut(second, remove))
    difference = min(abs(len(first) - len(second)), remove)  # even out, then alternate
    n_first = (remove - difference) // 2 + (difference if len(first) > len(second) else 0)
    return cut(first, n_first), cut(second, remove - n_first)


def with_special_tokens(words: list[int], pair: list[int] | None, cls: int, sep: int):
    """``<s> A </s>`` or ``<s> A </s></s> B </s>``."""
    return [cls, *words, sep] if pair is None else [cls, *words, sep, sep, *pair, sep]


def special_tokens_mask(n_words: int, n_pair: int | None) -> list[int]:
    """1 where ``with_special_tokens`` put a special token, 0 on the words."""
    mask = [1] + [0] * n_words + [1]
    return mask if n_pair is None else mask + [1] + [0] * n_pair + [1]


def model_input(first: Segment, second: Segment | None, special: tuple[int, int],
                s: InputSettings) -> tuple[dict[str, list], list[tuple[str, str]]]:
    """One example, not padded: truncated, with ``special`` (<s>, </s>) if
    ``s.add_special_tokens``, and its entities; and notes for the user, (level, message)."""
    words, pair, notes = first.word_ids, None if second is None else second.word_ids, []
    remove = len(words) + len(pair or ()) - (s.max_length or 0) + (
        (2 if pair is None else 4) if s.add_special_tokens else 0)
    cut = (0, 0)  # word tokens truncated from the start of each text
    if s.truncation != "do_not_truncate" and s.max_length and remove > 0:
        words, pair = _truncate(words, pair, remove, s, "word tokens", notes)
        if s.truncation_side == "left":
            cut = (len(first.word_ids) - len(words),
                   0 if pair is None else len(second.word_ids) - len(pair))
    input_ids = with_special_tokens(words, pair, *special) if s.add_special_tokens \
        else words + (pair or [])
    out = {"input_ids": input_ids}
    if s.return_token_type_ids:
        out["token_type_ids"] = [0] * len(input_ids)
    if s.return_special_tokens_mask:
        out["special_tokens_mask"] = [0] * len(input_ids) if not s.add_special_tokens else \
            special_tokens_mask(len(words), None if pair is None else len(pair))
    if first.entity_ids is not None:  # <s> A </s></s> B </s>: B starts at len(A) + 3
        offsets = (1, len(words) + 3) if s.add_special_tokens else (0, len(words))
        lengths = (len(words), None if pair is None else len(pair))
        out.update(_entity_rows(first, second, lengths, cut, offsets, s, notes))
    return out, notes


def _truncate(first, second, remove, s, what, notes):
    kept = truncate(first, second, remove, s.truncation, s.truncation_side)
    failed = kept[0] is first and kept[1] is second  # transformers logs an error
    if failed and (second is not None or s.truncation != "only_second"):
        which = ("second", second) if s.truncation == "only_second" else ("first", first)
        notes.append(("error", f"cannot truncate: {remove} {what} to remove but the "
                               f"{which[0]} sequence has {len(which[1])}"))
    return kept


def kept_entities(segment: Segment, cut: int, n_words: int) -> list[tuple[int, tuple]]:
    """(id, token span) of the entities whose mention survived truncation: ``cut`` tokens
    went from the start of the text (the spans move left), ``n_words`` are left."""
    if not cut:
        return [(i, span) for i, span in zip(segment.entity_ids, segment.token_spans,
                                             strict=True) if span[1] <= n_words]
    return [(i, (span[0] - cut, span[1] - cut))
            for i, span in zip(segment.entity_ids, segment.token_spans, strict=True)
            if span[0] >= cut and span[1] - cut <= n_words]


def _entity_rows(first, second, lengths, cut, offsets, s, notes) -> dict[str, list]:
    """The entities whose mention survived, cut to ``max_entity_length``: ids, rows."""
    kept = kept_entities(first, cut[0], lengths[0])
    pair = None if second is None or second.entity_ids is None else kept_entities(
        second, cut[1], lengths[1])
    given = len(first.entity_ids) + (0 if pair is None else len(second.entity_ids))
    if given > len(kept) + len(pair or ()):
        notes.append(("warning", f"{given - len(kept) - len(pair or ())} entities are "
                                 "ignored because truncation removed their mentions"))
    remove = len(kept) + len(pair or ()) - (s.max_entity_length or 0)
    if s.truncation != "do_not_truncate" and s.max_entity_length and remove > 0:
        kept, pair = _truncate(kept, pair, remove, s, "entities", notes)
    rows = [(i, span, offsets[0]) for i, span in kept]
    rows += [(i, span, offsets[1]) for i, span in pair or ()]
    out = {"entity_ids": [i for i, _, _ in rows], "entity_position_ids": [
        position_row(span, offset, s.max_mention_length) for _, span, offset in rows]}
    if s.task == "entity_span_classification":
        out["entity_start_positions"] = [span[0] + offset for _, span, offset in rows]
        out["entity_end_positions"] = [span[1] + offset - 1 for _, span, offset in rows]
    if s.return_token_type_ids:
        out["entity_token_type_ids"] = [0] * len(rows)
    return out


# How each key is padded (None: the <pad> / [PAD] id; entity_position_ids: rows of -1)
WORD_FILL = {"input_ids": None, "token_type_ids": 0, "attention_mask": 0,
             "special_tokens_mask": 1}
ENTITY_FILL = {"entity_ids": None, "entity_position_ids": None, "entity_attention_mask": 0,
               "entity_token_type_ids": 0, "entity_start_positions": 0,
               "entity_end_positions": 0}


def pad(examples: list[dict[str, list]], s: InputSettings, max_entity_length: int | None,
        pad_ids: tuple[int, int]) -> dict[str, list]:
    """Stack examples into one list per key, padded (``s.padding``) to the longest or to
    ``max_length``/``max_entity_length``, rounded up to ``pad_to_multiple_of``, on
    ``s.padding_side``; ``pad_ids``: <pad>'s and [PAD]'s. Adds the attention masks."""
    entities, on = bool(examples) and "entity_ids" in examples[0], s.padding != "do_not_pad"
    length, multiple = s.max_length, s.pad_to_multiple_of if on else None
    if s.padding == "longest":
        length = max((len(e["input_ids"]) for e in examples), default=0)
    if entities and on and (s.padding == "longest" or max_entity_length is None):
        max_entity_length = max(len(e["entity_ids"]) for e in examples)
    if multiple:
        length = -(-length // multiple) * multiple
        if entities:
            max_entity_length = -(-max_entity_length // multiple) * multiple
    batch: dict[str, list] = {}
    for example in examples:
        padded = _pad_one(example, length if on else None, max_entity_length if on else None,
                          s, pad_ids)
        for key, value in padded.items():
            batch.setdefault(key, []).append(value)
    return batch


def _extend(values: list, fill, n: int, left: bool) -> list:
    return values if not n else [fill] * n + values if left else values + [fill] * n


def _pad_one(example, length, entity_length, s, pad_ids) -> dict[str, list]:
    left, words, padded = s.padding_side == "left", len(example["input_ids"]), dict(example)
    n_pad = 0 if length is None else max(0, length - words)
    for key, fill in WORD_FILL.items() if n_pad else ():
        if key in padded:
            padded[key] = _extend(padded[key], pad_ids[0] if fill is None else fill, n_pad, left)
    if s.return_attention_mask and "attention_mask" not in example:
        padded["attention_mask"] = _extend([1] * words, 0, n_pad, left)
    if "entity_ids" not in example:
        return padded
    n, shift = len(example["entity_ids"]), n_pad if left else 0
    e_pad = 0 if entity_length is None else max(0, entity_length - n)
    for key, fill in ENTITY_FILL.items() if e_pad or shift else ():
        value = padded.get(key)
        if key == "entity_position_ids" and value is not None:  # never shifted (docstring)
            fill = [-1] * (len(value[0]) if value else s.max_mention_length)
        elif key == "entity_ids":
            fill = pad_ids[1]
        elif shift and key in ("entity_start_positions", "entity_end_positions"):
            value = None if value is None else [p + shift for p in value]
        if value is not None:
            padded[key] = _extend(value, fill, e_pad, left)
    if s.return_attention_mask and "entity_attention_mask" not in example:
        padded["entity_attention_mask"] = _extend([1] * n, 0, e_pad, left)
    return padded

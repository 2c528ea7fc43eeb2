"""LUKE's entity inputs: from character spans to the entity rows the model reads.

LUKE reads two sequences side by side: word tokens and entities. The user marks where the
entities are mentioned with character spans; this module turns them into entity inputs.
Take "Top seed Ana Ivanovic said on Thursday" with the span (9, 21) = "Ana Ivanovic":

1. Cut the text at every span boundary (all starts and ends, sorted). When the character
   just before a boundary is a space, cut before that space instead: BPE writes a word
   together with the space in front of it ("ĠAna"), so the space belongs to the mention.
   "Top seed| Ana Ivanovic| said on Thursday"
2. Tokenise each piece on its own and concatenate. A boundary's token position is the
   number of tokens before it, so a span covers whole tokens: [Top, Ġseed, ĠAna, ĠIvan,
   ovic, Ġsaid, ...], the mention is tokens [2, 5). (Cutting can change the tokens of a
   word that a span starts or ends inside.)
3. The special tokens ``<s> A </s>`` (``<s> A </s></s> B </s>`` for a pair) move every
   position right by 1 (by len(A) + 3 in the second text): the mention is at [3, 4, 5].
4. Each entity gets its id (its title's, or [MASK] when no title is given) and its row of
   word positions, cut to ``max_mention_length`` and padded with -1: [3, 4, 5, -1, ...].

The fine-tuned heads read one of three task layouts:

* ``entity_classification`` (one span): ``<ent>`` is inserted before and after the mention,
  and the entity (id [MASK]) covers the markers too.
* ``entity_pair_classification`` (two spans, head then tail): ``<ent>`` around the head,
  ``<ent2>`` around the tail; entity ids [MASK] and [MASK2].
* ``entity_span_classification`` (any number of candidate spans): no markers; every span is
  a [MASK] entity, and its first and last word token are the start and end positions.

Everything here is a plain function of lists; the tokenizer (``numpy_luke/tokenizer.py``)
checks the user's spans first; ``model_inputs.py`` does steps 3-4, truncation and padding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Span = tuple[int, int]  # [start, end)


@dataclass(frozen=True)
class Segment:
    """One text's inputs before special tokens: its word token ids and, if it has entities,
    their ids and their token spans [start, end) into ``word_ids``."""

    word_ids: list[int]
    entity_ids: list[int] | None = None
    token_spans: list[Span] | None = None


def tokenize_with_spans(text: str, spans: list[Span], to_ids: Callable[[str], list[int]]
                        ) -> tuple[list[int], list[Span]]:
    """Steps 1-2: cut the text at span boundaries (a cut moves before a preceding space),
    tokenise the pieces with ``to_ids``, and map each character span to a token span."""
    words: list[int] = []
    position_of: dict[int, int] = {}  # character boundary -> tokens before it
    done = 0  # characters tokenised so far
    for boundary in sorted({b for span in spans for b in span}):
        cut = boundary - 1 if boundary > 0 and text[boundary - 1] == " " else boundary
        if cut != done:
            words += to_ids(text[done:cut])
            done = cut
        position_of[boundary] = len(words)
    words += to_ids(text[done:])
    return words, [(position_of[start], position_of[end]) for start, end in spans]


def entity_segment(text: str, spans: list[Span], entity_ids: list[int],
                   to_ids: Callable[[str], list[int]]) -> Segment:
    """A text whose entities (one id per span) are read as they are, without a task."""
    words, token_spans = tokenize_with_spans(text, spans, to_ids)
    return Segment(words, entity_ids, token_spans)


def insert_markers(words: list[int], span: Span, marker: int) -> list[int]:
    """Put ``marker`` before and after the tokens of ``span``."""
    start, end = span
    return words[:start] + [marker] + words[start:end] + [marker] + words[end:]


def task_segment(task: str, text: str, spans: list[Span], to_ids: Callable[[str], list[int]],
                 markers: tuple[int, int], masks: tuple[int, int]) -> Segment:
    """The three task layouts. ``markers``: the ids of <ent> and <ent2>; ``masks``: the
    entity ids of [MASK] and [MASK2]."""
    words, token_spans = tokenize_with_spans(text, spans, to_ids)
    (ent1, ent2), (mask, mask2) = markers, masks
    if task == "entity_span_classification":
        return Segment(words, [mask] * len(spans), token_spans)
    if task == "entity_classification":
        (start, end), = token_spans
        return Segment(insert_markers(words, (start, end), ent1), [mask], [(start, end + 2)])
    # entity_pair_classification: <ent> around the head, <ent2> around the tail; the mention
    # that comes second in the text moves right by the first one's two markers.
    (head_start, head_end), (tail_start, tail_end) = head, tail = token_spans
    if head_start < tail_start:
        spans = [(head_start, head_end + 2), (tail_start + 2, tail_end + 4)]
        words = insert_markers(insert_markers(words, tail, ent2), head, ent1)
    else:
        spans = [(head_start + 2, head_end + 4), (tail_start, tail_end + 2)]
        words = insert_markers(insert_markers(words, head, ent1), tail, ent2)
    return Segment(words, [mask, mask2], spans)


def position_row(span: Span, offset: int, max_mention_length: int) -> list[int]:
    """Step 4: the word positions of one entity, shifted by ``offset`` (the tokens before its
    text), cut to ``max_mention_length`` and padded with -1: (2, 5), 1, 6 -> [3, 4, 5, -1, -1,
    -1]."""
    start = span[0] + offset
    positions = list(range(start, min(span[1] + offset, start + max_mention_length)))
    return positions + [-1] * (max_mention_length - len(positions))

"""One way in for a user's text: ``[[...]]`` mention markers or character spans, checked.

Every caller that reads a text with mentions (the pipelines, ``python -m numpy_luke``'s
commands, the attention map) goes through ``read_mentions``, so a text is read, and
refused, the same way everywhere:

* the text is a string UTF-8 can encode (``check_text``) and, for a prediction, not blank;
* mentions are marked inline, ``[[Lionel Messi]] plays for ...``, or given as spans
  ``(start, end)`` of the plain text, one or the other (``parse_mentions``,
  ``check_spans``); ``START:END`` on the command line is ``parse_span``;
* a text no tokenization can fit in the model is refused before any tokenization
  (``check_text_length``), and so is a text with more mentions than the model reads.

The tokenizer uses ``check_text`` and ``check_spans`` too, with transformers' errors
(``mention=False``). How many mentions each task reads is ``tasks.check_span_count``.
"""

from __future__ import annotations

import re
import sys

from .checks import is_int, short
from .errors import InputError, InputTypeError
from .streaming import lines_of

Span = tuple[int, int]

_MARKER = re.compile(r"\[\[|\]\]")


def parse_mentions(text: str) -> tuple[str, list[Span]]:
    """Strip ``[[...]]`` mention markers: return the plain text and each mention's span.

    ``"[[Lionel Messi]] plays for [[Inter Miami]]."`` gives
    ``("Lionel Messi plays for Inter Miami.", [(0, 12), (23, 34)])``. Spans are character
    offsets into the plain text; white space just inside the brackets is left out of them.
    """
    pieces: list[str] = []
    raw_spans: list[Span] = []
    open_at: int | None = None  # where the open mention starts, in the plain text
    length = 0  # characters of plain text so far
    last = 0  # end of the previous marker, in the marked text
    for marker in _MARKER.finditer(text):
        pieces.append(text[last : marker.start()])
        length += marker.start() - last
        last = marker.end()
        if marker.group() == "[[":
            if open_at is not None:
                raise InputError(
                    f"mention markers cannot nest: '[[' at character {marker.start()} opens a "
                    "mention inside another; close the first with ']]'"
                )
            open_at = length
        else:
            if open_at is None:
                raise InputError(
                    f"']]' at character {marker.start()} closes no mention; "
                    "mark a mention as [[Lionel Messi]]"
                )
            raw_spans.append((open_at, length))
            open_at = None
    if open_at is not None:
        raise InputError("a mention opened with '[[' is never closed with ']]'")
    pieces.append(text[last:])
    plain = "".join(pieces)

    spans = []
    for start, end in raw_spans:
        mention = plain[start:end]
        if not mention.strip():
            raise InputError("an empty mention '[[ ]]': put the mention's words inside")
        start += len(mention) - len(mention.lstrip())
        end -= len(mention) - len(mention.rstrip())
        spans.append((start, end))
    return plain, spans


def parse_span(spec: str) -> Span:
    """Read a span given on the command line as ``START:END`` (character offsets)."""
    parts = spec.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        start, end = int(parts[0]), int(parts[1])
    except ValueError:
        raise InputError(
            f"malformed span {spec!r}: write START:END, the character offsets of the mention "
            "(e.g. 0:12 for the first 12 characters)"
        ) from None
    return start, end



def parse_spans(specs: list[str | None] | None) -> list[Span] | None:
    """Spans given on the command line as START:END (None when none given)."""
    specs = [s for s in (specs or []) if s is not None]
    return [parse_span(spec) for spec in specs] if specs else None


def read_mentions(text, spans=None, *, fits=None, allow_empty: bool = False
                  ) -> tuple[str, list[Span]]:
    """A user's text -> (plain text, mention spans), checked: the mentions come from
    ``[[...]]`` markers or from ``spans``, one or the other. ``fits(plain)``: the reader's
    own length check, run before the spans are checked (``check_text_length`` with its
    tokenizer). ``allow_empty``: a blank text is read (``tokenize`` shows its <s></s>),
    not refused."""
    check_text(text)
    plain, marked = parse_mentions(text)
    if spans is not None and marked:
        raise InputError(
            "mentions are marked with [[...]] and given as spans; use one or the other"
        )
    if not allow_empty and not plain.strip():
        raise InputError("the text is empty")
    if fits is not None:
        fits(plain)
    return plain, (check_spans(plain, spans) if spans is not None else marked)


def read_texts(arguments: list[str]) -> list[str]:
    """The texts of the command line; '-' stands for the lines of standard input (blank
    lines skipped)."""
    texts = []
    for argument in arguments:
        if argument == "-":
            # lines as a corpus file reads them (split at \n only, no BOM); undecodable
            # bytes become lone surrogates, which the pipeline reports clearly
            texts.extend(line for line in lines_of(sys.stdin.buffer) if line.strip())
        else:
            texts.append(argument)
    if not texts:
        raise InputError("no text given (standard input was empty)")
    return texts


def check_text(text, name: str | None = None) -> str:
    """A text: a string that UTF-8 can encode (byte-level BPE reads bytes), so without lone
    surrogates, which is what undecodable bytes on a command line or in a file become.

    ``name``: the argument's name in messages ("text_pair", "text[1]"); None for a user's
    text in a pipeline or on the command line.
    """
    if not isinstance(text, str):
        raise InputTypeError(f"{name or 'text'} must be a string (expected a text, or a list "
                             f"of texts for a batch), got {short(text)}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        found = f"U+{ord(text[error.start]):04X}"
        if name is None:
            where = f"the text is not valid Unicode: character {error.start} is the lone " \
                    f"surrogate {found}"
        else:
            where = f"{name} holds a lone surrogate {found} at character {error.start}, " \
                    "which has no UTF-8 encoding"
        raise InputError(where + " (bytes that were not UTF-8?); pass UTF-8 text") from None
    return text


def check_spans(text: str, spans, *, name: str = "span", mention: bool = True
                ) -> list[tuple[int, int]]:
    """Character spans of ``text``: (start, end) pairs of ints, 0 <= start <= end <= len(text).

    ``mention=True``: a mention a user gives a pipeline or the command line; it must cover
    some non-blank text, and errors are ``InputError``s. ``mention=False``: an argument of
    the tokenizer, which, as transformers, accepts an empty span (start == end) and raises
    transformers' ``ValueError`` / ``TypeError``.
    """
    value_error, type_error = (InputError, InputTypeError) if mention else (ValueError, TypeError)
    checked = []
    for k, span in enumerate(spans):
        if not isinstance(span, (tuple, list)) or len(span) != 2:
            raise value_error(f"{_span_name(name, k, span)} is not a (start, end) pair of "
                              "integers (character offsets); give spans as a list of tuples "
                              "like [(0, 5), (10, 14)]")
        start, end = span
        if not (type(start) is int or is_int(start)) or not (type(end) is int or is_int(end)):
            wrong = end if is_int(start) else start
            raise type_error(f"{_span_name(name, k, span)} is not a pair of integers: "
                             f"character offsets must be ints, got {type(wrong).__name__}")
        start, end = int(start), int(end)
        if not 0 <= start <= len(text) or not 0 <= end <= len(text):
            raise value_error(f"{_span_name(name, k, span)} is outside the text, which has "
                              f"{len(text)} characters: out of range (offsets must be in "
                              f"0..{len(text)})")
        if start > end or (start == end and mention):
            what = "empty or reversed: START must be below END" if mention else \
                "reversed: START must be <= END"
            raise value_error(f"{_span_name(name, k, span)} is {what}")
        if mention and not text[start:end].strip():
            raise value_error(f"{_span_name(name, k, span)} covers only white space")
        checked.append((start, end))
    return checked


def _span_name(name: str, k: int, span) -> str:
    """How a message names a span: "span 7:3" (a user's mention) or "entity_spans[1] =
    (7, 3)" (an argument of the tokenizer)."""
    if name == "span" and isinstance(span, (tuple, list)) and len(span) == 2 \
            and all(is_int(x) for x in span):
        return f"span {int(span[0])}:{int(span[1])}"
    return f"{name}[{k}] = {short(span)}" if name != "span" else f"span {short(span)}"



def check_mention_count(count: int, most: int) -> None:
    """At most ``most`` mentions in one text (the tokenizer's ``max_entity_length``): the
    entity inputs, and the attention over them, grow with every mention."""
    if count > most:
        raise InputError(f"the text has {count} mentions, but the model reads at most {most} "
                         "per text (the tokenizer's max_entity_length); split the text")


def fewest_tokens(pieces: list[tuple[str, bool]], longest: int) -> int:
    """The fewest word tokens a text can become, from its split around added tokens
    (``(piece, is_added_token)``, the core's ``split_added_tokens``): an added token is one
    token; any other piece of ``c`` characters is at least ``c`` UTF-8 bytes and a token
    holds at most ``longest`` bytes, so it needs at least ceil(c / longest) tokens. White
    space that an added token strips is in no piece and costs nothing."""
    return sum(1 if added else -(-len(piece) // longest) for piece, added in pieces)


def check_text_length(text: str, split, longest: int, most: int) -> None:
    """Refuse, before any tokenization, a text that no tokenization can fit in ``most``
    word tokens (the model's limit less <s> and </s>). Exact, not a heuristic: it refuses
    only texts that would be refused after tokenization. ``split``: the tokenizer's split
    around added tokens, called only for texts longer than ``most * longest`` characters."""
    if len(text) <= most * longest:
        return
    fewest = fewest_tokens(split(text), longest)
    if fewest > most:
        raise InputError(f"the text has {len(text):,} characters, at least {fewest:,} tokens, "
                         f"but the model reads at most {most} besides <s> and </s>; shorten it")



def longest_token(tokenizer) -> int:
    """The most characters one token can stand for: its length in bytes (vocab.json writes
    one character per byte), or a merge's result, or an added token's text (for
    check_text_length)."""
    return max([len(token) for token in tokenizer.get_vocab()]
               + [len(a) + len(b) for a, b in tokenizer.bpe.merge_ranks])

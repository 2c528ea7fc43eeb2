"""Input checks, one checker per rule: the shell validates here, once, then calls the core.
"""

from __future__ import annotations

import numbers
import reprlib

from .errors import InputError, InputTypeError, TokenizerFileError

# ---------------------------------------------------------------------------------------
# Texts, spans, ids, task rules (the tokenizer and the pipelines)
# ---------------------------------------------------------------------------------------

# The tokenizer's tasks (None: plain entity inputs) and how many entity spans each reads:
# task -> (fewest, most or None, in words). The single source of these counts.
TASKS = (None, "entity_classification", "entity_pair_classification", "entity_span_classification")
TASK_SPANS = {
    "entity_classification": (1, 1, "exactly one mention"),
    "entity_pair_classification": (2, 2, "exactly two mentions (head, tail)"),
    "entity_span_classification": (1, None, "at least one mention"),
}


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 80, 80


def short(value) -> str:
    """A bounded repr for error messages: a plain repr of a user's or a file's value can be
    huge, or fail (an int with more digits than Python prints)."""
    try:
        return _REPR.repr(value)
    except Exception:
        return f"<{type(value).__name__}>"


def is_int(value) -> bool:
    """An integer (Python or NumPy) that is not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(value, name: str) -> int:
    if not is_int(value) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {short(value)}")
    return int(value)


def check_id(value, where: str, *, json_key: bool = False) -> int:
    """A token or entity id: an int in [0, 2**63), since ids become int64 arrays.

    ``json_key``: the id is a JSON object key (a string of digits, as in
    ``added_tokens_decoder``), or an int key given in Python.
    """
    if json_key and isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            pass
    if type(value) is not int or not 0 <= value < 2**63:
        raise TokenizerFileError(f"{where} is {short(value)}, not an int >= 0 and < 2**63")
    return value


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


def check_span_count(task: str, count: int, who: str, how: str = "", then: str = "") -> None:
    """``count`` entity spans must fit ``task`` (TASK_SPANS); the message reads
    "{who} needs exactly one mention{how}, got 2{then}"."""
    if not spans_fit_task(task, count):
        raise InputError(f"{who} needs {TASK_SPANS[task][2]}{how}, got {count}{then}")


def spans_fit_task(task: str, count: int) -> bool:
    fewest, most, _ = TASK_SPANS[task]
    return fewest <= count and (most is None or count <= most)


def max_entities(task: str | None, default: int) -> int:
    """Entities per text: fixed by the task (one, or a head and a tail), else ``default``."""
    most = TASK_SPANS.get(task, (None, None))[1]
    return default if most is None else most


# ---------------------------------------------------------------------------------------
# Model inputs (LukeModel and the heads)
# ---------------------------------------------------------------------------------------

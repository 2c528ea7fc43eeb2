"""Running a pipeline over a corpus: read lazily, batch by length, answer in input order.

A file of texts can be far larger than memory, and a run over it can be stopped at any
moment. So the items are read one at a time and handled in *windows* of a bounded number
of items:

1. Read up to ``window`` items (a plain text line, or a JSON Lines record with the fields
   of the Python API) and check each one; a bad item becomes an error record at once.
2. Sort the window's good items by length and cut them into batches, so that texts of
   similar length run together and little compute goes into padding.
3. Run the batches, the one holding the window's first pending item first, and after each
   batch hand out every result whose predecessors are all done: results come out in input
   order, as early as that order allows.

Memory stays flat in the corpus size: one window of items and results at a time. When
stopping at the first bad item, "first" is in input order, not in the order batches run;
a source that raises midway gets the items it handed over answered before its error.
The same code answers a list given to a pipeline, as one window (``Pipeline._answers``).

What ``stream`` drives is any ``Runner`` (below): every pipeline is one, and so is the
command line's ``tokenize``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from .checks import quoted
from .errors import InputError

# Items read ahead and sorted by length at once: big enough for batches of similar
# lengths, small enough that the first results come out early.
WINDOW_BATCHES = 8

# The fields of a record (a JSON Lines line, or a dict given to a pipeline).
RECORD_FIELDS = ("text", "entity_spans", "head", "tail")


@dataclass
class Item:
    """One input of a corpus: its 1-based number (line), the text and its mention spans."""

    number: int
    text: Any
    entity_spans: Any = None
    error: str | None = None  # set when the input could not even be read


class Runner(Protocol):
    """What ``stream`` runs: the contract between a corpus and the code that answers it.

    ``batch_size``: at most this many items per ``run``.
    ``read(text, spans, number)``: one input -> ``(plain text, mention spans)``, checked;
    raises ``InputError`` for a bad input (``number`` names it in the message, or None).
    ``cut(indices, lengths)``: items sorted by length (``lengths`` in characters) -> the
    batches to run, as lists of those indices.
    ``run(items, **options)``: the answers to a batch of ``read``'s pairs, in their order;
    an ``InputError`` makes ``stream`` run the batch's items one by one.
    """

    batch_size: int

    def read(self, text: Any, spans: Any, number: int | None) -> tuple[str, list]: ...

    def cut(self, indices: list[int], lengths: list[int]) -> list[list[int]]: ...

    def run(self, items: list[tuple[str, list]], **options) -> list: ...


BOM = "\ufeff"  # the UTF-8 byte order mark Notepad and PowerShell put first


def lines_of(binary, at_start: bool = True) -> Iterator[str]:
    """The lines of a file opened in binary mode (or standard input's buffer), read lazily.

    A line ends only at a line feed (a lone carriage return is an ordinary character, so
    line numbers are those of ``wc -l`` and ``sed -n``) and loses it and one carriage return
    before it; a UTF-8 byte order mark at the start of the file is dropped (``at_start``:
    the bytes begin at the file's start, not at a part of it that scale_out cut). Undecodable
    bytes become lone surrogates, which the text check then reports for that line alone."""
    for raw in binary:  # binary files split at b"\n" only
        yield decode_line(raw, at_start)
        at_start = False


def decode_line(raw: bytes, first: bool) -> str:
    """One line as ``lines_of`` reads it: ``raw`` as split at b"\n", ``first`` when it is
    the file's first line."""
    line = raw.decode("utf-8", errors="surrogateescape")
    if line.endswith("\n"):
        line = line[:-1]
    if line.endswith("\r"):
        line = line[:-1]
    return line.removeprefix(BOM) if first else line


def read_items(lines: Iterable[str], input_format: str = "auto",
               chosen=None) -> Iterator[Item]:
    """Items from the lines of a file: plain text (one text a line, [[...]] marks mentions)
    or JSON Lines (``{"text": ..., "entity_spans": [[s, e], ...]}``, with ``"head"`` and
    ``"tail"`` for relations, or a JSON string as a bare text). Blank lines are skipped but
    counted, so ``number`` is the line number in the file.

    ``"auto"`` decides by the first non-blank line: JSON Lines if it starts with ``{`` (a
    malformed first record is then that line's error, not a reason to read the file as
    plain text) or is a JSON string; plain text otherwise. ``chosen(format, reason)`` is
    called once with what auto decided."""
    for number, line in enumerate(lines, start=1):
        if line.endswith("\n"):  # a line with its ending, not from lines_of
            line = line[:-1].removesuffix("\r")
        if not line.strip():
            continue
        if input_format == "auto":
            input_format, reason = _detect(line)
            if chosen is not None:
                chosen(input_format, reason)
        if input_format == "text":
            yield Item(number, line)
        else:
            yield _record(number, line)


def _detect(first: str) -> tuple[str, str]:
    """("jsonl" or "text", why) for a file whose first non-blank line is ``first``."""
    start = first.lstrip()
    if start.startswith("{"):
        return "jsonl", "its first line starts with '{'"
    if start.startswith('"'):
        try:
            if isinstance(json.loads(first), str):
                return "jsonl", "its first line is a JSON string"
        except (ValueError, RecursionError):
            pass
    return "text", "its first line is not a JSON object or string"


def _record(number: int, line: str) -> Item:
    """One JSON Lines record; a malformed one becomes an item with an error."""
    try:
        record = json.loads(line)
    except ValueError as error:
        return Item(number, None, error=f"not a JSON object ({error})")
    except RecursionError:  # json gives up past Python's recursion limit (~1000 levels)
        return Item(number, None, error="not a JSON Lines record: arrays or objects nested "
                    "too deeply to read")
    return from_record(number, record)


def from_record(number: int, record: Any) -> Item:
    """An item from a record with the Python API's fields: a text string, or a dict with
    "text" and optionally "entity_spans" (or "head" and "tail" for relations)."""
    if isinstance(record, str):
        return Item(number, record)
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        return Item(number, None, error='expected a text, or an object with a "text" string')
    unknown = [quoted(key) for key in record if key not in RECORD_FIELDS]
    if unknown:  # names quoted: a key may hold a lone surrogate or an escape sequence
        return Item(number, None, error=f"unknown field(s) {', '.join(unknown)}; a record has "
                    '"text" and optionally "entity_spans" (or "head" and "tail")')
    spans = record.get("entity_spans")
    if "head" in record or "tail" in record:
        if spans is not None or "head" not in record or "tail" not in record:
            return Item(number, None, error='give both "head" and "tail", or "entity_spans"')
        spans = [record["head"], record["tail"]]
    if spans is not None:
        if not isinstance(spans, list):
            return Item(number, None, error='"entity_spans" must be a list of [start, end]')
        spans = [tuple(s) if isinstance(s, list) else s for s in spans]
    return Item(number, record["text"], spans)


def stream(pipeline: Runner, items: Iterable[Item], *, stop_on_error: bool = False,
           window: int | None = None, options: dict | None = None, what: str | None = "line",
           answers_before_error: bool = True) -> Iterator[tuple[Item, Any]]:
    """Run ``pipeline`` (a ``Runner``) over ``items``: yields (item, result) in input order,
    where result is the pipeline's answer or ``{"error": message}``. With ``stop_on_error``
    the first bad item in input order raises its InputError, naming its ``what`` and number
    ("line 4: "; None: no name), after every result before it. ``options`` go to every call
    of the pipeline (``top_k``, ...). ``answers_before_error=False`` (a caller that keeps no
    answer when one fails): an item refused when read is raised before any batch runs.

    A source that raises midway (a file on a disk that goes away, a generator with a bug)
    first gets the items it did hand over answered, then its exception is raised again."""
    window = window or WINDOW_BATCHES * pipeline.batch_size
    run = functools.partial(pipeline.run, **(options or {}))
    answer = functools.partial(_run_window, pipeline, run, stop_on_error=stop_on_error,
                               what=what, answers_before_error=answers_before_error)
    pending: list[Item] = []
    source = iter(items)
    while True:
        try:
            item = next(source)
        except StopIteration:
            break
        except Exception:  # not KeyboardInterrupt: Ctrl-C stops at once
            yield from answer(pending)
            raise
        pending.append(item)
        if len(pending) >= window:
            yield from answer(pending)
            pending = []
    yield from answer(pending)


def _run_window(pipeline, run, items: list[Item], *, stop_on_error: bool, what: str | None,
                answers_before_error: bool):
    """One window: check every item, run the good ones in length-sorted batches, and yield
    (item, result) in input order as soon as all earlier items are done.

    With ``stop_on_error`` a bad item is not raised when it is found, as batches do not run
    in input order: its error is kept, batches holding an earlier item still run, and once
    every item before the first bad one is handed out, that one's error is raised."""
    results: list[Any] = [None] * len(items)
    done = [False] * len(items)
    failed: dict[int, InputError] = {}  # with stop_on_error: position -> its named error
    good: list[tuple[int, tuple]] = []  # (position in window, (plain text, spans))
    for k, item in enumerate(items):
        try:
            if item.error is not None:
                raise InputError(item.error)
            good.append((k, pipeline.read(item.text, item.entity_spans, None)))
        except InputError as error:
            if stop_on_error:
                failed[k] = _named(error, what, item)
                break  # nothing after it is needed
            results[k], done[k] = {"error": str(error)}, True
    if failed and not answers_before_error:
        raise failed[min(failed)]
    emitted = 0
    for batch in _batches(pipeline, good):
        if stop_on_error and min(failed, default=len(items)) < batch[0][0]:
            continue  # every item of this batch comes after a bad one
        try:
            _run_batch(run, items, batch, results, done, failed if stop_on_error else None,
                       what)
        finally:  # on an unexpected error too, hand out what is finished before it
            ready = list(_ready(items, results, done, start=emitted))
            emitted += len(ready)
            yield from ready
    yield from _ready(items, results, done, start=emitted)
    if failed:
        raise failed[min(failed)]


def _named(error: InputError, what: str | None, item: Item) -> InputError:
    """The error of a bad item, named as the caller counts items ("line 4: ...")."""
    if what is None:
        return error
    return type(error)(f"{what} {item.number}: {error}")  # an InputTypeError stays one


def _batches(pipeline, good: list[tuple[int, tuple]]) -> list[list[tuple[int, tuple]]]:
    """The good items in the batches the pipeline itself would make of them (sorted by
    length, texts with mentions and without apart, cut by ``pipeline.cut``), each batch in
    input order; the batch holding the earliest item runs first, then by earliest item."""
    ordered = sorted(good, key=lambda g: (bool(g[1][1]), len(g[1][0])))
    batches = []
    for has_mentions in (False, True):
        group = [g for g in ordered if bool(g[1][1]) == has_mentions]
        cut = pipeline.cut(list(range(len(group))), [len(g[1][0]) for g in group])
        batches += [sorted(group[i] for i in indices) for indices in cut]
    return sorted(batches, key=lambda batch: batch[0][0])


def _run_batch(run, items, batch, results, done, failed: dict | None, what):
    """One batch (in input order); if it fails on an input error, its items run one by one,
    in input order, so one bad item (a text too long for the model, say) costs only its own
    result. ``failed`` (stop on error): a bad item's error is kept there, and items after
    the first bad one are not run."""
    try:
        answers = run([read for _, read in batch])
    except InputError as error:
        if len(batch) > 1:
            for one in batch:
                if failed and min(failed) < one[0]:
                    break
                _run_batch(run, items, [one], results, done, failed, what)
            return
        k = batch[0][0]
        if failed is not None:
            failed[k] = _named(error, what, items[k])
        else:
            results[k], done[k] = {"error": str(error)}, True
        return
    for (k, _), answer in zip(batch, answers, strict=True):
        results[k], done[k] = answer, True


def _ready(items, results, done, start: int = 0):
    """(item, result) for the done items from ``start`` on, up to the first not done."""
    for k in range(start, len(items)):
        if not done[k]:
            return
        yield items[k], results[k]

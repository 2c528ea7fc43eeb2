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

Memory stays flat in the corpus size: one window of items and results at a time.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .errors import InputError

# Items read ahead and sorted by length at once: big enough for batches of similar
# lengths, small enough that the first results come out early.
WINDOW_BATCHES = 8


@dataclass
class Item:
    """One input of a corpus: its 1-based number (line), the text and its mention spans."""

    number: int
    text: Any
    entity_spans: Any = None
    error: str | None = None  # set when the input could not even be read


BOM = "\ufeff"  # the UTF-8 byte order mark Notepad and PowerShell put first


def lines_of(binary) -> Iterator[str]:
    """The lines of a file opened in binary mode (or standard input's buffer), read lazily.

    A line ends only at a line feed (a lone carriage return is an ordinary character, so
    line numbers are those of ``wc -l`` and ``sed -n``) and loses it and one carriage return
    before it; a UTF-8 byte order mark at the start of the file is dropped. Undecodable
    bytes become lone surrogates, which the text check then reports for that line alone."""
    first = True
    for raw in binary:  # binary files split at b"\n" only
        line = raw.decode("utf-8", errors="surrogateescape")
        if line.endswith("\n"):
            line = line[:-1]
        if line.endswith("\r"):
            line = line[:-1]
        if first:
            line, first = line.removeprefix(BOM), False
        yield line


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


def quoted(key: Any) -> str:
    """A JSON field name as messages show it: JSON-escaped and ASCII, so a name holding
    escape sequences or undecodable bytes cannot reach a terminal raw or break the
    output's encoding."""
    return json.dumps(key) if isinstance(key, str) else repr(key)


def from_record(number: int, record: Any) -> Item:
    """An item from a record with the Python API's fields: a text string, or a dict with
    "text" and optionally "entity_spans" (or "head" and "tail" for relations)."""
    if isinstance(record, str):
        return Item(number, record)
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        return Item(number, None, error='expected a text, or an object with a "text" string')
    unknown = sorted(set(record) - {"text", "entity_spans", "head", "tail"}, key=quoted)
    if unknown:
        return Item(number, None, error=f"unknown field(s) {', '.join(map(quoted, unknown))}; "
                    'a record has "text" and optionally "entity_spans" (or "head" and "tail")')
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


def stream(pipeline, items: Iterable[Item], *, stop_on_error: bool = False,
           window: int | None = None, options: dict | None = None, what: str = "line"
           ) -> Iterator[tuple[Item, Any]]:
    """Run ``pipeline`` over ``items``: yields (item, result) in input order, where result is
    the pipeline's answer or ``{"error": message}``. With ``stop_on_error`` the first bad
    item raises its InputError, naming its ``what`` ("line 4"), after the results before it.
    ``options`` go to every call of the pipeline (``top_k``, ...)."""
    window = window or WINDOW_BATCHES * pipeline.batch_size
    run = functools.partial(pipeline._run, **(options or {}))
    pending: list[Item] = []
    for item in items:
        pending.append(item)
        if len(pending) >= window:
            yield from _run_window(pipeline, run, pending, stop_on_error, what)
            pending = []
    if pending:
        yield from _run_window(pipeline, run, pending, stop_on_error, what)


def _run_window(pipeline, run, items: list[Item], stop_on_error: bool, what: str):
    """One window: check every item, run the good ones in length-sorted batches, and yield
    (item, result) in input order as soon as all earlier items are done."""
    results: list[Any] = [None] * len(items)
    done = [False] * len(items)
    good: list[tuple[int, tuple]] = []  # (position in window, (plain text, spans))
    failure = None  # with stop_on_error: the first bad item's error, raised at the end
    for k, item in enumerate(items):
        try:
            if item.error is not None:
                raise InputError(item.error)
            good.append((k, pipeline._read(item.text, item.entity_spans, None)))
        except InputError as error:
            if stop_on_error:
                failure = InputError(f"{what} {item.number}: {error}")
                break
            results[k], done[k] = {"error": str(error)}, True
    emitted = 0
    for batch in _batches(pipeline, good):
        try:
            _run_batch(run, items, batch, results, done, stop_on_error, what)
        finally:  # on a stopping error too, hand out what is finished before it
            ready = list(_ready(items, results, done, start=emitted))
            emitted += len(ready)
            yield from ready
    yield from _ready(items, results, done, start=emitted)
    if failure is not None:
        raise failure


def _batches(pipeline, good: list[tuple[int, tuple]]) -> list[list[tuple[int, tuple]]]:
    """Cut the good items, sorted by (has mentions, length), into the pipeline's batches;
    the batch holding the earliest item runs first, then by earliest item."""
    ordered = sorted(good, key=lambda g: (bool(g[1][1]), len(g[1][0])))
    cut = pipeline._cut(list(range(len(ordered))), [len(g[1][0]) for g in ordered])
    batches = [[ordered[i] for i in indices] for indices in cut]
    return sorted(batches, key=lambda batch: min(k for k, _ in batch))


def _run_batch(run, items, batch, results, done, stop_on_error, what):
    """One batch; if it fails on an input error, its items run one by one, so one bad
    item (a text too long for the model, say) costs only its own result."""
    try:
        answers = run([read for _, read in batch])
    except InputError as error:
        if len(batch) > 1:
            for one in batch:
                _run_batch(run, items, [one], results, done, stop_on_error, what)
            return
        k = batch[0][0]
        if stop_on_error:
            raise InputError(f"{what} {items[k].number}: {error}") from None
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

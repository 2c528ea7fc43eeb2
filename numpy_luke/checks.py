"""Small checking helpers the whole shell shares: a bounded repr for messages, "is an int",
a positive int, an id.

Each subject's rules live with the subject, once: texts, mentions and spans in
``mentions.py``; how many mentions a task reads and the pipeline options in ``tasks.py``;
model input arrays, labels and call arguments in ``input_checks.py`` (next to the models);
a config's keys in ``config.py``; tokenizer files in ``tokenizer_files.py``; checkpoint
files in ``weights.py``/``torch_checkpoint.py``. Messages say what was wrong and what to
do; errors are the named ones of ``errors.py``.
"""

from __future__ import annotations

import numbers
import reprlib

from .errors import TokenizerFileError

_REPR = reprlib.Repr()
# at most a few hundred characters, even for an int of thousands of digits (maxlong)
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 3, 80, 80, 40


def short(value) -> str:
    """A bounded repr for error messages: a plain repr of a user's or a file's value can be
    huge, or fail (an int with more digits than Python prints)."""
    try:
        return _REPR.repr(value)
    except Exception:
        return f"<{type(value).__name__}>"


def quoted(value) -> str:
    """A name taken from a user's or a file's data (a JSON record's field name) as it goes
    into a message: its bounded repr, ASCII-escaped. Always encodable, whatever the stream
    (a lone surrogate from undecodable bytes reads ``'\\udcff'``), and an escape sequence
    or a newline in the name reaches no terminal (``'\\x1b[2J'``)."""
    return short(value).encode("ascii", "backslashreplace").decode("ascii")


def clipped(text) -> str:
    """A name from a file (a storage key, a record name) as it is, without quotes, its
    middle cut out past 80 characters."""
    text = str(text)
    return text if len(text) <= 80 else text[:40] + "..." + text[-20:]


def is_int(value, *, python_only: bool = False) -> bool:
    """An integer that is not a bool: Python's or NumPy's (``python_only``: a Python int, for
    a value written back to JSON, such as a config's)."""
    kind = int if python_only else numbers.Integral
    return isinstance(value, kind) and not isinstance(value, bool)


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


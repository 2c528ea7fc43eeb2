"""Input checks, one checker per rule: the shell validates here, once, then calls the core.

The core (``numpy_luke/core``) trusts its inputs, so every rule about what a user or a file
may hand numpy_luke lives here, written once and used by every caller:

* texts, character spans, token and entity ids, how many spans each task reads (the
  tokenizer, the pipelines and the command line);
* pipeline options and the limits of what a pipeline reads (mentions per text, a text no
  tokenization could fit);
* model inputs: arrays of the right shapes, dtypes and ranges, labels, transformers' call
  conventions (positional arguments, unsupported ones refused), the compute dtype.

Messages say what was wrong and what to do; errors are the named ones of ``errors.py``
(each also the built-in exception transformers raises in the same place).
"""

from __future__ import annotations

import numbers
import reprlib

import numpy as np

from .errors import InputError, InputTypeError, TokenizerFileError
from .tasks import TASK_SPANS

# ---------------------------------------------------------------------------------------
# Texts, spans, ids, task rules (the tokenizer and the pipelines)
# ---------------------------------------------------------------------------------------



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
# Pipeline options and the limits of what a pipeline reads
# ---------------------------------------------------------------------------------------


def check_pipeline_option(name: str, value, task: str, allowed) -> object:
    """One pipeline option, given to ``pipeline(...)`` or in a call: the same rule for both.

    ``top_k``, ``batch_size``, ``max_span_length``: a positive int (NumPy ints too; not a
    bool, not 2.5). ``threshold``: a real number in [0, 1]. ``targets``: a string or a
    non-empty list of strings. An option the task does not take (``allowed``) is refused
    naming the ones it takes, instead of being ignored or failing deep inside.
    """
    if name not in allowed:
        raise InputTypeError(f"the {task} pipeline got an unexpected option {name!r}; it "
                             f"takes {', '.join(allowed)}")
    if name in ("top_k", "batch_size", "max_span_length"):
        if not is_int(value) or value < 1:
            raise InputError(f"{name} must be a positive integer, not {short(value)}")
        return int(value)
    if name == "threshold":
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
                not 0.0 <= float(value) <= 1.0:
            raise InputError(f"threshold must be a probability, a number from 0 to 1, not "
                             f"{short(value)}")
        return float(value)
    if name == "targets":
        targets = [value] if isinstance(value, str) else value
        if not isinstance(targets, (list, tuple)) or not targets or \
                not all(isinstance(t, str) for t in targets):
            raise InputError(f"targets must be a token string or a non-empty list of them, "
                             f"not {short(value)}")
        return list(targets)
    if name == "entities" and not isinstance(value, bool):
        raise InputError(f"entities must be True or False, not {short(value)}")
    return value


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


# ---------------------------------------------------------------------------------------
# Model inputs (LukeModel and the heads)
# ---------------------------------------------------------------------------------------

INPUT_NAMES = (
    "input_ids", "attention_mask", "token_type_ids", "position_ids", "entity_ids",
    "entity_attention_mask", "entity_token_type_ids", "entity_position_ids",
)


def prepare_inputs(config, **inputs) -> dict[str, np.ndarray | None]:
    """Turn a tokenizer's output (arrays or nested lists) into checked integer arrays.

    A single unbatched example (1-D ``input_ids``) gets a batch axis of 1. Ragged lists,
    shapes that do not fit together, ids outside the vocabularies and more words than the
    position table numbers raise ``ValueError`` naming the input (``TypeError`` for ids that
    are not numbers), never an index error deep inside or a silently wrapped index.
    """
    arrays = {name: None if inputs.get(name) is None else _number_array(name, inputs[name])
              for name in INPUT_NAMES}

    input_ids = arrays["input_ids"]
    if input_ids is None:
        raise ValueError("input_ids is required")
    if input_ids.ndim == 1:  # one example without a batch axis
        for name, array in arrays.items():
            if array is not None:
                arrays[name] = array[None]
        input_ids = arrays["input_ids"]
    if input_ids.ndim != 2:
        raise ValueError(f"input_ids must have shape (batch, words); got {input_ids.shape}")
    batch, words = input_ids.shape
    if batch == 0 or words == 0:
        raise ValueError(f"input_ids has shape {input_ids.shape}: no examples or no tokens; "
                         "give at least one example of at least one token (the tokenizer "
                         "adds <s> and </s>)")
    if arrays["position_ids"] is None:
        _check_text_fits(input_ids, config)

    def check_range(name, high, low=0):
        array = arrays[name]
        if array is not None and array.size and (array.min() < low or array.max() >= high):
            raise ValueError(
                f"{name} holds values in [{array.min()}, {array.max()}] but must lie in "
                f"[{low}, {high - 1}] for this model; was the input made for another checkpoint?"
            )

    for name in ("attention_mask", "token_type_ids", "position_ids"):
        array = arrays[name]
        if array is not None and array.shape != (batch, words) and not (
            name == "attention_mask" and array.shape == (batch, words, words)  # query x key
        ):
            raise ValueError(f"{name} has shape {array.shape}; expected {(batch, words)}")
    if arrays["attention_mask"] is not None and arrays["attention_mask"].ndim == 3 and \
            arrays["entity_ids"] is not None:
        raise ValueError("a 3-D (batch, words, words) attention_mask works without entities "
                         "only (as in transformers); give a (batch, words) mask")
    check_range("input_ids", config.vocab_size)
    check_range("token_type_ids", config.type_vocab_size)
    check_range("position_ids", config.max_position_embeddings)

    entity_ids = arrays["entity_ids"]
    if entity_ids is not None:
        if entity_ids.ndim != 2 or entity_ids.shape[0] != batch:
            raise ValueError(f"entity_ids has shape {entity_ids.shape}; expected "
                             f"({batch}, entities)")
        positions = arrays["entity_position_ids"]
        if positions is None:
            raise ValueError("entity_position_ids is required with entity_ids: it says where "
                             "each entity's mention is (the tokenizer makes it)")
        if positions.size == 0 and positions.ndim == 2:  # no entities, as empty lists
            positions = arrays["entity_position_ids"] = positions.reshape(*positions.shape, 1)
        if positions.ndim != 3 or positions.shape[:2] != entity_ids.shape:
            raise ValueError(f"entity_position_ids has shape {positions.shape}; expected "
                             f"{entity_ids.shape + ('max_mention_length',)}")
        check_range("entity_ids", config.entity_vocab_size)
        check_range("entity_token_type_ids", config.type_vocab_size)
        check_range("entity_position_ids", config.max_position_embeddings, low=-1)
        for name in ("entity_attention_mask", "entity_token_type_ids"):
            if arrays[name] is not None and arrays[name].shape != entity_ids.shape:
                raise ValueError(f"{name} has shape {arrays[name].shape}; expected "
                                 f"{entity_ids.shape}")
    else:
        arrays["entity_attention_mask"] = None
        arrays["entity_token_type_ids"] = None
        arrays["entity_position_ids"] = None
    return arrays


def _number_array(name: str, value) -> np.ndarray:
    """One input as an array: masks keep their dtype, ids become int64 (exactly)."""
    try:
        array = np.asarray(value)
    except ValueError:  # NumPy refuses nested lists of different lengths
        array = np.empty(0, dtype=object)
    if array.dtype == object:
        raise ValueError(f"{name} is ragged (rows of different lengths) or holds non-numbers; "
                         "pad the batch, e.g. tokenizer(..., padding=True)")
    is_number = np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    if "mask" in name:
        if not (is_number or array.dtype == bool):
            raise TypeError(f"{name} must hold numbers (1 = attend, 0 = padding); "
                            f"got dtype {array.dtype}")
        # Only 0 and 1 mean something: transformers 4.57 adds (1 - mask) * min to the scores
        # (0.5 or 2 silently reweight, NaN poisons every output), 5.x reads any non-zero as
        # 1. Refused rather than guessed (docs/bad-input.md).
        if array.dtype != bool and array.size and not ((array == 0) | (array == 1)).all():
            odd = array[(array != 0) & (array != 1)]
            raise ValueError(f"{name} must hold only 0 (padding) and 1 (attend); got "
                             f"{short(odd.ravel()[:3].tolist())}"
                             f"{' ...' if odd.size > 3 else ''}")
        return array
    if not is_number:  # bool ids would silently read as the tokens 0 and 1
        raise TypeError(f"{name} must hold integer ids; got dtype {array.dtype}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not np.all(np.isfinite(array) & (array == np.round(array))):
            raise ValueError(f"{name} must hold integers; got non-integral or non-finite values")
    if array.size and (array.max() >= 2**63 or array.min() < -(2**63)):
        raise ValueError(f"{name} holds values beyond the int64 range ({array.max()}); "
                         "these are no ids of any vocabulary")
    return array.astype(np.int64, copy=False)


def _check_text_fits(input_ids: np.ndarray, config) -> None:
    """The word positions RoBERTa counts (pad_token_id + 1, + 2, ...) must fit the
    position table; a longer text would index past its end."""
    pad, table = config.pad_token_id, config.max_position_embeddings
    if pad is None or not 0 <= pad < table:
        raise ValueError(f"the config's pad_token_id ({pad}) cannot number word positions "
                         f"(it must lie in 0..{table - 1}); pass position_ids explicitly")
    longest = int((input_ids != pad).sum(axis=1).max())  # tokens of the longest example
    if pad + longest >= table:
        raise ValueError(
            f"input_ids has {longest} tokens (besides padding) in one example, but this model "
            f"reads at most {table - pad - 1} (max_position_embeddings={table}); truncate "
            "the text, e.g. tokenizer(..., truncation=True, max_length=...)"
        )


def check_model_inputs(cls_name: str, inputs: dict, head_inputs: tuple[str, ...] = ()) -> None:
    """Refuse keyword inputs a model does not take (a typo must not be silently ignored)."""
    unknown = sorted(set(inputs) - set(INPUT_NAMES) - set(head_inputs))
    if unknown:
        raise TypeError(
            f"{cls_name} got unexpected input(s) {', '.join(unknown)}; it accepts "
            f"{', '.join(INPUT_NAMES + tuple(head_inputs))}, output_attentions and "
            "output_hidden_states"
        )


def check_entities(cls_name: str, entity_states: np.ndarray | None, count: int = 1):
    """A head that reads entity vectors needs at least ``count`` entities per example."""
    if entity_states is None or entity_states.shape[1] < count:
        raise ValueError(f"{cls_name} needs at least {count} entit{'y' if count == 1 else 'ies'} "
                         "per example: pass entity_ids and entity_position_ids (tokenize with "
                         "entity_spans)")
    return entity_states


def check_class_labels(labels, classes: int, ignore_index: int = -100) -> np.ndarray:
    """Class labels: integers in [0, classes) or ``ignore_index`` (rows left out)."""
    labels = np.asarray(labels).astype(np.int64)
    kept = labels[labels != ignore_index]
    if kept.size and (kept.min() < 0 or kept.max() >= classes):
        raise ValueError(f"labels must lie in [0, {classes - 1}] or be "
                         f"{ignore_index} (ignored); got values in [{kept.min()}, {kept.max()}]")
    return labels


def check_label_count(labels, logits: np.ndarray) -> np.ndarray:
    """Multi-label 0/1 targets: one per logit."""
    labels = np.asarray(labels)
    if labels.size != logits.size:
        raise ValueError(f"labels have {labels.size} values; expected {logits.size} "
                         "(one per logit)")
    return labels


def check_span_positions(value, entity_shape: tuple, words: int, name: str) -> np.ndarray:
    """entity_start_positions / entity_end_positions: (batch, entities) word indices."""
    positions = np.asarray(value).astype(np.int64)
    if positions.ndim == 1:
        positions = positions[None]
    if positions.shape != entity_shape[:2]:
        raise ValueError(f"{name} has shape {positions.shape}; expected {entity_shape[:2]}")
    if positions.size and (positions.min() < 0 or positions.max() >= words):
        raise ValueError(f"{name} must lie in [0, {words - 1}]")
    return positions


# Arguments of transformers' forward() that numpy_luke does not implement: refused when set.
UNSUPPORTED_ARGUMENTS = {
    "head_mask": "head_mask (masking attention heads) is not implemented",
    "inputs_embeds": "inputs_embeds is not implemented: pass input_ids",
}


def call_arguments(cls_name: str, names: tuple[str, ...], args: tuple, kwargs: dict) -> dict:
    """Match a call's positional and keyword arguments to ``names`` (transformers' order of
    ``forward``'s parameters); refuse extra, repeated, unknown and unsupported ones."""
    if len(args) > len(names):
        raise TypeError(f"{cls_name} takes at most {len(names)} positional arguments "
                        f"({', '.join(names)}); got {len(args)}")
    named = dict(zip(names, args, strict=False))
    for key, value in kwargs.items():
        if key in named:
            raise TypeError(f"{cls_name} got two values for {key!r} (by position and by name)")
        named[key] = value
    check_model_inputs(cls_name, named, tuple(n for n in names if n not in INPUT_NAMES))
    for key, message in UNSUPPORTED_ARGUMENTS.items():
        if named.pop(key, None) is not None:
            raise ValueError(f"{cls_name}: {message}; leave it None")
    return named


def model_dtype(dtype, config) -> np.dtype | None:
    """The float type a model computes in: float32 or float64. ``"auto"`` takes float64
    for a float64 checkpoint (its config's ``torch_dtype``/``dtype``), float32 otherwise
    (half-precision files are widened: NumPy computes float16 slowly and inexactly). None:
    "auto" with a config naming no dtype, so the weights decide (``weights_dtype``)."""
    if isinstance(dtype, str) and dtype == "auto":
        stored = str(config.extra.get("dtype") or config.extra.get("torch_dtype") or "")
        if not stored or stored == "None":
            return None
        return np.dtype(np.float64 if stored.endswith("float64") else np.float32)
    if str(dtype).startswith("torch."):  # torch.float32, given by a transformers user
        dtype = str(dtype).removeprefix("torch.")
    try:
        resolved = None if dtype is None else np.dtype(dtype)  # (np.dtype(None) is float64)
    except TypeError:
        resolved = None
    if resolved is None or resolved.name not in ("float32", "float64"):
        raise ValueError(f"dtype={dtype!r}: numpy_luke computes in float32 or float64 (or "
                         "'auto'); half-precision checkpoints are read and widened to float32")
    return resolved


def weights_dtype(state_dict: dict[str, np.ndarray]) -> np.dtype:
    """``dtype="auto"`` when the config names no dtype: as transformers, the dtype of the
    first floating-point tensor; float64 computes in float64, every other in float32."""
    for array in state_dict.values():
        if np.issubdtype(array.dtype, np.floating):
            return np.dtype(np.float64 if array.dtype == np.float64 else np.float32)
    return np.dtype(np.float32)

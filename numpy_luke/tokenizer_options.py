"""A tokenizer call's options, checked and resolved once: ``CallOptions``.

``LukeTokenizer.__call__``, ``prepare_for_model`` and ``pad`` take transformers' keyword
options (``padding=True``, ``truncation="only_first"``, ``max_length``, ``padding_side``,
``return_tensors``...). ``resolve_options`` checks them all, with one message per rule,
resolves them as transformers does (``padding=True`` is "longest", ``max_length`` alone
switches truncation on, a missing ``max_length`` is the tokenizer's ``model_max_length``,
the sides default to the tokenizer's attributes...) and returns one ``CallOptions``: the
core's ``InputSettings`` (``core/model_inputs.py``) plus what only the shell reads.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from .checks import positive_int, short
from .core.model_inputs import InputSettings
from .tasks import TASKS

# transformers' stand-in for "no maximum length"
VERY_LARGE_INTEGER = int(1e30)
LARGE_INTEGER = int(1e20)

SIDES = ("right", "left")
_PADDING = {False: "do_not_pad", "do_not_pad": "do_not_pad", True: "longest",
            "longest": "longest", "max_length": "max_length"}
_TRUNCATION = {None: "do_not_truncate", False: "do_not_truncate",
               "do_not_truncate": "do_not_truncate", True: "longest_first",
               "longest_first": "longest_first", "only_first": "only_first",
               "only_second": "only_second"}

# transformers' call options that numpy_luke does not implement -> why. Given a value that
# would take effect, each is refused (transformers' own LukeTokenizer raises
# NotImplementedError for the first two); ``stride`` alone is accepted, since transformers
# uses it only for the overflowing tokens.
UNIMPLEMENTED_OPTIONS = {
    "is_split_into_words": "give each text as one string (transformers' LukeTokenizer "
                           "does not support pretokenized input either)",
    "return_offsets_mapping": "transformers' Python LukeTokenizer does not return offsets "
                              "either",
    "return_overflowing_tokens": "numpy_luke does not return the tokens cut by truncation",
    "split_special_tokens": "numpy_luke always keeps special tokens in the text whole",
}


@dataclass(slots=True)  # not frozen: a frozen dataclass costs ~1 us per call to build
class CallOptions(InputSettings):
    """The settings of one call, resolved: the core's, and the shell's own."""

    add_prefix_space: bool | None = None
    return_tensors: str | None = None
    return_length: bool = False
    verbose: bool = True


def check_side(value, name: str) -> str:
    if value not in SIDES:
        raise ValueError(f"{name} must be 'right' or 'left', got {short(value)}")
    return value


def check_task(task) -> None:
    if task not in TASKS:
        raise ValueError(f"task {task!r} is not supported; choose one of {TASKS[1:]} or None")


def resolve_options(
    tokenizer,
    *,
    task: str | None = "default",
    add_special_tokens: bool = True,
    padding: bool | str = False,
    truncation: bool | str | None = None,
    max_length: int | None = None,
    max_entity_length: int | None = None,
    max_mention_length: int | None = None,
    pad_to_multiple_of: int | None = None,
    padding_side: str | None = None,
    truncation_side: str | None = None,
    add_prefix_space: bool | None = None,
    return_tensors: str | None = None,
    return_token_type_ids: bool | None = None,
    return_attention_mask: bool | None = None,
    return_special_tokens_mask: bool = False,
    return_length: bool = False,
    verbose: bool = True,
    **unknown,
) -> CallOptions:
    """A call's keyword options, checked and resolved against ``tokenizer``'s settings
    (``task``, the sides, ``model_max_length``, ``max_entity_length_for(task)``,
    ``max_mention_length``). Options numpy_luke does not implement are refused when they
    would change the result, other unknown ones ignored with a warning (as transformers)."""
    if unknown:  # refused when switched on (_refuse_unimplemented), else ignored, warned
        _refuse_unimplemented(unknown)
        if unknown:
            warnings.warn(f"LukeTokenizer ignores the keyword arguments {sorted(unknown)}: "
                          "numpy_luke does not implement them", UserWarning, stacklevel=3)
    task = tokenizer.task if task == "default" else task
    if task not in TASKS:
        check_task(task)
    padding_side = tokenizer.padding_side if padding_side is None else padding_side
    truncation_side = tokenizer.truncation_side if truncation_side is None else truncation_side
    if padding_side not in SIDES or truncation_side not in SIDES:
        check_side(padding_side, "padding_side")
        check_side(truncation_side, "truncation_side")
    _check_values(return_tensors, return_token_type_ids, add_special_tokens,
                  (max_length, max_entity_length, max_mention_length, pad_to_multiple_of))
    padding, truncation, max_length = strategies(padding, truncation, max_length,
                                                 tokenizer.model_max_length)
    if padding != "do_not_pad" and truncation != "do_not_truncate" and pad_to_multiple_of \
            and max_length is not None and max_length % pad_to_multiple_of:
        raise ValueError(f"truncation and padding are both on, but max_length={max_length} "
                         f"is not a multiple of pad_to_multiple_of={pad_to_multiple_of}: "
                         "padding would make texts longer than max_length")
    return CallOptions(
        task=task, add_special_tokens=add_special_tokens, max_length=max_length,
        max_entity_length=max_entity_length or tokenizer.max_entity_length_for(task),
        max_mention_length=max_mention_length or tokenizer.max_mention_length,
        truncation=truncation, truncation_side=truncation_side, padding=padding,
        padding_side=padding_side, pad_to_multiple_of=pad_to_multiple_of,
        return_attention_mask=True if return_attention_mask is None  # model_input_names
        else bool(return_attention_mask),
        return_token_type_ids=bool(return_token_type_ids),
        return_special_tokens_mask=bool(return_special_tokens_mask),
        add_prefix_space=add_prefix_space, return_tensors=return_tensors,
        return_length=bool(return_length), verbose=bool(verbose))


def _refuse_unimplemented(options: dict) -> None:
    """Raise NotImplementedError for an unimplemented transformers option that is switched
    on; drop the ones given at their no-effect defaults (False, None, ``stride`` unused)."""
    for name, why in UNIMPLEMENTED_OPTIONS.items():
        value = options.pop(name, None)
        if value:
            raise NotImplementedError(f"LukeTokenizer option {name}={short(value)} is not "
                                      f"implemented: {why}")
    options.pop("stride", None)


_LENGTHS = ("max_length", "max_entity_length", "max_mention_length", "pad_to_multiple_of")


def _check_values(return_tensors, return_token_type_ids, add_special_tokens, lengths):
    if return_tensors not in (None, "np"):
        raise ValueError(
            f"return_tensors={return_tensors!r} is not supported: numpy_luke returns NumPy "
            "arrays (return_tensors='np') or Python lists (return_tensors=None)")
    if return_token_type_ids and not add_special_tokens:
        raise ValueError("return_token_type_ids=True needs add_special_tokens=True "
                         "(as in transformers, the token types are undefined without them)")
    for name, value in zip(_LENGTHS, lengths, strict=True):  # 0 or -1: not "the default"
        if value is not None:
            positive_int(value, name)


def strategies(padding, truncation, max_length, model_max_length: int):
    """Resolve padding / truncation / max_length exactly as transformers does."""
    if max_length is not None and padding is False and truncation is None:
        truncation = "longest_first"  # max_length alone switches truncation on
    try:
        padding = _PADDING[padding]
    except (KeyError, TypeError):
        raise ValueError(f"padding={padding!r}: use True/'longest', 'max_length' or "
                         "False/'do_not_pad'") from None
    try:
        truncation = _TRUNCATION[truncation]
    except (KeyError, TypeError):
        raise ValueError(f"truncation={truncation!r}: use True/'longest_first', "
                         "'only_first', 'only_second' or False/'do_not_truncate'") from None
    if max_length is None:
        no_limit = model_max_length > LARGE_INTEGER
        if padding == "max_length":
            if no_limit:
                padding = "do_not_pad"
            else:
                max_length = model_max_length
        if truncation != "do_not_truncate":
            if no_limit:
                truncation = "do_not_truncate"
            else:
                max_length = model_max_length
    return padding, truncation, max_length

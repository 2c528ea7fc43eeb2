"""The tasks numpy_luke runs, in one table: what each reads and which checkpoint it uses.

Two kinds of names meet here. The tokenizer's ``task=`` (transformers' names) says how the
entity inputs are laid out and how many mention spans a text must have; the pipelines'
tasks (``pipeline("ner")``, ``python -m numpy_luke ner``) say which model class and which
published checkpoint answer. The task rules live beside the
tables: how many mentions a task reads (``check_span_count``), each pipeline option's
defaults and rule (``PIPELINE_DEFAULTS``, ``check_pipeline_option``), and which task a
checkpoint's class answers (``ARCHITECTURE_TASKS``). The pipelines and the command line
read their defaults from here, so a default is written once.
"""

from __future__ import annotations

import numbers

from .checks import is_int, short
from .errors import InputError, InputTypeError

# The tokenizer's tasks (None: plain entity inputs) and how many entity spans each reads:
# task -> (fewest, most or None, in words).
TASKS = (None, "entity_classification", "entity_pair_classification", "entity_span_classification")
TASK_SPANS = {
    "entity_classification": (1, 1, "exactly one mention"),
    "entity_pair_classification": (2, 2, "exactly two mentions (head, tail)"),
    "entity_span_classification": (1, None, "at least one mention"),
}

# pipeline task -> the published checkpoint it loads when no model is given
# ("token-classification" has none: no LUKE token-classification checkpoint is published)
DEFAULT_MODELS = {
    "fill-mask": "studio-ousia/luke-base",
    "fill-mask-and-entities": "studio-ousia/luke-base",
    "entity-prediction": "studio-ousia/luke-base",
    "entity-typing": "studio-ousia/luke-large-finetuned-open-entity",
    "relation-classification": "studio-ousia/luke-large-finetuned-tacred",
    "ner": "studio-ousia/luke-large-finetuned-conll-2003",
}

# pipeline task -> its options and their defaults (transformers' where it has the option:
# top_k 5; threshold and max_span_length are LUKE's). ``batch_size`` is every task's.
BATCH_SIZE = 8
PIPELINE_DEFAULTS = {
    "fill-mask": {"top_k": 5, "targets": None},
    "fill-mask-and-entities": {"top_k": 5, "targets": None},
    "entity-prediction": {"top_k": 5},
    "entity-typing": {"threshold": 0.5},
    "relation-classification": {"top_k": 5},
    "ner": {"max_span_length": 16},
    "token-classification": {"aggregation_strategy": "none", "ignore_labels": ("O",)},
}

# token-classification's aggregation strategies: of transformers' five, those implemented
AGGREGATION_STRATEGIES = ("none", "simple")

# What ``ner`` means here, for a token-classification checkpoint given to it.
NER_MEANING = (
    "the ner task here is LUKE's span NER: every span of words is a candidate entity, "
    "classified by a LukeForEntitySpanClassification checkpoint (such as "
    "studio-ousia/luke-large-finetuned-conll-2003). In transformers, 'ner' is another name "
    "for token classification (a label per token); for a LukeForTokenClassification "
    "checkpoint use pipeline('token-classification', model=...)"
)

# A checkpoint's config.json names its class (``architectures``): the task it answers.
ARCHITECTURE_TASKS = {
    "LukeForMaskedLM": "fill-mask",
    "LukeForEntityClassification": "entity-typing",
    "LukeForEntityPairClassification": "relation-classification",
    "LukeForEntitySpanClassification": "ner",
    "LukeForTokenClassification": "token-classification",
}


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
    if name in ("aggregation_strategy", "ignore_labels"):
        return _token_classification_option(name, value)
    if name == "targets":
        targets = [value] if isinstance(value, str) else value
        if not isinstance(targets, (list, tuple)) or not targets or \
                not all(isinstance(t, str) for t in targets):
            raise InputError(f"targets must be a token string or a non-empty list of them, "
                             f"not {short(value)}")
        return list(targets)
    return value


def _token_classification_option(name: str, value) -> object:
    """``aggregation_strategy`` ("none" or "simple", any case, or transformers'
    AggregationStrategy of those) and ``ignore_labels`` (a list of label names)."""
    if name == "aggregation_strategy":
        strategy = getattr(value, "value", value)  # transformers' AggregationStrategy
        if not isinstance(strategy, str) or strategy.lower() not in AGGREGATION_STRATEGIES:
            raise InputError(
                f"aggregation_strategy={short(value)}: numpy_luke implements "
                f"{' and '.join(map(repr, AGGREGATION_STRATEGIES))} (transformers' "
                "'first', 'average' and 'max' are not implemented)")
        return strategy.lower()
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise InputError(f"ignore_labels must be a list of label names, not {short(value)}")
    return tuple(value)

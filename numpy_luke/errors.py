"""The exceptions numpy_luke raises on purpose.

Every error a user can cause (a bad span, a broken file, a missing checkpoint) is one of
these, with a message that says what was wrong and what to do. They subclass the built-in
exception transformers raises in the same situation (``ValueError``, ``OSError``), so code
written against transformers keeps catching them.
"""


class NumpyLukeError(Exception):
    """Base class of every error raised on purpose by numpy_luke."""


class ConfigError(NumpyLukeError, ValueError):
    """A ``config.json`` (or a config argument) is malformed or impossible."""


class CheckpointError(NumpyLukeError, ValueError):
    """A weights file is malformed, hostile, or does not fit the model it is loaded into."""


class TokenizerFileError(NumpyLukeError, ValueError):
    """A tokenizer file (vocab.json, merges.txt, entity_vocab.json, ...) is malformed."""


class CheckpointNotFoundError(NumpyLukeError, OSError):
    """A model or tokenizer could be neither found locally nor downloaded."""


class InputError(NumpyLukeError, ValueError):
    """A text, span or option given by a user cannot be processed (no mask, bad span, ...)."""


class MissingExtraError(NumpyLukeError, ImportError):
    """An optional dependency (an extra such as ``viz``) is needed and not installed."""


class InputTypeError(InputError, TypeError):
    """An input of the wrong type (a number where a text or a span offset belongs). A
    ``TypeError`` as in transformers, and an ``InputError`` like every user mistake."""


class NewWeightsWarning(UserWarning):
    """A model was loaded with tensors the checkpoint does not hold (a new head), which
    start from random values, as in transformers. Pipelines turn it into an error: their
    answers need trained weights."""


# The packages numpy_luke imports at run time (pyproject.toml's dependencies).
RUNTIME_DEPENDENCIES = ("numpy", "safetensors", "regex", "huggingface_hub", "tqdm",
                        "threadpoolctl")


def missing_dependency(error: BaseException) -> str | None:
    """For a run-time dependency that cannot be imported (the installation's problem, not a
    bug in numpy_luke): a message naming the package and how to install it; else None."""
    package = (getattr(error, "name", None) or "").partition(".")[0]
    if not isinstance(error, ImportError) or package not in RUNTIME_DEPENDENCIES:
        return None
    return (f"numpy_luke needs the package {package!r}, which cannot be imported ({error}). "
            f"Install it with `pip install {package}` (or reinstall with `pip install "
            "numpy_luke`, which brings every dependency).")

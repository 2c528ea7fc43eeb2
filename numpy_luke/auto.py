"""transformers' Auto classes, for LUKE: the class is chosen from the checkpoint's files.

transformers' examples start with ``AutoTokenizer.from_pretrained(name)`` and
``AutoModel...from_pretrained(name)``. There, each Auto class maps a config's
``model_type`` to a class; for ``"luke"`` these are (transformers 4.57,
``models/auto/modeling_auto.py``):

    AutoModel                             LukeModel
    AutoModelForPreTraining               LukeForMaskedLM
    AutoModelForMaskedLM                  LukeForMaskedLM
    AutoModelForSequenceClassification    LukeForSequenceClassification
    AutoModelForTokenClassification       LukeForTokenClassification
    AutoModelForQuestionAnswering         LukeForQuestionAnswering
    AutoModelForMultipleChoice            LukeForMultipleChoice

So, as in transformers, the Auto class (the task) picks the head, and ``architectures`` in
config.json does not: ``AutoModel`` on luke-base (a ``LukeForMaskedLM`` checkpoint) gives
``LukeModel``. LUKE's entity heads (``LukeForEntityClassification``, ...) have no Auto
class in transformers, and none here: use them by name. ``AutoTokenizer`` reads
``tokenizer_class`` from tokenizer_config.json, else config.json's ``model_type``.

A config.json without ``model_type`` is read as LUKE when its ``architectures`` all name
LUKE classes (transformers guesses from the repository's name instead). Any other model
(``"bert"``, ...) raises ``ConfigError`` saying what the checkpoint is: numpy_luke runs LUKE
only.
"""

from __future__ import annotations

import json

from . import modeling
from .checks import short
from .config import LukeConfig
from .errors import ConfigError, TokenizerFileError
from .hub import NAMES as LOAD_NAMES
from .hub import LoadOptions, resolve_file
from .tokenizer import LukeTokenizer
from .tokenizer_files import read_json_object

LUKE = "luke"
LUKE_TOKENIZERS = ("LukeTokenizer", "LukeTokenizerFast")


def read_config_json(name_or_path, load: LoadOptions) -> dict:
    """config.json of a folder or Hub repository, as a dict (``ConfigError`` when broken)."""
    path = resolve_file(name_or_path, "config.json", load)
    try:
        with open(path, encoding="utf-8") as file:
            values = json.load(file)
    except (OSError, ValueError, RecursionError) as error:
        raise ConfigError(f"cannot read {path} as a JSON config: {error}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: a config must be a JSON object, got {type(values).__name__}")
    return values


def check_luke(values: dict, name_or_path, wanted: str) -> None:
    """Refuse a config.json that does not describe a LUKE model, saying what it is."""
    model_type = values.get("model_type")
    architectures = values.get("architectures")
    names = architectures if isinstance(architectures, list) else []
    if model_type is None and names and all(
            isinstance(n, str) and n.startswith("Luke") for n in names):
        return
    if model_type == LUKE:
        return
    what = (f"model_type {short(model_type)}" if model_type is not None else "no model_type")
    if names:
        what += f", architectures {short(names)}"
    raise ConfigError(
        f"{name_or_path}: config.json describes a model that is not LUKE ({what}); "
        f"numpy_luke runs LUKE checkpoints only (model_type 'luke'), so {wanted} cannot "
        "load it. Use transformers' Auto classes for other models."
    )


def _load_options(kwargs: dict) -> LoadOptions:
    """The loading options among a call's keywords, taken out of them as one object."""
    given = {key: kwargs.pop(key) for key in LOAD_NAMES if key in kwargs}
    return LoadOptions.of(kwargs.pop("load", None), **given)


class AutoConfig:
    """``AutoConfig.from_pretrained(name, **overrides)``: the ``LukeConfig`` of a LUKE
    checkpoint; a checkpoint of another model is refused, naming it."""

    def __init__(self):
        raise OSError("AutoConfig is built with AutoConfig.from_pretrained(name), as in "
                      "transformers")

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> LukeConfig:
        load = _load_options(kwargs)
        values = read_config_json(pretrained_model_name_or_path, load)
        check_luke(values, pretrained_model_name_or_path, cls.__name__)
        return LukeConfig.from_pretrained(pretrained_model_name_or_path, load=load, **kwargs)

    @staticmethod
    def for_model(model_type: str, **values) -> LukeConfig:
        check_luke({"model_type": model_type}, "AutoConfig.for_model", "AutoConfig")
        return LukeConfig(**values)


class _AutoModel:
    """Shared ``from_pretrained`` and ``from_config`` of the Auto model classes."""

    luke_class = "LukeModel"

    def __init__(self):
        raise OSError(f"{type(self).__name__} is built with {type(self).__name__}."
                      "from_pretrained(name) or .from_config(config), as in transformers")

    @classmethod
    def model_class(cls):
        return getattr(modeling, cls.luke_class)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *, config: LukeConfig | None = None,
                        **kwargs):
        """The ``luke_class`` model of a LUKE checkpoint (keywords as its
        ``from_pretrained``); another model's checkpoint is refused, naming it."""
        load = _load_options(kwargs)
        if config is None:
            values = read_config_json(pretrained_model_name_or_path, load)
            check_luke(values, pretrained_model_name_or_path, cls.__name__)
        elif not isinstance(config, LukeConfig):
            raise ConfigError(f"{cls.__name__}: config must be a LukeConfig, got "
                              f"{type(config).__name__}")
        return cls.model_class().from_pretrained(pretrained_model_name_or_path, config=config,
                                                 load=load, **kwargs)

    @classmethod
    def from_config(cls, config: LukeConfig, **kwargs):
        """A randomly initialised ``luke_class`` model (``seed=`` as in its constructor)."""
        if not isinstance(config, LukeConfig):
            raise ConfigError(f"{cls.__name__}.from_config needs a LukeConfig, got "
                              f"{type(config).__name__}")
        check_luke({"model_type": config.model_type}, "the config", cls.__name__)
        return cls.model_class().from_config(config, **kwargs)


class AutoModel(_AutoModel):
    luke_class = "LukeModel"


class AutoModelForPreTraining(_AutoModel):
    luke_class = "LukeForMaskedLM"


class AutoModelForMaskedLM(_AutoModel):
    luke_class = "LukeForMaskedLM"


class AutoModelForSequenceClassification(_AutoModel):
    luke_class = "LukeForSequenceClassification"


class AutoModelForTokenClassification(_AutoModel):
    luke_class = "LukeForTokenClassification"


class AutoModelForQuestionAnswering(_AutoModel):
    luke_class = "LukeForQuestionAnswering"


class AutoModelForMultipleChoice(_AutoModel):
    luke_class = "LukeForMultipleChoice"


class AutoTokenizer:
    """``AutoTokenizer.from_pretrained(name, **kwargs)``: the ``LukeTokenizer`` of a LUKE
    checkpoint. ``use_fast`` is accepted and changes nothing: LUKE has no fast tokenizer
    (transformers 4.x gives the same ``LukeTokenizer`` either way)."""

    def __init__(self):
        raise OSError("AutoTokenizer is built with AutoTokenizer.from_pretrained(name), as in "
                      "transformers")

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *, use_fast: bool = True,
                        **kwargs):
        del use_fast  # one tokenizer class either way (see the docstring)
        load = _load_options(kwargs)
        settings = read_json_object(resolve_file(pretrained_model_name_or_path,
                                                 "tokenizer_config.json", load, required=False))
        tokenizer_class = settings.get("tokenizer_class")
        if tokenizer_class is not None:
            if tokenizer_class not in LUKE_TOKENIZERS:
                hint = (" (mLUKE's SentencePiece tokenizer, which numpy_luke does not implement)"
                        if str(tokenizer_class).startswith("MLuke") else "")
                raise TokenizerFileError(
                    f"{pretrained_model_name_or_path}: tokenizer_config.json names the "
                    f"tokenizer class {short(tokenizer_class)}{hint}; numpy_luke has LukeTokenizer "
                    "only. Use transformers' AutoTokenizer for other models.")
        elif resolve_file(pretrained_model_name_or_path, "config.json", load, required=False):
            values = read_config_json(pretrained_model_name_or_path, load)
            check_luke(values, pretrained_model_name_or_path, cls.__name__)
        return LukeTokenizer.from_pretrained(pretrained_model_name_or_path, load=load, **kwargs)


__all__ = ["AutoConfig", "AutoModel", "AutoModelForPreTraining", "AutoModelForMaskedLM",
           "AutoModelForSequenceClassification", "AutoModelForTokenClassification",
           "AutoModelForQuestionAnswering", "AutoModelForMultipleChoice", "AutoTokenizer"]

"""numpy_luke: LUKE (Yamada et al., EMNLP 2020) in readable NumPy, for CPU inference.

The public names follow transformers' LUKE, so code can switch by changing one import:

    from numpy_luke import LukeTokenizer, LukeForMaskedLM
    from numpy_luke import AutoTokenizer, AutoModelForMaskedLM  # chosen from config.json

Names are imported lazily, so ``import numpy_luke`` (and the CLI's start-up) stays fast.
"""

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "ByteLevelBPE": "core.bpe",
    "EntityVocab": "core.entity_vocab",
    "LukeTokenizer": "tokenizer",
    "LukeConfig": "config",
    "LukeModel": "modeling",
    "LukeForMaskedLM": "modeling",
    "LukeForEntityClassification": "modeling",
    "LukeForEntityPairClassification": "modeling",
    "LukeForEntitySpanClassification": "modeling",
    "LukeForSequenceClassification": "modeling",
    "LukeForTokenClassification": "modeling",
    "LukeForQuestionAnswering": "modeling",
    "LukeForMultipleChoice": "modeling",
    "pipeline": "pipelines",
    "AutoConfig": "auto",
    "AutoTokenizer": "auto",
    "AutoModel": "auto",
    "AutoModelForPreTraining": "auto",
    "AutoModelForMaskedLM": "auto",
    "AutoModelForSequenceClassification": "auto",
    "AutoModelForTokenClassification": "auto",
    "AutoModelForQuestionAnswering": "auto",
    "AutoModelForMultipleChoice": "auto",
    "NumpyLukeError": "errors",
    "ConfigError": "errors",
    "CheckpointError": "errors",
    "CheckpointNotFoundError": "errors",
    "TokenizerFileError": "errors",
    "NewWeightsWarning": "errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'numpy_luke' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))

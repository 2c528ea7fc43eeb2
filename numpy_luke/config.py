"""The model's configuration: every size and switch, read from ``config.json``.

A LUKE checkpoint folder holds a ``config.json`` next to its weights. ``LukeConfig`` is a
plain dataclass holding the fields the forward pass needs; the defaults are those of
transformers' ``LukeConfig``, which are luke-base's sizes except two values that luke-base's
``config.json`` sets otherwise: ``type_vocab_size`` 1 (default 2) and ``layer_norm_eps``
1e-5 (default 1e-12). A checkpoint's ``config.json`` always says which. Fields that
numpy_luke does not use (``architectures``, ``torch_dtype``, dropout rates, ...) are kept
in ``extra`` so ``to_dict()`` gives back what was read.

Values are checked when the config is built: a hidden size that the heads cannot split
evenly, a non-positive size or a value of the wrong type raises ``ConfigError`` naming the
key, instead of failing later deep inside a matrix product.
"""

from __future__ import annotations

import difflib
import json
import os
import warnings
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from .checks import is_int
from .core.functional import ACTIVATIONS
from .errors import ConfigError
from .hub import LoadOptions, resolve_file
from .tokenizer_files import write_files

# Activation names that transformers' LUKE accepts in ``hidden_act`` and numpy_luke knows
# (the functions are in core.functional.ACTIVATIONS; checked here, when the config is read).
KNOWN_ACTIVATIONS = tuple(ACTIVATIONS)

PROBLEM_TYPES = ("regression", "single_label_classification", "multi_label_classification")

# Without ``id2label``, ``num_labels`` names are made up (LABEL_0, ...); a larger count than
# this is taken as a broken file rather than allocating a table the file does not justify.
MAX_UNNAMED_LABELS = 100_000


# Keys every transformers config may carry (PretrainedConfig's own). They are kept in
# ``extra``; the first three take effect (see the properties below), the others are read
# and written back unchanged.
TRANSFORMERS_KEYS = (
    "output_attentions", "output_hidden_states", "return_dict", "torch_dtype", "dtype",
    "architectures", "transformers_version", "_name_or_path", "finetuning_task",
    "tokenizer_class", "prefix", "sep_token_id", "decoder_start_token_id",
    "task_specific_params", "chunk_size_feed_forward", "is_encoder_decoder", "is_decoder",
    "add_cross_attention", "tie_encoder_decoder", "pruned_heads", "torchscript", "use_cache",
    "gradient_checkpointing", "position_embedding_type", "output_past",
)


@dataclass(init=False)
class LukeConfig:
    """Sizes and switches of a LUKE model.

    The defaults are transformers' ``LukeConfig`` defaults, so a config.json that leaves a
    key out means the same model in both. They are luke-base's sizes except
    ``max_position_embeddings`` (512; luke-base: 514), ``type_vocab_size`` (2; luke-base:
    1) and ``layer_norm_eps`` (1e-12; luke-base: 1e-5), which a checkpoint's config.json
    always sets. Any keyword is accepted, as in
    transformers: unknown keys are kept in ``extra`` (and written back by ``to_dict``); one
    that looks like a misspelt field ("hiden_size") gets a warning.
    """

    vocab_size: int = 50267
    entity_vocab_size: int = 500000
    hidden_size: int = 768
    entity_emb_size: int = 256
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1  # unused at inference; kept for round trips
    attention_probs_dropout_prob: float = 0.1  # unused at inference; kept for round trips
    max_position_embeddings: int = 512  # transformers' default; luke-base's file says 514
    type_vocab_size: int = 2
    initializer_range: float = 0.02  # unused at inference; kept for round trips
    layer_norm_eps: float = 1e-12
    use_entity_aware_attention: bool = True
    classifier_dropout: float | None = None
    pad_token_id: int | None = 1
    bos_token_id: int | None = 0
    eos_token_id: int | None = 2
    tie_word_embeddings: bool = True
    num_labels: int | None = None  # None: len(id2label), or 2 when that is absent too
    id2label: dict[int, str] | None = None
    label2id: dict[str, int] | None = None
    problem_type: str | None = None
    model_type: str = "luke"
    extra: dict[str, Any] = field(default_factory=dict)

    def __init__(self, **values: Any):
        known = {f.name: f for f in fields(self)}
        for name, spec in known.items():
            setattr(self, name, spec.default_factory() if name == "extra" else spec.default)
        extra = values.pop("extra", None)
        if isinstance(extra, dict):  # a dict written by to_dict() of old
            self.extra.update(extra)
        for key, value in values.items():
            if key in known:
                setattr(self, key, value)
            else:
                self.extra[key] = value
                _warn_if_misspelt(key, known)
        self._fill_labels()
        self.validate()

    def updated(self, **overrides: Any) -> LukeConfig:
        """A copy with some values replaced (``from_pretrained(..., num_labels=3)``). Only
        config keys are accepted: a misspelt one must not be silently ignored."""
        unknown = sorted(k for k in overrides if k not in self.to_dict()
                         and k not in {f.name for f in fields(self)} and k not in TRANSFORMERS_KEYS)
        if unknown:
            raise TypeError(f"unexpected keyword argument(s) {', '.join(unknown)}: neither a "
                            "from_pretrained option nor a config key")
        values = self.to_dict()
        if "id2label" in overrides or "num_labels" in overrides:  # re-derived from the new ones
            for key in ("id2label", "label2id", "num_labels"):
                if key not in overrides:
                    values.pop(key, None)
        return type(self).from_dict({**values, **overrides})

    # transformers' PretrainedConfig switches, read from the config.json keys of that name
    # and settable as in transformers (``model.config.output_hidden_states = True``); the
    # model reads them at every call.
    output_attentions = property(lambda self: bool(self.extra.get("output_attentions", False)),
                                 lambda self, value: self._set_switch("output_attentions", value))
    output_hidden_states = property(
        lambda self: bool(self.extra.get("output_hidden_states", False)),
        lambda self, value: self._set_switch("output_hidden_states", value))
    return_dict = property(lambda self: bool(self.extra.get("return_dict", True)),
                           lambda self, value: self._set_switch("return_dict", value))
    use_return_dict = property(lambda self: self.return_dict)

    def _set_switch(self, name: str, value) -> None:
        if not isinstance(value, bool):
            raise ConfigError(f"config.{name} must be True or False, got {value!r}")
        self.extra[name] = bool(value)

    # ------------------------------------------------------------------ reading and writing

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> LukeConfig:
        """Build a config from a ``config.json``-style dict; unknown keys go to ``extra``."""
        if not isinstance(values, dict):
            raise ConfigError(f"a config must be a JSON object, got {type(values).__name__}")
        return cls(**values)

    @classmethod
    def from_json_file(cls, path: str | os.PathLike) -> LukeConfig:
        """Read a ``config.json`` file."""
        try:
            with open(path, encoding="utf-8") as file:
                values = json.load(file)
        except (OSError, ValueError, RecursionError) as error:  # Recursion: absurd nesting
            raise ConfigError(f"cannot read {path} as a JSON config: {error}") from None
        try:
            return cls.from_dict(values)
        except ConfigError as error:  # say which file holds the bad value
            raise ConfigError(f"{path}: {error}") from None

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike,
        revision: str | None = None,
        local_files_only: bool = False,
        cache_dir: str | os.PathLike | None = None,
        force_download: bool = False,
        token: str | bool | None = None,
        *,
        load: LoadOptions | None = None,
        **overrides: Any,
    ) -> LukeConfig:
        """The ``config.json`` of a local folder or a Hub repository (see ``numpy_luke.hub``),
        with ``overrides`` replacing its values. The loading options come as transformers'
        keywords or as one ``load=LoadOptions(...)``."""
        load = LoadOptions.of(load, revision=revision, local_files_only=local_files_only,
                              cache_dir=cache_dir, force_download=force_download, token=token)
        path = resolve_file(name_or_path, "config.json", load)
        config = cls.from_json_file(path)
        return config.updated(**overrides) if overrides else config

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-ready dict (``id2label`` keys as strings, as in config.json)."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        if self.id2label is not None:
            values["id2label"] = {str(k): v for k, v in self.id2label.items()}
        values.update(self.extra)
        return values

    def to_json_string(self) -> str:
        """The config as config.json holds it; dtypes by name (``torch.float16`` ->
        ``"float16"``), as transformers writes them."""
        values = self.to_dict()
        for key in ("dtype", "torch_dtype"):
            if key in values:
                values[key] = _dtype_name(values[key])
        try:
            return json.dumps(values, indent=2, sort_keys=True) + "\n"
        except (TypeError, ValueError) as error:
            bad = [key for key, value in values.items() if not _serialisable(value)]
            raise TypeError(f"the config cannot be written as JSON: the value of "
                            f"{', '.join(bad) or 'a key'} is not JSON ({error})") from None

    def save_pretrained(self, folder: str | os.PathLike) -> None:
        """Write ``config.json`` into ``folder`` (created if needed). The text is made first,
        then written to a temporary file in the folder and renamed over config.json: a value
        JSON cannot hold raises ``TypeError`` naming its key and leaves the old file whole.
        dtypes (``torch_dtype=torch.float16``, ``np.float32``) are written as transformers
        writes them, by name: ``"float16"``."""
        try:
            text = self.to_json_string()  # before the folder is touched
        except TypeError as error:
            raise TypeError(f"{error}; config.json was not written") from None
        write_files(folder, {"config.json": text.encode("utf-8")})

    # ------------------------------------------------------------------ derived values

    @property
    def head_size(self) -> int:
        """Width of one attention head: hidden_size / num_attention_heads."""
        return self.hidden_size // self.num_attention_heads

    # ------------------------------------------------------------------ checks

    def _fill_labels(self):
        """Make ``id2label`` (int keys), ``label2id`` and ``num_labels`` agree."""
        if self.id2label is not None:
            if not isinstance(self.id2label, dict):
                raise ConfigError("config key 'id2label' must be an object {id: label}")
            try:
                self.id2label = {int(k): v for k, v in self.id2label.items()}
            except (TypeError, ValueError):
                raise ConfigError(
                    f"config key 'id2label' must have integer keys, got {list(self.id2label)}"
                ) from None
            if self.num_labels is None:
                self.num_labels = len(self.id2label)
            elif self.num_labels != len(self.id2label):
                raise ConfigError(
                    f"config key 'num_labels' ({self.num_labels}) does not match 'id2label', "
                    f"which has {len(self.id2label)} labels; drop one of them"
                )
        else:
            if self.num_labels is None:
                self.num_labels = 2
            if is_int(self.num_labels, python_only=True) and self.num_labels > MAX_UNNAMED_LABELS:
                raise ConfigError(
                    f"config key 'num_labels' is {self.num_labels} and there is no 'id2label'; "
                    f"more than {MAX_UNNAMED_LABELS:,} unnamed labels is taken for a broken "
                    "config (give 'id2label' to name that many)"
                )
            if is_int(self.num_labels, python_only=True) and self.num_labels >= 0:
                self.id2label = {i: f"LABEL_{i}" for i in range(self.num_labels)}
        if self.label2id is None and self.id2label is not None:
            self.label2id = {label: i for i, label in self.id2label.items()}
        if self.label2id is not None:
            if not isinstance(self.label2id, dict):
                raise ConfigError("config key 'label2id' must be an object {label: id}")
            try:
                self.label2id = {k: int(v) for k, v in self.label2id.items()}
            except (TypeError, ValueError):
                raise ConfigError("config key 'label2id' must map labels to integers") from None

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the first impossible value."""
        positive = (
            "vocab_size", "entity_vocab_size", "hidden_size", "entity_emb_size",
            "num_hidden_layers", "num_attention_heads", "intermediate_size",
            "max_position_embeddings", "type_vocab_size",
        )
        for key in positive:
            value = getattr(self, key)
            if not is_int(value, python_only=True):
                raise ConfigError(f"config key {key!r} must be an integer, got {value!r}")
            if value <= 0:
                raise ConfigError(f"config key {key!r} must be positive, got {value}")
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(
                f"config key 'hidden_size' ({self.hidden_size}) must be divisible by "
                f"'num_attention_heads' ({self.num_attention_heads})"
            )
        if not is_int(self.num_labels, python_only=True) or self.num_labels < 0:
            raise ConfigError(f"config key 'num_labels' must be an integer >= 0, "
                              f"got {self.num_labels!r}")
        for key in ("pad_token_id", "bos_token_id", "eos_token_id"):
            value = getattr(self, key)
            if value is not None and not is_int(value, python_only=True):
                raise ConfigError(f"config key {key!r} must be an integer or null, got {value!r}")
        self._check_pad_token_id()
        if not isinstance(self.layer_norm_eps, (int, float)) or isinstance(
            self.layer_norm_eps, bool
        ) or not self.layer_norm_eps > 0:
            raise ConfigError(
                "config key 'layer_norm_eps' must be a positive number, "
                f"got {self.layer_norm_eps!r}"
            )
        for key in ("use_entity_aware_attention", "tie_word_embeddings"):
            if not isinstance(getattr(self, key), bool):
                raise ConfigError(f"config key {key!r} must be true or false, "
                                  f"got {getattr(self, key)!r}")
        if not isinstance(self.hidden_act, str) or self.hidden_act not in KNOWN_ACTIVATIONS:
            raise ConfigError(
                f"config key 'hidden_act' is {self.hidden_act!r}; numpy_luke knows "
                f"{', '.join(KNOWN_ACTIVATIONS)}"
            )
        if self.problem_type is not None and self.problem_type not in PROBLEM_TYPES:
            raise ConfigError(
                f"config key 'problem_type' is {self.problem_type!r}; expected one of "
                f"{', '.join(PROBLEM_TYPES)} or null"
            )
        if self.classifier_dropout is not None and not isinstance(
            self.classifier_dropout, (int, float)
        ):
            raise ConfigError(f"config key 'classifier_dropout' must be a number or null, "
                              f"got {self.classifier_dropout!r}")

    def _check_pad_token_id(self) -> None:
        """RoBERTa, and so LUKE, numbers word positions from ``pad_token_id + 1`` (padding
        gets ``pad_token_id`` itself), so the config needs it, and it must leave room in the
        position table. A negative value is left to the model, which refuses it at the first
        call (with ``position_ids`` given explicitly such a model still runs)."""
        pad, table = self.pad_token_id, self.max_position_embeddings
        if pad is None:
            raise ConfigError(
                "config key 'pad_token_id' is null, but LUKE numbers word positions from "
                "pad_token_id + 1 (as RoBERTa does); give the id of the padding token "
                "(1 for luke-base)"
            )
        if pad >= table - 1:
            raise ConfigError(
                f"config key 'pad_token_id' is {pad}, which leaves no room in the position "
                f"table (max_position_embeddings={table}): word positions start at "
                f"pad_token_id + 1, so it must be below {table - 1}"
            )


def check_entity_ids_fit(
    config: LukeConfig, ids: dict[str, int], source: str = "the tokenizer"
) -> None:
    """Refuse entity ids (e.g. the tokenizer's special entities ``[MASK]``, ``[MASK2]``)
    that lie outside the model's entity embedding table.

    A tokenizer and a model that do not belong together load separately without complaint;
    called when a pipeline pairs them, this names the mismatch instead of an ``IndexError``
    at the first prediction. Raises ``ConfigError`` naming the entity, its id and
    ``entity_vocab_size``.
    """
    _check_ids_fit(ids, config.entity_vocab_size, "entity_vocab_size", "entity", source)


def check_token_ids_fit(
    config: LukeConfig, ids: dict[str, int], source: str = "the tokenizer"
) -> None:
    """The same for word-token ids (``<mask>``, ``<pad>``, ...) against ``vocab_size``."""
    _check_ids_fit(ids, config.vocab_size, "vocab_size", "token", source)


def _check_ids_fit(ids: dict[str, int], size: int, key: str, kind: str, source: str) -> None:
    for name, value in ids.items():
        if isinstance(value, bool) or not hasattr(value, "__index__") or not (
            0 <= value.__index__() < size  # ints and NumPy ints
        ):
            shown = name if len(name) <= 80 else name[:77] + "..."
            raise ConfigError(
                f"{source} gives the {kind} {shown!r} the id {value!r}, but the model's "
                f"{kind} table holds ids 0..{size - 1} (config key {key!r} is {size}); the "
                "tokenizer and the model do not belong together"
            )


def _dtype_name(value):
    """A dtype as config.json names it, as transformers writes it: ``torch.float16`` ->
    ``"float16"``, ``np.float32`` (or ``np.dtype("float32")``) -> ``"float32"``; a string
    (``"auto"``, ``"bfloat16"``), None or an unknown value as it is."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    text = str(value)
    if text.startswith("torch."):  # a torch.dtype, without importing torch
        return text[len("torch."):]
    try:
        return np.dtype(value).name
    except (TypeError, ValueError):
        return value


def _serialisable(value) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _warn_if_misspelt(key: str, known) -> None:
    """An unknown key is kept, as transformers keeps it; one that looks like a misspelt field
    ("hiden_size") gets a warning, since its value would otherwise never take effect."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.85)
    if close:
        warnings.warn(f"LukeConfig: unknown key {key!r} is kept in `extra` and has no effect; "
                      f"did you mean {close[0]!r}?", stacklevel=3)

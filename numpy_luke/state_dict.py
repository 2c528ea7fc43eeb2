"""From a checkpoint's tensors to the parameter dict a model needs: names, ties, checks.

A state dict maps key names to arrays, e.g. ``luke.encoder.layer.0.attention.self.query.weight``.
numpy_luke's model code reads exactly these names (without the ``luke.`` prefix), so a key
can be grepped from a file straight into the code. Checkpoints differ in small ways, and
this module evens them out before the first forward pass:

* Prefix. Head models (``LukeForMaskedLM``, ...) store the encoder under ``luke.``; so does
  the published ``studio-ousia/luke-base`` (``LukeForMaskedLM`` keys: ``luke.*``,
  ``lm_head.*``, ``entity_predictions.*``; ``luke-large``'s layout is not verified, see
  docs/checkpoints.md). A bare ``LukeModel`` saves it without. Both load into either
  class.
* Ties. ``lm_head.decoder.weight`` is the word embedding matrix and
  ``entity_predictions.decoder.weight`` the entity embedding matrix (weight tying); files
  saved with safetensors leave the copies out, and they are filled in here. Likewise
  ``lm_head.decoder.bias`` is ``lm_head.bias``.
* Entity-aware queries. LUKE was pre-trained with ordinary attention (one ``query``);
  transformers' conversion of the pretrained checkpoints writes ``w2e_query``/``e2w_query``/
  ``e2e_query`` as copies of ``query``, the starting point of fine-tuning with entity-aware
  attention. A checkpoint without them, when the config asks for entity-aware attention,
  gets the same copies here, with a warning.
* Checks. Every tensor the model needs must be present with the right shape, and nothing
  unknown may be left over; otherwise ``CheckpointError`` lists what is missing, unexpected
  or misshapen, by name and shape. One exception, as in transformers: a head (and the
  pooler) absent from the checkpoint, e.g. ``LukeForEntityClassification`` from the base
  checkpoint, is initialised randomly when the caller passes ``initialise=`` (a warning
  names every such tensor; fine-tuning starts there). The encoder is never made up.
  Harmless extras are dropped silently: buffers such as
  ``embeddings.position_ids``, another head's tensors, a pooler the head does not use.
"""

from __future__ import annotations

import re
import warnings

import numpy as np

from .config import LukeConfig
from .errors import CheckpointError, NewWeightsWarning

PREFIX = "luke."
ENTITY_QUERIES = ("w2e_query", "e2w_query", "e2e_query")
# Top-level names of every head's tensors (any of them may sit in a checkpoint).
HEAD_NAMESPACES = ("lm_head.", "entity_predictions.", "classifier.", "qa_outputs.")
# Non-parameter buffers that older checkpoints carry.
BUFFER_PATTERN = re.compile(r"(^|\.)(position_ids|token_type_ids)$")
# The layer number in a key such as `luke.encoder.layer.11.output.dense.bias`.
LAYER_PATTERN = re.compile(r"(?:^|\.)encoder\.layer\.(\d+)\.")


def tied_keys(config: LukeConfig) -> dict[str, str]:
    """Head tensors that are another tensor under a second name (weight tying), as
    transformers' ``LukeForMaskedLM`` ties them: name -> the tensor it repeats. The word
    decoder is tied only when ``config.tie_word_embeddings`` is true; the entity decoder
    always is; ``lm_head.decoder.bias`` always is ``lm_head.bias``. transformers leaves
    these names out of the files it saves, and so does ``save_pretrained``."""
    ties = {
        "lm_head.decoder.weight": "embeddings.word_embeddings.weight",
        "lm_head.decoder.bias": "lm_head.bias",
        "entity_predictions.decoder.weight": "entity_embeddings.entity_embeddings.weight",
    }
    if not config.tie_word_embeddings:
        del ties["lm_head.decoder.weight"]
    return ties


# The encoder's embedding tables (transformers' nn.Embedding weights, which its
# ``num_parameters(exclude_embeddings=True)`` leaves out).
EMBEDDING_TABLES = (
    "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight",
    "embeddings.token_type_embeddings.weight",
    "entity_embeddings.entity_embeddings.weight",
    "entity_embeddings.position_embeddings.weight",
    "entity_embeddings.token_type_embeddings.weight",
)


def encoder_shapes(config: LukeConfig, *, with_pooler: bool = True) -> dict[str, tuple]:
    """Name -> shape of every tensor of the LUKE encoder (keys without ``luke.``)."""
    h, i = config.hidden_size, config.intermediate_size
    shapes = {
        "embeddings.word_embeddings.weight": (config.vocab_size, h),
        "embeddings.position_embeddings.weight": (config.max_position_embeddings, h),
        "embeddings.token_type_embeddings.weight": (config.type_vocab_size, h),
        "embeddings.LayerNorm.weight": (h,),
        "embeddings.LayerNorm.bias": (h,),
        "entity_embeddings.entity_embeddings.weight": (
            config.entity_vocab_size, config.entity_emb_size),
        "entity_embeddings.position_embeddings.weight": (config.max_position_embeddings, h),
        "entity_embeddings.token_type_embeddings.weight": (config.type_vocab_size, h),
        "entity_embeddings.LayerNorm.weight": (h,),
        "entity_embeddings.LayerNorm.bias": (h,),
    }
    if config.entity_emb_size != h:
        shapes["entity_embeddings.entity_embedding_dense.weight"] = (h, config.entity_emb_size)
    queries = ("query", "key", "value")
    if config.use_entity_aware_attention:
        queries += ENTITY_QUERIES
    for layer in range(config.num_hidden_layers):
        p = f"encoder.layer.{layer}."
        for name in queries:
            shapes[f"{p}attention.self.{name}.weight"] = (h, h)
            shapes[f"{p}attention.self.{name}.bias"] = (h,)
        shapes.update({
            f"{p}attention.output.dense.weight": (h, h),
            f"{p}attention.output.dense.bias": (h,),
            f"{p}attention.output.LayerNorm.weight": (h,),
            f"{p}attention.output.LayerNorm.bias": (h,),
            f"{p}intermediate.dense.weight": (i, h),
            f"{p}intermediate.dense.bias": (i,),
            f"{p}output.dense.weight": (h, i),
            f"{p}output.dense.bias": (h,),
            f"{p}output.LayerNorm.weight": (h,),
            f"{p}output.LayerNorm.bias": (h,),
        })
    if with_pooler:
        shapes["pooler.dense.weight"] = (h, h)
        shapes["pooler.dense.bias"] = (h,)
    return shapes


def prepare_state_dict(
    state_dict: dict[str, np.ndarray],
    config: LukeConfig,
    head_shapes: dict[str, tuple] | None = None,
    *,
    with_pooler: bool = True,
    dtype=np.float32,
    source: str = "checkpoint",
    initialise=None,
) -> dict[str, np.ndarray]:
    """The checked parameter dict for a model: encoder keys without ``luke.``, head keys as is.

    ``head_shapes`` names the head's own tensors (``lm_head.dense.weight``, ...) and shapes;
    None loads the bare encoder and ignores any head tensors. Arrays are converted to
    ``dtype`` (no copy when they already have it). Raises ``CheckpointError`` listing
    every missing, unexpected or misshapen tensor. ``initialise(name, shape)``, when given,
    makes the head's (and the pooler's) tensors the checkpoint lacks, with a warning naming
    them, as transformers' ``from_pretrained`` does; missing encoder tensors stay an error.
    """
    head_shapes = dict(head_shapes or {})
    _check_layer_count(state_dict, config, source)
    expected = {**encoder_shapes(config, with_pooler=with_pooler), **head_shapes}

    # 1. Names: drop the `luke.` prefix.
    renamed, original = _without_prefix(state_dict, source)

    # 2. Ties and the entity-aware queries' starting point.
    stored = set(renamed)  # before ties: which parts (head, pooler) the file holds at all
    _tie(renamed, head_shapes, config)
    copied = _copy_entity_queries(renamed, config)
    if copied:
        warnings.warn(
            f"{source} has no entity-aware query weights (w2e_query, e2w_query, e2e_query) "
            f"in {copied} layer(s); they start as copies of `query` (as transformers' "
            "conversion of the pretrained LUKE checkpoints makes them). "
            "This is expected for a model pre-trained without entity-aware attention.",
            stacklevel=3,
        )

    # 3. Keep what the model uses; drop harmless extras (buffers, other heads' tensors).
    params = {name: value for name, value in renamed.items() if name in expected}
    if initialise is not None:
        _initialise_missing(params, expected, head_shapes, stored, initialise, source)
    unexpected = [
        f"{original.get(name, name)} {tuple(np.shape(value))}"
        for name, value in renamed.items()
        if name not in expected and not _harmless(name, with_pooler)
    ]

    # 4. Checks, all reported at once.
    _check_fit(params, expected, unexpected, config, source)
    return {name: _as_dtype(value, dtype, name) for name, value in params.items()}


def _without_prefix(state_dict: dict, source: str) -> tuple[dict, dict]:
    """The tensors named without the ``luke.`` prefix, and each name's key as stored (for
    messages); a tensor stored both with and without the prefix is refused."""
    renamed: dict[str, np.ndarray] = {}
    original: dict[str, str] = {}
    for key, value in state_dict.items():
        name = key[len(PREFIX):] if key.startswith(PREFIX) else key
        if name in renamed:
            raise CheckpointError(f"{source}: the tensor {name} appears twice "
                                  f"(with and without the '{PREFIX}' prefix)")
        renamed[name] = value
        original[name] = key
    return renamed, original


def _check_fit(params: dict, expected: dict, unexpected: list[str], config: LukeConfig,
               source: str) -> None:
    """Missing, misshapen and unexpected tensors, all reported in one CheckpointError."""
    missing = [f"{name} {shape}" for name, shape in expected.items() if name not in params]
    mismatched = [
        f"{name}: expected {expected[name]}, found {tuple(np.shape(value))}"
        for name, value in params.items()
        if tuple(np.shape(value)) != tuple(expected[name])
    ]
    problems = []
    if missing:
        problems.append("missing tensors:\n  " + "\n  ".join(missing))
    if mismatched:
        problems.append("tensors of the wrong shape:\n  " + "\n  ".join(mismatched))
    if unexpected:
        problems.append("unexpected tensors:\n  " + "\n  ".join(unexpected))
    if problems:
        raise CheckpointError(
            f"{source} does not fit the model described by its config "
            f"(hidden_size={config.hidden_size}, layers={config.num_hidden_layers}, "
            f"vocab_size={config.vocab_size}, entity_vocab_size={config.entity_vocab_size}):\n"
            + "\n".join(problems)
            + "\nCheck that config.json belongs to these weights and that the model class "
            "matches the checkpoint's head."
        )


def _check_layer_count(state_dict: dict, config: LukeConfig, source: str) -> None:
    """Refuse a config that asks for more layers than the checkpoint holds, before listing
    the expected tensors of every layer (a broken config.json may ask for billions)."""
    held = {int(m.group(1)) for key in state_dict if (m := LAYER_PATTERN.search(key))}
    if config.num_hidden_layers > len(held):
        raise CheckpointError(
            f"{source}: the config asks for num_hidden_layers={config.num_hidden_layers} but "
            f"the weights hold {len(held)} layer(s); check that config.json belongs to them"
        )


def _harmless(name: str, with_pooler: bool) -> bool:
    """Tensors that may sit in a checkpoint without being used: buffers, other heads."""
    return (
        bool(BUFFER_PATTERN.search(name))
        or name.startswith(HEAD_NAMESPACES)
        or (not with_pooler and name.startswith("pooler."))
    )


def _tie(params: dict[str, np.ndarray], head_shapes: dict[str, tuple], config) -> None:
    """Fill in the decoder matrices shared with the embedding tables, when absent (see
    ``tied_keys``); ``lm_head.bias`` may be stored as ``lm_head.decoder.bias`` alone."""
    ties = {**tied_keys(config), "lm_head.bias": "lm_head.decoder.bias"}
    del ties["lm_head.decoder.bias"]
    for name, source in ties.items():
        if name in head_shapes and name not in params and source in params:
            params[name] = params[source]


def _initialise_missing(params, expected, head_shapes, stored, initialise, source) -> None:
    """Make the head, or the pooler, with ``initialise`` when the checkpoint holds none of
    its tensors (the tied decoders are already filled in by ``_tie``), and warn naming
    every tensor made. A part held only in part is left to the checks: a broken file."""
    absent = [name for name in expected if name not in params]
    made = []
    for part in (list(head_shapes), [name for name in expected if name.startswith("pooler.")]):
        if part and not stored.intersection(part):
            made += [name for name in part if name in absent]
    if not made or len(made) < len(absent):  # the rest is incomplete: an error, below
        return
    for name in made:
        params[name] = initialise(name, expected[name])
    warnings.warn(
        f"{source} does not hold these weights of the model, which start from random values "
        f"(as transformers initialises them): {', '.join(made)}. Train the model on a "
        "downstream task before using its predictions.",
        NewWeightsWarning,
        stacklevel=3,
    )


def _copy_entity_queries(params: dict[str, np.ndarray], config: LukeConfig) -> int:
    """Start absent w2e/e2w/e2e queries as copies of ``query``; return the number of layers."""
    if not config.use_entity_aware_attention:
        return 0
    layers = 0
    for layer in range(config.num_hidden_layers):
        p = f"encoder.layer.{layer}.attention.self."
        absent = False
        for name in ENTITY_QUERIES:
            for part in ("weight", "bias"):
                if f"{p}{name}.{part}" not in params and f"{p}query.{part}" in params:
                    params[f"{p}{name}.{part}"] = params[f"{p}query.{part}"]
                    absent = True
        layers += absent
    return layers


def _as_dtype(value, dtype, name: str) -> np.ndarray:
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.floating):
        raise CheckpointError(f"tensor {name} has dtype {array.dtype}; expected floating point")
    return array if array.dtype == dtype else array.astype(dtype)


# ---------------------------------------------------------------------------------------
# Non-finite values.
#
# Weights are not checked at load: that would read every page of a memory-mapped 1 GB file
# which a bare encoder only partly touches (the 500,000-row entity table), costing ~40-60 ms
# of compute on luke-base when the file is in the page cache and a full disk read when not.
# Instead the outputs are checked (cheap: they are small), and only when an output is not
# finite are the weights searched, to name the tensor to blame.

FINITE_CHUNK = 2**20  # elements tested at a time: at most 1 MB of booleans in flight


def find_nonfinite(arrays: dict[str, np.ndarray]) -> str | None:
    """The name of the first floating array holding NaN or an infinity, or None.

    Works for parameters and outputs alike. Memory stays bounded: large arrays are tested
    a slice of rows at a time (luke-base's 1.1 GB of float32 weights take about 40 ms when
    in memory). Integer and boolean arrays are always finite.
    """
    for name, array in arrays.items():
        if array is None:
            continue
        array = np.asarray(array)
        if array.dtype.kind not in "fc":
            continue
        if not _all_finite(array):
            return name
    return None


def _all_finite(array: np.ndarray) -> bool:
    if array.ndim == 0 or array.size <= FINITE_CHUNK:
        return bool(np.isfinite(array).all())
    rows = max(1, FINITE_CHUNK // (array.size // array.shape[0]))
    return all(
        bool(np.isfinite(array[start : start + rows]).all())
        for start in range(0, array.shape[0], rows)
    )


def check_finite_outputs(
    outputs: dict[str, np.ndarray],
    params: dict[str, np.ndarray] | None = None,
    source: str = "the model",
) -> None:
    """Raise ``CheckpointError`` when an output holds NaN or an infinity, naming it and,
    when ``params`` are given, the first weight that is not finite either.

    A NaN in a weight spreads to every score, so the top predictions of a broken checkpoint
    are arbitrary ([PAD], [UNK], ...): never an answer to return.
    """
    output = find_nonfinite(outputs)
    if output is None:
        return
    message = f"{source}: its output {output!r} holds NaN or infinite values"
    if params is not None:
        weight = find_nonfinite(params)
        if weight is not None:
            message += f"; the weight {weight!r} is not finite, so the checkpoint is broken"
        else:
            message += (
                "; every weight is finite, so the computation overflowed (weights or inputs "
                "far too large for float32)"
            )
    raise CheckpointError(message)

# %% [markdown]
# # Chapter 7 — Checkpoints
#
# A checkpoint is a folder: `config.json` (sizes, chapter 5), the tokenizer files (chapters
# 1-2) and the weights, a mapping from key names to arrays. Weights come in two formats:
#
# * **safetensors** (`model.safetensors`): a JSON header naming every tensor's dtype, shape
#   and byte range, then the raw bytes. Nothing to execute; easy to memory-map.
# * **PyTorch's zip format** (`pytorch_model.bin`, what the published studio-ousia LUKE
#   checkpoints ship): a zip archive holding a *pickle* that describes the tensors, and one
#   raw byte file per storage. A pickle is a small program, so it must be read with care.
#
# numpy_luke reads both without torch: `numpy_luke/weights.py` and
# `numpy_luke/torch_checkpoint.py`; `numpy_luke/state_dict.py` then maps keys to the model.

# %%
import io
import json
import pickle
import pickletools
import shutil
import struct
import tempfile
import warnings
import zipfile
from pathlib import Path

import _common
import numpy as np
from _common import show, table, title

from numpy_luke import LukeConfig, LukeForMaskedLM, LukeModel
from numpy_luke.errors import CheckpointError
from numpy_luke.hub import resolve_weight_files
from numpy_luke.torch_checkpoint import ALLOWED_GLOBALS
from numpy_luke.weights import load_state_dict

FIXTURES = _common.ROOT / "tests" / "fixtures"
model_name = _common.model_name()
files = resolve_weight_files(model_name)
show("weight files of the checkpoint", [f.name for f in files])

# %% [markdown]
# ## safetensors, by hand
#
# The first 8 bytes are the header's length N (little-endian unsigned 64-bit integer), then
# N bytes of JSON, then the data. Offsets in the header count from the end of the header.
# We use the fixture's `model.safetensors` (or the chosen checkpoint's, if it has one).
#
# **The formula.** No paper has an equation for this; it is the safetensors format's
# layout, written as arithmetic. For a tensor with header entry `data_offsets = [begin, end]`,
# dtype of `itemsize` bytes and shape (d_1, ..., d_k):
#
#     bytes = file[8 + N + begin : 8 + N + end],  end - begin = itemsize * d_1 * ... * d_k
#
# row-major (C order), little-endian. `by_hand` below is that slice, reshaped.

# %%
safetensors_file = next((f for f in files if f.suffix == ".safetensors"),
                        FIXTURES / "tiny-luke" / "model.safetensors")
raw = safetensors_file.read_bytes()
(header_length,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + header_length])
show("file", safetensors_file.relative_to(_common.ROOT) if safetensors_file.is_relative_to(
    _common.ROOT) else safetensors_file)
show("header bytes", header_length)
entries = {k: v for k, v in header.items() if k != "__metadata__"}
show("tensors", len(entries))
table([(name, e["dtype"], e["shape"], e["data_offsets"]) for name, e in list(entries.items())[:5]],
      header=("name", "dtype", "shape", "data_offsets"))

name = "embeddings.word_embeddings.weight"
key = name if name in entries else "luke." + name
begin, end = entries[key]["data_offsets"]
start = 8 + header_length
by_hand = np.frombuffer(raw[start + begin:start + end], dtype="<f4").reshape(entries[key]["shape"])
state = load_state_dict([safetensors_file])
show(f"{key}[:2, :5] read by hand", by_hand[:2, :5])
show("equal to load_state_dict's", bool(np.array_equal(by_hand, state[key])))

# %% [markdown]
# `load_state_dict` does not copy the bytes: it memory-maps the file and returns read-only
# views, so loading costs address space, and pages are read from disk only when used.

# %%
array = state[key]
show("writeable", array.flags.writeable)
show("owns its memory", array.flags.owndata)

# %% [markdown]
# ## PyTorch's zip format
#
# `torch.save` writes a zip archive. We look inside `tests/fixtures/weights/tied.bin`, a
# tiny state dict written by torch (`tests/goldens/make_weight_fixtures.py`) with two names
# for one matrix, as a language model ties its output layer to its input embeddings.

# %%
tied_file = FIXTURES / "weights" / "tied.bin"
with zipfile.ZipFile(tied_file) as archive:
    members = {info.filename: info for info in archive.infolist()}
    data_pkl = next(archive.read(n) for n in members if n.endswith("data.pkl"))
title(f"members of {tied_file.name}")
table([(n, info.file_size, "stored" if info.compress_type == 0 else "deflated")
       for n, info in members.items()], header=("member", "bytes", "compression"))

# %% [markdown]
# `data.pkl` is a pickle: a program for a small stack machine. Its `GLOBAL` opcodes import
# a `module.name`, its `REDUCE` opcodes call what is on the stack. Here are the globals
# this one asks for, and the persistent ids that name storages (the bytes in `data/0`, ...):

# %%
title("the start of data.pkl, disassembled (pickletools.dis)")
listing = io.StringIO()
pickletools.dis(data_pkl, out=listing)
print("  " + "\n  ".join(listing.getvalue().splitlines()[:14]) + "\n  ...")


class Recorder(pickle.Unpickler):
    """Lists what a pickle asks for. Every global becomes a harmless stand-in that returns
    None, so nothing real is ever imported or called."""

    def __init__(self, data):
        super().__init__(io.BytesIO(data))
        self.globals, self.persistent_ids = [], []

    def find_class(self, module, name):
        self.globals.append((module, name))
        return lambda *args, **kwargs: None

    def persistent_load(self, pid):
        self.persistent_ids.append(pid)


recorder = Recorder(data_pkl)
recorder.load()
globals_used = recorder.globals
persistent_ids = [(kind, key, device, numel) for kind, _, key, device, numel in
                  recorder.persistent_ids]
show("globals", sorted(set(globals_used)))
show("storages (kind, key in data/, device, elements)", persistent_ids)

# %% [markdown]
# A tensor is `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`: a view
# of a storage, where element (i_1, ..., i_k) is `storage[offset + i_1 s_1 + ... + i_k s_k]`
# for strides (s_1, ..., s_k) (the strided-array formula NumPy uses as well, in bytes).
# `pickle.load` would import torch and call it — and a hostile file could
# just as well name `os.system`. So numpy_luke unpickles with a **restricted** unpickler: a
# global is resolved only through a fixed table of the names a state dict needs, each
# mapped to a stand-in that merely records its arguments. Then every view is checked
# against its storage and made a NumPy array (memory-mapped from the zip).

# %%
title("the allow-list (numpy_luke.torch_checkpoint.ALLOWED_GLOBALS)")
for module, name in ALLOWED_GLOBALS:
    print(f"  {module}.{name}")
tied = load_state_dict([tied_file])
table([(k, v.shape, v.dtype) for k, v in tied.items()], header=("tensor", "shape", "dtype"))
show("embeddings.weight and decoder.weight share memory",
     bool(np.shares_memory(tied["embeddings.weight"], tied["decoder.weight"])))

# %% [markdown]
# ### A hostile file is refused before anything runs
#
# We write a `pytorch_model.bin` whose pickle, if loaded with `pickle.load`, would call
# `builtins.exec` to create a file. numpy_luke stops at the first global outside the table.

# %%
workdir = Path(tempfile.mkdtemp(prefix="numpy_luke_ch7_"))
marker = workdir / "this-file-must-not-exist"


class Payload:
    def __reduce__(self):
        return (exec, (f"open({str(marker)!r}, 'w').write('code ran')",))


hostile = workdir / "pytorch_model.bin"
with zipfile.ZipFile(hostile, "w") as archive:
    archive.writestr("archive/data.pkl", pickle.dumps({"weight": Payload()}, protocol=2))
    archive.writestr("archive/byteorder", "little")
try:
    load_state_dict([hostile])
    refused = None
except CheckpointError as error:
    refused = str(error)
show("CheckpointError", refused)
show("did the payload run?", marker.exists())

# %% [markdown]
# ## Key names, ties, and the entity-aware queries
#
# A state dict's keys are the parameter names used throughout numpy_luke's code, e.g.
# `encoder.layer.0.attention.self.w2e_query.weight`. `state_dict.py` evens out small
# differences between checkpoints before the first forward pass:
#
# * head models store the encoder under `luke.` (so does the published `luke-base`, whose
#   files hold `LukeForMaskedLM`'s keys; for `luke-large` this is not verified, and
#   docs/checkpoints.md says how to check); a bare `LukeModel` saves it without — both load;
# * tied matrices are often stored once: `lm_head.decoder.weight` *is* the word embedding
#   table, `entity_predictions.decoder.weight` the entity embedding table;
# * a checkpoint without `w2e_query`/`e2w_query`/`e2e_query` (pre-trained without entity-aware
#   attention) starts them as copies of `query`, as transformers' conversion of the
#   pretrained checkpoints does, with a warning;
# * anything missing, unexpected or misshapen is reported by name and shape.

# %%
fixture_dir = FIXTURES / "tiny-luke"
fixture_state = load_state_dict([fixture_dir / "model.safetensors"])
config = LukeConfig.from_pretrained(fixture_dir)
mlm = LukeForMaskedLM.from_pretrained(fixture_dir)
show("luke. prefix in the file", sorted({k.split(".")[0] for k in fixture_state}))
show("lm_head.decoder.weight in the file", "lm_head.decoder.weight" in fixture_state)
show("in the model, it is the word embedding table",
     bool(np.shares_memory(mlm.params["lm_head.decoder.weight"],
                           mlm.params["embeddings.word_embeddings.weight"])))

without_queries = {k: v for k, v in fixture_state.items()
                   if not any(q in k for q in ("w2e_query", "e2w_query", "e2e_query"))}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    copied = LukeModel.from_state_dict(without_queries, config)
show("warning", str(caught[0].message) if caught else None)
layer0 = "encoder.layer.0.attention.self."
show("w2e_query == query after loading",
     bool(np.array_equal(copied.params[layer0 + "w2e_query.weight"],
                         copied.params[layer0 + "query.weight"])))

broken = dict(fixture_state)
broken["luke.embeddings.LayerNorm.weight"] = np.ones(7, dtype=np.float32)
del broken["luke.pooler.dense.bias"]
try:
    LukeModel.from_state_dict(broken, config)
    mismatch = None
except CheckpointError as error:
    mismatch = str(error)
title("a checkpoint that does not fit")
print("  " + mismatch.replace("\n", "\n  "))

# %% [markdown]
# ## The same model from either format
#
# `tests/goldens/model/base_aware_same_bin` is a LUKE encoder saved by torch as
# `pytorch_model.bin`. It loads like any folder; its keys have no `luke.` prefix.

# %%
bin_dir = _common.ROOT / "tests" / "goldens" / "model" / "base_aware_same_bin"
bin_model = LukeModel.from_pretrained(bin_dir)
bin_state = load_state_dict(resolve_weight_files(bin_dir))
print(bin_model)
show("first keys", list(bin_state)[:3])

# %% [markdown]
# ## Exercises
#
# Fill in a stub and run the chapter again: the last cell checks your answer (until then it
# checks the reference answer in `walkthrough/answers.py`).
#
# 1. `exercise_1(path)`: read a safetensors file's header and return
#    `{name: (dtype, shape)}` for its tensors (leave out `__metadata__`), reading only the
#    first 8 + N bytes.
# 2. `exercise_2(storage, offset, size, stride)`: a tensor as PyTorch stores it, a view of
#    a flat storage, returned as a new NumPy array (element (i, j, ...) is
#    `storage[offset + i * stride[0] + j * stride[1] + ...]`).

# %%


def exercise_1(path) -> dict:
    raise NotImplementedError


def exercise_2(storage: np.ndarray, offset: int, size: tuple, stride: tuple) -> np.ndarray:
    raise NotImplementedError


def check_exercise_1(answer):
    mine = answer(safetensors_file)
    assert mine == {n: (e["dtype"], tuple(e["shape"])) for n, e in entries.items()}
    assert mine[key] == ("F32", tuple(state[key].shape))


def check_exercise_2(answer):
    flat = np.arange(24.0)
    assert np.array_equal(answer(flat, 0, (4, 6), (6, 1)), flat.reshape(4, 6))
    assert np.array_equal(answer(flat, 0, (6, 4), (1, 6)), flat.reshape(4, 6).T)  # transposed
    assert np.array_equal(answer(flat, 5, (2, 3), (3, 1)), flat[5:11].reshape(2, 3))  # offset
    assert np.array_equal(answer(flat, 2, (3,), (0,)), np.full(3, 2.0))  # stride 0: broadcast


# %% [markdown]
# ## What this chapter claimed, checked

# %%
# safetensors: header by hand = library; arrays are read-only views of the file.
assert np.array_equal(by_hand, state[key])
assert not array.flags.writeable and not array.flags.owndata
# The zip: a pickle plus raw storages; globals only from the allow-list; ties share memory.
assert [key for _, key, _, _ in persistent_ids] == ["0", "1"]
assert any(n.endswith("data.pkl") for n in members) and any("/data/" in n for n in members)
assert set(globals_used) <= set(ALLOWED_GLOBALS)
assert np.shares_memory(tied["embeddings.weight"], tied["decoder.weight"])
# A hostile pickle is refused by name, and its payload never ran.
assert refused is not None and "exec" in refused
assert not marker.exists()
# Keys: prefix handled, tie made, missing queries copied from `query` with a warning.
assert "lm_head.decoder.weight" not in fixture_state
assert np.shares_memory(mlm.params["lm_head.decoder.weight"],
                        mlm.params["embeddings.word_embeddings.weight"])
assert caught and "copies of `query`" in str(caught[0].message)
assert np.array_equal(copied.params[layer0 + "e2e_query.bias"],
                      copied.params[layer0 + "query.bias"])
# Problems are reported by name and shape.
assert "embeddings.LayerNorm.weight" in mismatch and "(7,)" in mismatch
assert "pooler.dense.bias" in mismatch
# The .bin folder loads; its keys have no prefix.
assert not any(k.startswith("luke.") for k in bin_state)
hidden = bin_model.config.hidden_size
assert bin_model.params["embeddings.word_embeddings.weight"].shape[1] == hidden
shutil.rmtree(workdir)  # the hostile file's folder
# The exercises: your answers when written, else the reference answers.
_common.check_exercises(globals(), chapter=7)
print("\nchapter 7: all checks passed")

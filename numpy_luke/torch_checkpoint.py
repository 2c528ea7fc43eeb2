"""Reading PyTorch's ``pytorch_model.bin`` without torch, and without trusting it.

``torch.save(state_dict, "pytorch_model.bin")`` writes a zip archive (torch >= 1.6):

    archive/data.pkl        a pickle of the state dict: names -> tensor descriptions
    archive/data/0          raw bytes of storage "0" (little-endian, C order)
    archive/data/1          ...
    archive/byteorder       "little" (absent in old files, which are little-endian)
    archive/version, ...    bookkeeping we do not need

The top folder ("archive", "pytorch_model", ...) is whatever name the writer chose.

A tensor in ``data.pkl`` is a call ``torch._utils._rebuild_tensor_v2(storage, offset,
size, stride, ...)``: a view of ``size`` elements with ``stride`` (in elements) starting
``offset`` elements into a storage. Storages are not pickled; the pickle names them with a
"persistent id" ``("storage", torch.FloatStorage, "0", "cpu", numel)`` and the bytes live in
``data/0``. Several tensors may view one storage (tied weights); they then share memory
here too.

Files written by torch < 1.6 (``_use_new_zipfile_serialization=False``) are one stream
instead: five pickles in a row (magic number, protocol version, system info, the state
dict with the same tensor calls, the list of storage keys), then each storage's element
count and bytes. They are read the same way, storages mapped from the stream.

Why a restricted unpickler. A pickle is a small program: its GLOBAL opcodes import any
``module.name`` and its REDUCE opcode calls it with arguments, so ``pickle.load`` of a
hostile file can run ``os.system("...")``. Our unpickler resolves a global only through a
fixed table (``ALLOWED_GLOBALS``) of the names a state dict needs: ``OrderedDict``, the
tensor and parameter rebuild functions and the storage types. Each maps to a stand-in of
ours that only records its arguments; nothing of torch is imported and nothing outside the
table can be reached, because resolving a global is the only way a pickle gets hold of a
callable. Any other global, whichever opcode asks for it (GLOBAL, STACK_GLOBAL, INST, OBJ,
EXT via copyreg), stops the load with a ``CheckpointError`` naming it.

Before unpickling, the opcodes are walked once without running them (``pickletools``):
memo indices and counted lengths must fit the pickle, and the stack may not pile up more
than 100,000 items. A compressed ``data.pkl`` may expand 16x at most, a tensor may have 64
dimensions at most, and two zip records of one name are refused, so the work and memory
of a refusal stay within small multiples of the file's size.

After unpickling, every tensor description is checked against its storage (declared size
equals the stored bytes, the strided extent fits in the storage, no more elements than the
storage holds) before any array exists, so a file cannot make us allocate more than its own
size justifies. Storages stored uncompressed (torch always does) are memory-mapped: the
arrays are read-only views of the file, paged in when first used.
"""

from __future__ import annotations

import io
import math
import mmap
import os
import pickle
import pickletools
import re
import struct
import warnings
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .checks import clipped, short
from .errors import CheckpointError

# The legacy (torch < 1.6) format starts with this number, pickled with protocol 2.
LEGACY_MAGIC = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)[:-1]  # without the STOP

# Storage type -> NumPy element type (byte order added from the archive's "byteorder").
# BFloat16 has no NumPy type: its bits are read as uint16 and widened by bfloat16_to_float32.
STORAGE_DTYPES = {
    "DoubleStorage": "f8",
    "FloatStorage": "f4",
    "HalfStorage": "f2",
    "BFloat16Storage": "u2",
    "LongStorage": "i8",
    "IntStorage": "i4",
    "ShortStorage": "i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "b1",
}

# Deflate cannot expand data by more than about 1032x; a member claiming more is a zip bomb.
MAX_EXPANSION = 1100
# data.pkl is different: every byte of a pickle is an opcode that the unpickler runs, and one
# byte can create a Python object (``]``, an empty list: 56 bytes and about a microsecond).
# torch stores data.pkl uncompressed; a re-zipped one deflates about 5x (measured on a
# 554-tensor LUKE state dict). A compressed data.pkl may expand 16x at most, and no pickle
# may exceed 64 MB (about 190 bytes per tensor: 300,000 tensors). So the unpickler's work
# and memory stay bounded by the file's own size with small constants.
PICKLE_EXPANSION = 16
MAX_PICKLE_BYTES = 64 * 2**20
# A pickle's stack (plus its marks) may hold at most this many items. Python's pickler writes
# a dict's items in batches of 1,000 (2,000 stack items), so a state dict never comes near;
# a hostile pickle of 3 million ``}`` (EMPTY_DICT) opcodes would hold 3 million dicts, 72
# bytes each, on the stack. Objects that leave the stack must be stored in a container or
# the memo, which costs a second opcode each: at most about 36 bytes of memory per byte of
# pickle.
MAX_STACK_DEPTH = 100_000
# A tensor has at most 64 dimensions: NumPy's limit (NPY_MAXDIMS), and far beyond any
# model's. Checked before any arithmetic on the sizes, so that tens of thousands of huge
# dimensions cannot make ``math.prod`` build integers of millions of digits.
MAX_DIMS = 64
# Messages quote values from the file through ``checks.short``; none grows beyond a few
# hundred characters whatever the file holds.


def bfloat16_to_float32(bits: np.ndarray) -> np.ndarray:
    """Widen bfloat16 values, given as their uint16 bit patterns, to float32 (exactly).

    bfloat16 is the top half of a float32: same sign and exponent, 7 of the 23 mantissa
    bits. Shifting the 16 bits into the high half of a 32-bit word gives the float32.
    """
    return (bits.astype(np.uint32) << 16).view(np.float32)


# ---------------------------------------------------------------------------------------
# What the pickle may build: inert records, created by stand-ins for torch's functions.


class BadRecord(Exception):
    """Raised inside the unpickler by our stand-ins; reported as a CheckpointError."""


class _Inert:
    """Base of every object a pickle can get from us. Its BUILD opcode (which sets state on
    an object it holds) is refused, so a pickle cannot rewrite a stand-in or a record."""

    __slots__ = ()

    def __setstate__(self, state):
        raise BadRecord(f"the pickle tries to modify a {type(self).__name__} (BUILD)")


class StorageType(_Inert):
    """Stand-in for ``torch.FloatStorage`` and friends: just a name. Not callable."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


class StorageRef(_Inert):
    """A storage named by the pickle: its type, its key in ``data/`` and its element count."""

    __slots__ = ("storage_type", "key", "numel")

    def __init__(self, storage_type: StorageType, key: str, numel: int):
        self.storage_type, self.key, self.numel = storage_type, key, numel


class TensorRef(_Inert):
    """A tensor described by the pickle: a strided view into a storage."""

    __slots__ = ("storage", "offset", "size", "stride")

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


class StandIn(_Inert):
    """What the pickle gets for an allowed torch function: calls ours, named like torch's."""

    __slots__ = ("qualname", "function")

    def __init__(self, qualname: str, function):
        self.qualname, self.function = qualname, function

    def __call__(self, *args):
        return self.function(*args)


def _rebuild_tensor_v2(
    storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None
):
    """Stand-in for ``torch._utils._rebuild_tensor_v2``: check the types, record the view."""
    if not isinstance(storage, StorageRef):
        raise BadRecord(f"a tensor's storage is a {type(storage).__name__}")
    for what, value in (("size", size), ("stride", stride)):
        if isinstance(value, (tuple, list)) and len(value) > MAX_DIMS:
            raise BadRecord(f"a tensor's {what} has {len(value)} dimensions; at most "
                            f"{MAX_DIMS} are allowed (NumPy's limit)")
    if not _is_size(storage_offset) or not _is_size_tuple(size) or not _is_size_tuple(stride):
        raise BadRecord(
            "a tensor has a malformed offset/size/stride: "
            f"{_short(storage_offset)}, {_short(size)}, {_short(stride)}"
        )
    if len(size) != len(stride):
        raise BadRecord(f"a tensor has size {_short(size)} but stride {_short(stride)}")
    if not isinstance(requires_grad, bool):
        raise BadRecord(f"a tensor has requires_grad={_short(requires_grad)}")
    if backward_hooks:  # torch never saves hooks; a non-empty value is not a state dict
        raise BadRecord("a tensor carries backward hooks")
    if metadata and any(metadata.values()):  # the conjugate / negative bits
        raise BadRecord(f"a tensor carries metadata {_short(metadata)} (conj/neg views)")
    return TensorRef(storage, storage_offset, tuple(size), tuple(stride))


def _rebuild_parameter(data, requires_grad, backward_hooks, state=None):
    """Stand-in for ``torch._utils._rebuild_parameter(_with_state)``: a parameter is its data."""
    if not isinstance(data, TensorRef):
        raise BadRecord(f"a parameter wraps a {type(data).__name__}, not a tensor")
    if backward_hooks or state:
        raise BadRecord("a parameter carries backward hooks or extra state")
    return data


# The whole allow-list: (module, name) -> what the pickle gets instead of the real thing.
ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): OrderedDict,
    **{
        ("torch._utils", name): StandIn(f"torch._utils.{name}", function)
        for name, function in [
            ("_rebuild_tensor_v2", _rebuild_tensor_v2),
            ("_rebuild_parameter", _rebuild_parameter),
            ("_rebuild_parameter_with_state", _rebuild_parameter),
        ]
    },
    **{("torch", name): StorageType(name) for name in STORAGE_DTYPES},
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler whose only globals are ``ALLOWED_GLOBALS`` and whose persistent ids are
    torch storage references."""

    def __init__(self, file, source: str):
        super().__init__(file)
        self.source = source
        self.storage_refs: list[StorageRef] = []  # every storage named, in order

    def find_class(self, module, name):
        # Called for every way a pickle can name a global (GLOBAL, STACK_GLOBAL, INST, EXT*).
        # A plain dict lookup: no import, no getattr, dotted names are not walked.
        try:
            return ALLOWED_GLOBALS[module, name]
        except (KeyError, TypeError):
            raise CheckpointError(
                f"{self.source}: refusing to load the global "
                f"{clipped(module)}.{clipped(name)}: a state dict "
                "never needs it, and unpickling it could run code. The file is corrupt or "
                "hostile; do not load it with torch.load either."
            ) from None

    def persistent_load(self, pid):
        # zip format: ("storage", type, key, location, numel); the legacy format adds a
        # sixth field, view_metadata, which is None unless the storage is a view (torch < 1.0).
        if not (
            isinstance(pid, tuple)
            and len(pid) in (5, 6)
            and pid[0] == "storage"
            and isinstance(pid[1], StorageType)
            and isinstance(pid[2], str)
            and isinstance(pid[3], str)
            and _is_size(pid[4])
            and (len(pid) == 5 or pid[5] is None)
        ):
            raise CheckpointError(f"{self.source}: unexpected persistent id {_short(pid)}")
        ref = StorageRef(pid[1], pid[2], pid[4])
        self.storage_refs.append(ref)
        return ref


def check_opcode_arguments(data: bytes) -> None:
    """Walk the opcodes once, without running them, and refuse absurd arguments.

    The C unpickler trusts two numbers it reads: the length of a counted string and the
    index of a memo slot (BINPUT / LONG_BINPUT), for which it grows and zero-fills its memo
    table. A 5-byte LONG_BINPUT can thus make it touch gigabytes. Every real memo index is
    smaller than the pickle itself (each memoised object costs at least one byte), and
    ``pickletools.genops`` refuses counted lengths that run past the data.

    The walk also counts the unpickler's stack (what each opcode pops and pushes, as
    ``pickletools.dis`` does) and refuses a pickle that would pile up more than
    ``MAX_STACK_DEPTH`` items: one-byte opcodes such as ``}`` each leave a new object there.
    """
    depth, marks = 0, []  # items on the stack; the depth at each open MARK
    with warnings.catch_warnings():  # genops warns about bad escapes in text strings
        warnings.simplefilter("ignore", DeprecationWarning)
        for opcode, argument, _ in pickletools.genops(data):
            name = opcode.name
            if name in ("PUT", "BINPUT", "LONG_BINPUT") and int(argument) >= len(data):
                raise BadRecord(f"memo index {argument} in a {len(data)}-byte pickle")
            to_mark, pops, pushes, opens_mark = _STACK_EFFECTS[name]
            if to_mark or (name == "POP" and marks and marks[-1] == depth):
                if not marks:
                    raise BadRecord(f"{name} without a MARK")
                depth = marks.pop()  # everything above the mark goes, with the mark
                pops = pops if to_mark else 0
            depth = max(depth - pops, 0) + pushes
            if opens_mark:
                marks.append(depth)
            if depth + len(marks) > MAX_STACK_DEPTH:
                raise BadRecord(
                    f"the pickle piles up more than {MAX_STACK_DEPTH:,} items on its stack; "
                    "a state dict needs a few thousand"
                )


def _stack_effect(opcode) -> tuple[bool, int, int, bool]:
    """(pops down to a MARK?, items popped below it or in all, items pushed, opens a MARK?)"""
    before, after = opcode.stack_before, opcode.stack_after
    to_mark = pickletools.markobject in before
    pops = before.index(pickletools.markobject) if to_mark else len(before)
    opens_mark = pickletools.markobject in after
    return to_mark, pops, len(after) - opens_mark, opens_mark


_STACK_EFFECTS = {opcode.name: _stack_effect(opcode) for opcode in pickletools.opcodes}


def _is_size(value) -> bool:
    """A non-negative int64, as torch stores sizes, strides, offsets and counts."""
    return type(value) is int and 0 <= value < 2**63


_short = short  # the package's one bounded repr (checks.short); files quote through it


def _is_size_tuple(value) -> bool:
    return isinstance(value, (tuple, list)) and all(_is_size(v) for v in value)


# ---------------------------------------------------------------------------------------
# The files: the zip archive (torch >= 1.6) and the legacy stream (torch < 1.6).


def is_legacy_torch_file(head: bytes) -> bool:
    """True when ``head`` (the first bytes of a file) starts torch's pre-zip format."""
    return head.startswith(LEGACY_MAGIC)


def load_torch_checkpoint(path: str | Path) -> dict[str, np.ndarray]:
    """Read a ``pytorch_model.bin`` (zip archive or legacy stream) into arrays of the stored
    dtypes.

    Storages are read-only views of the memory-mapped file (unless a zip stores them
    compressed). bfloat16 tensors come back as float32 (NumPy has no bfloat16). Raises
    ``CheckpointError`` for anything malformed or outside the allow-list.
    """
    path = Path(path)
    with open(path, "rb") as file:
        if is_legacy_torch_file(file.read(len(LEGACY_MAGIC))):
            return _LegacyReader(path, file).read()
        try:
            archive = zipfile.ZipFile(file)
        except Exception as error:  # BadZipFile, OSError, ValueError, ... on broken archives
            raise CheckpointError(
                f"{path}: not a readable zip archive ({type(error).__name__}: {error})"
            ) from None
        with archive:
            return _ZipReader(path, file, archive).read()


class _Reader:
    """What both formats share: unpickling, storages as arrays, tensors as views."""

    byteorder = "<"

    def __init__(self, path: Path, file):
        self.path, self.file = path, file
        self.file_size = os.fstat(file.fileno()).st_size
        self.mapped: np.ndarray | None = None  # the whole file as uint8, mapped on demand
        self.storages: dict[str, tuple[np.ndarray, StorageType]] = {}

    def read(self) -> dict[str, np.ndarray]:
        state = self.read_state()
        if not isinstance(state, dict):
            raise CheckpointError(
                f"{self.path}: the pickle holds a {type(state).__name__}, not a state dict "
                "(a mapping from names to tensors)"
            )
        arrays = {}
        for name, tensor in state.items():
            if not isinstance(name, str) or not isinstance(tensor, TensorRef):
                raise CheckpointError(
                    f"{self.path}: entry {_short(name)} is a {type(tensor).__name__}, not a "
                    "tensor; expected a flat state dict (names -> tensors)"
                )
            arrays[name] = self._tensor(name, tensor)
        return arrays

    def read_state(self):
        """Unpickle the state dict (of TensorRef records). Format specific."""
        raise NotImplementedError

    def storage_bytes(self, ref: StorageRef, nbytes: int) -> np.ndarray:
        """The ``nbytes`` bytes of a storage, as uint8, after checking them. Format specific."""
        raise NotImplementedError

    def unpickle(self, data: bytes, what: str):
        """Run ``data`` through the restricted unpickler; every failure a CheckpointError."""
        source = str(self.path)
        unpickler = RestrictedUnpickler(io.BytesIO(data), source)
        try:
            check_opcode_arguments(data)
            return unpickler.load()
        except CheckpointError:
            raise
        except BadRecord as error:
            raise CheckpointError(f"{source}: {what}: {error}") from None
        except RecursionError:
            raise CheckpointError(f"{source}: {what} nests too deeply") from None
        except MemoryError:
            raise CheckpointError(f"{source}: {what} asks for too much memory") from None
        except Exception as error:  # a malformed pickle: any of a dozen exception types
            raise CheckpointError(
                f"{source}: {what} is not a valid state-dict pickle "
                f"({type(error).__name__}: {str(error)[:200]})"
            ) from None
        finally:
            self.storage_refs = unpickler.storage_refs

    def open_map(self) -> mmap.mmap:
        try:
            return mmap.mmap(self.file.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as error:  # e.g. a file system that cannot map files
            raise CheckpointError(f"{self.path}: cannot memory-map the file ({error})") from None

    def map(self) -> np.ndarray:
        if self.mapped is None:
            self.mapped = np.frombuffer(self.open_map(), dtype=np.uint8)
        return self.mapped

    def _storage(self, ref: StorageRef) -> np.ndarray:
        """The 1-D array of a storage's elements; one shared array per storage key."""
        dtype = np.dtype(self.byteorder + STORAGE_DTYPES[ref.storage_type.name])
        if ref.key in self.storages:
            array, storage_type = self.storages[ref.key]
            if storage_type is not ref.storage_type or array.size != ref.numel:
                raise CheckpointError(
                    f"{self.path}: storage {clipped(ref.key)} is declared twice with "
                    "different types or sizes"
                )
            return array
        nbytes = ref.numel * dtype.itemsize  # exact (Python ints): checked before any use
        array = self.storage_bytes(ref, nbytes).view(dtype)
        self.storages[ref.key] = (array, ref.storage_type)
        return array

    def _tensor(self, name: str, tensor: TensorRef) -> np.ndarray:
        """A (read-only) view of the tensor's elements, after checking it fits its storage."""
        storage = self._storage(tensor.storage)
        numel = math.prod(tensor.size)
        if numel > 0:  # (an empty tensor reads nothing; torch lets its offset lie anywhere)
            extent = zip(tensor.size, tensor.stride, strict=True)
            last = tensor.offset + sum((n - 1) * s for n, s in extent)
            if last >= storage.size:
                raise CheckpointError(
                    f"{self.path}: tensor {_short(name)} (size {_short(tensor.size)}, stride "
                    f"{_short(tensor.stride)}, offset {tensor.offset}) reaches element "
                    f"{_short(last)} of a storage holding {storage.size}"
                )
        # Each element stored once: a tensor never has more elements than its storage, so
        # broadcast (stride 0) views cannot turn a small file into a huge array.
        if numel > storage.size:
            raise CheckpointError(
                f"{self.path}: tensor {_short(name)} has {_short(numel)} elements but its "
                f"storage holds only {storage.size}"
            )
        try:
            if numel == 0:
                view = storage[:0].reshape(tensor.size)
            elif tensor.stride == _contiguous_strides(tensor.size) or numel == 1:
                view = storage[tensor.offset : tensor.offset + numel].reshape(tensor.size)
            else:
                view = np.lib.stride_tricks.as_strided(
                    storage[tensor.offset :],
                    shape=tensor.size,
                    strides=[s * storage.itemsize for s in tensor.stride],
                    writeable=False,
                )
        except (ValueError, OverflowError) as error:  # e.g. a dimension beyond 2**63
            raise CheckpointError(
                f"{self.path}: tensor {_short(name)} has an impossible shape "
                f"{_short(tensor.size)} ({str(error)[:200]})"
            ) from None
        if tensor.storage.storage_type.name == "BFloat16Storage":
            view = bfloat16_to_float32(view)
        return view


class _ZipReader(_Reader):
    """torch >= 1.6: ``<folder>/data.pkl`` and one record ``<folder>/data/<key>`` per storage."""

    def __init__(self, path: Path, file, archive: zipfile.ZipFile):
        super().__init__(path, file)
        self.archive = archive

    def read_state(self):
        self._refuse_duplicates()
        self.prefix = self._find_prefix()
        self.byteorder = self._byteorder()
        data = self._read_member(self.prefix + "data.pkl", limit=MAX_PICKLE_BYTES,
                                 expansion=PICKLE_EXPANSION)
        return self.unpickle(data, "data.pkl")

    def _refuse_duplicates(self) -> None:
        """Two records of one name are refused: zipfile reads the last, torch the first, so
        the two would load different weights from the same file."""
        seen = set()
        for name in self.archive.namelist():
            if name in seen:
                raise CheckpointError(
                    f"{self.path}: the archive holds two records named {clipped(name)}; "
                    "readers disagree on which one counts, so the file is refused"
                )
            seen.add(name)

    def _find_prefix(self) -> str:
        pickles = [n for n in self.archive.namelist() if re.fullmatch(r"[^/]+/data\.pkl", n)]
        if len(pickles) != 1:
            found = "no" if not pickles else f"{len(pickles)}"
            raise CheckpointError(
                f"{self.path}: a zip archive but not a torch checkpoint: {found} "
                "'<folder>/data.pkl' records"
            )
        return pickles[0][: -len("data.pkl")]

    def _byteorder(self) -> str:
        name = self.prefix + "byteorder"
        if name not in self.archive.NameToInfo:
            return "<"  # files from before the record existed are little-endian
        order = self._read_member(name, limit=16)
        if order not in (b"little", b"big"):
            raise CheckpointError(f"{self.path}: unknown byte order {order[:16]!r}")
        return "<" if order == b"little" else ">"

    def _info(self, name: str) -> zipfile.ZipInfo:
        try:
            return self.archive.getinfo(name)
        except KeyError:
            raise CheckpointError(
                f"{self.path}: the archive has no record {clipped(name)}"
            ) from None

    def _read_member(
        self, name: str, limit: int | None = None, expansion: int = MAX_EXPANSION
    ) -> bytes:
        """The bytes of one member, refusing sizes its compressed data cannot justify.

        A compressed member may claim at most ``expansion`` times its compressed size, and
        at most ``limit`` bytes. zipfile then decompresses in chunks and never produces more
        than the claimed size (a stream that would run longer fails its CRC check), so the
        claim checked here bounds both the memory and the work.
        """
        info = self._info(name)
        if info.compress_type == zipfile.ZIP_STORED:
            plausible = info.file_size == info.compress_size
        else:
            plausible = info.file_size <= expansion * max(info.compress_size, 1)
        if not plausible or info.compress_size > self.file_size:
            raise CheckpointError(
                f"{self.path}: record {clipped(name)} claims {info.file_size} bytes from "
                f"{info.compress_size} stored bytes in a {self.file_size}-byte file (a "
                f"compressed record may expand {expansion}x at most)"
            )
        if limit is not None and info.file_size > limit:
            raise CheckpointError(
                f"{self.path}: record {clipped(name)} is too large ({info.file_size} "
                f"bytes; at most {limit})"
            )
        try:
            return self.archive.read(name)
        except Exception as error:  # bad CRC, truncated data, unsupported compression, ...
            raise CheckpointError(
                f"{self.path}: cannot read record {clipped(name)} "
                f"({type(error).__name__}: {str(error)[:200]})"
            ) from None

    def _stored_range(self, info: zipfile.ZipInfo) -> tuple[int, int]:
        """Where an uncompressed member's bytes lie in the file: (start, stop)."""
        # The central directory gives the local header's position; the data follows that
        # 30-byte header, its file name and its extra field (torch pads it to align data).
        self.file.seek(info.header_offset)
        header = self.file.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise CheckpointError(
                f"{self.path}: bad local header for record {clipped(info.filename)}"
            )
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        start = info.header_offset + 30 + name_length + extra_length
        stop = start + info.compress_size
        if info.compress_size != info.file_size or stop > self.file_size:
            raise CheckpointError(
                f"{self.path}: record {clipped(info.filename)} ({info.file_size} bytes) "
                "does not fit "
                f"in the {self.file_size}-byte file (truncated?)"
            )
        return start, stop

    def storage_bytes(self, ref: StorageRef, nbytes: int) -> np.ndarray:
        info = self._info(f"{self.prefix}data/{ref.key}")
        if nbytes != info.file_size:
            raise CheckpointError(
                f"{self.path}: storage {clipped(ref.key)} declares {ref.numel} elements "
                f"of {ref.storage_type.name} ({nbytes} bytes) but its record holds "
                f"{info.file_size} bytes"
            )
        if info.compress_type == zipfile.ZIP_STORED:
            start, stop = self._stored_range(info)
            return self.map()[start:stop]
        return np.frombuffer(self._read_member(info.filename), dtype=np.uint8)


class _LegacyReader(_Reader):
    """torch < 1.6: five pickles back to back (magic number, protocol version 1001, system
    info, the state dict, the list of storage keys), then each storage in the order of
    that list: its element count as 8 little-endian bytes, then its elements."""

    def read_state(self):
        mapping = self.open_map()
        try:
            self._next_pickle(mapping, "the magic number")  # checked by the caller
            if self._next_pickle(mapping, "the protocol version") != 1001:
                raise CheckpointError(f"{self.path}: unknown legacy protocol version")
            info = self._next_pickle(mapping, "the system info")
            if not isinstance(info, dict) or info.get("little_endian") is not True:
                raise CheckpointError(
                    f"{self.path}: a legacy file from a big-endian machine (or without system "
                    "info); not supported. Re-save it with torch in the zip format."
                )
            state = self._next_pickle(mapping, "the state dict")
            refs = self.storage_refs
            keys = self._next_pickle(mapping, "the storage keys")
            self.locations = self._locate_storages(keys, refs, mapping.tell())
        finally:
            mapping.close()
        return state

    def _next_pickle(self, mapping: mmap.mmap, what: str):
        """Unpickle the pickle that starts at the mapping's position; move past it."""
        start = mapping.tell()
        try:
            with warnings.catch_warnings():  # genops warns about bad escapes in strings
                warnings.simplefilter("ignore", DeprecationWarning)
                for _ in pickletools.genops(mapping):  # walks to the STOP opcode, runs nothing
                    pass
        except Exception as error:
            raise CheckpointError(
                f"{self.path}: {what} is not a valid pickle ({type(error).__name__}: "
                f"{str(error)[:200]})"
            ) from None
        return self.unpickle(mapping[start : mapping.tell()], what)

    def _locate_storages(self, keys, refs: list[StorageRef], start: int) -> dict:
        """key -> (first byte, byte count) of each storage, checked against the file."""
        if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
            raise CheckpointError(f"{self.path}: the storage keys are not a list of strings")
        declared = {}
        for ref in refs:
            declared.setdefault(ref.key, ref)
        if len(set(keys)) != len(keys) or set(keys) != set(declared):
            raise CheckpointError(
                f"{self.path}: the storage keys do not match the storages the tensors use"
            )
        locations, offset = {}, start
        for key in keys:
            ref = declared[key]
            if offset + 8 > self.file_size:
                raise CheckpointError(
                    f"{self.path}: storage {clipped(key)} lies past the end (truncated?)"
                )
            self.file.seek(offset)
            (numel,) = struct.unpack("<q", self.file.read(8))
            itemsize = np.dtype(STORAGE_DTYPES[ref.storage_type.name]).itemsize
            nbytes = ref.numel * itemsize
            if numel != ref.numel or offset + 8 + nbytes > self.file_size:
                raise CheckpointError(
                    f"{self.path}: storage {clipped(key)} declares {ref.numel} elements of "
                    f"{ref.storage_type.name} but the file holds {numel} there, in "
                    f"{self.file_size - offset - 8} remaining bytes"
                )
            locations[key] = (offset + 8, nbytes)
            offset += 8 + nbytes
        return locations

    def storage_bytes(self, ref: StorageRef, nbytes: int) -> np.ndarray:
        start, stored = self.locations[ref.key]
        if stored != nbytes:  # the same key declared with another element type
            raise CheckpointError(
                f"{self.path}: storage {clipped(ref.key)} is declared twice"
            )
        return self.map()[start : start + nbytes]


def _contiguous_strides(size: tuple[int, ...]) -> tuple[int, ...]:
    """The strides (in elements) of a C-ordered tensor of this size."""
    strides, step = [], 1
    for n in reversed(size):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))

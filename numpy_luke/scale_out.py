"""Many files, many processes, many machines: a corpus cut into parts and run on Dask.

One process runs a file through ``streaming.stream`` (a window of texts at a time, sorted by
length into batches). A corpus of many files, or more texts than one machine gets through,
is cut into *parts* that run on a Dask ``distributed`` cluster (the optional ``dask`` extra),
or one after another in this process when no scheduler is given:

1. **Plan** (here, in the client): list the input files (a file, a folder's files, or the
   files a glob matches) and read each once, to decide its format (by its first non-blank
   line, as a single-file run decides) and to cut it into parts: byte ranges that end at a
   line break *after a whole window of texts*, so that a part runs exactly the batches a
   single-file run of the same file runs, and its answers are the same bytes. Each part
   knows the number of its first line, so the answers keep the file's line numbers.
2. **Run** (on the workers): each worker builds the pipeline once (a cache of one, kept by
   this module in the worker process and keyed by the recipe: task, model and options) and
   runs its parts through ``streaming.stream``. A part writes its JSON Lines beside the
   output, to a file written under a temporary name and renamed when complete: a part run
   again after its worker died writes the same bytes again.
3. **Assemble** (here): the parts of each input, in order, as they come in, into a temporary
   file beside its output, renamed into place once the last part is in (each input
   ``name.ext`` gets ``name.jsonl`` in the output folder).

The client and the workers must see the input files, the model folder (or the Hub) and the
output folder at the same paths: one machine, or a shared file system.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import io
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .diagnostics import progress_bar
from .errors import InputError, MissingExtraError, NumpyLukeError
from .hub import LoadOptions
from .pipelines import PIPELINES, pipeline
from .streaming import WINDOW_BATCHES, _detect, decode_line, lines_of, read_items, stream
from .tokenizer import LukeTokenizer

# A file is cut into parts of at least this many bytes (then up to the end of a window of
# texts). About 7,000 texts of 150 bytes: a few minutes of luke-base on one core, so a part
# lost with its worker costs little, and scheduling costs nothing next to the model.
DEFAULT_PART_SIZE = 1 << 20

INSTALL = "pip install 'numpy_luke[dask]'"


# ---------------------------------------------------------------------------------------
# What runs where: the recipe of a pipeline, a part of a file, a part's result
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How a worker builds the runner: ``factory(**arguments)``, ``factory`` a module-level
    function (sent by name). Sent to the workers instead of the model, which each worker
    loads once (``_runner``)."""

    factory: Callable
    arguments: tuple[tuple[str, Any], ...]
    batch_size: int

    @classmethod
    def make(cls, task, model=None, revision=None, batch_size=8, **options) -> Recipe:
        """``pipeline(task, model=model, revision=revision, batch_size=batch_size, **options)``."""
        arguments = dict(task=task, model=_shared_path(model), revision=revision,
                         batch_size=batch_size, **options)
        return cls(pipeline, tuple(arguments.items()), batch_size)

    @classmethod
    def tokenizer_runner(cls, runner, model, revision) -> Recipe:
        """The runner of ``tokenize`` (cli.TokenizeRunner, which holds a tokenizer that
        cannot be pickled), built again from its tokenizer files on each worker."""
        arguments = dict(runner_class=type(runner), model=_shared_path(model),
                         revision=revision, task=runner.task, batch_size=runner.batch_size)
        return cls(_tokenizer_runner, tuple(arguments.items()), runner.batch_size)

    def build(self):
        return self.factory(**dict(self.arguments))

    def key(self) -> str:
        name = f"{self.factory.__module__}.{self.factory.__qualname__}"
        return json.dumps([name, self.arguments], default=repr)


def _tokenizer_runner(runner_class, model, revision, task, batch_size):
    tokenizer = LukeTokenizer.from_pretrained(model, load=LoadOptions(revision=revision))
    return runner_class(tokenizer, task, batch_size)


def _shared_path(model):
    """A model folder as an absolute path (the same for every worker); a Hub id as it is."""
    if isinstance(model, os.PathLike):
        model = os.fspath(model)
    if model is not None and not isinstance(model, str):
        raise InputError("run_corpus needs the model as a Hub id or a folder (each worker "
                         f"loads it), not a {type(model).__name__}")
    return os.path.abspath(model) if model is not None and os.path.exists(model) else model


@dataclasses.dataclass(frozen=True)
class Part:
    """Bytes ``start`` to ``end`` of ``source``: whole lines, the first numbered ``first_line``,
    holding ``texts`` non-blank lines; answered into ``part_file``."""

    source: str
    start: int
    end: int
    first_line: int
    texts: int
    input_format: str  # "text" or "jsonl", decided for the whole file
    stamp: tuple[int, int]  # the file's (size, mtime_ns) when planned: a changed file is refused
    part_file: str = ""


@dataclasses.dataclass
class PartResult:
    """What a part did: its texts, how many failed, and the error that stopped it (only with
    ``stop_on_error``)."""

    part: Part
    texts: int
    failed: int
    error: str | None = None


@dataclasses.dataclass
class Summary:
    """A finished run: the files written, the texts answered and how many of them failed."""

    outputs: list[str]
    texts: int
    failed: int


@dataclasses.dataclass(frozen=True)
class Settings:
    """How every part runs: sent to the workers with each part."""

    window: int  # streaming's window: a part is a whole number of them
    stop_on_error: bool = False
    entity_spans: tuple | None = None  # spans for every plain-text line without its own


# ---------------------------------------------------------------------------------------
# 1. Plan: the files, their outputs, their parts
# ---------------------------------------------------------------------------------------


def names_several(spec) -> bool:
    """Whether ``--input`` names several files: a folder or a glob (a list, from Python)."""
    if isinstance(spec, (list, tuple)):
        return True
    spec = os.fspath(spec)
    return os.path.isdir(spec) or (not os.path.isfile(spec) and any(c in spec for c in "*?["))


def input_files(spec) -> list[str]:
    """The files ``spec`` names: itself, a folder's files (not its subfolders, not hidden
    files), or the files a glob matches (``**`` reaches into subfolders), sorted."""
    if isinstance(spec, (list, tuple)):
        files = [os.fspath(p) for p in spec]
    elif os.path.isdir(spec):
        files = sorted(str(p) for p in Path(spec).iterdir()
                       if p.is_file() and not p.name.startswith("."))
    elif names_several(spec):
        files = sorted(p for p in glob.glob(str(spec), recursive=True) if os.path.isfile(p))
    else:
        files = [os.fspath(spec)]
    if not files:
        raise InputError(f"--input {spec}: no file there (a folder's files are read, not its "
                         "subfolders; a glob like 'corpus/*.txt' must match files)")
    return files


def output_paths(files: list[str], output: str) -> list[str]:
    """Each input ``name.ext`` answered in ``output/name.jsonl``. Two inputs with one output
    name (``a/x.txt`` and ``b/x.txt``), or an output that is an input, are refused."""
    if os.path.exists(output) and not os.path.isdir(output):
        raise InputError(f"--output {output} is a file; with several input files --output "
                         "names a folder (each input name.ext gets name.jsonl there)")
    outputs, seen = [], {}
    inputs = {os.path.realpath(f) for f in files}
    for source in files:
        target = os.path.join(output, Path(source).stem + ".jsonl")
        if target in seen:
            raise InputError(f"{seen[target]} and {source} would both be answered in {target}; "
                             "rename one, or run them separately")
        if os.path.realpath(target) in inputs:
            raise InputError(f"the answers to {source} would overwrite the input {target}; "
                             "give another --output folder")
        seen[target] = source
        outputs.append(target)
    return outputs


def plan_file(source: str, window: int, part_size: int | None,
              input_format: str = "auto") -> list[Part]:
    """Cut ``source`` into parts of at least ``part_size`` bytes (None: one part), each a
    whole number of ``window`` texts but the last, at line breaks.

    The file is read as a single-file run reads it (``streaming.lines_of``: lines end at
    ``\n`` only, undecodable bytes kept as lone surrogates, a leading byte order mark
    dropped), in binary, so that each line's length in bytes is known and the part
    boundaries are byte offsets a worker can seek to."""
    stat = os.stat(source)
    stamp = (stat.st_size, stat.st_mtime_ns)
    parts, start, first, texts = [], 0, 1, 0
    position = number = 0
    with open(source, "rb") as file:
        for raw in file:
            number += 1
            position += len(raw)
            line = decode_line(raw, first=number == 1)
            if not line.strip():  # blank: skipped by read_items, but counted
                continue
            if input_format == "auto":  # as read_items decides: by the first non-blank line
                input_format = _detect(line)[0]
            texts += 1
            if part_size is not None and texts % window == 0 and position - start >= part_size:
                parts.append(Part(source, start, position, first, texts, input_format, stamp))
                start, first, texts = position, number + 1, 0
    if position > start or not parts:
        fmt = "text" if input_format == "auto" else input_format  # (a file of blank lines)
        parts.append(Part(source, start, position, first, texts, fmt, stamp))
    return parts


# ---------------------------------------------------------------------------------------
# 2. Run: one part, on a worker (or here)
# ---------------------------------------------------------------------------------------

# The pipeline of this process: a cache of one, so a worker loads its model once for all
# the parts it runs (and a worker that serves a new recipe drops the old model).
_RUNNER: dict[str, Any] = {}
_RUNNER_LOCK = threading.Lock()
MODEL_LOADS = 0  # how many times this process built a pipeline (the tests count them)


def _runner(recipe):
    """The runner of ``recipe``, built once per process (a runner given ready, in this
    process, is used as it is)."""
    global MODEL_LOADS
    if not isinstance(recipe, Recipe):
        return recipe
    with _RUNNER_LOCK:
        key = recipe.key()
        if _RUNNER.get("key") != key:
            _RUNNER.clear()
            _RUNNER["runner"] = recipe.build()
            _RUNNER["key"] = key
            MODEL_LOADS += 1
        return _RUNNER["runner"]


def run_part(recipe, part: Part, settings: Settings) -> PartResult:
    """Answer one part into its part file (written aside, renamed when complete)."""
    runner = _runner(recipe)
    texts = failed = 0
    error = None
    temporary = f"{part.part_file}.{uuid.uuid4().hex}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8", newline="\n") as out:
            try:
                for line, bad in answer_lines(runner, part, settings):
                    out.write(line)
                    texts += 1
                    failed += bad
            except InputError as stop:  # --stop-on-error: what came before it, and why
                error = str(stop)
        os.replace(temporary, part.part_file)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
    return PartResult(part, texts, failed, error)


def answer_lines(runner, part: Part, settings: Settings) -> Iterator[tuple[str, bool]]:
    """The part's answers as the JSON Lines a single-file run writes, each with whether it
    is an error record; with ``stop_on_error``, the first bad line raises its InputError."""
    items = read_items(_part_lines(part), part.input_format)
    for item, answer in stream(runner, _numbered(items, part, settings),
                               stop_on_error=settings.stop_on_error, window=settings.window):
        line = json.dumps({"line": item.number, **answer}, ensure_ascii=False, allow_nan=False)
        yield line + "\n", set(answer) == {"error"}


def _part_lines(part: Part) -> Iterator[str]:
    """The part's lines, decoded as a single-file run decodes the whole file."""
    stat = os.stat(part.source)
    if (stat.st_size, stat.st_mtime_ns) != part.stamp:
        raise NumpyLukeError(f"{part.source} changed while it was being read; run again")
    with open(part.source, "rb") as file:
        file.seek(part.start)
        data = file.read(part.end - part.start)
    return lines_of(io.BytesIO(data), at_start=part.start == 0)


def _numbered(items, part: Part, settings: Settings):
    """The part's items with the file's line numbers, and the command line's spans on every
    plain-text line that has none of its own."""
    for item in items:
        item.number += part.first_line - 1
        if settings.entity_spans and item.entity_spans is None and item.error is None:
            item.entity_spans = list(settings.entity_spans)
        yield item


# ---------------------------------------------------------------------------------------
# 3. The whole run: plan, run the parts (here or on a cluster), assemble
# ---------------------------------------------------------------------------------------


def run_files(runner, inputs, output=None, *, scheduler=None, input_format: str = "auto",
              entity_spans=None, stop_on_error: bool = False, part_size: int | None = None,
              progress: bool = False, threads: int | None = None,
              on_part_done: Callable[[PartResult], Any] | None = None,
              label: str = "numpy_luke") -> Summary:
    """Answer ``inputs`` (a file, a folder, a glob, or a list of files) with ``runner`` (a
    Recipe; without a scheduler, a ready runner too) into ``output``: a file (None or "-":
    standard output) for one input file, a folder for several. ``scheduler``: None (this
    process, one file after another), "local:N", "tcp://HOST:PORT" or a
    ``distributed.Client``. See ``run_corpus`` for the rest."""
    several = names_several(inputs)
    files = input_files(inputs)
    if several:
        if output in (None, "-"):
            raise InputError("several input files need --output FOLDER (each input name.ext "
                             "gets name.jsonl there)")
        outputs = output_paths(files, os.fspath(output))
    else:
        outputs = [None if output in (None, "-") else os.fspath(output)]
        if outputs[0] is not None and os.path.isdir(outputs[0]):
            raise InputError(f"--output {output} is a folder; one input file is answered in "
                             "a file (a folder is for a folder or a glob of inputs)")
        if outputs[0] is not None and os.path.exists(outputs[0]) and \
                os.path.samefile(outputs[0], files[0]):
            raise InputError(f"--output {output} is the input file; give another file")
    if scheduler is not None:
        scheduler = parse_scheduler(scheduler)
    if part_size is not None and scheduler is None:
        raise InputError("--part-size cuts files for the workers of --scheduler; give "
                         "--scheduler too, or leave --part-size out")
    if threads is not None and not str(scheduler).startswith("local:"):
        where = "this process" if scheduler is None else f"the workers of {scheduler}"
        raise InputError(f"--threads sets the threads of the workers of local:N; {where} keep "
                         "theirs (set OMP_NUM_THREADS and OPENBLAS_NUM_THREADS where they start)")
    if scheduler is not None and not isinstance(runner, Recipe):
        raise InputError("a cluster's workers need a Recipe of the runner, not the runner")
    batch_size = runner.batch_size
    settings = Settings(WINDOW_BATCHES * batch_size, stop_on_error,
                        tuple(entity_spans) if entity_spans else None)
    size = None if scheduler is None else (part_size or DEFAULT_PART_SIZE)
    plans = [plan_file(source, settings.window, size, input_format) for source in files]
    where = [f"{source}: " if several else "" for source in files]
    if several:
        os.makedirs(output, exist_ok=True)
    with progress_bar(progress, sum(p.texts for parts in plans for p in parts), label) as bar:
        if scheduler is None:
            return _run_here(runner, plans, outputs, where, settings, bar, on_part_done)
        # (the cluster stops before the part files' folders go: no part is written after)
        with _scratch(outputs) as scratch, _client(scheduler, threads) as client:
            return _run_on(client, runner, plans, outputs, where, settings, bar, on_part_done,
                           scratch)


def _run_here(runner, plans, outputs, where, settings, bar, on_part_done) -> Summary:
    """One file after another, in this process, each streamed into its output."""
    runner = _runner(runner)
    texts = failed = 0
    for (part,), output, prefix in zip(plans, outputs, where, strict=True):
        done = bad = 0
        with _Output(output) as out:
            try:
                for line, error in answer_lines(runner, part, settings):
                    out.write(line)
                    done, bad = done + 1, bad + error
                    bar.update()
            except InputError as stop:
                out.commit()
                raise InputError(f"{prefix}{stop}") from None
            out.commit()
        texts, failed = texts + done, failed + bad
        if on_part_done is not None:
            on_part_done(PartResult(part, done, bad))
    return Summary([o or "-" for o in outputs], texts, failed)


@contextlib.contextmanager
def _scratch(outputs):
    """A temporary folder for the part files beside each output (standard output: here)."""
    beside = [os.path.dirname(os.path.abspath(o)) if o else os.getcwd() for o in outputs]
    folders = {}
    try:
        for folder in beside:
            if folder not in folders:
                folders[folder] = tempfile.mkdtemp(prefix=".numpy_luke-parts-", dir=folder)
        yield [folders[folder] for folder in beside]
    finally:
        for folder in folders.values():
            shutil.rmtree(folder, ignore_errors=True)


def _run_on(client, runner, plans, outputs, where, settings, bar, on_part_done,
            scratch) -> Summary:
    """Every part as a Dask task (earlier parts first); the parts of each file assembled in
    order as they come in. A task whose worker dies is run again by the scheduler."""
    as_completed = _distributed().as_completed

    files = [[dataclasses.replace(p, part_file=os.path.join(scratch[k], f"{k}-{j}.jsonl"))
              for j, p in enumerate(parts)] for k, parts in enumerate(plans)]
    run = uuid.uuid4().hex[:8]
    order = [(k, j) for k, parts in enumerate(files) for j in range(len(parts))]
    futures = {client.submit(run_part, runner, files[k][j], settings, pure=False,
                             key=f"numpy_luke-part-{run}-{k}-{j}",
                             priority=len(order) - n): (k, j)
               for n, (k, j) in enumerate(order)}
    assembly = _Assembly(files, outputs, where)
    try:
        completed = as_completed(futures)
        for future in completed:
            if future not in futures:  # cancelled: after a part that stopped the run
                continue
            k, j = futures.pop(future)
            result = _result(future, files[k][j])
            bar.update(result.texts)
            if on_part_done is not None:
                on_part_done(result)
            if result.error is not None:  # nothing after this part is needed
                later = [f for f, (a, b) in futures.items() if (a, b) > (k, j)]
                client.cancel(later)
                for f in later:
                    futures.pop(f)
            assembly.add(k, j, result)
            if assembly.stopped is not None:
                break
        assembly.finish()
    finally:
        client.cancel(list(futures))
        assembly.close()
    return Summary([o or "-" for o in outputs], assembly.texts, assembly.failed)


def _result(future, part: Part) -> PartResult:
    """A part's result; a part that killed its worker again and again gets a clear error."""
    try:
        return future.result()
    except NumpyLukeError:
        raise
    except Exception as error:
        if type(error).__name__ == "KilledWorker":
            raise NumpyLukeError(f"the part of {part.source} from line {part.first_line} "
                                 f"killed every worker that ran it ({error}); out of "
                                 "memory?") from None
        raise


class _Assembly:
    """The parts of each input, appended to its output in order, as they come in."""

    def __init__(self, files, outputs, where):
        self.files, self.where = files, where
        self.outputs = [_Output(o) for o in outputs]
        self.done = [dict() for _ in files]
        self.next = [0] * len(files)
        self.texts = self.failed = 0
        self.stopped: str | None = None

    def add(self, k: int, j: int, result: PartResult) -> None:
        self.done[k][j] = result
        for file in range(len(self.files)):  # inputs are written in order, too
            while self.next[file] in self.done[file]:
                if not self._append(file, self.done[file].pop(self.next[file])):
                    return
            if self.next[file] < len(self.files[file]):
                return

    def _append(self, k: int, result: PartResult) -> bool:
        with open(result.part.part_file, encoding="utf-8", newline="") as part:
            shutil.copyfileobj(part, self.outputs[k])
        os.remove(result.part.part_file)
        self.texts += result.texts
        self.failed += result.failed
        self.next[k] += 1
        if result.error is not None:
            self.stopped = f"{self.where[k]}{result.error}"
            self.outputs[k].commit()
            return False
        if self.next[k] == len(self.files[k]):
            self.outputs[k].commit()
        return True

    def finish(self) -> None:
        if self.stopped is not None:
            raise InputError(self.stopped)

    def close(self) -> None:
        for output in self.outputs:
            output.discard()


class _Output:
    """An output file written under a temporary name beside it and renamed into place by
    ``commit`` (never half-written under its own name); None: standard output."""

    def __init__(self, path: str | None):
        self.path, self.file, self.temporary, self.committed = path, None, None, False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.discard()

    def write(self, text: str) -> None:
        if self.path is None:
            sys.stdout.write(text)
            sys.stdout.flush()
            return
        if self.committed:
            raise RuntimeError(f"{self.path} is already written")
        if self.file is None:
            folder, name = os.path.split(os.path.abspath(self.path))
            # (a new file, as open() makes it: with the permissions the umask gives)
            self.temporary = os.path.join(folder, f".{name}.{uuid.uuid4().hex[:12]}.tmp")
            self.file = open(self.temporary, "x", encoding="utf-8", newline="\n")  # noqa: SIM115
        self.file.write(text)

    def commit(self) -> None:
        """Rename the complete file into place (an input without texts: an empty file)."""
        if self.path is None or self.committed:
            return
        self.write("")
        self.file.close()
        os.replace(self.temporary, self.path)
        self.file, self.temporary, self.committed = None, None, True

    def discard(self) -> None:
        if self.file is not None:
            self.file.close()
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.temporary)
            self.file = self.temporary = None


# ---------------------------------------------------------------------------------------
# The scheduler, the progress bar, the command line and the Python function
# ---------------------------------------------------------------------------------------


def parse_scheduler(spec):
    """``local:N`` (N worker processes on this machine), ``tcp://HOST:PORT`` (a running
    scheduler) or a ``distributed.Client``; anything else is refused."""
    if not isinstance(spec, str):
        if hasattr(spec, "submit") and hasattr(spec, "scatter"):
            return spec  # a distributed.Client
        raise InputError(f"scheduler={spec!r}: give 'local:N', 'tcp://HOST:PORT' or a "
                         "distributed.Client")
    if re.fullmatch(r"local:[1-9][0-9]*", spec) or re.fullmatch(r"tcp://[^\s:/]+:[0-9]+", spec):
        return spec
    raise InputError(f"--scheduler {spec}: give local:N (N worker processes on this machine, "
                     "N >= 1) or tcp://HOST:PORT (a running Dask scheduler)")


def _distributed():
    """Dask's ``distributed`` package, or MissingExtraError saying how to install it."""
    try:
        # Dask is an optional dependency (the ``dask`` extra): imported here, where a cluster
        # is used, so numpy_luke imports and runs everything else without it.
        import distributed
    except ImportError as error:
        raise MissingExtraError(f"--scheduler needs Dask's distributed scheduler, which is not "
                                f"installed ({error}); install it with `{INSTALL}`") from None
    return distributed


@contextlib.contextmanager
def _client(scheduler, threads: int | None):
    """A ``distributed.Client`` for ``scheduler``; a local cluster is started and stopped."""
    if not isinstance(scheduler, str):
        yield scheduler
        return
    distributed = _distributed()
    if scheduler.startswith("local:"):
        # Dask starts its workers with the BLAS thread counts of this process's environment,
        # one thread each where it sets none (one worker per core is the rule); --threads
        # sets them here, so each worker gets that many (as the command line's --threads
        # does for this process).
        if threads:
            for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ[name] = str(threads)
        with distributed.LocalCluster(n_workers=int(scheduler[6:]), threads_per_worker=1,
                                      processes=True, dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            yield client
        return
    try:
        client = distributed.Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise InputError(f"--scheduler {scheduler}: no Dask scheduler answers there "
                         f"({error}); start one with `dask scheduler` and `dask worker "
                         f"{scheduler}`") from None
    with client:
        yield client


def add_options(sub) -> None:
    """The command line's options for this module (every corpus command has them)."""
    sub.add_argument("--scheduler", metavar="local:N|tcp://HOST:PORT",
                     help="run on a Dask cluster (the dask extra): local:N starts N worker "
                     "processes, tcp://HOST:PORT uses a running scheduler; --input may also "
                     "be a folder or a glob (with --output FOLDER): see docs/scale-out.md")
    sub.add_argument("--part-size", metavar="BYTES", type=_size, help="with --scheduler: cut "
                     f"files into parts of about this size (default {DEFAULT_PART_SIZE >> 20}M; "
                     "k, M and G are accepted)")


def _size(value: str) -> int:
    match = re.fullmatch(r"([0-9]+)([kKmMgG]?)", value.strip())
    if not match or int(match[1]) < 1:
        raise ValueError(value)
    return int(match[1]) << {"": 0, "k": 10, "m": 20, "g": 30}[match[2].lower()]


_size.__name__ = "size"  # what argparse calls it in its message


def check_arguments(args) -> None:
    """--scheduler and --part-size need files (--input FILE, FOLDER or GLOB)."""
    given = [name for name, value in (("--scheduler", args.scheduler),
                                      ("--part-size", args.part_size)) if value is not None]
    if given and args.input in (None, "-"):
        raise InputError(f"{given[0]} runs over files: give --input FILE, FOLDER or GLOB "
                         "instead of TEXT or standard input")
    if args.scheduler is not None:
        parse_scheduler(args.scheduler)


def wanted(args) -> bool:
    """Whether a command line runs here: several input files, or --scheduler."""
    if args.input in (None, "-"):
        return False
    return args.scheduler is not None or names_several(args.input)


def run_from_cli(args, runner, entity_spans=None, prog: str = "numpy_luke") -> int:
    """``cli.run_corpus`` for several files or a cluster: the same exit status and messages
    (1 if any line failed, with the count on standard error)."""
    if args.scheduler is not None and not isinstance(runner, Recipe):  # tokenize's runner
        runner = Recipe.tokenizer_runner(runner, args.model, args.revision)
    summary = run_files(
        runner, args.input, args.output, scheduler=args.scheduler, input_format=args.format,
        entity_spans=entity_spans, stop_on_error=args.stop_on_error, part_size=args.part_size,
        progress=args.progress or sys.stderr.isatty(),
        threads=args.threads if args.scheduler else None,  # (main() set this process's)
        label=f"{prog} {args.command}",
    )
    if summary.failed:
        print(f"{prog} {args.command}: {summary.failed} of {summary.texts} lines failed "
              "(their errors are in the output)", file=sys.stderr)
        return 1
    if summary.texts == 0:
        raise InputError(f"no text given ({args.input} was empty)")
    return 0


def run_corpus(task: str, inputs, output=None, *, model=None, scheduler=None,
               revision: str | None = None, batch_size: int = 8, input_format: str = "auto",
               entity_spans=None, stop_on_error: bool = False, part_size: int | None = None,
               progress: bool = False, threads: int | None = None,
               on_part_done: Callable[[PartResult], Any] | None = None,
               **options) -> Summary:
    """Run ``pipeline(task, model=model, batch_size=batch_size, **options)`` over files of
    texts, as ``python -m numpy_luke COMMAND --input ...`` does, and return a Summary.

    ``inputs``: a file, a folder (its files), a glob or a list of files, read as the command
    line reads them (one text a line, or JSON Lines; ``input_format`` "auto", "text" or
    "jsonl"). ``output``: a file for one input file (None: standard output), a folder for
    several, where each input ``name.ext`` gets ``name.jsonl``: one JSON object per text with
    its ``"line"``, identical to what a single-process run writes. ``scheduler``: None (this
    process), ``"local:N"`` (a local Dask cluster of N worker processes), ``"tcp://HOST:PORT"``
    (a running one) or a ``distributed.Client``; each worker loads the model once. A bad line
    is answered with its error (counted in ``Summary.failed``); with ``stop_on_error`` the
    first one raises InputError, after the answers before it are written. ``part_size``: the
    bytes of a part (default 1 MiB); ``threads``: the BLAS threads of each worker of
    ``"local:N"`` (refused elsewhere); ``on_part_done(PartResult)`` is called here as each
    part is done."""
    if task not in PIPELINES:
        raise InputError(f"unknown task {task!r}; choose one of {', '.join(PIPELINES)}")
    recipe = Recipe.make(task, model, revision, batch_size, **options)
    return run_files(recipe, inputs, output, scheduler=scheduler, input_format=input_format,
                     entity_spans=entity_spans, stop_on_error=stop_on_error,
                     part_size=part_size, progress=progress, threads=threads,
                     on_part_done=on_part_done, label=f"numpy_luke {task}")

"""The command line: ``python -m numpy_luke COMMAND ...`` (or ``numpy-luke COMMAND ...``).

    fill       predict masked words (<mask>) and masked entities ([[mention]])
    tokenize   show how a text becomes word tokens and entity inputs
    typing     the types of one mention (entity typing)
    relation   the relation between two mentions (relation classification)
    ner        find the named entities of a text
    attention  draw one layer's attention over words and entities (numpy_luke/attention_map.py)

Each prediction command runs the pipeline of ``numpy_luke.pipelines`` for its task, so the
command line and the Python API share one code path; ``--json`` prints exactly what the
pipeline returns (``fill``: ``pipeline("fill-mask-and-entities")``, words and entities),
one strict JSON object per input text and line. Tables show every text that comes from the
input or the checkpoint (texts, mentions, tokens, labels, entity titles) with control
characters escaped, so a checkpoint cannot send escape sequences to the terminal.

A mistake a user can make (no mask, an empty text, a bad span, a missing checkpoint)
prints one line, ``numpy_luke fill: error: ...``, on standard error and exits with 1;
a malformed command line exits with 2. Anything else is a bug in numpy_luke: one line
asking to report it, exit 1 (set NUMPY_LUKE_DEBUG=1 to get the traceback instead).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field

from threadpoolctl import threadpool_limits

from . import __version__, attention_map, finetune, pipelines, scale_out
from .diagnostics import progress_bar, say, standard_streams
from .errors import InputError, NumpyLukeError, missing_dependency
from .hub import LoadOptions
from .mentions import check_text_length, longest_token, parse_spans, read_mentions, read_texts
from .streaming import Item, lines_of, read_items, stream
from .tasks import BATCH_SIZE, DEFAULT_MODELS, PIPELINE_DEFAULTS, TASK_SPANS, check_span_count
from .tokenizer import LukeTokenizer

PROG = "numpy_luke"

EXAMPLES = {
    "fill": """examples:
  python -m numpy_luke fill "Plants create <mask> through a process known as photosynthesis."
  python -m numpy_luke fill "[[Lionel Messi]] plays football for <mask>." --top-k 3 --json
  python -m numpy_luke fill "Lionel Messi plays football." --entity-span 0:12
  cat texts.txt | python -m numpy_luke fill -      (one text per line)
  python -m numpy_luke fill --input corpus.jsonl --output answers.jsonl --progress""",
    "tokenize": """examples:
  python -m numpy_luke tokenize "Top seed Ana Ivanovic said on Thursday."
  python -m numpy_luke tokenize "[[Ana Ivanovic]] won." --task entity_classification""",
    "typing": """examples:
  python -m numpy_luke typing "[[Beyoncé]] lives in Los Angeles."
  python -m numpy_luke typing "Beyoncé lives in Los Angeles." --entity-span 0:7""",
    "relation": """examples:
  python -m numpy_luke relation "[[Beyoncé]] lives in [[Los Angeles]]."
  python -m numpy_luke relation "Beyoncé lives in Los Angeles." --head 0:7 --tail 17:28""",
    "ner": """examples:
  python -m numpy_luke ner "Beyoncé lives in Los Angeles."
  python -m numpy_luke ner "Lionel Messi plays for Inter Miami." --max-span-length 8 --json""",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a malformed command line gives one line (and exit 2), not the usage."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError
    return number


positive_int.__name__ = "positive integer"  # what argparse calls it in its message


# ---------------------------------------------------------------------------------------
# The commands, in one table: command -> pipeline task, its own options, its printer
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One command-line option. ``pipeline``: the pipeline option it sets (its default is
    the task's, ``tasks.PIPELINE_DEFAULTS``), or None (read by the command itself)."""

    flag: str
    help: str
    type: Callable | None = None
    pipeline: str | None = None
    extra: dict = field(default_factory=dict)  # argparse keywords: action, choices, ...


def _spans_option(flag: str, help: str) -> Option:
    return Option(flag, help, extra={"action": "append", "metavar": "START:END"})


@dataclass(frozen=True)
class Command:
    """A prediction command: the pipeline ``task`` it runs (None: ``tokenize``, which runs
    the tokenizer), its options, how one answer is printed, and which options give
    mention spans (``--entity-span``; ``--head``/``--tail`` for relations)."""

    help: str
    task: str | None
    options: tuple[Option, ...]
    format: Callable[[dict], str]
    spans: tuple[str, ...] = ("entity_span",)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="LUKE in NumPy: fill masks, predict entities, type, relate and find them.",
        epilog="Run `python -m numpy_luke COMMAND --help` for each command's options.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        default_model = DEFAULT_MODELS[command.task or "fill-mask"]
        sub = _command_parser(commands, name, command.help, default_model, EXAMPLES[name])
        corpus_options(sub)
        for option in command.options:
            default = PIPELINE_DEFAULTS[command.task].get(option.pipeline) \
                if option.pipeline else None
            sub.add_argument(option.flag, help=option.help, type=option.type,
                             **({"default": default} if default is not None else {}),
                             **option.extra)
        sub.set_defaults(run=run_command)
    attention = _command_parser(commands, "attention", attention_map.HELP,
                                DEFAULT_MODELS["fill-mask"], attention_map.EXAMPLES)
    attention_map.add_arguments(attention)
    attention.set_defaults(run=attention_map.run)
    finetune.add_parser(commands)
    return parser


def _command_parser(commands, name: str, help: str, default_model: str, examples: str):
    """A command's parser with the arguments every command has: TEXT, --model, --revision,
    --json."""
    sub = commands.add_parser(name, help=help, description=help, epilog=examples,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.add_argument("texts", nargs="*" if name in COMMANDS else "+", metavar="TEXT",
                     help="input text(s); '-' reads one text per line from standard input")
    sub.add_argument("--model", default=default_model, metavar="ID_OR_FOLDER",
                     help=f"Hub repository id or local checkpoint folder (default "
                     f"{default_model})")
    sub.add_argument("--revision", help="Hub revision: branch, tag or commit (default main)")
    sub.add_argument("--json", action="store_true", help="print one JSON object per text")
    return sub


# ---------------------------------------------------------------------------------------
# Running a command: one body for every prediction command
# ---------------------------------------------------------------------------------------


def run_command(args) -> int:
    """Run a command of ``COMMANDS``: its pipeline (or the tokenizer) over the texts of the
    command line, or over a corpus (--input, or '-'), and print the answers."""
    command = COMMANDS[args.command]
    spans = given_spans(args, command)
    corpus = is_corpus(args)  # before loading: a missing text is reported at once
    runner = make_runner(args, command)
    if corpus:
        return run_corpus(args, runner, command.format, spans)
    texts = read_texts(args.texts)
    results = runner(texts, entity_spans=[spans for _ in texts] if spans else None)
    emit(results, args.json, command.format)
    return 0


def given_spans(args, command: Command) -> list | None:
    """The spans of the command line (the same for every text), None when none given."""
    if command.spans == ("head", "tail") and (args.head or args.tail):
        if len(args.head or []) != 1 or len(args.tail or []) != 1:
            raise InputError(
                "give both --head and --tail, once each, or mark both mentions with [[...]]"
            )
    return parse_spans([spec for name in command.spans for spec in getattr(args, name) or []])


def make_runner(args, command: Command):
    """The pipeline of the command's task with its options from the command line, or,
    for ``tokenize``, the tokenizer as a streaming.Runner. Several input files or
    --scheduler (scale_out.wanted): the pipeline's recipe instead, which each Dask worker
    builds once (docs/scale-out.md)."""
    load = LoadOptions(revision=args.revision)
    if command.task is None:
        tokenizer = LukeTokenizer.from_pretrained(args.model, load=load)
        return TokenizeRunner(tokenizer, args.task, args.batch_size)
    options = {option.pipeline: getattr(args, option.pipeline)
               for option in command.options if option.pipeline}
    if scale_out.wanted(args):  # several files or --scheduler: each worker loads the model
        return scale_out.Recipe.make(command.task, args.model, args.revision,
                                     args.batch_size, **options)
    return pipelines.pipeline(command.task, model=args.model, load=load,
                              batch_size=args.batch_size, **options)


# ---------------------------------------------------------------------------------------
# Corpora: --input FILE, JSON Lines out, streamed
# ---------------------------------------------------------------------------------------

def corpus_options(sub: argparse.ArgumentParser) -> None:
    """The options every task command has for running over a file of texts."""
    sub.add_argument("--input", metavar="FILE", help="read the examples from FILE ('-': "
                     "standard input): one text a line, or JSON Lines {\"text\": ..., "
                     "\"entity_spans\": [[s, e], ...]}; answers are JSON Lines with \"line\"")
    sub.add_argument("--output", metavar="FILE", help="write the answers to FILE "
                     "(default: standard output)")
    sub.add_argument("--format", choices=("auto", "text", "jsonl"), default="auto",
                     help="how to read --input (default: auto, by its first line)")
    sub.add_argument("--stop-on-error", action="store_true", help="stop at the first bad line "
                     "(default: answer it with {\"line\": N, \"error\": ...} and go on)")
    sub.add_argument("--progress", action="store_true", help="show a progress bar on standard "
                     "error (shown anyway when it is a terminal)")
    sub.add_argument("--batch-size", type=positive_int, default=BATCH_SIZE,
                     help="texts per batch")
    sub.add_argument("--threads", type=positive_int, help="CPU threads for the matrix "
                     "products (default: all cores)")
    scale_out.add_options(sub)  # --scheduler, --part-size (docs/scale-out.md)


def use_threads(threads: int) -> None:
    """Limit the BLAS library NumPy uses to ``threads`` threads (threadpoolctl sets the
    loaded library's own limit, so it works whenever NumPy was imported)."""
    threadpool_limits(threads)


def is_corpus(args) -> bool:
    """A corpus run: --input, or '-' (the lines of standard input) among the texts."""
    if args.input is None and not args.texts:
        raise InputError("no text given: pass TEXT, or --input FILE ('-' for standard input)")
    if args.input is not None and args.texts:
        raise InputError("give either TEXT arguments or --input, not both")
    if args.input is None and "-" in args.texts and args.texts != ["-"]:
        raise InputError("'-' (standard input) cannot be mixed with TEXT arguments")
    scale_out.check_arguments(args)
    corpus = args.input is not None or args.texts == ["-"]
    if not corpus:
        _refuse_corpus_options(args)
    return corpus


def _refuse_corpus_options(args) -> None:
    """Options that only a corpus run reads are refused with TEXT arguments, not ignored."""
    given = [name for name, on in (("--output", args.output is not None),
                                   ("--format", args.format != "auto"),
                                   ("--stop-on-error", args.stop_on_error),
                                   ("--progress", args.progress)) if on]
    if given:
        verb = "applies" if len(given) == 1 else "apply"
        raise InputError(f"{' and '.join(given)} only {verb} to --input FILE (or '-', standard "
                         "input), not to TEXT arguments")


def run_corpus(args, runner, format_one, spans=None) -> int:
    """Stream the examples of --input (or standard input) through ``runner`` (a pipeline)
    and write one answer per example as it is ready, in input order: JSON Lines with the
    example's line number (a table with ``--json`` left out of a '-' run). A bad line is
    answered with its error and the run goes on (unless --stop-on-error); the exit status
    is 1 if any line failed.

    The input is opened before the output, and an output that is the input is refused, so
    no mistake on the command line can destroy the input or empty an existing output."""
    if scale_out.wanted(args):  # a folder, a glob, or --scheduler: docs/scale-out.md
        return scale_out.run_from_cli(args, runner, spans, PROG)
    path = args.input or "-"
    where = "standard input" if path == "-" else _printable(path)
    output = None if args.output in (None, "-") else args.output  # '-': standard output

    def chosen(input_format, reason):  # what --format auto decided, said on stderr
        kind = "JSON Lines" if input_format == "jsonl" else "plain text"
        say(f"{PROG} {args.command}: --format auto reads {where} as {kind}: {reason}")

    as_json = args.json or args.input is not None
    failed = total = 0
    # the input first: the output is not touched when the input cannot be read or is it
    with _open_input(path) as source, _output(output, source, where) as out, \
            _progress(args, path) as bar:
        items = read_items(lines_of(source), args.format, chosen=chosen)
        if spans:
            items = (_with_spans(item, spans) for item in items)
        for item, answer in stream(runner, items, stop_on_error=args.stop_on_error):
            total += 1
            error = answer.get("error") if set(answer) == {"error"} else None
            failed += error is not None
            if as_json:
                out.write(json_line({"line": item.number, **answer}))
            elif error is not None:
                say(f"{PROG} {args.command}: line {item.number}: error: {_printable(error)}")
            else:
                out.write(f"== line {item.number}\n{format_one(answer)}\n")
            out.flush()
            bar.update()
    if failed:
        also = " (their errors are in the output)" if as_json else ""
        say(f"{PROG} {args.command}: {failed} of {total} lines failed{also}")
        return 1
    if total == 0:
        raise InputError(f"no text given ({where} was empty)")
    return 0


def json_line(answer: dict) -> str:
    """One answer as a line of strict JSON (never NaN), UTF-8 as it is; with \\u escapes
    only if it holds what UTF-8 cannot encode (a lone surrogate in an error message)."""
    line = json.dumps(answer, ensure_ascii=False, allow_nan=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(answer, allow_nan=False)
    return line + "\n"


def _with_spans(item, spans):
    """Spans given on the command line apply to every plain-text line without its own."""
    if item.entity_spans is None and item.error is None:
        item.entity_spans = list(spans)
    return item


@contextlib.contextmanager
def _open_input(path: str):
    """FILE (or standard input) opened for lazy reading in binary (streaming.lines_of
    decodes it)."""
    if path == "-":
        yield sys.stdin.buffer
        return
    with open(path, "rb") as file:
        yield file


def _refuse_output_that_is_the_input(source, output: str | None, where: str) -> None:
    """--output naming the input (the same file, by any path or link) would destroy it."""
    if output is None:
        return
    try:
        written, read = os.stat(output), os.fstat(source.fileno())
    except (OSError, AttributeError, ValueError):  # no such output yet, or no real file
        return
    if stat.S_ISREG(read.st_mode) and (written.st_dev, written.st_ino) == (read.st_dev,
                                                                           read.st_ino):
        raise InputError(f"--output {output} is the input ({where}): writing the answers "
                         "there would destroy it; name another file")


@contextlib.contextmanager
def _output(path: str | None, source=None, where: str = ""):
    """Standard output, or a file written through a temporary file in its folder that
    replaces it when the run ends, however it ends (Ctrl-C or a stopping error included:
    the answers finished are kept), so that nothing touches an existing file before the
    run starts. A device or a pipe (``/dev/null``) is written directly. An output that
    is the input ``source`` is refused."""
    if path is None:
        yield sys.stdout
        return
    if source is not None:
        _refuse_output_that_is_the_input(source, path, where)
    target = os.path.realpath(path)  # a link: replace the file it names, keep the link
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        with open(target, "w", encoding="utf-8") as file:
            yield file
        return
    folder, name = os.path.split(target)
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial",
                                                 dir=folder)
    except OSError as error:
        raise OSError(f"cannot write --output {path}: {error.strerror}") from None
    if existing is not None:
        mode = stat.S_IMODE(existing.st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        os.fchmod(descriptor, mode)
        file = open(descriptor, "w", encoding="utf-8")
    except BaseException:
        os.close(descriptor)
        os.unlink(temporary)
        raise
    try:
        yield file
    finally:
        try:
            file.close()
        except BaseException:  # the answers could not all be written (a full disk)
            os.unlink(temporary)
            raise
        os.replace(temporary, target)


# A line holding only ASCII white space, after the \n that ends the line before it: what
# read_items skips as blank (near enough to count the texts of a file for the progress
# bar, which is corrected at the end). Starting with a literal \n, it scans fast.
_BLANK_LINE = re.compile(rb"\n[ \t\r\v\f]*(?=\n)")


def count_texts(path: str, chunk: int = 1 << 20) -> int:
    """The texts of a file, counted cheaply: its non-blank lines, read in 1 MiB chunks
    (about 250 MB/s)."""
    texts, rest = 0, b""
    with open(path, "rb") as file:
        while block := file.read(chunk):
            block = rest + block
            cut = block.rfind(b"\n") + 1
            block, rest = block[:cut], block[cut:]
            texts += block.count(b"\n") - len(_BLANK_LINE.findall(b"\n" + block))
    return texts + bool(rest.strip())


@contextlib.contextmanager
def _progress(args, path: str = "-"):
    """A progress bar (texts, texts/s; with a total and an ETA for a file) on standard
    error, with --progress or on a terminal."""
    show = args.progress or _is_terminal(sys.stderr)
    total = count_texts(path) if show and path != "-" and os.path.isfile(path) else None
    with progress_bar(show, total, f"{PROG} {args.command}") as bar:
        yield bar


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (ValueError, OSError):
        return False


# ---------------------------------------------------------------------------------------
# tokenize: the tokenizer as a streaming.Runner
# ---------------------------------------------------------------------------------------


class TokenizeRunner:
    """``tokenize`` run as a pipeline is (the ``streaming.Runner`` contract): ``read``
    checks a text as ``fill`` does (a text longer than the tokenizer's
    ``model_max_length`` is refused, one that no tokenization can fit up front), ``run``
    gives each text's tokens, ids and entity inputs; each text is a batch of its own."""

    def __init__(self, tokenizer, task: str | None, batch_size: int):
        self.tokenizer, self.task, self.batch_size = tokenizer, task, batch_size
        self.most = int(tokenizer.model_max_length)
        self.longest = longest_token(tokenizer)

    def __call__(self, texts: list[str], entity_spans=None) -> list[dict]:
        """The answers to the texts of the command line; the first bad text raises."""
        spans = entity_spans or [None] * len(texts)
        items = [Item(k, text, given) for k, (text, given) in enumerate(zip(texts, spans,
                                                                             strict=True), 1)]
        answers = stream(self, items, stop_on_error=True, window=max(len(items), 1),
                         what="text" if len(items) > 1 else None, answers_before_error=False)
        return [answer for _, answer in answers]

    def read(self, text, spans, number):
        plain, spans = read_mentions(text, spans, fits=self._fits, allow_empty=True)
        if self.task is not None:
            check_span_count(self.task, len(spans), f"--task {self.task}",
                             " ([[...]] or --entity-span)")
        return plain, spans

    def _fits(self, plain: str) -> None:
        check_text_length(plain, self.tokenizer.words.split, self.longest,
                          max(self.most - 2, 0))

    def cut(self, indices, lengths):
        return [[i] for i in indices]

    def run(self, items):
        try:
            return [self.tokenize(text, spans) for text, spans in items]
        except (ValueError, TypeError) as error:  # the tokenizer's own (transformers') errors
            if isinstance(error, InputError):
                raise
            raise InputError(str(error)) from None

    def tokenize(self, plain: str, spans: list) -> dict:
        """One read text's tokens, ids and entity inputs, as ``tokenize`` prints them."""
        options = {"entity_spans": spans} if spans else {}
        encoding = self.tokenizer(plain, task=self.task, verbose=False, **options)
        ids = list(encoding["input_ids"])
        if len(ids) > self.most:
            raise InputError(f"the text is {len(ids)} tokens long, but the model reads at "
                             f"most {self.most}; shorten it")
        result = {"text": plain, "tokens": self.tokenizer.convert_ids_to_tokens(ids),
                  "input_ids": ids}
        if "entity_ids" in encoding:
            vocab = self.tokenizer.entity_vocabulary
            result["entities"] = [
                {"entity": vocab.id_to_title(int(entity_id)), "entity_id": int(entity_id),
                 "positions": [int(p) for p in positions if p != -1]}
                for entity_id, positions in zip(
                    encoding["entity_ids"], encoding["entity_position_ids"], strict=True)
            ]
            for entity, (start, end) in zip(result["entities"], spans, strict=False):
                entity.update(mention=plain[start:end], start=start, end=end)
        return result


# ---------------------------------------------------------------------------------------
# Printing
# ---------------------------------------------------------------------------------------


def emit(results: list, as_json: bool, format_one) -> None:
    for number, result in enumerate(results, start=1):
        if as_json:  # strict JSON: NaN or Infinity would be refused, never printed
            print(json.dumps(result, ensure_ascii=False, allow_nan=False))
        else:
            if len(results) > 1:
                print(f"== text {number}")
            print(format_one(result))


def _printable(text: str) -> str:
    """Text for a terminal: control characters shown as escapes (\\x14), not sent raw."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def score(value: float) -> str:
    """A probability in a table: 4 decimals, or 2 significant digits in scientific notation
    below 1e-4, where 4 decimals would print 0.0000 (JSON keeps the exact float)."""
    return f"{value:.4f}" if value >= 1e-4 or value == 0 else f"{value:.1e}"


def _shown(token: str) -> str:
    """A token as printed in a table: without its leading space; quoted if blank."""
    return _printable(token.strip()) or repr(token)


def format_fill(result: dict) -> str:
    lines = [_printable(result["text"])]
    masks = result["masks"]
    per_mask = masks if masks and isinstance(masks[0], list) else ([masks] if masks else [])
    for number, predictions in enumerate(per_mask, start=1):
        lines.append(f"  <mask> {number} of {len(per_mask)}:   score  token -> sequence")
        for rank, p in enumerate(predictions, start=1):
            lines.append(
                f"    {rank:>2}  {score(p['score'])}  {_shown(p['token_str']):<14} "
                + _printable(p["sequence"])
            )
    for entity in result["entities"]:
        where = f"{entity['start']}:{entity['end']}"
        lines.append(f"  [[{_printable(entity['mention'])}]] ({where}):   score  entity")
        for rank, p in enumerate(entity["predictions"], start=1):
            lines.append(f"    {rank:>2}  {score(p['score'])}  {_printable(str(p['entity']))}")
    return "\n".join(lines)


def format_typing(result: dict) -> str:
    e = result["entity"]
    lines = [_printable(result["text"]),
             f"  [[{_printable(e['mention'])}]] ({e['start']}:{e['end']}):   score  type"]
    lines += [f"        {score(p['score'])}  {_printable(p['label'])}" for p in result["labels"]]
    if not result["labels"]:
        lines.append("        (no type reaches the threshold)")
    return "\n".join(lines)


def format_relation(result: dict) -> str:
    head, tail = result["head"], result["tail"]
    lines = [
        _printable(result["text"]),
        f"  head [[{_printable(head['mention'])}]] ({head['start']}:{head['end']}), "
        f"tail [[{_printable(tail['mention'])}]] ({tail['start']}:{tail['end']}):   score  "
        "relation",
    ]
    lines += [
        f"    {rank:>2}  {score(p['score'])}  {_printable(p['label'])}"
        for rank, p in enumerate(result["labels"], start=1)
    ]
    return "\n".join(lines)


def format_ner(result: dict) -> str:
    lines = [_printable(result["text"])]
    if not result["entities"]:
        lines.append("  (no entities found)")
    for e in result["entities"]:
        where = f"{e['start']:>4}:{e['end']:<4}"
        lines.append(f"  {where} {_printable(e['label']):<8} {score(e['score'])}  "
                     f"{_printable(e['mention'])}")
    return "\n".join(lines)


def format_tokenize(result: dict) -> str:
    lines = [_printable(result["text"]), "     #  token                  id"]
    for i, (token, token_id) in enumerate(zip(result["tokens"], result["input_ids"], strict=True)):
        lines.append(f"  {i:>4}  {_printable(token):<20} {token_id:>6}")
    if "entities" in result:
        lines.append("  entity  mention              entity        id  word positions")
        for k, e in enumerate(result["entities"]):
            mention = _printable(e.get("mention", ""))
            positions = " ".join(map(str, e["positions"]))
            title = _printable(str(e["entity"]))
            lines.append(f"  {k:>6}  {mention:<20} {title:<12} {e['entity_id']:>3}  {positions}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------

TOP_K = "top_k"
COMMANDS = {
    "fill": Command(
        "predict masked words (<mask>) and the entities of marked mentions ([[...]])",
        "fill-mask-and-entities",  # words and entities (transformers' fill-mask in "masks")
        (Option("--top-k", "predictions per mask", positive_int, TOP_K),
         _spans_option("--entity-span", "a mention to predict the entity of (character "
                       "offsets; repeatable)")),
        format_fill,
    ),
    "tokenize": Command(
        "show word tokens, their ids and the entity inputs, side by side",
        None,
        (_spans_option("--entity-span", "a mention (repeatable)"),
         Option("--task", "encode as the tokenizer does for this task (default: none)",
                extra={"choices": list(TASK_SPANS)})),
        format_tokenize,
    ),
    "typing": Command(
        "the types of one mention (multi-label: every type with probability >= threshold)",
        "entity-typing",
        (_spans_option("--entity-span", "the mention, if not marked"),
         Option("--threshold", "minimum probability", float, "threshold")),
        format_typing,
    ),
    "relation": Command(
        "the relation between a head and a tail mention (top-k relations)",
        "relation-classification",
        (_spans_option("--head", "the head mention, if not marked"),
         _spans_option("--tail", "the tail mention, if not marked"),
         Option("--top-k", "relations to print", positive_int, TOP_K)),
        format_relation,
        spans=("head", "tail"),
    ),
    "ner": Command(
        "find named entities: classify every span of words, keep the best that do not overlap",
        "ner",
        (Option("--max-span-length", "longest candidate, in words", positive_int,
                "max_span_length"),),
        format_ner,
        spans=(),
    ),
}


# ---------------------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 success, 1 error, 2 usage)."""
    standard_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in COMMANDS and not args.texts and args.input is None:
        parser.error("the following arguments are required: TEXT (or --input FILE)")
    if getattr(args, "threads", None):
        use_threads(args.threads)
    where = f"{PROG} {args.command}"
    try:
        return args.run(args)
    except KeyboardInterrupt:
        say(f"{where}: interrupted")
        return 130
    except BrokenPipeError:  # e.g. `... | head`: the reader has gone; nothing to report
        # What print() still holds would fail again when Python flushes stdout at exit.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        sys.stderr.close()
        return 0
    except Exception as error:
        # A run-time dependency that is missing or broken is the installation's problem, not
        # a bug in numpy_luke: name the package and how to install it.
        if (install := missing_dependency(error)) is not None:
            say(f"{where}: error: {install}")
            return 1
        expected = isinstance(error, (NumpyLukeError, ValueError, TypeError, OSError))
        if os.environ.get("NUMPY_LUKE_DEBUG") and not isinstance(error, NumpyLukeError):
            raise  # developers and tests see the traceback of anything not raised on purpose
        # one line, with control characters and lone surrogates from the input escaped
        message = _printable(" ".join(str(error).split())) or type(error).__name__
        if expected:
            say(f"{where}: error: {message}")
        else:
            say(f"{where}: internal error ({type(error).__name__}: {message}). This is a bug "
                "in numpy_luke; please report it with the command you ran "
                "(NUMPY_LUKE_DEBUG=1 shows the traceback).")
        return 1

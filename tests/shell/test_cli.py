"""The real command, ``python -m numpy_luke ...``, run as a subprocess.

The tiny fixture checkpoints are placed in a private Hugging Face cache under the default
repository names (studio-ousia/luke-base, ...) with HF_HUB_OFFLINE=1, so the default-model
path is the one tested; ``--model FOLDER`` is tested too. NUMPY_LUKE_DEBUG=1 is set, so an
exception not raised on purpose would show up as a traceback and fail these tests.
"""

import io
import json
import math
import os
import subprocess
import sys

import helpers
import pytest

from numpy_luke.pipelines import pipeline
from numpy_luke.tasks import DEFAULT_MODELS

FILL = helpers.TINY_LUKE  # a tiny random LukeForMaskedLM
HEADS = {
    "entity-typing": helpers.FIXTURES / "tiny-luke-typing",
    "relation-classification": helpers.FIXTURES / "tiny-luke-tacred",
    "ner": helpers.FIXTURES / "tiny-luke-ner",
}
SEED = "Plants create <mask> through a process known as photosynthesis."


def run(*args, stdin=None, debug=True):
    env = dict(os.environ)
    env.pop("NUMPY_LUKE_DEBUG", None)
    if debug:
        env["NUMPY_LUKE_DEBUG"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "numpy_luke", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=helpers.ROOT,
        timeout=120,
    )


def ok(*args, **options):
    result = run(*args, **options)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def json_lines(stdout: str) -> list:
    return [json.loads(line) for line in stdout.splitlines()]


def assert_same(a, b, tol=1e-6):
    """Equal JSON-like values, floats within ``tol``."""
    if isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, rel_tol=0, abs_tol=tol), (a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key], tol)
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y, tol)
    else:
        assert a == b


@pytest.fixture
def default_models(hf_cache):
    """Every fixture checkpoint in the private cache under its task's default name."""
    helpers.place_in_hf_cache(FILL, hf_cache, DEFAULT_MODELS["fill-mask"])
    for task, folder in HEADS.items():
        helpers.place_in_hf_cache(folder, hf_cache, DEFAULT_MODELS[task])
    return hf_cache


@pytest.fixture(scope="module")
def fill_pipeline():
    return pipeline("fill-mask-and-entities", model=FILL)  # the CLI's combined answer


# ---- fill -----------------------------------------------------------------------------


def test_fill_default_model_from_the_offline_cache(default_models, fill_pipeline):
    (result,) = json_lines(ok("fill", SEED, "--json"))
    assert result["text"] == SEED and result["entities"] == []
    masks = result["masks"]
    assert len(masks) == 5  # one mask: a flat list of top_k predictions
    scores = [p["score"] for p in masks]
    assert scores == sorted(scores, reverse=True) and 0 < scores[-1] <= scores[0] < 1
    assert len({p["token"] for p in masks}) == 5
    for p in masks:
        assert "<mask>" not in p["sequence"]
        assert p["sequence"].startswith("Plants create") and p["sequence"].endswith("synthesis.")
    # the CLI prints exactly what the Python pipeline returns
    assert_same(result, fill_pipeline(SEED), tol=1e-9)


def test_fill_model_folder_equals_default_model(default_models):
    by_name = json_lines(ok("fill", SEED, "--json"))
    by_folder = json_lines(ok("fill", SEED, "--json", "--model", FILL))
    assert by_name == by_folder


def test_fill_revision_from_the_offline_cache(default_models):
    by_commit = json_lines(ok("fill", SEED, "--json", "--revision", helpers.FAKE_COMMIT))
    assert by_commit == json_lines(ok("fill", SEED, "--json", "--revision", "main"))
    line = fails("fill", SEED, "--revision", "v9")  # a revision the cache does not hold
    assert line.startswith("numpy_luke fill: error: ") and "--model FOLDER" in line


def test_fill_model_folder_without_cache(hf_cache):
    (result,) = json_lines(ok("fill", SEED, "--json", "--model", FILL, "--top-k", "2"))
    assert len(result["masks"]) == 2


def test_fill_several_masks_give_a_list_per_mask(default_models, fill_pipeline):
    text = "<mask> create energy through a <mask> known as <mask>."
    (result,) = json_lines(ok("fill", text, "--json", "--top-k", "3"))
    assert len(result["masks"]) == 3 and all(len(row) == 3 for row in result["masks"])
    for row in result["masks"]:  # transformers keeps the special tokens with several masks
        assert all(p["sequence"].startswith("<s>") and "<mask>" in p["sequence"] for p in row)
    assert_same(result, fill_pipeline(text, top_k=3), tol=1e-9)


def test_fill_entity_masks_and_word_masks_together(default_models):
    marked = "[[Lionel Messi]] plays football for <mask>."
    (result,) = json_lines(ok("fill", marked, "--json", "--top-k", "4"))
    assert result["text"] == "Lionel Messi plays football for <mask>."
    assert len(result["masks"]) == 4
    (entity,) = result["entities"]
    assert (entity["mention"], entity["start"], entity["end"]) == ("Lionel Messi", 0, 12)
    predictions = entity["predictions"]
    assert len(predictions) == 4
    scores = [p["score"] for p in predictions]
    assert scores == sorted(scores, reverse=True)
    vocab = json.loads((FILL / "entity_vocab.json").read_text(encoding="utf-8"))
    for p in predictions:
        assert vocab[p["entity"]] == p["entity_id"]
        assert p["entity"] not in ("[PAD]", "[UNK]", "[MASK]", "[MASK2]")
    # the same mention given as a span gives the same answer
    spanned = json_lines(
        ok("fill", result["text"], "--entity-span", "0:12", "--json", "--top-k", "4")
    )
    assert spanned == [result]


def test_fill_entity_mask_alone_needs_no_word_mask(default_models):
    (result,) = json_lines(ok("fill", "[[Tokyo]] is the capital of [[Japan]].", "--json"))
    assert result["masks"] == []
    assert [e["mention"] for e in result["entities"]] == ["Tokyo", "Japan"]
    assert all(len(e["predictions"]) == 5 for e in result["entities"])


def test_fill_top_k_larger_than_the_entity_vocabulary(default_models):
    (result,) = json_lines(ok("fill", "[[Tokyo]] is big.", "--json", "--top-k", "1000"))
    vocab = json.loads((FILL / "entity_vocab.json").read_text(encoding="utf-8"))
    titles = [p["entity"] for p in result["entities"][0]["predictions"]]
    assert sorted(titles) == sorted(set(vocab) - {"[PAD]", "[UNK]", "[MASK]", "[MASK2]"})


def test_fill_reads_standard_input_and_batches(default_models):
    texts = [
        SEED,
        "[[Lionel Messi]] plays for <mask>.",
        "Tokyo is the <mask> of Japan.",
        "The model reads <mask> and entities.",
        "Paris is the capital of <mask>, and Berlin is the capital of Germany.",
    ]
    stdin = "\n".join(texts[:2]) + "\n\n   \n" + "\n".join(texts[2:]) + "\n"  # blank lines skipped
    batched = json_lines(
        ok("fill", "-", "--json", "--batch-size", "2", "--format", "text", stdin=stdin)
    )
    assert len(batched) == len(texts)
    assert [r["text"] for r in batched] == [t.replace("[[", "").replace("]]", "") for t in texts]
    # each answer names its line of standard input (blank lines count, as in the file)
    assert [r.pop("line") for r in batched] == [1, 2, 5, 6, 7]
    # a text run in a padded batch gets the answer it gets alone
    fill = pipeline("fill-mask-and-entities", model=FILL, batch_size=1)
    for text, result in zip(texts, batched, strict=True):
        assert_same(result, fill(text), tol=1e-6)


def test_fill_table_output(default_models, fill_pipeline):
    out = ok("fill", SEED, "[[Lionel Messi]] plays for <mask>.", "--top-k", "2")
    lines = out.splitlines()
    assert lines[0] == "== text 1" and lines[1] == SEED
    assert "== text 2" in lines and "Lionel Messi plays for <mask>." in lines
    best = fill_pipeline(SEED, top_k=2)["masks"][0]
    assert f"{best['score']:.4f}" in lines[3] and best["sequence"] in lines[3]
    assert any(line.strip().startswith("[[Lionel Messi]] (0:12)") for line in lines)


# ---- the other subcommands ------------------------------------------------------------


def test_typing_default_model(default_models):
    text = "[[Beyoncé]] lives in New Orleans."
    (result,) = json_lines(ok("typing", text, "--json", "--threshold", "0"))
    assert result["entity"] == {"mention": "Beyoncé", "start": 0, "end": 7}
    config = json.loads((HEADS["entity-typing"] / "config.json").read_text())
    labels = [p["label"] for p in result["labels"]]
    assert sorted(labels) == sorted(config["id2label"].values())  # threshold 0: all types
    scores = [p["score"] for p in result["labels"]]
    assert scores == sorted(scores, reverse=True)
    typing = pipeline("entity-typing", model=HEADS["entity-typing"])
    assert_same(result, typing(text, threshold=0), tol=1e-9)
    strict = typing("Beyoncé lives in New Orleans.", entity_spans=[(0, 7)])  # threshold 0.5
    assert strict["labels"] == [p for p in result["labels"] if p["score"] >= 0.5]
    table = ok("typing", "Beyoncé lives in New Orleans.", "--entity-span", "0:7").splitlines()
    assert table[1].startswith("  [[Beyoncé]] (0:7)")
    assert len(table) == 2 + max(1, len(strict["labels"]))


def test_relation_default_model(default_models):
    text = "[[Beyoncé]] lives in [[New Orleans]]."
    (result,) = json_lines(ok("relation", text, "--json", "--top-k", "3"))
    assert result["head"]["mention"] == "Beyoncé" and result["tail"]["mention"] == "New Orleans"
    assert len(result["labels"]) == 3
    config = json.loads((HEADS["relation-classification"] / "config.json").read_text())
    assert all(p["label"] in config["id2label"].values() for p in result["labels"])
    plain = "Beyoncé lives in New Orleans."
    relation = pipeline("relation-classification", model=HEADS["relation-classification"])
    assert_same(relation(plain, entity_spans=[(0, 7), (17, 28)], top_k=3), result, tol=1e-9)
    swapped = json_lines(
        ok("relation", plain, "--head", "17:28", "--tail", "0:7", "--json", "--top-k", "3")
    )
    assert swapped[0]["head"]["mention"] == "New Orleans"
    assert swapped[0]["labels"] != result["labels"]  # head and tail play different roles


def test_ner_default_model(default_models):
    text = "Lionel Messi plays for Inter Miami and Argentina."
    (result,) = json_lines(ok("ner", text, "--json"))
    entities = result["entities"]
    for a, b in zip(entities, entities[1:], strict=False):
        assert a["end"] <= b["start"]
    for e in entities:
        assert text[e["start"] : e["end"]] == e["mention"]
        assert e["label"] in ("MISC", "PER", "ORG", "LOC")
    table = ok("ner", text, "--max-span-length", "1").splitlines()
    assert table[0] == text
    short = pipeline("ner", model=HEADS["ner"])(text, max_span_length=1)
    assert all(" " not in e["mention"] for e in short["entities"])
    assert len(table) == 1 + max(1, len(short["entities"]))


def test_tokenize_shows_tokens_ids_and_entity_positions(default_models):
    (result,) = json_lines(ok("tokenize", "[[Lionel Messi]] plays.", "--json"))
    assert result["tokens"][0] == "<s>" and result["tokens"][-1] == "</s>"
    assert len(result["tokens"]) == len(result["input_ids"])
    (entity,) = result["entities"]
    assert entity["entity"] == "[MASK]" and entity["mention"] == "Lionel Messi"
    mention_tokens = [result["tokens"][i] for i in entity["positions"]]
    assert "".join(mention_tokens).replace("Ġ", " ") == "Lionel Messi"
    table = ok("tokenize", "Lionel Messi plays for Inter Miami.", "--entity-span", "0:12",
               "--entity-span", "23:34", "--task", "entity_pair_classification")  # fmt: skip
    lines = table.splitlines()
    assert sum(" <ent> " in line for line in lines) == 2
    assert sum(" <ent2> " in line for line in lines) == 2
    assert any("Lionel Messi" in line and "[MASK] " in line for line in lines)
    assert any("Inter Miami" in line and "[MASK2]" in line for line in lines)


def help_text(capsys, *args) -> str:
    from numpy_luke import cli

    with pytest.raises(SystemExit) as exit:
        cli.main([*args, "--help"])
    assert exit.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", ["fill", "tokenize", "typing", "relation", "ner"])
def test_help_has_an_example(command, capsys):
    out = help_text(capsys, command)
    assert "examples:" in out and f"python -m numpy_luke {command} " in out
    assert "--model" in out


def test_top_level_help_lists_every_command():
    out = ok("--help")  # the real command, once
    for command in ("fill", "tokenize", "typing", "relation", "ner"):
        assert f"\n    {command} " in out


# ---- errors: one line on stderr, a non-zero exit, never a traceback -------------------
#
# A few run as real subprocesses; the many input cases call cli.main in-process (the
# same code, without a Python start-up per case) with NUMPY_LUKE_DEBUG=1, so an
# exception not raised on purpose escapes as a traceback and fails the test.


def fails(*args, status=1, stdin=None, debug=True):
    """Run the real command; assert it failed with one line on stderr; return that line."""
    result = run(*args, stdin=stdin, debug=debug)
    assert result.returncode == status, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def main_fails(monkeypatch, capsys):
    """cli.main in-process: assert it failed with one line on stderr; return that line."""
    from numpy_luke import cli

    monkeypatch.setenv("NUMPY_LUKE_DEBUG", "1")

    def fails_in_process(*args, status=1, stdin=None):
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
        try:
            code = cli.main([str(a) for a in args])
        except SystemExit as exit:  # argparse's usage errors
            code = exit.code
        captured = capsys.readouterr()
        assert code == status, (captured.out, captured.err)
        assert captured.out == ""
        lines = captured.err.splitlines()
        assert len(lines) == 1, captured.err
        return lines[0]

    return fails_in_process


LONG = "word " * 600 + "<mask>"


@pytest.mark.parametrize(
    "args, message",
    [
        (["Plants create energy."], "fill: error: nothing to predict: put <mask> where"),
        ([""], "fill: error: the text is empty"),
        (["  \t "], "fill: error: the text is empty"),
        ([LONG], "tokens long, but the model reads at most 512; shorten it"),
        ([SEED, LONG], "fill: error: text 2: the text is "),
        ([SEED, "no mask here"], "fill: error: text 2: nothing to predict"),
        (["Lionel Messi.", "--entity-span", "0-12"], "malformed span '0-12': write START:END"),
        (["Lionel Messi.", "--entity-span", "0:99"], "span 0:99 is outside the text, which has 13"),
        (["Lionel Messi.", "--entity-span", "7:3"], "error: span 7:3 is empty or reversed"),
        (["Lionel Messi.", "--entity-span", "6:7"], "error: span 6:7 covers only white space"),
        (["[[Lionel Messi plays <mask>."], "error: a mention opened with '[[' is never closed"),
        (["Lionel]] plays <mask>."], "error: ']]' at character 6 closes no mention"),
        (["[[Lionel]] <mask>.", "--entity-span", "0:6"], "use one or the other"),
        (["caf\udce9 <mask>"], "not valid Unicode: character 3 is the lone surrogate U+DCE9"),
    ],
)
def test_fill_errors(main_fails, args, message):
    line = main_fails("fill", *args, "--model", FILL)
    assert line.startswith("numpy_luke fill: error: ")
    assert message in line


def test_errors_from_the_real_command(default_models):
    """The real command: input errors exit 1, usage errors 2, one line each."""
    assert fails("fill", "Plants create energy.") == (
        "numpy_luke fill: error: nothing to predict: put <mask> where a word is missing, "
        "or mark a mention as [[Lionel Messi]] to predict its entity"
    )
    assert fails("fill", SEED, "--top-k", "-1", status=2).startswith("numpy_luke fill: error:")
    assert fails("fill", LONG).endswith("but the model reads at most 512; shorten it")
    # undecodable bytes on standard input
    result = subprocess.run(
        [sys.executable, "-m", "numpy_luke", "fill", "-"],
        input=b"caf\xe9 <mask>\n",
        capture_output=True,
        cwd=helpers.ROOT,
        timeout=120,
    )
    assert result.returncode == 1 and result.stdout == b""
    # standard input is a corpus: the bad line is named, and the run says how many failed
    assert result.stderr.decode() == (
        "numpy_luke fill: --format auto reads standard input as plain text: its first line is "
        "not a JSON object or string\n"
        "numpy_luke fill: line 1: error: the text is not valid Unicode: character 3 is the "
        "lone surrogate U+DCE9 (bytes that were not UTF-8?); pass UTF-8 text\n"
        "numpy_luke fill: 1 of 1 lines failed\n"
    )


def test_missing_checkpoint_says_what_to_do(hf_cache):
    line = fails("fill", SEED)  # the cache is empty and HF_HUB_OFFLINE=1
    assert line.startswith("numpy_luke fill: error: ")
    assert "'studio-ousia/luke-base' is not in the Hugging Face cache" in line
    assert "--model FOLDER" in line


def test_missing_checkpoint_for_a_task_command(hf_cache):
    line = fails("typing", "[[a]] b")
    assert line.startswith("numpy_luke typing: error: ") and "--model FOLDER" in line
    assert "'studio-ousia/luke-large-finetuned-open-entity' is not in the Hugging Face" in line


def test_model_folder_that_does_not_exist(hf_cache, tmp_path, main_fails):
    line = main_fails("fill", SEED, "--model", tmp_path / "nowhere" / "luke")
    assert "is neither an existing folder nor a valid Hub repository id" in line


def test_model_folder_without_weights(hf_cache, tmp_path, main_fails):
    for file in FILL.iterdir():
        if file.suffix in (".json", ".txt") and file.name != "config.json":
            (tmp_path / file.name).write_bytes(file.read_bytes())
    line = main_fails("fill", SEED, "--model", tmp_path)
    assert line.startswith("numpy_luke fill: error: ") and "config.json" in line


@pytest.mark.parametrize(
    "args, message",
    [
        (["typing", "Beyoncé lives in New Orleans."], "exactly one mention, got 0"),
        (["typing", "[[Beyoncé]] lives in [[New Orleans]]."], "exactly one mention, got 2"),
        (
            ["typing", "Beyoncé lives.", "--entity-span", "0:7", "--entity-span", "8:13"],
            "exactly one mention, got 2",
        ),
        (
            ["relation", "Beyoncé lives.", "--head", "0:7", "--tail", "8:13", "--head", "0:3"],
            "give both --head and --tail, once each",
        ),
        (["relation", "[[Beyoncé]] lives in New Orleans."], "exactly two mentions (head"),
        (["relation", "Beyoncé lives.", "--head", "0:7"], "give both --head and --tail"),
        (["relation", "Beyoncé lives.", "--head", "0:7", "--tail", "8"], "malformed span '8'"),
        (["ner", "[[Beyoncé]] lives in New Orleans."], "ner finds the mentions itself"),
        (["ner", " "], "the text is empty"),
        (["tokenize", "x", "--entity-span", "0:5"], "span 0:5 is outside the text"),
        (
            ["tokenize", "Messi plays.", "--task", "entity_classification"],
            "--task entity_classification needs exactly one mention ([[...]] or --entity-span), "
            "got 0",
        ),
        (
            ["tokenize", "[[Messi]] plays.", "--task", "entity_pair_classification"],
            "needs exactly two mentions (head, tail)",
        ),
        (
            ["tokenize", "Messi plays.", "--task", "entity_span_classification"],
            "needs at least one mention",
        ),
    ],
)
def test_task_command_errors(main_fails, args, message):
    folder = {"typing": "entity-typing", "relation": "relation-classification", "ner": "ner"}
    model = HEADS[folder[args[0]]] if args[0] in folder else FILL
    line = main_fails(*args, "--model", model)
    assert line.startswith(f"numpy_luke {args[0]}: error: ")
    assert message in line


def test_empty_standard_input(main_fails):
    line = main_fails("fill", "-", "--model", FILL, stdin="\n  \n")
    assert line == "numpy_luke fill: error: no text given (standard input was empty)"


@pytest.mark.parametrize(
    "args, message",
    [
        (["fill", SEED, "--top-k", "0"], "argument --top-k: invalid positive integer value: '0'"),
        (["fill"], "the following arguments are required: TEXT"),
        (["fil", SEED], "argument COMMAND: invalid choice: 'fil'"),
        (["typing", "x", "--threshold", "high"], "invalid float value: 'high'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(main_fails, args, message):
    line = main_fails(*args, status=2)
    assert message in line and line.endswith("(see --help)")


def test_unexpected_errors_ask_for_a_report(monkeypatch, capsys):
    """A bug (an exception nobody raised on purpose) gives one line asking for a report,
    or, with NUMPY_LUKE_DEBUG set, the full traceback."""
    from numpy_luke import cli, pipelines

    def broken(*args, **kwargs):
        raise RuntimeError("something broke\ninside")

    monkeypatch.setattr(pipelines, "pipeline", broken)
    monkeypatch.delenv("NUMPY_LUKE_DEBUG", raising=False)
    assert cli.main(["fill", SEED]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("numpy_luke fill: internal error (RuntimeError: something broke inside)")
    assert "please report it" in line
    monkeypatch.setenv("NUMPY_LUKE_DEBUG", "1")
    with pytest.raises(RuntimeError, match="something broke"):
        cli.main(["fill", SEED])


def test_expected_errors_stay_one_line_even_in_debug_mode(monkeypatch, capsys, hf_cache):
    from numpy_luke import cli

    monkeypatch.setenv("NUMPY_LUKE_DEBUG", "1")
    assert cli.main(["fill", "", "--model", str(FILL)]) == 1
    assert capsys.readouterr().err == "numpy_luke fill: error: the text is empty\n"

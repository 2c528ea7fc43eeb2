"""The command line's corpus files and outputs (issue 18 §2, §4, §5, §6; issue 20 §5): files
read as `wc -l` and Notepad see them, outputs that no mistake can destroy, diagnostics that
never reach the JSON stream and never stop the work. The real command runs as a subprocess
on the tiny fixture checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import helpers
import pytest

FILL = helpers.TINY_LUKE
MASKED = "Tokyo is the capital of <mask>."


def command(*args):
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_LUKE_DEBUG"}
    return [sys.executable, "-m", "numpy_luke", *map(str, args)], dict(env=env, cwd=helpers.ROOT)


def run(*args, stdin: bytes | None = None):
    argv, options = command(*args)
    return subprocess.run(argv, input=stdin, capture_output=True, timeout=120, **options)


def shell(line: str, *args, stdin: bytes | None = None):
    """Run the command with ``line`` appended in bash (redirections, pipes)."""
    argv, options = command(*args)
    script = " ".join(f"'{a}'" for a in argv) + " " + line
    return subprocess.run(
        ["bash", "-c", script], input=stdin, capture_output=True, timeout=120, **options
    )


def answers(stdout: bytes) -> list[dict]:
    return [json.loads(line) for line in stdout.decode("utf-8").splitlines()]


# ---- §2: files read as they are written ------------------------------------------------


@pytest.mark.parametrize("where", ["file", "stdin"])
def test_a_byte_order_mark_is_dropped(tmp_path, where):
    records = "".join(json.dumps({"text": t}) + "\n" for t in (MASKED, "A <mask>."))
    data = b"\xef\xbb\xbf" + records.encode("utf-8")
    plain = b"\xef\xbb\xbf" + f"{MASKED}\n".encode()
    results = []
    for content in (data, plain):
        if where == "file":
            (tmp_path / "in").write_bytes(content)
            results.append(run("fill", "--model", FILL, "--input", tmp_path / "in"))
        else:
            results.append(run("fill", "--model", FILL, "--input", "-", stdin=content))
    jsonl, text = results
    assert jsonl.returncode == 0, jsonl.stderr
    assert [a["text"] for a in answers(jsonl.stdout)] == [MASKED, "A <mask>."]
    assert b"as JSON Lines" in jsonl.stderr
    assert text.returncode == 0 and answers(text.stdout)[0]["text"] == MASKED


def test_auto_a_malformed_first_record_is_that_lines_error(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"text": "A <mask>.",}\n' + json.dumps({"text": MASKED}) + "\n", encoding="utf-8"
    )
    result = run("fill", "--model", FILL, "--input", path)
    assert result.returncode == 1
    first, second = answers(result.stdout)
    assert first["line"] == 1 and "not a JSON object" in first["error"]
    assert second["line"] == 2 and second["text"] == MASKED  # not '{"text": ...}'
    assert result.stderr.decode().startswith(
        f"numpy_luke fill: --format auto reads {path} as JSON Lines: its first line starts "
        "with '{'\n"
    )


def test_auto_json_strings_are_json_lines(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(
        json.dumps("Caf\u00e9 \u201cx\u201d <mask>.") + "\n" + json.dumps({"text": MASKED}) + "\n",
        encoding="utf-8",
    )
    result = run("fill", "--model", FILL, "--input", path)
    assert result.returncode == 0, result.stderr
    assert [a["text"] for a in answers(result.stdout)] == [
        "Caf\u00e9 \u201cx\u201d <mask>.",
        MASKED,
    ]
    assert b"as JSON Lines: its first line is a JSON string" in result.stderr
    plain = run("fill", "--model", FILL, "--input", "-", stdin=b'"Hello," she said <mask>.\n')
    assert plain.returncode == 0 and b"as plain text" in plain.stderr
    assert answers(plain.stdout)[0]["text"] == '"Hello," she said <mask>.'


@pytest.mark.parametrize("where", ["file", "stdin"])
def test_lines_are_split_at_newline_only_as_wc_counts_them(tmp_path, where):
    content = b"one\rtwo <mask>.\r\n\nthree <mask>.\r\r\nfour <mask>.\n"
    assert content.count(b"\n") == 4  # what `wc -l` says
    if where == "file":
        (tmp_path / "in.txt").write_bytes(content)
        result = run("fill", "--model", FILL, "--input", tmp_path / "in.txt", "--format", "text")
    else:
        result = run("fill", "--model", FILL, "--input", "-", "--format", "text", stdin=content)
    assert result.returncode == 0, result.stderr
    got = answers(result.stdout)
    assert [a["line"] for a in got] == [1, 3, 4]
    # one \r before \n is the line ending; a lone or second \r is part of the text
    assert [a["text"] for a in got] == ["one\rtwo <mask>.", "three <mask>.\r", "four <mask>."]


# ---- §4: outputs that cannot destroy data ---------------------------------------------


def test_an_output_that_is_the_input_is_refused(tmp_path):
    path = tmp_path / "in.txt"
    content = f"{MASKED}\n".encode()
    path.write_bytes(content)
    (tmp_path / "link.txt").symlink_to(path)
    os.link(path, tmp_path / "hard.txt")
    for output in (path, tmp_path / "link.txt", tmp_path / "hard.txt"):
        result = run("fill", "--model", FILL, "--input", path, "--output", output)
        assert result.returncode == 1 and result.stdout == b""
        assert b"is the input" in result.stderr and b"would destroy it" in result.stderr
        assert path.read_bytes() == content
    stdin = shell(f"--output '{path}' < '{path}'", "fill", "--model", FILL, "--input", "-")
    assert stdin.returncode == 1 and b"is the input (standard input)" in stdin.stderr
    assert path.read_bytes() == content


def test_a_missing_input_leaves_the_output_alone(tmp_path):
    output = tmp_path / "answers.jsonl"
    output.write_text("precious\n", encoding="utf-8")
    result = run("fill", "--model", FILL, "--input", tmp_path / "nowhere.txt", "--output", output)
    assert result.returncode == 1 and b"nowhere.txt" in result.stderr
    assert output.read_text(encoding="utf-8") == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.jsonl"]


def test_the_output_is_replaced_when_the_run_ends(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text(f"{MASKED}\nno mask\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    output.write_text("old\n" * 50, encoding="utf-8")
    os.chmod(output, 0o640)
    result = run("fill", "--model", FILL, "--input", path, "--output", output)
    assert result.returncode == 1  # line 2 failed; the answers are all there
    assert [a["line"] for a in answers(output.read_bytes())] == [1, 2]
    assert oct(os.stat(output).st_mode & 0o777) == oct(0o640)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.jsonl"]


def test_spans_on_the_command_line_apply_to_every_line(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("Tokyo is big.\nParis is old.\n", encoding="utf-8")
    result = run("fill", "--model", FILL, "--input", path, "--entity-span", "0:5")
    assert result.returncode == 0, result.stderr
    assert [a["entities"][0]["mention"] for a in answers(result.stdout)] == ["Tokyo", "Paris"]


def test_output_dash_is_standard_output(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text(f"{MASKED}\n", encoding="utf-8")
    result = run("fill", "--model", FILL, "--input", path, "--output", "-")
    assert result.returncode == 0 and answers(result.stdout)[0]["line"] == 1
    assert not (helpers.ROOT / "-").exists()


def test_corpus_options_with_text_arguments_are_refused_not_ignored(tmp_path):
    result = run("fill", MASKED, "--model", FILL, "--output", tmp_path / "out.jsonl")
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr == (
        b"numpy_luke fill: error: --output only applies to --input FILE "
        b"(or '-', standard input), not to TEXT arguments\n"
    )
    assert not (tmp_path / "out.jsonl").exists()
    both = run("fill", MASKED, "--model", FILL, "--stop-on-error", "--format", "text")
    assert b"--format and --stop-on-error only apply" in both.stderr


def test_ctrl_c_keeps_the_finished_lines_in_the_output_file(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("".join(f"{MASKED}\n" for _ in range(3000)), encoding="utf-8")
    output = tmp_path / "out.jsonl"
    argv, options = command(
        "fill",
        "--model",
        FILL,
        "--input",
        path,
        "--batch-size",
        "2",
        "--output",
        output,
        "--format",
        "text",
    )
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **options)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the first answers are written (to the temporary)
        partial = [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
        if partial and partial[0].stat().st_size > 0:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 130 and b"interrupted" in errors
    got = answers(output.read_bytes())
    assert 1 <= len(got) < 3000
    assert [a["line"] for a in got] == list(range(1, len(got) + 1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.jsonl"]


def test_a_closed_stderr_pipe_does_not_end_the_work(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("".join(f"{MASKED}\n" for _ in range(300)), encoding="utf-8")
    output = tmp_path / "out.jsonl"
    result = shell(
        "2>&1 | head -c 1 >/dev/null; exit ${PIPESTATUS[0]}",
        "fill",
        "--model",
        FILL,
        "--input",
        path,
        "--output",
        output,
        "--progress",
        "--batch-size",
        "2",
        "--format",
        "text",
    )
    assert result.returncode == 0, result.stderr
    assert [a["line"] for a in answers(output.read_bytes())] == list(range(1, 301))


@pytest.mark.parametrize("closed", ["2>&-", "2>&- <&-"])
def test_closed_standard_streams_never_put_diagnostics_on_stdout(closed):
    bad = shell(closed, "fill", "no mask here", "--model", FILL)
    assert bad.returncode == 1 and bad.stdout == b""
    empty = shell(
        f"{closed} < /dev/null" if "<&-" not in closed else closed, "fill", "-", "--model", FILL
    )
    assert empty.returncode == 1 and empty.stdout == b""


def test_closed_standard_input_reads_as_empty():
    result = shell("<&-", "fill", "-", "--model", FILL)
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr == b"numpy_luke fill: error: no text given (standard input was empty)\n"


# ---- §5: messages that cannot break the run or the terminal ----------------------------


def test_field_names_are_quoted_in_messages(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b'{"text": "A <mask>.", "caf\xe9": 1}\n'
        b'{"text": "A <mask>.", "\\u001b[31mred": 1}\n'
        + json.dumps({"text": MASKED}).encode()
        + b"\n"
    )
    result = run("fill", "--model", FILL, "--input", path)
    assert result.returncode == 1, result.stderr
    first, second, third = answers(result.stdout)
    assert first["error"].startswith("unknown field(s) 'caf\\udce9'; ")
    assert second["error"].startswith("unknown field(s) '\\x1b[31mred'; ")
    assert third["text"] == MASKED
    table = run("fill", "-", "--model", FILL, stdin=path.read_bytes())  # errors on stderr
    assert b"\x1b" not in table.stderr and b"Traceback" not in table.stderr
    assert table.stderr.count(b"unknown field(s)") == 2


def test_a_deeply_nested_first_line_is_that_lines_error(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"text": ' + "[" * 100_000 + "\n" + json.dumps({"text": MASKED}) + "\n", encoding="utf-8"
    )
    result = run("fill", "--model", FILL, "--input", path)
    assert result.returncode == 1 and b"internal error" not in result.stderr
    first, second = answers(result.stdout)
    assert "nested" in first["error"] and second["text"] == MASKED
    brackets = run("fill", "--model", FILL, "--input", "-", stdin=b"[" * 100_000 + b"\n")
    assert brackets.returncode == 1 and b"internal error" not in brackets.stderr


# ---- §6: costs with a bound ------------------------------------------------------------


def test_tokenize_refuses_a_text_no_tokenization_can_fit(tmp_path):
    long_text = "word " * 20_000
    result = run("tokenize", long_text, "--model", FILL)
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode().startswith(
        "numpy_luke tokenize: error: the text has 100,000 characters, at least "
    )
    too_long = run("tokenize", "word " * 600, "--model", FILL)  # fits no model: 602 tokens
    assert too_long.returncode == 1
    assert b"tokens long, but the model reads at most 512; shorten it" in too_long.stderr


def test_attention_picture_size_is_capped():
    pytest.importorskip("matplotlib")
    import numpy as np

    from numpy_luke import attention_map

    plt = attention_map.import_pyplot()
    words = 504
    probs = np.full((words + 2, words + 2), 1 / (words + 2))
    result = {
        "text": "x " * 300,
        "tokens": ["x"] * words,
        "layer": 0,
        "head": None,
        "heads": 4,
        "entities": [{"mention": "a"}, {"mention": "b"}],
        **attention_map.split_blocks(probs, words),
    }
    figure = attention_map.draw(plt, result)
    width, height = figure.get_size_inches() * 100  # the command saves at dpi 100
    plt.close(figure)
    assert width <= 3300 and height <= 3300  # was 13,510 x 13,430 pixels


def test_attention_block_names_cover_no_cells():
    pytest.importorskip("matplotlib")
    import numpy as np

    from numpy_luke import attention_map

    plt = attention_map.import_pyplot()
    words, entities = 21, 2  # docs/cli.md's example
    probs = np.random.default_rng(0).random((words + entities, words + entities))
    result = {
        "text": "t",
        "tokens": [f"t{i}" for i in range(words)],
        "layer": 1,
        "head": None,
        "heads": 4,
        "entities": [{"mention": "Lionel Messi"}, {"mention": "Inter Miami CF"}],
        **attention_map.split_blocks(probs, words),
    }
    figure = attention_map.draw(plt, result)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    blocks = [ax for ax in figure.axes if ax.images and ax.get_label() != "<colorbar>"][:4]
    names = [
        t
        for t in figure.findobj(plt.Text)
        if any(t.get_text().startswith(b + "\n") for b in attention_map.BLOCKS)
    ]
    assert len(names) == 4
    for name in names:
        box = name.get_window_extent(renderer)
        for ax in blocks:
            assert not box.overlaps(ax.get_window_extent(renderer)), name.get_text()
    plt.close(figure)


# ---- issue 20 §5: small things a user notices ------------------------------------------


def test_progress_has_a_total_and_counts_texts(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text(f"{MASKED}\n\n  \n{MASKED}\n{MASKED}", encoding="utf-8")  # 3 texts
    result = run("fill", "--model", FILL, "--input", path, "--progress", "--format", "text")
    assert result.returncode == 0, result.stderr
    bar = result.stderr.decode().replace("\r", "\n")
    assert "3/3" in bar and " texts/s" in bar and "text/s" not in bar.replace(" texts/s", "")


def test_version():
    result = run("--version")
    from numpy_luke import __version__

    assert result.returncode == 0 and result.stdout.decode() == f"numpy_luke {__version__}\n"


def test_small_scores_are_not_printed_as_zero():
    from numpy_luke.cli import format_ner, format_typing, score

    assert score(0.0114) == "0.0114" and score(3.2e-5) == "3.2e-05" and score(0.0) == "0.0000"
    typing = format_typing(
        {
            "text": "a",
            "entity": {"mention": "a", "start": 0, "end": 1},
            "labels": [{"label": "x", "score": 4.4e-07}],
        }
    )
    assert "4.4e-07  x" in typing and "0.0000" not in typing
    ner = format_ner(
        {
            "text": "a",
            "entities": [{"mention": "a", "start": 0, "end": 1, "label": "PER", "score": 2e-5}],
        }
    )
    assert "2.0e-05" in ner

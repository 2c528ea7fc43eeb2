"""The example sessions of docs/cli.md are real: each ``$ python -m numpy_luke ...`` line
there is run again (from the repository root, on the fixture checkpoints it names) and must
print what the page shows, exit status included. Numbers in JSON lines are compared to
1e-6, so a different BLAS cannot fail the test; everything else must match exactly."""

import importlib.util
import json
import math
import os
import shlex
import subprocess
import sys

import helpers
import pytest

PAGE = helpers.ROOT / "docs" / "cli.md"
PROMPT = "$ python -m numpy_luke "


def sessions() -> list[tuple[str, list[str]]]:
    """(command line, expected output lines) for every runnable session of the page."""
    found, command, expected, in_text = [], None, [], False
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_text = line == "```text" and not in_text
            if command is not None:
                found.append((command, expected))
            command, expected = None, []
            continue
        if not in_text:
            continue
        if line.startswith("$ "):
            if command is not None:
                found.append((command, expected))
            # only plain invocations; sessions with pipes or environment variables are
            # described in the text and covered by tests/shell/test_cli.py
            command = line[len(PROMPT) :] if line.startswith(PROMPT) and "|" not in line else None
            expected = []
        elif command is not None:
            expected.append(line)
    return found


SESSIONS = sessions()
# matplotlib is the optional viz extra: `attention` draws a PNG unless it only prints --json
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def draws(command: str) -> bool:
    """Whether the session runs `attention` so that it needs matplotlib (a PNG is drawn)."""
    args = shlex.split(command)
    return args[0] == "attention" and ("--json" not in args or "--output" in args)


def same_json(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=0, abs_tol=1e-6)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_the_page_has_sessions_for_every_command():
    commands = {command.split()[0] for command, _ in SESSIONS}
    assert commands == {"fill", "tokenize", "typing", "relation", "ner", "attention"}
    assert len(SESSIONS) >= 10


@pytest.mark.parametrize("command, expected", SESSIONS, ids=[c[:50] for c, _ in SESSIONS])
def test_session_output_is_what_the_page_shows(command, expected):
    if draws(command) and not HAS_MATPLOTLIB:
        pytest.skip("this attention session draws a PNG: needs matplotlib (the viz extra)")
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_LUKE_DEBUG"}
    result = subprocess.run(
        [sys.executable, "-m", "numpy_luke", *shlex.split(command)],
        capture_output=True, text=True, encoding="utf-8", cwd=helpers.ROOT, env=env,
        timeout=120,
    )  # fmt: skip
    status = 0
    if expected and expected[-1].startswith("[exit "):
        status = int(expected[-1][len("[exit ") : -1])
        expected = expected[:-1]
    assert result.returncode == status, result.stderr
    got = (result.stdout + result.stderr).splitlines()
    assert len(got) == len(expected), "\n".join(got)
    for line, shown in zip(got, expected, strict=True):
        if shown.startswith("{"):
            assert same_json(json.loads(line), json.loads(shown)), (line, shown)
        else:
            assert line == shown

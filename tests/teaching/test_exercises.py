"""The chapters' exercises: every numbered chapter has two or three, each a stub that the
chapter checks at its end; the reference answers pass those checks (the chapters run them
in tests/teaching/test_walkthrough.py), a reader's answer is used once written, and a wrong answer
fails."""

import ast
import os
import subprocess
import sys

import pytest
from helpers import ROOT

WALKTHROUGH = ROOT / "walkthrough"
CHAPTERS = sorted(WALKTHROUGH.glob("[0-9][0-9]_*.py"))

sys.path.insert(0, str(WALKTHROUGH))
import _common  # noqa: E402
import answers  # noqa: E402


def stubs(chapter) -> list[str]:
    """Names of the chapter's top-level ``exercise_N`` functions whose body only raises
    NotImplementedError."""
    found = []
    for node in ast.parse(chapter.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("exercise_"):
            body = [n for n in node.body if not isinstance(n, ast.Expr)]  # docstrings aside
            assert len(body) == 1 and isinstance(body[0], ast.Raise), f"{node.name} is no stub"
            raised = body[0].exc
            name = raised.func.id if isinstance(raised, ast.Call) else raised.id
            assert name == "NotImplementedError", f"{chapter.name}: {node.name} raises {name}"
            found.append(node.name)
    return found


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_every_chapter_has_two_or_three_exercises_it_checks(chapter):
    names = stubs(chapter)
    assert 2 <= len(names) <= 3, f"{chapter.name} has exercises {names}"
    assert names == [f"exercise_{k}" for k in range(1, len(names) + 1)]
    source = chapter.read_text(encoding="utf-8")
    assert "check_exercises(" in source, f"{chapter.name} does not check its exercises"
    assert source.index("check_exercises(") > max(source.index(f"def {n}(") for n in names)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_every_exercise_has_a_documented_reference_answer(chapter):
    number = int(chapter.name[:2])
    for name in stubs(chapter):
        reference = getattr(answers, f"chapter{number:02d}_{name}", None)
        assert callable(reference), f"answers.py has no chapter{number:02d}_{name}"
        assert reference.__doc__, f"chapter{number:02d}_{name} says what it computes"


def test_check_exercises_uses_the_readers_answer_else_the_reference(capsys):
    def stub(text):
        raise NotImplementedError

    def check(answer):
        assert answer("é") == "Ã©"

    used = _common.check_exercises({"exercise_1": stub, "check_exercise_1": check}, chapter=1)
    assert used == {"exercise_1": "reference"}
    assert "not answered yet" in capsys.readouterr().out
    mine = answers.chapter01_exercise_1
    assert _common.check_exercises({"exercise_1": mine, "check_exercise_1": check}, chapter=1) == {
        "exercise_1": "yours"
    }
    assert "your answer passes" in capsys.readouterr().out
    with pytest.raises(AssertionError):
        _common.check_exercises(
            {"exercise_1": lambda text: text, "check_exercise_1": check}, chapter=1
        )


@pytest.mark.parametrize(
    "body, passes",
    [
        ('    return "".join(bytes_to_unicode()[b] for b in text.encode("utf-8"))', True),
        ("    return text", False),
    ],
)
def test_a_chapter_checks_the_readers_answer(tmp_path, body, passes):
    # Chapter 1 with exercise_1 filled in: a right answer is reported as the reader's, a
    # wrong one stops the chapter with the check's AssertionError.
    chapter = WALKTHROUGH / "01_bytes_and_bpe.py"
    source = chapter.read_text(encoding="utf-8")
    stub = "def exercise_1(text: str) -> str:\n    raise NotImplementedError\n"
    assert stub in source
    filled = source.replace(stub, "def exercise_1(text: str) -> str:\n" + body + "\n")
    copy = tmp_path / chapter.name
    copy.write_text(filled, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_LUKE_WALKTHROUGH_MODEL"}
    env["PYTHONPATH"] = os.pathsep.join([str(WALKTHROUGH), str(ROOT), env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, str(copy)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    if passes:
        assert result.returncode == 0, result.stderr[-2000:]
        assert "exercise_1: your answer passes" in result.stdout
        assert "exercise_2: not answered yet" in result.stdout
    else:
        assert result.returncode == 1 and "AssertionError" in result.stderr

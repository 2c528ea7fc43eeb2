"""The walkthrough chapters are executed, so their text and assertions cannot rot.

Each chapter in walkthrough/ runs as a plain script on the tiny fixture checkpoint; a
chapter that raises (its closing assertions included) or takes 20 s or more fails here.
Chapters must also run without matplotlib (the optional ``viz`` extra).
"""

import os
import subprocess
import sys
import time

import helpers
import pytest
from helpers import ROOT

WALKTHROUGH = ROOT / "walkthrough"
CHAPTERS = sorted(WALKTHROUGH.glob("[0-9][0-9]_*.py"))
TIME_LIMIT = 20.0  # seconds per chapter on the fixture (issue 5, acceptance 2)

# Runs a chapter as __main__ with `import matplotlib` failing, as on a machine without it.
WITHOUT_MATPLOTLIB = """
import runpy, sys
sys.modules["matplotlib"] = None
sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0])
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def fixture_env() -> dict:
    """The environment minus any walkthrough model choice: chapters use the fixture."""
    env = dict(os.environ)
    env.pop("NUMPY_LUKE_WALKTHROUGH_MODEL", None)
    return env


def run(args, env=None) -> tuple[subprocess.CompletedProcess, float]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=fixture_env() if env is None else env,
        timeout=600,
    )
    return result, time.perf_counter() - start


def test_there_are_chapters():
    assert len(CHAPTERS) >= 1, "walkthrough/ has no chapter files"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_runs_and_its_checks_pass(chapter):
    result, seconds = run([str(chapter)])
    assert result.returncode == 0, (
        f"{chapter.name} failed (exit {result.returncode}):\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    assert "all checks passed" in result.stdout, f"{chapter.name} did not reach its checks"
    assert seconds < TIME_LIMIT, f"{chapter.name} took {seconds:.1f} s (limit {TIME_LIMIT} s)"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_opens_as_a_notebook(chapter):
    # jupytext's "percent" format: prose cells first and between the code, a title first.
    jupytext = pytest.importorskip("jupytext")
    notebook = jupytext.read(chapter)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds[0] == "markdown" and notebook.cells[0].source.startswith("# Chapter ")
    assert kinds.count("markdown") >= 3 and kinds.count("code") >= 3
    assert notebook.cells[-1].cell_type == "code" and "all checks passed" in (
        notebook.cells[-1].source
    ), "a chapter ends with the cell that checks its claims"


PICTURE_CHAPTERS = [c for c in CHAPTERS if "try_matplotlib" in c.read_text(encoding="utf-8")]


@pytest.mark.parametrize("chapter", PICTURE_CHAPTERS, ids=[c.stem for c in PICTURE_CHAPTERS])
def test_chapter_with_pictures_runs_without_matplotlib(chapter):
    result, _ = run(["-c", WITHOUT_MATPLOTLIB, str(chapter)])
    assert result.returncode == 0, f"{chapter.name} needs matplotlib:\n{result.stderr[-3000:]}"
    assert "matplotlib is not installed" in result.stdout


def test_chapter_1_on_the_fixture_vocabulary_and_the_real_one():
    # Chapter 1 switches to RoBERTa's real BPE files when NUMPY_LUKE_TEST_DATA provides them
    # (as in CI); both paths must run.
    chapter = WALKTHROUGH / "01_bytes_and_bpe.py"
    env = fixture_env()
    env.pop("NUMPY_LUKE_TEST_DATA", None)
    result, _ = run([str(chapter)], env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "tests/fixtures/tiny-luke/vocab.json" in result.stdout
    if helpers.roberta_dir() is None:
        pytest.skip("real RoBERTa vocabulary not available (set NUMPY_LUKE_TEST_DATA)")
    env["NUMPY_LUKE_TEST_DATA"] = str(helpers.roberta_dir().parent)
    result, _ = run([str(chapter)], env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "roberta-base/vocab.json" in result.stdout
    assert "Ġphotos ynthesis" in result.stdout  # real merges: two tokens, not eight


@pytest.fixture(scope="module")
def luke_base_cache(tmp_path_factory):
    """A private Hugging Face cache holding the luke-base stand-in as
    "studio-ousia/luke-base" (benchmarks/make_lukebase_standin.py: the published layout
    and the conversion's properties, random values), for HF_HUB_OFFLINE=1 runs."""
    folder = helpers.lukebase_standin_dir()
    if folder is None:
        pytest.skip(
            "the luke-base stand-in needs the real RoBERTa vocabulary (set NUMPY_LUKE_TEST_DATA)"
        )
    cache = tmp_path_factory.mktemp("hf-cache")
    try:
        helpers.place_in_hf_cache(folder, cache, "studio-ousia/luke-base", link=True)
    except OSError:  # another file system: copy instead of linking
        helpers.place_in_hf_cache(folder, cache, "studio-ousia/luke-base")
    return cache


@pytest.mark.slow
def test_every_chapter_on_the_luke_base_stand_in(luke_base_cache):
    # `walkthrough/run_all.py --model studio-ousia/luke-base`, resolved offline through the
    # cache: every chapter's claims must hold on a checkpoint with the published layout
    # (equal queries, 500,000 entities, the real BPE files) as well as on the fixture.
    env = fixture_env()
    env.update(HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(luke_base_cache))
    env.pop("HF_HOME", None)
    result, _ = run([str(WALKTHROUGH / "run_all.py"), "--model", "studio-ousia/luke-base"], env)
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert f"all {len(CHAPTERS)} chapters passed" in result.stdout


def test_run_all_reports_a_failing_chapter(tmp_path):
    # run_all.py must exit non-zero when a chapter fails; try it on a copy with one bad chapter.
    (tmp_path / "run_all.py").write_text((WALKTHROUGH / "run_all.py").read_text())
    (tmp_path / "01_good.py").write_text("print('fine')\n")
    (tmp_path / "02_bad.py").write_text("assert 1 == 2, 'claim does not hold'\n")
    result = subprocess.run(
        [sys.executable, str(tmp_path / "run_all.py")], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "02_bad.py" in result.stdout and "FAILED" in result.stdout
    assert "01_good.py" in result.stdout and "claim does not hold" in result.stderr


# Exercises: chapters define `exercise_N` stubs and `check_exercise_N`; the reference answers
# live in walkthrough/answers.py as `chapterNN_exercise_N` (see _common.check_exercises).
EXERCISE_CHAPTERS = [c for c in CHAPTERS if "def exercise_" in c.read_text(encoding="utf-8")]


@pytest.mark.parametrize("chapter", EXERCISE_CHAPTERS, ids=[c.stem for c in EXERCISE_CHAPTERS])
def test_every_exercise_has_a_check_and_a_reference_answer(chapter):
    import re

    source = chapter.read_text(encoding="utf-8")
    number = int(chapter.name[:2])
    answers = (WALKTHROUGH / "answers.py").read_text(encoding="utf-8")
    exercises = re.findall(r"^def (exercise_\d+)\(", source, flags=re.M)
    assert exercises, "no exercise stubs found"
    for name in exercises:
        assert f"def check_{name}(" in source
        assert f"def chapter{number:02d}_{name}(" in answers
    assert f"check_exercises(globals(), chapter={number})" in source


def _chapter_with_answer(tmp_path, chapter, exercise, body):
    """A copy of ``chapter`` whose ``exercise`` stub is replaced by ``body`` (one line)."""
    source = chapter.read_text(encoding="utf-8")
    start = source.index(f"def {exercise}(")
    stub = source.index("raise NotImplementedError  # your answer here", start)
    copy = tmp_path / chapter.name
    copy.write_text(
        source[:stub]
        + body
        + source[stub + len("raise NotImplementedError  # your answer here") :],
        encoding="utf-8",
    )
    return copy


RUN_FROM_WALKTHROUGH = """
import runpy, sys
sys.path.insert(0, sys.argv[1])
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.skipif(not EXERCISE_CHAPTERS, reason="no chapter has exercises")
def test_a_wrong_answer_fails_and_a_right_one_is_reported(tmp_path):
    chapter = WALKTHROUGH / "09_pretraining.py"
    wrong = _chapter_with_answer(tmp_path, chapter, "exercise_1", "return 0.0")
    result, _ = run(["-c", RUN_FROM_WALKTHROUGH, str(WALKTHROUGH), str(wrong)])
    assert result.returncode != 0 and "check_exercise_1" in result.stderr
    right_dir = tmp_path / "right"
    right_dir.mkdir()
    right = _chapter_with_answer(
        right_dir,
        chapter,
        "exercise_1",
        "import answers; return answers.chapter09_exercise_1(logits, label)",
    )
    result, _ = run(["-c", RUN_FROM_WALKTHROUGH, str(WALKTHROUGH), str(right)])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "exercise_1: your answer passes" in result.stdout
    assert "exercise_2: not answered yet" in result.stdout

"""Shared helpers for the walkthrough chapters: which checkpoint to use, and how to print.

Every chapter runs on the tiny fixture checkpoint in ``tests/fixtures/tiny-luke`` unless
told otherwise, so it takes a second or two and needs no download. To run a chapter on the
real model instead, pass a folder or a Hub repository id:

    python walkthrough/03_embeddings.py --model studio-ousia/luke-base
    NUMPY_LUKE_WALKTHROUGH_MODEL=studio-ousia/luke-base python walkthrough/03_embeddings.py

Chapter 1 (byte-level BPE) also uses RoBERTa's real vocabulary when the environment
variable NUMPY_LUKE_TEST_DATA points at a folder holding ``roberta-base/vocab.json`` and
``merges.txt`` (the test suite's convention).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

WALKTHROUGH = Path(__file__).resolve().parent
ROOT = WALKTHROUGH.parent
FIXTURE = ROOT / "tests" / "fixtures" / "tiny-luke"
MODEL_ENV = "NUMPY_LUKE_WALKTHROUGH_MODEL"

# Short, readable numbers everywhere.
np.set_printoptions(precision=4, suppress=True, linewidth=100, threshold=60, edgeitems=3)


def model_name(argv: list[str] | None = None) -> str:
    """The checkpoint the chapter runs on: ``--model X`` (or ``--model=X``), else
    $NUMPY_LUKE_WALKTHROUGH_MODEL, else the tiny fixture folder."""
    argv = sys.argv[1:] if argv is None else argv
    for i, arg in enumerate(argv):
        if arg == "--model" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--model="):
            return arg.split("=", 1)[1]
    return os.environ.get(MODEL_ENV) or str(FIXTURE)


def is_fixture(name: str) -> bool:
    """True when ``name`` is the tiny fixture checkpoint (some figures are only checked
    there, e.g. that its vocabulary is the one trained by tests/fixtures/)."""
    return Path(name).resolve() == FIXTURE.resolve() if Path(name).exists() else False


def roberta_dir() -> Path | None:
    """RoBERTa's real BPE files from $NUMPY_LUKE_TEST_DATA/roberta-base, when provided."""
    data = os.environ.get("NUMPY_LUKE_TEST_DATA")
    if not data:
        return None
    folder = Path(data) / "roberta-base"
    if (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
        return folder
    return None


def title(text: str) -> None:
    """Print a section heading, so the script's output reads like the notebook."""
    print()
    print(f"== {text} " + "=" * max(0, 72 - len(text)))


def show(label: str, value) -> None:
    """Print ``label: value``; arrays also show their shape and dtype."""
    if isinstance(value, np.ndarray):
        print(f"{label}: shape {value.shape}, {value.dtype}")
        print("  " + str(value).replace("\n", "\n  "))
    else:
        print(f"{label}: {value}")


def table(rows: list[tuple], header: tuple | None = None) -> None:
    """Print rows as aligned columns."""
    rows = [tuple(str(cell) for cell in row) for row in rows]
    if header is not None:
        rows.insert(0, tuple(header))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  " + "  ".join(cells).rstrip())
        if header is not None and n == 0:
            print("  " + "  ".join("-" * width for width in widths))


def try_matplotlib():
    """``matplotlib.pyplot``, or None (it is the optional ``viz`` extra: chapters print a
    note and go on without pictures). Scripts draw off-screen (Agg); notebooks inline."""
    try:
        import matplotlib
    except ImportError:
        print("(matplotlib is not installed: no picture. `pip install -e '.[viz]'` adds it.)")
        return None
    if "ipykernel" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, name: str) -> Path:
    """Save a chapter's figure outside the repository (a temporary folder) and close it;
    returns the path. The committed pictures are drawn by walkthrough/make_figures.py."""
    import tempfile

    import matplotlib.pyplot as plt

    folder = Path(tempfile.gettempdir()) / "numpy_luke_walkthrough"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.png"
    figure.savefig(path, dpi=100, metadata={"Software": None})
    if "ipykernel" not in sys.modules:
        plt.close(figure)
    return path


# Exercises (minbpe style). A chapter ends with stubs the reader fills in,
#
#     def exercise_1(logits, label):
#         """... what to compute ..."""
#         raise NotImplementedError  # your answer here
#
#     def check_exercise_1(solve):          # called with a function: the reader's or ours
#         assert abs(solve(np.array([0.0, 0.0]), 1) - math.log(2)) < 1e-12
#
# and calls ``check_exercises(globals(), chapter=9)`` in its last cell. Every
# ``exercise_N`` found is run through its ``check_exercise_N``: the reader's function when
# it is implemented (a wrong answer fails the chapter with the check's message), otherwise
# the reference answer ``chapterNN_exercise_N`` from walkthrough/answers.py, so the tests
# keep the reference answers and the checks honest.


def check_exercises(namespace: dict, chapter: int) -> dict[str, str]:
    """Check a chapter's exercises; returns ``{name: "yours" | "reference"}``.

    ``namespace`` is the chapter's ``globals()``. Raises ``LookupError`` when an exercise
    has no check or no reference answer, and whatever the check raises (an
    ``AssertionError``) when an answer is wrong.
    """
    import answers

    names = sorted((name for name in namespace
                    if name.startswith("exercise_") and callable(namespace[name])),
                   key=lambda name: int(name.rsplit("_", 1)[1]))
    used = {}
    for name in names:
        check = namespace.get("check_" + name)
        reference = getattr(answers, f"chapter{chapter:02d}_{name}", None)
        if check is None or reference is None:
            raise LookupError(f"{name} of chapter {chapter} needs check_{name} in the chapter "
                              f"and chapter{chapter:02d}_{name} in walkthrough/answers.py")
        try:
            check(namespace[name])
            used[name] = "yours"
            print(f"  {name}: your answer passes")
        except NotImplementedError:
            check(reference)
            used[name] = "reference"
            print(f"  {name}: not answered yet (the reference answer in "
                  f"walkthrough/answers.py passes)")
    return used

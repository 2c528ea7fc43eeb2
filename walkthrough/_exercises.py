"""The exercises at the end of each chapter, checked (minbpe style).

A chapter defines stubs, ``def exercise_1(...): raise NotImplementedError``, and a check per
exercise, a function that calls an answer and asserts what it must give. At its end it calls

    check_exercises(chapter_number, globals(), {"exercise_1": check_1, ...})

Each check runs on the reader's function when it is written; while it still raises
NotImplementedError, on the reference answer ``ch{NN}_exercise_{k}`` of
walkthrough/answers_01_08.py. Either way the check's assertions must hold, so the tests
(which run the chapters unchanged) prove that the reference answers pass, and a reader who
fills in a stub learns at once whether the answer is right.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def check_exercises(chapter: int, namespace: dict, checks: dict[str, Callable],
                    answers: str = "answers_01_08") -> dict[str, str]:
    """Run ``checks[name](function)`` for every exercise; returns name -> "yours" or
    "reference", whichever answer was checked. A wrong answer raises AssertionError."""
    reference = importlib.import_module(answers)
    used = {}
    for name, check in checks.items():
        try:
            check(namespace[name])
            used[name] = "yours"
        except NotImplementedError:
            check(getattr(reference, f"ch{chapter:02d}_{name}"))
            used[name] = "reference"
    for name, whose in used.items():
        note = "your answer passed" if whose == "yours" else (
            f"the reference answer passed (write yours in {name} and run again)")
        print(f"  {name}: {note}")
    return used

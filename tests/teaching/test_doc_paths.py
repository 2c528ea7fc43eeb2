"""Every project file that a chapter or a doc names exists (issue 21).

A reader follows the paths the teaching material gives: `numpy_luke/core/attention.py`,
`tests/oracle/test_weights.py`, `walkthrough/answers.py`.
Chapters 1-8 once sent the reader to an `answers_01_08.py` that never existed; this test
keeps that from happening again. It scans README.md, benchmarks/README.md, docs/*.md,
walkthrough/*.py and walkthrough/README.md for

* paths under the project's folders (`numpy_luke/`, `tests/`, `walkthrough/`, `docs/`,
  `benchmarks/`), checked from the repository root; placeholders written in capitals
  (`walkthrough/NN_*.py`, `bench_NAME.py`) and shell globs match at least one file; paths
  under a git-ignored folder (`benchmarks/_work/`, made by a command) are not checked;
* bare `.py` and `.md` file names (`answers.py`), which must name a file somewhere in the
  project, except the files of other projects listed in ``OTHER_PROJECTS``.

Relative Markdown links are checked by tests/teaching/test_docs_examples.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import ROOT

SCANNED = sorted(
    [
        ROOT / "README.md",
        ROOT / "benchmarks" / "README.md",
        ROOT / "walkthrough" / "README.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "walkthrough").glob("*.py"),
    ]
)

# Files the material names that belong to other projects (each named with its project).
OTHER_PROJECTS = {
    "convert_luke_original_pytorch_checkpoint_to_pytorch.py",  # transformers' repository
    "pretraining.md",  # studio-ousia/luke
    "train.py",  # studio-ousia/luke: luke/pretraining/train.py
    "batch_generator.py",  # studio-ousia/luke: luke/pretraining/batch_generator.py
    "dataset.py",  # studio-ousia/luke: luke/pretraining/dataset.py
    "convert_luke_to_huggingface_model.py",  # studio-ousia/luke: luke/utils/
    "modeling_luke.py",  # transformers
    "tokenization_luke.py",  # transformers
    "configuration_luke.py",  # transformers
}

# Files the material says a command writes (not committed).
OUTPUTS = {
    "walkthrough/NN_*.ipynb",  # walkthrough/README.md: jupytext --to notebook
}

FOLDERS = ("numpy_luke", "tests", "walkthrough", "docs", "benchmarks")
PROJECT_PATH = re.compile(r"(?<![\w/.-])((?:" + "|".join(FOLDERS) + r")/[\w./*-]*[\w*])")
BARE_NAME = re.compile(r"(?<![\w/.-])([\w-]+\.(?:py|md))(?![\w/])")
PLACEHOLDER = re.compile(r"(?<![A-Za-z])[A-Z]{2,}(?![a-z])")


def ignored_folders() -> list[str]:
    """Folders .gitignore names (outputs of commands, not files of the project)."""
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    return [line.strip().rstrip("/") for line in lines if line.strip().endswith("/")]


def project_names() -> set[str]:
    return {p.name for p in ROOT.rglob("*") if ".git" not in p.parts}


def exists(path: str, base: Path) -> bool:
    pattern = PLACEHOLDER.sub("*", path)
    if any(c in pattern for c in "*?["):
        return any(base.glob(pattern))
    return (base / pattern).exists()


def missing_references(path: Path, names: set[str], ignored: list[str]) -> list[str]:
    """The references in one file that name no file, as 'line N: reference' strings."""
    # Python sources hold "\n" escapes in strings ("encoder\nmodel.py"): read them as breaks.
    text = path.read_text(encoding="utf-8").replace("\\n", "\n")
    missing = []
    for number, line in enumerate(text.splitlines(), 1):
        for found in PROJECT_PATH.finditer(line):
            reference = found.group(1).rstrip(".")
            if reference in OUTPUTS or any(
                reference == f or reference.startswith(f + "/") for f in ignored
            ):
                continue
            if not exists(reference, ROOT):
                missing.append(f"line {number}: {reference}")
        for found in BARE_NAME.finditer(line):
            name = found.group(1)
            if name not in names and name not in OTHER_PROJECTS:
                missing.append(f"line {number}: {name}")
    return missing


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_named_project_file_exists(path):
    missing = missing_references(path, project_names(), ignored_folders())
    assert not missing, f"{path.relative_to(ROOT)} names files that do not exist: {missing}"


def test_the_scan_finds_a_missing_file(tmp_path):
    """The scan itself can fail: a made-up chapter naming files that are not there."""
    chapter = tmp_path / "99_made_up.py"
    chapter.write_text(
        "# see `answers_01_08.py` and `numpy_luke/core/nothing.py`;\n"
        "# `walkthrough/answers.py` and `tests/*/test_*.py` exist\n",
        encoding="utf-8",
    )
    missing = missing_references(chapter, project_names(), ignored_folders())
    assert missing == ["line 1: numpy_luke/core/nothing.py", "line 1: answers_01_08.py"]

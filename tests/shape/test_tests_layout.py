"""The tests mirror the package (issue 19 §5): every test file lives in one folder of
tests/README.md's index, its name unique across folders (conftest.py puts every folder on
``sys.path``, so two files of one name would shadow each other), and the index names every
test file and every module of the package."""

from __future__ import annotations

import re
from collections import Counter

from helpers import ROOT, TESTS

FOLDERS = {"core", "training", "shell", "oracle", "robustness", "teaching", "shape"}
INDEX = (TESTS / "README.md").read_text(encoding="utf-8")


def _test_files():
    return sorted(TESTS.rglob("test_*.py"))


def test_every_test_file_is_in_a_folder_of_the_index():
    misplaced = [
        p.relative_to(TESTS).as_posix()
        for p in _test_files()
        if p.parent.parent != TESTS or p.parent.name not in FOLDERS
    ]
    assert not misplaced, f"put these in one of {sorted(FOLDERS)}: {misplaced}"
    assert all(f"`{folder}/`" in INDEX for folder in FOLDERS)


def test_test_file_names_are_unique():
    twice = [name for name, n in Counter(p.name for p in _test_files()).items() if n > 1]
    assert not twice, twice


def test_the_index_names_every_test_file_and_only_files_that_exist():
    unnamed = [p.relative_to(TESTS).as_posix() for p in _test_files() if p.name not in INDEX]
    assert not unnamed, f"tests/README.md does not name {unnamed}"
    named = set(re.findall(r"`(\w+/test_\w+\.py)`", INDEX))
    assert named, "the index names no test file"
    missing = sorted(path for path in named if not (TESTS / path).exists())
    assert not missing, f"tests/README.md names files that do not exist: {missing}"


def test_the_index_names_every_module_of_the_package():
    package = ROOT / "numpy_luke"
    modules = [
        p.relative_to(package).as_posix()
        for p in package.rglob("*.py")
        if p.name != "__init__.py" or p.parent == package
    ]
    unnamed = sorted(m for m in modules if f"`{m}`" not in INDEX)
    assert not unnamed, f"tests/README.md has no row for {unnamed}"

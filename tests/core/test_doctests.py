"""The examples written in the core's docstrings (``>>>``) run and print what they show.

Run here, not with ``--doctest-modules`` over the whole tree, so the default run collects
only the core's modules (tests/goldens/ scripts import torch)."""

import doctest
import importlib

import pytest
from helpers import ROOT

CORE = ROOT / "numpy_luke" / "core"
MODULES = sorted(f"numpy_luke.core.{p.stem}" for p in CORE.glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"


def test_the_core_has_examples_to_run():
    attempted = sum(doctest.testmod(importlib.import_module(name)).attempted for name in MODULES)
    assert attempted >= 4, attempted  # bpe.ByteLevelBPE and entity_vocab.EntityVocab today

"""Every numbered walkthrough chapter opens and runs as a Jupyter notebook.

Each chapter (walkthrough/[0-9]*.py only: helper modules such as _common.py stay modules)
is converted with jupytext and executed cell by cell in a fresh Python kernel by nbclient,
with the working directory walkthrough/, as a reader would run it. Needs the ``notebook``
extra (jupytext, ipykernel, nbclient, nbformat); skipped with a reason without it.
"""

import os

import pytest
from helpers import ROOT

REASON = "notebooks need the optional notebook extra: pip install -e '.[notebook]'"
jupytext = pytest.importorskip("jupytext", reason=REASON)
nbclient = pytest.importorskip("nbclient", reason=REASON)
pytest.importorskip("ipykernel", reason=REASON)

WALKTHROUGH = ROOT / "walkthrough"
CHAPTERS = sorted(WALKTHROUGH.glob("[0-9]*.py"))
CELL_TIMEOUT = 120  # seconds per cell; a whole chapter takes a few seconds on the fixture


def test_only_numbered_chapters_convert():
    assert CHAPTERS, "no numbered chapters in walkthrough/"
    assert all(c.name[0].isdigit() for c in CHAPTERS)
    helpers = {p.name for p in WALKTHROUGH.glob("*.py")} - {c.name for c in CHAPTERS}
    assert "_common.py" in helpers and "answers.py" in helpers


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_executes_as_a_notebook(chapter, monkeypatch):
    monkeypatch.delenv("NUMPY_LUKE_WALKTHROUGH_MODEL", raising=False)  # the fixture model
    # The kernel is a child process: it must import numpy_luke from this checkout.
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    )
    notebook = jupytext.read(chapter)
    client = nbclient.NotebookClient(
        notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
        resources={"metadata": {"path": str(WALKTHROUGH)}},
    )  # fmt: skip
    client.execute()  # raises CellExecutionError, with the cell and traceback, on failure
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.get("execution_count") for cell in code), "a code cell did not run"
    last = "".join(out.get("text", "") for out in code[-1].outputs if out.output_type == "stream")
    assert "all checks passed" in last, f"{chapter.name}: the checks cell printed {last[-500:]!r}"

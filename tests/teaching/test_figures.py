"""The committed figures in docs/figures/ are exactly what walkthrough/make_figures.py draws.

Regenerates every figure into a temporary folder and compares decoded pixels with the
committed PNG files (issue 5, acceptance 3). Needs matplotlib (the optional ``viz`` extra);
skipped with a reason without it.
"""

import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT

matplotlib = pytest.importorskip("matplotlib", reason="figures need the optional viz extra")
from matplotlib import image  # noqa: E402

FIGURES = ROOT / "docs" / "figures"
SCRIPT = ROOT / "walkthrough" / "make_figures.py"


def drawn_with() -> str:
    """MATPLOTLIB_VERSION of make_figures.py: the release that drew the committed files."""
    for line in SCRIPT.read_text(encoding="utf-8").splitlines():
        if line.startswith("MATPLOTLIB_VERSION = "):
            return line.split("=", 1)[1].strip().strip('"')
    raise AssertionError("make_figures.py does not say which matplotlib drew the figures")


if matplotlib.__version__ != drawn_with():
    pytest.skip(
        f"the committed figures were drawn with matplotlib {drawn_with()}; this is "
        f"{matplotlib.__version__}, whose text rendering may differ (pip install "
        f"matplotlib=={drawn_with()} to compare)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return out


def test_every_figure_is_committed_and_nothing_else(regenerated):
    made = sorted(p.name for p in regenerated.glob("*.png"))
    committed = sorted(p.name for p in FIGURES.glob("*.png"))
    assert made, "make_figures.py drew nothing"
    assert made == committed, "run `python walkthrough/make_figures.py` and commit docs/figures"


def test_regenerated_pixels_equal_committed(regenerated):
    for new in sorted(regenerated.glob("*.png")):
        old = FIGURES / new.name
        if not old.exists():
            continue  # reported by the test above
        a, b = image.imread(old), image.imread(new)
        assert a.shape == b.shape, f"{new.name}: size {b.shape} != committed {a.shape}"
        assert np.array_equal(a, b), (
            f"{new.name}: {np.count_nonzero((a != b).any(axis=-1))} pixels differ; "
            "run `python walkthrough/make_figures.py` and commit docs/figures"
        )


def test_figures_carry_no_version_or_date(regenerated):
    # Fixed metadata is what makes regeneration reproducible byte for byte.
    for path in sorted(regenerated.glob("*.png")):
        data = path.read_bytes()
        assert b"Software" not in data and b"matplotlib" not in data.lower(), path.name
    again = regenerated / "again"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(again)],
        check=True,
        cwd=ROOT,
        capture_output=True,
        timeout=300,
    )
    for path in sorted(regenerated.glob("*.png")):
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name

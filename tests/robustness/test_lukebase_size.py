"""A checkpoint of luke-base size (random weights, 500,000 entities) placed in a temporary
Hugging Face cache as "studio-ousia/luke-base" loads through
``from_pretrained("studio-ousia/luke-base")`` with HF_HUB_OFFLINE=1, runs, and stays within
1.2x the weight bytes of resident memory (issue 3, acceptance 5). Three layouts: the
published ``pytorch_model.bin`` (torch's zip archive), the legacy .bin, and safetensors.

Slow (about 10 s once the files exist):
``pytest -m slow tests/robustness/test_lukebase_size.py``. It uses the files of
``benchmarks/make_lukebase_checkpoint.py`` in benchmarks/_work when they are there, and
otherwise makes them (which needs torch + transformers) in a temporary folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, place_in_hf_cache

pytestmark = pytest.mark.slow

WORK = ROOT / "benchmarks" / "_work"

SCRIPT = """
import json, resource, sys
import numpy as np
from numpy_luke import LukeModel

def peak_rss():
    # VmHWM: this process's own high-water mark. ru_maxrss is not: Linux carries it over
    # fork and exec, so the child of a pytest process that once held 1.4 GB reports 1.4 GB
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

model = LukeModel.from_pretrained("studio-ousia/luke-base")
for array in model.params.values():  # read every weight once, as a first forward would
    np.asarray(array).sum()
out = model(
    input_ids=np.array([[0, 4, 5, 6, 2]]),
    entity_ids=np.array([[7]]),
    entity_position_ids=np.array([[[1, 2] + [-1] * 28]]),
)
print(json.dumps({
    "last_hidden_state": list(out.last_hidden_state.shape),
    "entity_last_hidden_state": list(out.entity_last_hidden_state.shape),
    "finite": bool(np.isfinite(out.last_hidden_state).all()),
    "peak_rss": peak_rss(),
}))
"""


@pytest.fixture(scope="module")
def lukebase_work(tmp_path_factory) -> Path:
    """The folder holding luke-base-{bin,legacy,safetensors}/ (made when missing)."""
    kinds = ["bin", "legacy", "safetensors"]
    if all((WORK / f"luke-base-{kind}" / "config.json").is_file() for kind in kinds):
        return WORK
    pytest.importorskip("torch", reason="making a luke-base-size checkpoint needs torch")
    pytest.importorskip("transformers")
    work = tmp_path_factory.mktemp("lukebase")
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "make_lukebase_checkpoint.py"), str(work)],
        check=True,
        timeout=900,
    )
    return work


@pytest.mark.parametrize(
    "kind, weights",
    [
        ("bin", "pytorch_model.bin"),  # the published layout: torch's zip archive
        ("legacy", "pytorch_model.bin"),  # torch < 1.6
        ("safetensors", "model.safetensors"),
    ],
)
def test_lukebase_size_checkpoint_from_an_offline_hf_cache(tmp_path, lukebase_work, kind, weights):
    folder = lukebase_work / f"luke-base-{kind}"
    cache = tmp_path / "hf-cache"
    try:
        snapshot = place_in_hf_cache(folder, cache, "studio-ousia/luke-base", link=True)
    except OSError:  # another file system: copy instead of linking
        snapshot = place_in_hf_cache(folder, cache, "studio-ousia/luke-base")
    weight_bytes = (snapshot / weights).stat().st_size
    assert weight_bytes > 1_000_000_000  # luke-base size: 275 M float32 parameters

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache)}
    env.pop("HF_HOME", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        cwd=tmp_path,  # not the repository: the name must resolve through the cache
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["last_hidden_state"] == [1, 5, 768]
    assert result["entity_last_hidden_state"] == [1, 1, 768]
    assert result["finite"]
    assert result["peak_rss"] <= 1.2 * weight_bytes, (result["peak_rss"], weight_bytes)

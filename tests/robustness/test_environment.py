"""The command line in a hostile environment: no network, a missing dependency, a closed
stdout, a reader that goes away. Each case runs the real command as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import helpers
import pytest

from numpy_luke.hub import hub_reachable

FIXTURE = str(helpers.TINY_LUKE)


def run(args, env=None, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "numpy_luke", *args],
        capture_output=True,
        text=True,
        cwd=helpers.ROOT,
        env=env,
        timeout=120,
        **kwargs,
    )


def base_env(**extra):
    env = dict(os.environ, PYTHONPATH=str(helpers.ROOT), **extra)
    env.pop("NUMPY_LUKE_DEBUG", None)
    return env


def test_unreachable_hub_fails_fast_with_one_clear_line(tmp_path):
    """Issue 12 item 7: an empty cache, HF_HUB_OFFLINE unset and no network answer at once
    (it took about 23 s and printed ten lines of retries before)."""
    if hub_reachable():
        pytest.skip("the Hugging Face Hub is reachable from here; this checks the opposite")
    env = base_env(HF_HOME=str(tmp_path / "hf"), HF_HUB_CACHE=str(tmp_path / "hf" / "hub"))
    env.pop("HF_HUB_OFFLINE", None)
    start = time.monotonic()
    result = run(["fill", "Tokyo is the <mask> of Japan."], env=env)
    elapsed = time.monotonic() - start
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("numpy_luke fill: error: vocab.json of 'studio-ousia/luke-base'")
    assert "cannot be downloaded" in lines[0]
    assert elapsed < 8, f"took {elapsed:.1f} s"


def test_unreachable_hub_still_reads_the_cache(tmp_path):
    """With the Hub unreachable, files already in the cache are used without any retry."""
    if hub_reachable():
        pytest.skip("the Hugging Face Hub is reachable from here; this checks the opposite")
    cache = tmp_path / "hub"
    helpers.place_in_hf_cache(helpers.TINY_LUKE, cache, "studio-ousia/luke-base")
    env = base_env(HF_HUB_CACHE=str(cache))
    env.pop("HF_HUB_OFFLINE", None)
    start = time.monotonic()
    result = run(["fill", "--json", "Tokyo is the <mask> of Japan."], env=env)
    elapsed = time.monotonic() - start
    offline = run(
        ["fill", "--json", "Tokyo is the <mask> of Japan."], env={**env, "HF_HUB_OFFLINE": "1"}
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == offline.stdout != ""
    assert elapsed < 8, f"took {elapsed:.1f} s"


def test_hub_probe_answers_quickly_for_an_unresolvable_host():
    start = time.monotonic()
    assert hub_reachable("https://no-such-host.invalid", timeout=2.0) is False
    assert time.monotonic() - start < 4


# A stand-in for an environment where numpy is not installed: every import of it fails the
# way a missing package does.
HIDE_NUMPY = """
import runpy, sys
class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "numpy":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Missing())
sys.argv = ["numpy_luke", *sys.argv[1:]]
runpy.run_module("numpy_luke", run_name="__main__", alter_sys=True)
"""


def test_missing_dependency_says_what_to_install():
    """Issue 14 item 11: not 'a bug in numpy_luke', but which package to install."""
    result = subprocess.run(
        [sys.executable, "-c", HIDE_NUMPY, "fill", "--model", FIXTURE, "a <mask>"],
        capture_output=True,
        text=True,
        cwd=helpers.ROOT,
        env=base_env(),
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "No module named 'numpy'" in lines[0]
    assert "pip install numpy" in lines[0] and "pip install numpy_luke" in lines[0]
    assert "bug" not in lines[0] and "Traceback" not in result.stderr


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_closed_stdout_exits_cleanly(json_flag):
    """`numpy_luke fill ... >&-`: nothing to write to, no traceback, exit 0."""
    command = [
        sys.executable,
        "-m",
        "numpy_luke",
        "fill",
        *json_flag,
        "--model",
        FIXTURE,
        "a <mask> b",
    ]
    result = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=helpers.ROOT,
        env=base_env(),
        timeout=120,
        preexec_fn=lambda: os.close(1),
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize("texts", [1, 400])
def test_reader_gone_exits_cleanly(texts):
    """`numpy_luke fill ... | head -c0`: the pipe's reader has gone before (or while) the
    results are written; short and long outputs both end with exit 0 and nothing on stderr."""
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "numpy_luke",
                "fill",
                "--model",
                FIXTURE,
                *["a <mask> b"] * texts,
            ],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            cwd=helpers.ROOT,
            env=base_env(),
            timeout=120,
        )
    finally:
        os.close(write)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_full_disk_is_an_error_not_silence():
    """Output that cannot be written for another reason (a full disk) is a one-line error."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "numpy_luke", "fill", "--model", FIXTURE, "a <mask>"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            cwd=helpers.ROOT,
            env=base_env(),
            timeout=120,
        )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "error" in result.stderr

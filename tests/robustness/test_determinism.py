"""Determinism: the same input and checkpoint give bit-identical outputs, every time.

Compared byte for byte (SHA-256 of each output array's dtype, shape and bytes): repeated
calls in one process, a second load of the checkpoint, and two fresh Python processes with
different hash seeds (so no result depends on set or dict iteration order), for
LukeForMaskedLM on the tiny fixture; and the JSON that ``python -m numpy_luke fill`` prints.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT, TESTS, TINY_LUKE

from numpy_luke import LukeForMaskedLM, LukeTokenizer

TEXTS = ["Lionel Messi plays for <mask> Miami CF.", "Beyoncé lives in Los <mask>."]
SPANS = [[(0, 12), (23, 36)], [(0, 7)]]

# Runs in a fresh interpreter: this module's compute_digests(), printed as JSON.
SCRIPT = f"""
import json, sys
sys.path[:0] = [{str(TESTS)!r}, {str(TESTS / "robustness")!r}]
import test_determinism
json.dump(test_determinism.compute_digests(), sys.stdout)
"""


def digest(array: np.ndarray) -> str:
    array = np.ascontiguousarray(array)
    header = f"{array.dtype.str}{array.shape}".encode()
    return hashlib.sha256(header + array.tobytes()).hexdigest()


def output_digests(model, encoding) -> dict[str, str]:
    outputs = model(**encoding, output_hidden_states=True, output_attentions=True)
    hashes = {name: digest(getattr(outputs, name)) for name in ("logits", "entity_logits")}
    for k, state in enumerate(outputs.hidden_states + outputs.entity_hidden_states):
        hashes[f"hidden_{k}"] = digest(state)
    for k, probs in enumerate(outputs.attentions):
        hashes[f"attention_{k}"] = digest(probs)
    hashes["input_ids"] = digest(encoding["input_ids"])
    return hashes


def run_python(code: str, seed: str, *args: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, *(["-c", code] if code else []), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def compute_digests() -> dict[str, str]:
    """Load the fixture, encode TEXTS, run the model: the digest of every output."""
    tokenizer = LukeTokenizer.from_pretrained(TINY_LUKE)
    model = LukeForMaskedLM.from_pretrained(TINY_LUKE)
    encoding = tokenizer(TEXTS, entity_spans=SPANS, padding=True, return_tensors="np")
    return output_digests(model, encoding)


@pytest.fixture(scope="module")
def in_process() -> dict[str, str]:
    return compute_digests()


def test_repeated_calls_and_reloads_are_bit_identical(in_process):
    tokenizer = LukeTokenizer.from_pretrained(TINY_LUKE)
    model = LukeForMaskedLM.from_pretrained(TINY_LUKE)
    encoding = tokenizer(TEXTS, entity_spans=SPANS, padding=True, return_tensors="np")
    assert len(in_process) == 2 + 2 * 3 + 2 + 1  # two heads, 2 x (layers + 1), 2 maps, ids
    for _ in range(3):
        assert output_digests(model, encoding) == in_process
    # a different batch in between must leave no state behind
    model(**tokenizer("Something else entirely.", return_tensors="np"))
    assert output_digests(model, encoding) == in_process


def test_two_fresh_processes_with_different_hash_seeds_agree(in_process):
    first = json.loads(run_python(SCRIPT, "1"))
    second = json.loads(run_python(SCRIPT, "2"))
    assert first == second == in_process


def test_fill_cli_json_is_byte_identical_across_runs():
    args = [
        "-m",
        "numpy_luke",
        "fill",
        *TEXTS,
        "[[Lionel Messi]] plays for <mask>.",
        "--model",
        str(TINY_LUKE),
        "--json",
        "--top-k",
        "5",
    ]
    first = run_python("", "1", *args)
    second = run_python("", "2", *args)
    assert first == second
    answers = [json.loads(line) for line in first.splitlines()]
    assert len(answers) == 3 and all(len(a["masks"]) == 5 for a in answers)
    assert len(answers[2]["entities"][0]["predictions"]) == 5

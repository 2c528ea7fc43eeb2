"""``python -m numpy_luke attention``, run as a subprocess on the tiny fixture checkpoint.

The picture (PNG written and readable), the ``--json`` blocks (shapes, rows summing to 1
over words + entities, equal to the model's own attentions), and the one-line errors.
"""

import json
import os
import struct
import subprocess
import sys

import helpers
import numpy as np
import pytest

from numpy_luke import LukeModel, LukeTokenizer

MODEL = helpers.TINY_LUKE  # 2 layers, 4 heads
TEXT = "[[Lionel Messi]] plays for [[Inter Miami CF]]."
PLAIN = "Lionel Messi plays for Inter Miami CF."

# Runs the command with `import matplotlib` failing, as on a machine without the viz extra.
WITHOUT_MATPLOTLIB = """
import runpy, sys
sys.modules["matplotlib"] = None
sys.argv = ["numpy_luke", *sys.argv[1:]]
runpy.run_module("numpy_luke", run_name="__main__")
"""


def run(*args, without_matplotlib=False, cwd=None):
    env = dict(os.environ, NUMPY_LUKE_DEBUG="1")
    start = ["-c", WITHOUT_MATPLOTLIB] if without_matplotlib else ["-m", "numpy_luke"]
    return subprocess.run(
        [sys.executable, *start, "attention", *map(str, args)], capture_output=True,
        text=True, encoding="utf-8", env=env, cwd=cwd or helpers.ROOT, timeout=120,
    )  # fmt: skip


def as_json(*args) -> dict:
    result = run(*args, "--json", "--model", MODEL)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def png_size(path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_png_is_written_and_readable(tmp_path):
    pytest.importorskip("matplotlib", reason="the picture needs the optional viz extra")
    from matplotlib import image

    out = tmp_path / "map.png"
    result = run(TEXT, "--layer", 1, "--model", MODEL, "--output", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"wrote {out} (layer 1, mean of 4 heads; 21 words, 2 entities)"
    )
    width, height = png_size(out)
    assert width > 300 and height > 300
    pixels = image.imread(out)
    assert pixels.shape[:2] == (height, width)
    assert pixels.std() > 0.05, "the picture is blank"


def test_default_output_name(tmp_path):
    pytest.importorskip("matplotlib", reason="the picture needs the optional viz extra")
    result = run(TEXT, "--layer", 0, "--head", 2, "--model", MODEL, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert png_size(tmp_path / "attention-layer0-head2.png")[0] > 300


def test_json_blocks_shapes_and_rows_sum_to_one():
    answer = as_json(TEXT, "--layer", 1, "--head", 3)
    tokens, entities = answer["tokens"], answer["entities"]
    W, E = len(tokens), len(entities)
    assert answer["text"] == PLAIN and answer["layer"] == 1 and answer["head"] == 3
    assert answer["heads"] == 4
    assert [(e["mention"], e["start"], e["end"], e["entity"]) for e in entities] == [
        ("Lionel Messi", 0, 12, "[MASK]"),
        ("Inter Miami CF", 23, 37, "[MASK]"),
    ]
    blocks = {name: np.array(answer[name]) for name in ("w2w", "w2e", "e2w", "e2e")}
    assert blocks["w2w"].shape == (W, W) and blocks["w2e"].shape == (W, E)
    assert blocks["e2w"].shape == (E, W) and blocks["e2e"].shape == (E, E)
    # One softmax per row over all n = W + E keys: a row is split across two blocks.
    word_rows = blocks["w2w"].sum(axis=1) + blocks["w2e"].sum(axis=1)
    entity_rows = blocks["e2w"].sum(axis=1) + blocks["e2e"].sum(axis=1)
    assert np.allclose(word_rows, 1, atol=1e-5) and np.allclose(entity_rows, 1, atol=1e-5)
    assert blocks["w2w"].sum(axis=1).max() < 1  # the entity columns take a share
    assert all((b >= 0).all() for b in blocks.values())


def test_json_is_the_models_own_attention():
    tokenizer = LukeTokenizer.from_pretrained(MODEL)
    model = LukeModel.from_pretrained(MODEL)
    encoding = tokenizer(PLAIN, entity_spans=[(0, 12), (23, 37)], return_tensors="np")
    probs = model(**encoding, output_attentions=True).attentions[0][0]  # (heads, n, n)
    W = encoding["input_ids"].shape[1]
    one_head = as_json(TEXT, "--layer", 0, "--head", 1)
    mean = as_json(PLAIN, "--entity-span", "0:12", "--entity-span", "23:37", "--layer", 0)
    assert mean["head"] is None
    assert one_head["tokens"] == tokenizer.convert_ids_to_tokens(encoding["input_ids"][0])
    full = np.block(
        [
            [np.array(one_head["w2w"]), np.array(one_head["w2e"])],
            [np.array(one_head["e2w"]), np.array(one_head["e2e"])],
        ]
    )
    assert np.abs(full - probs[1]).max() < 1e-6
    assert np.abs(np.array(mean["e2w"]) - probs.mean(axis=0)[W:, :W]).max() < 1e-6


@pytest.mark.parametrize(
    "args, status, message",
    [
        (["Messi plays.", "--layer", 0], 1, "no entity"),
        ([TEXT, "--layer", 2], 1, "--layer 2 is out of range: the model has 2 layers, 0 to 1"),
        ([TEXT, "--layer", -1], 1, "--layer -1 is out of range"),
        ([TEXT, "--layer", 0, "--head", 4], 1, "--head 4 is out of range: the model has 4 heads"),
        (["Messi plays.", "--entity-span", "0:50", "--layer", 0], 1, "outside the text"),
        (["Messi plays.", "--entity-span", "zero:5", "--layer", 0], 1, "malformed span"),
        ([TEXT, "--entity-span", "0:5", "--layer", 0], 1, "use one or the other"),
        ([TEXT, "[[Paris]] is nice.", "--layer", 0], 1, "reads one text, got 2"),
        ([TEXT, "--layer", 0, "--output", "map.jpg"], 1, "name the file *.png"),
        ([TEXT], 2, "the following arguments are required: --layer"),
        ([TEXT, "--layer", "first"], 2, "invalid int value"),
    ],
)
def test_errors_are_one_line(args, status, message):
    result = run(*args, "--json", "--model", MODEL)
    assert result.returncode == status, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("numpy_luke attention: error: ")
    assert message in lines[0]


def test_without_matplotlib_the_png_says_which_extra(tmp_path):
    result = run(
        TEXT,
        "--layer",
        0,
        "--model",
        MODEL,
        "--output",
        tmp_path / "x.png",
        without_matplotlib=True,
    )
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "pip install 'numpy_luke[viz]'" in lines[0], result.stderr
    assert not (tmp_path / "x.png").exists()
    # --json alone needs no matplotlib.
    result = run(TEXT, "--layer", 0, "--json", "--model", MODEL, without_matplotlib=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["layer"] == 0

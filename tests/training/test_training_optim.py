"""numpy_luke.training's AdamW, learning-rate schedule and clipping (issue 22), without torch:
the update written out for one scalar, step by step, from the AdamW paper's algorithm.
tests/oracle/test_parity_backward.py compares five steps with torch.optim.AdamW."""

from __future__ import annotations

import math

import numpy as np
from test_backward import batch_inputs, float64_model, tiny_config

from numpy_luke import LukeForEntityClassification
from numpy_luke.training import AdamW, clip_by_global_norm, linear_warmup_decay


def test_adamw_follows_the_algorithm_entry_by_entry():
    config = tiny_config()
    model = float64_model(LukeForEntityClassification, config)
    inputs = batch_inputs(np.random.default_rng(0), config)
    lr, (b1, b2), eps, wd = 0.01, (0.8, 0.95), 1e-6, 0.1
    optimizer = AdamW(model, lr, betas=(b1, b2), eps=eps, weight_decay=wd, no_decay=("bias",))
    p0 = model.params["classifier.weight"][1, 2].item()
    b0 = model.params["classifier.bias"][1].item()
    pooler = model.params["pooler.dense.weight"].copy()
    p, b, m, v, mb, vb = p0, b0, 0.0, 0.0, 0.0, 0.0
    for t in (1, 2, 3):
        _, grads = model.loss_and_gradients(**inputs, labels=np.array([0, 2]))
        g, gb = grads["classifier.weight"][1, 2], grads["classifier.bias"][1]
        optimizer.step(grads)
        p *= 1 - lr * wd  # decoupled decay first
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        p -= lr * (m / (1 - b1**t)) / (math.sqrt(v / (1 - b2**t)) + eps)
        mb, vb = b1 * mb + (1 - b1) * gb, b2 * vb + (1 - b2) * gb * gb
        b -= lr * (mb / (1 - b1**t)) / (math.sqrt(vb / (1 - b2**t)) + eps)  # no decay
        assert math.isclose(model.params["classifier.weight"][1, 2], p, rel_tol=1e-12)
        assert math.isclose(model.params["classifier.bias"][1], b, rel_tol=1e-12)
    # the pooler has no gradient in an entity head: neither decayed nor moved
    np.testing.assert_array_equal(model.params["pooler.dense.weight"], pooler)
    assert p != p0 and b != b0


def test_adamw_updates_a_tied_table_once_and_read_only_arrays_are_copied():
    config = tiny_config()
    from numpy_luke import LukeForMaskedLM

    model = float64_model(LukeForMaskedLM, config)
    table = model.params["embeddings.word_embeddings.weight"]
    table.flags.writeable = False  # as a memory-mapped checkpoint tensor is
    optimizer = AdamW(model, 1e-3)
    _, grads = model.loss_and_gradients(
        **batch_inputs(np.random.default_rng(1), config), labels=np.full((2, 6), 7)
    )
    optimizer.step(grads)
    new = model.params["embeddings.word_embeddings.weight"]
    assert new is not table and new is model.params["lm_head.decoder.weight"]
    assert not np.array_equal(new, table)


def test_linear_warmup_then_decay():
    factors = [linear_warmup_decay(s, 2, 6) for s in range(8)]
    assert factors == [0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]


def test_clip_by_global_norm():
    a, b = np.array([3.0, 0.0]), np.array([[4.0]])
    grads = {"a": a, "b": b}
    clipped, norm = clip_by_global_norm(grads, 1.0)
    assert norm == 5.0
    np.testing.assert_allclose(clipped["a"], [3 / (5 + 1e-6), 0])
    np.testing.assert_allclose(clipped["b"], [[4 / (5 + 1e-6)]])
    # in place, as torch's clip_grad_norm_ scales .grad: the caller's arrays are scaled
    assert clipped["a"] is a and clipped["b"] is b
    before = b.copy()
    same, norm = clip_by_global_norm(grads, 10.0)  # below the bound: nothing changes
    assert same["b"] is b and np.array_equal(b, before) and norm < 1.0 + 1e-6

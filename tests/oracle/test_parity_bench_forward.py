"""benchmarks/bench_forward.py builds both libraries' models from one state dict under
transformers 4.57 and 5.x (issue 20, section 5): 5.x leaves LUKE's decoders untied, which
stopped the benchmark with "transformers model not fully loaded"; the benchmark ties them
by hand, as 4.57 does, and both libraries then compute the same function."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from helpers import ROOT

pytestmark = pytest.mark.parity
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_forward  # noqa: E402

from numpy_luke.config import LukeConfig  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    config = LukeConfig(**bench_forward.TINY)
    return config, bench_forward.random_state_dict(config)


def same_logits(np_mlm, torch_mlm, config):
    inputs = bench_forward.random_inputs(config, 2, 16, 3)
    with torch.inference_mode():
        theirs = torch_mlm(**{k: torch.from_numpy(v) for k, v in inputs.items()})
    ours = np_mlm(**inputs)
    for field in ("logits", "entity_logits"):
        np.testing.assert_allclose(
            getattr(ours, field), getattr(theirs, field).numpy(), atol=1e-4, rtol=0
        )


def test_models_of_this_transformers_version(tiny):
    config, state = tiny
    np_model, np_mlm, torch_model, torch_mlm = bench_forward.build_models(state, config)
    if int(transformers.__version__.split(".")[0]) < 5:
        assert torch_mlm.tied_by_hand == []  # 4.57 ties them itself
    same_logits(np_mlm, torch_mlm, config)


def test_untied_decoders_as_5x_leaves_them_are_tied_by_hand(tiny):
    """What 5.x's loading leaves: the three decoder tensors still on the meta device."""
    config, state = tiny
    values = {k: v for k, v in config.to_dict().items() if k in bench_forward.LUKE_BASE}
    with torch.device("meta"):
        torch_mlm = transformers.LukeForMaskedLM(transformers.LukeConfig(**values))
    torch_mlm.load_state_dict(
        {k: torch.from_numpy(v) for k, v in state.items()}, strict=False, assign=True
    )
    assert torch_mlm.lm_head.decoder.weight.is_meta  # no tie_weights: as under 5.x
    assert bench_forward.tie_by_hand(torch_mlm) == list(bench_forward.TORCH_TIES)
    assert torch_mlm.lm_head.decoder.weight is torch_mlm.luke.embeddings.word_embeddings.weight
    np_mlm = bench_forward.LukeForMaskedLM.from_state_dict(state, config)
    same_logits(np_mlm, torch_mlm.eval(), config)

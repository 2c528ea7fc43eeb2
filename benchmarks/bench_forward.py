"""Forward-pass speed: numpy_luke against transformers' PyTorch LUKE, same weights, same CPU.

What is measured (issue 7):

* ``LukeModel`` forward on batches of 1 x 128 words + 8 entities, 8 x 128 + 8, 1 x 480 + 32;
* ``LukeForMaskedLM`` (word head over 50,267 tokens, entity head over 500,000 entities) on
  1 x 128 + 8;
* the machine's float32 matrix-multiply rate (``np.matmul`` on 2048 x 2048 matrices), and
  each forward's share of it: achieved FLOP/s / that rate, with the FLOPs counted
  analytically (2 m n k for every matrix product; elementwise work is not counted).

Method. One random state dict with luke-base shapes is built in NumPy (float32) and given
to both libraries: numpy_luke through ``from_state_dict``, transformers through
``load_state_dict(assign=True)`` on ``torch.from_numpy`` views, so both read the very same
bytes. Same inputs, same thread count for PyTorch and OpenBLAS, transformers in eval mode
under ``torch.inference_mode()``. After warm-up runs, the two libraries alternate run by
run, so background load hits both alike; the table reports medians.

    python benchmarks/bench_forward.py --threads 2            # the table
    python benchmarks/bench_forward.py --threads 2 --profile  # + where numpy_luke's time goes
    python benchmarks/bench_forward.py --config tiny --budget 1   # a seconds-long smoke run

The table compares against the transformers of this environment (4.57, the oracle) and,
when ``--venv5`` names the python of an environment with transformers 5.x (default
/work/venv5/bin/python, if it exists), runs itself there too and adds those rows, labelled
with that version: users install 5.x today. transformers 5.x does not tie LUKE's word
decoder to the word embeddings (5.25: ``lm_head.decoder.weight`` is reported missing and
left as it was initialised, and its ``tie_weights`` points ``lm_head.bias`` at the decoder's
bias); under 5.x the benchmark ties the three decoder tensors by hand, as 4.57 ties them,
so that both libraries compute the same function, and says so in the rows' notes.

``run_all.py`` runs this together with the other benchmarks.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from numpy_luke.config import LukeConfig  # noqa: E402
from numpy_luke.modeling import LukeForMaskedLM, LukeModel  # noqa: E402
from numpy_luke.state_dict import encoder_shapes  # noqa: E402

# luke-base's config.json (studio-ousia/luke-base)
LUKE_BASE = dict(
    vocab_size=50267,
    entity_vocab_size=500000,
    hidden_size=768,
    entity_emb_size=256,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    hidden_act="gelu",
    max_position_embeddings=514,
    type_vocab_size=1,
    layer_norm_eps=1e-5,
    use_entity_aware_attention=True,
    pad_token_id=1,
    bos_token_id=0,
    eos_token_id=2,
)

# A tiny config for smoke runs of the benchmark's code path (not for the tables).
TINY = dict(
    LUKE_BASE,
    vocab_size=1000,
    entity_vocab_size=1000,
    hidden_size=64,
    entity_emb_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=128,
)
CONFIGS = {"luke-base": LUKE_BASE, "tiny": TINY}

# transformers' tied tensors in LukeForMaskedLM: name -> the parameter it is (as 4.57 ties
# them; 5.x leaves lm_head.decoder.weight out of its ties)
TORCH_TIES = {
    "lm_head.decoder.weight": "luke.embeddings.word_embeddings.weight",
    "lm_head.decoder.bias": "lm_head.bias",
    "entity_predictions.decoder.weight": "luke.entity_embeddings.entity_embeddings.weight",
}

# (name, batch, words, entities)
FORWARD_SHAPES = [
    ("LukeModel 1x128+8", 1, 128, 8),
    ("LukeModel 8x128+8", 8, 128, 8),
    ("LukeModel 1x480+32", 1, 480, 32),
]
MLM_SHAPE = ("LukeForMaskedLM 1x128+8", 1, 128, 8)
MAX_MENTION_LENGTH = 30


# ---------------------------------------------------------------------------- environment


def clean_blas_environment() -> None:
    """Re-run this process without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, if they are set.

    They force an OpenBLAS kernel or cache size and can slow NumPy down. Both are unset
    together, for the benchmark process only (tests and CI keep them), and the removed
    values are recorded in NUMPY_LUKE_BENCH_UNSET so the report can say so.
    """
    forced = {
        k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ
    }
    if not forced:
        return
    env = {k: v for k, v in os.environ.items() if k not in forced}
    env["NUMPY_LUKE_BENCH_UNSET"] = ", ".join(f"{k}={v}" for k, v in forced.items())
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


def set_threads(threads: int):
    """Same thread count for PyTorch (intra-op) and NumPy's BLAS; returns the BLAS limiter.

    Without threadpoolctl, OpenBLAS can only be told through OPENBLAS_NUM_THREADS before it
    loads: the process then re-runs itself with that variable set.
    """
    import torch

    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        if os.environ.get("OPENBLAS_NUM_THREADS") != str(threads):
            env = {
                **os.environ,
                "OPENBLAS_NUM_THREADS": str(threads),
                "OMP_NUM_THREADS": str(threads),
            }
            os.execve(sys.executable, [sys.executable, *sys.argv], env)
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


def machine_description() -> dict:
    """CPU, core count, library versions, and which BLAS kernel NumPy runs."""
    import platform

    import torch
    import transformers

    cpu = platform.processor()
    try:  # lscpu's model name, family/model, cores and caches
        info = dict(
            line.split(":", 1)
            for line in subprocess.run(
                ["lscpu"], capture_output=True, text=True, check=True
            ).stdout.splitlines()
            if ":" in line
        )
        info = {k.strip(): v.strip() for k, v in info.items()}
        cpu = (
            f"{info.get('Model name')} (family {info.get('CPU family')}, model "
            f"{info.get('Model')}), {info.get('Core(s) per socket')} cores x "
            f"{info.get('Thread(s) per core')} thread, L1d {info.get('L1d cache')}, "
            f"L2 {info.get('L2 cache')}, L3 {info.get('L3 cache')}, "
            f"{'AVX-512' if 'avx512f' in info.get('Flags', '') else 'no AVX-512'}, "
            f"{info.get('Hypervisor vendor', 'no')} hypervisor"
        )
    except (OSError, subprocess.CalledProcessError, ValueError):
        pass
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        blas = [
            f"(install threadpoolctl to see it; OPENBLAS_NUM_THREADS="
            f"{os.environ.get('OPENBLAS_NUM_THREADS')})"
        ]
    else:
        blas = [
            f"{i.get('internal_api')} {i.get('version')} (kernel {i.get('architecture')}, "
            f"{i.get('num_threads')} threads)"
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        ]
    return {
        "cpu": cpu,
        "logical cpus": os.cpu_count(),
        "memory": f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy blas": "; ".join(blas) or "unknown",
        "torch": torch.__version__,
        "torch blas": "MKL" if torch.backends.mkl.is_available() else "other",
        "transformers": transformers.__version__,
        "unset for this run": os.environ.get("NUMPY_LUKE_BENCH_UNSET", "nothing"),
    }


# ---------------------------------------------------------------------------- weights, inputs


def random_state_dict(config: LukeConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """Random float32 weights with luke-base shapes, keyed as LukeForMaskedLM's checkpoint.

    The tied decoders (``lm_head.decoder.weight``, ``entity_predictions.decoder.weight``)
    are left out: both libraries tie them to the embedding tables.
    """
    rng = np.random.default_rng(seed)
    shapes = {f"luke.{k}": v for k, v in encoder_shapes(config).items()}
    shapes.update(LukeForMaskedLM.head_shapes(config))
    tied = ("lm_head.decoder.weight", "lm_head.decoder.bias", "entity_predictions.decoder.weight")
    state = {}
    for name, shape in shapes.items():
        if name in tied:
            continue
        values = rng.standard_normal(shape, dtype=np.float32)
        if name.endswith(("LayerNorm.weight", "layer_norm.weight")):
            values = 1 + 0.1 * values
        elif len(shape) == 1:
            values *= 0.02
        else:
            values *= 0.02 if "embeddings" in name else 1 / np.sqrt(shape[-1])
        state[name] = values
    return state


def build_models(state: dict[str, np.ndarray], config: LukeConfig):
    """(numpy LukeModel, numpy LukeForMaskedLM, torch LukeModel, torch LukeForMaskedLM)."""
    import torch
    import transformers

    np_model = LukeModel.from_state_dict(state, config)
    np_mlm = LukeForMaskedLM.from_state_dict(state, config)

    values = {k: v for k, v in config.to_dict().items() if k in LUKE_BASE}
    with torch.device("meta"):  # no random init: every tensor comes from `state`
        torch_mlm = transformers.LukeForMaskedLM(transformers.LukeConfig(**values))
    missing, unexpected = torch_mlm.load_state_dict(
        {k: torch.from_numpy(v) for k, v in state.items()}, strict=False, assign=True
    )
    if int(transformers.__version__.split(".")[0]) < 5:
        torch_mlm.tie_weights()  # 5.x's would tie lm_head.bias to the unloaded decoder bias
    torch_mlm.tied_by_hand = tie_by_hand(torch_mlm)
    still_meta = [n for n, p in torch_mlm.named_parameters() if p.is_meta]
    still_meta += [n for n, b in torch_mlm.named_buffers() if b.is_meta]
    if unexpected or still_meta:
        raise RuntimeError(f"transformers model not fully loaded: {unexpected} {still_meta}")
    torch_mlm.eval()
    return np_model, np_mlm, torch_mlm.luke, torch_mlm


def tie_by_hand(torch_mlm) -> list[str]:
    """Tie the decoder tensors still on the meta device (all three under 5.x, whose
    ``tie_weights`` is not called; none under 4.57) to the parameters 4.57 ties them to;
    returns their names. Tied, both libraries compute the same function."""
    tied = []
    for target, source in TORCH_TIES.items():
        module_name, attribute = target.rsplit(".", 1)
        module = torch_mlm.get_submodule(module_name)
        current = getattr(module, attribute, None)
        if current is not None and current.is_meta:
            setattr(module, attribute, torch_mlm.get_parameter(source))
            tied.append(target)
    return tied


def random_inputs(config: LukeConfig, batch: int, words: int, entities: int, seed: int = 0):
    """Token ids without padding, and entities whose mentions are 1-3 word tokens long."""
    rng = np.random.default_rng(seed)
    input_ids = rng.integers(3, config.vocab_size, size=(batch, words))
    input_ids[:, 0], input_ids[:, -1] = config.bos_token_id, config.eos_token_id
    entity_ids = rng.integers(1, config.entity_vocab_size, size=(batch, entities))
    positions = np.full((batch, entities, MAX_MENTION_LENGTH), -1, dtype=np.int64)
    for b in range(batch):
        for e in range(entities):
            length = rng.integers(1, 4)
            start = rng.integers(1, words - 1 - length)
            positions[b, e, :length] = np.arange(start, start + length)
    return dict(
        input_ids=input_ids,
        attention_mask=np.ones((batch, words), dtype=np.int64),
        entity_ids=entity_ids,
        entity_attention_mask=np.ones((batch, entities), dtype=np.int64),
        entity_position_ids=positions,
    )


# ---------------------------------------------------------------------------- FLOPs


def forward_flops(c: LukeConfig, batch: int, words: int, entities: int) -> int:
    """Multiply-add FLOPs (2 m n k per matrix product) of one LukeModel forward."""
    h, n = c.hidden_size, words + entities
    rows = batch * n
    flops = 2 * batch * entities * c.entity_emb_size * h  # entity_embedding_dense
    per_layer = (
        2 * 2 * rows * h * h  # key, value
        + 2 * 2 * rows * h * h  # queries: two per token (w2w + w2e, or e2w + e2e)
        + 2 * 2 * batch * n * n * h  # scores (q k^T) and probs @ values, all heads
        + 2 * rows * h * h  # attention output dense
        + 2 * 2 * rows * h * c.intermediate_size  # feed-forward in and out
    )
    flops += c.num_hidden_layers * per_layer
    flops += 2 * batch * h * h  # pooler
    return flops


def mlm_flops(c: LukeConfig, batch: int, words: int, entities: int) -> int:
    """FLOPs of LukeForMaskedLM: encoder + word head + entity head."""
    h, e = c.hidden_size, c.entity_emb_size
    return (
        forward_flops(c, batch, words, entities)
        + 2 * batch * words * h * (h + c.vocab_size)
        + 2 * batch * entities * e * (h + c.entity_vocab_size)
    )


def matmul_rate(runs: int = 7, size: int = 2048) -> dict:
    """Median float32 GFLOP/s of one (size x size) @ (size x size) product, NumPy and torch."""
    import torch

    rng = np.random.default_rng(1)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    flops = 2 * size**3
    with torch.inference_mode():
        times = alternate({"numpy": lambda: a @ b, "torch": lambda: ta @ tb}, warmup=2, runs=runs)
    return {k: flops / statistics.median(v) / 1e9 for k, v in times.items()}


# ---------------------------------------------------------------------------- timing


def alternate(fns: dict, warmup: int, runs: int) -> dict[str, list[float]]:
    """Run every function ``warmup`` times, then ``runs`` rounds of each in turn; times in s."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def runs_for(estimate_s: float, budget_s: float, low: int = 3, high: int = 15) -> int:
    """How many alternating rounds fit in ``budget_s`` given one round's estimated time."""
    return int(max(low, min(high, budget_s // max(estimate_s, 1e-9))))


def bench(config, models, budget_s: float = 25.0, warmup: int = 2, max_runs: int = 15):
    """Time every shape; returns rows with medians, ratio, GFLOP/s, and a max |difference|."""
    import torch

    np_model, np_mlm, torch_model, torch_mlm = models
    cases = [
        (name, b, w, e, np_model, torch_model, forward_flops) for name, b, w, e in FORWARD_SHAPES
    ]
    cases.append((*MLM_SHAPE, np_mlm, torch_mlm, mlm_flops))
    rows = []
    for name, batch, words, entities, np_fn, torch_fn, count in cases:
        inputs = random_inputs(config, batch, words, entities)
        torch_inputs = {k: torch.from_numpy(v) for k, v in inputs.items()}

        def run_numpy(np_fn=np_fn, inputs=inputs):
            return np_fn(**inputs)

        def run_torch(torch_fn=torch_fn, torch_inputs=torch_inputs):
            with torch.inference_mode():
                return torch_fn(**torch_inputs)

        # Same numbers? (a benchmark of two different computations would mean nothing)
        ours, theirs = run_numpy(), run_torch()
        fields = (
            ("logits", "entity_logits")
            if np_fn is np_mlm
            else ("last_hidden_state", "entity_last_hidden_state")
        )
        diff = max(
            float(np.abs(getattr(ours, f) - getattr(theirs, f).numpy()).max()) for f in fields
        )

        start = time.perf_counter()
        run_numpy(), run_torch()
        runs = runs_for(time.perf_counter() - start, budget_s, high=max_runs)
        times = alternate(
            {"numpy_luke": run_numpy, "transformers": run_torch},
            warmup=max(warmup - 1, 0),
            runs=runs,
        )
        ours_s, theirs_s = (statistics.median(times[k]) for k in ("numpy_luke", "transformers"))
        flops = count(config, batch, words, entities)
        rows.append(
            dict(
                what=name,
                unit="s",
                numpy_luke=ours_s,
                transformers=theirs_s,
                better="lower",
                runs=runs,
                gflop=flops / 1e9,
                numpy_luke_gflops=flops / ours_s / 1e9,
                transformers_gflops=flops / theirs_s / 1e9,
                max_abs_diff=diff,
                note=f"median of {runs}; max abs diff {diff:.1e}",
            )
        )
        print(
            f"  {name}: numpy_luke {ours_s * 1e3:.0f} ms, transformers "
            f"{theirs_s * 1e3:.0f} ms ({runs} runs)",
            file=sys.stderr,
            flush=True,
        )
    return rows


# ---------------------------------------------------------------------------- profile


# numpy_luke functions timed by the stage profile -> the stage their own time counts to
NUMPY_STAGES = {
    "linear": "products with weight matrices (linear)",
    "entity_aware_self_attention": "attention: q k^T and p v products, head reshapes",
    "softmax_": "softmax",
    "gelu_": "GELU (erf)",
    "layer_norm": "layer norm",
    "word_embeddings": "embeddings (lookups, mention averaging)",
    "entity_embeddings": "embeddings (lookups, mention averaging)",
    "encoder_layer": "residual adds, concatenations",
    "luke_model": "other (input checks, mask, pooler, outputs)",
}
# transformers' aten ops -> the same stages (self CPU time; the rest is "other")
TORCH_STAGES = {
    "aten::addmm": NUMPY_STAGES["linear"],
    "aten::mm": NUMPY_STAGES["linear"],
    "aten::bmm": NUMPY_STAGES["entity_aware_self_attention"],
    "aten::_softmax": "softmax",
    "aten::gelu": "GELU (erf)",
    "aten::native_layer_norm": "layer norm",
    "aten::embedding": NUMPY_STAGES["word_embeddings"],
    "aten::index_select": NUMPY_STAGES["word_embeddings"],
    "aten::cat": NUMPY_STAGES["encoder_layer"],
    "aten::add": NUMPY_STAGES["encoder_layer"],
}


def stage_profile_numpy(model, inputs, runs: int) -> dict[str, float]:
    """Seconds per forward spent in each stage, from exclusive timers around numpy_luke's
    functions (a function's own time: its time minus that of the timed functions it calls).

    The timers are installed by replacing the functions in numpy_luke's modules for the
    duration of the profile; the library itself carries no timing code.
    """
    import numpy_luke.core.attention
    import numpy_luke.core.embeddings
    import numpy_luke.core.encoder
    import numpy_luke.core.fast
    import numpy_luke.core.heads
    import numpy_luke.modeling

    # the layers call the primitives as fast.linear, fast.gelu_, ...: timers installed on
    # the module are the ones called
    modules = [
        numpy_luke.core.fast,
        numpy_luke.core.attention,
        numpy_luke.core.embeddings,
        numpy_luke.core.encoder,
        numpy_luke.core.heads,
        numpy_luke.modeling,
    ]
    own = dict.fromkeys(NUMPY_STAGES.values(), 0.0)
    stack = [0.0]  # time spent in timed callees of each active timed call

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            stack.append(0.0)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                callees = stack.pop()
                own[NUMPY_STAGES[name]] += elapsed - callees
                stack[-1] += elapsed

        return wrapper

    originals = [(m, n, getattr(m, n)) for m in modules for n in NUMPY_STAGES if hasattr(m, n)]
    try:
        for module, name, fn in originals:
            setattr(module, name, timed(name, fn))
        start = time.perf_counter()
        for _ in range(runs):
            model(**inputs)
        total = time.perf_counter() - start
    finally:
        for module, name, fn in originals:
            setattr(module, name, fn)
    own[NUMPY_STAGES["luke_model"]] += total - stack[0]  # outside luke_model: input checks
    return {stage: seconds / runs for stage, seconds in own.items()}


def stage_profile_torch(model, inputs, runs: int) -> dict[str, float]:
    """Seconds per forward in each stage for transformers, from torch.profiler self times."""
    import torch

    with torch.inference_mode():
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            start = time.perf_counter()
            for _ in range(runs):
                model(**inputs)
            total = time.perf_counter() - start
    stages = dict.fromkeys(NUMPY_STAGES.values(), 0.0)
    for event in prof.key_averages():
        stage = TORCH_STAGES.get(event.key)
        if stage:
            stages[stage] += event.self_cpu_time_total / 1e6
    stages[NUMPY_STAGES["luke_model"]] += total - sum(stages.values())
    return {stage: seconds / runs for stage, seconds in stages.items()}


def profile(config, models, shapes=FORWARD_SHAPES, runs: int = 2) -> str:
    """Where the time of each LukeModel forward goes, stage by stage, in both libraries.

    numpy_luke: exclusive timers per function; transformers: torch.profiler self time per
    aten op, grouped into the same stages (the profiler's own overhead lands in "other").
    """
    import torch

    np_model, torch_model = models[0], models[2]
    lines = []
    for name, batch, words, entities in shapes:
        inputs = random_inputs(config, batch, words, entities)
        torch_inputs = {k: torch.from_numpy(v) for k, v in inputs.items()}
        np_model(**inputs)
        ours = stage_profile_numpy(np_model, inputs, runs)
        theirs = stage_profile_torch(torch_model, torch_inputs, runs)
        total_ours, total_theirs = sum(ours.values()), sum(theirs.values())
        lines += [
            f"{name} ({runs} profiled runs each; totals include timer overhead)",
            "",
            "| stage | numpy_luke ms | share | transformers ms | share |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for stage in ours:
            lines.append(
                f"| {stage} | {ours[stage] * 1e3:.1f} | {ours[stage] / total_ours:.0%} "
                f"| {theirs[stage] * 1e3:.1f} | {theirs[stage] / total_theirs:.0%} |"
            )
        lines += [f"| total | {total_ours * 1e3:.0f} | | {total_theirs * 1e3:.0f} | |", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- report


def format_table(rows: list[dict], rate: dict | None = None) -> str:
    """Markdown table of medians and ratios (numpy_luke / transformers)."""
    lines = [
        "| benchmark | numpy_luke | transformers | ratio | notes |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        unit = r.get("unit", "")
        ours, theirs = r.get("numpy_luke"), r.get("transformers")

        def show(v, unit=unit):
            if v is None:
                return "-"
            if unit == "s":
                return f"{v * 1e3:.0f} ms" if v < 10 else f"{v:.1f} s"
            return f"{v:,.0f} {unit}" if v >= 100 else f"{v:,.3g} {unit}"

        ratio = "-"
        if ours and theirs:
            ratio = f"{ours / theirs:.2f}x"
        note = r.get("note", "")
        if r.get("better") == "higher":
            note = "higher is better; " + note
        if rate and "numpy_luke_gflops" in r:
            note += (
                f"; {r['gflop']:.1f} GFLOP: {r['numpy_luke_gflops']:.1f} / "
                f"{r['transformers_gflops']:.1f} GFLOP/s = "
                f"{r['numpy_luke_gflops'] / rate['numpy']:.0%} / "
                f"{r['transformers_gflops'] / rate['numpy']:.0%} of matmul rate"
            )
        lines.append(f"| {r['what']} | {show(ours)} | {show(theirs)} | {ratio} | {note} |")
    return "\n".join(lines)


def forward_benchmark(
    threads: int, budget_s: float, do_profile: bool = False, config_name: str = "luke-base"
) -> dict:
    """Everything this file measures, as a dict (rows, matmul rate, machine, profile)."""
    import transformers

    limiter = set_threads(threads)
    load_at_start = os.getloadavg()
    config = LukeConfig(**CONFIGS[config_name])
    print(f"building random {config_name} weights ...", file=sys.stderr, flush=True)
    state = random_state_dict(config)
    models = build_models(state, config)
    version = f"transformers {transformers.__version__}"
    if models[3].tied_by_hand:
        version += f" (tied by hand: {', '.join(models[3].tied_by_hand)})"
    print("matmul rate ...", file=sys.stderr, flush=True)
    rate = matmul_rate()
    rows = [
        dict(
            what="float32 matmul 2048^3",
            unit="GFLOP/s",
            numpy_luke=rate["numpy"],
            transformers=rate["torch"],
            better="higher",
            note="np.matmul vs torch.matmul, median of 7; the 'matmul rate' below",
        )
    ]
    for row in bench(config, models, budget_s=budget_s):
        row["note"] = f"{version}; {row['note']}"
        rows.append(row)
    machine = machine_description()
    machine["load average (1, 5, 15 min) at start, end"] = "; ".join(
        " ".join(f"{x:.1f}" for x in load) for load in (load_at_start, os.getloadavg())
    )
    result = dict(
        threads=threads,
        machine=machine,
        matmul_rate=rate,
        rows=rows,
        config=config_name,
        transformers=transformers.__version__,
        tied_by_hand=models[3].tied_by_hand,
    )
    if do_profile:
        result["profile"] = profile(config, models)
    if hasattr(limiter, "restore_original_limits"):
        limiter.restore_original_limits()
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="threads for both (default 2)")
    parser.add_argument(
        "--budget",
        type=float,
        default=25.0,
        help="seconds of timed runs per shape, both libraries (default 25)",
    )
    parser.add_argument("--profile", action="store_true", help="add numpy_luke's profile")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--config",
        choices=CONFIGS,
        default="luke-base",
        help="model sizes: luke-base (the tables) or tiny (a smoke run)",
    )
    parser.add_argument(
        "--venv5",
        default="/work/venv5/bin/python",
        help="python of an environment with transformers 5.x: its rows are "
        "added when it exists ('' to skip)",
    )
    args = parser.parse_args(argv)
    clean_blas_environment()
    result = forward_benchmark(args.threads, args.budget, args.profile, args.config)
    add_other_venv_rows(result, args.venv5, args.threads, args.budget, args.config)
    print(f"threads: {args.threads}")
    for key, value in result["machine"].items():
        print(f"{key}: {value}")
    print()
    print(format_table(result["rows"], result["matmul_rate"]))
    if "profile" in result:
        print()
        print(result["profile"])
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


def add_other_venv_rows(
    result: dict, python: str, threads: int, budget_s: float, config_name: str = "luke-base"
) -> None:
    """Add to ``result`` the forward rows of this benchmark run under ``python`` (an
    environment with transformers 5.x), labelled with its version; nothing when there is
    no such python ('' or absent: said on stderr) or the run fails."""
    other = run_in_other_venv(python, threads, budget_s, config_name) if python else None
    if other is not None:
        for row in other["rows"]:
            if "numpy_luke_gflops" in row:  # the forwards (the matmul rate is this one's)
                result["rows"].append(dict(row, what=f"{row['what']} vs {other['transformers']}"))
        result["transformers 5.x"] = {k: other[k] for k in ("transformers", "tied_by_hand")}
    elif python and not Path(python).exists():
        print(f"no transformers 5.x environment at {python}: 5.x not timed", file=sys.stderr)


def run_in_other_venv(python: str, threads: int, budget_s: float, config_name: str) -> dict | None:
    """This benchmark run by another environment's python (transformers 5.x): its result,
    or None when that python does not exist or the run fails (the reason is printed)."""
    import tempfile

    if not Path(python).exists():
        return None
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.json"
        command = [
            python,
            __file__,
            "--threads",
            str(threads),
            "--budget",
            str(budget_s),
            "--config",
            config_name,
            "--venv5",
            "",
            "--json",
            str(out),
        ]
        print(f"running under {python} ...", file=sys.stderr, flush=True)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not out.exists():
            print(f"the run under {python} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
            return None
        return json.loads(out.read_text())


if __name__ == "__main__":
    main()

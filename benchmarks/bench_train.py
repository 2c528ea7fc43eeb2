"""One training step: numpy_luke's hand-derived backward against PyTorch autograd (issue 22).

A step is forward, backward, clipping by global norm and one AdamW update, of
``LukeForEntityClassification`` at luke-base size (12 layers, hidden 768, 50,265 words,
``--entity-vocab-size`` entities of 256 dimensions), dropout off in both, float32, on
batches of 1 x 128 words + 8 entities and 8 x 128 + 8. Both libraries load the same
checkpoint folder (written once by numpy_luke's ``save_pretrained``). Each (library, shape)
runs in its own process, so the peak resident memory (VmHWM: loading included, the
same for both) belongs to it alone; the time is the median of ``--repeats`` steps after one
warm-up step.

    python benchmarks/bench_train.py --threads 2
    python benchmarks/bench_train.py --config tiny        # a seconds-long smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONFIGS = {
    "base": dict(
        vocab_size=50265,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        entity_emb_size=256,
    ),
    "tiny": dict(
        vocab_size=500,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        entity_emb_size=16,
    ),
}


def inputs(shape: str):
    """'8x128+8' -> (batch, words, entities) random inputs and labels."""
    batch, rest = shape.split("x")
    words, entities = (int(x) for x in rest.split("+"))
    batch = int(batch)
    rng = np.random.default_rng(0)
    positions = np.full((batch, entities, 30), -1)
    positions[:, :, :3] = np.arange(1, 4)
    return dict(
        input_ids=rng.integers(3, 400, (batch, words)),
        entity_ids=rng.integers(1, 400, (batch, entities)),
        entity_position_ids=positions,
    ), rng.integers(0, 9, batch)


def numpy_step(folder: str, shape: str, repeats: int) -> list[float]:
    from numpy_luke import LukeForEntityClassification
    from numpy_luke.training import AdamW, clip_by_global_norm

    model = LukeForEntityClassification.from_pretrained(folder)
    optimizer = AdamW(model, 1e-5)
    batch, labels = inputs(shape)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        _, gradients = model.loss_and_gradients(**batch, labels=labels)
        gradients, _ = clip_by_global_norm(gradients, 1.0)
        optimizer.step(gradients)
        times.append(time.perf_counter() - start)
    return times[1:]


def torch_step(folder: str, shape: str, repeats: int) -> list[float]:
    import torch
    import transformers

    model = transformers.LukeForEntityClassification.from_pretrained(folder).eval()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    batch, labels = inputs(shape)
    tensors = {k: torch.tensor(v) for k, v in {**batch, "labels": labels}.items()}
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        model(**tensors).loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        times.append(time.perf_counter() - start)
    return times[1:]


def peak_resident_mb() -> float:
    """This process's peak resident memory, VmHWM from /proc (Linux). Not ru_maxrss, which
    a child inherits from its parent across fork and exec: the parent here holds the
    checkpoint it wrote, and every worker would report at least that."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB -> MB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # no /proc: KiB -> MiB


def worker(args) -> None:
    if args.worker == "torch":
        import torch

        torch.set_num_threads(args.threads)
        times = torch_step(args.folder, args.shape, args.repeats)
    else:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(args.threads):
            times = numpy_step(args.folder, args.shape, args.repeats)
    peak = peak_resident_mb()
    print(json.dumps({"seconds": statistics.median(times), "peak_mb": peak}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="base")
    parser.add_argument("--entity-vocab-size", type=int, default=500_000)
    parser.add_argument("--shapes", default="1x128+8,8x128+8")
    parser.add_argument("--worker", choices=("numpy", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--shape", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    from numpy_luke import LukeConfig, LukeForEntityClassification

    config = LukeConfig(
        **CONFIGS[args.config],
        num_labels=9,
        max_position_embeddings=514,
        type_vocab_size=1,
        entity_vocab_size=args.entity_vocab_size,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(args.threads),
        "OPENBLAS_NUM_THREADS": str(args.threads),
        "PYTHONPATH": str(ROOT),
    }
    with tempfile.TemporaryDirectory() as folder:
        LukeForEntityClassification(config, seed=0).save_pretrained(folder)
        print(
            f"| step ({args.config}, {args.entity_vocab_size} entities, {args.threads} "
            f"threads) | numpy_luke s | PyTorch s | ratio | numpy_luke peak MB | "
            f"PyTorch peak MB |\n| --- | ---: | ---: | ---: | ---: | ---: |"
        )
        for shape in args.shapes.split(","):
            results = {}
            for library in ("numpy", "torch"):
                command = [
                    sys.executable,
                    __file__,
                    "--worker",
                    library,
                    "--folder",
                    folder,
                    "--shape",
                    shape,
                    "--threads",
                    str(args.threads),
                    "--repeats",
                    str(args.repeats),
                ]
                done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
                results[library] = json.loads(done.stdout.strip().splitlines()[-1])
            ours, theirs = results["numpy"], results["torch"]
            print(
                f"| {shape} | {ours['seconds']:.3f} | {theirs['seconds']:.3f} | "
                f"{ours['seconds'] / theirs['seconds']:.2f} | {ours['peak_mb']:.0f} | "
                f"{theirs['peak_mb']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()

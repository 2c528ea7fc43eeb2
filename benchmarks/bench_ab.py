"""Two versions of numpy_luke in one process: forward passes before and after a change.

The older version is any checkout's ``numpy_luke`` folder, copied under the name
``numpy_luke_before`` (its imports inside the package are relative, so it loads beside the
current one). Both get the same random luke-base weights and inputs as bench_forward.py;
after two warm-up runs each, they alternate run by run in ABBA order, so load from other
jobs hits both alike. Reported per shape: medians of wall and CPU time (``process_time``,
all threads), their ratio after/before, the median of the per-round ratios, and whether
the outputs are the same bits.

    git archive COMMIT numpy_luke | tar -x -C /tmp/before
    python benchmarks/bench_ab.py --before /tmp/before --threads 1 --rounds 21
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bench_forward import FORWARD_SHAPES, LUKE_BASE, MLM_SHAPE, random_inputs, random_state_dict  # noqa: E402, E501


def load_before(folder: Path):
    """The ``numpy_luke`` package under ``folder``, imported as ``numpy_luke_before``."""
    packages = Path(tempfile.mkdtemp(prefix="numpy_luke_before_"))
    shutil.copytree(folder / "numpy_luke", packages / "numpy_luke_before")
    sys.path.insert(0, str(packages))
    import numpy_luke_before.config
    import numpy_luke_before.modeling

    return numpy_luke_before


def time_pair(a, b, inputs, rounds):
    """ABBA alternation; lists of (wall, cpu) seconds for a and for b."""
    times = {id(a): [], id(b): []}
    for _ in range(2):
        a(**inputs), b(**inputs)
    for r in range(rounds):
        for model in (a, b) if r % 2 == 0 else (b, a):
            wall, cpu = time.perf_counter(), time.process_time()
            model(**inputs)
            times[id(model)].append((time.perf_counter() - wall, time.process_time() - cpu))
    return times[id(a)], times[id(b)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="folder holding numpy_luke/")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--only", default="", help="run the shapes whose name contains this")
    args = parser.parse_args()

    import numpy_luke.config
    import numpy_luke.modeling

    old = load_before(args.before)
    state = random_state_dict(numpy_luke.config.LukeConfig(**LUKE_BASE))
    pairs = {}
    for label in ("LukeModel", "LukeForMaskedLM"):
        pairs[label] = tuple(
            getattr(package.modeling, label).from_state_dict(
                state, package.config.LukeConfig(**LUKE_BASE)
            )
            for package in (old, numpy_luke)
        )
    config = numpy_luke.config.LukeConfig(**LUKE_BASE)
    print(f"{args.threads} BLAS threads; load average {os.getloadavg()}", flush=True)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        for name, batch, words, entities in [*FORWARD_SHAPES, MLM_SHAPE]:
            if args.only not in name:
                continue
            before, after = pairs[name.split()[0]]
            inputs = random_inputs(config, batch, words, entities)
            field = "logits" if "MaskedLM" in name else "last_hidden_state"
            same = np.array_equal(getattr(before(**inputs), field), getattr(after(**inputs), field))
            load = os.getloadavg()[0]
            a, b = time_pair(before, after, inputs, args.rounds)
            cells = []
            for kind, i in (("wall", 0), ("CPU", 1)):
                ma, mb = (statistics.median(t[i] for t in ts) for ts in (a, b))
                paired = statistics.median(y[i] / x[i] for x, y in zip(a, b, strict=True))
                cells.append(
                    f"{kind} {ma * 1e3:.1f} -> {mb * 1e3:.1f} ms, {mb / ma:.3f}x "
                    f"(paired {paired:.3f}x)"
                )
            print(
                f"{name}: {'; '.join(cells)}; {args.rounds} rounds; same bits: {same}; "
                f"load {load:.1f} -> {os.getloadavg()[0]:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()

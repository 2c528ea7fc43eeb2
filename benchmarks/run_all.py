"""Every benchmark of issue 7 in one command, one table: numpy_luke against transformers.

    python benchmarks/run_all.py --threads 2 [--json benchmarks/_work/run_all.json]

1. Sets the thread count for both libraries (PyTorch intra-op threads, OpenBLAS threads
   through threadpoolctl, and OMP/OPENBLAS/MKL_NUM_THREADS for the benchmarks run as
   subprocesses). If OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set, this process re-runs
   itself without both (for the benchmark only) and says so in the machine description.
2. Runs ``bench_forward.py`` in this process: forward passes, the masked-LM heads, the
   matmul rate, and a profile of numpy_luke per stage.
3. Runs each of ``bench_tokenizer.py``, ``bench_load.py``, ``bench_fill.py`` that exists
   as ``python SCRIPT --json FILE`` and merges its rows (see benchmarks/README.md); all
   three write rows. A script without ``--json`` would be run plainly, its output shown
   under the table.
4. Prints the machine, the method, the table of medians and ratios, notes and the profile.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_forward  # noqa: E402

# The other benchmarks, with options that keep the whole run near 5 minutes (their own
# defaults, with --full, repeat more and take longer).
OTHER_BENCHMARKS = {
    "bench_tokenizer.py": ["--sentences", "2000"],
    "bench_load.py": ["--repeat", "1"],
    "bench_fill.py": ["--runs", "1"],
}


def run_other(script: Path, options: list[str], threads: int, timeout: float) -> dict:
    """Run one benchmark script as a subprocess; its rows and notes (or its plain output)."""
    env = dict(os.environ)
    data = HERE.parent.parent / "shared" / "data"  # as .ci/run finds the test data
    if "NUMPY_LUKE_TEST_DATA" not in env and (data / "roberta-base").is_dir():
        env["NUMPY_LUKE_TEST_DATA"] = str(data)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        start = time.perf_counter()
        try:
            command = [sys.executable, str(script), *options, "--json", str(out)]
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=timeout, cwd=HERE.parent
            )
        except subprocess.TimeoutExpired:
            return {"rows": [], "notes": [f"{script.name}: stopped after {timeout:.0f} s"]}
        seconds = time.perf_counter() - start
        if done.returncode == 0 and out.exists():
            result = json.loads(out.read_text())
            result.setdefault("notes", []).append(f"{script.name} ran in {seconds:.0f} s")
            return result
        if "--json" in done.stderr:  # the script does not take --json: run it plainly
            try:
                done = subprocess.run(
                    [sys.executable, str(script), *options],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    cwd=HERE.parent,
                )
            except subprocess.TimeoutExpired:
                return {"rows": [], "notes": [f"{script.name}: stopped after {timeout:.0f} s"]}
        text = f"$ python benchmarks/{script.name} {' '.join(options)}\n" + done.stdout.strip()
        if done.returncode != 0:
            text += f"\n(exit status {done.returncode})\n" + done.stderr.strip()[-2000:]
        return {"rows": [], "notes": [], "output": f"### {script.name}\n\n```text\n{text}\n```"}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="threads for both (default 2)")
    parser.add_argument(
        "--budget",
        type=float,
        default=12.0,
        help="seconds of timed forward runs per shape (default 12)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=240.0,
        help="seconds allowed to each other benchmark script (default 240)",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="run the other benchmarks with their own (longer) defaults",
    )
    parser.add_argument(
        "--forward-only",
        action="store_true",
        help="skip the tokenizer, loading and fill benchmarks",
    )
    parser.add_argument("--json", type=Path, help="also write everything to this file")
    parser.add_argument(
        "--venv5",
        default="/work/venv5/bin/python",
        help="python of an environment with transformers 5.x, whose forward "
        "rows are added when it exists ('' to skip)",
    )
    args = parser.parse_args(argv)
    bench_forward.clean_blas_environment()
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(args.threads)

    start = time.perf_counter()
    result = bench_forward.forward_benchmark(args.threads, args.budget, do_profile=True)
    bench_forward.add_other_venv_rows(result, args.venv5, args.threads, args.budget)
    rows, notes, outputs = result["rows"], [], []
    if not args.forward_only:
        for name, options in OTHER_BENCHMARKS.items():
            script = HERE / name
            if not script.exists():
                notes.append(f"{name}: not present, skipped")
                continue
            print(f"running {name} ...", file=sys.stderr, flush=True)
            options = [] if args.full else list(options)
            if name == "bench_fill.py":
                options += ["--threads", str(args.threads)]
            other = run_other(script, options, args.threads, args.timeout)
            rows += other.get("rows", [])
            notes += other.get("notes", [])
            if other.get("output"):
                outputs.append(other["output"])
    total = time.perf_counter() - start

    print("## Machine\n")
    for key, value in result["machine"].items():
        print(f"- {key}: {value}")
    print(
        f"\n## Method\n\n{args.threads} threads for both libraries; warm-up runs, then "
        "numpy_luke and transformers alternate run by run; medians. ratio = numpy_luke / "
        "transformers (below 1: numpy_luke is faster, for times; above 1 is better for "
        f"rates). Whole run: {total:.0f} s.\n"
    )
    print("## Results\n")
    print(bench_forward.format_table(rows, result["matmul_rate"]))
    if notes:
        print("\n" + "\n".join(f"- {note}" for note in notes))
    print("\n## Profile of numpy_luke\n")
    print(result["profile"])
    for output in outputs:
        print("\n" + output)
    if args.json:
        result.update(rows=rows, notes=notes, outputs=outputs, seconds=total)
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

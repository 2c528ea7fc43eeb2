"""Scale-out throughput: ``fill --input FOLDER`` in one process and on 1 and 2 Dask workers.

    python benchmarks/bench_scale_out.py [--files 4] [--texts 100] [--part-size 16k]

The model is the luke-base stand-in (``make_lukebase_standin.py``: luke-base's shapes and
500,000-entity vocabulary, random weights, RoBERTa's real BPE files from
$NUMPY_LUKE_TEST_DATA); the corpus is ``--files`` files of ``--texts`` JSON Lines records
made by ``bench_corpus.make_corpus`` (5 to 400 words, one <mask>, one or two mentions).
Every configuration is one whole command, loading and cluster start included:

    single, T threads   fill --input FOLDER --output OUT --threads T
    local:N             fill --input FOLDER --output OUT --scheduler local:N (1 thread each)

Printed: wall time, texts per second, and whether each run's answers are the bytes of the
first (one process, 1 thread). Needs the dask extra.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "_work"
sys.path.insert(0, str(HERE))


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--texts", type=int, default=100, help="texts per file")
    parser.add_argument("--part-size", default="16k")
    args = parser.parse_args()

    import bench_corpus

    model = WORK / "luke-base-standin"
    if not (model / "model.safetensors").is_file():
        subprocess.run(
            [sys.executable, str(HERE / "make_lukebase_standin.py"), str(model)], check=True
        )
    corpus = WORK / f"scale-out-{args.files}x{args.texts}"
    if not corpus.is_dir():
        corpus.mkdir()
        for k in range(args.files):
            bench_corpus.make_corpus(corpus / f"part{k}.jsonl", args.texts, seed=k)
    total = args.files * args.texts
    base = [
        sys.executable,
        "-m",
        "numpy_luke",
        "fill",
        "--model",
        str(model),
        "--input",
        str(corpus),
    ]
    runs = {
        "one process, 1 thread": ["--threads", "1"],
        "one process, 2 threads": ["--threads", "2"],
        "--scheduler local:1": ["--scheduler", "local:1", "--part-size", args.part_size],
        "--scheduler local:2": ["--scheduler", "local:2", "--part-size", args.part_size],
    }
    import dask
    import numpy

    print(
        f"{cpu_name()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"NumPy {numpy.__version__}, Dask {dask.__version__}"
    )
    print(
        f"{args.files} files x {args.texts} texts = {total} texts, part size "
        f"{args.part_size}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    first = None
    for name, extra in runs.items():
        out = WORK / f"scale-out-answers-{len(extra)}-{extra[1].replace(':', '')}"
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        done = subprocess.run(
            [*base, "--output", str(out), *extra], env=env, capture_output=True, text=True
        )
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{name} failed:\n{done.stderr[-2000:]}")
        names = sorted(os.listdir(out))
        first = first or (out, names)
        same = names == first[1] and all(
            filecmp.cmp(out / n, first[0] / n, shallow=False) for n in names
        )
        print(
            f"{name:<24} {seconds:7.1f} s  {total / seconds:6.2f} texts/s  "
            f"answers {'identical' if same else 'DIFFERENT'} to the first run's"
        )


if __name__ == "__main__":
    main()

"""Load time and peak memory for a luke-base-size checkpoint, numpy_luke next to torch.

    python benchmarks/make_lukebase_checkpoint.py     # once (needs torch + transformers)
    python benchmarks/bench_load.py [--repeat 3] [--work benchmarks/_work] [--json FILE]

Each measurement runs in a fresh Python process, which imports what it needs, records its
resident memory (VmRSS), then loads and reports the wall time of the load and its peak
resident memory (``ru_maxrss``; memory-mapped file pages count once they are read). The
table gives the median time and the largest peak over ``--repeat`` runs. The files are in
the page cache (warm), as after a first use. "touch" rows also read every weight once
(one NumPy sum over each distinct array, the same code for both libraries), which is
what a first forward pass does with a mapped file.
Rows whose library is missing (transformers, torch, numpy_luke's model classes) are skipped.
With ``--json FILE`` it also writes, for run_all.py's combined table, two rows per file
format: ``LukeForMaskedLM.from_pretrained + touch`` of numpy_luke against transformers'
(load time, and peak RSS / weight bytes).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

PRELUDE = """
import json, resource, sys, time
def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
def touch(arrays):
    # Read every distinct weight once, with the same NumPy sum for both libraries (tied
    # weights are one array in both, so they are read once).
    import numpy as np
    seen = set()
    for array in arrays:
        if id(array) not in seen:
            seen.add(id(array))
            np.asarray(array).sum()
"""

# name -> (folder kind, imports, the load statement(s); `folder` and `file` are defined)
CASES = {
    "numpy_luke load_state_dict": (
        "all",
        "from numpy_luke.weights import load_state_dict",
        "state = load_state_dict([file])",
    ),
    "numpy_luke load_state_dict + touch": (
        "all",
        "from numpy_luke.weights import load_state_dict",
        "state = load_state_dict([file]); touch(state.values())",
    ),
    "numpy_luke LukeForMaskedLM.from_pretrained": (
        "all",
        "from numpy_luke import LukeForMaskedLM",
        "model = LukeForMaskedLM.from_pretrained(folder)",
    ),
    "numpy_luke LukeForMaskedLM.from_pretrained + touch": (
        "all",
        "from numpy_luke import LukeForMaskedLM",
        "model = LukeForMaskedLM.from_pretrained(folder); touch(model.params.values())",
    ),
    "safetensors.numpy.load_file": (
        "safetensors",
        "from safetensors.numpy import load_file",
        "state = load_file(file)",
    ),
    "safetensors safe_open + get_tensor": (
        "safetensors",
        "from safetensors import safe_open",
        "with safe_open(file, framework='numpy') as f:\n"
        "    state = {name: f.get_tensor(name) for name in f.keys()}",
    ),
    "torch.load(weights_only=True)": (
        "bin+legacy",
        "import torch",
        "state = torch.load(file, weights_only=True)",
    ),
    "torch.load(weights_only=True, mmap=True)": (
        "bin",
        "import torch",
        "state = torch.load(file, weights_only=True, mmap=True)",
    ),
    "transformers LukeForMaskedLM.from_pretrained": (
        "all",
        "import torch; from transformers import LukeForMaskedLM",
        "model = LukeForMaskedLM.from_pretrained(folder)",
    ),
    "transformers LukeForMaskedLM.from_pretrained + touch": (
        "all",
        "import torch; from transformers import LukeForMaskedLM",
        "model = LukeForMaskedLM.from_pretrained(folder)\n"
        "touch([p.detach().numpy() for p in model.parameters()])",
    ),
}

FILES = {
    "bin": "pytorch_model.bin",
    "safetensors": "model.safetensors",
    "legacy": "pytorch_model.bin",
}
LABELS = {"bin": "pytorch_model.bin", "safetensors": "model.safetensors", "legacy": "legacy .bin"}


def child_code(imports: str, statement: str, folder: Path, filename: str) -> str:
    return f"""{PRELUDE}
{imports}
folder = {str(folder)!r}
file = folder + "/" + {filename!r}
before = rss_mb()
start = time.perf_counter()
{statement}
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": seconds, "rss_before_mb": before, "peak_rss_mb": peak}}))
"""


def measure(code: str) -> dict | None:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        print(f"    skipped: {last}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def json_report(rows: list[tuple], weight_mb: float, repeat: int) -> dict:
    """Rows for run_all.py's combined table: per file format, loading and reading every
    weight once (the "+ touch" rows), numpy_luke against transformers."""
    found = {(name, kind): (seconds, peak) for name, kind, seconds, _, peak in rows}
    ours, theirs = (f"{library} LukeForMaskedLM.from_pretrained + touch"
                    for library in ("numpy_luke", "transformers"))  # fmt: skip
    report = {"rows": [], "notes": []}
    for kind, label in LABELS.items():
        mine, other = found.get((ours, kind)), found.get((theirs, kind))
        if mine is None:
            continue
        other_seconds, other_peak = other if other else (None, None)
        report["rows"].append({
            "what": f"load luke-base + read every weight, {label}", "unit": "s",
            "numpy_luke": mine[0], "transformers": other_seconds, "better": "lower",
            "note": f"from_pretrained + touch, fresh process, files in page cache; "
                    f"median of {repeat}"})  # fmt: skip
        peaks = f"{mine[1]:,.0f}" + (f" / {other_peak:,.0f}" if other else "")
        report["rows"].append({
            "what": f"load peak RSS / weight bytes, {label}", "unit": "x weights",
            "numpy_luke": mine[1] / weight_mb,
            "transformers": other_peak / weight_mb if other else None, "better": "lower",
            "note": f"peak RSS {peaks} MiB, weights {weight_mb:,.0f} MiB; "
                    f"largest of {repeat}"})  # fmt: skip
    return report


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=HERE / "_work")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", help="run only cases whose name contains this text")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args(argv)
    folders = {kind: args.work / f"luke-base-{kind}" for kind in FILES}
    for kind, folder in folders.items():
        if not (folder / FILES[kind]).is_file():
            sys.exit(f"{folder / FILES[kind]} is missing: run make_lukebase_checkpoint.py")
    weight_mb = (folders["bin"] / FILES["bin"]).stat().st_size / 2**20

    rows = []
    for name, (kinds, imports, statement) in CASES.items():
        if args.only and args.only not in name:
            continue
        for kind in FILES if kinds == "all" else kinds.split("+"):
            print(f"  {name} ({kind}) ...", file=sys.stderr)
            code = child_code(imports, statement, folders[kind], FILES[kind])
            runs = [measure(code) for _ in range(args.repeat)]
            if any(run is None for run in runs):
                continue
            rows.append(
                (
                    name,
                    kind,
                    statistics.median(r["seconds"] for r in runs),
                    max(r["rss_before_mb"] for r in runs),
                    max(r["peak_rss_mb"] for r in runs),
                )
            )

    print(f"\nweights: {weight_mb:.0f} MiB (pytorch_model.bin; model.safetensors is the same)")
    print(f"runs per row: {args.repeat} (median time, largest peak)\n")
    print("| what | file | load time (s) | RSS before (MiB) | peak RSS (MiB) | peak / weights |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for name, kind, seconds, before, peak in rows:
        print(
            f"| {name} | {LABELS[kind]} | {seconds:.3f} | {before:.0f} | {peak:.0f} | "
            f"{peak / weight_mb:.2f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(json_report(rows, weight_mb, args.repeat), indent=1))


if __name__ == "__main__":
    main()

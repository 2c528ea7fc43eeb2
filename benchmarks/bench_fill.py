"""Cold start of ``fill``: a fresh process that loads a luke-base-size checkpoint and fills
one mask, numpy_luke against transformers' fill-mask pipeline (issue 4, acceptance 4).

    numpy_luke:    python -m numpy_luke fill TEXT --model FOLDER --json
    transformers:  python -c "pipeline('fill-mask', model=FOLDER)(TEXT)"  (torch, CPU)

Both read the same folder: the real RoBERTa BPE files (50,265 tokens, from
$NUMPY_LUKE_TEST_DATA/roberta-base), a generated 500,000-entry entity vocabulary, and random
weights of luke-base's shapes (275.8M stored parameters counted from the shapes, the three
entity-aware query copies and both heads included; 253.2M without them; 1,052 MiB in
float32; docs/performance.md, "fill, cold start") made by ``make_lukebase_checkpoint.py``:
``model.safetensors``, ``pytorch_model.bin`` as a zip (the format the published LUKE
checkpoints ship) and in torch's legacy format. The scratch
folders live in ``benchmarks/_work/`` (git-ignored).

Each measurement is the wall time of the whole process, from ``exec`` to exit, and its
peak resident memory (``wait4``), with the files in the page cache (a warm-up run of each
command comes first, so disk speed is not measured). The two libraries alternate run by
run; the table shows medians. A second table splits one run of each into phases
(import, load, first prediction), timed inside the process.

    python benchmarks/bench_fill.py [--runs 5] [--threads 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "_work"
TEXT = "Plants create <mask> through a process known as photosynthesis."
ENTITIES = 500_000

# Timed inside a fresh process: import, load, first prediction. argv: folder, text.
NUMPY_LUKE_PHASES = """
import json, resource, sys, time
t0 = time.perf_counter()
from numpy_luke import pipeline
t1 = time.perf_counter()
fill = pipeline("fill-mask", model=sys.argv[1])
t2 = time.perf_counter()
answer = fill(sys.argv[2])
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "predict": t3 - t2,
                  "top": answer[0]["token"],
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
TRANSFORMERS_PHASES = """
import json, resource, sys, time
t0 = time.perf_counter()
from transformers import pipeline
t1 = time.perf_counter()
fill = pipeline("fill-mask", model=sys.argv[1], device="cpu")
t2 = time.perf_counter()
answer = fill(sys.argv[2])
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "predict": t3 - t2,
                  "top": answer[0]["token"],
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
TRANSFORMERS_COMMAND = (
    "import sys; from transformers import pipeline; "
    "print(pipeline('fill-mask', model=sys.argv[1], device='cpu')(sys.argv[2]))"
)


# --------------------------------------------------------------------------- checkpoints


def write_tokenizer_files(folder: Path) -> None:
    """luke-base's tokenizer layout: real RoBERTa BPE files, <ent>/<ent2>, 500,000 entities."""
    data = os.environ.get("NUMPY_LUKE_TEST_DATA")
    roberta = Path(data) / "roberta-base" if data else None
    if roberta is None or not (roberta / "vocab.json").is_file():
        sys.exit("set NUMPY_LUKE_TEST_DATA to the folder holding roberta-base/vocab.json")
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(roberta / name, folder / name)
    (folder / "added_tokens.json").write_text(json.dumps({"<ent>": 50265, "<ent2>": 50266}))
    titles = {"[PAD]": 0, "[UNK]": 1, "[MASK]": 2}
    titles.update({f"Entity number {i}": i for i in range(3, ENTITIES - 1)})
    titles["[MASK2]"] = ENTITIES - 1
    (folder / "entity_vocab.json").write_text(json.dumps(titles, ensure_ascii=False))
    mask = {"content": "<mask>", "single_word": False, "lstrip": True, "rstrip": False,
            "normalized": True, "__type": "AddedToken"}  # fmt: skip
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
               "sep_token": "</s>", "pad_token": "<pad>", "cls_token": "<s>",
               "mask_token": mask}  # fmt: skip
    (folder / "special_tokens_map.json").write_text(
        json.dumps({**special, "additional_special_tokens": ["<ent>", "<ent2>"]}, indent=1)
    )
    config = {**special, "add_prefix_space": False, "errors": "replace", "task": None,
              "max_entity_length": 32, "max_mention_length": 30, "entity_token_1": "<ent>",
              "entity_token_2": "<ent2>", "model_max_length": 512,
              "tokenizer_class": "LukeTokenizer"}  # fmt: skip
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=1))


# scratch folder of make_lukebase_checkpoint.py -> ours (its files hard-linked + tokenizer)
SOURCES = {"safetensors": "luke-base-safetensors", "pytorch_model.bin (zip)": "luke-base-bin",
           "pytorch_model.bin (legacy)": "luke-base-legacy"}  # fmt: skip


def make_checkpoints() -> dict[str, Path]:
    """Folders with luke-base-size weights and tokenizer files, one per file format.

    The weights come from ``make_lukebase_checkpoint.py`` (random ``LukeForMaskedLM``
    weights written by transformers in the published layouts); it runs in a child process,
    which also keeps this process small: the peak memory wait4 reports for a child
    includes what its parent held when it forked.
    """
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_lukebase_checkpoint.py"),
                    str(WORK)], check=True)  # fmt: skip
    folders = {}
    for file_format, source in SOURCES.items():
        folder = WORK / f"fill-{source}"
        folder.mkdir(exist_ok=True)
        for file in (WORK / source).iterdir():
            target = folder / file.name
            if not target.exists() or not target.samefile(file):
                target.unlink(missing_ok=True)
                os.link(file, target)  # no copy of 1 GB
        if not (folder / "entity_vocab.json").is_file():
            write_tokenizer_files(folder)
        folders[file_format] = folder
    return folders


# --------------------------------------------------------------------------- measuring


def run_once(command: list[str], env: dict) -> tuple[float, float, bytes]:
    """Wall time (s) and peak resident memory (MB) of one process; its stdout."""
    out = WORK / "bench_fill.out"
    with open(out, "wb") as stdout:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE, env=env,
                                   cwd=ROOT)  # fmt: skip
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
    stderr = process.stderr.read()
    process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed: {stderr.decode(errors='replace')[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, out.read_bytes()


def environment(threads: int) -> dict:
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    env["HF_HUB_OFFLINE"] = "1"
    env["TRANSFORMERS_VERBOSITY"] = "error"
    env.pop("NUMPY_LUKE_DEBUG", None)
    return env


def bench(folders: dict[str, Path], runs: int, threads: int) -> dict:
    env = environment(threads)
    python = sys.executable
    rows, notes, phases = [], [], {}
    for file_format, folder in folders.items():
        commands = {
            "numpy_luke": [python, "-m", "numpy_luke", "fill", TEXT, "--model", str(folder),
                           "--json"],
            "transformers": [python, "-c", TRANSFORMERS_COMMAND, str(folder), TEXT],
        }  # fmt: skip
        times = {name: [] for name in commands}
        memory = {name: [] for name in commands}
        for command in commands.values():  # warm-up: page cache, .pyc files
            run_once(command, env)
        for _ in range(runs):
            for name, command in commands.items():
                seconds, rss, _ = run_once(command, env)
                times[name].append(seconds)
                memory[name].append(rss)
        scripts = {"numpy_luke": NUMPY_LUKE_PHASES, "transformers": TRANSFORMERS_PHASES}
        split = {name: [] for name in scripts}
        for _ in range(runs):
            for name, script in scripts.items():
                _, _, out = run_once([python, "-c", script, str(folder), TEXT], env)
                split[name].append(json.loads(out.decode().strip().splitlines()[-1]))
        for name, runs_of_name in split.items():  # the median of each phase
            phases[(file_format, name)] = {
                key: statistics.median(r[key] for r in runs_of_name)
                for key in ("import", "load", "predict", "rss_mb")
            } | {"top": runs_of_name[0]["top"]}
        top = {phases[(file_format, n)]["top"] for n in commands}
        if len(top) != 1:
            notes.append(f"{file_format}: the two libraries disagree on the top token {top}")
        rows.append({"what": f"cold fill, luke-base size, {file_format}", "unit": "s",
                     "numpy_luke": statistics.median(times["numpy_luke"]),
                     "transformers": statistics.median(times["transformers"]),
                     "better": "lower",
                     "note": f"median of {runs}, whole process (fastest: "
                             f"{min(times['numpy_luke']):.2f} s / "
                             f"{min(times['transformers']):.2f} s)"})  # fmt: skip
        rows.append({"what": f"cold fill peak memory, {file_format}", "unit": "MB",
                     "numpy_luke": statistics.median(memory["numpy_luke"]),
                     "transformers": statistics.median(memory["transformers"]),
                     "better": "lower", "note": "max resident set size"})  # fmt: skip
    notes.append(f"{threads} threads (OMP/OpenBLAS/MKL); files in the page cache; "
                 "same folder read by both libraries")  # fmt: skip
    return {
        "rows": rows,
        "notes": notes,
        "phases": {f"{k[0]} / {k[1]}": v for k, v in phases.items()},
    }


def format_report(report: dict) -> str:
    lines = [f"{'what':<54} {'numpy_luke':>11} {'transformers':>13} {'ratio':>7}"]
    for row in report["rows"]:
        unit = row["unit"]
        ratio = row["numpy_luke"] / row["transformers"]
        lines.append(f"{row['what']:<54} {row['numpy_luke']:>9.2f} {unit:<2}"
                     f"{row['transformers']:>10.2f} {unit:<2} {ratio:>7.2f}")  # fmt: skip
    lines.append("")
    lines.append(f"{'phases, medians (s)':<54} {'import':>7} {'load':>7} {'predict':>8}")
    for name, p in report["phases"].items():
        lines.append(f"{name:<54} {p['import']:>7.2f} {p['load']:>7.2f} {p['predict']:>8.2f}")
    lines += [f"note: {n}" for n in report["notes"]]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per command")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    report = bench(make_checkpoints(), args.runs, args.threads)
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

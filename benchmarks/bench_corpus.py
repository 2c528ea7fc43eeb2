"""A corpus run: ``fill --input`` on 2,000 texts against transformers' fill-mask pipeline.

    python benchmarks/bench_corpus.py [--texts 2000] [--batch-size 8] [--threads 2]
                                      [--json FILE]

Both libraries read the same luke-base-size folder (random weights of luke-base's shapes,
the real RoBERTa BPE files, a 500,000-entity vocabulary; made by ``bench_fill.py``'s
``make_checkpoints``) and the same corpus: mixed-length texts of 5 to 400 tokens, each with
one ``<mask>`` and one or two mentions given as ``entity_spans`` (JSON Lines). Each side
is one whole process, loading included, with the same batch size and thread count:

    numpy_luke:    python -m numpy_luke fill --input corpus.jsonl --output out.jsonl
                   --model FOLDER --batch-size B --threads T --json
    transformers:  pipeline("fill-mask", model=FOLDER, batch_size=B) over the same
                   records, its preprocessing given each record's entity_spans (the stock
                   pipeline has no way to pass them), torch.set_num_threads(T)

Measured: wall time of the process (texts per second), its peak resident memory (wait4,
through a small wrapper process), and the answers: for every text, the same top-k tokens
and scores within 1e-5. numpy_luke also ranks the 500,000 entities for every mention;
transformers' pipeline does not, so the comparison favours it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
WORK = HERE / "_work"

WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his "
    "from at which but have an they you were her she there been one all we their has "
    "would when if so no more some time new could may city river team music film world "
    "company league season album school war government country people history water "
    "energy plants light football player club village county university church"
).split()
TITLES = ["Lionel Messi", "Inter Miami", "Photosynthesis", "Tokyo", "Beyoncé", "Los Angeles"]

TRANSFORMERS_SCRIPT = """
import json, sys, time
import torch
from transformers import pipeline
from transformers.pipelines.fill_mask import FillMaskPipeline

folder, corpus, out, batch_size, threads, top_k = sys.argv[1:7]
torch.set_num_threads(int(threads))

class WithEntities(FillMaskPipeline):
    # The stock preprocessing tokenizes the text alone; LUKE's tokenizer also takes the
    # mentions, which the records carry. Everything else is transformers' own.
    def preprocess(self, inputs, return_tensors=None, tokenizer_kwargs=None, **kwargs):
        encoding = self.tokenizer(inputs["text"], entity_spans=[tuple(s) for s in
                                  inputs.get("entity_spans") or []] or None,
                                  return_tensors=self.framework)
        self.ensure_exactly_one_mask_token(encoding)
        return encoding

fill = pipeline("fill-mask", model=folder, device="cpu", pipeline_class=WithEntities,
                top_k=int(top_k))
records = [json.loads(line) for line in open(corpus, encoding="utf-8")]
with torch.inference_mode(), open(out, "w", encoding="utf-8") as f:
    for answer in fill(records, batch_size=int(batch_size)):
        f.write(json.dumps(answer) + "\\n")
"""

MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:]).returncode
seconds = time.perf_counter() - start
print(seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, code,
      file=sys.stderr)
"""


def make_corpus(path: Path, texts: int, seed: int = 0) -> None:
    """``texts`` JSON Lines records: 5 to 400 words (about as many tokens), one <mask>,
    one or two mentions of titles with their character spans (every record has one, so
    transformers' pipeline can batch them: it cannot mix texts with and without entities)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(texts):
            length = int(np.exp(rng.uniform(np.log(5), np.log(400))))
            words = list(rng.choice(WORDS, size=length))
            mask = int(rng.integers(0, length))
            words[mask] = "<mask>"
            spans, text = [], ""
            others = [k for k in range(length) if k != mask]
            mentions = set(rng.choice(others, size=int(rng.integers(1, 3)), replace=False))
            for k, word in enumerate(words):
                if k in mentions:
                    word = str(rng.choice(TITLES))
                    spans.append([len(text) + (k > 0), len(text) + (k > 0) + len(word)])
                text += (" " if k else "") + word
            f.write(
                json.dumps({"text": text + ".", "entity_spans": spans}, ensure_ascii=False) + "\n"
            )


def measure(command: list[str], env: dict) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one command, through a wrapper process."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], env=env, capture_output=True, text=True
    )
    seconds, rss, code = done.stderr.strip().splitlines()[-1].split()
    if int(code) != 0:
        raise SystemExit(f"{command[:4]} failed:\n{done.stderr[-2000:]}")
    return float(seconds), float(rss)


def compare(ours: Path, theirs: Path, tolerance: float = 1e-5) -> tuple[int, float]:
    """Texts whose top-k tokens differ, and the largest score difference."""
    differing, worst = 0, 0.0
    with open(ours, encoding="utf-8") as a, open(theirs, encoding="utf-8") as b:
        for line_a, line_b in zip(a, b, strict=True):
            mine, theirs_ = json.loads(line_a)["masks"], json.loads(line_b)
            if [p["token"] for p in mine] != [p["token"] for p in theirs_]:
                differing += 1
                continue
            worst = max(
                [worst] + [abs(p["score"] - q["score"]) for p, q in zip(mine, theirs_, strict=True)]
            )
    return differing, worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the rows for run_all.py here")
    args = parser.parse_args()

    import bench_fill

    folder = bench_fill.make_checkpoints()["safetensors"]
    corpus = WORK / f"corpus-{args.texts}.jsonl"
    make_corpus(corpus, args.texts)
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(args.threads)
    ours, theirs = WORK / "corpus-numpy_luke.jsonl", WORK / "corpus-transformers.jsonl"
    numpy_luke = [
        sys.executable,
        "-m",
        "numpy_luke",
        "fill",
        "--input",
        str(corpus),
        "--output",
        str(ours),
        "--model",
        str(folder),
        "--json",
        "--batch-size",
        str(args.batch_size),
        "--threads",
        str(args.threads),
        "--top-k",
        str(args.top_k),
    ]
    transformers = [
        sys.executable,
        "-c",
        TRANSFORMERS_SCRIPT,
        str(folder),
        str(corpus),
        str(theirs),
        str(args.batch_size),
        str(args.threads),
        str(args.top_k),
    ]
    start = time.strftime("%H:%M UTC", time.gmtime())
    ours_s, ours_mb = measure(numpy_luke, env)
    theirs_s, theirs_mb = measure(transformers, env)
    differing, worst = compare(ours, theirs)
    rate, their_rate = args.texts / ours_s, args.texts / theirs_s
    print(f"{args.texts} texts, batch size {args.batch_size}, {args.threads} threads ({start})")
    print(f"numpy_luke   {ours_s:7.1f} s  {rate:6.2f} texts/s  peak {ours_mb:6.0f} MB")
    print(f"transformers {theirs_s:7.1f} s  {their_rate:6.2f} texts/s  peak {theirs_mb:6.0f} MB")
    print(
        f"speed-up {rate / their_rate:.2f}x; texts with different top-{args.top_k} tokens: "
        f"{differing}; largest score difference {worst:.1e}"
    )
    if args.json:
        note = f"{args.texts} texts, batch {args.batch_size}, whole process incl. loading"
        rows = [
            {
                "what": "fill --input corpus, texts/s",
                "unit": "texts/s",
                "numpy_luke": rate,
                "transformers": their_rate,
                "better": "higher",
                "note": note,
            },
            {
                "what": "fill --input corpus, peak memory",
                "unit": "MB",
                "numpy_luke": ours_mb,
                "transformers": theirs_mb,
                "better": "lower",
                "note": note,
            },
        ]
        notes = [
            f"corpus answers: {differing} texts differ in their top-{args.top_k} "
            f"tokens; largest score difference {worst:.1e}"
        ]
        args.json.write_text(json.dumps({"rows": rows, "notes": notes}, indent=1))


if __name__ == "__main__":
    main()

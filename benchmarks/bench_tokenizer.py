"""Tokenizer throughput: numpy_luke vs transformers' LukeTokenizer (4.57 pure Python, and 5.x).

Several thousand sentences with entity spans are generated deterministically; each tokenizer
encodes them (a) one sentence per call and (b) in batches of 32 with padding and NumPy
output. "cold" is the first pass of a freshly loaded tokenizer (empty BPE caches), "warm"
the second pass over the same sentences. Every tokenizer is checked to give the same
input_ids / entity_position_ids as numpy_luke before it is timed.

    NUMPY_LUKE_TEST_DATA=/path/to/data python benchmarks/bench_tokenizer.py
    ... --sentences 5000 --venv5 /work/venv5     (transformers 5.x in its own venv, if any)
    ... --json FILE     (also write rows for run_all.py's combined table, see README.md)

The real RoBERTa vocabulary comes from $NUMPY_LUKE_TEST_DATA/roberta-base; the entity
vocabulary and config from tests/fixtures/real-vocab-luke.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import helpers  # noqa: E402

BATCH = 32

SUBJECTS = [
    "Ana Ivanovic",
    "Lionel Messi",
    "Beyoncé",
    "Albert Einstein",
    "Marie Curie",
    "The Prime Minister of Japan",
    "São Paulo FC",
    "Zoë Saldaña",
    "東京大学",
    "The European Central Bank",
    "Cristiano Ronaldo",
    "Ada Lovelace",
]
PLACES = [
    "Wimbledon",
    "Los Angeles",
    "Tokyo",
    "Paris",
    "Berlin",
    "Buenos Aires",
    "Cairo",
    "New Orleans",
    "Rosario",
    "Kyoto",
    "Manchester",
    "Montréal",
]
VERBS = [
    "visited",
    "praised",
    "left",
    "returned to",
    "was seen in",
    "spoke about",
    "moved to",
    "criticised",
    "celebrated in",
    "performed in",
]
TAILS = [
    "on Thursday",
    "in 2020",
    "after a long season",
    "with 3.5 million fans",
    "despite the rain",
    "for the first time since 1987",
    "(again!)",
    "— reportedly",
    "according to https://example.org/news",
    "and nobody was surprised.",
]


def make_sentences(count: int, seed: int = 0) -> list[tuple[str, list[tuple[int, int]]]]:
    """Deterministic sentences "SUBJECT VERB PLACE TAIL [and OTHER VERB PLACE]" with the
    character spans of every subject and place."""
    rng = random.Random(seed)
    sentences = []
    for _ in range(count):
        spans, text = [], ""
        for clause in range(rng.choice([1, 1, 2])):
            if clause:
                text += " and "
            for kind, words in (("subject", SUBJECTS), ("verb", VERBS), ("place", PLACES)):
                word = rng.choice(words)
                if text and not text.endswith(" "):
                    text += " "
                if kind != "verb":
                    spans.append((len(text), len(text) + len(word)))
                text += word
            text += " " + rng.choice(TAILS)
        sentences.append((text, spans))
    return sentences


def time_tokenizer(tokenizer, sentences, call=None) -> dict[str, float]:
    """Seconds for one-by-one and batched encoding, cold then warm."""
    call = call or (lambda texts, spans, **kw: tokenizer(texts, entity_spans=spans, **kw))
    results = {}
    for name in ("cold", "warm"):
        start = time.perf_counter()
        for text, spans in sentences:
            call(text, spans)
        results[f"single_{name}"] = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(0, len(sentences), BATCH):
        chunk = sentences[i : i + BATCH]
        call([t for t, _ in chunk], [s for _, s in chunk], padding=True, return_tensors="np")
    results["batch_warm"] = time.perf_counter() - start
    return results


def run_transformers(folder: Path, sentences) -> dict:
    """Time transformers' LukeTokenizer in this interpreter; record its input_ids and
    entity_position_ids of the first 200 sentences for the equality check."""
    import transformers

    transformers.utils.logging.set_verbosity_error()
    tokenizer = transformers.LukeTokenizer.from_pretrained(folder)
    timings = time_tokenizer(tokenizer, sentences)
    outputs = [tokenizer(text, entity_spans=spans) for text, spans in sentences[:200]]
    outputs = [[list(o["input_ids"]), [list(r) for r in o["entity_position_ids"]]] for o in outputs]
    try:  # the case transformers 5.x is known to crash on
        text, spans = sentences[0]
        tokenizer(text, entity_spans=spans, truncation=True, max_length=6)
        truncation = "ok"
    except Exception as error:
        truncation = f"{type(error).__name__}: {error}"[:120]
    return {
        "version": transformers.__version__,
        "class": type(tokenizer).__name__,
        "outputs": outputs,
        "truncation_with_entities": truncation,
        **timings,
    }


def run_in_other_venv(python: str, folder: Path, count: int) -> dict | None:
    """Time transformers in another virtual environment (5.x) by running this file there."""
    if not Path(python).exists():
        return None
    done = subprocess.run(
        [python, __file__, "--worker", str(folder), "--sentences", str(count)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": ""},
    )
    if done.returncode != 0:
        print(f"transformers in {python} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def same_output(ours, outputs, sentences) -> bool:
    """Whether numpy_luke gives the input_ids and entity_position_ids another tokenizer
    recorded for the first sentences."""
    for (text, spans), (input_ids, positions) in zip(sentences, outputs, strict=False):
        encoding = ours(text, entity_spans=spans)
        if encoding["input_ids"] != input_ids or encoding["entity_position_ids"] != positions:
            return False
    return True


MODES = {
    "single_cold": "one by one, cold",
    "single_warm": "one by one, warm",
    "batch_warm": f"batches of {BATCH}, warm",
}


def json_report(rows: dict, sentences) -> dict:
    """Rows for run_all.py's combined table: sentences per second, numpy_luke against each
    transformers tokenizer, one row per way of calling it."""
    n, spans = len(sentences), sum(len(s) for _, s in sentences)
    base = rows["numpy_luke"]
    report = {"rows": [], "notes": []}
    for name, r in rows.items():
        if r is base:
            continue
        same = {True: "yes", False: "NO", None: "-"}[r.get("same")]
        for key, mode in MODES.items():
            report["rows"].append({
                "what": f"tokenizer {mode}, vs {name}", "unit": "sentences/s",
                "numpy_luke": n / base[key], "transformers": n / r[key], "better": "higher",
                "note": f"ratio = transformers time / numpy_luke time; {n} sentences, "
                        f"{spans} entity spans, one pass; same ids: {same}"})  # fmt: skip
        if r.get("truncation_with_entities", "ok") != "ok":
            report["notes"].append(f"{name}: truncation with entity spans fails: "
                                   f"{r['truncation_with_entities']}")  # fmt: skip
    if not any(name.startswith("transformers 5") for name in rows):
        report["notes"].append("bench_tokenizer.py: no transformers 5.x venv, 5.x not timed")
    return report


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sentences", type=int, default=5000)
    parser.add_argument(
        "--venv5",
        default="/work/venv5/bin/python",
        help="python of a virtual environment with transformers 5.x",
    )
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sentences = make_sentences(args.sentences)

    if args.worker:  # inside the other venv: time transformers only, print JSON
        print(json.dumps(run_transformers(Path(args.worker), sentences)))
        return

    from numpy_luke import LukeTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        folder = helpers.real_vocab_luke_dir(Path(tmp) / "luke-base")
        if folder is None:
            sys.exit("set NUMPY_LUKE_TEST_DATA to the folder holding roberta-base/")
        rows = {}
        ours = LukeTokenizer.from_pretrained(folder)
        rows["numpy_luke"] = time_tokenizer(ours, sentences)
        try:
            import transformers

            transformers.utils.logging.set_verbosity_error()
            result = run_transformers(folder, sentences)
            result["same"] = same_output(ours, result["outputs"], sentences)
            rows[f"transformers {transformers.__version__} (pure Python)"] = result
        except ImportError:
            print("transformers is not installed: only numpy_luke is timed", file=sys.stderr)
        other = run_in_other_venv(args.venv5, folder, args.sentences)
        if other is not None:
            other["same"] = same_output(ours, other["outputs"], sentences)
            rows[f"transformers {other['version']} ({other['class']})"] = other
        elif not Path(args.venv5).exists():
            print(f"no transformers 5.x venv at {args.venv5}: 5.x not timed", file=sys.stderr)

    for name, r in rows.items():
        if r.get("truncation_with_entities", "ok") != "ok":
            print(f"{name}: truncation with entity spans fails: {r['truncation_with_entities']}")
    n = len(sentences)
    base = rows["numpy_luke"]
    print(
        f"{n} sentences, {sum(len(s) for _, s in sentences)} entity spans; "
        f"sentences per second (higher is better); x = numpy_luke's speed-up\n"
    )
    print(
        f"| tokenizer | one by one, cold | one by one, warm | batches of {BATCH}, warm "
        "| same ids as numpy_luke |"
    )
    print("| --- | ---: | ---: | ---: | :---: |")
    for name, r in rows.items():
        cells = []
        for key in ("single_cold", "single_warm", "batch_warm"):
            speed = n / r[key]
            ratio = "" if r is base else f" ({r[key] / base[key]:.1f}x)"
            cells.append(f"{speed:,.0f}{ratio}")
        same = {True: "yes", False: "NO", None: "-"}[r.get("same")]
        print(f"| {name} | " + " | ".join(cells) + f" | {same} |")
    if args.json:
        args.json.write_text(json.dumps(json_report(rows, sentences), indent=1))


if __name__ == "__main__":
    main()

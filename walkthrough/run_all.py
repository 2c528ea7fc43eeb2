"""Run every walkthrough chapter as a script, one after the other, and time each.

    python walkthrough/run_all.py                      # on the tiny fixture checkpoint
    python walkthrough/run_all.py --model studio-ousia/luke-base

Arguments are passed on to every chapter. Each chapter's output is hidden unless it fails
(``-v`` shows all of it). Exits non-zero if any chapter fails.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

WALKTHROUGH = Path(__file__).resolve().parent


def chapters() -> list[Path]:
    """The chapter files, in reading order: 01_*.py, 02_*.py, ..."""
    return sorted(WALKTHROUGH.glob("[0-9][0-9]_*.py"))


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    passed_on = [arg for arg in argv if arg != "-v"]
    failed = []
    for chapter in chapters():
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, str(chapter), *passed_on],
            capture_output=True,
            text=True,
            cwd=WALKTHROUGH.parent,
        )
        seconds = time.perf_counter() - start
        status = "ok" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
        print(f"{chapter.name:32s} {seconds:6.2f} s  {status}")
        if verbose or result.returncode != 0:
            print(result.stdout, end="")
            print(result.stderr, end="", file=sys.stderr)
        if result.returncode != 0:
            failed.append(chapter.name)
    if failed:
        print(f"{len(failed)} chapter(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"all {len(chapters())} chapters passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

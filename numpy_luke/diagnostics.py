"""Diagnostics of the command line: standard error only, and never a reason to stop.

Answers go to standard output (or --output); everything else, messages and the progress
bar, goes to standard error through ``say`` and ``progress_bar``. A standard error that
goes away mid-run (``--progress 2>&1 | head``) stops the bar, not the work, and a run
started with standard streams closed (``2>&-``, ``<&-``, as cron may do) never writes
diagnostics into the answers.
"""

from __future__ import annotations

import contextlib
import os
import sys


def say(message: str) -> None:
    """Print one line of diagnostics on standard error. If standard error has gone away
    (a closed pipe), the line is dropped and the run goes on: diagnostics never stop the
    work and never go to standard output, which carries the answers."""
    _Diagnostics().write(message + "\n")


def _stderr_gone() -> None:
    """Standard error cannot be written: point file descriptor 2 at /dev/null, so that
    what is written or flushed there from now on (tqdm, Python at exit) succeeds."""
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)


class _Diagnostics:
    """Standard error as a file for tqdm and say(): writing to a broken one is a no-op."""

    def write(self, text: str) -> int:
        try:
            sys.stderr.write(text)
            sys.stderr.flush()
        except (OSError, ValueError):  # EPIPE, or a closed file
            _stderr_gone()
        return len(text)

    def flush(self) -> None:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            _stderr_gone()

    def __getattr__(self, name):  # fileno, isatty, encoding, ... for tqdm
        return getattr(sys.stderr, name)


def standard_streams() -> None:
    """Started with standard streams closed (``2>&-``, ``<&-``, as cron may do), Python
    sets sys.stderr (sys.stdin) to None, and print(file=None) writes to standard output:
    diagnostics would land in the JSON stream. Give each closed descriptor /dev/null (and
    keep files the run opens off descriptors 0 to 2)."""
    for descriptor in (0, 1, 2):
        try:
            os.fstat(descriptor)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != descriptor:
                os.dup2(null, descriptor)
                os.close(null)
    if sys.stdin is None:
        sys.stdin = open(os.devnull, encoding="utf-8")  # reads as empty
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")



@contextlib.contextmanager
def progress_bar(show: bool, total: int | None, label: str, unit: str = "texts"):
    """A tqdm bar on standard error counting texts, or another ``unit`` (with ``total``, an
    ETA; its rate is per second), or, when not
    ``show``, an object whose ``update`` does nothing. When the run ends short of ``total``
    (a line of Unicode white space only counted as a text), the total is set to the count."""
    if not show:
        yield _NoBar()
        return
    # tqdm imported here, not at the top: its import costs about 20 ms (importlib.metadata),
    # which every command line run would pay, with or without a bar
    from tqdm import tqdm

    with tqdm(total=total, unit=f" {unit}", file=_Diagnostics(), desc=label,
              dynamic_ncols=True) as bar:
        yield bar
        if total is not None and bar.n != total:
            bar.total = bar.n
            bar.refresh()


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

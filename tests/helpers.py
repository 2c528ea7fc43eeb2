"""Shared helpers for the tests (imported by tests; not a test module)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

TESTS = Path(__file__).parent
FIXTURES = TESTS / "fixtures"
TINY_LUKE = FIXTURES / "tiny-luke"  # the tiny self-made checkpoint folder
GOLDENS = TESTS / "goldens"
ROOT = TESTS.parent

FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def roberta_dir() -> Path | None:
    """The real RoBERTa BPE files, from $NUMPY_LUKE_TEST_DATA/roberta-base, or None."""
    data = os.environ.get("NUMPY_LUKE_TEST_DATA")
    if not data:
        return None
    folder = Path(data) / "roberta-base"
    if (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
        return folder
    return None


def place_in_hf_cache(
    folder: Path, cache_dir: Path, repo_id: str, link: bool = False
) -> Path:
    """Lay out ``folder``'s files as the Hugging Face cache holds a downloaded repository.

    ``cache_dir/models--ORG--NAME/refs/main`` names a commit whose snapshot folder holds the
    files, exactly what huggingface_hub reads with ``HF_HUB_OFFLINE=1``. ``link=True`` hard
    links big files instead of copying them. Returns the snapshot folder.
    """
    repo_folder = Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo_folder / "snapshots" / FAKE_COMMIT
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo_folder / "refs").mkdir(exist_ok=True)
    (repo_folder / "refs" / "main").write_text(FAKE_COMMIT)
    for file in Path(folder).iterdir():
        if file.is_file():
            target = snapshot / file.name
            if link:
                os.link(file, target)
            else:
                shutil.copyfile(file, target)
    return snapshot


def write_zip(path: Path, members: dict[str, bytes], compression: int | None = None) -> Path:
    """Write a zip archive of ``{name: bytes}`` (stored uncompressed unless told otherwise),
    as a hand-made stand-in for what ``torch.save`` writes."""
    import zipfile

    compression = zipfile.ZIP_STORED if compression is None else compression
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def read_zip(path: Path) -> dict[str, bytes]:
    """All members of a zip archive, in order: ``{name: bytes}``."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# The tokenizer files of studio-ousia/luke-base except the RoBERTa BPE files (which never
# enter the repository) and with a small hand-written entity vocabulary.
REAL_VOCAB_LUKE = FIXTURES / "real-vocab-luke"


def real_vocab_luke_dir(dest: Path) -> Path | None:
    """A tokenizer folder laid out like studio-ousia/luke-base, made in ``dest``: the real
    RoBERTa vocab.json / merges.txt (symlinked from $NUMPY_LUKE_TEST_DATA) plus the files of
    REAL_VOCAB_LUKE. None when the real vocabulary is not available."""
    roberta = roberta_dir()
    if roberta is None:
        return None
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("vocab.json", "merges.txt"):
        if not (dest / name).exists():
            (dest / name).symlink_to(roberta / name)
    for file in REAL_VOCAB_LUKE.iterdir():
        shutil.copyfile(file, dest / file.name)
    return dest


# A stand-in for studio-ousia/luke-base (its layout and the conversion's properties, random
# values), made by benchmarks/make_lukebase_standin.py; kept in the git-ignored
# benchmarks/_work/ so it is built once (about 10 s, 1.1 GB).
LUKEBASE_STANDIN = ROOT / "benchmarks" / "_work" / "luke-base-standin"


def lukebase_standin_dir() -> Path | None:
    """The luke-base stand-in folder, built when missing; None when the real RoBERTa
    vocabulary (which it links to) is not available."""
    import subprocess
    import sys

    if roberta_dir() is None:
        return None
    if not (LUKEBASE_STANDIN / "model.safetensors").is_file():
        subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "make_lukebase_standin.py"),
             str(LUKEBASE_STANDIN)],
            check=True, timeout=900,
        )
    return LUKEBASE_STANDIN

"""Shared helpers for the tests (imported by tests; not a test module)."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from pathlib import Path

TESTS = Path(__file__).parent
FIXTURES = TESTS / "fixtures"
TINY_LUKE = FIXTURES / "tiny-luke"  # the tiny self-made checkpoint folder
GOLDENS = TESTS / "goldens"
ROOT = TESTS.parent

# the nine model classes transformers' LUKE has, by name
MODEL_CLASS_NAMES = [
    "LukeModel",
    "LukeForMaskedLM",
    "LukeForEntityClassification",
    "LukeForEntityPairClassification",
    "LukeForEntitySpanClassification",
    "LukeForSequenceClassification",
    "LukeForTokenClassification",
    "LukeForQuestionAnswering",
    "LukeForMultipleChoice",
]
FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"


# Every skip for want of the real RoBERTa BPE files starts with this text; conftest.py counts
# them at the end of the run.
MISSING_VOCAB = "real RoBERTa vocabulary not available"
HOW_TO_GET_VOCAB = (
    "set NUMPY_LUKE_TEST_DATA to a folder holding roberta-base/vocab.json and merges.txt, "
    "or put the tokenizer files of studio-ousia/luke-base or roberta-base in the Hugging "
    "Face cache (the tests download them there when the Hub is reachable and HF_HUB_OFFLINE "
    "is not set)"
)
# Hub repositories whose vocab.json / merges.txt are RoBERTa's BPE files, in order of preference.
VOCAB_REPOS = ("studio-ousia/luke-base", "roberta-base")
_VOCAB_FILES = ("vocab.json", "merges.txt")


@functools.cache
def roberta_dir() -> Path | None:
    """A folder named ``roberta-base`` holding the real RoBERTa ``vocab.json`` and
    ``merges.txt``, or None. Looked for once per process, in this order:

    1. ``$NUMPY_LUKE_TEST_DATA/roberta-base`` (wins when set and complete);
    2. the Hugging Face cache, as ``studio-ousia/luke-base`` or ``roberta-base``;
    3. a download into that cache, when the Hub answers within a few seconds and
       ``HF_HUB_OFFLINE`` is not set (best effort: any failure means None).

    Files from the cache are symlinked into a temporary ``roberta-base`` folder, so every
    caller sees the same layout as ``NUMPY_LUKE_TEST_DATA`` gives.
    """
    data = os.environ.get("NUMPY_LUKE_TEST_DATA")
    if data:
        folder = Path(data) / "roberta-base"
        if all((folder / name).is_file() for name in _VOCAB_FILES):
            return folder
    files = _vocab_from_hf_cache() or _vocab_downloaded()
    if files is None:
        return None
    folder = Path(tempfile.mkdtemp(prefix="numpy-luke-vocab-")) / "roberta-base"
    folder.mkdir()
    atexit.register(shutil.rmtree, folder.parent, ignore_errors=True)
    for name, path in zip(_VOCAB_FILES, files, strict=True):
        (folder / name).symlink_to(Path(path).resolve())
    return folder


def _vocab_from_hf_cache() -> tuple[Path, Path] | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    for repo in VOCAB_REPOS:
        paths = [try_to_load_from_cache(repo, name) for name in _VOCAB_FILES]
        if all(isinstance(path, str) and Path(path).is_file() for path in paths):
            return tuple(Path(path) for path in paths)
    return None


def _vocab_downloaded() -> tuple[Path, Path] | None:
    try:
        from huggingface_hub import constants, hf_hub_download

        from numpy_luke.hub import hub_reachable
    except ImportError:
        return None
    if constants.HF_HUB_OFFLINE or not hub_reachable(timeout=2.0):
        return None
    for repo in VOCAB_REPOS:
        try:
            return tuple(Path(hf_hub_download(repo, name, etag_timeout=5)) for name in _VOCAB_FILES)
        except Exception:  # best effort: the tests then skip and say how to enable them
            continue
    return None


def place_in_hf_cache(folder: Path, cache_dir: Path, repo_id: str, link: bool = False) -> Path:
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
            [
                sys.executable,
                str(ROOT / "benchmarks" / "make_lukebase_standin.py"),
                str(LUKEBASE_STANDIN),
            ],
            check=True,
            timeout=900,
        )
    return LUKEBASE_STANDIN

"""numpy_luke.hub: finding checkpoint files in a local folder or a Hugging Face cache.

huggingface_hub reads HF_HUB_OFFLINE and HF_HUB_CACHE when it is imported, so in-process
tests pass ``cache_dir=`` and ``local_files_only=True``; the subprocess tests set the
environment variables, as a user would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import FIXTURES, ROOT, place_in_hf_cache

from numpy_luke.errors import CheckpointError, CheckpointNotFoundError
from numpy_luke.hub import WEIGHT_FILES, LoadOptions, resolve_file, resolve_weight_files
from numpy_luke.weights import load_state_dict


def offline(cache_dir) -> LoadOptions:
    return LoadOptions(cache_dir=cache_dir, local_files_only=True)


WEIGHTS = FIXTURES / "weights"
REPO = "studio-ousia/luke-hub-test"


def folder_with(tmp_path: Path, **files: Path | str) -> Path:
    """A folder holding the given files: name -> source path (copied) or text."""
    folder = tmp_path / "checkpoint"
    folder.mkdir(exist_ok=True)
    for name, source in files.items():
        target = folder / name.replace("__", ".")
        if isinstance(source, Path):
            shutil.copyfile(source, target)
        else:
            target.write_text(source)
    return folder


# -- local folders ------------------------------------------------------------------------


def test_local_file_is_found(tmp_path):
    folder = folder_with(tmp_path, config__json="{}")
    assert resolve_file(folder, "config.json") == folder / "config.json"
    assert resolve_file(str(folder), "config.json") == folder / "config.json"


def test_missing_local_file(tmp_path):
    folder = folder_with(tmp_path, config__json="{}")
    assert resolve_file(folder, "vocab.json", required=False) is None
    with pytest.raises(CheckpointNotFoundError, match="vocab.json not found in the folder"):
        resolve_file(folder, "vocab.json")


def test_a_file_instead_of_a_folder(tmp_path):
    folder = folder_with(tmp_path, config__json="{}")
    with pytest.raises(CheckpointNotFoundError, match="is a file; pass the folder"):
        resolve_file(folder / "config.json", "config.json")


def test_safetensors_is_preferred_over_bin(tmp_path):
    folder = folder_with(
        tmp_path,
        model__safetensors=WEIGHTS / "dtypes.safetensors",
        pytorch_model__bin=WEIGHTS / "tied.bin",
    )
    assert resolve_weight_files(folder) == [folder / "model.safetensors"]
    (folder / "model.safetensors").unlink()
    assert resolve_weight_files(folder) == [folder / "pytorch_model.bin"]


def test_no_weights_says_which_files_were_expected(tmp_path):
    folder = folder_with(tmp_path, config__json="{}")
    with pytest.raises(CheckpointNotFoundError) as error:
        resolve_weight_files(folder)
    for name in WEIGHT_FILES:
        assert name in str(error.value)


@pytest.mark.parametrize("kind", ["bin", "safetensors"])
def test_sharded_folder(kind):
    files = resolve_weight_files(WEIGHTS / f"sharded-{kind}")
    assert len(files) == 2 and all(f.is_file() for f in files)
    assert sorted(load_state_dict(files)) == ["a.bias", "a.weight", "b.weight"]


def test_shard_listed_but_missing(tmp_path):
    index = {"weight_map": {"w": "model-00001-of-00002.safetensors"}}
    folder = folder_with(tmp_path, model__safetensors__index__json=json.dumps(index))
    with pytest.raises(CheckpointNotFoundError, match="model-00001-of-00002.safetensors"):
        resolve_weight_files(folder)


@pytest.mark.parametrize(
    "shard",
    ["../x.safetensors", "/etc/passwd", "sub/model.safetensors", "..\\x", ".hidden", "..", 7],
)
def test_hostile_shard_names_are_refused(tmp_path, shard):
    (tmp_path / "x.safetensors").write_bytes(b"outside the checkpoint folder")
    index = {"weight_map": {"w": shard}}
    folder = folder_with(tmp_path, model__safetensors__index__json=json.dumps(index))
    with pytest.raises(CheckpointError, match="refusing shard name"):
        resolve_weight_files(folder)


@pytest.mark.parametrize(
    "text", ["not json", "[]", '{"weight_map": []}', '{"weights": {}}', '{"weight_map": 3}']
)
def test_broken_shard_index(tmp_path, text):
    folder = folder_with(tmp_path, pytorch_model__bin__index__json=text)
    with pytest.raises(CheckpointError, match="pytorch_model.bin.index.json"):
        resolve_weight_files(folder)


# -- the Hugging Face cache -----------------------------------------------------------------


@pytest.fixture
def cached_repo(tmp_path) -> Path:
    """A cache holding REPO with a config, a vocabulary and sharded safetensors weights."""
    cache = tmp_path / "hf-cache"
    source = WEIGHTS / "sharded-safetensors"
    folder = folder_with(tmp_path, config__json='{"model_type": "luke"}')
    for file in source.iterdir():
        shutil.copyfile(file, folder / file.name)
    place_in_hf_cache(folder, cache, REPO)
    return cache


def test_cached_file_is_found_offline(cached_repo):
    path = resolve_file(REPO, "config.json", offline(cached_repo))
    assert path.is_file() and path.is_relative_to(cached_repo)
    assert json.loads(path.read_text()) == {"model_type": "luke"}


def test_cached_shards_are_found_and_load(cached_repo):
    files = resolve_weight_files(REPO, offline(cached_repo))
    assert [f.name for f in files] == [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    ]
    state = load_state_dict(files)
    local = load_state_dict(resolve_weight_files(WEIGHTS / "sharded-safetensors"))
    for name in local:
        np.testing.assert_array_equal(state[name], local[name])


def test_file_missing_from_the_cache_says_what_to_do(cached_repo):
    with pytest.raises(CheckpointNotFoundError) as error:
        resolve_file(REPO, "vocab.json", offline(cached_repo))
    message = str(error.value)
    assert "vocab.json" in message and REPO in message
    assert "HF_HUB_OFFLINE" in message and "local checkpoint folder" in message
    optional = resolve_file(REPO, "vocab.json", offline(cached_repo), required=False)
    assert optional is None


def test_repository_missing_from_the_cache(cached_repo):
    with pytest.raises(CheckpointNotFoundError, match="no weights found for 'studio-ousia/absent'"):
        resolve_weight_files("studio-ousia/absent", offline(cached_repo))
    with pytest.raises(CheckpointNotFoundError, match="not in the Hugging Face cache"):
        resolve_file("studio-ousia/absent", "config.json", offline(cached_repo))


@pytest.mark.parametrize("name", ["not a//valid id", "a/b/c/d", "-bad-/name"])
def test_invalid_repository_id(tmp_path, name):
    with pytest.raises(CheckpointNotFoundError, match="neither an existing folder nor a valid"):
        resolve_file(name, "config.json", offline(tmp_path))


SCRIPT = """
import sys
from numpy_luke.hub import resolve_weight_files
from numpy_luke.weights import load_state_dict
from numpy_luke.errors import CheckpointNotFoundError
try:
    files = resolve_weight_files(sys.argv[1])
except CheckpointNotFoundError as error:
    print("ERROR", error)
    sys.exit(3)
print(",".join(sorted(load_state_dict(files))))
"""


def run_offline(cache: Path, repo: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache)}
    env.pop("HF_HOME", None)
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, repo],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_offline_environment_in_a_fresh_process(cached_repo):
    """HF_HUB_OFFLINE=1 + HF_HUB_CACHE, as a user sets them: found without the network."""
    done = run_offline(cached_repo, REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "a.bias,a.weight,b.weight"


def test_offline_cache_miss_in_a_fresh_process(cached_repo):
    done = run_offline(cached_repo, "studio-ousia/not-cached")
    assert done.returncode == 3, done.stderr
    assert "no weights found for 'studio-ousia/not-cached'" in done.stdout
    assert "Hugging Face cache" in done.stdout
    assert "unset HF_HUB_OFFLINE" in done.stdout and "local checkpoint folder" in done.stdout

"""Finding checkpoint files: a local folder, or a repository on the Hugging Face Hub.

``from_pretrained("studio-ousia/luke-base")`` and ``from_pretrained("path/to/folder")`` both
end here. A folder is read as it is. Anything else is a Hub repository id, resolved through
``huggingface_hub``: downloaded on first use (with its progress bars) into its cache, read
from that cache afterwards, and never touched on the network when ``HF_HUB_OFFLINE=1`` or
``local_files_only=True``. Only the files a caller asks for are fetched.

Weights come in four layouts; ``resolve_weight_files`` tries them in this order:

    model.safetensors                      one safetensors file
    model.safetensors.index.json           safetensors shards (+ index naming each shard)
    pytorch_model.bin                      one PyTorch zip archive (the published LUKE files)
    pytorch_model.bin.index.json           PyTorch shards
"""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit

from .errors import CheckpointError, CheckpointNotFoundError

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


PROBE_TIMEOUT = 3.0  # seconds the reachability check may take, name resolution included

_reachable: dict[str, bool] = {}  # host:port -> answer, once per process
_reachable_lock = threading.Lock()


def hub_reachable(endpoint: str | None = None, timeout: float = PROBE_TIMEOUT) -> bool:
    """True when a TCP connection to the Hub (or to the HTTPS proxy in the environment) opens
    within ``timeout`` seconds. Checked once per process and host; a connection that opens
    says nothing about the files, which huggingface_hub then fetches as usual."""
    if endpoint is None:
        from huggingface_hub import constants

        endpoint = constants.ENDPOINT
    proxy = next(
        (os.environ[name] for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
         if os.environ.get(name)),
        None,
    )
    url = urlsplit(proxy if proxy and "://" in proxy else f"http://{proxy}" if proxy else endpoint)
    host = url.hostname
    if not host:
        return True  # nothing we know how to check: let huggingface_hub try
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
    except ValueError:
        return True
    key = f"{host}:{port}"
    with _reachable_lock:
        if key not in _reachable:
            _reachable[key] = _can_connect(host, port, timeout)
        return _reachable[key]


def _can_connect(host: str, port: int, timeout: float) -> bool:
    # Name resolution ignores socket timeouts, so the attempt runs in a daemon thread that is
    # abandoned (and answers "unreachable") when it has not finished within ``timeout``.
    answer = []

    def attempt():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            answer.append(True)
        except (OSError, ValueError):
            answer.append(False)

    thread = threading.Thread(target=attempt, name="numpy_luke-hub-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answer and answer[0])


def is_local(name_or_path: str | os.PathLike) -> bool:
    """True when ``name_or_path`` is an existing folder (and so not a Hub repository id)."""
    return Path(name_or_path).is_dir()


def resolve_file(
    name_or_path: str | os.PathLike,
    filename: str,
    *,
    revision: str | None = None,
    local_files_only: bool = False,
    cache_dir: str | os.PathLike | None = None,
    required: bool = True,
    force_download: bool = False,
    token: str | bool | None = None,
) -> Path | None:
    """Return a local path to ``filename`` of a folder or Hub repository.

    A file that does not exist gives ``None`` when ``required`` is False, and a
    ``CheckpointNotFoundError`` saying what to do when it is True. ``force_download`` and
    ``token`` go to the Hub as in transformers (a local folder needs neither).
    """
    if is_local(name_or_path):
        path = Path(name_or_path) / filename
        if path.is_file():
            return path
        if required:
            raise CheckpointNotFoundError(f"{filename} not found in the folder {name_or_path}")
        return None
    if Path(name_or_path).exists():
        raise CheckpointNotFoundError(f"{name_or_path} is a file; pass the folder that holds it")
    return _download(
        str(name_or_path), filename, revision, local_files_only, cache_dir, required,
        force_download=force_download, token=token,
    )


def _download(repo_id, filename, revision, local_files_only, cache_dir, required, *,
              force_download=False, token=None):
    # Imported here so that `import numpy_luke` and local folders never pay for it.
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if not local_files_only and not _offline_by_setting() and not hub_reachable():
        local_files_only = True  # the Hub cannot be reached: read the cache, fail at once
    try:
        return Path(
            hf_hub_download(
                repo_id,
                filename,
                revision=revision,
                cache_dir=cache_dir,
                local_files_only=local_files_only,
                force_download=force_download,
                token=token,
            )
        )
    # LocalEntryNotFoundError subclasses EntryNotFoundError, so it must be caught first.
    except LocalEntryNotFoundError:  # offline (or unreachable) and not in the cache
        if required:
            raise CheckpointNotFoundError(
                f"{filename} of {repo_id!r} is not in the Hugging Face cache and cannot be "
                "downloaded (offline, or the Hub is unreachable). Connect to the internet "
                "and unset HF_HUB_OFFLINE, or pass a local checkpoint folder "
                "(--model FOLDER on the command line)."
            ) from None
        return None
    except EntryNotFoundError:  # the repository exists but has no such file
        if required:
            raise CheckpointNotFoundError(f"{repo_id} has no file {filename}") from None
        return None
    except (RepositoryNotFoundError, GatedRepoError, RevisionNotFoundError) as error:
        raise CheckpointNotFoundError(
            f"cannot open {repo_id!r} (revision {revision or 'main'}) on the Hub: "
            f"{type(error).__name__}. Check the name, or pass a local folder."
        ) from None
    except HFValidationError:
        raise CheckpointNotFoundError(
            f"{repo_id!r} is neither an existing folder nor a valid Hub repository id"
        ) from None


def _offline_by_setting() -> bool:
    """True when HF_HUB_OFFLINE is set: huggingface_hub then stays off the network itself."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def resolve_weight_files(
    name_or_path: str | os.PathLike,
    *,
    revision: str | None = None,
    local_files_only: bool = False,
    cache_dir: str | os.PathLike | None = None,
    force_download: bool = False,
    token: str | bool | None = None,
) -> list[Path]:
    """Local paths of all weight files of a checkpoint (one file, or every shard).

    Tries the layouts of ``WEIGHT_FILES`` in order and returns the first that exists.
    """
    options = dict(revision=revision, local_files_only=local_files_only, cache_dir=cache_dir,
                   force_download=force_download, token=token)
    for filename in WEIGHT_FILES:
        path = resolve_file(name_or_path, filename, required=False, **options)
        if path is None:
            continue
        if not filename.endswith(".index.json"):
            return [path]
        shards = _shard_names(path)
        return [resolve_file(name_or_path, shard, **options) for shard in shards]
    where = (
        "in that folder"
        if is_local(name_or_path)
        else "in the Hugging Face cache or on the Hub. If you are offline, connect to the "
        "internet and unset HF_HUB_OFFLINE, or pass a local checkpoint folder "
        "(--model FOLDER on the command line)"
    )
    raise CheckpointNotFoundError(
        f"no weights found for {name_or_path!r}: expected one of "
        f"{', '.join(WEIGHT_FILES)} {where}"
    )


def _shard_names(index_path: Path) -> list[str]:
    """The shard file names listed by a ``*.index.json`` file, in first-seen order."""
    try:
        weight_map = json.loads(index_path.read_text(encoding="utf-8"))["weight_map"]
        names = list(dict.fromkeys(weight_map.values()))
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise CheckpointError(f"{index_path.name}: not a valid shard index ({error})") from None
    for name in names:
        if not isinstance(name, str) or "/" in name or "\\" in name or name.startswith("."):
            raise CheckpointError(f"{index_path.name}: refusing shard name {name!r}")
    return names

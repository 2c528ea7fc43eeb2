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
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

import huggingface_hub  # a lazy package (2 ms): its parts load on first use

from .errors import CheckpointError, CheckpointNotFoundError

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


@dataclass(frozen=True)
class LoadOptions:
    """Where and how checkpoint files are found, as transformers' ``from_pretrained`` takes
    it: built once per ``from_pretrained`` or ``pipeline()`` call (``LoadOptions.of``) and
    passed down whole to every file that call reads (config, weights, tokenizer files).

    ``revision``: a Hub branch, tag or commit (None: main). ``local_files_only``: never
    the network, only a folder or the cache. ``cache_dir``: the Hub cache's folder.
    ``force_download`` and ``token`` go to the Hub as in transformers. A local folder
    needs none of them."""

    revision: str | None = None
    local_files_only: bool = False
    cache_dir: str | os.PathLike | None = None
    force_download: bool = False
    token: str | bool | None = None

    @classmethod
    def of(cls, load: LoadOptions | None = None, **given) -> LoadOptions:
        """The options of one call: ``load`` as it is, or built from transformers'
        keywords (``revision=...``); both at once is refused, as ambiguous."""
        if load is None:
            return cls(**given)
        if not isinstance(load, LoadOptions):
            raise TypeError(f"load must be a numpy_luke.hub.LoadOptions, not "
                            f"{type(load).__name__}")
        defaults = cls()
        mixed = [name for name, value in given.items() if value != getattr(defaults, name)]
        if mixed:
            raise TypeError(f"give the loading options either as load=LoadOptions(...) or as "
                            f"keywords, not both ({', '.join(mixed)} given besides load=)")
        return load

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


NAMES = tuple(f.name for f in fields(LoadOptions))  # revision, local_files_only, ...

PROBE_TIMEOUT = 3.0  # seconds the reachability check may take, name resolution included

_reachable: dict[str, bool] = {}  # host:port -> answer, once per process
_reachable_lock = threading.Lock()


def hub_reachable(endpoint: str | None = None, timeout: float = PROBE_TIMEOUT) -> bool:
    """True when a TCP connection to the Hub (or to the HTTPS proxy in the environment) opens
    within ``timeout`` seconds. Checked once per process and host; a connection that opens
    says nothing about the files, which huggingface_hub then fetches as usual."""
    if endpoint is None:
        endpoint = _hub_parts()[0].ENDPOINT
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
    load: LoadOptions = LoadOptions(),  # noqa: B008 (frozen: one shared default is safe)
    *,
    required: bool = True,
) -> Path | None:
    """Return a local path to ``filename`` of a folder or Hub repository (``load``: where
    and how, see ``LoadOptions``).

    A file that does not exist gives ``None`` when ``required`` is False, and a
    ``CheckpointNotFoundError`` saying what to do when it is True.
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
    return _download(str(name_or_path), filename, load, required)


def _download(repo_id: str, filename: str, load: LoadOptions, required: bool):
    errors = _hub_parts()[1]

    local_files_only = load.local_files_only
    if not local_files_only and not _offline_by_setting() and not hub_reachable():
        local_files_only = True  # the Hub cannot be reached: read the cache, fail at once
    try:
        return Path(
            huggingface_hub.hf_hub_download(
                repo_id,
                filename,
                revision=load.revision,
                cache_dir=load.cache_dir,
                local_files_only=local_files_only,
                force_download=load.force_download,
                token=load.token,
            )
        )
    # LocalEntryNotFoundError subclasses EntryNotFoundError, so it must be caught first.
    except errors.LocalEntryNotFoundError:  # offline (or unreachable) and not in the cache
        if required:
            raise CheckpointNotFoundError(
                f"{filename} of {repo_id!r} is not in the Hugging Face cache and cannot be "
                "downloaded (offline, or the Hub is unreachable). Connect to the internet "
                "and unset HF_HUB_OFFLINE, or pass a local checkpoint folder "
                "(--model FOLDER on the command line)."
            ) from None
        return None
    except errors.EntryNotFoundError:  # the repository exists but has no such file
        if required:
            raise CheckpointNotFoundError(f"{repo_id} has no file {filename}") from None
        return None
    except (errors.RepositoryNotFoundError, errors.GatedRepoError,
            errors.RevisionNotFoundError) as error:
        raise CheckpointNotFoundError(
            f"cannot open {repo_id!r} (revision {load.revision or 'main'}) on the Hub: "
            f"{type(error).__name__}. Check the name, or pass a local folder."
        ) from None
    except errors.HFValidationError:
        raise CheckpointNotFoundError(
            f"{repo_id!r} is neither an existing folder nor a valid Hub repository id"
        ) from None


def _offline_by_setting() -> bool:
    """True when HF_HUB_OFFLINE is set: huggingface_hub then stays off the network itself."""
    return bool(_hub_parts()[0].HF_HUB_OFFLINE)


def _hub_parts():
    """huggingface_hub's ``constants`` and ``errors`` modules, imported on first use."""
    # The package's one late import, on purpose: huggingface_hub.errors loads requests
    # (~60 ms), which `import numpy_luke` and local folders never need, and constants reads
    # HF_HUB_OFFLINE / HF_HUB_CACHE from the environment when it is imported: at the first
    # Hub access, as before, not when numpy_luke is imported.
    from huggingface_hub import constants, errors

    return constants, errors


def resolve_weight_files(
    name_or_path: str | os.PathLike,
    load: LoadOptions = LoadOptions(),  # noqa: B008 (frozen: one shared default is safe)
) -> list[Path]:
    """Local paths of all weight files of a checkpoint (one file, or every shard).

    Tries the layouts of ``WEIGHT_FILES`` in order and returns the first that exists.
    """
    for filename in WEIGHT_FILES:
        path = resolve_file(name_or_path, filename, load, required=False)
        if path is None:
            continue
        if not filename.endswith(".index.json"):
            return [path]
        shards = _shard_names(path)
        return [resolve_file(name_or_path, shard, load) for shard in shards]
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

"""Scale-out (issue 20, item 6): a folder or a glob of files, and Dask clusters.

The answers of a run over several files, or on a cluster, must be the bytes a single-file,
single-process run writes: the same "line" numbers, the same errors, the same floats. The
first half needs no Dask (planning, several files in this process, the messages); the
second starts local clusters of two worker processes (skipped without the ``dask`` extra),
and kills one of them in the middle of a run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

import helpers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numpy_luke import cli, scale_out
from numpy_luke.errors import InputError
from numpy_luke.streaming import lines_of, read_items

FILL = str(helpers.TINY_LUKE)
TEXTS = [
    "Plants create <mask> through a process known as photosynthesis.",
    "[[Lionel Messi]] plays for <mask>.",
    "Tokyo is the <mask> of Japan.",
    "The <mask> reads words and entities, and then it reads <mask> again.",
    "A <mask>.",
    "no mask here",  # an error record
    "",  # a blank line: skipped, counted
]


def corpus(folder, name: str, count: int, seed: int, ending: str = "\n"):
    """A file of ``count`` lines of different lengths (a few blank or bad ones)."""
    lines = []
    for k in range(count):
        text = TEXTS[(k * 3 + seed) % len(TEXTS)]
        if text and (k + seed) % 3:
            text += " and more" * ((k * 5 + seed) % 9)
        lines.append(text)
    path = folder / name
    path.write_bytes(ending.join(lines).encode("utf-8") + ending.encode())
    return path


def single(path, out, *extra) -> bytes:
    """What the single-file, single-process command writes for ``path``."""
    cli.main(["fill", "--model", FILL, "--input", str(path), "--output", str(out), *extra])
    return out.read_bytes()


@pytest.fixture
def inputs(tmp_path):
    """Three files: plain text with \\n, with \\r\\n and lone \\r, and JSON Lines."""
    folder = tmp_path / "in"
    folder.mkdir()
    corpus(folder, "a.txt", 150, 0)
    corpus(folder, "b.txt", 90, 3, ending="\r\n")
    text = corpus(folder, "c.txt", 40, 1).read_bytes()
    (folder / "b.txt").write_bytes((folder / "b.txt").read_bytes() + text.replace(b"\n", b"\r"))
    (folder / "c.txt").unlink()
    records = [json.dumps({"text": TEXTS[k % 5]}) for k in range(70)]
    records[11] = '{"txt": 1}'
    records[40] = json.dumps({"text": "Tokyo is in Japan.", "entity_spans": [[0, 5]]})
    (folder / "c.jsonl").write_text("\n".join(records) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def expected(inputs, tmp_path):
    """Each input's single-process answers, as bytes, by file name."""
    folder = tmp_path / "single"
    folder.mkdir()
    return {
        p.stem + ".jsonl": single(p, folder / (p.stem + ".jsonl")) for p in sorted(inputs.iterdir())
    }


def outputs(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# ---- planning: parts are whole windows of texts, with the file's line numbers ---------


LINE = st.one_of(
    st.just(""),
    st.just("  "),
    st.just("\u3000"),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=12),
)


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(st.tuples(LINE, st.sampled_from(["\n", "\r\n", "\r"])), max_size=40),
    window=st.integers(1, 4),
    part_size=st.integers(1, 40),
    bad=st.booleans(),
    bom=st.booleans(),
)
def test_parts_read_as_the_whole_file_does(tmp_path_factory, lines, window, part_size, bad, bom):
    """Whatever the line breaks, blank lines, byte-order mark and sizes: the parts' items, in
    order, are the items of the whole file as the command line reads it (numbers and texts),
    and every part but the last holds a whole number of windows of texts (so it runs the
    batches a single-file run runs)."""
    data = "".join(text + end for text, end in lines).encode("utf-8", "surrogateescape")
    if bad:
        data = b"\xff\xfe" + data  # undecodable bytes stay as they are read
    if bom:
        data = b"\xef\xbb\xbf" + data
    path = tmp_path_factory.mktemp("plan") / "in.txt"
    path.write_bytes(data)
    parts = scale_out.plan_file(str(path), window, part_size)
    with open(path, "rb") as file:  # as the command line reads a file
        whole = [(i.number, i.text) for i in read_items(lines_of(file), "text")]
    settings_ = scale_out.Settings(window)
    pieces = [
        (i.number, i.text)
        for p in parts
        for i in scale_out._numbered(
            read_items(scale_out._part_lines(p), p.input_format), p, settings_
        )
    ]
    assert pieces == whole
    assert [p.start for p in parts[1:]] == [p.end for p in parts[:-1]]
    assert parts[0].start == 0 and parts[-1].end == len(data)
    assert all(p.texts % window == 0 and p.end - p.start >= part_size for p in parts[:-1])
    assert sum(p.texts for p in parts) == len(whole)


def test_a_file_changed_after_planning_is_refused(tmp_path):
    path = corpus(tmp_path, "a.txt", 20, 0)
    (part,) = scale_out.plan_file(str(path), 4, None)
    path.write_text("something else\n", encoding="utf-8")
    with pytest.raises(Exception, match="changed while it was being read"):
        list(scale_out._part_lines(part))


# ---- several files in this process (no Dask needed) ----------------------------------


@pytest.fixture
def without_dask(monkeypatch):
    """Every import of dask or distributed fails, as without the dask extra."""
    for name in list(sys.modules):
        if name.split(".")[0] in ("dask", "distributed"):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "distributed", None)


def test_a_folder_without_scheduler_gives_the_single_file_answers(
    inputs, expected, tmp_path, capsys, without_dask
):
    out = tmp_path / "out"
    assert cli.main(["fill", "--model", FILL, "--input", str(inputs), "--output", str(out)]) == 1
    assert outputs(out) == expected  # the bytes of three single-file runs
    failed = sum(b'"error"' in line for data in expected.values() for line in data.splitlines())
    texts = sum(len(data.splitlines()) for data in expected.values())
    assert capsys.readouterr().err == (
        f"numpy_luke fill: {failed} of {texts} lines failed (their errors are in the output)\n"
    )


def test_a_glob_picks_its_files(inputs, expected, tmp_path, without_dask):
    out = tmp_path / "out"
    cli.main(["fill", "--model", FILL, "--input", str(inputs / "*.txt"), "--output", str(out)])
    assert outputs(out) == {k: v for k, v in expected.items() if k != "c.jsonl"}


def test_without_dask_a_scheduler_names_the_extra(inputs, tmp_path, capsys, without_dask):
    status = cli.main(
        [
            "fill",
            "--model",
            FILL,
            "--input",
            str(inputs),
            "--output",
            str(tmp_path / "out"),
            "--scheduler",
            "local:2",
        ]
    )
    error = capsys.readouterr().err
    assert status == 1 and "pip install 'numpy_luke[dask]'" in error, error
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_stop_on_error_stops_in_the_file_that_has_it(inputs, expected, tmp_path, capsys):
    out = tmp_path / "out"
    status = cli.main(
        ["fill", "--model", FILL, "--input", str(inputs), "--output", str(out), "--stop-on-error"]
    )
    error = capsys.readouterr().err
    first_bad = next(
        json.loads(line)["line"] for line in expected["a.jsonl"].splitlines() if b'"error"' in line
    )
    assert status == 1
    assert error.startswith(f"numpy_luke fill: error: {inputs / 'a.txt'}: line {first_bad}: ")
    # what a single-file run with --stop-on-error writes (the lines before the bad one; their
    # batches are cut short at it, as here), and no later file
    alone = single(inputs / "a.txt", tmp_path / "alone.jsonl", "--stop-on-error")
    assert len(alone.splitlines()) == first_bad - 1 - sum(
        not line.strip() for line in (inputs / "a.txt").read_text().splitlines()[:first_bad]
    )
    assert outputs(out) == {"a.jsonl": alone}


def test_an_empty_file_gets_an_empty_answer_file(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty.txt").write_text("\n \n", encoding="utf-8")
    (folder / "one.txt").write_text(TEXTS[2] + "\n", encoding="utf-8")
    assert (
        cli.main(
            ["fill", "--model", FILL, "--input", str(folder), "--output", str(tmp_path / "out")]
        )
        == 0
    )
    assert (tmp_path / "out" / "empty.jsonl").read_bytes() == b""
    assert json.loads((tmp_path / "out" / "one.jsonl").read_text())["line"] == 1
    (folder / "one.txt").unlink()
    assert (
        cli.main(
            ["fill", "--model", FILL, "--input", str(folder), "--output", str(tmp_path / "out")]
        )
        == 1
    )
    assert f"no text given ({folder} was empty)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "case, message",
    [
        ("clash", "would both be answered in"),
        ("no output", "several input files need --output FOLDER"),
        ("output is a file", "with several input files --output names a folder"),
        ("overwrite", "would overwrite the input"),
        ("no match", "no file there"),
        ("scheduler with a text", "--scheduler runs over files"),
        ("bad scheduler", "give local:N"),
        ("local:0", "give local:N"),
        ("one file, output a folder", "one input file is answered in a file"),
        ("one file, output the input", "is the input file"),
        ("part size alone", "--part-size cuts files for the workers of --scheduler"),
        ("threads on a remote cluster", "the workers of tcp://127.0.0.1:1 keep theirs"),
    ],
)
def test_mistakes_are_refused_before_any_work(tmp_path, capsys, case, message):
    for name in ("x", "y"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "t.txt").write_text(TEXTS[0] + "\n", encoding="utf-8")
    (tmp_path / "x" / "u.jsonl").write_text(json.dumps({"text": TEXTS[0]}) + "\n")
    (tmp_path / "file").write_text("")
    base = ["fill", "--model", FILL]
    argv = {
        "clash": ["--input", f"{tmp_path}/*/t.txt", "--output", f"{tmp_path}/o"],
        "no output": ["--input", f"{tmp_path}/x"],
        "output is a file": ["--input", f"{tmp_path}/x", "--output", f"{tmp_path}/file"],
        "overwrite": ["--input", f"{tmp_path}/x", "--output", f"{tmp_path}/x"],
        "no match": ["--input", f"{tmp_path}/*.none", "--output", f"{tmp_path}/o"],
        "scheduler with a text": [TEXTS[0], "--scheduler", "local:2"],
        "bad scheduler": [
            "--input",
            f"{tmp_path}/x",
            "--output",
            f"{tmp_path}/o",
            "--scheduler",
            "127.0.0.1:8786",
        ],
        "local:0": ["--input", f"{tmp_path}/x/t.txt", "--scheduler", "local:0"],
        "one file, output a folder": [
            "--input",
            f"{tmp_path}/x/t.txt",
            "--output",
            f"{tmp_path}/y",
            "--scheduler",
            "local:1",
        ],
        "one file, output the input": [
            "--input",
            f"{tmp_path}/x/t.txt",
            "--output",
            f"{tmp_path}/x/t.txt",
            "--scheduler",
            "local:1",
        ],
        "part size alone": [
            "--input",
            f"{tmp_path}/x",
            "--output",
            f"{tmp_path}/o",
            "--part-size",
            "1M",
        ],
        "threads on a remote cluster": [
            "--input",
            f"{tmp_path}/x/t.txt",
            "--threads",
            "1",
            "--scheduler",
            "tcp://127.0.0.1:1",
        ],
    }[case]
    assert cli.main(base + argv) == 1
    error = capsys.readouterr().err
    assert error.startswith("numpy_luke fill: error: ") and message in error, error
    assert not (tmp_path / "o").exists()


def test_python_refuses_what_it_would_ignore(tmp_path):
    path = corpus(tmp_path, "a.txt", 5, 0)
    with pytest.raises(InputError, match="this process keep theirs"):
        scale_out.run_corpus("fill-mask", str(path), str(tmp_path / "o"), model=FILL, threads=2)
    with pytest.raises(InputError, match="unknown task"):
        scale_out.run_corpus("fill", str(path), str(tmp_path / "o"), model=FILL)
    with pytest.raises(InputError, match="give 'local:N', 'tcp://HOST:PORT' or a"):
        scale_out.run_corpus("fill-mask", str(path), str(tmp_path / "o"), model=FILL, scheduler=4)
    assert not (tmp_path / "o").exists()


def test_the_dask_extra_is_declared_and_dask_is_imported_only_where_used():
    tomllib = pytest.importorskip("tomllib", reason="Python 3.11 reads pyproject.toml")
    project = tomllib.loads((helpers.ROOT / "pyproject.toml").read_text())["project"]
    assert any(r.startswith("dask[distributed]") for r in project["optional-dependencies"]["dask"])
    code = (
        "import sys, numpy_luke.cli, numpy_luke.scale_out; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    env = dict(os.environ, PYTHONPATH=str(helpers.ROOT))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.stdout.strip() == "[]", done.stderr


# ---- on a Dask cluster: two worker processes ------------------------------------------


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed", reason="needs the dask extra")
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


def test_a_cluster_gives_the_single_process_bytes(inputs, expected, tmp_path, cluster):
    """Many small parts on two workers; each worker loads the model once."""
    out = tmp_path / "out"
    done = []
    # (a lambda, so that Dask sends it by value: the workers cannot import this module)
    count = lambda: getattr(sys.modules.get("numpy_luke.scale_out"), "MODEL_LOADS", 0)  # noqa: E731
    before = cluster.run(count)
    summary = scale_out.run_corpus(
        "fill-mask-and-entities",
        str(inputs),
        str(out),
        model=FILL,
        scheduler=cluster,
        part_size=500,
        on_part_done=done.append,
    )
    assert outputs(out) == expected
    sources = [r.part.source for r in done]  # every file cut into parts (of 64 texts)
    assert all(sources.count(str(p)) >= 2 for p in inputs.iterdir()), sources
    assert summary.texts == sum(len(data.splitlines()) for data in expected.values())
    loads = {worker: n - before[worker] for worker, n in cluster.run(count).items()}
    assert len(done) > 2 and all(n <= 1 for n in loads.values()), loads  # not once per part
    assert sorted(os.listdir(out)) == sorted(expected)  # no part files left behind


def test_stop_on_error_on_a_cluster(tmp_path, cluster):
    """The first bad line stops the run: the answers before it are written, the parts after
    it are cancelled (and skipped when Dask reports them). Line 66 is the second text of the
    second part, which stops there and is done before the first part."""
    lines = [TEXTS[k % 5] + " and more" * (k % 9) for k in range(1300)]
    lines[65] = "no mask here either"
    path = tmp_path / "in.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    single_run = tmp_path / "single.jsonl"
    assert (
        cli.main(
            [
                "fill",
                "--model",
                FILL,
                "--input",
                str(path),
                "--output",
                str(single_run),
                "--stop-on-error",
            ]
        )
        == 1
    )
    with pytest.raises(InputError, match="^line 66: nothing to predict"):
        scale_out.run_corpus(
            "fill-mask-and-entities",
            str(path),
            str(tmp_path / "out.jsonl"),
            model=FILL,
            scheduler=cluster,
            part_size=300,
            stop_on_error=True,
        )
    assert (tmp_path / "out.jsonl").read_bytes() == single_run.read_bytes()
    assert len(single_run.read_bytes().splitlines()) == 65


def test_tokenize_on_a_running_scheduler_by_address(inputs, tmp_path, cluster):
    """``--scheduler tcp://HOST:PORT``: the command line joins a running cluster (the
    tokenizer, a ready runner, is sent once to each worker)."""
    folder = tmp_path / "single"
    folder.mkdir()
    for path in sorted(inputs.iterdir()):
        cli.main(
            [
                "tokenize",
                "--model",
                FILL,
                "--input",
                str(path),
                "--output",
                str(folder / (path.stem + ".jsonl")),
            ]
        )
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_LUKE_DEBUG"}
    env["PYTHONPATH"] = str(helpers.ROOT)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "numpy_luke",
            "tokenize",
            "--model",
            FILL,
            "--input",
            str(inputs),
            "--output",
            str(tmp_path / "out"),
            "--scheduler",
            cluster.scheduler.address,
            "--part-size",
            "1k",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr  # the bad JSON record of c.jsonl
    assert outputs(tmp_path / "out") == outputs(folder)
    assert done.stderr.endswith("lines failed (their errors are in the output)\n")


def test_the_command_line_starts_a_local_cluster(tmp_path):
    """``--scheduler local:2`` over one file, to standard output, with a progress bar."""
    pytest.importorskip("distributed", reason="needs the dask extra")
    path = corpus(tmp_path, "in.txt", 300, 5)
    expected = single(path, tmp_path / "single.jsonl")
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_LUKE_DEBUG"}
    env["PYTHONPATH"] = str(helpers.ROOT)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "numpy_luke",
            "fill",
            "--model",
            FILL,
            "--input",
            str(path),
            "--scheduler",
            "local:2",
            "--part-size",
            "2k",
            "--progress",
        ],
        capture_output=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr  # some lines have no mask
    assert done.stdout == expected
    assert b"texts" in done.stderr and b"lines failed" in done.stderr
    assert sorted(os.listdir(tmp_path)) == ["in.txt", "single.jsonl"]  # no part folder left


def test_a_worker_killed_mid_run(inputs, expected, tmp_path):
    """SIGKILL one of two workers as soon as the first part is in: the scheduler runs its
    parts again on the other (and on the worker its nanny restarts), and every line is
    there once, with the single-process answers."""
    distributed = pytest.importorskip("distributed", reason="needs the dask extra")
    killed = []
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as local,
        distributed.Client(local) as client,
    ):

        def kill_one(result):
            if killed:
                return
            pids = client.run(os.getpid)
            busy = [a for a, keys in client.processing().items() if keys] or list(pids)
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed.append(pids[busy[0]])

        out = tmp_path / "out"
        scale_out.run_corpus(
            "fill-mask-and-entities",
            str(inputs),
            str(out),
            model=FILL,
            scheduler=client,
            part_size=200,
            on_part_done=kill_one,
        )
        assert killed and killed[0] not in client.run(os.getpid).values()
        # the scheduler's log: parts sent to a worker for processing more than once (those the
        # killed worker was running, or had finished but not yet handed over)
        log = client.run_on_scheduler(
            lambda dask_scheduler: [(str(t[0]), t[2]) for t in dask_scheduler.transition_log]
        )
        runs = [
            key
            for key, state in log
            if key.startswith("numpy_luke-part-") and state == "processing"
        ]
        assert len(runs) > len(set(runs)), "no part was run again"
    assert outputs(out) == expected
    for name, data in outputs(out).items():
        numbers = [json.loads(line)["line"] for line in data.splitlines()]
        assert len(numbers) == len(set(numbers)), name


def test_parts_cut_inside_a_window_would_change_the_answers(tmp_path):
    """Why parts end after whole windows: cut anywhere else, the texts batched together
    change, and so do the floats (in their last bits) of some answers."""
    path = corpus(tmp_path, "in.txt", 200, 4)
    reference = single(path, tmp_path / "single.jsonl")
    parts = scale_out.plan_file(str(path), 7, 1)  # windows of 7 texts: not streaming's 64
    settings_ = scale_out.Settings(64)
    from numpy_luke import pipeline

    runner = pipeline("fill-mask-and-entities", model=FILL)
    shifted = b"".join(
        line.encode() for p in parts for line, _ in scale_out.answer_lines(runner, p, settings_)
    )
    assert shifted != reference
    assert [json.loads(a)["line"] for a in shifted.splitlines()] == [
        json.loads(b)["line"] for b in reference.splitlines()
    ]
    shutil.rmtree(tmp_path)


def test_threads_reach_the_workers_of_a_local_cluster(monkeypatch):
    """``--threads N`` with ``local:N``: each worker starts with N BLAS threads (Dask's
    default, where the environment sets none, is one)."""
    pytest.importorskip("distributed", reason="needs the dask extra")
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    for name in names:  # (restored after the test, with what Dask sets in this process)
        monkeypatch.delenv(name, raising=False)
    with scale_out._client("local:1", None) as client:
        (seen,) = client.run(lambda: [os.environ.get(n) for n in names]).values()
    assert seen == ["1", "1", "1"]
    with scale_out._client("local:1", 3) as client:
        (seen,) = client.run(lambda: [os.environ.get(n) for n in names]).values()
    assert seen == ["3", "3", "3"]

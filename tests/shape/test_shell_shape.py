"""Issue 19 §3 and §4: one reader of texts and mentions, one set of defaults, one answer
shape per pipeline task, one loading-options object, BLAS threads through threadpoolctl."""

from __future__ import annotations

import os

import helpers
import pytest

from numpy_luke import LukeConfig, LukeTokenizer, cli
from numpy_luke.attention_map import mentions_of
from numpy_luke.errors import InputError, InputTypeError
from numpy_luke.hub import LoadOptions
from numpy_luke.pipelines import PIPELINES, pipeline
from numpy_luke.tasks import BATCH_SIZE, PIPELINE_DEFAULTS

TINY = str(helpers.TINY_LUKE)
BOTH = "[[Lionel]] plays for <mask>."


# ---- §3: fill-mask's answer never depends on an option


def test_fill_mask_answers_as_transformers_whatever_the_text_marks():
    fill = pipeline("fill-mask", model=TINY, top_k=2)
    answer = fill(BOTH)  # a marked mention is context, not a change of shape
    assert (
        isinstance(answer, list)
        and [set(p) for p in answer] == [{"score", "token", "token_str", "sequence"}] * 2
    )


def test_fill_mask_refuses_the_entities_option_naming_the_task_that_answers_both():
    with pytest.raises(InputTypeError, match="pipeline\\('fill-mask-and-entities'\\)"):
        pipeline("fill-mask", model=TINY, entities=True)
    both = pipeline("fill-mask-and-entities", model=TINY, top_k=2)(BOTH)
    assert set(both) == {"text", "masks", "entities"} and len(both["masks"]) == 2
    assert both["masks"] == pipeline("fill-mask", model=TINY, top_k=2)(BOTH)


# ---- §3: defaults live once (tasks.py)


def test_defaults_are_written_once_for_the_pipelines_and_the_command_line():
    parser = cli.build_parser()
    for command, name in (
        ("fill", "top_k"),
        ("typing", "threshold"),
        ("relation", "top_k"),
        ("ner", "max_span_length"),
    ):
        task = cli.COMMANDS[command].task
        args = parser.parse_args([command, "a <mask>"])
        default = PIPELINE_DEFAULTS[task][name]
        assert getattr(args, name) == default == PIPELINES[task].defaults[name]
        assert args.batch_size == BATCH_SIZE


# ---- §3: one reader of a text and its mentions, one message


@pytest.mark.parametrize("reader", ["pipeline", "tokenize", "attention"])
def test_marked_and_given_mentions_give_one_message_everywhere(reader, capsys):
    message = "mentions are marked with [[...]] and given as spans; use one or the other"
    if reader == "pipeline":
        with pytest.raises(InputError) as error:
            pipeline("fill-mask", model=TINY)(BOTH, entity_spans=[(0, 6)])
        assert str(error.value) == message
    elif reader == "attention":
        with pytest.raises(InputError) as error:
            mentions_of(BOTH, ["0:6"])
        assert str(error.value) == message
    else:  # the command line's tokenize said "...; use one"
        assert cli.main(["tokenize", BOTH, "--entity-span", "0:6", "--model", TINY]) == 1
        assert capsys.readouterr().err == f"numpy_luke tokenize: error: {message}\n"


# ---- §3: --threads through threadpoolctl, not environment variables


def test_threads_are_set_in_the_loaded_blas_not_in_the_environment(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    before = dict(os.environ)
    with threadpoolctl.threadpool_limits():  # restores the limits afterwards
        cli.use_threads(1)
        blas = threadpoolctl.threadpool_info()
        assert all(pool["num_threads"] == 1 for pool in blas if pool["user_api"] == "blas")
    assert dict(os.environ) == before


# ---- §4: one loading-options object, passed down whole


def test_pipeline_passes_one_load_options_to_every_file(monkeypatch):
    """pipeline() took revision, local_files_only and cache_dir by hand, not token; now one
    LoadOptions reaches the tokenizer's files, config.json and the weights alike."""
    import huggingface_hub
    from huggingface_hub.errors import EntryNotFoundError

    seen = []

    def fake_download(repo_id, filename, **options):
        seen.append((filename, options))
        path = helpers.TINY_LUKE / filename
        if not path.exists():
            raise EntryNotFoundError(filename)
        return str(path)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    fill = pipeline(
        "fill-mask",
        model="someone/tiny-luke",
        revision="v1",
        token="hf_x",
        cache_dir="/tmp/somewhere",
    )
    assert fill("a <mask>.") == pipeline("fill-mask", model=TINY)("a <mask>.")
    names = {name for name, _ in seen}
    assert {"vocab.json", "entity_vocab.json", "config.json", "model.safetensors"} <= names
    for _, options in seen:
        assert (options["revision"], options["token"], options["cache_dir"]) == (
            "v1",
            "hf_x",
            "/tmp/somewhere",
        )


def test_load_options_given_both_ways_are_refused():
    load = LoadOptions(revision="v1")
    assert LukeConfig.from_pretrained(TINY, load=load).vocab_size > 0
    for call in (
        lambda: LukeConfig.from_pretrained(TINY, load=load, revision="v2"),
        lambda: LukeTokenizer.from_pretrained(TINY, load=load, cache_dir="/tmp"),
        lambda: pipeline("fill-mask", model=TINY, load=load, token="hf_x"),
    ):
        with pytest.raises(TypeError, match="either as load=LoadOptions"):
            call()

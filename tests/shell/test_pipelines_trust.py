"""Issue 14, the pipeline and command-line items: transformers' fill-mask shape and keywords,
sharing between threads, tokenizer/model mismatches, non-finite outputs, terminal escapes
and bounded input work. Each test failed before its fix (see the commit message)."""

import json
import logging
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import helpers
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numpy_luke
from numpy_luke import (
    LukeConfig,
    LukeForEntitySpanClassification,
    LukeForMaskedLM,
    LukeTokenizer,
)
from numpy_luke.errors import CheckpointError, ConfigError, InputError, InputTypeError
from numpy_luke.mentions import fewest_tokens
from numpy_luke.pipelines import (
    EntityPredictionPipeline,
    EntityTypingPipeline,
    FillMaskPipeline,
    NerPipeline,
    RelationClassificationPipeline,
    pipeline,
)

TINY = helpers.TINY_LUKE
TYPING = helpers.FIXTURES / "tiny-luke-typing"
TACRED = helpers.FIXTURES / "tiny-luke-tacred"
NER = helpers.FIXTURES / "tiny-luke-ner"
SEED = "Plants create <mask> through a process known as photosynthesis."
KEYS = {"score", "token", "token_str", "sequence"}


@pytest.fixture(scope="module")
def fill():
    return pipeline("fill-mask", model=TINY)


@pytest.fixture(scope="module")
def tokenizer():
    return LukeTokenizer.from_pretrained(TINY)


# ---- 1. transformers' fill-mask shape, keywords, targets, task from the config ---------


def test_fill_mask_answers_as_transformers(fill):
    one = fill(SEED, top_k=3)
    assert isinstance(one, list) and len(one) == 3 and all(set(p) == KEYS for p in one)
    several = fill("Tokyo is the <mask> of <mask>.", top_k=2)
    assert len(several) == 2 and all(len(row) == 2 and set(row[0]) == KEYS for row in several)
    many = fill([SEED, "Tokyo is the <mask> of <mask>."], top_k=2)
    alone = fill(SEED, top_k=2)  # batched with a longer text: equal to float32 rounding
    assert [p["sequence"] for p in many[0]] == [p["sequence"] for p in alone]
    assert [p["score"] for p in many[0]] == pytest.approx([p["score"] for p in alone], abs=1e-6)
    assert len(many[1]) == 2
    with pytest.raises(InputError, match="nothing to predict: put <mask>"):
        fill("[[Lionel Messi]] plays football.")  # entities alone: entity-prediction


def test_entity_prediction_has_its_own_task(fill):
    entities = pipeline("entity-prediction", model=TINY)
    assert isinstance(entities, EntityPredictionPipeline)
    answer = entities("[[Lionel Messi]] plays for [[FC Barcelona]].", top_k=3)
    assert [(e["mention"], e["start"], e["end"]) for e in answer] == [
        ("Lionel Messi", 0, 12),
        ("FC Barcelona", 23, 35),
    ]
    assert all(len(e["predictions"]) == 3 for e in answer)
    both = pipeline("fill-mask-and-entities", model=TINY)
    combined = both("[[Lionel Messi]] plays for <mask>.", top_k=3)
    assert set(combined) == {"text", "masks", "entities"}
    assert combined["masks"] == fill("[[Lionel Messi]] plays for <mask>.", top_k=3)
    assert combined["entities"] == entities("[[Lionel Messi]] plays for <mask>.", top_k=3)
    with pytest.raises(InputError, match="mark a mention"):
        entities("Plants create <mask>.")


def test_targets_restrict_the_candidates(fill, tokenizer, caplog):
    everything = fill(SEED, top_k=1000)
    scores = {p["token"]: p["score"] for p in everything}
    vocab = tokenizer.get_vocab()
    targets = ["Ġenergy", "energy", "Ġa", "Ġthrough"]
    answer = fill(SEED, targets=targets, top_k=10)
    assert len(answer) == 4  # top_k is cut to the number of targets
    assert sorted(p["token"] for p in answer) == sorted(vocab[t] for t in targets)
    for p in answer:  # probabilities over the whole vocabulary, not renormalised
        assert p["score"] == pytest.approx(scores[p["token"]], abs=1e-12)
    assert [p["score"] for p in answer] == sorted((p["score"] for p in answer), reverse=True)
    assert fill(SEED, targets="Ġenergy") == [p for p in answer if p["token"] == vocab["Ġenergy"]]
    with caplog.at_level(logging.WARNING):
        (replaced,) = fill(SEED, targets=["photosynthesis"])  # not a vocabulary entry
    assert "not in the vocabulary" in caplog.text
    assert (
        replaced["token"] == tokenizer("photosynthesis", add_special_tokens=False)["input_ids"][0]
    )
    set_once = pipeline("fill-mask", model=TINY, targets=targets, top_k=2)
    assert set_once(SEED) == answer[:2]
    for bad in ([], [3], 3, [""]):
        with pytest.raises(InputError, match="target"):
            fill(SEED, targets=bad)


def test_transformers_keywords(fill):
    auto = pipeline(task="fill-mask", model=TINY, dtype="auto", device="cpu")
    assert auto(SEED) == fill(SEED)
    assert pipeline("fill-mask", model=TINY, device=-1, torch_dtype="auto")(SEED) == fill(SEED)
    for device in ("cuda", 0, "mps", "cuda:0"):
        with pytest.raises(InputError, match="CPU"):
            pipeline("fill-mask", model=TINY, device=device)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: pipeline("fill-mask", model=TINY, num_workers=2), "'num_workers'.*top_k, targets"),
        (lambda: pipeline("fill-mask", model=TINY, threshold=0.2), "'threshold'"),
        (lambda: pipeline("entity-typing", model=TYPING, top_k=3), "'top_k'.*threshold"),
        (lambda: pipeline("ner", model=NER, top_k=3), "'top_k'.*max_span_length"),
        (lambda: pipeline("fill-mask", model=TINY)(SEED, threshold=0.1), "'threshold'.*top_k"),
        (lambda: pipeline("ner", model=NER)("Paris.", top_k=2), "'top_k'.*max_span_length"),
        (lambda: pipeline("fill-mask", model=TINY)(SEED, batch_size=2), "'batch_size'"),
    ],
)
def test_unknown_keywords_are_refused_naming_the_allowed_ones(call, message):
    with pytest.raises(InputTypeError, match=message):
        call()


def test_bad_call_options_are_refused_once_for_a_stream_too(fill):
    texts = iter([SEED, SEED])
    with pytest.raises(InputTypeError, match="'topk'.*top_k, targets"):
        fill(texts, topk=2)  # at the call, not as an error record per item
    with pytest.raises(InputError, match="top_k must be"):
        fill(iter([SEED]), top_k=0, on_error="record")


def test_the_task_comes_from_the_config(tmp_path):
    for folder, cls in [
        (TINY, FillMaskPipeline),
        (TYPING, EntityTypingPipeline),
        (TACRED, RelationClassificationPipeline),
        (NER, NerPipeline),
    ]:
        assert type(pipeline(model=folder)) is cls
        assert type(numpy_luke.pipeline(model=str(folder))) is cls
    loaded = LukeForEntitySpanClassification.from_pretrained(NER)
    assert type(pipeline(model=loaded, tokenizer=NER)) is NerPipeline
    bare = tmp_path / "bare"
    shutil.copytree(TINY, bare)
    config = json.loads((bare / "config.json").read_text())
    (bare / "config.json").write_text(json.dumps({**config, "architectures": ["LukeModel"]}))
    with pytest.raises(InputError, match="names no class a pipeline runs.*give the task"):
        pipeline(model=bare)
    with pytest.raises(InputError, match="give a task"):
        pipeline()


# ---- 2. sharing between threads -------------------------------------------------------


def test_shared_pipelines_and_models_from_several_threads():
    texts = [
        SEED,
        "Tokyo is the <mask> of <mask>.",
        "[[Lionel Messi]] plays for <mask>.",
        "Paris <mask>",
        "The model reads words and <mask>. " * 5,
    ]
    fill = pipeline("fill-mask", model=TINY, top_k=4)
    ner = pipeline("ner", model=NER, max_span_length=3)
    ner_texts = [
        "Lionel Messi plays for Inter Miami.",
        "Beyoncé lives in New Orleans.",
        "Paris is in France, and Tokyo is in Japan.",
    ]
    model = LukeForMaskedLM.from_pretrained(TINY)
    tokenizer = LukeTokenizer.from_pretrained(TINY)
    encodings = [tokenizer(t, entity_spans=[(0, 5)], return_tensors="np") for t in texts]
    serial = (
        [fill(t) for t in texts],
        [ner(t) for t in ner_texts],
        [model(**e).entity_logits for e in encodings],
    )

    start = threading.Barrier(6)

    def work(seed):
        start.wait()  # all threads make their first calls at the same time
        order = np.random.default_rng(seed).permutation(len(texts))
        got_fill = {int(i): fill(texts[i]) for i in order}
        got_ner = {i: ner(t) for i, t in enumerate(ner_texts)}
        got_model = {int(i): model(**encodings[i]).entity_logits for i in order}
        return got_fill, got_ner, got_model

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(work, range(6)))
    for got_fill, got_ner, got_model in results:
        assert [got_fill[i] for i in range(len(texts))] == serial[0]
        assert [got_ner[i] for i in range(len(ner_texts))] == serial[1]
        for i in range(len(texts)):
            np.testing.assert_array_equal(got_model[i], serial[2][i])


# ---- 3. a tokenizer and a model that do not belong together ---------------------------


def test_entity_ids_beyond_the_model_are_one_error_at_construction(tokenizer):
    config = LukeConfig.from_pretrained(TINY)
    assert tokenizer.entity_vocab["[MASK2]"] == 32 == config.entity_vocab_size - 1
    small = LukeForMaskedLM(config.updated(entity_vocab_size=32), seed=0)
    with pytest.raises(ConfigError, match=r"'\[MASK2\]' the id 32.*'entity_vocab_size' is 32"):
        pipeline("fill-mask", model=small, tokenizer=tokenizer)
    fewer_words = LukeForMaskedLM(config.updated(vocab_size=config.vocab_size - 1), seed=0)
    with pytest.raises(ConfigError, match="the token '<ent2>' the id 418.*'vocab_size' is 418"):
        pipeline("fill-mask", model=fewer_words, tokenizer=tokenizer)


def test_cli_reports_a_mismatch_in_one_line(tmp_path, cli_fails):
    folder = tmp_path / "mismatch"
    shutil.copytree(TINY, folder)
    vocab = json.loads((folder / "entity_vocab.json").read_text())
    vocab["[MASK2]"] = 40  # beyond the 33 rows of the model's entity table
    (folder / "entity_vocab.json").write_text(json.dumps(vocab))
    line = cli_fails("fill", "[[Lionel Messi]] plays for <mask>.", "--model", folder)
    assert line.startswith("numpy_luke fill: error: the tokenizer gives the entity '[MASK2]'")


# ---- 4. non-finite weights and outputs ------------------------------------------------


def _nan_folder(tmp_path):
    from safetensors.numpy import save_file

    from numpy_luke.weights import load_state_dict

    folder = tmp_path / "nan"
    shutil.copytree(TINY, folder)
    state = {k: np.array(v) for k, v in load_state_dict([TINY / "model.safetensors"]).items()}
    key = next(k for k in state if k.endswith("encoder.layer.0.attention.self.query.weight"))
    state[key][0, 0] = np.nan
    save_file(state, str(folder / "model.safetensors"))
    return folder


def test_non_finite_weights_are_an_error_naming_them(tmp_path, tokenizer):
    model = LukeForMaskedLM.from_pretrained(_nan_folder(tmp_path))
    for task in ("fill-mask", "entity-prediction"):
        broken = pipeline(task, model=model, tokenizer=tokenizer)
        with pytest.raises(
            CheckpointError,
            match="'logits' holds NaN.*weight "
            "'encoder.layer.0.attention.self.query.weight' is not finite",
        ):
            broken("[[Lionel Messi]] plays for <mask>.")


def test_cli_non_finite_weights_one_line_and_strict_json(tmp_path, cli_fails):
    folder = _nan_folder(tmp_path)
    line = cli_fails("fill", SEED, "--json", "--model", folder)
    assert line.startswith("numpy_luke fill: error: the model (LukeForMaskedLM): its output")
    assert "NaN" in line and "query.weight" in line
    from numpy_luke import cli

    with pytest.raises(ValueError, match="JSON"):  # never NaN literals in --json output
        cli.emit([{"score": float("nan")}], True, None)


# ---- 5. terminal escapes --------------------------------------------------------------

ESC = "\x1b]0;pwned\x07\x1b[2J"


def test_tables_escape_labels_titles_mentions_and_texts():
    from numpy_luke import cli

    mention = {"mention": "M" + ESC, "start": 0, "end": 2}
    tables = [
        cli.format_fill(
            {
                "text": "t" + ESC,
                "masks": [],
                "entities": [
                    {**mention, "predictions": [{"score": 0.5, "entity_id": 3, "entity": ESC}]}
                ],
            }
        ),
        cli.format_typing(
            {"text": ESC, "entity": mention, "labels": [{"label": ESC, "score": 0.9}]}
        ),
        cli.format_relation(
            {
                "text": ESC,
                "head": mention,
                "tail": mention,
                "labels": [{"label": ESC, "score": 0.9}],
            }
        ),
        cli.format_ner({"text": ESC, "entities": [{**mention, "label": ESC, "score": 0.9}]}),
        cli.format_tokenize(
            {
                "text": ESC,
                "tokens": ["<s>"],
                "input_ids": [0],
                "entities": [{**mention, "entity": ESC, "entity_id": 3, "positions": [0]}],
            }
        ),
    ]
    for table in tables:
        assert "\x1b" not in table and "\x07" not in table
        assert "\\x1b]0;pwned\\x07" in table


def test_cli_escapes_a_checkpoints_labels_and_json_stays_exact(tmp_path, monkeypatch, capsys):
    from numpy_luke import cli

    folder = tmp_path / "typing"
    shutil.copytree(TYPING, folder)
    config = json.loads((folder / "config.json").read_text())
    config["id2label"] = {i: f"{label}{ESC}" for i, label in config["id2label"].items()}
    config.pop("label2id", None)
    (folder / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("NUMPY_LUKE_DEBUG", "1")
    text = "[[Beyoncé]] lives in New Orleans."
    assert cli.main(["typing", text, "--threshold", "0", "--model", str(folder)]) == 0
    table = capsys.readouterr().out
    assert "\x1b" not in table and table.count("\\x1b[2J") == 9
    assert cli.main(["typing", text, "--threshold", "0", "--json", "--model", str(folder)]) == 0
    (answer,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(p["label"] for p in answer["labels"]) == sorted(config["id2label"].values())


# ---- 6. bounded input work ------------------------------------------------------------


def test_more_mentions_than_the_model_reads_are_refused_up_front(fill):
    both = pipeline("fill-mask-and-entities", model=TINY)
    text = "Lionel Messi plays for <mask>."
    assert len(both(text, entity_spans=[(0, 12)] * 32)["entities"]) == 32  # max_entity_length
    started = time.process_time()
    for spans in ([(0, 12)] * 33, [(0, 12)] * 30_000):
        with pytest.raises(
            InputError, match=f"has {len(spans)} mentions, but the model reads at most 32 per text"
        ):
            both(text, entity_spans=spans)
    assert time.process_time() - started < 5


def test_cli_30000_entity_spans(cli_fails):
    spans = [a for _ in range(30_000) for a in ("--entity-span", "0:12")]
    line = cli_fails("fill", "Lionel Messi plays for <mask>.", *spans, "--model", TINY)
    assert line == (
        "numpy_luke fill: error: the text has 30000 mentions, but the model reads "
        "at most 32 per text (the tokenizer's max_entity_length); split the text"
    )


def test_texts_no_tokenization_can_fit_are_refused_before_tokenizing(fill, tokenizer):
    ner = pipeline("ner", model=NER)
    huge = "Paris " * 2_000_000 + "<mask>"  # 12 MB
    started = time.process_time()
    for run in (lambda: fill(huge), lambda: ner(huge)):
        with pytest.raises(
            InputError,
            match="12,000,006 characters, at least .* tokens, but the model reads at most 510",
        ):
            run()
    assert time.process_time() - started < 5
    # white space that <mask> strips costs no token: such a text is read, not refused
    spaces = "Paris" + " " * 100_000 + "<mask>"
    assert tokenizer.convert_ids_to_tokens(tokenizer(spaces)["input_ids"]) == [
        "<s>",
        "P",
        "aris",
        "<mask>",
        "</s>",
    ]
    assert len(fill(spaces, top_k=1)) == 1


_pieces = st.sampled_from(
    [
        "<mask>",
        " <mask>",
        "   ",
        "\n\t ",
        "Paris",
        "photosynthesis",
        "é",
        "😀",
        "<s>",
        "<ent>",
        ".",
        "aaaaaaaaaaaaaaaaaaaaaaaaa",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_pieces, st.text(max_size=6)), max_size=30).map("".join))
def test_the_up_front_bound_is_exact(fill, tokenizer, text):
    """fewest_tokens never exceeds the true count: no text the model reads is refused."""
    true = len(tokenizer(text, add_special_tokens=False)["input_ids"])
    assert fewest_tokens(tokenizer.words.split(text), fill.longest_token) <= true


def test_the_up_front_bound_is_exact_with_the_real_vocabulary(roberta_dir, tmp_path):
    """The same on RoBERTa's 50,265 tokens (the longest holds 128 bytes with its merges)."""
    tokenizer = LukeTokenizer.from_pretrained(helpers.real_vocab_luke_dir(tmp_path / "rv"))
    longest = max(
        [len(t) for t in tokenizer.get_vocab()]
        + [len(a) + len(b) for a, b in tokenizer.bpe.merge_ranks]
    )
    words = [
        "Plants",
        " create",
        " <mask>",
        "   ",
        "photosynthesis",
        " é",
        "😀",
        "\n",
        "<s>",
        " the",
        "a" * 30,
        "-" * 17,
        " " * 16,
        "ĠĠ",
        "\u200b",
    ]
    rng = np.random.default_rng(0)
    for _ in range(500):
        text = "".join(rng.choice(words, size=rng.integers(1, 40)))
        true = len(tokenizer(text, add_special_tokens=False)["input_ids"])
        assert fewest_tokens(tokenizer.words.split(text), longest) <= true, text


@pytest.mark.parametrize(
    "task, folder, option, values",
    [
        ("fill-mask", TINY, "top_k", [0, -1, 2.5, True, "3"]),
        ("relation-classification", TACRED, "top_k", [0, -1, 2.5]),
        ("ner", NER, "max_span_length", [0, -2, 1.5]),
        ("entity-typing", TYPING, "threshold", [-0.1, 1.5, float("nan"), "high", True]),
    ],
)
def test_call_options_are_checked_as_the_constructor_checks_them(task, folder, option, values):
    built = pipeline(task, model=folder)
    text = {
        "fill-mask": SEED,
        "ner": "Paris is big.",
        "entity-typing": "[[Paris]] is big.",
        "relation-classification": "[[Paris]] is in [[France]].",
    }[task]
    for value in values:
        with pytest.raises(InputError, match=f"{option} must be") as in_call:
            built(text, **{option: value})
        with pytest.raises(InputError, match=f"{option} must be") as at_construction:
            pipeline(task, model=folder, **{option: value})
        assert str(in_call.value) == str(at_construction.value)


def test_cli_threshold_outside_zero_one(cli_fails):
    for value in ("2", "nan", "-0.5"):
        line = cli_fails("typing", "[[Paris]] is big.", "--threshold", value, "--model", TYPING)
        assert line.startswith("numpy_luke typing: error: threshold must be a probability")


# ---- the command line, in process -----------------------------------------------------


@pytest.fixture
def cli_fails(monkeypatch, capsys):
    """cli.main in-process: assert it failed (exit 1) with one line on stderr, nothing on
    stdout; return that line."""
    from numpy_luke import cli

    monkeypatch.setenv("NUMPY_LUKE_DEBUG", "1")

    def fails(*args):
        code = cli.main([str(a) for a in args])
        captured = capsys.readouterr()
        assert code == 1, (captured.out, captured.err)
        assert captured.out == ""
        lines = captured.err.splitlines()
        assert len(lines) == 1, captured.err
        return lines[0]

    return fails

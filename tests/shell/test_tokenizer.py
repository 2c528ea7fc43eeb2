"""LukeTokenizer: interface, published figures, errors, loading and saving.

Exactness against transformers over a broad corpus is in test_tokenizer_goldens.py (and,
live, test_parity_tokenizer.py); properties in test_tokenizer_properties.py.
"""

import json
import shutil

import helpers
import numpy as np
import pytest

from numpy_luke import LukeTokenizer
from numpy_luke.errors import CheckpointNotFoundError, TokenizerFileError
from numpy_luke.tokenizer import BatchEncoding

TOP_SEED = "Top seed Ana Ivanovic said on Thursday she could hardly believe her luck."
TOP_SEED_SPANS = [(9, 21), (30, 38), (39, 42)]
LONG_TOP_SEED = (
    "Top seed Ana Ivanovic said on Thursday she could hardly believe her luck as a fortuitous "
    "netcord helped the new world number one avoid a humiliating second- round exit at "
    "Wimbledon ."
)


def row(*positions, length=30):
    return list(positions) + [-1] * (length - len(positions))


@pytest.fixture(scope="module")
def tiny(tiny_luke_dir):
    return LukeTokenizer.from_pretrained(tiny_luke_dir)


@pytest.fixture(scope="module")
def real_folder(roberta_dir, tmp_path_factory):
    return helpers.real_vocab_luke_dir(tmp_path_factory.mktemp("luke-base"))


@pytest.fixture(scope="module")
def real(real_folder):
    return LukeTokenizer.from_pretrained(real_folder)


# --------------------------------------------------------------------------------------
# The interface other modules rely on


def test_numpy_output_shapes_and_dtypes(tiny):
    text = "Lionel Messi plays for Inter Miami."
    enc = tiny(text, entity_spans=[(0, 12), (23, 34)], return_tensors="np")
    assert isinstance(enc, BatchEncoding) and isinstance(enc, dict)
    words = enc["input_ids"].shape[1]
    assert enc.input_ids.shape == enc.attention_mask.shape == (1, words)
    assert enc.entity_ids.shape == enc.entity_attention_mask.shape == (1, 2)
    assert enc.entity_position_ids.shape == (1, 2, tiny.max_mention_length)
    assert all(value.dtype == np.int64 for value in enc.values())
    assert set(enc) == {
        "input_ids",
        "attention_mask",
        "entity_ids",
        "entity_position_ids",
        "entity_attention_mask",
    }


def test_batch_encoding_reads_by_key_and_attribute(tiny):
    enc = tiny("Tokyo is in Japan.", entity_spans=[(0, 5)])
    assert enc.input_ids is enc["input_ids"]
    assert enc.data == dict(enc)
    with pytest.raises(AttributeError, match="no field 'token_type_ids'"):
        getattr(enc, "token_type_ids")  # noqa: B009


def test_attributes_named_like_transformers(tiny, tiny_luke_dir):
    vocab = json.loads((tiny_luke_dir / "vocab.json").read_text(encoding="utf-8"))
    entity_vocab = json.loads((tiny_luke_dir / "entity_vocab.json").read_text(encoding="utf-8"))
    assert tiny.mask_token == "<mask>" and tiny.mask_token_id == vocab["<mask>"]
    assert tiny.pad_token_id == vocab["<pad>"] and tiny.cls_token_id == vocab["<s>"]
    assert tiny.sep_token_id == tiny.eos_token_id == vocab["</s>"]
    assert tiny.unk_token_id == vocab["<unk>"]
    assert tiny.entity_vocab == entity_vocab
    assert tiny.entity_mask_token == "[MASK]"
    assert tiny.entity_mask_token_id == entity_vocab["[MASK]"]
    assert tiny.entity_mask2_token_id == entity_vocab["[MASK2]"]
    assert tiny.entity_pad_token_id == entity_vocab["[PAD]"]
    assert tiny.entity_unk_token_id == entity_vocab["[UNK]"]
    assert tiny.model_max_length == 512
    assert tiny.max_entity_length == 32 and tiny.max_mention_length == 30
    assert tiny.additional_special_tokens == ["<ent>", "<ent2>"]
    assert tiny.additional_special_tokens_ids == [len(vocab), len(vocab) + 1]
    assert len(tiny) == len(vocab) + 2 and tiny.vocab_size == len(vocab)
    assert tiny.get_vocab()["<ent2>"] == len(vocab) + 1


def test_task_fixes_the_entity_count(tiny_luke_dir):
    assert (
        LukeTokenizer.from_pretrained(tiny_luke_dir, task="entity_classification").max_entity_length
        == 1
    )
    pair = LukeTokenizer.from_pretrained(tiny_luke_dir, task="entity_pair_classification")
    assert pair.max_entity_length == 2
    enc = pair(
        "Paris is in France.",
        entity_spans=[(0, 5), (12, 18)],
        padding="max_length",
        max_length=20,
        return_tensors="np",
    )
    assert enc.entity_position_ids.shape == (1, 2, 30)


def test_task_can_be_given_per_call(tiny, tiny_luke_dir):
    by_call = tiny("Paris is in France.", entity_spans=[(0, 5)], task="entity_classification")
    by_init = LukeTokenizer.from_pretrained(tiny_luke_dir, task="entity_classification")(
        "Paris is in France.", entity_spans=[(0, 5)]
    )
    assert by_call == by_init
    ent = tiny.convert_tokens_to_ids("<ent>")
    assert by_call["input_ids"].count(ent) == 2


def test_return_tensors_pt_is_refused_clearly(tiny):
    with pytest.raises(ValueError, match="numpy_luke returns NumPy"):
        tiny("Hello", return_tensors="pt")


def test_ragged_batch_needs_padding_for_arrays(tiny):
    with pytest.raises(ValueError, match="padding=True"):
        tiny(["Hello", "Hello there my friend"], return_tensors="np")
    enc = tiny(["Hello", "Hello there my friend"], padding=True, return_tensors="np")
    assert enc.input_ids.shape[0] == 2


def test_no_entities_gives_empty_entity_axis(tiny):
    enc = tiny(["Hello", "Hello there"], entity_spans=[[], []], padding=True, return_tensors="np")
    assert enc.entity_ids.shape == (2, 0)
    assert enc.entity_position_ids.shape == (2, 0, tiny.max_mention_length)


def test_truncation_with_entities_keeps_what_fits(tiny):
    """transformers 5.x crashes here; 4.x (and we) drop entities whose mention was cut."""
    text = "Lionel Messi plays for Inter Miami and Argentina."
    spans = [(0, 12), (23, 34), (39, 48)]
    full = tiny(text, entity_spans=spans)
    enc = tiny(text, entity_spans=spans, truncation=True, max_length=12)
    assert len(enc["input_ids"]) == 12
    assert enc["input_ids"][:11] == full["input_ids"][:11]
    kept = [r for r in full["entity_position_ids"] if max(r) < 11]
    assert enc["entity_position_ids"] == kept and 0 < len(kept) < 3


def test_tokenize_convert_decode_round_trip(tiny):
    text = "Plants create energy through photosynthesis."
    tokens = tiny.tokenize(text)
    ids = tiny.convert_tokens_to_ids(tokens)
    assert tiny.convert_ids_to_tokens(ids) == tokens
    assert tiny.decode(ids) == text
    assert tiny.convert_tokens_to_ids("not-a-token-at-all") == tiny.unk_token_id
    assert tiny.batch_decode([ids, ids[:1]]) == [text, tiny.decode(ids[:1])]
    enc = tiny(text, return_tensors="np")
    assert tiny.decode(enc.input_ids[0], skip_special_tokens=True) == text
    with pytest.raises(ValueError, match="not in the vocabulary"):
        tiny.decode([10**6])


def test_mask_token_swallows_the_space_before_it(tiny):
    """<mask> has lstrip=True in the published config: " <mask>" reads as one word."""
    with_space = tiny.tokenize("energy <mask> water")
    assert with_space[with_space.index("<mask>") - 1] == "energy"
    assert with_space[with_space.index("<mask>") + 1].startswith("Ġ")  # " water" keeps it
    glued = tiny.tokenize("energy <mask>water")
    assert glued[glued.index("<mask>") + 1].startswith("w")


def test_add_prefix_space(tiny):
    assert tiny.tokenize("Paris")[0][0] != "Ġ"
    assert tiny.tokenize("Paris", add_prefix_space=True)[0][0] == "Ġ"
    assert tiny("Paris", add_prefix_space=True)["input_ids"][1:-1] == tiny.convert_tokens_to_ids(
        tiny.tokenize(" Paris")
    )


# --------------------------------------------------------------------------------------
# Malformed input: the exception types transformers raises, with messages that say what


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(entity_spans=(0, 3)), TypeError, "must be a list"),
        (dict(entity_spans=[0]), ValueError, r"not a \(start, end\) pair"),
        (dict(entity_spans=[(0, 1, 2)]), ValueError, r"not a \(start, end\) pair"),
        (dict(entity_spans=[(0.0, 3)]), TypeError, "must be ints"),
        (dict(entity_spans=[(0, 300)]), ValueError, "out of range"),
        (dict(entity_spans=[(-1, 3)]), ValueError, "out of range"),
        (dict(entity_spans=[(5, 3)]), ValueError, "reversed"),
        (dict(entity_spans=[(0, 3)], entities=["Tokyo", "Japan"]), ValueError, "1 spans"),
        (dict(entity_spans=[(0, 3)], entities=("Tokyo",)), ValueError, "list of entity titles"),
        (dict(entity_spans=[(0, 3)], entities=[0]), ValueError, "list of entity titles"),
        (dict(entity_spans=[], task="entity_classification"), ValueError, "exactly 1"),
        (dict(entity_spans=[(0, 3)] * 2, task="entity_classification"), ValueError, "exactly 1"),
        (dict(entity_spans=[(0, 3)], task="entity_pair_classification"), ValueError, "exactly 2"),
        (dict(entity_spans=[0, 0], task="entity_pair_classification"), ValueError, "pair"),
        (dict(entity_spans=[], task="entity_span_classification"), ValueError, "at least one"),
        (dict(task="relation_extraction"), ValueError, "not supported"),
        (dict(padding="maximum"), ValueError, "padding="),
        (dict(truncation="only_third"), ValueError, "truncation="),
        (dict(return_token_type_ids=True, add_special_tokens=False), ValueError, "token_type"),
    ],
)
def test_malformed_input(tiny, kwargs, error, message):
    with pytest.raises(error, match=message):
        tiny("Tokyo is the capital of Japan.", **kwargs)


def test_malformed_text(tiny):
    with pytest.raises(ValueError, match="text must be a string"):
        tiny(123)
    with pytest.raises(ValueError, match="one per text"):
        tiny(["a", "b"], entity_spans=[[(0, 1)]])
    with pytest.raises(TypeError, match="must be a list"):
        tiny(["a", "b"], entity_spans=[(0, 1), (0, 1)])


# --------------------------------------------------------------------------------------
# Loading and saving


def test_save_pretrained_round_trip(tiny, tmp_path):
    files = tiny.save_pretrained(tmp_path / "saved")
    assert {p.rsplit("/", 1)[1] for p in files} == {
        "vocab.json",
        "merges.txt",
        "entity_vocab.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "added_tokens.json",
    }
    again = LukeTokenizer.from_pretrained(tmp_path / "saved")
    text = "Beyoncé lives in the United States, <mask> New Orleans."
    spans = [(0, 7), (21, 34), (43, 54)]
    for task in (None, "entity_span_classification"):
        assert again(text, entity_spans=spans, task=task) == tiny(
            text, entity_spans=spans, task=task
        )
    assert again.get_vocab() == tiny.get_vocab()
    assert again.tokenize("a <mask> b") == tiny.tokenize("a <mask> b")


def test_overrides_win_over_files(tiny_luke_dir):
    tok = LukeTokenizer.from_pretrained(tiny_luke_dir, max_mention_length=4, model_max_length=64)
    assert tok.max_mention_length == 4 and tok.model_max_length == 64
    enc = tok("Lionel Messi", entity_spans=[(0, 12)])
    assert len(enc["entity_position_ids"][0]) == 4


def test_from_hub_cache_offline(tiny_luke_dir, hf_cache):
    helpers.place_in_hf_cache(tiny_luke_dir, hf_cache, "studio-ousia/tiny-luke")
    tok = LukeTokenizer.from_pretrained(
        "studio-ousia/tiny-luke", cache_dir=hf_cache, local_files_only=True
    )
    assert (
        tok("Tokyo")["input_ids"]
        == LukeTokenizer.from_pretrained(tiny_luke_dir)("Tokyo")["input_ids"]
    )
    with pytest.raises(CheckpointNotFoundError):
        LukeTokenizer.from_pretrained(
            "studio-ousia/not-cached", cache_dir=hf_cache, local_files_only=True
        )


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("tokenizer_config.json", "{not json", "not valid JSON"),
        ("tokenizer_config.json", "[1, 2]", "expected a JSON object"),
        ("tokenizer_config.json", json.dumps({"entity_token_1": {"lstrip": True}}), "content"),
        ("added_tokens.json", json.dumps({"<ent>": "x"}), "not an int"),
        ("entity_vocab.json", json.dumps({"[PAD]": 0, "[UNK]": 1}), "MASK"),
        ("vocab.json", json.dumps(["a"]), "JSON object"),
    ],
)
def test_broken_files_raise_tokenizer_file_error(tiny_luke_dir, tmp_path, name, content, message):
    folder = tmp_path / "broken"
    shutil.copytree(tiny_luke_dir, folder)
    (folder / name).write_text(content, encoding="utf-8")
    with pytest.raises(TokenizerFileError, match=message):
        LukeTokenizer.from_pretrained(folder)


def test_missing_required_file(tiny_luke_dir, tmp_path):
    folder = tmp_path / "partial"
    shutil.copytree(tiny_luke_dir, folder)
    (folder / "merges.txt").unlink()
    with pytest.raises(CheckpointNotFoundError, match="merges.txt"):
        LukeTokenizer.from_pretrained(folder)


# --------------------------------------------------------------------------------------
# Published figures: transformers' LukeTokenizer tests for studio-ousia/luke-base and
# RoBERTa. They need the real word vocabulary only; the real luke-base entity vocabulary is
# not available, so entity ids are checked through `entity_vocab` (as the published tests
# themselves do) and the numeric [MASK2] id is not checked.


def decode_plain(tok, ids):
    return tok.decode(ids, spaces_between_special_tokens=False)


@pytest.mark.published
def test_published_hello_world(real):
    assert real("Hello world")["input_ids"] == [0, 31414, 232, 2]
    assert real(" Hello world")["input_ids"] == [0, 20920, 232, 2]


@pytest.mark.published
def test_published_embedded_mask(real):
    enc = real("A, <mask> AllenNLP sentence.", return_token_type_ids=True)
    assert enc["input_ids"] == [0, 250, 6, 50264, 3823, 487, 21992, 3645, 4, 2]
    assert real.convert_ids_to_tokens(enc["input_ids"]) == [
        "<s>",
        "A",
        ",",
        "<mask>",
        "ĠAllen",
        "N",
        "LP",
        "Ġsentence",
        ".",
        "</s>",
    ]
    assert sum(enc["token_type_ids"]) == 0 and set(enc["attention_mask"]) == {1}


@pytest.mark.published
def test_published_integration_string(real):
    text = (
        "This is a test 😊\nI was born in 92000, and this is falsé.\n生活的真谛是\nHi  Hello\n"
        "Hi   Hello\n\n \n  \n Hello\n<s>\nhi<s>there\nThe following string should be properly "
        "encoded: Hello.\nBut ird and ปี   ird   ด\nHey how are you doing"
    )
    expected = [
        713,
        16,
        10,
        1296,
        17841,
        27969,
        50118,
        100,
        21,
        2421,
        11,
        8403,
        151,
        6,
        8,
        42,
        16,
        22461,
        1140,
        4,
        50118,
        48998,
        37127,
        20024,
        2023,
        44574,
        49122,
        4333,
        36484,
        7487,
        3726,
        48569,
        50118,
        30086,
        1437,
        20920,
        50118,
        30086,
        1437,
        1437,
        20920,
        50140,
        1437,
        50118,
        1437,
        1437,
        50118,
        20920,
        50118,
        0,
        50118,
        3592,
        0,
        8585,
        50118,
        133,
        511,
        6755,
        197,
        28,
        5083,
        45320,
        35,
        20920,
        4,
        50118,
        1708,
        1437,
        8602,
        8,
        1437,
        24107,
        3726,
        24107,
        8906,
        1437,
        1437,
        1437,
        8602,
        1437,
        1437,
        1437,
        24107,
        10674,
        50118,
        13368,
        141,
        32,
        47,
        608,
    ]
    ids = real(text, add_special_tokens=False)["input_ids"]
    assert ids == expected
    assert real.decode(ids) == text


@pytest.mark.published
@pytest.mark.parametrize("with_entities", [True, False])
def test_published_single_text(real, with_entities):
    entities = ["Ana Ivanovic", "Thursday", "Dummy Entity"] if with_entities else None
    enc = real(TOP_SEED, entities=entities, entity_spans=TOP_SEED_SPANS, return_token_type_ids=True)
    ids = enc["input_ids"]
    assert decode_plain(real, ids) == f"<s>{TOP_SEED}</s>"
    assert decode_plain(real, ids[3:6]) == " Ana Ivanovic"
    assert decode_plain(real, ids[8:9]) == " Thursday"
    assert decode_plain(real, ids[9:10]) == " she"
    vocab, mask = real.entity_vocab, real.entity_mask_token_id
    assert enc["entity_ids"] == (
        [vocab["Ana Ivanovic"], vocab["Thursday"], vocab["[UNK]"]] if with_entities else [mask] * 3
    )
    assert enc["entity_attention_mask"] == [1, 1, 1]
    assert enc["entity_token_type_ids"] == [0, 0, 0]
    assert enc["entity_position_ids"] == [row(3, 4, 5), row(8), row(9)]


@pytest.mark.published
@pytest.mark.parametrize("with_entities", [True, False])
def test_published_text_pair(real, with_entities):
    sentence, pair = "Top seed Ana Ivanovic said on Thursday", "She could hardly believe her luck."
    enc = real(
        sentence,
        pair,
        entity_spans=[(9, 21), (30, 38)],
        entity_spans_pair=[(0, 3)],
        entities=["Ana Ivanovic", "Thursday"] if with_entities else None,
        entities_pair=["Dummy Entity"] if with_entities else None,
        return_token_type_ids=True,
    )
    ids = enc["input_ids"]
    assert decode_plain(real, ids) == f"<s>{sentence}</s></s>{pair}</s>"
    assert decode_plain(real, ids[3:6]) == " Ana Ivanovic"
    assert decode_plain(real, ids[8:9]) == " Thursday"
    assert decode_plain(real, ids[11:12]) == "She"
    vocab, mask = real.entity_vocab, real.entity_mask_token_id
    assert enc["entity_ids"] == (
        [vocab["Ana Ivanovic"], vocab["Thursday"], vocab["[UNK]"]] if with_entities else [mask] * 3
    )
    assert enc["entity_token_type_ids"] == [0, 0, 0]
    assert enc["entity_position_ids"] == [row(3, 4, 5), row(8), row(11)]


@pytest.mark.published
@pytest.mark.parametrize("pair", [False, True])
def test_published_padding_shapes(real, pair):
    args = (
        (TOP_SEED, None, TOP_SEED_SPANS, None)
        if not pair
        else (
            "Top seed Ana Ivanovic said on Thursday",
            "She could hardly believe her luck.",
            [(9, 21), (30, 38)],
            [(0, 3)],
        )
    )
    enc = real(
        args[0],
        args[1],
        entity_spans=args[2],
        entity_spans_pair=args[3],
        return_token_type_ids=True,
        padding="max_length",
        max_length=30,
        max_entity_length=16,
        return_tensors="np",
    )
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        assert enc[key].shape == (1, 30)
    for key in ("entity_ids", "entity_attention_mask", "entity_token_type_ids"):
        assert enc[key].shape == (1, 16)
    assert enc["entity_position_ids"].shape == (1, 16, real.max_mention_length)


@pytest.mark.published
def test_published_entity_classification(real_folder):
    tok = LukeTokenizer.from_pretrained(real_folder, task="entity_classification")
    enc = tok(LONG_TOP_SEED, entity_spans=[(39, 42)], return_token_type_ids=True)
    assert len(enc["input_ids"]) == len(enc["attention_mask"]) == len(enc["token_type_ids"]) == 42
    # transformers' default for clean_up_tokenization_spaces was True when this figure was
    # published ("Wimbledon ." -> "Wimbledon."); 4.57 defaults to False, so ask for it.
    assert tok.decode(
        enc["input_ids"], spaces_between_special_tokens=False, clean_up_tokenization_spaces=True
    ) == (
        "<s>Top seed Ana Ivanovic said on Thursday<ent> she<ent> could hardly believe her luck "
        "as a fortuitous netcord helped the new world number one avoid a humiliating second- "
        "round exit at Wimbledon.</s>"
    )
    assert decode_plain(tok, enc["input_ids"][9:12]) == "<ent> she<ent>"
    assert enc["entity_ids"] == [tok.entity_mask_token_id] == [2]  # [MASK] is 2 in luke-base
    assert enc["entity_attention_mask"] == [1] and enc["entity_token_type_ids"] == [0]
    assert enc["entity_position_ids"] == [row(9, 10, 11)]

    padded = tok(
        LONG_TOP_SEED,
        entity_spans=[(39, 42)],
        return_token_type_ids=True,
        padding="max_length",
        return_tensors="np",
    )
    assert padded["input_ids"].shape == padded["token_type_ids"].shape == (1, 512)
    assert padded["entity_ids"].shape == padded["entity_token_type_ids"].shape == (1, 1)
    assert padded["entity_position_ids"].shape == (1, 1, 30)


@pytest.mark.published
def test_published_entity_pair_classification(real_folder):
    tok = LukeTokenizer.from_pretrained(real_folder, task="entity_pair_classification")
    enc = tok(TOP_SEED, entity_spans=[(9, 21), (39, 42)], return_token_type_ids=True)
    assert decode_plain(tok, enc["input_ids"]) == (
        "<s>Top seed<ent> Ana Ivanovic<ent> said on Thursday<ent2> she<ent2> could hardly "
        "believe her luck.</s>"
    )
    assert decode_plain(tok, enc["input_ids"][3:8]) == "<ent> Ana Ivanovic<ent>"
    assert decode_plain(tok, enc["input_ids"][11:14]) == "<ent2> she<ent2>"
    # published: [2, 3], the ids of [MASK] and [MASK2] in luke-base's entity vocabulary
    assert enc["entity_ids"] == [tok.entity_mask_token_id, tok.entity_mask2_token_id]
    assert enc["entity_attention_mask"] == [1, 1] and enc["entity_token_type_ids"] == [0, 0]
    assert enc["entity_position_ids"] == [row(3, 4, 5, 6, 7), row(11, 12, 13)]

    padded = tok(
        TOP_SEED,
        entity_spans=[(9, 21), (39, 42)],
        return_token_type_ids=True,
        padding="max_length",
        max_length=30,
        return_tensors="np",
    )
    assert padded["input_ids"].shape == (1, 30)
    assert padded["entity_ids"].shape == (1, 2)
    assert padded["entity_position_ids"].shape == (1, 2, 30)


@pytest.mark.published
def test_published_entity_span_classification(real_folder):
    tok = LukeTokenizer.from_pretrained(real_folder, task="entity_span_classification")
    spans = [(0, 8), (9, 21), (39, 42)]
    enc = tok(TOP_SEED, entity_spans=spans, return_token_type_ids=True)
    assert decode_plain(tok, enc["input_ids"]) == f"<s>{TOP_SEED}</s>"
    assert enc["entity_ids"] == [tok.entity_mask_token_id] * 3 == [2, 2, 2]
    assert enc["entity_attention_mask"] == [1, 1, 1]
    assert enc["entity_token_type_ids"] == [0, 0, 0]
    assert enc["entity_position_ids"] == [row(1, 2), row(3, 4, 5), row(9)]
    assert enc["entity_start_positions"] == [1, 3, 9]
    assert enc["entity_end_positions"] == [2, 5, 9]

    padded = tok(
        TOP_SEED,
        entity_spans=spans,
        return_token_type_ids=True,
        padding="max_length",
        max_length=30,
        max_entity_length=16,
        return_tensors="np",
    )
    assert padded["input_ids"].shape == (1, 30)
    for key in (
        "entity_ids",
        "entity_attention_mask",
        "entity_token_type_ids",
        "entity_start_positions",
        "entity_end_positions",
    ):
        assert padded[key].shape == (1, 16)
    assert padded["entity_position_ids"].shape == (1, 16, 30)


@pytest.mark.published
def test_published_padding_entity_inputs(real):
    sentence = (
        "Japanese is an East Asian language spoken by about 128 million people, primarily in Japan."
    )
    span = (15, 34)
    pad, mask = real.entity_vocab["[PAD]"], real.entity_vocab["[MASK]"]
    enc = real([sentence, sentence], entity_spans=[[span], [span, span]], padding=True)
    assert enc["entity_ids"] == [[mask, pad], [mask, mask]]
    enc = real([sentence, sentence], entity_spans=[[], [span, span]], padding=True)
    assert enc["entity_ids"] == [[pad, pad], [mask, mask]]

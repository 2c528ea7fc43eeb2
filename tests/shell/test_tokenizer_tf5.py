"""Tokenizer folders written by transformers 5.x (issue 20, section 3).

``tests/fixtures/tiny-luke-tf5`` is the tiny fixture's tokenizer saved by transformers
5.25 (``tests/fixtures/make_tiny_tf5_tokenizer.py`` says how, and what 5.x writes): only
tokenizer.json and tokenizer_config.json. It must encode exactly as the 4.x-layout folder
it came from. ``tf5_layout`` below rewrites any 4.x folder the way 5.x does (checked
against the real 5.x files), for the real-vocabulary check and the hostile files.
"""

from __future__ import annotations

import json
import shutil
import tracemalloc
from pathlib import Path

import pytest
from helpers import FIXTURES, TINY_LUKE, place_in_hf_cache
from hypothesis import given, settings
from hypothesis import strategies as st

import numpy_luke
from numpy_luke import LukeTokenizer, NumpyLukeError, TokenizerFileError

TF5 = FIXTURES / "tiny-luke-tf5"
TEXTS = [
    "Lionel Messi plays for Inter Miami CF.",
    "a [MASK] b <mask> c <ent> [PAD] <ent2>",
    "  Beyoncé  lives in Los Angeles.\n",
    "Tokyo<mask>",
    "",
]
ENTITY_SPECIALS = ("[UNK]", "[PAD]", "[MASK]", "[MASK2]")


def tf5_layout(folder: Path, dest: Path) -> Path:
    """Write ``folder``'s tokenizer (4.x layout) as transformers 5.x saves it."""
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    merges = [
        line.split()
        for line in (folder / "merges.txt").read_text(encoding="utf-8").splitlines()[1:]
        if line
    ]
    added = json.loads((folder / "added_tokens.json").read_text(encoding="utf-8"))
    entities = json.loads((folder / "entity_vocab.json").read_text(encoding="utf-8"))
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))

    def record(i, content, lstrip=False, normalized=False):
        return {
            "id": i,
            "content": content,
            "single_word": False,
            "lstrip": lstrip,
            "rstrip": False,
            "normalized": normalized,
            "special": True,
        }

    records = [record(vocab[t], t) for t in ("<s>", "<pad>", "</s>", "<unk>")]
    records.append(record(vocab["<mask>"], "<mask>", lstrip=True, normalized=True))
    records += [record(i, t, normalized=True) for t, i in sorted(added.items(), key=lambda x: x[1])]
    after = max([*vocab.values(), *added.values()]) + 1
    records += [record(after + k, t) for k, t in enumerate(ENTITY_SPECIALS)]
    tokenizer_json = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": records,
        "normalizer": None,
        "pre_tokenizer": {
            "type": "ByteLevel",
            "add_prefix_space": False,
            "trim_offsets": True,
            "use_regex": True,
        },
        "post_processor": {
            "type": "RobertaProcessing",
            "sep": ["</s>", 2],
            "cls": ["<s>", 0],
            "trim_offsets": True,
            "add_prefix_space": True,
        },
        "decoder": {
            "type": "ByteLevel",
            "add_prefix_space": True,
            "trim_offsets": True,
            "use_regex": True,
        },
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": "",
            "end_of_word_suffix": "",
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": merges,
        },
    }
    settings = {
        key: (value["content"] if isinstance(value, dict) else value)
        for key, value in config.items()
        if key not in ("entity_token_1", "entity_token_2")
    }
    settings.update(
        backend="tokenizers",
        entity_1_token="<ent>",
        entity_2_token="<ent2>",
        entity_unk_token="[UNK]",
        entity_pad_token="[PAD]",
        entity_mask_token="[MASK]",
        entity_mask2_token="[MASK2]",
        entity_vocab=entities,
        extra_special_tokens=["<ent>", "<ent2>"],
        is_local=True,
        local_files_only=False,
        special_tokens_pattern="cls_double_sep",
        token_type_ids_pattern="all_zeros",
        token_type_ids_include_special_tokens=True,
        clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output=True,
    )
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "tokenizer.json").write_text(
        json.dumps(tokenizer_json, ensure_ascii=False), encoding="utf-8"
    )
    (dest / "tokenizer_config.json").write_text(
        json.dumps(settings, ensure_ascii=False), encoding="utf-8"
    )
    return dest


def encodings(tokenizer, text, **options):
    return tokenizer(text, **options)


@pytest.fixture(scope="module")
def pair():
    return LukeTokenizer.from_pretrained(TF5), LukeTokenizer.from_pretrained(TINY_LUKE)


def test_the_fixture_holds_only_what_5x_writes():
    assert sorted(p.name for p in TF5.iterdir()) == ["tokenizer.json", "tokenizer_config.json"]


def test_the_converter_writes_what_5x_writes(tmp_path):
    ours = tf5_layout(TINY_LUKE, tmp_path / "converted")
    real = json.loads((TF5 / "tokenizer.json").read_text())
    made = json.loads((ours / "tokenizer.json").read_text())
    assert made == real
    real_config = json.loads((TF5 / "tokenizer_config.json").read_text())
    made_config = json.loads((ours / "tokenizer_config.json").read_text())
    assert made_config["entity_vocab"] == real_config["entity_vocab"]
    assert set(made_config) == set(real_config)


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"entity_spans": [(0, 1)]},
        {"entity_spans": [(0, 1)], "task": "entity_classification"},
        {"text_pair": "Paris <mask>", "padding": "max_length", "max_length": 40},
        {"entities": ["Tokyo"], "entity_spans": [(0, 1)], "return_special_tokens_mask": True},
    ],
)
def test_a_5x_folder_encodes_as_the_4x_folder(pair, text, options):
    tf5, tf4 = pair
    if "entity_spans" in options and not text:
        return  # no span fits an empty text
    assert encodings(tf5, text, **options) == encodings(tf4, text, **options)


def test_the_same_tables_and_tokens(pair):
    tf5, tf4 = pair
    assert tf5.get_vocab() == tf4.get_vocab() and len(tf5) == len(tf4) == 419
    assert tf5.entity_vocab == tf4.entity_vocab
    assert tf5.all_special_ids == tf4.all_special_ids
    assert tf5.mask_token_id == tf4.mask_token_id == 416
    assert tf5.convert_tokens_to_ids(["<ent>", "<ent2>"]) == [417, 418]
    ids = tf4("Hello , world. <mask>")["input_ids"]
    assert tf5.decode(ids) == tf4.decode(ids)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab Tokyo[]<>MASKPDent2/s.é\n")), max_size=40))
def test_random_texts_encode_alike(pair, text):
    tf5, tf4 = pair
    assert tf5(text)["input_ids"] == tf4(text)["input_ids"]


def test_a_saved_5x_folder_reloads_alike(pair, tmp_path):
    """numpy_luke saves the 4.x layout, which both transformers versions read."""
    tf5, tf4 = pair
    tf5.save_pretrained(tmp_path)
    assert (tmp_path / "vocab.json").is_file()
    again = LukeTokenizer.from_pretrained(tmp_path)
    assert again(TEXTS[1], entity_spans=[(0, 1)]) == tf4(TEXTS[1], entity_spans=[(0, 1)])


def test_the_real_vocabulary_in_the_5x_layout(tmp_path):
    from helpers import real_vocab_luke_dir

    folder = real_vocab_luke_dir(tmp_path / "real")
    if folder is None:
        pytest.skip("real RoBERTa vocabulary not available")
    tf4 = LukeTokenizer.from_pretrained(folder)
    tf5 = LukeTokenizer.from_pretrained(tf5_layout(folder, tmp_path / "real-tf5"))
    for text in [
        "Beyoncé lives in Los Angeles.",
        "Tokyo is the capital of <mask>.",
        "[PAD] [MASK] <ent> 東京 🙂",
    ]:
        assert tf5(text, entity_spans=[(0, 1)]) == tf4(text, entity_spans=[(0, 1)])


def test_auto_tokenizer_reads_a_5x_folder_from_the_cache_offline(tmp_path, pair):
    cache = tmp_path / "cache"
    place_in_hf_cache(TF5, cache, "someone/luke-finetuned")
    tokenizer = numpy_luke.AutoTokenizer.from_pretrained(
        "someone/luke-finetuned", cache_dir=cache, local_files_only=True
    )
    assert tokenizer(TEXTS[0])["input_ids"] == pair[1](TEXTS[0])["input_ids"]


def test_custom_entity_markers_in_5x_names_are_honoured(tmp_path):
    folder = tf5_layout(TINY_LUKE, tmp_path / "tf5")
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["entity_1_token"], config["entity_2_token"] = "<ent2>", "<ent>"  # swapped
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    tokenizer = LukeTokenizer.from_pretrained(folder)
    assert tokenizer.entity_token_1 == "<ent2>"


# ---------------------------------------------------------------------------- hostile files


@pytest.fixture
def folder(tmp_path):
    copy = tmp_path / "tf5"
    shutil.copytree(TF5, copy)
    return copy


def spoil(folder, name, change):
    path = folder / name
    if isinstance(change, bytes):
        path.write_bytes(change)
        return
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def fails(folder, *words):
    with pytest.raises(TokenizerFileError) as caught:
        LukeTokenizer.from_pretrained(folder)
    for word in words:
        assert word in str(caught.value), str(caught.value)


@pytest.mark.parametrize("content", [b'{"model": ', b"\xff\xfe", b"", b"[" * 100_000, b"[1]"])
def test_broken_tokenizer_json(folder, content):
    spoil(folder, "tokenizer.json", content)
    fails(folder, "tokenizer.json")


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda d: d.pop("model"), ["tokenizer.json", "BPE"]),
        (lambda d: d["model"].update(type="WordPiece"), ["tokenizer.json", "'WordPiece'"]),
        (lambda d: d["model"].update(vocab=["<s>", "<pad>"]), ["model.vocab", "object"]),
        (lambda d: d["model"]["vocab"].update({"Ġzzz": 5}), ["model.vocab", "share an id"]),
        (lambda d: d["model"]["vocab"].update({"Ġzzz": -1}), ["model.vocab", "-1"]),
        (lambda d: d["model"].update(merges={"a": "b"}), ["model.merges", "list"]),
        (lambda d: d["model"]["merges"].append(["a", "b", "c"]), ["model.merges", "merge 156"]),
        (lambda d: d["model"]["merges"].append("ab"), ["model.merges", "'ab'"]),
        (lambda d: d["model"].update(dropout=0.1), ["dropout", "0.1"]),
        (lambda d: d["model"].update(unk_token="<unk>"), ["unk_token"]),
        (
            lambda d: d["model"].update(continuing_subword_prefix="##"),
            ["continuing_subword_prefix"],
        ),
        (lambda d: d.update(added_tokens={"x": 1}), ["added_tokens", "list"]),
        (lambda d: d["added_tokens"].append({"id": -3, "content": "<x>"}), ["added token", "-3"]),
        (lambda d: d["added_tokens"].append({"id": 500, "content": 7}), ["added token 11"]),
        (
            lambda d: d["added_tokens"].append({"id": 500, "content": "<x>", "single_word": True}),
            ["single_word"],
        ),
        (lambda d: d["added_tokens"].append({"id": 5, "content": "<x>"}), ["id 5", "already"]),
    ],
)
def test_bad_tokenizer_json_values_are_refused_by_name(folder, change, words):
    spoil(folder, "tokenizer.json", change)
    fails(folder, *words)


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda d: d.update(entity_vocab=["[PAD]"]), ["tokenizer_config.json", "entity_vocab"]),
        (lambda d: d["entity_vocab"].pop("[MASK2]"), ["entity_vocab", "[MASK2] are missing"]),
        (lambda d: d["entity_vocab"].update({"Tokyo": "3"}), ["entity_vocab", "'3'"]),
        (lambda d: d.pop("entity_vocab"), ["entity_vocab.json not found"]),
        (lambda d: d.update(entity_mask_token="<m>"), ["entity_mask_token", "[MASK]"]),
        (lambda d: d.update(entity_1_token=5), ["entity_1_token"]),
        (lambda d: d.update(max_entity_length=2**40), ["max_entity_length"]),
    ],
)
def test_bad_tokenizer_config_values_are_refused_by_name(folder, change, words):
    spoil(folder, "tokenizer_config.json", change)
    if words[0].endswith("not found"):
        with pytest.raises(NumpyLukeError, match=words[0]):
            LukeTokenizer.from_pretrained(folder)
    else:
        fails(folder, *words)


def test_entity_vocabularies_that_disagree_are_refused(folder):
    (folder / "entity_vocab.json").write_text(
        json.dumps({"[PAD]": 0, "[UNK]": 1, "[MASK]": 2, "[MASK2]": 3})
    )
    fails(folder, "entity_vocab.json", "different")
    shutil.copyfile(TINY_LUKE / "entity_vocab.json", folder / "entity_vocab.json")
    assert LukeTokenizer.from_pretrained(folder)(TEXTS[0])  # the same: fine


def test_a_4x_folder_wins_over_a_stray_tokenizer_json(tmp_path):
    folder = tmp_path / "both"
    shutil.copytree(TINY_LUKE, folder)
    (folder / "tokenizer.json").write_bytes(b"not read")
    assert LukeTokenizer.from_pretrained(folder)(TEXTS[0]) == LukeTokenizer.from_pretrained(
        TINY_LUKE
    )(TEXTS[0])


def test_no_vocabulary_at_all_names_vocab_json(folder):
    (folder / "tokenizer.json").unlink()
    with pytest.raises(NumpyLukeError, match="vocab.json not found"):
        LukeTokenizer.from_pretrained(folder)


@pytest.mark.parametrize("name", ["tokenizer.json", "tokenizer_config.json"])
def test_big_files_cost_memory_in_proportion_to_their_size(folder, name):
    content = b"[" + b",".join([b"{}"] * 350_000) + b"]"  # ~1 MB
    (folder / name).write_bytes(content)
    tracemalloc.start()
    with pytest.raises(NumpyLukeError):
        LukeTokenizer.from_pretrained(folder)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 16_000_000 + 64 * len(content)

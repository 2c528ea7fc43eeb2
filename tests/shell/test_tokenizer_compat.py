"""transformers users' tokenizer code that must just work (issue 14 A1-A4, A12, B), without
torch: the folder layouts transformers 4.x and 5.x write, empty tokens, building the tokenizer
directly, padding and truncation sides, all-or-nothing saving and the generic methods of
transformers' tokenizers. The same behaviours are compared with transformers itself in
``test_parity_differential.py`` and ``test_parity_tokenizer.py`` (parity suite)."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from types import SimpleNamespace

import helpers
import numpy as np
import pytest

from numpy_luke import LukeTokenizer
from numpy_luke.errors import TokenizerFileError
from numpy_luke.tokenizer_files import AddedToken

TINY = helpers.TINY_LUKE
MASKED = "Tokyo is the <mask> of Japan."
TEXT = "Tokyo is the capital of Japan."


def flags(lstrip=False):
    return {
        "lstrip": lstrip,
        "normalized": True,
        "rstrip": False,
        "single_word": False,
        "special": True,
    }


def transformers_457_layout(folder: Path, ids: dict[str, int]) -> None:
    """Rewrite ``folder``'s settings as transformers 4.57.6's LukeTokenizer.save_pretrained
    writes them (copied from a folder it wrote): ``added_tokens_decoder`` carries the flags
    (``<mask>`` strips left), every role is a plain string, the additional special tokens
    are listed twice, special_tokens_map.json has flag objects without "__type"."""
    decoder = {
        str(i): {"content": token, **flags(token == "<mask>")}
        for token, i in sorted(ids.items(), key=lambda item: item[1])
    }
    config = {
        "add_prefix_space": False,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": ["<ent>", "<ent2>", "<ent>", "<ent2>"],
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": False,
        "cls_token": "<s>",
        "entity_mask2_token": "[MASK2]",
        "entity_mask_token": "[MASK]",
        "entity_pad_token": "[PAD]",
        "entity_token_1": "<ent>",
        "entity_token_2": "<ent2>",
        "entity_unk_token": "[UNK]",
        "eos_token": "</s>",
        "errors": "replace",
        "extra_special_tokens": {},
        "mask_token": "<mask>",
        "max_entity_length": 32,
        "max_mention_length": 30,
        "model_max_length": 512,
        "pad_token": "<pad>",
        "sep_token": "</s>",
        "task": None,
        "tokenizer_class": "LukeTokenizer",
        "unk_token": "<unk>",
    }
    plain = {k: v for k, v in flags().items() if k != "special"}
    special_map = {
        role: {"content": token, **plain, "lstrip": token == "<mask>"}
        for role, token in (
            ("bos_token", "<s>"),
            ("cls_token", "<s>"),
            ("eos_token", "</s>"),
            ("mask_token", "<mask>"),
            ("pad_token", "<pad>"),
            ("sep_token", "</s>"),
            ("unk_token", "<unk>"),
        )
    }
    special_map["additional_special_tokens"] = [
        "<ent>",
        "<ent2>",
        {"content": "<ent>", **plain},
        {"content": "<ent2>", **plain},
    ]
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    (folder / "special_tokens_map.json").write_text(json.dumps(special_map, indent=2))
    (folder / "added_tokens.json").write_text(
        json.dumps({"<ent2>": ids["<ent2>"], "<ent>": ids["<ent>"]})
    )


def transformers_5_layout(folder: Path, ids: dict[str, int]) -> None:
    """transformers 5.x: the same, with the additional special tokens renamed
    ``extra_special_tokens`` (a list) and no special_tokens_map.json."""
    transformers_457_layout(folder, ids)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["extra_special_tokens"] = config.pop("additional_special_tokens")
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    (folder / "special_tokens_map.json").unlink()
    (folder / "added_tokens.json").unlink()


TINY_IDS = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 416, "<ent>": 417, "<ent2>": 418}
REAL_IDS = {
    "<s>": 0,
    "<pad>": 1,
    "</s>": 2,
    "<unk>": 3,
    "<mask>": 50264,
    "<ent>": 50265,
    "<ent2>": 50266,
}


def copy_of(folder: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for file in folder.iterdir():
        target = dest / file.name
        if file.is_symlink():
            target.symlink_to(file.resolve())
        else:
            shutil.copyfile(file, target)
    return dest


CALLS = [
    dict(text=MASKED),
    dict(text=MASKED, entity_spans=[(0, 5), (22, 27)]),
    dict(text=[MASKED, TEXT], text_pair=[TEXT, MASKED], padding=True),
    dict(text="a <mask>b <ent> c <ent2>", task="entity_classification", entity_spans=[(0, 1)]),
]


def assert_same_encodings(ours: LukeTokenizer, reference: LukeTokenizer) -> None:
    for call in CALLS:
        assert ours(**call) == reference(**call), call
    assert ours.all_special_tokens == reference.all_special_tokens
    assert len(ours) == len(reference)


# ---------------------------------------------------------------------------------------
# A1: the layouts transformers writes


@pytest.mark.parametrize("layout", [transformers_457_layout, transformers_5_layout])
def test_layout_written_by_transformers_reads_the_same_tiny(tmp_path, layout):
    folder = copy_of(TINY, tmp_path / "saved")
    layout(folder, TINY_IDS)
    ours = LukeTokenizer.from_pretrained(folder)
    reference = LukeTokenizer.from_pretrained(TINY)
    assert ours.tokens.tokens["<mask>"].lstrip  # the decoder's flag, not the plain string's
    assert_same_encodings(ours, reference)


@pytest.mark.parametrize("layout", [transformers_457_layout, transformers_5_layout])
def test_layout_written_by_transformers_reads_the_same_real(tmp_path, layout):
    reference_folder = helpers.real_vocab_luke_dir(tmp_path / "reference")
    if reference_folder is None:
        pytest.skip(f"{helpers.MISSING_VOCAB}: {helpers.HOW_TO_GET_VOCAB}")
    folder = copy_of(reference_folder, tmp_path / "saved")
    layout(folder, REAL_IDS)
    ours = LukeTokenizer.from_pretrained(folder)
    ids = ours(MASKED)["input_ids"]
    # transformers' ids for this text; before the fix a 1437 (a lone "Ġ") preceded 50264
    assert ids == [0, 41650, 9839, 16, 5, 50264, 9, 1429, 4, 2]
    assert 1437 not in ids
    assert_same_encodings(ours, LukeTokenizer.from_pretrained(reference_folder))


def test_plain_mask_token_strips_left_as_transformers(tmp_path):
    """Without added_tokens_decoder, a plain "<mask>" (an old or hand-written config) strips
    the space before it, as transformers' LukeTokenizer makes it."""
    folder = copy_of(TINY, tmp_path / "plain")
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        settings = json.loads((folder / name).read_text())
        settings["mask_token"] = "<mask>"
        (folder / name).write_text(json.dumps(settings))
    assert LukeTokenizer.from_pretrained(folder)(MASKED) == LukeTokenizer.from_pretrained(TINY)(
        MASKED
    )


# ---------------------------------------------------------------------------------------
# A2: empty tokens


def test_empty_special_tokens_are_ignored():
    reference = LukeTokenizer.from_pretrained(TINY)
    for settings in (
        {"additional_special_tokens": [""]},
        {"additional_special_tokens": ["", {"content": ""}]},
        {"extra_special_tokens": [""]},
    ):
        tok = LukeTokenizer.from_pretrained(TINY, **settings)
        # before the fix: every character its own token
        assert tok(TEXT)["input_ids"] == reference(TEXT)["input_ids"]
        assert "" not in tok.get_vocab() and "" not in tok.additional_special_tokens
    tok = LukeTokenizer.from_pretrained(TINY, mask_token="")
    assert tok(TEXT)["input_ids"] == reference(TEXT)["input_ids"]
    assert tok.tokenize("a<mask>") == reference.tokenize(
        "a<mask> ".replace("<mask> ", "<")
    ) + reference.tokenize("mask>")


# ---------------------------------------------------------------------------------------
# A12: built directly, as transformers' documentation does


def files(folder=TINY):
    return [str(folder / name) for name in ("vocab.json", "merges.txt", "entity_vocab.json")]


def test_built_directly_with_defaults():
    tok = LukeTokenizer(*files())  # raised TokenizerFileError about mask_token before
    reference = LukeTokenizer.from_pretrained(TINY)
    assert tok(MASKED)["input_ids"] == reference(MASKED)["input_ids"]
    assert tok.mask_token == "<mask>" and tok.mask_token_id == reference.mask_token_id


def test_added_token_objects_by_duck_typing():
    """Our AddedToken, and any object with transformers' AddedToken attributes."""
    like_transformers = SimpleNamespace(
        content="<mask>",
        lstrip=True,
        rstrip=False,
        single_word=False,
        normalized=False,
        special=True,
    )
    reference = LukeTokenizer.from_pretrained(TINY)
    for mask in (AddedToken("<mask>", lstrip=True), like_transformers):
        tok = LukeTokenizer(
            *files(), mask_token=mask, additional_special_tokens=[SimpleNamespace(content="<x>")]
        )
        assert tok(MASKED)["input_ids"] == reference(MASKED)["input_ids"]
        assert "<x>" in tok.additional_special_tokens
    without_lstrip = LukeTokenizer(*files(), mask_token=AddedToken("<mask>"))
    assert without_lstrip(MASKED)["input_ids"] != reference(MASKED)["input_ids"]
    with pytest.raises(TokenizerFileError, match="single_word"):
        LukeTokenizer(*files(), mask_token=SimpleNamespace(content="<mask>", single_word=True))
    with pytest.raises(TokenizerFileError, match="mask_token"):
        LukeTokenizer(*files(), mask_token=SimpleNamespace(content=3))


# ---------------------------------------------------------------------------------------
# A3: padding and truncation sides, pad_to_multiple_of, special tokens mask, length


@pytest.fixture(scope="module")
def tok():
    return LukeTokenizer.from_pretrained(TINY)


def test_left_padding(tok):
    right = tok(["Tokyo is in Japan.", "Paris"], padding=True)
    left = tok(["Tokyo is in Japan.", "Paris"], padding=True, padding_side="left")
    n = len(right["input_ids"][0]) - right["attention_mask"][1].count(1)
    short = right["input_ids"][1][:-n]
    assert left["input_ids"][1] == [tok.pad_token_id] * n + short
    assert left["attention_mask"][1] == [0] * n + [1] * len(short)
    assert left["input_ids"][0] == right["input_ids"][0]
    loaded = LukeTokenizer.from_pretrained(TINY, padding_side="left")
    assert loaded(["Tokyo is in Japan.", "Paris"], padding=True) == left
    tok_copy = LukeTokenizer.from_pretrained(TINY)
    tok_copy.padding_side = "left"
    assert tok_copy(["Tokyo is in Japan.", "Paris"], padding=True) == left


def test_left_padding_keeps_entity_positions(tok):
    """entity_position_ids index the position embeddings, and word positions skip padding:
    left padding must not shift them (issue 18; tests/shell/test_invariance.py checks the model's
    answers). The padding entity comes first, as the padding words do."""
    texts, spans = ["Tokyo is in Japan.", "Paris"], [[(0, 5), (12, 17)], [(0, 5)]]
    right = tok(texts, entity_spans=spans, padding=True)
    left = tok(texts, entity_spans=spans, padding=True, padding_side="left")
    n = right["attention_mask"][1].count(0)
    assert left["entity_ids"][1] == [tok.entity_pad_token_id] + right["entity_ids"][1][:1]
    assert left["entity_attention_mask"][1] == [0, 1]
    row = right["entity_position_ids"][1][0]
    assert left["entity_position_ids"][1][1] == row
    assert left["entity_position_ids"][1][0] == [-1] * tok.max_mention_length
    # the mention's tokens sit n places further right in the left-padded row
    paris = [left["input_ids"][1][p + n] for p in left["entity_position_ids"][1][1] if p >= 0]
    assert paris == [right["input_ids"][1][p] for p in row if p >= 0]


def test_left_truncation_keeps_the_end_and_the_right_entities(tok):
    text = "Tokyo is the capital of Japan and the largest city of the country."
    full = tok(text, entity_spans=[(0, 5), (24, 29)])
    cut = tok(
        text,
        entity_spans=[(0, 5), (24, 29)],
        truncation=True,
        max_length=24,
        truncation_side="left",
    )
    assert cut["input_ids"] == [tok.cls_token_id] + full["input_ids"][-23:]
    assert len(cut["entity_ids"]) == 1  # "Tokyo" was cut away; "Japan" is kept
    japan = [full["input_ids"][p] for p in full["entity_position_ids"][1] if p >= 0]
    assert [cut["input_ids"][p] for p in cut["entity_position_ids"][0] if p >= 0] == japan
    assert (
        LukeTokenizer.from_pretrained(TINY, truncation_side="left")(
            text, entity_spans=[(0, 5), (24, 29)], truncation=True, max_length=24
        )
        == cut
    )


def test_pad_to_multiple_of_special_tokens_mask_and_length(tok):
    enc = tok(
        ["Tokyo is in Japan.", "Paris"],
        padding=True,
        pad_to_multiple_of=8,
        return_special_tokens_mask=True,
        return_length=True,
    )
    assert {len(ids) for ids in enc["input_ids"]} == {16}  # 13 tokens at most -> 16
    assert enc["length"] == [13, 4]  # a batch: lengths before padding, as transformers
    assert enc["special_tokens_mask"][1] == [1, 0, 0, 1] + [1] * 12
    one = tok(
        "Paris",
        padding="max_length",
        max_length=6,
        return_length=True,
        return_special_tokens_mask=True,
        return_tensors="np",
    )
    assert one["length"].tolist() == [6]  # one text: the length after padding
    assert one["special_tokens_mask"].tolist() == [[1, 0, 0, 1, 1, 1]]  # "Paris": 2 tokens
    with pytest.raises(ValueError, match="not a multiple of pad_to_multiple_of"):
        tok("Paris", padding=True, truncation=True, max_length=7, pad_to_multiple_of=4)
    with pytest.raises(ValueError, match="pad_to_multiple_of must be a positive int"):
        tok("Paris", padding=True, pad_to_multiple_of=0)


@pytest.mark.parametrize(
    "option",
    [
        "is_split_into_words",
        "return_offsets_mapping",
        "return_overflowing_tokens",
        "split_special_tokens",
    ],
)
def test_unimplemented_transformers_options_are_refused_not_ignored(tok, option):
    # Ignoring them would answer something else than transformers does (a list of words
    # read as a batch of texts; no overflowing tokens): refused, by every entry point.
    with pytest.raises(NotImplementedError, match=f"{option}=True is not implemented"):
        tok("Paris is nice", **{option: True})
    with pytest.raises(NotImplementedError, match=option):
        tok.encode("Paris", **{option: True})
    with pytest.raises(NotImplementedError, match=option):
        tok.batch_encode_plus(["Paris", "Rome"], **{option: True})
    with pytest.raises(NotImplementedError, match=option):
        tok.prepare_for_model([5, 6], **{option: True})
    with warnings.catch_warnings():  # at their defaults they change nothing: accepted quietly
        warnings.simplefilter("error")
        assert tok("Paris is nice", **{option: False}) == tok("Paris is nice")


def test_stride_without_overflowing_tokens_changes_nothing_as_in_transformers(tok):
    # transformers uses stride only for return_overflowing_tokens=True (refused above)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        strided = tok("Paris is a nice city", stride=2, truncation=True, max_length=4)
    assert strided == tok("Paris is a nice city", truncation=True, max_length=4)


def test_unknown_keyword_arguments_warn(tok):
    with pytest.warns(UserWarning, match=r"ignores the keyword arguments \['bogus'\]"):
        enc = tok("Paris", bogus=3)
    assert enc == tok("Paris")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tok("Paris", padding_side="left", truncation_side="left", return_length=False)


# ---------------------------------------------------------------------------------------
# A4: saving is all or nothing


def folder_state(folder: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(folder.iterdir())}


def test_saving_a_title_with_a_lone_surrogate_into_its_own_folder(tmp_path):
    folder = copy_of(TINY, tmp_path / "tok")
    vocab = json.loads((folder / "entity_vocab.json").read_text())
    vocab["Bad\ud800title"] = max(vocab.values()) + 1
    (folder / "entity_vocab.json").write_text(json.dumps(vocab))  # ASCII, with a \ud800 escape
    tok = LukeTokenizer.from_pretrained(folder)
    tok.save_pretrained(folder)  # truncated entity_vocab.json to 0 bytes before the fix
    again = LukeTokenizer.from_pretrained(folder)
    assert again.entity_vocab == tok.entity_vocab
    assert again(MASKED, entity_spans=[(0, 5)], entities=["Bad\ud800title"]) == tok(
        MASKED, entity_spans=[(0, 5)], entities=["Bad\ud800title"]
    )


def test_a_failed_save_leaves_the_folder_as_it_was(tmp_path):
    folder = tmp_path / "tok"
    LukeTokenizer.from_pretrained(TINY).save_pretrained(folder)
    before = folder_state(folder)
    tok = LukeTokenizer.from_pretrained(folder)
    rank = tok.bpe.merge_ranks.pop(next(iter(tok.bpe.merge_ranks)))
    tok.bpe.merge_ranks[("\udcff", "x")] = rank  # no UTF-8 form: merges.txt cannot be written
    with pytest.raises(TokenizerFileError, match="merges.txt.*nothing was written"):
        tok.save_pretrained(folder)
    assert folder_state(folder) == before  # no file touched, no temporary file left
    assert LukeTokenizer.from_pretrained(folder)(MASKED) == LukeTokenizer.from_pretrained(TINY)(
        MASKED
    )


def test_a_write_failing_midway_leaves_the_folder_whole(tmp_path, monkeypatch):
    folder = tmp_path / "tok"
    tok = LukeTokenizer.from_pretrained(TINY)
    tok.save_pretrained(folder)
    before = folder_state(folder)
    import numpy_luke.tokenizer_files as tokenizer_files

    real_replace, calls = tokenizer_files.os.replace, []

    def failing_replace(source, target):
        calls.append(target)
        raise OSError("disk full")

    monkeypatch.setattr(tokenizer_files.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        tok.save_pretrained(folder)
    monkeypatch.setattr(tokenizer_files.os, "replace", real_replace)
    assert calls and folder_state(folder) == before


# ---------------------------------------------------------------------------------------
# B: transformers' generic tokenizer methods


def test_special_token_helpers(tok):
    assert tok.build_inputs_with_special_tokens([5, 6]) == [0, 5, 6, 2]
    assert tok.build_inputs_with_special_tokens([5, 6], [7]) == [0, 5, 6, 2, 2, 7, 2]
    assert tok.get_special_tokens_mask([5, 6], [7]) == [1, 0, 0, 1, 1, 0, 1]
    assert tok.get_special_tokens_mask([0, 5, 2, 416], already_has_special_tokens=True) == [
        1,
        0,
        1,
        1,
    ]
    assert tok.num_special_tokens_to_add() == 2 and tok.num_special_tokens_to_add(True) == 4
    assert tok.create_token_type_ids_from_sequences([5, 6], [7]) == [0] * 7
    assert tok.pad_token_type_id == 0 and tok.is_fast is False


def test_encode_plus_prepare_for_model_and_pad(tok):
    assert tok.encode_plus(TEXT, "Paris") == tok(TEXT, "Paris")
    batch = tok.batch_encode_plus(
        [(TEXT, "Paris"), ("Paris", TEXT)],
        batch_entity_spans_or_entity_spans_pairs=[([(0, 5)], [(0, 5)]), ([(0, 5)], [(0, 5)])],
        padding=True,
    )
    assert batch == tok(
        [TEXT, "Paris"], ["Paris", TEXT], [[(0, 5)], [(0, 5)]], [[(0, 5)], [(0, 5)]], padding=True
    )
    with pytest.raises(TypeError, match="batch_entity_spans_or_entity_spans_pairs"):
        tok.batch_encode_plus([TEXT], entity_spans=[[(0, 5)]])
    words = tok(TEXT, add_special_tokens=False)["input_ids"]
    assert tok.prepare_for_model(words, padding="max_length", max_length=12) == tok(
        TEXT, padding="max_length", max_length=12
    )
    spans = tok(TEXT, entity_spans=[(0, 5)])
    prepared = tok.prepare_for_model(
        words, entity_ids=[tok.entity_mask_token_id], entity_token_spans=[(0, 4)]
    )
    assert prepared["entity_position_ids"] == spans["entity_position_ids"]
    unpadded = [tok(TEXT), tok("Paris")]
    assert tok.pad(unpadded) == tok([TEXT, "Paris"], padding=True)
    assert tok.pad(
        {k: [e[k] for e in unpadded] for k in unpadded[0]}, padding_side="left", return_tensors="np"
    )["input_ids"].shape == (2, len(unpadded[0]["input_ids"]))
    spans = [[(0, 5), (24, 29)], [(0, 5)]]
    with_entities = [tok(TEXT, entity_spans=spans[0]), tok("Paris", entity_spans=spans[1])]
    assert tok.pad(with_entities) == tok([TEXT, "Paris"], entity_spans=spans, padding=True)


def test_added_tokens_are_saved_and_reloaded(tmp_path):
    tok = LukeTokenizer.from_pretrained(TINY)
    size = len(tok)
    assert tok.add_tokens(["newword", "<new>", "newword"]) == 2
    assert tok.add_special_tokens({"additional_special_tokens": ["<sep2>"]}) == 1
    assert len(tok) == size + 3
    text = "a newword and <new> then <sep2> end"
    ids = tok(text)["input_ids"]
    assert size in ids and tok.convert_ids_to_tokens(size) == "newword"
    assert tok.decode(tok(text)["input_ids"], skip_special_tokens=True).count("<sep2>") == 0
    tok.save_pretrained(tmp_path)
    again = LukeTokenizer.from_pretrained(tmp_path)
    assert again(text)["input_ids"] == ids and len(again) == len(tok)


def test_special_tokens_are_settable(tok):
    tok = LukeTokenizer.from_pretrained(TINY)
    tok.bos_token = "</s>"
    tok.cls_token = AddedToken("</s>")
    assert tok.cls_token == "</s>" and tok.cls_token_id == tok.eos_token_id
    assert tok("Paris")["input_ids"][0] == tok.eos_token_id
    tok.unk_token = "<unknown-token-not-in-vocab>"
    assert tok.unk_token_id is None  # as transformers: setting does not add it


def test_save_vocabulary(tok, tmp_path):
    paths = tok.save_vocabulary(tmp_path, filename_prefix="x")
    assert [Path(p).name for p in paths] == ["x-vocab.json", "x-merges.txt", "x-entity_vocab.json"]
    assert json.loads(Path(paths[0]).read_text(encoding="utf-8")) == tok.bpe.vocab
    assert np.array_equal(
        sorted(json.loads(Path(paths[2]).read_text()).values()), sorted(tok.entity_vocab.values())
    )


def test_added_token_flags_survive_a_save(tmp_path):
    """An added token's lstrip/rstrip are saved (in added_tokens_decoder, as transformers
    writes it) and so are padding_side / truncation_side."""
    tok = LukeTokenizer.from_pretrained(TINY, padding_side="left")
    tok.add_tokens([AddedToken("<new>", lstrip=True, special=False)])
    text = "a <new> b"
    ids = tok(text)["input_ids"]
    assert ids == tok("a<new> b")["input_ids"]  # the space before <new> is swallowed
    tok.save_pretrained(tmp_path)
    again = LukeTokenizer.from_pretrained(tmp_path)
    assert again(text)["input_ids"] == ids
    assert again.padding_side == "left" and again.all_special_tokens == tok.all_special_tokens


def test_added_tokens_are_not_special_unless_asked(tmp_path):
    """Issue 18: numpy_luke's AddedToken defaulted to special=True (transformers': False), so
    tokens added with add_tokens vanished from decode(skip_special_tokens=True). The strings
    expected here are transformers 4.57's for the same calls on tiny-luke."""
    from numpy_luke.tokenizer_files import AddedToken

    assert AddedToken("zzword").special is False
    tok = LukeTokenizer.from_pretrained(TINY)
    assert tok.add_tokens([AddedToken("zzword"), AddedToken("qqword", special=True)]) == 2
    ids = tok.encode("a zzword qqword b")
    assert tok.decode(ids, skip_special_tokens=True) == "a  zzword   b"
    assert tok.decode(ids) == "<s>a  zzword   qqword  b</s>"
    assert "zzword" not in tok.all_special_tokens and "qqword" in tok.all_special_tokens
    tok.save_pretrained(tmp_path)
    again = LukeTokenizer.from_pretrained(tmp_path)
    assert (
        again.decode(again.encode("a zzword qqword b"), skip_special_tokens=True) == "a  zzword   b"
    )
    marked = LukeTokenizer.from_pretrained(TINY)
    marked.add_tokens([AddedToken("zzword")], special_tokens=True)
    assert marked.decode(marked.encode("a zzword b"), skip_special_tokens=True) == "a  b"
    # special tokens given by role stay special whatever the AddedToken says
    marked.add_special_tokens({"cls_token": AddedToken("<s>")})
    assert marked.decode(marked.encode("x"), skip_special_tokens=True) == "x"


def test_prepare_for_model_and_pad_of_one_example_have_no_batch_axis(tok):
    """Issue 18: with return_tensors="np", transformers' prepare_for_model (unless
    prepend_batch_axis=True) and pad of one encoding give (n,) arrays; ours gave (1, n)."""
    ids = tok.encode("Tokyo is", add_special_tokens=False)
    one = tok.prepare_for_model(
        ids, entity_ids=[2], entity_token_spans=[(0, 1)], return_tensors="np"
    )
    assert one["input_ids"].shape == (len(ids) + 2,)
    assert one["entity_ids"].shape == (1,)
    assert one["entity_position_ids"].shape == (1, tok.max_mention_length)
    batched = tok.prepare_for_model(
        ids,
        entity_ids=[2],
        entity_token_spans=[(0, 1)],
        return_tensors="np",
        prepend_batch_axis=True,
    )
    for key, value in one.items():
        np.testing.assert_array_equal(batched[key], value[None])
    encoding = tok("Tokyo is", entity_spans=[(0, 5)])
    padded = tok.pad(encoding, return_tensors="np")
    assert padded["input_ids"].shape == (len(encoding["input_ids"]),)
    assert padded["entity_position_ids"].shape == (1, tok.max_mention_length)
    assert tok.pad([encoding], return_tensors="np")["input_ids"].shape == (
        1,
        len(encoding["input_ids"]),
    )


def test_from_pretrained_passes_the_loading_options_to_the_hub(monkeypatch):
    """Issue 18: token= and force_download= were dropped without a word (a private repository
    would be fetched without the token). Every file is asked for with every option."""
    import huggingface_hub

    seen = []

    def fake_download(repo_id, filename, **options):
        seen.append((filename, options))
        path = TINY / filename
        if not path.exists():
            from huggingface_hub.errors import EntryNotFoundError

            raise EntryNotFoundError(filename)
        return str(path)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    tok = LukeTokenizer.from_pretrained(
        "someone/tiny-luke",
        token="hf_x",
        force_download=True,
        revision="v1",
        cache_dir="/tmp/somewhere",
    )
    assert tok.encode("Tokyo") == LukeTokenizer.from_pretrained(TINY).encode("Tokyo")
    names = {name for name, _ in seen}
    assert {"vocab.json", "merges.txt", "entity_vocab.json", "tokenizer_config.json"} <= names
    for _, options in seen:
        assert options["token"] == "hf_x" and options["force_download"] is True
        assert options["revision"] == "v1" and options["cache_dir"] == "/tmp/somewhere"


def test_from_pretrained_refuses_unknown_keywords_and_keeps_the_settings():
    with pytest.raises(TypeError, match=r"unknown keyword argument\(s\) 'bogus'"):
        LukeTokenizer.from_pretrained(TINY, bogus=1)
    with pytest.raises(TypeError, match="'use_auth_token'"):
        LukeTokenizer.from_pretrained(TINY, use_auth_token="hf_x")
    # transformers' tokenizer settings given at loading keep working
    tok = LukeTokenizer.from_pretrained(
        TINY,
        task="entity_span_classification",
        max_entity_length=3,
        max_mention_length=5,
        padding_side="left",
        truncation_side="left",
        model_max_length=64,
        add_prefix_space=True,
        local_files_only=True,
    )
    assert (tok.task, tok.max_entity_length, tok.max_mention_length) == (
        "entity_span_classification",
        3,
        5,
    )
    assert (tok.padding_side, tok.truncation_side, tok.model_max_length) == ("left", "left", 64)
    assert tok.add_prefix_space is True


def test_an_added_token_id_that_leaves_no_room_in_int64_is_refused(tmp_path):
    """Issue 18: an id near 2**63 in added_tokens.json loaded, then the next added token got
    2**63 and encoding overflowed. Ids outside int64 are refused at load, and so is a token
    that would need an id beyond it."""
    from numpy_luke.errors import TokenizerFileError

    folder = tmp_path / "tok"
    shutil.copytree(TINY, folder)
    added = json.loads((folder / "added_tokens.json").read_text())
    (folder / "added_tokens.json").write_text(json.dumps({**added, "<big>": 2**63}))
    with pytest.raises(TokenizerFileError, match="added_tokens.json: the id of '<big>'"):
        LukeTokenizer.from_pretrained(folder)
    (folder / "added_tokens.json").write_text(json.dumps({**added, "<big>": 2**63 - 1}))
    with pytest.raises(TokenizerFileError, match="no id is left for the added token '<new>'"):
        LukeTokenizer.from_pretrained(folder, additional_special_tokens=["<new>"])
    tok = LukeTokenizer.from_pretrained(folder)
    with pytest.raises(TokenizerFileError, match="no id is left for the added token 'zz'"):
        tok.add_tokens(["zz"])


def test_choices_where_transformers_versions_disagree():
    """docs/tokenizer.md: task markers stay entity_token_1/2 after add_special_tokens (5.x;
    4.57 takes the first two additional special tokens), and add_prefix_space=True adds no
    space before a piece starting with other white space or after an added token (4.57;
    5.x adds a lone 'Ġ'). Expected tokens as transformers 4.57.6 / 5.25.0 give them."""
    tok = LukeTokenizer.from_pretrained(TINY, task="entity_pair_classification")
    tok.add_special_tokens({"additional_special_tokens": ["<a>", "<b>"]})
    enc = tok("Tokyo is big", entity_spans=[(0, 5), (9, 12)])
    assert tok.convert_ids_to_tokens(enc["input_ids"]) == [
        "<s>",
        "<ent>",
        "T",
        "ok",
        "y",
        "o",
        "<ent>",
        "Ġis",
        "<ent2>",
        "Ġb",
        "i",
        "g",
        "<ent2>",
        "</s>",
    ]
    spaced = LukeTokenizer.from_pretrained(TINY, add_prefix_space=True)
    for text, spans, tokens in [
        ("Tokyo\nis", [(0, 5)], ["ĠT", "ok", "y", "o", "Ċ", "is"]),
        ("<mask>y", None, ["<mask>", "y"]),
        ("Tokyo is", [(0, 5)], ["ĠT", "ok", "y", "o", "Ġis"]),
    ]:
        ids = spaced(text, entity_spans=spans)["input_ids"]
        assert spaced.convert_ids_to_tokens(ids)[1:-1] == tokens, text


@pytest.mark.parametrize(
    "option",
    [
        dict(return_tensors="pt"),
        dict(padding_side="middle"),
        dict(max_length=0),
        dict(padding="maybe"),
        dict(pad_to_multiple_of=-8),
    ],
)
def test_pad_and_call_refuse_an_option_with_one_message(tok, option):
    """Issue 19: pad() checked its options on a second path with its own messages (a bad
    return_tensors read "use 'np' or None" there); now one resolver checks every call."""
    messages = []
    for run in (
        lambda: tok("a cat", **option),
        lambda: tok.pad({"input_ids": [0, 5, 2]}, **option),
        lambda: tok.prepare_for_model([5], **option),
    ):
        with pytest.raises(ValueError) as error:
            run()
        messages.append(str(error.value))
    assert messages[0] == messages[1] == messages[2]

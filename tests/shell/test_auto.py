"""transformers' Auto classes (issue 20, section 1).

Each Auto class gives the LUKE class transformers maps model_type "luke" to, whatever head
the checkpoint was saved with (``AutoModel`` on the masked-LM fixture gives ``LukeModel``);
a checkpoint of another model is refused with an error naming what it is. Checked on the
tiny fixtures, from folders and from a private Hugging Face cache offline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from helpers import FIXTURES, ROOT, TINY_LUKE, place_in_hf_cache

import numpy_luke
from numpy_luke import ConfigError, TokenizerFileError

REPO = "studio-ousia/luke-base"
AUTO_CLASSES = {  # transformers 4.57's mapping for model_type "luke" (modeling_auto.py)
    "AutoModel": "LukeModel",
    "AutoModelForPreTraining": "LukeForMaskedLM",
    "AutoModelForMaskedLM": "LukeForMaskedLM",
    "AutoModelForSequenceClassification": "LukeForSequenceClassification",
    "AutoModelForTokenClassification": "LukeForTokenClassification",
    "AutoModelForQuestionAnswering": "LukeForQuestionAnswering",
    "AutoModelForMultipleChoice": "LukeForMultipleChoice",
}
IDS = np.array([[0, 36, 101, 416, 2]])


@pytest.fixture(scope="module")
def base_folder(tmp_path_factory):
    """A base-checkpoint stand-in: tiny-luke (saved as LukeForMaskedLM, as luke-base is)."""
    folder = tmp_path_factory.mktemp("base") / "luke-base"
    shutil.copytree(TINY_LUKE, folder)
    return folder


@pytest.mark.parametrize("auto, luke", AUTO_CLASSES.items())
def test_each_auto_class_gives_transformers_class(base_folder, auto, luke):
    overrides = {"num_labels": 2}
    if luke in ("LukeModel", "LukeForMaskedLM"):
        model = getattr(numpy_luke, auto).from_pretrained(base_folder)
    else:  # the head is not in the checkpoint: random, with a warning, as in transformers
        with pytest.warns(UserWarning, match="random values"):
            model = getattr(numpy_luke, auto).from_pretrained(base_folder, seed=0, **overrides)
    assert type(model).__name__ == luke
    assert type(model) is getattr(numpy_luke, luke)


def test_auto_model_outputs_equal_the_named_class(base_folder):
    auto = numpy_luke.AutoModelForMaskedLM.from_pretrained(base_folder)
    named = numpy_luke.LukeForMaskedLM.from_pretrained(base_folder)
    np.testing.assert_array_equal(auto(input_ids=IDS).logits, named(input_ids=IDS).logits)
    base = numpy_luke.AutoModel.from_pretrained(base_folder, output_hidden_states=True)
    assert len(base(input_ids=IDS).hidden_states) == 3  # overrides reach the config


def test_the_task_picks_the_class_not_architectures():
    """As transformers: AutoModelForTokenClassification on an entity-span checkpoint gives
    LukeForTokenClassification, whose classifier does not fit: an error naming it."""
    with pytest.raises(numpy_luke.CheckpointError, match="classifier.weight"):
        numpy_luke.AutoModelForTokenClassification.from_pretrained(FIXTURES / "tiny-luke-ner")
    model = numpy_luke.AutoModel.from_pretrained(FIXTURES / "tiny-luke-ner")
    assert type(model) is numpy_luke.LukeModel


def test_auto_config_and_tokenizer(base_folder):
    config = numpy_luke.AutoConfig.from_pretrained(base_folder, num_labels=5)
    assert isinstance(config, numpy_luke.LukeConfig) and config.num_labels == 5
    tokenizer = numpy_luke.AutoTokenizer.from_pretrained(base_folder, use_fast=True)
    assert isinstance(tokenizer, numpy_luke.LukeTokenizer)
    assert (
        tokenizer("Tokyo")["input_ids"]
        == numpy_luke.LukeTokenizer.from_pretrained(base_folder)("Tokyo")["input_ids"]
    )
    assert isinstance(
        numpy_luke.AutoConfig.for_model("luke", hidden_size=24), numpy_luke.LukeConfig
    )


def test_from_config(base_folder):
    config = numpy_luke.AutoConfig.from_pretrained(base_folder)
    model = numpy_luke.AutoModelForMaskedLM.from_config(config, seed=0)
    assert type(model) is numpy_luke.LukeForMaskedLM
    with pytest.raises(ConfigError, match="LukeConfig"):
        numpy_luke.AutoModel.from_config({"model_type": "luke"})


def with_config(tmp_path, **changes):
    folder = tmp_path / "other"
    shutil.copytree(TINY_LUKE, folder)
    values = json.loads((folder / "config.json").read_text())
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    (folder / "config.json").write_text(json.dumps(values))
    return folder


@pytest.mark.parametrize(
    "auto",
    ["AutoConfig", "AutoModel", "AutoModelForMaskedLM", "AutoModelForSequenceClassification"],
)
def test_a_checkpoint_of_another_model_is_refused_naming_it(tmp_path, auto):
    folder = with_config(tmp_path, model_type="bert", architectures=["BertForMaskedLM"])
    with pytest.raises(
        ConfigError,
        match=r"not LUKE \(model_type 'bert', architectures "
        r"\['BertForMaskedLM'\]\).*" + auto,
    ):
        getattr(numpy_luke, auto).from_pretrained(folder)


def test_a_tokenizer_of_another_model_is_refused_naming_it(tmp_path):
    folder = with_config(tmp_path, model_type="bert")
    settings = json.loads((folder / "tokenizer_config.json").read_text())
    settings.pop("tokenizer_class")
    (folder / "tokenizer_config.json").write_text(json.dumps(settings))
    with pytest.raises(ConfigError, match="model_type 'bert'"):
        numpy_luke.AutoTokenizer.from_pretrained(folder)
    for name, words in (
        ("BertTokenizer", "LukeTokenizer only"),
        ("MLukeTokenizer", "SentencePiece"),
    ):
        settings["tokenizer_class"] = name
        (folder / "tokenizer_config.json").write_text(json.dumps(settings))
        with pytest.raises(TokenizerFileError, match=f"'{name}'.*{words}"):
            numpy_luke.AutoTokenizer.from_pretrained(folder)


def test_no_model_type_but_luke_architectures_is_luke(tmp_path):
    folder = with_config(tmp_path, model_type=None)
    assert type(numpy_luke.AutoModel.from_pretrained(folder)) is numpy_luke.LukeModel
    folder = with_config(tmp_path / "x", model_type=None, architectures=None)
    with pytest.raises(ConfigError, match="no model_type"):
        numpy_luke.AutoModel.from_pretrained(folder)


@pytest.mark.parametrize("content", ["[1, 2]", "{not json", '{"model_type": ' + "[" * 10**5])
def test_a_broken_config_json_is_a_config_error(tmp_path, content):
    folder = with_config(tmp_path)
    (folder / "config.json").write_text(content)
    with pytest.raises(ConfigError, match="config.json|JSON"):
        numpy_luke.AutoModel.from_pretrained(folder)


def test_auto_classes_are_not_instantiated_directly():
    for name in ("AutoConfig", "AutoTokenizer", "AutoModel"):
        with pytest.raises(OSError, match="from_pretrained"):
            getattr(numpy_luke, name)()


def test_from_a_hugging_face_cache_offline(tmp_path):
    cache = tmp_path / "hf-cache"
    place_in_hf_cache(TINY_LUKE, cache, REPO)
    options = dict(cache_dir=cache, local_files_only=True)
    model = numpy_luke.AutoModelForMaskedLM.from_pretrained(REPO, **options)
    tokenizer = numpy_luke.AutoTokenizer.from_pretrained(REPO, **options)
    local = numpy_luke.LukeForMaskedLM.from_pretrained(TINY_LUKE)
    ids = tokenizer("Tokyo is a <mask>.", return_tensors="np")["input_ids"]
    np.testing.assert_array_equal(model(input_ids=ids).logits, local(input_ids=ids).logits)


def test_the_transformers_quickstart_runs_offline_in_a_fresh_process(tmp_path):
    """What a transformers user types first, with HF_HUB_OFFLINE=1 and a private cache."""
    cache = tmp_path / "hf-cache"
    place_in_hf_cache(TINY_LUKE, cache, REPO)
    code = (
        "from numpy_luke import AutoTokenizer, AutoModel\n"
        f"tokenizer = AutoTokenizer.from_pretrained({REPO!r})\n"
        f"model = AutoModel.from_pretrained({REPO!r})\n"
        "out = model(**tokenizer('Beyoncé lives in Los Angeles.', entity_spans=[(0, 7)],"
        " return_tensors='np'))\n"
        "print(type(model).__name__, out.last_hidden_state.shape,"
        " out.entity_last_hidden_state.shape)\n"
    )
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("LukeModel (1, ") and "(1, 1, 32)" in result.stdout

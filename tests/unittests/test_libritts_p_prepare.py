"""Tests of recipes/LibriTTS-P/libritts_p_prepare.py on a fake LibriTTS-R
tree with the LibriTTS-P annotation files."""

import logging
import os

import pytest

from tests.fake_data import (
    FAKE_LIBRITTS_P_SPEAKER_TAGS,
    make_fake_libritts_p,
)
from tests.prepare_utils import load_recipe_module, read_manifests, run_logged

module = load_recipe_module("LibriTTS-P", "libritts_p_prepare.py")
prepare_libritts_p = module.prepare_libritts_p


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_fake_libritts_p(tmp_path_factory.mktemp("libritts"))


def _run(tree, out, **kwargs):
    outputs = [str(out / f"{split}.json") for split in ("tr", "va", "te")]
    summary = prepare_libritts_p(
        f"{tree}/LibriTTS_R",
        *outputs,
        prompts_folder=kwargs.pop("prompts_folder", f"{tree}/LibriTTS-P"),
        **kwargs,
    )
    return summary, dict(
        zip(("train", "valid", "test"), read_manifests(outputs), strict=True)
    )


def test_items_prompts_and_skips(tree, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        summary, manifests = _run(tree, tmp_path)
    assert (summary["train"], summary["valid"], summary["test"]) == (5, 2, 2)
    assert summary["skipped"]["train"] == {
        "excluded_speaker": 1,
        "invalid": 1,
        "no_metadata_row": 1,
    }
    assert "excluded_speaker" in caplog.text
    train = manifests["train"]
    assert set(train) == {
        "19_198_000000_000000",
        "19_198_000000_000001",
        "26_495_000004_000000",
        "26_495_000006_000000",
        "100_121669_000001_000000",
    }
    item = train["26_495_000004_000000"]
    assert item["wav"] == (
        "{data_root}/train-clean-100/26/495/26_495_000004_000000.wav"
    )
    assert (item["gender"], item["pitch"], item["speaking_speed"]) == (
        "M",
        "low",
        "fast",
    )
    assert item["energy"] == "high"
    assert item["style_prompt_key"] == "M_p-low_s-fast_e-high"
    assert item["transcript"] == "Chapter one."
    assert item["subset"] == "train-clean-100" and item["chapter"] == "495"
    # 5 of the 6 style prompt candidates, then one sentence per annotator
    style, speaker = item["descriptions"][:5], item["descriptions"][5:]
    assert len(set(style)) == 5
    assert all("man" in text for text in style)
    assert speaker == [
        "A voice that is masculine, thick and slightly powerful.",
        "A voice that is very masculine and powerful.",
        "A voice that is masculine and calm.",
    ]
    # speaker tags: base tags of at least two annotators
    assert item["speaker_tags"] == ["masculine", "powerful"]
    assert FAKE_LIBRITTS_P_SPEAKER_TAGS["26"][0].startswith("masculine")
    # the same utterance always gets the same style prompts
    again, manifests_again = _run(tree, tmp_path / "again")
    assert manifests_again["train"] == train
    # speaker 121 is unannotated: style prompts only, no tags
    test_item = manifests["test"]["121_121726_000004_000000"]
    assert len(test_item["descriptions"]) == 5
    assert test_item["speaker_tags"] is None
    for manifest in manifests.values():
        for entry in manifest.values():
            path = entry["wav"].replace("{data_root}", f"{tree}/LibriTTS_R")
            assert os.path.isfile(path)


def test_options(tree, tmp_path):
    summary, manifests = _run(
        tree,
        tmp_path,
        num_style_prompts=None,
        speaker_prompts=False,
        train_subsets=["train-clean-360"],
    )
    assert summary["train"] == 1
    (item,) = manifests["train"].values()
    assert len(item["descriptions"]) == 6  # every candidate, no speaker
    assert item["speaker_tags"] is None


def test_errors_and_skip(tree, tmp_path, caplog):
    outputs = [str(tmp_path / f"{s}.json") for s in ("tr", "va", "te")]
    with pytest.raises(FileNotFoundError, match="metadata_w_style_prompt"):
        prepare_libritts_p(
            f"{tree}/LibriTTS_R", *outputs, prompts_folder=str(tmp_path)
        )
    with pytest.raises(FileNotFoundError, match="test-other"):
        prepare_libritts_p(
            f"{tree}/LibriTTS_R",
            *outputs,
            prompts_folder=f"{tree}/LibriTTS-P",
            test_subsets=["test-other"],
        )
    # the annotations can be given as the repository or its data/ folder
    _run(tree, tmp_path, prompts_folder=f"{tree}/LibriTTS-P/data")
    assert (
        run_logged(
            caplog,
            prepare_libritts_p,
            f"{tree}/LibriTTS_R",
            *outputs,
            prompts_folder=f"{tree}/LibriTTS-P",
        )
        is None
    )
    assert "Preparation completed in previous run, skipping." in caplog.text

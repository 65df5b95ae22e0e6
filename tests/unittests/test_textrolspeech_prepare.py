"""Tests of recipes/TextrolSpeech/textrolspeech_prepare.py on a fake audio
root of the corpora TextrolSpeech draws from, with its csvs."""

import logging
import os
import shutil

import pytest

from tests.fake_data import FAKE_TEXTROL_TRAIN, make_fake_textrolspeech
from tests.prepare_utils import load_recipe_module, read_manifests, run_logged

module = load_recipe_module("TextrolSpeech", "textrolspeech_prepare.py")
prepare_textrolspeech = module.prepare_textrolspeech


def _run(root, out, **kwargs):
    outputs = [str(out / f"{split}.json") for split in ("tr", "va", "te")]
    summary = prepare_textrolspeech(root, *outputs, **kwargs)
    return summary, dict(
        zip(("train", "valid", "test"), read_manifests(outputs), strict=True)
    )


def test_items_paths_and_fields(tmp_path, caplog):
    root = make_fake_textrolspeech(tmp_path / "textrol")
    with caplog.at_level(logging.WARNING):
        summary, manifests = _run(root, tmp_path, valid_ratio=0.2)
    train_valid = {**manifests["train"], **manifests["valid"]}
    # 10 training rows; one file name is in two LibriTTS subsets
    assert len(train_valid) == len(FAKE_TEXTROL_TRAIN) - 1
    skipped = summary["skipped"]
    assert (
        skipped["train"].get("ambiguous_audio", 0)
        + skipped["valid"].get("ambiguous_audio", 0)
        == 1
    )
    assert "19_198_000000_000000" not in train_valid
    assert summary["valid"] == 2
    crema = train_valid["CREMA-D-AudioWAV-1060_IWL_FEA_XX"]
    # a folder name with '-' (CREMA-D) and a file name with '-' (RAVDESS)
    assert crema["wav"] == "{data_root}/CREMA-D/AudioWAV/1060_IWL_FEA_XX.wav"
    ravdess = train_valid["RAVDESS-Actor_01-03-01-04-01-01-01-01"]
    assert (
        ravdess["wav"]
        == "{data_root}/RAVDESS/Actor_01/03-01-04-01-01-01-01.wav"
    )
    libri = train_valid["6904_262291_000067_000000"]
    assert libri["wav"] == (
        "{data_root}/LibriTTS/train-clean-100/6904/262291/"
        "6904_262291_000067_000000.wav"
    )
    assert libri["corpus"] == "LibriTTS" and crema["corpus"] == "CREMA-D"
    assert (crema["gender"], crema["emotion"], crema["pitch"]) == (
        "F",
        "fear",
        "low",
    )
    # dur low = slow speech
    assert crema["speed"] == "slow" and crema["dur"] == "low"
    assert crema["transcript"] == "I would like a new alarm clock"
    # two glued sentences are two descriptions
    mess = train_valid["MESS compressed-CM3T07_SCR"]
    assert len(mess["descriptions"]) == 2
    assert mess["descriptions"][1].startswith("Speaking rapidly")
    assert manifests["test"].keys() == {
        "MEAD-W018-audio-angry-level_2-025",
        "CREMA-D-AudioWAV-1020_MTI_SAD_XX",
        "1089_134686_000001_000001",
    }
    assert summary["skipped"]["test"] == {"missing_audio": 1}
    assert "missing_audio" in caplog.text
    for manifest in manifests.values():
        for item in manifest.values():
            path = item["wav"].replace("{data_root}", str(root))
            assert os.path.isfile(path)


def test_audio_root_above_the_corpora(tmp_path):
    """The corpora one folder below the audio root: same items."""
    root = make_fake_textrolspeech(tmp_path / "inner")
    outer = tmp_path / "outer"
    outer.mkdir()
    shutil.move(root, outer / "TextrolSpeech_data")
    for name in ("controlspeech_train.csv", "controlspeech_test.csv"):
        shutil.move(outer / "TextrolSpeech_data" / name, outer / name)
    summary, manifests = _run(outer, tmp_path, valid_ratio=0.2)
    assert summary["train"] + summary["valid"] == len(FAKE_TEXTROL_TRAIN) - 1
    item = manifests["test"]["CREMA-D-AudioWAV-1020_MTI_SAD_XX"]
    assert item["wav"] == (
        "{data_root}/TextrolSpeech_data/CREMA-D/AudioWAV/1020_MTI_SAD_XX.wav"
    )
    assert item["corpus"] == "CREMA-D"


def test_bad_csv_and_skip(tmp_path, caplog):
    root = make_fake_textrolspeech(tmp_path / "textrol")
    bad = tmp_path / "bad.csv"
    bad.write_text("item_name,style_prompt\nx,y\n", encoding="utf-8")
    outputs = [str(tmp_path / f"{s}.json") for s in ("tr", "va", "te")]
    with pytest.raises(ValueError, match="missing columns"):
        prepare_textrolspeech(root, *outputs, train_csv=str(bad))
    with pytest.raises(FileNotFoundError, match="annotation file not found"):
        prepare_textrolspeech(root, *outputs, test_csv="nope.csv")
    _run(root, tmp_path, valid_ratio=0.2)
    assert run_logged(caplog, prepare_textrolspeech, root, *outputs) is None
    assert "Preparation completed in previous run, skipping." in caplog.text

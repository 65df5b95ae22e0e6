"""Tests of recipes/MSP-Podcast/msp_podcast_prepare.py on a fake tree."""

import json
import logging
import os

import pytest

from tests.fake_data import make_fake_msp_podcast
from tests.prepare_utils import (
    load_recipe_module,
    read_manifests,
    run_logged,
)

prepare_msp_podcast = load_recipe_module(
    "MSP-Podcast", "msp_podcast_prepare.py"
).prepare_msp_podcast

FIELDS = {
    "wav",
    "duration",
    "start",
    "stop",
    "channel",
    "style",
    "spk_id",
    "gender",
    "transcript",
    "language",
    "dataset",
    "valence",
    "arousal",
    "dominance",
}


def _run(tmp_path, data_folder, **kwargs):
    out = tmp_path / "out"
    paths = [str(out / f"{split}.json") for split in ("train", "valid", "test")]
    summary = prepare_msp_podcast(data_folder, *paths, **kwargs)
    manifests = read_manifests(paths)
    return summary, manifests, paths


def test_splits_fields_and_labels(tmp_path, caplog):
    release = make_fake_msp_podcast(tmp_path / "data")
    with caplog.at_level(logging.INFO):
        summary, (train, valid, test), _ = _run(tmp_path, release)
    assert summary["counts"] == {"train": 4, "valid": 2, "test": 3}
    assert summary["skipped"] == {
        "split": {"Test2": 2, "Test3": 1},
        "bad_label": 0,
        "missing_wav": 0,
        "unreadable_wav": 0,
        "duplicate": 0,
    }
    assert "'Test2': 2" in caplog.text
    assert sorted(test) == [
        "MSP-PODCAST_0005_0001",
        "MSP-PODCAST_0005_0002",
        "MSP-PODCAST_0006_0004",
    ]
    for manifest in (train, valid, test):
        for item in manifest.values():
            assert FIELDS <= set(item)
    item = train["MSP-PODCAST_0002_0003"]
    # Row: A, EmoAct 6.4, EmoVal 1.8, EmoDom 5.6, Unknown, Unknown, Train
    assert item["wav"] == "{data_root}/Audios/MSP-PODCAST_0002_0003.wav"
    assert item["style"] == "angry"
    assert item["arousal"] == pytest.approx(6.4)
    assert item["valence"] == pytest.approx(1.8)
    assert item["dominance"] == pytest.approx(5.6)
    assert item["spk_id"] == "Unknown" and item["gender"] is None
    assert item["start"] is None and item["stop"] is None
    assert item["channel"] is None
    assert item["transcript"] == "" and item["language"] == "en"
    assert item["dataset"] == "msp_podcast"
    # The third row lasts 0.2 + 0.05 * 2 s
    assert item["duration"] == pytest.approx(0.3, abs=1e-4)
    male = train["MSP-PODCAST_0001_0011"]
    assert (male["style"], male["spk_id"], male["gender"]) == (
        "happy",
        "127",
        "male",
    )
    assert valid["MSP-PODCAST_0004_0001"]["style"] == "no-agreement"
    assert valid["MSP-PODCAST_0004_0002"]["style"] == "surprised"
    assert valid["MSP-PODCAST_0004_0002"]["gender"] == "female"
    assert [test[u]["style"] for u in sorted(test)] == [
        "fearful",
        "disgusted",
        "contempt",
    ]
    # The wav path resolves once {data_root} is replaced
    wav = item["wav"].replace("{data_root}", release)
    assert os.path.isfile(wav)


def test_other_test_set_and_old_names_nested_audios(tmp_path):
    release = make_fake_msp_podcast(
        tmp_path / "data",
        label_file="labels_concensus.csv",
        nested_audios=True,
        valid_name="Validation",
    )
    summary, (train, valid, test), _ = _run(tmp_path, release, test_set="Test2")
    assert summary["counts"] == {"train": 4, "valid": 2, "test": 2}
    assert summary["skipped"]["split"] == {"Test1": 3, "Test3": 1}
    assert test["MSP-PODCAST_0007_0001"]["style"] == "other"
    item = train["MSP-PODCAST_0001_0008"]
    assert item["wav"] == "{data_root}/Audios/Audios/MSP-PODCAST_0001_0008.wav"
    assert os.path.isfile(item["wav"].replace("{data_root}", release))
    assert set(valid) == {"MSP-PODCAST_0004_0001", "MSP-PODCAST_0004_0002"}


def test_missing_wavs_counted_and_logged(tmp_path, caplog):
    release = make_fake_msp_podcast(
        tmp_path / "data",
        missing_wavs=("MSP-PODCAST_0001_0011.wav", "MSP-PODCAST_0007_0001.wav"),
    )
    with caplog.at_level(logging.INFO):
        summary, (train, _, _), _ = _run(tmp_path, release)
    # The Test2 file is skipped for its split before its wav is looked for
    assert summary["skipped"]["missing_wav"] == 1
    assert summary["counts"]["train"] == 3
    assert "MSP-PODCAST_0001_0011" not in train
    assert "Missing wav" in caplog.text
    assert "MSP-PODCAST_0001_0011.wav" in caplog.text


def test_bad_label_rows_and_duplicates_skipped(tmp_path):
    release = make_fake_msp_podcast(tmp_path / "data")
    label_file = os.path.join(release, "Labels", "labels_consensus.csv")
    with open(label_file, "a", encoding="utf-8") as fout:
        fout.write("MSP-PODCAST_0001_0008.wav,N,1,1,1,127,Male,Train\n")
        fout.write("MSP-PODCAST_0009_0001.wav,Q,4,4,4,9,Male,Train\n")
        fout.write("MSP-PODCAST_0009_0002.wav,N,,4,4,9,Male,Train\n")
        fout.write("MSP-PODCAST_0009_0003.wav,N,4,4,4,9,Male,Test9\n")
    summary, (train, _, _), _ = _run(tmp_path, release)
    assert summary["skipped"]["duplicate"] == 1
    assert summary["skipped"]["bad_label"] == 2
    assert summary["skipped"]["split"] == {"Test2": 2, "Test3": 1, "Test9": 1}
    # The first row of a duplicated FileName is kept
    assert train["MSP-PODCAST_0001_0008"]["arousal"] == pytest.approx(3.2)
    assert summary["counts"]["train"] == 4


def test_skip_if_outputs_exist_and_skip_prep(tmp_path, caplog):
    release = make_fake_msp_podcast(tmp_path / "data")
    _, _, paths = _run(tmp_path, release)
    for path in paths:
        with open(path, "w", encoding="utf-8") as fout:
            fout.write("{}")
    assert run_logged(caplog, prepare_msp_podcast, release, *paths) is None
    assert "Preparation completed in previous run, skipping." in caplog.text
    for path in paths:
        with open(path, encoding="utf-8") as fin:
            assert json.load(fin) == {}
    other = [str(tmp_path / "x" / f"{s}.json") for s in ("a", "b", "c")]
    assert prepare_msp_podcast(release, *other, skip_prep=True) is None
    assert not any(os.path.exists(path) for path in other)


def test_wrong_folder_and_bad_arguments(tmp_path):
    paths = [str(tmp_path / f"{split}.json") for split in ("a", "b", "c")]
    wrong = tmp_path / "not_msp"
    wrong.mkdir()
    with pytest.raises(ValueError, match="labels_consensus.csv") as error:
        prepare_msp_podcast(str(wrong), *paths)
    assert str(wrong) in str(error.value)

    release = make_fake_msp_podcast(tmp_path / "data")
    with pytest.raises(ValueError, match="test_set"):
        prepare_msp_podcast(release, *paths, test_set="Test4")

    os.rename(
        os.path.join(release, "Audios"), os.path.join(release, "Audio_files")
    )
    with pytest.raises(ValueError, match="Audios") as error:
        prepare_msp_podcast(release, *paths)
    assert release in str(error.value)


def test_missing_column_named(tmp_path):
    release = make_fake_msp_podcast(tmp_path / "data")
    label_file = os.path.join(release, "Labels", "labels_consensus.csv")
    with open(label_file, encoding="utf-8") as fin:
        lines = fin.read().splitlines()
    lines[0] = lines[0].replace("EmoVal", "Valence")
    with open(label_file, "w", encoding="utf-8") as fout:
        fout.write("\n".join(lines) + "\n")
    paths = [str(tmp_path / f"{split}.json") for split in ("a", "b", "c")]
    with pytest.raises(ValueError, match="EmoVal"):
        prepare_msp_podcast(release, *paths)

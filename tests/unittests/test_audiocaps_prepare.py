"""Tests of recipes/AudioCaps/audiocaps_prepare.py on fake AudioCaps trees."""

import logging
import os
import shutil

import pytest

from tests.fake_data import (
    FAKE_AUDIOCAPS_MISSING,
    FAKE_AUDIOCAPS_ROWS,
    make_fake_audiocaps,
)
from tests.prepare_utils import load_recipe_module, read_manifests, run_logged

prepare_audiocaps = load_recipe_module(
    "AudioCaps", "audiocaps_prepare.py"
).prepare_audiocaps

FIELDS = {
    "wav",
    "duration",
    "start",
    "stop",
    "channel",
    "captions",
    "audiocap_ids",
    "youtube_id",
    "start_time",
    "dataset",
    "language",
}


def _outputs(folder):
    return [str(folder / f"{split}.json") for split in ("tr", "va", "te")]


def _run(data_folder, out_folder, **kwargs):
    outputs = _outputs(out_folder)
    summary = prepare_audiocaps(data_folder, *outputs, **kwargs)
    manifests = dict(
        zip(("train", "valid", "test"), read_manifests(outputs), strict=True)
    )
    return summary, manifests


def test_clips_captions_and_missing_clips(tmp_path, caplog):
    root = make_fake_audiocaps(tmp_path / "audiocaps")
    with caplog.at_level(logging.WARNING):
        summary, manifests = _run(root, tmp_path)
    assert (summary["train"], summary["valid"], summary["test"]) == (6, 3, 3)
    assert summary["captions"] == {"train": 6, "valid": 15, "test": 15}
    # the clips that could not be downloaded are counted, logged, listed
    assert summary["missing"] == {
        "train": ["zzMissing01"],
        "valid": [],
        "test": ["zzMissing02"],
    }
    assert summary["skipped"]["train"] == {"missing_audio": 1}
    assert summary["skipped"]["valid"] == {}
    assert "1 of 7 clips skipped (missing_audio)" in caplog.text
    assert "zzMissing02" in caplog.text
    for key, csv_name in (
        ("train", "train"),
        ("valid", "val"),
        ("test", "test"),
    ):
        ytids = list(dict.fromkeys(r[1] for r in FAKE_AUDIOCAPS_ROWS[csv_name]))
        expected = [y for y in ytids if y not in FAKE_AUDIOCAPS_MISSING]
        assert list(manifests[key]) == expected
        for ytid, item in manifests[key].items():
            assert set(item) == FIELDS
            assert item["youtube_id"] == ytid
            assert item["dataset"] == "audiocaps"
    item = manifests["train"]["r1nicOVtvkQ"]
    assert item["captions"] == ["A woman talks nearby as water pours"]
    assert item["audiocap_ids"] == ["91139"] and item["start_time"] == 130.0
    assert item["wav"] == "{data_root}/audio/r1nicOVtvkQ.wav"
    assert item["duration"] == pytest.approx(0.3, abs=1e-3)
    # AudioSet-style Y<id> file names and subfolders are found
    assert manifests["train"]["UDGBjjwyaqE"]["wav"].endswith(
        "audio/YUDGBjjwyaqE.wav"
    )
    test_item = manifests["test"]["-0Gj8-vB1q4"]
    assert test_item["wav"] == "{data_root}/audio/test/-0Gj8-vB1q4.wav"
    # five captions per val/test clip, in csv order, with their ids
    assert test_item["captions"] == [
        f"Wind blows hard and rain falls ({j})" for j in range(1, 6)
    ]
    assert test_item["audiocap_ids"] == [str(103554 + j) for j in range(5)]


def test_audio_folder_outside_and_flat_csvs(tmp_path):
    root = make_fake_audiocaps(tmp_path / "audiocaps")
    for split in ("train", "val", "test"):
        shutil.move(
            os.path.join(root, "dataset", f"{split}.csv"),
            os.path.join(root, f"{split}.csv"),
        )
    clips = tmp_path / "downloads"
    shutil.move(os.path.join(root, "audio"), clips)
    summary, manifests = _run(root, tmp_path, audio_folder=str(clips))
    assert summary["train"] == 6
    wav = manifests["valid"]["rqu8iB22I_Y"]["wav"]
    assert wav == str(clips / "rqu8iB22I_Y.wav")  # absolute: outside the root


def test_bad_rows_unreadable_and_duplicate_files(tmp_path, caplog):
    root = make_fake_audiocaps(tmp_path / "audiocaps")
    with open(os.path.join(root, "dataset", "val.csv"), "a") as fout:
        fout.write("1,rqu8iB22I_Y,not-a-time,Bad start\n2,,0,No id\n")
    with open(os.path.join(root, "audio", "6BJ455B1aAs.wav"), "wb") as fout:
        fout.write(b"garbage")
    with caplog.at_level(logging.WARNING):
        summary, manifests = _run(root, tmp_path)
    assert summary["skipped"]["valid"] == {"bad_rows": 2}
    assert summary["skipped"]["train"] == {
        "missing_audio": 1,
        "unreadable_audio": 1,
    }
    assert summary["missing"]["train"] == ["zzMissing01", "6BJ455B1aAs"]
    assert "6BJ455B1aAs.wav" in caplog.text
    shutil.copy(
        os.path.join(root, "audio", "r1nicOVtvkQ.wav"),
        os.path.join(root, "audio", "test", "r1nicOVtvkQ.flac"),
    )
    with pytest.raises(ValueError, match="same clip 'r1nicOVtvkQ'"):
        prepare_audiocaps(root, *_outputs(tmp_path / "again"))


def test_skip_if_outputs_exist_and_skip_prep(tmp_path, caplog):
    root = make_fake_audiocaps(tmp_path / "audiocaps")
    outputs = _outputs(tmp_path)
    assert prepare_audiocaps(root, *outputs, skip_prep=True) is None
    assert not any(os.path.exists(p) for p in outputs)
    assert prepare_audiocaps(root, *outputs)["valid"] == 3
    assert run_logged(caplog, prepare_audiocaps, root, *outputs) is None
    assert "Preparation completed in previous run, skipping." in caplog.text


def test_errors_name_the_path(tmp_path):
    outputs = _outputs(tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        prepare_audiocaps(tmp_path / "nowhere", *outputs)
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(FileNotFoundError, match="not an AudioCaps folder"):
        prepare_audiocaps(other, *outputs)
    root = make_fake_audiocaps(tmp_path / "audiocaps")
    with pytest.raises(FileNotFoundError, match="no_clips"):
        prepare_audiocaps(root, *outputs, audio_folder=tmp_path / "no_clips")
    with open(os.path.join(root, "dataset", "test.csv"), "w") as fout:
        fout.write("ytid,text\nabc,hello\n")
    with pytest.raises(ValueError, match="test.csv is not an AudioCaps csv"):
        prepare_audiocaps(root, *outputs)

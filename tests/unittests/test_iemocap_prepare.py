"""Tests of recipes/IEMOCAP/iemocap_prepare.py on a fake IEMOCAP tree."""

import logging
import os
import pathlib
from collections import Counter

import pytest

from tests.fake_data import make_fake_iemocap
from tests.prepare_utils import (
    load_recipe_module,
    read_manifests,
    run_logged,
)

iemocap_prepare = load_recipe_module("IEMOCAP", "iemocap_prepare.py")
prepare_iemocap = iemocap_prepare.prepare_iemocap

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
    summary = prepare_iemocap(data_folder, *paths, **kwargs)
    manifests = read_manifests(paths)
    return summary, manifests, paths


def test_paper9_fold_fields_and_skips(tmp_path, caplog):
    release = make_fake_iemocap(tmp_path / "data", sessions=(1, 2, 3))
    with caplog.at_level(logging.INFO):
        summary, (train, valid, test), _ = _run(
            tmp_path, release, test_session=3, label_set="paper9"
        )
    # 12 annotated turns per session, "oth" and "xxx" dropped -> 10
    assert summary["counts"] == {"train": 16, "valid": 4, "test": 10}
    assert summary["skipped"]["label"] == {"oth": 3, "xxx": 3}
    assert summary["skipped"]["missing_wav"] == 0
    assert summary["skipped"]["malformed_line"] == 0
    assert summary["no_transcript"] == 0
    assert "'oth': 3" in caplog.text and "'xxx': 3" in caplog.text

    assert {utt[:5] for utt in test} == {"Ses03"}
    assert {utt[:5] for utt in list(train) + list(valid)} == {"Ses01", "Ses02"}
    # Per speaker 5 sorted ids -> one valid id, at position floor(0.5*5) = 2
    assert set(valid) == {
        "Ses01F_impro01_F002",
        "Ses01M_script01_1_M000",
        "Ses02F_impro01_F002",
        "Ses02M_script01_1_M000",
    }
    assert not set(train) & set(valid)
    assert Counter(item["style"] for item in test.values()) == {
        "neutral": 2,
        "frustrated": 1,
        "angry": 1,
        "sad": 1,
        "happy": 1,
        "excited": 1,
        "surprised": 1,
        "fearful": 1,
        "disgusted": 1,
    }
    for item in [*train.values(), *valid.values(), *test.values()]:
        assert FIELDS <= set(item)

    item = train["Ses01F_impro01_M000"]
    assert item["wav"] == (
        "{data_root}/Session1/sentences/wav/Ses01F_impro01/"
        "Ses01F_impro01_M000.wav"
    )
    assert os.path.isfile(item["wav"].replace("{data_root}", release))
    assert item["duration"] == pytest.approx(0.25)
    assert (item["start"], item["stop"], item["channel"]) == (None,) * 3
    assert item["style"] == "angry"
    assert item["spk_id"] == "Ses01_M"
    assert item["gender"] == "male"
    assert item["transcript"] == "Do you have your forms?"
    assert (item["valence"], item["arousal"], item["dominance"]) == (
        1.5,
        4.0,
        4.5,
    )
    assert item["language"] == "en" and item["dataset"] == "iemocap"
    # The speaker is the turn's letter, not the session's (Ses01M dialog)
    female = train["Ses01M_script01_1_F001"]
    assert (female["gender"], female["spk_id"]) == ("female", "Ses01_F")
    assert female["style"] == "fearful"
    assert (female["valence"], female["arousal"], female["dominance"]) == (
        2.0,
        4.0,
        1.5,
    )
    assert female["duration"] == pytest.approx(0.3)  # 3rd turn: 0.2 + 2 * 0.05
    assert test["Ses03M_script01_1_M002"]["duration"] == pytest.approx(0.45)


def test_four_classes_with_valid_session(tmp_path):
    release = make_fake_iemocap(tmp_path / "data", sessions=(1, 2, 3))
    summary, (train, valid, test), _ = _run(
        tmp_path, release, test_session=1, valid_session=2, label_set="four"
    )
    assert summary["counts"] == {"train": 6, "valid": 6, "test": 6}
    assert {utt[:5] for utt in train} == {"Ses03"}
    assert {utt[:5] for utt in valid} == {"Ses02"}
    assert {utt[:5] for utt in test} == {"Ses01"}
    skipped = ("dis", "fea", "fru", "oth", "sur", "xxx")
    assert summary["skipped"]["label"] == dict.fromkeys(skipped, 3)
    assert Counter(item["style"] for item in test.values()) == {
        "neutral": 2,
        "angry": 1,
        "sad": 1,
        "happy": 2,
    }
    # Excited is merged into happy
    assert test["Ses01F_impro01_F001"]["style"] == "happy"
    assert test["Ses01F_impro01_F001"]["emotion_code"] == "exc"
    assert test["Ses01F_impro01_M001"]["style"] == "happy"


def test_missing_wav_is_counted_and_logged(tmp_path, caplog):
    release = make_fake_iemocap(
        tmp_path / "data",
        sessions=(1, 2),
        missing_wavs=("Ses01F_impro01_M001", "Ses02F_impro01_M002"),
    )
    with caplog.at_level(logging.INFO):
        summary, (train, valid, test), _ = _run(
            tmp_path, release, test_session=2, label_set="paper9"
        )
    # Ses02F_impro01_M002 is "xxx": counted by its label, not as a missing wav
    assert summary["skipped"]["missing_wav"] == 1
    assert summary["skipped"]["label"] == {"oth": 2, "xxx": 2}
    assert "Ses01F_impro01_M001" not in {**train, **valid}
    assert summary["counts"] == {"train": 7, "valid": 2, "test": 10}
    assert "Ses01F_impro01_M001.wav" in caplog.text
    assert "missing wavs: 1" in caplog.text


def test_subfolders_and_annotator_lines_are_ignored(tmp_path):
    release = make_fake_iemocap(tmp_path / "data", sessions=(1, 2))
    # A summary-like line in a sub-folder would add a turn without a wav
    extra = os.path.join(
        release, "Session1", "dialog", "EmoEvaluation", "Categorical", "x.txt"
    )
    with open(extra, "w", encoding="utf-8") as fout:
        fout.write("[1.0 - 2.0]\tSes01F_impro09_F000\tneu\t[1.0, 1.0, 1.0]\n")
    summary, manifests, _ = _run(tmp_path, release, test_session=1)
    assert summary["skipped"]["missing_wav"] == 0
    items = {utt for manifest in manifests for utt in manifest}
    assert len(items) == 20
    dialogs = {utt.rsplit("_", 1)[0] for utt in items}
    assert dialogs == {
        "Ses01F_impro01",
        "Ses01M_script01_1",
        "Ses02F_impro01",
        "Ses02M_script01_1",
    }


def test_parent_folder_and_transcript_lines(tmp_path):
    root = tmp_path / "data"
    release = make_fake_iemocap(root, sessions=(1, 2))
    trans = os.path.join(
        release, "Session2", "dialog", "transcriptions", "Ses02F_impro01.txt"
    )
    with open(trans, encoding="utf-8") as fin:
        lines = fin.read().splitlines()
    # Drop one turn's transcript: the item stays, with an empty transcript
    with open(trans, "w", encoding="utf-8") as fout:
        fout.write(
            "\n".join(x for x in lines if "Ses02F_impro01_F000" not in x)
        )
    summary, (_, _, test), _ = _run(tmp_path, str(root), test_session=2)
    assert summary["no_transcript"] == 1
    assert test["Ses02F_impro01_F000"]["transcript"] == ""
    assert test["Ses02F_impro01_F001"]["transcript"] == "Yeah, I've got them."
    assert test["Ses02F_impro01_F001"]["wav"] == (
        "{data_root}/IEMOCAP_full_release/Session2/sentences/wav/"
        "Ses02F_impro01/Ses02F_impro01_F001.wav"
    )
    assert not any("XX" in utt for utt in test)


def test_wrong_folder_and_bad_arguments(tmp_path):
    empty = tmp_path / "not_iemocap"
    empty.mkdir()
    with pytest.raises(ValueError, match=str(empty)):
        _run(tmp_path, str(empty))
    release = make_fake_iemocap(tmp_path / "data", sessions=(1, 2, 3))
    with pytest.raises(ValueError, match="Session5"):
        _run(tmp_path, release)  # test_session=5 is not in the fake tree
    with pytest.raises(ValueError, match="valid_session"):
        _run(tmp_path, release, test_session=2, valid_session=2)
    with pytest.raises(ValueError, match="test_session"):
        _run(tmp_path, release, test_session=6)
    with pytest.raises(ValueError, match="label_set"):
        _run(tmp_path, release, test_session=1, label_set="seven")
    broken = tmp_path / "broken" / "Session1"
    broken.mkdir(parents=True)
    with pytest.raises(ValueError, match="EmoEvaluation"):
        _run(tmp_path, str(broken.parent), test_session=1)
    assert not (tmp_path / "out").exists()


def test_skip_if_exists_and_skip_prep(tmp_path, caplog):
    release = make_fake_iemocap(tmp_path / "data", sessions=(1, 2))
    out = tmp_path / "skipped"
    paths = [str(out / f"{s}.json") for s in ("train", "valid", "test")]
    assert prepare_iemocap(release, *paths, test_session=1, skip_prep=True) is (
        None
    )
    assert not out.exists()

    summary, manifests, paths = _run(tmp_path, release, test_session=1)
    assert summary is not None
    before = [pathlib.Path(p).read_text() for p in paths]
    # A second run, even with other options, leaves the manifests alone
    again = run_logged(
        caplog,
        prepare_iemocap,
        release,
        *paths,
        test_session=2,
        label_set="four",
    )
    assert again is None
    assert "Preparation completed in previous run, skipping." in caplog.text
    assert [pathlib.Path(p).read_text() for p in paths] == before


def test_all_label_set_keeps_every_annotated_turn(tmp_path):
    release = make_fake_iemocap(tmp_path / "data", sessions=(1, 2, 3))
    summary, (train, valid, test), _ = _run(
        tmp_path, release, test_session=3, label_set="all"
    )
    # The dimensional recipe's label set: "oth" and "xxx" turns kept
    # 6 turns per speaker: round(0.1 * 6) = 1 valid id each
    assert summary["counts"] == {"train": 20, "valid": 4, "test": 12}
    assert summary["skipped"]["label"] == {}
    styles = Counter(item["style"] for item in test.values())
    assert styles["other"] == 1 and styles["undecided"] == 1
    for item in [*train.values(), *valid.values(), *test.values()]:
        assert isinstance(item["valence"], float)
        assert isinstance(item["arousal"], float)

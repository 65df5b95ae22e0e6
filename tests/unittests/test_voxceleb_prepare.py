"""Tests of recipes/VoxCeleb/voxceleb_prepare.py on fake VoxCeleb1 trees."""

import logging
import os
import pathlib
from collections import Counter

import pytest

from tests.fake_data import make_fake_voxceleb
from tests.prepare_utils import (
    load_recipe_module,
    read_manifests,
    run_logged,
)

voxceleb_prepare = load_recipe_module("VoxCeleb", "voxceleb_prepare.py")
prepare_voxceleb = voxceleb_prepare.prepare_voxceleb
read_voxceleb_meta = voxceleb_prepare.read_voxceleb_meta

FIELDS = {
    "wav",
    "duration",
    "start",
    "stop",
    "channel",
    "spk_id",
    "gender",
    "nationality",
    "name",
    "video",
    "dataset",
    "language",
    "transcript",
    "style",
    "valence",
    "arousal",
    "dominance",
}


def _outputs(folder):
    return [str(folder / f"{split}.json") for split in ("tr", "va", "te")]


def _run(data_folder, out_folder, **kwargs):
    outputs = _outputs(out_folder)
    summary = prepare_voxceleb(data_folder, *outputs, **kwargs)
    manifests = dict(
        zip(("train", "valid", "test"), read_manifests(outputs), strict=True)
    )
    return summary, manifests


def test_splits_fields_and_counts(tmp_path, caplog):
    root = make_fake_voxceleb(tmp_path / "vox1")
    with caplog.at_level(logging.WARNING):
        summary, manifests = _run(root, tmp_path)
    # 3 dev speakers x 2 videos x 2 utts: the last sorted video -> valid.
    assert summary["train"] == 6 and summary["valid"] == 6
    assert summary["test"] == 8
    assert summary["train_speakers"] == summary["valid_speakers"] == 3
    assert summary["test_speakers"] == 2
    assert summary["skipped"] == {
        "speakers_without_meta": 1,
        "speakers_without_audio": 1,
    }
    assert "id10999" in caplog.text and "id10003" in caplog.text

    spk = {s: {i["spk_id"] for i in m.values()} for s, m in manifests.items()}
    assert spk["train"] == spk["valid"] == {"id10001", "id10002", "id10006"}
    assert spk["test"] == {"id10270", "id10271"}
    videos = {s: {i["video"] for i in m.values()} for s, m in manifests.items()}
    assert videos["train"] == {"1zcIwhmdeo4"}
    assert videos["valid"] == {"7w0IBEWc9Qw"}
    assert videos["test"] == {"1zcIwhmdeo4", "7w0IBEWc9Qw"}

    item = manifests["train"]["id10001--1zcIwhmdeo4--00002"]
    assert set(item) == FIELDS
    assert item["wav"] == "{data_root}/wav/id10001/1zcIwhmdeo4/00002.wav"
    assert item["duration"] == pytest.approx(0.25)
    assert (item["gender"], item["nationality"]) == ("male", "Ireland")
    assert item["name"] == "A.J. Buckley"
    assert (item["dataset"], item["language"]) == ("voxceleb1", "en")
    assert item["start"] is item["stop"] is item["channel"] is None
    # files are numbered per video
    valid = manifests["valid"]["id10006--7w0IBEWc9Qw--00002"]
    assert valid["duration"] == pytest.approx(0.25)
    assert (valid["gender"], valid["nationality"]) == ("female", "Australia")
    test = manifests["test"]["id10271--7w0IBEWc9Qw--00001"]
    assert (test["gender"], test["nationality"]) == ("male", "UK")
    assert test["name"] == "Ed Westwick"
    for items in manifests.values():
        for utt_id, entry in items.items():
            rel = entry["wav"].replace("{data_root}", str(root))
            assert os.path.isfile(rel), utt_id


def test_valid_ratio_and_max_utts(tmp_path):
    root = make_fake_voxceleb(
        tmp_path / "vox1", videos_per_speaker=4, orphan=False
    )
    summary, manifests = _run(
        root, tmp_path, valid_ratio=0.5, max_utts_per_speaker=3
    )
    # sorted videos: -2ZqV_Lmw4c, 1zcIwhmdeo4, 7w0IBEWc9Qw, Y8hIVOBuels
    valid_videos = {i["video"] for i in manifests["valid"].values()}
    assert valid_videos == {"7w0IBEWc9Qw", "Y8hIVOBuels"}
    # test speaker: 8 utts -> evenly spaced indices 0, 2, 5 of the sorted
    # (video, file) pairs
    kept = sorted(
        utt
        for utt, item in manifests["test"].items()
        if item["spk_id"] == "id10270"
    )
    assert kept == [
        "id10270---2ZqV_Lmw4c--00001",
        "id10270--1zcIwhmdeo4--00001",
        "id10270--7w0IBEWc9Qw--00002",
    ]
    counts = Counter(i["spk_id"] for i in manifests["train"].values())
    assert set(counts.values()) == {3}
    # per speaker: train 4 -> 3, valid 4 -> 3, test 8 -> 3
    assert summary["skipped"] == {
        "utts_over_max_per_speaker": 3 * 2 + 2 * 5,
        "speakers_without_audio": 1,  # id10003; no orphan folder here
    }


def test_valid_ratio_zero_and_single_video(tmp_path):
    root = make_fake_voxceleb(tmp_path / "a", orphan=False)
    summary, _ = _run(root, tmp_path / "o1", valid_ratio=0.0)
    assert (summary["train"], summary["valid"]) == (12, 0)
    root = make_fake_voxceleb(tmp_path / "b", videos_per_speaker=1)
    summary, _ = _run(root, tmp_path / "o2")
    assert (summary["train"], summary["valid"]) == (6, 0)


def test_skip_if_outputs_exist_and_skip_prep(tmp_path, caplog):
    root = make_fake_voxceleb(tmp_path / "vox1")
    outputs = _outputs(tmp_path)
    assert prepare_voxceleb(root, *outputs, skip_prep=True) is None
    assert not any(os.path.exists(p) for p in outputs)
    assert prepare_voxceleb(root, *outputs)["test"] == 8
    pathlib.Path(outputs[0]).write_text("{}")
    assert run_logged(caplog, prepare_voxceleb, root, *outputs) is None
    assert "Preparation completed in previous run" in caplog.text
    assert pathlib.Path(outputs[0]).read_text() == "{}"


def test_errors_name_the_path(tmp_path):
    outputs = _outputs(tmp_path)
    other = tmp_path / "not_vox"
    (other / "wav" / "speaker1").mkdir(parents=True)
    with pytest.raises(ValueError, match="not_vox.*does not look like"):
        prepare_voxceleb(other, *outputs)
    with pytest.raises(FileNotFoundError, match="missing"):
        prepare_voxceleb(tmp_path / "missing", *outputs)
    root = make_fake_voxceleb(tmp_path / "vox1")
    os.remove(os.path.join(root, "vox1_meta.csv"))
    with pytest.raises(FileNotFoundError, match="vox1_meta.csv"):
        prepare_voxceleb(root, *outputs)
    with pytest.raises(ValueError, match="valid_ratio"):
        prepare_voxceleb(root, *outputs, valid_ratio=1.0)
    with pytest.raises(ValueError, match="max_utts_per_speaker"):
        prepare_voxceleb(root, *outputs, max_utts_per_speaker=0)


def test_meta_file_argument_and_tolerant_parsing(tmp_path, caplog):
    root = make_fake_voxceleb(tmp_path / "vox1", orphan=False)
    os.remove(os.path.join(root, "vox1_meta.csv"))
    meta = tmp_path / "elsewhere.csv"
    meta.write_text(
        "VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet \n"
        "id10001\tA.J._Buckley\tm\tIreland\tdev\n"
        "id10002  A.R._Rahman  m  India  dev\n"  # spaces, no tabs
        "id10006\tAbbie_Cornish\tF\tAustralia\tDev\n"
        "id10270\tEartha_Kitt\tf\tTrinidad and Tobago\ttest\n"
        "id10271\tEd_Westwick\tx\tUK\ttest\n"  # unknown gender -> null
        "id10271\tEd_Westwick\tm\tUK\ttest\n"  # duplicate
        "id10400\tSomeone\tm\tUSA\tvalid\n"  # unknown set
        "garbage line\n"
        "\n",
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING):
        summary, manifests = _run(root, tmp_path, meta_file=str(meta))
    assert summary["skipped"] == {"meta_bad_lines": 3, "meta_unknown_gender": 1}
    assert "garbage line" in caplog.text
    assert (summary["train"], summary["valid"], summary["test"]) == (6, 6, 8)
    by_spk = {i["spk_id"]: i for m in manifests.values() for i in m.values()}
    assert by_spk["id10002"]["nationality"] == "India"
    assert by_spk["id10006"]["gender"] == "female"
    assert by_spk["id10270"]["nationality"] == "Trinidad and Tobago"
    assert by_spk["id10271"]["gender"] is None


def test_set_disagreeing_with_test_ids_is_logged(tmp_path):
    meta = tmp_path / "vox1_meta.csv"
    meta.write_text("id10001\tA\tm\tIreland\ttest\n")
    assert read_voxceleb_meta(str(meta))["id10001"]["set"] == "test"
    root = make_fake_voxceleb(
        tmp_path / "vox1", speakers=("id10001",), orphan=False
    )
    summary, manifests = _run(root, tmp_path, meta_file=str(meta))
    assert summary["test"] == 4 and summary["train"] == 0
    assert summary["skipped"] == {"set_disagrees_with_test_ids": 1}

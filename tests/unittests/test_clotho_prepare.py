"""Tests of recipes/Clotho/clotho_prepare.py on fake Clotho v2.1 trees."""

import logging
import os

import pytest
import soundfile as sf

from tests.fake_data import (
    FAKE_CLOTHO_CLIPS,
    FAKE_CLOTHO_ORPHAN,
    fake_clotho_captions,
    make_fake_clotho,
)
from tests.prepare_utils import load_recipe_module, read_manifests, run_logged

prepare_clotho = load_recipe_module(
    "Clotho", "clotho_prepare.py"
).prepare_clotho

FIELDS = {
    "wav",
    "duration",
    "start",
    "stop",
    "channel",
    "captions",
    "file_name",
    "split",
    "keywords",
    "sound_id",
    "license",
    "dataset",
    "language",
}


def _outputs(folder):
    return [str(folder / f"{split}.json") for split in ("tr", "va", "te")]


def _run(data_folder, out_folder):
    outputs = _outputs(out_folder)
    summary = prepare_clotho(data_folder, *outputs)
    manifests = dict(
        zip(("train", "valid", "test"), read_manifests(outputs), strict=True)
    )
    return summary, manifests


def test_splits_captions_and_fields(tmp_path, caplog):
    root = make_fake_clotho(tmp_path / "clotho")
    with caplog.at_level(logging.WARNING):
        summary, manifests = _run(root, tmp_path)
    assert (summary["train"], summary["valid"], summary["test"]) == (6, 3, 3)
    assert summary["captions"] == {"train": 30, "valid": 15, "test": 15}
    for key, split in (
        ("train", "development"),
        ("valid", "validation"),
        ("test", "evaluation"),
    ):
        names = [name for name, _, _ in FAKE_CLOTHO_CLIPS[split]]
        assert list(manifests[key]) == [name[:-4] for name in names]
        for item in manifests[key].values():
            assert set(item) == FIELDS
            assert item["split"] == split
            assert (
                item["wav"] == "{data_root}/" + f"{split}/{item['file_name']}"
            )
            assert item["captions"] == fake_clotho_captions(item["file_name"])
            assert item["dataset"] == "clotho" and item["language"] == "en"
            assert item["start"] is None and item["channel"] is None
    # durations: the j-th clip of a split lasts 0.3 + 0.1 j s
    assert manifests["valid"]["Typing keyboard"]["duration"] == pytest.approx(
        0.5, abs=1e-3
    )
    # a caption with a comma and quotes survives the csv round trip
    assert manifests["train"]["Rain on roof"]["captions"][2] == (
        'a recording of rain on roof, then "silence"'
    )
    # the metadata csv is ISO-8859-1: the Latin-1 file name and keywords
    # are matched and decoded
    cafe = manifests["train"]["Café ambience"]
    assert cafe["keywords"] == ["café", "people"]
    assert cafe["sound_id"] == "1003"
    assert cafe["license"].startswith("http://creativecommons.org/")
    # the orphan wav is counted and logged, not listed
    assert summary["skipped"]["train"] == {"audio_without_captions": 1}
    assert summary["skipped"]["valid"] == {}
    assert FAKE_CLOTHO_ORPHAN[:-4] not in manifests["train"]
    assert "1 clips skipped (audio_without_captions)" in caplog.text


def test_missing_unreadable_and_incomplete_rows_are_counted(tmp_path, caplog):
    root = make_fake_clotho(
        tmp_path / "clotho", missing_audio=("Water drip.wav",), orphan=False
    )
    with open(os.path.join(root, "evaluation", "Wind chimes.wav"), "wb") as f:
        f.write(b"not a wav")
    path = os.path.join(root, "clotho_captions_development.csv")
    with open(path, encoding="utf-8") as fin:
        text = fin.read()
    # Birds at dawn loses two captions; a row without a file name
    text = text.replace(
        'birds at dawn can be heard,"in the distance, birds at dawn"',
        ",",
    )
    text += ",a,b,c,d,e\n"
    with open(path, "w", encoding="utf-8") as fout:
        fout.write(text)
    with caplog.at_level(logging.WARNING):
        summary, manifests = _run(root, tmp_path)
    assert summary["skipped"]["valid"] == {"missing_audio": 1}
    assert "Water drip" not in manifests["valid"]
    assert summary["skipped"]["test"] == {"unreadable_audio": 1}
    assert summary["skipped"]["train"] == {
        "clips_with_fewer_captions": 1,
        "rows_without_file_name": 1,
    }
    assert len(manifests["train"]["Birds at dawn"]["captions"]) == 3
    assert summary["captions"]["train"] == 28
    assert "Wind chimes.wav" in caplog.text  # the unreadable file is named


def test_latin1_captions_file_is_read_with_a_warning(tmp_path, caplog):
    root = make_fake_clotho(tmp_path / "clotho")
    path = os.path.join(root, "clotho_captions_validation.csv")
    with open(path, encoding="utf-8") as fin:
        text = fin.read().replace("the sound of water drip", "un café déjà vu")
    with open(path, "w", encoding="ISO-8859-1") as fout:
        fout.write(text)
    with caplog.at_level(logging.WARNING):
        _, manifests = _run(root, tmp_path)
    assert manifests["valid"]["Water drip"]["captions"][0] == "un café déjà vu"
    assert "reading it as ISO-8859-1" in caplog.text


def test_skip_if_outputs_exist_and_skip_prep(tmp_path, caplog):
    root = make_fake_clotho(tmp_path / "clotho")
    outputs = _outputs(tmp_path)
    assert prepare_clotho(root, *outputs, skip_prep=True) is None
    assert not any(os.path.exists(p) for p in outputs)
    assert prepare_clotho(root, *outputs)["train"] == 6
    assert run_logged(caplog, prepare_clotho, root, *outputs) is None
    assert "Preparation completed in previous run, skipping." in caplog.text


def test_errors_name_the_path(tmp_path):
    outputs = _outputs(tmp_path / "out")
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        prepare_clotho(missing, *outputs)
    other = tmp_path / "other"
    other.mkdir()
    sf.write(other / "a.wav", [0.1] * 100, 44100)
    with pytest.raises(FileNotFoundError, match="not a Clotho v2 folder"):
        prepare_clotho(other, *outputs)
    root = make_fake_clotho(tmp_path / "clotho")
    os.rename(os.path.join(root, "evaluation"), os.path.join(root, "eval"))
    with pytest.raises(FileNotFoundError, match="clotho_audio_evaluation"):
        prepare_clotho(root, *outputs)
    os.rename(os.path.join(root, "eval"), os.path.join(root, "evaluation"))
    path = os.path.join(root, "clotho_captions_validation.csv")
    with open(path, "w", encoding="utf-8") as fout:
        fout.write("name,caption\nx.wav,y\n")
    with pytest.raises(ValueError, match="clotho_captions_validation.csv"):
        prepare_clotho(root, *outputs)

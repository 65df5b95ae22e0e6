"""Tests of recipes/Expresso/expresso_prepare.py on a fake Expresso tree."""

import logging
import pathlib

import numpy as np
import pytest
import soundfile as sf
import torch
from speechbrain.dataio.dataset import DynamicItemDataset

from speechbrain_style.dataio.audio import make_audio_pipeline
from tests.fake_data import FAKE_EXPRESSO_SPLITS, make_fake_expresso
from tests.prepare_utils import (
    load_recipe_module,
    read_manifests,
    run_logged,
)

expresso_prepare = load_recipe_module("Expresso", "expresso_prepare.py")
prepare_expresso = expresso_prepare.prepare_expresso

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
    "speech_type",
    "valence",
    "arousal",
    "dominance",
}


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory):
    return make_fake_expresso(tmp_path_factory.mktemp("expresso_data"))


def _run(root, out, **kwargs):
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "train.json", out / "valid.json", out / "test.json"]
    summary = prepare_expresso(root, *paths, **kwargs)
    manifests = read_manifests(paths)
    return summary, manifests


def _spans(manifest, name, channel):
    """The (start, stop) of the items of one file and channel."""
    return sorted(
        (item["start"], item["stop"])
        for item in manifest.values()
        if item["wav"].endswith(f"/{name}.wav") and item["channel"] == channel
    )


def test_manifests_counts_labels_and_fields(fake_root, tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        summary, (train, valid, test) = _run(fake_root, tmp_path)
    assert summary["items"] == {"train": 11, "valid": 2, "test": 4}
    assert summary["skipped"] == {
        "file not in any split": 1,
        "style not selected": 1,
        "segment shorter than 1.0 s": 3,
    }
    assert summary["skipped_styles"] == {"narration": 1}
    log = caplog.text
    assert "skipped 1 (file not in any split)" in log
    assert "skipped 3 (segment shorter than 1.0 s)" in log
    assert "narration 1" in log

    for manifest in (train, valid, test):
        for item in manifest.values():
            assert set(item) == FIELDS
            assert item["wav"].startswith("{data_root}/audio_48khz/")
            assert item["language"] == "en"
            assert item["dataset"] == "expresso"
            assert item["gender"] is None
            assert item["style"] in expresso_prepare.EVAL_STYLES

    # Base read utterances: whole files, with transcripts.
    item = train["ex01_default_emphasis_00001"]
    assert item["wav"] == (
        "{data_root}/audio_48khz/read/ex01/default/base/"
        "ex01_default_emphasis_00001.wav"
    )
    assert (item["start"], item["stop"], item["channel"]) == (None,) * 3
    assert item["style"] == "default"
    assert item["spk_id"] == "ex01"
    assert item["duration"] == pytest.approx(2.5)
    assert item["transcript"] == "I said the RED one, not the blue one."
    assert valid["ex01_happy_00002"]["transcript"] == "We won the game!"
    assert test["ex02_sad_00001"]["style"] == "sad"
    assert "ex03_confused_00001" not in {**train, **valid, **test}

    # Longform read: 10 s chunks inside each set's interval, no transcript.
    name = "ex02_default_00001"
    assert _spans(train, name, None) == [(0.0, 10.0), (10.0, 12.0)]
    assert _spans(test, name, None) == [(12.0, 22.0), (22.0, 25.0)]
    assert train[f"{name}_00010000"]["duration"] == pytest.approx(2.0)
    assert train[f"{name}_00010000"]["transcript"] == ""

    # Dialogue, channel 0 = left speaker ex01: VAD segments merged inside
    # each set's interval, cut at the set boundaries (8 s and 16 s).
    name = "ex01-ex02_angry_001"
    assert _spans(valid, name, 0) == [(0.5, 8.0)]
    assert _spans(test, name, 0) == [(8.0, 16.0)]
    assert _spans(train, name, 0) == [(16.0, 23.5)]
    # Channel 1 (ex02): (1.0, 1.6) is too short, the rest merges.
    assert _spans(valid, name, 1) == []
    assert _spans(train, name, 1) == [(16.5, 24.9)]
    item = train[f"{name}_ch2_00016500"]
    assert (item["spk_id"], item["style"], item["channel"]) == (
        "ex02",
        "angry",
        1,
    )
    assert item["transcript"] == ""
    assert item["duration"] == pytest.approx(8.4)

    # Paired style folder: the left channel has the first style.
    name = "ex03-ex04_sad-sympathetic_002"
    left = [v for v in train.values() if name in v["wav"] and v["channel"] == 0]
    right = [
        v for v in train.values() if name in v["wav"] and v["channel"] == 1
    ]
    assert {(v["spk_id"], v["style"]) for v in left} == {("ex03", "sad")}
    assert {(v["spk_id"], v["style"]) for v in right} == {
        ("ex04", "sympathetic")
    }
    # 22 s of speech is split into 3 equal parts of at most 10 s.
    starts = [
        round(v["start"], 2) for v in sorted(left, key=lambda v: v["start"])
    ]
    assert starts == [0.0, 7.33, 14.67]
    assert all(v["duration"] == pytest.approx(22 / 3, abs=1e-3) for v in left)
    assert _spans(train, name, 1) == [(20.0, 21.5)]


def _split_intervals(splits_dir):
    """{name: {split: [(start, stop)]}} read independently of the recipe."""
    result = {}
    for split in ("train", "dev", "test"):
        lines = (splits_dir / f"{split}.txt").read_text().splitlines()
        assert lines[0].startswith("#")
        for line in lines[1:]:
            name, _, bounds = line.partition("\t")
            start, stop = 0.0, float("inf")
            if bounds:
                a, b = bounds.strip("()").split(",")
                start = float(a.rstrip("s")) if a else 0.0
                stop = float(b.rstrip("s")) if b else float("inf")
            result.setdefault(name, {}).setdefault(split, []).append(
                (start, stop)
            )
    return result


def _assert_no_leak(root, train, valid, test, train_only=False):
    """No segment of a set overlaps another set's interval of its file.

    With ``train_only``, only train segments are checked (against the
    dev/test intervals).
    """
    intervals = _split_intervals(root / "splits")
    checked = 0
    sets_to_check = [("train", train), ("dev", valid), ("test", test)]
    if train_only:
        sets_to_check = sets_to_check[:1]
    for sets, manifest in sets_to_check:
        for item in manifest.values():
            if item["start"] is None:
                continue
            name = pathlib.Path(item["wav"]).stem
            for other, spans in intervals[name].items():
                if other == sets:
                    continue
                for lo, hi in spans:
                    overlap = min(item["stop"], hi) - max(item["start"], lo)
                    assert overlap <= 1e-6, (sets, other, item, lo, hi)
                    checked += 1
    assert checked > 0


def test_no_segment_leaks_across_sets(fake_root, tmp_path):
    _, (train, valid, test) = _run(fake_root, tmp_path)
    _assert_no_leak(fake_root, train, valid, test)


def test_overlapping_split_entries_are_removed_from_train(fake_root, tmp_path):
    # A copy whose train.txt lists the whole angry dialogue and the whole
    # longform file: their dev/test parts must still stay out of train.
    root = make_fake_expresso(tmp_path / "data")
    lines = ["# train"]
    for name, _ in FAKE_EXPRESSO_SPLITS["train"]:
        lines.append(name)
    (root / "splits" / "train.txt").write_text("\n".join(lines) + "\n")
    _, (train, valid, test) = _run(root, tmp_path / "out")
    _assert_no_leak(root, train, valid, test, train_only=True)
    assert _spans(train, "ex01-ex02_angry_001", 0) == [(16.0, 23.5)]
    assert _spans(train, "ex02_default_00001", None) == [
        (0.0, 10.0),
        (10.0, 12.0),
    ]
    assert _spans(test, "ex02_default_00001", None) == [
        (12.0, 22.0),
        (22.0, 25.0),
    ]


def test_style_selection(fake_root, tmp_path):
    summary, (train, _, _) = _run(fake_root, tmp_path / "all", styles="all")
    assert summary["items"] == {"train": 13, "valid": 2, "test": 4}
    assert "style not selected" not in summary["skipped"]
    assert _spans(train, "ex01_narration_00001", None) == [
        (0.0, 10.0),
        (10.0, 12.0),
    ]
    summary, manifests = _run(
        fake_root, tmp_path / "angry", styles=["angry", "sympathetic"]
    )
    assert summary["items"] == {"train": 3, "valid": 1, "test": 1}
    styles = {v["style"] for m in manifests for v in m.values()}
    assert styles == {"angry", "sympathetic"}
    # 7 read files in splits + the left (sad) side of the paired dialogue.
    assert summary["skipped"]["style not selected"] == 8
    with pytest.raises(ValueError, match="'angy'"):
        _run(fake_root, tmp_path / "bad", styles=["angy"])


def test_eval_styles_are_19_known_styles():
    styles = expresso_prepare.EVAL_STYLES
    assert len(styles) == len(set(styles)) == 19
    assert set(styles) <= set(expresso_prepare.ALL_STYLES)
    for left_out in ["nonverbal", "animaldir", "childdir", "narration"]:
        assert left_out not in styles


def test_min_and_max_seconds(fake_root, tmp_path):
    summary, (train, valid, _) = _run(fake_root, tmp_path, max_seconds=5.0)
    name = "ex01-ex02_angry_001"
    # (0.5, 3) + (3.5, 6) would span 5.5 s > 5 s; (3.5, 6) + (7, 8) fits.
    assert _spans(valid, name, 0) == [(0.5, 3.0), (3.5, 8.0)]
    # 22 s of speech -> 5 equal parts of 4.4 s.
    spans = _spans(train, "ex03-ex04_sad-sympathetic_002", 0)
    assert [round(a, 2) for a, _ in spans] == [0.0, 4.4, 8.8, 13.2, 17.6]
    _, (train, _, _) = _run(fake_root, tmp_path / "min2", min_seconds=2.0)
    # The 1.5 s VAD piece is dropped; base read files always stay whole.
    assert _spans(train, "ex03-ex04_sad-sympathetic_002", 1) == []
    assert "ex02_whisper_00003" in train
    with pytest.raises(ValueError, match="min_seconds"):
        _run(fake_root, tmp_path / "bad", min_seconds=3.0, max_seconds=2.0)


def test_skip_if_outputs_exist_and_skip_prep(fake_root, tmp_path, caplog):
    _run(fake_root, tmp_path)
    train_path = tmp_path / "train.json"
    train_path.write_text("{}")
    summary, (train, _, _) = run_logged(caplog, _run, fake_root, tmp_path)
    assert summary is None
    assert train == {}
    assert "Preparation completed in previous run, skipping." in caplog.text
    out = tmp_path / "skip"
    out.mkdir()
    result = prepare_expresso(
        tmp_path / "nowhere",
        out / "a.json",
        out / "b.json",
        out / "c.json",
        skip_prep=True,
    )
    assert result is None
    assert list(out.iterdir()) == []


def test_wrong_folder_names_the_path(fake_root, tmp_path):
    out = [tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"]
    # The parent of the expresso folder is not the data folder.
    parent = fake_root.parent
    with pytest.raises(FileNotFoundError, match=str(parent)) as info:
        prepare_expresso(parent, *out)
    assert "audio_48khz" in str(info.value)
    assert not any(p.exists() for p in out)


def test_malformed_split_line_names_file_and_line(tmp_path):
    root = make_fake_expresso(tmp_path / "data")
    with open(root / "splits" / "dev.txt", "a") as f:
        f.write("ex01_happy_00001\t[1.0, 2.0]\n")
    with pytest.raises(ValueError, match=r"dev.txt, line 4"):
        _run(root, tmp_path / "out")


def test_manifest_items_load_the_right_channel(fake_root, tmp_path):
    _run(fake_root, tmp_path)
    dataset = DynamicItemDataset.from_json(
        tmp_path / "valid.json", replacements={"data_root": str(fake_root)}
    )
    pipeline = make_audio_pipeline(
        sample_rate=48000, time_bounds=True, channel=True
    )
    dataset.add_dynamic_item(pipeline)
    dataset.set_output_keys(["id", "sig"])
    by_id = {item["id"]: item["sig"] for item in dataset}
    wav_path = (
        fake_root
        / "audio_48khz/conversational/ex01-ex02/angry/ex01-ex02_angry_001.wav"
    )
    stereo, rate = sf.read(wav_path, dtype="float32")
    sig = by_id["ex01-ex02_angry_001_ch1_00000500"]
    expected = torch.from_numpy(np.ascontiguousarray(stereo[24000:384000, 0]))
    torch.testing.assert_close(sig, expected)
    happy, _ = sf.read(
        fake_root / "audio_48khz/read/ex01/happy/base/ex01_happy_00002.wav",
        dtype="float32",
    )
    torch.testing.assert_close(
        by_id["ex01_happy_00002"], torch.from_numpy(happy)
    )

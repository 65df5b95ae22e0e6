"""Tests of recipes/ESD/esd_prepare.py on fake ESD trees."""

import codecs
import json
import logging
import os
import pathlib
import shutil
from collections import Counter

import pytest

from tests.fake_data import fake_esd_transcript, make_fake_esd
from tests.prepare_utils import load_recipe_module, read_manifests

esd_prepare = load_recipe_module("ESD", "esd_prepare.py")
prepare_esd = esd_prepare.prepare_esd

EMOTIONS = ("Neutral", "Angry", "Happy", "Sad", "Surprise")
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
    "esd_split",
}


def _outputs(folder):
    return [str(folder / f"{split}.json") for split in ("tr", "va", "te")]


def _run(data_folder, out_folder, **kwargs):
    outputs = _outputs(out_folder)
    summary = prepare_esd(data_folder, *outputs, **kwargs)
    manifests = dict(
        zip(("train", "valid", "test"), read_manifests(outputs), strict=True)
    )
    return summary, manifests


@pytest.fixture(scope="module")
def esd60(tmp_path_factory):
    """0001 (gb2312, layout A), 0012 (utf-16, B), 0016 (latin-1, A)."""
    root = tmp_path_factory.mktemp("esd60")
    return make_fake_esd(root, utts_per_emotion=60)


def test_paper_split_counts_and_fields(esd60, tmp_path):
    # data_folder = the parent of "Emotion Speech Dataset".
    parent = os.path.dirname(esd60)
    summary, manifests = _run(parent, tmp_path, languages=("en", "zh"))
    assert summary["train"] == 3 * 5 * 10
    assert summary["valid"] == 3 * 5 * 20
    assert summary["test"] == 3 * 5 * 30
    assert summary["skipped"] == {}
    for split, expected in (("valid", 20), ("test", 30), ("train", 10)):
        counts = Counter(
            (item["spk_id"], item["style"])
            for item in manifests[split].values()
        )
        assert set(counts.values()) == {expected}
        assert len(counts) == 15

    # Sorted by name per speaker x emotion: Angry is 351-410.
    def angry_0012(split):
        return sorted(
            utt
            for utt in manifests[split]
            if utt.startswith("0012_") and 351 <= int(utt[5:]) <= 410
        )

    assert angry_0012("valid") == [f"0012_{n:06d}" for n in range(351, 371)]
    assert angry_0012("test") == [f"0012_{n:06d}" for n in range(371, 401)]
    assert angry_0012("train") == [f"0012_{n:06d}" for n in range(401, 411)]

    item = manifests["train"]["0012_000401"]
    assert set(item) == FIELDS
    assert item["wav"] == (
        "{data_root}/Emotion Speech Dataset/0012/Angry/0012_000401.wav"
    )
    assert item["duration"] == pytest.approx(0.1)
    assert item["start"] is None and item["stop"] is None
    assert item["channel"] is None and item["valence"] is None
    assert item["style"] == "angry"
    assert (item["spk_id"], item["gender"], item["language"]) == (
        "0012",
        "male",
        "en",
    )
    assert item["dataset"] == "esd"
    assert item["esd_split"] is None  # flat layout
    layout_a = manifests["valid"]["0001_001401"]
    assert layout_a["wav"] == (
        "{data_root}/Emotion Speech Dataset/0001/Surprise/evaluation/"
        "0001_001401.wav"
    )
    assert layout_a["style"] == "surprise"
    assert layout_a["esd_split"] == "evaluation"
    assert (layout_a["gender"], layout_a["language"]) == ("female", "zh")
    styles = {
        item["style"] for items in manifests.values() for item in items.values()
    }
    assert styles == {"neutral", "angry", "happy", "sad", "surprise"}
    for items in manifests.values():
        for item in items.values():
            path = item["wav"].replace("{data_root}", parent)
            assert os.path.isfile(path), path


def test_data_folder_is_dataset_folder(esd60, tmp_path):
    _, manifests = _run(esd60, tmp_path, speakers=["0016"])
    item = manifests["test"]["0016_000021"]
    assert item["wav"] == "{data_root}/0016/Neutral/test/0016_000021.wav"
    assert os.path.isfile(item["wav"].replace("{data_root}", esd60))


def test_languages_and_speakers_selection(esd60, tmp_path):
    def speakers_of(out, **kwargs):
        out.mkdir()
        _, manifests = _run(esd60, out, **kwargs)
        return {i["spk_id"] for m in manifests.values() for i in m.values()}

    assert speakers_of(tmp_path / "a") == {"0012", "0016"}  # default "en"
    assert speakers_of(tmp_path / "b", languages=("zh",)) == {"0001"}
    assert speakers_of(tmp_path / "c", languages="zh") == {"0001"}
    assert speakers_of(tmp_path / "d", speakers=[12]) == {"0012"}
    assert speakers_of(
        tmp_path / "e", languages=("en", "zh"), speakers=("1", "0016")
    ) == {"0001", "0016"}
    with pytest.raises(ValueError, match="languages"):
        prepare_esd(esd60, *_outputs(tmp_path), languages=("fr",))
    with pytest.raises(ValueError, match="0001"):
        prepare_esd(esd60, *_outputs(tmp_path), speakers=["0001"])
    with pytest.raises(ValueError, match="0021"):
        prepare_esd(esd60, *_outputs(tmp_path), speakers=["0021"])
    with pytest.raises(ValueError, match="0011"):  # no folder on disk
        prepare_esd(esd60, *_outputs(tmp_path), speakers=["0011"])
    assert not os.path.exists(_outputs(tmp_path)[0])


def test_transcripts_decoded_in_every_encoding(esd60, tmp_path):
    _, manifests = _run(esd60, tmp_path, languages=("en", "zh"))
    items = {k: v for m in manifests.values() for k, v in m.items()}
    # gb2312 Mandarin, tab-separated and space-separated (utterance 2).
    for number in (1, 2, 351, 1410):
        utt = f"0001_{number:06d}"
        assert items[utt]["transcript"] == fake_esd_transcript("0001", number)
    assert items["0001_000002"]["transcript"] == "打远一看，它们的确很是美丽2。"
    # latin-1 and utf-16 English.
    assert items["0016_000002"]["transcript"] == (
        "The café opens at 2, she said."
    )
    assert items["0012_000702"]["transcript"] == "Sentence 702, for the test."
    assert all(item["transcript"] for item in items.values())
    # The manifest itself is utf-8 and keeps the Chinese readable.
    raw = pathlib.Path(_outputs(tmp_path)[1]).read_bytes()
    assert "美丽".encode() in raw


@pytest.mark.parametrize(
    "spk, encoding, prefix, words",
    [
        ("0003", "utf-16-le", b"", ("Hello world.", "Neutral", "Bye")),
        ("0013", "utf-16-be", codecs.BOM_UTF16_BE, ("Hi.", "Neutral", "Go")),
        ("0011", "utf-8", codecs.BOM_UTF8, ("你好，世界。", "中立", "再见")),
        ("0001", "gb2312", b"", ("你好，世界。", "中立", "再见")),
        ("0006", "utf-16-le", b"", ("你好，世界。", "中立", "再见")),
        ("0016", "latin-1", b"", ("Un café.", "Neutral", "Déjà")),
    ],
)
def test_read_transcripts_detects_encoding(
    tmp_path, spk, encoding, prefix, words
):
    text, emotion, bye = words
    angry = "生气" if emotion == "中立" else "Angry"
    content = f"{spk}_000001\t{text}\t{emotion}\n{spk}_000002 {bye} {angry}\n"
    path = tmp_path / f"{spk}.txt"
    path.write_bytes(prefix + content.encode(encoding))
    stats = Counter()
    transcripts = esd_prepare.read_transcripts(str(path), spk, stats)
    assert transcripts == {
        f"{spk}_000001": (text, emotion),
        f"{spk}_000002": (bye, angry),
    }
    assert stats == Counter()


def test_skip_if_exists_and_skip_prep(esd60, tmp_path):
    outputs = _outputs(tmp_path)
    assert prepare_esd(esd60, *outputs, skip_prep=True) is None
    assert not any(os.path.exists(p) for p in outputs)
    assert prepare_esd(esd60, *outputs)["valid"] == 2 * 5 * 20
    pathlib.Path(outputs[0]).write_text("{}")
    assert prepare_esd(esd60, *outputs) is None
    assert pathlib.Path(outputs[0]).read_text() == "{}"
    # One output missing: everything is prepared again.
    os.remove(outputs[2])
    assert prepare_esd(esd60, *outputs)["train"] == 2 * 5 * 10
    assert len(json.loads(pathlib.Path(outputs[0]).read_text())) == 100


def test_error_names_non_esd_folder(tmp_path):
    other = tmp_path / "LibriSpeech"
    (other / "train-clean-100" / "19").mkdir(parents=True)
    with pytest.raises(ValueError, match="LibriSpeech"):
        prepare_esd(str(other), *_outputs(tmp_path))
    with pytest.raises(FileNotFoundError, match="missing_folder"):
        prepare_esd(str(tmp_path / "missing_folder"), *_outputs(tmp_path))
    assert not os.path.exists(_outputs(tmp_path)[0])


def test_corrupted_transcript_lines_counted_not_fatal(tmp_path, caplog):
    data = make_fake_esd(
        tmp_path / "data",
        utts_per_emotion=3,
        corrupt_speakers=("0001", "0012", "0016"),
    )
    with caplog.at_level(logging.WARNING):
        summary, manifests = _run(data, tmp_path, languages=("en", "zh"))
    assert summary["valid"] == 3 * 5 * 3
    # Utterance 3 of each speaker lost its line: counted, transcript "".
    assert summary["skipped"] == {
        "transcript_bad_lines": 3,
        "transcripts_missing": 3,
    }
    valid = manifests["valid"]
    for spk in ("0001", "0012", "0016"):
        assert valid[f"{spk}_000003"]["transcript"] == ""
        assert valid[f"{spk}_000002"]["transcript"] == fake_esd_transcript(
            spk, 2
        )
    assert "0001.txt: skipped 1 bad transcript line" in caplog.text
    assert "0016.txt: skipped 1 bad transcript line" in caplog.text


def test_folder_label_wins_and_disagreement_logged(tmp_path, caplog):
    data = make_fake_esd(tmp_path / "data", utts_per_emotion=3)
    spk = os.path.join(data, "0012")  # layout B
    shutil.move(
        os.path.join(spk, "Angry", "0012_000351.wav"),
        os.path.join(spk, "Happy", "0012_000351.wav"),
    )
    # Layout A: the dataset's own split folder does not decide the split.
    spk = os.path.join(data, "0001")
    os.makedirs(os.path.join(spk, "Sad", "train"))
    shutil.move(
        os.path.join(spk, "Sad", "evaluation", "0001_001051.wav"),
        os.path.join(spk, "Sad", "train", "0001_001051.wav"),
    )
    os.remove(os.path.join(data, "0016", "0016.txt"))
    with caplog.at_level(logging.WARNING):
        summary, manifests = _run(data, tmp_path, languages=("en", "zh"))
    valid = manifests["valid"]
    assert valid["0012_000351"]["style"] == "happy"
    assert summary["skipped"]["emotion_rule_disagrees"] == 1
    assert "0012_000351.wav: folder says Happy" in caplog.text
    assert valid["0001_001051"]["esd_split"] == "train"
    assert summary["valid"] == 45 and summary["train"] == 0
    assert summary["skipped"]["transcript_files_missing"] == 1
    assert summary["skipped"]["transcripts_missing"] == 15
    assert valid["0016_000001"]["transcript"] == ""


def test_utf16_without_bom_or_ascii_uses_expected_encoding():
    raw = "你好世界，再见。中立生气快乐伤心惊喜\n".encode("utf-16-le")
    assert esd_prepare._utf16_variant(raw, "utf-16") == "utf-16-le"
    assert esd_prepare._utf16_variant(raw, "gb2312") is None

"""Tests for speechbrain_style.dataio.audio."""

import json
import logging

import numpy as np
import pytest
import soundfile as sf
import torch
from speechbrain.dataio.dataset import DynamicItemDataset

from speechbrain_style import audio
from speechbrain_style.dataio.audio import (
    AudioError,
    get_duration,
    load_audio,
    load_audio_segment,
    make_audio_pipeline,
    random_crop,
)
from speechbrain_style.dataio.manifest import (
    check_manifest,
    list_audio_files,
    load_manifest,
)


def _sine(freq, seconds, sample_rate, amplitude=0.5):
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_missing_file_names_the_file(tmp_path):
    path = tmp_path / "nowhere.wav"
    with pytest.raises(FileNotFoundError, match="nowhere.wav"):
        load_audio(path)
    with pytest.raises(FileNotFoundError, match="nowhere.wav"):
        load_audio_segment(path, 0.0, 1.0)


def test_garbage_bytes_raise_audio_error(tmp_path):
    path = tmp_path / "garbage.wav"
    path.write_bytes(b"this is not a RIFF header at all" * 10)
    with pytest.raises(AudioError, match="garbage.wav") as info:
        load_audio(path)
    assert info.value.reason == "unreadable"
    assert info.value.path == str(path)
    assert isinstance(info.value, ValueError)


def test_empty_wav_raises(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), 16000)
    assert sf.info(path).frames == 0
    with pytest.raises(AudioError, match=r"empty.wav is empty") as info:
        load_audio(path)
    assert info.value.reason == "empty"


def test_silent_wav_raises_unless_allowed(tmp_path):
    path = tmp_path / "zeros.wav"
    sf.write(path, np.zeros(1600, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match=r"zeros.wav is silent") as info:
        load_audio(path)
    assert info.value.reason == "silent"
    wav = load_audio(path, allow_silent=True)
    assert wav.shape == (1600,)
    assert torch.count_nonzero(wav) == 0


def test_silence_threshold_is_configurable(tmp_path):
    path = tmp_path / "quiet.wav"
    sf.write(path, np.full(800, 1e-3, dtype=np.float32), 16000, "FLOAT")
    assert load_audio(path).shape == (800,)
    with pytest.raises(AudioError, match="silent"):
        load_audio(path, silence_threshold=1e-2)


def test_non_finite_samples_raise(tmp_path):
    path = tmp_path / "nan.wav"
    data = np.full(100, 0.5, dtype=np.float32)
    data[10] = np.nan
    sf.write(path, data, 16000, "FLOAT")
    with pytest.raises(AudioError, match="nan.wav contains NaN") as info:
        load_audio(path)
    assert info.value.reason == "non-finite"


def test_resample_8k_to_16k_keeps_length_and_frequency(tmp_path):
    path = tmp_path / "sine_8k.wav"
    sf.write(path, _sine(440.0, 1.0, 8000), 8000, "FLOAT")
    wav = load_audio(path, sample_rate=16000)
    assert wav.dtype == torch.float32
    assert wav.shape == (16000,)
    spectrum = torch.fft.rfft(wav).abs()
    # 1 s of signal: bin i is i Hz.
    assert int(spectrum.argmax()) == 440
    # The resampled sine keeps its amplitude (away from the edges).
    assert wav[1000:-1000].abs().max().item() == pytest.approx(0.5, abs=0.01)


def test_resampling_is_logged_once(tmp_path, caplog):
    audio._LOGGED_ONCE.clear()
    for name in ["a.wav", "b.wav"]:
        sf.write(tmp_path / name, _sine(200.0, 0.1, 8000), 8000)
    with caplog.at_level(
        logging.DEBUG, logger="speechbrain_style.dataio.audio"
    ):
        load_audio(tmp_path / "a.wav")
        load_audio(tmp_path / "b.wav")
    messages = [r.message for r in caplog.records if "Resampling" in r.message]
    assert len(messages) == 1
    assert "8000 Hz to 16000 Hz" in messages[0]


@pytest.mark.parametrize("channels", [2, 3])
def test_multichannel_downmix_is_channel_mean(tmp_path, channels):
    rng = np.random.default_rng(0)
    data = rng.uniform(-0.5, 0.5, size=(1000, channels)).astype(np.float32)
    path = tmp_path / "multi.wav"
    sf.write(path, data, 16000, "FLOAT")
    wav = load_audio(path)
    assert wav.shape == (1000,)
    torch.testing.assert_close(wav, torch.from_numpy(data.mean(axis=1)))


def test_load_audio_segment_reads_the_right_frames(tmp_path):
    data = np.linspace(-0.9, 0.9, 16000).astype(np.float32)
    path = tmp_path / "ramp.wav"
    sf.write(path, data, 16000, "FLOAT")
    seg = load_audio_segment(path, start=0.25, stop=0.5)
    torch.testing.assert_close(seg, torch.from_numpy(data[4000:8000]))
    tail = load_audio_segment(path, start=0.75)
    torch.testing.assert_close(tail, torch.from_numpy(data[12000:]))
    # A stop past the end is clipped to the end of the file.
    assert load_audio_segment(path, 0.5, 3.0).shape == (8000,)


def test_load_audio_segment_resamples(tmp_path):
    path = tmp_path / "sine_8k.wav"
    sf.write(path, _sine(300.0, 2.0, 8000), 8000, "FLOAT")
    seg = load_audio_segment(path, 0.5, 1.5, sample_rate=16000)
    assert seg.shape == (16000,)
    assert int(torch.fft.rfft(seg).abs().argmax()) == 300


def test_load_audio_segment_bad_bounds(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, _sine(300.0, 1.0, 16000), 16000)
    with pytest.raises(ValueError, match="stop must be > start"):
        load_audio_segment(path, 0.5, 0.5)
    with pytest.raises(ValueError, match="start must be >= 0"):
        load_audio_segment(path, -1.0, 0.5)
    with pytest.raises(AudioError, match=r"segment \[2.0, 3.0\) s of .*short"):
        load_audio_segment(path, 2.0, 3.0)


def test_get_duration(tmp_path):
    path = tmp_path / "a.flac"
    sf.write(path, _sine(300.0, 1.5, 8000), 8000)
    assert get_duration(path) == pytest.approx(1.5)


def test_random_crop_is_contiguous_and_seeded():
    wav = torch.arange(100.0)
    crop = random_crop(wav, 30)
    assert crop.shape == (30,)
    torch.testing.assert_close(crop, wav[int(crop[0]) : int(crop[0]) + 30])
    first = random_crop(wav, 30, generator=torch.Generator().manual_seed(3))
    second = random_crop(wav, 30, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(first, second)
    starts = {int(random_crop(wav, 30)[0]) for _ in range(50)}
    assert len(starts) > 5
    assert min(starts) >= 0 and max(starts) <= 70


def _dataset(data, pipeline):
    dataset = DynamicItemDataset(data)
    dataset.add_dynamic_item(pipeline)
    dataset.set_output_keys(["id", "sig"])
    return dataset


def test_audio_pipeline_train_crops_eval_does_not(tmp_path):
    data = np.linspace(0.1, 0.9, 32000).astype(np.float32)
    path = tmp_path / "long.wav"
    sf.write(path, data, 16000, "FLOAT")
    manifest = {"utt": {"wav": str(path)}}
    train = _dataset(
        manifest, make_audio_pipeline(crop_seconds=0.5, train=True)
    )
    crops = [train[0]["sig"] for _ in range(5)]
    full = torch.from_numpy(data)
    for crop in crops:
        assert crop.shape == (8000,)
        start = int(torch.argmin((full - crop[0]).abs()))
        torch.testing.assert_close(crop, full[start : start + 8000])
    assert len({round(float(crop[0]), 6) for crop in crops}) > 1
    valid = _dataset(manifest, make_audio_pipeline(crop_seconds=0.5))
    torch.testing.assert_close(valid[0]["sig"], full)


def test_audio_pipeline_with_time_bounds(tmp_path):
    data = np.linspace(0.1, 0.9, 16000).astype(np.float32)
    path = tmp_path / "a.wav"
    sf.write(path, data, 16000, "FLOAT")
    manifest = {"seg": {"wav": str(path), "start": 0.5, "stop": 0.75}}
    dataset = _dataset(manifest, make_audio_pipeline(time_bounds=True))
    torch.testing.assert_close(
        dataset[0]["sig"], torch.from_numpy(data[8000:12000])
    )


def test_audio_pipeline_error_names_file(tmp_path):
    path = tmp_path / "zeros.wav"
    sf.write(path, np.zeros(160, dtype=np.float32), 16000)
    dataset = _dataset({"z": {"wav": str(path)}}, make_audio_pipeline())
    with pytest.raises(AudioError, match="zeros.wav"):
        dataset[0]


def test_check_manifest_names_items_and_fields():
    data = {
        "ok": {"wav": "a.wav", "style": "happy"},
        "no_style": {"wav": "b.wav"},
        "nothing": {"duration": 1.0},
    }
    with pytest.raises(ValueError) as info:
        check_manifest(data, ["wav", "style"], "valid.json")
    message = str(info.value)
    assert message.startswith("Manifest valid.json: 2 of 3 items")
    assert "'no_style' (missing 'style')" in message
    assert "'nothing' (missing 'wav', 'style')" in message
    assert "'ok'" not in message
    del data["nothing"]
    # Every remaining item has a wav: no error.
    check_manifest(data, ["wav"], "valid.json")


def test_check_manifest_limits_listed_items_and_rejects_empty():
    data = {f"utt{i}": {} for i in range(8)}
    with pytest.raises(ValueError) as info:
        check_manifest(data, ["wav"], "m.json", max_listed=3)
    message = str(info.value)
    assert "'utt2'" in message and "'utt3'" not in message
    assert "and 5 more" in message
    with pytest.raises(ValueError, match="m.json contains no items"):
        check_manifest({}, ["wav"], "m.json")
    with pytest.raises(ValueError, match="'x' \\(not a dict"):
        check_manifest({"x": "a.wav"}, ["wav"], "m.json")


def test_load_manifest_replacements_and_errors(tmp_path):
    path = tmp_path / "train.json"
    manifest = {
        "u1": {"wav": "{data_root}/u1.wav", "duration": 1.5, "style": "sad"},
        "u2": {"wav": "{data_root}/sub/u2.wav", "duration": 2.0},
    }
    path.write_text(json.dumps(manifest))
    data = load_manifest(path, replacements={"data_root": "/corpus"})
    assert list(data) == ["u1", "u2"]
    assert data["u1"] == {
        "wav": "/corpus/u1.wav",
        "duration": 1.5,
        "style": "sad",
    }
    assert data["u2"]["wav"] == "/corpus/sub/u2.wav"

    with pytest.raises(ValueError, match=r"train.json, item 'u1'.*data_root"):
        load_manifest(path)
    with pytest.raises(ValueError, match=r"train.json: 1 of 2 .*'u2'"):
        load_manifest(
            path, ("wav", "style"), replacements={"data_root": "/corpus"}
        )
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json is not valid JSON"):
        load_manifest(bad)
    with pytest.raises(FileNotFoundError, match="absent.json"):
        load_manifest(tmp_path / "absent.json")


def test_list_audio_files(tmp_path):
    for name in ["b/x.wav", "a.flac", "b/c/y.OGG", "z.txt", "b/readme.md"]:
        file = tmp_path / name
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(b"")
    files = list_audio_files(tmp_path)
    assert list(files) == ["a", "b/c/y", "b/x"]
    assert files["b/x"] == str(tmp_path / "b" / "x.wav")
    assert list(list_audio_files(tmp_path, extensions=(".wav",))) == ["b/x"]
    (tmp_path / "a.wav").write_bytes(b"")
    with pytest.raises(ValueError, match="id 'a'"):
        list_audio_files(tmp_path)
    with pytest.raises(FileNotFoundError):
        list_audio_files(tmp_path / "missing")


def _stereo_ramps(path, sample_rate=16000):
    """Writes a stereo file: left ramps up, right ramps down."""
    left = np.linspace(0.1, 0.5, sample_rate).astype(np.float32)
    right = np.linspace(-0.2, -0.6, sample_rate).astype(np.float32)
    sf.write(path, np.stack([left, right], axis=1), sample_rate, "FLOAT")
    return left, right


def test_channel_selects_one_channel_instead_of_downmix(tmp_path):
    path = tmp_path / "dialogue.wav"
    left, right = _stereo_ramps(path)
    torch.testing.assert_close(load_audio(path, channel=0), torch.tensor(left))
    torch.testing.assert_close(load_audio(path, channel=1), torch.tensor(right))
    torch.testing.assert_close(
        load_audio(path), torch.tensor((left + right) / 2)
    )
    seg = load_audio_segment(path, 0.25, 0.5, channel=1)
    torch.testing.assert_close(seg, torch.tensor(right[4000:8000]))
    with pytest.raises(ValueError, match="channel=2 is out of range.*dialogue"):
        load_audio(path, channel=2)
    with pytest.raises(TypeError, match="channel must be an int"):
        load_audio_segment(path, 0.0, 0.5, channel="left")


def test_channel_of_a_silent_side_is_silent(tmp_path):
    path = tmp_path / "half.wav"
    data = np.zeros((800, 2), dtype=np.float32)
    data[:, 0] = 0.3
    sf.write(path, data, 16000, "FLOAT")
    assert load_audio(path).abs().max().item() == pytest.approx(0.15)
    with pytest.raises(AudioError, match="silent"):
        load_audio(path, channel=1)


def test_audio_pipeline_with_channel_and_time_bounds(tmp_path):
    path = tmp_path / "dialogue.wav"
    left, right = _stereo_ramps(path)
    bounds = {
        "right_seg": (0.5, 0.75, 1),
        "left_all": (None, None, 0),
        "downmix": (None, 0.25, None),
    }
    manifest = {
        name: {"wav": str(path), "start": a, "stop": b, "channel": c}
        for name, (a, b, c) in bounds.items()
    }
    pipeline = make_audio_pipeline(time_bounds=True, channel=True)
    dataset = _dataset(manifest, pipeline)
    torch.testing.assert_close(
        dataset[0]["sig"], torch.tensor(right[8000:12000])
    )
    torch.testing.assert_close(dataset[1]["sig"], torch.tensor(left))
    torch.testing.assert_close(
        dataset[2]["sig"], torch.tensor((left[:4000] + right[:4000]) / 2)
    )
    whole = _dataset(manifest, make_audio_pipeline(channel=True))
    torch.testing.assert_close(whole[0]["sig"], torch.tensor(right))

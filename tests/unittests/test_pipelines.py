"""Tests of speechbrain_style.dataio.pipelines (shared recipe pipelines)."""

import numpy as np
import pytest
import soundfile as sf
import torch
from speechbrain.dataio.dataset import DynamicItemDataset

from speechbrain_style.dataio.pipelines import (
    check_label_values,
    items_with_values,
    make_dimensional_level_pipeline,
    make_manifest_audio_pipeline,
)
from speechbrain_style.prompts.dimensional import DimensionalDescriber


def _stereo(path, seconds=2.0, rate=16000):
    """A stereo file: left channel a ramp, right channel -0.5 x the ramp
    (the downmix is then 0.25 x the ramp, unlike either channel)."""
    ramp = np.linspace(0.1, 0.9, int(seconds * rate))
    sf.write(path, np.stack([ramp, -0.5 * ramp], axis=1), rate)
    return torch.from_numpy(ramp).float()


def _sig(data, **kwargs):
    """The ``sig`` of the first item of ``data`` through the pipeline."""
    pipeline = make_manifest_audio_pipeline(data, 16000, **kwargs)
    dataset = DynamicItemDataset(data, [pipeline], output_keys=["sig"])
    return dataset[0]["sig"]


def test_label_check_names_split_manifest_and_unknown_styles():
    data = {
        "a": {"style": "sad"},
        "b": {"style": "nonverbal"},
        "c": {"style": "nonverbal"},
        "d": {"style": "animal"},
    }
    check_label_values(data, ["sad", "nonverbal", "animal"], "train")
    with pytest.raises(ValueError) as error:
        check_label_values(data, ["sad", "happy"], "valid", manifest="v.json")
    message = str(error.value)
    assert "Split 'valid' (v.json)" in message
    assert "['animal', 'nonverbal']" in message
    assert "'nonverbal' x2" in message and "'animal' x1" in message
    assert "['sad', 'happy']" in message
    # another label field
    with pytest.raises(ValueError, match="spk_id values \\['s2'\\]"):
        check_label_values(
            {"a": {"spk_id": "s2"}}, ["s1"], "test", field="spk_id"
        )


def test_audio_pipeline_reads_the_items_segment_of_its_channel(tmp_path):
    path = tmp_path / "dialogue.wav"
    ramp = _stereo(path)
    segment = {"wav": str(path), "start": 0.5, "stop": 1.0, "channel": 1}
    sig = _sig({"u": segment})
    assert torch.allclose(sig, -0.5 * ramp[8000:16000], atol=1e-4)
    # left channel, open stop: to the end of the file
    sig = _sig({"u": dict(segment, channel=0, stop=None)})
    assert torch.allclose(sig, ramp[8000:], atol=1e-4)


def test_audio_pipeline_of_items_without_bounds_reads_the_downmix(tmp_path):
    path = tmp_path / "dialogue.wav"
    ramp = _stereo(path)
    # null bounds and channel (ESD / IEMOCAP manifests): the whole downmix
    nulls = {"wav": str(path), "start": None, "stop": None, "channel": None}
    assert torch.allclose(_sig({"u": nulls}), 0.25 * ramp, atol=1e-4)
    assert torch.allclose(
        _sig({"u": {"wav": str(path)}}), 0.25 * ramp, atol=1e-4
    )
    # a split mixing both kinds of items (the joint recipe's union)
    mixed = {"a": nulls, "b": dict(nulls, start=1.0, channel=0)}
    pipeline = make_manifest_audio_pipeline(mixed, 16000)
    dataset = DynamicItemDataset(mixed, [pipeline], output_keys=["sig"])
    assert torch.allclose(dataset[0]["sig"], 0.25 * ramp, atol=1e-4)
    assert torch.allclose(dataset[1]["sig"], ramp[16000:], atol=1e-4)


def test_audio_pipeline_crops_only_in_training(tmp_path):
    path = tmp_path / "dialogue.wav"
    ramp = _stereo(path)
    item = {"u": {"wav": str(path), "start": 0.0, "stop": 1.5, "channel": 0}}
    crop = _sig(item, crop_seconds=0.25, train=True)
    assert crop.shape == (4000,)
    # a contiguous piece of the segment
    offset = int(torch.argmin((ramp[:24000] - crop[0]).abs()))
    assert offset + 4000 <= 24000
    assert torch.allclose(crop, ramp[offset : offset + 4000], atol=1e-4)
    assert _sig(item, crop_seconds=0.25, train=False).shape == (24000,)


def test_items_with_values_drops_and_logs_missing_values(caplog):
    data = {
        "a": {"valence": 3.0, "arousal": 2.5},
        "b": {"valence": None, "arousal": 4.0},
        "c": {"valence": 1.0},
    }
    with caplog.at_level("WARNING"):
        kept = items_with_values(data, "train")
    assert list(kept) == ["a"]
    assert "Split 'train': 2 of 3 items" in caplog.text
    with pytest.raises(ValueError, match="Split 'test' \\(t.json\\) has no"):
        items_with_values({"b": data["b"]}, "test", manifest="t.json")


def test_dimensional_levels_are_both_labels():
    describer = DimensionalDescriber(
        bins={"valence": [1.8, 2.6, 3.4, 4.2], "arousal": [1.8, 2.6, 3.4, 4.2]}
    )
    data = {
        "a": {"valence": 1.0, "arousal": 5.0},
        "b": {"valence": 2.6, "arousal": 3.0},
    }
    dataset = DynamicItemDataset(
        data,
        [make_dimensional_level_pipeline(describer)],
        output_keys=["speech_labels", "text_labels"],
    )
    assert dataset[0]["speech_labels"].tolist() == [0, 4]
    assert dataset[1]["speech_labels"].tolist() == [2, 2]
    assert torch.equal(dataset[1]["speech_labels"], dataset[1]["text_labels"])

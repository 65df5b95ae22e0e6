"""Tests of the embedded speaking-style corpus
(speechbrain_style.corpora.stylesynth.synth)."""

import json
import os
import re

import numpy as np
import pytest
import soundfile as sf
from numpy.lib.stride_tricks import sliding_window_view

from speechbrain_style.corpora.stylesynth.synth import (
    ACCENTS,
    PITCH_LEVELS,
    RANGE_LEVELS,
    RANGE_PITCH_OFFSET,
    RATE_LEVELS,
    SPLITS,
    STYLE_FACTORS,
    VARIANTS,
    EspeakSynthesizer,
    audible_factors,
    builtin_sentences,
    main,
    read_sentences,
    synthesize_corpus,
    voice_name,
)

SENTENCE = "We walked along the river until the path turned back toward town."


def yin(wav, sr, fmin=50.0, fmax=600.0, win=0.03, hop=0.01, threshold=0.2):
    """A small YIN pitch tracker.

    Returns the F0 (Hz) of the voiced frames and, for every frame with
    speech energy, the minimum of the cumulative mean normalised difference
    ("aperiodicity": ~0 for periodic frames, ~1 for noise).
    """
    width, step = int(win * sr), int(hop * sr)
    max_lag, min_lag = int(sr / fmin), int(sr / fmax)
    count = (len(wav) - width - max_lag) // step
    frames = np.stack(
        [wav[i * step : i * step + width + max_lag] for i in range(count)]
    )
    energy = (frames[:, :width] ** 2).mean(axis=1)
    f0, aperiodicity = [], []
    for frame in frames[energy > 0.02 * energy.max()]:
        windows = sliding_window_view(frame, width)[: max_lag + 1]
        diff = ((windows - windows[0]) ** 2).sum(axis=1)
        cmnd = diff[1:] * np.arange(1, max_lag + 1)
        cmnd /= np.maximum(np.cumsum(diff[1:]), 1e-12)
        search = cmnd[min_lag - 1 :]  # lags min_lag .. max_lag
        aperiodicity.append(search.min())
        below = np.nonzero(search < threshold)[0]
        if len(below):
            k = below[0]
            while k + 1 < len(search) and search[k + 1] < search[k]:
                k += 1
            f0.append(sr / (k + min_lag))
    return np.array(f0), np.array(aperiodicity)


def _semitones(f_low, f_high):
    return 12 * np.log2(f_high / f_low)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    paths = synthesize_corpus(str(out), 12, seed=7, progress=False)
    manifests = {}
    for split, path in paths.items():
        with open(path) as f:
            manifests[split] = json.load(f)
    return out, paths, manifests


def test_manifest_fields(corpus):
    out, paths, manifests = corpus
    assert list(paths) == list(SPLITS)
    assert {s: len(m) for s, m in manifests.items()} == {
        "train": 10,
        "valid": 1,
        "test": 1,
    }
    ids = [utt for m in manifests.values() for utt in m]
    assert ids == [f"synth_{i:05d}" for i in range(1, 13)]
    for split, manifest in manifests.items():
        for utt_id, item in manifest.items():
            assert item["wav"] == f"{{data_root}}/wavs/{split}/{utt_id}.wav"
            for factor, values in STYLE_FACTORS.items():
                assert item[factor] in values
            accent, variant = item["spk_id"].split("_")
            assert accent in ACCENTS and item["accent"] == accent
            assert variant in VARIANTS[item["sex"]]
            assert item["voice"] == voice_name(
                accent, variant, item["phonation"]
            )
            assert item["voice"].endswith("_whisper") == (
                item["phonation"] == "whispered"
            )
            esp = item["espeak"]
            centre, jitter = RATE_LEVELS[item["rate"]]
            assert abs(esp["rate"] - centre) <= jitter
            centre, jitter = RANGE_LEVELS[item["range"]]
            assert abs(esp["range"] - centre) <= jitter and esp["range"] <= 99
            centre, jitter = PITCH_LEVELS[item["pitch"]]
            centre += RANGE_PITCH_OFFSET[item["range"]]
            assert esp["pitch"] == np.clip(esp["pitch"], 0, 100)
            assert abs(esp["pitch"] - np.clip(centre, 0, 100)) <= jitter
            info = sf.info(item["wav"].replace("{data_root}", str(out)))
            assert item["duration"] == round(info.frames / 16000, 3)
    with open(os.path.join(out, "corpus.json")) as f:
        settings = json.load(f)
    assert settings["num_utts"] == 12 and settings["seed"] == 7


def test_wav_format(corpus):
    out, _, manifests = corpus
    for item in manifests["train"].values():
        path = item["wav"].replace("{data_root}", str(out))
        info = sf.info(path)
        assert info.samplerate == 16000
        assert info.channels == 1
        assert info.subtype == "PCM_16"
        wav, _ = sf.read(path)
        # peak-normalised to -1 dBFS (0.891), up to 16-bit rounding
        assert abs(np.abs(wav).max() - 10 ** (-1 / 20)) < 1e-3
        assert 0.5 < item["duration"] < 8.0


def test_deterministic_and_independent_of_history(tmp_path):
    first = synthesize_corpus(str(tmp_path / "a"), 6, seed=3, progress=False)
    # synthesise something else in between: eSpeak keeps state
    synth = EspeakSynthesizer()
    for voice in ("en-us+m3", "en-029", voice_name("en-us", "f5", "whispered")):
        synth.synthesize(SENTENCE, voice, rate=300, pitch=90, range=99)
    second = synthesize_corpus(str(tmp_path / "b"), 6, seed=3, progress=False)
    for split in SPLITS:
        with open(first[split], "rb") as f1, open(second[split], "rb") as f2:
            assert f1.read() == f2.read()
        wav_dir = os.path.join("wavs", split)
        names = sorted(os.listdir(tmp_path / "a" / wav_dir))
        assert names == sorted(os.listdir(tmp_path / "b" / wav_dir))
        for name in names:
            a = (tmp_path / "a" / wav_dir / name).read_bytes()
            b = (tmp_path / "b" / wav_dir / name).read_bytes()
            assert a == b
    other = synthesize_corpus(str(tmp_path / "c"), 6, seed=4, progress=False)
    with open(first["train"]) as f1, open(other["train"]) as f2:
        assert json.load(f1) != json.load(f2)


def test_skip_when_complete_and_redo_when_settings_change(tmp_path):
    paths = synthesize_corpus(str(tmp_path), 3, seed=1, progress=False)
    wav = tmp_path / "wavs" / "train" / "synth_00001.wav"
    stamp = wav.stat().st_mtime_ns
    assert synthesize_corpus(str(tmp_path), 3, seed=1, progress=False) == paths
    assert wav.stat().st_mtime_ns == stamp  # skipped
    synthesize_corpus(str(tmp_path), 3, seed=2, progress=False)
    with open(tmp_path / "corpus.json") as f:
        assert json.load(f)["seed"] == 2
    # a missing wav makes the corpus incomplete
    wav.unlink()
    synthesize_corpus(str(tmp_path), 3, seed=2, progress=False)
    assert wav.exists()


def test_builtin_sentences():
    sentences = builtin_sentences()
    assert {s: len(v) for s, v in sentences.items()} == {
        "train": 120,
        "valid": 40,
        "test": 40,
    }
    all_sents = [s for split in SPLITS for s in sentences[split]]
    assert len(set(all_sents)) == 200  # disjoint splits, no repeats
    style_words = re.compile(
        r"\b(whisper\w*|quiet\w*|loud\w*|slow\w*|fast|quick\w*|hurr\w*|"
        r"high|low|deep|voice\w*|speak\w*|talk\w*|shout\w*|sing|sings|singing|"
        r"man|woman|men|women|male|female|pitch\w*|flat|monoton\w*|calm)\b",
        re.IGNORECASE,
    )
    for sentence in all_sents:
        assert 6 <= len(sentence.split()) <= 15, sentence
        assert not style_words.search(sentence), sentence
        assert sentence[0].isupper() and sentence[-1] in ".?"


def test_corpus_sentences_disjoint_across_splits(corpus):
    _, _, manifests = corpus
    builtin = builtin_sentences()
    texts = {s: {i["text"] for i in m.values()} for s, m in manifests.items()}
    for split in SPLITS:
        assert texts[split] <= set(builtin[split])
    assert not texts["train"] & (texts["valid"] | texts["test"])


def test_sentences_file(tmp_path):
    lines = [f"Sentence number {i} is here." for i in range(20)]
    path = tmp_path / "sentences.txt"
    path.write_text("\n".join(lines[:10] + ["", "  ", lines[3]] + lines[10:]))
    splits = read_sentences(str(path), seed=5)
    assert [len(splits[s]) for s in SPLITS] == [16, 2, 2]
    union = [s for split in SPLITS for s in splits[split]]
    assert sorted(union) == sorted(lines)  # each sentence once
    assert read_sentences(str(path), seed=5) == splits
    assert read_sentences(str(path), seed=6) != splits

    manifests = synthesize_corpus(
        str(tmp_path / "c"), 5, seed=5, sentences_file=str(path), progress=False
    )
    for split in SPLITS:
        with open(manifests[split]) as f:
            for item in json.load(f).values():
                assert item["text"] in splits[split]

    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(ValueError, match="no sentences"):
        synthesize_corpus(
            str(tmp_path / "d"), 5, sentences_file=str(empty), progress=False
        )
    two = tmp_path / "two.txt"
    two.write_text("One sentence here.\nAnother one there.\n")
    with pytest.raises(ValueError, match="at least 3"):
        read_sentences(str(two))


def test_rate_levels_order_durations():
    synth = EspeakSynthesizer()
    voice = voice_name("en-us", "m2")
    durations = {
        level: len(synth.synthesize(SENTENCE, voice, rate=wpm)[0])
        for level, (wpm, _) in RATE_LEVELS.items()
    }
    assert durations["slow"] > 1.25 * durations["normal"]
    assert durations["normal"] > 1.25 * durations["fast"]


@pytest.mark.parametrize("variant", ["m1", "f1"])
def test_pitch_levels_order_f0(variant):
    synth = EspeakSynthesizer()
    voice = voice_name("en-gb-x-rp", variant)
    medians = {}
    for level, (pitch, _) in PITCH_LEVELS.items():
        wav, sr = synth.synthesize(SENTENCE, voice, pitch=pitch, range=50)
        f0, _ = yin(wav, sr)
        assert len(f0) > 50
        medians[level] = np.median(f0)
    assert _semitones(medians["low"], medians["mid"]) > 3
    assert _semitones(medians["mid"], medians["high"]) > 3


def test_range_levels_order_f0_spread():
    synth = EspeakSynthesizer()
    voice = voice_name("en-us", "f2")
    spreads = {}
    for level, (value, _) in RANGE_LEVELS.items():
        pitch = 50 + RANGE_PITCH_OFFSET[level]
        wav, sr = synth.synthesize(SENTENCE, voice, pitch=pitch, range=value)
        semitones = 12 * np.log2(yin(wav, sr)[0])
        spreads[level] = np.percentile(semitones, 90) - np.percentile(
            semitones, 10
        )
    assert spreads["monotone"] < 1.0
    assert spreads["monotone"] + 1 < spreads["normal"] < spreads["animated"]


@pytest.mark.parametrize("variant", ["m4", "f3"])
def test_whispered_is_aperiodic(variant):
    synth = EspeakSynthesizer()
    modal, sr = synth.synthesize(SENTENCE, voice_name("en-us", variant))
    whisper, _ = synth.synthesize(
        SENTENCE, voice_name("en-us", variant, "whispered")
    )
    f0_modal, aper_modal = yin(modal, sr)
    f0_whisper, aper_whisper = yin(whisper, sr)
    assert np.median(aper_modal) < 0.3
    assert len(f0_modal) > 0.4 * len(aper_modal)
    assert np.median(aper_whisper) > 0.5
    assert len(f0_whisper) < 0.05 * len(aper_whisper)
    # the same speaker: same text, similar timing
    assert abs(len(whisper) - len(modal)) < 0.05 * len(modal)


def test_synthesizer_errors():
    synth = EspeakSynthesizer()
    with pytest.raises(ValueError, match="variant"):
        synth.synthesize("Hello.", "en-us+nosuchvariant")
    with pytest.raises(ValueError, match="voice"):
        synth.synthesize("Hello.", "xx-nosuchvoice")
    with pytest.raises(ValueError, match="rate"):
        synth.synthesize("Hello.", "en-us", rate=20)
    with pytest.raises(TypeError, match="pitch"):
        synth.synthesize("Hello.", "en-us", pitch=50.5)
    with pytest.raises(ValueError, match="text"):
        synth.synthesize("  ", "en-us")


def test_corpus_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="num_utts"):
        synthesize_corpus(str(tmp_path), 2, progress=False)
    with pytest.raises(ValueError, match="split_ratios"):
        synthesize_corpus(str(tmp_path), 6, split_ratios=(1, 0), progress=False)
    with pytest.raises(TypeError, match="num_utts"):
        synthesize_corpus(str(tmp_path), 6.0, progress=False)


def test_cli_main(tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["--out", str(out), "--num-utts", "3", "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    for split in SPLITS:
        assert (out / f"{split}.json").is_file()
        assert f"{split}: " in printed


def test_audible_factors():
    item = {
        "sex": "female",
        "pitch": "high",
        "rate": "slow",
        "range": "animated",
        "phonation": "modal",
        "voice": "en-us+sbstyle_f1",
    }
    assert audible_factors(item) == {
        f: item[f] for f in STYLE_FACTORS
    }  # all audible
    item["phonation"] = "whispered"
    assert audible_factors(item) == {
        "sex": "female",
        "rate": "slow",
        "phonation": "whispered",
    }

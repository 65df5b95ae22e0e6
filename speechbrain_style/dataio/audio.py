"""Robust audio reading for training, indexing and inference.

Every reader in this module fails loudly, naming the file, on the cases that
otherwise surface much later as NaN losses or meaningless embeddings: missing
files, unreadable or corrupt files, empty files and (by default) silent files.
Audio is returned as a mono float32 tensor at the requested sample rate
(multichannel audio is averaged over channels, other rates are resampled).

The module also holds the SpeechBrain data-pipeline helper of the recipes
(:func:`make_audio_pipeline`), the one resampler (:func:`resample`) and
batch padding (:func:`pad_signals`); manifests of audio items are read and
checked by :mod:`speechbrain_style.dataio.manifest`.

Authors
 * speechbrain-style contributors
"""

import os

import soundfile as sf
import torch
from speechbrain.utils.data_pipeline import provides, takes
from speechbrain.utils.data_utils import batch_pad_right
from speechbrain.utils.logger import get_logger

logger = get_logger(__name__)

DEFAULT_SILENCE_THRESHOLD = 1e-4

# File extensions and the libsndfile format that reads them. A format is
# listed in AUDIO_EXTENSIONS only if this machine's libsndfile reads it (MP3
# needs libsndfile >= 1.1, Opus needs its OGG subtype).
_EXTENSION_FORMATS = {
    ".wav": "WAV",
    ".flac": "FLAC",
    ".ogg": "OGG",
    ".oga": "OGG",
    ".opus": "OPUS",
    ".mp3": "MP3",
    ".aiff": "AIFF",
    ".aif": "AIFF",
    ".au": "AU",
    ".caf": "CAF",
    ".w64": "W64",
    ".rf64": "RF64",
}
# Audio containers libsndfile never reads: reported, not silently ignored.
_UNREADABLE_AUDIO_EXTENSIONS = (
    ".m4a",
    ".aac",
    ".mp4",
    ".wma",
    ".webm",
    ".amr",
    ".mka",
    ".ac3",
)


def _readable_extensions():
    """The extensions of ``_EXTENSION_FORMATS`` this libsndfile reads."""
    formats = set(sf.available_formats())
    if "OGG" in formats and "OPUS" in sf.available_subtypes("OGG"):
        formats.add("OPUS")
    return tuple(
        ext for ext, fmt in _EXTENSION_FORMATS.items() if fmt in formats
    )


AUDIO_EXTENSIONS = _readable_extensions()

# (kind, value) pairs already reported, so that a corpus stored at 44.1 kHz
# produces one debug line instead of one per file.
_LOGGED_ONCE = set()


class AudioError(ValueError):
    """An audio file that exists but cannot be used.

    Arguments
    ---------
    message : str
        The error message; it names the file.
    path : str
        The offending file.
    reason : str
        A short machine-readable reason: ``"unreadable"``, ``"empty"``,
        ``"silent"``, ``"non-finite"`` or ``"bad-segment"``.

    Example
    -------
    >>> err = AudioError("x.wav is empty", path="x.wav", reason="empty")
    >>> isinstance(err, ValueError), err.reason
    (True, 'empty')
    """

    def __init__(self, message, path=None, reason=None):
        super().__init__(message)
        self.path = path
        self.reason = reason


def _log_once(kind, value, message):
    """Logs ``message`` at debug level once per (kind, value)."""
    if (kind, value) not in _LOGGED_ONCE:
        _LOGGED_ONCE.add((kind, value))
        logger.debug(message)


def _check_exists(path):
    """Raises FileNotFoundError naming ``path`` if it is not a file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Audio file not found: {path}{_why(path)}")


def _why(path):
    """Why an existing-looking path is not a readable file ('' if absent)."""
    if os.path.islink(path) and not os.path.exists(path):
        return f" (dangling symbolic link to {os.readlink(path)})"
    if os.path.isdir(path):
        return " (it is a directory)"
    if os.path.isfile(path):
        return " (it is a file)"
    if os.path.exists(path):
        return " (not a regular file)"
    return ""


def _unreadable(path, error):
    """The AudioError for a file that libsndfile cannot read."""
    return AudioError(
        f"Cannot read audio file {path}: {error}",
        path=path,
        reason="unreadable",
    )


def get_audio_info(path):
    """Returns the (frames, sample_rate, channels) of an audio file.

    Only the header is read.

    Arguments
    ---------
    path : str or os.PathLike
        The audio file.

    Returns
    -------
    tuple of int
        (number of frames, sample rate, number of channels).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    AudioError
        If the file cannot be parsed as audio.

    Example
    -------
    >>> import soundfile as sf
    >>> path = getfixture("tmp_path") / "a.wav"
    >>> sf.write(path, [0.1] * 800, 8000)
    >>> get_audio_info(path)
    (800, 8000, 1)
    """
    path = os.fspath(path)
    _check_exists(path)
    try:
        info = sf.info(path)
    except (sf.SoundFileError, RuntimeError) as e:
        raise _unreadable(path, e) from e
    return info.frames, info.samplerate, info.channels


def get_duration(path):
    """Returns the duration of an audio file in seconds (header only).

    Arguments
    ---------
    path : str or os.PathLike
        The audio file.

    Returns
    -------
    float
        Duration in seconds.

    Example
    -------
    >>> import soundfile as sf
    >>> path = getfixture("tmp_path") / "a.wav"
    >>> sf.write(path, [0.1] * 4000, 8000)
    >>> get_duration(path)
    0.5
    """
    frames, sample_rate, _ = get_audio_info(path)
    return frames / sample_rate


def _select_channel(wav, channel, path):
    """Returns channel ``channel`` of ``wav`` (T, C); errors name the file."""
    if isinstance(channel, bool) or not isinstance(channel, int):
        raise TypeError(
            f"channel must be an int or None, got {channel!r} ({path})"
        )
    if not 0 <= channel < wav.shape[1]:
        raise ValueError(
            f"channel={channel} is out of range for {path}, which has "
            f"{wav.shape[1]} channel(s) (channels are counted from 0)"
        )
    return wav[:, channel]


def resample(wav, orig_sr, new_sr):
    """Resamples a waveform with ``torchaudio.functional.resample``.

    The one resampler of the package: audio files read at another rate and
    the synthesised corpus (eSpeak's 22,050 Hz to 16 kHz) both go through
    it.

    Arguments
    ---------
    wav : torch.Tensor or numpy.ndarray
        Waveform of shape (..., T), floating point.
    orig_sr : int
        Its sample rate.
    new_sr : int
        The sample rate wanted.

    Returns
    -------
    torch.Tensor
        The waveform at ``new_sr``, of shape (..., ceil(T * new_sr /
        orig_sr)) (``wav`` itself, as a tensor, if the rates are equal).

    Example
    -------
    >>> wav = torch.sin(torch.arange(22050) / 10.0)
    >>> resample(wav, 22050, 16000).shape
    torch.Size([16000])
    >>> resample(wav, 16000, 16000) is wav
    True
    """
    wav = torch.as_tensor(wav)
    if int(orig_sr) == int(new_sr):
        return wav
    import torchaudio.functional as AF

    return AF.resample(wav, orig_freq=int(orig_sr), new_freq=int(new_sr))


def _read_checked(
    path,
    sample_rate,
    start_frame=0,
    stop_frame=None,
    allow_silent=False,
    silence_threshold=DEFAULT_SILENCE_THRESHOLD,
    what=None,
    channel=None,
):
    """Reads frames [start_frame, stop_frame) and applies all checks.

    ``channel`` (an int) selects one channel instead of the downmix.
    """
    what = what or path
    try:
        data, file_rate = sf.read(
            path,
            start=start_frame,
            stop=stop_frame,
            dtype="float32",
            always_2d=True,
        )
    except (sf.SoundFileError, RuntimeError) as e:
        raise _unreadable(path, e) from e
    if data.shape[0] == 0:
        raise AudioError(
            f"Audio {what} is empty (0 samples)", path=path, reason="empty"
        )
    wav = torch.from_numpy(data)
    if channel is not None:
        wav = _select_channel(wav, channel, path)
    elif wav.shape[1] > 1:
        _log_once(
            "channels",
            wav.shape[1],
            f"Downmixing {wav.shape[1]}-channel audio to mono by averaging "
            f"the channels (first seen in {path})",
        )
        wav = wav.mean(dim=1)
    else:
        wav = wav[:, 0]
    if not torch.isfinite(wav).all():
        raise AudioError(
            f"Audio {what} contains NaN or infinite samples",
            path=path,
            reason="non-finite",
        )
    peak = wav.abs().max().item()
    if not allow_silent and peak < silence_threshold:
        raise AudioError(
            f"Audio {what} is silent (peak amplitude {peak:.3g} < "
            f"{silence_threshold:g}); pass allow_silent=True to accept it",
            path=path,
            reason="silent",
        )
    if file_rate != sample_rate:
        _log_once(
            "resample",
            file_rate,
            f"Resampling audio from {file_rate} Hz to {sample_rate} Hz "
            f"(first seen in {path})",
        )
        wav = resample(wav, file_rate, sample_rate)
    return wav.contiguous()


def load_audio(
    path,
    sample_rate=16000,
    allow_silent=False,
    silence_threshold=DEFAULT_SILENCE_THRESHOLD,
    channel=None,
):
    """Loads an audio file as a mono float32 waveform at ``sample_rate``.

    Multichannel audio is averaged over channels; audio at another rate is
    resampled (both are logged once at debug level).

    Arguments
    ---------
    path : str or os.PathLike
        The audio file (any format libsndfile reads: wav, flac, ogg, ...).
    sample_rate : int
        The sample rate of the returned waveform.
    allow_silent : bool
        If False (default), a file whose peak absolute amplitude is below
        ``silence_threshold`` raises an AudioError.
    silence_threshold : float
        Peak amplitude under which a file counts as silent.
    channel : int, optional
        If given, only this channel (counted from 0) is returned instead of
        the average of all channels (e.g. one speaker of a stereo dialogue).
        The silence check then applies to that channel.

    Returns
    -------
    torch.Tensor
        Waveform of shape (T,), dtype float32.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    AudioError
        If the file is unreadable, empty, silent or has non-finite samples.
    ValueError
        If ``channel`` is not a channel of the file.

    Example
    -------
    >>> import numpy as np, soundfile as sf
    >>> path = getfixture("tmp_path") / "stereo_8k.wav"
    >>> stereo = np.stack([np.full(800, 0.2), np.full(800, 0.4)], axis=1)
    >>> sf.write(path, stereo, 8000)
    >>> wav = load_audio(path, sample_rate=16000)
    >>> wav.shape, wav.dtype
    (torch.Size([1600]), torch.float32)
    >>> round(wav[800].item(), 3)
    0.3
    >>> round(load_audio(path, sample_rate=8000, channel=1)[0].item(), 3)
    0.4
    """
    path = os.fspath(path)
    _check_exists(path)
    return _read_checked(
        path,
        sample_rate,
        allow_silent=allow_silent,
        silence_threshold=silence_threshold,
        channel=channel,
    )


def load_audio_segment(
    path,
    start,
    stop=None,
    sample_rate=16000,
    allow_silent=False,
    silence_threshold=DEFAULT_SILENCE_THRESHOLD,
    channel=None,
):
    """Loads the segment [start, stop) seconds of an audio file.

    Only the requested frames are read from disk. The checks and conversions
    of :func:`load_audio` apply to the segment.

    Arguments
    ---------
    path : str or os.PathLike
        The audio file.
    start : float
        Segment start in seconds (>= 0).
    stop : float, optional
        Segment end in seconds (> start); None reads to the end of the file.
        A stop beyond the end of the file is clipped to it.
    sample_rate : int
        The sample rate of the returned waveform.
    allow_silent : bool
        If False (default), a silent segment raises an AudioError.
    silence_threshold : float
        Peak amplitude under which a segment counts as silent.
    channel : int, optional
        If given, only this channel (counted from 0) is returned instead of
        the average of all channels.

    Returns
    -------
    torch.Tensor
        Waveform of shape (T,), dtype float32.

    Raises
    ------
    ValueError
        If start/stop are negative or stop <= start, or ``channel`` is not a
        channel of the file.
    FileNotFoundError
        If the file does not exist.
    AudioError
        If the file is unreadable or the segment is empty (e.g. it starts
        after the end of the file), silent or non-finite.

    Example
    -------
    >>> import numpy as np, soundfile as sf
    >>> path = getfixture("tmp_path") / "ramp.wav"
    >>> sf.write(path, np.linspace(0.1, 0.9, 16000), 16000)
    >>> seg = load_audio_segment(path, start=0.25, stop=0.5)
    >>> seg.shape
    torch.Size([4000])
    """
    path = os.fspath(path)
    if start is None or start < 0:
        raise ValueError(f"start must be >= 0 seconds, got {start} ({path})")
    if stop is not None and stop <= start:
        raise ValueError(
            f"stop must be > start, got start={start}, stop={stop} ({path})"
        )
    _, file_rate, _ = get_audio_info(path)
    start_frame = int(round(start * file_rate))
    stop_frame = None if stop is None else int(round(stop * file_rate))
    return _read_checked(
        path,
        sample_rate,
        start_frame=start_frame,
        stop_frame=stop_frame,
        allow_silent=allow_silent,
        silence_threshold=silence_threshold,
        what=f"segment [{start}, {stop}) s of {path}",
        channel=channel,
    )


def random_crop(wav, max_samples, generator=None):
    """Returns a random contiguous crop of at most ``max_samples`` samples.

    Arguments
    ---------
    wav : torch.Tensor
        Waveform of shape (T,).
    max_samples : int
        Maximum length of the crop; shorter waveforms are returned whole.
    generator : torch.Generator, optional
        Random generator; by default torch's global one (seeded by
        ``speechbrain.utils.seed_everything`` and distinct per DataLoader
        worker).

    Returns
    -------
    torch.Tensor
        The crop, of shape (min(T, max_samples),).

    Example
    -------
    >>> wav = torch.arange(10.0)
    >>> crop = random_crop(wav, 4)
    >>> crop.shape, bool((crop.diff() == 1).all())
    (torch.Size([4]), True)
    >>> random_crop(wav, 20).shape
    torch.Size([10])
    """
    if max_samples < 1:
        raise ValueError(f"max_samples must be >= 1, got {max_samples}")
    excess = wav.shape[0] - max_samples
    if excess <= 0:
        return wav
    offset = int(torch.randint(0, excess + 1, (1,), generator=generator))
    return wav[offset : offset + max_samples]


def pad_signals(signals, dtype=None, device=None):
    """Right-pads 1-D signals into a batch with relative lengths.

    A thin wrapper of SpeechBrain's
    :func:`speechbrain.utils.data_utils.batch_pad_right` that first brings
    the signals to one dtype and device and always returns a new tensor.

    Arguments
    ---------
    signals : list of torch.Tensor
        1-D waveforms.
    dtype : torch.dtype, optional
        dtype of the batch (default: torch's default dtype, float32).
    device : torch.device, optional
        Device of the batch and of the lengths (default: torch's default
        device, the CPU).

    Returns
    -------
    wavs : torch.Tensor
        (B, T_max) zero-padded batch.
    lens : torch.Tensor
        (B,) relative lengths ``len / max_len`` (float32).

    Example
    -------
    >>> wavs, lens = pad_signals([torch.ones(2), torch.ones(4)])
    >>> wavs.shape, lens.tolist()
    (torch.Size([2, 4]), [0.5, 1.0])
    >>> pad_signals([torch.ones(3, dtype=torch.float64)])[0].dtype
    torch.float32
    """
    if not len(signals):
        raise ValueError("pad_signals needs at least one signal")
    dtype = torch.get_default_dtype() if dtype is None else dtype
    device = torch.empty(0).device if device is None else device
    signals = [torch.as_tensor(sig).to(device, dtype) for sig in signals]
    wavs, lens = batch_pad_right(signals)
    if len(signals) == 1:
        # batch_pad_right returns a view of a lone signal: copy it
        wavs = wavs.clone()
    return wavs, lens.to(device)


def make_audio_pipeline(
    sample_rate=16000,
    crop_seconds=None,
    train=False,
    allow_silent=False,
    silence_threshold=DEFAULT_SILENCE_THRESHOLD,
    time_bounds=False,
    generator=None,
    channel=False,
):
    """Makes a SpeechBrain dynamic item that loads ``wav`` into ``sig``.

    Use with ``speechbrain.dataio.dataset.add_dynamic_item`` on a
    ``DynamicItemDataset``. The audio goes through :func:`load_audio`
    (errors name the file). When ``train`` is True and ``crop_seconds`` is
    set, a random crop of at most ``crop_seconds`` is taken (a new one at each
    access, so each epoch sees other crops); evaluation pipelines return the
    whole signal.

    Arguments
    ---------
    sample_rate : int
        Target sample rate.
    crop_seconds : float, optional
        Maximum training crop length in seconds.
    train : bool
        Whether to apply random cropping.
    allow_silent : bool
        Whether silent files are accepted.
    silence_threshold : float
        Peak amplitude under which audio counts as silent.
    time_bounds : bool
        If True the item takes ``("wav", "start", "stop")`` (seconds; a None
        stop reads to the end of the file, a None start reads from its
        beginning) and loads that segment only.
    generator : torch.Generator, optional
        Random generator for the crops (default: torch's global one, which
        SpeechBrain seeds and which differs between DataLoader workers; a
        generator given here is copied into each worker).
    channel : bool
        If True the item also takes the manifest key ``"channel"`` (an int
        selecting one channel of a multichannel file, or None for the
        downmix): it takes ``("wav", "channel")``, or
        ``("wav", "start", "stop", "channel")`` with ``time_bounds``.

    Returns
    -------
    speechbrain.utils.data_pipeline.DynamicItem
        The pipeline function, providing ``"sig"``.

    Example
    -------
    >>> import soundfile as sf
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> path = getfixture("tmp_path") / "a.wav"
    >>> sf.write(path, [0.5, -0.5] * 8000, 16000)
    >>> data = {"utt1": {"wav": str(path)}}
    >>> dataset = DynamicItemDataset(data)
    >>> pipeline = make_audio_pipeline(crop_seconds=0.5, train=True)
    >>> dataset.add_dynamic_item(pipeline)
    >>> dataset.set_output_keys(["id", "sig"])
    >>> dataset[0]["sig"].shape
    torch.Size([8000])
    """
    if crop_seconds is not None and crop_seconds <= 0:
        raise ValueError(f"crop_seconds must be > 0, got {crop_seconds}")
    crop_samples = (
        int(round(crop_seconds * sample_rate))
        if (train and crop_seconds is not None)
        else None
    )
    options = {
        "sample_rate": sample_rate,
        "allow_silent": allow_silent,
        "silence_threshold": silence_threshold,
    }

    def _maybe_crop(sig):
        if crop_samples is None:
            return sig
        return random_crop(sig, crop_samples, generator=generator)

    def _load(wav, start=None, stop=None, channel=None):
        if start is None and stop is None:
            return load_audio(wav, channel=channel, **options)
        start = 0.0 if start is None else start
        return load_audio_segment(wav, start, stop, channel=channel, **options)

    if time_bounds and channel:

        @takes("wav", "start", "stop", "channel")
        @provides("sig")
        def audio_channel_segment_pipeline(wav, start, stop, channel):
            """Loads (and crops) [start, stop) of one channel of ``wav``."""
            return _maybe_crop(_load(wav, start, stop, channel))

        return audio_channel_segment_pipeline

    if time_bounds:

        @takes("wav", "start", "stop")
        @provides("sig")
        def audio_segment_pipeline(wav, start, stop):
            """Loads (and crops) the [start, stop) segment of ``wav``."""
            return _maybe_crop(_load(wav, start, stop))

        return audio_segment_pipeline

    if channel:

        @takes("wav", "channel")
        @provides("sig")
        def audio_channel_pipeline(wav, channel):
            """Loads (and crops) one channel of ``wav``."""
            return _maybe_crop(_load(wav, channel=channel))

        return audio_channel_pipeline

    @takes("wav")
    @provides("sig")
    def audio_pipeline(wav):
        """Loads (and crops) ``wav``."""
        return _maybe_crop(load_audio(wav, **options))

    return audio_pipeline

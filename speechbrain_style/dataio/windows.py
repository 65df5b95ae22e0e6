"""Deterministic embeddings of recordings of any length, in fixed windows.

Outside training nothing is cropped at random: a recording longer than
``window`` is cut into fixed windows (``window`` long, every ``hop``), each
window is embedded, and the recording's embedding is the mean of the window
embeddings weighted by each window's valid length, L2-normalised. The same
recording therefore always gets the same embedding, and one that is no
longer than a window gets exactly the embedding of the whole recording.

Two entry points share the window layout of :func:`window_bounds`:

* :func:`embed_in_windows` for a padded batch already in memory (the
  evaluation stages of the recipes);
* :func:`embed_file_in_windows` for a file on disk, read window by window
  (never whole) and encoded a few windows at a time, so memory stays flat
  whatever the length of the recording (indexing of long files).

Both take the encoder as a callable ``encode(wavs, lens)`` (the SpeechBrain
convention: a zero-padded (B, T) batch and (B,) relative lengths) returning
(B, D) embeddings or a list of such tensors (one per projection-head level,
each pooled separately).

Authors
 * speechbrain-style contributors 2026
"""

import torch
import torch.nn.functional as F

from speechbrain_style.dataio.audio import (
    DEFAULT_SILENCE_THRESHOLD,
    AudioError,
    get_audio_info,
    load_audio_segment,
    pad_signals,
)

DEFAULT_WINDOW_SECONDS = 10.0
"""Window of the indexing and inference commands when a model names none."""

DEFAULT_WINDOWS_PER_BATCH = 8
"""Windows encoded together: bounds memory (8 x 10 s at 16 kHz = 5 MB of
audio, plus the encoder's activations on it)."""


def window_bounds(num_samples, window, hop):
    """Sample bounds of the fixed windows that cover a recording.

    Windows start at 0, ``hop``, ``2 hop``, ... and are ``window`` long;
    the last one ends at the end of the recording (it may be shorter). A
    last window shorter than half a hop is merged into the previous one
    (which then ends at the end of the recording), so no window is too
    short for an encoder and no sample is left out. A recording of at most
    ``window`` samples is one window.

    Arguments
    ---------
    num_samples : int
        Length of the recording (>= 1).
    window : int
        Window length in samples (>= 1).
    hop : int
        Hop in samples, 1 <= hop <= window (a larger hop would skip audio).

    Returns
    -------
    list of (int, int)
        ``[(start, stop), ...]``, in order; their union is
        ``[0, num_samples)``.

    Example
    -------
    >>> window_bounds(25, window=10, hop=10)
    [(0, 10), (10, 20), (20, 25)]
    >>> window_bounds(22, window=10, hop=10)  # a 2-sample tail is merged
    [(0, 10), (10, 22)]
    >>> window_bounds(20, window=10, hop=5)
    [(0, 10), (5, 15), (10, 20)]
    >>> window_bounds(7, window=10, hop=5)
    [(0, 7)]
    """
    for name, value in (
        ("num_samples", num_samples),
        ("window", window),
        ("hop", hop),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if hop > window:
        raise ValueError(
            f"hop ({hop}) must not exceed window ({window}): the audio "
            "between windows would be left out"
        )
    if num_samples <= window:
        return [(0, num_samples)]
    bounds = []
    start = 0
    while start + window < num_samples:
        bounds.append((start, start + window))
        start += hop
    if num_samples - start < hop / 2:
        bounds[-1] = (bounds[-1][0], num_samples)
    else:
        bounds.append((start, num_samples))
    return bounds


def seconds_to_samples(window_seconds, hop_seconds, sample_rate):
    """Window and hop in samples (hop defaults to the window).

    Arguments
    ---------
    window_seconds : float
        Window length in seconds (> 0).
    hop_seconds : float, optional
        Hop in seconds; None: the window (no overlap).
    sample_rate : int
        Samples per second.

    Returns
    -------
    (int, int)
        Window and hop in samples.

    Example
    -------
    >>> seconds_to_samples(10.0, 5.0, 16000)
    (160000, 80000)
    >>> seconds_to_samples(2.5, None, 16000)
    (40000, 40000)
    """
    if window_seconds is None or not window_seconds > 0:
        raise ValueError(f"window_seconds must be > 0, got {window_seconds}")
    hop_seconds = window_seconds if hop_seconds is None else hop_seconds
    if not hop_seconds > 0:
        raise ValueError(f"hop_seconds must be > 0, got {hop_seconds}")
    if hop_seconds > window_seconds:
        raise ValueError(
            f"hop_seconds ({hop_seconds}) must not exceed window_seconds "
            f"({window_seconds}): the audio between windows would be left out"
        )
    window = max(1, int(round(window_seconds * sample_rate)))
    hop = max(1, min(window, int(round(hop_seconds * sample_rate))))
    return window, hop


def _as_levels(output):
    """(list of (B, D) tensors, whether the encoder returned a list)."""
    if isinstance(output, (list, tuple)):
        return [torch.as_tensor(level) for level in output], True
    return [torch.as_tensor(output)], False


def _pad(signals):
    """Zero-padded (B, T) batch and relative lengths of 1-D signals, on
    the device and in the dtype of the first signal."""
    return pad_signals(
        signals, dtype=signals[0].dtype, device=signals[0].device
    )


class _WindowPool:
    """Accumulates length-weighted window embeddings per recording."""

    def __init__(self):
        self.sums = {}
        self.weights = {}
        self.counts = {}
        self.is_list = None

    def add(self, owners, weights, output):
        """Adds the window embeddings of a batch, weighted by their lengths."""
        levels, is_list = _as_levels(output)
        self.is_list = is_list
        for row, (owner, weight) in enumerate(
            zip(owners, weights, strict=True)
        ):
            sums = self.sums.setdefault(owner, [None] * len(levels))
            for lvl, emb in enumerate(levels):
                value = emb[row].detach().float() * float(weight)
                sums[lvl] = value if sums[lvl] is None else sums[lvl] + value
            self.weights[owner] = self.weights.get(owner, 0.0) + float(weight)
            self.counts[owner] = self.counts.get(owner, 0) + 1

    def pooled(self, owner):
        """L2-normalised weighted mean of ``owner``'s windows, per level
        (a recording of one window keeps its embedding unchanged)."""
        total = self.weights[owner]
        means = [s / total for s in self.sums[owner]]
        if self.counts[owner] == 1:
            return means
        return [F.normalize(mean, dim=-1) for mean in means]


def embed_in_windows(
    encode,
    wavs,
    wav_lens,
    window,
    hop=None,
    windows_per_batch=DEFAULT_WINDOWS_PER_BATCH,
):
    """Embeds a padded batch, long recordings in pooled fixed windows.

    Recordings of at most ``window`` samples are encoded as they are (in
    one batch: with no long recording, this is exactly
    ``encode(wavs, wav_lens)``); each longer one is cut with
    :func:`window_bounds`, its windows are encoded ``windows_per_batch`` at
    a time (padded, with their relative lengths) and pooled by their
    length-weighted mean, L2-normalised.

    Arguments
    ---------
    encode : callable
        ``encode(wavs, lens)`` -> (B, D) tensor or list of (B, D) tensors.
    wavs : torch.Tensor
        (B, T) zero-padded batch.
    wav_lens : torch.Tensor
        (B,) relative lengths.
    window : int
        Window in samples.
    hop : int, optional
        Hop in samples (default: ``window``).
    windows_per_batch : int
        Windows per call of ``encode``.

    Returns
    -------
    torch.Tensor or list of torch.Tensor
        As ``encode`` returns: (B, D) per level.

    Example
    -------
    >>> def encode(wavs, lens):  # mean and max over the valid samples
    ...     n = (lens * wavs.shape[1]).round().long()
    ...     valid = torch.arange(wavs.shape[1]) < n[:, None]
    ...     mean = (wavs * valid).sum(1) / n
    ...     peak = wavs.masked_fill(~valid, -1e9).amax(1)
    ...     return F.normalize(torch.stack([mean, peak], 1), dim=1)
    >>> wavs = torch.rand(2, 100)
    >>> lens = torch.tensor([1.0, 0.3])
    >>> out = embed_in_windows(encode, wavs, lens, window=40)
    >>> out.shape
    torch.Size([2, 2])
    >>> torch.allclose(out[1], encode(wavs[1:, :30], torch.ones(1))[0])
    True
    """
    hop = window if hop is None else hop
    if windows_per_batch < 1:
        raise ValueError(
            f"windows_per_batch must be >= 1, got {windows_per_batch}"
        )
    lengths = (wav_lens.float() * wavs.shape[1]).round().long().tolist()
    lengths = [max(1, min(n, wavs.shape[1])) for n in lengths]
    long_rows = [i for i, n in enumerate(lengths) if n > window]
    if not long_rows:
        return encode(wavs, wav_lens)
    short_rows = [i for i, n in enumerate(lengths) if n <= window]
    pool = _WindowPool()
    if short_rows:
        max_len = max(lengths[i] for i in short_rows)
        short = wavs[short_rows, :max_len]
        lens = torch.tensor(
            [lengths[i] / max_len for i in short_rows], device=wavs.device
        )
        # one window each: weight 1, pooling is then the identity
        pool.add(short_rows, [1.0] * len(short_rows), encode(short, lens))
    pieces = [
        (row, start, stop)
        for row in long_rows
        for start, stop in window_bounds(lengths[row], window, hop)
    ]
    for first in range(0, len(pieces), windows_per_batch):
        chunk = pieces[first : first + windows_per_batch]
        batch, lens = _pad(
            [wavs[row, start:stop] for row, start, stop in chunk]
        )
        pool.add(
            [row for row, _, _ in chunk],
            [stop - start for _, start, stop in chunk],
            encode(batch, lens),
        )
    per_row = [pool.pooled(row) for row in range(len(lengths))]
    levels = [
        torch.stack([row[lvl] for row in per_row]).to(wavs.device)
        for lvl in range(len(per_row[0]))
    ]
    return levels if pool.is_list else levels[0]


def embed_file_in_windows(
    encode,
    path,
    sample_rate=16000,
    window_seconds=DEFAULT_WINDOW_SECONDS,
    hop_seconds=None,
    start=None,
    stop=None,
    channel=None,
    windows_per_batch=DEFAULT_WINDOWS_PER_BATCH,
    allow_silent=False,
    silence_threshold=DEFAULT_SILENCE_THRESHOLD,
):
    """Embeds an audio file (or a segment of it) window by window.

    The file is never read whole: each window is read from disk
    (``load_audio_segment``: downmix or ``channel``, resampling to
    ``sample_rate``, checks), ``windows_per_batch`` windows are encoded
    together, and their embeddings are pooled as in
    :func:`embed_in_windows` (length-weighted mean, L2-normalised). Peak
    memory is that of one batch of windows, whatever the file's length.
    Window bounds are laid out in the file's own sample rate (a file at
    ``sample_rate`` is cut exactly as :func:`embed_in_windows` cuts it).
    The silence check applies to the whole segment (a silent window inside
    speech is fine).

    Arguments
    ---------
    encode : callable
        ``encode(wavs, lens)`` -> (B, D) tensor or list of (B, D) tensors.
    path : str
        The audio file.
    sample_rate : int
        Sample rate the encoder expects.
    window_seconds : float
        Window length in seconds.
    hop_seconds : float, optional
        Hop in seconds (default: the window).
    start : float, optional
        Segment start in seconds.
    stop : float, optional
        Segment end in seconds (None: end of file).
    channel : int, optional
        One channel instead of the downmix.
    windows_per_batch : int
        Windows per call of ``encode``.
    allow_silent : bool
        Whether an all-silent segment is accepted.
    silence_threshold : float
        Peak amplitude under which audio counts as silent.

    Returns
    -------
    torch.Tensor or list of torch.Tensor
        (D,) embedding, or one per level if ``encode`` returns a list.

    Example
    -------
    >>> import soundfile as sf
    >>> path = getfixture("tmp_path") / "long.wav"
    >>> sf.write(path, torch.linspace(-0.5, 0.5, 16000).numpy(), 16000)
    >>> def encode(wavs, lens):
    ...     n = (lens * wavs.shape[1]).round().long()
    ...     valid = torch.arange(wavs.shape[1]) < n[:, None]
    ...     mean = (wavs * valid).sum(1) / n
    ...     feats = torch.stack([mean, torch.ones_like(mean)], 1)
    ...     return F.normalize(feats, dim=1)
    >>> emb = embed_file_in_windows(encode, str(path), window_seconds=0.25)
    >>> emb.shape, abs(round(float(emb[0]), 4))  # window means average to 0
    (torch.Size([2]), 0.0)
    """
    frames, file_rate, _ = get_audio_info(path)
    first = 0 if start is None else int(round(start * file_rate))
    last = frames if stop is None else min(frames, int(round(stop * file_rate)))
    if last <= first:
        raise AudioError(
            f"Audio segment [{start}, {stop}) s of {path} is empty (the file "
            f"has {frames / file_rate:.3f} s)",
            path=path,
            reason="empty" if frames == 0 else "bad-segment",
        )
    window, hop = seconds_to_samples(window_seconds, hop_seconds, file_rate)
    bounds = window_bounds(last - first, window, hop)
    pool = _WindowPool()
    peak = 0.0
    for chunk_start in range(0, len(bounds), windows_per_batch):
        chunk = bounds[chunk_start : chunk_start + windows_per_batch]
        signals = []
        for a, b in chunk:
            sig = load_audio_segment(
                path,
                (first + a) / file_rate,
                (first + b) / file_rate,
                sample_rate=sample_rate,
                allow_silent=True,
                channel=channel,
            )
            peak = max(peak, float(sig.abs().max()))
            signals.append(sig)
        wavs, lens = _pad(signals)
        with torch.no_grad():
            output = encode(wavs, lens)
        pool.add([0] * len(chunk), [b - a for a, b in chunk], output)
        del wavs, signals, output
    if not allow_silent and peak < silence_threshold:
        raise AudioError(
            f"Audio {path} is silent (peak amplitude {peak:.3g} < "
            f"{silence_threshold:g}); pass allow_silent=True to accept it",
            path=path,
            reason="silent",
        )
    levels = pool.pooled(0)
    return levels if pool.is_list else levels[0]

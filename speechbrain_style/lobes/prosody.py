"""A prosody lobe: frame-level pitch and energy, and its fusion with any
speech encoder.

Spectral front ends (log-mel filterbanks with sentence mean
normalisation, as in ECAPA-TDNN) carry pitch only implicitly, in the
positions of the low harmonics, and a speaker encoder learns to discard
it. Style descriptions, however, talk about pitch, pitch range, loudness
and speed, and style-captioned datasets derive exactly these labels from
F0 and energy statistics. This module gives a model those contours
explicitly:

* ``ProsodyFeatures``: per frame (10 ms), the log-F0 in octaves relative
  to 100 Hz from Praat's autocorrelation pitch tracker (``Sound: To Pitch
  (ac)``, Boersma 1993, through the PyPI package ``praat-parselmouth``;
  unvoiced frames linearly interpolated), a voiced flag, the log energy in
  bels relative to the utterance mean, and their deltas. The log-F0 can be
  absolute (``f0_norm="none"``: "low" and "high" stay visible),
  utterance-relative (``"utterance"``: the voiced mean is subtracted, only
  the contour is left) or both (``"both"``).
* ``ProsodyEncoder``: a small TDNN over these frames with attentive
  statistics pooling, plus the utterance's voiced log-F0 statistics (mean,
  standard deviation, 10th / 50th / 90th percentiles, voiced fraction,
  energy deviation, mean absolute F0 slope), projected to one embedding.
* ``ProsodyFusion``: wraps any speech encoder (an object with
  ``forward(wavs, lens) -> (batch, D)`` and ``output_size``: ECAPA-TDNN,
  emotion2vec, WavLM) and concatenates its embedding with the prosody
  embedding, so a recipe adds prosody with one yaml block::

    speech_encoder: !new:speechbrain_style.lobes.prosody.ProsodyFusion
        speech_encoder: !new:speechbrain_style.lobes.ECAPASpeechEncoder
            n_mels: 60
        prosody_encoder: !new:speechbrain_style.lobes.prosody.ProsodyEncoder
            f0_norm: none

Everything is padding-exact: the pitch tracker and the energy run on each
utterance's valid samples only, deltas replicate the utterance's own edge
frames, padded frames are zeroed before every convolution (zero padding,
not reflection), layer normalisation is per frame and the pooling and
statistics use the valid frames only. A padded batch therefore gives the
same features and embeddings as each utterance alone, in training and in
evaluation mode (``tests/unittests/test_lobes_prosody.py``).

The tracker was chosen by ``benchmarks/pitch_benchmark.py`` (accuracy on
signals with a known F0 and on the embedded corpus, and speed on 2 CPU
cores, against WORLD's DIO/Harvest, CREPE, PESTO and pYIN).

Authors
 * speechbrain-style contributors 2026
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

F0_NORMS = ("none", "utterance", "both")
F0_REFERENCE_HZ = 100.0
NUM_UTTERANCE_STATS = 8
# Spreads and changes of F0 (standard deviation, frame-to-frame change) are
# given in semitones: in octaves they are ~0.01-0.3, two orders of magnitude
# below the other inputs of the output layer, which made them slow to learn.
SEMITONES_PER_OCTAVE = 12.0


def _check_lens(wavs, lens):
    """Validates (batch, time) waveforms and relative lengths."""
    if wavs.dim() != 2:
        raise ValueError(
            f"wavs must have shape (batch, time), got {tuple(wavs.shape)}"
        )
    if lens is None:
        lens = torch.ones(wavs.shape[0], device=wavs.device)
    if lens.shape != (wavs.shape[0],):
        raise ValueError(
            f"lens must have shape ({wavs.shape[0]},), got {tuple(lens.shape)}"
        )
    if (lens <= 0).any() or (lens > 1 + 1e-6).any():
        raise ValueError(f"lens must be in (0, 1], got {lens.tolist()}")
    return lens


def valid_samples(lens, max_len):
    """Number of valid samples (or frames) of each item of a padded batch.

    Arguments
    ---------
    lens : torch.Tensor
        Relative lengths, shape (batch,).
    max_len : int
        Padded length.

    Returns
    -------
    list of int

    Example
    -------
    >>> valid_samples(torch.tensor([1.0, 0.5]), 10)
    [10, 5]
    """
    counts = torch.round(lens.detach().double().cpu() * max_len).long()
    return counts.clamp(1, max_len).tolist()


def _interpolate_unvoiced(values, voiced):
    """Linear interpolation of ``values`` over unvoiced frames (edges held)."""
    if not voiced.any():
        return np.zeros_like(values)
    frames = np.arange(len(values))
    return np.interp(frames, frames[voiced], values[voiced])


def _resample_track(f0, t1, step, num_frames, hop):
    """An F0 track (frames at ``t1 + k * step``, 0 = unvoiced) on the
    frame grid ``i * hop``: voiced where the nearer track frame is voiced,
    log-linearly interpolated between two voiced neighbours."""
    pos = (np.arange(num_frames) * hop - t1) / step
    inside = (pos >= -0.5) & (pos <= len(f0) - 0.5)
    pos = pos.clip(0, len(f0) - 1)
    left = np.floor(pos).astype(int).clip(0, max(len(f0) - 2, 0))
    right = np.minimum(left + 1, len(f0) - 1)
    weight = pos - left
    nearer = np.where(weight <= 0.5, left, right)
    voiced = inside & (f0[nearer] > 0)
    both = voiced & (f0[left] > 0) & (f0[right] > 0)
    out = np.where(voiced, f0[nearer], 0.0)
    log_left = np.log(np.where(f0[left] > 0, f0[left], 1.0))
    log_right = np.log(np.where(f0[right] > 0, f0[right], 1.0))
    interpolated = np.exp((1 - weight) * log_left + weight * log_right)
    return np.where(both, interpolated, out)


def _deltas(x, width=2):
    """Regression deltas (HTK formula) along axis 0, edge frames replicated."""
    padded = np.pad(x, [(width, width)] + [(0, 0)] * (x.ndim - 1), mode="edge")
    num = sum(
        n
        * (
            padded[width + n : len(x) + width + n]
            - padded[width - n : len(x) + width - n]
        )
        for n in range(1, width + 1)
    )
    return num / (2 * sum(n * n for n in range(1, width + 1)))


class ProsodyFeatures(nn.Module):
    """Frame-level log-F0, voicing and energy (and deltas) of waveforms.

    Frames are ``hop_seconds`` apart, frame ``i`` centred at sample
    ``i * hop``; an utterance of ``n`` valid samples has ``n // hop + 1``
    frames. Channels (``channel_names``): ``lf0`` (and/or ``lf0_rel``),
    ``voiced``, ``energy``, then with ``deltas`` the delta of each log-F0
    channel and of the energy.

    Arguments
    ---------
    sample_rate : int
        Sampling rate of the input waveforms.
    hop_seconds : float
        Frame shift.
    energy_window_seconds : float
        Window of the frame energy (Hann).
    pitch_floor : float
        Lowest F0 searched (Hz); Praat's analysis window is 3 periods of it.
    pitch_ceiling : float
        Highest F0 searched (Hz).
    voicing_threshold : float
        Praat's voicing threshold (higher: fewer voiced frames).
    f0_norm : str
        "none" (log-F0 relative to 100 Hz), "utterance" (minus the mean of
        the utterance's voiced frames) or "both" (two channels).
    deltas : bool
        Append the deltas of the log-F0 channel(s) and the energy.

    Example
    -------
    >>> features = ProsodyFeatures()
    >>> t = torch.arange(16000) / 16000
    >>> tone = torch.sin(2 * torch.pi * 150 * t) * 0.5
    >>> feats, frame_lens = features(torch.stack([tone, tone]),
    ...                              torch.tensor([1.0, 0.5]))
    >>> feats.shape, frame_lens.tolist()
    (torch.Size([2, 101, 5]), [1.0, 0.504950...])
    >>> voiced = feats[0, :, 1] > 0
    >>> round(2 ** feats[0, voiced, 0].mean().item() * 100)
    150
    """

    def __init__(
        self,
        sample_rate=16000,
        hop_seconds=0.01,
        energy_window_seconds=0.025,
        pitch_floor=60.0,
        pitch_ceiling=500.0,
        voicing_threshold=0.45,
        f0_norm="none",
        deltas=True,
    ):
        super().__init__()
        if f0_norm not in F0_NORMS:
            raise ValueError(
                f"f0_norm must be one of {F0_NORMS}, got {f0_norm!r}"
            )
        if not 0 < pitch_floor < pitch_ceiling < sample_rate / 2:
            raise ValueError(
                "Need 0 < pitch_floor < pitch_ceiling < sample_rate / 2, got "
                f"{pitch_floor}, {pitch_ceiling}, {sample_rate}"
            )
        self.hop = int(round(hop_seconds * sample_rate))
        if self.hop < 1:
            raise ValueError(f"hop_seconds={hop_seconds} is below one sample")
        self.init_kwargs = {
            "sample_rate": sample_rate,
            "hop_seconds": hop_seconds,
            "energy_window_seconds": energy_window_seconds,
            "pitch_floor": pitch_floor,
            "pitch_ceiling": pitch_ceiling,
            "voicing_threshold": voicing_threshold,
            "f0_norm": f0_norm,
            "deltas": deltas,
        }
        self.sample_rate = sample_rate
        self.hop_seconds = hop_seconds
        self.pitch_floor = pitch_floor
        self.pitch_ceiling = pitch_ceiling
        self.voicing_threshold = voicing_threshold
        self.f0_norm = f0_norm
        self.deltas = deltas
        win = max(int(round(energy_window_seconds * sample_rate)), 1)
        self._energy_window = np.hanning(win) if win > 1 else np.ones(1)
        names = {"none": ["lf0"], "utterance": ["lf0_rel"]}.get(
            f0_norm, ["lf0", "lf0_rel"]
        )
        self.f0_channels = list(range(len(names)))
        names += ["voiced", "energy"]
        self._delta_source = [i for i, n in enumerate(names) if n != "voiced"]
        if deltas:
            names += [f"d_{names[i]}" for i in self._delta_source]
        self.channel_names = names
        self.output_size = len(names)

    def num_frames(self, num_samples):
        """Frames of an utterance of ``num_samples`` samples."""
        return num_samples // self.hop + 1

    def track_pitch(self, wav):
        """F0 (Hz, 0 if unvoiced) of one waveform on the frame grid.

        Arguments
        ---------
        wav : numpy.ndarray
            One waveform (valid samples only).

        Returns
        -------
        numpy.ndarray
            F0 per frame, shape (``num_frames(len(wav))``,).
        """
        import parselmouth

        num_frames = self.num_frames(len(wav))
        grid = np.zeros(num_frames)
        # Praat needs a few analysis windows (3 periods of the floor each)
        if len(wav) < int(3.5 * self.sample_rate / self.pitch_floor):
            return grid
        sound = parselmouth.Sound(wav.astype(np.float64), self.sample_rate)
        pitch = sound.to_pitch_ac(
            time_step=self.hop_seconds,
            pitch_floor=self.pitch_floor,
            pitch_ceiling=self.pitch_ceiling,
            voicing_threshold=self.voicing_threshold,
        )
        f0 = pitch.selected_array["frequency"]
        if len(f0) == 0:
            return grid
        return _resample_track(
            f0, pitch.xs()[0], pitch.time_step, num_frames, self.hop_seconds
        )

    def frame_energy(self, wav):
        """Log energy (bels) per frame of one waveform, zero-padded ends."""
        win = self._energy_window
        half = len(win) // 2
        num_frames = self.num_frames(len(wav))
        padded = np.pad(wav.astype(np.float64), (half, half + len(win)))
        frames = np.lib.stride_tricks.sliding_window_view(padded, len(win))
        frames = frames[:: self.hop][:num_frames]
        power = np.square(frames * win).sum(-1) / np.square(win).sum()
        return np.log10(power + 1e-10)

    def utterance_features(self, wav):
        """The (frames, channels) features of one waveform (numpy)."""
        f0 = self.track_pitch(wav)
        voiced = f0 > 0
        lf0 = np.zeros(len(f0))
        lf0[voiced] = np.log2(f0[voiced] / F0_REFERENCE_HZ)
        lf0 = _interpolate_unvoiced(lf0, voiced)
        channels = []
        if self.f0_norm in ("none", "both"):
            channels.append(lf0)
        if self.f0_norm in ("utterance", "both"):
            rel = lf0 - lf0[voiced].mean() if voiced.any() else lf0
            channels.append(rel)
        energy = self.frame_energy(wav)
        energy = energy - energy.mean()
        channels += [voiced.astype(np.float64), energy]
        feats = np.stack(channels, axis=1)
        if self.deltas:
            source = feats[:, self._delta_source]
            feats = np.concatenate([feats, _deltas(source)], axis=1)
        return feats

    @torch.no_grad()
    def forward(self, wavs, lens=None):
        """Features of a padded batch, padded frames set to zero.

        Arguments
        ---------
        wavs : torch.Tensor
            Waveforms, shape (batch, time).
        lens : torch.Tensor, optional
            Relative lengths in (0, 1], shape (batch,).

        Returns
        -------
        feats : torch.Tensor
            (batch, frames, ``output_size``).
        frame_lens : torch.Tensor
            Relative lengths of the frame sequences, shape (batch,).
        """
        lens = _check_lens(wavs, lens)
        counts = valid_samples(lens, wavs.shape[1])
        signals = wavs.detach().float().cpu().numpy()
        per_utt = [
            self.utterance_features(signals[i, :n])
            for i, n in enumerate(counts)
        ]
        max_frames = max(len(f) for f in per_utt)
        feats = torch.zeros(len(per_utt), max_frames, self.output_size)
        for i, f in enumerate(per_utt):
            feats[i, : len(f)] = torch.from_numpy(f).float()
        frame_counts = torch.tensor(
            [len(f) for f in per_utt], dtype=torch.float
        )
        return feats.to(wavs.device), (frame_counts / max_frames).to(
            wavs.device
        )


def _frame_mask(lens, num_frames):
    """(batch, frames) boolean mask of the valid frames."""
    counts = torch.tensor(valid_samples(lens, num_frames), device=lens.device)
    return torch.arange(num_frames, device=lens.device)[None] < counts[:, None]


class _MaskedTDNNLayer(nn.Module):
    """Conv1d (zero padding) + ReLU + per-frame LayerNorm, padding zeroed."""

    def __init__(self, in_channels, out_channels, kernel_size, dilation):
        super().__init__()
        self.conv = nn.Conv1d(
            in_channels,
            out_channels,
            kernel_size,
            dilation=dilation,
            padding=dilation * (kernel_size - 1) // 2,
        )
        self.norm = nn.LayerNorm(out_channels)

    def forward(self, x, mask):
        """x: (batch, channels, frames); mask: (batch, frames)."""
        x = self.conv(x.masked_fill(~mask[:, None], 0.0))
        x = self.norm(F.relu(x).transpose(1, 2)).transpose(1, 2)
        return x.masked_fill(~mask[:, None], 0.0)


class MaskedAttentiveStatisticsPooling(nn.Module):
    """Attention-weighted mean and standard deviation over valid frames.

    Arguments
    ---------
    channels : int
        Input channels.
    attention_channels : int
        Hidden size of the attention.

    Example
    -------
    >>> pool = MaskedAttentiveStatisticsPooling(4, 8)
    >>> x = torch.randn(2, 4, 10)
    >>> mask = torch.arange(10)[None] < torch.tensor([[10], [6]])
    >>> out = pool(x, mask)
    >>> out.shape
    torch.Size([2, 8])
    >>> torch.allclose(out[1], pool(x[1:, :, :6], mask[1:, :6])[0], atol=1e-6)
    True
    """

    def __init__(self, channels, attention_channels=32):
        super().__init__()
        self.attention = nn.Sequential(
            nn.Conv1d(channels, attention_channels, 1),
            nn.Tanh(),
            nn.Conv1d(attention_channels, 1, 1),
        )

    def forward(self, x, mask):
        """(batch, channels, frames), (batch, frames) mask -> (batch, 2C)."""
        logits = self.attention(x).masked_fill(~mask[:, None], float("-inf"))
        weights = torch.softmax(logits, dim=-1)
        mean = (weights * x).sum(-1)
        var = (weights * (x - mean[..., None]).pow(2)).sum(-1)
        return torch.cat([mean, var.clamp(min=1e-6).sqrt()], dim=-1)


def utterance_statistics(
    feats, mask, f0_channel=0, voiced_channel=1, energy_channel=2
):
    """Per-utterance prosody statistics over valid (and voiced) frames.

    Voiced log-F0 mean (octaves), standard deviation (semitones), 10th /
    50th / 90th percentiles (octaves), voiced fraction, energy standard
    deviation (bels) and mean absolute frame-to-frame log-F0 change over
    voiced pairs (semitones per 10 frames). Utterances without voiced
    frames get zeros for the F0 statistics.

    The spreads are in semitones so that every statistic has a magnitude
    near 1 (a monotone, a normal and an animated eSpeak NG voice: standard
    deviation ~0.1, ~1.8 and ~3.1 semitones).

    Arguments
    ---------
    feats : torch.Tensor
        (batch, frames, channels) from ``ProsodyFeatures``.
    mask : torch.Tensor
        (batch, frames) valid frames.
    f0_channel, voiced_channel, energy_channel : int
        Channel indices.

    Returns
    -------
    torch.Tensor
        (batch, ``NUM_UTTERANCE_STATS``).

    Example
    -------
    >>> feats = torch.zeros(1, 4, 3)
    >>> feats[0, :, 0] = torch.tensor([0.0, 1.0, 2.0, 0.0])
    >>> feats[0, :, 1] = torch.tensor([1.0, 1.0, 1.0, 0.0])
    >>> stats = utterance_statistics(feats, torch.ones(1, 4, dtype=bool))
    >>> [round(v, 3) for v in stats[0, :3].tolist()], stats[0, 5].item()
    ([1.0, 9.798, 0.2], 0.75)
    """
    rows = []
    for feat, valid in zip(feats, mask, strict=True):
        feat = feat[valid]
        voiced = feat[:, voiced_channel] > 0.5
        energy = feat[:, energy_channel]
        e_std = (
            energy.std(unbiased=False) if len(energy) > 1 else energy.sum() * 0
        )
        lf0 = feat[voiced, f0_channel]
        if len(lf0) == 0:
            row = torch.zeros(NUM_UTTERANCE_STATS, device=feats.device)
            row[6] = e_std
            rows.append(row)
            continue
        q = torch.quantile(
            lf0, torch.tensor([0.1, 0.5, 0.9], device=feats.device)
        )
        pairs = voiced[1:] & voiced[:-1]
        slope = feat[1:, f0_channel] - feat[:-1, f0_channel]
        slope = slope[pairs].abs().mean() if pairs.any() else lf0.sum() * 0
        rows.append(
            torch.stack(
                [
                    lf0.mean(),
                    SEMITONES_PER_OCTAVE * lf0.std(unbiased=False),
                    q[0],
                    q[1],
                    q[2],
                    voiced.float().mean(),
                    e_std,
                    10 * SEMITONES_PER_OCTAVE * slope,
                ]
            )
        )
    return torch.stack(rows)


class ProsodyEncoder(nn.Module):
    """Prosody embedding: ``ProsodyFeatures`` -> TDNN -> attentive
    statistics pooling, concatenated with ``utterance_statistics``.

    Arguments
    ---------
    sample_rate : int
        Sampling rate of the input waveforms.
    f0_norm : str
        See ``ProsodyFeatures``.
    deltas : bool
        See ``ProsodyFeatures``.
    pitch_floor, pitch_ceiling : float
        F0 search range (Hz).
    channels : int
        Channels of the TDNN layers.
    kernel_sizes : sequence of int
        Kernel size of each TDNN layer (one layer per entry).
    dilations : sequence of int
        Dilation of each TDNN layer.
    attention_channels : int
        Hidden size of the attentive pooling.
    utterance_stats : bool
        Concatenate the utterance statistics to the pooled frames.
    output_size : int
        Size of the embedding.

    Example
    -------
    >>> encoder = ProsodyEncoder(channels=16, output_size=8)
    >>> t = torch.arange(8000) / 16000
    >>> wavs = torch.stack([torch.sin(2 * torch.pi * f * t)
    ...                     for f in (120, 220)])
    >>> encoder(wavs, torch.tensor([1.0, 0.8])).shape
    torch.Size([2, 8])
    """

    def __init__(
        self,
        sample_rate=16000,
        f0_norm="none",
        deltas=True,
        pitch_floor=60.0,
        pitch_ceiling=500.0,
        channels=64,
        kernel_sizes=(5, 3, 3),
        dilations=(1, 2, 3),
        attention_channels=32,
        utterance_stats=True,
        output_size=64,
    ):
        super().__init__()
        kernel_sizes, dilations = list(kernel_sizes), list(dilations)
        if len(kernel_sizes) != len(dilations) or not kernel_sizes:
            raise ValueError(
                "kernel_sizes and dilations must be non-empty and of the "
                f"same length, got {kernel_sizes} and {dilations}"
            )
        if any(k % 2 == 0 for k in kernel_sizes):
            raise ValueError(f"kernel_sizes must be odd, got {kernel_sizes}")
        self.init_kwargs = {
            "sample_rate": sample_rate,
            "f0_norm": f0_norm,
            "deltas": deltas,
            "pitch_floor": pitch_floor,
            "pitch_ceiling": pitch_ceiling,
            "channels": channels,
            "kernel_sizes": kernel_sizes,
            "dilations": dilations,
            "attention_channels": attention_channels,
            "utterance_stats": utterance_stats,
            "output_size": output_size,
        }
        self.compute_features = ProsodyFeatures(
            sample_rate=sample_rate,
            pitch_floor=pitch_floor,
            pitch_ceiling=pitch_ceiling,
            f0_norm=f0_norm,
            deltas=deltas,
        )
        names = self.compute_features.channel_names
        self._stat_channels = (0, names.index("voiced"), names.index("energy"))
        layers, in_channels = [], self.compute_features.output_size
        for kernel, dilation in zip(kernel_sizes, dilations, strict=True):
            layers.append(
                _MaskedTDNNLayer(in_channels, channels, kernel, dilation)
            )
            in_channels = channels
        self.tdnn = nn.ModuleList(layers)
        self.pooling = MaskedAttentiveStatisticsPooling(
            channels, attention_channels
        )
        self.utterance_stats = utterance_stats
        pooled = 2 * channels + (NUM_UTTERANCE_STATS if utterance_stats else 0)
        self.output = nn.Linear(pooled, output_size)
        self.output_size = output_size

    def embed_features(self, feats, frame_lens):
        """Embeds precomputed ``ProsodyFeatures`` (batch, frames, channels)."""
        mask = _frame_mask(frame_lens, feats.shape[1])
        x = feats.transpose(1, 2)
        for layer in self.tdnn:
            x = layer(x, mask)
        pooled = [self.pooling(x, mask)]
        if self.utterance_stats:
            pooled.append(
                utterance_statistics(feats, mask, *self._stat_channels)
            )
        return self.output(torch.cat(pooled, dim=-1))

    def forward(self, wavs, lens=None):
        """Prosody embeddings of a padded batch, shape (batch, output_size).

        Arguments
        ---------
        wavs : torch.Tensor
            Waveforms, shape (batch, time).
        lens : torch.Tensor, optional
            Relative lengths in (0, 1], shape (batch,).

        Returns
        -------
        torch.Tensor
        """
        feats, frame_lens = self.compute_features(wavs, lens)
        return self.embed_features(feats, frame_lens)


class ProsodyFusion(nn.Module):
    """Any speech encoder + a prosody branch, concatenated.

    ``output_size`` is ``speech_encoder.output_size +
    prosody_encoder.output_size``; the projection head that follows learns
    how to weigh them. Each branch's embedding can be layer-normalised
    first (``normalize``) so that neither dominates at initialisation.
    A frozen speech encoder stays frozen (its own ``freeze`` setting); the
    prosody branch is always trained.

    Arguments
    ---------
    speech_encoder : torch.nn.Module
        ``forward(wavs, lens) -> (batch, D)`` with an ``output_size``.
    prosody_encoder : torch.nn.Module, optional
        A ``ProsodyEncoder`` (default: ``ProsodyEncoder()``).
    normalize : bool
        Layer-normalise each branch's embedding before concatenating.

    Example
    -------
    >>> from speechbrain_style.lobes import ECAPASpeechEncoder
    >>> fusion = ProsodyFusion(
    ...     ECAPASpeechEncoder(n_mels=20, channels=(16, 16, 16, 16, 48),
    ...                        lin_neurons=8),
    ...     ProsodyEncoder(channels=16, output_size=4),
    ... )
    >>> fusion(torch.randn(2, 8000), torch.tensor([1.0, 0.7])).shape
    torch.Size([2, 12])
    """

    def __init__(self, speech_encoder, prosody_encoder=None, normalize=True):
        super().__init__()
        if not hasattr(speech_encoder, "output_size"):
            raise TypeError(
                f"speech_encoder ({type(speech_encoder).__name__}) has no "
                "output_size"
            )
        if prosody_encoder is None:
            prosody_encoder = ProsodyEncoder()
        self.speech_encoder = speech_encoder
        self.prosody_encoder = prosody_encoder
        self.init_kwargs = {
            "speech_encoder": speech_encoder,
            "prosody_encoder": prosody_encoder,
            "normalize": normalize,
        }
        sizes = (speech_encoder.output_size, prosody_encoder.output_size)
        self.normalize = normalize
        self.norms = nn.ModuleList(
            [nn.LayerNorm(s) if normalize else nn.Identity() for s in sizes]
        )
        self.output_size = sum(sizes)

    def forward(self, wavs, lens=None):
        """Fused embeddings, shape (batch, ``output_size``).

        Arguments
        ---------
        wavs : torch.Tensor
            Waveforms, shape (batch, time).
        lens : torch.Tensor, optional
            Relative lengths, shape (batch,).

        Returns
        -------
        torch.Tensor
        """
        lens = _check_lens(wavs, lens)
        parts = (
            self.speech_encoder(wavs, lens),
            self.prosody_encoder(wavs, lens),
        )
        return torch.cat(
            [norm(p) for norm, p in zip(self.norms, parts, strict=True)],
            dim=-1,
        )

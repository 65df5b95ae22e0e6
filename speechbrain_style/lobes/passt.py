"""PaSST audio encoder: 32 kHz log-mel + patchout spectrogram transformer.

Implements the audio lobe of the text-audio retrieval seed (PaSST + RoBERTa):
Koutini, Schlüter, Eghbal-zadeh and Widmer, "Efficient Training of Audio
Transformers with Patchout", Interspeech 2022,
https://arxiv.org/abs/2110.05069, as packaged on PyPI by ``hear21passt``
(https://github.com/kkoutini/passt_hear21). The architecture is written here
(no dependency on ``hear21passt``, which needs ``timm``), with the parameter
names of ``hear21passt.models.passt.PaSST``, so the published AudioSet
checkpoints load with ``load_state_dict``:

* front end (``PaSSTMelFrontend``, hear21passt's ``AugmentMelSTFT``):
  pre-emphasis ``x[t] - 0.97 x[t-1]``, power STFT (n_fft 1024, Hann window of
  800 samples, hop 320 = 10 ms at 32 kHz), 128 Kaldi mel bands, ``log(x +
  1e-5)``, then ``(x + 4.5) / 5``; in training the mel range is randomly
  jittered (``fmin`` + U[0, 10) Hz, ``fmax`` +- 1 kHz) as in the seed
  (hear21passt's optional frequency/time masking, off in the seed, is not
  implemented);
* transformer (``PaSST``): 16x16 patches (stride 16 for the seed's
  ``passt_s_p16_s16_128_ap468``), separate frequency and time positional
  embeddings, class and distillation tokens, 12 pre-norm ViT blocks;
  structured patchout in training (the seed drops 15 time columns and 2
  frequency rows); the embedding is the mean of the two tokens after the
  final LayerNorm (hear21passt's ``mode="embed_only"``, 768-d);
* clip embedding (``PaSSTEncoder``): the clip is cut into 10-s windows, each
  window is embedded and the window embeddings are averaged (the seed's
  ``WindowedPrediction``).

Padding is honoured: each window's spectrogram is computed from its own
samples, padded time patches are masked out of the attention, and only the
windows inside a clip's length are averaged, so a padded batch gives the
embeddings of each clip alone (up to float rounding). The seed instead pads
Clotho clips with zeros to 30 s and averages the all-zero windows too.

Weights: a checkpoint name (``passt_s_p16_s16_128_ap468``, ...) or URL is
downloaded once with ``torch.hub`` into ``save_path`` (default: torch's hub
cache); a local file (a PaSST state dict, or a hear21passt wrapper's with
``net.`` keys) loads offline; ``None`` keeps random weights (tests).

Authors
 * speechbrain-style contributors 2026
"""

import os

import torch
import torch.nn.functional as F
from speechbrain.utils.logger import get_logger
from torch import nn

from speechbrain_style.lobes.common import FreezableLobe
from speechbrain_style.lobes.loading import load_matching_state_dict

logger = get_logger(__name__)

_RELEASES = "https://github.com/kkoutini/PaSST/releases/download"
PRETRAINED_URLS = {
    "passt_s_p16_s16_128_ap468": (
        f"{_RELEASES}/v0.0.2-audioset/passt-s-f128-p16-s16-ap.468.pt"
    ),
    "passt_s_swa_p16_s16_128_ap473": (
        f"{_RELEASES}/v0.0.2-audioset/passt-s-f128-p16-s16-ap.473-swa.pt"
    ),
    "passt_s_swa_p16_128_ap476": (
        f"{_RELEASES}/v0.0.1-audioset/passt-s-f128-p16-s10-ap.476-swa.pt"
    ),
}
"""Published AudioSet checkpoints (name -> URL); the seed uses the first,
which needs ``stride=16``; the last one was trained with ``stride=10``."""

# Keys of a checkpoint that the embedding model does not use.
_UNUSED_PREFIXES = (
    "head.",
    "head_dist.",
    "pre_logits.",
    "mel.",
    "device_proxy",
)


class PaSSTMelFrontend(nn.Module):
    """Log-mel spectrogram of PaSST (hear21passt's ``AugmentMelSTFT``).

    Arguments
    ---------
    sample_rate : int
        Sample rate of the input (32 kHz for the published models).
    n_mels : int
        Number of mel bands.
    n_fft : int
        FFT size.
    win_length : int
        Hann window length in samples.
    hop_length : int
        Hop between frames in samples.
    fmin : float
        Lowest mel frequency (Hz).
    fmax : float, optional
        Highest mel frequency; default ``sample_rate / 2 - fmax_aug_range / 2``
        as in hear21passt.
    fmin_aug_range : int
        In training, ``fmin`` is raised by a random integer in
        ``[0, fmin_aug_range)`` Hz (1: no augmentation).
    fmax_aug_range : int
        In training, ``fmax`` moves by a random integer in
        ``(-fmax_aug_range / 2, fmax_aug_range / 2]`` Hz (1: none).

    Example
    -------
    >>> frontend = PaSSTMelFrontend().eval()
    >>> frontend(torch.zeros(1, 32000)).shape  # 1 s: 100 frames of 10 ms
    torch.Size([1, 128, 100])
    """

    def __init__(
        self,
        sample_rate=32000,
        n_mels=128,
        n_fft=1024,
        win_length=800,
        hop_length=320,
        fmin=0.0,
        fmax=None,
        fmin_aug_range=10,
        fmax_aug_range=2000,
    ):
        super().__init__()
        if fmin_aug_range < 1 or fmax_aug_range < 1:
            raise ValueError(
                "fmin_aug_range and fmax_aug_range must be >= 1 (1 means no "
                f"augmentation), got {fmin_aug_range} and {fmax_aug_range}"
            )
        if fmax is None:
            fmax = sample_rate // 2 - fmax_aug_range // 2
        if not 0 <= fmin < fmax <= sample_rate / 2:
            raise ValueError(
                f"Expected 0 <= fmin < fmax <= sample_rate / 2, got fmin={fmin}"
                f", fmax={fmax}, sample_rate={sample_rate}"
            )
        self.sample_rate = sample_rate
        self.n_mels = n_mels
        self.n_fft = n_fft
        self.win_length = win_length
        self.hop_length = hop_length
        self.fmin = float(fmin)
        self.fmax = float(fmax)
        self.fmin_aug_range = int(fmin_aug_range)
        self.fmax_aug_range = int(fmax_aug_range)
        self.register_buffer(
            "window",
            torch.hann_window(win_length, periodic=False),
            persistent=False,
        )
        self.register_buffer(
            "preemphasis",
            torch.tensor([[[-0.97, 1.0]]]),
            persistent=False,
        )
        self.register_buffer(
            "eval_mel_basis",
            self.mel_basis(self.fmin, self.fmax),
            persistent=False,
        )

    @property
    def min_samples(self):
        """Shortest input accepted (the reflection padding of the STFT)."""
        return self.n_fft // 2 + 2

    def mel_basis(self, fmin, fmax):
        """Kaldi mel filterbank, shape (n_mels, n_fft // 2 + 1)."""
        from torchaudio.compliance.kaldi import get_mel_banks

        banks, _ = get_mel_banks(
            self.n_mels,
            self.n_fft,
            float(self.sample_rate),
            fmin,
            fmax,
            100.0,
            -500.0,
            1.0,
        )
        # Kaldi's banks cover n_fft / 2 bins: the Nyquist bin gets weight 0.
        return F.pad(banks, (0, 1))

    def num_frames(self, num_samples):
        """Frames of an input of ``num_samples`` samples (int or tensor)."""
        return (num_samples - 1) // self.hop_length + 1

    def forward(self, wavs):
        """Normalised log-mel spectrogram.

        Arguments
        ---------
        wavs : torch.Tensor
            (B, T) waveforms, ``T >= min_samples``.

        Returns
        -------
        torch.Tensor
            (B, n_mels, num_frames(T)).
        """
        if wavs.dim() != 2:
            raise ValueError(
                f"wavs must be (batch, time), got {tuple(wavs.shape)}"
            )
        if wavs.shape[1] < self.min_samples:
            raise ValueError(
                f"PaSSTMelFrontend needs at least {self.min_samples} samples, "
                f"got {wavs.shape[1]}"
            )
        with torch.autocast(device_type=wavs.device.type, enabled=False):
            x = F.conv1d(wavs.float().unsqueeze(1), self.preemphasis)
            spec = torch.stft(
                x.squeeze(1),
                self.n_fft,
                hop_length=self.hop_length,
                win_length=self.win_length,
                window=self.window,
                center=True,
                return_complex=True,
            )
            power = spec.real**2 + spec.imag**2
            if self.training and (
                self.fmin_aug_range > 1 or self.fmax_aug_range > 1
            ):
                fmin = self.fmin + int(torch.randint(self.fmin_aug_range, ()))
                fmax = (
                    self.fmax
                    + self.fmax_aug_range // 2
                    - int(torch.randint(self.fmax_aug_range, ()))
                )
                basis = self.mel_basis(fmin, fmax).to(power.device)
            else:
                basis = self.eval_mel_basis
            mel = torch.matmul(basis, power)
            return (torch.log(mel + 1e-5) + 4.5) / 5.0


class _Attention(nn.Module):
    """Multi-head self-attention with a key padding mask (timm names)."""

    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, key_mask=None):
        """Multi-head self-attention with an optional key padding mask."""
        batch, length, dim = x.shape
        qkv = self.qkv(x).reshape(
            batch, length, 3, self.num_heads, dim // self.num_heads
        )
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        attn_mask = None if key_mask is None else key_mask[:, None, None, :]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        return self.proj(out.transpose(1, 2).reshape(batch, length, dim))


class _Mlp(nn.Module):
    """The MLP of a transformer block (fc1, GELU, fc2)."""

    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        """fc2(GELU(fc1(x)))."""
        return self.fc2(self.act(self.fc1(x)))


class _Block(nn.Module):
    """Pre-norm transformer block (timm/hear21passt ``Block`` names)."""

    def __init__(self, dim, num_heads, mlp_ratio=4.0, qkv_bias=True):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = _Attention(dim, num_heads, qkv_bias=qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = _Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x, key_mask=None):
        """Pre-norm attention and MLP, each with a residual connection."""
        x = x + self.attn(self.norm1(x), key_mask)
        return x + self.mlp(self.norm2(x))


class PaSST(nn.Module):
    """Patchout spectrogram transformer returning the clip embedding.

    Parameter names follow ``hear21passt.models.passt.PaSST`` (classifier
    heads left out), so its checkpoints load with ``load_state_dict``.

    Arguments
    ---------
    n_mels : int
        Mel bands of the input spectrogram.
    max_frames : int
        Frames of the longest input (998 for 10 s in the published models;
        sets the size of the time positional embedding).
    patch_size : int
        Square patch size.
    stride : int
        Patch stride in both directions (16: no overlap).
    embed_dim : int
        Transformer width.
    depth : int
        Number of blocks.
    num_heads : int
        Attention heads.
    mlp_ratio : float
        Hidden size of the MLPs relative to ``embed_dim``.
    s_patchout_t : int
        Structured patchout in training: time columns dropped.
    s_patchout_f : int
        Structured patchout in training: frequency rows dropped.

    Example
    -------
    >>> model = PaSST(embed_dim=16, depth=1, num_heads=2).eval()
    >>> spec = torch.randn(2, 128, 100)
    >>> model(spec, torch.tensor([100, 60])).shape
    torch.Size([2, 16])
    """

    def __init__(
        self,
        n_mels=128,
        max_frames=998,
        patch_size=16,
        stride=16,
        embed_dim=768,
        depth=12,
        num_heads=12,
        mlp_ratio=4.0,
        s_patchout_t=0,
        s_patchout_f=0,
    ):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(
                f"embed_dim ({embed_dim}) must be a multiple of num_heads "
                f"({num_heads})"
            )
        if n_mels < patch_size or max_frames < patch_size:
            raise ValueError(
                f"n_mels ({n_mels}) and max_frames ({max_frames}) must be >= "
                f"patch_size ({patch_size})"
            )
        self.patch_size = patch_size
        self.stride = stride
        self.embed_dim = embed_dim
        self.s_patchout_t = s_patchout_t
        self.s_patchout_f = s_patchout_f
        # hear21passt's PatchEmbed: grid = input size // stride
        self.grid_size = (n_mels // stride, max_frames // stride)
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(
            1, embed_dim, kernel_size=patch_size, stride=stride
        )
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.dist_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.new_pos_embed = nn.Parameter(torch.zeros(1, 2, embed_dim))
        self.freq_new_pos_embed = nn.Parameter(
            torch.zeros(1, embed_dim, self.grid_size[0], 1)
        )
        self.time_new_pos_embed = nn.Parameter(
            torch.zeros(1, embed_dim, 1, self.grid_size[1])
        )
        self.blocks = nn.ModuleList(
            [_Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth)]
        )
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.reset_parameters()

    def reset_parameters(self):
        """ViT initialisation (truncated normal, std 0.02)."""
        for param in (
            self.cls_token,
            self.dist_token,
            self.new_pos_embed,
            self.freq_new_pos_embed,
            self.time_new_pos_embed,
        ):
            nn.init.trunc_normal_(param, std=0.02)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def num_time_patches(self, num_frames):
        """Time patches of ``num_frames`` frames (int or tensor)."""
        return (num_frames - self.patch_size) // self.stride + 1

    def forward(self, spec, frame_lengths=None):
        """Clip embedding: mean of the class and distillation tokens.

        Arguments
        ---------
        spec : torch.Tensor
            (B, n_mels, frames) spectrograms, zero-padded in time.
        frame_lengths : torch.Tensor, optional
            (B,) number of valid frames of each spectrogram (default: all);
            each must be at least ``patch_size``.

        Returns
        -------
        torch.Tensor
            (B, embed_dim).
        """
        batch, n_mels, frames = spec.shape
        x = self.patch_embed.proj(spec.unsqueeze(1))  # (B, D, F, T)
        f_dim, t_dim = x.shape[2], x.shape[3]
        if f_dim != self.grid_size[0] or t_dim > self.grid_size[1]:
            raise ValueError(
                f"Spectrogram of {n_mels} bands x {frames} frames gives a "
                f"{f_dim} x {t_dim} patch grid; this model takes "
                f"{self.grid_size[0]} x at most {self.grid_size[1]}"
            )
        x = x + self.time_new_pos_embed[:, :, :, :t_dim]
        x = x + self.freq_new_pos_embed
        if frame_lengths is None:
            valid_t = torch.full((batch,), t_dim, device=spec.device)
        else:
            frame_lengths = torch.as_tensor(frame_lengths, device=spec.device)
            if bool((frame_lengths < self.patch_size).any()):
                raise ValueError(
                    f"Every input needs >= {self.patch_size} frames, got "
                    f"{frame_lengths.tolist()}"
                )
            valid_t = self.num_time_patches(frame_lengths.long())
        time_mask = torch.arange(t_dim, device=spec.device)[None, :]
        time_mask = time_mask < valid_t[:, None]  # (B, T)
        if self.training and self.s_patchout_t and t_dim > 1:
            keep = min(t_dim - 1, self.s_patchout_t)
            kept = torch.randperm(t_dim, device=spec.device)[: t_dim - keep]
            kept = kept.sort().values
            x, time_mask = x[:, :, :, kept], time_mask[:, kept]
            t_dim = kept.numel()
        if self.training and self.s_patchout_f and f_dim > 1:
            keep = min(f_dim - 1, self.s_patchout_f)
            kept = torch.randperm(f_dim, device=spec.device)[: f_dim - keep]
            x = x[:, :, kept.sort().values, :]
            f_dim = kept.numel()
        x = x.flatten(2).transpose(1, 2)  # (B, F * T, D), frequency-major
        patch_mask = time_mask.repeat(1, f_dim)
        tokens = torch.cat(
            [
                self.cls_token.expand(batch, -1, -1)
                + self.new_pos_embed[:, :1],
                self.dist_token.expand(batch, -1, -1)
                + self.new_pos_embed[:, 1:],
            ],
            dim=1,
        )
        x = torch.cat([tokens, x], dim=1)
        token_mask = torch.ones(batch, 2, dtype=torch.bool, device=x.device)
        key_mask = torch.cat([token_mask, patch_mask], dim=1)
        if bool(key_mask.all()):
            key_mask = None  # no padding: plain attention
        for block in self.blocks:
            x = block(x, key_mask)
        x = self.norm(x)
        return (x[:, 0] + x[:, 1]) / 2


def resolve_checkpoint(checkpoint):
    """Where a PaSST checkpoint comes from: ("url", URL) or ("file", path).

    Arguments
    ---------
    checkpoint : str
        A name of ``PRETRAINED_URLS``, an http(s) URL or a local file.

    Returns
    -------
    tuple of str

    Example
    -------
    >>> resolve_checkpoint("passt_s_p16_s16_128_ap468")[1].split("/")[-1]
    'passt-s-f128-p16-s16-ap.468.pt'
    """
    if not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(
            f"checkpoint must be a str or path, got {type(checkpoint)}"
        )
    checkpoint = os.fspath(checkpoint)
    if checkpoint in PRETRAINED_URLS:
        return "url", PRETRAINED_URLS[checkpoint]
    if checkpoint.startswith(("http://", "https://")):
        return "url", checkpoint
    if os.path.isfile(checkpoint):
        return "file", checkpoint
    raise FileNotFoundError(
        f"PaSST checkpoint not found: {checkpoint!r} is neither a file, a URL"
        f" nor one of {sorted(PRETRAINED_URLS)}"
    )


def load_passt_state_dict(model, checkpoint, save_path=None, strict=True):
    """Loads a PaSST checkpoint (name, URL or file) into ``model``.

    Accepts a plain PaSST state dict (the published releases, e.g.
    ``passt-s-f128-p16-s10-ap.476-swa.pt``: hear21passt's ``PaSST`` with
    its AudioSet classifier ``head.0`` (LayerNorm), ``head.1`` and
    ``head_dist``), one wrapped in ``{"model": ...}`` or
    ``{"state_dict": ...}``, and hear21passt wrapper keys (``net.``
    prefix, ``mel.*``); the classifier heads and the wrapper's front end are
    skipped. Every other key must match: a missing or unexpected key raises
    an error naming it (``strict=False``: a warning), a shape mismatch
    always raises.

    Arguments
    ---------
    model : PaSST
        The model to fill.
    checkpoint : str
        Name in ``PRETRAINED_URLS``, URL (downloaded once by ``torch.hub``)
        or local file.
    save_path : str, optional
        Download folder (default: torch's hub cache).
    strict : bool
        Raise on missing / unexpected weights (True), or warn (False).

    Example
    -------
    >>> model = PaSST(embed_dim=16, depth=1, num_heads=2)
    >>> path = getfixture("tmp_path") / "passt.pt"
    >>> torch.save({"net." + k: v for k, v in model.state_dict().items()},
    ...            path)
    >>> load_passt_state_dict(PaSST(embed_dim=16, depth=1, num_heads=2), path)
    """
    kind, location = resolve_checkpoint(checkpoint)
    if kind == "url":
        logger.info(f"Loading PaSST weights from {location}")
        state = torch.hub.load_state_dict_from_url(
            location, model_dir=save_path, map_location="cpu"
        )
    else:
        state = torch.load(location, map_location="cpu", weights_only=True)
    for key in ("model", "state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    cleaned = {}
    for key, value in state.items():
        for prefix in ("module.", "net."):
            if key.startswith(prefix):
                key = key[len(prefix) :]
        cleaned[key] = value
    load_matching_state_dict(
        model,
        cleaned,
        location,
        strict=strict,
        ignore_unexpected=_UNUSED_PREFIXES,
    )


class PaSSTEncoder(FreezableLobe):
    """Clip embeddings of PaSST, averaged over 10-s windows, padding-aware.

    Each clip (its first ``lens * T`` samples) is cut into windows of
    ``window_seconds`` every ``hop_seconds``; a last partial window shorter
    than ``min_last_window_seconds`` is dropped unless it is the only one.
    Each window's log-mel spectrogram is computed from its own samples
    (windows shorter than the STFT needs are zero-padded to
    ``PaSSTMelFrontend.min_samples``), the windows are embedded in one
    padded batch with the padded patches masked out of the attention, and a
    clip's embedding is the mean of its windows' embeddings.

    Arguments
    ---------
    checkpoint : str, optional
        Weights: a name of ``PRETRAINED_URLS`` (the seed's
        ``passt_s_p16_s16_128_ap468``), a URL, a local file, or None for
        random weights.
    sample_rate : int
        Input sample rate (32 kHz for the published models).
    window_seconds : float
        Window length (the models were trained on 10-s clips).
    hop_seconds : float, optional
        Window hop (default: ``window_seconds``, no overlap, as the seed).
    min_last_window_seconds : float
        Shortest last partial window kept.
    n_mels, patch_size, stride, embed_dim, depth, num_heads, mlp_ratio
        Architecture (defaults: PaSST-S with 16x16 patches, stride 16).
    max_frames : int
        Frames of the time positional embedding (998 in the published
        models, enough for a 10-s window).
    s_patchout_t : int
        Structured patchout (training only): time columns dropped.
    s_patchout_f : int
        Structured patchout (training only): frequency rows dropped.
    fmin_aug_range : int
        Mel ``fmin`` jitter in training (Hz, 1 = none).
    fmax_aug_range : int
        Mel ``fmax`` jitter in training (Hz, 1 = none).
    freeze : bool
        Frozen encoder (no gradient, eval mode).
    save_path : str, optional
        Download folder for named / URL checkpoints.
    strict : bool
        A checkpoint with missing or unexpected weights raises an error
        naming them (True) or loads with a warning naming them (False).

    Example
    -------
    >>> encoder = PaSSTEncoder(checkpoint=None, embed_dim=16, depth=1,
    ...                        num_heads=2, window_seconds=0.5).eval()
    >>> wavs = torch.randn(2, 24000)  # 0.75 s at 32 kHz
    >>> encoder(wavs, torch.tensor([1.0, 0.5])).shape
    torch.Size([2, 16])
    >>> encoder.output_size
    16
    """

    def __init__(
        self,
        checkpoint="passt_s_p16_s16_128_ap468",
        sample_rate=32000,
        window_seconds=10.0,
        hop_seconds=None,
        min_last_window_seconds=1.0,
        n_mels=128,
        max_frames=998,
        patch_size=16,
        stride=16,
        embed_dim=768,
        depth=12,
        num_heads=12,
        mlp_ratio=4.0,
        s_patchout_t=15,
        s_patchout_f=2,
        fmin_aug_range=10,
        fmax_aug_range=2000,
        freeze=False,
        save_path=None,
        strict=True,
    ):
        super().__init__()
        hop_seconds = window_seconds if hop_seconds is None else hop_seconds
        for name, value in (
            ("window_seconds", window_seconds),
            ("hop_seconds", hop_seconds),
        ):
            if not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        # The exported inference model carries its weights in its own
        # checkpoint: no download when it is loaded again.
        self.init_kwargs = {
            "checkpoint": None,
            "sample_rate": sample_rate,
            "window_seconds": window_seconds,
            "hop_seconds": hop_seconds,
            "min_last_window_seconds": min_last_window_seconds,
            "n_mels": n_mels,
            "max_frames": max_frames,
            "patch_size": patch_size,
            "stride": stride,
            "embed_dim": embed_dim,
            "depth": depth,
            "num_heads": num_heads,
            "mlp_ratio": mlp_ratio,
            "s_patchout_t": s_patchout_t,
            "s_patchout_f": s_patchout_f,
            "fmin_aug_range": fmin_aug_range,
            "fmax_aug_range": fmax_aug_range,
            "freeze": freeze,
            "strict": strict,
        }
        self.sample_rate = sample_rate
        self.window_samples = int(round(window_seconds * sample_rate))
        self.hop_samples = int(round(hop_seconds * sample_rate))
        min_last = min_last_window_seconds * sample_rate
        self.min_last_samples = int(round(min_last))
        self.frontend = PaSSTMelFrontend(
            sample_rate=sample_rate,
            n_mels=n_mels,
            fmin_aug_range=fmin_aug_range,
            fmax_aug_range=fmax_aug_range,
        )
        self.passt = PaSST(
            n_mels=n_mels,
            max_frames=max_frames,
            patch_size=patch_size,
            stride=stride,
            embed_dim=embed_dim,
            depth=depth,
            num_heads=num_heads,
            mlp_ratio=mlp_ratio,
            s_patchout_t=s_patchout_t,
            s_patchout_f=s_patchout_f,
        )
        max_window_frames = self.frontend.num_frames(self.window_samples)
        if self.passt.num_time_patches(max_window_frames) > max_frames // (
            stride
        ):
            raise ValueError(
                f"window_seconds={window_seconds} gives {max_window_frames} "
                f"frames, more than the model's max_frames={max_frames} allow"
            )
        self.output_size = embed_dim
        if checkpoint is not None:
            load_passt_state_dict(
                self.passt, checkpoint, save_path=save_path, strict=strict
            )
        self.freeze = freeze
        if freeze:
            self._freeze_parameters()

    def window_bounds(self, num_samples):
        """(start, stop) sample bounds of the windows of a clip.

        Arguments
        ---------
        num_samples : int
            Valid length of the clip.

        Returns
        -------
        list of tuple of int

        Example
        -------
        >>> enc = PaSSTEncoder(None, embed_dim=16, depth=1, num_heads=2)
        >>> [(a / 32000, b / 32000) for a, b in enc.window_bounds(800000)]
        [(0.0, 10.0), (10.0, 20.0), (20.0, 25.0)]
        >>> len(enc.window_bounds(20000 + 320000))  # 10.6 s: 0.6 s dropped
        1
        """
        bounds = []
        for start in range(0, max(num_samples, 1), self.hop_samples):
            stop = min(start + self.window_samples, num_samples)
            if bounds and stop - start < self.min_last_samples:
                break
            bounds.append((start, stop))
            if stop == num_samples:
                break
        return bounds

    def forward(self, wavs, lens=None):
        """Clip embeddings.

        Arguments
        ---------
        wavs : torch.Tensor
            (B, T) waveforms at ``sample_rate``, zero-padded.
        lens : torch.Tensor, optional
            (B,) relative lengths (SpeechBrain convention).

        Returns
        -------
        torch.Tensor
            (B, output_size) mean of the window embeddings.
        """
        if not isinstance(wavs, torch.Tensor) or wavs.dim() != 2:
            raise ValueError(
                "wavs must be a (batch, time) tensor, got "
                f"{getattr(wavs, 'shape', type(wavs))}"
            )
        batch, total = wavs.shape
        if lens is None:
            lens = torch.ones(batch, device=wavs.device)
        lens = torch.as_tensor(lens, device=wavs.device)
        if lens.shape != (batch,):
            raise ValueError(
                f"lens must have shape ({batch},), got {tuple(lens.shape)}"
            )
        num_samples = torch.round(lens.float() * total).long().clamp(1, total)
        windows, owners = [], []
        for i, length in enumerate(num_samples.tolist()):
            for start, stop in self.window_bounds(length):
                windows.append(wavs[i, start:stop])
                owners.append(i)
        with self._no_grad_if_frozen():
            specs, frames = self._spectrograms(windows)
            embeddings = self.passt(specs, frames)
            owners = torch.tensor(owners, device=wavs.device)
            summed = embeddings.new_zeros(batch, embeddings.shape[1])
            summed = summed.index_add(0, owners, embeddings)
            counts = torch.bincount(owners, minlength=batch)
            return summed / counts.unsqueeze(1).to(summed.dtype)

    def _spectrograms(self, windows):
        """Padded batch of the windows' spectrograms and their frame counts.

        Windows of equal length go through the front end together; each
        window's spectrogram only depends on its own samples.
        """
        min_samples = max(
            self.frontend.min_samples,
            self.passt.patch_size * self.frontend.hop_length,
        )
        padded = [
            F.pad(w, (0, min_samples - w.shape[0]))
            if w.shape[0] < min_samples
            else w
            for w in windows
        ]
        by_length = {}
        for index, wav in enumerate(padded):
            by_length.setdefault(wav.shape[0], []).append(index)
        specs = [None] * len(padded)
        for indices in by_length.values():
            out = self.frontend(torch.stack([padded[i] for i in indices]))
            for j, index in enumerate(indices):
                specs[index] = out[j]
        frames = torch.tensor([s.shape[1] for s in specs])
        max_frames = int(frames.max())
        batch = torch.stack(
            [F.pad(s, (0, max_frames - s.shape[1])) for s in specs]
        )
        return batch, frames.to(batch.device)

    def extra_repr(self):
        """Window settings in ``print(module)``."""
        return (
            f"window={self.window_samples / self.sample_rate:g}s, "
            f"hop={self.hop_samples / self.sample_rate:g}s"
        )

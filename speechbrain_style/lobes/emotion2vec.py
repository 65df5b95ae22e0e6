"""emotion2vec speech encoder (through funasr), with padding handled.

emotion2vec (Ma, Zheng, Ye, Li, Gao, Zhang and Chen, "emotion2vec:
Self-Supervised Pre-Training for Speech Emotion Representation", Findings of
ACL 2024, https://arxiv.org/abs/2312.15185) is a data2vec 2.0 audio model:
a convolutional feature extractor (50 frames per second at 16 kHz), a
convolutional relative positional encoder, a transformer prenet and
transformer blocks with ALiBi biases. The model is funasr's own
``Emotion2vec`` class, built from the folder layouts that ``funasr.AutoModel``
reads (``load_emotion2vec``; hub "ms": ``iic/emotion2vec_base``, hub "hf":
``emotion2vec/emotion2vec_base``, or a local folder):

* ``configuration.json`` whose ``file_path_metas`` name the config and the
  checkpoint, as every ModelScope / Hugging Face release ships:
  ``emotion2vec_base`` (``config.yaml``, ``emotion2vec_base.pt``: a fairseq
  checkpoint, weights under ``"model"``, with the EMA teacher as
  ``"_ema"``), ``emotion2vec_plus_seed/base/large`` (``config.yaml``,
  ``model.pt``, ``tokens.txt``: the emotion labels of its classifier);
* ``config.yaml`` + ``model.pt`` (what ``save_pretrained`` writes).

The weights are loaded strictly: a checkpoint that lacks a parameter of the
encoder, or holds one the encoder does not have, raises an error naming the
keys (``strict=False``: a warning naming them). funasr itself only prints
"miss key in ckpt" and ignores unexpected keys, so a half-loaded model would
train silently. The entries an encoder legitimately does not use are
skipped: the EMA teacher and the decoder of the pre-training
(``EMOTION2VEC_UNUSED_PREFIXES``) and the emotion classifier ``proj`` of the
fine-tuned models (the classifier is not built: retrieval uses the frame
features).

Padding. funasr's ``extract_features`` masks padded frames in the attention
layers, but its convolutional positional encoder
(``model.modality_encoders["AUDIO"].relative_positional_encoder``, built in
``funasr.models.emotion2vec.audio.AudioEncoder``) receives no padding mask,
so the padded frames leak into the positional term of the last ~45 valid
frames (kernel 19, depth 5): a padded utterance then gets a slightly
different embedding than the same utterance alone (cosine 0.995-0.998 on
emotion2vec_base). This lobe replaces that module, on the loaded instance,
by ``MaskedConvPositionalEncoder``: the same sub-modules (same parameter
names, so checkpoints are unchanged) run in the same order, but the padded
frames are set to zero before every convolution, which is exactly what the
utterance alone sees (zero "same" padding), so batched and one-by-one
embeddings agree to float precision. If funasr changes the structure of
that module, loading fails with a RuntimeError rather than silently
mis-masking.

``funasr`` (slow to import) is imported when an encoder is built, not when
this module is imported.

Authors
 * speechbrain-style contributors 2026
"""

import json
import os
import pickle
from collections import OrderedDict
from contextlib import contextmanager, nullcontext

import torch
from speechbrain.utils.logger import get_logger
from torch import nn

from speechbrain_style.lobes.common import FreezableLobe
from speechbrain_style.lobes.loading import load_matching_state_dict

logger = get_logger(__name__)

POOLINGS = ("mean", "max")
HUBS = ("hf", "huggingface", "ms", "modelscope")
FUNASR_MODEL_NAME = "Emotion2vec"
POSITIONAL_ENCODER_PATH = (
    'modality_encoders["AUDIO"].relative_positional_encoder '
    "(funasr.models.emotion2vec.audio.AudioEncoder)"
)
EMOTION2VEC_UNUSED_PREFIXES = (
    "_ema",  # fairseq data2vec 2.0: the EMA teacher, saved in the model dict
    "modality_encoders.AUDIO.decoder.",  # the pre-training decoder
    "proj.",  # emotion classifier of the fine-tuned models (not built here)
)
"""Checkpoint entries that the encoder does not use (skipped, logged)."""
CHECKPOINT_NESTING = ("state_dict", "model_state_dict", "model")
"""Keys under which funasr looks for the weights, in this order."""


def normalize_waveforms(wavs, lengths, eps=1e-5):
    """Layer-normalises each waveform over its valid samples, zeroes padding.

    Equal to ``F.layer_norm(wav, wav.shape)`` (what emotion2vec applies to a
    single utterance) on the first ``lengths[i]`` samples of row ``i``.

    Arguments
    ---------
    wavs : torch.Tensor
        Padded waveforms, shape (batch, time).
    lengths : torch.Tensor
        Number of valid samples per row (int), shape (batch,).
    eps : float
        Added to the variance, as in ``F.layer_norm``.

    Returns
    -------
    torch.Tensor
        Normalised waveforms with zeros in the padding, shape (batch, time).

    Example
    -------
    >>> import torch.nn.functional as F
    >>> wavs = torch.tensor([[1.0, 2.0, 3.0, 0.0], [1.0, 2.0, 3.0, 4.0]])
    >>> out = normalize_waveforms(wavs, torch.tensor([3, 4]))
    >>> torch.allclose(out[0, :3], F.layer_norm(wavs[0, :3], (3,)))
    True
    >>> out[0, 3].item()
    0.0
    """
    valid = torch.arange(wavs.shape[1], device=wavs.device) < lengths.unsqueeze(
        1
    )
    count = lengths.unsqueeze(1).to(wavs.dtype)
    wavs = wavs.masked_fill(~valid, 0.0)
    mean = wavs.sum(dim=1, keepdim=True) / count
    centred = (wavs - mean).masked_fill(~valid, 0.0)
    var = centred.pow(2).sum(dim=1, keepdim=True) / count
    return centred / torch.sqrt(var + eps)


def conv_output_lengths(lengths, conv_layers):
    """Frames produced by an unpadded conv stack from ``lengths`` samples.

    Arguments
    ---------
    lengths : torch.Tensor
        Number of input samples (int), any shape.
    conv_layers : list of tuple
        ``(channels, kernel_size, stride)`` per layer, as in funasr's
        ``feature_encoder_spec``.

    Returns
    -------
    torch.Tensor
        Number of output frames (0 when the input is shorter than the
        receptive field).

    Example
    -------
    >>> spec = [(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2
    >>> conv_output_lengths(torch.tensor([16000, 400, 399]), spec)
    tensor([49,  1,  0])
    """
    lengths = lengths.long()
    for _, kernel_size, stride in conv_layers:
        lengths = torch.div(
            lengths - kernel_size, stride, rounding_mode="floor"
        )
        lengths = (lengths + 1).clamp(min=0)
    return lengths


def _is_conv_block(module):
    return (
        isinstance(module, nn.Sequential)
        and len(module) > 0
        and isinstance(module[0], nn.Conv1d)
    )


class MaskedConvPositionalEncoder(nn.Sequential):
    """funasr's convolutional positional encoder, made padding-aware.

    Holds the very sub-modules of the original ``nn.Sequential`` (same
    names, so ``state_dict`` keys do not change). Inside
    ``with encoder.frame_padding(mask):`` the padded frames (``mask`` True)
    are set to zero before each ``Conv1d`` block; outside it, the module
    behaves exactly like the original.

    Expected structure (funasr 1.x ``AudioEncoder``): ``[TransposeLast,
    Sequential(Conv1d, SamePad, TransposeLast, LayerNorm, TransposeLast,
    GELU) x conv_pos_depth, TransposeLast]``, optionally preceded by a
    ``LayerNorm`` (``conv_pos_pre_ln``) in an outer ``Sequential``.

    Arguments
    ---------
    original : torch.nn.Sequential
        The ``relative_positional_encoder`` of funasr's ``AudioEncoder``.
    expected_depth : int, optional
        Number of conv blocks to expect (``conv_pos_depth``).

    Example
    -------
    >>> class TransposeLast(nn.Module):
    ...     def forward(self, x):
    ...         return x.transpose(-2, -1)
    >>> block = nn.Sequential(nn.Conv1d(4, 4, 3, padding=1), nn.GELU())
    >>> pos = MaskedConvPositionalEncoder(
    ...     nn.Sequential(TransposeLast(), block, TransposeLast())
    ... )
    >>> x = torch.randn(1, 6, 4)
    >>> padded = torch.cat([x, torch.randn(1, 2, 4)], dim=1)
    >>> mask = torch.tensor([[False] * 6 + [True] * 2])
    >>> with pos.frame_padding(mask):
    ...     out = pos(padded)
    >>> torch.allclose(out[:, :6], pos(x), atol=1e-6)
    True
    """

    def __init__(self, original, expected_depth=None):
        if not isinstance(original, nn.Sequential):
            raise RuntimeError(
                f"Expected {POSITIONAL_ENCODER_PATH} to be an nn.Sequential, "
                f"got {type(original).__name__}; this funasr version is not "
                "supported by MaskedConvPositionalEncoder"
            )
        super().__init__(OrderedDict(original.named_children()))
        depth = self._check_structure(self)
        if expected_depth is not None and depth != expected_depth:
            raise RuntimeError(
                f"{POSITIONAL_ENCODER_PATH} has {depth} conv blocks, "
                f"expected conv_pos_depth={expected_depth}"
            )
        self._frame_padding_mask = None

    @staticmethod
    def _check_structure(seq):
        children = list(seq.children())
        if len(children) == 2 and isinstance(children[1], nn.Sequential):
            if _is_conv_block(children[1]) or not isinstance(
                children[0], nn.LayerNorm
            ):
                raise RuntimeError(
                    f"Unexpected structure of {POSITIONAL_ENCODER_PATH}: {seq}"
                )
            return MaskedConvPositionalEncoder._check_structure(children[1])
        names = [type(child).__name__ for child in children]
        blocks = children[1:-1]
        if (
            len(children) < 3
            or names[0] != "TransposeLast"
            or names[-1] != "TransposeLast"
            or not all(_is_conv_block(block) for block in blocks)
        ):
            raise RuntimeError(
                f"Unexpected structure of {POSITIONAL_ENCODER_PATH}: {seq}"
            )
        return len(blocks)

    @contextmanager
    def frame_padding(self, mask):
        """Makes the forward calls in the block mask padded frames.

        Arguments
        ---------
        mask : torch.Tensor or None
            True at padded frames, shape (batch, frames).

        Yields
        ------
        None
        """
        self._frame_padding_mask = mask
        try:
            yield
        finally:
            self._frame_padding_mask = None

    def forward(self, x):
        """Positional term of frame features ``x`` (batch, frames, dim).

        Arguments
        ---------
        x : torch.Tensor
            Frame features, shape (batch, frames, dim).

        Returns
        -------
        torch.Tensor
            Positional term, same shape.
        """
        mask = self._frame_padding_mask
        if mask is None:
            return super().forward(x)
        if mask.shape != x.shape[:2]:
            raise RuntimeError(
                f"frame padding mask of shape {tuple(mask.shape)} does not "
                f"match the frames {tuple(x.shape[:2])}"
            )
        return self._masked_forward(self, x, mask.unsqueeze(1))

    @staticmethod
    def _masked_forward(seq, x, channel_first_mask):
        for child in seq:
            if _is_conv_block(child):
                x = child(x.masked_fill(channel_first_mask, 0.0))
            elif isinstance(child, nn.Sequential):
                x = MaskedConvPositionalEncoder._masked_forward(
                    child, x, channel_first_mask
                )
            else:
                x = child(x)
        return x


class Emotion2VecEncoder(FreezableLobe):
    """Utterance embeddings from emotion2vec, pooled over valid frames.

    Forward: each waveform is layer-normalised over its valid samples (as
    emotion2vec expects), the padding is zeroed, frame features come from
    ``extract_features(x, padding_mask=...)`` (``mask=False``: the
    pre-training masking of emotion2vec is never applied, in training mode
    either), and the frames (50 per second) are pooled over the valid ones.

    Arguments
    ---------
    source : str
        A local folder in a published layout (``configuration.json``, e.g. a
        downloaded ``emotion2vec_base`` or ``emotion2vec_plus_large``) or
        with ``config.yaml`` + ``model.pt`` (written by ``save_pretrained``);
        local folders load with no network. Or a hub id:
        ``emotion2vec/emotion2vec_base`` with ``hub="hf"``,
        ``iic/emotion2vec_base`` with ``hub="ms"``.
    freeze : bool
        If True, parameters get ``requires_grad=False``, the module stays in
        eval mode and the forward runs under ``torch.no_grad()``. If False
        the whole model is fine-tuned (with its dropout / layer-drop in
        training mode).
    pooling : str
        "mean" (masked mean, as the reference systems) or "max" (masked max)
        over frames.
    hub : str
        funasr hub for hub ids: "hf" (Hugging Face) or "ms" (ModelScope).
    freeze_feature_extractor : bool
        If True (and not frozen), the convolutional feature extractor
        (``local_encoder``) is not trained, as is common when fine-tuning
        wav2vec2-like models; it also saves its backward pass.
    masked_positional_conv : bool
        Replace the positional encoder by ``MaskedConvPositionalEncoder`` so
        that padding does not leak (see the module docstring). Only set
        False to reproduce funasr's behaviour.
    strict : bool
        A checkpoint with missing or unexpected weights raises an error
        naming them (True) or loads with a warning naming them (False).

    Example
    -------
    >>> import tempfile
    >>> from tests.tiny_models import build_tiny_emotion2vec
    >>> folder = build_tiny_emotion2vec(tempfile.mkdtemp())
    >>> encoder = Emotion2VecEncoder(folder, freeze=True)
    >>> encoder(torch.randn(2, 8000), torch.tensor([1.0, 0.6])).shape
    torch.Size([2, 128])
    """

    def __init__(
        self,
        source,
        freeze=False,
        pooling="mean",
        hub="hf",
        freeze_feature_extractor=False,
        masked_positional_conv=True,
        strict=True,
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(
                f"pooling must be one of {POOLINGS}, got {pooling!r}"
            )
        if hub not in HUBS:
            raise ValueError(f"hub must be one of {HUBS}, got {hub!r}")
        source = os.fspath(source)
        self.init_kwargs = {
            "source": source,
            "freeze": freeze,
            "pooling": pooling,
            "hub": hub,
            "freeze_feature_extractor": freeze_feature_extractor,
            "masked_positional_conv": masked_positional_conv,
            "strict": strict,
        }
        self.source = source
        self.pooling = pooling
        self.model = load_emotion2vec(source, hub, strict=strict)
        audio = self.model.modality_encoders["AUDIO"]
        self.conv_layers = [tuple(layer) for layer in audio.feature_enc_layers]
        self.num_extra_tokens = int(audio.modality_cfg.num_extra_tokens)
        self.normalize = bool(self.model.cfg.get("normalize", True))
        self.output_size = int(self.model.cfg.get("embed_dim"))
        self.masked_positional_conv = masked_positional_conv
        if masked_positional_conv:
            audio.relative_positional_encoder = MaskedConvPositionalEncoder(
                audio.relative_positional_encoder,
                expected_depth=audio.modality_cfg.conv_pos_depth,
            )
        self.freeze = freeze
        if freeze:
            self._freeze_parameters()
            logger.info("emotion2vec encoder %s is frozen.", source)
        elif freeze_feature_extractor:
            for param in audio.local_encoder.parameters():
                param.requires_grad = False
        self.train(not freeze)

    def forward(self, wavs, lens=None):
        """Computes one embedding per waveform.

        Arguments
        ---------
        wavs : torch.Tensor
            16 kHz waveforms, shape (batch, time).
        lens : torch.Tensor, optional
            Relative lengths in [0, 1], shape (batch,); None means all 1.

        Returns
        -------
        torch.Tensor
            Embeddings, shape (batch, output_size).
        """
        frames, frame_mask = self.frame_features(wavs, lens)
        if self.pooling == "mean":
            keep = (~frame_mask).unsqueeze(-1).to(frames.dtype)
            return (frames * keep).sum(dim=1) / keep.sum(dim=1)
        filled = frames.masked_fill(frame_mask.unsqueeze(-1), float("-inf"))
        return filled.max(dim=1).values

    def frame_features(self, wavs, lens=None):
        """Frame-level features and their padding mask.

        Arguments
        ---------
        wavs : torch.Tensor
            16 kHz waveforms, shape (batch, time).
        lens : torch.Tensor, optional
            Relative lengths in [0, 1], shape (batch,); None means all 1.

        Returns
        -------
        frames : torch.Tensor
            Features, shape (batch, frames, output_size), 50 frames/s.
        frame_mask : torch.Tensor
            True at padded frames, shape (batch, frames).
        """
        if wavs.dim() != 2:
            raise ValueError(
                f"wavs must have shape (batch, time), got {tuple(wavs.shape)}"
            )
        batch, max_samples = wavs.shape
        if lens is None:
            lens = torch.ones(batch, device=wavs.device)
        if lens.shape != (batch,):
            raise ValueError(
                f"lens must have shape ({batch},), got {tuple(lens.shape)}"
            )
        lengths = torch.round(lens.float() * max_samples).long()
        lengths = lengths.clamp(max=max_samples)
        frame_lengths = conv_output_lengths(lengths, self.conv_layers)
        too_short = (frame_lengths < 1).nonzero().flatten().tolist()
        if too_short:
            raise ValueError(
                f"Utterances {too_short} of the batch have "
                f"{lengths[too_short].tolist()} valid samples: emotion2vec "
                "needs at least one frame (400 samples = 25 ms at 16 kHz)"
            )
        num_frames = int(
            conv_output_lengths(torch.tensor([max_samples]), self.conv_layers)
        )
        frame_mask = torch.arange(
            num_frames, device=wavs.device
        ) >= frame_lengths.to(wavs.device).unsqueeze(1)
        sample_mask = torch.arange(
            max_samples, device=wavs.device
        ) >= lengths.to(wavs.device).unsqueeze(1)

        with self._no_grad_if_frozen():
            if self.normalize:
                x = normalize_waveforms(wavs.float(), lengths.to(wavs.device))
            else:
                x = wavs.float().masked_fill(sample_mask, 0.0)
            pos = self.model.modality_encoders["AUDIO"]
            pos = pos.relative_positional_encoder
            padding = (
                pos.frame_padding(frame_mask)
                if isinstance(pos, MaskedConvPositionalEncoder)
                else nullcontext()
            )
            with padding:
                out = self.model.extract_features(
                    x, padding_mask=sample_mask, mask=False
                )
        frames = out["x"]
        if frames.shape[1] != num_frames:
            raise RuntimeError(
                f"emotion2vec returned {frames.shape[1]} frames for "
                f"{max_samples} samples, expected {num_frames}"
            )
        return frames, frame_mask

    def save_pretrained(self, path):
        """Writes ``config.yaml`` + ``model.pt`` (current weights) to ``path``.

        ``Emotion2VecEncoder(path)`` (or ``funasr.AutoModel(model=path)``)
        loads the folder with no network.

        Arguments
        ---------
        path : str
            Output directory (created).

        Returns
        -------
        dict
            Constructor arguments that rebuild this encoder from ``path``.
        """
        save_emotion2vec(self.model, path)
        return dict(self.init_kwargs, source=os.fspath(path))


def save_emotion2vec(model, out_dir):
    """Saves a funasr ``Emotion2vec`` as ``config.yaml`` + ``model.pt``.

    Arguments
    ---------
    model : torch.nn.Module
        funasr's ``Emotion2vec`` (``model.cfg`` holds its ``model_conf``).
    out_dir : str
        Output directory (created).

    Returns
    -------
    str
        ``out_dir``.
    """
    from omegaconf import OmegaConf

    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    conf = OmegaConf.to_container(model.cfg, resolve=True)
    OmegaConf.save(
        OmegaConf.create({"model": FUNASR_MODEL_NAME, "model_conf": conf}),
        os.path.join(out_dir, "config.yaml"),
    )
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save(state, os.path.join(out_dir, "model.pt"))
    return out_dir


def import_funasr():
    """Imports funasr (lazily: it takes seconds) without its console notes.

    funasr prints notices on import (e.g. that ffmpeg is not installed,
    which does not matter here: we pass tensors, never files); they go to
    the debug log instead of standard output.

    Returns
    -------
    tuple
        ``(funasr.AutoModel, funasr.models.emotion2vec.model.Emotion2vec)``
    """
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        from funasr import AutoModel
        from funasr.models.emotion2vec.model import Emotion2vec
    if printed.getvalue().strip():
        logger.debug("funasr: %s", printed.getvalue().strip())
    return AutoModel, Emotion2vec


def find_emotion2vec_files(folder):
    """The config and checkpoint of a local emotion2vec folder.

    Follows ``funasr.download.download_model_from_hub``: a
    ``configuration.json`` with ``file_path_metas`` (``config``,
    ``init_param``, paths relative to the folder) comes first, as in the
    published repositories; otherwise ``config.yaml`` + ``model.pt``.

    Arguments
    ---------
    folder : str
        The model folder.

    Returns
    -------
    tuple of str
        ``(config_path, checkpoint_path)``.

    Example
    -------
    >>> folder = getfixture("tmp_path")
    >>> for name in ("config.yaml", "emotion2vec_base.pt"):
    ...     _ = (folder / name).write_text("")
    >>> metas = {"init_param": "emotion2vec_base.pt", "config": "config.yaml"}
    >>> _ = (folder / "configuration.json").write_text(
    ...     json.dumps({"file_path_metas": metas}))
    >>> [os.path.basename(p) for p in find_emotion2vec_files(str(folder))]
    ['config.yaml', 'emotion2vec_base.pt']
    """
    folder = os.fspath(folder)
    found = sorted(os.listdir(folder))
    configuration = os.path.join(folder, "configuration.json")
    if os.path.isfile(configuration):
        with open(configuration, encoding="utf-8") as fin:
            try:
                metas = json.load(fin).get("file_path_metas") or {}
            except (json.JSONDecodeError, AttributeError) as error:
                raise ValueError(
                    f"{configuration} is not a valid configuration.json: "
                    f"{error}"
                ) from error
        paths = []
        for key, default in (("config", "config.yaml"), ("init_param", None)):
            name = metas.get(key, default)
            if name is None and os.path.isfile(
                os.path.join(folder, "model.pt")
            ):
                name = "model.pt"
            if not isinstance(name, str):
                raise ValueError(
                    f"{configuration}: file_path_metas.{key} names no file "
                    f"(got {name!r}); the folder holds {found}"
                )
            path = os.path.join(folder, name)
            if not os.path.isfile(path):
                raise FileNotFoundError(
                    f"{configuration} names {key}={name!r}, but {path} does "
                    f"not exist (the folder holds {found}); is the download "
                    "complete (git lfs)?"
                )
            paths.append(path)
        return tuple(paths)
    config = os.path.join(folder, "config.yaml")
    checkpoint = os.path.join(folder, "model.pt")
    if os.path.isfile(config) and os.path.isfile(checkpoint):
        return config, checkpoint
    raise ValueError(
        f"source {folder!r} is not an emotion2vec folder: expected a "
        "configuration.json naming the config and checkpoint (the "
        "ModelScope / Hugging Face layout) or config.yaml and model.pt; "
        f"found {found}"
    )


def read_emotion2vec_checkpoint(path):
    """The flat weight dict of an emotion2vec checkpoint file.

    Unwraps the nestings funasr accepts (``state_dict``,
    ``model_state_dict``, then ``model``, as in a fairseq checkpoint) and
    the ``module.`` prefix of DDP-saved weights. The file is read with
    ``weights_only=True``; a checkpoint that also pickles Python objects
    (fairseq saves its ``cfg``, ``args`` and training state) is read again
    with full unpickling, with a warning: only use checkpoints you trust.

    Arguments
    ---------
    path : str
        The checkpoint file.

    Returns
    -------
    dict
        Entry name -> tensor (or another object, e.g. ``_ema``).

    Example
    -------
    >>> path = getfixture("tmp_path") / "model.pt"
    >>> torch.save({"model": {"module.blocks.0.w": torch.ones(1)}}, path)
    >>> list(read_emotion2vec_checkpoint(path))
    ['blocks.0.w']
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        logger.warning(
            f"{path} holds Python objects besides tensors ({error}); reading "
            "it with full unpickling (weights_only=False), as funasr does. "
            "Only load checkpoints you trust."
        )
        state = torch.load(path, map_location="cpu", weights_only=False)
    for key in CHECKPOINT_NESTING:
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise ValueError(
            f"{path} holds a {type(state).__name__}, not a state dict"
        )
    return {
        key[len("module.") :] if key.startswith("module.") else key: value
        for key, value in state.items()
    }


def download_emotion2vec(source, hub="hf"):
    """Downloads a hub model folder (once) with funasr's hub helpers.

    Arguments
    ---------
    source : str
        Hub id (or funasr alias, e.g. ``emotion2vec_plus_base``).
    hub : str
        "hf" / "huggingface" or "ms" / "modelscope".

    Returns
    -------
    str
        The local folder.
    """
    from funasr.download.download_model_from_hub import (
        get_or_download_model_dir,
        get_or_download_model_dir_hf,
    )
    from funasr.download.name_maps_from_hub import name_maps_hf, name_maps_ms

    try:
        if hub in ("hf", "huggingface"):
            return get_or_download_model_dir_hf(
                name_maps_hf.get(source, source)
            )
        return get_or_download_model_dir(
            name_maps_ms.get(source, source), "master", check_latest=False
        )
    except Exception as error:
        raise OSError(
            f"Could not fetch emotion2vec model {source!r} from hub {hub!r} "
            f"({type(error).__name__}: {error}); pass a local folder as "
            "source to load with no network"
        ) from error


def load_emotion2vec(source, hub="hf", strict=True):
    """Builds funasr's ``Emotion2vec`` from a model folder and loads it.

    The folder layout is read as ``funasr.AutoModel`` reads it
    (``find_emotion2vec_files``), the model is funasr's class built from the
    config's ``model_conf`` (without the pre-training decoder and the
    emotion classifier, which feature extraction does not use), and the
    weights are loaded with ``load_matching_state_dict``: every parameter
    of the encoder must be in the checkpoint, and every checkpoint entry
    must belong to the encoder or to ``EMOTION2VEC_UNUSED_PREFIXES``.
    The global random state is left untouched.

    Arguments
    ---------
    source : str
        Local folder (see ``find_emotion2vec_files``) or hub id.
    hub : str
        "hf" or "ms" (used for hub ids).
    strict : bool
        Raise on missing / unexpected weights (True), or warn (False).

    Returns
    -------
    torch.nn.Module
        The ``Emotion2vec`` model, on CPU, in eval mode.
    """
    from omegaconf import OmegaConf

    _, Emotion2vec = import_funasr()
    source = os.fspath(source)
    if os.path.isdir(source):
        folder = source
    elif os.path.exists(source):
        raise ValueError(
            f"source {source!r} is a file; expected an emotion2vec folder "
            "(configuration.json, or config.yaml and model.pt) or a hub id"
        )
    else:
        folder = download_emotion2vec(source, hub)
    config_path, checkpoint = find_emotion2vec_files(folder)
    config = OmegaConf.to_container(OmegaConf.load(config_path), resolve=True)
    model_name = config.get("model") if isinstance(config, dict) else None
    if model_name != FUNASR_MODEL_NAME:
        raise TypeError(
            f"{config_path} describes a funasr {model_name!r} model, not an "
            f"{FUNASR_MODEL_NAME} model"
        )
    if not isinstance(config.get("model_conf"), dict):
        raise ValueError(f"{config_path} has no model_conf section")
    with torch.random.fork_rng(devices=[]):
        model = Emotion2vec(model_conf=config["model_conf"], vocab_size=-1)
    audio = model.modality_encoders["AUDIO"]
    if getattr(audio, "decoder", None) is not None:
        audio.remove_pretraining_modules()
    load_matching_state_dict(
        model,
        read_emotion2vec_checkpoint(checkpoint),
        checkpoint,
        strict=strict,
        ignore_unexpected=EMOTION2VEC_UNUSED_PREFIXES,
    )
    model.eval()
    logger.info("Loaded emotion2vec from %s", checkpoint)
    return model

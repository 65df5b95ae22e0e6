"""ECAPA-TDNN speech encoder on filterbank features.

The lobe chains SpeechBrain's ``Fbank`` features, sentence-level mean
normalisation (``InputNormalization(norm_type="sentence", std_norm=False)``)
and ``ECAPA_TDNN`` (Desplanques, Thienpondt and Demuynck, "ECAPA-TDNN:
Emphasized Channel Attention, Propagation and Aggregation in TDNN Based
Speaker Verification", Interspeech 2020, https://arxiv.org/abs/2005.07143),
exactly as the ``speechbrain/spkrec-ecapa-voxceleb`` model does. The
sub-modules keep that model's names (``compute_features``,
``mean_var_norm``, ``embedding_model``), so its ``embedding_model.ckpt``
loads into ``self.embedding_model`` with ``load_state_dict``.

Authors
 * speechbrain-style contributors 2026
"""

import torch
from speechbrain.lobes.features import Fbank
from speechbrain.lobes.models.ECAPA_TDNN import ECAPA_TDNN
from speechbrain.processing.features import (
    InputNormalization,
    make_padding_mask,
)
from speechbrain.utils.logger import get_logger

from speechbrain_style.lobes.common import FreezableLobe
from speechbrain_style.lobes.loading import load_matching_state_dict

logger = get_logger(__name__)


class ECAPASpeechEncoder(FreezableLobe):
    """Waveform -> Fbank -> sentence mean normalisation -> ECAPA-TDNN.

    Relative lengths are passed to the normalisation (statistics over the
    valid frames only), to the SE blocks and to the attentive statistics
    pooling of ECAPA-TDNN, and the padded feature frames are set to zero
    after normalisation (the valid frames follow SpeechBrain's convention,
    ``make_padding_mask``). A padded batch then gives embeddings close to
    those of each utterance alone, but not identical: the TDNN convolutions
    of SpeechBrain pad "same" with reflection, so the last few valid frames
    of a padded utterance see zeros where the utterance alone sees reflected
    frames; and in training mode the batch-norm statistics include padded
    frames (as in every SpeechBrain ECAPA recipe). Measured in eval mode on
    1-2 s utterances padded to 2 s (random weights, several sizes):
    ``1 - cosine`` between batched and one-by-one embeddings is 1e-5 to 6e-5
    (relative L2 error about 1%); without zeroing the padded frames it is
    2e-2 to 8e-2 (relative error 25-80%).

    Arguments
    ---------
    sample_rate : int
        Sampling rate of the input waveforms.
    n_mels : int
        Number of Mel filters (input size of ECAPA-TDNN, times 3 with deltas).
    channels : sequence of int
        Output channels of the TDNN / SE-Res2Net blocks and of the
        multi-layer feature aggregation (last entry).
    kernel_sizes : sequence of int
        Kernel size of each block.
    dilations : sequence of int
        Dilation of each block.
    attention_channels : int
        Channels of the attentive statistics pooling.
    lin_neurons : int
        Size of the output embedding.
    left_frames : int
        Context frames on the left of each Fbank frame (0: no context).
    right_frames : int
        Context frames on the right of each Fbank frame (0: no context).
    deltas : bool
        Whether to append delta and delta-delta features.
    freeze : bool
        If True, parameters get ``requires_grad=False``, the module stays in
        eval mode and the forward runs under ``torch.no_grad()``.
    pretrained_source : str, optional
        A SpeechBrain speaker model (hub id such as
        ``speechbrain/spkrec-ecapa-voxceleb``, or a local folder of that
        layout) whose ``embedding_model.ckpt`` initialises the ECAPA-TDNN
        (see ``load_pretrained``).
    savedir : str, optional
        Where the Pretrainer collects fetched files.
    strict : bool
        A pretrained checkpoint with missing or unexpected weights raises an
        error naming them (True) or loads with a warning naming them
        (False). SpeechBrain's own parameter transfer only warns.

    Example
    -------
    >>> encoder = ECAPASpeechEncoder(
    ...     n_mels=20, channels=(16, 16, 16, 16, 48), lin_neurons=8
    ... )
    >>> wavs = torch.randn(2, 8000)
    >>> encoder(wavs, torch.tensor([1.0, 0.7])).shape
    torch.Size([2, 8])
    """

    def __init__(
        self,
        sample_rate=16000,
        n_mels=80,
        channels=(512, 512, 512, 512, 1536),
        kernel_sizes=(5, 3, 3, 3, 1),
        dilations=(1, 2, 3, 4, 1),
        attention_channels=128,
        lin_neurons=192,
        left_frames=0,
        right_frames=0,
        deltas=False,
        freeze=False,
        pretrained_source=None,
        savedir=None,
        strict=True,
    ):
        super().__init__()
        channels, kernel_sizes, dilations = (
            list(channels),
            list(kernel_sizes),
            list(dilations),
        )
        if not len(channels) == len(kernel_sizes) == len(dilations):
            raise ValueError(
                "channels, kernel_sizes and dilations must have the same "
                f"length, got {len(channels)}, {len(kernel_sizes)} and "
                f"{len(dilations)}"
            )
        if len(channels) < 3:
            raise ValueError(
                "channels needs at least 3 entries (TDNN, SE-Res2Net, MFA), "
                f"got {channels}"
            )
        self.init_kwargs = {
            "sample_rate": sample_rate,
            "n_mels": n_mels,
            "channels": channels,
            "kernel_sizes": kernel_sizes,
            "dilations": dilations,
            "attention_channels": attention_channels,
            "lin_neurons": lin_neurons,
            "left_frames": left_frames,
            "right_frames": right_frames,
            "deltas": deltas,
            "freeze": freeze,
            # Pretrained weights end up in the module's state dict (and so in
            # every checkpoint): an exported model must not fetch them again.
            "pretrained_source": None,
            "strict": strict,
        }
        context = left_frames > 0 or right_frames > 0
        self.compute_features = Fbank(
            sample_rate=sample_rate,
            n_mels=n_mels,
            deltas=deltas,
            context=context,
            left_frames=left_frames,
            right_frames=right_frames,
        )
        self.mean_var_norm = InputNormalization(
            norm_type="sentence", std_norm=False
        )
        input_size = n_mels * (3 if deltas else 1)
        input_size *= 1 + left_frames + right_frames
        self.embedding_model = ECAPA_TDNN(
            input_size,
            lin_neurons=lin_neurons,
            channels=channels,
            kernel_sizes=kernel_sizes,
            dilations=dilations,
            attention_channels=attention_channels,
        )
        self.output_size = lin_neurons
        if pretrained_source is not None:
            self.load_pretrained(pretrained_source, savedir, strict=strict)
        self.freeze = freeze
        if freeze:
            self._freeze_parameters()

    def load_pretrained(self, source, savedir=None, strict=True):
        """Loads a SpeechBrain speaker model's ``embedding_model.ckpt``.

        Uses SpeechBrain's ``Pretrainer`` to fetch the file, so ``source``
        is a hub id such as ``speechbrain/spkrec-ecapa-voxceleb`` (network
        needed once) or a local folder with that layout (offline:
        ``hyperparams.yaml``, ``embedding_model.ckpt``,
        ``mean_var_norm_emb.ckpt``, ``classifier.ckpt``,
        ``label_encoder.txt``; only the embedding model is used). The sizes
        of this lobe must match the checkpoint (for spkrec-ecapa-voxceleb:
        n_mels 80, channels [1024, 1024, 1024, 1024, 3072], lin_neurons
        192; see ``hparams/speech/ecapa_voxceleb.yaml``). The weights are
        loaded with ``load_matching_state_dict``: every key must match.

        Arguments
        ---------
        source : str
            Hub id or local folder.
        savedir : str, optional
            Where fetched files are collected (default: a temporary folder
            for hub ids; the folder itself for local sources).
        strict : bool
            Raise on missing / unexpected weights (True), or warn (False).
        """
        import os
        import tempfile

        from speechbrain.utils.parameter_transfer import Pretrainer

        local = os.path.isdir(source) or os.path.isabs(source)
        local = local or source.startswith(".")
        ckpt = os.path.join(source, "embedding_model.ckpt")
        if local and not os.path.isfile(ckpt):
            raise FileNotFoundError(
                f"{ckpt} does not exist: pretrained_source must be a hub id "
                "or a folder with a SpeechBrain speaker model's "
                "embedding_model.ckpt"
            )
        if savedir is None:
            savedir = source if local else tempfile.mkdtemp()
        pretrainer = Pretrainer(
            collect_in=savedir,
            loadables={"embedding_model": self.embedding_model},
            paths={"embedding_model": f"{source}/embedding_model.ckpt"},
        )
        path = pretrainer.collect_files()["embedding_model"]
        state = torch.load(path, map_location="cpu", weights_only=True)
        load_matching_state_dict(
            self.embedding_model, state, str(path), strict=strict
        )
        logger.info("Loaded pretrained ECAPA-TDNN weights from %s", source)

    def forward(self, wavs, lens=None):
        """Computes one embedding per waveform.

        Arguments
        ---------
        wavs : torch.Tensor
            Waveforms, shape (batch, time).
        lens : torch.Tensor, optional
            Relative lengths in [0, 1], shape (batch,); None means all 1.

        Returns
        -------
        torch.Tensor
            Embeddings, shape (batch, lin_neurons).
        """
        if wavs.dim() != 2:
            raise ValueError(
                f"wavs must have shape (batch, time), got {tuple(wavs.shape)}"
            )
        if lens is None:
            lens = torch.ones(wavs.shape[0], device=wavs.device)
        if lens.shape != (wavs.shape[0],):
            raise ValueError(
                f"lens must have shape ({wavs.shape[0]},), got "
                f"{tuple(lens.shape)}"
            )
        with self._no_grad_if_frozen():
            feats = self.compute_features(wavs)
            feats = self.mean_var_norm(feats, lens)
            # Same valid frames as the normalisation and ECAPA's pooling.
            valid = make_padding_mask(feats, lens)
            feats = feats.masked_fill(~valid, 0.0)
            embeddings = self.embedding_model(feats, lens)
        return embeddings.squeeze(1)

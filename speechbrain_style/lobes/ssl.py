"""Self-supervised speech encoders (wav2vec 2.0, WavLM) as utterance lobes.

Wraps SpeechBrain's Hugging Face integrations
(``speechbrain.integrations.huggingface.wav2vec2.Wav2Vec2`` and
``...wavlm.WavLM``: Baevski et al., "wav2vec 2.0", NeurIPS 2020,
https://arxiv.org/abs/2006.11477; Chen et al., "WavLM", IEEE JSTSP 2022,
https://arxiv.org/abs/2110.13900) and pools the frame features of the last
layer into one vector per utterance with a padding-aware mean, so a
padded batch gives the embeddings of each utterance alone (up to the
model's own padding handling: the convolutional front end of these models
sees the zeros of padding, so batched and one-by-one embeddings are close
(cosine > 0.98 on the tiny test models), not equal). An alternative to
ECAPA-TDNN and emotion2vec in the recipes' yaml (``hparams/speech/wavlm.yaml``,
``hparams/speech/wav2vec2.yaml``).

Authors
 * speechbrain-style contributors 2026
"""

import os

import torch

from speechbrain_style.lobes.common import FreezableLobe

MODELS = {
    "wav2vec2": ("speechbrain.integrations.huggingface.wav2vec2", "Wav2Vec2"),
    "wavlm": ("speechbrain.integrations.huggingface.wavlm", "WavLM"),
}


class SSLSpeechEncoder(FreezableLobe):
    """wav2vec 2.0 / WavLM frame features, mean-pooled over valid frames.

    Arguments
    ---------
    source : str
        Hub id (e.g. ``microsoft/wavlm-base-plus``) or a local folder written
        by ``save_pretrained`` (loads offline).
    model : str
        "wav2vec2" or "wavlm".
    freeze : bool
        Frozen encoder (no gradient, eval mode).
    freeze_feature_extractor : bool
        When fine-tuning, keep the convolutional feature extractor frozen.
    save_path : str, optional
        Cache folder for hub downloads (default: the Hugging Face cache).

    Example
    -------
    >>> import tempfile, transformers
    >>> cfg = transformers.WavLMConfig(hidden_size=16, num_hidden_layers=1,
    ...     num_attention_heads=2, intermediate_size=32, conv_dim=(16, 16),
    ...     conv_kernel=(10, 3), conv_stride=(5, 2),
    ...     num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
    >>> folder = tempfile.mkdtemp()
    >>> transformers.WavLMModel(cfg).save_pretrained(folder)
    >>> _ = transformers.Wav2Vec2FeatureExtractor().save_pretrained(folder)
    >>> encoder = SSLSpeechEncoder(folder, model="wavlm")
    >>> encoder(torch.randn(2, 4000), torch.tensor([1.0, 0.5])).shape
    torch.Size([2, 16])
    """

    def __init__(
        self,
        source,
        model="wavlm",
        freeze=True,
        freeze_feature_extractor=True,
        save_path=None,
    ):
        super().__init__()
        if model not in MODELS:
            raise ValueError(
                f"model must be one of {list(MODELS)}, got {model!r}"
            )
        self.init_kwargs = {
            "source": source,
            "model": model,
            "freeze": freeze,
            "freeze_feature_extractor": freeze_feature_extractor,
            "save_path": None,
        }
        import importlib

        if save_path is None:
            from huggingface_hub import constants

            save_path = constants.HF_HUB_CACHE
        module_name, class_name = MODELS[model]
        cls = getattr(importlib.import_module(module_name), class_name)
        self.ssl = cls(
            source,
            save_path=save_path,
            freeze=freeze,
            freeze_feature_extractor=freeze_feature_extractor,
        )
        self.output_size = int(self.ssl.model.config.hidden_size)
        self.freeze = freeze
        if freeze:
            self._freeze_parameters()

    def forward(self, wavs, lens=None):
        """Utterance embeddings.

        Arguments
        ---------
        wavs : torch.Tensor
            (B, T) waveforms at 16 kHz.
        lens : torch.Tensor, optional
            (B,) relative lengths.

        Returns
        -------
        torch.Tensor
            (B, output_size) mean of the last layer over the valid frames.
        """
        if wavs.dim() != 2:
            raise ValueError(
                f"wavs must be (batch, time), got {tuple(wavs.shape)}"
            )
        if lens is None:
            lens = torch.ones(wavs.shape[0], device=wavs.device)
        with self._no_grad_if_frozen():
            frames = self.ssl(wavs, lens)  # (B, F, C)
            n_frames = frames.shape[1]
            valid = torch.clamp(torch.round(lens * n_frames), min=1).long()
            mask = torch.arange(n_frames, device=frames.device)[None, :]
            mask = (mask < valid[:, None]).unsqueeze(-1).to(frames.dtype)
            return (frames * mask).sum(1) / mask.sum(1)

    def save_pretrained(self, path):
        """Writes the model (and its feature extractor config) to ``path``."""
        os.makedirs(path, exist_ok=True)
        self.ssl.model.save_pretrained(path)
        extractor = getattr(self.ssl, "feature_extractor", None)
        if extractor is not None:
            extractor.save_pretrained(path)
        return dict(self.init_kwargs, source=path)

"""Inference interface: embed speech and descriptions, search, describe.

``StyleRetriever`` is a SpeechBrain ``Pretrained`` interface over an
inference folder written at the end of training (see
``speechbrain_style.export``)::

    from speechbrain_style.inference import StyleRetriever
    model = StyleRetriever.from_hparams(source="results/.../inference")
    text = model.encode_text(["A woman whispering slowly."])
    speech = model.encode_files(["a.wav", "b.wav"])
    scores = text @ speech.T          # cosine similarities

Authors
 * speechbrain-style contributors 2026
"""

import os

import torch
from speechbrain.inference.interfaces import Pretrained
from speechbrain.utils.logger import get_logger

from speechbrain_style.audio import load_audio
from speechbrain_style.export import DESCRIPTIONS_FILE, model_fingerprint

logger = get_logger(__name__)

AUTO_DEVICES = (None, "", "auto")


def resolve_device(device=None, environ=None, cuda_device_count=None):
    """The torch device a process should use.

    * An explicit ``device`` ("cpu", "cuda:1", ...) is returned as given.
    * Otherwise (None, "" or "auto"), with CUDA devices: ``cuda:<LOCAL_RANK>``
      when ``LOCAL_RANK`` is set (``torchrun`` starts one process per GPU
      of a node), else ``cuda:0``; without CUDA: "cpu".

    Arguments
    ---------
    device : str, optional
        The requested device (e.g. the ``--device`` flag).
    environ : mapping, optional
        Environment variables (default ``os.environ``).
    cuda_device_count : int, optional
        Number of visible CUDA devices (default
        ``torch.cuda.device_count()`` when CUDA is available, else 0).

    Returns
    -------
    str

    Example
    -------
    >>> resolve_device("cpu", {"LOCAL_RANK": "1"}, cuda_device_count=2)
    'cpu'
    >>> resolve_device(None, {"LOCAL_RANK": "1"}, cuda_device_count=2)
    'cuda:1'
    >>> resolve_device(None, {}, cuda_device_count=0)
    'cpu'
    """
    if device not in AUTO_DEVICES:
        return str(device)
    environ = os.environ if environ is None else environ
    if cuda_device_count is None:
        cuda_device_count = (
            torch.cuda.device_count() if torch.cuda.is_available() else 0
        )
    if cuda_device_count <= 0:
        return "cpu"
    local_rank = environ.get("LOCAL_RANK")
    if local_rank in (None, ""):
        return "cuda:0"
    try:
        local_rank = int(local_rank)
    except ValueError as err:
        raise ValueError(
            f"LOCAL_RANK must be an integer, got {local_rank!r}"
        ) from err
    if not 0 <= local_rank < cuda_device_count:
        raise ValueError(
            f"LOCAL_RANK={local_rank} but only {cuda_device_count} CUDA "
            "device(s) are visible: start at most one process per GPU, or "
            "give --device explicitly"
        )
    return f"cuda:{local_rank}"


class StyleRetriever(Pretrained):
    """Speech-text retrieval model for inference.

    Arguments
    ---------
    *args, **kwargs
        See ``speechbrain.inference.interfaces.Pretrained``; build it with
        ``StyleRetriever.from_hparams(source=folder)``.
    """

    MODULES_NEEDED = [
        "speech_encoder",
        "speech_head",
        "text_encoder",
        "text_head",
    ]

    @classmethod
    def from_hparams(cls, source, hparams_file="hyperparams.yaml", **kwargs):
        """Loads an inference folder (see the module docstring).

        Arguments
        ---------
        source : str
            A local inference folder.
        hparams_file : str
            The yaml file in it.
        **kwargs : dict
            Forwarded to ``Pretrained.from_hparams`` (e.g. ``run_opts``).
            ``run_opts["device"]`` defaults to :func:`resolve_device`:
            ``cuda:<LOCAL_RANK>`` (or ``cuda:0``) when CUDA is available,
            else "cpu".

        Returns
        -------
        StyleRetriever
        """
        if not os.path.isdir(source):
            raise FileNotFoundError(
                f"Model folder '{source}' does not exist (expected the "
                "inference folder written at the end of training)"
            )
        source = os.path.abspath(source)
        if not os.path.isfile(os.path.join(source, hparams_file)):
            raise FileNotFoundError(
                f"'{source}' has no {hparams_file}: not an inference folder"
            )
        overrides = dict(kwargs.pop("overrides", None) or {})
        overrides.setdefault("model_dir", source)
        kwargs.setdefault("savedir", source)
        run_opts = dict(kwargs.pop("run_opts", None) or {})
        run_opts["device"] = resolve_device(run_opts.get("device"))
        kwargs["run_opts"] = run_opts
        model = super().from_hparams(
            source=source,
            hparams_file=hparams_file,
            overrides=overrides,
            **kwargs,
        )
        model.model_dir = source
        return model

    @property
    def sample_rate(self):
        """Sample rate the speech encoder expects."""
        return int(getattr(self.hparams, "sample_rate", 16000))

    @property
    def fingerprint(self):
        """Hash of the model folder (recorded in indexes)."""
        if not hasattr(self, "_fingerprint"):
            self._fingerprint = model_fingerprint(self.model_dir)
        return self._fingerprint

    @torch.no_grad()
    def encode_text(self, texts, batch_size=64):
        """Embeds descriptions.

        Arguments
        ---------
        texts : list of str
            Descriptions (non-empty strings).
        batch_size : int
            Texts per forward pass.

        Returns
        -------
        torch.Tensor
            (N, D) L2-normalised embeddings on the CPU.
        """
        if isinstance(texts, str):
            texts = [texts]
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(
                    f"Query {i} is empty: describe the speaking style, e.g. "
                    "'a woman whispering slowly'"
                )
        out = []
        for start in range(0, len(texts), batch_size):
            chunk = [t.strip() for t in texts[start : start + batch_size]]
            with self.inference_ctx:
                feats = self.mods.text_encoder(chunk)
                out.append(self.mods.text_head(feats)[-1].float().cpu())
        return torch.cat(out)

    @torch.no_grad()
    def encode_audio(self, wavs, wav_lens=None):
        """Embeds a batch of waveforms at ``self.sample_rate``.

        Arguments
        ---------
        wavs : torch.Tensor
            (B, T) or (T,) waveforms.
        wav_lens : torch.Tensor, optional
            (B,) relative lengths (1.0 = no padding).

        Returns
        -------
        torch.Tensor
            (B, D) L2-normalised embeddings on the CPU.
        """
        if wavs.dim() == 1:
            wavs = wavs.unsqueeze(0)
        if wav_lens is None:
            wav_lens = torch.ones(wavs.shape[0])
        wavs = wavs.float().to(self.device)
        wav_lens = wav_lens.float().to(self.device)
        with self.inference_ctx:
            feats = self.mods.speech_encoder(wavs, wav_lens)
            emb = self.mods.speech_head(feats)[-1]
        return emb.float().cpu()

    def encode_batch(self, wavs, wav_lens=None):
        """Alias of ``encode_audio`` (the name SpeechBrain encoders use)."""
        return self.encode_audio(wavs, wav_lens)

    @torch.no_grad()
    def encode_files(self, paths, batch_size=16, progress=False):
        """Embeds audio files (any sample rate; stereo is downmixed).

        Files are batched by length so that batches carry little padding;
        the output keeps the order of ``paths``.

        Arguments
        ---------
        paths : list of str
            Audio files.
        batch_size : int
            Files per forward pass.
        progress : bool
            Show a progress bar.

        Returns
        -------
        torch.Tensor
            (N, D) L2-normalised embeddings on the CPU.
        """
        if isinstance(paths, str):
            paths = [paths]
        signals = [load_audio(p, self.sample_rate) for p in paths]
        order = sorted(range(len(signals)), key=lambda i: len(signals[i]))
        out = [None] * len(signals)
        batches = [
            order[i : i + batch_size] for i in range(0, len(order), batch_size)
        ]
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, desc="embedding", unit="batch")
        for idx in batches:
            wavs, lens = pad_signals([signals[i] for i in idx])
            emb = self.encode_audio(wavs, lens)
            for row, i in enumerate(idx):
                out[i] = emb[row]
        return torch.stack(out)

    def description_bank(self):
        """The descriptions saved with the model (``descriptions.txt``)."""
        path = os.path.join(self.model_dir, DESCRIPTIONS_FILE)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"{path} does not exist: pass a description bank explicitly"
            )
        with open(path, encoding="utf-8") as fin:
            return [line.strip() for line in fin if line.strip()]

    def describe_file(self, path, descriptions=None, k=5):
        """Ranks descriptions for one recording (speech -> text).

        Arguments
        ---------
        path : str
            Audio file.
        descriptions : list of str, optional
            Candidate descriptions (default: the model's bank).
        k : int
            How many to return.

        Returns
        -------
        list of (str, float)
            The ``k`` best descriptions and their cosine similarity.
        """
        if descriptions is None:
            descriptions = self.description_bank()
        speech = self.encode_files([path])
        text = self.encode_text(descriptions)
        scores = (speech @ text.T)[0]
        top = torch.topk(scores, min(k, len(descriptions)))
        return [
            (descriptions[i], float(s))
            for s, i in zip(
                top.values.tolist(), top.indices.tolist(), strict=True
            )
        ]

    def forward(self, wavs, wav_lens=None):
        """Speech embeddings of a batch (see ``encode_audio``)."""
        return self.encode_audio(wavs, wav_lens)


def pad_signals(signals):
    """Right-pads 1-D signals into a batch with relative lengths.

    Arguments
    ---------
    signals : list of torch.Tensor
        1-D waveforms.

    Returns
    -------
    wavs : torch.Tensor
        (B, T_max) zero-padded batch.
    lens : torch.Tensor
        (B,) relative lengths.

    Example
    -------
    >>> wavs, lens = pad_signals([torch.ones(2), torch.ones(4)])
    >>> wavs.shape, lens.tolist()
    (torch.Size([2, 4]), [0.5, 1.0])
    """
    max_len = max(len(s) for s in signals)
    wavs = torch.zeros(len(signals), max_len)
    for i, sig in enumerate(signals):
        wavs[i, : len(sig)] = sig
    lens = torch.tensor([len(s) / max_len for s in signals])
    return wavs, lens

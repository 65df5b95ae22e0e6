"""Inference interface: embed speech and descriptions, search, describe.

``StyleRetriever`` is a SpeechBrain ``Pretrained`` interface over an
inference folder written at the end of training (see
``speechbrain_style.inference.export``)::

    from speechbrain_style.inference.retriever import StyleRetriever
    model = StyleRetriever.from_hparams(source="results/.../inference")
    text = model.encode_text(["A woman whispering slowly."])
    speech = model.encode_files(["a.wav", "b.wav"])
    scores = text @ speech.T          # cosine similarities
    probs = model.classify(["a.wav"], ["happy", "sad", "angry"])  # zero-shot

Recordings longer than ``window_seconds`` (the model's, default 10 s) are
embedded in fixed windows pooled by their length-weighted mean, read from
disk window by window (``speechbrain_style.dataio.windows``): the same file
always gives the same embedding, whatever its length.

``precision="int8"`` or ``"bf16"`` (``from_hparams`` or
:meth:`StyleRetriever.set_precision`) runs every encoder at a cheaper
arithmetic (see :mod:`speechbrain_style.inference.precision`); the default
``"fp32"`` runs the model as trained.

Authors
 * speechbrain-style contributors 2026
"""

import os

import torch
from speechbrain.inference.interfaces import Pretrained
from speechbrain.utils.logger import get_logger

from speechbrain_style.dataio.audio import (
    get_duration,
    load_audio,
    pad_signals,
)
from speechbrain_style.dataio.windows import (
    DEFAULT_WINDOW_SECONDS,
    embed_file_in_windows,
    embed_in_windows,
    seconds_to_samples,
)
from speechbrain_style.inference.export import (
    DESCRIPTIONS_FILE,
    model_fingerprint,
)
from speechbrain_style.inference.precision import (
    DEFAULT_PRECISION,
    check_precision,
    precision_context,
    prepare_for_precision,
)
from speechbrain_style.lobes.heads import select_level
from speechbrain_style.prompts.templates import (
    bank_prompts,
    default_templates,
    fill_templates,
    is_bare_label,
)

DEFAULT_LOGIT_SCALE = 1.0 / 0.07
"""Logit scale of models exported without one (CLIP's initial 1 / 0.07)."""


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

    Speech and text are embedded with the heads' level
    ``retrieval_level``, the level the model was validated on, recorded in
    the folder's ``hyperparams.yaml`` by
    ``StyleRetrievalBrain.export_inference``. Folders written before that
    key existed (version 0.1) searched the heads' last level, and still
    do.

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
    def from_hparams(
        cls,
        source,
        hparams_file="hyperparams.yaml",
        precision=DEFAULT_PRECISION,
        **kwargs,
    ):
        """Loads an inference folder (see the module docstring).

        Arguments
        ---------
        source : str
            A local inference folder.
        hparams_file : str
            The yaml file in it.
        precision : str
            Inference arithmetic, ``"fp32"`` (default), ``"bf16"`` or
            ``"int8"``: see :meth:`set_precision`.
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
        model.set_precision(precision)
        window = getattr(model.hparams, "window_seconds", None)
        model.window_seconds = float(window or DEFAULT_WINDOW_SECONDS)
        hop = getattr(model.hparams, "hop_seconds", None)
        model.hop_seconds = None if hop is None else float(hop)
        return model

    window_seconds = DEFAULT_WINDOW_SECONDS
    """Recordings longer than this are embedded in pooled windows (None or
    0: always whole); set from the model folder's ``window_seconds``."""

    hop_seconds = None
    """Hop between windows (None: the window); from ``hop_seconds``."""

    @property
    def logit_scale(self):
        """``1 / temperature`` of the trained model (for probabilities)."""
        value = getattr(self.hparams, "logit_scale", None)
        return float(value) if value else DEFAULT_LOGIT_SCALE

    @property
    def inference_precision(self):
        """The arithmetic the encoders run at (``"fp32"`` by default)."""
        return getattr(self, "_inference_precision", DEFAULT_PRECISION)

    def set_precision(self, precision):
        """Runs the encoders at ``precision`` from now on.

        ``"int8"`` replaces the four modules by dynamically quantised copies
        (their ``nn.Linear`` layers; convolutions stay float32), ``"bf16"``
        runs them under ``torch.autocast`` with bfloat16, ``"fp32"``
        restores the model as loaded. The fp32 weights are kept, so the
        precision can be switched back. The fingerprint (the model folder's)
        does not change: indexes record the precision separately.

        Arguments
        ---------
        precision : str
            ``"fp32"``, ``"bf16"`` or ``"int8"`` (CPU only).
        """
        check_precision(precision, self.device)
        if not hasattr(self, "_fp32_modules"):
            self._fp32_modules = dict(self.mods.items())
            self._loaded_inference_ctx = self.inference_ctx
        for name, module in self._fp32_modules.items():
            self.mods[name] = prepare_for_precision(module, precision)
        self.inference_ctx = (
            precision_context(precision, self.device_type)
            if precision == "bf16"
            else self._loaded_inference_ctx
        )
        self._inference_precision = precision

    @property
    def sample_rate(self):
        """Sample rate the speech encoder expects."""
        return int(getattr(self.hparams, "sample_rate", 16000))

    @property
    def retrieval_level(self):
        """Head level used for retrieval (``hparams.retrieval_level``; the
        last level for folders without it)."""
        return getattr(self.hparams, "retrieval_level", -1)

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
                levels = self.mods.text_head(feats)
                emb = select_level(levels, self.retrieval_level)
                out.append(self._output(emb))
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
            levels = self.mods.speech_head(feats)
            emb = select_level(levels, self.retrieval_level)
        return self._output(emb)

    def _output(self, emb):
        """float32 CPU embeddings; bf16 ones L2-normalised again in fp32."""
        emb = emb.float().cpu()
        if self.inference_precision == "bf16":
            # The heads normalise in bf16: norms are 1 only to ~3e-3.
            emb = torch.nn.functional.normalize(emb, dim=-1)
        return emb

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
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        paths = [os.fspath(p) for p in paths]
        window = self.window_seconds or None
        durations = [get_duration(p) for p in paths]  # headers only
        long = {i for i, d in enumerate(durations) if window and d > window}
        short = [i for i in range(len(paths)) if i not in long]
        out = [None] * len(paths)
        # short files: loaded whole, batched by length (little padding)
        order = sorted(short, key=lambda i: durations[i])
        batches = [
            order[i : i + batch_size] for i in range(0, len(order), batch_size)
        ]
        batches += [[i] for i in sorted(long)]
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, desc="embedding", unit="batch")
        for idx in batches:
            if idx[0] in long:
                # long file: read and encoded window by window, pooled
                out[idx[0]] = embed_file_in_windows(
                    self.encode_audio,
                    paths[idx[0]],
                    sample_rate=self.sample_rate,
                    window_seconds=window,
                    hop_seconds=self.hop_seconds,
                )
                continue
            signals = [load_audio(paths[i], self.sample_rate) for i in idx]
            wavs, lens = pad_signals(signals)
            emb = self.encode_audio(wavs, lens)
            for row, i in enumerate(idx):
                out[i] = emb[row]
        return torch.stack(out)

    @torch.no_grad()
    def encode_waveforms(self, wavs, wav_lens=None, windows_per_batch=8):
        """Embeds waveforms in memory, long ones in pooled windows.

        Arguments
        ---------
        wavs : torch.Tensor or list of torch.Tensor
            (B, T) padded batch, a (T,) waveform or a list of (T_i,)
            waveforms, at ``self.sample_rate``.
        wav_lens : torch.Tensor, optional
            (B,) relative lengths of a padded batch.
        windows_per_batch : int
            Windows of long waveforms encoded together.

        Returns
        -------
        torch.Tensor
            (B, D) L2-normalised embeddings on the CPU.
        """
        if isinstance(wavs, (list, tuple)):
            wavs, wav_lens = pad_signals([torch.as_tensor(w) for w in wavs])
        if wavs.dim() == 1:
            wavs = wavs.unsqueeze(0)
        if wav_lens is None:
            wav_lens = torch.ones(wavs.shape[0])
        if not self.window_seconds:
            return self.encode_audio(wavs, wav_lens)
        window, hop = seconds_to_samples(
            self.window_seconds, self.hop_seconds, self.sample_rate
        )
        return embed_in_windows(
            self.encode_audio,
            wavs.float(),
            wav_lens.float(),
            window,
            hop,
            windows_per_batch=windows_per_batch,
        )

    def prompt_templates(self):
        """Templates that turn a bare label into prompts, or None.

        The model's own (``prompt_templates`` in its hyperparams.yaml,
        written by the recipe that trained it), else None.
        """
        templates = getattr(self.hparams, "prompt_templates", None)
        return list(templates) if templates else None

    def candidate_prompts(self, labels_or_descriptions, templates=None):
        """The prompt ensemble of each candidate class.

        A candidate is a bare label ("happy", "high pitch": see
        ``speechbrain_style.prompts.templates.is_bare_label``), a
        description ("A woman whispering slowly.", used as it is) or a list of
        descriptions (its own ensemble). A bare label is expanded through
        ``templates`` (each with ``{}``, ``{label}`` or ``{style}``), else
        the model's prompt templates, else the descriptions of the model's
        bank that contain the label as whole words, else the package's
        default style templates
        (``speechbrain_style.prompts.templates.default_templates``).

        Arguments
        ---------
        labels_or_descriptions : list or dict
            Candidates, or ``{name: [prompts]}``.
        templates : list of str, optional
            Templates for bare labels.

        Returns
        -------
        names : list of str
            A name per candidate (the label or description).
        prompts : list of list of str
            The prompt ensemble per candidate.
        """
        if isinstance(labels_or_descriptions, str):
            labels_or_descriptions = [labels_or_descriptions]
        if isinstance(labels_or_descriptions, dict):
            items = list(labels_or_descriptions.items())
        else:
            items = []
            for cand in labels_or_descriptions:
                if isinstance(cand, (list, tuple)):
                    items.append((" | ".join(cand), list(cand)))
                else:
                    items.append((cand, None))
        if len(items) < 2:
            raise ValueError(
                f"classify needs at least 2 candidates, got {len(items)}"
            )
        names, prompts = [], []
        bank = None
        for name, ensemble in items:
            if ensemble is None:
                if not isinstance(name, str) or not name.strip():
                    raise ValueError(f"Empty candidate label: {name!r}")
                name = " ".join(name.split())
                if is_bare_label(name):
                    ensemble = templates or self.prompt_templates()
                    if ensemble is not None:
                        ensemble = fill_templates(ensemble, name)
                    else:
                        if bank is None:
                            bank = self._bank_or_empty()
                        ensemble = bank_prompts(bank, name) or fill_templates(
                            default_templates(), name
                        )
                else:
                    ensemble = [name]
            ensemble = [p for p in ensemble if isinstance(p, str) and p.strip()]
            if not ensemble:
                raise ValueError(f"Candidate {name!r} has no prompt")
            names.append(str(name))
            prompts.append(ensemble)
        if len(set(names)) != len(names):
            raise ValueError(f"Candidates are not unique: {names}")
        return names, prompts

    def _bank_or_empty(self):
        """The model's description bank, or [] when it has none."""
        try:
            return self.description_bank()
        except FileNotFoundError:
            return []

    @torch.no_grad()
    def classify(
        self,
        wavs_or_files,
        labels_or_descriptions,
        templates=None,
        batch_size=16,
    ):
        """Zero-shot classification among candidate labels or descriptions.

        Each candidate becomes a prompt ensemble (see
        :meth:`candidate_prompts`); a recording's score for a candidate is
        its mean cosine similarity to the ensemble's prompts (the dot
        product with the mean of their L2-normalised embeddings, as in the
        retrieval evaluation), and the probabilities are the softmax of the
        scores times the model's logit scale (``1 / temperature``). Long
        recordings are embedded in pooled windows (deterministic).

        Arguments
        ---------
        wavs_or_files : str, list of str, torch.Tensor or list of tensors
            Audio files, or waveforms at ``self.sample_rate`` ((T,), (B, T)
            or a list of (T_i,)).
        labels_or_descriptions : list or dict
            At least two candidates (see :meth:`candidate_prompts`).
        templates : list of str, optional
            Templates for bare labels (``{}``, ``{label}`` or ``{style}``).
        batch_size : int
            Files per forward pass.

        Returns
        -------
        torch.Tensor
            (N, C) probabilities, rows summing to 1, columns in the order of
            the candidates.
        """
        speech = self._embed_any(wavs_or_files, batch_size)
        _, prompts = self.candidate_prompts(labels_or_descriptions, templates)
        flat = [p for ensemble in prompts for p in ensemble]
        text = self.encode_text(flat)
        queries, start = [], 0
        for ensemble in prompts:
            queries.append(text[start : start + len(ensemble)].mean(dim=0))
            start += len(ensemble)
        scores = speech @ torch.stack(queries).T
        return torch.softmax(self.logit_scale * scores, dim=-1)

    def _embed_any(self, wavs_or_files, batch_size):
        """Embeddings of files or of in-memory waveforms."""
        if isinstance(wavs_or_files, (str, os.PathLike)):
            return self.encode_files([wavs_or_files], batch_size=batch_size)
        if isinstance(wavs_or_files, torch.Tensor):
            return self.encode_waveforms(wavs_or_files)
        items = list(wavs_or_files)
        if not items:
            raise ValueError("No audio to classify")
        if all(isinstance(x, (str, os.PathLike)) for x in items):
            return self.encode_files(items, batch_size=batch_size)
        if all(isinstance(x, torch.Tensor) for x in items):
            return self.encode_waveforms(items)
        raise TypeError(
            "wavs_or_files must be audio file paths or waveform tensors, "
            f"not a mix ({sorted({type(x).__name__ for x in items})})"
        )

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

"""Pooled sentence embeddings from a Hugging Face text encoder.

Follows the conventions of SpeechBrain's
``speechbrain.integrations.huggingface`` interfaces (``source`` is a hub id
or a local directory, ``save_path`` is the download cache, ``freeze``
freezes the model and keeps it in eval mode), but returns one pooled vector
per text instead of ``last_hidden_state``:

* BERT, RoBERTa, MiniLM and other encoder-only models are loaded with
  ``AutoModel``;
* T5 / Flan-T5 / mT5 / UMT5 checkpoints (``config.model_type`` in
  ``T5_MODEL_TYPES``) are loaded encoder-only (``T5EncoderModel`` and
  siblings), as CLAP-style retrieval models use them;
* other encoder-decoder checkpoints (e.g. BART) are loaded whole and only
  their encoder (``model.get_encoder()``) is run.

A local directory is loaded with ``local_files_only=True`` (no network).
``transformers`` is imported when an encoder is built, not when this module
is imported.

Authors
 * speechbrain-style contributors 2026
"""

import os
from collections import OrderedDict

import torch
from speechbrain.utils.logger import get_logger

from speechbrain_style.lobes.common import FreezableLobe
from speechbrain_style.lobes.loading import report_key_mismatch

logger = get_logger(__name__)

POOLINGS = ("cls", "mean")
T5_MODEL_TYPES = ("t5", "mt5", "umt5")


def masked_mean(hidden, attention_mask):
    """Mean of ``hidden`` over the positions where ``attention_mask`` is 1.

    Arguments
    ---------
    hidden : torch.Tensor
        Token states, shape (batch, tokens, features).
    attention_mask : torch.Tensor
        1 for real tokens, 0 for padding, shape (batch, tokens).

    Returns
    -------
    torch.Tensor
        Pooled states, shape (batch, features).

    Example
    -------
    >>> hidden = torch.tensor([[[1.0], [3.0], [100.0]]])
    >>> masked_mean(hidden, torch.tensor([[1, 1, 0]]))
    tensor([[2.]])
    """
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    total = (hidden * mask).sum(dim=1)
    return total / mask.sum(dim=1).clamp(min=1.0)


def _check_texts(texts):
    if isinstance(texts, str) or not isinstance(texts, (list, tuple)):
        raise TypeError(
            "texts must be a list of str, got "
            f"{type(texts).__name__}: {texts!r:.80}"
        )
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(
                f"texts[{i}] must be a str, got {type(text).__name__}: "
                f"{text!r:.80}"
            )
    if not texts:
        raise ValueError("texts is empty")
    return list(texts)


class HFTextEncoder(FreezableLobe):
    """Hugging Face text encoder with CLS or attention-masked mean pooling.

    ``forward(texts)`` tokenises a list of strings (padding, truncation to
    ``max_length`` tokens), moves the tokens to the module's device and
    returns one vector per text, shape (batch, ``output_size``).

    Pooling: "cls" takes the state of the first token (``<s>`` / ``[CLS]``;
    invalid for T5, which has no such token); "mean" averages the states of
    the real tokens only (attention mask), so a padded batch gives the same
    embeddings as each text alone (sentence-transformers pools MiniLM this
    way).

    Embedding cache: when the encoder is frozen and ``cache_embeddings`` is
    True, the pooled output of each distinct text string is memoised on CPU
    and moved to the module's device on use. Training draws descriptions
    from a finite bank, so a frozen encoder then encodes each description
    once instead of once per batch. The cache is a least-recently-used
    (LRU) map of at most ``cache_size`` texts (an ``OrderedDict``, as
    ``functools.lru_cache`` keeps its entries): a long-running server that
    sees ever new queries keeps a bounded memory (about ``cache_size *
    output_size * 4`` bytes: 30 MB for 10,000 768-d embeddings). The cache
    is cleared when the encoder is unfrozen (``encoder.freeze = False``),
    when weights are loaded with ``load_state_dict`` and by
    ``clear_cache()``.

    Arguments
    ---------
    source : str
        Hub id (e.g. "FacebookAI/roberta-base", "google/flan-t5-base") or a
        local directory written by ``save_pretrained``.
    pooling : str
        "cls" or "mean".
    freeze : bool
        If True, parameters get ``requires_grad=False``, the module stays in
        eval mode even after ``.train()``, and the forward runs under
        ``torch.no_grad()``.
    max_length : int
        Texts are truncated to this many tokens.
    cache_embeddings : bool
        Memoise pooled outputs per text while frozen (see above).
    cache_size : int
        Most texts kept in the cache (least recently used ones are evicted).
    strict : bool
        A checkpoint with missing or unexpected weights raises an error
        naming them (True) or loads with a warning naming them (False).
        The heads of ``*ForMaskedLM`` / pre-training / encoder-decoder
        checkpoints (``lm_head``, ``cls``, ``decoder``) and the unused
        BERT pooler are never counted.
    save_path : str, optional
        Cache directory for hub downloads (``cache_dir`` of
        ``from_pretrained``); None uses the Hugging Face default.

    Example
    -------
    >>> import tempfile
    >>> from tests.tiny_models import build_tiny_hf_text_encoder
    >>> folder = build_tiny_hf_text_encoder(tempfile.mkdtemp(), "bert")
    >>> encoder = HFTextEncoder(folder, pooling="mean")
    >>> encoder(["a calm voice", "an angry shout"]).shape
    torch.Size([2, 32])
    """

    def __init__(
        self,
        source,
        pooling="cls",
        freeze=True,
        max_length=64,
        cache_embeddings=True,
        cache_size=10000,
        save_path=None,
        strict=True,
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(
                f"pooling must be one of {POOLINGS}, got {pooling!r}"
            )
        if not isinstance(max_length, int) or max_length <= 0:
            raise ValueError(
                f"max_length must be a positive int, got {max_length!r}"
            )
        if (
            isinstance(cache_size, bool)
            or not isinstance(cache_size, int)
            or cache_size <= 0
        ):
            raise ValueError(
                f"cache_size must be a positive int, got {cache_size!r}"
            )
        source = os.fspath(source)
        self.init_kwargs = {
            "source": source,
            "pooling": pooling,
            "freeze": freeze,
            "max_length": max_length,
            "cache_embeddings": cache_embeddings,
            "cache_size": cache_size,
            "save_path": save_path,
            "strict": strict,
        }
        self.source = source
        self.pooling = pooling
        self.max_length = max_length
        self.cache_embeddings = cache_embeddings
        self.cache_size = cache_size
        self._cache = OrderedDict()
        self._freeze = False

        self.model, self.tokenizer, config = _load_model_and_tokenizer(
            source, save_path, strict=strict
        )
        self.model_type = config.model_type
        if self.model_type in T5_MODEL_TYPES and pooling == "cls":
            raise ValueError(
                f"pooling='cls' is invalid for {self.model_type} encoders "
                f"({source}): T5 has no [CLS]/<s> token, its first state is "
                "an ordinary word piece; use pooling='mean'"
            )
        if self.tokenizer.pad_token is None:
            raise ValueError(
                f"The tokenizer of {source} has no pad token: cannot batch "
                "texts of different lengths"
            )
        self._encoder_only = not (
            getattr(config, "is_encoder_decoder", False)
            and self.model_type not in T5_MODEL_TYPES
        )
        self.output_size = int(config.hidden_size)
        self.register_load_state_dict_post_hook(_clear_cache_hook)
        self.freeze = freeze

    @property
    def freeze(self):
        """Whether the encoder is frozen (see the class docstring)."""
        return self._freeze

    @freeze.setter
    def freeze(self, value):
        """Freezes or unfreezes the encoder's weights."""
        self._freeze = bool(value)
        self._freeze_parameters(self._freeze)
        if self._freeze:
            logger.info("Text encoder %s is frozen.", self.source)
        else:
            self.clear_cache()

    def clear_cache(self):
        """Empties the per-text embedding cache."""
        self._cache.clear()

    @property
    def device(self):
        """The device of the model parameters."""
        return next(self.model.parameters()).device

    def forward(self, texts):
        """Encodes a list of texts into pooled embeddings.

        Arguments
        ---------
        texts : list of str
            The texts (descriptions, prompts).

        Returns
        -------
        torch.Tensor
            Embeddings, shape (len(texts), output_size), on the module's
            device.
        """
        texts = _check_texts(texts)
        if not (self._freeze and self.cache_embeddings):
            return self._encode(texts)
        found, missing = {}, []
        for text in dict.fromkeys(texts):
            if text in self._cache:
                self._cache.move_to_end(text)  # most recently used
                found[text] = self._cache[text]
            else:
                missing.append(text)
        if missing:
            encoded = self._encode(missing).detach().float().cpu()
            for text, embedding in zip(missing, encoded, strict=True):
                found[text] = embedding
                self._cache[text] = embedding
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)  # least recently used
        stacked = torch.stack([found[text] for text in texts])
        return stacked.to(self.device)

    def _encode(self, texts):
        tokens = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        input_ids = tokens["input_ids"].to(self.device)
        attention_mask = tokens["attention_mask"].to(self.device)
        with self._no_grad_if_frozen():
            encoder = (
                self.model if self._encoder_only else self.model.get_encoder()
            )
            hidden = encoder(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state
            if self.pooling == "mean":
                return masked_mean(hidden, attention_mask)
            return hidden[:, 0]

    def save_pretrained(self, path):
        """Writes model and tokenizer to ``path`` (``save_pretrained``).

        The folder is self-contained: ``HFTextEncoder(path, ...)`` loads it
        with no network, including the current (e.g. fine-tuned) weights.

        Arguments
        ---------
        path : str
            Output directory (created).

        Returns
        -------
        dict
            Constructor arguments that rebuild this encoder from ``path``.
        """
        path = os.fspath(path)
        os.makedirs(path, exist_ok=True)
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        return dict(self.init_kwargs, source=path, save_path=None)


def _clear_cache_hook(module, incompatible_keys):
    module.clear_cache()


# Weights of a checkpoint that the encoder never uses: the heads of
# *ForMaskedLM / *ForPreTraining checkpoints, the decoder of encoder-decoder
# ones. The BERT pooler is removed after loading, so it may be missing.
_UNUSED_CHECKPOINT_PREFIXES = ("lm_head.", "cls.", "decoder.", "pooler.")
_DROPPED_MODEL_PREFIXES = ("pooler.",)


def _from_pretrained_checked(model_class, source, config, kwargs, strict):
    """``from_pretrained`` that fails (or warns) on weights that matter.

    transformers reports the checkpoint's missing, unexpected and
    mismatched weights; the ones this lobe does not use (see the prefixes
    above) are expected and logged at debug level, any other one is an
    error naming the keys (``strict=False``: a warning).
    """
    import transformers

    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        model, info = model_class.from_pretrained(
            source, config=config, output_loading_info=True, **kwargs
        )
    finally:
        transformers.logging.set_verbosity(verbosity)

    def names(kind):
        """The key names of one kind of the loading report."""
        return [
            key if isinstance(key, str) else key[0]
            for key in info.get(kind, [])
        ]

    missing = names("missing_keys")
    unexpected = names("unexpected_keys")
    logger.debug(
        "%s: unused checkpoint weights %s, dropped model weights %s",
        source,
        [k for k in unexpected if k.startswith(_UNUSED_CHECKPOINT_PREFIXES)],
        [k for k in missing if k.startswith(_DROPPED_MODEL_PREFIXES)],
    )
    report_key_mismatch(
        source,
        missing=[
            k for k in missing if not k.startswith(_DROPPED_MODEL_PREFIXES)
        ],
        unexpected=[
            k
            for k in unexpected
            if not k.startswith(_UNUSED_CHECKPOINT_PREFIXES)
        ],
        mismatched=[str(key) for key in info.get("mismatched_keys", [])],
        strict=strict,
    )
    return model


def _check_sentencepiece_conversion(source):
    """A SentencePiece-only folder needs protobuf for its fast tokenizer.

    T5 v1.1 / mT5 repositories ship ``spiece.model`` without
    ``tokenizer.json``; transformers converts it with protobuf, and fails
    with an unrelated parsing error when protobuf is missing.
    """
    if not os.path.isdir(source) or os.path.isfile(
        os.path.join(source, "tokenizer.json")
    ):
        return
    if not any(name.endswith(".model") for name in os.listdir(source)):
        return
    try:
        import google.protobuf  # noqa: F401
    except ImportError as error:
        raise ImportError(
            f"{source} has a SentencePiece tokenizer (spiece.model) and no "
            "tokenizer.json: converting it to a fast tokenizer needs "
            "protobuf (pip install protobuf)"
        ) from error


def _load_model_and_tokenizer(source, save_path, strict=True):
    """Loads (model, tokenizer, config) from a hub id or a local directory."""
    import transformers

    kwargs = {"cache_dir": save_path}
    if os.path.isdir(source):
        kwargs["local_files_only"] = True
    elif os.path.exists(source):
        raise ValueError(
            f"source {source!r} is a file; expected a hub id or a directory "
            "written by save_pretrained"
        )
    config = transformers.AutoConfig.from_pretrained(source, **kwargs)
    t5_classes = {
        "t5": "T5EncoderModel",
        "mt5": "MT5EncoderModel",
        "umt5": "UMT5EncoderModel",
    }
    if config.model_type in t5_classes:
        model_class = getattr(transformers, t5_classes[config.model_type])
    else:
        model_class = transformers.AutoModel
    model = _from_pretrained_checked(
        model_class, source, config, kwargs, strict
    )
    if getattr(model, "pooler", None) is not None:
        # BERT-style pooler (dense + tanh on the first token): its output is
        # unused here, and unused parameters would break DDP fine-tuning.
        model.pooler = None
    _check_sentencepiece_conversion(source)
    tokenizer = transformers.AutoTokenizer.from_pretrained(source, **kwargs)
    logger.info(
        "Loaded %s (%s) from %s",
        type(model).__name__,
        config.model_type,
        source,
    )
    return model, tokenizer, config

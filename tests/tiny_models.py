"""Tiny models built on the fly, for unit tests and recipe tests.

Every builder writes a folder in exactly the layout of a real checkpoint, so
the lobes load it through the same code path as a user's model:

* ``build_tiny_hf_text_encoder``: a tokenizer trained on a small built-in
  English corpus (byte-level BPE for RoBERTa, WordPiece for BERT, a
  SentencePiece unigram model for T5) and a randomly initialised
  ``save_pretrained`` model (``RobertaForMaskedLM``, ``BertForMaskedLM``,
  ``T5ForConditionalGeneration``, as on the hub), loadable by
  ``HFTextEncoder(folder)``;
* ``build_tiny_emotion2vec``: funasr's own ``Emotion2vec`` class with a tiny
  configuration, saved as ``config.yaml`` + ``model.pt`` (the layout
  ``funasr.AutoModel`` reads from a local directory), loadable by
  ``Emotion2VecEncoder(folder)``.

Nothing is downloaded. The global random state is left untouched (the
builders seed a forked generator).

Authors
 * speechbrain-style contributors 2026
"""

import io
import os
import tempfile

import torch
from speechbrain.utils.logger import get_logger

logger = get_logger(__name__)

TEXT_MODEL_TYPES = ("roberta", "bert", "t5")

_STYLES = (
    "calm",
    "angry",
    "happy",
    "sad",
    "surprised",
    "neutral",
    "whispered",
    "excited",
    "bored",
    "fearful",
    "disgusted",
    "confused",
    "sleepy",
    "laughing",
    "sarcastic",
    "enunciated",
    "fast",
    "slow",
    "loud",
    "soft",
    "high-pitched",
    "low-pitched",
    "breathy",
    "tense",
    "cheerful",
    "gloomy",
)
_TEMPLATES = (
    "A {} voice.",
    "Speech that is {}.",
    "Someone speaking in a {} way.",
    "The speaker sounds {} and a little tired.",
    "A woman talks with a {} tone of voice.",
    "A man says something, and he sounds {}.",
    "This recording has a {} speaking style.",
    "An old person reading a sentence in a {} manner.",
    "A young child whose voice is {} and clear.",
    "The words are spoken in a {} mood, quite slowly.",
)
_EXTRA = (
    "The quick brown fox jumps over the lazy dog.",
    "She sells sea shells by the sea shore, quickly and quietly.",
    "Pitch, energy and speaking rate describe how something is said.",
    "Emotion, accent, gender and age are properties of a speaker.",
    "Retrieve the utterances that match this description of style!",
    "Numbers like 1, 2, 3, 10 and 2024 appear in text too.",
)


def tiny_corpus():
    """The small built-in English corpus the tiny tokenizers are trained on.

    Returns
    -------
    list of str
        A few hundred short sentences describing speaking styles.

    Example
    -------
    >>> corpus = tiny_corpus()
    >>> len(corpus), corpus[0]
    (266, 'A calm voice.')
    """
    sentences = [t.format(s) for t in _TEMPLATES for s in _STYLES]
    return sentences + list(_EXTRA)


def build_tiny_hf_text_encoder(
    out_dir,
    model_type="roberta",
    vocab_size=500,
    hidden_size=32,
    num_layers=2,
    num_heads=2,
    seed=0,
):
    """Trains a tiny tokenizer and saves a random tiny Hugging Face model.

    Arguments
    ---------
    out_dir : str
        Output directory (created); holds ``config.json``, the weights and
        the tokenizer files, as ``save_pretrained`` writes them.
    model_type : str
        "roberta" (byte-level BPE), "bert" (WordPiece, lower-cased) or
        "t5" (SentencePiece unigram; encoder-decoder checkpoint).
    vocab_size : int
        Target vocabulary size (the unigram model of T5 may stop below it
        on the small corpus).
    hidden_size : int
        Hidden size (``d_model`` for T5).
    num_layers : int
        Number of layers (of the encoder and of the decoder for T5).
    num_heads : int
        Attention heads.
    seed : int
        Seed of the random initialisation.

    Returns
    -------
    str
        ``out_dir``.

    Example
    -------
    >>> import tempfile
    >>> folder = build_tiny_hf_text_encoder(tempfile.mkdtemp(), "roberta")
    >>> sorted(f for f in os.listdir(folder) if f.startswith("config"))
    ['config.json']
    """
    if model_type not in TEXT_MODEL_TYPES:
        raise ValueError(
            f"model_type must be one of {TEXT_MODEL_TYPES}, got {model_type!r}"
        )
    import transformers

    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as raw_dir:
        tokenizer = _train_tokenizer(model_type, vocab_size, raw_dir)
    common = {"vocab_size": len(tokenizer)}
    if model_type == "t5":
        config = transformers.T5Config(
            **common,
            d_model=hidden_size,
            d_kv=hidden_size // num_heads,
            d_ff=2 * hidden_size,
            num_layers=num_layers,
            num_heads=num_heads,
            relative_attention_num_buckets=8,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            decoder_start_token_id=tokenizer.pad_token_id,
        )
        model_class = transformers.T5ForConditionalGeneration
    else:
        config_class = (
            transformers.RobertaConfig
            if model_type == "roberta"
            else transformers.BertConfig
        )
        config = config_class(
            **common,
            hidden_size=hidden_size,
            num_hidden_layers=num_layers,
            num_attention_heads=num_heads,
            intermediate_size=2 * hidden_size,
            max_position_embeddings=130,
            pad_token_id=tokenizer.pad_token_id,
        )
        model_class = (
            transformers.RobertaForMaskedLM
            if model_type == "roberta"
            else transformers.BertForMaskedLM
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_class(config)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    logger.info("Wrote a tiny %s text encoder to %s", model_type, out_dir)
    return out_dir


def _train_tokenizer(model_type, vocab_size, raw_dir):
    """Trains a tokenizer on ``tiny_corpus()``; returns a transformers one.

    The raw files (vocab.json + merges.txt, vocab.txt, spiece.model) are
    written to ``raw_dir`` and loaded with the model's own tokenizer class,
    as for a classic hub checkpoint.
    """
    import transformers

    corpus = tiny_corpus()
    if model_type == "roberta":
        from tokenizers import ByteLevelBPETokenizer

        trainer = ByteLevelBPETokenizer()
        trainer.train_from_iterator(
            corpus,
            vocab_size=vocab_size,
            min_frequency=1,
            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
            show_progress=False,
        )
        trainer.save_model(raw_dir)
        tokenizer = transformers.RobertaTokenizer.from_pretrained(raw_dir)
    elif model_type == "bert":
        from tokenizers import BertWordPieceTokenizer

        trainer = BertWordPieceTokenizer(lowercase=True)
        trainer.train_from_iterator(
            corpus, vocab_size=vocab_size, min_frequency=1, show_progress=False
        )
        trainer.save_model(raw_dir)
        tokenizer = transformers.BertTokenizer.from_pretrained(raw_dir)
    else:
        import sentencepiece

        model_bytes = io.BytesIO()
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter(corpus),
            model_writer=model_bytes,
            vocab_size=vocab_size,
            model_type="unigram",
            pad_id=0,
            eos_id=1,
            unk_id=2,
            bos_id=-1,
            hard_vocab_limit=False,
            minloglevel=2,
        )
        with open(os.path.join(raw_dir, "spiece.model"), "wb") as f:
            f.write(model_bytes.getvalue())
        tokenizer = transformers.T5Tokenizer.from_pretrained(
            raw_dir, extra_ids=0
        )
    return tokenizer


def tiny_emotion2vec_conf(
    embed_dim=128,
    depth=2,
    num_heads=4,
    prenet_depth=1,
    conv_channels=128,
    num_extra_tokens=10,
):
    """A tiny emotion2vec ``model_conf`` with the structure of the base one.

    emotion2vec_base (data2vec 2.0 audio; 768-d, 4 prenet + 8 blocks, 12
    heads, ALiBi with learned per-head scales, 10 extra tokens, conv
    positional encoder of depth 5 and width 95, 7 conv feature layers with a
    total stride of 320 samples = 50 frames per second) with smaller sizes;
    the pre-training decoder is left out, as in the released models.

    Arguments
    ---------
    embed_dim : int
        Transformer width.
    depth : int
        Number of main transformer blocks.
    num_heads : int
        Attention heads (and ALiBi heads).
    prenet_depth : int
        Number of blocks in the audio prenet (context encoder).
    conv_channels : int
        Channels of the convolutional feature extractor (512 in base).
    num_extra_tokens : int
        Learned tokens prepended to the frames.

    Returns
    -------
    dict
        The ``model_conf`` section of a funasr ``config.yaml``.

    Example
    -------
    >>> conf = tiny_emotion2vec_conf()
    >>> conf["embed_dim"], conf["modalities"]["audio"]["prenet_depth"]
    (128, 1)
    """
    c = conv_channels
    audio = {
        "type": "AUDIO",
        "prenet_depth": prenet_depth,
        "prenet_layerdrop": 0.0,
        "prenet_dropout": 0.1,
        "start_drop_path_rate": 0.0,
        "end_drop_path_rate": 0.0,
        "num_extra_tokens": num_extra_tokens,
        "init_extra_token_zero": False,
        "mask_noise_std": 0.01,
        "mask_prob_min": None,
        "mask_prob": 0.5,
        "inverse_mask": False,
        "mask_prob_adjust": 0.05,
        "keep_masked_pct": 0.0,
        "mask_length": 5,
        "add_masks": False,
        "remove_masks": False,
        "mask_dropout": 0.0,
        "encoder_zero_mask": True,
        "mask_channel_prob": 0.0,
        "mask_channel_length": 64,
        "ema_local_encoder": False,
        "local_grad_mult": 1.0,
        "use_alibi_encoder": True,
        "alibi_scale": 1.0,
        "learned_alibi": False,
        "alibi_max_pos": None,
        "learned_alibi_scale": True,
        "learned_alibi_scale_per_head": True,
        "learned_alibi_scale_per_layer": False,
        "num_alibi_heads": num_heads,
        "model_depth": depth,
        "decoder": None,
        "extractor_mode": "layer_norm",
        "feature_encoder_spec": (
            f"[({c}, 10, 5)] + [({c}, 3, 2)] * 4 + [({c}, 2, 2)] * 2"
        ),
        "conv_pos_width": 95,
        "conv_pos_groups": 16,
        "conv_pos_depth": 5,
        "conv_pos_pre_ln": False,
    }
    return {
        "loss_beta": 0.0,
        "loss_scale": None,
        "depth": depth,
        "start_drop_path_rate": 0.0,
        "end_drop_path_rate": 0.0,
        "num_heads": num_heads,
        "norm_eps": 1e-05,
        "norm_affine": True,
        "encoder_dropout": 0.1,
        "post_mlp_drop": 0.1,
        "attention_dropout": 0.1,
        "activation_dropout": 0.0,
        "dropout_input": 0.0,
        "layerdrop": 0.0,
        "embed_dim": embed_dim,
        "mlp_ratio": 4.0,
        "layer_norm_first": False,
        "average_top_k_layers": depth,
        "end_of_block_targets": False,
        "clone_batch": 1,
        "normalize": True,
        "modalities": {"audio": audio},
    }


def build_tiny_emotion2vec(out_dir, seed=0, **conf_kwargs):
    """Builds a tiny funasr ``Emotion2vec`` and saves it for ``AutoModel``.

    The model is funasr's own class (``funasr.models.emotion2vec.model``)
    built from ``tiny_emotion2vec_conf(**conf_kwargs)`` (about 1M
    parameters), randomly initialised with ``seed``, and written as
    ``config.yaml`` (``model: Emotion2vec`` + ``model_conf``) and
    ``model.pt`` (state dict), the layout ``funasr.AutoModel(model=out_dir)``
    loads with no network.

    Arguments
    ---------
    out_dir : str
        Output directory (created).
    seed : int
        Seed of the random initialisation.
    **conf_kwargs
        Size arguments of ``tiny_emotion2vec_conf``.

    Returns
    -------
    str
        ``out_dir``.

    Example
    -------
    >>> import tempfile
    >>> folder = build_tiny_emotion2vec(tempfile.mkdtemp())
    >>> sorted(os.listdir(folder))
    ['config.yaml', 'model.pt']
    """
    from speechbrain_style.lobes.emotion2vec import (
        import_funasr,
        save_emotion2vec,
    )

    _, Emotion2vec = import_funasr()

    conf = tiny_emotion2vec_conf(**conf_kwargs)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Emotion2vec(model_conf=conf)
    save_emotion2vec(model, out_dir)
    logger.info("Wrote a tiny emotion2vec to %s", out_dir)
    return out_dir


def build_tiny_speaker_model(
    out_dir, n_mels=40, channels=(16, 16, 16, 16, 48), lin_neurons=16, seed=0
):
    """A tiny folder with the embedding model of a SpeechBrain speaker model.

    ``embedding_model.ckpt`` holds a randomly initialised ``ECAPA_TDNN``
    state dict, as in ``speechbrain/spkrec-ecapa-voxceleb``, so that
    ``ECAPASpeechEncoder(pretrained_source=out_dir, ...)`` loads it through
    SpeechBrain's Pretrainer like the real model. It is only the file the
    lobe reads; ``tests/published_layouts.py`` writes the whole repository
    (``hyperparams.yaml``, ``mean_var_norm_emb.ckpt``, ``classifier.ckpt``,
    ``label_encoder.txt``).

    Arguments
    ---------
    out_dir : str
        Output folder (created).
    n_mels : int
        Input size of the model.
    channels : sequence of int
        ECAPA-TDNN channels.
    lin_neurons : int
        Embedding size.
    seed : int
        Seed of the weights.

    Returns
    -------
    str
        ``out_dir``.

    Example
    -------
    >>> import tempfile
    >>> folder = build_tiny_speaker_model(tempfile.mkdtemp())
    >>> sorted(os.listdir(folder))
    ['embedding_model.ckpt']
    """
    from speechbrain.lobes.models.ECAPA_TDNN import ECAPA_TDNN

    os.makedirs(out_dir, exist_ok=True)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = ECAPA_TDNN(
            n_mels, channels=list(channels), lin_neurons=lin_neurons
        )
    finally:
        torch.random.set_rng_state(generator_state)
    torch.save(
        model.state_dict(), os.path.join(out_dir, "embedding_model.ckpt")
    )
    return out_dir


def build_tiny_ssl_model(out_dir, model="wavlm", seed=0):
    """A tiny wav2vec 2.0 / WavLM saved like a hub checkpoint.

    Arguments
    ---------
    out_dir : str
        Output folder (created).
    model : str
        "wav2vec2" or "wavlm".
    seed : int
        Seed of the weights.

    Returns
    -------
    str
        ``out_dir``, loadable by ``SSLSpeechEncoder(out_dir, model=model)``.
    """
    import transformers

    classes = {
        "wav2vec2": (transformers.Wav2Vec2Config, transformers.Wav2Vec2Model),
        "wavlm": (transformers.WavLMConfig, transformers.WavLMModel),
    }
    config_class, model_class = classes[model]
    config = config_class(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(32, 32),
        conv_kernel=(10, 3),
        conv_stride=(5, 2),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model_class(config).save_pretrained(out_dir)
    finally:
        torch.random.set_rng_state(state)
    transformers.Wav2Vec2FeatureExtractor(sampling_rate=16000).save_pretrained(
        out_dir
    )
    return out_dir


def build_tiny_passt(path, seed=0):
    """Saves a random tiny PaSST checkpoint (1 block, 16-d), loadable like
    the published ones by ``speechbrain_style.lobes.PaSSTEncoder``.

    Arguments
    ---------
    path : str
        The checkpoint file to write.
    seed : int
        Seed of the random weights.

    Returns
    -------
    str
        ``path``.
    """
    from speechbrain_style.lobes.passt import PaSST

    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = PaSST(embed_dim=16, depth=1, num_heads=2)
    finally:
        torch.random.set_rng_state(state)
    torch.save(model.state_dict(), path)
    return path

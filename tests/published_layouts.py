"""Tiny copies of the published model repositories the lobes accept.

Each ``make_*`` function writes, FILE BY FILE, the layout of a real
repository (same file names, same file formats, same key structure inside
the checkpoints), with tiny random weights, so that a test loads it through
the user code path: the lobe class as a yaml builds it, with
``source=<folder>``. Nothing is downloaded.

* ``make_emotion2vec_base`` mirrors ``emotion2vec/emotion2vec_base``
  (Hugging Face) / ``iic/emotion2vec_base`` (ModelScope): ``README.md``,
  ``config.yaml`` (funasr: ``model: Emotion2vec`` + ``model_conf``),
  ``configuration.json`` (``file_path_metas`` naming ``config.yaml`` and
  ``init_param: emotion2vec_base.pt``; what funasr's
  ``download_model_from_hub`` reads), and ``emotion2vec_base.pt``: a
  fairseq checkpoint (the upstream release is fairseq's ``data2vec_multi``
  model) with the weights under ``"model"``, next to ``args``, ``cfg``,
  ``optimizer_history``, ``extra_state``..., and, inside ``"model"``, the
  pre-training EMA teacher ``"_ema"`` and decoder that data2vec 2.0
  saves. There is NO ``model.pt``. ModelScope also ships
  ``example/test.wav``.
* ``make_emotion2vec_plus`` mirrors ``emotion2vec_plus_seed/base/large``:
  ``config.yaml`` (with the ``CharTokenizer`` of its 9 emotion labels),
  ``configuration.json`` (``init_param: model.pt``, ``tokenizer_conf.
  token_list: tokens.txt``), ``model.pt`` (funasr's ``Emotion2vec`` state
  dict including the classifier ``proj``) and ``tokens.txt``.
* ``make_spkrec_ecapa_voxceleb`` mirrors ``speechbrain/spkrec-ecapa-
  voxceleb``: ``hyperparams.yaml`` (the inference yaml of SpeechBrain's
  ``EncoderClassifier``), ``embedding_model.ckpt``,
  ``mean_var_norm_emb.ckpt``, ``classifier.ckpt``, ``label_encoder.txt``.
* ``make_passt_release`` writes a PaSST AudioSet release file of
  ``kkoutini/PaSST`` (e.g. ``passt-s-f128-p16-s10-ap.476-swa.pt``): the flat
  state dict of hear21passt's ``PaSST`` with its classifier heads
  (``head.0`` LayerNorm, ``head.1`` Linear to 527 classes, ``head_dist``).
* ``make_bert_base_uncased``, ``make_roberta_base`` and ``make_t5_v1_1``
  mirror ``google-bert/bert-base-uncased``, ``FacebookAI/roberta-base`` and
  ``google/t5-v1_1-base`` as the hub ships them (PyTorch files only): BERT
  with ``vocab.txt`` + ``tokenizer.json`` and pre-training heads, RoBERTa
  with ``vocab.json`` + ``merges.txt`` + ``tokenizer.json`` and no
  ``tokenizer_config.json``, T5 v1.1 with ``pytorch_model.bin`` and ONLY
  ``spiece.model`` as tokenizer (no ``tokenizer.json``: transformers
  converts it, which needs protobuf).

``FILES`` lists the files each layout holds; the tests assert it.

Authors
 * speechbrain-style contributors 2026
"""

import io
import json
import os

import torch

from tests.tiny_models import tiny_corpus, tiny_emotion2vec_conf

FILES = {
    "emotion2vec_base": [
        "README.md",
        "config.yaml",
        "configuration.json",
        "emotion2vec_base.pt",
    ],
    "emotion2vec_plus": [
        "README.md",
        "config.yaml",
        "configuration.json",
        "model.pt",
        "tokens.txt",
    ],
    "spkrec_ecapa_voxceleb": [
        "README.md",
        "classifier.ckpt",
        "embedding_model.ckpt",
        "hyperparams.yaml",
        "label_encoder.txt",
        "mean_var_norm_emb.ckpt",
    ],
    "bert_base_uncased": [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.txt",
    ],
    "roberta_base": [
        "config.json",
        "dict.txt",
        "merges.txt",
        "model.safetensors",
        "tokenizer.json",
        "vocab.json",
    ],
    "t5_v1_1": [
        "config.json",
        "pytorch_model.bin",
        "special_tokens_map.json",
        "spiece.model",
        "tokenizer_config.json",
    ],
}

# The labels of emotion2vec_plus (tokens.txt, one per line).
EMOTION2VEC_PLUS_LABELS = [
    "生气/angry",
    "厌恶/disgusted",
    "恐惧/fearful",
    "开心/happy",
    "中立/neutral",
    "其他/other",
    "难过/sad",
    "吃惊/surprised",
    "<unk>",
]


def _seeded(seed, build):
    """``build()`` under a forked torch RNG seeded with ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def _write(path, text):
    """Writes a UTF-8 text file."""
    with open(path, "w", encoding="utf-8") as fout:
        fout.write(text)


def _write_wav(path, seconds=0.5, sample_rate=16000):
    """A short noise wav (the example file of ModelScope repositories)."""
    import soundfile

    os.makedirs(os.path.dirname(path), exist_ok=True)
    noise = _seeded(0, lambda: 0.1 * torch.randn(int(seconds * sample_rate)))
    soundfile.write(path, noise.numpy(), sample_rate)


# ---------------------------------------------------------------------- #
# emotion2vec (funasr)
# ---------------------------------------------------------------------- #
def _emotion2vec_model(conf, vocab_size=-1, seed=0):
    """funasr's Emotion2vec with ``conf``, random weights."""
    from speechbrain_style.lobes.emotion2vec import import_funasr

    _, Emotion2vec = import_funasr()
    return _seeded(
        seed, lambda: Emotion2vec(model_conf=conf, vocab_size=vocab_size)
    )


def _pretraining_decoder_state(conf, seed=1):
    """``modality_encoders.AUDIO.decoder.*`` entries of data2vec 2.0."""
    decoder = {
        "decoder_dim": 16,
        "decoder_groups": 4,
        "decoder_kernel": 7,
        "decoder_layers": 2,
        "input_dropout": 0.1,
        "add_positions_masked": False,
        "add_positions_all": False,
        "decoder_residual": True,
        "projection_layers": 1,
        "projection_ratio": 2.0,
    }
    with_decoder = json.loads(json.dumps(conf))
    with_decoder["modalities"]["audio"]["decoder"] = decoder
    model = _emotion2vec_model(with_decoder, seed=seed)
    prefix = "modality_encoders.AUDIO.decoder."
    return {k: v for k, v in model.state_dict().items() if k.startswith(prefix)}


def _write_funasr_config(path, conf, tokenizer=False):
    """funasr's ``config.yaml`` (``model`` + ``model_conf``)."""
    from omegaconf import OmegaConf

    config = {"model": "Emotion2vec", "model_conf": conf}
    if tokenizer:
        config["tokenizer"] = "CharTokenizer"
        config["tokenizer_conf"] = {
            "unk_symbol": "<unk>",
            "split_with_space": True,
        }
    OmegaConf.save(OmegaConf.create(config), path)


def _write_configuration_json(path, file_path_metas):
    """ModelScope's ``configuration.json`` of a funasr model."""
    configuration = {
        "framework": "pytorch",
        "task": "emotion-recognition",
        "model": {"type": "funasr"},
        "pipeline": {"type": "funasr-pipeline"},
        "model_name_in_hub": {"ms": "", "hf": ""},
        "file_path_metas": file_path_metas,
    }
    _write(path, json.dumps(configuration, indent=4))


def make_emotion2vec_base(out_dir, hub="hf", seed=0, conf=None):
    """A tiny ``emotion2vec_base`` repository (see the module docstring).

    Arguments
    ---------
    out_dir : str
        Output folder (created).
    hub : str
        "hf" (Hugging Face) or "ms" (ModelScope, adds ``example/test.wav``).
    seed : int
        Seed of the weights.
    conf : dict, optional
        ``model_conf`` (default: ``tiny_emotion2vec_conf()``).

    Returns
    -------
    str
        ``out_dir``.
    """
    conf = conf or tiny_emotion2vec_conf()
    os.makedirs(out_dir, exist_ok=True)
    model = _emotion2vec_model(conf, seed=seed)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    # what fairseq's Data2VecMultiModel.state_dict() adds while training
    weights["_ema"] = {
        k: v + 0.01 for k, v in weights.items() if k.startswith("blocks.")
    }
    weights.update(_pretraining_decoder_state(conf, seed=seed + 1))
    checkpoint = {
        "args": None,
        "cfg": {
            "_name": None,
            "model": {"_name": "data2vec_multi", **conf},
            "task": {"_name": "audio_pretraining", "sample_rate": 16000},
        },
        "model": weights,
        "criterion": None,
        "optimizer_history": [
            {
                "criterion_name": "ModelCriterion",
                "optimizer_name": "FairseqAdam",
                "lr_scheduler_state": {"best": None},
                "num_updates": 100000,
            }
        ],
        "task_state": {},
        "extra_state": {"epoch": 100, "previous_training_time": 3600.0},
        "last_optimizer_state": None,
    }
    torch.save(checkpoint, os.path.join(out_dir, "emotion2vec_base.pt"))
    _write_funasr_config(os.path.join(out_dir, "config.yaml"), conf)
    _write_configuration_json(
        os.path.join(out_dir, "configuration.json"),
        {"init_param": "emotion2vec_base.pt", "config": "config.yaml"},
    )
    _write(
        os.path.join(out_dir, "README.md"),
        "# emotion2vec_base (tiny random copy for tests)\n",
    )
    if hub == "ms":
        _write_wav(os.path.join(out_dir, "example", "test.wav"))
    return out_dir


def make_emotion2vec_plus(out_dir, seed=0, conf=None, nesting=None):
    """A tiny ``emotion2vec_plus_{seed,base,large}`` repository.

    Arguments
    ---------
    out_dir : str
        Output folder (created).
    seed : int
        Seed of the weights.
    conf : dict, optional
        ``model_conf`` (default: ``tiny_emotion2vec_conf()``).
    nesting : str, optional
        Save the weights under this key (e.g. "state_dict", as funasr's
        trainer does) instead of as a flat state dict.

    Returns
    -------
    str
        ``out_dir``.
    """
    conf = conf or tiny_emotion2vec_conf()
    os.makedirs(out_dir, exist_ok=True)
    model = _emotion2vec_model(
        conf, vocab_size=len(EMOTION2VEC_PLUS_LABELS), seed=seed
    )
    weights = model.state_dict()
    torch.save(
        weights if nesting is None else {nesting: weights},
        os.path.join(out_dir, "model.pt"),
    )
    _write_funasr_config(
        os.path.join(out_dir, "config.yaml"), conf, tokenizer=True
    )
    _write(
        os.path.join(out_dir, "tokens.txt"),
        "\n".join(EMOTION2VEC_PLUS_LABELS) + "\n",
    )
    _write_configuration_json(
        os.path.join(out_dir, "configuration.json"),
        {
            "init_param": "model.pt",
            "config": "config.yaml",
            "tokenizer_conf": {"token_list": "tokens.txt"},
        },
    )
    _write(
        os.path.join(out_dir, "README.md"),
        "# emotion2vec+ (tiny random copy for tests)\n",
    )
    return out_dir


# ---------------------------------------------------------------------- #
# SpeechBrain speaker model
# ---------------------------------------------------------------------- #
SPKREC_HYPERPARAMS = """\
# ############################################################################
# Model: ECAPA big for Speaker verification
# (tiny random copy of speechbrain/spkrec-ecapa-voxceleb, for tests)
# ############################################################################

# Feature parameters
n_mels: {n_mels}

# Pretrain folder (HuggingFace)
pretrained_path: speechbrain/spkrec-ecapa-voxceleb

# Output parameters
out_n_neurons: {num_speakers}

# Model params
compute_features: !new:speechbrain.lobes.features.Fbank
    n_mels: !ref <n_mels>

mean_var_norm: !new:speechbrain.processing.features.InputNormalization
    norm_type: sentence
    std_norm: False

embedding_model: !new:speechbrain.lobes.models.ECAPA_TDNN.ECAPA_TDNN
    input_size: !ref <n_mels>
    channels: {channels}
    kernel_sizes: [5, 3, 3, 3, 1]
    dilations: [1, 2, 3, 4, 1]
    attention_channels: 128
    lin_neurons: {lin_neurons}

classifier: !new:speechbrain.lobes.models.ECAPA_TDNN.Classifier
    input_size: {lin_neurons}
    out_neurons: !ref <out_n_neurons>

mean_var_norm_emb: !new:speechbrain.processing.features.InputNormalization
    norm_type: global
    std_norm: False

modules:
    compute_features: !ref <compute_features>
    mean_var_norm: !ref <mean_var_norm>
    embedding_model: !ref <embedding_model>
    mean_var_norm_emb: !ref <mean_var_norm_emb>
    classifier: !ref <classifier>

label_encoder: !new:speechbrain.dataio.encoder.CategoricalEncoder


pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer
    loadables:
        embedding_model: !ref <embedding_model>
        mean_var_norm_emb: !ref <mean_var_norm_emb>
        classifier: !ref <classifier>
        label_encoder: !ref <label_encoder>
    paths:
        embedding_model: !ref <pretrained_path>/embedding_model.ckpt
        mean_var_norm_emb: !ref <pretrained_path>/mean_var_norm_emb.ckpt
        classifier: !ref <pretrained_path>/classifier.ckpt
        label_encoder: !ref <pretrained_path>/label_encoder.txt
"""


def make_spkrec_ecapa_voxceleb(
    out_dir,
    n_mels=40,
    channels=(16, 16, 16, 16, 48),
    lin_neurons=16,
    num_speakers=5,
    seed=0,
):
    """A tiny ``speechbrain/spkrec-ecapa-voxceleb`` repository.

    Arguments
    ---------
    out_dir : str
        Output folder (created).
    n_mels : int
        Filterbank size (80 in the real model).
    channels : sequence of int
        ECAPA-TDNN channels ([1024] * 4 + [3072] in the real model).
    lin_neurons : int
        Embedding size (192).
    num_speakers : int
        Classifier outputs (7205 VoxCeleb speakers).
    seed : int
        Seed of the weights.

    Returns
    -------
    str
        ``out_dir``.
    """
    from speechbrain.dataio.encoder import CategoricalEncoder
    from speechbrain.lobes.models.ECAPA_TDNN import ECAPA_TDNN, Classifier

    os.makedirs(out_dir, exist_ok=True)
    embedding_model, classifier = _seeded(
        seed,
        lambda: (
            ECAPA_TDNN(
                n_mels,
                channels=list(channels),
                kernel_sizes=[5, 3, 3, 3, 1],
                dilations=[1, 2, 3, 4, 1],
                attention_channels=128,
                lin_neurons=lin_neurons,
            ),
            Classifier(lin_neurons, out_neurons=num_speakers),
        ),
    )
    torch.save(
        embedding_model.state_dict(),
        os.path.join(out_dir, "embedding_model.ckpt"),
    )
    torch.save(
        classifier.state_dict(), os.path.join(out_dir, "classifier.ckpt")
    )
    # InputNormalization statistics, in the format of the released file
    stats = _seeded(seed + 1, lambda: torch.randn(lin_neurons))
    torch.save(
        {
            "count": 1000,
            "glob_mean": stats,
            "glob_std": torch.ones(lin_neurons),
            "spk_dict_mean": {},
            "spk_dict_std": {},
            "spk_dict_count": {},
        },
        os.path.join(out_dir, "mean_var_norm_emb.ckpt"),
    )
    encoder = CategoricalEncoder()
    encoder.update_from_iterable([f"id1{i:04d}" for i in range(num_speakers)])
    encoder.save(os.path.join(out_dir, "label_encoder.txt"))
    _write(
        os.path.join(out_dir, "hyperparams.yaml"),
        SPKREC_HYPERPARAMS.format(
            n_mels=n_mels,
            num_speakers=num_speakers,
            channels=list(channels),
            lin_neurons=lin_neurons,
        ),
    )
    _write(
        os.path.join(out_dir, "README.md"),
        "# spkrec-ecapa-voxceleb (tiny random copy for tests)\n",
    )
    return out_dir


# ---------------------------------------------------------------------- #
# PaSST releases (kkoutini/PaSST, loaded by hear21passt)
# ---------------------------------------------------------------------- #
PASST_RELEASES = {
    "passt-s-f128-p16-s10-ap.476-swa.pt": 10,
    "passt-s-f128-p16-s16-ap.468.pt": 16,
}
"""Release file name -> patch stride."""


def make_passt_release(
    out_dir,
    name="passt-s-f128-p16-s10-ap.476-swa.pt",
    embed_dim=16,
    depth=1,
    num_heads=2,
    num_classes=527,
    seed=0,
):
    """A tiny PaSST AudioSet release file (flat hear21passt state dict).

    Arguments
    ---------
    out_dir : str
        Output folder (created).
    name : str
        A file name of ``PASST_RELEASES`` (sets the stride).
    embed_dim, depth, num_heads : int
        Transformer size (768, 12, 12 in the releases).
    num_classes : int
        AudioSet classes of the heads.
    seed : int
        Seed of the weights.

    Returns
    -------
    str
        The checkpoint path.
    """
    from speechbrain_style.lobes.passt import PaSST

    stride = PASST_RELEASES[name]
    model = _seeded(
        seed,
        lambda: PaSST(
            stride=stride, embed_dim=embed_dim, depth=depth, num_heads=num_heads
        ),
    )
    state = dict(model.state_dict())
    heads = _seeded(
        seed + 1,
        lambda: {
            "head.0.weight": torch.ones(embed_dim),
            "head.0.bias": torch.zeros(embed_dim),
            "head.1.weight": 0.02 * torch.randn(num_classes, embed_dim),
            "head.1.bias": torch.zeros(num_classes),
            "head_dist.weight": 0.02 * torch.randn(num_classes, embed_dim),
            "head_dist.bias": torch.zeros(num_classes),
        },
    )
    state.update(heads)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name)
    torch.save(state, path)
    return path


# ---------------------------------------------------------------------- #
# Hugging Face text encoders
# ---------------------------------------------------------------------- #
def _tiny_config(config_class, vocab_size, **kwargs):
    """A tiny transformers config."""
    return config_class(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=130,
        **kwargs,
    )


def make_bert_base_uncased(out_dir, seed=0):
    """A tiny ``google-bert/bert-base-uncased`` repository.

    The weights are ``BertForPreTraining``'s (``bert.*``, the MLM head
    ``cls.predictions.*`` and the next-sentence head
    ``cls.seq_relationship.*``), the tokenizer a lower-casing WordPiece one
    as ``vocab.txt`` and ``tokenizer.json``.

    Arguments
    ---------
    out_dir : str
        Output folder (created).
    seed : int
        Seed of the weights.

    Returns
    -------
    str
        ``out_dir``.
    """
    import transformers
    from tokenizers import BertWordPieceTokenizer
    from tokenizers.processors import BertProcessing

    os.makedirs(out_dir, exist_ok=True)
    trainer = BertWordPieceTokenizer(lowercase=True)
    trainer.train_from_iterator(
        tiny_corpus(), vocab_size=400, min_frequency=1, show_progress=False
    )
    trainer.save_model(out_dir)  # vocab.txt
    trainer.post_processor = BertProcessing(
        ("[SEP]", trainer.token_to_id("[SEP]")),
        ("[CLS]", trainer.token_to_id("[CLS]")),
    )
    trainer.save(os.path.join(out_dir, "tokenizer.json"))
    _write(
        os.path.join(out_dir, "tokenizer_config.json"),
        json.dumps({"do_lower_case": True, "model_max_length": 512}),
    )
    config = _tiny_config(
        transformers.BertConfig, trainer.get_vocab_size(), pad_token_id=0
    )
    config.architectures = ["BertForMaskedLM"]
    model = _seeded(seed, lambda: transformers.BertForPreTraining(config))
    model.save_pretrained(out_dir)
    return out_dir


def make_roberta_base(out_dir, seed=0):
    """A tiny ``FacebookAI/roberta-base`` repository.

    ``RobertaForMaskedLM`` weights (``roberta.*`` and the MLM head
    ``lm_head.*``), the byte-level BPE tokenizer as ``vocab.json`` +
    ``merges.txt`` and ``tokenizer.json``, fairseq's ``dict.txt``, and no
    ``tokenizer_config.json`` (the hub repository has none).

    Arguments
    ---------
    out_dir : str
        Output folder (created).
    seed : int
        Seed of the weights.

    Returns
    -------
    str
        ``out_dir``.
    """
    import transformers
    from tokenizers import ByteLevelBPETokenizer
    from tokenizers.processors import RobertaProcessing

    os.makedirs(out_dir, exist_ok=True)
    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(
        tiny_corpus(),
        vocab_size=500,
        min_frequency=1,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        show_progress=False,
    )
    trainer.save_model(out_dir)  # vocab.json, merges.txt
    trainer.post_processor = RobertaProcessing(
        ("</s>", trainer.token_to_id("</s>")),
        ("<s>", trainer.token_to_id("<s>")),
    )
    trainer.save(os.path.join(out_dir, "tokenizer.json"))
    vocab = trainer.get_vocab()
    _write(
        os.path.join(out_dir, "dict.txt"),
        "".join(f"{i} {100 - i % 50}\n" for i in range(4, len(vocab))),
    )
    config = _tiny_config(
        transformers.RobertaConfig,
        trainer.get_vocab_size(),
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    config.architectures = ["RobertaForMaskedLM"]
    model = _seeded(seed, lambda: transformers.RobertaForMaskedLM(config))
    model.save_pretrained(out_dir)
    return out_dir


def make_t5_v1_1(out_dir, extra_ids=100, seed=0):
    """A tiny ``google/t5-v1_1-base`` repository.

    ``T5ForConditionalGeneration`` weights (gated-GELU, untied LM head) as
    ``pytorch_model.bin``, and the tokenizer ONLY as ``spiece.model`` (a
    SentencePiece unigram model with pad 0, eos 1, unk 2) +
    ``tokenizer_config.json`` + ``special_tokens_map.json`` with the
    ``<extra_id_*>`` sentinels: no ``tokenizer.json``.

    Arguments
    ---------
    out_dir : str
        Output folder (created).
    extra_ids : int
        Sentinel tokens (100 in T5).
    seed : int
        Seed of the weights.

    Returns
    -------
    str
        ``out_dir``.
    """
    import sentencepiece
    import transformers

    os.makedirs(out_dir, exist_ok=True)
    model_bytes = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(tiny_corpus()),
        model_writer=model_bytes,
        vocab_size=300,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    with open(os.path.join(out_dir, "spiece.model"), "wb") as fout:
        fout.write(model_bytes.getvalue())
    pieces = sentencepiece.SentencePieceProcessor(
        model_proto=model_bytes.getvalue()
    ).get_piece_size()
    sentinels = [f"<extra_id_{i}>" for i in range(extra_ids)]
    special = {
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "additional_special_tokens": sentinels,
    }
    _write(
        os.path.join(out_dir, "special_tokens_map.json"), json.dumps(special)
    )
    _write(
        os.path.join(out_dir, "tokenizer_config.json"),
        json.dumps(
            {**special, "extra_ids": extra_ids, "model_max_length": 512}
        ),
    )
    config = transformers.T5Config(
        vocab_size=pieces + extra_ids,
        d_model=32,
        d_kv=16,
        d_ff=64,
        num_layers=2,
        num_heads=2,
        relative_attention_num_buckets=8,
        feed_forward_proj="gated-gelu",
        tie_word_embeddings=False,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    config.architectures = ["T5ForConditionalGeneration"]
    model = _seeded(
        seed, lambda: transformers.T5ForConditionalGeneration(config)
    )
    config.save_pretrained(out_dir)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    torch.save(state, os.path.join(out_dir, "pytorch_model.bin"))
    return out_dir

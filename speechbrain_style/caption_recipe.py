"""What the text-audio retrieval recipes (Clotho, AudioCaps) share.

Both recipes train the seed's dual encoder (PaSST + RoBERTa, 2-layer MLP
heads, cross-entropy over the similarity matrix with every caption of a clip
as a positive) with ``StyleRetrievalBrain`` and evaluate it with
``CaptionRetrievalEvaluator``; they differ only in their prepare script and
yaml. This module holds:

* ``caption_dataio_prep``: datasets from caption manifests (one item per
  clip with a ``captions`` list). Training has one item per (clip,
  caption) pair, as in the seed, so a batch may hold several captions of
  one clip; every item carries its clip's index as ``speech_labels`` /
  ``text_labels``, which makes ``InfoNCELoss`` treat all pairs
  of the same clip as positives (the seed's hard targets). Validation and
  test have one item per clip with all its captions (the evaluation
  gallery) and, for the validation loss, its first caption.
* ``WarmupCosineScheduler`` (now in ``speechbrain_style.nnet.schedulers``,
  imported here for old imports): the seed's per-step learning-rate
  schedule.
* ``run_caption_recipe``: the whole ``train.py``.

The recipes no longer use this module: each ``train.py`` has its own
``dataio_prepare`` and Brain, built from ``speechbrain_style.dataio.captions``
(``expand_captions`` lives there now).

Authors
 * speechbrain-style contributors 2026
"""

import math
import os

import speechbrain as sb
import torch
from speechbrain.utils.logger import get_logger

from speechbrain_style.dataio.audio import load_manifest, make_audio_pipeline
from speechbrain_style.dataio.captions import expand_captions
from speechbrain_style.nnet.schedulers import WarmupCosineScheduler

logger = get_logger(__name__)

SPLITS = ("train", "valid", "test")


def caption_dataio_prep(hparams, data=None):
    """Train/valid/test datasets of a caption corpus.

    Expects hparams ``sample_rate``, ``crop_seconds`` (maximum training
    crop, None: whole clips), ``data_folder`` and, unless ``data`` is
    given, ``{train,valid,test}_annotation``.

    Arguments
    ---------
    hparams : dict
        The loaded hyperparameters.
    data : dict, optional
        ``{split: {clip_id: item}}`` already loaded.

    Returns
    -------
    dict
        ``{split: DynamicItemDataset}``. Output keys: ``id``, ``sig``,
        ``speech_labels`` (clip index), and ``description`` +
        ``text_labels`` (train: the pair's caption; valid: the
        clip's first caption), ``captions`` (valid, test).

    Example
    -------
    >>> import soundfile as sf
    >>> tmp = getfixture("tmp_path")
    >>> sf.write(tmp / "a.wav", [0.1, -0.1] * 4000, 16000)
    >>> clips = {"a": {"wav": str(tmp / "a.wav"), "captions": ["x", "y"]}}
    >>> hparams = {"sample_rate": 16000, "crop_seconds": 0.25}
    >>> sets = caption_dataio_prep(hparams, {s: clips for s in SPLITS})
    >>> item = sets["train"][1]
    >>> item["id"], item["description"], item["sig"].shape
    ('a#1', 'y', torch.Size([4000]))
    >>> sets["test"][0]["captions"], sets["test"][0]["sig"].shape
    (['x', 'y'], torch.Size([8000]))
    """
    if data is None:
        data = {
            split: load_manifest(
                hparams[f"{split}_annotation"],
                required_keys=("wav", "captions"),
                replacements={"data_root": hparams["data_folder"]},
            )
            for split in SPLITS
        }

    @sb.utils.data_pipeline.takes("clip_index")
    @sb.utils.data_pipeline.provides("speech_labels", "text_labels")
    def label_pipeline(clip_index):
        labels = torch.LongTensor([clip_index])
        yield labels
        yield labels

    @sb.utils.data_pipeline.takes("caption")
    @sb.utils.data_pipeline.provides("description")
    def description_pipeline(caption):
        return caption

    datasets = {}
    for split, clips in data.items():
        train = split == "train"
        if train:
            items = expand_captions(clips)
        else:
            items = {
                clip_id: dict(
                    item,
                    clip_index=index,
                    caption=(item.get("captions") or [""])[0],
                )
                for index, (clip_id, item) in enumerate(clips.items())
            }
        audio_pipeline = make_audio_pipeline(
            sample_rate=hparams["sample_rate"],
            crop_seconds=hparams.get("crop_seconds") if train else None,
            train=train,
            allow_silent=True,
        )
        keys = ["id", "sig", "speech_labels"]
        dynamic_items = [audio_pipeline, label_pipeline]
        if not split.startswith("test"):
            dynamic_items.append(description_pipeline)
            keys += ["description", "text_labels"]
        if not train:
            keys.append("captions")
        dataset = sb.dataio.dataset.DynamicItemDataset(
            items, dynamic_items=dynamic_items, output_keys=keys
        )
        if not train and any("duration" in it for it in items.values()):
            dataset = dataset.filtered_sorted(sort_key="duration")
        datasets[split] = dataset
        logger.info(f"{split}: {len(dataset)} items from {len(clips)} clips")
    return datasets


def run_caption_recipe(argv, prepare, prepare_keys=()):
    """The whole ``train.py`` of a caption recipe (Clotho, AudioCaps).

    Arguments
    ---------
    argv : list of str
        ``sys.argv[1:]``.
    prepare : callable
        ``prepare_<dataset>(data_folder, save_json_train, save_json_valid,
        save_json_test, skip_prep, ...)``.
    prepare_keys : tuple of str
        Extra ``prepare`` arguments taken from hparams of the same name.

    Returns
    -------
    StyleRetrievalBrain
        The trained brain.
    """
    from speechbrain.utils.distributed import run_on_main

    from speechbrain_style.recipe import (
        fit_export_evaluate,
        load_recipe_hparams,
    )

    hparams, run_opts = load_recipe_hparams(argv)
    kwargs = {
        "data_folder": hparams["data_folder"],
        "save_json_train": hparams["train_annotation"],
        "save_json_valid": hparams["valid_annotation"],
        "save_json_test": hparams["test_annotation"],
        "skip_prep": hparams["skip_prep"],
    }
    kwargs.update({key: hparams[key] for key in prepare_keys})
    run_on_main(prepare, kwargs=kwargs)
    datasets = caption_dataio_prep(hparams)
    # batches per epoch and process (DDP shards the training set)
    loader = hparams["train_dataloader_opts"]
    per_process = len(datasets["train"]) / int(os.environ.get("WORLD_SIZE", 1))
    batches = per_process // loader["batch_size"]
    if not loader.get("drop_last", False):
        batches = math.ceil(per_process / loader["batch_size"])
    for name in ("encoder_lr_scheduler", "heads_lr_scheduler"):
        scheduler = hparams.get(name)
        if isinstance(scheduler, WarmupCosineScheduler):
            scheduler.steps_per_epoch = max(1, int(batches))
    return fit_export_evaluate(hparams, run_opts, datasets)

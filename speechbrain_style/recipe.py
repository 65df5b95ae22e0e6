"""What every recipe's ``train.py`` does after data preparation.

Recipes differ in their data (prepare script, manifests, labels and
descriptions); training, export and evaluation are the same, so they live
here and the recipes stay thin:

* ``categorical_dataio_prep``: datasets for corpora with one categorical
  style label per utterance (ESD, Expresso, IEMOCAP): audio (with segment
  bounds and channel when the manifest has them, random crops for
  training), labels, and one random description per utterance per step;
* ``dimensional_dataio_prep``: datasets for corpora with valence and
  arousal values (MSP-Podcast, IEMOCAP): descriptions generated from the
  values, the values themselves for the Rank-N-Contrast loss;
* ``fit_export_evaluate``: train with ``StyleRetrievalBrain``, write the
  inference folder, evaluate the best checkpoint on the test set(s).

Authors
 * speechbrain-style contributors 2026
"""

import speechbrain as sb
from speechbrain.utils.logger import get_logger

from speechbrain_style.brain import StyleRetrievalBrain
from speechbrain_style.dataio.audio import load_manifest, make_audio_pipeline

logger = get_logger(__name__)

SPLITS = ("train", "valid", "test")


def categorical_dataio_prep(
    hparams, classes, required_keys=("wav", "style"), data=None
):
    """Datasets of a categorical-style corpus, one per split.

    Expects hparams ``data_folder``, ``sample_rate``, ``crop_seconds`` and,
    unless ``data`` is given, ``{train,valid,test}_annotation``. Manifest
    items need ``wav`` and ``style``; ``start``/``stop`` (seconds) and
    ``channel`` are honoured when present. The ``train`` split gets random
    crops and one random description per utterance per step, ``valid``
    gets descriptions too (for its loss), test splits only audio and labels.

    Arguments
    ---------
    hparams : dict
        The loaded hyperparameters.
    classes : list of str
        The style classes (order defines the label indices).
    required_keys : tuple of str
        Fields every manifest item must have (checked with a clear error).
    data : dict, optional
        ``{split: {item_id: item}}`` already loaded (placeholders replaced);
        any split name starting with "test" is a test set.

    Returns
    -------
    dict
        ``{split: DynamicItemDataset}``.
    """
    from speechbrain_style.prompts.emotion import (
        make_style_description_pipeline,
        make_style_label_pipeline,
    )

    if data is None:
        data = {
            split: load_manifest(
                hparams[f"{split}_annotation"],
                required_keys=required_keys,
                replacements={"data_root": hparams["data_folder"]},
            )
            for split in SPLITS
        }
    label_pipeline = make_style_label_pipeline(classes)
    description_pipeline = make_style_description_pipeline(
        classes, bank="train"
    )
    datasets = {}
    for split, items in data.items():
        styles = {item["style"] for item in items.values()}
        unknown = sorted(styles - set(classes))
        if unknown:
            raise ValueError(
                f"Split '{split}': styles {unknown} are not in the recipe's "
                f"classes {list(classes)}"
            )
        train = split == "train"
        has_bounds = any("start" in item for item in items.values())
        has_channel = any(
            item.get("channel") is not None for item in items.values()
        )
        audio_pipeline = make_audio_pipeline(
            sample_rate=hparams["sample_rate"],
            crop_seconds=hparams["crop_seconds"] if train else None,
            train=train,
            time_bounds=has_bounds,
            channel=has_channel,
        )
        keys = ["id", "sig", "style", "speech_labels", "style_index"]
        dynamic_items = [audio_pipeline, label_pipeline]
        if not split.startswith("test"):
            dynamic_items.append(description_pipeline)
            keys += ["description", "text_labels"]
        dataset = sb.dataio.dataset.DynamicItemDataset(
            items, dynamic_items=dynamic_items, output_keys=keys
        )
        if not train and any("duration" in it for it in items.values()):
            dataset = dataset.filtered_sorted(sort_key="duration")
        datasets[split] = dataset
    return datasets


def fit_export_evaluate(
    hparams, run_opts, datasets, description_bank=None, brain_class=None
):
    """Trains, writes the inference folder and evaluates on the test set.

    Arguments
    ---------
    hparams : dict
        Loaded hyperparameters with ``modules``, ``checkpointer``,
        ``epoch_counter``, ``inference_folder``, ``sample_rate`` and the
        ``{train,valid,test}_dataloader_opts``.
    run_opts : dict
        SpeechBrain run options.
    datasets : dict
        ``train``, ``valid`` and one or more ``test*`` datasets (each test
        set is evaluated and written as ``retrieval_<name>``).
    description_bank : list of str, optional
        Descriptions saved with the model for ``speechbrain-style describe``.
    brain_class : type, optional
        Brain class (default ``StyleRetrievalBrain``).

    Returns
    -------
    StyleRetrievalBrain
        The trained brain (``test_results`` holds the last evaluation).
    """
    brain_class = brain_class or StyleRetrievalBrain
    brain = brain_class(
        modules=hparams["modules"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    brain.fit(
        brain.hparams.epoch_counter,
        datasets["train"],
        datasets["valid"],
        train_loader_kwargs=hparams["train_dataloader_opts"],
        valid_loader_kwargs=hparams["valid_dataloader_opts"],
    )
    extra = {"sample_rate": hparams["sample_rate"]}
    if description_bank is not None:
        extra["description_bank"] = list(description_bank)
    brain.export_inference(hparams["inference_folder"], extra=extra)
    for name, dataset in datasets.items():
        if name.startswith("test"):
            brain.eval_tag = name
            brain.evaluate(
                dataset,
                max_key="retrieval_score",
                test_loader_kwargs=hparams["test_dataloader_opts"],
            )
    return brain


def load_recipe_hparams(argv):
    """Parses the command line, starts DDP, loads the yaml, makes the
    experiment folder: steps 1-3 of every SpeechBrain ``train.py``.

    Arguments
    ---------
    argv : list of str
        ``sys.argv[1:]``.

    Returns
    -------
    hparams : dict
    run_opts : dict
    """
    from hyperpyyaml import load_hyperpyyaml

    hparams_file, run_opts, overrides = sb.parse_arguments(argv)
    sb.utils.distributed.ddp_init_group(run_opts)
    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    return hparams, run_opts


def prepare_kwargs(hparams, prepare_keys=()):
    """The arguments of a recipe's ``prepare_<dataset>`` from its hparams.

    Arguments
    ---------
    hparams : dict
        Needs ``data_folder``, ``{train,valid,test}_annotation`` and
        ``skip_prep``.
    prepare_keys : tuple
        Extra arguments taken from hparams of the same name, or
        ``(argument, hparams_key)`` pairs.

    Returns
    -------
    dict

    Example
    -------
    >>> hparams = {"data_folder": "data", "train_annotation": "tr.json",
    ...            "valid_annotation": "va.json", "test_annotation": "te.json",
    ...            "skip_prep": False, "fold": 5}
    >>> prepare_kwargs(hparams, [("test_session", "fold")])["test_session"]
    5
    """
    kwargs = {
        "data_folder": hparams["data_folder"],
        "save_json_train": hparams["train_annotation"],
        "save_json_valid": hparams["valid_annotation"],
        "save_json_test": hparams["test_annotation"],
        "skip_prep": hparams["skip_prep"],
    }
    for key in prepare_keys:
        arg, hkey = (key, key) if isinstance(key, str) else key
        kwargs[arg] = hparams[hkey]
    return kwargs


def run_categorical_recipe(argv, prepare, prepare_keys=()):
    """The whole ``train.py`` of a categorical-style corpus recipe.

    Arguments
    ---------
    argv : list of str
        ``sys.argv[1:]``.
    prepare : callable
        The recipe's ``prepare_<dataset>(data_folder, save_json_train,
        save_json_valid, save_json_test, skip_prep, ...)``.
    prepare_keys : tuple
        Extra ``prepare`` arguments taken from hparams of the same name, or
        ``(argument, hparams_key)`` pairs.

    Returns
    -------
    StyleRetrievalBrain
    """
    from speechbrain.utils.distributed import run_on_main

    from speechbrain_style.prompts.emotion import style_description_bank

    hparams, run_opts = load_recipe_hparams(argv)
    run_on_main(prepare, kwargs=prepare_kwargs(hparams, prepare_keys))
    datasets = categorical_dataio_prep(hparams, hparams["classes"])
    return fit_export_evaluate(
        hparams,
        run_opts,
        datasets,
        description_bank=style_description_bank(hparams["classes"]),
    )


def speaker_dataio_prep(hparams, description_fields):
    """Train/valid/test datasets of a speaker-text retrieval corpus.

    Every utterance gets its speaker's index (training speakers first, so
    that a speaker classifier sized ``num_train_speakers`` covers them) as
    ``speech_labels`` / ``speaker_index`` (same-speaker pairs are positives
    for the label-aware loss), and, outside the test set, one random
    description of its speaker per step.

    Arguments
    ---------
    hparams : dict
        Needs ``{train,valid,test}_annotation``, ``data_folder``,
        ``sample_rate``, ``crop_seconds``, ``num_train_speakers`` and the
        ``retrieval_evaluator`` (its fields are output for evaluation).
    description_fields : tuple of str
        Manifest fields the descriptions use, ``spk_id`` first.

    Returns
    -------
    dict
        ``{"train": ..., "valid": ..., "test": ...}`` DynamicItemDatasets.
    """
    import torch

    from speechbrain_style.prompts.speaker import (
        SpeakerDescriber,
        make_speaker_description_pipeline,
    )

    data = {
        split: load_manifest(
            hparams[f"{split}_annotation"],
            required_keys=("wav", *description_fields),
            replacements={"data_root": hparams["data_folder"]},
        )
        for split in SPLITS
    }
    train_speakers = sorted({it["spk_id"] for it in data["train"].values()})
    if len(train_speakers) > hparams["num_train_speakers"]:
        raise ValueError(
            f"{len(train_speakers)} training speakers but "
            f"num_train_speakers is {hparams['num_train_speakers']}"
        )
    others = sorted(
        {it["spk_id"] for split in SPLITS for it in data[split].values()}
        - set(train_speakers)
    )
    speaker_index = {s: i for i, s in enumerate(train_speakers + others)}

    @sb.utils.data_pipeline.takes("spk_id")
    @sb.utils.data_pipeline.provides("speech_labels", "speaker_index")
    def speaker_pipeline(spk_id):
        yield torch.LongTensor([speaker_index[spk_id]])
        yield speaker_index[spk_id]

    description_pipeline = make_speaker_description_pipeline(
        SpeakerDescriber(bank="train"),
        fields=description_fields,
        speaker_index=speaker_index,
    )
    eval_fields = list(hparams["retrieval_evaluator"].fields)
    datasets = {}
    for split, items in data.items():
        train = split == "train"
        audio_pipeline = make_audio_pipeline(
            sample_rate=hparams["sample_rate"],
            crop_seconds=hparams["crop_seconds"] if train else None,
            train=train,
        )
        keys = ["id", "sig", "speech_labels", "speaker_index", *eval_fields]
        dynamic_items = [audio_pipeline, speaker_pipeline]
        if split != "test":
            dynamic_items.append(description_pipeline)
            keys += ["description", "text_labels"]
        dataset = sb.dataio.dataset.DynamicItemDataset(
            items, dynamic_items=dynamic_items, output_keys=sorted(set(keys))
        )
        if not train and any("duration" in it for it in items.values()):
            dataset = dataset.filtered_sorted(sort_key="duration")
        datasets[split] = dataset
    return datasets


def dimensional_dataio_prep(hparams, describer):
    """Datasets of a corpus with valence and arousal values, per split.

    Items without a valence or arousal value are left out (counted and
    logged per split). Training and validation items get one description
    of their values per step (``describer``, its train bank), the values
    themselves as ``ordinal_values`` (for the Rank-N-Contrast loss) and
    their (valence level, arousal level) as ``speech_labels`` /
    ``text_labels`` (same-cell pairs are positives for the
    label-aware contrastive loss); every split outputs ``valence`` and
    ``arousal`` for the evaluation.

    Arguments
    ---------
    hparams : dict
        Needs ``{train,valid,test}_annotation``, ``data_folder``,
        ``sample_rate`` and ``crop_seconds``.
    describer : speechbrain_style.prompts.dimensional.DimensionalDescriber
        Bins, prompt bank and optional captions.

    Returns
    -------
    dict
        ``{split: DynamicItemDataset}``.
    """
    import torch

    from speechbrain_style.prompts.dimensional import (
        make_dimensional_description_pipeline,
    )

    @sb.utils.data_pipeline.takes("valence", "arousal")
    @sb.utils.data_pipeline.provides("speech_labels", "text_labels")
    def level_pipeline(valence, arousal):
        levels = torch.LongTensor(
            [
                describer.level("valence", valence),
                describer.level("arousal", arousal),
            ]
        )
        yield levels
        yield levels

    description_pipeline = make_dimensional_description_pipeline(describer)
    datasets = {}
    for split in SPLITS:
        items = load_manifest(
            hparams[f"{split}_annotation"],
            required_keys=("wav", "valence", "arousal"),
            replacements={"data_root": hparams["data_folder"]},
        )
        kept = {
            item_id: item
            for item_id, item in items.items()
            if item["valence"] is not None and item["arousal"] is not None
        }
        if len(kept) < len(items):
            logger.warning(
                f"Split '{split}': {len(items) - len(kept)} of {len(items)} "
                "items have no valence/arousal value and are left out"
            )
        if not kept:
            raise ValueError(
                f"Split '{split}' ({hparams[f'{split}_annotation']}) has no "
                "item with valence and arousal values"
            )
        train = split == "train"
        audio_pipeline = make_audio_pipeline(
            sample_rate=hparams["sample_rate"],
            crop_seconds=hparams["crop_seconds"] if train else None,
            train=train,
            time_bounds=any("start" in item for item in kept.values()),
            channel=any(
                item.get("channel") is not None for item in kept.values()
            ),
        )
        keys = ["id", "sig", "valence", "arousal"]
        dynamic_items = [audio_pipeline]
        if split != "test":
            dynamic_items += [description_pipeline, level_pipeline]
            keys += [
                "description",
                "ordinal_values",
                "speech_labels",
                "text_labels",
            ]
        dataset = sb.dataio.dataset.DynamicItemDataset(
            kept, dynamic_items=dynamic_items, output_keys=keys
        )
        if not train and any("duration" in it for it in kept.values()):
            dataset = dataset.filtered_sorted(sort_key="duration")
        datasets[split] = dataset
    return datasets


def run_dimensional_recipe(argv, prepare, prepare_keys=()):
    """The whole ``train.py`` of a recipe with valence/arousal labels.

    The yaml provides a ``describer``
    (:class:`speechbrain_style.prompts.dimensional.DimensionalDescriber`:
    bins of its scale, optional captions file), the losses (InfoNCE, plus
    ``rank_loss_weight`` * Rank-N-Contrast) and a
    :class:`speechbrain_style.evaluation.dimensional.DimensionalEvaluator`.

    Arguments
    ---------
    argv : list of str
        ``sys.argv[1:]``.
    prepare : callable
        The recipe's ``prepare_<dataset>``.
    prepare_keys : tuple
        See :func:`prepare_kwargs`.

    Returns
    -------
    StyleRetrievalBrain
    """
    from speechbrain.utils.distributed import run_on_main

    hparams, run_opts = load_recipe_hparams(argv)
    run_on_main(prepare, kwargs=prepare_kwargs(hparams, prepare_keys))
    describer = hparams["describer"]
    datasets = dimensional_dataio_prep(hparams, describer)
    return fit_export_evaluate(
        hparams,
        run_opts,
        datasets,
        description_bank=describer.description_bank(),
    )

#!/usr/bin/env python3
"""Recipe: expressive speech retrieval trained on IEMOCAP + ESD + Expresso.

As in *Expressive Speech Retrieval using Natural Language Descriptions of
Speaking Style* (Kang & Roy, ASRU 2025), one model is trained on the union
of the three corpora (23 style classes; ESD's "surprise" is the same class
as IEMOCAP's "surprised"), with balanced sampling across corpora (each
corpus contributes the same expected number of utterances per epoch,
whatever its size), and evaluated on each corpus' test set separately
(``retrieval_test_esd.txt``, ``retrieval_test_expresso.txt``,
``retrieval_test_iemocap.txt``). The losses are those of the single-corpus
recipes: label-aware symmetric InfoNCE, an auxiliary style classifier and a
gradient-reversal modality discriminator. Each corpus is prepared by its
own recipe's prepare script (``recipes/ESD``, ``recipes/Expresso``,
``recipes/IEMOCAP``).

To run this recipe:
> python train.py hparams/joint_roberta.yaml --esd_folder=/data/ESD \
>     --expresso_folder=/data/expresso \
>     --iemocap_folder=/data/IEMOCAP_full_release

Authors
 * speechbrain-style contributors 2026
"""

import os
import sys

import speechbrain as sb
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.dataio.sampler import ReproducibleWeightedRandomSampler
from speechbrain.utils.distributed import run_on_main

from speechbrain_style.brain import StyleRetrievalBrain
from speechbrain_style.dataio.manifest import load_manifest
from speechbrain_style.dataio.pipelines import (
    check_label_values,
    make_manifest_audio_pipeline,
)
from speechbrain_style.prompts.emotion import (
    make_style_description_pipeline,
    make_style_label_pipeline,
    style_description_bank,
)

# The corpus recipes' prepare scripts
RECIPES = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for name in ("ESD", "Expresso", "IEMOCAP"):
    sys.path.append(os.path.join(RECIPES, name))

from esd_prepare import prepare_esd  # noqa: E402
from expresso_prepare import prepare_expresso  # noqa: E402
from iemocap_prepare import prepare_iemocap  # noqa: E402

CORPORA = ("esd", "expresso", "iemocap")
"""The corpora, in the order their items are merged."""


class ExpressiveRetrievalBrain(StyleRetrievalBrain):
    """Speech-text retrieval of the three corpora's style classes, with the
    paper's auxiliary style classifier and modality discriminator.

    Each auxiliary loss is on when its module is in ``modules``, its weight
    is nonzero and the epoch has reached its ``<name>_start_epoch``.
    """

    def compute_forward(self, batch, stage):
        """Embeds the speech and, outside the test, its descriptions."""
        batch = batch.to(self.device)
        wavs, wav_lens = batch.sig
        speech = self.embed_speech(wavs, wav_lens)
        text = None
        if stage != sb.Stage.TEST:
            text = self.embed_text(batch.description)
        if stage != sb.Stage.TRAIN:
            self.collect_embeddings(
                batch, speech[-1], self.hparams.retrieval_evaluator.fields
            )
        return speech, text

    def compute_objectives(self, predictions, batch, stage):
        """InfoNCE (same-class pairs are positives) + auxiliary losses."""
        speech, text = predictions
        if text is None:
            return self.no_loss()
        speech_labels = text_labels = None
        if self.hparams.label_aware:
            speech_labels = self.batch_tensor(batch, "speech_labels")
            text_labels = self.batch_tensor(batch, "text_labels")
        loss = self.contrastive_objective(
            self.hparams.contrastive_loss,
            speech,
            text,
            level_weights=self.hparams.loss_levels,
            speech_labels=speech_labels,
            text_labels=text_labels,
            gather=stage == sb.Stage.TRAIN,
        )
        if stage != sb.Stage.TRAIN:
            return loss
        epoch = self.hparams.epoch_counter.current
        if (
            "style_classifier" in self.modules
            and self.hparams.style_classifier_weight
            and epoch >= self.hparams.style_classifier_start_epoch
        ):
            # The style class from the speech embedding
            logits = self.modules.style_classifier(speech[-1].float())
            targets = self.batch_tensor(batch, "style_index").long().view(-1)
            loss = loss + self.hparams.style_classifier_weight * (
                torch.nn.functional.cross_entropy(logits, targets)
            )
        if (
            "modality_discriminator" in self.modules
            and self.hparams.modality_discriminator_weight
            and epoch >= self.hparams.modality_discriminator_start_epoch
        ):
            # Speech (1) vs text (0); the gradient reversal inside the
            # discriminator makes the encoders confuse the two modalities.
            embeddings = torch.cat([speech[-1], text[-1]]).float()
            targets = torch.cat(
                [torch.ones(len(speech[-1])), torch.zeros(len(text[-1]))]
            ).to(self.device)
            logits = self.modules.modality_discriminator(embeddings).view(-1)
            loss = loss + self.hparams.modality_discriminator_weight * (
                torch.nn.functional.binary_cross_entropy_with_logits(
                    logits, targets
                )
            )
        return loss

    def init_optimizers(self):
        """Encoders and heads (+ logit scale, auxiliary heads): two AdamW."""
        self.make_optimizers(
            self.hparams.encoder_opt_class, self.hparams.head_opt_class
        )

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Retrieval metrics; best checkpoint by the retrieval score."""
        stats = self.stage_stats(stage_loss)
        if stage == sb.Stage.TRAIN:
            self.train_stats = stats
            return
        # The test set being evaluated names the trials and result files
        results, retrieval_stats = self.evaluate_collected(
            self.hparams.retrieval_evaluator,
            stage,
            tag=getattr(self, "eval_tag", "test"),
        )
        stats.update(retrieval_stats)
        if stage == sb.Stage.VALID:
            self.log_and_checkpoint(self.hparams.train_logger, epoch, stats)
        else:
            self.write_test_results(
                self.hparams.train_logger,
                self.hparams.epoch_counter.current,
                results,
                stats,
                self.hparams.output_folder,
            )


def manifest_path(hparams, corpus, split):
    """Where the manifest of a corpus' ``split`` is written.

    Arguments
    ---------
    hparams : dict
        Needs ``output_folder``.
    corpus : str
        One of ``CORPORA``.
    split : str
        "train", "valid" or "test".

    Returns
    -------
    str
        ``<output_folder>/<corpus>/<split>.json``.

    Example
    -------
    >>> manifest_path({"output_folder": "exp"}, "esd", "train")
    'exp/esd/train.json'
    """
    return os.path.join(hparams["output_folder"], corpus, f"{split}.json")


def prepare_kwargs(hparams, corpus):
    """The ``save_json_{train,valid,test}`` arguments of a corpus' prepare.

    Arguments
    ---------
    hparams : dict
        Needs ``output_folder``.
    corpus : str
        One of ``CORPORA``.

    Returns
    -------
    dict
    """
    return {
        f"save_json_{split}": manifest_path(hparams, corpus, split)
        for split in ("train", "valid", "test")
    }


def load_joint_data(hparams):
    """Loads and merges the three corpora's manifests.

    Train and valid are the unions of the corpora's splits; each corpus'
    test set stays apart (``test_<corpus>``). Item ids get the corpus as a
    prefix (``esd/0012_000351``), items a ``dataset`` field, and styles
    the yaml's ``style_aliases``.

    Arguments
    ---------
    hparams : dict
        Needs ``output_folder``, ``style_aliases`` and each corpus'
        ``<corpus>_folder``.

    Returns
    -------
    dict
        ``{"train": items, "valid": items, "test_esd": items, ...}``.
    """
    aliases = hparams["style_aliases"]
    data_roots = {
        "esd": hparams["esd_folder"],
        "expresso": hparams["expresso_folder"],
        "iemocap": hparams["iemocap_folder"],
    }
    data = {"train": {}, "valid": {}}
    for corpus in CORPORA:
        for split in ("train", "valid", "test"):
            items = load_manifest(
                manifest_path(hparams, corpus, split),
                required_keys=("wav", "style"),
                replacements={"data_root": data_roots[corpus]},
            )
            merged = {}
            for item_id, item in items.items():
                item = dict(item, dataset=corpus)
                item["style"] = aliases.get(item["style"], item["style"])
                merged[f"{corpus}/{item_id}"] = item
            if split == "test":
                data[f"test_{corpus}"] = merged
            else:
                data[split].update(merged)
    return data


def dataio_prepare(hparams):
    """Creates the joint train/valid sets and one test set per corpus.

    Every item yields its audio (its ``[start, stop)`` segment of its
    ``channel`` when the manifest gives them, as Expresso's does; a random
    crop of it in training), its class (``speech_labels``, ``style_index``)
    and, outside the test sets, a random description of its class from the
    training prompt bank (``description``, ``text_labels``), drawn anew at
    every epoch. A style (after ``style_aliases``) outside the yaml's
    ``classes`` is an error naming the split.

    Arguments
    ---------
    hparams : dict
        The loaded hyperparameters.

    Returns
    -------
    datasets : dict
        ``{"train": ..., "valid": ..., "test_esd": ..., "test_expresso":
        ..., "test_iemocap": ...}`` DynamicItemDatasets.
    train_data : dict
        The training items (their ``dataset`` field drives the balanced
        sampler).
    """
    classes = hparams["classes"]
    data = load_joint_data(hparams)
    for split, items in data.items():
        # Upfront, not in a DataLoader worker mid-epoch
        check_label_values(items, classes, split)
    label_pipeline = make_style_label_pipeline(classes)
    description_pipeline = make_style_description_pipeline(classes, "train")
    datasets = {}
    for split, items in data.items():
        train = split == "train"
        audio_pipeline = make_manifest_audio_pipeline(
            items,
            sample_rate=hparams["sample_rate"],
            crop_seconds=hparams["crop_seconds"],
            train=train,
        )
        dynamic_items = [audio_pipeline, label_pipeline]
        keys = ["id", "sig", "style", "speech_labels", "style_index"]
        if not split.startswith("test"):
            dynamic_items.append(description_pipeline)
            keys += ["description", "text_labels"]
        dataset = sb.dataio.dataset.DynamicItemDataset(
            items, dynamic_items=dynamic_items, output_keys=keys
        )
        if not train and any("duration" in it for it in items.values()):
            # Less padding: evaluation embeddings do not depend on order.
            dataset = dataset.filtered_sorted(sort_key="duration")
        datasets[split] = dataset
    return datasets, data["train"]


def balanced_sampler(items, seed):
    """A sampler drawing every corpus equally often (with replacement).

    Each item is drawn with probability proportional to 1 / (number of
    items of its corpus), so each corpus contributes the same expected
    number of items per epoch, whatever its size.

    Arguments
    ---------
    items : dict
        ``{item_id: item}`` with a ``dataset`` field, in dataset order.
    seed : int
        Seed of the sampler (a new draw at every epoch).

    Returns
    -------
    speechbrain.dataio.sampler.ReproducibleWeightedRandomSampler

    Example
    -------
    >>> items = {"a": {"dataset": "x"}, "b": {"dataset": "x"},
    ...          "c": {"dataset": "y"}}
    >>> sampler = balanced_sampler(items, seed=1)
    >>> sampler.weights.tolist(), len(sampler)
    ([0.5, 0.5, 1.0], 3)
    """
    counts = {}
    for item in items.values():
        counts[item["dataset"]] = counts.get(item["dataset"], 0) + 1
    weights = [1.0 / counts[item["dataset"]] for item in items.values()]
    return ReproducibleWeightedRandomSampler(
        weights, num_samples=len(weights), replacement=True, seed=seed
    )


if __name__ == "__main__":
    hparams_file, run_opts, overrides = sb.parse_arguments(sys.argv[1:])
    sb.utils.distributed.ddp_init_group(run_opts)
    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )

    # Each corpus into <output_folder>/<corpus>/{train,valid,test}.json
    run_on_main(
        prepare_esd,
        kwargs={
            "data_folder": hparams["esd_folder"],
            "languages": hparams["languages"],
            "skip_prep": hparams["skip_prep"],
            **prepare_kwargs(hparams, "esd"),
        },
    )
    run_on_main(
        prepare_expresso,
        kwargs={
            "data_folder": hparams["expresso_folder"],
            "styles": hparams["expresso_styles"],
            "skip_prep": hparams["skip_prep"],
            **prepare_kwargs(hparams, "expresso"),
        },
    )
    run_on_main(
        prepare_iemocap,
        kwargs={
            "data_folder": hparams["iemocap_folder"],
            "test_session": hparams["iemocap_test_session"],
            "label_set": hparams["label_set"],
            "skip_prep": hparams["skip_prep"],
            **prepare_kwargs(hparams, "iemocap"),
        },
    )
    datasets, train_data = dataio_prepare(hparams)
    # Balanced sampling across corpora replaces the shuffling
    hparams["train_dataloader_opts"]["sampler"] = balanced_sampler(
        train_data, hparams["seed"]
    )
    hparams["train_dataloader_opts"]["shuffle"] = False

    brain = ExpressiveRetrievalBrain(
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
    brain.export_inference(
        hparams["inference_folder"],
        extra={
            "sample_rate": hparams["sample_rate"],
            "description_bank": style_description_bank(hparams["classes"]),
        },
    )
    # One evaluation (trials, table, plots) per corpus' test set
    for corpus in CORPORA:
        brain.eval_tag = f"test_{corpus}"
        brain.evaluate(
            datasets[f"test_{corpus}"],
            max_key="retrieval_score",
            test_loader_kwargs=hparams["test_dataloader_opts"],
        )

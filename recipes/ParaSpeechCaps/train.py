#!/usr/bin/env python3
"""Recipe: speech-text retrieval on ParaSpeechCaps' rich style descriptions.

ParaSpeechCaps annotates VoxCeleb, Expresso, EARS and Emilia speech with
one or two free-text style descriptions each (human-annotated
``train_base``, automatic ``train_scaled``) and intrinsic / situational
style tags. A speech encoder and a text encoder (any lobes, chosen in the
yaml) are trained with a multi-positive contrastive loss (every
description of an utterance is a positive; utterances sharing a
description are not negatives of each other for it). The test set
(``holdout``: unseen speakers) reports description retrieval in both
directions and per-tag accuracy of zero-shot classification (gender,
pitch, speaking rate, accent, intrinsic and situational tags). Long
recordings are embedded in fixed windows pooled by length outside
training, never cropped at random.

> python train.py hparams/paraspeechcaps_ecapa_minilm.yaml \
>     --data_folder=/data/paraspeechcaps --voxceleb_root=/data/voxceleb \
>     --expresso_root=/data/expresso --ears_root=/data/ears \
>     --emilia_root=/data/emilia

This script is recipes/Descriptions/train.py with the data preparation of
this corpus (tests/unittests/test_description_recipes.py keeps them so).

Authors
 * speechbrain-style contributors 2026
"""

import math
import os
import random
import sys

import speechbrain as sb
import torch
from hyperpyyaml import load_hyperpyyaml
from paraspeechcaps_prepare import prepare_paraspeechcaps
from speechbrain.utils.distributed import run_on_main
from speechbrain.utils.logger import get_logger

from speechbrain_style.brain import StyleRetrievalBrain, unwrap
from speechbrain_style.dataio.audio import load_audio_segment, random_crop
from speechbrain_style.dataio.descriptions import (
    check_transcript_option,
    with_transcript,
)
from speechbrain_style.dataio.windows import (
    embed_in_windows,
    seconds_to_samples,
)
from speechbrain_style.lobes.metadata import metadata_classes
from speechbrain_style.nnet.description_loss import (
    description_id_sets,
    normalise_description,
)

logger = get_logger(__name__)


class DescriptionBrain(StyleRetrievalBrain):
    """Retrieval by free-text descriptions, whole recordings in evaluation.

    Training embeds the random crops of the data pipeline; validation and
    test embed every recording whole, in fixed windows pooled by their
    length-weighted mean when it is longer than ``eval_window_seconds``.
    """

    def compute_forward(self, batch, stage):
        """Speech embeddings (windowed outside training) and descriptions."""
        batch = batch.to(self.device)
        wavs, wav_lens = batch.sig
        if stage == sb.Stage.TRAIN:
            speech = self.embed_speech(wavs, wav_lens)
        else:
            window, hop = seconds_to_samples(
                self.hparams.eval_window_seconds,
                self.hparams.eval_hop_seconds,
                self.hparams.sample_rate,
            )
            speech = embed_in_windows(
                self.embed_speech, wavs, wav_lens, window, hop
            )
            self.collect_embeddings(
                batch,
                self.retrieval_embedding(speech),
                self.hparams.retrieval_evaluator.fields,
            )
        text = None
        if hasattr(batch, "description"):
            text = self.embed_text(batch.description)
        return speech, text

    def compute_objectives(self, predictions, batch, stage):
        """Multi-positive InfoNCE at each head level (+ metadata classes).

        A recording's labels are the ids of all its descriptions, a
        description's label its id: every description of a recording is a
        positive of it (also when drawn for another recording). With
        ``classifier_fields``, training adds ``classifier_weight`` times the
        metadata classifier's loss on the searched speech embedding.
        """
        speech, text = predictions
        if text is None:  # test batches: retrieval metrics only
            return self.no_loss()
        loss = self.contrastive_objective(
            self.hparams.contrastive_loss,
            speech,
            text,
            level_weights=self.hparams.loss_levels,
            speech_labels=self.batch_tensor(batch, "speech_labels"),
            text_labels=self.batch_tensor(batch, "text_labels"),
            gather=stage == sb.Stage.TRAIN,
        )
        if stage == sb.Stage.TRAIN and "metadata_classifier" in self.modules:
            classifier = self.modules.metadata_classifier
            logits = classifier(self.retrieval_embedding(speech).float())
            loss = loss + self.hparams.classifier_weight * unwrap(
                classifier
            ).loss_from_logits(logits, self.batch_tensor(batch, "targets"))
        return loss

    def init_optimizers(self):
        """Encoders and heads (+ logit scale) get their own AdamW."""
        self.make_optimizers(
            self.hparams.encoder_opt_class, self.hparams.head_opt_class
        )

    def on_fit_batch_end(self, batch, outputs, loss, should_step):
        """Steps the per-step warm-up/decay schedules."""
        if should_step:
            self.step_schedulers(
                {
                    "encoder": self.hparams.encoder_lr_scheduler,
                    "heads": self.hparams.heads_lr_scheduler,
                }
            )

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Retrieval metrics; best checkpoint by the retrieval score."""
        stats = self.stage_stats(stage_loss)
        if stage == sb.Stage.TRAIN:
            self.train_stats = stats
            return
        results, retrieval_stats = self.evaluate_collected(
            self.hparams.retrieval_evaluator, stage
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


def dataio_prepare(hparams, replacements):
    """Datasets of the three splits, and the description vocabulary.

    Every distinct description (after ``normalise_description``) of any
    split gets an id; a recording's labels are the ids of its descriptions
    (padded to the most descriptions of any recording), a description's
    label is its id, so the loss knows every (recording, description) pair
    that is a positive.

    Arguments
    ---------
    hparams : dict
        The loaded hyperparameters.
    replacements : dict
        Values of the manifests' placeholders (``{"data_root": ...}``).

    Returns
    -------
    dict
        ``{"train", "valid", "test"}`` DynamicItemDatasets.
    """
    datasets = {
        split: sb.dataio.dataset.DynamicItemDataset.from_json(
            json_path=hparams[f"{split}_annotation"],
            replacements=replacements,
        )
        for split in ("train", "valid", "test")
    }
    vocabulary, width, manifest_fields = {}, 1, set()
    for dataset in datasets.values():
        for item in dataset.data.values():
            manifest_fields.update(item)
            width = max(width, len(item["descriptions"]))
            for text in item["descriptions"]:
                vocabulary.setdefault(
                    normalise_description(text), len(vocabulary)
                )
    evaluator = hparams["retrieval_evaluator"]
    description_field = evaluator.description_field
    fields = list(evaluator.zero_shot_fields)
    sample_rate = hparams["sample_rate"]
    crop_samples = int(round(hparams["crop_seconds"] * sample_rate))

    def load(wav, start, stop):
        """The recording, or its [start, stop) segment."""
        return load_audio_segment(
            wav, start or 0.0, stop, sample_rate=sample_rate, allow_silent=True
        )

    @sb.utils.data_pipeline.takes("wav", "start", "stop")
    @sb.utils.data_pipeline.provides("sig")
    def train_audio_pipeline(wav, start, stop):
        """A random crop of at most crop_seconds (a new one every epoch)."""
        return random_crop(load(wav, start, stop), crop_samples)

    @sb.utils.data_pipeline.takes("wav", "start", "stop")
    @sb.utils.data_pipeline.provides("sig")
    def eval_audio_pipeline(wav, start, stop):
        """The whole recording (no crop)."""
        return load(wav, start, stop)

    @sb.utils.data_pipeline.takes("descriptions")
    @sb.utils.data_pipeline.provides("speech_labels")
    def recording_label_pipeline(descriptions):
        """The ids of all the recording's descriptions, padded with -1."""
        return description_id_sets(descriptions, vocabulary, width)

    # quote the transcript into a share of the training descriptions
    transcript_field = hparams["transcript_field"]
    quote_probability = hparams["transcript_probability"]
    check_transcript_option(
        transcript_field, quote_probability, manifest_fields
    )
    quoting = (transcript_field,) if quote_probability else ()

    @sb.utils.data_pipeline.takes("descriptions", *quoting)
    @sb.utils.data_pipeline.provides("description", "text_labels")
    def train_description_pipeline(descriptions, transcript=None):
        """One random description of the recording (the transcript quoted
        into it with ``transcript_probability``), and its id."""
        text = random.choice(descriptions)
        label = vocabulary[normalise_description(text)]
        if transcript and random.random() < quote_probability:
            text = with_transcript(text, transcript, random)
        yield text
        yield torch.LongTensor([label])

    @sb.utils.data_pipeline.takes("descriptions")
    @sb.utils.data_pipeline.provides("description", "text_labels")
    def valid_description_pipeline(descriptions):
        """The first description (a deterministic validation loss)."""
        yield descriptions[0]
        yield torch.LongTensor(
            [vocabulary[normalise_description(descriptions[0])]]
        )

    @sb.utils.data_pipeline.takes("descriptions", *fields)
    @sb.utils.data_pipeline.provides("eval_labels")
    def eval_label_pipeline(descriptions, *values):
        """What the evaluator needs: descriptions and zero-shot fields."""
        labels = dict(zip(fields, values, strict=True))
        return {description_field: descriptions, **labels}

    # the metadata classifier's classes, from the training manifest
    classifier_fields = list(hparams["classifier_fields"] or [])
    if classifier_fields:
        classifier = hparams["metadata_classifier"]
        classifier.set_classes(
            metadata_classes(datasets["train"].data.values(), classifier_fields)
        )
        logger.info(f"Metadata classifier: {classifier.classes}")

    filters = dict(hparams["filters"] or {})
    for split, dataset in datasets.items():
        train = split == "train"
        keys = ["id", "sig", "speech_labels"]
        items = [train_audio_pipeline if train else eval_audio_pipeline]
        items.append(recording_label_pipeline)
        if train and classifier_fields:
            keys.append("targets")
            items.append(classifier.target_pipeline())
        if split != "test":
            keys += ["description", "text_labels"]
            items.append(
                train_description_pipeline
                if train
                else valid_description_pipeline
            )
        if not train:
            keys.append("eval_labels")
            items.append(eval_label_pipeline)
        for item in items:
            dataset.add_dynamic_item(item)
        dataset.set_output_keys(keys)
        if filters:
            dataset = dataset.filtered_sorted(
                key_test={
                    field: (lambda value, ok=tuple(allowed): value in ok)
                    for field, allowed in filters.items()
                }
            )
        if not train:
            # less padding; evaluation does not depend on the order
            dataset = dataset.filtered_sorted(sort_key="duration")
        if len(dataset) == 0:
            raise ValueError(f"No {split} item passes the filters {filters}")
        datasets[split] = dataset
        logger.info(f"{split}: {len(dataset)} recordings")
    return datasets


if __name__ == "__main__":
    # CLI, distributed setup, hyperparameters, experiment folder
    hparams_file, run_opts, overrides = sb.parse_arguments(sys.argv[1:])
    sb.utils.distributed.ddp_init_group(run_opts)
    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )

    # Annotations + the four audio roots -> manifests (main process)
    roots = {
        "voxceleb_root": hparams["voxceleb_root"],
        "expresso_root": hparams["expresso_root"],
        "ears_root": hparams["ears_root"],
        "emilia_root": hparams["emilia_root"],
    }
    run_on_main(
        prepare_paraspeechcaps,
        kwargs={
            "data_folder": hparams["data_folder"],
            "save_json_train": hparams["train_annotation"],
            "save_json_valid": hparams["valid_annotation"],
            "save_json_test": hparams["test_annotation"],
            "train_splits": hparams["train_splits"],
            "valid_split": hparams["valid_split"],
            "test_split": hparams["test_split"],
            "skip_prep": hparams["skip_prep"],
            **roots,
        },
    )
    # one placeholder per source corpus: {voxceleb_root}/voxceleb1/...
    datasets = dataio_prepare(hparams, replacements=roots)
    if not (hparams["classifier_fields"] and hparams["classifier_weight"]):
        # unused parameters would stall DistributedDataParallel
        hparams["modules"].pop("metadata_classifier", None)

    # Per-step learning-rate schedules: their length follows from the data
    loader = hparams["train_dataloader_opts"]
    per_process = len(datasets["train"]) / int(os.environ.get("WORLD_SIZE", 1))
    steps = per_process / loader["batch_size"]
    steps = int(steps) if loader.get("drop_last") else math.ceil(steps)
    for name in ("encoder_lr_scheduler", "heads_lr_scheduler"):
        hparams[name].num_training_steps = max(
            1, steps * hparams["number_of_epochs"]
        )

    brain = DescriptionBrain(
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

    # The inference folder: what describe, classify and index need
    train_texts = {}
    for item in datasets["train"].data.values():
        for text in item["descriptions"]:
            train_texts[text] = train_texts.get(text, 0) + 1
    bank = sorted(train_texts, key=lambda t: (-train_texts[t], t))
    brain.export_inference(
        hparams["inference_folder"],
        extra={
            "sample_rate": hparams["sample_rate"],
            "window_seconds": hparams["eval_window_seconds"],
            "hop_seconds": hparams["eval_hop_seconds"],
            "prompt_templates": list(hparams["zero_shot_templates"]),
            "description_bank": bank[: hparams["description_bank_size"]],
        },
    )

    # Test: description retrieval both ways, zero-shot fields
    brain.evaluate(
        datasets["test"],
        max_key="retrieval_score",
        test_loader_kwargs=hparams["test_dataloader_opts"],
    )

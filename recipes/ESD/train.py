#!/usr/bin/env python3
"""Recipe: expressive speech retrieval on ESD (Emotional Speech Dataset).

Trains a speech encoder (emotion2vec or ECAPA-TDNN) and a text encoder
(BERT, RoBERTa, T5 or Flan-T5) so that a description of a speaking style
("Spoken in a frustrated tone.") retrieves speech in that style, as in
*Expressive Speech Retrieval using Natural Language Descriptions of
Speaking Style* (Kang & Roy, ASRU 2025): a label-aware symmetric InfoNCE
between the two embedding spaces, an auxiliary style classifier on the
speech embedding and a gradient-reversal modality discriminator. The test
is the paper's per-class Recall@K on retrieval trials, both directions, with
the training and a held-out prompt bank.

To run this recipe:
> python train.py hparams/esd_roberta.yaml --data_folder=/path/to/ESD

Authors
 * speechbrain-style contributors 2026
"""

import sys

import speechbrain as sb
import torch
from esd_prepare import prepare_esd
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.distributed import run_on_main

from speechbrain_style.brain import StyleRetrievalBrain
from speechbrain_style.dataio.audio import make_audio_pipeline
from speechbrain_style.dataio.manifest import load_manifest
from speechbrain_style.dataio.pipelines import check_label_values
from speechbrain_style.prompts.emotion import (
    make_style_description_pipeline,
    make_style_label_pipeline,
    style_description_bank,
)


class ExpressiveRetrievalBrain(StyleRetrievalBrain):
    """Speech-text retrieval of emotion/style classes, with the paper's
    auxiliary style classifier and modality discriminator."""

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
                batch, self.retrieval_embedding(speech), ["style"]
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


def dataio_prepare(hparams):
    """Creates the train/valid/test datasets with their pipelines.

    Every utterance yields its audio (a random crop in training), its class
    (``speech_labels``, ``style_index``) and, outside the test set, a random
    description of its class from the training prompt bank
    (``description``, ``text_labels``), drawn anew at every epoch.

    Arguments
    ---------
    hparams : dict
        The loaded hyperparameters.

    Returns
    -------
    dict
        ``{"train": ..., "valid": ..., "test": ...}`` DynamicItemDatasets.
    """
    classes = hparams["classes"]
    label_pipeline = make_style_label_pipeline(classes)
    description_pipeline = make_style_description_pipeline(classes, "train")
    datasets = {}
    for split in ("train", "valid", "test"):
        train = split == "train"
        manifest = hparams[f"{split}_annotation"]
        data = load_manifest(
            manifest,
            required_keys=("wav", "style"),
            replacements={"data_root": hparams["data_folder"]},
        )
        # Upfront, not in a DataLoader worker mid-epoch
        check_label_values(data, classes, split, manifest=manifest)
        audio_pipeline = make_audio_pipeline(
            sample_rate=hparams["sample_rate"],
            crop_seconds=hparams["crop_seconds"] if train else None,
            train=train,
        )
        dynamic_items = [audio_pipeline, label_pipeline]
        keys = ["id", "sig", "style", "speech_labels", "style_index"]
        if split != "test":
            dynamic_items.append(description_pipeline)
            keys += ["description", "text_labels"]
        dataset = sb.dataio.dataset.DynamicItemDataset(
            data, dynamic_items=dynamic_items, output_keys=keys
        )
        if not train:
            dataset = dataset.filtered_sorted(sort_key="duration")
        datasets[split] = dataset
    return datasets


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

    run_on_main(
        prepare_esd,
        kwargs={
            "data_folder": hparams["data_folder"],
            "save_json_train": hparams["train_annotation"],
            "save_json_valid": hparams["valid_annotation"],
            "save_json_test": hparams["test_annotation"],
            "languages": hparams["languages"],
            "skip_prep": hparams["skip_prep"],
        },
    )
    datasets = dataio_prepare(hparams)

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
    brain.evaluate(
        datasets["test"],
        max_key="retrieval_score",
        test_loader_kwargs=hparams["test_dataloader_opts"],
    )

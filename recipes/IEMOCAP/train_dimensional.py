#!/usr/bin/env python3
"""Recipe: EmotionRankCLAP on IEMOCAP (valence / arousal descriptions).

The dimensional sibling of ``train.py``: the same data preparation
(leave-one-session-out, every annotated turn with ``label_set: all``), but
the descriptions are generated from each turn's valence and arousal (1-5),
as in *EmotionRankCLAP: Bridging Natural Language Speaking Styles and
Ordinal Speech Emotion via Rank-N-Contrast* (arXiv 2505.23732): label-aware
InfoNCE (same valence x arousal cell = positives) plus
``rank_loss_weight`` x a cross-modal Rank-N-Contrast loss over the values.
The test reports retrieval over the binned levels, ordinal consistency
(VOC / AOC), the modality gap (MMD, Wasserstein) and similarity-vs-values
plots. The MSP-Podcast recipe (``recipes/MSP-Podcast``) is the same method
on another corpus.

To run this recipe:
> python train_dimensional.py hparams/iemocap_dimensional_roberta.yaml \
>     --data_folder=/path/to/IEMOCAP_full_release

Authors
 * speechbrain-style contributors 2026
"""

import sys

import speechbrain as sb
from hyperpyyaml import load_hyperpyyaml
from iemocap_prepare import prepare_iemocap
from speechbrain.utils.distributed import run_on_main

from speechbrain_style.brain import StyleRetrievalBrain
from speechbrain_style.dataio.manifest import load_manifest
from speechbrain_style.dataio.pipelines import (
    items_with_values,
    make_dimensional_level_pipeline,
    make_manifest_audio_pipeline,
)
from speechbrain_style.prompts.dimensional import (
    make_dimensional_description_pipeline,
)


class EmotionRankCLAPBrain(StyleRetrievalBrain):
    """Speech-text retrieval of valence/arousal descriptions with
    InfoNCE + Rank-N-Contrast (EmotionRankCLAP)."""

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
        """Label-aware InfoNCE (+ Rank-N-Contrast over the values)."""
        speech, text = predictions
        if text is None:
            return self.no_loss()
        speech_labels = text_labels = None
        if self.hparams.label_aware:
            # Same (valence level, arousal level) cell: positives
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
        if stage == sb.Stage.TRAIN and self.hparams.rank_loss_weight:
            # Cross-modal Rank-N-Contrast over the (valence, arousal) values
            values = self.batch_tensor(batch, "ordinal_values").float()
            loss = loss + self.hparams.rank_loss_weight * (
                self.hparams.rank_loss(
                    speech[-1].float(), text[-1].float(), values
                )
            )
        return loss

    def init_optimizers(self):
        """Encoders and heads (+ logit scale) get their own AdamW."""
        self.make_optimizers(
            self.hparams.encoder_opt_class, self.hparams.head_opt_class
        )

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Retrieval and ordinal metrics; best checkpoint by retrieval."""
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

    Items without a valence or arousal value are left out (counted and
    logged per split). Every turn yields its audio (a random crop in
    training) and its ``valence`` and ``arousal`` (for the evaluation);
    outside the test set also one description of its values per step
    (the yaml's ``describer``, training bank), the values themselves as
    ``ordinal_values`` (for Rank-N-Contrast) and its (valence level,
    arousal level) as ``speech_labels`` / ``text_labels``.

    Arguments
    ---------
    hparams : dict
        The loaded hyperparameters.

    Returns
    -------
    dict
        ``{"train": ..., "valid": ..., "test": ...}`` DynamicItemDatasets.
    """
    describer = hparams["describer"]
    description_pipeline = make_dimensional_description_pipeline(describer)
    level_pipeline = make_dimensional_level_pipeline(describer)
    datasets = {}
    for split in ("train", "valid", "test"):
        train = split == "train"
        manifest = hparams[f"{split}_annotation"]
        items = load_manifest(
            manifest,
            required_keys=("wav", "valence", "arousal"),
            replacements={"data_root": hparams["data_folder"]},
        )
        items = items_with_values(items, split, manifest=manifest)
        audio_pipeline = make_manifest_audio_pipeline(
            items,
            sample_rate=hparams["sample_rate"],
            crop_seconds=hparams["crop_seconds"],
            train=train,
        )
        dynamic_items = [audio_pipeline]
        keys = ["id", "sig", "valence", "arousal"]
        if split != "test":
            dynamic_items += [description_pipeline, level_pipeline]
            keys += [
                "description",
                "ordinal_values",
                "speech_labels",
                "text_labels",
            ]
        dataset = sb.dataio.dataset.DynamicItemDataset(
            items, dynamic_items=dynamic_items, output_keys=keys
        )
        if not train and any("duration" in it for it in items.values()):
            # Less padding: evaluation embeddings do not depend on order.
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
        prepare_iemocap,
        kwargs={
            "data_folder": hparams["data_folder"],
            "save_json_train": hparams["train_annotation"],
            "save_json_valid": hparams["valid_annotation"],
            "save_json_test": hparams["test_annotation"],
            "test_session": hparams["test_session"],
            "label_set": hparams["label_set"],
            "skip_prep": hparams["skip_prep"],
        },
    )
    datasets = dataio_prepare(hparams)

    brain = EmotionRankCLAPBrain(
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
            "description_bank": hparams["describer"].description_bank(),
        },
    )
    brain.evaluate(
        datasets["test"],
        max_key="retrieval_score",
        test_loader_kwargs=hparams["test_dataloader_opts"],
    )

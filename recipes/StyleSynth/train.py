#!/usr/bin/env python3
"""Recipe: speaking-style retrieval on the embedded espeak-ng corpus.

A speech encoder and a text encoder are trained with a label-aware
contrastive loss so that a description ("A woman whispering slowly.") and
the speech it describes end up close. The corpus (five speaking-style
factors: sex, pitch, rate, intonation range, phonation) is synthesised
offline into ``data_folder`` on the first run. Validation and test are
retrieval over the whole set, both directions, per factor and for the
combined style, with the training and a held-out description bank.

To run this recipe:
> python train.py hparams/synth_ecapa_minilm.yaml --data_folder=results/corpus

Authors
 * speechbrain-style contributors 2026
"""

import sys

import speechbrain as sb
import torch.nn.functional as F
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.distributed import run_on_main
from synth_prepare import prepare_synth

from speechbrain_style.brain import StyleRetrievalBrain
from speechbrain_style.corpora.stylesynth import factors
from speechbrain_style.dataio.audio import make_audio_pipeline
from speechbrain_style.dataio.manifest import load_manifest


class StyleSynthBrain(StyleRetrievalBrain):
    """Speech-text retrieval of speaking-style factors."""

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
                batch,
                self.retrieval_embedding(speech),
                self.hparams.eval_fields,
            )
        return speech, text

    def compute_objectives(self, predictions, batch, stage):
        """Label-aware InfoNCE at each head level (+ Rank-N-Contrast)."""
        speech, text = predictions
        if text is None:
            return self.no_loss()
        speech_labels = text_labels = None
        if self.hparams.label_aware:
            # A description that leaves a factor out matches every value.
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
        if stage == sb.Stage.TRAIN and self.hparams.factor_classifier_weight:
            loss = loss + self.hparams.factor_classifier_weight * (
                self.factor_objective(speech, batch, "speech_labels")
            )
        if stage == sb.Stage.TRAIN and self.hparams.text_classifier_weight:
            # the same classifier reads the factors a description mentions
            loss = loss + self.hparams.text_classifier_weight * (
                self.factor_objective(text, batch, "text_labels")
            )
        if stage == sb.Stage.TRAIN and self.hparams.rank_loss_weight:
            # EmotionRankCLAP's ordinal objective over the ordinal_factors
            values = self.batch_tensor(batch, "ordinal_values").float()
            loss = loss + self.hparams.rank_loss_weight * (
                self.hparams.rank_loss(
                    speech[-1].float(), text[-1].float(), values
                )
            )
        return loss

    def factor_objective(self, embeddings, batch, label_key):
        """Mean cross-entropy of each factor's classes on one side.

        One linear classifier over the searched embedding, its outputs
        split into the values of each factor (``STYLE_FACTORS`` order).
        Factors without a value are left out: inaudible ones
        (``NOT_AUDIBLE``) on the speech side (``speech_labels``), the ones a
        description does not mention (-1) on the text side
        (``text_labels``).
        """
        logits = self.modules.factor_classifier(
            self.retrieval_embedding(embeddings).float()
        )
        sizes = [len(values) for values in factors.STYLE_FACTORS.values()]
        if logits.shape[-1] != sum(sizes):
            raise ValueError(
                f"factor_classifier has {logits.shape[-1]} outputs, the "
                f"factors have {sum(sizes)} values {sizes}"
            )
        labels = self.batch_tensor(batch, label_key)
        losses = []
        for column, part in enumerate(logits.split(sizes, dim=-1)):
            target = labels[:, column]
            audible = target >= 0
            if audible.any():
                losses.append(F.cross_entropy(part[audible], target[audible]))
        if not losses:  # e.g. no description of the batch names a factor
            return logits.sum() * 0.0
        return sum(losses) / len(losses)

    def init_optimizers(self):
        """Encoders, heads (+ logit scale) and a fine-tuned text encoder
        get their own AdamW."""
        self.make_optimizers(
            self.hparams.encoder_opt_class,
            self.hparams.head_opt_class,
            text_encoder_opt_class=self.hparams.text_encoder_opt_class,
        )

    def on_fit_batch_end(self, batch, outputs, loss, should_step):
        """Steps the per-step warm-up/decay schedules."""
        if should_step:
            self.step_schedulers(
                {
                    "encoder": self.hparams.encoder_lr_scheduler,
                    "text_encoder": self.hparams.text_encoder_lr_scheduler,
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


def dataio_prepare(hparams):
    """Creates the train/valid/test datasets with their pipelines.

    Every utterance yields its audio (a random crop in training), its
    factor labels (``speech_labels`` for the loss, ``eval_labels`` for the
    evaluation rows), its pitch/rate levels (``ordinal_values``, for
    Rank-N-Contrast) and, outside the test set, a random description from
    the training bank with the factors it mentions (``text_labels``).

    Arguments
    ---------
    hparams : dict
        The loaded hyperparameters.

    Returns
    -------
    dict
        ``{"train": ..., "valid": ..., "test": ...}`` DynamicItemDatasets.
    """
    label_pipeline = factors.make_label_pipeline()
    description_pipeline = factors.make_description_pipeline(
        bank="train",
        transcript_probability=hparams["transcript_probability"],
    )
    ordinal_pipeline = factors.make_ordinal_pipeline(hparams["ordinal_factors"])
    required_keys = ("wav", "duration", *factors.FACTORS)
    if hparams["transcript_probability"]:
        required_keys += ("text",)
    datasets = {}
    for split in ("train", "valid", "test"):
        train = split == "train"
        audio_pipeline = make_audio_pipeline(
            sample_rate=hparams["sample_rate"],
            crop_seconds=hparams["crop_seconds"] if train else None,
            train=train,
        )
        dynamic_items = [audio_pipeline, label_pipeline, ordinal_pipeline]
        keys = ["id", "sig", "speech_labels", "eval_labels", "ordinal_values"]
        if split != "test":
            dynamic_items.append(description_pipeline)
            keys += ["description", "text_labels"]
        # Checked on load: a missing field is an error naming the item.
        data = load_manifest(
            hparams[f"{split}_annotation"],
            required_keys=required_keys,
            replacements={"data_root": hparams["data_folder"]},
        )
        dataset = sb.dataio.dataset.DynamicItemDataset(
            data, dynamic_items=dynamic_items, output_keys=keys
        )
        if not train:
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
        prepare_synth,
        kwargs={
            "data_folder": hparams["data_folder"],
            "save_json_train": hparams["train_annotation"],
            "save_json_valid": hparams["valid_annotation"],
            "save_json_test": hparams["test_annotation"],
            "num_train_utts": hparams["num_train_utts"],
            "num_valid_utts": hparams["num_valid_utts"],
            "num_test_utts": hparams["num_test_utts"],
            "seed": hparams["corpus_seed"],
            "sentences_file": hparams["sentences_file"],
            "skip_prep": hparams["skip_prep"],
        },
    )
    datasets = dataio_prepare(hparams)
    if not (
        hparams["factor_classifier_weight"] or hparams["text_classifier_weight"]
    ):
        # unused parameters would stall DistributedDataParallel
        hparams["modules"].pop("factor_classifier", None)

    brain = StyleSynthBrain(
        modules=hparams["modules"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    brain.retrieval_level = hparams["retrieval_level"]
    brain.fit(
        brain.hparams.epoch_counter,
        datasets["train"],
        datasets["valid"],
        train_loader_kwargs=hparams["train_dataloader_opts"],
        valid_loader_kwargs=hparams["valid_dataloader_opts"],
    )
    # The best checkpoint, with the descriptions `describe` ranks.
    brain.export_inference(
        hparams["inference_folder"],
        extra={
            "sample_rate": hparams["sample_rate"],
            "description_bank": factors.description_bank(),
        },
    )
    brain.evaluate(
        datasets["test"],
        max_key="retrieval_score",
        test_loader_kwargs=hparams["test_dataloader_opts"],
    )

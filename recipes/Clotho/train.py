#!/usr/bin/env python3
"""Recipe: text-audio retrieval on Clotho v2.1 (PaSST + RoBERTa).

The dual encoder of the DCASE language-based audio retrieval baseline
(github.com/xieh97/text-audio-retrieval): a PaSST audio encoder and a
RoBERTa-large [CLS] text encoder, each with a 2-layer MLP head to 1024,
trained with cross-entropy over the audio x caption similarity matrix where
every caption of a clip is a positive (``InfoNCELoss`` with the clip index
as label, temperature 0.05), a warm-up + cosine learning-rate schedule
stepped per optimizer step; evaluated over the whole evaluation split in
both directions with R@1/5/10 and mAP@10 (DCASE definitions).

To run this recipe:
> python train.py hparams/clotho_passt_roberta.yaml --data_folder=/data/clotho

Authors
 * speechbrain-style contributors 2026
"""

import sys

import speechbrain as sb
from clotho_prepare import prepare_clotho
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.distributed import run_on_main
from speechbrain.utils.logger import get_logger

from speechbrain_style.brain import StyleRetrievalBrain
from speechbrain_style.dataio.audio import make_audio_pipeline
from speechbrain_style.dataio.captions import (
    clip_items,
    expand_captions,
    make_caption_pipeline,
    make_clip_label_pipeline,
)
from speechbrain_style.dataio.manifest import load_manifest

logger = get_logger(__name__)


class CaptionRetrievalBrain(StyleRetrievalBrain):
    """Text-audio retrieval where every caption of a clip is a positive."""

    def compute_forward(self, batch, stage):
        """Embeds the audio and, outside the test, a caption per item."""
        batch = batch.to(self.device)
        wavs, wav_lens = batch.sig
        audio = self.embed_speech(wavs, wav_lens)
        text = None
        if stage != sb.Stage.TEST:
            text = self.embed_text(batch.description)
        if stage != sb.Stage.TRAIN:
            self.collect_embeddings(
                batch,
                self.retrieval_embedding(audio),
                self.hparams.retrieval_evaluator.fields,
            )
        return audio, text

    def compute_objectives(self, predictions, batch, stage):
        """InfoNCE over the head levels; same-clip pairs are positives."""
        audio, text = predictions
        if text is None:
            return self.no_loss()
        speech_labels = text_labels = None
        if self.hparams.label_aware:
            # The clip index: the captions of one clip are all positives.
            speech_labels = self.batch_tensor(batch, "speech_labels")
            text_labels = self.batch_tensor(batch, "text_labels")
        return self.contrastive_objective(
            self.hparams.contrastive_loss,
            audio,
            text,
            level_weights=self.hparams.loss_levels,
            speech_labels=speech_labels,
            text_labels=text_labels,
            gather=stage == sb.Stage.TRAIN,
        )

    def init_optimizers(self):
        """Two AdamW (encoders; heads + logit scale), each with the
        warm-up + cosine schedule, stepped once per optimizer step."""
        self.make_optimizers(
            self.hparams.encoder_opt_class, self.hparams.head_opt_class
        )
        self.make_lr_schedulers(
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


def dataio_prepare(hparams):
    """Creates the train/valid/test datasets with their pipelines.

    Training has one item per (clip, caption) pair, so a batch may hold
    several captions of one clip, each with a random crop of at most
    ``crop_seconds`` of its clip. Validation and test have one item per
    clip (whole clips) with all its captions (``captions``, the retrieval
    gallery); validation also embeds the clip's first caption for its loss.
    Every item carries its clip's index (``speech_labels``,
    ``text_labels``).

    Arguments
    ---------
    hparams : dict
        The loaded hyperparameters.

    Returns
    -------
    dict
        ``{"train": ..., "valid": ..., "test": ...}`` DynamicItemDatasets.
    """
    label_pipeline = make_clip_label_pipeline()
    caption_pipeline = make_caption_pipeline()
    datasets = {}
    for split in ("train", "valid", "test"):
        train = split == "train"
        clips = load_manifest(
            hparams[f"{split}_annotation"],
            required_keys=("wav", "duration", "captions"),
            replacements={"data_root": hparams["data_folder"]},
        )
        items = expand_captions(clips) if train else clip_items(clips)
        audio_pipeline = make_audio_pipeline(
            sample_rate=hparams["sample_rate"],
            crop_seconds=hparams["crop_seconds"] if train else None,
            train=train,
            allow_silent=True,
        )
        dynamic_items = [audio_pipeline, label_pipeline]
        keys = ["id", "sig", "speech_labels"]
        if split != "test":
            dynamic_items.append(caption_pipeline)
            keys += ["description", "text_labels"]
        if not train:
            keys.append("captions")
        dataset = sb.dataio.dataset.DynamicItemDataset(
            items, dynamic_items=dynamic_items, output_keys=keys
        )
        if not train:
            # Less padding: evaluation embeddings do not depend on order.
            dataset = dataset.filtered_sorted(sort_key="duration")
        datasets[split] = dataset
        logger.info(f"{split}: {len(dataset)} items from {len(clips)} clips")
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
        prepare_clotho,
        kwargs={
            "data_folder": hparams["data_folder"],
            "save_json_train": hparams["train_annotation"],
            "save_json_valid": hparams["valid_annotation"],
            "save_json_test": hparams["test_annotation"],
            "skip_prep": hparams["skip_prep"],
        },
    )
    datasets = dataio_prepare(hparams)

    brain = CaptionRetrievalBrain(
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
        extra={"sample_rate": hparams["sample_rate"]},
    )
    brain.evaluate(
        datasets["test"],
        max_key="retrieval_score",
        test_loader_kwargs=hparams["test_dataloader_opts"],
    )

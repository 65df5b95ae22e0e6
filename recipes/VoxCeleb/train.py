#!/usr/bin/env python3
"""Recipe: speaker-text retrieval (descriptions <-> speaker embeddings).

Implements *Speaker-Text Retrieval via Contrastive Learning* (Liu et al.):
an ECAPA-TDNN speaker encoder and a BERT-family text encoder, projection
(768) + transform layers on both sides, L_CTS,tot = L_CTS(projection) +
L_CTS(transform); optional speaker supervision (AAM-softmax, or supervised
contrastive with same-speaker pairs as positives); evaluation both
directions with mAP@10 and mean rank, plain and with fusion, t-SNE maps.

On VoxCeleb1:
> python train.py hparams/voxceleb_ecapa_bert.yaml --data_folder=/data/voxceleb1

On the embedded corpus (voices as speakers, offline, CPU):
> python train.py hparams/synth_speakers_ecapa_minilm.yaml \
>     --data_folder=results/corpus

Authors
 * speechbrain-style contributors 2026
"""

import os
import sys

import speechbrain as sb
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.distributed import run_on_main

from speechbrain_style.brain import StyleRetrievalBrain
from speechbrain_style.dataio.audio import make_audio_pipeline
from speechbrain_style.dataio.manifest import load_manifest
from speechbrain_style.prompts.speaker import (
    SpeakerDescriber,
    make_speaker_description_pipeline,
)

sys.path.append(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "StyleSynth")
)

from synth_prepare import prepare_synth  # noqa: E402
from voxceleb_prepare import prepare_voxceleb  # noqa: E402


class SpeakerTextRetrievalBrain(StyleRetrievalBrain):
    """Speaker-text retrieval, with the paper's optional AAM speaker loss."""

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
                self.hparams.retrieval_evaluator.fields,
            )
        return speech, text

    def compute_objectives(self, predictions, batch, stage):
        """InfoNCE at both head levels (+ AAM-softmax speaker loss)."""
        speech, text = predictions
        if text is None:
            return self.no_loss()
        speech_labels = text_labels = None
        if self.hparams.label_aware:
            # Supervised contrastive: same-speaker pairs are positives.
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
        epoch = self.hparams.epoch_counter.current or 0
        if (
            stage == sb.Stage.TRAIN
            and "speaker_aam" in self.modules
            and self.hparams.speaker_aam_weight
            and epoch >= self.hparams.speaker_aam_start_epoch
        ):
            # L = L_CTS,tot + lambda * L_spk: AAM-softmax over the training
            # speakers on the final speech embedding
            targets = self.batch_tensor(batch, "speaker_index").long().view(-1)
            loss = loss + self.hparams.speaker_aam_weight * (
                self.modules.speaker_aam(speech[-1].float(), targets)
            )
        return loss

    def init_optimizers(self):
        """Encoders and heads (+ logit scale, AAM weights): two AdamW."""
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


def prepare_corpus(hparams):
    """Prepares VoxCeleb1 or the embedded corpus (``corpus`` in hparams).

    Arguments
    ---------
    hparams : dict
        The loaded hyperparameters; ``corpus`` is "voxceleb1" or "synth"
        (then ``num_{train,valid,test}_utts``, ``corpus_seed`` and
        ``sentences_file`` size the synthesised corpus).
    """
    kwargs = {
        "data_folder": hparams["data_folder"],
        "save_json_train": hparams["train_annotation"],
        "save_json_valid": hparams["valid_annotation"],
        "save_json_test": hparams["test_annotation"],
        "skip_prep": hparams["skip_prep"],
    }
    if hparams["corpus"] == "voxceleb1":
        run_on_main(prepare_voxceleb, kwargs=kwargs)
    elif hparams["corpus"] == "synth":
        kwargs.update(
            num_train_utts=hparams["num_train_utts"],
            num_valid_utts=hparams["num_valid_utts"],
            num_test_utts=hparams["num_test_utts"],
            seed=hparams["corpus_seed"],
            sentences_file=hparams["sentences_file"],
        )
        run_on_main(prepare_synth, kwargs=kwargs)
    else:
        raise ValueError(
            f"Unknown corpus {hparams['corpus']!r}: expected 'voxceleb1' or "
            "'synth'"
        )


def dataio_prepare(hparams):
    """Creates the train/valid/test datasets with their pipelines.

    Every utterance yields its audio (a random crop in training), its
    speaker's index (``speech_labels``, ``speaker_index``: training
    speakers first, so that the AAM classifier sized ``num_train_speakers``
    covers them; same-speaker pairs are the positives of the label-aware
    loss), the evaluator's metadata fields and, outside the test set, a
    random description of its speaker from the training bank
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
    fields = hparams["description_fields"]
    data = {
        split: load_manifest(
            hparams[f"{split}_annotation"],
            required_keys=("wav", *fields),
            replacements={"data_root": hparams["data_folder"]},
        )
        for split in ("train", "valid", "test")
    }
    train_speakers = sorted({it["spk_id"] for it in data["train"].values()})
    if len(train_speakers) > hparams["num_train_speakers"]:
        raise ValueError(
            f"{len(train_speakers)} training speakers in "
            f"{hparams['train_annotation']} but num_train_speakers is "
            f"{hparams['num_train_speakers']}"
        )
    others = sorted(
        {it["spk_id"] for items in data.values() for it in items.values()}
        - set(train_speakers)
    )
    speaker_index = {s: i for i, s in enumerate(train_speakers + others)}

    @sb.utils.data_pipeline.takes("spk_id")
    @sb.utils.data_pipeline.provides("speech_labels", "speaker_index")
    def speaker_pipeline(spk_id):
        """The speaker's index, as a label tensor and as an int."""
        yield torch.LongTensor([speaker_index[spk_id]])
        yield speaker_index[spk_id]

    description_pipeline = make_speaker_description_pipeline(
        SpeakerDescriber(bank="train"),
        fields=fields,
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

    prepare_corpus(hparams)
    datasets = dataio_prepare(hparams)

    brain = SpeakerTextRetrievalBrain(
        modules=hparams["modules"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    # search with the projection level (0) or the transform level (1)
    brain.retrieval_level = hparams["retrieval_level"]
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

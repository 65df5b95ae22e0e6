"""The SpeechBrain ``Brain`` that trains a speech-text retrieval model.

A speech encoder + projection head and a text encoder + projection head are
trained with a contrastive loss between the two embedding spaces (CLIP/CLAP
style). Validation embeds the whole validation set and computes retrieval
metrics, and the checkpointer keeps the best checkpoint by a retrieval
metric (not by loss). Encoders and heads get separate optimizers (the
learnable temperature goes with the heads, so it is actually trained).

Expected ``modules`` (yaml ``modules:`` dict):
``speech_encoder``, ``speech_head``, ``text_encoder``, ``text_head``,
``temperature`` (``speechbrain_style.nnet.losses.LearnableTemperature``).

Expected hparams: ``contrastive_loss``, ``encoder_opt_class``,
``head_opt_class``, ``retrieval_evaluator``, ``train_logger``,
``epoch_counter``; optional ``label_aware`` (default True), ``loss_levels``
(weights of the projection-head levels, default all 1), ``output_folder``.

Authors
 * speechbrain-style contributors 2026
"""

import os

import speechbrain as sb
import torch
from speechbrain.utils.distributed import if_main_process
from speechbrain.utils.logger import get_logger

from speechbrain_style.evaluation.retrieval import format_table, save_results
from speechbrain_style.inference.export import write_inference_folder

logger = get_logger(__name__)

ENCODER_MODULES = ("speech_encoder", "text_encoder")


def _unwrap(module):
    """Returns the module inside a DDP/DataParallel wrapper."""
    return getattr(module, "module", module)


class StyleRetrievalBrain(sb.core.Brain):
    """Contrastive speech-text training with retrieval-based validation.

    See the module docstring for the modules and hparams it expects; the
    StyleSynth recipe (``recipes/StyleSynth``) is a complete example.
    """

    # ------------------------------------------------------------------ #
    # Embedding helpers (also used by evaluation)
    # ------------------------------------------------------------------ #
    def embed_speech(self, wavs, wav_lens):
        """Speech embeddings: a list with one (B, D) tensor per head level."""
        features = self.modules.speech_encoder(wavs, wav_lens)
        return self.modules.speech_head(features)

    def embed_text(self, texts):
        """Text embeddings: a list with one (B, D) tensor per head level."""
        features = self.modules.text_encoder(list(texts))
        return self.modules.text_head(features)

    @torch.no_grad()
    def encode_texts(self, texts, batch_size=256):
        """Final-level text embeddings of ``texts`` (eval mode, no grad)."""
        was_training = self.modules.training
        self.modules.eval()
        out = []
        for start in range(0, len(texts), batch_size):
            chunk = texts[start : start + batch_size]
            with self.evaluation_ctx:
                out.append(self.embed_text(chunk)[-1].float().cpu())
        self.modules.train(was_training)
        return torch.cat(out)

    # ------------------------------------------------------------------ #
    # Brain interface
    # ------------------------------------------------------------------ #
    def compute_forward(self, batch, stage):
        """Embeds the batch's speech and (when present) its descriptions."""
        batch = batch.to(self.device)
        wavs, wav_lens = batch.sig
        speech = self.embed_speech(wavs, wav_lens)
        text = None
        if hasattr(batch, "description"):
            text = self.embed_text(batch.description)
        if stage != sb.Stage.TRAIN:
            self._collect(batch, speech[-1])
        return {"speech": speech, "text": text}

    def compute_objectives(self, predictions, batch, stage):
        """Contrastive loss summed over the head levels."""
        speech, text = predictions["speech"], predictions["text"]
        if text is None:
            # Evaluation-only batches (no descriptions): retrieval metrics
            # are computed at the end of the stage, the loss is not defined.
            self._loss_defined = False
            return torch.zeros((), device=self.device)
        speech_labels = text_labels = None
        if getattr(self.hparams, "label_aware", True):
            if hasattr(batch, "style_labels") and hasattr(
                batch, "description_labels"
            ):
                speech_labels = _data(batch.style_labels)
                text_labels = _data(batch.description_labels)
        weights = getattr(self.hparams, "loss_levels", None) or [1.0] * len(
            speech
        )
        if len(weights) != len(speech):
            raise ValueError(
                f"loss_levels has {len(weights)} weights but the heads give "
                f"{len(speech)} levels"
            )
        logit_scale = self.modules.temperature()
        loss = torch.zeros((), device=self.device)
        for weight, s_emb, t_emb in zip(weights, speech, text, strict=True):
            if weight:
                loss = loss + weight * self.hparams.contrastive_loss(
                    s_emb.float(),
                    t_emb.float(),
                    logit_scale,
                    speech_labels=speech_labels,
                    text_labels=text_labels,
                    gather=stage == sb.Stage.TRAIN,
                )
        if stage == sb.Stage.TRAIN:
            loss = loss + self.auxiliary_losses(
                speech[-1], text[-1], batch, stage
            )
        return loss

    def _auxiliary_active(self, name):
        """Whether auxiliary loss ``name`` has a module, a weight and has
        reached its start epoch (``<name>_weight``, ``<name>_start_epoch``).
        """
        if name not in self.modules:
            return False
        weight = getattr(self.hparams, f"{name}_weight", 0.0)
        start = getattr(self.hparams, f"{name}_start_epoch", 1)
        epoch = self.hparams.epoch_counter.current
        return bool(weight) and (epoch or 0) >= start

    def auxiliary_losses(self, speech, text, batch, stage):
        """The expressive-retrieval paper's auxiliary losses, if configured.

        * ``style_classifier`` (module) + ``style_classifier_weight``: cross
          entropy of a style classifier on the speech embedding, against
          ``batch.style_index``;
        * ``modality_discriminator`` (module, with gradient reversal) +
          ``modality_discriminator_weight``: binary cross entropy of telling
          speech (1) from text (0) embeddings; through the reversed gradient
          the encoders learn to make the two modalities indistinguishable.

        * ``speaker_aam`` (module, e.g. ``speechbrain_style.speaker.
          AAMSpeakerLoss``) + ``speaker_aam_weight``: additive angular margin
          speaker classification of the speech embedding against
          ``batch.speaker_index`` (the speaker-text paper's L_spk).

        * ``rank_loss`` (e.g. ``speechbrain_style.nnet.rank_losses.
          RankNContrastLoss``) + ``rank_loss_weight``: cross-modal
          Rank-N-Contrast over ``batch.ordinal_values`` (B, L) floats
          (valence/arousal, or ordered factor levels).

        Each module-based one starts at ``<name>_start_epoch`` (default 1)
        and is off when
        its module is absent from ``modules``. They apply to training
        batches only (validation reports the contrastive loss).

        Arguments
        ---------
        speech : torch.Tensor
            (B, D) final-level speech embeddings.
        text : torch.Tensor
            (B, D) final-level text embeddings.
        batch : PaddedBatch
            The batch.
        stage : sb.Stage
            The stage.

        Returns
        -------
        torch.Tensor
            The weighted sum (0 when none is active).
        """
        total = torch.zeros((), device=self.device)
        if self._auxiliary_active("style_classifier"):
            targets = self._batch_tensor(batch, "style_index").long().view(-1)
            logits = self.modules.style_classifier(speech.float())
            total = total + self.hparams.style_classifier_weight * (
                torch.nn.functional.cross_entropy(logits, targets)
            )
        if self._auxiliary_active("modality_discriminator"):
            embeddings = torch.cat([speech, text]).float()
            targets = torch.cat(
                [torch.ones(len(speech)), torch.zeros(len(text))]
            ).to(self.device)
            logits = self.modules.modality_discriminator(embeddings).view(-1)
            total = total + self.hparams.modality_discriminator_weight * (
                torch.nn.functional.binary_cross_entropy_with_logits(
                    logits, targets
                )
            )
        rank_loss = getattr(self.hparams, "rank_loss", None)
        rank_weight = getattr(self.hparams, "rank_loss_weight", 0.0)
        if rank_loss is not None and rank_weight:
            # Rank-N-Contrast over the items' ordinal labels (EmotionRankCLAP)
            values = self._batch_tensor(batch, "ordinal_values").float()
            total = total + rank_weight * rank_loss(
                speech.float(), text.float(), values
            )
        if self._auxiliary_active("speaker_aam"):
            targets = self._batch_tensor(batch, "speaker_index").long().view(-1)
            total = total + self.hparams.speaker_aam_weight * (
                self.modules.speaker_aam(speech.float(), targets)
            )
        return total

    def _batch_tensor(self, batch, key):
        """``batch.<key>`` (a PaddedData, tensor or list) as a tensor on the
        Brain's device."""
        return torch.as_tensor(_data(getattr(batch, key)), device=self.device)

    def on_stage_start(self, stage, epoch=None):
        """Resets the embedding collectors of the evaluation stages."""
        self._collected_embeddings = []
        self._collected_items = []
        self._loss_defined = True

    def _collect(self, batch, embeddings):
        """Keeps the embeddings and evaluation classes of a batch.

        The classes come from ``batch.eval_labels`` (one dict per item) when
        the data pipeline provides it, else from one batch key per field.
        """
        fields = self.hparams.retrieval_evaluator.fields
        self._collected_embeddings.append(embeddings.detach().float().cpu())
        eval_labels = getattr(batch, "eval_labels", None)
        for i, item_id in enumerate(batch.id):
            item = {"id": item_id}
            for field in fields:
                if eval_labels is not None:
                    item[field] = eval_labels[i][field]
                else:
                    item[field] = getattr(batch, field)[i]
            self._collected_items.append(item)

    def evaluate_retrieval(self, stage):
        """Retrieval metrics of the embeddings collected during ``stage``."""
        evaluator = self.hparams.retrieval_evaluator
        speech = torch.cat(self._collected_embeddings)
        if stage == sb.Stage.TEST:
            banks, trials = None, True
        else:
            banks, trials = evaluator.banks[:1], False
        return evaluator.evaluate(
            speech,
            self._collected_items,
            self.encode_texts,
            banks=banks,
            trials=trials,
            trials_tag=getattr(self, "eval_tag", "test"),
        )

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs, checkpoints on the retrieval metric, writes test results."""
        stage_stats = {"loss": stage_loss} if self._loss_defined else {}
        if stage == sb.Stage.TRAIN:
            self.train_stats = stage_stats
            return
        results = self.evaluate_retrieval(stage)
        evaluator = self.hparams.retrieval_evaluator
        first_bank = evaluator.banks[0]
        summary = results["summary"][first_bank]
        stage_stats.update(
            {
                key: round(value, 4)
                for key, value in summary.items()
                if key.startswith(
                    (
                        "t2s_R@1",
                        "t2s_mAP",
                        "s2t_R@1",
                        "trial",
                        "t2s_ordinal_tau",
                        "t2s_value_tau",
                        "modality",
                    )
                )
            }
        )
        score = summary[evaluator.selection_metric]
        stage_stats["retrieval_score"] = score
        if stage == sb.Stage.VALID:
            stats_meta = {
                "epoch": epoch,
                "temperature": round(
                    1.0 / float(self.modules.temperature()), 4
                ),
            }
            for name, opt in (self.optimizers_dict or {}).items():
                stats_meta[f"lr_{name}"] = opt.param_groups[0]["lr"]
            self.hparams.train_logger.log_stats(
                stats_meta=stats_meta,
                train_stats=getattr(self, "train_stats", None),
                valid_stats=stage_stats,
            )
            if self.checkpointer is not None:
                self.checkpointer.save_and_keep_only(
                    meta={"retrieval_score": score, "epoch": epoch},
                    max_keys=["retrieval_score"],
                )
        elif stage == sb.Stage.TEST:
            self.hparams.train_logger.log_stats(
                stats_meta={"Epoch loaded": self.hparams.epoch_counter.current},
                test_stats=stage_stats,
            )
            self.test_results = results
            if if_main_process():
                tag = getattr(self, "eval_tag", "test")
                folder = getattr(
                    self.hparams,
                    "output_folder",
                    self.checkpointer.checkpoints_dir,
                )
                paths = save_results(results, folder, name=f"retrieval_{tag}")
                logger.info("\n" + format_table(results))
                logger.info(f"Retrieval results written to {paths['table']}")

    # ------------------------------------------------------------------ #
    # Optimisation
    # ------------------------------------------------------------------ #
    def init_optimizers(self):
        """One optimizer for the encoders, one for the heads + temperature.

        Frozen parameters are left out; every trainable parameter is in
        exactly one optimizer (the learnable temperature included).
        """
        encoder_names = getattr(
            self.hparams, "encoder_modules", ENCODER_MODULES
        )
        encoder_params, head_params, no_decay = [], [], []
        for name, module in self.modules.items():
            params = [p for p in module.parameters() if p.requires_grad]
            if name == "temperature":
                # weight decay would pull the temperature towards 1
                no_decay.extend(params)
            elif name in encoder_names:
                encoder_params.extend(params)
            else:
                head_params.extend(params)
        self.optimizers_dict = {}
        if encoder_params:
            self.encoder_optimizer = self.hparams.encoder_opt_class(
                encoder_params
            )
            self.optimizers_dict["encoder"] = self.encoder_optimizer
        if head_params or no_decay:
            groups = [{"params": head_params}]
            if no_decay:
                groups.append({"params": no_decay, "weight_decay": 0.0})
            self.head_optimizer = self.hparams.head_opt_class(groups)
            self.optimizers_dict["heads"] = self.head_optimizer
        if not self.optimizers_dict:
            raise ValueError("No trainable parameter: every module is frozen")
        if self.checkpointer is not None:
            for name, opt in self.optimizers_dict.items():
                self.checkpointer.add_recoverable(f"{name}_optimizer", opt)
        n_enc = sum(p.numel() for p in encoder_params)
        n_head = sum(p.numel() for p in head_params + no_decay)
        logger.info(
            f"Trainable parameters: encoders {n_enc / 1e6:.2f}M, "
            f"heads {n_head / 1e6:.2f}M"
        )

    def on_fit_batch_end(self, batch, outputs, loss, should_step):
        """Steps per-batch learning-rate schedulers, if any are configured."""
        if not should_step:
            return
        for name, opt in (self.optimizers_dict or {}).items():
            scheduler = getattr(self.hparams, f"{name}_lr_scheduler", None)
            if scheduler is not None:
                scheduler(opt)

    # ------------------------------------------------------------------ #
    # Export
    # ------------------------------------------------------------------ #
    def export_inference(self, folder, max_key="retrieval_score", extra=None):
        """Writes a ``from_hparams``-loadable inference folder.

        The best checkpoint (by ``max_key``) is loaded first.

        Arguments
        ---------
        folder : str
            Output folder (``hyperparams.yaml`` + module checkpoints).
        max_key : str
            Checkpoint meta key to select the best checkpoint.
        extra : dict, optional
            Extra plain values for the yaml (e.g. ``sample_rate``) and
            ``description_bank`` (list of str written to
            ``descriptions.txt`` for ``speechbrain-style describe``). The
            trained ``logit_scale`` (1 / temperature) is added unless given.

        Returns
        -------
        str
            The folder.
        """
        if self.checkpointer is not None:
            self.checkpointer.recover_if_possible(max_key=max_key)
        extra = dict(extra or {})
        if "temperature" in self.modules and "logit_scale" not in extra:
            # 1 / temperature, for zero-shot probabilities (classify)
            with torch.no_grad():
                scale = _unwrap(self.modules["temperature"])()
            extra["logit_scale"] = round(float(scale), 6)
        if if_main_process():
            modules = {
                name: _unwrap(self.modules[name])
                for name in (
                    "speech_encoder",
                    "speech_head",
                    "text_encoder",
                    "text_head",
                )
            }
            write_inference_folder(folder, modules, extra=extra)
            logger.info(f"Inference model written to {os.path.abspath(folder)}")
        sb.utils.distributed.ddp_barrier()
        return folder


def _data(value):
    """The tensor of a PaddedData (or the value itself)."""
    return getattr(value, "data", value)

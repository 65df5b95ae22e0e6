"""The base ``Brain`` of speechbrain-style's speech-text retrieval recipes.

A speech encoder + projection head and a text encoder + projection head are
trained with a contrastive loss between the two embedding spaces
(CLIP/CLAP style). Every recipe's ``train.py`` subclasses
:class:`StyleRetrievalBrain` and writes its own ``compute_forward``,
``compute_objectives``, ``init_optimizers`` and ``on_stage_end``, so that a
reader sees the forward pass, the objectives and the data flow of the
recipe where they run; this class holds the machinery they share and reads
no hyperparameter by itself (each recipe passes what it uses):

* ``embed_speech`` / ``embed_text``: encoder + head, one embedding per head
  level (projection, then transform layers);
* ``contrastive_objective``: the contrastive loss summed over head levels;
* ``collect_embeddings`` + ``evaluate_collected``: retrieval validation and
  test over the whole set (not a loss), with any evaluator of
  ``speechbrain_style.evaluation``;
* ``make_optimizers``: one optimizer for the encoders, one for the heads and
  the logit scale (so the logit scale is actually trained), registered with
  the checkpointer; ``make_lr_schedulers``: torch schedulers stepped once
  per optimizer step (so gradient accumulation is counted right); after each
  optimizer step the logit scale is clamped in place to its bounds;
* ``log_and_checkpoint`` / ``write_test_results`` / ``export_inference``.

Modules the helpers expect (yaml ``modules:``): ``speech_encoder``,
``speech_head``, ``text_encoder``, ``text_head`` and ``logit_scale``
(:class:`speechbrain_style.nnet.losses.LearnableLogitScale`).

Retrieval level. ``ProjectionHead`` returns one embedding per level: level 0
is the projection, level 1 the transform stack (when the head has transform
layers). Training sums the contrastive loss over the levels, but retrieval
runs in ONE space, the level ``retrieval_level`` (default 0, the projection:
the speaker-text retrieval paper searches with projected embeddings; a
recipe sets ``brain.retrieval_level`` from its yaml). Validation and test
metrics (hence checkpoint selection) use that level, ``export_inference``
records it in the inference folder and ``StyleRetriever`` (so indexing,
search, describe and serve) embeds with it. With a single-level head both
rules are the same.

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
from speechbrain_style.lobes.heads import select_level

logger = get_logger(__name__)

ENCODER_MODULES = ("speech_encoder", "text_encoder")
"""Modules trained by the encoder optimizer by default."""

NO_DECAY_MODULES = ("logit_scale",)
"""Modules trained without weight decay (it would pull the scale to 1)."""

INFERENCE_MODULES = (
    "speech_encoder",
    "speech_head",
    "text_encoder",
    "text_head",
)
"""Modules written to the inference folder."""

LOGGED_METRICS = (
    "t2s_R@1",
    "t2s_mAP",
    "s2t_R@1",
    "trial",
    "t2s_ordinal_tau",
    "t2s_value_tau",
    "modality",
)
"""Prefixes of the summary metrics written to the training log."""


def unwrap(module):
    """The module inside a DDP/DataParallel wrapper (or the module).

    Arguments
    ---------
    module : torch.nn.Module

    Returns
    -------
    torch.nn.Module
    """
    return getattr(module, "module", module)


def padded_data(value):
    """The tensor of a ``PaddedData`` (or the value itself).

    Arguments
    ---------
    value : PaddedData or torch.Tensor or list

    Returns
    -------
    torch.Tensor or list
    """
    return getattr(value, "data", value)


class StyleRetrievalBrain(sb.core.Brain):
    """Contrastive speech-text training with retrieval-based validation.

    The base class of every recipe's Brain; see the module docstring and
    ``recipes/StyleSynth/train.py`` for a complete subclass.
    """

    retrieval_level = 0
    """Head level used for retrieval (see the module docstring)."""

    # ------------------------------------------------------------------ #
    # Embeddings
    # ------------------------------------------------------------------ #
    def embed_speech(self, wavs, wav_lens):
        """Speech embeddings, one (B, D) tensor per head level.

        Arguments
        ---------
        wavs : torch.Tensor
            (B, T) padded waveforms.
        wav_lens : torch.Tensor
            (B,) relative lengths.

        Returns
        -------
        list of torch.Tensor
        """
        features = self.modules.speech_encoder(wavs, wav_lens)
        return self.modules.speech_head(features)

    def embed_text(self, texts):
        """Text embeddings, one (B, D) tensor per head level.

        Arguments
        ---------
        texts : list of str

        Returns
        -------
        list of torch.Tensor
        """
        features = self.modules.text_encoder(list(texts))
        return self.modules.text_head(features)

    def retrieval_embedding(self, levels):
        """The ``retrieval_level`` embedding among a head's levels.

        Arguments
        ---------
        levels : list of torch.Tensor
            From ``embed_speech`` or ``embed_text``.

        Returns
        -------
        torch.Tensor
        """
        return select_level(levels, self.retrieval_level)

    @torch.no_grad()
    def encode_texts(self, texts, batch_size=256):
        """Retrieval-level text embeddings of ``texts`` (eval, no grad).

        The evaluators call it to embed their class prompts.

        Arguments
        ---------
        texts : list of str
        batch_size : int

        Returns
        -------
        torch.Tensor
            (len(texts), D) on the CPU.
        """
        was_training = self.modules.training
        self.modules.eval()
        out = []
        for start in range(0, len(texts), batch_size):
            chunk = texts[start : start + batch_size]
            with self.evaluation_ctx:
                levels = self.embed_text(chunk)
                out.append(self.retrieval_embedding(levels).float().cpu())
        self.modules.train(was_training)
        return torch.cat(out)

    # ------------------------------------------------------------------ #
    # Objectives
    # ------------------------------------------------------------------ #
    def contrastive_objective(
        self,
        loss_fn,
        speech,
        text,
        level_weights=None,
        speech_labels=None,
        text_labels=None,
        gather=True,
    ):
        """The contrastive loss summed over the head levels.

        Arguments
        ---------
        loss_fn : callable
            ``loss_fn(speech, text, logit_scale, speech_labels=...,
            text_labels=..., gather=...)``, e.g.
            :class:`speechbrain_style.nnet.losses.InfoNCELoss`.
        speech, text : list of torch.Tensor
            One (B, D) tensor per head level.
        level_weights : list of float, optional
            Weight of each level (default 1 each; 0 skips a level).
        speech_labels, text_labels : torch.Tensor, optional
            Labels making same-label pairs positives (label-aware loss).
        gather : bool
            Gather the batch over DDP processes (training).

        Returns
        -------
        torch.Tensor
            The weighted sum (0-d).
        """
        weights = level_weights or [1.0] * len(speech)
        if len(weights) != len(speech):
            raise ValueError(
                f"{len(weights)} level weights but the heads give "
                f"{len(speech)} levels"
            )
        logit_scale = self.modules.logit_scale()
        loss = torch.zeros((), device=self.device)
        for weight, s_emb, t_emb in zip(weights, speech, text, strict=True):
            if weight:
                loss = loss + weight * loss_fn(
                    s_emb.float(),
                    t_emb.float(),
                    logit_scale,
                    speech_labels=speech_labels,
                    text_labels=text_labels,
                    gather=gather,
                )
        return loss

    def no_loss(self):
        """The loss of an evaluation-only batch (no descriptions): 0.

        Retrieval metrics are computed at the end of the stage; the stage
        loss is then left out of the logs.

        Returns
        -------
        torch.Tensor
        """
        self._loss_defined = False
        return torch.zeros((), device=self.device)

    def batch_tensor(self, batch, key, dtype=None):
        """``batch.<key>`` (PaddedData, tensor or list) as a device tensor.

        Arguments
        ---------
        batch : PaddedBatch
        key : str
        dtype : torch.dtype, optional

        Returns
        -------
        torch.Tensor
        """
        value = torch.as_tensor(
            padded_data(getattr(batch, key)), device=self.device
        )
        return value if dtype is None else value.to(dtype)

    # ------------------------------------------------------------------ #
    # Retrieval evaluation
    # ------------------------------------------------------------------ #
    def on_stage_start(self, stage, epoch=None):
        """Resets the embedding collectors of the stage.

        Arguments
        ---------
        stage : sb.Stage
        epoch : int, optional
        """
        self._collected_embeddings = []
        self._collected_items = []
        self._loss_defined = True

    def collect_embeddings(self, batch, embeddings, fields):
        """Keeps a batch's speech embeddings and evaluation labels.

        The labels come from ``batch.eval_labels`` (one dict per item) when
        the data pipeline provides it, else from one batch key per field.

        Arguments
        ---------
        batch : PaddedBatch
        embeddings : torch.Tensor
            (B, D) retrieval embeddings of the batch.
        fields : list of str
            The evaluator's fields.
        """
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

    def evaluate_collected(self, evaluator, stage, tag="test"):
        """Retrieval metrics of the embeddings collected during ``stage``.

        Validation uses the evaluator's first description bank and no
        trials; the test uses every bank and the trial protocol.

        Arguments
        ---------
        evaluator : object
            An evaluator of ``speechbrain_style.evaluation`` (``fields``,
            ``banks``, ``selection_metric``, ``evaluate``).
        stage : sb.Stage
        tag : str
            Name of the evaluated set (trial file names, result files).

        Returns
        -------
        results : dict
            The evaluator's results.
        stats : dict
            Metrics for the training log, with ``retrieval_score`` (the
            evaluator's selection metric) and the stage loss.
        """
        speech = torch.cat(self._collected_embeddings)
        if stage == sb.Stage.TEST:
            banks, trials = None, True
        else:
            banks, trials = evaluator.banks[:1], False
        results = evaluator.evaluate(
            speech,
            self._collected_items,
            self.encode_texts,
            banks=banks,
            trials=trials,
            trials_tag=tag,
        )
        summary = results["summary"][evaluator.banks[0]]
        stats = {
            key: round(value, 4)
            for key, value in summary.items()
            if key.startswith(LOGGED_METRICS)
        }
        stats["retrieval_score"] = summary[evaluator.selection_metric]
        return results, stats

    def stage_stats(self, stage_loss):
        """``{"loss": stage_loss}``, or {} when the loss is not defined.

        Arguments
        ---------
        stage_loss : float

        Returns
        -------
        dict
        """
        return {"loss": stage_loss} if self._loss_defined else {}

    def log_and_checkpoint(self, train_logger, epoch, valid_stats):
        """Logs a validation epoch and keeps the best checkpoint.

        The checkpoint with the highest ``retrieval_score`` is kept (the
        retrieval metric, not the loss, selects the model).

        Arguments
        ---------
        train_logger : speechbrain.utils.train_logger.TrainLogger
        epoch : int
        valid_stats : dict
            With ``retrieval_score``.
        """
        stats_meta = {
            "epoch": epoch,
            "temperature": round(1.0 / float(self.modules.logit_scale()), 4),
        }
        for name, opt in (self.optimizers_dict or {}).items():
            stats_meta[f"lr_{name}"] = opt.param_groups[0]["lr"]
        train_logger.log_stats(
            stats_meta=stats_meta,
            train_stats=getattr(self, "train_stats", None),
            valid_stats=valid_stats,
        )
        if self.checkpointer is not None:
            self.checkpointer.save_and_keep_only(
                meta={
                    "retrieval_score": valid_stats["retrieval_score"],
                    "epoch": epoch,
                },
                max_keys=["retrieval_score"],
            )

    def write_test_results(self, train_logger, epoch, results, stats, folder):
        """Logs a test evaluation and writes its table, json and plots.

        Arguments
        ---------
        train_logger : speechbrain.utils.train_logger.TrainLogger
        epoch : int
            The epoch of the loaded checkpoint.
        results : dict
            From ``evaluate_collected``.
        stats : dict
            From ``evaluate_collected``.
        folder : str
            Where ``retrieval_<tag>.{txt,json,png}`` go.
        """
        train_logger.log_stats(
            stats_meta={"Epoch loaded": epoch}, test_stats=stats
        )
        self.test_results = results
        if if_main_process():
            tag = getattr(self, "eval_tag", "test")
            paths = save_results(results, folder, name=f"retrieval_{tag}")
            logger.info("\n" + format_table(results))
            logger.info(f"Retrieval results written to {paths['table']}")

    # ------------------------------------------------------------------ #
    # Optimisation
    # ------------------------------------------------------------------ #
    def make_optimizers(
        self,
        encoder_opt_class,
        head_opt_class,
        encoder_modules=ENCODER_MODULES,
        no_decay_modules=NO_DECAY_MODULES,
        text_encoder_opt_class=None,
    ):
        """One optimizer for the encoders, one for the heads + logit scale.

        Frozen parameters are left out; every trainable parameter is in
        exactly one optimizer (the logit scale included, without weight
        decay). Each optimizer is registered with the checkpointer. Call it
        from the recipe's ``init_optimizers``.

        A pretrained text encoder fine-tuned beside a speech encoder trained
        from scratch wants a far smaller learning rate: with
        ``text_encoder_opt_class`` the ``text_encoder`` module gets its own
        optimizer, ``"text_encoder"`` (step its schedule under that name).

        Arguments
        ---------
        encoder_opt_class : callable
            ``encoder_opt_class(params) -> torch.optim.Optimizer``.
        head_opt_class : callable
            Same, for the heads, the auxiliary modules and the logit scale.
        encoder_modules : tuple of str
            Modules trained by the encoder optimizer.
        no_decay_modules : tuple of str
            Modules whose parameters get ``weight_decay=0``.
        text_encoder_opt_class : callable, optional
            Same, for the ``text_encoder`` module alone (``None``: it is
            trained by the encoder optimizer).

        Returns
        -------
        dict
            ``{"encoder": ..., "heads": ...}`` (``self.optimizers_dict``),
            and ``"text_encoder"`` with ``text_encoder_opt_class`` and a
            trainable text encoder.
        """
        encoder_params, head_params, no_decay = [], [], []
        text_params = []
        for name, module in self.modules.items():
            params = [p for p in module.parameters() if p.requires_grad]
            if name == "text_encoder" and text_encoder_opt_class is not None:
                text_params.extend(params)
            elif name in no_decay_modules:
                no_decay.extend(params)
            elif name in encoder_modules:
                encoder_params.extend(params)
            else:
                head_params.extend(params)
        self.optimizers_dict = {}
        if encoder_params:
            self.optimizers_dict["encoder"] = encoder_opt_class(encoder_params)
        if text_params:
            self.optimizers_dict["text_encoder"] = text_encoder_opt_class(
                text_params
            )
        if head_params or no_decay:
            groups = [{"params": head_params}]
            if no_decay:
                groups.append({"params": no_decay, "weight_decay": 0.0})
            self.optimizers_dict["heads"] = head_opt_class(groups)
        if not self.optimizers_dict:
            raise ValueError("No trainable parameter: every module is frozen")
        if self.checkpointer is not None:
            for name, opt in self.optimizers_dict.items():
                self.checkpointer.add_recoverable(f"{name}_optimizer", opt)
        n_enc = sum(p.numel() for p in encoder_params + text_params)
        n_head = sum(p.numel() for p in head_params + no_decay)
        logger.info(
            f"Trainable parameters: encoders {n_enc / 1e6:.2f}M, "
            f"heads {n_head / 1e6:.2f}M"
        )
        return self.optimizers_dict

    def make_lr_schedulers(self, factories):
        """Builds a per-optimizer-step torch scheduler for optimizers.

        Call it from the recipe's ``init_optimizers``, after
        ``make_optimizers``. Each factory (yaml ``!name:``, e.g.
        :func:`speechbrain_style.nnet.schedulers.warmup_cosine_scheduler`)
        is called as ``factory(optimizer, steps_per_epoch=...)`` and must
        return a torch ``LRScheduler``; ``steps_per_epoch`` counts optimizer
        steps (the training batches of an epoch, per process, divided by
        ``grad_accumulation_factor``). The schedulers are stepped once per
        optimizer step (``optimizers_step``) and checkpointed.

        Arguments
        ---------
        factories : dict
            ``{optimizer name: factory}``; ``None`` values are skipped.

        Returns
        -------
        dict
            ``{optimizer name: scheduler}`` (``self.lr_schedulers``).
        """
        self.lr_schedulers = {}
        for name, factory in factories.items():
            if factory is None or name not in self.optimizers_dict:
                continue
            batches = getattr(self, "train_batches_per_epoch", None)
            if batches is None:
                raise ValueError(
                    f"The {name} learning-rate schedule needs the number of "
                    "training batches per epoch: train with "
                    "StyleRetrievalBrain.fit"
                )
            steps = max(1, batches // self.grad_accumulation_factor)
            scheduler = factory(
                self.optimizers_dict[name], steps_per_epoch=steps
            )
            if not isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler):
                raise TypeError(
                    f"The {name} scheduler factory must build a torch "
                    "LRScheduler from (optimizer, steps_per_epoch), got "
                    f"{type(scheduler).__name__}"
                )
            self.lr_schedulers[name] = scheduler
            if self.checkpointer is not None:
                self.checkpointer.add_recoverable(
                    f"{name}_lr_scheduler", scheduler
                )
            logger.info(
                f"{name} lr schedule: {type(scheduler).__name__}, {steps} "
                f"optimizer steps per epoch ({batches} batches, gradient "
                f"accumulation {self.grad_accumulation_factor})"
            )
        return self.lr_schedulers

    def step_schedulers(self, schedulers):
        """Steps SpeechBrain per-step schedulers (called with an optimizer).

        For schedulers such as ``speechbrain.nnet.schedulers.
        LinearWarmupScheduler``; call it from ``on_fit_batch_end`` when
        ``should_step``. (Torch schedulers: ``make_lr_schedulers``.)

        Arguments
        ---------
        schedulers : dict
            ``{optimizer name: scheduler}``; ``None`` values are skipped.
        """
        for name, scheduler in schedulers.items():
            if scheduler is not None and name in self.optimizers_dict:
                scheduler(self.optimizers_dict[name])

    def fit(self, epoch_counter, train_set, valid_set=None, **kwargs):
        """``Brain.fit``, remembering the training batches per epoch.

        The training set is turned into its (per-process) DataLoader here so
        that the learning-rate schedulers know the epoch length.

        Arguments
        ---------
        epoch_counter : iterable
            The epoch counter.
        train_set : Dataset or DataLoader
            Training data.
        valid_set : Dataset or DataLoader, optional
            Validation data.
        **kwargs : dict
            Other arguments of ``speechbrain.core.Brain.fit``
            (``train_loader_kwargs``, ``valid_loader_kwargs``, ...).

        Returns
        -------
        object
            What ``Brain.fit`` returns.
        """
        from speechbrain.dataio.dataloader import LoopedLoader
        from torch.utils.data import DataLoader

        if not isinstance(train_set, (DataLoader, LoopedLoader)):
            train_set = self.make_dataloader(
                train_set,
                stage=sb.Stage.TRAIN,
                **kwargs.pop("train_loader_kwargs", {}),
            )
        self.train_batches_per_epoch = len(train_set)
        return super().fit(epoch_counter, train_set, valid_set, **kwargs)

    def optimizers_step(self):
        """SpeechBrain's optimizer step, then the logit-scale bounds.

        ``Brain.fit_batch`` calls this once per optimizer step (every
        ``grad_accumulation_factor`` batches, after the AMP scaler has
        unscaled and applied the gradients): the logit scale is clamped in
        place right after each update (as open_clip clamps ``logit_scale``
        after ``optimizer.step()``, so its gradient never vanishes at a
        bound) and the torch learning-rate schedulers advance one step.
        """
        super().optimizers_step()
        if "logit_scale" in self.modules:
            logit_scale = unwrap(self.modules.logit_scale)
            if hasattr(logit_scale, "clamp_"):
                logit_scale.clamp_()
        for scheduler in getattr(self, "lr_schedulers", {}).values():
            scheduler.step()

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
            Extra plain values for the yaml (e.g. ``sample_rate``; the
            ``retrieval_level`` is added) and
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
        if "logit_scale" in self.modules and "logit_scale" not in extra:
            # 1 / temperature, for zero-shot probabilities (classify)
            with torch.no_grad():
                scale = unwrap(self.modules["logit_scale"])()
            extra["logit_scale"] = round(float(scale), 6)
        if if_main_process():
            modules = {
                name: unwrap(self.modules[name]) for name in INFERENCE_MODULES
            }
            extra.setdefault("retrieval_level", self.retrieval_level)
            write_inference_folder(folder, modules, extra=extra)
            logger.info(f"Inference model written to {os.path.abspath(folder)}")
        sb.utils.distributed.ddp_barrier()
        return folder

"""Tests of StyleRetrievalBrain's optimisation step and retrieval level."""

import functools
import math
import types

import pytest
import speechbrain as sb
import torch
from speechbrain.dataio.batch import PaddedBatch
from speechbrain.utils.epoch_loop import EpochCounter

from speechbrain_style.brain import StyleRetrievalBrain
from speechbrain_style.inference import StyleRetriever
from speechbrain_style.lobes import (
    ECAPASpeechEncoder,
    HFTextEncoder,
    ProjectionHead,
)
from speechbrain_style.nnet.losses import InfoNCELoss, LearnableLogitScale
from tests.tiny_models import build_tiny_hf_text_encoder

TEXTS = ["a calm voice", "an angry shout", "a sad whisper", "a happy song"]


@pytest.fixture(scope="module")
def text_dir(tmp_path_factory):
    return build_tiny_hf_text_encoder(
        tmp_path_factory.mktemp("bert"), "bert", hidden_size=16
    )


def _batch(seed=0):
    """A PaddedBatch of 4 random utterances and their descriptions."""
    generator = torch.Generator().manual_seed(seed)
    lengths = [8000, 6000, 7000, 5000]
    items = [
        {
            "id": f"utt{i}",
            "sig": torch.randn(n, generator=generator),
            "description": text,
            "style": text.split()[1],
        }
        for i, (n, text) in enumerate(zip(lengths, TEXTS, strict=True))
    ]
    return PaddedBatch(items)


class _TestBrain(StyleRetrievalBrain):
    """The smallest recipe Brain: InfoNCE over both head levels."""

    def compute_forward(self, batch, stage):
        """Embeds speech and descriptions; collects outside training."""
        batch = batch.to(self.device)
        wavs, lens = batch.sig
        speech = self.embed_speech(wavs, lens)
        text = self.embed_text(batch.description)
        if stage != sb.Stage.TRAIN:
            embeddings = self.retrieval_embedding(speech)
            self.collect_embeddings(batch, embeddings, ["style"])
        return speech, text

    def compute_objectives(self, predictions, batch, stage):
        """InfoNCE summed over the levels."""
        speech, text = predictions
        return self.contrastive_objective(
            self.hparams.contrastive_loss, speech, text
        )

    def init_optimizers(self):
        """Two optimizers and, if given, a heads schedule."""
        self.make_optimizers(
            self.hparams.encoder_opt_class,
            self.hparams.head_opt_class,
            text_encoder_opt_class=getattr(
                self.hparams, "text_encoder_opt_class", None
            ),
        )
        self.make_lr_schedulers(
            {"heads": getattr(self.hparams, "heads_lr_scheduler", None)}
        )


def _brain(text_dir, head_lr=0.0, temperature=None, **hparams):
    """A recipe-like Brain on tiny ECAPA-TDNN + BERT, two-level heads."""
    torch.manual_seed(0)
    speech_encoder = ECAPASpeechEncoder(
        n_mels=20, channels=(16, 16, 16, 16, 48), lin_neurons=8
    )
    text_encoder = HFTextEncoder(text_dir, pooling="mean", freeze=True)
    modules = {
        "speech_encoder": speech_encoder,
        "speech_head": ProjectionHead(8, proj_size=6, num_transform_layers=2),
        "text_encoder": text_encoder,
        "text_head": ProjectionHead(16, proj_size=6, num_transform_layers=2),
        "logit_scale": temperature or LearnableLogitScale(0.07),
    }
    defaults = {
        "contrastive_loss": InfoNCELoss(),
        "encoder_opt_class": functools.partial(torch.optim.SGD, lr=0.0),
        "head_opt_class": functools.partial(torch.optim.SGD, lr=head_lr),
        "retrieval_evaluator": types.SimpleNamespace(fields=["style"]),
        "epoch_counter": EpochCounter(1),
        "sample_rate": 16000,
    }
    run_opts = {"device": "cpu", "noprogressbar": True}
    run_opts.update(hparams.pop("run_opts", {}))
    retrieval_level = hparams.pop("retrieval_level", None)
    defaults.update(hparams)
    brain = _TestBrain(modules=modules, hparams=defaults, run_opts=run_opts)
    if retrieval_level is not None:
        brain.retrieval_level = retrieval_level
    return brain


# ---------------------------------------------------------------------- #
# LearnableLogitScale is clamped after each optimizer step
# ---------------------------------------------------------------------- #
# fp16 (GradScaler) is GPU-only in SpeechBrain; bf16 is its CPU AMP.
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_step_beyond_a_bound_leaves_the_temperature_at_it(
    text_dir, precision
):
    # A huge learning rate throws the log-scale far beyond a bound in one
    # SGD step; with grad accumulation 2 the step happens on batch 2.
    temperature = LearnableLogitScale(0.07, 0.01, 1.0)
    brain = _brain(
        text_dir,
        head_lr=1e6,
        temperature=temperature,
        run_opts={"precision": precision, "grad_accumulation_factor": 2},
    )
    brain.on_fit_start()
    batch = _batch()
    initial = temperature.log_logit_scale.item()
    brain.step = 1
    brain.fit_batch(batch)
    assert temperature.log_logit_scale.item() == initial  # accumulating
    assert temperature.log_logit_scale.grad is not None
    brain.step = 2
    brain.fit_batch(batch)
    value = temperature.log_logit_scale.item()
    bounds = (math.log(1.0), math.log(100.0))
    assert min(abs(value - bound) for bound in bounds) < 1e-6, value
    assert brain.optimizer_step == 1


# ---------------------------------------------------------------------- #
# A fine-tuned text encoder can have its own optimizer
# ---------------------------------------------------------------------- #
def _param_ids(optimizer):
    return {id(p) for group in optimizer.param_groups for p in group["params"]}


@pytest.mark.parametrize("own_optimizer", [False, True])
def test_unfrozen_text_encoder_is_trained_by_its_own_optimizer(
    text_dir, own_optimizer
):
    hparams = {"encoder_opt_class": functools.partial(torch.optim.SGD, lr=0.5)}
    if own_optimizer:  # learning rate 0: the text encoder must not move
        hparams["text_encoder_opt_class"] = functools.partial(
            torch.optim.SGD, lr=0.0
        )
    brain = _brain(text_dir, head_lr=0.1, **hparams)
    brain.modules.text_encoder.freeze = False
    brain.on_fit_start()
    text_params = list(brain.modules.text_encoder.parameters())
    speech_params = list(brain.modules.speech_encoder.parameters())
    text_ids = {id(p) for p in text_params}
    opts = brain.optimizers_dict
    if own_optimizer:
        assert set(opts) == {"encoder", "text_encoder", "heads"}
        assert _param_ids(opts["text_encoder"]) == text_ids
        assert not _param_ids(opts["encoder"]) & text_ids
    else:
        assert set(opts) == {"encoder", "heads"}
        assert text_ids <= _param_ids(opts["encoder"])
    text_before = [p.detach().clone() for p in text_params]
    speech_before = [p.detach().clone() for p in speech_params]
    brain.step = 1
    brain.fit_batch(_batch())

    def moved(before, params):
        return any(
            not torch.equal(a, p) for a, p in zip(before, params, strict=True)
        )

    assert moved(text_before, text_params) != own_optimizer
    assert moved(speech_before, speech_params)


# ---------------------------------------------------------------------- #
# Retrieval level: evaluation, export and StyleRetriever agree
# ---------------------------------------------------------------------- #
def _levels(brain, batch):
    """(speech levels, text levels) of the batch, eval mode, no grad."""
    brain.modules.eval()
    wavs, lens = batch.sig
    with torch.no_grad():
        speech = brain.modules.speech_head(
            brain.modules.speech_encoder(wavs, lens)
        )
        text = brain.modules.text_head(
            brain.modules.text_encoder(batch.description)
        )
    return speech, text


@pytest.mark.parametrize("retrieval_level", [None, 1])
def test_evaluation_and_retriever_use_the_retrieval_level(
    text_dir, tmp_path, retrieval_level
):
    hparams = {} if retrieval_level is None else {"retrieval_level": 1}
    level = 0 if retrieval_level is None else 1
    brain = _brain(text_dir, **hparams)
    batch = _batch()
    speech, text = _levels(brain, batch)
    # the two levels are different embeddings
    assert not torch.allclose(speech[0], speech[1], atol=1e-3)
    assert not torch.allclose(text[0], text[1], atol=1e-3)

    brain.on_stage_start(sb.Stage.VALID)
    with torch.no_grad():
        brain.compute_forward(batch, sb.Stage.VALID)
    collected = torch.cat(brain._collected_embeddings)
    torch.testing.assert_close(collected, speech[level])
    torch.testing.assert_close(brain.encode_texts(TEXTS), text[level])

    folder = brain.export_inference(str(tmp_path / "inference"))
    with open(tmp_path / "inference" / "hyperparams.yaml") as fin:
        assert f"retrieval_level: {level}" in fin.read()
    model = StyleRetriever.from_hparams(source=folder)
    assert model.retrieval_level == level
    wavs, lens = batch.sig
    torch.testing.assert_close(
        model.encode_audio(wavs, lens), speech[level], atol=1e-5, rtol=1e-4
    )
    torch.testing.assert_close(
        model.encode_text(TEXTS), text[level], atol=1e-5, rtol=1e-4
    )


def test_bad_retrieval_level_is_refused(text_dir):
    brain = _brain(text_dir, retrieval_level=2)
    with pytest.raises(ValueError, match="retrieval_level=2"):
        brain.encode_texts(TEXTS)


# ---------------------------------------------------------------------- #
# Learning-rate schedulers count optimizer steps
# ---------------------------------------------------------------------- #
class _LrRecordingBrain(_TestBrain):
    """Records the heads' learning rate after every training batch."""

    def on_fit_batch_end(self, batch, outputs, loss, should_step):
        super().on_fit_batch_end(batch, outputs, loss, should_step)
        self.lr_after_batch.append(
            self.optimizers_dict["heads"].param_groups[0]["lr"]
        )


@pytest.mark.parametrize("accumulation", [1, 2])
def test_lr_schedule_counts_optimizer_steps_not_batches(text_dir, accumulation):
    from speechbrain_style.nnet.schedulers import warmup_cosine_scheduler

    factory = functools.partial(
        warmup_cosine_scheduler,
        warmup_epochs=1,
        rampdown_stop_epoch=3,
        min_lr=1e-4,
    )
    brain = _brain(
        text_dir,
        head_lr=0.1,
        heads_lr_scheduler=factory,
        run_opts={"grad_accumulation_factor": accumulation},
    )
    brain.__class__ = _LrRecordingBrain
    brain.lr_after_batch = []
    batch_items = [
        {"id": f"u{i}", "sig": torch.randn(4000 + 100 * i), "description": t}
        for i, t in enumerate(TEXTS * 4)
    ]
    brain.fit(
        EpochCounter(2),
        batch_items,
        train_loader_kwargs={"batch_size": 2, "collate_fn": PaddedBatch},
    )
    assert len(brain.lr_after_batch) == 16  # 2 epochs of 8 batches
    steps_per_epoch = 8 // accumulation
    # the same schedule on its own, after n optimizer steps
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    alone = warmup_cosine_scheduler(opt, steps_per_epoch, 1, 3, min_lr=1e-4)
    after_steps = [opt.param_groups[0]["lr"]]
    for _ in range(16):
        opt.step()
        alone.step()
        after_steps.append(opt.param_groups[0]["lr"])
    expected = [after_steps[n // accumulation] for n in range(1, 17)]
    assert brain.lr_after_batch == pytest.approx(expected, rel=1e-9)
    assert brain.optimizer_step == 16 // accumulation

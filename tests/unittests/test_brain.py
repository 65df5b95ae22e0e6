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
from speechbrain_style.losses import ContrastiveLoss, LearnableTemperature
from speechbrain_style.testing import build_tiny_hf_text_encoder

TEXTS = ["a calm voice", "an angry shout", "a sad whisper", "a happy song"]


@pytest.fixture(scope="module")
def text_dir(tmp_path_factory):
    return build_tiny_hf_text_encoder(
        tmp_path_factory.mktemp("bert"), "bert", hidden_size=16
    )


def _batch(seed=0):
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


def _brain(text_dir, head_lr=0.0, temperature=None, **hparams):
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
        "temperature": temperature or LearnableTemperature(0.07),
    }
    defaults = {
        "contrastive_loss": ContrastiveLoss(),
        "encoder_opt_class": functools.partial(torch.optim.SGD, lr=0.0),
        "head_opt_class": functools.partial(torch.optim.SGD, lr=head_lr),
        "retrieval_evaluator": types.SimpleNamespace(fields=["style"]),
        "epoch_counter": EpochCounter(1),
        "sample_rate": 16000,
    }
    defaults.update(hparams)
    run_opts = {"device": "cpu", "noprogressbar": True}
    run_opts.update(hparams.pop("run_opts", {}))
    defaults.pop("run_opts", None)
    return StyleRetrievalBrain(
        modules=modules, hparams=defaults, run_opts=run_opts
    )


# ---------------------------------------------------------------------- #
# LearnableTemperature is clamped after each optimizer step
# ---------------------------------------------------------------------- #
# fp16 (GradScaler) is GPU-only in SpeechBrain; bf16 is its CPU AMP.
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_step_beyond_a_bound_leaves_the_temperature_at_it(
    text_dir, precision
):
    # A huge learning rate throws the log-scale far beyond a bound in one
    # SGD step; with grad accumulation 2 the step happens on batch 2.
    temperature = LearnableTemperature(0.07, 0.01, 1.0)
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

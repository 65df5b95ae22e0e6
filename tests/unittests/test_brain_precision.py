"""A recipe Brain under mixed precision (SpeechBrain's ``--precision``).

The Brain is ESD's ``ExpressiveRetrievalBrain`` (recipes/ESD/train.py), a
``StyleRetrievalBrain`` with the auxiliary losses.

SpeechBrain runs ``compute_forward`` / ``compute_objectives`` under
``torch.autocast`` (``Brain.training_ctx``) and scales the loss with a
``GradScaler`` for fp16 on CUDA, unscaling every optimizer before the
gradient clipping and the steps. The Brain here has two optimizers (the
encoders; the heads with the learnable temperature in a second, undecayed
parameter group) and auxiliary losses, so these tests check that this code
trains under autocast and under a GradScaler:

* ``--precision=bf16`` on CPU, as SpeechBrain runs it;
* the fp16 CUDA path emulated on CPU: float16 autocast and an enabled
  ``torch.GradScaler``, compared with a float32 run (plain SGD on the
  heads, so the temperature's update is ``lr * grad`` and a gradient left
  scaled would show as a 1,024x larger step).
"""

import functools

import pytest
import speechbrain as sb
import torch
from speechbrain.dataio.batch import PaddedBatch
from speechbrain.utils.autocast import TorchAutocast

from speechbrain_style.lobes import (
    ECAPASpeechEncoder,
    HFTextEncoder,
    ModalityDiscriminator,
    ProjectionHead,
    StyleClassifier,
)
from speechbrain_style.nnet.losses import InfoNCELoss, LearnableLogitScale
from tests.prepare_utils import RECIPES_DIR, load_recipe_module
from tests.tiny_models import build_tiny_hf_text_encoder

SCALE = 1024.0


@pytest.fixture(scope="module")
def esd_train():
    """recipes/ESD/train.py as a module (its prepare script importable)."""
    import sys

    sys.path.insert(0, str(RECIPES_DIR / "ESD"))
    try:
        yield load_recipe_module("ESD", "train.py")
    finally:
        sys.path.remove(str(RECIPES_DIR / "ESD"))


@pytest.fixture(scope="module")
def text_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text")
    return build_tiny_hf_text_encoder(folder, "roberta", seed=0)


def _brain(esd_train, text_folder, precision="fp32", head_lr=0.1):
    """A small Brain with the recipes' module set and losses."""
    torch.manual_seed(0)
    modules = {
        "speech_encoder": ECAPASpeechEncoder(
            n_mels=20, channels=[16, 16, 16, 16, 48], lin_neurons=16
        ),
        "speech_head": ProjectionHead(16, proj_size=8),
        "text_encoder": HFTextEncoder(text_folder, freeze=False),
        "text_head": ProjectionHead(32, proj_size=8),
        "logit_scale": LearnableLogitScale(init_temperature=0.07),
        "style_classifier": StyleClassifier(8, 3),
        "modality_discriminator": ModalityDiscriminator(8),
    }
    hparams = {
        "contrastive_loss": InfoNCELoss(),
        "encoder_opt_class": functools.partial(torch.optim.AdamW, lr=1e-3),
        "head_opt_class": functools.partial(torch.optim.SGD, lr=head_lr),
        "epoch_counter": sb.utils.epoch_loop.EpochCounter(1),
        "label_aware": True,
        "loss_levels": [1.0],
        "style_classifier_weight": 0.5,
        "style_classifier_start_epoch": 1,
        "modality_discriminator_weight": 0.1,
        "modality_discriminator_start_epoch": 1,
    }
    brain = esd_train.ExpressiveRetrievalBrain(
        modules=modules,
        hparams=hparams,
        run_opts={"device": "cpu", "precision": precision},
    )
    brain.hparams.epoch_counter.current = 1
    brain.on_fit_start()
    brain.on_stage_start(sb.Stage.TRAIN, 1)
    return brain


def _batch():
    """Four utterances of 0.5 s with descriptions and style labels."""
    generator = torch.Generator().manual_seed(1)
    texts = ["A calm voice.", "An angry voice.", "A sad man.", "Calm speech."]
    classes = [0, 1, 2, 0]
    return PaddedBatch(
        [
            {
                "id": f"u{i}",
                "sig": 0.1 * torch.randn(8000, generator=generator),
                "description": texts[i],
                "speech_labels": torch.LongTensor([classes[i]]),
                "text_labels": torch.LongTensor([classes[i]]),
                "style_index": classes[i],
            }
            for i in range(4)
        ]
    )


def _params(brain):
    """Copies of every trainable parameter."""
    return {
        name: p.detach().clone()
        for name, p in brain.modules.named_parameters()
        if p.requires_grad
    }


def _train(brain, steps=2):
    """``steps`` fit_batch calls; returns the losses."""
    return [float(brain.fit_batch(_batch())) for _ in range(steps)]


def test_bf16_autocast_trains_every_parameter(esd_train, text_folder):
    brain = _brain(esd_train, text_folder, precision="bf16")
    dtypes = []
    brain.modules.speech_head.register_forward_hook(
        lambda module, args, out: dtypes.append(out[-1].dtype)
    )
    before = _params(brain)
    losses = _train(brain)
    assert dtypes and all(d == torch.bfloat16 for d in dtypes)  # autocast
    assert all(torch.isfinite(torch.tensor(losses)))
    after = _params(brain)
    unchanged = [n for n in before if torch.equal(before[n], after[n])]
    assert unchanged == []  # the temperature and both optimizers stepped
    assert all(p.dtype == torch.float32 for p in after.values())
    # evaluation under autocast returns float32 embeddings
    assert brain.encode_texts(["A calm voice."]).dtype == torch.float32


def test_fp16_grad_scaler_path_matches_fp32(esd_train, text_folder):
    reference = _brain(esd_train, text_folder)
    start = _params(reference)
    reference_losses = _train(reference, steps=1)
    expected = _params(reference)

    brain = _brain(esd_train, text_folder)
    # the CUDA fp16 path of SpeechBrain, on CPU: fp16 autocast + GradScaler
    brain.training_ctx = TorchAutocast(device_type="cpu", dtype=torch.float16)
    brain.scaler = torch.GradScaler("cpu", init_scale=SCALE)
    assert torch.equal(
        _params(brain)["logit_scale.log_logit_scale"],
        start["logit_scale.log_logit_scale"],
    )
    losses = _train(brain, steps=1)
    assert losses[0] == pytest.approx(reference_losses[0], rel=0.05)
    assert brain.scaler.get_scale() == SCALE  # finite gradients, no skip
    after = _params(brain)
    name = "logit_scale.log_logit_scale"
    step = after[name] - start[name]
    expected_step = expected[name] - start[name]
    assert float(expected_step) != 0.0
    # unscaled before the SGD step: the same update as in float32
    assert float(step) == pytest.approx(float(expected_step), rel=0.1)
    for key in ("speech_head", "text_head", "speech_encoder"):
        moved = [n for n in after if n.startswith(key)]
        assert moved and all(
            not torch.equal(after[n], start[n]) for n in moved
        ), key

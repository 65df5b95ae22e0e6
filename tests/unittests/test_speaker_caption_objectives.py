"""The objectives written out in the VoxCeleb, Clotho and AudioCaps train.py:
contrastive loss over the head levels, label-aware positives (same speaker,
same clip) and the VoxCeleb recipe's AAM speaker loss, on when its module
is there, its weight is nonzero and the epoch reached its start epoch."""

import types

import pytest
import speechbrain as sb
import torch
from speechbrain.utils.epoch_loop import EpochCounter

from speechbrain_style.nnet.losses import InfoNCELoss, LearnableLogitScale
from speechbrain_style.nnet.speaker_loss import AAMSpeakerLoss
from tests.prepare_utils import RECIPES_DIR, load_recipe_module


def _train_module(recipe, monkeypatch):
    """``recipes/<recipe>/train.py`` imported (its prepare script beside)."""
    monkeypatch.syspath_prepend(str(RECIPES_DIR / recipe))
    return load_recipe_module(recipe, "train.py")


def _predictions(batch_size=4, dim=8, levels=2, seed=0):
    """Normalised random speech and text embeddings, one per head level."""
    gen = torch.Generator().manual_seed(seed)

    def level():
        x = torch.randn(batch_size, dim, generator=gen)
        return torch.nn.functional.normalize(x, dim=-1)

    return [level() for _ in range(levels)], [level() for _ in range(levels)]


def _brain(brain_class, modules, **hparams):
    """A recipe Brain on the CPU, without checkpointer or optimizers."""
    return brain_class(
        modules=modules, hparams=hparams, run_opts={"device": "cpu"}
    )


def _speaker_brain(monkeypatch, with_aam=True, **overrides):
    """The VoxCeleb recipe's Brain with 3 training speakers."""
    train = _train_module("VoxCeleb", monkeypatch)
    torch.manual_seed(0)
    modules = {"logit_scale": LearnableLogitScale(0.07)}
    if with_aam:
        modules["speaker_aam"] = AAMSpeakerLoss(input_size=8, num_speakers=3)
    counter = EpochCounter(limit=5)
    counter.current = 1
    hparams = {
        "contrastive_loss": InfoNCELoss(),
        "loss_levels": [1.0, 1.0],
        "label_aware": False,
        "speaker_aam_weight": 0.1,
        "speaker_aam_start_epoch": 1,
        "epoch_counter": counter,
    }
    hparams.update(overrides)
    return _brain(train.SpeakerTextRetrievalBrain, modules, **hparams)


SPEAKERS = torch.tensor([0, 0, 1, 2])
BATCH = types.SimpleNamespace(
    speaker_index=SPEAKERS.tolist(),
    speech_labels=SPEAKERS.view(-1, 1),
    text_labels=SPEAKERS.view(-1, 1),
)


def _contrastive(speech, text, labels=None):
    """The reference: InfoNCE summed over the two head levels."""
    scale = torch.tensor(1 / 0.07)
    return sum(
        InfoNCELoss()(s, t, scale, speech_labels=labels, text_labels=labels)
        for s, t in zip(speech, text, strict=True)
    )


def test_speaker_objective_adds_the_aam_loss(monkeypatch):
    speech, text = _predictions()
    brain = _speaker_brain(monkeypatch)
    loss = brain.compute_objectives((speech, text), BATCH, sb.Stage.TRAIN)
    aam = brain.modules.speaker_aam(speech[-1], SPEAKERS)
    expected = _contrastive(speech, text) + 0.1 * aam
    assert float(aam.detach()) > 0
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)
    # validation: the contrastive loss alone
    valid = brain.compute_objectives((speech, text), BATCH, sb.Stage.VALID)
    assert float(valid) == pytest.approx(float(_contrastive(speech, text)))


@pytest.mark.parametrize(
    "case",
    [
        {"speaker_aam_weight": 0.0},
        {"speaker_aam_start_epoch": 2},
        {"with_aam": False},
    ],
    ids=["weight-0", "before-start-epoch", "no-module"],
)
def test_speaker_objective_aam_off(monkeypatch, case):
    speech, text = _predictions()
    brain = _speaker_brain(monkeypatch, **case)
    loss = brain.compute_objectives((speech, text), BATCH, sb.Stage.TRAIN)
    assert float(loss) == pytest.approx(float(_contrastive(speech, text)))


def test_speaker_objective_label_aware(monkeypatch):
    speech, text = _predictions()
    brain = _speaker_brain(monkeypatch, with_aam=False, label_aware=True)
    loss = brain.compute_objectives((speech, text), BATCH, sb.Stage.TRAIN)
    labelled = _contrastive(speech, text, SPEAKERS.view(-1, 1))
    assert float(loss) == pytest.approx(float(labelled), rel=1e-5)
    # items 0 and 1 share a speaker: it is not the plain InfoNCE
    assert float(loss) != pytest.approx(float(_contrastive(speech, text)))


def test_speaker_objective_levels_and_test_batches(monkeypatch):
    speech, text = _predictions()
    brain = _speaker_brain(monkeypatch, with_aam=False, loss_levels=[0.0, 1])
    loss = brain.compute_objectives((speech, text), BATCH, sb.Stage.TRAIN)
    last = _contrastive(speech[1:], text[1:])
    assert float(loss) == pytest.approx(float(last), rel=1e-5)
    # a test batch has no descriptions: no loss
    brain.on_stage_start(sb.Stage.TEST)
    assert float(brain.compute_objectives((speech, None), BATCH, None)) == 0
    assert brain.stage_stats(1.0) == {}


@pytest.mark.parametrize("recipe", ["Clotho", "AudioCaps"])
def test_caption_objective_same_clip_captions_are_positives(
    recipe, monkeypatch
):
    train = _train_module(recipe, monkeypatch)
    speech, text = _predictions()
    clips = torch.tensor([0, 0, 0, 1]).view(-1, 1)  # 3 captions of clip 0
    batch = types.SimpleNamespace(speech_labels=clips, text_labels=clips)
    modules = {"logit_scale": LearnableLogitScale(0.05, learnable=False)}

    def loss_of(label_aware):
        brain = _brain(
            train.CaptionRetrievalBrain,
            modules,
            contrastive_loss=InfoNCELoss(),
            loss_levels=[0.0, 1.0],
            label_aware=label_aware,
        )
        return brain.compute_objectives((speech, text), batch, sb.Stage.TRAIN)

    scale = torch.tensor(1 / 0.05)
    expected = InfoNCELoss()(
        speech[1], text[1], scale, speech_labels=clips, text_labels=clips
    )
    assert float(loss_of(True)) == pytest.approx(float(expected), rel=1e-5)
    plain = InfoNCELoss()(speech[1], text[1], scale)
    assert float(loss_of(False)) == pytest.approx(float(plain), rel=1e-5)
    assert float(loss_of(True)) != pytest.approx(float(plain))

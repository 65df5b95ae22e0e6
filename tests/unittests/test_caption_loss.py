"""The caption-retrieval loss: InfoNCELoss with clip-index labels.

The seed's loss (cross-entropy with temperature 0.05 where every caption of
the same clip is a positive) is ``InfoNCELoss`` with ``speech_labels =
text_labels = clip index``: each row's loss is minus the mean, over its
positives, of its log-softmax, and the two directions are averaged.
"""

import math

import pytest
import torch

from speechbrain_style.nnet.losses import InfoNCELoss, LearnableLogitScale


def _log_softmax_row(values, j):
    return values[j] - math.log(sum(math.exp(v) for v in values))


def test_multi_positive_loss_against_a_hand_worked_value():
    # Batch of 3 (audio, caption) pairs; pairs 0 and 1 are two captions of
    # the same clip (clip 7), pair 2 is another clip (clip 9). The audio of
    # pairs 0 and 1 is the same clip, so audio rows 0 and 1 are equal.
    audio = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    text = torch.tensor([[0.6, 0.8], [1.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([7, 7, 9])
    scale = 20.0  # temperature 0.05, the seed's
    loss = InfoNCELoss()(audio, text, scale, labels, labels)

    sim = (audio @ text.T * scale).tolist()  # rows audio, columns captions
    # audio -> text rows: audio 0 and 1 have positives {caption 0, 1}
    a2t = [
        -(_log_softmax_row(sim[0], 0) + _log_softmax_row(sim[0], 1)) / 2,
        -(_log_softmax_row(sim[1], 0) + _log_softmax_row(sim[1], 1)) / 2,
        -_log_softmax_row(sim[2], 2),
    ]
    cols = [[sim[i][j] for i in range(3)] for j in range(3)]  # text rows
    t2a = [
        -(_log_softmax_row(cols[0], 0) + _log_softmax_row(cols[0], 1)) / 2,
        -(_log_softmax_row(cols[1], 0) + _log_softmax_row(cols[1], 1)) / 2,
        -_log_softmax_row(cols[2], 2),
    ]
    expected = (sum(a2t) / 3 + sum(t2a) / 3) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # By hand: logits (audio x caption) = 20 * [[.6, 1, 0], [.6, 1, 0],
    #   [.8, 0, 1]]
    # audio rows: 0 and 1: -(12 + 20)/2 + lse(12, 20, 0) = 4.000335;
    #   2: -20 + lse(16, 0, 20) = log(1 + e^-4 + e^-20) = 0.018149
    # caption columns: 0: -(12 + 12)/2 + lse(12, 12, 16) = 4 + log(1 +
    #   2e^-4) = 4.035976; 1: -20 + lse(20, 20, 0) = log 2 = 0.693147;
    #   2: log(1 + 2e^-20) ~ 0
    # loss = ((2 * 4.000335 + 0.018149) / 3 + (4.035976 + 0.693147) / 3) / 2
    assert a2t[0] == pytest.approx(4.000335, abs=1e-6)
    assert t2a[0] == pytest.approx(4.035976, abs=1e-6)
    assert loss.item() == pytest.approx(2.124657, abs=1e-5)


def test_multi_positive_loss_matches_the_seed_soft_target_form():
    # Seed form: targets = same-clip matrix row-normalised; loss =
    # -0.5 * (mean_j sum_i T[j, i] log softmax_over_audio(P)[i, j]
    #          + mean_i sum_j T[i, j] log softmax_over_text(P)[i, j])
    torch.manual_seed(0)
    audio = torch.nn.functional.normalize(torch.randn(6, 8), dim=1)
    text = torch.nn.functional.normalize(torch.randn(6, 8), dim=1)
    clips = torch.tensor([0, 0, 1, 2, 2, 2])
    audio[1] = audio[0]  # same clip, same audio
    audio[4] = audio[3]
    audio[5] = audio[3]
    preds = audio @ text.T / 0.05
    same = (clips[:, None] == clips[None, :]).float()
    targets = same / same.sum(1, keepdim=True)
    seed = -0.5 * (
        (targets.T * torch.log_softmax(preds, dim=0)).sum(0).mean()
        + (targets * torch.log_softmax(preds, dim=1)).sum(1).mean()
    )
    ours = InfoNCELoss()(audio, text, 1 / 0.05, clips, clips)
    assert ours.item() == pytest.approx(seed.item(), rel=1e-6)
    # all labels distinct: the plain CLIP loss
    distinct = torch.arange(6)
    assert InfoNCELoss()(audio, text, 20.0, distinct, distinct).item() == (
        pytest.approx(InfoNCELoss()(audio, text, 20.0).item(), rel=1e-6)
    )


def test_fixed_and_learnable_temperature():
    fixed = LearnableLogitScale(0.05, learnable=False)
    assert fixed() == pytest.approx(20.0)
    assert not list(fixed.parameters())
    learnable = LearnableLogitScale(0.05)
    audio = torch.nn.functional.normalize(torch.randn(4, 3), dim=1)
    text = torch.nn.functional.normalize(torch.randn(4, 3), dim=1)
    labels = torch.tensor([0, 0, 1, 1])
    InfoNCELoss()(audio, text, learnable(), labels, labels).backward()
    assert learnable.log_logit_scale.grad is not None

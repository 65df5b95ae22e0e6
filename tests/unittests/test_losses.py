"""Unit tests for speechbrain_style.nnet.losses (single process)."""

import math

import pytest
import torch
import torch.nn.functional as F

from speechbrain_style.nnet.losses import (
    InfoNCELoss,
    LearnableLogitScale,
    multi_positive_nll,
    positive_mask,
)


def _log_softmax_at(values, index):
    """log(exp(values[index]) / sum(exp(values))) with plain math."""
    return values[index] - math.log(sum(math.exp(v) for v in values))


# Two pairs in 2-D. speech = [[1, 0], [0, 1]], text = [[1, 0], [0.6, 0.8]]
# cosines S = speech @ text.T = [[1, 0.6], [0, 0.8]]; with scale 2 the
# speech->text rows are [2, 1.2] and [0, 1.6]; the text->speech rows (the
# columns of S) are [2, 0] and [1.2, 1.6].
SPEECH_2 = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
TEXT_2 = torch.tensor([[1.0, 0.0], [0.6, 0.8]], dtype=torch.float64)


def test_plain_infonce_matches_hand_computation():
    s2t = [-_log_softmax_at([2, 1.2], 0), -_log_softmax_at([0, 1.6], 1)]
    t2s = [-_log_softmax_at([2, 0], 0), -_log_softmax_at([1.2, 1.6], 1)]
    expected = (sum(s2t) / 2 + sum(t2s) / 2) / 2
    # written out: row 0 s->t = log(1 + e^-0.8) etc.
    assert math.isclose(s2t[0], math.log(1 + math.exp(-0.8)))
    loss = InfoNCELoss()(SPEECH_2, TEXT_2, logit_scale=2.0)
    assert loss.item() == pytest.approx(expected, abs=1e-12)
    assert loss.item() == pytest.approx(0.29874, abs=1e-4)


def test_logit_scale_float_and_tensor_agree():
    loss_fn = InfoNCELoss()
    from_float = loss_fn(SPEECH_2, TEXT_2, 2.0)
    from_tensor = loss_fn(SPEECH_2, TEXT_2, torch.tensor(2.0))
    from_one_element = loss_fn(SPEECH_2, TEXT_2, torch.tensor([2.0]))
    assert from_float.item() == pytest.approx(from_tensor.item(), abs=1e-7)
    assert from_float.item() == pytest.approx(from_one_element.item(), abs=1e-7)


def test_plain_matches_cross_entropy_reference():
    torch.manual_seed(0)
    speech = F.normalize(torch.randn(6, 5, dtype=torch.float64), dim=1)
    text = F.normalize(torch.randn(6, 5, dtype=torch.float64), dim=1)
    logits = 10.0 * speech @ text.T
    targets = torch.arange(6)
    reference = (
        F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)
    ) / 2
    loss = InfoNCELoss()(speech, text, 10.0)
    assert loss.item() == pytest.approx(reference.item(), abs=1e-12)
    # all labels distinct: the label-aware loss is the plain loss
    labels = torch.arange(6)
    labelled = InfoNCELoss()(speech, text, 10.0, labels, labels)
    assert labelled.item() == pytest.approx(reference.item(), abs=1e-12)


def test_supervised_loss_with_duplicated_label_matches_hand_formula():
    # 3 pairs, pairs 0 and 2 share a label. Embeddings in 2-D:
    speech = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.8, 0.6]])
    text = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    # S = speech @ text.T:
    # [[1.0, 0.6, 0.0],
    #  [0.0, 0.8, 1.0],
    #  [0.8, 0.96, 0.6]]
    scale = 3.0
    S = [[1.0, 0.6, 0.0], [0.0, 0.8, 1.0], [0.8, 0.96, 0.6]]
    rows_s2t = [[scale * v for v in row] for row in S]
    rows_t2s = [[scale * S[j][i] for j in range(3)] for i in range(3)]
    positives = {0: [0, 2], 1: [1], 2: [0, 2]}  # same in both directions

    def direction_loss(rows):
        losses = [
            -sum(_log_softmax_at(rows[i], j) for j in positives[i])
            / len(positives[i])
            for i in range(3)
        ]
        return sum(losses) / 3

    expected = (direction_loss(rows_s2t) + direction_loss(rows_t2s)) / 2
    labels = torch.tensor([7, 4, 7])
    loss_fn = InfoNCELoss()
    supervised = loss_fn(speech, text, scale, labels, labels)
    plain = loss_fn(speech, text, scale)
    assert supervised.item() == pytest.approx(expected, abs=1e-5)
    assert supervised.item() == pytest.approx(1.44069, abs=1e-4)
    # Only the positive logits of rows 0 and 2 change: e.g. speech row 0
    # [3, 1.8, 0] loses -(3 + 0) / 2 instead of -3, i.e. +1.5; in total the
    # label-aware loss is larger by exactly 0.4 here.
    assert supervised.item() - plain.item() == pytest.approx(0.4, abs=1e-5)


def test_positive_mask_wildcards():
    # factors: (emotion, gender); -1 = not mentioned by the description
    text = torch.tensor([[0, -1], [1, 0], [-1, -1], [1, 1]])
    speech = torch.tensor([[0, 0], [0, 1], [1, 0]])
    expected = torch.tensor(
        [
            [True, True, False],  # emotion 0, any gender
            [False, False, True],  # emotion 1, gender 0
            [True, True, True],  # no constraint
            [False, False, False],  # emotion 1, gender 1: no speech item
        ]
    )
    assert torch.equal(positive_mask(text, speech), expected)
    # 1-D labels: equality
    mask_1d = positive_mask(torch.tensor([2, 3]), torch.tensor([3, 2]))
    assert mask_1d.tolist() == [[False, True], [True, False]]


def test_wildcard_loss_uses_mask_for_text_rows_and_transpose_for_speech():
    speech = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    text = torch.tensor([[0.6, 0.8], [0.0, 1.0]], dtype=torch.float64)
    # text 0 says nothing (wildcard): positive with both speech items.
    text_labels = torch.tensor([[-1], [1]])
    speech_labels = torch.tensor([[0], [1]])
    scale = 2.0
    # S = speech @ text.T = [[0.6, 0.0], [0.8, 1.0]]
    # mask (text x speech) = [[1, 1], [0, 1]]
    # text->speech rows (S.T * 2): text0 [1.2, 1.6] positives {0, 1};
    # text1 [0, 2] positive {1}
    t2s = (
        -(_log_softmax_at([1.2, 1.6], 0) + _log_softmax_at([1.2, 1.6], 1)) / 2
        - _log_softmax_at([0.0, 2.0], 1)
    ) / 2
    # speech->text rows (S * 2), positives from mask.T:
    # speech0 [1.2, 0] positive {0}; speech1 [1.6, 2.0] positives {0, 1}
    s2t = (
        -_log_softmax_at([1.2, 0.0], 0)
        - (_log_softmax_at([1.6, 2.0], 0) + _log_softmax_at([1.6, 2.0], 1)) / 2
    ) / 2
    loss = InfoNCELoss()(speech, text, scale, speech_labels, text_labels)
    assert loss.item() == pytest.approx((t2s + s2t) / 2, abs=1e-12)


def test_diagonal_is_always_positive():
    # speech label differs from its own description (e.g. noisy labels):
    # the pair stays a positive, so the loss equals the plain loss here.
    torch.manual_seed(0)
    speech = F.normalize(torch.randn(3, 4, dtype=torch.float64), dim=1)
    text = F.normalize(torch.randn(3, 4, dtype=torch.float64), dim=1)
    text_labels = torch.tensor([0, 1, 2])
    speech_labels = torch.tensor([5, 6, 7])
    loss_fn = InfoNCELoss()
    labelled = loss_fn(speech, text, 5.0, speech_labels, text_labels)
    assert labelled.item() == pytest.approx(
        loss_fn(speech, text, 5.0).item(), abs=1e-12
    )


def test_logits_are_float32_under_bf16_autocast():
    torch.manual_seed(0)
    speech = F.normalize(torch.randn(8, 16), dim=1)
    text = F.normalize(torch.randn(8, 16), dim=1)
    reference = InfoNCELoss()(speech, text, 100.0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        autocast_loss = InfoNCELoss()(speech, text, 100.0)
    assert autocast_loss.dtype == torch.float32
    assert autocast_loss.item() == pytest.approx(reference.item(), rel=1e-6)


def test_multi_positive_nll_single_positive_is_cross_entropy():
    torch.manual_seed(1)
    logits = torch.randn(4, 6)
    targets = torch.tensor([0, 5, 2, 2])
    positives = F.one_hot(targets, 6).bool()
    expected = F.cross_entropy(logits, targets, reduction="none")
    assert torch.allclose(multi_positive_nll(logits, positives), expected)
    with pytest.raises(ValueError, match="at least one"):
        multi_positive_nll(logits, torch.zeros(4, 6, dtype=torch.bool))


def test_temperature_receives_gradient_matching_finite_difference():
    torch.manual_seed(0)
    speech = F.normalize(torch.randn(5, 3, dtype=torch.float64), dim=1)
    text = F.normalize(torch.randn(5, 3, dtype=torch.float64), dim=1)
    temperature = LearnableLogitScale(init_temperature=0.1).double()
    loss = InfoNCELoss()(speech, text, temperature())
    loss.backward()
    grad = temperature.log_logit_scale.grad.item()
    assert grad != 0.0

    def loss_at(log_scale):
        return InfoNCELoss()(speech, text, math.exp(log_scale)).item()

    log_scale = math.log(10.0)
    eps = 1e-6
    numeric = (loss_at(log_scale + eps) - loss_at(log_scale - eps)) / (2 * eps)
    assert grad == pytest.approx(numeric, rel=1e-6)


def _unclamped_reference_gradient(log_scale, speech, text):
    """dL/dlog_scale of ``exp(log_scale)`` used as the logit scale."""
    leaf = torch.tensor(log_scale, requires_grad=True)
    InfoNCELoss()(speech, text, leaf.exp()).backward()
    return leaf.grad.item()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"init_temperature": 1.0, "max_temperature": 1.0},
        {"init_temperature": 0.01, "min_temperature": 0.01},
    ],
)
def test_temperature_gradient_is_not_zero_at_a_bound(kwargs):
    torch.manual_seed(0)
    speech = F.normalize(torch.randn(4, 3), dim=1)
    text = F.normalize(torch.randn(4, 3), dim=1)
    temperature = LearnableLogitScale(**kwargs)
    InfoNCELoss()(speech, text, temperature()).backward()
    grad = temperature.log_logit_scale.grad.item()
    expected = _unclamped_reference_gradient(
        math.log(1.0 / kwargs["init_temperature"]), speech, text
    )
    assert expected != 0.0
    assert grad == pytest.approx(expected, rel=1e-5)


def test_clamp_moves_the_parameter_back_to_the_bounds():
    temperature = LearnableLogitScale(0.07, 0.01, 1.0)
    with torch.no_grad():
        temperature.log_logit_scale.fill_(math.log(1000.0))  # T = 0.001
    assert temperature().item() == pytest.approx(1000.0, rel=1e-5)
    temperature.clamp_()
    assert temperature.log_logit_scale.item() == pytest.approx(math.log(100.0))
    with torch.no_grad():
        temperature.log_logit_scale.fill_(math.log(0.1))  # T = 10
    assert temperature.clamp_().temperature == pytest.approx(1.0)
    with torch.no_grad():
        temperature.log_logit_scale.fill_(math.log(20.0))  # inside: kept
    assert temperature.clamp_().temperature == pytest.approx(0.05)


def test_fixed_temperature_is_a_buffer():
    temperature = LearnableLogitScale(init_temperature=0.05, learnable=False)
    assert list(temperature.parameters()) == []
    assert "log_logit_scale" in temperature.state_dict()
    assert temperature().item() == pytest.approx(20.0, rel=1e-6)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"init_temperature": 0.0},
        {"init_temperature": 0.005},  # below min_temperature
        {"min_temperature": 0.5, "max_temperature": 0.1},
    ],
)
def test_temperature_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        LearnableLogitScale(**kwargs)


def test_bad_inputs_raise_clear_errors():
    loss_fn = InfoNCELoss()
    speech = torch.randn(3, 4)
    with pytest.raises(ValueError, match="same shape"):
        loss_fn(speech, torch.randn(2, 4), 1.0)
    with pytest.raises(ValueError, match="both"):
        loss_fn(speech, speech, 1.0, speech_labels=torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="integer"):
        loss_fn(speech, speech, 1.0, torch.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError, match="3 rows"):
        loss_fn(speech, speech, 1.0, torch.tensor([0, 1]), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="factors"):
        positive_mask(
            torch.zeros(2, 2, dtype=torch.long), torch.zeros(2, 3).long()
        )
    with pytest.raises(ValueError, match="logit_scale"):
        loss_fn(speech, speech, torch.tensor([1.0, 2.0]))

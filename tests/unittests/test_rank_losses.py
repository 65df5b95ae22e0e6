"""Tests of the cross-modal Rank-N-Contrast loss against the formula."""

import math

import pytest
import torch

from speechbrain_style.nnet.rank_losses import (
    RankNContrastLoss,
    label_distance,
    pairwise_similarity,
    rank_n_contrast_terms,
)


def _loop_similarity(a, b, similarity):
    if similarity == "cosine":
        return float(a @ b / (a.norm() * b.norm()))
    return -float((a - b).norm())


def _loop_direction(anchors, candidates, labels, t, similarity, paired):
    """One direction of the loss, written as the formula's Python loops."""
    n = anchors.shape[0]
    total = 0.0
    for i in range(n):
        sims = [
            _loop_similarity(anchors[i], candidates[k], similarity) / t
            for k in range(n)
        ]
        dist = [float((labels[i] - labels[k]).abs().sum()) for k in range(n)]
        for j in range(n):
            if j == i and not paired:
                continue
            denominator = sum(
                math.exp(sims[k])
                for k in range(n)
                if (k != i or paired) and dist[k] >= dist[j]
            )
            total -= math.log(math.exp(sims[j]) / denominator)
    return total / (n * n if paired else n * (n - 1))


def _loop_loss(speech, text, labels, t, similarity, paired=False):
    s2t = _loop_direction(speech, text, labels, t, similarity, paired)
    t2s = _loop_direction(text, speech, labels, t, similarity, paired)
    return (s2t + t2s) / 2


@pytest.mark.parametrize("similarity", ["cosine", "neg_l2"])
@pytest.mark.parametrize("paired", [False, True])
def test_matches_python_loop_on_random_inputs(similarity, paired):
    torch.manual_seed(0)
    speech = torch.randn(7, 5, dtype=torch.float64)
    text = torch.randn(7, 5, dtype=torch.float64)
    # labels on a coarse grid, so that distance ties occur
    labels = torch.randint(0, 3, (7, 2)).double() / 2
    for t in (2.0, 0.5):
        loss = RankNContrastLoss(t, similarity, include_paired=paired)(
            speech, text, labels
        )
        expected = _loop_loss(speech, text, labels, t, similarity, paired)
        assert abs(loss.item() - expected) < 1e-10, (t, similarity)


def test_hand_checked_three_items():
    # 1-D embeddings and labels 0, 1, 3; neg_l2 similarity, t = 1
    speech = torch.tensor([[0.0], [1.0], [2.0]])
    text = torch.tensor([[0.0], [2.0], [2.0]])
    labels = torch.tensor([0.0, 1.0, 3.0])
    # speech anchors vs text: s = -|x - y|
    # i=0: s01=-2, s02=-2, d01=1, d02=3
    #   j=1: {k: d>=1} = {1,2} -> log(2)      (equal sims)
    #   j=2: {2} -> 0
    # i=1: s10=-1, s12=-1, d10=1, d12=2
    #   j=0: {0,2} -> log(2); j=2: {2} -> 0
    # i=2: s20=-2, s21=0, d20=3, d21=2
    #   j=0: {0} -> 0; j=1: {0,1} -> log(e^0 + e^-2) - 0
    s2t = (2 * math.log(2) + math.log(1 + math.exp(-2))) / 6
    # text anchors vs speech: text 0, 2, 2 vs speech 0, 1, 2
    # i=0: s01=-1, s02=-2; j=1: {1,2} -> log(e^-1+e^-2)+1; j=2: 0
    # i=1: s10=-2, s12=0; d10=1, d12=2; j=0: {0,2} -> log(e^-2+1)+2; j=2: 0
    # i=2: s20=-2, s21=-1; d20=3, d21=2; j=0: 0; j=1: {0,1} -> log(e^-2+e^-1)+1
    t2s = (
        2 * (math.log(math.exp(-1) + math.exp(-2)) + 1)
        + math.log(math.exp(-2) + 1)
        + 2
    ) / 6
    loss = RankNContrastLoss(1.0, "neg_l2")(speech, text, labels)
    assert abs(loss.item() - (s2t + t2s) / 2) < 1e-6


def test_ordered_embeddings_have_lower_loss():
    # embeddings that follow the label order beat a shuffled assignment
    labels = torch.linspace(0, 1, 8).unsqueeze(1)
    ordered = torch.cat([labels * 4, torch.zeros(8, 1)], dim=1)
    shuffled = ordered[torch.tensor([3, 7, 0, 5, 1, 6, 2, 4])]
    loss_fn = RankNContrastLoss(temperature=0.5, similarity="neg_l2")
    assert loss_fn(ordered, ordered, labels) < loss_fn(
        shuffled, shuffled, labels
    )


def test_gradients_are_finite_for_identical_embeddings():
    emb = torch.zeros(4, 3, requires_grad=True)
    labels = torch.rand(4, 2)
    for similarity in ("cosine", "neg_l2"):
        loss = RankNContrastLoss(similarity=similarity)(emb, emb, labels)
        loss.backward()
        assert torch.isfinite(emb.grad).all()
        emb.grad = None


def test_helpers():
    a = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    b = torch.tensor([[0.0, 1.0]])
    assert pairwise_similarity(a, b, "cosine").flatten().tolist() == [0.0, 1.0]
    neg_l2 = pairwise_similarity(a, b, "neg_l2").flatten()
    assert torch.allclose(neg_l2, torch.tensor([-math.sqrt(2), -1.0]))
    distances = label_distance(torch.tensor([[0.0, 1.0]]), a)
    assert distances.tolist() == [[2.0, 1.0]]
    # all candidates at the same distance: plain InfoNCE over candidates
    logits = torch.tensor([[0.5, -1.0, 2.0]])
    total, count = rank_n_contrast_terms(logits, torch.zeros(1, 3))
    expected = -torch.log_softmax(logits, dim=1).sum()
    assert count == 3 and torch.isclose(total, expected)


def test_bad_inputs():
    emb = torch.randn(3, 4)
    with pytest.raises(ValueError, match="temperature"):
        RankNContrastLoss(temperature=0.0)
    with pytest.raises(ValueError, match="similarity"):
        RankNContrastLoss(similarity="dot")
    with pytest.raises(ValueError, match="text_emb"):
        RankNContrastLoss()(emb, torch.randn(2, 4), torch.rand(3, 2))
    with pytest.raises(ValueError, match="labels"):
        RankNContrastLoss()(emb, emb, torch.rand(2, 2))
    with pytest.raises(TypeError, match="labels"):
        RankNContrastLoss()(emb, emb, [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="at least 2"):
        RankNContrastLoss()(emb[:1], emb[:1], torch.rand(1, 2))

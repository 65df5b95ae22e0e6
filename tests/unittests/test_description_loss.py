"""The multi-positive loss over description sets."""

import math

import pytest
import torch
import torch.nn.functional as F

from speechbrain_style.nnet.description_loss import (
    DescriptionSetContrastiveLoss,
    description_id_sets,
    description_set_positives,
    normalise_description,
)
from speechbrain_style.nnet.losses import InfoNCELoss


def _unit(rows, dim=6, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(rows, dim, generator=generator), dim=1)


def _reference_loss(speech, text, scale, positives):
    """Symmetric multi-positive InfoNCE written out (positives[t, s])."""
    logits = scale * text @ speech.T
    t2s = -(
        (F.log_softmax(logits, dim=1) * positives).sum(1) / positives.sum(1)
    )
    s2t = -(
        (F.log_softmax(logits.T, dim=1) * positives.T).sum(1)
        / positives.T.sum(1)
    )
    return (t2s.mean() + s2t.mean()) / 2


def test_positives_are_set_membership():
    sets = torch.tensor([[0, 1, -1], [1, -1, -1], [2, 3, 4]])
    mask = description_set_positives(torch.tensor([[1], [4], [0]]), sets)
    assert mask.int().tolist() == [[1, 1, 0], [0, 0, 1], [1, 0, 0]]
    with pytest.raises(ValueError, match=">= 0"):
        description_set_positives(torch.tensor([-1]), sets)


def test_shared_description_is_a_positive_of_both_recordings():
    """Recording 1 has description 0 too: text 0 (drawn for recording 0)
    must count recording 1 as a positive, not a negative."""
    speech, text = _unit(3, seed=1), _unit(3, seed=2)
    sets = torch.tensor([[0, -1], [1, 0], [2, -1]])
    ids = torch.tensor([0, 1, 2])
    loss = DescriptionSetContrastiveLoss()(speech, text, 10.0, sets, ids)
    positives = torch.tensor(
        [[1, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=torch.float32
    )
    expected = _reference_loss(speech, text, 10.0, positives)
    assert math.isclose(loss.item(), expected.item(), rel_tol=1e-5)
    # with recording 1 as a negative of text 0, the value differs
    diagonal = _reference_loss(speech, text, 10.0, torch.eye(3))
    assert not math.isclose(loss.item(), diagonal.item(), rel_tol=1e-3)


def test_distinct_descriptions_give_the_plain_infonce():
    speech, text = _unit(4, seed=3), _unit(4, seed=4)
    sets = torch.tensor([[0, -1], [1, -1], [2, -1], [3, -1]])
    ids = torch.arange(4)
    loss = DescriptionSetContrastiveLoss()(speech, text, 14.0, sets, ids)
    plain = InfoNCELoss()(speech, text, 14.0)
    assert math.isclose(loss.item(), plain.item(), rel_tol=1e-6)
    # the parent class keeps its own relation (label equality)
    labels = torch.tensor([0, 1, 0, 2])
    same = InfoNCELoss()(speech, text, 14.0, labels, labels)
    positives = (labels[:, None] == labels[None, :]).float()
    expected = _reference_loss(speech, text, 14.0, positives)
    assert math.isclose(same.item(), expected.item(), rel_tol=1e-5)


def test_id_sets_are_padded_and_normalised():
    vocabulary = {"a man speaking": 0, "someone whispering": 1}
    row = description_id_sets(
        ["A man speaking.", "someone  whispering", "a man speaking"],
        vocabulary,
        4,
    )
    assert row.tolist() == [0, 1, -1, -1]
    assert normalise_description("Someone whispering!") == "someone whispering"
    with pytest.raises(KeyError, match="not in the vocabulary"):
        description_id_sets(["A woman."], vocabulary, 2)
    with pytest.raises(ValueError, match="row width"):
        description_id_sets(
            ["A man speaking.", "Someone whispering."], vocabulary, 1
        )

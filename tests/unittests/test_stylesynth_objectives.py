"""The StyleSynth recipe's per-factor classifier objective (speech and text)."""

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from speechbrain_style.corpora.stylesynth.factors import (
    NOT_AUDIBLE,
    style_label_vector,
)
from speechbrain_style.lobes import StyleClassifier
from tests.prepare_utils import RECIPES_DIR, load_recipe_module


def _brain(monkeypatch, classifier, labels, label_key="speech_labels"):
    """The recipe Brain's method on a namespace with what it reads."""
    monkeypatch.syspath_prepend(str(RECIPES_DIR / "StyleSynth"))
    train = load_recipe_module("StyleSynth", "train.py")
    owner = SimpleNamespace(
        modules=SimpleNamespace(factor_classifier=classifier),
        retrieval_embedding=lambda levels: levels[-1],
        batch_tensor=lambda batch, key: {label_key: labels}[key],
    )
    return lambda embeddings: train.StyleSynthBrain.factor_objective(
        owner, embeddings, None, label_key
    )


def test_factor_objective_is_the_mean_cross_entropy_of_audible_factors(
    monkeypatch,
):
    torch.manual_seed(0)
    labels = torch.tensor(
        [
            style_label_vector(
                {"sex": "male", "pitch": "low", "rate": "slow"}
                | {"range": "monotone", "phonation": "modal"}
            ),
            style_label_vector(
                {"sex": "female", "pitch": "high", "rate": "fast"}
                | {"range": "animated", "phonation": "whispered"}
            ),
        ]
    )
    # whispered speech: pitch and range cannot be heard
    assert labels[1, 1] == labels[1, 3] == NOT_AUDIBLE
    classifier = StyleClassifier(8, num_classes=13)
    objective = _brain(monkeypatch, classifier, labels)
    speech = [torch.randn(2, 8)]
    logits = classifier(speech[-1])
    expected = []
    start = 0
    for column, size in enumerate((2, 3, 3, 3, 2)):
        part, target = logits[:, start : start + size], labels[:, column]
        keep = target >= 0
        expected.append(F.cross_entropy(part[keep], target[keep]))
        start += size
    loss = objective(speech)
    assert torch.allclose(loss, torch.stack(expected).mean())
    # a few steps on it learn the labels
    opt = torch.optim.SGD(classifier.parameters(), lr=1.0)
    for _ in range(50):
        opt.zero_grad()
        objective(speech).backward()
        opt.step()
    assert objective(speech) < 0.1 * loss.detach()


def test_factor_objective_checks_the_classifier_width(monkeypatch):
    labels = torch.zeros(1, 5, dtype=torch.long)
    objective = _brain(monkeypatch, StyleClassifier(4, num_classes=5), labels)
    with pytest.raises(ValueError, match="13"):
        objective([torch.randn(1, 4)])


def test_text_objective_reads_only_the_mentioned_factors(monkeypatch):
    torch.manual_seed(0)
    # "A man speaking slowly.": sex and rate; "Someone speaking.": none
    labels = torch.tensor([[0, -1, 0, -1, -1], [-1, -1, -1, -1, -1]])
    classifier = StyleClassifier(8, num_classes=13)
    objective = _brain(monkeypatch, classifier, labels, "text_labels")
    text = [torch.randn(2, 8)]
    logits = classifier(text[-1])
    expected = (
        F.cross_entropy(logits[:1, 0:2], labels[:1, 0])
        + F.cross_entropy(logits[:1, 5:8], labels[:1, 2])
    ) / 2
    assert torch.allclose(objective(text), expected)
    # a batch whose descriptions name no factor: no loss, but a graph
    nothing = _brain(monkeypatch, classifier, labels[1:], "text_labels")
    loss = nothing([text[-1][1:]])
    assert loss.item() == 0.0 and loss.requires_grad

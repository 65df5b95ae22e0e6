"""Tests of the auxiliary heads (speechbrain_style.lobes.auxiliary)."""

import pytest
import torch
import torch.nn.functional as F

from speechbrain_style.lobes import (
    GradientReversal,
    ModalityDiscriminator,
    StyleClassifier,
)
from speechbrain_style.lobes.auxiliary import gradient_reversal


def test_gradient_reversal_identity_forward():
    x = torch.tensor([[1.0, -2.0, 3.5]], requires_grad=True)
    y = GradientReversal(0.3)(x)
    assert torch.equal(y, x)
    assert y.requires_grad


@pytest.mark.parametrize("lambda_", [0.0, 0.5, 1.0, 2.0])
def test_gradient_reversal_backward(lambda_):
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    upstream = torch.tensor([0.5, 1.0, -4.0])
    (GradientReversal(lambda_)(x) * upstream).sum().backward()
    # d/dx sum(upstream * x) = upstream, reversed and scaled
    assert torch.allclose(x.grad, -lambda_ * upstream)


def test_gradient_reversal_through_layers():
    # y = w2 * GRL(w1 * x): w2 sees the true gradient, w1 the reversed one
    w1 = torch.tensor(3.0, requires_grad=True)
    w2 = torch.tensor(-2.0, requires_grad=True)
    x = torch.tensor(5.0)
    grl = GradientReversal(0.5)
    y = w2 * grl(w1 * x)
    y.backward()
    assert w2.grad.item() == pytest.approx(15.0)  # w1 * x
    assert w1.grad.item() == pytest.approx(-0.5 * (-2.0) * 5.0)  # 5.0
    # lambda_ is read at every forward: a schedule can change it
    w1.grad = None
    grl.lambda_ = 2.0
    (w2 * grl(w1 * x)).backward()
    assert w1.grad.item() == pytest.approx(-2.0 * (-2.0) * 5.0)


def test_gradient_reversal_function_and_errors():
    x = torch.ones(2, requires_grad=True)
    (gradient_reversal(x, 1.0) * 4).sum().backward()
    assert torch.equal(x.grad, torch.tensor([-4.0, -4.0]))
    for bad in (-1.0, float("nan"), float("inf"), "1", True):
        with pytest.raises(ValueError, match="lambda_"):
            GradientReversal(bad)
    with pytest.raises(TypeError, match="torch.Tensor"):
        GradientReversal()([1.0, 2.0])
    grl = GradientReversal(0.25)
    assert grl.init_kwargs == {"lambda_": 0.25}
    assert grl.output_size is None
    assert "lambda_=0.25" in repr(grl)


def test_linear_style_classifier_logits():
    clf = StyleClassifier(2, num_classes=3)
    assert clf.output_size == 3
    with torch.no_grad():
        clf.layers[-1].weight.copy_(
            torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        )
        clf.layers[-1].bias.copy_(torch.tensor([0.0, 0.0, 1.0]))
    logits = clf(torch.tensor([[2.0, 3.0]]))
    assert torch.allclose(logits, torch.tensor([[2.0, 3.0, 6.0]]))
    # SpeechBrain's (batch, 1, dim) embeddings work too
    assert clf(torch.tensor([[[2.0, 3.0]]])).shape == (1, 1, 3)


def test_linear_style_classifier_cross_entropy_gradient():
    clf = StyleClassifier(2, num_classes=3)
    linear = clf.layers[-1]
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.zero_()
    x = torch.tensor([[1.0, 2.0]])
    F.cross_entropy(clf(x), torch.tensor([0])).backward()
    # zero logits: softmax = 1/3; dL/dlogits = p - onehot = (-2/3, 1/3, 1/3)
    g = torch.tensor([-2 / 3, 1 / 3, 1 / 3])
    assert torch.allclose(linear.bias.grad, g)
    assert torch.allclose(linear.weight.grad, g[:, None] * x)


def test_hidden_style_classifier_by_hand():
    clf = StyleClassifier(2, num_classes=1, hidden_size=2)
    first, last = clf.layers[1], clf.layers[-1]
    with torch.no_grad():
        first.weight.copy_(torch.eye(2))
        first.bias.zero_()
        last.weight.copy_(torch.tensor([[2.0, 3.0]]))
        last.bias.copy_(torch.tensor([0.5]))
    x = torch.tensor([[1.0, -1.0]], requires_grad=True)
    out = clf(x)  # relu([1, -1]) = [1, 0] -> 2 * 1 + 3 * 0 + 0.5
    assert torch.allclose(out, torch.tensor([[2.5]]))
    out.sum().backward()
    # the ReLU blocks the gradient of the negative unit
    assert torch.allclose(x.grad, torch.tensor([[2.0, 0.0]]))
    assert torch.allclose(last.weight.grad, torch.tensor([[1.0, 0.0]]))


def test_style_classifier_dropout_and_rebuild():
    torch.manual_seed(0)
    clf = StyleClassifier(8, num_classes=4, hidden_size=16, dropout=0.5)
    x = torch.randn(3, 8)
    clf.eval()
    assert torch.equal(clf(x), clf(x))
    clf.train()
    assert not torch.equal(clf(x), clf(x))
    rebuilt = StyleClassifier(**clf.init_kwargs)
    rebuilt.load_state_dict(clf.state_dict())
    rebuilt.eval(), clf.eval()
    assert torch.equal(rebuilt(x), clf(x))
    assert clf.init_kwargs["hidden_size"] == 16


def test_style_classifier_errors():
    with pytest.raises(ValueError, match="num_classes"):
        StyleClassifier(4, num_classes=0)
    with pytest.raises(ValueError, match="input_size"):
        StyleClassifier(4.0, num_classes=2)
    with pytest.raises(ValueError, match="hidden_size"):
        StyleClassifier(4, num_classes=2, hidden_size=-1)
    with pytest.raises(ValueError, match="dropout"):
        StyleClassifier(4, num_classes=2, dropout=1.0)
    with pytest.raises(ValueError, match="hidden_activation"):
        StyleClassifier(4, 2, hidden_size=3, hidden_activation="nope")
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\)"):
        StyleClassifier(4, num_classes=2)(torch.zeros(2, 5))


def _hand_discriminator(grl_lambda):
    disc = ModalityDiscriminator(2, hidden_size=2, grl_lambda=grl_lambda)
    first, last = disc.mlp[0], disc.mlp[-1]
    with torch.no_grad():
        first.weight.copy_(torch.eye(2))
        first.bias.zero_()
        last.weight.copy_(torch.tensor([[1.0, 2.0]]))
        last.bias.zero_()
    return disc


def test_modality_discriminator_by_hand():
    disc = _hand_discriminator(0.5)
    assert disc.output_size == 1
    x = torch.tensor([[1.0, 3.0], [-1.0, 2.0]], requires_grad=True)
    logits = disc(x)
    # relu(x) . (1, 2): 1 + 6 = 7; 0 + 4 = 4
    assert torch.allclose(logits, torch.tensor([7.0, 4.0]))
    logits.sum().backward()
    # d logit / dx = (1, 2) * relu'(x); reversed and scaled by 0.5
    assert torch.allclose(x.grad, torch.tensor([[-0.5, -1.0], [0.0, -1.0]]))
    # the discriminator's own parameters get the true gradient
    last = disc.mlp[-1]
    assert torch.allclose(last.weight.grad, torch.tensor([[1.0, 5.0]]))
    assert torch.allclose(last.bias.grad, torch.tensor([2.0]))


def test_modality_discriminator_adversarial_gradients():
    # encoders upstream get -lambda x the gradient they would get without
    # the GRL, on the speech-vs-text BCE loss
    torch.manual_seed(0)
    encoder = torch.nn.Linear(3, 4)
    disc = ModalityDiscriminator(4, hidden_size=5, grl_lambda=0.1)
    x = torch.randn(6, 3)
    is_speech = torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])

    F.binary_cross_entropy_with_logits(disc(encoder(x)), is_speech).backward()
    reversed_grad = encoder.weight.grad.clone()
    disc_grad = disc.mlp[0].weight.grad.clone()

    encoder.zero_grad(), disc.zero_grad()
    plain = disc.mlp(encoder(x)).squeeze(-1)
    F.binary_cross_entropy_with_logits(plain, is_speech).backward()
    assert torch.allclose(reversed_grad, -0.1 * encoder.weight.grad)
    assert torch.allclose(disc_grad, disc.mlp[0].weight.grad)


def test_modality_discriminator_learns_to_separate():
    # a few steps of training separate two shifted clouds
    torch.manual_seed(0)
    disc = ModalityDiscriminator(4, hidden_size=8)
    speech = torch.randn(32, 4) + 2.0
    text = torch.randn(32, 4) - 2.0
    x = torch.cat([speech, text])
    target = torch.cat([torch.ones(32), torch.zeros(32)])
    opt = torch.optim.SGD(disc.parameters(), lr=0.1)
    for _ in range(50):
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(disc(x), target)
        loss.backward()
        opt.step()
    accuracy = ((disc(x) > 0).float() == target).float().mean().item()
    assert accuracy > 0.95


def test_modality_discriminator_config_and_errors():
    disc = ModalityDiscriminator(8)
    assert disc.init_kwargs == {
        "input_size": 8,
        "hidden_size": 256,
        "grl_lambda": 1.0,
        "hidden_activation": "relu",
    }
    assert disc.grl.lambda_ == 1.0
    assert ModalityDiscriminator(8)(torch.zeros(2, 1, 8)).shape == (2, 1)
    with pytest.raises(ValueError, match="grl_lambda"):
        ModalityDiscriminator(8, grl_lambda=-0.1)
    with pytest.raises(ValueError, match="hidden_size"):
        ModalityDiscriminator(8, hidden_size=0)
    with pytest.raises(ValueError, match=r"\(\.\.\., 8\)"):
        disc(torch.zeros(3, 7))
    with pytest.raises(TypeError, match="torch.Tensor"):
        disc([0.0] * 8)

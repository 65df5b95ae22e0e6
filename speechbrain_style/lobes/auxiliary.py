"""Modules of the auxiliary losses of expressive speech retrieval.

Beside the contrastive loss, the expressive speech retrieval recipe trains
two auxiliary heads on the embeddings (see ``docs/protocols.md``: weights 0.5
and 0.1):

* ``StyleClassifier``: predicts the style class from the speech
  embedding (cross-entropy), so that the speech encoder keeps the
  categorical style information;
* ``ModalityDiscriminator``: predicts whether an embedding comes from
  speech or from text. A gradient reversal layer (``GradientReversal``,
  Ganin and Lempitsky, "Unsupervised Domain Adaptation by
  Backpropagation", ICML 2015, https://arxiv.org/abs/1409.7495) sits
  before it: the discriminator learns to tell the modalities apart while
  the encoders, receiving the reversed gradient, learn to make them
  indistinguishable, which narrows the modality gap.

Authors
 * speechbrain-style contributors 2026
"""

import math

import torch
from speechbrain.utils.logger import get_logger
from torch import nn

from speechbrain_style.lobes.heads import ACTIVATIONS

logger = get_logger(__name__)


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_lambda(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(
            f"{name} must be a finite non-negative number, got {value!r}"
        )
    return float(value)


def _check_input(module, x, input_size):
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{module} expects a torch.Tensor, got {type(x).__name__}"
        )
    if x.dim() < 1 or x.shape[-1] != input_size:
        raise ValueError(
            f"{module} expects x of shape (..., {input_size}), got "
            f"{tuple(x.shape)}"
        )


class _GradientReversalFunction(torch.autograd.Function):
    """Identity forward; the gradient is multiplied by ``-lambda_``."""

    @staticmethod
    def forward(ctx, x, lambda_):
        """Identity in the forward pass."""
        ctx.lambda_ = lambda_
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output):
        """The gradient, negated and scaled by lambda."""
        return -ctx.lambda_ * grad_output, None


def gradient_reversal(x, lambda_=1.0):
    """Identity in the forward pass, ``-lambda_ * grad`` in the backward.

    Arguments
    ---------
    x : torch.Tensor
        Any tensor.
    lambda_ : float
        Scale of the reversed gradient (0 blocks it).

    Returns
    -------
    torch.Tensor
        ``x`` (a view).

    Example
    -------
    >>> x = torch.ones(2, requires_grad=True)
    >>> (3 * gradient_reversal(x, 0.5)).sum().backward()
    >>> x.grad
    tensor([-1.5000, -1.5000])
    """
    return _GradientReversalFunction.apply(x, _check_lambda("lambda_", lambda_))


class GradientReversal(nn.Module):
    """Gradient reversal layer (Ganin and Lempitsky, ICML 2015).

    The forward pass is the identity; the backward pass multiplies the
    incoming gradient by ``-lambda_``. ``lambda_`` is a plain attribute, so
    a schedule can change it during training (e.g. the DANN ramp
    ``2 / (1 + exp(-10 p)) - 1`` over the training progress ``p``).

    Arguments
    ---------
    lambda_ : float
        Scale of the reversed gradient (non-negative; 0 blocks it).

    Example
    -------
    >>> grl = GradientReversal(lambda_=2.0)
    >>> x = torch.tensor([1.0, -2.0], requires_grad=True)
    >>> y = grl(x)
    >>> torch.equal(y, x)
    True
    >>> (y * torch.tensor([1.0, 3.0])).sum().backward()
    >>> x.grad
    tensor([-2., -6.])
    """

    def __init__(self, lambda_=1.0):
        super().__init__()
        self.lambda_ = _check_lambda("lambda_", lambda_)
        self.init_kwargs = {"lambda_": self.lambda_}
        # Shape-preserving: the output has the size of the input.
        self.output_size = None

    def forward(self, x):
        """Returns ``x``; its gradient comes back reversed and scaled.

        Arguments
        ---------
        x : torch.Tensor
            Any tensor.

        Returns
        -------
        torch.Tensor
        """
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"GradientReversal expects a torch.Tensor, got "
                f"{type(x).__name__}"
            )
        return gradient_reversal(x, self.lambda_)

    def extra_repr(self):
        """Shows lambda in ``print(module)``."""
        return f"lambda_={self.lambda_}"


class StyleClassifier(nn.Module):
    """Style classifier on an embedding (linear or one hidden layer).

    ``dropout -> Linear(input_size, num_classes)``, or with ``hidden_size``
    ``dropout -> Linear(input_size, hidden_size) -> activation -> dropout
    -> Linear(hidden_size, num_classes)``. Returns logits (for
    ``torch.nn.functional.cross_entropy``).

    Arguments
    ---------
    input_size : int
        Size of the embedding.
    num_classes : int
        Number of style classes.
    hidden_size : int, optional
        Width of the hidden layer; None: a linear classifier.
    dropout : float
        Dropout rate on the embedding and on the hidden layer.
    hidden_activation : str
        Activation of the hidden layer: one of "gelu", "relu",
        "leaky_relu", "tanh", "silu".

    Example
    -------
    >>> classifier = StyleClassifier(16, num_classes=5, hidden_size=8)
    >>> logits = classifier(torch.randn(4, 16))
    >>> tuple(logits.shape), classifier.output_size
    ((4, 5), 5)
    """

    def __init__(
        self,
        input_size,
        num_classes,
        hidden_size=None,
        dropout=0.0,
        hidden_activation="relu",
    ):
        super().__init__()
        _check_positive_int("input_size", input_size)
        _check_positive_int("num_classes", num_classes)
        if hidden_size is not None:
            _check_positive_int("hidden_size", hidden_size)
        if (
            isinstance(dropout, bool)
            or not isinstance(dropout, (int, float))
            or not 0.0 <= dropout < 1.0
        ):
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        if hidden_activation not in ACTIVATIONS:
            raise ValueError(
                f"hidden_activation must be one of {sorted(ACTIVATIONS)}, "
                f"got {hidden_activation!r}"
            )
        self.init_kwargs = {
            "input_size": input_size,
            "num_classes": num_classes,
            "hidden_size": hidden_size,
            "dropout": dropout,
            "hidden_activation": hidden_activation,
        }
        self.input_size = input_size
        self.output_size = num_classes
        if hidden_size is None:
            layers = [nn.Dropout(dropout), nn.Linear(input_size, num_classes)]
        else:
            layers = [
                nn.Dropout(dropout),
                nn.Linear(input_size, hidden_size),
                ACTIVATIONS[hidden_activation](),
                nn.Dropout(dropout),
                nn.Linear(hidden_size, num_classes),
            ]
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        """Class logits of the embeddings.

        Arguments
        ---------
        x : torch.Tensor
            Embeddings, shape (..., input_size), e.g. (batch, input_size)
            or SpeechBrain's (batch, 1, input_size).

        Returns
        -------
        torch.Tensor
            Logits, shape (..., num_classes).
        """
        _check_input("StyleClassifier", x, self.input_size)
        return self.layers(x)


class ModalityDiscriminator(nn.Module):
    """Speech-vs-text discriminator behind a gradient reversal layer.

    ``GradientReversal(grl_lambda) -> Linear(input_size, hidden_size) ->
    activation -> Linear(hidden_size, 1)``: one logit per embedding (e.g.
    positive for speech, negative for text, trained with
    ``torch.nn.functional.binary_cross_entropy_with_logits``). Minimising
    that loss trains the discriminator, while the reversed gradient pushes
    the encoders upstream to make the modalities indistinguishable.

    Arguments
    ---------
    input_size : int
        Size of the (joint-space) embeddings of both modalities.
    hidden_size : int
        Width of the hidden layer.
    grl_lambda : float
        Scale of the reversed gradient (``self.grl.lambda_`` can be changed
        during training).
    hidden_activation : str
        Activation of the hidden layer: one of "gelu", "relu",
        "leaky_relu", "tanh", "silu".

    Example
    -------
    >>> discriminator = ModalityDiscriminator(8, hidden_size=4)
    >>> speech, text = torch.randn(3, 8), torch.randn(3, 8)
    >>> logits = discriminator(torch.cat([speech, text]))
    >>> is_speech = torch.tensor([1.0] * 3 + [0.0] * 3)
    >>> loss = torch.nn.functional.binary_cross_entropy_with_logits(
    ...     logits, is_speech)
    >>> tuple(logits.shape), discriminator.output_size
    ((6,), 1)
    """

    def __init__(
        self,
        input_size,
        hidden_size=256,
        grl_lambda=1.0,
        hidden_activation="relu",
    ):
        super().__init__()
        _check_positive_int("input_size", input_size)
        _check_positive_int("hidden_size", hidden_size)
        grl_lambda = _check_lambda("grl_lambda", grl_lambda)
        if hidden_activation not in ACTIVATIONS:
            raise ValueError(
                f"hidden_activation must be one of {sorted(ACTIVATIONS)}, "
                f"got {hidden_activation!r}"
            )
        self.init_kwargs = {
            "input_size": input_size,
            "hidden_size": hidden_size,
            "grl_lambda": grl_lambda,
            "hidden_activation": hidden_activation,
        }
        self.input_size = input_size
        self.output_size = 1
        self.grl = GradientReversal(grl_lambda)
        self.mlp = nn.Sequential(
            nn.Linear(input_size, hidden_size),
            ACTIVATIONS[hidden_activation](),
            nn.Linear(hidden_size, 1),
        )

    def forward(self, x):
        """Speech-vs-text logits of the embeddings.

        Arguments
        ---------
        x : torch.Tensor
            Embeddings, shape (..., input_size).

        Returns
        -------
        torch.Tensor
            One logit per embedding, shape (...,) (the last dimension
            squeezed).
        """
        _check_input("ModalityDiscriminator", x, self.input_size)
        return self.mlp(self.grl(x)).squeeze(-1)

"""AAM-softmax speaker classification, the regulariser of speaker-text
retrieval (Liu et al., "Speaker-text retrieval via contrastive learning":
``L = L_CTS,tot + lambda * L_spk``, lambda = 0.1).

Authors
 * speechbrain-style contributors 2026
"""

import numbers

import torch
from speechbrain.lobes.models.ECAPA_TDNN import Classifier
from speechbrain.nnet.losses import AdditiveAngularMargin, LogSoftmaxWrapper


class AAMSpeakerLoss(torch.nn.Module):
    """Additive angular margin (AAM) softmax speaker classification loss.

    A cosine classifier (SpeechBrain's ECAPA-TDNN ``Classifier``: one
    learnable weight row per speaker, logits = cosine between the
    normalised embedding and the normalised row), then SpeechBrain's
    ``LogSoftmaxWrapper(AdditiveAngularMargin(margin, scale))``: the
    target logit cos(theta) becomes cos(theta + margin), all logits are
    multiplied by ``scale`` and the loss is the mean negative
    log-softmax of the target (Deng et al., ArcFace; Liu et al., Margin
    Matters, https://arxiv.org/abs/1906.07317).

    Arguments
    ---------
    input_size : int
        Embedding dimension D.
    num_speakers : int
        Number of training speakers.
    margin : float
        Angular margin (radians).
    scale : float
        Logit scale.

    Example
    -------
    >>> torch.manual_seed(0)
    <torch._C.Generator object at ...>
    >>> loss_fn = AAMSpeakerLoss(input_size=4, num_speakers=3)
    >>> loss = loss_fn(torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1]))
    >>> loss.shape, bool(loss > 0)
    (torch.Size([]), True)
    """

    def __init__(self, input_size, num_speakers, margin=0.2, scale=30):
        super().__init__()
        for name, value in (
            ("input_size", input_size),
            ("num_speakers", num_speakers),
        ):
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Integral)
                or value < 1
            ):
                raise ValueError(
                    f"{name} must be a positive int, got {value!r}"
                )
        if margin < 0 or scale <= 0:
            raise ValueError(
                f"margin must be >= 0 and scale > 0, got {margin} and {scale}"
            )
        self.input_size = int(input_size)
        self.num_speakers = int(num_speakers)
        self.classifier = Classifier(
            input_size, lin_blocks=0, out_neurons=num_speakers
        )
        self.loss = LogSoftmaxWrapper(
            AdditiveAngularMargin(margin=margin, scale=scale)
        )

    @property
    def weight(self):
        """The (num_speakers, input_size) class-weight matrix."""
        return self.classifier.weight

    def cosine(self, embeddings):
        """Cosine similarities (B, num_speakers) to the speaker weights.

        Arguments
        ---------
        embeddings : torch.Tensor
            Embeddings (B, D).

        Returns
        -------
        torch.Tensor
            (B, num_speakers) cosines.
        """
        return self.classifier(embeddings.unsqueeze(1)).squeeze(1)

    def forward(self, embeddings, speaker_index):
        """Returns the mean AAM-softmax loss of a batch.

        Arguments
        ---------
        embeddings : torch.Tensor
            Embeddings (B, D) (normalised inside).
        speaker_index : torch.Tensor
            Integer speaker indices (B,) in [0, num_speakers).

        Returns
        -------
        torch.Tensor
            The scalar loss.
        """
        if embeddings.dim() != 2 or embeddings.shape[1] != self.input_size:
            raise ValueError(
                f"embeddings must be (B, {self.input_size}), got "
                f"{tuple(embeddings.shape)}"
            )
        speaker_index = torch.as_tensor(speaker_index, device=embeddings.device)
        if speaker_index.shape != (embeddings.shape[0],):
            raise ValueError(
                f"speaker_index must be ({embeddings.shape[0]},), got "
                f"{tuple(speaker_index.shape)}"
            )
        if speaker_index.is_floating_point() or speaker_index.dtype == (
            torch.bool
        ):
            raise TypeError(
                f"speaker_index must be integer, got {speaker_index.dtype}"
            )
        if speaker_index.numel() and (
            speaker_index.min() < 0 or speaker_index.max() >= self.num_speakers
        ):
            raise ValueError(
                f"speaker_index must be in [0, {self.num_speakers}), got "
                f"values {speaker_index.min().item()} to "
                f"{speaker_index.max().item()}"
            )
        cosine = self.cosine(embeddings)
        return self.loss(cosine.unsqueeze(1), speaker_index.unsqueeze(1))

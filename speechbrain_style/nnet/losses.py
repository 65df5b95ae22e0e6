"""Contrastive losses for text <-> speech style retrieval.

The main piece is :class:`InfoNCELoss`, a symmetric InfoNCE loss
(CLIP, Radford et al. 2021, https://arxiv.org/abs/2103.00020) that optionally
treats every pair sharing a label as a positive (supervised contrastive
loss, Khosla et al. 2020, https://arxiv.org/abs/2004.11362, eq. 5 of the
speaker-text retrieval paper). The temperature is a
:class:`LearnableLogitScale` module, so it can be given to an optimizer and
checkpointed like any other module.

Distributed training
--------------------
Under DistributedDataParallel (DDP) each process only holds part of the global
batch. :class:`InfoNCELoss` gathers the embeddings (and labels) of all
processes with an autograd-aware all-gather (:func:`gather_with_grad`) and
scores this process' rows against all columns, as open_clip's ``local_loss``
does. Each process returns

    ``(sum of its row losses) * world_size / global_batch_size``

so that the mean over processes of the returned losses is the loss of one
process holding the whole batch, and the gradients that DDP averages over
processes are exactly the gradients of that single-process loss (for the
embeddings, the parameters before them, and the temperature), also when the
processes hold different numbers of items. With equal per-process batch sizes
the returned value is simply the mean of this process' row losses.

Authors
 * speechbrain-style contributors 2025
"""

import math

import torch
import torch.nn.functional as F
from speechbrain.utils.logger import get_logger
from torch import nn

from speechbrain_style import _moved
from speechbrain_style.nnet.distributed import (
    gather_no_grad,
    gather_with_grad,
    world_size_and_rank,
)

logger = get_logger(__name__)

WILDCARD_LABEL = -1
"""Label value meaning "the description does not mention this factor"."""


class LearnableLogitScale(nn.Module):
    """Learnable logit scale ``1 / T`` of a contrastive loss, CLIP-style.

    Called, it returns the logit scale that multiplies the cosine
    similarities (CLIP's ``logit_scale.exp()``); ``temperature`` gives the
    corresponding temperature T. It is set up by temperatures, as papers
    report them.

    The module stores the log of the logit scale ``1 / T`` (a Parameter, or a
    buffer when ``learnable=False``) and ``forward`` returns
    ``exp(log_logit_scale)``, unclamped, so the stored value always gets its
    gradient, also at (or beyond) a bound. The bounds
    ``[1 / max_temperature, 1 / min_temperature]`` on the logit scale are
    enforced on the parameter itself by ``clamp_()``, which the training loop
    calls after every optimizer step, as open_clip does
    (``logit_scale.clamp_(0, math.log(100))`` after ``optimizer.step()``);
    ``StyleRetrievalBrain`` does it in ``optimizers_step``. Remember to give
    the module to an optimizer, and prefer no weight decay for it (weight
    decay pulls the log-scale towards 0, i.e. towards T = 1).

    Arguments
    ---------
    init_temperature : float
        Initial temperature T (CLIP uses 0.07).
    min_temperature : float
        Smallest temperature allowed (largest logit scale).
    max_temperature : float
        Largest temperature allowed (smallest logit scale).
    learnable : bool
        If False, the temperature is a fixed buffer.

    Example
    -------
    >>> temperature = LearnableLogitScale(init_temperature=0.05)
    >>> scale = temperature()
    >>> round(scale.item(), 4)
    20.0
    >>> round(temperature.temperature, 4)
    0.05
    >>> with torch.no_grad():  # e.g. an optimizer step to T = 0.001
    ...     _ = temperature.log_logit_scale.fill_(math.log(1000.0))
    >>> round(temperature.clamp_().temperature, 4)  # back to min_temperature
    0.01
    >>> LearnableLogitScale(learnable=False).log_logit_scale.requires_grad
    False
    """

    def __init__(
        self,
        init_temperature=0.07,
        min_temperature=0.01,
        max_temperature=1.0,
        learnable=True,
    ):
        super().__init__()
        for name, value in (
            ("init_temperature", init_temperature),
            ("min_temperature", min_temperature),
            ("max_temperature", max_temperature),
        ):
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(
                    f"{name} must be a positive number, got {value!r}"
                )
        if not min_temperature <= init_temperature <= max_temperature:
            raise ValueError(
                "Expected min_temperature <= init_temperature <= "
                f"max_temperature, got {min_temperature}, {init_temperature}, "
                f"{max_temperature}"
            )
        self.min_temperature = float(min_temperature)
        self.max_temperature = float(max_temperature)
        self.learnable = bool(learnable)
        log_scale = torch.tensor(math.log(1.0 / init_temperature))
        if self.learnable:
            self.log_logit_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_logit_scale", log_scale)

    def forward(self):
        """Returns the logit scale ``1 / T`` (0-d tensor), unclamped."""
        return self.log_logit_scale.exp()

    @torch.no_grad()
    def clamp_(self):
        """Clamps the stored log-scale in place to the temperature bounds.

        Call it after each optimizer step (``StyleRetrievalBrain`` does).

        Returns
        -------
        LearnableLogitScale
            self
        """
        self.log_logit_scale.clamp_(
            min=math.log(1.0 / self.max_temperature),
            max=math.log(1.0 / self.min_temperature),
        )
        return self

    @property
    def temperature(self):
        """The current temperature T as a float."""
        return 1.0 / float(self.forward().detach())

    def extra_repr(self):
        """Shows the bounds in ``print(module)``."""
        return (
            f"min_temperature={self.min_temperature}, "
            f"max_temperature={self.max_temperature}, "
            f"learnable={self.learnable}"
        )


def _labels_as_2d(labels, name):
    """Checks an integer label tensor and returns it with shape (B, F)."""
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(labels)}")
    if labels.dtype.is_floating_point or labels.dtype.is_complex:
        raise TypeError(f"{name} must be an integer tensor, got {labels.dtype}")
    if labels.dim() == 1:
        return labels.unsqueeze(1)
    if labels.dim() == 2:
        return labels
    raise ValueError(
        f"{name} must have shape (B,) or (B, F), got {tuple(labels.shape)}"
    )


def positive_mask(text_labels, speech_labels):
    """Which (text, speech) pairs match, according to their labels.

    ``mask[i, j]`` is True when, for every factor ``f``, either
    ``text_labels[i, f] == -1`` (wildcard: the description does not mention
    factor ``f``) or ``text_labels[i, f] == speech_labels[j, f]``. Labels of
    shape (B,) are one factor (e.g. a speaker id or a style class), compared
    by equality; -1 is a wildcard there too. A -1 in ``speech_labels``
    (unknown value) only matches a wildcard.

    Arguments
    ---------
    text_labels : torch.LongTensor
        Shape (B_text,) or (B_text, F).
    speech_labels : torch.LongTensor
        Shape (B_speech,) or (B_speech, F), same F as ``text_labels``.

    Returns
    -------
    torch.BoolTensor
        Shape (B_text, B_speech).

    Example
    -------
    >>> text = torch.tensor([[0, -1], [1, 2]])  # 2 factors: style, gender
    >>> speech = torch.tensor([[0, 2], [0, 3], [1, 2]])
    >>> positive_mask(text, speech).int().tolist()
    [[1, 1, 0], [0, 0, 1]]
    >>> positive_mask(torch.tensor([5, 7]), torch.tensor([7, 5, 5])).tolist()
    [[False, True, True], [True, False, False]]
    """
    text_2d = _labels_as_2d(text_labels, "text_labels")
    speech_2d = _labels_as_2d(speech_labels, "speech_labels")
    if text_2d.shape[1] != speech_2d.shape[1]:
        raise ValueError(
            "text_labels and speech_labels must have the same number of "
            f"factors, got {tuple(text_labels.shape)} and "
            f"{tuple(speech_labels.shape)}"
        )
    text_2d = text_2d.unsqueeze(1)  # (B_text, 1, F)
    speech_2d = speech_2d.to(text_2d.device).unsqueeze(0)  # (1, B_speech, F)
    matches = (text_2d == WILDCARD_LABEL) | (text_2d == speech_2d)
    return matches.all(dim=2)


def multi_positive_nll(logits, positives):
    """Per-row loss with several positives: -mean log softmax over positives.

    For row ``i``: ``-(1 / |P_i|) * sum_{j in P_i} log_softmax(logits[i])[j]``
    where ``P_i = {j : positives[i, j]}``. With one positive per row this is
    the cross-entropy. Reusable by any loss that scores anchors (rows)
    against candidates (columns).

    Arguments
    ---------
    logits : torch.Tensor
        Shape (N_rows, N_cols), scaled similarities.
    positives : torch.BoolTensor
        Shape (N_rows, N_cols); every row needs at least one True.

    Returns
    -------
    torch.Tensor
        Shape (N_rows,), loss of each row.

    Example
    -------
    >>> logits = torch.tensor([[2.0, 0.0, 0.0]])
    >>> nll = multi_positive_nll(logits, torch.tensor([[True, True, False]]))
    >>> expected = -(2.0 + 0.0 - 2 * math.log(math.exp(2) + 2)) / 2
    >>> abs(nll.item() - expected) < 1e-6
    True
    """
    if logits.shape != positives.shape or logits.dim() != 2:
        raise ValueError(
            "logits and positives must both have shape (N_rows, N_cols), got "
            f"{tuple(logits.shape)} and {tuple(positives.shape)}"
        )
    positives = positives.to(device=logits.device, dtype=torch.bool)
    num_positives = positives.sum(dim=1)
    if bool((num_positives == 0).any()):
        raise ValueError("Every row of positives needs at least one True")
    log_probs = F.log_softmax(logits, dim=1)
    # masked_fill rather than a product, so that -inf logits of non-positive
    # columns cannot produce NaN (0 * -inf).
    positive_log_probs = log_probs.masked_fill(~positives, 0.0).sum(dim=1)
    return -positive_log_probs / num_positives.to(logits.dtype)


def _diagonal_positives(num_rows, num_cols, offset, device):
    """Bool (num_rows, num_cols) mask with True at [i, offset + i]."""
    positives = torch.zeros(num_rows, num_cols, dtype=torch.bool, device=device)
    rows = torch.arange(num_rows, device=device)
    positives[rows, rows + offset] = True
    return positives


def scaled_similarity(queries, keys, logit_scale):
    """Logits ``logit_scale * queries @ keys.T`` in at least float32.

    Computed outside autocast: in bfloat16 a logit of about 100 (T = 0.01)
    is only precise to about 0.5, which would distort the softmax.

    Arguments
    ---------
    queries : torch.Tensor
        Shape (N_rows, D).
    keys : torch.Tensor
        Shape (N_cols, D).
    logit_scale : torch.Tensor
        0-d tensor.

    Returns
    -------
    torch.Tensor
        Shape (N_rows, N_cols), float32 (float64 if an input is float64).

    Example
    -------
    >>> queries = torch.tensor([[1.0, 0.0]], dtype=torch.bfloat16)
    >>> keys = torch.tensor([[0.6, 0.8], [0.0, 1.0]])
    >>> scaled_similarity(queries, keys, torch.tensor(2.0))
    tensor([[1.2000, 0.0000]])
    """
    dtype = torch.promote_types(
        torch.promote_types(queries.dtype, keys.dtype), torch.float32
    )
    with torch.autocast(device_type=queries.device.type, enabled=False):
        similarity = queries.to(dtype) @ keys.to(dtype).T
        return logit_scale.to(dtype) * similarity


def _as_logit_scale(logit_scale, reference):
    """Checks ``logit_scale`` (float or 0-d tensor) and returns a tensor."""
    if isinstance(logit_scale, torch.Tensor):
        if logit_scale.numel() != 1:
            raise ValueError(
                "logit_scale must be a float or a 0-d tensor, got shape "
                f"{tuple(logit_scale.shape)}"
            )
        return logit_scale.reshape(()).to(reference.device)
    if isinstance(logit_scale, (int, float)) and not isinstance(
        logit_scale, bool
    ):
        return torch.tensor(
            float(logit_scale), dtype=reference.dtype, device=reference.device
        )
    raise TypeError(
        f"logit_scale must be a float or a 0-d tensor, got {type(logit_scale)}"
    )


class InfoNCELoss(nn.Module):
    """Symmetric InfoNCE between speech and text, optionally label-aware.

    ``speech_emb[i]`` and ``text_emb[i]`` form a pair. Logits are
    ``logit_scale * speech_emb @ text_emb.T``.

    * Without labels (CLIP): the loss is the mean of the cross-entropy of the
      speech -> text rows and of the text -> speech rows, averaged over the
      two directions; pair ``i`` is the only positive of row ``i``.
    * With labels (supervised contrastive): every (text i, speech j) pair with
      ``positive_mask(text_labels, speech_labels)[i, j]`` is a positive and the
      pair itself always is. Each anchor row's loss is minus the mean, over its
      positives, of the log-softmax of the row (:func:`multi_positive_nll`);
      text -> speech rows use the mask, speech -> text rows its transpose.
      The two directions are averaged. Labels where all items differ give
      the plain loss.

    Under torch.distributed (see the module docstring), embeddings and labels
    are gathered from all processes, each process scores its own rows against
    all columns and returns ``sum(row losses) * world_size / global_batch``.
    DDP's gradient averaging then gives exactly the gradients of one process
    holding the whole batch, also with unequal per-process batch sizes, and
    the mean over processes of the returned losses equals that process' loss.

    Arguments
    ---------
    gather_distributed : bool
        If True (default) and torch.distributed is initialised with more
        than one process, gather the batch from all processes. Set it to
        False when every process holds the same (unsharded) data, e.g. a
        validation set that is not split among processes.

    Example
    -------
    >>> loss_fn = InfoNCELoss()
    >>> speech = torch.nn.functional.normalize(torch.randn(4, 8), dim=1)
    >>> text = torch.nn.functional.normalize(torch.randn(4, 8), dim=1)
    >>> loss = loss_fn(speech, text, logit_scale=14.3)
    >>> loss.shape
    torch.Size([])
    >>> labels = torch.tensor([0, 1, 0, 2])
    >>> loss_fn(speech, text, 14.3, labels, labels).shape
    torch.Size([])
    """

    def __init__(self, gather_distributed=True):
        super().__init__()
        self.gather_distributed = gather_distributed

    def forward(
        self,
        speech_emb,
        text_emb,
        logit_scale,
        speech_labels=None,
        text_labels=None,
        gather=None,
    ):
        """Computes the loss.

        Arguments
        ---------
        speech_emb : torch.Tensor
            Shape (B, D), L2-normalised speech embeddings.
        text_emb : torch.Tensor
            Shape (B, D), L2-normalised text embeddings; row i pairs with
            ``speech_emb[i]``.
        logit_scale : float or torch.Tensor
            ``1 / temperature``, e.g. the output of
            :class:`LearnableLogitScale`.
        speech_labels : torch.LongTensor, optional
            Shape (B,) or (B, F). Give both label tensors or neither.
        text_labels : torch.LongTensor, optional
            Shape (B,) or (B, F); -1 is a wildcard (see
            :func:`positive_mask`).
        gather : bool, optional
            Overrides ``gather_distributed`` for this call: pass False for
            evaluation batches, which SpeechBrain does not shard.

        Returns
        -------
        torch.Tensor
            0-d loss (see the class docstring for its value under DDP).
        """
        self._check_inputs(speech_emb, text_emb, speech_labels, text_labels)
        scale = _as_logit_scale(logit_scale, speech_emb)
        world_size, _ = world_size_and_rank()
        if not (self.gather_distributed if gather is None else gather):
            world_size = 1

        if world_size > 1:
            all_speech, offset = gather_with_grad(speech_emb)
            all_text, _ = gather_with_grad(text_emb)
        else:
            all_speech, all_text, offset = speech_emb, text_emb, 0

        num_local = speech_emb.shape[0]
        num_global = all_speech.shape[0]
        speech_to_text = scaled_similarity(speech_emb, all_text, scale)
        text_to_speech = scaled_similarity(text_emb, all_speech, scale)

        if speech_labels is None:
            targets = torch.arange(num_local, device=speech_emb.device)
            targets = targets + offset
            row_losses_s2t = F.cross_entropy(
                speech_to_text, targets, reduction="none"
            )
            row_losses_t2s = F.cross_entropy(
                text_to_speech, targets, reduction="none"
            )
        else:
            speech_labels = speech_labels.to(speech_emb.device)
            text_labels = text_labels.to(speech_emb.device)
            if world_size > 1:
                all_speech_labels, _ = gather_no_grad(speech_labels)
                all_text_labels, _ = gather_no_grad(text_labels)
            else:
                all_speech_labels, all_text_labels = speech_labels, text_labels
            diagonal = _diagonal_positives(
                num_local, num_global, offset, speech_emb.device
            )
            # text anchors (local rows) against all speech columns
            text_positives = self.pair_positives(text_labels, all_speech_labels)
            # speech anchors (local rows) against all text columns
            speech_positives = self.pair_positives(
                all_text_labels, speech_labels
            ).T
            row_losses_s2t = multi_positive_nll(
                speech_to_text, speech_positives | diagonal
            )
            row_losses_t2s = multi_positive_nll(
                text_to_speech, text_positives | diagonal
            )

        local_sum = (row_losses_s2t.sum() + row_losses_t2s.sum()) / 2
        return local_sum * (world_size / num_global)

    def pair_positives(self, text_labels, speech_labels):
        """Which (text, speech) pairs are positives, from their labels.

        :func:`positive_mask` here; subclasses may define another relation
        (e.g. ``speechbrain_style.nnet.description_loss``).

        Arguments
        ---------
        text_labels : torch.LongTensor
            Labels of the text rows.
        speech_labels : torch.LongTensor
            Labels of the speech rows.

        Returns
        -------
        torch.BoolTensor
            Shape (B_text, B_speech).
        """
        return positive_mask(text_labels, speech_labels)

    @staticmethod
    def _check_inputs(speech_emb, text_emb, speech_labels, text_labels):
        """Raises a clear error on inconsistent inputs."""
        for name, emb in (("speech_emb", speech_emb), ("text_emb", text_emb)):
            if not isinstance(emb, torch.Tensor) or emb.dim() != 2:
                raise ValueError(f"{name} must be a tensor of shape (B, D)")
        if speech_emb.shape != text_emb.shape:
            raise ValueError(
                "speech_emb and text_emb must have the same shape (B, D), got "
                f"{tuple(speech_emb.shape)} and {tuple(text_emb.shape)}"
            )
        if (speech_labels is None) != (text_labels is None):
            raise ValueError(
                "Give both speech_labels and text_labels, or neither"
            )
        if speech_labels is None:
            return
        for name, labels in (
            ("speech_labels", speech_labels),
            ("text_labels", text_labels),
        ):
            _labels_as_2d(labels, name)
            if labels.shape[0] != speech_emb.shape[0]:
                raise ValueError(
                    f"{name} must have {speech_emb.shape[0]} rows (one per "
                    f"pair), got shape {tuple(labels.shape)}"
                )


# Names of version 0.1, kept as deprecated aliases.
__getattr__ = _moved.moved_attribute(
    __name__,
    {
        "ContrastiveLoss": "InfoNCELoss",
        "LearnableTemperature": "LearnableLogitScale",
    },
)

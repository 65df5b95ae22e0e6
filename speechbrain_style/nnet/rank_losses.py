"""Ordinal (rank-aware) contrastive losses for speech <-> text alignment.

:class:`RankNContrastLoss` is the cross-modal Rank-N-Contrast objective of
EmotionRankCLAP (https://arxiv.org/abs/2505.23732), built on Rank-N-Contrast
(Zha et al. 2023, https://arxiv.org/abs/2210.01189). Instead of one positive
per anchor, every candidate ``j`` is a positive against the candidates whose
labels (e.g. valence / arousal) are at least as far from the anchor's labels
as ``j``'s are, so the embedding learns the order of the labels.

Distributed training follows :mod:`speechbrain_style.nnet.losses`: embeddings
and
labels are gathered from all processes (:func:`gather_with_grad`), each
process scores its own anchors against all candidates and returns
``(sum of its anchor terms) * world_size / normaliser`` so that DDP's gradient
averaging gives the gradients of one process holding the whole batch, also
with unequal per-process batch sizes.

Authors
 * speechbrain-style contributors 2025
"""

import torch
import torch.nn.functional as F
from speechbrain.utils.logger import get_logger
from torch import nn

from speechbrain_style.nnet.distributed import (
    gather_no_grad,
    gather_with_grad,
    world_size_and_rank,
)

logger = get_logger(__name__)

SIMILARITIES = ("cosine", "neg_l2")


def pairwise_similarity(anchors, candidates, similarity="cosine"):
    """Similarity of every anchor to every candidate, in at least float32.

    Arguments
    ---------
    anchors : torch.Tensor
        Shape (N_a, D).
    candidates : torch.Tensor
        Shape (N_c, D).
    similarity : str
        ``"cosine"`` (cosine similarity, inputs need not be normalised) or
        ``"neg_l2"`` (minus the Euclidean distance, as in the Rank-N-Contrast
        reference implementation).

    Returns
    -------
    torch.Tensor
        Shape (N_a, N_c).

    Example
    -------
    >>> a = torch.tensor([[3.0, 4.0]])
    >>> b = torch.tensor([[3.0, 4.0], [0.0, 1.0]])
    >>> pairwise_similarity(a, b, "cosine")
    tensor([[1.0000, 0.8000]])
    >>> pairwise_similarity(a, b, "neg_l2")
    tensor([[-0.0000, -4.2426]])
    """
    if similarity not in SIMILARITIES:
        raise ValueError(
            f"similarity must be one of {SIMILARITIES}, got {similarity!r}"
        )
    dtype = torch.promote_types(
        torch.promote_types(anchors.dtype, candidates.dtype), torch.float32
    )
    with torch.autocast(device_type=anchors.device.type, enabled=False):
        anchors = anchors.to(dtype)
        candidates = candidates.to(dtype)
        if similarity == "cosine":
            return (
                F.normalize(anchors, dim=1) @ F.normalize(candidates, dim=1).T
            )
        # exact differences (no |a|^2 + |b|^2 - 2ab cancellation); the
        # gradient of cdist at a zero distance is zero, not NaN
        return -torch.cdist(
            anchors, candidates, compute_mode="donot_use_mm_for_euclid_dist"
        )


def label_distance(labels_a, labels_b):
    """L1 distance between every pair of label vectors.

    Arguments
    ---------
    labels_a : torch.Tensor
        Shape (N_a, L) (or (N_a,) for one attribute), float.
    labels_b : torch.Tensor
        Shape (N_b, L) (or (N_b,)).

    Returns
    -------
    torch.Tensor
        Shape (N_a, N_b).

    Example
    -------
    >>> a = torch.tensor([[0.5, 0.5]])
    >>> b = torch.tensor([[0.0, 1.0], [0.5, 0.25]])
    >>> label_distance(a, b)
    tensor([[1.0000, 0.2500]])
    """
    if labels_a.dim() == 1:
        labels_a = labels_a.unsqueeze(1)
    if labels_b.dim() == 1:
        labels_b = labels_b.unsqueeze(1)
    return (labels_a.unsqueeze(1) - labels_b.unsqueeze(0)).abs().sum(dim=2)


def rank_n_contrast_terms(logits, distances, excluded=None):
    """Sum over anchors and candidates of the Rank-N-Contrast log terms.

    For anchor row ``i`` and every candidate column ``j`` that is not
    excluded, the term is

    ``-log( exp(logits[i, j]) / sum_{k in S_ij} exp(logits[i, k]) )``

    with ``S_ij = {k not excluded : distances[i, k] >= distances[i, j]}``
    (``j`` itself is always in ``S_ij``). Uses a (N_rows, N_cols, N_cols)
    mask: fine for batches of a few hundred items.

    Arguments
    ---------
    logits : torch.Tensor
        Shape (N_rows, N_cols), similarities divided by the temperature.
    distances : torch.Tensor
        Shape (N_rows, N_cols), label distance of each candidate to the
        anchor.
    excluded : torch.BoolTensor, optional
        Shape (N_rows, N_cols); True for candidates that are neither scored
        nor part of any denominator (e.g. the anchor's own pair).

    Returns
    -------
    total : torch.Tensor
        0-d, the sum of the terms.
    count : int
        Number of terms (non-excluded (i, j) pairs).

    Example
    -------
    >>> logits = torch.tensor([[1.0, 0.0]])
    >>> distances = torch.tensor([[0.0, 1.0]])
    >>> total, count = rank_n_contrast_terms(logits, distances)
    >>> expected = -(1.0 - torch.tensor([1.0, 0.0]).logsumexp(0)) - 0.0
    >>> bool(torch.isclose(total, expected)), count
    (True, 2)
    """
    if logits.shape != distances.shape or logits.dim() != 2:
        raise ValueError(
            "logits and distances must both have shape (N_rows, N_cols), got "
            f"{tuple(logits.shape)} and {tuple(distances.shape)}"
        )
    if excluded is None:
        excluded = torch.zeros_like(logits, dtype=torch.bool)
    excluded = excluded.to(device=logits.device, dtype=torch.bool)
    distances = distances.to(logits.device)
    # in_denominator[i, j, k]: k is in the denominator of the (i, j) term
    in_denominator = distances.unsqueeze(1) >= distances.unsqueeze(2)
    in_denominator = in_denominator & ~excluded.unsqueeze(1)
    expanded = logits.unsqueeze(1).expand(-1, logits.shape[1], -1)
    masked = expanded.masked_fill(~in_denominator, float("-inf"))
    log_denominator = masked.logsumexp(dim=2)  # (N_rows, N_cols)
    # excluded (i, j) terms may have an empty denominator (-inf): drop them
    # with masked_fill so that no NaN reaches the gradient
    terms = (log_denominator - logits).masked_fill(excluded, 0.0)
    return terms.sum(), int((~excluded).sum())


class RankNContrastLoss(nn.Module):
    """Cross-modal Rank-N-Contrast loss (EmotionRankCLAP).

    ``speech_emb[i]`` and ``text_emb[i]`` describe the same item, whose
    continuous labels (e.g. valence and arousal) are ``labels[i]``. With
    ``s_ij`` the similarity between anchor ``i`` of one modality and
    candidate ``j`` of the other, ``t`` the temperature and
    ``d(y_i, y_j)`` the L1 distance between label vectors, one direction is

    ``L = -1/(n(n-1)) sum_i sum_{j != i} log[ exp(s_ij/t) /
    sum_{k != i, d(y_i,y_k) >= d(y_i,y_j)} exp(s_ik/t) ]``

    over the n items of the (global) batch. The loss is the mean of the
    speech-anchor (text candidates) and text-anchor (speech candidates)
    directions. As in the formula, the anchor's own pair (candidate ``i``)
    is neither scored nor in any denominator; ``include_paired=True`` adds
    it (at label distance 0, the cross-modal counterpart of the second
    augmented view in the original Rank-N-Contrast), and the normaliser
    becomes ``n * n``.

    Under torch.distributed, embeddings and labels are gathered from all
    processes, each process scores its own anchors against all candidates
    and returns ``(sum of its terms) / 2 * world_size / normaliser``: the
    mean over processes of the returned losses is the single-process loss
    and DDP's gradient averaging gives its exact gradients, also with
    unequal per-process batch sizes.

    Arguments
    ---------
    temperature : float
        Softmax temperature ``t`` (Rank-N-Contrast default: 2.0).
    similarity : str
        ``"cosine"`` or ``"neg_l2"`` (minus the Euclidean distance, as in the
        Rank-N-Contrast reference implementation).
    gather_distributed : bool
        If True and torch.distributed runs more than one process, gather the
        batch from all processes (set False for unsharded evaluation data).
    include_paired : bool
        If True, the anchor's own pair is also a candidate (see above).

    Example
    -------
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> loss_fn = RankNContrastLoss(temperature=2.0, similarity="cosine")
    >>> speech, text = torch.randn(6, 8), torch.randn(6, 8)
    >>> labels = torch.rand(6, 2)  # valence, arousal
    >>> loss = loss_fn(speech, text, labels)
    >>> loss.shape, bool(loss > 0)
    (torch.Size([]), True)
    """

    def __init__(
        self,
        temperature=2.0,
        similarity="cosine",
        gather_distributed=True,
        include_paired=False,
    ):
        super().__init__()
        if (
            isinstance(temperature, bool)
            or not isinstance(temperature, (int, float))
            or not temperature > 0
        ):
            raise ValueError(
                f"temperature must be a positive number, got {temperature!r}"
            )
        if similarity not in SIMILARITIES:
            raise ValueError(
                f"similarity must be one of {SIMILARITIES}, got {similarity!r}"
            )
        self.temperature = float(temperature)
        self.similarity = similarity
        self.gather_distributed = bool(gather_distributed)
        self.include_paired = bool(include_paired)

    def forward(self, speech_emb, text_emb, labels, gather=None):
        """Computes the loss.

        Arguments
        ---------
        speech_emb : torch.Tensor
            Shape (B, D).
        text_emb : torch.Tensor
            Shape (B, D); row i pairs with ``speech_emb[i]``.
        labels : torch.Tensor
            Shape (B, L) or (B,), continuous labels shared by pair i.
        gather : bool, optional
            Overrides ``gather_distributed`` for this call.

        Returns
        -------
        torch.Tensor
            0-d loss (see the class docstring for its value under DDP).
        """
        labels = self._check_inputs(speech_emb, text_emb, labels)
        world_size, _ = world_size_and_rank()
        if not (self.gather_distributed if gather is None else gather):
            world_size = 1
        if world_size > 1:
            all_speech, offset = gather_with_grad(speech_emb)
            all_text, _ = gather_with_grad(text_emb)
            all_labels, _ = gather_no_grad(labels)
        else:
            all_speech, all_text, all_labels, offset = (
                speech_emb,
                text_emb,
                labels,
                0,
            )
        num_local = speech_emb.shape[0]
        num_global = all_speech.shape[0]
        if num_global < 2 and not self.include_paired:
            raise ValueError(
                "RankNContrastLoss needs at least 2 items in the (global) "
                f"batch, got {num_global}"
            )

        distances = label_distance(labels, all_labels)  # (local, global)
        excluded = torch.zeros(
            num_local, num_global, dtype=torch.bool, device=speech_emb.device
        )
        if not self.include_paired:
            rows = torch.arange(num_local, device=speech_emb.device)
            excluded[rows, rows + offset] = True

        total = 0.0
        for anchors, candidates in (
            (speech_emb, all_text),
            (text_emb, all_speech),
        ):
            logits = (
                pairwise_similarity(anchors, candidates, self.similarity)
                / self.temperature
            )
            direction_sum, _ = rank_n_contrast_terms(
                logits, distances.to(logits.dtype), excluded
            )
            total = total + direction_sum
        if self.include_paired:
            normaliser = num_global * num_global
        else:
            normaliser = num_global * (num_global - 1)
        return total / 2 * (world_size / normaliser)

    @staticmethod
    def _check_inputs(speech_emb, text_emb, labels):
        """Raises a clear error on bad inputs; returns labels as (B, L)."""
        for name, emb in (("speech_emb", speech_emb), ("text_emb", text_emb)):
            if not isinstance(emb, torch.Tensor) or emb.dim() != 2:
                raise ValueError(f"{name} must be a tensor of shape (B, D)")
        if speech_emb.shape != text_emb.shape:
            raise ValueError(
                "speech_emb and text_emb must have the same shape (B, D), got "
                f"{tuple(speech_emb.shape)} and {tuple(text_emb.shape)}"
            )
        if not isinstance(labels, torch.Tensor):
            raise TypeError(
                f"labels must be a torch.Tensor, got {type(labels)}"
            )
        if labels.dim() == 1:
            labels = labels.unsqueeze(1)
        if labels.dim() != 2 or labels.shape[0] != speech_emb.shape[0]:
            raise ValueError(
                f"labels must have shape ({speech_emb.shape[0]}, L) or "
                f"({speech_emb.shape[0]},), got {tuple(labels.shape)}"
            )
        if not labels.dtype.is_floating_point:
            labels = labels.to(torch.float32)
        if not bool(torch.isfinite(labels).all()):
            raise ValueError("labels must be finite (no NaN / inf)")
        return labels.to(speech_emb.device)

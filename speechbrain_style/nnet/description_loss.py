"""Contrastive loss for recordings with several free-text descriptions.

In a corpus of free-text descriptions a recording has one or more
descriptions, and the same description ("A man speaking slowly.") often
describes many recordings. :class:`DescriptionSetContrastiveLoss` is the
symmetric multi-positive InfoNCE of
:class:`speechbrain_style.nnet.losses.InfoNCELoss` (the loss of the
caption recipes, where every caption of a clip is a positive) with the
positives given by set membership:

* every distinct description text (after :func:`normalise_description`)
  has an integer id; a batch's text labels are the ids of its descriptions,
  shape (B,);
* a recording's speech labels are the ids of all its descriptions, padded
  with -1 to a fixed width K, shape (B, K);
* text ``i`` and recording ``j`` are a positive pair exactly when the id of
  text ``i`` is one of recording ``j``'s ids.

So every description of a recording is a positive of it, and two
recordings that share a description are not negatives of each other for
that description (each is a positive of it), while their other
descriptions stay negatives where they do not apply. The distributed
gathering, the temperature and the two directions are those of the parent
class.

Authors
 * speechbrain-style contributors 2026
"""

import torch

from speechbrain_style.nnet.losses import InfoNCELoss

PAD_ID = -1
"""Padding of the speech label rows (matches no description)."""


def normalise_description(text):
    """The form under which two descriptions count as the same.

    Whitespace is collapsed, case folded and final punctuation dropped, so
    "A man speaking slowly." and "a man  speaking slowly" are one
    description.

    Arguments
    ---------
    text : str
        A description.

    Returns
    -------
    str

    Example
    -------
    >>> normalise_description("  A man  speaking slowly. ")
    'a man speaking slowly'
    """
    return " ".join(text.split()).casefold().rstrip(".!?;, ")


def description_set_positives(text_ids, speech_id_sets):
    """Bool (B_text, B_speech): text i is one of recording j's descriptions.

    Arguments
    ---------
    text_ids : torch.LongTensor
        (B_text,) or (B_text, 1) description ids.
    speech_id_sets : torch.LongTensor
        (B_speech, K) description ids of each recording, padded with -1.

    Returns
    -------
    torch.BoolTensor

    Example
    -------
    >>> sets = torch.tensor([[0, 1], [1, -1], [2, -1]])
    >>> description_set_positives(torch.tensor([1, 2]), sets).int().tolist()
    [[1, 1, 0], [0, 0, 1]]
    """
    if text_ids.dim() == 2:
        if text_ids.shape[1] != 1:
            raise ValueError(
                "text labels must be (B,) or (B, 1) description ids, got "
                f"shape {tuple(text_ids.shape)}"
            )
        text_ids = text_ids[:, 0]
    if text_ids.dim() != 1 or speech_id_sets.dim() != 2:
        raise ValueError(
            "Expected (B,) text ids and (B, K) speech id sets, got shapes "
            f"{tuple(text_ids.shape)} and {tuple(speech_id_sets.shape)}"
        )
    if bool((text_ids < 0).any()):
        raise ValueError("Description ids must be >= 0")
    speech_id_sets = speech_id_sets.to(text_ids.device)
    return (speech_id_sets.unsqueeze(0) == text_ids[:, None, None]).any(-1)


class DescriptionSetContrastiveLoss(InfoNCELoss):
    """Multi-positive InfoNCE where a recording's descriptions are a set.

    Call it as :class:`speechbrain_style.nnet.losses.InfoNCELoss` with
    ``speech_labels`` = (B, K) description-id sets and ``text_labels`` =
    (B,) description ids (see the module docstring). The pair ``i`` itself
    is always a positive.

    Arguments
    ---------
    gather_distributed : bool
        See ``InfoNCELoss``.

    Example
    -------
    >>> loss_fn = DescriptionSetContrastiveLoss()
    >>> speech = torch.nn.functional.normalize(torch.randn(3, 8), dim=1)
    >>> text = torch.nn.functional.normalize(torch.randn(3, 8), dim=1)
    >>> sets = torch.tensor([[0, 1], [1, -1], [2, -1]])
    >>> ids = torch.tensor([0, 1, 2])  # text 1 also describes recording 0
    >>> loss_fn(speech, text, 14.3, sets, ids).shape
    torch.Size([])
    """

    def pair_positives(self, text_labels, speech_labels):
        """Set membership (see :func:`description_set_positives`)."""
        return description_set_positives(text_labels, speech_labels)


def description_id_sets(descriptions, vocabulary, width):
    """The padded id row of one recording's descriptions.

    Arguments
    ---------
    descriptions : list of str
        The recording's descriptions.
    vocabulary : dict
        ``{normalised description: id}``.
    width : int
        K, the row width (the most descriptions of any recording).

    Returns
    -------
    torch.LongTensor
        (K,) distinct ids, then -1.

    Example
    -------
    >>> vocab = {"a man": 0, "slow speech": 1}
    >>> description_id_sets(["A man.", "Slow speech", "a man"], vocab, 3)
    tensor([ 0,  1, -1])
    """
    ids = []
    for text in descriptions:
        key = normalise_description(text)
        if key not in vocabulary:
            raise KeyError(f"Description {text!r} is not in the vocabulary")
        if vocabulary[key] not in ids:
            ids.append(vocabulary[key])
    if len(ids) > width:
        raise ValueError(
            f"{len(ids)} distinct descriptions but the row width is {width}"
        )
    return torch.LongTensor(ids + [PAD_ID] * (width - len(ids)))

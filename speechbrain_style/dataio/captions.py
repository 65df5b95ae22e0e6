"""The data flow of caption corpora (text-audio retrieval).

A caption manifest has one item per clip with a ``captions`` list
(Clotho: 5 per clip; AudioCaps: 1 in train, 5 in val/test). The
text-audio recipes (``recipes/Clotho``, ``recipes/AudioCaps``) build their
datasets from these pieces:

* :func:`expand_captions`: training items, one per (clip, caption) pair,
  so that a batch may hold several captions of one clip;
* :func:`clip_items`: evaluation items, one per clip with all its
  captions (the retrieval gallery) and its first caption (the validation
  loss);
* :func:`make_clip_label_pipeline`: the clip's index as ``speech_labels``
  and ``text_labels``; with them ``InfoNCELoss`` treats every pair of the
  same clip as a positive (the dual encoder's hard targets);
* :func:`make_caption_pipeline`: the item's caption as ``description``.

Authors
 * speechbrain-style contributors 2026
"""

import speechbrain as sb
import torch


def _check_captions(clip_id, captions):
    """Raises a clear error unless ``captions`` is a non-empty list."""
    if not captions or isinstance(captions, str):
        raise ValueError(
            f"Clip {clip_id!r} needs a non-empty list of captions, got "
            f"{captions!r}"
        )


def expand_captions(clips):
    """One item per (clip, caption), with the clip's index.

    Arguments
    ---------
    clips : dict
        ``{clip_id: item}``, items with a ``captions`` list.

    Returns
    -------
    dict
        ``{"<clip_id>#<k>": item + {"clip_id", "clip_index", "caption"}}``;
        clip indices follow the order of ``clips``.

    Example
    -------
    >>> pairs = expand_captions({"a": {"captions": ["x", "y"]},
    ...                          "b": {"captions": ["z"]}})
    >>> [(key, p["clip_index"], p["caption"]) for key, p in pairs.items()]
    [('a#0', 0, 'x'), ('a#1', 0, 'y'), ('b#0', 1, 'z')]
    """
    pairs = {}
    for index, (clip_id, item) in enumerate(clips.items()):
        captions = item.get("captions")
        _check_captions(clip_id, captions)
        for k, caption in enumerate(captions):
            pairs[f"{clip_id}#{k}"] = dict(
                item, clip_id=clip_id, clip_index=index, caption=caption
            )
    return pairs


def clip_items(clips):
    """One item per clip, with its index and its first caption.

    Arguments
    ---------
    clips : dict
        ``{clip_id: item}``, items with a ``captions`` list.

    Returns
    -------
    dict
        ``{clip_id: item + {"clip_index", "caption"}}``; ``caption`` is the
        first of the clip's captions, ``captions`` stays the whole list.

    Example
    -------
    >>> items = clip_items({"a": {"captions": ["x", "y"]},
    ...                     "b": {"captions": ["z"]}})
    >>> [(key, i["clip_index"], i["caption"]) for key, i in items.items()]
    [('a', 0, 'x'), ('b', 1, 'z')]
    """
    items = {}
    for index, (clip_id, item) in enumerate(clips.items()):
        captions = item.get("captions")
        _check_captions(clip_id, captions)
        items[clip_id] = dict(item, clip_index=index, caption=captions[0])
    return items


def make_clip_label_pipeline():
    """Pipeline: ``clip_index`` -> ``speech_labels``, ``text_labels``.

    Both are ``torch.LongTensor([clip_index])``: the label-aware
    ``InfoNCELoss`` then makes every audio-caption pair of the same clip a
    positive.

    Returns
    -------
    function
        A SpeechBrain dynamic item.

    Example
    -------
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> data = DynamicItemDataset(
    ...     expand_captions({"a": {"captions": ["x", "y"]}}),
    ...     [make_clip_label_pipeline()],
    ...     output_keys=["speech_labels", "text_labels"])
    >>> data[1]
    {'speech_labels': tensor([0]), 'text_labels': tensor([0])}
    """

    @sb.utils.data_pipeline.takes("clip_index")
    @sb.utils.data_pipeline.provides("speech_labels", "text_labels")
    def clip_label_pipeline(clip_index):
        """The clip's index, for both modalities."""
        labels = torch.LongTensor([clip_index])
        yield labels
        yield labels

    return clip_label_pipeline


def make_caption_pipeline():
    """Pipeline: ``caption`` -> ``description`` (the text the model embeds).

    Returns
    -------
    function
        A SpeechBrain dynamic item.

    Example
    -------
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> data = DynamicItemDataset(
    ...     clip_items({"a": {"captions": ["x", "y"]}}),
    ...     [make_caption_pipeline()], output_keys=["description"])
    >>> data[0]
    {'description': 'x'}
    """

    @sb.utils.data_pipeline.takes("caption")
    @sb.utils.data_pipeline.provides("description")
    def caption_pipeline(caption):
        """The item's caption."""
        return caption

    return caption_pipeline

"""Data pipelines and label checks shared by several recipes.

The recipes' ``dataio_prepare`` functions build their datasets from these
pieces (each recipe keeps its own ``dataio_prepare`` in its ``train.py``):

* :func:`check_label_values`: every label of a split is one of the
  recipe's classes (checked upfront, with an error naming the split, the
  manifest and the unknown labels, instead of a failure in a DataLoader
  worker mid-epoch);
* :func:`make_manifest_audio_pipeline`: the audio pipeline that a
  manifest's items need (segment bounds ``start``/``stop`` and a
  ``channel`` of a multichannel file when the items have them, as the
  conversational part of Expresso does);
* :func:`items_with_values`: the items of a dimensional corpus that have
  every value (valence and arousal), the others counted and logged;
* :func:`make_dimensional_level_pipeline`: the (valence level, arousal
  level) of an item as its labels for the label-aware contrastive loss.

Authors
 * speechbrain-style contributors 2026
"""

import torch
from speechbrain.utils.data_pipeline import provides, takes
from speechbrain.utils.logger import get_logger

from speechbrain_style.dataio.audio import make_audio_pipeline

logger = get_logger(__name__)


def check_label_values(data, classes, split, field="style", manifest=None):
    """Checks that every item's ``field`` is one of ``classes``.

    Arguments
    ---------
    data : dict
        ``{item_id: item}`` of one split (e.g. from ``load_manifest``).
    classes : list of str
        The recipe's classes (yaml ``classes``).
    split : str
        The split's name, for the error message.
    field : str
        The label field of the items.
    manifest : str, optional
        The manifest file, for the error message.

    Raises
    ------
    ValueError
        If some items have labels outside ``classes``; the message names
        the split, the manifest, the unknown labels with their item counts
        and the classes.

    Example
    -------
    >>> data = {"a": {"style": "sad"}, "b": {"style": "awe"}}
    >>> check_label_values(data, ["sad", "awe"], "train")
    >>> try:
    ...     check_label_values(data, ["sad"], "test", manifest="test.json")
    ... except ValueError as e:
    ...     print(e)
    Split 'test' (test.json): style values ['awe'] (1 item(s): 'awe' x1) \
are not in the recipe's classes ['sad']
    """
    known = set(classes)
    counts = {}
    for item in data.values():
        value = item[field]
        if value not in known:
            counts[value] = counts.get(value, 0) + 1
    if not counts:
        return
    unknown = sorted(counts, key=str)
    where = f" ({manifest})" if manifest is not None else ""
    detail = ", ".join(f"{value!r} x{counts[value]}" for value in unknown)
    raise ValueError(
        f"Split '{split}'{where}: {field} values {unknown} "
        f"({sum(counts.values())} item(s): {detail}) are not in the "
        f"recipe's classes {list(classes)}"
    )


def make_manifest_audio_pipeline(
    data, sample_rate, crop_seconds=None, train=False
):
    """The audio pipeline (``wav`` -> ``sig``) that a split's items need.

    When any item has a ``start`` field, the pipeline reads the
    ``[start, stop)`` segment (null bounds read the whole file); when any
    item has a non-null ``channel``, it reads that channel of the file
    (null: the downmix). Otherwise it reads the whole file, downmixed.
    See :func:`speechbrain_style.dataio.audio.make_audio_pipeline`.

    Arguments
    ---------
    data : dict
        ``{item_id: item}`` of one split.
    sample_rate : int
        Target sample rate.
    crop_seconds : float, optional
        Maximum length of the random training crops.
    train : bool
        Whether to take random crops (training).

    Returns
    -------
    speechbrain.utils.data_pipeline.DynamicItem
        Provides ``sig``.

    Example
    -------
    >>> import numpy as np, soundfile as sf
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> path = getfixture("tmp_path") / "stereo.wav"
    >>> sf.write(path, np.stack([np.full(16000, 0.2),
    ...                          np.full(16000, 0.4)], axis=1), 16000)
    >>> data = {"u1": {"wav": str(path), "start": 0.5, "stop": None,
    ...                "channel": 1}}
    >>> pipeline = make_manifest_audio_pipeline(data, 16000)
    >>> dataset = DynamicItemDataset(data, [pipeline], output_keys=["sig"])
    >>> sig = dataset[0]["sig"]
    >>> sig.shape, round(sig[0].item(), 2)
    (torch.Size([8000]), 0.4)
    """
    return make_audio_pipeline(
        sample_rate=sample_rate,
        crop_seconds=crop_seconds if train else None,
        train=train,
        time_bounds=any("start" in item for item in data.values()),
        channel=any(item.get("channel") is not None for item in data.values()),
    )


def items_with_values(
    data, split, fields=("valence", "arousal"), manifest=None
):
    """The items that have a value for every field of ``fields``.

    Items with a missing or null value are left out; how many is logged
    (a warning naming the split).

    Arguments
    ---------
    data : dict
        ``{item_id: item}`` of one split.
    split : str
        The split's name, for the messages.
    fields : tuple of str
        The value fields.
    manifest : str, optional
        The manifest file, for the error message.

    Returns
    -------
    dict
        The kept items, in order.

    Raises
    ------
    ValueError
        If no item is left.

    Example
    -------
    >>> data = {"a": {"valence": 3.0, "arousal": 2.5},
    ...         "b": {"valence": None, "arousal": 4.0}}
    >>> list(items_with_values(data, "train"))
    ['a']
    """
    kept = {
        item_id: item
        for item_id, item in data.items()
        if all(item.get(field) is not None for field in fields)
    }
    if len(kept) < len(data):
        logger.warning(
            f"Split '{split}': {len(data) - len(kept)} of {len(data)} items "
            f"have no {'/'.join(fields)} value and are left out"
        )
    if not kept:
        where = f" ({manifest})" if manifest is not None else ""
        raise ValueError(
            f"Split '{split}'{where} has no item with "
            f"{' and '.join(fields)} values"
        )
    return kept


def make_dimensional_level_pipeline(describer):
    """Pipeline: (valence, arousal) -> their levels, as both labels.

    Two items in the same (valence level, arousal level) cell are
    positives of the label-aware contrastive loss; the description of an
    item describes its cell, so the text labels are the same levels.

    Arguments
    ---------
    describer : speechbrain_style.prompts.dimensional.DimensionalDescriber
        Its ``level(dimension, value)`` bins the values.

    Returns
    -------
    speechbrain.utils.data_pipeline.DynamicItem
        Takes ``valence`` and ``arousal``; provides ``speech_labels`` and
        ``text_labels`` (each ``torch.LongTensor([v_level, a_level])``).

    Example
    -------
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> from speechbrain_style.prompts.dimensional import DimensionalDescriber
    >>> pipeline = make_dimensional_level_pipeline(DimensionalDescriber())
    >>> data = DynamicItemDataset({"u1": {"valence": 2.0, "arousal": 6.5}},
    ...     [pipeline], output_keys=["speech_labels", "text_labels"])
    >>> data[0]["speech_labels"], data[0]["text_labels"]
    (tensor([0, 4]), tensor([0, 4]))
    """

    @takes("valence", "arousal")
    @provides("speech_labels", "text_labels")
    def dimensional_level_pipeline(valence, arousal):
        """The (valence level, arousal level) of an item, twice."""
        levels = torch.LongTensor(
            [
                describer.level("valence", valence),
                describer.level("arousal", arousal),
            ]
        )
        yield levels
        yield levels

    return dimensional_level_pipeline

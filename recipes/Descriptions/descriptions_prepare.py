"""Data preparation for your own recordings and free-text descriptions.

Reads the manifests you wrote (SpeechBrain JSON or CSV, see README.md and
``speechbrain_style.dataio.descriptions``), checks them, and writes the
SpeechBrain JSON manifests the recipe trains on::

    {"utt1": {"wav": "{data_root}/clips/utt1.wav", "start": null,
      "stop": null, "duration": 3.2,
      "descriptions": ["A woman whispering.", "Someone speaking softly."],
      "gender": "female", "tags": ["whispered"]}}

* ``wav`` paths: ``{data_root}/...`` (JSON) or ``$data_root/...`` (CSV)
  are filled with ``data_folder`` when the recipe loads the data; relative
  paths are relative to ``data_folder`` (written as ``{data_root}/...``);
  absolute paths stay as they are.
* ``duration`` is read from the file header when the manifest has none
  (of the segment when ``start``/``stop`` are given).
* Every item gets every metadata field seen in its manifests (None where
  an item has none), so that fields can be filters and metrics.
* Without a validation manifest, ``valid_ratio`` of the training items
  (chosen by a hash of their ids, so always the same ones) are held out.

A manifest that is not UTF-8, has no descriptions, or an empty description
stops the preparation with a message naming the file and item. Items whose
audio is missing, unreadable or shorter than the segment are skipped,
counted and logged per split (never dropped silently).

Authors
 * speechbrain-style contributors 2026
"""

import hashlib
import os

from speechbrain.utils.logger import get_logger

from speechbrain_style.dataio.audio import AudioError, get_duration
from speechbrain_style.dataio.descriptions import (
    DESCRIPTION_SEPARATOR,
    ManifestError,
    read_description_manifest,
)
from speechbrain_style.dataio.manifest import (
    format_counts,
    outputs_exist,
    save_manifest,
)

logger = get_logger(__name__)

PLACEHOLDER = "{data_root}"


def prepare_descriptions(
    data_folder,
    save_json_train,
    save_json_valid,
    save_json_test,
    train_manifest,
    test_manifest,
    valid_manifest=None,
    valid_ratio=0.1,
    description_key="descriptions",
    separator=DESCRIPTION_SEPARATOR,
    skip_prep=False,
):
    """Checks your descriptions manifests and writes the recipe's manifests.

    Arguments
    ---------
    data_folder : str
        Root of the audio (``{data_root}`` / ``$data_root`` in manifests;
        relative ``wav`` paths are relative to it).
    save_json_train : str
        Output training manifest.
    save_json_valid : str
        Output validation manifest.
    save_json_test : str
        Output test manifest.
    train_manifest : str
        Your training manifest (``.json`` or ``.csv``).
    test_manifest : str
        Your test manifest.
    valid_manifest : str, optional
        Your validation manifest; None holds out ``valid_ratio`` of train.
    valid_ratio : float
        Share of training items held out when there is no validation
        manifest (0 < ratio < 1).
    description_key : str
        Field (column) of your manifests holding the descriptions.
    separator : str
        Separator of several descriptions in a CSV cell.
    skip_prep : bool
        If True, do nothing.

    Returns
    -------
    dict or None
        Items per split (``train``, ``valid``, ``test``), distinct
        descriptions per split (``descriptions``), metadata fields
        (``fields``) and skipped items per split and reason (``skipped``);
        None when nothing was done.

    Example
    -------
    >>> from tests.fake_data import make_fake_descriptions
    >>> tmp = getfixture("tmp_path")
    >>> root = make_fake_descriptions(tmp / "mydata")
    >>> out = [str(tmp / f"{split}.json") for split in ("tr", "va", "te")]
    >>> summary = prepare_descriptions(
    ...     root, *out, train_manifest=f"{root}/train.json",
    ...     test_manifest=f"{root}/test.csv")
    >>> summary["train"], summary["valid"], summary["test"]
    (11, 1, 4)
    >>> summary["skipped"]["test"], summary["fields"]
    ({'missing_audio': 1}, ['gender', 'phonation', 'tags'])
    """
    if skip_prep:
        return None
    outputs = {
        "train": save_json_train,
        "valid": save_json_valid,
        "test": save_json_test,
    }
    if outputs_exist(outputs.values()):
        return None
    data_folder = os.fspath(data_folder)
    if not os.path.isdir(data_folder):
        raise FileNotFoundError(f"Data folder not found: {data_folder}")
    if not 0 < valid_ratio < 1:
        raise ValueError(f"valid_ratio must be in (0, 1), got {valid_ratio}")
    sources = {"train": train_manifest, "test": test_manifest}
    if valid_manifest:
        sources["valid"] = valid_manifest
    raw = {
        split: read_description_manifest(path, description_key, separator)
        for split, path in sources.items()
    }
    if "valid" not in raw:
        raw["train"], raw["valid"] = _hold_out(raw["train"], valid_ratio)
        logger.info(
            f"No validation manifest: {len(raw['valid'])} of "
            f"{len(raw['train']) + len(raw['valid'])} training items held out "
            f"(valid_ratio={valid_ratio})"
        )
    fields = sorted(
        {key for items in raw.values() for it in items.values() for key in it}
        - {"wav", "start", "stop", "duration", "descriptions"}
    )
    summary = {"descriptions": {}, "skipped": {}, "fields": fields}
    for split in ("train", "valid", "test"):
        manifest, counts = _check_split(raw[split], data_folder, fields)
        if not manifest:
            source = sources.get(split, train_manifest)
            raise ManifestError(
                f"No usable item in the {split} split ({source}): "
                f"{format_counts(counts)}"
            )
        save_manifest(manifest, outputs[split])
        texts = {d for item in manifest.values() for d in item["descriptions"]}
        summary[split] = len(manifest)
        summary["descriptions"][split] = len(texts)
        summary["skipped"][split] = counts
        message = (
            f"{split}: {len(manifest)} recordings, {len(texts)} distinct "
            f"descriptions -> {outputs[split]}"
        )
        if counts:
            message += f" (skipped: {format_counts(counts)})"
        logger.info(message)
    if fields:
        logger.info(f"Metadata fields: {', '.join(fields)}")
    return summary


def _hold_out(items, ratio):
    """(train, valid): the items whose id hash falls under ``ratio``."""

    def score(item_id):
        """The id's position in [0, 1] (a stable hash)."""
        digest = hashlib.sha1(item_id.encode("utf-8")).hexdigest()
        return int(digest[:8], 16) / 0xFFFFFFFF

    ranked = sorted(items, key=score)
    num_valid = min(len(items) - 1, max(1, round(ratio * len(items))))
    if num_valid < 1:
        raise ManifestError(
            "The training manifest needs at least 2 items to hold some out "
            "for validation (or give a validation manifest)"
        )
    held = set(ranked[:num_valid])
    train = {k: v for k, v in items.items() if k not in held}
    valid = {k: v for k, v in items.items() if k in held}
    return train, valid


def _resolve(wav, data_folder):
    """(manifest value, real path) of an item's ``wav``."""
    if PLACEHOLDER in wav:
        return wav, wav.replace(PLACEHOLDER, data_folder)
    if os.path.isabs(wav):
        return wav, wav
    return f"{PLACEHOLDER}/{wav}", os.path.join(data_folder, wav)


def _check_split(items, data_folder, fields):
    """The output manifest of a split and the counts of skipped items."""
    manifest, counts = {}, {}

    def skip(reason, item_id, detail):
        """Counts a skipped item and logs the first ones of each reason."""
        counts[reason] = counts.get(reason, 0) + 1
        if counts[reason] <= 3:
            logger.warning(f"Skipping {item_id!r} ({reason}): {detail}")

    for item_id, item in items.items():
        wav, path = _resolve(item["wav"], data_folder)
        if not os.path.isfile(path):
            skip("missing_audio", item_id, path)
            continue
        try:
            file_duration = get_duration(path)
        except AudioError as err:
            skip("unreadable_audio", item_id, err)
            continue
        start, stop = item["start"], item["stop"]
        if start is not None and start >= file_duration:
            skip("segment_outside_audio", item_id, f"start {start} s")
            continue
        end = file_duration if stop is None else min(stop, file_duration)
        duration = item["duration"]
        if duration is None:
            duration = end - (start or 0.0)
        out = {
            "wav": wav,
            "start": start,
            "stop": stop,
            "duration": round(float(duration), 3),
            "descriptions": item["descriptions"],
        }
        for field in fields:
            out[field] = item.get(field)
        manifest[item_id] = out
    return manifest, counts

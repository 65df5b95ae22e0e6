"""Data preparation for Clotho v2.1 (text-audio retrieval).

Clotho v2.1 (Drossos, Lipping and Virtanen, ICASSP 2020; Zenodo 4783391)
holds 15-30 s Freesound clips at 44.1 kHz with 5 captions each::

    <data_folder>/
        clotho_captions_{development,validation,evaluation}.csv
            file_name,caption_1,...,caption_5        (utf-8)
        clotho_metadata_{development,validation,evaluation}.csv
            file_name,keywords,sound_id,sound_link,start_end_samples,
            manufacturer,license                     (ISO-8859-1)
        development/  validation/  evaluation/       (the wavs)

The development split is the training set, validation the validation set
and evaluation the test set (as in the seed and DCASE). One manifest item
per clip, keyed by the file name without ``.wav``::

    {"Rain on roof": {"wav": "{data_root}/development/Rain on roof.wav",
      "duration": 21.3, "start": null, "stop": null, "channel": null,
      "captions": [5 str], "file_name": "Rain on roof.wav",
      "split": "development", "keywords": ["rain", "roof"],
      "sound_id": "1001", "license": "...", "dataset": "clotho",
      "language": "en"}}

Rows whose wav is missing or unreadable, and wavs that no caption row
lists, are counted and logged (never dropped silently); the counts are in
the returned summary.

Authors
 * speechbrain-style contributors 2026
"""

import csv
import os

from speechbrain.utils.logger import get_logger

from speechbrain_style.dataio.audio import AudioError, get_duration
from speechbrain_style.dataio.manifest import (
    format_counts,
    outputs_exist,
    save_manifest,
)

logger = get_logger(__name__)

CLOTHO_SPLITS = {
    "train": "development",
    "valid": "validation",
    "test": "evaluation",
}
"""Manifest -> Clotho split."""

NUM_CAPTIONS = 5
CAPTION_COLUMNS = [f"caption_{i}" for i in range(1, NUM_CAPTIONS + 1)]
METADATA_ENCODING = "ISO-8859-1"


def prepare_clotho(
    data_folder,
    save_json_train,
    save_json_valid,
    save_json_test,
    skip_prep=False,
):
    """Writes the train/valid/test manifests of Clotho v2.1.

    Arguments
    ---------
    data_folder : str
        The Clotho folder (captions/metadata csvs and the split folders).
    save_json_train : str
        Manifest of the development split.
    save_json_valid : str
        Manifest of the validation split.
    save_json_test : str
        Manifest of the evaluation split.
    skip_prep : bool
        If True, do nothing.

    Returns
    -------
    dict or None
        Summary: clips per split (``train``, ``valid``, ``test``), captions
        per split (``captions``) and what was skipped and why
        (``skipped``); None when nothing was done.

    Raises
    ------
    FileNotFoundError
        If ``data_folder``, a captions csv or a split folder is missing.
    ValueError
        If a captions csv does not have Clotho's columns.

    Example
    -------
    >>> from tests.fake_data import make_fake_clotho
    >>> tmp = getfixture("tmp_path")
    >>> root = make_fake_clotho(tmp / "clotho")
    >>> out = [str(tmp / f"{split}.json") for split in ("tr", "va", "te")]
    >>> summary = prepare_clotho(root, *out)
    >>> summary["train"], summary["valid"], summary["test"]
    (6, 3, 3)
    >>> summary["skipped"]["train"]
    {'audio_without_captions': 1}
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
    _check_data_folder(data_folder)
    summary = {"captions": {}, "skipped": {}}
    for key, split in CLOTHO_SPLITS.items():
        manifest, counts = _prepare_split(data_folder, split)
        save_manifest(manifest, outputs[key])
        summary[key] = len(manifest)
        summary["captions"][key] = sum(
            len(item["captions"]) for item in manifest.values()
        )
        summary["skipped"][key] = counts
        message = (
            f"Clotho {split}: {len(manifest)} clips, "
            f"{summary['captions'][key]} captions -> {outputs[key]}"
        )
        if counts:
            message += f" (skipped or incomplete: {format_counts(counts)})"
        logger.info(message)
    return summary


def _check_data_folder(data_folder):
    """Raises naming the path when ``data_folder`` is not Clotho v2."""
    if not os.path.isdir(data_folder):
        raise FileNotFoundError(f"Clotho data folder not found: {data_folder}")
    for split in CLOTHO_SPLITS.values():
        path = os.path.join(data_folder, f"clotho_captions_{split}.csv")
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"{data_folder} is not a Clotho v2 folder: {path} is missing "
                "(expected clotho_captions_{development,validation,"
                "evaluation}.csv and the split folders)"
            )
        folder = os.path.join(data_folder, split)
        if not os.path.isdir(folder):
            raise FileNotFoundError(
                f"Clotho audio folder not found: {folder} (extract "
                f"clotho_audio_{split}.7z into {data_folder})"
            )


def _read_csv(path, encoding):
    """Rows of a csv as dicts; utf-8 files that fail fall back to Latin-1."""
    try:
        with open(path, encoding=encoding, newline="") as fin:
            return list(csv.DictReader(fin))
    except UnicodeDecodeError:
        if encoding == METADATA_ENCODING:
            raise
        logger.warning(f"{path} is not {encoding}; reading it as ISO-8859-1")
        with open(path, encoding=METADATA_ENCODING, newline="") as fin:
            return list(csv.DictReader(fin))


def _read_captions(path, counts):
    """{file_name: [captions]} of a captions csv, in file order."""
    rows = _read_csv(path, "utf-8-sig")
    if not rows:
        return {}
    missing = [c for c in ["file_name", *CAPTION_COLUMNS] if c not in rows[0]]
    if missing:
        raise ValueError(
            f"{path} is not a Clotho captions file: missing columns {missing}"
            f" (found {list(rows[0])})"
        )
    captions = {}
    for row in rows:
        name = (row["file_name"] or "").strip()
        texts = [
            " ".join((row[c] or "").split())
            for c in CAPTION_COLUMNS
            if (row[c] or "").strip()
        ]
        if not name:
            counts["rows_without_file_name"] = (
                counts.get("rows_without_file_name", 0) + 1
            )
            continue
        if name in captions:
            counts["duplicate_rows"] = counts.get("duplicate_rows", 0) + 1
            logger.warning(f"{path}: duplicate row for {name!r}, first kept")
            continue
        if not texts:
            counts["rows_without_captions"] = (
                counts.get("rows_without_captions", 0) + 1
            )
            continue
        if len(texts) < NUM_CAPTIONS:
            counts["clips_with_fewer_captions"] = (
                counts.get("clips_with_fewer_captions", 0) + 1
            )
        captions[name] = texts
    return captions


def _read_metadata(path):
    """{file_name: row} of a metadata csv (ISO-8859-1), {} if absent."""
    if not os.path.isfile(path):
        logger.warning(f"No Clotho metadata file {path}: no keywords")
        return {}
    return {
        (row.get("file_name") or "").strip(): row
        for row in _read_csv(path, METADATA_ENCODING)
    }


def _prepare_split(data_folder, split):
    """The manifest of one split and the counts of what was skipped."""
    counts = {}
    captions = _read_captions(
        os.path.join(data_folder, f"clotho_captions_{split}.csv"), counts
    )
    metadata = _read_metadata(
        os.path.join(data_folder, f"clotho_metadata_{split}.csv")
    )
    folder = os.path.join(data_folder, split)
    manifest, problems = {}, {}
    for name, texts in captions.items():
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            problems.setdefault("missing_audio", []).append(name)
            continue
        try:
            duration = get_duration(path)
        except AudioError as err:
            problems.setdefault("unreadable_audio", []).append(name)
            logger.warning(str(err))
            continue
        meta = metadata.get(name, {})
        keywords = [k.strip() for k in (meta.get("keywords") or "").split(";")]
        manifest[os.path.splitext(name)[0]] = {
            "wav": "{data_root}/" + f"{split}/{name}",
            "duration": round(duration, 3),
            "start": None,
            "stop": None,
            "channel": None,
            "captions": texts,
            "file_name": name,
            "split": split,
            "keywords": [k for k in keywords if k],
            "sound_id": meta.get("sound_id"),
            "license": meta.get("license"),
            "dataset": "clotho",
            "language": "en",
        }
    listed = set(captions)
    orphans = sorted(
        f
        for f in os.listdir(folder)
        if f.lower().endswith(".wav") and f not in listed
    )
    if orphans:
        problems["audio_without_captions"] = orphans
    for reason, names in problems.items():
        counts[reason] = len(names)
        logger.warning(
            f"Clotho {split}: {len(names)} clips skipped ({reason}), e.g. "
            f"{names[:3]}"
        )
    return manifest, counts

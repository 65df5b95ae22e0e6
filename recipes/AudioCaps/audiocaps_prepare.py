"""Data preparation for AudioCaps (text-audio retrieval).

AudioCaps (Kim, Kim, Lee and Kim, NAACL 2019, github.com/cdjkim/audiocaps)
distributes captions only: ``{train,val,test}.csv`` with the columns
``audiocap_id,youtube_id,start_time,caption`` (one caption per training
clip, five per validation and test clip). The audio is the 10-s segment of
the YouTube video starting at ``start_time``; it is not distributed, and
some videos are no longer available. The recipe therefore takes a folder of
already-downloaded clips named by YouTube id::

    <data_folder>/dataset/{train,val,test}.csv   (or <data_folder>/*.csv)
    <audio_folder>/<youtube_id>.wav              (default <data_folder>/audio;
                                                  also Y<youtube_id>.wav,
                                                  .flac/.ogg, subfolders)

One manifest item per clip, keyed by its YouTube id::

    {"r1nicOVtvkQ": {"wav": "{data_root}/audio/r1nicOVtvkQ.wav",
      "duration": 10.0, "start": null, "stop": null, "channel": null,
      "captions": ["A woman talks nearby as water pours"],
      "audiocap_ids": ["91139"], "youtube_id": "r1nicOVtvkQ",
      "start_time": 130.0, "dataset": "audiocaps", "language": "en"}}

Clips with no downloaded file (or an unreadable one) are counted and
logged per split, with their ids, and listed in the returned summary:
never dropped silently. A wav outside ``data_folder`` is written with its
absolute path.

Authors
 * speechbrain-style contributors 2026
"""

import csv
import os

from speechbrain.utils.logger import get_logger

from speechbrain_style.dataio.audio import (
    AUDIO_EXTENSIONS,
    AudioError,
    get_duration,
)
from speechbrain_style.dataio.manifest import (
    format_counts,
    outputs_exist,
    save_manifest,
)

logger = get_logger(__name__)

AUDIOCAPS_SPLITS = {"train": "train", "valid": "val", "test": "test"}
"""Manifest -> AudioCaps csv name."""

COLUMNS = ("audiocap_id", "youtube_id", "start_time", "caption")


def prepare_audiocaps(
    data_folder,
    save_json_train,
    save_json_valid,
    save_json_test,
    audio_folder=None,
    skip_prep=False,
):
    """Writes the train/valid/test manifests of AudioCaps.

    Arguments
    ---------
    data_folder : str
        Folder holding ``dataset/{train,val,test}.csv`` (the AudioCaps
        repository layout) or ``{train,val,test}.csv``.
    save_json_train : str
        Manifest of the training clips.
    save_json_valid : str
        Manifest of the validation clips.
    save_json_test : str
        Manifest of the test clips.
    audio_folder : str, optional
        Folder of downloaded clips named by YouTube id (searched
        recursively); default ``<data_folder>/audio``.
    skip_prep : bool
        If True, do nothing.

    Returns
    -------
    dict or None
        Summary: clips per split (``train``, ``valid``, ``test``), captions
        per split (``captions``), counts of what was skipped and why
        (``skipped``) and the missing YouTube ids (``missing``); None when
        nothing was done.

    Raises
    ------
    FileNotFoundError
        If ``data_folder``, a csv or ``audio_folder`` is missing.
    ValueError
        If a csv lacks AudioCaps' columns, or two files in the audio folder
        claim the same YouTube id.

    Example
    -------
    >>> from tests.fake_data import make_fake_audiocaps
    >>> tmp = getfixture("tmp_path")
    >>> root = make_fake_audiocaps(tmp / "audiocaps")
    >>> out = [str(tmp / f"{split}.json") for split in ("tr", "va", "te")]
    >>> summary = prepare_audiocaps(root, *out)
    >>> summary["train"], summary["valid"], summary["test"]
    (6, 3, 3)
    >>> summary["missing"]["test"]
    ['zzMissing02']
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
    data_folder = os.path.abspath(os.fspath(data_folder))
    csv_paths = _find_csvs(data_folder)
    if audio_folder is None:
        audio_folder = os.path.join(data_folder, "audio")
    audio_folder = os.path.abspath(os.fspath(audio_folder))
    if not os.path.isdir(audio_folder):
        raise FileNotFoundError(
            f"AudioCaps audio folder not found: {audio_folder} (a folder of "
            "downloaded clips named <youtube_id>.wav; set audio_folder)"
        )
    audio_index = _index_audio(audio_folder)
    logger.info(f"{len(audio_index)} audio files found in {audio_folder}")
    summary = {"captions": {}, "skipped": {}, "missing": {}}
    for key, split in AUDIOCAPS_SPLITS.items():
        manifest, counts, missing = _prepare_split(
            csv_paths[split], audio_index, data_folder
        )
        save_manifest(manifest, outputs[key])
        summary[key] = len(manifest)
        summary["captions"][key] = sum(
            len(item["captions"]) for item in manifest.values()
        )
        summary["skipped"][key] = counts
        summary["missing"][key] = missing
        message = (
            f"AudioCaps {split}: {len(manifest)} clips, "
            f"{summary['captions'][key]} captions -> {outputs[key]}"
        )
        if counts:
            message += f" (skipped: {format_counts(counts)})"
        logger.info(message)
    return summary


def _find_csvs(data_folder):
    """{split: csv path}, from ``dataset/`` or the folder itself."""
    if not os.path.isdir(data_folder):
        raise FileNotFoundError(
            f"AudioCaps data folder not found: {data_folder}"
        )
    paths = {}
    for split in AUDIOCAPS_SPLITS.values():
        candidates = [
            os.path.join(data_folder, "dataset", f"{split}.csv"),
            os.path.join(data_folder, f"{split}.csv"),
        ]
        found = [path for path in candidates if os.path.isfile(path)]
        if not found:
            raise FileNotFoundError(
                f"{data_folder} is not an AudioCaps folder: no {split}.csv in"
                f" it or in its dataset/ subfolder (looked for {candidates})"
            )
        paths[split] = found[0]
    return paths


def _index_audio(audio_folder):
    """{file stem: path} of the audio files under ``audio_folder``."""
    index = {}
    for folder, _, files in sorted(os.walk(audio_folder)):
        for name in sorted(files):
            stem, ext = os.path.splitext(name)
            if ext.lower() not in AUDIO_EXTENSIONS:
                continue
            path = os.path.join(folder, name)
            if stem in index:
                raise ValueError(
                    f"Two audio files for the same clip {stem!r}: "
                    f"{index[stem]} and {path}"
                )
            index[stem] = path
    return index


def _lookup(audio_index, youtube_id):
    """The downloaded file of a clip (``<id>`` or AudioSet's ``Y<id>``)."""
    return audio_index.get(youtube_id) or audio_index.get(f"Y{youtube_id}")


def _read_rows(path, counts):
    """{youtube_id: {"captions", "audiocap_ids", "start_time"}} of a csv."""
    with open(path, encoding="utf-8-sig", newline="") as fin:
        reader = csv.DictReader(fin)
        fields = reader.fieldnames or []
        missing = [c for c in COLUMNS if c not in fields]
        if missing:
            raise ValueError(
                f"{path} is not an AudioCaps csv: missing columns {missing} "
                f"(found {fields})"
            )
        clips = {}
        for line, row in enumerate(reader, start=2):
            youtube_id = (row["youtube_id"] or "").strip()
            caption = " ".join((row["caption"] or "").split())
            try:
                start_time = float(row["start_time"])
            except (TypeError, ValueError):
                start_time = None
            if not youtube_id or not caption or start_time is None:
                counts["bad_rows"] = counts.get("bad_rows", 0) + 1
                logger.warning(f"{path}:{line}: bad row {row}, skipped")
                continue
            clip = clips.setdefault(
                youtube_id,
                {"captions": [], "audiocap_ids": [], "start_time": start_time},
            )
            if clip["start_time"] != start_time:
                counts["conflicting_start_times"] = (
                    counts.get("conflicting_start_times", 0) + 1
                )
            clip["captions"].append(caption)
            clip["audiocap_ids"].append(row["audiocap_id"].strip())
    return clips


def _prepare_split(csv_path, audio_index, data_folder):
    """Manifest, skip counts and missing ids of one split."""
    counts = {}
    clips = _read_rows(csv_path, counts)
    manifest, missing, unreadable = {}, [], []
    for youtube_id, clip in clips.items():
        path = _lookup(audio_index, youtube_id)
        if path is None:
            missing.append(youtube_id)
            continue
        try:
            duration = get_duration(path)
        except AudioError as err:
            unreadable.append(youtube_id)
            logger.warning(str(err))
            continue
        relative = os.path.relpath(path, data_folder)
        if relative.startswith(os.pardir):
            wav = path
        else:
            wav = "{data_root}/" + relative.replace(os.sep, "/")
        manifest[youtube_id] = {
            "wav": wav,
            "duration": round(duration, 3),
            "start": None,
            "stop": None,
            "channel": None,
            "captions": clip["captions"],
            "audiocap_ids": clip["audiocap_ids"],
            "youtube_id": youtube_id,
            "start_time": clip["start_time"],
            "dataset": "audiocaps",
            "language": "en",
        }
    for reason, ids in (
        ("missing_audio", missing),
        ("unreadable_audio", unreadable),
    ):
        if ids:
            counts[reason] = len(ids)
            logger.warning(
                f"AudioCaps {os.path.basename(csv_path)}: {len(ids)} of "
                f"{len(clips)} clips skipped ({reason}), e.g. {ids[:5]}"
            )
    return manifest, counts, missing + unreadable

"""Data preparation for MSP-Podcast (dimensional emotion: valence/arousal).

Reads a MSP-Podcast release (UT Dallas licence):

* ``Audios/*.wav``: one 16 kHz wav per speaking turn (some zip archives
  unpack to ``Audios/Audios/*.wav``; both are accepted);
* ``Labels/labels_consensus.csv`` (older releases:
  ``Labels/labels_concensus.csv``), with the columns
  ``FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set``.
  Arousal (``EmoAct``), valence (``EmoVal``) and dominance (``EmoDom``) are
  consensus scores on 1-7; ``EmoClass`` is a consensus category code,
  mapped to a lowercase word (``EMOTION_CLASSES``: A angry, H happy, S sad,
  N neutral, U surprised, F fearful, D disgusted, C contempt, O other,
  X no-agreement); ``Split_Set`` is Train, Development (older releases:
  Validation), Test1, Test2 or Test3.

Splits: Train -> train, Development / Validation -> valid, and the test
set chosen by ``test_set`` -> test. The rows of the other test sets are
skipped and counted, as are rows with an unknown split, rows with an
unreadable label (unknown EmoClass code, non-numeric A/V/D), duplicates
and rows whose wav is missing or unreadable. Every count is logged and
returned.

Manifest fields: the common ones (``wav``, ``duration``, ``start``,
``stop``, ``channel``, ``style`` (the class word), ``spk_id`` (SpkrID as
written, "Unknown" included), ``gender`` ("male", "female" or None),
``transcript`` (always ""), ``language`` ("en"), ``dataset``
("msp_podcast")), plus ``valence``, ``arousal``, ``dominance`` (floats,
1-7), ``emotion_code`` (the EmoClass letter) and ``split_set`` (the
Split_Set value).

Authors
 * speechbrain-style contributors 2026
"""

import csv
import math
import os
from collections import Counter

import soundfile as sf
from speechbrain.utils.logger import get_logger

from speechbrain_style.dataio.manifest import outputs_exist, save_manifest

logger = get_logger(__name__)

SAMPLE_RATE = 16000
LABEL_FILES = ("labels_consensus.csv", "labels_concensus.csv")
COLUMNS = (
    "FileName",
    "EmoClass",
    "EmoAct",
    "EmoVal",
    "EmoDom",
    "SpkrID",
    "Gender",
    "Split_Set",
)
EMOTION_CLASSES = {
    "A": "angry",
    "H": "happy",
    "S": "sad",
    "N": "neutral",
    "U": "surprised",
    "F": "fearful",
    "D": "disgusted",
    "C": "contempt",
    "O": "other",
    "X": "no-agreement",
}
TRAIN_SETS = ("Train",)
VALID_SETS = ("Development", "Validation")
TEST_SETS = ("Test1", "Test2", "Test3")
GENDERS = {"male": "male", "m": "male", "female": "female", "f": "female"}


def prepare_msp_podcast(
    data_folder,
    save_json_train,
    save_json_valid,
    save_json_test,
    test_set="Test1",
    skip_prep=False,
):
    """Writes the MSP-Podcast train / valid / test manifests.

    Arguments
    ---------
    data_folder : str
        The release folder, holding ``Audios`` and ``Labels``. The
        manifests' ``wav`` paths are relative to it, as ``{data_root}/...``.
    save_json_train : str
        Path of the training manifest (Split_Set "Train").
    save_json_valid : str
        Path of the validation manifest ("Development" or "Validation").
    save_json_test : str
        Path of the test manifest (Split_Set ``test_set``).
    test_set : str
        "Test1", "Test2" or "Test3": the test set written; the rows of the
        other two are skipped (and counted).
    skip_prep : bool
        If True, do nothing.

    Returns
    -------
    dict or None
        None if preparation was skipped; otherwise a summary
        ``{"counts": {"train": n, "valid": n, "test": n},
        "skipped": {"split": {split_set: n}, "bad_label": n,
        "missing_wav": n, "unreadable_wav": n, "duplicate": n}}``.

    Raises
    ------
    ValueError
        If ``test_set`` is invalid, if ``data_folder`` is not a MSP-Podcast
        release (the message names the path), if the label file lacks a
        column, or if a split would be empty.

    Example
    -------
    >>> import tempfile
    >>> tmp = tempfile.mkdtemp()
    >>> prepare_msp_podcast(tmp, "a.json", "b.json", "c.json", skip_prep=True)
    """
    if skip_prep:
        return None
    outputs = (save_json_train, save_json_valid, save_json_test)
    if outputs_exist(outputs):
        return None
    if test_set not in TEST_SETS:
        raise ValueError(
            f"test_set must be one of {TEST_SETS}, got {test_set!r}"
        )

    label_file = _find_label_file(data_folder)
    audio_rel = _find_audio_folder(data_folder)
    splits_of = dict.fromkeys(TRAIN_SETS, "train")
    splits_of.update(dict.fromkeys(VALID_SETS, "valid"))
    splits_of[test_set] = "test"

    stats = {
        "split": Counter(),
        "bad_label": 0,
        "missing_wav": 0,
        "unreadable_wav": 0,
        "duplicate": 0,
    }
    manifests = {"train": {}, "valid": {}, "test": {}}
    seen = set()
    for line_number, row in _read_labels(label_file):
        split_set = row["Split_Set"]
        name = row["FileName"]
        utt_id = name[:-4] if name.lower().endswith(".wav") else name
        if utt_id in seen:
            stats["duplicate"] += 1
            logger.warning(
                f"Duplicate FileName {name} in {label_file} line "
                f"{line_number}, kept the first"
            )
            continue
        seen.add(utt_id)
        if split_set not in splits_of:
            stats["split"][split_set or "<empty>"] += 1
            continue
        labels = _parse_labels(row)
        if labels is None:
            stats["bad_label"] += 1
            logger.warning(
                f"Unreadable labels in {label_file} line {line_number}: "
                f"{dict(row)}, skipped"
            )
            continue
        wav_rel = f"{audio_rel}/{utt_id}.wav"
        wav_path = os.path.join(data_folder, *wav_rel.split("/"))
        if not os.path.isfile(wav_path):
            stats["missing_wav"] += 1
            logger.warning(f"Missing wav for labelled file: {wav_path}")
            continue
        try:
            info = sf.info(wav_path)
        except (RuntimeError, OSError) as error:
            stats["unreadable_wav"] += 1
            logger.warning(f"Unreadable wav {wav_path}: {error}")
            continue
        if info.samplerate != SAMPLE_RATE:
            logger.warning(
                f"{wav_path} is at {info.samplerate} Hz, not {SAMPLE_RATE}"
            )
        code, arousal, valence, dominance = labels
        manifests[splits_of[split_set]][utt_id] = {
            "wav": "{data_root}/" + wav_rel,
            "duration": info.frames / info.samplerate,
            "start": None,
            "stop": None,
            "channel": None,
            "style": EMOTION_CLASSES[code],
            "emotion_code": code,
            "spk_id": row["SpkrID"] or "Unknown",
            "gender": GENDERS.get(row["Gender"].lower()),
            "transcript": "",
            "language": "en",
            "dataset": "msp_podcast",
            "split_set": split_set,
            "valence": valence,
            "arousal": arousal,
            "dominance": dominance,
        }

    for split, manifest in manifests.items():
        if not manifest:
            raise ValueError(
                f"The {split} split of {data_folder} is empty "
                f"(test_set={test_set!r}, labels {label_file})"
            )
    for path, split in zip(outputs, ("train", "valid", "test"), strict=True):
        _write_json(path, dict(sorted(manifests[split].items())))

    stats["split"] = dict(sorted(stats["split"].items()))
    summary = {
        "counts": {split: len(m) for split, m in manifests.items()},
        "skipped": stats,
    }
    logger.info(
        f"MSP-Podcast (test set {test_set}): {summary['counts']}; skipped "
        f"by split: {stats['split']}; bad labels: {stats['bad_label']}; "
        f"missing wavs: {stats['missing_wav']}; unreadable wavs: "
        f"{stats['unreadable_wav']}; duplicates: {stats['duplicate']}"
    )
    return summary


def _find_label_file(data_folder):
    """The consensus label file (either spelling) of the release."""
    labels_dir = os.path.join(data_folder, "Labels")
    for name in LABEL_FILES:
        path = os.path.join(labels_dir, name)
        if os.path.isfile(path):
            return path
    raise ValueError(
        f"{data_folder} is not a MSP-Podcast release: expected "
        f"{os.path.join(labels_dir, LABEL_FILES[0])} (or "
        f"{LABEL_FILES[1]}, as in older releases)"
    )


def _find_audio_folder(data_folder):
    """``Audios`` or, for nested archives, ``Audios/Audios`` (relative)."""
    audios = os.path.join(data_folder, "Audios")
    if not os.path.isdir(audios):
        raise ValueError(
            f"{data_folder} is not a MSP-Podcast release: {audios} is missing"
        )
    nested = os.path.join(audios, "Audios")
    if os.path.isdir(nested):
        return "Audios/Audios"
    return "Audios"


def _read_labels(path):
    """Yields ``(line_number, row)`` with stripped keys and values."""
    with open(path, encoding="utf-8-sig", newline="") as fin:
        reader = csv.reader(fin)
        header = [name.strip() for name in next(reader, [])]
        missing = [name for name in COLUMNS if name not in header]
        if missing:
            raise ValueError(
                f"{path} lacks the column(s) {missing} (header: {header})"
            )
        for line_number, values in enumerate(reader, start=2):
            if not any(value.strip() for value in values):
                continue
            values = values + [""] * (len(header) - len(values))
            yield (
                line_number,
                {
                    key: value.strip()
                    for key, value in zip(header, values, strict=False)
                },
            )


def _parse_labels(row):
    """``(code, arousal, valence, dominance)`` or None if unreadable."""
    code = row["EmoClass"].upper()
    if code not in EMOTION_CLASSES:
        return None
    values = []
    for column in ("EmoAct", "EmoVal", "EmoDom"):
        try:
            value = float(row[column])
        except ValueError:
            return None
        if not math.isfinite(value):
            return None
        values.append(value)
    return (code, *values)


def _write_json(path, manifest):
    """Writes a SpeechBrain JSON manifest, creating its folder."""
    save_manifest(manifest, path, ensure_ascii=True)
    logger.info(f"Wrote {len(manifest)} items to {path}")

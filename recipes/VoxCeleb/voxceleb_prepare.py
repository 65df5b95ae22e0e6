"""Data preparation for VoxCeleb1 (speaker-text retrieval).

VoxCeleb1 (Nagrani et al., "VoxCeleb: a large-scale speaker identification
dataset", Interspeech 2017; https://www.robots.ox.ac.uk/~vgg/data/voxceleb/)
holds 153,516 utterances of 1,251 celebrities cut from YouTube interviews,
16 kHz mono::

    <data_folder>/
      vox1_meta.csv               VoxCeleb1 ID<TAB>VGGFace1 ID<TAB>Gender
                                  <TAB>Nationality<TAB>Set
      wav/id10001/1zcIwhmdeo4/00001.wav
      ...

(``vox1_dev_wav.zip`` and ``vox1_test_wav.zip`` both extract into ``wav/``.)
The metadata file is read tolerantly: fields are tab-separated, surrounding
and trailing whitespace is ignored, and lines that cannot be parsed are
counted and logged.

Split (the speaker-text retrieval paper, which follows the VoxCeleb1
verification protocol): the 40 speakers with Set "test" (id10270-id10309)
form the test manifest, which is both the search database and the query
set at evaluation. The 1,211 "dev" speakers are used for training; the
validation manifest takes, for every dev speaker, the last
``round(valid_ratio * n_videos)`` of their videos in sorted order (at least
one when the speaker has two videos or more and ``valid_ratio > 0``, never
all of them). Validation speakers are therefore SEEN in training (other
videos of the same people): validation measures fit on unseen recordings,
not generalisation to new speakers, which only the test set measures.

Speakers with audio but no metadata line, and metadata lines without
audio, are counted and logged; the former are skipped (no split or
description can be given to them).

Every item has ``wav`` ("{data_root}/wav/..."), ``duration`` (from the
header), ``start``/``stop``/``channel`` (null), ``spk_id``, ``gender``
("male"/"female"), ``nationality`` (as in the metadata, e.g. "Ireland"),
``name`` (the VGGFace1 ID with spaces: "A.J. Buckley"), ``video``,
``dataset`` ("voxceleb1"), ``language`` ("en"), and, for compatibility
with the style manifests, ``transcript`` (""), ``style`` and
``valence``/``arousal``/``dominance`` (null).

Authors
 * speechbrain-style contributors 2026
"""

import os
import re
from collections import Counter

import soundfile as sf
from speechbrain.utils.logger import get_logger

from speechbrain_style.dataio.manifest import (
    format_counts,
    outputs_exist,
    save_manifest,
)

logger = get_logger(__name__)

META_FILENAME = "vox1_meta.csv"
WAV_DIRNAME = "wav"
SAMPLE_RATE = 16000
TEST_SPEAKERS = tuple(f"id{n}" for n in range(10270, 10310))
SETS = ("dev", "test")
GENDERS = {"m": "male", "f": "female"}
SPEAKER_RE = re.compile(r"^id\d{5}$")
UTT_SEPARATOR = "--"
MAX_EXAMPLES = 5


def prepare_voxceleb(
    data_folder,
    save_json_train,
    save_json_valid,
    save_json_test,
    meta_file=None,
    valid_ratio=0.05,
    max_utts_per_speaker=None,
    skip_prep=False,
):
    """Writes the train/valid/test manifests of VoxCeleb1.

    Arguments
    ---------
    data_folder : str
        The VoxCeleb1 folder holding ``wav/`` (and usually
        ``vox1_meta.csv``).
    save_json_train : str
        Path of the training manifest (dev speakers).
    save_json_valid : str
        Path of the validation manifest (held-out videos of dev speakers).
    save_json_test : str
        Path of the test manifest (the 40 test speakers).
    meta_file : str, optional
        The metadata file; default ``<data_folder>/vox1_meta.csv``.
    valid_ratio : float
        Fraction of each dev speaker's videos kept for validation, in
        [0, 1).
    max_utts_per_speaker : int, optional
        At most this many utterances per speaker in each manifest, evenly
        spaced over the speaker's sorted utterances (so they span the
        videos); all when None.
    skip_prep : bool
        If True, do nothing.

    Returns
    -------
    dict or None
        A summary (items and speakers per split, and the counts of what was
        skipped), or None when nothing was done.

    Raises
    ------
    FileNotFoundError
        If ``data_folder`` or the metadata file does not exist.
    ValueError
        If ``data_folder`` is not VoxCeleb1, or on bad arguments.

    Example
    -------
    >>> from tests.fake_data import make_fake_voxceleb
    >>> tmp = getfixture("tmp_path")
    >>> root = make_fake_voxceleb(tmp / "vox1")
    >>> out = [str(tmp / f"{split}.json") for split in ("tr", "va", "te")]
    >>> summary = prepare_voxceleb(root, *out)
    >>> summary["train"], summary["valid"], summary["test"]
    (6, 6, 8)
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
    if isinstance(valid_ratio, bool) or not 0 <= valid_ratio < 1:
        raise ValueError(f"valid_ratio must be in [0, 1), got {valid_ratio!r}")
    if max_utts_per_speaker is not None and (
        isinstance(max_utts_per_speaker, bool)
        or not isinstance(max_utts_per_speaker, int)
        or max_utts_per_speaker < 1
    ):
        raise ValueError(
            "max_utts_per_speaker must be a positive int or None, got "
            f"{max_utts_per_speaker!r}"
        )

    data_folder = os.fspath(data_folder)
    wav_root = _check_folder(data_folder)
    meta_file = (
        os.path.join(data_folder, META_FILENAME)
        if meta_file is None
        else os.fspath(meta_file)
    )
    stats = Counter()
    meta = read_voxceleb_meta(meta_file, stats)
    audio_speakers = sorted(
        name
        for name in os.listdir(wav_root)
        if os.path.isdir(os.path.join(wav_root, name))
    )
    _check_speakers(audio_speakers, meta, wav_root, meta_file, stats)

    manifests = {split: {} for split in outputs}
    for spk_id in audio_speakers:
        if spk_id not in meta:
            continue
        _prepare_speaker(
            data_folder,
            wav_root,
            spk_id,
            meta[spk_id],
            valid_ratio,
            max_utts_per_speaker,
            manifests,
            stats,
        )

    for split, path in outputs.items():
        _write_json(manifests[split], path)
    summary = {split: len(items) for split, items in manifests.items()}
    for split, items in manifests.items():
        summary[f"{split}_speakers"] = len(
            {item["spk_id"] for item in items.values()}
        )
    summary["skipped"] = dict(stats)
    _log_summary(summary)
    return summary


def _check_folder(data_folder):
    """Returns the ``wav`` folder of VoxCeleb1, or raises naming the path."""
    if not os.path.isdir(data_folder):
        raise FileNotFoundError(
            f"VoxCeleb1 data_folder not found: {data_folder}"
        )
    wav_root = os.path.join(data_folder, WAV_DIRNAME)
    if os.path.isdir(wav_root) and any(
        SPEAKER_RE.match(name) and os.path.isdir(os.path.join(wav_root, name))
        for name in os.listdir(wav_root)
    ):
        return wav_root
    raise ValueError(
        f"{data_folder} does not look like VoxCeleb1: expected speaker "
        f"folders wav/id1xxxx/<video>/<nnnnn>.wav in '{wav_root}'"
    )


def read_voxceleb_meta(path, stats=None):
    """Reads ``vox1_meta.csv`` into ``{spk_id: {...}}``.

    Fields are tab-separated; whitespace around fields is ignored (the
    real file has trailing spaces). A line without tabs is split on runs of
    2+ spaces, then on single spaces when that gives exactly 5 fields. The
    header line is skipped; bad lines are counted in ``stats`` and logged.

    Arguments
    ---------
    path : str
        The metadata file.
    stats : collections.Counter, optional
        Counts of the problems found are added to it.

    Returns
    -------
    dict
        ``{spk_id: {"name", "gender", "nationality", "set"}}``.

    Example
    -------
    >>> path = getfixture("tmp_path") / "vox1_meta.csv"
    >>> _ = path.write_text(
    ...     "VoxCeleb1 ID\\tVGGFace1 ID\\tGender\\tNationality\\tSet\\n"
    ...     "id10001\\tA.J._Buckley\\tm\\tIreland\\tdev \\n"
    ...     "id10270\\tEartha_Kitt\\tf\\tUSA\\ttest\\n")
    >>> read_voxceleb_meta(str(path))["id10001"]
    {'name': 'A.J. Buckley', 'gender': 'male', 'nationality': 'Ireland', \
'set': 'dev'}
    """
    stats = Counter() if stats is None else stats
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"VoxCeleb1 metadata file not found: {path} (pass meta_file=...)"
        )
    with open(path, encoding="utf-8-sig", errors="replace") as fin:
        lines = fin.read().splitlines()
    meta, bad = {}, []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = _split_meta_line(line)
        if fields and fields[0].lower().startswith("voxceleb1 id"):
            continue
        problem = None
        if fields is None:
            problem = "not 5 fields"
        elif not SPEAKER_RE.match(fields[0]):
            problem = "bad speaker id"
        elif fields[0] in meta:
            problem = "duplicate speaker"
        elif fields[4].lower() not in SETS:
            problem = f"unknown set {fields[4]!r}"
        if problem is not None:
            bad.append(f"line {number} ({problem}): {line!r}"[:120])
            continue
        spk_id, name, gender, nationality, split = fields
        if gender.lower() not in GENDERS:
            stats["meta_unknown_gender"] += 1
        meta[spk_id] = {
            "name": name.replace("_", " ").strip(),
            "gender": GENDERS.get(gender.lower()),
            "nationality": nationality or None,
            "set": split.lower(),
        }
    if bad:
        stats["meta_bad_lines"] += len(bad)
        logger.warning(
            f"{path}: skipped {len(bad)} bad line(s), e.g. "
            + "; ".join(bad[:MAX_EXAMPLES])
        )
    if not meta:
        raise ValueError(
            f"{path} holds no VoxCeleb1 metadata line (expected "
            "'id10001<TAB>A.J._Buckley<TAB>m<TAB>Ireland<TAB>dev')"
        )
    return meta


def _split_meta_line(line):
    """The 5 stripped fields of a metadata line, or None."""
    line = line.strip()
    if "\t" in line:
        fields = [f.strip() for f in line.split("\t")]
    else:
        fields = re.split(r"\s{2,}", line)
        if len(fields) != 5:
            fields = line.split()
    fields = [re.sub(r"\s+", " ", f) for f in fields]
    while len(fields) > 5 and not fields[-1]:
        fields.pop()
    return fields if len(fields) == 5 else None


def _check_speakers(audio_speakers, meta, wav_root, meta_file, stats):
    """Counts and logs speakers missing on either side, and set mismatches."""
    no_meta = [s for s in audio_speakers if s not in meta]
    no_audio = sorted(set(meta) - set(audio_speakers))
    if no_meta:
        stats["speakers_without_meta"] = len(no_meta)
        logger.warning(
            f"{len(no_meta)} speaker folder(s) in {wav_root} have no line in "
            f"{meta_file} and are skipped: {', '.join(no_meta[:10])}"
        )
    if no_audio:
        stats["speakers_without_audio"] = len(no_audio)
        logger.warning(
            f"{len(no_audio)} speaker(s) of {meta_file} have no folder in "
            f"{wav_root}: {', '.join(no_audio[:10])}"
        )
    disagree = [
        s
        for s, info in meta.items()
        if (info["set"] == "test") != (s in TEST_SPEAKERS)
    ]
    if disagree:
        stats["set_disagrees_with_test_ids"] = len(disagree)
        logger.warning(
            f"{meta_file}: the Set of {len(disagree)} speaker(s) disagrees "
            "with the VoxCeleb1 test speakers id10270-id10309 (the file's "
            f"Set is used): {', '.join(sorted(disagree)[:10])}"
        )


def _num_valid_videos(num_videos, valid_ratio):
    """Videos kept for validation out of ``num_videos``.

    Example
    -------
    >>> [_num_valid_videos(n, 0.05) for n in (1, 2, 10, 30, 31)]
    [0, 1, 1, 2, 2]
    """
    if valid_ratio == 0 or num_videos < 2:
        return 0
    return min(max(1, round(valid_ratio * num_videos)), num_videos - 1)


def _evenly_spaced(items, limit):
    """At most ``limit`` items, evenly spaced over the list."""
    if limit is None or len(items) <= limit:
        return items
    return [items[(i * len(items)) // limit] for i in range(limit)]


def _prepare_speaker(
    data_folder,
    wav_root,
    spk_id,
    info,
    valid_ratio,
    max_utts_per_speaker,
    manifests,
    stats,
):
    """Adds one speaker's items to ``manifests`` (split -> items)."""
    spk_dir = os.path.join(wav_root, spk_id)
    videos = sorted(
        v
        for v in os.listdir(spk_dir)
        if os.path.isdir(os.path.join(spk_dir, v))
    )
    stray = [v for v in os.listdir(spk_dir) if v not in videos]
    if stray:
        stats["stray_files"] += len(stray)
        logger.warning(f"Unexpected files in {spk_dir} skipped: {stray[:5]}")
    if not videos:
        stats["speakers_without_wavs"] += 1
        logger.warning(f"No video folder in {spk_dir}")
        return
    if info["set"] == "test":
        video_split = dict.fromkeys(videos, "test")
    else:
        num_valid = _num_valid_videos(len(videos), valid_ratio)
        video_split = {
            video: "valid" if i >= len(videos) - num_valid else "train"
            for i, video in enumerate(videos)
        }
    utts = {"train": [], "valid": [], "test": []}
    for video in videos:
        video_dir = os.path.join(spk_dir, video)
        for name in sorted(os.listdir(video_dir)):
            path = os.path.join(video_dir, name)
            if not name.lower().endswith(".wav") or not os.path.isfile(path):
                stats["non_wav_files"] += 1
                continue
            utts[video_split[video]].append((video, name, path))
    for split, entries in utts.items():
        kept = _evenly_spaced(entries, max_utts_per_speaker)
        if len(kept) < len(entries):
            stats["utts_over_max_per_speaker"] += len(entries) - len(kept)
        for video, name, path in kept:
            _add_item(
                data_folder,
                spk_id,
                info,
                video,
                name,
                path,
                split,
                manifests,
                stats,
            )


def _add_item(
    data_folder, spk_id, info, video, name, path, split, manifests, stats
):
    try:
        header = sf.info(path)
    except (sf.SoundFileError, RuntimeError) as error:
        logger.warning(f"Unreadable VoxCeleb1 wav skipped: {path} ({error})")
        stats["unreadable_wavs"] += 1
        return
    if header.samplerate != SAMPLE_RATE:
        stats["wavs_not_16khz"] += 1
    stem = os.path.splitext(name)[0]
    utt_id = UTT_SEPARATOR.join((spk_id, video, stem))
    rel = os.path.relpath(path, data_folder).replace(os.sep, "/")
    manifests[split][utt_id] = {
        "wav": "{data_root}/" + rel,
        "duration": header.frames / header.samplerate,
        "start": None,
        "stop": None,
        "channel": None,
        "spk_id": spk_id,
        "gender": info["gender"],
        "nationality": info["nationality"],
        "name": info["name"],
        "video": video,
        "dataset": "voxceleb1",
        "language": "en",
        "transcript": "",
        "style": None,
        "valence": None,
        "arousal": None,
        "dominance": None,
    }


def _write_json(items, path):
    """Writes a manifest atomically (no partial file on interruption)."""
    save_manifest(items, path)
    logger.info(f"{path}: {len(items)} items")


def _log_summary(summary):
    """Logs what was written and what was skipped."""
    logger.info(
        "VoxCeleb1: "
        + ", ".join(
            f"{summary[s]} {s} items ({summary[s + '_speakers']} speakers)"
            for s in ("train", "valid", "test")
        )
    )
    if summary["skipped"]:
        logger.warning(
            "VoxCeleb1 preparation problems: "
            + format_counts(summary["skipped"])
        )

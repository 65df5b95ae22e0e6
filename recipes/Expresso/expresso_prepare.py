"""Data preparation for Expresso (read and improvised expressive speech).

Expresso (facebookresearch/textlesslib, examples/expresso; CC BY-NC 4.0) has
four actors (ex01-ex04) recorded at 48 kHz:

* read speech, mono: ``audio_48khz/read/{spk}/{style}/{base|longform}/``
  ``{spk}_{style|substyle}_{id:05d}.wav``, with transcripts in
  ``read_transcriptions.txt``;
* improvised dialogues, stereo with one actor per channel:
  ``audio_48khz/conversational/{spkL-spkR}/{styles}/``
  ``{spkL-spkR}_{styles}_{id:03d}.wav``. Channel 0 (``channel1`` in
  ``VAD_segments.txt``) holds the left speaker. A paired style folder such as
  ``sad-sympathetic`` gives the left speaker's style first.

The official split files ``splits/{train,dev,test}.txt`` list file names,
optionally with time bounds (``name<TAB>(start,end)``, either bound may be
empty): long dialogues are split by time between the sets. Each set only
receives segments that lie inside its own intervals, and the intervals of
higher-priority sets (test, then dev) are removed from the others, so no
part of a dev/test interval can leak into train.

Segmentation (as in the expressive-retrieval paper, arXiv:2508.11187):

* base read utterances are kept whole (``start``/``stop`` null);
* longform read files are cut into consecutive ``max_seconds`` chunks; a
  last chunk shorter than ``min_seconds`` is dropped;
* each channel of a dialogue is cut with the official voice-activity
  segments: adjacent segments are merged while the merged span stays within
  ``max_seconds`` and the pause between them is at most ``max_gap``
  seconds, longer segments are split into equal parts of at most
  ``max_seconds``, and pieces shorter than ``min_seconds`` are dropped.

Everything that is left out (styles not selected, files absent from the
splits or without voice-activity segments, too-short pieces) is counted,
logged and returned in the summary.

Authors
 * speechbrain-style contributors
"""

import math
import os
import re
from collections import Counter, defaultdict

import soundfile as sf
from speechbrain.utils.logger import get_logger

from speechbrain_style.dataio.manifest import outputs_exist, save_manifest
from speechbrain_style.prompts.emotion import EXPRESSO_STYLES

logger = get_logger(__name__)

SPEAKERS = ("ex01", "ex02", "ex03", "ex04")

# Expresso has two male and two female actors, but the corpus documentation
# does not say which id is which (and we could not verify it), so gender is
# left null. Pass ``speaker_genders`` to fill it in.
SPEAKER_GENDERS = dict.fromkeys(SPEAKERS)

READ_STYLES = (
    "confused",
    "default",
    "enunciated",
    "happy",
    "laughing",
    "sad",
    "whisper",
    "narration",
)

# Every conversational style of Expresso (the prompt banks cover them all).
CONVERSATIONAL_STYLES = EXPRESSO_STYLES

ALL_STYLES = tuple(sorted(set(READ_STYLES) | set(CONVERSATIONAL_STYLES)))

# The 19 styles the expressive-retrieval paper (Kang & Roy, ASRU 2025,
# arXiv:2508.11187) trains and evaluates on, as listed in its public code.
# Left out: ``nonverbal`` (laughs, sighs, no speaking style to describe),
# ``animal``/``animaldir`` and ``child``/``childdir`` (speaking to or as a
# pet or child: role play rather than a style, and the directed variants are
# near-duplicates of the undirected ones) and ``narration`` (a reading mode,
# mostly longform). ``default`` includes the read substyles
# ``default_emphasis`` and ``default_essentials``.
EVAL_STYLES = (
    "angry",
    "awe",
    "bored",
    "calm",
    "confused",
    "default",
    "desire",
    "disgusted",
    "enunciated",
    "fast",
    "fearful",
    "happy",
    "laughing",
    "projected",
    "sad",
    "sarcastic",
    "sleepy",
    "sympathetic",
    "whisper",
)

SPLITS = ("train", "dev", "test")
# A set's intervals are removed from the sets after it (test wins).
SPLIT_PRIORITY = ("test", "dev", "train")

AUDIO_DIR = "audio_48khz"
_BOUNDS_RE = re.compile(r"^\(\s*([^,]*?)\s*,\s*([^,]*?)\s*\)$")
_VAD_PAIR_RE = re.compile(r"\(\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)\s*\)")
_VAD_KEY_RE = re.compile(r"^(.*)/channel([12])$")
_EPS = 1e-6


def prepare_expresso(
    data_folder,
    save_json_train,
    save_json_valid,
    save_json_test,
    styles=EVAL_STYLES,
    sample_rate=48000,
    min_seconds=1.0,
    max_seconds=10.0,
    skip_prep=False,
    max_gap=2.0,
    speaker_genders=None,
):
    """Writes train/valid/test manifests of Expresso style-labelled segments.

    The official ``splits/train.txt``, ``dev.txt`` and ``test.txt`` give the
    train, valid and test sets. Every item has the fields ``wav``
    (``{data_root}/audio_48khz/...``), ``duration``, ``start``, ``stop``
    (seconds, null for a whole file), ``channel`` (0 = left, 1 = right
    speaker of a dialogue; null for read speech), ``style``, ``spk_id``,
    ``gender``, ``transcript`` (read base utterances only, otherwise ""),
    ``language`` ("en"), ``dataset`` ("expresso"), ``speech_type``
    ("read" or "conversational"), ``valence``, ``arousal`` and
    ``dominance`` (null: Expresso has no such ratings).

    Arguments
    ---------
    data_folder : str
        The ``expresso`` folder (holding ``audio_48khz``, ``splits``,
        ``read_transcriptions.txt`` and ``VAD_segments.txt``).
    save_json_train : str
        Path of the train manifest.
    save_json_valid : str
        Path of the valid (official dev) manifest.
    save_json_test : str
        Path of the test manifest.
    styles : sequence of str or "all"
        The style labels to keep (default: the 19 of ``EVAL_STYLES``);
        ``"all"`` keeps every style. Items of other styles are counted and
        logged as skipped.
    sample_rate : int
        The expected sample rate; files at another rate are kept (the loader
        resamples) but counted and logged.
    min_seconds : float
        Segments shorter than this are dropped (counted and logged).
    max_seconds : float
        Maximum segment length (longform chunks, merged VAD segments).
    skip_prep : bool
        If True, do nothing.
    max_gap : float
        Maximum pause (seconds) between two voice-activity segments of one
        channel that are merged into one item.
    speaker_genders : dict, optional
        ``{spk_id: "male"|"female"}``; speakers not given get null.

    Returns
    -------
    dict or None
        None when preparation was skipped; otherwise a summary with the
        number of items per set (``"items"``), the number of source files
        used (``"files"``) and the skip counts by reason (``"skipped"``).

    Raises
    ------
    FileNotFoundError
        If ``data_folder`` is not an Expresso folder (the message names the
        path and what is missing).
    ValueError
        On bad arguments or malformed metadata lines (named).

    Example
    -------
    >>> tmp = getfixture("tmp_path")
    >>> outputs = [tmp / "train.json", tmp / "valid.json", tmp / "test.json"]
    >>> prepare_expresso(tmp / "expresso", *outputs, skip_prep=True) is None
    True
    >>> try:
    ...     prepare_expresso(tmp / "expresso", *outputs)
    ... except FileNotFoundError as e:
    ...     print(str(e).split(":")[0].endswith("Expresso folder"))
    True
    """
    if skip_prep:
        logger.info("Skipping Expresso preparation (skip_prep=True).")
        return None
    outputs = {
        "train": save_json_train,
        "valid": save_json_valid,
        "test": save_json_test,
    }
    if outputs_exist(outputs.values()):
        return None
    selected = _check_styles(styles)
    if not 0 < min_seconds <= max_seconds:
        raise ValueError(
            "Need 0 < min_seconds <= max_seconds, got "
            f"min_seconds={min_seconds}, max_seconds={max_seconds}"
        )
    if max_gap < 0:
        raise ValueError(f"max_gap must be >= 0, got {max_gap}")
    genders = dict(SPEAKER_GENDERS)
    genders.update(speaker_genders or {})
    data_folder = os.fspath(data_folder)
    _check_data_folder(data_folder)

    intervals = _read_splits(os.path.join(data_folder, "splits"))
    transcripts = _read_transcriptions(
        os.path.join(data_folder, "read_transcriptions.txt")
    )
    vad = _read_vad(os.path.join(data_folder, "VAD_segments.txt"))
    files = _list_audio(data_folder)
    logger.info(
        "Expresso: found %d read and %d conversational files in %s",
        sum(f["kind"] == "read" for f in files),
        sum(f["kind"] == "conversational" for f in files),
        data_folder,
    )

    skipped = Counter()
    skipped_styles = Counter()
    other_rates = Counter()
    manifests = {"train": {}, "dev": {}, "test": {}}
    options = {"min": min_seconds, "max": max_seconds, "gap": max_gap}
    files_used = 0
    for info in files:
        name = info["name"]
        if name not in intervals:
            skipped["file not in any split"] += 1
            logger.debug("Expresso: %s is in no split file, skipped", name)
            continue
        channels = info["channels"]
        wanted = [c for c in channels if c["style"] in selected]
        for c in channels:
            if c["style"] not in selected:
                skipped_styles[c["style"]] += 1
        if not wanted:
            continue
        frames, file_rate = _header(info["path"])
        if file_rate != sample_rate:
            other_rates[file_rate] += 1
        duration = frames / file_rate
        split_intervals = _disjoint_intervals(intervals[name], duration)
        files_used += 1
        for c in wanted:
            if info["kind"] == "conversational":
                key = (name, c["channel"] + 1)
                if key not in vad:
                    skipped["conversational channel without VAD"] += 1
                    continue
            for split, spans in split_intervals.items():
                for lo, hi in spans:
                    if info["kind"] == "conversational":
                        pieces, dropped = _vad_pieces(vad[key], lo, hi, options)
                    elif info["subset"] == "longform":
                        pieces, dropped = _chunks(lo, hi, options)
                    else:
                        whole = lo <= _EPS and hi >= duration - _EPS
                        pieces = [None] if whole else [(lo, hi)]
                        dropped = 0
                        if not whole and hi - lo < min_seconds:
                            pieces, dropped = [], 1
                    if dropped:
                        skipped[f"segment shorter than {min_seconds} s"] += (
                            dropped
                        )
                    for piece in pieces:
                        uid, item = _make_item(
                            info, c, piece, duration, transcripts, genders
                        )
                        manifests[split][uid] = item

    if skipped_styles:
        skipped["style not selected"] = sum(skipped_styles.values())
        logger.info(
            "Expresso: skipped file/channel items of unselected styles: %s",
            ", ".join(f"{s} {n}" for s, n in sorted(skipped_styles.items())),
        )
    missing = sorted(set(intervals) - {f["name"] for f in files})
    if missing:
        skipped["listed in splits but audio missing"] = len(missing)
        logger.warning(
            "Expresso: %d files listed in the splits have no audio, e.g. %s",
            len(missing),
            ", ".join(missing[:5]),
        )
    if other_rates:
        logger.warning(
            "Expresso: %d files are not at sample_rate=%d Hz (rates: %s); "
            "they are kept and resampled when loaded",
            sum(other_rates.values()),
            sample_rate,
            dict(other_rates),
        )
    for reason, count in sorted(skipped.items()):
        logger.info("Expresso: skipped %d (%s)", count, reason)

    names = {"train": "train", "valid": "dev", "test": "test"}
    for key, path in outputs.items():
        data = manifests[names[key]]
        if not data:
            logger.warning("Expresso: the %s manifest %s is empty", key, path)
        save_manifest(data, path, ensure_ascii=True)
        logger.info("Expresso: wrote %d items to %s", len(data), path)
    return {
        "items": {key: len(manifests[names[key]]) for key in outputs},
        "files": files_used,
        "skipped": dict(skipped),
        "skipped_styles": dict(skipped_styles),
        "other_sample_rates": dict(other_rates),
    }


def _check_styles(styles):
    """Returns the selected style set; errors name unknown styles."""
    if isinstance(styles, str):
        if styles == "all":
            return _AllStyles()
        raise ValueError(
            f"styles must be a list of style labels or 'all', got {styles!r}"
        )
    styles = set(styles)
    unknown = sorted(styles - set(ALL_STYLES))
    if unknown:
        raise ValueError(
            f"Unknown Expresso styles {unknown}; known styles: {ALL_STYLES}"
        )
    if not styles:
        raise ValueError("styles is empty: select at least one style")
    return styles


class _AllStyles:
    """Stands for every style (``styles="all"``)."""

    def __contains__(self, style):
        return True


def _check_data_folder(data_folder):
    """Raises FileNotFoundError naming what an Expresso folder lacks."""
    required = [
        os.path.join(AUDIO_DIR, "read"),
        os.path.join(AUDIO_DIR, "conversational"),
        os.path.join("splits", "train.txt"),
        os.path.join("splits", "dev.txt"),
        os.path.join("splits", "test.txt"),
        "read_transcriptions.txt",
        "VAD_segments.txt",
    ]
    missing = [
        rel
        for rel in required
        if not os.path.exists(os.path.join(data_folder, rel))
    ]
    if missing:
        raise FileNotFoundError(
            f"{data_folder} does not look like the Expresso folder: missing "
            f"{', '.join(missing)} (data_folder must be the 'expresso' folder "
            "that holds audio_48khz/, splits/, read_transcriptions.txt and "
            "VAD_segments.txt)"
        )


def _parse_seconds(text, where):
    """Parses '60.0s', '60.0' or '' (None)."""
    text = text.strip()
    if not text:
        return None
    if text.endswith("s"):
        text = text[:-1]
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{where}: cannot parse time {text!r}") from None


def _read_splits(splits_dir):
    """Returns ``{name: [(split, start, stop), ...]}`` from the split files.

    ``start``/``stop`` are seconds or None (open bound).
    """
    intervals = defaultdict(list)
    for split in SPLITS:
        path = os.path.join(splits_dir, f"{split}.txt")
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                where = f"{path}, line {number}"
                fields = line.split("\t")
                name = os.path.splitext(os.path.basename(fields[0].strip()))[0]
                start = stop = None
                if len(fields) > 1 and fields[1].strip():
                    match = _BOUNDS_RE.match(fields[1].strip())
                    if not match:
                        raise ValueError(
                            f"{where}: expected 'name<TAB>(start,end)', got "
                            f"{line!r}"
                        )
                    start = _parse_seconds(match.group(1), where)
                    stop = _parse_seconds(match.group(2), where)
                    if start is not None and stop is not None and stop <= start:
                        raise ValueError(f"{where}: empty interval {line!r}")
                intervals[name].append((split, start, stop))
    return dict(intervals)


def _read_transcriptions(path):
    """Returns ``{name: transcript}`` from read_transcriptions.txt."""
    transcripts = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            name, sep, text = line.partition("\t")
            if not sep:
                name, _, text = line.partition(" ")
            transcripts[name.strip()] = text.strip()
    return transcripts


def _read_vad(path):
    """Returns ``{(name, channel 1|2): [(start, stop), ...]}`` (sorted)."""
    vad = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, _, rest = line.partition("\t")
            match = _VAD_KEY_RE.match(key.strip())
            if not match:
                raise ValueError(
                    f"{path}, line {number}: expected "
                    f"'<file>/channel1<TAB>(start, end) ...', got {line[:80]!r}"
                )
            name = os.path.splitext(os.path.basename(match.group(1)))[0]
            segments = [
                (float(a), float(b)) for a, b in _VAD_PAIR_RE.findall(rest)
            ]
            vad[(name, int(match.group(2)))] = sorted(
                (a, b) for a, b in segments if b > a
            )
    return vad


def _list_audio(data_folder):
    """Lists the read and conversational wavs with their labels."""
    files = []
    read_root = os.path.join(data_folder, AUDIO_DIR, "read")
    for dirpath, _, filenames in os.walk(read_root):
        rel = os.path.relpath(dirpath, read_root).split(os.sep)
        for filename in sorted(filenames):
            if not filename.lower().endswith(".wav"):
                continue
            if len(rel) != 3:
                raise ValueError(
                    f"Unexpected read file {os.path.join(dirpath, filename)}:"
                    " expected read/{spk}/{style}/{base|longform}/*.wav"
                )
            spk, style, subset = rel
            files.append(
                {
                    "kind": "read",
                    "subset": subset,
                    "name": os.path.splitext(filename)[0],
                    "path": os.path.join(dirpath, filename),
                    "rel": os.path.relpath(
                        os.path.join(dirpath, filename), data_folder
                    ),
                    "channels": [
                        {"channel": None, "spk": spk, "style": style.lower()}
                    ],
                }
            )
    conv_root = os.path.join(data_folder, AUDIO_DIR, "conversational")
    for dirpath, _, filenames in os.walk(conv_root):
        rel = os.path.relpath(dirpath, conv_root).split(os.sep)
        for filename in sorted(filenames):
            if not filename.lower().endswith(".wav"):
                continue
            path = os.path.join(dirpath, filename)
            if len(rel) != 2 or rel[0].count("-") != 1:
                raise ValueError(
                    f"Unexpected conversational file {path}: expected "
                    "conversational/{spkL-spkR}/{styles}/*.wav"
                )
            speakers = rel[0].split("-")
            styles = rel[1].lower().split("-")
            if len(styles) == 1:
                styles = styles * 2
            if len(styles) != 2:
                raise ValueError(
                    f"Cannot read the style folder of {path}: expected "
                    "'style' or 'leftstyle-rightstyle'"
                )
            files.append(
                {
                    "kind": "conversational",
                    "subset": "conversational",
                    "name": os.path.splitext(filename)[0],
                    "path": path,
                    "rel": os.path.relpath(path, data_folder),
                    "channels": [
                        {"channel": i, "spk": speakers[i], "style": styles[i]}
                        for i in range(2)
                    ],
                }
            )
    files.sort(key=lambda f: f["path"])
    return files


def _header(path):
    """Returns (frames, sample_rate); errors name the file."""
    try:
        info = sf.info(path)
    except (sf.SoundFileError, RuntimeError) as e:
        raise ValueError(f"Cannot read audio header of {path}: {e}") from e
    return info.frames, info.samplerate


def _disjoint_intervals(entries, duration):
    """Per split, the file's intervals minus higher-priority splits' ones.

    Arguments
    ---------
    entries : list of (split, start, stop)
        The split-file entries of one file (None = open bound).
    duration : float
        The file duration (closes open bounds, clips the others).

    Returns
    -------
    dict
        ``{split: [(start, stop), ...]}``, disjoint across splits.
    """
    taken = []
    result = {}
    for split in SPLIT_PRIORITY:
        spans = []
        for name, start, stop in entries:
            if name != split:
                continue
            lo = 0.0 if start is None else max(0.0, start)
            hi = duration if stop is None else min(stop, duration)
            if hi > lo:
                spans.extend(_subtract((lo, hi), taken))
        if spans:
            result[split] = spans
            taken.extend(spans)
    return result


def _subtract(span, taken):
    """Returns the parts of ``span`` not covered by the ``taken`` spans."""
    parts = [span]
    for t_lo, t_hi in taken:
        new_parts = []
        for lo, hi in parts:
            if t_hi <= lo or t_lo >= hi:
                new_parts.append((lo, hi))
                continue
            if t_lo > lo:
                new_parts.append((lo, t_lo))
            if t_hi < hi:
                new_parts.append((t_hi, hi))
        parts = new_parts
    return [(lo, hi) for lo, hi in parts if hi - lo > _EPS]


def _chunks(lo, hi, options):
    """Consecutive ``max`` chunks of [lo, hi); the short tail is dropped."""
    pieces, dropped = [], 0
    start = lo
    while start < hi - _EPS:
        stop = min(start + options["max"], hi)
        if stop - start >= options["min"] - _EPS:
            pieces.append((start, stop))
        else:
            dropped += 1
        start = stop
    return pieces, dropped


def _vad_pieces(segments, lo, hi, options):
    """Cuts one channel's VAD segments inside [lo, hi) into items.

    Segments are clipped to [lo, hi), merged while the merged span stays
    within ``max`` seconds and the pause is at most ``gap`` seconds, longer
    ones are split into equal parts of at most ``max`` seconds, and pieces
    shorter than ``min`` seconds are dropped (counted).
    """
    clipped = [
        (max(a, lo), min(b, hi))
        for a, b in segments
        if min(b, hi) - max(a, lo) > _EPS
    ]
    groups = []
    for a, b in clipped:
        if groups:
            g_lo, g_hi = groups[-1]
            if a - g_hi <= options["gap"] and max(b, g_hi) - g_lo <= (
                options["max"] + _EPS
            ):
                groups[-1] = (g_lo, max(b, g_hi))
                continue
        groups.append((a, b))
    pieces, dropped = [], 0
    for a, b in groups:
        parts = max(1, math.ceil((b - a) / options["max"] - _EPS))
        step = (b - a) / parts
        for k in range(parts):
            start = a + k * step
            stop = b if k == parts - 1 else a + (k + 1) * step
            if stop - start >= options["min"] - _EPS:
                pieces.append((round(start, 4), round(stop, 4)))
            else:
                dropped += 1
    return pieces, dropped


def _make_item(info, channel_info, piece, duration, transcripts, genders):
    """Returns (utt_id, manifest item) for one segment (None = whole file)."""
    rel = info["rel"]
    channel = channel_info["channel"]
    name = info["name"]
    if piece is None:
        start = stop = None
        seg_duration = duration
        uid = name
    else:
        start, stop = piece
        seg_duration = stop - start
        side = "" if channel is None else f"_ch{channel + 1}"
        uid = f"{name}{side}_{int(round(start * 1000)):08d}"
    is_base_read = info["kind"] == "read" and info["subset"] != "longform"
    spk = channel_info["spk"]
    item = {
        "wav": "{data_root}/" + rel.replace(os.sep, "/"),
        "duration": round(seg_duration, 4),
        "start": start,
        "stop": stop,
        "channel": channel,
        "style": channel_info["style"],
        "spk_id": spk,
        "gender": genders.get(spk),
        "transcript": transcripts.get(name, "") if is_base_read else "",
        "language": "en",
        "dataset": "expresso",
        "speech_type": info["kind"],
        "valence": None,
        "arousal": None,
        "dominance": None,
    }
    return uid, item

"""Data preparation for ESD, the Emotional Speech Dataset.

ESD (Zhou et al., "Seen and unseen emotional style transfer for voice
conversion with a new emotional speech dataset", ICASSP 2021;
https://github.com/HLTSingapore/Emotional-Speech-Data) holds 10 Mandarin
(0001-0010) and 10 English (0011-0020) speakers, each reading 350 sentences
in five emotions (neutral, angry, happy, sad, surprise) at 16 kHz::

    Emotion Speech Dataset/
      0011/
        0011.txt                     id<TAB>text<TAB>emotion
        Angry/train/0011_000351.wav  (or flat: Angry/0011_000351.wav)
        ...

Split: the one of the expressive speech retrieval paper. For every speaker
and emotion the wav files are sorted by name; the first 20 go to validation,
the next 30 to test and the rest to training. The split is computed from the
sorted file names and does NOT read the dataset's own train/evaluation/test
folders (the flat layout has none); the folder a file was found in is kept in
the ``esd_split`` field of each item (null for the flat layout).

The style label is the emotion folder. Utterance ``n`` of a speaker belongs
to emotion ``(n - 1) // 350`` (0 Neutral, 1 Angry, 2 Happy, 3 Sad,
4 Surprise); files that disagree keep the folder's label and are counted and
logged. Transcript files come in several encodings (gb2312, utf-16, utf-8,
latin-1, depending on the speaker); they are decoded line by line, and lines
that cannot be decoded or parsed are counted and logged, never fatal.

Authors
 * speechbrain-style contributors 2026
"""

import codecs
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

DATASET_DIRNAME = "Emotion Speech Dataset"
SAMPLE_RATE = 16000
UTTS_PER_EMOTION = 350
# Emotion folders in the order of the utterance numbering.
EMOTIONS = ("Neutral", "Angry", "Happy", "Sad", "Surprise")
ESD_SPLIT_FOLDERS = ("train", "evaluation", "test")
# Paper split, per speaker x emotion on the sorted files.
NUM_VALID = 20
NUM_TEST = 30

SPEAKERS = tuple(f"{i:04d}" for i in range(1, 21))
MALE_SPEAKERS = frozenset(
    f"{i:04d}" for i in (4, 5, 6, 8, 10, 11, 12, 13, 14, 20)
)
LANGUAGES = ("en", "zh")
# Transcript encodings observed on the release, per speaker number.
TRANSCRIPT_ENCODINGS = {
    **dict.fromkeys((1, 2, 4, 5, 9), "gb2312"),
    **dict.fromkeys((3, 6, 7, 8, 10, 12, 13, 14, 18, 19), "utf-16"),
    **dict.fromkeys((11, 15, 20), "utf-8"),
    **dict.fromkeys((16, 17), "latin-1"),
}
# Emotion words of the transcripts' third column (English and Mandarin).
TRANSCRIPT_EMOTION_WORDS = {
    **{emotion.lower(): emotion for emotion in EMOTIONS},
    "中立": "Neutral",
    "生气": "Angry",
    "快乐": "Happy",
    "伤心": "Sad",
    "惊喜": "Surprise",
}
UTT_ID_RE = re.compile(r"^(\d{4})_(\d{6})$")
LINE_RE = re.compile(r"^(\d{4}_\d{6})(?:\s+(.*))?$")
MAX_EXAMPLES = 5


def speaker_language(spk_id):
    """Returns the language of an ESD speaker ("zh" or "en").

    Arguments
    ---------
    spk_id : str
        Four-digit speaker id, e.g. "0011".

    Returns
    -------
    str
        "zh" for 0001-0010, "en" for 0011-0020.

    Example
    -------
    >>> speaker_language("0003"), speaker_language("0011")
    ('zh', 'en')
    """
    return "zh" if int(spk_id) <= 10 else "en"


def emotion_from_utt_number(number):
    """Returns the emotion folder that utterance ``number`` belongs to.

    Arguments
    ---------
    number : int
        Utterance number (1-based, as in ``0011_000351``).

    Returns
    -------
    str or None
        One of ``EMOTIONS``, or None if the number is out of range.

    Example
    -------
    >>> emotion_from_utt_number(350), emotion_from_utt_number(351)
    ('Neutral', 'Angry')
    >>> emotion_from_utt_number(1751) is None
    True
    """
    index = (number - 1) // UTTS_PER_EMOTION
    if number < 1 or index >= len(EMOTIONS):
        return None
    return EMOTIONS[index]


def prepare_esd(
    data_folder,
    save_json_train,
    save_json_valid,
    save_json_test,
    languages=("en",),
    speakers=None,
    skip_prep=False,
):
    """Writes the train/valid/test manifests of ESD.

    Every item has the fields ``wav`` ("{data_root}/..." relative to
    ``data_folder``), ``duration``, ``start``/``stop``/``channel`` (null),
    ``style`` (neutral, angry, happy, sad or surprise), ``spk_id``,
    ``gender``, ``transcript`` ("" when missing), ``language`` ("zh"/"en"),
    ``dataset`` ("esd"), ``valence``/``arousal``/``dominance`` (null) and
    ``esd_split`` (the dataset's own split folder, or null).

    Arguments
    ---------
    data_folder : str
        The "Emotion Speech Dataset" folder (which holds the speaker folders
        0001-0020) or the folder that contains it.
    save_json_train : str
        Path of the training manifest.
    save_json_valid : str
        Path of the validation manifest.
    save_json_test : str
        Path of the test manifest.
    languages : sequence of str
        Languages to keep: "en" (speakers 0011-0020), "zh" (0001-0010).
    speakers : sequence of str or int, optional
        Speakers to keep (e.g. ``["0011", 12]``); all speakers of the chosen
        languages when None.
    skip_prep : bool
        If True, do nothing.

    Returns
    -------
    dict or None
        A summary (items per split and the counts of everything skipped or
        suspicious), or None when nothing was done.

    Raises
    ------
    FileNotFoundError
        If ``data_folder`` does not exist.
    ValueError
        If ``data_folder`` is not ESD, or on bad ``languages``/``speakers``.

    Example
    -------
    >>> from tests.fake_data import make_fake_esd
    >>> tmp = getfixture("tmp_path")
    >>> root = make_fake_esd(tmp / "data", utts_per_emotion=2)
    >>> out = [str(tmp / f"{split}.json") for split in ("tr", "va", "te")]
    >>> summary = prepare_esd(root, *out, languages=("en", "zh"))
    >>> summary["valid"], summary["test"], summary["train"]
    (30, 0, 0)
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

    languages = _check_languages(languages)
    speaker_root = _find_speaker_root(data_folder)
    selected = _select_speakers(speaker_root, languages, speakers)
    logger.info(
        f"Preparing ESD from {speaker_root}: speakers {', '.join(selected)}"
    )

    stats = Counter()
    manifests = {split: {} for split in outputs}
    for spk_id in selected:
        _prepare_speaker(data_folder, speaker_root, spk_id, manifests, stats)

    for split, path in outputs.items():
        _write_json(manifests[split], path)
    summary = {split: len(items) for split, items in manifests.items()}
    summary["skipped"] = dict(stats)
    _log_summary(summary)
    return summary


def _check_languages(languages):
    """Validates ``languages`` and returns it as a tuple."""
    if isinstance(languages, str):
        languages = (languages,)
    languages = tuple(languages)
    bad = [lang for lang in languages if lang not in LANGUAGES]
    if bad or not languages:
        raise ValueError(
            f"languages must be a non-empty subset of {LANGUAGES}, "
            f"got {languages!r}"
        )
    return languages


def _find_speaker_root(data_folder):
    """Returns the folder holding the speaker folders, or raises."""
    data_folder = os.fspath(data_folder)
    if not os.path.isdir(data_folder):
        raise FileNotFoundError(f"ESD data_folder not found: {data_folder}")
    nested = os.path.join(data_folder, DATASET_DIRNAME)
    for candidate in (data_folder, nested):
        if os.path.isdir(candidate) and any(
            os.path.isdir(os.path.join(candidate, spk)) for spk in SPEAKERS
        ):
            return candidate
    raise ValueError(
        f"{data_folder} does not look like ESD: expected the speaker folders "
        f"0001-0020 in it or in '{nested}'"
    )


def _normalise_speaker(speaker):
    """Turns 11, "11" or "0011" into "0011"; raises on anything else."""
    try:
        spk_id = f"{int(str(speaker).strip()):04d}"
    except ValueError:
        spk_id = None
    if spk_id not in SPEAKERS:
        raise ValueError(f"Unknown ESD speaker {speaker!r}: expected 0001-0020")
    return spk_id


def _select_speakers(speaker_root, languages, speakers):
    """The sorted speaker ids to prepare (their folders exist)."""
    present = [
        spk
        for spk in SPEAKERS
        if os.path.isdir(os.path.join(speaker_root, spk))
    ]
    if speakers is None:
        selected = [s for s in present if speaker_language(s) in languages]
        missing = [
            s
            for s in SPEAKERS
            if speaker_language(s) in languages and s not in present
        ]
        if missing:
            logger.warning(
                f"ESD speaker folders missing in {speaker_root}: "
                f"{', '.join(missing)}"
            )
    else:
        if isinstance(speakers, (str, int)):
            speakers = [speakers]
        requested = sorted({_normalise_speaker(s) for s in speakers})
        other_language = [
            s for s in requested if speaker_language(s) not in languages
        ]
        if other_language:
            raise ValueError(
                f"speakers {other_language} are not in languages "
                f"{languages}; add their language to `languages`"
            )
        absent = [s for s in requested if s not in present]
        if absent:
            raise ValueError(
                f"speakers {absent} have no folder in {speaker_root}"
            )
        selected = requested
    if not selected:
        raise ValueError(
            f"No ESD speaker of languages {languages} in {speaker_root}"
        )
    return selected


def _decode_transcript(raw, expected_encoding):
    """Decodes transcript bytes into lines, robust to encoding errors.

    Arguments
    ---------
    raw : bytes
        The file content.
    expected_encoding : str or None
        The encoding this speaker's file is known to use.

    Returns
    -------
    lines : list of str or bytes
        The decoded lines; the raw bytes of a line that does not decode.
    encoding : str
        The encoding used for most lines.
    """
    utf16 = _utf16_variant(raw, expected_encoding)
    if utf16 is not None:
        # Lines cannot be split on bytes in utf-16: decode the whole file,
        # and treat lines with replacement characters as undecodable.
        text = raw.decode(utf16, errors="replace").lstrip("\ufeff")
        lines = [
            ln.encode("utf-8") if "\ufffd" in ln else ln
            for ln in text.splitlines()
        ]
        return lines, utf16
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    candidates = ["utf-8"]
    if expected_encoding and not expected_encoding.startswith("utf-16"):
        # gb18030 is a superset of gb2312 (and of gbk).
        expected = {"gb2312": "gb18030", "gbk": "gb18030"}.get(
            expected_encoding, expected_encoding
        )
        if expected not in candidates:
            candidates.append(expected)
    # Every candidate is ASCII-compatible, so b"\n" always ends a line.
    byte_lines = raw.splitlines()

    def decodes(line, encoding):
        """Whether ``raw`` decodes as ``encoding``."""
        try:
            line.decode(encoding)
        except UnicodeDecodeError:
            return False
        return True

    best = max(
        candidates,
        key=lambda enc: (
            sum(decodes(ln, enc) for ln in byte_lines),
            -candidates.index(enc),
        ),
    )
    order = [best] + [enc for enc in candidates if enc != best]
    lines = []
    for line in byte_lines:
        for encoding in order:
            if decodes(line, encoding):
                lines.append(line.decode(encoding))
                break
        else:
            lines.append(line)
    return lines, best


def _utf16_variant(raw, expected_encoding=None):
    """The utf-16 codec name if ``raw`` looks like utf-16, else None."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = raw[:4000]
    if len(sample) < 4:
        return None
    even_nuls = sample[0::2].count(0) / len(sample[0::2])
    odd_nuls = sample[1::2].count(0) / len(sample[1::2])
    # ASCII-heavy text without a BOM: one byte of each pair is NUL.
    if odd_nuls > 0.3 and even_nuls < 0.05:
        return "utf-16-le"
    if even_nuls > 0.3 and odd_nuls < 0.05:
        return "utf-16-be"
    # Mostly non-ASCII text without a BOM, in a speaker's expected utf-16
    # file: accept utf-16-le when utf-8 fails and utf-16-le decodes.
    if (expected_encoding or "").startswith("utf-16") and 0 in sample:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            try:
                raw.decode("utf-16-le")
            except UnicodeDecodeError:
                return None
            return "utf-16-le"
    return None


def _parse_transcript_line(line):
    """Parses ``id<TAB>text<TAB>emotion`` (tabs or spaces).

    Returns
    -------
    tuple or None
        (utt_id, text, emotion word or ""), or None if the line has no id.
    """
    match = LINE_RE.match(line.strip())
    if match is None:
        return None
    utt_id, rest = match.group(1), (match.group(2) or "").strip()
    if "\t" in rest:
        text, _, emotion = rest.rpartition("\t")
        return utt_id, text.strip(), emotion.strip()
    head, _, last = rest.rpartition(" ")
    if head and _emotion_word(last) is not None:
        return utt_id, head.strip(), last
    return utt_id, rest, ""


def _emotion_word(word):
    """Maps an English or Mandarin emotion word to its folder, or None."""
    word = word.strip()
    return TRANSCRIPT_EMOTION_WORDS.get(word.lower(), None)


def read_transcripts(path, spk_id, stats=None):
    """Reads one speaker's transcript file into ``{utt_id: (text, emotion)}``.

    Lines that cannot be decoded or parsed, and lines of another speaker,
    are counted in ``stats`` and logged; they never raise.

    Arguments
    ---------
    path : str
        The transcript file, e.g. ``.../0011/0011.txt``.
    spk_id : str
        The speaker the file belongs to.
    stats : collections.Counter, optional
        Counts of the problems found are added to it.

    Returns
    -------
    dict
        ``{utt_id: (text, emotion word or "")}``.

    Example
    -------
    >>> path = getfixture("tmp_path") / "0011.txt"
    >>> _ = path.write_bytes(
    ...     b"0011_000001\\tHello there.\\tNeutral\\n"
    ...     b"0011_000002 Fine, thanks. Neutral\\n"
    ...     b"garbage\\n"
    ... )
    >>> stats = Counter()
    >>> read_transcripts(str(path), "0011", stats)["0011_000002"]
    ('Fine, thanks.', 'Neutral')
    >>> stats["transcript_bad_lines"]
    1
    """
    stats = Counter() if stats is None else stats
    with open(path, "rb") as fin:
        raw = fin.read()
    expected = TRANSCRIPT_ENCODINGS.get(int(spk_id))
    lines, encoding = _decode_transcript(raw, expected)
    logger.debug(f"{path}: decoded as {encoding} (expected {expected})")
    transcripts = {}
    bad = []
    for number, line in enumerate(lines, start=1):
        undecodable = isinstance(line, bytes)
        if not undecodable and not line.strip():
            continue
        parsed = None if undecodable else _parse_transcript_line(line)
        if parsed is None or not parsed[0].startswith(f"{spk_id}_"):
            reason = "undecodable" if undecodable else "unparsable"
            bad.append(f"line {number} ({reason}): {line!r}"[:120])
            continue
        utt_id, text, emotion = parsed
        if utt_id in transcripts:
            stats["transcript_duplicate_ids"] += 1
            continue
        transcripts[utt_id] = (text, emotion)
    if bad:
        stats["transcript_bad_lines"] += len(bad)
        logger.warning(
            f"{path}: skipped {len(bad)} bad transcript line(s), e.g. "
            + "; ".join(bad[:MAX_EXAMPLES])
        )
    return transcripts


def _list_wavs(emotion_dir, stats):
    """Yields (utt_id, path, esd_split_folder or None) under an emotion."""
    for dirpath, dirnames, filenames in os.walk(emotion_dir):
        dirnames.sort()
        rel = os.path.relpath(dirpath, emotion_dir)
        folder = None if rel == "." else rel.replace(os.sep, "/")
        if folder is not None and folder not in ESD_SPLIT_FOLDERS:
            logger.warning(f"Unexpected folder in ESD: {dirpath}")
        for name in sorted(filenames):
            stem, ext = os.path.splitext(name)
            if ext.lower() != ".wav":
                stats["non_wav_files"] += 1
                continue
            yield stem, os.path.join(dirpath, name), folder


def _prepare_speaker(data_folder, speaker_root, spk_id, manifests, stats):
    """Adds one speaker's items to ``manifests`` (split -> items)."""
    spk_dir = os.path.join(speaker_root, spk_id)
    transcript_path = os.path.join(spk_dir, f"{spk_id}.txt")
    if os.path.isfile(transcript_path):
        transcripts = read_transcripts(transcript_path, spk_id, stats)
    else:
        logger.warning(f"ESD transcript file missing: {transcript_path}")
        stats["transcript_files_missing"] += 1
        transcripts = {}

    language = speaker_language(spk_id)
    gender = "male" if spk_id in MALE_SPEAKERS else "female"
    used_ids = set()
    for emotion in EMOTIONS:
        emotion_dir = os.path.join(spk_dir, emotion)
        if not os.path.isdir(emotion_dir):
            logger.warning(f"ESD emotion folder missing: {emotion_dir}")
            stats["emotion_folders_missing"] += 1
            continue
        files = {}
        for utt_id, path, folder in _list_wavs(emotion_dir, stats):
            if not _check_file(utt_id, path, spk_id, emotion, stats):
                continue
            if utt_id in files or utt_id in used_ids:
                logger.warning(f"Duplicate ESD utterance skipped: {path}")
                stats["duplicate_wavs"] += 1
                continue
            files[utt_id] = (path, folder)
        used_ids.update(files)

        # Paper split: sorted files, [0:20] valid, [20:50] test, [50:] train.
        for position, utt_id in enumerate(sorted(files)):
            if position < NUM_VALID:
                split = "valid"
            elif position < NUM_VALID + NUM_TEST:
                split = "test"
            else:
                split = "train"
            path, folder = files[utt_id]
            try:
                info = sf.info(path)
            except (sf.SoundFileError, RuntimeError) as error:
                logger.warning(f"Unreadable ESD wav skipped: {path} ({error})")
                stats["unreadable_wavs"] += 1
                continue
            if info.samplerate != SAMPLE_RATE:
                stats["wavs_not_16khz"] += 1
            text, transcript_emotion = transcripts.get(utt_id, ("", ""))
            if utt_id not in transcripts:
                stats["transcripts_missing"] += 1
            elif _emotion_word(transcript_emotion) not in (None, emotion):
                stats["transcript_emotion_disagrees"] += 1
            rel = os.path.relpath(path, data_folder).replace(os.sep, "/")
            manifests[split][utt_id] = {
                "wav": "{data_root}/" + rel,
                "duration": info.frames / info.samplerate,
                "start": None,
                "stop": None,
                "channel": None,
                "style": emotion.lower(),
                "spk_id": spk_id,
                "gender": gender,
                "transcript": text,
                "language": language,
                "dataset": "esd",
                "valence": None,
                "arousal": None,
                "dominance": None,
                "esd_split": folder,
            }
    unused = len(set(transcripts) - used_ids)
    if unused:
        stats["transcripts_without_wav"] += unused


def _check_file(utt_id, path, spk_id, emotion, stats):
    """False (counted and logged) for a wav that is not a valid ESD name."""
    match = UTT_ID_RE.match(utt_id)
    if match is None or match.group(1) != spk_id:
        logger.warning(f"ESD wav with an unexpected name skipped: {path}")
        stats["bad_wav_names"] += 1
        return False
    rule_emotion = emotion_from_utt_number(int(match.group(2)))
    if rule_emotion != emotion:
        # Kept, with the folder's label.
        if stats["emotion_rule_disagrees"] < MAX_EXAMPLES:
            logger.warning(
                f"{path}: folder says {emotion}, utterance number says "
                f"{rule_emotion}; keeping the folder's label"
            )
        stats["emotion_rule_disagrees"] += 1
    return True


def _write_json(items, path):
    """Writes a manifest atomically (no partial file on interruption)."""
    save_manifest(items, path)
    logger.info(f"{path}: {len(items)} items")


def _log_summary(summary):
    """Logs what was written and what was skipped."""
    skipped = summary["skipped"]
    logger.info(
        f"ESD: {summary['train']} train, {summary['valid']} valid, "
        f"{summary['test']} test items"
    )
    if skipped:
        logger.warning("ESD preparation problems: " + format_counts(skipped))

"""Data preparation for IEMOCAP (speaking-style retrieval recipes).

Reads the raw release (``IEMOCAP_full_release/Session{1..5}/``):

* ``dialog/EmoEvaluation/<dialog>.txt``: one summary line per turn,
  ``[6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5, 2.5, 2.5]``
  (category, then [valence, activation, dominance] on 1-5), followed by the
  individual annotators' lines (``C-E2: ...``, ``A-E3: ...``), which are
  ignored, as are the sub-folders (``Categorical``, ``Attribute``,
  ``Self-evaluation``);
* ``dialog/transcriptions/<dialog>.txt``: ``<turn> [006.2901-008.2357]: text``
  (other lines, e.g. the unsegmented ``...XX0`` turns, are ignored);
* ``sentences/wav/<dialog>/<turn>.wav``: one 16 kHz wav per turn.

Label sets (``label_set``):

* ``"four"``: neutral, angry, sad, happy, with excited merged into happy
  (the usual 4-class setup, 5,531 utterances on the full release);
* ``"paper9"``: the nine IEMOCAP classes used for training by the
  expressive speech retrieval paper (Kang & Roy, ASRU 2025,
  https://arxiv.org/abs/2508.11187; their code keeps angry, disgust,
  excited, fear, frustrated, happy, neutral, sad, surprise): neu -> neutral,
  fru -> frustrated, ang -> angry, sad -> sad, hap -> happy, exc -> excited,
  sur -> surprised, fea -> fearful, dis -> disgusted. The adjectives are
  used (not "disgust", "fear", "surprise") so that the labels read like
  the other datasets' style names in the prompts.

* ``"all"``: every annotated turn (paper9, plus "oth" -> other and
  "xxx" -> undecided), for the dimensional recipe, which uses the
  valence and arousal values only.

Turns whose category is outside the label set ("oth", "xxx", ...) are
skipped and counted by category; annotated turns without a wav (or with an
unreadable one) are skipped and counted too. Every count is logged and
returned.

Split (there is no official one): leave-one-session-out. The utterances of
``test_session`` are the test set. The validation set is ``valid_session``
if given (the remaining sessions are the training set); otherwise it is a
deterministic ``valid_ratio`` share of the other sessions, stratified by
speaker: for each speaker (``Ses01_F``, ``Ses01_M``, ...) the utterance ids
are sorted and ``n_valid = max(1, round(valid_ratio * n))`` of the ``n``
ids (none if ``n < 2``), at the evenly spaced positions
``floor((k + 0.5) * n / n_valid)``, ``k = 0 .. n_valid - 1``, go to valid.

Authors
 * speechbrain-style contributors 2026
"""

import os
import re
from collections import Counter

import soundfile as sf
from speechbrain.utils.logger import get_logger

from speechbrain_style.dataio.manifest import outputs_exist, save_manifest

logger = get_logger(__name__)

RELEASE_FOLDER = "IEMOCAP_full_release"
SESSIONS = (1, 2, 3, 4, 5)
SAMPLE_RATE = 16000
CATEGORIES = (
    "neu",
    "fru",
    "ang",
    "sad",
    "hap",
    "exc",
    "sur",
    "fea",
    "dis",
    "oth",
    "xxx",
)
LABEL_SETS = {
    "four": {
        "neu": "neutral",
        "ang": "angry",
        "sad": "sad",
        "hap": "happy",
        "exc": "happy",
    },
    "paper9": {
        "neu": "neutral",
        "fru": "frustrated",
        "ang": "angry",
        "sad": "sad",
        "hap": "happy",
        "exc": "excited",
        "sur": "surprised",
        "fea": "fearful",
        "dis": "disgusted",
    },
}
# Every annotated turn, for the dimensional (valence/arousal) recipe: the
# turns without a majority category ("xxx") or with "oth" keep their values.
LABEL_SETS["all"] = {
    **LABEL_SETS["paper9"],
    "oth": "other",
    "xxx": "undecided",
}
# Label sets whose categories are only metadata (descriptions come from the
# valence/arousal values), so they need no style prompts.
DIMENSIONAL_LABEL_SETS = ("all",)
GENDERS = {"F": "female", "M": "male"}

# [6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5000, 2.5000, 2.5]
_SUMMARY_LINE = re.compile(
    r"^\[\s*(?P<start>[\d.]+)\s*-\s*(?P<stop>[\d.]+)\s*\]\s+"
    r"(?P<turn>\S+)\s+(?P<category>\S+)\s+"
    r"\[\s*(?P<v>[-\d.]+)\s*,\s*(?P<a>[-\d.]+)\s*,\s*(?P<d>[-\d.]+)\s*\]\s*$"
)
# Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.
_TRANSCRIPT_LINE = re.compile(
    r"^(?P<turn>\S+)\s+\[\s*[\d.]+\s*-\s*[\d.]+\s*\]\s*:\s?(?P<text>.*)$"
)


def prepare_iemocap(
    data_folder,
    save_json_train,
    save_json_valid,
    save_json_test,
    test_session=5,
    valid_session=None,
    label_set="paper9",
    valid_ratio=0.1,
    skip_prep=False,
):
    """Writes the IEMOCAP manifests of one leave-one-session-out fold.

    Arguments
    ---------
    data_folder : str
        The ``IEMOCAP_full_release`` folder (holding ``Session1`` ...
        ``Session5``), or the folder that contains it. The manifests'
        ``wav`` paths are relative to this folder, as ``{data_root}/...``.
    save_json_train : str
        Path of the training manifest.
    save_json_valid : str
        Path of the validation manifest.
    save_json_test : str
        Path of the test manifest.
    test_session : int
        The session (1-5) held out as the test set.
    valid_session : int, optional
        A session (not ``test_session``) used as the validation set. If
        None, validation is a speaker-stratified ``valid_ratio`` share of
        the other sessions (see the module docstring).
    label_set : str
        ``"paper9"`` (nine classes of the expressive speech retrieval
        paper) or ``"four"`` (neutral, angry, sad, happy = hap + exc).
    valid_ratio : float
        Share of each training speaker's utterances used for validation
        when ``valid_session`` is None.
    skip_prep : bool
        If True, do nothing.

    Returns
    -------
    dict or None
        None if preparation was skipped; otherwise a summary:
        ``{"counts": {"train": n, "valid": n, "test": n},
        "skipped": {"label": {category: n}, "missing_wav": n,
        "unreadable_wav": n, "bad_turn_name": n, "duplicate": n,
        "malformed_line": n}, "no_transcript": n}``
        (``no_transcript`` items are kept with an empty transcript).

    Raises
    ------
    ValueError
        If ``data_folder`` is not an IEMOCAP release (the message names the
        path), if a session argument is invalid or its folder is missing,
        or if a split would be empty.

    Example
    -------
    >>> import tempfile
    >>> tmp = tempfile.mkdtemp()
    >>> prepare_iemocap(tmp, "a.json", "b.json", "c.json", skip_prep=True)
    """
    if skip_prep:
        return None
    outputs = (save_json_train, save_json_valid, save_json_test)
    if outputs_exist(outputs):
        return None

    if label_set not in LABEL_SETS:
        raise ValueError(
            f"label_set must be one of {sorted(LABEL_SETS)}, got {label_set!r}"
        )
    _check_session("test_session", test_session)
    if valid_session is not None:
        _check_session("valid_session", valid_session)
        if valid_session == test_session:
            raise ValueError(
                f"valid_session ({valid_session}) must differ from "
                f"test_session ({test_session})"
            )
    if not 0.0 < valid_ratio < 1.0:
        raise ValueError(f"valid_ratio must be in (0, 1), got {valid_ratio}")

    release = _find_release(data_folder)
    sessions = _find_sessions(release)
    for name, session in (
        ("test_session", test_session),
        ("valid_session", valid_session),
    ):
        if session is not None and session not in sessions:
            raise ValueError(
                f"{name}={session} but "
                f"{os.path.join(release, f'Session{session}')} does not exist"
            )
    if len(sessions) < len(SESSIONS):
        logger.warning(
            f"Only sessions {sessions} found in {release} (the full release "
            "has 5)."
        )

    mapping = LABEL_SETS[label_set]
    stats = {
        "label": Counter(),
        "missing_wav": 0,
        "unreadable_wav": 0,
        "bad_turn_name": 0,
        "duplicate": 0,
        "malformed_line": 0,
    }
    no_transcript = 0
    items = {}
    for session in sessions:
        session_dir = os.path.join(release, f"Session{session}")
        for turn in _read_session(session_dir, stats):
            if turn["turn"] in items:
                stats["duplicate"] += 1
                logger.warning(f"Duplicate turn {turn['turn']}, kept the first")
                continue
            if turn["category"] not in mapping:
                stats["label"][turn["category"]] += 1
                continue
            letter = turn["turn"].rsplit("_", 1)[-1][:1]
            if letter not in GENDERS:
                stats["bad_turn_name"] += 1
                logger.warning(
                    f"Cannot read the speaker letter of turn {turn['turn']} "
                    f"in {turn['source']}, skipped"
                )
                continue
            dialog = turn["turn"].rsplit("_", 1)[0]
            wav_rel = "/".join(
                (
                    os.path.relpath(session_dir, data_folder).replace(
                        os.sep, "/"
                    ),
                    "sentences",
                    "wav",
                    dialog,
                    turn["turn"] + ".wav",
                )
            )
            wav_path = os.path.join(data_folder, *wav_rel.split("/"))
            if not os.path.isfile(wav_path):
                stats["missing_wav"] += 1
                logger.warning(f"Missing wav for annotated turn: {wav_path}")
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
            if turn["transcript"] is None:
                no_transcript += 1
            items[turn["turn"]] = {
                "wav": "{data_root}/" + wav_rel,
                "duration": info.frames / info.samplerate,
                "start": None,
                "stop": None,
                "channel": None,
                "style": mapping[turn["category"]],
                "emotion_code": turn["category"],
                "spk_id": f"Ses{session:02d}_{letter}",
                "gender": GENDERS[letter],
                "session": session,
                "transcript": turn["transcript"] or "",
                "language": "en",
                "dataset": "iemocap",
                "valence": turn["valence"],
                "arousal": turn["arousal"],
                "dominance": turn["dominance"],
            }

    splits = _split(items, test_session, valid_session, valid_ratio)
    for split, ids in splits.items():
        if not ids:
            raise ValueError(
                f"The {split} split of {release} is empty (test_session="
                f"{test_session}, valid_session={valid_session}, "
                f"label_set={label_set!r})"
            )
    for path, split in zip(outputs, ("train", "valid", "test"), strict=True):
        _write_json(path, {utt: items[utt] for utt in splits[split]})

    stats["label"] = dict(sorted(stats["label"].items()))
    summary = {
        "counts": {split: len(ids) for split, ids in splits.items()},
        "skipped": stats,
        "no_transcript": no_transcript,
    }
    logger.info(
        f"IEMOCAP ({label_set}, test session {test_session}): "
        f"{summary['counts']}; skipped by label: {stats['label']}; "
        f"missing wavs: {stats['missing_wav']}; unreadable wavs: "
        f"{stats['unreadable_wav']}; bad turn names: {stats['bad_turn_name']}"
        f"; duplicates: {stats['duplicate']}; malformed summary lines: "
        f"{stats['malformed_line']}; kept without transcript: {no_transcript}"
    )
    return summary


def _check_session(name, session):
    """Raises ValueError unless ``session`` is one of 1..5."""
    if isinstance(session, bool) or session not in SESSIONS:
        raise ValueError(f"{name} must be one of {SESSIONS}, got {session!r}")


def _find_release(data_folder):
    """The IEMOCAP_full_release folder: data_folder or its child."""
    for candidate in (data_folder, os.path.join(data_folder, RELEASE_FOLDER)):
        if any(
            os.path.isdir(os.path.join(candidate, f"Session{s}"))
            for s in SESSIONS
        ):
            return candidate
    raise ValueError(
        f"{data_folder} is not the IEMOCAP release: expected Session1 ... "
        f"Session5 in it or in {os.path.join(data_folder, RELEASE_FOLDER)}"
    )


def _find_sessions(release):
    """The session numbers present, checking each one's layout."""
    sessions = []
    for session in SESSIONS:
        session_dir = os.path.join(release, f"Session{session}")
        if not os.path.isdir(session_dir):
            continue
        for sub in (("dialog", "EmoEvaluation"), ("sentences", "wav")):
            path = os.path.join(session_dir, *sub)
            if not os.path.isdir(path):
                raise ValueError(
                    f"{session_dir} is not an IEMOCAP session: {path} is "
                    "missing"
                )
        sessions.append(session)
    return sessions


def _read_text(path):
    """The lines of a text file (utf-8, or latin-1 if that fails)."""
    try:
        with open(path, encoding="utf-8") as fin:
            return fin.read().splitlines()
    except UnicodeDecodeError:
        with open(path, encoding="latin-1") as fin:
            return fin.read().splitlines()


def _read_transcripts(path):
    """``{turn: text}`` from a dialog's transcription file (if any)."""
    if not os.path.isfile(path):
        return {}
    transcripts = {}
    for line in _read_text(path):
        match = _TRANSCRIPT_LINE.match(line.strip())
        if match:
            transcripts[match["turn"]] = match["text"].strip()
    return transcripts


def _read_session(session_dir, stats):
    """Yields the annotated turns of a session, sorted by dialog file.

    Each turn is a dict with ``turn``, ``category``, ``valence``,
    ``arousal``, ``dominance``, ``transcript`` (None when absent) and
    ``source`` (the EmoEvaluation file).
    """
    emo_dir = os.path.join(session_dir, "dialog", "EmoEvaluation")
    trans_dir = os.path.join(session_dir, "dialog", "transcriptions")
    for name in sorted(os.listdir(emo_dir)):
        path = os.path.join(emo_dir, name)
        # Only the dialog files: not the Categorical / Attribute /
        # Self-evaluation sub-folders nor hidden (e.g. "._x.txt") files.
        if (
            not name.endswith(".txt")
            or name.startswith(".")
            or not os.path.isfile(path)
        ):
            continue
        transcripts = _read_transcripts(os.path.join(trans_dir, name))
        for line in _read_text(path):
            line = line.strip()
            if not line.startswith("["):
                continue  # header, blank and annotator lines
            match = _SUMMARY_LINE.match(line)
            if match is None:
                stats["malformed_line"] += 1
                logger.warning(f"Malformed line in {path}: {line!r}")
                continue
            yield {
                "turn": match["turn"],
                "category": match["category"].lower(),
                "valence": float(match["v"]),
                "arousal": float(match["a"]),
                "dominance": float(match["d"]),
                "transcript": transcripts.get(match["turn"]),
                "source": path,
            }


def _split(items, test_session, valid_session, valid_ratio):
    """Sorted utterance ids of each split (see the module docstring)."""
    splits = {"train": [], "valid": [], "test": []}
    by_speaker = {}
    for utt in sorted(items):
        session = items[utt]["session"]
        if session == test_session:
            splits["test"].append(utt)
        elif valid_session is not None:
            splits["valid" if session == valid_session else "train"].append(utt)
        else:
            by_speaker.setdefault(items[utt]["spk_id"], []).append(utt)
    for spk in sorted(by_speaker):
        ids = by_speaker[spk]
        n = len(ids)
        n_valid = max(1, round(valid_ratio * n)) if n >= 2 else 0
        chosen = {int((k + 0.5) * n / n_valid) for k in range(n_valid)}
        for i, utt in enumerate(ids):
            splits["valid" if i in chosen else "train"].append(utt)
    return {split: sorted(ids) for split, ids in splits.items()}


def _write_json(path, manifest):
    """Writes a SpeechBrain JSON manifest, creating its folder."""
    save_manifest(manifest, path, ensure_ascii=True)
    logger.info(f"Wrote {len(manifest)} items to {path}")

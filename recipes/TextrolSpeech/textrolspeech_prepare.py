"""Data preparation for TextrolSpeech (style prompts for speech).

TextrolSpeech (Ji et al., "TextrolSpeech: A Text Style Control Speech
Corpus with Codec Language Text-to-Speech Models", ICASSP 2024;
github.com/jishengpeng/TextrolSpeech) pairs ~236k utterances of emotional
corpora (ESD, CREMA-D, MEAD, TESS, RAVDESS, SAVEE, MESS) and LibriTTS with
a natural-language style prompt and five style factors. Its annotations
are csv files (the ones of ControlSpeech's VccmDataset:
``controlspeech_train.csv``, ``controlspeech_test.csv``)::

    item_name,dur,pitch,energy,gender,emotion,spk,txt,style_prompt
    CREMA-D-AudioWAV-1060_IWL_FEA_XX,low,low,low,F,fear,CREMA-D-1060,I would
        like a new alarm clock,"With a hushed tone and slow speech, ..."
    6904_262291_000067_000000,normal,high,low,M,neutral,...

``item_name`` is the audio file's path below the audio root with ``/``
written ``-`` (``CREMA-D/AudioWAV/1060_IWL_FEA_XX.wav``; folder names
contain ``-`` themselves), or just the file name for LibriTTS
(``LibriTTS/train-clean-100/6904/262291/6904_262291_000067_000000.wav``).
``dur`` (speaking speed), ``pitch`` and ``energy`` are low/normal/high
(``dur`` low = slow speech), ``gender`` M/F.

``data_folder`` is the audio root (the extracted TextrolSpeech speech
archive plus LibriTTS); every wav below it is indexed by every suffix of
its path (so the audio root may sit one or more folders above the corpus
folders), and each row is matched to the one file of that name. Rows whose
audio is missing or ambiguous are skipped, counted and logged. A style
prompt holding two sentences glued together ("...deep pitch.Speaking
rapidly...") gives two descriptions. The training csv is split into train
and valid (``valid_ratio`` of the rows, chosen by a hash of the item name);
the test csv is the test set. One manifest item per row::

    {"CREMA-D-AudioWAV-1060_IWL_FEA_XX": {
      "wav": "{data_root}/CREMA-D/AudioWAV/1060_IWL_FEA_XX.wav",
      "start": null, "stop": null, "duration": 2.1,
      "descriptions": ["With a hushed tone and slow speech, ..."],
      "gender": "F", "emotion": "fear", "pitch": "low", "energy": "low",
      "speed": "slow", "spk": "CREMA-D-1060", "corpus": "CREMA-D",
      "transcript": "I would like a new alarm clock"}}

Authors
 * speechbrain-style contributors 2026
"""

import csv
import hashlib
import os
import re

from speechbrain.utils.logger import get_logger

from speechbrain_style.dataio.audio import AudioError, get_duration
from speechbrain_style.dataio.manifest import (
    format_counts,
    outputs_exist,
    save_manifest,
)

logger = get_logger(__name__)

COLUMNS = (
    "item_name",
    "dur",
    "pitch",
    "energy",
    "gender",
    "emotion",
    "spk",
    "txt",
    "style_prompt",
)
SPEED = {"low": "slow", "normal": "normal", "high": "fast"}
"""``dur`` level -> speaking speed (a low duration level is slow speech)."""

_GLUED = re.compile(r"(?<=[a-z][.!?])(?=[A-Z])")


def prepare_textrolspeech(
    data_folder,
    save_json_train,
    save_json_valid,
    save_json_test,
    train_csv="controlspeech_train.csv",
    test_csv="controlspeech_test.csv",
    valid_ratio=0.05,
    skip_prep=False,
):
    """Writes the train/valid/test manifests of TextrolSpeech.

    Arguments
    ---------
    data_folder : str
        Audio root (see the module docstring).
    save_json_train : str
        Output training manifest.
    save_json_valid : str
        Output validation manifest.
    save_json_test : str
        Output test manifest.
    train_csv : str
        Training annotations (a path, or a file name in ``data_folder``).
    test_csv : str
        Test annotations.
    valid_ratio : float
        Share of the training rows held out for validation.
    skip_prep : bool
        If True, do nothing.

    Returns
    -------
    dict or None
        Items per manifest and skipped rows per manifest and reason;
        None when nothing was done.

    Example
    -------
    >>> from tests.fake_data import make_fake_textrolspeech
    >>> tmp = getfixture("tmp_path")
    >>> root = make_fake_textrolspeech(tmp / "textrol")
    >>> out = [str(tmp / f"{split}.json") for split in ("tr", "va", "te")]
    >>> summary = prepare_textrolspeech(root, *out, valid_ratio=0.2)
    >>> summary["train"] + summary["valid"], summary["test"]
    (9, 3)
    >>> summary["skipped"]["test"]
    {'missing_audio': 1}
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
        raise FileNotFoundError(
            f"TextrolSpeech audio folder not found: {data_folder}"
        )
    if not 0 < valid_ratio < 1:
        raise ValueError(f"valid_ratio must be in (0, 1), got {valid_ratio}")
    index = index_audio(data_folder)
    logger.info(f"Indexed {len(index['paths'])} wav files under {data_folder}")
    rows = {
        "train": read_rows(_in_folder(train_csv, data_folder)),
        "test": read_rows(_in_folder(test_csv, data_folder)),
    }
    held = _held_out([r["item_name"] for r in rows["train"]], valid_ratio)
    splits = {
        "train": [r for r in rows["train"] if r["item_name"] not in held],
        "valid": [r for r in rows["train"] if r["item_name"] in held],
        "test": rows["test"],
    }
    summary = {"skipped": {}}
    for split, split_rows in splits.items():
        manifest, counts = _manifest(split_rows, index, data_folder)
        if not manifest:
            raise ValueError(
                f"No usable TextrolSpeech item in {split}: "
                f"{format_counts(counts) or 'no rows'}"
            )
        save_manifest(manifest, outputs[split])
        summary[split] = len(manifest)
        summary["skipped"][split] = counts
        message = f"TextrolSpeech {split}: {len(manifest)} utterances"
        if counts:
            message += f" (skipped: {format_counts(counts)})"
        logger.info(f"{message} -> {outputs[split]}")
    return summary


def _in_folder(path, folder):
    """``path``, or ``folder/path`` when it is a bare file name there."""
    candidate = os.path.join(folder, path)
    if not os.path.isabs(path) and os.path.isfile(candidate):
        return candidate
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"TextrolSpeech annotation file not found: {path} (nor {candidate})"
        )
    return path


def read_rows(path):
    """The rows of a TextrolSpeech csv, checked.

    Arguments
    ---------
    path : str
        The csv (utf-8).

    Returns
    -------
    list of dict
    """
    with open(path, encoding="utf-8-sig", newline="") as fin:
        reader = csv.DictReader(fin)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"{path} is not a TextrolSpeech csv: missing columns "
                f"{missing} (found {reader.fieldnames})"
            )
        return [
            {key: (value or "").strip() for key, value in row.items()}
            for row in reader
        ]


def index_audio(data_folder):
    """Every wav below ``data_folder``, by every suffix of its path.

    The suffixes of ``a/b/c.wav`` are ``c``, ``b-c`` and ``a-b-c`` (the
    path without extension, ``/`` written ``-``), the form of
    ``item_name``.

    Arguments
    ---------
    data_folder : str
        The audio root.

    Returns
    -------
    dict
        ``{"paths": {suffix: relative path}, "ambiguous": set of suffixes}``.
    """
    paths, ambiguous = {}, set()
    for folder, _, files in os.walk(data_folder):
        for name in files:
            if not name.lower().endswith(".wav"):
                continue
            rel = os.path.relpath(os.path.join(folder, name), data_folder)
            parts = os.path.splitext(rel)[0].split(os.sep)
            for start in range(len(parts)):
                key = "-".join(parts[start:])
                if key in paths and paths[key] != rel:
                    ambiguous.add(key)
                paths.setdefault(key, rel)
    return {"paths": paths, "ambiguous": ambiguous}


def split_prompt(prompt):
    """The descriptions of a style prompt (glued sentences are split).

    Arguments
    ---------
    prompt : str

    Returns
    -------
    list of str

    Example
    -------
    >>> split_prompt("Normal energy, deep pitch.Speaking rapidly, usual.")
    ['Normal energy, deep pitch.', 'Speaking rapidly, usual.']
    """
    parts = [" ".join(p.split()) for p in _GLUED.split(prompt)]
    return [p for p in parts if p]


def _held_out(names, ratio):
    """The item names held out for validation (hash of the name)."""

    def score(name):
        """A stable hash of the item name."""
        return int(hashlib.sha1(name.encode("utf-8")).hexdigest()[:8], 16)

    ranked = sorted(set(names), key=score)
    count = min(len(ranked) - 1, max(1, round(ratio * len(ranked))))
    return set(ranked[:count])


def _corpus(rel, name):
    """The corpus folder of a file: where ``item_name``'s path starts."""
    parts = os.path.splitext(rel)[0].split(os.sep)
    for start in range(len(parts)):
        if "-".join(parts[start:]) == name:
            return parts[start] if start < len(parts) - 1 else parts[0]
    return parts[0]


def _manifest(rows, index, data_folder):
    """Manifest of a split's rows and counts of the skipped ones."""
    manifest, counts = {}, {}

    def skip(reason, detail):
        """Counts a skipped item and logs the first ones of each reason."""
        counts[reason] = counts.get(reason, 0) + 1
        if counts[reason] <= 3:
            logger.warning(f"TextrolSpeech: skipping {detail} ({reason})")

    for row in rows:
        name = row["item_name"]
        if not name:
            skip("rows_without_item_name", row)
            continue
        if name in manifest:
            skip("duplicate_rows", name)
            continue
        descriptions = split_prompt(row["style_prompt"])
        if not descriptions:
            skip("no_style_prompt", name)
            continue
        if name in index["ambiguous"]:
            skip("ambiguous_audio", name)
            continue
        rel = index["paths"].get(name)
        if rel is None:
            skip("missing_audio", name)
            continue
        try:
            duration = get_duration(os.path.join(data_folder, rel))
        except AudioError as err:
            skip("unreadable_audio", f"{name}: {err}")
            continue
        manifest[name] = {
            "wav": "{data_root}/" + rel.replace(os.sep, "/"),
            "start": None,
            "stop": None,
            "duration": round(duration, 3),
            "descriptions": descriptions,
            "gender": row["gender"] or None,
            "emotion": row["emotion"] or None,
            "pitch": row["pitch"] or None,
            "energy": row["energy"] or None,
            "speed": SPEED.get(row["dur"]),
            "dur": row["dur"] or None,
            "spk": row["spk"] or None,
            "corpus": _corpus(rel, name),
            "transcript": row["txt"],
        }
    return manifest, counts

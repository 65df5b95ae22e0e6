"""Data preparation for LibriTTS-P (style and speaker prompts, LibriTTS-R).

LibriTTS-P (Kawamura et al., "LibriTTS-P: A Corpus with Speaking Style and
Speaker Identity Prompts for Text-to-Speech and Style Captioning",
Interspeech 2024; github.com/line/LibriTTS-P; CC BY 4.0) annotates the
utterances of LibriTTS-R (openslr.org/141) with utterance-level style
prompts and every speaker with human speaker-identity prompts. Its
``data/`` folder (``prompts_folder``)::

    metadata_w_style_prompt_tags_v230922.csv   item_name,spk_id,gender,pitch,
        speaking_speed,energy,content_prompt,style_prompt_key,raw_...,invalid
    style_prompt_candidates_v230922.csv        key|prompt;prompt;...  (no
        header; e.g. M_p-low_s-slow_e-low|Ask a low-pitched man to ...)
    df1_en.csv, df2_en.csv, df3_en.csv         spk_id|tag,tag,...  (no
        header; one per annotator, e.g. 83|very feminine,slightly powerful)
    excluded_spk_list.txt      speakers whose samples have two genders
    unannotated_spk_list.txt   speakers without speaker prompts

and the audio of LibriTTS-R (``data_folder``)::

    {subset}/{spk}/{chapter}/{spk}_{chapter}_{para}_{sent}.wav   (24 kHz)
    {subset}/{spk}/{chapter}/{utt}.normalized.txt                (text)

Each utterance's descriptions are ``num_style_prompts`` candidates of its
style key (chosen by a hash of the utterance, so always the same ones;
``None``: all of them) and, with ``speaker_prompts``, one sentence per
annotator of its speaker built from the annotator's tags ("A voice that is
very feminine, slightly powerful and clear."). Metadata: ``gender``,
``pitch``, ``speaking_speed``, ``energy`` (the style factors), the
speaker's ``speaker_tags`` (tags without "slightly"/"very", given by at
least two annotators, or by the only one), ``spk_id``, ``chapter``,
``subset``, ``style_prompt_key`` and the transcript. Utterances of
excluded speakers, without a metadata row or marked ``invalid`` are
skipped, counted and logged. Train: the training subsets; valid:
dev-clean; test: test-clean (by default)::

    {"1089_134686_000001_000001": {
      "wav": "{data_root}/test-clean/1089/134686/1089_134686_000001_000001.wav",
      "start": null, "stop": null, "duration": 3.2,
      "descriptions": ["A man with a low-pitched voice speaks ...", ...,
                       "A voice that is masculine, adult-like and calm."],
      "gender": "M", "pitch": "low", "speaking_speed": "normal",
      "energy": "normal", "speaker_tags": ["adult-like", "calm", ...],
      "spk_id": "1089", "chapter": "134686", "subset": "test-clean",
      "style_prompt_key": "M_p-low_s-normal_e-normal", "transcript": "..."}}

Authors
 * speechbrain-style contributors 2026
"""

import csv
import hashlib
import os

from speechbrain.utils.logger import get_logger

from speechbrain_style.dataio.audio import AudioError, get_duration
from speechbrain_style.dataio.manifest import (
    format_counts,
    outputs_exist,
    save_manifest,
)

logger = get_logger(__name__)

METADATA_FILE = "metadata_w_style_prompt_tags_v230922.csv"
STYLE_PROMPTS_FILE = "style_prompt_candidates_v230922.csv"
SPEAKER_PROMPT_FILES = ("df1_en.csv", "df2_en.csv", "df3_en.csv")
EXCLUDED_FILE = "excluded_spk_list.txt"
UNANNOTATED_FILE = "unannotated_spk_list.txt"
METADATA_COLUMNS = (
    "item_name",
    "spk_id",
    "gender",
    "pitch",
    "speaking_speed",
    "energy",
    "style_prompt_key",
)
TRAIN_SUBSETS = ("train-clean-100", "train-clean-360", "train-other-500")
DEGREE_WORDS = ("slightly ", "very ")


def prepare_libritts_p(
    data_folder,
    save_json_train,
    save_json_valid,
    save_json_test,
    prompts_folder,
    train_subsets=TRAIN_SUBSETS,
    valid_subsets=("dev-clean",),
    test_subsets=("test-clean",),
    num_style_prompts=5,
    speaker_prompts=True,
    skip_prep=False,
):
    """Writes the train/valid/test manifests of LibriTTS-P.

    Arguments
    ---------
    data_folder : str
        LibriTTS-R (the folder holding the subsets).
    save_json_train : str
        Output training manifest.
    save_json_valid : str
        Output validation manifest.
    save_json_test : str
        Output test manifest.
    prompts_folder : str
        The LibriTTS-P annotations (its ``data/`` folder, or the repository
        holding it).
    train_subsets : sequence of str
        LibriTTS-R subsets of the training manifest (those present).
    valid_subsets : sequence of str
        Subsets of the validation manifest.
    test_subsets : sequence of str
        Subsets of the test manifest.
    num_style_prompts : int, optional
        Style prompts per utterance (None: all candidates of its key).
    speaker_prompts : bool
        Add one description per annotator of the speaker.
    skip_prep : bool
        If True, do nothing.

    Returns
    -------
    dict or None
        Items per manifest and skipped utterances per manifest and reason;
        None when nothing was done.

    Example
    -------
    >>> from tests.fake_data import make_fake_libritts_p
    >>> tmp = getfixture("tmp_path")
    >>> tree = make_fake_libritts_p(tmp / "libritts")
    >>> out = [str(tmp / f"{split}.json") for split in ("tr", "va", "te")]
    >>> summary = prepare_libritts_p(
    ...     f"{tree}/LibriTTS_R", *out, prompts_folder=f"{tree}/LibriTTS-P")
    >>> summary["train"], summary["valid"], summary["test"]
    (5, 2, 2)
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
        raise FileNotFoundError(f"LibriTTS-R folder not found: {data_folder}")
    if num_style_prompts is not None and num_style_prompts < 1:
        raise ValueError(
            f"num_style_prompts must be >= 1 or None, got {num_style_prompts}"
        )
    prompts_folder = _annotation_folder(prompts_folder)
    metadata = read_metadata(os.path.join(prompts_folder, METADATA_FILE))
    style_prompts = read_style_prompts(
        os.path.join(prompts_folder, STYLE_PROMPTS_FILE)
    )
    speakers = read_speaker_prompts(prompts_folder) if speaker_prompts else {}
    excluded = _read_ids(os.path.join(prompts_folder, EXCLUDED_FILE))
    plan = {
        "train": train_subsets,
        "valid": valid_subsets,
        "test": test_subsets,
    }
    summary = {"skipped": {}}
    for split, subsets in plan.items():
        if isinstance(subsets, str):
            subsets = [subsets]
        present = [
            s for s in subsets if os.path.isdir(os.path.join(data_folder, s))
        ]
        if not present:
            raise FileNotFoundError(
                f"None of the LibriTTS-R subsets {list(subsets)} of the "
                f"{split} split is in {data_folder}"
            )
        manifest, counts = {}, {}
        for subset in present:
            _add_subset(
                manifest,
                counts,
                data_folder,
                subset,
                metadata,
                style_prompts,
                speakers,
                excluded,
                num_style_prompts,
            )
        if not manifest:
            raise ValueError(
                f"No usable LibriTTS-P utterance in {present}: "
                f"{format_counts(counts) or 'no audio'}"
            )
        save_manifest(manifest, outputs[split])
        summary[split] = len(manifest)
        summary["skipped"][split] = counts
        message = f"LibriTTS-P {'+'.join(present)}: {len(manifest)} utterances"
        if counts:
            message += f" (skipped: {format_counts(counts)})"
        logger.info(f"{message} -> {outputs[split]}")
    return summary


def _annotation_folder(folder):
    """The folder holding the LibriTTS-P csv files (``folder`` or its
    ``data/``)."""
    for candidate in (folder, os.path.join(folder, "data")):
        if os.path.isfile(os.path.join(candidate, METADATA_FILE)):
            return candidate
    raise FileNotFoundError(
        f"{METADATA_FILE} not found in {folder} nor in {folder}/data: give "
        "the LibriTTS-P annotations (github.com/line/LibriTTS-P, data/)"
    )


def _read_ids(path):
    """Speaker ids listed one per line (empty set if the file is absent)."""
    if not os.path.isfile(path):
        return set()
    with open(path, encoding="utf-8") as fin:
        return {line.strip() for line in fin if line.strip()}


def read_metadata(path):
    """``{item_name: row}`` of the metadata csv (checked columns).

    Arguments
    ---------
    path : str
        ``metadata_w_style_prompt_tags_v230922.csv``.

    Returns
    -------
    dict
    """
    with open(path, encoding="utf-8-sig", newline="") as fin:
        reader = csv.DictReader(fin)
        missing = [
            c for c in METADATA_COLUMNS if c not in (reader.fieldnames or [])
        ]
        if missing:
            raise ValueError(
                f"{path} is not the LibriTTS-P metadata: missing columns "
                f"{missing}"
            )
        return {row["item_name"].strip(): row for row in reader}


def read_style_prompts(path):
    """``{style_prompt_key: [prompts]}`` of the candidates file.

    Arguments
    ---------
    path : str
        ``style_prompt_candidates_v230922.csv`` (``key|p1;p2;...``).

    Returns
    -------
    dict
    """
    prompts = {}
    with open(path, encoding="utf-8-sig") as fin:
        for number, line in enumerate(fin, start=1):
            if not line.strip():
                continue
            key, sep, texts = line.rstrip("\n").partition("|")
            if not sep:
                raise ValueError(f"{path}, line {number}: no '|' after the key")
            prompts[key.strip()] = [
                " ".join(t.split()) for t in texts.split(";") if t.strip()
            ]
    return prompts


def read_speaker_prompts(folder):
    """``{spk_id: [tags of each annotator]}`` of the df*_en.csv files.

    Arguments
    ---------
    folder : str
        The annotation folder.

    Returns
    -------
    dict
    """
    speakers = {}
    found = False
    for name in SPEAKER_PROMPT_FILES:
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            continue
        found = True
        with open(path, encoding="utf-8-sig") as fin:
            for line in fin:
                spk, sep, tags = line.strip().partition("|")
                if not sep:
                    continue
                tags = [t.strip() for t in tags.split(",") if t.strip()]
                if tags:
                    speakers.setdefault(spk.strip(), []).append(tags)
    if not found:
        logger.warning(f"No speaker prompt file (df*_en.csv) in {folder}")
    return speakers


def speaker_sentence(tags):
    """A description of a speaker from one annotator's tags.

    Arguments
    ---------
    tags : list of str

    Returns
    -------
    str

    Example
    -------
    >>> speaker_sentence(["very feminine", "slightly powerful", "clear"])
    'A voice that is very feminine, slightly powerful and clear.'
    """
    if len(tags) == 1:
        listed = tags[0]
    else:
        listed = ", ".join(tags[:-1]) + " and " + tags[-1]
    return f"A voice that is {listed}."


def base_tag(tag):
    """A tag without its degree word ("slightly young" -> "young")."""
    for word in DEGREE_WORDS:
        if tag.startswith(word):
            return tag[len(word) :]
    return tag


def majority_tags(annotations):
    """Base tags given by at least two annotators (or the only one).

    Arguments
    ---------
    annotations : list of list of str

    Returns
    -------
    list of str

    Example
    -------
    >>> majority_tags([["slightly young", "calm"], ["young"], ["calm", "dark"]])
    ['calm', 'young']
    """
    counts = {}
    for tags in annotations:
        for tag in {base_tag(t) for t in tags}:
            counts[tag] = counts.get(tag, 0) + 1
    need = 1 if len(annotations) == 1 else 2
    return sorted(tag for tag, n in counts.items() if n >= need)


def choose_prompts(candidates, utt_id, num):
    """``num`` of a key's candidates, chosen by a hash of the utterance."""
    if num is None or num >= len(candidates):
        return list(candidates)
    ranked = sorted(
        candidates,
        key=lambda t: hashlib.sha1(f"{utt_id}|{t}".encode()).hexdigest(),
    )
    chosen = set(ranked[:num])
    return [t for t in candidates if t in chosen]


def _add_subset(
    manifest,
    counts,
    data_folder,
    subset,
    metadata,
    style_prompts,
    speakers,
    excluded,
    num_style_prompts,
):
    """Adds the usable utterances of one LibriTTS-R subset."""

    def skip(reason, detail):
        """Counts a skipped item and logs the first ones of each reason."""
        counts[reason] = counts.get(reason, 0) + 1
        if counts[reason] <= 3:
            logger.warning(f"LibriTTS-P {subset}: skipping {detail} ({reason})")

    root = os.path.join(data_folder, subset)
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(".wav"):
                continue
            utt_id = name[: -len(".wav")]
            rel = os.path.relpath(os.path.join(folder, name), data_folder)
            parts = rel.split(os.sep)
            if len(parts) != 4:
                skip("unexpected_path", rel)
                continue
            _, spk, chapter, _ = parts
            row = metadata.get(utt_id)
            if row is None:
                skip("no_metadata_row", utt_id)
                continue
            if spk in excluded:
                skip("excluded_speaker", utt_id)
                continue
            if str(row.get("invalid", "0")).strip() == "1":
                skip("invalid", utt_id)
                continue
            key = row["style_prompt_key"].strip()
            if key not in style_prompts:
                skip("unknown_style_prompt_key", f"{utt_id} ({key})")
                continue
            path = os.path.join(data_folder, rel)
            try:
                duration = get_duration(path)
            except AudioError as err:
                skip("unreadable_audio", f"{utt_id}: {err}")
                continue
            descriptions = choose_prompts(
                style_prompts[key], utt_id, num_style_prompts
            )
            annotations = speakers.get(spk, [])
            descriptions += [speaker_sentence(tags) for tags in annotations]
            manifest[utt_id] = {
                "wav": "{data_root}/" + rel.replace(os.sep, "/"),
                "start": None,
                "stop": None,
                "duration": round(duration, 3),
                "descriptions": descriptions,
                "gender": row["gender"].strip() or None,
                "pitch": row["pitch"].strip() or None,
                "speaking_speed": row["speaking_speed"].strip() or None,
                "energy": row["energy"].strip() or None,
                "speaker_tags": majority_tags(annotations) or None,
                "spk_id": spk,
                "chapter": chapter,
                "subset": subset,
                "style_prompt_key": key,
                "transcript": _transcript(path),
            }


def _transcript(wav_path):
    """The ``.normalized.txt`` next to a wav, or None."""
    path = wav_path[: -len(".wav")] + ".normalized.txt"
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as fin:
        return fin.read().strip()

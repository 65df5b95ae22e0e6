"""Data preparation for ParaSpeechCaps (rich style captions of speech).

ParaSpeechCaps (Diwan, Zheng, Harwath and Choi, "Scaling Rich
Style-Prompted Text-to-Speech Datasets", 2025, arXiv:2503.04713; CC BY-NC-SA
4.0) annotates speech from VoxCeleb, Expresso, EARS and Emilia with one or
two free-text style descriptions each and style tags. It distributes
annotations only, as the Hugging Face dataset ``ajd12342/paraspeechcaps``::

    <data_folder>/                       (a download of the dataset repo)
        data/train_base-00000-of-00001.parquet    (human-annotated)
        data/train_scaled-000NN-of-000MM.parquet  (automatically annotated)
        data/dev-00000-of-00001.parquet
        data/holdout-00000-of-00001.parquet       (held-out speakers)

(JSON-lines exports ``<split>.jsonl``, e.g. from ``datasets``'
``to_json``, are read too.) Columns used: ``source`` (VoxCeleb, Expresso,
EARS, Emilia), ``relative_audio_path`` (relative to that source's audio
root), ``text_description`` (1-2 descriptions), ``transcription``,
``intrinsic_tags`` / ``situational_tags`` (lists or null), ``basic_tags``,
``speakerid``, ``name``, ``gender``, ``accent``, ``pitch``,
``speaking_rate``, ``noise``, ``duration``.

The audio comes from the four source corpora, which you download and
preprocess as the ParaSpeechCaps repository describes (VoxCeleb2 m4a ->
wav, loudness normalisation, Voicefixer, Expresso VAD segments); give each
source's root (``voxceleb_root``, ...). Manifest paths keep one placeholder
per source (``{voxceleb_root}/voxceleb1/dev/wav/...``), filled when the
recipe loads the data. One item per annotated utterance::

    {"expresso/audio_48khz/read/ex01/happy/base/ex01_happy_00001": {
      "wav": "{expresso_root}/audio_48khz/read/ex01/happy/base/...wav",
      "start": null, "stop": null, "duration": 3.1,
      "descriptions": ["A female speaker delivers a happy ...", "..."],
      "source": "expresso", "speakerid": "ex01", "name": "ex01",
      "gender": "female", "accent": null, "pitch": "high-pitched",
      "speaking_rate": "measured speed", "noise": "...",
      "intrinsic_tags": [...], "situational_tags": ["happy"],
      "basic_tags": [...], "transcription": "...", "split": "train_base"}}

Rows of a source without an audio root, rows whose audio file is missing
and rows without a description are skipped, counted per split and reason,
and logged.

Authors
 * speechbrain-style contributors 2026
"""

import glob
import json
import os

from speechbrain.utils.logger import get_logger

from speechbrain_style.dataio.audio import AudioError, get_duration
from speechbrain_style.dataio.manifest import (
    format_counts,
    outputs_exist,
    save_manifest,
)

logger = get_logger(__name__)

SOURCES = ("voxceleb", "expresso", "ears", "emilia")
"""Source corpora of ParaSpeechCaps (lower-cased ``source`` values)."""

SPLITS = ("train_base", "train_scaled", "dev", "holdout")
"""Splits of the Hugging Face dataset."""

METADATA = (
    "speakerid",
    "name",
    "gender",
    "accent",
    "pitch",
    "speaking_rate",
    "noise",
    "intrinsic_tags",
    "situational_tags",
    "basic_tags",
    "transcription",
)
REQUIRED_COLUMNS = ("source", "relative_audio_path", "text_description")


def prepare_paraspeechcaps(
    data_folder,
    save_json_train,
    save_json_valid,
    save_json_test,
    voxceleb_root=None,
    expresso_root=None,
    ears_root=None,
    emilia_root=None,
    train_splits=("train_base",),
    valid_split="dev",
    test_split="holdout",
    skip_prep=False,
):
    """Writes the train/valid/test manifests of ParaSpeechCaps.

    Arguments
    ---------
    data_folder : str
        The annotations (``data/<split>-*.parquet`` or ``<split>.jsonl``).
    save_json_train : str
        Manifest of ``train_splits``.
    save_json_valid : str
        Manifest of ``valid_split``.
    save_json_test : str
        Manifest of ``test_split``.
    voxceleb_root : str, optional
        Audio root of VoxCeleb (``voxceleb1/``, ``voxceleb2/``).
    expresso_root : str, optional
        Audio root of Expresso (``audio_48khz/``).
    ears_root : str, optional
        Audio root of EARS (``p001/`` ...).
    emilia_root : str, optional
        Audio root of Emilia (``EN/``).
    train_splits : sequence of str
        Splits of the training manifest: ``train_base`` (human
        annotations), ``train_scaled`` (automatic) or both.
    valid_split : str
        Split of the validation manifest.
    test_split : str
        Split of the test manifest (``holdout``: unseen speakers).
    skip_prep : bool
        If True, do nothing.

    Returns
    -------
    dict or None
        Items per manifest (``train``, ``valid``, ``test``) and skipped rows
        per manifest and reason (``skipped``); None when nothing was done.

    Example
    -------
    >>> from tests.fake_data import (
    ...     make_fake_paraspeechcaps, paraspeechcaps_roots)
    >>> tmp = getfixture("tmp_path")
    >>> tree = make_fake_paraspeechcaps(tmp / "psc")
    >>> out = [str(tmp / f"{split}.json") for split in ("tr", "va", "te")]
    >>> summary = prepare_paraspeechcaps(f"{tree}/annotations", *out,
    ...     **paraspeechcaps_roots(tree))
    >>> summary["train"], summary["valid"], summary["test"]
    (7, 2, 3)
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
            f"ParaSpeechCaps annotation folder not found: {data_folder}"
        )
    if isinstance(train_splits, str):
        train_splits = [train_splits]
    roots = {
        "voxceleb": voxceleb_root,
        "expresso": expresso_root,
        "ears": ears_root,
        "emilia": emilia_root,
    }
    for source, root in roots.items():
        if root is not None and not os.path.isdir(root):
            raise FileNotFoundError(f"{source}_root not found: {root}")
    if not any(roots.values()):
        raise ValueError(
            "Give the audio root of at least one source corpus "
            f"({', '.join(f'{s}_root' for s in SOURCES)})"
        )
    plan = {
        "train": list(train_splits),
        "valid": [valid_split],
        "test": [test_split],
    }
    summary = {"skipped": {}}
    for key, splits in plan.items():
        manifest, counts = {}, {}
        for split in splits:
            rows = read_annotations(data_folder, split)
            _add_rows(manifest, counts, rows, split, roots)
        if not manifest:
            raise ValueError(
                f"No usable ParaSpeechCaps item for {key} ({splits}): "
                f"{format_counts(counts) or 'no rows'}"
            )
        save_manifest(manifest, outputs[key])
        summary[key] = len(manifest)
        summary["skipped"][key] = counts
        message = (
            f"ParaSpeechCaps {'+'.join(splits)}: {len(manifest)} utterances "
            f"-> {outputs[key]}"
        )
        if counts:
            message += f" (skipped: {format_counts(counts)})"
        logger.info(message)
    return summary


def annotation_files(data_folder, split):
    """The annotation files of a split (parquet shards or a JSON-lines file).

    Arguments
    ---------
    data_folder : str
        The annotation folder.
    split : str
        A split name.

    Returns
    -------
    list of str

    Raises
    ------
    FileNotFoundError
        Naming what was looked for.
    """
    patterns = [
        os.path.join(data_folder, "data", f"{split}-*.parquet"),
        os.path.join(data_folder, f"{split}-*.parquet"),
        os.path.join(data_folder, f"{split}.parquet"),
        os.path.join(data_folder, f"{split}.jsonl"),
        os.path.join(data_folder, "data", f"{split}.jsonl"),
    ]
    for pattern in patterns:
        found = sorted(glob.glob(pattern))
        if found:
            return found
    raise FileNotFoundError(
        f"No annotation of the ParaSpeechCaps split {split!r} in "
        f"{data_folder} (looked for data/{split}-*.parquet and {split}.jsonl)"
    )


def read_annotations(data_folder, split):
    """Yields the annotation rows (dicts) of a split.

    Arguments
    ---------
    data_folder : str
        The annotation folder.
    split : str
        A split name.

    Yields
    ------
    dict
        One row.
    """
    for path in annotation_files(data_folder, split):
        if path.endswith(".parquet"):
            try:
                import pyarrow.parquet as pq
            except ImportError as err:  # pragma: no cover
                raise ImportError(
                    f"Reading {path} needs pyarrow (pip install "
                    "speechbrain-style[paraspeechcaps]), or export the split "
                    "as JSON lines"
                ) from err
            shard = pq.ParquetFile(path)
            missing = [
                c for c in REQUIRED_COLUMNS if c not in shard.schema_arrow.names
            ]
            if missing:
                raise ValueError(
                    f"{path} is not a ParaSpeechCaps annotation file: no "
                    f"columns {missing} (found {shard.schema_arrow.names})"
                )
            for batch in shard.iter_batches(batch_size=4096):
                yield from batch.to_pylist()
        else:
            with open(path, encoding="utf-8") as fin:
                for number, line in enumerate(fin, start=1):
                    if not line.strip():
                        continue
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as err:
                        raise ValueError(
                            f"{path}, line {number}: not JSON ({err})"
                        ) from err


def _add_rows(manifest, counts, rows, split, roots):
    """Adds the usable rows of a split to ``manifest``; counts the others."""

    def skip(reason, detail):
        """Counts a skipped item and logs the first ones of each reason."""
        counts[reason] = counts.get(reason, 0) + 1
        if counts[reason] <= 3:
            logger.warning(
                f"ParaSpeechCaps {split}: skipping {detail} ({reason})"
            )

    for row in rows:
        source = str(row.get("source") or "").strip().lower()
        relative = str(row.get("relative_audio_path") or "").strip()
        if source not in SOURCES:
            skip("unknown_source", f"{relative} (source {source!r})")
            continue
        if not roots[source]:
            skip(f"no_{source}_root", relative)
            continue
        descriptions = [
            " ".join(str(d).split())
            for d in row.get("text_description") or []
            if d and str(d).strip()
        ]
        if not descriptions:
            skip("no_description", relative)
            continue
        path = os.path.join(roots[source], relative)
        if not os.path.isfile(path):
            skip("missing_audio", path)
            continue
        item_id = f"{source}/{os.path.splitext(relative)[0]}"
        if item_id in manifest:
            skip("duplicate_row", item_id)
            continue
        duration = _duration(row.get("duration"))
        if duration is None:
            try:
                duration = round(get_duration(path), 3)
            except AudioError as err:
                skip("unreadable_audio", f"{path}: {err}")
                continue
        item = {
            "wav": "{" + f"{source}_root" + "}/" + relative,
            "start": None,
            "stop": None,
            "duration": duration,
            "descriptions": descriptions,
            "source": source,
        }
        for key in METADATA:
            value = row.get(key)
            item[key] = (
                list(value) if isinstance(value, (list, tuple)) else value
            )
        item["split"] = split
        manifest[item_id] = item


def _duration(value):
    """The annotation's duration as a rounded float (None if absent)."""
    try:
        return None if value is None else round(float(value), 3)
    except (TypeError, ValueError):
        return None

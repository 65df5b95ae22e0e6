"""Manifests of recordings with free-text descriptions: reading, checking.

A descriptions manifest lists recordings, each with one or more free-text
descriptions of how it is spoken and any metadata fields. Two formats:

* SpeechBrain JSON: ``{item_id: {"wav": "{data_root}/a.wav", "descriptions":
  ["A woman whispering.", "Someone speaking softly."], "start": 1.5,
  "stop": 4.0, "gender": "female", "tags": ["whispered", "slow"]}}``;
* SpeechBrain CSV: an ``ID`` column, ``wav`` (``$data_root/a.wav``),
  ``descriptions`` with several descriptions separated by ``|``, optional
  ``start``/``stop``/``duration`` and metadata columns (strings).

``start``/``stop`` (seconds) cut a segment of the file. Everything else is
metadata, kept as it is. Reading fails with a message naming the file, the
item and the field on what would otherwise surface much later: a file that
is not UTF-8 (with the line and byte), invalid JSON, an item without
descriptions, an empty or non-text description.

Authors
 * speechbrain-style contributors 2026
"""

import csv
import io
import json
import os

DESCRIPTION_SEPARATOR = "|"
"""Separator of several descriptions in one CSV cell."""

RESERVED_FIELDS = ("wav", "start", "stop", "duration")


def with_transcript(description, transcript, rng):
    """Quotes the spoken words before or after a description (at random).

    Words that say nothing about the speaking style, in the description:
    the text side learns to ignore them, as it must for the unseen wordings
    of real queries ("Here, somebody reads a sentence ..."). Without it, a
    query's unseen frame words land near whatever trained words they
    resemble, and the model retrieves by those.

    Arguments
    ---------
    description : str
        A style description.
    transcript : str
        What is said in the recording.
    rng : random.Random or numpy.random.Generator
        Chooses the side (anything with a ``random()`` method).

    Returns
    -------
    str

    Example
    -------
    >>> import random
    >>> rng = random.Random(0)
    >>> sides = {with_transcript("A man.", " Hi. ", rng) for _ in range(9)}
    >>> sorted(sides)
    ['"Hi." A man.', 'A man. "Hi."']
    """
    quote = f'"{transcript.strip()}"'
    if rng.random() < 0.5:
        return f"{quote} {description}"
    return f"{description} {quote}"


def check_transcript_option(field, probability, fields):
    """Checks the transcript-quoting options against the manifest's fields.

    Arguments
    ---------
    field : str or None
        The metadata field holding the transcript.
    probability : float
        Share of the training descriptions that quote it (0: off).
    fields : set of str
        The fields of the manifests' items.

    Raises
    ------
    ValueError
        A probability outside [0, 1], or quoting without a (known) field.

    Example
    -------
    >>> check_transcript_option("text", 0.5, {"wav", "text"})
    >>> check_transcript_option("words", 0.5, {"text"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: transcript_field 'words' is not a field of the manifests ...
    """
    if isinstance(probability, bool) or not 0.0 <= probability <= 1.0:
        raise ValueError(
            f"transcript_probability must be in [0, 1], got {probability!r}"
        )
    if probability and not field:
        raise ValueError("transcript_probability > 0 needs a transcript_field")
    if probability and field not in fields:
        raise ValueError(
            f"transcript_field {field!r} is not a field of the manifests "
            f"(their fields: {sorted(fields)})"
        )


class ManifestError(ValueError):
    """A descriptions manifest that cannot be used (the message says why)."""


def read_text_utf8(path):
    """The text of a file that must be UTF-8 (a BOM is dropped).

    Arguments
    ---------
    path : str
        The file.

    Returns
    -------
    str

    Raises
    ------
    ManifestError
        Naming the file, line, column and byte if it is not UTF-8.

    Example
    -------
    >>> path = getfixture("tmp_path") / "bad.csv"
    >>> _ = path.write_bytes(b"ID,wav\\nu1,caf\\xe9.wav\\n")
    >>> try:
    ...     read_text_utf8(path)
    ... except ManifestError as e:
    ...     print(str(e).split(":")[0])
    Manifest ... is not UTF-8 text (line 2, column 7, byte 0xe9)
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Manifest not found: {path}")
    with open(path, "rb") as fin:
        raw = fin.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        raise ManifestError(
            f"Manifest {path} is not UTF-8 text (line {line}, column "
            f"{column}, byte 0x{raw[err.start]:02x}): save it as UTF-8, e.g. "
            f"iconv -f latin1 -t utf-8 {os.path.basename(path)}"
        ) from err
    return text.lstrip("\ufeff")


def _number(value, field, item_id, path):
    """A float (or None) from a manifest value, with a clear error."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise ManifestError(
            f"Manifest {path}, item {item_id!r}: {field} must be a number of "
            f"seconds, got {value!r}"
        ) from err


def _read_json(path, text):
    """Items of a JSON manifest."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ManifestError(
            f"Manifest {path} is not valid JSON: {err}"
        ) from err
    if not isinstance(data, dict):
        raise ManifestError(
            f"Manifest {path} must map item ids to items, got a "
            f"{type(data).__name__}"
        )
    return data


def _read_csv(path, text, separator):
    """Items of a SpeechBrain CSV manifest (``$data_root`` kept as a
    ``{data_root}`` placeholder)."""
    reader = csv.DictReader(
        io.StringIO(text, newline=""), skipinitialspace=True
    )
    if reader.fieldnames is None or "ID" not in reader.fieldnames:
        raise ManifestError(
            f"Manifest {path}: a CSV manifest needs an 'ID' column (found "
            f"{reader.fieldnames})"
        )
    data = {}
    for line, row in enumerate(reader, start=2):
        if None in row:
            raise ManifestError(
                f"Manifest {path}, line {line}: more cells than columns "
                "(quote cells that contain commas)"
            )
        item_id = (row.pop("ID") or "").strip()
        if not item_id:
            raise ManifestError(f"Manifest {path}, line {line}: empty ID")
        if item_id in data:
            raise ManifestError(
                f"Manifest {path}, line {line}: duplicate ID {item_id!r}"
            )
        item = {}
        for key, value in row.items():
            if isinstance(value, str):
                value = value.replace("$data_root", "{data_root}")
            item[key] = value
        if isinstance(item.get("descriptions"), str):
            item["descriptions"] = item["descriptions"].split(separator)
        data[item_id] = item
    return data


def check_descriptions(descriptions, item_id, path, key="descriptions"):
    """The cleaned list of an item's descriptions, or a clear error.

    Arguments
    ---------
    descriptions : list of str or str
        The item's value (one str counts as one description).
    item_id : str
        For the message.
    path : str
        For the message.
    key : str
        Name of the field, for the message.

    Returns
    -------
    list of str
        Stripped, single-spaced, in order.

    Example
    -------
    >>> check_descriptions([" A man  speaking. "], "u1", "m.json")
    ['A man speaking.']
    >>> try:
    ...     check_descriptions(["A man.", " "], "u1", "m.json")
    ... except ManifestError as e:
    ...     print(e)
    Manifest m.json, item 'u1': description 2 of 'descriptions' is empty
    """
    if isinstance(descriptions, str):
        descriptions = [descriptions]
    if not isinstance(descriptions, (list, tuple)) or not descriptions:
        raise ManifestError(
            f"Manifest {path}, item {item_id!r}: {key!r} must be a non-empty "
            f"list of descriptions, got {descriptions!r}"
        )
    cleaned = []
    for n, text in enumerate(descriptions, start=1):
        if not isinstance(text, str):
            raise ManifestError(
                f"Manifest {path}, item {item_id!r}: description {n} of "
                f"{key!r} is not text but {text!r}"
            )
        text = " ".join(text.split())
        if not text:
            raise ManifestError(
                f"Manifest {path}, item {item_id!r}: description {n} of "
                f"{key!r} is empty"
            )
        cleaned.append(text)
    return cleaned


def read_description_manifest(
    path, description_key="descriptions", separator=DESCRIPTION_SEPARATOR
):
    """Reads and checks a descriptions manifest (JSON or CSV).

    Placeholders (``{data_root}``) are kept; ``start``/``stop``/``duration``
    become floats (or None); descriptions are checked and cleaned; the
    description field is renamed ``descriptions``.

    Arguments
    ---------
    path : str
        ``.json`` or ``.csv`` manifest.
    description_key : str
        Field (column) holding the descriptions.
    separator : str
        Separator of several descriptions in a CSV cell.

    Returns
    -------
    dict
        ``{item_id: {"wav", "start", "stop", "duration", "descriptions",
        **metadata}}`` in file order.

    Raises
    ------
    ManifestError
        On a file that is not UTF-8, invalid JSON/CSV, a missing ``wav``,
        missing, empty or non-text descriptions (naming file and item).

    Example
    -------
    >>> path = getfixture("tmp_path") / "train.csv"
    >>> _ = path.write_text(
    ...     "ID,wav,descriptions,gender\\n"
    ...     "u1,$data_root/u1.wav,A man speaking.|Slow speech.,male\\n",
    ...     encoding="utf-8")
    >>> item = read_description_manifest(path)["u1"]
    >>> item["wav"], item["descriptions"], item["gender"]
    ('{data_root}/u1.wav', ['A man speaking.', 'Slow speech.'], 'male')
    """
    path = os.fspath(path)
    text = read_text_utf8(path)
    if path.lower().endswith(".csv"):
        data = _read_csv(path, text, separator)
    elif path.lower().endswith(".json"):
        data = _read_json(path, text)
    else:
        raise ManifestError(
            f"Manifest {path}: unknown format (expected .json or .csv)"
        )
    if not data:
        raise ManifestError(f"Manifest {path} contains no items")
    with_key = sum(
        isinstance(item, dict) and description_key in item
        for item in data.values()
    )
    if with_key == 0:
        raise ManifestError(
            f"Manifest {path} has no {description_key!r} field: every item "
            f"needs its free-text descriptions (a list in JSON; in CSV one "
            f"column with descriptions separated by {separator!r})"
        )
    items = {}
    for item_id, item in data.items():
        if not isinstance(item, dict):
            raise ManifestError(
                f"Manifest {path}, item {item_id!r} is not an object but a "
                f"{type(item).__name__}"
            )
        if not item.get("wav"):
            raise ManifestError(
                f"Manifest {path}, item {item_id!r} has no 'wav' (the audio "
                "file)"
            )
        if description_key not in item:
            raise ManifestError(
                f"Manifest {path}, item {item_id!r} has no {description_key!r}"
                f" ({with_key} of {len(data)} items have it)"
            )
        descriptions = check_descriptions(
            item[description_key], item_id, path, description_key
        )
        out = {
            "wav": str(item["wav"]),
            "start": _number(item.get("start"), "start", item_id, path),
            "stop": _number(item.get("stop"), "stop", item_id, path),
            "duration": _number(
                item.get("duration"), "duration", item_id, path
            ),
            "descriptions": descriptions,
        }
        if out["start"] is not None and out["start"] < 0:
            raise ManifestError(
                f"Manifest {path}, item {item_id!r}: start must be >= 0"
            )
        if (
            out["start"] is not None
            and out["stop"] is not None
            and out["stop"] <= out["start"]
        ):
            raise ManifestError(
                f"Manifest {path}, item {item_id!r}: stop ({out['stop']}) must "
                f"be > start ({out['start']})"
            )
        for key, value in item.items():
            if key not in RESERVED_FIELDS and key != description_key:
                out[key] = value
        items[str(item_id)] = out
    return items

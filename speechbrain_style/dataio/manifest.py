"""Manifests of audio items: reading, checking, writing, folder scans.

SpeechBrain JSON manifests (``{id: {"wav": ..., ...}}``) are read with
SpeechBrain's ``load_data_json`` (``{data_root}`` placeholders included)
behind one-line errors for the cases users hit (missing, not UTF-8, not
JSON, not a dict, an id twice, an item without a usable ``wav``);
:func:`scan_audio_dir` lists a folder as a manifest and counts what it
cannot read. The dataset preparation scripts share :func:`outputs_exist`,
:func:`save_manifest` (atomic) and :func:`format_counts`.

Authors
 * speechbrain-style contributors 2026
"""

import json
import os
import pathlib

from speechbrain.dataio.dataio import load_data_json
from speechbrain.utils.logger import get_logger

from speechbrain_style.dataio.audio import (
    _EXTENSION_FORMATS,
    _UNREADABLE_AUDIO_EXTENSIONS,
    AUDIO_EXTENSIONS,
    _why,
)
from speechbrain_style.dataio.files import atomic_write

logger = get_logger(__name__)


def outputs_exist(paths):
    """Tells whether every output of a preparation already exists.

    Logs "Preparation completed in previous run, skipping." when they do.

    Arguments
    ---------
    paths : iterable of str or os.PathLike
        The files a preparation writes (e.g. the three manifests).

    Returns
    -------
    bool
        True if every path is an existing file.

    Example
    -------
    >>> tmp = getfixture("tmp_path")
    >>> _ = (tmp / "a.json").write_text("{}")
    >>> outputs_exist([tmp / "a.json"])
    True
    >>> outputs_exist([tmp / "a.json", tmp / "b.json"])
    False
    """
    if all(os.path.isfile(path) for path in paths):
        logger.info("Preparation completed in previous run, skipping.")
        return True
    return False


def save_manifest(data, path, ensure_ascii=False):
    """Writes a JSON manifest atomically, creating its folder.

    The data (utf-8, indent 2) is written through
    :func:`speechbrain_style.dataio.files.atomic_write` (a unique temporary
    file moved over ``path``), so no partial manifest is left behind if the
    writing is interrupted.

    Arguments
    ---------
    data : dict
        The manifest (item id -> item fields).
    path : str or os.PathLike
        Where to write it.
    ensure_ascii : bool
        Passed to ``json.dump``: False writes non-ASCII characters as such,
        True escapes them.

    Example
    -------
    >>> path = getfixture("tmp_path") / "sub" / "train.json"
    >>> save_manifest({"u1": {"transcript": "né"}}, path)
    >>> json.loads(path.read_text(encoding="utf-8"))
    {'u1': {'transcript': 'né'}}
    >>> sorted(p.name for p in path.parent.iterdir())
    ['train.json']
    """
    atomic_write(
        path,
        lambda f: json.dump(data, f, indent=2, ensure_ascii=ensure_ascii),
        binary=False,
    )


def format_counts(counts):
    """Formats skip/problem counts as ``key=value`` pairs sorted by key.

    Arguments
    ---------
    counts : dict
        Counts by reason.

    Returns
    -------
    str
        ``"a=1, b=2"``.

    Example
    -------
    >>> format_counts({"unreadable_wavs": 2, "bad_wav_names": 1})
    'bad_wav_names=1, unreadable_wavs=2'
    """
    return ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))


def _check_manifest_is_dict(data, manifest_path):
    """Raises ValueError naming the manifest if ``data`` is not a dict."""
    if not isinstance(data, dict):
        raise ValueError(
            f"Manifest {manifest_path} must map item ids to dicts, "
            f"got a {type(data).__name__}"
        )


def check_manifest(
    data, required_keys, manifest_path, max_listed=5, path_keys=()
):
    """Checks that every item of a manifest has the required fields.

    Arguments
    ---------
    data : dict
        The manifest, ``{item_id: {field: value, ...}}``.
    required_keys : sequence of str
        Fields every item must have.
    manifest_path : str or os.PathLike
        The manifest file, named in error messages.
    max_listed : int
        How many bad items the error message lists.
    path_keys : sequence of str
        Fields that, when present, must be file paths (non-empty strings),
        e.g. ``("wav",)``.

    Raises
    ------
    ValueError
        If the manifest is empty, not a dict of dicts, items lack fields or
        have a path field that is not a string; the message names the
        manifest, the items and the fields.

    Example
    -------
    >>> data = {"a": {"wav": "a.wav"}, "b": {"duration": 1.0}}
    >>> try:  # doctest: +NORMALIZE_WHITESPACE
    ...     check_manifest(data, ["wav"], "train.json")
    ... except ValueError as e:
    ...     print(e)
    Manifest train.json: 1 of 2 items lack required fields or have bad
    ones: 'b' (missing 'wav')
    """
    if isinstance(required_keys, str):
        required_keys = [required_keys]
    _check_manifest_is_dict(data, manifest_path)
    if not data:
        raise ValueError(f"Manifest {manifest_path} contains no items")
    problems = []
    for item_id, item in data.items():
        if not isinstance(item, dict):
            problems.append(
                f"{item_id!r} (not a dict but a {type(item).__name__})"
            )
            continue
        missing = [key for key in required_keys if key not in item]
        if missing:
            fields = ", ".join(repr(key) for key in missing)
            problems.append(f"{item_id!r} (missing {fields})")
            continue
        for key in path_keys:
            value = item.get(key, "")
            if key in item and (not isinstance(value, str) or not value):
                problems.append(
                    f"{item_id!r} ({key!r} must be a file path, got "
                    f"{json.dumps(value)})"
                )
    if problems:
        listed = "; ".join(problems[:max_listed])
        more = len(problems) - max_listed
        if more > 0:
            listed += f"; and {more} more"
        raise ValueError(
            f"Manifest {manifest_path}: {len(problems)} of {len(data)} items "
            f"lack required fields or have bad ones: {listed}"
        )


def _strings(value):
    """Yields the strings of a JSON value, recursively (as
    ``load_data_json`` formats them)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, (dict, list)):
        values = value.values() if isinstance(value, dict) else value
        for inner in values:
            yield from _strings(inner)


def _placeholder_error(path, replacements, error):
    """The ValueError naming the item and value whose placeholder
    ``load_data_json`` could not fill (``error``)."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    _check_manifest_is_dict(data, path)
    for item_id, item in data.items():
        for value in _strings(item):
            try:
                value.format_map(replacements)
            except (KeyError, IndexError, ValueError) as e:
                return ValueError(
                    f"Manifest {path}, item {item_id!r}: cannot fill "
                    f"placeholder in {value!r} ({type(e).__name__}: {e}); "
                    f"replacements given: {sorted(replacements)}"
                )
    return ValueError(f"Manifest {path}: {type(error).__name__}: {error}")


def _check_no_duplicates(path):
    """Raises ValueError if the JSON file ``path`` has an item id, or an
    item a field, twice (``json`` and ``load_data_json`` keep the last)."""
    repeated = []
    with open(path, encoding="utf-8") as f:
        data = json.load(
            f, object_pairs_hook=lambda p: _no_duplicates(p, repeated)
        )
    for keys, obj in repeated:
        if obj is data:
            listed = ", ".join(repr(key) for key in keys[:5])
            raise ValueError(
                f"Manifest {path} has {len(keys)} item id(s) more than "
                f"once: {listed} (JSON would keep only the last one)"
            )
    if repeated:
        keys = sorted({key for found, _ in repeated for key in found})
        raise ValueError(
            f"Manifest {path}: an item has the field(s) "
            f"{', '.join(map(repr, keys[:5]))} more than once"
        )


def load_manifest(
    path, required_keys=("wav",), replacements=None, path_keys=()
):
    """Reads and checks a SpeechBrain JSON manifest.

    The file is read by SpeechBrain's
    :func:`speechbrain.dataio.dataio.load_data_json` (what
    ``DynamicItemDataset.from_json`` uses), so string values are formatted
    with ``replacements`` exactly as there (``"{data_root}/a.wav"`` with
    ``{"data_root": "/data"}`` gives ``"/data/a.wav"``); the failures it
    would raise bare, and those it would not notice (an item id twice),
    become one-line errors naming the manifest.

    Arguments
    ---------
    path : str or os.PathLike
        The JSON manifest, ``{item_id: {"wav": ..., ...}}``.
    required_keys : sequence of str
        Fields every item must have (checked with :func:`check_manifest`).
    replacements : dict, optional
        Placeholder values, e.g. ``{"data_root": "/data/ESD"}``.
    path_keys : sequence of str
        Fields that must be file paths when present (see
        :func:`check_manifest`).

    Returns
    -------
    dict
        The manifest, in file order, with placeholders filled.

    Raises
    ------
    FileNotFoundError
        If the manifest does not exist (or is a directory).
    ValueError
        If it is not UTF-8 JSON, has an item id twice, a placeholder has no
        replacement, or items lack required fields.

    Example
    -------
    >>> import json
    >>> path = getfixture("tmp_path") / "train.json"
    >>> manifest = {"u1": {"wav": "{data_root}/u1.wav", "style": "happy"}}
    >>> _ = path.write_text(json.dumps(manifest))
    >>> data = load_manifest(path, replacements={"data_root": "/data"})
    >>> data["u1"]["wav"]
    '/data/u1.wav'
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Manifest not found: {path}{_why(path)}")
    replacements = dict(replacements or {})
    try:
        data = load_data_json(path, replacements)
    except UnicodeDecodeError as e:
        raise ValueError(
            f"Manifest {path} is not UTF-8 text (byte "
            f"0x{e.object[e.start]:02x} at offset {e.start}); save it as "
            "UTF-8 JSON"
        ) from e
    except json.JSONDecodeError as e:
        raise ValueError(f"Manifest {path} is not valid JSON: {e}") from e
    except (KeyError, IndexError, ValueError) as e:
        raise _placeholder_error(path, replacements, e) from e
    _check_manifest_is_dict(data, path)
    _check_no_duplicates(path)
    check_manifest(data, required_keys, path, path_keys=path_keys)
    return data


def _no_duplicates(pairs, repeated):
    """``json`` object hook: the dict; keys seen twice go to ``repeated``."""
    obj, keys = {}, []
    for key, value in pairs:
        if key in obj and key not in keys:
            keys.append(key)
        obj[key] = value
    if keys:
        repeated.append((keys, obj))
    return obj


def scan_audio_dir(audio_dir, extensions=None):
    """Finds the audio files under a directory and what else is there.

    Walks ``audio_dir`` recursively (symbolic links to files are followed,
    links to directories are not, so a link loop cannot hang the walk) and
    sorts every file into the audio files to read and the skipped ones,
    each with its reason, so that nothing is left out silently.

    Arguments
    ---------
    audio_dir : str or os.PathLike
        The directory to scan.
    extensions : sequence of str, optional
        File extensions to keep (case-insensitive, with the dot); by default
        :data:`AUDIO_EXTENSIONS`, the formats this machine's libsndfile
        reads (wav, flac, ogg, opus, mp3 with libsndfile >= 1.1, aiff, ...).

    Returns
    -------
    files : dict
        ``{item_id: path}`` sorted by id, where the id is the path relative
        to ``audio_dir`` without extension, with "/" separators.
    skipped : list of (str, str)
        ``(path, reason)`` of every other entry: files with another
        extension, audio formats libsndfile cannot read, dangling links,
        links to directories, unreadable sub-directories, special files.

    Raises
    ------
    FileNotFoundError
        If ``audio_dir`` is not a directory.
    ValueError
        If two files map to the same id (e.g. ``a.wav`` and ``a.flac``).

    Example
    -------
    >>> root = getfixture("tmp_path")
    >>> for name in ["b.wav", "notes.txt", "talk.m4a"]:
    ...     _ = (root / name).write_bytes(b"")
    >>> (root / "gone.wav").symlink_to(root / "missing.wav")
    >>> files, skipped = scan_audio_dir(root)
    >>> list(files)
    ['b']
    >>> for path, reason in skipped:
    ...     print(os.path.basename(path), "-", reason.split(" (")[0])
    gone.wav - dangling symbolic link
    notes.txt - not an audio file
    talk.m4a - audio format that libsndfile cannot read
    """
    root = os.fspath(audio_dir)
    if not os.path.isdir(root):
        raise FileNotFoundError(
            f"Audio directory not found: {audio_dir}{_why(root)}"
        )
    if extensions is None:
        extensions = AUDIO_EXTENSIONS
    if isinstance(extensions, str):
        extensions = [extensions]
    wanted = {ext.lower() for ext in extensions}
    found, skipped = {}, []

    def unreadable_dir(error):
        """Records a folder ``os.walk`` cannot read."""
        skipped.append(
            (error.filename, f"cannot read this directory ({error.strerror})")
        )

    for folder, dirs, names in os.walk(root, onerror=unreadable_dir):
        for name in sorted(dirs):
            path = os.path.join(folder, name)
            if os.path.islink(path):
                skipped.append(
                    (path, "symbolic link to a directory (not followed)")
                )
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(folder, name)
            ext = os.path.splitext(name)[1].lower()
            reason = None
            if os.path.islink(path) and not os.path.exists(path):
                reason = "dangling symbolic link (to " + os.readlink(path) + ")"
            elif not os.path.isfile(path):
                reason = "not a regular file"
            elif ext in wanted:
                item_id = pathlib.Path(os.path.relpath(path, root))
                item_id = item_id.with_suffix("").as_posix()
                if item_id in found:
                    raise ValueError(
                        f"Two audio files in {audio_dir} have the id "
                        f"{item_id!r}: {found[item_id]} and {path}"
                    )
                found[item_id] = path
                continue
            elif ext in AUDIO_EXTENSIONS:
                reason = f"extension {ext} not among {sorted(wanted)}"
            elif ext in _UNREADABLE_AUDIO_EXTENSIONS or ext in (
                _EXTENSION_FORMATS
            ):
                reason = (
                    f"audio format that libsndfile cannot read ({ext}; "
                    "convert it to WAV or FLAC, e.g. with ffmpeg)"
                )
            else:
                reason = f"not an audio file (extension {ext or 'none'!r})"
            skipped.append((path, reason))
    return dict(sorted(found.items())), sorted(skipped)


def list_audio_files(audio_dir, extensions=AUDIO_EXTENSIONS):
    """Lists the audio files under a directory, recursively.

    See :func:`scan_audio_dir`, which also reports the files left out
    (they are logged here at debug level).

    Arguments
    ---------
    audio_dir : str or os.PathLike
        The directory to scan.
    extensions : sequence of str
        File extensions to keep (case-insensitive, with the dot).

    Returns
    -------
    dict
        ``{item_id: path}`` sorted by id, where the id is the path relative
        to ``audio_dir`` without extension, with "/" separators.

    Raises
    ------
    FileNotFoundError
        If ``audio_dir`` is not a directory.
    ValueError
        If two files map to the same id (e.g. ``a.wav`` and ``a.flac``).

    Example
    -------
    >>> root = getfixture("tmp_path")
    >>> (root / "spk1").mkdir()
    >>> for name in ["spk1/b.wav", "a.FLAC", "notes.txt"]:
    ...     _ = (root / name).write_bytes(b"")
    >>> list(list_audio_files(root))
    ['a', 'spk1/b']
    """
    files, skipped = scan_audio_dir(audio_dir, extensions)
    for path, reason in skipped:
        logger.debug("Not an audio file to read: %s (%s)", path, reason)
    return files

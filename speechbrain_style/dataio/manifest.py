"""Helpers shared by the dataset preparation scripts of the recipes.

Authors
 * speechbrain-style contributors 2026
"""

import json
import os

from speechbrain.utils.logger import get_logger

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

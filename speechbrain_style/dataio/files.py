"""Files written safely: atomic replacement, checksums.

Authors
 * speechbrain-style contributors 2026
"""

import hashlib
import json
import os
import tempfile


def file_sha256(path, block_size=1 << 20):
    """Returns the hex sha256 digest of a file, read in blocks.

    Arguments
    ---------
    path : str or os.PathLike
        The file.
    block_size : int
        Bytes read at a time.

    Returns
    -------
    str
        The hex digest.

    Example
    -------
    >>> path = getfixture("tmp_path") / "x.bin"
    >>> _ = path.write_bytes(b"abc")
    >>> file_sha256(path)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(block_size), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write(path, write, binary):
    """Writes ``path`` through a temporary file in the same directory.

    ``write(f)`` fills the open temporary file; it is then fsynced and moved
    over ``path`` with ``os.replace`` (atomic on POSIX), so a reader sees
    either the old file or the whole new one, never a partial write, and
    concurrent writers never share a temporary name.

    Arguments
    ---------
    path : str or os.PathLike
        The file to write.
    write : callable
        ``write(f)`` writes the content to the open file object ``f``.
    binary : bool
        Open the temporary file in binary (True) or UTF-8 text mode.

    Example
    -------
    >>> path = getfixture("tmp_path") / "x.txt"
    >>> atomic_write(path, lambda f: f.write("hello"), binary=False)
    >>> path.read_text()
    'hello'
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(
        dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp"
    )
    try:
        with open(
            fd, "wb" if binary else "w", encoding=None if binary else "utf-8"
        ) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def write_json(path, obj):
    """Atomically writes ``obj`` as indented JSON (see ``atomic_write``).

    Arguments
    ---------
    path : str or os.PathLike
        The file to write.
    obj : object
        JSON-serialisable content.
    """
    atomic_write(path, lambda f: json.dump(obj, f, indent=2), binary=False)

"""Files written safely: atomic replacement, checksums.

Authors
 * speechbrain-style contributors 2026
"""

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path


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


@contextlib.contextmanager
def atomic_output(path, suffix=None):
    """A unique temporary path beside ``path`` that replaces it on success.

    The one atomic writer of the package. The temporary file is created in
    the same folder (so ``os.replace`` is atomic) with a unique name
    (``tempfile.mkstemp``) ending like ``path`` (so writers that infer the
    format from the suffix, e.g. ``.gz`` or ``.png``, still do) or with
    ``suffix``. Readers never see a partial file, and concurrent writers
    never share a temporary file. The file gets the usual permissions
    (``0o666`` minus the umask, not mkstemp's ``0o600``). On an error the
    temporary file is removed and ``path`` is left as it was.

    Arguments
    ---------
    path : str or os.PathLike
        The file to write; parent folders are created.
    suffix : str, optional
        End of the temporary name (default: the suffix of ``path``).

    Yields
    ------
    str
        The temporary path to write to.

    Example
    -------
    >>> folder = getfixture("tmp_path")
    >>> with atomic_output(folder / "out.txt") as tmp:
    ...     with open(tmp, "w") as f:
    ...         _ = f.write("done")
    >>> (folder / "out.txt").read_text(), os.listdir(folder)
    ('done', ['out.txt'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(
        dir=path.parent,
        prefix=f".{path.name}.",
        suffix=path.suffix if suffix is None else suffix,
    )
    os.close(fd)
    try:
        # mkstemp creates the file 0600: give it the usual permissions
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def atomic_write(path, write, binary):
    """Writes ``path`` through :func:`atomic_output`, fsynced.

    ``write(f)`` fills the open temporary file (named ``.<name>.*.tmp``);
    it is then fsynced and moved over ``path`` with ``os.replace`` (atomic
    on POSIX), so a reader sees either the old file or the whole new one,
    never a partial write, and concurrent writers never share a temporary
    name.

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
    with atomic_output(path, suffix=".tmp") as temporary:
        with open(
            temporary,
            "wb" if binary else "w",
            encoding=None if binary else "utf-8",
        ) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())


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

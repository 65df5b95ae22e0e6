"""Errors of the ``speechbrain-style`` command and their exit statuses.

A command raises ``CommandError`` (exit status 1: an input that cannot be
used) or ``UsageError`` (exit status 2: a command line that is wrong
whatever the files hold); ``main`` prints them as one line,
``speechbrain-style <command>: error: <message>``.

Authors
 * speechbrain-style contributors 2026
"""

DEBUG_ENV = "SPEECHBRAIN_STYLE_DEBUG"
EXIT_DATA_ERROR = 1
EXIT_USAGE_ERROR = 2
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """An input the command cannot use (exit status 1).

    Example
    -------
    >>> CommandError("the index is empty").exit_code
    1
    """

    exit_code = EXIT_DATA_ERROR


class UsageError(CommandError):
    """A command line that is wrong whatever the files hold (status 2).

    Example
    -------
    >>> UsageError("-k must be >= 1").exit_code
    2
    """

    exit_code = EXIT_USAGE_ERROR


def _one_line(text):
    """``text`` with its whitespace runs (newlines included) made one space."""
    return " ".join(str(text).split())


def error_message(error):
    """The exit status and the one-line message for an error of a command.

    Arguments
    ---------
    error : BaseException
        What a subcommand raised.

    Returns
    -------
    tuple of (int, str)
        1 (unusable input) or 2 (usage error), and the message.

    Example
    -------
    >>> error_message(UsageError("-k must be >= 1"))
    (2, '-k must be >= 1')
    >>> error_message(FileNotFoundError(2, "No such file", "a.json"))
    (1, 'a.json: No such file')
    >>> error_message(KeyError("x"))[1]  # doctest: +ELLIPSIS
    "unexpected KeyError: 'x' (rerun with --debug or ... report it)"
    """
    if isinstance(error, CommandError):
        return error.exit_code, _one_line(error)
    if isinstance(error, OSError) and error.filename and error.strerror:
        return EXIT_DATA_ERROR, _one_line(f"{error.filename}: {error.strerror}")
    if isinstance(error, (OSError, ValueError)):
        # FileNotFoundError, AudioError, StyleIndexError, FilterError, ...:
        # the package words these with the file, field or value.
        return EXIT_DATA_ERROR, _one_line(error)
    return EXIT_DATA_ERROR, _one_line(
        f"unexpected {type(error).__name__}: {error} (rerun with --debug "
        f"or {DEBUG_ENV}=1 for the traceback and report it)"
    )

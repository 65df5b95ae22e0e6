"""The ``speechbrain-style serve`` subcommand: the search page.

The service (queries, audio) lives in
:mod:`speechbrain_style.retrieval.service`, the web app (FastAPI) in
:mod:`speechbrain_style.retrieval.webapp`; this module parses the command
line, binds the address and runs the app with uvicorn. FastAPI and uvicorn
are the optional ``serve`` extra (``pip install "speechbrain-style[serve]"``):
without them the command says so in one line and exits with status 1.

Authors
 * speechbrain-style contributors 2026
"""

import contextlib
import re
import signal
import socket
import threading

from speechbrain.utils.logger import get_logger

from speechbrain_style.cli.common import (
    add_backend_arguments,
    backend_load_options,
    load_model,
    open_index,
    port_number,
    positive_int,
)
from speechbrain_style.cli.errors import CommandError, UsageError
from speechbrain_style.inference.precision import add_precision_argument
from speechbrain_style.retrieval.service import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    MAX_K,
    StyleSearchService,
)

logger = get_logger(__name__)

SERVE_EXTRA_HINT = 'pip install "speechbrain-style[serve]"'
MAX_CONNECTIONS = 64
"""Open connections and requests at once; uvicorn answers 503 past it."""
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def add_serve_arguments(parser):
    """Adds the ``serve`` subcommand's arguments to an argparse parser.

    Arguments
    ---------
    parser : argparse.ArgumentParser

    Example
    -------
    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> add_serve_arguments(p)
    >>> args = p.parse_args(["--model", "m", "--index", "i", "--port", "0"])
    >>> args.host, args.port, args.max_k, args.backend
    ('127.0.0.1', 0, 100, 'exact')
    """
    parser.add_argument("--model", required=True, help="inference folder")
    parser.add_argument("--index", required=True, help="index folder")
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="address to listen on (default: loopback only; the page has "
        "no authentication)",
    )
    parser.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help=f"TCP port (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--device",
        default=None,
        help="cpu or cuda:N (default: cuda:0 when CUDA is available, else cpu)",
    )
    add_precision_argument(parser)
    parser.add_argument(
        "--max-k",
        type=positive_int,
        default=MAX_K,
        help="largest k a request gets",
    )
    add_backend_arguments(parser)


_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"


def check_host(host):
    """Raises UsageError unless ``host`` is an IP address or a host name.

    Checked before any name lookup, so that a typo gives a clear error.

    Arguments
    ---------
    host : str
        The ``--host`` value.

    Example
    -------
    >>> check_host("127.0.0.1"), check_host("::1"), check_host("localhost")
    (None, None, None)
    >>> check_host("local host")
    Traceback (most recent call last):
    ...
    speechbrain_style.cli.errors.UsageError: --host 'local host' is ...
    """
    import ipaddress

    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host
    labels = name.split(".")
    if (
        not name
        or len(name) > 253
        or not all(re.fullmatch(_HOST_LABEL, label) for label in labels)
        or re.fullmatch(r"[\d.]+", name)
    ):
        raise UsageError(
            f"--host {host!r} is not an IP address or a host name (e.g. "
            "127.0.0.1, ::1, 0.0.0.0 or localhost)"
        )


def require_serve_extra():
    """Raises CommandError unless FastAPI and uvicorn can be imported.

    Raises
    ------
    speechbrain_style.cli.errors.CommandError
        Naming the missing package and the install command.

    Example
    -------
    >>> import sys
    >>> saved = sys.modules.get("uvicorn")
    >>> sys.modules["uvicorn"] = None  # what a missing package looks like
    >>> try:
    ...     require_serve_extra()
    ... finally:
    ...     if saved is None:
    ...         del sys.modules["uvicorn"]
    ...     else:
    ...         sys.modules["uvicorn"] = saved
    Traceback (most recent call last):
    ...
    speechbrain_style.cli.errors.CommandError: the search page needs ...
    """
    for name in ("fastapi", "uvicorn"):
        try:
            __import__(name)
        except ImportError as e:
            raise CommandError(
                f"the search page needs the serve extra ({name} is not "
                f"installed): {SERVE_EXTRA_HINT}"
            ) from e


def bind(host, port):
    """A listening TCP socket on ``host:port`` (IPv6 for ``::1`` etc.).

    Arguments
    ---------
    host : str
        An IP address or a host name.
    port : int
        TCP port; 0 picks a free one (see ``page_url``).

    Returns
    -------
    socket.socket

    Example
    -------
    >>> sock = bind("127.0.0.1", 0)
    >>> page_url(sock).startswith("http://127.0.0.1:")
    True
    >>> sock.close()
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


def page_url(sock):
    """The page's URL for a bound socket, e.g. ``http://127.0.0.1:8000/``.

    Arguments
    ---------
    sock : socket.socket

    Returns
    -------
    str
    """
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


class _Stop(KeyboardInterrupt):
    """Raised by SIGTERM once uvicorn has shut down (as Ctrl+C is)."""


def _raise_stop(signum, frame):
    """The SIGTERM handler while serving."""
    raise _Stop


@contextlib.contextmanager
def _sigterm_stops():
    """SIGTERM ends the server like Ctrl+C, so the audio cache is deleted.

    uvicorn shuts down gracefully on SIGTERM, then sends the signal again to
    the handler it found; the default one would end the process before the
    ``finally`` clauses run.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_serve(args):
    """Runs the ``serve`` subcommand until Ctrl+C.

    The address is bound before the model and the index are loaded, so that
    a busy port or a bad host fails at once; then the model and the index
    are checked to belong together, and uvicorn serves the app of
    :func:`speechbrain_style.retrieval.webapp.create_app` on the socket.

    Arguments
    ---------
    args : argparse.Namespace
        From a parser set up by ``add_serve_arguments``.

    Returns
    -------
    int
        0 once stopped (Ctrl+C or SIGTERM).

    Raises
    ------
    speechbrain_style.cli.errors.UsageError
        For a malformed ``--host``.
    speechbrain_style.cli.errors.CommandError
        If the ``serve`` extra is not installed, the address cannot be
        bound, or the model and the index do not load or do not belong
        together (one-line message, see ``speechbrain_style.cli``).
    """
    check_host(args.host)
    require_serve_extra()
    try:
        sock = bind(args.host, args.port)
    except (OSError, ValueError, OverflowError) as e:
        raise CommandError(
            f"cannot listen on {args.host}:{args.port}: {e}"
        ) from e
    service = None
    try:
        import uvicorn

        from speechbrain_style.retrieval.webapp import create_app

        model = load_model(args.model, args.device, args.precision)
        index = open_index(
            args.index, model, args.model, **backend_load_options(args)
        )
        service = StyleSearchService(model.encode_text, index, max_k=args.max_k)
        service.model_fingerprint = model.fingerprint
        url = page_url(sock)
        if args.host not in LOOPBACK_HOSTS:
            logger.warning(
                "Listening on %s: anyone who can reach it can search the "
                "index and play its audio (no authentication)",
                args.host,
            )
        count = len(service.index.items)
        logger.info("Serving %d items on %s", count, url)
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(service),
                log_config=None,
                access_log=False,
                lifespan="off",
                limit_concurrency=MAX_CONNECTIONS,
                timeout_graceful_shutdown=5,
            )
        )
        print(f"Serving {count} items on {url} (Ctrl+C to stop)", flush=True)
        with _sigterm_stops():
            try:
                server.run(sockets=[sock])
            except KeyboardInterrupt:
                pass
        print("Stopped.", flush=True)
    finally:
        sock.close()
        if service is not None:
            service.close()
    return 0

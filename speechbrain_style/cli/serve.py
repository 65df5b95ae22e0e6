"""The ``speechbrain-style serve`` subcommand: the search page.

The service and its page live in :mod:`speechbrain_style.retrieval.service`;
this module parses the command line and runs the server.

Authors
 * speechbrain-style contributors 2026
"""

import re

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
    make_server,
    url_of,
)

logger = get_logger(__name__)


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


def run_serve(args):
    """Runs the ``serve`` subcommand until Ctrl+C.

    The address is bound before the model and the index are loaded, so that
    a busy port or a bad host fails at once.

    Arguments
    ---------
    args : argparse.Namespace
        From a parser set up by ``add_serve_arguments``.

    Returns
    -------
    int
        0 once stopped.

    Raises
    ------
    speechbrain_style.cli.errors.CommandError
        If the address cannot be bound or the model and the index do not
        load or do not belong together (one-line message, see
        ``speechbrain_style.cli``).
    """

    check_host(args.host)
    try:
        server = make_server(None, args.host, args.port)
    except (OSError, ValueError) as e:
        raise CommandError(
            f"cannot listen on {args.host}:{args.port}: {e}"
        ) from e
    try:
        model = load_model(args.model, args.device, args.precision)
        index = open_index(
            args.index, model, args.model, **backend_load_options(args)
        )
        service = StyleSearchService(model.encode_text, index, max_k=args.max_k)
        service.model_fingerprint = model.fingerprint
    except BaseException:
        server.server_close()
        raise
    server.service = service
    url = url_of(server)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        logger.warning(
            "Listening on %s: anyone who can reach it can search the index "
            "and play its audio (no authentication)",
            args.host,
        )
    logger.info("Serving %d items on %s", len(service.index.items), url)
    print(
        f"Serving {len(service.index.items)} items on {url} (Ctrl+C to stop)",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("Stopped.", flush=True)
    finally:
        server.server_close()
    return 0

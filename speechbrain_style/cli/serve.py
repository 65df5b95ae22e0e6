"""The ``speechbrain-style serve`` subcommand: the search page.

The service and its page live in :mod:`speechbrain_style.retrieval.service`;
this module only parses the command line and runs the server.

Authors
 * speechbrain-style contributors 2026
"""

from speechbrain.utils.logger import get_logger

from speechbrain_style.cli.options import (
    add_backend_arguments,
    backend_load_options,
)
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
        type=int,
        default=DEFAULT_PORT,
        help=f"TCP port (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda:N")
    add_precision_argument(parser)
    parser.add_argument(
        "--max-k", type=int, default=MAX_K, help="largest k a request gets"
    )
    add_backend_arguments(parser)


def run_serve(args):
    """Runs the ``serve`` subcommand until Ctrl+C.

    Arguments
    ---------
    args : argparse.Namespace
        From a parser set up by ``add_serve_arguments``.

    Returns
    -------
    int
        0 once stopped.
    """
    if args.max_k < 1:
        raise SystemExit(f"error: --max-k must be >= 1, got {args.max_k}")
    try:
        service = StyleSearchService.from_folders(
            args.model,
            args.index,
            device=args.device,
            precision=args.precision,
            index_options=backend_load_options(args),
            max_k=args.max_k,
        )
    except (FileNotFoundError, ValueError) as e:  # incl. StyleIndexError
        raise SystemExit(f"error: {e}") from e
    try:
        server = make_server(service, args.host, args.port)
    except (OSError, ValueError) as e:
        raise SystemExit(
            f"error: cannot listen on {args.host}:{args.port}: {e}"
        ) from e
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

"""Command-line options shared by ``search`` and ``serve``.

Authors
 * speechbrain-style contributors 2026
"""


def add_backend_arguments(parser):
    """Adds the search backend flags (``search`` and ``serve``).

    Arguments
    ---------
    parser : argparse.ArgumentParser
        The subcommand's parser.

    Example
    -------
    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> add_backend_arguments(p)
    >>> args = p.parse_args(["--backend", "ivf", "--nprobe", "8"])
    >>> args.backend, args.nlist, args.nprobe, args.no_ann_cache
    ('ivf', None, 8, False)
    """
    parser.add_argument(
        "--backend",
        choices=("exact", "faiss-flat", "ivf", "hnsw"),
        default="exact",
        help="search backend: exact (default), faiss-flat (exact, faiss), "
        "ivf or hnsw (approximate, faiss; pip install "
        "speechbrain-style[faiss])",
    )
    parser.add_argument(
        "--nlist", type=int, default=None, help="ivf: clusters (~sqrt(N))"
    )
    parser.add_argument(
        "--nprobe", type=int, default=None, help="ivf: clusters visited (16)"
    )
    parser.add_argument(
        "--hnsw_m", "--hnsw-m", type=int, default=None, help="hnsw: links (32)"
    )
    parser.add_argument(
        "--ef_search",
        "--ef-search",
        type=int,
        default=None,
        help="hnsw: search candidate list size (64)",
    )
    parser.add_argument(
        "--no_ann_cache",
        "--no-ann-cache",
        action="store_true",
        help="ivf/hnsw: build the faiss index in memory, neither reading "
        "nor writing the cache in INDEX/ann/ (by default it is built once "
        "and reused while the embeddings and build flags are unchanged)",
    )


def backend_load_options(args):
    """``StyleIndex.load`` keyword arguments from the backend flags.

    Arguments
    ---------
    args : argparse.Namespace
        Parsed by a parser set up with :func:`add_backend_arguments`; flags
        of another backend than ``--backend`` are ignored.

    Returns
    -------
    dict
        ``backend``, ``backend_options`` and ``ann_cache``.

    Example
    -------
    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> add_backend_arguments(p)
    >>> backend_load_options(p.parse_args(["--backend", "hnsw", "--nlist", "9"]))
    {'backend': 'hnsw', 'backend_options': {'hnsw_m': None, 'ef_search': None}, 'ann_cache': True}
    """  # noqa: E501
    options = {}
    if args.backend == "ivf":
        options = {"nlist": args.nlist, "nprobe": args.nprobe}
    elif args.backend == "hnsw":
        options = {"hnsw_m": args.hnsw_m, "ef_search": args.ef_search}
    return {
        "backend": args.backend,
        "backend_options": options,
        "ann_cache": not args.no_ann_cache,
    }

"""What several ``speechbrain-style`` commands share: argument types, the
device check, loading the model and the index, the search backend flags.

Authors
 * speechbrain-style contributors 2026
"""

import argparse
import os
import re

from speechbrain_style.cli.errors import CommandError, UsageError, error_message


def positive_int(text):
    """An argparse type: an int >= 1.

    Arguments
    ---------
    text : str
        The command-line value.

    Returns
    -------
    int

    Example
    -------
    >>> positive_int("3")
    3
    >>> positive_int("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a positive integer, got '0'
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"must be a positive integer, got {text!r}"
        )
    return value


def non_negative_float(text):
    """An argparse type: a finite float >= 0.

    Arguments
    ---------
    text : str
        The command-line value.

    Returns
    -------
    float

    Example
    -------
    >>> non_negative_float("2.5")
    2.5
    """
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


def port_number(text):
    """An argparse type: a TCP port, 0 (any free port) to 65535.

    Arguments
    ---------
    text : str
        The command-line value.

    Returns
    -------
    int

    Example
    -------
    >>> port_number("8080")
    8080
    """
    if not re.fullmatch(r"\d{1,5}", text.strip()) or int(text) > 65535:
        raise argparse.ArgumentTypeError(
            f"must be a port number from 0 to 65535, got {text!r}"
        )
    return int(text)


def check_device(device):
    """Raises UsageError/CommandError for a device torch cannot use."""
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise UsageError(
            f"--device {device!r} is not a device: use cpu, cuda or cuda:N"
        ) from e
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise CommandError(
                f"--device {device}: CUDA is not available on this machine "
                "(use --device cpu)"
            )
        if parsed.index is not None and (
            parsed.index >= torch.cuda.device_count()
        ):
            raise CommandError(
                f"--device {device}: this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)"
            )


def load_model(path, device, precision="fp32", window=None, hop=None):
    """Loads an inference folder at an inference precision, with the
    windows of long recordings (``--window``, ``--hop``: seconds, None for
    the model's); errors name the folder."""
    from speechbrain_style.inference import StyleRetriever, resolve_device
    from speechbrain_style.inference.precision import check_precision

    device = resolve_device(device)
    check_device(device)
    try:
        check_precision(precision, device)
    except ValueError as e:
        raise UsageError(f"--precision: {e}") from e
    if os.path.exists(path) and not os.path.isdir(path):
        raise CommandError(
            f"--model {path} is a file: give the inference folder written "
            "at the end of training"
        )
    if not os.path.isdir(path):
        raise CommandError(
            f"Model folder {path} does not exist (give the inference folder "
            "written at the end of training)"
        )
    if window is not None and window < 0:
        raise UsageError(f"--window must be >= 0, got {window}")
    try:
        model = StyleRetriever.from_hparams(
            source=path, run_opts={"device": device}, precision=precision
        )
    except Exception as e:  # noqa: BLE001 - yaml, checkpoint, import errors
        if isinstance(e, (OSError, CommandError)):
            reason = error_message(e)[1]
        else:
            reason = f"{type(e).__name__}: {e}"
        raise CommandError(
            f"cannot load the model folder {path}: {reason}"
        ) from e
    if window is not None:
        model.window_seconds = window or None
    if hop is not None:
        if not model.window_seconds or not 0 < hop <= model.window_seconds:
            raise UsageError(
                f"--hop must be in (0, window={model.window_seconds}], "
                f"got {hop}"
            )
        model.hop_seconds = hop
    return model


def add_backend_arguments(parser):
    """Adds the search backend flags (``search`` and ``serve``).

    Arguments
    ---------
    parser : argparse.ArgumentParser
        The subcommand's parser.

    Example
    -------
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
        "--nlist",
        type=positive_int,
        default=None,
        help="ivf: clusters (~sqrt(N))",
    )
    parser.add_argument(
        "--nprobe",
        type=positive_int,
        default=None,
        help="ivf: clusters visited (16)",
    )
    parser.add_argument(
        "--hnsw_m",
        "--hnsw-m",
        type=positive_int,
        default=None,
        help="hnsw: links (32)",
    )
    parser.add_argument(
        "--ef_search",
        "--ef-search",
        type=positive_int,
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


def _text_dim(model):
    """The size of the model's text embeddings (one short text embedded)."""
    return int(model.encode_text(["a voice"]).shape[1])


def open_index(index_dir, model, model_dir, **load_options):
    """Loads an index and checks it was built with ``model``.

    Arguments
    ---------
    index_dir : str
        The index folder.
    model : speechbrain_style.inference.StyleRetriever
        The loaded model (its fingerprint and text embedding size are
        checked against the index).
    model_dir : str
        The model folder as the user gave it (named in errors).
    **load_options : dict
        More ``StyleIndex.load`` arguments (search backend).

    Returns
    -------
    speechbrain_style.index.StyleIndex

    Raises
    ------
    CommandError
        If the index was built with another model: one line naming both
        fingerprints and folders.
    """
    from speechbrain_style.retrieval.index import ModelMismatchError, StyleIndex

    try:
        return StyleIndex.load(
            index_dir,
            expected_model={"fingerprint": model.fingerprint},
            expected_dim=_text_dim(model),
            **load_options,
        )
    except ModelMismatchError as e:
        built_with = e.model_info.get("model_dir")
        built_with = f", model folder {built_with}" if built_with else ""
        raise CommandError(
            f"the model {model_dir} (fingerprint {model.fingerprint}) did not "
            f"build the index {index_dir} (fingerprint "
            f"{e.model_info.get('fingerprint', 'not recorded')}{built_with}): "
            "search it with the model that built it, or rebuild it with "
            "`speechbrain-style index` and this model"
        ) from e

"""The ``speechbrain-style`` command line.

Subcommands::

    speechbrain-style synth --out DIR --num-utts N --seed S [--sentences F]
    speechbrain-style index --model DIR (--manifest M | --audio-dir D) --out I
                            [--shard_size N] [--max_batch_seconds S]
                            [--fp16]
    speechbrain-style search --model DIR --index I [-k 10] [--json]
                             [--fusion N] [--backend exact|faiss-flat|ivf|hnsw]
                             [--no_ann_cache] "query" [-q "another query" ...]
    speechbrain-style describe --model DIR [-k 5] [--bank F] FILE.wav
    speechbrain-style serve --model DIR --index I [--host H] [--port P]
                            [--backend ...] (same backend flags as search)

``index`` is resumable (rerun the same command after an interruption) and
runs under ``torchrun --nproc_per_node=N $(which speechbrain-style) index
...``: each rank embeds its own shards and rank 0 merges them.

Filters (``search --filter``, repeatable) have the syntax of the search
page: ``FIELD=VALUE`` or ``FIELD:VALUE`` (typed: ``spk=7`` matches the
number 7 and the string "7"), ``FIELD!=VALUE``, ``FIELD<N``, ``FIELD<=N``,
``FIELD>N``, ``FIELD>=N``; equalities on one field are alternatives (OR),
everything else must hold (AND). See :mod:`speechbrain_style.filters`.

Errors: a bad input prints one line on stderr,
``speechbrain-style <command>: error: <what is wrong, naming the file,
field or value>``, and the command exits with status

* 2 for a usage error: the command line itself is wrong whatever the
  files hold (argparse's errors, a value out of range such as ``-k 0``, an
  empty or too long query, a malformed ``--filter``);
* 1 for a data error: a file, folder, manifest, audio file, model or index
  that is missing or cannot be used, or that does not fit the others (a
  filter field no item has, an index built with another model);
* 130 when interrupted (Ctrl+C; ``index`` resumes when rerun).

``--debug`` (before or after the subcommand) or the environment variable
``SPEECHBRAIN_STYLE_DEBUG=1`` shows the Python traceback instead.

Authors
 * speechbrain-style contributors 2026
"""

import argparse
import json
import os
import re
import sys

MAX_QUERY_CHARS = 1000
DEBUG_ENV = "SPEECHBRAIN_STYLE_DEBUG"
EXIT_DATA_ERROR = 1
EXIT_USAGE_ERROR = 2
EXIT_INTERRUPTED = 130
# How many skipped files of --audio-dir the warning names.
MAX_LISTED_SKIPPED = 5


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


def _check_device(device):
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


def _load_model(path, device):
    """Loads an inference folder; errors name the folder."""
    from speechbrain_style.inference import StyleRetriever

    _check_device(device)
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
    try:
        return StyleRetriever.from_hparams(
            source=path, run_opts={"device": device}
        )
    except Exception as e:  # noqa: BLE001 - yaml, checkpoint, import errors
        if isinstance(e, (OSError, CommandError)):
            reason = error_message(e)[1]
        else:
            reason = f"{type(e).__name__}: {e}"
        raise CommandError(
            f"cannot load the model folder {path}: {reason}"
        ) from e


def _read_text_lines(path, what):
    """The non-empty stripped lines of a UTF-8 text file named ``what``."""
    if not os.path.isfile(path):
        kind = " (it is a directory)" if os.path.isdir(path) else ""
        raise CommandError(f"{what} not found: {path}{kind}")
    with open(path, "rb") as fin:
        raw = fin.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CommandError(
            f"{what} {path} is not UTF-8 text (bad byte at offset {e.start})"
        ) from e
    return [line.strip() for line in text.splitlines() if line.strip()]


def _read_items(args):
    """Items to index and files skipped: ({id: {"wav", ...}}, [(path, why)])."""
    from speechbrain_style.audio import load_manifest, scan_audio_dir

    if args.manifest:
        replacements = {}
        for pair in args.replace or []:
            key, sep, value = pair.partition("=")
            if not sep or not key.strip():
                raise UsageError(f"--replace expects KEY=VALUE, got {pair!r}")
            replacements[key.strip()] = value
        if "data_root" not in replacements:
            replacements["data_root"] = os.path.dirname(
                os.path.abspath(args.manifest)
            )
        items = load_manifest(
            args.manifest,
            required_keys=("wav",),
            replacements=replacements,
            path_keys=("wav",),
        )
        return items, []
    files, skipped = scan_audio_dir(args.audio_dir)
    if not files:
        details = ""
        if skipped:
            details = f" (skipped {len(skipped)}: {_list_skipped(skipped)})"
        raise CommandError(
            f"No audio file found under {args.audio_dir}{details}"
        )
    return {key: {"wav": path} for key, path in files.items()}, skipped


def _list_skipped(skipped, limit=MAX_LISTED_SKIPPED):
    """The first ``limit`` skipped files with their reasons, as one line."""
    listed = "; ".join(f"{path}: {reason}" for path, reason in skipped[:limit])
    if len(skipped) > limit:
        listed += f"; and {len(skipped) - limit} more"
    return listed


def _warn(command, message):
    """Prints ``speechbrain-style <command>: warning: <message>``."""
    print(
        f"speechbrain-style {command}: warning: {message}",
        file=sys.stderr,
        flush=True,
    )


def _check_out_dir(path):
    """Raises CommandError if the index folder cannot be a folder."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise CommandError(f"--out {path} is a file, not a folder")


def cmd_index(args):
    """Embeds a corpus and writes an index."""
    from speechbrain_style.index import DEFAULT_MAX_BATCH_SECONDS, build_index

    _check_out_dir(args.out)
    items, skipped_files = _read_items(args)
    rank = int(os.environ.get("RANK", "0"))
    if skipped_files and rank == 0:
        _warn(
            "index",
            f"{len(skipped_files)} file(s) under {args.audio_dir} are not "
            f"indexed: {_list_skipped(skipped_files)}",
        )
    model = _load_model(args.model, args.device)
    max_batch_seconds = args.max_batch_seconds
    if max_batch_seconds is None:
        max_batch_seconds = DEFAULT_MAX_BATCH_SECONDS
    index = build_index(
        model.encode_audio,
        items,
        args.out,
        batch_size=args.batch_size,
        max_batch_seconds=max_batch_seconds or None,
        sample_rate=model.sample_rate,
        model_info={
            "model_dir": model.model_dir,
            "fingerprint": model.fingerprint,
        },
        progress=not args.quiet,
        on_error=args.on_error,
        shard_size=args.shard_size,
        fp16=args.fp16,
    )
    if rank == 0:
        summary = f"Indexed {len(index)} items into {os.path.abspath(args.out)}"
        num_skipped = int(index.info.get("num_skipped", 0))
        if num_skipped:
            summary += (
                f"; skipped {num_skipped} unusable item(s), listed in "
                "index.json"
            )
        if skipped_files:
            summary += f"; {len(skipped_files)} other file(s) not indexed"
        print(summary)
    return 0


def _check_query(query):
    """The stripped query; UsageError if it is empty or too long."""
    query = " ".join(query) if isinstance(query, list) else query
    query = query.strip()
    if not query:
        raise UsageError(
            "the query is empty: describe a speaking style, e.g. "
            "'a woman whispering slowly'"
        )
    if len(query) > MAX_QUERY_CHARS:
        raise UsageError(
            f"the query has {len(query)} characters (at most {MAX_QUERY_CHARS})"
        )
    return query


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
    from speechbrain_style.index import ModelMismatchError, StyleIndex

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


def _text_dim(model):
    """The size of the model's text embeddings (one short text embedded)."""
    return int(model.encode_text(["a voice"]).shape[1])


def _parse_filter_options(specs):
    """The ``--filter`` options as a FilterSet; UsageError if malformed."""
    from speechbrain_style.filters import FilterError, parse_filters

    try:
        return parse_filters(list(specs or []))
    except FilterError as e:
        raise UsageError(f"--filter: {e}") from e


def _parse_fields(text, index):
    """The ``--fields`` names, checked against the index's metadata."""
    if not text:
        return []
    fields = [field.strip() for field in text.split(",")]
    if not all(fields):
        raise UsageError(
            f"--fields {text!r} has an empty field name: give "
            "comma-separated names, e.g. --fields sex,rate"
        )
    known = {key for item in index.items for key in item["metadata"]}
    unknown = [field for field in fields if field not in known]
    if unknown:
        raise CommandError(
            f"--fields: {', '.join(map(repr, unknown))} is in no item's "
            f"metadata; known fields: {sorted(known)}"
        )
    return fields


def cmd_search(args):
    """Answers text queries from an index (one model load for all)."""
    queries = [_check_query(q) for q in ([args.query] if args.query else [])]
    queries += [_check_query(q) for q in args.queries or []]
    if not queries:
        raise UsageError("give a query (or several with -q)")
    filters = _parse_filter_options(args.filter)
    model = _load_model(args.model, args.device)
    index = open_index(
        args.index, model, args.model, **backend_load_options(args)
    )
    fields = _parse_fields(args.fields, index)
    all_hits = index.search(
        model.encode_text(queries),
        k=min(args.k, len(index)),
        filters=filters or None,
        fusion_n=args.fusion,
    )
    for query, hits in zip(queries, all_hits, strict=True):
        if args.json:
            # one JSON object per query (JSON Lines)
            print(json.dumps({"query": query, "hits": hits}))
            continue
        print(f'Top {len(hits)} for "{query}":')
        for hit in hits:
            meta = hit.get("metadata", {})
            extra = " ".join(f"{f}={meta.get(f, '?')}" for f in fields)
            print(
                f"{hit['rank']:>3}. {hit['score']:.4f}  {hit['id']}  "
                f"{hit['wav']}  {extra}".rstrip()
            )
        print()
    return 0


def cmd_describe(args):
    """Ranks descriptions for one recording (speech -> text)."""
    from speechbrain_style.audio import get_audio_info

    # Check the inputs before the (slow) model load.
    bank = None
    if args.bank:
        bank = _read_text_lines(args.bank, "description bank")
        if not bank:
            raise CommandError(f"the description bank {args.bank} is empty")
    frames, sample_rate, _ = get_audio_info(args.file)
    model = _load_model(args.model, args.device)
    try:
        ranked = model.describe_file(args.file, descriptions=bank, k=args.k)
    except RuntimeError as e:
        raise CommandError(
            f"the model cannot embed {args.file} ({frames} samples at "
            f"{sample_rate} Hz; audio too short for the encoder?): {e}"
        ) from e
    if args.json:
        print(
            json.dumps(
                [{"description": t, "score": s} for t, s in ranked], indent=2
            )
        )
        return 0
    print(f"Best descriptions of {args.file}:")
    for rank, (text, score) in enumerate(ranked, 1):
        print(f"{rank:>3}. {score:.4f}  {text}")
    return 0


def build_parser():
    """The argparse parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="speechbrain-style",
        description=(
            "Find speech by a description of how it is spoken, and describe "
            "speech in words."
        ),
        epilog=(
            "Exit status: 0 success, 1 unusable input (file, manifest, audio, "
            "model, index), 2 usage error, 130 interrupted. "
            f"--debug or {DEBUG_ENV}=1 shows the traceback of an error."
        ),
    )
    debug_help = f"show the traceback of an error (also {DEBUG_ENV}=1)"
    parser.add_argument("--debug", action="store_true", help=debug_help)
    # --debug is accepted after the subcommand too (SUPPRESS: a subcommand
    # without it does not reset the value given before it).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help=debug_help,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add_subcommand(name, **kwargs):
        return sub.add_parser(name, parents=[common], **kwargs)

    from speechbrain_style.synth import add_synth_arguments, run_synth

    p_synth = add_subcommand(
        "synth", help="synthesise the embedded speaking-style corpus"
    )
    add_synth_arguments(p_synth)
    p_synth.set_defaults(func=run_synth)

    def add_model(p):
        p.add_argument("--model", required=True, help="inference folder")
        p.add_argument("--device", default="cpu", help="cpu or cuda:N")

    p_index = add_subcommand("index", help="embed a corpus into an index")
    add_model(p_index)
    source = p_index.add_mutually_exclusive_group(required=True)
    source.add_argument("--manifest", help="SpeechBrain JSON manifest")
    source.add_argument("--audio-dir", help="folder of audio files")
    p_index.add_argument(
        "--replace",
        action="append",
        metavar="KEY=VALUE",
        help="manifest placeholder, e.g. data_root=/data (default: the "
        "manifest's folder)",
    )
    p_index.add_argument("--out", required=True, help="index folder")
    p_index.add_argument("--batch-size", type=positive_int, default=16)
    p_index.add_argument(
        "--max_batch_seconds",
        "--max-batch-seconds",
        type=non_negative_float,
        default=None,
        metavar="S",
        help="padded audio seconds per batch (default 8: the CPU optimum; "
        "raise it on a GPU; 0: no limit but --batch-size)",
    )
    p_index.add_argument(
        "--on-error",
        choices=("raise", "skip"),
        default="raise",
        help="bad audio: stop (default) or skip it (counted and recorded)",
    )
    p_index.add_argument(
        "--shard_size",
        "--shard-size",
        type=positive_int,
        default=None,
        metavar="N",
        help="items per shard: finished shards survive an interruption and "
        "are reused when the command is rerun (default: one shard)",
    )
    p_index.add_argument(
        "--fp16",
        action="store_true",
        help="store the embeddings as float16 (half the disk and memory)",
    )
    p_index.add_argument("--quiet", action="store_true")
    p_index.set_defaults(func=cmd_index)

    p_search = add_subcommand("search", help="query an index with text")
    add_model(p_search)
    p_search.add_argument("--index", required=True, help="index folder")
    p_search.add_argument(
        "-k", type=positive_int, default=10, help="hits to return"
    )
    p_search.add_argument(
        "--json", action="store_true", help="JSON output, one line per query"
    )
    p_search.add_argument(
        "--filter",
        action="append",
        metavar="FIELD=VALUE",
        help="keep items whose metadata FIELD equals VALUE (also FIELD:VALUE; "
        "numbers compare as numbers; FIELD!=VALUE, FIELD<N, FIELD<=N, "
        "FIELD>N, FIELD>=N); repeatable: values of one field are "
        "alternatives, different fields must all match",
    )
    p_search.add_argument(
        "--fusion",
        type=positive_int,
        default=None,
        metavar="N",
        help="cross-modal fusion: search with the similarity-weighted mean "
        "of the query's N nearest index items (the paper uses N=10)",
    )
    add_backend_arguments(p_search)
    p_search.add_argument(
        "--fields",
        default="",
        help="comma-separated metadata fields to print with each hit",
    )
    p_search.add_argument(
        "query", nargs="*", help="a description (words are joined)"
    )
    p_search.add_argument(
        "-q",
        "--query",
        dest="queries",
        action="append",
        metavar="TEXT",
        help="another description (repeatable); answered in one run",
    )
    p_search.set_defaults(func=cmd_search)

    p_describe = add_subcommand(
        "describe", help="rank descriptions for a recording"
    )
    add_model(p_describe)
    p_describe.add_argument(
        "-k", type=positive_int, default=5, help="descriptions to print"
    )
    p_describe.add_argument(
        "--bank", help="file of candidate descriptions, one per line"
    )
    p_describe.add_argument("--json", action="store_true")
    p_describe.add_argument("file", help="audio file")
    p_describe.set_defaults(func=cmd_describe)

    from speechbrain_style.serve import add_serve_arguments, run_serve

    p_serve = add_subcommand("serve", help="search page over an index (HTTP)")
    add_serve_arguments(p_serve)
    p_serve.set_defaults(func=run_serve)
    return parser


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


def main(argv=None):
    """Entry point of the ``speechbrain-style`` console script.

    Arguments
    ---------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 success, 1 unusable input, 2 usage error, 130
        interrupted. An error is printed as one line on stderr,
        ``speechbrain-style <command>: error: <message>`` (its traceback
        with ``--debug`` or ``SPEECHBRAIN_STYLE_DEBUG=1``, which re-raise
        it instead).
    """
    parser = build_parser()
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:  # the subcommand's usage, not the top-level one
            subparsers = next(
                action
                for action in parser._actions
                if isinstance(action, argparse._SubParsersAction)
            )
            subparsers.choices[args.command].error(
                f"unrecognized arguments: {' '.join(extras)}"
            )
    except SystemExit as e:  # argparse printed the usage and the error
        return e.code if isinstance(e.code, int) else EXIT_USAGE_ERROR
    debug = args.debug or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    prog = f"{parser.prog} {args.command}"
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        if debug:
            raise
        hint = "; rerun the same command to resume"
        hint = hint if args.command == "index" else ""
        print(f"\n{prog}: interrupted{hint}", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except Exception as error:  # noqa: BLE001 - one line, not a traceback
        if debug:
            raise
        status, message = error_message(error)
        sys.stdout.flush()
        print(f"{prog}: error: {message}", file=sys.stderr, flush=True)
        return status


if __name__ == "__main__":
    sys.exit(main())

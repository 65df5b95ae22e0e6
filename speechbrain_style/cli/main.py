"""The ``speechbrain-style`` command line.

Subcommands::

    speechbrain-style synth --out DIR --num-utts N --seed S [--sentences F]
    speechbrain-style index --model DIR (--manifest M | --audio-dir D) --out I
                            [--shard_size N] [--max_batch_seconds S]
                            [--fp16] [--precision fp32|bf16|int8]
    speechbrain-style search --model DIR --index I [-k 10] [--json]
                             [--fusion N] [--backend exact|faiss-flat|ivf|hnsw]
                             [--no_ann_cache] "query" [-q "another query" ...]
    speechbrain-style describe --model DIR [-k 5] [--bank F] FILE.wav
    speechbrain-style classify --model DIR --labels "happy,sad,angry"
                               [--label "A woman whispering." ...]
                               [--templates F] [--json] FILE...
    speechbrain-style serve --model DIR --index I [--host H] [--port P]
                            [--backend ...] (same backend flags as search)

``index``, ``search``, ``describe`` and ``serve`` take ``--precision
fp32|bf16|int8`` (the encoders' arithmetic, see
``speechbrain_style.inference.precision``); ``index`` records it in the
index, and a rerun at another precision recomputes the shards.

Recordings longer than the model's window (``--window``, default: the
model's ``window_seconds`` or 10 s; ``--hop``) are embedded in fixed
windows pooled by their length-weighted mean, read from disk window by
window: the same file always gets the same embedding and memory stays flat.

``index`` is resumable (rerun the same command after an interruption) and
runs under ``torchrun --nproc_per_node=N $(which speechbrain-style) index
...``: each rank embeds its own shards and rank 0 merges them.

Filters (``search --filter``, repeatable) have the syntax of the search
page: ``FIELD=VALUE`` or ``FIELD:VALUE`` (typed: ``spk=7`` matches the
number 7 and the string "7"), ``FIELD!=VALUE``, ``FIELD<N``, ``FIELD<=N``,
``FIELD>N``, ``FIELD>=N``; equalities on one field are alternatives (OR),
everything else must hold (AND). See :mod:`speechbrain_style.retrieval.filters`.

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
import sys

from speechbrain_style.cli.common import (
    add_backend_arguments,
    backend_load_options,
    load_model,
    non_negative_float,
    open_index,
    positive_int,
)
from speechbrain_style.cli.errors import (
    DEBUG_ENV,
    EXIT_INTERRUPTED,
    EXIT_USAGE_ERROR,
    CommandError,
    UsageError,
    error_message,
)
from speechbrain_style.inference.precision import (
    add_precision_argument,
)
from speechbrain_style.retrieval.service import MAX_QUERY_CHARS

# How many skipped files of --audio-dir the warning names.
MAX_LISTED_SKIPPED = 5


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
    from speechbrain_style.dataio.manifest import load_manifest, scan_audio_dir

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
    from speechbrain_style.retrieval.index import (
        DEFAULT_MAX_BATCH_SECONDS,
        build_index,
    )

    _check_out_dir(args.out)
    items, skipped_files = _read_items(args)
    rank = int(os.environ.get("RANK", "0"))
    if skipped_files and rank == 0:
        _warn(
            "index",
            f"{len(skipped_files)} file(s) under {args.audio_dir} are not "
            f"indexed: {_list_skipped(skipped_files)}",
        )
    model = load_model(
        args.model, args.device, args.precision, args.window, args.hop
    )
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
        precision=args.precision,
        window_seconds=model.window_seconds or None,
        hop_seconds=model.hop_seconds if model.window_seconds else None,
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


def _parse_filter_options(specs):
    """The ``--filter`` options as a FilterSet; UsageError if malformed."""
    from speechbrain_style.retrieval.filters import FilterError, parse_filters

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
    model = load_model(args.model, args.device, args.precision)
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
    from speechbrain_style.dataio.audio import get_audio_info

    # Check the inputs before the (slow) model load.
    bank = None
    if args.bank:
        bank = _read_text_lines(args.bank, "description bank")
        if not bank:
            raise CommandError(f"the description bank {args.bank} is empty")
    frames, sample_rate, _ = get_audio_info(args.file)
    model = load_model(
        args.model, args.device, args.precision, args.window, args.hop
    )
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


def _candidates(args):
    """Candidate labels/descriptions of ``classify`` from its options."""
    candidates = [c.strip() for c in (args.labels or "").split(",")]
    candidates = [c for c in candidates if c]
    candidates += [c.strip() for c in args.label or [] if c.strip()]
    if len(candidates) < 2:
        raise UsageError(
            "give at least two candidates, e.g. --labels "
            '"happy,sad,angry" or --label "A woman whispering." (repeatable)'
        )
    if len(set(candidates)) != len(candidates):
        raise UsageError(f"candidates are not unique: {candidates}")
    return candidates


def cmd_classify(args):
    """Zero-shot classification of recordings among labels/descriptions."""
    candidates = _candidates(args)
    from speechbrain_style.dataio.audio import get_audio_info

    templates = None
    if args.templates:
        templates = _read_text_lines(args.templates, "template file")
        if not templates:
            raise CommandError(f"the template file {args.templates} is empty")
    for path in args.files:  # before the (slow) model load
        get_audio_info(path)
    model = load_model(
        args.model, args.device, args.precision, args.window, args.hop
    )
    try:
        names, prompts = model.candidate_prompts(candidates, templates)
    except ValueError as err:
        raise UsageError(str(err)) from err
    probs = model.classify(args.files, candidates, templates=templates)
    if args.json:
        rows = []
        for path, row in zip(args.files, probs.tolist(), strict=True):
            best = max(range(len(names)), key=row.__getitem__)
            rows.append(
                {
                    "file": path,
                    "prediction": names[best],
                    "probabilities": dict(zip(names, row, strict=True)),
                }
            )
        print(json.dumps(rows, indent=2))
        return 0
    width = max(8, *(len(n) for n in names))
    name_width = max(4, *(len(os.path.basename(f)) for f in args.files))
    print(
        f"Zero-shot probabilities (softmax of {model.logit_scale:.2f} x mean "
        "cosine to each candidate's prompts)"
    )
    for name, ensemble in zip(names, prompts, strict=True):
        print(f"  {name}: {len(ensemble)} prompt(s), e.g. {ensemble[0]!r}")
    header = f"{'file':<{name_width}}  " + "  ".join(
        f"{n:>{width}}" for n in names
    )
    print(header + "  prediction")
    for path, row in zip(args.files, probs.tolist(), strict=True):
        best = max(range(len(names)), key=row.__getitem__)
        cells = "  ".join(f"{p:>{width}.4f}" for p in row)
        print(f"{os.path.basename(path):<{name_width}}  {cells}  {names[best]}")
    return 0


def _add_window_arguments(parser):
    """``--window`` / ``--hop`` (seconds) of long recordings."""
    parser.add_argument(
        "--window",
        type=float,
        default=None,
        metavar="S",
        help="recordings longer than S seconds are embedded in S-second "
        "windows, pooled (default: the model's window_seconds, or 10; 0: "
        "always whole)",
    )
    parser.add_argument(
        "--hop",
        type=float,
        default=None,
        metavar="S",
        help="hop between windows in seconds (default: the model's, or the "
        "window: no overlap)",
    )


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
        """Adds a subcommand with its help and the shared options."""
        return sub.add_parser(name, parents=[common], **kwargs)

    from speechbrain_style.corpora.stylesynth.synth import (
        add_synth_arguments,
        run_synth,
    )

    p_synth = add_subcommand(
        "synth", help="synthesise the embedded speaking-style corpus"
    )
    add_synth_arguments(p_synth)
    p_synth.set_defaults(func=run_synth)

    def add_model(p):
        """Adds the ``--model`` option (an inference folder)."""
        p.add_argument("--model", required=True, help="inference folder")
        p.add_argument(
            "--device",
            default=None,
            help="cpu or cuda:N (default: cuda:<LOCAL_RANK>, or cuda:0, "
            "when CUDA is available, else cpu)",
        )
        add_precision_argument(p)

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
    _add_window_arguments(p_index)
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
    _add_window_arguments(p_describe)
    p_describe.add_argument("file", help="audio file")
    p_describe.set_defaults(func=cmd_describe)

    p_classify = add_subcommand(
        "classify",
        help="zero-shot classification among labels or descriptions",
    )
    add_model(p_classify)
    p_classify.add_argument(
        "--labels",
        default="",
        help='comma-separated labels, e.g. "happy,sad,angry" (a bare label '
        "goes through the model's prompt templates)",
    )
    p_classify.add_argument(
        "--label",
        action="append",
        metavar="TEXT",
        help="one more candidate, a label or a whole description "
        "(repeatable; may contain commas)",
    )
    p_classify.add_argument(
        "--templates",
        help="file of prompt templates for bare labels, one per line, with "
        "{} where the label goes (default: the model's)",
    )
    p_classify.add_argument("--json", action="store_true")
    _add_window_arguments(p_classify)
    p_classify.add_argument("files", nargs="+", help="audio files")
    p_classify.set_defaults(func=cmd_classify)

    from speechbrain_style.cli.serve import (
        add_serve_arguments,
        run_serve,
    )

    p_serve = add_subcommand("serve", help="search page over an index (HTTP)")
    add_serve_arguments(p_serve)
    p_serve.set_defaults(func=run_serve)
    return parser


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

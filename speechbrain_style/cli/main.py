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
    speechbrain-style classify --model DIR --labels "happy,sad,angry"
                               [--label "A woman whispering." ...]
                               [--templates F] [--json] FILE...
    speechbrain-style serve --model DIR --index I [--host H] [--port P]
                            [--backend ...] (same backend flags as search)

Recordings longer than the model's window (``--window``, default: the
model's ``window_seconds`` or 10 s; ``--hop``) are embedded in fixed
windows pooled by their length-weighted mean, read from disk window by
window: the same file always gets the same embedding and memory stays flat.

``index`` is resumable (rerun the same command after an interruption) and
runs under ``torchrun --nproc_per_node=N $(which speechbrain-style) index
...``: each rank embeds its own shards and rank 0 merges them.

Authors
 * speechbrain-style contributors 2026
"""

import argparse
import json
import os
import sys

from speechbrain_style.cli.options import (
    add_backend_arguments,
    backend_load_options,
)
from speechbrain_style.retrieval.service import MAX_QUERY_CHARS


def _load_model(path, device, args=None):
    from speechbrain_style.inference.retriever import StyleRetriever

    model = StyleRetriever.from_hparams(
        source=path, run_opts={"device": device}
    )
    window = getattr(args, "window", None)
    if window is not None:
        if window < 0:
            raise SystemExit(f"error: --window must be >= 0, got {window}")
        model.window_seconds = window or None
    hop = getattr(args, "hop", None)
    if hop is not None:
        if not model.window_seconds or not 0 < hop <= model.window_seconds:
            raise SystemExit(
                f"error: --hop must be in (0, window={model.window_seconds}]"
                f", got {hop}"
            )
        model.hop_seconds = hop
    return model


def _read_items(args):
    """Items to index: {id: {"wav": path, **metadata}}."""
    from speechbrain_style.dataio.audio import list_audio_files, load_manifest

    if args.manifest:
        replacements = {}
        for pair in args.replace or []:
            key, sep, value = pair.partition("=")
            if not sep:
                raise SystemExit(f"--replace expects KEY=VALUE, got '{pair}'")
            replacements[key] = value
        if "data_root" not in replacements:
            replacements["data_root"] = os.path.dirname(
                os.path.abspath(args.manifest)
            )
        return load_manifest(
            args.manifest, required_keys=("wav",), replacements=replacements
        )
    files = list_audio_files(args.audio_dir)
    if not files:
        raise SystemExit(f"No audio file found under {args.audio_dir}")
    if isinstance(files, dict):
        return {key: {"wav": path} for key, path in files.items()}
    return {item_id: {"wav": path} for item_id, path in files}


def cmd_index(args):
    """Embeds a corpus and writes an index."""
    from speechbrain_style.retrieval.index import (
        DEFAULT_MAX_BATCH_SECONDS,
        build_index,
    )

    model = _load_model(args.model, args.device, args)
    items = _read_items(args)
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
        window_seconds=model.window_seconds or None,
        hop_seconds=model.hop_seconds if model.window_seconds else None,
    )
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"Indexed {len(index)} items into {os.path.abspath(args.out)}")
    return 0


def _check_query(query):
    query = " ".join(query) if isinstance(query, list) else query
    query = query.strip()
    if not query:
        raise SystemExit("error: the query is empty: describe a speaking style")
    if len(query) > MAX_QUERY_CHARS:
        raise SystemExit(
            f"error: the query has {len(query)} characters "
            f"(at most {MAX_QUERY_CHARS})"
        )
    return query


def cmd_search(args):
    """Answers text queries from an index (one model load for all)."""
    from speechbrain_style.retrieval.index import StyleIndex

    queries = [_check_query(q) for q in ([args.query] if args.query else [])]
    queries += [_check_query(q) for q in args.queries or []]
    if not queries:
        raise SystemExit("error: give a query (or several with -q)")
    model = _load_model(args.model, args.device)
    index = StyleIndex.load(
        args.index,
        expected_model={"fingerprint": model.fingerprint},
        **backend_load_options(args),
    )
    filters = {}
    for pair in args.filter or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--filter expects FIELD=VALUE, got '{pair}'")
        filters.setdefault(key, []).append(value)
    if args.fusion is not None and args.fusion < 1:
        raise SystemExit(f"error: --fusion must be >= 1, got {args.fusion}")
    all_hits = index.search(
        model.encode_text(queries),
        k=args.k,
        filters=filters or None,
        fusion_n=args.fusion,
    )
    fields = args.fields.split(",") if args.fields else []
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
    model = _load_model(args.model, args.device, args)
    bank = None
    if args.bank:
        with open(args.bank, encoding="utf-8") as fin:
            bank = [line.strip() for line in fin if line.strip()]
        if not bank:
            raise SystemExit(
                f"error: the description bank {args.bank} is empty"
            )
    ranked = model.describe_file(args.file, descriptions=bank, k=args.k)
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
        raise SystemExit(
            "error: give at least two candidates, e.g. --labels "
            '"happy,sad,angry" or --label "A woman whispering." (repeatable)'
        )
    if len(set(candidates)) != len(candidates):
        raise SystemExit(f"error: candidates are not unique: {candidates}")
    return candidates


def cmd_classify(args):
    """Zero-shot classification of recordings among labels/descriptions."""
    candidates = _candidates(args)
    templates = None
    if args.templates:
        with open(args.templates, encoding="utf-8") as fin:
            templates = [line.strip() for line in fin if line.strip()]
        if not templates:
            raise SystemExit(
                f"error: the template file {args.templates} is empty"
            )
    missing = [f for f in args.files if not os.path.isfile(f)]
    if missing:
        raise SystemExit(f"error: audio file not found: {missing[0]}")
    model = _load_model(args.model, args.device, args)
    try:
        names, prompts = model.candidate_prompts(candidates, templates)
    except ValueError as err:
        raise SystemExit(f"error: {err}") from err
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
    )
    sub = parser.add_subparsers(dest="command", required=True)

    from speechbrain_style.corpora.stylesynth.synth import (
        add_synth_arguments,
        run_synth,
    )

    p_synth = sub.add_parser(
        "synth", help="synthesise the embedded speaking-style corpus"
    )
    add_synth_arguments(p_synth)
    p_synth.set_defaults(func=run_synth)

    def add_model(p):
        p.add_argument("--model", required=True, help="inference folder")
        p.add_argument("--device", default="cpu", help="cpu or cuda:N")

    p_index = sub.add_parser("index", help="embed a corpus into an index")
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
    p_index.add_argument("--batch-size", type=int, default=16)
    p_index.add_argument(
        "--max_batch_seconds",
        "--max-batch-seconds",
        type=float,
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
        type=int,
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

    p_search = sub.add_parser("search", help="query an index with text")
    add_model(p_search)
    p_search.add_argument("--index", required=True, help="index folder")
    p_search.add_argument("-k", type=int, default=10, help="hits to return")
    p_search.add_argument(
        "--json", action="store_true", help="JSON output, one line per query"
    )
    p_search.add_argument(
        "--filter",
        action="append",
        metavar="FIELD=VALUE",
        help="keep items whose metadata FIELD equals VALUE (repeatable)",
    )
    p_search.add_argument(
        "--fusion",
        type=int,
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

    p_describe = sub.add_parser(
        "describe", help="rank descriptions for a recording"
    )
    add_model(p_describe)
    p_describe.add_argument("-k", type=int, default=5)
    p_describe.add_argument(
        "--bank", help="file of candidate descriptions, one per line"
    )
    p_describe.add_argument("--json", action="store_true")
    _add_window_arguments(p_describe)
    p_describe.add_argument("file", help="audio file")
    p_describe.set_defaults(func=cmd_describe)

    p_classify = sub.add_parser(
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

    p_serve = sub.add_parser("serve", help="search page over an index (HTTP)")
    add_serve_arguments(p_serve)
    p_serve.set_defaults(func=run_serve)
    return parser


def main(argv=None):
    """Entry point of the ``speechbrain-style`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())

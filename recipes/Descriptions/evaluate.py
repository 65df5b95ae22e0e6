#!/usr/bin/env python3
"""Evaluates a trained model on a descriptions manifest.

The evaluation of ``train.py`` on any manifest of the same format (JSON or
CSV, see README.md): description retrieval over the whole set in both
directions, with chance levels, and zero-shot classification of metadata
fields with the model's prompt templates. Recordings are embedded whole,
long ones in the model's fixed windows, pooled (never cropped at random).

> python evaluate.py --model results/.../inference \\
>     --manifest results/corpus/test_closed_descriptions.json \\
>     --data_folder results/corpus --zero_shot_fields sex,rate,phonation

prints the table and writes ``<name>.{txt,json}`` into ``--out``.

Authors
 * speechbrain-style contributors 2026
"""

import argparse
import os
import sys

import torch
from tqdm import tqdm

from speechbrain_style.dataio.descriptions import read_description_manifest
from speechbrain_style.dataio.windows import embed_file_in_windows
from speechbrain_style.evaluation.descriptions import (
    DescriptionRetrievalEvaluator,
    TemplatePrompts,
)
from speechbrain_style.evaluation.retrieval import format_table, save_results
from speechbrain_style.inference.retriever import StyleRetriever
from speechbrain_style.prompts.templates import default_templates


def embed_items(model, items, batch_size=16):
    """Speech embeddings of manifest items (segments read from disk).

    Arguments
    ---------
    model : StyleRetriever
        The model.
    items : dict
        ``{item_id: {"wav", "start", "stop", ...}}``, paths resolved.
    batch_size : int
        Whole files per forward pass.

    Returns
    -------
    torch.Tensor
        (N, D), in the order of ``items``.
    """
    ids = list(items)
    whole = [
        i for i in ids if items[i]["start"] is None and items[i]["stop"] is None
    ]
    out = {}
    if whole:
        embs = model.encode_files(
            [items[i]["wav"] for i in whole],
            batch_size=batch_size,
            progress=True,
        )
        out.update(zip(whole, embs, strict=True))
    segments = [i for i in ids if i not in out]
    for item_id in tqdm(segments, desc="segments", disable=not segments):
        item = items[item_id]
        out[item_id] = embed_file_in_windows(
            model.encode_audio,
            item["wav"],
            sample_rate=model.sample_rate,
            window_seconds=model.window_seconds or 1e9,
            hop_seconds=model.hop_seconds,
            start=item["start"],
            stop=item["stop"],
        )
    return torch.stack([out[i] for i in ids])


def evaluate_manifest(model, manifest, data_folder, zero_shot_fields=()):
    """Description retrieval and zero-shot accuracy of a model on a manifest.

    Arguments
    ---------
    model : StyleRetriever
        The model.
    manifest : str
        A descriptions manifest (``.json`` or ``.csv``).
    data_folder : str
        Value of ``{data_root}`` / ``$data_root``.
    zero_shot_fields : sequence of str
        Metadata fields to classify zero-shot.

    Returns
    -------
    dict
        The evaluator's results (see
        ``speechbrain_style.evaluation.descriptions``).
    """
    items = read_description_manifest(manifest)
    for item in items.values():
        item["wav"] = item["wav"].replace("{data_root}", data_folder)
    speech = embed_items(model, items)
    templates = model.prompt_templates() or default_templates()
    evaluator = DescriptionRetrievalEvaluator(
        zero_shot_fields=list(zero_shot_fields),
        prompt_fn=TemplatePrompts(templates),
    )
    records = [{"id": item_id, **item} for item_id, item in items.items()]
    for record in records:
        for field in zero_shot_fields:
            record.setdefault(field, None)
    return evaluator.evaluate(speech, records, model.encode_text)


def main(argv=None):
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="inference folder")
    parser.add_argument("--manifest", required=True)
    parser.add_argument(
        "--data_folder",
        default=None,
        help="value of {data_root} (default: the manifest's folder)",
    )
    parser.add_argument(
        "--zero_shot_fields",
        default="",
        help="comma-separated metadata fields to classify zero-shot",
    )
    parser.add_argument("--out", default=None, help="results folder")
    parser.add_argument("--name", default=None, help="results file name")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    data_folder = args.data_folder or os.path.dirname(
        os.path.abspath(args.manifest)
    )
    model = StyleRetriever.from_hparams(
        source=args.model, run_opts={"device": args.device}
    )
    fields = [f.strip() for f in args.zero_shot_fields.split(",") if f.strip()]
    results = evaluate_manifest(model, args.manifest, data_folder, fields)
    print(format_table(results))
    if args.out:
        name = args.name or os.path.splitext(os.path.basename(args.manifest))[0]
        paths = save_results(results, args.out, name=name)
        print(f"Results written to {paths['table']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

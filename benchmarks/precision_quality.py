#!/usr/bin/env python3
r"""Quality guard of the inference precisions on a trained StyleSynth model.

For each precision (fp32, bf16, int8; :mod:`speechbrain_style.inference.
precision`) the exported model (``StyleRetriever.from_hparams(...,
precision=P)``) embeds the test set (``encode_files``, batches of 16
length-sorted files, as ``speechbrain-style index`` does) and the class
descriptions (search side), and the recipe's evaluation runs on them: the
``RetrievalEvaluator`` of ``recipes/StyleSynth/hparams/synth_ecapa_minilm.
yaml`` (factors + combined style, training and held-out description banks,
both directions, the trial protocol: 1 positive + 400 distractors, 1,000
trials per class, seed 42; the trials are drawn once and shared by every
precision). It prints:

* the cosine between fp32 and reduced-precision embeddings (min / mean over
  the test files, and over the description bank);
* the held-out bank table of each precision, and the largest absolute
  difference from fp32 over the table's metrics (R@K, mAP@10, tau, trial
  R@K) of both banks, overall and on the "mean" rows.

Run (from the repository root, after ``scripts/demo.sh`` or the StyleSynth
recipe)::

    python benchmarks/precision_quality.py --model results/demo/inference \
        --corpus results/synth_corpus

Authors
 * speechbrain-style contributors 2026
"""

import argparse
import os
import sys
import tempfile
import time

import torch

from speechbrain_style.corpora.stylesynth import factors
from speechbrain_style.dataio.manifest import load_manifest
from speechbrain_style.evaluation.retrieval import (
    RetrievalEvaluator,
    format_table,
)
from speechbrain_style.inference.precision import (
    PRECISIONS,
    embedding_agreement,
)
from speechbrain_style.inference.retriever import StyleRetriever

# As recipes/StyleSynth/hparams/synth_ecapa_minilm.yaml.
EVAL_FIELDS = ["sex", "pitch", "rate", "range", "phonation", "style"]
ORDINAL_FIELDS = {
    "pitch": ["low", "mid", "high"],
    "rate": ["slow", "normal", "fast"],
    "range": ["monotone", "normal", "animated"],
}


def make_evaluator(trials_folder, num_trials=1000, num_distractors=400):
    """The StyleSynth recipe's evaluator (see the module docstring)."""
    return RetrievalEvaluator(
        fields=EVAL_FIELDS,
        prompt_fn=factors.FactorPrompts(num_combo_prompts=10),
        banks=["train", "heldout"],
        num_trials=num_trials,
        num_distractors=num_distractors,
        trial_seed=42,
        trials_folder=trials_folder,
        selection_metric="s2t_mAP@10",
        ordinal_fields=ORDINAL_FIELDS,
    )


def flat_metrics(results):
    """``{(bank, field, metric): value}`` of the table's metrics.

    The columns of the recipe's table (R@K, mAP@10, ordinal tau, trial R@K:
    all in [0, 1]); mean and median ranks are left out.
    """
    from speechbrain_style.evaluation.retrieval import (
        TABLE_COLUMNS,
        _flatten_field,
    )

    columns = {key for key, _ in TABLE_COLUMNS}
    flat = {}
    for bank, per_field in results["fields"].items():
        for field, res in per_field.items():
            for key, value in _flatten_field(res).items():
                if key in columns and isinstance(value, (int, float)):
                    flat[(bank, field, key)] = float(value)
        for key, value in results["summary"][bank].items():
            if key in columns:
                flat[(bank, "mean", key)] = float(value)
    return flat


def main(argv=None):
    """Runs the comparison (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="inference folder")
    parser.add_argument(
        "--corpus", required=True, help="StyleSynth corpus (with test.json)"
    )
    parser.add_argument("--split", default="test")
    parser.add_argument(
        "--precisions", default=",".join(PRECISIONS), help="fp32 first"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--num-trials", type=int, default=1000)
    parser.add_argument("--num-distractors", type=int, default=400)
    parser.add_argument("--limit", type=int, help="first N test files only")
    parser.add_argument("--workdir", help="folder for the shared trials")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    precisions = args.precisions.split(",")
    if precisions[0] != "fp32":
        raise SystemExit("--precisions must start with fp32 (the reference)")
    manifest = os.path.join(args.corpus, f"{args.split}.json")
    data = load_manifest(
        manifest,
        required_keys=("wav", *factors.FACTORS),
        replacements={"data_root": args.corpus},
    )
    ids = list(data)[: args.limit]
    items = [
        {
            "id": item_id,
            **factors.evaluation_labels(
                {f: data[item_id][f] for f in factors.FACTORS}
            ),
        }
        for item_id in ids
    ]
    paths = [data[item_id]["wav"] for item_id in ids]
    workdir = args.workdir or tempfile.mkdtemp(prefix="precision_quality_")
    evaluator = make_evaluator(
        os.path.join(workdir, "trials"), args.num_trials, args.num_distractors
    )
    bank = None
    embeddings, results, timings = {}, {}, {}
    for precision in precisions:
        model = StyleRetriever.from_hparams(
            source=args.model, precision=precision
        )
        if bank is None:
            bank = model.description_bank()
        begin = time.perf_counter()
        speech = model.encode_files(paths, batch_size=16)
        timings[precision] = time.perf_counter() - begin
        embeddings[precision] = (speech, model.encode_text(bank))
        results[precision] = evaluator.evaluate(
            speech, items, model.encode_text, trials=True, trials_tag="test"
        )
    print(
        f"Model {args.model}; {len(paths)} {args.split} files; "
        f"{args.threads} threads; torch {torch.__version__}"
    )
    print()
    print(
        "| precision | speech min cos | speech mean cos | text min cos | "
        "text mean cos | max abs diff | max abs diff, mean rows | "
        "encode_files (s) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    reference = flat_metrics(results["fp32"])
    diffs, mean_diffs = {}, {}
    for precision in precisions:
        speech = embedding_agreement(
            embeddings["fp32"][0], embeddings[precision][0]
        )
        text = embedding_agreement(
            embeddings["fp32"][1], embeddings[precision][1]
        )
        flat = flat_metrics(results[precision])
        worst = max(reference, key=lambda k: abs(flat[k] - reference[k]))
        diffs[precision] = (abs(flat[worst] - reference[worst]), worst)
        means = [k for k in reference if k[1] == "mean"]
        mean_diffs[precision] = max(abs(flat[k] - reference[k]) for k in means)
        print(
            f"| {precision} | {speech['min']:.5f} | {speech['mean']:.5f} | "
            f"{text['min']:.5f} | {text['mean']:.5f} | "
            f"{diffs[precision][0]:.4f} | {mean_diffs[precision]:.4f} | "
            f"{timings[precision]:.1f} |"
        )
    print()
    for precision in precisions[1:]:
        value, (bank_name, field, key) = diffs[precision]
        print(
            f"{precision}: largest difference {value:.4f} at {bank_name} "
            f"bank, {field}, {key}"
        )
    print()
    for precision in precisions:
        held_out = {
            key: {"heldout": value["heldout"]}
            for key, value in results[precision].items()
            if key in ("fields", "summary")
        }
        print(format_table(held_out, title=f"[{precision}] "))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

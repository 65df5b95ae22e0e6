#!/usr/bin/env python3
"""Recipe: expressive speech retrieval trained on IEMOCAP + ESD + Expresso.

As in the expressive speech retrieval paper, one model is trained on the
union of the three corpora (23 style classes; ESD's "surprise" is the same
class as IEMOCAP's "surprised"), with balanced sampling across corpora
(each corpus contributes the same expected number of utterances per epoch,
whatever its size), and evaluated on each corpus' test set separately
(``retrieval_test_esd.txt``, ``retrieval_test_expresso.txt``,
``retrieval_test_iemocap.txt``).

To run this recipe:
> python train.py hparams/joint_roberta.yaml --esd_folder=/data/ESD \
>     --expresso_folder=/data/expresso \
>     --iemocap_folder=/data/IEMOCAP_full_release

Authors
 * speechbrain-style contributors 2026
"""

import os
import sys

from speechbrain.dataio.sampler import ReproducibleWeightedRandomSampler
from speechbrain.utils.distributed import run_on_main

from speechbrain_style.dataio.audio import load_manifest
from speechbrain_style.prompts.emotion import style_description_bank
from speechbrain_style.recipe import (
    categorical_dataio_prep,
    fit_export_evaluate,
    load_recipe_hparams,
)

RECIPES = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for name in ("ESD", "Expresso", "IEMOCAP"):
    sys.path.append(os.path.join(RECIPES, name))

from esd_prepare import prepare_esd  # noqa: E402
from expresso_prepare import prepare_expresso  # noqa: E402
from iemocap_prepare import prepare_iemocap  # noqa: E402

CORPORA = {
    "esd": (prepare_esd, {"languages": "languages"}),
    "expresso": (prepare_expresso, {"styles": "expresso_styles"}),
    "iemocap": (
        prepare_iemocap,
        {"test_session": "iemocap_test_session", "label_set": "label_set"},
    ),
}
SPLITS = ("train", "valid", "test")


def prepare_all(hparams):
    """Prepares every corpus into ``<output_folder>/<corpus>/<split>.json``."""
    for corpus, (prepare, keys) in CORPORA.items():
        kwargs = {
            f"save_json_{split}": manifest_path(hparams, corpus, split)
            for split in SPLITS
        }
        kwargs.update({arg: hparams[key] for arg, key in keys.items()})
        run_on_main(
            prepare,
            kwargs={
                "data_folder": hparams[f"{corpus}_folder"],
                "skip_prep": hparams["skip_prep"],
                **kwargs,
            },
        )


def manifest_path(hparams, corpus, split):
    """Where a corpus' manifest of ``split`` is written."""
    return os.path.join(hparams["output_folder"], corpus, f"{split}.json")


def joint_data(hparams):
    """Loads and merges the manifests: union train/valid, one test each.

    Item ids get the corpus as a prefix; style aliases are applied.
    """
    aliases = hparams["style_aliases"]
    data = {"train": {}, "valid": {}}
    for corpus in CORPORA:
        for split in SPLITS:
            items = load_manifest(
                manifest_path(hparams, corpus, split),
                required_keys=("wav", "style"),
                replacements={"data_root": hparams[f"{corpus}_folder"]},
            )
            merged = {}
            for item_id, item in items.items():
                item = dict(item, dataset=corpus)
                item["style"] = aliases.get(item["style"], item["style"])
                merged[f"{corpus}/{item_id}"] = item
            if split == "test":
                data[f"test_{corpus}"] = merged
            else:
                data[split].update(merged)
    return data


def balanced_sampler(items, seed):
    """Sampler drawing every corpus equally often (with replacement)."""
    counts = {}
    for item in items.values():
        counts[item["dataset"]] = counts.get(item["dataset"], 0) + 1
    weights = [1.0 / counts[item["dataset"]] for item in items.values()]
    return ReproducibleWeightedRandomSampler(
        weights, num_samples=len(weights), replacement=True, seed=seed
    )


if __name__ == "__main__":
    hparams, run_opts = load_recipe_hparams(sys.argv[1:])
    prepare_all(hparams)
    data = joint_data(hparams)
    datasets = categorical_dataio_prep(hparams, hparams["classes"], data=data)
    hparams["train_dataloader_opts"]["sampler"] = balanced_sampler(
        data["train"], hparams["seed"]
    )
    hparams["train_dataloader_opts"]["shuffle"] = False
    fit_export_evaluate(
        hparams,
        run_opts,
        datasets,
        description_bank=style_description_bank(hparams["classes"]),
    )

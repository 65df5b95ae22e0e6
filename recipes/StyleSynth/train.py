#!/usr/bin/env python3
"""Recipe: speaking-style retrieval on the embedded espeak-ng corpus.

A speech encoder and a text encoder are trained with a label-aware
contrastive loss so that a description ("A woman whispering slowly.") and
the speech it describes end up close. The corpus is synthesised offline
into ``data_folder`` on the first run.

To run this recipe:
> python train.py hparams/synth_ecapa_minilm.yaml --data_folder=results/corpus

Swap the speech encoder for emotion2vec (see README.md):
> python train.py hparams/synth_ecapa_minilm.yaml --data_folder=results/corpus \
>     --speech_block=emotion2vec --speech_overrides="{source: DIR}"

Authors
 * speechbrain-style contributors 2026
"""

import sys

import speechbrain as sb
from speechbrain.utils.distributed import run_on_main
from synth_prepare import prepare_synth

from speechbrain_style.corpora.stylesynth import factors
from speechbrain_style.dataio.audio import load_manifest, make_audio_pipeline
from speechbrain_style.recipe import fit_export_evaluate, load_recipe_hparams


def dataio_prep(hparams):
    """Creates the train/valid/test datasets with their pipelines."""
    label_pipeline = factors.make_label_pipeline()
    description_pipeline = factors.make_description_pipeline(bank="train")
    ordinal_pipeline = factors.make_ordinal_pipeline(hparams["ordinal_factors"])
    output_keys = ["id", "sig", "style_labels", "eval_labels", "ordinal_values"]
    datasets = {}
    for split in ("train", "valid", "test"):
        train = split == "train"
        audio_pipeline = make_audio_pipeline(
            sample_rate=hparams["sample_rate"],
            crop_seconds=hparams["crop_seconds"] if train else None,
            train=train,
        )
        dynamic_items = [audio_pipeline, label_pipeline, ordinal_pipeline]
        keys = list(output_keys)
        if split != "test":
            dynamic_items.append(description_pipeline)
            keys += ["description", "description_labels"]
        # Checked on load: a missing field is an error naming the item.
        data = load_manifest(
            hparams[f"{split}_annotation"],
            required_keys=("wav", "duration", *factors.FACTORS),
            replacements={"data_root": hparams["data_folder"]},
        )
        dataset = sb.dataio.dataset.DynamicItemDataset(
            data, dynamic_items=dynamic_items, output_keys=keys
        )
        if not train:
            # Less padding: evaluation embeddings do not depend on order.
            dataset = dataset.filtered_sorted(sort_key="duration")
        datasets[split] = dataset
    return datasets


if __name__ == "__main__":
    hparams, run_opts = load_recipe_hparams(sys.argv[1:])
    run_on_main(
        prepare_synth,
        kwargs={
            "data_folder": hparams["data_folder"],
            "save_json_train": hparams["train_annotation"],
            "save_json_valid": hparams["valid_annotation"],
            "save_json_test": hparams["test_annotation"],
            "num_train_utts": hparams["num_train_utts"],
            "num_valid_utts": hparams["num_valid_utts"],
            "num_test_utts": hparams["num_test_utts"],
            "seed": hparams["corpus_seed"],
            "sentences_file": hparams["sentences_file"],
            "skip_prep": hparams["skip_prep"],
        },
    )
    datasets = dataio_prep(hparams)

    fit_export_evaluate(
        hparams,
        run_opts,
        datasets,
        description_bank=factors.description_bank(),
    )

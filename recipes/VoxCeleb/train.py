#!/usr/bin/env python3
"""Recipe: speaker-text retrieval (descriptions <-> speaker embeddings).

Implements *Speaker-Text Retrieval via Contrastive Learning* (Liu et al.):
an ECAPA-TDNN speaker encoder and a BERT-family text encoder, projection
(768) + transform layers on both sides, L_CTS,tot = L_CTS(projection) +
L_CTS(transform); optional speaker supervision (AAM-softmax, or supervised
contrastive with same-speaker pairs as positives); evaluation both
directions with mAP@10 and mean rank, plain and with fusion, t-SNE maps.

On VoxCeleb1:
> python train.py hparams/voxceleb_ecapa_bert.yaml --data_folder=/data/voxceleb1

On the embedded corpus (voices as speakers, offline, CPU):
> python train.py hparams/synth_speakers_ecapa_minilm.yaml \
>     --data_folder=results/corpus

Authors
 * speechbrain-style contributors 2026
"""

import os
import sys

from speechbrain.utils.distributed import run_on_main

from speechbrain_style.recipe import (
    fit_export_evaluate,
    load_recipe_hparams,
    speaker_dataio_prep,
)

sys.path.append(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "StyleSynth")
)

from synth_prepare import prepare_synth  # noqa: E402
from voxceleb_prepare import prepare_voxceleb  # noqa: E402


def prepare_corpus(hparams):
    """Prepares VoxCeleb1 or the embedded corpus (``corpus`` in hparams)."""
    outputs = {
        "data_folder": hparams["data_folder"],
        "save_json_train": hparams["train_annotation"],
        "save_json_valid": hparams["valid_annotation"],
        "save_json_test": hparams["test_annotation"],
        "skip_prep": hparams["skip_prep"],
    }
    if hparams["corpus"] == "voxceleb1":
        run_on_main(prepare_voxceleb, kwargs=outputs)
    elif hparams["corpus"] == "synth":
        run_on_main(prepare_synth, kwargs={**outputs, **hparams["synth"]})
    else:
        raise ValueError(f"Unknown corpus {hparams['corpus']!r}")


if __name__ == "__main__":
    hparams, run_opts = load_recipe_hparams(sys.argv[1:])
    prepare_corpus(hparams)
    datasets = speaker_dataio_prep(hparams, hparams["description_fields"])
    fit_export_evaluate(hparams, run_opts, datasets)

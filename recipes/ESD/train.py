#!/usr/bin/env python3
"""Recipe: expressive speech retrieval on ESD (Emotional Speech Dataset).

Trains a speech encoder (emotion2vec or ECAPA-TDNN) and a text encoder
(BERT, RoBERTa, T5 or Flan-T5) so that a description of a speaking style
("Spoken in a frustrated tone.") retrieves speech in that style, then
evaluates per-class Recall@K on the expressive-retrieval paper's trials
(both directions, training and held-out prompt banks). The steps are those
of every SpeechBrain recipe (``speechbrain_style.recipe``): parse, prepare
the data on the main process, build the datasets, fit, export, evaluate.

To run this recipe:
> python train.py hparams/esd_roberta.yaml --data_folder=/path/to/ESD

Authors
 * speechbrain-style contributors 2026
"""

import sys

from esd_prepare import prepare_esd

from speechbrain_style.recipe import run_categorical_recipe

if __name__ == "__main__":
    run_categorical_recipe(
        sys.argv[1:], prepare_esd, prepare_keys=("languages",)
    )

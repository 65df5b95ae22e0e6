#!/usr/bin/env python3
"""Recipe: EmotionRankCLAP on MSP-Podcast (valence / arousal descriptions).

Trains a speech encoder (emotion2vec) and a text encoder (RoBERTa) so that
descriptions generated from an utterance's valence and arousal ("A calm,
slightly negative voice.") retrieve it, with label-aware InfoNCE plus a
cross-modal Rank-N-Contrast loss that keeps the items ordered by their
values; then reports retrieval over the binned levels, ordinal consistency
(VOC / AOC), the modality gap (MMD, Wasserstein) and similarity-vs-values
plots. The steps are those of every SpeechBrain recipe
(``speechbrain_style.recipe.run_dimensional_recipe``).

To run this recipe:
> python train.py hparams/msp_podcast_roberta.yaml \
>     --data_folder=/path/to/MSP-Podcast

InfoNCE only (the baseline of the paper's comparison):
> python train.py hparams/msp_podcast_roberta.yaml --data_folder=... \
>     --rank_loss_weight=0

Authors
 * speechbrain-style contributors 2026
"""

import sys

from msp_podcast_prepare import prepare_msp_podcast

from speechbrain_style.recipe import run_dimensional_recipe

if __name__ == "__main__":
    run_dimensional_recipe(
        sys.argv[1:], prepare_msp_podcast, prepare_keys=("test_set",)
    )

#!/usr/bin/env python3
"""Recipe: EmotionRankCLAP on IEMOCAP (valence / arousal descriptions).

The dimensional sibling of ``train.py``: the same data preparation
(leave-one-session-out, every annotated turn with ``label_set: all``), but
the descriptions are generated from each turn's valence and arousal (1-5),
the loss is label-aware InfoNCE + Rank-N-Contrast over the values, and the
evaluation reports ordinal consistency (VOC / AOC) and the modality gap
(``speechbrain_style.recipe.run_dimensional_recipe``).

To run this recipe:
> python train_dimensional.py hparams/iemocap_dimensional_roberta.yaml \
>     --data_folder=/path/to/IEMOCAP_full_release

Authors
 * speechbrain-style contributors 2026
"""

import sys

from iemocap_prepare import prepare_iemocap

from speechbrain_style.recipe import run_dimensional_recipe

if __name__ == "__main__":
    run_dimensional_recipe(
        sys.argv[1:],
        prepare_iemocap,
        prepare_keys=("test_session", "label_set"),
    )

#!/usr/bin/env python3
"""Recipe: text-audio retrieval on Clotho v2.1 (PaSST + RoBERTa).

The seed's dual encoder (xieh97/text-audio-retrieval): PaSST audio encoder
and RoBERTa [CLS] text encoder with 2-layer MLP heads to 1024, trained with
cross-entropy over the similarity matrix where every caption of a clip is a
positive (temperature 0.05); evaluated over the whole evaluation split in
both directions with R@1/5/10 and mAP@10 (DCASE definitions).

> python train.py hparams/clotho_passt_roberta.yaml --data_folder=/data/clotho

Shared code: speechbrain_style.caption_recipe (data, schedule, run),
speechbrain_style.evaluation.caption (metrics), speechbrain_style.lobes.passt.

Authors
 * speechbrain-style contributors 2026
"""

import sys

from clotho_prepare import prepare_clotho

from speechbrain_style.caption_recipe import run_caption_recipe

if __name__ == "__main__":
    run_caption_recipe(sys.argv[1:], prepare_clotho)

#!/usr/bin/env python3
"""Recipe: text-audio retrieval on AudioCaps (PaSST + RoBERTa).

The seed's dual encoder (xieh97/text-audio-retrieval): PaSST audio encoder
and RoBERTa [CLS] text encoder with 2-layer MLP heads to 1024, trained with
cross-entropy over the similarity matrix where every caption of a clip is a
positive (temperature 0.05); evaluated over the whole test split in both
directions with R@1/5/10 and mAP@10 (DCASE definitions).

AudioCaps distributes captions only: download the clips first (10 s from
``start_time`` of each YouTube video) into a folder, one file per clip named
``<youtube_id>.wav``; clips that are missing are counted and logged.

> python train.py hparams/audiocaps_passt_roberta.yaml \
>     --data_folder=/data/audiocaps --audio_folder=/data/audiocaps/audio

Shared code: speechbrain_style.caption_recipe (data, schedule, run),
speechbrain_style.evaluation.caption (metrics), speechbrain_style.lobes.passt.

Authors
 * speechbrain-style contributors 2026
"""

import sys

from audiocaps_prepare import prepare_audiocaps

from speechbrain_style.caption_recipe import run_caption_recipe

if __name__ == "__main__":
    run_caption_recipe(
        sys.argv[1:], prepare_audiocaps, prepare_keys=("audio_folder",)
    )

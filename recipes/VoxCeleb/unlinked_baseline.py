#!/usr/bin/env python3
"""The speaker-text paper's "unlinked" baseline: no contrastive training.

The pretrained speaker encoder and text encoder of a recipe yaml embed the
training utterances and the descriptions of the training speakers; a
two-view LDA (``speechbrain_style.retrieval.alignment.lda_align``, on
scikit-learn's ``LinearDiscriminantAnalysis``) fitted on them maps both
modalities into one space, where the test set is scored like the
trained models (mAP@10 and mean rank, both directions, plain and fused).

To run it (same yaml and overrides as train.py; the data is prepared as
train.py does, if needed):
> python unlinked_baseline.py hparams/voxceleb_ecapa_bert.yaml \
>     --data_folder=/data/voxceleb1

Authors
 * speechbrain-style contributors 2026
"""

import json
import os
import sys

import speechbrain as sb
import torch
from hyperpyyaml import load_hyperpyyaml
from tqdm import tqdm
from train import prepare_corpus

from speechbrain_style.dataio.audio import load_audio
from speechbrain_style.dataio.manifest import load_manifest
from speechbrain_style.evaluation.speaker import speaker_retrieval_metrics
from speechbrain_style.inference.retriever import pad_signals
from speechbrain_style.prompts.speaker import SpeakerDescriber
from speechbrain_style.retrieval.alignment import lda_align


@torch.no_grad()
def embed_speech(encoder, items, sample_rate, batch_size=16):
    """Raw speaker embeddings of manifest items (length-sorted batches)."""
    encoder.eval()
    ids = sorted(items, key=lambda i: items[i].get("duration", 0.0))
    out = {}
    for start in tqdm(range(0, len(ids), batch_size), desc="speech"):
        chunk = ids[start : start + batch_size]
        wavs, lens = pad_signals(
            [load_audio(items[i]["wav"], sample_rate) for i in chunk]
        )
        for item_id, emb in zip(chunk, encoder(wavs, lens), strict=True):
            out[item_id] = emb
    return torch.stack([out[i] for i in items])


@torch.no_grad()
def embed_texts(encoder, items, fields, bank, per_speaker):
    """Raw text embeddings of each speaker's descriptions."""
    encoder.eval()
    describer = SpeakerDescriber(bank=bank)
    metas = {}
    for item in items.values():
        metas.setdefault(item["spk_id"], {f: item.get(f) for f in fields})
    texts, owners = [], []
    for spk_id in sorted(metas):
        prompts = describer.prompts(metas[spk_id])[:per_speaker]
        texts += prompts
        owners += [spk_id] * len(prompts)
    return encoder(texts), owners


def main(argv):
    """Fits the LDA on the training set and scores the test set."""
    hparams_file, run_opts, overrides = sb.parse_arguments(argv)
    sb.utils.distributed.ddp_init_group(run_opts)
    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    prepare_corpus(hparams)
    fields = hparams["description_fields"]
    data = {
        split: load_manifest(
            hparams[f"{split}_annotation"],
            required_keys=("wav", *fields),
            replacements={"data_root": hparams["data_folder"]},
        )
        for split in ("train", "test")
    }
    speech_encoder = hparams["speech_encoder"]
    text_encoder = hparams["text_encoder"]
    per_speaker = hparams["retrieval_evaluator"].prompts_per_speaker
    train_speech = embed_speech(
        speech_encoder, data["train"], hparams["sample_rate"]
    )
    train_text, train_text_spk = embed_texts(
        text_encoder, data["train"], fields, "train", per_speaker
    )
    text_proj, speech_proj = lda_align(
        train_text,
        train_speech,
        train_text_spk,
        speech_labels=[it["spk_id"] for it in data["train"].values()],
    )
    test_speech = speech_proj(
        embed_speech(speech_encoder, data["test"], hparams["sample_rate"])
    )
    speech_spk = [it["spk_id"] for it in data["test"].values()]
    results = {}
    for bank in hparams["retrieval_evaluator"].banks:
        text, text_spk = embed_texts(
            text_encoder, data["test"], fields, bank, per_speaker
        )
        text = text_proj(text)
        results[bank] = {
            "plain": speaker_retrieval_metrics(
                test_speech, text, speech_spk, text_spk
            ),
            "fused": speaker_retrieval_metrics(
                test_speech,
                text,
                speech_spk,
                text_spk,
                fusion_n=hparams["fusion_n"],
            ),
        }
    path = os.path.join(hparams["output_folder"], "unlinked_baseline.json")
    with open(path, "w", encoding="utf-8") as fout:
        json.dump(results, fout, indent=2, default=float)
    print(json.dumps(results, indent=2, default=float))
    print(f"Written to {path}")


if __name__ == "__main__":
    main(sys.argv[1:])

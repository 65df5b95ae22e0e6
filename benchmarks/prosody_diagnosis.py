#!/usr/bin/env python3
r"""Why the demo model does not hear pitch and intonation range: probes.

Linear probes (scikit-learn's standardised logistic regression, trained on
the corpus' training utterances, accuracy on its test utterances, unseen
sentences) tell which representation *contains* a factor, independently
of the contrastive training:

* ``ecapa``: the demo's speech embedding (an ECAPA-TDNN checkpoint, whole
  utterances, eval mode), i.e. what the projection head gets today;
* ``prosody stats``: the eight utterance statistics of
  ``speechbrain_style.lobes.prosody.utterance_statistics`` (voiced log-F0
  mean, std, percentiles, voiced fraction, energy spread, F0 slope) from
  Praat's F0 track;
* ``stats + sex`` / ``stats + voice``: the same with the true sex, or the
  true voice variant (one-hot), to show whether "high for this voice"
  needs to know the voice;
* ``ecapa + stats``: what the fusion lobe gives the projection head.

And a text probe: the same classifier trained on the frozen MiniLM
embeddings of the training-bank descriptions of each factor value,
tested on the held-out bank's descriptions, i.e. whether the held-out
wordings ("squeaky", "bass", "droning", "sing-song") land near the
trained ones before any training.

Pitch and range rows use modal utterances only (whispered speech has no
F0, and the corpus marks their pitch and range as inaudible).

Run (from the repository root; the corpus and checkpoint of a
``recipes/StyleSynth`` run)::

    python benchmarks/prosody_diagnosis.py --corpus results/synth_corpus \
        --ckpt results/base/save/CKPT+... --cache results/prosody_cache

Authors
 * speechbrain-style contributors 2026
"""

import argparse
import json
import os
import sys

import numpy as np
import soundfile as sf
import torch
from tqdm import tqdm

# the repository root: the benchmark reuses the helpers of tests/
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from speechbrain_style.corpora.stylesynth.factors import FACTORS
from speechbrain_style.lobes.prosody import (
    ProsodyFeatures,
    utterance_statistics,
)

SPLITS = ("train", "valid", "test")


def load_corpus(corpus):
    """``{split: [(utt_id, item), ...]}`` of the corpus manifests."""
    out = {}
    for split in SPLITS:
        with open(os.path.join(corpus, f"{split}.json")) as fin:
            items = json.load(fin)
        out[split] = [
            (k, dict(v, wav=v["wav"].replace("{data_root}", corpus)))
            for k, v in items.items()
        ]
    return out


def cached_prosody(corpus_items, cache):
    """Frame features (f0_norm="both") of every utterance, cached as npz."""
    path = os.path.join(cache, "prosody_frames.npz")
    if os.path.isfile(path):
        data = np.load(path, allow_pickle=True)
        return dict(data["frames"].item())
    features = ProsodyFeatures(f0_norm="both")
    frames = {}
    items = [it for split in SPLITS for it in corpus_items[split]]
    for utt_id, item in tqdm(items, desc="Prosody features"):
        wav, _ = sf.read(item["wav"], dtype="float32")
        frames[utt_id] = features.utterance_features(wav).astype(np.float32)
    os.makedirs(cache, exist_ok=True)
    np.savez(path, frames=np.array(frames, dtype=object))
    return frames


def stats_of(frames, f0_channel=0):
    """Utterance statistics of one utterance's frame features."""
    feats = torch.from_numpy(frames)[None]
    mask = torch.ones(1, feats.shape[1], dtype=torch.bool)
    # channels of f0_norm="both": lf0, lf0_rel, voiced, energy, deltas
    return utterance_statistics(feats, mask, f0_channel, 2, 3)[0].numpy()


def ecapa_embeddings(corpus_items, ckpt, cache):
    """ECAPA-TDNN (StyleSynth's block) embeddings from a checkpoint."""
    path = os.path.join(cache, "ecapa_" + os.path.basename(ckpt) + ".npz")
    if os.path.isfile(path):
        return dict(np.load(path, allow_pickle=True)["emb"].item())
    from tests.catalogue import load_block

    encoder = load_block("speech/ecapa_small")
    state = torch.load(
        os.path.join(ckpt, "speech_encoder.ckpt"), map_location="cpu"
    )
    encoder.load_state_dict(state)
    encoder.eval()
    emb = {}
    items = [it for split in SPLITS for it in corpus_items[split]]
    with torch.inference_mode():
        for utt_id, item in tqdm(items, desc="ECAPA embeddings"):
            wav, _ = sf.read(item["wav"], dtype="float32")
            emb[utt_id] = encoder(torch.from_numpy(wav)[None])[0].numpy()
    os.makedirs(cache, exist_ok=True)
    np.savez(path, emb=np.array(emb, dtype=object))
    return emb


def probe(train_x, train_y, test_x, test_y):
    """Test accuracy of a standardised logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=2000, C=1.0)
    )
    model.fit(train_x, train_y)
    return float((model.predict(test_x) == np.asarray(test_y)).mean())


def nearest_class(train_x, train_y, test_x, test_y):
    """Accuracy of the nearest centred class mean (cosine), no training.

    Each held-out description goes to the training class whose mean
    embedding, centred on the mean over the factor's classes, is most
    similar: whether the frozen encoder alone relates a held-out wording
    to the trained wordings of its value.
    """
    classes = sorted(set(train_y))
    train_y = np.asarray(train_y)
    means = np.stack([train_x[train_y == c].mean(0) for c in classes])
    means -= means.mean(0)
    pred = np.asarray(classes)[(test_x @ means.T).argmax(1)]
    return float((pred == np.asarray(test_y)).mean())


def text_probe():
    """Held-out-bank accuracy of a probe on train-bank MiniLM embeddings,
    and of the nearest training class mean (``nearest_class``)."""
    from speechbrain_style.corpora.stylesynth.synth import STYLE_FACTORS
    from speechbrain_style.prompts.stylesynth import StyleDescriber
    from tests.catalogue import load_block

    encoder = load_block("text/minilm").eval()
    rows = {}
    for factor, values in STYLE_FACTORS.items():
        data = {}
        for bank in ("train", "heldout"):
            describer = StyleDescriber(bank=bank)
            texts, labels = [], []
            for value in values:
                prompts = describer.class_prompts(factor, value)
                texts += prompts
                labels += [value] * len(prompts)
            with torch.inference_mode():
                emb = torch.cat(
                    [
                        encoder(texts[i : i + 256])
                        for i in range(0, len(texts), 256)
                    ]
                )
            emb = torch.nn.functional.normalize(emb, dim=-1).numpy()
            data[bank] = (emb, labels)
        rows[factor] = (
            probe(*data["train"], *data["heldout"]),
            nearest_class(*data["train"], *data["heldout"]),
        )
    return rows


def main(argv=None):
    """Runs the probes and prints the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--ckpt", help="checkpoint folder with an ECAPA")
    parser.add_argument("--cache", default="results/prosody_cache")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--text_only", action="store_true", help="only the text probes"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.text_only:
        print_text_probes()
        return
    corpus = load_corpus(args.corpus)
    frames = cached_prosody(corpus, args.cache)
    ecapa = ecapa_embeddings(corpus, args.ckpt, args.cache) if args.ckpt else {}
    voices = sorted(
        {it["spk_id"].split("_")[1] for s in SPLITS for _, it in corpus[s]}
    )

    stats = {
        utt_id: stats_of(frames[utt_id])
        for s in SPLITS
        for utt_id, _ in corpus[s]
    }
    memo = {}

    def inputs(split, kind):
        """The probe inputs of one feature set."""
        if (split, kind) in memo:
            return memo[split, kind]
        rows = []
        for utt_id, item in corpus[split]:
            stat = stats[utt_id]
            sex = [float(item["sex"] == "female")]
            voice = [float(item["spk_id"].endswith("_" + v)) for v in voices]
            parts = {
                "ecapa": [ecapa.get(utt_id, np.zeros(0))],
                "prosody stats": [stat],
                "stats + sex": [stat, sex],
                "stats + voice": [stat, voice],
                "ecapa + stats": [ecapa.get(utt_id, np.zeros(0)), stat],
            }[kind]
            rows.append(np.concatenate([np.asarray(p, float) for p in parts]))
        memo[split, kind] = np.stack(rows)
        return memo[split, kind]

    kinds = ["prosody stats", "stats + sex", "stats + voice"]
    if ecapa:
        kinds = ["ecapa", *kinds, "ecapa + stats"]
    print("Linear probes, test accuracy (chance: 1/2 or 1/3)")
    print(f"{'input':<16}" + "".join(f"{f:>11}" for f in FACTORS))
    for kind in kinds:
        cells = []
        for factor in FACTORS:
            keep = {
                s: [
                    i
                    for i, (_, it) in enumerate(corpus[s])
                    if factor in ("sex", "rate", "phonation")
                    or it["phonation"] == "modal"
                ]
                for s in ("train", "test")
            }
            x = {s: inputs(s, kind)[keep[s]] for s in ("train", "test")}
            y = {
                s: [corpus[s][i][1][factor] for i in keep[s]]
                for s in ("train", "test")
            }
            cells.append(probe(x["train"], y["train"], x["test"], y["test"]))
        print(f"{kind:<16}" + "".join(f"{c:>11.3f}" for c in cells))
    print_text_probes()


def print_text_probes():
    """Prints the text probes' table."""
    print(
        "\nText probe: MiniLM embeddings, train-bank -> held-out-bank prompts"
    )
    rows = text_probe()
    print(" " * 16 + "".join(f"{f:>11}" for f in rows))
    for col, kind in enumerate(("probe", "nearest mean")):
        print(
            f"{kind:<16}" + "".join(f"{v[col]:>11.3f}" for v in rows.values())
        )


if __name__ == "__main__":
    main()

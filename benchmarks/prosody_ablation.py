#!/usr/bin/env python3
r"""Fast ablation of the speech representation on cached features.

End-to-end runs of ``recipes/StyleSynth`` cost ~10 minutes each on 2 quiet
CPU cores; this script answers "which speech representation lets the
model retrieve pitch and range" in a few CPU minutes per variant, by training
only what sits on top of cached features with the recipe's loss,
optimiser, schedule, descriptions and evaluation:

* speech side: a frozen ECAPA-TDNN embedding (cached by
  ``prosody_diagnosis.py`` from a StyleSynth checkpoint, whole
  utterances) and/or a ``ProsodyEncoder`` (TDNN + attentive pooling, with or
  without the utterance statistics) over cached prosody frames (random
  crops of ``--crop_frames`` in training, like the recipe's 2 s crops),
  concatenated (``ProsodyFusion``'s layer norms), then the recipe's
  ``ProjectionHead`` (256, one transform layer);
* text side: the frozen MiniLM (embeddings cached per description) and
  its ``ProjectionHead``;
* label-aware InfoNCE on both head levels, learnable temperature, AdamW
  3e-3, linear warm-up 30 steps then decay, batch 32, 75 steps per epoch,
  the checkpoint with the best validation speech->text mAP@10 kept;
* ``RetrievalEvaluator`` exactly as the recipe's yaml (both banks, the
  trial protocol with seed 42, trials saved once under ``--trials`` and
  shared by every variant).

Run (after ``prosody_diagnosis.py`` filled the cache)::

    python benchmarks/prosody_ablation.py --corpus results/synth_corpus \
        --cache results/prosody_cache --ecapa ecapa_CKPT+....npz \
        --prosody tdnn+stats --f0_norm none --out results/ablation/x

Authors
 * speechbrain-style contributors 2026
"""

import argparse
import json
import os
import random
import sys

import numpy as np
import torch
from torch import nn

# the repository root: the benchmark reuses the helpers of tests/
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from speechbrain_style import factors
from speechbrain_style.corpora.stylesynth.synth import UNOBSERVABLE_FACTORS
from speechbrain_style.evaluation.retrieval import (
    RetrievalEvaluator,
    format_table,
)
from speechbrain_style.lobes import ProjectionHead
from speechbrain_style.lobes.prosody import ProsodyEncoder
from speechbrain_style.nnet.losses import InfoNCELoss, LearnableLogitScale
from speechbrain_style.prompts.stylesynth import StyleDescriber

# channels of the cached frames (ProsodyFeatures(f0_norm="both"))
CHANNELS = {
    "none": [0, 2, 3, 4, 6],
    "utterance": [1, 2, 3, 5, 6],
    "both": [0, 1, 2, 3, 4, 5, 6],
}


def load_items(corpus):
    """``{split: [(utt_id, item)]}``."""
    out = {}
    for split in ("train", "valid", "test"):
        with open(os.path.join(corpus, f"{split}.json")) as fin:
            out[split] = list(json.load(fin).items())
    return out


class CachedSpeechModel(nn.Module):
    """Frozen ECAPA embedding and/or prosody encoder over cached frames."""

    def __init__(self, ecapa_size, prosody, f0_norm):
        super().__init__()
        self.prosody = None
        sizes = []
        if ecapa_size:
            self.ecapa_norm = nn.LayerNorm(ecapa_size)
            sizes.append(ecapa_size)
        if prosody != "none":
            self.prosody = ProsodyEncoder(
                f0_norm=f0_norm, utterance_stats=prosody == "tdnn+stats"
            )
            self.prosody_norm = nn.LayerNorm(self.prosody.output_size)
            sizes.append(self.prosody.output_size)
        self.use_ecapa = bool(ecapa_size)
        self.output_size = sum(sizes)

    def forward(self, ecapa, frames, frame_lens):
        """(batch, output_size) speech features."""
        parts = []
        if self.use_ecapa:
            parts.append(self.ecapa_norm(ecapa))
        if self.prosody is not None:
            emb = self.prosody.embed_features(frames, frame_lens)
            parts.append(self.prosody_norm(emb))
        return torch.cat(parts, dim=-1)


def pad_frames(arrays):
    """Zero-padded (batch, frames, channels) tensor and relative lengths."""
    longest = max(len(a) for a in arrays)
    out = torch.zeros(len(arrays), longest, arrays[0].shape[1])
    for i, a in enumerate(arrays):
        out[i, : len(a)] = torch.from_numpy(a)
    lens = torch.tensor([len(a) / longest for a in arrays])
    return out, lens


class TextCache:
    """Frozen MiniLM embeddings, computed once per description."""

    def __init__(self):
        from tests.catalogue import load_block

        self.encoder = load_block("text/minilm").eval()
        self.output_size = self.encoder.output_size
        self.cache = {}

    def __call__(self, texts):
        """(len(texts), D) embeddings."""
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        for i in range(0, len(missing), 256):
            chunk = missing[i : i + 256]
            with torch.inference_mode():
                emb = self.encoder(chunk)
            for text, row in zip(chunk, emb, strict=True):
                self.cache[text] = row.clone()
        return torch.stack([self.cache[t] for t in texts])


def main(argv=None):
    """Trains one variant and writes its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--cache", required=True)
    parser.add_argument("--ecapa", help="npz of cached ECAPA embeddings")
    parser.add_argument(
        "--prosody",
        default="tdnn+stats",
        choices=["none", "tdnn", "tdnn+stats"],
    )
    parser.add_argument("--f0_norm", default="none", choices=list(CHANNELS))
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--crop_frames", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1986)
    parser.add_argument("--trials", default="results/ablation/trials")
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--text_dropout", type=float, default=0.0, help="text head input"
    )
    parser.add_argument(
        "--text_noise",
        type=float,
        default=0.0,
        help="std of Gaussian noise on the text features, relative to "
        "their RMS (training only)",
    )
    parser.add_argument(
        "--eval_level", type=int, default=-1, help="head level to retrieve with"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    rng = np.random.default_rng(args.seed)

    items = load_items(args.corpus)
    frames = dict(
        np.load(
            os.path.join(args.cache, "prosody_frames.npz"), allow_pickle=True
        )["frames"].item()
    )
    channels = CHANNELS[args.f0_norm]
    frames = {k: v[:, channels] for k, v in frames.items()}
    ecapa = {}
    if args.ecapa:
        path = os.path.join(args.cache, args.ecapa)
        ecapa = dict(np.load(path, allow_pickle=True)["emb"].item())
    ecapa_size = len(next(iter(ecapa.values()))) if ecapa else 0

    speech = CachedSpeechModel(ecapa_size, args.prosody, args.f0_norm)
    text = TextCache()
    speech_head = ProjectionHead(
        speech.output_size, 256, num_transform_layers=1
    )
    text_head = ProjectionHead(
        text.output_size, 256, num_transform_layers=1, dropout=args.text_dropout
    )
    temperature = LearnableLogitScale(init_temperature=0.07)
    loss_fn = InfoNCELoss()
    params = [
        p
        for m in (speech, speech_head, text_head, temperature)
        for p in m.parameters()
    ]
    optimizer = torch.optim.AdamW(params, lr=3e-3, weight_decay=1e-4)
    steps_per_epoch = len(items["train"]) // 32
    total = args.epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min((s + 1) / 30, max(0.0, (total - s) / (total - 30))),
    )
    describer = StyleDescriber(bank="train", unobservable=UNOBSERVABLE_FACTORS)
    evaluator = RetrievalEvaluator(
        fields=[*factors.FACTORS, factors.STYLE_FIELD],
        prompt_fn=factors.FactorPrompts(num_combo_prompts=10),
        banks=["train", "heldout"],
        trials_folder=args.trials,
        selection_metric="s2t_mAP@10",
        ordinal_fields={f: list(v) for f, v in factors.ORDINAL_FACTORS.items()},
    )

    def batch_inputs(batch, train):
        """The padded inputs of a batch of cached items."""
        ecapa_x = (
            torch.from_numpy(np.stack([ecapa[k] for k, _ in batch]))
            if ecapa
            else None
        )
        arrays = []
        for utt_id, _ in batch:
            a = frames[utt_id]
            if train and args.crop_frames and len(a) > args.crop_frames:
                start = rng.integers(len(a) - args.crop_frames + 1)
                a = a[start : start + args.crop_frames]
            arrays.append(a)
        return ecapa_x, *pad_frames(arrays)

    def embed(split, level=None):
        """Speech embeddings of cached items, in batches."""
        level = args.eval_level if level is None else level
        speech.eval()
        speech_head.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(items[split]), 64):
                batch = items[split][i : i + 64]
                feats = speech(*batch_inputs(batch, False))
                out.append(speech_head(feats)[level])
        return torch.cat(out)

    def encode_texts(texts, level=None):
        """Embeds descriptions with the trained text head."""
        level = args.eval_level if level is None else level
        text_head.eval()
        with torch.no_grad():
            return text_head(text(list(texts)))[level]

    def eval_items(split):
        """The evaluation items (id and classes) of the test set."""
        return [
            dict(factors.evaluation_labels(it), id=k) for k, it in items[split]
        ]

    best, best_state = -1.0, None
    for epoch in range(args.epochs):
        order = rng.permutation(len(items["train"]))
        speech.train()
        speech_head.train()
        text_head.train()
        losses = []
        for step in range(steps_per_epoch):
            batch = [
                items["train"][i] for i in order[step * 32 : (step + 1) * 32]
            ]
            descriptions, text_labels, speech_labels = [], [], []
            for _, it in batch:
                values = {f: it[f] for f in factors.FACTORS}
                desc, labels = describer.describe_with_labels(
                    values, np.random.default_rng(rng.integers(2**63))
                )
                descriptions.append(desc)
                text_labels.append(labels)
                speech_labels.append(factors.style_label_vector(values))
            s_levels = speech_head(speech(*batch_inputs(batch, True)))
            t_feats = text(descriptions)
            if args.text_noise:
                # relative to the feature scale (RMS of a coordinate)
                rms = t_feats.pow(2).mean(dim=-1, keepdim=True).sqrt()
                noise = torch.randn_like(t_feats) * rms * args.text_noise
                t_feats = t_feats + noise
            t_levels = text_head(t_feats)
            scale = temperature()
            loss = sum(
                loss_fn(
                    s,
                    t,
                    scale,
                    torch.tensor(speech_labels),
                    torch.tensor(text_labels),
                )
                for s, t in zip(s_levels, t_levels, strict=True)
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(float(loss))
        valid = evaluator.evaluate(
            embed("valid"), eval_items("valid"), encode_texts, banks=["train"]
        )
        score = valid["summary"]["train"]["s2t_mAP@10"]
        print(
            f"epoch {epoch + 1}: loss {np.mean(losses):.3f}, "
            f"valid s2t mAP@10 {score:.4f}"
        )
        if score > best:
            best = score
            best_state = [
                {k: v.clone() for k, v in m.state_dict().items()}
                for m in (speech, speech_head, text_head)
            ]
    for m, state in zip(
        (speech, speech_head, text_head), best_state, strict=True
    ):
        m.load_state_dict(state)
    os.makedirs(args.out, exist_ok=True)
    for level in (-1, 0):
        test_emb = embed("test", level)
        results = evaluator.evaluate(
            test_emb,
            eval_items("test"),
            lambda texts, level=level: encode_texts(texts, level),
            trials=True,
        )
        tag = "" if level == -1 else "_level0"
        torch.save(
            {
                "speech": test_emb,
                "items": eval_items("test"),
                "text_head": text_head.state_dict(),
            },
            os.path.join(args.out, f"test_embeddings{tag}.pt"),
        )
        table = format_table(results)
        with open(os.path.join(args.out, f"retrieval_test{tag}.txt"), "w") as f:
            f.write(table + "\n")
        summary = {
            "args": vars(args),
            "level": level,
            "fields": {
                bank: {
                    f: {
                        "t2s_R@1": r["t2s"]["R@1"],
                        "trial_R@1": r["trials"]["average"]["R@1"],
                    }
                    for f, r in per_field.items()
                }
                for bank, per_field in results["fields"].items()
            },
        }
        with open(os.path.join(args.out, f"summary{tag}.json"), "w") as f:
            json.dump(summary, f, indent=2)
    print(table)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
r"""Indexing throughput: batched ``build_index`` vs a one-by-one loop.

Both paths embed the same audio files with the same model:

* one-by-one (the reference systems' way): for each file, load it, run the
  encoder on a (1, T) batch under ``torch.no_grad()``;
* batched: :func:`speechbrain_style.index.build_index` (length-sorted
  batches, ``torch.inference_mode()``, shards written to disk).

The model is a real-size ECAPA-TDNN (``hparams/speech/ecapa.yaml``: C=1024,
192-d; ``--block speech/ecapa_small`` for the StyleSynth recipe's C=128 one)
with random weights plus a 512-d projection head, or an exported inference
folder given with ``--model`` (``StyleRetriever``). The files are
synthetic speech-like signals (harmonics with a moving pitch, amplitude
modulation and noise) of uniformly random length.

Run (2 threads)::

    python benchmarks/index_benchmark.py --num-files 200 --threads 2 \
        --block speech/ecapa_small
    python benchmarks/index_benchmark.py --num-files 60 --threads 2

Authors
 * speechbrain-style contributors 2026
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import soundfile as sf
import torch

from speechbrain_style.audio import load_audio
from speechbrain_style.index import build_index

SAMPLE_RATE = 16000


def write_files(folder, num_files, min_seconds, max_seconds, seed=0):
    """Writes speech-like wavs; returns ``{id: {"wav", "duration"}}``."""
    rng = np.random.default_rng(seed)
    items = {}
    for i in range(num_files):
        seconds = rng.uniform(min_seconds, max_seconds)
        t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
        pitch = rng.uniform(90, 250) * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t))
        phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
        wav = sum(np.sin(h * phase) / h for h in range(1, 8))
        wav *= 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 5) * t) ** 2
        wav = 0.1 * wav + 0.005 * rng.standard_normal(t.shape)
        path = os.path.join(folder, f"utt{i:04d}.wav")
        sf.write(path, wav.astype(np.float32), SAMPLE_RATE)
        items[f"utt{i:04d}"] = {"wav": path, "duration": len(t) / SAMPLE_RATE}
    return items


def random_encoder(block):
    """A speech block (random init) + projection head to 512-d."""
    from speechbrain_style.blocks import load_block
    from speechbrain_style.lobes import ProjectionHead

    torch.manual_seed(0)
    hparams = load_block(block)
    encoder = hparams["encoder"].eval()
    head = ProjectionHead(encoder.output_size, proj_size=512).eval()

    def encode(wavs, lens):
        return head(encoder(wavs, lens))[-1]

    channels = hparams.get("channels", ["?"])[0]
    return encode, f"{block} C={channels} (random init) + 512-d head"


def exported_model(folder):
    from speechbrain_style.inference import StyleRetriever

    model = StyleRetriever.from_hparams(source=folder)
    return model.encode_audio, f"exported model {folder}"


def one_by_one(encode, items):
    """The reference loop: one file, one forward pass."""
    out = []
    with torch.no_grad():
        for item in items.values():
            wav = load_audio(item["wav"], sample_rate=SAMPLE_RATE)
            out.append(encode(wav.unsqueeze(0), torch.ones(1))[0])
    return torch.stack(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-files", type=int, default=200)
    parser.add_argument("--min-seconds", type=float, default=1.0)
    parser.add_argument("--max-seconds", type=float, default=8.0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--block",
        default="speech/ecapa",
        help="speech block with random weights (speech/ecapa: real size; "
        "speech/ecapa_small: the StyleSynth recipe's)",
    )
    parser.add_argument("--model", help="exported inference folder")
    parser.add_argument("--workdir", help="folder for wavs and indexes")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    workdir = args.workdir or tempfile.mkdtemp(prefix="index_bench_")
    os.makedirs(workdir, exist_ok=True)
    items = write_files(
        workdir, args.num_files, args.min_seconds, args.max_seconds
    )
    audio_seconds = sum(item["duration"] for item in items.values())
    if args.model:
        encode, name = exported_model(args.model)
    else:
        encode, name = random_encoder(args.block)
    # Warm-up (first-call allocations) outside the timings.
    with torch.no_grad():
        encode(torch.randn(2, SAMPLE_RATE) * 0.1, torch.ones(2))

    begin = time.perf_counter()
    single = one_by_one(encode, items)
    single_time = time.perf_counter() - begin

    begin = time.perf_counter()
    index = build_index(
        encode,
        items,
        os.path.join(workdir, "index"),
        batch_size=args.batch_size,
        shard_size=64,
        progress=False,
        resume=False,
    )
    batched_time = time.perf_counter() - begin

    single = torch.nn.functional.normalize(single, dim=1)
    cosine = (index.embeddings * single).sum(1)
    print(f"Model: {name}; {args.threads} threads; torch {torch.__version__}")
    print(
        f"Files: {len(items)} synthetic wavs of {args.min_seconds:g}-"
        f"{args.max_seconds:g} s ({audio_seconds:.0f} s of audio)"
    )
    print()
    print("| path | time (s) | files/s | audio s/s | speed-up |")
    print("|---|---|---|---|---|")
    for label, seconds in [
        ("one-by-one loop (no_grad)", single_time),
        (f"build_index (batch {args.batch_size}, sorted)", batched_time),
    ]:
        print(
            f"| {label} | {seconds:.1f} | {len(items) / seconds:.2f} | "
            f"{audio_seconds / seconds:.1f} | {single_time / seconds:.2f}x |"
        )
    print()
    print(
        "Batched vs one-by-one embeddings: min cosine "
        f"{cosine.min().item():.6f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
r"""Indexing throughput: batched ``build_index`` vs a one-by-one loop.

Both paths embed the same audio files with the same model:

* one-by-one (the reference systems' way): for each file, load it, run the
  encoder on a (1, T) batch under ``torch.no_grad()``;
* batched: :func:`speechbrain_style.index.build_index` (length-sorted
  batches, ``torch.inference_mode()``, shards written to disk), once with
  batches bounded only by ``--batch-size`` and once with the default bound
  on padded audio seconds per batch (``max_batch_seconds``).

The model is a real-size ECAPA-TDNN (``hparams/speech/ecapa.yaml``: C=1024,
192-d; ``--block speech/ecapa_small`` for the StyleSynth recipe's C=128 one)
or a real-size emotion2vec base (``--emotion2vec-base``: funasr's class,
768-d, 93M parameters) with random weights plus a 512-d projection head, or
an exported inference folder given with ``--model`` (``StyleRetriever``).
The files are synthetic speech-like signals (harmonics with a moving pitch,
amplitude modulation and noise) of uniformly random length.

``--grid`` instead prints the encoder's cost per second of audio for clip
lengths x batch sizes (equal-length clips, no padding): the measurement
behind the default ``max_batch_seconds``.

Run (2 threads)::

    python benchmarks/index_benchmark.py --num-files 200 --threads 2 \
        --block speech/ecapa_small
    python benchmarks/index_benchmark.py --num-files 60 --threads 2
    python benchmarks/index_benchmark.py --num-files 60 --emotion2vec-base
    python benchmarks/index_benchmark.py --grid

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
from speechbrain_style.index import DEFAULT_MAX_BATCH_SECONDS, build_index

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


def with_head(encoder, device="cpu"):
    """``encode(wavs, lens)``: ``encoder`` + a random 512-d projection head,
    run on ``device`` (inputs moved there, embeddings returned on CPU)."""
    from speechbrain_style.lobes import ProjectionHead

    head = ProjectionHead(encoder.output_size, proj_size=512).eval()
    encoder.to(device)
    head.to(device)

    def encode(wavs, lens):
        wavs, lens = wavs.to(device), lens.to(device)
        return head(encoder(wavs, lens))[-1].cpu()

    return encode


def random_encoder(block, device="cpu"):
    """A speech block (random init) + projection head to 512-d."""
    from speechbrain_style.blocks import load_block

    torch.manual_seed(0)
    hparams = load_block(block)
    encode = with_head(hparams["encoder"].eval(), device)
    channels = hparams.get("channels", ["?"])[0]
    return encode, f"{block} C={channels} (random init) + 512-d head"


def random_emotion2vec_base(folder, device="cpu"):
    """emotion2vec base sizes (random init) + projection head to 512-d."""
    from speechbrain_style.lobes import Emotion2VecEncoder
    from speechbrain_style.testing import build_tiny_emotion2vec

    build_tiny_emotion2vec(
        folder,
        embed_dim=768,
        depth=8,
        num_heads=12,
        prenet_depth=4,
        conv_channels=512,
    )
    encoder = Emotion2VecEncoder(source=folder, freeze=True).eval()
    torch.manual_seed(0)
    encode = with_head(encoder, device)
    params = sum(p.numel() for p in encoder.parameters()) / 1e6
    return encode, f"emotion2vec base sizes ({params:.0f}M, random init)"


def exported_model(folder, device="cpu"):
    """An exported inference folder's ``encode_audio`` on ``device``."""
    from speechbrain_style.inference import StyleRetriever

    model = StyleRetriever.from_hparams(
        source=folder, run_opts={"device": device}
    )

    def encode(wavs, lens):
        return model.encode_audio(wavs, lens).cpu()

    return encode, f"exported model {folder}"


def one_by_one(encode, items):
    """The reference loop: one file, one forward pass."""
    out = []
    with torch.no_grad():
        for item in items.values():
            wav = load_audio(item["wav"], sample_rate=SAMPLE_RATE)
            out.append(encode(wav.unsqueeze(0), torch.ones(1))[0])
    return torch.stack(out)


def cost_grid(encode, lengths=(0.5, 1, 2, 4, 8), sizes=(1, 2, 4, 8, 16)):
    """Prints encoder ms per second of audio: clip length x batch size."""
    print("| clip s | " + " | ".join(f"batch {b}" for b in sizes) + " |")
    print("|---" * (len(sizes) + 1) + "|")
    count = max(sizes)
    for seconds in lengths:
        wavs = torch.randn(count, int(seconds * SAMPLE_RATE)) * 0.1
        row = []
        with torch.inference_mode():
            for size in sizes:
                begin = time.perf_counter()
                for i in range(0, count, size):
                    encode(wavs[i : i + size], torch.ones(size))
                elapsed = time.perf_counter() - begin
                row.append(f"{1000 * elapsed / (count * seconds):.0f}")
        print(f"| {seconds:g} | " + " | ".join(row) + " |", flush=True)


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
    parser.add_argument(
        "--max-batch-seconds",
        type=float,
        default=DEFAULT_MAX_BATCH_SECONDS,
        help="padded audio seconds per batch of the bounded batched run",
    )
    parser.add_argument(
        "--emotion2vec-base",
        action="store_true",
        help="emotion2vec base sizes with random weights instead of --block",
    )
    parser.add_argument("--model", help="exported inference folder")
    parser.add_argument(
        "--grid",
        action="store_true",
        help="print ms per audio second by clip length and batch size",
    )
    parser.add_argument("--workdir", help="folder for wavs and indexes")
    parser.add_argument(
        "--device",
        default="cuda:0" if torch.cuda.is_available() else "cpu",
        help="device of the encoder (default: cuda:0 when available)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    workdir = args.workdir or tempfile.mkdtemp(prefix="index_bench_")
    os.makedirs(workdir, exist_ok=True)
    if args.model:
        encode, name = exported_model(args.model, args.device)
    elif args.emotion2vec_base:
        folder = os.path.join(workdir, "emotion2vec_base_random")
        encode, name = random_emotion2vec_base(folder, args.device)
    else:
        encode, name = random_encoder(args.block, args.device)
    # Warm-up (first-call allocations) outside the timings.
    with torch.no_grad():
        encode(torch.randn(2, SAMPLE_RATE) * 0.1, torch.ones(2))
    header = (
        f"Model: {name}; {args.device}; {args.threads} threads; "
        f"torch {torch.__version__}"
    )
    if args.grid:
        print(header)
        print("Encoder ms per second of audio (equal-length clips):")
        cost_grid(encode)
        return 0
    items = write_files(
        workdir, args.num_files, args.min_seconds, args.max_seconds
    )
    audio_seconds = sum(item["duration"] for item in items.values())

    begin = time.perf_counter()
    single = one_by_one(encode, items)
    single_time = time.perf_counter() - begin

    runs = [("one-by-one loop (no_grad)", single_time)]
    single = torch.nn.functional.normalize(single, dim=1)
    cosines = []
    for label, limit in [
        (f"build_index (batch {args.batch_size}, sorted)", None),
        (
            f"build_index (batch {args.batch_size}, sorted, "
            f"<= {args.max_batch_seconds:g} s)",
            args.max_batch_seconds,
        ),
    ]:
        begin = time.perf_counter()
        index = build_index(
            encode,
            items,
            os.path.join(workdir, "index"),
            batch_size=args.batch_size,
            max_batch_seconds=limit,
            shard_size=64,
            progress=False,
            resume=False,
        )
        runs.append((label, time.perf_counter() - begin))
        # The index keeps the items' order.
        cosines.append((index.embeddings * single).sum(1).min().item())

    print(header)
    print(
        f"Files: {len(items)} synthetic wavs of {args.min_seconds:g}-"
        f"{args.max_seconds:g} s ({audio_seconds:.0f} s of audio)"
    )
    print()
    print("| path | time (s) | files/s | audio s/s | speed-up |")
    print("|---|---|---|---|---|")
    for label, seconds in runs:
        print(
            f"| {label} | {seconds:.1f} | {len(items) / seconds:.2f} | "
            f"{audio_seconds / seconds:.1f} | {single_time / seconds:.2f}x |"
        )
    print()
    print(
        "Batched vs one-by-one embeddings: min cosine "
        + ", ".join(f"{cosine:.6f}" for cosine in cosines)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

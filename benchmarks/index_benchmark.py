#!/usr/bin/env python3
r"""Indexing throughput: one-by-one loop vs batched ``build_index`` at fp32,
bf16 and int8, against the machine's arithmetic floor.

Every path embeds the same audio files with the same model:

* ``one-by-one fp32`` (the reference systems' way): for each file, load it,
  run the encoder on a (1, T) batch under ``torch.no_grad()``;
* ``batched P``: :func:`speechbrain_style.retrieval.index.build_index`
  (length-sorted batches of up to ``--batch-size`` files and
  ``--max-batch-seconds`` padded seconds, ``torch.inference_mode()``, shards
  written to disk) with the model at precision P
  (:mod:`speechbrain_style.inference.precision`: bf16 autocast, or dynamic
  int8 quantisation of the Linear layers); ``--unbounded`` adds the fp32
  run bounded by ``--batch-size`` only.

The paths run ``--repeats`` times, round robin (so that a change of the
machine's load hits every path alike), and the fastest run of each counts.
Each path's embeddings are compared with the one-by-one fp32 ones (min and
mean cosine).

The floor: the encoder's FLOPs per audio second are counted with
``torch.utils.flop_counter.FlopCounterMode`` (fp32 model, on clips of three
lengths, fitted by a quadratic in the length and summed over the files; the
Linear layers' share is counted apart), and the machine's sustained matrix
product FLOP/s is measured in the same run for fp32, bf16 and int8 (best of
several 1024 x 1024 products; the fastest kernel of each dtype). A path's
floor is the time its FLOPs take at those rates (int8: the Linear FLOPs at
the int8 rate, the rest, convolutions and attention, at fp32; bf16: all at
the bf16 rate); "of peak" = floor / time.

The models: real-size ECAPA-TDNN (``speech/ecapa``: C=1024, 192-d;
``speech/ecapa_small``: the StyleSynth recipe's C=128), emotion2vec base
sizes (``emotion2vec-base``: funasr's class, 768-d, 93M parameters;
``emotion2vec-tiny`` for tests), all with random weights plus a 512-d
projection head, or an exported inference folder (``--model``,
``StyleRetriever``). ``--encoders`` runs several in one process (one table
each, one peak measurement). The files are synthetic speech-like signals
(harmonics with a moving pitch, amplitude modulation and noise) of
uniformly random length.

``--grid`` instead prints the encoder's cost per second of audio for clip
lengths x batch sizes (equal-length clips, no padding): the measurement
behind the default ``max_batch_seconds``.

Run (2 threads)::

    python benchmarks/index_benchmark.py --num-files 60 \
        --encoders speech/ecapa,emotion2vec-base
    python benchmarks/index_benchmark.py --num-files 200 \
        --encoders speech/ecapa_small
    python benchmarks/index_benchmark.py --grid [--emotion2vec-base]

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

# the repository root: the benchmark reuses the helpers of tests/
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from speechbrain_style.dataio.audio import load_audio
from speechbrain_style.inference.precision import (
    PRECISIONS,
    count_flops,
    cpu_has_bf16,
    embedding_agreement,
    matmul_flops_per_second,
    precision_context,
    prepare_for_precision,
)
from speechbrain_style.retrieval.index import (
    DEFAULT_MAX_BATCH_SECONDS,
    build_index,
)

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


class RandomModel:
    """A random-weight speech encoder + 512-d projection head.

    ``encode(precision)`` gives ``encode(wavs, lens) -> (B, 512)`` at that
    precision (the int8 copies are made once, outside the timings);
    ``modules`` is the fp32 model (encoder, head) for the flop counter.
    """

    def __init__(self, encoder, name, device="cpu"):
        from speechbrain_style.lobes import ProjectionHead

        torch.manual_seed(0)
        self.device = device
        self.encoder = encoder.eval().to(device)
        head = ProjectionHead(encoder.output_size, proj_size=512)
        self.head = head.eval().to(device)
        self.modules = torch.nn.ModuleList([self.encoder, self.head])
        self.name = name
        self._encoders = {}

    def encode(self, precision):
        """The encode function of the model at ``precision``."""
        if precision not in self._encoders:
            encoder = prepare_for_precision(self.encoder, precision)
            head = prepare_for_precision(self.head, precision)

            def encode(wavs, lens):
                """Embeds a padded batch; returns float32 CPU embeddings."""
                wavs, lens = wavs.to(self.device), lens.to(self.device)
                with precision_context(precision):
                    emb = head(encoder(wavs, lens))[-1].float().cpu()
                # bf16 heads normalise in bf16 (norms 1 to ~3e-3).
                return torch.nn.functional.normalize(emb, dim=1)

            self._encoders[precision] = encode
        return self._encoders[precision]


class ExportedModel:
    """An inference folder, one ``StyleRetriever`` per precision."""

    def __init__(self, folder, device="cpu"):
        from speechbrain_style.inference.retriever import StyleRetriever

        self.folder = folder
        self.run_opts = {"device": device}
        self._models = {
            "fp32": StyleRetriever.from_hparams(
                source=folder, run_opts=self.run_opts
            )
        }
        fp32 = self._models["fp32"]
        self.modules = torch.nn.ModuleList(
            [fp32.mods["speech_encoder"], fp32.mods["speech_head"]]
        )
        self.name = f"exported model {folder}"

    def encode(self, precision):
        """``StyleRetriever.encode_audio`` at ``precision``."""
        from speechbrain_style.inference.retriever import StyleRetriever

        if precision not in self._models:
            self._models[precision] = StyleRetriever.from_hparams(
                source=self.folder, precision=precision, run_opts=self.run_opts
            )
        return self._models[precision].encode_audio


def make_model(spec, workdir, device="cpu"):
    """A model of ``spec`` (a speech block, emotion2vec-base/-tiny or an
    inference folder) on ``device``."""
    if spec in ("emotion2vec-base", "emotion2vec-tiny"):
        from speechbrain_style.lobes import Emotion2VecEncoder
        from tests.tiny_models import build_tiny_emotion2vec

        folder = os.path.join(workdir, spec.replace("-", "_") + "_random")
        sizes = {}
        if spec == "emotion2vec-base":
            sizes = {
                "embed_dim": 768,
                "depth": 8,
                "num_heads": 12,
                "prenet_depth": 4,
                "conv_channels": 512,
            }
        build_tiny_emotion2vec(folder, **sizes)
        encoder = Emotion2VecEncoder(source=folder, freeze=True)
        params = sum(p.numel() for p in encoder.parameters()) / 1e6
        size = "base" if spec == "emotion2vec-base" else "tiny"
        name = f"emotion2vec {size} sizes ({params:.0f}M, random init)"
        return RandomModel(encoder, name + " + 512-d head", device)
    if os.path.isdir(spec):
        return ExportedModel(spec, device)
    from tests.catalogue import load_block

    torch.manual_seed(0)
    encoder = load_block(spec)
    channels = getattr(encoder, "init_kwargs", {}).get("channels", ["?"])[0]
    return RandomModel(
        encoder, f"{spec} C={channels} (random init) + 512-d head", device
    )


def one_by_one(encode, items):
    """The reference loop: one file, one forward pass."""
    out = []
    with torch.no_grad():
        for item in items.values():
            wav = load_audio(item["wav"], sample_rate=SAMPLE_RATE)
            out.append(encode(wav.unsqueeze(0), torch.ones(1))[0])
    return torch.stack(out)


def load_all(items):
    """Reads every file once (the loading share of each path)."""
    for item in items.values():
        load_audio(item["wav"], sample_rate=SAMPLE_RATE)


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


def workload_flops(model, items, min_seconds, max_seconds):
    """FLOPs (total, Linear) of the items, one by one, fp32 model.

    Counted on clips of three lengths and fitted by ``a + b t + c t^2``
    (convolutions and Linear layers grow with the length t, attention with
    its square), then summed over the items' lengths.
    """
    encode = model.encode("fp32")
    lengths = np.unique(
        np.round(np.linspace(min_seconds, max_seconds, 3), 3)
    ).tolist()
    while len(lengths) < 3:
        lengths.append(lengths[-1] * 2)
    counts = []
    with torch.inference_mode():
        for seconds in lengths:
            wav = torch.randn(1, int(seconds * SAMPLE_RATE)) * 0.1
            counts.append(
                count_flops(
                    encode, wav, torch.ones(1), linear_modules=model.modules
                )
            )
    durations = np.array([item["duration"] for item in items.values()])
    totals = {}
    for key in ("total", "linear"):
        coefs = np.polyfit(lengths, [c[key] for c in counts], 2)
        totals[key] = float(np.polyval(coefs, durations).sum())
    return totals


def machine_peaks(size, repeats=10):
    """Sustained matmul FLOP/s per precision (see module docstring)."""
    return {
        precision: matmul_flops_per_second(precision, size, repeats)
        for precision in PRECISIONS
    }


def floor_seconds(flops, precision, peaks):
    """Time the path's FLOPs take at the machine's matmul rates."""
    rate = {p: peaks[p]["flops_per_second"] for p in peaks}
    if precision == "bf16":
        return flops["total"] / rate["bf16"]
    if precision == "int8":
        rest = flops["total"] - flops["linear"]
        return flops["linear"] / rate["int8"] + rest / rate["fp32"]
    return flops["total"] / rate["fp32"]


def benchmark_model(model, items, args, workdir):
    """Times every path of one model; returns what its table shows."""

    precisions = args.precisions.split(",")
    for precision in precisions:
        if precision not in PRECISIONS:
            raise SystemExit(f"--precisions: unknown precision {precision!r}")
    if args.device != "cpu" and "int8" in precisions:
        # dynamic int8 kernels are CPU only
        precisions.remove("int8")
    begin = time.perf_counter()
    encodes = {p: model.encode(p) for p in precisions + ["fp32"]}
    prepare_time = time.perf_counter() - begin
    with torch.inference_mode():  # first-call allocations, off the clock
        warm = torch.randn(2, SAMPLE_RATE) * 0.1
        for precision, encode in encodes.items():
            with precision_context(precision):
                encode(warm, torch.ones(2))

    def batched(precision, limit):
        """The batched path at ``precision``, batches of <= ``limit`` s."""

        def run():
            """Builds the index once and returns its embeddings."""
            index = build_index(
                encodes[precision],
                items,
                os.path.join(workdir, "index"),
                batch_size=args.batch_size,
                max_batch_seconds=limit,
                shard_size=64,
                progress=False,
                resume=False,
                precision=precision,
            )
            return index.embeddings

        return run

    bound = f"<= {args.max_batch_seconds:g} s"
    paths = [
        ("one-by-one fp32", "fp32", lambda: one_by_one(encodes["fp32"], items))
    ]
    if args.unbounded:
        paths.append(
            (
                f"batched fp32 (batch {args.batch_size}, no bound)",
                "fp32",
                batched("fp32", None),
            )
        )
    for precision in precisions:
        paths.append(
            (
                f"batched {precision} (batch {args.batch_size}, {bound})",
                precision,
                batched(precision, args.max_batch_seconds),
            )
        )
    best = {label: float("inf") for label, _, _ in paths}
    embeddings = {}
    for _ in range(args.repeats):
        for label, _, run in paths:
            begin = time.perf_counter()
            out = run()
            elapsed = time.perf_counter() - begin
            best[label] = min(best[label], elapsed)
            print(f"  {model.name}: {label}: {elapsed:.2f} s", flush=True)
            embeddings[label] = torch.nn.functional.normalize(
                out.float(), dim=1
            )
    begin = time.perf_counter()
    load_all(items)
    load_time = time.perf_counter() - begin
    flops = workload_flops(model, items, args.min_seconds, args.max_seconds)

    reference = embeddings[paths[0][0]]
    return {
        "name": model.name,
        "paths": [
            {
                "label": label,
                "precision": precision,
                "seconds": best[label],
                "agreement": embedding_agreement(reference, embeddings[label]),
            }
            for label, precision, _ in paths
        ],
        "flops": flops,
        "load_time": load_time,
        "prepare_time": prepare_time,
    }


def print_table(result, audio_seconds, peaks):
    """Prints one model's table (see the module docstring)."""
    flops, load_time = result["flops"], result["load_time"]
    prepare_time = result["prepare_time"]
    baseline = result["paths"][0]["seconds"]
    print(f"Model: {result['name']}")
    print(
        f"FLOPs per audio second: {flops['total'] / audio_seconds / 1e9:.2f} "
        f"GFLOP ({100 * flops['linear'] / flops['total']:.0f}% in Linear "
        "layers, the rest convolutions and attention products); "
        f"audio loading {load_time:.2f} s of every path; int8 copies made in "
        f"{prepare_time:.1f} s"
    )
    print()
    print(
        "| path | time (s) | audio s/s | speed-up | GFLOP/s | floor (s) | "
        "of peak | min cos | mean cos |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for path in result["paths"]:
        label, seconds = path["label"], path["seconds"]
        floor = floor_seconds(flops, path["precision"], peaks)
        agreement = path["agreement"]
        print(
            f"| {label} | {seconds:.2f} | {audio_seconds / seconds:.1f} | "
            f"{baseline / seconds:.2f}x | {flops['total'] / seconds / 1e9:.1f} "
            f"| {floor:.2f} | {100 * floor / seconds:.0f}% | "
            f"{agreement['min']:.5f} | {agreement['mean']:.5f} |"
        )
    print(flush=True)


def main(argv=None):
    """Runs the benchmark (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-files", type=int, default=60)
    parser.add_argument("--min-seconds", type=float, default=1.0)
    parser.add_argument("--max-seconds", type=float, default=8.0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--encoders",
        help="comma-separated models, each a speech block (speech/ecapa, "
        "speech/ecapa_small), emotion2vec-base, emotion2vec-tiny or an "
        "inference folder (default: --model, --emotion2vec-base or --block)",
    )
    parser.add_argument(
        "--block",
        default="speech/ecapa",
        help="speech block with random weights (speech/ecapa: real size; "
        "speech/ecapa_small: the StyleSynth recipe's)",
    )
    parser.add_argument(
        "--emotion2vec-base",
        action="store_true",
        help="emotion2vec base sizes with random weights instead of --block",
    )
    parser.add_argument("--model", help="exported inference folder")
    parser.add_argument(
        "--precisions",
        default=",".join(PRECISIONS),
        help="precisions of the batched paths (default fp32,bf16,int8)",
    )
    parser.add_argument(
        "--max-batch-seconds",
        type=float,
        default=DEFAULT_MAX_BATCH_SECONDS,
        help="padded audio seconds per batch of the batched runs",
    )
    parser.add_argument(
        "--unbounded",
        action="store_true",
        help="also time fp32 batches bounded by --batch-size only",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="round-robin runs of every path; the fastest counts",
    )
    parser.add_argument(
        "--peak-size", type=int, default=1024, help="matrix side of the peak"
    )
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
    if args.encoders:
        specs = args.encoders.split(",")
    elif args.model:
        specs = [args.model]
    elif args.emotion2vec_base:
        specs = ["emotion2vec-base"]
    else:
        specs = [args.block]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{args.threads} threads; torch {torch.__version__}; CPU bf16 "
        f"instructions: {cpu_has_bf16()}; load average at start {load:.1f}"
    )
    if args.grid:
        model = make_model(specs[0], workdir, args.device)
        print(f"Model: {model.name}")
        print("Encoder ms per second of audio (equal-length clips):")
        cost_grid(model.encode("fp32"))
        return 0
    items = write_files(
        workdir, args.num_files, args.min_seconds, args.max_seconds
    )
    audio_seconds = sum(item["duration"] for item in items.values())
    print(
        f"Files: {len(items)} synthetic wavs of {args.min_seconds:g}-"
        f"{args.max_seconds:g} s ({audio_seconds:.0f} s of audio); "
        f"best of {args.repeats} round-robin runs per path"
    )
    peaks = machine_peaks(args.peak_size)
    results = [
        benchmark_model(
            make_model(spec, workdir, args.device), items, args, workdir
        )
        for spec in specs
    ]
    # The peak again at the end: the better of the two counts (the machine
    # may be shared).
    for precision, again in machine_peaks(args.peak_size).items():
        if again["flops_per_second"] > peaks[precision]["flops_per_second"]:
            peaks[precision] = again
    print()
    for result in results:
        print_table(result, audio_seconds, peaks)
    print(
        "Sustained matmul peak ("
        + ", ".join(
            f"{p} {peaks[p]['flops_per_second'] / 1e9:.0f} GFLOP/s "
            f"({peaks[p]['kernel']})"
            for p in PRECISIONS
        )
        + "; the better of a measurement before and after the paths)"
    )
    kernels = [
        f"{name} {rate / 1e9:.0f}"
        for p in PRECISIONS
        for name, rate in peaks[p].items()
        if name not in ("flops_per_second", "kernel")
    ]
    print("Every kernel tried, GFLOP/s: " + ", ".join(kernels))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Load average at the end: {load:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

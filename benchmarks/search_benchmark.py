#!/usr/bin/env python3
"""Search latency, recall and memory of the index backends.

Data: clustered synthetic embeddings (a mixture of ``--clusters`` Gaussians
around random unit centres, normalised), D = 512 (the projection size of the
paper's models), queries drawn from the same mixture. Uniform random unit
vectors are a poor test for approximate search: in 512 dimensions all their
similarities concentrate around 0, so the "nearest" neighbours are nearly
ties and no index structure helps; clustered data is what trained
embeddings look like.

Printed tables (all measured in one run, ``--threads`` threads for torch
and faiss):

1. latency (p50/p95) of one query and of a batch of 64 queries at the full
   size: exact (torch, float32 and float16 rows), faiss ``IndexFlatIP``, the
   IVF backend with a few ``nprobe`` values (with recall@10 against exact);
2. memory per million items;
3. how latency grows from 10k to the full size.

Run (2 threads, about 10 minutes, ~9 GB of RAM)::

    python benchmarks/search_benchmark.py --num-items 1000000 --threads 2

Authors
 * speechbrain-style contributors 2026
"""

import argparse
import sys
import time

import numpy as np
import torch

from speechbrain_style.retrieval.backends import ExactSearch, FaissSearch


def rss_bytes():
    """Resident memory of this process."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def clustered(num_items, dim, centres, seed, spread=1.0, chunk=65536):
    """Normalised samples of a Gaussian mixture (noise norm ~ ``spread``)."""
    generator = torch.Generator().manual_seed(seed)
    out = torch.empty(num_items, dim)
    for start in range(0, num_items, chunk):
        stop = min(start + chunk, num_items)
        labels = torch.randint(
            len(centres), (stop - start,), generator=generator
        )
        noise = torch.randn(stop - start, dim, generator=generator)
        rows = centres[labels] + noise * (spread / dim**0.5)
        out[start:stop] = torch.nn.functional.normalize(rows, dim=1)
    return out


def latencies(backend, queries, batch, repeats):
    """Per-call latencies (ms) of ``repeats`` searches of ``batch`` queries."""
    backend.search(queries[:batch], 10)  # warm-up
    times = []
    for r in range(repeats):
        block = queries[(r * batch) % len(queries) :][:batch]
        if len(block) < batch:
            block = queries[:batch]
        begin = time.perf_counter()
        backend.search(block, 10)
        times.append(1000 * (time.perf_counter() - begin))
    return np.percentile(times, 50), np.percentile(times, 95)


def recall_at_10(backend, queries, truth):
    """Mean fraction of the exact top 10 that a backend finds."""
    found = backend.search(queries, 10)[1]
    hits = [
        len(set(f) & set(t)) / 10
        for f, t in zip(found.tolist(), truth.tolist(), strict=True)
    ]
    return float(np.mean(hits))


def main(argv=None):
    """Runs the search benchmark and prints its tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-items", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument(
        "--spread",
        type=float,
        default=1.5,
        help="noise norm around the unit centres (1.5: two items of a "
        "cluster have cosine ~0.3; 1.0 is easy for IVF, 2.0 near-random)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--single-repeats", type=int, default=40)
    parser.add_argument("--batch-repeats", type=int, default=5)
    parser.add_argument("--recall-queries", type=int, default=256)
    parser.add_argument(
        "--nprobe", type=int, nargs="+", default=[16, 32, 64, 128]
    )
    parser.add_argument(
        "--hnsw-items",
        type=int,
        default=100_000,
        help="HNSW is measured at this size (its build is slow); 0: skip",
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000]
    )
    args = parser.parse_args(argv)
    import faiss

    torch.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)
    torch.manual_seed(0)
    centres = torch.nn.functional.normalize(
        torch.randn(args.clusters, args.dim), dim=1
    )
    base_rss = rss_bytes()
    embeddings = clustered(args.num_items, args.dim, centres, 1, args.spread)
    fp32_rss = rss_bytes() - base_rss
    queries = clustered(1024, args.dim, centres, 2, args.spread)
    num = args.num_items
    print(
        f"Data: {num:,} x {args.dim} float32, mixture of {args.clusters} "
        f"Gaussians (noise norm {args.spread}), normalised; queries from "
        f"the same mixture; {args.threads} threads (torch "
        f"{torch.__version__}, faiss {faiss.__version__})"
    )

    def table_row(name, backend, recall=None, build=None):
        """One markdown row of latencies and recall."""
        p50_1, p95_1 = latencies(backend, queries, 1, args.single_repeats)
        p50_64, p95_64 = latencies(backend, queries, 64, args.batch_repeats)
        measured[name] = (p50_1, p50_64, recall)
        recall_text = "1 (exact)" if recall is None else f"{recall:.3f}"
        build_text = "-" if build is None else f"{build:.1f}"
        print(
            f"| {name} | {p50_1:.2f} | {p95_1:.2f} | {p50_64:.1f} | "
            f"{p95_64:.1f} | {recall_text} | {build_text} |"
        )
        return p50_1, p50_64

    measured = {}
    exact = ExactSearch(embeddings)
    truth = exact.search(queries[: args.recall_queries], 10)[1]
    print()
    print(f"## Latency at {num:,} items (ms; top-10)")
    print()
    print(
        "| backend | 1 query p50 | 1 query p95 | 64 queries p50 | "
        "64 queries p95 | recall@10 | build (s) |"
    )
    print("|---|---|---|---|---|---|---|")
    exact_1, exact_64 = table_row("exact (torch, float32)", exact)
    half = embeddings.half()
    fp16_rss = half.numel() * 2
    half_backend = ExactSearch(half)
    half_recall = recall_at_10(
        half_backend, queries[: args.recall_queries], truth
    )
    table_row("exact (torch, float16 rows)", half_backend, half_recall)
    del half_backend, half
    rss = rss_bytes()
    flat = FaissSearch(embeddings, "faiss-flat")
    flat_rss = rss_bytes() - rss
    flat_1, flat_64 = table_row(
        "faiss IndexFlatIP", flat, build=flat.build_seconds
    )
    del flat
    rss = rss_bytes()
    ivf = FaissSearch(embeddings, "ivf", nprobe=args.nprobe[0])
    ivf_rss = rss_bytes() - rss
    nlist = ivf.params["nlist"]
    for nprobe in args.nprobe:
        ivf.index.nprobe = nprobe
        recall = recall_at_10(ivf, queries[: args.recall_queries], truth)
        table_row(
            f"ivf (nlist {nlist}, nprobe {nprobe})",
            ivf,
            recall,
            ivf.build_seconds,
        )
    del ivf
    print()
    print(
        f"exact / faiss IndexFlatIP latency: 1 query {exact_1 / flat_1:.2f}, "
        f"64 queries {exact_64 / flat_64:.2f} (< 1: torch is faster)"
    )

    print()
    print(f"## Memory per million items (D = {args.dim})")
    print()
    per_million = 1e6 / num / 2**20
    print("| storage | MiB per 1M items |")
    print("|---|---|")
    print(
        f"| float32 rows (exact; measured RSS) | {fp32_rss * per_million:.0f} |"
    )
    print(f"| float16 rows (exact, --fp16) | {fp16_rss * per_million:.0f} |")
    flat_mib = flat_rss * per_million
    print(f"| + faiss IndexFlatIP copy (measured) | {flat_mib:.0f} |")
    print(f"| + faiss IVF copy (measured) | {ivf_rss * per_million:.0f} |")

    hnsw_text = []
    if args.hnsw_items:
        sub = embeddings[: args.hnsw_items]
        sub_truth = ExactSearch(sub).search(queries[: args.recall_queries], 10)
        rss = rss_bytes()
        hnsw = FaissSearch(sub, "hnsw", hnsw_m=32, ef_search=64)
        hnsw_rss = rss_bytes() - rss
        hnsw_text.append((hnsw, sub_truth[1], hnsw_rss, len(sub)))

    print()
    print("## Latency growth (ms, p50; top-10)")
    print()
    print(
        "| items | exact 1 q | exact 64 q | faiss flat 1 q | faiss flat 64 q "
        "| ivf 1 q | ivf 64 q | ivf recall@10 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    nprobe = args.nprobe[len(args.nprobe) // 2]
    for size in [s for s in args.sizes if s < num]:
        sub = embeddings[:size]
        sub_exact = ExactSearch(sub)
        sub_truth = sub_exact.search(queries[: args.recall_queries], 10)[1]
        sub_flat = FaissSearch(sub, "faiss-flat")
        sub_ivf = FaissSearch(sub, "ivf", nprobe=nprobe)
        row = [f"{size:,}"]
        for backend in (sub_exact, sub_flat, sub_ivf):
            row.append(f"{latencies(backend, queries, 1, 20)[0]:.2f}")
            row.append(f"{latencies(backend, queries, 64, 3)[0]:.1f}")
        recall = recall_at_10(
            sub_ivf, queries[: args.recall_queries], sub_truth
        )
        row.append(
            f"{recall:.3f} (nlist {sub_ivf.params['nlist']}, nprobe {nprobe})"
        )
        print("| " + " | ".join(row) + " |")
        del sub_flat, sub_ivf
    # The full size: the measurements of the first table.
    row = [f"{num:,}"]
    for name in (
        "exact (torch, float32)",
        "faiss IndexFlatIP",
        f"ivf (nlist {nlist}, nprobe {nprobe})",
    ):
        row += [f"{measured[name][0]:.2f}", f"{measured[name][1]:.1f}"]
    recall = measured[f"ivf (nlist {nlist}, nprobe {nprobe})"][2]
    row.append(f"{recall:.3f} (nlist {nlist}, nprobe {nprobe})")
    print("| " + " | ".join(row) + " |")

    for hnsw, sub_truth, hnsw_rss, size in hnsw_text:
        print()
        print(f"## HNSW at {size:,} items (M 32, efConstruction 80)")
        print()
        print(
            "| backend | 1 query p50 | 1 query p95 | 64 queries p50 | "
            "64 queries p95 | recall@10 | build (s) |"
        )
        print("|---|---|---|---|---|---|---|")
        for ef in (32, 64, 128):
            hnsw.index.hnsw.efSearch = ef
            recall = recall_at_10(
                hnsw, queries[: args.recall_queries], sub_truth
            )
            table_row(f"hnsw (efSearch {ef})", hnsw, recall, hnsw.build_seconds)
        print(
            f"\nHNSW memory: {hnsw_rss * 1e6 / size / 2**20:.0f} MiB per "
            "1M items (rows + graph)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

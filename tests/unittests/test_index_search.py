"""Search backends: exact (float32/float16) and faiss (flat, IVF, HNSW)."""

import sys

import pytest
import torch

from speechbrain_style.retrieval.backends import (
    ExactSearch,
    FaissSearch,
    make_backend,
)
from speechbrain_style.retrieval.index import StyleIndex

pytest.importorskip("faiss")


def _unit(x):
    return torch.nn.functional.normalize(x, dim=1)


def clustered(num_items, dim, num_clusters, seed, spread=0.35):
    """Normalised mixture of Gaussians (harder than uniform for IVF)."""
    generator = torch.Generator().manual_seed(seed)
    centres = _unit(torch.randn(num_clusters, dim, generator=generator))
    labels = torch.randint(num_clusters, (num_items,), generator=generator)
    noise = torch.randn(num_items, dim, generator=generator) * spread
    return _unit(centres[labels] + noise / dim**0.5 * 4)


def recall_at(found, truth):
    hits = [
        len(set(f) & set(t)) / len(t)
        for f, t in zip(found.tolist(), truth.tolist(), strict=True)
    ]
    return sum(hits) / len(hits)


@pytest.fixture(scope="module")
def data():
    embeddings = clustered(6000, 32, 40, seed=0)
    queries = clustered(50, 32, 40, seed=1)
    exact_scores, exact_indices = ExactSearch(embeddings).search(queries, 10)
    return {
        "embeddings": embeddings,
        "queries": queries,
        "scores": exact_scores,
        "indices": exact_indices,
    }


def test_exact_matches_full_product(data):
    full = data["queries"] @ data["embeddings"].T
    scores, indices = full.topk(10, dim=1)
    assert torch.equal(data["indices"], indices)
    torch.testing.assert_close(data["scores"], scores)
    # Small fixed chunks and query blocks merge to the same result.
    backend = ExactSearch(
        data["embeddings"], chunk_size=500, query_chunk_size=7
    )
    got_scores, got_indices = backend.search(data["queries"], 10)
    assert torch.equal(got_indices, indices)
    torch.testing.assert_close(got_scores, scores)


@pytest.mark.parametrize("num_queries", [1, 50])
def test_exact_float16_rows(data, num_queries):
    """float16 rows: same results as float32 search over the rounded rows."""
    rows16 = data["embeddings"].half()
    queries = data["queries"][:num_queries]
    expected = (queries @ rows16.float().T).topk(10, dim=1)
    # num_queries=1: float16 product + float32 rescoring; 50: upcast chunks.
    scores, indices = ExactSearch(rows16, chunk_size=700).search(queries, 10)
    assert torch.equal(indices, expected.indices)
    torch.testing.assert_close(scores, expected.values)
    assert scores.dtype == torch.float32


def test_faiss_flat_equals_exact(data):
    backend = FaissSearch(data["embeddings"], "faiss-flat")
    scores, indices = backend.search(data["queries"], 10)
    assert torch.equal(indices, data["indices"])
    torch.testing.assert_close(scores, data["scores"], atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    "kind,options",
    [
        ("ivf", {"nlist": 40, "nprobe": 16}),
        ("hnsw", {"hnsw_m": 16, "ef_search": 64}),
    ],
)
def test_ann_recall(data, kind, options):
    backend = make_backend(data["embeddings"], kind, **options)
    _, indices = backend.search(data["queries"], 10)
    recall = recall_at(indices, data["indices"])
    assert recall > 0.9, recall
    # Fewer visited clusters / candidates: recall drops (so the parameters
    # really reach faiss).
    if kind == "ivf":
        low = make_backend(data["embeddings"], kind, nlist=40, nprobe=1)
        assert low.params == {"nlist": 40, "nprobe": 1}
        assert low.index.nprobe == 1
    else:
        low = make_backend(data["embeddings"], kind, hnsw_m=4, ef_search=8)
    low_recall = recall_at(low.search(data["queries"], 10)[1], data["indices"])
    assert low_recall < recall


@pytest.mark.parametrize("kind", ["faiss-flat", "ivf", "hnsw"])
@pytest.mark.parametrize("subset_max", [0, 10**6])
def test_faiss_filters_are_respected(data, kind, subset_max):
    """Large masks go through an IDSelector (subset_max=0), small ones are
    searched exactly; either way every hit is eligible and k' hits come."""
    generator = torch.Generator().manual_seed(2)
    mask = torch.rand(6000, generator=generator) < 0.3
    backend = FaissSearch(
        data["embeddings"],
        kind,
        nlist=40,
        nprobe=16,
        exact_subset_max=subset_max,
    )
    scores, indices = backend.search(data["queries"], 10, mask)
    assert indices.shape == (50, 10)
    assert mask[indices].all()
    masked = (data["queries"] @ data["embeddings"].T).masked_fill(
        ~mask, float("-inf")
    )
    truth = masked.topk(10, dim=1).indices
    if kind == "faiss-flat" or subset_max > 0:
        assert torch.equal(indices, truth)
    else:
        assert recall_at(indices, truth) > 0.8
    # A mask with 3 eligible rows returns exactly those rows.
    few = torch.zeros(6000, dtype=torch.bool)
    few[[3, 3000, 5999]] = True
    scores, indices = backend.search(data["queries"][:2], 10, few)
    assert indices.shape == (2, 3)
    assert sorted(indices[0].tolist()) == [3, 3000, 5999]


def test_ivf_with_too_few_candidates_falls_back_to_exact(data):
    # One visited cluster and a mask keeping ~5% of the rows: faiss finds
    # fewer than 10 eligible rows for most queries, the exact search fills
    # them in.
    generator = torch.Generator().manual_seed(3)
    mask = torch.rand(6000, generator=generator) < 0.05
    backend = FaissSearch(
        data["embeddings"], "ivf", nlist=40, nprobe=1, exact_subset_max=0
    )
    scores, indices = backend.search(data["queries"], 10, mask)
    assert indices.shape == (50, 10)
    assert (indices >= 0).all() and mask[indices].all()
    assert torch.all(scores[:, :-1] >= scores[:, 1:])


def test_style_index_with_faiss_backend_filters_and_fusion(data):
    embeddings = data["embeddings"][:2000]
    items = [
        {"id": f"u{i}", "wav": f"{i}.wav", "metadata": {"spk": i % 4}}
        for i in range(2000)
    ]
    exact = StyleIndex(embeddings, items)
    flat = StyleIndex(embeddings, items, backend="faiss-flat")
    ivf = StyleIndex(
        embeddings,
        items,
        backend="ivf",
        backend_options={"nlist": 20, "nprobe": 20},
    )
    queries = data["queries"][:5]
    for kwargs in [
        {},
        {"filters": {"spk": [1, 2]}},
        {"fusion_n": 5},
        {"fusion_n": 5, "filters": {"spk": 3}},
    ]:
        expected = exact.search(queries, k=5, **kwargs)
        for index in (flat, ivf):  # nprobe = nlist: IVF is exact here
            got = index.search(queries, k=5, **kwargs)
            assert [[h["id"] for h in q] for q in got] == [
                [h["id"] for h in q] for q in expected
            ]
        if "filters" in kwargs:
            wanted = kwargs["filters"]["spk"]
            wanted = wanted if isinstance(wanted, list) else [wanted]
            assert all(
                h["metadata"]["spk"] in wanted for q in expected for h in q
            )


def test_backend_errors(data, monkeypatch):
    with pytest.raises(ValueError, match="backend must be one of"):
        make_backend(data["embeddings"], "annoy")
    with pytest.raises(ValueError, match="nlist must be in"):
        FaissSearch(data["embeddings"][:10], "ivf", nlist=50)
    with pytest.raises(ValueError, match="nprobe must be >= 1"):
        FaissSearch(data["embeddings"], "ivf", nprobe=0)
    monkeypatch.setitem(sys.modules, "faiss", None)  # faiss not installed
    with pytest.raises(ImportError, match=r"pip install speechbrain-style\["):
        FaissSearch(data["embeddings"], "faiss-flat")

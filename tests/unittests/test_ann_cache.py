"""The faiss IVF/HNSW index cache next to a StyleIndex (``<index>/ann/``)."""

import json
import logging
import os

import pytest
import torch

from speechbrain_style.cli.main import backend_load_options, build_parser
from speechbrain_style.retrieval.backends import ExactSearch, FaissSearch
from speechbrain_style.retrieval.index import StyleIndex, _write_index

faiss = pytest.importorskip("faiss")

NUM_ITEMS, DIM = 3000, 32
# Build parameters (cache key) and search-time parameters of each kind.
BUILD = {
    "ivf": {"nlist": 30},
    "hnsw": {"hnsw_m": 8, "ef_construction": 40},
}
CACHE_NAME = {"ivf": "ivf-nlist30-train1200", "hnsw": "hnsw-m8-efc40"}
SEARCH_FULL = {"ivf": {"nprobe": 30}, "hnsw": {"ef_search": 200}}
SEARCH_LOW = {"ivf": {"nprobe": 1}, "hnsw": {"ef_search": 12}}


def _unit(x):
    return torch.nn.functional.normalize(x, dim=1)


def clustered(num_items, num_clusters, seed, spread=0.35):
    """Normalised mixture of Gaussians."""
    generator = torch.Generator().manual_seed(seed)
    centres = _unit(torch.randn(num_clusters, DIM, generator=generator))
    labels = torch.randint(num_clusters, (num_items,), generator=generator)
    noise = torch.randn(num_items, DIM, generator=generator) * spread
    return _unit(centres[labels] + noise / DIM**0.5 * 4)


def recall_at(found, truth):
    hits = [
        len(set(f) & set(t))
        for f, t in zip(found.tolist(), truth.tolist(), strict=True)
    ]
    return sum(hits) / truth.numel()


def write_index(index_dir, embeddings):
    items = [{"id": f"u{i}", "wav": f"{i}.wav"} for i in range(len(embeddings))]
    _write_index(index_dir, embeddings.numpy(), items, [], {}, 16000)


@pytest.fixture(scope="module")
def data():
    embeddings = clustered(NUM_ITEMS, 30, seed=0)
    queries = clustered(40, 30, seed=1)
    return {
        "embeddings": embeddings,
        "queries": queries,
        "truth": ExactSearch(embeddings).search(queries, 10)[1],
    }


@pytest.fixture
def index_dir(tmp_path, data):
    write_index(tmp_path / "index", data["embeddings"])
    return tmp_path / "index"


def load(index_dir, kind, build=None, search=None, **kwargs):
    options = dict(BUILD[kind] if build is None else build)
    options.update(SEARCH_FULL[kind] if search is None else search)
    return StyleIndex.load(
        index_dir, backend=kind, backend_options=options, **kwargs
    )


def cache_files(index_dir, kind, name=None):
    stem = index_dir / "ann" / (name or CACHE_NAME[kind])
    return stem.with_suffix(".faiss"), stem.with_suffix(".json")


def stats(paths):
    return [(os.stat(p).st_ino, os.stat(p).st_mtime_ns) for p in paths]


def messages(caplog, level=logging.INFO):
    return [r.getMessage() for r in caplog.records if r.levelno == level]


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_second_load_reads_the_cache(data, index_dir, kind, caplog):
    caplog.set_level(
        logging.INFO, logger="speechbrain_style.retrieval.backends"
    )
    first = load(index_dir, kind)
    assert not first.backend.loaded_from_cache
    index_path, sidecar_path = cache_files(index_dir, kind)
    assert sorted(os.listdir(index_dir / "ann")) == [
        index_path.name,
        sidecar_path.name,
    ]
    sidecar = json.loads(sidecar_path.read_text())
    info = json.loads((index_dir / "index.json").read_text())
    expected_params = dict(BUILD[kind])
    if kind == "ivf":
        expected_params["train_size"] = 40 * 30
    assert sidecar["kind"] == kind
    assert sidecar["build_params"] == expected_params
    assert sidecar["embeddings_sha256"] == info["embeddings_sha256"]
    assert (sidecar["dim"], sidecar["count"]) == (DIM, NUM_ITEMS)
    assert sidecar["faiss_version"] == faiss.__version__
    before = stats([index_path, sidecar_path])
    scores, indices = first.backend.search(data["queries"], 10)

    caplog.clear()
    second = load(index_dir, kind)
    assert second.backend.loaded_from_cache
    assert stats([index_path, sidecar_path]) == before  # not rewritten
    assert any(
        m.startswith(f"Loaded the cached faiss {kind} index")
        for m in messages(caplog)
    )
    assert not any(m.startswith("Built faiss") for m in messages(caplog))
    got_scores, got_indices = second.backend.search(data["queries"], 10)
    assert torch.equal(got_indices, indices)
    assert torch.equal(got_scores, scores)
    # Full search parameters: (near) exact answers.
    assert recall_at(got_indices, data["truth"]) > 0.98


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_search_params_apply_to_a_cached_index(data, index_dir, kind):
    load(index_dir, kind)
    low = load(index_dir, kind, search=SEARCH_LOW[kind])
    assert low.backend.loaded_from_cache
    if kind == "ivf":
        assert low.backend.index.nprobe == 1
        assert low.backend.params == {"nlist": 30, "nprobe": 1}
    else:
        assert low.backend.index.hnsw.efSearch == 12
    _, indices = low.backend.search(data["queries"], 10)
    assert recall_at(indices, data["truth"]) < 0.9


def test_changed_embeddings_are_rebuilt(data, index_dir, caplog):
    load(index_dir, "ivf")
    index_path, sidecar_path = cache_files(index_dir, "ivf")
    old_sha = json.loads(sidecar_path.read_text())["embeddings_sha256"]
    # The index is rebuilt in place with other embeddings; ann/ stays.
    other = clustered(NUM_ITEMS, 30, seed=5)
    write_index(index_dir, other)
    caplog.set_level(
        logging.INFO, logger="speechbrain_style.retrieval.backends"
    )
    rebuilt = load(index_dir, "ivf")
    assert not rebuilt.backend.loaded_from_cache
    warnings = messages(caplog, logging.WARNING)
    assert len(warnings) == 1 and "embeddings_sha256" in warnings[0]
    new_sha = json.loads(sidecar_path.read_text())["embeddings_sha256"]
    info = json.loads((index_dir / "index.json").read_text())
    assert new_sha == info["embeddings_sha256"] != old_sha
    # The new cache answers for the new embeddings.
    again = load(index_dir, "ivf")
    assert again.backend.loaded_from_cache
    truth = ExactSearch(other).search(data["queries"], 10)[1]
    assert torch.equal(again.backend.search(data["queries"], 10)[1], truth)


def test_changed_build_params_are_built_separately(index_dir):
    load(index_dir, "ivf")
    load(index_dir, "hnsw")
    for kind, build, name in [
        ("ivf", {"nlist": 20}, "ivf-nlist20-train800"),
        ("ivf", {"nlist": 30, "train_size": 1500}, "ivf-nlist30-train1500"),
        ("hnsw", {"hnsw_m": 8, "ef_construction": 20}, "hnsw-m8-efc20"),
        ("hnsw", {"hnsw_m": 6, "ef_construction": 40}, "hnsw-m6-efc40"),
    ]:
        index = load(index_dir, kind, build=build, search={})
        assert not index.backend.loaded_from_cache, build
        assert all(p.is_file() for p in cache_files(index_dir, kind, name))
        if kind == "ivf":
            assert index.backend.index.nlist == build["nlist"]
        else:
            # Level 0 of an HNSW graph has 2 * M links per node.
            hnsw = index.backend.index.hnsw
            assert hnsw.nb_neighbors(0) == 2 * build["hnsw_m"]
    assert len(os.listdir(index_dir / "ann")) == 2 * 6
    # The first builds are still there and used.
    assert load(index_dir, "ivf").backend.loaded_from_cache
    assert load(index_dir, "hnsw").backend.loaded_from_cache


def _truncate(index_path, sidecar_path):
    data = index_path.read_bytes()
    index_path.write_bytes(data[: len(data) // 2])


def _flip_a_byte(index_path, sidecar_path):
    data = bytearray(index_path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the stored vectors: still parses
    index_path.write_bytes(bytes(data))


def _drop_sidecar(index_path, sidecar_path):
    sidecar_path.unlink()


def _garble_sidecar(index_path, sidecar_path):
    sidecar_path.write_text("{not json")


def _other_faiss_version(index_path, sidecar_path):
    record = json.loads(sidecar_path.read_text())
    record["faiss_version"] = "0.0.1"
    sidecar_path.write_text(json.dumps(record))


@pytest.mark.parametrize(
    "damage,reason",
    [
        (_truncate, "read error"),
        (_flip_a_byte, "truncated or modified"),
        (_drop_sidecar, "No such file"),
        (_garble_sidecar, "Expecting property name"),
        (_other_faiss_version, "faiss_version '0.0.1'"),
    ],
)
@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_a_damaged_cache_is_rebuilt_with_a_warning(
    data, index_dir, kind, damage, reason, caplog
):
    original = load(index_dir, kind).backend.search(data["queries"], 10)
    index_path, sidecar_path = cache_files(index_dir, kind)
    damage(index_path, sidecar_path)
    caplog.set_level(
        logging.INFO, logger="speechbrain_style.retrieval.backends"
    )
    rebuilt = load(index_dir, kind)
    assert not rebuilt.backend.loaded_from_cache
    warnings = messages(caplog, logging.WARNING)
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("Not using the cached faiss index")
    assert reason in warnings[0]
    got = rebuilt.backend.search(data["queries"], 10)
    assert torch.equal(got[1], original[1])
    # The rewritten cache is sound again.
    assert load(index_dir, kind).backend.loaded_from_cache


def test_opt_out_neither_reads_nor_writes(index_dir):
    index = load(index_dir, "hnsw", ann_cache=False)
    assert index.backend.cache_path is None
    assert not (index_dir / "ann").exists()
    load(index_dir, "hnsw")
    index_path, sidecar_path = cache_files(index_dir, "hnsw")
    before = stats([index_path, sidecar_path])
    index = load(index_dir, "hnsw", ann_cache=False)
    assert not index.backend.loaded_from_cache
    assert stats([index_path, sidecar_path]) == before
    # Exact and flat backends never create a cache.
    for backend in ("exact", "faiss-flat"):
        StyleIndex.load(index_dir, backend=backend)
    assert len(os.listdir(index_dir / "ann")) == 2


def test_an_unwritable_cache_only_warns(data, index_dir, caplog):
    (index_dir / "ann").write_text("a file where the folder should be")
    caplog.set_level(
        logging.INFO, logger="speechbrain_style.retrieval.backends"
    )
    index = load(index_dir, "ivf")
    warnings = messages(caplog, logging.WARNING)
    assert any(w.startswith("Cannot cache the faiss index") for w in warnings)
    _, indices = index.backend.search(data["queries"], 10)
    assert torch.equal(indices, data["truth"])


def test_in_memory_embeddings_are_keyed_by_their_values(data, tmp_path):
    emb = data["embeddings"][:1000]
    first = FaissSearch(emb, "ivf", nlist=10, cache_dir=tmp_path)
    again = FaissSearch(emb, "ivf", nlist=10, nprobe=2, cache_dir=tmp_path)
    assert (first.loaded_from_cache, again.loaded_from_cache) == (False, True)
    assert again.params == {"nlist": 10, "nprobe": 2}
    changed = emb.clone()
    changed[0] = changed[1]
    other = FaissSearch(changed, "ivf", nlist=10, cache_dir=tmp_path)
    assert not other.loaded_from_cache


@pytest.mark.parametrize("command", ["search", "serve"])
def test_cli_backend_flags(command):
    argv = [command, "--model", "m", "--index", "i"]
    argv += ["--backend", "ivf", "--nlist", "64", "--nprobe", "8"]
    argv += ["--hnsw_m", "12", "--no_ann_cache"]
    query = ["a query"] if command == "search" else []
    args = build_parser().parse_args(argv + query)
    assert backend_load_options(args) == {
        "backend": "ivf",
        "backend_options": {"nlist": 64, "nprobe": 8},
        "ann_cache": False,
    }
    args = build_parser().parse_args(
        [command, "--model", "m", "--index", "i", "--backend", "hnsw"]
        + ["--ef-search", "20"]
    )
    assert backend_load_options(args) == {
        "backend": "hnsw",
        "backend_options": {"hnsw_m": None, "ef_search": 20},
        "ann_cache": True,
    }

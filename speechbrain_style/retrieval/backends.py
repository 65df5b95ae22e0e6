"""Top-k inner-product search backends over a fixed embedding matrix.

Every backend answers ``search(queries, k, mask=None) -> (scores, indices)``
on L2-normalised float32 queries (Q, D): ``scores`` (Q, k') in decreasing
order and ``indices`` (Q, k') row numbers, where k' = min(k, number of
eligible rows) and ``mask`` (a bool (N,) tensor) marks the eligible rows.
With L2-normalised rows the scores are cosine similarities.

* :class:`ExactSearch`: chunked matrix products (``torch.mm``, intra-op
  threads) with one top-k per chunk and a final merge; memory is bounded by
  ``max_scores`` floats of scores whatever the number of rows. float16
  matrices (half the memory) are searched with a float16 product for small
  query batches (memory-bound: faster than float32) whose top candidates are
  then rescored in float32, and chunk-wise upcast to float32 for larger
  batches (CPU float16 GEMM is slower than float32).
* :class:`FaissSearch`: `faiss <https://github.com/facebookresearch/faiss>`_
  (``pip install speechbrain-style[faiss]``), exact ``IndexFlatIP``
  (``"faiss-flat"``), inverted lists ``IndexIVFFlat`` (``"ivf"``: ``nlist``
  clusters, ``nprobe`` visited per query) or a graph ``IndexHNSWFlat``
  (``"hnsw"``: ``hnsw_m`` links, ``ef_search`` candidates), inner product.
  Filters: a mask selecting at most ``exact_subset_max`` rows is searched
  exactly on that subset (small, so fast, and never misses); a larger one is
  passed to faiss as an ``IDSelectorBitmap``, and any query for which faiss
  returns fewer than k' eligible rows is answered exactly on the subset.
  Results therefore always honour the mask.

Building an approximate index takes time (IVF over 1M rows: ~35 s, HNSW
over 100k rows: ~100 s on 2 cores), so :class:`FaissSearch` can keep IVF and
HNSW indexes in a cache folder (``cache_dir``, e.g. ``<index_dir>/ann`` for
a :class:`~speechbrain_style.retrieval.index.StyleIndex`): one
``<kind>-<build parameters>.faiss`` file per build (e.g.
``ivf-nlist1000-train40000.faiss``, ``hnsw-m32-efc80.faiss``) and a JSON
sidecar of the same name holding the cache format version, kind, build
parameters, faiss version, dimension, count, the sha256 of the embeddings
the index was built from and the sha256 of the ``.faiss`` file. A cached
index is used only if all of them match (the file is hashed while it is
read); anything else (other embeddings, faiss version, a truncated or
modified file, a missing sidecar) is logged with a warning and rebuilt. The
``.faiss`` file is written first, then the sidecar, each atomically
(temporary file + ``os.replace``); the old sidecar is removed before, so an
interrupted write never leaves a pair that looks valid. Search-time
parameters (``nprobe``, ``ef_search``) are not part of the key: they are set
after loading.

:func:`make_backend` builds a backend from its name (``"exact"``,
``"faiss-flat"``, ``"ivf"``, ``"hnsw"``).

Authors
 * speechbrain-style contributors 2026
"""

import hashlib
import json
import math
import os
import time

import numpy as np
import torch
from speechbrain.utils.logger import get_logger

logger = get_logger(__name__)

BACKENDS = ("exact", "faiss-flat", "ivf", "hnsw")
FAISS_KINDS = ("faiss-flat", "ivf", "hnsw")
# Approximate indexes worth caching (a flat index is a plain copy of the
# rows: reading it back is no faster than adding them).
CACHED_KINDS = ("ivf", "hnsw")
# Bump when the way IVF/HNSW indexes are built changes (cached files are
# then rebuilt).
ANN_CACHE_VERSION = 1
IVF_KMEANS_ITERATIONS = 10
# Queries at or below this count are scored with a float16 product on a
# float16 matrix (memory-bound regime); above it the chunk is upcast.
HALF_PRODUCT_MAX_QUERIES = 16


def _check_matrix(embeddings):
    """Returns ``embeddings`` as a float32/float16 (N, D) CPU tensor."""
    embeddings = torch.as_tensor(embeddings)
    if embeddings.dtype not in (torch.float32, torch.float16):
        embeddings = embeddings.float()
    if embeddings.dim() != 2:
        raise ValueError(
            f"embeddings must be (N, D), got shape {tuple(embeddings.shape)}"
        )
    return embeddings


def _check_mask(mask, num_items):
    """Validates a bool (N,) mask and returns it as a tensor."""
    mask = torch.as_tensor(mask)
    if mask.dtype != torch.bool or mask.shape != (num_items,):
        raise ValueError(
            f"mask must be a bool tensor of shape ({num_items},), got "
            f"{mask.dtype} {tuple(mask.shape)}"
        )
    return mask


def _check_queries(queries, dim):
    """Returns queries as a float32 (Q, D) tensor."""
    queries = torch.as_tensor(queries, dtype=torch.float32)
    if queries.dim() != 2 or queries.shape[1] != dim:
        raise ValueError(
            f"queries must be (Q, {dim}), got shape {tuple(queries.shape)}"
        )
    return queries


class ExactSearch:
    """Exact inner-product top-k search over a fixed embedding matrix.

    Rows are scored a chunk at a time (one ``torch.mm`` per chunk of
    queries x rows), each chunk keeps its own top-k and the candidates are
    merged once at the end, so memory stays bounded by about
    ``max_scores`` scores (``query_chunk_size x chunk rows``), plus as many
    floats of copied rows when a mask gathers rows or float16 rows are
    upcast, whatever the number of items. Among tied scores the order is
    unspecified.

    Arguments
    ---------
    embeddings : torch.Tensor
        Item embeddings (N, D), float32 or float16 (kept as given).
    chunk_size : int, optional
        Rows scored at a time; by default ``max_scores // num_queries``
        (at least 1024), i.e. large chunks for few queries.
    query_chunk_size : int
        Queries scored at a time.
    max_scores : int
        Score budget per block when ``chunk_size`` is not given.

    Example
    -------
    >>> emb = torch.eye(4)
    >>> backend = ExactSearch(emb, chunk_size=2)
    >>> query = torch.tensor([[0.0, 0.6, 0.8, 0.0]])
    >>> scores, indices = backend.search(query, k=2)
    >>> indices.tolist(), [round(s, 2) for s in scores[0].tolist()]
    ([[2, 1]], [0.8, 0.6])
    >>> mask = torch.tensor([True, True, False, False])
    >>> backend.search(query, 2, mask)[1].tolist()
    [[1, 0]]
    >>> ExactSearch(emb.half()).search(query, 1)[1].tolist()
    [[2]]
    """

    def __init__(
        self,
        embeddings,
        chunk_size=None,
        query_chunk_size=1024,
        max_scores=1 << 24,
    ):
        embeddings = _check_matrix(embeddings)
        for name, value in [
            ("chunk_size", chunk_size),
            ("query_chunk_size", query_chunk_size),
            ("max_scores", max_scores),
        ]:
            if value is not None and int(value) < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.embeddings = embeddings
        self.chunk_size = None if chunk_size is None else int(chunk_size)
        self.query_chunk_size = int(query_chunk_size)
        self.max_scores = int(max_scores)

    def search(self, queries, k, mask=None):
        """Returns the top-k rows for each query.

        Arguments
        ---------
        queries : torch.Tensor
            Queries (Q, D).
        k : int
            Number of results per query (fewer if fewer rows are eligible).
        mask : torch.Tensor, optional
            Boolean (N,) tensor; only rows where it is True are eligible.

        Returns
        -------
        scores : torch.Tensor
            (Q, k') float32 scores in decreasing order,
            k' = min(k, eligible rows).
        indices : torch.Tensor
            (Q, k') row indices into the embeddings.
        """
        queries = _check_queries(queries, self.embeddings.shape[1])
        num_items = self.embeddings.shape[0]
        candidates = None
        if mask is not None:
            mask = _check_mask(mask, num_items)
            num_eligible = int(mask.sum())
            if num_eligible < num_items:
                candidates = mask.nonzero().squeeze(1)
            num_items = num_eligible
        k = min(int(k), num_items)
        all_scores, all_indices = [], []
        for q_start in range(0, queries.shape[0], self.query_chunk_size):
            block = queries[q_start : q_start + self.query_chunk_size]
            scores, indices = self._search_block(block, k, candidates)
            all_scores.append(scores)
            all_indices.append(indices)
        if not all_scores:
            return (
                torch.empty((0, k)),
                torch.empty((0, k), dtype=torch.long),
            )
        return torch.cat(all_scores), torch.cat(all_indices)

    def _rows_per_chunk(self, num_queries):
        if self.chunk_size is not None:
            return self.chunk_size
        return max(1024, self.max_scores // max(1, num_queries))

    def _search_block(self, queries, k, candidates):
        """Top-k of one block of queries over all (eligible) rows."""
        num_queries = queries.shape[0]
        if k == 0:
            return (
                torch.empty((num_queries, 0)),
                torch.empty((num_queries, 0), dtype=torch.long),
            )
        half = self.embeddings.dtype == torch.float16
        half_product = half and num_queries <= HALF_PRODUCT_MAX_QUERIES
        # With a float16 product, keep extra candidates for the rescoring.
        fetch = 2 * k + 8 if half_product else k
        product_queries = queries.half() if half_product else queries
        num_rows = (
            self.embeddings.shape[0] if candidates is None else len(candidates)
        )
        step = self._rows_per_chunk(num_queries)
        if self.chunk_size is None and (
            candidates is not None or (half and not half_product)
        ):
            # Gathered or upcast rows are copies: bound them too.
            dim = self.embeddings.shape[1]
            step = min(step, max(1024, self.max_scores // dim))
        buffer = None
        chunk_scores, chunk_indices = [], []
        for start in range(0, num_rows, step):
            stop = min(start + step, num_rows)
            if candidates is None:
                rows = self.embeddings[start:stop]
            else:
                rows = self.embeddings[candidates[start:stop]]
            if half and not half_product:
                if buffer is None:
                    buffer = torch.empty(min(step, num_rows), rows.shape[1])
                rows = buffer[: stop - start].copy_(rows)
            scores = torch.mm(product_queries, rows.T)
            top_scores, top_pos = scores.topk(min(fetch, stop - start), dim=1)
            top_pos = top_pos + start
            if candidates is not None:
                top_pos = candidates[top_pos]
            chunk_scores.append(top_scores)
            chunk_indices.append(top_pos)
        scores = torch.cat(chunk_scores, dim=1)
        indices = torch.cat(chunk_indices, dim=1)
        if len(chunk_scores) > 1:
            scores, keep = scores.topk(min(fetch, scores.shape[1]), dim=1)
            indices = indices.gather(1, keep)
        if half_product:
            # Rescore the candidates exactly (float32 products of the
            # float16 rows); the float16 scores only preselect them.
            rows = self.embeddings[indices].float()
            scores = torch.einsum("qd,qcd->qc", queries, rows)
        scores, keep = scores.float().topk(k, dim=1)
        return scores, indices.gather(1, keep)


def _import_faiss():
    """Imports faiss or raises an ImportError saying how to install it."""
    try:
        import faiss
    except ImportError as e:
        raise ImportError(
            "The faiss search backends need the faiss library: "
            "pip install speechbrain-style[faiss] (or pip install faiss-cpu)"
        ) from e
    return faiss


def tensor_sha256(embeddings, block_rows=65536):
    """Returns a sha256 of an embedding matrix (dtype, shape and values).

    Identifies in-memory embeddings for the faiss index cache when no file
    checksum is at hand.

    Arguments
    ---------
    embeddings : torch.Tensor
        A (N, D) tensor.
    block_rows : int
        Rows hashed at a time.

    Returns
    -------
    str
        The hex digest.

    Example
    -------
    >>> digest = tensor_sha256(torch.eye(3))
    >>> digest == tensor_sha256(torch.eye(3))
    True
    >>> digest == tensor_sha256(torch.eye(3).half())
    False
    """
    embeddings = _check_matrix(embeddings)
    digest = hashlib.sha256(
        f"{embeddings.dtype}|{tuple(embeddings.shape)}".encode()
    )
    for start in range(0, embeddings.shape[0], block_rows):
        block = embeddings[start : start + block_rows].contiguous()
        digest.update(memoryview(block.numpy()).cast("B"))
    return digest.hexdigest()


def ann_cache_name(kind, build_params):
    """File name (without extension) of a cached faiss index.

    Arguments
    ---------
    kind : str
        ``"ivf"`` or ``"hnsw"``.
    build_params : dict
        ``{"nlist", "train_size"}`` (IVF) or ``{"hnsw_m",
        "ef_construction"}`` (HNSW), see ``FaissSearch.build_params``.

    Returns
    -------
    str
        E.g. ``"ivf-nlist100-train4000"``.

    Example
    -------
    >>> ann_cache_name("hnsw", {"hnsw_m": 32, "ef_construction": 80})
    'hnsw-m32-efc80'
    >>> ann_cache_name("ivf", {"nlist": 100, "train_size": 4000})
    'ivf-nlist100-train4000'
    """
    if kind == "ivf":
        return (
            f"ivf-nlist{build_params['nlist']}"
            f"-train{build_params['train_size']}"
        )
    if kind == "hnsw":
        return (
            f"hnsw-m{build_params['hnsw_m']}"
            f"-efc{build_params['ef_construction']}"
        )
    raise ValueError(f"kind must be one of {CACHED_KINDS}, got {kind!r}")


class FaissSearch:
    """Inner-product top-k search with a faiss index (exact or approximate).

    Arguments
    ---------
    embeddings : torch.Tensor
        Item embeddings (N, D), L2-normalised (float16 rows are upcast: faiss
        keeps its own float32 copy).
    kind : str
        ``"faiss-flat"`` (exact ``IndexFlatIP``), ``"ivf"``
        (``IndexIVFFlat``) or ``"hnsw"`` (``IndexHNSWFlat``).
    nlist : int, optional
        IVF clusters; by default about sqrt(N) (at most N / 39, the faiss
        minimum of training points per cluster).
    nprobe : int
        IVF clusters visited per query.
    hnsw_m : int
        HNSW links per node.
    ef_search : int
        HNSW candidate list size at search time.
    ef_construction : int
        HNSW candidate list size while building.
    train_size : int, optional
        IVF k-means training sample (default ``40 * nlist``, seeded).
    exact_subset_max : int
        Masks selecting at most this many rows are searched exactly.
    add_chunk_size : int
        Rows converted and added to faiss at a time.
    cache_dir : str or os.PathLike, optional
        Folder where IVF and HNSW indexes are cached (see the module
        docstring): a matching cached index is read instead of built, and a
        built one is written there. Ignored for ``"faiss-flat"``. By default
        nothing is cached.
    embeddings_sha256 : str, optional
        Checksum identifying ``embeddings`` in the cache (e.g. the sha256 of
        the ``.npy`` file they were loaded from); by default
        :func:`tensor_sha256` of the tensor.

    Example
    -------
    >>> emb = torch.nn.functional.normalize(torch.randn(50, 8), dim=1)
    >>> backend = FaissSearch(emb, "faiss-flat")
    >>> backend.search(emb[:2], k=1)[1].tolist()
    [[0], [1]]
    >>> cache = getfixture("tmp_path")
    >>> built = FaissSearch(emb, "hnsw", hnsw_m=8, cache_dir=cache)
    >>> again = FaissSearch(emb, "hnsw", hnsw_m=8, cache_dir=cache)
    >>> built.loaded_from_cache, again.loaded_from_cache
    (False, True)
    >>> sorted(path.name for path in cache.iterdir())
    ['hnsw-m8-efc80.faiss', 'hnsw-m8-efc80.json']
    """

    def __init__(
        self,
        embeddings,
        kind="faiss-flat",
        nlist=None,
        nprobe=16,
        hnsw_m=32,
        ef_search=64,
        ef_construction=80,
        train_size=None,
        exact_subset_max=65536,
        add_chunk_size=65536,
        cache_dir=None,
        embeddings_sha256=None,
    ):
        if kind not in FAISS_KINDS:
            raise ValueError(f"kind must be one of {FAISS_KINDS}, got {kind!r}")
        faiss = _import_faiss()
        embeddings = _check_matrix(embeddings)
        num_items, dim = embeddings.shape
        if num_items == 0:
            raise ValueError("Cannot build a faiss index over 0 rows")
        for name, value in [
            ("nprobe", nprobe),
            ("hnsw_m", hnsw_m),
            ("ef_search", ef_search),
            ("ef_construction", ef_construction),
        ]:
            if int(value) < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.embeddings = embeddings
        self.kind = kind
        self.exact_subset_max = int(exact_subset_max)
        self._exact = ExactSearch(embeddings)
        self.build_params = {}
        if kind == "hnsw":
            self.build_params = {
                "hnsw_m": int(hnsw_m),
                "ef_construction": int(ef_construction),
            }
        elif kind == "ivf":
            max_nlist = max(1, num_items // 39)
            if nlist is None:
                nlist = min(max_nlist, max(1, round(math.sqrt(num_items))))
            nlist = int(nlist)
            if not 1 <= nlist <= num_items:
                raise ValueError(
                    f"nlist must be in [1, {num_items}] (the number of "
                    f"items), got {nlist}"
                )
            self.build_params = {
                "nlist": nlist,
                "train_size": min(num_items, int(train_size or 40 * nlist)),
            }
        self.cache_path = None
        self.loaded_from_cache = False
        begin = time.perf_counter()
        index = None
        if cache_dir is not None and kind in CACHED_KINDS:
            name = ann_cache_name(kind, self.build_params)
            self.cache_path = os.path.join(
                os.fspath(cache_dir), name + ".faiss"
            )
            description = {
                "cache_version": ANN_CACHE_VERSION,
                "kind": kind,
                "build_params": self.build_params,
                "faiss_version": faiss.__version__,
                "dim": int(dim),
                "count": int(num_items),
                "embeddings_sha256": embeddings_sha256
                or tensor_sha256(embeddings),
            }
            index = self._read_cache(description)
            self.loaded_from_cache = index is not None
        if index is None:
            index = self._build(dim, add_chunk_size)
        self.index = index
        if kind == "hnsw":
            index.hnsw.efSearch = int(ef_search)
            self.params = {"hnsw_m": int(hnsw_m), "ef_search": int(ef_search)}
        elif kind == "ivf":
            index.nprobe = min(int(nprobe), self.build_params["nlist"])
            self.params = {
                "nlist": self.build_params["nlist"],
                "nprobe": index.nprobe,
            }
        else:
            self.params = {}
        self.build_seconds = time.perf_counter() - begin
        if self.loaded_from_cache:
            logger.info(
                "Loaded the cached faiss %s index over %d rows from %s in "
                "%.1f s (%s)",
                kind,
                num_items,
                self.cache_path,
                self.build_seconds,
                self.params,
            )
            return
        logger.info(
            "Built faiss %s index over %d rows in %.1f s (%s)",
            kind,
            num_items,
            self.build_seconds,
            self.params,
        )
        if self.cache_path is not None:
            self._write_cache(description)

    def _build(self, dim, add_chunk_size):
        """Builds the faiss index over all rows."""
        faiss = _import_faiss()
        num_items = self.embeddings.shape[0]
        metric = faiss.METRIC_INNER_PRODUCT
        if self.kind == "faiss-flat":
            index = faiss.IndexFlatIP(dim)
        elif self.kind == "hnsw":
            index = faiss.IndexHNSWFlat(
                dim, self.build_params["hnsw_m"], metric
            )
            index.hnsw.efConstruction = self.build_params["ef_construction"]
        else:
            nlist = self.build_params["nlist"]
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, metric)
            index.cp.niter = IVF_KMEANS_ITERATIONS
            rng = np.random.default_rng(0)
            sample = rng.choice(
                num_items, size=self.build_params["train_size"], replace=False
            )
            index.train(self._rows(torch.from_numpy(np.sort(sample))))
            # The IVF index does not own its quantizer: keep it alive.
            self._quantizer = quantizer
        for start in range(0, num_items, add_chunk_size):
            index.add(self._rows(slice(start, start + add_chunk_size)))
        return index

    def _read_cache(self, description):
        """The cached index if it matches ``description``, else None."""
        faiss = _import_faiss()
        path = self.cache_path
        sidecar = path[: -len(".faiss")] + ".json"
        if not os.path.exists(path) and not os.path.exists(sidecar):
            logger.info("No cached faiss index %s: building it", path)
            return None
        try:
            with open(sidecar, encoding="utf-8") as f:
                recorded = json.load(f)
            if not isinstance(recorded, dict):
                raise ValueError(f"{sidecar} does not hold a JSON object")
            changed = [
                key
                for key, value in description.items()
                if recorded.get(key) != value
            ]
            if changed:
                raise ValueError(
                    "built from other inputs: "
                    + ", ".join(
                        f"{key} {recorded.get(key)!r} != {description[key]!r}"
                        for key in changed
                    )
                )
            digest = hashlib.sha256()
            with open(path, "rb") as f:

                def read(size):
                    """Reads a cached faiss index."""
                    block = f.read(size)
                    digest.update(block)
                    return block

                index = faiss.read_index(faiss.PyCallbackIOReader(read))
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            if digest.hexdigest() != recorded.get("index_sha256"):
                raise ValueError(
                    f"its sha256 {digest.hexdigest()} does not match "
                    f"{recorded.get('index_sha256')} in {sidecar} (truncated "
                    "or modified)"
                )
            self._check_cached_index(index)
        except (OSError, ValueError, RuntimeError) as e:
            # RuntimeError: faiss cannot parse the file.
            logger.warning(
                "Not using the cached faiss index %s (%s); rebuilding it",
                path,
                e,
            )
            return None
        return index

    def _check_cached_index(self, index):
        """Raises ValueError unless ``index`` has this backend's shape."""
        faiss = _import_faiss()
        expected = {
            "ivf": faiss.IndexIVFFlat,
            "hnsw": faiss.IndexHNSWFlat,
        }[self.kind]
        num_items, dim = self.embeddings.shape
        problems = []
        if not isinstance(index, expected):
            name = type(index).__name__
            problems.append(f"a {name}, not {expected.__name__}")
        elif self.kind == "ivf" and index.nlist != self.build_params["nlist"]:
            problems.append(f"{index.nlist} lists")
        if index.ntotal != num_items or index.d != dim:
            problems.append(f"{index.ntotal} rows of dim {index.d}")
        if index.metric_type != faiss.METRIC_INNER_PRODUCT:
            problems.append("not an inner-product index")
        if problems:
            raise ValueError("the file holds " + ", ".join(problems))

    def _write_cache(self, description):
        """Writes the index then its sidecar (atomically, sidecar last)."""
        from speechbrain_style.dataio.files import atomic_write, write_json

        faiss = _import_faiss()
        path = self.cache_path
        sidecar = path[: -len(".faiss")] + ".json"
        digest = hashlib.sha256()

        def write_index(f):
            """Writes the faiss index to ``path``."""

            def write(block):
                """Writes the serialised index to the open file."""
                digest.update(block)
                f.write(block)
                return len(block)

            faiss.write_index(self.index, faiss.PyCallbackIOWriter(write))

        begin = time.perf_counter()
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            if os.path.exists(sidecar):
                os.remove(sidecar)
            atomic_write(path, write_index, binary=True)
            record = dict(description, index_sha256=digest.hexdigest())
            write_json(sidecar, record)
        except OSError as e:
            logger.warning(
                "Cannot cache the faiss index in %s (%s): it will be built "
                "again next time",
                path,
                e,
            )
            return
        logger.info(
            "Cached the faiss %s index in %s (%.1f s)",
            self.kind,
            path,
            time.perf_counter() - begin,
        )

    def _rows(self, which):
        """Rows as a contiguous float32 numpy array."""
        rows = self.embeddings[which]
        return np.ascontiguousarray(rows.float().numpy(), dtype=np.float32)

    def _search_params(self, selector):
        faiss = _import_faiss()
        if self.kind == "ivf":
            return faiss.SearchParametersIVF(
                sel=selector, nprobe=self.index.nprobe
            )
        if self.kind == "hnsw":
            return faiss.SearchParametersHNSW(
                sel=selector, efSearch=self.index.hnsw.efSearch
            )
        return faiss.SearchParameters(sel=selector)

    def search(self, queries, k, mask=None):
        """Returns the top-k rows for each query (see the module docstring).

        Arguments
        ---------
        queries : torch.Tensor
            L2-normalised queries (Q, D).
        k : int
            Results per query.
        mask : torch.Tensor, optional
            Boolean (N,) tensor of eligible rows.

        Returns
        -------
        scores : torch.Tensor
            (Q, k') scores in decreasing order.
        indices : torch.Tensor
            (Q, k') row indices.
        """
        faiss = _import_faiss()
        queries = _check_queries(queries, self.embeddings.shape[1])
        num_items = self.embeddings.shape[0]
        params, keep_alive = None, None
        num_eligible = num_items
        if mask is not None:
            mask = _check_mask(mask, num_items)
            num_eligible = int(mask.sum())
            if num_eligible <= self.exact_subset_max:
                return self._exact.search(queries, k, mask)
            if num_eligible < num_items:
                keep_alive = np.packbits(mask.numpy(), bitorder="little")
                selector = faiss.IDSelectorBitmap(
                    num_items, faiss.swig_ptr(keep_alive)
                )
                params = self._search_params(selector)
        k = min(int(k), num_eligible)
        if queries.shape[0] == 0 or k == 0:
            return (
                torch.empty((queries.shape[0], k)),
                torch.empty((queries.shape[0], k), dtype=torch.long),
            )
        query_array = np.ascontiguousarray(queries.numpy(), dtype=np.float32)
        scores, labels = self.index.search(query_array, k, params=params)
        del keep_alive
        scores = torch.from_numpy(scores)
        indices = torch.from_numpy(labels).long()
        incomplete = (indices < 0).any(dim=1)
        if incomplete.any():
            # Too few eligible rows in the visited lists/graph: answer those
            # queries exactly so that they still get k' results.
            rows = incomplete.nonzero().squeeze(1)
            exact_scores, exact_indices = self._exact.search(
                queries[rows], k, mask
            )
            scores[rows] = exact_scores
            indices[rows] = exact_indices
        return scores, indices


def make_backend(embeddings, backend="exact", **options):
    """Builds a search backend by name.

    Arguments
    ---------
    embeddings : torch.Tensor
        Item embeddings (N, D).
    backend : str
        ``"exact"``, ``"faiss-flat"``, ``"ivf"`` or ``"hnsw"``.
    **options : dict
        Keyword arguments of :class:`ExactSearch` or :class:`FaissSearch`
        (``nlist``, ``nprobe``, ``hnsw_m``, ``ef_search``, ``cache_dir``,
        ...); options set to None are ignored.

    Returns
    -------
    ExactSearch or FaissSearch
        The backend.

    Example
    -------
    >>> emb = torch.eye(3)
    >>> make_backend(emb, "exact").search(torch.eye(3)[:1], 1)[1].tolist()
    [[0]]
    >>> make_backend(emb, "annoy")
    Traceback (most recent call last):
    ...
    ValueError: backend must be one of ('exact', 'faiss-flat', 'ivf', 'hnsw'), got 'annoy'
    """  # noqa: E501
    options = {
        key: value for key, value in options.items() if value is not None
    }
    if backend == "exact":
        return ExactSearch(embeddings, **options)
    if backend in FAISS_KINDS:
        return FaissSearch(embeddings, kind=backend, **options)
    raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")

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

:func:`make_backend` builds a backend from its name (``"exact"``,
``"faiss-flat"``, ``"ivf"``, ``"hnsw"``).

Authors
 * speechbrain-style contributors 2026
"""

import math
import time

import numpy as np
import torch
from speechbrain.utils.logger import get_logger

logger = get_logger(__name__)

BACKENDS = ("exact", "faiss-flat", "ivf", "hnsw")
FAISS_KINDS = ("faiss-flat", "ivf", "hnsw")
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

    Example
    -------
    >>> emb = torch.nn.functional.normalize(torch.randn(50, 8), dim=1)
    >>> backend = FaissSearch(emb, "faiss-flat")
    >>> backend.search(emb[:2], k=1)[1].tolist()
    [[0], [1]]
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
        self.params = {}
        begin = time.perf_counter()
        metric = faiss.METRIC_INNER_PRODUCT
        if kind == "faiss-flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, int(hnsw_m), metric)
            index.hnsw.efConstruction = int(ef_construction)
            index.hnsw.efSearch = int(ef_search)
            self.params = {"hnsw_m": int(hnsw_m), "ef_search": int(ef_search)}
        else:
            max_nlist = max(1, num_items // 39)
            if nlist is None:
                nlist = min(max_nlist, max(1, round(math.sqrt(num_items))))
            nlist = int(nlist)
            if not 1 <= nlist <= num_items:
                raise ValueError(
                    f"nlist must be in [1, {num_items}] (the number of "
                    f"items), got {nlist}"
                )
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, metric)
            index.cp.niter = 10
            train_size = min(num_items, int(train_size or 40 * nlist))
            rng = np.random.default_rng(0)
            sample = np.sort(
                rng.choice(num_items, size=train_size, replace=False)
            )
            index.train(self._rows(torch.from_numpy(sample)))
            index.nprobe = min(int(nprobe), nlist)
            self._quantizer = quantizer
            self.params = {"nlist": nlist, "nprobe": index.nprobe}
        for start in range(0, num_items, add_chunk_size):
            index.add(self._rows(slice(start, start + add_chunk_size)))
        self.index = index
        self.build_seconds = time.perf_counter() - begin
        logger.info(
            "Built faiss %s index over %d rows in %.1f s (%s)",
            kind,
            num_items,
            self.build_seconds,
            self.params,
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
        (``nlist``, ``nprobe``, ``hnsw_m``, ``ef_search``, ...); options set
        to None are ignored.

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

"""Ordinal-consistency and modality-gap metrics (EmotionRankCLAP).

EmotionRankCLAP (https://arxiv.org/abs/2505.23732) evaluates a speech-text
embedding space with

* ordinal consistency: Kendall's tau between the similarity of speech items
  to a text query and the items' valence (VOC) or arousal (AOC) values
  (:func:`ordinal_consistency`, :func:`ordinal_consistency_over_queries`);
* the modality gap: the distance between the distributions of the speech
  and the text embeddings, as a maximum mean discrepancy (:func:`mmd_rbf`)
  and a Wasserstein distance (:func:`wasserstein_distance_embeddings`).

Inputs may be numpy arrays, torch tensors or lists; computations are in
float64 numpy.

Authors
 * speechbrain-style contributors 2025
"""

import numpy as np
from speechbrain.utils.logger import get_logger

from speechbrain_style.evaluation.plots import new_figure, save_figure

logger = get_logger(__name__)

SIMILARITIES = ("cosine", "dot")


def _as_array(x, name, ndim):
    """Converts ``x`` (array, tensor, list) to float64 numpy with ``ndim``."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    try:
        array = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be numeric, got {type(x)}") from error
    if array.ndim != ndim:
        raise ValueError(
            f"{name} must have {ndim} dimension(s), got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite (no NaN / inf)")
    return array


def kendall_tau(x, y):
    """Kendall's tau-b rank correlation, with ties.

    ``tau_b = (C - D) / sqrt((n0 - n1) (n0 - n2))`` where C / D count the
    concordant / discordant pairs, ``n0 = n (n - 1) / 2`` and n1 / n2 the
    pairs tied in x / y: ``scipy.stats.kendalltau`` (variant "b"), in
    O(n log n) time and O(n) memory, after checking the inputs.

    Arguments
    ---------
    x : array-like
        Shape (n,).
    y : array-like
        Shape (n,).

    Returns
    -------
    float
        tau-b in [-1, 1]; NaN when x or y is constant.

    Example
    -------
    >>> round(kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]), 6)  # C = 5, D = 1
    0.666667
    >>> round(kendall_tau([1, 2, 3], [3, 2, 1]), 6)
    -1.0
    """
    from scipy.stats import kendalltau

    x = _as_array(x, "x", 1)
    y = _as_array(y, "y", 1)
    if x.shape != y.shape:
        raise ValueError(
            f"x and y must have the same length, got {len(x)} and {len(y)}"
        )
    if len(x) < 2:
        raise ValueError(f"kendall_tau needs at least 2 items, got {len(x)}")
    return float(kendalltau(x, y, variant="b").statistic)


def _similarities(queries, items, similarity):
    """(Q, N) similarity of every query to every item."""
    if similarity not in SIMILARITIES:
        raise ValueError(
            f"similarity must be one of {SIMILARITIES}, got {similarity!r}"
        )
    if queries.shape[1] != items.shape[1]:
        raise ValueError(
            "Query and speech embeddings must have the same dimension, got "
            f"{queries.shape[1]} and {items.shape[1]}"
        )
    if similarity == "cosine":
        queries = queries / np.maximum(
            np.linalg.norm(queries, axis=1, keepdims=True), 1e-12
        )
        items = items / np.maximum(
            np.linalg.norm(items, axis=1, keepdims=True), 1e-12
        )
    return queries @ items.T


def ordinal_consistency(
    text_query_emb, speech_emb, values, similarity="cosine"
):
    """Kendall's tau between similarity to one text query and item values.

    With valence values this is the paper's VOC, with arousal values its
    AOC. Sign convention: tau > 0 means items more similar to the query
    have higher values, so a query describing HIGH arousal should give a
    positive tau with arousal values in a good embedding space, and a query
    describing LOW arousal a negative one (use
    :func:`ordinal_consistency_over_queries` to score queries of any level
    with one sign).

    Arguments
    ---------
    text_query_emb : array-like
        Shape (D,), the embedding of the text query.
    speech_emb : array-like
        Shape (N, D).
    values : array-like
        Shape (N,), e.g. arousal of each speech item.
    similarity : str
        ``"cosine"`` (default) or ``"dot"``.

    Returns
    -------
    float
        Kendall's tau-b.

    Example
    -------
    >>> query = [1.0, 0.0]
    >>> speech = [[0.0, 1.0], [1.0, 1.0], [1.0, 0.0]]
    >>> round(ordinal_consistency(query, speech, [1.0, 2.0, 3.0]), 6)
    1.0
    """
    query = _as_array(text_query_emb, "text_query_emb", 1)
    speech = _as_array(speech_emb, "speech_emb", 2)
    values = _as_array(values, "values", 1)
    if len(values) != len(speech):
        raise ValueError(
            f"values must have one entry per speech item ({len(speech)}), "
            f"got {len(values)}"
        )
    scores = _similarities(query[None, :], speech, similarity)[0]
    return kendall_tau(scores, values)


def ordinal_consistency_over_queries(
    query_embs,
    query_values,
    speech_emb,
    values,
    similarity="cosine",
    reduction="mean",
):
    """Ordinal consistency of text queries that describe different levels.

    For query q with level ``query_values[q]`` (e.g. the arousal its
    description was generated from), the score is Kendall's tau-b between
    the items' similarity to the query and ``-|values - query_values[q]|``:
    tau > 0 means items whose value is closer to the level the query
    describes are more similar to it, whatever that level. Queries whose
    target is constant (all items at the same distance) give NaN and are
    skipped by the mean (a warning is logged).

    Arguments
    ---------
    query_embs : array-like
        Shape (Q, D).
    query_values : array-like
        Shape (Q,), the level each query describes.
    speech_emb : array-like
        Shape (N, D).
    values : array-like
        Shape (N,), the items' values on the same scale.
    similarity : str
        ``"cosine"`` (default) or ``"dot"``.
    reduction : str
        ``"mean"`` (a float, NaN-skipping mean over queries) or ``"none"``
        (numpy array of shape (Q,)).

    Returns
    -------
    float or numpy.ndarray
        See ``reduction``.

    Example
    -------
    >>> queries = [[1.0, 0.0], [0.0, 1.0]]  # describe low / high levels
    >>> speech = [[1.0, 0.1], [1.0, 1.0], [0.1, 1.0]]
    >>> ordinal_consistency_over_queries(
    ...     queries, [0.0, 2.0], speech, [0.0, 1.0, 2.0], reduction="none"
    ... ).round(6).tolist()
    [1.0, 1.0]
    """
    queries = _as_array(query_embs, "query_embs", 2)
    query_values = _as_array(query_values, "query_values", 1)
    speech = _as_array(speech_emb, "speech_emb", 2)
    values = _as_array(values, "values", 1)
    if len(query_values) != len(queries):
        raise ValueError(
            f"query_values must have one entry per query ({len(queries)}), "
            f"got {len(query_values)}"
        )
    if len(values) != len(speech):
        raise ValueError(
            f"values must have one entry per speech item ({len(speech)}), "
            f"got {len(values)}"
        )
    if reduction not in ("mean", "none"):
        raise ValueError(
            f"reduction must be 'mean' or 'none', got {reduction!r}"
        )
    scores = _similarities(queries, speech, similarity)
    taus = np.array(
        [
            kendall_tau(scores[q], -np.abs(values - query_values[q]))
            for q in range(len(queries))
        ]
    )
    if reduction == "none":
        return taus
    valid = ~np.isnan(taus)
    if not valid.all():
        logger.warning(
            "%d of %d queries have a constant target and are skipped",
            int((~valid).sum()),
            len(taus),
        )
    if not valid.any():
        return float("nan")
    return float(taus[valid].mean())


# Rows of the first set handled at once by the blockwise distance helpers:
# a (BLOCK_ROWS, M) float64 block is 16 MB at M = 8,000.
BLOCK_ROWS = 256


def _squared_distance_blocks(a, b, block_rows=BLOCK_ROWS):
    """Yields ``(start, block)``: squared Euclidean distances of rows
    ``a[start:start + len(block)]`` to every row of ``b``.

    ``|a|^2 + |b|^2 - 2 a.b`` with a matrix product per block (float64,
    clipped at 0): memory O(block_rows * M), never an (N, M, D) array.
    """
    b_norms = np.einsum("ij,ij->i", b, b)
    for start in range(0, len(a), block_rows):
        rows = a[start : start + block_rows]
        block = rows @ b.T
        block *= -2.0
        block += np.einsum("ij,ij->i", rows, rows)[:, None]
        block += b_norms[None, :]
        np.maximum(block, 0.0, out=block)
        yield start, block


def pairwise_distances(a, b):
    """(N, M) Euclidean distances between the rows of ``a`` and ``b``.

    Computed in blocks of rows (see ``BLOCK_ROWS``); the result is the only
    (N, M) array allocated.

    Arguments
    ---------
    a : array-like
        Shape (N, D).
    b : array-like
        Shape (M, D).

    Returns
    -------
    numpy.ndarray
        Float64 (N, M).

    Example
    -------
    >>> pairwise_distances([[0.0, 0.0], [1.0, 0.0]], [[3.0, 4.0]]).tolist()
    [[5.0], [4.47213595499958]]
    """
    a = _as_array(a, "a", 2)
    b = _as_array(b, "b", 2)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"a and b must have the same dimension, got {a.shape[1]} and "
            f"{b.shape[1]}"
        )
    out = np.empty((len(a), len(b)))
    for start, block in _squared_distance_blocks(a, b):
        np.sqrt(block, out=out[start : start + len(block)])
    return out


def _mean_kernel(a, b, gamma):
    """Mean of ``exp(-gamma |a_i - b_j|^2)`` over all (i, j), in blocks."""
    total = 0.0
    for _, block in _squared_distance_blocks(a, b):
        block *= -gamma
        total += float(np.exp(block, out=block).sum())
    return total / (len(a) * len(b))


def median_heuristic_bandwidth(x, y):
    """Median of the pairwise Euclidean distances of the pooled sets.

    Distances between distinct points of ``concat(x, y)`` (each unordered
    pair once, zero distances included), computed in blocks of rows: memory
    is the (N + M)(N + M - 1) / 2 distances themselves (64 MB at
    N = M = 2,000), whatever the dimension.

    Arguments
    ---------
    x : array-like
        Shape (N, D).
    y : array-like
        Shape (M, D).

    Returns
    -------
    float

    Example
    -------
    >>> median_heuristic_bandwidth([[0.0], [1.0]], [[3.0]])  # 1, 2, 3
    2.0
    """
    pooled = np.concatenate(
        [_as_array(x, "x", 2), _as_array(y, "y", 2)], axis=0
    )
    n = len(pooled)
    if n < 2:
        raise ValueError("the median heuristic needs at least 2 points")
    # the n (n - 1) / 2 distances i < j, filled block by block
    distances = np.empty(n * (n - 1) // 2)
    filled = 0
    for start, block in _squared_distance_blocks(pooled, pooled):
        for offset, row in enumerate(block):
            upper = row[start + offset + 1 :]
            distances[filled : filled + len(upper)] = upper
            filled += len(upper)
    np.sqrt(distances, out=distances)
    return float(np.median(distances, overwrite_input=True))


def mmd_rbf(x, y, bandwidth=None):
    """Squared maximum mean discrepancy with a Gaussian (RBF) kernel.

    Biased (V-statistic) estimator
    ``MMD^2 = mean k(x, x') + mean k(y, y') - 2 mean k(x, y)`` with the
    means over all pairs, self-pairs included, and
    ``k(a, b) = exp(-|a - b|^2 / (2 bandwidth^2))``. It is >= 0 and exactly
    0 for identical sets. The bandwidth defaults to the median heuristic
    (:func:`median_heuristic_bandwidth`). The kernel sums are taken in
    blocks of rows, so memory is O((N + M)^2) for the bandwidth and
    O(BLOCK_ROWS * (N + M)) for the kernel means, whatever the dimension.

    Arguments
    ---------
    x : array-like
        Shape (N, D), e.g. speech embeddings.
    y : array-like
        Shape (M, D), e.g. text embeddings.
    bandwidth : float, optional
        Kernel width sigma; None for the median heuristic.

    Returns
    -------
    float
        The squared MMD.

    Example
    -------
    >>> import math
    >>> value = mmd_rbf([[0.0]], [[1.0]])  # bandwidth 1 (one distance: 1)
    >>> abs(value - (2 - 2 * math.exp(-0.5))) < 1e-12
    True
    """
    x = _as_array(x, "x", 2)
    y = _as_array(y, "y", 2)
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"x and y must have the same dimension, got {x.shape[1]} and "
            f"{y.shape[1]}"
        )
    if len(x) == 0 or len(y) == 0:
        raise ValueError("x and y must both be non-empty")
    if bandwidth is None:
        bandwidth = median_heuristic_bandwidth(x, y)
        if bandwidth == 0:
            logger.warning("Median pairwise distance is 0: bandwidth set to 1")
            bandwidth = 1.0
    elif not bandwidth > 0:
        raise ValueError(f"bandwidth must be positive, got {bandwidth!r}")
    gamma = 1.0 / (2.0 * bandwidth**2)
    k_xx = _mean_kernel(x, x, gamma)
    k_yy = _mean_kernel(y, y, gamma)
    k_xy = _mean_kernel(x, y, gamma)
    return float(max(k_xx + k_yy - 2.0 * k_xy, 0.0))


def wasserstein_distance_embeddings(
    x, y, method="exact", num_projections=256, seed=0
):
    """1-Wasserstein distance between two embedding sets (uniform weights).

    * ``method="exact"``: the exact W1 with Euclidean ground cost between
      the empirical distributions. Needs ``len(x) == len(y)``: the optimal
      plan is then a permutation (Birkhoff), found with
      ``scipy.optimize.linear_sum_assignment``; W1 is the mean matched
      distance. The (N, N) cost matrix is the only large array (32 MB at
      N = 2,000); the assignment is O(N^3) time.
    * ``method="sliced"``: the sliced W1, the mean over ``num_projections``
      random unit directions (seeded) of the exact 1-D W1 of the projected
      sets (``scipy.stats.wasserstein_distance``); any sizes. It is
      smaller than the exact W1 (in D dimensions, a point-mass shift of
      length r gives r * E|u_1|, 2 r / pi for D = 2), so only compare
      values computed with the same method.

    In 1-D both methods give the exact W1.

    Arguments
    ---------
    x : array-like
        Shape (N, D).
    y : array-like
        Shape (M, D).
    method : str
        ``"exact"`` or ``"sliced"``.
    num_projections : int
        Directions of the sliced distance.
    seed : int
        Seed of the sliced directions.

    Returns
    -------
    float

    Example
    -------
    >>> wasserstein_distance_embeddings([[0.0, 0.0], [1.0, 0.0]],
    ...                                 [[1.0, 3.0], [0.0, 4.0]])
    3.5
    """
    x = _as_array(x, "x", 2)
    y = _as_array(y, "y", 2)
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"x and y must have the same dimension, got {x.shape[1]} and "
            f"{y.shape[1]}"
        )
    if len(x) == 0 or len(y) == 0:
        raise ValueError("x and y must both be non-empty")
    if method == "exact":
        if len(x) != len(y):
            raise ValueError(
                "method='exact' needs sets of equal size, got "
                f"{len(x)} and {len(y)}; use method='sliced'"
            )
        from scipy.optimize import linear_sum_assignment

        cost = pairwise_distances(x, y)
        rows, cols = linear_sum_assignment(cost)
        return float(cost[rows, cols].mean())
    if method == "sliced":
        from scipy.stats import wasserstein_distance

        if not isinstance(num_projections, int) or num_projections < 1:
            raise ValueError(
                "num_projections must be a positive int, got "
                f"{num_projections!r}"
            )
        rng = np.random.default_rng(seed)
        directions = rng.standard_normal((num_projections, x.shape[1]))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        x_proj = x @ directions.T
        y_proj = y @ directions.T
        return float(
            np.mean(
                [
                    wasserstein_distance(x_proj[:, p], y_proj[:, p])
                    for p in range(num_projections)
                ]
            )
        )
    raise ValueError(f"method must be 'exact' or 'sliced', got {method!r}")


def plot_similarity_vs_values(
    similarities,
    values,
    path,
    xlabel,
    ylabel="similarity to query",
    kind="auto",
    title=None,
):
    """Saves a PNG of item similarity to a query against the items' values.

    Arguments
    ---------
    similarities : array-like
        Shape (N,), similarity of each item to the query.
    values : array-like
        Shape (N,), e.g. arousal of each item (x axis).
    path : str
        Where to write the PNG.
    xlabel : str
        Label of the x axis, e.g. ``"arousal"``.
    ylabel : str
        Label of the y axis.
    kind : str
        ``"scatter"``, ``"box"`` (one box per distinct value) or ``"auto"``
        (box when there are at most 12 distinct values, else scatter).
    title : str, optional
        Plot title; defaults to Kendall's tau of the two.

    Returns
    -------
    str
        ``path`` (written atomically: a unique temporary file replaced into
        place).
    """
    similarities = _as_array(similarities, "similarities", 1)
    values = _as_array(values, "values", 1)
    if len(similarities) != len(values):
        raise ValueError(
            "similarities and values must have the same length, got "
            f"{len(similarities)} and {len(values)}"
        )
    if kind not in ("auto", "scatter", "box"):
        raise ValueError(
            f"kind must be 'auto', 'scatter' or 'box', got {kind!r}"
        )
    levels = np.unique(values)
    if kind == "auto":
        kind = "box" if len(levels) <= 12 else "scatter"
    if title is None and len(values) >= 2:
        title = f"Kendall tau = {kendall_tau(similarities, values):.3f}"

    fig, axes = new_figure(figsize=(5, 3.6))
    if fig is None:  # pragma: no cover
        return None
    ax = axes[0, 0]
    if kind == "box":
        groups = [similarities[values == level] for level in levels]
        ax.boxplot(groups, positions=list(range(len(levels))))
        ax.set_xticks(range(len(levels)))
        ax.set_xticklabels([f"{level:g}" for level in levels])
    else:
        ax.scatter(values, similarities, s=8, alpha=0.6)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)

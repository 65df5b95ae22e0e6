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


def kendall_tau(x, y, block_size=1024):
    """Kendall's tau-b rank correlation, with ties.

    ``tau_b = (C - D) / sqrt((n0 - n1) (n0 - n2))`` where C / D count the
    concordant / discordant pairs, ``n0 = n (n - 1) / 2`` and n1 / n2 the
    pairs tied in x / y (the same value as ``scipy.stats.kendalltau``).
    Exact O(n^2) pair counting, in blocks of rows to bound memory.

    Arguments
    ---------
    x : array-like
        Shape (n,).
    y : array-like
        Shape (n,).
    block_size : int
        Rows compared at once.

    Returns
    -------
    float
        tau-b in [-1, 1]; NaN when x or y is constant (as scipy).

    Example
    -------
    >>> kendall_tau([1, 2, 3, 4], [1, 3, 2, 4])  # C = 5, D = 1
    0.6666666666666666
    >>> kendall_tau([1, 2, 3], [3, 2, 1])
    -1.0
    """
    x = _as_array(x, "x", 1)
    y = _as_array(y, "y", 1)
    if x.shape != y.shape:
        raise ValueError(
            f"x and y must have the same length, got {len(x)} and {len(y)}"
        )
    if len(x) < 2:
        raise ValueError(f"kendall_tau needs at least 2 items, got {len(x)}")
    score = untied_x = untied_y = 0.0
    for start in range(0, len(x), block_size):
        sign_x = np.sign(x[start : start + block_size, None] - x[None, :])
        sign_y = np.sign(y[start : start + block_size, None] - y[None, :])
        score += float((sign_x * sign_y).sum())
        untied_x += float(np.abs(sign_x).sum())
        untied_y += float(np.abs(sign_y).sum())
    # every unordered pair was counted twice (i, j) and (j, i): ratios agree
    if untied_x == 0 or untied_y == 0:
        return float("nan")
    return float(score / np.sqrt(untied_x * untied_y))


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
    >>> ordinal_consistency(query, speech, [1.0, 2.0, 3.0])
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
    ... ).tolist()
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


def _squared_distances(a, b):
    """(N, M) squared Euclidean distances, computed from differences."""
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)


def median_heuristic_bandwidth(x, y):
    """Median of the pairwise Euclidean distances of the pooled sets.

    Distances between distinct points of ``concat(x, y)`` (each unordered
    pair once, zero distances included).

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
    rows, cols = np.triu_indices(len(pooled), k=1)
    distances = np.sqrt(_squared_distances(pooled, pooled)[rows, cols])
    return float(np.median(distances))


def mmd_rbf(x, y, bandwidth=None):
    """Squared maximum mean discrepancy with a Gaussian (RBF) kernel.

    Biased (V-statistic) estimator
    ``MMD^2 = mean k(x, x') + mean k(y, y') - 2 mean k(x, y)`` with the
    means over all pairs, self-pairs included, and
    ``k(a, b) = exp(-|a - b|^2 / (2 bandwidth^2))``. It is >= 0 and exactly
    0 for identical sets. The bandwidth defaults to the median heuristic
    (:func:`median_heuristic_bandwidth`). Memory is O((N + M)^2 D): meant
    for evaluation sets of a few thousand items.

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
    k_xx = np.exp(-gamma * _squared_distances(x, x)).mean()
    k_yy = np.exp(-gamma * _squared_distances(y, y)).mean()
    k_xy = np.exp(-gamma * _squared_distances(x, y)).mean()
    return float(max(k_xx + k_yy - 2.0 * k_xy, 0.0))


def wasserstein_1d(u, v):
    """Exact 1-Wasserstein distance between two 1-D empirical distributions.

    Uniform weights; ``W1 = integral |F_u(t) - F_v(t)| dt`` over the merged
    support.

    Arguments
    ---------
    u : array-like
        Shape (N,).
    v : array-like
        Shape (M,).

    Returns
    -------
    float

    Example
    -------
    >>> wasserstein_1d([0.0, 1.0], [2.0])  # (2 + 1) / 2
    1.5
    """
    u = np.sort(_as_array(u, "u", 1))
    v = np.sort(_as_array(v, "v", 1))
    support = np.sort(np.concatenate([u, v]))
    widths = np.diff(support)
    cdf_u = np.searchsorted(u, support[:-1], side="right") / len(u)
    cdf_v = np.searchsorted(v, support[:-1], side="right") / len(v)
    return float((np.abs(cdf_u - cdf_v) * widths).sum())


def wasserstein_distance_embeddings(
    x, y, method="exact", num_projections=256, seed=0
):
    """1-Wasserstein distance between two embedding sets (uniform weights).

    * ``method="exact"``: the exact W1 with Euclidean ground cost between
      the empirical distributions. Needs ``len(x) == len(y)``: the optimal
      plan is then a permutation (Birkhoff), found with
      ``scipy.optimize.linear_sum_assignment``; W1 is the mean matched
      distance. O(N^3): fine for a few thousand items.
    * ``method="sliced"``: the sliced W1, the mean over ``num_projections``
      random unit directions (seeded) of the exact 1-D W1 of the projected
      sets; any sizes. It is smaller than the exact W1 (in D dimensions,
      a point-mass shift of length r gives r * E|u_1|, 2 r / pi for D = 2),
      so only compare values computed with the same method.

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

        cost = np.sqrt(_squared_distances(x, y))
        rows, cols = linear_sum_assignment(cost)
        return float(cost[rows, cols].mean())
    if method == "sliced":
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
                    wasserstein_1d(x_proj[:, p], y_proj[:, p])
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
        ``path``.
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

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.6))
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
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

"""Cross-modal query fusion at inference (speaker-text retrieval).

Liu et al., "Speaker-text retrieval via contrastive learning" (Sec. II.A):
a query embedding of one modality is cast into the search space of the
other modality, its top-N nearest neighbours (cosine similarity) there are
averaged with distance-based weights, and that average, L2-normalised, is
used as the query. For a text query the reference set is the speech
embeddings of the gallery (index); for a speech query it is a bank of text
embeddings. The paper uses N = 10.

Weighting schemes (``weighting``), for a query q and its neighbours r_i
with cosine similarities s_i = cos(q, r_i), i = 1..N:

* ``"similarity"`` (default): w_i = max(s_i, 0) / sum_j max(s_j, 0), i.e.
  weights proportional to the similarities clipped at 0. If every
  neighbour has s_i <= 0 the weights fall back to uniform. With a
  ``temperature`` t the weights are instead softmax(s_i / t).
* ``"uniform"``: w_i = 1 / N (plain average of the neighbours).

The fused query is ``f = normalize(sum_i w_i r_i)``. Optionally it is mixed
with the original query: ``normalize((1 - alpha) f + alpha q)``; the paper
uses the pure fused query (``alpha = 0``, the default). If the weighted
sum is (numerically) the zero vector, the original query is used.

Authors
 * speechbrain-style contributors 2026
"""

import numbers

import torch
from speechbrain.utils.logger import get_logger

logger = get_logger(__name__)

WEIGHTINGS = ("similarity", "uniform")
ZERO_NORM = 1e-12


def _as_matrix(x, name):
    """Returns ``x`` as a float32 CPU tensor (R, D), checking it."""
    try:
        x = torch.as_tensor(x, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be a tensor or array, got {x!r}") from err
    x = x.detach().cpu()
    if x.dim() != 2:
        raise ValueError(f"{name} must be 2-D (R, D), got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return x


def _normalize(x, name):
    norms = x.norm(dim=1, keepdim=True)
    if (norms <= ZERO_NORM).any():
        raise ValueError(f"{name} contains an all-zero row")
    return x / norms


def _check_weighting(weighting, temperature):
    if weighting not in WEIGHTINGS:
        raise ValueError(
            f"weighting must be one of {WEIGHTINGS}, got {weighting!r}"
        )
    if temperature is not None:
        if weighting != "similarity":
            raise ValueError(
                "temperature only applies to weighting='similarity'"
            )
        if not isinstance(temperature, numbers.Real) or temperature <= 0:
            raise ValueError(
                f"temperature must be a positive number, got {temperature!r}"
            )


def neighbour_weights(similarities, weighting="similarity", temperature=None):
    """Averaging weights of each query's neighbours (rows sum to 1).

    Arguments
    ---------
    similarities : torch.Tensor
        Cosine similarities (Q, N) of each query to its N neighbours.
    weighting : str
        ``"similarity"`` or ``"uniform"``, see the module docstring.
    temperature : float, optional
        With ``"similarity"``: softmax(similarities / temperature) weights.

    Returns
    -------
    torch.Tensor
        Weights (Q, N).

    Example
    -------
    >>> sims = torch.tensor([[0.6, 0.2, -0.1], [-0.3, -0.5, -0.1]])
    >>> neighbour_weights(sims)
    tensor([[0.7500, 0.2500, 0.0000],
            [0.3333, 0.3333, 0.3333]])
    >>> neighbour_weights(sims[:1], "uniform")
    tensor([[0.3333, 0.3333, 0.3333]])
    """
    _check_weighting(weighting, temperature)
    similarities = torch.as_tensor(similarities, dtype=torch.float32)
    if similarities.dim() != 2 or similarities.shape[1] == 0:
        raise ValueError(
            "similarities must be (Q, N) with N >= 1, got "
            f"{tuple(similarities.shape)}"
        )
    uniform = torch.full_like(similarities, 1.0 / similarities.shape[1])
    if weighting == "uniform":
        return uniform
    if temperature is not None:
        return torch.softmax(similarities / temperature, dim=1)
    clipped = similarities.clamp(min=0.0)
    totals = clipped.sum(dim=1, keepdim=True)
    positive = totals > 0
    return torch.where(positive, clipped / totals.clamp(min=1e-30), uniform)


def fuse_neighbours(
    queries,
    reference,
    similarities,
    indices,
    weighting="similarity",
    temperature=None,
    alpha=0.0,
):
    """Fused queries from already-found neighbours.

    This is the second half of :func:`fuse_queries`, for callers that have
    a search backend (e.g.
    :class:`speechbrain_style.retrieval.index.StyleIndex`).

    Arguments
    ---------
    queries : torch.Tensor
        L2-normalised queries (Q, D).
    reference : torch.Tensor
        L2-normalised reference embeddings (M, D) of the other modality.
    similarities : torch.Tensor
        (Q, N) cosine similarities of each query to its neighbours.
    indices : torch.Tensor
        (Q, N) row indices of the neighbours in ``reference``.
    weighting : str
        ``"similarity"`` or ``"uniform"``.
    temperature : float, optional
        Softmax temperature for ``"similarity"`` weights.
    alpha : float
        Weight of the original query in the result, in [0, 1].

    Returns
    -------
    torch.Tensor
        Fused, L2-normalised queries (Q, D).

    Example
    -------
    >>> reference = torch.eye(2)
    >>> query = torch.tensor([[0.6, 0.8]])
    >>> fuse_neighbours(
    ...     query, reference, torch.tensor([[0.8, 0.6]]), torch.tensor([[1, 0]])
    ... )
    tensor([[0.6000, 0.8000]])
    """
    if not isinstance(alpha, numbers.Real) or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    indices = torch.as_tensor(indices, dtype=torch.long)
    if indices.shape[1] == 0:
        return queries.clone()
    weights = neighbour_weights(similarities, weighting, temperature)
    fused = (weights.unsqueeze(2) * reference[indices]).sum(dim=1)
    norms = fused.norm(dim=1, keepdim=True)
    degenerate = norms.squeeze(1) <= 1e-6
    if degenerate.any():
        logger.warning(
            "%d fused queries cancel out to zero; using the original ones",
            int(degenerate.sum()),
        )
    fused = torch.where(
        degenerate.unsqueeze(1), queries, fused / norms.clamp(min=1e-6)
    )
    if alpha > 0:
        fused = (1.0 - alpha) * fused + alpha * queries
        fused = fused / fused.norm(dim=1, keepdim=True).clamp(min=1e-6)
    return fused


def fuse_queries(
    queries,
    reference,
    n=10,
    weighting="similarity",
    temperature=None,
    alpha=0.0,
):
    """Casts queries into the other modality's space by neighbour fusion.

    Each query is replaced by the weighted average of its ``n`` most
    cosine-similar rows of ``reference`` (embeddings of the other
    modality), L2-normalised; see the module docstring for the weights.

    Arguments
    ---------
    queries : torch.Tensor or array-like
        Query embeddings (Q, D) or one query (D,); normalised here.
    reference : torch.Tensor or array-like
        Reference embeddings (M, D) of the other modality; normalised here.
    n : int
        Number of neighbours (N in the paper, 10); ``min(n, M)`` are used.
    weighting : str
        ``"similarity"`` (default) or ``"uniform"``.
    temperature : float, optional
        With ``"similarity"``: softmax(similarity / temperature) weights
        instead of the clipped, normalised similarities.
    alpha : float
        Weight of the original query in the result (0 = pure fusion, as in
        the paper).

    Returns
    -------
    torch.Tensor
        Fused, L2-normalised queries (Q, D) (float32).

    Example
    -------
    >>> reference = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    >>> query = torch.tensor([[0.8, 0.6]])
    >>> fuse_queries(query, reference, n=1)
    tensor([[1., 0.]])
    >>> fuse_queries(query, reference, n=2)  # (0.8 e1 + 0.6 e2) / 1.4
    tensor([[0.8000, 0.6000]])
    """
    queries = torch.as_tensor(queries, dtype=torch.float32)
    if queries.dim() == 1:
        queries = queries.unsqueeze(0)
    queries = _normalize(_as_matrix(queries, "queries"), "queries")
    reference = _normalize(_as_matrix(reference, "reference"), "reference")
    if reference.shape[1] != queries.shape[1]:
        raise ValueError(
            f"reference has dimension {reference.shape[1]}, queries "
            f"{queries.shape[1]}"
        )
    if reference.shape[0] == 0:
        raise ValueError("reference is empty")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    _check_weighting(weighting, temperature)
    n = min(int(n), reference.shape[0])
    similarities, indices = (queries @ reference.T).topk(n, dim=1)
    return fuse_neighbours(
        queries,
        reference,
        similarities,
        indices,
        weighting=weighting,
        temperature=temperature,
        alpha=alpha,
    )

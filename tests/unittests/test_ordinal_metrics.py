"""Tests of the ordinal-consistency and modality-gap metrics."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from speechbrain_style.evaluation.ordinal import (
    kendall_tau,
    median_heuristic_bandwidth,
    mmd_rbf,
    ordinal_consistency,
    ordinal_consistency_over_queries,
    pairwise_distances,
    plot_similarity_vs_values,
    wasserstein_distance_embeddings,
)


def test_kendall_tau_hand_case_with_ties():
    # x = 1, 2, 2, 3; y = 1, 3, 2, 2
    # pairs: (0,1)+ (0,2)+ (0,3)+ (1,2) tie x (1,3)- (2,3) tie y
    # C = 3, D = 1, n0 = 6, n1 = 1, n2 = 1 -> 2 / sqrt(5 * 5)
    assert kendall_tau([1, 2, 2, 3], [1, 3, 2, 2]) == pytest.approx(0.4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kendall_tau_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    for n, levels in ((50, 4), (300, 7), (120, None)):
        x = rng.standard_normal(n)
        y = 0.5 * x + rng.standard_normal(n)
        if levels is not None:  # many ties in both
            x = np.round(x * levels / 3)
            y = np.round(y * levels / 3)
        expected = stats.kendalltau(x, y).statistic
        assert abs(kendall_tau(x, y) - expected) < 1e-12


def test_kendall_tau_constant_and_bad_inputs():
    assert math.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="same length"):
        kendall_tau([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="at least 2"):
        kendall_tau([1], [1])


def test_ordinal_consistency_sign_convention():
    # items along a line from "calm" (0, 1) to "excited" (1, 0)
    arousal = np.linspace(0, 1, 6)
    speech = np.stack([arousal, 1 - arousal], axis=1)
    high_query = np.array([1.0, 0.0])
    low_query = np.array([0.0, 1.0])
    assert ordinal_consistency(high_query, speech, arousal) == pytest.approx(1)
    assert ordinal_consistency(low_query, speech, arousal) == pytest.approx(-1)
    # torch inputs and the dot similarity agree here
    value = ordinal_consistency(
        torch.tensor(high_query), torch.tensor(speech), arousal, "dot"
    )
    assert value == pytest.approx(1.0)
    # equals scipy's tau of the similarities
    rng = np.random.default_rng(0)
    speech = rng.standard_normal((40, 5))
    values = rng.integers(1, 6, 40).astype(float)
    query = rng.standard_normal(5)
    cosine = speech @ query / np.linalg.norm(speech, axis=1)
    expected = stats.kendalltau(cosine, values).statistic
    assert ordinal_consistency(query, speech, values) == pytest.approx(expected)
    with pytest.raises(ValueError, match="values"):
        ordinal_consistency(query, speech, values[:-1])


def test_ordinal_consistency_over_queries():
    # 1-D-like space on the unit circle: angle encodes the value
    values = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    angles = values / 4 * (np.pi / 2)
    speech = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    query_values = np.array([0.0, 2.0, 4.0])
    query_angles = query_values / 4 * (np.pi / 2)
    queries = np.stack([np.cos(query_angles), np.sin(query_angles)], axis=1)
    taus = ordinal_consistency_over_queries(
        queries, query_values, speech, values, reduction="none"
    )
    # similarity is a decreasing function of |angle difference|: tau = 1
    # for the end queries; the middle one has tied targets (values 1 and 3,
    # 0 and 4 are equally far), so it is scipy's tau-b of the same scores
    assert taus[0] == pytest.approx(1.0) and taus[2] == pytest.approx(1.0)
    middle = stats.kendalltau(
        speech @ queries[1], -np.abs(values - 2.0)
    ).statistic
    assert taus[1] == pytest.approx(middle) and 0.85 < taus[1] < 1.0
    # reversed levels: the middle query is unaffected, the ends flip sign
    flipped = ordinal_consistency_over_queries(
        queries, query_values[::-1], speech, values, reduction="none"
    )
    assert flipped[1] == pytest.approx(taus[1])
    expected_end = stats.kendalltau(
        speech @ queries[0], -np.abs(values - 4.0)
    ).statistic
    assert flipped[0] == pytest.approx(expected_end)
    assert flipped[0] < 0
    mean = ordinal_consistency_over_queries(
        queries, query_values[::-1], speech, values
    )
    assert mean == pytest.approx(flipped.mean())
    with pytest.raises(ValueError, match="query_values"):
        ordinal_consistency_over_queries(queries, [0.0], speech, values)


def test_pairwise_distances_match_scipy_cdist():
    from scipy.spatial.distance import cdist

    rng = np.random.default_rng(3)
    # more rows than one block, so the blocks are stitched together
    a = rng.standard_normal((600, 7))
    b = rng.standard_normal((90, 7)) + 0.5
    assert np.allclose(pairwise_distances(a, b), cdist(a, b), atol=1e-10)
    # identical rows: exactly zero, never NaN (negative rounding clipped)
    same = pairwise_distances(a[:5] * 1e3, a[:5] * 1e3)
    assert np.isfinite(same).all() and (np.diag(same) < 1e-4).all()
    with pytest.raises(ValueError, match="dimension"):
        pairwise_distances(a, b[:, :3])


def test_median_heuristic_matches_pdist():
    from scipy.spatial.distance import pdist

    rng = np.random.default_rng(4)
    x = rng.standard_normal((300, 5))
    y = rng.standard_normal((211, 5)) * 2
    expected = np.median(pdist(np.concatenate([x, y])))
    assert median_heuristic_bandwidth(x, y) == pytest.approx(expected)


def test_median_heuristic_and_mmd_closed_form():
    # pooled 0, 1, 3: distances 1, 3, 2 -> median 2
    assert median_heuristic_bandwidth([[0.0], [1.0]], [[3.0]]) == 2.0
    # x = {0, 1}, y = {3}, sigma = 2, k(d) = exp(-d^2 / 8)
    k = lambda d: math.exp(-(d**2) / 8)  # noqa: E731
    expected = (2 * k(0) + 2 * k(1)) / 4 + k(0) - 2 * (k(3) + k(2)) / 2
    assert mmd_rbf([[0.0], [1.0]], [[3.0]]) == pytest.approx(
        expected, abs=1e-12
    )
    # explicit bandwidth
    value = mmd_rbf([[0.0, 0.0]], [[3.0, 4.0]], bandwidth=5.0)
    assert value == pytest.approx(2 - 2 * math.exp(-0.5), abs=1e-12)
    # identical sets: exactly 0 for the biased estimator
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 4))
    assert mmd_rbf(x, x.copy()) == pytest.approx(0.0, abs=1e-12)
    # separated sets score higher than two samples of one distribution
    same = mmd_rbf(x, rng.standard_normal((30, 4)))
    shifted = mmd_rbf(x, rng.standard_normal((30, 4)) + 3.0)
    assert shifted > 5 * same
    with pytest.raises(ValueError, match="bandwidth"):
        mmd_rbf(x, x, bandwidth=0.0)
    with pytest.raises(ValueError, match="dimension"):
        mmd_rbf(x, x[:, :2])


def test_wasserstein_closed_forms():
    # two point masses: W1 is the distance between them
    x = np.tile([[0.0, 0.0]], (5, 1))
    y = np.tile([[3.0, 4.0]], (5, 1))
    assert wasserstein_distance_embeddings(x, y) == pytest.approx(5.0)
    # sliced: 5 * E|cos(theta)| = 5 * 2 / pi in 2-D (unequal sizes allowed)
    sliced = wasserstein_distance_embeddings(
        x, y[:3], method="sliced", num_projections=4000
    )
    assert sliced == pytest.approx(10 / math.pi, rel=0.03)
    # shifted 1-D Gaussian sample: W1 = |mu1 - mu2| exactly for a shift
    rng = np.random.default_rng(1)
    sample = rng.standard_normal((200, 1))
    for method in ("exact", "sliced"):
        value = wasserstein_distance_embeddings(sample, sample + 1.5, method)
        assert value == pytest.approx(1.5, abs=1e-12)
    # independent 1-D Gaussian samples: close to |mu1 - mu2|, and equal
    # to scipy's 1-D W1
    a = rng.standard_normal((400, 1))
    b = rng.standard_normal((400, 1)) + 2.0
    exact = wasserstein_distance_embeddings(a, b)
    assert exact == pytest.approx(stats.wasserstein_distance(a[:, 0], b[:, 0]))
    assert abs(exact - 2.0) < 0.2
    # unequal sizes in 1-D: the sliced W1 is the exact one
    sliced = wasserstein_distance_embeddings(a[:150], b, "sliced")
    assert sliced == pytest.approx(
        stats.wasserstein_distance(a[:150, 0], b[:, 0])
    )


def test_wasserstein_exact_is_optimal_matching():
    # brute force over the 4! matchings in 3-D
    import itertools

    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3))
    y = rng.standard_normal((4, 3))
    best = min(
        np.mean([np.linalg.norm(x[i] - y[p]) for i, p in enumerate(perm)])
        for perm in itertools.permutations(range(4))
    )
    assert wasserstein_distance_embeddings(x, y) == pytest.approx(best)
    # sliced W1 is a lower bound of the exact one
    assert wasserstein_distance_embeddings(x, y, "sliced") <= best
    with pytest.raises(ValueError, match="sliced"):
        wasserstein_distance_embeddings(x, y[:3])
    with pytest.raises(ValueError, match="method"):
        wasserstein_distance_embeddings(x, y, method="pot")


@pytest.mark.parametrize("kind", ["auto", "scatter", "box"])
def test_plot_similarity_vs_values(tmp_path, kind):
    rng = np.random.default_rng(0)
    values = rng.integers(1, 6, 50).astype(float)
    similarities = values / 5 + 0.1 * rng.standard_normal(50)
    path = tmp_path / f"plot_{kind}.png"
    returned = plot_similarity_vs_values(
        similarities, values, str(path), xlabel="arousal", kind=kind
    )
    assert returned == str(path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    with pytest.raises(ValueError, match="kind"):
        plot_similarity_vs_values(
            similarities, values, str(path), "arousal", kind="violin"
        )

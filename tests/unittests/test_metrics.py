"""Unit tests for speechbrain_style.evaluation.metrics, against hand-worked
values."""

import json
import os
import random

import numpy as np
import pytest
import torch

from speechbrain_style.evaluation.metrics import (
    average_precision_at_k,
    check_trials,
    get_or_make_trials,
    load_trials,
    make_trials,
    per_class_metrics,
    rank_of_first_relevant,
    ranked_relevance,
    recall_at_k,
    retrieval_metrics,
    save_trials,
    trial_recall,
)

# Three queries against four gallery items.
SCORES = np.array(
    [
        [0.1, 0.7, 0.3, 0.9],  # order: 3, 1, 2, 0
        [0.8, 0.2, 0.4, 0.6],  # order: 0, 3, 2, 1
        [0.5, 0.9, 0.1, 0.3],  # order: 1, 0, 3, 2
    ]
)
RELEVANCE = np.array(
    [
        [False, False, True, False],  # relevant item 2 at rank 3
        [True, False, False, True],  # items 0 and 3 at ranks 1 and 2
        [False, False, True, False],  # item 2 at rank 4
    ]
)


def test_rank_of_first_relevant_hand_values():
    assert rank_of_first_relevant(SCORES, RELEVANCE).tolist() == [3, 1, 4]
    # torch tensors are accepted too
    ranks = rank_of_first_relevant(
        torch.tensor(SCORES), torch.tensor(RELEVANCE)
    )
    assert ranks.tolist() == [3, 1, 4]


def test_recall_at_k_hand_values():
    recall = recall_at_k(SCORES, RELEVANCE, ks=(1, 3, 10))
    assert recall[1].tolist() == [0.0, 1.0, 0.0]
    assert recall[3].tolist() == [1.0, 1.0, 0.0]
    assert recall[10].tolist() == [1.0, 1.0, 1.0]  # K larger than G


def test_ties_pessimistic_and_stable():
    scores = [[0.5, 0.5, 0.5, 0.2]]
    first = [[True, False, False, False]]
    last = [[False, False, True, False]]
    # pessimistic: the relevant item goes after the tied irrelevant ones
    assert rank_of_first_relevant(scores, first).tolist() == [3]
    assert rank_of_first_relevant(scores, last).tolist() == [3]
    # stable: ties broken by gallery index
    assert rank_of_first_relevant(scores, first, ties="stable").tolist() == [1]
    assert rank_of_first_relevant(scores, last, ties="stable").tolist() == [3]
    # a constant-score model gets the worst rank, whatever the order
    constant = np.zeros((1, 5))
    for relevant in range(5):
        relevance = np.eye(5, dtype=bool)[relevant : relevant + 1]
        assert rank_of_first_relevant(constant, relevance).tolist() == [5]
    # two tied relevant items after one tied irrelevant: ranks 2 and 3
    ranked = ranked_relevance([[0.5, 0.5, 0.5]], [[True, False, True]])
    assert ranked.tolist() == [[False, True, True]]
    with pytest.raises(ValueError, match="ties"):
        ranked_relevance(scores, first, ties="optimistic")


def test_average_precision_five_relevant_audio_to_text():
    # 12 captions ranked in index order (score 12 - i); the 5 relevant ones
    # are at ranks 1, 3, 6, 10 and 12 (the last is outside the top 10).
    scores = np.arange(12, 0, -1, dtype=float)[None, :]
    relevance = np.zeros((1, 12), dtype=bool)
    relevance[0, [0, 2, 5, 9, 11]] = True
    # precision at the hits in the top 10: 1/1, 2/3, 3/6, 4/10; divided by 5
    expected = (1 / 1 + 2 / 3 + 3 / 6 + 4 / 10) / 5
    ap = average_precision_at_k(scores, relevance, k=10)
    assert ap[0] == pytest.approx(expected)
    assert ap[0] == pytest.approx(0.513333, abs=1e-6)
    # K = 2: only rank 1 hits; divided by min(5, 2) = 2
    assert average_precision_at_k(scores, relevance, k=2)[0] == 0.5
    # all 5 at the top: AP = 1
    perfect = np.zeros((1, 12), dtype=bool)
    perfect[0, :5] = True
    assert average_precision_at_k(scores, perfect, k=10)[0] == 1.0


def test_average_precision_single_relevant_is_reciprocal_rank():
    scores = np.arange(15, 0, -1, dtype=float)[None, :].repeat(3, axis=0)
    relevance = np.zeros((3, 15), dtype=bool)
    relevance[0, 3] = True  # rank 4 -> 1/4
    relevance[1, 0] = True  # rank 1 -> 1
    relevance[2, 10] = True  # rank 11 -> outside the top 10 -> 0
    ap = average_precision_at_k(scores, relevance, k=10)
    assert ap.tolist() == pytest.approx([0.25, 1.0, 0.0])


def test_retrieval_metrics_hand_values():
    metrics = retrieval_metrics(
        SCORES, RELEVANCE, ks=(1, 3), map_k=3, return_per_query=True
    )
    # ranks 3, 1, 4. AP@3: query 0: (1/3) / 1; query 1: (1 + 2/2) / 2 = 1;
    # query 2: relevant item at rank 4 -> 0.
    assert metrics["R@1"] == pytest.approx(1 / 3)
    assert metrics["R@3"] == pytest.approx(2 / 3)
    assert metrics["mAP@3"] == pytest.approx((1 / 3 + 1 + 0) / 3)
    assert metrics["mean_rank"] == pytest.approx(8 / 3)
    assert metrics["median_rank"] == 3.0
    assert metrics["per_query"]["rank"].tolist() == [3, 1, 4]
    assert metrics["per_query"]["mAP@3"].tolist() == pytest.approx(
        [1 / 3, 1.0, 0.0]
    )
    without = retrieval_metrics(SCORES, RELEVANCE)
    names = {"R@1", "R@5", "R@10", "mAP@10", "mean_rank", "median_rank"}
    assert set(without) == names


def test_per_class_metrics_average_is_unweighted():
    # class "a": query 0 (rank 3); class "b": queries 1 and 2 (ranks 1, 4)
    result = per_class_metrics(
        SCORES, RELEVANCE, ["a", "b", "b"], ks=(1,), map_k=10
    )
    assert result["a"]["R@1"] == 0.0
    assert result["b"]["R@1"] == 0.5
    assert result["average"]["R@1"] == 0.25  # not 1/3 (query-weighted)
    assert result["a"]["mean_rank"] == 3.0
    assert result["b"]["mean_rank"] == 2.5
    assert result["average"]["mean_rank"] == 2.75
    # AP@10: a: 1/3; b: query 1 -> 1, query 2 -> 1/4 => 0.625
    assert result["b"]["mAP@10"] == pytest.approx(0.625)
    assert result["average"]["mAP@10"] == pytest.approx((1 / 3 + 0.625) / 2)
    with pytest.raises(ValueError, match="query_classes"):
        per_class_metrics(SCORES, RELEVANCE, ["a", "b"])


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="no relevant"):
        rank_of_first_relevant([[0.1, 0.2]], [[False, False]])
    with pytest.raises(ValueError, match="same shape"):
        recall_at_k([[0.1, 0.2]], [[True]])
    with pytest.raises(ValueError, match="NaN"):
        retrieval_metrics([[np.nan, 0.2]], [[True, False]])
    with pytest.raises(ValueError, match="ks"):
        recall_at_k([[0.1, 0.2]], [[True, False]], ks=(0,))
    with pytest.raises(ValueError, match="boolean"):
        recall_at_k([[0.1, 0.2]], [[2, 0]])


# ---------------------------------------------------------------------------
# Trials
# ---------------------------------------------------------------------------


def _toy_gallery():
    """30 items: 10 of class a, 12 of b, 8 of c."""
    ids = [f"utt{i:02d}" for i in range(30)]
    labels = ["a"] * 10 + ["b"] * 12 + ["c"] * 8
    return ids, labels


def test_make_trials_structure():
    ids, labels = _toy_gallery()
    label_of = dict(zip(ids, labels, strict=True))
    trials = make_trials(ids, labels, num_trials=50, num_distractors=15)
    assert list(trials) == ["a", "b", "c"]
    for cls, class_trials in trials.items():
        assert len(class_trials) == 50
        for trial in class_trials:
            assert len(trial) == 16
            assert label_of[trial[0]] == cls
            distractors = trial[1:]
            assert len(set(distractors)) == 15  # without replacement
            assert all(label_of[item] != cls for item in distractors)
        # positives are drawn with replacement: 50 draws from <= 12 items
        positives = [trial[0] for trial in class_trials]
        assert len(set(positives)) < len(positives)
    check_trials(trials, ids, labels)


def test_make_trials_is_deterministic_and_order_independent():
    ids, labels = _toy_gallery()
    first = make_trials(ids, labels, num_trials=20, num_distractors=10)
    again = make_trials(ids, labels, num_trials=20, num_distractors=10)
    assert first == again
    pairs = list(zip(ids, labels, strict=True))
    random.Random(0).shuffle(pairs)
    shuffled_ids, shuffled_labels = zip(*pairs, strict=True)
    shuffled = make_trials(
        list(shuffled_ids), list(shuffled_labels), 20, num_distractors=10
    )
    assert shuffled == first
    other_seed = make_trials(ids, labels, 20, num_distractors=10, seed=7)
    assert other_seed != first


def test_make_trials_too_few_distractors():
    ids, labels = _toy_gallery()
    # class b has 10 + 8 = 18 items in other classes
    with pytest.raises(
        ValueError, match=r"'b' has only 18 .*num_distractors=19"
    ):
        make_trials(ids, labels, num_trials=3, num_distractors=19)
    trials = make_trials(
        ids, labels, num_trials=3, num_distractors=21, allow_fewer=True
    )
    assert [len(t) for t in trials["b"]] == [19, 19, 19]  # 1 + all 18
    assert [len(t) for t in trials["a"]] == [21, 21, 21]  # 20 available
    with pytest.raises(ValueError, match="duplicates"):
        make_trials(["x", "x"], ["a", "b"], 1, 1)
    with pytest.raises(ValueError, match="same length"):
        make_trials(["x", "y"], ["a"], 1, 1)


@pytest.mark.parametrize("name", ["trials.json", "nested/trials.json.gz"])
def test_save_and_load_trials_round_trip(tmp_path, name):
    ids, labels = _toy_gallery()
    trials = make_trials(ids, labels, num_trials=5, num_distractors=4)
    save_trials(trials, tmp_path / name, {"seed": 42})
    loaded, metadata = load_trials(tmp_path / name)
    assert loaded == trials
    assert metadata == {"seed": 42, "num_distractors": 4}


def test_integer_labels_and_ids_survive_json(tmp_path):
    ids = np.arange(6)
    labels = np.array([0, 0, 1, 1, 2, 2])
    trials = make_trials(ids, labels, num_trials=2, num_distractors=3)
    save_trials(trials, tmp_path / "trials.json")
    loaded, _ = load_trials(tmp_path / "trials.json")
    assert loaded == trials
    assert list(loaded) == [0, 1, 2]
    assert all(isinstance(item, int) for item in loaded[1][0])


def test_get_or_make_trials_reuses_the_file(tmp_path):
    ids, labels = _toy_gallery()
    path = tmp_path / "trials.json"
    made = get_or_make_trials(path, ids, labels, 10, 5)
    assert path.exists()
    content = json.loads(path.read_text())
    assert content["metadata"]["seed"] == 42
    assert content["metadata"]["num_distractors"] == 5
    assert sorted(content["items"]) == sorted(
        {item for trials in made.values() for t in trials for item in t}
    )
    # Replace the file by hand-made trials: they must come back unchanged
    handmade = {
        "a": [["utt00"] + ids[10:15]] * 10,
        "b": [["utt10"] + ids[0:5]] * 10,
        "c": [["utt22"] + ids[0:5]] * 10,
    }
    save_trials(
        handmade,
        path,
        {"seed": 42, "num_trials": 10, "num_distractors": 5},
    )
    assert get_or_make_trials(path, ids, labels, 10, 5) == handmade
    # different settings: clear error, file kept
    with pytest.raises(ValueError, match="different settings.*seed"):
        get_or_make_trials(path, ids, labels, 10, 5, seed=1)
    # an item of the trials is gone from the current gallery
    with pytest.raises(ValueError, match="not in the current items"):
        get_or_make_trials(path, ids[1:], labels[1:], 10, 5)
    # labels changed so that a distractor now has the trial's class
    relabelled = list(labels)
    relabelled[0] = "b"
    with pytest.raises(ValueError, match="does not fit"):
        get_or_make_trials(path, ids, relabelled, 10, 5)


def test_trial_recall_hand_values():
    id_to_index = {f"u{i}": i for i in range(6)}
    class_scores = {
        "a": np.array([0.9, 0.8, 0.1, 0.95, 0.2, 0.3]),
        "b": torch.tensor([0.1, 0.5, 0.5, 0.4, 0.7, 0.6]),
    }
    trials = {
        # positive u0 (0.9): candidates 0.1, 0.95, 0.2 -> rank 2
        # positive u1 (0.8): candidates 0.1, 0.2, 0.3 -> rank 1
        "a": [["u0", "u2", "u3", "u4"], ["u1", "u2", "u4", "u5"]],
        # positive u2 (0.5) vs u0 0.1, u1 0.5 (tie, counts), u3 0.4 -> rank 2
        # positive u4 (0.7) vs 0.1, 0.5, 0.4 -> rank 1
        # positive u3 (0.4) vs u1 0.5, u4 0.7, u5 0.6 -> rank 4
        "b": [
            ["u2", "u0", "u1", "u3"],
            ["u4", "u0", "u1", "u3"],
            ["u3", "u1", "u4", "u5"],
        ],
    }
    result = trial_recall(class_scores, trials, id_to_index, ks=(1, 2, 3))
    assert result["a"] == {"R@1": 0.5, "R@2": 1.0, "R@3": 1.0}
    assert result["b"] == pytest.approx(
        {"R@1": 1 / 3, "R@2": 2 / 3, "R@3": 2 / 3}
    )
    assert result["average"] == pytest.approx(
        {
            "R@1": (0.5 + 1 / 3) / 2,
            "R@2": (1 + 2 / 3) / 2,
            "R@3": (1 + 2 / 3) / 2,
        }
    )
    with pytest.raises(ValueError, match="no scores for class 'b'"):
        trial_recall({"a": class_scores["a"]}, trials, id_to_index)
    with pytest.raises(ValueError, match="not in id_to_index"):
        trial_recall(class_scores, {"a": [["u0", "zz"]]}, id_to_index)


def test_trial_recall_of_random_scores_is_chance():
    rng = np.random.default_rng(0)
    ids = [f"utt{i}" for i in range(2000)]
    labels = [f"class{i % 5}" for i in range(2000)]
    trials = make_trials(ids, labels, num_trials=1000, num_distractors=400)
    id_to_index = {item: i for i, item in enumerate(ids)}
    class_scores = {cls: rng.random(2000) for cls in trials}
    result = trial_recall(class_scores, trials, id_to_index)["average"]
    # positive ranked uniformly among 401 candidates: R@K = K / 401
    assert abs(result["R@1"] - 1 / 401) < 0.003
    assert abs(result["R@10"] - 10 / 401) < 0.01
    assert abs(result["R@20"] - 20 / 401) < 0.015
    # a perfect scorer: every class' own items score 1, others 0
    perfect = {
        cls: np.array([float(label == cls) for label in labels])
        for cls in trials
    }
    assert trial_recall(perfect, trials, id_to_index)["average"]["R@1"] == 1.0


def test_atomic_output_keeps_the_old_file_on_error(tmp_path):
    from speechbrain_style.evaluation.metrics import atomic_output

    target = tmp_path / "trials.json.gz"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="interrupted"):
        with atomic_output(target) as temporary:
            assert temporary.endswith(".gz")  # suffix kept (gzip)
            assert os.path.dirname(temporary) == str(tmp_path)
            with open(temporary, "w") as fout:
                fout.write("partial")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["trials.json.gz"]
    # two writers get distinct temporary files
    with atomic_output(target) as first, atomic_output(target) as second:
        assert first != second
        for path in (first, second):
            with open(path, "w") as fout:
                fout.write(path)
    assert target.read_text() == first  # the last replace wins, whole
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's

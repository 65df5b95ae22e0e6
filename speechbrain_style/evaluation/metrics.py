"""Retrieval metrics and the trial protocol of expressive speech retrieval.

Conventions
-----------
* ``scores``: array (Q, G), similarity of each of Q queries to each of G
  gallery items; higher is better. numpy arrays and torch tensors are both
  accepted; results are numpy arrays / Python floats.
* ``relevance``: bool array (Q, G), True where the gallery item is a correct
  answer for the query.
* Ranks are 1-based.
* Ties (``ties="pessimistic"``, the default): among items with equal scores,
  irrelevant items are ranked before relevant ones, then by gallery index.
  A model that gives equal scores cannot benefit from the order of the
  gallery, so a constant-score model gets the worst possible ranks rather
  than ranks that depend on how the data was listed. ``ties="stable"`` ranks
  equal scores by gallery index only (a stable sort by descending score).

Full-gallery metrics (:func:`retrieval_metrics`, :func:`per_class_metrics`)
follow the speaker-text and text-audio retrieval protocols: Recall@K, mAP@K
(the DCASE definition: sum over the top K of precision@i at relevant
positions, divided by ``min(num_relevant, K)``), mean and median rank of the
first relevant item.

The trial protocol (:func:`make_trials`, :func:`trial_recall`) follows the
expressive speech retrieval paper: per class, 1,000 trials of one positive
and 400 distractors from the other classes, Recall@K per class and the
unweighted average over classes. Trials are saved to disk
(:func:`get_or_make_trials`) so that every model is scored on the same ones;
under DDP only the main process draws and writes them, the others read the
file after a barrier. Files are written atomically
(:func:`speechbrain_style.dataio.files.atomic_output`).

Authors
 * speechbrain-style contributors 2025
"""

import gzip
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from speechbrain.utils.distributed import if_main_process, run_on_main
from speechbrain.utils.logger import get_logger

from speechbrain_style.dataio.files import atomic_output

logger = get_logger(__name__)

TIE_POLICIES = ("pessimistic", "stable")
TRIALS_FORMAT = "speechbrain_style.trials/1"


def _as_numpy(x, name):
    """Returns ``x`` (numpy array, torch tensor or sequence) as numpy."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dtype == torch.bfloat16:
            x = x.float()
        return x.numpy()
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be array-like, got {type(x)}") from err


def _check_scores_relevance(scores, relevance):
    """Validates and converts (scores, relevance) to float64 / bool arrays."""
    scores = _as_numpy(scores, "scores")
    relevance = _as_numpy(relevance, "relevance")
    if scores.ndim != 2:
        raise ValueError(f"scores must have shape (Q, G), got {scores.shape}")
    if relevance.shape != scores.shape:
        raise ValueError(
            "relevance must have the same shape as scores, got "
            f"{relevance.shape} and {scores.shape}"
        )
    if not np.issubdtype(scores.dtype, np.number):
        raise TypeError(f"scores must be numeric, got dtype {scores.dtype}")
    scores = scores.astype(np.float64)
    if np.isnan(scores).any():
        raise ValueError("scores contain NaN")
    if relevance.dtype != np.bool_:
        if not np.isin(relevance, (0, 1)).all():
            raise ValueError("relevance must be boolean (or 0/1)")
        relevance = relevance.astype(bool)
    return scores, relevance


def _check_ties(ties):
    if ties not in TIE_POLICIES:
        raise ValueError(f"ties must be one of {TIE_POLICIES}, got {ties!r}")


def _check_ks(ks, name="ks"):
    ks = tuple(ks)
    if not ks or any(
        not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1
        for k in ks
    ):
        raise ValueError(f"{name} must be positive integers, got {ks}")
    return tuple(int(k) for k in ks)


def ranked_relevance(scores, relevance, ties="pessimistic"):
    """Relevance of each query's gallery items, in ranked order.

    Arguments
    ---------
    scores : array-like
        Shape (Q, G), higher is better.
    relevance : array-like of bool
        Shape (Q, G).
    ties : str
        "pessimistic" (default) or "stable", see the module docstring.

    Returns
    -------
    numpy.ndarray
        Bool array (Q, G); ``out[q, r]`` is True when the item ranked
        ``r + 1`` for query ``q`` is relevant.

    Example
    -------
    >>> scores = [[0.5, 0.9, 0.5]]
    >>> relevance = [[True, False, False]]
    >>> ranked_relevance(scores, relevance).astype(int).tolist()
    [[0, 0, 1]]
    >>> ranked_relevance(scores, relevance, ties="stable").astype(int).tolist()
    [[0, 1, 0]]
    """
    scores, relevance = _check_scores_relevance(scores, relevance)
    _check_ties(ties)
    if ties == "stable":
        order = np.argsort(-scores, axis=1, kind="stable")
    else:
        index = np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
        # np.lexsort: the last key is the primary one.
        order = np.lexsort((index, relevance, -scores), axis=1)
    return np.take_along_axis(relevance, order, axis=1)


def _check_every_query_has_relevant(ranked):
    missing = np.flatnonzero(~ranked.any(axis=1))
    if missing.size:
        raise ValueError(
            f"{missing.size} queries have no relevant gallery item (query "
            f"indices {missing[:10].tolist()}...)"
        )


def _first_relevant_rank(ranked):
    _check_every_query_has_relevant(ranked)
    return np.argmax(ranked, axis=1) + 1


def _average_precision(ranked, k):
    _check_every_query_has_relevant(ranked)
    hits = ranked[:, :k]
    precision = np.cumsum(hits, axis=1) / np.arange(1, hits.shape[1] + 1)
    num_relevant = ranked.sum(axis=1)
    return (precision * hits).sum(axis=1) / np.minimum(num_relevant, k)


def rank_of_first_relevant(scores, relevance, ties="pessimistic"):
    """1-based rank of the best-ranked relevant item of each query.

    Arguments
    ---------
    scores : array-like
        Shape (Q, G), higher is better.
    relevance : array-like of bool
        Shape (Q, G); every query needs a relevant item.
    ties : str
        "pessimistic" (default) or "stable", see the module docstring.

    Returns
    -------
    numpy.ndarray
        Integer array (Q,).

    Example
    -------
    >>> scores = [[0.1, 0.7, 0.3], [0.9, 0.2, 0.4]]
    >>> relevance = [[False, False, True], [True, False, False]]
    >>> rank_of_first_relevant(scores, relevance).tolist()
    [2, 1]
    """
    return _first_relevant_rank(ranked_relevance(scores, relevance, ties))


def recall_at_k(scores, relevance, ks=(1, 5, 10), ties="pessimistic"):
    """Per-query Recall@K: 1 if any relevant item is in the top K.

    Arguments
    ---------
    scores : array-like
        Shape (Q, G), higher is better.
    relevance : array-like of bool
        Shape (Q, G); every query needs a relevant item.
    ks : sequence of int
        Cut-offs K.
    ties : str
        "pessimistic" (default) or "stable", see the module docstring.

    Returns
    -------
    dict
        ``{k: float array (Q,) of 0. / 1.}``.

    Example
    -------
    >>> scores = [[0.1, 0.7, 0.3], [0.9, 0.2, 0.4]]
    >>> relevance = [[False, False, True], [True, False, False]]
    >>> recall = recall_at_k(scores, relevance, ks=(1, 2))
    >>> recall[1].tolist(), recall[2].tolist()
    ([0.0, 1.0], [1.0, 1.0])
    """
    ks = _check_ks(ks)
    ranks = rank_of_first_relevant(scores, relevance, ties)
    return {k: (ranks <= k).astype(np.float64) for k in ks}


def average_precision_at_k(scores, relevance, k=10, ties="pessimistic"):
    """Per-query average precision at K (DCASE text-audio definition).

    ``AP@K = sum_{i <= K} P@i * rel_i / min(num_relevant, K)``, where
    ``rel_i`` is 1 if the item at rank i is relevant and ``P@i`` the
    fraction of relevant items in the top i. With a single relevant item
    this is the reciprocal rank if the item is in the top K, else 0.

    Arguments
    ---------
    scores : array-like
        Shape (Q, G), higher is better.
    relevance : array-like of bool
        Shape (Q, G); every query needs a relevant item.
    k : int
        Cut-off.
    ties : str
        "pessimistic" (default) or "stable", see the module docstring.

    Returns
    -------
    numpy.ndarray
        Float array (Q,).

    Example
    -------
    >>> scores = [[0.9, 0.8, 0.7, 0.6]]
    >>> relevance = [[False, True, False, True]]
    >>> ap = average_precision_at_k(scores, relevance, k=10)
    >>> round(float(ap[0]), 4)  # (1/2 + 2/4) / 2
    0.5
    """
    (k,) = _check_ks((k,), "k")
    return _average_precision(ranked_relevance(scores, relevance, ties), k)


def retrieval_metrics(
    scores,
    relevance,
    ks=(1, 5, 10),
    map_k=10,
    ties="pessimistic",
    return_per_query=False,
):
    """Averaged full-gallery retrieval metrics.

    Arguments
    ---------
    scores : array-like
        Shape (Q, G), higher is better.
    relevance : array-like of bool
        Shape (Q, G); every query needs a relevant item.
    ks : sequence of int
        Cut-offs of Recall@K.
    map_k : int
        Cut-off of mAP@K.
    ties : str
        "pessimistic" (default) or "stable", see the module docstring.
    return_per_query : bool
        If True, also return the per-query values under "per_query".

    Returns
    -------
    dict
        ``"R@k"`` for k in ks, ``"mAP@map_k"``, ``"mean_rank"``,
        ``"median_rank"`` (rank of the first relevant item) as floats, and
        with ``return_per_query`` a dict "per_query" of (Q,) arrays with the
        same keys plus "rank".

    Example
    -------
    >>> scores = [[0.1, 0.7, 0.3], [0.9, 0.2, 0.4]]
    >>> relevance = [[False, False, True], [True, False, False]]
    >>> metrics = retrieval_metrics(scores, relevance, ks=(1,), map_k=2)
    >>> {name: round(value, 3) for name, value in metrics.items()}
    {'R@1': 0.5, 'mAP@2': 0.75, 'mean_rank': 1.5, 'median_rank': 1.5}
    """
    ks = _check_ks(ks)
    (map_k,) = _check_ks((map_k,), "map_k")
    ranked = ranked_relevance(scores, relevance, ties)
    ranks = _first_relevant_rank(ranked)
    per_query = {f"R@{k}": (ranks <= k).astype(np.float64) for k in ks}
    per_query[f"mAP@{map_k}"] = _average_precision(ranked, map_k)
    metrics = {name: float(values.mean()) for name, values in per_query.items()}
    metrics["mean_rank"] = float(ranks.mean())
    metrics["median_rank"] = float(np.median(ranks))
    if return_per_query:
        per_query["rank"] = ranks
        metrics["per_query"] = per_query
    return metrics


def _sorted_unique(values):
    """Sorted unique values; falls back to sorting by str for mixed types."""
    unique = set(values)
    try:
        return sorted(unique)
    except TypeError:
        return sorted(unique, key=str)


def _to_python_list(values, name):
    """Converts a sequence / array / tensor to a list of Python scalars."""
    if isinstance(values, (torch.Tensor, np.ndarray)):
        if values.ndim != 1:
            raise ValueError(f"{name} must be one-dimensional")
        return values.tolist()
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"{name} must be a sequence, got {type(values)}")
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def per_class_metrics(
    scores,
    relevance,
    query_classes,
    ks=(1, 5, 10),
    map_k=10,
    ties="pessimistic",
):
    """Full-gallery retrieval metrics per query class, and their average.

    Arguments
    ---------
    scores : array-like
        Shape (Q, G), higher is better.
    relevance : array-like of bool
        Shape (Q, G); every query needs a relevant item.
    query_classes : sequence
        Length Q, the class of each query (hashable values).
    ks : sequence of int
        Cut-offs of Recall@K.
    map_k : int
        Cut-off of mAP@K.
    ties : str
        "pessimistic" (default) or "stable", see the module docstring.

    Returns
    -------
    dict
        ``{class: metrics}`` (metrics as in :func:`retrieval_metrics`,
        computed over the queries of that class) plus ``"average"``: the
        unweighted mean over classes of each metric.

    Example
    -------
    >>> scores = [[0.1, 0.7, 0.3], [0.9, 0.2, 0.4], [0.5, 0.4, 0.6]]
    >>> relevance = [[0, 0, 1], [1, 0, 0], [1, 0, 0]]
    >>> result = per_class_metrics(scores, relevance, ["a", "b", "b"], ks=(1,))
    >>> result["a"]["R@1"], result["b"]["R@1"], result["average"]["R@1"]
    (0.0, 0.5, 0.25)
    """
    scores, relevance = _check_scores_relevance(scores, relevance)
    query_classes = _to_python_list(query_classes, "query_classes")
    if len(query_classes) != scores.shape[0]:
        raise ValueError(
            f"query_classes has {len(query_classes)} entries, but scores has "
            f"{scores.shape[0]} queries"
        )
    classes = _sorted_unique(query_classes)
    if "average" in classes:
        raise ValueError('"average" cannot be a class name (it is reserved)')
    class_array = np.empty(len(query_classes), dtype=object)
    class_array[:] = query_classes
    results = {}
    for cls in classes:
        rows = np.flatnonzero(class_array == cls)
        results[cls] = retrieval_metrics(
            scores[rows], relevance[rows], ks=ks, map_k=map_k, ties=ties
        )
    results["average"] = _average_over_classes([results[c] for c in classes])
    return results


def _average_over_classes(class_results):
    names = class_results[0].keys()
    return {
        name: float(np.mean([result[name] for result in class_results]))
        for name in names
    }


# ---------------------------------------------------------------------------
# Trial protocol (expressive speech retrieval)
# ---------------------------------------------------------------------------


def _check_items(item_ids, labels):
    item_ids = _to_python_list(item_ids, "item_ids")
    labels = _to_python_list(labels, "labels")
    if len(item_ids) != len(labels):
        raise ValueError(
            f"item_ids ({len(item_ids)}) and labels ({len(labels)}) must "
            "have the same length"
        )
    if not item_ids:
        raise ValueError("item_ids is empty")
    if len(set(item_ids)) != len(item_ids):
        seen, duplicates = set(), []
        for item in item_ids:
            if item in seen:
                duplicates.append(item)
            seen.add(item)
        raise ValueError(f"item_ids contains duplicates: {duplicates[:5]}")
    return item_ids, labels


def make_trials(
    item_ids,
    labels,
    num_trials=1000,
    num_distractors=400,
    seed=42,
    allow_fewer=False,
):
    """Draws retrieval trials: one positive and distractors of other classes.

    For each class (in sorted order) and each of ``num_trials`` trials: the
    positive is drawn with replacement (across trials) from the items of the
    class, and ``num_distractors`` distractors are drawn without replacement
    from the items of all other classes. Items are sorted by id before
    drawing, so the trials depend only on the set of (id, label) pairs, the
    counts and ``seed`` (``numpy.random.default_rng(seed)``), not on the
    order of the inputs.

    Arguments
    ---------
    item_ids : sequence
        Unique ids of the gallery items (e.g. utterance ids).
    labels : sequence
        Class of each item (same length).
    num_trials : int
        Trials per class.
    num_distractors : int
        Distractors per trial.
    seed : int
        Random seed.
    allow_fewer : bool
        If a class has fewer than ``num_distractors`` items in other classes:
        when False, raise ValueError; when True, use all of them.

    Returns
    -------
    dict
        ``{class: [[positive_id, distractor_1, ...], ...]}``.

    Example
    -------
    >>> ids = ["u1", "u2", "u3", "u4", "u5"]
    >>> labels = ["happy", "happy", "sad", "sad", "angry"]
    >>> trials = make_trials(ids, labels, num_trials=2, num_distractors=3)
    >>> sorted(trials), len(trials["sad"]), len(trials["sad"][0])
    (['angry', 'happy', 'sad'], 2, 4)
    >>> trials["sad"][0][0] in ("u3", "u4")
    True
    >>> set(trials["sad"][0][1:]) <= {"u1", "u2", "u5"}
    True
    """
    item_ids, labels = _check_items(item_ids, labels)
    (num_trials,) = _check_ks((num_trials,), "num_trials")
    if (
        not isinstance(num_distractors, (int, np.integer))
        or isinstance(num_distractors, bool)
        or num_distractors < 0
    ):
        raise ValueError(
            "num_distractors must be a non-negative int, got "
            f"{num_distractors!r}"
        )
    order = sorted(
        range(len(item_ids)),
        key=lambda i: _sort_key(item_ids[i]),
    )
    ids = np.empty(len(item_ids), dtype=object)
    ids[:] = [item_ids[i] for i in order]
    label_array = np.empty(len(labels), dtype=object)
    label_array[:] = [labels[i] for i in order]

    rng = np.random.default_rng(seed)
    trials = {}
    for cls in _sorted_unique(labels):
        is_member = label_array == cls
        members, others = ids[is_member], ids[~is_member]
        num_drawn = num_distractors
        if len(others) < num_distractors:
            if not allow_fewer:
                raise ValueError(
                    f"Class {cls!r} has only {len(others)} items of other "
                    f"classes, fewer than num_distractors={num_distractors} "
                    "(pass allow_fewer=True to use all of them)"
                )
            num_drawn = len(others)
        positives = rng.integers(len(members), size=num_trials)
        class_trials = []
        for positive in positives:
            drawn = rng.choice(len(others), size=num_drawn, replace=False)
            class_trials.append([members[positive], *others[drawn].tolist()])
        trials[cls] = class_trials
    return trials


def _sort_key(value):
    """Sort key that orders values of mixed types deterministically."""
    return (type(value).__name__, value)


def _open_text(path, mode):
    path = Path(path)
    if path.suffix == ".gz":
        return gzip.open(path, mode + "t", encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def save_trials(trials, path, metadata=None):
    """Saves trials to a JSON file (gzip-compressed if ``path`` ends in .gz).

    Item ids are stored once in an "items" list and trials as indices into
    it, which keeps the file small (19 classes x 1,000 x 401 ids).

    Arguments
    ---------
    trials : dict
        ``{class: [[positive_id, distractor_ids...], ...]}``.
    path : str or Path
        Output file; parent folders are created.
    metadata : dict, optional
        JSON-serialisable values to store (e.g. seed, num_trials,
        num_distractors). "num_distractors" is filled in from the trials if
        missing.

    Example
    -------
    >>> import tempfile
    >>> trials = {"sad": [["u3", "u1"], ["u4", "u2"]]}
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_trials(trials, f"{folder}/trials.json", {"seed": 1})
    ...     loaded, metadata = load_trials(f"{folder}/trials.json")
    >>> loaded == trials, metadata["seed"], metadata["num_distractors"]
    (True, 1, 1)
    """
    if not isinstance(trials, Mapping) or not trials:
        raise ValueError("trials must be a non-empty dict {class: trials}")
    metadata = dict(metadata or {})
    lengths = {len(t) for class_trials in trials.values() for t in class_trials}
    if "num_distractors" not in metadata and len(lengths) == 1:
        metadata["num_distractors"] = lengths.pop() - 1
    index_of = {}
    classes = []
    for cls, class_trials in trials.items():
        encoded = [
            [index_of.setdefault(item, len(index_of)) for item in trial]
            for trial in class_trials
        ]
        classes.append({"label": cls, "trials": encoded})
    content = {
        "format": TRIALS_FORMAT,
        "metadata": metadata,
        "items": list(index_of),
        "classes": classes,
    }
    with atomic_output(path) as temporary:
        with _open_text(temporary, "w") as stream:
            json.dump(content, stream, separators=(",", ":"))


def load_trials(path):
    """Loads trials saved by :func:`save_trials`.

    Arguments
    ---------
    path : str or Path
        File written by :func:`save_trials`.

    Returns
    -------
    trials : dict
        ``{class: [[positive_id, distractor_ids...], ...]}``.
    metadata : dict
        The stored metadata.

    Example
    -------
    See :func:`save_trials`.
    """
    with _open_text(path, "r") as stream:
        content = json.load(stream)
    if not isinstance(content, dict) or content.get("format") != TRIALS_FORMAT:
        raise ValueError(f"{path} is not a trials file ({TRIALS_FORMAT})")
    items = content["items"]
    trials = {}
    for entry in content["classes"]:
        trials[entry["label"]] = [
            [items[i] for i in trial] for trial in entry["trials"]
        ]
    return trials, content["metadata"]


def check_trials(trials, item_ids, labels):
    """Checks that trials fit a gallery: ids exist, labels are consistent.

    Arguments
    ---------
    trials : dict
        ``{class: [[positive_id, distractor_ids...], ...]}``.
    item_ids : sequence
        Ids of the current gallery items.
    labels : sequence
        Class of each item.

    Raises
    ------
    ValueError
        If an id is unknown, the classes differ, a positive is not of its
        trial's class or a distractor is.

    Example
    -------
    >>> check_trials({"a": [["u1", "u2"]]}, ["u1", "u2"], ["a", "b"])
    Traceback (most recent call last):
    ...
    ValueError: The trials cover classes ['a'] but the items have ...
    """
    item_ids, labels = _check_items(item_ids, labels)
    label_of = dict(zip(item_ids, labels, strict=True))
    trial_classes = _sorted_unique(trials)
    item_classes = _sorted_unique(labels)
    if trial_classes != item_classes:
        raise ValueError(
            f"The trials cover classes {trial_classes} but the items have "
            f"classes {item_classes}"
        )
    for cls, class_trials in trials.items():
        for trial in class_trials:
            missing = [item for item in trial if item not in label_of]
            if missing:
                raise ValueError(
                    f"Trials of class {cls!r} use {len(missing)} item ids "
                    f"that are not in the current items, e.g. {missing[:3]}"
                )
            if label_of[trial[0]] != cls:
                raise ValueError(
                    f"Trial positive {trial[0]!r} of class {cls!r} has label "
                    f"{label_of[trial[0]]!r} in the current items"
                )
            wrong = [item for item in trial[1:] if label_of[item] == cls]
            if wrong:
                raise ValueError(
                    f"Distractors {wrong[:3]} of a class {cls!r} trial have "
                    "that class in the current items"
                )


def get_or_make_trials(
    path,
    item_ids,
    labels,
    num_trials=1000,
    num_distractors=400,
    seed=42,
    allow_fewer=False,
):
    """Loads the trials at ``path`` if it exists, else makes and saves them.

    Reusing the file means every model is scored on the same trials. A
    reused file must have been made with the same ``seed``, ``num_trials``
    and ``num_distractors`` and must fit the current items
    (:func:`check_trials`); otherwise a ValueError says what differs (delete
    the file to draw new trials). Under DDP (``torch.distributed``
    initialised), every process calls it: the main process draws and
    writes a missing file, the others wait at a barrier and then read it, so
    the file is written once and every process gets the same trials.

    Arguments
    ---------
    path : str or Path
        Trials file (JSON, gzip-compressed if it ends in .gz).
    item_ids : sequence
        Unique ids of the gallery items.
    labels : sequence
        Class of each item.
    num_trials : int
        Trials per class.
    num_distractors : int
        Distractors per trial.
    seed : int
        Random seed.
    allow_fewer : bool
        See :func:`make_trials`.

    Returns
    -------
    dict
        ``{class: [[positive_id, distractor_ids...], ...]}``.

    Example
    -------
    >>> import tempfile
    >>> ids, labels = ["u1", "u2", "u3"], ["a", "b", "b"]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = f"{folder}/trials.json"
    ...     first = get_or_make_trials(path, ids, labels, 3, 1, seed=0)
    ...     again = get_or_make_trials(path, ids, labels, 3, 1, seed=0)
    >>> first == again
    True
    """
    path = Path(path)
    wanted = {
        "seed": seed,
        "num_trials": num_trials,
        "num_distractors": num_distractors,
    }
    # main process only, then a barrier: the file exists for every process
    # (the main process gets the trials it drew, None if the file existed)
    made = run_on_main(
        _make_trials_file,
        kwargs={
            "path": path,
            "item_ids": item_ids,
            "labels": labels,
            "settings": wanted,
            "allow_fewer": allow_fewer,
        },
    )
    if made is not None:
        return made
    trials, metadata = load_trials(path)
    different = {
        name: (metadata.get(name), value)
        for name, value in wanted.items()
        if metadata.get(name) != value
    }
    if different:
        raise ValueError(
            f"Trials file {path} was made with different settings "
            f"(stored, requested): {different}; delete it to draw new "
            "trials"
        )
    try:
        check_trials(trials, item_ids, labels)
    except ValueError as err:
        raise ValueError(
            f"Trials file {path} does not fit the current items: {err}"
        ) from err
    if if_main_process():
        logger.info("Reusing retrieval trials from %s", path)
    return trials


def _make_trials_file(path, item_ids, labels, settings, allow_fewer):
    """Draws and saves the trials if ``path`` does not exist yet.

    Returns the trials it drew, or None when the file existed.
    """
    if Path(path).exists():
        return None
    trials = make_trials(item_ids, labels, allow_fewer=allow_fewer, **settings)
    metadata = dict(
        settings,
        allow_fewer=allow_fewer,
        num_items=len(_to_python_list(item_ids, "item_ids")),
    )
    save_trials(trials, path, metadata)
    logger.info("Saved %d classes of retrieval trials to %s", len(trials), path)
    return trials


def trial_recall(class_scores, trials, id_to_index, ks=(1, 5, 10, 20)):
    """Recall@K over trials, per class and averaged over classes.

    For each trial, the rank of the positive among its candidates
    (positive + distractors) is ``1 + number of distractors whose score is
    >= the positive's score`` (ties are pessimistic). Recall@K of a class is
    the fraction of its trials with rank <= K; "average" is the unweighted
    mean over classes.

    Arguments
    ---------
    class_scores : dict
        ``{class: array (G,)}``, the score of the class query (e.g. mean
        cosine with the class' prompts) against every gallery item.
    trials : dict
        ``{class: [[positive_id, distractor_ids...], ...]}``.
    id_to_index : dict
        ``{item_id: column index in the class_scores arrays}``.
    ks : sequence of int
        Cut-offs K.

    Returns
    -------
    dict
        ``{class: {"R@k": float}, "average": {"R@k": float}}``.

    Example
    -------
    >>> class_scores = {"a": [0.9, 0.1, 0.5], "b": [0.2, 0.6, 0.6]}
    >>> trials = {"a": [["u0", "u1", "u2"]], "b": [["u1", "u0", "u2"]]}
    >>> id_to_index = {"u0": 0, "u1": 1, "u2": 2}
    >>> result = trial_recall(class_scores, trials, id_to_index, ks=(1, 2))
    >>> result["a"], result["b"]
    ({'R@1': 1.0, 'R@2': 1.0}, {'R@1': 0.0, 'R@2': 1.0})
    >>> result["average"]
    {'R@1': 0.5, 'R@2': 1.0}
    """
    ks = _check_ks(ks)
    if not trials:
        raise ValueError("trials is empty")
    if "average" in trials:
        raise ValueError('"average" cannot be a class name (it is reserved)')
    results = {}
    for cls, class_trials in trials.items():
        if cls not in class_scores:
            raise ValueError(f"class_scores has no scores for class {cls!r}")
        scores = _as_numpy(class_scores[cls], f"class_scores[{cls!r}]")
        scores = scores.astype(np.float64).reshape(-1)
        if np.isnan(scores).any():
            raise ValueError(f"class_scores[{cls!r}] contains NaN")
        if not class_trials:
            raise ValueError(f"Class {cls!r} has no trials")
        try:
            index = np.array(
                [
                    [id_to_index[item] for item in trial]
                    for trial in class_trials
                ]
            )
        except KeyError as err:
            raise ValueError(f"Item id {err} is not in id_to_index") from err
        except ValueError as err:
            raise ValueError(
                f"Trials of class {cls!r} have different lengths"
            ) from err
        if index.max() >= scores.shape[0] or index.min() < 0:
            raise ValueError(
                f"id_to_index points outside class_scores[{cls!r}] "
                f"({scores.shape[0]} items)"
            )
        candidate_scores = scores[index]  # (T, 1 + num_distractors)
        positive = candidate_scores[:, :1]
        ranks = 1 + (candidate_scores[:, 1:] >= positive).sum(axis=1)
        results[cls] = {f"R@{k}": float((ranks <= k).mean()) for k in ks}
    results["average"] = _average_over_classes(list(results.values()))
    return results


def as_float_matrix(x, name):
    """A non-empty, finite (N, D) float64 numpy matrix, or a ValueError.

    Arguments
    ---------
    x : array-like or torch.Tensor
        The matrix.
    name : str
        Its name in error messages.

    Returns
    -------
    numpy.ndarray
        (N, D) float64.

    Example
    -------
    >>> as_float_matrix(torch.ones(2, 3), "x").dtype
    dtype('float64')
    """
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty (N, D) matrix")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return x


def as_labels(labels, count, name):
    """``count`` labels (any hashable values) as a list, or a ValueError.

    Arguments
    ---------
    labels : sequence or torch.Tensor
        One label per row.
    count : int
        The number of rows they label.
    name : str
        Their name in error messages.

    Returns
    -------
    list
        The labels.

    Example
    -------
    >>> as_labels(torch.tensor([1, 2]), 2, "speakers")
    [1, 2]
    """
    if isinstance(labels, torch.Tensor):
        labels = labels.tolist()
    labels = list(np.asarray(labels, dtype=object).reshape(-1))
    if len(labels) != count:
        raise ValueError(f"{name} has {len(labels)} entries for {count} rows")
    return labels

"""Text-audio (caption) retrieval evaluation, DCASE style.

The search database is the whole evaluation set: every clip's audio
embedding, and every caption of every clip (Clotho: 5 per clip). Both
directions are scored over the full gallery:

* text -> audio (``t2s``): each caption queries all clips; its one relevant
  clip is the clip it describes. R@K = 1 if that clip is in the top K;
  mAP@10 = reciprocal rank of that clip if in the top 10, else 0.
* audio -> text (``s2t``): each clip queries all captions; its relevant
  captions are its own (5 in Clotho). R@K = 1 if any of them is in the top
  K; mAP@10 = sum over the top 10 of precision@i at the relevant positions,
  divided by ``min(number of relevant captions, 10)`` (= 5 for Clotho, the
  DCASE definition). ``caption_recall@K`` is the fraction of the relevant
  captions found in the top K (summed over clips, divided by the number of
  captions), the audio -> text "R@K" of the seed's code.

Keys use the package's direction names (``t2s`` = text -> audio, ``s2t`` =
audio -> text), so ``StyleRetrievalBrain`` logs them and selects
checkpoints with them (``CaptionRetrievalEvaluator`` has the interface of
``speechbrain_style.evaluation.retrieval.RetrievalEvaluator``). Ties are
pessimistic (``speechbrain_style.evaluation.metrics``).

Authors
 * speechbrain-style contributors 2026
"""

import numpy as np
import torch
from speechbrain.utils.logger import get_logger

from speechbrain_style.evaluation.base import Evaluator
from speechbrain_style.evaluation.metrics import (
    _check_ks,
    ranked_relevance,
    retrieval_metrics,
)

logger = get_logger(__name__)


def caption_relevance(caption_clips, clip_ids):
    """Bool (num_captions, num_clips): caption i describes clip j.

    Arguments
    ---------
    caption_clips : sequence
        The clip id of each caption.
    clip_ids : sequence
        The clip ids of the gallery (unique).

    Returns
    -------
    numpy.ndarray

    Example
    -------
    >>> caption_relevance(["a", "a", "b"], ["b", "a"]).astype(int).tolist()
    [[0, 1], [0, 1], [1, 0]]
    """
    clip_ids = list(clip_ids)
    if len(set(clip_ids)) != len(clip_ids):
        raise ValueError("clip_ids must be unique")
    index = {clip: j for j, clip in enumerate(clip_ids)}
    unknown = sorted({str(c) for c in caption_clips if c not in index})
    if unknown:
        raise ValueError(
            f"Captions of clips that are not in the gallery: {unknown[:5]}"
        )
    relevance = np.zeros((len(caption_clips), len(clip_ids)), dtype=bool)
    for i, clip in enumerate(caption_clips):
        relevance[i, index[clip]] = True
    return relevance


def caption_retrieval_metrics(
    scores, caption_clips, clip_ids, ks=(1, 5, 10), map_k=10
):
    """Full-gallery metrics of both directions from one score matrix.

    Arguments
    ---------
    scores : array-like
        (num_captions, num_clips) similarity of each caption to each clip.
    caption_clips : sequence
        The clip id of each caption (row).
    clip_ids : sequence
        The clip id of each column; every clip needs a caption.
    ks : sequence of int
        Cut-offs of R@K (and of ``caption_recall@K``).
    map_k : int
        Cut-off of mAP.

    Returns
    -------
    dict
        ``{"t2s": {...}, "s2t": {...}}``, each with ``R@k``, ``mAP@map_k``,
        ``mean_rank`` and ``median_rank`` (of the first relevant item);
        ``s2t`` also has ``caption_recall@k``.

    Example
    -------
    >>> scores = [[0.9, 0.5], [0.2, 0.8], [0.7, 0.3]]  # 3 captions, 2 clips
    >>> res = caption_retrieval_metrics(scores, ["a", "b", "b"], ["a", "b"])
    >>> res["t2s"]["R@1"], res["t2s"]["mAP@10"]  # caption 3 ranks b 2nd
    (0.6666666666666666, 0.8333333333333334)
    >>> round(res["s2t"]["mAP@10"], 4)  # mean of a: 1/1 and b: (1/1 + 2/3) / 2
    0.9167
    """
    ks = _check_ks(ks)
    scores = torch.as_tensor(np.asarray(scores, dtype=np.float64))
    relevance = caption_relevance(caption_clips, clip_ids)
    if tuple(scores.shape) != relevance.shape:
        raise ValueError(
            f"scores must have shape ({len(caption_clips)}, {len(clip_ids)})"
            f" (captions, clips), got {tuple(scores.shape)}"
        )
    missing = np.flatnonzero(~relevance.any(axis=0))
    if missing.size:
        names = [str(clip_ids[j]) for j in missing[:5]]
        raise ValueError(f"Clips without any caption: {names}")
    t2s = retrieval_metrics(scores, relevance, ks=ks, map_k=map_k)
    s2t = retrieval_metrics(scores.T, relevance.T, ks=ks, map_k=map_k)
    ranked = ranked_relevance(scores.T, relevance.T)
    num_relevant = relevance.sum()
    for k in ks:
        s2t[f"caption_recall@{k}"] = float(ranked[:, :k].sum() / num_relevant)
    return {"t2s": t2s, "s2t": s2t}


class CaptionRetrievalEvaluator(Evaluator):
    """Text <-> audio retrieval over the whole evaluation set.

    Arguments
    ---------
    fields : list of str
        Item fields collected per clip; must hold ``captions`` (list of
        str).
    dataset : str
        Name of the row in the result table (e.g. "clotho").
    ks : sequence of int
        Cut-offs of R@K.
    map_k : int
        Cut-off of mAP.
    selection_metric : str
        Summary key used for checkpoint selection (DCASE ranks systems by
        text -> audio mAP@10).
    banks : list of str
        Only one "bank" here, the captions of the data (the name is the
        table's header).

    Example
    -------
    >>> ev = CaptionRetrievalEvaluator(dataset="toy")
    >>> items = [{"id": "dog", "captions": ["a dog barks", "barking"]},
    ...          {"id": "rain", "captions": ["rain falls"]}]
    >>> def encode(texts):  # a toy text encoder
    ...     return torch.tensor(
    ...         [[0.0, 1.0] if "rain" in t else [1.0, 0.0] for t in texts]
    ...     )
    >>> audio = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> res = ev.evaluate(audio, items, encode)
    >>> res["summary"]["captions"]["t2s_mAP@10"]
    1.0
    """

    def __init__(
        self,
        fields=("captions",),
        dataset="captions",
        ks=(1, 5, 10),
        map_k=10,
        selection_metric="t2s_mAP@10",
        banks=("captions",),
    ):
        self.fields = list(fields)
        if "captions" not in self.fields:
            raise ValueError("fields must include 'captions'")
        self.dataset = dataset
        self.ks = _check_ks(ks)
        self.map_k = map_k
        self.selection_metric = selection_metric
        self.banks = list(banks)

    def gallery(self, items):
        """The caption gallery: (captions, the clip id of each)."""
        texts, owners = [], []
        for item in items:
            captions = item.get("captions")
            if not captions or isinstance(captions, str):
                raise ValueError(
                    f"Item {item.get('id')!r} needs a non-empty list of "
                    f"captions, got {captions!r}"
                )
            texts.extend(captions)
            owners.extend([item["id"]] * len(captions))
        return texts, owners

    def score(self, speech, items, encode_texts, banks, trials, tag):
        """R@K and mAP@K of both directions over the whole set.

        Arguments as :meth:`Evaluator.score`.

        Returns
        -------
        dict
            ``{"fields": {bank: {dataset: {"t2s", "s2t"}}}, "summary":
            {bank: flat metrics}, "columns", "mean_row", "note"}`` (the
            structure ``speechbrain_style.evaluation.retrieval.format_table``
            and
            ``save_results`` read).
        """
        clip_ids = [item["id"] for item in items]
        texts, owners = self.gallery(items)
        audio = speech
        text = encode_texts(texts).float().cpu()
        scores = text @ audio.T
        metrics = caption_retrieval_metrics(
            scores, owners, clip_ids, ks=self.ks, map_k=self.map_k
        )
        summary = {
            f"{direction}_{key}": float(value)
            for direction, res in metrics.items()
            for key, value in res.items()
        }
        bank = banks[0]
        columns = []
        for direction, label in (("t2s", "T>A"), ("s2t", "A>T")):
            names = [f"R@{k}" for k in self.ks] + [f"mAP@{self.map_k}"]
            columns += [
                (f"{direction}_{name}", f"{label} {name}" if i == 0 else name)
                for i, name in enumerate(names)
            ]
        return {
            "fields": {bank: {self.dataset: metrics}},
            "summary": {bank: summary},
            "columns": columns,
            "mean_row": False,
            "note": (
                f"Full gallery: {len(clip_ids)} clips, {len(texts)} captions. "
                "T>A: caption -> audio (1 relevant clip); A>T: audio -> "
                "captions (all captions of the clip relevant); mAP@"
                f"{self.map_k} divided by min(relevant, {self.map_k})."
            ),
        }

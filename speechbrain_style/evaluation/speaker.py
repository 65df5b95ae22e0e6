"""Speaker-text retrieval evaluation (the speaker-text paper's Table I).

The search database is the evaluation set itself: every utterance's speaker
embedding, and for every speaker the descriptions of its metadata (gender,
nationality, ...). Both directions are scored with mAP@10 and mean rank
(relevant = same speaker), plain and with fusion (the query is cast into the
other modality's space as the distance-weighted mean of its top-N
neighbours there), and optionally drawn as t-SNE maps coloured by speaker.

``SpeakerRetrievalEvaluator`` has the interface of
``speechbrain_style.evaluation.retrieval.RetrievalEvaluator``, so
``StyleRetrievalBrain`` validates, selects checkpoints and tests with it.

Authors
 * speechbrain-style contributors 2026
"""

import os

import numpy as np
import torch
from speechbrain.utils.distributed import if_main_process
from speechbrain.utils.logger import get_logger

from speechbrain_style.evaluation.base import Evaluator
from speechbrain_style.evaluation.metrics import as_labels, retrieval_metrics
from speechbrain_style.evaluation.plots import tsne_plot
from speechbrain_style.prompts.speaker import SpeakerDescriber
from speechbrain_style.retrieval.fusion import fuse_queries

logger = get_logger(__name__)


def _normalised_tensor(x, name):
    """``x`` as a float32 (N, D) tensor of unit rows, or a ValueError."""
    x = torch.as_tensor(
        x.detach().cpu() if isinstance(x, torch.Tensor) else np.asarray(x),
        dtype=torch.float32,
    )
    if x.dim() != 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty (N, D) matrix")
    norms = x.norm(dim=1, keepdim=True)
    if (norms == 0).any() or not torch.isfinite(x).all():
        raise ValueError(f"{name} contains all-zero, NaN or inf rows")
    return x / norms


def speaker_retrieval_metrics(
    speech,
    text,
    speech_spk,
    text_spk,
    k=10,
    fusion_n=None,
    fusion_weighting="similarity",
    ties="pessimistic",
):
    """mAP@k and mean rank of speaker-text retrieval, both directions.

    Cosine similarity over the full galleries; a gallery item is relevant
    when it has the query's speaker. ``mAP@k`` follows
    :func:`speechbrain_style.evaluation.metrics.average_precision_at_k`
    (precision at
    relevant positions in the top k over min(num_relevant, k)), and
    ``mean_rank`` is the mean rank of the first relevant item.

    Arguments
    ---------
    speech : array-like or torch.Tensor
        Speaker (speech) embeddings (N, D).
    text : array-like or torch.Tensor
        Text embeddings (M, D) in the same space.
    speech_spk : sequence
        Speaker of each speech row (N,).
    text_spk : sequence
        Speaker of each text row (M,).
    k : int
        Cut-off of mAP.
    fusion_n : int, optional
        If given, queries are fused with their ``fusion_n`` nearest
        gallery items of the other modality first
        (:func:`speechbrain_style.retrieval.fusion.fuse_queries`).
    fusion_weighting : str
        Fusion weights, ``"similarity"`` or ``"uniform"``.
    ties : str
        Tie policy of :mod:`speechbrain_style.evaluation.metrics`.

    Returns
    -------
    dict
        ``{"s2t": {"mAP@k", "mean_rank"}, "t2s": {...}}`` (floats).

    Example
    -------
    >>> speech = [[1.0, 0.0], [0.0, 1.0]]
    >>> text = [[0.9, 0.1], [0.2, 0.8], [0.7, 0.7]]
    >>> result = speaker_retrieval_metrics(
    ...     speech, text, ["a", "b"], ["a", "b", "b"], k=2
    ... )
    >>> result["s2t"]
    {'mAP@2': 1.0, 'mean_rank': 1.0}
    """
    speech = _normalised_tensor(speech, "speech")
    text = _normalised_tensor(text, "text")
    if speech.shape[1] != text.shape[1]:
        raise ValueError(
            f"speech ({speech.shape[1]}) and text ({text.shape[1]}) "
            "embeddings must have the same dimension"
        )
    speech_spk = as_labels(speech_spk, speech.shape[0], "speech_spk")
    text_spk = as_labels(text_spk, text.shape[0], "text_spk")
    # (N, M) bool by comparing integer codes: no (N, M) Python objects
    codes = {}
    speech_codes = np.array(
        [codes.setdefault(s, len(codes)) for s in speech_spk]
    )
    text_codes = np.array([codes.setdefault(t, len(codes)) for t in text_spk])
    relevance = speech_codes[:, None] == text_codes[None, :]
    speech_queries, text_queries = speech, text
    if fusion_n is not None:
        speech_queries = fuse_queries(
            speech, text, n=fusion_n, weighting=fusion_weighting
        )
        text_queries = fuse_queries(
            text, speech, n=fusion_n, weighting=fusion_weighting
        )
    results = {}
    for name, queries, gallery, rel in (
        ("s2t", speech_queries, text, relevance),
        ("t2s", text_queries, speech, relevance.T),
    ):
        metrics = retrieval_metrics(
            (queries @ gallery.T).numpy(), rel, ks=(1,), map_k=k, ties=ties
        )
        results[name] = {
            f"mAP@{k}": metrics[f"mAP@{k}"],
            "mean_rank": metrics["mean_rank"],
        }
    return results


class SpeakerRetrievalEvaluator(Evaluator):
    """Speaker <-> description retrieval, plain and fused.

    Arguments
    ---------
    fields : list of str
        Item fields collected for each utterance: ``spk_id`` first, then
        the metadata the descriptions use (e.g. gender, nationality; or sex,
        accent for the embedded corpus).
    banks : list of str
        Description banks ("train", "heldout"); validation uses the first.
    prompts_per_speaker : int
        Descriptions per speaker in the text gallery (the first ones of the
        bank, a fixed set).
    fusion_n : int
        Neighbours averaged by fusion (the paper's N, default 10).
    k : int
        Cut-off of mAP.
    selection_metric : str
        Summary key used for checkpoint selection.
    plot_folder : str, optional
        Where the test-time t-SNE maps are written.
    max_plot_speakers : int
        t-SNE maps show at most this many speakers.
    max_plot_utterances : int
        ... and at most this many utterances per speaker (a seeded subset):
        the exact t-SNE is quadratic in the points, and VoxCeleb1's 40 test
        speakers have 4,874 utterances.

    Example
    -------
    >>> import torch
    >>> ev = SpeakerRetrievalEvaluator(["spk_id", "gender", "nationality"])
    >>> items = [
    ...     {"id": "a1", "spk_id": "A", "gender": "male",
    ...      "nationality": "Ireland"},
    ...     {"id": "b1", "spk_id": "B", "gender": "female",
    ...      "nationality": "India"},
    ... ]
    >>> def encode(texts):  # a toy text encoder: women -> e1, men -> e0
    ...     return torch.tensor(
    ...         [[0.0, 1.0] if "woman" in t else [1.0, 0.0] for t in texts]
    ...     )
    >>> speech = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> res = ev.evaluate(speech, items, encode, banks=["train"])
    >>> res["summary"]["train"]["s2t_mAP@10"]
    1.0
    """

    def __init__(
        self,
        fields=("spk_id", "gender", "nationality"),
        banks=("train", "heldout"),
        prompts_per_speaker=5,
        fusion_n=10,
        k=10,
        selection_metric="s2t_mAP@10",
        plot_folder=None,
        max_plot_speakers=40,
        max_plot_utterances=25,
    ):
        self.fields = list(fields)
        if not self.fields or self.fields[0] != "spk_id":
            raise ValueError("fields must start with 'spk_id'")
        self.banks = list(banks)
        self.prompts_per_speaker = prompts_per_speaker
        self.fusion_n = fusion_n
        self.k = k
        self.selection_metric = selection_metric
        self.plot_folder = plot_folder
        self.max_plot_speakers = max_plot_speakers
        self.max_plot_utterances = max_plot_utterances
        self._describers = {}

    def _describer(self, bank):
        if bank not in self._describers:
            self._describers[bank] = SpeakerDescriber(bank=bank)
        return self._describers[bank]

    def speaker_texts(self, items, bank):
        """The text gallery: (texts, their speaker ids)."""
        metas = {}
        for item in items:
            metas.setdefault(
                item["spk_id"], {f: item.get(f) for f in self.fields}
            )
        texts, owners = [], []
        for spk_id in sorted(metas):
            prompts = self._describer(bank).prompts(metas[spk_id])
            prompts = prompts[: self.prompts_per_speaker]
            texts.extend(prompts)
            owners.extend([spk_id] * len(prompts))
        return texts, owners

    def score(self, speech, items, encode_texts, banks, trials, tag):
        """mAP@k and mean rank, both directions, plain and fused.

        Arguments as :meth:`Evaluator.score`.

        Returns
        -------
        dict
            ``{"fields": {bank: {"plain": {"s2t", "t2s"}, "fused": {...}}},
            "summary": {bank: flat metrics, fused ones prefixed "fused_"}}``
        """
        speech_spk = [item["spk_id"] for item in items]
        results = {
            "fields": {},
            "summary": {},
            "columns": [
                ("s2t_mAP@10", "S>T mAP@10"),
                ("s2t_mean_rank", "S>T MeanR"),
                ("t2s_mAP@10", "T>S mAP@10"),
                ("t2s_mean_rank", "T>S MeanR"),
            ],
            "mean_row": False,
            "note": (
                "Speaker-text retrieval over the evaluation set (relevant = "
                f"same speaker), mAP@{self.k} and mean rank; fused: each "
                f"query replaced by the weighted mean of its top-"
                f"{self.fusion_n} neighbours in the other modality."
            ),
        }
        for bank in banks:
            texts, text_spk = self.speaker_texts(items, bank)
            text = encode_texts(texts).float().cpu()
            plain = speaker_retrieval_metrics(
                speech, text, speech_spk, text_spk, k=self.k
            )
            fused = speaker_retrieval_metrics(
                speech,
                text,
                speech_spk,
                text_spk,
                k=self.k,
                fusion_n=self.fusion_n,
            )
            results["fields"][bank] = {"plain": plain, "fused": fused}
            summary = {}
            for prefix, res in (("", plain), ("fused_", fused)):
                for direction in ("s2t", "t2s"):
                    for key, value in res[direction].items():
                        summary[f"{prefix}{direction}_{key}"] = float(value)
            results["summary"][bank] = summary
            # t-SNE maps: written once, by the main process under DDP
            if trials and self.plot_folder and if_main_process():
                self._plot(speech, speech_spk, text, text_spk, bank, tag)
        return results

    def _plot(self, speech, speech_spk, text, text_spk, bank, tag):
        """t-SNE maps of a subset of the speakers and their utterances;
        returns the coordinates of each set."""
        keep = set(sorted(set(speech_spk))[: self.max_plot_speakers])
        by_speaker = {}
        for i in np.random.default_rng(0).permutation(len(speech_spk)):
            rows = by_speaker.setdefault(speech_spk[i], [])
            if speech_spk[i] in keep and len(rows) < self.max_plot_utterances:
                rows.append(int(i))
        s_idx = sorted(i for rows in by_speaker.values() for i in rows)
        t_idx = [i for i, s in enumerate(text_spk) if s in keep]
        speech, text = speech[s_idx], text[t_idx]
        s_lab = [speech_spk[i] for i in s_idx]
        t_lab = [text_spk[i] for i in t_idx]
        sets = {
            "speech": speech,
            "text": text,
            "speech (fused)": fuse_queries(speech, text, n=self.fusion_n),
            "text (fused)": fuse_queries(text, speech, n=self.fusion_n),
        }
        labels = {
            "speech": s_lab,
            "text": t_lab,
            "speech (fused)": s_lab,
            "text (fused)": t_lab,
        }
        os.makedirs(self.plot_folder, exist_ok=True)
        path = os.path.join(self.plot_folder, f"tsne_{tag}_{bank}.png")
        coords = tsne_plot(
            {name: emb.numpy() for name, emb in sets.items()},
            labels,
            path,
            title=f"{tag}, {bank} descriptions, coloured by speaker",
            n_iter=500,
        )
        logger.info(f"t-SNE map written to {path}")
        return coords

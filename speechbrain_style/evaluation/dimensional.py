"""Evaluation of speech with dimensional emotion labels (valence, arousal).

EmotionRankCLAP asks two questions of a speech-text space trained on
descriptions generated from valence and arousal values:

* does retrieval respect the ORDER of the values? Ordinal consistency:
  Kendall's tau between the items' similarity to a text query and their
  valence (VOC) or arousal (AOC) values;
* how far apart are the two modalities? The modality gap: MMD (RBF kernel,
  median-heuristic bandwidth) and Wasserstein distance between the speech
  embeddings and the embeddings of their descriptions.

:class:`DimensionalEvaluator` answers both and adds the usual retrieval
metrics over the binned levels (each dimension's levels are the classes of
a :class:`speechbrain_style.evaluation.retrieval.RetrievalEvaluator`, so tables,
trials and plots are the same as for the categorical corpora). It has the
evaluator interface ``StyleRetrievalBrain`` uses (``fields``, ``banks``,
``selection_metric``, ``evaluate``), so a recipe selects it in its yaml.

Definitions (one query per level of a dimension, the prompt ensemble of up
to ``max_prompts_per_level`` descriptions of that level):

* ``value_tau`` (VOC on the valence row, AOC on the arousal row): mean over
  the level queries of Kendall's tau-b between the items' similarity to
  the query and ``-|value - c|``, ``c`` the median value of the test items
  of that level: items closer to the described level should be more
  similar, on the continuous labels;
* ``ordinal_tau``: the same on the level indices;
* ``MMD``, ``Wasserstein``: between the speech embeddings and the text
  embeddings of one description per item (drawn with a fixed seed from the
  bank), on at most ``max_gap_items`` items (a seeded subset); the
  Wasserstein distance is the exact W1 (an optimal matching);
* plots (test only, with ``plot_folder``): similarity to the highest-level
  query against the values, one PNG per dimension.

Authors
 * speechbrain-style contributors 2026
"""

import os

import numpy as np
import torch
from speechbrain.utils.distributed import if_main_process
from speechbrain.utils.logger import get_logger

from speechbrain_style.evaluation.base import Evaluator
from speechbrain_style.evaluation.ordinal import (
    kendall_tau,
    mmd_rbf,
    ordinal_consistency_over_queries,
    plot_similarity_vs_values,
    wasserstein_distance_embeddings,
)
from speechbrain_style.evaluation.retrieval import (
    TABLE_COLUMNS,
    TABLE_NOTE,
    RetrievalEvaluator,
)
from speechbrain_style.prompts.dimensional import (
    DIMENSIONS,
    DimensionalDescriber,
)

logger = get_logger(__name__)

DIMENSIONAL_COLUMNS = (
    ("t2s_value_tau", "VOC/AOC"),
    *TABLE_COLUMNS,
    ("modality_MMD", "MMD"),
    ("modality_Wasserstein", "W1"),
)


class DimensionalEvaluator(Evaluator):
    """Retrieval, ordinal-consistency and modality-gap metrics.

    Arguments
    ---------
    describer : DimensionalDescriber, optional
        Bins and prompt banks (default: 1-7 scale bins).
    banks : list of str
        Prompt banks to report at test time; validation uses the first.
    max_prompts_per_level : int
        Descriptions ensembled into one level query (a seeded subset of the
        level's descriptions over every level of the other dimension).
    max_gap_items : int
        Items used for the modality gap (a seeded subset when there are
        more; MMD and the exact W1 are quadratic and cubic in it).
    plot_folder : str, optional
        Where test evaluations write the similarity-vs-values plots.
    seed : int
        Seed of the prompt subsets, the paired descriptions and the gap
        subset.
    **kwargs
        Passed to
        :class:`speechbrain_style.evaluation.retrieval.RetrievalEvaluator`
        (``ks``, ``map_k``, ``trial_ks``, ``num_trials``,
        ``num_distractors``, ``trial_seed``, ``trials_folder``,
        ``selection_metric``).

    Example
    -------
    >>> ev = DimensionalEvaluator(banks=["train"], max_gap_items=10)
    >>> def encode(texts):  # a toy text encoder: negative vs positive words
    ...     neg = ("negative", "unhappy", "down", "miserable", "upset")
    ...     return torch.tensor([
    ...         [1.0, 0.0] if any(w in t for w in neg) else [0.0, 1.0]
    ...         for t in texts])
    >>> items = [{"id": "a", "valence": 1.5, "arousal": 4.0},
    ...          {"id": "b", "valence": 6.5, "arousal": 4.0},
    ...          {"id": "c", "valence": 2.0, "arousal": 4.0}]
    >>> speech = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]])
    >>> res = ev.evaluate(speech, items, encode)
    >>> res["fields"]["train"]["valence"]["t2s"]["R@1"]
    1.0
    >>> res["summary"]["train"]["modality_MMD"] < 0.01
    True
    """

    def __init__(
        self,
        describer=None,
        banks=("train", "heldout"),
        max_prompts_per_level=32,
        max_gap_items=2000,
        plot_folder=None,
        seed=0,
        **kwargs,
    ):
        if describer is None:
            describer = DimensionalDescriber()
        if not isinstance(describer, DimensionalDescriber):
            raise TypeError(
                "describer must be a DimensionalDescriber, got "
                f"{type(describer).__name__}"
            )
        for name, value in (
            ("max_prompts_per_level", max_prompts_per_level),
            ("max_gap_items", max_gap_items),
        ):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {value!r}")
            if value < 2:
                raise ValueError(f"{name} must be >= 2, got {value}")
        self.describer = describer
        self.max_prompts_per_level = max_prompts_per_level
        self.max_gap_items = max_gap_items
        self.plot_folder = plot_folder
        self.seed = seed
        self.level_names = {
            dim: [
                describer.synonyms(dim, level, "train")[0]
                for level in range(describer.num_levels(dim))
            ]
            for dim in DIMENSIONS
        }
        self.levels = RetrievalEvaluator(
            list(DIMENSIONS),
            self.level_prompts,
            banks=banks,
            ordinal_fields=self.level_names,
            **kwargs,
        )

    @property
    def fields(self):
        """The item fields the evaluator reads: valence and arousal."""
        return list(DIMENSIONS)

    @property
    def banks(self):
        """The prompt banks reported at test time."""
        return self.levels.banks

    @property
    def selection_metric(self):
        """Summary key used to select checkpoints."""
        return self.levels.selection_metric

    def level_prompts(self, field, value, bank):
        """Descriptions of level ``value`` (a level name) of ``field``.

        A seeded subset of ``max_prompts_per_level`` of the descriptions
        that combine this level with every level of the other dimension.

        Arguments
        ---------
        field : str
            "valence" or "arousal".
        value : str
            A level name (first train synonym, e.g. "very negative").
        bank : str
            Prompt bank.

        Returns
        -------
        list of str
        """
        names = self.level_names[field]
        if value not in names:
            raise ValueError(
                f"Unknown {field} level {value!r}; expected one of {names}"
            )
        level = names.index(value)
        other = "arousal" if field == "valence" else "valence"
        prompts = []
        for other_level in range(self.describer.num_levels(other)):
            cell = (
                (level, other_level)
                if field == "valence"
                else (other_level, level)
            )
            prompts.extend(self.describer.prompts_for_levels(*cell, bank))
        if len(prompts) <= self.max_prompts_per_level:
            return prompts
        rng = np.random.default_rng([self.seed, DIMENSIONS.index(field), level])
        keep = rng.choice(len(prompts), self.max_prompts_per_level, False)
        return [prompts[i] for i in sorted(keep)]

    @torch.no_grad()
    def score(self, speech, items, encode_texts, banks, trials, tag):
        """Computes every metric for both dimensions and every bank.

        Arguments as :meth:`Evaluator.score`.

        Returns
        -------
        dict
            The :class:`RetrievalEvaluator` structure (fields "valence" and
            "arousal"), with ``value_tau`` in each field's ``t2s`` metrics,
            ``modality_MMD`` / ``modality_Wasserstein`` in each summary,
            and the plot paths under ``"plots"``.
        """
        values = {dim: self._values(items, dim) for dim in DIMENSIONS}
        level_items = [
            {
                "id": item["id"],
                **{
                    dim: self.level_names[dim][
                        self.describer.level(dim, float(values[dim][i]))
                    ]
                    for dim in DIMENSIONS
                },
            }
            for i, item in enumerate(items)
        ]
        results = self.levels.evaluate(
            speech,
            level_items,
            encode_texts,
            banks=banks,
            trials=trials,
            trials_tag=tag,
        )
        results["plots"] = {}
        for bank, per_field in results["fields"].items():
            for dim in DIMENSIONS:
                queries, centres, _ = self._level_queries(
                    dim, bank, level_items, values[dim], encode_texts
                )
                per_field[dim]["t2s"]["value_tau"] = float(
                    ordinal_consistency_over_queries(
                        queries, centres, speech, values[dim], "dot"
                    )
                )
            gap = self.modality_gap(speech, items, values, bank, encode_texts)
            summary = results["summary"][bank]
            summary["t2s_value_tau"] = float(
                np.mean([per_field[d]["t2s"]["value_tau"] for d in DIMENSIONS])
            )
            summary.update({f"modality_{k}": v for k, v in gap.items()})
            if trials and self.plot_folder is not None:
                results["plots"].update(
                    self._plot(
                        speech,
                        level_items,
                        values,
                        bank,
                        encode_texts,
                        tag,
                    )
                )
        results["columns"] = DIMENSIONAL_COLUMNS
        results["note"] = (
            "Rows: levels of each dimension as classes. VOC/AOC: Kendall's "
            "tau between similarity to each level query and closeness of "
            "the items' values to the level (mean over levels). MMD, W1: "
            "modality gap between speech and description embeddings "
            "(summary). " + TABLE_NOTE
        )
        return results

    def _values(self, items, dim):
        out = []
        for item in items:
            value = item.get(dim)
            if value is None:
                raise ValueError(
                    f"Item {item.get('id')!r} has no {dim} value; the "
                    "dimensional evaluation needs valence and arousal"
                )
            out.append(float(value))
        return np.asarray(out)

    def _level_queries(self, dim, bank, level_items, values, encode_texts):
        """Queries of the levels present in the items, their median values
        and their level names."""
        present = [
            name
            for name in self.level_names[dim]
            if any(item[dim] == name for item in level_items)
        ]
        queries = self.levels.class_queries(dim, present, bank, encode_texts)
        labels = np.array([item[dim] for item in level_items])
        centres = np.array(
            [float(np.median(values[labels == name])) for name in present]
        )
        return queries, centres, present

    def paired_descriptions(self, items, values, bank):
        """One description per item from ``bank`` (seeded per position)."""
        describer = DimensionalDescriber(bins=self.describer.bins, bank=bank)
        describer.captions = self.describer.captions
        rng = np.random.default_rng(self.seed)
        return [
            describer.describe_item(
                item["id"],
                float(values["valence"][i]),
                float(values["arousal"][i]),
                rng,
            )
            for i, item in enumerate(items)
        ]

    def modality_gap(self, speech, items, values, bank, encode_texts):
        """MMD and exact W1 between speech and paired description
        embeddings (at most ``max_gap_items``, a seeded subset).

        Arguments
        ---------
        speech : torch.Tensor
            (N, D) speech embeddings.
        items : list of dict
            The items (for their ids / captions).
        values : dict
            ``{"valence": (N,), "arousal": (N,)}`` arrays.
        bank : str
            Prompt bank of the descriptions.
        encode_texts : callable
            The text encoder.

        Returns
        -------
        dict
            ``{"MMD": float, "Wasserstein": float}``.
        """
        keep = np.arange(len(items))
        if len(keep) > self.max_gap_items:
            rng = np.random.default_rng(self.seed)
            keep = np.sort(rng.choice(len(keep), self.max_gap_items, False))
        texts = self.paired_descriptions(
            [items[i] for i in keep],
            {dim: values[dim][keep] for dim in DIMENSIONS},
            bank,
        )
        text = encode_texts(texts).float().cpu().numpy()
        audio = speech[torch.as_tensor(keep)].numpy()
        return {
            "MMD": float(mmd_rbf(audio, text)),
            "Wasserstein": float(wasserstein_distance_embeddings(audio, text)),
        }

    def _plot(self, speech, level_items, values, bank, encode_texts, tag):
        """Similarity-vs-values plots; under DDP only the main process
        writes them (every process returns the same paths)."""
        os.makedirs(self.plot_folder, exist_ok=True)
        paths = {}
        for dim in DIMENSIONS:
            queries, _, present = self._level_queries(
                dim, bank, level_items, values[dim], encode_texts
            )
            sims = (speech @ queries[-1]).numpy()
            path = os.path.join(
                self.plot_folder, f"similarity_vs_{dim}_{tag}_{bank}.png"
            )
            if if_main_process():
                plot_similarity_vs_values(
                    sims,
                    values[dim],
                    path,
                    xlabel=dim,
                    ylabel=f'similarity to "{present[-1]}"',
                    title=f"{bank} prompts, Kendall tau = "
                    f"{kendall_tau(sims, values[dim]):.3f}",
                )
            paths[f"{dim}_{bank}"] = path
        return paths

"""Retrieval evaluation of a speech-text model on labelled speech.

A labelled test set (every utterance has a class for one or more label
fields, e.g. ``emotion`` for ESD, or ``sex``/``pitch``/``rate``... for the
embedded corpus) is turned into retrieval problems in both directions:

* text -> speech: the query of a class is the prompt ensemble of that class
  (the mean of the L2-normalised embeddings of all its prompts, so that its
  dot product with an utterance is the mean cosine similarity to every prompt,
  as in the expressive speech retrieval paper); the gallery is the whole test
  set and every utterance of the class is relevant.
* speech -> text: every utterance ranks the class queries of the field.
* the per-class trial protocol of the expressive speech retrieval paper
  (docs/protocols.md): per class, ``num_trials`` trials of 1 positive + 400
  distractors from the other classes, seeded, saved to disk and reused.

Prompts come from a ``prompt_fn(field, value, bank)`` callable so that any
dataset can plug in its own descriptions, with a training bank and a held-out
bank reported separately.

Authors
 * speechbrain-style contributors 2026
"""

import json
import os

import numpy as np
import torch

from speechbrain_style.dataio.files import atomic_output
from speechbrain_style.evaluation.base import Evaluator
from speechbrain_style.evaluation.metrics import (
    get_or_make_trials,
    retrieval_metrics,
    trial_recall,
)
from speechbrain_style.evaluation.plots import new_figure, save_figure

try:
    from speechbrain.utils.logger import get_logger
except ImportError:  # pragma: no cover
    import logging

    get_logger = logging.getLogger

logger = get_logger(__name__)

DIRECTIONS = ("t2s", "s2t")


def prompt_ensemble(text_embeddings, normalize=False):
    """Averages the L2-normalised embeddings of the prompts of one class.

    Arguments
    ---------
    text_embeddings : torch.Tensor
        (P, D) embeddings of the P prompts of a class.
    normalize : bool
        If True, L2-normalise the mean (ranking of utterances is unchanged,
        but the scores are no longer mean cosine similarities).

    Returns
    -------
    torch.Tensor
        (D,) query vector: its dot product with a unit vector is the mean
        cosine similarity to every prompt.

    Example
    -------
    >>> e = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    >>> prompt_ensemble(e)
    tensor([0.5000, 0.5000])
    """
    emb = torch.nn.functional.normalize(text_embeddings.float(), dim=-1)
    query = emb.mean(dim=0)
    if normalize:
        query = torch.nn.functional.normalize(query, dim=-1)
    return query


class RetrievalEvaluator(Evaluator):
    """Evaluates speech embeddings against class descriptions.

    Arguments
    ---------
    fields : list of str
        Label fields of the items to evaluate (one table row each).
    prompt_fn : callable
        ``prompt_fn(field, value, bank) -> list of str``: the descriptions of
        class ``value`` of ``field`` in prompt bank ``bank``.
    banks : list of str
        Prompt banks to report at test time (e.g. ``["train", "heldout"]``).
        Validation uses only the first one, so that the held-out bank is
        never used for model selection.
    ks : tuple of int
        Cut-offs of Recall@K for the full-gallery metrics.
    map_k : int
        Cut-off of mAP.
    trial_ks : tuple of int
        Cut-offs of Recall@K for the trial protocol.
    num_trials : int
        Trials per class.
    num_distractors : int
        Distractors per trial.
    trial_seed : int
        Seed of the trial protocol.
    trials_folder : str, optional
        Where the trials are saved and reused from. Without it, no trials.
    selection_metric : str
        Key of the summary used to select checkpoints, e.g. ``"t2s_mAP@10"``:
        averaged over the fields.
    ordinal_fields : dict, optional
        ``{field: [classes from low to high]}``: for these fields the
        ordinal consistency is also reported (``ordinal_tau``: Kendall's tau
        between each class query's similarities and the closeness of the
        items' level to the query's level, averaged over the class queries;
        see ``speechbrain_style.evaluation.ordinal``).

    Example
    -------
    >>> def prompts(field, value, bank):
    ...     return [f"{value} one", f"{value} two"]
    >>> ev = RetrievalEvaluator(["color"], prompts, banks=["train"])
    >>> def encode(texts):  # a toy text encoder: red -> e0, blue -> e1
    ...     return torch.tensor([[1.0, 0.0] if "red" in t else [0.0, 1.0]
    ...                          for t in texts])
    >>> items = [{"id": "a", "color": "red"}, {"id": "b", "color": "blue"}]
    >>> speech = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
    >>> res = ev.evaluate(speech, items, encode)
    >>> res["summary"]["train"]["t2s_R@1"]
    1.0
    """

    def __init__(
        self,
        fields,
        prompt_fn,
        banks=("train", "heldout"),
        ks=(1, 5, 10),
        map_k=10,
        trial_ks=(1, 5, 10, 20),
        num_trials=1000,
        num_distractors=400,
        trial_seed=42,
        trials_folder=None,
        selection_metric="t2s_mAP@10",
        ordinal_fields=None,
    ):
        if not fields:
            raise ValueError("RetrievalEvaluator needs at least one field")
        self.fields = list(fields)
        self.prompt_fn = prompt_fn
        self.banks = list(banks)
        self.ks = tuple(ks)
        self.map_k = map_k
        self.trial_ks = tuple(trial_ks)
        self.num_trials = num_trials
        self.num_distractors = num_distractors
        self.trial_seed = trial_seed
        self.trials_folder = trials_folder
        self.selection_metric = selection_metric
        self.ordinal_fields = dict(ordinal_fields or {})

    @torch.no_grad()
    def class_queries(self, field, classes, bank, encode_texts):
        """Returns the (C, D) prompt-ensemble queries of ``classes``."""
        prompts, owner = [], []
        for idx, value in enumerate(classes):
            class_prompts = list(self.prompt_fn(field, value, bank))
            if not class_prompts:
                raise ValueError(
                    f"No prompt for class '{value}' of field '{field}' in "
                    f"bank '{bank}'"
                )
            prompts.extend(class_prompts)
            owner.extend([idx] * len(class_prompts))
        emb = encode_texts(prompts).float().cpu()
        owner = torch.tensor(owner)
        return torch.stack(
            [prompt_ensemble(emb[owner == i]) for i in range(len(classes))]
        )

    def score(self, speech, items, encode_texts, banks, trials, tag):
        """Computes every metric for every field and bank.

        Arguments as :meth:`Evaluator.score`.

        Returns
        -------
        dict
            ``{"fields": {bank: {field: {...}}}, "summary": {bank: {...}}}``;
            a field entry holds ``t2s`` / ``s2t`` full-gallery metrics,
            ``per_class`` t2s metrics and optionally ``trials``; a summary
            averages each metric over fields (unweighted).
        """
        ids = [item["id"] for item in items]
        results = {"fields": {}, "summary": {}}
        for bank in banks:
            per_field = {}
            for field in self.fields:
                per_field[field] = self._evaluate_field(
                    field,
                    bank,
                    speech,
                    items,
                    ids,
                    encode_texts,
                    trials,
                    tag,
                )
            results["fields"][bank] = per_field
            results["summary"][bank] = _average_fields(per_field)
        return results

    def _evaluate_field(
        self, field, bank, speech, items, ids, encode_texts, trials, tag
    ):
        try:
            labels = [item[field] for item in items]
        except KeyError as err:
            raise ValueError(f"An item has no field '{field}'") from err
        # Items whose class is None do not take part in this field's row
        # (e.g. the pitch of whispered speech, which cannot be heard).
        keep = [i for i, value in enumerate(labels) if value is not None]
        if len(keep) < len(labels):
            speech = speech[keep]
            ids = [ids[i] for i in keep]
            labels = [labels[i] for i in keep]
        if not labels:
            raise ValueError(f"No item has a class for field '{field}'")
        classes = sorted(set(labels))
        class_index = {value: i for i, value in enumerate(classes)}
        item_class = torch.tensor([class_index[v] for v in labels])
        queries = self.class_queries(field, classes, bank, encode_texts)
        scores = queries @ speech.T  # (C, N)
        relevance = (
            item_class.unsqueeze(0) == torch.arange(len(classes))[:, None]
        )
        out = {
            "classes": classes,
            "num_items": len(labels),
            "t2s": retrieval_metrics(scores, relevance, self.ks, self.map_k),
            "s2t": retrieval_metrics(
                scores.T, relevance.T, self.ks, self.map_k
            ),
        }
        out["per_class"] = {
            value: retrieval_metrics(
                scores[i : i + 1], relevance[i : i + 1], self.ks, self.map_k
            )
            for i, value in enumerate(classes)
        }
        # speech->text per class: the utterances of a class as queries
        out["per_class_s2t"] = {
            value: retrieval_metrics(
                scores.T[item_class == i],
                relevance.T[item_class == i],
                self.ks,
                self.map_k,
            )
            for i, value in enumerate(classes)
        }
        if field in self.ordinal_fields and len(classes) > 1:
            from speechbrain_style.evaluation.ordinal import (
                ordinal_consistency_over_queries,
            )

            order = list(self.ordinal_fields[field])
            tau = ordinal_consistency_over_queries(
                queries,
                torch.tensor([float(order.index(c)) for c in classes]),
                speech,
                torch.tensor([float(order.index(v)) for v in labels]),
                similarity="dot",
            )
            out["t2s"]["ordinal_tau"] = float(tau)
        if trials and self.trials_folder is not None and len(classes) > 1:
            out["trials"] = self._run_trials(
                field, classes, scores, ids, labels, tag
            )
        return out

    def _run_trials(self, field, classes, scores, ids, labels, tag):
        os.makedirs(self.trials_folder, exist_ok=True)
        path = os.path.join(self.trials_folder, f"trials_{tag}_{field}.json")
        trials = get_or_make_trials(
            path,
            ids,
            labels,
            num_trials=self.num_trials,
            num_distractors=self.num_distractors,
            seed=self.trial_seed,
            allow_fewer=True,
        )
        class_scores = {
            value: scores[i].numpy() for i, value in enumerate(classes)
        }
        id_to_index = {item_id: i for i, item_id in enumerate(ids)}
        return trial_recall(class_scores, trials, id_to_index, self.trial_ks)


def _average_fields(per_field):
    """Unweighted mean of each scalar metric over fields."""
    sums, counts = {}, {}
    for res in per_field.values():
        for key, value in _flatten_field(res).items():
            if isinstance(value, (int, float)):
                sums[key] = sums.get(key, 0.0) + float(value)
                counts[key] = counts.get(key, 0) + 1
    return {key: sums[key] / counts[key] for key in sums}


TABLE_COLUMNS = (
    ("t2s_ordinal_tau", "T>S tau"),
    ("t2s_R@1", "T>S R@1"),
    ("t2s_R@5", "R@5"),
    ("t2s_R@10", "R@10"),
    ("t2s_mAP@10", "mAP@10"),
    ("s2t_R@1", "S>T R@1"),
    ("s2t_R@5", "R@5"),
    ("s2t_R@10", "R@10"),
    ("s2t_mAP@10", "mAP@10"),
    ("trial_R@1", "Trial R@1"),
    ("trial_R@5", "R@5"),
    ("trial_R@10", "R@10"),
    ("trial_R@20", "R@20"),
)


def format_table(results, title=""):
    """Formats the per-field and average rows of ``evaluate`` as text.

    Arguments
    ---------
    results : dict
        Output of ``RetrievalEvaluator.evaluate`` (or of an evaluator with
        the same structure; ``results["columns"]`` may give the columns as
        ``(key, header)`` pairs, ``results["note"]`` the closing note, and
        ``results["mean_row"] = False`` drops the "mean" row).
    title : str
        Printed above each bank's table.

    Returns
    -------
    str
        One table per prompt bank: a row per field and a "mean" row.
    """
    columns = results.get("columns", TABLE_COLUMNS)
    lines = []
    for bank, per_field in results["fields"].items():
        rows = [
            (field, _flatten_field(res)) for field, res in per_field.items()
        ]
        if results.get("mean_row", True):
            rows.append(("mean", results["summary"][bank]))
        lines.append(f"{title}prompt bank: {bank}".strip())
        header = f"{'field':<12}" + "".join(
            f"{name:>12}" for _, name in columns
        )
        lines.append(header)
        lines.append("-" * len(header))
        for name, flat in rows:
            cells = "".join(
                f"{flat[key]:>12.4f}" if key in flat else f"{'-':>12}"
                for key, _ in columns
            )
            lines.append(f"{name:<12}{cells}")
        lines.append("")
    lines.append(results.get("note", TABLE_NOTE))
    return "\n".join(lines)


TABLE_NOTE = (
    "T>S: text->speech over the whole test set (class prompt "
    "ensembles as queries); S>T: speech->text over the class queries; "
    "Trial: 1 positive + 400 distractors per trial (chance R@1 = 1/401)."
)


def _flatten_field(res):
    flat = {}
    for direction in DIRECTIONS:
        for key, value in res.get(direction, {}).items():
            flat[f"{direction}_{key}"] = value
    if "trials" in res:
        for key, value in res["trials"]["average"].items():
            flat[f"trial_{key}"] = value
    return flat


def save_results(results, folder, name="retrieval"):
    """Writes ``results`` as JSON and the text table next to it.

    Every file is written atomically (a unique temporary file replaced
    into place, :func:`speechbrain_style.dataio.files.atomic_output`).
    Under DDP call it on the main process only (``StyleRetrievalBrain``
    does).

    Arguments
    ---------
    results : dict
        Output of ``RetrievalEvaluator.evaluate``.
    folder : str
        Output folder (created).
    name : str
        Base name of the files.

    Returns
    -------
    dict
        Paths of the written files (``json``, ``table``).
    """
    os.makedirs(folder, exist_ok=True)
    json_path = os.path.join(folder, f"{name}.json")
    table_path = os.path.join(folder, f"{name}.txt")
    with atomic_output(json_path) as temporary:
        with open(temporary, "w", encoding="utf-8") as fout:
            json.dump(results, fout, indent=2, default=_to_builtin)
    with atomic_output(table_path) as temporary:
        with open(temporary, "w", encoding="utf-8") as fout:
            fout.write(format_table(results) + "\n")
    paths = {"json": json_path, "table": table_path}
    plot_path = os.path.join(folder, f"{name}.png")
    if plot_results(results, plot_path):
        paths["plot"] = plot_path
    for field in next(iter(results["fields"].values()), {}):
        field_path = os.path.join(folder, f"{name}_{field}_per_class.png")
        if plot_per_class(results, field, field_path):
            paths[f"plot_{field}"] = field_path
    return paths


def plot_per_class(results, field, path, max_classes=30):
    """Per-class bar chart of one field: trial R@K (or text->speech mAP).

    One panel per prompt bank; for each class, one bar per trial cut-off
    (R@1/5/10/20) when the trial protocol ran, else text->speech mAP@10.

    Arguments
    ---------
    results : dict
        Output of ``RetrievalEvaluator.evaluate``.
    field : str
        The field to plot.
    path : str
        Where to write the PNG.
    max_classes : int
        Fields with more classes are not plotted (returns False).

    Returns
    -------
    bool
        Whether a plot was written.
    """
    banks = [b for b in results["fields"] if field in results["fields"][b]]
    if not banks:
        return False
    classes = results["fields"][banks[0]][field].get("classes")
    if not classes or len(classes) > max_classes:
        return False
    fig, axes = new_figure(
        len(banks),
        1,
        figsize=(max(6, 0.55 * len(classes) + 2), 2.8 * len(banks)),
    )
    if fig is None:
        return False
    for ax, bank in zip(axes[:, 0], banks, strict=True):
        res = results["fields"][bank][field]
        if "trials" in res:
            series = [
                (key, [res["trials"][c][key] for c in classes])
                for key in res["trials"]["average"]
            ]
        else:
            series = [
                ("t2s mAP@10", [res["per_class"][c]["mAP@10"] for c in classes])
            ]
        width = 0.8 / len(series)
        for j, (label, values) in enumerate(series):
            xs = [
                i + (j - (len(series) - 1) / 2) * width
                for i in range(len(classes))
            ]
            ax.bar(xs, values, width=width, label=label)
        ax.set_xticks(range(len(classes)))
        ax.set_xticklabels(classes, rotation=35, ha="right", fontsize=8)
        ax.set_ylim(0, 1.22)  # room for the legend above the bars
        ax.set_title(f"{field}: per class, {bank} prompts", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7, ncol=len(series), loc="upper center")
    fig.tight_layout()
    save_figure(fig, path)
    return True


PLOT_METRICS = (
    ("t2s_mAP@10", "text->speech mAP@10"),
    ("s2t_R@1", "speech->text R@1"),
    ("trial_R@1", "trial R@1 (1 of 401)"),
)


def plot_results(results, path):
    """Bar chart of the main metrics per field, one panel per metric.

    Bars are grouped by field, one colour per prompt bank, with the chance
    level of the trial protocol drawn as a line.

    Arguments
    ---------
    results : dict
        Output of ``RetrievalEvaluator.evaluate``.
    path : str
        Where to write the PNG.

    Returns
    -------
    bool
        False when matplotlib is not installed (nothing written).
    """
    banks = list(results["fields"])
    fields = list(next(iter(results["fields"].values())))
    metrics = [
        (key, label)
        for key, label in PLOT_METRICS
        if any(
            key in _flatten_field(res)
            for per_field in results["fields"].values()
            for res in per_field.values()
        )
    ]
    fig, axes = new_figure(1, len(metrics), figsize=(4.2 * len(metrics), 3.6))
    if fig is None:
        return False
    width = 0.8 / max(len(banks), 1)
    for ax, (key, label) in zip(axes[0], metrics, strict=True):
        for b, bank in enumerate(banks):
            values = [
                _flatten_field(results["fields"][bank][f]).get(key, 0.0)
                for f in fields
            ]
            xs = [
                i + (b - (len(banks) - 1) / 2) * width
                for i in range(len(fields))
            ]
            ax.bar(xs, values, width=width, label=f"{bank} prompts")
        if key.startswith("trial"):
            ax.axhline(1 / 401, color="k", linestyle=":", label="chance")
        ax.set_xticks(range(len(fields)))
        ax.set_xticklabels(fields, rotation=30, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_title(label)
        ax.grid(axis="y", alpha=0.3)
    handles = {}
    for ax in axes[0]:
        for handle, text in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(text, handle)
    fig.legend(
        list(handles.values()),
        list(handles),
        loc="lower center",
        ncol=len(handles),
        fontsize=9,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    save_figure(fig, path)
    return True


def _to_builtin(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value.tolist()
    raise TypeError(f"Cannot serialise {type(value)}")

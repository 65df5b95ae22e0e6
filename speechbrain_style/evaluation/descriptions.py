"""Evaluation of speech-text models on free-text descriptions.

A test set whose recordings have one or more free-text descriptions (and
optionally metadata fields such as gender, emotion or lists of style tags)
is scored two ways:

* description retrieval over the whole test set, both directions. The
  text gallery is the set of distinct descriptions (two descriptions that
  are equal after ``normalise_description`` are one, so recordings sharing
  a description share its relevance instead of being each other's
  negatives). Text -> speech (``t2s``): each description queries the
  recordings, the relevant ones being all the recordings it describes.
  Speech -> text (``s2t``): each recording ranks the descriptions, its own
  being relevant. R@K (a relevant item in the top K), mAP@K (precision at
  each relevant position in the top K, divided by ``min(relevant, K)``)
  and the chance level of R@K under a random ranking (hypergeometric:
  ``1 - C(G - r, K) / C(G, K)`` for r relevant items in a gallery of G,
  averaged over the queries) are reported;
* zero-shot classification of each metadata field: every value of the
  field becomes a prompt ensemble (``prompt_fn(field, value)``, e.g. the
  value in templates), and each recording ranks the field's values by its
  mean cosine similarity to their prompts. A recording with tags T (one
  value, or a list of tags) is counted right for tag t in T when t ranks in
  its top |T| (for one value: the top-1 prediction is its value).
  ``accuracy`` averages over recordings, ``per_class`` accuracy over the
  recordings carrying each value (per-tag accuracy), ``balanced_accuracy``
  averages the per-class accuracies; chance is ``|T| / C`` per recording.
  Each recording's description-retrieval metrics (speech -> text) are also
  broken down by the field's values.

The result has the structure of
``speechbrain_style.evaluation.retrieval.RetrievalEvaluator.evaluate``
(``fields``, ``summary``, ``columns``, ``note``), so the recipes' Brain logs
it, selects checkpoints on it and writes it with ``save_results``.

Authors
 * speechbrain-style contributors 2026
"""

import numpy as np
import torch
from speechbrain.utils.logger import get_logger

from speechbrain_style.evaluation.base import Evaluator
from speechbrain_style.evaluation.metrics import _check_ks, retrieval_metrics
from speechbrain_style.evaluation.retrieval import prompt_ensemble
from speechbrain_style.nnet.description_loss import normalise_description
from speechbrain_style.prompts.templates import fill_templates

logger = get_logger(__name__)

DESCRIPTIONS_ROW = "descriptions"


def chance_recall(num_relevant, gallery_size, k):
    """Expected R@K of a random ranking with ``num_relevant`` relevant items.

    Arguments
    ---------
    num_relevant : int
        Relevant items in the gallery (>= 1).
    gallery_size : int
        Items in the gallery.
    k : int
        Cut-off.

    Returns
    -------
    float
        ``1 - C(G - r, K) / C(G, K)``.

    Example
    -------
    >>> round(chance_recall(1, 10, 1), 6), round(chance_recall(1, 10, 5), 6)
    (0.1, 0.5)
    >>> round(chance_recall(2, 10, 2), 4)  # 1 - (8 * 7) / (10 * 9)
    0.3778
    """
    if not 1 <= num_relevant <= gallery_size:
        raise ValueError(
            f"Need 1 <= num_relevant <= gallery_size, got {num_relevant} and "
            f"{gallery_size}"
        )
    k = min(k, gallery_size)
    miss = 1.0
    for i in range(k):
        miss *= max(0.0, (gallery_size - num_relevant - i)) / (gallery_size - i)
    return 1.0 - miss


def _field_values(value):
    """The list of classes of a metadata value (None, "" -> [])."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [v for v in value if v is not None and str(v).strip() != ""]
    if isinstance(value, str) and not value.strip():
        return []
    return [value]


class TemplatePrompts:
    """Prompts of a metadata value: the value in every template.

    Arguments
    ---------
    templates : list of str
        Templates with ``{style}`` (``{}`` and ``{label}`` work too); the
        indefinite article before the slot agrees ("an angry voice").
    field_templates : dict, optional
        ``{field: [templates]}`` replacing ``templates`` for some fields
        (e.g. ``{"gender": ["A {style} speaker."]}``).
    value_words : dict, optional
        ``{field: {value: words}}``: how a value reads in a sentence (e.g.
        ``{"gender": {"M": "male", "F": "female"}}``); by default the value
        itself, with "_" and "-" between words as spaces.

    Example
    -------
    >>> prompts = TemplatePrompts(["A {style} voice."],
    ...     value_words={"gender": {"F": "female"}})
    >>> prompts("emotion", "angry"), prompts("gender", "F")
    (['An angry voice.'], ['A female voice.'])
    """

    def __init__(self, templates, field_templates=None, value_words=None):
        if isinstance(templates, str) or not templates:
            raise ValueError("templates must be a non-empty list of str")
        self.templates = list(templates)
        self.field_templates = dict(field_templates or {})
        self.value_words = {k: dict(v) for k, v in (value_words or {}).items()}

    def words(self, field, value):
        """How ``value`` of ``field`` reads in a prompt."""
        mapped = self.value_words.get(field, {}).get(value)
        if mapped is not None:
            return str(mapped)
        return str(value).replace("_", " ")

    def __call__(self, field, value):
        """The prompts of ``value`` of ``field``."""
        templates = self.field_templates.get(field, self.templates)
        return fill_templates(templates, self.words(field, value))


class DescriptionRetrievalEvaluator(Evaluator):
    """Description retrieval (both ways) and zero-shot field accuracy.

    Arguments
    ---------
    description_field : str
        Item field holding the list of descriptions.
    zero_shot_fields : list of str
        Metadata fields evaluated by zero-shot classification (values: a
        class, a list of tags, or None to leave the item out).
    prompt_fn : callable, optional
        ``prompt_fn(field, value) -> list of str``; required when
        ``zero_shot_fields`` is not empty (e.g. :class:`TemplatePrompts`).
    ks : sequence of int
        Cut-offs of R@K.
    map_k : int
        Cut-off of mAP.
    selection_metric : str
        Summary key used for checkpoint selection.
    bank : str
        Name of the (single) description bank in the tables.
    max_listed_classes : int
        Fields with more classes get no per-class lines in the table note
        (they stay in the JSON).

    Example
    -------
    >>> ev = DescriptionRetrievalEvaluator(
    ...     zero_shot_fields=["sex"], prompt_fn=lambda f, v: [f"a {v}"])
    >>> items = [
    ...     {"id": "a", "descriptions": ["a man", "slow"], "sex": "man"},
    ...     {"id": "b", "descriptions": ["a woman", "slow."], "sex": "woman"},
    ... ]
    >>> def encode(texts):  # a toy text encoder
    ...     vec = {"a man": [1.0, 0.0], "a woman": [0.0, 1.0]}
    ...     return torch.tensor([vec.get(t, [0.6, 0.8]) for t in texts])
    >>> speech = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> res = ev.evaluate(speech, items, encode)
    >>> res["fields"]["descriptions"]["descriptions"]["num_descriptions"]
    3
    >>> res["summary"]["descriptions"]["s2t_R@1"]
    1.0
    >>> res["fields"]["descriptions"]["sex"]["s2t"]["accuracy"]
    1.0
    """

    def __init__(
        self,
        description_field="descriptions",
        zero_shot_fields=(),
        prompt_fn=None,
        ks=(1, 5, 10),
        map_k=10,
        selection_metric="t2s_mAP@10",
        bank="descriptions",
        max_listed_classes=30,
    ):
        self.description_field = description_field
        self.zero_shot_fields = list(zero_shot_fields or ())
        if self.zero_shot_fields and prompt_fn is None:
            raise ValueError("zero_shot_fields need a prompt_fn")
        if description_field in self.zero_shot_fields:
            raise ValueError(
                f"{description_field!r} cannot be a zero-shot field"
            )
        self.prompt_fn = prompt_fn
        self.ks = _check_ks(ks)
        self.map_k = map_k
        self.selection_metric = selection_metric
        self.banks = [bank]
        self.max_listed_classes = max_listed_classes

    @property
    def fields(self):
        """Item fields the Brain collects per recording."""
        return [self.description_field, *self.zero_shot_fields]

    # ------------------------------------------------------------------ #
    def gallery(self, items):
        """Distinct descriptions and their relevance to the recordings.

        Arguments
        ---------
        items : list of dict
            Recordings with a list of descriptions each.

        Returns
        -------
        texts : list of str
            One surface form per distinct description (its first one).
        relevance : numpy.ndarray
            Bool (num_texts, num_items).
        """
        index, texts, pairs = {}, [], []
        for j, item in enumerate(items):
            descriptions = item.get(self.description_field)
            if isinstance(descriptions, str) or not descriptions:
                raise ValueError(
                    f"Item {item.get('id')!r} needs a non-empty list of "
                    f"{self.description_field!r}, got {descriptions!r}"
                )
            for text in descriptions:
                key = normalise_description(text)
                if key not in index:
                    index[key] = len(texts)
                    texts.append(text)
                pairs.append((index[key], j))
        relevance = np.zeros((len(texts), len(items)), dtype=bool)
        for i, j in pairs:
            relevance[i, j] = True
        return texts, relevance

    def score(self, speech, items, encode_texts, banks, trials, tag):
        """Every metric (see the module docstring).

        Arguments as :meth:`Evaluator.score`.

        Returns
        -------
        dict
            ``fields`` ({bank: {row: metrics}}), ``summary`` ({bank: flat
            metrics}), ``columns``, ``mean_row`` and ``note``.
        """
        del trials, tag
        bank = banks[0]
        rows = {
            DESCRIPTIONS_ROW: self._description_row(speech, items, encode_texts)
        }
        per_item_s2t = rows[DESCRIPTIONS_ROW].pop("_per_item_s2t")
        for field in self.zero_shot_fields:
            row = self._zero_shot_row(field, speech, items, encode_texts)
            if row is None:
                continue
            row["retrieval_by_value"] = _by_value(
                per_item_s2t, row.pop("_item_classes")
            )
            rows[field] = row
        summary = {
            f"{direction}_{key}": value
            for direction in ("t2s", "s2t")
            for key, value in rows[DESCRIPTIONS_ROW][direction].items()
        }
        zs = [
            row["s2t"] for name, row in rows.items() if name != DESCRIPTIONS_ROW
        ]
        for name, row in rows.items():
            if name != DESCRIPTIONS_ROW:
                summary[f"{name}_accuracy"] = row["s2t"]["accuracy"]
                summary[f"{name}_balanced_accuracy"] = row["s2t"][
                    "balanced_accuracy"
                ]
        if zs:
            summary["zero_shot_balanced_accuracy"] = float(
                np.mean([m["balanced_accuracy"] for m in zs])
            )
        return {
            "fields": {bank: rows},
            "summary": {bank: summary},
            "columns": self.columns(),
            "mean_row": False,
            "note": self.note(rows),
        }

    def _description_row(self, speech, items, encode_texts):
        """Full-gallery description retrieval, both directions."""
        texts, relevance = self.gallery(items)
        text = encode_texts(texts).float().cpu()
        scores = (text @ speech.T).numpy()
        t2s = retrieval_metrics(scores, relevance, self.ks, self.map_k)
        s2t = retrieval_metrics(
            scores.T, relevance.T, self.ks, self.map_k, return_per_query=True
        )
        per_item = s2t.pop("per_query")
        for metrics, rel in ((t2s, relevance), (s2t, relevance.T)):
            counts = rel.sum(axis=1)
            for k in self.ks:
                metrics[f"chance_R@{k}"] = float(
                    np.mean(
                        [chance_recall(int(c), rel.shape[1], k) for c in counts]
                    )
                )
        return {
            "num_items": len(items),
            "num_descriptions": len(texts),
            "t2s": t2s,
            "s2t": s2t,
            "_per_item_s2t": per_item,
        }

    def _zero_shot_row(self, field, speech, items, encode_texts):
        """Zero-shot classification of ``field`` (None if < 2 classes)."""
        try:
            values = [_field_values(item[field]) for item in items]
        except KeyError as err:
            raise ValueError(f"An item has no field {field!r}") from err
        keep = [i for i, v in enumerate(values) if v]
        classes = sorted({c for i in keep for c in values[i]}, key=str)
        if len(classes) < 2:
            logger.warning(
                f"Zero-shot field {field!r} has {len(classes)} class(es) in "
                "this set: not evaluated"
            )
            return None
        class_index = {c: k for k, c in enumerate(classes)}
        prompts, owner = [], []
        for k, value in enumerate(classes):
            ensemble = list(self.prompt_fn(field, value))
            if not ensemble:
                raise ValueError(f"No prompt for {field}={value!r}")
            prompts += ensemble
            owner += [k] * len(ensemble)
        emb = encode_texts(prompts).float().cpu()
        owner = torch.tensor(owner)
        queries = torch.stack(
            [prompt_ensemble(emb[owner == k]) for k in range(len(classes))]
        )
        scores = (speech[keep] @ queries.T).numpy()  # (N', C)
        relevance = np.zeros(scores.shape, dtype=bool)
        for row, i in enumerate(keep):
            for value in values[i]:
                relevance[row, class_index[value]] = True
        # rank of every class per recording (0 = best; ties pessimistic)
        ranks = (scores[:, None, :] >= scores[:, :, None]).sum(-1) - 1
        num_true = relevance.sum(axis=1)
        hits = relevance & (ranks < num_true[:, None])
        per_class = {}
        for k, value in enumerate(classes):
            carrying = relevance[:, k]
            per_class[str(value)] = {
                "accuracy": float(hits[carrying, k].mean()),
                "num_items": int(carrying.sum()),
            }
        accuracy = float((hits.sum(axis=1) / num_true).mean())
        balanced = float(np.mean([m["accuracy"] for m in per_class.values()]))
        s2t = {
            "accuracy": accuracy,
            "balanced_accuracy": balanced,
            "chance_accuracy": float((num_true / len(classes)).mean()),
        }
        item_classes = [None] * len(items)
        for i in keep:
            item_classes[i] = [str(v) for v in values[i]]
        return {
            "values": [str(c) for c in classes],
            "num_items": len(keep),
            "multi_label": bool((num_true > 1).any()),
            "s2t": s2t,
            "per_class_accuracy": per_class,
            "class_t2s": retrieval_metrics(
                scores.T, relevance.T, self.ks, self.map_k
            ),
            "_item_classes": item_classes,
        }

    # ------------------------------------------------------------------ #
    def columns(self):
        """(summary key, header) pairs of the text table."""
        columns = []
        for direction, label in (("t2s", "T>S"), ("s2t", "S>T")):
            names = [f"R@{k}" for k in self.ks] + [f"mAP@{self.map_k}"]
            columns += [
                (f"{direction}_{n}", f"{label} {n}" if i == 0 else n)
                for i, n in enumerate(names)
            ]
            columns.append((f"{direction}_chance_R@1", "chance R@1"))
        columns += [
            ("s2t_accuracy", "ZS acc"),
            ("s2t_balanced_accuracy", "ZS bal.acc"),
            ("s2t_chance_accuracy", "ZS chance"),
        ]
        return columns

    def note(self, rows):
        """The text under the table: what the numbers are, per-class lines."""
        desc = rows[DESCRIPTIONS_ROW]
        lines = [
            f"Row 'descriptions': full gallery of {desc['num_items']} "
            f"recordings and {desc['num_descriptions']} distinct "
            "descriptions; T>S: a description retrieves the recordings it "
            "describes; S>T: a recording retrieves its descriptions; chance "
            "R@1: expected R@1 of a random ranking.",
        ]
        fields = [name for name in rows if name != DESCRIPTIONS_ROW]
        if fields:
            lines.append(
                "Other rows: zero-shot classification of the field among its "
                "values (prompt ensembles); ZS acc: a recording's true value "
                "(tags: each of its |T| tags) in its top 1 (top |T|); bal.acc: "
                "mean of the per-class accuracies; chance: |T| / classes."
            )
        for name in fields:
            row = rows[name]
            per_class = row["per_class_accuracy"]
            if len(per_class) > self.max_listed_classes:
                continue
            lines.append(f"Per-class zero-shot accuracy, {name}:")
            for value, metrics in per_class.items():
                by_value = row["retrieval_by_value"].get(value, {})
                r1 = by_value.get("s2t_R@1")
                extra = "" if r1 is None else f"  description S>T R@1 {r1:.3f}"
                lines.append(
                    f"  {value:<24} {metrics['accuracy']:.3f} "
                    f"(n={metrics['num_items']}){extra}"
                )
        return "\n".join(lines)


def _by_value(per_item, item_classes):
    """Mean of each per-recording metric over the recordings of each class."""
    groups = {}
    for i, classes in enumerate(item_classes):
        for value in classes or ():
            groups.setdefault(value, []).append(i)
    return {
        value: {
            f"s2t_{key}": float(np.asarray(values)[rows].mean())
            for key, values in per_item.items()
            if key != "rank"
        }
        | {"num_items": len(rows)}
        for value, rows in sorted(groups.items())
    }

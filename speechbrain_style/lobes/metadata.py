"""Classifiers of metadata fields on the speech embedding (auxiliary loss).

Free-text descriptions mention a factor only now and then ("A man
speaking." says nothing of the pitch), so the contrastive loss alone
spends little of the speech embedding on it. When the manifests also
carry the factor as metadata (``gender``, ``pitch``, tag lists such as
``["whispered", "slow"]``), a linear classifier of each field on the
searched speech embedding keeps that information in it:

* a field with one value per recording (a string): softmax cross-entropy
  among the field's values;
* a field with a list of tags: one sigmoid (binary cross-entropy) per tag;
* a recording without the field (missing, ``null`` or an empty string)
  does not count for it.

The loss is the mean over the fields present in the batch. The classes
come from the training manifest (``metadata_classes``) and are saved with
the weights, so a checkpoint of another manifest's classes fails loudly.

Authors
 * speechbrain-style contributors 2026
"""

import math

import speechbrain as sb
import torch
import torch.nn.functional as F
from torch import nn


def _is_missing(value):
    return value is None or (isinstance(value, str) and not value.strip())


def metadata_classes(items, fields):
    """The values of each metadata field over a manifest's items.

    Arguments
    ---------
    items : iterable of dict
        Manifest items (field -> value).
    fields : list of str
        The fields to classify.

    Returns
    -------
    dict
        ``{field: {"values": sorted values, "multi_label": bool}}``; a field
        is multi-label when its values are lists of tags.

    Raises
    ------
    ValueError
        A field that no item has, that has fewer than two values, or that
        mixes lists and single values.

    Example
    -------
    >>> items = [{"sex": "male", "tags": ["slow"]},
    ...          {"sex": "female", "tags": ["slow", "whispered"]},
    ...          {"sex": None, "tags": []}]
    >>> classes = metadata_classes(items, ["sex", "tags"])
    >>> classes["sex"]
    {'values': ['female', 'male'], 'multi_label': False}
    >>> classes["tags"]
    {'values': ['slow', 'whispered'], 'multi_label': True}
    """
    seen = {field: (set(), set()) for field in fields}
    keys = set()
    for item in items:
        keys.update(item)
        for field in fields:
            value = item.get(field)
            if _is_missing(value):
                continue
            values, kinds = seen[field]
            if isinstance(value, (list, tuple)):
                kinds.add("list")
                values.update(str(tag) for tag in value if not _is_missing(tag))
            else:
                kinds.add("value")
                values.add(str(value))
    absent = [field for field in fields if field not in keys]
    if absent:
        raise ValueError(
            f"Metadata fields {absent} are not fields of the manifest (its "
            f"fields: {sorted(keys)})"
        )
    classes = {}
    for field, (values, kinds) in seen.items():
        if len(kinds) > 1:
            raise ValueError(
                f"Metadata field {field!r} mixes tag lists and single values"
            )
        if len(values) < 2:
            raise ValueError(
                f"Metadata field {field!r} has {len(values)} distinct value(s) "
                f"in the training manifest: nothing to classify "
                f"({sorted(values)})"
            )
        classes[field] = {
            "values": sorted(values),
            "multi_label": kinds == {"list"},
        }
    return classes


class MetadataClassifier(nn.Module):
    """One linear classifier per metadata field, on a shared embedding.

    Built empty; ``set_classes`` (with the result of ``metadata_classes``)
    creates the output layer. The classes are part of the state dict, so
    recovering a checkpoint checks them.

    Arguments
    ---------
    input_size : int
        Size of the embedding.
    dropout : float
        Dropout on the embedding.

    Example
    -------
    >>> items = [{"sex": "male", "tags": ["slow"]},
    ...          {"sex": "female", "tags": ["slow", "whispered"]}]
    >>> classifier = MetadataClassifier(8)
    >>> classifier.set_classes(metadata_classes(items, ["sex", "tags"]))
    >>> targets = torch.stack([classifier.targets(item) for item in items])
    >>> targets
    tensor([[0., 1., 1., 0.],
            [1., 0., 1., 1.]])
    >>> loss = classifier.loss(torch.randn(2, 8), targets)
    >>> loss.shape, bool(loss > 0)
    (torch.Size([]), True)
    """

    def __init__(self, input_size, dropout=0.0):
        super().__init__()
        if isinstance(input_size, bool) or not isinstance(input_size, int):
            raise ValueError(f"input_size must be an int, got {input_size!r}")
        if input_size <= 0:
            raise ValueError(f"input_size must be positive, got {input_size}")
        self.input_size = input_size
        self.dropout = nn.Dropout(dropout)
        self.classes = {}
        self.output = None

    @property
    def sizes(self):
        """Number of outputs of each field, in ``classes`` order."""
        return [len(spec["values"]) for spec in self.classes.values()]

    def set_classes(self, classes):
        """Creates the output layer for these fields' values.

        Arguments
        ---------
        classes : dict
            ``{field: {"values": [...], "multi_label": bool}}``.
        """
        if not classes:
            raise ValueError("MetadataClassifier needs at least one field")
        self.classes = {
            field: {
                "values": [str(value) for value in spec["values"]],
                "multi_label": bool(spec["multi_label"]),
            }
            for field, spec in classes.items()
        }
        self.output = nn.Linear(self.input_size, sum(self.sizes))

    def get_extra_state(self):
        """The classes, saved with the weights."""
        return {"classes": self.classes}

    def set_extra_state(self, state):
        """Checks a checkpoint's classes against this classifier's."""
        if self.classes and state["classes"] != self.classes:
            raise ValueError(
                "The checkpoint's metadata classes differ from the training "
                f"manifest's: {state['classes']} vs {self.classes}"
            )
        if not self.classes and state["classes"]:
            self.set_classes(state["classes"])

    def targets(self, item):
        """A recording's targets: one block per field, NaN when missing.

        Arguments
        ---------
        item : dict
            The recording's metadata (field -> value).

        Returns
        -------
        torch.Tensor
            Shape (sum of the field sizes,): one-hot (one value) or
            multi-hot (tags) per field; NaN for a field the item lacks.
        """
        blocks = []
        for field, spec in self.classes.items():
            value = item.get(field)
            block = torch.zeros(len(spec["values"]))
            if _is_missing(value):
                block.fill_(math.nan)
            else:
                tags = value if spec["multi_label"] else [value]
                if spec["multi_label"] and not isinstance(value, (list, tuple)):
                    raise ValueError(
                        f"Metadata field {field!r} holds tag lists, got "
                        f"{value!r}"
                    )
                for tag in tags:
                    if _is_missing(tag):
                        continue
                    # a value unseen in training is no positive of any class
                    if str(tag) in spec["values"]:
                        block[spec["values"].index(str(tag))] = 1.0
                if not spec["multi_label"] and not block.any():
                    block.fill_(math.nan)
            blocks.append(block)
        return torch.cat(blocks)

    def target_pipeline(self):
        """A SpeechBrain dynamic item: the fields -> ``targets``.

        Returns
        -------
        speechbrain.utils.data_pipeline.DynamicItem
            Takes the classified fields, provides ``targets``.
        """
        fields = list(self.classes)

        @sb.utils.data_pipeline.takes(*fields)
        @sb.utils.data_pipeline.provides("targets")
        def targets_pipeline(*values):
            """The classifier's targets (NaN where a field is null)."""
            return self.targets(dict(zip(fields, values, strict=True)))

        return targets_pipeline

    def forward(self, x):
        """Logits of every field's values, shape (..., sum of the sizes)."""
        if self.output is None:
            raise RuntimeError("MetadataClassifier: call set_classes first")
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"MetadataClassifier expects embeddings of size "
                f"{self.input_size}, got shape {tuple(x.shape)}"
            )
        return self.output(self.dropout(x))

    def loss(self, x, targets):
        """Mean over the fields present in the batch of their loss.

        Arguments
        ---------
        x : torch.Tensor
            Embeddings, shape (batch, input_size).
        targets : torch.Tensor
            ``targets`` of each recording, shape (batch, sum of the sizes).

        Returns
        -------
        torch.Tensor
            Scalar; 0 (with a gradient) when no field is present.
        """
        return self.loss_from_logits(self(x), targets)

    def loss_from_logits(self, logits, targets):
        """``loss`` from this classifier's logits (e.g. of a DDP wrapper).

        Arguments
        ---------
        logits : torch.Tensor
            Shape (batch, sum of the sizes), or (batch, 1, ...).
        targets : torch.Tensor
            Shape (batch, sum of the sizes).

        Returns
        -------
        torch.Tensor
        """
        logits = logits.reshape(logits.shape[0], -1)
        if targets.shape != logits.shape:
            raise ValueError(
                f"targets of shape {tuple(targets.shape)} for logits of "
                f"shape {tuple(logits.shape)}"
            )
        losses = []
        for spec, part, target in zip(
            self.classes.values(),
            logits.split(self.sizes, dim=-1),
            targets.split(self.sizes, dim=-1),
            strict=True,
        ):
            present = ~target.isnan().any(dim=-1)
            if not present.any():
                continue
            if spec["multi_label"]:
                losses.append(
                    F.binary_cross_entropy_with_logits(
                        part[present], target[present].to(part.dtype)
                    )
                )
            else:
                losses.append(
                    F.cross_entropy(part[present], target[present].argmax(-1))
                )
        if not losses:
            return logits.sum() * 0.0
        return sum(losses) / len(losses)

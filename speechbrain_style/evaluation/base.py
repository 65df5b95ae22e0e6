"""What every task evaluator shares: the interface the Brain calls.

``StyleRetrievalBrain`` validates, selects checkpoints and tests with any
evaluator through four names: ``fields`` (the item fields it collects),
``banks`` (its prompt or description banks, the first one validates),
``selection_metric`` (a key of each bank's summary) and :meth:`evaluate`.
:class:`Evaluator` checks the inputs of ``evaluate`` once for all of them
and hands the task's own ``score`` a float32 CPU embedding matrix and the
chosen banks.

Authors
 * speechbrain-style contributors 2026
"""

import torch


class Evaluator:
    """Base of the task evaluators (retrieval, speaker, caption, ...).

    Subclasses set ``fields``, ``banks`` and ``selection_metric`` and
    implement :meth:`score`; ``embedding_name`` names the embedded modality
    in error messages.

    Example
    -------
    >>> class Count(Evaluator):
    ...     fields, banks, selection_metric = ["id"], ["a", "b"], "n"
    ...     def score(self, speech, items, encode_texts, banks, trials, tag):
    ...         return {"summary": {b: {"n": len(items)} for b in banks}}
    >>> Count().evaluate(torch.ones(2, 3), [{"id": 1}, {"id": 2}], None)
    {'summary': {'a': {'n': 2}, 'b': {'n': 2}}}
    >>> Count().evaluate(torch.ones(2, 3), [{"id": 1}], None)
    Traceback (most recent call last):
    ...
    ValueError: 1 items but 2 speech embeddings
    """

    fields = []
    banks = []
    selection_metric = None
    embedding_name = "speech"

    def evaluate(
        self,
        speech_embeddings,
        items,
        encode_texts,
        banks=None,
        trials=False,
        trials_tag="test",
    ):
        """Scores a set of embedded items against the texts of ``banks``.

        Arguments
        ---------
        speech_embeddings : torch.Tensor
            (N, D) L2-normalised embeddings of the items (speech or audio).
        items : list of dict
            N dicts with an ``"id"`` and the evaluator's ``fields``.
        encode_texts : callable
            ``encode_texts(list of str) -> (P, D)`` L2-normalised tensor.
        banks : list of str, optional
            Banks to evaluate (default: all of ``self.banks``).
        trials : bool
            Also run the trial protocol where the task has one (test).
        trials_tag : str
            Name of the evaluated set (trial and plot file names).

        Returns
        -------
        dict
            ``{"fields": {bank: per-row results}, "summary": {bank: flat
            metrics}}``, plus the task's own keys (``columns``,
            ``mean_row``, ``note``, ``plots``).
        """
        speech_embeddings = torch.as_tensor(speech_embeddings)
        if speech_embeddings.dim() != 2:
            raise ValueError(
                f"{self.embedding_name} embeddings must be (N, D), got shape "
                f"{tuple(speech_embeddings.shape)}"
            )
        if len(items) != speech_embeddings.shape[0]:
            raise ValueError(
                f"{len(items)} items but {speech_embeddings.shape[0]} "
                f"{self.embedding_name} embeddings"
            )
        return self.score(
            speech_embeddings.float().cpu(),
            items,
            encode_texts,
            self.selected_banks(banks),
            trials,
            trials_tag,
        )

    def selected_banks(self, banks):
        """The banks to evaluate: ``banks`` checked, or all of them.

        Arguments
        ---------
        banks : list of str or None
            Names among ``self.banks``; None or empty: all.

        Returns
        -------
        list of str
        """
        if not banks:
            return list(self.banks)
        unknown = [bank for bank in banks if bank not in self.banks]
        if unknown:
            raise ValueError(
                f"unknown banks {unknown}: the evaluator has {list(self.banks)}"
            )
        return list(banks)

    def score(self, speech, items, encode_texts, banks, trials, tag):
        """The task's metrics (see :meth:`evaluate`).

        Arguments
        ---------
        speech : torch.Tensor
            (N, D) float32 CPU embeddings, one per item.
        items : list of dict
            The N items.
        encode_texts : callable
            The text encoder.
        banks : list of str
            The banks to evaluate, already checked.
        trials : bool
            Whether to run the trial protocol.
        tag : str
            Name of the evaluated set.

        Returns
        -------
        dict
            The results (see :meth:`evaluate`).
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement score()"
        )

"""Evaluation: retrieval metrics, trials, the task evaluators and plots.

* ``metrics``: Recall@K, mAP@K, ranks, per-class metrics, trial protocol;
* ``ordinal``: ordinal consistency (Kendall's tau), modality gap;
* ``retrieval``: ``RetrievalEvaluator`` (class prompt ensembles, trials);
* ``speaker``, ``dimensional``, ``caption``: the task evaluators of
  speaker-text, valence/arousal and text-audio retrieval.
"""

from speechbrain_style._moved import forward_to

__getattr__ = forward_to(__name__, ["speechbrain_style.evaluation.retrieval"])

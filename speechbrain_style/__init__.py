"""speechbrain-style: retrieve speech by natural-language descriptions of
speaking style, and describe speech in words.

A SpeechBrain plugin, laid out by concept:

* ``lobes``: speech and text encoders, projection and auxiliary heads;
* ``nnet``: contrastive (InfoNCE, Rank-N-Contrast) and speaker losses,
  distributed gathering;
* ``prompts``: description banks (emotion/style classes, speakers,
  valence/arousal, the embedded corpus);
* ``dataio``: audio loading, manifests, data pipelines;
* ``brain``: the ``Brain`` base class of the recipes;
* ``evaluation``: retrieval metrics, trials, the task evaluators, plots;
* ``retrieval``: indexes, search backends, fusion, the search service;
* ``inference``: the ``StyleRetriever`` interface and inference folders;
* ``corpora``: the embedded espeak-ng speaking-style corpus;
* ``cli``: the ``speechbrain-style`` command.

Old flat module paths (``speechbrain_style.index``, ...) still import, with
a ``DeprecationWarning`` (see ``speechbrain_style._moved``).
"""

from speechbrain_style import _moved

__version__ = "0.2.0"

_moved.install()

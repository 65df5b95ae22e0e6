"""speechbrain-style: retrieve speech by natural-language descriptions of
speaking style, and describe speech in words.

A SpeechBrain plugin: lobes (``speechbrain_style.lobes``), contrastive
losses (``losses``), retrieval metrics (``metrics``), a ``Brain`` subclass
(``brain``), evaluation (``evaluation``), indexes (``index``) and the
``StyleRetriever`` inference interface (``inference``).
"""

__version__ = "0.1.0"

"""Description banks: the words that describe how speech is spoken.

* ``bank``: ``PromptBank`` (templates x synonyms) and the shared grammar;
* ``emotion``: the emotion/style classes of ESD, Expresso and IEMOCAP;
* ``speaker``: speaker descriptions from metadata (VoxCeleb);
* ``dimensional``: descriptions of valence/arousal values;
* ``stylesynth``: compositional descriptions of the embedded corpus.
"""

from speechbrain_style._moved import forward_to

__getattr__ = forward_to(
    __name__,
    ["speechbrain_style.prompts.bank", "speechbrain_style.prompts.stylesynth"],
)

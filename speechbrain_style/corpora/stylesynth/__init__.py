"""The embedded speaking-style corpus, synthesised with espeak-ng.

* ``synth``: synthesis with controlled factors (sex, pitch, rate,
  intonation range, phonation);
* ``factors``: the factors as labels for the loss and the evaluation.
"""

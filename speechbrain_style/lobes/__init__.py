"""Encoders (lobes) and projection heads of speechbrain-style.

* ``HFTextEncoder``: Hugging Face text encoders (BERT, RoBERTa, MiniLM,
  T5 encoder), CLS or masked-mean pooled;
* ``ECAPASpeechEncoder``: Fbank + ECAPA-TDNN (SpeechBrain);
* ``Emotion2VecEncoder``: emotion2vec through funasr, padding-aware;
* ``PaSSTEncoder``: PaSST (patchout audio transformer, hear21passt
  architecture), 10-s windows averaged, padding-aware;
* ``SSLSpeechEncoder``: wav2vec 2.0 / WavLM (SpeechBrain's Hugging Face
  integration), padding-aware mean pooling;
* ``ProsodyFeatures``, ``ProsodyEncoder``, ``ProsodyFusion``: frame-level
  F0 (Praat), voicing and energy, a padding-exact TDNN over them, and its
  fusion with any speech encoder;
* ``ProjectionHead``: projection (+ transform layers), L2-normalised;
* ``StyleClassifier``, ``ModalityDiscriminator`` and ``GradientReversal``:
  the auxiliary heads of expressive speech retrieval;
* ``MetadataClassifier``: linear classifiers of metadata fields (values or
  tag lists) on the speech embedding, an auxiliary loss.

Importing this package imports neither ``transformers`` nor ``funasr``:
the encoders import them when they are built.
"""

from speechbrain_style.lobes.auxiliary import (
    GradientReversal,
    ModalityDiscriminator,
    StyleClassifier,
)
from speechbrain_style.lobes.ecapa import ECAPASpeechEncoder
from speechbrain_style.lobes.emotion2vec import Emotion2VecEncoder
from speechbrain_style.lobes.heads import ProjectionHead
from speechbrain_style.lobes.metadata import MetadataClassifier
from speechbrain_style.lobes.passt import PaSSTEncoder
from speechbrain_style.lobes.prosody import (
    ProsodyEncoder,
    ProsodyFeatures,
    ProsodyFusion,
)
from speechbrain_style.lobes.ssl import SSLSpeechEncoder
from speechbrain_style.lobes.text import HFTextEncoder

__all__ = [
    "ECAPASpeechEncoder",
    "Emotion2VecEncoder",
    "GradientReversal",
    "HFTextEncoder",
    "MetadataClassifier",
    "ModalityDiscriminator",
    "PaSSTEncoder",
    "ProjectionHead",
    "ProsodyEncoder",
    "ProsodyFeatures",
    "ProsodyFusion",
    "SSLSpeechEncoder",
    "StyleClassifier",
]

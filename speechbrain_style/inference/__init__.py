"""Inference: the ``StyleRetriever`` interface and inference folders.

* ``retriever``: ``StyleRetriever`` (``from_hparams`` of an exported
  folder; encode speech and text, describe);
* ``export``: writing the inference folder at the end of training;
* ``precision``: fp32 / bf16 / int8 inference arithmetic, its quality guard
  and the arithmetic floor (flop counter, sustained matmul FLOP/s).
"""

from speechbrain_style._moved import forward_to
from speechbrain_style.inference.retriever import (
    StyleRetriever,
    resolve_device,
)

__all__ = ["StyleRetriever", "resolve_device"]
__getattr__ = forward_to(__name__, ["speechbrain_style.inference.retriever"])

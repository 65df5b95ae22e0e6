"""Losses of speechbrain-style and the distributed gathering they use.

* ``losses``: symmetric, label-aware InfoNCE between speech and text
  embeddings, and the learnable logit scale;
* ``rank_losses``: cross-modal Rank-N-Contrast (EmotionRankCLAP).
"""

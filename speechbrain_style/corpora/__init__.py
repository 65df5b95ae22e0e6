"""Corpora that speechbrain-style makes itself."""

"""Data input: audio loading with clear errors, manifests, pipelines."""

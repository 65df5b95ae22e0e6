"""The ``speechbrain-style`` command line."""

from speechbrain_style.cli.main import main

__all__ = ["main"]

"""pytest configuration of the repository root.

The doctests of a module that needs an optional extra are not collected
where that extra is missing (its tests skip with the install command).
"""

import importlib.util


def _missing(*names):
    """True if any of these packages cannot be imported."""
    return any(importlib.util.find_spec(name) is None for name in names)


collect_ignore = []
if _missing("fastapi", "uvicorn", "httpx"):
    # pip install "speechbrain-style[serve]" (httpx: the dev extra)
    collect_ignore.append("speechbrain_style/retrieval/webapp.py")

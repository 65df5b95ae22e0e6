"""Strict loading of pretrained weights: missing or unexpected keys fail.

A checkpoint whose keys do not match the model is almost always a wrong
file or a wrong configuration, and loading it leniently leaves some layers
randomly initialised: the model then trains (or is evaluated) without any
visible error. Every lobe that loads published weights goes through
``load_matching_state_dict`` (or ``report_key_mismatch`` when a library
computes the mismatch, as transformers does), so that

* ``strict=True`` (the default of the lobes) raises a
  ``CheckpointMismatchError`` that names the missing and unexpected keys;
* ``strict=False`` loads what matches and logs a warning that still names
  them.

Keys that a lobe legitimately does not use (a classification head, a
pre-training decoder, ...) are given as ``ignore_unexpected`` prefixes: they
are dropped with an info message, never silently mixed with real errors.
Shape mismatches can never be loaded and always raise.

Authors
 * speechbrain-style contributors 2026
"""

import torch
from speechbrain.utils.logger import get_logger

logger = get_logger(__name__)

MAX_LISTED_KEYS = 20


class CheckpointMismatchError(ValueError):
    """Raised when a checkpoint's keys do not match the model's."""


def _listing(keys):
    """``keys`` as a short readable list (the first ones, then a count)."""
    keys = sorted(keys)
    shown = ", ".join(keys[:MAX_LISTED_KEYS])
    if len(keys) > MAX_LISTED_KEYS:
        shown += f", ... ({len(keys) - MAX_LISTED_KEYS} more)"
    return f"[{shown}]"


def report_key_mismatch(
    source, missing=(), unexpected=(), strict=True, mismatched=()
):
    """Raises (strict) or warns about missing / unexpected checkpoint keys.

    Arguments
    ---------
    source : str
        What was loaded (file or folder), for the message.
    missing : iterable of str
        Model keys absent from the checkpoint (left initialised at random).
    unexpected : iterable of str
        Checkpoint keys the model has no place for.
    strict : bool
        Raise ``CheckpointMismatchError`` (True) or log a warning (False).
    mismatched : iterable of str
        Descriptions of shape mismatches: they always raise.

    Example
    -------
    >>> report_key_mismatch("a.ckpt", missing=[], unexpected=[])
    >>> try:
    ...     report_key_mismatch("a.ckpt", missing=["fc.bias"])
    ... except CheckpointMismatchError as error:
    ...     print(str(error).split(": ")[2])
    [fc.bias]. Pass strict=False to load it anyway.
    """
    missing, unexpected = sorted(missing), sorted(unexpected)
    mismatched = sorted(mismatched)
    if not missing and not unexpected and not mismatched:
        return
    parts = []
    if mismatched:
        parts.append(
            f"{len(mismatched)} shape mismatch(es) (wrong model size in the "
            f"configuration?): {_listing(mismatched)}"
        )
    if missing:
        parts.append(
            f"{len(missing)} missing key(s) (left randomly initialised): "
            f"{_listing(missing)}"
        )
    if unexpected:
        parts.append(
            f"{len(unexpected)} unexpected key(s) (not used by the model): "
            f"{_listing(unexpected)}"
        )
    message = f"{source} does not match the model: " + "; ".join(parts)
    if mismatched:
        raise CheckpointMismatchError(message)
    if strict:
        raise CheckpointMismatchError(
            message + ". Pass strict=False to load it anyway."
        )
    logger.warning(message + " (strict=False: loaded anyway)")


def load_matching_state_dict(
    module,
    state_dict,
    source,
    strict=True,
    ignore_unexpected=(),
):
    """Loads ``state_dict`` into ``module``, checking keys and shapes.

    Arguments
    ---------
    module : torch.nn.Module
        The model to fill.
    state_dict : dict
        Checkpoint entries (name -> tensor). Entries that are not tensors
        (e.g. a nested dict) count as unexpected keys.
    source : str
        The checkpoint's file or folder, for the messages.
    strict : bool
        See ``report_key_mismatch``.
    ignore_unexpected : tuple of str
        Prefixes of checkpoint keys the model legitimately does not use;
        they are dropped (logged at info level).

    Returns
    -------
    dict
        ``{"missing": [...], "unexpected": [...], "ignored": [...]}``.

    Example
    -------
    >>> model = torch.nn.Linear(2, 2)
    >>> state = dict(model.state_dict(), **{"head.weight": torch.zeros(1)})
    >>> load_matching_state_dict(model, state, "x.pt",
    ...                          ignore_unexpected=("head.",))["ignored"]
    ['head.weight']
    """
    expected = module.state_dict()
    ignored = sorted(
        key for key in state_dict if key.startswith(tuple(ignore_unexpected))
    )
    ignored_set = set(ignored)
    usable = {
        key: value
        for key, value in state_dict.items()
        if key not in ignored_set
        and key in expected
        and isinstance(value, torch.Tensor)
    }
    unexpected = [
        key
        for key in state_dict
        if key not in ignored_set and key not in usable
    ]
    missing = [key for key in expected if key not in usable]
    mismatched = [
        f"{key}: checkpoint {tuple(value.shape)} vs model "
        f"{tuple(expected[key].shape)}"
        for key, value in usable.items()
        if value.shape != expected[key].shape
    ]
    report_key_mismatch(
        source, missing, unexpected, strict=strict, mismatched=mismatched
    )
    if ignored:
        logger.info(
            f"{source}: {len(ignored)} checkpoint entries not used by the "
            f"encoder were skipped: {_listing(ignored)}"
        )
    module.load_state_dict(usable, strict=False)
    return {"missing": missing, "unexpected": unexpected, "ignored": ignored}
